//! An in-memory store implementing the traits the exchange uses; `apply_import` applies the
//! plan the way the real store must (all or nothing, versions checked).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use domain::audit::{AuditAction, AuditEntry, AuditRecord};
use domain::household::MonitoringStatus;
use domain::ports::{
    AuditFilter, AuditStore, Cursor, HouseholdDetail, HouseholdFilter, HouseholdRecord, HouseholdStore,
    HouseholdSummary, ImportMeta, ImportOutcome, ImportPlan, ImportWriter, MemberChange, MemberRecord, Page,
    RegionStore, RegistryLookup, StoreError, StoreResult,
};
use domain::{
    Actor, Household, HouseholdId, HouseholdNo, MemberId, Region, RegionCode, Relation, Role, Scope, User, UserId,
    Username,
};

#[derive(Default)]
struct State {
    regions: Vec<Region>,
    /// Export batches served before the store fails (a database gone mid-export); none when unset.
    export_batches_left: Option<usize>,
    households: BTreeMap<i64, HouseholdDetail>,
    next_member: i64,
    imports: Vec<ImportMeta>,
    audit: Vec<AuditEntry>,
    /// Parts given to imports written part by part.
    import_parts: usize,
}

#[derive(Default)]
pub struct FakeStore {
    state: Arc<Mutex<State>>,
}

/// An import in parts: the parts are kept and applied together at the commit (all or nothing,
/// like the real store's transaction).
pub struct FakeImport {
    state: Arc<Mutex<State>>,
    actor: Actor,
    at: DateTime<Utc>,
    plan: ImportPlan,
}

impl ImportWriter for FakeImport {
    async fn apply(&mut self, plan: &ImportPlan) -> StoreResult<()> {
        self.state.lock().unwrap().import_parts += 1;
        self.plan.creates.extend(plan.creates.iter().cloned());
        self.plan.updates.extend(plan.updates.iter().cloned());
        self.plan.unchanged += plan.unchanged;
        Ok(())
    }

    async fn commit(self, meta: &ImportMeta) -> StoreResult<ImportOutcome> {
        apply(&self.state, &self.actor, self.at, meta, &self.plan)
    }
}

impl FakeStore {
    pub fn luorong() -> Self {
        let store = FakeStore::default();
        store.state.lock().unwrap().regions = domain::region::luorong_regions();
        store
    }

    /// The store fails after serving `n` more export batches.
    pub fn fail_export_after(&self, n: usize) {
        self.state.lock().unwrap().export_batches_left = Some(n);
    }

    pub fn households(&self) -> Vec<HouseholdDetail> {
        self.state.lock().unwrap().households.values().cloned().collect()
    }

    pub fn household(&self, no: &str) -> Option<HouseholdDetail> {
        self.households().into_iter().find(|d| d.record.household.household_no.as_str() == no)
    }

    pub fn imports(&self) -> Vec<ImportMeta> {
        self.state.lock().unwrap().imports.clone()
    }

    /// How many parts imports have written (a large file is written as it is read).
    pub fn import_parts(&self) -> usize {
        self.state.lock().unwrap().import_parts
    }

    pub fn audit(&self) -> Vec<AuditEntry> {
        self.state.lock().unwrap().audit.clone()
    }

    /// Inserts households directly (as an earlier import would have).
    pub fn seed(&self, details: Vec<HouseholdDetail>) {
        let mut s = self.state.lock().unwrap();
        for d in details {
            s.households.insert(d.record.id.0, d);
        }
    }
}

/// A user's scope: the only way to build one for a region.
pub fn scope_of(role: Role, region: &str) -> Scope {
    user(role, region).scope()
}

pub fn user(role: Role, region: &str) -> User {
    User {
        id: UserId(7),
        username: Username::parse("tester").unwrap(),
        display_name: "测试".into(),
        role,
        region: RegionCode::parse(region).unwrap(),
        active: true,
        failed_logins: 0,
        locked_until: None,
        created_at: DateTime::<Utc>::default(),
    }
}

pub fn town_scope() -> Scope {
    scope_of(Role::TownOffice, "450203100000")
}

fn sort_key(h: &Household) -> (i64, u16, String) {
    (h.village.as_i64(), h.group_no, h.household_no.to_string())
}

fn in_filter(scope: &Scope, f: &HouseholdFilter, h: &Household) -> bool {
    scope.contains(h.village)
        && f.region.is_none_or(|r| r.contains(h.village))
        && f.group_no.is_none_or(|g| g == h.group_no)
        && f.kind.is_none_or(|k| k == h.kind)
        && f.status.is_none_or(|s: MonitoringStatus| s == h.monitoring.status())
        && f.category.is_none_or(|c| Some(c) == h.monitoring.category())
}

fn after_cursor(h: &Household, after: Option<&Cursor>) -> bool {
    after.is_none_or(|c| sort_key(h) > (c.village, c.group_no as u16, c.household_no.clone()))
}

fn cursor_of(h: &Household) -> Cursor {
    Cursor { village: h.village.as_i64(), group_no: i32::from(h.group_no), household_no: h.household_no.to_string() }
}

impl State {
    fn listed(&self, scope: &Scope, filter: &HouseholdFilter) -> Vec<&HouseholdDetail> {
        let mut v: Vec<&HouseholdDetail> =
            self.households.values().filter(|d| in_filter(scope, filter, &d.record.household)).collect();
        v.sort_by_key(|d| sort_key(&d.record.household));
        v
    }
}

impl RegionStore for FakeStore {
    async fn upsert_regions(&self, _actor: &Actor, _at: DateTime<Utc>, regions: &[Region]) -> StoreResult<usize> {
        let mut s = self.state.lock().unwrap();
        for r in regions {
            s.regions.retain(|x| x.code != r.code);
            s.regions.push(r.clone());
        }
        Ok(regions.len())
    }

    async fn all_regions(&self) -> StoreResult<Vec<Region>> {
        Ok(self.state.lock().unwrap().regions.clone())
    }
}

impl RegistryLookup for FakeStore {
    async fn households_by_no(&self, nos: &[HouseholdNo]) -> StoreResult<Vec<HouseholdDetail>> {
        let s = self.state.lock().unwrap();
        Ok(s.households.values().filter(|d| nos.contains(&d.record.household.household_no)).cloned().collect())
    }

    async fn member_locations(&self, keys: &[u64]) -> StoreResult<Vec<(u64, HouseholdNo, RegionCode)>> {
        let s = self.state.lock().unwrap();
        let mut out = Vec::new();
        for d in s.households.values() {
            for m in &d.members {
                let k = m.member.national_id.key();
                if keys.contains(&k) {
                    out.push((k, d.record.household.household_no.clone(), d.record.household.village));
                }
            }
        }
        Ok(out)
    }
}

impl HouseholdStore for FakeStore {
    async fn list_households(
        &self,
        scope: &Scope,
        filter: &HouseholdFilter,
        after: Option<&Cursor>,
        limit: u32,
    ) -> StoreResult<Page<HouseholdSummary>> {
        let s = self.state.lock().unwrap();
        let all = s.listed(scope, filter);
        let total = all.len() as i64;
        let items: Vec<HouseholdSummary> = all
            .into_iter()
            .filter(|d| after_cursor(&d.record.household, after))
            .take(limit as usize)
            .map(|d| {
                let head = d.head();
                HouseholdSummary {
                    id: d.record.id,
                    household_no: d.record.household.household_no.clone(),
                    village: d.record.household.village,
                    group_no: d.record.household.group_no,
                    kind: d.record.household.kind,
                    monitoring: d.record.household.monitoring,
                    head_name: head.map(|m| m.name.to_string()),
                    head_id_masked: head.map(|m| m.national_id.masked()),
                    member_count: d.members.len() as i64,
                }
            })
            .collect();
        Ok(Page { items, next: None, total })
    }

    async fn household(&self, scope: &Scope, no: &HouseholdNo) -> StoreResult<Option<HouseholdDetail>> {
        let s = self.state.lock().unwrap();
        Ok(s.households
            .values()
            .find(|d| d.record.household.household_no == *no && scope.contains(d.record.household.village))
            .cloned())
    }

    async fn export_batch(
        &self,
        scope: &Scope,
        filter: &HouseholdFilter,
        after: Option<&Cursor>,
        limit: u32,
    ) -> StoreResult<(Vec<HouseholdDetail>, Option<Cursor>)> {
        let mut s = self.state.lock().unwrap();
        match &mut s.export_batches_left {
            Some(0) => return Err(StoreError::Database("connection lost".into())),
            Some(n) => *n -= 1,
            None => {}
        }
        let rest: Vec<HouseholdDetail> =
            s.listed(scope, filter).into_iter().filter(|d| after_cursor(&d.record.household, after)).cloned().collect();
        let more = rest.len() > limit as usize;
        let batch: Vec<HouseholdDetail> = rest.into_iter().take(limit as usize).collect();
        let next = if more { batch.last().map(|d| cursor_of(&d.record.household)) } else { None };
        Ok((batch, next))
    }

    async fn save_household(
        &self,
        _actor: &Actor,
        _at: DateTime<Utc>,
        _before: &HouseholdDetail,
        _household: &Household,
    ) -> StoreResult<HouseholdRecord> {
        Err(StoreError::Database("not used by the exchange".into()))
    }

    async fn write_members(
        &self,
        _actor: &Actor,
        _at: DateTime<Utc>,
        _before: &HouseholdDetail,
        _changes: &[MemberChange],
        _reason: &str,
    ) -> StoreResult<HouseholdRecord> {
        Err(StoreError::Database("not used by the exchange".into()))
    }

    async fn apply_import(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        meta: &ImportMeta,
        plan: &ImportPlan,
    ) -> StoreResult<ImportOutcome> {
        apply(&self.state, actor, at, meta, plan)
    }

    type Import = FakeImport;

    async fn begin_import(&self, actor: &Actor, at: DateTime<Utc>, _meta: &ImportMeta) -> StoreResult<FakeImport> {
        Ok(FakeImport { state: Arc::clone(&self.state), actor: actor.clone(), at, plan: ImportPlan::default() })
    }
}

fn apply(
    state: &Mutex<State>,
    actor: &Actor,
    at: DateTime<Utc>,
    meta: &ImportMeta,
    plan: &ImportPlan,
) -> StoreResult<ImportOutcome> {
    {
        let mut s = state.lock().unwrap();
        for u in &plan.updates {
            let d = s.households.get(&u.id.0).ok_or(StoreError::NotFound)?;
            if d.record.version != u.expected_version {
                return Err(StoreError::Conflict);
            }
        }
        s.imports.push(meta.clone());
        let import_id = s.imports.len() as i64;
        let mut members_written = 0;
        for c in &plan.creates {
            let id = s.households.keys().next_back().copied().unwrap_or(0) + 1;
            let mut members = Vec::new();
            for (i, m) in c.members.iter().enumerate() {
                s.next_member += 1;
                members.push(MemberRecord { id: MemberId(s.next_member), seq: i as i32 + 1, member: m.clone() });
            }
            members_written += members.len();
            let detail = HouseholdDetail {
                record: HouseholdRecord {
                    id: HouseholdId(id),
                    version: 1,
                    household: c.household.clone(),
                    import_id: Some(import_id),
                    created_at: at,
                    updated_at: at,
                },
                members,
                incomes: c.income.into_iter().collect(),
            };
            s.households.insert(id, detail);
        }
        for u in &plan.updates {
            let mut next_member = s.next_member;
            let d = s.households.get_mut(&u.id.0).ok_or(StoreError::NotFound)?;
            d.record.household = u.household.clone();
            d.members.retain(|m| !u.member_deletes.contains(&m.id));
            for (id, seq, m) in &u.member_updates {
                let r = d.members.iter_mut().find(|r| r.id == *id).ok_or(StoreError::NotFound)?;
                r.seq = *seq;
                r.member = m.clone();
            }
            for (seq, m) in &u.member_inserts {
                next_member += 1;
                d.members.push(MemberRecord { id: MemberId(next_member), seq: *seq, member: m.clone() });
            }
            members_written += u.member_updates.len() + u.member_inserts.len();
            d.members.sort_by_key(|m| m.seq);
            if let Some(inc) = u.income {
                d.incomes.retain(|r| r.year != inc.year);
                d.incomes.push(inc);
                d.incomes.sort_by_key(|r| std::cmp::Reverse(r.year));
            }
            d.record.version += 1;
            // like the real store: import_id stays the import that created the household
            d.record.updated_at = at;
            s.next_member = next_member;
        }
        let entry = AuditEntry::new(at, actor, AuditAction::Import, "import", import_id).note(format!(
            "{}：新增{}户，修改{}户",
            meta.file_name,
            plan.creates.len(),
            plan.updates.len()
        ));
        s.audit.push(entry);
        Ok(ImportOutcome {
            import_id,
            created: plan.creates.len(),
            updated: plan.updates.len(),
            unchanged: plan.unchanged,
            members_written,
        })
    }
}

impl AuditStore for FakeStore {
    async fn append_audit(&self, entries: &[AuditEntry]) -> StoreResult<()> {
        self.state.lock().unwrap().audit.extend_from_slice(entries);
        Ok(())
    }

    async fn audit_rows(&self, _filter: &AuditFilter, limit: u32) -> StoreResult<Vec<AuditRecord>> {
        let s = self.state.lock().unwrap();
        Ok(s.audit
            .iter()
            .enumerate()
            .rev()
            .take(limit as usize)
            .map(|(i, e)| AuditRecord {
                id: i as i64 + 1,
                entry: e.clone(),
                prev_hash: String::new(),
                hash: String::new(),
            })
            .collect())
    }

    async fn audit_chain(&self, from_id: i64, limit: u32) -> StoreResult<Vec<AuditRecord>> {
        let s = self.state.lock().unwrap();
        Ok(s.audit
            .iter()
            .enumerate()
            .skip((from_id.max(1) - 1) as usize)
            .take(limit as usize)
            .map(|(i, e)| AuditRecord {
                id: i as i64 + 1,
                entry: e.clone(),
                prev_hash: String::new(),
                hash: String::new(),
            })
            .collect())
    }
}

/// The head of a stored household (for assertions).
pub fn head_name(d: &HouseholdDetail) -> String {
    d.members
        .iter()
        .find(|m| m.member.relation == Relation::Head)
        .map(|m| m.member.name.to_string())
        .unwrap_or_default()
}
