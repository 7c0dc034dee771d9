//! Findings: the queue of what the screening rules found (by village and code), and acting on
//! one (dismiss with a reason, screen a household again).

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::account::Permission;
use domain::household::HouseholdNo;
use domain::ports::{
    FindingChanges, FindingFilter, FindingRecord, FindingStatus, FindingStore, HouseholdStore, ParamStore,
    ResidentSource,
};
use domain::region::RegionCode;
use domain::rules::Context;
use domain::rules::FindingCode;
use serde::Deserialize;

use super::{Chrome, Opt, redirect_with_flash, render, require};
use crate::AppState;
use crate::auth::{Authed, PageAuth};
use crate::error::PageError;
use crate::jobs::{self, JobState};
use crate::views::china_time;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/findings", get(queue))
        .route("/findings/{id}/dismiss", post(dismiss))
        .route("/households/{no}/screen", post(screen_household))
        .route("/findings/screen", post(screen_all))
        .route("/findings/screenings/{id}", get(screening_page))
        .route("/findings/screenings/{id}/progress", get(screening_progress))
}

/// A finding as the pages show it.
pub struct FindingLine {
    pub id: i64,
    pub household_no: String,
    pub village: String,
    pub code: String,
    pub code_key: &'static str,
    pub sub_code: String,
    pub category: String,
    pub rule: String,
    pub explanation: String,
    pub status: String,
    pub open: bool,
    pub status_note: String,
    pub as_of: String,
    pub first_seen: String,
}

pub fn finding_line(f: &FindingRecord, village: String) -> FindingLine {
    FindingLine {
        id: f.id,
        household_no: f.household_no.to_string(),
        village,
        code: f.code.label().to_string(),
        code_key: f.code.key(),
        sub_code: f.sub_code.clone(),
        category: f.suggested_category.map(|c| c.label().to_string()).unwrap_or_default(),
        rule: format!("{} 第{}版", f.rule_id, f.rule_version),
        explanation: f.explanation.clone(),
        status: f.status.label().to_string(),
        open: f.status == FindingStatus::Open,
        status_note: match (&f.status_by, f.status_at) {
            (Some(by), Some(at)) if f.status != FindingStatus::Open => {
                format!("{by} {}：{}", china_time(at), f.status_note)
            }
            _ => String::new(),
        },
        as_of: f.as_of.to_string(),
        first_seen: china_time(f.first_seen),
    }
}

/// Open findings per village and code.
pub struct CountRow {
    pub village: String,
    pub village_code: String,
    pub counts: Vec<i64>,
    pub total: i64,
}

#[derive(Template)]
#[template(path = "findings.html")]
struct QueuePage {
    chrome: Chrome,
    codes: Vec<(&'static str, &'static str)>,
    counts: Vec<CountRow>,
    villages: Vec<Opt>,
    code_opts: Vec<Opt>,
    status_opts: Vec<Opt>,
    items: Vec<FindingLine>,
    total: i64,
    next_link: Option<String>,
    /// Where a dismissal returns to.
    back: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    village: String,
    code: String,
    status: String,
    after: String,
}

pub async fn queue(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Query(q): Query<QueueQuery>,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let regions = state.regions.get().await;
    // open findings unless another status is asked for ("all" = every status)
    let status = match q.status.as_str() {
        "" => Some(FindingStatus::Open),
        "all" => None,
        s => FindingStatus::ALL.iter().copied().find(|x| x.code().to_string() == s),
    };
    let filter = FindingFilter {
        region: RegionCode::parse(&q.village).ok(),
        code: FindingCode::from_key(&q.code),
        status,
        household: None,
        after: q.after.parse().ok(),
    };
    let page = state.db.findings(&a.scope, &filter, 50).await?;
    let mut by_village: BTreeMap<RegionCode, Vec<i64>> = BTreeMap::new();
    for (v, code, st, n) in state.db.finding_counts(&a.scope).await? {
        if st == FindingStatus::Open {
            let row = by_village.entry(v).or_insert_with(|| vec![0; FindingCode::ALL.len()]);
            if let Some(i) = FindingCode::ALL.iter().position(|c| *c == code) {
                row[i] += n;
            }
        }
    }
    let counts = by_village
        .into_iter()
        .map(|(v, counts)| CountRow {
            village: regions.name(v),
            village_code: v.to_string(),
            total: counts.iter().sum(),
            counts,
        })
        .collect();
    let mut villages = vec![Opt { value: String::new(), label: "全部村".into(), selected: q.village.is_empty() }];
    villages.extend(regions.villages_in(&a.scope).into_iter().map(|r| Opt {
        value: r.code.to_string(),
        label: r.name.clone(),
        selected: r.code.to_string() == q.village,
    }));
    let mut code_opts = vec![Opt { value: String::new(), label: "全部发现".into(), selected: q.code.is_empty() }];
    code_opts.extend(FindingCode::ALL.iter().map(|c| Opt {
        value: c.key().to_string(),
        label: c.label().to_string(),
        selected: c.key() == q.code,
    }));
    let mut status_opts = vec![Opt { value: String::new(), label: "待处理".into(), selected: q.status.is_empty() }];
    status_opts.extend(FindingStatus::ALL.iter().filter(|s| **s != FindingStatus::Open).map(|s| Opt {
        value: s.code().to_string(),
        label: s.label().to_string(),
        selected: s.code().to_string() == q.status,
    }));
    status_opts.push(Opt { value: "all".into(), label: "全部状态".into(), selected: q.status == "all" });
    let base = format!(
        "/findings?village={}&code={}&status={}",
        urlencoding::encode(&q.village),
        urlencoding::encode(&q.code),
        urlencoding::encode(&q.status)
    );
    let tpl = QueuePage {
        chrome: Chrome::new(&state, &a, &headers).await,
        codes: FindingCode::ALL.iter().map(|c| (c.key(), c.label())).collect(),
        counts,
        villages,
        code_opts,
        status_opts,
        items: page.items.iter().map(|f| finding_line(f, regions.name(f.village))).collect(),
        total: page.total,
        next_link: page.next.map(|n| format!("{base}&after={n}")),
        back: base,
    };
    render(&tpl, &tpl.chrome)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DismissForm {
    reason: String,
    back: String,
}

pub async fn dismiss(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Path(id): Path<i64>,
    Form(f): Form<DismissForm>,
) -> Result<Response, PageError> {
    require(&a, Permission::Screen)?;
    let back = super::local_path(&f.back, "/findings");
    if f.reason.trim().chars().count() < 2 {
        return Ok(redirect_with_flash(&back, "排除发现须写明理由（如：已入户核实，收入另有来源）"));
    }
    state
        .db
        .set_finding_status(&a.actor(), state.clock.now(), &a.scope, id, FindingStatus::Dismissed, f.reason.trim())
        .await?;
    Ok(redirect_with_flash(&back, "已排除该发现，理由已记录"))
}

/// Screens one household now and records its findings; the message says what came out.
pub async fn rescreen(state: &AppState, a: &Authed, no: &HouseholdNo) -> String {
    let Ok(Some(d)) = state.db.household(&a.scope, no).await else { return String::new() };
    match domain::screening::screen_one(&state.db, &state.calendar(), state.clock.now(), state.clock.today(), &d).await
    {
        Ok(f) if f.is_empty() => "；重新筛查：没有发现问题".to_string(),
        Ok(f) => format!("；重新筛查：有{}条发现，见下方", f.len()),
        Err(e) => format!("；未能重新筛查：{e}"),
    }
}

pub async fn screen_household(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Path(no): Path<String>,
) -> Result<Response, PageError> {
    require(&a, Permission::Screen)?;
    let no = HouseholdNo::parse(&no).map_err(|_| PageError::NotFound)?;
    state.db.household(&a.scope, &no).await?.ok_or(PageError::NotFound)?;
    let msg = rescreen(&state, &a, &no).await;
    Ok(redirect_with_flash(&format!("/households/{no}"), msg.trim_start_matches('；')))
}

/// What a full screening from the findings page did, for its job page.
#[derive(Debug, Clone)]
pub struct ScreeningDone {
    pub run_id: i64,
    pub region: String,
    pub households: usize,
    pub findings: usize,
    pub changes: FindingChanges,
    /// Households loaded into memory first (0: already resident).
    pub loaded: usize,
    /// Households read again because they changed since the snapshot last saw them.
    pub reread: usize,
    /// Households saved while the screening ran, screened again as saved.
    pub rescreened: usize,
    /// Households still being saved after that: left for the next screening.
    pub skipped: usize,
    /// Seconds: making the resident registry current, the rules, writing the results.
    pub refresh_seconds: f64,
    pub pass_seconds: f64,
    pub write_seconds: f64,
}

/// Starts a full screening of the user's region (全面筛查) as a job with a progress bar: the
/// resident registry ([`crate::resident`]) made current, every household through the same rules
/// as one household after a save, the findings recorded like `fangpin screen` records them. One
/// at a time per server: a second request is shown the one under way.
pub async fn screen_all(State(state): State<AppState>, PageAuth(a): PageAuth) -> Result<Response, PageError> {
    require(&a, Permission::Screen)?;
    let turn = match state.resident.begin() {
        Ok(turn) => turn,
        Err(running) => {
            // its page, when it is this user's; otherwise the queue
            let to = match running.filter(|id| state.jobs.get(id, a.user.id).is_some()) {
                Some(id) => format!("/findings/screenings/{id}"),
                None => "/findings".to_string(),
            };
            return Ok(redirect_with_flash(&to, "已有一次全面筛查正在进行，请待其完成后再筛查"));
        }
    };
    let job = state.jobs.start(a.user.id, "全面筛查", false);
    let id = job.lock().map(|j| j.id.clone()).unwrap_or_default();
    turn.started(&id);
    jobs::set_state(&job, JobState::Running { done: 0, total: 0, stage: "准备" });
    let st = state.clone();
    tokio::spawn(async move {
        let j2 = job.clone();
        let progress = move |stage: &'static str, done: usize, total: usize| {
            jobs::set_state(&j2, JobState::Running { done, total, stage });
        };
        // in a task of its own, so that a panic ends the job instead of leaving it running
        let work = tokio::spawn({
            let st = st.clone();
            let a = a.clone();
            async move { run_screening(&st, &a, &progress).await }
        });
        let done = match work.await {
            Ok(done) => done,
            Err(e) => {
                tracing::error!(error = ?e, "full screening panicked");
                st.resident.discard().await;
                Err("筛查中断（程序错误，请报告此问题）：请重新筛查".to_string())
            }
        };
        drop(turn);
        st.dashboards.invalidate_within(a.scope.region());
        match done {
            Ok(report) => jobs::set_state(&job, JobState::FinishedScreening { report: Box::new(report) }),
            Err(message) => jobs::set_state(&job, JobState::Failed { message }),
        }
    });
    Ok(axum::response::Redirect::to(&format!("/findings/screenings/{id}")).into_response())
}

/// The screening itself; the error is the user's message (the cause is logged).
async fn run_screening(
    st: &AppState,
    a: &Authed,
    progress: crate::resident::Progress<'_>,
) -> Result<ScreeningDone, String> {
    const NOTHING_WRITTEN: &str = "未写入本次结果";
    fn logged(e: &dyn std::fmt::Debug, message: String) -> String {
        tracing::warn!(error = ?e, "full screening failed");
        message
    }
    let params = st.db.params(None).await.map_err(|e| logged(&e, format!("读取参数失败：{e}；{NOTHING_WRITTEN}")))?;
    let calendar = st.calendar();
    // the pass's thread takes its own; writing screens again the households saved meanwhile
    let (params_again, calendar_again) = (params.clone(), calendar.clone());
    let (at, as_of) = (st.clock.now(), st.clock.today());
    let region = a.scope.region();
    let started = std::time::Instant::now();
    let (snapshot, refreshed) = st
        .resident
        .current(&st.db, progress)
        .await
        .map_err(|e| logged(&e, format!("{}；{NOTHING_WRITTEN}", engine_message(&e))))?;
    // read before the pass: a finding opened after it belongs to a save, which screened its
    // household itself
    let open: std::collections::HashSet<_, engine::FxBuild> = st
        .db
        .households_with_open_findings(region)
        .await
        .map_err(|e| logged(&e, format!("读取待处理发现失败：{e}；{NOTHING_WRITTEN}")))?
        .into_iter()
        .collect();
    let refresh_seconds = started.elapsed().as_secs_f64();
    progress("筛查", 0, 0);
    let started = std::time::Instant::now();
    let threads = engine::background_threads();
    let pass = tokio::task::spawn_blocking(move || {
        let ctx = Context { as_of, params: &params, calendar: &calendar };
        snapshot.as_ref().expect("made current above").screen_within(&ctx, region, threads, &open)
    })
    .await
    .map_err(|e| logged(&e, format!("筛查中断（程序错误，请报告此问题）；{NOTHING_WRITTEN}")))?
    .map_err(|e| logged(&e, format!("{}；{NOTHING_WRITTEN}", engine_message(&e))))?;
    let pass_seconds = started.elapsed().as_secs_f64();

    let started = std::time::Instant::now();
    let mut written = |done: usize, total: usize| progress("写入结果", done, total);
    let ctx = Context { as_of, params: &params_again, calendar: &calendar_again };
    let rec = engine::record(&st.db, &ctx, &a.actor(), at, &pass, &mut written).await.map_err(|e| {
        let why = match &e {
            engine::EngineError::Store(e) => e.to_string(),
            other => engine_message(other),
        };
        logged(&e, format!("写入结果时出错：{why}。已写入的部分有效，其余的户保持原有发现：请重新筛查"))
    })?;
    Ok(ScreeningDone {
        run_id: rec.run,
        region: match region {
            Some(r) => st.regions.get().await.name(r),
            None => "全部地区".to_string(),
        },
        households: pass.screened,
        findings: rec.findings,
        changes: rec.changes,
        loaded: refreshed.loaded,
        reread: refreshed.synced.reread,
        rescreened: rec.rescreened,
        skipped: rec.skipped,
        refresh_seconds,
        pass_seconds,
        write_seconds: started.elapsed().as_secs_f64(),
    })
}

/// The engine's error in the user's words: a missing parameter names the household (D2).
fn engine_message(e: &engine::EngineError) -> String {
    match e {
        engine::EngineError::Rule { .. } => e.to_string(),
        engine::EngineError::Store(e) => format!("读取登记库失败：{e}"),
        engine::EngineError::Pack(e) => format!("常驻登记库数据有误（程序错误，请报告此问题）：{e}"),
    }
}

pub struct ScreeningView {
    pub id: String,
    pub running: bool,
    pub percent: usize,
    pub done: usize,
    pub total: usize,
    pub stage: String,
    pub failed: Option<String>,
    pub report: Option<ScreeningDone>,
}

fn screening_view(j: &jobs::Job) -> ScreeningView {
    let mut v = ScreeningView {
        id: j.id.clone(),
        running: false,
        percent: 0,
        done: 0,
        total: 0,
        stage: String::new(),
        failed: None,
        report: None,
    };
    match &j.state {
        JobState::Running { done, total, stage } => {
            v.running = true;
            (v.done, v.total, v.stage) = (*done, *total, stage.to_string());
            v.percent = jobs::percent(*done, *total);
        }
        JobState::Failed { message } => v.failed = Some(message.clone()),
        JobState::FinishedScreening { report } => v.report = Some((**report).clone()),
        JobState::Finished { .. } | JobState::FinishedFeed { .. } => v.failed = Some("这不是全面筛查".into()),
    }
    v
}

#[derive(Template)]
#[template(path = "screening_job.html")]
struct ScreeningPage {
    chrome: Chrome,
    p: ScreeningView,
}

#[derive(Template)]
#[template(path = "screening_progress.html")]
struct ScreeningFragment {
    p: ScreeningView,
}

pub async fn screening_page(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let j = state.jobs.get(&id, a.user.id).ok_or(PageError::NotFound)?;
    let tpl = ScreeningPage { chrome: Chrome::new(&state, &a, &headers).await, p: screening_view(&j) };
    render(&tpl, &tpl.chrome)
}

pub async fn screening_progress(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let j = state.jobs.get(&id, a.user.id).ok_or(PageError::NotFound)?;
    let html = ScreeningFragment { p: screening_view(&j) }.render()?;
    Ok(axum::response::Html(html).into_response())
}
