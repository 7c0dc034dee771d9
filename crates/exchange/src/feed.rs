//! Department files (部门筛查预警, DOMAIN §9, D15–D17): CSV or XLSX in UTF-8 or GBK, whatever the
//! department's own column names, read into [`FeedRow`]s. Columns are found by their usual
//! names or by a mapping saved per department and feed kind. IDs are normalised per D17; an ID
//! that fails is kept on the row (it is never matched, only offered for review). A cell that
//! cannot be read (an amount that is not a number, an ID stored as a floating-point number) is
//! an error: the import then writes nothing.

use std::path::Path;

use chrono::{Datelike, NaiveDate};
use domain::feed::{AmountUse, FeedKind, FeedRow};
use domain::money::Fen;
use domain::national_id::{IdError, NationalId};
use sha2::{Digest, Sha256};

use crate::read::{Cell, FileFormat, ReadError, RowSource};

/// The fields fangpin reads from a department file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedField {
    Name,
    Id,
    Birth,
    Village,
    Amount,
    Item,
    Period,
    Date,
}

impl FeedField {
    pub const ALL: [FeedField; 8] = [
        FeedField::Name,
        FeedField::Id,
        FeedField::Birth,
        FeedField::Village,
        FeedField::Amount,
        FeedField::Item,
        FeedField::Period,
        FeedField::Date,
    ];

    pub fn label(self) -> &'static str {
        match self {
            FeedField::Name => "姓名",
            FeedField::Id => "证件号码",
            FeedField::Birth => "出生日期",
            FeedField::Village => "村",
            FeedField::Amount => "金额",
            FeedField::Item => "项目",
            FeedField::Period => "期间",
            FeedField::Date => "日期",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            FeedField::Name => "name",
            FeedField::Id => "id",
            FeedField::Birth => "birth",
            FeedField::Village => "village",
            FeedField::Amount => "amount",
            FeedField::Item => "item",
            FeedField::Period => "period",
            FeedField::Date => "date",
        }
    }

    pub fn from_key(text: &str) -> Option<FeedField> {
        let t = text.trim();
        Self::ALL.into_iter().find(|f| f.key() == t || f.label() == t)
    }

    /// The names departments usually give the column (compared without spaces).
    fn synonyms(self) -> &'static [&'static str] {
        match self {
            FeedField::Name => &["姓名", "参保人姓名", "人员姓名", "户主姓名", "学生姓名", "患者姓名", "名字"],
            FeedField::Id => &[
                "证件号码",
                "身份证号",
                "身份证号码",
                "公民身份号码",
                "身份证件号码",
                "证件号",
                "社会保障号码",
                "残疾人证号",
            ],
            FeedField::Birth => &["出生日期", "出生年月", "出生年月日"],
            FeedField::Village => &["村", "行政村", "所在村", "村委", "村委会", "村（社区）", "村(社区)", "村社区"],
            FeedField::Amount => &[
                "金额",
                "自付金额",
                "个人自付",
                "自付费用",
                "个人负担",
                "个人自付金额",
                "累计自付",
                "损失金额",
                "救助金额",
                "费用",
                "自付学费",
            ],
            FeedField::Item => &[
                "项目",
                "类型",
                "救助类型",
                "变动类型",
                "变动情况",
                "灾害类型",
                "危房等级",
                "等级",
                "鉴定等级",
                "残疾等级",
                "病种",
                "车牌号",
                "单位",
                "企业名称",
                "房屋坐落",
            ],
            FeedField::Period => &["期间", "年月", "统计期间", "月份", "年度", "统计年月"],
            FeedField::Date => &["日期", "死亡日期", "登记日期", "鉴定日期", "发生日期", "确诊日期", "变动日期"],
        }
    }
}

/// Which column of the file holds which field; a saved mapping wins over the usual names.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FeedMapping(pub Vec<(FeedField, String)>);

impl FeedMapping {
    /// Parses "金额=自付金额" pairs (field by key or label).
    pub fn parse_pairs(pairs: &[String]) -> Result<FeedMapping, String> {
        let mut out = Vec::new();
        for p in pairs {
            let (f, h) = p.split_once('=').ok_or_else(|| format!("列对应“{p}”应写成 字段=表头，如 金额=自付金额"))?;
            let field = FeedField::from_key(f).ok_or_else(|| {
                let known: Vec<&str> = FeedField::ALL.iter().map(|f| f.label()).collect();
                format!("没有字段“{f}”：可用 {}", known.join("、"))
            })?;
            out.push((field, h.trim().to_string()));
        }
        Ok(FeedMapping(out))
    }

    /// The mapping an import uses: the pairs typed for it ("金额=自付金额") when there are any,
    /// else the one saved for the department's files of this kind (JSON), else the usual names.
    pub fn resolve(typed: &[String], saved: Option<&str>) -> Result<FeedMapping, String> {
        if !typed.is_empty() {
            return FeedMapping::parse_pairs(typed);
        }
        Ok(saved.and_then(|json| serde_json::from_str(json).ok()).unwrap_or_default())
    }

    /// The column index of each field in `headers`.
    fn columns(&self, headers: &[String]) -> Vec<(FeedField, usize)> {
        let norm = |s: &str| domain::text::compact(s);
        let heads: Vec<String> = headers.iter().map(|h| norm(h)).collect();
        let mut out = Vec::new();
        for field in FeedField::ALL {
            let saved = self.0.iter().find(|(f, _)| *f == field).map(|(_, h)| norm(h));
            let i = match saved {
                Some(h) => heads.iter().position(|x| *x == h),
                None => field.synonyms().iter().find_map(|s| heads.iter().position(|x| x == s)),
            };
            if let Some(i) = i {
                out.push((field, i));
            }
        }
        out
    }
}

/// A problem with one cell; any error means nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FeedIssue {
    pub line: usize,
    pub field: String,
    pub message: String,
}

/// Rows are passed on in chunks of this many while a file is read (a registry look-up of the IDs
/// not seen before in the file, and one of reviewers' decisions for the rows not matched).
pub const FEED_CHUNK: usize = 10_000;

/// A department file read and checked, its rows passed on in chunks as they were read.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FeedSummary {
    pub file_name: String,
    pub file_sha256: String,
    pub header_row: usize,
    /// The columns used: field label → header in the file.
    pub columns: Vec<(String, String)>,
    /// Rows read without an error.
    pub rows: usize,
    pub errors: Vec<FeedIssue>,
}

/// A department file read and checked, held whole (small files, tests).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ParsedFeed {
    pub kind: FeedKind,
    pub file_name: String,
    pub file_sha256: String,
    pub header_row: usize,
    /// The columns used: field label → header in the file.
    pub columns: Vec<(String, String)>,
    pub rows: Vec<FeedRow>,
    pub errors: Vec<FeedIssue>,
}

#[derive(Debug, thiserror::Error)]
pub enum FeedReadError {
    #[error(
        "未找到表头：文件的前几行中没有同时包含姓名列和证件号码列的一行（可用的列名如“姓名”“身份证号码”；列名不同时请先设置列对应，如 姓名=参保人）"
    )]
    NoHeader,
    #[error("{0}")]
    Read(ReadError),
    #[error("缺少必需的列“{0}”：请在文件中加上该列，或设置列对应（如 金额=自付金额）")]
    MissingColumn(&'static str),
}

impl From<ReadError> for FeedReadError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::NoHeader => FeedReadError::NoHeader,
            other => FeedReadError::Read(other),
        }
    }
}

/// The rows of a department file's problem list: cell errors (nothing was written) and rows that
/// matched no one (kept for review), as 行号, 列, 类别, 姓名, 证件号码, 说明.
pub const REPORT_HEADERS: [&str; 6] = ["行号", "列", "类别", "姓名", "证件号码", "说明"];

pub fn report_rows(errors: &[FeedIssue], unmatched: &[domain::feed::Unmatched]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = errors
        .iter()
        .map(|e| {
            vec![e.line.to_string(), e.field.clone(), "错误".into(), String::new(), String::new(), e.message.clone()]
        })
        .collect();
    out.extend(unmatched.iter().map(|u| {
        vec![
            u.line.to_string(),
            "证件号码".into(),
            "未匹配".into(),
            u.name.clone(),
            u.id_text.clone(),
            u.reason.clone(),
        ]
    }));
    out
}

/// Writes the problem list as .xlsx or .csv (by the path's extension).
pub fn write_report(path: &Path, errors: &[FeedIssue], unmatched: &[domain::feed::Unmatched]) -> Result<(), String> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let format = FileFormat::from_file_name(&name).map_err(|e| e.to_string())?;
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    crate::write_table(
        format,
        file,
        "问题清单",
        &REPORT_HEADERS,
        &[8.0, 10.0, 8.0, 10.0, 22.0, 50.0],
        &report_rows(errors, unmatched),
    )
    .map_err(|e| e.to_string())?;
    Ok(())
}

/// Reads a department file from disk, held whole.
pub fn read_feed_path(
    path: &Path,
    file_name: &str,
    kind: FeedKind,
    mapping: &FeedMapping,
    default_period: &str,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ParsedFeed, FeedReadError> {
    let sha = sha256_file(path).map_err(|e| FeedReadError::Read(ReadError::Io(e)))?;
    let mut rows = Vec::new();
    let summary = stream_feed(
        &FeedSource::Path(path.to_path_buf()),
        file_name,
        &sha,
        kind,
        mapping,
        default_period,
        progress,
        &mut |chunk, _| {
            rows.extend(chunk);
            true
        },
    )?;
    Ok(ParsedFeed::whole(kind, summary, rows))
}

/// Reads a department file held in memory (an upload, an API body), held whole.
pub fn read_feed_bytes(
    bytes: &[u8],
    file_name: &str,
    kind: FeedKind,
    mapping: &FeedMapping,
    default_period: &str,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ParsedFeed, FeedReadError> {
    let sha = hex(&Sha256::digest(bytes));
    let format = FileFormat::from_file_name(file_name)?;
    let is_header = |h: &[String]| has_person_columns(mapping, h);
    let mut rows = Vec::new();
    let summary = crate::read::read_bytes_with(bytes, format, &is_header, |t| {
        parse_feed(t, kind, mapping, default_period, file_name, &sha, progress, &mut |chunk, _| {
            rows.extend(chunk);
            true
        })
    })??;
    Ok(ParsedFeed::whole(kind, summary, rows))
}

impl ParsedFeed {
    fn whole(kind: FeedKind, s: FeedSummary, rows: Vec<FeedRow>) -> ParsedFeed {
        ParsedFeed {
            kind,
            file_name: s.file_name,
            file_sha256: s.file_sha256,
            header_row: s.header_row,
            columns: s.columns,
            rows,
            errors: s.errors,
        }
    }
}

/// Where a department file is read from: a file on disk, or an upload held in memory.
#[derive(Debug, Clone)]
pub enum FeedSource {
    Path(std::path::PathBuf),
    Bytes(Vec<u8>),
}

impl FeedSource {
    /// The SHA-256 of the file (how an import recognises a file imported before).
    pub fn sha256(&self) -> std::io::Result<String> {
        match self {
            FeedSource::Path(p) => sha256_file(p),
            FeedSource::Bytes(b) => Ok(hex(&Sha256::digest(b))),
        }
    }
}

/// Reads and checks a department file, passing its rows on in chunks of [`FEED_CHUNK`] as they are
/// read: `sink(rows, errors so far)` returns false to stop reading. Every row is checked however
/// many errors come before it, so that the problem list is complete.
#[allow(clippy::too_many_arguments)]
pub fn stream_feed(
    source: &FeedSource,
    file_name: &str,
    sha256: &str,
    kind: FeedKind,
    mapping: &FeedMapping,
    default_period: &str,
    progress: &mut dyn FnMut(usize, usize),
    sink: &mut dyn FnMut(Vec<FeedRow>, usize) -> bool,
) -> Result<FeedSummary, FeedReadError> {
    let format = FileFormat::from_file_name(file_name)?;
    let is_header = |h: &[String]| has_person_columns(mapping, h);
    let parse = |t: &mut dyn RowSource| parse_feed(t, kind, mapping, default_period, file_name, sha256, progress, sink);
    match source {
        FeedSource::Path(p) => crate::read::read_path_with(p, format, &is_header, parse)?,
        FeedSource::Bytes(b) => crate::read::read_bytes_with(b, format, &is_header, parse)?,
    }
}

/// What importing a department file came to: the file's columns and problems, and — when it had
/// none, or was imported before — the import's report.
#[derive(Debug)]
pub struct FeedImported {
    pub file: FeedSummary,
    pub report: Option<domain::service::FeedReport>,
}

/// Why a department file could not be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum FeedImportError {
    #[error(transparent)]
    Read(#[from] FeedReadError),
    #[error(transparent)]
    Import(#[from] domain::service::EditError),
}

/// What to import, and how.
pub struct FeedFile {
    pub source: FeedSource,
    /// The name the user knows the file by; its extension decides the format.
    pub file_name: String,
    pub kind: FeedKind,
    pub mapping: FeedMapping,
    /// 期间 of rows that give none.
    pub default_period: String,
    pub dry_run: bool,
    /// A mapping typed for this file (JSON), saved once the file has been imported.
    pub mapping_to_save: Option<String>,
}

/// Imports a department file as it is read: the file is read and checked on a blocking thread,
/// and each chunk of rows is matched while the next is read ([`domain::service::FeedImport`]), so
/// that memory holds a chunk of rows plus what the import keeps (alerts, facts, rows not matched)
/// whatever the file's size. A file with any bad cell is read to its end for the problem list and
/// nothing is written; a file imported before is not read at all. `progress(rows read, rows
/// expected)` is called from the reading thread, then `progress(usize::MAX, 0)` once the final
/// write begins (as the household import does).
#[allow(clippy::too_many_arguments)]
pub async fn import_feed_file<S>(
    store: &S,
    calendar: &domain::calendar::WorkCalendar,
    at: chrono::DateTime<chrono::Utc>,
    today: NaiveDate,
    scope: &domain::Scope,
    actor: &domain::Actor,
    department: Option<domain::measure::Department>,
    file: FeedFile,
    progress: Box<dyn FnMut(usize, usize) + Send>,
) -> Result<FeedImported, FeedImportError>
where
    S: domain::ports::FeedStore + domain::ports::ParamStore + domain::ports::NotificationStore,
{
    use domain::service::FeedImport;
    let FeedFile { source, file_name, kind, mapping, default_period, dry_run, mapping_to_save } = file;
    FileFormat::from_file_name(&file_name).map_err(FeedReadError::from)?;
    let (source, sha) = tokio::task::spawn_blocking(move || source.sha256().map(|sha| (source, sha)))
        .await
        .map_err(|e| FeedReadError::Read(ReadError::Io(std::io::Error::other(e))))?
        .map_err(|e| FeedReadError::Read(ReadError::Io(e)))?;
    let mut run = FeedImport::start(store, scope, department, kind, &file_name, &sha, dry_run).await?;
    if run.previous().is_some() {
        let file = FeedSummary { file_name, file_sha256: sha, ..Default::default() };
        return Ok(FeedImported { file, report: Some(run.finish(store, actor, at, None).await?) });
    }
    // two chunks in flight: the reader keeps ahead of the matching without piling rows up
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<FeedRow>>(2);
    let name = file_name.clone();
    let progress = std::sync::Arc::new(std::sync::Mutex::new(progress));
    let reading = std::sync::Arc::clone(&progress);
    let reader = tokio::task::spawn_blocking(move || {
        // after the first bad cell nothing will be written: rows are only checked from then on
        let mut sink = |rows: Vec<FeedRow>, errors: usize| errors > 0 || tx.blocking_send(rows).is_ok();
        let mut report = |done: usize, total: usize| (reading.lock().unwrap_or_else(|e| e.into_inner()))(done, total);
        stream_feed(&source, &name, &sha, kind, &mapping, &default_period, &mut report, &mut sink)
    });
    let mut failed = None;
    while let Some(chunk) = rx.recv().await {
        if let Err(e) = run.add(store, calendar, today, &chunk).await {
            failed = Some(e);
            break;
        }
    }
    // a failed match stops the reader (its next hand-over fails)
    drop(rx);
    let read = reader.await.map_err(|e| FeedReadError::Read(ReadError::Io(std::io::Error::other(e))))?;
    let summary = match (read, failed) {
        // the problem list first: the user can fix those
        (Ok(s), _) if !s.errors.is_empty() => return Ok(FeedImported { file: s, report: None }),
        (_, Some(e)) => return Err(e.into()),
        (Err(e), None) => return Err(e.into()),
        (Ok(s), None) => s,
    };
    (progress.lock().unwrap_or_else(|e| e.into_inner()))(usize::MAX, 0);
    let report = run.finish(store, actor, at, mapping_to_save).await?;
    Ok(FeedImported { file: summary, report: Some(report) })
}

fn has_person_columns(mapping: &FeedMapping, headers: &[String]) -> bool {
    let cols = mapping.columns(headers);
    cols.iter().any(|(f, _)| *f == FeedField::Name) && cols.iter().any(|(f, _)| *f == FeedField::Id)
}

/// A file's SHA-256 in lower-case hex (how imports recognise a file seen before).
pub(crate) fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex(&h.finalize()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// "2022年3月", "2022-03", "202203", "2022/3" → "2022-03"; "2022", "2022年" → "2022".
pub fn normalise_period(text: &str) -> Option<String> {
    let t: String = domain::text::compact(text).replace(['年', '/', '.'], "-").replace('月', "");
    let t = t.trim_end_matches('-');
    let digits: String = t.chars().filter(|c| c.is_ascii_digit()).collect();
    let (y, m) = match t.split_once('-') {
        Some((y, m)) => (y.parse::<i32>().ok()?, Some(m.split('-').next()?.parse::<u32>().ok()?)),
        None if digits.len() == 4 && t.len() == 4 => (t.parse().ok()?, None),
        None if digits.len() == 6 && t.len() == 6 => (t[..4].parse().ok()?, Some(t[4..].parse().ok()?)),
        None => return None,
    };
    if !(2000..=2100).contains(&y) {
        return None;
    }
    match m {
        Some(m) if (1..=12).contains(&m) => Some(format!("{y}-{m:02}")),
        Some(_) => None,
        None => Some(y.to_string()),
    }
}

fn parse_date(cell: &Cell) -> Option<NaiveDate> {
    match cell {
        Cell::Date(d) => Some(*d),
        Cell::Empty => None,
        other => {
            let t = domain::text::compact(&other.text()).replace(['年', '月', '/', '.'], "-").replace('日', "");
            let t = t.trim_end_matches('-');
            NaiveDate::parse_from_str(t, "%Y-%m-%d").ok().or_else(|| NaiveDate::parse_from_str(t, "%Y%m%d").ok())
        }
    }
}

/// Year-to-date figures (医保, 教育 fees) are one alert per year, whatever month the file gives.
fn yearly(kind: FeedKind) -> bool {
    kind.amount() == AmountUse::Threshold
}

fn parse_feed(
    t: &mut dyn RowSource,
    kind: FeedKind,
    mapping: &FeedMapping,
    default_period: &str,
    file_name: &str,
    sha: &str,
    progress: &mut dyn FnMut(usize, usize),
    sink: &mut dyn FnMut(Vec<FeedRow>, usize) -> bool,
) -> Result<FeedSummary, FeedReadError> {
    let headers = t.headers().to_vec();
    let cols = mapping.columns(&headers);
    let col = |f: FeedField| cols.iter().find(|(x, _)| *x == f).map(|(_, i)| *i);
    if kind.amount() == AmountUse::Threshold && col(FeedField::Amount).is_none() {
        return Err(FeedReadError::MissingColumn("金额"));
    }
    if kind.item_required() && col(FeedField::Item).is_none() {
        return Err(FeedReadError::MissingColumn("项目"));
    }
    let total = t.rows_hint().unwrap_or(0);
    let mut rows = Vec::with_capacity(FEED_CHUNK.min(total.max(16)));
    let mut good = 0usize;
    let mut errors = Vec::new();
    let mut seen = 0usize;
    while let Some(r) = t.next_row() {
        seen += 1;
        if seen.is_multiple_of(1000) {
            progress(seen, total);
        }
        if r.is_blank() {
            continue;
        }
        let line = r.number;
        let cell = |f: FeedField| col(f).map(|i| r.get(i)).unwrap_or(&crate::read::EMPTY);
        let text = |f: FeedField| cell(f).text().trim().to_string();
        let mut err = |field: FeedField, message: String| {
            errors.push(FeedIssue { line, field: field.label().to_string(), message });
        };
        let name = text(FeedField::Name);
        // D17: an ID that arrives as a floating-point number has lost digits
        let (id_text, id_key, id_problem) = match cell(FeedField::Id) {
            Cell::Number(v) => {
                err(
                    FeedField::Id,
                    format!(
                        "证件号码“{}”是数值格式，已丢失末几位：请把该列设为文本格式后重新导出",
                        crate::read::number_text(*v)
                    ),
                );
                continue;
            }
            c => {
                let raw = c.text().trim().to_string();
                match NationalId::parse(&raw) {
                    Ok(id) if id.is_checksum_valid() => (raw, Some(id.key()), None),
                    Ok(id) => (raw, None, Some(format!("校验位错误（应为 {}）", id.expected_check_char()))),
                    Err(IdError::Empty) => (raw, None, Some("缺证件号码".to_string())),
                    Err(IdError::StoredAsNumber(_)) => {
                        err(
                            FeedField::Id,
                            format!("证件号码“{raw}”是数值格式，已丢失末几位：请把该列设为文本格式后重新导出"),
                        );
                        continue;
                    }
                    Err(e) => (raw, None, Some(e.to_string())),
                }
            }
        };
        if name.is_empty() && id_text.is_empty() {
            err(FeedField::Name, "姓名和证件号码都为空：请补上或删除该行".to_string());
            continue;
        }
        let amount = match cell(FeedField::Amount) {
            Cell::Empty => None,
            Cell::Number(v) => Some(Fen((v * 100.0).round() as i64)),
            c => match Fen::parse_yuan(&c.text()) {
                Ok(f) => Some(f),
                Err(_) => {
                    err(FeedField::Amount, format!("金额“{}”不是数字：请填写元，如 6,500.50", c.text()));
                    continue;
                }
            },
        };
        if amount.is_none() && kind.amount() == AmountUse::Threshold {
            err(FeedField::Amount, "金额为空：该类数据按金额判断是否预警".to_string());
            continue;
        }
        let item = text(FeedField::Item);
        if item.is_empty() && kind.item_required() {
            err(FeedField::Item, format!("“{}”须写明项目（如 危房等级、救助类型及变动）", kind.label()));
            continue;
        }
        let birth = parse_date(cell(FeedField::Birth));
        let period_text = text(FeedField::Period);
        let date = parse_date(cell(FeedField::Date));
        let period = if !period_text.is_empty() {
            match normalise_period(&period_text) {
                Some(p) => p,
                None => {
                    err(FeedField::Period, format!("期间“{period_text}”无法识别：请写成 2022-03 或 2022"));
                    continue;
                }
            }
        } else if let Some(d) = date {
            format!("{}-{:02}", d.year(), d.month())
        } else {
            default_period.to_string()
        };
        let period = if yearly(kind) { period.chars().take(4).collect() } else { period };
        let cells = headers
            .iter()
            .enumerate()
            .filter(|(_, h)| !h.is_empty())
            .map(|(i, h)| (h.clone(), r.get(i).text().into_owned()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        rows.push(FeedRow {
            line,
            name,
            id_text,
            id_key,
            id_problem,
            birth,
            village: text(FeedField::Village),
            amount,
            item,
            period,
            cells,
        });
        good += 1;
        if rows.len() >= FEED_CHUNK && !sink(std::mem::take(&mut rows), errors.len()) {
            break;
        }
    }
    if !rows.is_empty() {
        sink(rows, errors.len());
    }
    progress(seen, seen);
    Ok(FeedSummary {
        file_name: file_name.to_string(),
        file_sha256: sha.to_string(),
        header_row: t.header_row(),
        columns: cols.iter().map(|(f, i)| (f.label().to_string(), headers[*i].clone())).collect(),
        rows: good,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(csv: &str, kind: FeedKind) -> Result<ParsedFeed, FeedReadError> {
        read_feed_bytes(csv.as_bytes(), "医保.csv", kind, &FeedMapping::default(), "2022-03", &mut |_, _| {})
    }

    #[test]
    fn periods() {
        assert_eq!(normalise_period("2022年3月").as_deref(), Some("2022-03"));
        assert_eq!(normalise_period("202203").as_deref(), Some("2022-03"));
        assert_eq!(normalise_period("2022/03").as_deref(), Some("2022-03"));
        assert_eq!(normalise_period("2022").as_deref(), Some("2022"));
        assert_eq!(normalise_period("2022年").as_deref(), Some("2022"));
        assert_eq!(normalise_period("2022-13"), None);
        assert_eq!(normalise_period("上月"), None);
    }

    #[test]
    fn dirty_ids_are_normalised_or_kept_for_review() {
        // D17: lower-case x, spaces, full-width digits and 15-digit numbers are normalised; a
        // wrong check character is never matched
        let id = domain::national_id::make_id(450203, NaiveDate::from_ymd_opt(1958, 4, 2).unwrap(), 1);
        let key = NationalId::parse(&id).unwrap().key();
        let lower = id.to_lowercase();
        let spaced = format!(" {} {} ", &id[..6], &id[6..]);
        let full: String =
            id.chars().map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap_or(c)).collect();
        let legacy = format!("{}{}", &id[..6], &id[8..17]);
        let wrong = format!("{}{}", &id[..17], if id.ends_with('1') { '2' } else { '1' });
        let csv = format!(
            "参保人姓名,身份证号码,自付金额,统计期间\n甲,{lower},6000,2022-03\n乙,\"{spaced}\",6000,2022-03\n丙,{full},6000,2022-03\n丁,{legacy},6000,2022-03\n戊,{wrong},6000,2022-03\n己,,6000,2022-03\n"
        );
        let p = read(&csv, FeedKind::MedicalSelfPaid).unwrap();
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.rows.len(), 6);
        let legacy_key = NationalId::parse(&legacy).unwrap().key();
        for r in &p.rows[..3] {
            assert_eq!(r.id_key, Some(key), "{r:?}");
        }
        assert_eq!(p.rows[3].id_key, Some(legacy_key), "15 digits are upgraded");
        assert_eq!(p.rows[4].id_key, None);
        assert!(p.rows[4].id_problem.as_deref().unwrap().contains("校验位错误"));
        assert_eq!(p.rows[5].id_problem.as_deref(), Some("缺证件号码"));
        // year-to-date: one period per year
        assert_eq!(p.rows[0].period, "2022");
        assert_eq!(p.rows[0].amount, Some(Fen::from_yuan(6_000)));
        assert_eq!(p.columns[0], ("姓名".to_string(), "参保人姓名".to_string()));
    }

    #[test]
    fn bad_cells_are_errors_with_line_and_field() {
        let p = read("姓名,证件号码,金额\n甲,450203195804020011,六千\n,,100\n", FeedKind::MedicalSelfPaid).unwrap();
        assert_eq!(p.errors.len(), 2, "{:?}", p.errors);
        assert_eq!((p.errors[0].line, p.errors[0].field.as_str()), (2, "金额"));
        assert!(p.errors[0].message.contains("六千"));
        assert_eq!(p.errors[1].line, 3);
        // a float-looking ID
        let p = read("姓名,证件号码,金额\n甲,4.50203195804020E+17,6000\n", FeedKind::MedicalSelfPaid).unwrap();
        assert!(p.errors[0].message.contains("数值格式"), "{:?}", p.errors);
        // no amount column for a threshold feed; no header at all
        assert!(matches!(
            read("姓名,证件号码\n甲,450203195804020011\n", FeedKind::MedicalSelfPaid),
            Err(FeedReadError::MissingColumn("金额"))
        ));
        assert!(matches!(read("a,b\n1,2\n", FeedKind::Death), Err(FeedReadError::NoHeader)));
    }

    #[test]
    fn a_saved_mapping_reads_other_names() {
        let m =
            FeedMapping::parse_pairs(&["姓名=参保人".into(), "证件号码=社保卡号".into(), "amount=报销后自付".into()])
                .unwrap();
        let csv = "参保人,社保卡号,报销后自付\n甲,450203195804020011,\"21,000.50\"\n";
        let p =
            read_feed_bytes(csv.as_bytes(), "x.csv", FeedKind::MedicalSelfPaid, &m, "2022", &mut |_, _| {}).unwrap();
        assert_eq!(p.rows[0].amount, Some(Fen(2_100_050)));
        assert!(FeedMapping::parse_pairs(&["钱=金额".into()]).unwrap_err().contains("没有字段“钱”"));
        assert!(FeedMapping::parse_pairs(&["金额".into()]).is_err());
    }

    #[test]
    fn xlsx_files_and_number_formatted_ids() {
        // a department's xlsx: the ID as text reads; the same ID typed as a number has lost digits
        let id = domain::national_id::make_id(450203, NaiveDate::from_ymd_opt(1958, 4, 2).unwrap(), 1);
        let rows = vec![vec!["甲".to_string(), id.clone(), "6000".to_string()]];
        let bytes = crate::write_table(
            FileFormat::Xlsx,
            Vec::new(),
            "医保",
            &["姓名", "身份证号码", "自付金额"],
            &[10.0; 3],
            &rows,
        )
        .unwrap();
        let p = read_feed_bytes(
            &bytes,
            "医保.xlsx",
            FeedKind::MedicalSelfPaid,
            &FeedMapping::default(),
            "2022",
            &mut |_, _| {},
        )
        .unwrap();
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.rows[0].id_key, Some(NationalId::parse(&id).unwrap().key()));
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in ["姓名", "身份证号码", "自付金额"].iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        ws.write_string(1, 0, "甲").unwrap();
        ws.write_number(1, 1, 450203195804020011.0).unwrap();
        ws.write_number(1, 2, 6000.0).unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let p = read_feed_bytes(
            &bytes,
            "医保.xlsx",
            FeedKind::MedicalSelfPaid,
            &FeedMapping::default(),
            "2022",
            &mut |_, _| {},
        )
        .unwrap();
        assert!(p.errors[0].message.contains("数值格式，已丢失末几位"), "{:?}", p.errors);
    }

    #[test]
    fn gbk_files_and_dates_as_periods() {
        let (bytes, _, _) = encoding_rs::GBK.encode("姓名,身份证号,死亡日期\n甲,450203195804020011,2022年4月3日\n");
        let p =
            read_feed_bytes(&bytes, "公安.csv", FeedKind::Death, &FeedMapping::default(), "2022-01", &mut |_, _| {})
                .unwrap();
        assert_eq!(p.rows[0].name, "甲");
        assert_eq!(p.rows[0].period, "2022-04");
    }
}
