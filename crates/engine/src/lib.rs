//! The registry resident in memory (BENCHMARKS.md design hint 3): a snapshot loaded once from the
//! store, then kept current on every write, over which the full screening pass and the dashboard
//! roll-ups run without touching the database.
//!
//! - The household columns the roll-ups read are kept as structs of arrays (integer keys, region
//!   codes as integers, codes as bytes), so a cold roll-up is a scan over a few small vectors.
//! - The screening pass calls [`domain::rules::evaluate`] on each household — the same function
//!   that screens one household after a save: there is no second implementation of the rules.
//!   It runs on every core ([`Snapshot::screen`]).
//! - The roll-ups are *maintained*: [`Snapshot::upsert`] re-screens the changed household and moves
//!   its contribution in every ancestor region, so a dashboard read is a map lookup (W4, W7).
//!
//! The database stays the system of record; the snapshot is a cache that can always be rebuilt.

mod fx;
mod rollup;

use std::collections::HashMap;

use domain::ports::{HouseholdDetail, HouseholdFilter, HouseholdFindings, HouseholdStore, StoreResult};
use domain::rules::{Context, Finding, RuleError, evaluate};
use domain::{HouseholdId, RegionCode, Scope};

pub use fx::FxBuild;
pub use rollup::{Counts, Rollup};

/// One household's row in the roll-up columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowKey {
    pub village: RegionCode,
    pub members: u32,
    /// [`domain::codes::HouseholdKind::code`]
    pub kind: u8,
    /// [`domain::household::MonitoringStatus::code`]
    pub status: u8,
    /// [`domain::codes::MonitoringCategory::code`], 0 when never monitored
    pub category: u8,
    /// Bit `code - 1` set for each [`domain::rules::FindingCode`] the last screening found.
    pub findings: u8,
}

impl RowKey {
    fn of(d: &HouseholdDetail, findings: &[Finding]) -> RowKey {
        let h = &d.record.household;
        RowKey {
            village: h.village,
            members: d.members.len() as u32,
            kind: h.kind.code() as u8,
            status: h.monitoring.status().code() as u8,
            category: h.monitoring.category().map_or(0, |c| c.code() as u8),
            findings: finding_bits(findings),
        }
    }
}

fn finding_bits(findings: &[Finding]) -> u8 {
    findings.iter().fold(0u8, |bits, f| bits | 1 << (f.code.code() - 1))
}

/// The roll-up columns, one entry per household, as structs of arrays.
#[derive(Debug, Default)]
struct Columns {
    village: Vec<RegionCode>,
    members: Vec<u32>,
    kind: Vec<u8>,
    status: Vec<u8>,
    category: Vec<u8>,
    findings: Vec<u8>,
}

impl Columns {
    fn push(&mut self, k: RowKey) {
        self.village.push(k.village);
        self.members.push(k.members);
        self.kind.push(k.kind);
        self.status.push(k.status);
        self.category.push(k.category);
        self.findings.push(k.findings);
    }

    fn set(&mut self, row: usize, k: RowKey) {
        self.village[row] = k.village;
        self.members[row] = k.members;
        self.kind[row] = k.kind;
        self.status[row] = k.status;
        self.category[row] = k.category;
        self.findings[row] = k.findings;
    }

    fn key(&self, row: usize) -> RowKey {
        RowKey {
            village: self.village[row],
            members: self.members[row],
            kind: self.kind[row],
            status: self.status[row],
            category: self.category[row],
            findings: self.findings[row],
        }
    }
}

/// What a full screening pass over the snapshot found.
#[derive(Debug, Default)]
pub struct ScreenPass {
    pub households: usize,
    /// Every household's findings (households without findings included, with none), in
    /// snapshot order.
    pub results: Vec<HouseholdFindings>,
}

impl ScreenPass {
    pub fn findings(&self) -> usize {
        self.results.iter().map(|r| r.findings.len()).sum()
    }
}

/// Why a household could not be screened.
#[derive(Debug, thiserror::Error)]
#[error("household #{}: {error}", household_id.0)]
pub struct ScreenFailure {
    pub household_id: HouseholdId,
    pub error: RuleError,
}

/// The resident registry.
#[derive(Debug, Default)]
pub struct Snapshot {
    columns: Columns,
    details: Vec<HouseholdDetail>,
    rows: HashMap<i64, u32, FxBuild>,
    rollup: Rollup,
}

impl Snapshot {
    /// Loads every household of the scope from the store, `batch` households per query.
    pub async fn load<S: HouseholdStore>(
        store: &S,
        scope: &Scope,
        batch: u32,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> StoreResult<Snapshot> {
        let filter = HouseholdFilter::default();
        let mut details = Vec::new();
        let mut after = None;
        loop {
            let (page, next) = store.export_batch(scope, &filter, after.as_ref(), batch.max(1)).await?;
            let empty = page.is_empty();
            details.extend(page);
            progress(details.len());
            match next {
                Some(c) if !empty => after = Some(c),
                _ => break,
            }
        }
        Ok(Snapshot::from_details(details))
    }

    /// A snapshot of these households, not yet screened (no findings in the roll-ups).
    pub fn from_details(details: Vec<HouseholdDetail>) -> Snapshot {
        let mut s = Snapshot {
            columns: Columns::default(),
            rows: HashMap::with_capacity_and_hasher(details.len(), FxBuild),
            details: Vec::with_capacity(details.len()),
            rollup: Rollup::default(),
        };
        for d in details {
            let row = s.details.len() as u32;
            s.rows.insert(d.record.id.0, row);
            s.columns.push(RowKey::of(&d, &[]));
            s.details.push(d);
        }
        s.rebuild_rollup();
        s
    }

    pub fn len(&self) -> usize {
        self.details.len()
    }

    pub fn is_empty(&self) -> bool {
        self.details.is_empty()
    }

    pub fn household(&self, id: HouseholdId) -> Option<&HouseholdDetail> {
        self.rows.get(&id.0).map(|&r| &self.details[r as usize])
    }

    /// The full screening pass: every household through the rules, on `threads` threads (the
    /// cores available when 0). Nothing changes in the snapshot; see [`Snapshot::apply`].
    pub fn screen(&self, ctx: &Context, threads: usize) -> Result<ScreenPass, ScreenFailure> {
        let threads = if threads == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { threads };
        let chunk = self.details.len().div_ceil(threads.max(1)).max(1);
        let parts: Vec<Result<Vec<HouseholdFindings>, ScreenFailure>> = std::thread::scope(|s| {
            let handles: Vec<_> = self
                .details
                .chunks(chunk)
                .map(|part| s.spawn(move || part.iter().map(|d| screen_one(d, ctx)).collect()))
                .collect();
            handles.into_iter().map(|h| h.join().expect("a screening thread panicked")).collect()
        });
        let mut results = Vec::with_capacity(self.details.len());
        for p in parts {
            results.extend(p?);
        }
        Ok(ScreenPass { households: self.details.len(), results })
    }

    /// Records a pass's findings in the roll-up columns and the maintained roll-ups.
    pub fn apply(&mut self, pass: &ScreenPass) {
        for r in &pass.results {
            if let Some(&row) = self.rows.get(&r.household_id.0) {
                self.columns.findings[row as usize] = finding_bits(&r.findings);
            }
        }
        self.rebuild_rollup();
    }

    /// A household was saved: replace it, screen it again, and move its contribution in the
    /// roll-ups of its village and every region above. Returns its findings.
    pub fn upsert(&mut self, detail: HouseholdDetail, ctx: &Context) -> Result<Vec<Finding>, ScreenFailure> {
        let findings = screen_one(&detail, ctx)?.findings;
        let key = RowKey::of(&detail, &findings);
        match self.rows.get(&detail.record.id.0) {
            Some(&row) => {
                let row = row as usize;
                let old = self.columns.key(row);
                self.rollup.remove(old);
                self.columns.set(row, key);
                self.details[row] = detail;
            }
            None => {
                let row = self.details.len() as u32;
                self.rows.insert(detail.record.id.0, row);
                self.columns.push(key);
                self.details.push(detail);
            }
        }
        self.rollup.add(key);
        Ok(findings)
    }

    /// Recomputes the roll-ups from the columns (the cold path).
    pub fn rebuild_rollup(&mut self) {
        self.rollup = Rollup::build((0..self.details.len()).map(|r| self.columns.key(r)));
    }

    pub fn rollup(&self) -> &Rollup {
        &self.rollup
    }
}

fn screen_one(d: &HouseholdDetail, ctx: &Context) -> Result<HouseholdFindings, ScreenFailure> {
    let findings = evaluate(d, ctx).map_err(|error| ScreenFailure { household_id: d.record.id, error })?;
    Ok(HouseholdFindings { household_id: d.record.id, village: d.record.household.village, findings })
}

#[cfg(test)]
mod tests;
