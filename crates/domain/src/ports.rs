//! The storage traits the domain needs, split by capability (STYLE §3). `store` implements them
//! for SQLite and PostgreSQL; the conformance suite runs the same tests against both.
//!
//! Every read of registry data takes a [`Scope`]: the store limits it to the scope's region
//! subtree in one place, so a household outside it is indistinguishable from one that does
//! not exist.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::account::{Actor, Role, Scope, User, UserId, Username};
use crate::audit::{AuditEntry, AuditRecord};
use crate::codes::{HouseholdKind, MonitoringCategory};
use crate::household::{Household, HouseholdId, HouseholdNo, Monitoring, MonitoringStatus};
use crate::income::IncomeRecord;
use crate::member::{Member, MemberId};
use crate::params::{ParamName, PolicyParam};
use crate::region::{GroupNo, Region, RegionCode};
use crate::search::SearchQuery;

/// What can go wrong in storage, in terms the domain and the web layer understand.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Not found, or outside the caller's scope (deliberately the same).
    #[error("记录不存在")]
    NotFound,
    /// Someone else changed the record since it was read (optimistic versioning).
    #[error("数据已被他人修改（版本已过期），请重新读取后再操作")]
    Conflict,
    /// A uniqueness rule: the message says which.
    #[error("{0}")]
    Duplicate(String),
    /// The database failed; the detail is for the log, not the user.
    #[error("数据库错误")]
    Database(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A stored household with its key, version and timestamps.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HouseholdRecord {
    pub id: HouseholdId,
    /// Bumped by every change to the household or its members.
    pub version: i64,
    pub household: Household,
    /// The import that created the household (later imports that change it do not replace it).
    pub import_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MemberRecord {
    pub id: MemberId,
    /// Position in the household (row order of the national layout).
    pub seq: i32,
    pub member: Member,
}

/// A household with its members and income records (latest year first).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HouseholdDetail {
    pub record: HouseholdRecord,
    pub members: Vec<MemberRecord>,
    pub incomes: Vec<IncomeRecord>,
}

impl HouseholdDetail {
    pub fn member_refs(&self) -> Vec<&Member> {
        self.members.iter().map(|m| &m.member).collect()
    }

    pub fn head(&self) -> Option<&Member> {
        self.members.iter().map(|m| &m.member).find(|m| m.relation == crate::codes::Relation::Head)
    }

    pub fn latest_income(&self) -> Option<&IncomeRecord> {
        self.incomes.first()
    }
}

/// A line of the household list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HouseholdSummary {
    pub id: HouseholdId,
    pub household_no: HouseholdNo,
    pub village: RegionCode,
    pub group_no: GroupNo,
    pub kind: HouseholdKind,
    pub monitoring: Monitoring,
    pub head_name: Option<String>,
    /// Masked (first 6 + last 4).
    pub head_id_masked: Option<String>,
    pub member_count: i64,
}

/// List filters; all optional.
#[derive(Debug, Clone, Default)]
pub struct HouseholdFilter {
    /// Any region code: its subtree (intersected with the scope).
    pub region: Option<RegionCode>,
    pub group_no: Option<GroupNo>,
    pub kind: Option<HouseholdKind>,
    pub status: Option<MonitoringStatus>,
    pub category: Option<MonitoringCategory>,
    pub query: Option<SearchQuery>,
    /// Monitored now or once (监测中 or 风险已消除): the households the national system follows.
    pub ever_monitored: bool,
    /// Changed since this instant: the household, its members (they bump its version), its
    /// officers or its measures (the national export's "changes since a date").
    pub changed_since: Option<DateTime<Utc>>,
}

/// Keyset position: the last row of the previous page, in list order (village, group, 户编号).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub village: i64,
    pub group_no: i32,
    pub household_no: String,
}

impl Cursor {
    /// Opaque text for URLs: "village.group.户编号".
    pub fn encode(&self) -> String {
        format!("{}.{}.{}", self.village, self.group_no, self.household_no)
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let mut p = text.splitn(3, '.');
        let village = p.next()?.parse().ok()?;
        let group_no = p.next()?.parse().ok()?;
        let household_no = HouseholdNo::parse(p.next()?).ok()?.to_string();
        Some(Cursor { village, group_no, household_no })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
    pub total: i64,
}

/// One change to a household's member list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    /// A new member at the end of the list.
    Insert(Member),
    Update(MemberId, Member),
    Delete(MemberId),
}

/// A household as an import delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingHousehold {
    pub household: Household,
    pub members: Vec<Member>,
    pub income: Option<IncomeRecord>,
}

/// What an import will do, computed by [`crate::import::plan`] before anything is written.
#[derive(Debug, Clone, Default)]
pub struct ImportPlan {
    pub creates: Vec<IncomingHousehold>,
    pub updates: Vec<HouseholdUpdate>,
    pub unchanged: usize,
}

/// A change to an existing household, with the version it was computed against.
#[derive(Debug, Clone)]
pub struct HouseholdUpdate {
    pub id: HouseholdId,
    pub expected_version: i64,
    pub before: HouseholdDetail,
    pub household: Household,
    pub household_changed: bool,
    /// Members to insert, with their position.
    pub member_inserts: Vec<(i32, Member)>,
    /// Members to rewrite in place.
    pub member_updates: Vec<(MemberId, i32, Member)>,
    pub member_deletes: Vec<MemberId>,
    pub income: Option<IncomeRecord>,
}

/// The import's own record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportMeta {
    pub file_name: String,
    pub file_sha256: String,
    pub rows: usize,
    pub warnings: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportOutcome {
    pub import_id: i64,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub members_written: usize,
}

pub trait RegionStore: Send + Sync {
    /// Adds or renames regions.
    fn upsert_regions(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        regions: &[Region],
    ) -> impl Future<Output = StoreResult<usize>> + Send;
    /// Every region (names are public; household data is what scope protects).
    fn all_regions(&self) -> impl Future<Output = StoreResult<Vec<Region>>> + Send;
}

pub trait HouseholdStore: Send + Sync {
    fn list_households(
        &self,
        scope: &Scope,
        filter: &HouseholdFilter,
        after: Option<&Cursor>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Page<HouseholdSummary>>> + Send;

    fn household(
        &self,
        scope: &Scope,
        no: &HouseholdNo,
    ) -> impl Future<Output = StoreResult<Option<HouseholdDetail>>> + Send;

    /// Batch of full households for export, in list order, after a cursor. No N+1: a batch takes
    /// the same few queries whatever its size.
    fn export_batch(
        &self,
        scope: &Scope,
        filter: &HouseholdFilter,
        after: Option<&Cursor>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<(Vec<HouseholdDetail>, Option<Cursor>)>> + Send;

    /// Saves a household's own fields if its version is still `expected_version`; audited.
    fn save_household(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        before: &HouseholdDetail,
        household: &Household,
    ) -> impl Future<Output = StoreResult<HouseholdRecord>> + Send;

    /// Applies member changes (in order) if the household's version is still the one in
    /// `before`; bumps the version; audited with `reason`.
    fn write_members(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        before: &HouseholdDetail,
        changes: &[MemberChange],
        reason: &str,
    ) -> impl Future<Output = StoreResult<HouseholdRecord>> + Send;

    /// Applies an import plan in one transaction through the bulk path; all or nothing.
    fn apply_import(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        meta: &ImportMeta,
        plan: &ImportPlan,
    ) -> impl Future<Output = StoreResult<ImportOutcome>> + Send;

    /// The write side of an import that arrives in parts (a large file read as it goes): one
    /// transaction, opened here, given each part's plan by [`ImportWriter::apply`] and committed
    /// by [`ImportWriter::commit`]; dropped without a commit, it writes nothing. `meta` names
    /// the file; its counts are those given to the commit.
    type Import: ImportWriter;

    fn begin_import(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        meta: &ImportMeta,
    ) -> impl Future<Output = StoreResult<Self::Import>> + Send;
}

/// An import being written part by part (see [`HouseholdStore::begin_import`]).
pub trait ImportWriter: Send {
    /// Writes one part's plan (households not in an earlier part) inside the transaction.
    fn apply(&mut self, plan: &ImportPlan) -> impl Future<Output = StoreResult<()>> + Send;

    /// Records the import with its final counts and commits everything.
    fn commit(self, meta: &ImportMeta) -> impl Future<Output = StoreResult<ImportOutcome>> + Send;
}

/// What a resident copy of the whole registry (the `engine` snapshot in `serve`) reads to catch
/// up with writes made elsewhere — another process, an import, the command line: every
/// household's version, then the households whose version moved. Unscoped, like
/// [`RegistryLookup`]: the snapshot holds every household, and each use of it is scoped. Every
/// write to a household, its members or its incomes bumps its version.
pub trait ResidentSource: Send + Sync {
    /// (ID, version) of the households with an ID above `after`, by ID, at most `limit`.
    fn household_versions(
        &self,
        after: Option<HouseholdId>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<(HouseholdId, i64)>>> + Send;

    /// These households in full (those that exist), in any order.
    fn households_by_ids(&self, ids: &[HouseholdId]) -> impl Future<Output = StoreResult<Vec<HouseholdDetail>>> + Send;

    /// [`FindingStore::record_findings`] for the households whose version is still the one in
    /// `versions` (one per result, in order), checked inside the same transaction so that a save
    /// committed meanwhile is never overwritten by an older screening; returns what changed and
    /// the households skipped.
    fn record_findings_if_unchanged(
        &self,
        at: DateTime<Utc>,
        as_of: chrono::NaiveDate,
        run: Option<i64>,
        results: &[HouseholdFindings],
        versions: &[i64],
    ) -> impl Future<Output = StoreResult<(FindingChanges, Vec<HouseholdId>)>> + Send;

    /// The households of `region` (every region when `None`) with open findings: those a full
    /// screening must resolve if it no longer finds anything.
    fn households_with_open_findings(
        &self,
        region: Option<RegionCode>,
    ) -> impl Future<Output = StoreResult<Vec<HouseholdId>>> + Send;
}

/// The only household reads that look beyond the caller's scope, kept apart so that each use is
/// visible: the import (an existing household elsewhere is refused without saying where) and
/// the rule "a person is in at most one household" (answered without naming the other one).
pub trait RegistryLookup: Send + Sync {
    /// Existing households by 户编号, in any region.
    fn households_by_no(&self, nos: &[HouseholdNo]) -> impl Future<Output = StoreResult<Vec<HouseholdDetail>>> + Send;

    /// Where ID keys are registered, in any region: (key, 户编号, village).
    fn member_locations(
        &self,
        keys: &[u64],
    ) -> impl Future<Output = StoreResult<Vec<(u64, HouseholdNo, RegionCode)>>> + Send;
}

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    pub region: RegionCode,
    pub password_hash: String,
}

pub trait UserStore: Send + Sync {
    fn create_user(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        user: &NewUser,
    ) -> impl Future<Output = StoreResult<User>> + Send;
    /// The user and the password hash.
    fn user_by_username(&self, username: &str) -> impl Future<Output = StoreResult<Option<(User, String)>>> + Send;
    fn user(&self, id: UserId) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    /// Users whose region lies in the scope.
    fn list_users(&self, scope: &Scope) -> impl Future<Output = StoreResult<Vec<User>>> + Send;
    fn update_user(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        id: UserId,
        display_name: &str,
        role: Role,
        region: RegionCode,
        active: bool,
    ) -> impl Future<Output = StoreResult<User>> + Send;
    fn set_password(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        id: UserId,
        hash: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Counts a failed login (from 1 again when `restart`: the previous lock has run out) and
    /// locks the account until `lock_until` when the count reaches `max_failures`; appends
    /// `audit` in the same transaction. Returns the updated user.
    fn record_login_failure(
        &self,
        id: UserId,
        max_failures: i32,
        lock_until: DateTime<Utc>,
        restart: bool,
        audit: &[AuditEntry],
    ) -> impl Future<Output = StoreResult<User>> + Send;
    /// Clears the failure count and any lock (a successful login, or an administrator's unlock).
    fn reset_login_failures(&self, id: UserId, audit: &[AuditEntry]) -> impl Future<Output = StoreResult<()>> + Send;
    fn count_users(&self) -> impl Future<Output = StoreResult<i64>> + Send;
}

crate::codes::code_enum! {
    /// Browser session or API bearer token.
    pub enum SessionKind {
        Web = 1 => "网页",
        Api = 2 => "接口",
        /// Long-lived integration token, no idle expiry.
        Integration = 3 => "集成令牌",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub token_hash: String,
    pub user: User,
    pub kind: SessionKind,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

pub trait SessionStore: Send + Sync {
    fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        kind: SessionKind,
        csrf_token: &str,
        at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
        audit: &[AuditEntry],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn session(&self, token_hash: &str) -> impl Future<Output = StoreResult<Option<SessionRecord>>> + Send;
    fn touch_session(&self, token_hash: &str, at: DateTime<Utc>) -> impl Future<Output = StoreResult<()>> + Send;
    /// Ends a session, appending `audit` in the same transaction.
    fn delete_session(&self, token_hash: &str, audit: &[AuditEntry]) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_user_sessions(&self, user: UserId) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Filter for the audit log page.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub actor_id: Option<i64>,
    /// Rows with id < before (keyset, newest first).
    pub before_id: Option<i64>,
    /// Only rows about regions in this inclusive code range; rows without a region (logins,
    /// parameters of the whole system) only when `include_unregioned`.
    pub region_range: Option<(i64, i64)>,
    pub include_unregioned: bool,
}

pub trait AuditStore: Send + Sync {
    /// Appends entries in order, chaining their hashes, in one transaction.
    fn append_audit(&self, entries: &[AuditEntry]) -> impl Future<Output = StoreResult<()>> + Send;
    /// Newest first.
    fn audit_rows(
        &self,
        filter: &AuditFilter,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<AuditRecord>>> + Send;
    /// Rows in id order from `from_id` (inclusive), for verification in batches.
    fn audit_chain(&self, from_id: i64, limit: u32) -> impl Future<Output = StoreResult<Vec<AuditRecord>>> + Send;
}

pub trait ParamStore: Send + Sync {
    /// Adds a new version of a parameter; audited.
    #[allow(clippy::too_many_arguments)]
    fn set_param(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        year: i32,
        region: RegionCode,
        name: ParamName,
        value: i64,
        example: bool,
        note: &str,
    ) -> impl Future<Output = StoreResult<PolicyParam>> + Send;
    /// Every version of every parameter (optionally for one year), oldest first.
    fn params(&self, year: Option<i32>) -> impl Future<Output = StoreResult<Vec<PolicyParam>>> + Send;
}

/// Everything at once, for code that needs the whole store.
pub trait Store:
    RegionStore + HouseholdStore + RegistryLookup + UserStore + SessionStore + AuditStore + ParamStore + Clone + 'static
{
}
impl<T> Store for T where
    T: RegionStore
        + HouseholdStore
        + RegistryLookup
        + UserStore
        + SessionStore
        + AuditStore
        + ParamStore
        + Clone
        + 'static
{
}

crate::codes::code_enum! {
    /// Where a finding stands (issue 3 "Findings have a life").
    pub enum FindingStatus {
        Open = 1 => "待处理",
        /// Turned into a clue for the identification procedure.
        Clue = 2 => "已转为线索",
        /// Looked at and set aside, with a reason.
        Dismissed = 3 => "已排除",
        /// A later screening no longer finds it (a visit or a data change fixed it).
        Resolved = 4 => "已解决",
    }
}

/// A finding as stored, with its household and its life.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FindingRecord {
    pub id: i64,
    pub household_id: HouseholdId,
    pub household_no: HouseholdNo,
    pub village: RegionCode,
    pub code: crate::rules::FindingCode,
    pub sub_code: String,
    pub suggested_category: Option<MonitoringCategory>,
    pub rule_id: String,
    pub rule_version: i32,
    /// JSON of the parameter versions used.
    pub params: String,
    /// JSON of the inputs read.
    pub inputs: String,
    pub member_id: Option<i64>,
    pub explanation: String,
    pub status: FindingStatus,
    pub status_note: String,
    pub status_by: Option<String>,
    pub status_at: Option<DateTime<Utc>>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub as_of: chrono::NaiveDate,
}

/// The findings of one evaluated household (possibly none: then its open ones are resolved).
#[derive(Debug, Clone)]
pub struct HouseholdFindings {
    pub household_id: HouseholdId,
    pub village: RegionCode,
    pub findings: Vec<crate::rules::Finding>,
}

/// What recording a screening changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FindingChanges {
    pub opened: usize,
    pub updated: usize,
    pub reopened: usize,
    pub resolved: usize,
}

impl std::ops::AddAssign for FindingChanges {
    fn add_assign(&mut self, o: Self) {
        self.opened += o.opened;
        self.updated += o.updated;
        self.reopened += o.reopened;
        self.resolved += o.resolved;
    }
}

#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    pub region: Option<RegionCode>,
    pub code: Option<crate::rules::FindingCode>,
    pub status: Option<FindingStatus>,
    pub household: Option<HouseholdId>,
    /// Findings with id > after (keyset, oldest first).
    pub after: Option<i64>,
}

pub trait FindingStore: Send + Sync {
    /// Starts a screening run (a batch); its totals are filled in by [`FindingStore::finish_screening`].
    fn begin_screening(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        as_of: chrono::NaiveDate,
        region: Option<RegionCode>,
    ) -> impl Future<Output = StoreResult<i64>> + Send;

    /// Records the findings of evaluated households in one transaction: a finding seen before
    /// is updated (a resolved one reopens; a dismissed one or a clue stays so), a new one is
    /// opened, and the household's open findings not seen now are resolved.
    fn record_findings(
        &self,
        at: DateTime<Utc>,
        as_of: chrono::NaiveDate,
        run: Option<i64>,
        results: &[HouseholdFindings],
    ) -> impl Future<Output = StoreResult<FindingChanges>> + Send;

    /// Closes a run with its totals and records it in the audit log.
    fn finish_screening(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        run: i64,
        households: usize,
        findings: usize,
        changes: FindingChanges,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Findings within the scope, oldest first, keyset-paged; with the total.
    fn findings(
        &self,
        scope: &Scope,
        filter: &FindingFilter,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Page<FindingRecord>>> + Send;

    /// Counts by village, code and status within the scope (for the queue's summary).
    fn finding_counts(
        &self,
        scope: &Scope,
    ) -> impl Future<Output = StoreResult<Vec<(RegionCode, crate::rules::FindingCode, FindingStatus, i64)>>> + Send;

    /// Sets a finding's status with a note (dismissal needs a reason); audited.
    fn set_finding_status(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        scope: &Scope,
        id: i64,
        status: FindingStatus,
        note: &str,
    ) -> impl Future<Output = StoreResult<FindingRecord>> + Send;
}

/// Which tasks of a campaign to list.
#[derive(Debug, Clone)]
pub struct TaskFilter {
    pub campaign: crate::campaign::CampaignId,
    pub region: Option<RegionCode>,
    pub group_no: Option<GroupNo>,
    pub screener: Option<UserId>,
    pub status: Option<crate::campaign::TaskStatus>,
    /// Keyset: after this (village, group, 户编号).
    pub after: Option<Cursor>,
}

/// Which tasks an assignment is about: a village, optionally one group or a selection.
#[derive(Debug, Clone)]
pub struct TaskSelection {
    pub village: RegionCode,
    pub group_no: Option<GroupNo>,
    pub tasks: Vec<crate::campaign::TaskId>,
}

/// How a progress table is broken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressBy {
    Village,
    Group,
    Screener,
}

/// One row of a progress table: (village, group or 0, screener or none) and its counts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProgressRow {
    pub village: Option<RegionCode>,
    pub group_no: Option<GroupNo>,
    pub screener: Option<UserId>,
    pub screener_name: Option<String>,
    pub progress: crate::campaign::Progress,
}

/// Which look-back items to list.
#[derive(Debug, Clone)]
pub struct LookBackFilter {
    pub campaign: crate::campaign::CampaignId,
    pub region: Option<RegionCode>,
    pub reason: Option<crate::campaign::LookBackReason>,
    /// Only those not yet visited again.
    pub pending_only: bool,
    pub after: Option<Cursor>,
}

/// Look-back counts of one village: listed, and visited again.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LookBackCount {
    pub village: RegionCode,
    pub listed: i64,
    pub done: i64,
}

pub trait CampaignStore: Send + Sync {
    /// Generates (or regenerates) the campaign's 回头看 list: every task whose household has open
    /// findings, was only reached remotely, was not yet visited in person, or changed in the
    /// registry after its visit. Returns how many were listed.
    fn generate_look_back(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        today: chrono::NaiveDate,
        id: crate::campaign::CampaignId,
    ) -> impl Future<Output = StoreResult<i64>> + Send;

    /// The look-back list within the scope, in (village, group, 户编号) order, keyset-paged.
    fn look_back(
        &self,
        scope: &Scope,
        filter: &LookBackFilter,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Page<crate::campaign::LookBackItem>>> + Send;

    /// Listed and done per village, within the scope.
    fn look_back_counts(
        &self,
        scope: &Scope,
        id: crate::campaign::CampaignId,
    ) -> impl Future<Output = StoreResult<Vec<LookBackCount>>> + Send;

    /// Creates the campaign and one task per household in its region, in one transaction.
    /// Returns the campaign and the number of tasks.
    fn create_campaign(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        c: &crate::campaign::CampaignDefinition,
    ) -> impl Future<Output = StoreResult<(crate::campaign::Campaign, i64)>> + Send;

    /// Campaigns that concern the scope (their region contains it or lies within it), newest first.
    fn campaigns(&self, scope: &Scope) -> impl Future<Output = StoreResult<Vec<crate::campaign::Campaign>>> + Send;

    fn campaign(
        &self,
        scope: &Scope,
        id: crate::campaign::CampaignId,
    ) -> impl Future<Output = StoreResult<Option<crate::campaign::Campaign>>> + Send;

    /// Changes a campaign's phase dates; audited.
    fn update_phases(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        id: crate::campaign::CampaignId,
        phases: &[crate::campaign::PhaseDates],
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Gives households added to the region since a task (and nothing else); returns how many.
    fn sync_tasks(
        &self,
        at: DateTime<Utc>,
        id: crate::campaign::CampaignId,
    ) -> impl Future<Output = StoreResult<i64>> + Send;

    /// Assigns (or with `None` unassigns) the selected tasks within the scope; audited.
    /// Returns how many tasks changed.
    fn assign_tasks(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        scope: &Scope,
        id: crate::campaign::CampaignId,
        selection: &TaskSelection,
        screener: Option<UserId>,
    ) -> impl Future<Output = StoreResult<i64>> + Send;

    /// Tasks within the scope, in (village, group, 户编号) order, keyset-paged, with the total.
    fn tasks(
        &self,
        scope: &Scope,
        filter: &TaskFilter,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Page<crate::campaign::Task>>> + Send;

    /// Progress counts within the scope (optionally one region's subtree), broken down by `by`.
    fn progress(
        &self,
        scope: &Scope,
        id: crate::campaign::CampaignId,
        by: ProgressBy,
        region: Option<RegionCode>,
    ) -> impl Future<Output = StoreResult<Vec<ProgressRow>>> + Send;
}

/// Which visits to list.
#[derive(Debug, Clone, Default)]
pub struct VisitFilter {
    pub campaign: Option<crate::campaign::CampaignId>,
    pub region: Option<RegionCode>,
    pub task: Option<crate::campaign::TaskId>,
    pub household: Option<HouseholdId>,
    pub review: Option<crate::visit::ReviewStatus>,
    /// Keyset: visits with a smaller id (the list is newest first).
    pub after: Option<i64>,
}

pub trait VisitStore: Send + Sync {
    /// One task within the scope (a screener's own only).
    fn task(
        &self,
        scope: &Scope,
        id: crate::campaign::TaskId,
    ) -> impl Future<Output = StoreResult<Option<crate::campaign::Task>>> + Send;

    /// Records a visit of a task within the scope, on `form` (which becomes the task's form), and
    /// updates the task's status from all its visits (D13), in one transaction; audited.
    fn record_visit(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        scope: &Scope,
        task: crate::campaign::TaskId,
        form: crate::campaign::FormKind,
        facts: &crate::visit::VisitFacts,
        content: &crate::visit::VisitContent,
    ) -> impl Future<Output = StoreResult<crate::visit::Visit>> + Send;

    /// Replaces a visit not yet accepted, at the version the user saw; it goes back to review.
    #[allow(clippy::too_many_arguments)]
    fn correct_visit(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        scope: &Scope,
        id: crate::visit::VisitId,
        version: i64,
        facts: &crate::visit::VisitFacts,
        content: &crate::visit::VisitContent,
    ) -> impl Future<Output = StoreResult<crate::visit::Visit>> + Send;

    fn visit(
        &self,
        scope: &Scope,
        id: crate::visit::VisitId,
    ) -> impl Future<Output = StoreResult<Option<crate::visit::Visit>>> + Send;

    /// Visits within the scope, newest first, keyset-paged, with the total.
    fn visits(
        &self,
        scope: &Scope,
        filter: &VisitFilter,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Page<crate::visit::Visit>>> + Send;

    /// Accepts a visit: applies its changes to the household (which must still be at the version
    /// of `before`) and marks it accepted, in one transaction; audited like the edit pages.
    fn accept_visit(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        visit: &crate::visit::Visit,
        before: &HouseholdDetail,
        application: &crate::visit::Application,
        note: &str,
    ) -> impl Future<Output = StoreResult<HouseholdRecord>> + Send;

    /// Returns a submitted visit to its screener with a reason; audited.
    fn return_visit(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        scope: &Scope,
        id: crate::visit::VisitId,
        version: i64,
        reason: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// The work calendar as stored: the years it covers and its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCalendar {
    pub years: std::ops::RangeInclusive<i32>,
    pub entries: Vec<crate::calendar::DayEntry>,
}

pub trait CalendarStore: Send + Sync {
    /// The stored calendar, or `None` before it is first loaded.
    fn stored_calendar(&self) -> impl Future<Output = StoreResult<Option<StoredCalendar>>> + Send;

    /// Replaces the whole calendar (first load, or an administrator's file); audited with `note`.
    fn replace_calendar(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        calendar: &StoredCalendar,
        note: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Adds or changes one day; audited.
    fn put_calendar_day(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        entry: &crate::calendar::DayEntry,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Removes one day (it becomes an ordinary day); audited. Returns whether it existed.
    fn delete_calendar_day(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        date: chrono::NaiveDate,
        region: Option<RegionCode>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// Which cases to list.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub procedure: Option<crate::procedure::Procedure>,
    pub status: Option<crate::procedure::CaseStatus>,
    /// Open cases waiting for this step.
    pub next_step: Option<crate::procedure::Step>,
    pub region: Option<RegionCode>,
    pub household: Option<HouseholdId>,
    /// Keyset: cases with a smaller id (the list is newest first).
    pub before: Option<i64>,
}

/// A case to open, with its first step (the clue, or the proposal to eliminate).
#[derive(Debug, Clone)]
pub struct NewCase {
    pub procedure: crate::procedure::Procedure,
    pub household_id: HouseholdId,
    pub source: Option<crate::procedure::ClueSource>,
    /// The finding it came from, which becomes 已转为线索.
    pub finding_id: Option<i64>,
    pub opened_on: chrono::NaiveDate,
    pub note: String,
}

/// What a step changes in the registry: the household as it was read and as it becomes.
#[derive(Debug, Clone)]
pub struct HouseholdEffect {
    pub before: HouseholdDetail,
    pub after: Household,
    pub note: String,
}

/// Open cases within the scope by procedure and the step they wait for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CaseCount {
    pub procedure: crate::procedure::Procedure,
    pub next_step: crate::procedure::Step,
    pub count: i64,
}

/// Open cases grouped by what decides their dates (D8: the clue's date for the time limit, the
/// posting date of a running notice), so that the inbox counts every case while reading one row
/// per (procedure, step, village, dates) rather than one per case.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CaseGroup {
    pub procedure: crate::procedure::Procedure,
    pub next_step: crate::procedure::Step,
    pub village: RegionCode,
    pub opened_on: chrono::NaiveDate,
    /// The posting date of the notice now running, if any.
    pub notice_started: Option<chrono::NaiveDate>,
    pub count: i64,
}

/// Households grouped by the dates their deadline is computed from (D10), for exact counts of
/// any scope: one row per (village, dates), however many households.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DateGroup {
    pub village: RegionCode,
    /// 纳入监测 of the current monitoring period.
    pub monitored_since: chrono::NaiveDate,
    /// The first officer's assignment in that period, where it matters.
    pub first_officer: Option<chrono::NaiveDate>,
    pub count: i64,
}

pub trait CaseStore: Send + Sync {
    /// Opens a case on a household within the scope with its first step and files, in one
    /// transaction; refuses a second open case on the household; audited.
    fn open_case(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        scope: &Scope,
        new: &NewCase,
        attachments: &[crate::procedure::NewAttachment],
    ) -> impl Future<Output = StoreResult<crate::procedure::Case>> + Send;

    /// One case within the scope, with its steps and the list of its files.
    fn case(
        &self,
        scope: &Scope,
        id: crate::procedure::CaseId,
    ) -> impl Future<Output = StoreResult<Option<crate::procedure::Case>>> + Send;

    /// Cases within the scope, newest first, keyset-paged, with the total (steps included,
    /// read with one query per page).
    fn cases(
        &self,
        scope: &Scope,
        filter: &CaseFilter,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Page<crate::procedure::Case>>> + Send;

    /// Open cases per procedure and next step, within the scope.
    fn case_counts(&self, scope: &Scope) -> impl Future<Output = StoreResult<Vec<CaseCount>>> + Send;

    /// Open cases within the scope, grouped by [`CaseGroup`]'s keys.
    fn case_groups(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
    ) -> impl Future<Output = StoreResult<Vec<CaseGroup>>> + Send;

    /// Records a step checked by [`crate::procedure::check_step`] on `case` (which must still be
    /// at its version), its files and its effect on the household, in one transaction; audited.
    #[allow(clippy::too_many_arguments)]
    fn record_step(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        case: &crate::procedure::Case,
        plan: &crate::procedure::StepPlan,
        next_step: Option<crate::procedure::Step>,
        attachments: &[crate::procedure::NewAttachment],
        effect: Option<&HouseholdEffect>,
    ) -> impl Future<Output = StoreResult<crate::procedure::Case>> + Send;

    /// Closes an open case as withdrawn (撤销), with a reason; audited.
    fn withdraw_case(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        case: &crate::procedure::Case,
        on: chrono::NaiveDate,
        reason: &str,
    ) -> impl Future<Output = StoreResult<crate::procedure::Case>> + Send;

    /// One file within the scope: its description, its case and its bytes.
    fn attachment(
        &self,
        scope: &Scope,
        id: i64,
    ) -> impl Future<Output = StoreResult<Option<(crate::procedure::AttachmentMeta, crate::procedure::CaseId, Vec<u8>)>>>
    + Send;
}

/// A household its officer serves, for the officer's own list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OfficerHousehold {
    pub assignment: crate::assistance::OfficerAssignment,
    pub household_no: HouseholdNo,
    pub village: RegionCode,
    pub head_name: Option<String>,
    pub monitoring: Monitoring,
    /// The first officer since 纳入监测 (this one, or the one it replaced).
    pub first_officer_on: Option<chrono::NaiveDate>,
    /// The first measure (not cancelled) planned since 纳入监测.
    pub first_measure_on: Option<chrono::NaiveDate>,
}

pub trait AssistanceStore: Send + Sync {
    /// Makes `officer` the household's active officer (ending the current one with its reason),
    /// and its 帮扶责任人 contact, if the household is still at the version of `before`; audited.
    fn assign_officer(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        before: &HouseholdDetail,
        officer: &crate::assistance::NewOfficer,
    ) -> impl Future<Output = StoreResult<crate::assistance::OfficerAssignment>> + Send;

    /// Every officer of a household within the scope, newest first.
    fn officer_history(
        &self,
        scope: &Scope,
        household: HouseholdId,
    ) -> impl Future<Output = StoreResult<Vec<crate::assistance::OfficerAssignment>>> + Send;

    /// Monitored households within the scope (optionally one region) without an officer, those
    /// monitored longest first.
    fn officer_gaps(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Page<crate::assistance::OfficerGap>>> + Send;

    /// The same households as [`AssistanceStore::officer_gaps`], all of them, counted per
    /// (village, 纳入监测 date).
    fn officer_gap_groups(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
    ) -> impl Future<Output = StoreResult<Vec<DateGroup>>> + Send;

    /// Active 帮扶责任人 accounts that may serve a household of `village`: registered at the village
    /// or at one of its ancestors.
    fn officer_accounts(&self, village: RegionCode) -> impl Future<Output = StoreResult<Vec<User>>> + Send;

    /// The households an officer's account serves now, within the scope.
    fn officer_households(
        &self,
        scope: &Scope,
        user: UserId,
    ) -> impl Future<Output = StoreResult<Vec<OfficerHousehold>>> + Send;
}

/// A monitored household with no measure yet since 纳入监测.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MeasureGap {
    pub household_id: HouseholdId,
    pub household_no: HouseholdNo,
    pub village: RegionCode,
    pub head_name: Option<String>,
    /// Empty while the household has no officer.
    pub officer: String,
    /// The first officer's assignment since 纳入监测 (replacing an officer does not restart the
    /// clock; an officer kept from an earlier monitoring period counts from the inclusion).
    pub assigned_on: Option<chrono::NaiveDate>,
    pub monitored_since: chrono::NaiveDate,
}

pub trait MeasureStore: Send + Sync {
    /// Adds a measure to a household (read within the caller's scope); audited.
    fn add_measure(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        household: &HouseholdDetail,
        measure: &crate::measure::NewMeasure,
    ) -> impl Future<Output = StoreResult<crate::measure::Measure>> + Send;

    /// Rewrites a measure within the scope if it is still at `version`; audited.
    fn update_measure(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        scope: &Scope,
        id: i64,
        version: i64,
        measure: &crate::measure::NewMeasure,
    ) -> impl Future<Output = StoreResult<crate::measure::Measure>> + Send;

    /// A household's measures within the scope, oldest first.
    fn measures(
        &self,
        scope: &Scope,
        household: HouseholdId,
    ) -> impl Future<Output = StoreResult<Vec<crate::measure::Measure>>> + Send;

    /// Households with an active officer and no measure (not cancelled) since the assignment,
    /// longest waiting first.
    fn measure_gaps(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Page<MeasureGap>>> + Send;

    /// The same households as [`MeasureStore::measure_gaps`], all of them, counted per (village,
    /// 纳入监测 date, first officer's date).
    fn measure_gap_groups(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
    ) -> impl Future<Output = StoreResult<Vec<DateGroup>>> + Send;
}

/// Which department tasks to list.
#[derive(Debug, Clone, Default)]
pub struct DepartmentTaskFilter {
    pub department: Option<crate::measure::Department>,
    /// Only open tasks (待接收, 已接收).
    pub open_only: bool,
    pub state: Option<crate::department_task::TaskState>,
    pub region: Option<RegionCode>,
    pub household: Option<HouseholdId>,
    /// Open tasks due before this day (overdue).
    pub due_before: Option<chrono::NaiveDate>,
    /// Keyset: tasks with a larger id (oldest first).
    pub after: Option<i64>,
}

/// A task to push.
#[derive(Debug, Clone)]
pub struct NewDepartmentTask {
    pub department: crate::measure::Department,
    pub category: crate::measure::MeasureCategory,
    pub reason: String,
    pub due_on: chrono::NaiveDate,
}

pub trait DepartmentTaskStore: Send + Sync {
    /// The department of a 行业部门 account.
    fn user_department(
        &self,
        user: UserId,
    ) -> impl Future<Output = StoreResult<Option<crate::measure::Department>>> + Send;

    /// Sets (or with `None` clears) an account's department; audited.
    fn set_user_department(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        user: UserId,
        department: Option<crate::measure::Department>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Pushes tasks for a household in one transaction; one already open for the same department
    /// and measure is not pushed twice. Returns the tasks created; audited.
    fn push_department_tasks(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        household: &HouseholdDetail,
        tasks: &[NewDepartmentTask],
    ) -> impl Future<Output = StoreResult<Vec<crate::department_task::DepartmentTask>>> + Send;

    /// Tasks within the scope, oldest first, keyset-paged, with the total.
    fn department_tasks(
        &self,
        scope: &Scope,
        filter: &DepartmentTaskFilter,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Page<crate::department_task::DepartmentTask>>> + Send;

    fn department_task(
        &self,
        scope: &Scope,
        id: i64,
    ) -> impl Future<Output = StoreResult<Option<crate::department_task::DepartmentTask>>> + Send;

    /// Records a department's action on a task still at its version: the new state, the reply
    /// and, on completion, the implemented measure on the household — in one transaction; audited.
    #[allow(clippy::too_many_arguments)]
    fn act_on_department_task(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        task: &crate::department_task::DepartmentTask,
        state: crate::department_task::TaskState,
        answer: Option<&str>,
        completed_on: Option<chrono::NaiveDate>,
        measure: Option<&crate::measure::NewMeasure>,
    ) -> impl Future<Output = StoreResult<crate::department_task::DepartmentTask>> + Send;
}

/// One delivery to make: a notification for a webhook (claimed, so no other process sends it).
#[derive(Debug, Clone)]
pub struct Delivery {
    pub webhook_id: i64,
    pub url: String,
    pub message: crate::notify::WebhookMessage,
}

pub trait NotificationStore: Send + Sync {
    /// Stores notifications (best effort after the change they announce).
    fn notify(
        &self,
        at: DateTime<Utc>,
        notes: &[crate::notify::NewNotification],
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// The newest notifications for a user: their role (and department) within their region.
    fn notifications_for(
        &self,
        user: &User,
        department: Option<crate::measure::Department>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<crate::notify::Notification>>> + Send;

    /// Marks everything up to `up_to` read for the user.
    fn mark_read(&self, user: UserId, up_to: i64) -> impl Future<Output = StoreResult<()>> + Send;

    fn webhooks(&self) -> impl Future<Output = StoreResult<Vec<crate::notify::Webhook>>> + Send;

    /// Adds a webhook (it receives what is notified from now on); audited.
    fn add_webhook(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        hook: &crate::notify::NewWebhook,
    ) -> impl Future<Output = StoreResult<crate::notify::Webhook>> + Send;

    /// Switches a webhook off; audited.
    fn disable_webhook(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        id: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Claims up to `limit` undelivered notifications for the active webhooks (a delivery row is
    /// written first, so two processes never send the same one).
    fn claim_deliveries(
        &self,
        at: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<Delivery>>> + Send;

    /// Records how a delivery went (HTTP status, or -1 with the error).
    fn finish_delivery(
        &self,
        webhook_id: i64,
        notification_id: i64,
        status: i32,
        error: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

// ------------------------------------------------------------------ department feeds (§9, D15–D17)

/// A registry member found by the integer ID key, with what a feed row needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberMatch {
    pub key: u64,
    pub member_id: i64,
    pub name: String,
    pub household_id: HouseholdId,
    pub village: RegionCode,
    pub household_kind: crate::codes::HouseholdKind,
    pub monitoring: Monitoring,
}

/// One imported department file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FeedBatch {
    pub id: i64,
    pub kind: crate::feed::FeedKind,
    pub file_name: String,
    pub sha256: String,
    /// The importer's region (`None`: the command line, everything).
    pub region: Option<RegionCode>,
    pub rows_read: i64,
    pub rows_matched: i64,
    pub rows_unmatched: i64,
    pub rows_quiet: i64,
    pub alerts_raised: i64,
    pub alerts_updated: i64,
    pub facts_added: i64,
    pub imported_by: String,
    pub imported_at: DateTime<Utc>,
}

/// Which alerts to list.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub status: Option<crate::feed::AlertStatus>,
    pub kind: Option<crate::feed::FeedKind>,
    /// A 行业部门 account sees its own department's alerts only.
    pub department: Option<crate::measure::Department>,
    pub region: Option<RegionCode>,
    pub household: Option<HouseholdId>,
    /// Open alerts due before this day (overdue).
    pub due_before: Option<chrono::NaiveDate>,
    /// Keyset: alerts with a smaller id (newest first).
    pub before: Option<i64>,
}

/// One feed row behind an alert.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AlertRow {
    pub batch_id: i64,
    pub file_name: String,
    pub line: i64,
    pub value: Option<crate::money::Fen>,
    /// JSON object of the row's cells.
    pub evidence: String,
    pub imported_at: DateTime<Utc>,
}

/// A verification as the village records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertVerification {
    pub conclusion: crate::feed::AlertConclusion,
    pub mode: crate::feed::VerifyMode,
    pub on: chrono::NaiveDate,
    pub note: String,
    pub case_id: Option<i64>,
}

/// What recording a feed did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FeedOutcome {
    pub batch_id: i64,
    pub raised: i64,
    pub updated: i64,
    /// Rows already behind an open alert with the same value (the same file again, say).
    pub unchanged: i64,
    pub facts_added: i64,
    /// The households whose alerts were raised or updated (for the villages' notifications).
    #[serde(skip)]
    pub changed: Vec<i64>,
}

pub trait FeedStore: Send + Sync {
    /// The batch that imported this file of this kind for this region (`None`: the command
    /// line, every region), if any.
    fn feed_batch_by_file(
        &self,
        kind: crate::feed::FeedKind,
        sha256: &str,
        region: Option<RegionCode>,
    ) -> impl Future<Output = StoreResult<Option<FeedBatch>>> + Send;

    /// Members of the scope whose ID key is among `keys`.
    fn members_by_keys(
        &self,
        scope: &Scope,
        keys: &[u64],
    ) -> impl Future<Output = StoreResult<Vec<MemberMatch>>> + Send;

    /// Records a feed in one transaction: the batch, its alerts (a draft for a household, kind and
    /// period that has an open alert updates it, unless the same member and value are already
    /// behind it), the exclusion facts, the unmatched rows; audited.
    #[allow(clippy::too_many_arguments)]
    fn record_feed(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        batch: &FeedBatch,
        alerts: &[crate::feed::AlertDraft],
        facts: &[crate::feed::ExclusionDraft],
        unmatched: &[crate::feed::Unmatched],
    ) -> impl Future<Output = StoreResult<FeedOutcome>> + Send;

    fn alerts(
        &self,
        scope: &Scope,
        filter: &AlertFilter,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Page<crate::feed::DepartmentAlert>>> + Send;

    fn alert(
        &self,
        scope: &Scope,
        department: Option<crate::measure::Department>,
        id: i64,
    ) -> impl Future<Output = StoreResult<Option<(crate::feed::DepartmentAlert, Vec<AlertRow>)>>> + Send;

    /// Concludes an open alert still at `version`; audited.
    fn conclude_alert(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        alert: &crate::feed::DepartmentAlert,
        v: &AlertVerification,
    ) -> impl Future<Output = StoreResult<crate::feed::DepartmentAlert>> + Send;

    /// Open alerts of the scope per due date, for exact inbox counts.
    fn open_alert_due_dates(
        &self,
        scope: &Scope,
        department: Option<crate::measure::Department>,
    ) -> impl Future<Output = StoreResult<Vec<(chrono::NaiveDate, i64)>>> + Send;

    /// The latest batches imported within the scope (a department's own only, when given).
    fn feed_batches(
        &self,
        scope: &Scope,
        department: Option<crate::measure::Department>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<FeedBatch>>> + Send;

    /// The column mapping saved for a department's files of a kind (JSON pairs).
    fn feed_mapping(&self, kind: crate::feed::FeedKind) -> impl Future<Output = StoreResult<Option<String>>> + Send;

    fn set_feed_mapping(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        kind: crate::feed::FeedKind,
        mapping: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Unmatched rows of the batches imported within the scope, newest first.
    fn unmatched_rows(
        &self,
        scope: &Scope,
        pending_only: bool,
        limit: u32,
        before: Option<i64>,
    ) -> impl Future<Output = StoreResult<Page<crate::feed::UnmatchedRow>>> + Send;

    fn unmatched_row(
        &self,
        scope: &Scope,
        id: i64,
    ) -> impl Future<Output = StoreResult<Option<crate::feed::UnmatchedRow>>> + Send;

    /// Members of the scope with one of these names (near-miss candidates).
    fn members_by_name(
        &self,
        scope: &Scope,
        names: &[String],
    ) -> impl Future<Output = StoreResult<Vec<crate::feed::PersonCandidate>>> + Send;

    /// Members of the scope by id, with what a feed row needs.
    fn members_by_ids(&self, scope: &Scope, ids: &[i64]) -> impl Future<Output = StoreResult<Vec<MemberMatch>>> + Send;

    /// Reviewers' decisions about these (ID as written, name) pairs: (id_text, name, member, same).
    fn identity_decisions(
        &self,
        pairs: &[(String, String)],
    ) -> impl Future<Output = StoreResult<Vec<(String, String, i64, bool)>>> + Send;

    /// Records a reviewer's decision on an unmatched row in one transaction: the row's status,
    /// the remembered decision, and — for the same person — the alert or fact the row raises; audited.
    #[allow(clippy::too_many_arguments)]
    fn resolve_unmatched(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        row: &crate::feed::UnmatchedRow,
        member_id: i64,
        same: bool,
        alert: Option<crate::feed::AlertDraft>,
        fact: Option<crate::feed::ExclusionDraft>,
    ) -> impl Future<Output = StoreResult<FeedOutcome>> + Send;
}

/// 不宜纳入 facts and the exceptions to them (D16).
pub trait ExclusionStore: Send + Sync {
    /// The facts recorded on the members of a household.
    fn exclusion_facts(
        &self,
        household: HouseholdId,
    ) -> impl Future<Output = StoreResult<Vec<crate::feed::ExclusionFact>>> + Send;

    fn exclusion_override(
        &self,
        case_id: i64,
    ) -> impl Future<Output = StoreResult<Option<crate::feed::ExclusionOverride>>> + Send;

    /// The town's proposal (with the reason) or, once it exists, the county's approval; audited.
    fn approve_exclusion_override(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        case: &crate::procedure::Case,
        county: bool,
        reason: &str,
    ) -> impl Future<Output = StoreResult<crate::feed::ExclusionOverride>> + Send;
}

/// The data comparison report (数据比对).
pub trait QualityStore: Send + Sync {
    /// Each check's count within the scope (optionally one region), on `as_of`.
    fn quality_counts(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
        as_of: chrono::NaiveDate,
    ) -> impl Future<Output = StoreResult<Vec<(crate::quality::QualityCheck, i64)>>> + Send;

    /// The first `limit` findings of one check, by village and household.
    fn quality_items(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
        check: crate::quality::QualityCheck,
        as_of: chrono::NaiveDate,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<crate::quality::QualityItem>>> + Send;

    /// Department alerts of the scope by feed and status (the report's 部门比对 table).
    fn alert_counts(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
    ) -> impl Future<Output = StoreResult<Vec<(crate::feed::FeedKind, crate::feed::AlertStatus, i64)>>> + Send;
}

/// Households counted by what the dashboard and the campaign summary break them down by: one
/// row per (village, status, category, main risk, in-period flags), however many households.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MonitoringGroup {
    pub village: RegionCode,
    pub status: MonitoringStatus,
    pub category: Option<MonitoringCategory>,
    /// The first risk recorded (D7 orders them, the first is the main one).
    pub risk: Option<crate::codes::RiskType>,
    /// 纳入监测 within the period.
    pub included_in_period: bool,
    /// 风险消除 within the period.
    pub eliminated_in_period: bool,
    pub count: i64,
}

/// The dashboard's counts (issue 6), per region one level below the region asked for (a town's
/// villages, a county's towns; a village's own): households, a campaign's screening tasks and
/// findings come from counts the database maintains on every write (migration 0016) — a few rows
/// per village, however many households; new inclusions and eliminations of the period are read
/// by date.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tallies {
    /// Households per (region, monitoring status).
    pub households: Vec<(RegionCode, MonitoringStatus, i64)>,
    /// Monitored households of the whole region per (category, main risk).
    pub monitored_by: Vec<(Option<MonitoringCategory>, Option<crate::codes::RiskType>, i64)>,
    /// 纳入监测 within the period, per region.
    pub included: Vec<(RegionCode, i64)>,
    /// 风险消除 within the period, per region.
    pub eliminated: Vec<(RegionCode, i64)>,
    /// The campaign's screening tasks per (region, status); empty without a campaign.
    pub tasks: Vec<(RegionCode, crate::campaign::TaskStatus, i64)>,
    /// Findings per (region, code, status).
    pub findings: Vec<(RegionCode, crate::rules::FindingCode, FindingStatus, i64)>,
}

/// The grouped counts behind the dashboards and reports (issue 7).
pub trait OversightStore: Send + Sync {
    /// [`Tallies`] of the scope (optionally one region) per region of level `per`; the period
    /// is `from..=to`.
    fn tallies(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
        per: crate::region::RegionLevel,
        campaign: Option<crate::campaign::CampaignId>,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> impl Future<Output = StoreResult<Tallies>> + Send;

    /// Households of the scope (optionally one region) grouped by [`MonitoringGroup`]'s keys;
    /// the period is `from..=to`. Counts the table itself: the dashboard reads [`Self::tallies`],
    /// and this is what the tallies are checked against.
    fn monitoring_groups(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> impl Future<Output = StoreResult<Vec<MonitoringGroup>>> + Send;

    /// Open department tasks (待接收, 已接收) per (village, due date).
    fn open_department_task_groups(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
    ) -> impl Future<Output = StoreResult<Vec<(RegionCode, chrono::NaiveDate, i64)>>> + Send;

    /// Department alerts per (village, status).
    fn alert_village_counts(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
    ) -> impl Future<Output = StoreResult<Vec<(RegionCode, crate::feed::AlertStatus, i64)>>> + Send;
}

/// Which rectifications to list.
#[derive(Debug, Clone, Default)]
pub struct RectificationFilter {
    pub id: Option<i64>,
    pub region: Option<RegionCode>,
    pub inspection: Option<i64>,
    pub status: Option<crate::supervision::RectificationStatus>,
    /// Open ones due before this day (overdue).
    pub due_before: Option<chrono::NaiveDate>,
    /// Keyset: a larger id (oldest first).
    pub after: Option<i64>,
}

/// Which inspections to list.
#[derive(Debug, Clone, Default)]
pub struct InspectionFilter {
    pub region: Option<RegionCode>,
    pub group: Option<i64>,
    /// Keyset: a smaller id (newest first).
    pub before: Option<i64>,
}

/// 督导 (issue 7): groups, inspections with their samples, rectifications.
pub trait SupervisionStore: Send + Sync {
    /// Creates a group; audited.
    fn create_group(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        group: &crate::supervision::NewGroup,
    ) -> impl Future<Output = StoreResult<crate::supervision::SupervisionGroup>> + Send;

    /// Groups that check at least one village of the scope (with all their villages).
    fn groups(
        &self,
        scope: &Scope,
    ) -> impl Future<Output = StoreResult<Vec<crate::supervision::SupervisionGroup>>> + Send;

    /// A village's households in 户编号 order (the list a sample is drawn from), within the scope.
    fn sampling_frame(
        &self,
        scope: &Scope,
        village: RegionCode,
    ) -> impl Future<Output = StoreResult<Vec<crate::supervision::SampledHousehold>>> + Send;

    /// Records an inspection, its sample and its problems (the service has checked that each
    /// household number belongs to the village) in one transaction; audited.
    fn record_inspection(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        inspection: &crate::supervision::NewInspection,
    ) -> impl Future<Output = StoreResult<crate::supervision::Inspection>> + Send;

    fn inspection(
        &self,
        scope: &Scope,
        id: i64,
    ) -> impl Future<Output = StoreResult<Option<crate::supervision::Inspection>>> + Send;

    /// Inspections within the scope, newest first (sample and rectifications not loaded), with
    /// the total.
    fn inspections(
        &self,
        scope: &Scope,
        filter: &InspectionFilter,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Page<crate::supervision::Inspection>>> + Send;

    /// Open rectifications per village within the scope: (village, open, of which overdue on `today`).
    fn rectification_counts(
        &self,
        scope: &Scope,
        today: chrono::NaiveDate,
    ) -> impl Future<Output = StoreResult<Vec<(RegionCode, i64, i64)>>> + Send;

    /// Rectifications within the scope, oldest first, keyset-paged, with the total.
    fn rectifications(
        &self,
        scope: &Scope,
        filter: &RectificationFilter,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Page<crate::supervision::Rectification>>> + Send;

    /// Sets a rectification's status (closing with evidence on a day, or reopening with a
    /// reason) if it is still at `version`; audited.
    #[allow(clippy::too_many_arguments)]
    fn set_rectification(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        scope: &Scope,
        id: i64,
        version: i64,
        status: crate::supervision::RectificationStatus,
        text: &str,
        on: chrono::NaiveDate,
    ) -> impl Future<Output = StoreResult<crate::supervision::Rectification>> + Send;
}

/// The campaign summary's counts and words (issue 7), and the national export's measures.
pub trait SummaryStore: Send + Sync {
    /// Measures of the households of `filter` changed (created or updated) since `since`, with
    /// their household's number, in (户编号, planned date) order.
    fn measures_since(
        &self,
        scope: &Scope,
        filter: &HouseholdFilter,
        since: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<(HouseholdNo, crate::measure::Measure)>>> + Send;

    /// Per village (and key) counts of every [`crate::summary::Metric`] within the scope and
    /// region, for the period `from..=to` (`from_ts..to_ts` the same days as instants).
    #[allow(clippy::too_many_arguments)]
    fn summary_counts(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
        campaign: Option<crate::campaign::CampaignId>,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        from_ts: DateTime<Utc>,
        to_ts: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<crate::summary::SummaryCount>>> + Send;

    fn summary_notes(
        &self,
        campaign: Option<crate::campaign::CampaignId>,
        region: RegionCode,
    ) -> impl Future<Output = StoreResult<Option<crate::summary::SummaryNotes>>> + Send;

    /// Saves the words if still at `notes.version` (0: first save); audited.
    fn save_summary_notes(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        campaign: Option<crate::campaign::CampaignId>,
        region: RegionCode,
        notes: &crate::summary::SummaryNotes,
    ) -> impl Future<Output = StoreResult<crate::summary::SummaryNotes>> + Send;
}

/// Which questions to list (业务解答, issue 7).
#[derive(Debug, Clone, Default)]
pub struct QuestionFilter {
    pub id: Option<i64>,
    /// One village (or any region's subtree), intersected with the scope.
    pub region: Option<RegionCode>,
    /// Any of these statuses (empty: all).
    pub statuses: Vec<crate::question::QuestionStatus>,
    /// Newest first (otherwise oldest first, as the desk works through them).
    pub newest_first: bool,
    /// Keyset: the last id of the previous page.
    pub after: Option<i64>,
}

/// 业务解答 (issue 7): questions from the villages, the desk's answers and escalations, the FAQ.
pub trait QuestionStore: Send + Sync {
    /// Stores a question and its files in one transaction; audited.
    fn ask_question(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        question: &crate::question::NewQuestion,
        files: &[crate::procedure::NewAttachment],
    ) -> impl Future<Output = StoreResult<crate::question::Question>> + Send;

    /// One question within the scope (a screener's or an officer's: one they asked), with its
    /// files' descriptions.
    fn question(
        &self,
        scope: &Scope,
        id: i64,
    ) -> impl Future<Output = StoreResult<Option<crate::question::Question>>> + Send;

    /// Questions within the scope, keyset-paged, with the total (files not loaded).
    fn questions(
        &self,
        scope: &Scope,
        filter: &QuestionFilter,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Page<crate::question::Question>>> + Send;

    /// Published questions of [`crate::question::faq_range`], newest published first, optionally
    /// those whose public title, question or answer contains `query` (case-insensitive
    /// substring); with the answers' files.
    fn faq(
        &self,
        scope: &Scope,
        query: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<crate::question::Question>>> + Send;

    /// Applies a checked change (with `actor` and `at` as who and when) and its files if the
    /// question is still at `version`, in one transaction; audited.
    #[allow(clippy::too_many_arguments)]
    fn change_question(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        scope: &Scope,
        id: i64,
        version: i64,
        change: &crate::question::QuestionChange,
        files: &[crate::procedure::NewAttachment],
    ) -> impl Future<Output = StoreResult<crate::question::Question>> + Send;

    /// A file with its question's id and its bytes: of a question within the scope, or an
    /// answer's file of a question published within [`crate::question::faq_range`].
    fn question_file(
        &self,
        scope: &Scope,
        id: i64,
    ) -> impl Future<Output = StoreResult<Option<(crate::question::QuestionFile, i64, Vec<u8>)>>> + Send;
}
