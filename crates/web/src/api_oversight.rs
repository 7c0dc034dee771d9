//! JSON API for oversight (issue 7): the dashboard's figures for a region's children, as an
//! integration (a county's own screen, a report generator) would read them.

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use domain::dashboard::Figures;
use domain::region::RegionCode;
use domain::rules::FindingCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::AppState;
use crate::api::{ApiError, ApiErrorBody, ApiResult};
use crate::api_cases::{invalid, opt_region};
use crate::auth::ApiAuth;

#[derive(OpenApi)]
#[openapi(
    paths(get_dashboard, get_summary, list_rectifications, act_on_rectification),
    components(schemas(
        DashboardView,
        FiguresView,
        CountView,
        MonitoredView,
        SummaryView,
        TableView,
        RectificationView,
        RectificationList,
        RectificationAction
    ))
)]
pub struct OversightApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/dashboard", get(get_dashboard))
        .route("/api/v1/summary", get(get_summary))
        .route("/api/v1/rectifications", get(list_rectifications))
        .route("/api/v1/rectifications/{id}/actions", axum::routing::post(act_on_rectification))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CountView {
    pub key: String,
    pub label: String,
    pub count: i64,
}

/// One region's figures (see the 看板 page for what each counts).
#[derive(Debug, Serialize, ToSchema)]
pub struct FiguresView {
    pub region: String,
    pub name: String,
    pub households: i64,
    /// The campaign's screening tasks.
    pub tasks: i64,
    pub visited_in_person: i64,
    pub remote_only: i64,
    pub not_reached: i64,
    pub not_visited: i64,
    /// 入户覆盖率, whole per cent.
    pub coverage_percent: i64,
    /// In person among the visited, whole per cent.
    pub in_person_percent: i64,
    pub findings_open: i64,
    pub findings_open_by_code: Vec<CountView>,
    pub monitored: i64,
    pub included_in_period: i64,
    pub eliminated_in_period: i64,
    pub officers_overdue: i64,
    pub measures_overdue: i64,
    pub department_tasks_open: i64,
    pub department_tasks_overdue: i64,
    pub alerts_open: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MonitoredView {
    pub category: Option<String>,
    pub main_risk: Option<String>,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DashboardView {
    pub region: String,
    pub name: String,
    pub today: String,
    /// When these figures were read (China time). Changes made through the server answering
    /// show at once; changes made elsewhere (another server process, the command line) within
    /// a few seconds (`dashboard_cache_seconds`).
    pub as_of: String,
    pub period_from: String,
    pub campaign_id: Option<i64>,
    pub campaign_name: Option<String>,
    /// The region's children that hold households of your scope.
    pub rows: Vec<FiguresView>,
    pub total: FiguresView,
    /// Households under monitoring by category and main risk.
    pub monitored_by: Vec<MonitoredView>,
}

#[derive(Debug, Deserialize, IntoParams, Default)]
#[serde(default)]
pub struct DashboardParams {
    /// A region code within your scope (default: your own region).
    region: String,
    /// A campaign id (default: the one running today, else the last started).
    campaign: String,
}

fn figures_view(region: RegionCode, name: String, f: &Figures) -> FiguresView {
    FiguresView {
        region: region.to_string(),
        name,
        households: f.households,
        tasks: f.progress.households,
        visited_in_person: f.progress.visited,
        remote_only: f.progress.remote_only,
        not_reached: f.progress.not_reached,
        not_visited: f.progress.pending,
        coverage_percent: f.coverage_percent(),
        in_person_percent: f.in_person_percent(),
        findings_open: f.findings_open_total(),
        findings_open_by_code: FindingCode::ALL
            .iter()
            .map(|c| CountView {
                key: c.key().into(),
                label: c.label().into(),
                count: f.findings_open.get(c).copied().unwrap_or(0),
            })
            .collect(),
        monitored: f.monitored,
        included_in_period: f.included,
        eliminated_in_period: f.eliminated,
        officers_overdue: f.officers_overdue,
        measures_overdue: f.measures_overdue,
        department_tasks_open: f.department_tasks_open,
        department_tasks_overdue: f.department_tasks_overdue,
        alerts_open: f.alerts_open,
    }
}

/// The dashboard of a region: its children side by side and their total.
#[utoipa::path(
    get,
    path = "/api/v1/dashboard",
    params(DashboardParams),
    responses(
        (status = 200, body = DashboardView),
        (status = 403, body = ApiErrorBody, description = "a role that follows only its own tasks"),
        (status = 404, body = ApiErrorBody, description = "region or campaign not found in your scope")
    )
)]
async fn get_dashboard(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Query(p): Query<DashboardParams>,
) -> ApiResult<Json<DashboardView>> {
    if !crate::pages::dashboard::sees_dashboard(&a) {
        return Err(ApiError::forbidden());
    }
    let region = opt_region(Some(&p.region))?;
    let campaign = match p.campaign.trim() {
        "" => None,
        c => {
            Some(domain::campaign::CampaignId(c.parse().map_err(|_| invalid("campaign", "应为专项行动编号（整数）"))?))
        }
    };
    let cached = state.dashboard(&a.scope, region, campaign).await?;
    let d = &*cached.dashboard;
    let regions = state.regions.get().await;
    Ok(Json(DashboardView {
        region: d.region.to_string(),
        name: regions.name(d.region),
        today: d.today.to_string(),
        as_of: cached.as_of.with_timezone(&domain::clock::china()).format("%Y-%m-%d %H:%M:%S").to_string(),
        period_from: d.period_from.to_string(),
        campaign_id: d.campaign.as_ref().map(|c| c.id.0),
        campaign_name: d.campaign.as_ref().map(|c| c.name.clone()),
        rows: d.rows.iter().map(|(r, f)| figures_view(*r, regions.name(*r), f)).collect(),
        total: figures_view(d.region, "合计".into(), &d.total),
        monitored_by: d
            .monitored_by
            .iter()
            .map(|m| MonitoredView {
                category: m.category.map(|c| c.label().to_string()),
                main_risk: m.risk.map(|r| r.label().to_string()),
                count: m.count,
            })
            .collect(),
    }))
}

// ------------------------------------------------------------------ the campaign summary

#[derive(Debug, Serialize, ToSchema)]
pub struct TableView {
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// The 工作总结 as its tables (the same as the page and the workbook) and its words.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryView {
    pub region: String,
    pub name: String,
    pub from: String,
    pub to: String,
    pub campaign_id: Option<i64>,
    pub tables: Vec<TableView>,
    pub work_done: String,
    pub problems: String,
    pub next_steps: String,
}

#[derive(Debug, Deserialize, IntoParams, Default)]
#[serde(default)]
pub struct SummaryParams {
    /// A village or the town (default: your region).
    region: String,
    campaign: String,
    /// The day the summary stands on (default: today).
    as_of: String,
}

/// A village's or a town's campaign summary on a day.
#[utoipa::path(get, path = "/api/v1/summary", params(SummaryParams), responses((status = 200, body = SummaryView)))]
async fn get_summary(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Query(p): Query<SummaryParams>,
) -> ApiResult<Json<SummaryView>> {
    if !crate::pages::dashboard::sees_dashboard(&a) {
        return Err(ApiError::forbidden());
    }
    let region = opt_region(Some(&p.region))?;
    let campaign = p.campaign.trim().parse().ok().map(domain::campaign::CampaignId);
    let today = state.clock.today();
    let to = match p.as_of.trim() {
        "" => today,
        d => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| invalid("as_of", "日期应写成 2022-05-04"))?
            .min(today),
    };
    let s = domain::summary::summary(&state.db, &a.scope, region, campaign, to).await?;
    let regions = state.regions.get().await;
    let tables = crate::pages::summary::tables(&s, &regions)
        .into_iter()
        .map(|t| TableView {
            title: t.title.into(),
            headers: t.headers.iter().map(|h| h.to_string()).collect(),
            rows: t.rows,
        })
        .collect();
    Ok(Json(SummaryView {
        region: s.region.to_string(),
        name: regions.name(s.region),
        from: s.from.to_string(),
        to: s.to.to_string(),
        campaign_id: s.campaign.as_ref().map(|c| c.id.0),
        tables,
        work_done: s.notes.work_done,
        problems: s.notes.problems,
        next_steps: s.notes.next_steps,
    }))
}

// ------------------------------------------------------------------ rectifications

#[derive(Debug, Serialize, ToSchema)]
pub struct RectificationView {
    pub id: i64,
    pub version: i64,
    pub inspection_id: i64,
    pub village: String,
    pub household_no: Option<String>,
    pub problem: String,
    pub owner: String,
    pub due_on: String,
    pub overdue: bool,
    /// 待整改 | 已整改
    pub status: String,
    pub evidence: String,
    pub closed_on: Option<String>,
    pub closed_by: Option<String>,
    pub reopen_reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RectificationList {
    pub items: Vec<RectificationView>,
    pub total: i64,
    /// Pass as `after` for the next page.
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams, Default)]
#[serde(default)]
pub struct RectificationParams {
    /// open (default) | closed | overdue | all
    status: String,
    region: String,
    after: String,
}

fn rectification_view(r: &domain::supervision::Rectification, today: chrono::NaiveDate) -> RectificationView {
    RectificationView {
        id: r.id,
        version: r.version,
        inspection_id: r.inspection_id,
        village: r.village.to_string(),
        household_no: r.household_no.as_ref().map(|h| h.to_string()),
        problem: r.problem.clone(),
        owner: r.owner.clone(),
        due_on: r.due_on.to_string(),
        overdue: r.overdue(today),
        status: r.status.label().into(),
        evidence: r.evidence.clone(),
        closed_on: r.closed_on.map(|d| d.to_string()),
        closed_by: r.closed_by.clone(),
        reopen_reason: r.reopen_reason.clone(),
    }
}

/// Rectifications (整改) of your scope, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/rectifications",
    params(RectificationParams),
    responses((status = 200, body = RectificationList))
)]
async fn list_rectifications(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Query(p): Query<RectificationParams>,
) -> ApiResult<Json<RectificationList>> {
    use domain::supervision::RectificationStatus;
    if !crate::pages::dashboard::sees_dashboard(&a) {
        return Err(ApiError::forbidden());
    }
    let today = state.clock.today();
    let filter = domain::ports::RectificationFilter {
        region: opt_region(Some(&p.region))?,
        status: match p.status.as_str() {
            "" | "open" => Some(RectificationStatus::Open),
            "closed" => Some(RectificationStatus::Closed),
            _ => None,
        },
        due_before: (p.status == "overdue").then_some(today),
        after: p.after.parse().ok(),
        ..Default::default()
    };
    let page = domain::ports::SupervisionStore::rectifications(&state.db, &a.scope, &filter, 200).await?;
    Ok(Json(RectificationList {
        items: page.items.iter().map(|r| rectification_view(r, today)).collect(),
        total: page.total,
        next: page.next,
    }))
}

/// Close (with evidence) or reopen (with a reason) a rectification still at `version`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RectificationAction {
    /// close | reopen
    pub action: String,
    pub version: i64,
    /// The evidence (close) or the reason (reopen).
    pub text: String,
    /// The day it was fixed (close; default today).
    #[serde(default)]
    pub on: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/rectifications/{id}/actions",
    request_body = RectificationAction,
    responses(
        (status = 200, body = RectificationView),
        (status = 409, body = ApiErrorBody, description = "changed by someone else since `version`"),
        (status = 422, body = ApiErrorBody, description = "no evidence, or no reason")
    )
)]
async fn act_on_rectification(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    axum::extract::Path(id): axum::extract::Path<i64>,
    Json(body): Json<RectificationAction>,
) -> ApiResult<Json<RectificationView>> {
    let (now, today) = (state.clock.now(), state.clock.today());
    let actor = a.actor();
    let r = match body.action.as_str() {
        "close" => {
            domain::supervision::close_rectification(
                &state.db,
                &actor,
                &a.scope,
                now,
                today,
                id,
                body.version,
                &body.text,
                &body.on,
            )
            .await?
        }
        "reopen" => {
            domain::supervision::reopen_rectification(
                &state.db,
                &actor,
                a.user.id,
                &a.scope,
                now,
                today,
                id,
                body.version,
                &body.text,
            )
            .await?
        }
        _ => return Err(invalid("action", "应为 close 或 reopen")),
    };
    Ok(Json(rectification_view(&r, today)))
}
