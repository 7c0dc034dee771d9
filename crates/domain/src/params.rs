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
    }
}

impl ParamName {
    /// Identifier used in the CLI (`--monitoring-line`) and the API.
    pub fn key(self) -> &'static str {
        match self {
            ParamName::MonitoringLine => "monitoring_line",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            ParamName::MonitoringLine => "元/人/年",
        }
    }

    /// Renders a stored value for people.
    pub fn display_value(self, value: i64) -> String {
        match self {
            ParamName::MonitoringLine => format!("{} 元/人/年", Fen(value)),
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
    fn value_parsing() {
        assert_eq!(parse_value(ParamName::MonitoringLine, "6500"), Ok(650_000));
        assert!(parse_value(ParamName::MonitoringLine, "-1").is_err());
        assert!(parse_value(ParamName::MonitoringLine, "abc").is_err());
    }
}
