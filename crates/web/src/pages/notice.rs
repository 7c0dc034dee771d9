//! 通报 (issue 7): the town office's weekly progress notice, generated on demand — each village's
//! in-person coverage and its change over the week, and its overdue items, each against the rule
//! that makes it overdue. It ranks nothing it cannot justify: villages stay in their usual order,
//! and a village is named only for facts (an item past its deadline, visits short after the
//! campaign's visit deadline).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use domain::audit::{AuditAction, AuditEntry};
use domain::ports::{AuditStore, SupervisionStore};
use domain::region::RegionCode;
use serde::Deserialize;

use super::{Chrome, render};
use crate::AppState;
use crate::auth::{Authed, PageAuth};
use crate::error::PageError;

pub fn routes() -> Router<AppState> {
    Router::new().route("/notice", get(page)).route("/notice.xlsx", get(export))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NoticeQuery {
    campaign: String,
}

pub struct NoticeRow {
    pub name: String,
    pub code: String,
    pub coverage: i64,
    pub coverage_week_ago: i64,
    pub remote_only: i64,
    pub officers_overdue: i64,
    pub measures_overdue: i64,
    pub tasks_overdue: i64,
    pub rect_overdue: i64,
    pub alerts_open: i64,
    /// Why the village is named, each reason a fact with its rule.
    pub reasons: Vec<String>,
}

pub struct Notice {
    pub title: String,
    pub today: String,
    pub week_ago: String,
    pub campaign: String,
    pub visits_due: String,
    pub total: NoticeRow,
    pub rows: Vec<NoticeRow>,
}

async fn build(state: &AppState, a: &Authed, q: &NoticeQuery) -> Result<Notice, PageError> {
    let today = state.clock.today();
    let week_ago = today - chrono::Days::new(7);
    let campaign = q.campaign.trim().parse().ok().map(domain::campaign::CampaignId);
    let cal = state.calendar();
    let d = domain::dashboard::dashboard(&state.db, &cal, &a.scope, None, campaign, today).await?;
    let campaign = d.campaign.as_ref().map(|c| c.id);
    let before = domain::summary::summary(&state.db, &a.scope, Some(d.region), campaign, week_ago).await?;
    let rects = state.db.rectification_counts(&a.scope, today).await?;
    let regions = state.regions.get().await;
    let visits_due = d.campaign.as_ref().and_then(|c| c.visits_due());
    let row = |code: RegionCode, f: &domain::dashboard::Figures, prev: Option<&domain::summary::Figures>| {
        let rect_overdue: i64 = rects.iter().filter(|r| code.contains(r.0)).map(|r| r.2).sum();
        let mut reasons = Vec::new();
        if let Some(due) = visits_due
            && today > due
            && f.progress.households > f.progress.visited
        {
            reasons.push(format!(
                "入户排查时限 {due} 已过，仍有 {} 户未入户（专项行动的入户排查时限）",
                f.progress.households - f.progress.visited
            ));
        }
        if f.officers_overdue > 0 {
            reasons.push(format!("{} 户监测对象纳入后超过 5 个工作日仍未落实帮扶责任人", f.officers_overdue));
        }
        if f.measures_overdue > 0 {
            reasons.push(format!("{} 户超过 10 日未落实帮扶措施", f.measures_overdue));
        }
        if f.department_tasks_overdue > 0 {
            reasons.push(format!("{} 项部门任务逾期未办结", f.department_tasks_overdue));
        }
        if rect_overdue > 0 {
            reasons.push(format!("{rect_overdue} 项督导问题逾期未整改"));
        }
        NoticeRow {
            name: regions.name(code),
            code: code.to_string(),
            coverage: f.coverage_percent(),
            coverage_week_ago: prev.map(|p| p.coverage_percent()).unwrap_or(0),
            remote_only: f.progress.remote_only,
            officers_overdue: f.officers_overdue,
            measures_overdue: f.measures_overdue,
            tasks_overdue: f.department_tasks_overdue,
            rect_overdue,
            alerts_open: f.alerts_open,
            reasons,
        }
    };
    let rows = d
        .rows
        .iter()
        .map(|(code, f)| {
            // a row is a village, or (above a town) the sum of its villages
            let mut prev = domain::summary::Figures::default();
            for (_, p) in before.villages.iter().filter(|(v, _)| code.contains(*v)) {
                prev.merge(p);
            }
            row(*code, f, Some(&prev))
        })
        .collect();
    let total = row(d.region, &d.total, Some(&before.total));
    Ok(Notice {
        title: format!("{}防返贫集中排查工作进度通报", regions.name(d.region)),
        today: today.to_string(),
        week_ago: week_ago.to_string(),
        campaign: d.campaign.as_ref().map(|c| c.name.clone()).unwrap_or_default(),
        visits_due: visits_due.map(|d| d.to_string()).unwrap_or_default(),
        total,
        rows,
    })
}

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticePage {
    chrome: Chrome,
    n: Notice,
    named: usize,
}

fn require(a: &Authed) -> Result<(), PageError> {
    // the town office writes notices; leaders and supervisors read them
    use domain::account::Role;
    if matches!(a.user.role, Role::Admin | Role::TownOffice | Role::Leader | Role::Supervisor | Role::CountyApprover) {
        Ok(())
    } else {
        Err(PageError::Forbidden)
    }
}

pub async fn page(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    require(&a)?;
    let n = build(&state, &a, &q).await?;
    let named = n.rows.iter().filter(|r| !r.reasons.is_empty()).count();
    let tpl = NoticePage { chrome: Chrome::new(&state, &a, &headers).await, n, named };
    render(&tpl, &tpl.chrome)
}

pub async fn export(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    require(&a)?;
    let n = build(&state, &a, &q).await?;
    let line = |r: &NoticeRow| {
        vec![
            r.name.clone(),
            format!("{}%", r.coverage),
            format!("{}%", r.coverage_week_ago),
            r.remote_only.to_string(),
            r.officers_overdue.to_string(),
            r.measures_overdue.to_string(),
            r.tasks_overdue.to_string(),
            r.rect_overdue.to_string(),
            r.alerts_open.to_string(),
            r.reasons.join("；"),
        ]
    };
    let mut rows: Vec<Vec<String>> = n.rows.iter().map(line).collect();
    rows.push(line(&n.total));
    let headers = vec![
        "村",
        "入户覆盖率",
        "一周前",
        "仅线上",
        "责任人超期",
        "措施超期",
        "部门任务逾期",
        "整改逾期",
        "预警待核实",
        "需要说明的问题",
    ];
    let widths = vec![12.0, 10.0, 10.0, 8.0, 10.0, 10.0, 12.0, 10.0, 10.0, 60.0];
    let sheet = exchange::SheetTable { name: "进度通报", headers, widths, rows };
    let bytes = exchange::write_sheets(Vec::new(), &[sheet]).map_err(|e| PageError::BadRequest(e.to_string()))?;
    let mut e = AuditEntry::new(state.clock.now(), &a.actor(), AuditAction::Export, "notice", 0)
        .note(format!("导出进度通报（{}）", n.today));
    if let Some(r) = a.scope.region() {
        e = e.region(r);
    }
    state.db.append_audit(&[e]).await?;
    Ok(super::transfer::download(exchange::FileFormat::Xlsx, &format!("进度通报_{}.xlsx", n.today), bytes))
}
