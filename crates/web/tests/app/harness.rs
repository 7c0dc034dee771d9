//! TestApp: the router over a fresh database with two villages' households and one user per
//! role; a manual clock; clients that log in and carry their cookie and CSRF token.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use domain::account::{Actor, Role};
use domain::clock::ManualClock;
use domain::codes::*;
use domain::household::{Household, HouseholdNo, Monitoring, PersonName, Phone};
use domain::income::IncomeRecord;
use domain::member::Member;
use domain::money::Fen;
use domain::national_id::NationalId;
use domain::ports::{HouseholdStore, ImportMeta, IncomingHousehold, ParamStore, RegionStore};
use domain::region::{RegionCode, luorong_regions};
use store::testing::TestDb;
use tower::ServiceExt;

pub const PASSWORD: &str = "Fangpin@2022";
pub const DAZHENG: u64 = 450_203_100_201;
pub const DONGTANG: u64 = 450_203_100_202;
/// 大正村 households: D1 (head 韦国强), D2 (head 覃秀兰, monitored); 东塘村: T1 (head 蒙志刚).
pub const D1: &str = "4502031002010001";
pub const D2: &str = "4502031002010002";
pub const T1: &str = "4502031002020001";
pub const D1_HEAD_ID: &str = "450203197001010012";
pub const D1_SPOUSE_ID: &str = "450203197203040025";
pub const T1_HEAD_ID: &str = "450203196505050013";

/// The whole registry screened at `at` (as of that day), as the town's screening run does.
pub async fn screen_at(app: &TestApp, at: DateTime<Utc>) {
    domain::screening::screen(
        &app.db,
        &domain::calendar::WorkCalendar::builtin(),
        &domain::Scope::system(),
        &domain::Actor::cli(),
        at,
        at.date_naive(),
        None,
        &mut |_, _| {},
    )
    .await
    .unwrap();
}

pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 3, 28, 1, 0, 0).unwrap()
}

fn id(s: &str) -> NationalId {
    let n = NationalId::parse(s).unwrap();
    assert!(n.is_checksum_valid(), "fixture ID {s} must be valid: expected check {}", n.expected_check_char());
    n
}

fn member(name: &str, national_id: &str, relation: Relation) -> Member {
    Member::new(PersonName::parse(name).unwrap(), id(national_id), relation)
}

pub fn fixture_households() -> Vec<IncomingHousehold> {
    let v = |c| RegionCode::from_u64(c).unwrap();
    let mut d1 = Household::new(HouseholdNo::parse(D1).unwrap(), v(DAZHENG), HouseholdKind::Ordinary);
    d1.group_no = 3;
    d1.address = "雒容镇大正村3组12号".into();
    d1.phone = Some(Phone::parse("13807721234").unwrap());
    d1.housing_grade = Some(HousingGrade::B);
    d1.water.safe = Some(true);
    let mut wife = member("李秀英", D1_SPOUSE_ID, Relation::Spouse);
    wife.health = Health::parse("长期慢性病").unwrap();
    wife.education = Some(Education::Primary);
    let mut d2 = Household::new(HouseholdNo::parse(D2).unwrap(), v(DAZHENG), HouseholdKind::PovertyExited);
    d2.group_no = 1;
    d2.exit_year = Some(2019);
    d2.monitoring = Monitoring::Monitored {
        category: MonitoringCategory::UnstableExited,
        since: NaiveDate::from_ymd_opt(2021, 9, 1).unwrap(),
    };
    d2.risks = vec![RiskType::Illness];
    let mut t1 = Household::new(HouseholdNo::parse(T1).unwrap(), v(DONGTANG), HouseholdKind::Ordinary);
    t1.group_no = 2;
    vec![
        IncomingHousehold {
            household: d1,
            members: vec![member("韦国强", D1_HEAD_ID, Relation::Head), wife],
            income: Some(IncomeRecord {
                year: 2021,
                wage: Fen::from_yuan(30_000),
                transfer: Fen::from_yuan(1_200),
                ..Default::default()
            }),
        },
        IncomingHousehold {
            household: d2,
            members: vec![member("覃秀兰", "450203195806070021", Relation::Head)],
            income: Some(IncomeRecord {
                year: 2021,
                wage: Fen::from_yuan(4_000),
                out_of_pocket: Fen::from_yuan(3_000),
                ..Default::default()
            }),
        },
        IncomingHousehold {
            household: t1, members: vec![member("蒙志刚", T1_HEAD_ID, Relation::Head)], income: None
        },
    ]
}

pub const USERS: &[(&str, Role, u64)] = &[
    ("admin", Role::Admin, 450_000_000_000),
    ("town", Role::TownOffice, 450_203_100_000),
    ("dazheng", Role::VillageCadre, DAZHENG),
    ("dongtang", Role::VillageCadre, DONGTANG),
    ("leader", Role::Leader, 450_203_100_000),
    ("screener", Role::Screener, DAZHENG),
    ("screener2", Role::Screener, DAZHENG),
    ("dtscreener", Role::Screener, DONGTANG),
    ("county", Role::CountyApprover, 450_203_000_000),
    ("officer", Role::AssistanceOfficer, 450_203_100_000),
    ("yibao", Role::DepartmentStaff, 450_203_000_000),
    ("jiaoyu", Role::DepartmentStaff, 450_203_000_000),
    ("duda", Role::Supervisor, 450_203_100_000),
    ("dudb", Role::Supervisor, 450_203_100_000),
];

pub struct TestApp {
    pub db: store::Db,
    pub clock: Arc<ManualClock>,
    pub router: Router,
    pub label: &'static str,
    t: Option<TestDb>,
    work: tempfile::TempDir,
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        Self::on(TestDb::sqlite().await).await
    }

    /// SQLite, then PostgreSQL when it is available (required under CI).
    pub async fn both() -> Vec<TestApp> {
        let mut v = Vec::new();
        for t in TestDb::both().await {
            v.push(Self::on(t).await);
        }
        v
    }

    pub async fn on(t: TestDb) -> TestApp {
        let db = t.db.clone();
        let actor = Actor::system("测试");
        db.upsert_regions(&actor, start(), &luorong_regions()).await.unwrap();
        let plan = domain::import::plan(fixture_households(), vec![]);
        let meta = ImportMeta { file_name: "fixture.xlsx".into(), file_sha256: "0".repeat(64), rows: 4, warnings: 0 };
        db.apply_import(&actor, start(), &meta, &plan).await.unwrap();
        let gx = RegionCode::from_u64(450_000_000_000).unwrap();
        db.set_param(&actor, start(), 2022, gx, domain::params::ParamName::MonitoringLine, 650_000, true, "示例值")
            .await
            .unwrap();
        for (u, role, region) in USERS {
            web::auth::create_user(
                &db,
                &actor,
                start(),
                u,
                &format!("{u}用户"),
                *role,
                RegionCode::from_u64(*region).unwrap(),
                PASSWORD,
            )
            .await
            .unwrap();
        }
        // the department accounts: the district's 医保 and 教育
        for (u, d) in [
            ("yibao", domain::measure::Department::MedicalSecurity),
            ("jiaoyu", domain::measure::Department::Education),
        ] {
            let (user, _) = domain::ports::UserStore::user_by_username(&db, u).await.unwrap().unwrap();
            domain::ports::DepartmentTaskStore::set_user_department(&db, &actor, start(), user.id, Some(d))
                .await
                .unwrap();
        }
        let clock = Arc::new(ManualClock::new(start()));
        let work = tempfile::tempdir().unwrap();
        let config = web::WebConfig {
            work_dir: work.path().to_path_buf(),
            login_attempts_per_minute: 1000,
            ..Default::default()
        };
        let state = web::AppState::new(db.clone(), clock.clone(), config);
        TestApp { db, clock, router: web::router(state), label: t.label, t: Some(t), work }
    }

    /// The files left in the server's work directory (uploads, exports, reports).
    pub fn work_files(&self) -> Vec<String> {
        std::fs::read_dir(self.work.path())
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    }

    pub async fn cleanup(mut self) {
        if let Some(t) = self.t.take() {
            t.cleanup().await;
        }
    }

    pub async fn send(&self, req: Request<Body>) -> Resp {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = to_bytes(res.into_body(), 64 * 1024 * 1024).await.unwrap();
        Resp { status, headers, bytes: bytes.to_vec() }
    }

    pub fn anonymous(&self) -> Client<'_> {
        Client { app: self, cookies: Vec::new(), csrf: String::new(), bearer: None }
    }

    /// Logs in through the login form, as a browser does.
    pub async fn login(&self, username: &str) -> Client<'_> {
        let mut c = self.anonymous();
        let r = c.post_login(username, PASSWORD).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "login of {username} failed: {}", r.text());
        // the CSRF token of the session is on every page
        let page = c.get("/households").await;
        c.csrf = extract_csrf(&page.text()).expect("csrf token on the page");
        c
    }

    /// Logs in through the API and returns a client using the bearer token.
    pub async fn api_login(&self, username: &str) -> Client<'_> {
        let mut c = self.anonymous();
        let r =
            c.json("POST", "/api/v1/session", serde_json::json!({"username": username, "password": PASSWORD})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        c.bearer = Some(r.json()["token"].as_str().unwrap().to_string());
        c
    }

    pub async fn household_version(&self, no: &str) -> i64 {
        self.db
            .household(&domain::Scope::system(), &HouseholdNo::parse(no).unwrap())
            .await
            .unwrap()
            .unwrap()
            .record
            .version
    }
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn location(&self) -> String {
        self.headers.get(header::LOCATION).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect()
    }
}

pub fn extract_csrf(html: &str) -> Option<String> {
    let i = html.find("name=\"_csrf\" value=\"")? + "name=\"_csrf\" value=\"".len();
    Some(html[i..].split('"').next()?.to_string())
}

/// A browser or API client: cookies, the CSRF token, or a bearer token.
pub struct Client<'a> {
    pub app: &'a TestApp,
    pub cookies: Vec<(String, String)>,
    pub csrf: String,
    pub bearer: Option<String>,
}

impl Client<'_> {
    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn absorb(&mut self, r: &Resp) {
        for c in r.set_cookies() {
            let kv = c.split(';').next().unwrap();
            let (k, v) = kv.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            if !c.contains("Max-Age=0") {
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
    }

    pub fn builder(&self, method: &str, path: &str) -> axum::http::request::Builder {
        let mut b = Request::builder().method(method).uri(path).header(header::HOST, "fangpin.test");
        if !self.cookies.is_empty() {
            b = b.header(header::COOKIE, self.cookie_header());
        }
        if let Some(t) = &self.bearer {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        b
    }

    pub async fn send(&mut self, req: Request<Body>) -> Resp {
        let r = self.app.send(req).await;
        self.absorb(&r);
        r
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        let req = self.builder("GET", path).body(Body::empty()).unwrap();
        self.send(req).await
    }

    pub async fn head(&mut self, path: &str) -> Resp {
        let req = self.builder("HEAD", path).body(Body::empty()).unwrap();
        self.send(req).await
    }

    /// Posts a form with the session's CSRF token.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let mut all: Vec<(&str, &str)> = vec![("_csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &encode(&all)).await
    }

    pub async fn post_raw(&mut self, path: &str, body: &str) -> Resp {
        let req = self
            .builder("POST", path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(req).await
    }

    pub async fn post_login(&mut self, username: &str, password: &str) -> Resp {
        let page = self.get("/login").await;
        let token = extract_csrf(&page.text()).unwrap();
        let body =
            encode(&[("_csrf", &token), ("username", username), ("password", password), ("next", "/households")]);
        self.post_raw("/login", &body).await
    }

    pub async fn json(&mut self, method: &str, path: &str, body: serde_json::Value) -> Resp {
        let mut b = self.builder(method, path).header(header::CONTENT_TYPE, "application/json");
        if self.bearer.is_none() && !self.csrf.is_empty() {
            b = b.header("x-csrf-token", self.csrf.clone());
        }
        let req = b.body(Body::from(body.to_string())).unwrap();
        self.send(req).await
    }

    /// A multipart upload of one file (plus text fields); the CSRF token in the query for pages.
    pub async fn upload(&mut self, path: &str, file_name: &str, content: &[u8], fields: &[(&str, &str)]) -> Resp {
        let boundary = "----fangpinTestBoundary7MA4YWxkTrZu0gW";
        let mut body: Vec<u8> = Vec::new();
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
        for (k, v) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
            );
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let uri = if self.bearer.is_none() { format!("{path}?_csrf={}", self.csrf) } else { path.to_string() };
        let req = self
            .builder("POST", &uri)
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }
}

pub fn encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", urlencoding::encode(k), urlencoding::encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Every field of the household edit form as the page prefills it, with changes applied.
pub fn household_form(html: &str, changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    // inputs and textareas
    for part in html.split("<input").skip(1) {
        let tag = part.split('>').next().unwrap_or("");
        let attr = |a: &str| {
            tag.find(&format!(" {a}=\"")).map(|i| tag[i + a.len() + 3..].split('"').next().unwrap_or("").to_string())
        };
        if let (Some(name), value) = (attr("name"), attr("value")) {
            if name == "_csrf" || attr("type").as_deref() == Some("checkbox") {
                continue;
            }
            out.push((name, html_unescape(&value.unwrap_or_default())));
        }
    }
    for part in html.split("<textarea").skip(1) {
        let name = part.split("name=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or("").to_string();
        let value = part.split('>').nth(1).and_then(|s| s.split("</textarea").next()).unwrap_or("");
        out.push((name, html_unescape(value)));
    }
    for part in html.split("<select").skip(1) {
        let name = part.split("name=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or("").to_string();
        let body = part.split("</select>").next().unwrap_or("");
        let selected = body
            .split("<option")
            .find(|o| o.contains(" selected"))
            .and_then(|o| o.split("value=\"").nth(1))
            .and_then(|s| s.split('"').next())
            .unwrap_or("");
        out.push((name, html_unescape(selected)));
    }
    for (k, v) in changes {
        match out.iter_mut().find(|(n, _)| n == k) {
            Some(slot) => slot.1 = v.to_string(),
            None => out.push((k.to_string(), v.to_string())),
        }
    }
    out
}

pub fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Redacts per-run values (tokens) from a page for snapshots.
pub fn redact(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    // 43-character URL-safe tokens (session CSRF, login form token)
    while let Some(i) = rest.find("value=\"") {
        out.push_str(&rest[..i + 7]);
        rest = &rest[i + 7..];
        let end = rest.find('"').unwrap_or(0);
        let v = &rest[..end];
        if v.len() == 43 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            out.push_str("[token]");
        } else {
            out.push_str(v);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    let mut s = out;
    while let Some(i) = s.find("x-csrf-token\": \"") {
        let start = i + "x-csrf-token\": \"".len();
        let end = start + s[start..].find('"').unwrap_or(0);
        if &s[start..end] == "[token]" {
            break;
        }
        s.replace_range(start..end, "[token]");
    }
    s
}
