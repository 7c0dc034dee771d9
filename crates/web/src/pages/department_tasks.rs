//! 任务清单 (DOMAIN §7.3, D15): the town pushes tasks from a household's measures page; a line
//! department's staff see only their department's tasks and accept, reply, complete (recording
//! the measure) or send back; overdue tasks are marked; each department's list downloads as xlsx.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::NaiveDate;
use domain::account::{Permission, Role};
use domain::department_task::{DepartmentTask, TaskAction, TaskState};
use domain::measure::{Department, MeasureCategory};
use domain::ports::{DepartmentTaskFilter, DepartmentTaskStore};
use domain::region::RegionCode;
use domain::service::{self, EditError};
use exchange::FileFormat;
use serde::Deserialize;

use super::{Chrome, Opt, redirect_with_flash, render, render_status, require};
use crate::AppState;
use crate::auth::{Authed, PageAuth};
use crate::error::PageError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/department-tasks", get(list))
        .route("/department-tasks.xlsx", get(export))
        .route("/department-tasks/{id}", post(act))
        .route("/households/{no}/department-tasks", post(push))
}

/// One task as the list shows it.
pub struct TaskLine {
    pub id: i64,
    pub version: i64,
    pub household_no: String,
    pub head: String,
    pub village: String,
    pub department: &'static str,
    pub category: &'static str,
    pub reason: String,
    pub state: &'static str,
    pub state_key: &'static str,
    pub due_on: String,
    pub overdue: bool,
    pub answer: String,
    pub open: bool,
    pub accepted: bool,
}

pub fn task_line(t: &DepartmentTask, village: String, today: NaiveDate) -> TaskLine {
    TaskLine {
        id: t.id,
        version: t.version,
        household_no: t.household_no.to_string(),
        head: t.head_name.clone().unwrap_or_default(),
        village,
        department: t.department.label(),
        category: t.category.label(),
        reason: t.reason.clone(),
        state: t.state.label(),
        state_key: match t.state {
            TaskState::Sent => "pending",
            TaskState::Accepted => "open",
            TaskState::Completed => "done",
            TaskState::SentBack => "rejected",
        },
        due_on: t.due_on.to_string(),
        overdue: t.overdue(today),
        answer: t.answer.clone(),
        open: t.state.is_open(),
        accepted: t.state == TaskState::Accepted,
    }
}

#[derive(Template)]
#[template(path = "department_tasks.html")]
struct ListPage {
    chrome: Chrome,
    /// The user's own department (staff), which they act for.
    my_department: Option<&'static str>,
    departments: Vec<Opt>,
    villages: Vec<Opt>,
    states: Vec<Opt>,
    items: Vec<TaskLine>,
    total: i64,
    overdue: i64,
    next_link: Option<String>,
    export_link: String,
    error: Option<String>,
    today: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    department: String,
    village: String,
    state: String,
    after: String,
}

impl ListQuery {
    /// `state=overdue`: open tasks past their due date on `today` (the dashboard's drill-down).
    fn filter(&self, today: chrono::NaiveDate) -> DepartmentTaskFilter {
        DepartmentTaskFilter {
            department: Department::from_key(&self.department),
            open_only: self.state.is_empty(),
            state: TaskState::ALL.iter().copied().find(|s| s.code().to_string() == self.state),
            region: RegionCode::parse(&self.village).ok(),
            household: None,
            due_before: (self.state == OVERDUE).then_some(today),
            after: self.after.parse().ok(),
        }
    }
}

const OVERDUE: &str = "overdue";

async fn list_page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    q: &ListQuery,
    error: Option<String>,
) -> Result<ListPage, PageError> {
    let today = state.clock.today();
    let filter = service::department_task_filter(&state.db, &a.scope, a.user.id, q.filter(today)).await?;
    let page = state.db.department_tasks(&a.scope, &filter, 100).await?;
    let overdue = state
        .db
        .department_tasks(&a.scope, &DepartmentTaskFilter { due_before: Some(today), ..filter.clone() }, 1)
        .await?
        .total;
    let regions = state.regions.get().await;
    let my_department = if a.user.role == Role::DepartmentStaff { filter.department.map(|d| d.label()) } else { None };
    let mut departments =
        vec![Opt { value: String::new(), label: "全部部门".into(), selected: filter.department.is_none() }];
    departments.extend(Department::ALL.iter().map(|d| Opt {
        value: d.key().into(),
        label: d.label().into(),
        selected: filter.department == Some(*d),
    }));
    let mut villages = vec![Opt { value: String::new(), label: "全部村".into(), selected: q.village.is_empty() }];
    villages.extend(regions.villages_in(&a.scope).into_iter().map(|r| Opt {
        value: r.code.to_string(),
        label: r.name.clone(),
        selected: r.code.to_string() == q.village,
    }));
    let mut states = vec![Opt { value: String::new(), label: "未办结".into(), selected: q.state.is_empty() }];
    states.extend(TaskState::ALL.iter().map(|s| Opt {
        value: s.code().to_string(),
        label: s.label().into(),
        selected: s.code().to_string() == q.state,
    }));
    states.push(Opt { value: OVERDUE.into(), label: "已逾期（未办结）".into(), selected: q.state == OVERDUE });
    let base = format!(
        "/department-tasks?department={}&village={}&state={}",
        urlencoding::encode(&q.department),
        urlencoding::encode(&q.village),
        urlencoding::encode(&q.state)
    );
    Ok(ListPage {
        chrome: Chrome::new(state, a, headers).await,
        my_department,
        departments,
        villages,
        states,
        items: page.items.iter().map(|t| task_line(t, regions.name(t.village), today)).collect(),
        total: page.total,
        overdue,
        next_link: page.next.map(|n| format!("{base}&after={n}")),
        export_link: format!(
            "/department-tasks.xlsx?department={}&village={}&state={}",
            filter.department.map(|d| d.key()).unwrap_or(""),
            urlencoding::encode(&q.village),
            urlencoding::encode(&q.state)
        ),
        error,
        today: today.to_string(),
    })
}

pub async fn list(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let tpl = list_page(&state, &a, &headers, &q, None).await?;
    render(&tpl, &tpl.chrome)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActForm {
    version: i64,
    action: String,
    text: String,
    on: String,
}

pub async fn act(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<ActForm>,
) -> Result<Response, PageError> {
    let today = state.clock.today();
    let on = NaiveDate::parse_from_str(f.on.trim(), "%Y-%m-%d").unwrap_or(today);
    let action = match f.action.as_str() {
        "accept" => TaskAction::Accept,
        "answer" => TaskAction::Answer { text: f.text.clone() },
        "complete" => TaskAction::Complete { text: f.text.clone(), on },
        "send_back" => TaskAction::SendBack { reason: f.text.clone() },
        _ => return Err(PageError::BadRequest("未知的操作".into())),
    };
    let r = service::act_on_department_task(
        &state.db,
        state.clock.now(),
        today,
        &a.scope,
        &a.actor(),
        a.user.id,
        id,
        f.version,
        &action,
    )
    .await;
    let (error, status) = match r {
        Ok(t) => {
            let msg = match t.state {
                TaskState::Completed => format!("任务 #{id} 已办结，措施已记入该户的帮扶措施"),
                s => format!("任务 #{id}：{}（{}）", action.label(), s.label()),
            };
            return Ok(redirect_with_flash("/department-tasks", &msg));
        }
        Err(EditError::Invalid(e)) => {
            (format!("任务 #{id}：{e}（填写的内容：{}）", f.text.trim()), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(EditError::Conflict { .. } | EditError::Stale { .. }) => {
            (format!("任务 #{id} 刚被他人处理，请查看最新状态"), StatusCode::CONFLICT)
        }
        Err(e) => return Err(e.into()),
    };
    let tpl = list_page(&state, &a, &headers, &ListQuery::default(), Some(error)).await?;
    render_status(status, &tpl, &tpl.chrome)
}

/// Tasks chosen on the measures page: "medical_security:健康帮扶" values.
pub async fn push(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Path(no): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    require(&a, Permission::AssignOfficers)?;
    let no = super::households::parse_no(&no)?;
    let chosen: Vec<(Department, MeasureCategory)> = pairs
        .iter()
        .filter(|(k, _)| k == "task")
        .filter_map(|(_, v)| {
            let (d, c) = v.split_once(':')?;
            Some((Department::from_key(d)?, MeasureCategory::parse_label(c)?))
        })
        .collect();
    let back = format!("/households/{no}/measures");
    let r = service::push_department_tasks(
        &state.db,
        &state.calendar(),
        state.clock.now(),
        state.clock.today(),
        &a.scope,
        &a.actor(),
        &no,
        &chosen,
    )
    .await;
    match r {
        Ok(tasks) if tasks.is_empty() => Ok(redirect_with_flash(&back, "所选任务已推送过，尚未办结，没有重复推送")),
        Ok(tasks) => {
            let to: Vec<&str> = tasks.iter().map(|t| t.department.label()).collect();
            Ok(redirect_with_flash(
                &back,
                &format!("已向{}推送{}项任务，办理时限{}", to.join("、"), tasks.len(), tasks[0].due_on),
            ))
        }
        Err(EditError::Invalid(e)) => Ok(redirect_with_flash(&back, &format!("没有推送：{e}"))),
        Err(e) => Err(e.into()),
    }
}

pub async fn export(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let mut filter =
        service::department_task_filter(&state.db, &a.scope, a.user.id, q.filter(state.clock.today())).await?;
    filter.after = None;
    let regions = state.regions.get().await;
    let today = state.clock.today();
    let mut rows = Vec::new();
    loop {
        let page = state.db.department_tasks(&a.scope, &filter, 1000).await?;
        for t in &page.items {
            rows.push(vec![
                t.id.to_string(),
                t.department.label().to_string(),
                t.household_no.to_string(),
                t.head_name.clone().unwrap_or_default(),
                regions.name(t.village),
                t.category.label().to_string(),
                t.reason.clone(),
                t.state.label().to_string(),
                t.created_at.with_timezone(&domain::clock::china()).date_naive().to_string(),
                t.due_on.to_string(),
                if t.overdue(today) { "逾期".to_string() } else { String::new() },
                t.answer.clone(),
            ]);
        }
        match page.next {
            Some(n) => filter.after = n.parse().ok(),
            None => break,
        }
    }
    let headers = [
        "任务编号",
        "行业部门",
        "户编号",
        "户主",
        "村",
        "需落实措施",
        "原因",
        "状态",
        "下达日期",
        "办理时限",
        "是否逾期",
        "答复",
    ];
    let widths = [8.0, 12.0, 20.0, 10.0, 10.0, 14.0, 40.0, 8.0, 12.0, 12.0, 8.0, 40.0];
    let name = match filter.department {
        Some(d) => format!("{}任务清单.xlsx", d.label().replace('/', "_")),
        None => "任务清单.xlsx".to_string(),
    };
    let bytes = exchange::write_table(FileFormat::Xlsx, Vec::new(), "任务清单", &headers, &widths, &rows)
        .map_err(PageError::internal)?;
    let e = domain::audit::AuditEntry::new(
        state.clock.now(),
        &a.actor(),
        domain::audit::AuditAction::Export,
        "department_tasks",
        filter.department.map(|d| d.key()).unwrap_or("all"),
    )
    .note(format!(
        "导出任务清单（{}，{}条）",
        filter.department.map(|d| d.label()).unwrap_or("全部部门"),
        rows.len()
    ));
    domain::ports::AuditStore::append_audit(&state.db, &[e]).await?;
    Ok(super::transfer::download(FileFormat::Xlsx, &name, bytes))
}
