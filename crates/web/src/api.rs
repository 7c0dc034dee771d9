//! The JSON API under `/api/v1` (issue 2 "Pages and API"). The same domain calls as the pages;
//! bearer tokens from `POST /api/v1/session` (or integration tokens from
//! `fangpin admin create-token`). OpenAPI at `/api/v1/openapi.json`, Swagger UI at `/api/docs`.

use axum::Json;
use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use domain::account::Permission;
use domain::fields::{FieldError, HouseholdInput, MemberInput};
use domain::household::HouseholdNo;
use domain::member::MemberId;
use domain::ports::{Cursor, HouseholdStore, SessionKind, StoreError};
use domain::service::{self, EditError};
use exchange::FileFormat;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

use crate::AppState;
use crate::auth::{self, ApiAuth, LoginError};
use crate::pages::households::ListQuery;
use crate::views::{self, HouseholdSummaryView, HouseholdView, MemberView};

#[derive(OpenApi)]
#[openapi(
    info(title = "fangpin API", description = "防止返贫动态监测和帮扶 — 农户登记 API。所有农户数据均限定在调用者的管辖区划内；区划外的农户与不存在的农户一样返回 404。"),
    paths(create_session, delete_session, list_households, get_household, put_household, list_members, add_member, put_member, delete_member, import, export),
    components(schemas(LoginRequest, SessionResponse, UserInfo, ApiErrorBody, ApiErrorDetail, HouseholdPage, HouseholdSummaryView, HouseholdView, MemberView, views::IncomeView, HouseholdUpdate, HouseholdInput, MemberWrite, MemberInput, FieldErrorView)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

/// The whole API document: the registry and the procedures.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::api_cases::CaseApiDoc::openapi());
    doc.merge(crate::api_alerts::AlertApiDoc::openapi());
    doc.merge(crate::api_oversight::OversightApiDoc::openapi());
    doc.merge(crate::api_questions::QuestionApiDoc::openapi());
    doc
}

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security =
            Some(vec![utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new())]);
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/session", post(create_session).delete(delete_session))
        .route("/api/v1/households", get(list_households))
        .route("/api/v1/households/{no}", get(get_household).put(put_household))
        .route("/api/v1/households/{no}/members", get(list_members).post(add_member))
        .route("/api/v1/households/{no}/members/{id}", put(put_member).delete(delete_member))
        .route("/api/v1/import", post(import))
        .route("/api/v1/export", get(export))
        .merge(crate::api_cases::routes())
        .merge(crate::api_alerts::routes())
        .merge(crate::api_oversight::routes())
        .merge(crate::api_questions::routes())
        .merge(SwaggerUi::new("/api/docs").url("/api/v1/openapi.json", openapi()))
        .fallback(api_not_found)
        // answers carry full ID numbers for some roles: never kept by a cache
        .layer(tower_http::set_header::SetResponseHeaderLayer::if_not_present(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        ))
}

async fn api_not_found() -> ApiError {
    ApiError::not_found()
}

// ------------------------------------------------------------------ errors

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldErrorView {
    pub field: String,
    pub label: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiErrorDetail {
    /// Stable code: unauthorized, forbidden, not_found, invalid, conflict, locked, too_many_requests, csrf, internal.
    pub code: String,
    /// In Chinese, for people.
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldErrorView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiErrorBody {
    pub error: ApiErrorDetail,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ApiErrorBody,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: &str) -> Self {
        ApiError {
            status,
            body: ApiErrorBody {
                error: ApiErrorDetail { code: code.into(), message: message.into(), fields: Vec::new() },
            },
        }
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "未登录或登录已过期：请先调用 POST /api/v1/session 取得令牌",
        )
    }
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "记录不存在，或不在您的管辖范围内")
    }
    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "您的角色无权进行此操作")
    }
    pub(crate) fn invalid(fields: &[FieldError]) -> Self {
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "提交的数据有误，详见 fields");
        e.body.error.fields = fields
            .iter()
            .map(|f| FieldErrorView { field: f.field.into(), label: f.label.into(), message: f.message.clone() })
            .collect();
        e
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Conflict => ApiError::new(StatusCode::CONFLICT, "conflict", &e.to_string()),
            StoreError::Duplicate(m) => ApiError::new(StatusCode::CONFLICT, "conflict", &m),
            StoreError::Database(d) => {
                tracing::error!(detail = %d, "database error in API");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "系统内部出错，请稍后重试")
            }
        }
    }
}

impl From<EditError> for ApiError {
    fn from(e: EditError) -> Self {
        match e {
            EditError::NotFound => ApiError::not_found(),
            EditError::Forbidden => ApiError::forbidden(),
            EditError::Invalid(f) => ApiError::invalid(&f.0),
            EditError::Conflict { current } => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                &format!("该户已被他人修改，当前版本为 {current}：请重新读取（GET）后再提交"),
            ),
            e @ EditError::Stale { .. } => ApiError::new(StatusCode::CONFLICT, "conflict", &e.to_string()),
            EditError::Store(s) => s.into(),
        }
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

fn parse_no(no: &str) -> ApiResult<HouseholdNo> {
    HouseholdNo::parse(no).map_err(|_| ApiError::not_found())
}

// ------------------------------------------------------------------ session

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserInfo {
    pub username: String,
    pub display_name: String,
    /// Role key, e.g. village_cadre.
    pub role: String,
    pub role_label: String,
    pub region: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub token_type: String,
    /// The token ends after this many seconds without use.
    pub idle_timeout_seconds: u64,
    pub user: UserInfo,
}

/// Log in and get a bearer token.
#[utoipa::path(post, path = "/api/v1/session", request_body = LoginRequest, security(()),
    responses((status = 200, body = SessionResponse), (status = 401, body = ApiErrorBody), (status = 423, description = "账户已锁定", body = ApiErrorBody), (status = 429, body = ApiErrorBody)))]
async fn create_session(
    State(state): State<AppState>,
    req: axum::extract::Request,
) -> ApiResult<Json<SessionResponse>> {
    let ip = auth::client_ip(req.extensions());
    let Json(body) = <Json<LoginRequest> as axum::extract::FromRequest<AppState>>::from_request(req, &state)
        .await
        .map_err(|_| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid", "请求体应为 JSON：{\"username\": …, \"password\": …}")
        })?;
    let LoginRequest { username, password } = body;
    match auth::login(&state, ip, &username, &password, SessionKind::Api).await {
        Ok((token, a)) => Ok(Json(SessionResponse {
            token,
            token_type: "Bearer".into(),
            idle_timeout_seconds: state.config.idle_timeout.as_secs(),
            user: UserInfo {
                username: a.user.username.to_string(),
                display_name: a.user.display_name.clone(),
                role: a.user.role.key().into(),
                role_label: a.user.role.label().into(),
                region: a.user.region.to_string(),
            },
        })),
        Err(e) => {
            let (status, code) = match &e {
                LoginError::Locked { .. } => (StatusCode::LOCKED, "locked"),
                LoginError::Throttled => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
                LoginError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
                LoginError::Disabled => (StatusCode::FORBIDDEN, "forbidden"),
                LoginError::Invalid { .. } => (StatusCode::UNAUTHORIZED, "unauthorized"),
            };
            Err(ApiError::new(status, code, &e.message()))
        }
    }
}

/// Log out (end this token).
#[utoipa::path(delete, path = "/api/v1/session", responses((status = 204), (status = 401, body = ApiErrorBody)))]
async fn delete_session(State(state): State<AppState>, ApiAuth(a): ApiAuth) -> ApiResult<StatusCode> {
    auth::logout(&state, &a).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------------ households

#[derive(Debug, Deserialize, IntoParams, Default)]
#[serde(default)]
pub struct ListParams {
    /// A region code (12 digits): its subtree, within your scope.
    region: String,
    /// Name (Chinese or pinyin), ID number or 户编号.
    q: String,
    /// 户类型: 脱贫户 or 一般农户.
    kind: String,
    /// 未纳入监测, 监测中 or 风险已消除.
    status: String,
    /// 组 number.
    group: String,
    /// 1–500, default 50.
    limit: Option<u32>,
    /// The `next` value of the previous page.
    after: String,
}

impl ListParams {
    fn query(&self) -> ListQuery {
        ListQuery {
            village: self.region.clone(),
            group: self.group.clone(),
            kind: self.kind.clone(),
            status: self.status.clone(),
            q: self.q.clone(),
            after: self.after.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HouseholdPage {
    pub items: Vec<HouseholdSummaryView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
    /// Households matching the filters (all pages).
    pub total: i64,
}

/// List and search households of your scope (keyset pages).
#[utoipa::path(get, path = "/api/v1/households", params(ListParams), responses((status = 200, body = HouseholdPage), (status = 401, body = ApiErrorBody)))]
async fn list_households(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<HouseholdPage>> {
    if !a.scope.allows(Permission::ViewHouseholds) {
        return Err(ApiError::forbidden());
    }
    let q = p.query();
    let limit = p.limit.unwrap_or(50).clamp(1, 500);
    let page = state.db.list_households(&a.scope, &q.filter(), Cursor::decode(&p.after).as_ref(), limit).await?;
    let regions = state.regions.get().await;
    Ok(Json(HouseholdPage {
        items: page.items.iter().map(|s| views::summary_view(s, &regions)).collect(),
        next: page.next,
        total: page.total,
    }))
}

async fn household_view(state: &AppState, a: &auth::Authed, no: &HouseholdNo) -> ApiResult<HouseholdView> {
    let d = service::view_household(&state.db, state.clock.now(), &a.scope, &a.actor(), no).await?;
    let regions = state.regions.get().await;
    Ok(views::household_view(&d, &regions, a.scope.allows(Permission::ViewSensitive), state.clock.today()))
}

/// One household with its members and incomes. Full ID numbers and phones only for roles that
/// need them (each such view is audited).
#[utoipa::path(get, path = "/api/v1/households/{household_no}", params(("household_no" = String, Path, description = "户编号")),
    responses((status = 200, body = HouseholdView), (status = 404, body = ApiErrorBody)))]
async fn get_household(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Path(no): Path<String>,
) -> ApiResult<Json<HouseholdView>> {
    Ok(Json(household_view(&state, &a, &parse_no(&no)?).await?))
}

/// Fields to change (as in the national layout); absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
pub struct HouseholdUpdate {
    /// The `version` you read; a newer version in the registry answers 409.
    pub version: i64,
    #[serde(flatten)]
    pub fields: HouseholdInput,
}

/// Correct a household's own fields.
#[utoipa::path(put, path = "/api/v1/households/{household_no}", request_body = HouseholdUpdate, params(("household_no" = String, Path)),
    responses((status = 200, body = HouseholdView), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn put_household(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Path(no): Path<String>,
    Json(body): Json<HouseholdUpdate>,
) -> ApiResult<Json<HouseholdView>> {
    let no = parse_no(&no)?;
    service::update_household(&state.db, state.clock.now(), &a.scope, &a.actor(), &no, body.version, &body.fields)
        .await?;
    Ok(Json(household_view(&state, &a, &no).await?))
}

/// The members of a household.
#[utoipa::path(get, path = "/api/v1/households/{household_no}/members", params(("household_no" = String, Path)),
    responses((status = 200, body = Vec<MemberView>), (status = 404, body = ApiErrorBody)))]
async fn list_members(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Path(no): Path<String>,
) -> ApiResult<Json<Vec<MemberView>>> {
    Ok(Json(household_view(&state, &a, &parse_no(&no)?).await?.members))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MemberWrite {
    pub version: i64,
    pub member: MemberInput,
    /// When this member becomes 户主: the previous head's new relation (e.g. 配偶).
    #[serde(default)]
    pub previous_head_relation: Option<String>,
}

/// Add a member.
#[utoipa::path(post, path = "/api/v1/households/{household_no}/members", request_body = MemberWrite, params(("household_no" = String, Path)),
    responses((status = 201, body = HouseholdView), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn add_member(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Path(no): Path<String>,
    Json(body): Json<MemberWrite>,
) -> ApiResult<(StatusCode, Json<HouseholdView>)> {
    let no = parse_no(&no)?;
    service::save_member(
        &state.db,
        state.clock.now(),
        &a.scope,
        &a.actor(),
        &no,
        body.version,
        None,
        &body.member,
        body.previous_head_relation.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(household_view(&state, &a, &no).await?)))
}

/// Replace a member's fields.
#[utoipa::path(put, path = "/api/v1/households/{household_no}/members/{member_id}", request_body = MemberWrite,
    params(("household_no" = String, Path), ("member_id" = i64, Path)),
    responses((status = 200, body = HouseholdView), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn put_member(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Path((no, id)): Path<(String, i64)>,
    Json(body): Json<MemberWrite>,
) -> ApiResult<Json<HouseholdView>> {
    let no = parse_no(&no)?;
    service::save_member(
        &state.db,
        state.clock.now(),
        &a.scope,
        &a.actor(),
        &no,
        body.version,
        Some(MemberId(id)),
        &body.member,
        body.previous_head_relation.as_deref(),
    )
    .await?;
    Ok(Json(household_view(&state, &a, &no).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RemoveParams {
    version: i64,
    /// 死亡, 婚出, 迁出 …
    reason: String,
}

/// Remove a member, with a reason.
#[utoipa::path(delete, path = "/api/v1/households/{household_no}/members/{member_id}",
    params(("household_no" = String, Path), ("member_id" = i64, Path), RemoveParams),
    responses((status = 200, body = HouseholdView), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn delete_member(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Path((no, id)): Path<(String, i64)>,
    Query(p): Query<RemoveParams>,
) -> ApiResult<Json<HouseholdView>> {
    let no = parse_no(&no)?;
    service::remove_member(&state.db, state.clock.now(), &a.scope, &a.actor(), &no, p.version, MemberId(id), &p.reason)
        .await?;
    Ok(Json(household_view(&state, &a, &no).await?))
}

// ------------------------------------------------------------------ import / export

/// Import a file of the national layout (multipart: `file`, optional `dry_run`, `income_year`).
/// Answers the report: counts, and every problem with its row and column.
#[utoipa::path(post, path = "/api/v1/import", request_body(content_type = "multipart/form-data", description = "file (.xlsx/.csv), dry_run (true/false), income_year"),
    responses((status = 200, description = "Import report (written = false when the file has errors or on a dry run)"), (status = 403, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn import(State(state): State<AppState>, ApiAuth(a): ApiAuth, mp: Multipart) -> ApiResult<Response> {
    if !a.scope.allows(Permission::ImportHouseholds) {
        return Err(ApiError::forbidden());
    }
    let up = crate::pages::transfer::receive_upload(&state, mp)
        .await
        .map_err(|(m, _)| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &m))?;
    let res = crate::pages::transfer::run_import(&state, &a, &up, Box::new(|_, _| {})).await;
    match res {
        Ok(report) => Ok(Json(report).into_response()),
        Err(exchange::ImportError::Forbidden) => Err(ApiError::forbidden()),
        Err(exchange::ImportError::Unreadable(e)) => {
            Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &e.to_string()))
        }
        Err(exchange::ImportError::Changed) => {
            Err(ApiError::new(StatusCode::CONFLICT, "conflict", &exchange::ImportError::Changed.to_string()))
        }
        Err(exchange::ImportError::Store(e)) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize, IntoParams, Default)]
#[serde(default)]
pub struct ExportParams {
    /// csv (default) or xlsx.
    format: String,
    region: String,
    q: String,
    kind: String,
    status: String,
    group: String,
}

/// Export households of your scope in the national layout (IDs as text). Audited.
#[utoipa::path(get, path = "/api/v1/export", params(ExportParams), responses((status = 200, description = "The file"), (status = 403, body = ApiErrorBody)))]
async fn export(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    method: axum::http::Method,
    Query(p): Query<ExportParams>,
) -> ApiResult<Response> {
    if !a.scope.allows(Permission::ExportHouseholds) {
        return Err(ApiError::forbidden());
    }
    let format = if p.format.eq_ignore_ascii_case("xlsx") { FileFormat::Xlsx } else { FileFormat::Csv };
    let today = state.clock.today().format("%Y%m%d");
    let name = format!("households-{today}.{}", format.extension());
    if method == axum::http::Method::HEAD {
        return Ok(crate::pages::transfer::head_of_download(format, &name));
    }
    let q =
        ListQuery { village: p.region, group: p.group, kind: p.kind, status: p.status, q: p.q, after: String::new() };
    let file = crate::pages::transfer::export_file(&state, &a, &q.filter(), format).await.map_err(|e| match e {
        crate::error::PageError::Forbidden => ApiError::forbidden(),
        _ => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "导出失败，请稍后重试"),
    })?;
    Ok(crate::pages::transfer::download_file(format, &name, file))
}
