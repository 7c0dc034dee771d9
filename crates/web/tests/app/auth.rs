//! Login, lockout, idle expiry, CSRF.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Duration;
use domain::audit::AuditAction;
use domain::ports::{AuditFilter, AuditStore};

use crate::harness::*;

#[tokio::test]
async fn pages_need_a_login_and_come_back_after_it() {
    let app = TestApp::sqlite().await;
    let mut c = app.anonymous();
    let r = c.get("/households?village=450203100201").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/login?next=%2Fhouseholds%3Fvillage%3D450203100201");
    let r = c.get("/api/v1/households").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"]["code"], "unauthorized");

    let r = c.post_login("dazheng", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let cookie = r.set_cookies().into_iter().find(|c| c.starts_with("fp_session=")).unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert_eq!(c.get("/households").await.status, StatusCode::OK);

    // log out: the session is gone on the server, not only in the browser
    let page = c.get("/households").await;
    c.csrf = extract_csrf(&page.text()).unwrap();
    let old = c.cookies.clone();
    assert_eq!(c.post_form("/logout", &[]).await.status, StatusCode::SEE_OTHER);
    c.cookies = old;
    assert_eq!(c.get("/households").await.status, StatusCode::SEE_OTHER);
    app.cleanup().await;
}

#[tokio::test]
async fn login_never_redirects_to_another_site() {
    let app = TestApp::sqlite().await;
    for next in ["//evil.example", "/\\evil.example", "/\t/evil.example", "https://evil.example", "/\n/evil.example"] {
        let mut c = app.anonymous();
        let page = c.get("/login").await;
        let token = extract_csrf(&page.text()).unwrap();
        let r = c
            .post_raw(
                "/login",
                &encode(&[("_csrf", &token), ("username", "dazheng"), ("password", PASSWORD), ("next", next)]),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.location(), "/", "next={next:?}");
    }
    app.cleanup().await;
}

#[tokio::test]
async fn five_failures_lock_the_account_for_fifteen_minutes() {
    let app = TestApp::sqlite().await;
    let mut c = app.anonymous();
    for i in 1..=4 {
        let r = c.post_login("dazheng", "Wrong#pass1").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.text().contains("用户名或密码错误"), "attempt {i}");
    }
    assert!(c.post_login("dazheng", "Wrong#pass1").await.text().contains("账户已锁定"));
    // even the right password is refused while locked
    let r = c.post_login("dazheng", PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("账户已锁定"), "{}", r.text());
    assert!(r.text().contains("2022-03-28 09:15"), "shows until when (China time)");
    let r = c.json("POST", "/api/v1/session", serde_json::json!({"username": "dazheng", "password": PASSWORD})).await;
    assert_eq!(r.status, StatusCode::LOCKED);
    // unknown users get the same answer as wrong passwords
    assert!(c.post_login("nobody", PASSWORD).await.text().contains("用户名或密码错误"));

    app.clock.advance(Duration::minutes(16));
    // the lock has run out: one more mistake counts as the first, it does not lock again
    let r = c.post_login("dazheng", "Wrong#pass1").await;
    assert!(r.text().contains("用户名或密码错误") && !r.text().contains("账户已锁定"), "{}", r.text());
    assert_eq!(c.post_login("dazheng", PASSWORD).await.status, StatusCode::SEE_OTHER);

    let rows =
        app.db.audit_rows(&AuditFilter { entity: Some("user".into()), ..Default::default() }, 100).await.unwrap();
    let count = |a| rows.iter().filter(|r| r.entry.action == a).count();
    assert_eq!(count(AuditAction::Lockout), 1);
    assert!(count(AuditAction::LoginFailed) >= 6);
    assert_eq!(count(AuditAction::Login), 1);
    assert!(
        rows.iter().all(|r| !r.entry.note.contains(PASSWORD) && !r.entry.note.contains("Wrong#pass1")),
        "no password in the audit log"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn idle_sessions_expire_after_thirty_minutes() {
    let app = TestApp::sqlite().await;
    let mut web = app.login("dazheng").await;
    let mut api = app.api_login("dazheng").await;
    app.clock.advance(Duration::minutes(29));
    assert_eq!(web.get("/households").await.status, StatusCode::OK, "activity keeps it alive");
    assert_eq!(api.get("/api/v1/households").await.status, StatusCode::OK);
    app.clock.advance(Duration::minutes(29));
    assert_eq!(web.get("/households").await.status, StatusCode::OK, "29 minutes after the last request");
    app.clock.advance(Duration::minutes(31));
    assert_eq!(web.get("/households").await.status, StatusCode::SEE_OTHER);
    assert_eq!(api.get("/api/v1/households").await.status, StatusCode::UNAUTHORIZED);
    app.cleanup().await;
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused() {
    let app = TestApp::sqlite().await;
    let mut c = app.login("dazheng").await;
    let v = app.household_version(D1).await.to_string();
    let path = format!("/households/{D1}/edit");
    // no token
    let r = c.post_raw(&path, &encode(&[("version", &v), ("address", "x")])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text().contains("CSRF"));
    // another token
    let r =
        c.post_raw(&path, &encode(&[("_csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), ("version", &v)])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // the right token from another site
    let req = c
        .builder("POST", &path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, "http://evil.example")
        .body(Body::from(encode(&[("_csrf", &c.csrf), ("version", &v)])))
        .unwrap();
    assert_eq!(c.send(req).await.status, StatusCode::FORBIDDEN);
    let req = c
        .builder("POST", &path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .body(Body::from(encode(&[("_csrf", &c.csrf), ("version", &v)])))
        .unwrap();
    assert_eq!(c.send(req).await.status, StatusCode::FORBIDDEN);
    // an upload without the token in the query
    let req = Request::builder()
        .method("POST")
        .uri("/import")
        .header(header::HOST, "fangpin.test")
        .header(header::COOKIE, c.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "))
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
        .body(Body::from("--x--\r\n"))
        .unwrap();
    assert_eq!(c.send(req).await.status, StatusCode::FORBIDDEN);
    // the login form is protected too: without the token, and without its cookie
    let mut anon = app.anonymous();
    anon.get("/login").await;
    let r = anon.post_raw("/login", &encode(&[("username", "dazheng"), ("password", PASSWORD)])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut bare = app.anonymous();
    let r = bare.post_raw("/login", &encode(&[("username", "dazheng"), ("password", PASSWORD)])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no login cookie, no login");
    // nothing changed
    assert_eq!(app.household_version(D1).await.to_string(), v);
    // and with the token it goes through
    let form = household_form(&c.get(&path).await.text(), &[("address", "新址")]);
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = c.post_form(&path, &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    app.cleanup().await;
}

#[tokio::test]
async fn passwords_follow_the_policy_and_changing_one_ends_sessions() {
    let app = TestApp::sqlite().await;
    let mut c = app.login("dazheng").await;
    let r =
        c.post_form("/account/password", &[("current", PASSWORD), ("new", "short1A"), ("confirm", "short1A")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("密码至少8位"));
    let r =
        c.post_form("/account/password", &[("current", PASSWORD), ("new", "abcdefgh"), ("confirm", "abcdefgh")]).await;
    assert!(r.text().contains("至少三类"));
    let r = c
        .post_form("/account/password", &[("current", "nope"), ("new", "New#Pass2022"), ("confirm", "New#Pass2022")])
        .await;
    assert!(r.text().contains("当前密码不正确"));
    let r = c
        .post_form("/account/password", &[("current", PASSWORD), ("new", "New#Pass2022"), ("confirm", "New#Pass2022")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(c.get("/households").await.status, StatusCode::SEE_OTHER, "logged out everywhere");
    let mut again = app.anonymous();
    assert_eq!(again.post_login("dazheng", "New#Pass2022").await.status, StatusCode::SEE_OTHER);
    app.cleanup().await;
}
