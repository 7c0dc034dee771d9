//! The identification procedure in the JSON API (DOMAIN D8): open a case from a clue, read
//! cases and their steps, record the next step. An attempt to skip, repeat or reorder a step,
//! or to end a notice early, answers 409 with the step that is due; a step of another role 403.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use domain::account::Permission;
use domain::codes::{MonitoringCategory, RiskType};
use domain::fields::FieldErrors;
use domain::household::HouseholdNo;
use domain::ports::{CaseFilter, CaseStore};
use domain::procedure::{
    Case, CaseId, CaseStatus, ClueSource, Decision, NextAction, OpenError, Procedure, ProcedureError, Step, StepInput,
};
use domain::region::RegionCode;
use domain::service::{self, CaseError, OpenCaseInput};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::AppState;
use crate::api::{ApiError, ApiErrorBody, ApiResult};
use crate::auth::ApiAuth;

#[derive(OpenApi)]
#[openapi(
    paths(
        list_cases,
        open_case,
        get_case,
        record_step,
        download_attachment,
        list_officers,
        assign_officer,
        list_measures,
        add_measure,
        put_measure,
        list_department_tasks,
        push_department_tasks,
        act_on_department_task
    ),
    components(schemas(
        CaseView,
        CaseList,
        StepView,
        NextView,
        DecisionView,
        AttachmentView,
        OpenCaseRequest,
        StepRequest,
        StepWithFiles,
        OfficerView,
        OfficerRequest,
        MeasureView,
        MeasureRequest,
        MeasureList,
        ProposalView,
        DepartmentTaskView,
        DepartmentTaskList,
        PushRequest,
        PushItem,
        TaskActionRequest
    ))
)]
pub struct CaseApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cases", get(list_cases).post(open_case))
        .route("/api/v1/cases/{id}", get(get_case))
        .route("/api/v1/cases/{id}/steps", post(record_step))
        .route("/api/v1/attachments/{id}", get(download_attachment))
        .route("/api/v1/households/{no}/officers", get(list_officers).post(assign_officer))
        .route("/api/v1/households/{no}/measures", get(list_measures).post(add_measure))
        .route("/api/v1/measures/{id}", axum::routing::put(put_measure))
        .route("/api/v1/department-tasks", get(list_department_tasks))
        .route("/api/v1/department-tasks/{id}/actions", post(act_on_department_task))
        .route("/api/v1/households/{no}/department-tasks", post(push_department_tasks))
}

impl From<CaseError> for ApiError {
    fn from(e: CaseError) -> Self {
        match e {
            CaseError::NotFound => ApiError::not_found(),
            CaseError::Forbidden => ApiError::forbidden(),
            CaseError::Step(p @ ProcedureError::WithdrawRole { .. }) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", &p.to_string())
            }
            CaseError::Step(p @ ProcedureError::WrongRole { .. }) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", &p.to_string())
            }
            CaseError::Step(p) if p.is_order_violation() => {
                ApiError::new(StatusCode::CONFLICT, "step_order", &p.to_string())
            }
            CaseError::Step(p) => {
                let mut f = FieldErrors::default();
                f.push(p.field(), "", p.to_string());
                ApiError::invalid(&f.0)
            }
            CaseError::Open(o @ OpenError::WrongRole { .. }) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", &o.to_string())
            }
            CaseError::Open(o @ (OpenError::AlreadyOpen { .. } | OpenError::AlreadyMonitored(_))) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", &o.to_string())
            }
            CaseError::Open(o) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &o.to_string()),
            CaseError::Invalid(f) => ApiError::invalid(&f.0),
            CaseError::Conflict => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "案件已被他人办理（版本已变）：请重新读取（GET）后再提交",
            ),
            CaseError::Store(s) => s.into(),
        }
    }
}

// ------------------------------------------------------------------ views

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentView {
    pub id: i64,
    /// `GET` it to download (audited).
    pub url: String,
    pub file_name: String,
    pub size: i64,
    pub sha256: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionView {
    /// 监测对象类别 (inclusion).
    pub category: Option<String>,
    /// 风险类型, in order (inclusion).
    pub risks: Vec<String>,
    /// 灾害类型, with 因自然灾害.
    pub disaster: Option<String>,
    /// 风险消除方式 (elimination).
    pub mode: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StepView {
    /// Step key, e.g. home_verification.
    pub step: String,
    pub step_label: String,
    /// passed | rejected | started (a notice still up).
    pub outcome: String,
    pub outcome_label: String,
    pub done_on: String,
    /// A notice's last day.
    pub ended_on: Option<String>,
    pub participants: Vec<String>,
    pub note: String,
    pub decision: Option<DecisionView>,
    pub actor_name: String,
    pub actor_role: String,
    pub recorded_at: String,
    pub attachments: Vec<AttachmentView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NextView {
    pub step: String,
    pub step_label: String,
    /// Roles that record it.
    pub roles: Vec<String>,
    /// For a notice that is up: the first day it may end.
    pub earliest_end: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    pub id: i64,
    /// identification | elimination.
    pub procedure: String,
    pub household_no: String,
    pub head_name: Option<String>,
    pub village: String,
    /// open | completed | rejected | withdrawn.
    pub status: String,
    pub status_label: String,
    pub source: Option<String>,
    pub finding_id: Option<i64>,
    pub opened_on: String,
    pub closed_on: Option<String>,
    /// Send it back with the next step; a newer version answers 409.
    pub version: i64,
    pub next: Option<NextView>,
    /// Days since the clue when over the time limit (a warning).
    pub over_limit_days: Option<i64>,
    pub steps: Vec<StepView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseList {
    pub items: Vec<CaseView>,
    pub next: Option<String>,
    pub total: i64,
}

fn snake<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// A case for the API; notes only for roles that may see sensitive data (D18).
fn case_view(c: &Case, today: chrono::NaiveDate, params: &[domain::params::PolicyParam], sensitive: bool) -> CaseView {
    let rules = service::case_rules(params, c);
    CaseView {
        id: c.id.0,
        procedure: c.procedure.key().into(),
        household_no: c.household_no.to_string(),
        head_name: c.head_name.clone(),
        village: c.village.to_string(),
        status: snake(&c.status),
        status_label: c.status.label().into(),
        source: c.source.map(|s| s.label().into()),
        finding_id: c.finding_id,
        opened_on: c.opened_on.to_string(),
        closed_on: c.closed_on.map(|d| d.to_string()),
        version: c.version,
        next: c.next(&rules).map(|n| NextView {
            step: n.step().key().into(),
            step_label: n.step().label().into(),
            roles: n.step().roles().iter().map(|r| r.key().to_string()).collect(),
            earliest_end: match n {
                NextAction::EndNotice { earliest_end, .. } => Some(earliest_end.to_string()),
                NextAction::Step { .. } => None,
            },
        }),
        over_limit_days: c.over_limit(today, &rules),
        steps: c
            .steps
            .iter()
            .map(|s| StepView {
                step: s.step.key().into(),
                step_label: s.step.label().into(),
                outcome: snake(&s.outcome),
                outcome_label: s.outcome.label().into(),
                done_on: s.done_on.to_string(),
                ended_on: s.ended_on.map(|d| d.to_string()),
                participants: s.participants.clone(),
                note: if sensitive || s.note.is_empty() {
                    s.note.clone()
                } else {
                    "（说明仅对可查看敏感信息的角色显示）".into()
                },
                decision: s.decision.as_ref().map(|d| match d {
                    Decision::Inclusion { category, risks, disaster } => DecisionView {
                        category: Some(category.label().into()),
                        risks: risks.iter().map(|r| r.label().to_string()).collect(),
                        disaster: disaster.map(|d| d.label().to_string()),
                        mode: None,
                    },
                    Decision::Elimination { mode } => {
                        DecisionView { category: None, risks: vec![], disaster: None, mode: Some(mode.label().into()) }
                    }
                }),
                actor_name: s.actor_name.clone(),
                actor_role: s.actor_role.key().into(),
                recorded_at: s.recorded_at.to_rfc3339(),
                attachments: s
                    .attachments
                    .iter()
                    .filter(|_| sensitive)
                    .map(|a| AttachmentView {
                        id: a.id,
                        url: format!("/api/v1/attachments/{}", a.id),
                        file_name: a.file_name.clone(),
                        size: a.size,
                        sha256: a.sha256.clone(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

// ------------------------------------------------------------------ endpoints

/// What a case view needs besides the case: the parameters (notice days, time limit per year and
/// region) and whether the caller sees sensitive notes.
async fn view_context(
    state: &AppState,
    a: &crate::auth::Authed,
) -> ApiResult<(Vec<domain::params::PolicyParam>, bool)> {
    let params = domain::ports::ParamStore::params(&state.db, None).await?;
    Ok((params, a.scope.allows(Permission::ViewSensitive)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CaseListParams {
    /// identification (default) | elimination
    pub procedure: Option<String>,
    /// open (default) | completed | rejected | withdrawn | all
    pub status: Option<String>,
    /// Open cases waiting for this step (key, e.g. town_review).
    pub step: Option<String>,
    /// A region code: its subtree.
    pub region: Option<String>,
    /// The `next` of the previous page.
    pub before: Option<i64>,
    pub limit: Option<u32>,
}

/// Identification cases of your scope, newest first.
#[utoipa::path(get, path = "/api/v1/cases", params(CaseListParams), responses((status = 200, body = CaseList), (status = 401, body = ApiErrorBody)))]
async fn list_cases(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Query(p): Query<CaseListParams>,
) -> ApiResult<Json<CaseList>> {
    if !a.scope.allows(Permission::ViewHouseholds) {
        return Err(ApiError::forbidden());
    }
    let status = match p.status.as_deref().unwrap_or("open") {
        "all" => None,
        s => Some(
            CaseStatus::ALL
                .iter()
                .copied()
                .find(|x| snake(x) == s)
                .ok_or_else(|| invalid("status", "状态应为 open、completed、rejected、withdrawn 或 all"))?,
        ),
    };
    let next_step = match p.step.as_deref() {
        None | Some("") => None,
        Some(s) => Some(Step::from_key(s).ok_or_else(|| invalid("step", &format!("未知的步骤“{s}”")))?),
    };
    let region = opt_region(p.region.as_deref())?;
    let procedure = procedure_of(p.procedure.as_deref())?;
    let filter =
        CaseFilter { procedure: Some(procedure), status, next_step, region, household: None, before: p.before };
    let page = state.db.cases(&a.scope, &filter, p.limit.unwrap_or(50).clamp(1, 200)).await?;
    let today = state.clock.today();
    let (params, sensitive) = view_context(&state, &a).await?;
    Ok(Json(CaseList {
        items: page.items.iter().map(|c| case_view(c, today, &params, sensitive)).collect(),
        next: page.next,
        total: page.total,
    }))
}

/// A 422 naming one field.
pub(crate) fn invalid(field: &'static str, message: &str) -> ApiError {
    let mut f = FieldErrors::default();
    f.push(field, "", message);
    ApiError::invalid(&f.0)
}

/// An optional region filter.
pub(crate) fn opt_region(text: Option<&str>) -> ApiResult<Option<RegionCode>> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(r) => RegionCode::parse(r).map(Some).map_err(|e| invalid("region", &e.to_string())),
    }
}

/// identification (the default) or elimination.
fn procedure_of(text: Option<&str>) -> ApiResult<Procedure> {
    match text.map(str::trim) {
        None | Some("") => Ok(Procedure::Identification),
        Some(k) => Procedure::from_key(k).ok_or_else(|| invalid("procedure", "程序应为 identification 或 elimination")),
    }
}

pub(crate) fn date(field: &'static str, text: &str) -> ApiResult<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| invalid(field, &format!("日期应为 YYYY-MM-DD，收到“{text}”")))
}

/// A clue that opens an identification case.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OpenCaseRequest {
    /// identification (default: a clue) | elimination (a proposal; D9's conditions are checked).
    #[serde(default)]
    pub procedure: String,
    pub household_no: String,
    /// 农户自主申报 | 干部排查 | 部门筛查预警 | 集中排查发现 (not needed with finding_id).
    pub source: Option<String>,
    /// An open 应纳未纳 finding of the household; it becomes 已转为线索.
    pub finding_id: Option<i64>,
    /// The day the clue was found (YYYY-MM-DD).
    pub on: String,
    #[serde(default)]
    pub note: String,
}

/// Register a clue: opens an identification case (线索登记).
#[utoipa::path(post, path = "/api/v1/cases", request_body = OpenCaseRequest,
    responses((status = 201, body = CaseView), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "An open case exists, or the household is already monitored"), (status = 422, body = ApiErrorBody)))]
async fn open_case(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Json(body): Json<OpenCaseRequest>,
) -> ApiResult<(StatusCode, Json<CaseView>)> {
    let household_no = HouseholdNo::parse(&body.household_no).map_err(|_| ApiError::not_found())?;
    let source = match body.source.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            ClueSource::parse_label(s)
                .ok_or_else(|| invalid("source", &format!("线索来源应为：{}", ClueSource::labels_hint())))?,
        ),
    };
    let procedure = procedure_of(Some(body.procedure.as_str()))?;
    let input = OpenCaseInput {
        procedure,
        household_no,
        source,
        finding_id: body.finding_id,
        on: date("on", &body.on)?,
        note: body.note,
    };
    let c = service::open_case(&state.db, state.clock.now(), state.clock.today(), &a.scope, &a.actor(), &input, &[])
        .await?;
    let (params, sensitive) = view_context(&state, &a).await?;
    Ok((StatusCode::CREATED, Json(case_view(&c, state.clock.today(), &params, sensitive))))
}

/// One case with its steps.
#[utoipa::path(get, path = "/api/v1/cases/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = CaseView), (status = 404, body = ApiErrorBody)))]
async fn get_case(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Path(id): Path<i64>,
) -> ApiResult<Json<CaseView>> {
    let c = state.db.case(&a.scope, CaseId(id)).await?.ok_or_else(ApiError::not_found)?;
    let (params, sensitive) = view_context(&state, &a).await?;
    Ok(Json(case_view(&c, state.clock.today(), &params, sensitive)))
}

/// The next step of a case.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StepRequest {
    /// The case's `version` as read.
    pub version: i64,
    /// The step's key (e.g. home_verification) or label (入户核实). A notice is recorded twice:
    /// once when it is posted, once when it ends.
    pub step: String,
    /// passed (default) | rejected (only at 信息比对, 民主评议, 乡镇审核, 县级审定; needs a note).
    #[serde(default)]
    pub outcome: String,
    /// The day it was done (YYYY-MM-DD); for the end of a notice, its last day.
    pub on: String,
    /// 入户核实: at least two people.
    #[serde(default)]
    pub participants: Vec<String>,
    #[serde(default)]
    pub note: String,
    /// 县级审定: 脱贫不稳定户 | 边缘易致贫户 | 突发严重困难户.
    pub category: Option<String>,
    /// 县级审定: 1–5 risk types, in order (因病, 因学, …).
    #[serde(default)]
    pub risks: Vec<String>,
    /// 县级审定 with 因自然灾害: the 灾害类型.
    pub disaster: Option<String>,
    /// 县级审定 of an elimination: 帮扶消除 | 自然消除.
    pub mode: Option<String>,
}

/// A step with its evidence files (minutes, the signed consent form, the notice photo): the
/// step as JSON in the part `step`, each file in a part `files` with its file name.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the multipart body for the OpenAPI document
pub struct StepWithFiles {
    /// A [`StepRequest`] as JSON text.
    step: String,
    #[schema(value_type = Vec<String>, format = Binary)]
    files: Vec<Vec<u8>>,
}

/// Record the next step, as JSON or — with evidence files — as `multipart/form-data`.
/// Skipping, repeating or reordering a step, ending a notice before its days, or acting on a
/// closed case answers 409; a step of another role 403; a file too large or of a type not
/// accepted 422 (nothing is recorded).
#[utoipa::path(post, path = "/api/v1/cases/{id}/steps",
    request_body(content(
        (StepRequest = "application/json"),
        (StepWithFiles = "multipart/form-data")
    )),
    params(("id" = i64, Path)),
    responses((status = 200, body = CaseView), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "step_order: not the step that is due; conflict: the case changed"),
        (status = 422, body = ApiErrorBody)))]
async fn record_step(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Path(id): Path<i64>,
    req: axum::extract::Request,
) -> ApiResult<Json<CaseView>> {
    use axum::extract::FromRequest;
    let multipart = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (body, files) = if multipart {
        let mp = axum::extract::Multipart::from_request(req, &state)
            .await
            .map_err(|e| invalid("step", &format!("无法读取 multipart 请求：{e}")))?;
        let sub = crate::pages::cases::read_multipart(mp).await;
        if let Some(e) = sub.error {
            return Err(invalid("files", &e));
        }
        let body: StepRequest = serde_json::from_str(&sub.get("step"))
            .map_err(|e| invalid("step", &format!("部分“step”应为步骤的 JSON：{e}")))?;
        (body, sub.files)
    } else {
        let Json(body) = Json::<StepRequest>::from_request(req, &state)
            .await
            .map_err(|e| invalid("step", &format!("请求体应为步骤的 JSON：{e}")))?;
        (body, Vec::new())
    };
    let step = Step::from_key(&body.step).ok_or_else(|| invalid("step", &format!("未知的步骤“{}”", body.step)))?;
    let reject = match body.outcome.as_str() {
        "" | "passed" | "通过" => false,
        "rejected" | "不通过" => true,
        other => return Err(invalid("outcome", &format!("结论应为 passed 或 rejected，收到“{other}”"))),
    };
    let decision =
        match body.category.as_deref() {
            None | Some("") => match body.mode.as_deref() {
                None | Some("") => None,
                Some(m) => Some(Decision::Elimination {
                    mode: domain::codes::EliminationMode::parse_label(m)
                        .ok_or_else(|| invalid("mode", "风险消除方式应为 帮扶消除 或 自然消除"))?,
                }),
            },
            Some(c) => {
                let category = MonitoringCategory::parse_label(c)
                    .ok_or_else(|| invalid("category", &format!("类别应为：{}", MonitoringCategory::labels_hint())))?;
                let mut risks = Vec::new();
                for r in &body.risks {
                    risks.push(RiskType::parse_label(r).ok_or_else(|| {
                        invalid("risks", &format!("未知的风险类型“{r}”：{}", RiskType::labels_hint()))
                    })?);
                }
                let disaster = match body.disaster.as_deref() {
                    None | Some("") => None,
                    Some(d) => Some(domain::codes::DisasterKind::parse_label(d).ok_or_else(|| {
                        invalid("disaster", &format!("灾害类型应为：{}", domain::codes::DisasterKind::labels_hint()))
                    })?),
                };
                Some(Decision::Inclusion { category, risks, disaster })
            }
        };
    let input = StepInput {
        step,
        reject,
        on: date("on", &body.on)?,
        participants: body.participants,
        note: body.note,
        decision,
    };
    let c = service::record_step(
        &state.db,
        state.clock.now(),
        state.clock.today(),
        &a.scope,
        &a.actor(),
        CaseId(id),
        body.version,
        &input,
        &files,
    )
    .await?;
    let (params, sensitive) = view_context(&state, &a).await?;
    Ok(Json(case_view(&c, state.clock.today(), &params, sensitive)))
}

/// A file attached to a case's step; only for roles that see sensitive data; every download is
/// audited. Always served as `application/octet-stream`.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
async fn download_attachment(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Path(id): Path<i64>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let (meta, body) = service::download_attachment(&state.db, state.clock.now(), &a.scope, &a.actor(), id).await?;
    let disposition = format!("attachment; filename*=UTF-8''{}", urlencoding::encode(&meta.file_name));
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
            (axum::http::header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response())
}

// ------------------------------------------------------------------ assistance officers

#[derive(Debug, Serialize, ToSchema)]
pub struct OfficerView {
    pub id: i64,
    /// The officer's account, when they have one.
    pub user_id: Option<i64>,
    pub name: String,
    pub unit: String,
    /// Masked for roles without the sensitive view.
    pub phone: Option<String>,
    pub started_on: String,
    /// None for the active officer.
    pub ended_on: Option<String>,
    pub end_reason: String,
    pub assigned_by: String,
}

fn officer_view(o: &domain::assistance::OfficerAssignment, sensitive: bool) -> OfficerView {
    OfficerView {
        id: o.id,
        user_id: o.user_id.map(|u| u.0),
        name: o.name.to_string(),
        unit: o.unit.clone(),
        phone: o.phone.as_ref().map(|p| if sensitive { p.to_string() } else { p.masked() }),
        started_on: o.started_on.to_string(),
        ended_on: o.ended_on.map(|d| d.to_string()),
        end_reason: o.end_reason.clone(),
        assigned_by: o.assigned_by.clone(),
    }
}

/// A household's assistance officers, the active one first (no end date).
#[utoipa::path(get, path = "/api/v1/households/{household_no}/officers", params(("household_no" = String, Path)),
    responses((status = 200, body = Vec<OfficerView>), (status = 404, body = ApiErrorBody)))]
async fn list_officers(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Path(no): Path<String>,
) -> ApiResult<Json<Vec<OfficerView>>> {
    let no = HouseholdNo::parse(&no).map_err(|_| ApiError::not_found())?;
    let d =
        domain::ports::HouseholdStore::household(&state.db, &a.scope, &no).await?.ok_or_else(ApiError::not_found)?;
    let list = service::officer_history(&state.db, state.clock.now(), &a.scope, &a.actor(), &d.record).await?;
    let sensitive = a.scope.allows(Permission::ViewSensitive);
    Ok(Json(list.iter().map(|o| officer_view(o, sensitive)).collect()))
}

/// An officer to assign (an account, or a name), replacing the active one with a reason.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OfficerRequest {
    /// The household's `version` as read.
    pub version: i64,
    /// A 帮扶责任人 account's user id.
    pub user_id: Option<i64>,
    #[serde(default)]
    pub name: String,
    /// 帮扶（选派）单位名称.
    pub unit: String,
    #[serde(default)]
    pub phone: String,
    /// 帮扶开始时间 (YYYY-MM-DD).
    pub on: String,
    /// Required when replacing.
    #[serde(default)]
    pub reason: String,
}

/// Assign or replace the assistance officer of a monitored household (one active at a time).
#[utoipa::path(post, path = "/api/v1/households/{household_no}/officers", request_body = OfficerRequest, params(("household_no" = String, Path)),
    responses((status = 201, body = OfficerView), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn assign_officer(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Path(no): Path<String>,
    Json(body): Json<OfficerRequest>,
) -> ApiResult<(StatusCode, Json<OfficerView>)> {
    let no = HouseholdNo::parse(&no).map_err(|_| ApiError::not_found())?;
    let input = domain::assistance::OfficerInput {
        user: body.user_id.map(|u| u.to_string()).unwrap_or_default(),
        name: body.name,
        unit: body.unit,
        phone: body.phone,
        on: body.on,
        reason: body.reason,
    };
    let o = service::assign_officer(
        &state.db,
        state.clock.now(),
        state.clock.today(),
        &a.scope,
        &a.actor(),
        &no,
        body.version,
        &input,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(officer_view(&o, a.scope.allows(Permission::ViewSensitive)))))
}

// ------------------------------------------------------------------ measures

#[derive(Debug, Serialize, ToSchema)]
pub struct MeasureView {
    pub id: i64,
    pub version: i64,
    pub category: String,
    pub developmental: bool,
    pub department: Option<String>,
    pub content: String,
    pub planned_on: String,
    pub completed_on: Option<String>,
    pub status: String,
    /// In 分.
    pub funds_fen: Option<i64>,
    pub note: String,
    pub created_by: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProposalView {
    pub category: String,
    pub departments: Vec<String>,
    pub because: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeasureList {
    pub items: Vec<MeasureView>,
    /// What fangpin proposes from the risks and problems, not yet taken (缺什么补什么).
    pub proposals: Vec<ProposalView>,
    /// Set when an able-bodied household has no developmental measure.
    pub developmental_warning: Option<String>,
}

fn measure_view(m: &domain::measure::Measure) -> MeasureView {
    MeasureView {
        id: m.id,
        version: m.version,
        category: m.category.label().into(),
        developmental: m.category.developmental(),
        department: m.department.map(|d| d.label().to_string()),
        content: m.content.clone(),
        planned_on: m.planned_on.to_string(),
        completed_on: m.completed_on.map(|d| d.to_string()),
        status: m.status.label().into(),
        funds_fen: m.funds.map(|f| f.0),
        note: m.note.clone(),
        created_by: m.created_by.clone(),
    }
}

/// A household's measures, with proposals and the developmental-measure warning.
#[utoipa::path(get, path = "/api/v1/households/{household_no}/measures", params(("household_no" = String, Path)),
    responses((status = 200, body = MeasureList), (status = 404, body = ApiErrorBody)))]
async fn list_measures(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Path(no): Path<String>,
) -> ApiResult<Json<MeasureList>> {
    let no = HouseholdNo::parse(&no).map_err(|_| ApiError::not_found())?;
    let d =
        domain::ports::HouseholdStore::household(&state.db, &a.scope, &no).await?.ok_or_else(ApiError::not_found)?;
    let list = domain::ports::MeasureStore::measures(&state.db, &a.scope, d.record.id).await?;
    let params = domain::ports::ParamStore::params(&state.db, None).await?;
    let advice = service::measure_advice(&d, &list, &params, &state.calendar(), state.clock.today());
    Ok(Json(MeasureList {
        items: list.iter().map(measure_view).collect(),
        proposals: advice
            .proposals
            .iter()
            .map(|p| ProposalView {
                category: p.category.label().into(),
                departments: p.departments.iter().map(|d| d.label().to_string()).collect(),
                because: p.because.clone(),
            })
            .collect(),
        developmental_warning: advice.developmental_warning,
    }))
}

/// A measure as sent (labels as in the national system; dates YYYY-MM-DD; funds in 元).
#[derive(Debug, Deserialize, ToSchema)]
pub struct MeasureRequest {
    /// For PUT: the version read.
    #[serde(default)]
    pub version: i64,
    /// 产业帮扶 … 基础设施建设 (§7.2).
    pub category: String,
    #[serde(default)]
    pub department: String,
    pub content: String,
    pub planned_on: String,
    /// 计划 (default) | 实施中 | 已实施 | 已取消.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub completed_on: String,
    #[serde(default)]
    pub funds: String,
    #[serde(default)]
    pub note: String,
}

impl MeasureRequest {
    fn input(self) -> domain::measure::MeasureInput {
        domain::measure::MeasureInput {
            category: self.category,
            department: self.department,
            content: self.content,
            planned_on: self.planned_on,
            status: self.status,
            completed_on: self.completed_on,
            funds: self.funds,
            note: self.note,
        }
    }
}

/// Record a measure for a monitored household.
#[utoipa::path(post, path = "/api/v1/households/{household_no}/measures", request_body = MeasureRequest, params(("household_no" = String, Path)),
    responses((status = 201, body = MeasureView), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn add_measure(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Path(no): Path<String>,
    Json(body): Json<MeasureRequest>,
) -> ApiResult<(StatusCode, Json<MeasureView>)> {
    let no = HouseholdNo::parse(&no).map_err(|_| ApiError::not_found())?;
    let m = service::add_measure(
        &state.db,
        state.clock.now(),
        state.clock.today(),
        &a.scope,
        &a.actor(),
        &no,
        &body.input(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(measure_view(&m))))
}

/// Update a measure (status, dates, content) at the version read.
#[utoipa::path(put, path = "/api/v1/measures/{id}", request_body = MeasureRequest, params(("id" = i64, Path)),
    responses((status = 200, body = MeasureView), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn put_measure(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Path(id): Path<i64>,
    Json(body): Json<MeasureRequest>,
) -> ApiResult<Json<MeasureView>> {
    let version = body.version;
    let m = service::update_measure(
        &state.db,
        state.clock.now(),
        state.clock.today(),
        &a.scope,
        &a.actor(),
        id,
        version,
        &body.input(),
    )
    .await?;
    Ok(Json(measure_view(&m)))
}

// ------------------------------------------------------------------ department task lists

#[derive(Debug, Serialize, ToSchema)]
pub struct DepartmentTaskView {
    pub id: i64,
    pub version: i64,
    pub household_no: String,
    pub head_name: Option<String>,
    pub village: String,
    pub department: String,
    /// The measure expected.
    pub category: String,
    pub reason: String,
    /// 待接收 | 已接收 | 已办结 | 已退回.
    pub state: String,
    pub due_on: String,
    pub overdue: bool,
    pub answer: String,
    pub completed_on: Option<String>,
    /// The measure recorded on completion.
    pub measure_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DepartmentTaskList {
    pub items: Vec<DepartmentTaskView>,
    pub next: Option<String>,
    pub total: i64,
}

fn task_view(t: &domain::department_task::DepartmentTask, today: chrono::NaiveDate) -> DepartmentTaskView {
    DepartmentTaskView {
        id: t.id,
        version: t.version,
        household_no: t.household_no.to_string(),
        head_name: t.head_name.clone(),
        village: t.village.to_string(),
        department: t.department.label().into(),
        category: t.category.label().into(),
        reason: t.reason.clone(),
        state: t.state.label().into(),
        due_on: t.due_on.to_string(),
        overdue: t.overdue(today),
        answer: t.answer.clone(),
        completed_on: t.completed_on.map(|d| d.to_string()),
        measure_id: t.measure_id,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct TaskListParams {
    /// A department (key or label); a department's staff always get their own.
    pub department: Option<String>,
    /// open (default) | all | overdue
    pub status: Option<String>,
    pub region: Option<String>,
    /// The `next` of the previous page.
    pub after: Option<i64>,
    pub limit: Option<u32>,
}

/// Department tasks of your scope (a department's staff: their department's only).
#[utoipa::path(get, path = "/api/v1/department-tasks", params(TaskListParams),
    responses((status = 200, body = DepartmentTaskList), (status = 403, body = ApiErrorBody)))]
async fn list_department_tasks(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Query(p): Query<TaskListParams>,
) -> ApiResult<Json<DepartmentTaskList>> {
    let today = state.clock.today();
    let status = p.status.as_deref().unwrap_or("open");
    let filter = domain::ports::DepartmentTaskFilter {
        department: p.department.as_deref().and_then(domain::measure::Department::from_key),
        open_only: status == "open",
        due_before: (status == "overdue").then_some(today),
        region: opt_region(p.region.as_deref())?,
        after: p.after,
        ..Default::default()
    };
    let filter = service::department_task_filter(&state.db, &a.scope, a.user.id, filter).await?;
    let page = domain::ports::DepartmentTaskStore::department_tasks(
        &state.db,
        &a.scope,
        &filter,
        p.limit.unwrap_or(50).clamp(1, 500),
    )
    .await?;
    Ok(Json(DepartmentTaskList {
        items: page.items.iter().map(|t| task_view(t, today)).collect(),
        next: page.next,
        total: page.total,
    }))
}

/// Tasks to push: pairs of department and measure category.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PushRequest {
    /// e.g. [{"department": "医保", "category": "健康帮扶"}]
    pub tasks: Vec<PushItem>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PushItem {
    pub department: String,
    pub category: String,
}

/// Push department tasks for a monitored household (one open per department and measure).
#[utoipa::path(post, path = "/api/v1/households/{household_no}/department-tasks", request_body = PushRequest, params(("household_no" = String, Path)),
    responses((status = 201, body = Vec<DepartmentTaskView>), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn push_department_tasks(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Path(no): Path<String>,
    Json(body): Json<PushRequest>,
) -> ApiResult<(StatusCode, Json<Vec<DepartmentTaskView>>)> {
    let no = HouseholdNo::parse(&no).map_err(|_| ApiError::not_found())?;
    let mut chosen = Vec::new();
    for t in &body.tasks {
        let d = domain::measure::Department::from_key(&t.department)
            .ok_or_else(|| invalid("department", &format!("未知的部门“{}”", t.department)))?;
        let c = domain::measure::MeasureCategory::parse_label(&t.category)
            .ok_or_else(|| invalid("category", &format!("未知的措施类别“{}”", t.category)))?;
        chosen.push((d, c));
    }
    let today = state.clock.today();
    let tasks = service::push_department_tasks(
        &state.db,
        &state.calendar(),
        state.clock.now(),
        today,
        &a.scope,
        &a.actor(),
        &no,
        &chosen,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(tasks.iter().map(|t| task_view(t, today)).collect())))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TaskActionRequest {
    pub version: i64,
    /// accept | answer | complete | send_back
    pub action: String,
    /// The reply, what was done (complete), or the reason (send_back).
    #[serde(default)]
    pub text: String,
    /// For complete: the day it was done (YYYY-MM-DD; default today).
    pub on: Option<String>,
}

/// A department's action on its task; completing records the implemented measure on the household.
#[utoipa::path(post, path = "/api/v1/department-tasks/{id}/actions", request_body = TaskActionRequest, params(("id" = i64, Path)),
    responses((status = 200, body = DepartmentTaskView), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn act_on_department_task(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Path(id): Path<i64>,
    Json(body): Json<TaskActionRequest>,
) -> ApiResult<Json<DepartmentTaskView>> {
    use domain::department_task::TaskAction;
    let today = state.clock.today();
    let on = match body.on.as_deref() {
        None | Some("") => today,
        Some(d) => date("on", d)?,
    };
    let action = match body.action.as_str() {
        "accept" => TaskAction::Accept,
        "answer" => TaskAction::Answer { text: body.text },
        "complete" => TaskAction::Complete { text: body.text, on },
        "send_back" => TaskAction::SendBack { reason: body.text },
        other => {
            return Err(invalid("action", &format!("操作应为 accept、answer、complete 或 send_back，收到“{other}”")));
        }
    };
    let t = service::act_on_department_task(
        &state.db,
        state.clock.now(),
        today,
        &a.scope,
        &a.actor(),
        a.user.id,
        id,
        body.version,
        &action,
    )
    .await?;
    Ok(Json(task_view(&t, today)))
}
