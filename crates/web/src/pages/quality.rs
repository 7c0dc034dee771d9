//! 数据比对 (data comparison): registry quality checks across the user's scope with counts,
//! drill-down lists and an xlsx export (one sheet per check), and the department alerts by feed.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use chrono::NaiveDate;
use domain::account::Permission;
use domain::quality::{QualityCheck, QualityItem};
use domain::region::RegionCode;
use domain::service;
use serde::Deserialize;

use super::{Chrome, Opt, render};
use crate::AppState;
use crate::auth::PageAuth;
use crate::error::PageError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/quality", get(report))
        .route("/quality.xlsx", get(export))
        .route("/quality/{check}", get(items))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct QualityQuery {
    village: String,
    as_of: String,
}

impl QualityQuery {
    fn region(&self) -> Option<RegionCode> {
        RegionCode::parse(&self.village).ok()
    }
    fn as_of(&self, today: NaiveDate) -> NaiveDate {
        NaiveDate::parse_from_str(self.as_of.trim(), "%Y-%m-%d").unwrap_or(today)
    }
    fn query(&self, as_of: NaiveDate) -> String {
        format!("village={}&as_of={as_of}", urlencoding::encode(&self.village))
    }
}

pub struct CheckLine {
    pub key: &'static str,
    pub label: &'static str,
    pub advice: &'static str,
    pub count: i64,
}

#[derive(Template)]
#[template(path = "quality.html")]
struct ReportPage {
    chrome: Chrome,
    villages: Vec<Opt>,
    as_of: String,
    query: String,
    checks: Vec<CheckLine>,
    /// (feed, department, open, concluded)
    alerts: Vec<(&'static str, &'static str, i64, i64)>,
}

pub async fn report(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Query(q): Query<QualityQuery>,
) -> Result<Response, PageError> {
    let as_of = q.as_of(state.clock.today());
    let r = service::quality_report(&state.db, &a.scope, q.region(), as_of).await?;
    let regions = state.regions.get().await;
    let mut villages = vec![Opt { value: String::new(), label: "全部村".into(), selected: q.village.is_empty() }];
    villages.extend(regions.villages_in(&a.scope).into_iter().map(|v| Opt {
        value: v.code.to_string(),
        label: v.name.clone(),
        selected: v.code.to_string() == q.village,
    }));
    let tpl = ReportPage {
        chrome: Chrome::new(&state, &a, &headers).await,
        villages,
        as_of: as_of.to_string(),
        query: q.query(as_of),
        checks: r
            .checks
            .iter()
            .map(|(c, n)| CheckLine { key: c.key(), label: c.label(), advice: c.advice(), count: *n })
            .collect(),
        alerts: r.alerts.iter().map(|(k, o, c)| (k.label(), k.department().label(), *o, *c)).collect(),
    };
    render(&tpl, &tpl.chrome)
}

/// One finding as shown: the ID masked unless the role sees sensitive data (D18).
pub struct ItemLine {
    pub household_no: String,
    pub village: String,
    pub member: String,
    pub id: String,
    pub detail: String,
}

fn item_line(i: &QualityItem, village: String, sensitive: bool) -> ItemLine {
    ItemLine {
        household_no: i.household_no.to_string(),
        village,
        member: i.member_name.clone(),
        id: if sensitive { i.id_number.clone() } else { domain::national_id::mask_id_text(&i.id_number) },
        detail: i.detail.clone(),
    }
}

#[derive(Template)]
#[template(path = "quality_items.html")]
struct ItemsPage {
    chrome: Chrome,
    label: &'static str,
    advice: &'static str,
    as_of: String,
    query: String,
    items: Vec<ItemLine>,
    truncated: bool,
}

const PAGE_ITEMS: u32 = 500;

pub async fn items(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(check): Path<String>,
    Query(q): Query<QualityQuery>,
) -> Result<Response, PageError> {
    let check = QualityCheck::from_key(&check).ok_or(PageError::NotFound)?;
    let as_of = q.as_of(state.clock.today());
    let list = service::quality_items(
        &state.db,
        state.clock.now(),
        &a.scope,
        &a.actor(),
        q.region(),
        check,
        as_of,
        PAGE_ITEMS + 1,
    )
    .await?;
    let regions = state.regions.get().await;
    let sensitive = a.scope.allows(Permission::ViewSensitive);
    let truncated = list.len() > PAGE_ITEMS as usize;
    let tpl = ItemsPage {
        chrome: Chrome::new(&state, &a, &headers).await,
        label: check.label(),
        advice: check.advice(),
        as_of: as_of.to_string(),
        query: q.query(as_of),
        items: list
            .iter()
            .take(PAGE_ITEMS as usize)
            .map(|i| item_line(i, regions.name(i.village), sensitive))
            .collect(),
        truncated,
    };
    render(&tpl, &tpl.chrome)
}

pub async fn export(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Query(q): Query<QualityQuery>,
) -> Result<Response, PageError> {
    let as_of = q.as_of(state.clock.today());
    let all = service::quality_export(&state.db, state.clock.now(), &a.scope, &a.actor(), q.region(), as_of).await?;
    let regions = state.regions.get().await;
    // full IDs in a file only for roles that may export them (D18)
    let sensitive = a.scope.allows(Permission::ViewSensitive) && a.scope.allows(Permission::ExportHouseholds);
    let sheets: Vec<exchange::SheetTable<'_>> = all
        .iter()
        .map(|(c, items)| exchange::SheetTable {
            name: c.label(),
            headers: vec!["户编号", "村", "姓名", "证件号码", "问题"],
            widths: vec![20.0, 12.0, 10.0, 22.0, 40.0],
            rows: items
                .iter()
                .map(|i| {
                    let l = item_line(i, regions.name(i.village), sensitive);
                    vec![l.household_no, l.village, l.member, l.id, l.detail]
                })
                .collect(),
        })
        .collect();
    let bytes = exchange::write_sheets(Vec::new(), &sheets).map_err(|e| PageError::BadRequest(e.to_string()))?;
    Ok(super::transfer::download(exchange::FileFormat::Xlsx, &format!("数据比对报告_{as_of}.xlsx"), bytes))
}
