//! Domain operations: what the edit pages, the JSON API and the command line call. Each one
//! checks the permission, reads through the caller's scope, decides with the rules, and asks
//! the store to write (which audits in the same transaction).

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::account::{Actor, Permission, Role, Scope, UserId};
use crate::assistance::{AssistanceRules, DeadlineState, OfficerAssignment, OfficerGap, OfficerInput, officer_due};
use crate::audit::{AuditAction, AuditEntry};
use crate::calendar::{DayEntry, WorkCalendar};
use crate::campaign::{Campaign, CampaignId, CampaignInput, TaskId, form_for};
use crate::codes::Relation;
use crate::fields::{FieldErrors, HouseholdInput, MemberInput};
use crate::household::HouseholdNo;
use crate::member::{Member, MemberId, MemberRule, check_household};
use crate::params::{ParamError, ParamName, resolve_or_default};
use crate::ports::{
    AssistanceStore, AuditStore, CalendarStore, CampaignStore, CaseFilter, CaseStore, DepartmentTaskStore,
    FindingFilter, FindingStatus, FindingStore, HouseholdDetail, HouseholdEffect, HouseholdRecord, HouseholdStore,
    MeasureStore, MemberChange, NewCase, NotificationStore, ParamStore, RegistryLookup, StoreError, StoredCalendar,
    TaskSelection, UserStore, VisitStore,
};
use crate::procedure::{
    AttachmentMeta, Case, CaseId, CaseStatus, ClueSource, Decision, MAX_ATTACHMENT_BYTES, NewAttachment, OpenError,
    Procedure, ProcedureError, ProcedureRules, Step, StepInput, StepOutcome, check_step,
};
use crate::visit::{Application, ReviewStatus, Visit, VisitBase, VisitId, VisitInput, application};

/// Why an edit did not happen.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("记录不存在")]
    NotFound,
    #[error("您的角色无权进行此操作")]
    Forbidden,
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error("该户已被他人修改（当前版本 {current}），请刷新后重新操作，您填写的内容已保留")]
    Conflict { current: i64 },
    /// A measure or department task changed since the user read it (`what`: "措施 #12").
    #[error("{what}已被他人修改（当前版本 {current}），请重新读取后再操作")]
    Stale { what: String, current: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<FieldErrors> for EditError {
    fn from(e: FieldErrors) -> Self {
        EditError::Invalid(e)
    }
}

fn require(scope: &Scope, p: Permission) -> Result<(), EditError> {
    if scope.allows(p) { Ok(()) } else { Err(EditError::Forbidden) }
}

/// Loads a household the caller may edit, at the version they saw.
async fn load_for_edit<S: HouseholdStore>(
    store: &S,
    scope: &Scope,
    no: &HouseholdNo,
    expected_version: i64,
) -> Result<HouseholdDetail, EditError> {
    require(scope, Permission::EditHouseholds)?;
    let detail = store.household(scope, no).await?.ok_or(EditError::NotFound)?;
    if detail.record.version != expected_version {
        return Err(EditError::Conflict { current: detail.record.version });
    }
    Ok(detail)
}

/// Reads one household for display. When the caller's role may see full IDs and phones, the
/// view is recorded in the audit log (DOMAIN D18).
pub async fn view_household<S: HouseholdStore + AuditStore>(
    store: &S,
    at: DateTime<Utc>,
    scope: &Scope,
    actor: &Actor,
    no: &HouseholdNo,
) -> Result<HouseholdDetail, EditError> {
    require(scope, Permission::ViewHouseholds)?;
    let detail = store.household(scope, no).await?.ok_or(EditError::NotFound)?;
    if scope.allows(Permission::ViewSensitive) {
        let e = AuditEntry::new(at, actor, AuditAction::ViewSensitive, "household", detail.record.id.0)
            .region(detail.record.household.village)
            .note(format!("查看户 {} 的完整证件号码和电话", no));
        store.append_audit(&[e]).await?;
    }
    Ok(detail)
}

/// Edits a household's own fields.
pub async fn update_household<S: HouseholdStore + CaseStore + AssistanceStore>(
    store: &S,
    at: DateTime<Utc>,
    scope: &Scope,
    actor: &Actor,
    no: &HouseholdNo,
    expected_version: i64,
    input: &HouseholdInput,
) -> Result<HouseholdRecord, EditError> {
    let detail = load_for_edit(store, scope, no, expected_version).await?;
    let household = input.apply(&detail.record.household)?;
    if household == detail.record.household {
        return Ok(detail.record);
    }
    // while a procedure runs, it alone decides the monitoring status (D8, D9)
    if household.monitoring != detail.record.household.monitoring {
        let open =
            CaseFilter { household: Some(detail.record.id), status: Some(CaseStatus::Open), ..Default::default() };
        if let Some(c) = store.cases(scope, &open, 1).await?.items.first() {
            return Err(FieldErrors::one(
                "monitoring_category",
                "监测对象类别",
                format!(
                    "该户正在办理{}（案件 #{}），监测状态由程序办结时确定，不能在此修改",
                    c.procedure.label(),
                    c.id.0
                ),
            )
            .into());
        }
    }
    // the 帮扶责任人 of a household with an assignment history changes on its own page, with the
    // history and the reason (§7.1)
    if household.officer != detail.record.household.officer
        && !store.officer_history(scope, detail.record.id).await?.is_empty()
    {
        return Err(FieldErrors::one(
            "officer_name",
            "帮扶责任人",
            "请在“帮扶责任人”页落实或更换（保留历史和更换原因），不能在此修改",
        )
        .into());
    }
    let saved = store.save_household(actor, at, &detail, &household).await;
    lost_race(store, scope, no, saved).await
}

/// A write that found a newer version (someone saved between our read and our write) is the
/// same conflict as a stale form: say so with the current version.
async fn lost_race<S: HouseholdStore>(
    store: &S,
    scope: &Scope,
    no: &HouseholdNo,
    r: Result<HouseholdRecord, StoreError>,
) -> Result<HouseholdRecord, EditError> {
    match r {
        Err(StoreError::Conflict) => {
            let current = store.household(scope, no).await?.ok_or(EditError::NotFound)?.record.version;
            Err(EditError::Conflict { current })
        }
        other => Ok(other?),
    }
}

/// Adds a member (`member_id = None`) or replaces one. When the member becomes 户主 while
/// another member is head, `previous_head_relation` says what the previous head becomes (both
/// change in one write, so the household never has two heads or none).
#[allow(clippy::too_many_arguments)]
pub async fn save_member<S: HouseholdStore + RegistryLookup>(
    store: &S,
    at: DateTime<Utc>,
    scope: &Scope,
    actor: &Actor,
    no: &HouseholdNo,
    expected_version: i64,
    member_id: Option<MemberId>,
    input: &MemberInput,
    previous_head_relation: Option<&str>,
) -> Result<HouseholdRecord, EditError> {
    let detail = load_for_edit(store, scope, no, expected_version).await?;
    if let Some(id) = member_id
        && !detail.members.iter().any(|m| m.id == id)
    {
        return Err(EditError::NotFound);
    }
    let member = input.parse()?;
    let mut changes = Vec::new();
    let mut errs = FieldErrors::default();

    // a person is in at most one household
    let key = member.national_id.key();
    for (k, other_no, village) in store.member_locations(&[key]).await? {
        if k == key && other_no != *no {
            let msg = if scope.contains(village) {
                format!("该证件号码已登记在户编号 {other_no} 的家庭中，一人只能在一户：请先从原户移除")
            } else {
                "该证件号码已登记在其他地区的家庭中，一人只能在一户：请联系镇专项办核实".to_string()
            };
            errs.push("national_id", "证件号码", msg);
        }
    }
    if detail.members.iter().any(|m| m.member.national_id.key() == key && Some(m.id) != member_id) {
        errs.push("national_id", "证件号码", "该证件号码已是本户的另一名成员");
    }

    // head swap
    let old_head = detail.members.iter().find(|m| m.member.relation == Relation::Head && Some(m.id) != member_id);
    if member.relation == Relation::Head
        && let Some(old) = old_head
    {
        match previous_head_relation.map(str::trim).filter(|s| !s.is_empty()) {
            None => errs.push(
                "relation",
                "与户主关系",
                format!("本户户主是{}：把此人设为户主时，请同时选择原户主改为何种关系", old.member.name),
            ),
            Some(text) => match crate::fields::required_label::<Relation>(text) {
                Ok(Relation::Head) | Err(_) => {
                    errs.push("previous_head_relation", "原户主改为", "请选择户主以外的关系，如 配偶")
                }
                Ok(r) => {
                    let mut m = old.member.clone();
                    m.relation = r;
                    changes.push(MemberChange::Update(old.id, m));
                }
            },
        }
    }
    if !errs.is_empty() {
        return Err(errs.into());
    }
    changes.push(match member_id {
        Some(id) => MemberChange::Update(id, member),
        None => MemberChange::Insert(member),
    });
    check_no_new_violations(&detail, &changes)?;
    let written = store.write_members(actor, at, &detail, &changes, "").await;
    lost_race(store, scope, no, written).await
}

/// Removes a member with a reason (死亡, 婚出, 迁出 …). The head cannot be removed: make
/// someone else head first.
#[allow(clippy::too_many_arguments)]
pub async fn remove_member<S: HouseholdStore>(
    store: &S,
    at: DateTime<Utc>,
    scope: &Scope,
    actor: &Actor,
    no: &HouseholdNo,
    expected_version: i64,
    member_id: MemberId,
    reason: &str,
) -> Result<HouseholdRecord, EditError> {
    let detail = load_for_edit(store, scope, no, expected_version).await?;
    let target = detail.members.iter().find(|m| m.id == member_id).ok_or(EditError::NotFound)?;
    let mut errs = FieldErrors::default();
    if reason.trim().is_empty() {
        errs.push("reason", "移除原因", "请填写移除原因，如 死亡、婚出、迁出");
    }
    if detail.members.len() == 1 {
        errs.push("reason", "移除原因", "不能移除户内唯一的成员：一户至少要有一名成员（户主）");
    } else if target.member.relation == Relation::Head {
        errs.push("reason", "移除原因", "不能直接移除户主：请先把另一名成员设为户主");
    }
    if !errs.is_empty() {
        return Err(errs.into());
    }
    let changes = [MemberChange::Delete(member_id)];
    let written = store.write_members(actor, at, &detail, &changes, reason.trim()).await;
    lost_race(store, scope, no, written).await
}

/// The composition rules (DOMAIN §8.2) are enforced on edit: an edit may not introduce a
/// violation the household did not already have (imported data may hold old ones, which the
/// page shows; refusing every edit until they are all fixed would block the fix itself).
fn check_no_new_violations(detail: &HouseholdDetail, changes: &[MemberChange]) -> Result<(), EditError> {
    let before: Vec<&Member> = detail.member_refs();
    let mut after: Vec<(Option<MemberId>, Member)> =
        detail.members.iter().map(|m| (Some(m.id), m.member.clone())).collect();
    for c in changes {
        match c {
            MemberChange::Insert(m) => after.push((None, m.clone())),
            MemberChange::Update(id, m) => {
                if let Some(slot) = after.iter_mut().find(|(i, _)| *i == Some(*id)) {
                    slot.1 = m.clone();
                }
            }
            MemberChange::Delete(id) => after.retain(|(i, _)| *i != Some(*id)),
        }
    }
    let after_refs: Vec<&Member> = after.iter().map(|(_, m)| m).collect();
    let old = composition(&before);
    let new: Vec<MemberRule> = composition(&after_refs).into_iter().filter(|r| !old.contains(r)).collect();
    if new.is_empty() {
        return Ok(());
    }
    let mut errs = FieldErrors::default();
    for r in new {
        errs.push("relation", "与户主关系", r.to_string());
    }
    Err(errs.into())
}

/// Composition rules only (head, spouse, duplicates); per-member rules are checked on parse.
fn composition(members: &[&Member]) -> Vec<MemberRule> {
    check_household(members, None)
        .into_iter()
        .filter(|r| {
            matches!(
                r,
                MemberRule::NoHead
                    | MemberRule::SeveralHeads(_)
                    | MemberRule::SeveralSpouses(_)
                    | MemberRule::DuplicateInHousehold(_)
            )
        })
        .collect()
}

// ------------------------------------------------------------------ campaigns (DOMAIN D12)

/// Roles that visit households and so may be given screening tasks.
pub fn may_screen(role: Role) -> bool {
    matches!(role, Role::Screener | Role::VillageCadre | Role::AssistanceOfficer)
}

/// Creates a campaign over a region of the caller's scope, with one task per household.
pub async fn create_campaign<S: CampaignStore>(
    store: &S,
    at: DateTime<Utc>,
    scope: &Scope,
    actor: &Actor,
    input: &CampaignInput,
) -> Result<(Campaign, i64), EditError> {
    require(scope, Permission::ManageCampaigns)?;
    let def = input.parse()?;
    if !scope.contains(def.region) {
        return Err(FieldErrors::one("region", "范围", "所选区域不在您的管辖范围内").into());
    }
    Ok(store.create_campaign(actor, at, &def).await?)
}

/// Changes a campaign's phase dates (the name, region and year stay).
pub async fn update_campaign_phases<S: CampaignStore>(
    store: &S,
    at: DateTime<Utc>,
    scope: &Scope,
    actor: &Actor,
    id: CampaignId,
    input: &CampaignInput,
) -> Result<Campaign, EditError> {
    require(scope, Permission::ManageCampaigns)?;
    let current = store.campaign(scope, id).await?.ok_or(EditError::NotFound)?;
    if !scope.contains(current.region) {
        return Err(EditError::Forbidden);
    }
    let mut fixed = input.clone();
    fixed.name = current.name.clone();
    fixed.region = current.region.to_string();
    fixed.policy_year = current.policy_year.to_string();
    let def = fixed.parse()?;
    if def.phases != current.phases {
        store.update_phases(actor, at, id, &def.phases).await?;
    }
    Ok(Campaign { phases: def.phases, ..current })
}

/// Assigns the selected tasks of a village to a screener (or unassigns them with `None`).
/// The screener must be active, of a role that visits, and responsible for the village.
#[allow(clippy::too_many_arguments)]
pub async fn assign_tasks<S: CampaignStore + UserStore>(
    store: &S,
    at: DateTime<Utc>,
    scope: &Scope,
    actor: &Actor,
    id: CampaignId,
    selection: &TaskSelection,
    screener: Option<UserId>,
) -> Result<i64, EditError> {
    require(scope, Permission::AssignTasks)?;
    let campaign = store.campaign(scope, id).await?.ok_or(EditError::NotFound)?;
    if !scope.contains(selection.village) || !campaign.region.contains(selection.village) {
        return Err(EditError::NotFound);
    }
    let mut errs = FieldErrors::default();
    if let Some(uid) = screener {
        match store.user(uid).await? {
            None => errs.push("screener", "排查员", "没有这个用户"),
            Some(u) if !u.active => errs.push("screener", "排查员", format!("{} 的账号已停用", u.username)),
            Some(u) if !may_screen(u.role) => errs.push(
                "screener",
                "排查员",
                format!("{} 的角色是{}，只有排查员、村干部、帮扶责任人可以分配排查任务", u.username, u.role.label()),
            ),
            Some(u) if !u.region.contains(selection.village) => {
                errs.push("screener", "排查员", format!("{} 不负责该村，请选择本村或上级区域的排查员", u.username))
            }
            Some(_) => {}
        }
    }
    if !errs.is_empty() {
        return Err(errs.into());
    }
    Ok(store.assign_tasks(actor, at, scope, id, selection, screener).await?)
}

// ------------------------------------------------------------------ visits (DOMAIN D13)

/// Records a visit of a task: the form is checked for the task's household and kind of form.
#[allow(clippy::too_many_arguments)]
pub async fn record_visit<S: VisitStore + HouseholdStore>(
    store: &S,
    at: DateTime<Utc>,
    today: NaiveDate,
    scope: &Scope,
    actor: &Actor,
    task: TaskId,
    input: &VisitInput,
) -> Result<Visit, EditError> {
    require(scope, Permission::RecordVisits)?;
    let t = store.task(scope, task).await?.ok_or(EditError::NotFound)?;
    let detail = store.household(scope, &t.household_no).await?.ok_or(EditError::NotFound)?;
    // the form follows the household as it is now (D13): one identified during the campaign
    // is visited again on 附件3
    let form = form_for(&detail.record.household);
    let (facts, mut content) = input.parse(form, &detail, today)?;
    content.base = Some(VisitBase::of(&detail, &content));
    application(&detail, form, &content)?;
    Ok(store.record_visit(actor, at, scope, task, form, &facts, &content).await?)
}

/// Corrects a visit not yet accepted (typically one returned by the cadre); it goes back to review.
#[allow(clippy::too_many_arguments)]
pub async fn correct_visit<S: VisitStore + HouseholdStore>(
    store: &S,
    at: DateTime<Utc>,
    today: NaiveDate,
    scope: &Scope,
    actor: &Actor,
    id: VisitId,
    version: i64,
    input: &VisitInput,
) -> Result<Visit, EditError> {
    require(scope, Permission::RecordVisits)?;
    let v = store.visit(scope, id).await?.ok_or(EditError::NotFound)?;
    if v.review == ReviewStatus::Accepted {
        return Err(already_reviewed(&v));
    }
    // 谁排查谁负责: the one who recorded it, the task's screener now, or a reviewer
    let assignee = store.task(scope, v.task).await?.and_then(|t| t.screener);
    let me = actor.user_id;
    if !scope.allows(Permission::ReviewVisits) && (me.is_none() || (me != v.recorded_by_id && me != assignee)) {
        return Err(EditError::Forbidden);
    }
    if v.version != version {
        return Err(visit_conflict());
    }
    let detail = store.household(scope, &v.household_no).await?.ok_or(EditError::NotFound)?;
    let (facts, mut content) = input.parse(v.form, &detail, today)?;
    content.base = Some(VisitBase::of(&detail, &content));
    application(&detail, v.form, &content)?;
    match store.correct_visit(actor, at, scope, id, version, &facts, &content).await {
        Err(StoreError::Conflict) => Err(visit_conflict()),
        other => Ok(other?),
    }
}

fn visit_conflict() -> EditError {
    let mut e = FieldErrors::default();
    e.push("version", "核查记录", "这条核查刚被他人修改或审核：请刷新后再操作，您填写的内容已保留");
    e.into()
}

fn already_reviewed(v: &Visit) -> EditError {
    let mut e = FieldErrors::default();
    e.push(
        "version",
        "核查记录",
        format!("这条核查已{}（{}），不能再修改", v.review.label(), v.reviewed_by.clone().unwrap_or_default()),
    );
    e.into()
}

/// What accepting a visit would change, checked against the registry now: composition rules
/// (DOMAIN §8.2) and "a person in at most one household".
pub async fn plan_acceptance<S: VisitStore + HouseholdStore + RegistryLookup>(
    store: &S,
    scope: &Scope,
    v: &Visit,
) -> Result<(HouseholdDetail, Application), EditError> {
    let detail = store.household(scope, &v.household_no).await?.ok_or(EditError::NotFound)?;
    let app = application(&detail, v.form, &v.content)?;
    check_no_new_violations(&detail, &app.member_changes)?;
    let keys: Vec<u64> = app
        .member_changes
        .iter()
        .filter_map(|c| match c {
            MemberChange::Insert(m) => Some(m.national_id.key()),
            _ => None,
        })
        .collect();
    if !keys.is_empty() {
        let mut errs = FieldErrors::default();
        for (_, other_no, _) in store.member_locations(&keys).await? {
            if other_no != v.household_no {
                errs.push(
                    "members",
                    "新增成员",
                    format!("新增成员的证件号码已登记在户编号 {other_no} 的家庭中：请先从原户移除，或退回核查"),
                );
            }
        }
        if !errs.is_empty() {
            return Err(errs.into());
        }
    }
    Ok((detail, app))
}

/// Accepts a submitted visit: its content goes into the registry through the audited path.
pub async fn accept_visit<S: VisitStore + HouseholdStore + RegistryLookup>(
    store: &S,
    at: DateTime<Utc>,
    scope: &Scope,
    actor: &Actor,
    id: VisitId,
    version: i64,
    note: &str,
) -> Result<(Visit, Application), EditError> {
    require(scope, Permission::ReviewVisits)?;
    let v = store.visit(scope, id).await?.ok_or(EditError::NotFound)?;
    if v.review != ReviewStatus::Submitted {
        return Err(already_reviewed(&v));
    }
    if v.version != version {
        return Err(visit_conflict());
    }
    let (detail, app) = plan_acceptance(store, scope, &v).await?;
    match store.accept_visit(actor, at, &v, &detail, &app, note.trim()).await {
        Err(StoreError::Conflict) => Err(visit_conflict()),
        Err(e) => Err(e.into()),
        Ok(_) => Ok((v, app)),
    }
}

/// Returns a submitted visit to the screener with a reason.
pub async fn return_visit<S: VisitStore>(
    store: &S,
    at: DateTime<Utc>,
    scope: &Scope,
    actor: &Actor,
    id: VisitId,
    version: i64,
    reason: &str,
) -> Result<(), EditError> {
    require(scope, Permission::ReviewVisits)?;
    let v = store.visit(scope, id).await?.ok_or(EditError::NotFound)?;
    if v.review != ReviewStatus::Submitted {
        return Err(already_reviewed(&v));
    }
    if reason.trim().chars().count() < 2 {
        let mut e = FieldErrors::default();
        e.push("reason", "退回原因", "请写明退回原因，排查员据此修改（如：收入漏填务工收入）");
        return Err(e.into());
    }
    match store.return_visit(actor, at, scope, id, version, reason.trim()).await {
        Err(StoreError::Conflict) => Err(visit_conflict()),
        other => Ok(other?),
    }
}

/// Generates the campaign's 回头看 list (issue 3): households with open findings, only remote
/// visits, no in-person visit yet, or registry changes after their visit.
pub async fn generate_look_back<S: CampaignStore>(
    store: &S,
    at: DateTime<Utc>,
    today: NaiveDate,
    scope: &Scope,
    actor: &Actor,
    id: CampaignId,
) -> Result<i64, EditError> {
    require(scope, Permission::ManageCampaigns)?;
    let c = store.campaign(scope, id).await?.ok_or(EditError::NotFound)?;
    if !scope.contains(c.region) {
        return Err(EditError::Forbidden);
    }
    Ok(store.generate_look_back(actor, at, today, id).await?)
}

// ------------------------------------------------------------------ work calendar (DOMAIN D10, D11)

fn calendar_invalid(e: crate::calendar::CalendarError) -> EditError {
    let mut f = FieldErrors::default();
    f.push("calendar", "工作日历", e.to_string());
    f.into()
}

fn stored(c: &WorkCalendar) -> StoredCalendar {
    StoredCalendar { years: c.years(), entries: c.entries().to_vec() }
}

/// The calendar in use: the stored one. On first use the shipped data (`data/calendar.csv`) is
/// stored, so that administrators edit the database's copy from then on.
pub async fn load_calendar<S: CalendarStore>(store: &S, at: DateTime<Utc>) -> Result<WorkCalendar, EditError> {
    match store.stored_calendar().await? {
        Some(c) => WorkCalendar::new(c.years, c.entries).map_err(calendar_invalid),
        None => {
            let c = WorkCalendar::builtin();
            store
                .replace_calendar(
                    &Actor::system("工作日历"),
                    at,
                    &stored(&c),
                    "装入内置工作日历（2021—2026年全国及广西）",
                )
                .await?;
            Ok(c)
        }
    }
}

/// Adds or changes one day of the calendar (administrators); the calendar is checked as a whole
/// before anything is written. Returns the calendar as it now is.
pub async fn put_calendar_day<S: CalendarStore>(
    store: &S,
    at: DateTime<Utc>,
    scope: &Scope,
    actor: &Actor,
    entry: DayEntry,
) -> Result<WorkCalendar, EditError> {
    require(scope, Permission::SetParams)?;
    let current = load_calendar(store, at).await?;
    let mut entries: Vec<DayEntry> =
        current.entries().iter().filter(|e| !(e.date == entry.date && e.region == entry.region)).cloned().collect();
    entries.push(entry.clone());
    let checked = WorkCalendar::new(current.years(), entries).map_err(calendar_invalid)?;
    store.put_calendar_day(actor, at, &entry).await?;
    Ok(checked)
}

/// Removes one day (administrators): it becomes an ordinary day again.
pub async fn delete_calendar_day<S: CalendarStore>(
    store: &S,
    at: DateTime<Utc>,
    scope: &Scope,
    actor: &Actor,
    date: NaiveDate,
    region: Option<crate::region::RegionCode>,
) -> Result<WorkCalendar, EditError> {
    require(scope, Permission::SetParams)?;
    if !store.delete_calendar_day(actor, at, date, region).await? {
        return Err(EditError::NotFound);
    }
    load_calendar(store, at).await
}

/// Replaces the calendar with a file in the format of `data/calendar.csv` (administrators): a new
/// year's holidays, or corrections. Nothing is written unless the whole file is valid.
pub async fn replace_calendar_csv<S: CalendarStore>(
    store: &S,
    at: DateTime<Utc>,
    scope: &Scope,
    actor: &Actor,
    csv: &str,
    file_name: &str,
) -> Result<WorkCalendar, EditError> {
    require(scope, Permission::SetParams)?;
    let c = WorkCalendar::from_csv(csv).map_err(calendar_invalid)?;
    let years = c.years();
    store
        .replace_calendar(
            actor,
            at,
            &stored(&c),
            &format!("用文件“{file_name}”替换工作日历（{}—{}年）", years.start(), years.end()),
        )
        .await?;
    Ok(c)
}

// ------------------------------------------------------------------ procedures (DOMAIN D8, D9)

/// Why a case operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("记录不存在")]
    NotFound,
    #[error("您的角色无权进行此操作")]
    Forbidden,
    #[error(transparent)]
    Step(#[from] ProcedureError),
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error("该案件刚被他人办理，请刷新后查看最新进度；您填写的内容已保留")]
    Conflict,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for CaseError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => CaseError::NotFound,
            StoreError::Conflict => CaseError::Conflict,
            other => CaseError::Store(other),
        }
    }
}

impl From<ParamError> for EditError {
    fn from(e: ParamError) -> Self {
        EditError::Invalid(FieldErrors::one("file", "参数", e.to_string()))
    }
}

impl From<ParamError> for CaseError {
    fn from(e: ParamError) -> Self {
        CaseError::Invalid(FieldErrors::one("on", "办理日期", e.to_string()))
    }
}

/// The notice length and time limit that apply to a case in `region` in `year`, with the
/// parameter versions they came from.
pub async fn procedure_rules<S: ParamStore>(
    store: &S,
    year: i32,
    region: crate::region::RegionCode,
) -> Result<(ProcedureRules, Vec<crate::params::ParamRef>), CaseError> {
    let params = store.params(Some(year)).await?;
    Ok(procedure_rules_from(&params, year, region)?)
}

/// Like [`procedure_rules`], from parameters already read (one read for a whole list).
pub fn procedure_rules_from(
    params: &[crate::params::PolicyParam],
    year: i32,
    region: crate::region::RegionCode,
) -> Result<(ProcedureRules, Vec<crate::params::ParamRef>), ParamError> {
    let notice = resolve_or_default(params, year, region, ParamName::NoticeDays)?;
    let limit = resolve_or_default(params, year, region, ParamName::CaseLimitDays)?;
    let rules = ProcedureRules {
        notice_days: u32::try_from(notice.value).unwrap_or(5).max(5),
        limit_days: u32::try_from(limit.value).unwrap_or(15),
    };
    Ok((rules, vec![notice.reference, limit.reference]))
}

/// The rules of a case: those of its region in the year of its clue.
pub fn case_rules(params: &[crate::params::PolicyParam], case: &Case) -> ProcedureRules {
    procedure_rules_from(params, case.opened_on.year(), case.village).map(|(r, _)| r).unwrap_or_default()
}

fn check_files(files: &[NewAttachment]) -> Result<(), CaseError> {
    let mut errs = FieldErrors::default();
    for f in files {
        if f.body.len() > MAX_ATTACHMENT_BYTES {
            errs.push(
                "files",
                "附件",
                format!(
                    "“{}”有 {:.1} MB，超过 {} MB：请压缩照片或分页扫描后再上传",
                    f.file_name,
                    f.body.len() as f64 / 1_048_576.0,
                    MAX_ATTACHMENT_BYTES / 1_048_576
                ),
            );
        } else if f.body.is_empty() {
            errs.push("files", "附件", format!("“{}”是空文件", f.file_name));
        }
    }
    if errs.is_empty() { Ok(()) } else { Err(CaseError::Invalid(errs)) }
}

/// A clue (or a proposal to eliminate) as a user submits it.
#[derive(Debug, Clone)]
pub struct OpenCaseInput {
    pub procedure: Procedure,
    pub household_no: HouseholdNo,
    pub source: Option<ClueSource>,
    pub finding_id: Option<i64>,
    pub on: NaiveDate,
    pub note: String,
}

/// Opens a case on a household of the caller's scope: a clue opens an identification (from a
/// finding it takes the finding along, which becomes 已转为线索).
#[allow(clippy::too_many_arguments)]
pub async fn open_case<S: CaseStore + HouseholdStore + FindingStore + ParamStore + NotificationStore>(
    store: &S,
    at: DateTime<Utc>,
    today: NaiveDate,
    scope: &Scope,
    actor: &Actor,
    input: &OpenCaseInput,
    files: &[NewAttachment],
) -> Result<Case, CaseError> {
    let first = input.procedure.steps()[0];
    if !first.allows(scope.role()) {
        return Err(OpenError::WrongRole { step: first, role: scope.role(), allowed: first.roles_label() }.into());
    }
    let detail = store.household(scope, &input.household_no).await?.ok_or(CaseError::NotFound)?;
    let h = &detail.record.household;
    match (input.procedure, &h.monitoring) {
        (Procedure::Identification, m @ crate::household::Monitoring::Monitored { .. }) => {
            return Err(OpenError::AlreadyMonitored(m.describe()).into());
        }
        (Procedure::Elimination, m) if !matches!(m, crate::household::Monitoring::Monitored { .. }) => {
            return Err(OpenError::NotMonitored(m.describe()).into());
        }
        _ => {}
    }
    let open = CaseFilter { household: Some(detail.record.id), status: Some(CaseStatus::Open), ..Default::default() };
    if let Some(c) = store.cases(scope, &open, 1).await?.items.first() {
        return Err(OpenError::AlreadyOpen { procedure: c.procedure, id: c.id.0 }.into());
    }
    if input.on > today {
        return Err(OpenError::InFuture { today }.into());
    }
    let mut note = input.note.trim().to_string();
    let mut source = input.source;
    if let Some(fid) = input.finding_id {
        let filter = FindingFilter { household: Some(detail.record.id), ..Default::default() };
        let findings = store.findings(scope, &filter, 500).await?;
        let f = findings.items.iter().find(|f| f.id == fid).ok_or(CaseError::NotFound)?;
        if input.procedure == Procedure::Identification && f.code != crate::rules::FindingCode::ShouldMonitor {
            return Err(CaseError::Invalid(FieldErrors::one(
                "finding",
                "排查发现",
                format!("只有“应纳未纳”的发现可以转为识别认定线索，该发现是“{}”", f.code.label()),
            )));
        }
        if f.status != FindingStatus::Open {
            return Err(CaseError::Invalid(FieldErrors::one(
                "finding",
                "排查发现",
                format!("该发现已{}，不能再转为线索", f.status.label()),
            )));
        }
        source = source.or(Some(ClueSource::Campaign));
        if note.is_empty() {
            note = format!("{}：{}", f.code.label(), f.explanation);
        }
    }
    if note.is_empty() {
        return Err(OpenError::NoteRequired.into());
    }
    // D9: the conditions the rules can check must hold before a proposal
    if input.procedure == Procedure::Elimination {
        let blockers = elimination_blockers(store, &detail, input.on).await?;
        if !blockers.is_empty() {
            return Err(OpenError::Blocked(blockers.join("；")).into());
        }
    }
    if input.procedure == Procedure::Identification && source.is_none() {
        return Err(CaseError::Invalid(FieldErrors::one(
            "source",
            "线索来源",
            format!("请选择线索来源：{}", ClueSource::labels_hint()),
        )));
    }
    check_files(files)?;
    let new = NewCase {
        procedure: input.procedure,
        household_id: detail.record.id,
        source,
        finding_id: input.finding_id,
        opened_on: input.on,
        note,
    };
    let case = store.open_case(actor, at, scope, &new, files).await?;
    store.notify(at, &case_notes(&case)).await?;
    Ok(case)
}

/// Who must act next on a case, or who learns how it ended.
fn case_notes(c: &Case) -> Vec<crate::notify::NewNotification> {
    use crate::notify::NewNotification;
    let who = format!("户 {}（{}）", c.household_no, c.head_name.as_deref().unwrap_or("无户主"));
    let link = format!("/cases/{}", c.id.0);
    match c.status {
        CaseStatus::Open => match c.next(&ProcedureRules::default()) {
            Some(n) => n
                .step()
                .roles()
                .iter()
                .map(|r| {
                    let what = match n {
                        crate::procedure::NextAction::EndNotice { earliest_end, .. } => {
                            format!("公示中，{earliest_end}起可结束")
                        }
                        crate::procedure::NextAction::Step { step } => format!("待{step}"),
                    };
                    NewNotification::to_role(
                        *r,
                        c.village,
                        format!("{who}{}案件 #{}：{what}", c.procedure.label(), c.id.0),
                        link.clone(),
                    )
                })
                .collect(),
            None => Vec::new(),
        },
        CaseStatus::Completed if c.procedure == Procedure::Identification => [Role::TownOffice, Role::VillageCadre]
            .iter()
            .map(|r| {
                NewNotification::to_role(
                    *r,
                    c.village,
                    format!("{who}已纳入监测：请在规定时限内落实帮扶责任人"),
                    format!("/households/{}/officer", c.household_no),
                )
            })
            .collect(),
        CaseStatus::Completed => {
            vec![NewNotification::to_role(Role::VillageCadre, c.village, format!("{who}已标注风险消除"), link)]
        }
        CaseStatus::Rejected | CaseStatus::Withdrawn => vec![NewNotification::to_role(
            Role::VillageCadre,
            c.village,
            format!(
                "{who}{}案件 #{}{}",
                c.procedure.label(),
                c.id.0,
                if c.status == CaseStatus::Rejected { c.procedure.rejected_label() } else { "已撤销" }
            ),
            link,
        )],
    }
}

/// Records the next step of a case the caller may see, as checked by [`check_step`]; the last
/// step changes the household (纳入监测 / 标注风险消除) in the same transaction.
#[allow(clippy::too_many_arguments)]
pub async fn record_step<
    S: CaseStore + HouseholdStore + ParamStore + MeasureStore + NotificationStore + crate::ports::ExclusionStore,
>(
    store: &S,
    at: DateTime<Utc>,
    today: NaiveDate,
    scope: &Scope,
    actor: &Actor,
    id: CaseId,
    version: i64,
    input: &StepInput,
    files: &[NewAttachment],
) -> Result<Case, CaseError> {
    let case = store.case(scope, id).await?.ok_or(CaseError::NotFound)?;
    if case.version != version && case.is_open() {
        return Err(CaseError::Conflict);
    }
    let (rules, params) = procedure_rules(store, case.opened_on.year(), case.village).await?;
    let mut plan = check_step(&case, input, scope.role(), today, &rules)?;
    plan.params = params;
    check_files(files)?;
    // the county's category and risks must fit the household (D5, D7): the procedure never
    // writes a record the screening would call a data error
    if let Some(Decision::Inclusion { category, risks, disaster }) = &plan.decision {
        let before = store.household(scope, &case.household_no).await?.ok_or(CaseError::NotFound)?;
        let mut after = before.record.household.clone();
        after.monitoring = crate::household::Monitoring::Monitored { category: *category, since: plan.on };
        after.risks = risks.clone();
        after.disaster_kind = disaster.or(after.disaster_kind);
        let had: Vec<String> =
            crate::fields::check_household_fields(&before.record.household).iter().map(|r| r.to_string()).collect();
        let new: Vec<String> = crate::fields::check_household_fields(&after)
            .iter()
            .map(|r| r.to_string())
            .filter(|r| !had.contains(r))
            .collect();
        if !new.is_empty() {
            return Err(ProcedureError::Inconsistent(new.join("；")).into());
        }
    }
    // D9 at the county: the conditions still hold; 帮扶消除 needs an implemented measure
    if let Some(Decision::Elimination { mode }) = &plan.decision {
        let d = store.household(scope, &case.household_no).await?.ok_or(CaseError::NotFound)?;
        let mut blockers = elimination_blockers(store, &d, plan.on).await?;
        if *mode == crate::codes::EliminationMode::Assisted {
            let measures = store.measures(scope, d.record.id).await?;
            blockers.extend(crate::measure::assisted_elimination_gaps(&d.record.household.risks, &measures));
        }
        if !blockers.is_empty() {
            return Err(ProcedureError::Inconsistent(blockers.join("；")).into());
        }
    }
    // D16: a household with a 不宜纳入 fact passes 信息比对 only with an exception approved by the
    // town and the county
    // (checked again at 县级审定: a fact may have arrived after 信息比对)
    if case.procedure == Procedure::Identification
        && matches!(plan.step, Step::DataCheck | Step::CountyApproval)
        && plan.outcome == StepOutcome::Passed
    {
        let d = store.household(scope, &case.household_no).await?.ok_or(CaseError::NotFound)?;
        let facts = blocking_exclusions(store, &case, d.record.id).await?;
        if !facts.is_empty() && !store.exclusion_override(case.id.0).await?.is_some_and(|o| o.approved()) {
            let list: Vec<String> = facts.iter().map(|f| f.describe()).collect();
            return Err(ProcedureError::Excluded(format!(
                "部门比对发现不宜纳入情形：{}。不能通过信息比对：确属突发严重困难等特殊情况的，须由乡镇申请、县级批准例外后再办理；否则请选择“不通过”并写明理由",
                list.join("；")
            ))
            .into());
        }
    }
    let steps = case.procedure.steps();
    let next_step = match plan.status {
        CaseStatus::Open if plan.outcome == StepOutcome::Started => Some(Step::PublicNotice),
        CaseStatus::Open => steps.iter().position(|s| *s == plan.step).and_then(|i| steps.get(i + 1)).copied(),
        _ => None,
    };
    let effect = if plan.status == CaseStatus::Completed {
        let before = store.household(scope, &case.household_no).await?.ok_or(CaseError::NotFound)?;
        let mut after = before.record.household.clone();
        match (case.procedure, case.decision()) {
            (Procedure::Identification, Some(Decision::Inclusion { category, risks, disaster })) => {
                after.monitoring = crate::household::Monitoring::Monitored { category: *category, since: plan.on };
                after.risks = risks.clone();
                after.disaster_kind = disaster.or(after.disaster_kind);
            }
            (Procedure::Elimination, Some(Decision::Elimination { mode })) => {
                let (category, since) = match before.record.household.monitoring {
                    crate::household::Monitoring::Monitored { category, since } => (category, since),
                    _ => return Err(OpenError::NotMonitored(before.record.household.monitoring.describe()).into()),
                };
                after.monitoring =
                    crate::household::Monitoring::Eliminated { category, since, mode: *mode, on: plan.on };
            }
            _ => return Err(ProcedureError::InclusionDecisionRequired.into()),
        }
        let note = format!("{}案件 #{}：{}（{}）", case.procedure.label(), case.id.0, plan.step.label(), plan.on);
        Some(HouseholdEffect { before, after, note })
    } else {
        None
    };
    let after = store.record_step(actor, at, &case, &plan, next_step, files, effect.as_ref()).await?;
    store.notify(at, &case_notes(&after)).await?;
    Ok(after)
}

/// Closes an open case as withdrawn (the household withdraws its application, or the clue
/// proves unfounded before the review steps), with a reason.
#[allow(clippy::too_many_arguments)]
pub async fn withdraw_case<S: CaseStore>(
    store: &S,
    at: DateTime<Utc>,
    today: NaiveDate,
    scope: &Scope,
    actor: &Actor,
    id: CaseId,
    version: i64,
    reason: &str,
) -> Result<Case, CaseError> {
    if !matches!(scope.role(), Role::VillageCadre | Role::TownOffice) {
        return Err(ProcedureError::WithdrawRole { role: scope.role() }.into());
    }
    let case = store.case(scope, id).await?.ok_or(CaseError::NotFound)?;
    if !case.is_open() {
        return Err(ProcedureError::Closed { status: case.status.label().to_string() }.into());
    }
    if case.version != version {
        return Err(CaseError::Conflict);
    }
    let rules = ProcedureRules::default();
    if !case.may_withdraw(&rules) {
        let step = case.next(&rules).map(|n| n.step()).unwrap_or(Step::Clue);
        return Err(ProcedureError::TooLateToWithdraw { step }.into());
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(CaseError::Invalid(FieldErrors::one(
            "reason",
            "撤销理由",
            "请填写撤销理由（如：农户书面申请撤回）",
        )));
    }
    Ok(store.withdraw_case(actor, at, &case, today, reason).await?)
}

/// A file of a case the caller may see; every download is audited (a consent form carries ID
/// numbers and signatures, D18).
pub async fn download_attachment<S: CaseStore + AuditStore>(
    store: &S,
    at: DateTime<Utc>,
    scope: &Scope,
    actor: &Actor,
    id: i64,
) -> Result<(AttachmentMeta, Vec<u8>), CaseError> {
    if !scope.allows(Permission::ViewSensitive) {
        return Err(CaseError::Forbidden);
    }
    let (meta, case, body) = store.attachment(scope, id).await?.ok_or(CaseError::NotFound)?;
    let e = AuditEntry::new(at, actor, AuditAction::ViewSensitive, "case", case.0)
        .note(format!("下载案件 #{} 的附件“{}”", case.0, meta.file_name));
    store.append_audit(&[e]).await?;
    Ok((meta, body))
}

// ------------------------------------------------------------------ assistance officers (§7.1, D10)

/// The officer and measure deadlines' parameters for a household of `region` included in `year`.
pub async fn assistance_rules<S: ParamStore>(
    store: &S,
    year: i32,
    region: crate::region::RegionCode,
) -> Result<AssistanceRules, EditError> {
    let params = store.params(Some(year)).await?;
    Ok(assistance_rules_from(&params, year, region))
}

/// Like [`assistance_rules`], from parameters already read (one read for a whole list).
pub fn assistance_rules_from(
    params: &[crate::params::PolicyParam],
    year: i32,
    region: crate::region::RegionCode,
) -> AssistanceRules {
    let value = |name| resolve_or_default(params, year, region, name).map(|a| a.value).ok();
    let d = AssistanceRules::default();
    AssistanceRules {
        officer_workdays: value(ParamName::OfficerDueWorkdays)
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(d.officer_workdays),
        measures_days: value(ParamName::MeasuresDueDays).and_then(|v| u32::try_from(v).ok()).unwrap_or(d.measures_days),
        measures_from_inclusion: value(ParamName::MeasuresClockStart).map_or(d.measures_from_inclusion, |v| v == 1),
        policy: match value(ParamName::HolidayExtension) {
            Some(0) => crate::calendar::HolidayPolicy::NO_EXTENSION,
            _ => d.policy,
        },
    }
}

/// A household's officers, the active one first. A role that sees their phone numbers in full
/// leaves an audit entry, as for any full phone number (D18).
pub async fn officer_history<S: AssistanceStore + AuditStore>(
    store: &S,
    at: DateTime<Utc>,
    scope: &Scope,
    actor: &Actor,
    household: &crate::ports::HouseholdRecord,
) -> Result<Vec<OfficerAssignment>, EditError> {
    let list = store.officer_history(scope, household.id).await?;
    if scope.allows(Permission::ViewSensitive) && list.iter().any(|o| o.phone.is_some()) {
        let e = AuditEntry::new(at, actor, AuditAction::ViewSensitive, "household", household.id.0)
            .region(household.household.village)
            .note(format!("查看户 {} 帮扶责任人的完整联系电话", household.household.household_no));
        store.append_audit(&[e]).await?;
    }
    Ok(list)
}

/// Assigns (or replaces) the officer of a monitored household of the caller's scope, at the
/// household version the user saw.
#[allow(clippy::too_many_arguments)]
pub async fn assign_officer<S: HouseholdStore + AssistanceStore + UserStore>(
    store: &S,
    at: DateTime<Utc>,
    today: NaiveDate,
    scope: &Scope,
    actor: &Actor,
    no: &HouseholdNo,
    expected_version: i64,
    input: &OfficerInput,
) -> Result<OfficerAssignment, EditError> {
    require(scope, Permission::AssignOfficers)?;
    let detail = store.household(scope, no).await?.ok_or(EditError::NotFound)?;
    if detail.record.version != expected_version {
        return Err(EditError::Conflict { current: detail.record.version });
    }
    let h = &detail.record.household;
    let crate::household::Monitoring::Monitored { since, .. } = h.monitoring else {
        return Err(FieldErrors::one(
            "name",
            "帮扶责任人",
            format!("该户{}，只有监测中的户需要落实帮扶责任人", h.monitoring.describe()),
        )
        .into());
    };
    let account = match input.user.trim() {
        "" => None,
        id => {
            let user = match id.parse::<i64>() {
                Ok(id) => store.user(UserId(id)).await?,
                Err(_) => None,
            };
            match user {
                Some(u) if u.active && u.role == Role::AssistanceOfficer && u.region.contains(h.village) => {
                    let name = if u.display_name.is_empty() { u.username.to_string() } else { u.display_name.clone() };
                    Some((u.id, name))
                }
                _ => {
                    return Err(FieldErrors::one(
                        "user",
                        "帮扶责任人账户",
                        "所选账户不是本村（或上级）在用的帮扶责任人账户",
                    )
                    .into());
                }
            }
        }
    };
    let officer = input.parse(account, since, today, h.officer.is_some())?;
    // a replacement starts on or after the current officer's first day
    let history = store.officer_history(scope, detail.record.id).await?;
    if let Some(cur) = history.iter().find(|o| o.ended_on.is_none())
        && officer.started_on < cur.started_on
    {
        return Err(FieldErrors::one(
            "on",
            "帮扶开始时间",
            format!("不能早于现任帮扶责任人{}的开始时间（{}）", cur.name, cur.started_on),
        )
        .into());
    }
    match store.assign_officer(actor, at, &detail, &officer).await {
        // someone assigned one in between: the same as a stale form
        Err(StoreError::Conflict | StoreError::Duplicate(_)) => {
            let current = store.household(scope, no).await?.ok_or(EditError::NotFound)?.record.version;
            Err(EditError::Conflict { current })
        }
        other => Ok(other?),
    }
}

/// A monitored household without an officer, with its deadline today (D10).
#[derive(Debug, Clone, serde::Serialize)]
pub struct OfficerDeadline {
    pub gap: OfficerGap,
    pub state: Result<DeadlineState, String>,
}

/// The monitored households of the scope still without an officer, overdue first.
pub async fn officer_deadlines<S: AssistanceStore + ParamStore>(
    store: &S,
    calendar: &WorkCalendar,
    scope: &Scope,
    today: NaiveDate,
    region: Option<crate::region::RegionCode>,
    limit: u32,
) -> Result<(Vec<OfficerDeadline>, i64), EditError> {
    let page = store.officer_gaps(scope, region, limit).await?;
    let params = store.params(None).await?;
    let items = page
        .items
        .into_iter()
        .map(|gap| {
            let rules = assistance_rules_from(&params, gap.monitored_since.year(), gap.village);
            let state = officer_due(calendar, gap.monitored_since, gap.village, &rules)
                .and_then(|due| DeadlineState::of(calendar, due, today, gap.village))
                .map_err(|e| e.to_string());
            OfficerDeadline { gap, state }
        })
        .collect();
    Ok((items, page.total))
}

// ------------------------------------------------------------------ measures (§7.2, §7.3)

/// What the measures page shows besides the list: proposals (缺什么补什么) and the warning.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MeasureAdvice {
    pub proposals: Vec<crate::measure::Proposal>,
    pub developmental_warning: Option<String>,
}

/// Proposals from the household's risks and its 两不愁三保障/饮水 problems as the rules see them
/// today, and the developmental-measure warning for an able-bodied household (§7.2, §7.3).
pub fn measure_advice(
    d: &HouseholdDetail,
    measures: &[crate::measure::Measure],
    params: &[crate::params::PolicyParam],
    calendar: &WorkCalendar,
    today: NaiveDate,
) -> MeasureAdvice {
    let ctx = crate::rules::Context { as_of: today, params, calendar };
    let needs = crate::rules::needs(d, &ctx).unwrap_or_default();
    let have: Vec<_> =
        measures.iter().filter(|m| m.status != crate::measure::MeasureStatus::Cancelled).map(|m| m.category).collect();
    let proposals = crate::measure::propose(&d.record.household.risks, &needs)
        .into_iter()
        .filter(|p| !have.contains(&p.category))
        .collect();
    let able = d.members.iter().any(|m| m.member.labour_skill.is_able());
    let monitored = matches!(d.record.household.monitoring, crate::household::Monitoring::Monitored { .. });
    MeasureAdvice {
        proposals,
        developmental_warning: if monitored { crate::measure::developmental_warning(able, measures) } else { None },
    }
}

/// Adds a measure to a monitored household of the caller's scope.
pub async fn add_measure<S: HouseholdStore + MeasureStore + AssistanceStore>(
    store: &S,
    at: DateTime<Utc>,
    today: NaiveDate,
    scope: &Scope,
    actor: &Actor,
    no: &HouseholdNo,
    input: &crate::measure::MeasureInput,
) -> Result<crate::measure::Measure, EditError> {
    require(scope, Permission::ManageMeasures)?;
    let d = store.household(scope, no).await?.ok_or(EditError::NotFound)?;
    // an assistance officer records measures of the households they serve only
    if let Some(me) = scope.own_tasks_only() {
        let officers = store.officer_history(scope, d.record.id).await?;
        if !officers.iter().any(|o| o.ended_on.is_none() && o.user_id == Some(me)) {
            return Err(EditError::Forbidden);
        }
    }
    if !matches!(d.record.household.monitoring, crate::household::Monitoring::Monitored { .. }) {
        return Err(FieldErrors::one(
            "category",
            "措施类别",
            format!("该户{}，只有监测中的户登记帮扶措施", d.record.household.monitoring.describe()),
        )
        .into());
    }
    let m = input.parse(today)?;
    Ok(store.add_measure(actor, at, &d, &m).await?)
}

/// Rewrites a measure (status, dates, content) at the version the user saw.
#[allow(clippy::too_many_arguments)]
pub async fn update_measure<S: MeasureStore>(
    store: &S,
    at: DateTime<Utc>,
    today: NaiveDate,
    scope: &Scope,
    actor: &Actor,
    id: i64,
    version: i64,
    input: &crate::measure::MeasureInput,
) -> Result<crate::measure::Measure, EditError> {
    require(scope, Permission::ManageMeasures)?;
    let m = input.parse(today)?;
    match store.update_measure(actor, at, scope, id, version, &m).await {
        Err(StoreError::Conflict) => Err(EditError::Stale { what: format!("措施 #{id}"), current: version + 1 }),
        other => Ok(other?),
    }
}

/// A household whose officer has taken no measure yet, with the deadline (D10).
#[derive(Debug, Clone, serde::Serialize)]
pub struct MeasureDeadline {
    pub gap: crate::ports::MeasureGap,
    /// Where the clock started (the officer's assignment or 纳入监测, D10).
    pub start: NaiveDate,
    /// The deadline (moved past a holiday), the strict date, and where it stands today.
    pub due: Result<(crate::calendar::Due, DeadlineState), String>,
}

pub async fn measure_deadlines<S: MeasureStore + ParamStore>(
    store: &S,
    calendar: &WorkCalendar,
    scope: &Scope,
    today: NaiveDate,
    region: Option<crate::region::RegionCode>,
    limit: u32,
) -> Result<(Vec<MeasureDeadline>, i64), EditError> {
    let page = store.measure_gaps(scope, region, limit).await?;
    let params = store.params(None).await?;
    let items = page
        .items
        .into_iter()
        .filter_map(|gap| {
            let rules = assistance_rules_from(&params, gap.monitored_since.year(), gap.village);
            // not started: no officer yet and the clock starts with the officer
            let start = rules.measures_start(gap.monitored_since, gap.assigned_on)?;
            let due = crate::assistance::measures_due(calendar, start, gap.village, &rules)
                .and_then(|due| Ok((due, DeadlineState::of(calendar, due.extended, today, gap.village)?)))
                .map_err(|e| e.to_string());
            Some(MeasureDeadline { gap, start, due })
        })
        .collect();
    Ok((items, page.total))
}

/// Open cases waiting at one step, and where their time limit stands (D8: a warning, counted
/// from the clue).
#[derive(Debug, Clone, serde::Serialize)]
pub struct CaseDueCounts {
    pub procedure: Procedure,
    pub next_step: crate::procedure::Step,
    /// Open cases waiting at this step.
    pub open: i64,
    /// Where the time limit stands (identification only: D9 sets none for elimination).
    pub limit: crate::assistance::DueCounts,
    /// Running notices that have run their full days and may end (by the village).
    pub notices_endable: i64,
}

/// Every deadline of the scope counted exactly (not from a page of rows): officers to assign
/// (working days after 纳入监测), first measures (calendar days, D10), open cases by step.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DeadlineSummary {
    pub officers: crate::assistance::DueCounts,
    pub measures: crate::assistance::DueCounts,
    pub cases: Vec<CaseDueCounts>,
}

pub async fn deadline_summary<S: AssistanceStore + MeasureStore + CaseStore + ParamStore>(
    store: &S,
    calendar: &WorkCalendar,
    scope: &Scope,
    today: NaiveDate,
    region: Option<crate::region::RegionCode>,
) -> Result<DeadlineSummary, EditError> {
    let params = store.params(None).await?;
    let mut out = DeadlineSummary::default();
    for g in store.officer_gap_groups(scope, region).await? {
        let rules = assistance_rules_from(&params, g.monitored_since.year(), g.village);
        out.officers.add(officer_due(calendar, g.monitored_since, g.village, &rules).ok(), today, g.count);
    }
    for g in store.measure_gap_groups(scope, region).await? {
        let rules = assistance_rules_from(&params, g.monitored_since.year(), g.village);
        // not started (no officer yet, counted from the officer): the officer deadline covers it
        let Some(start) = rules.measures_start(g.monitored_since, g.first_officer) else { continue };
        let due = crate::assistance::measures_due(calendar, start, g.village, &rules).ok();
        out.measures.add(due.map(|d| d.extended), today, g.count);
    }
    for g in store.case_groups(scope, region).await? {
        let rules = procedure_rules_from(&params, g.opened_on.year(), g.village).map(|(r, _)| r).unwrap_or_default();
        let i = match out.cases.iter().position(|c| c.procedure == g.procedure && c.next_step == g.next_step) {
            Some(i) => i,
            None => {
                out.cases.push(CaseDueCounts {
                    procedure: g.procedure,
                    next_step: g.next_step,
                    open: 0,
                    limit: Default::default(),
                    notices_endable: 0,
                });
                out.cases.len() - 1
            }
        };
        let c = &mut out.cases[i];
        c.open += g.count;
        if g.procedure == Procedure::Identification {
            let limit = g.opened_on.checked_add_days(chrono::Days::new(u64::from(rules.limit_days)));
            c.limit.add(limit, today, g.count);
        }
        if let Some(started) = g.notice_started
            && crate::procedure::notice_earliest_end(started, rules.notice_days) <= today
        {
            c.notices_endable += g.count;
        }
    }
    out.cases.sort_by_key(|c| (c.procedure.code(), c.next_step.code()));
    Ok(out)
}

// ------------------------------------------------------------------ department task lists (§7.3)

/// Pushes tasks to the departments for a monitored household of the caller's scope: each
/// (department, measure) chosen, with the reasons fangpin's proposal gives and a due date of
/// `measures_days` calendar days (D10). One already open is not pushed twice.
#[allow(clippy::too_many_arguments)]
pub async fn push_department_tasks<
    S: HouseholdStore + MeasureStore + DepartmentTaskStore + ParamStore + NotificationStore,
>(
    store: &S,
    calendar: &WorkCalendar,
    at: DateTime<Utc>,
    today: NaiveDate,
    scope: &Scope,
    actor: &Actor,
    no: &HouseholdNo,
    chosen: &[(crate::measure::Department, crate::measure::MeasureCategory)],
) -> Result<Vec<crate::department_task::DepartmentTask>, EditError> {
    require(scope, Permission::AssignOfficers)?;
    let d = store.household(scope, no).await?.ok_or(EditError::NotFound)?;
    let h = &d.record.household;
    if !matches!(h.monitoring, crate::household::Monitoring::Monitored { .. }) {
        return Err(FieldErrors::one(
            "department",
            "行业部门",
            format!("该户{}，只有监测中的户推送任务清单", h.monitoring.describe()),
        )
        .into());
    }
    if chosen.is_empty() {
        return Err(FieldErrors::one("department", "行业部门", "请选择要推送的部门和措施").into());
    }
    let measures = store.measures(scope, d.record.id).await?;
    let params = store.params(None).await?;
    let advice = measure_advice(&d, &measures, &params, calendar, today);
    let rules = assistance_rules_from(&params, today.year(), h.village);
    let due = crate::assistance::measures_due(calendar, today, h.village, &rules)
        .map_err(|e| EditError::Invalid(FieldErrors::one("department", "行业部门", e.to_string())))?;
    let tasks: Vec<crate::ports::NewDepartmentTask> = chosen
        .iter()
        .map(|(department, category)| {
            let reason = advice
                .proposals
                .iter()
                .find(|p| p.category == *category)
                .map(|p| p.because.join("；"))
                .unwrap_or_else(|| h.risks.iter().map(|r| r.label()).collect::<Vec<_>>().join("、"));
            crate::ports::NewDepartmentTask {
                department: *department,
                category: *category,
                reason,
                due_on: due.extended,
            }
        })
        .collect();
    let pushed = store.push_department_tasks(actor, at, &d, &tasks).await?;
    let notes: Vec<_> = pushed
        .iter()
        .map(|t| {
            crate::notify::NewNotification::to_department(
                t.department,
                t.village,
                format!("任务清单 #{}：户 {} 需落实{}，办理时限 {}", t.id, t.household_no, t.category, t.due_on),
                "/department-tasks".to_string(),
            )
        })
        .collect();
    store.notify(at, &notes).await?;
    Ok(pushed)
}

/// The tasks a user may see: a department's staff only their department's (DOMAIN D15); the
/// others every department's within their region.
pub async fn department_task_filter<S: DepartmentTaskStore>(
    store: &S,
    scope: &Scope,
    user: UserId,
    mut filter: crate::ports::DepartmentTaskFilter,
) -> Result<crate::ports::DepartmentTaskFilter, EditError> {
    if scope.role() == Role::DepartmentStaff {
        match store.user_department(user).await? {
            Some(d) => filter.department = Some(d),
            None => return Err(EditError::Forbidden),
        }
    }
    // screeners and assistance officers follow their own households' tasks on those households' pages
    if scope.own_tasks_only().is_some() {
        return Err(EditError::Forbidden);
    }
    Ok(filter)
}

/// A department's action on one of its tasks, at the version the user saw; completion records
/// the implemented measure on the household.
#[allow(clippy::too_many_arguments)]
pub async fn act_on_department_task<S: DepartmentTaskStore + NotificationStore>(
    store: &S,
    at: DateTime<Utc>,
    today: NaiveDate,
    scope: &Scope,
    actor: &Actor,
    user: UserId,
    id: i64,
    version: i64,
    action: &crate::department_task::TaskAction,
) -> Result<crate::department_task::DepartmentTask, EditError> {
    use crate::department_task::TaskAction;
    let filter = department_task_filter(store, scope, user, Default::default()).await;
    let task = store.department_task(scope, id).await?.ok_or(EditError::NotFound)?;
    if let Ok(f) = &filter
        && f.department.is_some_and(|d| d != task.department)
    {
        return Err(EditError::NotFound);
    }
    if task.version != version {
        return Err(EditError::Stale { what: format!("任务清单 #{}", task.id), current: task.version });
    }
    let department = store.user_department(user).await?;
    let state =
        crate::department_task::check_action(&task, scope.role(), department, action, today).map_err(|e| match e {
            crate::department_task::TaskError::NotYourDepartment { .. } => EditError::Forbidden,
            other => EditError::Invalid(FieldErrors::one("text", "答复", other.to_string())),
        })?;
    let (answer, completed_on, measure) = match action {
        TaskAction::Accept => (None, None, None),
        TaskAction::Answer { text } => (Some(text.trim().to_string()), None, None),
        TaskAction::SendBack { reason } => (Some(format!("退回：{}", reason.trim())), None, None),
        TaskAction::Complete { text, on } => (
            Some(text.trim().to_string()),
            Some(*on),
            Some(crate::measure::NewMeasure {
                category: task.category,
                department: Some(task.department),
                content: text.trim().to_string(),
                planned_on: (*on).min(today),
                completed_on: Some(*on),
                status: crate::measure::MeasureStatus::Implemented,
                funds: None,
                note: format!("{}办结任务清单 #{}", task.department.label(), task.id),
            }),
        ),
    };
    let after = match store
        .act_on_department_task(actor, at, &task, state, answer.as_deref(), completed_on, measure.as_ref())
        .await
    {
        Err(StoreError::Conflict) => {
            return Err(EditError::Stale { what: format!("任务清单 #{}", task.id), current: task.version + 1 });
        }
        other => other?,
    };
    if matches!(after.state, crate::department_task::TaskState::Completed | crate::department_task::TaskState::SentBack)
    {
        let note = crate::notify::NewNotification::to_role(
            Role::TownOffice,
            after.village,
            format!(
                "{}{}任务清单 #{}（户 {}）：{}",
                after.department, after.state, after.id, after.household_no, after.answer
            ),
            format!("/households/{}/measures", after.household_no),
        );
        store.notify(at, &[note]).await?;
    }
    Ok(after)
}

// ------------------------------------------------------------------ elimination (D9)

/// The D9 conditions that do not hold for a household on `on` (empty: it may be proposed).
pub async fn elimination_blockers<S: ParamStore>(
    store: &S,
    d: &HouseholdDetail,
    on: NaiveDate,
) -> Result<Vec<String>, CaseError> {
    let params = store.params(None).await?;
    // the conditions read no dates of the calendar; the context needs one
    let calendar = WorkCalendar::builtin();
    let ctx = crate::rules::Context { as_of: on, params: &params, calendar: &calendar };
    crate::rules::elimination_blockers(d, &ctx)
        .map_err(|e| CaseError::Invalid(FieldErrors::one("on", "日期", e.to_string())))
}

/// 回退: an eliminated household goes back under monitoring (it still needs policies, e.g. a
/// no-labour household that needs 兜底), with its category and 识别监测时间, and the reason; audited.
#[allow(clippy::too_many_arguments)]
pub async fn roll_back_elimination<S: HouseholdStore + AuditStore + CaseStore>(
    store: &S,
    at: DateTime<Utc>,
    scope: &Scope,
    actor: &Actor,
    no: &HouseholdNo,
    expected_version: i64,
    reason: &str,
) -> Result<HouseholdRecord, EditError> {
    if !matches!(scope.role(), Role::TownOffice | Role::CountyApprover) {
        return Err(EditError::Forbidden);
    }
    let detail = store.household(scope, no).await?.ok_or(EditError::NotFound)?;
    if detail.record.version != expected_version {
        return Err(EditError::Conflict { current: detail.record.version });
    }
    let h = &detail.record.household;
    let crate::household::Monitoring::Eliminated { category, since, mode, on } = h.monitoring else {
        return Err(FieldErrors::one(
            "reason",
            "回退原因",
            format!("该户{}，只有已标注风险消除的户可以回退", h.monitoring.describe()),
        )
        .into());
    };
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(FieldErrors::one("reason", "回退原因", "请写明回退原因（如：无劳动能力，仍需低保兜底）").into());
    }
    let mut after = h.clone();
    after.monitoring = crate::household::Monitoring::Monitored { category, since };
    let saved = store.save_household(actor, at, &detail, &after).await;
    let saved = lost_race(store, scope, no, saved).await?;
    let e = AuditEntry::new(at, actor, AuditAction::Update, "household", detail.record.id.0)
        .region(h.village)
        .before(&serde_json::json!({ "elimination_mode": mode.label(), "eliminated_on": on }))
        .after(&serde_json::json!({ "monitoring": "监测中", "reason": reason }))
        .note(format!("回退户 {no} 的风险消除（{mode}，{on}）：{reason}"));
    store.append_audit(&[e]).await?;
    Ok(saved)
}

// ------------------------------------------------------------------ department feeds (§9, D15–D17)

/// A department file read and checked by the caller (no cell errors), to import.
#[derive(Debug, Clone)]
pub struct FeedInput<'a> {
    pub kind: crate::feed::FeedKind,
    pub file_name: &'a str,
    pub sha256: &'a str,
    pub rows: &'a [crate::feed::FeedRow],
    /// Check and report only.
    pub dry_run: bool,
    /// A column mapping typed for this file (JSON), saved for the department's next files of
    /// this kind once the file has been imported.
    pub mapping_to_save: Option<String>,
}

/// What a feed import found and did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FeedReport {
    pub kind: crate::feed::FeedKind,
    pub file_name: String,
    pub rows_read: i64,
    pub matched: i64,
    /// Matched rows below their threshold (or an item that does not warn).
    pub quiet: i64,
    pub unmatched: Vec<crate::feed::Unmatched>,
    /// Alerts the rows ask for (before deduplication against the open ones).
    pub alerts: i64,
    pub facts: i64,
    /// What was written; `None` for a dry run or a file imported before.
    pub outcome: Option<crate::ports::FeedOutcome>,
    /// The batch that imported this very file before: nothing is imported twice.
    pub previous: Option<crate::ports::FeedBatch>,
    pub dry_run: bool,
}

/// The row's cells as JSON, as the department sent them (the alert's evidence).
fn feed_evidence(r: &crate::feed::FeedRow) -> String {
    let map: serde_json::Map<String, serde_json::Value> =
        r.cells.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
    serde_json::Value::Object(map).to_string()
}

/// What a matched feed row becomes.
enum RowOutcome {
    Quiet,
    Alert(Box<crate::feed::AlertDraft>),
    Fact(crate::feed::ExclusionDraft),
}

/// A matched row against its threshold for the household's group and year (D15), its alert due
/// in the verification time on the village's calendar; a 不宜纳入 kind becomes a fact (D16).
fn assess_feed_row(
    kind: crate::feed::FeedKind,
    r: &crate::feed::FeedRow,
    m: &crate::ports::MemberMatch,
    params: &[crate::params::PolicyParam],
    calendar: &WorkCalendar,
    today: NaiveDate,
) -> Result<RowOutcome, EditError> {
    use crate::feed::{AlertDraft, Assessment, ExclusionDraft, FeedUse, assess, is_poor_group};
    if kind.usage() == FeedUse::Exclusion {
        let detail = if r.item.is_empty() { kind.indicator().to_string() } else { r.item.clone() };
        return Ok(RowOutcome::Fact(ExclusionDraft {
            household_id: m.household_id,
            member_id: m.member_id,
            kind,
            detail,
            line: r.line,
        }));
    }
    let year = r.period.get(..4).and_then(|y| y.parse().ok()).unwrap_or(today.year());
    let threshold = match kind.threshold_params() {
        Some((poor, other)) => {
            let name = if is_poor_group(m.household_kind, &m.monitoring) { poor } else { other };
            Some(crate::money::Fen(resolve_or_default(params, year, m.village, name)?.value))
        }
        None => None,
    };
    match assess(kind, r, threshold) {
        Assessment::Quiet(_) => Ok(RowOutcome::Quiet),
        Assessment::Raise { threshold } => {
            let days = resolve_or_default(params, today.year(), m.village, ParamName::AlertVerifyWorkdays)?.value;
            let due_on = calendar
                .add_working_days(today, u32::try_from(days).unwrap_or(5).max(1), m.village)
                .map_err(|e| EditError::Invalid(FieldErrors::one("file", "文件", e.to_string())))?;
            Ok(RowOutcome::Alert(Box::new(AlertDraft {
                household_id: m.household_id,
                village: m.village,
                member_id: m.member_id,
                member_name: m.name.clone(),
                kind,
                value: r.amount,
                threshold,
                period: r.period.clone(),
                item: r.item.clone(),
                raised_on: today,
                due_on,
                line: r.line,
                evidence: feed_evidence(r),
            })))
        }
    }
}

/// Imports a department file held whole: [`FeedImport`] with every row as one chunk.
#[allow(clippy::too_many_arguments)]
pub async fn import_feed<S: crate::ports::FeedStore + ParamStore + NotificationStore>(
    store: &S,
    calendar: &WorkCalendar,
    at: DateTime<Utc>,
    today: NaiveDate,
    scope: &Scope,
    actor: &Actor,
    department: Option<crate::measure::Department>,
    input: &FeedInput<'_>,
) -> Result<FeedReport, EditError> {
    let mut run =
        FeedImport::start(store, scope, department, input.kind, input.file_name, input.sha256, input.dry_run).await?;
    run.add(store, calendar, today, input.rows).await?;
    run.finish(store, actor, at, input.mapping_to_save.clone()).await
}

/// A department file imported as it is read, chunk by chunk, so that a file of millions of rows is
/// never held whole: [`FeedImport::start`], then [`FeedImport::add`] for each chunk of rows, then
/// [`FeedImport::finish`]. Rows are matched by the integer ID key within the caller's scope (D17; an
/// ID missing or failing its check is kept for review, never matched), each assessed against its
/// threshold for the household's group and year (D15), alerts due in the verification time on the
/// village's calendar, 不宜纳入 kinds recorded as facts (D16). Nothing is written before `finish`,
/// and a caller that meets a bad row drops the import instead: nothing is written then.
pub struct FeedImport {
    scope: Scope,
    params: Vec<crate::params::PolicyParam>,
    sha256: String,
    report: FeedReport,
    drafts: Vec<crate::feed::AlertDraft>,
    facts: Vec<crate::feed::ExclusionDraft>,
    /// IDs already looked up in this import, with the member found (a department's monthly rows
    /// name the same people chunk after chunk); emptied when it reaches [`FEED_KEYS_KEPT`].
    known: std::collections::HashMap<u64, Option<crate::ports::MemberMatch>>,
}

/// How many looked-up IDs a feed import keeps (≈ 150 bytes each).
const FEED_KEYS_KEPT: usize = 200_000;

impl FeedImport {
    /// Checks the caller's rights and whether this very file was imported before (then the import
    /// is already over: [`FeedImport::previous`]; chunks added are ignored).
    pub async fn start<S: crate::ports::FeedStore + ParamStore>(
        store: &S,
        scope: &Scope,
        department: Option<crate::measure::Department>,
        kind: crate::feed::FeedKind,
        file_name: &str,
        sha256: &str,
        dry_run: bool,
    ) -> Result<FeedImport, EditError> {
        require(scope, Permission::ImportFeeds)?;
        if scope.role() == Role::DepartmentStaff && department != Some(kind.department()) {
            return Err(EditError::Forbidden);
        }
        let previous = store.feed_batch_by_file(kind, sha256, scope.region()).await?;
        let params = if previous.is_some() { Vec::new() } else { store.params(None).await? };
        Ok(FeedImport {
            scope: *scope,
            params,
            sha256: sha256.to_string(),
            report: FeedReport {
                kind,
                file_name: file_name.to_string(),
                // the very same file: not read again, its rows as that import counted them
                rows_read: previous.as_ref().map_or(0, |p| p.rows_read),
                matched: 0,
                quiet: 0,
                unmatched: Vec::new(),
                alerts: 0,
                facts: 0,
                outcome: None,
                previous,
                dry_run,
            },
            drafts: Vec::new(),
            facts: Vec::new(),
            known: Default::default(),
        })
    }

    /// The batch that imported this very file before, if any: nothing is imported twice.
    pub fn previous(&self) -> Option<&crate::ports::FeedBatch> {
        self.report.previous.as_ref()
    }

    /// Matches and assesses a chunk of rows (two look-ups per chunk, whatever its size).
    pub async fn add<S: crate::ports::FeedStore>(
        &mut self,
        store: &S,
        calendar: &WorkCalendar,
        today: NaiveDate,
        rows: &[crate::feed::FeedRow],
    ) -> Result<(), EditError> {
        use crate::feed::Unmatched;
        if self.report.previous.is_some() || rows.is_empty() {
            return Ok(());
        }
        let (kind, scope, report) = (self.report.kind, &self.scope, &mut self.report);
        report.rows_read += rows.len() as i64;
        let new_keys = |known: &std::collections::HashMap<u64, _>| {
            let mut keys: Vec<u64> = rows.iter().filter_map(|r| r.id_key).filter(|k| !known.contains_key(k)).collect();
            keys.sort_unstable();
            keys.dedup();
            keys
        };
        let mut keys = new_keys(&self.known);
        if self.known.len() + keys.len() > FEED_KEYS_KEPT {
            self.known.clear();
            keys = new_keys(&self.known);
        }
        let fetched = store.members_by_keys(scope, &keys).await?;
        self.known.extend(keys.iter().map(|k| (*k, None)));
        // the last one of an ID found twice, as before
        self.known.extend(fetched.into_iter().map(|m| (m.key, Some(m))));
        let found = &self.known;
        // rows the ID does not match: a reviewer's earlier "same person" decision for this ID as
        // written and this name matches them (never a guess of the machine)
        let misses: Vec<(String, String)> = rows
            .iter()
            .filter(|r| r.id_key.is_none_or(|k| !matches!(found.get(&k), Some(Some(_)))))
            .filter(|r| crate::feed::id_text_rememberable(&r.id_text))
            .map(|r| (crate::feed::id_text_key(&r.id_text), r.name.clone()))
            .collect();
        let decisions = if misses.is_empty() { Vec::new() } else { store.identity_decisions(&misses).await? };
        let decided_ids: Vec<i64> = decisions.iter().filter(|d| d.3).map(|d| d.2).collect();
        let decided: std::collections::HashMap<i64, crate::ports::MemberMatch> = if decided_ids.is_empty() {
            Default::default()
        } else {
            store.members_by_ids(scope, &decided_ids).await?.into_iter().map(|m| (m.member_id, m)).collect()
        };
        for r in rows {
            let by_key = r.id_key.and_then(|k| found.get(&k)).and_then(Option::as_ref);
            let m = match by_key {
                Some(m) => m,
                None => {
                    let key = crate::feed::id_text_key(&r.id_text);
                    let same =
                        decisions.iter().find(|d| d.0 == key && d.1 == r.name && d.3).and_then(|d| decided.get(&d.2));
                    match same {
                        Some(m) => m,
                        None => {
                            let not_same = decisions.iter().any(|d| d.0 == key && d.1 == r.name && !d.3);
                            let reason = match (&r.id_problem, r.id_key) {
                                (Some(p), _) => p.clone(),
                                (None, Some(_)) => "本辖区登记的人员中没有该证件号码".into(),
                                (None, None) => "证件号码无法识别".into(),
                            };
                            report.unmatched.push(Unmatched {
                                line: r.line,
                                name: r.name.clone(),
                                id_text: r.id_text.clone(),
                                birth: r.birth,
                                village: r.village.clone(),
                                reason: if not_same {
                                    format!("{reason}（曾人工核对：不是推荐的候选人）")
                                } else {
                                    reason
                                },
                                evidence: feed_evidence(r),
                                amount: r.amount,
                                item: r.item.clone(),
                                period: r.period.clone(),
                            });
                            continue;
                        }
                    }
                }
            };
            report.matched += 1;
            match assess_feed_row(kind, r, m, &self.params, calendar, today)? {
                RowOutcome::Quiet => report.quiet += 1,
                RowOutcome::Alert(d) => self.drafts.push(*d),
                RowOutcome::Fact(f) => self.facts.push(f),
            }
        }
        report.alerts = self.drafts.len() as i64;
        report.facts = self.facts.len() as i64;
        Ok(())
    }

    /// Writes the batch, its alerts, facts and unmatched rows in one transaction (not for a dry
    /// run or a file imported before), saves a mapping typed for this file, and tells the villages.
    pub async fn finish<S: crate::ports::FeedStore + NotificationStore>(
        self,
        store: &S,
        actor: &Actor,
        at: DateTime<Utc>,
        mapping_to_save: Option<String>,
    ) -> Result<FeedReport, EditError> {
        let FeedImport { scope, sha256, mut report, drafts, facts, .. } = self;
        if report.dry_run || report.previous.is_some() {
            return Ok(report);
        }
        let kind = report.kind;
        let batch = crate::ports::FeedBatch {
            id: 0,
            kind,
            file_name: report.file_name.clone(),
            sha256,
            region: scope.region(),
            rows_read: report.rows_read,
            rows_matched: report.matched,
            rows_unmatched: report.unmatched.len() as i64,
            rows_quiet: report.quiet,
            alerts_raised: 0,
            alerts_updated: 0,
            facts_added: 0,
            imported_by: actor.name.clone(),
            imported_at: at,
        };
        let outcome = store.record_feed(actor, at, &batch, &drafts, &facts, &report.unmatched).await?;
        // the import is committed: a mapping or notification that fails must not make it look failed
        if let Some(json) = &mapping_to_save {
            let _ = store.set_feed_mapping(actor, at, kind, json).await;
        }
        // dispatched to the villages (§9): each village's cadres hear how many households to verify
        if outcome.raised + outcome.updated > 0 {
            let mut per_village: std::collections::BTreeMap<
                crate::region::RegionCode,
                std::collections::BTreeSet<i64>,
            > = Default::default();
            for d in drafts.iter().filter(|d| outcome.changed.contains(&d.household_id.0)) {
                per_village.entry(d.village).or_default().insert(d.household_id.0);
            }
            let notes: Vec<crate::notify::NewNotification> = per_village
                .iter()
                .map(|(v, hh)| {
                    crate::notify::NewNotification::to_role(
                        Role::VillageCadre,
                        *v,
                        format!("{}推送{}预警：本村 {} 户待核实", kind.department().label(), kind.label(), hh.len()),
                        format!("/alerts?feed={}&village={v}", kind.key()),
                    )
                })
                .collect();
            let _ = store.notify(at, &notes).await;
        }
        report.outcome = Some(outcome);
        Ok(report)
    }
}

/// An alert with the feed rows behind it. The rows carry full ID numbers: a role that sees them
/// leaves an audit entry (D18); the page masks them for the others.
pub async fn alert_detail<S: crate::ports::FeedStore + AuditStore>(
    store: &S,
    at: DateTime<Utc>,
    scope: &Scope,
    actor: &Actor,
    department: Option<crate::measure::Department>,
    id: i64,
) -> Result<(crate::feed::DepartmentAlert, Vec<crate::ports::AlertRow>), EditError> {
    let (alert, rows) = store.alert(scope, department, id).await?.ok_or(EditError::NotFound)?;
    if scope.allows(Permission::ViewSensitive) && !rows.is_empty() {
        let e = AuditEntry::new(at, actor, AuditAction::ViewSensitive, "household", alert.household_id.0)
            .region(alert.village)
            .note(format!("查看预警 #{} 的部门数据（含证件号码）", alert.id));
        store.append_audit(&[e]).await?;
    }
    Ok((alert, rows))
}

/// Whether a department's cell shows an ID number (D18: masked in lists and for roles without
/// the sensitive view).
pub fn looks_like_id(text: &str) -> bool {
    let t = crate::text::compact(text);
    t.chars().filter(|c| c.is_ascii_digit() || matches!(c, 'x' | 'X')).count() >= 15
}

/// Whether a department's column holds health information (D18).
pub fn is_health_column(header: &str) -> bool {
    ["病", "诊断", "残疾", "症"].iter().any(|w| header.contains(w))
}

/// The department of a 行业部门 account, or `None` for every other role (they see all departments).
pub async fn user_department<S: DepartmentTaskStore>(
    store: &S,
    scope: &Scope,
    user: UserId,
) -> Result<Option<crate::measure::Department>, EditError> {
    if scope.role() != Role::DepartmentStaff {
        return Ok(None);
    }
    match store.user_department(user).await? {
        Some(d) => Ok(Some(d)),
        // a department account without a department sees nothing rather than everything
        None => Err(EditError::Forbidden),
    }
}

/// Records the village's verification of an open alert at the version the user saw; 转为线索
/// opens an identification case (source 部门筛查预警) in the same step (D8).
#[allow(clippy::too_many_arguments)]
pub async fn conclude_alert<
    S: crate::ports::FeedStore + CaseStore + HouseholdStore + FindingStore + ParamStore + NotificationStore,
>(
    store: &S,
    at: DateTime<Utc>,
    today: NaiveDate,
    scope: &Scope,
    actor: &Actor,
    id: i64,
    version: i64,
    conclusion: crate::feed::AlertConclusion,
    mode: crate::feed::VerifyMode,
    on: NaiveDate,
    note: &str,
) -> Result<crate::feed::DepartmentAlert, EditError> {
    require(scope, Permission::VerifyAlerts)?;
    let (alert, _) = store.alert(scope, None, id).await?.ok_or(EditError::NotFound)?;
    if alert.status != crate::feed::AlertStatus::Open {
        return Err(FieldErrors::one(
            "conclusion",
            "核实结论",
            format!("该预警已于{}核实，不能重复核实", alert.verified_on.map(|d| d.to_string()).unwrap_or_default()),
        )
        .into());
    }
    if alert.version != version {
        return Err(EditError::Stale { what: format!("预警 #{id}"), current: alert.version });
    }
    let mut errs = FieldErrors::default();
    if on > today {
        errs.push("on", "核实日期", "核实日期不能晚于今天");
    }
    if on < alert.raised_on {
        errs.push("on", "核实日期", format!("核实日期不能早于预警日期 {}", alert.raised_on));
    }
    if note.trim().is_empty() && conclusion != crate::feed::AlertConclusion::AlreadyMonitored {
        errs.push("note", "核实情况", "请写明核实情况（如 住院费用已由大病保险报销，家庭收入稳定）");
    }
    if !errs.is_empty() {
        return Err(errs.into());
    }
    let mut case_id = None;
    let mut opened = None;
    if conclusion == crate::feed::AlertConclusion::ToClue {
        let input = OpenCaseInput {
            procedure: Procedure::Identification,
            household_no: alert.household_no.clone(),
            source: Some(crate::procedure::ClueSource::DepartmentAlert),
            finding_id: None,
            on,
            note: format!(
                "{}预警 #{}：{}（{}）。{}",
                alert.kind.department().label(),
                alert.id,
                alert.indicator,
                alert.period,
                note.trim()
            ),
        };
        let case = open_case(store, at, today, scope, actor, &input, &[]).await.map_err(|e| match e {
            CaseError::Invalid(f) => EditError::Invalid(f),
            CaseError::NotFound => EditError::NotFound,
            CaseError::Forbidden => EditError::Forbidden,
            other => EditError::Invalid(FieldErrors::one("conclusion", "核实结论", other.to_string())),
        })?;
        case_id = Some(case.id.0);
        opened = Some(case);
    }
    let v = crate::ports::AlertVerification { conclusion, mode, on, note: note.trim().to_string(), case_id };
    let r = store.conclude_alert(actor, at, &alert, &v).await;
    // someone else concluded the alert meanwhile: the case just opened for it is withdrawn
    if r.is_err()
        && let Some(case) = opened
    {
        let _ = store.withdraw_case(actor, at, &case, today, "同一预警已由他人核实，自动撤销重复登记的线索").await;
    }
    match r {
        Err(StoreError::Conflict) => {
            Err(EditError::Stale { what: format!("预警 #{id}"), current: alert.version + 1 })
        }
        other => Ok(other?),
    }
}

/// The 不宜纳入 facts of a household that count for a case: those of the kinds on the list of the
/// case's region and year (D16: "the list is a parameter").
pub async fn blocking_exclusions<S: crate::ports::ExclusionStore + ParamStore>(
    store: &S,
    case: &Case,
    household: crate::household::HouseholdId,
) -> Result<Vec<crate::feed::ExclusionFact>, CaseError> {
    let year = case.opened_on.year();
    let params = store.params(Some(year)).await?;
    let kinds = resolve_or_default(&params, year, case.village, ParamName::ExclusionKinds)?.value;
    Ok(store
        .exclusion_facts(household)
        .await?
        .into_iter()
        .filter(|f| kinds & crate::params::exclusion_bit(f.kind) != 0)
        .collect())
}

/// The town proposes an exception to 不宜纳入 for an identification case (with the reason), the
/// county approves it (D16); until 县级审定.
pub async fn approve_exclusion_override<S: CaseStore + crate::ports::ExclusionStore + HouseholdStore + ParamStore>(
    store: &S,
    at: DateTime<Utc>,
    scope: &Scope,
    actor: &Actor,
    id: CaseId,
    reason: &str,
) -> Result<crate::feed::ExclusionOverride, CaseError> {
    let case = store.case(scope, id).await?.ok_or(CaseError::NotFound)?;
    let county = match scope.role() {
        Role::TownOffice => false,
        Role::CountyApprover => true,
        _ => return Err(CaseError::Forbidden),
    };
    // until 县级审定: a fact may arrive after 信息比对, and blocks 县级审定 too
    let before_approval = case.is_open()
        && case.procedure == Procedure::Identification
        && !case.steps.iter().any(|s| s.step == Step::CountyApproval);
    if !before_approval {
        return Err(CaseError::Invalid(FieldErrors::one(
            "reason",
            "例外理由",
            "只有尚未县级审定的识别认定案件可以申请例外",
        )));
    }
    let d = store.household(scope, &case.household_no).await?.ok_or(CaseError::NotFound)?;
    if blocking_exclusions(store, &case, d.record.id).await?.is_empty() {
        return Err(CaseError::Invalid(FieldErrors::one("reason", "例外理由", "该户没有不宜纳入情形，不需要例外")));
    }
    let current = store.exclusion_override(case.id.0).await?;
    match (county, &current) {
        (false, Some(_)) => {
            return Err(CaseError::Invalid(FieldErrors::one("reason", "例外理由", "乡镇已申请例外，等待县级批准")));
        }
        (false, None) if reason.trim().chars().count() < 4 => {
            return Err(CaseError::Invalid(FieldErrors::one(
                "reason",
                "例外理由",
                "请写明例外的理由（如 突发重大疾病，医疗自付超过家庭年收入）",
            )));
        }
        (true, None) => {
            return Err(CaseError::Invalid(FieldErrors::one("reason", "例外理由", "须先由乡镇申请例外，县级再批准")));
        }
        (true, Some(o)) if o.approved() => {
            return Err(CaseError::Invalid(FieldErrors::one("reason", "例外理由", "县级已批准该例外")));
        }
        _ => {}
    }
    match store.approve_exclusion_override(actor, at, &case, county, reason.trim()).await {
        Err(StoreError::Conflict) => Err(CaseError::Conflict),
        other => Ok(other?),
    }
}

/// The near-miss candidates of unmatched rows: members of the scope with the same name and birth
/// date (from the row, or from its ID's digits), in the village the row names when it names
/// one, less those a reviewer said are not the person. Never matched by the machine (D17).
async fn near_miss_candidates<S: crate::ports::FeedStore>(
    store: &S,
    scope: &Scope,
    rows: &[crate::feed::UnmatchedRow],
    village_name: &(dyn Fn(crate::region::RegionCode) -> String + Sync),
) -> Result<Vec<Vec<crate::feed::PersonCandidate>>, EditError> {
    let mut names: Vec<String> = rows.iter().map(|u| u.name.clone()).filter(|n| !n.is_empty()).collect();
    names.sort();
    names.dedup();
    let all = if names.is_empty() { Vec::new() } else { store.members_by_name(scope, &names).await? };
    let pairs: Vec<(String, String)> =
        rows.iter().map(|u| (crate::feed::decision_key(&u.id_text, u.id), u.name.clone())).collect();
    let decisions = if pairs.is_empty() { Vec::new() } else { store.identity_decisions(&pairs).await? };
    Ok(rows
        .iter()
        .map(|u| {
            let birth = crate::feed::birth_hint(u.birth, &u.id_text);
            let key = crate::feed::decision_key(&u.id_text, u.id);
            all.iter()
                .filter(|c| c.name == u.name)
                .filter(|c| {
                    let born = crate::national_id::NationalId::parse(&c.id_number).ok().map(|i| i.birth_date());
                    birth.is_some() && born == birth
                })
                .filter(|c| {
                    let v = crate::text::compact(&u.village);
                    v.is_empty() || village_name(c.village).contains(&v)
                })
                .filter(|c| !decisions.iter().any(|d| d.0 == key && d.1 == u.name && d.2 == c.member_id && !d.3))
                .cloned()
                .collect()
        })
        .collect())
}

/// Unmatched rows for the scope's reviewer, with their near-miss candidates: the rows of files
/// imported within the scope, and those of wider files (a county's, the command line's) that
/// have a candidate in the scope. The rows and candidates carry full IDs: for roles that import
/// and see sensitive data only, and the view is audited (D18).
#[allow(clippy::too_many_arguments)]
pub async fn unmatched_review<S: crate::ports::FeedStore + AuditStore>(
    store: &S,
    at: DateTime<Utc>,
    scope: &Scope,
    actor: &Actor,
    pending_only: bool,
    before: Option<i64>,
    village_name: impl Fn(crate::region::RegionCode) -> String + Send + Sync,
) -> Result<(crate::ports::Page<crate::feed::UnmatchedRow>, Vec<Vec<crate::feed::PersonCandidate>>), EditError> {
    require(scope, Permission::ImportFeeds)?;
    require(scope, Permission::ViewSensitive)?;
    let page = store.unmatched_rows(scope, pending_only, 400, before).await?;
    let candidates = near_miss_candidates(store, scope, &page.items, &village_name).await?;
    let own = |u: &crate::feed::UnmatchedRow| match (scope.region(), u.batch_region) {
        (None, _) => true,
        (Some(_), Some(r)) => scope.contains(r),
        (Some(_), None) => false,
    };
    let (mut items, mut cands) = (Vec::new(), Vec::new());
    for (u, c) in page.items.into_iter().zip(candidates) {
        if own(&u) || !c.is_empty() {
            items.push(u);
            cands.push(c);
        }
    }
    let more = items.len() > 50 || page.next.is_some();
    items.truncate(50);
    cands.truncate(50);
    let next = if more { items.last().map(|u| u.id.to_string()) } else { None };
    if !items.is_empty() {
        let mut e = AuditEntry::new(at, actor, AuditAction::ViewSensitive, "feed_batch", 0)
            .note(format!("查看未匹配的部门数据 {} 行及候选人（含证件号码）", items.len()));
        if let Some(r) = scope.region() {
            e = e.region(r);
        }
        store.append_audit(&[e]).await?;
    }
    let total = items.len() as i64;
    Ok((crate::ports::Page { items, next, total }, cands))
}

/// A reviewer's decision on an unmatched row: `Some((member, true))` the same person — the row
/// then raises its alert (or fact) as if matched, and the decision matches this ID as written
/// next time; `Some((member, false))` not this candidate (remembered); `None` nobody in the
/// registry (the row is closed).
#[allow(clippy::too_many_arguments)]
pub async fn decide_unmatched<S: crate::ports::FeedStore + ParamStore>(
    store: &S,
    calendar: &WorkCalendar,
    at: DateTime<Utc>,
    today: NaiveDate,
    scope: &Scope,
    actor: &Actor,
    id: i64,
    decision: Option<(i64, bool)>,
    village_name: impl Fn(crate::region::RegionCode) -> String + Send + Sync,
) -> Result<crate::ports::FeedOutcome, EditError> {
    require(scope, Permission::ImportFeeds)?;
    require(scope, Permission::ViewSensitive)?;
    let row = store.unmatched_row(scope, id).await?.ok_or(EditError::NotFound)?;
    if row.status != crate::feed::MatchReview::Pending {
        return Err(FieldErrors::one("member", "核对结论", format!("该行已核对：{}", row.status.label())).into());
    }
    let (member_id, same) = decision.unwrap_or((0, false));
    // only a proposed candidate can be confirmed or refused
    if member_id > 0 {
        let cands = near_miss_candidates(store, scope, std::slice::from_ref(&row), &village_name).await?;
        if !cands.first().is_some_and(|c| c.iter().any(|c| c.member_id == member_id)) {
            return Err(FieldErrors::one("member", "核对结论", "只能在推荐的候选人中确认").into());
        }
    }
    let (mut alert, mut fact) = (None, None);
    if member_id > 0 {
        let m = store.members_by_ids(scope, &[member_id]).await?.into_iter().next().ok_or(EditError::NotFound)?;
        if same {
            let cells: Vec<(String, String)> =
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&row.evidence)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
                    .collect();
            let r = crate::feed::FeedRow {
                line: row.line as usize,
                name: row.name.clone(),
                id_text: row.id_text.clone(),
                id_key: None,
                id_problem: None,
                birth: row.birth,
                village: row.village.clone(),
                amount: row.amount,
                item: row.item.clone(),
                period: row.period.clone(),
                cells,
            };
            let params = store.params(None).await?;
            match assess_feed_row(row.kind, &r, &m, &params, calendar, today)? {
                RowOutcome::Quiet => {}
                RowOutcome::Alert(d) => alert = Some(*d),
                RowOutcome::Fact(f) => fact = Some(f),
            }
        }
    }
    match store.resolve_unmatched(actor, at, &row, member_id, same, alert, fact).await {
        Err(StoreError::Conflict) => {
            Err(FieldErrors::one("member", "核对结论", format!("第{}行刚被他人核对，请刷新后查看", row.line)).into())
        }
        other => Ok(other?),
    }
}

// ------------------------------------------------------------------ 数据比对 (data comparison)

/// The data comparison report of a scope: each check's count, and the department alerts by feed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QualityReport {
    pub as_of: NaiveDate,
    pub checks: Vec<(crate::quality::QualityCheck, i64)>,
    /// (feed, open, concluded)
    pub alerts: Vec<(crate::feed::FeedKind, i64, i64)>,
}

fn may_see_quality(scope: &Scope) -> Result<(), EditError> {
    require(scope, Permission::ViewHouseholds)?;
    // a department has its own feeds; screeners and officers their own households
    if scope.role() == Role::DepartmentStaff || scope.own_tasks_only().is_some() {
        return Err(EditError::Forbidden);
    }
    Ok(())
}

pub async fn quality_report<S: crate::ports::QualityStore>(
    store: &S,
    scope: &Scope,
    region: Option<crate::region::RegionCode>,
    as_of: NaiveDate,
) -> Result<QualityReport, EditError> {
    may_see_quality(scope)?;
    let checks = store.quality_counts(scope, region, as_of).await?;
    let mut alerts: Vec<(crate::feed::FeedKind, i64, i64)> = Vec::new();
    for (kind, status, n) in store.alert_counts(scope, region).await? {
        let i = match alerts.iter().position(|a| a.0 == kind) {
            Some(i) => i,
            None => {
                alerts.push((kind, 0, 0));
                alerts.len() - 1
            }
        };
        match status {
            crate::feed::AlertStatus::Open => alerts[i].1 += n,
            crate::feed::AlertStatus::Concluded => alerts[i].2 += n,
        }
    }
    Ok(QualityReport { as_of, checks, alerts })
}

/// One check's findings (at most `limit`). They carry full ID numbers: a role that sees them
/// leaves an audit entry (D18); the page masks them for the others.
#[allow(clippy::too_many_arguments)]
pub async fn quality_items<S: crate::ports::QualityStore + AuditStore>(
    store: &S,
    at: DateTime<Utc>,
    scope: &Scope,
    actor: &Actor,
    region: Option<crate::region::RegionCode>,
    check: crate::quality::QualityCheck,
    as_of: NaiveDate,
    limit: u32,
) -> Result<Vec<crate::quality::QualityItem>, EditError> {
    may_see_quality(scope)?;
    let items = store.quality_items(scope, region, check, as_of, limit).await?;
    if scope.allows(Permission::ViewSensitive) && items.iter().any(|i| !i.id_number.is_empty()) {
        let mut e = AuditEntry::new(at, actor, AuditAction::ViewSensitive, "quality_report", i64::from(check.code()))
            .note(format!("查看数据比对清单“{}”（含证件号码，{} 条）", check.label(), items.len()));
        if let Some(r) = region.or(scope.region()) {
            e = e.region(r);
        }
        store.append_audit(&[e]).await?;
    }
    Ok(items)
}

/// Every check's findings for the xlsx export (one sheet each); the export is audited.
pub async fn quality_export<S: crate::ports::QualityStore + AuditStore>(
    store: &S,
    at: DateTime<Utc>,
    scope: &Scope,
    actor: &Actor,
    region: Option<crate::region::RegionCode>,
    as_of: NaiveDate,
) -> Result<Vec<(crate::quality::QualityCheck, Vec<crate::quality::QualityItem>)>, EditError> {
    may_see_quality(scope)?;
    let mut out = Vec::new();
    for c in crate::quality::QualityCheck::ALL {
        out.push((*c, store.quality_items(scope, region, *c, as_of, 100_000).await?));
    }
    let rows: usize = out.iter().map(|(_, v)| v.len()).sum();
    let mut e = AuditEntry::new(at, actor, AuditAction::Export, "quality_report", 0)
        .note(format!("导出数据比对报告（{as_of}，{rows} 条）"));
    if let Some(r) = region.or(scope.region()) {
        e = e.region(r);
    }
    store.append_audit(&[e]).await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::PolicyParam;
    use crate::region::RegionCode;

    fn set(region: &str, name: ParamName, value: i64) -> PolicyParam {
        PolicyParam {
            year: 2022,
            region: RegionCode::parse(region).unwrap(),
            name,
            version: 1,
            value,
            example: false,
            note: String::new(),
            set_by: "test".into(),
            set_at: DateTime::<Utc>::default(),
        }
    }

    #[test]
    fn assistance_rules_read_the_d10_switches_per_region() {
        let village = RegionCode::parse("450203100201").unwrap();
        let other = RegionCode::parse("450102100201").unwrap();
        let params = vec![
            set("450203100000", ParamName::MeasuresClockStart, 1),
            set("450203100000", ParamName::HolidayExtension, 0),
            set("450000000000", ParamName::MeasuresDueDays, 15),
        ];
        let r = assistance_rules_from(&params, 2022, village);
        assert!(r.measures_from_inclusion);
        assert_eq!(r.policy, crate::calendar::HolidayPolicy::NO_EXTENSION);
        assert_eq!((r.officer_workdays, r.measures_days), (5, 15));
        // another town of the province keeps the defaults but the province's 15 days
        let r = assistance_rules_from(&params, 2022, other);
        assert!(!r.measures_from_inclusion);
        assert_eq!(r.policy, crate::calendar::HolidayPolicy::default());
        assert_eq!(r.measures_days, 15);
        // another year: the shipped defaults
        assert_eq!(assistance_rules_from(&params, 2023, village), AssistanceRules::default());
    }
}
