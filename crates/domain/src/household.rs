//! 户: the household record (DOMAIN §8.1) and its monitoring state.

use chrono::NaiveDate;

use crate::codes::{DisasterKind, EliminationMode, HouseholdKind, HousingGrade, MonitoringCategory, RiskType};
use crate::region::{GroupNo, RegionCode};

/// Internal integer key of a household row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct HouseholdId(pub i64);

/// 户编号: the national household number. Letters, digits and '-', 1–40 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HouseholdNo(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HouseholdNoError {
    #[error("户编号不能为空")]
    Empty,
    #[error("户编号“{0}”只能包含数字、字母和“-”，最长40位")]
    Malformed(String),
    #[error("户编号“{0}”在Excel中以数字格式存储，可能已丢失位数：请把该列设置为“文本”格式后重新导出")]
    StoredAsNumber(String),
}

impl HouseholdNo {
    /// `*self = HouseholdNo::parse(text)?`, reusing this number's memory when `text` is already
    /// normalised (a resident snapshot unpacks every household per screening pass).
    pub fn set(&mut self, text: &str) -> Result<(), HouseholdNoError> {
        if text.is_empty() || text.len() > 40 || !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            *self = HouseholdNo::parse(text)?;
        } else {
            self.0.clear();
            self.0.push_str(text);
        }
        Ok(())
    }

    /// Sets this number to `text`, this type's text as [`HouseholdNo::parse`] leaves it, without checking it again: for
    /// values checked when first made and kept since — the engine's packed snapshot, which copies
    /// texts out of values of this type and unpacks every household per screening pass. Nothing
    /// else may call it: it can make a value `parse` would refuse. Checked in debug builds.
    pub fn set_trusted(&mut self, text: &str) {
        debug_assert_eq!(HouseholdNo::parse(text).as_ref().map(HouseholdNo::as_str), Ok(text));
        self.0.clear();
        self.0.push_str(text);
    }

    pub fn parse(text: &str) -> Result<Self, HouseholdNoError> {
        let t = crate::text::compact(text);
        if t.is_empty() {
            return Err(HouseholdNoError::Empty);
        }
        if t.contains('E') && t.contains('.') || t.contains("e+") {
            return Err(HouseholdNoError::StoredAsNumber(text.trim().to_string()));
        }
        if t.len() > 40 || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(HouseholdNoError::Malformed(text.trim().to_string()));
        }
        Ok(HouseholdNo(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for HouseholdNo {
    type Error = HouseholdNoError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        HouseholdNo::parse(&value)
    }
}

impl From<HouseholdNo> for String {
    fn from(value: HouseholdNo) -> Self {
        value.0
    }
}

impl std::fmt::Display for HouseholdNo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.0)
    }
}

/// 联系电话: a mobile (11 digits starting with 1) or a landline (area code optional).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("联系电话“{0}”格式不正确：手机号应为11位数字，固定电话为7–8位号码（可带区号，如0772-2673367）")]
pub struct PhoneError(pub String);

impl Phone {
    /// `*self = Phone::parse(text)?`, reusing this number's memory when `text` is already
    /// normalised (digits and "-" only).
    pub fn set(&mut self, text: &str) -> Result<(), PhoneError> {
        let b = text.as_bytes();
        if !b.iter().all(|c| c.is_ascii_digit() || *c == b'-') {
            *self = Phone::parse(text)?;
            return Ok(());
        }
        let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
        let first = b.iter().find(|c| c.is_ascii_digit()).copied();
        let mobile = digits == 11 && first == Some(b'1');
        let landline = (7..=12).contains(&digits) && first != Some(b'1');
        if !(mobile || landline) {
            return Err(PhoneError(text.to_string()));
        }
        self.0.clear();
        self.0.push_str(text);
        Ok(())
    }

    /// Sets this number to `text`, this type's text as [`Phone::parse`] leaves it, without checking it again: for
    /// values checked when first made and kept since — the engine's packed snapshot, which copies
    /// texts out of values of this type and unpacks every household per screening pass. Nothing
    /// else may call it: it can make a value `parse` would refuse. Checked in debug builds.
    pub fn set_trusted(&mut self, text: &str) {
        debug_assert_eq!(Phone::parse(text).as_ref().map(Phone::as_str), Ok(text));
        self.0.clear();
        self.0.push_str(text);
    }

    /// A number from `text`, trusted as in [`Phone::set_trusted`].
    pub fn trusted(text: &str) -> Phone {
        debug_assert_eq!(Phone::parse(text).as_ref().map(Phone::as_str), Ok(text));
        Phone(text.to_string())
    }

    pub fn parse(text: &str) -> Result<Self, PhoneError> {
        let t = crate::text::compact(text);
        let t = t.strip_prefix("+86").unwrap_or(&t).to_string();
        let digits: String = t.chars().filter(|c| *c != '-').collect();
        let ok_chars = t.bytes().all(|b| b.is_ascii_digit() || b == b'-') && !digits.is_empty();
        let mobile = digits.len() == 11 && digits.starts_with('1');
        let landline = (7..=12).contains(&digits.len()) && !digits.starts_with('1');
        if ok_chars && (mobile || landline) { Ok(Phone(t)) } else { Err(PhoneError(text.trim().to_string())) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// "138****5678" for lists (DOMAIN D18).
    pub fn masked(&self) -> String {
        let c: Vec<char> = self.0.chars().collect();
        if c.len() <= 7 {
            return "*".repeat(c.len());
        }
        let head: String = c[..3].iter().collect();
        let tail: String = c[c.len() - 4..].iter().collect();
        format!("{head}{}{tail}", "*".repeat(c.len() - 7))
    }
}

impl TryFrom<String> for Phone {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Phone::parse(&value)
    }
}

impl From<Phone> for String {
    fn from(value: Phone) -> Self {
        value.0
    }
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.0)
    }
}

/// 姓名: non-empty, at most 50 characters, inner spaces kept (minority names use "·").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonNameError {
    #[error("姓名不能为空")]
    Empty,
    #[error("姓名过长（最多50个字）")]
    TooLong,
    #[error("姓名中不能含有数字或符号“{0}”")]
    BadCharacter(char),
}

impl PersonName {
    pub fn parse(text: &str) -> Result<Self, PersonNameError> {
        let t = text.trim();
        Self::check(t)?;
        Ok(PersonName(t.to_string()))
    }

    /// `*self = PersonName::parse(text)?`, reusing this name's memory (a resident snapshot
    /// unpacks every member per screening pass).
    pub fn set(&mut self, text: &str) -> Result<(), PersonNameError> {
        let t = text.trim();
        Self::check(t)?;
        self.0.clear();
        self.0.push_str(t);
        Ok(())
    }

    /// Sets this name to `text`, this type's text as [`PersonName::parse`] leaves it, without checking it again: for
    /// values checked when first made and kept since — the engine's packed snapshot, which copies
    /// texts out of values of this type and unpacks every household per screening pass. Nothing
    /// else may call it: it can make a value `parse` would refuse. Checked in debug builds.
    pub fn set_trusted(&mut self, text: &str) {
        debug_assert_eq!(PersonName::parse(text).as_ref().map(PersonName::as_str), Ok(text));
        self.0.clear();
        self.0.push_str(text);
    }

    /// A name from `text`, trusted as in [`PersonName::set_trusted`].
    pub fn trusted(text: &str) -> PersonName {
        debug_assert_eq!(PersonName::parse(text).as_ref().map(PersonName::as_str), Ok(text));
        PersonName(text.to_string())
    }

    fn check(t: &str) -> Result<(), PersonNameError> {
        if t.is_empty() {
            return Err(PersonNameError::Empty);
        }
        // no more characters than bytes: most names need no count
        if t.len() > 50 && t.chars().count() > 50 {
            return Err(PersonNameError::TooLong);
        }
        // every refused character is ASCII, and no byte of a multi-byte character is: a scan of
        // the bytes finds the same first one without decoding the name (a screening pass checks
        // every member's name as it unpacks them)
        let bad = |c: u8| {
            c.is_ascii_digit()
                || matches!(
                    c,
                    b'<' | b'>'
                        | b'"'
                        | b'\''
                        | b'&'
                        | b';'
                        | b'@'
                        | b'#'
                        | b'$'
                        | b'%'
                        | b'^'
                        | b'*'
                        | b'='
                        | b'+'
                        | b'\\'
                        | b'|'
                        | b'/'
                        | b'{'
                        | b'}'
                        | b'['
                        | b']'
                )
        };
        match t.bytes().find(|c| bad(*c)) {
            Some(c) => Err(PersonNameError::BadCharacter(char::from(c))),
            None => Ok(()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PersonName {
    type Error = PersonNameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        PersonName::parse(&value)
    }
}

impl From<PersonName> for String {
    fn from(value: PersonName) -> Self {
        value.0
    }
}

impl std::fmt::Display for PersonName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.0)
    }
}

/// Monitoring state (DOMAIN D5, D9): never monitored, monitored since a date, or risk eliminated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Monitoring {
    Never,
    Monitored { category: MonitoringCategory, since: NaiveDate },
    Eliminated { category: MonitoringCategory, since: NaiveDate, mode: EliminationMode, on: NaiveDate },
}

impl Monitoring {
    pub fn category(&self) -> Option<MonitoringCategory> {
        match self {
            Monitoring::Never => None,
            Monitoring::Monitored { category, .. } | Monitoring::Eliminated { category, .. } => Some(*category),
        }
    }

    /// Ever identified as 监测对象 (附件3 households, DOMAIN D13).
    pub fn ever_monitored(&self) -> bool {
        !matches!(self, Monitoring::Never)
    }

    pub fn status(&self) -> MonitoringStatus {
        match self {
            Monitoring::Never => MonitoringStatus::Never,
            Monitoring::Monitored { .. } => MonitoringStatus::Monitored,
            Monitoring::Eliminated { .. } => MonitoringStatus::Eliminated,
        }
    }

    /// Short Chinese description for lists: "未纳入监测", "边缘易致贫户（监测中）", "脱贫不稳定户（已消除风险）".
    pub fn describe(&self) -> String {
        match self {
            Monitoring::Never => "未纳入监测".to_string(),
            Monitoring::Monitored { category, .. } => format!("{category}（监测中）"),
            Monitoring::Eliminated { category, .. } => format!("{category}（风险已消除）"),
        }
    }
}

crate::codes::code_enum! {
    /// Monitoring status, the list filter and storage code.
    pub enum MonitoringStatus {
        Never = 0 => "未纳入监测",
        Monitored = 1 => "监测中",
        Eliminated = 2 => "风险已消除",
    }
}

/// 饮水安全: the overall judgement and the four T/CHES 18-2018 indicators (DOMAIN §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct DrinkingWater {
    pub safe: Option<bool>,
    pub quantity_ok: Option<bool>,
    pub quality_ok: Option<bool>,
    pub convenience_ok: Option<bool>,
    pub reliability_ok: Option<bool>,
}

impl DrinkingWater {
    /// True when an indicator is recorded as failing but the overall judgement says safe.
    pub fn contradicts_indicators(&self) -> bool {
        let any_fail =
            [self.quantity_ok, self.quality_ok, self.convenience_ok, self.reliability_ok].contains(&Some(false));
        self.safe == Some(true) && any_fail
    }
}

/// 帮扶责任人 as recorded on the household (the full assignment history comes with the procedures).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OfficerContact {
    pub name: PersonName,
    pub unit: String,
    pub phone: Option<Phone>,
}

/// A household's registry data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Household {
    pub household_no: HouseholdNo,
    pub village: RegionCode,
    /// 0 = no group recorded.
    pub group_no: GroupNo,
    pub address: String,
    pub phone: Option<Phone>,
    pub kind: HouseholdKind,
    /// 脱贫年度, for 脱贫户.
    pub exit_year: Option<i32>,
    pub monitoring: Monitoring,
    /// Up to five, ordered (DOMAIN D7).
    pub risks: Vec<RiskType>,
    pub disaster_kind: Option<DisasterKind>,
    pub housing_grade: Option<HousingGrade>,
    pub water: DrinkingWater,
    /// 两不愁 judgement by the screener: Some(true) = 不愁吃不愁穿.
    pub food_clothing_secure: Option<bool>,
    pub food_clothing_note: String,
    /// 军烈属.
    pub military_family: bool,
    /// 整户无劳动能力兜底保障户.
    pub no_labour_safety_net: bool,
    /// 易地扶贫搬迁.
    pub relocated: bool,
    pub officer: Option<OfficerContact>,
    /// 家庭人口数 as declared (the member rows are the truth; a mismatch is a warning).
    pub declared_size: Option<u16>,
}

pub const MAX_RISKS: usize = 5;

impl Household {
    /// A minimal household, for builders and tests.
    pub fn new(household_no: HouseholdNo, village: RegionCode, kind: HouseholdKind) -> Self {
        Household {
            household_no,
            village,
            group_no: 0,
            address: String::new(),
            phone: None,
            kind,
            exit_year: None,
            monitoring: Monitoring::Never,
            risks: Vec::new(),
            disaster_kind: None,
            housing_grade: None,
            water: DrinkingWater::default(),
            food_clothing_secure: None,
            food_clothing_note: String::new(),
            military_family: false,
            no_labour_safety_net: false,
            relocated: false,
            officer: None,
            declared_size: None,
        }
    }

    /// Encodes the ordered risk list for storage ("1,4"), decoded by [`Household::decode_risks`].
    pub fn encode_risks(&self) -> String {
        self.risks.iter().map(|r| r.code().to_string()).collect::<Vec<_>>().join(",")
    }

    pub fn decode_risks(text: &str) -> Vec<RiskType> {
        text.split(',').filter_map(|c| c.trim().parse().ok()).filter_map(RiskType::from_code).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_is_parse_into_the_same_memory() {
        let mut no = HouseholdNo::parse("1").unwrap();
        for raw in
            ["4502031002010001", " 4502031002010001 ", "A-12", "", "45 02?", "4.50203100201E+15", &"9".repeat(41)]
        {
            assert_eq!(no.set(raw).map(|()| no.clone()), HouseholdNo::parse(raw), "{raw:?}");
        }
        let mut phone = Phone::parse("13800001234").unwrap();
        for raw in
            ["0772-2673367", "13807721234", "+8613807721234", "138 0000 1234", "1234", "23456789012", "1-3-8", ""]
        {
            assert_eq!(phone.set(raw).map(|()| phone.clone()), Phone::parse(raw), "{raw:?}");
        }
        let mut name = PersonName::parse("张三").unwrap();
        for raw in ["阿卜杜·热合曼", " 李四 ", "", "王5", "a<b", &"长".repeat(51), &"长".repeat(50)] {
            assert_eq!(name.set(raw).map(|()| name.clone()), PersonName::parse(raw), "{raw:?}");
        }
    }

    #[test]
    fn trusted_setters_take_what_parse_left() {
        let mut no = HouseholdNo::parse("1").unwrap();
        no.set_trusted("A-12");
        assert_eq!(no, HouseholdNo::parse("A-12").unwrap());
        let mut phone = Phone::parse("13800001234").unwrap();
        phone.set_trusted("0772-2673367");
        assert_eq!(phone, Phone::parse("0772-2673367").unwrap());
        assert_eq!(Phone::trusted("13807721234"), Phone::parse("13807721234").unwrap());
        let mut name = PersonName::parse("张三").unwrap();
        name.set_trusted("阿卜杜·热合曼");
        assert_eq!(name, PersonName::parse("阿卜杜·热合曼").unwrap());
        assert_eq!(PersonName::trusted("李四"), PersonName::parse("李四").unwrap());
    }

    /// Debug builds (the tests) still check: a misuse fails loudly there.
    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "assertion `left == right` failed")]
    fn trusted_setters_check_in_debug_builds() {
        PersonName::parse("张三").unwrap().set_trusted("王5");
    }

    #[test]
    fn household_numbers() {
        assert_eq!(HouseholdNo::parse(" 4502031002010001 ").unwrap().as_str(), "4502031002010001");
        assert!(HouseholdNo::parse("").is_err());
        assert!(HouseholdNo::parse("45 02?").is_err());
        assert!(matches!(HouseholdNo::parse("4.50203100201E+15"), Err(HouseholdNoError::StoredAsNumber(_))));
    }

    #[test]
    fn phones() {
        assert_eq!(Phone::parse("138 0000 1234").unwrap().as_str(), "13800001234");
        assert!(Phone::parse("0772-2673367").is_ok());
        assert!(Phone::parse("2673367").is_ok());
        assert!(Phone::parse("1380000123").is_err());
        assert!(Phone::parse("abc").is_err());
        assert_eq!(Phone::parse("13800001234").unwrap().masked(), "138****1234");
    }

    #[test]
    fn names() {
        assert_eq!(PersonName::parse(" 张三 ").unwrap().as_str(), "张三");
        assert!(PersonName::parse("阿依古丽·买买提").is_ok());
        assert_eq!(PersonName::parse(""), Err(PersonNameError::Empty));
        assert_eq!(PersonName::parse("张3"), Err(PersonNameError::BadCharacter('3')));
    }

    #[test]
    fn risk_encoding() {
        let mut h = Household::new(
            HouseholdNo::parse("1").unwrap(),
            RegionCode::parse("450203100201").unwrap(),
            HouseholdKind::Ordinary,
        );
        h.risks = vec![RiskType::Illness, RiskType::Other, RiskType::NaturalDisaster];
        assert_eq!(h.encode_risks(), "1,99,4");
        assert_eq!(Household::decode_risks(&h.encode_risks()), h.risks);
        assert_eq!(Household::decode_risks(""), vec![]);
    }

    #[test]
    fn water_contradiction() {
        let w = DrinkingWater { safe: Some(true), quality_ok: Some(false), ..Default::default() };
        assert!(w.contradicts_indicators());
        assert!(
            !DrinkingWater { safe: Some(false), quality_ok: Some(false), ..Default::default() }
                .contradicts_indicators()
        );
    }
}
