//! Login, logout and changing one's own password.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use domain::ports::{SessionKind, UserStore};
use serde::Deserialize;

use super::{Chrome, redirect_with_flash, render, render_status};
use crate::AppState;
use crate::auth::{self, LOGIN_COOKIE, LoginError, PageAuth, SESSION_COOKIE};
use crate::error::PageError;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    username: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NextQuery {
    next: String,
}

fn safe_next(next: &str) -> String {
    // "/" opens each role's own start page
    super::local_path(next, "/")
}

fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    username: String,
    next: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let token = auth::new_token();
    let tpl = LoginPage { chrome: Chrome::anonymous(state, token.clone(), headers), username, next, error };
    let mut resp = render_status(status, &tpl, &tpl.chrome)?;
    if let Ok(v) = auth::set_cookie(LOGIN_COOKIE, &token, state.config.secure_cookies, true).parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, PageError> {
    login_page(&state, &headers, String::new(), safe_next(&q.next), None, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    req: axum::extract::Request,
) -> Result<Response, PageError> {
    let ip = auth::client_ip(req.extensions());
    let Form(f) = Form::<LoginForm>::from_request(req, &state)
        .await
        .map_err(|_| PageError::BadRequest("表单格式不正确".into()))?;
    match auth::login(&state, ip, &f.username, &f.password, SessionKind::Web).await {
        Ok((token, _)) => {
            let mut resp = Redirect::to(&safe_next(&f.next)).into_response();
            let h = resp.headers_mut();
            if let Ok(v) = auth::set_cookie(SESSION_COOKIE, &token, state.config.secure_cookies, false).parse() {
                h.append(header::SET_COOKIE, v);
            }
            if let Ok(v) = auth::clear_cookie(LOGIN_COOKIE).parse() {
                h.append(header::SET_COOKIE, v);
            }
            Ok(resp)
        }
        Err(e) => {
            let status = match e {
                LoginError::Throttled => StatusCode::TOO_MANY_REQUESTS,
                LoginError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::UNAUTHORIZED,
            };
            login_page(&state, &headers, f.username, safe_next(&f.next), Some(e.message()), status)
        }
    }
}

use axum::extract::FromRequest;

pub async fn logout(State(state): State<AppState>, PageAuth(a): PageAuth) -> Result<Response, PageError> {
    auth::logout(&state, &a).await?;
    let mut resp = redirect_with_flash("/login", "已退出登录");
    if let Ok(v) = auth::clear_cookie(SESSION_COOKIE).parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    chrome: Chrome,
    error: Option<String>,
}

pub async fn password_form(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let tpl = PasswordPage { chrome: Chrome::new(&state, &a, &headers).await, error: None };
    render(&tpl, &tpl.chrome)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

pub async fn password_submit(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    req: axum::extract::Request,
) -> Result<Response, PageError> {
    let ip = auth::client_ip(req.extensions());
    let Form(f) = Form::<PasswordForm>::from_request(req, &state)
        .await
        .map_err(|_| PageError::BadRequest("表单格式不正确".into()))?;
    // guesses at the current password count against the same limit as logins
    if !state.throttle.allow(ip) {
        return Err(PageError::TooManyRequests);
    }
    let (_, hash) = state.db.user_by_username(a.user.username.as_str()).await?.ok_or(PageError::NotFound)?;
    let error = if !auth::verify_password_blocking(f.current.clone(), hash).await {
        Some("当前密码不正确".to_string())
    } else if f.new != f.confirm {
        Some("两次输入的新密码不一致".to_string())
    } else if let Err(e) = domain::account::check_password(&f.new, a.user.username.as_str()) {
        Some(e.to_string())
    } else {
        None
    };
    if let Some(error) = error {
        let tpl = PasswordPage { chrome: Chrome::new(&state, &a, &headers).await, error: Some(error) };
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome);
    }
    let hash = auth::hash_password_blocking(f.new).await.map_err(PageError::internal)?;
    // ends every session of the user, this one included
    state.db.set_password(&a.actor(), state.clock.now(), a.user.id, &hash).await?;
    let mut resp = redirect_with_flash("/login", "密码已修改，请用新密码重新登录");
    if let Ok(v) = auth::clear_cookie(SESSION_COOKIE).parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_is_local_only() {
        assert_eq!(super::safe_next("/households/1"), "/households/1");
        assert_eq!(super::safe_next("//evil.example"), "/");
        assert_eq!(super::safe_next("https://evil.example"), "/");
        assert_eq!(super::safe_next(""), "/");
        assert_eq!(super::safe_next("/\t/evil.example"), "/");
        assert_eq!(super::safe_next("/\\evil.example"), "/");
        let q = "/households?q=%E9%9F%A6&village=450203100201";
        assert_eq!(super::safe_next(q), q);
    }
}
