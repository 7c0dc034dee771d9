//! 业务解答 in the JSON API (issue 7): a village asks, the desk answers, escalates to 柳东新区 and
//! records the reply, publishes to the FAQ; everyone of the town reads and searches the FAQ. The
//! same domain calls as the pages (`domain::question`).

use axum::Json;
use axum::Router;
use axum::extract::{FromRequest, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use domain::procedure::NewAttachment;
use domain::question::{self, FilePart, Question, QuestionAction, QuestionInput};
use domain::region::RegionCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::AppState;
use crate::api::{ApiErrorBody, ApiResult};
use crate::api_cases::invalid;
use crate::auth::ApiAuth;
use crate::pages::questions::{FAQ_LIMIT, status_key, tab_filter};

#[derive(OpenApi)]
#[openapi(
    paths(list_questions, ask_question, get_question, act_on_question, list_faq, download_question_file),
    components(schemas(
        QuestionView,
        QuestionList,
        QuestionFileView,
        EscalationView,
        AnswerView,
        FaqView,
        AskRequest,
        AskWithFiles,
        QuestionActionRequest,
        ActionWithFiles
    ))
)]
pub struct QuestionApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/questions", get(list_questions).post(ask_question))
        .route("/api/v1/questions/{id}", get(get_question))
        .route("/api/v1/questions/{id}/actions", post(act_on_question))
        .route("/api/v1/question-files/{id}", get(download_question_file))
        .route("/api/v1/faq", get(list_faq))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionFileView {
    pub id: i64,
    /// question | answer
    pub part: String,
    pub file_name: String,
    pub size: i64,
    pub sha256: String,
    pub url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationView {
    /// What the desk asked 柳东新区.
    pub note: String,
    pub by: String,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerView {
    pub text: String,
    /// desk (镇业务解答组) | liudong (柳东新区's reply, recorded by the desk)
    pub source: String,
    pub source_label: String,
    /// The desk member who answered or recorded the reply.
    pub by: String,
    pub at: String,
}

/// A question with each step's who and when.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionView {
    pub id: i64,
    pub village: String,
    pub village_name: String,
    pub title: String,
    pub question: String,
    /// open | escalated | answered
    pub status: String,
    pub status_label: String,
    pub asked_by: String,
    pub asked_at: String,
    /// Working days waited (D10: the day asked does not count): until today while unanswered,
    /// until the answer once answered; absent for a day the work calendar does not cover.
    pub waited_working_days: Option<i64>,
    /// Unanswered for more than 2 working days.
    pub aged: bool,
    pub escalation: Option<EscalationView>,
    pub answer: Option<AnswerView>,
    pub published: bool,
    /// The public wording (when published or once published).
    pub faq: Option<FaqView>,
    pub files: Vec<QuestionFileView>,
    /// Send it back with an action; a newer version answers 409.
    pub version: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionList {
    pub items: Vec<QuestionView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
    pub total: i64,
}

/// An FAQ entry: the public wording of a published question and its answer's files.
#[derive(Debug, Serialize, ToSchema)]
pub struct FaqView {
    pub id: i64,
    pub title: String,
    pub question: String,
    pub answer: String,
    pub answer_source: Option<String>,
    pub village_name: String,
    pub published_by: Option<String>,
    pub published_at: Option<String>,
    pub files: Vec<QuestionFileView>,
}

fn at_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&domain::clock::china()).to_rfc3339()
}

fn file_views(q: &Question, parts: &[FilePart]) -> Vec<QuestionFileView> {
    q.files
        .iter()
        .filter(|f| parts.contains(&f.part))
        .map(|f| QuestionFileView {
            id: f.meta.id,
            part: match f.part {
                FilePart::Question => "question".into(),
                FilePart::Answer => "answer".into(),
            },
            file_name: f.meta.file_name.clone(),
            size: f.meta.size,
            sha256: f.meta.sha256.clone(),
            url: format!("/api/v1/question-files/{}", f.meta.id),
        })
        .collect()
}

fn faq_view(q: &Question, regions: &crate::regions::RegionIndex) -> FaqView {
    FaqView {
        id: q.id,
        title: q.public_title().into(),
        question: q.public_question().into(),
        answer: q.public_answer().into(),
        answer_source: q.answer_source.map(|s| s.label().into()),
        village_name: regions.name(q.village),
        published_by: q.published_by.clone(),
        published_at: q.published_at.map(at_text),
        files: file_views(q, &[FilePart::Answer]),
    }
}

/// A question as the API shows it. The question's own files (a form photo may show a
/// household's data) are listed only to roles that see personal data, as on the page.
fn question_view(
    state: &AppState,
    a: &crate::auth::Authed,
    q: &Question,
    regions: &crate::regions::RegionIndex,
) -> QuestionView {
    let parts: &[FilePart] = if a.scope.allows(domain::account::Permission::ViewSensitive) {
        &[FilePart::Question, FilePart::Answer]
    } else {
        &[FilePart::Answer]
    };
    let (cal, today) = (state.calendar(), state.clock.today());
    QuestionView {
        id: q.id,
        village: q.village.to_string(),
        village_name: regions.name(q.village),
        title: q.title.clone(),
        question: q.body.clone(),
        status: status_key(q.status).into(),
        status_label: q.status.label().into(),
        asked_by: q.asked_by.clone(),
        asked_at: at_text(q.asked_at),
        waited_working_days: q.waited_working_days(&cal, today),
        aged: q.is_aged(&cal, today),
        escalation: match (&q.escalated_by, q.escalated_at) {
            (Some(by), Some(at)) => {
                Some(EscalationView { note: q.escalation_note.clone(), by: by.clone(), at: at_text(at) })
            }
            _ => None,
        },
        answer: match (&q.answered_by, q.answered_at, q.answer_source) {
            (Some(by), Some(at), Some(source)) => Some(AnswerView {
                text: q.answer.clone(),
                source: match source {
                    question::AnswerSource::Desk => "desk".into(),
                    question::AnswerSource::Liudong => "liudong".into(),
                },
                source_label: source.label().into(),
                by: by.clone(),
                at: at_text(at),
            }),
            _ => None,
        },
        published: q.published,
        faq: (!q.faq_title.is_empty()).then(|| faq_view(q, regions)),
        files: file_views(q, parts),
        version: q.version,
    }
}

#[derive(Debug, Deserialize, IntoParams, Default)]
#[serde(default)]
pub struct QuestionListParams {
    /// waiting (default: open and escalated, oldest first) | open | escalated | answered | all (newest first).
    status: String,
    /// A region code: its villages' questions, within your scope.
    village: String,
    /// 1–200, default 50.
    limit: Option<u32>,
    /// The `next` value of the previous page.
    after: String,
}

/// Questions of your scope (a screener's or an officer's: those they asked), with their age in
/// working days.
#[utoipa::path(get, path = "/api/v1/questions", params(QuestionListParams),
    responses((status = 200, body = QuestionList), (status = 403, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn list_questions(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Query(p): Query<QuestionListParams>,
) -> ApiResult<Json<QuestionList>> {
    let key = if p.status.trim().is_empty() { "waiting" } else { p.status.trim() };
    let mut filter =
        tab_filter(key).ok_or_else(|| invalid("status", "状态应为 waiting、open、escalated、answered 或 all"))?;
    filter.region = match p.village.trim() {
        "" => None,
        v => Some(RegionCode::parse(v).map_err(|e| invalid("village", &e.to_string()))?),
    };
    filter.after = match p.after.trim() {
        "" => None,
        v => Some(v.parse().map_err(|_| invalid("after", "应为上一页的 next"))?),
    };
    let limit = p.limit.unwrap_or(50).clamp(1, 200);
    let page = question::questions(&state.db, &a.scope, &filter, limit).await?;
    let regions = state.regions.get().await;
    Ok(Json(QuestionList {
        items: page.items.iter().map(|q| question_view(&state, &a, q, &regions)).collect(),
        next: page.next,
        total: page.total,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AskRequest {
    pub title: String,
    /// The question's text.
    pub question: String,
    /// Only for an asker above a village (an officer of the town): the village asking.
    #[serde(default)]
    pub village: Option<String>,
}

/// A question with files: the [`AskRequest`] as JSON in the part `question`, each file in a part
/// `files` with its file name.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the multipart body for the OpenAPI document
pub struct AskWithFiles {
    /// An [`AskRequest`] as JSON text.
    question: String,
    #[schema(value_type = Vec<String>, format = Binary)]
    files: Vec<Vec<u8>>,
}

/// A JSON body, or multipart with the JSON in the part `json_part` and files in `files`.
async fn body_and_files<T: DeserializeOwned>(
    state: &AppState,
    req: axum::extract::Request,
    json_part: &'static str,
) -> ApiResult<(T, Vec<NewAttachment>)> {
    let multipart = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if multipart {
        let mp = axum::extract::Multipart::from_request(req, state)
            .await
            .map_err(|e| invalid(json_part, &format!("无法读取 multipart 请求：{e}")))?;
        let sub = crate::pages::cases::read_multipart(mp).await;
        if let Some(e) = sub.error {
            return Err(invalid("files", &e));
        }
        let body = serde_json::from_str(&sub.get(json_part))
            .map_err(|e| invalid(json_part, &format!("部分“{json_part}”应为 JSON：{e}")))?;
        Ok((body, sub.files))
    } else {
        let Json(body) = Json::<T>::from_request(req, state)
            .await
            .map_err(|e| invalid(json_part, &format!("请求体应为 JSON：{e}")))?;
        Ok((body, Vec::new()))
    }
}

/// Ask the Q&A desk (村干部, 排查员, 帮扶责任人), as JSON or — with files — as multipart.
#[utoipa::path(post, path = "/api/v1/questions",
    request_body(content((AskRequest = "application/json"), (AskWithFiles = "multipart/form-data"))),
    responses((status = 201, body = QuestionView), (status = 403, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn ask_question(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    req: axum::extract::Request,
) -> ApiResult<(StatusCode, Json<QuestionView>)> {
    let (body, files): (AskRequest, _) = body_and_files(&state, req, "question").await?;
    let input = QuestionInput { village: body.village.unwrap_or_default(), title: body.title, body: body.question };
    let q = question::ask(&state.db, &a.actor(), a.user.id, &a.scope, state.clock.now(), &input, &files).await?;
    let regions = state.regions.get().await;
    Ok((StatusCode::CREATED, Json(question_view(&state, &a, &q, &regions))))
}

/// One question of your scope, with its files.
#[utoipa::path(get, path = "/api/v1/questions/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = QuestionView), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
async fn get_question(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Path(id): Path<i64>,
) -> ApiResult<Json<QuestionView>> {
    let q = question::question(&state.db, &a.scope, id).await?;
    let regions = state.regions.get().await;
    Ok(Json(question_view(&state, &a, &q, &regions)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct QuestionActionRequest {
    /// The `version` you read.
    pub version: i64,
    /// answer | escalate | record_reply | publish | unpublish
    pub action: String,
    /// The answer (answer), what was asked of 柳东新区 (escalate), or their reply (record_reply).
    #[serde(default)]
    pub text: String,
    /// publish: the public wording (empty: the original).
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub question: String,
    #[serde(default)]
    pub answer: String,
}

/// An action with files (answer, record_reply): the [`QuestionActionRequest`] as JSON in the part
/// `action`, each file in a part `files`.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the multipart body for the OpenAPI document
pub struct ActionWithFiles {
    /// A [`QuestionActionRequest`] as JSON text.
    action: String,
    #[schema(value_type = Vec<String>, format = Binary)]
    files: Vec<Vec<u8>>,
}

/// The desk's action (镇专项办): answer, escalate to 柳东新区, record their reply (which answers the
/// question), publish to the FAQ (optionally reworded) or unpublish. A stale `version` answers 409;
/// an action the question's state does not allow 422.
#[utoipa::path(post, path = "/api/v1/questions/{id}/actions",
    request_body(content((QuestionActionRequest = "application/json"), (ActionWithFiles = "multipart/form-data"))),
    params(("id" = i64, Path)),
    responses((status = 200, body = QuestionView), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn act_on_question(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Path(id): Path<i64>,
    req: axum::extract::Request,
) -> ApiResult<Json<QuestionView>> {
    let (body, files): (QuestionActionRequest, _) = body_and_files(&state, req, "action").await?;
    let action = match body.action.as_str() {
        "answer" => QuestionAction::Answer { text: body.text },
        "escalate" => QuestionAction::Escalate { note: body.text },
        "record_reply" => QuestionAction::RecordReply { text: body.text },
        "publish" => QuestionAction::Publish { title: body.title, question: body.question, answer: body.answer },
        "unpublish" => QuestionAction::Unpublish,
        other => {
            return Err(invalid(
                "action",
                &format!("操作应为 answer、escalate、record_reply、publish 或 unpublish，收到“{other}”"),
            ));
        }
    };
    let q =
        question::act(&state.db, &a.actor(), &a.scope, state.clock.now(), id, body.version, &action, &files).await?;
    let regions = state.regions.get().await;
    Ok(Json(question_view(&state, &a, &q, &regions)))
}

#[derive(Debug, Deserialize, IntoParams, Default)]
#[serde(default)]
pub struct FaqParams {
    /// Text to find in the public title, question or answer (a case-insensitive substring).
    q: String,
}

/// The FAQ of your town (every role), newest published first, optionally searched.
#[utoipa::path(get, path = "/api/v1/faq", params(FaqParams), responses((status = 200, body = Vec<FaqView>)))]
async fn list_faq(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Query(p): Query<FaqParams>,
) -> ApiResult<Json<Vec<FaqView>>> {
    let found = domain::ports::QuestionStore::faq(&state.db, &a.scope, Some(p.q.trim()), FAQ_LIMIT).await?;
    let regions = state.regions.get().await;
    Ok(Json(found.iter().map(|q| faq_view(q, &regions)).collect()))
}

/// A file of a question of your scope (the question's own files: roles that see sensitive data
/// only), or an answer's file of a published question. Every download is audited; always served
/// as `application/octet-stream`.
#[utoipa::path(get, path = "/api/v1/question-files/{id}", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
async fn download_question_file(
    State(state): State<AppState>,
    ApiAuth(a): ApiAuth,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let (file, body) = question::download_file(&state.db, &a.actor(), &a.scope, state.clock.now(), id).await?;
    Ok(crate::pages::questions::file_response(&file.meta.file_name, body))
}
