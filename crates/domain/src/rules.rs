//! Screening rules (DOMAIN D14): one household in, findings out. Every finding names its rule
//! and the rule's version, the parameters and inputs it read, and explains itself in a sentence
//! a cadre can read aloud to the household.
//!
//! The same function serves a form being saved and a batch over a whole region: there is no
//! second implementation. The rules *suggest*; people decide through the procedure (D5).
//!
//! | rule | finding | source |
//! |---|---|---|
//! | SM-INCOME | 应纳未纳: income within the line | D4, D5, §1, §2.1 |
//! | SM-EXPENSE | 应纳未纳 (突发严重困难户): rigid expenditure pulls income under the line | D4, D5 |
//! | SM-NEEDS | 应纳未纳: a 两不愁三保障 or water problem | D6, §2.3, rule 1_02_002 |
//! | WE-INCOME / WE-NEEDS / WE-SAFETY-NET / WE-EARLY | 风险消除有误 | D9, §5, rules 1_11_006, 4_11_010 |
//! | ED-STABLE | 达到风险消除条件 | D9, §5 |
//! | AG-OFFICER / AG-LONG | 帮扶措施不到位 | D10, §7.1; §8.4 (able-bodied > 1 year) |
//! | DE-* | 基础信息有误 | §3, §8.2 and the national data-quality rules cited per check |
//!
//! Rules about assistance *measures* (a developmental measure after 6 months, measures matching
//! risks, §7.2) need the measures, which come with the procedures issue.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use crate::calendar::WorkCalendar;
use crate::codes::{HealthCondition, HouseholdKind, LabourSkill, MonitoringCategory, Relation, RiskType, SchoolStatus};
use crate::household::Monitoring;
use crate::income::IncomeRecord;
use crate::money::Fen;
use crate::params::{Applied, ParamError, ParamName, ParamRef, PolicyParam, resolve_or_default};
use crate::ports::{HouseholdDetail, MemberRecord};

crate::codes::code_enum! {
    /// The five screening contents of the seed (DOMAIN D14).
    pub enum FindingCode {
        ShouldMonitor = 1 => "应纳未纳",
        AssistanceGap = 2 => "帮扶措施不到位",
        WrongElimination = 3 => "风险消除有误",
        EliminationDue = 4 => "达到风险消除条件",
        DataError = 5 => "基础信息有误",
    }
}

impl FindingCode {
    /// The code as DOMAIN D14 writes it.
    pub fn key(self) -> &'static str {
        match self {
            FindingCode::ShouldMonitor => "SHOULD_MONITOR",
            FindingCode::AssistanceGap => "ASSISTANCE_GAP",
            FindingCode::WrongElimination => "WRONG_ELIMINATION",
            FindingCode::EliminationDue => "ELIMINATION_DUE",
            FindingCode::DataError => "DATA_ERROR",
        }
    }

    pub fn from_key(key: &str) -> Option<FindingCode> {
        FindingCode::ALL.iter().copied().find(|c| c.key().eq_ignore_ascii_case(key.trim()))
    }
}

/// One thing a rule found about one household (or one of its members).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub code: FindingCode,
    /// What exactly: a data-error check's code, or the aspect of the other findings.
    pub sub_code: &'static str,
    pub suggested_category: Option<MonitoringCategory>,
    pub rule_id: &'static str,
    pub rule_version: u16,
    /// The parameter versions the rule used.
    pub params: Vec<ParamRef>,
    /// What the rule read, by name.
    pub inputs: BTreeMap<&'static str, String>,
    /// The member the finding is about, if one.
    pub member_id: Option<i64>,
    /// For people: what was found and why it matters.
    pub explanation: String,
}

impl Finding {
    /// Identity of a finding across screenings (same household assumed): a later screening that
    /// produces it again updates it; one that does not resolves it.
    pub fn fingerprint(&self) -> String {
        format!("{}/{}/{}/{}", self.code.key(), self.sub_code, self.rule_id, self.member_id.unwrap_or(0))
    }
}

/// Why a household could not be screened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error(transparent)]
    Calendar(#[from] crate::calendar::CalendarError),
}

/// What the rules need besides the household.
pub struct Context<'a> {
    /// The day of the screening.
    pub as_of: NaiveDate,
    /// Every version of every parameter (the rules pick the one for the household's region).
    pub params: &'a [PolicyParam],
    pub calendar: &'a WorkCalendar,
}

impl Context<'_> {
    /// The policy year of a screening on `as_of`.
    pub fn year(&self) -> i32 {
        self.as_of.year()
    }
}

fn yuan(f: Fen) -> String {
    let mut s = f.to_string();
    if s.ends_with(".00") {
        s.truncate(s.len() - 3);
    }
    s
}

/// What every rule reads, computed once per household.
struct Facts<'a> {
    d: &'a HouseholdDetail,
    line: Applied,
    size: u32,
    income: Option<&'a IncomeRecord>,
    net_pc: Option<Fen>,
    ref_pc: Option<Fen>,
    /// 两不愁三保障 and water problems, each a sentence, with the members concerned.
    needs: Vec<(&'static str, String)>,
    able_bodied: bool,
}

impl<'a> Facts<'a> {
    fn gather(d: &'a HouseholdDetail, ctx: &Context) -> Result<Facts<'a>, RuleError> {
        let h = &d.record.household;
        let line = resolve_or_default(ctx.params, ctx.year(), h.village, ParamName::MonitoringLine)?;
        let age_from = resolve_or_default(ctx.params, ctx.year(), h.village, ParamName::CompulsoryAgeFrom)?;
        let age_to = resolve_or_default(ctx.params, ctx.year(), h.village, ParamName::CompulsoryAgeTo)?;
        let size = h.declared_size.map(u32::from).unwrap_or(d.members.len() as u32).max(1);
        // the latest year recorded up to the screening (D3: the twelve months before it)
        let income = d.incomes.iter().filter(|r| r.year <= ctx.year()).max_by_key(|r| r.year);
        let mut needs = Vec::new();
        if let Some(g) = h.housing_grade.filter(|g| g.is_unsafe()) {
            needs.push(("HOUSING", format!("住房为{g}危房")));
        }
        // compulsory-education age on 1 September of the school year under way (D6)
        let school_year = if ctx.as_of.month() >= 9 { ctx.as_of.year() } else { ctx.as_of.year() - 1 };
        let sept1 = NaiveDate::from_ymd_opt(school_year, 9, 1).unwrap_or(ctx.as_of);
        let out_of_school: Vec<String> = d
            .members
            .iter()
            .map(|m| &m.member)
            .filter(|m| {
                let age = i64::from(m.age_on(sept1));
                // any school status means "at school" (a status that does not fit the age is a
                // data error of its own); 学龄前儿童 means not yet at school
                let at_school = m.school_status.is_some_and(|s| s != SchoolStatus::Preschooler);
                let exempt = m.dropout_reason.contains("送教上门");
                (age_from.value..=age_to.value).contains(&age) && !at_school && !exempt
            })
            .map(|m| m.name.to_string())
            .collect();
        if !out_of_school.is_empty() {
            needs.push(("EDUCATION", format!("义务教育阶段适龄儿童{}未在校（失学辍学）", out_of_school.join("、"))));
        }
        let uninsured: Vec<String> =
            d.members.iter().map(|m| &m.member).filter(|m| m.uninsured()).map(|m| m.name.to_string()).collect();
        if !uninsured.is_empty() {
            needs.push(("MEDICAL", format!("{}未参加基本医疗保险", uninsured.join("、"))));
        }
        let w = &h.water;
        let failing: Vec<&str> = [
            (w.quantity_ok, "水量"),
            (w.quality_ok, "水质"),
            (w.convenience_ok, "用水方便程度"),
            (w.reliability_ok, "供水保证率"),
        ]
        .iter()
        .filter(|(ok, _)| *ok == Some(false))
        .map(|(_, n)| *n)
        .collect();
        if w.safe == Some(false) || !failing.is_empty() {
            let detail =
                if failing.is_empty() { String::new() } else { format!("（{}不达标）", failing.join("、")) };
            needs.push(("WATER", format!("饮水不安全{detail}")));
        }
        if h.food_clothing_secure == Some(false) {
            let why =
                if h.food_clothing_note.is_empty() { String::new() } else { format!("：{}", h.food_clothing_note) };
            needs.push(("FOOD_CLOTHING", format!("吃穿没有保障{why}")));
        }
        let able_bodied = d.members.iter().any(|m| m.member.labour_skill.is_able());
        Ok(Facts {
            d,
            size,
            net_pc: income.and_then(|r| r.net_per_capita(size)),
            ref_pc: income.and_then(|r| r.reference_per_capita(size)),
            income,
            line,
            needs,
            able_bodied,
        })
    }

    fn line_text(&self, year: i32) -> String {
        format!("{year}年监测范围{}元{}", yuan(Fen(self.line.value)), if self.line.example { "（示例值）" } else { "" })
    }

    /// Inputs about income, for the findings that read it.
    fn income_inputs(&self, year: i32) -> BTreeMap<&'static str, String> {
        let mut m = BTreeMap::new();
        m.insert("policy_year", year.to_string());
        m.insert("monitoring_line_fen", self.line.value.to_string());
        m.insert("household_size", self.size.to_string());
        if let Some(r) = self.income {
            m.insert("income_year", r.year.to_string());
            m.insert("net_income_fen", r.net().0.to_string());
            m.insert("out_of_pocket_fen", r.out_of_pocket.0.to_string());
            m.insert("insurance_payout_fen", r.insurance_payout.0.to_string());
        }
        if let Some(v) = self.net_pc {
            m.insert("net_per_capita_fen", v.0.to_string());
        }
        if let Some(v) = self.ref_pc {
            m.insert("reference_per_capita_fen", v.0.to_string());
        }
        m
    }

    fn income_sentence(&self) -> String {
        match (self.income, self.net_pc, self.ref_pc) {
            (Some(r), Some(n), Some(rp)) => format!(
                "该户{}年家庭纯收入{}元，按{}人计人均纯收入{}元；扣除合规自付支出{}元、加上理赔收入{}元后，人均参考收入{}元",
                r.year,
                yuan(r.net()),
                self.size,
                yuan(n),
                yuan(r.out_of_pocket),
                yuan(r.insurance_payout),
                yuan(rp)
            ),
            _ => "该户没有收入记录".to_string(),
        }
    }

    fn category_by_kind(&self) -> MonitoringCategory {
        match self.d.record.household.kind {
            HouseholdKind::PovertyExited => MonitoringCategory::UnstableExited,
            HouseholdKind::Ordinary => MonitoringCategory::MarginalAtRisk,
        }
    }
}

struct Out<'c> {
    findings: Vec<Finding>,
    ctx: &'c Context<'c>,
}

impl Out<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        code: FindingCode,
        sub_code: &'static str,
        rule_id: &'static str,
        rule_version: u16,
        category: Option<MonitoringCategory>,
        params: Vec<ParamRef>,
        inputs: BTreeMap<&'static str, String>,
        member_id: Option<i64>,
        explanation: String,
    ) {
        let _ = self.ctx;
        self.findings.push(Finding {
            code,
            sub_code,
            suggested_category: category,
            rule_id,
            rule_version,
            params,
            inputs,
            member_id,
            explanation,
        });
    }

    fn data_error(
        &mut self,
        sub_code: &'static str,
        rule_id: &'static str,
        member: Option<&MemberRecord>,
        explanation: String,
    ) {
        let mut inputs = BTreeMap::new();
        if let Some(m) = member {
            inputs.insert("member", m.member.name.to_string());
        }
        self.push(
            FindingCode::DataError,
            sub_code,
            rule_id,
            1,
            None,
            Vec::new(),
            inputs,
            member.map(|m| m.id.0),
            explanation,
        );
    }
}

/// Screens one household. Errors only when a parameter the rules need is missing (a year
/// without a monitoring line, D2) or the calendar does not cover a date.
/// Why a monitored household may not (yet) be marked eliminated (D9), each a sentence; empty when
/// the conditions the rules can check hold — the same ones as `ELIMINATION_DUE`: the stability
/// period since identification, reference income not below the line, no 两不愁三保障 or water
/// problem, and not a no-labour household under 兜底保障. Large rigid expenditure is judged by
/// people at the home verification.
pub fn elimination_blockers(d: &HouseholdDetail, ctx: &Context) -> Result<Vec<String>, RuleError> {
    let h = &d.record.household;
    let Monitoring::Monitored { since, .. } = h.monitoring else {
        return Ok(vec![format!("该户{}，不是监测中的监测对象", h.monitoring.describe())]);
    };
    let f = Facts::gather(d, ctx)?;
    let mut out = Vec::new();
    let stable = resolve_or_default(ctx.params, ctx.year(), h.village, ParamName::StableMonths)?;
    let months = full_months(since, ctx.as_of);
    if months < stable.value {
        out.push(format!("自{since}纳入监测仅{months}个月，未满{}个月的稳定期", stable.value));
    }
    match f.ref_pc {
        None => out.push("没有收入记录，无法判断收入是否稳定超过监测范围：请先入户核实收入".to_string()),
        Some(r) if r < Fen(f.line.value) => {
            out.push(format!("{}，低于{}", f.income_sentence(), f.line_text(ctx.year())))
        }
        Some(_) => {}
    }
    for (_, s) in &f.needs {
        out.push(format!("{s}（“两不愁三保障”或饮水安全问题未解决）"));
    }
    if h.no_labour_safety_net {
        out.push("整户无劳动能力、已落实兜底保障的户暂不标注风险消除，继续跟踪监测".to_string());
    }
    Ok(out)
}

/// The household's 两不愁三保障 and water problems as (code, sentence) — HOUSING, EDUCATION,
/// MEDICAL, WATER, FOOD_CLOTHING — as the rules see them (D6); the measures follow them (§7.3).
pub fn needs(d: &HouseholdDetail, ctx: &Context) -> Result<Vec<(&'static str, String)>, RuleError> {
    Ok(Facts::gather(d, ctx)?.needs)
}

pub fn evaluate(d: &HouseholdDetail, ctx: &Context) -> Result<Vec<Finding>, RuleError> {
    let f = Facts::gather(d, ctx)?;
    let mut out = Out { findings: Vec::new(), ctx };
    let h = &d.record.household;
    let year = ctx.year();
    let line = Fen(f.line.value);
    match h.monitoring {
        Monitoring::Never => should_monitor(&f, &mut out, year, line),
        Monitoring::Monitored { since, .. } => {
            elimination_due(&f, &mut out, ctx, since)?;
            assistance_gaps(&f, &mut out, ctx, since)?;
        }
        Monitoring::Eliminated { since, mode, on, .. } => wrong_elimination(&f, &mut out, ctx, since, mode, on)?,
    }
    data_errors(&f, &mut out, ctx);
    Ok(out.findings)
}

fn should_monitor(f: &Facts, out: &mut Out, year: i32, line: Fen) {
    let (Some(net_pc), Some(ref_pc)) = (f.net_pc, f.ref_pc) else {
        // without income only the needs can be judged; the missing record is a data error
        return needs_finding(f, out, year, None);
    };
    // built only for a finding: most households have none (a pass screens millions)
    let line_ref = || vec![f.line.reference.clone()];
    if net_pc <= line {
        let cat = f.category_by_kind();
        out.push(
            FindingCode::ShouldMonitor,
            "INCOME",
            "SM-INCOME",
            1,
            Some(cat),
            line_ref(),
            f.income_inputs(year),
            None,
            format!(
                "{}，人均纯收入不高于{}。收入是重要参考但不是唯一标准：请入户核实收入和困难情况，符合条件的按程序纳入监测（建议类别：{cat}）。",
                f.income_sentence(),
                f.line_text(year)
            ),
        );
    } else if ref_pc <= line {
        let cat = MonitoringCategory::SuddenHardship;
        out.push(
            FindingCode::ShouldMonitor,
            "EXPENDITURE",
            "SM-EXPENSE",
            1,
            Some(cat),
            line_ref(),
            f.income_inputs(year),
            None,
            format!(
                "{}，低于{}：因病等刚性支出较大，基本生活可能出现严重困难。请入户核实支出和困难情况，符合条件的按程序纳入监测（建议类别：{cat}）。",
                f.income_sentence(),
                f.line_text(year)
            ),
        );
    }
    needs_finding(f, out, year, Some(ref_pc));
}

fn needs_finding(f: &Facts, out: &mut Out, year: i32, ref_pc: Option<Fen>) {
    if f.needs.is_empty() {
        return;
    }
    let problems: Vec<&str> = f.needs.iter().map(|(_, s)| s.as_str()).collect();
    let mut inputs = f.income_inputs(year);
    inputs.insert("problems", f.needs.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(","));
    let above = ref_pc.is_some_and(|r| r > Fen(f.line.value));
    let cat = f.category_by_kind();
    let income_note = if above { format!("；收入虽高于{}，", f.line_text(year)) } else { "；".to_string() };
    out.push(
        FindingCode::ShouldMonitor,
        "BASIC_NEEDS",
        "SM-NEEDS",
        1,
        Some(cat),
        vec![f.line.reference.clone()],
        inputs,
        None,
        format!(
            "该户存在“两不愁三保障”或饮水安全问题：{}{}这些问题须及时解决。请核实情况，符合条件的按程序纳入监测（建议类别：{cat}），并推动相关部门解决。",
            problems.join("；"),
            income_note
        ),
    );
}

/// Months between two dates, counting a month only when the day is reached.
fn full_months(from: NaiveDate, to: NaiveDate) -> i64 {
    let mut m = i64::from(to.year() - from.year()) * 12 + i64::from(to.month()) - i64::from(from.month());
    if to.day() < from.day() {
        m -= 1;
    }
    m
}

fn elimination_due(f: &Facts, out: &mut Out, ctx: &Context, since: NaiveDate) -> Result<(), RuleError> {
    let h = &f.d.record.household;
    let stable = resolve_or_default(ctx.params, ctx.year(), h.village, ParamName::StableMonths)?;
    let months = full_months(since, ctx.as_of);
    let line = Fen(f.line.value);
    let Some(ref_pc) = f.ref_pc else { return Ok(()) };
    if months < stable.value || ref_pc < line || !f.needs.is_empty() || h.no_labour_safety_net {
        return Ok(());
    }
    let mut inputs = f.income_inputs(ctx.year());
    inputs.insert("monitored_since", since.to_string());
    inputs.insert("months_monitored", months.to_string());
    inputs.insert("stable_months", stable.value.to_string());
    out.push(
        FindingCode::EliminationDue,
        "STABLE",
        "ED-STABLE",
        1,
        None,
        vec![f.line.reference.clone(), stable.reference.clone()],
        inputs,
        None,
        format!(
            "该户自{since}纳入监测已满{months}个月（稳定期{}个月）；{}，不低于{}；“两不愁三保障”和饮水安全没有发现问题。已达到风险消除的参考条件：请入户核实收入是否持续稳定、大额刚性支出是否已解决，符合的按程序办理风险消除。",
            stable.value,
            f.income_sentence(),
            f.line_text(ctx.year())
        ),
    );
    Ok(())
}

fn assistance_gaps(f: &Facts, out: &mut Out, ctx: &Context, since: NaiveDate) -> Result<(), RuleError> {
    let h = &f.d.record.household;
    if h.officer.is_none() {
        let days = resolve_or_default(ctx.params, ctx.year(), h.village, ParamName::OfficerDueWorkdays)?;
        let due = ctx.calendar.add_working_days(since, days.value.max(1) as u32, h.village)?;
        if ctx.as_of > due {
            let mut inputs = BTreeMap::new();
            inputs.insert("monitored_since", since.to_string());
            inputs.insert("officer_due", due.to_string());
            inputs.insert("officer_due_workdays", days.value.to_string());
            out.push(
                FindingCode::AssistanceGap,
                "NO_OFFICER",
                "AG-OFFICER",
                1,
                None,
                vec![days.reference.clone()],
                inputs,
                None,
                format!(
                    "该户于{since}纳入监测，按规定应在{}个工作日内（即{due}前）落实“一对一”帮扶责任人，至今没有登记帮扶责任人。请尽快落实，并在10天内采取帮扶措施。",
                    days.value
                ),
            );
        }
    }
    // 2022 focus (§8.4): able-bodied households still monitored after a year
    let months = full_months(since, ctx.as_of);
    if f.able_bodied && months >= 12 {
        let mut inputs = BTreeMap::new();
        inputs.insert("monitored_since", since.to_string());
        inputs.insert("months_monitored", months.to_string());
        out.push(
            FindingCode::AssistanceGap,
            "LONG_MONITORED",
            "AG-LONG",
            1,
            None,
            Vec::new(),
            inputs,
            None,
            format!(
                "该户有劳动能力，自{since}纳入监测已{months}个月仍未消除风险。请核查帮扶措施是否精准、有效（有劳动能力的应以开发式帮扶为主），必要时调整帮扶计划。"
            ),
        );
    }
    Ok(())
}

fn wrong_elimination(
    f: &Facts,
    out: &mut Out,
    ctx: &Context,
    since: NaiveDate,
    mode: crate::codes::EliminationMode,
    on: NaiveDate,
) -> Result<(), RuleError> {
    let h = &f.d.record.household;
    let year = ctx.year();
    let line = Fen(f.line.value);
    let mut base = BTreeMap::new();
    base.insert("eliminated_on", on.to_string());
    base.insert("elimination_mode", mode.label().to_string());
    if let Some(ref_pc) = f.ref_pc
        && ref_pc < line
    {
        let mut inputs = f.income_inputs(year);
        inputs.extend(base.clone());
        out.push(
            FindingCode::WrongElimination,
            "INCOME",
            "WE-INCOME",
            1,
            None,
            vec![f.line.reference.clone()],
            inputs,
            None,
            format!(
                "该户已于{on}标注风险消除（{mode}），但{}，低于{}。风险消除要求收入持续稳定超过监测范围：请核实，确属风险消除有误的按程序回退或重新纳入监测。",
                f.income_sentence(),
                f.line_text(year)
            ),
        );
    }
    if !f.needs.is_empty() {
        let mut inputs = base.clone();
        inputs.insert("problems", f.needs.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(","));
        let problems: Vec<&str> = f.needs.iter().map(|(_, s)| s.as_str()).collect();
        out.push(
            FindingCode::WrongElimination,
            "BASIC_NEEDS",
            "WE-NEEDS",
            1,
            None,
            Vec::new(),
            inputs,
            None,
            format!(
                "该户已于{on}标注风险消除，但仍存在“两不愁三保障”或饮水安全问题：{}。风险消除要求三保障和饮水安全持续巩固：请核实并解决，确属有误的按程序回退。",
                problems.join("；")
            ),
        );
    }
    if h.no_labour_safety_net {
        out.push(
            FindingCode::WrongElimination,
            "SAFETY_NET",
            "WE-SAFETY-NET",
            1,
            None,
            Vec::new(),
            base.clone(),
            None,
            format!(
                "该户是整户无劳动能力的兜底保障户，却已于{on}标注风险消除。按规定，无劳动能力的监测对象落实兜底保障后暂不标注风险消除，应持续跟踪：请按程序回退。"
            ),
        );
    }
    let stable = resolve_or_default(ctx.params, year, h.village, ParamName::StableMonths)?;
    let months = full_months(since, on);
    // eliminated in the month of identification or the next (Guizhou's check, §5), whatever the
    // stability period is set to
    let month_no = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
    let quick = month_no(on) - month_no(since) <= 1;
    // natural elimination is exempt: the risk went away by itself (§5)
    if mode == crate::codes::EliminationMode::Assisted && (months < stable.value || quick) {
        let mut inputs = base;
        inputs.insert("monitored_since", since.to_string());
        inputs.insert("months_monitored", months.to_string());
        inputs.insert("stable_months", stable.value.to_string());
        inputs.insert("same_or_next_month", quick.to_string());
        out.push(
            FindingCode::WrongElimination,
            "TOO_EARLY",
            "WE-EARLY",
            1,
            None,
            vec![stable.reference.clone()],
            inputs,
            None,
            if months < stable.value {
                format!(
                    "该户于{since}纳入监测，{on}即以帮扶消除方式标注风险消除，相隔不足{}个月。帮扶消除要求收入持续稳定原则上不少于半年：请核实风险是否确已稳定消除。",
                    stable.value
                )
            } else {
                format!(
                    "该户于{since}纳入监测，在纳入当月或次月（{on}）即以帮扶消除方式标注风险消除。当月及次月帮扶消除的须重点核实（自然消除除外）：请核实风险是否确已稳定消除。"
                )
            },
        );
    }
    Ok(())
}

fn data_errors(f: &Facts, out: &mut Out, ctx: &Context) {
    let d = f.d;
    let h = &d.record.household;
    let members = d.member_refs();
    // composition and per-member rules shared with the edit forms and the import (§8.2)
    for rule in crate::member::check_household(&members, h.declared_size) {
        let member = match &rule {
            crate::member::MemberRule::EducationXorSchool { name }
            | crate::member::MemberRule::IdChecksum { name, .. }
            | crate::member::MemberRule::SexMismatch { name, .. }
            | crate::member::MemberRule::DisabilityClassMissing { name }
            | crate::member::MemberRule::WorkMonthsRange { name } => {
                d.members.iter().find(|m| m.member.name.as_str() == name)
            }
            _ => None,
        };
        out.data_error(rule.code(), "DE-MEMBERS", member, format!("{rule}。请与户口簿、身份证核对后改正。"));
    }
    for rule in crate::fields::check_household_fields(h) {
        out.data_error(rule.code(), "DE-HOUSEHOLD", None, format!("{rule}。请核实后改正。"));
    }
    if f.income.is_none() {
        out.data_error(
            "NO_INCOME",
            "DE-INCOME",
            None,
            format!("该户没有{}年或之前的收入记录，无法对照监测范围判断：请入户采集近12个月的收入和支出。", ctx.year()),
        );
    }
    if let Some(r) = f.income
        && r.wage.0 > 0
        && r.wage < Fen::from_yuan(100)
    {
        // national rule 5_15_023
        out.data_error(
            "WAGE_IMPLAUSIBLE",
            "DE-INCOME",
            None,
            format!("{}年工资性收入只有{}元，填写不合理：请核实是否漏填或单位有误。", r.year, yuan(r.wage)),
        );
    }
    // risk consistency (§3), for households with risks
    let risks = &h.risks;
    if risks.contains(&RiskType::UnstableEmployment) {
        if !d.members.iter().any(|m| m.member.labour_skill.is_able()) {
            out.data_error("RISK_WORK_NO_LABOUR", "DE-RISK", None, "风险类型为“因务工就业不稳”，但家庭成员都没有劳动能力（无劳动力或丧失劳动力）：请核对风险类型或劳动技能（国家规则2_11_006）。".into());
        }
        if !d.members.iter().any(|m| m.member.work_months.is_some_and(|w| w > 0)) {
            out.data_error("RISK_WORK_NO_WORK", "DE-RISK", None, "风险类型为“因务工就业不稳”，但没有家庭成员登记务工信息：请补充务工月数和地点或核对风险类型（国家规则5_15_014）。".into());
        }
    }
    if risks.contains(&RiskType::Illness) && f.income.is_some_and(|r| r.out_of_pocket == Fen::ZERO) {
        out.data_error(
            "RISK_ILLNESS_NO_COST",
            "DE-RISK",
            None,
            "风险类型为“因病”，但合规自付支出为0：请核实医疗支出是否漏填（国家规则5_15_020）。".into(),
        );
    }
    if risks.contains(&RiskType::Disability)
        && !d.members.iter().any(|m| m.member.health.has(HealthCondition::Disabled))
    {
        out.data_error(
            "RISK_DISABILITY_NO_DISABLED",
            "DE-RISK",
            None,
            "风险类型为“因残”，但没有家庭成员的健康状况为“残疾”：请核对。".into(),
        );
    }
    if risks.contains(&RiskType::Schooling) && !d.members.iter().any(|m| m.member.school_status.is_some()) {
        out.data_error(
            "RISK_SCHOOL_NO_STUDENT",
            "DE-RISK",
            None,
            "风险类型为“因学”，但没有在校学生：请核对在校生状况或风险类型。".into(),
        );
    }
    // member cross-field checks (§8.2)
    let head = d.members.iter().find(|m| m.member.relation == Relation::Head);
    for m in &d.members {
        let p = &m.member;
        let name = p.name.as_str();
        let age = p.age_on(ctx.as_of);
        if p.relation == Relation::Spouse
            && let Some(hd) = head
            && hd.member.sex == p.sex
        {
            out.data_error(
                "SPOUSE_SAME_SEX",
                "DE-MEMBER",
                Some(m),
                format!("{name}（配偶）与户主性别相同：请核对与户主关系或性别。"),
            );
        }
        let works = p.work_months.is_some_and(|w| w > 0);
        let has_place = !p.work_place.trim().is_empty();
        if works != has_place {
            out.data_error(
                "WORK_PLACE_MONTHS",
                "DE-MEMBER",
                Some(m),
                format!("{name}的务工月数与务工地点不一致（应同时填写或同时不填）：请补全或改正。"),
            );
        }
        if p.resident_medical && p.employee_medical {
            out.data_error(
                "BOTH_MEDICAL",
                "DE-MEMBER",
                Some(m),
                format!("{name}同时登记参加城乡居民和城镇职工基本医疗保险：一人只能参加其中一种，请核对。"),
            );
        }
        if (16..=59).contains(&age)
            && p.school_status.is_none()
            && p.health == crate::codes::Health::healthy()
            && matches!(p.labour_skill, LabourSkill::None | LabourSkill::Lost)
        {
            out.data_error(
                "LABOUR_SUSPICIOUS",
                "DE-MEMBER",
                Some(m),
                format!(
                    "{name}{age}岁、身体健康、不在校，劳动技能却为“{}”：请核实（国家规则5_12_008）。",
                    p.labour_skill
                ),
            );
        }
        if h.kind == HouseholdKind::PovertyExited && !p.labour_skill.is_able() && works {
            out.data_error(
                "NO_LABOUR_WORKING",
                "DE-MEMBER",
                Some(m),
                format!(
                    "{name}的劳动技能为“{}”，却登记了务工{}个月：请核对劳动技能或务工信息（国家规则2_01_015）。",
                    p.labour_skill,
                    p.work_months.unwrap_or(0)
                ),
            );
        }
        if let Some(s) = p.school_status
            && !school_age_plausible(s, age)
        {
            out.data_error(
                "AGE_SCHOOL",
                "DE-MEMBER",
                Some(m),
                format!("{name}{age}岁，在校生状况为“{s}”，与年龄不符：请核对出生日期或在校生状况。"),
            );
        }
    }
}

/// Loose age ranges per school status: wide enough for repeaters and late starters, narrow
/// enough to catch a wrong birth date or a status never updated.
fn school_age_plausible(s: SchoolStatus, age: i32) -> bool {
    let (lo, hi) = school_age_range(s);
    (lo..=hi).contains(&age)
}

/// The ages (inclusive) at which a school status is plausible; shared with the data comparison
/// report so that both say the same.
pub fn school_age_range(s: SchoolStatus) -> (i32, i32) {
    use SchoolStatus::*;
    match s {
        Preschooler => (0, 7),
        Preschool => (2, 8),
        Primary => (5, 17),
        Grade7 | Grade8 | Grade9 => (10, 20),
        HighSchool1 | HighSchool2 | HighSchool3 | Vocational1 | Vocational2 | Vocational3 => (13, 25),
        HigherVocational1 | HigherVocational2 | HigherVocational3 | Technician1 | Technician2 | Technician3
        | Technician4 | Undergraduate1 | Undergraduate2 | Undergraduate3 | Undergraduate4 | Undergraduate5 => (15, 40),
        Postgraduate => (19, 60),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::codes::*;
    use crate::household::{Household, HouseholdId, HouseholdNo, OfficerContact, PersonName};
    use crate::member::{Member, MemberId};
    use crate::national_id::{NationalId, make_id};
    use crate::ports::HouseholdRecord;
    use crate::region::RegionCode;
    use chrono::{DateTime, Utc};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    pub(crate) fn line_2022() -> Vec<PolicyParam> {
        vec![PolicyParam {
            year: 2022,
            region: RegionCode::parse("450000000000").unwrap(),
            name: ParamName::MonitoringLine,
            version: 3,
            value: 650_000,
            example: true,
            note: String::new(),
            set_by: "t".into(),
            set_at: DateTime::<Utc>::default(),
        }]
    }

    pub(crate) fn person(name: &str, birth: NaiveDate, seq: u16, relation: Relation) -> Member {
        let mut m = Member::new(
            PersonName::parse(name).unwrap(),
            NationalId::parse(&make_id(450203, birth, seq)).unwrap(),
            relation,
        );
        m.sex = m.national_id.sex();
        m
    }

    /// A clean ordinary household of two adults and a child, with income well above the line.
    pub(crate) fn household() -> HouseholdDetail {
        let mut h = Household::new(
            HouseholdNo::parse("4502031002010001").unwrap(),
            RegionCode::parse("450203100201").unwrap(),
            HouseholdKind::Ordinary,
        );
        h.housing_grade = Some(HousingGrade::B);
        h.water.safe = Some(true);
        h.food_clothing_secure = Some(true);
        h.declared_size = Some(3);
        let head = person("韦国强", date(1980, 3, 1), 11, Relation::Head);
        let wife = person("李秀英", date(1982, 5, 1), 22, Relation::Spouse);
        let mut kid = person("韦小宝", date(2012, 4, 1), 31, Relation::Son);
        kid.education = None;
        kid.school_status = Some(SchoolStatus::Primary);
        kid.labour_skill = LabourSkill::None;
        let members = [head, wife, kid]
            .into_iter()
            .enumerate()
            .map(|(i, member)| MemberRecord { id: MemberId(100 + i as i64), seq: i as i32 + 1, member })
            .collect();
        HouseholdDetail {
            record: HouseholdRecord {
                id: HouseholdId(1),
                version: 1,
                household: h,
                import_id: None,
                created_at: Default::default(),
                updated_at: Default::default(),
            },
            members,
            incomes: vec![IncomeRecord { year: 2021, wage: Fen::from_yuan(45_000), ..Default::default() }],
        }
    }

    fn run(d: &HouseholdDetail, as_of: NaiveDate) -> Vec<Finding> {
        let params = line_2022();
        let cal = WorkCalendar::builtin();
        evaluate(d, &Context { as_of, params: &params, calendar: &cal }).unwrap()
    }

    fn subs(f: &[Finding]) -> Vec<&'static str> {
        f.iter().map(|f| f.sub_code).collect()
    }

    const AS_OF: (i32, u32, u32) = (2022, 3, 28);

    fn as_of() -> NaiveDate {
        date(AS_OF.0, AS_OF.1, AS_OF.2)
    }

    #[test]
    fn a_clean_household_has_no_findings() {
        assert_eq!(run(&household(), as_of()), vec![]);
    }

    #[test]
    fn no_line_for_the_year_is_an_error_not_a_guess() {
        let cal = WorkCalendar::builtin();
        let r = evaluate(&household(), &Context { as_of: date(2023, 3, 1), params: &line_2022(), calendar: &cal });
        assert!(matches!(r, Err(RuleError::Param(ParamError::Missing { year: 2023, .. }))));
    }

    #[test]
    fn low_income_suggests_monitoring_by_kind() {
        let mut d = household();
        d.incomes[0].wage = Fen::from_yuan(18_000); // 6,000 per person < 6,500
        let f = run(&d, as_of());
        assert_eq!(subs(&f), vec!["INCOME"]);
        assert_eq!(f[0].code, FindingCode::ShouldMonitor);
        assert_eq!(f[0].suggested_category, Some(MonitoringCategory::MarginalAtRisk));
        assert_eq!(f[0].params[0].version, 3);
        assert_eq!(f[0].inputs["net_per_capita_fen"], "600000");
        assert!(
            f[0].explanation.contains("人均纯收入6,000元") && f[0].explanation.contains("6,500元（示例值）"),
            "{}",
            f[0].explanation
        );
        d.record.household.kind = HouseholdKind::PovertyExited;
        d.record.household.exit_year = Some(2018);
        assert_eq!(run(&d, as_of())[0].suggested_category, Some(MonitoringCategory::UnstableExited));
        // exactly on the line counts ("within the line")
        d.incomes[0].wage = Fen::from_yuan(19_500);
        assert_eq!(subs(&run(&d, as_of())), vec!["INCOME"]);
        d.incomes[0].wage = Fen::from_yuan(19_503);
        assert!(run(&d, as_of()).is_empty());
    }

    #[test]
    fn rigid_expenditure_suggests_sudden_hardship() {
        let mut d = household();
        d.incomes[0].out_of_pocket = Fen::from_yuan(30_000); // 15,000 − 10,000 = 5,000 per person
        let f = run(&d, as_of());
        assert_eq!(subs(&f), vec!["EXPENDITURE"]);
        assert_eq!(f[0].suggested_category, Some(MonitoringCategory::SuddenHardship));
        // an insurance payout that makes up for it: nothing
        d.incomes[0].insurance_payout = Fen::from_yuan(20_000);
        assert!(run(&d, as_of()).is_empty());
    }

    #[test]
    fn needs_problems_suggest_monitoring_even_above_the_line() {
        let mut d = household();
        d.record.household.housing_grade = Some(HousingGrade::D);
        let f = run(&d, as_of());
        assert_eq!(subs(&f), vec!["BASIC_NEEDS"]);
        assert!(
            f[0].explanation.contains("住房为D级危房") && f[0].explanation.contains("收入虽高于"),
            "{}",
            f[0].explanation
        );
        // each of the four flags and 两不愁
        let mut d = household();
        d.members[2].member.school_status = None;
        d.members[2].member.education = Some(Education::Primary);
        d.members[1].member.resident_medical = false;
        d.record.household.water.quality_ok = Some(false);
        d.record.household.food_clothing_secure = Some(false);
        let f = run(&d, as_of());
        assert_eq!(f[0].inputs["problems"], "EDUCATION,MEDICAL,WATER,FOOD_CLOTHING");
        assert!(f[0].explanation.contains("韦小宝未在校") && f[0].explanation.contains("李秀英未参加基本医疗保险"));
        // 送教上门 is not a dropout
        let mut d = household();
        d.members[2].member.school_status = None;
        d.members[2].member.education = Some(Education::Primary);
        d.members[2].member.dropout_reason = "重度残疾，送教上门".into();
        assert!(run(&d, as_of()).iter().all(|f| f.sub_code != "BASIC_NEEDS"));
    }

    #[test]
    fn compulsory_age_is_taken_on_1_september() {
        // born 2016-08-30: 5 on 2021-09-01, so not yet of compulsory age in March 2022
        let mut d = household();
        let kid = &mut d.members[2].member;
        *kid = person("韦小宝", date(2016, 8, 30), 31, Relation::Son);
        kid.school_status = Some(SchoolStatus::Preschooler);
        kid.education = None;
        kid.labour_skill = LabourSkill::None;
        assert!(run(&d, as_of()).iter().all(|f| f.sub_code != "BASIC_NEEDS"));
        // in October 2022 (school year 2022) the same child was 6 on 1 September: still at home
        // is a problem
        let f = run(&d, date(2022, 10, 10));
        assert!(f.iter().any(|f| f.sub_code == "BASIC_NEEDS"), "{f:#?}");
        // a child born a few days later is 5 on 1 September 2022: not yet
        d.members[2].member = person("韦小宝", date(2016, 9, 2), 31, Relation::Son);
        d.members[2].member.school_status = Some(SchoolStatus::Preschooler);
        d.members[2].member.education = None;
        d.members[2].member.labour_skill = LabourSkill::None;
        assert!(run(&d, date(2022, 10, 10)).iter().all(|f| f.sub_code != "BASIC_NEEDS"));
    }

    fn monitored(d: &mut HouseholdDetail, since: NaiveDate) {
        d.record.household.monitoring = Monitoring::Monitored { category: MonitoringCategory::MarginalAtRisk, since };
        d.record.household.risks = vec![RiskType::Illness];
        d.incomes[0].out_of_pocket = Fen::from_yuan(1_000);
        d.record.household.officer = Some(OfficerContact {
            name: PersonName::parse("黄文敏").unwrap(),
            unit: "镇社会事业办".into(),
            phone: None,
        });
    }

    #[test]
    fn monitored_households_are_not_suggested_again() {
        let mut d = household();
        monitored(&mut d, date(2022, 1, 10));
        d.incomes[0].wage = Fen::from_yuan(9_000);
        assert!(run(&d, as_of()).iter().all(|f| f.code != FindingCode::ShouldMonitor));
    }

    #[test]
    fn elimination_becomes_due_after_the_stable_period() {
        let mut d = household();
        monitored(&mut d, date(2021, 9, 28));
        assert_eq!(subs(&run(&d, as_of())), vec!["STABLE"]);
        let f = run(&d, as_of());
        assert_eq!(f[0].code, FindingCode::EliminationDue);
        assert_eq!(f[0].inputs["months_monitored"], "6");
        assert_eq!(f[0].params[1].version, 0, "the shipped 6 months");
        // one day short of six months
        let mut d = household();
        monitored(&mut d, date(2021, 9, 29));
        assert!(run(&d, as_of()).is_empty());
        // income under the line, a needs problem, or the safety net: not due
        for change in 0..3 {
            let mut d = household();
            monitored(&mut d, date(2021, 1, 1));
            match change {
                0 => d.incomes[0].wage = Fen::from_yuan(15_000),
                1 => d.record.household.housing_grade = Some(HousingGrade::C),
                _ => d.record.household.no_labour_safety_net = true,
            }
            assert!(run(&d, as_of()).iter().all(|f| f.code != FindingCode::EliminationDue), "case {change}");
        }
    }

    #[test]
    fn the_officer_is_due_five_guangxi_working_days_after_inclusion() {
        // DOMAIN §11 worked example: 2022-03-28 + 5 working days in Guangxi = 04-07
        let mut d = household();
        monitored(&mut d, date(2022, 3, 28));
        d.record.household.officer = None;
        assert!(run(&d, date(2022, 4, 7)).iter().all(|f| f.sub_code != "NO_OFFICER"));
        let f = run(&d, date(2022, 4, 8));
        let gap = f.iter().find(|f| f.sub_code == "NO_OFFICER").unwrap();
        assert_eq!(gap.inputs["officer_due"], "2022-04-07");
        assert!(gap.explanation.contains("2022-04-07前"));
    }

    #[test]
    fn able_bodied_households_monitored_over_a_year_are_checked() {
        let mut d = household();
        monitored(&mut d, date(2021, 3, 27));
        d.incomes[0].wage = Fen::from_yuan(12_000); // not due for elimination
        let f = run(&d, as_of());
        assert!(f.iter().any(|f| f.sub_code == "LONG_MONITORED"));
        for m in &mut d.members {
            m.member.labour_skill = LabourSkill::None;
        }
        assert!(run(&d, as_of()).iter().all(|f| f.sub_code != "LONG_MONITORED"));
    }

    fn eliminated(d: &mut HouseholdDetail, since: NaiveDate, on: NaiveDate, mode: EliminationMode) {
        d.record.household.monitoring =
            Monitoring::Eliminated { category: MonitoringCategory::MarginalAtRisk, since, mode, on };
        d.record.household.risks = vec![RiskType::Illness];
        d.incomes[0].out_of_pocket = Fen::from_yuan(1_000);
    }

    #[test]
    fn wrong_eliminations() {
        let mut d = household();
        eliminated(&mut d, date(2020, 6, 1), date(2021, 6, 1), EliminationMode::Assisted);
        assert!(run(&d, as_of()).is_empty(), "a sound elimination");
        d.incomes[0].wage = Fen::from_yuan(12_000);
        assert_eq!(subs(&run(&d, as_of())), vec!["INCOME"]);
        let mut d = household();
        eliminated(&mut d, date(2020, 6, 1), date(2021, 6, 1), EliminationMode::Assisted);
        d.record.household.housing_grade = Some(HousingGrade::D);
        assert_eq!(subs(&run(&d, as_of())), vec!["BASIC_NEEDS"]);
        d.record.household.housing_grade = Some(HousingGrade::B);
        d.record.household.no_labour_safety_net = true;
        assert_eq!(subs(&run(&d, as_of())), vec!["SAFETY_NET"]);
        // two months after inclusion, with assistance: too early; natural elimination is exempt
        let mut d = household();
        eliminated(&mut d, date(2021, 10, 1), date(2021, 12, 1), EliminationMode::Assisted);
        assert_eq!(subs(&run(&d, as_of())), vec!["TOO_EARLY"]);
        eliminated(&mut d, date(2021, 10, 1), date(2021, 12, 1), EliminationMode::Natural);
        assert!(run(&d, as_of()).is_empty());
        // a region with a 1-month stability period still sees eliminations in the month of
        // identification or the next (Guizhou's check, §5); the third month passes
        let mut params = line_2022();
        let mut short = params[0].clone();
        (short.name, short.value, short.year) = (ParamName::StableMonths, 1, 2022);
        params.push(short);
        let cal = WorkCalendar::builtin();
        let check = |since, on| {
            let mut d = household();
            eliminated(&mut d, since, on, EliminationMode::Assisted);
            let f = evaluate(&d, &Context { as_of: as_of(), params: &params, calendar: &cal }).unwrap();
            f.iter().find(|f| f.sub_code == "TOO_EARLY").map(|f| f.explanation.clone())
        };
        let e = check(date(2022, 1, 20), date(2022, 2, 25)).expect("the next month is flagged");
        assert!(e.contains("纳入当月或次月"), "{e}");
        assert!(check(date(2022, 1, 20), date(2022, 3, 1)).is_none());
    }

    #[test]
    fn data_errors_fire_and_stay_quiet() {
        let mut d = household();
        d.incomes.clear();
        assert_eq!(subs(&run(&d, as_of())), vec!["NO_INCOME"]);
        let mut d = household();
        d.incomes[0].wage = Fen(5_000);
        d.incomes[0].business = Fen::from_yuan(45_000);
        assert_eq!(subs(&run(&d, as_of())), vec!["WAGE_IMPLAUSIBLE"]);
        let mut d = household();
        d.members[1].member.sex = d.members[0].member.sex;
        let f = run(&d, as_of());
        assert!(subs(&f).contains(&"SPOUSE_SAME_SEX") && subs(&f).contains(&"SEX_MISMATCH"));
        assert_eq!(f.iter().find(|f| f.sub_code == "SPOUSE_SAME_SEX").unwrap().member_id, Some(101));
        let mut d = household();
        d.members[0].member.work_place = "广东省".into();
        assert_eq!(subs(&run(&d, as_of())), vec!["WORK_PLACE_MONTHS"]);
        d.members[0].member.work_months = Some(8);
        assert!(run(&d, as_of()).is_empty());
        let mut d = household();
        d.members[0].member.employee_medical = true;
        assert_eq!(subs(&run(&d, as_of())), vec!["BOTH_MEDICAL"]);
        let mut d = household();
        d.members[0].member.labour_skill = LabourSkill::Lost;
        assert_eq!(subs(&run(&d, as_of())), vec!["LABOUR_SUSPICIOUS"]);
        let mut d = household();
        d.members[2].member.school_status = Some(SchoolStatus::Postgraduate);
        assert_eq!(subs(&run(&d, as_of())), vec!["AGE_SCHOOL"]);
        let mut d = household();
        d.members.remove(0);
        d.record.household.declared_size = Some(2);
        assert_eq!(subs(&run(&d, as_of())), vec!["NO_HEAD"]);
    }

    #[test]
    fn risk_consistency() {
        let mut d = household();
        monitored(&mut d, date(2022, 1, 10));
        d.record.household.risks = vec![RiskType::UnstableEmployment];
        let f = subs(&run(&d, as_of()));
        assert!(f.contains(&"RISK_WORK_NO_WORK") && !f.contains(&"RISK_WORK_NO_LABOUR"), "{f:?}");
        for m in &mut d.members {
            m.member.labour_skill = LabourSkill::None;
        }
        assert!(subs(&run(&d, as_of())).contains(&"RISK_WORK_NO_LABOUR"));
        let mut d = household();
        monitored(&mut d, date(2022, 1, 10));
        d.incomes[0].out_of_pocket = Fen::ZERO;
        assert_eq!(subs(&run(&d, as_of())), vec!["RISK_ILLNESS_NO_COST"]);
        d.record.household.risks = vec![RiskType::Disability, RiskType::Schooling];
        let f = subs(&run(&d, as_of()));
        assert!(f.contains(&"RISK_DISABILITY_NO_DISABLED") && !f.contains(&"RISK_SCHOOL_NO_STUDENT"), "{f:?}");
    }

    #[test]
    fn findings_have_stable_fingerprints() {
        let mut d = household();
        d.incomes[0].wage = Fen::from_yuan(18_000);
        let a = run(&d, as_of());
        d.incomes[0].wage = Fen::from_yuan(17_000);
        let b = run(&d, as_of());
        assert_eq!(a[0].fingerprint(), b[0].fingerprint(), "same finding, new inputs");
        assert_ne!(a[0].explanation, b[0].explanation);
        assert_eq!(FindingCode::from_key("should_monitor"), Some(FindingCode::ShouldMonitor));
    }

    #[test]
    fn month_counting() {
        assert_eq!(full_months(date(2021, 9, 28), date(2022, 3, 28)), 6);
        assert_eq!(full_months(date(2021, 9, 29), date(2022, 3, 28)), 5);
        assert_eq!(full_months(date(2022, 1, 31), date(2022, 2, 28)), 0);
    }
}
