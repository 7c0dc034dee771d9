//! 部门筛查预警 (DOMAIN §9, D15–D17): department files uploaded with progress, the alerts they
//! raise for villages to verify, and the verification (不属实 / 属实-已纳入 / 属实-不符合条件 /
//! 已帮扶 / 转为线索). A 行业部门 account sees and imports its own department's only.

use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use domain::account::Permission;
use domain::feed::{AlertConclusion, AlertStatus, DepartmentAlert, FeedKind, VerifyMode};
use domain::ports::{AlertFilter, FeedStore};
use domain::region::RegionCode;
use domain::service::{self, EditError};
use exchange::feed::{FeedIssue, FeedMapping};
use serde::Deserialize;

use super::{Chrome, Opt, redirect_with_flash, render, render_status, require};
use crate::AppState;
use crate::auth::{Authed, PageAuth};
use crate::error::PageError;
use crate::jobs::{self, JobState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(list))
        .route("/alerts/import", get(import_form).post(import_upload))
        .route("/alerts/import/jobs/{id}", get(job_page))
        .route("/alerts/import/jobs/{id}/progress", get(job_progress))
        .route("/alerts/import/jobs/{id}/report.xlsx", get(job_report))
        .route("/alerts/unmatched", get(unmatched))
        .route("/alerts/unmatched/{id}", axum::routing::post(decide))
        .route("/alerts/{id}", get(detail).post(conclude))
}

/// One alert as the list shows it.
pub struct AlertLine {
    pub id: i64,
    pub household_no: String,
    pub head: String,
    pub member: String,
    pub village: String,
    pub department: &'static str,
    pub indicator: String,
    pub value: String,
    pub period: String,
    pub due_on: String,
    pub overdue: bool,
    pub status: String,
    pub open: bool,
}

fn value_text(a: &DepartmentAlert) -> String {
    match (a.value, a.threshold) {
        (Some(v), Some(t)) => format!("{v} 元（预警线 {t} 元）"),
        (Some(v), None) => format!("{v} 元{}", if a.item.is_empty() { String::new() } else { format!("，{}", a.item) }),
        (None, _) => a.item.clone(),
    }
}

fn line(a: &DepartmentAlert, village: String, today: NaiveDate) -> AlertLine {
    let open = a.status == AlertStatus::Open;
    AlertLine {
        id: a.id,
        household_no: a.household_no.to_string(),
        head: a.head_name.clone().unwrap_or_default(),
        member: a.member_name.clone(),
        village,
        department: a.kind.department().label(),
        indicator: a.indicator.clone(),
        value: value_text(a),
        period: a.period.clone(),
        due_on: a.due_on.to_string(),
        overdue: open && a.due_on < today,
        status: match a.conclusion {
            Some(c) => c.label().to_string(),
            None => a.status.label().to_string(),
        },
        open,
    }
}

/// One imported file.
pub struct BatchLine {
    pub id: i64,
    pub kind: &'static str,
    pub file_name: String,
    pub rows: i64,
    pub matched: i64,
    pub unmatched: i64,
    pub raised: i64,
    pub updated: i64,
    pub facts: i64,
    pub by: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct ListPage {
    chrome: Chrome,
    my_department: Option<&'static str>,
    can_import: bool,
    /// Reviews unmatched rows (full IDs): importing roles that see sensitive data.
    can_review: bool,
    kinds: Vec<Opt>,
    villages: Vec<Opt>,
    statuses: Vec<Opt>,
    items: Vec<AlertLine>,
    total: i64,
    overdue: i64,
    batches: Vec<BatchLine>,
    next_link: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    feed: String,
    village: String,
    status: String,
    before: String,
}

pub async fn list(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let department = service::user_department(&state.db, &a.scope, a.user.id).await?;
    let today = state.clock.today();
    let filter = AlertFilter {
        status: match q.status.as_str() {
            "" => Some(AlertStatus::Open),
            "all" => None,
            s => AlertStatus::ALL.iter().copied().find(|x| x.code().to_string() == s),
        },
        kind: FeedKind::from_key(&q.feed),
        department,
        region: RegionCode::parse(&q.village).ok(),
        before: q.before.parse().ok(),
        ..Default::default()
    };
    let page = state.db.alerts(&a.scope, &filter, 100).await?;
    let overdue = state
        .db
        .alerts(&a.scope, &AlertFilter { due_before: Some(today), before: None, ..filter.clone() }, 1)
        .await?
        .total;
    let regions = state.regions.get().await;
    let mut kinds = vec![Opt { value: String::new(), label: "全部数据".into(), selected: filter.kind.is_none() }];
    kinds.extend(FeedKind::ALL.iter().filter(|k| department.is_none_or(|d| k.department() == d)).map(|k| Opt {
        value: k.key().into(),
        label: format!("{}（{}）", k.label(), k.department().label()),
        selected: filter.kind == Some(*k),
    }));
    let mut villages = vec![Opt { value: String::new(), label: "全部村".into(), selected: q.village.is_empty() }];
    villages.extend(regions.villages_in(&a.scope).into_iter().map(|r| Opt {
        value: r.code.to_string(),
        label: r.name.clone(),
        selected: r.code.to_string() == q.village,
    }));
    let mut statuses = vec![Opt { value: String::new(), label: "待核实".into(), selected: q.status.is_empty() }];
    statuses.push(Opt {
        value: AlertStatus::Concluded.code().to_string(),
        label: "已核实".into(),
        selected: q.status == AlertStatus::Concluded.code().to_string(),
    });
    statuses.push(Opt { value: "all".into(), label: "全部".into(), selected: q.status == "all" });
    let batches = state
        .db
        .feed_batches(&a.scope, department, 10)
        .await?
        .into_iter()
        .map(|b| BatchLine {
            id: b.id,
            kind: b.kind.label(),
            file_name: b.file_name,
            rows: b.rows_read,
            matched: b.rows_matched,
            unmatched: b.rows_unmatched,
            raised: b.alerts_raised,
            updated: b.alerts_updated,
            facts: b.facts_added,
            by: b.imported_by,
            at: crate::views::china_time(b.imported_at),
        })
        .collect();
    let base = format!(
        "/alerts?feed={}&village={}&status={}",
        urlencoding::encode(&q.feed),
        urlencoding::encode(&q.village),
        urlencoding::encode(&q.status)
    );
    let tpl = ListPage {
        chrome: Chrome::new(&state, &a, &headers).await,
        my_department: department.map(|d| d.label()),
        can_import: a.scope.allows(Permission::ImportFeeds),
        can_review: a.scope.allows(Permission::ImportFeeds) && a.scope.allows(Permission::ViewSensitive),
        kinds,
        villages,
        statuses,
        items: page.items.iter().map(|x| line(x, regions.name(x.village), today)).collect(),
        total: page.total,
        overdue,
        batches,
        next_link: page.next.map(|n| format!("{base}&before={n}")),
    };
    render(&tpl, &tpl.chrome)
}

// ------------------------------------------------------------------ one alert and its verification

/// A feed row behind the alert, its cells as the department sent them.
pub struct EvidenceLine {
    pub source: String,
    pub cells: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "alert.html")]
struct DetailPage {
    chrome: Chrome,
    a: AlertLine,
    version: i64,
    raised_on: String,
    verified: Option<String>,
    note: String,
    case_id: Option<i64>,
    rows: Vec<EvidenceLine>,
    can_verify: bool,
    conclusions: Vec<Opt>,
    modes: Vec<Opt>,
    form_on: String,
    form_note: String,
    error: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VerifyForm {
    version: i64,
    conclusion: String,
    mode: String,
    on: String,
    note: String,
}

async fn detail_page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    id: i64,
    form: &VerifyForm,
    error: Option<String>,
) -> Result<DetailPage, PageError> {
    let department = service::user_department(&state.db, &a.scope, a.user.id).await?;
    let (alert, rows) =
        service::alert_detail(&state.db, state.clock.now(), &a.scope, &a.actor(), department, id).await?;
    let regions = state.regions.get().await;
    let today = state.clock.today();
    // the rows carry full ID numbers: masked for roles without the sensitive view (D18)
    let sensitive = a.scope.allows(Permission::ViewSensitive);
    let rows = rows
        .iter()
        .map(|r| {
            let cells: Vec<(String, String)> =
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&r.evidence)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| {
                        let v = v.as_str().unwrap_or_default().to_string();
                        let v = match sensitive {
                            true => v,
                            false if service::looks_like_id(&v) => domain::national_id::mask_id_text(&v),
                            false if service::is_health_column(&k) => "（仅限有权限的角色查看）".to_string(),
                            false => v,
                        };
                        (k, v)
                    })
                    .collect();
            EvidenceLine {
                source: format!("{} 第{}行（{}导入）", r.file_name, r.line, crate::views::china_time(r.imported_at)),
                cells,
            }
        })
        .collect();
    let conclusions = AlertConclusion::ALL
        .iter()
        .map(|c| Opt {
            value: c.code().to_string(),
            label: c.label().into(),
            selected: form.conclusion == c.code().to_string(),
        })
        .collect();
    let modes = VerifyMode::ALL
        .iter()
        .map(|m| Opt {
            value: m.code().to_string(),
            label: m.label().into(),
            selected: form.mode == m.code().to_string() || (form.mode.is_empty() && *m == VerifyMode::Visit),
        })
        .collect();
    Ok(DetailPage {
        chrome: Chrome::new(state, a, headers).await,
        version: alert.version,
        raised_on: alert.raised_on.to_string(),
        verified: alert.conclusion.map(|c| {
            format!(
                "{}：{}（{}，{}）",
                alert.verified_by,
                c.label(),
                alert.verify_mode.map(|m| m.label()).unwrap_or(""),
                alert.verified_on.map(|d| d.to_string()).unwrap_or_default()
            )
        }),
        note: alert.note.clone(),
        case_id: alert.case_id,
        can_verify: a.scope.allows(Permission::VerifyAlerts) && alert.status == AlertStatus::Open,
        a: line(&alert, regions.name(alert.village), today),
        rows,
        conclusions,
        modes,
        form_on: if form.on.is_empty() { today.to_string() } else { form.on.clone() },
        form_note: form.note.clone(),
        error,
    })
}

pub async fn detail(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let tpl = detail_page(&state, &a, &headers, id, &VerifyForm::default(), None).await?;
    render(&tpl, &tpl.chrome)
}

pub async fn conclude(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<VerifyForm>,
) -> Result<Response, PageError> {
    require(&a, Permission::VerifyAlerts)?;
    let parsed = (|| {
        let conclusion = AlertConclusion::ALL
            .iter()
            .copied()
            .find(|c| c.code().to_string() == f.conclusion || c.label() == f.conclusion)
            .ok_or("请选择核实结论")?;
        let mode = VerifyMode::ALL
            .iter()
            .copied()
            .find(|m| m.code().to_string() == f.mode || m.label() == f.mode)
            .ok_or("请选择核实方式")?;
        let on =
            NaiveDate::parse_from_str(f.on.trim(), "%Y-%m-%d").map_err(|_| "核实日期应为 2022-04-20 这样的日期")?;
        Ok::<_, &str>((conclusion, mode, on))
    })();
    let error = match parsed {
        Err(m) => m.to_string(),
        Ok((conclusion, mode, on)) => {
            match service::conclude_alert(
                &state.db,
                state.clock.now(),
                state.clock.today(),
                &a.scope,
                &a.actor(),
                id,
                f.version,
                conclusion,
                mode,
                on,
                &f.note,
            )
            .await
            {
                Ok(done) => {
                    let msg = match done.case_id {
                        Some(c) => format!("已核实预警 #{id}：转为线索，已登记识别认定案件 #{c}"),
                        None => format!("已核实预警 #{id}：{}", conclusion.label()),
                    };
                    return Ok(redirect_with_flash(&format!("/alerts/{id}"), &msg));
                }
                Err(EditError::Invalid(e)) => e.to_string(),
                Err(e @ EditError::Stale { .. }) => e.to_string(),
                Err(e) => return Err(e.into()),
            }
        }
    };
    let tpl = detail_page(&state, &a, &headers, id, &f, Some(error)).await?;
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
}

// ------------------------------------------------------------------ upload with progress

#[derive(Template)]
#[template(path = "alerts_import.html")]
struct ImportPage {
    chrome: Chrome,
    kinds: Vec<Opt>,
    period: String,
    map: String,
    error: Option<String>,
}

async fn import_page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    kind: &str,
    period: &str,
    map: &str,
    error: Option<String>,
) -> Result<ImportPage, PageError> {
    let department = service::user_department(&state.db, &a.scope, a.user.id).await?;
    let kinds = FeedKind::ALL
        .iter()
        .filter(|k| department.is_none_or(|d| k.department() == d))
        .map(|k| Opt {
            value: k.key().into(),
            label: format!("{}（{}）", k.label(), k.department().label()),
            selected: k.key() == kind,
        })
        .collect();
    Ok(ImportPage {
        chrome: Chrome::new(state, a, headers).await,
        kinds,
        period: if period.is_empty() { state.clock.today().format("%Y-%m").to_string() } else { period.to_string() },
        map: map.to_string(),
        error,
    })
}

pub async fn import_form(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    require(&a, Permission::ImportFeeds)?;
    let tpl = import_page(&state, &a, &headers, "", "", "", None).await?;
    render(&tpl, &tpl.chrome)
}

/// What the job page shows when the import has run.
#[derive(Debug, Clone)]
pub struct FeedJobReport {
    pub kind: &'static str,
    pub columns: Vec<(String, String)>,
    pub errors: Vec<FeedIssue>,
    pub report: Option<service::FeedReport>,
}

pub async fn import_upload(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    mp: Multipart,
) -> Result<Response, PageError> {
    require(&a, Permission::ImportFeeds)?;
    let sub = super::cases::read_multipart(mp).await;
    let (kind_text, period_text, map_text) = (sub.get("feed"), sub.get("period"), sub.get("map"));
    let again = |m: String| {
        let (state, a, headers) = (&state, &a, &headers);
        let (k, p, mp) = (kind_text.clone(), period_text.clone(), map_text.clone());
        async move {
            let tpl = import_page(state, a, headers, &k, &p, &mp, Some(m)).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
        }
    };
    if let Some(e) = sub.error.clone() {
        return again(e).await;
    }
    let Some(kind) = FeedKind::from_key(&kind_text) else {
        return again("请选择数据类型".into()).await;
    };
    let department = service::user_department(&state.db, &a.scope, a.user.id).await?;
    if department.is_some_and(|d| d != kind.department()) {
        return Err(PageError::Forbidden);
    }
    let period = if period_text.trim().is_empty() {
        Some(state.clock.today().format("%Y-%m").to_string())
    } else {
        exchange::feed::normalise_period(&period_text)
    };
    let Some(period) = period else {
        return again(format!("期间“{period_text}”应写成 2022-03 或 2022")).await;
    };
    let pairs: Vec<String> = map_text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect();
    let mapping = match FeedMapping::resolve(&pairs, state.db.feed_mapping(kind).await?.as_deref()) {
        Ok(m) => m,
        Err(e) => return again(e).await,
    };
    let Some(file) = sub.files.into_iter().next() else {
        return again("请选择要上传的文件（.xlsx 或 .csv）".into()).await;
    };
    if let Err(e) = exchange::FileFormat::from_file_name(&file.file_name) {
        return again(e.to_string()).await;
    }
    let dry_run = sub.fields.iter().any(|(k, v)| k == "dry_run" && v == "on");
    let job = state.jobs.start(a.user.id, &file.file_name, dry_run);
    let id = job.lock().map(|j| j.id.clone()).unwrap_or_default();
    let st = state.clone();
    tokio::spawn(async move {
        let j2 = job.clone();
        let progress = Box::new(move |done: usize, total: usize| {
            let state = if done == usize::MAX {
                JobState::Running { done: 0, total: 0, stage: "写入预警和未匹配的行" }
            } else {
                JobState::Running { done, total, stage: "读取、核对并匹配" }
            };
            jobs::set_state(&j2, state);
        });
        let done =
            import_upload_as(&st, &a, department, kind, file, mapping, !pairs.is_empty(), period, dry_run, progress)
                .await;
        // the job wrote after its request had ended, within its user's region: those dashboards
        // recompute on their next read
        st.dashboards.invalidate_within(a.scope.region());
        match done {
            Ok(d) => {
                let out = FeedJobReport {
                    kind: kind.label(),
                    columns: d.file.columns,
                    errors: d.file.errors,
                    report: d.report,
                };
                jobs::set_state(&job, JobState::FinishedFeed { report: Box::new(out) });
            }
            Err(e) => jobs::set_state(&job, JobState::Failed { message: e.to_string() }),
        }
    });
    Ok(axum::response::Redirect::to(&format!("/alerts/import/jobs/{id}")).into_response())
}

/// Imports an uploaded department file as the caller, chunk by chunk as it is read (the page's
/// job and the API): a mapping typed for this file (`typed`) is saved once it has been imported.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn import_upload_as(
    state: &AppState,
    a: &Authed,
    department: Option<domain::measure::Department>,
    kind: FeedKind,
    upload: domain::procedure::NewAttachment,
    mapping: FeedMapping,
    typed: bool,
    default_period: String,
    dry_run: bool,
    progress: Box<dyn FnMut(usize, usize) + Send>,
) -> Result<exchange::feed::FeedImported, exchange::feed::FeedImportError> {
    let file = exchange::feed::FeedFile {
        source: exchange::feed::FeedSource::Bytes(upload.body),
        file_name: upload.file_name,
        kind,
        mapping_to_save: typed.then(|| serde_json::to_string(&mapping).ok()).flatten(),
        mapping,
        default_period,
        dry_run,
    };
    let cal = state.calendar();
    let (at, today) = (state.clock.now(), state.clock.today());
    exchange::feed::import_feed_file(&state.db, &cal, at, today, &a.scope, &a.actor(), department, file, progress).await
}

pub struct FeedJobView {
    pub id: String,
    pub file_name: String,
    pub dry_run: bool,
    pub running: bool,
    pub percent: usize,
    pub done: usize,
    pub total: usize,
    pub stage: String,
    pub failed: Option<String>,
    pub report: Option<FeedJobReport>,
}

impl FeedJobView {
    fn unmatched(&self) -> Vec<(usize, String, String, String)> {
        self.report
            .as_ref()
            .and_then(|r| r.report.as_ref())
            .map(|r| {
                r.unmatched
                    .iter()
                    .take(200)
                    .map(|u| (u.line, u.name.clone(), domain::national_id::mask_id_text(&u.id_text), u.reason.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn feed_job_view(j: &jobs::Job) -> FeedJobView {
    let mut v = FeedJobView {
        id: j.id.clone(),
        file_name: j.file_name.clone(),
        dry_run: j.dry_run,
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
            v.done = *done;
            v.total = *total;
            v.percent = jobs::percent(*done, *total);
            v.stage = stage.to_string();
        }
        JobState::Failed { message } => v.failed = Some(message.clone()),
        JobState::FinishedFeed { report } => v.report = Some((**report).clone()),
        JobState::Finished { .. } | JobState::FinishedScreening { .. } => v.failed = Some("这不是部门数据导入".into()),
    }
    v
}

#[derive(Template)]
#[template(path = "alerts_job.html")]
struct JobPage {
    chrome: Chrome,
    p: FeedJobView,
}

#[derive(Template)]
#[template(path = "alerts_progress.html")]
struct ProgressFragment {
    p: FeedJobView,
}

pub async fn job_page(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let j = state.jobs.get(&id, a.user.id).ok_or(PageError::NotFound)?;
    let tpl = JobPage { chrome: Chrome::new(&state, &a, &headers).await, p: feed_job_view(&j) };
    render(&tpl, &tpl.chrome)
}

pub async fn job_progress(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let j = state.jobs.get(&id, a.user.id).ok_or(PageError::NotFound)?;
    let html = ProgressFragment { p: feed_job_view(&j) }.render()?;
    Ok(axum::response::Html(html).into_response())
}

// ------------------------------------------------------------------ rows that matched no one

/// One unmatched row with its candidates.
pub struct UnmatchedLine {
    pub id: i64,
    pub source: String,
    pub kind: &'static str,
    pub name: String,
    pub id_text: String,
    pub birth: String,
    pub village: String,
    pub reason: String,
    pub what: String,
    pub status: &'static str,
    pub pending: bool,
    /// (member id, name, full ID, household, village)
    pub candidates: Vec<(i64, String, String, String, String)>,
}

#[derive(Template)]
#[template(path = "alerts_unmatched.html")]
struct UnmatchedPage {
    chrome: Chrome,
    rows: Vec<UnmatchedLine>,
    total: i64,
    all: bool,
    next_link: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct UnmatchedQuery {
    all: String,
    before: String,
}

pub async fn unmatched(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Query(q): Query<UnmatchedQuery>,
) -> Result<Response, PageError> {
    let regions = state.regions.get().await;
    let all = q.all == "1";
    let (page, candidates) = service::unmatched_review(
        &state.db,
        state.clock.now(),
        &a.scope,
        &a.actor(),
        !all,
        q.before.parse().ok(),
        |c| regions.name(c),
    )
    .await?;
    let rows = page
        .items
        .iter()
        .zip(candidates)
        .map(|(u, cands)| UnmatchedLine {
            id: u.id,
            source: format!("{} 第{}行", u.file_name, u.line),
            kind: u.kind.label(),
            name: u.name.clone(),
            id_text: u.id_text.clone(),
            birth: domain::feed::birth_hint(u.birth, &u.id_text).map(|d| d.to_string()).unwrap_or_default(),
            village: u.village.clone(),
            reason: u.reason.clone(),
            what: match (u.amount, u.item.is_empty()) {
                (Some(v), _) => format!("{v} 元 {}", u.period),
                (None, false) => format!("{} {}", u.item, u.period),
                (None, true) => u.period.clone(),
            },
            status: u.status.label(),
            pending: u.status == domain::feed::MatchReview::Pending,
            candidates: cands
                .iter()
                .map(|c| {
                    (
                        c.member_id,
                        c.name.clone(),
                        c.id_number.clone(),
                        c.household_no.to_string(),
                        regions.name(c.village),
                    )
                })
                .collect(),
        })
        .collect();
    let tpl = UnmatchedPage {
        chrome: Chrome::new(&state, &a, &headers).await,
        rows,
        total: page.total,
        all,
        next_link: page.next.map(|n| format!("/alerts/unmatched?all={}&before={n}", if all { "1" } else { "" })),
    };
    render(&tpl, &tpl.chrome)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DecideForm {
    member: String,
    /// yes | no | nobody
    decision: String,
}

pub async fn decide(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<DecideForm>,
) -> Result<Response, PageError> {
    let member: Option<i64> = f.member.parse().ok();
    let decision = match (f.decision.as_str(), member) {
        ("yes", Some(m)) => Some((m, true)),
        ("no", Some(m)) => Some((m, false)),
        ("nobody", _) => None,
        _ => return Ok(redirect_with_flash("/alerts/unmatched", "请选择核对结论")),
    };
    let cal = state.calendar();
    let regions = state.regions.get().await;
    let r = service::decide_unmatched(
        &state.db,
        &cal,
        state.clock.now(),
        state.clock.today(),
        &a.scope,
        &a.actor(),
        id,
        decision,
        |c| regions.name(c),
    )
    .await;
    let msg = match r {
        Ok(o) => match decision {
            Some((_, true)) if o.raised + o.updated > 0 => {
                "已确认为同一人，并据此生成或更新了预警；下次同样写法的证件号码自动对应".to_string()
            }
            Some((_, true)) if o.facts_added > 0 => "已确认为同一人，记入不宜纳入信息".to_string(),
            Some((_, true)) => "已确认为同一人（未达预警线，不生成预警）".to_string(),
            Some((_, false)) => "已记录：不是该候选人，不再推荐".to_string(),
            None => "已确认不是登记人员".to_string(),
        },
        Err(EditError::Invalid(e)) => e.to_string(),
        Err(e @ EditError::Stale { .. }) => e.to_string(),
        Err(e) => return Err(e.into()),
    };
    Ok(redirect_with_flash("/alerts/unmatched", &msg))
}

/// The problem list of an upload (cell errors, unmatched rows) as xlsx; it quotes the file's ID
/// numbers: audited.
pub async fn job_report(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let j = state.jobs.get(&id, a.user.id).ok_or(PageError::NotFound)?;
    let JobState::FinishedFeed { report } = &j.state else { return Err(PageError::NotFound) };
    let unmatched = report.report.as_ref().map(|r| r.unmatched.clone()).unwrap_or_default();
    let rows = exchange::feed::report_rows(&report.errors, &unmatched);
    let bytes = exchange::write_table(
        exchange::FileFormat::Xlsx,
        Vec::new(),
        "问题清单",
        &exchange::feed::REPORT_HEADERS,
        &[8.0, 10.0, 8.0, 10.0, 22.0, 50.0],
        &rows,
    )
    .map_err(|e| PageError::BadRequest(e.to_string()))?;
    let e = domain::audit::AuditEntry::new(
        state.clock.now(),
        &a.actor(),
        domain::audit::AuditAction::Export,
        "feed_report",
        0,
    )
    .note(format!("下载部门数据问题清单（{}，{}行）", j.file_name, rows.len()));
    domain::ports::AuditStore::append_audit(&state.db, &[e]).await?;
    let stem = j.file_name.rsplit_once('.').map(|(s, _)| s).unwrap_or(&j.file_name);
    Ok(super::transfer::download(exchange::FileFormat::Xlsx, &format!("{stem}-问题清单.xlsx"), bytes))
}
