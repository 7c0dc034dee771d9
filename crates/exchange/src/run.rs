//! Imports and exports through the domain's storage traits.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use domain::audit::{AuditAction, AuditEntry};
use domain::ports::{
    AuditStore, HouseholdDetail, HouseholdFilter, HouseholdStore, ImportMeta, ImportWriter, IncomingHousehold,
    RegionStore, RegistryLookup, StoreError,
};
use domain::search::SearchQuery;
use domain::{Actor, HouseholdNo, Permission, Region, Scope};

use crate::layout::Col;
use crate::parse::{Issue, MAX_ISSUES, Origin, ParsedImport, Streamed, Tier, stream_households};
use crate::read::{FileFormat, ReadError};
use crate::write::{ExportWriter, RegionNames, WriteError};

/// Households are looked up in batches of this size.
const BATCH: usize = 500;

/// Households per batch of an export (the store reads their members 500 at a time).
const EXPORT_BATCH: usize = 2_000;

/// How an import runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Check and report only: nothing is written.
    pub dry_run: bool,
    /// The year of the income columns (unless the file has a 收入年度 column).
    pub income_year: i32,
    /// The name the user knows the file by (an upload's original name); by default the path's
    /// file name. Its extension decides the format.
    pub file_name: Option<String>,
}

/// What an import found and did (or, for a dry run or a file with errors, would do).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub file_name: String,
    pub file_sha256: String,
    pub dry_run: bool,
    /// True when the households were written.
    pub written: bool,
    /// The import's own record, when written.
    pub import_id: Option<i64>,
    /// Data rows in the file.
    pub rows: usize,
    /// Distinct 户编号.
    pub households: usize,
    /// Member rows read.
    pub members: usize,
    pub errors: usize,
    pub warnings: usize,
    /// Households created / updated / unchanged — for a dry run, what would happen; zero when
    /// the file has errors (nothing would happen).
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub issues: Vec<Issue>,
}

/// Why an import could not run at all (problems *in* the file are issues of the report).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("您的角色无权导入农户数据")]
    Forbidden,
    #[error(transparent)]
    Unreadable(#[from] ReadError),
    #[error("导入期间，文件中的某户被他人修改了：本次导入未写入任何数据，请重新导入")]
    Changed,
    #[error("导入未完成：{0}")]
    Store(#[from] StoreError),
}

/// Why an export could not finish.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("您的角色无权导出农户数据")]
    Forbidden,
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("导出未完成：{0}")]
    Store(#[from] StoreError),
}

/// The `done` an import's progress reports before its final commit.
pub const PROGRESS_COMMIT: usize = usize::MAX;
/// The `done` a household import reports before it reads a file again because the rows of a
/// household were not together: the rows read count from 0 again.
pub const PROGRESS_REREAD: usize = usize::MAX - 1;

/// Households go from the reader to the registry checks and the write in parts of this size:
/// memory holds a few parts, whatever the size of the file.
const PART: usize = 5_000;

/// Imports a file of the national layout.
///
/// The file is read and checked on a blocking thread and its households handed over in parts
/// of [`PART`]: each part's households are looked up in the registry (an existing household
/// outside the caller's scope is an error that does not say where it is; an ID already
/// registered in a household not in this file, a warning), planned by [`domain::import::plan`]
/// and written, all in one transaction that commits only at the end of a file without errors.
/// With an error anywhere, or on a dry run, nothing is written: the file is still read to its
/// end, so that the report lists every problem.
///
/// A file whose households' rows are not together (sorted by name, say) is read a second
/// time, whole. `progress(rows read, total or 0)` is called as rows are read,
/// `progress(`[`PROGRESS_REREAD`]`, 0)` before that second reading (the count starts again) and
/// `progress(`[`PROGRESS_COMMIT`]`, 0)` before the final commit.
pub async fn import_households<S: RegionStore + HouseholdStore + RegistryLookup + AuditStore>(
    store: &S,
    scope: &Scope,
    actor: &Actor,
    at: DateTime<Utc>,
    file: &Path,
    opts: &ImportOptions,
    progress: Box<dyn FnMut(usize, usize) + Send>,
) -> Result<ImportReport, ImportError> {
    if !scope.allows(Permission::ImportHouseholds) {
        return Err(ImportError::Forbidden);
    }
    let file_name = opts
        .file_name
        .clone()
        .or_else(|| file.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let format = FileFormat::from_file_name(&file_name)?;
    let regions = Arc::new(store.all_regions().await?);
    let path = file.to_path_buf();
    let file_sha256 = tokio::task::spawn_blocking(move || crate::feed::sha256_file(&path))
        .await
        .map_err(|e| ReadError::Io(std::io::Error::other(e)))?
        .map_err(ReadError::Io)?;
    let progress = Arc::new(Mutex::new(progress));
    let file = FileToRead { path: file.to_path_buf(), format, file_name, file_sha256, regions };
    for together in [true, false] {
        if !together {
            report_progress(&progress, PROGRESS_REREAD, 0);
        }
        if let Some(report) = read_and_write(store, scope, actor, at, &file, opts, together, &progress).await? {
            return Ok(report);
        }
    }
    Err(ImportError::Store(StoreError::Database("a file read whole cannot be scattered".into())))
}

struct FileToRead {
    path: std::path::PathBuf,
    format: FileFormat,
    file_name: String,
    file_sha256: String,
    regions: Arc<Vec<Region>>,
}

type Progress = Arc<Mutex<Box<dyn FnMut(usize, usize) + Send>>>;

fn report_progress(p: &Progress, done: usize, total: usize) {
    (p.lock().unwrap_or_else(|e| e.into_inner()))(done, total)
}

/// One part of a file: its households read without error and the errors so far.
struct Part {
    households: Vec<IncomingHousehold>,
    origins: Vec<Origin>,
    errors: usize,
}

/// One reading of the file (see [`import_households`]); `None` when, with `together`, the
/// file turned out not to keep each household's rows together (nothing was written).
#[allow(clippy::too_many_arguments)]
async fn read_and_write<S: RegionStore + HouseholdStore + RegistryLookup + AuditStore>(
    store: &S,
    scope: &Scope,
    actor: &Actor,
    at: DateTime<Utc>,
    file: &FileToRead,
    opts: &ImportOptions,
    together: bool,
    progress: &Progress,
) -> Result<Option<ImportReport>, ImportError> {
    // two parts in flight: the reader keeps ahead of the registry without piling rows up
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Part>(2);
    let reader = {
        let (path, format, regions, scope, year) =
            (file.path.clone(), file.format, Arc::clone(&file.regions), *scope, opts.income_year);
        let progress = Arc::clone(progress);
        tokio::task::spawn_blocking(move || {
            let mut report = |done: usize, total: usize| report_progress(&progress, done, total);
            // the import gave up (a store error, or its caller went away): stop reading too
            let gone = tx.clone();
            let stop = move || gone.is_closed();
            let mut sink = |households, origins, errors| tx.blocking_send(Part { households, origins, errors }).is_ok();
            crate::read::read_path(&path, format, |t| {
                stream_households(t, &regions, &scope, year, together, PART, &mut report, &stop, &mut sink)
            })
        })
    };
    let meta =
        ImportMeta { file_name: file.file_name.clone(), file_sha256: file.file_sha256.clone(), rows: 0, warnings: 0 };
    let mut run = Checking::<S::Import>::new(scope, opts.dry_run);
    let mut failed = None;
    while let Some(part) = rx.recv().await {
        if let Err(e) = run.add(store, actor, at, &meta, part).await {
            failed = Some(e);
            break;
        }
    }
    // a failure stops the reader (its next hand-over is refused)
    drop(rx);
    let read = reader.await.map_err(|e| ReadError::Io(std::io::Error::other(e)))?;
    // on every way out but the last, `run` is dropped with its transaction: nothing is written
    let parsed = match (read?, failed) {
        (_, Some(e)) => return Err(e),
        (Streamed::Scattered(_), None) => return Ok(None),
        (Streamed::Read(parsed), None) => parsed,
        (Streamed::Stopped, None) => {
            return Err(ImportError::Store(StoreError::Database("the import stopped reading".into())));
        }
    };
    run.finish(store, actor, at, parsed, meta, progress).await.map(Some)
}

/// The registry half of an import, part by part.
struct Checking<W> {
    scope: Scope,
    dry_run: bool,
    /// The open transaction once something was written.
    writer: Option<W>,
    /// An error was found: nothing more is written (and what was, is rolled back).
    refused: bool,
    /// Issues found against the registry, at most [`MAX_ISSUES`] (counts exact).
    extra: Vec<Issue>,
    extra_errors: usize,
    extra_warnings: usize,
    /// 户编号 of the file so far.
    seen: HashSet<String>,
    /// An ID (key) already registered in another household: a warning unless that household
    /// turns out to be in the file (so it is judged at the end); once per ID.
    elsewhere: Vec<(Issue, HouseholdNo, u64)>,
    /// Households planned unchanged before the transaction was opened (it opens at the first
    /// part with something to write, so that re-reading an unchanged file holds no writer).
    unchanged_unwritten: usize,
    /// What the plan would do (a dry run's report).
    created: usize,
    updated: usize,
    unchanged: usize,
}

impl<W: ImportWriter> Checking<W> {
    fn new(scope: &Scope, dry_run: bool) -> Self {
        Checking {
            scope: *scope,
            dry_run,
            writer: None,
            refused: false,
            extra: Vec::new(),
            extra_errors: 0,
            extra_warnings: 0,
            seen: HashSet::new(),
            elsewhere: Vec::new(),
            unchanged_unwritten: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
        }
    }

    fn push(&mut self, issue: Issue) {
        match issue.tier {
            Tier::Error => self.extra_errors += 1,
            Tier::Warning => self.extra_warnings += 1,
        }
        if self.extra.len() < MAX_ISSUES {
            self.extra.push(issue);
        }
    }

    async fn add<S>(
        &mut self,
        store: &S,
        actor: &Actor,
        at: DateTime<Utc>,
        meta: &ImportMeta,
        part: Part,
    ) -> Result<(), ImportError>
    where
        S: HouseholdStore<Import = W> + RegistryLookup,
    {
        let Part { households, origins, errors } = part;
        self.seen.extend(households.iter().map(|h| h.household.household_no.to_string()));
        let nos: Vec<HouseholdNo> = households.iter().map(|h| h.household.household_no.clone()).collect();
        let mut existing = Vec::new();
        for chunk in nos.chunks(BATCH) {
            existing.extend(store.households_by_no(chunk).await?);
        }
        let existing = self.check_existing(&households, &origins, existing);
        let keys: Vec<u64> = households.iter().flat_map(|h| h.members.iter().map(|m| m.national_id.key())).collect();
        let mut locations = Vec::new();
        for chunk in keys.chunks(BATCH) {
            locations.extend(store.member_locations(chunk).await?);
        }
        self.check_locations(&households, &origins, locations);

        if errors > 0 || self.extra_errors > 0 {
            // the rest of the file is still checked, but nothing of it will be written
            self.refused = true;
            self.writer = None;
        }
        if self.refused {
            return Ok(());
        }
        let plan = domain::import::plan(households, existing);
        self.created += plan.creates.len();
        self.updated += plan.updates.len();
        self.unchanged += plan.unchanged;
        if self.dry_run {
            return Ok(());
        }
        if self.writer.is_none() && plan.creates.is_empty() && plan.updates.is_empty() {
            self.unchanged_unwritten += plan.unchanged;
            return Ok(());
        }
        let writer = self.writer(store, actor, at, meta).await?;
        writer.apply(&plan).await.map_err(changed)
    }

    /// The open transaction, opened now if need be (with the households found unchanged so far).
    async fn writer<S: HouseholdStore<Import = W>>(
        &mut self,
        store: &S,
        actor: &Actor,
        at: DateTime<Utc>,
        meta: &ImportMeta,
    ) -> Result<&mut W, ImportError> {
        if self.writer.is_none() {
            let mut w = store.begin_import(actor, at, meta).await?;
            let unchanged = std::mem::take(&mut self.unchanged_unwritten);
            if unchanged > 0 {
                w.apply(&domain::ports::ImportPlan { unchanged, ..Default::default() }).await?;
            }
            self.writer = Some(w);
        }
        self.writer.as_mut().ok_or(ImportError::Store(StoreError::Database("no import transaction".into())))
    }

    /// Existing households outside the scope are errors; the rest are what the plan compares with.
    fn check_existing(
        &mut self,
        households: &[IncomingHousehold],
        origins: &[Origin],
        existing: Vec<HouseholdDetail>,
    ) -> Vec<HouseholdDetail> {
        let first_rows: HashMap<&str, usize> =
            households.iter().zip(origins).map(|(h, o)| (h.household.household_no.as_str(), o.first_row)).collect();
        let mut keep = Vec::with_capacity(existing.len());
        for d in existing {
            if self.scope.contains(d.record.household.village) {
                keep.push(d);
                continue;
            }
            let no = d.record.household.household_no.clone();
            self.push(Issue {
                row: first_rows.get(no.as_str()).copied().unwrap_or(0),
                column: Col::HouseholdNo.header().to_string(),
                value: no.to_string(),
                tier: Tier::Error,
                message: format!(
                    "户编号“{no}”已登记在您管辖范围以外的村，不能通过导入修改：请核对户编号，或请上级管理员处理"
                ),
            });
        }
        keep
    }

    /// IDs already registered in a household not in this part (judged at the end: it may come
    /// later in the file).
    fn check_locations(
        &mut self,
        households: &[IncomingHousehold],
        origins: &[Origin],
        locations: Vec<(u64, HouseholdNo, domain::RegionCode)>,
    ) {
        let mut rows: HashMap<u64, usize> = HashMap::new();
        for (h, o) in households.iter().zip(origins) {
            for (m, row) in h.members.iter().zip(&o.member_rows) {
                rows.entry(m.national_id.key()).or_insert(*row);
            }
        }
        for (key, no, village) in locations {
            if self.seen.contains(no.as_str()) {
                continue;
            }
            let Some(row) = rows.get(&key) else { continue };
            let where_ = if self.scope.contains(village) {
                format!("户编号“{no}”")
            } else {
                "您管辖范围以外的另一户".to_string()
            };
            let issue = Issue {
                row: *row,
                column: Col::NationalId.header().to_string(),
                value: String::new(),
                tier: Tier::Warning,
                message: format!(
                    "此证件号码已登记在{where_}中（该户不在本文件中）：同一人不能同时属于两户，已按原样导入，请核对后从其中一户删除"
                ),
            };
            self.elsewhere.push((issue, no, key));
        }
    }

    /// The report; commits unless there was an error or this is a dry run.
    async fn finish<S: HouseholdStore<Import = W>>(
        mut self,
        store: &S,
        actor: &Actor,
        at: DateTime<Utc>,
        mut parsed: ParsedImport,
        meta: ImportMeta,
        progress: &Progress,
    ) -> Result<ImportReport, ImportError> {
        let mut warned = HashSet::new();
        for (issue, no, key) in std::mem::take(&mut self.elsewhere) {
            if !self.seen.contains(no.as_str()) && warned.insert(key) {
                self.push(issue);
            }
        }
        parsed.errors += self.extra_errors;
        parsed.warnings += self.extra_warnings;
        parsed.issues.append(&mut self.extra);
        parsed.issues.sort_by_key(|i| i.row);
        parsed.issues.truncate(MAX_ISSUES);
        crate::parse::note_truncation(&mut parsed.issues, parsed.errors, parsed.warnings);
        let mut report = ImportReport {
            file_name: meta.file_name.clone(),
            file_sha256: meta.file_sha256.clone(),
            dry_run: self.dry_run,
            written: false,
            import_id: None,
            rows: parsed.rows,
            households: parsed.household_count,
            members: parsed.member_count,
            errors: parsed.errors,
            warnings: parsed.warnings,
            created: 0,
            updated: 0,
            unchanged: 0,
            issues: parsed.issues,
        };
        if report.errors > 0 || self.refused {
            return Ok(report);
        }
        if self.dry_run {
            (report.created, report.updated, report.unchanged) = (self.created, self.updated, self.unchanged);
            return Ok(report);
        }
        report_progress(progress, PROGRESS_COMMIT, 0);
        let meta = ImportMeta { rows: report.rows, warnings: report.warnings, ..meta };
        // a file without households, or without a change, is still recorded as imported
        self.writer(store, actor, at, &meta).await?;
        let writer =
            self.writer.take().ok_or(ImportError::Store(StoreError::Database("no import transaction".into())))?;
        let outcome = writer.commit(&meta).await.map_err(changed)?;
        report.written = true;
        report.import_id = Some(outcome.import_id);
        report.created = outcome.created;
        report.updated = outcome.updated;
        report.unchanged = outcome.unchanged;
        Ok(report)
    }
}

fn changed(e: StoreError) -> ImportError {
    match e {
        StoreError::Conflict => ImportError::Changed,
        e => ImportError::Store(e),
    }
}

/// Exports the households of `filter` (within `scope`) in the layout, in list order, and
/// records the export in the audit log. Returns the number of member rows written.
///
/// The batches are read from the store here while a blocking thread writes the previous ones
/// (up to two waiting and one being written): reading and formatting each take about half of an
/// export's time, and the machine has two cores (docs/bench-history.md, W8). The file is completed only
/// when every batch was read: a store error, or a caller that went away, leaves it unfinished.
#[allow(clippy::too_many_arguments)]
pub async fn export_households<S: RegionStore + HouseholdStore + AuditStore, W: Write + Send + 'static>(
    store: &S,
    scope: &Scope,
    actor: &Actor,
    at: DateTime<Utc>,
    filter: &HouseholdFilter,
    format: FileFormat,
    out: W,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<usize, ExportError> {
    if !scope.allows(Permission::ExportHouseholds) {
        return Err(ExportError::Forbidden);
    }
    let regions = store.all_regions().await?;
    let total = store.list_households(scope, filter, None, 1).await?.total.max(0) as usize;
    // `None` says the last batch was sent: without it the writer stops short of finishing the file
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Option<Vec<HouseholdDetail>>>(2);
    let file_regions = regions.clone();
    let writing = tokio::task::spawn_blocking(move || -> Result<Option<usize>, WriteError> {
        let mut writer = ExportWriter::new(format, out, &file_regions)?;
        while let Some(msg) = rx.blocking_recv() {
            let Some(batch) = msg else {
                let rows = writer.rows();
                writer.finish()?;
                return Ok(Some(rows));
            };
            for d in &batch {
                writer.write_household(d)?;
            }
        }
        Ok(None)
    });
    let mut after = None;
    let mut households = 0;
    let read: Result<(), ExportError> = async {
        loop {
            let (batch, next) = store.export_batch(scope, filter, after.as_ref(), EXPORT_BATCH as u32).await?;
            households += batch.len();
            let empty = batch.is_empty();
            // a closed channel means the writer stopped on an error, which its result gives
            if tx.send(Some(batch)).await.is_err() {
                return Ok(());
            }
            progress(households, total.max(households));
            match next {
                Some(c) if !empty => after = Some(c),
                _ => {
                    let _ = tx.send(None).await;
                    return Ok(());
                }
            }
        }
    }
    .await;
    drop(tx);
    let written = match writing.await {
        Ok(w) => w,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(WriteError::Io(std::io::Error::other(e.to_string()))),
    };
    read?;
    let rows = written?.ok_or_else(|| WriteError::Io(std::io::Error::other("导出在写完前停止")))?;

    let names = RegionNames::new(&regions);
    let region = filter.region.or(scope.region());
    let mut entry = AuditEntry::new(at, actor, AuditAction::Export, "export", format.extension()).note(format!(
        "导出农户数据（{}）：{}；共{households}户、{rows}行",
        format.extension(),
        describe_filter(filter, &names)
    ));
    if let Some(r) = region {
        entry = entry.region(r);
    }
    store.append_audit(&[entry]).await?;
    Ok(rows)
}

/// The filter in words, for the audit note.
fn describe_filter(f: &HouseholdFilter, names: &RegionNames) -> String {
    let mut parts = Vec::new();
    if let Some(r) = f.region {
        parts.push(format!("区域 {}（{r}）", names.name(r)));
    }
    if let Some(g) = f.group_no {
        parts.push(format!("{g}组"));
    }
    if let Some(k) = f.kind {
        parts.push(format!("户类型 {k}"));
    }
    if let Some(s) = f.status {
        parts.push(format!("监测状态 {s}"));
    }
    if let Some(c) = f.category {
        parts.push(format!("监测对象类别 {c}"));
    }
    match &f.query {
        None | Some(SearchQuery::None) => {}
        Some(SearchQuery::NationalId(_)) => parts.push("按证件号码查找".to_string()),
        Some(SearchQuery::Digits(s) | SearchQuery::Pinyin(s) | SearchQuery::Name(s)) => {
            parts.push(format!("查找“{s}”"))
        }
    }
    if parts.is_empty() { "全部农户".to_string() } else { format!("筛选条件：{}", parts.join("、")) }
}
