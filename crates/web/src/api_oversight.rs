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
use crate::api_cases::invalid;
use crate::auth::ApiAuth;

#[derive(OpenApi)]
#[openapi(paths(get_dashboard), components(schemas(DashboardView, FiguresView, CountView, MonitoredView)))]
pub struct OversightApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/dashboard", get(get_dashboard))
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
    let region = match p.region.trim() {
        "" => None,
        r => Some(RegionCode::parse(r).map_err(|e| invalid("region", &e.to_string()))?),
    };
    let campaign = match p.campaign.trim() {
        "" => None,
        c => {
            Some(domain::campaign::CampaignId(c.parse().map_err(|_| invalid("campaign", "应为专项行动编号（整数）"))?))
        }
    };
    let today = state.clock.today();
    let cal = state.calendar();
    let d = domain::dashboard::dashboard(&state.db, &cal, &a.scope, region, campaign, today).await?;
    let regions = state.regions.get().await;
    Ok(Json(DashboardView {
        region: d.region.to_string(),
        name: regions.name(d.region),
        today: today.to_string(),
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
