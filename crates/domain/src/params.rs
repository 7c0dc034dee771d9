//! Policy parameters per (policy year, region), versioned (DOMAIN Part A preamble, D2).
//!
//! A parameter set for a province applies to every region below it unless a lower region sets
//! its own. Setting a value never overwrites: it adds a new version, so a decision can always
//! say which (year, region, version) it used.

use chrono::{DateTime, Utc};

use crate::money::Fen;
use crate::region::RegionCode;

crate::codes::code_enum! {
    /// Known parameters. The value's unit depends on the parameter ([`ParamName::unit`]).
    pub enum ParamName {
        /// 监测范围 (元 per person per year), stored in 分.
        MonitoringLine = 1 => "监测范围" | "监测标准",
        /// Months of stable income after identification before risk may be eliminated (D9).
        StableMonths = 2 => "风险消除稳定期",
        /// Working days from inclusion to the assistance officer (D10).
        OfficerDueWorkdays = 3 => "帮扶责任人落实时限",
        /// Calendar days from the officer's assignment to the first measures (D10).
        MeasuresDueDays = 4 => "帮扶措施落实时限",
        /// Youngest compulsory-education age on 1 September (D6).
        CompulsoryAgeFrom = 5 => "义务教育起始年龄",
        /// Oldest compulsory-education age on 1 September (D6).
        CompulsoryAgeTo = 6 => "义务教育截止年龄",
        /// Full calendar days a village notice (公示) must run (D8: ≥ 5; some provinces 7).
        NoticeDays = 7 => "公示天数",
        /// Calendar days from a clue within which identification should finish (D8; a warning).
        CaseLimitDays = 8 => "识别认定办理时限",
        /// Where the first-measures clock starts (D10): 0 = the first officer's assignment, 1 = 纳入监测.
        MeasuresClockStart = 9 => "帮扶措施时限起算",
        /// Whether a calendar-day deadline ending on a statutory holiday moves to the next working
        /// day (D10 policy switch): 1 = yes, 0 = no.
        HolidayExtension = 10 => "遇法定节假日顺延",
        /// 医保 self-paid year-to-date that warns, for 脱贫户 and monitored households (D15), in 分.
        AlertMedicalPoor = 11 => "医保自付预警线（脱贫户和监测对象）",
        /// … for other rural households (D15), in 分.
        AlertMedicalOther = 12 => "医保自付预警线（一般农户）",
        /// 教育: non-compulsory self-paid fees a year above which a household is warned (D15), in 分.
        AlertEducationFees = 13 => "非义务教育自付预警线",
        /// Working days the village has to verify a department alert (§9; INFERRED default).
        AlertVerifyWorkdays = 14 => "部门预警核实时限",
        /// Which 不宜纳入 facts block 信息比对 (D16: "the list is a parameter"): a set of feed kinds.
        ExclusionKinds = 15 => "不宜纳入比对项",
    }
}

impl ParamName {
    /// Identifier used in the CLI (`--monitoring-line`) and the API.
    pub fn key(self) -> &'static str {
        match self {
            ParamName::MonitoringLine => "monitoring_line",
            ParamName::StableMonths => "stable_months",
            ParamName::OfficerDueWorkdays => "officer_due_workdays",
            ParamName::MeasuresDueDays => "measures_due_days",
            ParamName::CompulsoryAgeFrom => "compulsory_age_from",
            ParamName::CompulsoryAgeTo => "compulsory_age_to",
            ParamName::NoticeDays => "notice_days",
            ParamName::CaseLimitDays => "case_limit_days",
            ParamName::MeasuresClockStart => "measures_clock_start",
            ParamName::HolidayExtension => "holiday_extension",
            ParamName::AlertMedicalPoor => "alert_medical_poor",
            ParamName::AlertMedicalOther => "alert_medical_other",
            ParamName::AlertEducationFees => "alert_education_fees",
            ParamName::AlertVerifyWorkdays => "alert_verify_workdays",
            ParamName::ExclusionKinds => "exclusion_kinds",
        }
    }

    /// The parameter named by its [`key`](ParamName::key) or its Chinese label.
    pub fn from_key(text: &str) -> Option<ParamName> {
        let t = text.trim().replace('-', "_");
        Self::ALL.iter().copied().find(|n| n.key() == t).or_else(|| Self::parse_label(text.trim()))
    }

    /// The values of a switch-like parameter, as (stored value, label); `None` for a number.
    pub fn choices(self) -> Option<&'static [(i64, &'static str)]> {
        match self {
            ParamName::MeasuresClockStart => Some(&[(0, "帮扶责任人落实之日"), (1, "纳入监测之日")]),
            ParamName::HolidayExtension => Some(&[(1, "顺延至节后第一个工作日"), (0, "不顺延")]),
            _ => None,
        }
    }

    /// Whether the value is money (stored in 分, typed and shown in 元).
    pub fn is_money(self) -> bool {
        matches!(
            self,
            ParamName::MonitoringLine
                | ParamName::AlertMedicalPoor
                | ParamName::AlertMedicalOther
                | ParamName::AlertEducationFees
        )
    }

    pub fn unit(self) -> &'static str {
        match self {
            ParamName::MonitoringLine => "元/人/年",
            ParamName::AlertMedicalPoor | ParamName::AlertMedicalOther | ParamName::AlertEducationFees => "元",
            ParamName::AlertVerifyWorkdays => "个工作日",
            ParamName::ExclusionKinds => "",
            ParamName::StableMonths => "个月",
            ParamName::OfficerDueWorkdays => "个工作日",
            ParamName::MeasuresDueDays | ParamName::NoticeDays | ParamName::CaseLimitDays => "天",
            ParamName::CompulsoryAgeFrom | ParamName::CompulsoryAgeTo => "周岁",
            ParamName::MeasuresClockStart | ParamName::HolidayExtension => "",
        }
    }

    /// Renders a stored value for people.
    pub fn display_value(self, value: i64) -> String {
        match self {
            ParamName::MonitoringLine => format!("{} 元/人/年", Fen(value)),
            m if m.is_money() => format!("{} 元", Fen(value)),
            ParamName::ExclusionKinds => {
                let kinds: Vec<&str> =
                    exclusion_kinds().filter(|k| value & exclusion_bit(*k) != 0).map(|k| k.label()).collect();
                if kinds.is_empty() { "（无）".to_string() } else { kinds.join("、") }
            }
            other => match other.choices() {
                Some(c) => {
                    c.iter().find(|(v, _)| *v == value).map_or_else(|| value.to_string(), |(_, l)| l.to_string())
                }
                None => format!("{value} {}", other.unit()),
            },
        }
    }

    /// The value fangpin ships (DOMAIN Part A), used when no region sets one. The monitoring line
    /// has none: a year without a line is an error, never a guess (D2).
    pub fn shipped_default(self) -> Option<i64> {
        match self {
            ParamName::MonitoringLine => None,
            ParamName::StableMonths => Some(6),
            ParamName::OfficerDueWorkdays => Some(5),
            ParamName::MeasuresDueDays => Some(10),
            ParamName::CompulsoryAgeFrom => Some(6),
            ParamName::CompulsoryAgeTo => Some(15),
            ParamName::NoticeDays => Some(5),
            ParamName::CaseLimitDays => Some(15),
            ParamName::MeasuresClockStart => Some(0),
            ParamName::HolidayExtension => Some(1),
            ParamName::AlertMedicalPoor => Some(Fen::from_yuan(5_000).0),
            ParamName::AlertMedicalOther => Some(Fen::from_yuan(20_000).0),
            ParamName::AlertEducationFees => Some(Fen::from_yuan(10_000).0),
            ParamName::AlertVerifyWorkdays => Some(5),
            ParamName::ExclusionKinds => Some(exclusion_kinds().map(exclusion_bit).sum()),
        }
    }
}

/// One version of one parameter for one (year, region).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PolicyParam {
    pub year: i32,
    pub region: RegionCode,
    pub name: ParamName,
    pub version: i32,
    /// In the parameter's storage unit (分 for money).
    pub value: i64,
    /// 示例值: a placeholder, not a confirmed figure (DOMAIN D2). Shown as such in the UI.
    pub example: bool,
    pub note: String,
    pub set_by: String,
    pub set_at: DateTime<Utc>,
}

/// Which parameter set a decision used.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ParamRef {
    pub year: i32,
    pub region: RegionCode,
    pub name: ParamName,
    pub version: i32,
}

impl PolicyParam {
    pub fn reference(&self) -> ParamRef {
        ParamRef { year: self.year, region: self.region, name: self.name, version: self.version }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error(
        "{year}年“{region}”尚未设定{name}：请系统管理员在“政策参数”页面或用 `fangpin params set` 设定后再试（不会使用猜测值）"
    )]
    Missing { year: i32, region: RegionCode, name: ParamName },
    #[error("参数值无效：{0}")]
    Invalid(String),
}

/// Picks the parameter that applies to `region` in `year`: the nearest region at or above it,
/// latest version. A year with no value is an error, never a guess (DOMAIN D2).
pub fn resolve(
    params: &[PolicyParam],
    year: i32,
    region: RegionCode,
    name: ParamName,
) -> Result<&PolicyParam, ParamError> {
    params
        .iter()
        .filter(|p| p.year == year && p.name == name && p.region.contains(region))
        .max_by_key(|p| (p.region.level(), p.version))
        .ok_or(ParamError::Missing { year, region, name })
}

/// A value as a decision uses it: from a stored version, or the shipped default (version 0).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Applied {
    pub value: i64,
    pub reference: ParamRef,
    pub example: bool,
}

/// Like [`resolve`], falling back to the shipped default where there is one.
pub fn resolve_or_default(
    params: &[PolicyParam],
    year: i32,
    region: RegionCode,
    name: ParamName,
) -> Result<Applied, ParamError> {
    match resolve(params, year, region, name) {
        Ok(p) => Ok(Applied { value: p.value, reference: p.reference(), example: p.example }),
        Err(e) => match name.shipped_default() {
            Some(value) => {
                // version 0 = the default shipped with fangpin (DOMAIN Part A)
                let province = region.ancestor(crate::region::RegionLevel::Province);
                Ok(Applied { value, reference: ParamRef { year, region: province, name, version: 0 }, example: false })
            }
            None => Err(e),
        },
    }
}

/// The feed kinds that are 不宜纳入 facts (D16).
pub fn exclusion_kinds() -> impl Iterator<Item = crate::feed::FeedKind> {
    crate::feed::FeedKind::ALL.iter().copied().filter(|k| k.usage() == crate::feed::FeedUse::Exclusion)
}

/// A kind's bit in [`ParamName::ExclusionKinds`].
pub fn exclusion_bit(kind: crate::feed::FeedKind) -> i64 {
    1 << (kind.code() & 31)
}

/// Validates a value typed for a parameter and converts it to the storage unit.
pub fn parse_value(name: ParamName, text: &str) -> Result<i64, ParamError> {
    match name {
        ParamName::MonitoringLine => {
            let fen = Fen::parse_yuan(text).map_err(|e| ParamError::Invalid(e.to_string()))?;
            if fen.0 <= 0 || fen.0 > Fen::from_yuan(100_000).0 {
                return Err(ParamError::Invalid(format!("监测范围应在 0 到 100,000 元之间，收到“{}”", text.trim())));
            }
            Ok(fen.0)
        }
        ParamName::ExclusionKinds => {
            let mut bits = 0;
            for t in text.split(['、', ',', '，', ';', '；', ' ']).map(str::trim).filter(|t| !t.is_empty()) {
                if matches!(t, "无" | "（无）" | "none") {
                    continue;
                }
                let k = crate::feed::FeedKind::from_key(t)
                    .filter(|k| k.usage() == crate::feed::FeedUse::Exclusion)
                    .ok_or_else(|| {
                        let known: Vec<&str> = exclusion_kinds().map(|k| k.label()).collect();
                        ParamError::Invalid(format!("不宜纳入比对项“{t}”不认识：可选 {}，用顿号分隔", known.join("、")))
                    })?;
                bits |= exclusion_bit(k);
            }
            Ok(bits)
        }
        m if m.is_money() => {
            let fen = Fen::parse_yuan(text).map_err(|e| ParamError::Invalid(e.to_string()))?;
            if fen.0 <= 0 || fen.0 > Fen::from_yuan(1_000_000).0 {
                return Err(ParamError::Invalid(format!(
                    "{}应在 0 到 1,000,000 元之间，收到“{}”",
                    m.label(),
                    text.trim()
                )));
            }
            Ok(fen.0)
        }
        other if other.choices().is_some() => {
            let c = other.choices().unwrap_or_default();
            let t = crate::text::compact(text);
            c.iter().find(|(v, l)| t == v.to_string() || t == *l).map(|(v, _)| *v).ok_or_else(|| {
                let hint: Vec<String> = c.iter().map(|(v, l)| format!("{v}（{l}）")).collect();
                ParamError::Invalid(format!("{}应为 {}，收到“{}”", other.label(), hint.join(" 或 "), text.trim()))
            })
        }
        other => {
            let v: i64 = crate::text::compact(text)
                .parse()
                .map_err(|_| ParamError::Invalid(format!("{}应为整数，收到“{}”", other.label(), text.trim())))?;
            let ok = match other {
                ParamName::StableMonths => (1..=60).contains(&v),
                ParamName::OfficerDueWorkdays | ParamName::MeasuresDueDays => (1..=90).contains(&v),
                // D8: a notice runs at least 5 days
                ParamName::NoticeDays => (5..=30).contains(&v),
                ParamName::CaseLimitDays => (5..=90).contains(&v),
                ParamName::AlertVerifyWorkdays => (1..=30).contains(&v),
                _ => (3..=20).contains(&v),
            };
            if !ok {
                return Err(ParamError::Invalid(format!("{}的值 {v} 不合理", other.label())));
            }
            Ok(v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(year: i32, region: &str, version: i32, yuan: i64) -> PolicyParam {
        PolicyParam {
            year,
            region: RegionCode::parse(region).unwrap(),
            name: ParamName::MonitoringLine,
            version,
            value: Fen::from_yuan(yuan).0,
            example: false,
            note: String::new(),
            set_by: "test".into(),
            set_at: DateTime::<Utc>::default(),
        }
    }

    #[test]
    fn nearest_region_latest_version() {
        let params = vec![
            p(2022, "450000000000", 1, 6000),
            p(2022, "450000000000", 2, 6500),
            p(2022, "450203000000", 1, 6900),
            p(2021, "450000000000", 1, 6000),
        ];
        let village = RegionCode::parse("450203100201").unwrap();
        assert_eq!(resolve(&params, 2022, village, ParamName::MonitoringLine).unwrap().value, 690_000);
        let other = RegionCode::parse("450102100201").unwrap();
        let r = resolve(&params, 2022, other, ParamName::MonitoringLine).unwrap();
        assert_eq!((r.value, r.version), (650_000, 2));
        assert!(matches!(
            resolve(&params, 2023, village, ParamName::MonitoringLine),
            Err(ParamError::Missing { year: 2023, .. })
        ));
        let guangdong = RegionCode::parse("440000000000").unwrap();
        assert!(resolve(&params, 2022, guangdong, ParamName::MonitoringLine).is_err());
    }

    #[test]
    fn shipped_defaults_are_version_zero() {
        let village = RegionCode::parse("450203100201").unwrap();
        let a = resolve_or_default(&[], 2022, village, ParamName::StableMonths).unwrap();
        assert_eq!((a.value, a.reference.version, a.reference.region.to_string().as_str()), (6, 0, "450000000000"));
        assert!(resolve_or_default(&[], 2022, village, ParamName::MonitoringLine).is_err());
    }

    #[test]
    fn value_parsing() {
        assert_eq!(parse_value(ParamName::MonitoringLine, "6500"), Ok(650_000));
        assert!(parse_value(ParamName::MonitoringLine, "-1").is_err());
        assert!(parse_value(ParamName::MonitoringLine, "abc").is_err());
        assert_eq!(parse_value(ParamName::NoticeDays, "7"), Ok(7));
        assert!(parse_value(ParamName::NoticeDays, "4").is_err(), "D8: a notice runs at least 5 days");
        assert_eq!(parse_value(ParamName::MeasuresClockStart, "纳入监测之日"), Ok(1));
        assert_eq!(parse_value(ParamName::HolidayExtension, "0"), Ok(0));
        let e = parse_value(ParamName::HolidayExtension, "2").unwrap_err().to_string();
        assert!(e.contains("1（顺延至节后第一个工作日）"), "{e}");
        assert_eq!(ParamName::HolidayExtension.display_value(0), "不顺延");
        assert_eq!(ParamName::from_key("notice-days"), Some(ParamName::NoticeDays));
        assert_eq!(ParamName::from_key("公示天数"), Some(ParamName::NoticeDays));
        assert_eq!(ParamName::from_key("nope"), None);
        // D16: the list of 不宜纳入 kinds
        let all = ParamName::ExclusionKinds.shipped_default().unwrap();
        assert_eq!(ParamName::ExclusionKinds.display_value(all), "车辆登记、财政供养人员、市场主体登记、商品房登记");
        let two = parse_value(ParamName::ExclusionKinds, "财政供养人员、vehicle").unwrap();
        assert_eq!(ParamName::ExclusionKinds.display_value(two), "车辆登记、财政供养人员");
        assert_eq!(parse_value(ParamName::ExclusionKinds, "无"), Ok(0));
        assert!(parse_value(ParamName::ExclusionKinds, "医保").unwrap_err().to_string().contains("不认识"));
        // every parameter but the monitoring line has a default, and it parses back
        for n in ParamName::ALL {
            if let Some(v) = n.shipped_default() {
                let shown = match n.choices() {
                    Some(_) => n.display_value(v),
                    None if *n == ParamName::ExclusionKinds => n.display_value(v),
                    None if n.is_money() => (v / 100).to_string(),
                    None => v.to_string(),
                };
                assert_eq!(parse_value(*n, &shown), Ok(v), "{n:?}");
            }
        }
    }
}
