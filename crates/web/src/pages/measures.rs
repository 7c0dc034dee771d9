//! 帮扶措施 of a monitored household (DOMAIN §7.2, §7.3): the list with status and funds, what
//! fangpin proposes from the risks and problems (缺什么补什么), the warning for an able-bodied
//! household without a developmental measure, and adding or updating a measure.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use domain::account::Permission;
use domain::fields::FieldErrors;
use domain::household::HouseholdNo;
use domain::measure::{Department, MeasureCategory, MeasureInput, MeasureStatus};
use domain::ports::{HouseholdStore, MeasureStore, ParamStore};
use domain::service::{self, EditError};
use serde::Deserialize;

use super::households::parse_no;
use super::{Chrome, FieldGroup, FormField, attach_errors, redirect_with_flash, render, render_status, require};
use crate::AppState;
use crate::auth::{Authed, PageAuth};
use crate::error::PageError;

pub fn routes() -> Router<AppState> {
    Router::new().route("/households/{no}/measures", get(page).post(add)).route("/measures/{id}", post(update))
}

/// One measure as the page lists it.
pub struct MeasureLine {
    pub id: i64,
    pub version: i64,
    pub category: &'static str,
    pub developmental: bool,
    pub department: String,
    pub content: String,
    pub planned_on: String,
    pub completed_on: String,
    pub status: &'static str,
    pub status_key: &'static str,
    pub funds: String,
    pub note: String,
    pub by: String,
    /// The hidden fields that keep the rest of the measure when only the status changes.
    pub department_key: String,
}

/// A proposal with the link that pre-fills the form.
pub struct ProposalLine {
    /// "medical_security:健康帮扶" per department, for the push form.
    pub push: Vec<(String, &'static str)>,
    pub category: &'static str,
    pub departments: String,
    pub because: String,
    pub link: String,
}

#[derive(Template)]
#[template(path = "measures.html")]
struct MeasuresPage {
    chrome: Chrome,
    no: String,
    household_line: String,
    monitored: bool,
    deadline: String,
    items: Vec<MeasureLine>,
    proposals: Vec<ProposalLine>,
    warning: Option<String>,
    groups: Vec<FieldGroup>,
    error: Option<String>,
    can_manage: bool,
    can_push: bool,
    tasks: Vec<super::department_tasks::TaskLine>,
    today: String,
    status_opts: Vec<(&'static str, bool)>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Prefill {
    category: String,
    department: String,
}

async fn measures_page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    no: &HouseholdNo,
    input: &MeasureInput,
    errs: &FieldErrors,
    error: Option<String>,
) -> Result<MeasuresPage, PageError> {
    let d = state.db.household(&a.scope, no).await?.ok_or(PageError::NotFound)?;
    let h = &d.record.household;
    let regions = state.regions.get().await;
    let today = state.clock.today();
    let cal = state.calendar();
    let list = state.db.measures(&a.scope, d.record.id).await?;
    let params = state.db.params(None).await?;
    let advice = service::measure_advice(&d, &list, &params, &cal, today);
    let monitored = matches!(h.monitoring, domain::household::Monitoring::Monitored { .. });
    // the 10-day deadline of the current officer (D10)
    let mut deadline = String::new();
    if monitored {
        let officers = domain::ports::AssistanceStore::officer_history(&state.db, &a.scope, d.record.id).await?;
        if let Some(o) = officers.iter().find(|o| o.ended_on.is_none()) {
            // the clock starts with the first officer since the household was included, or with
            // the inclusion itself where the region says so (D10)
            let since = match h.monitoring {
                domain::household::Monitoring::Monitored { since, .. } => since,
                _ => o.started_on,
            };
            let rules = service::assistance_rules_from(&params, chrono::Datelike::year(&since), h.village);
            let start =
                rules.measures_start(since, domain::assistance::first_officer_since(&officers, since)).unwrap_or(since);
            if let Ok(due) = domain::assistance::measures_due(&cal, start, h.village, &rules) {
                let first = domain::measure::first_measure_on(&list, since);
                deadline = match first {
                    Some(f) if f <= due.extended => format!(
                        "帮扶责任人{}自{}帮扶，{}已采取首批措施（时限{}）",
                        o.name, o.started_on, f, due.extended
                    ),
                    Some(f) => format!("首批措施{}才采取，晚于时限{}", f, due.extended),
                    None if today > due.extended => {
                        format!("已超过首批措施时限{}（帮扶责任人{}自{}帮扶）", due.extended, o.name, o.started_on)
                    }
                    None => format!("帮扶责任人{}自{}帮扶，首批措施应在{}前采取", o.name, o.started_on, due.extended),
                };
            }
        } else {
            let since = match h.monitoring {
                domain::household::Monitoring::Monitored { since, .. } => since,
                _ => today,
            };
            let rules = service::assistance_rules_from(&params, chrono::Datelike::year(&since), h.village);
            deadline = match rules.measures_start(since, None) {
                // the region counts the measures from inclusion: the date runs without an officer too
                Some(start) => match domain::assistance::measures_due(&cal, start, h.village, &rules) {
                    Ok(due) => format!(
                        "尚未落实帮扶责任人。首批措施自{start}（纳入监测）起{}天内、即{}前采取",
                        rules.measures_days, due.extended
                    ),
                    Err(e) => format!("尚未落实帮扶责任人；无法计算措施时限：{e}"),
                },
                None => format!("尚未落实帮扶责任人：先落实帮扶责任人，再由其在{}天内采取措施", rules.measures_days),
            };
        }
    }
    let items = list
        .iter()
        .map(|m| MeasureLine {
            id: m.id,
            version: m.version,
            category: m.category.label(),
            developmental: m.category.developmental(),
            department: m.department.map(|d| d.label().to_string()).unwrap_or_default(),
            department_key: m.department.map(|d| d.label().to_string()).unwrap_or_default(),
            content: m.content.clone(),
            planned_on: m.planned_on.to_string(),
            completed_on: m.completed_on.map(|d| d.to_string()).unwrap_or_default(),
            status: m.status.label(),
            status_key: match m.status {
                MeasureStatus::Planned => "pending",
                MeasureStatus::InProgress => "open",
                MeasureStatus::Implemented => "done",
                MeasureStatus::Cancelled => "withdrawn",
            },
            funds: m.funds.map(|f| format!("{f} 元")).unwrap_or_default(),
            note: m.note.clone(),
            by: m.created_by.clone(),
        })
        .collect();
    let proposals = advice
        .proposals
        .iter()
        .map(|p| ProposalLine {
            push: p.departments.iter().map(|d| (format!("{}:{}", d.key(), p.category.label()), d.label())).collect(),
            category: p.category.label(),
            departments: p.departments.iter().map(|d| d.label()).collect::<Vec<_>>().join("、"),
            because: p.because.join("；"),
            link: format!(
                "/households/{no}/measures?category={}&department={}#add",
                urlencoding::encode(p.category.label()),
                urlencoding::encode(p.departments.first().map(|d| d.label()).unwrap_or(""))
            ),
        })
        .collect();
    let planned = if input.planned_on.is_empty() { today.to_string() } else { input.planned_on.clone() };
    let mut groups = vec![FieldGroup {
        title: String::new(),
        fields: vec![
            FormField::select::<MeasureCategory>("category", "措施类别", &input.category, false).required(),
            FormField::select::<Department>("department", "责任部门", &input.department, true),
            FormField::text("content", "措施内容", &input.content)
                .kind("textarea")
                .required()
                .help("写明具体做什么，如：申请临时救助3000元；推荐到园区企业务工"),
            FormField::text("planned_on", "采取措施日期", &planned).kind("date").required(),
            FormField::select::<MeasureStatus>("status", "状态", &input.status, false),
            FormField::text("completed_on", "实施完成日期", &input.completed_on).kind("date").help("已实施的必填"),
            FormField::text("funds", "资金（元）", &input.funds).kind("number"),
            FormField::text("note", "备注", &input.note),
        ],
    }];
    let unplaced = attach_errors(&mut groups, errs);
    let error = error.or_else(|| (!unplaced.is_empty()).then(|| unplaced.join("；")));
    // a department's staff see their own department's tasks only (D15); officers none here
    let household_tasks = domain::ports::DepartmentTaskFilter { household: Some(d.record.id), ..Default::default() };
    let tasks = match service::department_task_filter(&state.db, &a.scope, a.user.id, household_tasks).await {
        Ok(f) => domain::ports::DepartmentTaskStore::department_tasks(&state.db, &a.scope, &f, 100)
            .await?
            .items
            .iter()
            .map(|t| super::department_tasks::task_line(t, regions.name(t.village), today))
            .collect(),
        Err(_) => Vec::new(),
    };
    let head = d.head().map(|m| m.name.to_string()).unwrap_or_else(|| "（无户主）".into());
    Ok(MeasuresPage {
        chrome: Chrome::new(state, a, headers).await,
        no: no.to_string(),
        household_line: format!(
            "{head}户 · {} · {} · 风险：{}",
            regions.name(h.village),
            h.monitoring.describe(),
            if h.risks.is_empty() {
                "—".to_string()
            } else {
                h.risks.iter().map(|r| r.label()).collect::<Vec<_>>().join("、")
            }
        ),
        monitored,
        deadline,
        items,
        proposals,
        warning: advice.developmental_warning,
        groups,
        error,
        can_manage: a.scope.allows(Permission::ManageMeasures),
        can_push: a.scope.allows(Permission::AssignOfficers) && monitored,
        tasks,
        today: today.to_string(),
        status_opts: MeasureStatus::ALL.iter().map(|s| (s.label(), false)).collect(),
    })
}

pub async fn page(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(no): Path<String>,
    Query(p): Query<Prefill>,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let no = parse_no(&no)?;
    let input = MeasureInput { category: p.category, department: p.department, ..Default::default() };
    let tpl = measures_page(&state, &a, &headers, &no, &input, &FieldErrors::default(), None).await?;
    render(&tpl, &tpl.chrome)
}

pub async fn add(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(no): Path<String>,
    axum::Form(input): axum::Form<MeasureInput>,
) -> Result<Response, PageError> {
    require(&a, Permission::ManageMeasures)?;
    let no = parse_no(&no)?;
    let r = service::add_measure(&state.db, state.clock.now(), state.clock.today(), &a.scope, &a.actor(), &no, &input)
        .await;
    let errs = match r {
        Ok(m) => {
            return Ok(redirect_with_flash(
                &format!("/households/{no}/measures"),
                &format!("已登记帮扶措施：{}（{}）", m.category, m.status),
            ));
        }
        Err(EditError::Invalid(e)) => e,
        Err(e) => return Err(e.into()),
    };
    let tpl = measures_page(&state, &a, &headers, &no, &input, &errs, None).await?;
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UpdateForm {
    version: i64,
    household: String,
    #[serde(flatten)]
    input: MeasureInput,
}

pub async fn update(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<UpdateForm>,
) -> Result<Response, PageError> {
    require(&a, Permission::ManageMeasures)?;
    let no = parse_no(&f.household)?;
    let r = service::update_measure(
        &state.db,
        state.clock.now(),
        state.clock.today(),
        &a.scope,
        &a.actor(),
        id,
        f.version,
        &f.input,
    )
    .await;
    let (error, status) = match r {
        Ok(m) => {
            return Ok(redirect_with_flash(
                &format!("/households/{no}/measures"),
                &format!("已更新措施 #{}：{}", m.id, m.status),
            ));
        }
        Err(EditError::Invalid(e)) => (format!("措施 #{id} 没有更新：{e}"), StatusCode::UNPROCESSABLE_ENTITY),
        Err(EditError::Conflict { .. } | EditError::Stale { .. }) => {
            (format!("措施 #{id} 刚被他人修改，请查看最新内容后再操作"), StatusCode::CONFLICT)
        }
        Err(e) => return Err(e.into()),
    };
    let tpl = measures_page(&state, &a, &headers, &no, &MeasureInput::default(), &FieldErrors::default(), Some(error))
        .await?;
    render_status(status, &tpl, &tpl.chrome)
}
