//! 看板: a region's children side by side (a town's villages, a county's towns) with charts and
//! links to the lists behind every number (issue 7). Read-only for every role that sees it.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use domain::dashboard::{Dashboard, Figures};
use domain::household::MonitoringStatus;
use domain::region::{RegionCode, RegionLevel};
use domain::rules::FindingCode;
use serde::Deserialize;

use super::{Chrome, Opt, render};
use crate::AppState;
use crate::auth::{Authed, PageAuth};
use crate::charts::{self, Bar};
use crate::error::PageError;
use crate::regions::RegionIndex;

pub fn routes() -> Router<AppState> {
    Router::new().route("/dashboard", get(page))
}

/// Who sees the dashboard: the roles that follow a region's work (not a screener's or an
/// officer's own list, not a department).
pub fn sees_dashboard(a: &Authed) -> bool {
    super::cases::takes_part(a.user.role) && a.scope.own_tasks_only().is_none()
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DashboardQuery {
    pub region: String,
    pub campaign: String,
}

/// One row as shown, with the links behind its numbers.
pub struct RowLine {
    pub name: String,
    /// Drill-down: the child's own dashboard, or a village's campaign page.
    pub href: Option<String>,
    /// `village=CODE` for the lists' filters.
    pub list_query: String,
    pub f: Figures,
    pub coverage: i64,
    pub in_person: i64,
    pub findings_open: i64,
    /// Open findings per code, in [`FindingCode::ALL`] order.
    pub by_code: Vec<i64>,
    /// Coverage at least 10 points below the total's: marked for the supervisors.
    pub lagging: bool,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    title: String,
    crumbs: Vec<(String, String)>,
    campaigns: Vec<Opt>,
    campaign_name: String,
    period_from: String,
    today: String,
    /// When the figures were read (they are reused for a few seconds).
    as_of: String,
    region_code: String,
    child_label: &'static str,
    codes: Vec<(&'static str, &'static str)>,
    rows: Vec<RowLine>,
    total: RowLine,
    coverage_chart: String,
    coverage_legend: String,
    findings_chart: String,
    monitored_chart: String,
    monitored_legend: String,
    monitored_status: String,
}

fn line(name: String, href: Option<String>, code: Option<RegionCode>, f: &Figures, total_coverage: i64) -> RowLine {
    let coverage = f.coverage_percent();
    RowLine {
        name,
        href,
        list_query: code.map(|c| format!("village={c}")).unwrap_or_default(),
        coverage,
        in_person: f.in_person_percent(),
        findings_open: f.findings_open_total(),
        by_code: FindingCode::ALL.iter().map(|c| f.findings_open.get(c).copied().unwrap_or(0)).collect(),
        lagging: f.progress.households > 0 && coverage + 10 <= total_coverage,
        f: f.clone(),
    }
}

fn child_label(level: RegionLevel) -> &'static str {
    match level {
        RegionLevel::Province => "市",
        RegionLevel::City => "县（区）",
        RegionLevel::County => "乡镇",
        RegionLevel::Town | RegionLevel::Village => "村",
    }
}

/// Ancestors of the region the user may open (within their scope), then the region itself.
fn crumbs(a: &Authed, regions: &RegionIndex, region: RegionCode) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = region
        .ancestors()
        .into_iter()
        .filter(|r| a.scope.is_system() || a.scope.contains(*r))
        .map(|r| (regions.name(r), format!("/dashboard?region={r}")))
        .collect();
    out.push((regions.name(region), String::new()));
    out
}

fn coverage_bars(d: &Dashboard, rows: &[RowLine]) -> String {
    // every bar against its own households (in ‰): the chart compares shares, not sizes
    let bars: Vec<Bar> = d
        .rows
        .iter()
        .zip(rows)
        .map(|((_, f), r)| {
            let n = f.progress.households.max(1);
            Bar {
                label: r.name.clone(),
                segments: vec![
                    (f.progress.visited * 1000 / n, "in-person"),
                    (f.progress.remote_only * 1000 / n, "remote"),
                ],
                note: format!("{}%", r.coverage),
                href: r.href.clone(),
            }
        })
        .collect();
    charts::bars("走访覆盖率（按户）", &bars, Some(1000))
}

fn findings_bars(total: &Figures, region: RegionCode) -> String {
    let bars: Vec<Bar> = FindingCode::ALL
        .iter()
        .map(|c| {
            let n = total.findings_open.get(c).copied().unwrap_or(0);
            Bar {
                label: c.label().to_string(),
                segments: vec![(n, "finding")],
                note: n.to_string(),
                href: Some(format!("/findings?village={region}&code={}", c.key())),
            }
        })
        .collect();
    charts::bars("待处理发现（按排查内容）", &bars, None)
}

const RISK_CLASSES: [&str; 9] = ["r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r99"];

fn risk_class(r: Option<domain::codes::RiskType>) -> &'static str {
    match r {
        Some(r) => domain::codes::RiskType::ALL
            .iter()
            .position(|x| *x == r)
            .map(|i| RISK_CLASSES[i.min(RISK_CLASSES.len() - 1)])
            .unwrap_or("r99"),
        None => "rnone",
    }
}

fn monitored_bars(d: &Dashboard) -> (String, String) {
    use domain::codes::{MonitoringCategory, RiskType};
    let mut cats: Vec<Option<MonitoringCategory>> = MonitoringCategory::ALL.iter().copied().map(Some).collect();
    if d.monitored_by.iter().any(|m| m.category.is_none()) {
        cats.push(None);
    }
    let bars: Vec<Bar> = cats
        .iter()
        .map(|c| {
            let mut segments: Vec<(i64, &'static str)> = Vec::new();
            for m in d.monitored_by.iter().filter(|m| m.category == *c) {
                segments.push((m.count, risk_class(m.risk)));
            }
            segments.sort_by_key(|s| s.1);
            let n: i64 = segments.iter().map(|s| s.0).sum();
            Bar {
                label: c.map(|c| c.label()).unwrap_or("未填类型").to_string(),
                segments,
                note: format!("{n} 户"),
                href: None,
            }
        })
        .collect();
    let mut legend: charts::Legend = RiskType::ALL
        .iter()
        .filter(|r| d.monitored_by.iter().any(|m| m.risk == Some(**r)))
        .map(|r| (risk_class(Some(*r)), r.label().to_string()))
        .collect();
    if d.monitored_by.iter().any(|m| m.risk.is_none()) {
        legend.push(("rnone", "未填风险".into()));
    }
    (charts::bars("监测户（按监测对象类别和主要风险）", &bars, None), charts::legend(&legend))
}

pub async fn page(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Query(q): Query<DashboardQuery>,
) -> Result<Response, PageError> {
    if !sees_dashboard(&a) {
        return Err(PageError::Forbidden);
    }
    let region = if q.region.trim().is_empty() {
        None
    } else {
        Some(RegionCode::parse(q.region.trim()).map_err(|_| PageError::NotFound)?)
    };
    let campaign = q.campaign.trim().parse().ok().map(domain::campaign::CampaignId);
    let cached = state.dashboard(&a.scope, region, campaign).await?;
    let d = &*cached.dashboard;
    let regions = state.regions.get().await;
    let total_coverage = d.total.coverage_percent();
    let rows: Vec<RowLine> = d
        .rows
        .iter()
        .map(|(code, f)| {
            let href = if code.level() == RegionLevel::Village {
                d.campaign.as_ref().map(|c| format!("/campaigns/{}/villages/{code}", c.id.0))
            } else {
                Some(format!("/dashboard?region={code}"))
            };
            line(regions.name(*code), href, Some(*code), f, total_coverage)
        })
        .collect();
    let total = line("合计".into(), None, Some(d.region), &d.total, total_coverage);
    let campaigns_all = domain::ports::CampaignStore::campaigns(&state.db, &a.scope).await?;
    let campaigns = campaigns_all
        .iter()
        .map(|c| Opt {
            value: c.id.0.to_string(),
            label: c.name.clone(),
            selected: d.campaign.as_ref().is_some_and(|x| x.id == c.id),
        })
        .collect();
    let (monitored_chart, monitored_legend) = monitored_bars(d);
    let tpl = DashboardPage {
        chrome: Chrome::new(&state, &a, &headers).await,
        title: regions.name(d.region),
        crumbs: crumbs(&a, &regions, d.region),
        campaigns,
        campaign_name: d.campaign.as_ref().map(|c| c.name.clone()).unwrap_or_default(),
        period_from: d.period_from.to_string(),
        today: d.today.to_string(),
        as_of: cached.as_of.with_timezone(&domain::clock::china()).format("%H:%M:%S").to_string(),
        region_code: d.region.to_string(),
        child_label: child_label(d.region.level()),
        codes: FindingCode::ALL.iter().map(|c| (c.key(), c.label())).collect(),
        coverage_chart: coverage_bars(d, &rows),
        coverage_legend: charts::legend(&vec![("in-person", "入户核查".into()), ("remote", "仅电话等非入户".into())]),
        findings_chart: findings_bars(&d.total, d.region),
        monitored_chart,
        monitored_legend,
        monitored_status: urlencoding::encode(MonitoringStatus::Monitored.label()).into_owned(),
        rows,
        total,
    };
    render(&tpl, &tpl.chrome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_risk_has_its_own_colour_class() {
        let classes: std::collections::HashSet<&str> =
            domain::codes::RiskType::ALL.iter().map(|r| risk_class(Some(*r))).collect();
        assert_eq!(classes.len(), domain::codes::RiskType::ALL.len());
        assert_eq!(risk_class(None), "rnone");
    }
}
