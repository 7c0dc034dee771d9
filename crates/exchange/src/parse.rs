//! From rows to households: grouping by 户编号, reading every field with the domain's parsers
//! (so a value means the same here as in the edit forms), and two tiers of problems.
//!
//! * **Error** — the file cannot be understood (a missing required value, an unknown village, a
//!   malformed ID …). Any error means nothing is written.
//! * **Warning** — understood but inconsistent (a wrong check character, two heads …). The data
//!   is imported as it is: the registry must hold what the national system holds, and the
//!   inconsistency becomes a finding to fix at the source.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::NaiveDate;
use domain::codes::{
    DisabilityClass, DisasterKind, Education, EliminationMode, Ethnicity, Health, HouseholdKind, HousingGrade,
    LabourSkill, MonitoringCategory, PoliticalStatus, Relation, SchoolStatus, Sex,
};
use domain::fields;
use domain::household::{HouseholdNoError, OfficerContact};
use domain::member::MemberRule;
use domain::national_id::IdError;
use domain::ports::IncomingHousehold;
use domain::region::parse_group_no;
use domain::{Fen, Household, HouseholdNo, IncomeRecord, Member, NationalId, PersonName, Region, RegionCode, Scope};

use crate::layout::{COLUMNS, Col, ColumnMap, Kind, Level, MONEY_COLS, RISK_COLS};
use crate::read::{Cell, EMPTY, Row, RowSource, number_text};

/// How often the progress callback is called, in rows.
pub const PROGRESS_EVERY: usize = 1000;

/// At most this many issues are kept (the counts stay exact): a file that is wrong on every row
/// says so in the first few thousand.
pub const MAX_ISSUES: usize = 50_000;

/// 2^53: integers below it survive a spreadsheet's floating-point cell.
const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0;

/// How serious a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// The file cannot be understood; nothing is written.
    Error,
    /// Understood but inconsistent; imported as it is.
    Warning,
}

impl Tier {
    pub fn label(self) -> &'static str {
        match self {
            Tier::Error => "错误",
            Tier::Warning => "警告",
        }
    }
}

/// One problem found in a file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Issue {
    /// Spreadsheet row number; 0 = the whole file.
    pub row: usize,
    /// The column's header as the layout names it ("" when the issue is about no one column).
    pub column: String,
    /// The cell's value as read.
    pub value: String,
    pub tier: Tier,
    /// What is wrong and what to do, in Chinese.
    pub message: String,
}

/// Where a household came from in the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// The household's first row (its columns are read from there).
    pub first_row: usize,
    /// The row of each member, parallel to `IncomingHousehold::members`.
    pub member_rows: Vec<usize>,
}

/// What a file delivers.
#[derive(Debug, Clone, Default)]
pub struct ParsedImport {
    /// The households read without error, in first-appearance order.
    pub households: Vec<IncomingHousehold>,
    /// Parallel to `households`.
    pub origins: Vec<Origin>,
    /// Issues in row order (whole-file issues first); at most [`MAX_ISSUES`].
    pub issues: Vec<Issue>,
    /// Data rows (blank rows not counted).
    pub rows: usize,
    /// Distinct 户编号 in the file, with or without errors.
    pub household_count: usize,
    /// Member rows read without error.
    pub member_count: usize,
    pub errors: usize,
    pub warnings: usize,
}

impl ParsedImport {
    pub fn has_errors(&self) -> bool {
        self.errors > 0
    }
}

/// Collects issues, keeping exact counts past the cap.
#[derive(Debug, Default)]
pub(crate) struct Issues {
    pub list: Vec<Issue>,
    pub errors: usize,
    pub warnings: usize,
}

impl Issues {
    pub fn push(&mut self, row: usize, column: &str, value: &str, tier: Tier, message: impl Into<String>) {
        match tier {
            Tier::Error => self.errors += 1,
            Tier::Warning => self.warnings += 1,
        }
        if self.list.len() < MAX_ISSUES {
            self.list.push(Issue {
                row,
                column: column.to_string(),
                value: value.to_string(),
                tier,
                message: message.into(),
            });
        }
    }

    /// Sorted by row (stable, so a row's issues keep their column order), without a note of
    /// truncation (see [`note_truncation`]).
    fn sorted(mut self) -> (Vec<Issue>, usize, usize) {
        self.list.sort_by_key(|i| i.row);
        (self.list, self.errors, self.warnings)
    }
}

/// Puts a note first when `list` (sorted by row, at most [`MAX_ISSUES`]) holds fewer issues
/// than were found.
pub(crate) fn note_truncation(list: &mut Vec<Issue>, errors: usize, warnings: usize) {
    let total = errors + warnings;
    if total > list.len() {
        let message = format!(
            "问题过多，共{total}条（错误{errors}条、警告{warnings}条），仅列出前{}条：请先改正已列出的问题后重新导入",
            list.len()
        );
        list.insert(0, Issue { row: 0, column: String::new(), value: String::new(), tier: Tier::Warning, message });
    }
}

/// Reads every row of `table` into households. Regions are the whole tree (names are looked up
/// by (县, 乡镇, 村)); `scope` limits which villages may be imported; `income_year` is the year of
/// the income columns unless the file has a 收入年度 column. `progress(rows read, total rows
/// or 0 when unknown)` is called every [`PROGRESS_EVERY`] rows.
pub fn parse_households(
    table: &mut dyn RowSource,
    regions: &[Region],
    scope: &Scope,
    income_year: i32,
    progress: &mut dyn FnMut(usize, usize),
) -> ParsedImport {
    let (mut households, mut origins) = (Vec::new(), Vec::new());
    let mut keep = |h: Vec<IncomingHousehold>, o: Vec<Origin>, _errors: usize| {
        households.extend(h);
        origins.extend(o);
        true
    };
    match stream_households(table, regions, scope, income_year, false, usize::MAX, progress, &|| false, &mut keep) {
        Streamed::Read(mut parsed) => {
            note_truncation(&mut parsed.issues, parsed.errors, parsed.warnings);
            ParsedImport { households, origins, ..parsed }
        }
        // not with `together` false, nor with a sink that keeps everything
        Streamed::Scattered(_) | Streamed::Stopped => unreachable!("a whole-file read neither stops nor restarts"),
    }
}

/// How [`stream_households`] ended.
#[derive(Debug)]
pub enum Streamed {
    /// The file was read to its end: everything but the households, which went to the sink.
    Read(ParsedImport),
    /// With `together`: a household's rows were not together (this row belongs to a household
    /// finished earlier). What was handed over is incomplete: read the file again with
    /// `together` false.
    Scattered(usize),
    /// The sink refused a part.
    Stopped,
}

/// Reads every row of `table` like [`parse_households`], handing the households read without
/// error to `sink(households, their origins, errors so far)` in parts of about `part`
/// households, so that a large file is never held whole.
///
/// With `together` a household is finished, checked and handed over as soon as a row of another
/// household follows it: files exported by the national system (and by fangpin) keep each
/// household's rows together. A file that does not ends in [`Streamed::Scattered`]. Without it,
/// nothing is handed over before the end of the file. `stop()` is asked every
/// [`PROGRESS_EVERY`] rows whether to give up ([`Streamed::Stopped`]).
///
/// The issues of [`Streamed::Read`] are sorted by row, at most [`MAX_ISSUES`], without a note of
/// how many more there were (the caller adds its own and then [`note_truncation`]s).
#[allow(clippy::too_many_arguments)]
pub fn stream_households(
    table: &mut dyn RowSource,
    regions: &[Region],
    scope: &Scope,
    income_year: i32,
    together: bool,
    part: usize,
    progress: &mut dyn FnMut(usize, usize),
    stop: &dyn Fn() -> bool,
    sink: &mut dyn FnMut(Vec<IncomingHousehold>, Vec<Origin>, usize) -> bool,
) -> Streamed {
    let map = ColumnMap::from_headers(table.headers());
    let total = table.rows_hint().unwrap_or(0);
    let mut p = Parser::new(map, VillageIndex::new(regions), scope, income_year, together);
    p.check_columns(table.header_row());
    let understood = p.issues.errors == 0;
    let part = part.max(1);
    while let Some(row) = table.next_row() {
        if row.is_blank() {
            continue;
        }
        p.rows += 1;
        // Without a required column every row would repeat the same error: count rows only.
        if understood {
            p.row(&row);
            if let Some(at) = p.scattered {
                return Streamed::Scattered(at);
            }
            if p.ready.len() >= part && !p.hand_over(part, sink) {
                return Streamed::Stopped;
            }
        }
        if p.rows.is_multiple_of(PROGRESS_EVERY) {
            if stop() {
                return Streamed::Stopped;
            }
            progress(p.rows, total);
        }
    }
    progress(p.rows, total.max(p.rows));
    p.close_open();
    while !p.ready.is_empty() {
        if !p.hand_over(part, sink) {
            return Streamed::Stopped;
        }
    }
    Streamed::Read(p.finish())
}

// ---------------------------------------------------------------------------------------------
// villages

/// Finds a village by its (县, 乡镇, 村) names, tolerating a missing 村/镇/乡/区/县 suffix.
struct VillageIndex {
    /// Village name (and its suffix-less form) → (village code, town name, county name).
    by_name: HashMap<String, Vec<(RegionCode, String, String)>>,
}

const VILLAGE_SUFFIXES: &[&str] = &["村", "社区", "居委会", "村委会"];
const TOWN_SUFFIXES: &[&str] = &["镇", "乡", "街道", "街道办事处"];
const COUNTY_SUFFIXES: &[&str] = &["县", "区", "市", "旗"];

fn name_forms(name: &str, suffixes: &[&str]) -> Vec<String> {
    let name = domain::text::compact(name);
    let mut out = vec![name.clone()];
    for s in suffixes {
        if let Some(short) = name.strip_suffix(s)
            && !short.is_empty()
        {
            out.push(short.to_string());
        }
    }
    out
}

fn same_name(cell: &str, name: &str, suffixes: &[&str]) -> bool {
    name_forms(name, suffixes).contains(&domain::text::compact(cell))
}

/// Why a (县, 乡镇, 村) triple did not resolve, and which column to blame.
enum VillageMiss {
    Village,
    Town,
    County,
}

impl VillageIndex {
    fn new(regions: &[Region]) -> Self {
        let names: HashMap<RegionCode, &str> = regions.iter().map(|r| (r.code, r.name.as_str())).collect();
        let mut by_name: HashMap<String, Vec<(RegionCode, String, String)>> = HashMap::new();
        for r in regions.iter().filter(|r| r.level() == domain::RegionLevel::Village) {
            let town = r.code.parent();
            let county = town.and_then(RegionCode::parent);
            let town_name = town.and_then(|t| names.get(&t)).copied().unwrap_or_default().to_string();
            let county_name = county.and_then(|c| names.get(&c)).copied().unwrap_or_default().to_string();
            for form in name_forms(&r.name, VILLAGE_SUFFIXES) {
                by_name.entry(form).or_default().push((r.code, town_name.clone(), county_name.clone()));
            }
        }
        VillageIndex { by_name }
    }

    fn find(&self, county: &str, town: &str, village: &str) -> Result<RegionCode, VillageMiss> {
        let candidates = self.by_name.get(&domain::text::compact(village)).ok_or(VillageMiss::Village)?;
        let in_town: Vec<_> = candidates.iter().filter(|(_, t, _)| same_name(town, t, TOWN_SUFFIXES)).collect();
        if in_town.is_empty() {
            return Err(VillageMiss::Town);
        }
        in_town
            .iter()
            .find(|(_, _, c)| same_name(county, c, COUNTY_SUFFIXES))
            .map(|(code, _, _)| *code)
            .ok_or(VillageMiss::County)
    }
}

// ---------------------------------------------------------------------------------------------
// the parser

/// A household being assembled from its rows.
struct Group {
    no: HouseholdNo,
    first_row: usize,
    /// (县, 乡镇, 村) as written on the first row, and what they resolved to.
    place: (String, String, String),
    village: Option<RegionCode>,
    /// `None` when its columns had errors.
    household: Option<Household>,
    income: Option<IncomeRecord>,
    /// Household columns of the first row, canonical, joined by [`SEP`] (one allocation per
    /// household: a large file holds hundreds of thousands of these).
    canon: String,
    members: Vec<(usize, Member)>,
    /// Some member row could not be read (so composition checks would mislead).
    member_failed: bool,
    /// Any error in any of its rows.
    failed: bool,
    /// A later row's household columns differ from the first row's.
    disagreed: bool,
}

struct Parser<'a> {
    map: ColumnMap,
    villages: VillageIndex,
    village_cache: HashMap<(String, String, String), Option<RegionCode>>,
    scope: &'a Scope,
    income_year: i32,
    /// Finish a household when a row of another one follows (see [`stream_households`]).
    together: bool,
    /// The households still being read; `groups[i]` is household number `base + i` in order of
    /// first appearance (the ones before `base` are finished).
    groups: Vec<Group>,
    base: usize,
    /// 户编号 → household number.
    index: HashMap<String, usize>,
    /// The 户编号 of each household number.
    nos: Vec<HouseholdNo>,
    /// ID key → (household number, row) of its first appearance.
    ids: HashMap<u64, (usize, usize)>,
    /// Finished households read without error, waiting to be handed over.
    ready: Vec<(IncomingHousehold, Origin)>,
    member_count: usize,
    /// The row of a household that was finished already (with `together`).
    scattered: Option<usize>,
    issues: Issues,
    rows: usize,
    /// The file has 文化程度 or 在校生状况 (else the "exactly one" rule cannot be checked).
    has_education: bool,
}

/// Separates the values of [`Group::canon`] (a control character, removed from the values).
const SEP: &str = "\u{1f}";

/// The household columns compared across a household's rows (village columns are compared by
/// the village they resolve to).
fn compared_columns() -> impl Iterator<Item = Col> {
    COLUMNS
        .iter()
        .filter(|c| {
            c.level == Level::Household && !matches!(c.col, Col::County | Col::Town | Col::Village | Col::HouseholdNo)
        })
        .map(|c| c.col)
}

impl<'a> Parser<'a> {
    fn new(map: ColumnMap, villages: VillageIndex, scope: &'a Scope, income_year: i32, together: bool) -> Self {
        let has_education = map.has(Col::Education) || map.has(Col::SchoolStatus);
        Parser {
            map,
            villages,
            village_cache: HashMap::new(),
            scope,
            income_year,
            together,
            groups: Vec::new(),
            base: 0,
            index: HashMap::new(),
            nos: Vec::new(),
            ids: HashMap::new(),
            ready: Vec::new(),
            member_count: 0,
            scattered: None,
            issues: Issues::default(),
            rows: 0,
            has_education,
        }
    }

    fn cell<'r>(&self, row: &'r Row, c: Col) -> &'r Cell {
        match self.map.get(c) {
            Some(i) => row.get(i),
            None => &EMPTY,
        }
    }

    fn text<'r>(&self, row: &'r Row, c: Col) -> Cow<'r, str> {
        self.cell(row, c).text()
    }

    fn error(&mut self, row: &Row, c: Col, message: impl Into<String>) {
        let value = self.text(row, c).into_owned();
        self.issues.push(row.number, c.header(), &value, Tier::Error, message);
    }

    fn warn(&mut self, row: &Row, c: Col, message: impl Into<String>) {
        let value = self.text(row, c).into_owned();
        self.issues.push(row.number, c.header(), &value, Tier::Warning, message);
    }

    /// Whole-file checks on the header row.
    fn check_columns(&mut self, header_row: usize) {
        for c in self.map.missing_required() {
            let spec = c.spec();
            let accepted: Vec<&str> = std::iter::once(spec.header).chain(spec.aliases.iter().copied()).collect();
            self.issues.push(
                0,
                spec.header,
                "",
                Tier::Error,
                format!(
                    "缺少必填列“{}”：请在第{header_row}行（表头）加入该列，列名可写作：{}",
                    spec.header,
                    accepted.join("、")
                ),
            );
        }
        if !self.map.unknown.is_empty() {
            let list = self.map.unknown.join("、");
            self.issues.push(
                0,
                "",
                &list,
                Tier::Warning,
                format!("以下列无法识别，已忽略：{list}。如果其中有需要导入的内容，请把列名改为导入模板中的写法"),
            );
        }
        for d in self.map.duplicates.clone() {
            self.issues.push(
                0,
                &d,
                "",
                Tier::Warning,
                format!("列“{d}”出现了不止一次：只读取最左边的一列，请删除多余的列"),
            );
        }
        if !self.has_education {
            self.issues.push(
                0,
                "文化程度",
                "",
                Tier::Warning,
                "文件没有“文化程度”和“在校生状况”列：成员的文化程度和在校生状况将为空，请补充后重新导入",
            );
        }
    }

    fn row(&mut self, row: &Row) {
        let errors_before = self.issues.errors;
        let no = self.household_no(row);
        let place = (
            domain::text::compact(&self.text(row, Col::County)),
            domain::text::compact(&self.text(row, Col::Town)),
            domain::text::compact(&self.text(row, Col::Village)),
        );
        let existing = match no.as_ref().and_then(|n| self.index.get(n.as_str()).copied()) {
            Some(n) if n < self.base => {
                self.scattered = Some(row.number);
                return;
            }
            n => n.map(|n| n - self.base),
        };
        // a later row naming the same place as the household's first row needs no second look
        let village = match existing {
            Some(g) if self.groups[g].place == place => self.groups[g].village,
            _ => self.village(row, &place),
        };
        let member = self.member(row);

        let Some(no) = no else { return };
        let g = match existing {
            Some(g) => {
                self.compare_with_first_row(row, g, village);
                g
            }
            None => {
                if self.together {
                    self.close_open();
                }
                let household = village.and_then(|v| self.household_fields(row, &no, v));
                let income = self.income(row);
                let canon = self.canon_row(row);
                self.index.insert(no.as_str().to_string(), self.base + self.groups.len());
                self.nos.push(no.clone());
                self.groups.push(Group {
                    no,
                    first_row: row.number,
                    place,
                    village,
                    failed: household.is_none() || income.is_err(),
                    household,
                    income: income.unwrap_or(None),
                    canon,
                    members: Vec::new(),
                    member_failed: false,
                    disagreed: false,
                });
                self.groups.len() - 1
            }
        };
        match member {
            Some(m) => {
                self.check_id_repeats(row, g, &m);
                self.groups[g].members.push((row.number, m));
            }
            None => self.groups[g].member_failed = true,
        }
        if self.issues.errors > errors_before {
            self.groups[g].failed = true;
        }
    }

    fn household_no(&mut self, row: &Row) -> Option<HouseholdNo> {
        let parsed = match self.cell(row, Col::HouseholdNo) {
            // integral numbers below 2^53 are exact; bigger ones have been rounded
            Cell::Number(v) if v.fract() == 0.0 && v.abs() < EXACT_INTEGER_LIMIT => {
                HouseholdNo::parse(&number_text(*v))
            }
            Cell::Number(v) => Err(HouseholdNoError::StoredAsNumber(number_text(*v))),
            c => HouseholdNo::parse(&c.text()),
        };
        match parsed {
            Ok(n) if n.as_str() == crate::write::EXAMPLE_HOUSEHOLD_NO => {
                self.error(row, Col::HouseholdNo, "这是模板中的示例行，请删除示例行、填入实际数据后再导入".to_string());
                None
            }
            Ok(n) => Some(n),
            Err(e) => {
                let hint = match e {
                    HouseholdNoError::Empty => "：每一行都必须填写户编号，同一户的成员填写相同的户编号",
                    _ => "",
                };
                self.error(row, Col::HouseholdNo, format!("{e}{hint}"));
                None
            }
        }
    }

    fn village(&mut self, row: &Row, place: &(String, String, String)) -> Option<RegionCode> {
        let (county, town, village) = place;
        let mut missing = false;
        for (c, v, what) in [(Col::County, county, "县"), (Col::Town, town, "乡镇"), (Col::Village, village, "村")]
        {
            if v.is_empty() {
                self.error(row, c, format!("必须填写{what}名称"));
                missing = true;
            }
        }
        if missing {
            return None;
        }
        let key = place.clone();
        if let Some(cached) = self.village_cache.get(&key).copied() {
            // report the same problem on every row it occurs in
            if cached.is_none() {
                self.report_village(row, place);
            }
            return cached;
        }
        let found = self.report_village(row, place);
        self.village_cache.insert(key, found);
        found
    }

    fn report_village(&mut self, row: &Row, (county, town, village): &(String, String, String)) -> Option<RegionCode> {
        let whole = format!("{county} {town} {village}");
        match self.villages.find(county, town, village) {
            Ok(code) if self.scope.contains(code) => Some(code),
            Ok(_) => {
                self.error(
                    row,
                    Col::Village,
                    format!(
                        "“{whole}”不在您的管辖范围内：只能导入您负责区域内的农户，请删除这些行，或请上级管理员导入"
                    ),
                );
                None
            }
            Err(miss) => {
                let (c, what) = match miss {
                    VillageMiss::Village => (Col::Village, format!("村“{village}”")),
                    VillageMiss::Town => (Col::Town, format!("乡镇“{town}”下的村“{village}”")),
                    VillageMiss::County => (Col::County, format!("县“{county}”下的乡镇“{town}”")),
                };
                self.error(
                    row,
                    c,
                    format!("未找到{what}（{whole}）：请核对县、乡镇、村的名称，须与系统中的区划名称一致"),
                );
                None
            }
        }
    }

    /// A later row of a household: its village must be the same; other household columns
    /// should be (the first row wins).
    fn compare_with_first_row(&mut self, row: &Row, g: usize, village: Option<RegionCode>) {
        let (first_row, first_village, no) =
            (self.groups[g].first_row, self.groups[g].village, self.groups[g].no.clone());
        if let (Some(a), Some(b)) = (first_village, village)
            && a != b
        {
            let first_place = self.groups[g].place.2.clone();
            self.error(
                row,
                Col::Village,
                format!("户编号“{no}”在第{first_row}行属于“{first_place}”，本行却是另一个村：一个户编号只能属于一个村，请核对户编号或村名"),
            );
        }
        let now = self.canon_row(row);
        if now == self.groups[g].canon {
            return;
        }
        self.groups[g].disagreed = true;
        let first_values = self.groups[g].canon.clone();
        for ((c, first), now) in compared_columns().zip(first_values.split(SEP)).zip(now.split(SEP)) {
            if now != first {
                let first = if first.is_empty() { "空".to_string() } else { format!("“{first}”") };
                let msg = format!(
                    "与同户第{first_row}行不一致（第{first_row}行为{first}）：同一户各行的户信息应相同，已按第{first_row}行导入，请核对"
                );
                self.warn(row, c, msg);
            }
        }
    }

    /// The compared household columns of a row, canonical, joined by [`SEP`].
    fn canon_row(&self, row: &Row) -> String {
        let values: Vec<String> = compared_columns().map(|c| self.canon(row, c).replace(SEP, "")).collect();
        values.join(SEP)
    }

    /// A household column's value in a form that ignores how it was typed.
    fn canon(&self, row: &Row, c: Col) -> String {
        let cell = self.cell(row, c);
        let text = domain::text::compact(&cell.text());
        match c.spec().kind {
            Kind::Money => self.money(cell).map(|f| f.to_yuan_string()).unwrap_or(text),
            Kind::Date => date_of(cell).ok().flatten().map(|d| d.to_string()).unwrap_or(text),
            Kind::YesNo => {
                domain::text::parse_yes_no(&text).map(|b| domain::text::yes_no(b).to_string()).unwrap_or(text)
            }
            Kind::Int => text.strip_suffix(".0").map(str::to_string).unwrap_or(text),
            _ => text,
        }
    }

    fn money(&self, cell: &Cell) -> Result<Fen, String> {
        let v = match cell {
            Cell::Number(v) => Fen::from_yuan_f64(*v).map_err(|e| e.to_string())?,
            c => return fields::money(&c.text()),
        };
        if v.is_negative() {
            return Err(format!("金额不能为负数，收到“{}”", cell.text()));
        }
        Ok(v)
    }

    /// Reads a household's own columns from its first row; `None` after any error.
    fn household_fields(&mut self, row: &Row, no: &HouseholdNo, village: RegionCode) -> Option<Household> {
        let errors_before = self.issues.errors;
        let mut h = Household::new(no.clone(), village, HouseholdKind::Ordinary);

        let group = self.text(row, Col::Group);
        if !group.is_empty() {
            match parse_group_no(&group) {
                Some(g) => h.group_no = g,
                None => self.error(row, Col::Group, format!("无法识别的组“{group}”，请填写数字，如 3 或 3组")),
            }
        }
        let address = self.text(row, Col::Address);
        if address.chars().count() > 200 {
            self.error(row, Col::Address, "家庭住址最多200字，请删减");
        } else {
            h.address = address.trim().to_string();
        }
        if let Some(p) = self.get(row, Col::Phone, fields::phone) {
            self.warn_numeric_phone(row, Col::Phone);
            h.phone = p;
        }
        if let Some(k) = self.get(row, Col::Kind, fields::required_label::<HouseholdKind>) {
            h.kind = k;
        }
        if let Some(y) = self.get(row, Col::ExitYear, |t| fields::small_int(t, 2013, 2021)) {
            h.exit_year = y.map(|y| y as i32);
        }
        self.monitoring(row, &mut h);
        self.risks(row, &mut h);
        h.disaster_kind = self.get(row, Col::DisasterKind, fields::code_label::<DisasterKind>).flatten();
        h.housing_grade = self.get(row, Col::HousingGrade, fields::code_label::<HousingGrade>).flatten();
        h.water.safe = self.yes_no(row, Col::WaterSafe, fields::yes_no);
        h.water.quantity_ok = self.yes_no(row, Col::WaterQuantity, fields::pass_fail);
        h.water.quality_ok = self.yes_no(row, Col::WaterQuality, fields::pass_fail);
        h.water.convenience_ok = self.yes_no(row, Col::WaterConvenience, fields::pass_fail);
        h.water.reliability_ok = self.yes_no(row, Col::WaterReliability, fields::pass_fail);
        h.food_clothing_secure = self.yes_no(row, Col::FoodClothingSecure, fields::yes_no);
        h.food_clothing_note = self.text(row, Col::FoodClothingNote).chars().take(500).collect();
        h.military_family = self.yes_no(row, Col::MilitaryFamily, fields::yes_no).unwrap_or(false);
        h.no_labour_safety_net = self.yes_no(row, Col::NoLabourSafetyNet, fields::yes_no).unwrap_or(false);
        h.relocated = self.yes_no(row, Col::Relocated, fields::yes_no).unwrap_or(false);
        self.officer(row, &mut h);
        if let Some(s) = self.get(row, Col::DeclaredSize, |t| fields::small_int(t, 1, 30)) {
            h.declared_size = s.map(|s| s as u16);
        }
        if self.issues.errors > errors_before {
            return None;
        }
        for rule in fields::check_household_fields(&h) {
            // by the rule's form field, so that a rule the domain adds later still lands somewhere
            let c = match rule.field() {
                "monitoring_category" => Col::Category,
                "exit_year" => Col::ExitYear,
                "risks" => Col::Risk1,
                "water_safe" => Col::WaterSafe,
                "disaster_kind" => Col::DisasterKind,
                _ => Col::Kind,
            };
            self.warn(row, c, format!("{rule}：已按原样导入，请核对"));
        }
        Some(h)
    }

    /// Parses a cell's text; on failure records an error and returns `None`.
    fn get<T>(&mut self, row: &Row, c: Col, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        let text = self.text(row, c);
        match parse(&text) {
            Ok(v) => Some(v),
            Err(m) => {
                self.error(row, c, m);
                None
            }
        }
    }

    /// A 是/否 column: a boolean cell as it is, text through the domain parser.
    fn yes_no(&mut self, row: &Row, c: Col, parse: fn(&str) -> Result<Option<bool>, String>) -> Option<bool> {
        match self.cell(row, c) {
            Cell::Bool(b) => Some(*b),
            _ => self.get(row, c, parse).flatten(),
        }
    }

    fn date(&mut self, row: &Row, c: Col) -> Option<Option<NaiveDate>> {
        match date_of(self.cell(row, c)) {
            Ok(d) => Some(d),
            Err(m) => {
                self.error(row, c, m);
                None
            }
        }
    }

    /// A phone stored as a number has lost a leading 0 if it was a landline.
    fn warn_numeric_phone(&mut self, row: &Row, c: Col) {
        if let Cell::Number(v) = self.cell(row, c)
            && !number_text(*v).starts_with('1')
        {
            self.warn(row, c, "电话号码以数字格式存储，开头的“0”（区号）可能已丢失：请把该列设置为文本格式后核对");
        }
    }

    fn monitoring(&mut self, row: &Row, h: &mut Household) {
        let category = self.get(row, Col::Category, fields::code_label::<MonitoringCategory>);
        let since = self.date(row, Col::MonitoredSince);
        let eliminated = match self.cell(row, Col::Eliminated) {
            Cell::Bool(b) => Some(Some(*b)),
            _ => self.get(row, Col::Eliminated, fields::yes_no),
        };
        let mode = self.get(row, Col::EliminationMode, fields::code_label::<EliminationMode>);
        let on = self.date(row, Col::EliminatedOn);
        let (Some(category), Some(since), Some(eliminated), Some(mode), Some(on)) =
            (category, since, eliminated, mode, on)
        else {
            return;
        };
        match fields::monitoring(category, since, eliminated, mode, on) {
            Ok(m) => h.monitoring = m,
            Err(list) => {
                for (key, message) in list {
                    let c = match key {
                        "monitored_since" => Col::MonitoredSince,
                        "eliminated" => Col::Eliminated,
                        "elimination_mode" => Col::EliminationMode,
                        "eliminated_on" => Col::EliminatedOn,
                        _ => Col::Category,
                    };
                    self.error(row, c, message);
                }
            }
        }
    }

    fn risks(&mut self, row: &Row, h: &mut Household) {
        let mut ok = true;
        // each column alone first, so that an unknown label is reported in its own column
        for c in RISK_COLS {
            ok &= self.get(row, c, |t| fields::risks([t])).is_some();
        }
        if !ok {
            return;
        }
        let texts: Vec<String> = RISK_COLS.iter().map(|c| self.text(row, *c).into_owned()).collect();
        match fields::risks(texts.iter().map(String::as_str)) {
            Ok(r) => h.risks = r,
            Err(m) => self.error(row, Col::Risk1, m),
        }
    }

    fn officer(&mut self, row: &Row, h: &mut Household) {
        let name = self.text(row, Col::OfficerName).trim().to_string();
        let unit = self.text(row, Col::OfficerUnit).trim().to_string();
        let phone = self.get(row, Col::OfficerPhone, fields::phone);
        if phone.is_some() {
            self.warn_numeric_phone(row, Col::OfficerPhone);
        }
        if name.is_empty() {
            if !unit.is_empty() || phone.as_ref().is_some_and(Option::is_some) {
                self.error(row, Col::OfficerName, "填写了帮扶责任人单位或电话，但没有帮扶责任人姓名：请补充姓名");
            }
            return;
        }
        match PersonName::parse(&name) {
            Ok(name) => {
                if let Some(phone) = phone {
                    h.officer = Some(OfficerContact { name, unit, phone });
                }
            }
            Err(e) => self.error(row, Col::OfficerName, e.to_string()),
        }
    }

    /// The income record of a household's first row: `None` when the file has no money columns
    /// or they are all empty for this household (empty is "not recorded", not zero).
    fn income(&mut self, row: &Row) -> Result<Option<IncomeRecord>, ()> {
        if MONEY_COLS.iter().all(|c| self.cell(row, *c).is_empty()) {
            return Ok(None);
        }
        let mut values = [Fen::ZERO; 7];
        let mut ok = true;
        for (i, c) in MONEY_COLS.iter().enumerate() {
            match self.money(self.cell(row, *c)) {
                Ok(v) => values[i] = v,
                Err(m) => {
                    self.error(row, *c, m);
                    ok = false;
                }
            }
        }
        let year = match self.get(row, Col::IncomeYear, |t| fields::small_int(t, 2000, 2100)) {
            Some(y) => y.map(|y| y as i32).unwrap_or(self.income_year),
            None => return Err(()),
        };
        if !ok {
            return Err(());
        }
        Ok(Some(IncomeRecord::from_amounts(year, values)))
    }

    /// Reads one member; `None` after any error.
    fn member(&mut self, row: &Row) -> Option<Member> {
        let errors_before = self.issues.errors;
        let name = match PersonName::parse(&self.text(row, Col::Name)) {
            Ok(n) => Some(n),
            Err(e) => {
                self.error(row, Col::Name, e.to_string());
                None
            }
        };
        let id = self.national_id(row);
        let relation = self.get(row, Col::Relation, fields::required_label::<Relation>);
        let sex = self.get(row, Col::Sex, fields::code_label::<Sex>).flatten();
        let ethnicity_text = self.text(row, Col::Ethnicity).trim().to_string();
        let ethnicity = if ethnicity_text.is_empty() {
            self.error(row, Col::Ethnicity, "必须填写民族，如 汉族、壮族");
            None
        } else {
            let e = Ethnicity::parse(&ethnicity_text);
            if e.is_none() {
                self.error(
                    row,
                    Col::Ethnicity,
                    format!("无法识别的民族“{ethnicity_text}”，请填写民族全称，如 汉族、壮族"),
                );
            }
            e
        };
        let political_status = self.get(row, Col::PoliticalStatus, fields::code_label::<PoliticalStatus>).flatten();
        let education = self.get(row, Col::Education, fields::code_label::<Education>).flatten();
        let school_status = self.get(row, Col::SchoolStatus, fields::code_label::<SchoolStatus>).flatten();
        let health = self.get(row, Col::Health, |t| Health::parse(t).map_err(|e| e.to_string()));
        let disability_class = self.get(row, Col::DisabilityClass, fields::code_label::<DisabilityClass>).flatten();
        let labour_skill = self.get(row, Col::LabourSkill, fields::required_label::<LabourSkill>);
        let work_months = self.get(row, Col::WorkMonths, |t| fields::small_int(t, 0, 12)).flatten();
        let resident_medical = self.required_yes_no(row, Col::ResidentMedical);
        let employee_medical = self.required_yes_no(row, Col::EmployeeMedical);
        let resident_pension = self.yes_no(row, Col::ResidentPension, fields::yes_no);
        let employee_pension = self.yes_no(row, Col::EmployeePension, fields::yes_no);
        let dibao = self.yes_no(row, Col::Dibao, fields::yes_no).unwrap_or(false);
        let tekun = self.yes_no(row, Col::Tekun, fields::yes_no).unwrap_or(false);
        if self.issues.errors > errors_before {
            return None;
        }
        let (
            Some(name),
            Some(national_id),
            Some(relation),
            Some(ethnicity),
            Some(health),
            Some(labour_skill),
            Some(resident_medical),
            Some(employee_medical),
        ) = (name, id, relation, ethnicity, health, labour_skill, resident_medical, employee_medical)
        else {
            return None;
        };
        let m = Member {
            sex: sex.unwrap_or_else(|| national_id.sex()),
            name,
            national_id,
            relation,
            ethnicity,
            political_status,
            education,
            school_status,
            dropout_reason: self.text(row, Col::DropoutReason).trim().chars().take(200).collect(),
            health,
            disability_class,
            labour_skill,
            work_months: work_months.map(|w| w as u8),
            work_place: self.text(row, Col::WorkPlace).trim().chars().take(100).collect(),
            resident_medical,
            employee_medical,
            resident_pension,
            employee_pension,
            dibao,
            tekun,
        };
        for rule in domain::member::check_member(&m) {
            let c = match rule {
                MemberRule::EducationXorSchool { .. } if !self.has_education => continue,
                MemberRule::EducationXorSchool { .. } => Col::Education,
                MemberRule::IdChecksum { .. } => Col::NationalId,
                MemberRule::SexMismatch { .. } => Col::Sex,
                MemberRule::DisabilityClassMissing { .. } => Col::DisabilityClass,
                MemberRule::WorkMonthsRange { .. } => Col::WorkMonths,
                _ => Col::Name,
            };
            self.warn(row, c, format!("{rule}；已按原样导入，请核对"));
        }
        Some(m)
    }

    fn required_yes_no(&mut self, row: &Row, c: Col) -> Option<bool> {
        let v = match self.cell(row, c) {
            Cell::Bool(b) => Some(Some(*b)),
            _ => self.get(row, c, fields::yes_no),
        };
        if v == Some(None) {
            self.error(row, c, "必须填写“是”或“否”");
        }
        v.flatten()
    }

    fn national_id(&mut self, row: &Row) -> Option<NationalId> {
        let parsed = match self.cell(row, Col::NationalId) {
            // up to 15 digits (a legacy ID) a number cell is exact; an 18-digit one has lost its
            // last digits
            Cell::Number(v) if v.fract() == 0.0 && *v < 1e15 => NationalId::parse(&number_text(*v)),
            Cell::Number(v) => Err(IdError::StoredAsNumber(number_text(*v))),
            c => NationalId::parse(&c.text()),
        };
        match parsed {
            // What Excel does to an 18-digit number stored as a number, then saved as text
            // (e.g. to CSV): 15 significant digits, the rest zeros. Imported, it would replace
            // the real person when the household is matched by ID.
            Ok(id) if !id.is_checksum_valid() && id.id18().ends_with("000") => {
                self.error(
                    row,
                    Col::NationalId,
                    format!(
                        "证件号码“{}”末三位为000且校验位不正确，疑似在Excel中以数字格式存储后被截断：请把该列设置为“文本”格式，从原系统重新导出",
                        id
                    ),
                );
                None
            }
            Ok(id) => Some(id),
            Err(e) => {
                let hint = match e {
                    IdError::StoredAsNumber(_) => "",
                    IdError::Empty => "：每名成员都必须填写证件号码",
                    _ => "：请与户口簿或身份证核对后改正",
                };
                self.error(row, Col::NationalId, format!("{e}{hint}"));
                None
            }
        }
    }

    fn check_id_repeats(&mut self, row: &Row, g: usize, m: &Member) {
        let key = m.national_id.key();
        let g = self.base + g;
        match self.ids.get(&key).copied() {
            None => {
                self.ids.insert(key, (g, row.number));
            }
            Some((g2, r2)) if g2 == g => {
                self.error(
                    row,
                    Col::NationalId,
                    format!("证件号码与本户第{r2}行相同：同一人在一户中只能出现一次，请删除重复的行"),
                );
            }
            Some((g2, r2)) => {
                let other = self.nos[g2].clone();
                self.warn(
                    row,
                    Col::NationalId,
                    format!("证件号码与第{r2}行（户编号“{other}”）相同：同一人不能同时属于两户，已按原样导入，请核对后从其中一户删除"),
                );
            }
        }
    }

    /// Finishes the households still being read.
    fn close_open(&mut self) {
        let groups = std::mem::take(&mut self.groups);
        self.base += groups.len();
        for g in groups {
            self.close(g);
        }
    }

    /// Hands over up to `part` finished households; false when the sink refuses them.
    fn hand_over(
        &mut self,
        part: usize,
        sink: &mut dyn FnMut(Vec<IncomingHousehold>, Vec<Origin>, usize) -> bool,
    ) -> bool {
        let rest = self.ready.split_off(part.min(self.ready.len()));
        let (households, origins) = std::mem::replace(&mut self.ready, rest).into_iter().unzip();
        sink(households, origins, self.issues.errors)
    }

    /// Composition checks on a household all of whose rows have been read.
    fn close(&mut self, g: Group) {
        {
            self.member_count += g.members.len();
            let heads: Vec<usize> =
                g.members.iter().filter(|(_, m)| m.relation == Relation::Head).map(|(r, _)| *r).collect();
            let spouses: Vec<usize> =
                g.members.iter().filter(|(_, m)| m.relation == Relation::Spouse).map(|(r, _)| *r).collect();
            let rows_list = |rows: &[usize]| rows.iter().map(|r| format!("第{r}行")).collect::<Vec<_>>().join("、");
            let relation = Col::Relation.header();
            let mut failed = g.failed;
            if !g.member_failed {
                if heads.is_empty() {
                    self.issues.push(
                        g.first_row,
                        relation,
                        "",
                        Tier::Error,
                        format!(
                            "户编号“{}”的户内没有户主：每户必须有且只有一名户主，请在“与户主关系”列把户主填为“户主”",
                            g.no
                        ),
                    );
                    failed = true;
                }
                if let Some(Household { declared_size: Some(d), .. }) = &g.household
                    && usize::from(*d) != g.members.len()
                {
                    let rule = MemberRule::SizeMismatch { declared: *d, actual: g.members.len() };
                    self.issues.push(
                        g.first_row,
                        Col::DeclaredSize.header(),
                        &d.to_string(),
                        Tier::Warning,
                        format!("{rule}：已按原样导入，请核对家庭人口数或成员行"),
                    );
                }
            }
            if heads.len() > 1 && g.disagreed {
                // several households under one number: what a 户编号 column stored as numbers
                // in Excel becomes (the last digits lost, different households merged)
                self.issues.push(
                    heads[1],
                    Col::HouseholdNo.header(),
                    g.no.as_str(),
                    Tier::Error,
                    format!(
                        "户编号“{}”下有{}名户主（{}），且各行的户信息不一致：疑似不同的户共用了一个户编号（如户编号在Excel中以数字格式存储丢失了末尾数字），请核对户编号",
                        g.no,
                        heads.len(),
                        rows_list(&heads)
                    ),
                );
                failed = true;
            } else if heads.len() > 1 {
                let rule = MemberRule::SeveralHeads(heads.len());
                self.issues.push(
                    heads[1],
                    relation,
                    "户主",
                    Tier::Warning,
                    format!("{rule}（{}）：已按原样导入，请核对", rows_list(&heads)),
                );
            }
            if spouses.len() > 1 {
                let rule = MemberRule::SeveralSpouses(spouses.len());
                self.issues.push(
                    spouses[1],
                    relation,
                    "配偶",
                    Tier::Warning,
                    format!("{rule}（{}）：已按原样导入，请核对", rows_list(&spouses)),
                );
            }
            if let (false, Some(household)) = (failed, g.household) {
                let origin =
                    Origin { first_row: g.first_row, member_rows: g.members.iter().map(|(r, _)| *r).collect() };
                let members = g.members.into_iter().map(|(_, m)| m).collect();
                self.ready.push((IncomingHousehold { household, members, income: g.income }, origin));
            }
        }
    }

    /// The counts and problems of a file all of whose households have been handed over.
    fn finish(self) -> ParsedImport {
        let (issues, errors, warnings) = self.issues.sorted();
        ParsedImport {
            households: Vec::new(),
            origins: Vec::new(),
            issues,
            rows: self.rows,
            household_count: self.index.len(),
            member_count: self.member_count,
            errors,
            warnings,
        }
    }
}

/// A date cell: a date cell as it is, an Excel serial number, or text as people type it.
fn date_of(cell: &Cell) -> Result<Option<NaiveDate>, String> {
    match cell {
        Cell::Date(d) => Ok(Some(*d)),
        // 20220328 typed into a General cell
        Cell::Number(v) if (19_000_101.0..=21_001_231.0).contains(v) => fields::date(&number_text(*v)),
        // a serial date whose cell lost its date format (1900-01-01 … 2099-12-31)
        Cell::Number(v) if (1.0..73_051.0).contains(v) => {
            let base = NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default();
            Ok(base.checked_add_days(chrono::Days::new(v.trunc() as u64)))
        }
        c => fields::date(&c.text()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn villages_are_found_with_or_without_suffixes() {
        let idx = VillageIndex::new(&domain::region::luorong_regions());
        let dazheng = RegionCode::parse("450203100201").unwrap();
        assert_eq!(idx.find("鱼峰区", "雒容镇", "大正村").ok(), Some(dazheng));
        assert_eq!(idx.find("鱼峰", "雒容", "大正").ok(), Some(dazheng));
        assert_eq!(idx.find(" 鱼峰区", "雒容镇 ", "大 正村").ok(), Some(dazheng));
        assert!(matches!(idx.find("鱼峰区", "雒容镇", "小正村"), Err(VillageMiss::Village)));
        assert!(matches!(idx.find("鱼峰区", "洛埠镇", "大正村"), Err(VillageMiss::Town)));
        assert!(matches!(idx.find("柳南区", "雒容镇", "大正村"), Err(VillageMiss::County)));
    }

    #[test]
    fn dates_from_cells() {
        let d = NaiveDate::from_ymd_opt(2022, 10, 15).unwrap();
        assert_eq!(date_of(&Cell::Date(d)), Ok(Some(d)));
        assert_eq!(date_of(&Cell::Number(44849.0)), Ok(Some(d)));
        assert_eq!(date_of(&Cell::Number(20221015.0)), Ok(Some(d)));
        assert_eq!(date_of(&Cell::Text("2022/10/15".into())), Ok(Some(d)));
        assert_eq!(date_of(&Cell::Empty), Ok(None));
        assert!(date_of(&Cell::Text("2022-02-30".into())).is_err());
    }

    #[test]
    fn issues_are_capped_but_counted() {
        let mut issues = Issues::default();
        for row in (1..=MAX_ISSUES + 10).rev() {
            issues.push(row, "姓名", "", Tier::Error, "x");
        }
        let (mut list, errors, warnings) = issues.sorted();
        note_truncation(&mut list, errors, warnings);
        assert_eq!((errors, warnings), (MAX_ISSUES + 10, 0));
        assert_eq!(list.len(), MAX_ISSUES + 1);
        assert_eq!(list[0].row, 0, "the truncation note comes first");
        assert!(list[0].message.contains("仅列出前"));
        assert!(list.windows(2).all(|w| w[0].row <= w[1].row));
    }
}
