//! Reading the layout from .xlsx (our own scanner, `sheet.rs`) and .csv (UTF-8 or GB18030), row by row.
//!
//! Both readers stream: an xlsx sheet is read cell by cell from the zip, a CSV is decoded as it
//! is read. Each finds the header row among the first [`HEADER_SEARCH_ROWS`] rows (national
//! exports often carry a title row above it) and reports rows by their spreadsheet row number.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{Read, Seek};
use std::path::Path;
use std::rc::Rc;

use chrono::NaiveDate;

use crate::layout::ColumnMap;
use crate::sheet::{SheetCells, Workbook};

/// How many rows from the top may hold the header row.
pub const HEADER_SEARCH_ROWS: usize = 10;

/// Columns read beyond the header row's width are ignored; this caps a header search on a
/// sheet with stray far-right cells.
const MAX_COLUMNS: usize = 1024;

/// A cell, with the type the spreadsheet gave it (a number that should have been text has
/// lost digits, a date cell needs no parsing).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    /// Trimmed, never empty.
    Text(String),
    Number(f64),
    Bool(bool),
    Date(NaiveDate),
    /// An Excel error value such as "#N/A".
    Error(String),
}

impl Cell {
    /// A text cell, or `Empty` when it is blank.
    /// A CSV cell. The apostrophe that an export puts before text Excel would take for a
    /// formula (see `write::csv_safe`) is removed.
    pub fn text_cell(s: &str) -> Cell {
        let t = s.trim();
        let t = match t.strip_prefix('\'') {
            Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
            _ => t,
        };
        if t.is_empty() { Cell::Empty } else { Cell::Text(t.to_string()) }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Cell::Empty)
    }

    /// The value as a person reads it in the spreadsheet (whole numbers without ".0").
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Cell::Empty => Cow::Borrowed(""),
            Cell::Text(s) | Cell::Error(s) => Cow::Borrowed(s),
            Cell::Number(v) => Cow::Owned(number_text(*v)),
            Cell::Bool(b) => Cow::Borrowed(domain::text::yes_no(*b)),
            Cell::Date(d) => Cow::Owned(d.to_string()),
        }
    }
}

/// A number as Excel shows it in a General cell: whole numbers without decimals.
pub fn number_text(v: f64) -> String {
    let mut s = String::new();
    push_number(&mut s, v);
    s
}

/// [`number_text`] appended to `out`. A whole number is written as an integer: the same digits as
/// `{:.0}` (but "0" for -0), without the float formatter's cost (a quarter of an export's
/// formatting).
pub fn push_number(out: &mut String, v: f64) {
    use std::fmt::Write as _;
    let _ = if v.fract() == 0.0 && v.abs() < 1e17 { write!(out, "{}", v as i64) } else { write!(out, "{v}") };
}

/// One data row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The spreadsheet row number (1-based, as Excel shows it).
    pub number: usize,
    /// Cells by column position in the file.
    pub cells: Vec<Cell>,
}

pub(crate) static EMPTY: Cell = Cell::Empty;

impl Row {
    pub fn get(&self, i: usize) -> &Cell {
        self.cells.get(i).unwrap_or(&EMPTY)
    }

    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(Cell::is_empty)
    }
}

/// A table being read: the header row, then the data rows in order.
pub trait RowSource {
    /// Spreadsheet row number of the header row.
    fn header_row(&self) -> usize;
    /// The header cells as text.
    fn headers(&self) -> &[String];
    /// The number of data rows when the file says it up front (xlsx), for progress.
    fn rows_hint(&self) -> Option<usize>;
    /// The next data row (blank rows included). `None` at the end or after a read error, which
    /// the `read_*` function that called back then returns.
    fn next_row(&mut self) -> Option<Row>;
}

/// Why a file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("无法识别文件“{0}”的格式：请上传 .xlsx 或 .csv 文件（.xls 文件请先在Excel中“另存为”.xlsx）")]
    UnknownFormat(String),
    #[error("读取文件失败：{0}")]
    Io(#[from] std::io::Error),
    #[error("无法打开Excel文件：请确认文件未损坏、未加密，且为 .xlsx 格式（详细信息：{0}）")]
    Xlsx(String),
    #[error(
        "Excel文件的工作表“{sheet}”中有无法读取的内容：{detail}。请在Excel中打开文件检查该处，另存为 .xlsx 后重新上传"
    )]
    XlsxContent { sheet: String, detail: String },
    #[error("CSV文件第{line}行无法读取：{detail}")]
    Csv { line: u64, detail: String },
    #[error("CSV文件第{line}行附近含有无法识别的字符：请在Excel中“另存为”“CSV UTF-8（逗号分隔）”后重新上传")]
    Encoding { line: u64 },
    #[error(
        "未找到表头：文件的前{HEADER_SEARCH_ROWS}行中没有同时包含“户编号”和“证件号码”列的一行，请使用全国系统导出的文件或本系统的导入模板"
    )]
    NoHeader,
}

/// The two file formats of the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    Xlsx,
    Csv,
}

impl FileFormat {
    /// From a file name's extension (case-insensitive).
    pub fn from_file_name(name: &str) -> Result<FileFormat, ReadError> {
        let ext = Path::new(name).extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        match ext.as_str() {
            "xlsx" | "xlsm" => Ok(FileFormat::Xlsx),
            "csv" => Ok(FileFormat::Csv),
            _ => Err(ReadError::UnknownFormat(name.to_string())),
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Xlsx => "xlsx",
            FileFormat::Csv => "csv",
        }
    }

    /// MIME type, for downloads.
    pub fn content_type(self) -> &'static str {
        match self {
            FileFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileFormat::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// Opens a file and hands its table to `f`.
pub fn read_path<T>(path: &Path, format: FileFormat, f: impl FnOnce(&mut dyn RowSource) -> T) -> Result<T, ReadError> {
    read_path_with(path, format, &national_header, f)
}

/// A header row of the national layout: it names 户编号 and 证件号码.
fn national_header(headers: &[String]) -> bool {
    ColumnMap::from_headers(headers).is_header()
}

/// Which row is the header row, for tables other than the national layout (department files).
pub type HeaderTest<'a> = &'a dyn Fn(&[String]) -> bool;

/// Like [`read_path`], for a table whose header row `is_header` recognises.
pub fn read_path_with<T>(
    path: &Path,
    format: FileFormat,
    is_header: HeaderTest<'_>,
    f: impl FnOnce(&mut dyn RowSource) -> T,
) -> Result<T, ReadError> {
    let file = std::fs::File::open(path)?;
    match format {
        FileFormat::Xlsx => read_xlsx_with(std::io::BufReader::new(file), is_header, f),
        FileFormat::Csv => read_csv_with(file, is_header, f),
    }
}

/// Like [`read_bytes`], for a table whose header row `is_header` recognises.
pub fn read_bytes_with<T>(
    bytes: &[u8],
    format: FileFormat,
    is_header: HeaderTest<'_>,
    f: impl FnOnce(&mut dyn RowSource) -> T,
) -> Result<T, ReadError> {
    match format {
        FileFormat::Xlsx => read_xlsx_with(std::io::Cursor::new(bytes), is_header, f),
        FileFormat::Csv => read_csv_with(bytes, is_header, f),
    }
}

/// Reads a file held in memory (an upload).
pub fn read_bytes<T>(
    bytes: &[u8],
    format: FileFormat,
    f: impl FnOnce(&mut dyn RowSource) -> T,
) -> Result<T, ReadError> {
    match format {
        FileFormat::Xlsx => read_xlsx(std::io::Cursor::new(bytes), f),
        FileFormat::Csv => read_csv(bytes, f),
    }
}

/// Calls `f` on a source, then returns the read error the source hit, if any: a table that
/// broke off half way must not be taken for a short one.
fn finish<T, S: RowSource + ErrorSlot>(mut source: S, f: impl FnOnce(&mut dyn RowSource) -> T) -> Result<T, ReadError> {
    let out = f(&mut source);
    match source.take_error() {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

trait ErrorSlot {
    fn take_error(&mut self) -> Option<ReadError>;
}

// ---------------------------------------------------------------------------------------------
// xlsx

/// Reads the first sheet whose header row (within the first rows) names 户编号 and 证件号码.
pub fn read_xlsx<RS: Read + Seek + Send, T>(
    input: RS,
    f: impl FnOnce(&mut dyn RowSource) -> T,
) -> Result<T, ReadError> {
    read_xlsx_with(input, &national_header, f)
}

/// Rows handed at a time from the thread that reads the sheet to the caller's.
const XLSX_BATCH: usize = 500;
/// Batches waiting for the caller at most (with the one being read and the one being used:
/// memory stays flat whatever the sheet's size).
const XLSX_AHEAD: usize = 4;

fn read_xlsx_with<RS: Read + Seek + Send, T>(
    input: RS,
    is_header: HeaderTest<'_>,
    f: impl FnOnce(&mut dyn RowSource) -> T,
) -> Result<T, ReadError> {
    let mut workbook = Workbook::open(input)?;
    // a sheet that cannot be read (a chart sheet, say) is skipped; its error is the answer only
    // when no sheet could be read at all
    let mut skipped = None;
    let mut any_read = false;
    for i in 0..workbook.sheet_count() {
        let mut rows = match workbook.sheet(i) {
            Ok(c) => c,
            Err(e) => {
                skipped = Some(e);
                continue;
            }
        };
        any_read = true;
        let mut found = None;
        while let Some(row) = rows.next_row(MAX_COLUMNS)? {
            if row.number > HEADER_SEARCH_ROWS {
                break;
            }
            let headers: Vec<String> = row.cells.iter().map(|c| c.text().into_owned()).collect();
            if is_header(&headers) {
                found = Some((row.number, headers));
                break;
            }
        }
        if let Some((header_row, headers)) = found {
            // Unzipping and scanning the sheet's XML runs on a thread of its own while the caller
            // checks the rows before (docs/decisions.md: the county's dry run from .xlsx now takes
            // as long as from .csv).
            let width = headers.len();
            let rows_hint = rows.last_row().map(|last| last.saturating_sub(header_row));
            return std::thread::scope(|scope| {
                let (tx, rx) = std::sync::mpsc::sync_channel(XLSX_AHEAD);
                scope.spawn(move || read_ahead(rows, width, tx));
                let source = XlsxSource {
                    rx,
                    batch: Vec::new().into_iter(),
                    ended: false,
                    header_row,
                    rows_hint,
                    headers,
                    error: None,
                };
                // the source (and its receiver) is dropped before the scope ends: a caller that
                // stops early stops the reading thread at its next hand-over
                finish(source, f)
            });
        }
    }
    // a sheet that could not be read explains a missing header only when no other sheet was read
    Err(skipped.filter(|_| !any_read).unwrap_or(ReadError::NoHeader))
}

/// What [`read_ahead`] hands over: rows, then the sheet's end or a read error. A thread that
/// stops without either (a panic) is an error too, never a shorter table.
enum Ahead {
    Rows(Vec<Row>),
    End,
    Failed(ReadError),
}

/// Reads the sheet's rows in batches and hands them over until the end, a read error (handed
/// over last) or a caller that no longer listens.
fn read_ahead<R: Read>(mut rows: SheetCells<'_, R>, width: usize, tx: std::sync::mpsc::SyncSender<Ahead>) {
    loop {
        let mut batch = Vec::with_capacity(XLSX_BATCH);
        let last = loop {
            match rows.next_row(width) {
                Ok(Some(row)) => {
                    batch.push(row);
                    if batch.len() == XLSX_BATCH {
                        break None;
                    }
                }
                Ok(None) => break Some(Ahead::End),
                Err(e) => break Some(Ahead::Failed(e)),
            }
        };
        if !batch.is_empty() && tx.send(Ahead::Rows(batch)).is_err() {
            return;
        }
        if let Some(last) = last {
            let _ = tx.send(last);
            return;
        }
    }
}

/// The rows [`read_ahead`] hands over.
struct XlsxSource {
    rx: std::sync::mpsc::Receiver<Ahead>,
    batch: std::vec::IntoIter<Row>,
    ended: bool,
    header_row: usize,
    headers: Vec<String>,
    rows_hint: Option<usize>,
    error: Option<ReadError>,
}

impl RowSource for XlsxSource {
    fn header_row(&self) -> usize {
        self.header_row
    }

    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn rows_hint(&self) -> Option<usize> {
        self.rows_hint
    }

    fn next_row(&mut self) -> Option<Row> {
        loop {
            if let Some(row) = self.batch.next() {
                return Some(row);
            }
            if self.error.is_some() || self.ended {
                return None;
            }
            match self.rx.recv() {
                Ok(Ahead::Rows(batch)) => self.batch = batch.into_iter(),
                Ok(Ahead::End) => self.ended = true,
                Ok(Ahead::Failed(e)) => self.error = Some(e),
                Err(_) => self.error = Some(ReadError::Io(std::io::Error::other("the sheet's reading thread stopped"))),
            }
        }
    }
}

impl ErrorSlot for XlsxSource {
    fn take_error(&mut self) -> Option<ReadError> {
        self.error.take()
    }
}

// ---------------------------------------------------------------------------------------------
// csv

/// How many bytes are inspected to tell UTF-8 from GB18030 and to pick the delimiter.
const SNIFF_BYTES: usize = 64 * 1024;

/// Reads a CSV: UTF-8 with or without BOM, UTF-16 with BOM, otherwise GB18030 (which covers
/// GBK and GB2312, what Excel writes on a Chinese Windows). Comma, tab or semicolon separated.
pub fn read_csv<R: Read, T>(input: R, f: impl FnOnce(&mut dyn RowSource) -> T) -> Result<T, ReadError> {
    read_csv_with(input, &national_header, f)
}

fn read_csv_with<R: Read, T>(
    mut input: R,
    is_header: HeaderTest<'_>,
    f: impl FnOnce(&mut dyn RowSource) -> T,
) -> Result<T, ReadError> {
    let mut prefix = Vec::with_capacity(SNIFF_BYTES);
    (&mut input).take(SNIFF_BYTES as u64).read_to_end(&mut prefix)?;
    let (encoding, bom_len) = match encoding_rs::Encoding::for_bom(&prefix) {
        Some((enc, len)) => (enc, len),
        None => match std::str::from_utf8(&prefix) {
            // a multi-byte character cut at the end of the sniffed bytes is still UTF-8
            Err(e) if e.error_len().is_some() => (encoding_rs::GB18030, 0),
            _ => (encoding_rs::UTF_8, 0),
        },
    };
    let delimiter = sniff_delimiter(&prefix[bom_len..], encoding);
    let mut body = std::io::Cursor::new(prefix).chain(input);
    std::io::copy(&mut (&mut body).take(bom_len as u64), &mut std::io::sink())?;
    if encoding == encoding_rs::UTF_8 {
        // UTF-8 passes through: the csv reader checks it and says where it is not.
        csv_source(body, delimiter, is_header, f)
    } else {
        csv_source(Decode::new(body, encoding), delimiter, is_header, f)
    }
}

fn sniff_delimiter(bytes: &[u8], encoding: &'static encoding_rs::Encoding) -> u8 {
    if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
        // Excel's "Unicode text" export
        return b'\t';
    }
    // ASCII bytes never occur inside a GB18030 or UTF-8 multi-byte character.
    let line = bytes.split(|b| *b == b'\n').next().unwrap_or(bytes);
    let count = |d: u8| line.iter().filter(|b| **b == d).count();
    [b',', b'\t', b';'].into_iter().max_by_key(|d| (count(*d), *d == b',')).unwrap_or(b',')
}

fn csv_source<R: Read, T>(
    input: R,
    delimiter: u8,
    is_header: HeaderTest<'_>,
    f: impl FnOnce(&mut dyn RowSource) -> T,
) -> Result<T, ReadError> {
    let newlines = Rc::new(RefCell::new(VecDeque::new()));
    let counted = LineCounter { inner: input, offset: 0, newlines: Rc::clone(&newlines) };
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(counted);
    let mut record = csv::StringRecord::new();
    let mut lines = Lines::new(newlines);
    for _ in 0..HEADER_SEARCH_ROWS {
        if !reader.read_record(&mut record).map_err(csv_error)? {
            break;
        }
        let headers: Vec<String> = record.iter().map(|s| s.trim().to_string()).collect();
        if is_header(&headers) {
            let header_row = lines.of(reader.position().byte(), &record);
            let source = CsvSource { reader, record, header_row, lines, width: headers.len(), headers, error: None };
            return finish(source, f);
        }
    }
    Err(ReadError::NoHeader)
}

/// Remembers where the newlines are in what the csv reader reads, so that a record's line
/// number can be told from its byte offset: the csv crate's own line numbers are wrong for CRLF
/// files (BurntSushi/rust-csv#395), which is what Excel on Windows writes.
struct LineCounter<R> {
    inner: R,
    offset: u64,
    newlines: Rc<RefCell<VecDeque<u64>>>,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut q = self.newlines.borrow_mut();
        q.extend(buf[..n].iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| self.offset + i as u64));
        self.offset += n as u64;
        Ok(n)
    }
}

/// Line numbers of records read in order, measured from where each record ends (the reader's
/// position after it): the csv crate places a record's start before any blank lines it skipped.
struct Lines {
    newlines: Rc<RefCell<VecDeque<u64>>>,
    /// Newlines seen before the last position asked about.
    before: usize,
    /// Just after the last newline counted.
    after_last_newline: u64,
}

impl Lines {
    fn new(newlines: Rc<RefCell<VecDeque<u64>>>) -> Self {
        Lines { newlines, before: 0, after_last_newline: 0 }
    }

    /// The line a record starts on, given the reader's byte position just after it.
    fn of(&mut self, end: u64, record: &csv::StringRecord) -> usize {
        let mut q = self.newlines.borrow_mut();
        while let Some(off) = q.front().copied().filter(|off| *off < end) {
            q.pop_front();
            self.before += 1;
            self.after_last_newline = off + 1;
        }
        // a record that ends with its newline is on the line that newline closes
        let last_line = if self.before > 0 && self.after_last_newline == end { self.before } else { self.before + 1 };
        let inside: usize = record.iter().map(|f| f.bytes().filter(|b| *b == b'\n').count()).sum();
        last_line - inside.min(last_line.saturating_sub(1))
    }
}

fn csv_error(e: csv::Error) -> ReadError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => ReadError::Encoding { line },
        csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => ReadError::Encoding { line },
        _ => ReadError::Csv { line, detail: e.to_string() },
    }
}

struct CsvSource<R: Read> {
    reader: csv::Reader<LineCounter<R>>,
    record: csv::StringRecord,
    header_row: usize,
    lines: Lines,
    headers: Vec<String>,
    width: usize,
    error: Option<ReadError>,
}

impl<R: Read> RowSource for CsvSource<R> {
    fn header_row(&self) -> usize {
        self.header_row
    }

    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn rows_hint(&self) -> Option<usize> {
        None
    }

    fn next_row(&mut self) -> Option<Row> {
        if self.error.is_some() {
            return None;
        }
        match self.reader.read_record(&mut self.record) {
            Ok(true) => Some(Row {
                number: self.lines.of(self.reader.position().byte(), &self.record),
                cells: self.record.iter().take(self.width).map(Cell::text_cell).collect(),
            }),
            Ok(false) => None,
            Err(e) => {
                self.error = Some(csv_error(e));
                None
            }
        }
    }
}

impl<R: Read> ErrorSlot for CsvSource<R> {
    fn take_error(&mut self) -> Option<ReadError> {
        self.error.take()
    }
}

/// Decodes a byte stream to UTF-8 as it is read; malformed input is an `InvalidData` error
/// rather than a replacement character (a wrong guess must not import mojibake).
struct Decode<R: Read> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    in_start: usize,
    in_end: usize,
    eof: bool,
    output: VecDeque<u8>,
    scratch: Vec<u8>,
}

impl<R: Read> Decode<R> {
    fn new(inner: R, encoding: &'static encoding_rs::Encoding) -> Self {
        Decode {
            inner,
            decoder: encoding.new_decoder_without_bom_handling(),
            input: vec![0; 16 * 1024],
            in_start: 0,
            in_end: 0,
            eof: false,
            output: VecDeque::new(),
            scratch: vec![0; 64 * 1024],
        }
    }

    fn fill(&mut self) -> std::io::Result<()> {
        while self.output.is_empty() {
            if self.in_start == self.in_end && !self.eof {
                self.in_start = 0;
                self.in_end = self.inner.read(&mut self.input)?;
                self.eof = self.in_end == 0;
            }
            if self.eof && self.in_start == self.in_end {
                // flush whatever the decoder still holds (an incomplete sequence is malformed)
                let (res, _, written) = self.decoder.decode_to_utf8_without_replacement(&[], &mut self.scratch, true);
                if let encoding_rs::DecoderResult::Malformed(..) = res {
                    return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed"));
                }
                self.output.extend(&self.scratch[..written]);
                return Ok(());
            }
            let (res, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.input[self.in_start..self.in_end],
                &mut self.scratch,
                false,
            );
            self.in_start += read;
            self.output.extend(&self.scratch[..written]);
            if let encoding_rs::DecoderResult::Malformed(..) = res {
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed"));
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for Decode<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.output.is_empty() {
            self.fill()?;
        }
        let n = buf.len().min(self.output.len());
        for (dst, src) in buf.iter_mut().zip(self.output.drain(..n)) {
            *dst = src;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_of(bytes: &[u8]) -> Result<(usize, Vec<String>, Vec<Row>), ReadError> {
        read_csv(bytes, |s| {
            let mut rows = Vec::new();
            while let Some(r) = s.next_row() {
                rows.push(r);
            }
            (s.header_row(), s.headers().to_vec(), rows)
        })
    }

    #[test]
    fn formula_escapes_are_removed_and_nothing_else() {
        let escaped = crate::write::csv_safe("=HYPERLINK(\"http://x\",\"点我\")");
        assert!(escaped.starts_with("'="));
        assert_eq!(Cell::text_cell(&escaped), Cell::Text("=HYPERLINK(\"http://x\",\"点我\")".into()));
        assert_eq!(crate::write::csv_safe("大正村3组"), "大正村3组");
        assert_eq!(Cell::text_cell("'张三"), Cell::Text("'张三".into()), "a real apostrophe stays");
        assert_eq!(Cell::text_cell("-"), Cell::Text("-".into()));
    }

    #[test]
    fn csv_row_numbers_are_lines_for_lf_and_crlf() {
        for nl in ["\n", "\r\n"] {
            let text = [
                "2022年农户信息表",
                "户编号,证件号码,姓名",
                "001,11010519491231002X,张三",
                "",
                "002,11010519491231002X,李四",
                "003,11010519491231002X,\"王\n五\"",
                "004,11010519491231002X,赵六",
            ]
            .join(nl);
            let (header_row, _, rows) = rows_of(text.as_bytes()).unwrap();
            assert_eq!(header_row, 2, "{nl:?}");
            // a blank line is a row in a spreadsheet too
            // (a quoted cell spanning two lines takes two; the file does not end with a newline)
            assert_eq!(rows.iter().map(|r| r.number).collect::<Vec<_>>(), vec![3, 5, 6, 8], "{nl:?}");
        }
    }

    #[test]
    fn csv_utf8_with_title_row_and_bom() {
        let text = "\u{feff}2022年农户信息表\n户编号,证件号码,姓名\n001,11010519491231002X,张三\n";
        let (header_row, headers, rows) = rows_of(text.as_bytes()).unwrap();
        assert_eq!(header_row, 2);
        assert_eq!(headers, vec!["户编号", "证件号码", "姓名"]);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].number, 3);
        assert_eq!(rows[0].get(2), &Cell::Text("张三".into()));
    }

    #[test]
    fn csv_gbk_is_decoded() {
        let text = "户编号\t证件号码\t姓名\n001\t11010519491231002X\t雒容\n";
        let (bytes, _, _) = encoding_rs::GBK.encode(text);
        let (_, headers, rows) = rows_of(&bytes).unwrap();
        assert_eq!(headers[0], "户编号");
        assert_eq!(rows[0].get(2).text(), "雒容");
    }

    #[test]
    fn csv_utf16_with_bom_is_decoded() {
        let text = "户编号\t证件号码\t姓名\r\n001\t11010519491231002X\t覃秀兰\r\n";
        let mut bytes = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let (_, headers, rows) = rows_of(&bytes).unwrap();
        assert_eq!(headers[2], "姓名");
        assert_eq!(rows[0].get(2).text(), "覃秀兰");
    }

    #[test]
    fn header_must_be_within_the_first_rows() {
        let mut text = String::new();
        for i in 0..HEADER_SEARCH_ROWS {
            text.push_str(&format!("说明{i}\n"));
        }
        text.push_str("户编号,证件号码\n");
        assert!(matches!(rows_of(text.as_bytes()), Err(ReadError::NoHeader)));
    }

    #[test]
    fn csv_without_header_is_refused() {
        let err = rows_of("a,b\n1,2\n".as_bytes()).unwrap_err();
        assert!(matches!(err, ReadError::NoHeader));
        assert!(err.to_string().contains("户编号"));
    }

    #[test]
    fn csv_broken_utf8_after_the_sniffed_part_is_an_error() {
        let mut bytes = "户编号,证件号码\n".as_bytes().to_vec();
        for _ in 0..5000 {
            bytes.extend_from_slice("001,11010519491231002X\n".as_bytes());
        }
        bytes.extend_from_slice(b"\xff\xfe\xfd,1\n");
        assert!(matches!(rows_of(&bytes), Err(ReadError::Encoding { .. })));
    }

    #[test]
    fn xlsx_without_header_is_refused_and_garbage_is_unreadable() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        wb.add_worksheet().write_string(0, 0, "户编号").unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        assert!(matches!(read_bytes(&bytes, FileFormat::Xlsx, |_| ()), Err(ReadError::NoHeader)));
        let e = read_bytes(b"not a zip", FileFormat::Xlsx, |_| ()).unwrap_err();
        assert!(e.to_string().contains("无法打开Excel文件"), "{e}");
    }

    #[test]
    fn xlsx_rows_arrive_in_order_across_batches_and_a_caller_may_stop_early() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "2022年农户信息表").unwrap();
        ws.write_string(1, 0, "户编号").unwrap();
        ws.write_string(1, 1, "证件号码").unwrap();
        let n = XLSX_BATCH * (XLSX_AHEAD + 3) + 7;
        for i in 0..n {
            let r = i as u32 + 2;
            ws.write_string(r, 0, format!("{i:06}")).unwrap();
            if i % 3 != 0 {
                ws.write_number(r, 1, i as f64).unwrap();
            }
        }
        let bytes = wb.save_to_buffer().unwrap();
        let rows = read_bytes(&bytes, FileFormat::Xlsx, |s| {
            assert_eq!((s.header_row(), s.rows_hint()), (2, Some(n)));
            std::iter::from_fn(|| s.next_row()).collect::<Vec<_>>()
        })
        .unwrap();
        assert_eq!(rows.len(), n);
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(row.number, i + 3);
            assert_eq!(row.get(0), &Cell::Text(format!("{i:06}")));
            let expected = if i % 3 == 0 { Cell::Empty } else { Cell::Number(i as f64) };
            assert_eq!(row.get(1), &expected, "row {}", row.number);
        }
        // the reading thread is ahead and blocked on a full hand-over: stopping must not hang
        let first = read_bytes(&bytes, FileFormat::Xlsx, |s| s.next_row()).unwrap().unwrap();
        assert_eq!(first.number, 3);
    }

    #[test]
    fn xlsx_broken_half_way_is_an_error_not_a_short_table() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "户编号").unwrap();
        ws.write_string(0, 1, "证件号码").unwrap();
        for i in 0..XLSX_BATCH as u32 * 8 {
            ws.write_string(i + 1, 0, format!("{}", i * 7919 % 100_003)).unwrap();
            ws.write_number(i + 1, 1, f64::from(i * 31 % 997)).unwrap();
        }
        let mut bytes = wb.save_to_buffer().unwrap();
        // flip bytes in the middle of the sheet's compressed data (its local header: the name at
        // offset 30, after it the extra field, then the data)
        let name = b"xl/worksheets/sheet1.xml";
        let at = bytes.windows(name.len()).position(|w| w == name).unwrap();
        let extra = usize::from(u16::from_le_bytes([bytes[at - 2], bytes[at - 1]]));
        let data = at + name.len() + extra;
        for b in &mut bytes[data + 3000..data + 3100] {
            *b ^= 0x5a;
        }
        let mut read = 0;
        let r = read_bytes(&bytes, FileFormat::Xlsx, |s| {
            while s.next_row().is_some() {
                read += 1;
            }
        });
        assert!(r.is_err(), "read {read} rows of {} and no error", XLSX_BATCH * 8);
        assert!(read < XLSX_BATCH * 8, "{read}");
    }

    #[test]
    fn a_reading_thread_gone_without_an_end_is_an_error() {
        let (tx, rx) = std::sync::mpsc::sync_channel(XLSX_AHEAD);
        let row = Row { number: 2, cells: vec![Cell::Text("001".into())] };
        tx.send(Ahead::Rows(vec![row.clone()])).unwrap();
        drop(tx);
        let source = XlsxSource {
            rx,
            batch: Vec::new().into_iter(),
            ended: false,
            header_row: 1,
            headers: vec!["户编号".into()],
            rows_hint: Some(5),
            error: None,
        };
        let r = finish(source, |s| std::iter::from_fn(|| s.next_row()).collect::<Vec<_>>());
        assert!(matches!(r, Err(ReadError::Io(_))), "{r:?}");
    }

    #[test]
    fn formats_from_names() {
        assert_eq!(FileFormat::from_file_name("a.XLSX").unwrap(), FileFormat::Xlsx);
        assert_eq!(FileFormat::from_file_name("农户.csv").unwrap(), FileFormat::Csv);
        let e = FileFormat::from_file_name("农户.xls").unwrap_err();
        assert!(e.to_string().contains(".xlsx"));
    }

    #[test]
    fn number_texts() {
        assert_eq!(number_text(3.0), "3");
        assert_eq!(number_text(1234.5), "1234.5");
        assert_eq!(Cell::Number(13800001234.0).text(), "13800001234");
    }
}
