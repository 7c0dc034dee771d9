//! Background jobs with progress (imports, full screenings): started by a request, watched by the page that
//! polls them. Kept in memory: the import itself is recorded in the database and the audit
//! log, so a restart loses only the progress bar.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::account::UserId;
use exchange::ImportReport;

#[derive(Debug, Clone)]
pub enum JobState {
    Running {
        done: usize,
        total: usize,
        stage: &'static str,
    },
    Finished {
        report: Box<ImportReport>,
        report_files: Vec<PathBuf>,
    },
    /// A department file (部门筛查预警).
    FinishedFeed {
        report: Box<crate::pages::alerts::FeedJobReport>,
    },
    /// A full screening (全面筛查) from the resident registry.
    FinishedScreening {
        report: Box<crate::pages::findings::ScreeningDone>,
    },
    Failed {
        message: String,
    },
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub owner: UserId,
    pub started: Instant,
    pub file_name: String,
    pub dry_run: bool,
    pub state: JobState,
}

#[derive(Default)]
pub struct Jobs {
    jobs: Mutex<HashMap<String, Arc<Mutex<Job>>>>,
}

impl Jobs {
    pub fn start(&self, owner: UserId, file_name: &str, dry_run: bool) -> Arc<Mutex<Job>> {
        let id = crate::auth::new_token()[..16].to_string();
        let job = Arc::new(Mutex::new(Job {
            id: id.clone(),
            owner,
            started: Instant::now(),
            file_name: file_name.to_string(),
            dry_run,
            state: JobState::Running { done: 0, total: 0, stage: "读取文件" },
        }));
        let mut m = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        prune(&mut m);
        m.insert(id, job.clone());
        job
    }

    /// The job, if it exists and belongs to `user` (others get nothing, as for a missing job).
    pub fn get(&self, id: &str, user: UserId) -> Option<Job> {
        let m = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let j = m.get(id)?.lock().unwrap_or_else(|e| e.into_inner()).clone();
        (j.owner == user).then_some(j)
    }
}

/// Finished jobs are kept for a day; then they and their report files (which quote ID numbers
/// from the upload) are removed.
const KEEP: Duration = Duration::from_secs(24 * 3600);

fn prune(m: &mut HashMap<String, Arc<Mutex<Job>>>) {
    m.retain(|_, j| {
        let j = j.lock().unwrap_or_else(|e| e.into_inner());
        let keep = matches!(j.state, JobState::Running { .. }) || j.started.elapsed() < KEEP;
        if !keep && let JobState::Finished { report_files, .. } = &j.state {
            for f in report_files {
                let _ = std::fs::remove_file(f);
            }
        }
        keep
    });
}

/// A running job's progress bar: at most 99% until it has finished.
pub fn percent(done: usize, total: usize) -> usize {
    (done * 100).checked_div(total).map_or(0, |p| p.min(99))
}

pub fn set_state(job: &Arc<Mutex<Job>>, state: JobState) {
    job.lock().unwrap_or_else(|e| e.into_inner()).state = state;
}
