//! 督导 (supervision, issue 7): the seed's 集中排查督导组 — groups with members and villages — check
//! their villages by 实地督导, 暗访 or 线上抽查. An inspection draws a sample of households at random,
//! reproducibly (the seed and the village's list give the same sample again), and records the
//! problems found; each problem is a 整改 (rectification) with an owner, a due date on the work
//! calendar and a status, closed only with evidence, reopened by the supervisors with a reason.

use chrono::{DateTime, NaiveDate, Utc};

use crate::account::{Actor, Permission, Role, Scope, UserId};
use crate::calendar::WorkCalendar;
use crate::fields::FieldErrors;
use crate::household::{HouseholdId, HouseholdNo};
use crate::ports::{RectificationFilter, StoreError, SupervisionStore, UserStore};
use crate::region::RegionCode;
use crate::service::EditError;

crate::codes::code_enum! {
    /// How a village was checked (seed: 督导组 实地督导、暗访、线上抽查).
    pub enum InspectionKind {
        OnSite = 1 => "实地督导",
        Unannounced = 2 => "暗访",
        Online = 3 => "线上抽查",
    }
}

crate::codes::code_enum! {
    /// Where a rectification stands. Codes are stored.
    pub enum RectificationStatus {
        Open = 1 => "待整改",
        Closed = 2 => "已整改",
    }
}

/// A 督导组: its members (supervisor accounts) and the villages it checks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SupervisionGroup {
    pub id: i64,
    pub name: String,
    /// The town (or county) that set it up.
    pub region: RegionCode,
    pub villages: Vec<RegionCode>,
    /// (account, display name)
    pub members: Vec<(UserId, String)>,
}

impl SupervisionGroup {
    pub fn has_member(&self, user: UserId) -> bool {
        self.members.iter().any(|(u, _)| *u == user)
    }
}

#[derive(Debug, Clone)]
pub struct NewGroup {
    pub name: String,
    pub region: RegionCode,
    pub villages: Vec<RegionCode>,
    pub members: Vec<UserId>,
}

/// A household drawn into an inspection's sample.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SampledHousehold {
    pub household_id: HouseholdId,
    pub household_no: HouseholdNo,
    pub head_name: Option<String>,
}

/// A 整改 item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rectification {
    pub id: i64,
    pub inspection_id: i64,
    pub village: RegionCode,
    /// The household concerned, when the problem is one household's.
    pub household_no: Option<HouseholdNo>,
    pub problem: String,
    /// Who must fix it (a person or a post, as the supervisors write it).
    pub owner: String,
    pub due_on: NaiveDate,
    pub status: RectificationStatus,
    /// What was done, and where the proof is (required to close).
    pub evidence: String,
    pub closed_on: Option<NaiveDate>,
    pub closed_by: Option<String>,
    /// Why the supervisors reopened it, the last time they did.
    pub reopen_reason: String,
    pub created_at: DateTime<Utc>,
    pub version: i64,
}

impl Rectification {
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.status == RectificationStatus::Open && today > self.due_on
    }
}

/// An inspection as stored, with its sample and its rectifications.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Inspection {
    pub id: i64,
    pub group_id: i64,
    pub group_name: String,
    pub village: RegionCode,
    pub kind: InspectionKind,
    pub on: NaiveDate,
    /// What was checked (the sampled households' files, the notice board, …).
    pub checked: String,
    pub note: String,
    /// The seed the sample was drawn with.
    pub sample_seed: i64,
    pub sample: Vec<SampledHousehold>,
    pub rectifications: Vec<Rectification>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// One problem as the form sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProblemInput {
    pub household_no: String,
    pub problem: String,
    pub owner: String,
    pub due_on: String,
}

/// An inspection as the form sends it: text, kept as typed when it is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InspectionInput {
    pub group: String,
    pub village: String,
    pub kind: String,
    pub on: String,
    pub checked: String,
    pub note: String,
    pub seed: String,
    pub sample_size: String,
    pub problems: Vec<ProblemInput>,
}

/// A problem checked: its household is resolved by the store within the village.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRectification {
    pub household_no: Option<HouseholdNo>,
    pub problem: String,
    pub owner: String,
    pub due_on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInspection {
    pub group_id: i64,
    pub village: RegionCode,
    pub kind: InspectionKind,
    pub on: NaiveDate,
    pub checked: String,
    pub note: String,
    pub sample_seed: i64,
    /// Households of the sample, in draw order.
    pub sample: Vec<HouseholdId>,
    pub problems: Vec<NewRectification>,
}

/// At most this many households in one sample (a village has ~1,000; a check visits a few).
pub const MAX_SAMPLE: usize = 50;

/// SplitMix64: a tiny, well-known generator — the sample must be redrawable from its seed by
/// anyone, with this code or any other implementation of the same published algorithm.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (rejection sampling: no modulo bias).
    fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let v = self.next();
            if v < zone {
                return v % n;
            }
        }
    }
}

/// Draws `n` of `items` (the village's households in 户编号 order) with `seed`: a partial
/// Fisher–Yates shuffle. The same seed and the same list always give the same sample.
pub fn draw_sample<T: Clone>(items: &[T], n: usize, seed: i64) -> Vec<T> {
    let mut idx: Vec<usize> = (0..items.len()).collect();
    let mut rng = SplitMix64(seed as u64);
    let n = n.min(items.len());
    for i in 0..n {
        let j = i + rng.below((idx.len() - i) as u64) as usize;
        idx.swap(i, j);
    }
    idx[..n].iter().map(|&i| items[i].clone()).collect()
}

/// A seed for a new sample when the supervisor gives none: from the moment, so that two
/// inspections differ; it is stored and shown, which is what makes the sample reproducible.
pub fn default_seed(at: DateTime<Utc>) -> i64 {
    (at.timestamp_micros() % 1_000_000_000).abs()
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| format!("“{}”不是日期，请写成 2022-04-20", text.trim()))
}

/// The suggested due date for a problem found on `on`: five working days later on the calendar
/// of the village (a suggestion shown in the form; the supervisors set the date).
pub fn suggested_due(cal: &WorkCalendar, on: NaiveDate, village: RegionCode) -> Option<NaiveDate> {
    cal.add_working_days(on, 5, village).ok()
}

impl InspectionInput {
    /// Checks the form (not the group's villages or the household numbers: the service and the
    /// store do). `today` bounds the inspection date; due dates must be working days on or after it.
    pub fn parse(
        &self,
        cal: &WorkCalendar,
        today: NaiveDate,
        at: DateTime<Utc>,
    ) -> Result<(NewInspection, usize), FieldErrors> {
        let mut e = FieldErrors::default();
        let group_id = self.group.trim().parse::<i64>().ok();
        if group_id.is_none() {
            e.push("group", "督导组", "请选择督导组");
        }
        let village = RegionCode::parse(self.village.trim()).ok();
        if village.is_none() {
            e.push("village", "村", "请选择被督导的村");
        }
        let kind = InspectionKind::parse_label(&self.kind);
        if kind.is_none() {
            e.push("kind", "督导方式", format!("请选择督导方式：{}", InspectionKind::labels_hint()));
        }
        let on = match parse_date(&self.on) {
            Ok(d) if d > today => {
                e.push("on", "督导日期", format!("督导日期 {d} 晚于今天，请填写实际督导的日期"));
                None
            }
            Ok(d) => Some(d),
            Err(m) => {
                e.push("on", "督导日期", m);
                None
            }
        };
        if self.checked.trim().is_empty() {
            e.push("checked", "督导内容", "请写明检查了什么（如：抽查农户档案、核查表填写、公示情况）");
        }
        let seed = match self.seed.trim() {
            "" => default_seed(at),
            s => match s.parse::<i64>() {
                Ok(v) if v >= 0 => v,
                _ => {
                    e.push("seed", "抽样种子", "抽样种子应为非负整数（留空则自动生成）");
                    0
                }
            },
        };
        let size = match self.sample_size.trim() {
            "" => 0,
            s => match s.parse::<usize>() {
                Ok(n) if n <= MAX_SAMPLE => n,
                _ => {
                    e.push("sample_size", "抽样户数", format!("抽样户数应为 0–{MAX_SAMPLE} 的整数"));
                    0
                }
            },
        };
        let mut problems = Vec::new();
        for (i, p) in self.problems.iter().enumerate() {
            let blank = p.problem.trim().is_empty() && p.owner.trim().is_empty() && p.household_no.trim().is_empty();
            if blank {
                continue;
            }
            let n = i + 1;
            if p.problem.trim().is_empty() {
                e.push("problems", "发现的问题", format!("第{n}条：请写明问题"));
            }
            if p.owner.trim().is_empty() {
                e.push("problems", "发现的问题", format!("第{n}条：请填写整改责任人"));
            }
            let household_no = match p.household_no.trim() {
                "" => None,
                s => match HouseholdNo::parse(s) {
                    Ok(h) => Some(h),
                    Err(_) => {
                        e.push("problems", "发现的问题", format!("第{n}条：户编号“{s}”格式不对（16位数字），或留空"));
                        None
                    }
                },
            };
            let due = match parse_date(&p.due_on) {
                Err(m) => {
                    e.push("problems", "发现的问题", format!("第{n}条整改期限：{m}"));
                    None
                }
                Ok(d) if on.is_some_and(|o| d < o) => {
                    e.push("problems", "发现的问题", format!("第{n}条：整改期限 {d} 早于督导日期"));
                    None
                }
                Ok(d) => match village.map(|v| cal.is_workday(d, v)) {
                    Some(Ok(false)) => {
                        e.push("problems", "发现的问题", format!("第{n}条：整改期限 {d} 是休息日，请选一个工作日"));
                        None
                    }
                    _ => Some(d),
                },
            };
            if let Some(due_on) = due {
                problems.push(NewRectification {
                    household_no,
                    problem: p.problem.trim().to_string(),
                    owner: p.owner.trim().to_string(),
                    due_on,
                });
            }
        }
        match (group_id, village, kind, on) {
            (Some(group_id), Some(village), Some(kind), Some(on)) if e.is_empty() => Ok((
                NewInspection {
                    group_id,
                    village,
                    kind,
                    on,
                    checked: self.checked.trim().to_string(),
                    note: self.note.trim().to_string(),
                    sample_seed: seed,
                    sample: Vec::new(),
                    problems,
                },
                size,
            )),
            _ => Err(e),
        }
    }
}

// ------------------------------------------------------------------ service

/// A group as the form sends it.
#[derive(Debug, Clone, Default)]
pub struct GroupInput {
    pub name: String,
    pub villages: Vec<String>,
    pub members: Vec<String>,
}

/// Sets up a 督导组 of the caller's region: villages of the scope, members who are 督导组成员
/// accounts of the scope.
pub async fn create_group<S: SupervisionStore + UserStore>(
    store: &S,
    actor: &Actor,
    at: DateTime<Utc>,
    scope: &Scope,
    input: &GroupInput,
) -> Result<SupervisionGroup, EditError> {
    if !scope.allows(Permission::OrganiseSupervision) {
        return Err(EditError::Forbidden);
    }
    let mut e = FieldErrors::default();
    let name = input.name.trim();
    if name.is_empty() {
        e.push("name", "督导组名称", "请填写名称，如“督导一组”");
    }
    let villages: Vec<RegionCode> = input
        .villages
        .iter()
        .filter_map(|v| RegionCode::parse(v.trim()).ok())
        .filter(|v| scope.contains(*v) && v.level() == crate::region::RegionLevel::Village)
        .collect();
    if villages.is_empty() {
        e.push("villages", "负责的村", "请至少选择一个村");
    }
    let accounts = store.list_users(scope).await?;
    let members: Vec<UserId> = input
        .members
        .iter()
        .filter_map(|m| m.trim().parse::<i64>().ok())
        .filter(|id| accounts.iter().any(|u| u.id.0 == *id && u.role == Role::Supervisor))
        .map(UserId)
        .collect();
    if members.is_empty() {
        e.push("members", "成员", "请至少选择一名督导组成员（角色为“督导组成员”的账户）");
    }
    if !e.is_empty() {
        return Err(EditError::Invalid(e));
    }
    let region = scope.region().unwrap_or_else(|| villages[0].parent().unwrap_or(villages[0]));
    Ok(store.create_group(actor, at, &NewGroup { name: name.to_string(), region, villages, members }).await?)
}

/// The households an inspection of `village` with `seed` draws (for the form's preview: the
/// same call at saving time gives the same households unless the village's list changed).
pub async fn preview_sample<S: SupervisionStore>(
    store: &S,
    scope: &Scope,
    village: RegionCode,
    size: usize,
    seed: i64,
) -> Result<Vec<SampledHousehold>, EditError> {
    let frame = store.sampling_frame(scope, village).await?;
    Ok(draw_sample(&frame, size.min(MAX_SAMPLE), seed))
}

/// Records an inspection: the caller must belong to the group (the town office may record for
/// any group of its scope) and the village must be the group's. The sample is drawn here, from
/// the village's households in 户编号 order, and stored with its seed.
#[allow(clippy::too_many_arguments)]
pub async fn record_inspection<S: SupervisionStore>(
    store: &S,
    cal: &WorkCalendar,
    actor: &Actor,
    user: UserId,
    scope: &Scope,
    at: DateTime<Utc>,
    today: NaiveDate,
    input: &InspectionInput,
) -> Result<Inspection, EditError> {
    if !scope.allows(Permission::Supervise) {
        return Err(EditError::Forbidden);
    }
    let (mut new, size) = input.parse(cal, today, at).map_err(EditError::Invalid)?;
    let groups = store.groups(scope).await?;
    let Some(group) = groups.iter().find(|g| g.id == new.group_id) else {
        return Err(EditError::Invalid(FieldErrors::one("group", "督导组", "没有这个督导组，请重新选择")));
    };
    if scope.role() == Role::Supervisor && !group.has_member(user) {
        return Err(EditError::Invalid(FieldErrors::one(
            "group",
            "督导组",
            format!("您不是{}的成员：只能记录本组的督导", group.name),
        )));
    }
    if !group.villages.contains(&new.village) || !scope.contains(new.village) {
        return Err(EditError::Invalid(FieldErrors::one(
            "village",
            "村",
            format!("该村不由{}督导，请选择本组负责的村", group.name),
        )));
    }
    let frame = store.sampling_frame(scope, new.village).await?;
    let mut e = FieldErrors::default();
    for (i, p) in new.problems.iter().enumerate() {
        if let Some(no) = &p.household_no
            && !frame.iter().any(|h| &h.household_no == no)
        {
            e.push("problems", "发现的问题", format!("第{}条：户编号“{no}”不是该村的农户，请核对或留空", i + 1));
        }
    }
    if !e.is_empty() {
        return Err(EditError::Invalid(e));
    }
    new.sample = draw_sample(&frame, size, new.sample_seed).into_iter().map(|h| h.household_id).collect();
    Ok(store.record_inspection(actor, at, &new).await?)
}

async fn one_rectification<S: SupervisionStore>(store: &S, scope: &Scope, id: i64) -> Result<Rectification, EditError> {
    let filter = RectificationFilter { id: Some(id), ..Default::default() };
    store.rectifications(scope, &filter, 1).await?.items.into_iter().next().ok_or(EditError::NotFound)
}

/// Closes a rectification with what was done and where the proof is (D19: 谁整改谁负责).
#[allow(clippy::too_many_arguments)]
pub async fn close_rectification<S: SupervisionStore>(
    store: &S,
    actor: &Actor,
    scope: &Scope,
    at: DateTime<Utc>,
    today: NaiveDate,
    id: i64,
    version: i64,
    evidence: &str,
    on: &str,
) -> Result<Rectification, EditError> {
    if !scope.allows(Permission::Rectify) {
        return Err(EditError::Forbidden);
    }
    let r = one_rectification(store, scope, id).await?;
    let mut e = FieldErrors::default();
    if r.status == RectificationStatus::Closed {
        e.push("evidence", "整改情况", "该问题已整改销号，无需再次提交");
    }
    let evidence = evidence.trim();
    if evidence.chars().count() < 4 {
        e.push(
            "evidence",
            "整改情况",
            "请写明整改做了什么、佐证材料在哪里（如“已补签核查表，原件存村委档案”），没有佐证不能销号",
        );
    }
    let on = match on.trim() {
        "" => Some(today),
        t => match parse_date(t) {
            Ok(d) if d > today => {
                e.push("on", "整改完成日期", format!("{d} 晚于今天"));
                None
            }
            Ok(d) => Some(d),
            Err(m) => {
                e.push("on", "整改完成日期", m);
                None
            }
        },
    };
    let Some(on) = on.filter(|_| e.is_empty()) else { return Err(EditError::Invalid(e)) };
    let result =
        store.set_rectification(actor, at, scope, id, version, RectificationStatus::Closed, evidence, on).await;
    stale(store, scope, id, result).await
}

/// Reopens a closed rectification whose evidence does not hold, with the reason: the town office,
/// or a member of the group whose inspection found it.
#[allow(clippy::too_many_arguments)]
pub async fn reopen_rectification<S: SupervisionStore>(
    store: &S,
    actor: &Actor,
    user: UserId,
    scope: &Scope,
    at: DateTime<Utc>,
    today: NaiveDate,
    id: i64,
    version: i64,
    reason: &str,
) -> Result<Rectification, EditError> {
    if !scope.allows(Permission::Supervise) {
        return Err(EditError::Forbidden);
    }
    if scope.role() == Role::Supervisor {
        let r = one_rectification(store, scope, id).await?;
        let inspection = store.inspection(scope, r.inspection_id).await?.ok_or(EditError::NotFound)?;
        let groups = store.groups(scope).await?;
        if !groups.iter().any(|g| g.id == inspection.group_id && g.has_member(user)) {
            return Err(EditError::Forbidden);
        }
    }
    let r = one_rectification(store, scope, id).await?;
    let mut e = FieldErrors::default();
    if r.status != RectificationStatus::Closed {
        e.push("reason", "退回理由", "该问题尚未整改销号，不需要退回");
    }
    if reason.trim().is_empty() {
        e.push("reason", "退回理由", "请写明为什么整改不到位，村里才知道还要做什么");
    }
    if !e.is_empty() {
        return Err(EditError::Invalid(e));
    }
    let result =
        store.set_rectification(actor, at, scope, id, version, RectificationStatus::Open, reason.trim(), today).await;
    stale(store, scope, id, result).await
}

/// A save refused because someone changed the item meanwhile says so, with the current version.
async fn stale<S: SupervisionStore>(
    store: &S,
    scope: &Scope,
    id: i64,
    result: Result<Rectification, StoreError>,
) -> Result<Rectification, EditError> {
    match result {
        Err(StoreError::Conflict) => {
            let current = one_rectification(store, scope, id).await?.version;
            Err(EditError::Stale { what: format!("整改 #{id}"), current })
        }
        other => Ok(other?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_same_seed_draws_the_same_sample_and_another_seed_another() {
        let items: Vec<u32> = (0..1000).collect();
        let a = draw_sample(&items, 10, 20220420);
        assert_eq!(a, draw_sample(&items, 10, 20220420));
        assert_eq!(a.len(), 10);
        let mut distinct = a.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 10, "no household twice");
        assert_ne!(a, draw_sample(&items, 10, 20220421));
        // the algorithm is fixed: this exact sample is what the seed gives, today and later
        assert_eq!(draw_sample(&items, 3, 1), draw_sample(&items, 3, 1));
        assert_eq!(draw_sample(&[7, 8], 5, 3).len(), 2, "never more than there are");
        assert!(draw_sample::<u32>(&[], 5, 3).is_empty());
    }

    #[test]
    fn every_household_can_be_drawn() {
        // over many seeds each of 20 households turns up: no position is favoured or excluded
        let items: Vec<u32> = (0..20).collect();
        let mut seen = [0u32; 20];
        for seed in 0..2000 {
            for x in draw_sample(&items, 2, seed) {
                seen[x as usize] += 1;
            }
        }
        assert!(seen.iter().all(|n| (120..=280).contains(n)), "{seen:?}");
    }

    fn input() -> InspectionInput {
        InspectionInput {
            group: "1".into(),
            village: "450203100201".into(),
            kind: "暗访".into(),
            on: "2022-04-20".into(),
            checked: "抽查农户档案".into(),
            note: String::new(),
            seed: "42".into(),
            sample_size: "5".into(),
            problems: vec![ProblemInput {
                household_no: "4502031002010001".into(),
                problem: "核查表未签字".into(),
                owner: "大正村村委".into(),
                due_on: "2022-04-27".into(),
            }],
        }
    }

    #[test]
    fn a_form_is_checked_with_row_numbers_in_the_messages() {
        let cal = WorkCalendar::builtin();
        let at = chrono::Utc::now();
        let (ok, size) = input().parse(&cal, d("2022-04-20"), at).unwrap();
        assert_eq!((ok.sample_seed, size, ok.problems.len()), (42, 5, 1));
        assert_eq!(ok.kind, InspectionKind::Unannounced);

        let mut bad = input();
        bad.on = "2022-04-21".into();
        bad.checked = " ".into();
        bad.problems.push(ProblemInput {
            problem: "公示照片缺失".into(),
            due_on: "2022-05-01".into(),
            ..Default::default()
        });
        let e = bad.parse(&cal, d("2022-04-20"), at).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("晚于今天") && text.contains("请写明检查了什么"), "{text}");
        assert!(text.contains("第2条：请填写整改责任人"), "{text}");
        // 2022-05-01 is in the May Day holiday
        assert!(text.contains("第2条：整改期限 2022-05-01 是休息日"), "{text}");
        // a blank problem row is ignored
        let mut blank = input();
        blank.problems.push(ProblemInput::default());
        assert_eq!(blank.parse(&cal, d("2022-04-20"), at).unwrap().0.problems.len(), 1);
    }

    #[test]
    fn the_suggested_due_date_is_five_working_days_later() {
        let cal = WorkCalendar::builtin();
        let v = RegionCode::from_u64(450_203_100_201).unwrap();
        // Wed 2022-04-20 → Tue 04-26: Sunday 04-24 is a make-up working day before May Day
        assert_eq!(suggested_due(&cal, d("2022-04-20"), v), Some(d("2022-04-26")));
    }
}
