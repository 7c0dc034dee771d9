//! An .xlsx workbook's sheets read cell by cell by a scanner of fangpin's own.
//!
//! Why not a general XML reader (calamine, which the tests keep as the oracle): a county's
//! national export is 2 GB of sheet XML, ~37 cells a row and six tags a cell. A general reader
//! makes an event of every tag and an owned value of every cell; reading it cost more than
//! checking and writing the rows (docs/decisions.md). This scanner finds tags with `memchr`,
//! looks only at the attributes a cell has (`r`, `s`, `t`), and reads the usual `<v>…</v>` and
//! `<is><t>…</t></is>` at once instead of tag by tag.
//!
//! What it reads, of ECMA-376 Part 1 §18: the workbook's sheets in order and their targets,
//! `date1904`, the shared strings, the number formats of the cell styles (for date cells), and
//! each `<c>` of `<sheetData>`: shared and inline strings (rich-text runs joined, phonetic runs
//! left out), numbers, booleans, errors, formula results and ISO dates. Tags may carry a
//! namespace prefix (`x:c`). Entities and `_xHHHH_` escapes are decoded. A sheet is read to its
//! entry's end, so that the zip's checksum is checked: a corrupted file is an error, never a
//! shorter table.

use std::io::{Read, Seek};

use chrono::NaiveDate;

use crate::read::{Cell, ReadError, Row};

/// The bytes read from the zip at a time (the buffer grows for a longer tag or text).
const CHUNK: usize = 256 * 1024;
/// The longest tag or text read (an unclosed quote or tag is an error, not the rest of the sheet
/// in memory).
const MAX_PIECE: usize = 64 * 1024 * 1024;
/// A sheet's rows (Excel's limit).
const MAX_ROWS: usize = 1_048_576;

fn bad(detail: impl Into<String>) -> ReadError {
    ReadError::Xlsx(detail.into())
}

/// A read error of a zip entry: the zip's checks (checksum, compressed data) say the file is
/// damaged; anything else is the disk's.
fn damaged(e: std::io::Error) -> ReadError {
    if e.kind() == std::io::ErrorKind::InvalidData {
        bad(format!("文件已损坏（{e}）"))
    } else {
        ReadError::Io(e)
    }
}

fn zip_error(e: zip::result::ZipError) -> ReadError {
    match e {
        zip::result::ZipError::Io(e) => ReadError::Io(e),
        e => bad(e.to_string()),
    }
}

/// A workbook opened for reading: its sheets, shared strings and cell styles.
pub(crate) struct Workbook<RS: Read + Seek> {
    zip: Entries<RS>,
    /// (name, path of its part in the zip), in the workbook's order.
    sheets: Vec<(String, String)>,
    meta: Meta,
}

/// What reading a sheet needs from the rest of the workbook.
struct Meta {
    strings: Vec<String>,
    /// For each cell style (`cellXfs`, by index), whether its number format shows a date.
    date_styles: Vec<bool>,
    is_1904: bool,
}

impl<RS: Read + Seek> Workbook<RS> {
    pub(crate) fn open(input: RS) -> Result<Self, ReadError> {
        let zip = zip::ZipArchive::new(input).map_err(zip_error)?;
        // entries by their names lower-cased with '/' (some packagers write "\\" or other cases)
        let names: std::collections::HashMap<String, String> =
            zip.file_names().flatten().map(|n| (n.replace('\\', "/").to_lowercase(), n.to_string())).collect();
        let mut zip = Entries { zip, names };
        let workbook = relationships(&mut zip, "_rels/.rels", "")?
            .into_iter()
            .find(|r| r.1.ends_with("/officeDocument"))
            .map(|r| r.2)
            .unwrap_or_else(|| "xl/workbook.xml".to_string());
        let base = match workbook.rfind('/') {
            Some(i) => &workbook[..=i],
            None => "",
        };
        let rels_path = format!("{base}_rels/{}.rels", &workbook[base.len()..]);
        let rels = relationships(&mut zip, &rels_path, base)?;
        if rels.is_empty() {
            return Err(bad(format!("工作簿缺少工作表的关系文件（{rels_path}）")));
        }

        let mut sheets = Vec::new();
        let mut is_1904 = false;
        {
            let part = part(&mut zip, &workbook)?.ok_or_else(|| bad(format!("缺少 {workbook}")))?;
            let mut xml = Scanner::new(part);
            while let Some(tok) = xml.next()? {
                let Tok::Open { name, attrs, .. } = tok else { continue };
                match name {
                    b"workbookPr" => {
                        // only where it is said: Excel 2013+ adds an `x15:workbookPr` without it
                        if let Some(v) = attr(attrs, b"date1904") {
                            is_1904 = matches!(v, b"1" | b"true");
                        }
                    }
                    b"sheet" => {
                        let sheet_name = attr(attrs, b"name").map(unescape_lossy).unwrap_or_default();
                        // r:id, whatever the relationships namespace's prefix
                        let id = prefixed_attr(attrs, b"id").map(unescape_lossy);
                        if let Some(target) = id.and_then(|id| rels.iter().find(|r| r.0 == id)) {
                            sheets.push((sheet_name, target.2.clone()));
                        }
                    }
                    _ => {}
                }
            }
        }
        let strings = read_related(&mut zip, &rels, "/sharedStrings", |p| shared_strings(p))?;
        let date_styles = read_related(&mut zip, &rels, "/styles", |p| date_styles(p))?;
        Ok(Workbook { zip, sheets, meta: Meta { strings, date_styles, is_1904 } })
    }

    pub(crate) fn sheet_count(&self) -> usize {
        self.sheets.len()
    }

    /// The `i`th sheet's cells, positioned at its first row. An error for a part that is not a
    /// worksheet (a chart sheet) or cannot be found.
    pub(crate) fn sheet(&mut self, i: usize) -> Result<SheetCells<'_, zip::read::ZipFile<'_, RS>>, ReadError> {
        let (name, path) = &self.sheets[i];
        let part =
            part(&mut self.zip, path)?.ok_or_else(|| bad(format!("工作表“{name}”的数据（{path}）不在文件中")))?;
        let mut xml = Scanner::new(part);
        let mut last_row = None;
        loop {
            match xml.next()? {
                None => return Err(bad(format!("工作表“{name}”没有数据区（sheetData）"))),
                Some(Tok::Open { name: b"dimension", attrs, .. }) => {
                    // "A1:BK925238" (or just "A1"): the last row, for progress
                    let r = attr(attrs, b"ref").unwrap_or_default();
                    let last = r.rsplit(|b| *b == b':').next().unwrap_or_default();
                    last_row = cell_ref(last).map(|(row, _)| row);
                }
                Some(Tok::Open { name: b"sheetData", empty: true, .. }) => {
                    return Ok(SheetCells {
                        xml,
                        meta: &self.meta,
                        last_row,
                        row: 0,
                        done: true,
                        text: String::new(),
                        width_seen: 0,
                        name: name.clone(),
                        row_from_cells: false,
                    });
                }
                Some(Tok::Open { name: b"sheetData", .. }) => break,
                Some(_) => {}
            }
        }
        Ok(SheetCells {
            xml,
            meta: &self.meta,
            last_row,
            row: 0,
            done: false,
            text: String::new(),
            width_seen: 0,
            name: name.clone(),
            row_from_cells: false,
        })
    }
}

/// The zip and its entries' names as they are found.
struct Entries<RS> {
    zip: zip::ZipArchive<RS>,
    names: std::collections::HashMap<String, String>,
}

/// A zip part, or `None` when the zip has no such entry.
fn part<'a, RS: Read + Seek>(
    zip: &'a mut Entries<RS>,
    path: &str,
) -> Result<Option<zip::read::ZipFile<'a, RS>>, ReadError> {
    let Some(name) = zip.names.get(&path.to_lowercase()) else { return Ok(None) };
    match zip.zip.by_name(name) {
        Ok(f) => Ok(Some(f)),
        Err(zip::result::ZipError::FileNotFound) => Ok(None),
        Err(e) => Err(zip_error(e)),
    }
}

/// The part the first relationship of this type points to, read by `read`; empty when the
/// workbook has none (no shared strings, no styles).
fn read_related<RS: Read + Seek, T>(
    zip: &mut Entries<RS>,
    rels: &[(String, String, String)],
    type_suffix: &str,
    read: impl FnOnce(zip::read::ZipFile<'_, RS>) -> Result<Vec<T>, ReadError>,
) -> Result<Vec<T>, ReadError> {
    let Some(path) = rels.iter().find(|r| r.1.ends_with(type_suffix)).map(|r| r.2.as_str()) else {
        return Ok(Vec::new());
    };
    match part(zip, path)? {
        Some(p) => read(p),
        None => Ok(Vec::new()),
    }
}

/// A relationships part's (Id, Type, target path in the zip), targets resolved against `base`.
fn relationships<RS: Read + Seek>(
    zip: &mut Entries<RS>,
    path: &str,
    base: &str,
) -> Result<Vec<(String, String, String)>, ReadError> {
    let Some(part) = part(zip, path)? else { return Ok(Vec::new()) };
    let mut xml = Scanner::new(part);
    let mut out = Vec::new();
    while let Some(tok) = xml.next()? {
        if let Tok::Open { name: b"Relationship", attrs, .. } = tok {
            let get = |n: &[u8]| attr(attrs, n).map(unescape_lossy).unwrap_or_default();
            if get(b"TargetMode") == "External" {
                continue;
            }
            out.push((get(b"Id"), get(b"Type"), resolve(base, &get(b"Target"))));
        }
    }
    Ok(out)
}

/// A relationship's target as a path in the zip: absolute ("/xl/…") or relative to `base`.
fn resolve(base: &str, target: &str) -> String {
    let joined = match target.strip_prefix('/') {
        Some(abs) => abs.to_string(),
        None => format!("{base}{target}"),
    };
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn shared_strings<R: Read>(part: R) -> Result<Vec<String>, ReadError> {
    let mut xml = Scanner::new(part);
    let mut out = Vec::new();
    let mut text = String::new();
    while let Some(tok) = xml.next()? {
        if let Tok::Open { name: b"si", empty, .. } = tok {
            text.clear();
            if !empty {
                xml.rich_text(b"si", &mut text)?;
            }
            out.push(text.clone());
        }
    }
    Ok(out)
}

/// Whether each cell style (`cellXfs/xf`, in order) shows its number as a date.
fn date_styles<R: Read>(part: R) -> Result<Vec<bool>, ReadError> {
    let mut xml = Scanner::new(part);
    let mut custom: Vec<(u32, bool)> = Vec::new();
    let mut out = Vec::new();
    let mut in_cell_xfs = false;
    while let Some(tok) = xml.next()? {
        match tok {
            Tok::Open { name: b"numFmt", attrs, .. } => {
                let id = attr(attrs, b"numFmtId").and_then(number::<u32>);
                let code = attr(attrs, b"formatCode").map(unescape_lossy).unwrap_or_default();
                if let Some(id) = id {
                    custom.push((id, is_date_format(&code)));
                }
            }
            Tok::Open { name: b"cellXfs", empty, .. } => in_cell_xfs = !empty,
            Tok::Close { name: b"cellXfs" } => in_cell_xfs = false,
            Tok::Open { name: b"xf", attrs, .. } if in_cell_xfs => {
                let id = attr(attrs, b"numFmtId").and_then(number::<u32>).unwrap_or(0);
                let date = match custom.iter().find(|c| c.0 == id) {
                    Some(c) => c.1,
                    None => is_date_format_id(id),
                };
                out.push(date);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The built-in number formats that show a date or a time of day (ECMA-376 §18.8.30; 27–36 and
/// 50–58 are the East Asian locales' dates). 46, `[h]:mm:ss`, is a duration: a number.
fn is_date_format_id(id: u32) -> bool {
    matches!(id, 14..=22 | 27..=36 | 45 | 47 | 50..=58)
}

/// A custom number format shows a date when its first section has a date or time token (d, m, y,
/// h, s, or AM/PM) outside quotes, escapes and brackets; an elapsed time (`[h]:mm`) is a number.
fn is_date_format(code: &str) -> bool {
    let mut chars = code.chars();
    let mut date = false;
    while let Some(c) = chars.next() {
        match c {
            ';' => break,
            '"' => {
                for q in chars.by_ref() {
                    if q == '"' {
                        break;
                    }
                }
            }
            // the next character is shown as it is (or is a fill or padding)
            '\\' | '_' | '*' => {
                chars.next();
            }
            '[' => {
                let inner: String = chars.by_ref().take_while(|c| *c != ']').collect();
                let lower = inner.to_ascii_lowercase();
                if !lower.is_empty() && lower.chars().all(|c| matches!(c, 'h' | 'm' | 's')) {
                    return false;
                }
            }
            'd' | 'D' | 'm' | 'M' | 'y' | 'Y' | 'h' | 'H' | 's' | 'S' => date = true,
            'a' | 'A' => {
                // AM/PM or A/P
                let rest = chars.as_str();
                if rest.get(..4).is_some_and(|r| r.eq_ignore_ascii_case("m/pm"))
                    || rest.starts_with(['/']) && rest.get(1..2).is_some_and(|p| p.eq_ignore_ascii_case("p"))
                {
                    date = true;
                }
            }
            _ => {}
        }
    }
    date
}

/// A sheet's rows, read from its `<sheetData>`.
pub(crate) struct SheetCells<'a, R: Read> {
    xml: Scanner<R>,
    meta: &'a Meta,
    last_row: Option<usize>,
    /// The number of the row last read (1-based; 0 before the first).
    row: usize,
    done: bool,
    /// A cell's text, decoded (reused from cell to cell).
    text: String,
    /// The sheet's name, for messages.
    name: String,
    /// The row's number came from its cell references, not its own `r`.
    row_from_cells: bool,
    /// The most cells a row had so far (each row's vector is made that large at once).
    width_seen: usize,
}

impl<R: Read> SheetCells<'_, R> {
    /// The last row number the sheet declares (`<dimension>`), if it does.
    pub(crate) fn last_row(&self) -> Option<usize> {
        self.last_row
    }

    /// The next row that has at least one cell, with the cells at or beyond `width` dropped.
    pub(crate) fn next_row(&mut self, width: usize) -> Result<Option<Row>, ReadError> {
        if self.done {
            return Ok(None);
        }
        loop {
            match self.xml.next()? {
                None => return Err(bad("工作表数据不完整（文件在数据区中途结束）")),
                Some(Tok::Close { name: b"sheetData" }) => {
                    self.done = true;
                    // the rest of the part, so that the zip checks it against its checksum
                    self.xml.drain()?;
                    return Ok(None);
                }
                Some(Tok::Open { name: b"row", attrs, empty }) => {
                    self.row_from_cells = false;
                    self.row = match attr(attrs, b"r") {
                        Some(r) => number::<usize>(r).filter(|r| (1..=MAX_ROWS).contains(r)).ok_or_else(|| {
                            content_error(
                                &self.name,
                                format!("第{}行之后的行号“{}”无法读取", self.row, String::from_utf8_lossy(r)),
                            )
                        })?,
                        // numbered by its first cell's reference, if it has one
                        None => {
                            self.row_from_cells = true;
                            (self.row + 1).min(MAX_ROWS)
                        }
                    };
                    if empty {
                        continue;
                    }
                    if let Some(row) = self.row_cells(width)? {
                        return Ok(Some(row));
                    }
                }
                Some(_) => {}
            }
        }
    }

    /// The cells of the row just opened; `None` for a row without any `<c>`.
    fn row_cells(&mut self, width: usize) -> Result<Option<Row>, ReadError> {
        let mut cells: Vec<Cell> = Vec::with_capacity(self.width_seen);
        let mut any = false;
        let mut col = 0usize;
        loop {
            let (attrs_r, style, kind, empty) = match self.xml.next()? {
                None => return Err(bad("工作表数据不完整（文件在一行中途结束）")),
                Some(Tok::Close { name: b"row" }) => break,
                Some(Tok::Open { name: b"c", attrs, empty }) => {
                    // one pass over the attributes: this is the sheet's most frequent tag
                    let (mut r, mut s, mut t) = (None, None, None);
                    for (name, value) in attributes(attrs) {
                        match name {
                            b"r" => {
                                if std::mem::take(&mut self.row_from_cells)
                                    && let Some((row, _)) = cell_ref(value).filter(|(r, _)| (1..=MAX_ROWS).contains(r))
                                {
                                    self.row = row;
                                }
                                r = Some(cell_column(value));
                            }
                            b"s" => s = number::<usize>(value),
                            b"t" => t = Some(value),
                            _ => {}
                        }
                    }
                    (r, s, CellType::of(t), empty)
                }
                Some(_) => continue,
            };
            any = true;
            if let Some(r) = attrs_r {
                col =
                    r.ok_or_else(|| self.cell_error(format!("第{}行第{}个单元格的位置无法读取", self.row, col + 1)))?;
            }
            let at = col;
            col += 1;
            if empty {
                continue;
            }
            self.text.clear();
            let mut has_value = self.xml.plain_cell(&mut self.text)?;
            while !has_value {
                match self.xml.next()? {
                    None => return Err(bad("工作表数据不完整（文件在单元格中途结束）")),
                    Some(Tok::Close { name: b"c" }) => break,
                    Some(Tok::Open { name: b"v", empty: false, .. }) => {
                        self.xml.text_until(b"v", &mut self.text)?;
                        has_value = true;
                    }
                    Some(Tok::Open { name: b"is", empty: false, .. }) => {
                        self.xml.rich_text(b"is", &mut self.text)?;
                        has_value = true;
                    }
                    Some(Tok::Open { name: b"f", empty: false, .. }) => self.xml.skip_until(b"f")?,
                    Some(_) => {}
                }
            }
            if has_value {
                // what follows the value up to the cell's end (nothing, usually)
                loop {
                    match self.xml.next()? {
                        None => return Err(bad("工作表数据不完整（文件在单元格中途结束）")),
                        Some(Tok::Close { name: b"c" }) => break,
                        Some(Tok::Open { name: b"f", empty: false, .. }) => self.xml.skip_until(b"f")?,
                        Some(_) => {}
                    }
                }
            }
            if at >= width || !has_value {
                continue;
            }
            let cell = self.value(kind, style, at)?;
            if !cell.is_empty() {
                if cells.len() <= at {
                    cells.resize(at + 1, Cell::Empty);
                }
                cells[at] = cell;
            }
        }
        self.width_seen = self.width_seen.max(cells.len());
        Ok(any.then_some(Row { number: self.row, cells }))
    }

    fn cell_error(&self, detail: String) -> ReadError {
        content_error(&self.name, detail)
    }

    fn value(&self, kind: CellType, style: Option<usize>, col: usize) -> Result<Cell, ReadError> {
        let text = self.text.as_str();
        let at = || format!("第{}行{}列", self.row, column_name(col));
        Ok(match kind {
            CellType::Shared => {
                let t = text.trim();
                if t.is_empty() {
                    return Ok(Cell::Empty);
                }
                match number::<usize>(t.as_bytes()).and_then(|i| self.meta.strings.get(i)) {
                    Some(s) => Cell::text_cell(s),
                    None => return Err(self.cell_error(format!("{}引用的文字（编号“{t}”）在文件中不存在", at()))),
                }
            }
            CellType::Text => Cell::text_cell(text),
            CellType::Bool => match text.trim() {
                "1" => Cell::Bool(true),
                "0" => Cell::Bool(false),
                "" => Cell::Empty,
                t if t.eq_ignore_ascii_case("true") => Cell::Bool(true),
                t if t.eq_ignore_ascii_case("false") => Cell::Bool(false),
                t => return Err(self.cell_error(format!("{}的逻辑值“{t}”无法读取（应为 TRUE 或 FALSE）", at()))),
            },
            CellType::Error => match text.trim() {
                "" => Cell::Empty,
                t => Cell::Error(t.to_string()),
            },
            CellType::Number => {
                let t = text.trim();
                if t.is_empty() {
                    return Ok(Cell::Empty);
                }
                match t.parse::<f64>() {
                    // a number in a date-formatted cell; a cell without a style is no date
                    Ok(v) if style.is_some_and(|s| self.meta.date_styles.get(s).copied().unwrap_or(false)) => {
                        excel_date(v, self.meta.is_1904).map(Cell::Date).unwrap_or(Cell::Number(v))
                    }
                    Ok(v) => Cell::Number(v),
                    // some writers put text in a cell typed as a number: it is still the text
                    Err(_) => Cell::text_cell(text),
                }
            }
        })
    }
}

/// An error in one cell or row of a workbook that opened.
fn content_error(sheet: &str, detail: String) -> ReadError {
    ReadError::XlsxContent { sheet: sheet.to_string(), detail }
}

/// A column's letters ("A", "BK") from its index counted from 0.
fn column_name(mut col: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    letters.iter().rev().map(|b| char::from(*b)).collect()
}

/// A cell's `t` attribute.
#[derive(Clone, Copy)]
enum CellType {
    /// `s`: an index into the shared strings.
    Shared,
    /// `inlineStr`, `str` (a formula's text), `d` (an ISO 8601 date, kept as text) and anything
    /// unknown.
    Text,
    Bool,
    Error,
    /// `n` or none.
    Number,
}

impl CellType {
    fn of(t: Option<&[u8]>) -> CellType {
        match t {
            None | Some(b"n") => CellType::Number,
            Some(b"s") => CellType::Shared,
            Some(b"b") => CellType::Bool,
            Some(b"e") => CellType::Error,
            Some(_) => CellType::Text,
        }
    }
}

/// An Excel serial date's day. In the 1900 system Excel counts a 29 February 1900 that never
/// was (serial 60, which has no date), so days before it are one off from 1899-12-30.
fn excel_date(serial: f64, is_1904: bool) -> Option<NaiveDate> {
    if !(0.0..=2_958_466.0).contains(&serial) {
        return None;
    }
    // to the millisecond, as Excel stores it, so that 0.999999999 (less than half a millisecond short) is the next day
    let ms = (serial * 86_400_000.0).round() as i64;
    let days = ms.div_euclid(86_400_000);
    let (epoch, days) = if is_1904 {
        (NaiveDate::from_ymd_opt(1904, 1, 1)?, days)
    } else if days < 60 {
        (NaiveDate::from_ymd_opt(1899, 12, 31)?, days)
    } else if days == 60 {
        return None;
    } else {
        (NaiveDate::from_ymd_opt(1899, 12, 30)?, days)
    };
    epoch.checked_add_days(chrono::Days::new(u64::try_from(days).ok()?))
}

/// A cell reference's column counted from 0 and its row's digits ("BK925238" → 62, "925238");
/// `None` when it is not a reference.
fn split_ref(r: &[u8]) -> Option<(usize, &[u8])> {
    let letters = r.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if letters == 0 || letters > 3 || letters == r.len() || !r[letters..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let col = r[..letters].iter().fold(0, |col, b| col * 26 + usize::from(b.to_ascii_uppercase() - b'A' + 1));
    Some((col - 1, &r[letters..]))
}

/// "BK925238" → (row 925238, column 62 counted from 0).
fn cell_ref(r: &[u8]) -> Option<(usize, usize)> {
    let (col, row) = split_ref(r)?;
    Some((number(row)?, col))
}

/// The column alone, for every cell: its row is the `<row>`'s.
fn cell_column(r: &[u8]) -> Option<usize> {
    split_ref(r).map(|(col, _)| col)
}

fn number<T: std::str::FromStr>(b: &[u8]) -> Option<T> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// the scanner

/// One piece of XML. Names are local (without their namespace prefix); attributes and text are
/// raw (undecoded) bytes of the buffer.
#[derive(Debug)]
enum Tok<'a> {
    Open {
        name: &'a [u8],
        attrs: &'a [u8],
        empty: bool,
    },
    Close {
        name: &'a [u8],
    },
    Text(&'a [u8]),
    /// A CDATA section's content: text taken as it is.
    CData(&'a [u8]),
}

struct Scanner<R> {
    input: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
}

impl<R: Read> Scanner<R> {
    fn new(input: R) -> Self {
        Scanner { input, buf: vec![0; CHUNK], pos: 0, end: 0, eof: false }
    }

    /// Reads more input after what is not consumed yet, moving that to the front and growing the
    /// buffer when it is full. `false` at the end of the input.
    fn fill(&mut self) -> Result<bool, ReadError> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            if self.buf.len() >= MAX_PIECE {
                return Err(bad("XML 中有一个超过 64 MB 的标记或文本，文件可能已损坏"));
            }
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(damaged(e)),
            }
        }
    }

    /// Reads the input to its end (a zip entry checks its checksum there).
    fn drain(&mut self) -> Result<(), ReadError> {
        std::io::copy(&mut self.input, &mut std::io::sink()).map_err(damaged)?;
        self.eof = true;
        Ok(())
    }

    /// The next piece, or `None` at the end of the input.
    fn next(&mut self) -> Result<Option<Tok<'_>>, ReadError> {
        // find the extent first, then borrow: (kind, start, end of the piece, next position)
        let (kind, a, b, next) = loop {
            if self.pos == self.end && !self.fill()? {
                return Ok(None);
            }
            let rest = &self.buf[self.pos..self.end];
            if rest[0] != b'<' {
                match find(b'<', rest) {
                    Some(i) => break (Kind::Text, self.pos, self.pos + i, self.pos + i),
                    None if self.eof => break (Kind::Text, self.pos, self.end, self.end),
                    None => {
                        self.fill()?;
                        continue;
                    }
                }
            }
            match tag_extent(rest) {
                Some((Kind::Skip, _, _, len)) => self.pos += len,
                Some((kind, a, b, len)) => break (kind, self.pos + a, self.pos + b, self.pos + len),
                None if self.eof => return Err(bad("XML 不完整（文件在一个标记中途结束）")),
                None => {
                    self.fill()?;
                }
            }
        };
        self.pos = next;
        let piece = &self.buf[a..b];
        Ok(Some(match kind {
            Kind::Text => Tok::Text(piece),
            Kind::CData => Tok::CData(piece),
            Kind::Skip => unreachable!("passed over above"),
            Kind::Close => Tok::Close { name: local(piece) },
            Kind::Open { empty } => {
                let n = piece.iter().position(|b| b.is_ascii_whitespace()).unwrap_or(piece.len());
                Tok::Open { name: local(&piece[..n]), attrs: &piece[n..], empty }
            }
        }))
    }

    /// A cell's content when it is the common `<v>…</v>` or `<is><t>…</t></is>` without prefixes
    /// (what nearly every writer puts in nearly every cell), read at once instead of tag by tag.
    /// `false`, having read nothing, for anything else, or when it is not all in the buffer yet.
    /// Leaves the scanner after the value's end tag; the caller reads on to the cell's.
    fn plain_cell(&mut self, out: &mut String) -> Result<bool, ReadError> {
        let rest = &self.buf[self.pos..self.end];
        for (open, close) in [(&b"<v>"[..], &b"</v>"[..]), (b"<is><t>", b"</t></is>")] {
            let Some(body) = rest.strip_prefix(open) else { continue };
            let Some(i) = find(b'<', body) else { return Ok(false) };
            if !body[i..].starts_with(close) {
                return Ok(false);
            }
            decode(&body[..i], out)?;
            self.pos += open.len() + i + close.len();
            return Ok(true);
        }
        Ok(false)
    }

    /// Appends the decoded text up to the close of `name` (nested tags are passed over).
    fn text_until(&mut self, name: &[u8], out: &mut String) -> Result<(), ReadError> {
        loop {
            match self.next()? {
                None => return Err(bad("XML 不完整（文件在文本中途结束）")),
                Some(Tok::Close { name: n }) if n == name => return Ok(()),
                Some(Tok::Text(t)) => decode(t, out)?,
                Some(Tok::CData(t)) => out.push_str(utf8(t)?),
                Some(_) => {}
            }
        }
    }

    /// Passes over everything up to the close of `name`.
    fn skip_until(&mut self, name: &[u8]) -> Result<(), ReadError> {
        let mut depth = 0usize;
        loop {
            match self.next()? {
                None => return Err(bad("XML 不完整")),
                Some(Tok::Open { name: n, empty: false, .. }) if n == name => depth += 1,
                Some(Tok::Close { name: n }) if n == name => {
                    if depth == 0 {
                        return Ok(());
                    }
                    depth -= 1;
                }
                Some(_) => {}
            }
        }
    }

    /// A string item's text (`<si>` or `<is>`): its `<t>`s, directly or in rich-text runs, but
    /// not the phonetic guide (`<rPh>`), which is not part of the cell's value.
    fn rich_text(&mut self, name: &[u8], out: &mut String) -> Result<(), ReadError> {
        loop {
            match self.next()? {
                None => return Err(bad("XML 不完整（文件在文本中途结束）")),
                Some(Tok::Close { name: n }) if n == name => return Ok(()),
                Some(Tok::Open { name: b"t", attrs, empty: false }) => {
                    let preserve = attributes(attrs).any(|(n, v)| local(n) == b"space" && v == b"preserve");
                    let start = out.len();
                    self.text_until(b"t", out)?;
                    if !preserve {
                        // a run's spaces count only where the writer said so
                        const SPACE: [char; 4] = [' ', '\t', '\r', '\n'];
                        let end = start + out[start..].trim_end_matches(SPACE).len();
                        out.truncate(end);
                        let lead = out[start..].len() - out[start..].trim_start_matches(SPACE).len();
                        out.drain(start..start + lead);
                    }
                }
                Some(Tok::Open { name: b"rPh", empty: false, .. }) => self.skip_until(b"rPh")?,
                Some(_) => {}
            }
        }
    }
}

enum Kind {
    Text,
    CData,
    Open {
        empty: bool,
    },
    Close,
    /// A declaration, processing instruction or comment.
    Skip,
}

/// The tag at the start of `rest` (which starts with '<'): its kind, where its name (and
/// attributes) start and end, and its length; `None` when it does not end within `rest`.
fn tag_extent(rest: &[u8]) -> Option<(Kind, usize, usize, usize)> {
    let second = *rest.get(1)?;
    match second {
        b'/' => {
            let e = find(b'>', rest)?;
            let name = trim_end(&rest[2..e]);
            Some((Kind::Close, 2, 2 + name.len(), e + 1))
        }
        b'?' => {
            let e = memchr::memmem::find(rest, b"?>")?;
            Some((Kind::Skip, 0, 0, e + 2))
        }
        b'!' => {
            if rest.starts_with(b"<![CDATA[") {
                let e = memchr::memmem::find(&rest[9..], b"]]>")?;
                Some((Kind::CData, 9, 9 + e, 9 + e + 3))
            } else if rest.starts_with(b"<!--") {
                let e = memchr::memmem::find(&rest[4..], b"-->")?;
                Some((Kind::Skip, 0, 0, 4 + e + 3))
            } else if rest.len() < 9 {
                None
            } else {
                let e = memchr::memchr(b'>', rest)?;
                Some((Kind::Skip, 0, 0, e + 1))
            }
        }
        _ => {
            // '>' may stand inside a quoted attribute value
            let mut quote = 0u8;
            let mut i = 1;
            let e = loop {
                let b = *rest.get(i)?;
                if quote != 0 {
                    if b == quote {
                        quote = 0;
                    }
                } else if b == b'"' || b == b'\'' {
                    quote = b;
                } else if b == b'>' {
                    break i;
                }
                i += 1;
            };
            let empty = rest[e - 1] == b'/';
            let inner_end = if empty { e - 1 } else { e };
            Some((Kind::Open { empty }, 1, inner_end, e + 1))
        }
    }
}

fn trim_end(b: &[u8]) -> &[u8] {
    let n = b.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(0, |i| i + 1);
    &b[..n]
}

/// The first `needle` in `hay`. Most of what the scanner looks through is a few bytes long, where
/// a plain loop beats `memchr`'s set-up; a long stretch goes to `memchr`.
#[inline]
fn find(needle: u8, hay: &[u8]) -> Option<usize> {
    const SHORT: usize = 32;
    match hay.iter().take(SHORT).position(|b| *b == needle) {
        Some(i) => Some(i),
        None if hay.len() <= SHORT => None,
        None => memchr::memchr(needle, &hay[SHORT..]).map(|i| i + SHORT),
    }
}

/// A name without its namespace prefix.
fn local(name: &[u8]) -> &[u8] {
    match name.iter().position(|b| *b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// An attribute's raw value, by its full name.
fn attr<'a>(attrs: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    attributes(attrs).find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// An attribute's raw value, by its local name with some namespace prefix (`r:id`).
fn prefixed_attr<'a>(attrs: &'a [u8], local_name: &[u8]) -> Option<&'a [u8]> {
    attributes(attrs).find(|(n, _)| n.contains(&b':') && local(n) == local_name).map(|(_, v)| v)
}

/// The `name="value"` pairs of a tag (either quote).
fn attributes(mut s: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    std::iter::from_fn(move || {
        let start = s.iter().position(|b| !b.is_ascii_whitespace())?;
        s = &s[start..];
        let eq = find(b'=', s)?;
        let name = trim_end(&s[..eq]);
        let after = &s[eq + 1..];
        let q = after.iter().position(|b| !b.is_ascii_whitespace())?;
        let quote = after[q];
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let body = &after[q + 1..];
        let close = find(quote, body)?;
        let value = &body[..close];
        s = &body[close + 1..];
        Some((name, value))
    })
}

fn utf8(b: &[u8]) -> Result<&str, ReadError> {
    std::str::from_utf8(b).map_err(|_| bad("XML 含有不是 UTF-8 的字符"))
}

fn unescape_lossy(b: &[u8]) -> String {
    let mut s = String::new();
    if decode(b, &mut s).is_err() {
        s = String::from_utf8_lossy(b).into_owned();
    }
    s
}

/// Appends `raw` text decoded: XML's entities and character references, and the `_xHHHH_`
/// escapes Office uses for characters XML cannot hold (`_x000D_`; `_x005F_` is a literal '_').
fn decode(raw: &[u8], out: &mut String) -> Result<(), ReadError> {
    let s = utf8(raw)?;
    if memchr::memchr3(b'&', b'_', b'\r', raw).is_none() {
        out.push_str(s);
        return Ok(());
    }
    if memchr::memchr(b'\r', raw).is_some() {
        // XML 1.0 §2.11: a line break in the file is "\n" whatever the writer's system
        return decode(s.replace("\r\n", "\n").replace('\r', "\n").as_bytes(), out);
    }
    let mut rest = s;
    while let Some(i) = rest.find(['&', '_']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.starts_with('&') {
            let Some(semi) = rest.find(';') else {
                return Err(bad("XML 中的“&”没有结束的“;”"));
            };
            let entity = &rest[1..semi];
            let c = match entity {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                e => e
                    .strip_prefix("#x")
                    .or_else(|| e.strip_prefix("#X"))
                    .map(|h| u32::from_str_radix(h, 16))
                    .or_else(|| e.strip_prefix('#').map(str::parse::<u32>))
                    .and_then(Result::ok)
                    .and_then(char::from_u32),
            };
            match c {
                Some(c) => out.push(c),
                None => return Err(bad(format!("XML 中的“&{entity};”无法识别"))),
            }
            rest = &rest[semi + 1..];
        } else {
            // "_xHHHH_"
            match office_escape(rest) {
                Some((unit, low)) => {
                    match (unit, low) {
                        (0xD800..=0xDBFF, Some(low)) => {
                            let c = 0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                            out.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                            rest = &rest[14..];
                            continue;
                        }
                        (0xD800..=0xDFFF, _) => out.push(char::REPLACEMENT_CHARACTER),
                        (u, _) => out.push(char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER)),
                    }
                    rest = &rest[7..];
                }
                None => {
                    out.push('_');
                    rest = &rest[1..];
                }
            }
        }
    }
    out.push_str(rest);
    Ok(())
}

/// The UTF-16 unit of an `_xHHHH_` escape at the start of `s`, and the low surrogate of one
/// following it when the first is a high surrogate.
fn office_escape(s: &str) -> Option<(u16, Option<u16>)> {
    let unit = |s: &str| -> Option<u16> {
        let b = s.as_bytes();
        if b.len() >= 7 && b[0] == b'_' && b[1] == b'x' && b[6] == b'_' {
            let hex = &s[2..6];
            if hex.bytes().all(|b| b.is_ascii_hexdigit()) { u16::from_str_radix(hex, 16).ok() } else { None }
        } else {
            None
        }
    };
    let first = unit(s)?;
    let low = if (0xD800..=0xDBFF).contains(&first) {
        s.get(7..).and_then(unit).filter(|l| (0xDC00..=0xDFFF).contains(l))
    } else {
        None
    };
    Some((first, low))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_references() {
        assert_eq!(cell_ref(b"A1"), Some((1, 0)));
        assert_eq!(cell_ref(b"BK925238"), Some((925_238, 62)));
        assert_eq!(cell_ref(b"XFD1048576"), Some((1_048_576, 16_383)));
        assert_eq!(cell_ref(b"12"), None);
        assert_eq!(cell_ref(b"A1x"), None);
    }

    #[test]
    fn text_is_decoded() {
        let mut s = String::new();
        decode("a&lt;b&amp;c&#36;&#x4e2d;_x000D_d_x005F_x000D_ e_f".as_bytes(), &mut s).unwrap();
        assert_eq!(s, "a<b&c$中\rd_x000D_ e_f");
        let mut s = String::new();
        decode(b"_xD83D__xDE00_ _xD83D_", &mut s).unwrap();
        assert_eq!(s, "\u{1F600} \u{FFFD}");
        assert!(decode(b"a & b", &mut String::new()).is_err());
        assert!(decode(b"&nbsp;", &mut String::new()).is_err());
    }

    #[test]
    fn date_formats() {
        for code in ["yyyy-mm-dd", "yyyy\"年\"m\"月\"d\"日\"", "m/d/yy h:mm", "h:mm AM/PM", "[$-804]yyyy/m/d", "mmm-yy"]
        {
            assert!(is_date_format(code), "{code}");
        }
        for code in ["0.00", "@", "General", "#,##0;[Red]-#,##0", "[h]:mm:ss", "\"dd\"0", "0\\d", "[Red]0.0"] {
            assert!(!is_date_format(code), "{code}");
        }
        assert!(is_date_format_id(14) && is_date_format_id(57) && !is_date_format_id(46) && !is_date_format_id(49));
    }

    #[test]
    fn serial_dates() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(excel_date(1.0, false), d(1900, 1, 1));
        assert_eq!(excel_date(59.0, false), d(1900, 2, 28));
        assert_eq!(excel_date(60.0, false), None);
        assert_eq!(excel_date(61.0, false), d(1900, 3, 1));
        assert_eq!(excel_date(44_652.75, false), d(2022, 4, 1));
        assert_eq!(excel_date(44_652.999_999_999, false), d(2022, 4, 2));
        assert_eq!(excel_date(0.0, true), d(1904, 1, 1));
        assert_eq!(excel_date(43_190.0, true), d(2022, 4, 1));
        assert_eq!(excel_date(-1.0, false), None);
    }

    #[test]
    fn tags_across_refills_and_quoted_brackets() {
        // a 1-byte reader: every piece straddles a refill
        struct Slow<'a>(&'a [u8]);
        impl Read for Slow<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let xml = br#"<?xml version="1.0"?><!-- c > --><x:a k='1>2' j="q"><b/>t&amp;<![CDATA[<z>]]></x:a>"#;
        let mut s = Scanner::new(Slow(xml));
        let mut seen = Vec::new();
        while let Some(t) = s.next().unwrap() {
            seen.push(match t {
                Tok::Open { name, attrs, empty } => {
                    format!("<{}{}{}>", utf8(name).unwrap(), utf8(attrs).unwrap(), if empty { "/" } else { "" })
                }
                Tok::Close { name } => format!("</{}>", utf8(name).unwrap()),
                Tok::Text(t) => format!("text {}", utf8(t).unwrap()),
                Tok::CData(t) => format!("cdata {}", utf8(t).unwrap()),
            });
        }
        assert_eq!(seen, ["<a k='1>2' j=\"q\">", "<b/>", "text t&amp;", "cdata <z>", "</a>"]);
        let attrs = b" k='1>2' j=\"q\"";
        assert_eq!(attr(attrs, b"k"), Some(&b"1>2"[..]));
        assert_eq!(attr(attrs, b"j"), Some(&b"q"[..]));
        assert_eq!(attr(attrs, b"x"), None);
        let mut s = Scanner::new(&b"<a><b attr=\"x"[..]);
        assert!(s.next().unwrap().is_some());
        assert!(s.next().is_err(), "a tag cut off at the end is an error");
    }

    // ---- compared with calamine, cell by cell --------------------------------------------

    /// Every sheet's rows as calamine reads them, converted as fangpin did before this reader.
    fn calamine_rows(bytes: &[u8]) -> Vec<Vec<Row>> {
        use calamine::{DataRef, Reader, Xlsx};
        let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let mut out = Vec::new();
        for name in wb.sheet_names() {
            let Ok(mut cells) = wb.worksheet_cells_reader(&name) else { continue };
            let mut rows: Vec<Row> = Vec::new();
            while let Some(c) = cells.next_cell().unwrap() {
                let (r, col) = c.get_position();
                let v = match c.get_value() {
                    DataRef::Empty => Cell::Empty,
                    DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Cell::text_cell(s),
                    DataRef::SharedString(s) => Cell::text_cell(s),
                    DataRef::Float(f) => Cell::Number(*f),
                    DataRef::Int(i) => Cell::Number(*i as f64),
                    DataRef::Bool(b) => Cell::Bool(*b),
                    DataRef::DateTime(dt) if dt.is_datetime() => {
                        let (y, m, d, ..) = dt.to_ymd_hms_milli();
                        NaiveDate::from_ymd_opt(i32::from(y), u32::from(m), u32::from(d))
                            .map(Cell::Date)
                            .unwrap_or_else(|| Cell::Number(dt.as_f64()))
                    }
                    DataRef::DateTime(dt) => Cell::Number(dt.as_f64()),
                    DataRef::Error(e) => Cell::Error(e.to_string()),
                };
                let number = r as usize + 1;
                if rows.last().is_none_or(|last| last.number != number) {
                    rows.push(Row { number, cells: Vec::new() });
                }
                let cells = &mut rows.last_mut().unwrap().cells;
                let col = col as usize;
                if !v.is_empty() {
                    if cells.len() <= col {
                        cells.resize(col + 1, Cell::Empty);
                    }
                    cells[col] = v;
                }
            }
            out.push(rows);
        }
        out
    }

    fn our_rows(bytes: &[u8]) -> Vec<Vec<Row>> {
        let mut wb = Workbook::open(std::io::Cursor::new(bytes)).unwrap();
        let mut out = Vec::new();
        for i in 0..wb.sheet_count() {
            let Ok(mut sheet) = wb.sheet(i) else { continue };
            out.push(std::iter::from_fn(|| sheet.next_row(usize::MAX).unwrap()).collect());
        }
        out
    }

    #[test]
    fn reads_what_calamine_reads_from_rust_xlsxwriter_workbooks() {
        use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook as Writer};
        let date = Format::new().set_num_format("yyyy-mm-dd");
        let cn_date = Format::new().set_num_format("yyyy\"年\"m\"月\"d\"日\"");
        let builtin = Format::new().set_num_format_index(14);
        let time = Format::new().set_num_format("h:mm AM/PM");
        let elapsed = Format::new().set_num_format("[h]:mm:ss");
        let money = Format::new().set_num_format("#,##0.00;[Red]-#,##0.00");
        let text = Format::new().set_num_format("@");
        let bold = Format::new().set_bold();
        let mut w = Writer::new();
        for constant_memory in [false, true] {
            let ws = if constant_memory { w.add_worksheet_with_constant_memory().unwrap() } else { w.add_worksheet() };
            ws.write_string(0, 0, "2022年农户信息表").unwrap();
            ws.write_string(1, 0, "户编号").unwrap();
            ws.write_string(1, 1, "证件号码").unwrap();
            let strings = [
                " 两边有空格 ",
                "a<b&c>\"d'",
                "换行\r\n两行",
                "tab\tx",
                "😀 emoji",
                "_x000D_ literal",
                "",
                "=1+1",
                "'=SUM(A1)",
            ];
            for (i, s) in strings.iter().enumerate() {
                let r = i as u32 + 2;
                ws.write_string(r, 0, *s).unwrap();
                ws.write_string_with_format(r, 1, format!("45022119{i:02}0101001X"), &text).unwrap();
                ws.write_number(r, 2, 1234.5 * i as f64 - 3.0).unwrap();
                ws.write_number_with_format(r, 3, 44_652.0 + i as f64, &date).unwrap();
                ws.write_number_with_format(r, 4, 44_652.75 + i as f64, &cn_date).unwrap();
                ws.write_number_with_format(r, 5, 30_000.0 + i as f64, &builtin).unwrap();
                ws.write_number_with_format(r, 6, 0.25 * i as f64, &time).unwrap();
                ws.write_number_with_format(r, 7, 1.5 * i as f64, &elapsed).unwrap();
                ws.write_number_with_format(r, 8, 6500.0 * i as f64, &money).unwrap();
                ws.write_boolean(r, 9, i % 2 == 0).unwrap();
                ws.write_formula(r, 10, Formula::new("=A1").set_result(format!("结果{i}"))).unwrap();
                ws.write_formula(r, 11, Formula::new("=1/0").set_result("#DIV/0!")).unwrap();
                ws.write_rich_string(r, 12, &[(&bold, "粗体"), (&Format::default(), " 与普通 ")]).unwrap();
                let dt = ExcelDateTime::from_ymd(2021, 12, i as u8 + 1).unwrap();
                ws.write_datetime_with_format(r, 13, &dt, &date).unwrap();
                ws.write_number(r, 200 + i as u16 * 7, f64::from(i as u8)).unwrap();
            }
            ws.write_string(40, 3, "远处的一行").unwrap();
        }
        w.add_worksheet().set_name("空表").unwrap();
        let bytes = w.save_to_buffer().unwrap();
        let (ours, theirs) = (our_rows(&bytes), calamine_rows(&bytes));
        assert_eq!(ours.len(), 3);
        assert_eq!(ours[0].len(), 12, "{:?}", ours[0].iter().map(|r| r.number).collect::<Vec<_>>());
        for (a, b) in ours.iter().zip(&theirs) {
            for (ra, rb) in a.iter().zip(b) {
                assert_eq!(ra, rb);
            }
            assert_eq!(a.len(), b.len());
        }
        assert_eq!(ours, theirs);
        // and the values are what was written (not just the same mistakes)
        let row = &ours[1][3];
        assert_eq!(row.get(0), &Cell::Text("a<b&c>\"d'".into()));
        assert_eq!(row.get(3), &Cell::Date(NaiveDate::from_ymd_opt(2022, 4, 2).unwrap()));
        assert_eq!(row.get(7), &Cell::Number(1.5));
        assert_eq!(row.get(10), &Cell::Text("结果1".into()));
        assert_eq!(row.get(12), &Cell::Text("粗体 与普通".into()));
        assert_eq!(ours[0][0].get(0), &Cell::Text("2022年农户信息表".into()));
    }

    /// A workbook written by hand, with what other writers (WPS, .NET's Open XML SDK, the
    /// national system's exporter) put in that rust_xlsxwriter does not.
    fn handmade(parts: &[(&str, &str)]) -> Vec<u8> {
        use std::io::Write as _;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        for (path, body) in parts {
            zip.start_file(*path, options).unwrap();
            zip.write_all(body.as_bytes()).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;

    fn handmade_book(workbook_pr: &str, sheet: &str) -> Vec<u8> {
        let workbook = format!(
            r#"<x:workbook xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:rel="http://schemas.openxmlformats.org/officeDocument/2006/relationships">{workbook_pr}<x:sheets><x:sheet name="图表" sheetId="2" rel:id="rId9"/><x:sheet name="A &amp; B" sheetId="1" rel:id="rId1"/></x:sheets></x:workbook>"#
        );
        let wb_rels = r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/data.xml"/><Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/chartsheet" Target="chartsheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId4" Type="http://example.com/hyperlink" Target="http://example.com" TargetMode="External"/></Relationships>"#;
        let strings = r#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="3"><si><t>户编号</t></si><si><r><rPr><b/></rPr><t xml:space="preserve">证件</t></r><r><t>号码</t></r><rPh sb="0" eb="1"><t>ショウ</t></rPh></si><si><t/></si></sst>"#;
        let styles = r#"<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="180" formatCode="yyyy&quot;年&quot;m&quot;月&quot;"/></numFmts><cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs><cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="180" applyNumberFormat="1"/><xf numFmtId="49"/><xf numFmtId="58"/></cellXfs></styleSheet>"#;
        let chart = r#"<chartsheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetViews/></chartsheet>"#;
        handmade(&[
            ("_rels/.rels", RELS),
            ("xl/workbook.xml", &workbook),
            ("xl/_rels/workbook.xml.rels", wb_rels),
            ("xl/sharedStrings.xml", strings),
            ("xl/styles.xml", styles),
            ("xl/chartsheets/sheet1.xml", chart),
            ("xl/worksheets/data.xml", sheet),
        ])
    }

    #[test]
    fn reads_what_calamine_reads_from_other_writers() {
        let sheet = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:dimension ref="A1:F7"/>
<x:sheetData>
  <x:row r="1" spans="1:3"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1" t="s"><x:v>1</x:v></x:c><x:c r="C1" t="s"><x:v>2</x:v></x:c></x:row>
  <x:row><x:c t="inlineStr"><x:is><x:r><x:t>450221</x:t></x:r><x:r><x:rPr><x:b/></x:rPr><x:t>100201</x:t></x:r></x:is></x:c><x:c><x:v>3.25</x:v></x:c><x:c s="1"><x:v>44652</x:v></x:c><x:c s="3"><x:v>44652.5</x:v></x:c><x:c s="2"><x:v>1.5E3</x:v></x:c></x:row>
  <!-- a comment between rows -->
  <x:row r="4"><x:c r="A4" t="str"><x:f>B4&amp;"x"</x:f><x:v>公式 &lt;结果&gt;</x:v></x:c><x:c r="C4" t="b"><x:v>1</x:v></x:c><x:c r="D4" t="e"><x:v>#N/A</x:v></x:c><x:c r="E4" t="d"><x:v>2022-04-01T00:00:00</x:v></x:c><x:c r="F4" s="1"/></x:row>
  <x:row r="5"/>
  <x:row r="6"><x:c r="B6" t="inlineStr"><x:is><x:t>第一行_x000D__x000A_第二行 &#x4E2D;&#20013;</x:t></x:is></x:c><x:c r="C6" t="inlineStr"><x:is><x:t>  </x:t></x:is></x:c></x:row>
  <x:row r="7"><x:c r="A7" t="n"><x:v>-0</x:v></x:c><x:c r="B7" t="b"><x:v>0</x:v></x:c></x:row>
</x:sheetData><x:mergeCells count="0"/></x:worksheet>"#;
        for pr in ["", r#"<x:workbookPr date1904="1"/>"#] {
            let bytes = handmade_book(pr, sheet);
            let (ours, theirs) = (our_rows(&bytes), calamine_rows(&bytes));
            assert_eq!(ours, theirs, "{pr}");
            let rows = &ours[0];
            assert_eq!(rows.iter().map(|r| r.number).collect::<Vec<_>>(), [1, 2, 4, 6, 7]);
            assert_eq!(rows[0].get(1), &Cell::Text("证件号码".into()));
            assert_eq!(rows[1].get(0), &Cell::Text("450221100201".into()));
            let day = if pr.is_empty() { (2022, 4, 1) } else { (2026, 4, 2) };
            assert_eq!(rows[1].get(2), &Cell::Date(NaiveDate::from_ymd_opt(day.0, day.1, day.2).unwrap()));
            assert_eq!(rows[1].get(4), &Cell::Number(1500.0));
            assert_eq!(rows[2].get(0), &Cell::Text("公式 <结果>".into()));
            assert_eq!(rows[2].get(3), &Cell::Error("#N/A".into()));
            assert_eq!(rows[3].get(1), &Cell::Text("第一行\r\n第二行 中中".into()));
        }
        let mut wb = Workbook::open(std::io::Cursor::new(handmade_book("", sheet))).unwrap();
        assert!(wb.sheet(0).is_err(), "a chart sheet is not a worksheet");
        assert_eq!(wb.sheet(1).unwrap().last_row(), Some(7));
    }

    #[test]
    fn broken_sheets_are_errors_that_say_so() {
        let cut = handmade_book(
            "",
            r#"<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>2"#,
        );
        let mut wb = Workbook::open(std::io::Cursor::new(cut)).unwrap();
        let mut s = wb.sheet(1).unwrap();
        assert_eq!(s.next_row(9).unwrap().unwrap().cells, [Cell::Number(1.0)]);
        let e = s.next_row(9).unwrap_err().to_string();
        assert!(e.contains("无法打开Excel文件") && e.contains("不完整"), "{e}");
        for (cell, says) in [
            (
                r#"<c r="C3" t="s"><v>7</v></c>"#,
                "工作表“A & B”中有无法读取的内容：第3行C列引用的文字（编号“7”）在文件中不存在",
            ),
            (r#"<c r="AB3" t="b"><v>yes</v></c>"#, "第3行AB列的逻辑值“yes”无法读取"),
            (r#"<c r="A3" t="inlineStr"><is><t>a &nbsp; b</t></is></c>"#, "“&nbsp;”无法识别"),
            (r#"<c r="3A"><v>1</v></c>"#, "第3行第1个单元格的位置无法读取"),
        ] {
            let bytes =
                handmade_book("", &format!("<worksheet><sheetData><row r=\"3\">{cell}</row></sheetData></worksheet>"));
            let mut wb = Workbook::open(std::io::Cursor::new(bytes)).unwrap();
            let e = wb.sheet(1).unwrap().next_row(99).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
        let bytes = handmade_book("", r#"<worksheet><sheetData><row r="2000000"/></sheetData></worksheet>"#);
        let mut wb = Workbook::open(std::io::Cursor::new(bytes)).unwrap();
        let e = wb.sheet(1).unwrap().next_row(99).unwrap_err().to_string();
        assert!(e.contains("行号“2000000”无法读取"), "{e}");
    }

    #[test]
    fn a_changed_byte_is_caught_by_the_checksum() {
        use std::io::Write as _;
        let sheet = r#"<worksheet><sheetData><row r="1"><c r="A1"><v>1234</v></c></row><row r="2"><c r="A2"><v>5678</v></c></row></sheetData></worksheet>"#;
        let build = |sheet: &str| {
            let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
            let parts: [(&str, &str); 3] = [
                ("xl/workbook.xml", r#"<workbook><sheets><sheet name="S" r:id="rId1"/></sheets></workbook>"#),
                (
                    "xl/_rels/workbook.xml.rels",
                    r#"<Relationships><Relationship Id="rId1" Type="x/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
                ),
                ("xl/worksheets/sheet1.xml", sheet),
            ];
            for (path, body) in parts {
                zip.start_file(path, stored).unwrap();
                zip.write_all(body.as_bytes()).unwrap();
            }
            zip.finish().unwrap().into_inner()
        };
        let read = |bytes: Vec<u8>| -> Result<Vec<Row>, ReadError> {
            let mut wb = Workbook::open(std::io::Cursor::new(bytes))?;
            let mut s = wb.sheet(0)?;
            std::iter::from_fn(|| s.next_row(9).transpose()).collect()
        };
        assert_eq!(read(build(sheet)).unwrap().len(), 2);
        // the same file with one digit changed in place: only the checksum can tell
        let mut bytes = build(sheet);
        let at = bytes.windows(4).position(|w| w == b"5678").unwrap();
        bytes[at] = b'9';
        let e = read(bytes).unwrap_err().to_string();
        assert!(e.contains("文件已损坏"), "{e}");
    }

    /// A sheet's cells over a reader that hands out `step` bytes at a time.
    fn cells_slowly(xml: &str, step: usize, width: usize, meta: &Meta) -> Vec<Row> {
        struct Slow<'a>(&'a [u8], usize);
        impl Read for Slow<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut xml = Scanner::new(Slow(xml.as_bytes(), step));
        while !matches!(xml.next().unwrap(), Some(Tok::Open { name: b"sheetData", .. })) {}
        let mut cells = SheetCells {
            xml,
            meta,
            last_row: None,
            row: 0,
            done: false,
            text: String::new(),
            width_seen: 0,
            name: "S".into(),
            row_from_cells: false,
        };
        std::iter::from_fn(|| cells.next_row(width).unwrap()).collect()
    }

    #[test]
    fn cells_read_the_same_in_any_pieces() {
        let meta = Meta { strings: vec!["甲".into(), "".into()], date_styles: vec![true, false], is_1904: false };
        let xml = r#"<worksheet><sheetData>
<row><c r="A4" t="inlineStr"><is><t>张 三</t></is></c><c r="B4"><v>44652</v></c><c r="C4" s="0"><v>44652</v></c><c r="D4" t="s"><v></v></c><c r="E4" t="s"><v>0</v></c></row>
<row><c t="b"><v>TRUE</v></c><c><v>王五</v></c><c t="inlineStr"><is><r><t>张 </t></r><r><t xml:space="preserve"> 三 </t></r><r><t>丰</t></r></is></c><c t="str"><v>行一&#13;&#10;行二</v></c><c t="inlineStr"><is><t>a
b</t></is></c></row>
<row r="9"><c r="A9"><f>1+1</f><v>2</v></c><c r="B9" t="inlineStr"><is><t>x</t></is><extLst/></c><c r="Z9"><v>1</v></c></row>
</sheetData></worksheet>"#
            .replace("a\nb", "a\r\nb");
        let date = NaiveDate::from_ymd_opt(2022, 4, 1).unwrap();
        let expected = vec![
            Row {
                number: 4,
                cells: vec![
                    Cell::Text("张 三".into()),
                    Cell::Number(44652.0),
                    Cell::Date(date),
                    Cell::Empty,
                    Cell::Text("甲".into()),
                ],
            },
            Row {
                number: 5,
                cells: vec![
                    Cell::Bool(true),
                    Cell::Text("王五".into()),
                    Cell::Text("张 三 丰".into()),
                    Cell::Text("行一\r\n行二".into()),
                    Cell::Text("a\nb".into()),
                ],
            },
            Row { number: 9, cells: vec![Cell::Number(2.0), Cell::Text("x".into())] },
        ];
        for step in [1, 2, 3, 7, 64, xml.len()] {
            assert_eq!(cells_slowly(&xml, step, 5, &meta), expected, "{step} bytes at a time");
        }
        // cells at or beyond the width are dropped
        assert_eq!(cells_slowly(&xml, 5, 2, &meta)[1].cells, expected[1].cells[..2]);
        // a workbook saved by Excel 2013+ on a Mac: the 1904 system, and an extension element
        // (`x15:workbookPr`) that says nothing about it
        let pr = r#"<x:workbookPr date1904="1"/><x:extLst><x:ext><x15:workbookPr xmlns:x15="x" chartTrackingRefBase="1"/></x:ext></x:extLst>"#;
        let bytes = handmade_book(
            pr,
            r#"<worksheet><sheetData><row r="1"><c r="A1" s="1"><v>43190</v></c></row></sheetData></worksheet>"#,
        );
        let mut wb = Workbook::open(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(wb.sheet(1).unwrap().next_row(9).unwrap().unwrap().cells, [Cell::Date(date)]);
    }
}
