//! 业务解答 (issue 7): the villages ask the town's Q&A desk; the desk answers, escalates to 柳东新区
//! and records their reply; answered questions can be published to the 常见问题 (FAQ) of every
//! village. Files go with the question and the answer (multipart, the CSRF token in the query
//! string like the case forms).

use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use domain::account::Permission;
use domain::fields::FieldErrors;
use domain::ports::QuestionFilter;
use domain::question::{self, FilePart, Question, QuestionAction, QuestionInput, QuestionStatus};
use domain::region::RegionCode;
use domain::service::EditError;
use serde::Deserialize;

use super::cases::{Submitted, read_multipart};
use super::{Chrome, FormField, Opt, attach_errors, redirect_with_flash, render, render_status};
use crate::AppState;
use crate::auth::{Authed, PageAuth};
use crate::error::PageError;
use crate::regions::RegionIndex;
use crate::views::china_time;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/questions", get(list).post(create))
        .route("/questions/new", get(new_form))
        .route("/questions/{id}", get(show))
        .route("/questions/{id}/actions", post(act))
        .route("/questions/files/{id}", get(download))
        .route("/faq", get(faq))
}

/// Rows per page of the list.
const PAGE: u32 = 50;

// ------------------------------------------------------------------ the list

/// A question as the lists show it.
pub struct Line {
    pub id: i64,
    pub title: String,
    pub village: String,
    pub asked_by: String,
    pub asked_at: String,
    pub status: &'static str,
    pub status_key: &'static str,
    /// "3 个工作日", or "—" where the calendar does not reach.
    pub waited: String,
    pub aged: bool,
    pub published: bool,
}

pub fn status_key(s: QuestionStatus) -> &'static str {
    match s {
        QuestionStatus::Open => "open",
        QuestionStatus::Escalated => "escalated",
        QuestionStatus::Answered => "answered",
    }
}

fn waited_text(days: Option<i64>) -> String {
    days.map(|d| format!("{d} 个工作日")).unwrap_or_else(|| "—".into())
}

fn line(q: &Question, regions: &RegionIndex, state: &AppState) -> Line {
    let (cal, today) = (state.calendar(), state.clock.today());
    Line {
        id: q.id,
        title: q.title.clone(),
        village: regions.name(q.village),
        asked_by: q.asked_by.clone(),
        asked_at: china_time(q.asked_at),
        status: q.status.label(),
        status_key: status_key(q.status),
        waited: waited_text(q.waited_working_days(&cal, today)),
        aged: q.is_aged(&cal, today),
        published: q.published,
    }
}

/// The list's status tabs: (key, label, statuses, newest first).
pub const TABS: &[(&str, &str)] =
    &[("waiting", "待解答"), ("escalated", "已上报柳东新区"), ("answered", "已解答"), ("all", "全部")];

/// The filter of a tab key (`waiting`: open and escalated, oldest first, as the desk works).
pub fn tab_filter(key: &str) -> Option<QuestionFilter> {
    let (statuses, newest_first) = match key {
        "waiting" => (vec![QuestionStatus::Open, QuestionStatus::Escalated], false),
        "open" => (vec![QuestionStatus::Open], false),
        "escalated" => (vec![QuestionStatus::Escalated], false),
        "answered" => (vec![QuestionStatus::Answered], true),
        "all" => (Vec::new(), true),
        _ => return None,
    };
    Some(QuestionFilter { statuses, newest_first, ..Default::default() })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    status: String,
    village: String,
    after: String,
}

#[derive(Template)]
#[template(path = "questions.html")]
struct ListPage {
    chrome: Chrome,
    tabs: Vec<Opt>,
    villages: Vec<Opt>,
    village: String,
    lines: Vec<Line>,
    total: i64,
    aged: usize,
    next_link: Option<String>,
    can_ask: bool,
    is_desk: bool,
    tab: String,
    aging_days: i64,
}

pub async fn list(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    if !a.scope.allows(Permission::ViewQuestions) {
        // the FAQ is every role's
        return Ok(Redirect::to("/faq").into_response());
    }
    let can_ask = a.scope.allows(Permission::AskQuestions);
    let tab = match q.status.as_str() {
        "" if can_ask => "all".to_string(),
        "" => "waiting".to_string(),
        s => s.to_string(),
    };
    let mut filter = tab_filter(&tab).ok_or_else(|| PageError::BadRequest("未知的状态".into()))?;
    filter.region = RegionCode::parse(q.village.trim()).ok();
    filter.after = q.after.parse().ok();
    let page = question::questions(&state.db, &a.scope, &filter, PAGE).await?;
    let regions = state.regions.get().await;
    let lines: Vec<Line> = page.items.iter().map(|x| line(x, &regions, &state)).collect();
    let mut villages = Vec::new();
    let in_scope = regions.villages_in(&a.scope);
    if in_scope.len() > 1 {
        villages.push(Opt { value: String::new(), label: "全部村".into(), selected: q.village.is_empty() });
        villages.extend(in_scope.into_iter().map(|v| Opt {
            value: v.code.to_string(),
            label: v.name.clone(),
            selected: v.code.to_string() == q.village,
        }));
    }
    let base = format!("/questions?status={tab}&village={}", urlencoding::encode(&q.village));
    let tpl = ListPage {
        chrome: Chrome::new(&state, &a, &headers).await,
        tabs: TABS.iter().map(|(k, l)| Opt { value: (*k).into(), label: (*l).into(), selected: *k == tab }).collect(),
        villages,
        village: q.village.clone(),
        aged: lines.iter().filter(|l| l.aged).count(),
        lines,
        total: page.total,
        next_link: page.next.map(|n| format!("{base}&after={n}")),
        can_ask,
        is_desk: a.scope.allows(Permission::AnswerQuestions),
        tab,
        aging_days: question::AGING_WORKING_DAYS,
    };
    render(&tpl, &tpl.chrome)
}

// ------------------------------------------------------------------ asking

#[derive(Template)]
#[template(path = "question_new.html")]
struct NewPage {
    chrome: Chrome,
    fields: Vec<FormField>,
    files_error: Option<String>,
    problems: Vec<String>,
    village_name: String,
}

async fn new_page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    input: &QuestionInput,
    errs: &FieldErrors,
) -> Result<NewPage, PageError> {
    let regions = state.regions.get().await;
    let own = question::own_village(&a.scope);
    let mut fields = Vec::new();
    if own.is_none() {
        let villages =
            regions.villages_in(&a.scope).into_iter().map(|v| (v.code.to_string(), v.name.clone())).collect();
        fields.push(FormField::choices("village", "村", &input.village, true, villages).required());
    }
    fields.push(
        FormField::text("title", "标题", &input.title)
            .required()
            .help("一句话概括，如“外出务工人员的工资性收入如何核算”"),
    );
    fields.push(
        FormField::text("body", "问题说明", &input.body)
            .kind("textarea")
            .required()
            .help("遇到的情况、涉及的政策或表格、想问的问题；请不要写身份证号等个人信息"),
    );
    let mut groups = vec![super::FieldGroup { title: String::new(), fields }];
    let mut problems = attach_errors(&mut groups, errs);
    let files_error = errs.get("files").map(str::to_string);
    problems.retain(|p| !p.starts_with("附件"));
    Ok(NewPage {
        chrome: Chrome::new(state, a, headers).await,
        fields: groups.remove(0).fields,
        files_error,
        problems,
        village_name: own.map(|v| regions.name(v)).unwrap_or_default(),
    })
}

pub async fn new_form(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if !a.scope.allows(Permission::AskQuestions) {
        return Err(PageError::Forbidden);
    }
    let tpl = new_page(&state, &a, &headers, &QuestionInput::default(), &FieldErrors::default()).await?;
    render(&tpl, &tpl.chrome)
}

pub async fn create(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    mp: Multipart,
) -> Result<Response, PageError> {
    if !a.scope.allows(Permission::AskQuestions) {
        return Err(PageError::Forbidden);
    }
    let sub = read_multipart(mp).await;
    let input = QuestionInput { village: sub.get("village"), title: sub.get("title"), body: sub.get("body") };
    let r = match &sub.error {
        Some(e) => Err(EditError::Invalid(FieldErrors::one("files", "附件", e.clone()))),
        None => question::ask(&state.db, &a.actor(), a.user.id, &a.scope, state.clock.now(), &input, &sub.files).await,
    };
    match r {
        Ok(q) => Ok(redirect_with_flash(
            &format!("/questions/{}", q.id),
            &format!("问题 #{} 已提交给镇业务解答组，解答后可在此查看", q.id),
        )),
        Err(EditError::Invalid(mut errs)) => {
            if !sub.files.is_empty() && errs.get("files").is_none() {
                errs.push("files", "附件", "请重新选择附件（出错后浏览器不会保留已选的文件）");
            }
            let tpl = new_page(&state, &a, &headers, &input, &errs).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
        }
        Err(e) => Err(e.into()),
    }
}

// ------------------------------------------------------------------ one question

pub struct FileLine {
    pub id: i64,
    pub name: String,
    pub size: String,
}

fn size_text(n: i64) -> String {
    if n >= 1 << 20 { format!("{:.1} MB", n as f64 / 1_048_576.0) } else { format!("{} KB", (n + 1023) / 1024) }
}

fn file_lines(q: &Question, part: FilePart) -> Vec<FileLine> {
    q.files_of(part)
        .map(|f| FileLine { id: f.meta.id, name: f.meta.file_name.clone(), size: size_text(f.meta.size) })
        .collect()
}

/// One step of the question's history: what, who, when, and its text.
pub struct Event {
    pub what: String,
    pub by: String,
    pub at: String,
    pub text: String,
}

fn history(q: &Question) -> Vec<Event> {
    let mut v =
        vec![Event { what: "提问".into(), by: q.asked_by.clone(), at: china_time(q.asked_at), text: String::new() }];
    if let (Some(by), Some(at)) = (&q.escalated_by, q.escalated_at) {
        v.push(Event {
            what: "上报柳东新区".into(),
            by: by.clone(),
            at: china_time(at),
            text: q.escalation_note.clone(),
        });
    }
    if let (Some(by), Some(at)) = (&q.answered_by, q.answered_at) {
        let what = match q.answer_source {
            Some(question::AnswerSource::Liudong) => "登记柳东新区答复",
            _ => "解答",
        };
        v.push(Event { what: what.into(), by: by.clone(), at: china_time(at), text: String::new() });
    }
    if let (Some(by), Some(at)) = (&q.published_by, q.published_at) {
        let what = if q.published { "发布到常见问题" } else { "撤回发布" };
        v.push(Event { what: what.into(), by: by.clone(), at: china_time(at), text: String::new() });
    }
    v
}

/// One of the desk's forms on the question's page.
pub struct ActionBox {
    pub action: &'static str,
    pub title: &'static str,
    pub button: &'static str,
    pub hint: &'static str,
    pub fields: Vec<FormField>,
    pub files: bool,
    pub files_error: Option<String>,
    /// Open when the user's last try of this form was refused.
    pub open: bool,
    pub secondary: bool,
}

/// What the user typed in the desk's forms.
#[derive(Debug, Clone, Default)]
pub struct Typed {
    pub action: String,
    pub text: String,
    pub note: String,
    pub reply: String,
    pub faq_title: String,
    pub faq_question: String,
    pub faq_answer: String,
}

impl Typed {
    fn from(sub: &Submitted) -> Typed {
        Typed {
            action: sub.get("action"),
            text: sub.get("text"),
            note: sub.get("note"),
            reply: sub.get("reply"),
            faq_title: sub.get("faq_title"),
            faq_question: sub.get("faq_question"),
            faq_answer: sub.get("faq_answer"),
        }
    }

    /// The text typed for the action tried (for the message when the question changed meanwhile).
    fn typed_text(&self) -> String {
        let t = match self.action.as_str() {
            "answer" => &self.text,
            "escalate" => &self.note,
            "record_reply" => &self.reply,
            "publish" => &self.faq_answer,
            _ => "",
        };
        t.trim().to_string()
    }

    fn action(&self) -> Option<QuestionAction> {
        Some(match self.action.as_str() {
            "answer" => QuestionAction::Answer { text: self.text.clone() },
            "escalate" => QuestionAction::Escalate { note: self.note.clone() },
            "record_reply" => QuestionAction::RecordReply { text: self.reply.clone() },
            "publish" => QuestionAction::Publish {
                title: self.faq_title.clone(),
                question: self.faq_question.clone(),
                answer: self.faq_answer.clone(),
            },
            "unpublish" => QuestionAction::Unpublish,
            _ => return None,
        })
    }
}

/// The desk's forms for the question as it stands, with what was typed in the one tried and its
/// refusal next to the fields; refusals that fit no field of the forms are returned.
fn boxes(q: &Question, typed: &Typed, errs: &FieldErrors) -> (Vec<ActionBox>, Vec<String>) {
    let mine = |a: &str| typed.action == a;
    let pick = |a: &str, typed: &str, default: &str| if mine(a) { typed.to_string() } else { default.to_string() };
    let mut out = Vec::new();
    let textarea = |name: &str, label: &str, value: String, help: &str| {
        FormField::text(name, label, &value).kind("textarea").required().help(help)
    };
    match q.status {
        QuestionStatus::Open => {
            out.push(ActionBox {
                action: "answer",
                title: "解答",
                button: "提交解答",
                hint: "",
                fields: vec![textarea(
                    "text",
                    "解答",
                    pick("answer", &typed.text, ""),
                    "写明依据（文件名称、条款）和具体做法",
                )],
                files: true,
                files_error: None,
                open: true,
                secondary: false,
            });
            out.push(ActionBox {
                action: "escalate",
                title: "镇级无法解答：上报柳东新区",
                button: "上报柳东新区",
                hint: "上报后问题显示为“已上报柳东新区”，继续计算等待天数；收到答复后在此登记，即为解答。",
                fields: vec![textarea(
                    "note",
                    "上报说明",
                    pick("escalate", &typed.note, ""),
                    "向柳东新区哪个部门、通过什么方式请示了什么",
                )],
                files: false,
                files_error: None,
                open: mine("escalate"),
                secondary: true,
            });
        }
        QuestionStatus::Escalated => out.push(ActionBox {
            action: "record_reply",
            title: "登记柳东新区答复",
            button: "登记答复",
            hint: "登记后问题即为已解答，提问的村可以看到答复。",
            fields: vec![textarea(
                "reply",
                "柳东新区答复",
                pick("record_reply", &typed.reply, ""),
                "答复的内容、答复人和方式",
            )],
            files: true,
            files_error: None,
            open: true,
            secondary: false,
        }),
        QuestionStatus::Answered => {
            let (t, qq, aa) = (q.public_title(), q.public_question(), q.public_answer());
            out.push(ActionBox {
                action: "publish",
                title: if q.published { "修改公开的内容" } else { "发布到常见问题" },
                button: if q.published { "保存并发布" } else { "发布给各村" },
                hint: "发布后全镇各村都能在“常见问题”中看到并搜索。可改写成通用的说法（去掉农户姓名等）；留空则用原文。提问的附件不公开，解答的附件随之公开。",
                fields: vec![
                    FormField::text("faq_title", "公开的标题", &pick("publish", &typed.faq_title, t)),
                    FormField::text("faq_question", "公开的问题", &pick("publish", &typed.faq_question, qq))
                        .kind("textarea"),
                    FormField::text("faq_answer", "公开的解答", &pick("publish", &typed.faq_answer, aa))
                        .kind("textarea"),
                ],
                files: false,
                files_error: None,
                open: mine("publish") || !q.published,
                secondary: q.published,
            });
            if q.published {
                out.push(ActionBox {
                    action: "unpublish",
                    title: "撤回发布",
                    button: "撤回发布",
                    hint: "撤回后各村的常见问题中不再显示；提问的村仍能看到解答。",
                    fields: Vec::new(),
                    files: false,
                    files_error: None,
                    open: mine("unpublish"),
                    secondary: true,
                });
            }
        }
    }
    let mut unplaced = Vec::new();
    let mut placed = false;
    for b in out.iter_mut().filter(|b| mine(b.action)) {
        placed = true;
        let (file_errs, other): (Vec<_>, Vec<_>) = errs.0.iter().cloned().partition(|e| e.field == "files");
        let mut g = vec![super::FieldGroup { title: String::new(), fields: std::mem::take(&mut b.fields) }];
        unplaced.extend(attach_errors(&mut g, &FieldErrors(other)));
        b.fields = g.remove(0).fields;
        match (b.files, file_errs.first()) {
            (true, Some(e)) => b.files_error = Some(e.message.clone()),
            (false, Some(_)) => unplaced.extend(file_errs.iter().map(|e| format!("{}：{}", e.label, e.message))),
            _ => {}
        }
    }
    if !placed {
        unplaced.extend(errs.0.iter().map(|e| format!("{}：{}", e.label, e.message)));
    }
    (out, unplaced)
}

#[derive(Template)]
#[template(path = "question.html")]
struct ShowPage {
    chrome: Chrome,
    id: i64,
    version: i64,
    title: String,
    body: String,
    village: String,
    status: &'static str,
    status_key: &'static str,
    waited: String,
    aged: bool,
    answered: bool,
    answer: String,
    answer_source: String,
    question_files: Vec<FileLine>,
    /// Files of the question the user's role may not open (D18).
    hidden_files: usize,
    answer_files: Vec<FileLine>,
    history: Vec<Event>,
    published: bool,
    faq_title: String,
    boxes: Vec<ActionBox>,
    /// The refusal of the last try that belongs to no field (a conflict).
    banner: Option<String>,
    aging_days: i64,
}

async fn show_page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    q: &Question,
    typed: &Typed,
    errs: &FieldErrors,
    banner: Option<String>,
) -> Result<ShowPage, PageError> {
    let regions = state.regions.get().await;
    let l = line(q, &regions, state);
    let desk = a.scope.allows(Permission::AnswerQuestions);
    let sensitive = a.scope.allows(Permission::ViewSensitive);
    let (boxes, unplaced) = if desk { boxes(q, typed, errs) } else { (Vec::new(), Vec::new()) };
    let banner = match (banner, unplaced.is_empty()) {
        (b, true) => b,
        (None, false) => Some(unplaced.join("；")),
        (Some(b), false) => Some(format!("{b}；{}", unplaced.join("；"))),
    };
    Ok(ShowPage {
        chrome: Chrome::new(state, a, headers).await,
        id: q.id,
        version: q.version,
        title: q.title.clone(),
        body: q.body.clone(),
        village: l.village,
        status: l.status,
        status_key: l.status_key,
        waited: l.waited,
        aged: l.aged,
        answered: q.status == QuestionStatus::Answered,
        answer: q.answer.clone(),
        answer_source: q.answer_source.map(|s| s.label().to_string()).unwrap_or_default(),
        question_files: if sensitive { file_lines(q, FilePart::Question) } else { Vec::new() },
        hidden_files: if sensitive { 0 } else { q.files_of(FilePart::Question).count() },
        answer_files: file_lines(q, FilePart::Answer),
        history: history(q),
        published: q.published,
        faq_title: q.public_title().to_string(),
        boxes,
        banner,
        aging_days: question::AGING_WORKING_DAYS,
    })
}

pub async fn show(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let q = question::question(&state.db, &a.scope, id).await?;
    let tpl = show_page(&state, &a, &headers, &q, &Typed::default(), &FieldErrors::default(), None).await?;
    render(&tpl, &tpl.chrome)
}

pub async fn act(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
    mp: Multipart,
) -> Result<Response, PageError> {
    if !a.scope.allows(Permission::AnswerQuestions) {
        return Err(PageError::Forbidden);
    }
    let sub = read_multipart(mp).await;
    let typed = Typed::from(&sub);
    let action = typed.action().ok_or_else(|| PageError::BadRequest("未知的操作".into()))?;
    let version = sub.get("version").trim().parse::<i64>().unwrap_or(-1);
    let r = match &sub.error {
        Some(e) => Err(EditError::Invalid(FieldErrors::one("files", "附件", e.clone()))),
        None => {
            question::act(&state.db, &a.actor(), &a.scope, state.clock.now(), id, version, &action, &sub.files).await
        }
    };
    let (errs, banner, status) = match r {
        Ok(q) => {
            let msg = format!("问题 #{}：已{}", q.id, action.label());
            return Ok(redirect_with_flash(&format!("/questions/{id}"), &msg));
        }
        Err(EditError::Invalid(mut errs)) => {
            if !sub.files.is_empty() && errs.get("files").is_none() {
                errs.push("files", "附件", "请重新选择附件（出错后浏览器不会保留已选的文件）");
            }
            (errs, None, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e @ EditError::Stale { .. }) => {
            let typed_text = typed.typed_text();
            let kept =
                if typed_text.is_empty() { String::new() } else { format!("（您填写的内容：{typed_text}）") };
            let message = format!("{e}：下面已是最新内容{kept}。");
            (FieldErrors::default(), Some(message), StatusCode::CONFLICT)
        }
        Err(e) => return Err(e.into()),
    };
    // the page again, as it is now, with what was typed and why it was refused
    let q = question::question(&state.db, &a.scope, id).await?;
    let tpl = show_page(&state, &a, &headers, &q, &typed, &errs, banner).await?;
    render_status(status, &tpl, &tpl.chrome)
}

pub async fn download(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let (file, body) = question::download_file(&state.db, &a.actor(), &a.scope, state.clock.now(), id).await?;
    Ok(file_response(&file.meta.file_name, body))
}

/// Always a download: an uploaded HTML or SVG file never runs in our origin (as case files).
pub fn file_response(name: &str, body: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename*=UTF-8''{}", urlencoding::encode(name));
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

// ------------------------------------------------------------------ the FAQ

pub struct FaqItem {
    pub id: i64,
    /// The user may open the question itself (their village's, or the desk and those above).
    pub linkable: bool,
    pub title: String,
    pub question: String,
    pub answer: String,
    pub source: String,
    pub village: String,
    pub published_on: String,
    pub files: Vec<FileLine>,
}

/// Whether the user sees the question itself (as the store's scoping does), not only its FAQ entry.
fn sees(a: &Authed, q: &Question) -> bool {
    a.scope.allows(Permission::ViewQuestions)
        && a.scope.contains(q.village)
        && a.scope.own_tasks_only().is_none_or(|u| q.asked_by_id == Some(u))
}

#[derive(Template)]
#[template(path = "faq.html")]
struct FaqPage {
    chrome: Chrome,
    q: String,
    items: Vec<FaqItem>,
    can_ask: bool,
    sees_questions: bool,
}

/// Most FAQ entries shown at once (a town publishes dozens, not thousands).
pub const FAQ_LIMIT: u32 = 200;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FaqQuery {
    q: String,
}

pub async fn faq(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Query(fq): Query<FaqQuery>,
) -> Result<Response, PageError> {
    let query = fq.q.trim();
    let found = domain::ports::QuestionStore::faq(&state.db, &a.scope, Some(query), FAQ_LIMIT).await?;
    let regions = state.regions.get().await;
    let items = found
        .iter()
        .map(|x| FaqItem {
            id: x.id,
            linkable: sees(&a, x),
            title: x.public_title().to_string(),
            question: x.public_question().to_string(),
            answer: x.public_answer().to_string(),
            source: x.answer_source.map(|s| s.label().to_string()).unwrap_or_default(),
            village: regions.name(x.village),
            published_on: x.published_at.map(|t| china_time(t)[..10].to_string()).unwrap_or_default(),
            files: file_lines(x, FilePart::Answer),
        })
        .collect();
    let tpl = FaqPage {
        chrome: Chrome::new(&state, &a, &headers).await,
        q: query.to_string(),
        items,
        can_ask: a.scope.allows(Permission::AskQuestions),
        sees_questions: a.scope.allows(Permission::ViewQuestions),
    };
    render(&tpl, &tpl.chrome)
}
