//! What users and API clients see of the domain: labels in Chinese, IDs masked unless the role
//! may see them (DOMAIN D18), money both in 分 and formatted. Shared by pages and the API.

use chrono::{DateTime, NaiveDate, Utc};
use domain::codes::CodeEnum;
use domain::household::Monitoring;
use domain::income::IncomeRecord;
use domain::ports::{HouseholdDetail, HouseholdSummary, MemberRecord};
use domain::text::yes_no;
use serde::Serialize;
use utoipa::ToSchema;

use crate::regions::RegionIndex;

pub fn china_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&domain::clock::china()).format("%Y-%m-%d %H:%M").to_string()
}

fn label<T: CodeEnum>(v: Option<T>) -> String {
    v.map(|v| v.label().to_string()).unwrap_or_default()
}

use domain::fields::{opt_text as opt_yes_no, pass_text as pass};

/// A line of the household list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HouseholdSummaryView {
    pub household_no: String,
    pub village_code: String,
    pub village_name: String,
    /// 0 = no group.
    pub group_no: u16,
    pub kind: String,
    /// never | monitored | eliminated
    pub monitoring_status: String,
    /// e.g. "边缘易致贫户（监测中）"
    pub monitoring: String,
    pub head_name: Option<String>,
    /// First 6 and last 4 characters only.
    pub head_id_masked: Option<String>,
    pub member_count: i64,
}

pub fn summary_view(s: &HouseholdSummary, regions: &RegionIndex) -> HouseholdSummaryView {
    HouseholdSummaryView {
        household_no: s.household_no.to_string(),
        village_code: s.village.to_string(),
        village_name: regions.name(s.village),
        group_no: s.group_no,
        kind: s.kind.label().to_string(),
        monitoring_status: status_key(&s.monitoring).to_string(),
        monitoring: s.monitoring.describe(),
        head_name: s.head_name.clone(),
        head_id_masked: s.head_id_masked.clone(),
        member_count: s.member_count,
    }
}

fn status_key(m: &Monitoring) -> &'static str {
    match m {
        Monitoring::Never => "never",
        Monitoring::Monitored { .. } => "monitored",
        Monitoring::Eliminated { .. } => "eliminated",
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberView {
    pub id: i64,
    pub seq: i32,
    pub name: String,
    /// Full number for roles that may see it (the view is audited), masked otherwise.
    pub national_id: String,
    pub id_checksum_ok: bool,
    pub relation: String,
    pub sex: String,
    /// Only for roles that may see full ID numbers: with the masked ID it would restore the
    /// hidden digits (DOMAIN D18).
    pub birth_date: Option<NaiveDate>,
    pub age: i32,
    pub ethnicity: String,
    pub political_status: String,
    pub education: String,
    pub school_status: String,
    pub dropout_reason: String,
    /// 健康状况 and 残疾类别: only for roles that may see them (DOMAIN D18).
    pub health: Option<String>,
    pub disability_class: Option<String>,
    pub labour_skill: String,
    pub work_months: Option<u8>,
    pub work_place: String,
    pub resident_medical: String,
    pub employee_medical: String,
    pub resident_pension: String,
    pub employee_pension: String,
    pub dibao: String,
    pub tekun: String,
    /// In neither basic medical insurance scheme (DOMAIN D6).
    pub uninsured: bool,
    pub is_head: bool,
}

pub fn member_view(r: &MemberRecord, sensitive: bool, today: NaiveDate) -> MemberView {
    let m = &r.member;
    MemberView {
        id: r.id.0,
        seq: r.seq,
        name: m.name.to_string(),
        national_id: if sensitive { m.national_id.to_string() } else { m.national_id.masked() },
        id_checksum_ok: m.national_id.is_checksum_valid(),
        relation: m.relation.label().to_string(),
        sex: m.sex.label().to_string(),
        birth_date: sensitive.then(|| m.birth_date()),
        age: m.age_on(today),
        ethnicity: m.ethnicity.to_string(),
        political_status: label(m.political_status),
        education: label(m.education),
        school_status: label(m.school_status),
        dropout_reason: m.dropout_reason.clone(),
        health: sensitive.then(|| m.health.to_string()),
        disability_class: sensitive.then(|| label(m.disability_class)),
        labour_skill: m.labour_skill.label().to_string(),
        work_months: m.work_months,
        work_place: m.work_place.clone(),
        resident_medical: yes_no(m.resident_medical).to_string(),
        employee_medical: yes_no(m.employee_medical).to_string(),
        resident_pension: opt_yes_no(m.resident_pension),
        employee_pension: opt_yes_no(m.employee_pension),
        dibao: yes_no(m.dibao).to_string(),
        tekun: yes_no(m.tekun).to_string(),
        uninsured: m.uninsured(),
        is_head: m.relation == domain::codes::Relation::Head,
    }
}

/// One year's income, in 分 and formatted in 元.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncomeView {
    pub year: i32,
    pub wage_fen: i64,
    pub business_fen: i64,
    pub property_fen: i64,
    pub transfer_fen: i64,
    pub business_cost_fen: i64,
    pub out_of_pocket_fen: i64,
    pub insurance_payout_fen: i64,
    /// 家庭纯收入 (DOMAIN D4).
    pub net_fen: i64,
    pub net_per_capita_fen: Option<i64>,
    /// (纯收入 − 合规自付支出 + 理赔收入) ÷ 人口.
    pub reference_per_capita_fen: Option<i64>,
    /// The same amounts formatted for display ("12,345.00").
    pub shown: Vec<(String, String)>,
}

pub fn income_view(r: &IncomeRecord, size: u32) -> IncomeView {
    let npc = r.net_per_capita(size);
    let rpc = r.reference_per_capita(size);
    let dash = |f: Option<domain::money::Fen>| f.map(|f| f.to_string()).unwrap_or_else(|| "—".into());
    IncomeView {
        year: r.year,
        wage_fen: r.wage.0,
        business_fen: r.business.0,
        property_fen: r.property.0,
        transfer_fen: r.transfer.0,
        business_cost_fen: r.business_cost.0,
        out_of_pocket_fen: r.out_of_pocket.0,
        insurance_payout_fen: r.insurance_payout.0,
        net_fen: r.net().0,
        net_per_capita_fen: npc.map(|f| f.0),
        reference_per_capita_fen: rpc.map(|f| f.0),
        shown: vec![
            ("工资性收入".into(), r.wage.to_string()),
            ("生产经营性收入".into(), r.business.to_string()),
            ("财产性收入".into(), r.property.to_string()),
            ("转移性收入".into(), r.transfer.to_string()),
            ("生产经营性支出".into(), r.business_cost.to_string()),
            ("合规自付支出".into(), r.out_of_pocket.to_string()),
            ("理赔收入".into(), r.insurance_payout.to_string()),
            ("家庭纯收入".into(), r.net().to_string()),
            ("人均纯收入".into(), dash(npc)),
            ("参考人均收入（扣合规自付、加理赔）".into(), dash(rpc)),
        ],
    }
}

/// A household with members and incomes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HouseholdView {
    pub household_no: String,
    /// Send back when saving (optimistic versioning).
    pub version: i64,
    pub village_code: String,
    pub village_name: String,
    pub town_name: String,
    pub group_no: u16,
    pub address: String,
    pub phone: String,
    pub kind: String,
    pub exit_year: Option<i32>,
    pub monitoring_status: String,
    pub monitoring: String,
    pub monitoring_category: String,
    pub monitored_since: Option<NaiveDate>,
    pub elimination_mode: String,
    pub eliminated_on: Option<NaiveDate>,
    pub risks: Vec<String>,
    pub disaster_kind: String,
    pub housing_grade: String,
    pub housing_unsafe: bool,
    pub water_safe: String,
    pub water_quantity: String,
    pub water_quality: String,
    pub water_convenience: String,
    pub water_reliability: String,
    pub food_clothing_secure: String,
    pub food_clothing_note: String,
    pub military_family: bool,
    pub no_labour_safety_net: bool,
    pub relocated: bool,
    pub officer_name: String,
    pub officer_unit: String,
    pub officer_phone: String,
    pub declared_size: Option<u16>,
    pub members: Vec<MemberView>,
    pub incomes: Vec<IncomeView>,
    /// Data-quality problems the registry holds (imported as they were; DOMAIN §8.2).
    pub warnings: Vec<String>,
    pub import_id: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

pub fn household_view(d: &HouseholdDetail, regions: &RegionIndex, sensitive: bool, today: NaiveDate) -> HouseholdView {
    let h = &d.record.household;
    let (category, since, mode, on) = match h.monitoring {
        Monitoring::Never => (None, None, None, None),
        Monitoring::Monitored { category, since } => (Some(category), Some(since), None, None),
        Monitoring::Eliminated { category, since, mode, on } => (Some(category), Some(since), Some(mode), Some(on)),
    };
    let size = h.declared_size.map(u32::from).unwrap_or(d.members.len() as u32);
    // a warning about a disability class would tell roles without the permission about health
    let mut warnings: Vec<String> = domain::member::check_household(&d.member_refs(), h.declared_size)
        .iter()
        .filter(|r| sensitive || !matches!(r, domain::member::MemberRule::DisabilityClassMissing { .. }))
        .map(|r| r.to_string())
        .collect();
    warnings.extend(domain::fields::check_household_fields(h).iter().map(|r| r.to_string()));
    let phone = |p: &Option<domain::household::Phone>| {
        p.as_ref().map(|p| if sensitive { p.to_string() } else { p.masked() }).unwrap_or_default()
    };
    HouseholdView {
        household_no: h.household_no.to_string(),
        version: d.record.version,
        village_code: h.village.to_string(),
        village_name: regions.name(h.village),
        town_name: h.village.parent().map(|t| regions.name(t)).unwrap_or_default(),
        group_no: h.group_no,
        address: h.address.clone(),
        phone: phone(&h.phone),
        kind: h.kind.label().to_string(),
        exit_year: h.exit_year,
        monitoring_status: status_key(&h.monitoring).to_string(),
        monitoring: h.monitoring.describe(),
        monitoring_category: label(category),
        monitored_since: since,
        elimination_mode: label(mode),
        eliminated_on: on,
        risks: h.risks.iter().map(|r| r.label().to_string()).collect(),
        disaster_kind: label(h.disaster_kind),
        housing_grade: label(h.housing_grade),
        housing_unsafe: h.housing_grade.is_some_and(|g| g.is_unsafe()),
        water_safe: opt_yes_no(h.water.safe),
        water_quantity: pass(h.water.quantity_ok),
        water_quality: pass(h.water.quality_ok),
        water_convenience: pass(h.water.convenience_ok),
        water_reliability: pass(h.water.reliability_ok),
        food_clothing_secure: opt_yes_no(h.food_clothing_secure),
        food_clothing_note: h.food_clothing_note.clone(),
        military_family: h.military_family,
        no_labour_safety_net: h.no_labour_safety_net,
        relocated: h.relocated,
        officer_name: h.officer.as_ref().map(|o| o.name.to_string()).unwrap_or_default(),
        officer_unit: h.officer.as_ref().map(|o| o.unit.clone()).unwrap_or_default(),
        officer_phone: h.officer.as_ref().map(|o| phone(&o.phone)).unwrap_or_default(),
        declared_size: h.declared_size,
        members: d.members.iter().map(|m| member_view(m, sensitive, today)).collect(),
        incomes: d.incomes.iter().map(|i| income_view(i, size)).collect(),
        warnings,
        import_id: d.record.import_id,
        created_at: china_time(d.record.created_at),
        updated_at: china_time(d.record.updated_at),
    }
}
