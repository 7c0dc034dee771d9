//! The villages work at the same time, and the demo stays deterministic: a day's visits (or
//! reviews) run one stream per village, concurrently, while every write goes to the database in
//! the agenda's order — each job holds a turn, and its writes wait for it. The reads of a visit or
//! a review concern its own village only, so what each job reads does not depend on how the
//! streams interleave: the same seed gives the same rows, ids and audit chain.
//!
//! [`Turn`] is the store a job's service call sees: reads go straight to [`store::Db`], writes
//! wait for the job's turn.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::account::{Actor, Scope};
use domain::campaign::{FormKind, Task, TaskId};
use domain::household::{Household, HouseholdNo};
use domain::ports::{
    Cursor, HouseholdDetail, HouseholdFilter, HouseholdRecord, HouseholdStore, HouseholdSummary, ImportMeta,
    ImportOutcome, ImportPlan, MemberChange, Page, RegistryLookup, StoreResult, VisitFilter, VisitStore,
};
use domain::region::RegionCode;
use domain::visit::{Application, Visit, VisitContent, VisitFacts, VisitId};
use tokio::sync::watch;

/// Whose turn it is to write (the jobs' indexes, from 0).
#[derive(Debug)]
pub struct Gate(watch::Sender<usize>);

impl Gate {
    pub fn new() -> Arc<Gate> {
        Arc::new(Gate(watch::Sender::new(0)))
    }

    async fn wait(&self, turn: usize) {
        let mut rx = self.0.subscribe();
        // the sender lives as long as the gate: the wait ends when the turn comes
        let _ = rx.wait_for(|n| *n == turn).await;
    }

    /// The job `turn` is over: the next may write.
    async fn done(&self, turn: usize) {
        self.wait(turn).await;
        self.0.send_replace(turn + 1);
    }
}

/// The store as the job holding `turn` sees it.
#[derive(Clone)]
pub struct Turn {
    pub db: store::Db,
    turn: usize,
    gate: Arc<Gate>,
}

impl Turn {
    async fn write<T>(&self, f: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
        self.gate.wait(self.turn).await;
        f.await
    }
}

/// Runs `jobs` (in agenda order, each with its village): one task per village doing its jobs in
/// order, all villages at once, writes in agenda order. Results come back in agenda order.
pub async fn by_village<J, O, F, Fut>(db: &store::Db, jobs: Vec<(usize, J)>, run: F) -> anyhow::Result<Vec<(J, O)>>
where
    J: Clone + Send + 'static,
    O: Send + 'static,
    F: Fn(Turn, J) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<O>> + Send,
{
    let gate = Gate::new();
    let mut streams: Vec<Vec<(usize, J)>> = Vec::new();
    let mut of_village: Vec<(usize, usize)> = Vec::new();
    for (turn, (village, job)) in jobs.into_iter().enumerate() {
        let i = match of_village.iter().find(|(v, _)| *v == village) {
            Some((_, i)) => *i,
            None => {
                of_village.push((village, streams.len()));
                streams.push(Vec::new());
                streams.len() - 1
            }
        };
        streams[i].push((turn, job));
    }
    let mut set = tokio::task::JoinSet::new();
    for stream in streams {
        let (db, gate, run) = (db.clone(), Arc::clone(&gate), run.clone());
        set.spawn(async move {
            let mut out = Vec::with_capacity(stream.len());
            let mut failed = false;
            for (turn, job) in stream {
                // after a failure the stream only passes its turns on, so that no one waits forever
                let r = if failed {
                    Err(anyhow::anyhow!("not run: an earlier job of the village failed"))
                } else {
                    run(Turn { db: db.clone(), turn, gate: Arc::clone(&gate) }, job.clone()).await
                };
                gate.done(turn).await;
                failed |= r.is_err();
                out.push((turn, job, r));
            }
            out
        });
    }
    let mut all = Vec::new();
    while let Some(r) = set.join_next().await {
        all.extend(r?);
    }
    all.sort_by_key(|(turn, _, _)| *turn);
    all.into_iter().map(|(_, job, r)| Ok((job, r?))).collect()
}

impl HouseholdStore for Turn {
    async fn list_households(
        &self,
        scope: &Scope,
        filter: &HouseholdFilter,
        after: Option<&Cursor>,
        limit: u32,
    ) -> StoreResult<Page<HouseholdSummary>> {
        self.db.list_households(scope, filter, after, limit).await
    }
    async fn household(&self, scope: &Scope, no: &HouseholdNo) -> StoreResult<Option<HouseholdDetail>> {
        self.db.household(scope, no).await
    }
    async fn export_batch(
        &self,
        scope: &Scope,
        filter: &HouseholdFilter,
        after: Option<&Cursor>,
        limit: u32,
    ) -> StoreResult<(Vec<HouseholdDetail>, Option<Cursor>)> {
        self.db.export_batch(scope, filter, after, limit).await
    }
    async fn save_household(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        before: &HouseholdDetail,
        household: &Household,
    ) -> StoreResult<HouseholdRecord> {
        self.write(self.db.save_household(actor, at, before, household)).await
    }
    async fn write_members(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        before: &HouseholdDetail,
        changes: &[MemberChange],
        reason: &str,
    ) -> StoreResult<HouseholdRecord> {
        self.write(self.db.write_members(actor, at, before, changes, reason)).await
    }
    async fn apply_import(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        meta: &ImportMeta,
        plan: &ImportPlan,
    ) -> StoreResult<ImportOutcome> {
        self.write(self.db.apply_import(actor, at, meta, plan)).await
    }

    type Import = store::DbImport;

    async fn begin_import(&self, actor: &Actor, at: DateTime<Utc>, meta: &ImportMeta) -> StoreResult<store::DbImport> {
        self.write(self.db.begin_import(actor, at, meta)).await
    }
}

impl RegistryLookup for Turn {
    async fn households_by_no(&self, nos: &[HouseholdNo]) -> StoreResult<Vec<HouseholdDetail>> {
        self.db.households_by_no(nos).await
    }
    async fn member_locations(&self, keys: &[u64]) -> StoreResult<Vec<(u64, HouseholdNo, RegionCode)>> {
        self.db.member_locations(keys).await
    }
}

impl VisitStore for Turn {
    async fn task(&self, scope: &Scope, id: TaskId) -> StoreResult<Option<Task>> {
        self.db.task(scope, id).await
    }
    async fn record_visit(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        scope: &Scope,
        task: TaskId,
        form: FormKind,
        facts: &VisitFacts,
        content: &VisitContent,
    ) -> StoreResult<Visit> {
        self.write(self.db.record_visit(actor, at, scope, task, form, facts, content)).await
    }
    async fn correct_visit(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        scope: &Scope,
        id: VisitId,
        version: i64,
        facts: &VisitFacts,
        content: &VisitContent,
    ) -> StoreResult<Visit> {
        self.write(self.db.correct_visit(actor, at, scope, id, version, facts, content)).await
    }
    async fn visit(&self, scope: &Scope, id: VisitId) -> StoreResult<Option<Visit>> {
        self.db.visit(scope, id).await
    }
    async fn visits(&self, scope: &Scope, filter: &VisitFilter, limit: u32) -> StoreResult<Page<Visit>> {
        self.db.visits(scope, filter, limit).await
    }
    async fn accept_visit(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        visit: &Visit,
        before: &HouseholdDetail,
        application: &Application,
        note: &str,
    ) -> StoreResult<HouseholdRecord> {
        self.write(self.db.accept_visit(actor, at, visit, before, application, note)).await
    }
    async fn return_visit(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        scope: &Scope,
        id: VisitId,
        version: i64,
        reason: &str,
    ) -> StoreResult<()> {
        self.write(self.db.return_visit(actor, at, scope, id, version, reason)).await
    }
}
