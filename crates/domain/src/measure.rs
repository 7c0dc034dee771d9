//! 帮扶措施 (DOMAIN §7.2) and the line departments (D15), the proposals that follow the risks and
//! flags (§7.3, 缺什么补什么), and the warning for an able-bodied household without a
//! developmental measure.

use chrono::{DateTime, NaiveDate, Utc};

use crate::codes::RiskType;
use crate::fields::FieldErrors;
use crate::household::HouseholdId;
use crate::money::Fen;

crate::codes::code_enum! {
    /// 帮扶措施类别: the 14 categories of the national schema (§7.2). Codes are stored.
    pub enum MeasureCategory {
        Industry = 1 => "产业帮扶",
        Employment = 2 => "就业帮扶",
        Finance = 3 => "金融帮扶" | "小额信贷",
        PublicWelfareJob = 4 => "公益岗位帮扶" | "公益岗位",
        Housing = 5 => "住房安全保障",
        Water = 6 => "饮水安全保障",
        Health = 7 => "健康帮扶",
        CompulsoryEducation = 8 => "义务教育保障",
        OtherEducation = 9 => "其他教育帮扶" | "雨露计划",
        Comprehensive = 10 => "综合保障",
        Social = 11 => "社会帮扶",
        Relocation = 12 => "搬迁",
        LivingConditions = 13 => "生产生活条件改善",
        Infrastructure = 14 => "基础设施建设",
    }
}

impl MeasureCategory {
    /// 开发式帮扶: 产业, 就业, 金融, 公益岗位 (§7.2, rule 5_12_007).
    pub fn developmental(self) -> bool {
        matches!(
            self,
            MeasureCategory::Industry
                | MeasureCategory::Employment
                | MeasureCategory::Finance
                | MeasureCategory::PublicWelfareJob
        )
    }
}

crate::codes::code_enum! {
    /// 行业部门 (D15, §7.3). Codes are stored.
    pub enum Department {
        MedicalSecurity = 1 => "医保" | "医疗保障局",
        Health = 2 => "卫健" | "卫生健康局",
        Education = 3 => "教育" | "教育局",
        Housing = 4 => "住建" | "住房和城乡建设局",
        WaterResources = 5 => "水利" | "水利局",
        CivilAffairs = 6 => "民政" | "民政局",
        HumanResources = 7 => "人社" | "人力资源和社会保障局",
        DisabledPersons = 8 => "残联" | "残疾人联合会",
        Emergency = 9 => "应急管理" | "应急管理局",
        Agriculture = 10 => "农业农村" | "农业农村局",
        PublicSecurity = 11 => "公安" | "公安局",
        Finance = 12 => "财政" | "财政局",
        MarketRegulation = 13 => "市场监管" | "市场监督管理局",
        NaturalResources = 14 => "自然资源/房管" | "房管" | "自然资源局",
        RuralRevitalization = 15 => "乡村振兴" | "乡村振兴局",
    }
}

impl Department {
    /// Identifier in URLs and files ("medical_security").
    pub fn key(self) -> &'static str {
        match self {
            Department::MedicalSecurity => "medical_security",
            Department::Health => "health",
            Department::Education => "education",
            Department::Housing => "housing",
            Department::WaterResources => "water_resources",
            Department::CivilAffairs => "civil_affairs",
            Department::HumanResources => "human_resources",
            Department::DisabledPersons => "disabled_persons",
            Department::Emergency => "emergency",
            Department::Agriculture => "agriculture",
            Department::PublicSecurity => "public_security",
            Department::Finance => "finance",
            Department::MarketRegulation => "market_regulation",
            Department::NaturalResources => "natural_resources",
            Department::RuralRevitalization => "rural_revitalization",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Department::ALL.iter().copied().find(|d| d.key() == key.trim()).or_else(|| Department::parse_label(key))
    }
}

crate::codes::code_enum! {
    /// Where a measure stands.
    pub enum MeasureStatus {
        Planned = 1 => "计划",
        InProgress = 2 => "实施中",
        Implemented = 3 => "已实施",
        Cancelled = 4 => "已取消",
    }
}

/// One assistance measure of a household.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Measure {
    pub id: i64,
    pub household_id: HouseholdId,
    pub category: MeasureCategory,
    pub department: Option<Department>,
    pub content: String,
    /// The day it was decided (采取措施的日期): what the 10-day deadline looks at.
    pub planned_on: NaiveDate,
    pub completed_on: Option<NaiveDate>,
    pub status: MeasureStatus,
    pub funds: Option<Fen>,
    pub note: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub version: i64,
}

/// A measure as the form or the API submits it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct MeasureInput {
    pub category: String,
    pub department: String,
    pub content: String,
    pub planned_on: String,
    pub status: String,
    pub completed_on: String,
    /// 元.
    pub funds: String,
    pub note: String,
}

/// A checked measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMeasure {
    pub category: MeasureCategory,
    pub department: Option<Department>,
    pub content: String,
    pub planned_on: NaiveDate,
    pub completed_on: Option<NaiveDate>,
    pub status: MeasureStatus,
    pub funds: Option<Fen>,
    pub note: String,
}

fn date(text: &str) -> Option<Result<NaiveDate, ()>> {
    let t = text.trim();
    (!t.is_empty()).then(|| NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| ()))
}

impl MeasureInput {
    pub fn parse(&self, today: NaiveDate) -> Result<NewMeasure, FieldErrors> {
        let mut errs = FieldErrors::default();
        let category = MeasureCategory::parse_label(&self.category);
        if category.is_none() {
            errs.push("category", "措施类别", format!("请选择：{}", MeasureCategory::labels_hint()));
        }
        let department = match self.department.trim() {
            "" => None,
            d => {
                let dep = Department::from_key(d);
                if dep.is_none() {
                    errs.push("department", "责任部门", format!("未知的部门“{d}”：{}", Department::labels_hint()));
                }
                dep
            }
        };
        let content = self.content.trim().to_string();
        if content.is_empty() {
            errs.push("content", "措施内容", "请写明具体措施，如：申请临时救助3000元；推荐到园区企业务工");
        }
        let planned_on = match date(&self.planned_on) {
            Some(Ok(d)) if d > today => {
                errs.push("planned_on", "采取措施日期", format!("不能晚于今天（{today}）"));
                None
            }
            Some(Ok(d)) => Some(d),
            _ => {
                errs.push("planned_on", "采取措施日期", "请填写日期，如 2022-04-12");
                None
            }
        };
        let status = match self.status.trim() {
            "" => Some(MeasureStatus::Planned),
            s => {
                let st = MeasureStatus::parse_label(s);
                if st.is_none() {
                    errs.push("status", "状态", format!("请选择：{}", MeasureStatus::labels_hint()));
                }
                st
            }
        };
        let completed_on = match date(&self.completed_on) {
            None => None,
            Some(Ok(d)) if d > today => {
                errs.push("completed_on", "实施完成日期", format!("不能晚于今天（{today}）"));
                None
            }
            Some(Ok(d)) if planned_on.is_some_and(|p| d < p) => {
                errs.push("completed_on", "实施完成日期", "不能早于采取措施日期");
                None
            }
            Some(Ok(d)) => Some(d),
            Some(Err(())) => {
                errs.push("completed_on", "实施完成日期", "请填写日期，如 2022-04-20");
                None
            }
        };
        // only an implemented measure has a completion date
        let completed_on = if status == Some(MeasureStatus::Implemented) { completed_on } else { None };
        if status == Some(MeasureStatus::Implemented) && completed_on.is_none() && errs.is_empty() {
            errs.push("completed_on", "实施完成日期", "已实施的措施须填写实施完成日期");
        }
        let funds = match self.funds.trim() {
            "" => None,
            f => match Fen::parse_yuan(f) {
                Ok(v) if v.0 >= 0 => Some(v),
                _ => {
                    errs.push("funds", "资金（元）", format!("“{f}”不是有效金额，如 3000 或 3000.50"));
                    None
                }
            },
        };
        match (category, planned_on, status, errs.is_empty()) {
            (Some(category), Some(planned_on), Some(status), true) => Ok(NewMeasure {
                category,
                department,
                content,
                planned_on,
                completed_on,
                status,
                funds,
                note: self.note.trim().to_string(),
            }),
            _ => Err(errs),
        }
    }
}

/// A measure fangpin proposes for a risk or a problem (缺什么补什么, §7.3).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Proposal {
    pub category: MeasureCategory,
    pub departments: Vec<Department>,
    /// Why: the risks and problems it answers ("因病", "住房为C级危房").
    pub because: Vec<String>,
}

/// §7.3: from the household's risks and its 两不愁三保障/饮水 problems (codes as the rules name
/// them: HOUSING, EDUCATION, MEDICAL, WATER, FOOD_CLOTHING) to measures and departments.
pub fn propose(risks: &[RiskType], needs: &[(&str, String)]) -> Vec<Proposal> {
    use Department as D;
    use MeasureCategory as M;
    let mut out: Vec<Proposal> = Vec::new();
    let mut add = |category: M, departments: &[D], because: &str| match out.iter_mut().find(|p| p.category == category)
    {
        Some(p) => {
            for d in departments {
                if !p.departments.contains(d) {
                    p.departments.push(*d);
                }
            }
            if !p.because.iter().any(|b| b == because) {
                p.because.push(because.to_string());
            }
        }
        None => out.push(Proposal { category, departments: departments.to_vec(), because: vec![because.to_string()] }),
    };
    for r in risks {
        let why = r.label();
        match r {
            RiskType::Illness => {
                add(M::Health, &[D::MedicalSecurity, D::Health], why);
                add(M::Comprehensive, &[D::CivilAffairs], why);
                add(M::Social, &[], why);
            }
            RiskType::Schooling => {
                add(M::CompulsoryEducation, &[D::Education], why);
                add(M::OtherEducation, &[D::Education], why);
                add(M::Social, &[], why);
            }
            RiskType::Disability => {
                add(M::Comprehensive, &[D::DisabledPersons, D::CivilAffairs], why);
                add(M::Health, &[D::DisabledPersons], why);
            }
            RiskType::NaturalDisaster | RiskType::Accident => {
                add(M::Comprehensive, &[D::Emergency, D::CivilAffairs], why);
                add(M::Housing, &[D::Housing], why);
                add(M::Social, &[], why);
            }
            RiskType::FailedEnterprise => {
                add(M::Industry, &[D::Agriculture, D::RuralRevitalization], why);
                add(M::Finance, &[D::RuralRevitalization], why);
            }
            RiskType::UnstableEmployment => {
                add(M::Employment, &[D::HumanResources], why);
                add(M::PublicWelfareJob, &[D::HumanResources], why);
            }
            RiskType::LackOfLabour => {
                add(M::Comprehensive, &[D::CivilAffairs], why);
                add(M::PublicWelfareJob, &[D::HumanResources], why);
            }
            RiskType::Other => {}
        }
    }
    for (code, sentence) in needs {
        match *code {
            "HOUSING" => add(M::Housing, &[D::Housing], sentence),
            "WATER" => add(M::Water, &[D::WaterResources], sentence),
            "MEDICAL" => add(M::Health, &[D::MedicalSecurity], sentence),
            "EDUCATION" => add(M::CompulsoryEducation, &[D::Education], sentence),
            "FOOD_CLOTHING" => add(M::Comprehensive, &[D::CivilAffairs], sentence),
            _ => {}
        }
    }
    out
}

/// §7.2: an able-bodied household (a member with 普通/技能/弱半 labour) should have at least one
/// developmental measure not cancelled.
pub fn developmental_warning(able_bodied: bool, measures: &[Measure]) -> Option<String> {
    let has = measures.iter().any(|m| m.category.developmental() && m.status != MeasureStatus::Cancelled);
    (able_bodied && !has).then(|| {
        "该户有劳动能力，还没有开发式帮扶措施（产业、就业、金融、公益岗位）：有劳动能力的应以开发式帮扶为主".to_string()
    })
}

/// The first measure's date: what the 10-day deadline is measured against.
pub fn first_measure_on(measures: &[Measure], since: NaiveDate) -> Option<NaiveDate> {
    measures
        .iter()
        .filter(|m| m.status != MeasureStatus::Cancelled && m.planned_on >= since)
        .map(|m| m.planned_on)
        .min()
}

/// What 帮扶消除 still lacks by the household's risks (national rules 1_11_009, 3_11_003,
/// 3_11_004, DOMAIN §5): at least one implemented measure; for 因病 one of 健康帮扶/社会帮扶/综合保障;
/// for 因学 one of 义务教育保障/其他教育帮扶/社会帮扶. Natural elimination is exempt.
pub fn assisted_elimination_gaps(risks: &[crate::codes::RiskType], measures: &[Measure]) -> Vec<String> {
    use crate::codes::RiskType;
    let done: Vec<MeasureCategory> =
        measures.iter().filter(|m| m.status == MeasureStatus::Implemented).map(|m| m.category).collect();
    let mut out = Vec::new();
    if done.is_empty() {
        out.push("帮扶消除须至少有一项已实施的帮扶措施（风险自然消失的选“自然消除”）".to_string());
    }
    let rules: [(RiskType, &[MeasureCategory]); 2] = [
        (RiskType::Illness, &[MeasureCategory::Health, MeasureCategory::Social, MeasureCategory::Comprehensive]),
        (
            RiskType::Schooling,
            &[MeasureCategory::CompulsoryEducation, MeasureCategory::OtherEducation, MeasureCategory::Social],
        ),
    ];
    for (risk, needed) in rules {
        if risks.contains(&risk) && !done.iter().any(|c| needed.contains(c)) {
            let names: Vec<&str> = needed.iter().map(|c| c.label()).collect();
            out.push(format!("风险类型含“{}”，帮扶消除须有已实施的{}措施之一", risk.label(), names.join("、")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposals_follow_the_risks_and_problems() {
        let p = propose(
            &[RiskType::Illness, RiskType::UnstableEmployment],
            &[("HOUSING", "住房为C级危房".into()), ("MEDICAL", "李秀英未参加基本医疗保险".into())],
        );
        let health = p.iter().find(|x| x.category == MeasureCategory::Health).unwrap();
        assert_eq!(health.departments, vec![Department::MedicalSecurity, Department::Health]);
        assert_eq!(health.because, vec!["因病".to_string(), "李秀英未参加基本医疗保险".to_string()]);
        assert!(p.iter().any(|x| x.category == MeasureCategory::Employment));
        assert!(p.iter().any(|x| x.category == MeasureCategory::Housing && x.departments == vec![Department::Housing]));
        // each category once
        let mut cats: Vec<_> = p.iter().map(|x| x.category).collect();
        cats.dedup();
        assert_eq!(cats.len(), p.len());
        assert!(propose(&[], &[]).is_empty());
    }

    #[test]
    fn measure_form() {
        let today: NaiveDate = "2022-04-20".parse().unwrap();
        let ok = MeasureInput {
            category: "就业帮扶".into(),
            department: "人社".into(),
            content: "推荐到园区企业务工".into(),
            planned_on: "2022-04-12".into(),
            funds: "3,000.50".into(),
            ..Default::default()
        };
        let m = ok.parse(today).unwrap();
        assert_eq!(
            (m.status, m.funds, m.department),
            (MeasureStatus::Planned, Some(Fen(300_050)), Some(Department::HumanResources))
        );
        let e = MeasureInput { status: "已实施".into(), ..ok.clone() }.parse(today).unwrap_err();
        assert!(e.to_string().contains("已实施的措施须填写实施完成日期"));
        let e = MeasureInput { completed_on: "2022-04-01".into(), ..ok.clone() }.parse(today).unwrap_err();
        assert!(e.to_string().contains("不能早于采取措施日期"));
        let e = MeasureInput { category: "x".into(), content: " ".into(), funds: "abc".into(), ..ok }
            .parse(today)
            .unwrap_err();
        assert_eq!(e.0.len(), 3);
    }

    #[test]
    fn developmental_measures() {
        let m = |category, status| Measure {
            id: 1,
            household_id: HouseholdId(1),
            category,
            department: None,
            content: "x".into(),
            planned_on: "2022-04-12".parse().unwrap(),
            completed_on: None,
            status,
            funds: None,
            note: String::new(),
            created_by: "t".into(),
            created_at: DateTime::<Utc>::default(),
            version: 1,
        };
        assert!(
            developmental_warning(true, &[m(MeasureCategory::Comprehensive, MeasureStatus::Implemented)]).is_some()
        );
        assert!(developmental_warning(true, &[m(MeasureCategory::Employment, MeasureStatus::Cancelled)]).is_some());
        assert!(developmental_warning(true, &[m(MeasureCategory::Employment, MeasureStatus::Planned)]).is_none());
        assert!(developmental_warning(false, &[]).is_none());
        let since = "2022-04-10".parse().unwrap();
        assert_eq!(
            first_measure_on(&[m(MeasureCategory::Health, MeasureStatus::Planned)], since),
            Some("2022-04-12".parse().unwrap())
        );
        assert_eq!(first_measure_on(&[m(MeasureCategory::Health, MeasureStatus::Cancelled)], since), None);

        // 帮扶消除 (1_11_009, 3_11_003, 3_11_004)
        let gaps =
            assisted_elimination_gaps(&[RiskType::Illness], &[m(MeasureCategory::Health, MeasureStatus::Planned)]);
        assert_eq!(gaps.len(), 2, "nothing implemented, and nothing for the illness: {gaps:?}");
        let gaps = assisted_elimination_gaps(
            &[RiskType::Illness, RiskType::Schooling],
            &[m(MeasureCategory::Employment, MeasureStatus::Implemented)],
        );
        assert_eq!(gaps.len(), 2, "{gaps:?}");
        assert!(gaps[0].contains("因病") && gaps[0].contains("健康帮扶、社会帮扶、综合保障"), "{gaps:?}");
        assert!(gaps[1].contains("因学") && gaps[1].contains("义务教育保障"), "{gaps:?}");
        // 社会帮扶 answers both
        let gaps = assisted_elimination_gaps(
            &[RiskType::Illness, RiskType::Schooling],
            &[m(MeasureCategory::Social, MeasureStatus::Implemented)],
        );
        assert!(gaps.is_empty(), "{gaps:?}");
        assert!(
            assisted_elimination_gaps(
                &[RiskType::UnstableEmployment],
                &[m(MeasureCategory::Employment, MeasureStatus::Implemented)]
            )
            .is_empty()
        );
    }
}
