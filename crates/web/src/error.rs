//! Errors at the HTTP edge (STYLE §6): domain errors become status codes and Chinese pages or
//! JSON bodies; unexpected errors become an opaque 500 whose detail goes to the log only.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use domain::ports::StoreError;
use domain::service::EditError;

/// An error page.
#[derive(Debug)]
pub enum PageError {
    NotFound,
    Forbidden,
    /// Not logged in: back to the login page, then to `next`.
    Login {
        next: String,
    },
    BadRequest(String),
    TooManyRequests,
    Internal(String),
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
}

impl PageError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        PageError::Internal(e.to_string())
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => PageError::NotFound,
            StoreError::Conflict | StoreError::Duplicate(_) => PageError::BadRequest(e.to_string()),
            StoreError::Database(d) => PageError::Internal(d),
        }
    }
}

impl From<EditError> for PageError {
    fn from(e: EditError) -> Self {
        match e {
            EditError::NotFound => PageError::NotFound,
            EditError::Forbidden => PageError::Forbidden,
            EditError::Store(s) => s.into(),
            other => PageError::BadRequest(other.to_string()),
        }
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        PageError::Internal(format!("template: {e}"))
    }
}

pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = ErrorPage { status: status.as_u16(), title, message }
        .render()
        .unwrap_or_else(|_| format!("{} {title}", status.as_u16()));
    (status, Html(body)).into_response()
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::NotFound => {
                error_page(StatusCode::NOT_FOUND, "未找到", "您要找的页面或记录不存在，或不在您的管辖范围内。")
            }
            PageError::Forbidden => {
                error_page(StatusCode::FORBIDDEN, "无权访问", "您的角色无权进行此操作。如确有需要，请联系系统管理员。")
            }
            PageError::Login { next } => {
                Redirect::to(&format!("/login?next={}", urlencoding::encode(&next))).into_response()
            }
            PageError::BadRequest(m) => error_page(StatusCode::BAD_REQUEST, "请求有误", &m),
            PageError::TooManyRequests => {
                error_page(StatusCode::TOO_MANY_REQUESTS, "尝试过于频繁", "短时间内尝试次数过多，请稍候一分钟再试。")
            }
            PageError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "系统出错",
                    "系统内部出错，您的操作可能没有完成。请稍后重试；如仍出错，请把出错时间告诉系统管理员。",
                )
            }
        }
    }
}

pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    error_page(StatusCode::INTERNAL_SERVER_ERROR, "系统出错", "系统内部出错，请稍后重试。")
}

/// axum answers malformed requests (a JSON body or a query that does not fit, a path segment
/// that is not a number, an upload over the limit) with English plain text. This turns those
/// answers into the API's JSON error shape, or a Chinese page, keeping the detail for the API.
pub async fn explain_rejections(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    let status = resp.status();
    let plain = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !(status.is_client_error() && plain) {
        return resp;
    }
    let detail = match axum::body::to_bytes(resp.into_body(), 16 * 1024).await {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(_) => String::new(),
    };
    let (title, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ("文件过大", "上传的文件超过了允许的大小，请拆分后分批上传，或请管理员调高上限。")
        }
        StatusCode::METHOD_NOT_ALLOWED => ("不支持此操作", "此地址不支持这种请求方式。"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("格式不支持", "请求内容的格式不正确（接口需要 JSON，上传需要 multipart/form-data）。")
        }
        _ => ("请求有误", "地址、参数或表单内容的格式不正确，请返回后重试。"),
    };
    if api {
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE { "too_large" } else { "invalid" };
        let msg = if detail.is_empty() { message.to_string() } else { format!("{message}（详情：{detail}）") };
        return crate::api::ApiError::new(status, code, &msg).into_response();
    }
    error_page(status, title, message)
}
