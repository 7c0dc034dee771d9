//! Writing the layout: the export (one row per member, household columns repeated), the import
//! template with its 说明 sheet, and the issue report.
//!
//! CSV is UTF-8 with a BOM so that Excel opens it as UTF-8. In xlsx, ID, 户编号 and phone cells
//! are text with the "@" format (a number cell would lose digits), money cells are numbers with
//! "0.00", dates are date cells; the export sheet uses constant-memory mode so that a large
//! export keeps memory flat.

use std::collections::HashMap;
use std::io::Write;

use chrono::{Datelike, NaiveDate};
use domain::codes::{CodeEnum, HouseholdKind, Relation};
use domain::household::{Monitoring, PersonName};
use domain::ports::{HouseholdDetail, HouseholdRecord, MemberRecord};
use domain::{
    Fen, Household, HouseholdId, HouseholdNo, IncomeRecord, Member, MemberId, NationalId, Region, RegionCode,
};
use rust_xlsxwriter::{ExcelDateTime, Format, FormatBorder, Workbook, Worksheet, XlsxError};

use crate::layout::{COLUMNS, Col, Kind, Level};
use crate::parse::Issue;
use crate::read::{FileFormat, push_number};

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("写入文件失败：{0}")]
    Io(#[from] std::io::Error),
    #[error("生成Excel文件失败：{0}")]
    Xlsx(String),
    #[error("生成CSV文件失败：{0}")]
    Csv(String),
}

impl From<XlsxError> for WriteError {
    fn from(e: XlsxError) -> Self {
        match e {
            XlsxError::IoError(e) => WriteError::Io(e),
            e => WriteError::Xlsx(e.to_string()),
        }
    }
}

impl From<csv::Error> for WriteError {
    fn from(e: csv::Error) -> Self {
        match e.into_kind() {
            csv::ErrorKind::Io(io) => WriteError::Io(io),
            // only I/O can fail when writing strings to CSV; keep the detail for the log
            k => WriteError::Csv(format!("{k:?}")),
        }
    }
}

/// One output cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Empty,
    Text(String),
    Number(f64),
    Money(Fen),
    Date(NaiveDate),
}

impl Out {
    fn text(s: impl Into<String>) -> Out {
        let s = s.into();
        if s.is_empty() { Out::Empty } else { Out::Text(s) }
    }

    fn label<T: CodeEnum>(v: Option<T>) -> Out {
        v.map(|v| Out::text(v.label())).unwrap_or(Out::Empty)
    }

    fn yes_no(v: Option<bool>) -> Out {
        v.map(|b| Out::text(domain::text::yes_no(b))).unwrap_or(Out::Empty)
    }

    fn pass_fail(v: Option<bool>) -> Out {
        v.map(|b| Out::text(domain::text::pass_fail(b))).unwrap_or(Out::Empty)
    }

    fn int(v: Option<i64>) -> Out {
        v.map(|v| Out::Number(v as f64)).unwrap_or(Out::Empty)
    }

    fn date(v: Option<NaiveDate>) -> Out {
        v.map(Out::Date).unwrap_or(Out::Empty)
    }

    /// Appends the cell as CSV text to `out` (a buffer reused for every cell of a file).
    fn push_csv(&self, out: &mut String) {
        use std::fmt::Write as _;
        match self {
            Out::Empty => {}
            Out::Text(s) => push_csv_safe(out, s),
            Out::Number(v) => push_number(out, *v),
            Out::Money(f) => {
                let _ = f.write_yuan(out);
            }
            Out::Date(d) => {
                let _ = write!(out, "{d}");
            }
        }
    }
}

static EMPTY_OUT: Out = Out::Empty;

/// Text that Excel would run as a formula when it opens a CSV (=, +, -, @ first; DDE and
/// HYPERLINK attacks through an address or a note) gets a leading apostrophe, which Excel shows
/// as text and the import removes again ([`crate::read::Cell::text_cell`]).
pub fn csv_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    push_csv_safe(&mut out, s);
    out
}

fn push_csv_safe(out: &mut String, s: &str) {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        out.push('\'');
    }
    out.push_str(s);
}

/// Region names by code, to write 县, 乡镇 and 村 from a village code.
#[derive(Debug, Clone, Default)]
pub struct RegionNames(HashMap<RegionCode, String>);

impl RegionNames {
    pub fn new(regions: &[Region]) -> Self {
        RegionNames(regions.iter().map(|r| (r.code, r.name.clone())).collect())
    }

    pub fn name(&self, code: RegionCode) -> &str {
        self.0.get(&code).map(String::as_str).unwrap_or("")
    }

    /// (县, 乡镇, 村) names of a village.
    pub fn place(&self, village: RegionCode) -> (String, String, String) {
        let town = village.parent();
        let county = town.and_then(RegionCode::parent);
        let name = |c: Option<RegionCode>| c.map(|c| self.name(c).to_string()).unwrap_or_default();
        (name(county), name(town), self.name(village).to_string())
    }
}

/// The layout rows of one household: one per member in order, or a single row with empty
/// member columns for a household without members (so that it is not silently left out).
pub fn household_rows(detail: &HouseholdDetail, names: &RegionNames) -> Vec<Vec<Out>> {
    let mut rows = Vec::new();
    let _ = each_household_row(detail, names, |row| -> Result<(), ()> {
        rows.push(row.iter().map(|c| (*c).clone()).collect());
        Ok(())
    });
    rows
}

/// Hands each layout row of a household to `f` as cells borrowed from one set of household
/// cells: the export writes them without copying the household's cells into every member's row.
fn each_household_row<E>(
    detail: &HouseholdDetail,
    names: &RegionNames,
    mut f: impl FnMut(&[&Out]) -> Result<(), E>,
) -> Result<usize, E> {
    let h = &detail.record.household;
    let household = household_cells(h, detail.latest_income(), names);
    let mut base: Vec<&Out> = vec![&EMPTY_OUT; COLUMNS.len()];
    for (c, v) in &household {
        base[*c as usize] = v;
    }
    if detail.members.is_empty() {
        f(&base)?;
        return Ok(1);
    }
    let mut members: Vec<&MemberRecord> = detail.members.iter().collect();
    members.sort_by_key(|m| m.seq);
    for m in &members {
        let cells = member_cells(&m.member);
        let mut row = base.clone();
        for (c, v) in &cells {
            row[*c as usize] = v;
        }
        f(&row)?;
    }
    Ok(members.len())
}

fn household_cells(h: &Household, income: Option<&IncomeRecord>, names: &RegionNames) -> Vec<(Col, Out)> {
    let (county, town, village) = names.place(h.village);
    let (category, since, eliminated, mode, on) = match h.monitoring {
        Monitoring::Never => (None, None, None, None, None),
        Monitoring::Monitored { category, since } => (Some(category), Some(since), Some(false), None, None),
        Monitoring::Eliminated { category, since, mode, on } => {
            (Some(category), Some(since), Some(true), Some(mode), Some(on))
        }
    };
    let mut cells = vec![
        (Col::County, Out::text(county)),
        (Col::Town, Out::text(town)),
        (Col::Village, Out::text(village)),
        (Col::Group, Out::int((h.group_no != 0).then_some(i64::from(h.group_no)))),
        (Col::HouseholdNo, Out::text(h.household_no.as_str())),
        (Col::Kind, Out::text(h.kind.label())),
        (Col::ExitYear, Out::int(h.exit_year.map(i64::from))),
        (Col::Category, Out::label(category)),
        (Col::MonitoredSince, Out::date(since)),
        (Col::Eliminated, Out::yes_no(eliminated)),
        (Col::EliminationMode, Out::label(mode)),
        (Col::EliminatedOn, Out::date(on)),
        (Col::DisasterKind, Out::label(h.disaster_kind)),
        (Col::Phone, Out::text(h.phone.as_ref().map(|p| p.as_str()).unwrap_or(""))),
        (Col::Address, Out::text(h.address.as_str())),
        (Col::DeclaredSize, Out::int(h.declared_size.map(i64::from))),
        (Col::HousingGrade, Out::label(h.housing_grade)),
        (Col::WaterSafe, Out::yes_no(h.water.safe)),
        (Col::WaterQuantity, Out::pass_fail(h.water.quantity_ok)),
        (Col::WaterQuality, Out::pass_fail(h.water.quality_ok)),
        (Col::WaterConvenience, Out::pass_fail(h.water.convenience_ok)),
        (Col::WaterReliability, Out::pass_fail(h.water.reliability_ok)),
        (Col::FoodClothingSecure, Out::yes_no(h.food_clothing_secure)),
        (Col::FoodClothingNote, Out::text(h.food_clothing_note.as_str())),
        (Col::MilitaryFamily, Out::yes_no(Some(h.military_family))),
        (Col::NoLabourSafetyNet, Out::yes_no(Some(h.no_labour_safety_net))),
        (Col::Relocated, Out::yes_no(Some(h.relocated))),
    ];
    for (i, c) in crate::layout::RISK_COLS.iter().enumerate() {
        cells.push((*c, Out::label(h.risks.get(i).copied())));
    }
    if let Some(o) = &h.officer {
        cells.push((Col::OfficerName, Out::text(o.name.as_str())));
        cells.push((Col::OfficerUnit, Out::text(o.unit.as_str())));
        cells.push((Col::OfficerPhone, Out::text(o.phone.as_ref().map(|p| p.as_str()).unwrap_or(""))));
    }
    if let Some(r) = income {
        cells.push((Col::IncomeYear, Out::int(Some(i64::from(r.year)))));
        for (c, v) in crate::layout::MONEY_COLS.iter().zip(r.amounts()) {
            cells.push((*c, Out::Money(v)));
        }
    }
    cells
}

fn member_cells(m: &Member) -> Vec<(Col, Out)> {
    vec![
        (Col::Name, Out::text(m.name.as_str())),
        (Col::NationalId, Out::text(m.national_id.as_str())),
        (Col::Relation, Out::text(m.relation.label())),
        (Col::Sex, Out::text(m.sex.label())),
        (Col::Ethnicity, Out::text(m.ethnicity.as_str())),
        (Col::PoliticalStatus, Out::label(m.political_status)),
        (Col::Education, Out::label(m.education)),
        (Col::SchoolStatus, Out::label(m.school_status)),
        (Col::Health, Out::text(m.health.to_string())),
        (Col::DisabilityClass, Out::label(m.disability_class)),
        (Col::LabourSkill, Out::text(m.labour_skill.label())),
        (Col::WorkMonths, Out::int(m.work_months.map(i64::from))),
        (Col::WorkPlace, Out::text(m.work_place.as_str())),
        (Col::ResidentMedical, Out::yes_no(Some(m.resident_medical))),
        (Col::EmployeeMedical, Out::yes_no(Some(m.employee_medical))),
        (Col::ResidentPension, Out::yes_no(m.resident_pension)),
        (Col::EmployeePension, Out::yes_no(m.employee_pension)),
        (Col::Dibao, Out::yes_no(Some(m.dibao))),
        (Col::Tekun, Out::yes_no(Some(m.tekun))),
        (Col::DropoutReason, Out::text(m.dropout_reason.as_str())),
    ]
}

// ---------------------------------------------------------------------------------------------
// sinks

/// Column widths and text formats of a sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColStyle {
    Text,
    Plain,
}

struct Formats {
    header: Format,
    text: Format,
    money: Format,
    date: Format,
}

impl Formats {
    fn new() -> Self {
        Formats {
            header: Format::new().set_bold().set_border(FormatBorder::Thin).set_text_wrap(),
            text: Format::new().set_num_format("@"),
            money: Format::new().set_num_format("0.00"),
            date: Format::new().set_num_format("yyyy-mm-dd"),
        }
    }
}

/// A table being written as CSV or as the first sheet of an xlsx workbook.
enum Sink<W: Write + Send> {
    /// The writer and a buffer each cell is formatted into.
    Csv(Box<csv::Writer<W>>, String),
    Xlsx {
        workbook: Box<Workbook>,
        sheet: Box<Worksheet>,
        styles: Vec<ColStyle>,
        formats: Box<Formats>,
        row: u32,
        out: W,
    },
}

impl<W: Write + Send> Sink<W> {
    /// Starts a table with its header row. `styles[i]` says whether column i is text.
    fn new(
        format: FileFormat,
        mut out: W,
        sheet_name: &str,
        headers: &[&str],
        styles: Vec<ColStyle>,
        widths: &[f64],
    ) -> Result<Self, WriteError> {
        match format {
            FileFormat::Csv => {
                out.write_all("\u{feff}".as_bytes())?;
                let mut w = csv::Writer::from_writer(out);
                w.write_record(headers)?;
                Ok(Sink::Csv(Box::new(w), String::new()))
            }
            FileFormat::Xlsx => {
                let mut workbook = Box::new(Workbook::new());
                let mut sheet = Box::new(workbook.new_worksheet_with_constant_memory()?);
                let formats = Box::new(Formats::new());
                sheet.set_name(sheet_name)?;
                for (i, (style, width)) in styles.iter().zip(widths).enumerate() {
                    let c = i as u16;
                    sheet.set_column_width(c, *width)?;
                    if *style == ColStyle::Text {
                        sheet.set_column_format(c, &formats.text)?;
                    }
                }
                for (i, h) in headers.iter().enumerate() {
                    sheet.write_string_with_format(0, i as u16, *h, &formats.header)?;
                }
                sheet.set_freeze_panes(1, 0)?;
                Ok(Sink::Xlsx { workbook, sheet, styles, formats, row: 1, out })
            }
        }
    }

    fn write_row<'c>(&mut self, cells: impl IntoIterator<Item = &'c Out>) -> Result<(), WriteError> {
        match self {
            Sink::Csv(w, buf) => {
                for cell in cells {
                    buf.clear();
                    cell.push_csv(buf);
                    w.write_field(buf.as_bytes())?;
                }
                // ends the record (the fields are already written)
                w.write_record(std::iter::empty::<&[u8]>())?;
            }
            Sink::Xlsx { sheet, styles, formats, row, .. } => {
                for (i, cell) in cells.into_iter().enumerate() {
                    let c = i as u16;
                    match cell {
                        Out::Empty => {}
                        Out::Text(s) if styles.get(i) == Some(&ColStyle::Text) => {
                            sheet.write_string_with_format(*row, c, s, &formats.text)?;
                        }
                        Out::Text(s) => {
                            sheet.write_string(*row, c, s)?;
                        }
                        Out::Number(v) => {
                            sheet.write_number(*row, c, *v)?;
                        }
                        Out::Money(f) => {
                            sheet.write_number_with_format(*row, c, f.to_yuan_f64(), &formats.money)?;
                        }
                        Out::Date(d) => {
                            let dt = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?;
                            sheet.write_datetime_with_format(*row, c, &dt, &formats.date)?;
                        }
                    }
                }
                *row += 1;
            }
        }
        Ok(())
    }

    /// Adds a plain second sheet (xlsx only; CSV has one table).
    fn add_sheet(
        &mut self,
        name: &str,
        headers: &[&str],
        rows: &[Vec<String>],
        widths: &[f64],
    ) -> Result<(), WriteError> {
        let Sink::Xlsx { workbook, formats, .. } = self else { return Ok(()) };
        let mut sheet = Worksheet::new();
        sheet.set_name(name)?;
        for (i, w) in widths.iter().enumerate() {
            sheet.set_column_width(i as u16, *w)?;
        }
        let wrap = Format::new().set_text_wrap();
        for (i, h) in headers.iter().enumerate() {
            sheet.write_string_with_format(0, i as u16, *h, &formats.header)?;
        }
        for (r, cells) in rows.iter().enumerate() {
            for (i, v) in cells.iter().enumerate() {
                sheet.write_string_with_format(r as u32 + 1, i as u16, v, &wrap)?;
            }
        }
        workbook.push_worksheet(sheet);
        Ok(())
    }

    fn finish(self) -> Result<W, WriteError> {
        match self {
            Sink::Csv(w, _) => {
                let mut out = (*w)
                    .into_inner()
                    .map_err(|e| WriteError::Io(std::io::Error::new(e.error().kind(), e.error().to_string())))?;
                out.flush()?;
                Ok(out)
            }
            Sink::Xlsx { mut workbook, sheet, mut out, .. } => {
                // the data sheet goes first
                let extra: Vec<Worksheet> = std::mem::take(workbook.worksheets_mut());
                workbook.push_worksheet(*sheet);
                for s in extra {
                    workbook.push_worksheet(s);
                }
                workbook.save_to_writer(&mut out)?;
                out.flush()?;
                Ok(out)
            }
        }
    }
}

fn layout_styles() -> (Vec<&'static str>, Vec<ColStyle>, Vec<f64>) {
    let headers = COLUMNS.iter().map(|c| c.header).collect();
    let styles = COLUMNS
        .iter()
        .map(|c| {
            if matches!(c.kind, Kind::Id | Kind::HouseholdNo | Kind::Phone) { ColStyle::Text } else { ColStyle::Plain }
        })
        .collect();
    let widths = COLUMNS
        .iter()
        .map(|c| match c.kind {
            Kind::Id => 22.0,
            Kind::HouseholdNo | Kind::Phone => 18.0,
            Kind::Date => 12.0,
            _ => (c.header.chars().count() as f64 * 2.2).clamp(8.0, 30.0),
        })
        .collect();
    (headers, styles, widths)
}

/// Writes households in the layout, one row per member.
pub struct ExportWriter<W: Write + Send> {
    sink: Sink<W>,
    names: RegionNames,
    rows: usize,
}

impl<W: Write + Send> ExportWriter<W> {
    /// Starts the file and writes the header row. `regions` gives the 县/乡镇/村 names.
    pub fn new(format: FileFormat, out: W, regions: &[Region]) -> Result<Self, WriteError> {
        let (headers, styles, widths) = layout_styles();
        let sink = Sink::new(format, out, "农户成员", &headers, styles, &widths)?;
        Ok(ExportWriter { sink, names: RegionNames::new(regions), rows: 0 })
    }

    /// Writes a household's rows; returns how many were written.
    pub fn write_household(&mut self, detail: &HouseholdDetail) -> Result<usize, WriteError> {
        let sink = &mut self.sink;
        let rows = each_household_row(detail, &self.names, |row| sink.write_row(row.iter().copied()))?;
        self.rows += rows;
        Ok(rows)
    }

    /// Data rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Completes the file and hands the writer back.
    pub fn finish(self) -> Result<W, WriteError> {
        self.sink.finish()
    }
}

// ---------------------------------------------------------------------------------------------
// template

/// 户编号 of the template's example rows; the import refuses rows that still carry it.
pub const EXAMPLE_HOUSEHOLD_NO: &str = "EXAMPLE-0001";

/// The example household of the template: two members with valid IDs in the first village of
/// `regions` (雒容镇 大正村 when the list has no village).
pub fn example_household(regions: &[Region]) -> (HouseholdDetail, Vec<Region>) {
    let mut regions: Vec<Region> = regions.to_vec();
    let village = match regions.iter().find(|r| r.level() == domain::RegionLevel::Village) {
        Some(v) => v.code,
        None => {
            regions = domain::region::luorong_regions();
            regions[4].code
        }
    };
    // a number no real household has: importing the untouched template must not overwrite one
    let mut h = Household::new(
        HouseholdNo::parse(EXAMPLE_HOUSEHOLD_NO).expect("valid example number"),
        village,
        HouseholdKind::Ordinary,
    );
    h.group_no = 3;
    h.address = "3组12号".into();
    h.phone = domain::Phone::parse("13800001234").ok();
    h.declared_size = Some(2);
    h.water.safe = Some(true);
    h.food_clothing_secure = Some(true);
    let address6 = (village.as_u64() / 1_000_000) as u32;
    let member = |name: &str, birth: (i32, u32, u32), seq: u16, relation: Relation| {
        let birth = NaiveDate::from_ymd_opt(birth.0, birth.1, birth.2).unwrap_or_default();
        let id = domain::national_id::make_id(address6, birth, seq);
        Member::new(PersonName::parse(name).expect("valid name"), NationalId::parse(&id).expect("valid id"), relation)
    };
    let mut head = member("韦志强", (1968, 5, 12), 11, Relation::Head);
    head.ethnicity = domain::Ethnicity::parse("壮族").expect("listed");
    head.resident_pension = Some(true);
    let mut spouse = member("覃秀兰", (1970, 8, 20), 22, Relation::Spouse);
    spouse.education = Some(domain::Education::Primary);
    spouse.resident_pension = Some(true);
    let income = IncomeRecord {
        year: 0,
        wage: Fen::from_yuan(24_000),
        business: Fen::from_yuan(6_000),
        property: Fen::ZERO,
        transfer: Fen(120_050),
        business_cost: Fen::from_yuan(2_000),
        out_of_pocket: Fen::ZERO,
        insurance_payout: Fen::ZERO,
    };
    let detail = HouseholdDetail {
        record: HouseholdRecord {
            id: HouseholdId(0),
            version: 0,
            household: h,
            import_id: None,
            created_at: Default::default(),
            updated_at: Default::default(),
        },
        members: [head, spouse]
            .into_iter()
            .enumerate()
            .map(|(i, member)| MemberRecord { id: MemberId(i as i64), seq: i as i32 + 1, member })
            .collect(),
        incomes: vec![income],
    };
    (detail, regions)
}

/// Writes the import template: the header row and one example household; in xlsx a second
/// sheet 说明 lists every column, whether it is required and what it accepts.
pub fn write_template<W: Write + Send>(format: FileFormat, out: W, regions: &[Region]) -> Result<W, WriteError> {
    let (headers, styles, widths) = layout_styles();
    let mut sink = Sink::new(format, out, "农户成员", &headers, styles, &widths)?;
    let (example, regions) = example_household(regions);
    for mut row in household_rows(&example, &RegionNames::new(&regions)) {
        // the income year is chosen on import
        row[Col::IncomeYear as usize] = Out::Empty;
        sink.write_row(&row)?;
    }
    let notes: Vec<Vec<String>> = COLUMNS
        .iter()
        .map(|c| {
            vec![
                c.header.to_string(),
                if c.required { "必填" } else { "选填" }.to_string(),
                match c.level {
                    Level::Household => "户（同户各行相同）",
                    Level::Member => "成员",
                }
                .to_string(),
                c.col.hint(),
                c.aliases.join("、"),
            ]
        })
        .collect();
    sink.add_sheet(
        "说明",
        &["列名", "是否必填", "填写对象", "可填写的内容", "也可接受的列名"],
        &notes,
        &[26.0, 10.0, 18.0, 70.0, 40.0],
    )?;
    sink.finish()
}

// ---------------------------------------------------------------------------------------------
// issue report

/// Writes import issues: 行号, 列, 值, 级别, 说明.
pub fn write_issues<W: Write + Send>(format: FileFormat, out: W, issues: &[Issue]) -> Result<W, WriteError> {
    let headers = ["行号", "列", "值", "级别", "说明"];
    let styles = vec![ColStyle::Plain, ColStyle::Plain, ColStyle::Text, ColStyle::Plain, ColStyle::Plain];
    let mut sink = Sink::new(format, out, "导入问题", &headers, styles, &[10.0, 22.0, 24.0, 8.0, 90.0])?;
    for i in issues {
        let row = if i.row == 0 { Out::text("全文件") } else { Out::Number(i.row as f64) };
        sink.write_row(&[
            row,
            Out::text(i.column.as_str()),
            Out::text(i.value.as_str()),
            Out::text(i.tier.label()),
            Out::text(i.message.as_str()),
        ])?;
    }
    sink.finish()
}

// ---------------------------------------------------------------------------------------------
// plain tables (a department's task list, reports)

/// Writes one sheet of text columns (IDs and dates stay text: Excel changes nothing).
/// One sheet of [`write_sheets`]: its name, headers, column widths and text rows.
pub struct SheetTable<'a> {
    pub name: &'a str,
    pub headers: Vec<&'a str>,
    pub widths: Vec<f64>,
    pub rows: Vec<Vec<String>>,
}

/// A sheet name Excel accepts: without `[]:*?/\` and at most 31 characters.
pub fn sheet_name(name: &str) -> String {
    name.chars().map(|c| if "[]:*?/\\".contains(c) { '、' } else { c }).take(31).collect()
}

/// A workbook of plain text tables, one sheet each (xlsx). An empty list writes one empty sheet.
/// Sheet names are made acceptable to Excel ([`sheet_name`]).
pub fn write_sheets<W: Write + Send>(out: W, sheets: &[SheetTable<'_>]) -> Result<W, WriteError> {
    let Some(first) = sheets.first() else {
        return write_table(FileFormat::Xlsx, out, "Sheet1", &[], &[], &[]);
    };
    let styles = vec![ColStyle::Text; first.headers.len()];
    let mut sink = Sink::new(FileFormat::Xlsx, out, &sheet_name(first.name), &first.headers, styles, &first.widths)?;
    for r in &first.rows {
        let cells: Vec<Out> = r.iter().map(|c| Out::text(c.as_str())).collect();
        sink.write_row(&cells)?;
    }
    for s in &sheets[1..] {
        sink.add_sheet(&sheet_name(s.name), &s.headers, &s.rows, &s.widths)?;
    }
    sink.finish()
}

pub fn write_table<W: Write + Send>(
    format: FileFormat,
    out: W,
    sheet: &str,
    headers: &[&str],
    widths: &[f64],
    rows: &[Vec<String>],
) -> Result<W, WriteError> {
    let styles = vec![ColStyle::Text; headers.len()];
    let mut sink = Sink::new(format, out, sheet, headers, styles, widths)?;
    for r in rows {
        let cells: Vec<Out> = r.iter().map(|c| Out::text(c.as_str())).collect();
        sink.write_row(&cells)?;
    }
    sink.finish()
}

#[cfg(test)]
mod sheet_tests {
    use super::*;

    #[test]
    fn sheets_with_names_excel_refuses() {
        assert_eq!(sheet_name("住房为C/D级[危房]"), "住房为C、D级、危房、");
        let t = |name| SheetTable { name, headers: vec!["a"], widths: vec![10.0], rows: vec![vec!["1".into()]] };
        let bytes = write_sheets(Vec::new(), &[t("一/二"), t("三")]).unwrap();
        assert!(bytes.starts_with(b"PK"));
    }
}
