//! fangpin's web layer: Chinese HTML pages (askama + htmx, mobile first) and the JSON API
//! under `/api/v1` (OpenAPI at `/api/v1/openapi.json`, Swagger UI at `/api/docs`).
//!
//! Handlers are thin: authenticate (the extractors in `auth`), call one domain function with
//! the caller's scope, render. Every household read goes through the scope the extractor built.

pub mod api;
pub mod api_alerts;
pub mod api_cases;
pub mod api_oversight;
pub mod api_questions;
pub mod auth;
pub mod charts;
pub mod dashboard_cache;
pub mod error;
pub mod jobs;
pub mod notify;
pub mod pages;
pub mod regions;
pub mod resident;
pub mod views;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderValue, Response, StatusCode, header};
use axum::routing::get;
use domain::clock::Clock;
use store::Db;
use tower_http::set_header::SetResponseHeaderLayer;

/// Settings the web layer needs (from the binary's configuration).
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Idle sessions end after this long (issue 2: 30 minutes by default).
    pub idle_timeout: Duration,
    /// Mark cookies `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// Largest accepted upload.
    pub max_upload_bytes: usize,
    /// Where uploads and generated reports are kept while a job runs.
    pub work_dir: std::path::PathBuf,
    /// Login attempts per minute from one address before 429.
    pub login_attempts_per_minute: u32,
    /// How long a dashboard's figures are reused ([`dashboard_cache`]); zero computes every time.
    pub dashboard_cache: Duration,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            idle_timeout: Duration::from_secs(30 * 60),
            secure_cookies: false,
            max_upload_bytes: 200 * 1024 * 1024,
            work_dir: std::env::temp_dir().join("fangpin-work"),
            login_attempts_per_minute: 20,
            dashboard_cache: Duration::from_secs(5),
        }
    }
}

/// Shared state of every request.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<WebConfig>,
    pub regions: Arc<regions::RegionCache>,
    pub jobs: Arc<jobs::Jobs>,
    /// The registry resident in memory for full screenings ([`resident`]).
    pub resident: Arc<resident::Resident>,
    pub throttle: Arc<auth::Throttle>,
    /// Dashboards reused for a few seconds; told of every change made through this process.
    pub dashboards: Arc<dashboard_cache::DashboardCache>,
    /// Working days for deadlines (DOMAIN D10, D11): the database's calendar once loaded
    /// ([`AppState::reload_calendar`]); replaced when an administrator edits it, and reread every
    /// [`CALENDAR_REFRESH`] while serving (the edit may have been made on another process).
    calendar: Arc<std::sync::RwLock<Arc<domain::calendar::WorkCalendar>>>,
}

impl AppState {
    pub fn new(db: Db, clock: Arc<dyn Clock>, config: WebConfig) -> Self {
        let throttle = auth::Throttle::new(config.login_attempts_per_minute);
        let dashboards = Arc::new(dashboard_cache::DashboardCache::new(config.dashboard_cache));
        AppState {
            regions: Arc::new(regions::RegionCache::new(db.clone())),
            db,
            clock,
            config: Arc::new(config),
            jobs: Arc::new(jobs::Jobs::default()),
            resident: Arc::new(resident::Resident::default()),
            throttle: Arc::new(throttle),
            dashboards,
            calendar: Arc::new(std::sync::RwLock::new(Arc::new(domain::calendar::WorkCalendar::builtin()))),
        }
    }

    /// The work calendar in use.
    pub fn calendar(&self) -> Arc<domain::calendar::WorkCalendar> {
        self.calendar.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set_calendar(&self, c: domain::calendar::WorkCalendar) {
        *self.calendar.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(c);
    }

    /// The dashboard of `region` (default: the scope's own) for the scope, today: from the cache
    /// when fresh enough ([`dashboard_cache`]), after the scope is checked.
    pub async fn dashboard(
        &self,
        scope: &domain::Scope,
        region: Option<domain::RegionCode>,
        campaign: Option<domain::campaign::CampaignId>,
    ) -> Result<dashboard_cache::Cached, domain::service::EditError> {
        let today = self.clock.today();
        let region = domain::dashboard::dashboard_region(scope, region)?;
        let key = dashboard_cache::Key::new(scope, region, campaign, today);
        let (state, scope) = (self.clone(), *scope);
        self.dashboards
            .get(key, move || {
                let state = state.clone();
                async move {
                    let as_of = state.clock.now();
                    let cal = state.calendar();
                    let d =
                        domain::dashboard::dashboard(&state.db, &cal, &scope, Some(region), campaign, today).await?;
                    Ok((d, as_of))
                }
            })
            .await
    }

    /// Loads the database's calendar (storing the shipped one on first use).
    pub async fn reload_calendar(&self) -> Result<(), domain::service::EditError> {
        let c = domain::service::load_calendar(&self.db, self.clock.now()).await?;
        self.set_calendar(c);
        Ok(())
    }
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_upload_bytes;
    Router::new()
        .merge(pages::routes())
        .merge(api::routes())
        .route("/healthz", get(healthz))
        .route("/static/{*path}", get(asset))
        .fallback(pages::not_found)
        // inside the CSRF guard: a refused request is not a change, and the guard has loaded the
        // page session whose region the change is within
        .layer(axum::middleware::from_fn_with_state(state.clone(), note_changes))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::csrf_guard))
        .layer(axum::middleware::from_fn(error::explain_rejections))
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'",
            ),
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(error::panic_response))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<Body>| {
            // path only: query strings may carry search terms (names, ID numbers)
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
        }))
        .with_state(state)
}

/// Serves the application on a bound listener until `shutdown` completes. Client addresses are
/// passed to the handlers (login throttling).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    state.reload_calendar().await.map_err(|e| std::io::Error::other(format!("工作日历：{e}")))?;
    // the background work ends with the server, and so do the dashboards' refreshes under way: a
    // process that serves again, or closes the pool after (the bench, the tests), would otherwise
    // keep tasks polling a closed pool
    let mut background = AbortOnDrop {
        tasks: vec![
            notify::spawn(state.clone(), std::time::Duration::from_secs(5)),
            spawn_calendar_refresh(state.clone(), CALENDAR_REFRESH),
            spawn_tally_compaction(state.db.clone(), TALLY_CHECK),
        ],
        dashboards: Arc::clone(&state.dashboards),
    };
    let served = axum::serve(listener, router(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    background.stop().await;
    served
}

/// The server's background tasks and the dashboards' refreshes, aborted when this is dropped (the
/// server's future was dropped) or stopped.
struct AbortOnDrop {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    dashboards: Arc<dashboard_cache::DashboardCache>,
}

impl AbortOnDrop {
    /// Aborts the tasks and waits until they are gone: none touches the pool after this.
    async fn stop(&mut self) {
        for t in std::mem::take(&mut self.tasks) {
            t.abort();
            let _ = t.await;
        }
        self.dashboards.stop_refreshes().await;
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        self.dashboards.abort_refreshes();
    }
}

/// How often a running server rereads the work calendar: several processes may serve one
/// PostgreSQL database, and an administrator's edit swaps the calendar only in the process that
/// received it. The others count working days the new way within this time.
pub const CALENDAR_REFRESH: Duration = Duration::from_secs(10);

fn spawn_calendar_refresh(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = state.reload_calendar().await {
                tracing::warn!(error = %e, "could not reread the work calendar: keeping the one in use");
            }
        }
    })
}

/// How often a running server looks at the dashboard tallies' backlog (migration 0016), and the
/// backlog at which it folds them: a dashboard read sums at most about this many rows beyond one
/// per key. The backlog is kept in the database, so several processes do not fold each other's
/// folds; folding at the same time is safe.
pub const TALLY_CHECK: Duration = Duration::from_secs(30);
const TALLY_FOLD_AT: u64 = 2_000;

fn spawn_tally_compaction(db: Db, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // at start, whatever an import or another process left
        let mut at_least = 1;
        loop {
            if db.tally_backlog().await.is_ok_and(|n| n >= at_least) {
                let started = std::time::Instant::now();
                match db.compact_tallies().await {
                    Ok(folded) => {
                        tracing::info!(folded, ms = started.elapsed().as_millis() as u64, "dashboard tallies folded")
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not fold the dashboard tallies: reads stay exact, only slower")
                    }
                }
            }
            at_least = TALLY_FOLD_AT;
            tokio::time::sleep(every).await;
        }
    })
}

/// After any request that may have changed data, the dashboards this process keeps of regions
/// overlapping the writer's are recomputed on their next read: the handler's writes have committed
/// by then, and a user writes only within their region (a writer not known here — an API token —
/// and the administration and campaign pages, whose calendar, parameters and campaigns reach
/// beyond it, count for every region; a request without a live session writes nothing). Reads (GET, HEAD, OPTIONS), logins and logouts (sessions are not
/// counted) and refused requests (4xx: nothing written) leave them; a handler that panicked or whose
/// client went away after its commit still counts (the guard is dropped either way).
async fn note_changes(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response<Body> {
    use axum::http::Method;
    struct Changed(Option<(Arc<dashboard_cache::DashboardCache>, Option<domain::RegionCode>)>);
    impl Drop for Changed {
        fn drop(&mut self) {
            if let Some((c, region)) = &self.0 {
                c.invalidate_within(*region);
            }
        }
    }
    let reads_only = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let path = req.uri().path();
    let session_only = matches!(path, "/login" | "/logout" | "/api/v1/session");
    // the work calendar is one for every region and a parameter may apply above its editor's region
    // (administration pages); a dashboard follows a campaign chosen among all its viewer's (campaign
    // pages): those count for every region
    let everywhere = path.starts_with("/admin/") || path.starts_with("/campaigns");
    let within = match auth::writer(&req) {
        auth::Writer::Page(region) if !everywhere => Some(region),
        auth::Writer::Page(_) | auth::Writer::Unknown => Some(None),
        auth::Writer::Nobody => None,
    };
    let mut changed =
        Changed(within.filter(|_| !reads_only && !session_only).map(|region| (Arc::clone(&state.dashboards), region)));
    let res = next.run(req).await;
    if res.status().is_client_error() {
        changed.0 = None;
    }
    res
}

async fn healthz(axum::extract::State(state): axum::extract::State<AppState>) -> (StatusCode, &'static str) {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}

#[derive(rust_embed::Embed)]
#[folder = "static/"]
struct Assets;

async fn asset(Path(path): Path<String>) -> Response<Body> {
    match Assets::get(&path) {
        Some(f) => {
            let mime = match path.rsplit('.').next() {
                Some("css") => "text/css; charset=utf-8",
                Some("js") => "text/javascript; charset=utf-8",
                Some("svg") => "image/svg+xml",
                Some("png") => "image/png",
                _ => "application/octet-stream",
            };
            Response::builder()
                .header(header::CONTENT_TYPE, mime)
                // file names of vendored files carry their version; app files change with releases
                .header(header::CACHE_CONTROL, "public, max-age=3600")
                .body(Body::from(f.data.into_owned()))
                .unwrap_or_default()
        }
        None => Response::builder().status(StatusCode::NOT_FOUND).body(Body::from("not found")).unwrap_or_default(),
    }
}
