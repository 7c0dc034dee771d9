//! JSON API for department feeds (部门筛查预警, DOMAIN §9, D15–D17): a department system posts its
//! file; villages' systems read and verify the alerts.

use axum::Json;
use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use domain::account::Permission;
use domain::feed::{AlertConclusion, AlertStatus, DepartmentAlert, FeedKind, VerifyMode};
use domain::ports::{AlertFilter, FeedStore};
use domain::region::RegionCode;
use domain::service::{self, EditError};
use exchange::feed::FeedMapping;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::AppState;
use crate::api::{ApiError, ApiErrorBody, ApiResult};
use crate::api_cases::{date, invalid};
use crate::auth::ApiAuth;

#[derive(OpenApi)]
#[openapi(
    paths(post_feed, list_alerts, verify_alert),
    components(schemas(FeedReportView, FeedRowError, UnmatchedView, AlertView, AlertList, VerificationRequest))
)]
pub struct AlertApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/feeds", post(post_feed))
        .route("/api/v1/alerts", get(list_alerts))
        .route("/api/v1/alerts/{id}/verification", post(verify_alert))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedRowError {
    pub line: usize,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnmatchedView {
    pub line: usize,
    pub name: String,
    /// Masked (first 6 and last 4).
    pub id: String,
    pub reason: String,
}

/// What a department file did. `written` is false for a dry run, a file with errors (nothing is
/// written) and a file imported before (`previous_batch`).
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedReportView {
    pub feed: String,
    pub file_name: String,
    /// Field → the file's header.
    pub columns: Vec<(String, String)>,
    pub errors: Vec<FeedRowError>,
    pub written: bool,
    pub previous_batch: Option<i64>,
    pub batch: Option<i64>,
    pub rows: i64,
    pub matched: i64,
    pub below_threshold: i64,
    pub unmatched: Vec<UnmatchedView>,
    pub alerts_raised: i64,
    pub alerts_updated: i64,
    pub alerts_unchanged: i64,
    pub exclusion_facts: i64,
}

/// Import a department file (multipart: `feed` = medical | assistance | disaster | unemployment |
/// dropout | education_fees | housing | water | disability | illness | death | vehicle |
/// state_salaried | business | property; `file` .xlsx/.csv in UTF-8 or GBK; optional `period`
/// (2022-03 or 2022), `map` (lines such as 金额=自付金额, saved for the next files) and
/// `dry_run=true`). A 行业部门 account posts its own department's kinds only. Rows are matched
/// by the integer ID key within your scope; the same file twice raises nothing twice.
#[utoipa::path(post, path = "/api/v1/feeds", request_body(content_type = "multipart/form-data", description = "feed, file, period, map, dry_run"),
    responses((status = 200, body = FeedReportView), (status = 403, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn post_feed(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    mp: Multipart,
) -> ApiResult<Json<FeedReportView>> {
    if !a.scope.allows(Permission::ImportFeeds) {
        return Err(ApiError::forbidden());
    }
    let sub = crate::pages::cases::read_multipart(mp).await;
    if let Some(e) = sub.error {
        return Err(invalid("file", &e));
    }
    let kind = FeedKind::from_key(&sub.get("feed"))
        .ok_or_else(|| invalid("feed", &format!("未知的数据类型“{}”", sub.get("feed"))))?;
    let department = service::user_department(&state.db, &a.scope, a.user.id).await?;
    if department.is_some_and(|d| d != kind.department()) {
        return Err(ApiError::forbidden());
    }
    let period = match sub.get("period").trim() {
        "" => state.clock.today().format("%Y-%m").to_string(),
        p => exchange::feed::normalise_period(p).ok_or_else(|| invalid("period", "期间应写成 2022-03 或 2022"))?,
    };
    let map = sub.get("map");
    let pairs: Vec<String> = map.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect();
    let mapping =
        FeedMapping::resolve(&pairs, state.db.feed_mapping(kind).await?.as_deref()).map_err(|e| invalid("map", &e))?;
    let dry_run = matches!(sub.get("dry_run").as_str(), "true" | "1" | "on");
    let file = sub.files.into_iter().next().ok_or_else(|| invalid("file", "缺少文件（部分名 file）"))?;
    let typed = !pairs.is_empty();
    let done = crate::pages::alerts::import_upload_as(
        &state,
        &a,
        department,
        kind,
        file,
        mapping,
        typed,
        period,
        dry_run,
        Box::new(|_, _| {}),
    )
    .await
    .map_err(|e| match e {
        exchange::feed::FeedImportError::Read(e) => invalid("file", &e.to_string()),
        exchange::feed::FeedImportError::Import(e) => e.into(),
    })?;
    let mut view = FeedReportView {
        feed: kind.key().into(),
        file_name: done.file.file_name.clone(),
        columns: done.file.columns.clone(),
        errors: done
            .file
            .errors
            .iter()
            .map(|e| FeedRowError { line: e.line, field: e.field.clone(), message: e.message.clone() })
            .collect(),
        written: false,
        previous_batch: None,
        batch: None,
        rows: done.file.rows as i64,
        matched: 0,
        below_threshold: 0,
        unmatched: Vec::new(),
        alerts_raised: 0,
        alerts_updated: 0,
        alerts_unchanged: 0,
        exclusion_facts: 0,
    };
    let Some(r) = done.report else {
        return Ok(Json(view));
    };
    view.previous_batch = r.previous.as_ref().map(|b| b.id);
    view.rows = r.rows_read;
    view.matched = r.matched;
    view.below_threshold = r.quiet;
    view.unmatched = r
        .unmatched
        .iter()
        .map(|u| UnmatchedView {
            line: u.line,
            name: u.name.clone(),
            id: domain::national_id::mask_id_text(&u.id_text),
            reason: u.reason.clone(),
        })
        .collect();
    view.alerts_raised = r.alerts;
    view.exclusion_facts = r.facts;
    if let Some(o) = r.outcome {
        view.written = true;
        view.batch = Some(o.batch_id);
        (view.alerts_raised, view.alerts_updated, view.alerts_unchanged, view.exclusion_facts) =
            (o.raised, o.updated, o.unchanged, o.facts_added);
    }
    Ok(Json(view))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertView {
    pub id: i64,
    pub household_no: String,
    pub village: String,
    pub member_name: String,
    pub feed: String,
    pub department: String,
    pub indicator: String,
    /// 元, as text ("21,000.00").
    pub value: Option<String>,
    pub threshold: Option<String>,
    pub period: String,
    pub item: String,
    /// open | concluded
    pub status: String,
    pub raised_on: String,
    pub due_on: String,
    pub conclusion: Option<String>,
    pub verified_on: Option<String>,
    pub case_id: Option<i64>,
    pub version: i64,
}

fn alert_view(a: &DepartmentAlert) -> AlertView {
    AlertView {
        id: a.id,
        household_no: a.household_no.to_string(),
        village: a.village.to_string(),
        member_name: a.member_name.clone(),
        feed: a.kind.key().into(),
        department: a.kind.department().label().into(),
        indicator: a.indicator.clone(),
        value: a.value.map(|v| v.to_string()),
        threshold: a.threshold.map(|v| v.to_string()),
        period: a.period.clone(),
        item: a.item.clone(),
        status: if a.status == AlertStatus::Open { "open".into() } else { "concluded".into() },
        raised_on: a.raised_on.to_string(),
        due_on: a.due_on.to_string(),
        conclusion: a.conclusion.map(|c| c.label().into()),
        verified_on: a.verified_on.map(|d| d.to_string()),
        case_id: a.case_id,
        version: a.version,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertList {
    pub items: Vec<AlertView>,
    pub total: i64,
    /// Pass as `before` for the next page.
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams, Default)]
#[serde(default)]
pub struct AlertParams {
    /// open (default) | concluded | all | overdue
    status: String,
    feed: String,
    region: String,
    before: String,
}

/// Alerts of your scope, newest first (a 行业部门 account: its own department's).
#[utoipa::path(get, path = "/api/v1/alerts", params(AlertParams), responses((status = 200, body = AlertList)))]
async fn list_alerts(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Query(p): Query<AlertParams>,
) -> ApiResult<Json<AlertList>> {
    let department = service::user_department(&state.db, &a.scope, a.user.id).await?;
    let mut filter = AlertFilter {
        kind: match p.feed.as_str() {
            "" => None,
            f => Some(FeedKind::from_key(f).ok_or_else(|| invalid("feed", &format!("未知的数据类型“{f}”")))?),
        },
        department,
        region: match p.region.as_str() {
            "" => None,
            r => Some(RegionCode::parse(r).map_err(|_| invalid("region", "区划代码应为12位数字"))?),
        },
        before: p.before.parse().ok(),
        ..Default::default()
    };
    match p.status.as_str() {
        "" | "open" => filter.status = Some(AlertStatus::Open),
        "concluded" => filter.status = Some(AlertStatus::Concluded),
        "all" => {}
        "overdue" => filter.due_before = Some(state.clock.today()),
        other => return Err(invalid("status", &format!("状态应为 open、concluded、all 或 overdue，收到“{other}”"))),
    }
    let page = state.db.alerts(&a.scope, &filter, 100).await?;
    Ok(Json(AlertList { items: page.items.iter().map(alert_view).collect(), total: page.total, next: page.next }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerificationRequest {
    pub version: i64,
    /// 不属实 | 属实-已纳入 | 属实-不符合条件 | 已帮扶 | 转为线索
    pub conclusion: String,
    /// 入户核实 | 电话核实
    pub mode: String,
    /// YYYY-MM-DD
    pub on: String,
    #[serde(default)]
    pub note: String,
}

/// Record the village's verification of an open alert; 转为线索 opens an identification case.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/verification", request_body = VerificationRequest, params(("id" = i64, Path)),
    responses((status = 200, body = AlertView), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn verify_alert(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Path(id): Path<i64>,
    Json(body): Json<VerificationRequest>,
) -> ApiResult<Json<AlertView>> {
    let conclusion = AlertConclusion::parse_label(&body.conclusion)
        .ok_or_else(|| invalid("conclusion", &format!("核实结论应为：{}", AlertConclusion::labels_hint())))?;
    let mode = VerifyMode::parse_label(&body.mode)
        .ok_or_else(|| invalid("mode", &format!("核实方式应为：{}", VerifyMode::labels_hint())))?;
    let on = date("on", &body.on)?;
    let r = service::conclude_alert(
        &state.db,
        state.clock.now(),
        state.clock.today(),
        &a.scope,
        &a.actor(),
        id,
        body.version,
        conclusion,
        mode,
        on,
        &body.note,
    )
    .await;
    match r {
        Ok(done) => Ok(Json(alert_view(&done))),
        Err(e @ EditError::Stale { .. }) => Err(ApiError::new(StatusCode::CONFLICT, "conflict", &e.to_string())),
        Err(e) => Err(e.into()),
    }
}
