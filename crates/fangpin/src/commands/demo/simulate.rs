//! The demo as of a later date: the 2022 campaign run day by day on the work calendar, from the
//! demo's first working day (03-28) up to the clock's day (at most 05-04), through the same
//! service functions the pages call — every visit, review, step, officer, measure and task is
//! exactly what its user would have produced (audited, deadlines by the real code), recorded at
//! an instant of its simulated day.
//!
//! Deterministic: every choice comes from `synth::rng` streams seeded by the demo seed and the
//! household (or case, or task); the plan does not depend on the end date, so the demo as of
//! 04-15 is the demo as of 05-04 stopped earlier.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use domain::calendar::WorkCalendar;
use domain::campaign::{CampaignId, TaskId};
use domain::codes::MonitoringCategory;
use domain::params::PolicyParam;
use domain::procedure::CaseId;
use domain::region::RegionCode;
use domain::visit::VisitId;
use domain::{HouseholdNo, User};
use synth::rng::{Rng, mix64, seed_of};

use super::accounts::{self, Village};
use super::visits::{ReviewJob, VisitJob};

/// The campaign's 入户排查认定 and 落实帮扶 phases end on 04-30; the village summaries are due 05-04.
pub const LAST_DAY: (i32, u32, u32) = (2022, 5, 4);

/// When in a simulated day a kind of job happens; jobs of a day run in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    Correct,
    Department,
    Visit,
    Review,
    Clue,
    Step,
    Officer,
    Measure,
    Push,
}

impl Phase {
    /// (start, China time; seconds between two jobs of the phase).
    fn timing(self) -> (NaiveTime, i64) {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default();
        match self {
            Phase::Correct => (t(8, 30), 60),
            Phase::Department => (t(8, 45), 60),
            Phase::Visit => (t(9, 0), 15),
            Phase::Review => (t(15, 0), 4),
            Phase::Clue => (t(16, 0), 30),
            Phase::Step => (t(16, 15), 30),
            Phase::Officer => (t(16, 45), 30),
            Phase::Measure => (t(17, 0), 30),
            Phase::Push => (t(17, 15), 30),
        }
    }
}

/// One thing someone does on a simulated day.
#[derive(Debug)]
pub enum Job {
    Visit { village: usize, task: TaskId, no: HouseholdNo, attempt: super::visits::Attempt },
    Review { village: usize, visit: VisitId, send_back: bool },
    Correct { village: usize, visit: VisitId },
    Clue { village: usize, no: HouseholdNo },
    Propose { village: usize, no: HouseholdNo },
    Step { village: usize, case: CaseId },
    Officer { village: usize, no: HouseholdNo, late: bool },
    Measure { village: usize, no: HouseholdNo },
    Push { no: HouseholdNo },
    DepartmentAccept { task: i64 },
    DepartmentComplete { task: i64 },
}

/// What was simulated (the figures of the summary line).
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub visits: u64,
    pub visits_remote: u64,
    pub visits_missed: u64,
    pub accepted: u64,
    pub returned: u64,
    pub clues: u64,
    pub proposals: u64,
    pub included: u64,
    pub eliminated: u64,
    pub rejected: u64,
    pub officers: u64,
    pub officers_late: u64,
    pub measures: u64,
    pub tasks_pushed: u64,
    pub tasks_completed: u64,
}

/// What the 03-28 screening said, which the villages act on.
#[derive(Debug, Default, Clone)]
pub struct Leads {
    /// Open 应纳未纳 findings: (finding id, suggested category) per household.
    pub should_monitor: HashMap<HouseholdNo, (i64, Option<MonitoringCategory>)>,
    /// The households among them whose visit the village turns into a clue.
    pub clue_for: HashSet<HouseholdNo>,
    /// Open 达到风险消除条件 findings.
    pub eligible: HashMap<HouseholdNo, i64>,
    /// Open 风险消除有误 findings.
    pub wrong: HashSet<HouseholdNo>,
}

pub struct Sim<'a> {
    pub db: &'a store::Db,
    pub seed: u64,
    pub cal: WorkCalendar,
    pub params: Vec<PolicyParam>,
    pub town_code: RegionCode,
    /// Every working day of the campaign up to [`LAST_DAY`] (the plan's days).
    pub campaign_days: Vec<NaiveDate>,
    pub villages: Vec<Village>,
    pub town: User,
    pub county: User,
    pub dept: User,
    pub officer: User,
    pub campaign: CampaignId,
    pub leads: Leads,
    pub stats: Stats,
    /// Per identification or elimination case: what will happen to it.
    pub cases: HashMap<CaseId, super::cases::CasePlan>,
    /// Inclusions and first officers whose deadlines end within the campaign, so far (who is
    /// late, who is missing).
    pub inclusions: usize,
    pub assignments: usize,
    pub medical_tasks: usize,
    /// Department task lists pushed so far: to 医保, to the other departments.
    pub pushes: (u64, u64),
    agenda: BTreeMap<(NaiveDate, Phase, u64), Job>,
    seq: u64,
    day_counts: (NaiveDate, HashMap<Phase, i64>),
    last_at: DateTime<Utc>,
}

/// A stable 64-bit key of a household for the random streams.
pub fn key(no: &HouseholdNo) -> u64 {
    no.as_str().bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| mix64(h ^ u64::from(b)))
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn last_day() -> NaiveDate {
    day(LAST_DAY.0, LAST_DAY.1, LAST_DAY.2)
}

impl<'a> Sim<'a> {
    /// The cast, the calendar and what the 03-28 screening found; nothing is recorded yet.
    pub async fn new(db: &'a store::Db, seed: u64, start: DateTime<Utc>) -> anyhow::Result<Sim<'a>> {
        use domain::ports::{CampaignStore, ParamStore};
        let cal = domain::service::load_calendar(db, start).await?;
        let town_code = RegionCode::from_u64(domain::region::LUORONG_TOWN.1).ok_or_else(|| anyhow::anyhow!("town"))?;
        let campaign = db
            .campaigns(&domain::Scope::system())
            .await?
            .into_iter()
            .find(|c| c.region == town_code)
            .ok_or_else(|| anyhow::anyhow!("the demo campaign is missing"))?
            .id;
        let mut sim = Sim {
            db,
            seed,
            campaign_days: working_days(&cal, town_code, day(2022, 3, 28), last_day())?,
            cal,
            params: db.params(None).await?,
            town_code,
            villages: accounts::villages(db, seed, start).await?,
            town: accounts::existing(db, "town").await?,
            county: accounts::existing(db, "county").await?,
            dept: accounts::existing(db, "dept").await?,
            officer: accounts::existing(db, "officer").await?,
            campaign,
            leads: Leads::default(),
            stats: Stats::default(),
            cases: HashMap::new(),
            inclusions: 0,
            assignments: 0,
            medical_tasks: 0,
            pushes: (0, 0),
            agenda: BTreeMap::new(),
            seq: 0,
            day_counts: (NaiveDate::MIN, HashMap::new()),
            last_at: start,
        };
        sim.leads = super::cases::leads(&sim).await?;
        Ok(sim)
    }

    /// A random stream for one decision about one thing.
    pub fn rng(&self, tag: u64, parts: &[u64]) -> Rng {
        let mut all = vec![self.seed, tag];
        all.extend_from_slice(parts);
        Rng::new(seed_of(&all))
    }

    /// The campaign's last day ([`LAST_DAY`]).
    pub fn last_day(&self) -> NaiveDate {
        last_day()
    }

    pub fn village_of(&self, code: RegionCode) -> usize {
        (code.as_u64().saturating_sub(self.town_code.as_u64() + 201) as usize).min(self.villages.len() - 1)
    }

    /// The n-th working day after `d` (`d` itself for 0).
    pub fn after(&self, d: NaiveDate, n: u32) -> anyhow::Result<NaiveDate> {
        Ok(if n == 0 { d } else { self.cal.add_working_days(d, n, self.town_code)? })
    }

    /// `d` when it is a working day, else the next one.
    pub fn on_or_after(&self, d: NaiveDate) -> anyhow::Result<NaiveDate> {
        let prev = d.pred_opt().unwrap_or(d);
        self.after(prev, 1)
    }

    pub fn schedule(&mut self, on: NaiveDate, phase: Phase, job: Job) {
        self.seq += 1;
        self.agenda.insert((on, phase, self.seq), job);
    }

    /// The instant of the next job of `phase` on `on` (China time), never before the last one.
    pub fn at(&mut self, on: NaiveDate, phase: Phase) -> DateTime<Utc> {
        if self.day_counts.0 != on {
            self.day_counts = (on, HashMap::new());
        }
        let n = self.day_counts.1.entry(phase).or_insert(0);
        let (start, step) = phase.timing();
        let local = on.and_time(start) + Duration::seconds(*n * step);
        *n += 1;
        let at = local.and_local_timezone(domain::clock::china()).single().map(|t| t.with_timezone(&Utc));
        self.last_at = at.unwrap_or(self.last_at).max(self.last_at + Duration::seconds(1));
        self.last_at
    }

    /// Runs every job dated on a working day before `until`.
    pub async fn run_until(&mut self, until: NaiveDate) -> anyhow::Result<()> {
        while let Some(entry) = self.agenda.first_entry() {
            let (on, phase, _) = *entry.key();
            if on >= until {
                break;
            }
            if matches!(phase, Phase::Visit | Phase::Review) {
                self.run_batch(on, phase).await?;
                continue;
            }
            let job = entry.remove();
            self.run_job(on, phase, job).await?;
        }
        Ok(())
    }

    /// Every visit (or review) of a day at once: see [`super::turns`].
    async fn run_batch(&mut self, on: NaiveDate, phase: Phase) -> anyhow::Result<()> {
        let (mut visits, mut reviews) = (Vec::new(), Vec::new());
        while let Some(e) = self.agenda.first_entry() {
            if (e.key().0, e.key().1) != (on, phase) {
                break;
            }
            let job = e.remove();
            let at = self.at(on, phase);
            match job {
                Job::Visit { village, task, no, attempt } => visits.push(VisitJob { at, village, task, no, attempt }),
                Job::Review { village, visit, send_back } => reviews.push(ReviewJob { at, village, visit, send_back }),
                _ => anyhow::bail!("only visits and reviews run in batches"),
            }
        }
        if phase == Phase::Visit { self.visit_day(on, visits).await } else { self.review_day(on, reviews).await }
    }

    async fn run_job(&mut self, on: NaiveDate, phase: Phase, job: Job) -> anyhow::Result<()> {
        let at = self.at(on, phase);
        match job {
            Job::Visit { .. } | Job::Review { .. } => anyhow::bail!("visits and reviews run in batches"),
            Job::Correct { village, visit } => self.correct(on, at, village, visit).await,
            Job::Clue { village, no } => self.clue(on, at, village, &no).await,
            Job::Propose { village, no } => self.propose(on, at, village, &no).await,
            Job::Step { village, case } => self.step(on, at, village, case).await,
            Job::Officer { village, no, late } => self.assign(on, at, village, &no, late).await,
            Job::Measure { village, no } => self.measure(on, at, village, &no).await,
            Job::Push { no } => self.push(on, at, &no).await,
            Job::DepartmentAccept { task } => self.department_accept(on, at, task).await,
            Job::DepartmentComplete { task } => self.department_complete(on, at, task).await,
        }
    }
}

/// The working days of the town in [from, to].
fn working_days(
    cal: &WorkCalendar,
    region: RegionCode,
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<Vec<NaiveDate>> {
    let mut out = Vec::new();
    let mut d = from;
    while d <= to {
        if cal.is_workday(d, region)? {
            out.push(d);
        }
        d = d.succ_opt().ok_or_else(|| anyhow::anyhow!("date out of range"))?;
    }
    Ok(out)
}

/// Runs the campaign on every working day from 03-28 before `today` (at most to 05-04), screens
/// the town again as of the end, and prints what happened.
pub async fn run(
    db: &store::Db,
    seed: u64,
    start: DateTime<Utc>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    // SQLite: the demo can always be loaded again, so its thousands of small transactions need
    // not each wait for the disk (WAL keeps the file consistent); full durability afterwards
    let sqlite = db.backend() == store::Backend::Sqlite;
    if sqlite {
        db.execute_raw("PRAGMA synchronous = NORMAL").await?;
    }
    let r = simulate(db, seed, start, today, now).await;
    if sqlite {
        db.execute_raw("PRAGMA synchronous = FULL").await?;
    }
    r
}

async fn simulate(
    db: &store::Db,
    seed: u64,
    start: DateTime<Utc>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let mut sim = Sim::new(db, seed, start).await?;
    sim.plan_visits().await?;
    sim.adopt_open_cases().await?;
    sim.plan_eliminations();
    let last = sim.last_day();
    let (end, until) = if today > last { (last, last.succ_opt().unwrap_or(last)) } else { (today, today) };
    sim.run_until(until).await?;
    sim.screen_again(end, now).await?;
    let done: Vec<NaiveDate> = sim.campaign_days.iter().copied().filter(|d| *d < until).collect();
    let (first, last_done) = (done.first().copied().unwrap_or(end), done.last().copied().unwrap_or(end));
    let figures = super::summary::Figures::read(&sim, end).await?;
    super::summary::print(&sim, (first, last_done, done.len()), end, &figures);
    Ok(())
}

impl Sim<'_> {
    /// Screens the town again as of `end`, at 08:00 that day (before the clock's `now`): the same
    /// instant on every load.
    async fn screen_again(&self, end: NaiveDate, now: DateTime<Utc>) -> anyhow::Result<()> {
        let at = end.and_hms_opt(8, 0, 0).and_then(|t| t.and_local_timezone(domain::clock::china()).single());
        let at = at.map_or(now, |t| t.with_timezone(&Utc)).min(now);
        let (scope, actor) = (domain::Scope::system(), domain::Actor::system("演示数据"));
        let report =
            domain::screening::screen(self.db, &self.cal, &scope, &actor, at, end, None, &mut |_, _| {}).await?;
        say!(
            "screened again / 再次筛查: as of {end}, {} households, {} findings",
            report.households,
            report.findings.len()
        );
        Ok(())
    }
}
