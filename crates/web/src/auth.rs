//! Authentication, sessions and CSRF (issue 2 "Accounts, scoping, audit").
//!
//! Sessions live in the database (a random token in an HttpOnly SameSite cookie, or a bearer
//! token for the API; only its SHA-256 is stored) and are judged against the injectable clock,
//! so `FANGPIN_NOW` demos and tests expire them correctly. Passwords are Argon2id. Every
//! mutating request made with a session cookie carries the session's CSRF token, and
//! cross-site requests are refused outright.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{DateTime, Utc};
use domain::account::{Actor, LOCKOUT_MINUTES, MAX_FAILED_LOGINS, Scope, User};
use domain::audit::{AuditAction, AuditEntry};
use domain::ports::{AuditStore, SessionKind, SessionRecord, SessionStore, StoreError, UserStore};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::api::ApiError;
use crate::error::PageError;
use crate::views::china_time;

pub const SESSION_COOKIE: &str = "fp_session";
/// Double-submit token for the login form (there is no session yet).
pub const LOGIN_COOKIE: &str = "fp_login";
pub const CSRF_FIELD: &str = "_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A fresh random token (256 bits, URL-safe base64).
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).unwrap_or_else(|e| panic!("system random generator failed: {e}"));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// What the sessions table stores instead of the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| e.to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
}

/// Argon2 takes tens of milliseconds: keep it off the async workers.
pub async fn hash_password_blocking(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || hash_password(&password)).await.map_err(|e| e.to_string())?
}

pub async fn verify_password_blocking(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.unwrap_or(false)
}

/// A hash to verify against when the user does not exist, so that timing does not tell.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password("dummy-password-for-timing").unwrap_or_default());

/// Per-address login attempt limiter (in memory, wall-clock minutes).
pub struct Throttle {
    per_minute: u32,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Throttle {
    pub fn new(per_minute: u32) -> Self {
        Throttle { per_minute, seen: Mutex::new(HashMap::new()) }
    }

    /// Counts an attempt; false when the address is over its limit.
    pub fn allow(&self, ip: IpAddr) -> bool {
        let mut m = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if m.len() > 10_000 {
            m.retain(|_, (t, _)| now.duration_since(*t) < Duration::from_secs(60));
        }
        let e = m.entry(ip).or_insert((now, 0));
        if now.duration_since(e.0) >= Duration::from_secs(60) {
            *e = (now, 0);
        }
        e.1 += 1;
        e.1 <= self.per_minute
    }
}

pub fn client_ip(parts_ext: &axum::http::Extensions) -> IpAddr {
    parts_ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

pub fn set_cookie(name: &str, value: &str, secure: bool, strict: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite={}{}",
        if strict { "Strict" } else { "Lax" },
        if secure { "; Secure" } else { "" }
    )
}

pub fn clear_cookie(name: &str) -> String {
    format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ").map(|t| t.trim().to_string())
}

/// An authenticated caller: who, what they may see (scope) and their session's CSRF token.
#[derive(Debug, Clone)]
pub struct Authed {
    pub user: User,
    pub scope: Scope,
    pub csrf: String,
    pub token_hash: String,
    pub kind: SessionKind,
}

impl Authed {
    pub fn actor(&self) -> Actor {
        self.user.actor()
    }
}

/// The session found by the CSRF guard, so that the extractor does not read it twice.
#[derive(Clone)]
struct Loaded(Option<SessionRecord>);

/// Who sends a request that may write, as far as the CSRF guard has found out.
pub(crate) enum Writer {
    /// A page session the guard loaded: its user's region (`None`: everywhere).
    Page(Option<domain::RegionCode>),
    /// No live session and no bearer token: the handler refuses it, nothing is written.
    Nobody,
    /// A bearer token (not loaded by the guard): anyone, anywhere.
    Unknown,
}

pub(crate) fn writer(req: &Request) -> Writer {
    match req.extensions().get::<Loaded>() {
        Some(Loaded(Some(s))) => Writer::Page(s.user.scope().region()),
        Some(Loaded(None)) => Writer::Nobody,
        None if bearer(req.headers()).is_some() => Writer::Unknown,
        None => Writer::Nobody,
    }
}

/// Whether a stored session is still alive at `now`; an idle one is deleted.
async fn judge(state: &AppState, s: SessionRecord, now: DateTime<Utc>) -> Result<Option<SessionRecord>, StoreError> {
    let idle = chrono::Duration::from_std(state.config.idle_timeout).unwrap_or(chrono::Duration::minutes(30));
    let expired = s.expires_at.is_some_and(|e| e <= now)
        || (s.kind != SessionKind::Integration && now - s.last_seen_at > idle)
        || !s.user.active;
    if expired {
        state.db.delete_session(&s.token_hash, &[]).await?;
        return Ok(None);
    }
    // write at most once a minute per session
    if now - s.last_seen_at > chrono::Duration::seconds(60) {
        state.db.touch_session(&s.token_hash, now).await?;
    }
    Ok(Some(s))
}

async fn load_session(state: &AppState, headers: &HeaderMap) -> Result<Option<SessionRecord>, StoreError> {
    let Some(token) = bearer(headers).or_else(|| cookie(headers, SESSION_COOKIE)) else { return Ok(None) };
    let Some(s) = state.db.session(&token_hash(&token)).await? else { return Ok(None) };
    judge(state, s, state.clock.now()).await
}

async fn authenticate(state: &AppState, parts: &mut Parts) -> Result<Option<Authed>, StoreError> {
    let s = match parts.extensions.get::<Loaded>() {
        Some(Loaded(s)) => s.clone(),
        None => load_session(state, &parts.headers).await?,
    };
    Ok(s.map(|s| Authed {
        scope: s.user.scope(),
        csrf: s.csrf_token,
        token_hash: s.token_hash,
        kind: s.kind,
        user: s.user,
    }))
}

/// A logged-in user on a page; otherwise a redirect to the login page.
pub struct PageAuth(pub Authed);

impl FromRequestParts<AppState> for PageAuth {
    type Rejection = PageError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match authenticate(state, parts).await? {
            Some(a) => Ok(PageAuth(a)),
            None => {
                let next = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
                Err(PageError::Login { next })
            }
        }
    }
}

/// An authenticated API caller; otherwise 401.
pub struct ApiAuth(pub Authed);

impl FromRequestParts<AppState> for ApiAuth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match authenticate(state, parts).await.map_err(ApiError::from)? {
            Some(a) => Ok(ApiAuth(a)),
            None => Err(ApiError::unauthorized()),
        }
    }
}

// ------------------------------------------------------------------ login

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("用户名或密码错误")]
    Invalid { remaining: Option<i32> },
    #[error("账户已锁定：连续{MAX_FAILED_LOGINS}次密码错误，请于 {until} 后再试，或请管理员解锁")]
    Locked { until: String },
    #[error("账户已停用，请联系系统管理员")]
    Disabled,
    #[error("尝试过于频繁，请稍候一分钟再试")]
    Throttled,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl LoginError {
    /// The sentence shown on the login form.
    pub fn message(&self) -> String {
        match self {
            LoginError::Invalid { remaining: Some(n) } if *n <= 2 => {
                format!("用户名或密码错误（再错{n}次，账户将锁定{LOCKOUT_MINUTES}分钟）")
            }
            LoginError::Store(_) => "系统出错，请稍后再试".to_string(),
            other => other.to_string(),
        }
    }
}

/// Checks a username and password and opens a session. Returns the token (for the cookie or
/// the bearer header) and the caller.
pub async fn login(
    state: &AppState,
    ip: IpAddr,
    username: &str,
    password: &str,
    kind: SessionKind,
) -> Result<(String, Authed), LoginError> {
    if !state.throttle.allow(ip) {
        return Err(LoginError::Throttled);
    }
    let now = state.clock.now();
    let Some((user, hash)) = state.db.user_by_username(username).await? else {
        // the dummy hash is built (once) and checked on the blocking pool, like a real one
        let p = password.to_string();
        let _ = tokio::task::spawn_blocking(move || verify_password(&p, &DUMMY_HASH)).await;
        // what was typed is not recorded: people type passwords into the username field
        let e = AuditEntry::new(now, &Actor::system("匿名"), AuditAction::LoginFailed, "user", "unknown")
            .note(format!("不存在的用户名登录失败（来自 {ip}）"));
        state.db.append_audit(&[e]).await?;
        return Err(LoginError::Invalid { remaining: None });
    };
    if !user.active {
        return Err(LoginError::Disabled);
    }
    if user.is_locked(now) {
        return Err(LoginError::Locked { until: china_time(user.locked_until.unwrap_or(now)) });
    }
    if !verify_password_blocking(password.to_string(), hash).await {
        // a lock that has run out starts the count again
        let restart = user.locked_until.is_some();
        let count = if restart { 1 } else { user.failed_logins + 1 };
        let lock_until = now + chrono::Duration::minutes(LOCKOUT_MINUTES);
        let mut entries = vec![
            AuditEntry::new(now, &user.actor(), AuditAction::LoginFailed, "user", user.id.0)
                .note(format!("密码错误，第{count}次（来自 {ip}）")),
        ];
        if count >= MAX_FAILED_LOGINS {
            entries.push(
                AuditEntry::new(now, &user.actor(), AuditAction::Lockout, "user", user.id.0)
                    .note(format!("连续{MAX_FAILED_LOGINS}次密码错误，锁定至 {}", china_time(lock_until))),
            );
        }
        let u = state.db.record_login_failure(user.id, MAX_FAILED_LOGINS, lock_until, restart, &entries).await?;
        if u.is_locked(now) {
            return Err(LoginError::Locked { until: china_time(u.locked_until.unwrap_or(lock_until)) });
        }
        return Err(LoginError::Invalid { remaining: Some(MAX_FAILED_LOGINS - u.failed_logins) });
    }
    if user.failed_logins > 0 || user.locked_until.is_some() {
        state.db.reset_login_failures(user.id, &[]).await?;
    }
    let token = new_token();
    let csrf = new_token();
    let th = token_hash(&token);
    let e = AuditEntry::new(now, &user.actor(), AuditAction::Login, "user", user.id.0)
        .note(format!("{}登录（来自 {ip}）", kind.label()));
    state.db.create_session(&th, user.id, kind, &csrf, now, None, &[e]).await?;
    Ok((token, Authed { scope: user.scope(), csrf, token_hash: th, kind, user }))
}

/// Ends a session.
pub async fn logout(state: &AppState, a: &Authed) -> Result<(), StoreError> {
    let e = AuditEntry::new(state.clock.now(), &a.actor(), AuditAction::Logout, "user", a.user.id.0);
    state.db.delete_session(&a.token_hash, &[e]).await
}

// ------------------------------------------------------------------ CSRF

fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()), host) {
        (Some(origin), Some(host)) => origin.split("://").nth(1).is_some_and(|o| o == host),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn forbidden_csrf(api: bool) -> Response {
    let msg = "页面已过期或请求来源不明（CSRF 校验失败）：请刷新页面后重新提交";
    if api {
        ApiError::new(axum::http::StatusCode::FORBIDDEN, "csrf", msg).into_response()
    } else {
        crate::error::error_page(axum::http::StatusCode::FORBIDDEN, "请求被拒绝", msg)
    }
}

/// Guards every mutating request: same origin, and the CSRF token of the session (or of the
/// login form) in the `x-csrf-token` header, the `_csrf` form field, or — for file uploads,
/// whose bodies are not buffered — the `_csrf` query parameter.
pub async fn csrf_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers().clone();
    let api = req.uri().path().starts_with("/api/");
    // bearer tokens are not sent by browsers on their own: no CSRF exposure
    if bearer(&headers).is_some() {
        return next.run(req).await;
    }
    if !same_origin(&headers) {
        return forbidden_csrf(api);
    }
    let expected = if cookie(&headers, SESSION_COOKIE).is_some() {
        match load_session(&state, &headers).await {
            Ok(s) => {
                let t = s.as_ref().map(|s| s.csrf_token.clone());
                let mut req = req;
                req.extensions_mut().insert(Loaded(s));
                return check_token(req, next, t, api).await;
            }
            Err(_) => return PageError::Internal("session lookup failed".into()).into_response(),
        }
    } else if req.uri().path() == "/login" {
        // the login form's double-submit cookie must be there: without it, refuse
        match cookie(&headers, LOGIN_COOKIE) {
            Some(c) => Some(c),
            None => return forbidden_csrf(api),
        }
    } else {
        // no session: the handler answers 401 or redirects to the login page
        None
    };
    if expected.is_none() && req.uri().path() != "/login" {
        return next.run(req).await;
    }
    check_token(req, next, expected, api).await
}

async fn check_token(req: Request, next: Next, expected: Option<String>, api: bool) -> Response {
    // an expired session: let the handler redirect to the login page
    let Some(expected) = expected else { return next.run(req).await };
    if let Some(h) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return if constant_time_eq(h, &expected) { next.run(req).await } else { forbidden_csrf(api) };
    }
    let ctype = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    if ctype.starts_with("multipart/form-data") {
        let q = req.uri().query().unwrap_or("");
        let given = q
            .split('&')
            .find_map(|kv| kv.strip_prefix("_csrf="))
            .map(|v| urlencoding::decode(v).unwrap_or_default().into_owned());
        return match given {
            Some(g) if constant_time_eq(&g, &expected) => next.run(req).await,
            _ => forbidden_csrf(api),
        };
    }
    if ctype.starts_with("application/x-www-form-urlencoded") {
        let (parts, body) = req.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, 2 * 1024 * 1024).await else { return forbidden_csrf(api) };
        let given = url_form_field(&bytes, CSRF_FIELD);
        if !given.is_some_and(|g| constant_time_eq(&g, &expected)) {
            return forbidden_csrf(api);
        }
        return next.run(Request::from_parts(parts, Body::from(bytes))).await;
    }
    forbidden_csrf(api)
}

fn url_form_field(body: &[u8], name: &str) -> Option<String> {
    let s = std::str::from_utf8(body).ok()?;
    s.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| urlencoding::decode(&v.replace('+', " ")).map(|c| c.into_owned()).unwrap_or_default())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("Dazheng#2022").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("Dazheng#2022", &h));
        assert!(!verify_password("dazheng#2022", &h));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[test]
    fn origin_checks() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "fangpin.local:8080".parse().unwrap());
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, "http://fangpin.local:8080".parse().unwrap());
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(!same_origin(&h));
        let mut h2 = HeaderMap::new();
        h2.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!same_origin(&h2));
    }

    #[test]
    fn form_fields_and_cookies() {
        assert_eq!(url_form_field(b"a=1&_csrf=x%2By&b=2", "_csrf").as_deref(), Some("x+y"));
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; fp_session=tok; b=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("tok"));
        assert!(constant_time_eq("abc", "abc") && !constant_time_eq("abc", "abd"));
    }

    #[test]
    fn throttle_limits_per_address() {
        let t = Throttle::new(3);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(t.allow(ip) && t.allow(ip) && t.allow(ip));
        assert!(!t.allow(ip));
        assert!(t.allow("10.0.0.2".parse().unwrap()));
    }
}

// ------------------------------------------------------------------ accounts

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates an account after checking the username, the password policy and the region.
/// Used by the users page, `fangpin admin create-user` and the demo.
#[allow(clippy::too_many_arguments)]
pub async fn create_user(
    db: &store::Db,
    actor: &Actor,
    at: DateTime<Utc>,
    username: &str,
    display_name: &str,
    role: domain::account::Role,
    region: domain::region::RegionCode,
    password: &str,
) -> Result<User, AccountError> {
    use domain::ports::RegionStore;
    let username = domain::account::Username::parse(username).map_err(|e| AccountError::Invalid(e.to_string()))?;
    domain::account::check_password(password, username.as_str()).map_err(|e| AccountError::Invalid(e.to_string()))?;
    if !db.all_regions().await?.iter().any(|r| r.code == region) {
        return Err(AccountError::Invalid(format!("区划代码 {region} 不存在：请先导入区划")));
    }
    let hash = hash_password_blocking(password.to_string()).await.map_err(AccountError::Invalid)?;
    let new = domain::ports::NewUser {
        username,
        display_name: display_name.trim().chars().take(50).collect(),
        role,
        region,
        password_hash: hash,
    };
    Ok(db.create_user(actor, at, &new).await?)
}

/// Sets a new password after checking the policy (ends the user's sessions).
pub async fn reset_password(
    db: &store::Db,
    actor: &Actor,
    at: DateTime<Utc>,
    user: &User,
    password: &str,
) -> Result<(), AccountError> {
    domain::account::check_password(password, user.username.as_str())
        .map_err(|e| AccountError::Invalid(e.to_string()))?;
    let hash = hash_password_blocking(password.to_string()).await.map_err(AccountError::Invalid)?;
    Ok(db.set_password(actor, at, user.id, &hash).await?)
}
