//! Group commit of audit entries written on their own (a sensitive view, an export, a failed
//! login).
//!
//! Each such entry was one write transaction: on SQLite one fsync of the WAL, on PostgreSQL one
//! turn of the audit chain's lock. Sixty-four 镇专项办 reading households at once then queued
//! behind each other's commits (docs/bench-history.md, W5). Now the entries of the callers that
//! arrive while a batch is being written go into the next batch, one transaction for all of them,
//! in the order they arrived. A caller still returns only once its entries are committed: a view is
//! never shown unaudited. The other way round can happen: a request dropped after its entry was
//! queued (the user closed the page) still has its view recorded.
//!
//! The writing task runs on the runtime of the first caller; a store used again after that
//! runtime has ended (tests run one runtime each) starts a new task. (A store shared by two
//! runtimes that are both alive waits on the first one's task: fangpin runs one runtime per
//! process.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use domain::audit::AuditEntry;
use domain::ports::StoreError;
use tokio::sync::{mpsc, oneshot};

use crate::Pools;

/// At most this many callers' entries in one transaction.
const MAX_CALLERS: usize = 256;

struct Job {
    entries: Vec<AuditEntry>,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The queue in front of the writing task.
#[derive(Default)]
pub(crate) struct AuditBatcher {
    tx: Mutex<Option<mpsc::UnboundedSender<Job>>>,
    /// Transactions the writing tasks have begun, for the test that callers share them.
    transactions: Arc<AtomicU64>,
}

impl AuditBatcher {
    /// Appends `entries` in one batch with whatever other callers are appending; returns once
    /// they are committed.
    pub(crate) async fn append(&self, pools: &Arc<Pools>, entries: &[AuditEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let (done, answer) = oneshot::channel();
        let mut job = Job { entries: entries.to_vec(), done };
        // twice at most: a task whose runtime has ended is replaced once
        for _ in 0..2 {
            let tx = self.sender(pools);
            match tx.send(job) {
                Ok(()) => {
                    return answer.await.unwrap_or_else(|_| Err(lost()));
                }
                Err(mpsc::error::SendError(j)) => {
                    job = j;
                    let mut slot = self.tx.lock().unwrap_or_else(|p| p.into_inner());
                    if slot.as_ref().is_some_and(|s| s.same_channel(&tx)) {
                        *slot = None;
                    }
                }
            }
        }
        Err(lost())
    }

    #[cfg(feature = "testing")]
    pub(crate) fn transactions(&self) -> u64 {
        self.transactions.load(Ordering::Relaxed)
    }

    fn sender(&self, pools: &Arc<Pools>) -> mpsc::UnboundedSender<Job> {
        let mut slot = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        match &*slot {
            Some(tx) if !tx.is_closed() => tx.clone(),
            _ => {
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(write_batches(Arc::clone(pools), rx, Arc::clone(&self.transactions)));
                *slot = Some(tx.clone());
                tx
            }
        }
    }
}

fn lost() -> StoreError {
    StoreError::Database("审计日志写入中断，请重试".into())
}

/// Writes what has queued up in one transaction, then the next batch, until the store is dropped.
async fn write_batches(pools: Arc<Pools>, mut rx: mpsc::UnboundedReceiver<Job>, transactions: Arc<AtomicU64>) {
    let mut jobs = Vec::new();
    while rx.recv_many(&mut jobs, MAX_CALLERS).await > 0 {
        let all: Vec<AuditEntry> = jobs.iter().flat_map(|j| j.entries.iter().cloned()).collect();
        transactions.fetch_add(1, Ordering::Relaxed);
        match write(&pools, &all).await {
            Ok(()) => {
                for j in jobs.drain(..) {
                    let _ = j.done.send(Ok(()));
                }
            }
            // the database refused a row: one caller's entries may be at fault, not the others'
            Err(e) if jobs.len() > 1 && refused(&e) => {
                for j in jobs.drain(..) {
                    let res = write(&pools, &j.entries).await.map_err(crate::db_err);
                    let _ = j.done.send(res);
                }
            }
            // unreachable, timed out, locked, closed: the same for everyone, and not retried (each
            // retry would wait out the pool's or SQLite's busy timeout again)
            Err(e) => {
                // logged once, answered to every caller
                let detail = e.to_string();
                let _ = crate::db_err(e);
                for j in jobs.drain(..) {
                    let _ = j.done.send(Err(StoreError::Database(detail.clone())));
                }
            }
        }
    }
}

/// Whether the database refused the rows themselves (a constraint, a value it cannot store, such
/// as a NUL in text on PostgreSQL) rather than failing as a whole (busy, read-only, shutting down).
fn refused(e: &sqlx::Error) -> bool {
    use sqlx::error::ErrorKind;
    let Some(d) = e.as_database_error() else { return false };
    let data_exception = d
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some_and(|pg| pg.code().starts_with("22") || pg.code().starts_with("23"));
    data_exception || !matches!(d.kind(), ErrorKind::Other)
}

async fn write(pools: &Pools, entries: &[AuditEntry]) -> Result<(), sqlx::Error> {
    match pools {
        Pools::Sqlite { writer, .. } => crate::sqlite::append_audit(writer, entries).await,
        Pools::Postgres(pool) => crate::pg::append_audit(pool, entries).await,
    }
}
