//! Imports and exports through the domain's storage traits.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use domain::audit::{AuditAction, AuditEntry};
use domain::ports::{
    AuditStore, HouseholdDetail, HouseholdFilter, HouseholdStore, ImportMeta, RegionStore, RegistryLookup, StoreError,
};
use domain::search::SearchQuery;
use domain::{Actor, HouseholdNo, Permission, Region, Scope};
use sha2::{Digest, Sha256};

use crate::layout::Col;
use crate::parse::{Issue, ParsedImport, Tier, parse_households};
use crate::read::{FileFormat, ReadError};
use crate::write::{ExportWriter, RegionNames, WriteError};

/// Households are looked up and exported in batches of this size.
const BATCH: usize = 500;

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

/// A reader that hashes what passes through it, so that a CSV is read once for both.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut h = Hashing { inner: std::fs::File::open(path)?, hasher: Sha256::new() };
    std::io::copy(&mut h, &mut std::io::sink())?;
    Ok(hex::encode(h.hasher.finalize()))
}

/// A file read and checked on its own, before the registry is consulted.
#[derive(Debug, Clone)]
pub struct PreparedImport {
    pub file_name: String,
    pub file_sha256: String,
    pub parsed: ParsedImport,
}

/// Reads and parses a file: the blocking half of an import (a server runs it on a blocking
/// thread, then awaits [`complete_import`]). `file_name` is the name the user knows the file by;
/// its extension decides the format. `regions` is the whole region tree.
pub fn prepare_import(
    file: &Path,
    file_name: &str,
    regions: &[Region],
    scope: &Scope,
    income_year: i32,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<PreparedImport, ReadError> {
    let format = FileFormat::from_file_name(file_name)?;
    let (parsed, file_sha256) = match format {
        FileFormat::Xlsx => {
            // the zip needs random access, so the hash is a separate pass over the raw bytes
            let sha = sha256_file(file)?;
            let parsed =
                crate::read::read_path(file, format, |t| parse_households(t, regions, scope, income_year, progress))?;
            (parsed, sha)
        }
        FileFormat::Csv => {
            let mut input =
                Hashing { inner: std::io::BufReader::new(std::fs::File::open(file)?), hasher: Sha256::new() };
            let parsed =
                crate::read::read_csv(&mut input, |t| parse_households(t, regions, scope, income_year, progress))?;
            // whatever the reader left unread (nothing, normally) still belongs to the file
            std::io::copy(&mut input, &mut std::io::sink())?;
            (parsed, hex::encode(input.hasher.finalize()))
        }
    };
    Ok(PreparedImport { file_name: file_name.to_string(), file_sha256, parsed })
}

/// Imports a file of the national layout: [`prepare_import`] then [`complete_import`].
///
/// Reading is blocking work done inside this future; a server that must not block its async
/// threads calls the two halves itself. `progress(rows read, total or 0)` is called as rows are
/// read.
pub async fn import_households<S: RegionStore + HouseholdStore + RegistryLookup + AuditStore>(
    store: &S,
    scope: &Scope,
    actor: &Actor,
    at: DateTime<Utc>,
    file: &Path,
    opts: &ImportOptions,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<ImportReport, ImportError> {
    if !scope.allows(Permission::ImportHouseholds) {
        return Err(ImportError::Forbidden);
    }
    let file_name = opts
        .file_name
        .clone()
        .or_else(|| file.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    FileFormat::from_file_name(&file_name)?;
    let regions = store.all_regions().await?;
    let prepared = prepare_import(file, &file_name, &regions, scope, opts.income_year, progress)?;
    complete_import(store, scope, actor, at, prepared, opts.dry_run).await
}

/// The registry half of an import. Looks up the households the file names (an existing
/// household outside the caller's scope is an error that does not say where it is) and where
/// each ID is already registered (another household not in this file: a warning). With any
/// error, or on a dry run, nothing is written; otherwise the plan of [`domain::import::plan`] is
/// applied in one transaction by the store.
pub async fn complete_import<S: RegionStore + HouseholdStore + RegistryLookup + AuditStore>(
    store: &S,
    scope: &Scope,
    actor: &Actor,
    at: DateTime<Utc>,
    prepared: PreparedImport,
    dry_run: bool,
) -> Result<ImportReport, ImportError> {
    if !scope.allows(Permission::ImportHouseholds) {
        return Err(ImportError::Forbidden);
    }
    let PreparedImport { file_name, file_sha256, mut parsed } = prepared;
    let nos: Vec<HouseholdNo> = parsed.households.iter().map(|h| h.household.household_no.clone()).collect();
    let mut existing = Vec::new();
    for chunk in nos.chunks(BATCH) {
        existing.extend(store.households_by_no(chunk).await?);
    }
    let mut extra = Vec::new();
    let existing = check_existing(&parsed, scope, existing, &mut extra);
    let keys: Vec<u64> = parsed.households.iter().flat_map(|h| h.members.iter().map(|m| m.national_id.key())).collect();
    let mut locations = Vec::new();
    for chunk in keys.chunks(BATCH) {
        locations.extend(store.member_locations(chunk).await?);
    }
    check_locations(&parsed, scope, &locations, &mut extra);
    merge_issues(&mut parsed, extra);

    let mut report = ImportReport {
        file_name: file_name.clone(),
        file_sha256: file_sha256.clone(),
        dry_run,
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
        issues: Vec::new(),
    };
    if parsed.has_errors() {
        report.issues = parsed.issues;
        return Ok(report);
    }
    let plan = domain::import::plan(std::mem::take(&mut parsed.households), existing);
    report.issues = parsed.issues;
    if dry_run {
        report.created = plan.creates.len();
        report.updated = plan.updates.len();
        report.unchanged = plan.unchanged;
        return Ok(report);
    }
    let meta = ImportMeta { file_name, file_sha256, rows: report.rows, warnings: report.warnings };
    let outcome = store.apply_import(actor, at, &meta, &plan).await.map_err(|e| match e {
        StoreError::Conflict => ImportError::Changed,
        e => ImportError::Store(e),
    })?;
    report.written = true;
    report.import_id = Some(outcome.import_id);
    report.created = outcome.created;
    report.updated = outcome.updated;
    report.unchanged = outcome.unchanged;
    Ok(report)
}

/// Existing households outside the scope are errors; the rest are what the plan compares with.
fn check_existing(
    parsed: &ParsedImport,
    scope: &Scope,
    existing: Vec<HouseholdDetail>,
    extra: &mut Vec<Issue>,
) -> Vec<HouseholdDetail> {
    let first_rows: HashMap<&str, usize> = parsed
        .households
        .iter()
        .zip(&parsed.origins)
        .map(|(h, o)| (h.household.household_no.as_str(), o.first_row))
        .collect();
    let mut keep = Vec::with_capacity(existing.len());
    for d in existing {
        let no = d.record.household.household_no.clone();
        if scope.contains(d.record.household.village) {
            keep.push(d);
            continue;
        }
        extra.push(Issue {
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

/// An ID already registered in a household that this file does not contain.
fn check_locations(
    parsed: &ParsedImport,
    scope: &Scope,
    locations: &[(u64, HouseholdNo, domain::RegionCode)],
    extra: &mut Vec<Issue>,
) {
    let in_file: HashSet<&str> = parsed.households.iter().map(|h| h.household.household_no.as_str()).collect();
    let mut rows: HashMap<u64, (usize, &str)> = HashMap::new();
    for (h, o) in parsed.households.iter().zip(&parsed.origins) {
        for (m, row) in h.members.iter().zip(&o.member_rows) {
            rows.entry(m.national_id.key()).or_insert((*row, h.household.household_no.as_str()));
        }
    }
    for (key, no, village) in locations {
        if in_file.contains(no.as_str()) {
            continue;
        }
        let Some((row, _)) = rows.get(key) else { continue };
        let where_ = if scope.contains(*village) {
            format!("户编号“{no}”")
        } else {
            "您管辖范围以外的另一户".to_string()
        };
        extra.push(Issue {
            row: *row,
            column: Col::NationalId.header().to_string(),
            value: String::new(),
            tier: Tier::Warning,
            message: format!("此证件号码已登记在{where_}中（该户不在本文件中）：同一人不能同时属于两户，已按原样导入，请核对后从其中一户删除"),
        });
    }
}

fn merge_issues(parsed: &mut ParsedImport, extra: Vec<Issue>) {
    for i in extra {
        match i.tier {
            Tier::Error => parsed.errors += 1,
            Tier::Warning => parsed.warnings += 1,
        }
        parsed.issues.push(i);
    }
    parsed.issues.sort_by_key(|i| i.row);
}

/// Exports the households of `filter` (within `scope`) in the layout, in list order, and
/// records the export in the audit log. Returns the number of member rows written.
#[allow(clippy::too_many_arguments)]
pub async fn export_households<S: RegionStore + HouseholdStore + AuditStore, W: Write + Send>(
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
    let mut writer = ExportWriter::new(format, out, &regions)?;
    let mut after = None;
    let mut households = 0;
    loop {
        let (batch, next) = store.export_batch(scope, filter, after.as_ref(), BATCH as u32).await?;
        for d in &batch {
            writer.write_household(d)?;
        }
        households += batch.len();
        progress(households, total.max(households));
        match next {
            Some(c) if !batch.is_empty() => after = Some(c),
            _ => break,
        }
    }
    let rows = writer.rows();
    writer.finish()?;

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
