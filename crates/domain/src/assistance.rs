//! 帮扶: the assistance officer of a monitored household (DOMAIN §7.1, D10) and the deadlines that
//! follow from inclusion — one active officer per household, due within 5 working days of
//! 纳入监测; the first measures within 10 days of the assignment.

use chrono::{DateTime, NaiveDate, Utc};

use crate::account::UserId;
use crate::calendar::{CalendarError, Due, HolidayPolicy, WorkCalendar};
use crate::fields::FieldErrors;
use crate::household::{HouseholdId, HouseholdNo, OfficerContact, PersonName, Phone};
use crate::region::RegionCode;

/// One assignment of an assistance officer to a household; the active one has no end.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OfficerAssignment {
    pub id: i64,
    pub household_id: HouseholdId,
    /// The officer's fangpin account, when they have one (they then see their households).
    pub user_id: Option<UserId>,
    pub name: PersonName,
    pub unit: String,
    pub phone: Option<Phone>,
    pub started_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub end_reason: String,
    pub assigned_by: String,
    pub assigned_at: DateTime<Utc>,
}

impl OfficerAssignment {
    pub fn contact(&self) -> OfficerContact {
        OfficerContact { name: self.name.clone(), unit: self.unit.clone(), phone: self.phone.clone() }
    }
}

/// An officer as the form or the API submits it: an account, or a name with unit and phone.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct OfficerInput {
    /// A user id (an account with the 帮扶责任人 role), or empty.
    pub user: String,
    pub name: String,
    pub unit: String,
    pub phone: String,
    /// 帮扶开始时间 (YYYY-MM-DD).
    pub on: String,
    /// Why the previous officer is replaced (required when there is one).
    pub reason: String,
}

/// A checked officer, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOfficer {
    pub user_id: Option<UserId>,
    pub name: PersonName,
    pub unit: String,
    pub phone: Option<Phone>,
    pub started_on: NaiveDate,
    pub reason: String,
}

impl OfficerInput {
    /// Checks the fields; `account` is the chosen user's (name, and whether they may serve here).
    pub fn parse(
        &self,
        account: Option<(UserId, String)>,
        monitored_since: NaiveDate,
        today: NaiveDate,
        replacing: bool,
    ) -> Result<NewOfficer, FieldErrors> {
        let mut errs = FieldErrors::default();
        let name_text = match &account {
            Some((_, n)) if self.name.trim().is_empty() => n.clone(),
            _ => self.name.clone(),
        };
        let name = match PersonName::parse(&name_text) {
            Ok(n) => Some(n),
            Err(e) => {
                errs.push("name", "姓名", format!("{e}（或从帮扶责任人账户中选择）"));
                None
            }
        };
        let unit = self.unit.trim().to_string();
        if unit.is_empty() {
            errs.push("unit", "帮扶（选派）单位", "请填写帮扶（选派）单位名称，如：柳州市鱼峰区农业农村局");
        }
        let phone = match crate::text::compact(&self.phone).as_str() {
            "" => None,
            _ => match Phone::parse(&self.phone) {
                Ok(p) => Some(p),
                Err(e) => {
                    errs.push("phone", "联系电话", e.to_string());
                    None
                }
            },
        };
        let on = match NaiveDate::parse_from_str(self.on.trim(), "%Y-%m-%d") {
            Ok(d) if d > today => {
                errs.push("on", "帮扶开始时间", format!("不能晚于今天（{today}）"));
                None
            }
            Ok(d) if d < monitored_since => {
                errs.push("on", "帮扶开始时间", format!("不能早于纳入监测的日期（{monitored_since}）"));
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                errs.push("on", "帮扶开始时间", "请填写日期，如 2022-04-01");
                None
            }
        };
        let reason = self.reason.trim().to_string();
        if replacing && reason.is_empty() {
            errs.push("reason", "更换原因", "更换帮扶责任人须写明原因（如：原帮扶责任人工作调动）");
        }
        match (name, on, errs.is_empty()) {
            (Some(name), Some(started_on), true) => {
                Ok(NewOfficer { user_id: account.map(|(id, _)| id), name, unit, phone, started_on, reason })
            }
            _ => Err(errs),
        }
    }
}

/// The deadline parameters of one region and year (D10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssistanceRules {
    pub officer_workdays: u32,
    pub measures_days: u32,
    /// The first-measures clock starts at 纳入监测 rather than at the first officer's assignment
    /// (D10: "start point configurable").
    pub measures_from_inclusion: bool,
    pub policy: HolidayPolicy,
}

impl Default for AssistanceRules {
    fn default() -> Self {
        AssistanceRules {
            officer_workdays: 5,
            measures_days: 10,
            measures_from_inclusion: false,
            policy: HolidayPolicy::default(),
        }
    }
}

impl AssistanceRules {
    /// Where the first-measures clock starts for a household monitored since `monitored_since`
    /// whose first officer of this monitoring period started on `first_officer` (replacing an
    /// officer does not restart it). `None` while it has not started: no officer yet, counted
    /// from the assignment.
    pub fn measures_start(&self, monitored_since: NaiveDate, first_officer: Option<NaiveDate>) -> Option<NaiveDate> {
        if self.measures_from_inclusion { Some(monitored_since) } else { first_officer }
    }

    /// What the clock starts from, for the sentences on the pages.
    pub fn measures_start_label(&self) -> &'static str {
        if self.measures_from_inclusion { "纳入监测" } else { "帮扶责任人落实" }
    }
}

/// The first officer of the monitoring period that began on `monitored_since`; an active officer
/// kept from an earlier period (re-identified after elimination) serves from the inclusion.
pub fn first_officer_since(history: &[OfficerAssignment], monitored_since: NaiveDate) -> Option<NaiveDate> {
    history
        .iter()
        .filter(|o| o.started_on >= monitored_since)
        .map(|o| o.started_on)
        .min()
        .or_else(|| history.iter().any(|o| o.ended_on.is_none()).then_some(monitored_since))
}

/// 帮扶责任人 due: the n-th working day after 纳入监测 in the household's region (D10).
pub fn officer_due(
    cal: &WorkCalendar,
    monitored_since: NaiveDate,
    region: RegionCode,
    rules: &AssistanceRules,
) -> Result<NaiveDate, CalendarError> {
    cal.add_working_days(monitored_since, rules.officer_workdays.max(1), region)
}

/// First measures due: n calendar days after the clock's start (D10, [`AssistanceRules::measures_start`]),
/// moved past a statutory holiday under the policy switch; both dates are kept.
pub fn measures_due(
    cal: &WorkCalendar,
    start: NaiveDate,
    region: RegionCode,
    rules: &AssistanceRules,
) -> Result<Due, CalendarError> {
    cal.add_calendar_days(start, rules.measures_days.max(1), region, rules.policy)
}

/// A monitored household and where its officer deadline stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OfficerGap {
    pub household_id: HouseholdId,
    pub household_no: HouseholdNo,
    pub village: RegionCode,
    pub head_name: Option<String>,
    pub monitored_since: NaiveDate,
}

/// How a deadline stands today, in working days (positive = left, negative = overdue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DeadlineState {
    pub due: NaiveDate,
    pub overdue: bool,
    /// Working days left (≥ 0) or overdue (< 0), on the region's calendar.
    pub working_days: i64,
}

impl DeadlineState {
    pub fn of(cal: &WorkCalendar, due: NaiveDate, today: NaiveDate, region: RegionCode) -> Result<Self, CalendarError> {
        Ok(DeadlineState { due, overdue: today > due, working_days: cal.working_days_between(today, due, region)? })
    }

    /// For a deadline counted in calendar days (measures, D10): "还剩3天" / "今天到期" / "已超期2天".
    pub fn describe_days(&self, today: NaiveDate) -> String {
        let d = (self.due - today).num_days();
        match d {
            0 => "今天到期".to_string(),
            d if d > 0 => format!("还剩{d}天"),
            d => format!("已超期{}天", -d),
        }
    }

    /// "还剩3个工作日" / "今天到期" / "已超期2个工作日".
    pub fn describe(&self) -> String {
        match (self.overdue, self.working_days) {
            (true, d) => format!("已超期{}个工作日", d.unsigned_abs().max(1)),
            (false, 0) => "今天到期".to_string(),
            (false, d) => format!("还剩{d}个工作日"),
        }
    }
}

/// How many deadlines are past, fall today, within the next 7 days, or later — the inbox's
/// buckets. A date the calendar cannot compute (a year without data) counts as `unknown`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DueCounts {
    pub overdue: i64,
    pub today: i64,
    pub week: i64,
    pub later: i64,
    pub unknown: i64,
}

impl DueCounts {
    pub fn add(&mut self, due: Option<NaiveDate>, today: NaiveDate, n: i64) {
        let slot = match due {
            None => &mut self.unknown,
            Some(d) if d < today => &mut self.overdue,
            Some(d) if d == today => &mut self.today,
            Some(d) if (d - today).num_days() <= 7 => &mut self.week,
            Some(_) => &mut self.later,
        };
        *slot += n;
    }

    pub fn total(&self) -> i64 {
        self.overdue + self.today + self.week + self.later + self.unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn guangxi_officer_due_counts_sanyuesan() {
        // the example: inclusion on 2022-03-28 in 雒容镇 → 2022-04-07 (national alone: 04-02,
        // a make-up working Saturday)
        let cal = WorkCalendar::builtin();
        let village = RegionCode::parse("450203100201").unwrap();
        let rules = AssistanceRules::default();
        assert_eq!(officer_due(&cal, d("2022-03-28"), village, &rules).unwrap(), d("2022-04-07"));
        let beijing = RegionCode::parse("110101001001").unwrap();
        assert_eq!(officer_due(&cal, d("2022-03-28"), beijing, &rules).unwrap(), d("2022-04-02"));
        // measures: assignment 04-07 + 10 days = 04-17, a Sunday but not a statutory holiday: kept
        let due = measures_due(&cal, d("2022-04-07"), village, &rules).unwrap();
        assert_eq!((due.strict, due.extended), (d("2022-04-17"), d("2022-04-17")));
        // 09-25 + 10 = 10-05, inside the National Day holiday: extended to 10-08 (a make-up workday)
        let due = measures_due(&cal, d("2022-09-25"), village, &rules).unwrap();
        assert_eq!((due.strict, due.extended), (d("2022-10-05"), d("2022-10-08")));
    }

    #[test]
    fn measures_clock_switches() {
        // D10: the start point and the holiday extension are switches (per year and region)
        let cal = WorkCalendar::builtin();
        let village = RegionCode::parse("450203100201").unwrap();
        let by_officer = AssistanceRules::default();
        assert_eq!(by_officer.measures_start(d("2022-09-20"), None), None, "no officer yet: not started");
        assert_eq!(by_officer.measures_start(d("2022-09-20"), Some(d("2022-09-25"))), Some(d("2022-09-25")));
        let by_inclusion = AssistanceRules { measures_from_inclusion: true, ..by_officer };
        assert_eq!(by_inclusion.measures_start(d("2022-09-20"), None), Some(d("2022-09-20")));
        assert_eq!(by_inclusion.measures_start(d("2022-09-20"), Some(d("2022-09-25"))), Some(d("2022-09-20")));
        // 09-25 + 10 = 10-05 (National Day): extended to 10-08 by default, kept when switched off
        let strict = AssistanceRules { policy: HolidayPolicy::NO_EXTENSION, ..by_officer };
        let due = measures_due(&cal, d("2022-09-25"), village, &strict).unwrap();
        assert_eq!((due.strict, due.extended), (d("2022-10-05"), d("2022-10-05")));
    }

    #[test]
    fn due_buckets() {
        let today = d("2022-04-07");
        let mut c = DueCounts::default();
        for (due, n) in [("2022-04-06", 2), ("2022-04-07", 3), ("2022-04-14", 4), ("2022-04-15", 5)] {
            c.add(Some(d(due)), today, n);
        }
        c.add(None, today, 1);
        assert_eq!(c, DueCounts { overdue: 2, today: 3, week: 4, later: 5, unknown: 1 });
        assert_eq!(c.total(), 15);
    }

    #[test]
    fn deadline_states() {
        let cal = WorkCalendar::builtin();
        let village = RegionCode::parse("450203100201").unwrap();
        let s = DeadlineState::of(&cal, d("2022-04-07"), d("2022-04-01"), village).unwrap();
        assert!(!s.overdue);
        // Guangxi: 04-02 … 04-06 are 清明 and 三月三 days off, so only 04-07 is left
        assert_eq!(s.describe(), "还剩1个工作日");
        let s = DeadlineState::of(&cal, d("2022-04-07"), d("2022-04-07"), village).unwrap();
        assert_eq!(s.describe(), "今天到期");
        let s = DeadlineState::of(&cal, d("2022-04-07"), d("2022-04-11"), village).unwrap();
        assert!(s.overdue);
        assert_eq!(s.describe(), "已超期2个工作日"); // 04-08, 04-11
    }

    #[test]
    fn officer_form() {
        let since = d("2022-04-08");
        let today = d("2022-04-12");
        let ok = OfficerInput {
            name: "黄建华".into(),
            unit: "鱼峰区农业农村局".into(),
            phone: "13907720000".into(),
            on: "2022-04-11".into(),
            ..Default::default()
        };
        let o = ok.parse(None, since, today, false).unwrap();
        assert_eq!((o.name.as_str(), o.started_on), ("黄建华", d("2022-04-11")));
        let e = OfficerInput { on: "2022-04-01".into(), unit: String::new(), ..ok.clone() }
            .parse(None, since, today, false)
            .unwrap_err();
        assert_eq!(e.0.len(), 2);
        assert!(e.to_string().contains("不能早于纳入监测的日期"));
        let e = ok.parse(None, since, today, true).unwrap_err();
        assert!(e.to_string().contains("更换帮扶责任人须写明原因"));
        // an account gives the name
        let acct = OfficerInput { name: String::new(), ..ok };
        let o = acct.parse(Some((UserId(7), "蓝海".into())), since, today, false).unwrap();
        assert_eq!((o.user_id, o.name.as_str()), (Some(UserId(7)), "蓝海"));
    }
}
