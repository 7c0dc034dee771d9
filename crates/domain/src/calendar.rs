//! 工作日历: national holidays and make-up working days (调休上班), regional days such as Guangxi's
//! 壮族三月三, and deadline arithmetic on them (DOMAIN D10, D11, §11).
//!
//! The calendar only knows the years it was given: a date outside them is
//! [`CalendarError::YearNotCovered`], never a guess from the weekday (D10). The shipped data is
//! `data/calendar.csv` ([`WorkCalendar::builtin`]); the store keeps an administrator-edited copy
//! and builds the calendar with [`WorkCalendar::new`].
//!
//! Conventions (§11.3): counting starts the day after the trigger; a working day is Monday–Friday
//! that is not a holiday, plus make-up Saturdays/Sundays; a regional entry applies to every region
//! in its subtree and wins over a national entry for the same day.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::RangeInclusive;

use chrono::{Datelike, Days, NaiveDate, Weekday};

use crate::region::RegionCode;

/// The shipped calendar data (national 2021–2026 and Guangxi 壮族三月三, D11).
pub const BUILTIN_CSV: &str = include_str!("../data/calendar.csv");

/// How the data file spells "national" in the region column.
pub const NATIONAL_CODE: &str = "000000000000";

const CSV_HEADER: &str = "date,kind,region,name,source";

/// What a listed day is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// 放假: a day off, including the Saturdays and Sundays inside a holiday period.
    Holiday,
    /// 调休上班: a Saturday or Sunday made a working day.
    Workday,
}

impl DayKind {
    /// The word used in the data file.
    pub fn key(self) -> &'static str {
        match self {
            DayKind::Holiday => "holiday",
            DayKind::Workday => "workday",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DayKind::Holiday => "放假",
            DayKind::Workday => "调休上班",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "holiday" | "放假" => Some(DayKind::Holiday),
            "workday" | "调休上班" | "上班" => Some(DayKind::Workday),
            _ => None,
        }
    }
}

/// One non-ordinary day of the calendar.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DayEntry {
    pub date: NaiveDate,
    pub kind: DayKind,
    /// `None` = national (`000000000000` in the file); otherwise the entry applies to this
    /// region's whole subtree (Guangxi = 450000000000).
    pub region: Option<RegionCode>,
    /// The holiday's name, e.g. 春节, 壮族三月三.
    pub name: String,
    /// Where the day comes from, e.g. 国办发明电〔2021〕11号.
    pub source: String,
}

impl DayEntry {
    fn applies_to(&self, region: RegionCode) -> bool {
        self.region.is_none_or(|r| r.contains(region))
    }

    /// Deeper regions win over shallower ones, any region over national.
    fn specificity(&self) -> i16 {
        self.region.map_or(0, |r| r.level().code())
    }

    /// The region column as written in the data file.
    pub fn region_text(&self) -> String {
        self.region.map_or_else(|| NATIONAL_CODE.to_string(), |r| r.to_string())
    }
}

/// D10's switch for calendar-day deadlines that end on a day off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HolidayPolicy {
    /// Move a deadline that ends on a rest day to the next working day (民法典 第203条).
    pub extend_over_holidays: bool,
    /// Ordinary Saturdays and Sundays count as rest days too (as the old 民法通则 art.154 did, §11.3);
    /// otherwise only statutory holidays do.
    pub weekends_count_as_rest_days: bool,
}

impl Default for HolidayPolicy {
    /// D10: extend over statutory holidays only.
    fn default() -> Self {
        HolidayPolicy { extend_over_holidays: true, weekends_count_as_rest_days: false }
    }
}

impl HolidayPolicy {
    /// No extension at all: the deadline is always the strict date.
    pub const NO_EXTENSION: HolidayPolicy =
        HolidayPolicy { extend_over_holidays: false, weekends_count_as_rest_days: false };
}

/// A calendar-day deadline: the strict date and the date after the holiday extension. D10 asks to
/// show both and to flag overdue only after `extended`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Due {
    pub strict: NaiveDate,
    pub extended: NaiveDate,
}

impl Due {
    pub fn is_extended(&self) -> bool {
        self.extended != self.strict
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("工作日历没有{year}年的节假日数据：请系统管理员补录该年的放假安排后再试（系统不会按普通周末推算）")]
    YearNotCovered { year: i32 },
    #[error("工作日历数据缺少“# years: 起始年-结束年”说明行")]
    MissingYears,
    #[error("工作日历的年份范围无效：{0}")]
    BadYears(String),
    #[error("工作日历数据第{line}行有误：{message}")]
    Line { line: usize, message: String },
    #[error("{date} 在区划“{region}”重复登记")]
    Duplicate { date: NaiveDate, region: String },
    #[error("{date} 不是周六或周日，不能登记为调休上班日")]
    WorkdayNotWeekend { date: NaiveDate },
    #[error("{date} 的节假日名称不能为空")]
    EmptyName { date: NaiveDate },
    #[error("天数应至少为1")]
    ZeroDays,
    #[error("天数{0}过大，超出日期范围")]
    DaysOutOfRange(u32),
}

/// The work calendar for a range of years.
#[derive(Debug, Clone)]
pub struct WorkCalendar {
    years: RangeInclusive<i32>,
    /// Sorted by (date, specificity).
    entries: Vec<DayEntry>,
    by_date: HashMap<NaiveDate, Vec<usize>>,
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

impl WorkCalendar {
    /// A calendar covering `years` with the given entries. Validates: a `Workday` entry must be a
    /// Saturday or Sunday, names are not empty, and no (date, region) appears twice. Entries dated
    /// outside `years` are kept but never consulted (a date outside `years` is an error anyway).
    pub fn new(years: RangeInclusive<i32>, mut entries: Vec<DayEntry>) -> Result<WorkCalendar, CalendarError> {
        if years.start() > years.end() {
            return Err(CalendarError::BadYears(format!("{}-{}", years.start(), years.end())));
        }
        for e in &entries {
            if e.kind == DayKind::Workday && !is_weekend(e.date) {
                return Err(CalendarError::WorkdayNotWeekend { date: e.date });
            }
            if e.name.trim().is_empty() {
                return Err(CalendarError::EmptyName { date: e.date });
            }
        }
        entries.sort_by_key(|e| (e.date, e.specificity(), e.region));
        if let Some(w) = entries.windows(2).find(|w| w[0].date == w[1].date && w[0].region == w[1].region) {
            return Err(CalendarError::Duplicate { date: w[0].date, region: w[0].region_text() });
        }
        let mut by_date: HashMap<NaiveDate, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            by_date.entry(e.date).or_default().push(i);
        }
        Ok(WorkCalendar { years, entries, by_date })
    }

    /// The national part only (for a question asked without a region).
    pub fn national_only(&self) -> WorkCalendar {
        let entries = self.entries.iter().filter(|e| e.region.is_none()).cloned().collect();
        WorkCalendar::new(self.years.clone(), entries).unwrap_or_else(|_| self.clone())
    }

    /// The shipped calendar (`data/calendar.csv`).
    pub fn builtin() -> WorkCalendar {
        // The embedded file is checked by the tests below; failing here is a build defect.
        WorkCalendar::from_csv(BUILTIN_CSV).unwrap_or_else(|e| panic!("内置工作日历数据有误：{e}"))
    }

    /// Reads the data file format: `# years: 2021-2026` (required), other `#` lines are comments,
    /// an optional `date,kind,region,name,source` header, then one entry a line. Plain
    /// comma-separated text without quoting: the name holds no comma, the source (last) may.
    pub fn from_csv(text: &str) -> Result<WorkCalendar, CalendarError> {
        let mut years = None;
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = raw.trim_start_matches('\u{feff}').trim();
            let bad = |message: String| CalendarError::Line { line: line_no, message };
            if line.is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix('#') {
                if let Some(spec) = comment.trim().strip_prefix("years:") {
                    if years.is_some() {
                        return Err(bad("“# years:”行只能有一行".into()));
                    }
                    years = Some(parse_years(spec.trim())?);
                }
                continue;
            }
            if line.starts_with("date,") {
                continue;
            }
            let fields: Vec<&str> = line.splitn(5, ',').map(str::trim).collect();
            let [date, kind, region, name, source] = fields[..] else {
                return Err(bad(format!("应有5列（{CSV_HEADER}），收到{}列", fields.len())));
            };
            let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .map_err(|_| bad(format!("日期应为 YYYY-MM-DD，收到“{date}”")))?;
            let kind = DayKind::parse(kind).ok_or_else(|| bad(format!("类型应为 holiday 或 workday，收到“{kind}”")))?;
            let region = if region == NATIONAL_CODE {
                None
            } else {
                Some(RegionCode::parse(region).map_err(|e| bad(e.to_string()))?)
            };
            entries.push(DayEntry { date, kind, region, name: name.to_string(), source: source.to_string() });
        }
        WorkCalendar::new(years.ok_or(CalendarError::MissingYears)?, entries)
    }

    /// Writes the data file format (without the original comments); [`WorkCalendar::from_csv`] reads it back.
    pub fn to_csv(&self) -> String {
        let mut out = format!("# years: {}-{}\n{CSV_HEADER}\n", self.years.start(), self.years.end());
        for e in &self.entries {
            let _ = writeln!(out, "{},{},{},{},{}", e.date, e.kind.key(), e.region_text(), e.name, e.source);
        }
        out
    }

    pub fn years(&self) -> RangeInclusive<i32> {
        self.years.clone()
    }

    /// All entries, sorted by date (national before regional on the same day).
    pub fn entries(&self) -> &[DayEntry] {
        &self.entries
    }

    fn check(&self, date: NaiveDate) -> Result<(), CalendarError> {
        if self.years.contains(&date.year()) {
            Ok(())
        } else {
            Err(CalendarError::YearNotCovered { year: date.year() })
        }
    }

    /// The entry that decides `date` for `region`: the most specific one whose region contains it.
    pub fn entry(&self, date: NaiveDate, region: RegionCode) -> Result<Option<&DayEntry>, CalendarError> {
        self.check(date)?;
        Ok(self
            .by_date
            .get(&date)
            .and_then(|ix| ix.iter().rev().map(|&i| &self.entries[i]).find(|e| e.applies_to(region))))
    }

    /// 工作日: Monday–Friday that is not a holiday, or a make-up Saturday/Sunday (D10).
    pub fn is_workday(&self, date: NaiveDate, region: RegionCode) -> Result<bool, CalendarError> {
        Ok(match self.entry(date, region)? {
            Some(e) => e.kind == DayKind::Workday,
            None => !is_weekend(date),
        })
    }

    /// A day of a statutory or regional holiday period (法定节假日, incl. its weekend days).
    pub fn is_holiday(&self, date: NaiveDate, region: RegionCode) -> Result<bool, CalendarError> {
        Ok(self.entry(date, region)?.is_some_and(|e| e.kind == DayKind::Holiday))
    }

    /// A day that extends a calendar-day deadline under `policy`.
    fn is_rest_day(&self, date: NaiveDate, region: RegionCode, policy: HolidayPolicy) -> Result<bool, CalendarError> {
        if policy.weekends_count_as_rest_days {
            Ok(!self.is_workday(date, region)?)
        } else {
            self.is_holiday(date, region)
        }
    }

    fn next_day(&self, date: NaiveDate) -> Result<NaiveDate, CalendarError> {
        date.succ_opt().ok_or(CalendarError::YearNotCovered { year: date.year().saturating_add(1) })
    }

    /// The first working day strictly after `date`.
    fn next_workday(&self, date: NaiveDate, region: RegionCode) -> Result<NaiveDate, CalendarError> {
        let mut d = self.next_day(date)?;
        while !self.is_workday(d, region)? {
            d = self.next_day(d)?;
        }
        Ok(d)
    }

    /// “N 个工作日内”: the n-th working day after `date`, counting from the day after (§11.3).
    /// `n` ≥ 1. Every day passed must lie in a covered year.
    pub fn add_working_days(&self, date: NaiveDate, n: u32, region: RegionCode) -> Result<NaiveDate, CalendarError> {
        if n == 0 {
            return Err(CalendarError::ZeroDays);
        }
        self.check(date)?;
        let mut d = date;
        for _ in 0..n {
            d = self.next_workday(d, region)?;
        }
        Ok(d)
    }

    /// “N 天内”: strict = `date` + n (the day after the trigger is day 1, §11.3). When the policy
    /// extends and strict is a rest day under it (a statutory holiday by default, D10), extended is
    /// the next working day after that holiday ends; otherwise extended = strict.
    pub fn add_calendar_days(
        &self,
        date: NaiveDate,
        n: u32,
        region: RegionCode,
        policy: HolidayPolicy,
    ) -> Result<Due, CalendarError> {
        if n == 0 {
            return Err(CalendarError::ZeroDays);
        }
        self.check(date)?;
        let strict = date.checked_add_days(Days::new(u64::from(n))).ok_or(CalendarError::DaysOutOfRange(n))?;
        self.check(strict)?;
        let extended = if policy.extend_over_holidays && self.is_rest_day(strict, region, policy)? {
            self.next_workday(strict, region)?
        } else {
            strict
        };
        Ok(Due { strict, extended })
    }

    /// Working days in the half-open interval (a, b] — the trigger day does not count, the end day
    /// does, matching [`WorkCalendar::add_working_days`]: `working_days_between(d, add_working_days(d, n)) == n`.
    /// Negative when b < a (minus the working days in (b, a]); e.g. `working_days_between(due, today)`
    /// is how many working days a task is overdue.
    pub fn working_days_between(&self, a: NaiveDate, b: NaiveDate, region: RegionCode) -> Result<i64, CalendarError> {
        let (lo, hi, sign) = if a <= b { (a, b, 1) } else { (b, a, -1) };
        self.check(lo)?;
        self.check(hi)?;
        let mut count = 0i64;
        let mut d = lo;
        while d < hi {
            d = self.next_day(d)?;
            if self.is_workday(d, region)? {
                count += 1;
            }
        }
        Ok(sign * count)
    }
}

fn parse_years(spec: &str) -> Result<RangeInclusive<i32>, CalendarError> {
    let bad = || CalendarError::BadYears(spec.to_string());
    let (a, b) = spec.split_once('-').unwrap_or((spec, spec));
    let a: i32 = a.trim().parse().map_err(|_| bad())?;
    let b: i32 = b.trim().parse().map_err(|_| bad())?;
    if a > b || !(1900..=9999).contains(&a) || !(1900..=9999).contains(&b) {
        return Err(bad());
    }
    Ok(a..=b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn md(m: u32, day: u32) -> NaiveDate {
        d(2022, m, day)
    }

    /// 雒容镇大正村: inside Guangxi.
    fn gx() -> RegionCode {
        RegionCode::parse("450203100201").unwrap()
    }

    /// 北京市: outside Guangxi, so only national entries apply.
    fn national() -> RegionCode {
        RegionCode::parse("110000000000").unwrap()
    }

    fn cal() -> &'static WorkCalendar {
        static CAL: std::sync::OnceLock<WorkCalendar> = std::sync::OnceLock::new();
        CAL.get_or_init(WorkCalendar::builtin)
    }

    fn count_workdays(c: &WorkCalendar, year: i32, region: RegionCode) -> usize {
        d(year, 1, 1).iter_days().take_while(|x| x.year() == year).filter(|&x| c.is_workday(x, region).unwrap()).count()
    }

    #[test]
    fn builtin_parses_and_covers_2021_to_2026() {
        let c = cal();
        assert_eq!(c.years(), 2021..=2026);
        assert!(c.entries().len() > 200);
        assert!(c.entries().iter().all(|e| !e.source.is_empty()));
        // Every covered year has national data and Guangxi 三月三 data (D11).
        for y in 2021..=2026 {
            let has = |regional: bool| {
                c.entries().iter().any(|e| e.date.year() == y && e.region.is_some() == regional && e.name != "元旦")
            };
            assert!(has(false) && has(true), "{y}");
        }
    }

    #[test]
    fn working_days_per_year() {
        // D11: 2022 has 249 national working days.
        assert_eq!(count_workdays(cal(), 2022, national()), 249);
        let national_counts: Vec<usize> = (2021..=2026).map(|y| count_workdays(cal(), y, national())).collect();
        assert_eq!(national_counts, [250, 249, 249, 251, 248, 248]);
        // 壮族三月三 costs Guangxi two more working days each year.
        let gx_counts: Vec<usize> = (2021..=2026).map(|y| count_workdays(cal(), y, gx())).collect();
        assert_eq!(gx_counts, [248, 247, 247, 249, 246, 246]);
    }

    #[test]
    fn guangxi_differences_2022() {
        let c = cal();
        // §11.2: 04-02 is a make-up working day nationally, a day off in Guangxi; 04-06 is off in Guangxi.
        assert!(c.is_workday(md(4, 2), national()).unwrap());
        assert!(!c.is_workday(md(4, 2), gx()).unwrap());
        assert!(c.is_workday(md(4, 6), national()).unwrap());
        assert!(!c.is_workday(md(4, 6), gx()).unwrap());
        for day in [md(4, 4), md(4, 5), md(5, 2), md(5, 3), md(5, 4)] {
            assert!(!c.is_workday(day, national()).unwrap() && !c.is_workday(day, gx()).unwrap(), "{day}");
        }
        for day in [md(4, 24), md(5, 7)] {
            assert!(c.is_workday(day, national()).unwrap() && c.is_workday(day, gx()).unwrap(), "{day}");
        }
        assert_eq!(c.entry(md(4, 2), gx()).unwrap().unwrap().name, "壮族三月三");
        assert_eq!(c.entry(md(4, 2), national()).unwrap().unwrap().kind, DayKind::Workday);
        // The province code itself and every level below it get the regional days.
        for code in ["450000000000", "450200000000", "450203000000", "450203100000"] {
            assert!(!c.is_workday(md(4, 6), RegionCode::parse(code).unwrap()).unwrap(), "{code}");
        }
        // 2023: 04-23 is a national make-up Sunday but part of 三月三 in Guangxi.
        assert!(c.is_workday(d(2023, 4, 23), national()).unwrap());
        assert!(!c.is_workday(d(2023, 4, 23), gx()).unwrap());
        // 2021: Guangxi works on Sunday 04-18 in exchange for Friday 04-16.
        assert!(c.is_workday(d(2021, 4, 18), gx()).unwrap());
        assert!(!c.is_workday(d(2021, 4, 18), national()).unwrap());
    }

    /// DOMAIN §11 worked examples: (trigger, +5 working days Guangxi, +5 national, +10 calendar days).
    type MonthDay = (u32, u32);
    const WORKED: [(MonthDay, MonthDay, MonthDay, MonthDay); 7] = [
        ((3, 28), (4, 7), (4, 2), (4, 7)),
        ((3, 29), (4, 8), (4, 6), (4, 8)),
        ((3, 31), (4, 12), (4, 8), (4, 10)),
        ((4, 1), (4, 13), (4, 11), (4, 11)),
        ((4, 25), (5, 5), (5, 5), (5, 5)),
        ((4, 28), (5, 9), (5, 9), (5, 8)),
        ((4, 29), (5, 10), (5, 10), (5, 9)),
    ];

    #[test]
    fn domain_worked_examples() {
        let c = cal();
        for (t, wd_gx, wd_nat, cal10) in WORKED {
            let t = md(t.0, t.1);
            assert_eq!(c.add_working_days(t, 5, gx()).unwrap(), md(wd_gx.0, wd_gx.1), "GX {t}");
            assert_eq!(c.add_working_days(t, 5, national()).unwrap(), md(wd_nat.0, wd_nat.1), "national {t}");
            let cal10 = md(cal10.0, cal10.1);
            for region in [gx(), national()] {
                // None of these ends on a statutory holiday, so the default policy does not move them;
                // 04-10 and 05-08 are ordinary Sundays (§11.3 note).
                let due = c.add_calendar_days(t, 10, region, HolidayPolicy::default()).unwrap();
                assert_eq!(due, Due { strict: cal10, extended: cal10 }, "{t}");
            }
            assert_eq!(c.working_days_between(t, md(wd_gx.0, wd_gx.1), gx()).unwrap(), 5);
        }
        // The acceptance example: inclusion 2022-03-28 → officer due 04-07 in Guangxi, 04-02 nationally.
        assert_eq!(c.add_working_days(md(3, 28), 5, gx()).unwrap(), md(4, 7));
    }

    #[test]
    fn calendar_day_extension_policies() {
        let c = cal();
        let weekends = HolidayPolicy { extend_over_holidays: true, weekends_count_as_rest_days: true };
        // Ends on an ordinary Sunday: moved only when weekends count as rest days.
        assert_eq!(
            c.add_calendar_days(md(3, 31), 10, gx(), weekends).unwrap(),
            Due { strict: md(4, 10), extended: md(4, 11) }
        );
        assert_eq!(
            c.add_calendar_days(md(4, 28), 10, gx(), weekends).unwrap(),
            Due { strict: md(5, 8), extended: md(5, 9) }
        );
        // Ends on 清明 (Sunday 04-03, inside the holiday): national → 04-06, Guangxi (三月三 until 04-06) → 04-07.
        let due = c.add_calendar_days(md(3, 24), 10, national(), HolidayPolicy::default()).unwrap();
        assert_eq!(due, Due { strict: md(4, 3), extended: md(4, 6) });
        assert!(due.is_extended());
        let due = c.add_calendar_days(md(3, 24), 10, gx(), HolidayPolicy::default()).unwrap();
        assert_eq!(due, Due { strict: md(4, 3), extended: md(4, 7) });
        // D12: village summaries due 05-04, inside 劳动节 → 05-05.
        let due = c.add_calendar_days(md(4, 24), 10, gx(), HolidayPolicy::default()).unwrap();
        assert_eq!(due, Due { strict: md(5, 4), extended: md(5, 5) });
        // No extension when switched off.
        let due = c.add_calendar_days(md(4, 24), 10, gx(), HolidayPolicy::NO_EXTENSION).unwrap();
        assert_eq!(due, Due { strict: md(5, 4), extended: md(5, 4) });
        // A 三月三 day is a holiday in Guangxi only.
        let due = c.add_calendar_days(md(3, 27), 10, gx(), HolidayPolicy::default()).unwrap();
        assert_eq!(due, Due { strict: md(4, 6), extended: md(4, 7) });
        let due = c.add_calendar_days(md(3, 27), 10, national(), HolidayPolicy::default()).unwrap();
        assert_eq!(due, Due { strict: md(4, 6), extended: md(4, 6) });
        // "与周末连休": 2024 端午 06-08 (Saturday) is part of the holiday → next working day 06-11.
        let due = c.add_calendar_days(d(2024, 6, 1), 7, national(), HolidayPolicy::default()).unwrap();
        assert_eq!(due, Due { strict: d(2024, 6, 8), extended: d(2024, 6, 11) });
    }

    #[test]
    fn working_days_between_convention() {
        let c = cal();
        assert_eq!(c.working_days_between(md(3, 28), md(3, 28), gx()).unwrap(), 0);
        // (04-01, 04-07] in Guangxi: only 04-07.
        assert_eq!(c.working_days_between(md(4, 1), md(4, 7), gx()).unwrap(), 1);
        assert_eq!(c.working_days_between(md(4, 1), md(4, 7), national()).unwrap(), 3);
        assert_eq!(c.working_days_between(md(4, 7), md(4, 1), national()).unwrap(), -3);
        // A whole year: (2021-12-31, 2022-12-31].
        assert_eq!(c.working_days_between(d(2021, 12, 31), d(2022, 12, 31), national()).unwrap(), 249);
    }

    #[test]
    fn years_outside_the_data_are_errors() {
        let c = cal();
        let err = c.is_workday(d(2027, 1, 4), gx()).unwrap_err();
        assert_eq!(err, CalendarError::YearNotCovered { year: 2027 });
        assert!(err.to_string().contains("没有2027年") && err.to_string().contains("管理员"), "{err}");
        assert_eq!(c.is_workday(d(2020, 6, 1), gx()), Err(CalendarError::YearNotCovered { year: 2020 }));
        // Running past the end while counting is an error too, not a weekday guess.
        assert_eq!(c.add_working_days(d(2026, 12, 28), 5, gx()), Err(CalendarError::YearNotCovered { year: 2027 }));
        assert_eq!(
            c.add_calendar_days(d(2026, 12, 25), 10, gx(), HolidayPolicy::default()),
            Err(CalendarError::YearNotCovered { year: 2027 })
        );
        assert_eq!(c.add_working_days(d(2020, 12, 31), 1, gx()), Err(CalendarError::YearNotCovered { year: 2020 }));
        assert_eq!(
            c.working_days_between(d(2026, 12, 1), d(2027, 1, 5), gx()),
            Err(CalendarError::YearNotCovered { year: 2027 })
        );
        assert_eq!(c.add_working_days(md(3, 28), 0, gx()), Err(CalendarError::ZeroDays));
        assert_eq!(c.add_working_days(md(3, 28), u32::MAX, gx()), Err(CalendarError::YearNotCovered { year: 2027 }));
        assert_eq!(
            c.add_calendar_days(md(3, 28), u32::MAX, gx(), HolidayPolicy::default()),
            Err(CalendarError::DaysOutOfRange(u32::MAX))
        );
    }

    #[test]
    fn csv_reading_and_validation() {
        let text = "\u{feff}# years: 2022\r\ndate,kind,region,name,source\r\n\
                    2022-04-02,workday,000000000000,清明节,国办发明电〔2021〕11号\r\n\
                    2022-04-02,holiday,450000000000,壮族三月三,桂政办, 2022\r\n";
        let c = WorkCalendar::from_csv(text).unwrap();
        assert_eq!(c.years(), 2022..=2022);
        assert_eq!(c.entries().len(), 2);
        assert_eq!(c.entries()[1].source, "桂政办, 2022");
        assert!(c.is_workday(md(4, 2), national()).unwrap());
        assert!(!c.is_workday(md(4, 2), gx()).unwrap());
        // Round trip.
        let again = WorkCalendar::from_csv(&c.to_csv()).unwrap();
        assert_eq!(again.entries(), c.entries());
        let builtin = WorkCalendar::from_csv(&cal().to_csv()).unwrap();
        assert_eq!(builtin.entries(), cal().entries());

        assert_eq!(
            WorkCalendar::from_csv("2022-04-02,holiday,000000000000,x,y").unwrap_err(),
            CalendarError::MissingYears
        );
        assert!(matches!(WorkCalendar::from_csv("# years: 2023-2021\n"), Err(CalendarError::BadYears(_))));
        let line = |body: &str| WorkCalendar::from_csv(&format!("# years: 2022\n{body}\n")).unwrap_err();
        assert!(matches!(line("2022-13-01,holiday,000000000000,x,y"), CalendarError::Line { line: 2, .. }));
        assert!(matches!(line("2022-04-02,off,000000000000,x,y"), CalendarError::Line { line: 2, .. }));
        assert!(matches!(line("2022-04-02,holiday,45,x,y"), CalendarError::Line { line: 2, .. }));
        assert!(matches!(line("2022-04-02,holiday,000000000000"), CalendarError::Line { line: 2, .. }));
        assert_eq!(line("2022-04-06,workday,000000000000,x,y"), CalendarError::WorkdayNotWeekend { date: md(4, 6) });
        assert_eq!(line("2022-04-06,holiday,000000000000, ,y"), CalendarError::EmptyName { date: md(4, 6) });
        assert_eq!(
            line("2022-04-06,holiday,450000000000,a,y\n2022-04-06,holiday,450000000000,b,y"),
            CalendarError::Duplicate { date: md(4, 6), region: "450000000000".into() }
        );
    }

    #[test]
    fn most_specific_region_wins() {
        // Saturday 2022-04-09: Guangxi made a working day, one county in it a day off again.
        let e = |region: Option<&str>, kind| DayEntry {
            date: md(4, 9),
            kind,
            region: region.map(|r| RegionCode::parse(r).unwrap()),
            name: "测试".into(),
            source: "测试".into(),
        };
        let c = WorkCalendar::new(
            2022..=2022,
            vec![e(Some("450203000000"), DayKind::Holiday), e(Some("450000000000"), DayKind::Workday)],
        )
        .unwrap();
        assert!(!c.is_workday(md(4, 9), gx()).unwrap());
        assert!(c.is_workday(md(4, 9), RegionCode::parse("450102000000").unwrap()).unwrap());
        assert!(!c.is_workday(md(4, 9), national()).unwrap());
        assert_eq!(c.entries()[0].region_text(), "450000000000");
    }

    /// The national part against the `holiday-cn` crate, every date of every covered year.
    #[test]
    fn national_days_match_holiday_cn() {
        let c = cal();
        let national_only: Vec<DayEntry> = c.entries().iter().filter(|e| e.region.is_none()).cloned().collect();
        let nat = WorkCalendar::new(c.years(), national_only).unwrap();
        let mut compared = Vec::new();
        let mut oracle_without_data = Vec::new();
        let mut mismatches = Vec::new();
        for year in c.years() {
            let days: Vec<NaiveDate> = d(year, 1, 1).iter_days().take_while(|x| x.year() == year).collect();
            let key = |x: &NaiveDate| x.format("%Y-%m-%d").to_string();
            // holiday-cn silently falls back to "weekends off" for a year it has no notice for (STACK.md).
            if !days.iter().any(|x| holiday_cn::is_offday(&key(x)).unwrap().1.is_some()) {
                oracle_without_data.push(year);
                continue;
            }
            compared.push(year);
            for x in &days {
                let ours = nat.is_workday(*x, national()).unwrap();
                let theirs = holiday_cn::is_workday(&key(x)).unwrap();
                if ours != theirs {
                    mismatches.push(format!("{x}: ours {ours}, holiday-cn {theirs}"));
                }
            }
        }
        assert!(mismatches.is_empty(), "disagreements with holiday-cn: {mismatches:#?}");
        // The oracle must not be vacuous: it has every notice up to 2025.
        assert!((2021..=2025).all(|y| compared.contains(&y)), "compared only {compared:?}");
        // holiday-cn 0.2.20260915072418 ships an empty 2026 file: there our data rests on the notice alone.
        if !oracle_without_data.is_empty() {
            eprintln!("holiday-cn has no data for {oracle_without_data:?}; not compared");
        }
    }

    prop_compose! {
        fn date_2021_to_sep_2026()(offset in 0u64..2070) -> NaiveDate {
            d(2021, 1, 1).checked_add_days(Days::new(offset)).unwrap()
        }
    }

    fn any_region() -> impl Strategy<Value = RegionCode> {
        prop_oneof![Just(gx()), Just(national())]
    }

    proptest! {
        #[test]
        fn working_days_compose(date in date_2021_to_sep_2026(), n in 1u32..30, m in 1u32..30, region in any_region()) {
            let c = cal();
            let step = c.add_working_days(c.add_working_days(date, n, region).unwrap(), m, region).unwrap();
            prop_assert_eq!(step, c.add_working_days(date, n + m, region).unwrap());
        }

        #[test]
        fn working_day_results_are_working_days(date in date_2021_to_sep_2026(), n in 1u32..60, region in any_region()) {
            let c = cal();
            let due = c.add_working_days(date, n, region).unwrap();
            prop_assert!(due > date);
            prop_assert!(c.is_workday(due, region).unwrap());
            prop_assert_eq!(c.working_days_between(date, due, region).unwrap(), i64::from(n));
            prop_assert_eq!(c.working_days_between(due, date, region).unwrap(), -i64::from(n));
        }

        #[test]
        fn extension_is_never_earlier(
            date in date_2021_to_sep_2026(),
            n in 1u32..60,
            region in any_region(),
            extend in any::<bool>(),
            weekends in any::<bool>(),
        ) {
            let c = cal();
            let policy = HolidayPolicy { extend_over_holidays: extend, weekends_count_as_rest_days: weekends };
            let due = c.add_calendar_days(date, n, region, policy).unwrap();
            prop_assert_eq!(due.strict, date + Days::new(u64::from(n)));
            prop_assert!(due.extended >= due.strict);
            if due.is_extended() {
                prop_assert!(extend);
                prop_assert!(c.is_workday(due.extended, region).unwrap());
                prop_assert!(!c.is_workday(due.strict, region).unwrap());
                // Every day skipped is a day off.
                prop_assert_eq!(c.working_days_between(due.strict, due.extended, region).unwrap(), 1);
            }
            if extend && !c.is_workday(due.strict, region).unwrap() && (weekends || c.is_holiday(due.strict, region).unwrap()) {
                prop_assert!(due.is_extended());
            }
        }
    }
}
