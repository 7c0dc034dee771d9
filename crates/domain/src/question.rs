//! 业务解答 (the Q&A desk, issue 7): the seed's 业务解答组 "梳理汇总各村集中排查工作中出现的问题，及时
//! 研究和协调解决；镇级层面确实无法协调解决的，汇总后上报柳东新区解决". A village asks (title, text,
//! files); the desk (镇专项办) answers, or escalates to 柳东新区 with a note of what it asked them
//! and records their reply when it comes, which answers the question. Unanswered questions age in
//! working days on the work calendar (D10) and are marked after [`AGING_WORKING_DAYS`]. An answered
//! question can be published as an FAQ to every village of the town, in an edited public wording.
//!
//! Who sees what: a question belongs to its village — the village's cadre, and the town, leaders and
//! supervisors above it, see it (through [`Scope`] in the store); a screener or an assistance officer
//! sees the questions they asked. A published question is seen by everyone of the town
//! ([`faq_range`]); of its files only the answer's are published, never the question's (a photo of a
//! form may show a household's data).

use chrono::{DateTime, NaiveDate, Utc};

use crate::account::{Actor, Permission, Scope, UserId};
use crate::audit::{AuditAction, AuditEntry};
use crate::calendar::WorkCalendar;
use crate::fields::FieldErrors;
use crate::ports::{AuditStore, QuestionFilter, QuestionStore, StoreError};
use crate::procedure::{AttachmentMeta, MAX_ATTACHMENT_BYTES, NewAttachment};
use crate::region::{RegionCode, RegionLevel};
use crate::service::EditError;

crate::codes::code_enum! {
    /// Where a question stands. Codes are stored.
    pub enum QuestionStatus {
        Open = 1 => "待解答",
        Escalated = 2 => "已上报柳东新区",
        Answered = 3 => "已解答",
    }
}

crate::codes::code_enum! {
    /// Who gave the answer. Codes are stored.
    pub enum AnswerSource {
        Desk = 1 => "镇业务解答组",
        Liudong = 2 => "柳东新区",
    }
}

crate::codes::code_enum! {
    /// Which part of the exchange a file came with. Codes are stored.
    pub enum FilePart {
        Question = 1 => "提问附件",
        Answer = 2 => "解答附件",
    }
}

/// Unanswered questions waiting more than this many working days are marked on the desk's list.
pub const AGING_WORKING_DAYS: i64 = 2;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 80;
/// Longest question, answer or note, in characters.
pub const MAX_TEXT_CHARS: usize = 5000;
/// At most this many files with a question or an answer.
pub const MAX_FILES: usize = 10;

/// A file of a question (the bytes are read on their own, [`QuestionStore::question_file`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QuestionFile {
    pub part: FilePart,
    #[serde(flatten)]
    pub meta: AttachmentMeta,
}

/// A question as stored, with who did each step and when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Question {
    pub id: i64,
    pub village: RegionCode,
    pub title: String,
    pub body: String,
    pub status: QuestionStatus,
    pub asked_by_id: Option<UserId>,
    pub asked_by: String,
    pub asked_at: DateTime<Utc>,
    /// What the desk asked 柳东新区 (empty when never escalated).
    pub escalation_note: String,
    pub escalated_by: Option<String>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub answer: String,
    pub answer_source: Option<AnswerSource>,
    /// The desk member who answered or recorded 柳东新区's reply.
    pub answered_by: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    pub published: bool,
    /// The public wording (set when first published; kept when unpublished).
    pub faq_title: String,
    pub faq_question: String,
    pub faq_answer: String,
    pub published_by: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub files: Vec<QuestionFile>,
    pub version: i64,
}

fn china_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&crate::clock::china()).date_naive()
}

impl Question {
    /// Not answered yet (open, or escalated and waiting for 柳东新区).
    pub fn waiting(&self) -> bool {
        self.status != QuestionStatus::Answered
    }

    /// The day it was asked, in China.
    pub fn asked_on(&self) -> NaiveDate {
        china_date(self.asked_at)
    }

    pub fn answered_on(&self) -> Option<NaiveDate> {
        self.answered_at.map(china_date)
    }

    /// How many working days (D10: the day asked does not count) it has waited: until today while
    /// unanswered, until its answer once answered. `None` for a day the calendar does not cover.
    pub fn waited_working_days(&self, cal: &WorkCalendar, today: NaiveDate) -> Option<i64> {
        let end = self.answered_on().unwrap_or(today).max(self.asked_on());
        cal.working_days_between(self.asked_on(), end, self.village).ok()
    }

    /// Unanswered for more than [`AGING_WORKING_DAYS`] working days: marked on the lists.
    pub fn is_aged(&self, cal: &WorkCalendar, today: NaiveDate) -> bool {
        self.waiting() && self.waited_working_days(cal, today).is_some_and(|d| d > AGING_WORKING_DAYS)
    }

    pub fn files_of(&self, part: FilePart) -> impl Iterator<Item = &QuestionFile> {
        self.files.iter().filter(move |f| f.part == part)
    }

    /// The wording the FAQ shows (the public wording, or the original where none was written).
    pub fn public_title(&self) -> &str {
        if self.faq_title.is_empty() { &self.title } else { &self.faq_title }
    }

    pub fn public_question(&self) -> &str {
        if self.faq_question.is_empty() { &self.body } else { &self.faq_question }
    }

    pub fn public_answer(&self) -> &str {
        if self.faq_answer.is_empty() { &self.answer } else { &self.faq_answer }
    }
}

/// The region whose published questions a scope sees: a village's whole town (an FAQ is published
/// "to all villages"), the scope's own region from the town up.
pub fn faq_range(scope: &Scope) -> (i64, i64) {
    match scope.region() {
        Some(r) if r.level() == RegionLevel::Village => {
            let (lo, hi) = r.ancestor(RegionLevel::Town).subtree();
            (lo as i64, hi as i64)
        }
        _ => scope.range(),
    }
}

/// A question as the form or the API sends it: text, kept as typed when it is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuestionInput {
    /// Only when the asker's own region is above a village (an officer of the town).
    pub village: String,
    pub title: String,
    pub body: String,
}

/// A question checked, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQuestion {
    pub village: RegionCode,
    pub title: String,
    pub body: String,
    pub asked_by_id: Option<UserId>,
}

/// The village a scope asks for without choosing: its own, when it is one village.
pub fn own_village(scope: &Scope) -> Option<RegionCode> {
    scope.region().filter(|r| r.level() == RegionLevel::Village)
}

fn check_text(e: &mut FieldErrors, field: &'static str, label: &'static str, text: &str, missing: &str) {
    let n = text.trim().chars().count();
    if n == 0 {
        e.push(field, label, missing.to_string());
    } else if n > MAX_TEXT_CHARS {
        e.push(field, label, format!("最多 {MAX_TEXT_CHARS} 字（现有 {n} 字），较长的材料请作为附件上传"));
    }
}

/// Checks uploaded files: not empty, not over the size limit of case attachments, not too many.
pub fn check_files(e: &mut FieldErrors, files: &[NewAttachment]) {
    if files.len() > MAX_FILES {
        e.push("files", "附件", format!("最多 {MAX_FILES} 个附件（选了 {} 个）", files.len()));
    }
    for f in files {
        if f.body.is_empty() {
            e.push("files", "附件", format!("“{}”是空文件", f.file_name));
        } else if f.body.len() > MAX_ATTACHMENT_BYTES {
            e.push(
                "files",
                "附件",
                format!(
                    "“{}”有 {:.1} MB，超过 {} MB：请压缩照片或分页扫描后再上传",
                    f.file_name,
                    f.body.len() as f64 / 1_048_576.0,
                    MAX_ATTACHMENT_BYTES / 1_048_576
                ),
            );
        }
    }
}

impl QuestionInput {
    /// Checks the form for `scope` (the asker's): the village is the asker's own, or — for an
    /// asker above a village — one chosen within their scope.
    pub fn parse(&self, scope: &Scope, files: &[NewAttachment]) -> Result<NewQuestion, FieldErrors> {
        let mut e = FieldErrors::default();
        let village = match own_village(scope) {
            Some(v) => Some(v),
            None => match RegionCode::parse(self.village.trim()) {
                Ok(v) if v.level() == RegionLevel::Village && scope.contains(v) => Some(v),
                _ => {
                    e.push("village", "村", "请选择提问的村");
                    None
                }
            },
        };
        let title = self.title.trim();
        let n = title.chars().count();
        if n == 0 {
            e.push("title", "标题", "请用一句话概括问题，如“外出务工人员收入如何核算”");
        } else if n > MAX_TITLE_CHARS {
            e.push("title", "标题", format!("标题最多 {MAX_TITLE_CHARS} 字（现有 {n} 字），详细情况请写在问题说明里"));
        }
        check_text(&mut e, "body", "问题说明", &self.body, "请写明遇到的情况和想问的问题");
        check_files(&mut e, files);
        match village {
            Some(village) if e.is_empty() => Ok(NewQuestion {
                village,
                title: title.to_string(),
                body: self.body.trim().to_string(),
                asked_by_id: None,
            }),
            _ => Err(e),
        }
    }
}

/// What the desk does with a question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuestionAction {
    /// 解答: the desk answers an open question itself.
    Answer { text: String },
    /// 上报柳东新区: with what was asked of them.
    Escalate { note: String },
    /// 登记柳东新区答复: the reply of an escalated question, which answers it.
    RecordReply { text: String },
    /// 发布到常见问题: optionally in an edited public wording (empty = as published before, else the
    /// original).
    Publish { title: String, question: String, answer: String },
    /// 撤回发布.
    Unpublish,
}

impl QuestionAction {
    /// The API's key (`answer`, `escalate`, `record_reply`, `publish`, `unpublish`).
    pub fn key(&self) -> &'static str {
        match self {
            QuestionAction::Answer { .. } => "answer",
            QuestionAction::Escalate { .. } => "escalate",
            QuestionAction::RecordReply { .. } => "record_reply",
            QuestionAction::Publish { .. } => "publish",
            QuestionAction::Unpublish => "unpublish",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            QuestionAction::Answer { .. } => "解答",
            QuestionAction::Escalate { .. } => "上报柳东新区",
            QuestionAction::RecordReply { .. } => "登记柳东新区答复",
            QuestionAction::Publish { .. } => "发布到常见问题",
            QuestionAction::Unpublish => "撤回发布",
        }
    }

    /// Checks the action against the question as it stands and says what it changes.
    pub fn plan(&self, q: &Question, files: &[NewAttachment]) -> Result<QuestionChange, FieldErrors> {
        let mut e = FieldErrors::default();
        if !files.is_empty() && !matches!(self, QuestionAction::Answer { .. } | QuestionAction::RecordReply { .. }) {
            e.push("files", "附件", "附件只能随解答或柳东新区的答复上传");
        }
        check_files(&mut e, files);
        let change = match self {
            QuestionAction::Answer { text } => {
                match q.status {
                    QuestionStatus::Open => {}
                    QuestionStatus::Escalated => {
                        e.push("text", "解答", "该问题已上报柳东新区：收到答复后请用“登记柳东新区答复”记录")
                    }
                    QuestionStatus::Answered => e.push("text", "解答", "该问题已解答，无需再次解答"),
                }
                check_text(&mut e, "text", "解答", text, "请填写解答内容");
                QuestionChange::Answer { text: text.trim().to_string(), source: AnswerSource::Desk }
            }
            QuestionAction::Escalate { note } => {
                match q.status {
                    QuestionStatus::Open => {}
                    QuestionStatus::Escalated => e.push("note", "上报说明", "该问题已上报柳东新区，正在等待答复"),
                    QuestionStatus::Answered => e.push("note", "上报说明", "该问题已解答，无需上报"),
                }
                check_text(&mut e, "note", "上报说明", note, "请写明向柳东新区请示了什么（问了谁、怎么问的）");
                QuestionChange::Escalate { note: note.trim().to_string() }
            }
            QuestionAction::RecordReply { text } => {
                if q.status != QuestionStatus::Escalated {
                    e.push("reply", "柳东新区答复", "该问题没有上报柳东新区，不能登记答复");
                }
                check_text(&mut e, "reply", "柳东新区答复", text, "请填写柳东新区的答复内容");
                QuestionChange::Answer { text: text.trim().to_string(), source: AnswerSource::Liudong }
            }
            QuestionAction::Publish { title, question, answer } => {
                if q.status != QuestionStatus::Answered {
                    e.push("faq_answer", "公开的解答", "问题解答后才能发布到常见问题");
                }
                let or = |typed: &str, original: &str| {
                    let t = typed.trim();
                    if t.is_empty() { original.to_string() } else { t.to_string() }
                };
                // left empty: the wording published before, else the original
                let (title, question, answer) =
                    (or(title, q.public_title()), or(question, q.public_question()), or(answer, q.public_answer()));
                if title.chars().count() > MAX_TITLE_CHARS {
                    e.push("faq_title", "公开的标题", format!("标题最多 {MAX_TITLE_CHARS} 字"));
                }
                for (field, label, text) in
                    [("faq_question", "公开的问题", &question), ("faq_answer", "公开的解答", &answer)]
                {
                    if text.chars().count() > MAX_TEXT_CHARS {
                        e.push(field, label, format!("最多 {MAX_TEXT_CHARS} 字"));
                    }
                }
                QuestionChange::Publish { title, question, answer }
            }
            QuestionAction::Unpublish => {
                if !q.published {
                    e.push("publish", "发布", "该问题没有发布，无需撤回");
                }
                QuestionChange::Unpublish
            }
        };
        e.into_result(change)
    }
}

/// A checked change, as the store applies it (with the actor and the moment as who and when).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuestionChange {
    Answer { text: String, source: AnswerSource },
    Escalate { note: String },
    Publish { title: String, question: String, answer: String },
    Unpublish,
}

impl QuestionChange {
    /// The audit note.
    pub fn describe(&self, id: i64) -> String {
        match self {
            QuestionChange::Answer { source: AnswerSource::Desk, .. } => format!("解答问题 #{id}"),
            QuestionChange::Answer { source: AnswerSource::Liudong, .. } => {
                format!("登记柳东新区对问题 #{id} 的答复")
            }
            QuestionChange::Escalate { note } => format!("问题 #{id} 上报柳东新区：{note}"),
            QuestionChange::Publish { title, .. } => format!("问题 #{id} 发布到常见问题：{title}"),
            QuestionChange::Unpublish => format!("问题 #{id} 撤回发布"),
        }
    }
}

// ------------------------------------------------------------------ service

/// Asks a question for the asker's village, with its files; audited.
#[allow(clippy::too_many_arguments)]
pub async fn ask<S: QuestionStore>(
    store: &S,
    actor: &Actor,
    user: UserId,
    scope: &Scope,
    at: DateTime<Utc>,
    input: &QuestionInput,
    files: &[NewAttachment],
) -> Result<Question, EditError> {
    if !scope.allows(Permission::AskQuestions) {
        return Err(EditError::Forbidden);
    }
    let mut new = input.parse(scope, files)?;
    new.asked_by_id = Some(user);
    Ok(store.ask_question(actor, at, &new, files).await?)
}

/// One question the caller may see.
pub async fn question<S: QuestionStore>(store: &S, scope: &Scope, id: i64) -> Result<Question, EditError> {
    if !scope.allows(Permission::ViewQuestions) {
        return Err(EditError::Forbidden);
    }
    store.question(scope, id).await?.ok_or(EditError::NotFound)
}

/// Questions the caller may see, filtered.
pub async fn questions<S: QuestionStore>(
    store: &S,
    scope: &Scope,
    filter: &QuestionFilter,
    limit: u32,
) -> Result<crate::ports::Page<Question>, EditError> {
    if !scope.allows(Permission::ViewQuestions) {
        return Err(EditError::Forbidden);
    }
    Ok(store.questions(scope, filter, limit).await?)
}

/// The desk's action on a question read at `version`; a question changed meanwhile is refused with
/// the current version (nothing is written); audited.
#[allow(clippy::too_many_arguments)]
pub async fn act<S: QuestionStore>(
    store: &S,
    actor: &Actor,
    scope: &Scope,
    at: DateTime<Utc>,
    id: i64,
    version: i64,
    action: &QuestionAction,
    files: &[NewAttachment],
) -> Result<Question, EditError> {
    if !scope.allows(Permission::AnswerQuestions) {
        return Err(EditError::Forbidden);
    }
    let q = store.question(scope, id).await?.ok_or(EditError::NotFound)?;
    let stale = |current| EditError::Stale { what: format!("问题 #{id}"), current };
    if q.version != version {
        return Err(stale(q.version));
    }
    let change = action.plan(&q, files)?;
    match store.change_question(actor, at, scope, id, version, &change, files).await {
        Err(StoreError::Conflict) => {
            let current = store.question(scope, id).await?.ok_or(EditError::NotFound)?.version;
            Err(stale(current))
        }
        other => Ok(other?),
    }
}

/// A file of a question the caller may see (or an answer's file of a published question); every
/// download is audited (a photo of a form can show a household's data, D18).
pub async fn download_file<S: QuestionStore + AuditStore>(
    store: &S,
    actor: &Actor,
    scope: &Scope,
    at: DateTime<Utc>,
    id: i64,
) -> Result<(QuestionFile, Vec<u8>), EditError> {
    let (file, question, body) = store.question_file(scope, id).await?.ok_or(EditError::NotFound)?;
    // a question's own files may show a household's data: roles that see sensitive data only;
    // an answer's files (a policy document, a filled-in example) go to everyone who sees the answer
    if file.part == FilePart::Question && !scope.allows(Permission::ViewSensitive) {
        return Err(EditError::Forbidden);
    }
    let e = AuditEntry::new(at, actor, AuditAction::ViewSensitive, "question", question).note(format!(
        "下载问题 #{question} 的{}“{}”",
        file.part.label(),
        file.meta.file_name
    ));
    store.append_audit(&[e]).await?;
    Ok((file, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::Role;
    use chrono::TimeZone;

    fn village() -> RegionCode {
        RegionCode::from_u64(450_203_100_201).unwrap()
    }

    /// 09:00 in China on the day.
    fn at(d: &str) -> DateTime<Utc> {
        let d: NaiveDate = d.parse().unwrap();
        crate::clock::china().from_local_datetime(&d.and_hms_opt(9, 0, 0).unwrap()).unwrap().with_timezone(&Utc)
    }

    fn question(asked: &str) -> Question {
        Question {
            id: 1,
            village: village(),
            title: "外出务工收入怎么算".into(),
            body: "农户在外务工，收入没有流水".into(),
            status: QuestionStatus::Open,
            asked_by_id: None,
            asked_by: "dazheng".into(),
            asked_at: at(asked),
            escalation_note: String::new(),
            escalated_by: None,
            escalated_at: None,
            answer: String::new(),
            answer_source: None,
            answered_by: None,
            answered_at: None,
            published: false,
            faq_title: String::new(),
            faq_question: String::new(),
            faq_answer: String::new(),
            published_by: None,
            published_at: None,
            files: Vec::new(),
            version: 1,
        }
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_question_ages_in_working_days_and_is_marked_after_two() {
        let cal = WorkCalendar::builtin();
        // asked Friday 2022-04-01. In Guangxi 04-02..06 are holidays (清明 and 壮族三月三; nationally
        // Saturday 04-02 is a make-up working day): the first working day after is Thursday 04-07
        let q = question("2022-04-01");
        assert_eq!(q.waited_working_days(&cal, d("2022-04-01")), Some(0));
        assert_eq!(q.waited_working_days(&cal, d("2022-04-06")), Some(0), "三月三 in Guangxi");
        assert_eq!(q.waited_working_days(&cal.national_only(), d("2022-04-06")), Some(2), "04-02 and 04-06");
        assert_eq!(q.waited_working_days(&cal, d("2022-04-07")), Some(1));
        assert_eq!(q.waited_working_days(&cal, d("2022-04-08")), Some(2));
        assert!(!q.is_aged(&cal, d("2022-04-08")), "two working days: not yet marked");
        assert_eq!(q.waited_working_days(&cal, d("2022-04-11")), Some(3), "Monday, after the weekend");
        assert!(q.is_aged(&cal, d("2022-04-11")));
        // escalated questions still wait and age
        let mut esc = q.clone();
        esc.status = QuestionStatus::Escalated;
        assert!(esc.is_aged(&cal, d("2022-04-11")));
        // an answered question stops ageing at its answer and is never marked
        let mut done = q.clone();
        done.status = QuestionStatus::Answered;
        done.answered_at = Some(at("2022-04-08"));
        assert_eq!(done.waited_working_days(&cal, d("2022-04-29")), Some(2));
        assert!(!done.is_aged(&cal, d("2022-04-29")));
        // a day the calendar does not know: no figure, no mark (never a guess, D10)
        assert_eq!(question("2019-04-01").waited_working_days(&cal, d("2019-04-09")), None);
        // the day is China's: 2022-04-01 23:30 UTC is already 04-02 in China
        let mut late = question("2022-04-01");
        late.asked_at = Utc.with_ymd_and_hms(2022, 4, 1, 23, 30, 0).unwrap();
        assert_eq!(late.asked_on(), d("2022-04-02"));
    }

    fn scope_of(role: Role, region: u64) -> Scope {
        crate::account::User {
            id: UserId(7),
            username: crate::account::Username::parse("someone").unwrap(),
            display_name: String::new(),
            role,
            region: RegionCode::from_u64(region).unwrap(),
            active: true,
            failed_logins: 0,
            locked_until: None,
            created_at: at("2022-03-28"),
        }
        .scope()
    }

    #[test]
    fn a_question_form_is_checked_and_the_village_is_the_askers_own() {
        let cadre = scope_of(Role::VillageCadre, 450_203_100_201);
        let input = QuestionInput {
            village: "450203100202".into(), // ignored: a cadre asks for their own village
            title: "  外出务工收入怎么算 ".into(),
            body: "农户在外务工，收入没有流水，怎么核算？".into(),
        };
        let ok = input.parse(&cadre, &[]).unwrap();
        assert_eq!((ok.village, ok.title.as_str()), (village(), "外出务工收入怎么算"));

        let bad = QuestionInput { title: "问".repeat(81), body: " ".into(), ..Default::default() };
        let e =
            bad.parse(&cadre, &[NewAttachment { file_name: "空.jpg".into(), content_type: "".into(), body: vec![] }]);
        let e = e.unwrap_err();
        assert!(e.get("title").unwrap().contains("最多 80 字"), "{e}");
        assert!(e.get("body").unwrap().contains("请写明"), "{e}");
        assert!(e.get("files").unwrap().contains("空文件"), "{e}");

        // an officer of the town chooses one of its villages
        let officer = scope_of(Role::AssistanceOfficer, 450_203_100_000);
        let mut i = input.clone();
        i.village = String::new();
        assert!(i.parse(&officer, &[]).unwrap_err().get("village").is_some());
        i.village = "450203100202".into();
        assert_eq!(i.parse(&officer, &[]).unwrap().village.as_u64(), 450_203_100_202);
        i.village = "450203101201".into(); // another town's village
        assert!(i.parse(&officer, &[]).is_err());
    }

    #[test]
    fn actions_follow_the_questions_life() {
        let open = question("2022-04-01");
        let answer = QuestionAction::Answer { text: "按务工地证明和同工种工资估算".into() };
        assert_eq!(
            answer.plan(&open, &[]).unwrap(),
            QuestionChange::Answer {
                text: "按务工地证明和同工种工资估算".into(), source: AnswerSource::Desk
            }
        );
        assert!(QuestionAction::Answer { text: " ".into() }.plan(&open, &[]).unwrap_err().get("text").is_some());
        assert!(QuestionAction::RecordReply { text: "x".into() }.plan(&open, &[]).is_err(), "not escalated");
        assert!(QuestionAction::Escalate { note: "".into() }.plan(&open, &[]).unwrap_err().get("note").is_some());
        assert!(
            QuestionAction::Publish { title: "".into(), question: "".into(), answer: "".into() }
                .plan(&open, &[])
                .is_err()
        );

        let mut escalated = open.clone();
        escalated.status = QuestionStatus::Escalated;
        let e = answer.plan(&escalated, &[]).unwrap_err();
        assert!(e.get("text").unwrap().contains("登记柳东新区答复"), "{e}");
        let reply = QuestionAction::RecordReply { text: "以区人社局意见为准".into() };
        assert!(matches!(
            reply.plan(&escalated, &[]),
            Ok(QuestionChange::Answer { source: AnswerSource::Liudong, .. })
        ));

        let mut answered = open.clone();
        answered.status = QuestionStatus::Answered;
        answered.answer = "按务工地证明估算".into();
        // the public wording defaults to the original where left empty
        let publish =
            QuestionAction::Publish { title: "务工收入核算".into(), question: " ".into(), answer: "".into() };
        assert_eq!(
            publish.plan(&answered, &[]).unwrap(),
            QuestionChange::Publish {
                title: "务工收入核算".into(),
                question: open.body.clone(),
                answer: "按务工地证明估算".into()
            }
        );
        assert!(QuestionAction::Unpublish.plan(&answered, &[]).is_err(), "not published");
        answered.published = true;
        assert_eq!(QuestionAction::Unpublish.plan(&answered, &[]).unwrap(), QuestionChange::Unpublish);
        // files go with answers only
        let file = NewAttachment { file_name: "a.pdf".into(), content_type: "".into(), body: vec![1] };
        assert!(QuestionAction::Unpublish.plan(&answered, std::slice::from_ref(&file)).is_err());
        assert!(answer.plan(&open, &[file]).is_ok());
    }

    #[test]
    fn the_desk_is_the_town_office_and_villages_ask() {
        use Permission::*;
        assert!(Role::TownOffice.allows(AnswerQuestions) && !Role::TownOffice.allows(AskQuestions));
        for r in [Role::VillageCadre, Role::Screener, Role::AssistanceOfficer] {
            assert!(r.allows(AskQuestions) && r.allows(ViewQuestions) && !r.allows(AnswerQuestions), "{r}");
        }
        assert!(Role::Leader.allows(ViewQuestions) && !Role::Leader.allows(AskQuestions));
        assert!(Role::Supervisor.allows(ViewQuestions) && !Role::Supervisor.allows(AnswerQuestions));
        assert!(!Role::DepartmentStaff.allows(ViewQuestions) && !Role::CountyApprover.allows(ViewQuestions));
    }

    #[test]
    fn the_faq_of_a_village_is_its_towns() {
        let cadre = scope_of(Role::VillageCadre, 450_203_100_201);
        assert_eq!(faq_range(&cadre), (450_203_100_000, 450_203_100_999));
        let county = scope_of(Role::DepartmentStaff, 450_203_000_000);
        assert_eq!(faq_range(&county), county.range());
        assert_eq!(faq_range(&Scope::system()), Scope::system().range());
    }

    #[test]
    fn the_public_wording_falls_back_to_the_original() {
        let mut q = question("2022-04-01");
        q.answer = "原解答".into();
        assert_eq!((q.public_title(), q.public_answer()), ("外出务工收入怎么算", "原解答"));
        q.faq_title = "务工收入".into();
        assert_eq!(q.public_title(), "务工收入");
    }
}
