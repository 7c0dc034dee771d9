//! 行政区划: the 12-digit statistical division code and the region tree (DOMAIN D1, §10.2).

use std::fmt;

/// Level of a division in the 12-digit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    Province = 1,
    City = 2,
    County = 3,
    Town = 4,
    Village = 5,
}

impl RegionLevel {
    pub fn label(self) -> &'static str {
        match self {
            RegionLevel::Province => "省",
            RegionLevel::City => "市",
            RegionLevel::County => "县",
            RegionLevel::Town => "乡镇",
            RegionLevel::Village => "村",
        }
    }

    pub fn code(self) -> i16 {
        self as i16
    }

    pub fn from_code(code: i16) -> Option<Self> {
        Some(match code {
            1 => RegionLevel::Province,
            2 => RegionLevel::City,
            3 => RegionLevel::County,
            4 => RegionLevel::Town,
            5 => RegionLevel::Village,
            _ => return None,
        })
    }

    /// How many trailing digits are zero for a code of this level.
    pub fn trailing(self) -> u32 {
        match self {
            RegionLevel::Province => 10,
            RegionLevel::City => 8,
            RegionLevel::County => 6,
            RegionLevel::Town => 3,
            RegionLevel::Village => 0,
        }
    }
}

/// A 12-digit 统计用区划代码. Stored as an integer so that a subtree is a contiguous range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(u64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionCodeError {
    #[error("区划代码应为12位数字，收到“{0}”")]
    Malformed(String),
    #[error("区划代码“{0}”的省级部分不能为0")]
    NoProvince(String),
}

const MAX_CODE: u64 = 999_999_999_999;

impl RegionCode {
    pub fn parse(text: &str) -> Result<Self, RegionCodeError> {
        let t = text.trim();
        if t.len() != 12 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RegionCodeError::Malformed(text.to_string()));
        }
        let v: u64 = t.parse().map_err(|_| RegionCodeError::Malformed(text.to_string()))?;
        Self::from_u64(v).ok_or_else(|| RegionCodeError::NoProvince(text.to_string()))
    }

    pub fn from_u64(v: u64) -> Option<Self> {
        (10_000_000_000..=MAX_CODE).contains(&v).then_some(RegionCode(v))
    }

    pub fn from_i64(v: i64) -> Option<Self> {
        u64::try_from(v).ok().and_then(Self::from_u64)
    }

    pub fn as_u64(self) -> u64 {
        self.0
    }

    pub fn as_i64(self) -> i64 {
        self.0 as i64
    }

    pub fn level(self) -> RegionLevel {
        let v = self.0;
        if v.is_multiple_of(10u64.pow(10)) {
            RegionLevel::Province
        } else if v.is_multiple_of(10u64.pow(8)) {
            RegionLevel::City
        } else if v.is_multiple_of(10u64.pow(6)) {
            RegionLevel::County
        } else if v.is_multiple_of(1000) {
            RegionLevel::Town
        } else {
            RegionLevel::Village
        }
    }

    /// The code's ancestor at `level` (itself when already at that level or above).
    pub fn ancestor(self, level: RegionLevel) -> RegionCode {
        let m = 10u64.pow(level.trailing());
        RegionCode(self.0 / m * m)
    }

    /// The parent division, or `None` for a province.
    pub fn parent(self) -> Option<RegionCode> {
        let up = match self.level() {
            RegionLevel::Province => return None,
            RegionLevel::City => RegionLevel::Province,
            RegionLevel::County => RegionLevel::City,
            RegionLevel::Town => RegionLevel::County,
            RegionLevel::Village => RegionLevel::Town,
        };
        Some(self.ancestor(up))
    }

    /// Ancestors from the province down to the parent.
    pub fn ancestors(self) -> Vec<RegionCode> {
        let mut out = Vec::new();
        let mut c = self.parent();
        while let Some(p) = c {
            out.push(p);
            c = p.parent();
        }
        out.reverse();
        out
    }

    /// The inclusive range of codes in this subtree.
    pub fn subtree(self) -> (u64, u64) {
        let m = 10u64.pow(self.level().trailing());
        (self.0, self.0 + m - 1)
    }

    pub fn contains(self, other: RegionCode) -> bool {
        let (lo, hi) = self.subtree();
        (lo..=hi).contains(&other.0)
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012}", self.0)
    }
}

impl TryFrom<String> for RegionCode {
    type Error = RegionCodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        RegionCode::parse(&value)
    }
}

impl From<RegionCode> for String {
    fn from(value: RegionCode) -> Self {
        value.to_string()
    }
}

impl std::str::FromStr for RegionCode {
    type Err = RegionCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RegionCode::parse(s)
    }
}

/// A node of the region tree.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Region {
    pub code: RegionCode,
    pub name: String,
}

impl Region {
    pub fn level(&self) -> RegionLevel {
        self.code.level()
    }
}

/// 村民小组/屯: a group number under a village (below the 12 digits). 0 means "no group".
pub type GroupNo = u16;

/// Reads a 组 cell: "3", "3组", "第3组", "三组", "第三村民小组", "十二队" → 3 / 12.
pub fn parse_group_no(text: &str) -> Option<GroupNo> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let t = t.strip_prefix('第').unwrap_or(t);
    let end = t
        .char_indices()
        .find(|(_, c)| {
            !(c.is_ascii_digit() || "零〇一二两三四五六七八九十百".contains(*c) || c.is_numeric() && !c.is_ascii())
        })
        .map(|(i, _)| i)
        .unwrap_or(t.len());
    let (num, rest) = t.split_at(end);
    let rest = rest.trim();
    if !(rest.is_empty() || ["组", "村民小组", "小组", "队", "屯", "生产队"].contains(&rest)) {
        return None;
    }
    let num: String = num.chars().map(crate::text::fold_fullwidth).collect();
    let n = if num.bytes().all(|b| b.is_ascii_digit()) && !num.is_empty() {
        num.parse().ok()?
    } else {
        crate::text::parse_chinese_number(&num)?
    };
    (1..=999).contains(&n).then_some(n as GroupNo)
}

/// The villages of 雒容镇 in the seed's order, with the demo codes of DOMAIN D1.
pub const LUORONG_TOWN: (&str, u64) = ("雒容镇", 450_203_100_000);
pub const LUORONG_VILLAGES: [&str; 13] = [
    "大正村",
    "东塘村",
    "秀水村",
    "竹车村",
    "半塘村",
    "高岩村",
    "南庆村",
    "果园村",
    "坭桥村",
    "盘古村",
    "龙岭村",
    "竹桐村",
    "连丰村",
];

/// The region tree above and including 雒容镇 and its 13 villages (codes 450203100201 … 213, DOMAIN D1).
pub fn luorong_regions() -> Vec<Region> {
    let mut out = vec![
        region(450_000_000_000, "广西壮族自治区"),
        region(450_200_000_000, "柳州市"),
        region(450_203_000_000, "鱼峰区"),
        region(LUORONG_TOWN.1, LUORONG_TOWN.0),
    ];
    for (i, name) in LUORONG_VILLAGES.iter().enumerate() {
        out.push(region(LUORONG_TOWN.1 + 201 + i as u64, name));
    }
    out
}

fn region(code: u64, name: &str) -> Region {
    Region { code: RegionCode(code), name: name.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_parents() {
        let v = RegionCode::parse("450203100201").unwrap();
        assert_eq!(v.level(), RegionLevel::Village);
        let t = v.parent().unwrap();
        assert_eq!(t.to_string(), "450203100000");
        assert_eq!(t.level(), RegionLevel::Town);
        assert_eq!(t.parent().unwrap().to_string(), "450203000000");
        assert_eq!(t.parent().unwrap().level(), RegionLevel::County);
        assert_eq!(RegionCode::parse("450200000000").unwrap().level(), RegionLevel::City);
        assert_eq!(RegionCode::parse("450000000000").unwrap().level(), RegionLevel::Province);
        assert_eq!(RegionCode::parse("450000000000").unwrap().parent(), None);
        assert_eq!(v.ancestors().len(), 4);
    }

    #[test]
    fn subtree_ranges() {
        let town = RegionCode::parse("450203100000").unwrap();
        assert_eq!(town.subtree(), (450203100000, 450203100999));
        assert!(town.contains(RegionCode::parse("450203100213").unwrap()));
        assert!(!town.contains(RegionCode::parse("450203101201").unwrap()));
        let prov = RegionCode::parse("450000000000").unwrap();
        assert_eq!(prov.subtree(), (450000000000, 459999999999));
        let village = RegionCode::parse("450203100201").unwrap();
        assert_eq!(village.subtree(), (450203100201, 450203100201));
    }

    #[test]
    fn rejects_bad_codes() {
        assert!(RegionCode::parse("4502031002").is_err());
        assert!(RegionCode::parse("45020310020a").is_err());
        assert!(RegionCode::parse("000000000001").is_err());
    }

    #[test]
    fn group_numbers() {
        assert_eq!(parse_group_no("3"), Some(3));
        assert_eq!(parse_group_no("3组"), Some(3));
        assert_eq!(parse_group_no("第三村民小组"), Some(3));
        assert_eq!(parse_group_no("十二组"), Some(12));
        assert_eq!(parse_group_no("２１组"), Some(21));
        assert_eq!(parse_group_no("东组"), None);
        assert_eq!(parse_group_no(""), None);
    }

    #[test]
    fn luorong_tree() {
        let r = luorong_regions();
        assert_eq!(r.len(), 17);
        assert_eq!(r[4].name, "大正村");
        assert_eq!(r[4].code.to_string(), "450203100201");
        assert_eq!(r[16].code.to_string(), "450203100213");
        assert!(r[4..].iter().all(|v| v.level() == RegionLevel::Village));
    }
}
