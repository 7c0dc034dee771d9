//! Closed enumerations of the national system (DOMAIN §1, §3, §7, §8.2) with stable integer codes
//! for storage and the Chinese labels users and the national layout use.
//!
//! Codes are part of the database format: never renumber a variant, only add new ones.

/// Defines an enumeration with a stable storage code, a Chinese label and accepted label variants.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal => $label:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        $vis enum $name { $( $(#[$vmeta])* $variant ),+ }

        impl $name {
            /// Every variant, in declaration order (the order shown in drop-downs).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Stable storage code.
            pub fn code(self) -> i16 {
                match self { $($name::$variant => $code),+ }
            }

            pub fn from_code(code: i16) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }

            /// The Chinese label, as the national system writes it.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// Parses a label or one of its accepted variants (surrounding spaces ignored).
            pub fn parse_label(text: &str) -> Option<Self> {
                let text = text.trim();
                $( if text == $label $(|| text == $alias)* { return Some($name::$variant); } )+
                None
            }

            /// The accepted labels, joined for an error message.
            pub fn labels_hint() -> String {
                Self::ALL.iter().map(|v| v.label()).collect::<Vec<_>>().join("、")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.label())
            }
        }

        impl $crate::codes::CodeEnum for $name {
            fn all() -> &'static [Self] { Self::ALL }
            fn code(self) -> i16 { $name::code(self) }
            fn from_code(code: i16) -> Option<Self> { $name::from_code(code) }
            fn label(self) -> &'static str { $name::label(self) }
            fn parse_label(text: &str) -> Option<Self> { $name::parse_label(text) }
        }
    };
}
pub(crate) use code_enum;

/// What every coded enumeration offers, for generic form and import code.
pub trait CodeEnum: Copy + Sized + 'static {
    fn all() -> &'static [Self];
    fn code(self) -> i16;
    fn from_code(code: i16) -> Option<Self>;
    fn label(self) -> &'static str;
    fn parse_label(text: &str) -> Option<Self>;
    fn labels_hint() -> String {
        Self::all().iter().map(|v| v.label()).collect::<Vec<_>>().join("、")
    }
}

code_enum! {
    /// 户类型.
    pub enum HouseholdKind {
        PovertyExited = 1 => "脱贫户",
        Ordinary = 2 => "一般农户" | "一般户" | "农户",
    }
}

code_enum! {
    /// 监测对象类别 (DOMAIN §1, D5).
    pub enum MonitoringCategory {
        UnstableExited = 1 => "脱贫不稳定户",
        MarginalAtRisk = 2 => "边缘易致贫户",
        SuddenHardship = 3 => "突发严重困难户",
    }
}

code_enum! {
    /// 风险消除方式 (DOMAIN D9).
    pub enum EliminationMode {
        Assisted = 1 => "帮扶消除",
        Natural = 2 => "自然消除",
    }
}

code_enum! {
    /// 致贫返贫风险 (DOMAIN D7, §3). Up to five per household, ordered.
    pub enum RiskType {
        Illness = 1 => "因病",
        Schooling = 2 => "因学",
        Disability = 3 => "因残",
        NaturalDisaster = 4 => "因自然灾害" | "因灾",
        Accident = 5 => "因意外事故",
        FailedEnterprise = 6 => "因产业项目失败" | "因产业失败",
        UnstableEmployment = 7 => "因务工就业不稳" | "务工就业不稳",
        LackOfLabour = 8 => "缺劳动力" | "因缺劳动力",
        Other = 99 => "其他",
    }
}

code_enum! {
    /// 因自然灾害 sub-item (DOMAIN §3).
    pub enum DisasterKind {
        Flood = 1 => "洪涝灾害",
        Geological = 2 => "地质灾害",
        Drought = 3 => "旱灾",
        Biological = 4 => "生物灾害",
        Meteorological = 5 => "气象灾害",
        Earthquake = 6 => "地震灾害",
        Other = 99 => "其他",
    }
}

code_enum! {
    /// 危房等级 (DOMAIN D6): C and D are unsafe.
    pub enum HousingGrade {
        A = 1 => "A级" | "A" | "a",
        B = 2 => "B级" | "B" | "b",
        C = 3 => "C级" | "C" | "c",
        D = 4 => "D级" | "D" | "d",
    }
}

impl HousingGrade {
    /// C/D 级危房 is a 住房安全 problem (DOMAIN §2.3).
    pub fn is_unsafe(self) -> bool {
        matches!(self, HousingGrade::C | HousingGrade::D)
    }
}

code_enum! {
    /// 与户主关系 (DOMAIN §8.2).
    pub enum Relation {
        Head = 1 => "户主" | "本人",
        Spouse = 2 => "配偶",
        Son = 3 => "之子",
        Daughter = 4 => "之女",
        DaughterInLaw = 5 => "之儿媳",
        SonInLaw = 6 => "之女婿",
        Grandson = 7 => "之孙子",
        Granddaughter = 8 => "之孙女",
        DaughtersSon = 9 => "之外孙子",
        DaughtersDaughter = 10 => "之外孙女",
        Father = 11 => "之父",
        Mother = 12 => "之母",
        FatherInLawWife = 13 => "之岳父",
        MotherInLawWife = 14 => "之岳母",
        FatherInLawHusband = 15 => "之公公",
        MotherInLawHusband = 16 => "之婆婆",
        Grandfather = 17 => "之祖父",
        Grandmother = 18 => "之祖母",
        MaternalGrandfather = 19 => "之外祖父",
        MaternalGrandmother = 20 => "之外祖母",
        Sibling = 21 => "之兄弟姐妹",
        GreatGrandson = 22 => "之曾孙子",
        GreatGranddaughter = 23 => "之曾孙女",
        Nephew = 24 => "之侄儿",
        Niece = 25 => "之侄女",
        SiblingInLaw = 26 => "之兄弟媳妇",
        Uncle = 27 => "之叔伯",
        Other = 99 => "其他",
    }
}

code_enum! {
    /// 性别.
    pub enum Sex {
        Male = 1 => "男",
        Female = 2 => "女",
    }
}

code_enum! {
    /// 文化程度 (empty for a student; DOMAIN §8.2).
    pub enum Education {
        Illiterate = 1 => "文盲或半文盲" | "文盲" | "半文盲",
        Primary = 2 => "小学",
        JuniorHigh = 3 => "初中",
        SeniorHigh = 4 => "高中" | "高中(含中专)" | "中专",
        College = 5 => "大专",
        BachelorOrAbove = 6 => "本科及以上" | "本科",
    }
}

code_enum! {
    /// 在校生状况 (DOMAIN §8.2).
    pub enum SchoolStatus {
        Preschooler = 1 => "学龄前儿童",
        Preschool = 2 => "学前教育",
        Primary = 3 => "小学",
        Grade7 = 4 => "七年级",
        Grade8 = 5 => "八年级",
        Grade9 = 6 => "九年级",
        HighSchool1 = 7 => "普通高中一年级",
        HighSchool2 = 8 => "普通高中二年级",
        HighSchool3 = 9 => "普通高中三年级",
        Vocational1 = 10 => "中职一年级",
        Vocational2 = 11 => "中职二年级",
        Vocational3 = 12 => "中职三年级",
        HigherVocational1 = 13 => "高职高专一年级",
        HigherVocational2 = 14 => "高职高专二年级",
        HigherVocational3 = 15 => "高职高专三年级",
        Technician1 = 16 => "技师学院一年级",
        Technician2 = 17 => "技师学院二年级",
        Technician3 = 18 => "技师学院三年级",
        Technician4 = 19 => "技师学院四年级",
        Undergraduate1 = 20 => "本科一年级",
        Undergraduate2 = 21 => "本科二年级",
        Undergraduate3 = 22 => "本科三年级",
        Undergraduate4 = 23 => "本科四年级",
        Undergraduate5 = 24 => "本科五年级",
        Postgraduate = 25 => "硕士研究生及以上",
    }
}

impl SchoolStatus {
    /// 义务教育阶段 (primary school and grades 7–9).
    pub fn is_compulsory(self) -> bool {
        matches!(self, SchoolStatus::Primary | SchoolStatus::Grade7 | SchoolStatus::Grade8 | SchoolStatus::Grade9)
    }
}

code_enum! {
    /// 劳动技能.
    pub enum LabourSkill {
        Ordinary = 1 => "普通劳动力",
        Skilled = 2 => "技能劳动力",
        Weak = 3 => "弱劳动力或半劳动力" | "弱劳动力" | "半劳动力",
        Lost = 4 => "丧失劳动力",
        None = 5 => "无劳动力",
    }
}

impl LabourSkill {
    /// 有劳动能力 (普通, 技能, 弱/半) — the able-bodied of DOMAIN §7.2.
    pub fn is_able(self) -> bool {
        matches!(self, LabourSkill::Ordinary | LabourSkill::Skilled | LabourSkill::Weak)
    }
}

code_enum! {
    /// 残疾类别 (the seven classes of GB/T 26341).
    pub enum DisabilityClass {
        Visual = 1 => "视力残疾" | "视力",
        Hearing = 2 => "听力残疾" | "听力",
        Speech = 3 => "言语残疾" | "言语",
        Physical = 4 => "肢体残疾" | "肢体",
        Intellectual = 5 => "智力残疾" | "智力",
        Mental = 6 => "精神残疾" | "精神",
        Multiple = 7 => "多重残疾" | "多重",
    }
}

code_enum! {
    /// 政治面貌.
    pub enum PoliticalStatus {
        PartyMember = 1 => "中共党员",
        ProbationaryMember = 2 => "中共预备党员",
        LeagueMember = 3 => "共青团员",
        Masses = 4 => "群众",
        DemocraticParty = 5 => "民主党派",
    }
}

code_enum! {
    /// One 健康状况 value; a member's health is a set of these (DOMAIN §8.2, "can combine").
    pub enum HealthCondition {
        Healthy = 1 => "健康",
        Chronic = 2 => "长期慢性病",
        SeriousIllness = 4 => "患有大病" | "大病",
        Disabled = 8 => "残疾",
    }
}

/// 健康状况: a combination of [`HealthCondition`]s, stored as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct Health(u8);

/// Why a 健康状况 text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HealthError {
    #[error("健康状况不能为空")]
    Empty,
    #[error("无法识别的健康状况“{0}”，可填：健康、长期慢性病、患有大病、残疾（可用逗号组合）")]
    Unknown(String),
    #[error("“健康”不能与其他健康状况同时填写")]
    HealthyCombined,
}

impl Health {
    pub fn healthy() -> Self {
        Health(HealthCondition::Healthy.code() as u8)
    }

    pub fn from_conditions(conditions: &[HealthCondition]) -> Self {
        Health(conditions.iter().fold(0, |acc, c| acc | c.code() as u8))
    }

    pub fn from_bits(bits: i16) -> Option<Self> {
        (bits > 0 && bits < 16).then_some(Health(bits as u8))
    }

    pub fn bits(self) -> i16 {
        i16::from(self.0)
    }

    pub fn has(self, condition: HealthCondition) -> bool {
        self.0 & condition.code() as u8 != 0
    }

    pub fn conditions(self) -> Vec<HealthCondition> {
        HealthCondition::ALL.iter().copied().filter(|c| self.has(*c)).collect()
    }

    /// Parses "健康", "残疾,长期慢性病", "残疾、长期慢性病" …
    pub fn parse(text: &str) -> Result<Self, HealthError> {
        let mut bits = 0u8;
        for part in text.split([',', '，', '、', ';', '；', '/', ' ']) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let c = HealthCondition::parse_label(part).ok_or_else(|| HealthError::Unknown(part.to_string()))?;
            bits |= c.code() as u8;
        }
        if bits == 0 {
            return Err(HealthError::Empty);
        }
        let healthy = HealthCondition::Healthy.code() as u8;
        if bits & healthy != 0 && bits != healthy {
            return Err(HealthError::HealthyCombined);
        }
        Ok(Health(bits))
    }
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let labels: Vec<&str> = self.conditions().iter().map(|c| c.label()).collect();
        f.write_str(&labels.join(","))
    }
}

/// The 56 ethnic groups (民族) plus the catch-alls the national system accepts.
pub const ETHNIC_GROUPS: &[&str] = &[
    "汉族",
    "壮族",
    "满族",
    "回族",
    "苗族",
    "维吾尔族",
    "土家族",
    "彝族",
    "蒙古族",
    "藏族",
    "布依族",
    "侗族",
    "瑶族",
    "朝鲜族",
    "白族",
    "哈尼族",
    "哈萨克族",
    "黎族",
    "傣族",
    "畲族",
    "傈僳族",
    "仡佬族",
    "东乡族",
    "高山族",
    "拉祜族",
    "水族",
    "佤族",
    "纳西族",
    "羌族",
    "土族",
    "仫佬族",
    "锡伯族",
    "柯尔克孜族",
    "达斡尔族",
    "景颇族",
    "毛南族",
    "撒拉族",
    "布朗族",
    "塔吉克族",
    "阿昌族",
    "普米族",
    "鄂温克族",
    "怒族",
    "京族",
    "基诺族",
    "德昂族",
    "保安族",
    "俄罗斯族",
    "裕固族",
    "乌孜别克族",
    "门巴族",
    "鄂伦春族",
    "独龙族",
    "塔塔尔族",
    "赫哲族",
    "珞巴族",
    "其他",
    "外国血统中国籍人士",
];

/// 民族: one of [`ETHNIC_GROUPS`]. "壮" is accepted for "壮族".
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(into = "String")]
pub struct Ethnicity(&'static str);

impl<'de> serde::Deserialize<'de> for Ethnicity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ethnicity::try_from(s).map_err(serde::de::Error::custom)
    }
}

impl Ethnicity {
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        ETHNIC_GROUPS
            .iter()
            .find(|g| **g == text || (g.ends_with('族') && g.trim_end_matches('族') == text))
            .map(|g| Ethnicity(g))
    }

    pub fn han() -> Self {
        Ethnicity("汉族")
    }

    /// The group's position in [`ETHNIC_GROUPS`], for compact storage inside one process (the
    /// list may grow between versions: never store it).
    pub fn index(&self) -> usize {
        ETHNIC_GROUPS.iter().position(|g| *g == self.0).unwrap_or(0)
    }

    pub fn from_index(i: usize) -> Option<Self> {
        ETHNIC_GROUPS.get(i).map(|g| Ethnicity(g))
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl TryFrom<String> for Ethnicity {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Ethnicity::parse(&value).ok_or_else(|| format!("无法识别的民族“{value}”"))
    }
}

impl From<Ethnicity> for String {
    fn from(value: Ethnicity) -> Self {
        value.0.to_string()
    }
}

impl std::fmt::Display for Ethnicity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        fn check<T: Copy + Eq + std::fmt::Debug>(all: &[T], code: fn(T) -> i16, from: fn(i16) -> Option<T>) {
            let mut seen = std::collections::HashSet::new();
            for v in all {
                assert!(seen.insert(code(*v)), "duplicate code for {v:?}");
                assert_eq!(from(code(*v)), Some(*v));
            }
        }
        check(Relation::ALL, Relation::code, Relation::from_code);
        check(SchoolStatus::ALL, SchoolStatus::code, SchoolStatus::from_code);
        check(RiskType::ALL, RiskType::code, RiskType::from_code);
        check(Education::ALL, Education::code, Education::from_code);
    }

    #[test]
    fn labels_and_aliases_parse() {
        assert_eq!(Relation::parse_label(" 户主 "), Some(Relation::Head));
        assert_eq!(Relation::parse_label("本人"), Some(Relation::Head));
        assert_eq!(RiskType::parse_label("因产业失败"), Some(RiskType::FailedEnterprise));
        assert_eq!(LabourSkill::parse_label("半劳动力"), Some(LabourSkill::Weak));
        assert_eq!(HousingGrade::parse_label("C级"), Some(HousingGrade::C));
        assert_eq!(Relation::parse_label("表哥"), None);
    }

    #[test]
    fn health_combines() {
        let h = Health::parse("残疾,长期慢性病").unwrap();
        assert!(h.has(HealthCondition::Disabled) && h.has(HealthCondition::Chronic));
        assert_eq!(h.to_string(), "长期慢性病,残疾");
        assert_eq!(Health::parse(&h.to_string()).unwrap(), h);
        assert_eq!(Health::parse("健康,残疾"), Err(HealthError::HealthyCombined));
        assert!(matches!(Health::parse("很好"), Err(HealthError::Unknown(_))));
        assert_eq!(Health::from_bits(h.bits()), Some(h));
    }

    #[test]
    fn ethnicity_index_names_the_same_group() {
        for (i, g) in ETHNIC_GROUPS.iter().enumerate() {
            let e = Ethnicity::parse(g).unwrap();
            assert_eq!((e.index(), Ethnicity::from_index(i)), (i, Some(e)), "{g}");
        }
        assert_eq!(Ethnicity::from_index(ETHNIC_GROUPS.len()), None);
    }

    #[test]
    fn ethnicity_accepts_short_form() {
        assert_eq!(Ethnicity::parse("壮").unwrap().as_str(), "壮族");
        assert_eq!(Ethnicity::parse("汉族").unwrap().as_str(), "汉族");
        assert!(Ethnicity::parse("火星族").is_none());
        assert_eq!(ETHNIC_GROUPS.len(), 58);
    }
}
