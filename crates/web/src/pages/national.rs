//! 全国系统录入 (issue 7): what changed since a date, for re-entry into the national monitoring
//! system — the monitored (and eliminated) households with their members, risks, officers and
//! elimination in the member-per-row layout of the import (so the file imports back unchanged),
//! their measures, and each department's task list.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use domain::account::Permission;
use domain::audit::{AuditAction, AuditEntry};
use domain::measure::Department;
use domain::ports::{AuditStore, HouseholdFilter, HouseholdStore, SummaryStore};
use exchange::FileFormat;
use serde::Deserialize;

use super::{Chrome, render, require};
use crate::AppState;
use crate::auth::{Authed, PageAuth};
use crate::error::PageError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/national-export", get(page))
        .route("/national-export/households.{ext}", get(households))
        .route("/national-export/measures.xlsx", get(measures))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SinceQuery {
    since: String,
}

impl SinceQuery {
    /// The day asked for (default: 1 January), and its China midnight as an instant.
    fn since(&self, today: NaiveDate) -> (NaiveDate, DateTime<Utc>) {
        let d = NaiveDate::parse_from_str(self.since.trim(), "%Y-%m-%d")
            .unwrap_or_else(|_| NaiveDate::from_ymd_opt(chrono::Datelike::year(&today), 1, 1).unwrap_or(today));
        (d, domain::clock::day_start(d))
    }
}

fn filter(since: DateTime<Utc>) -> HouseholdFilter {
    HouseholdFilter { ever_monitored: true, changed_since: Some(since), ..Default::default() }
}

#[derive(Template)]
#[template(path = "national_export.html")]
struct ExportPage {
    chrome: Chrome,
    since: String,
    households: i64,
    measures: usize,
    departments: Vec<(&'static str, &'static str)>,
}

fn require_export(a: &Authed) -> Result<(), PageError> {
    require(a, Permission::ExportHouseholds)
}

pub async fn page(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Query(q): Query<SinceQuery>,
) -> Result<Response, PageError> {
    require_export(&a)?;
    let (day, t) = q.since(state.clock.today());
    let households = state.db.list_households(&a.scope, &filter(t), None, 1).await?.total;
    let measures = state.db.measures_since(&a.scope, &filter(t), t).await?.len();
    let tpl = ExportPage {
        chrome: Chrome::new(&state, &a, &headers).await,
        since: day.to_string(),
        households,
        measures,
        departments: Department::ALL.iter().map(|d| (d.key(), d.label())).collect(),
    };
    render(&tpl, &tpl.chrome)
}

pub async fn households(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Path(ext): Path<String>,
    Query(q): Query<SinceQuery>,
) -> Result<Response, PageError> {
    require_export(&a)?;
    let format = match ext.as_str() {
        "xlsx" => FileFormat::Xlsx,
        "csv" => FileFormat::Csv,
        _ => return Err(PageError::NotFound),
    };
    let (day, t) = q.since(state.clock.today());
    // the household export itself (the import's layout, audited), for the changed households
    let file = super::transfer::export_file(&state, &a, &filter(t), format).await?;
    Ok(super::transfer::download_file(format, &format!("监测户变化_{day}起.{}", format.extension()), file))
}

pub async fn measures(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Query(q): Query<SinceQuery>,
) -> Result<Response, PageError> {
    require_export(&a)?;
    let (day, t) = q.since(state.clock.today());
    let items = state.db.measures_since(&a.scope, &filter(t), t).await?;
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|(no, m)| {
            vec![
                no.to_string(),
                m.category.label().to_string(),
                m.department.map(|d| d.label()).unwrap_or("").to_string(),
                m.content.clone(),
                m.planned_on.to_string(),
                m.completed_on.map(|d| d.to_string()).unwrap_or_default(),
                m.status.label().to_string(),
                m.funds.map(|f| f.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    let sheet = exchange::SheetTable {
        name: "帮扶措施",
        headers: vec!["户编号", "措施类别", "责任部门", "措施内容", "计划时间", "落实时间", "状态", "资金（元）"],
        widths: vec![20.0, 14.0, 10.0, 40.0, 12.0, 12.0, 8.0, 12.0],
        rows,
    };
    let bytes = exchange::write_sheets(Vec::new(), &[sheet]).map_err(|e| PageError::BadRequest(e.to_string()))?;
    let mut e = AuditEntry::new(state.clock.now(), &a.actor(), AuditAction::Export, "measures", 0)
        .note(format!("导出帮扶措施（{day} 起变化，{} 项）", items.len()));
    if let Some(r) = a.scope.region() {
        e = e.region(r);
    }
    state.db.append_audit(&[e]).await?;
    Ok(super::transfer::download(FileFormat::Xlsx, &format!("帮扶措施变化_{day}起.xlsx"), bytes))
}
