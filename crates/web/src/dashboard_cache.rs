//! Dashboards kept for a few seconds, per (user's role and region, region shown, campaign, day).
//!
//! Why: a county's dashboard sums a few thousand counter rows and reads the households still
//! waiting for an officer or first measures (≈20 ms on SQLite); leaders and supervisors open it
//! far more often than those counts change, and a busy server must not pay that per request
//! (issue 6, W4 page: p99 ≤ 5 ms).
//!
//! How fresh:
//! - a change made through this process — any request other than GET/HEAD/OPTIONS, or an import
//!   job finishing — makes the next read of every dashboard whose region overlaps the writer's
//!   region recompute, so a user sees their own edit at once (every write is scoped by its user's
//!   region; a writer whose region is not known, such as an API token's, counts for all);
//! - a change made by another process (several `serve` on one PostgreSQL, the command line) shows
//!   within the configured time (`dashboard_cache_seconds`, 5 s by default) on a dashboard that is
//!   read continually, and within four times it (20 s) on any: between the two, the last figures are
//!   served while one task recomputes them in the background (stale-while-revalidate), so that
//!   readers of a busy dashboard do not queue behind the recomputation; older figures are never
//!   served. Readers do wait for it on a first read and after a change made through this process.
//!
//! Every reader is authorised before the cache is consulted ([`domain::dashboard::dashboard_region`]),
//! and the key holds the caller's role and region, so one user's figures never answer another's
//! request that the domain would have answered differently. Zero seconds turns the cache off.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use domain::campaign::CampaignId;
use domain::dashboard::Dashboard;
use domain::service::EditError;
use domain::{RegionCode, Scope};
use tokio::time::Instant;

/// Beyond this many kept dashboards, the expired ones are dropped (then, if still too many, all).
const MAX_ENTRIES: usize = 4_096;

/// Figures older than this many times the freshness time are recomputed before they are served.
const STALE_FACTOR: u32 = 4;

/// How many recent changes are remembered with their region; figures read before the oldest of
/// them are recomputed.
const CHANGES_KEPT: usize = 1_024;

/// The changes made through this process, numbered; the last [`CHANGES_KEPT`] with the writer's
/// region (`None`: anywhere).
#[derive(Default)]
struct Changes {
    next: u64,
    recent: std::collections::VecDeque<(u64, Option<RegionCode>)>,
    /// Changes numbered below this are no longer listed.
    forgotten_below: u64,
}

impl Changes {
    /// Whether figures of `region` read when `next` was `seen` still hold.
    fn unchanged_since(&self, seen: u64, region: RegionCode) -> bool {
        if seen < self.forgotten_below {
            return false;
        }
        let overlaps = |w: &Option<RegionCode>| w.is_none_or(|w| w.contains(region) || region.contains(w));
        !self.recent.iter().rev().take_while(|(n, _)| *n >= seen).any(|(_, w)| overlaps(w))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    role: i16,
    scope_region: Option<RegionCode>,
    region: RegionCode,
    campaign: Option<CampaignId>,
    today: NaiveDate,
}

impl Key {
    /// The key of `region` (already resolved within the scope) for this scope.
    pub fn new(scope: &Scope, region: RegionCode, campaign: Option<CampaignId>, today: NaiveDate) -> Key {
        Key { role: scope.role().code(), scope_region: scope.region(), region, campaign, today }
    }
}

/// A dashboard and when it was computed.
#[derive(Debug, Clone)]
pub struct Cached {
    pub dashboard: Arc<Dashboard>,
    /// The clock's time when the figures were read (shown as 数据时间).
    pub as_of: DateTime<Utc>,
    at: Instant,
    /// [`Changes::next`] when the figures were read.
    generation: u64,
}

#[derive(Default)]
struct Slot {
    entry: std::sync::Mutex<Option<Cached>>,
    /// One computation per key at a time: concurrent readers of a missing entry wait for it.
    computing: tokio::sync::Mutex<()>,
    refreshing: AtomicBool,
    /// Failed computations so far, and the last one's error: readers that waited while one
    /// failed get its error instead of each trying again (a database outage would otherwise be
    /// met by every queued reader in turn).
    failures: AtomicU64,
    failure: std::sync::Mutex<Option<SharedError>>,
}

/// A failed computation's error, as each waiting reader gets it.
#[derive(Clone)]
enum SharedError {
    NotFound,
    Forbidden,
    /// A database failure's detail (for the log), or another error's message.
    Database(String),
}

impl SharedError {
    fn of(e: &EditError) -> SharedError {
        match e {
            EditError::NotFound => SharedError::NotFound,
            EditError::Forbidden => SharedError::Forbidden,
            EditError::Store(domain::ports::StoreError::Database(detail)) => SharedError::Database(detail.clone()),
            e => SharedError::Database(e.to_string()),
        }
    }

    fn error(self) -> EditError {
        match self {
            SharedError::NotFound => EditError::NotFound,
            SharedError::Forbidden => EditError::Forbidden,
            SharedError::Database(m) => EditError::Store(domain::ports::StoreError::Database(m)),
        }
    }
}

impl Slot {
    fn current(&self) -> Option<Cached> {
        self.entry.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn store(&self, c: Cached) {
        *self.entry.lock().unwrap_or_else(|e| e.into_inner()) = Some(c);
    }
}

pub struct DashboardCache {
    fresh_for: Duration,
    /// Every change made through this process: figures of a region read before one that overlaps
    /// it are stale.
    changes: std::sync::Mutex<Changes>,
    slots: std::sync::Mutex<HashMap<Key, Arc<Slot>>>,
    /// The background refreshes under way, stopped with the server ([`Self::stop_refreshes`]).
    refreshes: std::sync::Mutex<tokio::task::JoinSet<()>>,
}

impl DashboardCache {
    pub fn new(fresh_for: Duration) -> Self {
        DashboardCache {
            fresh_for,
            changes: Default::default(),
            slots: Default::default(),
            refreshes: Default::default(),
        }
    }

    /// Something may have changed anywhere: the next read of every dashboard recomputes.
    pub fn invalidate(&self) {
        self.invalidate_within(None);
    }

    /// Something may have changed within `region` (a writer's region; `None`: anywhere): the next
    /// read of a dashboard above, of or below it recomputes.
    pub fn invalidate_within(&self, region: Option<RegionCode>) {
        let mut c = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        let n = c.next;
        c.recent.push_back((n, region));
        c.next = n + 1;
        if c.recent.len() > CHANGES_KEPT
            && let Some((dropped, _)) = c.recent.pop_front()
        {
            c.forgotten_below = dropped + 1;
        }
    }

    /// The number the next change will get: figures read now hold until a change numbered this or
    /// later overlaps their region.
    fn seen(&self) -> u64 {
        self.changes.lock().unwrap_or_else(|e| e.into_inner()).next
    }

    fn holds(&self, c: &Cached, region: RegionCode) -> bool {
        self.changes.lock().unwrap_or_else(|e| e.into_inner()).unchanged_since(c.generation, region)
    }

    /// The dashboard for `key`, from the cache when fresh enough, else from `compute`, which
    /// returns the figures and the clock's time they were read at.
    pub async fn get<F, Fut>(self: &Arc<Self>, key: Key, compute: F) -> Result<Cached, EditError>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(Dashboard, DateTime<Utc>), EditError>> + Send + 'static,
    {
        if self.fresh_for.is_zero() {
            let (d, as_of) = compute().await?;
            return Ok(Cached { dashboard: Arc::new(d), as_of, at: Instant::now(), generation: 0 });
        }
        let slot = self.slot(key);
        if let Some(c) = slot.current().filter(|c| self.holds(c, key.region)) {
            let age = c.at.elapsed();
            if age < self.fresh_for {
                return Ok(c);
            }
            if age < self.fresh_for * STALE_FACTOR {
                if !slot.refreshing.swap(true, Ordering::AcqRel) {
                    // cleared however the refresh ends: a panic, or stopped before it ran (an
                    // aborted task that was never polled drops its future without running it)
                    struct Done(Arc<Slot>);
                    impl Drop for Done {
                        fn drop(&mut self) {
                            self.0.refreshing.store(false, Ordering::Release);
                        }
                    }
                    let (cache, done) = (Arc::clone(self), Done(Arc::clone(&slot)));
                    let mut refreshes = self.refreshes.lock().unwrap_or_else(|e| e.into_inner());
                    while refreshes.try_join_next().is_some() {}
                    refreshes.spawn(async move {
                        let slot = &done.0;
                        let _one = slot.computing.lock().await;
                        // a reader may have recomputed it while this task waited
                        if slot
                            .current()
                            .is_some_and(|c| cache.holds(&c, key.region) && c.at.elapsed() < cache.fresh_for)
                        {
                            return;
                        }
                        if let Err(e) = cache.compute_into(slot, &compute).await {
                            tracing::warn!(error = %e, "could not refresh a dashboard: the next read recomputes it");
                        }
                    });
                }
                return Ok(c);
            }
        }
        let failures = slot.failures.load(Ordering::Acquire);
        let _one = slot.computing.lock().await;
        // another reader may have computed it while this one waited
        if let Some(c) = slot.current().filter(|c| self.holds(c, key.region) && c.at.elapsed() < self.fresh_for) {
            return Ok(c);
        }
        // or failed to
        if slot.failures.load(Ordering::Acquire) != failures
            && let Some(e) = slot.failure.lock().unwrap_or_else(|e| e.into_inner()).clone()
        {
            return Err(e.error());
        }
        self.compute_into(&slot, &compute).await
    }

    /// Cancels the background refreshes under way and waits until they are gone: a server that
    /// stops, then closes its pool, has no refresh left to meet the closed pool. A refresh that
    /// did not finish leaves the figures it would have replaced; the next read recomputes them.
    pub async fn stop_refreshes(&self) {
        let mut refreshes = std::mem::take(&mut *self.refreshes.lock().unwrap_or_else(|e| e.into_inner()));
        refreshes.abort_all();
        while refreshes.join_next().await.is_some() {}
    }

    /// Cancels the background refreshes under way without waiting (a server's future dropped).
    pub fn abort_refreshes(&self) {
        self.refreshes.lock().unwrap_or_else(|e| e.into_inner()).abort_all();
    }

    async fn compute_into<F, Fut>(&self, slot: &Slot, compute: &F) -> Result<Cached, EditError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<(Dashboard, DateTime<Utc>), EditError>>,
    {
        // read before computing: a change committed meanwhile leaves these figures already stale
        let generation = self.seen();
        let at = Instant::now();
        let (d, as_of) = match compute().await {
            Ok(v) => v,
            Err(e) => {
                *slot.failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(SharedError::of(&e));
                slot.failures.fetch_add(1, Ordering::AcqRel);
                return Err(e);
            }
        };
        let c = Cached { dashboard: Arc::new(d), as_of, at, generation };
        slot.store(c.clone());
        Ok(c)
    }

    fn slot(&self, key: Key) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if !slots.contains_key(&key) && slots.len() >= MAX_ENTRIES {
            let too_old = self.fresh_for * STALE_FACTOR;
            // a slot being computed stays, so that its readers' result is kept and not computed twice
            let busy = |s: &Slot| s.computing.try_lock().is_err();
            slots.retain(|_, s| busy(s) || s.current().is_some_and(|c| c.at.elapsed() < too_old));
            if slots.len() >= MAX_ENTRIES {
                slots.retain(|_, s| busy(s));
            }
        }
        Arc::clone(slots.entry(key).or_default())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn key(region: u64) -> Key {
        Key::new(
            &Scope::system(),
            RegionCode::from_u64(region).unwrap(),
            None,
            NaiveDate::from_ymd_opt(2022, 4, 10).unwrap(),
        )
    }

    fn dashboard(households: i64) -> Dashboard {
        let mut d = Dashboard {
            region: RegionCode::from_u64(450_203_100_000).unwrap(),
            today: NaiveDate::from_ymd_opt(2022, 4, 10).unwrap(),
            period_from: NaiveDate::from_ymd_opt(2022, 3, 26).unwrap(),
            campaign: None,
            rows: Vec::new(),
            total: Default::default(),
            monitored_by: Vec::new(),
        };
        d.total.households = households;
        d
    }

    type Computed = std::pin::Pin<Box<dyn Future<Output = Result<(Dashboard, DateTime<Utc>), EditError>> + Send>>;

    /// A computation that counts its calls and returns the call number as the household count.
    fn counting(calls: &Arc<AtomicUsize>) -> impl Fn() -> Computed + Send + Sync + 'static {
        let calls = Arc::clone(calls);
        move || {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok((dashboard(n as i64), DateTime::<Utc>::default()))
            })
        }
    }

    /// A cache (fresh for 5 s) holding one dashboard, computed by `calls` and now 6 s old: past its
    /// freshness, within the stale window.
    async fn stale(calls: &Arc<AtomicUsize>) -> (Arc<DashboardCache>, Key) {
        let cache = Arc::new(DashboardCache::new(Duration::from_secs(5)));
        let k = key(450_203_100_000);
        cache.get(k, counting(calls)).await.unwrap();
        tokio::time::advance(Duration::from_secs(6)).await;
        (cache, k)
    }

    #[tokio::test(start_paused = true)]
    async fn fresh_figures_are_reused_until_a_local_change() {
        let cache = Arc::new(DashboardCache::new(Duration::from_secs(5)));
        let calls = Arc::new(AtomicUsize::new(0));
        let first = cache.get(key(450_203_100_000), counting(&calls)).await.unwrap();
        let again = cache.get(key(450_203_100_000), counting(&calls)).await.unwrap();
        assert_eq!((first.dashboard.total.households, again.dashboard.total.households), (1, 1));
        // another region is another entry
        assert_eq!(cache.get(key(450_203_000_000), counting(&calls)).await.unwrap().dashboard.total.households, 2);
        // a change through this process: the next read recomputes, at once
        cache.invalidate();
        assert_eq!(cache.get(key(450_203_100_000), counting(&calls)).await.unwrap().dashboard.total.households, 3);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn stale_figures_are_served_while_one_task_refreshes_and_never_when_too_old() {
        let calls = Arc::new(AtomicUsize::new(0));
        let (cache, k) = stale(&calls).await;
        // past the freshness time: the old figures now, one refresh behind them
        let (a, b) = tokio::join!(cache.get(k, counting(&calls)), cache.get(k, counting(&calls)));
        assert_eq!((a.unwrap().dashboard.total.households, b.unwrap().dashboard.total.households), (1, 1));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2, "one refresh for two stale reads");
        assert_eq!(cache.get(k, counting(&calls)).await.unwrap().dashboard.total.households, 2);
        // unread for longer than four times the freshness time: recomputed before it is served
        tokio::time::advance(Duration::from_secs(21)).await;
        assert_eq!(cache.get(k, counting(&calls)).await.unwrap().dashboard.total.households, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn stopping_cancels_the_refreshes_under_way() {
        let (cache, k) = stale(&Arc::new(AtomicUsize::new(0))).await;
        // a refresh that would take an hour, and says when it starts, ends or is dropped
        let (started, finished) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let dropped = Arc::new(AtomicBool::new(false));
        struct OnDrop(Arc<AtomicBool>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let slow = {
            let (started, finished, dropped) = (Arc::clone(&started), Arc::clone(&finished), Arc::clone(&dropped));
            move || -> Computed {
                let (finished, guard) = (Arc::clone(&finished), OnDrop(Arc::clone(&dropped)));
                started.fetch_add(1, Ordering::SeqCst);
                Box::pin(async move {
                    let _guard = guard;
                    tokio::time::sleep(Duration::from_secs(3_600)).await;
                    finished.fetch_add(1, Ordering::SeqCst);
                    Ok((dashboard(99), DateTime::<Utc>::default()))
                })
            }
        };
        assert_eq!(cache.get(k, slow).await.unwrap().dashboard.total.households, 1, "the stale figures, at once");
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(started.load(Ordering::SeqCst), 1, "the refresh runs behind the read");
        cache.stop_refreshes().await;
        assert!(dropped.load(Ordering::SeqCst), "stopped: the refresh's computation is dropped");
        tokio::time::advance(Duration::from_secs(7_200)).await;
        assert_eq!(finished.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refresh_stopped_before_it_ran_does_not_block_the_next() {
        let calls = Arc::new(AtomicUsize::new(0));
        let (cache, k) = stale(&calls).await;
        // stale: a refresh is spawned, and stopped before it is ever polled
        assert_eq!(cache.get(k, counting(&calls)).await.unwrap().dashboard.total.households, 1);
        cache.stop_refreshes().await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "the stopped refresh never computed");
        // still within the stale window: the next read serves the old figures and refreshes behind
        assert_eq!(cache.get(k, counting(&calls)).await.unwrap().dashboard.total.households, 1);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2, "a new refresh ran");
        assert_eq!(cache.get(k, counting(&calls)).await.unwrap().dashboard.total.households, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_or_overtaken_refresh_does_not_stick() {
        let calls = Arc::new(AtomicUsize::new(0));
        let (cache, k) = stale(&calls).await;
        // the background refresh fails: the stale figures stay, and the next stale read tries again
        let failing = || async { Err::<(Dashboard, DateTime<Utc>), _>(EditError::NotFound) };
        assert_eq!(cache.get(k, failing).await.unwrap().dashboard.total.households, 1);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(cache.get(k, counting(&calls)).await.unwrap().dashboard.total.households, 1);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2, "refreshed on the second try");
        // a local change while a refresh runs: its figures are stale on arrival, the next read recomputes
        tokio::time::advance(Duration::from_secs(6)).await;
        let c2 = Arc::clone(&cache);
        let inner = counting(&calls);
        let changed_meanwhile = move || {
            let (fut, c2) = (inner(), Arc::clone(&c2));
            async move {
                c2.invalidate();
                fut.await
            }
        };
        cache.get(k, changed_meanwhile).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(cache.get(k, counting(&calls)).await.unwrap().dashboard.total.households, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_change_recomputes_the_dashboards_above_and_below_its_region_only() {
        let cache = Arc::new(DashboardCache::new(Duration::from_secs(5)));
        let calls = Arc::new(AtomicUsize::new(0));
        // 雒容镇, its village 大正村, their county, and another town of the county
        let (town, village, county, other) = (450_203_100_000, 450_203_100_201, 450_203_000_000, 450_203_101_000);
        for r in [town, village, county, other] {
            cache.get(key(r), counting(&calls)).await.unwrap();
        }
        let n = |cache: &Arc<DashboardCache>, r: u64, calls: &Arc<AtomicUsize>| {
            let (cache, calls) = (Arc::clone(cache), Arc::clone(calls));
            async move { cache.get(key(r), counting(&calls)).await.unwrap().dashboard.total.households }
        };
        // a village cadre of 大正村 writes: the village, its town and county recompute, not the other town
        cache.invalidate_within(RegionCode::from_u64(village));
        assert_eq!(n(&cache, other, &calls).await, 4);
        assert_eq!(n(&cache, village, &calls).await, 5);
        assert_eq!(n(&cache, town, &calls).await, 6);
        assert_eq!(n(&cache, county, &calls).await, 7);
        // the town's office writes: its village too; a writer of unknown region: everything
        cache.invalidate_within(RegionCode::from_u64(town));
        assert_eq!(n(&cache, village, &calls).await, 8);
        assert_eq!(n(&cache, other, &calls).await, 4);
        cache.invalidate();
        assert_eq!(n(&cache, other, &calls).await, 9);
        // more changes elsewhere than are remembered: figures read before them are recomputed
        for _ in 0..=CHANGES_KEPT {
            cache.invalidate_within(RegionCode::from_u64(village));
        }
        assert_eq!(n(&cache, other, &calls).await, 10);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_readers_of_a_missing_dashboard_compute_it_once() {
        let cache = Arc::new(DashboardCache::new(Duration::from_secs(5)));
        let calls = Arc::new(AtomicUsize::new(0));
        let k = key(450_203_100_000);
        let mut reads = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (cache, compute) = (Arc::clone(&cache), counting(&calls));
            reads.spawn(async move { cache.get(k, compute).await.map(|c| c.dashboard.total.households) });
        }
        while let Some(got) = reads.join_next().await {
            assert_eq!(got.unwrap().unwrap(), 1);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn readers_waiting_on_a_failed_computation_share_its_error() {
        let cache = Arc::new(DashboardCache::new(Duration::from_secs(5)));
        let calls = Arc::new(AtomicUsize::new(0));
        let k = key(450_203_100_000);
        let failing = {
            let calls = Arc::clone(&calls);
            move || {
                calls.fetch_add(1, Ordering::SeqCst);
                async {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    Err::<(Dashboard, DateTime<Utc>), _>(EditError::Store(domain::ports::StoreError::Database(
                        "连接已断开".into(),
                    )))
                }
            }
        };
        let mut reads = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (cache, compute) = (Arc::clone(&cache), failing.clone());
            reads.spawn(async move { cache.get(k, compute).await.map(|_| ()) });
        }
        while let Some(got) = reads.join_next().await {
            let e = got.unwrap().unwrap_err();
            assert!(
                matches!(&e, EditError::Store(domain::ports::StoreError::Database(d)) if d == "连接已断开"),
                "{e:?}"
            );
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one failed computation, not one per waiting reader");
        // the failure is not kept: the next reader tries again
        assert_eq!(cache.get(k, counting(&calls)).await.unwrap().dashboard.total.households, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_cache_keeps_the_dashboards_being_computed() {
        let cache = Arc::new(DashboardCache::new(Duration::from_secs(5)));
        let calls = Arc::new(AtomicUsize::new(0));
        let slow = key(450_203_100_000);
        let (c2, compute) = (Arc::clone(&cache), counting(&calls));
        let reading = tokio::spawn(async move { c2.get(slow, compute).await.unwrap() });
        tokio::task::yield_now().await;
        // fill the cache to its limit while the first dashboard is still being computed
        for i in 0..MAX_ENTRIES as u64 {
            cache.slot(key(450_203_100_201 + i * 1_000_000));
        }
        reading.await.unwrap();
        assert_eq!(cache.get(slow, counting(&calls)).await.unwrap().dashboard.total.households, 1);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "its result was kept");
    }

    #[tokio::test(start_paused = true)]
    async fn a_change_during_a_computation_leaves_its_figures_stale() {
        let cache = Arc::new(DashboardCache::new(Duration::from_secs(5)));
        let calls = Arc::new(AtomicUsize::new(0));
        let k = key(450_203_100_000);
        let c2 = Arc::clone(&cache);
        let counting_then_change = {
            let inner = counting(&calls);
            move || {
                let fut = inner();
                let c2 = Arc::clone(&c2);
                async move {
                    let out = fut.await;
                    // a write commits (and is announced) while the figures are being read
                    c2.invalidate();
                    out
                }
            }
        };
        cache.get(k, counting_then_change).await.unwrap();
        assert_eq!(cache.get(k, counting(&calls)).await.unwrap().dashboard.total.households, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn errors_are_not_kept_and_zero_seconds_turns_the_cache_off() {
        let cache = Arc::new(DashboardCache::new(Duration::from_secs(5)));
        let k = key(450_203_100_000);
        let failing = || async { Err::<(Dashboard, DateTime<Utc>), _>(EditError::NotFound) };
        assert!(matches!(cache.get(k, failing).await, Err(EditError::NotFound)));
        let calls = Arc::new(AtomicUsize::new(0));
        assert_eq!(cache.get(k, counting(&calls)).await.unwrap().dashboard.total.households, 1);

        let off = Arc::new(DashboardCache::new(Duration::ZERO));
        off.get(k, counting(&calls)).await.unwrap();
        off.get(k, counting(&calls)).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(off.len(), 0);
    }
}
