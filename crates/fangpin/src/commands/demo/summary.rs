//! The simulated campaign's summary lines, read back from the store where it can say (progress,
//! reviews, deadlines, open cases and tasks) and from the simulation's own counts otherwise.

use chrono::NaiveDate;
use domain::Scope;
use domain::campaign::Progress;
use domain::ports::{
    CampaignStore, CaseStore, DepartmentTaskFilter, DepartmentTaskStore, ProgressBy, VisitFilter, VisitStore,
};
use domain::visit::ReviewStatus;

use super::simulate::Sim;

/// Figures as of the end of the simulation.
#[derive(Debug, Default)]
pub struct Figures {
    pub total: Progress,
    /// (village name, per cent visited in person), slowest first.
    pub villages: Vec<(&'static str, i64)>,
    pub awaiting_review: i64,
    pub open_cases: i64,
    pub officers_missing: i64,
    pub officers_overdue: i64,
    pub measures_overdue: i64,
    pub tasks_overdue: i64,
}

impl Figures {
    pub async fn read(sim: &Sim<'_>, end: NaiveDate) -> anyhow::Result<Figures> {
        let scope = Scope::system();
        let rows = sim.db.progress(&scope, sim.campaign, ProgressBy::Village, None).await?;
        let total = Progress::sum(rows.iter().map(|r| &r.progress));
        let mut villages: Vec<(&'static str, i64)> = rows
            .iter()
            .filter_map(|r| {
                let i = sim.village_of(r.village?);
                Some((sim.villages[i].name, r.progress.coverage_percent()))
            })
            .collect();
        villages.sort_by_key(|(_, p)| *p);
        let filter =
            VisitFilter { campaign: Some(sim.campaign), review: Some(ReviewStatus::Submitted), ..Default::default() };
        let awaiting_review = sim.db.visits(&scope, &filter, 1).await?.total;
        let open_cases = sim.db.case_counts(&scope).await?.iter().map(|c| c.count).sum();
        let deadlines = domain::service::deadline_summary(sim.db, &sim.cal, &scope, end, None).await?;
        let overdue = DepartmentTaskFilter { open_only: true, due_before: Some(end), ..Default::default() };
        let tasks_overdue = sim.db.department_tasks(&scope, &overdue, 1).await?.total;
        Ok(Figures {
            total,
            villages,
            awaiting_review,
            open_cases,
            officers_missing: deadlines.officers.total(),
            officers_overdue: deadlines.officers.overdue,
            measures_overdue: deadlines.measures.overdue,
            tasks_overdue,
        })
    }
}

/// Three lines: the visits, the procedure, the assistance.
pub fn print(sim: &Sim<'_>, days: (NaiveDate, NaiveDate, usize), end: NaiveDate, f: &Figures) {
    let s = &sim.stats;
    let t = &f.total;
    let pct = |n: i64| if t.households == 0 { 0.0 } else { n as f64 * 100.0 / t.households as f64 };
    say!(
        "campaign simulated / 集中排查模拟: {} → {} ({} working days), as of {end}: {} visits ({} by phone, {} not met); \
         households {} visited in person ({:.1}%), {} only by phone ({:.1}%), {} not reached ({:.1}%), {} not yet visited; \
         reviews {} accepted, {} returned and corrected, {} awaiting review",
        days.0,
        days.1,
        days.2,
        s.visits,
        s.visits_remote,
        s.visits_missed,
        t.visited,
        pct(t.visited),
        t.remote_only,
        pct(t.remote_only),
        t.not_reached,
        pct(t.not_reached),
        t.pending,
        s.accepted,
        s.returned,
        f.awaiting_review,
    );
    let slowest: Vec<String> = f.villages.iter().take(2).map(|(n, p)| format!("{n} {p}%")).collect();
    say!("  slowest villages / 进度最慢: {}", slowest.join(", "));
    say!(
        "  procedure / 认定与消除: {} clues (identification cases), {} newly monitored (纳入监测), {} not included (不予纳入/不予消除), {} cases still open; \
         {} elimination proposals, {} risk eliminated (风险消除)",
        s.clues,
        s.included,
        s.rejected,
        f.open_cases,
        s.proposals,
        s.eliminated,
    );
    say!(
        "  assistance / 帮扶: {} officers assigned ({} late), {} monitored households without one ({} past the 5 working days); \
         {} measures, {} households past the 10 days without one; department tasks {} pushed, {} completed by 医保, {} overdue",
        s.officers,
        s.officers_late,
        f.officers_missing,
        f.officers_overdue,
        s.measures,
        f.measures_overdue,
        s.tasks_pushed,
        s.tasks_completed,
        f.tasks_overdue,
    );
}
