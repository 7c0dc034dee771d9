//! Two `fangpin serve` processes on one PostgreSQL database serve the same users correctly
//! (issue 6): a session opened on one instance works on the other and ends on both when its user
//! logs out, when two people save one household through different instances the second save of
//! the same version gets a 409 in Chinese instead of silently overwriting the first, and an
//! administrator's edit of the work calendar (kept in memory by each process) reaches the other.
//!
//! The real binary runs twice, as in a deployment behind a load balancer; the test talks to it
//! over plain HTTP/1.1 (a few lines over `TcpStream`, no client crate). Without a reachable
//! PostgreSQL the test is skipped with a notice, except under `CI=true`, where
//! `TestDb::postgres()` fails it.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use store::testing::TestDb;

const BIN: &str = env!("CARGO_BIN_EXE_fangpin");
/// Both instances run on the demo's clock (as `serve --demo` does), so that neither sees the
/// other's sessions as idle for hours.
const NOW: &str = "2022-03-28T09:00:00+08:00";
const PASSWORD: &str = "Fangpin@2022";
/// 大正村: the village of the demo's `dazheng` account, inside `town`'s scope.
const DAZHENG: &str = "450203100201";
/// Startup (migrations checked, calendar loaded) takes well under a second; a debug build on a
/// busy machine gets some slack.
const STARTUP: Duration = Duration::from_secs(60);

#[test]
fn two_instances_share_sessions_and_refuse_lost_updates() {
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let Some(pg) = rt.block_on(TestDb::postgres()) else {
        eprintln!("NOTICE: two_instances: PostgreSQL unreachable, test skipped");
        return;
    };
    let url = pg.url.clone();
    // dropped last (declared first): the database outlives the servers, also when a check fails
    let _db = DropDb { rt, pg: Some(pg) };
    let dir = tempfile::tempdir().expect("temp dir");

    // the demo town, small: 300 households are enough to pick one from
    let out = fangpin(dir.path())
        .args(["--database-url", &url, "--now", NOW, "demo", "--households", "300"])
        .output()
        .expect("run fangpin demo");
    assert!(out.status.success(), "fangpin demo failed:\n{}", String::from_utf8_lossy(&out.stderr));

    // both start before either is waited for, as a deployment would start them
    let mut a = Instance::start("A", &url, dir.path());
    let mut b = Instance::start("B", &url, dir.path());
    a.wait_ready();
    b.wait_ready();
    eprintln!("two_instances: demo loaded and both instances up in {:.2?}", started.elapsed());

    // ---- API sessions are shared: a token from one instance works on the other -----------------
    let town = a.api_login("town");
    let cadre = b.api_login("dazheng");
    let list = format!("/api/v1/households?region={DAZHENG}&limit=1");
    let on_a = a.api("GET", &list, &town, None).ok_json();
    let on_b = b.api("GET", &list, &town, None).ok_json();
    assert_eq!(on_a, on_b, "both instances list the same households for the same token");
    assert_eq!(a.api("GET", &list, &cadre, None).status, 200, "B's token works on A");
    let no = on_a["items"][0]["household_no"].as_str().expect("a household in 大正村").to_string();
    let path = format!("/api/v1/households/{no}");

    // ---- both read the household: same version ------------------------------------------------
    let read_a = a.api("GET", &path, &town, None).ok_json();
    let read_b = b.api("GET", &path, &cadre, None).ok_json();
    let v = read_a["version"].as_i64().expect("version");
    assert_eq!(read_b["version"].as_i64(), Some(v), "B reads the version A reads");
    let old_phone = read_b["phone"].clone();

    // ---- the town office saves first, through A ----------------------------------------------
    let address = "两实例测试：镇专项办改的地址";
    let saved = a.api("PUT", &path, &town, Some(json!({"version": v, "address": address}))).ok_json();
    assert_eq!((saved["version"].as_i64(), saved["address"].as_str()), (Some(v + 1), Some(address)));

    // ---- the village cadre saves the version read, through B: a conflict, not an overwrite ----
    let r = b.api("PUT", &path, &cadre, Some(json!({"version": v, "phone": "13807721234"})));
    assert_eq!(r.status, 409, "a stale version on the other instance: {}", r.text());
    let err = &r.json()["error"];
    assert_eq!(err["code"], "conflict", "{}", r.text());
    let message = err["message"].as_str().unwrap_or_default();
    assert!(message.contains("已被他人修改"), "the conflict is explained in Chinese: {message}");
    assert!(message.contains(&(v + 1).to_string()), "and names the current version: {message}");

    // B now reads A's save, its own change not applied; with the new version it saves
    let reread = b.api("GET", &path, &cadre, None).ok_json();
    assert_eq!((reread["version"].as_i64(), reread["address"].as_str()), (Some(v + 1), Some(address)));
    assert_eq!(reread["phone"], old_phone, "the refused save wrote nothing");
    let saved = b.api("PUT", &path, &cadre, Some(json!({"version": v + 1, "phone": "13807721234"}))).ok_json();
    assert_eq!(saved["version"].as_i64(), Some(v + 2));
    // …and A sees both saves
    let last = a.api("GET", &path, &town, None).ok_json();
    assert_eq!(
        (last["version"].as_i64(), last["address"].as_str(), last["phone"].as_str()),
        (Some(v + 2), Some(address), Some("13807721234"))
    );

    // ---- logging out on A ends the token on B too ---------------------------------------------
    assert_eq!(a.api("DELETE", "/api/v1/session", &town, None).status, 204);
    let r = b.api("GET", &list, &town, None);
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (401, Some("unauthorized")), "{}", r.text());
    assert_eq!(b.api("GET", &list, &cadre, None).status, 200, "the other user's session lives on");

    // ---- page sessions (cookies) are shared too ----------------------------------------------
    let cookie = a.page_login("town", "/inbox");
    let inbox = b.page("GET", "/inbox", &cookie, None);
    assert_eq!(inbox.status, 200, "A's session cookie opens B's inbox");
    assert!(inbox.text().contains("镇专项办"), "as the town office");
    let anonymous = b.page("GET", "/inbox", "", None);
    assert_eq!((anonymous.status, anonymous.header("location")), (303, Some("/login?next=%2Finbox")));
    // the session's CSRF token lives with the session: B accepts it for logging out…
    let csrf = csrf_token(&inbox.text()).expect("the logout form's CSRF token");
    let out = b.page("POST", "/logout", &cookie, Some(&format!("_csrf={}", form_encode(&csrf))));
    assert_eq!((out.status, out.header("location")), (303, Some("/login")), "{}", out.text());
    // …and A then sends the cookie to the login page
    let after = a.page("GET", "/inbox", &cookie, None);
    assert_eq!((after.status, after.header("location")), (303, Some("/login?next=%2Finbox")), "logged out on A");

    // ---- the work calendar each instance keeps in memory follows an edit on the other -------
    // Deadlines count working days, so both must count the same ones: an administrator adds a
    // holiday on A, and B rereads the calendar within `web::CALENDAR_REFRESH`.
    let admin = a.page_login("admin", "/admin/calendar");
    let csrf = csrf_token(&a.page("GET", "/admin/calendar", &admin, None).text()).expect("CSRF token");
    let day = "2022-04-06,holiday,000000000000,两实例测试假日";
    assert!(!b.page("GET", "/admin/calendar.csv", &admin, None).text().contains(day), "not a holiday yet");
    let form = format!(
        "_csrf={}&date=2022-04-06&kind=holiday&region=&name={}",
        form_encode(&csrf),
        form_encode("两实例测试假日")
    );
    let r = a.page("POST", "/admin/calendar", &admin, Some(&form));
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(a.page("GET", "/admin/calendar.csv", &admin, None).text().contains(day), "A has the new holiday");
    let edited = Instant::now();
    while !b.page("GET", "/admin/calendar.csv", &admin, None).text().contains(day) {
        assert!(edited.elapsed() < web::CALENDAR_REFRESH * 2, "B still counts 2022-04-06 as a working day");
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("two_instances: B had A's calendar edit after {:.2?}", edited.elapsed());

    eprintln!("two_instances: {:.2?}", started.elapsed());
}

// ---- the two servers -------------------------------------------------------------------------

/// `fangpin` in `dir` (so no stray fangpin.toml is read), without the caller's FANGPIN_* settings.
fn fangpin(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).stdin(Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("FANGPIN_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// A port that was free a moment ago (the listener is dropped, the server binds it next).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// One `fangpin serve` process, killed when dropped (also when the test panics).
struct Instance {
    name: &'static str,
    port: u16,
    child: Child,
    log: PathBuf,
}

impl Instance {
    fn start(name: &'static str, url: &str, dir: &Path) -> Instance {
        // each its own working directory, as on two machines
        let work = dir.join(name);
        std::fs::create_dir_all(&work).expect("working directory");
        let log = dir.join(format!("{name}.log"));
        let out = File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let port = free_port();
        let child = fangpin(&work)
            .args(["--database-url", url, "--now", NOW, "serve", "--bind", &format!("127.0.0.1:{port}")])
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        Instance { name, port, child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `/healthz` answers "ok" (the database is reachable from this instance).
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("instance {} exited ({status}) while starting:\n{}", self.name, self.log());
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                let r = self.request("GET", "/healthz", &[], b"");
                if r.status == 200 && r.text() == "ok" {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "instance {} not ready within {STARTUP:?}:\n{}", self.name, self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        http(self.port, method, path, headers, body)
    }

    /// A JSON API call with a bearer token.
    fn api(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Resp {
        let auth = format!("Bearer {token}");
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        self.request(method, path, &[("authorization", &auth), ("content-type", "application/json")], body.as_bytes())
    }

    /// Logs in through the API; returns the bearer token.
    fn api_login(&self, username: &str) -> String {
        let body = json!({"username": username, "password": PASSWORD}).to_string();
        let r = self.request("POST", "/api/v1/session", &[("content-type", "application/json")], body.as_bytes());
        r.ok_json()["token"].as_str().expect("a token").to_string()
    }

    /// A page request with a `Cookie` header, and a form body when given.
    fn page(&self, method: &str, path: &str, cookie: &str, form: Option<&str>) -> Resp {
        let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
        if !cookie.is_empty() {
            headers.push(("cookie", cookie));
        }
        self.request(method, path, &headers, form.unwrap_or("").as_bytes())
    }

    /// Logs in through the login form, as a browser does; returns the session cookie
    /// (`fp_session=…`).
    fn page_login(&self, username: &str, next: &str) -> String {
        let form = self.request("GET", "/login", &[], b"");
        let token = csrf_token(&form.text()).expect("the login form's CSRF token");
        let login_cookie = form.cookie("fp_login").expect("the login form's cookie");
        let body = [("_csrf", token.as_str()), ("username", username), ("password", PASSWORD), ("next", next)]
            .iter()
            .map(|(k, v)| format!("{k}={}", form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let r = self.page("POST", "/login", &format!("fp_login={login_cookie}"), Some(&body));
        assert_eq!((r.status, r.header("location")), (303, Some(next)), "login of {username}: {}", r.text());
        format!("fp_session={}", r.cookie("fp_session").expect("a session cookie"))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("---- log of instance {} ----\n{}", self.name, self.log());
        }
    }
}

/// The test database, dropped after the servers are gone.
struct DropDb {
    rt: tokio::runtime::Runtime,
    pg: Option<TestDb>,
}

impl Drop for DropDb {
    fn drop(&mut self) {
        if let Some(pg) = self.pg.take() {
            self.rt.block_on(pg.cleanup());
        }
    }
}

// ---- a minimal HTTP/1.1 client ---------------------------------------------------------------

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The JSON body of a 200 answer.
    #[track_caller]
    fn ok_json(&self) -> Value {
        assert_eq!(self.status, 200, "{}", self.text());
        self.json()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The value a `Set-Cookie` header gives the cookie `name`.
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, v)| v.split(';').next()?.split_once('='))
            .find(|(k, _)| k.trim() == name)
            .map(|(_, v)| v.to_string())
    }
}

/// One request on its own connection (`Connection: close`: the answer ends when the server
/// closes), so no keep-alive or pipelining to get wrong.
fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("connect to port {port}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(30))).expect("read timeout");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).and_then(|()| s.write_all(body)).expect("send the request");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"));
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("the end of the headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body);
    }
    Resp { status, headers, body }
}

/// A chunked body's data: `<hex size>\r\n<data>\r\n`… up to the zero-size chunk.
fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size_line = String::from_utf8_lossy(&rest[..eol]);
        let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16).expect("a chunk size");
        if size == 0 {
            break;
        }
        out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
        rest = &rest[eol + 2 + size + 2..];
    }
    out
}

/// `application/x-www-form-urlencoded` value encoding.
fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The first `_csrf` hidden field of a page.
fn csrf_token(html: &str) -> Option<String> {
    let at = html.find("name=\"_csrf\" value=\"")? + "name=\"_csrf\" value=\"".len();
    Some(html[at..].split('"').next()?.to_string())
}
