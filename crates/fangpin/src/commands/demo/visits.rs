//! 入户核查 in the simulated campaign: each village's screener visits its households at the
//! village's own pace (one or two villages lag), on the form the household needs (附件3/4/5); the
//! village cadre reviews each visit a day or two later — accepts most, returns a few with a
//! reason, which the screener corrects the next working day.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use domain::HouseholdNo;
use domain::campaign::{FormKind, Task, TaskId};
use domain::codes::{HealthCondition, HousingGrade, LabourSkill, RiskType};
use domain::household::Monitoring;
use domain::ports::{
    CampaignStore, HouseholdDetail, RegistryLookup, TaskFilter, TaskSelection, VisitFilter, VisitStore,
};
use domain::service;
use domain::visit::{Conclusion, EliminationView, INCOME_FIELDS, ReviewStatus, Visit, VisitId, VisitInput, VisitMode};

use super::accounts::Village;
use super::simulate::{Job, Leads, Phase, Sim, key};
use super::turns::{Turn, by_village};

const TAG_PACE: u64 = 0x50AC_E001;
const TAG_VISIT: u64 = 0x0715_1700;
const TAG_CLUE: u64 = 0xC1DE_0001;

/// Why a household was not met, why a visit was returned, and how the screener answered.
const NOT_MET: [&str; 3] = ["外出务工，家中无人", "家中无人，邻居称全家外出探亲", "电话无人接听"];
const RETURNS: [(&str, &str); 3] = [
    ("收入信息不完整：请核实家庭成员务工收入后补充", "已电话核实务工收入，与登记一致"),
    ("签字确认人与户主不一致：请核实由谁签字确认", "户主外出，由配偶签字确认，已核实"),
    ("住房安全等级与上次登记不一致：请补充说明", "已复核住房情况，等级填写无误"),
];

/// One attempt to reach a household, planned before the campaign starts.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    pub mode: VisitMode,
    pub met: bool,
    /// Working days until the cadre reviews it.
    pub review_gap: u32,
    /// The cadre returns it once with a reason.
    pub send_back: bool,
}

impl Sim<'_> {
    /// Every village's tasks to its screener (by the village cadre), and each household's visits.
    pub async fn plan_visits(&mut self) -> anyhow::Result<()> {
        let first = self.campaign_days[0];
        for i in 0..self.villages.len() {
            let v = &self.villages[i];
            let (scope, actor, screener) = (v.cadre.scope(), v.cadre.actor(), v.screener.id);
            let sel = TaskSelection { village: v.code, group_no: None, tasks: Vec::new() };
            let at = self.at(first, Phase::Correct);
            service::assign_tasks(self.db, at, &scope, &actor, self.campaign, &sel, Some(screener))
                .await
                .map_err(|e| anyhow::anyhow!("assigning tasks: {e}"))?;
        }
        let paces = self.paces();
        let mut filter = TaskFilter {
            campaign: self.campaign,
            region: None,
            group_no: None,
            screener: None,
            status: None,
            after: None,
        };
        loop {
            let page = self.db.tasks(&domain::Scope::system(), &filter, 1000).await?;
            for t in &page.items {
                self.plan_household(t, paces[self.village_of(t.village)]);
            }
            match page.next.as_deref().and_then(domain::ports::Cursor::decode) {
                Some(c) if !page.items.is_empty() => filter.after = Some(c),
                _ => break,
            }
        }
        Ok(())
    }

    /// The working-day index by which each village has made its first attempts: most around the
    /// 04-18 deadline, two villages a week and more behind.
    fn paces(&self) -> Vec<u32> {
        let mut r = self.rng(TAG_PACE, &[]);
        let n = self.villages.len() as u32;
        let lagging = [r.below(n), r.below(n)];
        (0..n).map(|i| if lagging.contains(&i) { r.range(18, 20) } else { r.range(10, 14) }).collect()
    }

    /// 97% met in person (some at a second attempt), 2% only by phone, 1% not reached. Some
    /// households the screening flagged and the village will act on are visited first (§8.4).
    fn plan_household(&mut self, t: &Task, pace: u32) {
        let mut r = self.rng(TAG_VISIT, &[key(&t.household_no)]);
        let early = self.leads.clue_for.contains(&t.household_no) && r.chance(0.3);
        let first = r.range(0, if early { pace * 3 / 5 } else { pace }) as usize;
        let u = r.unit();
        use VisitMode::{InPerson, Phone};
        let tries: &[(VisitMode, bool)] = match u {
            u if u < 0.010 => &[(InPerson, false), (Phone, false)],
            u if u < 0.020 => &[(Phone, true)],
            u if u < 0.030 => &[(InPerson, false), (Phone, true)],
            u if u < 0.055 => &[(InPerson, false), (InPerson, true)],
            _ => &[(InPerson, true)],
        };
        let mut index = first;
        for (n, &(mode, met)) in tries.iter().enumerate() {
            if n > 0 {
                index += r.range(1, 3) as usize;
            }
            let review_gap = if r.chance(0.85) { r.range(1, 2) } else { 3 };
            let attempt = Attempt { mode, met, review_gap, send_back: met && r.chance(0.03) };
            if let Some(&on) = self.campaign_days.get(index) {
                let job =
                    Job::Visit { village: self.village_of(t.village), task: t.id, no: t.household_no.clone(), attempt };
                self.schedule(on, Phase::Visit, job);
            }
        }
    }
}

/// The form as the screener fills it: what the registry says, confirmed, with the income of the
/// last twelve months and the conclusion.
fn visit_form(
    v: &Village,
    leads: &Leads,
    d: &HouseholdDetail,
    form: FormKind,
    on: NaiveDate,
    attempt: Attempt,
) -> VisitInput {
    let h = &d.record.household;
    let mut i = VisitInput::prefilled(d, on, &v.screener.display_name);
    i.set("mode", attempt.mode.label());
    i.set("screeners", format!("{}、{}", v.screener.display_name, v.partner));
    if !attempt.met {
        i.set("met", "否");
        let why =
            if attempt.mode == VisitMode::InPerson { NOT_MET[key(&h.household_no) as usize % 2] } else { NOT_MET[2] };
        i.set("why_not", why);
        return i;
    }
    i.set("met", "是");
    i.set("confirmed", "是");
    let head = d.head().or_else(|| d.members.first().map(|m| &m.member));
    i.set("signed_by", head.map(|m| m.name.to_string()).unwrap_or_default());
    if attempt.mode == VisitMode::InPerson {
        if let Some(r) = d.latest_income() {
            for ((f, _), x) in INCOME_FIELDS.iter().zip(r.amounts()) {
                i.set(f, x.to_yuan_string());
            }
        }
        if h.housing_grade.is_none() {
            let g = if key(&h.household_no).is_multiple_of(2) { HousingGrade::A } else { HousingGrade::B };
            i.set("housing_grade", g.label());
        }
    }
    let uninsured = d.members.iter().any(|m| m.member.uninsured());
    i.set("uninsured", if uninsured { "是" } else { "否" });
    i.set("dropout", "否");
    if h.food_clothing_secure.is_none() {
        i.set("food_clothing", "是");
    }
    i.set("sudden", "否");
    conclude(leads, &mut i, d, form);
    i
}

/// 附件3: the officer and the elimination view; 附件4/5: the conclusion (a suggestion for the
/// households the village will turn into clues).
fn conclude(leads: &Leads, i: &mut VisitInput, d: &HouseholdDetail, form: FormKind) {
    let h = &d.record.household;
    if form == FormKind::Monitored {
        i.set("officer_present", if h.officer.is_some() { "是" } else { "否" });
        i.set("officer_in_touch", "是");
        i.set("measures_match", "是");
        let view = match h.monitoring {
            Monitoring::Eliminated { .. } if leads.wrong.contains(&h.household_no) => EliminationView::Wrong,
            Monitoring::Eliminated { .. } => EliminationView::Correct,
            _ if leads.eligible.contains_key(&h.household_no) => EliminationView::Eligible,
            _ => EliminationView::Continue,
        };
        i.set("elimination_view", view.label());
        return;
    }
    let suggest = leads.clue_for.contains(&h.household_no);
    match leads.should_monitor.get(&h.household_no).and_then(|(_, c)| *c).filter(|_| suggest) {
        Some(category) => {
            i.set("conclusion", Conclusion::Suggest.label());
            i.set("suggested_category", category.label());
            for r in risks_of(d) {
                i.pairs.push(("risk".into(), r.label().into()));
            }
        }
        None => i.set("conclusion", Conclusion::NoRisk.label()),
    }
}

/// What a day's visits and reviews need besides the store: the villages' people and what the
/// 03-28 screening found (shared by the villages' concurrent streams).
pub struct Shared {
    pub on: NaiveDate,
    pub villages: Vec<Village>,
    pub leads: Leads,
    /// The day's households as the registry stands before the first visit (one read for all).
    pub households: HashMap<HouseholdNo, HouseholdDetail>,
    /// The visits waiting for review (the cadres' queues, one read for all).
    pub submitted: HashMap<VisitId, Visit>,
}

/// One visit as its village's screener records it.
#[derive(Debug, Clone)]
pub struct VisitJob {
    pub at: DateTime<Utc>,
    pub village: usize,
    pub task: TaskId,
    pub no: HouseholdNo,
    pub attempt: Attempt,
}

async fn record(t: Turn, s: Arc<Shared>, j: VisitJob) -> anyhow::Result<VisitId> {
    let v = &s.villages[j.village];
    let (scope, actor, no) = (v.screener.scope(), v.screener.actor(), &j.no);
    let d = s.households.get(no).ok_or_else(|| anyhow::anyhow!("household {no}"))?;
    let form = domain::campaign::form_for(&d.record.household);
    let input = visit_form(v, &s.leads, d, form, s.on, j.attempt);
    let visit = service::record_visit(&t, j.at, s.on, &scope, &actor, j.task, &input)
        .await
        .map_err(|e| anyhow::anyhow!("visit of {no}: {e}"))?;
    Ok(visit.id)
}

/// One review of a submitted visit by the village cadre.
#[derive(Debug, Clone)]
pub struct ReviewJob {
    pub at: DateTime<Utc>,
    pub village: usize,
    pub visit: VisitId,
    pub send_back: bool,
}

/// How a review ended: returned, or accepted (with the household and whether it was met).
enum Reviewed {
    Skipped,
    Returned,
    Accepted { no: HouseholdNo, met: bool },
}

async fn review(t: Turn, s: Arc<Shared>, j: ReviewJob) -> anyhow::Result<Reviewed> {
    let cadre = &s.villages[j.village].cadre;
    let (scope, actor, id) = (cadre.scope(), cadre.actor(), j.visit);
    let Some(v) = s.submitted.get(&id) else { return Ok(Reviewed::Skipped) };
    if j.send_back {
        let reason = RETURNS[id.0 as usize % RETURNS.len()].0;
        service::return_visit(&t, j.at, &scope, &actor, id, v.version, reason)
            .await
            .map_err(|e| anyhow::anyhow!("returning visit #{}: {e}", id.0))?;
        return Ok(Reviewed::Returned);
    }
    service::accept_visit(&t, j.at, &scope, &actor, id, v.version, "")
        .await
        .map_err(|e| anyhow::anyhow!("accepting visit #{} of {}: {e}", id.0, v.household_no))?;
    Ok(Reviewed::Accepted { no: v.household_no.clone(), met: v.facts.met })
}

impl Sim<'_> {
    fn shared(
        &self,
        on: NaiveDate,
        households: HashMap<HouseholdNo, HouseholdDetail>,
        submitted: HashMap<VisitId, Visit>,
    ) -> Arc<Shared> {
        Arc::new(Shared { on, villages: self.villages.clone(), leads: self.leads.clone(), households, submitted })
    }

    /// The households of a day's visits, read in batches (what each screener's form opens with).
    async fn households(&self, jobs: &[VisitJob]) -> anyhow::Result<HashMap<HouseholdNo, HouseholdDetail>> {
        let nos: Vec<HouseholdNo> = jobs.iter().map(|j| j.no.clone()).collect();
        let mut out = HashMap::with_capacity(nos.len());
        for chunk in nos.chunks(500) {
            for d in self.db.households_by_no(chunk).await? {
                out.insert(d.record.household.household_no.clone(), d);
            }
        }
        Ok(out)
    }

    /// Every visit waiting for review (the cadres' queues).
    async fn submitted(&self) -> anyhow::Result<HashMap<VisitId, Visit>> {
        let mut filter =
            VisitFilter { campaign: Some(self.campaign), review: Some(ReviewStatus::Submitted), ..Default::default() };
        let mut out = HashMap::new();
        loop {
            let page = self.db.visits(&domain::Scope::system(), &filter, 1000).await?;
            let last = page.items.last().map(|v| v.id.0);
            out.extend(page.items.into_iter().map(|v| (v.id, v)));
            match last {
                Some(id) if page.next.is_some() => filter.after = Some(id),
                _ => return Ok(out),
            }
        }
    }

    /// A day's visits, the villages at the same time; then each visit's review is scheduled.
    pub async fn visit_day(&mut self, on: NaiveDate, jobs: Vec<VisitJob>) -> anyhow::Result<()> {
        let s = self.shared(on, self.households(&jobs).await?, HashMap::new());
        let jobs = jobs.into_iter().map(|j| (j.village, j)).collect();
        let done = by_village(self.db, jobs, move |t, j| record(t, Arc::clone(&s), j)).await?;
        for (j, id) in done {
            self.stats.visits += 1;
            self.stats.visits_remote += u64::from(j.attempt.mode != VisitMode::InPerson);
            self.stats.visits_missed += u64::from(!j.attempt.met);
            let review_on = self.after(on, j.attempt.review_gap)?;
            let job = Job::Review { village: j.village, visit: id, send_back: j.attempt.send_back };
            self.schedule(review_on, Phase::Review, job);
        }
        Ok(())
    }

    /// A day's reviews, the villages at the same time: returned visits are corrected the next
    /// working day; an accepted visit of a household chosen for a clue becomes one.
    pub async fn review_day(&mut self, on: NaiveDate, jobs: Vec<ReviewJob>) -> anyhow::Result<()> {
        let s = self.shared(on, HashMap::new(), self.submitted().await?);
        let jobs = jobs.into_iter().map(|j| (j.village, j)).collect();
        let done = by_village(self.db, jobs, move |t, j| review(t, Arc::clone(&s), j)).await?;
        for (j, outcome) in done {
            match outcome {
                Reviewed::Skipped => {}
                Reviewed::Returned => {
                    self.stats.returned += 1;
                    let next = self.after(on, 1)?;
                    self.schedule(next, Phase::Correct, Job::Correct { village: j.village, visit: j.visit });
                }
                Reviewed::Accepted { no, met } => {
                    self.stats.accepted += 1;
                    if met && self.leads.clue_for.remove(&no) {
                        // half the clues the same day, the others when the village gets to them
                        let mut r = self.rng(TAG_CLUE, &[key(&no)]);
                        let day = self.after(on, if r.chance(0.5) { 0 } else { r.range(2, 10) })?;
                        self.schedule(day, Phase::Clue, Job::Clue { village: j.village, no });
                    }
                }
            }
        }
        Ok(())
    }

    pub async fn correct(
        &mut self,
        on: NaiveDate,
        at: DateTime<Utc>,
        village: usize,
        id: VisitId,
    ) -> anyhow::Result<()> {
        let screener = &self.villages[village].screener;
        let (scope, actor) = (screener.scope(), screener.actor());
        let v = self.db.visit(&scope, id).await?.ok_or_else(|| anyhow::anyhow!("visit #{}", id.0))?;
        let mut input = VisitInput::from_visit(&v);
        input.set("note", RETURNS[id.0 as usize % RETURNS.len()].1);
        service::correct_visit(self.db, at, on, &scope, &actor, id, v.version, &input)
            .await
            .map_err(|e| anyhow::anyhow!("correcting visit #{}: {e}", id.0))?;
        let next = self.after(on, 1)?;
        self.schedule(next, Phase::Review, Job::Review { village, visit: id, send_back: false });
        Ok(())
    }
}

/// The risks a household's members and income point to (D7), consistent with the rules' checks
/// (因病 with medical costs, 因残 with a disabled member, 务工 with work), at most two.
pub fn risks_of(d: &HouseholdDetail) -> Vec<RiskType> {
    let members: Vec<_> = d.members.iter().map(|m| &m.member).collect();
    let costs = d.latest_income().is_some_and(|r| r.out_of_pocket > domain::Fen::ZERO);
    let ill =
        members.iter().any(|m| m.health.has(HealthCondition::SeriousIllness) || m.health.has(HealthCondition::Chronic));
    let able = members.iter().any(|m| m.labour_skill.is_able());
    let working = members.iter().any(|m| m.labour_skill.is_able() && m.work_months.is_some_and(|w| w > 0));
    let mut out = Vec::new();
    if ill && costs {
        out.push(RiskType::Illness);
    }
    if members.iter().any(|m| m.health.has(HealthCondition::Disabled)) {
        out.push(RiskType::Disability);
    }
    if !able || members.iter().all(|m| m.labour_skill == LabourSkill::Weak || !m.labour_skill.is_able()) {
        out.push(RiskType::LackOfLabour);
    } else if working {
        out.push(RiskType::UnstableEmployment);
    }
    if out.is_empty() {
        out.push(RiskType::Other);
    }
    out.truncate(2);
    out
}
