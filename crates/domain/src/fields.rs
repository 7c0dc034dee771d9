//! Reading household and member fields from text — one set of parsers for the edit forms, the
//! JSON API and the import, so that a value means the same everywhere and every message a user
//! sees about a field is written once, here.

use chrono::NaiveDate;

use crate::codes::{
    CodeEnum, DisabilityClass, DisasterKind, Education, EliminationMode, Ethnicity, Health, HouseholdKind,
    HousingGrade, LabourSkill, MonitoringCategory, PoliticalStatus, Relation, RiskType, SchoolStatus, Sex,
};
use crate::household::{Household, MAX_RISKS, Monitoring, OfficerContact, PersonName, Phone};
use crate::member::Member;
use crate::money::Fen;
use crate::national_id::NationalId;

/// A problem with one field: its key (for the form), its Chinese label and what to do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub label: &'static str,
    pub message: String,
}

/// All the problems of one form submission.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(transparent)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    /// A single problem: the message next to one field.
    pub fn one(field: &'static str, label: &'static str, message: impl Into<String>) -> Self {
        let mut e = FieldErrors::default();
        e.push(field, label, message);
        e
    }

    pub fn push(&mut self, field: &'static str, label: &'static str, message: impl Into<String>) {
        self.0.push(FieldError { field, label, message: message.into() });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first message for a field (shown next to it).
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }

    pub fn into_result<T>(self, v: T) -> Result<T, FieldErrors> {
        if self.0.is_empty() { Ok(v) } else { Err(self) }
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|e| format!("{}：{}", e.label, e.message)).collect();
        f.write_str(&parts.join("；"))
    }
}

// ---- single-value parsers (message without the field name; callers add it) ----

/// An enumeration label; empty → `None`.
pub fn code_label<T: CodeEnum>(text: &str) -> Result<Option<T>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    T::parse_label(t).map(Some).ok_or_else(|| format!("无法识别“{t}”，可填：{}", T::labels_hint()))
}

/// An enumeration label that must be present.
pub fn required_label<T: CodeEnum>(text: &str) -> Result<T, String> {
    code_label::<T>(text)?.ok_or_else(|| format!("必须填写，可填：{}", T::labels_hint()))
}

/// 是/否; empty → `None`.
pub fn yes_no(text: &str) -> Result<Option<bool>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    crate::text::parse_yes_no(text).map(Some).ok_or_else(|| format!("应填“是”或“否”，收到“{}”", text.trim()))
}

/// 达标/不达标 (or 是/否) for the water indicators; empty → `None`.
pub fn pass_fail(text: &str) -> Result<Option<bool>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    crate::text::parse_yes_no(text).map(Some).ok_or_else(|| format!("应填“达标”或“不达标”，收到“{}”", text.trim()))
}

pub fn date(text: &str) -> Result<Option<NaiveDate>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    crate::text::parse_date(text).map(Some).ok_or_else(|| format!("“{}”不是有效日期，请填写如 2022-03-28", text.trim()))
}

/// Money in 元, never negative; empty → 0.
pub fn money(text: &str) -> Result<Fen, String> {
    if text.trim().is_empty() {
        return Ok(Fen::ZERO);
    }
    let v = Fen::parse_yuan(text).map_err(|e| e.to_string())?;
    if v.is_negative() {
        return Err(format!("金额不能为负数，收到“{}”", text.trim()));
    }
    Ok(v)
}

pub fn phone(text: &str) -> Result<Option<Phone>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    Phone::parse(text).map(Some).map_err(|e| e.to_string())
}

pub fn small_int(text: &str, min: i64, max: i64) -> Result<Option<i64>, String> {
    let t = crate::text::compact(text);
    if t.is_empty() {
        return Ok(None);
    }
    let t = t.strip_suffix(".0").unwrap_or(&t);
    let v: i64 = t.parse().map_err(|_| format!("应为整数，收到“{t}”"))?;
    if v < min || v > max {
        return Err(format!("应在{min}到{max}之间，收到{v}"));
    }
    Ok(Some(v))
}

/// Up to five distinct risk labels, in order.
pub fn risks<'a>(texts: impl IntoIterator<Item = &'a str>) -> Result<Vec<RiskType>, String> {
    let mut out = Vec::new();
    for t in texts {
        for part in t.split([',', '，', '、', ';', '；']) {
            if let Some(r) = code_label::<RiskType>(part)? {
                if out.contains(&r) {
                    return Err(format!("风险类型“{r}”重复"));
                }
                out.push(r);
            }
        }
    }
    if out.len() > MAX_RISKS {
        return Err(format!("最多填写{MAX_RISKS}项风险，收到{}项", out.len()));
    }
    Ok(out)
}

/// Builds the monitoring state from its five national columns, naming the fields at fault.
pub fn monitoring(
    category: Option<MonitoringCategory>,
    since: Option<NaiveDate>,
    eliminated: Option<bool>,
    mode: Option<EliminationMode>,
    on: Option<NaiveDate>,
) -> Result<Monitoring, Vec<(&'static str, String)>> {
    let mut errs = Vec::new();
    let Some(category) = category else {
        if eliminated == Some(true) || mode.is_some() || on.is_some() || since.is_some() {
            errs.push(("monitoring_category", "填写了识别监测时间或风险消除信息，但没有监测对象类别".to_string()));
            return Err(errs);
        }
        return Ok(Monitoring::Never);
    };
    let Some(since) = since else {
        errs.push(("monitored_since", "监测对象必须填写识别监测时间".to_string()));
        return Err(errs);
    };
    if eliminated == Some(true) || mode.is_some() || on.is_some() {
        if mode.is_none() {
            errs.push((
                "elimination_mode",
                "风险已消除的监测对象必须填写风险消除方式（帮扶消除或自然消除）".to_string(),
            ));
        }
        if on.is_none() {
            errs.push(("eliminated_on", "风险已消除的监测对象必须填写风险消除时间".to_string()));
        }
        if eliminated == Some(false) {
            errs.push(("eliminated", "“风险是否已消除”为否，却填写了风险消除方式或时间".to_string()));
        }
        if let Some(on) = on
            && on < since
        {
            errs.push(("eliminated_on", format!("风险消除时间 {on} 早于识别监测时间 {since}")));
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        let (Some(mode), Some(on)) = (mode, on) else {
            return Err(errs);
        };
        return Ok(Monitoring::Eliminated { category, since, mode, on });
    }
    Ok(Monitoring::Monitored { category, since })
}

/// Consistency rules of a household's own fields. Refused on edit, warnings on import.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
pub enum HouseholdRule {
    #[error("户类型为{kind}，监测对象类别不能是“{category}”")]
    KindCategory { kind: HouseholdKind, category: MonitoringCategory },
    #[error("脱贫户应填写脱贫年度")]
    ExitYearMissing,
    #[error("一般农户不应填写脱贫年度")]
    ExitYearForOrdinary,
    #[error("监测对象至少应有一项致贫返贫风险")]
    NoRisk,
    #[error("“是否饮水安全”为是，但水量、水质、用水方便程度或供水保证率有不达标项")]
    WaterContradiction,
    #[error("风险类型含“因自然灾害”时应填写灾害类型")]
    DisasterKindMissing,
}

impl HouseholdRule {
    pub fn code(&self) -> &'static str {
        match self {
            HouseholdRule::KindCategory { .. } => "KIND_CATEGORY",
            HouseholdRule::ExitYearMissing => "EXIT_YEAR_MISSING",
            HouseholdRule::ExitYearForOrdinary => "EXIT_YEAR_FOR_ORDINARY",
            HouseholdRule::NoRisk => "NO_RISK",
            HouseholdRule::WaterContradiction => "WATER_CONTRADICTION",
            HouseholdRule::DisasterKindMissing => "DISASTER_KIND_MISSING",
        }
    }

    /// The form field the rule is about.
    pub fn field(&self) -> &'static str {
        match self {
            HouseholdRule::KindCategory { .. } => "monitoring_category",
            HouseholdRule::ExitYearMissing | HouseholdRule::ExitYearForOrdinary => "exit_year",
            HouseholdRule::NoRisk => "risks",
            HouseholdRule::WaterContradiction => "water_safe",
            HouseholdRule::DisasterKindMissing => "disaster_kind",
        }
    }
}

pub fn check_household_fields(h: &Household) -> Vec<HouseholdRule> {
    let mut out = Vec::new();
    if let Some(category) = h.monitoring.category() {
        let wrong = match h.kind {
            HouseholdKind::PovertyExited => category == MonitoringCategory::MarginalAtRisk,
            HouseholdKind::Ordinary => category == MonitoringCategory::UnstableExited,
        };
        if wrong {
            out.push(HouseholdRule::KindCategory { kind: h.kind, category });
        }
        if matches!(h.monitoring, Monitoring::Monitored { .. }) && h.risks.is_empty() {
            out.push(HouseholdRule::NoRisk);
        }
    }
    match (h.kind, h.exit_year) {
        (HouseholdKind::PovertyExited, None) => out.push(HouseholdRule::ExitYearMissing),
        (HouseholdKind::Ordinary, Some(_)) => out.push(HouseholdRule::ExitYearForOrdinary),
        _ => {}
    }
    if h.water.contradicts_indicators() {
        out.push(HouseholdRule::WaterContradiction);
    }
    if h.risks.contains(&RiskType::NaturalDisaster) && h.disaster_kind.is_none() {
        out.push(HouseholdRule::DisasterKindMissing);
    }
    out
}

fn take<T>(errs: &mut FieldErrors, ok: &mut bool, key: &'static str, r: Result<Option<T>, String>) -> Option<T> {
    match r {
        Ok(v) => v,
        Err(m) => {
            errs.push(key, household_label(key), m);
            *ok = false;
            None
        }
    }
}

/// Household fields as text (a form or the API). `None` leaves a field as it is. Values are
/// written as in the national layout (Chinese labels, 是/否, dates like 2022-03-28).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct HouseholdInput {
    pub group_no: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub kind: Option<String>,
    pub exit_year: Option<String>,
    pub monitoring_category: Option<String>,
    pub monitored_since: Option<String>,
    pub eliminated: Option<String>,
    pub elimination_mode: Option<String>,
    pub eliminated_on: Option<String>,
    /// Labels separated by commas, in order.
    pub risks: Option<String>,
    pub disaster_kind: Option<String>,
    pub housing_grade: Option<String>,
    pub water_safe: Option<String>,
    pub water_quantity: Option<String>,
    pub water_quality: Option<String>,
    pub water_convenience: Option<String>,
    pub water_reliability: Option<String>,
    pub food_clothing_secure: Option<String>,
    pub food_clothing_note: Option<String>,
    pub military_family: Option<String>,
    pub no_labour_safety_net: Option<String>,
    pub relocated: Option<String>,
    pub officer_name: Option<String>,
    pub officer_unit: Option<String>,
    pub officer_phone: Option<String>,
    pub declared_size: Option<String>,
}

/// The Chinese label of every household field key (form labels, error messages).
pub fn household_label(field: &str) -> &'static str {
    match field {
        "household_no" => "户编号",
        "village" => "村",
        "group_no" => "组",
        "address" => "家庭住址",
        "phone" => "联系电话",
        "kind" => "户类型",
        "exit_year" => "脱贫年度",
        "monitoring_category" => "监测对象类别",
        "monitored_since" => "识别监测时间",
        "eliminated" => "风险是否已消除",
        "elimination_mode" => "风险消除方式",
        "eliminated_on" => "风险消除时间",
        "risks" => "致贫返贫风险",
        "disaster_kind" => "自然灾害类型",
        "housing_grade" => "危房等级",
        "water_safe" => "是否饮水安全",
        "water_quantity" => "水量",
        "water_quality" => "水质",
        "water_convenience" => "用水方便程度",
        "water_reliability" => "供水保证率",
        "food_clothing_secure" => "两不愁（吃穿）是否有保障",
        "food_clothing_note" => "两不愁说明",
        "military_family" => "是否军烈属",
        "no_labour_safety_net" => "整户无劳动能力兜底保障户",
        "relocated" => "是否易地扶贫搬迁",
        "officer_name" => "帮扶责任人",
        "officer_unit" => "帮扶责任人单位",
        "officer_phone" => "帮扶责任人电话",
        "declared_size" => "家庭人口数",
        _ => "字段",
    }
}

/// 是/否, or empty when not recorded.
pub fn opt_text(v: Option<bool>) -> String {
    v.map(|b| crate::text::yes_no(b).to_string()).unwrap_or_default()
}

/// 达标/不达标, or empty when not recorded.
pub fn pass_text(v: Option<bool>) -> String {
    v.map(|b| crate::text::pass_fail(b).to_string()).unwrap_or_default()
}

impl HouseholdInput {
    /// Every field filled from a household (to prefill the edit form).
    pub fn from_household(h: &Household) -> Self {
        let (category, since, eliminated, mode, on) = match h.monitoring {
            Monitoring::Never => (None, None, None, None, None),
            Monitoring::Monitored { category, since } => (Some(category), Some(since), Some(false), None, None),
            Monitoring::Eliminated { category, since, mode, on } => {
                (Some(category), Some(since), Some(true), Some(mode), Some(on))
            }
        };
        HouseholdInput {
            group_no: Some(if h.group_no == 0 { String::new() } else { h.group_no.to_string() }),
            address: Some(h.address.clone()),
            phone: Some(h.phone.as_ref().map(|p| p.to_string()).unwrap_or_default()),
            kind: Some(h.kind.label().to_string()),
            exit_year: Some(h.exit_year.map(|y| y.to_string()).unwrap_or_default()),
            monitoring_category: Some(category.map(|c| c.label().to_string()).unwrap_or_default()),
            monitored_since: Some(since.map(|d| d.to_string()).unwrap_or_default()),
            eliminated: Some(opt_text(eliminated)),
            elimination_mode: Some(mode.map(|m| m.label().to_string()).unwrap_or_default()),
            eliminated_on: Some(on.map(|d| d.to_string()).unwrap_or_default()),
            risks: Some(h.risks.iter().map(|r| r.label()).collect::<Vec<_>>().join(",")),
            disaster_kind: Some(h.disaster_kind.map(|d| d.label().to_string()).unwrap_or_default()),
            housing_grade: Some(h.housing_grade.map(|g| g.label().to_string()).unwrap_or_default()),
            water_safe: Some(opt_text(h.water.safe)),
            water_quantity: Some(pass_text(h.water.quantity_ok)),
            water_quality: Some(pass_text(h.water.quality_ok)),
            water_convenience: Some(pass_text(h.water.convenience_ok)),
            water_reliability: Some(pass_text(h.water.reliability_ok)),
            food_clothing_secure: Some(opt_text(h.food_clothing_secure)),
            food_clothing_note: Some(h.food_clothing_note.clone()),
            military_family: Some(opt_text(Some(h.military_family))),
            no_labour_safety_net: Some(opt_text(Some(h.no_labour_safety_net))),
            relocated: Some(opt_text(Some(h.relocated))),
            officer_name: Some(h.officer.as_ref().map(|o| o.name.to_string()).unwrap_or_default()),
            officer_unit: Some(h.officer.as_ref().map(|o| o.unit.clone()).unwrap_or_default()),
            officer_phone: Some(
                h.officer.as_ref().and_then(|o| o.phone.as_ref()).map(|p| p.to_string()).unwrap_or_default(),
            ),
            declared_size: Some(h.declared_size.map(|s| s.to_string()).unwrap_or_default()),
        }
    }

    /// Applies the given fields to a copy of `base`, checking every value and then the
    /// household's consistency rules (only violations this edit introduces). All problems are
    /// reported at once.
    pub fn apply(&self, base: &Household) -> Result<Household, FieldErrors> {
        let mut h = base.clone();
        let mut errs = FieldErrors::default();
        macro_rules! field {
            ($key:literal, $input:expr, $parse:expr, |$v:ident| $set:expr) => {
                if let Some(text) = &$input {
                    match $parse(text.as_str()) {
                        Ok($v) => $set,
                        Err(m) => errs.push($key, household_label($key), m),
                    }
                }
            };
        }
        field!(
            "group_no",
            self.group_no,
            |t: &str| {
                if t.trim().is_empty() {
                    Ok(0)
                } else {
                    crate::region::parse_group_no(t)
                        .ok_or_else(|| format!("无法识别的组“{}”，请填写数字，如 3 或 3组", t.trim()))
                }
            },
            |v| h.group_no = v
        );
        if let Some(a) = &self.address {
            if a.chars().count() > 200 {
                errs.push("address", "家庭住址", "家庭住址最多200字");
            } else {
                h.address = a.trim().to_string();
            }
        }
        field!("phone", self.phone, phone, |v| h.phone = v);
        field!("kind", self.kind, required_label::<HouseholdKind>, |v| h.kind = v);
        field!("exit_year", self.exit_year, |t| small_int(t, 2013, 2021), |v| h.exit_year = v.map(|y| y as i32));
        field!("risks", self.risks, |t: &str| risks([t]), |v| h.risks = v);
        field!("disaster_kind", self.disaster_kind, code_label::<DisasterKind>, |v| h.disaster_kind = v);
        field!("housing_grade", self.housing_grade, code_label::<HousingGrade>, |v| h.housing_grade = v);
        field!("water_safe", self.water_safe, yes_no, |v| h.water.safe = v);
        field!("water_quantity", self.water_quantity, pass_fail, |v| h.water.quantity_ok = v);
        field!("water_quality", self.water_quality, pass_fail, |v| h.water.quality_ok = v);
        field!("water_convenience", self.water_convenience, pass_fail, |v| h.water.convenience_ok = v);
        field!("water_reliability", self.water_reliability, pass_fail, |v| h.water.reliability_ok = v);
        field!("food_clothing_secure", self.food_clothing_secure, yes_no, |v| h.food_clothing_secure = v);
        if let Some(n) = &self.food_clothing_note {
            h.food_clothing_note = n.trim().chars().take(500).collect();
        }
        field!("military_family", self.military_family, yes_no, |v| h.military_family = v.unwrap_or(false));
        field!("no_labour_safety_net", self.no_labour_safety_net, yes_no, |v| h.no_labour_safety_net =
            v.unwrap_or(false));
        field!("relocated", self.relocated, yes_no, |v| h.relocated = v.unwrap_or(false));
        field!("declared_size", self.declared_size, |t| small_int(t, 1, 30), |v| h.declared_size = v.map(|s| s as u16));

        // monitoring: the five fields together
        if self.monitoring_category.is_some()
            || self.monitored_since.is_some()
            || self.eliminated.is_some()
            || self.elimination_mode.is_some()
            || self.eliminated_on.is_some()
        {
            let current = HouseholdInput::from_household(base);
            let pick = |v: &Option<String>, cur: &Option<String>| v.clone().or_else(|| cur.clone()).unwrap_or_default();
            let mut ok = true;
            let category = take(
                &mut errs,
                &mut ok,
                "monitoring_category",
                code_label::<MonitoringCategory>(&pick(&self.monitoring_category, &current.monitoring_category)),
            );
            let since = take(
                &mut errs,
                &mut ok,
                "monitored_since",
                date(&pick(&self.monitored_since, &current.monitored_since)),
            );
            let eliminated =
                take(&mut errs, &mut ok, "eliminated", yes_no(&pick(&self.eliminated, &current.eliminated)));
            let mode = take(
                &mut errs,
                &mut ok,
                "elimination_mode",
                code_label::<EliminationMode>(&pick(&self.elimination_mode, &current.elimination_mode)),
            );
            let on =
                take(&mut errs, &mut ok, "eliminated_on", date(&pick(&self.eliminated_on, &current.eliminated_on)));
            if ok {
                match monitoring(category, since, eliminated, mode, on) {
                    Ok(m) => h.monitoring = m,
                    Err(list) => {
                        for (k, m) in list {
                            errs.push(k, household_label(k), m);
                        }
                    }
                }
            }
        }

        // officer: the three fields together
        if self.officer_name.is_some() || self.officer_unit.is_some() || self.officer_phone.is_some() {
            let name = self
                .officer_name
                .clone()
                .or_else(|| base.officer.as_ref().map(|o| o.name.to_string()))
                .unwrap_or_default();
            let unit =
                self.officer_unit.clone().or_else(|| base.officer.as_ref().map(|o| o.unit.clone())).unwrap_or_default();
            let ph = self
                .officer_phone
                .clone()
                .or_else(|| base.officer.as_ref().and_then(|o| o.phone.as_ref()).map(|p| p.to_string()))
                .unwrap_or_default();
            if name.trim().is_empty() {
                if !unit.trim().is_empty() || !ph.trim().is_empty() {
                    errs.push("officer_name", "帮扶责任人", "填写了帮扶责任人单位或电话，但没有姓名");
                } else {
                    h.officer = None;
                }
            } else {
                match (PersonName::parse(&name), phone(&ph)) {
                    (Ok(name), Ok(phone)) => {
                        h.officer = Some(OfficerContact { name, unit: unit.trim().to_string(), phone })
                    }
                    (n, p) => {
                        if let Err(e) = n {
                            errs.push("officer_name", "帮扶责任人", e.to_string());
                        }
                        if let Err(e) = p {
                            errs.push("officer_phone", "帮扶责任人电话", e);
                        }
                    }
                }
            }
        }

        if errs.is_empty() {
            // refuse what this edit breaks; what the household already had (an imported
            // warning) must not block an unrelated correction
            let before = check_household_fields(base);
            for rule in check_household_fields(&h).into_iter().filter(|r| !before.contains(r)) {
                let f = rule.field();
                errs.push(f, household_label(f), rule.to_string());
            }
        }
        errs.into_result(h)
    }
}

/// Member fields as text. Every field is read (a member form always posts them all).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct MemberInput {
    pub name: String,
    pub national_id: String,
    pub relation: String,
    /// Empty: taken from the ID number.
    pub sex: String,
    pub ethnicity: String,
    pub political_status: String,
    pub education: String,
    pub school_status: String,
    pub dropout_reason: String,
    pub health: String,
    pub disability_class: String,
    pub labour_skill: String,
    pub work_months: String,
    pub work_place: String,
    pub resident_medical: String,
    pub employee_medical: String,
    pub resident_pension: String,
    pub employee_pension: String,
    pub dibao: String,
    pub tekun: String,
}

pub fn member_label(field: &str) -> &'static str {
    match field {
        "name" => "姓名",
        "national_id" => "证件号码",
        "relation" => "与户主关系",
        "sex" => "性别",
        "ethnicity" => "民族",
        "political_status" => "政治面貌",
        "education" => "文化程度",
        "school_status" => "在校生状况",
        "dropout_reason" => "失学或辍学原因",
        "health" => "健康状况",
        "disability_class" => "残疾类别",
        "labour_skill" => "劳动技能",
        "work_months" => "务工月数",
        "work_place" => "务工地点",
        "resident_medical" => "是否参加城乡居民基本医疗保险",
        "employee_medical" => "是否参加城镇职工基本医疗保险",
        "resident_pension" => "是否参加城乡居民基本养老保险",
        "employee_pension" => "是否参加城镇职工基本养老保险",
        "dibao" => "是否享受低保",
        "tekun" => "是否特困供养",
        _ => "字段",
    }
}

impl MemberInput {
    pub fn from_member(m: &Member) -> Self {
        MemberInput {
            name: m.name.to_string(),
            national_id: m.national_id.to_string(),
            relation: m.relation.label().to_string(),
            sex: m.sex.label().to_string(),
            ethnicity: m.ethnicity.to_string(),
            political_status: m.political_status.map(|p| p.label().to_string()).unwrap_or_default(),
            education: m.education.map(|e| e.label().to_string()).unwrap_or_default(),
            school_status: m.school_status.map(|s| s.label().to_string()).unwrap_or_default(),
            dropout_reason: m.dropout_reason.clone(),
            health: m.health.to_string(),
            disability_class: m.disability_class.map(|d| d.label().to_string()).unwrap_or_default(),
            labour_skill: m.labour_skill.label().to_string(),
            work_months: m.work_months.map(|w| w.to_string()).unwrap_or_default(),
            work_place: m.work_place.clone(),
            resident_medical: opt_text(Some(m.resident_medical)),
            employee_medical: opt_text(Some(m.employee_medical)),
            resident_pension: opt_text(m.resident_pension),
            employee_pension: opt_text(m.employee_pension),
            dibao: opt_text(Some(m.dibao)),
            tekun: opt_text(Some(m.tekun)),
        }
    }

    /// Reads a typed member. The ID must have a correct check character here: a person typing
    /// can fix it now (an import keeps it and reports it instead).
    pub fn parse(&self) -> Result<Member, FieldErrors> {
        let mut errs = FieldErrors::default();
        let mut err = |k: &'static str, m: String| errs.push(k, member_label(k), m);
        let name = PersonName::parse(&self.name).map_err(|e| err("name", e.to_string())).ok();
        let id = NationalId::parse_strict(&self.national_id).map_err(|e| err("national_id", e.to_string())).ok();
        let relation = required_label::<Relation>(&self.relation).map_err(|e| err("relation", e)).ok();
        let sex = code_label::<Sex>(&self.sex).map_err(|e| err("sex", e)).ok().flatten();
        let ethnicity = if self.ethnicity.trim().is_empty() {
            err("ethnicity", "必须填写民族，如 汉族、壮族".to_string());
            None
        } else {
            Ethnicity::parse(&self.ethnicity).or_else(|| {
                err("ethnicity", format!("无法识别的民族“{}”", self.ethnicity.trim()));
                None
            })
        };
        let political_status = code_label::<PoliticalStatus>(&self.political_status)
            .map_err(|e| err("political_status", e))
            .ok()
            .flatten();
        let education = code_label::<Education>(&self.education).map_err(|e| err("education", e)).ok().flatten();
        let school_status =
            code_label::<SchoolStatus>(&self.school_status).map_err(|e| err("school_status", e)).ok().flatten();
        let health = Health::parse(&self.health).map_err(|e| err("health", e.to_string())).ok();
        let disability_class = code_label::<DisabilityClass>(&self.disability_class)
            .map_err(|e| err("disability_class", e))
            .ok()
            .flatten();
        let labour_skill = required_label::<LabourSkill>(&self.labour_skill).map_err(|e| err("labour_skill", e)).ok();
        let work_months = small_int(&self.work_months, 0, 12).map_err(|e| err("work_months", e)).ok().flatten();
        let mut yn = |k: &'static str, t: &str| yes_no(t).map_err(|e| err(k, e)).ok().flatten();
        let resident_medical = yn("resident_medical", &self.resident_medical);
        let employee_medical = yn("employee_medical", &self.employee_medical);
        let resident_pension = yn("resident_pension", &self.resident_pension);
        let employee_pension = yn("employee_pension", &self.employee_pension);
        let dibao = yn("dibao", &self.dibao);
        let tekun = yn("tekun", &self.tekun);

        let (Some(name), Some(id), Some(relation), Some(ethnicity), Some(health), Some(labour_skill)) =
            (name, id, relation, ethnicity, health, labour_skill)
        else {
            return Err(errs);
        };
        if !errs.is_empty() {
            return Err(errs);
        }
        let member = Member {
            sex: sex.unwrap_or_else(|| id.sex()),
            name,
            national_id: id,
            relation,
            ethnicity,
            political_status,
            education,
            school_status,
            dropout_reason: self.dropout_reason.trim().chars().take(200).collect(),
            health,
            disability_class,
            labour_skill,
            work_months: work_months.map(|w| w as u8),
            work_place: self.work_place.trim().chars().take(100).collect(),
            resident_medical: resident_medical.unwrap_or(false),
            employee_medical: employee_medical.unwrap_or(false),
            resident_pension,
            employee_pension,
            dibao: dibao.unwrap_or(false),
            tekun: tekun.unwrap_or(false),
        };
        let mut errs = FieldErrors::default();
        for rule in crate::member::check_member(&member) {
            let field = match rule.code() {
                "EDUCATION_XOR_SCHOOL" => "education",
                "SEX_MISMATCH" => "sex",
                "DISABILITY_CLASS_MISSING" => "disability_class",
                "WORK_MONTHS_RANGE" => "work_months",
                _ => "national_id",
            };
            errs.push(field, member_label(field), rule.to_string());
        }
        errs.into_result(member)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::household::DrinkingWater;
    use crate::household::HouseholdNo;
    use crate::region::RegionCode;

    fn base() -> Household {
        Household::new(
            HouseholdNo::parse("4502031002010001").unwrap(),
            RegionCode::parse("450203100201").unwrap(),
            HouseholdKind::Ordinary,
        )
    }

    #[test]
    fn applies_fields_and_keeps_others() {
        let input =
            HouseholdInput { phone: Some("13800001234".into()), group_no: Some("3组".into()), ..Default::default() };
        let h = input.apply(&base()).unwrap();
        assert_eq!(h.phone.unwrap().as_str(), "13800001234");
        assert_eq!(h.group_no, 3);
        assert_eq!(h.kind, HouseholdKind::Ordinary);
    }

    #[test]
    fn reports_every_bad_field() {
        let input = HouseholdInput {
            phone: Some("123".into()),
            kind: Some("富户".into()),
            housing_grade: Some("E".into()),
            ..Default::default()
        };
        let e = input.apply(&base()).unwrap_err();
        assert!(e.get("phone").is_some());
        assert!(e.get("kind").unwrap().contains("脱贫户"));
        assert!(e.get("housing_grade").is_some());
    }

    #[test]
    fn monitoring_combinations() {
        let input = HouseholdInput {
            monitoring_category: Some("边缘易致贫户".into()),
            monitored_since: Some("2022-04-01".into()),
            risks: Some("因病".into()),
            ..Default::default()
        };
        let h = input.apply(&base()).unwrap();
        assert!(matches!(h.monitoring, Monitoring::Monitored { category: MonitoringCategory::MarginalAtRisk, .. }));

        let input = HouseholdInput { monitoring_category: Some("边缘易致贫户".into()), ..Default::default() };
        assert!(input.apply(&base()).unwrap_err().get("monitored_since").is_some());

        // category inconsistent with kind
        let input = HouseholdInput {
            monitoring_category: Some("脱贫不稳定户".into()),
            monitored_since: Some("2022-04-01".into()),
            risks: Some("因病".into()),
            ..Default::default()
        };
        assert!(input.apply(&base()).unwrap_err().get("monitoring_category").is_some());

        assert!(
            monitoring(
                Some(MonitoringCategory::MarginalAtRisk),
                NaiveDate::from_ymd_opt(2022, 4, 1),
                Some(true),
                None,
                None
            )
            .is_err()
        );
        assert_eq!(monitoring(None, None, None, None, None), Ok(Monitoring::Never));
    }

    #[test]
    fn old_violations_do_not_block_other_edits() {
        // an imported 脱贫户 without 脱贫年度 (a warning at import)
        let mut imported = base();
        imported.kind = HouseholdKind::PovertyExited;
        let input = HouseholdInput { phone: Some("13800001234".into()), ..Default::default() };
        assert!(input.apply(&imported).is_ok());
        // but an edit that introduces the problem is refused
        let input = HouseholdInput { kind: Some("脱贫户".into()), ..Default::default() };
        assert!(input.apply(&base()).unwrap_err().get("exit_year").is_some());
    }

    #[test]
    fn risks_are_limited_and_distinct() {
        assert_eq!(risks(["因病,因学"]).unwrap(), vec![RiskType::Illness, RiskType::Schooling]);
        assert!(risks(["因病,因病"]).is_err());
        assert!(risks(["因病,因学,因残,因意外事故,缺劳动力,其他"]).is_err());
        assert!(risks(["因穷"]).is_err());
    }

    #[test]
    fn member_input_round_trip_and_errors() {
        let m = Member::new(
            PersonName::parse("张三").unwrap(),
            NationalId::parse("370101190102039973").unwrap(),
            Relation::Head,
        );
        let input = MemberInput::from_member(&m);
        assert_eq!(input.parse().unwrap(), m);

        let mut bad = input.clone();
        bad.national_id = "370101190102039972".into();
        bad.relation = "表哥".into();
        let e = bad.parse().unwrap_err();
        assert!(e.get("national_id").unwrap().contains("校验位"));
        assert!(e.get("relation").is_some());

        let mut both = input;
        both.school_status = "七年级".into();
        assert!(both.parse().unwrap_err().get("education").is_some());
    }

    #[test]
    fn household_input_round_trip() {
        let mut h = base();
        h.phone = Some(Phone::parse("13800001234").unwrap());
        h.risks = vec![RiskType::Illness];
        h.monitoring = Monitoring::Monitored {
            category: MonitoringCategory::MarginalAtRisk,
            since: NaiveDate::from_ymd_opt(2022, 4, 1).unwrap(),
        };
        h.water = DrinkingWater { safe: Some(true), quantity_ok: Some(true), ..Default::default() };
        h.officer = Some(OfficerContact {
            name: PersonName::parse("黄文敏").unwrap(),
            unit: "镇社会事业办".into(),
            phone: None,
        });
        let other = base();
        assert_eq!(HouseholdInput::from_household(&h).apply(&other).unwrap(), h);
    }
}
