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
//! - Each household is kept packed ([`packed`]: a few hundred bytes instead of the 2.2–2.4 KB of
//!   an owned [`HouseholdDetail`]) and unpacked when the rules or a reader need it, so that a
//!   province's 10 M households fit in memory.
//!
//! The database stays the system of record; the snapshot is a cache that can always be rebuilt.

mod arena;
mod fx;
pub mod packed;
mod rollup;

use domain::ports::{HouseholdDetail, HouseholdFilter, HouseholdFindings, HouseholdStore, StoreError};
use domain::rules::{Context, Finding, RuleError, evaluate};
use domain::{HouseholdId, RegionCode, Scope};

use arena::{Arena, RowMap};
pub use fx::FxBuild;
pub use packed::PackError;
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

    fn reserve(&mut self, n: usize) {
        self.village.reserve_exact(n);
        self.members.reserve_exact(n);
        self.kind.reserve_exact(n);
        self.status.reserve_exact(n);
        self.category.reserve_exact(n);
        self.findings.reserve_exact(n);
    }

    fn heap_bytes(&self) -> usize {
        self.village.capacity() * size_of::<RegionCode>()
            + self.members.capacity() * size_of::<u32>()
            + self.kind.capacity()
            + self.status.capacity()
            + self.category.capacity()
            + self.findings.capacity()
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
    /// The findings of each household that has any, in snapshot order (at a province's scale,
    /// a list that also held the ~88% without any took ~800 MiB more while a pass ran).
    pub results: Vec<HouseholdFindings>,
}

impl ScreenPass {
    pub fn findings(&self) -> usize {
        self.results.iter().map(|r| r.findings.len()).sum()
    }
}

/// Why the snapshot could not screen, keep or load a household.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("household #{}: {error}", household_id.0)]
    Rule { household_id: HouseholdId, error: RuleError },
    /// A household the packed form could not carry, or bytes that do not read back (a bug).
    #[error(transparent)]
    Pack(#[from] PackError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The resident registry.
#[derive(Debug, Default)]
pub struct Snapshot {
    columns: Columns,
    /// Each household [`packed::pack`]ed, by row.
    packed: Arena,
    rows: RowMap,
    rollup: Rollup,
}

impl Snapshot {
    /// Loads every household of the scope from the store, `batch` households per query, packing
    /// each page as it arrives (only one page is ever held unpacked).
    pub async fn load<S: HouseholdStore>(
        store: &S,
        scope: &Scope,
        batch: u32,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<Snapshot, EngineError> {
        let filter = HouseholdFilter::default();
        // sized once from the count, with room for households added later: vectors that double
        // as they fill leave the copies they outgrew with the allocator, which at 10 M
        // households kept hundreds of MiB resident
        let total = usize::try_from(store.list_households(scope, &filter, None, 1).await?.total).unwrap_or(0);
        let mut s = Snapshot::default();
        s.reserve(total);
        let mut ids = Vec::with_capacity(total);
        let mut after = None;
        loop {
            let (page, next) = store.export_batch(scope, &filter, after.as_ref(), batch.max(1)).await?;
            let empty = page.is_empty();
            for d in &page {
                s.append(d, &mut ids)?;
            }
            progress(s.len());
            match next {
                Some(c) if !empty => after = Some(c),
                _ => break,
            }
        }
        s.rows = RowMap::build(&ids);
        s.rebuild_rollup();
        Ok(s)
    }

    /// A snapshot of these households, not yet screened (no findings in the roll-ups).
    pub fn from_details(details: &[HouseholdDetail]) -> Result<Snapshot, EngineError> {
        let mut s = Snapshot::default();
        s.reserve(details.len());
        let mut ids = Vec::with_capacity(details.len());
        for d in details {
            s.append(d, &mut ids)?;
        }
        s.rows = RowMap::build(&ids);
        s.rebuild_rollup();
        Ok(s)
    }

    /// Adds a household not yet in the snapshot (the roll-ups are the caller's to update).
    fn push(&mut self, d: &HouseholdDetail, key: RowKey) -> Result<(), EngineError> {
        let row = self.add_row(d, key)?;
        self.rows.insert(d.record.id.0, row, self.packed.len());
        Ok(())
    }

    /// Adds a household of a load, its ID to `ids` (the row map is built once all are in:
    /// they come in village order, not ID order, so only then is it known whether the IDs are
    /// dense).
    fn append(&mut self, d: &HouseholdDetail, ids: &mut Vec<i64>) -> Result<(), EngineError> {
        self.add_row(d, RowKey::of(d, &[]))?;
        ids.push(d.record.id.0);
        Ok(())
    }

    /// Packs the household into the next row and its columns; the row map is the caller's.
    fn add_row(&mut self, d: &HouseholdDetail, key: RowKey) -> Result<u32, EngineError> {
        let bytes = packed::pack(d)?;
        let row = arena::len32(self.packed.len());
        self.packed.push(&bytes);
        self.columns.push(key);
        Ok(row)
    }

    /// Room for the households of a load and some added after it.
    fn reserve(&mut self, households: usize) {
        let n = households + arena::headroom(households);
        self.packed.reserve(n);
        self.columns.reserve(n);
    }

    pub fn len(&self) -> usize {
        self.packed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.packed.len() == 0
    }

    pub fn contains(&self, id: HouseholdId) -> bool {
        self.rows.get(id.0).is_some()
    }

    /// The household with this ID, unpacked.
    pub fn household(&self, id: HouseholdId) -> Option<Result<HouseholdDetail, PackError>> {
        self.rows.get(id.0).map(|r| packed::unpack(self.packed.get(r as usize)))
    }

    /// Bytes of the packed households themselves (without the blocks' free tails, garbage,
    /// the row map or the roll-up columns).
    pub fn packed_bytes(&self) -> usize {
        self.packed.live()
    }

    /// Memory the snapshot holds, by the capacities of its vectors and maps: the packed
    /// households' blocks and slots, the row map, the roll-up columns and the roll-ups
    /// (estimated per entry).
    pub fn heap_bytes(&self) -> usize {
        self.packed.heap_bytes() + self.rows.heap_bytes() + self.columns.heap_bytes() + self.rollup.heap_bytes()
    }

    /// The full screening pass: every household unpacked and through the rules, on `threads`
    /// threads (the cores available when 0). Nothing changes in the snapshot; see
    /// [`Snapshot::apply`].
    pub fn screen(&self, ctx: &Context, threads: usize) -> Result<ScreenPass, EngineError> {
        let threads = if threads == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { threads };
        let parts: Vec<Result<Vec<HouseholdFindings>, EngineError>> = std::thread::scope(|s| {
            let handles: Vec<_> = self
                .packed
                .runs(threads)
                .into_iter()
                .map(|part| {
                    s.spawn(move || {
                        let mut scratch = packed::Scratch::default();
                        let mut out = Vec::new();
                        for row in part {
                            packed::unpack_into(self.packed.get(row), &mut scratch)?;
                            let r = screen_one(&scratch.detail, ctx)?;
                            if !r.findings.is_empty() {
                                out.push(r);
                            }
                        }
                        Ok(out)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("a screening thread panicked")).collect()
        });
        let parts = parts.into_iter().collect::<Result<Vec<_>, _>>()?;
        let mut results = Vec::with_capacity(parts.iter().map(Vec::len).sum());
        for p in parts {
            results.extend(p);
        }
        Ok(ScreenPass { households: self.packed.len(), results })
    }

    /// Records a pass's findings in the roll-up columns and the maintained roll-ups: the
    /// households it screened and did not list have none.
    pub fn apply(&mut self, pass: &ScreenPass) {
        let screened = pass.households.min(self.columns.findings.len());
        self.columns.findings[..screened].fill(0);
        for r in &pass.results {
            if let Some(row) = self.rows.get(r.household_id.0) {
                self.columns.findings[row as usize] = finding_bits(&r.findings);
            }
        }
        self.rebuild_rollup();
    }

    /// A household was saved: replace it, screen it again, and move its contribution in the
    /// roll-ups of its village and every region above. Returns its findings.
    pub fn upsert(&mut self, detail: &HouseholdDetail, ctx: &Context) -> Result<Vec<Finding>, EngineError> {
        let findings = screen_one(detail, ctx)?.findings;
        let key = RowKey::of(detail, &findings);
        match self.rows.get(detail.record.id.0) {
            Some(row) => {
                let row = row as usize;
                self.packed.replace(row, &packed::pack(detail)?);
                self.rollup.remove(self.columns.key(row));
                self.columns.set(row, key);
            }
            None => self.push(detail, key)?,
        }
        self.rollup.add(key);
        Ok(findings)
    }

    /// Recomputes the roll-ups from the columns (the cold path).
    pub fn rebuild_rollup(&mut self) {
        self.rollup = Rollup::build((0..self.packed.len()).map(|r| self.columns.key(r)));
    }

    pub fn rollup(&self) -> &Rollup {
        &self.rollup
    }
}

fn screen_one(d: &HouseholdDetail, ctx: &Context) -> Result<HouseholdFindings, EngineError> {
    let findings = evaluate(d, ctx).map_err(|error| EngineError::Rule { household_id: d.record.id, error })?;
    Ok(HouseholdFindings { household_id: d.record.id, village: d.record.household.village, findings })
}

#[cfg(test)]
mod tests;
