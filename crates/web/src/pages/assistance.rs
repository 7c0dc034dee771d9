//! 帮扶责任人 (DOMAIN §7.1, D10): a monitored household's officer — who, since when, the history,
//! assigning or replacing one before the 5-working-day deadline — and the town's deadline page
//! and everyone's inbox, with every date computed on the region's work calendar.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use chrono::Datelike;
use domain::account::{Permission, Role};
use domain::assistance::{DeadlineState, OfficerInput, measures_due, officer_due};
use domain::fields::FieldErrors;
use domain::household::{HouseholdNo, Monitoring};
use domain::ports::{AssistanceStore, CaseStore, HouseholdStore};
use domain::procedure::{CaseStatus, NextAction, Procedure, Step};
use domain::region::RegionCode;
use domain::service::{self, EditError};
use serde::Deserialize;

use super::households::parse_no;
use super::{Chrome, FieldGroup, FormField, Opt, attach_errors, redirect_with_flash, render, render_status, require};
use crate::AppState;
use crate::auth::{Authed, PageAuth};
use crate::error::PageError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/households/{no}/officer", get(officer_form).post(officer_submit))
        .route("/deadlines", get(deadlines))
        .route("/inbox", get(inbox))
        .route("/notifications/read", axum::routing::post(mark_read))
}

/// One past or present officer.
pub struct OfficerLine {
    pub name: String,
    pub unit: String,
    pub phone: String,
    pub period: String,
    pub end_reason: String,
    pub by: String,
}

#[derive(Template)]
#[template(path = "officer.html")]
struct OfficerPage {
    chrome: Chrome,
    no: String,
    household_line: String,
    version: i64,
    /// "应于2022-04-07前落实（还剩3个工作日）" while none is assigned.
    due_text: String,
    overdue: bool,
    /// After an assignment: "首批帮扶措施应于…前落实".
    measures_text: String,
    history: Vec<OfficerLine>,
    replacing: bool,
    groups: Vec<FieldGroup>,
    error: Option<String>,
    monitored: bool,
}

#[allow(clippy::too_many_arguments)]
async fn officer_page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    no: &HouseholdNo,
    input: &OfficerInput,
    errs: &FieldErrors,
    error: Option<String>,
) -> Result<OfficerPage, PageError> {
    let d = state.db.household(&a.scope, no).await?.ok_or(PageError::NotFound)?;
    let h = &d.record.household;
    let regions = state.regions.get().await;
    let today = state.clock.today();
    let cal = state.calendar();
    let history = service::officer_history(&state.db, state.clock.now(), &a.scope, &a.actor(), &d.record).await?;
    let (mut due_text, mut overdue, mut measures_text) = (String::new(), false, String::new());
    let monitored = matches!(h.monitoring, Monitoring::Monitored { .. });
    if let Monitoring::Monitored { since, .. } = h.monitoring {
        let rules = service::assistance_rules(&state.db, since.year(), h.village).await?;
        match h.officer.is_none() {
            true => match officer_due(&cal, since, h.village, &rules)
                .and_then(|due| DeadlineState::of(&cal, due, today, h.village))
            {
                Ok(s) => {
                    overdue = s.overdue;
                    due_text = format!(
                        "{since}纳入监测，应在{}个工作日内、即{}前落实帮扶责任人（{}）",
                        rules.officer_workdays,
                        s.due,
                        s.describe()
                    );
                }
                Err(e) => due_text = format!("无法计算时限：{e}"),
            },
            false => {
                let first = domain::assistance::first_officer_since(&history, since);
                if let Some(start) = rules.measures_start(since, first) {
                    match measures_due(&cal, start, h.village, &rules) {
                        Ok(due) => {
                            measures_text = format!(
                                "自{start}（{}）起，首批帮扶措施应在{}天内、即{}前落实{}",
                                rules.measures_start_label(),
                                rules.measures_days,
                                due.extended,
                                if due.extended != due.strict {
                                    format!("（{}为法定节假日，顺延；严格计算为{}）", due.strict, due.strict)
                                } else {
                                    String::new()
                                }
                            )
                        }
                        Err(e) => measures_text = format!("无法计算措施时限：{e}"),
                    }
                }
            }
        }
    }
    let accounts = state.db.officer_accounts(h.village).await?;
    let mut user_choices: Vec<(String, String)> = accounts
        .iter()
        .map(|u| {
            let name = if u.display_name.is_empty() { u.username.to_string() } else { u.display_name.clone() };
            (u.id.0.to_string(), format!("{name}（{}）", regions.name(u.region)))
        })
        .collect();
    user_choices.sort_by(|x, y| x.1.cmp(&y.1));
    let on = if input.on.is_empty() { today.to_string() } else { input.on.clone() };
    let replacing = h.officer.is_some();
    let mut fields = vec![
        FormField::choices("user", "帮扶责任人账户", &input.user, true, user_choices)
            .help("有 fangpin 账户的，选择后本人可在“我的待办”看到所帮扶的户；没有账户的不选，直接填写姓名"),
        FormField::text("name", "姓名", &input.name).help("选择了账户的可不填"),
        FormField::text("unit", "帮扶（选派）单位", &input.unit).required(),
        FormField::text("phone", "联系电话", &input.phone).kind("tel"),
        FormField::text("on", "帮扶开始时间", &on).kind("date").required(),
    ];
    if replacing {
        fields.push(FormField::text("reason", "更换原因", &input.reason).kind("textarea").required());
    }
    let mut groups = vec![FieldGroup { title: String::new(), fields }];
    let unplaced = attach_errors(&mut groups, errs);
    let error = error.or_else(|| (!unplaced.is_empty()).then(|| unplaced.join("；")));
    let head = d.head().map(|m| m.name.to_string()).unwrap_or_else(|| "（无户主）".into());
    Ok(OfficerPage {
        chrome: Chrome::new(state, a, headers).await,
        no: no.to_string(),
        household_line: format!("{head}户 · {} · {}", regions.name(h.village), h.monitoring.describe()),
        version: d.record.version,
        due_text,
        overdue,
        measures_text,
        history: history
            .iter()
            .map(|o| OfficerLine {
                name: o.name.to_string(),
                unit: o.unit.clone(),
                // officers' phones are work contacts, shown like the household's own (masked for
                // roles without the sensitive view)
                phone: o
                    .phone
                    .as_ref()
                    .map(|p| if a.scope.allows(Permission::ViewSensitive) { p.to_string() } else { p.masked() })
                    .unwrap_or_default(),
                period: match o.ended_on {
                    Some(e) => format!("{} 至 {}", o.started_on, e),
                    None => format!("{} 起（现任）", o.started_on),
                },
                end_reason: o.end_reason.clone(),
                by: format!("{} 登记", o.assigned_by),
            })
            .collect(),
        replacing,
        groups,
        error,
        monitored,
    })
}

pub async fn officer_form(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(no): Path<String>,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let no = parse_no(&no)?;
    let tpl = officer_page(&state, &a, &headers, &no, &OfficerInput::default(), &FieldErrors::default(), None).await?;
    render(&tpl, &tpl.chrome)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OfficerForm {
    version: i64,
    #[serde(flatten)]
    input: OfficerInput,
}

pub async fn officer_submit(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(no): Path<String>,
    axum::Form(f): axum::Form<OfficerForm>,
) -> Result<Response, PageError> {
    require(&a, Permission::AssignOfficers)?;
    let no = parse_no(&no)?;
    let r = service::assign_officer(
        &state.db,
        state.clock.now(),
        state.clock.today(),
        &a.scope,
        &a.actor(),
        &no,
        f.version,
        &f.input,
    )
    .await;
    let (errs, error, status) = match r {
        Ok(o) => {
            return Ok(redirect_with_flash(
                &format!("/households/{no}/officer"),
                &format!("已落实帮扶责任人：{}（{}），自{}起", o.name, o.unit, o.started_on),
            ));
        }
        Err(EditError::Invalid(e)) => (e, None, StatusCode::UNPROCESSABLE_ENTITY),
        Err(e @ EditError::Conflict { .. }) => (FieldErrors::default(), Some(e.to_string()), StatusCode::CONFLICT),
        Err(e) => return Err(e.into()),
    };
    let tpl = officer_page(&state, &a, &headers, &no, &f.input, &errs, error).await?;
    render_status(status, &tpl, &tpl.chrome)
}

// ------------------------------------------------------------------ the deadline page

/// One monitored household waiting for its officer.
pub struct GapLine {
    pub household_no: String,
    pub head: String,
    pub village: String,
    pub since: String,
    pub due: String,
    pub state: String,
    pub overdue: bool,
}

/// One open case, for the deadline page.
pub struct CaseDue {
    pub id: i64,
    pub household_no: String,
    pub head: String,
    pub village: String,
    pub what: String,
    pub days: i64,
    pub over: bool,
}

/// A household waiting for its first measures.
pub struct MeasureLine {
    pub household_no: String,
    pub head: String,
    pub village: String,
    pub officer: String,
    pub assigned_on: String,
    pub due: String,
    pub state: String,
    pub overdue: bool,
}

fn measure_lines(
    items: &[service::MeasureDeadline],
    regions: &crate::regions::RegionIndex,
    today: chrono::NaiveDate,
) -> Vec<MeasureLine> {
    let mut out: Vec<MeasureLine> = items
        .iter()
        .map(|m| {
            let (due, state, overdue) = match &m.due {
                Ok((due, st)) => {
                    let moved = if due.extended != due.strict {
                        format!("（{}为节假日，顺延）", due.strict)
                    } else {
                        String::new()
                    };
                    (format!("{}{moved}", due.extended), st.describe_days(today), st.overdue)
                }
                Err(e) => (String::new(), e.clone(), false),
            };
            MeasureLine {
                household_no: m.gap.household_no.to_string(),
                head: m.gap.head_name.clone().unwrap_or_default(),
                village: regions.name(m.gap.village),
                officer: if m.gap.officer.is_empty() { "（未落实）".into() } else { m.gap.officer.clone() },
                assigned_on: m.start.to_string(),
                due,
                state,
                overdue,
            }
        })
        .collect();
    out.sort_by(|x, y| y.overdue.cmp(&x.overdue).then(x.due.cmp(&y.due)));
    out
}

#[derive(Template)]
#[template(path = "deadlines.html")]
struct DeadlinePage {
    chrome: Chrome,
    villages: Vec<Opt>,
    gaps: Vec<GapLine>,
    gaps_total: i64,
    gaps_overdue: i64,
    measures: Vec<MeasureLine>,
    measures_total: i64,
    measures_overdue: i64,
    /// Department tasks past their date (任务清单 逾期).
    tasks_overdue: Vec<super::department_tasks::TaskLine>,
    tasks_overdue_total: i64,
    cases: Vec<CaseDue>,
    /// Exact counts (the lists show the oldest 200 open cases).
    cases_total: i64,
    cases_over: i64,
    notices_ending: Vec<CaseDue>,
    notices_total: i64,
    /// Department alerts past their verification date (§9).
    alerts_overdue: i64,
    can_assign: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DeadlineQuery {
    village: String,
}

/// Open identification cases of the scope (at most `limit`), for the deadline page and inbox.
async fn open_cases(
    state: &AppState,
    a: &Authed,
    region: Option<RegionCode>,
) -> Result<Vec<domain::procedure::Case>, PageError> {
    let filter = domain::ports::CaseFilter {
        procedure: Some(Procedure::Identification),
        status: Some(CaseStatus::Open),
        region,
        ..Default::default()
    };
    Ok(state.db.cases(&a.scope, &filter, 200).await?.items)
}

fn case_due_lines(
    cases: &[domain::procedure::Case],
    regions: &crate::regions::RegionIndex,
    today: chrono::NaiveDate,
    params: &[domain::params::PolicyParam],
) -> (Vec<CaseDue>, Vec<CaseDue>) {
    let mut stuck = Vec::new();
    let mut notices = Vec::new();
    for c in cases {
        let rules = service::case_rules(params, c);
        let line = |what: String, days: i64, over: bool| CaseDue {
            id: c.id.0,
            household_no: c.household_no.to_string(),
            head: c.head_name.clone().unwrap_or_default(),
            village: regions.name(c.village),
            what,
            days,
            over,
        };
        match c.next(&rules) {
            Some(NextAction::EndNotice { earliest_end, .. }) if earliest_end <= today => {
                notices.push(line(
                    format!("公示已满，{earliest_end}起可结束"),
                    (today - c.opened_on).num_days(),
                    false,
                ));
            }
            Some(n) => {
                let days = (today - c.opened_on).num_days();
                let idle = (today - c.last_date()).num_days();
                stuck.push(line(
                    format!("待{}（{}），上一步距今{idle}天", n.step().label(), n.step().roles_label()),
                    days,
                    c.over_limit(today, &rules).is_some(),
                ));
            }
            None => {}
        }
    }
    stuck.sort_by_key(|c| std::cmp::Reverse(c.days));
    (stuck, notices)
}

pub async fn deadlines(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Query(q): Query<DeadlineQuery>,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    // the town's overview; screeners and officers follow their own work in their inbox, a
    // department its own tasks (D15)
    if a.scope.own_tasks_only().is_some() || !super::cases::takes_part(a.user.role) {
        return Err(PageError::Forbidden);
    }
    let regions = state.regions.get().await;
    let today = state.clock.today();
    let region = RegionCode::parse(&q.village).ok();
    let cal = state.calendar();
    let (items, gaps_total) = service::officer_deadlines(&state.db, &cal, &a.scope, today, region, 500).await?;
    let mut gaps: Vec<GapLine> = items
        .iter()
        .map(|g| {
            let (due, state_text, overdue) = match &g.state {
                Ok(s) => (s.due.to_string(), s.describe(), s.overdue),
                Err(e) => (String::new(), e.clone(), false),
            };
            GapLine {
                household_no: g.gap.household_no.to_string(),
                head: g.gap.head_name.clone().unwrap_or_default(),
                village: regions.name(g.gap.village),
                since: g.gap.monitored_since.to_string(),
                due,
                state: state_text,
                overdue,
            }
        })
        .collect();
    gaps.sort_by(|x, y| y.overdue.cmp(&x.overdue).then(x.due.cmp(&y.due)));
    // the headline counts cover every household, not only the rows listed
    let summary = service::deadline_summary(&state.db, &cal, &a.scope, today, region).await?;
    let gaps_overdue = summary.officers.overdue;
    let (m_items, _) = service::measure_deadlines(&state.db, &cal, &a.scope, today, region, 500).await?;
    let measures = measure_lines(&m_items, &regions, today);
    let measures_overdue = summary.measures.overdue;
    let measures_total = summary.measures.total();
    let late = domain::ports::DepartmentTaskFilter { due_before: Some(today), region, ..Default::default() };
    let late_page = domain::ports::DepartmentTaskStore::department_tasks(&state.db, &a.scope, &late, 200).await?;
    let tasks_overdue_total = late_page.total;
    let tasks_overdue =
        late_page.items.iter().map(|t| super::department_tasks::task_line(t, regions.name(t.village), today)).collect();
    let params = domain::ports::ParamStore::params(&state.db, None).await?;
    let (cases, notices_ending) = case_due_lines(&open_cases(&state, &a, region).await?, &regions, today, &params);
    let mut villages = vec![Opt { value: String::new(), label: "全部村".into(), selected: q.village.is_empty() }];
    villages.extend(regions.villages_in(&a.scope).into_iter().map(|r| Opt {
        value: r.code.to_string(),
        label: r.name.clone(),
        selected: r.code.to_string() == q.village,
    }));
    let identification: Vec<_> = summary.cases.iter().filter(|c| c.procedure == Procedure::Identification).collect();
    let late_alerts = domain::ports::AlertFilter { due_before: Some(today), region, ..Default::default() };
    let alerts_overdue = domain::ports::FeedStore::alerts(&state.db, &a.scope, &late_alerts, 1).await?.total;
    let tpl = DeadlinePage {
        chrome: Chrome::new(&state, &a, &headers).await,
        villages,
        gaps,
        gaps_total,
        gaps_overdue,
        measures,
        measures_total,
        measures_overdue,
        tasks_overdue,
        tasks_overdue_total,
        cases,
        cases_total: identification.iter().map(|c| c.open - c.notices_endable).sum(),
        cases_over: identification.iter().map(|c| c.limit.overdue).sum(),
        notices_ending,
        notices_total: identification.iter().map(|c| c.notices_endable).sum(),
        alerts_overdue,
        can_assign: a.scope.allows(Permission::AssignOfficers),
    };
    render(&tpl, &tpl.chrome)
}

// ------------------------------------------------------------------ the inbox

/// One line of the inbox: what, how many, where to go.
pub struct InboxItem {
    pub what: String,
    pub count: i64,
    /// "逾期2件，今天到期1件" — empty when nothing is urgent.
    pub detail: String,
    pub link: String,
    pub urgent: bool,
}

/// "逾期2件", "今天到期1件", "本周内到期3件" for the buckets that are not empty.
fn due_detail(c: &domain::assistance::DueCounts, overdue: &str, today: &str, week: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (n, label) in [(c.overdue, overdue), (c.today, today), (c.week, week)] {
        if n > 0 {
            out.push(format!("{label}{n}件"));
        }
    }
    if c.unknown > 0 {
        out.push(format!("{}件无法计算时限（工作日历缺该年度）", c.unknown));
    }
    out
}

/// One household an officer serves.
pub struct MyHousehold {
    pub household_no: String,
    pub head: String,
    pub village: String,
    pub since: String,
    pub measures_due: String,
}

/// One notification line.
pub struct NoteLine {
    pub text: String,
    pub link: String,
    pub at: String,
    pub read: bool,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    chrome: Chrome,
    items: Vec<InboxItem>,
    mine: Vec<MyHousehold>,
    notes: Vec<NoteLine>,
    unread: usize,
    newest: i64,
}

pub async fn inbox(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let role = a.user.role;
    let today = state.clock.today();
    let regions = state.regions.get().await;
    let cal = state.calendar();
    let mut items = Vec::new();
    // every deadline of the scope counted in the database, grouped by the dates they follow from
    let summary = service::deadline_summary(&state.db, &cal, &a.scope, today, None).await?;
    // steps waiting for this role, with their time limit (D8)
    for c in summary.cases.iter().filter(|c| c.next_step.allows(role)) {
        let what = match (c.procedure, c.next_step) {
            (p, Step::PublicNotice) => format!("{}：张贴或结束公示", p.label()),
            (p, s) => format!("{}：待{}", p.label(), s.label()),
        };
        let mut detail = due_detail(&c.limit, "超过办理时限", "今天到办理时限", "本周内到办理时限");
        if c.notices_endable > 0 {
            detail.insert(0, format!("公示期满可结束{}件", c.notices_endable));
        }
        items.push(InboxItem {
            what,
            count: c.open,
            detail: detail.join("，"),
            link: format!("/cases?procedure={}&step={}", c.procedure.key(), c.next_step.key()),
            urgent: c.limit.overdue > 0,
        });
    }
    // the town follows the cases others hold up too
    let over: i64 = summary.cases.iter().filter(|c| !c.next_step.allows(role)).map(|c| c.limit.overdue).sum();
    if over > 0 && super::cases::takes_part(role) && a.scope.own_tasks_only().is_none() {
        items.push(InboxItem {
            what: "超过办理时限未办结的案件（在其他环节）".into(),
            count: over,
            detail: String::new(),
            link: "/deadlines".into(),
            urgent: true,
        });
    }
    if a.scope.allows(Permission::AssignOfficers) && summary.officers.total() > 0 {
        let o = &summary.officers;
        items.push(InboxItem {
            what: "待落实帮扶责任人".into(),
            count: o.total(),
            detail: due_detail(o, "逾期", "今天到期", "本周内到期").join("，"),
            link: "/deadlines".into(),
            urgent: o.overdue > 0,
        });
    }
    // an officer sees their own households below, each with its measures date
    if a.scope.allows(Permission::ManageMeasures) && role != Role::AssistanceOfficer && summary.measures.total() > 0 {
        let m = &summary.measures;
        items.push(InboxItem {
            what: "待采取首批帮扶措施".into(),
            count: m.total(),
            detail: due_detail(m, "逾期", "今天到期", "本周内到期").join("，"),
            link: "/deadlines#measures".into(),
            urgent: m.overdue > 0,
        });
    }
    // department alerts to verify (§9): the town and villages; a department follows its own
    // (a department account without a department sees none: user_department refuses it)
    if (a.scope.allows(Permission::VerifyAlerts) || role == Role::DepartmentStaff)
        && let Ok(department) = service::user_department(&state.db, &a.scope, a.user.id).await
    {
        let mut due = domain::assistance::DueCounts::default();
        for (d, n) in domain::ports::FeedStore::open_alert_due_dates(&state.db, &a.scope, department).await? {
            due.add(Some(d), today, n);
        }
        if due.total() > 0 {
            items.push(InboxItem {
                what: if role == Role::DepartmentStaff {
                    "本部门推送的预警：村待核实".into()
                } else {
                    "部门预警待核实".into()
                },
                count: due.total(),
                detail: due_detail(&due, "逾期", "今天到期", "本周内到期").join("，"),
                link: "/alerts".into(),
                urgent: due.overdue > 0,
            });
        }
    }
    let params = domain::ports::ParamStore::params(&state.db, None).await?;
    // department tasks: a department's own; the town's and villages' overdue ones
    if (role == Role::DepartmentStaff || a.scope.allows(Permission::AssignOfficers))
        && let Ok(f) = service::department_task_filter(&state.db, &a.scope, a.user.id, Default::default()).await
    {
        let sent =
            domain::ports::DepartmentTaskFilter { state: Some(domain::department_task::TaskState::Sent), ..f.clone() };
        let waiting = domain::ports::DepartmentTaskStore::department_tasks(&state.db, &a.scope, &sent, 1).await?.total;
        let late = domain::ports::DepartmentTaskFilter { due_before: Some(today), ..f };
        let overdue = domain::ports::DepartmentTaskStore::department_tasks(&state.db, &a.scope, &late, 1).await?.total;
        if role == Role::DepartmentStaff && waiting > 0 {
            items.push(InboxItem {
                what: "任务清单：待接收".into(),
                count: waiting,
                detail: String::new(),
                link: "/department-tasks".into(),
                urgent: false,
            });
        }
        if overdue > 0 {
            items.push(InboxItem {
                what: "任务清单：逾期未办结".into(),
                count: overdue,
                detail: String::new(),
                link: "/department-tasks".into(),
                urgent: true,
            });
        }
    }
    let mut mine = Vec::new();
    if role == Role::AssistanceOfficer {
        for o in state.db.officer_households(&a.scope, a.user.id).await? {
            let since = match o.monitoring {
                Monitoring::Monitored { since, .. } | Monitoring::Eliminated { since, .. } => Some(since),
                Monitoring::Never => None,
            };
            let due = match (o.first_measure_on, since) {
                (Some(t), _) => format!("已于{t}采取"),
                (None, None) => String::new(),
                (None, Some(since)) => {
                    let rules = service::assistance_rules_from(&params, since.year(), o.village);
                    // an officer kept from an earlier monitoring period serves from the inclusion
                    let start = rules.measures_start(since, o.first_officer_on.or(Some(since)));
                    match start.map(|s| measures_due(&cal, s, o.village, &rules)) {
                        Some(Ok(d)) if today > d.extended => format!("{}（已逾期）", d.extended),
                        Some(Ok(d)) => d.extended.to_string(),
                        Some(Err(e)) => e.to_string(),
                        None => String::new(),
                    }
                }
            };
            let since = since.map(|d| d.to_string()).unwrap_or_default();
            mine.push(MyHousehold {
                household_no: o.household_no.to_string(),
                head: o.head_name.clone().unwrap_or_default(),
                village: regions.name(o.village),
                since,
                measures_due: due,
            });
        }
    }
    let department = domain::ports::DepartmentTaskStore::user_department(&state.db, a.user.id).await?;
    let notes = domain::ports::NotificationStore::notifications_for(&state.db, &a.user, department, 30).await?;
    let tpl = InboxPage {
        chrome: Chrome::new(&state, &a, &headers).await,
        items,
        mine,
        unread: notes.iter().filter(|n| !n.read).count(),
        newest: notes.first().map(|n| n.id).unwrap_or(0),
        notes: notes
            .iter()
            .map(|n| NoteLine {
                text: n.text.clone(),
                link: super::local_path(&n.link, "/inbox"),
                at: crate::views::china_time(n.created_at),
                read: n.read,
            })
            .collect(),
    };
    render(&tpl, &tpl.chrome)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReadForm {
    up_to: i64,
}

/// Marks the notifications shown as read.
pub async fn mark_read(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    axum::Form(f): axum::Form<ReadForm>,
) -> Result<Response, PageError> {
    domain::ports::NotificationStore::mark_read(&state.db, a.user.id, f.up_to).await?;
    Ok(redirect_with_flash("/inbox", "已全部标为已读"))
}
