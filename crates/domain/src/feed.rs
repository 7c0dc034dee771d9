//! 部门筛查预警 (DOMAIN §9, D15, D16): what line departments send, how a row becomes a warning
//! (`DepartmentAlert`) that a village must verify, or an exclusion fact (不宜纳入) on a member.
//!
//! A feed row names a person (ID number, name, maybe birth date and village) and, by kind, an
//! amount, an item (灾害类型, 救助类型, 危房等级 …) and a period. Rows are matched to the registry by
//! the integer ID key (D17); a row whose ID is missing or fails the check is never auto-matched.

use chrono::NaiveDate;

use crate::codes::HouseholdKind;
use crate::household::Monitoring;
use crate::measure::Department;
use crate::money::Fen;
use crate::params::ParamName;

crate::codes::code_enum! {
    /// The feeds of §9 and §6. Codes are stored.
    pub enum FeedKind {
        MedicalSelfPaid = 1 => "医保自付费用" | "医保",
        Assistance = 2 => "低保特困临时救助变动" | "民政",
        Disaster = 3 => "受灾名单" | "应急管理",
        Unemployment = 4 => "失业登记" | "人社",
        Dropout = 5 => "辍学" | "控辍保学",
        EducationFees = 6 => "非义务教育自付费用",
        DangerousHousing = 7 => "危房鉴定" | "住建",
        WaterSafety = 8 => "饮水安全" | "水利",
        Disability = 9 => "新增或重度残疾" | "残联",
        MajorIllness = 10 => "大病专项救治" | "卫健",
        Death = 11 => "死亡" | "死亡注销",
        Vehicle = 12 => "车辆登记" | "车辆",
        StateSalaried = 13 => "财政供养人员" | "财政",
        Business = 14 => "市场主体登记" | "市场监管",
        Property = 15 => "商品房登记" | "房管",
    }
}

/// What a feed's rows become.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum FeedUse {
    /// A warning the village verifies (§9).
    Alert,
    /// A fact that may make the household 不宜纳入 (D16).
    Exclusion,
}

impl FeedKind {
    /// Identifier in the CLI (`--feed medical`) and URLs.
    pub fn key(self) -> &'static str {
        match self {
            FeedKind::MedicalSelfPaid => "medical",
            FeedKind::Assistance => "assistance",
            FeedKind::Disaster => "disaster",
            FeedKind::Unemployment => "unemployment",
            FeedKind::Dropout => "dropout",
            FeedKind::EducationFees => "education_fees",
            FeedKind::DangerousHousing => "housing",
            FeedKind::WaterSafety => "water",
            FeedKind::Disability => "disability",
            FeedKind::MajorIllness => "illness",
            FeedKind::Death => "death",
            FeedKind::Vehicle => "vehicle",
            FeedKind::StateSalaried => "state_salaried",
            FeedKind::Business => "business",
            FeedKind::Property => "property",
        }
    }

    pub fn from_key(text: &str) -> Option<FeedKind> {
        let t = text.trim().replace('-', "_");
        Self::ALL.iter().copied().find(|k| k.key() == t).or_else(|| Self::parse_label(text.trim()))
    }

    /// The department that sends it (D15).
    pub fn department(self) -> Department {
        match self {
            FeedKind::MedicalSelfPaid => Department::MedicalSecurity,
            FeedKind::Assistance => Department::CivilAffairs,
            FeedKind::Disaster => Department::Emergency,
            FeedKind::Unemployment => Department::HumanResources,
            FeedKind::Dropout | FeedKind::EducationFees => Department::Education,
            FeedKind::DangerousHousing => Department::Housing,
            FeedKind::WaterSafety => Department::WaterResources,
            FeedKind::Disability => Department::DisabledPersons,
            FeedKind::MajorIllness => Department::Health,
            FeedKind::Death | FeedKind::Vehicle => Department::PublicSecurity,
            FeedKind::StateSalaried => Department::Finance,
            FeedKind::Business => Department::MarketRegulation,
            FeedKind::Property => Department::NaturalResources,
        }
    }

    pub fn usage(self) -> FeedUse {
        match self {
            FeedKind::Vehicle | FeedKind::StateSalaried | FeedKind::Business | FeedKind::Property => FeedUse::Exclusion,
            _ => FeedUse::Alert,
        }
    }

    /// Whether a row needs an amount (元), and whether the amount decides the alert.
    pub fn amount(self) -> AmountUse {
        match self {
            FeedKind::MedicalSelfPaid | FeedKind::EducationFees => AmountUse::Threshold,
            FeedKind::Assistance | FeedKind::Disaster => AmountUse::Optional,
            _ => AmountUse::None,
        }
    }

    /// Whether a row needs an item (灾害类型, 救助类型及变动, 危房等级).
    pub fn item_required(self) -> bool {
        matches!(self, FeedKind::Assistance | FeedKind::DangerousHousing)
    }

    /// What the alert says the department found ("住院自付费用（年度累计）").
    pub fn indicator(self) -> &'static str {
        match self {
            FeedKind::MedicalSelfPaid => "医保报销后个人自付费用（年度累计）",
            FeedKind::Assistance => "低保、特困或临时救助变动",
            FeedKind::Disaster => "受灾",
            FeedKind::Unemployment => "失业登记",
            FeedKind::Dropout => "义务教育阶段辍学",
            FeedKind::EducationFees => "非义务教育阶段自付费用（年度）",
            FeedKind::DangerousHousing => "鉴定为C级或D级危房",
            FeedKind::WaterSafety => "饮水安全问题",
            FeedKind::Disability => "新增残疾或重度残疾",
            FeedKind::MajorIllness => "新确诊大病",
            FeedKind::Death => "死亡",
            FeedKind::Vehicle => "名下有机动车",
            FeedKind::StateSalaried => "财政供养人员",
            FeedKind::Business => "登记有市场主体",
            FeedKind::Property => "名下有商品房",
        }
    }

    /// The threshold parameters (脱贫户 and monitored households, others) for kinds with one.
    pub fn threshold_params(self) -> Option<(ParamName, ParamName)> {
        match self {
            FeedKind::MedicalSelfPaid => Some((ParamName::AlertMedicalPoor, ParamName::AlertMedicalOther)),
            FeedKind::EducationFees => Some((ParamName::AlertEducationFees, ParamName::AlertEducationFees)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountUse {
    None,
    Optional,
    Threshold,
}

/// The threshold group of a household (D15: "脱贫 and monitored persons" vs others).
pub fn is_poor_group(kind: HouseholdKind, monitoring: &Monitoring) -> bool {
    kind == HouseholdKind::PovertyExited || !matches!(monitoring, Monitoring::Never)
}

/// One row of a department file as read (cells already normalised, the ID checked per D17).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FeedRow {
    /// Spreadsheet row number, for the report and the evidence.
    pub line: usize,
    pub name: String,
    /// The ID text as it arrived.
    pub id_text: String,
    /// The integer key when the ID is valid (check character included).
    pub id_key: Option<u64>,
    /// Why the ID cannot be matched, when it cannot ("校验位错误" …).
    pub id_problem: Option<String>,
    pub birth: Option<NaiveDate>,
    /// 村 as written in the file, for near-miss candidates.
    pub village: String,
    pub amount: Option<Fen>,
    pub item: String,
    /// 期间: "2022" (a year-to-date figure) or "2022-03"; from the row, else the import's.
    pub period: String,
    /// The row's cells by header, as evidence.
    pub cells: Vec<(String, String)>,
}

/// Whether a matched row raises an alert, and with what threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assessment {
    /// Raise (or update) an alert; `threshold` when the kind has one.
    Raise { threshold: Option<Fen> },
    /// Below the threshold, or an item that does not warn (A/B housing): no alert.
    Quiet(String),
}

/// D15 and §9: does a row warn? `threshold` is the one of the household's group.
pub fn assess(kind: FeedKind, row: &FeedRow, threshold: Option<Fen>) -> Assessment {
    match kind.amount() {
        AmountUse::Threshold => {
            let (Some(v), Some(t)) = (row.amount, threshold) else {
                return Assessment::Quiet("没有金额".into());
            };
            // D15: 医保 "≥ 5,000"; 教育 "> 10,000"
            let over = match kind {
                FeedKind::EducationFees => v > t,
                _ => v >= t,
            };
            if over {
                Assessment::Raise { threshold: Some(t) }
            } else {
                Assessment::Quiet(format!("{} 元未达预警线 {} 元", v, t))
            }
        }
        _ => match kind {
            // only C and D grades are unsafe (D6)
            FeedKind::DangerousHousing => {
                let item = crate::text::compact(&row.item).to_uppercase();
                if item.starts_with('C') || item.starts_with('D') {
                    Assessment::Raise { threshold: None }
                } else {
                    Assessment::Quiet(format!("危房等级“{}”不是C级或D级", row.item))
                }
            }
            _ => Assessment::Raise { threshold: None },
        },
    }
}

crate::codes::code_enum! {
    /// 核实结论 of an alert (§9).
    pub enum AlertConclusion {
        Untrue = 1 => "不属实",
        AlreadyMonitored = 2 => "属实-已纳入",
        NotEligible = 3 => "属实-不符合条件",
        Assisted = 4 => "已帮扶",
        ToClue = 5 => "转为线索",
    }
}

crate::codes::code_enum! {
    pub enum AlertStatus {
        Open = 1 => "待核实",
        Concluded = 2 => "已核实",
    }
}

crate::codes::code_enum! {
    /// How the village verified.
    pub enum VerifyMode {
        Visit = 1 => "入户核实",
        Phone = 2 => "电话核实",
    }
}

/// A warning on a household (one open per household, feed kind and period; newer rows update it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DepartmentAlert {
    pub id: i64,
    pub household_id: crate::household::HouseholdId,
    pub household_no: crate::household::HouseholdNo,
    pub village: crate::region::RegionCode,
    pub head_name: Option<String>,
    /// The member named by the latest row.
    pub member_name: String,
    pub kind: FeedKind,
    pub indicator: String,
    pub value: Option<Fen>,
    pub threshold: Option<Fen>,
    pub period: String,
    pub item: String,
    pub status: AlertStatus,
    pub raised_on: NaiveDate,
    pub due_on: NaiveDate,
    pub conclusion: Option<AlertConclusion>,
    pub verify_mode: Option<VerifyMode>,
    pub verified_on: Option<NaiveDate>,
    pub verified_by: String,
    pub note: String,
    pub case_id: Option<i64>,
    /// How many feed rows raised or updated it.
    pub rows: i64,
    pub version: i64,
}

/// An alert as a feed import proposes it, before deduplication against the open ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertDraft {
    pub household_id: crate::household::HouseholdId,
    pub village: crate::region::RegionCode,
    pub member_id: i64,
    pub member_name: String,
    pub kind: FeedKind,
    pub value: Option<Fen>,
    pub threshold: Option<Fen>,
    pub period: String,
    pub item: String,
    pub raised_on: NaiveDate,
    pub due_on: NaiveDate,
    pub line: usize,
    /// JSON of the row's cells.
    pub evidence: String,
}

/// A 不宜纳入 fact on a member (D16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExclusionDraft {
    pub household_id: crate::household::HouseholdId,
    pub member_id: i64,
    pub kind: FeedKind,
    pub detail: String,
    pub line: usize,
}

/// A row that matched no member: kept for review (near-miss candidates) and the report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unmatched {
    pub line: usize,
    pub name: String,
    pub id_text: String,
    pub birth: Option<NaiveDate>,
    pub village: String,
    pub reason: String,
    pub evidence: String,
    pub amount: Option<Fen>,
    pub item: String,
    pub period: String,
}

/// How a reviewer's decision remembers an ID as the department wrote it: without spaces, upper
/// case, full-width digits folded (the same person written the same wrong way next month).
pub fn id_text_key(text: &str) -> String {
    crate::text::compact(text).to_uppercase()
}

/// Whether a written ID can carry a remembered decision: a missing or short one cannot (a name
/// alone must never match a person).
pub fn id_text_rememberable(text: &str) -> bool {
    id_text_key(text).chars().count() >= 15
}

/// The key a reviewer's decision on an unmatched row is kept under: the ID as written, or —
/// when it cannot be remembered — the row itself ("not this one" then holds for that row only).
pub fn decision_key(id_text: &str, row_id: i64) -> String {
    if id_text_rememberable(id_text) { id_text_key(id_text) } else { format!("#row{row_id}") }
}

/// The birth date a row gives, or the one its ID's digits spell even when the ID fails its check
/// (18 characters) or is a legacy 15-digit number — for near-miss candidates only.
pub fn birth_hint(birth: Option<NaiveDate>, id_text: &str) -> Option<NaiveDate> {
    if birth.is_some() {
        return birth;
    }
    let t = id_text_key(id_text);
    let digits = |s: &str| NaiveDate::parse_from_str(s, "%Y%m%d").ok();
    match t.len() {
        18 | 20 | 22 => t.get(6..14).and_then(digits),
        15 => t.get(6..12).and_then(|s| digits(&format!("19{s}"))),
        _ => None,
    }
}

crate::codes::code_enum! {
    /// Where a row that matched no one stands.
    pub enum MatchReview {
        Pending = 1 => "待核对",
        Same = 2 => "已确认为登记人员",
        Nobody = 3 => "已确认不是登记人员",
    }
}

/// A stored row that matched no one, for review.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnmatchedRow {
    pub id: i64,
    pub batch_id: i64,
    pub kind: FeedKind,
    pub file_name: String,
    pub line: i64,
    pub name: String,
    pub id_text: String,
    pub birth: Option<NaiveDate>,
    pub village: String,
    pub reason: String,
    pub amount: Option<Fen>,
    pub item: String,
    pub period: String,
    pub status: MatchReview,
    pub member_id: Option<i64>,
    pub decided_by: Option<String>,
    /// JSON of the row's cells.
    pub evidence: String,
    /// The importer's region (`None`: the command line).
    pub batch_region: Option<crate::region::RegionCode>,
}

/// A registry member who may be the person of an unmatched row (same name and birth date).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PersonCandidate {
    pub member_id: i64,
    pub name: String,
    pub id_number: String,
    pub household_no: crate::household::HouseholdNo,
    pub village: crate::region::RegionCode,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(amount: Option<i64>, item: &str) -> FeedRow {
        FeedRow {
            line: 2,
            name: "韦国强".into(),
            id_text: String::new(),
            id_key: None,
            id_problem: None,
            birth: None,
            village: String::new(),
            amount: amount.map(Fen::from_yuan),
            item: item.into(),
            period: "2022".into(),
            cells: Vec::new(),
        }
    }

    #[test]
    fn thresholds_by_kind() {
        let t = Some(Fen::from_yuan(5_000));
        // 医保: at the line warns (≥)
        assert_eq!(assess(FeedKind::MedicalSelfPaid, &row(Some(5_000), ""), t), Assessment::Raise { threshold: t });
        assert!(matches!(assess(FeedKind::MedicalSelfPaid, &row(Some(4_999), ""), t), Assessment::Quiet(_)));
        assert!(matches!(assess(FeedKind::MedicalSelfPaid, &row(None, ""), t), Assessment::Quiet(_)));
        // 教育: above the line only (>)
        let t = Some(Fen::from_yuan(10_000));
        assert!(matches!(assess(FeedKind::EducationFees, &row(Some(10_000), ""), t), Assessment::Quiet(_)));
        assert!(matches!(assess(FeedKind::EducationFees, &row(Some(10_001), ""), t), Assessment::Raise { .. }));
        // 住建: C and D only
        assert!(matches!(assess(FeedKind::DangerousHousing, &row(None, "C级"), None), Assessment::Raise { .. }));
        assert!(matches!(assess(FeedKind::DangerousHousing, &row(None, "d"), None), Assessment::Raise { .. }));
        assert!(matches!(assess(FeedKind::DangerousHousing, &row(None, "B级"), None), Assessment::Quiet(_)));
        // the rest warn on every matched row
        assert!(matches!(assess(FeedKind::Death, &row(None, ""), None), Assessment::Raise { .. }));
    }

    #[test]
    fn birth_hints() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        // a wrong check character still spells the birth date
        assert_eq!(birth_hint(None, "450203 19580402001 1"), d("1958-04-02"));
        assert_eq!(birth_hint(None, "450203580402001"), d("1958-04-02"), "legacy 15 digits");
        assert_eq!(birth_hint(d("1960-01-01"), "450203195804020011"), d("1960-01-01"), "the row's own column wins");
        assert_eq!(birth_hint(None, ""), None);
        assert_eq!(id_text_key(" 450203 19580402001x "), "45020319580402001X");
    }

    #[test]
    fn kinds_keys_and_groups() {
        for k in FeedKind::ALL {
            assert_eq!(FeedKind::from_key(k.key()), Some(*k));
            assert_eq!(FeedKind::from_key(k.label()), Some(*k));
        }
        assert_eq!(FeedKind::from_key("医保"), Some(FeedKind::MedicalSelfPaid));
        assert_eq!(FeedKind::Property.usage(), FeedUse::Exclusion);
        assert_eq!(FeedKind::Death.department(), Department::PublicSecurity);
        assert!(is_poor_group(HouseholdKind::PovertyExited, &Monitoring::Never));
        assert!(!is_poor_group(HouseholdKind::Ordinary, &Monitoring::Never));
        let m = Monitoring::Monitored {
            category: crate::codes::MonitoringCategory::MarginalAtRisk,
            since: NaiveDate::from_ymd_opt(2022, 3, 1).unwrap(),
        };
        assert!(is_poor_group(HouseholdKind::Ordinary, &m));
    }
}

/// A 不宜纳入 fact as the 信息比对 step shows it (D16).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExclusionFact {
    pub member_name: String,
    pub kind: FeedKind,
    pub detail: String,
    pub batch_id: i64,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
}

impl ExclusionFact {
    /// "韦国强：财政供养人员（雒容镇中心小学）".
    pub fn describe(&self) -> String {
        if self.detail == self.kind.indicator() || self.detail.is_empty() {
            format!("{}：{}", self.member_name, self.kind.indicator())
        } else {
            format!("{}：{}（{}）", self.member_name, self.kind.indicator(), self.detail)
        }
    }
}

/// An exception to 不宜纳入 for one case: the town proposes it with a reason, the county approves.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExclusionOverride {
    pub case_id: i64,
    pub reason: String,
    pub town_by: String,
    pub town_at: chrono::DateTime<chrono::Utc>,
    pub county_by: Option<String>,
    pub county_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl ExclusionOverride {
    pub fn approved(&self) -> bool {
        self.county_at.is_some()
    }
}
