//! 入户核查: one visit to a household during a campaign (DOMAIN D13, field sets §8.3) — how and
//! when, by whom ("谁排查谁负责", D19), whether the household was met and confirmed, and the
//! content of its form (附件3 / 附件4 / 附件5). A visit never changes the registry by itself:
//! the village cadre accepts it (its content then goes through the audited edit path) or
//! returns it with a reason.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::campaign::{CampaignId, FormKind, TaskId, TaskStatus};
use crate::codes::{CodeEnum, DisasterKind, Health, HousingGrade, LabourSkill, MonitoringCategory, Relation, RiskType};
use crate::fields::FieldErrors;
use crate::household::{DrinkingWater, Household, HouseholdId, HouseholdNo, MAX_RISKS, PersonName};
use crate::income::IncomeRecord;
use crate::member::{Member, MemberId};
use crate::money::Fen;
use crate::national_id::NationalId;
use crate::ports::{HouseholdDetail, MemberChange, MemberRecord};
use crate::region::RegionCode;
use crate::text::{parse_date, parse_yes_no};

crate::codes::code_enum! {
    /// 核查方式 (D13; the seed allows 线上 first where COVID forbids visits).
    pub enum VisitMode {
        InPerson = 1 => "入户",
        Phone = 2 => "电话",
        WeChat = 3 => "微信",
    }
}

crate::codes::code_enum! {
    /// Where a visit stands with the village cadre.
    pub enum ReviewStatus {
        Submitted = 1 => "待村审核",
        Accepted = 2 => "已采纳",
        Returned = 3 => "已退回修改",
    }
}

crate::codes::code_enum! {
    /// 附件4 / 附件5 end with a conclusion.
    pub enum Conclusion {
        NoRisk = 1 => "无风险",
        Suggest = 2 => "建议纳入监测",
    }
}

crate::codes::code_enum! {
    /// 附件3: the screener's view of the monitored household's risk elimination (§5).
    pub enum EliminationView {
        /// Monitored: risk not yet eliminated.
        Continue = 1 => "风险未消除，继续监测",
        /// Monitored: meets the conditions (reference income, stable, four flags clear).
        Eligible = 2 => "已达到风险消除条件",
        /// Eliminated: correct.
        Correct = 3 => "风险消除准确",
        /// Eliminated: wrongly (risk remains): roll back.
        Wrong = 4 => "风险消除有误，建议回退",
    }
}

crate::codes::code_enum! {
    /// Why a member leaves the household.
    pub enum RemovalReason {
        Death = 1 => "死亡",
        MarriedOut = 2 => "婚出",
        MovedOut = 3 => "迁出",
        Other = 9 => "其他",
    }
}

crate::codes::code_enum! {
    /// 不宜纳入 facts seen at the visit (D16, §6).
    pub enum ExclusionKind {
        PublicPayroll = 1 => "有财政供养人员",
        Vehicle = 2 => "有非生产经营用机动车",
        Property = 3 => "有商品房或非居住房产",
        Business = 4 => "有市场主体登记",
        FinancialAssets = 5 => "有较大金融资产",
        Other = 9 => "其他",
    }
}

/// The member facts a visit may correct directly (the rest goes in words, see [`MemberNote`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemberFacts {
    pub health: Health,
    pub labour_skill: LabourSkill,
    pub work_months: Option<u8>,
    pub resident_medical: bool,
    pub employee_medical: bool,
}

impl MemberFacts {
    pub fn of(m: &Member) -> MemberFacts {
        MemberFacts {
            health: m.health,
            labour_skill: m.labour_skill,
            work_months: m.work_months,
            resident_medical: m.resident_medical,
            employee_medical: m.employee_medical,
        }
    }

    fn apply_to(&self, m: &mut Member) {
        m.health = self.health;
        m.labour_skill = self.labour_skill;
        m.work_months = self.work_months;
        m.resident_medical = self.resident_medical;
        m.employee_medical = self.employee_medical;
    }
}

/// 医疗保险 as the form asks it.
pub const MEDICAL_CHOICES: [&str; 4] = ["城乡居民医保", "职工医保", "两者都参加", "未参加"];

fn medical_label(resident: bool, employee: bool) -> &'static str {
    match (resident, employee) {
        (true, false) => MEDICAL_CHOICES[0],
        (false, true) => MEDICAL_CHOICES[1],
        (true, true) => MEDICAL_CHOICES[2],
        (false, false) => MEDICAL_CHOICES[3],
    }
}

/// A change to an existing member noted at the visit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemberNote {
    pub member_id: MemberId,
    pub name: String,
    /// Leaves the household (applied on acceptance).
    pub removal: Option<RemovalReason>,
    /// Corrected facts (applied on acceptance), with what the registry said at the visit.
    #[serde(default)]
    pub facts: Option<(MemberFacts, MemberFacts)>,
    /// Other changes in words (school, work place …): the cadre applies them on the member page,
    /// where each field is checked.
    pub note: String,
}

/// A person who joined the household (birth, marriage in …), added on acceptance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewMember {
    pub name: String,
    pub national_id: String,
    pub relation: Relation,
}

/// What the registry said when the visit was recorded. Acceptance applies only what the visit
/// changed relative to it (a three-way merge), so that a registry edit made since — or a later
/// visit accepted first — is not undone by an older form.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VisitBase {
    /// The household's version.
    pub version: i64,
    pub housing_grade: Option<HousingGrade>,
    pub water: DrinkingWater,
    pub food_clothing_secure: Option<bool>,
    pub food_clothing_note: String,
    pub risks: Vec<RiskType>,
    pub disaster_kind: Option<DisasterKind>,
    /// The income record of the year the visit's income is stored under.
    pub income: Option<IncomeRecord>,
}

impl VisitBase {
    pub fn of(d: &HouseholdDetail, c: &VisitContent) -> VisitBase {
        let h = &d.record.household;
        VisitBase {
            version: d.record.version,
            housing_grade: h.housing_grade,
            water: h.water,
            food_clothing_secure: h.food_clothing_secure,
            food_clothing_note: h.food_clothing_note.clone(),
            risks: h.risks.clone(),
            disaster_kind: h.disaster_kind,
            income: c.income.and_then(|r| d.incomes.iter().find(|x| x.year == r.year).copied()),
        }
    }
}

/// What the form records (§8.3). `None` = not asked or not known.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VisitContent {
    /// The registry as of the visit (set when it is stored, not typed).
    #[serde(default)]
    pub base: Option<VisitBase>,
    pub members: Vec<MemberNote>,
    pub new_members: Vec<NewMember>,
    /// When the head leaves: the member who becomes 户主.
    pub new_head: Option<MemberId>,
    /// The 12 months before the month of the visit (D3), stored under the year the window ends.
    pub income: Option<IncomeRecord>,
    pub housing_grade: Option<HousingGrade>,
    /// 义务教育阶段适龄儿童少年失学辍学.
    pub dropout: Option<bool>,
    /// 有家庭成员未参加基本医疗保险.
    pub uninsured: Option<bool>,
    pub water: DrinkingWater,
    /// 两不愁 (D6): Some(true) = 不愁吃、不愁穿.
    pub food_clothing_secure: Option<bool>,
    pub food_clothing_note: String,
    /// The risk checklist (D7), ordered, ≤ 5.
    pub risks: Vec<RiskType>,
    pub disaster_kind: Option<DisasterKind>,
    /// 近期大额刚性支出或收入大幅缩减.
    pub sudden: Option<bool>,
    pub sudden_note: String,
    pub exclusions: Vec<ExclusionKind>,
    pub exclusion_note: String,
    /// 附件3: has an assistance officer, who keeps in touch; measures; elimination.
    pub officer_present: Option<bool>,
    pub officer_in_touch: Option<bool>,
    pub measures_note: String,
    pub measures_match_risks: Option<bool>,
    pub elimination_view: Option<EliminationView>,
    /// 附件4/5.
    pub conclusion: Option<Conclusion>,
    pub suggested_category: Option<MonitoringCategory>,
    pub note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct VisitId(pub i64);

/// The visit's header: how, when, by whom, and the household's confirmation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VisitFacts {
    pub mode: VisitMode,
    pub visited_on: NaiveDate,
    /// The people who visited ("谁排查谁负责"), at least one.
    pub screeners: Vec<String>,
    /// The household (a member) was reached.
    pub met: bool,
    /// The household confirmed the form.
    pub confirmed: bool,
    /// Who signed (in person) or confirmed (remotely).
    pub signed_by: String,
    /// Why not met, or why not confirmed.
    pub why_not: String,
}

/// A stored visit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Visit {
    pub id: VisitId,
    pub task: TaskId,
    pub campaign: CampaignId,
    pub household_id: HouseholdId,
    pub household_no: HouseholdNo,
    pub village: RegionCode,
    pub form: FormKind,
    pub facts: VisitFacts,
    pub content: VisitContent,
    pub review: ReviewStatus,
    pub review_note: String,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    /// Who recorded (or last corrected) it.
    pub recorded_by_id: Option<crate::account::UserId>,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
    pub version: i64,
}

/// The task's status after a visit (D13): an in-person visit that met the household completes
/// it; a remote one leaves it "needs in-person follow-up"; nothing undoes a completed visit.
pub fn status_after(current: TaskStatus, facts: &VisitFacts) -> TaskStatus {
    if current == TaskStatus::Visited {
        return TaskStatus::Visited;
    }
    match (facts.mode, facts.met) {
        (VisitMode::InPerson, true) => TaskStatus::Visited,
        (VisitMode::InPerson, false) => {
            if current == TaskStatus::RemoteOnly {
                TaskStatus::RemoteOnly
            } else {
                TaskStatus::NotReached
            }
        }
        (_, true) => TaskStatus::RemoteOnly,
        (_, false) => {
            if current == TaskStatus::Pending {
                TaskStatus::NotReached
            } else {
                current
            }
        }
    }
}

/// The task's status from all its visits, in order (the store recomputes it this way).
pub fn status_of(visits: &[&VisitFacts]) -> TaskStatus {
    visits.iter().fold(TaskStatus::Pending, |s, v| status_after(s, v))
}

/// The income window of a visit on `day` (D3): the 12 months before the visit's month.
pub fn income_window(day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first_of_month = day.with_day(1).unwrap_or(day);
    let end = first_of_month.pred_opt().unwrap_or(first_of_month);
    let start = NaiveDate::from_ymd_opt(first_of_month.year() - 1, first_of_month.month(), 1).unwrap_or(first_of_month);
    (start, end)
}

// ------------------------------------------------------------------ the form as typed

/// Field names of the income block (in 元), with their labels.
pub const INCOME_FIELDS: [(&str, &str); 7] = [
    ("income_wage", "工资性收入"),
    ("income_business", "生产经营性收入"),
    ("income_property", "财产性收入"),
    ("income_transfer", "转移性收入"),
    ("income_business_cost", "生产经营性支出"),
    ("income_out_of_pocket", "合规自付支出（医疗、教育等）"),
    ("income_insurance", "理赔收入"),
];

/// Field names of the (at most three) new members.
pub const NEW_MEMBER_FIELDS: [(&str, &str, &str); 3] = [
    ("new1_name", "new1_id", "new1_relation"),
    ("new2_name", "new2_id", "new2_relation"),
    ("new3_name", "new3_id", "new3_relation"),
];

/// Water indicators: (field, label).
pub const WATER_FIELDS: [(&str, &str); 4] = [
    ("water_quantity", "水量"),
    ("water_quality", "水质"),
    ("water_convenience", "用水方便程度"),
    ("water_reliability", "供水保证率"),
];

/// The form as posted: every value as typed (a field may repeat: risks, exclusions), so that a
/// form that fails validation comes back exactly as it was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisitInput {
    pub pairs: Vec<(String, String)>,
}

impl VisitInput {
    pub fn get(&self, key: &str) -> &str {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.trim()).filter(|v| !v.is_empty()).collect()
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.pairs.retain(|(k, _)| k != key);
        self.pairs.push((key.to_string(), value.into()));
    }

    fn push(&mut self, key: &str, value: impl Into<String>) {
        self.pairs.push((key.to_string(), value.into()));
    }

    /// A new form for a household: the date, the screener, and what the registry already says
    /// (so that the screener confirms or corrects rather than types everything).
    pub fn prefilled(d: &HouseholdDetail, today: NaiveDate, screener: &str) -> VisitInput {
        let h = &d.record.household;
        let mut i = VisitInput::default();
        i.push("mode", VisitMode::InPerson.label());
        i.push("visited_on", today.to_string());
        i.push("screeners", screener);
        if let Some(g) = h.housing_grade {
            i.push("housing_grade", g.label());
        }
        let w = &h.water;
        for ((f, _), v) in WATER_FIELDS.iter().zip([w.quantity_ok, w.quality_ok, w.convenience_ok, w.reliability_ok]) {
            if let Some(v) = v {
                i.push(f, crate::text::pass_fail(v));
            }
        }
        if let Some(v) = h.food_clothing_secure {
            i.push("food_clothing", yes_no(v));
            i.push("food_clothing_note", h.food_clothing_note.clone());
        }
        for r in &h.risks {
            i.push("risk", r.label());
        }
        if let Some(k) = h.disaster_kind {
            i.push("disaster_kind", k.label());
        }
        i.push("officer_present", if h.officer.is_some() { "是" } else { "" });
        for m in &d.members {
            push_member_facts(&mut i, m.id, &MemberFacts::of(&m.member));
        }
        i
    }

    /// The form of a stored visit (to correct a returned one).
    pub fn from_visit(v: &Visit) -> VisitInput {
        let f = &v.facts;
        let c = &v.content;
        let mut i = VisitInput::default();
        i.push("mode", f.mode.label());
        i.push("visited_on", f.visited_on.to_string());
        i.push("screeners", f.screeners.join("、"));
        i.push("met", yes_no(f.met));
        if f.met {
            i.push("confirmed", yes_no(f.confirmed));
        }
        i.push("signed_by", f.signed_by.clone());
        i.push("why_not", f.why_not.clone());
        for m in &c.members {
            i.push(&format!("m{}_removal", m.member_id.0), m.removal.map(|r| r.label()).unwrap_or(""));
            i.push(&format!("m{}_note", m.member_id.0), m.note.clone());
            if let Some((after, _)) = &m.facts {
                push_member_facts(&mut i, m.member_id, after);
            }
        }
        if let Some(h) = c.new_head {
            i.push("new_head", h.0.to_string());
        }
        for (n, (nf, idf, rf)) in c.new_members.iter().zip(NEW_MEMBER_FIELDS) {
            i.push(nf, n.name.clone());
            i.push(idf, n.national_id.clone());
            i.push(rf, n.relation.label());
        }
        if let Some(r) = &c.income {
            for ((f, _), v) in INCOME_FIELDS.iter().zip(r.amounts()) {
                i.push(f, v.to_yuan_string());
            }
        }
        if let Some(g) = c.housing_grade {
            i.push("housing_grade", g.label());
        }
        let flag = |i: &mut VisitInput, k: &str, v: Option<bool>| {
            if let Some(v) = v {
                i.push(k, yes_no(v));
            }
        };
        flag(&mut i, "dropout", c.dropout);
        flag(&mut i, "uninsured", c.uninsured);
        let w = &c.water;
        for ((f, _), v) in WATER_FIELDS.iter().zip([w.quantity_ok, w.quality_ok, w.convenience_ok, w.reliability_ok]) {
            if let Some(v) = v {
                i.push(f, crate::text::pass_fail(v));
            }
        }
        flag(&mut i, "food_clothing", c.food_clothing_secure);
        i.push("food_clothing_note", c.food_clothing_note.clone());
        for r in &c.risks {
            i.push("risk", r.label());
        }
        if let Some(k) = c.disaster_kind {
            i.push("disaster_kind", k.label());
        }
        flag(&mut i, "sudden", c.sudden);
        i.push("sudden_note", c.sudden_note.clone());
        for e in &c.exclusions {
            i.push("exclusion", e.label());
        }
        i.push("exclusion_note", c.exclusion_note.clone());
        flag(&mut i, "officer_present", c.officer_present);
        flag(&mut i, "officer_in_touch", c.officer_in_touch);
        i.push("measures_note", c.measures_note.clone());
        flag(&mut i, "measures_match", c.measures_match_risks);
        if let Some(e) = c.elimination_view {
            i.push("elimination_view", e.label());
        }
        if let Some(x) = c.conclusion {
            i.push("conclusion", x.label());
        }
        if let Some(x) = c.suggested_category {
            i.push("suggested_category", x.label());
        }
        i.push("note", c.note.clone());
        i
    }

    /// Checks the form for this household; every message names the field and says what to do.
    pub fn parse(
        &self,
        form: FormKind,
        d: &HouseholdDetail,
        today: NaiveDate,
    ) -> Result<(VisitFacts, VisitContent), FieldErrors> {
        let mut e = FieldErrors::default();
        let t = |k: &str| self.get(k).trim().to_string();
        // --- header
        let mode = VisitMode::parse_label(self.get("mode").trim());
        if mode.is_none() {
            e.push("mode", "核查方式", "请选择入户、电话或微信");
        }
        let visited_on = match t("visited_on") {
            s if s.is_empty() => {
                e.push("visited_on", "核查日期", "请填写核查日期");
                None
            }
            s => match parse_date(&s) {
                None => {
                    e.push("visited_on", "核查日期", format!("“{s}”不是日期，请写成 2022-04-06"));
                    None
                }
                Some(day) if day > today => {
                    e.push("visited_on", "核查日期", format!("核查日期 {day} 晚于今天 {today}，请填写实际核查的日期"));
                    None
                }
                Some(day) => Some(day),
            },
        };
        let screeners: Vec<String> = t("screeners")
            .split(['、', ',', '，', ';', '；', ' ', '\u{3000}'])
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if screeners.is_empty() {
            e.push("screeners", "核查人员", "请填写核查人员姓名（谁排查谁负责），多人用顿号分隔");
        }
        let met = yes_no_field(self, &mut e, "met", "是否见到农户", true);
        let confirmed = if met == Some(true) {
            yes_no_field(self, &mut e, "confirmed", "农户是否确认", true)
        } else {
            Some(false)
        };
        let signed_by = t("signed_by");
        let why_not = t("why_not");
        match (met, confirmed) {
            (Some(true), Some(true)) if signed_by.is_empty() => {
                e.push("signed_by", "签字确认人", "请填写签字（或线上确认）的家庭成员姓名")
            }
            (Some(true), Some(false)) if why_not.is_empty() => {
                e.push("why_not", "未确认或未见到的原因", "农户未确认：请写明原因")
            }
            (Some(false), _) if why_not.is_empty() => {
                e.push("why_not", "未确认或未见到的原因", "未见到农户：请写明原因（如外出务工、联系不上）")
            }
            _ => {}
        }
        // --- content (required only when the household was met)
        let asked = met == Some(true);
        let mut c = VisitContent::default();
        let head = d.members.iter().find(|m| m.member.relation == Relation::Head).map(|m| m.id);
        for m in &d.members {
            let removal_text = t(&format!("m{}_removal", m.id.0));
            let note = t(&format!("m{}_note", m.id.0));
            let removal = if removal_text.is_empty() {
                None
            } else {
                match RemovalReason::parse_label(&removal_text) {
                    Some(r) => Some(r),
                    None => {
                        e.push("members", "家庭成员变化", format!("{}：移出原因“{removal_text}”无效", m.member.name));
                        None
                    }
                }
            };
            if removal == Some(RemovalReason::Other) && note.is_empty() {
                e.push("members", "家庭成员变化", format!("{}：移出原因为“其他”，请在变化说明中写明", m.member.name));
            }
            let typed = parse_member_facts(self, m, &mut e);
            let before = MemberFacts::of(&m.member);
            let facts = (removal.is_none() && typed != before).then_some((typed, before));
            if removal.is_some() || !note.is_empty() || facts.is_some() {
                c.members.push(MemberNote { member_id: m.id, name: m.member.name.to_string(), removal, facts, note });
            }
        }
        let removed: Vec<MemberId> = c.members.iter().filter(|m| m.removal.is_some()).map(|m| m.member_id).collect();
        if !removed.is_empty() && removed.len() == d.members.len() {
            e.push("members", "家庭成员变化", "不能移出全部成员：整户消亡请在备注中说明，由村干部处理");
        }
        if head.is_some_and(|h| removed.contains(&h)) {
            let chosen = t("new_head").parse::<i64>().ok().map(MemberId);
            match chosen {
                Some(id) if d.members.iter().any(|m| m.id == id) && !removed.contains(&id) => c.new_head = Some(id),
                _ => e.push("new_head", "新户主", "户主移出后，请选择由哪位成员担任户主"),
            }
        }
        for (nf, idf, rf) in NEW_MEMBER_FIELDS {
            let (name, id, rel) = (t(nf), t(idf), t(rf));
            if name.is_empty() && id.is_empty() && rel.is_empty() {
                continue;
            }
            if PersonName::parse(&name).is_err() {
                e.push(nf, "新增成员姓名", "请填写新增成员的姓名");
            }
            match NationalId::parse_strict(&id) {
                Err(err) => e.push(idf, "新增成员证件号码", err.to_string()),
                Ok(n) if d.members.iter().any(|m| m.member.national_id.key() == n.key()) => {
                    e.push(idf, "新增成员证件号码", "该证件号码已是本户成员")
                }
                Ok(_) => {}
            }
            let relation = Relation::parse_label(&rel).filter(|r| *r != Relation::Head);
            if relation.is_none() {
                e.push(rf, "与户主关系", "请选择新增成员与户主的关系（户主变更请用“新户主”）");
            }
            if let Some(relation) = relation {
                c.new_members.push(NewMember { name, national_id: id, relation });
            }
        }
        // income: blank = not asked; any item filled → the others count as 0
        if INCOME_FIELDS.iter().any(|(f, _)| !t(f).is_empty()) {
            let mut v = [Fen(0); 7];
            for (slot, (f, label)) in v.iter_mut().zip(INCOME_FIELDS) {
                let s = t(f);
                if s.is_empty() {
                    continue;
                }
                match Fen::parse_yuan(&s) {
                    Ok(x) if x.is_negative() => e.push(f, label, "金额不能为负数"),
                    Ok(x) => *slot = x,
                    Err(err) => e.push(f, label, err.to_string()),
                }
            }
            let year = visited_on.map(|d| income_window(d).1.year()).unwrap_or(today.year());
            c.income = Some(IncomeRecord::from_amounts(year, v));
        } else if asked && form != FormKind::Monitored && mode == Some(VisitMode::InPerson) {
            e.push("income_wage", "工资性收入", "入户核查须填写近12个月收入（没有的项目填0）");
        }
        let grade = t("housing_grade");
        c.housing_grade = if grade.is_empty() {
            None
        } else {
            let g = HousingGrade::parse_label(&grade);
            if g.is_none() {
                e.push("housing_grade", "住房安全等级", "请选择A级、B级、C级或D级");
            }
            g
        };
        if asked && mode == Some(VisitMode::InPerson) && c.housing_grade.is_none() && grade.is_empty() {
            e.push("housing_grade", "住房安全等级", "入户核查须填写住房安全等级（C级、D级为危房）");
        }
        c.dropout = yes_no_field(self, &mut e, "dropout", "义务教育阶段适龄儿童失学辍学", asked);
        c.uninsured = yes_no_field(self, &mut e, "uninsured", "有成员未参加基本医疗保险", asked);
        let mut water = [None; 4];
        for (slot, (f, label)) in water.iter_mut().zip(WATER_FIELDS) {
            let s = t(f);
            *slot = match s.as_str() {
                "" => {
                    if asked {
                        e.push(f, label, format!("请选择{label}是否达标"));
                    }
                    None
                }
                "达标" | "基本达标" => Some(true),
                "不达标" => Some(false),
                _ => {
                    e.push(f, label, "请选择达标或不达标");
                    None
                }
            };
        }
        c.water = DrinkingWater {
            quantity_ok: water[0],
            quality_ok: water[1],
            convenience_ok: water[2],
            reliability_ok: water[3],
            safe: if water.contains(&Some(false)) {
                Some(false)
            } else if water.iter().all(|w| *w == Some(true)) {
                Some(true)
            } else {
                None
            },
        };
        c.food_clothing_secure = yes_no_field(self, &mut e, "food_clothing", "两不愁（不愁吃、不愁穿）", asked);
        c.food_clothing_note = t("food_clothing_note");
        if c.food_clothing_secure == Some(false) && c.food_clothing_note.is_empty() {
            e.push("food_clothing_note", "两不愁说明", "判断为“否”时请写明原因（D6）");
        }
        for r in self.all("risk") {
            match RiskType::parse_label(r) {
                Some(x) if !c.risks.contains(&x) => c.risks.push(x),
                Some(_) => {}
                None => e.push("risk", "风险类型", format!("风险类型“{r}”无效")),
            }
        }
        if c.risks.len() > MAX_RISKS {
            e.push("risk", "风险类型", format!("最多选择{MAX_RISKS}项风险，按主次选择"));
        }
        let dk = t("disaster_kind");
        c.disaster_kind = if dk.is_empty() { None } else { DisasterKind::parse_label(&dk) };
        if c.risks.contains(&RiskType::NaturalDisaster) && c.disaster_kind.is_none() {
            e.push("disaster_kind", "自然灾害类型", "选择“因自然灾害”时请选择灾害类型");
        }
        c.sudden = yes_no_field(self, &mut e, "sudden", "近期大额刚性支出或收入大幅缩减", asked);
        c.sudden_note = t("sudden_note");
        if c.sudden == Some(true) && c.sudden_note.is_empty() {
            e.push("sudden_note", "支出或减收情况", "请写明支出或减收的事由和大致金额");
        }
        for x in self.all("exclusion") {
            match ExclusionKind::parse_label(x) {
                Some(k) if !c.exclusions.contains(&k) => c.exclusions.push(k),
                Some(_) => {}
                None => e.push("exclusion", "不宜纳入情形", format!("“{x}”无效")),
            }
        }
        c.exclusion_note = t("exclusion_note");
        if c.exclusions.contains(&ExclusionKind::Other) && c.exclusion_note.is_empty() {
            e.push("exclusion_note", "不宜纳入情形说明", "选择“其他”时请写明");
        }
        match form {
            FormKind::Monitored => {
                c.officer_present = yes_no_field(self, &mut e, "officer_present", "是否落实帮扶责任人", asked);
                c.officer_in_touch = yes_no_field(self, &mut e, "officer_in_touch", "帮扶责任人是否经常联系", false);
                c.measures_note = t("measures_note");
                c.measures_match_risks = yes_no_field(self, &mut e, "measures_match", "帮扶措施与风险是否对应", false);
                let eliminated =
                    matches!(d.record.household.monitoring, crate::household::Monitoring::Eliminated { .. });
                let ev = t("elimination_view");
                c.elimination_view = if ev.is_empty() { None } else { EliminationView::parse_label(&ev) };
                let fits = |v: EliminationView| {
                    if eliminated {
                        matches!(v, EliminationView::Correct | EliminationView::Wrong)
                    } else {
                        matches!(v, EliminationView::Continue | EliminationView::Eligible)
                    }
                };
                match c.elimination_view {
                    None if asked || !ev.is_empty() => e.push("elimination_view", "风险消除情况", "请选择风险消除情况"),
                    Some(v) if !fits(v) => e.push(
                        "elimination_view",
                        "风险消除情况",
                        if eliminated {
                            "该户已标注风险消除：请选择“准确”或“有误”"
                        } else {
                            "该户尚未消除风险：请选择继续监测或已达到消除条件"
                        },
                    ),
                    _ => {}
                }
            }
            FormKind::Exited | FormKind::Ordinary => {
                let x = t("conclusion");
                c.conclusion = if x.is_empty() { None } else { Conclusion::parse_label(&x) };
                if c.conclusion.is_none() && (asked || !x.is_empty()) {
                    e.push("conclusion", "核查结论", "请选择“无风险”或“建议纳入监测”");
                }
                let allowed: &[MonitoringCategory] = if form == FormKind::Exited {
                    &[MonitoringCategory::UnstableExited, MonitoringCategory::SuddenHardship]
                } else {
                    &[MonitoringCategory::MarginalAtRisk, MonitoringCategory::SuddenHardship]
                };
                let cat = t("suggested_category");
                c.suggested_category = MonitoringCategory::parse_label(&cat);
                if c.conclusion == Some(Conclusion::Suggest) {
                    match c.suggested_category {
                        Some(k) if allowed.contains(&k) => {}
                        _ => e.push(
                            "suggested_category",
                            "建议纳入类别",
                            format!("请选择{}", allowed.iter().map(|k| k.label()).collect::<Vec<_>>().join("或")),
                        ),
                    }
                    if c.risks.is_empty() {
                        e.push("risk", "风险类型", "建议纳入监测时请勾选主要风险");
                    }
                } else {
                    c.suggested_category = None;
                }
            }
        }
        c.note = t("note");
        match (e.is_empty(), mode, visited_on, met, confirmed) {
            (true, Some(mode), Some(visited_on), Some(met), Some(confirmed)) => {
                Ok((VisitFacts { mode, visited_on, screeners, met, confirmed, signed_by, why_not }, c))
            }
            _ => Err(e),
        }
    }
}

fn push_member_facts(i: &mut VisitInput, id: MemberId, f: &MemberFacts) {
    i.push(&format!("m{}_health", id.0), f.health.to_string());
    i.push(&format!("m{}_labour", id.0), f.labour_skill.label());
    i.push(&format!("m{}_work_months", id.0), f.work_months.map(|m| m.to_string()).unwrap_or_default());
    i.push(&format!("m{}_medical", id.0), medical_label(f.resident_medical, f.employee_medical));
}

/// The member facts as typed; absent fields keep the registry's value.
fn parse_member_facts(i: &VisitInput, m: &MemberRecord, e: &mut FieldErrors) -> MemberFacts {
    let now = MemberFacts::of(&m.member);
    let key = |k: &str| format!("m{}_{k}", m.id.0);
    let has = |k: &str| i.pairs.iter().any(|(x, _)| *x == key(k));
    let mut f = now;
    let name = &m.member.name;
    if has("health") {
        match Health::parse(i.get(&key("health"))) {
            Ok(h) => f.health = h,
            Err(err) => e.push("members", "家庭成员变化", format!("{name}的健康状况：{err}")),
        }
    }
    if has("labour") {
        match LabourSkill::parse_label(i.get(&key("labour")).trim()) {
            Some(l) => f.labour_skill = l,
            None => e.push("members", "家庭成员变化", format!("{name}的劳动技能无效，请从列表中选择")),
        }
    }
    if has("work_months") {
        let t = i.get(&key("work_months")).trim();
        f.work_months = if t.is_empty() {
            None
        } else {
            match t.parse::<u8>() {
                Ok(n) if n <= 12 => Some(n),
                _ => {
                    e.push("members", "家庭成员变化", format!("{name}的务工月数“{t}”应为0到12的整数"));
                    now.work_months
                }
            }
        };
    }
    if has("medical") {
        match MEDICAL_CHOICES.iter().position(|c| *c == i.get(&key("medical")).trim()) {
            Some(0) => (f.resident_medical, f.employee_medical) = (true, false),
            Some(1) => (f.resident_medical, f.employee_medical) = (false, true),
            Some(2) => (f.resident_medical, f.employee_medical) = (true, true),
            Some(_) => (f.resident_medical, f.employee_medical) = (false, false),
            None => e.push("members", "家庭成员变化", format!("{name}的医疗保险无效，请从列表中选择")),
        }
    }
    f
}

fn yes_no(v: bool) -> &'static str {
    if v { "是" } else { "否" }
}

fn yes_no_field(
    i: &VisitInput,
    e: &mut FieldErrors,
    field: &'static str,
    label: &'static str,
    required: bool,
) -> Option<bool> {
    let s = i.get(field).trim();
    if s.is_empty() {
        if required {
            e.push(field, label, format!("请选择“{label}”：是或否"));
        }
        return None;
    }
    let v = parse_yes_no(s);
    if v.is_none() {
        e.push(field, label, "请选择是或否");
    }
    v
}

// ------------------------------------------------------------------ what acceptance changes

/// What accepting a visit does to the registry: the household's own fields, member changes and
/// the income record — all through the same audited writes as the edit pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub household: Household,
    pub member_changes: Vec<MemberChange>,
    pub income: Option<IncomeRecord>,
    /// Changes the cadre still has to make by hand (noted in words), shown on the review page.
    pub manual: Vec<String>,
    /// One line per change, for the audit note and the page.
    pub summary: Vec<String>,
}

/// One field of the three-way merge: `base` (the registry as of the visit), the visit's value,
/// and the registry now. The visit's value applies only where it differs from the base; where the
/// registry has meanwhile changed the same field to something else, that is a conflict.
struct Merge<'a> {
    summary: &'a mut Vec<String>,
    conflicts: &'a mut Vec<String>,
}

impl Merge<'_> {
    fn field<T: PartialEq + Clone>(
        &mut self,
        label: &str,
        show: impl Fn(&T) -> String,
        now: &mut T,
        base: &T,
        visit: &T,
    ) {
        if base == visit {
            return; // confirmed what the registry said then: keep today's value
        }
        if now != base && now != visit {
            self.conflicts.push(format!(
                "{label}：核查时登记为{}，核查记录为{}，但登记已改为{}",
                show(base),
                show(visit),
                show(now)
            ));
            return;
        }
        if now != visit {
            self.summary.push(format!("{label}：{} → {}", show(now), show(visit)));
            *now = visit.clone();
        }
    }
}

fn shown_opt<T: CodeEnum>(v: &Option<T>) -> String {
    v.map(|x| x.label().to_string()).unwrap_or_else(|| "未填".into())
}

fn shown_pass(v: &Option<bool>) -> String {
    v.map(|b| crate::text::pass_fail(b).to_string()).unwrap_or_else(|| "未填".into())
}

/// Builds the changes a visit's content makes to the household as it is now: only what the visit
/// changed relative to the registry as of the visit (see [`VisitBase`]).
pub fn application(d: &HouseholdDetail, form: FormKind, c: &VisitContent) -> Result<Application, FieldErrors> {
    let before = &d.record.household;
    let mut h = before.clone();
    let mut summary = Vec::new();
    let mut manual = Vec::new();
    let mut conflicts = Vec::new();
    let mut errs = FieldErrors::default();
    // a visit being checked before it is stored has no base yet: the registry now is its base
    let base = c.base.clone().unwrap_or_else(|| VisitBase::of(d, c));
    let mut m = Merge { summary: &mut summary, conflicts: &mut conflicts };
    if let Some(g) = c.housing_grade {
        m.field("住房安全等级", shown_opt, &mut h.housing_grade, &base.housing_grade, &Some(g));
    }
    let w = &c.water;
    for (label, now, b, v) in [
        ("饮水水量", &mut h.water.quantity_ok, base.water.quantity_ok, w.quantity_ok),
        ("饮水水质", &mut h.water.quality_ok, base.water.quality_ok, w.quality_ok),
        ("用水方便程度", &mut h.water.convenience_ok, base.water.convenience_ok, w.convenience_ok),
        ("供水保证率", &mut h.water.reliability_ok, base.water.reliability_ok, w.reliability_ok),
    ] {
        if v.is_some() {
            m.field(label, shown_pass, now, &b, &v);
        }
    }
    let ind = [h.water.quantity_ok, h.water.quality_ok, h.water.convenience_ok, h.water.reliability_ok];
    if ind.contains(&Some(false)) {
        h.water.safe = Some(false);
    } else if ind.iter().all(|x| *x == Some(true)) {
        h.water.safe = Some(true);
    }
    if let Some(v) = c.food_clothing_secure {
        let show = |p: &(Option<bool>, String)| match p.0 {
            Some(true) => "是".to_string(),
            Some(false) => format!("否（{}）", p.1),
            None => "未填".to_string(),
        };
        let mut now = (h.food_clothing_secure, h.food_clothing_note.clone());
        let b = (base.food_clothing_secure, base.food_clothing_note.clone());
        m.field("两不愁", show, &mut now, &b, &(Some(v), c.food_clothing_note.clone()));
        (h.food_clothing_secure, h.food_clothing_note) = now;
    }
    // risks are the monitored household's (附件3); for others they go with the suggestion
    if form == FormKind::Monitored && !c.risks.is_empty() {
        let show = |p: &(Vec<RiskType>, Option<DisasterKind>)| {
            let mut s = p.0.iter().map(|r| r.label()).collect::<Vec<_>>().join("、");
            if let Some(k) = p.1 {
                s.push_str(&format!("（{}）", k.label()));
            }
            if s.is_empty() { "无".to_string() } else { s }
        };
        let mut now = (h.risks.clone(), h.disaster_kind);
        m.field(
            "风险类型",
            show,
            &mut now,
            &(base.risks.clone(), base.disaster_kind),
            &(c.risks.clone(), c.disaster_kind),
        );
        (h.risks, h.disaster_kind) = now;
    }
    let mut income = None;
    if let Some(r) = c.income {
        let mut now = d.incomes.iter().find(|x| x.year == r.year).copied();
        let show = |x: &Option<IncomeRecord>| match x {
            Some(x) => format!("家庭纯收入{}", x.net()),
            None => "无".to_string(),
        };
        m.field(&format!("{}年收入记录（近12个月）", r.year), show, &mut now, &base.income, &Some(r));
        income = now.filter(|n| d.incomes.iter().find(|x| x.year == r.year) != Some(n));
    }
    // members: the facts the visit corrected, merged like the household's own fields
    let mut edited: Vec<(MemberId, Member)> = Vec::new();
    for n in &c.members {
        let Some((after, before)) = &n.facts else { continue };
        let Some(now) = d.members.iter().find(|m| m.id == n.member_id) else {
            errs.push("members", "家庭成员变化", format!("{} 已不在本户", n.name));
            continue;
        };
        let mut f = MemberFacts::of(&now.member);
        let who = &n.name;
        m.field(&format!("{who} 健康状况"), |h: &Health| h.to_string(), &mut f.health, &before.health, &after.health);
        m.field(
            &format!("{who} 劳动技能"),
            |l: &LabourSkill| l.label().to_string(),
            &mut f.labour_skill,
            &before.labour_skill,
            &after.labour_skill,
        );
        m.field(
            &format!("{who} 务工月数"),
            |x: &Option<u8>| x.map(|v| format!("{v}个月")).unwrap_or_else(|| "未填".into()),
            &mut f.work_months,
            &before.work_months,
            &after.work_months,
        );
        let mut med = (f.resident_medical, f.employee_medical);
        m.field(
            &format!("{who} 医疗保险"),
            |p: &(bool, bool)| medical_label(p.0, p.1).to_string(),
            &mut med,
            &(before.resident_medical, before.employee_medical),
            &(after.resident_medical, after.employee_medical),
        );
        (f.resident_medical, f.employee_medical) = med;
        if f != MemberFacts::of(&now.member) {
            let mut member = now.member.clone();
            f.apply_to(&mut member);
            edited.push((n.member_id, member));
        }
    }
    if !conflicts.is_empty() {
        for x in &conflicts {
            errs.push("version", "核查记录", x.clone());
        }
        errs.push("version", "核查记录", "核查之后登记信息已被修改：请退回核查重新核实，或先在农户页面核对");
        return Err(errs);
    }
    if base.version != d.record.version {
        manual.push(format!(
            "核查之后登记信息已修改过（版本 {} → {}）：只采纳本次核查改动的项目，其余保留现在的登记",
            base.version, d.record.version
        ));
    }
    if let Some(new_head) = c.new_head {
        let Some(m) = d.members.iter().find(|m| m.id == new_head) else {
            errs.push("new_head", "新户主", "所选新户主已不在本户");
            return Err(errs);
        };
        let member = match edited.iter_mut().find(|(id, _)| *id == new_head) {
            Some((_, member)) => member,
            None => {
                edited.push((new_head, m.member.clone()));
                &mut edited.last_mut().expect("just pushed").1
            }
        };
        member.relation = Relation::Head;
        summary.push(format!("{} 改为户主", member.name));
        manual.push(format!("户主已变更为{}：请核对其他成员与新户主的关系", member.name));
    }
    let mut changes: Vec<MemberChange> = edited.into_iter().map(|(id, m)| MemberChange::Update(id, m)).collect();
    for n in &c.members {
        if let Some(reason) = n.removal {
            if !d.members.iter().any(|m| m.id == n.member_id) {
                errs.push("members", "家庭成员变化", format!("{} 已不在本户", n.name));
                continue;
            }
            summary.push(format!("移出成员 {}（{}）", n.name, reason.label()));
            changes.push(MemberChange::Delete(n.member_id));
        }
        if !n.note.is_empty() {
            manual.push(format!("{}：{}（请在成员页面修改）", n.name, n.note));
        }
    }
    for n in &c.new_members {
        let name = PersonName::parse(&n.name);
        let id = NationalId::parse_strict(&n.national_id);
        match (name, id) {
            (Ok(name), Ok(id)) => {
                summary.push(format!("新增成员 {}（{}）", name, n.relation.label()));
                manual.push(format!("新增成员 {}：请补全文化程度、健康、劳动技能、参保等信息", name));
                changes.push(MemberChange::Insert(Member::new(name, id, n.relation)));
            }
            _ => errs.push("members", "新增成员", format!("新增成员 {} 的姓名或证件号码无效", n.name)),
        }
    }
    // as the members will be after the changes above
    let registry_uninsured = d.members.iter().any(|m| {
        let member = changes
            .iter()
            .find_map(|c| match c {
                MemberChange::Update(id, x) if *id == m.id => Some(x),
                _ => None,
            })
            .unwrap_or(&m.member);
        let removed = changes.contains(&MemberChange::Delete(m.id));
        !removed && !member.resident_medical && !member.employee_medical
    });
    if c.uninsured == Some(true) && !registry_uninsured {
        manual.push("核查记录有成员未参加基本医疗保险，但登记显示全部参保：请在成员页面更正参保信息".into());
    }
    if c.uninsured == Some(false) && registry_uninsured {
        manual.push("核查记录全部参保，但登记显示有成员未参保：请在成员页面更正".into());
    }
    if c.dropout == Some(true) {
        manual.push("核查记录有义务教育阶段适龄儿童失学辍学：请在成员页面填写在校生状况和失学辍学原因".into());
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok(Application { household: h, member_changes: changes, income, manual, summary })
}

/// The household as it would be with the application made, for the rules' preview.
pub fn applied(d: &HouseholdDetail, a: &Application) -> HouseholdDetail {
    let mut out = d.clone();
    out.record.household = a.household.clone();
    let mut next = -1;
    for c in &a.member_changes {
        match c {
            MemberChange::Insert(m) => {
                out.members.push(MemberRecord { id: MemberId(next), seq: i32::MAX, member: m.clone() });
                next -= 1;
            }
            MemberChange::Update(id, m) => {
                if let Some(slot) = out.members.iter_mut().find(|x| x.id == *id) {
                    slot.member = m.clone();
                }
            }
            MemberChange::Delete(id) => out.members.retain(|x| x.id != *id),
        }
    }
    if let Some(r) = &a.income {
        out.incomes.retain(|x| x.year != r.year);
        out.incomes.push(*r);
        out.incomes.sort_by_key(|r| std::cmp::Reverse(r.year));
    }
    out
}

/// Facts for display: "入户 2022-04-06 · 韦小明、蓝海 · 已签字：韦国强".
pub fn describe(f: &VisitFacts) -> String {
    let who = f.screeners.join("、");
    let outcome = match (f.met, f.confirmed) {
        (true, true) => format!("{}确认：{}", if f.mode == VisitMode::InPerson { "签字" } else { "线上" }, f.signed_by),
        (true, false) => format!("未确认：{}", f.why_not),
        (false, _) => format!("未见到农户：{}", f.why_not),
    };
    format!("{} {} · {} · {}", f.mode.label(), f.visited_on, who, outcome)
}

#[cfg(test)]
mod tests;
