//! 识别认定 and 风险消除 as cases that go through fixed steps, in order (DOMAIN D8, D9).
//!
//! The seed forbids simplifying or merging steps (不得简化及合并步骤): every step is its own
//! record with its own date, actor, outcome and evidence, recorded one at a time in the order
//! of [`Procedure::steps`], each by the roles of [`Step::roles`]. What a step may decide is
//! checked here, before anything is written ([`check_step`]); the store only records it.

use chrono::{DateTime, Days, NaiveDate, Utc};

use crate::account::Role;
use crate::codes::{DisasterKind, EliminationMode, MonitoringCategory, RiskType};
use crate::household::{HouseholdId, HouseholdNo, MAX_RISKS};
use crate::region::RegionCode;

crate::codes::code_enum! {
    /// Which procedure a case follows.
    pub enum Procedure {
        Identification = 1 => "识别认定",
        Elimination = 2 => "风险消除",
    }
}

crate::codes::code_enum! {
    /// One step of a procedure (DOMAIN D8, D9). Codes are stored: never renumber.
    pub enum Step {
        Clue = 1 => "线索登记",
        Application = 2 => "申请及承诺授权",
        HomeVerification = 3 => "入户核实",
        DataCheck = 4 => "信息比对",
        Appraisal = 5 => "民主评议",
        PublicNotice = 6 => "村内公示",
        TownReview = 7 => "乡镇审核",
        CountyApproval = 8 => "县级审定",
        Announcement = 9 => "公告",
        Inclusion = 10 => "纳入监测",
        Proposal = 11 => "提出风险消除",
        EliminationMark = 12 => "标注风险消除",
    }
}

crate::codes::code_enum! {
    /// 发现途径 of a clue (DOMAIN D8, §4.1).
    pub enum ClueSource {
        SelfDeclared = 1 => "农户自主申报",
        Cadre = 2 => "干部排查",
        DepartmentAlert = 3 => "部门筛查预警",
        Campaign = 4 => "集中排查发现",
    }
}

crate::codes::code_enum! {
    /// Where a case stands.
    pub enum CaseStatus {
        Open = 1 => "办理中",
        Completed = 2 => "已办结",
        Rejected = 3 => "未通过",
        Withdrawn = 4 => "已撤销",
    }
}

crate::codes::code_enum! {
    /// What a recorded step decided.
    pub enum StepOutcome {
        Passed = 1 => "通过",
        Rejected = 2 => "不通过",
        /// A public notice that has begun and not yet ended.
        Started = 3 => "公示中",
    }
}

const IDENTIFICATION: &[Step] = &[
    Step::Clue,
    Step::Application,
    Step::HomeVerification,
    Step::DataCheck,
    Step::Appraisal,
    Step::PublicNotice,
    Step::TownReview,
    Step::CountyApproval,
    Step::Announcement,
    Step::Inclusion,
];

const ELIMINATION: &[Step] = &[
    Step::Proposal,
    Step::HomeVerification,
    Step::Appraisal,
    Step::PublicNotice,
    Step::TownReview,
    Step::CountyApproval,
    Step::EliminationMark,
];

impl Procedure {
    /// The steps in their fixed order; the first opens the case.
    pub fn steps(self) -> &'static [Step] {
        match self {
            Procedure::Identification => IDENTIFICATION,
            Procedure::Elimination => ELIMINATION,
        }
    }

    /// The steps at which a case may end with 不通过 (DOMAIN D8; for D9 the same review steps
    /// and the home verification, which may find the conditions unmet).
    pub fn may_reject(self, step: Step) -> bool {
        match self {
            Procedure::Identification => {
                matches!(step, Step::DataCheck | Step::Appraisal | Step::TownReview | Step::CountyApproval)
            }
            Procedure::Elimination => {
                matches!(step, Step::HomeVerification | Step::Appraisal | Step::TownReview | Step::CountyApproval)
            }
        }
    }

    /// How a rejected case of this procedure is described.
    pub fn rejected_label(self) -> &'static str {
        match self {
            Procedure::Identification => "不予纳入",
            Procedure::Elimination => "不予消除",
        }
    }

    /// Identifier in URLs and the API.
    pub fn key(self) -> &'static str {
        match self {
            Procedure::Identification => "identification",
            Procedure::Elimination => "elimination",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Procedure::ALL.iter().copied().find(|p| p.key() == key)
    }
}

impl Step {
    /// Who records the step (DOMAIN §4.2 "Actor"): the village, the town or the county. The
    /// system administrator runs the system and decides no case (separation of duties).
    pub fn roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Step::Clue => &[VillageCadre, TownOffice],
            Step::Proposal => &[VillageCadre, TownOffice, AssistanceOfficer],
            Step::Application | Step::Appraisal | Step::PublicNotice => &[VillageCadre],
            Step::HomeVerification => &[VillageCadre, TownOffice],
            Step::DataCheck | Step::CountyApproval => &[CountyApprover],
            Step::TownReview | Step::Announcement | Step::Inclusion | Step::EliminationMark => &[TownOffice],
        }
    }

    pub fn allows(self, role: Role) -> bool {
        self.roles().contains(&role)
    }

    /// "村干部、镇专项办" for messages.
    pub fn roles_label(self) -> String {
        self.roles().iter().map(|r| r.label()).collect::<Vec<_>>().join("、")
    }

    /// Identifier in URLs and the API ("home_verification").
    pub fn key(self) -> &'static str {
        match self {
            Step::Clue => "clue",
            Step::Application => "application",
            Step::HomeVerification => "home_verification",
            Step::DataCheck => "data_check",
            Step::Appraisal => "appraisal",
            Step::PublicNotice => "public_notice",
            Step::TownReview => "town_review",
            Step::CountyApproval => "county_approval",
            Step::Announcement => "announcement",
            Step::Inclusion => "inclusion",
            Step::Proposal => "proposal",
            Step::EliminationMark => "elimination_mark",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Step::ALL.iter().copied().find(|s| s.key() == key.trim()).or_else(|| Step::parse_label(key))
    }

    /// What the step's evidence usually is, for the form's help text (DOMAIN §4.2 "Artefacts").
    pub fn evidence_hint(self) -> &'static str {
        match self {
            Step::Clue => "线索来源和情况说明",
            Step::Application => "《监测对象申请及承诺授权查询书》签字（按手印）扫描件",
            Step::HomeVerification => "入户核实人员（至少2人）、《信息采集表》或照片",
            Step::DataCheck => "财政供养、车辆、市场主体、房产等比对结果",
            Step::Appraisal => "民主评议会议记录",
            Step::PublicNotice => "公示照片（公示内容不含身份证号、电话、银行账号、健康状况）",
            Step::TownReview | Step::CountyApproval => "审核（审定）意见",
            Step::Announcement => "公告照片",
            Step::Inclusion => "录入全国防返贫监测信息系统的情况",
            Step::Proposal => "提出理由、收入和“三保障”情况",
            Step::EliminationMark => "标注情况",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct CaseId(pub i64);

/// What a deciding step decides besides passing: the county's inclusion (category, risks) or
/// the mode of an elimination.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Decision {
    Inclusion {
        category: MonitoringCategory,
        risks: Vec<RiskType>,
        /// 灾害类型, when the risks include 因自然灾害 (D7).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disaster: Option<DisasterKind>,
    },
    Elimination {
        mode: EliminationMode,
    },
}

/// An uploaded file as the pages list it (the bytes are read on their own).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AttachmentMeta {
    pub id: i64,
    pub step_id: Option<i64>,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}

/// A file to attach to a step.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub file_name: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// Largest attachment accepted (a phone photo or a scanned page).
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;

/// One recorded step.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StepRecord {
    pub id: i64,
    pub step: Step,
    pub outcome: StepOutcome,
    /// The day it was done (for a notice: the first day it was posted).
    pub done_on: NaiveDate,
    /// For a notice: the day it ended (None while it runs).
    pub ended_on: Option<NaiveDate>,
    pub participants: Vec<String>,
    pub note: String,
    pub decision: Option<Decision>,
    pub actor_name: String,
    pub actor_role: Role,
    pub recorded_at: DateTime<Utc>,
    pub attachments: Vec<AttachmentMeta>,
}

/// A 识别认定 or 风险消除 case with its steps, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Case {
    pub id: CaseId,
    pub procedure: Procedure,
    pub household_id: HouseholdId,
    pub household_no: HouseholdNo,
    /// The household's village now (a case follows its household).
    pub village: RegionCode,
    pub head_name: Option<String>,
    /// The household's 村民小组 (0 = none) and its number of members, for lists and notices.
    pub group_no: crate::region::GroupNo,
    pub members: i64,
    /// The category the finding behind the clue suggested, if any.
    pub suggested_category: Option<MonitoringCategory>,
    /// The household's 监测对象类别 now, if it has one (an elimination's notice shows it).
    pub monitored_category: Option<MonitoringCategory>,
    pub status: CaseStatus,
    pub source: Option<ClueSource>,
    pub finding_id: Option<i64>,
    /// The clue's (or proposal's) date: the 15-day count starts here.
    pub opened_on: NaiveDate,
    pub closed_on: Option<NaiveDate>,
    pub version: i64,
    pub steps: Vec<StepRecord>,
}

/// What may happen next on an open case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NextAction {
    Step {
        step: Step,
    },
    /// The notice runs; it may end on or after `earliest_end`.
    EndNotice {
        started_on: NaiveDate,
        earliest_end: NaiveDate,
    },
}

impl NextAction {
    pub fn step(self) -> Step {
        match self {
            NextAction::Step { step } => step,
            NextAction::EndNotice { .. } => Step::PublicNotice,
        }
    }
}

/// The procedure's parameters for one case (per year and region, DOMAIN D8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcedureRules {
    /// Full calendar days a notice must run (≥ 5).
    pub notice_days: u32,
    /// Days from the clue within which the procedure should finish (a warning).
    pub limit_days: u32,
}

impl Default for ProcedureRules {
    fn default() -> Self {
        ProcedureRules { notice_days: 5, limit_days: 15 }
    }
}

/// The earliest day a notice posted on `started` may end: it must have been up for
/// `days` full days, counted from the day after it was posted (DOMAIN D10).
pub fn notice_earliest_end(started: NaiveDate, days: u32) -> NaiveDate {
    started.checked_add_days(Days::new(u64::from(days))).unwrap_or(started)
}

impl Case {
    pub fn is_open(&self) -> bool {
        self.status == CaseStatus::Open
    }

    pub fn last_step(&self) -> Option<&StepRecord> {
        self.steps.last()
    }

    /// The date of the last thing done (a notice's end when it has ended).
    pub fn last_date(&self) -> NaiveDate {
        self.steps.last().map(|s| s.ended_on.unwrap_or(s.done_on)).unwrap_or(self.opened_on)
    }

    /// What comes next; `None` once the case is closed.
    pub fn next(&self, rules: &ProcedureRules) -> Option<NextAction> {
        if !self.is_open() {
            return None;
        }
        if let Some(last) = self.steps.last()
            && last.step == Step::PublicNotice
            && last.outcome == StepOutcome::Started
        {
            return Some(NextAction::EndNotice {
                started_on: last.done_on,
                earliest_end: notice_earliest_end(last.done_on, rules.notice_days),
            });
        }
        let done = self.steps.len();
        self.procedure.steps().get(done).map(|&step| NextAction::Step { step })
    }

    /// Days since the clue when over the limit and still open (a warning, not a block, D8; an
    /// elimination has no such limit, D9).
    pub fn over_limit(&self, today: NaiveDate, rules: &ProcedureRules) -> Option<i64> {
        let days = (today - self.opened_on).num_days();
        (self.procedure == Procedure::Identification && self.is_open() && days > i64::from(rules.limit_days))
            .then_some(days)
    }

    /// The county's decision (category and risks), once approved.
    pub fn decision(&self) -> Option<&Decision> {
        self.steps.iter().rev().find_map(|s| s.decision.as_ref())
    }

    /// A case may be withdrawn (撤销) only before the review steps begin: up to 信息比对 for an
    /// identification, before the home verification's result for an elimination. Later, a case
    /// that should not go on is rejected at a review step, with a reason (D8).
    pub fn may_withdraw(&self, rules: &ProcedureRules) -> bool {
        match (self.procedure, self.next(rules)) {
            (Procedure::Identification, Some(NextAction::Step { step })) => {
                matches!(step, Step::Application | Step::HomeVerification | Step::DataCheck)
            }
            (Procedure::Elimination, Some(NextAction::Step { step })) => step == Step::HomeVerification,
            _ => false,
        }
    }

    /// The step record of `step`, if done.
    pub fn record_of(&self, step: Step) -> Option<&StepRecord> {
        self.steps.iter().find(|s| s.step == step)
    }
}

/// A step as a user submits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepInput {
    pub step: Step,
    /// Passed, or Rejected (with a reason in `note`).
    pub reject: bool,
    pub on: NaiveDate,
    pub participants: Vec<String>,
    pub note: String,
    pub decision: Option<Decision>,
}

/// What recording a step will write, decided by [`check_step`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepPlan {
    pub step: Step,
    pub outcome: StepOutcome,
    /// A notice that ends: the row to complete, and its end date.
    pub ends_notice: Option<i64>,
    pub on: NaiveDate,
    pub participants: Vec<String>,
    pub note: String,
    pub decision: Option<Decision>,
    /// The case's status afterwards.
    pub status: CaseStatus,
    /// The parameter versions the check used (notice days, time limit), kept with the step.
    pub params: Vec<crate::params::ParamRef>,
}

/// Why a step may not be recorded. The first group are order violations (409 in the API).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcedureError {
    #[error("该案件{status}，不能再办理")]
    Closed { status: String },
    #[error("不能跳过步骤：下一步应为「{expected}」，不能直接办理「{tried}」（程序不得简化、合并或调换顺序）")]
    Skipped { tried: Step, expected: Step },
    #[error("「{tried}」已经办理，不能重复办理或调换顺序；下一步应为「{expected}」")]
    AlreadyDone { tried: Step, expected: Step },
    #[error("「{tried}」不属于{procedure}程序")]
    NotInProcedure { tried: Step, procedure: Procedure },
    #[error("公示须满{days}天：{started}开始的公示最早于{earliest}结束，请到期后再结束公示")]
    NoticeTooShort { days: u32, started: NaiveDate, earliest: NaiveDate },
    #[error("「{step}」应由{allowed}办理，您的角色（{role}）不能办理")]
    WrongRole { step: Step, role: Role, allowed: String },
    #[error("办理日期不能早于上一步「{previous}」的日期 {date}")]
    BeforePrevious { previous: Step, date: NaiveDate },
    #[error("办理日期不能晚于今天（{today}）")]
    InFuture { today: NaiveDate },
    #[error("「{step}」不能作出不通过的决定（只有{allowed}可以）")]
    RejectNotAllowed { step: Step, allowed: String },
    #[error("不通过必须填写理由")]
    ReasonRequired,
    #[error("入户核实须至少2人参加：请填写每位参加人员的姓名")]
    TooFewPeople,
    #[error("请选择监测对象类别，并选择1至5项风险类型（按主次排列）")]
    InclusionDecisionRequired,
    #[error("风险类型最多5项，且不能重复")]
    BadRisks,
    #[error("请选择风险消除方式（帮扶消除或自然消除）")]
    EliminationDecisionRequired,
    #[error("审定结果与该户登记信息不符：{0}")]
    Inconsistent(String),
    /// D16: 不宜纳入 facts without an approved exception.
    #[error("{0}")]
    Excluded(String),
    #[error("案件已办理到「{step}」，不能再撤销：不符合条件的，请在审核、审定步骤作出不通过的决定并写明理由")]
    TooLateToWithdraw { step: Step },
    #[error("撤销案件应由村干部或镇专项办办理，您的角色（{role}）不能办理")]
    WithdrawRole { role: Role },
}

impl ProcedureError {
    /// An attempt to skip, repeat or reorder steps, or a case no longer open: the API answers 409.
    pub fn is_order_violation(&self) -> bool {
        matches!(
            self,
            ProcedureError::Closed { .. }
                | ProcedureError::Skipped { .. }
                | ProcedureError::AlreadyDone { .. }
                | ProcedureError::NotInProcedure { .. }
                | ProcedureError::NoticeTooShort { .. }
                | ProcedureError::TooLateToWithdraw { .. }
        )
    }

    /// The form field the message belongs next to.
    pub fn field(&self) -> &'static str {
        match self {
            ProcedureError::NoticeTooShort { .. }
            | ProcedureError::BeforePrevious { .. }
            | ProcedureError::InFuture { .. } => "on",
            ProcedureError::ReasonRequired | ProcedureError::Excluded(_) => "note",
            ProcedureError::RejectNotAllowed { .. } => "outcome",
            ProcedureError::TooFewPeople => "participants",
            ProcedureError::InclusionDecisionRequired
            | ProcedureError::EliminationDecisionRequired
            | ProcedureError::Inconsistent(_) => "category",
            ProcedureError::TooLateToWithdraw { .. } | ProcedureError::WithdrawRole { .. } => "reason",
            ProcedureError::BadRisks => "risks",
            _ => "step",
        }
    }
}

fn allowed_rejections(p: Procedure) -> String {
    p.steps().iter().filter(|s| p.may_reject(**s)).map(|s| s.label()).collect::<Vec<_>>().join("、")
}

/// Decides whether `input` may be recorded on `case` by a user of `role` today, and what it
/// writes. Order first (the case's next step), then who, then when, then what.
pub fn check_step(
    case: &Case,
    input: &StepInput,
    role: Role,
    today: NaiveDate,
    rules: &ProcedureRules,
) -> Result<StepPlan, ProcedureError> {
    let p = case.procedure;
    let Some(next) = case.next(rules) else {
        let status = match case.status {
            CaseStatus::Rejected => format!("已{}", p.rejected_label()),
            s => s.label().to_string(),
        };
        return Err(ProcedureError::Closed { status });
    };
    let expected = next.step();
    if !p.steps().contains(&input.step) {
        return Err(ProcedureError::NotInProcedure { tried: input.step, procedure: p });
    }
    if input.step != expected {
        let pos = |s: Step| p.steps().iter().position(|x| *x == s).unwrap_or(0);
        return Err(if pos(input.step) < pos(expected) {
            ProcedureError::AlreadyDone { tried: input.step, expected }
        } else {
            ProcedureError::Skipped { tried: input.step, expected }
        });
    }
    if !input.step.allows(role) {
        return Err(ProcedureError::WrongRole { step: input.step, role, allowed: input.step.roles_label() });
    }
    if input.on > today {
        return Err(ProcedureError::InFuture { today });
    }
    let previous = case.steps.last();
    if let Some(prev) = previous {
        let date = prev.ended_on.unwrap_or(prev.done_on);
        if input.on < date {
            return Err(ProcedureError::BeforePrevious { previous: prev.step, date });
        }
    }
    let note = input.note.trim().to_string();
    if input.reject {
        if !p.may_reject(input.step) {
            return Err(ProcedureError::RejectNotAllowed { step: input.step, allowed: allowed_rejections(p) });
        }
        if note.is_empty() {
            return Err(ProcedureError::ReasonRequired);
        }
    }
    // the same person twice is one person
    let mut participants: Vec<String> = Vec::new();
    for p in input.participants.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if !participants.iter().any(|q| q == p) {
            participants.push(p.to_string());
        }
    }
    if input.step == Step::HomeVerification && !input.reject && participants.len() < 2 {
        return Err(ProcedureError::TooFewPeople);
    }
    let mut decision = None;
    if input.step == Step::CountyApproval && !input.reject {
        decision = Some(match (p, &input.decision) {
            (Procedure::Identification, Some(Decision::Inclusion { category, risks, disaster })) => {
                let mut seen = std::collections::HashSet::new();
                if risks.is_empty() {
                    return Err(ProcedureError::InclusionDecisionRequired);
                }
                if risks.len() > MAX_RISKS || !risks.iter().all(|r| seen.insert(*r)) {
                    return Err(ProcedureError::BadRisks);
                }
                Decision::Inclusion { category: *category, risks: risks.clone(), disaster: *disaster }
            }
            (Procedure::Identification, _) => return Err(ProcedureError::InclusionDecisionRequired),
            (Procedure::Elimination, Some(d @ Decision::Elimination { .. })) => d.clone(),
            (Procedure::Elimination, _) => return Err(ProcedureError::EliminationDecisionRequired),
        });
    }
    let (outcome, ends_notice) = match next {
        NextAction::EndNotice { started_on, earliest_end } => {
            if input.on < earliest_end {
                return Err(ProcedureError::NoticeTooShort {
                    days: rules.notice_days,
                    started: started_on,
                    earliest: earliest_end,
                });
            }
            (StepOutcome::Passed, previous.map(|s| s.id))
        }
        NextAction::Step { step: Step::PublicNotice } => (StepOutcome::Started, None),
        NextAction::Step { .. } if input.reject => (StepOutcome::Rejected, None),
        NextAction::Step { .. } => (StepOutcome::Passed, None),
    };
    let last = p.steps().last() == Some(&input.step);
    let status = match outcome {
        StepOutcome::Rejected => CaseStatus::Rejected,
        StepOutcome::Passed if last => CaseStatus::Completed,
        _ => CaseStatus::Open,
    };
    Ok(StepPlan {
        step: input.step,
        outcome,
        ends_notice,
        on: input.on,
        participants,
        note,
        decision,
        status,
        params: Vec::new(),
    })
}

/// Why a case may not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("该户已有办理中的{procedure}案件（#{id}），请在该案件中继续办理")]
    AlreadyOpen { procedure: Procedure, id: i64 },
    #[error("该户已是监测对象（{0}），无需再识别认定")]
    AlreadyMonitored(String),
    #[error("该户不是监测中的监测对象（{0}），不能提出风险消除")]
    NotMonitored(String),
    #[error("线索登记日期不能晚于今天（{today}）")]
    InFuture { today: NaiveDate },
    #[error("「{step}」应由{allowed}办理，您的角色（{role}）不能办理")]
    WrongRole { step: Step, role: Role, allowed: String },
    #[error("请说明线索情况（谁发现、发现了什么）")]
    NoteRequired,
    #[error("暂不能提出风险消除：{0}")]
    Blocked(String),
}

#[cfg(test)]
mod tests;
