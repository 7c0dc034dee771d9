//! The national member-per-row layout (全国防返贫监测信息系统 export): one row per member, the
//! household's columns repeated on each of its rows. One table of columns, in export order,
//! read by the importer, written by the exporter and explained in the template.

use std::collections::HashMap;

use domain::codes::{
    CodeEnum, DisabilityClass, DisasterKind, Education, EliminationMode, HealthCondition, HouseholdKind, HousingGrade,
    LabourSkill, MonitoringCategory, PoliticalStatus, Relation, RiskType, SchoolStatus, Sex,
};

/// Every column the layout knows, in export order. The discriminant indexes [`COLUMNS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Col {
    County,
    Town,
    Village,
    Group,
    HouseholdNo,
    Kind,
    ExitYear,
    Category,
    MonitoredSince,
    Eliminated,
    EliminationMode,
    EliminatedOn,
    Risk1,
    Risk2,
    Risk3,
    Risk4,
    Risk5,
    DisasterKind,
    Name,
    NationalId,
    Relation,
    Sex,
    Ethnicity,
    PoliticalStatus,
    Education,
    SchoolStatus,
    Health,
    DisabilityClass,
    LabourSkill,
    WorkMonths,
    WorkPlace,
    ResidentMedical,
    EmployeeMedical,
    ResidentPension,
    EmployeePension,
    Dibao,
    Tekun,
    DropoutReason,
    Phone,
    Address,
    DeclaredSize,
    IncomeYear,
    Wage,
    Business,
    Property,
    Transfer,
    BusinessCost,
    OutOfPocket,
    InsurancePayout,
    HousingGrade,
    WaterSafe,
    WaterQuantity,
    WaterQuality,
    WaterConvenience,
    WaterReliability,
    FoodClothingSecure,
    FoodClothingNote,
    MilitaryFamily,
    NoLabourSafetyNet,
    Relocated,
    OfficerName,
    OfficerUnit,
    OfficerPhone,
}

/// How a column's cells are read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text.
    Text,
    /// One label of a coded enumeration.
    Code,
    /// 证件号码: text only; a number cell has lost digits.
    Id,
    /// 户编号: text; an integral number cell below 2^53 is exact and accepted.
    HouseholdNo,
    /// A phone number, written as text so that a leading 0 survives.
    Phone,
    /// 元 with up to two decimals.
    Money,
    Date,
    /// A small whole number (组, 年度, 人数, 月数).
    Int,
    /// 是/否 (or 达标/不达标 for the water indicators).
    YesNo,
}

/// Whether a column describes the household (repeated on every row) or the member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Household,
    Member,
}

/// One column of the layout.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub col: Col,
    /// The header the exporter writes.
    pub header: &'static str,
    /// Other headers accepted on import (compared after [`normalize_header`]).
    pub aliases: &'static [&'static str],
    /// A file without this column cannot be imported; a row without a value is an error.
    pub required: bool,
    pub kind: Kind,
    pub level: Level,
}

const fn col(
    col: Col,
    header: &'static str,
    aliases: &'static [&'static str],
    required: bool,
    kind: Kind,
    level: Level,
) -> Column {
    Column { col, header, aliases, required, kind, level }
}

use Kind as K;
use Level::{Household as H, Member as M};

/// The layout, in export order (`COLUMNS[c as usize].col == c`).
pub const COLUMNS: &[Column] = &[
    col(Col::County, "县", &["县(市、区)", "县(市,区)", "县区", "县(区)", "县市区", "区县"], true, K::Text, H),
    col(Col::Town, "乡镇", &["乡(镇)", "乡", "镇", "乡镇(街道)", "乡(镇、街道)"], true, K::Text, H),
    col(Col::Village, "村", &["行政村", "村(社区)", "村名"], true, K::Text, H),
    col(Col::Group, "组", &["村民小组", "组(屯)", "小组", "屯"], false, K::Int, H),
    col(Col::HouseholdNo, "户编号", &["户号"], true, K::HouseholdNo, H),
    col(Col::Kind, "户类型", &["户属性"], true, K::Code, H),
    col(Col::ExitYear, "脱贫年度", &["脱贫年份", "脱贫时间"], false, K::Int, H),
    col(Col::Category, "监测对象类别", &["监测对象类型", "监测类别"], false, K::Code, H),
    col(Col::MonitoredSince, "识别监测时间", &["纳入监测时间", "识别时间"], false, K::Date, H),
    col(Col::Eliminated, "风险是否已消除", &["是否风险消除", "风险是否消除"], false, K::YesNo, H),
    col(Col::EliminationMode, "风险消除方式", &["消除方式"], false, K::Code, H),
    col(Col::EliminatedOn, "风险消除时间", &["消除监测时间", "风险消除日期"], false, K::Date, H),
    col(
        Col::Risk1,
        "致贫返贫风险1",
        &["致贫/返贫风险1", "返贫致贫风险1", "风险类型1", "致贫返贫风险", "风险类型"],
        false,
        K::Code,
        H,
    ),
    col(Col::Risk2, "致贫返贫风险2", &["致贫/返贫风险2", "返贫致贫风险2", "风险类型2"], false, K::Code, H),
    col(Col::Risk3, "致贫返贫风险3", &["致贫/返贫风险3", "返贫致贫风险3", "风险类型3"], false, K::Code, H),
    col(Col::Risk4, "致贫返贫风险4", &["致贫/返贫风险4", "返贫致贫风险4", "风险类型4"], false, K::Code, H),
    col(Col::Risk5, "致贫返贫风险5", &["致贫/返贫风险5", "返贫致贫风险5", "风险类型5"], false, K::Code, H),
    col(Col::DisasterKind, "自然灾害类型", &["因自然灾害子项", "灾害类型"], false, K::Code, H),
    col(Col::Name, "姓名", &["成员姓名"], true, K::Text, M),
    col(
        Col::NationalId,
        "证件号码",
        &["身份证号", "身份证号码", "公民身份号码", "证件号码(身份证号)", "身份证号码(残疾人证号)"],
        true,
        K::Id,
        M,
    ),
    col(Col::Relation, "与户主关系", &["与户主的关系"], true, K::Code, M),
    col(Col::Sex, "性别", &[], false, K::Code, M),
    col(Col::Ethnicity, "民族", &[], true, K::Text, M),
    col(Col::PoliticalStatus, "政治面貌", &[], false, K::Code, M),
    col(Col::Education, "文化程度", &[], false, K::Code, M),
    col(Col::SchoolStatus, "在校生状况", &["在校生情况"], false, K::Code, M),
    col(Col::Health, "健康状况", &[], true, K::Text, M),
    col(Col::DisabilityClass, "残疾类别", &[], false, K::Code, M),
    col(Col::LabourSkill, "劳动技能", &["劳动能力"], true, K::Code, M),
    col(Col::WorkMonths, "务工月数", &["务工时间(月)", "务工时间"], false, K::Int, M),
    col(Col::WorkPlace, "务工地点", &["务工所在地"], false, K::Text, M),
    col(Col::ResidentMedical, "是否参加城乡居民基本医疗保险", &[], true, K::YesNo, M),
    col(Col::EmployeeMedical, "是否参加城镇职工基本医疗保险", &[], true, K::YesNo, M),
    col(Col::ResidentPension, "是否参加城乡居民基本养老保险", &[], false, K::YesNo, M),
    col(Col::EmployeePension, "是否参加城镇职工基本养老保险", &[], false, K::YesNo, M),
    col(Col::Dibao, "是否享受低保", &["是否享受农村低保"], false, K::YesNo, M),
    col(Col::Tekun, "是否特困供养", &["是否特困供养人员"], false, K::YesNo, M),
    col(Col::DropoutReason, "失学或辍学原因", &["失学辍学原因"], false, K::Text, M),
    col(Col::Phone, "联系电话", &["户主联系电话"], false, K::Phone, H),
    col(Col::Address, "家庭住址", &["住址"], false, K::Text, H),
    col(Col::DeclaredSize, "家庭人口数", &["家庭人口", "户人口数"], false, K::Int, H),
    col(Col::IncomeYear, "收入年度", &["收入年份"], false, K::Int, H),
    col(Col::Wage, "工资性收入", &[], false, K::Money, H),
    col(Col::Business, "生产经营性收入", &[], false, K::Money, H),
    col(Col::Property, "财产性收入", &[], false, K::Money, H),
    col(Col::Transfer, "转移性收入", &[], false, K::Money, H),
    col(Col::BusinessCost, "生产经营性支出", &[], false, K::Money, H),
    col(Col::OutOfPocket, "合规自付支出", &[], false, K::Money, H),
    col(Col::InsurancePayout, "理赔收入", &["家庭理赔收入"], false, K::Money, H),
    col(Col::HousingGrade, "危房等级", &[], false, K::Code, H),
    col(Col::WaterSafe, "是否饮水安全", &["饮水是否安全", "是否解决安全饮水"], false, K::YesNo, H),
    col(Col::WaterQuantity, "水量", &[], false, K::YesNo, H),
    col(Col::WaterQuality, "水质", &[], false, K::YesNo, H),
    col(Col::WaterConvenience, "用水方便程度", &[], false, K::YesNo, H),
    col(Col::WaterReliability, "供水保证率", &["供水保障率"], false, K::YesNo, H),
    col(Col::FoodClothingSecure, "两不愁是否有保障", &["两不愁(吃穿)是否有保障"], false, K::YesNo, H),
    col(Col::FoodClothingNote, "两不愁说明", &[], false, K::Text, H),
    col(Col::MilitaryFamily, "是否军烈属", &[], false, K::YesNo, H),
    col(Col::NoLabourSafetyNet, "整户无劳动能力兜底保障户", &["是否整户无劳动能力兜底保障户"], false, K::YesNo, H),
    col(Col::Relocated, "是否易地扶贫搬迁", &["是否易地扶贫搬迁户", "是否异地扶贫搬迁"], false, K::YesNo, H),
    col(Col::OfficerName, "帮扶责任人", &["帮扶责任人姓名"], false, K::Text, H),
    col(Col::OfficerUnit, "帮扶责任人单位", &["帮扶单位"], false, K::Text, H),
    col(Col::OfficerPhone, "帮扶责任人电话", &["帮扶责任人联系电话"], false, K::Phone, H),
];

/// The five risk columns, in order.
pub const RISK_COLS: [Col; 5] = [Col::Risk1, Col::Risk2, Col::Risk3, Col::Risk4, Col::Risk5];

/// The seven money columns of the income record.
pub const MONEY_COLS: [Col; 7] =
    [Col::Wage, Col::Business, Col::Property, Col::Transfer, Col::BusinessCost, Col::OutOfPocket, Col::InsurancePayout];

impl Col {
    pub fn spec(self) -> &'static Column {
        &COLUMNS[self as usize]
    }

    pub fn header(self) -> &'static str {
        self.spec().header
    }

    /// What may be written in the column, for the template's 说明 sheet and error messages.
    pub fn hint(self) -> String {
        fn labels<T: CodeEnum>() -> String {
            format!("可填：{}", T::labels_hint())
        }
        match self {
            Col::County => "县级区划名称，如 鱼峰区".into(),
            Col::Town => "乡镇名称，如 雒容镇".into(),
            Col::Village => "行政村名称，如 大正村；县、乡镇、村须与系统中的区划一致".into(),
            Col::Group => "村民小组（屯）编号，如 3 或 3组".into(),
            Col::HouseholdNo => "全国系统的户编号（数字、字母或“-”），请设置为文本格式".into(),
            Col::Kind => labels::<HouseholdKind>(),
            Col::ExitYear => "脱贫户的脱贫年度，2013–2021".into(),
            Col::Category => format!("{}；未纳入监测的农户留空", labels::<MonitoringCategory>()),
            Col::MonitoredSince | Col::EliminatedOn => "日期，如 2022-03-28".into(),
            Col::Eliminated => "是、否".into(),
            Col::EliminationMode => labels::<EliminationMode>(),
            Col::Risk1 | Col::Risk2 | Col::Risk3 | Col::Risk4 | Col::Risk5 => {
                format!("{}；最多5项，每列一项", labels::<RiskType>())
            }
            Col::DisasterKind => format!("{}；风险含“因自然灾害”时填写", labels::<DisasterKind>()),
            Col::Name => "成员姓名".into(),
            Col::NationalId => "18位公民身份号码（旧15位号码、20或22位残疾人证号也可），必须设置为文本格式".into(),
            Col::Relation => labels::<Relation>(),
            Col::Sex => format!("{}；留空时按证件号码确定", labels::<Sex>()),
            Col::Ethnicity => "民族全称，如 汉族、壮族".into(),
            Col::PoliticalStatus => labels::<PoliticalStatus>(),
            Col::Education => format!("{}；在校学生不填，改填在校生状况", labels::<Education>()),
            Col::SchoolStatus => format!("{}；非在校学生不填", labels::<SchoolStatus>()),
            Col::Health => format!("{}；可用逗号组合，如 残疾,长期慢性病", labels::<HealthCondition>()),
            Col::DisabilityClass => format!("{}；健康状况含“残疾”时填写", labels::<DisabilityClass>()),
            Col::LabourSkill => labels::<LabourSkill>(),
            Col::WorkMonths => "0–12 的整数".into(),
            Col::WorkPlace | Col::DropoutReason | Col::Address | Col::FoodClothingNote | Col::OfficerUnit => {
                "文字".into()
            }
            Col::ResidentMedical
            | Col::EmployeeMedical
            | Col::ResidentPension
            | Col::EmployeePension
            | Col::Dibao
            | Col::Tekun
            | Col::WaterSafe
            | Col::FoodClothingSecure
            | Col::MilitaryFamily
            | Col::NoLabourSafetyNet
            | Col::Relocated => "是、否".into(),
            Col::Phone | Col::OfficerPhone => {
                "手机号11位，或固定电话（可带区号，如 0772-2673367），请设置为文本格式".into()
            }
            Col::DeclaredSize => "户内人数，1–30".into(),
            Col::IncomeYear => "收入所属年度，如 2021；留空时按导入时选择的年度".into(),
            Col::Wage
            | Col::Business
            | Col::Property
            | Col::Transfer
            | Col::BusinessCost
            | Col::OutOfPocket
            | Col::InsurancePayout => "金额（元），最多两位小数，不能为负数；整户各项均留空表示无收入记录".into(),
            Col::HousingGrade => labels::<HousingGrade>(),
            Col::WaterQuantity | Col::WaterQuality | Col::WaterConvenience | Col::WaterReliability => {
                "达标、不达标".into()
            }
            Col::OfficerName => "帮扶责任人姓名".into(),
        }
    }
}

/// Normalises a header cell for matching: folds full-width characters (so （） become ()),
/// drops every space, and strips the decorations templates add: a "*" before or after, "(必填)",
/// "必填" and a unit "(元)".
pub fn normalize_header(raw: &str) -> String {
    let mut s = domain::text::compact(raw);
    loop {
        let before = s.len();
        for suffix in ["*", "(必填)", "必填", "(元)", "(选填)"] {
            if let Some(t) = s.strip_suffix(suffix) {
                s = t.to_string();
            }
        }
        if let Some(t) = s.strip_prefix('*') {
            s = t.to_string();
        }
        if s.len() == before {
            return s;
        }
    }
}

fn header_index() -> &'static HashMap<String, Col> {
    static INDEX: std::sync::OnceLock<HashMap<String, Col>> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let mut m = HashMap::new();
        for c in COLUMNS {
            m.insert(normalize_header(c.header), c.col);
            for a in c.aliases {
                m.insert(normalize_header(a), c.col);
            }
        }
        m
    })
}

/// The column a header cell names, if any.
pub fn match_header(raw: &str) -> Option<Col> {
    header_index().get(&normalize_header(raw)).copied()
}

/// Where each layout column is in a file.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    positions: Vec<Option<usize>>,
    /// Header cells that name no known column (ignored).
    pub unknown: Vec<String>,
    /// Header cells naming a column already found further left (the left one is used).
    pub duplicates: Vec<String>,
    /// Number of cells in the header row.
    pub width: usize,
}

impl ColumnMap {
    pub fn from_headers<S: AsRef<str>>(headers: &[S]) -> ColumnMap {
        let mut positions = vec![None; COLUMNS.len()];
        let mut unknown = Vec::new();
        let mut duplicates = Vec::new();
        for (i, h) in headers.iter().enumerate() {
            let h = h.as_ref().trim();
            if h.is_empty() {
                continue;
            }
            match match_header(h) {
                Some(c) if positions[c as usize].is_none() => positions[c as usize] = Some(i),
                Some(_) => duplicates.push(h.to_string()),
                None => unknown.push(h.to_string()),
            }
        }
        ColumnMap { positions, unknown, duplicates, width: headers.len() }
    }

    pub fn get(&self, c: Col) -> Option<usize> {
        self.positions[c as usize]
    }

    pub fn has(&self, c: Col) -> bool {
        self.get(c).is_some()
    }

    /// A header row is one that names both 户编号 and 证件号码.
    pub fn is_header(&self) -> bool {
        self.has(Col::HouseholdNo) && self.has(Col::NationalId)
    }

    /// Required columns the file lacks.
    pub fn missing_required(&self) -> Vec<Col> {
        COLUMNS.iter().filter(|c| c.required && !self.has(c.col)).map(|c| c.col).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_discriminant_order() {
        for (i, c) in COLUMNS.iter().enumerate() {
            assert_eq!(c.col as usize, i, "{}", c.header);
        }
        assert_eq!(Col::OfficerPhone as usize + 1, COLUMNS.len());
    }

    #[test]
    fn headers_and_aliases_are_unambiguous() {
        let mut seen = HashMap::new();
        for c in COLUMNS {
            for h in std::iter::once(&c.header).chain(c.aliases) {
                if let Some(other) = seen.insert(normalize_header(h), c.col) {
                    panic!("“{h}” names both {other:?} and {:?}", c.col);
                }
            }
        }
    }

    #[test]
    fn header_variants_match() {
        for (raw, c) in [
            ("证件号码", Col::NationalId),
            (" 身份证号 ", Col::NationalId),
            ("公民身份号码*", Col::NationalId),
            ("证件号码（身份证号）", Col::NationalId),
            ("*户编号", Col::HouseholdNo),
            ("户号（必填）", Col::HouseholdNo),
            ("成员姓名", Col::Name),
            ("户属性", Col::Kind),
            ("村民小组", Col::Group),
            ("乡（镇）", Col::Town),
            ("县（市、区）", Col::County),
            ("户主联系电话", Col::Phone),
            ("消除监测时间", Col::EliminatedOn),
            ("工资性收入（元）", Col::Wage),
        ] {
            assert_eq!(match_header(raw), Some(c), "{raw}");
        }
        assert_eq!(match_header("备注"), None);
    }

    #[test]
    fn column_map_finds_columns_in_any_order() {
        let m = ColumnMap::from_headers(&["姓名", "备注", "户号", "身份证号", "姓名"]);
        assert_eq!(m.get(Col::HouseholdNo), Some(2));
        assert_eq!(m.get(Col::Name), Some(0));
        assert!(m.is_header());
        assert_eq!(m.unknown, vec!["备注".to_string()]);
        assert_eq!(m.duplicates, vec!["姓名".to_string()]);
        assert!(m.missing_required().contains(&Col::County));
    }
}
