//! 家庭成员 (DOMAIN §8.2) and the household composition rules.

use chrono::NaiveDate;

use crate::codes::{
    DisabilityClass, Education, Ethnicity, Health, HealthCondition, LabourSkill, PoliticalStatus, Relation,
    SchoolStatus, Sex,
};
use crate::household::PersonName;
use crate::national_id::NationalId;

/// Internal integer key of a member row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct MemberId(pub i64);

/// One person of a household.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Member {
    pub name: PersonName,
    pub national_id: NationalId,
    pub relation: Relation,
    pub sex: Sex,
    pub ethnicity: Ethnicity,
    pub political_status: Option<PoliticalStatus>,
    /// 文化程度 — exactly one of this and `school_status`.
    pub education: Option<Education>,
    /// 在校生状况.
    pub school_status: Option<SchoolStatus>,
    /// 失学或辍学原因.
    pub dropout_reason: String,
    pub health: Health,
    pub disability_class: Option<DisabilityClass>,
    pub labour_skill: LabourSkill,
    /// 务工月数 (0–12).
    pub work_months: Option<u8>,
    /// 务工地点.
    pub work_place: String,
    /// 是否参加城乡居民基本医疗保险.
    pub resident_medical: bool,
    /// 是否参加城镇职工基本医疗保险.
    pub employee_medical: bool,
    /// 是否参加城乡居民基本养老保险.
    pub resident_pension: Option<bool>,
    /// 是否参加城镇职工基本养老保险.
    pub employee_pension: Option<bool>,
    /// 是否享受低保.
    pub dibao: bool,
    /// 是否特困供养.
    pub tekun: bool,
}

impl Member {
    /// A minimal member (healthy, Han, ordinary labour, in the resident medical scheme).
    pub fn new(name: PersonName, national_id: NationalId, relation: Relation) -> Self {
        let sex = national_id.sex();
        Member {
            name,
            national_id,
            relation,
            sex,
            ethnicity: Ethnicity::han(),
            political_status: None,
            education: Some(Education::JuniorHigh),
            school_status: None,
            dropout_reason: String::new(),
            health: Health::healthy(),
            disability_class: None,
            labour_skill: LabourSkill::Ordinary,
            work_months: None,
            work_place: String::new(),
            resident_medical: true,
            employee_medical: false,
            resident_pension: None,
            employee_pension: None,
            dibao: false,
            tekun: false,
        }
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.national_id.birth_date()
    }

    pub fn age_on(&self, on: NaiveDate) -> i32 {
        self.national_id.age_on(on)
    }

    /// No basic medical insurance of either scheme (DOMAIN D6).
    pub fn uninsured(&self) -> bool {
        !self.resident_medical && !self.employee_medical
    }
}

/// A rule a member or a household's composition breaks (DOMAIN §8.2). On edit these are refused;
/// on import they are warnings (the registry must hold what the national system holds).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
pub enum MemberRule {
    #[error("户内没有户主：每户必须有且只有一名户主")]
    NoHead,
    #[error("户内有{0}名户主：每户只能有一名户主")]
    SeveralHeads(usize),
    #[error("户内有{0}名配偶：每户最多一名配偶")]
    SeveralSpouses(usize),
    #[error("证件号码{0}在本户出现多次")]
    DuplicateInHousehold(String),
    #[error("{name}：文化程度和在校生状况须且只能填写一项（在校学生填在校生状况，其他人填文化程度）")]
    EducationXorSchool { name: String },
    #[error("{name}：证件号码校验位不正确（应为“{expected}”）")]
    IdChecksum { name: String, expected: char },
    #[error("{name}：性别“{given}”与证件号码（{derived}）不一致")]
    SexMismatch { name: String, given: Sex, derived: Sex },
    #[error("{name}：健康状况含“残疾”时应填写残疾类别")]
    DisabilityClassMissing { name: String },
    #[error("{name}：务工月数应在0到12之间")]
    WorkMonthsRange { name: String },
    #[error("家庭人口数填写为{declared}，但本户有{actual}名成员")]
    SizeMismatch { declared: u16, actual: usize },
}

impl MemberRule {
    /// Stable sub-code, used later by `DATA_ERROR` findings.
    pub fn code(&self) -> &'static str {
        match self {
            MemberRule::NoHead => "NO_HEAD",
            MemberRule::SeveralHeads(_) => "SEVERAL_HEADS",
            MemberRule::SeveralSpouses(_) => "SEVERAL_SPOUSES",
            MemberRule::DuplicateInHousehold(_) => "DUPLICATE_ID_IN_HOUSEHOLD",
            MemberRule::EducationXorSchool { .. } => "EDUCATION_XOR_SCHOOL",
            MemberRule::IdChecksum { .. } => "ID_CHECKSUM",
            MemberRule::SexMismatch { .. } => "SEX_MISMATCH",
            MemberRule::DisabilityClassMissing { .. } => "DISABILITY_CLASS_MISSING",
            MemberRule::WorkMonthsRange { .. } => "WORK_MONTHS_RANGE",
            MemberRule::SizeMismatch { .. } => "SIZE_MISMATCH",
        }
    }
}

/// Rules that concern one member alone.
pub fn check_member(m: &Member) -> Vec<MemberRule> {
    // the name only when a rule fires: most members pass every rule
    let name = || m.name.to_string();
    let mut out = Vec::new();
    if m.education.is_some() == m.school_status.is_some() {
        out.push(MemberRule::EducationXorSchool { name: name() });
    }
    if !m.national_id.is_checksum_valid() {
        out.push(MemberRule::IdChecksum { name: name(), expected: m.national_id.expected_check_char() });
    }
    let derived = m.national_id.sex();
    if m.sex != derived {
        out.push(MemberRule::SexMismatch { name: name(), given: m.sex, derived });
    }
    if m.health.has(HealthCondition::Disabled) && m.disability_class.is_none() {
        out.push(MemberRule::DisabilityClassMissing { name: name() });
    }
    if m.work_months.is_some_and(|w| w > 12) {
        out.push(MemberRule::WorkMonthsRange { name: name() });
    }
    out
}

/// Rules over a household's member list: exactly one head, at most one spouse, no ID twice
/// (DOMAIN §8.2); plus the per-member rules; plus the declared size.
pub fn check_household(members: &[&Member], declared_size: Option<u16>) -> Vec<MemberRule> {
    let mut out = Vec::new();
    let heads = members.iter().filter(|m| m.relation == Relation::Head).count();
    match heads {
        0 => out.push(MemberRule::NoHead),
        1 => {}
        n => out.push(MemberRule::SeveralHeads(n)),
    }
    let spouses = members.iter().filter(|m| m.relation == Relation::Spouse).count();
    if spouses > 1 {
        out.push(MemberRule::SeveralSpouses(spouses));
    }
    // a household has a handful of members: comparing each with those before it beats a hash set
    // (which was 5% of a screening pass)
    for (i, m) in members.iter().enumerate() {
        if members[..i].iter().any(|o| o.national_id.id18() == m.national_id.id18()) {
            out.push(MemberRule::DuplicateInHousehold(m.national_id.masked()));
        }
    }
    for m in members {
        out.extend(check_member(m));
    }
    if let Some(d) = declared_size
        && usize::from(d) != members.len()
    {
        out.push(MemberRule::SizeMismatch { declared: d, actual: members.len() });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, id: &str, relation: Relation) -> Member {
        Member::new(PersonName::parse(name).unwrap(), NationalId::parse(id).unwrap(), relation)
    }

    #[test]
    fn composition_rules() {
        let a = member("张三", "370101190102039973", Relation::Head);
        let b = member("李四", "11010519491231002X", Relation::Spouse);
        assert_eq!(check_household(&[&a, &b], Some(2)), vec![]);
        assert_eq!(check_household(&[&b], None), vec![MemberRule::NoHead]);
        let c = member("张五", "440524188001010014", Relation::Head);
        assert!(check_household(&[&a, &c], None).contains(&MemberRule::SeveralHeads(2)));
        let d = member("王六", "440524188001010014", Relation::Spouse);
        let rules = check_household(&[&a, &b, &d], None);
        assert!(rules.contains(&MemberRule::SeveralSpouses(2)));
        assert_eq!(check_household(&[&a], Some(3)), vec![MemberRule::SizeMismatch { declared: 3, actual: 1 }]);
    }

    #[test]
    fn duplicate_id_in_household() {
        let a = member("张三", "370101190102039973", Relation::Head);
        let b = member("张三三", "370101190102039973", Relation::Son);
        assert!(matches!(check_household(&[&a, &b], None)[0], MemberRule::DuplicateInHousehold(_)));
    }

    #[test]
    fn member_rules() {
        let mut m = member("张三", "370101190102039973", Relation::Head);
        assert!(check_member(&m).is_empty());
        m.school_status = Some(SchoolStatus::Grade7);
        assert_eq!(check_member(&m)[0].code(), "EDUCATION_XOR_SCHOOL");
        m.education = None;
        m.sex = Sex::Female;
        assert_eq!(check_member(&m)[0].code(), "SEX_MISMATCH");
        m.sex = Sex::Male;
        m.health = Health::parse("残疾").unwrap();
        assert_eq!(check_member(&m)[0].code(), "DISABILITY_CLASS_MISSING");
        let bad = member("李四", "110105194912310021", Relation::Head);
        assert_eq!(check_member(&bad)[0].code(), "ID_CHECKSUM");
    }
}
