//! 数据比对 (the seed's 部门筛查预警和数据比对; DOMAIN §3, §8.2, §9, D16, D17): registry quality
//! checks across a whole scope, each a count and a list, where the registry disagrees with a
//! department or with itself across households. The national rules the screening already reports
//! household by household (both medical insurances, 务工地点 and months, …) stay there; the age
//! checks the issue asks for here use the screening's own ranges, so both say the same.

use chrono::{Datelike, NaiveDate};

crate::codes::code_enum! {
    /// The checks of the data comparison report. Codes are stable (links, exports).
    pub enum QualityCheck {
        /// A person 公安 reported dead is still a member of a household.
        DeathsRegistered = 1 => "已死亡仍在册",
        /// The same ID number in two households (户间重复).
        DuplicatePerson = 2 => "同一人在两户",
        /// An ID number that fails its check character (D17).
        InvalidId = 3 => "证件号码无效",
        /// 在校生状况 that does not fit the age (a 小学 pupil of 30, a 学龄前儿童 of 12).
        SchoolAge = 4 => "在校状况与年龄不符",
        /// Able labour under 16 or over 75; 16–59, healthy, not a student, yet 无/丧失劳动力 (5_12_008).
        LabourAge = 5 => "劳动技能与年龄不符",
        /// 是否享受低保 disagrees with the latest 民政 change reported.
        DibaoMismatch = 6 => "低保状态与民政不一致",
        /// An eliminated household whose housing is C/D (registry or a 住建 appraisal).
        HousingAfterElimination = 7 => "风险消除后住房为C/D级危房",
    }
}

impl QualityCheck {
    pub fn key(self) -> &'static str {
        match self {
            QualityCheck::DeathsRegistered => "deaths_registered",
            QualityCheck::DuplicatePerson => "duplicate_person",
            QualityCheck::InvalidId => "invalid_id",
            QualityCheck::SchoolAge => "school_age",
            QualityCheck::LabourAge => "labour_age",
            QualityCheck::DibaoMismatch => "dibao_mismatch",
            QualityCheck::HousingAfterElimination => "housing_after_elimination",
        }
    }

    pub fn from_key(text: &str) -> Option<QualityCheck> {
        Self::ALL.iter().copied().find(|c| c.key() == text.trim())
    }

    /// What to do about it, for the report.
    pub fn advice(self) -> &'static str {
        match self {
            QualityCheck::DeathsRegistered => "核实后办理成员减员，并更新家庭人口数",
            QualityCheck::DuplicatePerson => "核实实际所在户，从另一户删除，同一人只能在一户",
            QualityCheck::InvalidId => "对照户口簿或身份证更正证件号码",
            QualityCheck::SchoolAge => "核实在校生状况，已毕业或未入学的改填文化程度",
            QualityCheck::LabourAge => "核实劳动技能（规则 5_12_008）",
            QualityCheck::DibaoMismatch => "以民政最新数据为准核实是否享受低保",
            QualityCheck::HousingAfterElimination => "核实住房安全，确属风险消除有误的按程序回退",
        }
    }
}

/// One finding of a check: the household, the member when there is one, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QualityItem {
    pub household_no: crate::household::HouseholdNo,
    pub village: crate::region::RegionCode,
    pub member_name: String,
    /// Full; masked by the pages and exports for roles without the sensitive view (D18).
    pub id_number: String,
    pub detail: String,
}

/// Birth dates (as the ID's "YYYYMMDD") at or before which a person is at least `years` old on
/// `as_of`: the age tests of the checks compare text, the same on SQLite and PostgreSQL.
pub fn born_by(as_of: NaiveDate, years: i32) -> String {
    let y = as_of.year() - years;
    let d = NaiveDate::from_ymd_opt(y, as_of.month(), as_of.day())
        .or_else(|| NaiveDate::from_ymd_opt(y, as_of.month(), as_of.day() - 1))
        .unwrap_or(as_of);
    d.format("%Y%m%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_as_text_bounds() {
        let as_of = NaiveDate::from_ymd_opt(2022, 3, 28).unwrap();
        // born 2006-03-28: 16 on 2022-03-28; born the day after: 15
        assert_eq!(born_by(as_of, 16), "20060328");
        assert!("20060328" <= born_by(as_of, 16).as_str() && "20060329" > born_by(as_of, 16).as_str());
        let leap = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(born_by(leap, 1), "20230228");
        for c in QualityCheck::ALL {
            assert_eq!(QualityCheck::from_key(c.key()), Some(*c));
        }
    }
}
