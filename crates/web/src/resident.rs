//! The registry resident in this process ([`engine::Snapshot`]), for the full screening a user
//! starts from the findings page (`/findings/screen`).
//!
//! - Loaded the first time it is needed (or when `serve` starts, if configured): a town takes
//!   well under a second, a county seconds, a province minutes and ≈ 3.6 GiB (BENCHMARKS.md).
//! - Brought up to date before every use by comparing each household's version with the one it
//!   holds ([`engine::Snapshot::sync`]) and reading again only those that moved: a save through
//!   this process, another `serve`, an import or the command line are all caught the same way,
//!   so no write path has to remember to tell it, and two processes never disagree about what
//!   a screening saw.
//! - One full screening at a time in a process ([`Resident::begin`]): two would write the same
//!   households' findings at once and share the core left to the site.
//! - The database stays the system of record: a snapshot lost with the process costs a load.

use std::sync::Arc;

use engine::{EngineError, Snapshot, Synced};
use store::Db;
use tokio::sync::{Mutex, OwnedMutexGuard, OwnedRwLockReadGuard, RwLock};

/// Households read per query while loading.
const LOAD_BATCH: u32 = 2_000;

/// What a resident snapshot is doing, for a job's progress bar: the stage, then done of total
/// (0 when not known).
pub type Progress<'a> = &'a (dyn Fn(&'static str, usize, usize) + Send + Sync);

#[derive(Default)]
pub struct Resident {
    snapshot: Arc<RwLock<Option<Snapshot>>>,
    /// One load or sync at a time.
    refreshing: Mutex<()>,
    /// Held by the full screening under way until it has written its results.
    screening: Arc<Mutex<()>>,
    /// Its job's ID.
    running: Arc<std::sync::Mutex<Option<String>>>,
}

/// The right to run the one full screening of this process; released when dropped.
pub struct Turn {
    _held: OwnedMutexGuard<()>,
    running: Arc<std::sync::Mutex<Option<String>>>,
}

impl Turn {
    /// Names the job that uses this turn (shown to whoever asks for another meanwhile).
    pub fn started(&self, job: &str) {
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) = Some(job.to_string());
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// How a snapshot was made current, for the job's report.
#[derive(Debug, Clone, Copy, Default)]
pub struct Refreshed {
    /// Households loaded (0 when it was already resident).
    pub loaded: usize,
    pub synced: Synced,
}

impl Resident {
    /// The right to run a full screening, or the job ID of the one already running (`None`
    /// while it has not named its job yet).
    pub fn begin(&self) -> Result<Turn, Option<String>> {
        match Arc::clone(&self.screening).try_lock_owned() {
            Ok(held) => Ok(Turn { _held: held, running: Arc::clone(&self.running) }),
            Err(_) => Err(self.running.lock().unwrap_or_else(|e| e.into_inner()).clone()),
        }
    }

    /// The snapshot, loaded if it is not yet and brought up to date with the store, held for
    /// reading (a later refresh waits until the guard is dropped).
    pub async fn current(
        &self,
        db: &Db,
        progress: Progress<'_>,
    ) -> Result<(OwnedRwLockReadGuard<Option<Snapshot>>, Refreshed), EngineError> {
        let _one = self.refreshing.lock().await;
        let mut held = Arc::clone(&self.snapshot).write_owned().await;
        let mut done = Refreshed::default();
        if held.is_none() {
            progress("载入常驻登记库", 0, 0);
            let s = Snapshot::load(db, LOAD_BATCH, &mut |n, total| progress("载入常驻登记库", n, total)).await?;
            done.loaded = s.len();
            *held = Some(s);
        }
        let s = held.as_mut().expect("loaded above");
        done.synced = s.sync(db, &mut |n, total| progress("核对其他途径的修改", n, total)).await?;
        Ok((held.downgrade(), done))
    }

    /// Forgets the snapshot (after a screening stopped by a bug, perhaps half way through a
    /// sync): the next one loads it afresh.
    pub async fn discard(&self) {
        *self.snapshot.write().await = None;
    }

    /// Loads the snapshot now if it is not (`serve` at start, when configured); errors are logged.
    pub async fn preload(&self, db: &Db) {
        let _one = self.refreshing.lock().await;
        let mut held = self.snapshot.write().await;
        if held.is_some() {
            return;
        }
        let started = std::time::Instant::now();
        match Snapshot::load(db, LOAD_BATCH, &mut |_, _| {}).await {
            Ok(s) => {
                tracing::info!(
                    households = s.len(),
                    seconds = started.elapsed().as_secs_f64(),
                    "resident registry loaded"
                );
                *held = Some(s);
            }
            Err(e) => {
                tracing::warn!(error = %e, "resident registry not loaded; it will be at the first full screening")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_full_screening_at_a_time_and_the_others_are_told_which() {
        let r = Resident::default();
        let turn = r.begin().expect("free");
        assert_eq!(r.begin().err(), Some(None), "taken, its job not named yet");
        turn.started("job1");
        assert_eq!(r.begin().err(), Some(Some("job1".to_string())));
        drop(turn);
        let again = r.begin().expect("free once the first is done");
        assert_eq!(r.begin().err(), Some(None), "the finished job is not named");
        drop(again);
    }
}
