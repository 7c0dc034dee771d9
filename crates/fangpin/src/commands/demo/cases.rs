//! 识别认定 and 风险消除 in the simulated campaign (DOMAIN D8, D9): some households whose visit
//! confirmed an 应纳未纳 finding become clues, and some monitored households that meet the
//! elimination conditions are proposed; each case then goes through its steps, one at a time, on
//! the working days the rules allow, each by its own role (village cadre, `town`, `county`).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::codes::{EliminationMode, HouseholdKind, MonitoringCategory};
use domain::household::Monitoring;
use domain::measure::{MeasureCategory, MeasureInput};
use domain::ports::{CaseFilter, CaseStore, FindingFilter, FindingStatus, FindingStore, HouseholdStore};
use domain::procedure::{Case, CaseId, CaseStatus, Decision, NextAction, Procedure, ProcedureError, Step, StepInput};
use domain::rules::FindingCode;
use domain::service::{self, CaseError, OpenCaseInput};
use domain::{HouseholdNo, Role, Scope, User};
use synth::rng::mix64;

use super::simulate::{Job, Leads, Phase, Sim, key};

const TAG_CASE: u64 = 0xCA5E_0001;
const TAG_STEP: u64 = 0xCA5E_0002;
const TAG_ELIMINATION: u64 = 0xCA5E_0003;

/// What will happen to one case: the step (if any) at which it is turned down, and for an
/// elimination its mode.
#[derive(Debug, Clone, Copy)]
pub struct CasePlan {
    pub reject_at: Option<Step>,
    pub mode: EliminationMode,
}

/// The open findings of the 03-28 screening the villages act on, and the households chosen to
/// become clues: about one in twenty-two 应纳未纳 households (at least six).
pub async fn leads(sim: &Sim<'_>) -> anyhow::Result<Leads> {
    let mut leads = Leads::default();
    for code in [FindingCode::ShouldMonitor, FindingCode::EliminationDue, FindingCode::WrongElimination] {
        let mut filter = FindingFilter { code: Some(code), status: Some(FindingStatus::Open), ..Default::default() };
        loop {
            let page = sim.db.findings(&Scope::system(), &filter, 1000).await?;
            for f in &page.items {
                let no = f.household_no.clone();
                match code {
                    FindingCode::ShouldMonitor => {
                        leads.should_monitor.entry(no).or_insert((f.id, f.suggested_category));
                    }
                    FindingCode::EliminationDue => {
                        leads.eligible.entry(no).or_insert(f.id);
                    }
                    _ => {
                        leads.wrong.insert(no);
                    }
                }
            }
            match page.items.last() {
                Some(last) if page.next.is_some() => filter.after = Some(last.id),
                _ => break,
            }
        }
    }
    let chosen = chosen(sim.seed, leads.should_monitor.keys(), leads.should_monitor.len() / 22, 6);
    leads.clue_for = chosen.into_iter().collect();
    Ok(leads)
}

/// `share` of `nos` (at least `min`), in an order fixed by the seed.
fn chosen<'a>(seed: u64, nos: impl Iterator<Item = &'a HouseholdNo>, share: usize, min: usize) -> Vec<HouseholdNo> {
    let mut all: Vec<&HouseholdNo> = nos.collect();
    all.sort_by_key(|no| (mix64(seed ^ key(no)), no.as_str().to_string()));
    all.into_iter().take(share.max(min)).cloned().collect()
}

impl Sim<'_> {
    /// The cases already open (the demo's two clues of 大正村) continue from the next working day.
    pub async fn adopt_open_cases(&mut self) -> anyhow::Result<()> {
        let filter = CaseFilter { status: Some(CaseStatus::Open), ..Default::default() };
        let cases = self.db.cases(&Scope::system(), &filter, 100).await?;
        for c in cases.items {
            self.stats.clues += u64::from(c.procedure == Procedure::Identification);
            let village = self.village_of(c.village);
            self.plan_case(&c);
            let on = self.after(self.campaign_days[0], 1)?;
            self.schedule(on, Phase::Step, Job::Step { village, case: c.id });
        }
        Ok(())
    }

    /// About one in twenty-five households that meet the elimination conditions (at least two)
    /// are proposed in the campaign's first two weeks.
    pub fn plan_eliminations(&mut self) {
        let picked = chosen(self.seed, self.leads.eligible.keys(), self.leads.eligible.len() / 25, 2);
        for no in picked {
            let mut r = self.rng(TAG_ELIMINATION, &[key(&no)]);
            let village = self.village_of_no(&no);
            if let Some(&on) = self.campaign_days.get(r.range(1, 8) as usize) {
                self.schedule(on, Phase::Clue, Job::Propose { village, no });
            }
        }
    }

    fn village_of_no(&self, no: &HouseholdNo) -> usize {
        let code = no.as_str().get(..12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        domain::region::RegionCode::from_u64(code).map_or(0, |c| self.village_of(c))
    }

    fn plan_case(&mut self, c: &Case) {
        let mut r = self.rng(TAG_CASE, &[key(&c.household_no), c.procedure.code() as u64]);
        let u = r.unit();
        let reject_at = match c.procedure {
            Procedure::Identification if u < 0.04 => Some(Step::DataCheck),
            Procedure::Identification if u < 0.09 => Some(Step::Appraisal),
            Procedure::Identification if u < 0.11 => Some(Step::TownReview),
            Procedure::Identification if u < 0.12 => Some(Step::CountyApproval),
            Procedure::Elimination if u < 0.15 => Some(Step::Appraisal),
            _ => None,
        };
        let mode = self.elimination_mode(&c.household_no);
        self.cases.insert(c.id, CasePlan { reject_at, mode });
    }

    /// 帮扶消除 for most eliminations, 自然消除 for the others (D9).
    fn elimination_mode(&self, no: &HouseholdNo) -> EliminationMode {
        let natural = self.rng(TAG_ELIMINATION, &[key(no), 1]).chance(0.3);
        if natural { EliminationMode::Natural } else { EliminationMode::Assisted }
    }

    /// The village cadre turns a visited household's 应纳未纳 finding into a clue.
    pub async fn clue(
        &mut self,
        on: NaiveDate,
        at: DateTime<Utc>,
        village: usize,
        no: &HouseholdNo,
    ) -> anyhow::Result<()> {
        let Some(&(finding, _)) = self.leads.should_monitor.get(no) else { return Ok(()) };
        let input = OpenCaseInput {
            procedure: Procedure::Identification,
            household_no: no.clone(),
            source: None,
            finding_id: Some(finding),
            on,
            note: String::new(),
        };
        if self.open(on, at, village, &input).await? {
            self.stats.clues += 1;
        }
        Ok(())
    }

    /// The village cadre proposes to eliminate a monitored household's risk; for 帮扶消除 the
    /// measures already implemented are recorded first (D9 needs one).
    pub async fn propose(
        &mut self,
        on: NaiveDate,
        at: DateTime<Utc>,
        village: usize,
        no: &HouseholdNo,
    ) -> anyhow::Result<()> {
        let Some(&finding) = self.leads.eligible.get(no) else { return Ok(()) };
        let input = OpenCaseInput {
            procedure: Procedure::Elimination,
            household_no: no.clone(),
            source: None,
            finding_id: Some(finding),
            on,
            note: String::new(),
        };
        if self.elimination_mode(no) == EliminationMode::Assisted {
            self.record_past_measure(on, at, village, no).await?;
        }
        if self.open(on, at, village, &input).await? {
            self.stats.proposals += 1;
        }
        Ok(())
    }

    /// The implemented measure behind a 帮扶消除, recorded by the cadre (补录).
    async fn record_past_measure(
        &mut self,
        on: NaiveDate,
        at: DateTime<Utc>,
        village: usize,
        no: &HouseholdNo,
    ) -> anyhow::Result<()> {
        use domain::ports::MeasureStore;
        let cadre = self.villages[village].cadre.clone();
        let scope = cadre.scope();
        let Some(d) = self.db.household(&scope, no).await? else { return Ok(()) };
        let Monitoring::Monitored { since, .. } = d.record.household.monitoring else { return Ok(()) };
        let measures = self.db.measures(&scope, d.record.id).await?;
        let advice = service::measure_advice(&d, &measures, &self.params, &self.cal, on);
        let first = advice.proposals.first().map_or(MeasureCategory::Social, |p| p.category);
        // 因病 and 因学 need a measure of their own kind (D9); 社会帮扶 answers both
        let risks = &d.record.household.risks;
        let mut categories = vec![first];
        if first != MeasureCategory::Social && !covers_risks(first, risks) {
            categories.push(MeasureCategory::Social);
        }
        let planned = (since + Duration::days(30)).min(on);
        for category in categories {
            let input = MeasureInput {
                category: category.label().to_string(),
                content: super::assist::content(category).to_string(),
                planned_on: planned.to_string(),
                status: "已实施".to_string(),
                completed_on: (planned + Duration::days(60)).min(on).to_string(),
                ..Default::default()
            };
            service::add_measure(self.db, at, on, &scope, &cadre.actor(), no, &input)
                .await
                .map_err(|e| anyhow::anyhow!("measure of {no}: {e}"))?;
        }
        Ok(())
    }

    /// Opens a case as the village cadre; false when the household already has one or is
    /// monitored meanwhile.
    async fn open(
        &mut self,
        on: NaiveDate,
        at: DateTime<Utc>,
        village: usize,
        input: &OpenCaseInput,
    ) -> anyhow::Result<bool> {
        let cadre = &self.villages[village].cadre;
        let r = service::open_case(self.db, at, on, &cadre.scope(), &cadre.actor(), input, &[]).await;
        let case = match r {
            Ok(c) => c,
            Err(CaseError::Open(_)) => return Ok(false),
            Err(e) => anyhow::bail!("case of {}: {e}", input.household_no),
        };
        self.plan_case(&case);
        self.schedule_next(on, village, &case)?;
        Ok(true)
    }

    /// The next step of an open case on the day its gap (or its notice) allows.
    fn schedule_next(&mut self, on: NaiveDate, village: usize, case: &Case) -> anyhow::Result<()> {
        let rules = service::case_rules(&self.params, case);
        let Some(next) = case.next(&rules) else { return Ok(()) };
        let mut r = self.rng(TAG_STEP, &[case.id.0 as u64, case.steps.len() as u64]);
        let day = match next {
            NextAction::EndNotice { earliest_end, .. } => self.on_or_after(earliest_end)?,
            NextAction::Step { step } => {
                let (lo, hi) = gap(step);
                self.after(on, r.range(lo, hi))?
            }
        };
        self.schedule(day, Phase::Step, Job::Step { village, case: case.id });
        Ok(())
    }

    pub async fn step(&mut self, on: NaiveDate, at: DateTime<Utc>, village: usize, id: CaseId) -> anyhow::Result<()> {
        let Some(case) = self.db.case(&Scope::system(), id).await? else { return Ok(()) };
        let rules = service::case_rules(&self.params, &case);
        let (Some(next), Some(plan)) = (case.next(&rules), self.cases.get(&id).copied()) else { return Ok(()) };
        let user = self.user_for(next.step(), village);
        let mut input = self.step_input(&case, next, &plan, on, village).await?;
        let (scope, actor) = (user.scope(), user.actor());
        let mut r = service::record_step(self.db, at, on, &scope, &actor, id, case.version, &input, &[]).await;
        // a review step that finds the case cannot pass (不宜纳入 at 信息比对, D16; a decision the
        // registry contradicts) turns it down with that reason, as its user would
        if let Err(CaseError::Step(e @ (ProcedureError::Excluded(_) | ProcedureError::Inconsistent(_)))) = &r
            && case.procedure.may_reject(next.step())
        {
            (input.reject, input.decision, input.note) = (true, None, e.to_string());
            r = service::record_step(self.db, at, on, &scope, &actor, id, case.version, &input, &[]).await;
        }
        let after = r.map_err(|e| anyhow::anyhow!("{} of case #{} ({}): {e}", next.step(), id.0, case.household_no))?;
        self.after_step(on, village, &after)
    }

    fn after_step(&mut self, on: NaiveDate, village: usize, c: &Case) -> anyhow::Result<()> {
        match (c.status, c.procedure) {
            (CaseStatus::Open, _) => self.schedule_next(on, village, c)?,
            (CaseStatus::Completed, Procedure::Identification) => {
                self.stats.included += 1;
                self.plan_officer(on, village, &c.household_no)?;
            }
            (CaseStatus::Completed, Procedure::Elimination) => self.stats.eliminated += 1,
            (CaseStatus::Rejected, _) => self.stats.rejected += 1,
            (CaseStatus::Withdrawn, _) => {}
        }
        Ok(())
    }

    /// The village's cadre, `town` or `county`, as the step requires (DOMAIN §4.2).
    fn user_for(&self, step: Step, village: usize) -> User {
        match step.roles().first() {
            Some(Role::TownOffice) => self.town.clone(),
            Some(Role::CountyApprover) => self.county.clone(),
            _ => self.villages[village].cadre.clone(),
        }
    }

    async fn step_input(
        &self,
        case: &Case,
        next: NextAction,
        plan: &CasePlan,
        on: NaiveDate,
        village: usize,
    ) -> anyhow::Result<StepInput> {
        let step = next.step();
        let reject = plan.reject_at == Some(step) && matches!(next, NextAction::Step { .. });
        let v = &self.villages[village];
        let participants = match step {
            Step::HomeVerification => vec![v.cadre_person.clone(), v.partner.clone()],
            Step::Appraisal => vec![v.cadre_person.clone(), "驻村第一书记".into(), "村民代表".into()],
            _ => Vec::new(),
        };
        let decision = match (step, case.procedure, reject) {
            (Step::CountyApproval, Procedure::Identification, false) => Some(self.inclusion(case).await?),
            (Step::CountyApproval, Procedure::Elimination, false) => Some(Decision::Elimination { mode: plan.mode }),
            _ => None,
        };
        let note = if reject { rejection(step, case.procedure) } else { note(next, case.procedure) }.to_string();
        Ok(StepInput { step, reject, on, participants, note, decision })
    }

    /// The county's decision: the category the finding suggested, the risks the members show.
    async fn inclusion(&self, case: &Case) -> anyhow::Result<Decision> {
        let d = self
            .db
            .household(&Scope::system(), &case.household_no)
            .await?
            .ok_or_else(|| anyhow::anyhow!("household {}", case.household_no))?;
        let by_kind = match d.record.household.kind {
            HouseholdKind::PovertyExited => MonitoringCategory::UnstableExited,
            HouseholdKind::Ordinary => MonitoringCategory::MarginalAtRisk,
        };
        let category = case.suggested_category.unwrap_or(by_kind);
        Ok(Decision::Inclusion { category, risks: super::visits::risks_of(&d), disaster: None })
    }
}

/// Whether one implemented measure of `c` is enough for 帮扶消除 of a household with `risks`:
/// 因病 and 因学 each need a measure of their own kind (`measure::assisted_elimination_gaps`).
fn covers_risks(c: MeasureCategory, risks: &[domain::codes::RiskType]) -> bool {
    use MeasureCategory as M;
    use domain::codes::RiskType;
    let illness = matches!(c, M::Health | M::Social | M::Comprehensive);
    let school = matches!(c, M::CompulsoryEducation | M::OtherEducation | M::Social);
    (!risks.contains(&RiskType::Illness) || illness) && (!risks.contains(&RiskType::Schooling) || school)
}

/// Working days between the previous step and `step` (lowest, highest): the whole procedure
/// usually within the 15 days of D8 (the notice's 5 days included).
fn gap(step: Step) -> (u32, u32) {
    match step {
        Step::Application | Step::Inclusion | Step::Clue | Step::Proposal => (0, 0),
        Step::HomeVerification | Step::Appraisal | Step::PublicNotice => (0, 1),
        Step::TownReview | Step::CountyApproval | Step::Announcement | Step::EliminationMark => (0, 1),
        Step::DataCheck => (1, 2),
    }
}

fn note(next: NextAction, p: Procedure) -> &'static str {
    let elimination = p == Procedure::Elimination;
    match next {
        NextAction::EndNotice { .. } => "公示期满，无异议",
        NextAction::Step { step } => match step {
            Step::Application => "农户已签署《监测对象申请及承诺授权查询书》",
            Step::HomeVerification if elimination => "入户核实：收入稳定超过监测范围，“三保障”和饮水安全有保障",
            Step::HomeVerification => "入户核实家庭收入、支出和“两不愁三保障”情况，已填写信息采集表",
            Step::DataCheck => "财政供养、车辆、市场主体、房产比对无异常",
            Step::Appraisal if elimination => "民主评议同意标注风险消除",
            Step::Appraisal => "村民代表会议民主评议同意纳入",
            Step::PublicNotice => "在村务公开栏公示（不含身份证号、电话、银行账号、健康状况）",
            Step::TownReview => "镇专项办审核通过",
            Step::CountyApproval if elimination => "区乡村振兴局审定同意标注风险消除",
            Step::CountyApproval => "区乡村振兴局审定同意纳入监测",
            Step::Announcement => "以镇人民政府名义在村内公告",
            Step::Inclusion => "已录入全国防返贫监测信息系统",
            Step::EliminationMark => "已在全国防返贫监测信息系统标注风险消除",
            Step::Clue | Step::Proposal => "",
        },
    }
}

fn rejection(step: Step, p: Procedure) -> &'static str {
    match (step, p) {
        (Step::DataCheck, _) => "比对发现家庭成员名下有商品房，不符合纳入条件",
        (Step::Appraisal, Procedure::Elimination) => "民主评议认为家庭收入尚不稳定，暂不标注风险消除",
        (Step::Appraisal, _) => "民主评议认为家庭收入稳定、无返贫致贫风险，不予纳入",
        (Step::TownReview, _) => "重新核算收入后高于监测范围，不予纳入",
        _ => "经审定不符合纳入条件，不予纳入",
    }
}
