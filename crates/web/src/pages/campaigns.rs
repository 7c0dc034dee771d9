//! 集中排查 campaigns (DOMAIN D12, D13): the list and the creation form, the town view with
//! every village's progress against the deadlines, a village's groups, screeners and tasks
//! with bulk assignment, and "my tasks" for the screener on a phone.

use std::collections::{BTreeMap, HashSet};

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum_extra::extract::Form;
use chrono::NaiveDate;
use domain::account::{Permission, UserId};
use domain::campaign::{
    Campaign, CampaignId, CampaignInput, CampaignPhase, PHASE_FIELDS, Progress, Task, TaskId, TaskStatus, deadline,
};
use domain::fields::FieldErrors;
use domain::ports::{CampaignStore, ProgressBy, ProgressRow, TaskFilter, TaskSelection, UserStore};
use domain::region::{RegionCode, RegionLevel, parse_group_no};
use domain::service::{self, EditError, may_screen};
use serde::Deserialize;

use super::{
    Chrome, FieldGroup, FormField, Opt, attach_errors, marked, redirect_with_flash, render, render_status, require,
};
use crate::AppState;
use crate::auth::{Authed, PageAuth};
use crate::error::PageError;
use crate::regions::RegionIndex;

const TASK_PAGE: u32 = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(list).post(create))
        .route("/campaigns/{id}", get(show))
        .route("/campaigns/{id}/phases", post(update_phases))
        .route("/campaigns/{id}/villages/{code}", get(village))
        .route("/campaigns/{id}/assign", post(assign))
        .route("/tasks", get(my_tasks))
        .route("/campaigns/{id}/lookback", get(look_back).post(generate_look_back))
}

// ------------------------------------------------------------------ list and create

pub struct CampaignLine {
    pub id: i64,
    pub name: String,
    pub region: String,
    pub year: i32,
    pub dates: String,
}

#[derive(Template)]
#[template(path = "campaigns.html")]
struct ListPage {
    chrome: Chrome,
    items: Vec<CampaignLine>,
    can_create: bool,
    groups: Vec<FieldGroup>,
    problems: Vec<String>,
}

/// The campaign form: name, region, year and each phase's dates.
fn campaign_groups(input: &CampaignInput, regions: Vec<(String, String)>, full: bool) -> Vec<FieldGroup> {
    let mut groups = Vec::new();
    if full {
        groups.push(FieldGroup {
            title: "基本信息".into(),
            fields: vec![
                FormField::text("name", "名称", &input.name).required().help("如：雒容镇2022年防返贫集中排查"),
                FormField::choices("region", "范围", &input.region, false, regions)
                    .required()
                    .help("范围内每一户都会建一条排查任务"),
                FormField::text("policy_year", "政策年度", &input.policy_year)
                    .kind("number")
                    .required()
                    .help("按该年度的监测线筛查"),
            ],
        });
    }
    for (phase, s, e, due) in PHASE_FIELDS {
        let mut fields = Vec::new();
        if !matches!(phase, CampaignPhase::Mobilize | CampaignPhase::Summary) {
            fields.push(FormField::text(s, "开始日期", input.date(s)).kind("date"));
        }
        fields.push(FormField::text(e, "结束日期", input.date(e)).kind("date").required());
        if phase == CampaignPhase::Screening {
            fields.push(
                FormField::text(due, "走访完成时限", input.date(due)).kind("date").help("全部农户走访到位的日期"),
            );
        }
        groups.push(FieldGroup { title: phase.label().to_string(), fields });
    }
    groups
}

fn dates_text(c: &Campaign) -> String {
    match c.phase(CampaignPhase::Screening) {
        Some(p) => format!(
            "入户排查 {} 至 {}{}",
            p.starts_on.map(|d| d.to_string()).unwrap_or_default(),
            p.ends_on,
            p.due_on.map(|d| format!("，走访时限 {d}")).unwrap_or_default()
        ),
        None => String::new(),
    }
}

/// Regions a campaign may cover: the caller's region and the towns and counties below it
/// (a campaign is a town's or a county's work; a village is covered through its town).
async fn campaign_regions(state: &AppState, a: &Authed) -> Vec<(String, String)> {
    let regions = state.regions.get().await;
    regions
        .sorted
        .iter()
        .filter(|r| a.scope.contains(r.code) && r.level() != RegionLevel::Village)
        .map(|r| (r.code.to_string(), format!("{}（{}）", r.name, r.level().label())))
        .collect()
}

async fn list_page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    input: &CampaignInput,
    errs: &FieldErrors,
) -> Result<ListPage, PageError> {
    let regions = state.regions.get().await;
    let items = state
        .db
        .campaigns(&a.scope)
        .await?
        .iter()
        .map(|c| CampaignLine {
            id: c.id.0,
            name: c.name.clone(),
            region: regions.name(c.region),
            year: c.policy_year,
            dates: dates_text(c),
        })
        .collect();
    let can_create = a.scope.allows(Permission::ManageCampaigns);
    let mut groups = if can_create { campaign_groups(input, campaign_regions(state, a).await, true) } else { vec![] };
    let problems = attach_errors(&mut groups, errs);
    Ok(ListPage { chrome: Chrome::new(state, a, headers).await, items, can_create, groups, problems })
}

pub async fn list(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let today = state.clock.today();
    let year = chrono::Datelike::year(&today);
    let regions = state.regions.get().await;
    let name = format!("{}{}年防返贫集中排查", regions.name(a.user.region), year);
    let tpl =
        list_page(&state, &a, &headers, &CampaignInput::seeded(&name, a.user.region, year), &FieldErrors::default())
            .await?;
    render(&tpl, &tpl.chrome)
}

fn campaign_input(form: &BTreeMap<String, String>) -> CampaignInput {
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let mut dates = BTreeMap::new();
    for (_, s, e, due) in PHASE_FIELDS {
        for f in [s, e, due] {
            dates.insert(f.to_string(), get(f));
        }
    }
    CampaignInput { name: get("name"), region: get("region"), policy_year: get("policy_year"), dates }
}

pub async fn create(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    require(&a, Permission::ManageCampaigns)?;
    let input = campaign_input(&form);
    match service::create_campaign(&state.db, state.clock.now(), &a.scope, &a.actor(), &input).await {
        Ok((c, tasks)) => Ok(redirect_with_flash(
            &format!("/campaigns/{}", c.id.0),
            &format!("已创建“{}”：范围内{}户，每户一条排查任务", c.name, tasks),
        )),
        Err(EditError::Invalid(errs)) => {
            let tpl = list_page(&state, &a, &headers, &input, &errs).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
        }
        Err(e) => Err(e.into()),
    }
}

impl ListPage {
    fn marked(&self) -> usize {
        marked(&self.groups)
    }
}

impl ShowPage {
    fn marked(&self) -> usize {
        marked(&self.groups)
    }
}

// ------------------------------------------------------------------ the town view

/// One phase as the page shows it.
pub struct PhaseLine {
    pub label: String,
    pub dates: String,
    pub state: String,
    pub overdue: bool,
    pub note: String,
}

/// One row of a progress table.
pub struct ProgressLine {
    pub label: String,
    pub link: Option<String>,
    pub p: Progress,
    pub coverage: i64,
    pub overdue: bool,
}

fn progress_line(label: String, link: Option<String>, p: &Progress, visits_overdue: bool) -> ProgressLine {
    ProgressLine {
        label,
        link,
        coverage: p.coverage_percent(),
        overdue: visits_overdue && p.outstanding() > 0,
        p: p.clone(),
    }
}

#[derive(Template)]
#[template(path = "campaign.html")]
struct ShowPage {
    chrome: Chrome,
    c: CampaignLine,
    phases: Vec<PhaseLine>,
    rows: Vec<ProgressLine>,
    total: ProgressLine,
    visits_due: String,
    can_edit: bool,
    groups: Vec<FieldGroup>,
    problems: Vec<String>,
}

/// The phases with their state on `today` (working days left from the work calendar, D10).
fn phase_lines(state: &AppState, c: &Campaign, today: NaiveDate, outstanding: bool) -> Vec<PhaseLine> {
    c.phases
        .iter()
        .map(|p| {
            let mut dates = String::new();
            if let Some(s) = p.starts_on {
                dates.push_str(&format!("{s} 至 "));
            } else {
                dates.push_str("截至 ");
            }
            dates.push_str(&p.ends_on.to_string());
            let mut notes = Vec::new();
            let mut overdue = false;
            let mut state_text = if p.starts_on.is_some_and(|s| today < s) {
                "未开始".to_string()
            } else if today > p.ends_on {
                "已结束".to_string()
            } else {
                "进行中".to_string()
            };
            let checks: Vec<(NaiveDate, &str)> = match p.due_on {
                Some(d) => vec![(d, "走访时限"), (p.ends_on, "结束")],
                None => vec![(p.ends_on, "结束")],
            };
            for (date, what) in checks {
                let late = outstanding && p.phase == CampaignPhase::Screening;
                match deadline(&state.calendar(), c.region, date, today, late) {
                    Ok(d) => {
                        if d.overdue {
                            overdue = true;
                            notes.push(format!(
                                "{what} {date} 已过{}个工作日，仍有农户未入户走访",
                                -d.working_days_left
                            ));
                        } else if d.working_days_left >= 0 && today <= date {
                            notes.push(format!("距{what} {date} 还有{}个工作日", d.working_days_left));
                        }
                        if d.on_rest_day && today <= date {
                            notes.push(format!("{date} 是休息日（节假日或周末），请提前完成"));
                        }
                    }
                    Err(e) => notes.push(format!("无法计算工作日：{e}")),
                }
            }
            if let Some(d) = p.due_on {
                dates.push_str(&format!("（走访时限 {d}）"));
            }
            if overdue {
                state_text = "已逾期".into();
            }
            PhaseLine { label: p.phase.label().to_string(), dates, state: state_text, overdue, note: notes.join("；") }
        })
        .collect()
}

fn visits_overdue(state: &AppState, c: &Campaign, today: NaiveDate) -> bool {
    c.visits_due().is_some_and(|d| today > d) && state.calendar().years().contains(&chrono::Datelike::year(&today))
}

async fn load(state: &AppState, a: &Authed, id: i64) -> Result<Campaign, PageError> {
    state.db.campaign(&a.scope, CampaignId(id)).await?.ok_or(PageError::NotFound)
}

fn line(c: &Campaign, regions: &RegionIndex) -> CampaignLine {
    CampaignLine {
        id: c.id.0,
        name: c.name.clone(),
        region: regions.name(c.region),
        year: c.policy_year,
        dates: dates_text(c),
    }
}

async fn show_page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    c: &Campaign,
    input: &CampaignInput,
    errs: &FieldErrors,
) -> Result<ShowPage, PageError> {
    let regions = state.regions.get().await;
    let today = state.clock.today();
    let rows = state.db.progress(&a.scope, c.id, ProgressBy::Village, None).await?;
    let overdue = visits_overdue(state, c, today);
    let total = Progress::sum(rows.iter().map(|r| &r.progress));
    let lines = rows
        .iter()
        .filter_map(|r| {
            let v = r.village?;
            Some(progress_line(
                regions.name(v),
                Some(format!("/campaigns/{}/villages/{}", c.id.0, v)),
                &r.progress,
                overdue,
            ))
        })
        .collect();
    let can_edit = a.scope.allows(Permission::ManageCampaigns) && a.scope.contains(c.region);
    let mut groups = if can_edit { campaign_groups(input, Vec::new(), false) } else { Vec::new() };
    let problems = attach_errors(&mut groups, errs);
    Ok(ShowPage {
        chrome: Chrome::new(state, a, headers).await,
        c: line(c, &regions),
        phases: phase_lines(state, c, today, total.outstanding() > 0),
        rows: lines,
        total: progress_line("合计".into(), None, &total, overdue),
        visits_due: c.visits_due().map(|d| d.to_string()).unwrap_or_default(),
        can_edit,
        groups,
        problems,
    })
}

pub async fn show(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let c = load(&state, &a, id).await?;
    let tpl = show_page(&state, &a, &headers, &c, &CampaignInput::from_campaign(&c), &FieldErrors::default()).await?;
    render(&tpl, &tpl.chrome)
}

pub async fn update_phases(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    require(&a, Permission::ManageCampaigns)?;
    let input = campaign_input(&form);
    match service::update_campaign_phases(&state.db, state.clock.now(), &a.scope, &a.actor(), CampaignId(id), &input)
        .await
    {
        Ok(_) => Ok(redirect_with_flash(&format!("/campaigns/{id}"), "阶段日期已保存")),
        Err(EditError::Invalid(errs)) => {
            let c = load(&state, &a, id).await?;
            let tpl = show_page(&state, &a, &headers, &c, &input, &errs).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
        }
        Err(e) => Err(e.into()),
    }
}

// ------------------------------------------------------------------ a village

/// A task as the lists show it.
pub struct TaskLine {
    pub id: i64,
    pub household_no: String,
    pub head: String,
    pub place: String,
    pub group_no: u16,
    pub form: &'static str,
    pub form_title: &'static str,
    pub screener: String,
    pub status: &'static str,
    pub status_key: &'static str,
    pub last_visit: String,
    pub checked: bool,
}

fn status_key(s: TaskStatus) -> &'static str {
    match s {
        TaskStatus::Pending => "pending",
        TaskStatus::RemoteOnly => "remote",
        TaskStatus::Visited => "visited",
        TaskStatus::NotReached => "notreached",
    }
}

fn task_line(t: &Task, regions: &RegionIndex, checked: &HashSet<i64>) -> TaskLine {
    TaskLine {
        id: t.id.0,
        household_no: t.household_no.to_string(),
        head: t.head_name.clone().unwrap_or_else(|| "（无户主）".into()),
        place: format!("{}{}组", regions.name(t.village), t.group_no),
        group_no: t.group_no,
        form: t.form.short(),
        form_title: t.form.label(),
        screener: t.screener_name.clone().unwrap_or_default(),
        status: t.status.label(),
        status_key: status_key(t.status),
        last_visit: t.last_visit_on.map(|d| d.to_string()).unwrap_or_default(),
        checked: checked.contains(&t.id.0),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TaskQuery {
    group: String,
    status: String,
    screener: String,
    after: String,
    campaign: String,
}

impl TaskQuery {
    fn status(&self) -> Option<TaskStatus> {
        TaskStatus::ALL.iter().copied().find(|s| status_key(*s) == self.status)
    }

    fn query_string(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("group", &self.group),
            ("status", &self.status),
            ("screener", &self.screener),
            ("campaign", &self.campaign),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}={}", urlencoding::encode(v)));
            }
        }
        parts.join("&")
    }
}

fn status_opts(selected: &str) -> Vec<Opt> {
    let mut v = vec![Opt { value: String::new(), label: "全部状态".into(), selected: selected.is_empty() }];
    v.extend(TaskStatus::ALL.iter().map(|s| Opt {
        value: status_key(*s).to_string(),
        label: s.label().to_string(),
        selected: status_key(*s) == selected,
    }));
    v
}

#[derive(Template)]
#[template(path = "campaign_village.html")]
struct VillagePage {
    chrome: Chrome,
    c: CampaignLine,
    village: String,
    village_code: String,
    groups: Vec<ProgressLine>,
    screeners: Vec<ProgressLine>,
    can_assign: bool,
    screener_opts: Vec<Opt>,
    group_opts: Vec<Opt>,
    assign_group_opts: Vec<Opt>,
    status_opts: Vec<Opt>,
    filter_screener_opts: Vec<Opt>,
    tasks: Vec<TaskLine>,
    total: i64,
    next_link: Option<String>,
    first_link: Option<String>,
    error: Option<String>,
    back: String,
}

/// What the assignment form sent, kept when it is shown again with an error.
#[derive(Debug, Clone, Default)]
struct AssignInput {
    screener: String,
    group: String,
    tasks: HashSet<i64>,
    error: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn village_page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    id: i64,
    code: &str,
    q: &TaskQuery,
    input: AssignInput,
) -> Result<VillagePage, PageError> {
    let c = load(state, a, id).await?;
    let village = RegionCode::parse(code).map_err(|_| PageError::NotFound)?;
    if village.level() != RegionLevel::Village || !a.scope.contains(village) || !c.region.contains(village) {
        return Err(PageError::NotFound);
    }
    let regions = state.regions.get().await;
    let today = state.clock.today();
    let overdue = visits_overdue(state, &c, today);
    let group_rows = state.db.progress(&a.scope, c.id, ProgressBy::Group, Some(village)).await?;
    let screener_rows = state.db.progress(&a.scope, c.id, ProgressBy::Screener, Some(village)).await?;
    let base = format!("/campaigns/{id}/villages/{village}");
    let groups = group_rows
        .iter()
        .map(|r| {
            let g = r.group_no.unwrap_or(0);
            progress_line(format!("{g}组"), Some(format!("{base}?group={g}")), &r.progress, overdue)
        })
        .collect();
    let screeners = screener_rows
        .iter()
        .map(|r: &ProgressRow| {
            let (label, link) = match r.screener {
                Some(u) => (r.screener_name.clone().unwrap_or_default(), Some(format!("{base}?screener={}", u.0))),
                None => ("（未分配）".to_string(), None),
            };
            progress_line(label, link, &r.progress, overdue)
        })
        .collect();
    let can_assign = a.scope.allows(Permission::AssignTasks);
    let mut screener_opts =
        vec![Opt { value: String::new(), label: "请选择排查员".into(), selected: input.screener.is_empty() }];
    let mut filter_screener_opts =
        vec![Opt { value: String::new(), label: "全部排查员".into(), selected: q.screener.is_empty() }];
    if can_assign {
        for u in state
            .db
            .list_users(&a.scope)
            .await?
            .into_iter()
            .filter(|u| u.active && may_screen(u.role) && u.region.contains(village))
        {
            let label = format!(
                "{}（{}，{}）",
                if u.display_name.is_empty() { u.username.to_string() } else { u.display_name.clone() },
                u.role.label(),
                u.username
            );
            screener_opts.push(Opt {
                value: u.id.0.to_string(),
                label,
                selected: u.id.0.to_string() == input.screener,
            });
        }
        screener_opts.push(Opt {
            value: "none".into(),
            label: "（取消分配）".into(),
            selected: input.screener == "none",
        });
    }
    for r in &screener_rows {
        if let Some(u) = r.screener {
            filter_screener_opts.push(Opt {
                value: u.0.to_string(),
                label: r.screener_name.clone().unwrap_or_default(),
                selected: u.0.to_string() == q.screener,
            });
        }
    }
    let group_numbers: Vec<u16> = group_rows.iter().filter_map(|r| r.group_no).collect();
    let mut group_opts = vec![Opt { value: String::new(), label: "全部组".into(), selected: q.group.is_empty() }];
    group_opts.extend(group_numbers.iter().map(|g| Opt {
        value: g.to_string(),
        label: format!("{g}组"),
        selected: g.to_string() == q.group,
    }));
    let mut assign_group_opts =
        vec![Opt { value: String::new(), label: "全村".into(), selected: input.group.is_empty() }];
    assign_group_opts.extend(group_numbers.iter().map(|g| Opt {
        value: g.to_string(),
        label: format!("{g}组"),
        selected: g.to_string() == input.group,
    }));
    let filter = TaskFilter {
        campaign: c.id,
        region: Some(village),
        group_no: parse_group_no(&q.group),
        screener: q.screener.parse().ok().map(UserId),
        status: q.status(),
        after: domain::ports::Cursor::decode(&q.after),
    };
    let page = state.db.tasks(&a.scope, &filter, TASK_PAGE).await?;
    let qs = q.query_string();
    let sep = if qs.is_empty() { "?" } else { "&" };
    let back = if qs.is_empty() { base.clone() } else { format!("{base}?{qs}") };
    Ok(VillagePage {
        chrome: Chrome::new(state, a, headers).await,
        c: line(&c, &regions),
        village: regions.name(village),
        village_code: village.to_string(),
        groups,
        screeners,
        can_assign,
        screener_opts,
        group_opts,
        assign_group_opts,
        status_opts: status_opts(&q.status),
        filter_screener_opts,
        tasks: page.items.iter().map(|t| task_line(t, &regions, &input.tasks)).collect(),
        total: page.total,
        next_link: page.next.map(|n| format!("{back}{sep}after={}", urlencoding::encode(&n))),
        first_link: (!q.after.is_empty()).then(|| back.clone()),
        error: input.error,
        back,
    })
}

pub async fn village(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path((id, code)): Path<(i64, String)>,
    Query(q): Query<TaskQuery>,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let tpl = village_page(&state, &a, &headers, id, &code, &q, AssignInput::default()).await?;
    render(&tpl, &tpl.chrome)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AssignForm {
    village: String,
    group: String,
    screener: String,
    task: Vec<i64>,
    back: String,
}

pub async fn assign(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<AssignForm>,
) -> Result<Response, PageError> {
    require(&a, Permission::AssignTasks)?;
    let village = RegionCode::parse(&f.village).map_err(|_| PageError::NotFound)?;
    let back = super::local_path(&f.back, &format!("/campaigns/{id}/villages/{village}"));
    let mut input = AssignInput {
        screener: f.screener.clone(),
        group: f.group.clone(),
        tasks: f.task.iter().copied().collect(),
        error: None,
    };
    let screener = match f.screener.as_str() {
        "" => {
            input.error = Some("请选择排查员（或选“取消分配”）".into());
            None
        }
        "none" => None,
        s => match s.parse() {
            Ok(id) => Some(UserId(id)),
            Err(_) => {
                input.error = Some("所选排查员无效：请从列表中选择".into());
                None
            }
        },
    };
    let group_no = if f.group.is_empty() { None } else { parse_group_no(&f.group) };
    if !f.group.is_empty() && group_no.is_none() && input.error.is_none() {
        input.error = Some(format!("组“{}”无效：请选择全村或一个组", f.group));
    }
    if input.error.is_none() {
        // ticked households win over the group choice
        let selection = TaskSelection {
            village,
            group_no: if f.task.is_empty() { group_no } else { None },
            tasks: f.task.iter().map(|t| TaskId(*t)).collect(),
        };
        match service::assign_tasks(
            &state.db,
            state.clock.now(),
            &a.scope,
            &a.actor(),
            CampaignId(id),
            &selection,
            screener,
        )
        .await
        {
            Ok(n) => {
                let who = match screener {
                    Some(u) => state
                        .db
                        .user(u)
                        .await?
                        .map(|u| if u.display_name.is_empty() { u.username.to_string() } else { u.display_name })
                        .unwrap_or_default(),
                    None => String::new(),
                };
                let what = if !f.task.is_empty() {
                    "所选农户".to_string()
                } else {
                    group_no.map(|g| format!("{g}组")).unwrap_or_else(|| "全村".into())
                };
                let msg = if screener.is_some() {
                    format!("已把{what}的{n}户排查任务分配给{who}")
                } else {
                    format!("已取消{what}{n}户的分配")
                };
                return Ok(redirect_with_flash(&back, &msg));
            }
            Err(EditError::Invalid(e)) => input.error = Some(e.to_string()),
            Err(e) => return Err(e.into()),
        }
    }
    let q = back.split_once('?').map(|(_, qs)| serde_urlencoded_query(qs)).unwrap_or_default();
    let tpl = village_page(&state, &a, &headers, id, &village.to_string(), &q, input).await?;
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
}

/// The list filters from the page's own address (to show it again after a failed assignment).
fn serde_urlencoded_query(qs: &str) -> TaskQuery {
    axum::extract::Query::<TaskQuery>::try_from_uri(&format!("/?{qs}").parse().unwrap_or_default())
        .map(|q| q.0)
        .unwrap_or_default()
}

// ------------------------------------------------------------------ my tasks

#[derive(Template)]
#[template(path = "tasks.html")]
struct MyTasksPage {
    chrome: Chrome,
    campaigns: Vec<Opt>,
    campaign: Option<CampaignLine>,
    summary: Option<ProgressLine>,
    visits_due: String,
    status_opts: Vec<Opt>,
    tasks: Vec<TaskLine>,
    total: i64,
    next_link: Option<String>,
    first_link: Option<String>,
    status: String,
}

/// The tasks assigned to me, in village and group order, as cards on a phone.
pub async fn my_tasks(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Query(q): Query<TaskQuery>,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let regions = state.regions.get().await;
    let list = state.db.campaigns(&a.scope).await?;
    let open: Vec<&Campaign> = list.iter().filter(|c| c.closed_at.is_none()).collect();
    let chosen = open.iter().find(|c| c.id.0.to_string() == q.campaign).or(open.first()).copied();
    let campaigns = open
        .iter()
        .map(|c| Opt {
            value: c.id.0.to_string(),
            label: c.name.clone(),
            selected: chosen.is_some_and(|x| x.id == c.id),
        })
        .collect();
    let mut tpl = MyTasksPage {
        chrome: Chrome::new(&state, &a, &headers).await,
        campaigns,
        campaign: None,
        summary: None,
        visits_due: String::new(),
        status_opts: status_opts(&q.status),
        tasks: Vec::new(),
        total: 0,
        next_link: None,
        first_link: None,
        status: q.status.clone(),
    };
    if let Some(c) = chosen {
        let filter = TaskFilter {
            campaign: c.id,
            region: None,
            group_no: None,
            screener: Some(a.user.id),
            status: q.status(),
            after: domain::ports::Cursor::decode(&q.after),
        };
        let page = state.db.tasks(&a.scope, &filter, TASK_PAGE).await?;
        let mine = state
            .db
            .progress(&a.scope, c.id, ProgressBy::Screener, None)
            .await?
            .into_iter()
            .find(|r| r.screener == Some(a.user.id))
            .map(|r| r.progress)
            .unwrap_or_default();
        let overdue = visits_overdue(&state, c, state.clock.today());
        let mut q2 = q.clone();
        q2.campaign = c.id.0.to_string();
        q2.after.clear();
        let base = format!("/tasks?{}", q2.query_string());
        tpl.summary = Some(progress_line("我的任务".into(), None, &mine, overdue));
        tpl.visits_due = c.visits_due().map(|d| d.to_string()).unwrap_or_default();
        tpl.campaign = Some(line(c, &regions));
        tpl.tasks = page.items.iter().map(|t| task_line(t, &regions, &HashSet::new())).collect();
        tpl.total = page.total;
        tpl.next_link = page.next.map(|n| format!("{base}&after={}", urlencoding::encode(&n)));
        tpl.first_link = (!q.after.is_empty()).then_some(base);
    }
    render(&tpl, &tpl.chrome)
}

// ------------------------------------------------------------------ 回头看

pub struct LookBackLine {
    pub t: TaskLine,
    pub reasons: Vec<&'static str>,
    pub done: bool,
}

pub struct LookBackVillage {
    pub name: String,
    pub code: String,
    pub listed: i64,
    pub done: i64,
}

#[derive(Template)]
#[template(path = "campaign_lookback.html")]
struct LookBackPage {
    chrome: Chrome,
    c: CampaignLine,
    can_generate: bool,
    generated_on: String,
    villages: Vec<LookBackVillage>,
    village_opts: Vec<Opt>,
    reason_opts: Vec<Opt>,
    pending: bool,
    items: Vec<LookBackLine>,
    total: i64,
    next_link: Option<String>,
    first_link: Option<String>,
    look_back_dates: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LookBackQuery {
    village: String,
    reason: String,
    pending: String,
    after: String,
}

pub async fn look_back(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<LookBackQuery>,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let c = load(&state, &a, id).await?;
    let regions = state.regions.get().await;
    let reason = domain::campaign::LookBackReason::ALL.iter().copied().find(|r| r.code().to_string() == q.reason);
    let pending = q.pending != "0";
    let filter = domain::ports::LookBackFilter {
        campaign: c.id,
        region: RegionCode::parse(&q.village).ok(),
        reason,
        pending_only: pending,
        after: domain::ports::Cursor::decode(&q.after),
    };
    let page = state.db.look_back(&a.scope, &filter, TASK_PAGE).await?;
    let counts = state.db.look_back_counts(&a.scope, c.id).await?;
    let generated_on = page.items.first().map(|i| i.generated_on.to_string()).unwrap_or_default();
    let none = HashSet::new();
    let items = page
        .items
        .iter()
        .map(|i| LookBackLine {
            t: task_line(&i.task, &regions, &none),
            reasons: i.reasons().iter().map(|r| r.label()).collect(),
            done: i.done,
        })
        .collect();
    let mut village_opts =
        vec![Opt { value: String::new(), label: "全部村".into(), selected: q.village.is_empty() }];
    village_opts.extend(counts.iter().map(|v| Opt {
        value: v.village.to_string(),
        label: regions.name(v.village),
        selected: v.village.to_string() == q.village,
    }));
    let mut reason_opts = vec![Opt { value: String::new(), label: "全部原因".into(), selected: reason.is_none() }];
    reason_opts.extend(domain::campaign::LookBackReason::ALL.iter().map(|r| Opt {
        value: r.code().to_string(),
        label: r.label().to_string(),
        selected: Some(*r) == reason,
    }));
    let base = format!(
        "/campaigns/{id}/lookback?village={}&reason={}&pending={}",
        urlencoding::encode(&q.village),
        urlencoding::encode(&q.reason),
        if pending { "1" } else { "0" }
    );
    let look_back_dates = c
        .phase(CampaignPhase::LookBack)
        .map(|p| format!("{} 至 {}", p.starts_on.map(|d| d.to_string()).unwrap_or_default(), p.ends_on))
        .unwrap_or_default();
    let tpl = LookBackPage {
        chrome: Chrome::new(&state, &a, &headers).await,
        can_generate: a.scope.allows(Permission::ManageCampaigns) && a.scope.contains(c.region),
        c: line(&c, &regions),
        generated_on,
        villages: counts
            .iter()
            .map(|v| LookBackVillage {
                name: regions.name(v.village),
                code: v.village.to_string(),
                listed: v.listed,
                done: v.done,
            })
            .collect(),
        village_opts,
        reason_opts,
        pending,
        items,
        total: page.total,
        next_link: page.next.map(|n| format!("{base}&after={}", urlencoding::encode(&n))),
        first_link: (!q.after.is_empty()).then_some(base),
        look_back_dates,
    };
    render(&tpl, &tpl.chrome)
}

pub async fn generate_look_back(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    require(&a, Permission::ManageCampaigns)?;
    let n = service::generate_look_back(
        &state.db,
        state.clock.now(),
        state.clock.today(),
        &a.scope,
        &a.actor(),
        CampaignId(id),
    )
    .await?;
    Ok(redirect_with_flash(&format!("/campaigns/{id}/lookback"), &format!("已生成回头看清单：{n}户需要再次核查")))
}
