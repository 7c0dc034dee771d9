//! 集中排查: the campaign as a first-class object (DOMAIN D12, D13) — a region scope, a policy
//! year, phases with dates, and exactly one screening task per household in scope.

use chrono::{DateTime, NaiveDate, Utc};

use crate::account::UserId;
use crate::calendar::{CalendarError, WorkCalendar};
use crate::codes::HouseholdKind;
use crate::household::{Household, HouseholdId, HouseholdNo};
use crate::region::{GroupNo, RegionCode};

crate::codes::code_enum! {
    /// 阶段 of a campaign (D12).
    pub enum CampaignPhase {
        Mobilize = 1 => "动员培训",
        Screening = 2 => "入户排查认定",
        Assistance = 3 => "落实帮扶",
        LookBack = 4 => "回头看",
        Summary = 5 => "总结上报",
    }
}

crate::codes::code_enum! {
    /// The three 核查表 of the seed (D13).
    pub enum FormKind {
        Monitored = 3 => "附件3 监测户情况核查表",
        Exited = 4 => "附件4 未纳入监测对象的脱贫户情况核查表",
        Ordinary = 5 => "附件5 一般农户情况核查表",
    }
}

impl FormKind {
    /// 附件3 / 附件4 / 附件5.
    pub fn short(self) -> &'static str {
        match self {
            FormKind::Monitored => "附件3",
            FormKind::Exited => "附件4",
            FormKind::Ordinary => "附件5",
        }
    }
}

/// D13: 附件3 for every household ever identified as 监测对象 (including risk eliminated),
/// 附件4 for 脱贫户 never monitored, 附件5 for the rest.
pub fn form_for(h: &Household) -> FormKind {
    if h.monitoring.ever_monitored() {
        FormKind::Monitored
    } else if h.kind == HouseholdKind::PovertyExited {
        FormKind::Exited
    } else {
        FormKind::Ordinary
    }
}

/// The dates of one phase. `due_on` is an earlier deadline inside the phase (visits by 04-18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PhaseDates {
    pub phase: CampaignPhase,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: NaiveDate,
    pub due_on: Option<NaiveDate>,
}

/// The seed's dates for a year (D12): 动员培训 by 03-26; 入户排查认定 03-26 → 04-30 with visits
/// due 04-18; 落实帮扶 03-26 → 04-30; 回头看 05-01 → 05-10; summaries due 05-04.
pub fn seed_phases(year: i32) -> Vec<PhaseDates> {
    let d = |m, day| NaiveDate::from_ymd_opt(year, m, day).unwrap_or_default();
    vec![
        PhaseDates { phase: CampaignPhase::Mobilize, starts_on: None, ends_on: d(3, 26), due_on: None },
        PhaseDates {
            phase: CampaignPhase::Screening,
            starts_on: Some(d(3, 26)),
            ends_on: d(4, 30),
            due_on: Some(d(4, 18)),
        },
        PhaseDates { phase: CampaignPhase::Assistance, starts_on: Some(d(3, 26)), ends_on: d(4, 30), due_on: None },
        PhaseDates { phase: CampaignPhase::LookBack, starts_on: Some(d(5, 1)), ends_on: d(5, 10), due_on: None },
        PhaseDates { phase: CampaignPhase::Summary, starts_on: None, ends_on: d(5, 4), due_on: None },
    ]
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CampaignError {
    #[error("请填写专项行动名称")]
    NoName,
    #[error("{phase}的开始日期 {starts} 晚于结束日期 {ends}")]
    Backwards { phase: CampaignPhase, starts: NaiveDate, ends: NaiveDate },
    #[error("{phase}的阶段时限 {due} 不在阶段日期之内")]
    DueOutside { phase: CampaignPhase, due: NaiveDate },
    #[error("缺少“{0}”阶段的日期")]
    MissingPhase(CampaignPhase),
    #[error("政策年度 {0} 不合理")]
    Year(i32),
}

/// Checks a campaign's definition before it is created or changed.
pub fn check_definition(name: &str, year: i32, phases: &[PhaseDates]) -> Result<(), CampaignError> {
    if name.trim().is_empty() {
        return Err(CampaignError::NoName);
    }
    if !(2015..=2100).contains(&year) {
        return Err(CampaignError::Year(year));
    }
    for p in CampaignPhase::ALL {
        let Some(d) = phases.iter().find(|d| d.phase == *p) else { return Err(CampaignError::MissingPhase(*p)) };
        if let Some(s) = d.starts_on
            && s > d.ends_on
        {
            return Err(CampaignError::Backwards { phase: *p, starts: s, ends: d.ends_on });
        }
        if let Some(due) = d.due_on
            && (due > d.ends_on || d.starts_on.is_some_and(|s| due < s))
        {
            return Err(CampaignError::DueOutside { phase: *p, due });
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct CampaignId(pub i64);

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Campaign {
    pub id: CampaignId,
    pub name: String,
    pub region: RegionCode,
    pub policy_year: i32,
    pub phases: Vec<PhaseDates>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl Campaign {
    pub fn phase(&self, p: CampaignPhase) -> Option<&PhaseDates> {
        self.phases.iter().find(|d| d.phase == p)
    }

    /// When the household visits are due (the screening phase's deadline, else its end).
    pub fn visits_due(&self) -> Option<NaiveDate> {
        self.phase(CampaignPhase::Screening).map(|d| d.due_on.unwrap_or(d.ends_on))
    }
}

crate::codes::code_enum! {
    /// Where a household's screening task stands, from its visits (D13).
    pub enum TaskStatus {
        Pending = 1 => "未走访",
        /// Only phone/WeChat visits: an in-person visit is still needed.
        RemoteOnly = 2 => "仅线上走访，待入户",
        Visited = 3 => "已入户走访",
        /// Visited, but the household was not met.
        NotReached = 4 => "未见到农户",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub i64);

/// A household's screening task in a campaign.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Task {
    pub id: TaskId,
    pub campaign: CampaignId,
    pub household_id: HouseholdId,
    pub household_no: HouseholdNo,
    pub village: RegionCode,
    pub group_no: GroupNo,
    pub form: FormKind,
    pub screener: Option<UserId>,
    pub screener_name: Option<String>,
    pub status: TaskStatus,
    pub last_visit_on: Option<NaiveDate>,
    pub head_name: Option<String>,
}

crate::codes::code_enum! {
    /// Why a household is on the 回头看 list (issue 3).
    pub enum LookBackReason {
        OpenFindings = 1 => "有待处理的发现",
        RemoteOnly = 2 => "仅线上核查",
        NotVisited = 3 => "尚未入户见到农户",
        ChangedAfterVisit = 4 => "核查后登记信息有变化",
    }
}

/// A household to visit again at the look-back, with the reasons it was listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LookBackItem {
    pub task: Task,
    pub open_findings: i64,
    pub remote_only: bool,
    pub not_visited: bool,
    pub changed_after_visit: bool,
    pub generated_on: NaiveDate,
    /// Visited in person on or after the day the list was generated.
    pub done: bool,
}

impl LookBackItem {
    pub fn reasons(&self) -> Vec<LookBackReason> {
        let mut r = Vec::new();
        if self.open_findings > 0 {
            r.push(LookBackReason::OpenFindings);
        }
        if self.remote_only {
            r.push(LookBackReason::RemoteOnly);
        }
        if self.not_visited {
            r.push(LookBackReason::NotVisited);
        }
        if self.changed_after_visit {
            r.push(LookBackReason::ChangedAfterVisit);
        }
        r
    }
}

/// Counts for one row of a progress table (a village, a group or a screener).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    pub households: i64,
    pub visited: i64,
    pub remote_only: i64,
    pub not_reached: i64,
    pub pending: i64,
    pub findings_open: i64,
}

impl Progress {
    /// Share of households visited in person, in per cent (0 with no households).
    pub fn coverage_percent(&self) -> i64 {
        if self.households == 0 { 0 } else { self.visited * 100 / self.households }
    }

    /// Households still without an in-person visit.
    pub fn outstanding(&self) -> i64 {
        self.households - self.visited
    }

    /// The total of several rows (a town's villages).
    pub fn sum<'a>(rows: impl IntoIterator<Item = &'a Progress>) -> Progress {
        rows.into_iter().fold(Progress::default(), |mut t, p| {
            t.households += p.households;
            t.visited += p.visited;
            t.remote_only += p.remote_only;
            t.not_reached += p.not_reached;
            t.pending += p.pending;
            t.findings_open += p.findings_open;
            t
        })
    }
}

/// A deadline as people read it: the date, working days left (negative when overdue), and
/// whether it is missed with work outstanding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Deadline {
    pub date: NaiveDate,
    pub working_days_left: i64,
    pub overdue: bool,
    /// The date is not a working day (the seed's 05-04 falls in the May Day holiday): the
    /// pages say so, so nobody waits for an office that is closed.
    pub on_rest_day: bool,
}

/// A deadline judged on `today` with the work calendar of `region` (D10).
pub fn deadline(
    calendar: &WorkCalendar,
    region: RegionCode,
    date: NaiveDate,
    today: NaiveDate,
    outstanding: bool,
) -> Result<Deadline, CalendarError> {
    let left = calendar.working_days_between(today, date, region)?;
    let on_rest_day = !calendar.is_workday(date, region)?;
    Ok(Deadline { date, working_days_left: left, overdue: outstanding && today > date, on_rest_day })
}

/// The phase fields of the campaign form: (phase, starts, ends, due) field names.
pub const PHASE_FIELDS: [(CampaignPhase, &str, &str, &str); 5] = [
    (CampaignPhase::Mobilize, "p1_starts", "p1_ends", "p1_due"),
    (CampaignPhase::Screening, "p2_starts", "p2_ends", "p2_due"),
    (CampaignPhase::Assistance, "p3_starts", "p3_ends", "p3_due"),
    (CampaignPhase::LookBack, "p4_starts", "p4_ends", "p4_due"),
    (CampaignPhase::Summary, "p5_starts", "p5_ends", "p5_due"),
];

/// A campaign as typed into the form (or given on the command line): text, checked by
/// [`CampaignInput::parse`] with a message per field.
#[derive(Debug, Clone, Default)]
pub struct CampaignInput {
    pub name: String,
    pub region: String,
    pub policy_year: String,
    /// Phase dates by field name of [`PHASE_FIELDS`].
    pub dates: std::collections::BTreeMap<String, String>,
}

/// A checked campaign definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignDefinition {
    pub name: String,
    pub region: RegionCode,
    pub policy_year: i32,
    pub phases: Vec<PhaseDates>,
}

impl CampaignInput {
    /// The form prefilled with the seed's dates for `year` (D12).
    pub fn seeded(name: &str, region: RegionCode, year: i32) -> Self {
        let mut dates = std::collections::BTreeMap::new();
        for (d, (_, s, e, due)) in seed_phases(year).iter().zip(PHASE_FIELDS) {
            dates.insert(s.to_string(), d.starts_on.map(|x| x.to_string()).unwrap_or_default());
            dates.insert(e.to_string(), d.ends_on.to_string());
            dates.insert(due.to_string(), d.due_on.map(|x| x.to_string()).unwrap_or_default());
        }
        CampaignInput { name: name.to_string(), region: region.to_string(), policy_year: year.to_string(), dates }
    }

    pub fn from_campaign(c: &Campaign) -> Self {
        let mut dates = std::collections::BTreeMap::new();
        for (phase, s, e, due) in PHASE_FIELDS {
            if let Some(d) = c.phase(phase) {
                dates.insert(s.to_string(), d.starts_on.map(|x| x.to_string()).unwrap_or_default());
                dates.insert(e.to_string(), d.ends_on.to_string());
                dates.insert(due.to_string(), d.due_on.map(|x| x.to_string()).unwrap_or_default());
            }
        }
        CampaignInput {
            name: c.name.clone(),
            region: c.region.to_string(),
            policy_year: c.policy_year.to_string(),
            dates,
        }
    }

    pub fn date(&self, field: &str) -> &str {
        self.dates.get(field).map(String::as_str).unwrap_or("")
    }

    /// Checks every field; the errors name the field and say what to type.
    pub fn parse(&self) -> Result<CampaignDefinition, crate::fields::FieldErrors> {
        let mut errs = crate::fields::FieldErrors::default();
        let name = self.name.trim().to_string();
        if name.is_empty() {
            errs.push("name", "名称", "请填写专项行动名称，如“雒容镇2022年防返贫集中排查”");
        } else if name.chars().count() > 60 {
            errs.push("name", "名称", "名称不超过60个字");
        }
        let region = RegionCode::parse(&self.region);
        if region.is_err() {
            errs.push("region", "范围", "请选择专项行动覆盖的区域");
        }
        let year = self.policy_year.trim().parse::<i32>().ok().filter(|y| (2015..=2100).contains(y));
        if year.is_none() {
            errs.push("policy_year", "政策年度", "请填写四位年份，如 2022");
        }
        let mut phases = Vec::new();
        for (phase, s, e, due) in PHASE_FIELDS {
            let date =
                |field: &'static str, label: &'static str, required: bool, errs: &mut crate::fields::FieldErrors| {
                    let text = self.date(field).trim();
                    if text.is_empty() {
                        if required {
                            errs.push(field, label, format!("请填写{}的结束日期", phase.label()));
                        }
                        return None;
                    }
                    let d = crate::text::parse_date(text);
                    if d.is_none() {
                        errs.push(field, label, format!("“{text}”不是日期，请写成 2022-04-30"));
                    }
                    d
                };
            let starts = date(s, "开始日期", false, &mut errs);
            let ends = date(e, "结束日期", true, &mut errs);
            let due_on = date(due, "阶段时限", false, &mut errs);
            if let Some(ends) = ends {
                phases.push(PhaseDates { phase, starts_on: starts, ends_on: ends, due_on });
            }
        }
        if let (Ok(region), Some(year), true) = (region, year, errs.is_empty()) {
            if let Err(e) = check_definition(&name, year, &phases) {
                let field = match &e {
                    CampaignError::NoName => "name",
                    CampaignError::Year(_) => "policy_year",
                    CampaignError::Backwards { phase, .. } | CampaignError::MissingPhase(phase) => {
                        PHASE_FIELDS.iter().find(|f| f.0 == *phase).map(|f| f.2).unwrap_or("name")
                    }
                    CampaignError::DueOutside { phase, .. } => {
                        PHASE_FIELDS.iter().find(|f| f.0 == *phase).map(|f| f.3).unwrap_or("name")
                    }
                };
                errs.push(field, "阶段日期", e.to_string());
                return Err(errs);
            }
            return Ok(CampaignDefinition { name, region, policy_year: year, phases });
        }
        Err(errs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::{EliminationMode, MonitoringCategory};
    use crate::household::Monitoring;

    fn h(kind: HouseholdKind, m: Monitoring) -> Household {
        let mut h = Household::new(HouseholdNo::parse("1").unwrap(), RegionCode::parse("450203100201").unwrap(), kind);
        h.monitoring = m;
        h
    }

    #[test]
    fn forms_follow_d13() {
        let d = NaiveDate::from_ymd_opt(2021, 1, 1).unwrap();
        let monitored = Monitoring::Monitored { category: MonitoringCategory::MarginalAtRisk, since: d };
        let eliminated = Monitoring::Eliminated {
            category: MonitoringCategory::UnstableExited,
            since: d,
            mode: EliminationMode::Natural,
            on: d,
        };
        assert_eq!(form_for(&h(HouseholdKind::Ordinary, monitored)), FormKind::Monitored);
        assert_eq!(form_for(&h(HouseholdKind::PovertyExited, eliminated)), FormKind::Monitored);
        assert_eq!(form_for(&h(HouseholdKind::PovertyExited, Monitoring::Never)), FormKind::Exited);
        assert_eq!(form_for(&h(HouseholdKind::Ordinary, Monitoring::Never)), FormKind::Ordinary);
    }

    #[test]
    fn seed_phases_are_valid_and_checked() {
        let p = seed_phases(2022);
        assert_eq!(check_definition("雒容镇2022年集中排查", 2022, &p), Ok(()));
        assert_eq!(check_definition(" ", 2022, &p), Err(CampaignError::NoName));
        let mut bad = p.clone();
        bad[1].due_on = NaiveDate::from_ymd_opt(2022, 5, 18);
        assert!(matches!(check_definition("x", 2022, &bad), Err(CampaignError::DueOutside { .. })));
        let mut bad = p.clone();
        bad[3].starts_on = NaiveDate::from_ymd_opt(2022, 6, 1);
        assert!(matches!(check_definition("x", 2022, &bad), Err(CampaignError::Backwards { .. })));
        assert!(matches!(
            check_definition("x", 2022, &p[1..]),
            Err(CampaignError::MissingPhase(CampaignPhase::Mobilize))
        ));
    }

    #[test]
    fn deadlines_count_guangxi_working_days() {
        let cal = WorkCalendar::builtin();
        let village = RegionCode::parse("450203100201").unwrap();
        let due = NaiveDate::from_ymd_opt(2022, 4, 18).unwrap();
        // (03-28, 04-18] in Guangxi: 29–31 March 3, 1 April 1, 7–8 April 2, 11–15 April 5, 18 April 1 = 12
        // (04-02…04-06 off in Guangxi)
        let d = deadline(&cal, village, due, NaiveDate::from_ymd_opt(2022, 3, 28).unwrap(), true).unwrap();
        assert_eq!((d.working_days_left, d.overdue), (12, false));
        let d = deadline(&cal, village, due, NaiveDate::from_ymd_opt(2022, 4, 20).unwrap(), true).unwrap();
        assert_eq!((d.working_days_left, d.overdue), (-2, true));
        let d = deadline(&cal, village, due, NaiveDate::from_ymd_opt(2022, 4, 20).unwrap(), false).unwrap();
        assert!(!d.overdue, "nothing outstanding, nothing overdue");
    }

    #[test]
    fn the_form_parses_and_names_bad_fields() {
        let town = RegionCode::parse("450203100000").unwrap();
        let input = CampaignInput::seeded("雒容镇2022年防返贫集中排查", town, 2022);
        let def = input.parse().unwrap();
        assert_eq!((def.region, def.policy_year), (town, 2022));
        assert_eq!(def.phases, seed_phases(2022));
        let mut bad = input.clone();
        bad.dates.insert("p2_ends".into(), "四月底".into());
        bad.name = String::new();
        let e = bad.parse().unwrap_err();
        assert!(e.get("p2_ends").unwrap().contains("四月底"));
        assert!(e.get("name").is_some());
        let mut late = input.clone();
        late.dates.insert("p2_due".into(), "2022-05-18".into());
        assert!(late.parse().unwrap_err().get("p2_due").unwrap().contains("不在阶段日期之内"));
    }

    #[test]
    fn a_deadline_on_a_holiday_says_so() {
        let cal = WorkCalendar::builtin();
        let village = RegionCode::parse("450203100201").unwrap();
        // D12: village summaries are due 05-04, inside the 2022 May Day holiday
        let d = deadline(
            &cal,
            village,
            NaiveDate::from_ymd_opt(2022, 5, 4).unwrap(),
            NaiveDate::from_ymd_opt(2022, 4, 28).unwrap(),
            true,
        )
        .unwrap();
        assert!(d.on_rest_day);
        let d = deadline(
            &cal,
            village,
            NaiveDate::from_ymd_opt(2022, 4, 18).unwrap(),
            NaiveDate::from_ymd_opt(2022, 4, 1).unwrap(),
            true,
        )
        .unwrap();
        assert!(!d.on_rest_day);
    }

    #[test]
    fn progress_shares() {
        let p = Progress { households: 900, visited: 450, remote_only: 50, ..Default::default() };
        assert_eq!((p.coverage_percent(), p.outstanding()), (50, 450));
        assert_eq!(Progress::default().coverage_percent(), 0);
    }
}
