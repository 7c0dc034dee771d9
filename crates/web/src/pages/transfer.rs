//! Import and export pages: upload a file of the national layout (with progress, a summary and
//! the problems as a download), download the template, export my scope.

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use domain::account::Permission;
use domain::ports::RegionStore;
use exchange::{FileFormat, Tier};
use tokio::io::AsyncWriteExt;

use super::households::ListQuery;
use super::{Chrome, render, render_status, require};
use crate::AppState;
use crate::auth::{Authed, PageAuth};
use crate::error::PageError;
use crate::jobs::{self, JobState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/import", get(import_form).post(import_upload))
        .route("/import/jobs/{id}", get(job_page))
        .route("/import/jobs/{id}/progress", get(job_progress))
        .route("/import/jobs/{id}/report.{ext}", get(job_report))
        .route("/template.{ext}", get(template))
        .route("/export.{ext}", get(export))
}

/// `attachment; filename="ascii"; filename*=UTF-8''中文`
pub fn attachment(name: &str) -> HeaderValue {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{}", urlencoding::encode(name)))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

pub fn download(format: FileFormat, name: &str, bytes: Vec<u8>) -> Response {
    as_download(Body::from(bytes).into_response(), format, name)
}

fn as_download(mut resp: Response, format: FileFormat, name: &str) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    h.insert(header::CONTENT_DISPOSITION, attachment(name));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A finished export in a temporary file that is already unlinked (the open file stays readable
/// until it is closed, and nothing is left behind if the client goes away).
pub struct ExportFile {
    file: tokio::fs::File,
    len: u64,
}

/// Sends an export from disk in 64 KiB pieces: a county's file is never held in memory.
pub fn download_file(format: FileFormat, name: &str, export: ExportFile) -> Response {
    let ExportFile { file, len } = export;
    let pieces = futures_util::stream::try_unfold(file, |mut file| async move {
        let mut buf = vec![0u8; 64 * 1024];
        let n = tokio::io::AsyncReadExt::read(&mut file, &mut buf).await?;
        if n == 0 {
            return Ok::<_, std::io::Error>(None);
        }
        buf.truncate(n);
        Ok(Some((axum::body::Bytes::from(buf), file)))
    });
    let mut resp = as_download(Body::from_stream(pieces).into_response(), format, name);
    resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    resp
}

fn format_of(ext: &str) -> Result<FileFormat, PageError> {
    FileFormat::from_file_name(&format!("x.{ext}")).map_err(|_| PageError::NotFound)
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    chrome: Chrome,
    income_year: String,
    dry_run: bool,
    error: Option<String>,
}

fn default_income_year(state: &AppState) -> i32 {
    chrono::Datelike::year(&state.clock.today()) - 1
}

pub async fn import_form(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    require(&a, Permission::ImportHouseholds)?;
    let tpl = ImportPage {
        chrome: Chrome::new(&state, &a, &headers).await,
        income_year: default_income_year(&state).to_string(),
        dry_run: true,
        error: None,
    };
    render(&tpl, &tpl.chrome)
}

/// The form again, with the problem and what the user had chosen.
async fn import_error(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    typed: (String, bool),
    message: String,
) -> Result<Response, PageError> {
    let tpl = ImportPage {
        chrome: Chrome::new(state, a, headers).await,
        income_year: typed.0,
        dry_run: typed.1,
        error: Some(message),
    };
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
}

/// An uploaded file saved to the work directory.
pub struct Upload {
    pub path: std::path::PathBuf,
    pub file_name: String,
    pub dry_run: bool,
    pub income_year: Option<i32>,
}

/// Streams the multipart upload to disk (never whole in memory) and reads the options. On a
/// problem, says what and gives back the typed options (income year, dry run) for the form.
pub async fn receive_upload(state: &AppState, mp: Multipart) -> Result<Upload, (String, (String, bool))> {
    let mut typed = (String::new(), false);
    receive(state, mp, &mut typed).await.map_err(|m| (m, typed))
}

async fn receive(state: &AppState, mut mp: Multipart, typed: &mut (String, bool)) -> Result<Upload, String> {
    tokio::fs::create_dir_all(&state.config.work_dir).await.map_err(|e| format!("无法创建工作目录：{e}"))?;
    let mut up = Upload { path: Default::default(), file_name: String::new(), dry_run: false, income_year: None };
    // every field is read before a problem is reported, so that the form can show them again
    let mut problem: Option<String> = None;
    while let Some(mut field) = mp.next_field().await.map_err(|e| format!("上传中断或文件过大：{e}"))? {
        match field.name().unwrap_or("") {
            "file" => {
                let name = field.file_name().unwrap_or("").to_string();
                if name.is_empty() {
                    problem.get_or_insert("请选择要导入的文件（.xlsx 或 .csv）".into());
                    continue;
                }
                let format = match FileFormat::from_file_name(&name) {
                    Ok(f) => f,
                    Err(e) => {
                        problem.get_or_insert(e.to_string());
                        continue;
                    }
                };
                let path =
                    state.config.work_dir.join(format!("upload-{}.{}", crate::auth::new_token(), format.extension()));
                let mut f = tokio::fs::File::create(&path).await.map_err(|e| format!("无法保存上传文件：{e}"))?;
                while let Some(chunk) = field.chunk().await.map_err(|e| format!("上传中断或文件过大：{e}"))? {
                    f.write_all(&chunk).await.map_err(|e| format!("无法保存上传文件：{e}"))?;
                }
                f.flush().await.map_err(|e| e.to_string())?;
                up.path = path;
                up.file_name = name;
            }
            "dry_run" => {
                up.dry_run = matches!(field.text().await.unwrap_or_default().as_str(), "on" | "true" | "1" | "是");
                typed.1 = up.dry_run;
            }
            "income_year" => {
                let t = field.text().await.unwrap_or_default();
                typed.0 = t.trim().to_string();
                if !t.trim().is_empty() {
                    match t.trim().parse().ok().filter(|y| (2014..=2100).contains(y)) {
                        Some(y) => up.income_year = Some(y),
                        None => {
                            problem.get_or_insert("收入年度应为四位年份，如 2021".into());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if up.file_name.is_empty() {
        problem.get_or_insert("请选择要导入的文件（.xlsx 或 .csv）".into());
    }
    if let Some(p) = problem {
        if !up.path.as_os_str().is_empty() {
            let _ = tokio::fs::remove_file(&up.path).await;
        }
        return Err(p);
    }
    Ok(up)
}

/// Runs an import of an uploaded file (read on a blocking thread, checked against the registry
/// and written part by part as it is read) and removes the upload afterwards.
pub async fn run_import(
    state: &AppState,
    a: &Authed,
    up: &Upload,
    progress: Box<dyn FnMut(usize, usize) + Send>,
) -> Result<exchange::ImportReport, exchange::ImportError> {
    let income_year = up.income_year.unwrap_or_else(|| default_income_year(state));
    let opts = exchange::ImportOptions { dry_run: up.dry_run, income_year, file_name: Some(up.file_name.clone()) };
    let res =
        exchange::import_households(&state.db, &a.scope, &a.actor(), state.clock.now(), &up.path, &opts, progress)
            .await;
    let _ = tokio::fs::remove_file(&up.path).await;
    res
}

pub async fn import_upload(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    mp: Multipart,
) -> Result<Response, PageError> {
    require(&a, Permission::ImportHouseholds)?;
    let up = match receive_upload(&state, mp).await {
        Ok(u) => u,
        Err((m, typed)) => return import_error(&state, &a, &headers, typed, m).await,
    };
    let job = state.jobs.start(a.user.id, &up.file_name, up.dry_run);
    let id = job.lock().map(|j| j.id.clone()).unwrap_or_default();
    let st = state.clone();
    tokio::spawn(async move {
        let j2 = job.clone();
        // a file whose households' rows are not together is read again: say so, or the count
        // going back to 0 looks like a fault
        let mut reading = "读取、校验并核对登记库";
        let progress = Box::new(move |done: usize, total: usize| {
            let state = match done {
                exchange::PROGRESS_COMMIT => JobState::Running { done: 0, total: 0, stage: "提交写入" },
                exchange::PROGRESS_REREAD => {
                    reading = "同一户的行不相邻，重新完整读取文件";
                    JobState::Running { done: 0, total: 0, stage: reading }
                }
                _ => JobState::Running { done, total, stage: reading },
            };
            jobs::set_state(&j2, state);
        });
        let done = run_import(&st, &a, &up, progress).await;
        // the job wrote after its request had ended, within its user's region: those dashboards
        // recompute on their next read
        st.dashboards.invalidate_within(a.scope.region());
        match done {
            Ok(report) => {
                let mut files = Vec::new();
                for format in [FileFormat::Xlsx, FileFormat::Csv] {
                    let path =
                        st.config.work_dir.join(format!("report-{}.{}", crate::auth::new_token(), format.extension()));
                    if let Ok(f) = std::fs::File::create(&path)
                        && exchange::write_issues(format, f, &report.issues).is_ok()
                    {
                        files.push(path);
                    }
                }
                jobs::set_state(&job, JobState::Finished { report: Box::new(report), report_files: files });
            }
            Err(e) => jobs::set_state(&job, JobState::Failed { message: e.to_string() }),
        }
    });
    Ok(axum::response::Redirect::to(&format!("/import/jobs/{id}")).into_response())
}

pub struct IssueLine {
    pub row: usize,
    pub column: String,
    pub value: String,
    pub tier: String,
    pub error: bool,
    pub message: String,
}

#[derive(Template)]
#[template(path = "import_job.html")]
struct JobPage {
    chrome: Chrome,
    p: JobView,
}

#[derive(Template)]
#[template(path = "import_progress.html")]
struct ProgressFragment {
    p: JobView,
}

pub struct JobView {
    pub id: String,
    pub file_name: String,
    pub dry_run: bool,
    pub running: bool,
    pub percent: usize,
    pub done: usize,
    pub total: usize,
    pub stage: String,
    pub failed: Option<String>,
    pub report: Option<exchange::ImportReport>,
    pub issues: Vec<IssueLine>,
}

fn job_view(j: &jobs::Job) -> JobView {
    let mut v = JobView {
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
        issues: Vec::new(),
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
        JobState::FinishedFeed { .. } => v.failed = Some("这是部门数据导入：请到“部门预警”查看".into()),
        JobState::FinishedScreening { .. } => v.failed = Some("这是全面筛查：请到“排查发现”查看".into()),
        JobState::Finished { report, .. } => {
            v.issues = report
                .issues
                .iter()
                .take(200)
                .map(|i| IssueLine {
                    row: i.row,
                    column: i.column.clone(),
                    value: i.value.clone(),
                    tier: i.tier.label().to_string(),
                    error: i.tier == Tier::Error,
                    message: i.message.clone(),
                })
                .collect();
            v.report = Some((**report).clone());
        }
    }
    v
}

pub async fn job_page(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let j = state.jobs.get(&id, a.user.id).ok_or(PageError::NotFound)?;
    let tpl = JobPage { chrome: Chrome::new(&state, &a, &headers).await, p: job_view(&j) };
    render(&tpl, &tpl.chrome)
}

pub async fn job_progress(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let j = state.jobs.get(&id, a.user.id).ok_or(PageError::NotFound)?;
    let html = ProgressFragment { p: job_view(&j) }.render()?;
    Ok(axum::response::Html(html).into_response())
}

pub async fn job_report(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Path((id, ext)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let format = format_of(&ext)?;
    let j = state.jobs.get(&id, a.user.id).ok_or(PageError::NotFound)?;
    let JobState::Finished { report_files, report } = &j.state else { return Err(PageError::NotFound) };
    let path = report_files
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == format.extension()))
        .ok_or(PageError::NotFound)?;
    let bytes = tokio::fs::read(path).await.map_err(PageError::internal)?;
    // the report quotes cells of the file, ID numbers among them
    let e = domain::audit::AuditEntry::new(
        state.clock.now(),
        &a.actor(),
        domain::audit::AuditAction::Export,
        "import_report",
        &id,
    )
    .note(format!("下载导入问题清单（{}，{}条）", report.file_name, report.issues.len()));
    domain::ports::AuditStore::append_audit(&state.db, &[e]).await?;
    let stem = report.file_name.rsplit_once('.').map(|(s, _)| s).unwrap_or(&report.file_name);
    Ok(download(format, &format!("{stem}-问题清单.{}", format.extension()), bytes))
}

pub async fn template(
    State(state): State<AppState>,
    PageAuth(_): PageAuth,
    Path(ext): Path<String>,
) -> Result<Response, PageError> {
    let format = format_of(&ext)?;
    let regions = state.db.all_regions().await?;
    let bytes = exchange::write_template(format, Vec::new(), &regions).map_err(PageError::internal)?;
    Ok(download(format, &format!("农户导入模板.{}", format.extension()), bytes))
}

/// Writes an export of the list's filters to a temporary file and sends it.
pub async fn export(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    method: Method,
    Path(ext): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    require(&a, Permission::ExportHouseholds)?;
    let format = format_of(&ext)?;
    let today = state.clock.today().format("%Y%m%d");
    let name = format!("农户信息-{today}.{}", format.extension());
    if method == Method::HEAD {
        return Ok(head_of_download(format, &name));
    }
    let file = export_file(&state, &a, &q.filter(), format).await?;
    Ok(download_file(format, &name, file))
}

/// The answer to a HEAD request for an export (a link checker, a download manager asking the
/// size): the headers only. Nothing is built or recorded as exported; the length is not known
/// before the file is written.
pub fn head_of_download(format: FileFormat, name: &str) -> Response {
    as_download(Body::empty().into_response(), format, name)
}

/// The households of `filter` in the import's layout (the export is audited by
/// `exchange::export_households`), written whole to a temporary file before anything is sent,
/// so that a failure is an error page rather than a cut-off file.
pub async fn export_file(
    state: &AppState,
    a: &Authed,
    filter: &domain::ports::HouseholdFilter,
    format: FileFormat,
) -> Result<ExportFile, PageError> {
    tokio::fs::create_dir_all(&state.config.work_dir).await.map_err(PageError::internal)?;
    let path = state.config.work_dir.join(format!("export-{}.{}", crate::auth::new_token(), format.extension()));
    // removed however this ends: also when the request is dropped while the file is written
    struct Remove(std::path::PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _remove = Remove(path.clone());
    let file = std::fs::File::create(&path).map_err(PageError::internal)?;
    let mut progress = |_: usize, _: usize| {};
    let res = exchange::export_households(
        &state.db,
        &a.scope,
        &a.actor(),
        state.clock.now(),
        filter,
        format,
        std::io::BufWriter::new(file),
        &mut progress,
    )
    .await;
    let opened = match res {
        Ok(_) => tokio::fs::File::open(&path).await.map_err(PageError::internal),
        Err(exchange::ExportError::Forbidden) => Err(PageError::Forbidden),
        Err(e) => Err(PageError::internal(e)),
    };
    // the open file stays readable without its name
    drop(_remove);
    let file = opened?;
    let len = file.metadata().await.map_err(PageError::internal)?.len();
    Ok(ExportFile { file, len })
}
