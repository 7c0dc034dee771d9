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

use chrono::{DateTime, NaiveDate, Utc};
use domain::Actor;
use domain::ports::{
    FindingChanges, FindingStore, HouseholdDetail, HouseholdFilter, HouseholdFindings, HouseholdStore, ResidentSource,
    StoreError,
};
use domain::rules::{Context, Finding, RuleError, evaluate};
use domain::{HouseholdId, HouseholdNo, RegionCode, Scope};

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
    /// The snapshot's rows when the pass ran: those it screened are among them.
    pub households: usize,
    /// The region screened (`None`: every household).
    pub region: Option<RegionCode>,
    /// How many households of the region were screened.
    pub screened: usize,
    /// The findings of each household that has any, in snapshot order (at a province's scale,
    /// a list that also held the ~88% without any took ~800 MiB more while a pass ran).
    pub results: Vec<HouseholdFindings>,
    /// The version each household of `results` was screened at, in the same order: [`record`]
    /// skips a household saved since.
    pub versions: Vec<i64>,
    /// The households screened without a finding that are among those asked about
    /// ([`Snapshot::screen_within`]'s `open`: those with open findings, which recording must
    /// resolve), with the version each was screened at.
    pub clean: Vec<(HouseholdFindings, i64)>,
}

impl ScreenPass {
    pub fn findings(&self) -> usize {
        self.results.iter().map(|r| r.findings.len()).sum()
    }
}

/// Why the snapshot could not screen, keep or load a household.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("无法筛查户 {household_no}：{error}")]
    Rule { household_id: HouseholdId, household_no: HouseholdNo, error: RuleError },
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
    /// Each row's household version, so that [`Snapshot::sync`] reads again only the households
    /// whose version moved. Its low 32 bits: a version that moved by exactly 2^32 between two
    /// syncs is not a case.
    versions: Vec<u32>,
}

/// What [`Snapshot::sync`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Synced {
    /// Households whose version was compared.
    pub checked: usize,
    /// Households read again: changed since the snapshot last saw them, or new.
    pub reread: usize,
}

/// Versions compared per query while syncing, and households read again per query.
const VERSION_PAGE: u32 = 50_000;
const REREAD_BATCH: usize = 500;

/// A version as [`Snapshot`] keeps it (its low 32 bits; see `versions`).
fn version32(v: i64) -> u32 {
    v as u32
}

impl Snapshot {
    /// Loads every household from the store, by ID (pages of IDs, then `batch` households per
    /// query), packing each batch as it arrives (only one batch is ever held unpacked);
    /// `progress(loaded, total)`, the total from the store's count. By ID,
    /// not in list order: a household moved to another village while a load runs would be read
    /// twice by a cursor over (village, group, 户编号).
    pub async fn load<S: HouseholdStore + ResidentSource>(
        store: &S,
        batch: u32,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> Result<Snapshot, EngineError> {
        // sized once from the count, with room for households added later: vectors that double
        // as they fill leave the copies they outgrew with the allocator, which at 10 M
        // households kept hundreds of MiB resident
        let all = store.list_households(&Scope::system(), &HouseholdFilter::default(), None, 1).await?.total;
        let total = usize::try_from(all).unwrap_or(0);
        let mut s = Snapshot::default();
        s.reserve(total);
        let mut ids = Vec::with_capacity(total);
        let mut after = None;
        loop {
            let page = store.household_versions(after, VERSION_PAGE).await?;
            let Some(&(last, _)) = page.last() else { break };
            let wanted: Vec<HouseholdId> = page.iter().map(|(id, _)| *id).collect();
            for chunk in wanted.chunks(batch.max(1) as usize) {
                for d in &store.households_by_ids(chunk).await? {
                    s.append(d, &mut ids)?;
                }
                progress(s.len(), total.max(s.len()));
            }
            after = Some(last);
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
        self.versions.push(version32(d.record.version));
        Ok(row)
    }

    /// Room for the households of a load and some added after it.
    fn reserve(&mut self, households: usize) {
        let n = households + arena::headroom(households);
        self.packed.reserve(n);
        self.columns.reserve(n);
        self.versions.reserve_exact(n);
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
        self.packed.heap_bytes()
            + self.rows.heap_bytes()
            + self.columns.heap_bytes()
            + self.rollup.heap_bytes()
            + self.versions.capacity() * size_of::<u32>()
    }

    /// The full screening pass: every household unpacked and through the rules, on `threads`
    /// threads (the cores available when 0). Nothing changes in the snapshot; see
    /// [`Snapshot::apply`].
    pub fn screen(&self, ctx: &Context, threads: usize) -> Result<ScreenPass, EngineError> {
        self.pass(ctx, None, threads, None)
    }

    /// A screening pass over the households of `region` (every household when `None`) for
    /// [`record`]: with the version each household was screened at, and listing, among the
    /// households without a finding, those in `open` (the ones with open findings to resolve).
    pub fn screen_within(
        &self,
        ctx: &Context,
        region: Option<RegionCode>,
        threads: usize,
        open: &std::collections::HashSet<HouseholdId, FxBuild>,
    ) -> Result<ScreenPass, EngineError> {
        self.pass(ctx, region, threads, Some(open))
    }

    fn pass(
        &self,
        ctx: &Context,
        region: Option<RegionCode>,
        threads: usize,
        open: Option<&std::collections::HashSet<HouseholdId, FxBuild>>,
    ) -> Result<ScreenPass, EngineError> {
        let threads = if threads == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { threads };
        #[derive(Default)]
        struct Part {
            screened: usize,
            found: Vec<HouseholdFindings>,
            versions: Vec<i64>,
            clean: Vec<(HouseholdFindings, i64)>,
        }
        // a region's rows are found from the village column first (nothing unpacked) and then
        // shared out: rows are in ID order, so a county's sit together and would fall to one thread
        type Rows<'r> = Box<dyn Iterator<Item = usize> + Send + 'r>;
        let region_rows: Vec<u32> = match region {
            Some(region) => {
                (0..self.len()).filter(|&row| region.contains(self.columns.village[row])).map(arena::len32).collect()
            }
            None => Vec::new(),
        };
        let work: Vec<Rows> = match region {
            None => self.packed.runs(threads).into_iter().map(|r| Box::new(r) as Rows).collect(),
            Some(_) => {
                let per = region_rows.len().div_ceil(threads).max(1);
                region_rows.chunks(per).map(|c| Box::new(c.iter().map(|&r| r as usize)) as Rows).collect()
            }
        };
        let parts: Vec<Result<Part, EngineError>> = std::thread::scope(|s| {
            let handles: Vec<_> = work
                .into_iter()
                .map(|rows| {
                    s.spawn(move || {
                        let mut scratch = packed::Scratch::default();
                        let mut part = Part::default();
                        for row in rows {
                            packed::unpack_into(self.packed.get(row), &mut scratch)?;
                            let r = screen_one(&scratch.detail, ctx)?;
                            let version = scratch.detail.record.version;
                            part.screened += 1;
                            if !r.findings.is_empty() {
                                part.found.push(r);
                                part.versions.push(version);
                            } else if open.is_some_and(|o| o.contains(&r.household_id)) {
                                part.clean.push((r, version));
                            }
                        }
                        Ok(part)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("a screening thread panicked")).collect()
        });
        let parts = parts.into_iter().collect::<Result<Vec<_>, _>>()?;
        let mut pass = ScreenPass {
            households: self.packed.len(),
            region,
            screened: parts.iter().map(|p| p.screened).sum(),
            results: Vec::with_capacity(parts.iter().map(|p| p.found.len()).sum()),
            versions: Vec::with_capacity(parts.iter().map(|p| p.versions.len()).sum()),
            clean: Vec::with_capacity(parts.iter().map(|p| p.clean.len()).sum()),
        };
        for p in parts {
            pass.results.extend(p.found);
            pass.versions.extend(p.versions);
            pass.clean.extend(p.clean);
        }
        Ok(pass)
    }

    /// Records a pass's findings in the roll-up columns and the maintained roll-ups: the
    /// households it screened and did not list have none.
    pub fn apply(&mut self, pass: &ScreenPass) {
        let screened = pass.households.min(self.columns.findings.len());
        match pass.region {
            None => self.columns.findings[..screened].fill(0),
            Some(region) => {
                for (bits, village) in self.columns.findings[..screened].iter_mut().zip(&self.columns.village) {
                    if region.contains(*village) {
                        *bits = 0;
                    }
                }
            }
        }
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
        self.put(detail, finding_bits(&findings))?;
        Ok(findings)
    }

    /// Replaces (or adds) a household and moves its contribution in the roll-ups, with these
    /// findings' bits.
    fn put(&mut self, detail: &HouseholdDetail, findings: u8) -> Result<(), EngineError> {
        let key = RowKey { findings, ..RowKey::of(detail, &[]) };
        match self.rows.get(detail.record.id.0) {
            Some(row) => {
                let row = row as usize;
                self.packed.replace(row, &packed::pack(detail)?);
                self.rollup.remove(self.columns.key(row));
                self.columns.set(row, key);
                self.versions[row] = version32(detail.record.version);
            }
            None => self.push(detail, key)?,
        }
        self.rollup.add(key);
        Ok(())
    }

    /// Catches up with the store: compares every household's version with the one held and
    /// reads again and replaces those that moved or are new (writes of other processes, imports,
    /// the command line). Afterwards the snapshot holds what the store held when each page of
    /// versions was read. The rules are not run: a household anywhere that cannot be screened
    /// (a region without its parameters) must not stop the screening of another region; a
    /// replaced household keeps the findings it was last screened with in the roll-ups until a
    /// pass. `progress(done, total)`: versions compared, then households read again. A household
    /// removed from the store would stay (the store removes none).
    pub async fn sync<S: ResidentSource>(
        &mut self,
        store: &S,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> Result<Synced, EngineError> {
        let mut done = Synced::default();
        let mut stale = Vec::new();
        let mut after = None;
        loop {
            let page = store.household_versions(after, VERSION_PAGE).await?;
            let Some(&(last, _)) = page.last() else { break };
            for &(id, version) in &page {
                match self.rows.get(id.0) {
                    Some(row) if self.versions[row as usize] == version32(version) => {}
                    _ => stale.push(id),
                }
            }
            done.checked += page.len();
            progress(done.checked, self.len().max(done.checked));
            after = Some(last);
        }
        for ids in stale.chunks(REREAD_BATCH) {
            progress(done.reread, stale.len());
            for d in store.households_by_ids(ids).await? {
                let bits = self.rows.get(d.record.id.0).map_or(0, |row| self.columns.findings[row as usize]);
                self.put(&d, bits)?;
                done.reread += 1;
            }
        }
        Ok(done)
    }

    /// Recomputes the roll-ups from the columns (the cold path).
    pub fn rebuild_rollup(&mut self) {
        self.rollup = Rollup::build((0..self.packed.len()).map(|r| self.columns.key(r)));
    }

    pub fn rollup(&self) -> &Rollup {
        &self.rollup
    }
}

/// Threads for a pass run while people use the site: all cores but one, which is left to them
/// (BENCHMARKS.md W6).
pub fn background_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

/// Results written per transaction: each commits on its own, like a batch of `fangpin screen`.
const WRITE_BATCH: usize = 2_000;

/// What [`record`] wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct Recorded {
    pub run: i64,
    pub changes: FindingChanges,
    /// Findings written.
    pub findings: usize,
    /// Households saved between the pass and their write, screened again as saved.
    pub rescreened: usize,
    /// Households still being saved after that: left as they were, for the next screening. (A
    /// household gone from the store meanwhile would be in neither count; the store removes none.)
    pub skipped: usize,
}

/// Rounds of screening again the households saved while a pass was written.
const RESCREEN_ROUNDS: usize = 3;

/// Records a pass made with [`Snapshot::screen_within`] as a screening run, the way
/// [`domain::screening::screen`] records one read from the database: the run opened, the
/// findings of every household that has any recorded (new ones opened, those seen again
/// updated), the open findings of the others resolved, the run closed with its totals and
/// audited. A household whose version moved since the pass (saved meanwhile: a page, the API,
/// a procedure step, an import) is not written from the pass's older view — the check is
/// inside each batch's transaction ([`ResidentSource::record_findings_if_unchanged`]) — but read
/// again, screened with `ctx` and written as it now is, for a few rounds while saves keep
/// coming. `progress(done, total)` counts households written.
pub async fn record<S: FindingStore + ResidentSource>(
    store: &S,
    ctx: &Context<'_>,
    actor: &Actor,
    at: DateTime<Utc>,
    pass: &ScreenPass,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<Recorded, EngineError> {
    if pass.versions.len() != pass.results.len() {
        let why = format!("a pass with {} versions for {} households", pass.versions.len(), pass.results.len());
        return Err(EngineError::Store(StoreError::Database(why)));
    }
    let as_of = ctx.as_of;
    let mut out = Recorded { run: store.begin_screening(actor, at, as_of, pass.region).await?, ..Default::default() };
    let total = pass.results.len() + pass.clean.len();
    let mut moved = Vec::new();
    let mut done = 0;
    for (chunk, versions) in pass.results.chunks(WRITE_BATCH).zip(pass.versions.chunks(WRITE_BATCH)) {
        progress(done, total);
        write_batch(store, at, as_of, out.run, chunk, versions, &mut out, &mut moved).await?;
        done += chunk.len();
    }
    for chunk in pass.clean.chunks(WRITE_BATCH) {
        progress(done, total);
        let (results, versions): (Vec<HouseholdFindings>, Vec<i64>) = chunk.iter().cloned().unzip();
        write_batch(store, at, as_of, out.run, &results, &versions, &mut out, &mut moved).await?;
        done += chunk.len();
    }
    progress(done, total);
    for _ in 0..RESCREEN_ROUNDS {
        if moved.is_empty() {
            break;
        }
        let again = std::mem::take(&mut moved);
        for ids in again.chunks(REREAD_BATCH) {
            let details = store.households_by_ids(ids).await?;
            let results = details.iter().map(|d| screen_one(d, ctx)).collect::<Result<Vec<_>, _>>()?;
            let versions: Vec<i64> = details.iter().map(|d| d.record.version).collect();
            let before = moved.len();
            write_batch(store, at, as_of, out.run, &results, &versions, &mut out, &mut moved).await?;
            out.rescreened += results.len() - (moved.len() - before);
        }
    }
    out.skipped = moved.len();
    store.finish_screening(actor, at, out.run, pass.screened, out.findings, out.changes).await?;
    Ok(out)
}

/// Writes one batch if unchanged; adds what moved to `moved` and what was written to `out`.
#[allow(clippy::too_many_arguments)]
async fn write_batch<S: ResidentSource>(
    store: &S,
    at: DateTime<Utc>,
    as_of: NaiveDate,
    run: i64,
    results: &[HouseholdFindings],
    versions: &[i64],
    out: &mut Recorded,
    moved: &mut Vec<HouseholdId>,
) -> Result<(), StoreError> {
    // once more if it failed: a save's own screening of one of these households may have
    // written the same finding, or resolved the same two, at the same moment (a duplicate or a
    // deadlock on PostgreSQL); the retry reads the findings afresh
    let (changes, skipped) = match store.record_findings_if_unchanged(at, as_of, Some(run), results, versions).await {
        Ok(done) => done,
        Err(_) => store.record_findings_if_unchanged(at, as_of, Some(run), results, versions).await?,
    };
    out.changes += changes;
    out.findings +=
        results.iter().filter(|r| !skipped.contains(&r.household_id)).map(|r| r.findings.len()).sum::<usize>();
    moved.extend(skipped);
    Ok(())
}

fn screen_one(d: &HouseholdDetail, ctx: &Context) -> Result<HouseholdFindings, EngineError> {
    let findings = evaluate(d, ctx).map_err(|error| EngineError::Rule {
        household_id: d.record.id,
        household_no: d.record.household.household_no.clone(),
        error,
    })?;
    Ok(HouseholdFindings { household_id: d.record.id, village: d.record.household.village, findings })
}

#[cfg(test)]
mod tests;
