//! 识别认定 cases (DOMAIN D8): the queue of open cases by the step they wait for, registering a
//! clue (from a finding or by hand), a case's page with every step done and the form for the
//! next one (shown to the role that records it), the files attached as evidence, and the
//! printable 公示 and 公告 of a village — without ID numbers, phones, bank accounts or health (D18).

use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{Datelike, NaiveDate};
use domain::account::{Permission, Role};
use domain::codes::{MonitoringCategory, RiskType};
use domain::fields::FieldErrors;
use domain::ports::{CaseFilter, CaseStore, FindingFilter, FindingStore, HouseholdStore};
use domain::procedure::{
    Case, CaseId, CaseStatus, ClueSource, Decision, NewAttachment, NextAction, Procedure, ProcedureError,
    ProcedureRules, Step, StepInput, StepOutcome,
};
use domain::region::RegionCode;
use domain::service::{self, CaseError, EditError, OpenCaseInput};
use serde::Deserialize;

use super::{Chrome, FieldGroup, FormField, Opt, attach_errors, redirect_with_flash, render, render_status, require};
use crate::AppState;
use crate::auth::{Authed, PageAuth};
use crate::error::PageError;
use crate::views::china_time;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cases", get(list))
        .route("/cases/new", get(new_form).post(create))
        .route("/cases/print", get(print_notice))
        .route("/cases/{id}", get(detail))
        .route("/cases/{id}/steps", post(record))
        .route("/cases/{id}/withdraw", post(withdraw))
        .route("/cases/{id}/exclusion-exception", post(exclusion_exception))
        .route("/attachments/{id}", get(download))
        .route("/households/{no}/rollback", post(roll_back))
}

/// Roles that take part in the procedure (and so see the 认定 menu).
pub fn takes_part(role: Role) -> bool {
    Step::ALL.iter().any(|s| s.allows(role)) || matches!(role, Role::Leader | Role::Supervisor)
}

impl From<CaseError> for PageError {
    fn from(e: CaseError) -> Self {
        match e {
            CaseError::NotFound => PageError::NotFound,
            CaseError::Forbidden => PageError::Forbidden,
            CaseError::Store(s) => s.into(),
            other => PageError::BadRequest(other.to_string()),
        }
    }
}

/// A case as the list shows it.
pub struct CaseLine {
    pub id: i64,
    pub household_no: String,
    pub head: String,
    pub village: String,
    pub procedure: &'static str,
    pub status: String,
    pub status_key: &'static str,
    pub next: String,
    /// The next step is this user's to record.
    pub mine: bool,
    pub opened_on: String,
    pub age: String,
    pub over_limit: bool,
}

fn status_key(s: CaseStatus) -> &'static str {
    match s {
        CaseStatus::Open => "open",
        CaseStatus::Completed => "done",
        CaseStatus::Rejected => "rejected",
        CaseStatus::Withdrawn => "withdrawn",
    }
}

fn status_text(c: &Case) -> String {
    match c.status {
        CaseStatus::Rejected => c.procedure.rejected_label().to_string(),
        s => s.label().to_string(),
    }
}

fn next_text(c: &Case, rules: &ProcedureRules) -> String {
    match c.next(rules) {
        None => String::new(),
        Some(NextAction::EndNotice { earliest_end, .. }) => format!("公示中，{earliest_end}起可结束"),
        Some(NextAction::Step { step }) => format!("待{}（{}）", step.label(), step.roles_label()),
    }
}

/// The parameters read once per page, for each case's rules (D8: per year and region).
pub type Params = [domain::params::PolicyParam];

pub fn case_line(c: &Case, village: String, role: Role, today: NaiveDate, params: &Params) -> CaseLine {
    let rules = &service::case_rules(params, c);
    let over = c.over_limit(today, rules);
    let days = (c.closed_on.unwrap_or(today) - c.opened_on).num_days();
    CaseLine {
        id: c.id.0,
        household_no: c.household_no.to_string(),
        head: c.head_name.clone().unwrap_or_else(|| "（无户主）".into()),
        village,
        procedure: c.procedure.label(),
        status: status_text(c),
        status_key: status_key(c.status),
        next: next_text(c, rules),
        mine: c.next(rules).is_some_and(|n| n.step().allows(role)),
        opened_on: c.opened_on.to_string(),
        age: if c.is_open() { format!("已{days}天") } else { format!("历时{days}天") },
        over_limit: over.is_some(),
    }
}

// ------------------------------------------------------------------ the queue

#[derive(Template)]
#[template(path = "cases.html")]
struct ListPage {
    chrome: Chrome,
    procedure_key: &'static str,
    procedure_label: &'static str,
    /// (step key, label, count, this role records it)
    waiting: Vec<(&'static str, &'static str, i64, bool)>,
    villages: Vec<Opt>,
    status_opts: Vec<Opt>,
    items: Vec<CaseLine>,
    total: i64,
    next_link: Option<String>,
    step_label: String,
    notice_villages: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    /// identification (default) | elimination
    procedure: String,
    village: String,
    status: String,
    step: String,
    before: String,
}

pub async fn list(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let regions = state.regions.get().await;
    let today = state.clock.today();
    let params = domain::ports::ParamStore::params(&state.db, None).await?;
    let step = Step::from_key(&q.step);
    let status = match q.status.as_str() {
        "" => Some(CaseStatus::Open),
        "all" => None,
        s => CaseStatus::ALL.iter().copied().find(|x| x.code().to_string() == s),
    };
    let procedure = Procedure::from_key(&q.procedure).unwrap_or(Procedure::Identification);
    let filter = CaseFilter {
        procedure: Some(procedure),
        status,
        next_step: step,
        region: RegionCode::parse(&q.village).ok(),
        household: None,
        before: q.before.parse().ok(),
    };
    let page = state.db.cases(&a.scope, &filter, 50).await?;
    let counts = state.db.case_counts(&a.scope).await?;
    let waiting = procedure.steps()[1..]
        .iter()
        .map(|s| {
            let n = counts.iter().filter(|c| c.procedure == procedure && c.next_step == *s).map(|c| c.count).sum();
            (s.key(), s.label(), n, s.allows(a.user.role))
        })
        .collect();
    let mut villages = vec![Opt { value: String::new(), label: "全部村".into(), selected: q.village.is_empty() }];
    villages.extend(regions.villages_in(&a.scope).into_iter().map(|r| Opt {
        value: r.code.to_string(),
        label: r.name.clone(),
        selected: r.code.to_string() == q.village,
    }));
    let mut status_opts = vec![Opt { value: String::new(), label: "办理中".into(), selected: q.status.is_empty() }];
    status_opts.extend(CaseStatus::ALL.iter().filter(|s| **s != CaseStatus::Open).map(|s| Opt {
        value: s.code().to_string(),
        label: s.label().to_string(),
        selected: s.code().to_string() == q.status,
    }));
    status_opts.push(Opt { value: "all".into(), label: "全部".into(), selected: q.status == "all" });
    let base = format!(
        "/cases?procedure={}&village={}&status={}&step={}",
        procedure.key(),
        urlencoding::encode(&q.village),
        urlencoding::encode(&q.status),
        urlencoding::encode(&q.step)
    );
    // villages with households waiting for the notice or the announcement: print links
    let mut notice_villages: Vec<(String, String)> = Vec::new();
    for c in &page.items {
        if matches!(
            c.next(&service::case_rules(&params, c)).map(|n| n.step()),
            Some(Step::PublicNotice | Step::Announcement)
        ) {
            let code = c.village.to_string();
            if !notice_villages.iter().any(|(v, _)| *v == code) {
                notice_villages.push((code, regions.name(c.village)));
            }
        }
    }
    let tpl = ListPage {
        chrome: Chrome::new(&state, &a, &headers).await,
        procedure_key: procedure.key(),
        procedure_label: procedure.label(),
        waiting,
        villages,
        status_opts,
        items: page.items.iter().map(|c| case_line(c, regions.name(c.village), a.user.role, today, &params)).collect(),
        total: page.total,
        next_link: page.next.map(|n| format!("{base}&before={n}")),
        step_label: step.map(|s| s.label().to_string()).unwrap_or_default(),
        notice_villages,
    };
    render(&tpl, &tpl.chrome)
}

// ------------------------------------------------------------------ multipart forms

/// A submitted multipart form: its text fields (repeated names kept) and its files.
#[derive(Default)]
pub(crate) struct Submitted {
    pub(crate) fields: Vec<(String, String)>,
    pub(crate) files: Vec<NewAttachment>,
    pub(crate) error: Option<String>,
}

impl Submitted {
    pub(crate) fn get(&self, name: &str) -> String {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.fields.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }
}

pub(crate) async fn read_multipart(mut mp: Multipart) -> Submitted {
    let mut s = Submitted::default();
    loop {
        match mp.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_string();
                let file_name = field.file_name().map(str::to_string);
                let content_type = field.content_type().unwrap_or("application/octet-stream").to_string();
                match (file_name, field.bytes().await) {
                    (Some(f), Ok(b)) if !f.is_empty() => {
                        s.files.push(NewAttachment { file_name: f, content_type, body: b.to_vec() })
                    }
                    (Some(_), Ok(_)) => {} // an empty file input
                    (None, Ok(b)) => s.fields.push((name, String::from_utf8_lossy(&b).into_owned())),
                    (_, Err(e)) => s.error = Some(format!("上传未完成：{e}。请重新选择文件后再提交")),
                }
            }
            Ok(None) => break,
            Err(e) => {
                s.error = Some(format!("上传未完成：{e}。请重新选择文件后再提交"));
                break;
            }
        }
    }
    s
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// "韦小明、蓝海 ，李四" → names.
fn split_names(text: &str) -> Vec<String> {
    // not on spaces: "韦 小明" is one person written with a space
    text.split(['、', ',', '，', ';', '；', '\n']).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

// ------------------------------------------------------------------ registering a clue

#[derive(Template)]
#[template(path = "case_new.html")]
struct NewPage {
    chrome: Chrome,
    procedure_key: &'static str,
    elimination: bool,
    household_no: String,
    household_line: String,
    finding: Option<super::findings::FindingLine>,
    finding_id: String,
    groups: Vec<FieldGroup>,
    error: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NewQuery {
    household: String,
    finding: String,
    /// identification (default) | elimination
    procedure: String,
}

async fn new_page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    sub: &Submitted,
    errs: &FieldErrors,
    error: Option<String>,
) -> Result<NewPage, PageError> {
    let no = super::households::parse_no(&sub.get("household"))?;
    let d = state.db.household(&a.scope, &no).await?.ok_or(PageError::NotFound)?;
    let regions = state.regions.get().await;
    let finding_id = sub.get("finding");
    let mut finding = None;
    if let Ok(fid) = finding_id.parse::<i64>() {
        let filter = FindingFilter { household: Some(d.record.id), ..Default::default() };
        let fs = state.db.findings(&a.scope, &filter, 500).await?;
        let f = fs.items.iter().find(|f| f.id == fid).ok_or(PageError::NotFound)?;
        finding = Some(super::findings::finding_line(f, regions.name(f.village)));
    }
    let h = &d.record.household;
    let head = d.head().map(|m| m.name.to_string()).unwrap_or_default();
    let source_default = match (sub.get("source"), &finding) {
        (s, _) if !s.is_empty() => s,
        (_, Some(_)) => ClueSource::Campaign.label().to_string(),
        _ => String::new(),
    };
    let on = if sub.get("on").is_empty() { state.clock.today().to_string() } else { sub.get("on") };
    let procedure = Procedure::from_key(&sub.get("procedure")).unwrap_or(Procedure::Identification);
    let mut groups = if procedure == Procedure::Elimination {
        vec![FieldGroup {
            title: "提出风险消除".into(),
            fields: vec![
                FormField::text("on", "提出日期", &on).kind("date").required(),
                FormField::text("note", "提出理由", &sub.get("note")).kind("textarea").help(if finding.is_some() {
                    "可不填：默认写入排查发现的说明"
                } else {
                    "收入是否持续稳定、大额刚性支出是否已解决、“三保障”和饮水安全情况"
                }),
            ],
        }]
    } else {
        vec![FieldGroup {
            title: "线索".into(),
            fields: vec![
                FormField::select::<ClueSource>("source", "线索来源", &source_default, false).required(),
                FormField::text("on", "发现日期", &on).kind("date").required().help("15天办理时限从这一天算起"),
                FormField::text("note", "情况说明", &sub.get("note")).kind("textarea").help(if finding.is_some() {
                    "可不填：默认写入排查发现的说明"
                } else {
                    "谁发现、发现了什么（如：户主住院，自付医疗费约3万元）"
                }),
            ],
        }]
    };
    let unplaced = attach_errors(&mut groups, errs);
    let error = error.or_else(|| (!unplaced.is_empty()).then(|| unplaced.join("；")));
    Ok(NewPage {
        chrome: Chrome::new(state, a, headers).await,
        procedure_key: procedure.key(),
        elimination: procedure == Procedure::Elimination,
        household_no: no.to_string(),
        household_line: format!(
            "{} · 户主 {} · {} · {} · {}人",
            no,
            if head.is_empty() { "（无）" } else { &head },
            regions.name(h.village),
            h.monitoring.describe(),
            d.members.len()
        ),
        finding,
        finding_id,
        groups,
        error,
    })
}

pub async fn new_form(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Query(q): Query<NewQuery>,
) -> Result<Response, PageError> {
    let procedure = Procedure::from_key(&q.procedure).unwrap_or(Procedure::Identification);
    if !procedure.steps()[0].allows(a.user.role) {
        return Err(PageError::Forbidden);
    }
    let sub = Submitted {
        fields: vec![
            ("household".into(), q.household),
            ("finding".into(), q.finding),
            ("procedure".into(), procedure.key().into()),
        ],
        ..Default::default()
    };
    let tpl = new_page(&state, &a, &headers, &sub, &FieldErrors::default(), None).await?;
    render(&tpl, &tpl.chrome)
}

pub async fn create(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    mp: Multipart,
) -> Result<Response, PageError> {
    let sub = read_multipart(mp).await;
    let procedure = Procedure::from_key(&sub.get("procedure")).unwrap_or(Procedure::Identification);
    if !procedure.steps()[0].allows(a.user.role) {
        return Err(PageError::Forbidden);
    }
    let mut errs = FieldErrors::default();
    let no = super::households::parse_no(&sub.get("household"))?;
    let on = parse_date(&sub.get("on"));
    if on.is_none() {
        errs.push("on", "发现日期", "请填写日期，如 2022-03-28");
    }
    let source = ClueSource::parse_label(&sub.get("source"));
    let finding_id = sub.get("finding").parse::<i64>().ok();
    if procedure == Procedure::Identification && source.is_none() && finding_id.is_none() {
        errs.push("source", "线索来源", format!("请选择：{}", ClueSource::labels_hint()));
    }
    let mut error = sub.error.clone();
    if errs.is_empty() && error.is_none() {
        let input = OpenCaseInput {
            procedure,
            household_no: no.clone(),
            source: if procedure == Procedure::Identification { source } else { None },
            finding_id,
            on: on.unwrap_or_default(),
            note: sub.get("note"),
        };
        let r = service::open_case(
            &state.db,
            state.clock.now(),
            state.clock.today(),
            &a.scope,
            &a.actor(),
            &input,
            &sub.files,
        )
        .await;
        match r {
            Ok(c) => {
                let msg = match procedure {
                    Procedure::Identification => {
                        format!("已登记线索，开始识别认定（案件 #{}）；下一步：申请及承诺授权", c.id.0)
                    }
                    Procedure::Elimination => format!("已提出风险消除（案件 #{}）；下一步：入户核实", c.id.0),
                };
                return Ok(redirect_with_flash(&format!("/cases/{}", c.id.0), &msg));
            }
            Err(CaseError::Invalid(e)) => errs = e,
            Err(CaseError::Open(domain::procedure::OpenError::NoteRequired)) => {
                errs.push("note", "情况说明", "请说明线索情况（谁发现、发现了什么）")
            }
            Err(CaseError::Open(domain::procedure::OpenError::InFuture { today })) => {
                errs.push("on", "发现日期", format!("不能晚于今天（{today}）"))
            }
            Err(CaseError::Open(e)) => error = Some(e.to_string()),
            Err(e) => return Err(e.into()),
        }
    }
    if !sub.files.is_empty() && error.is_none() {
        error = Some("请重新选择要上传的附件（浏览器不会保留已选的文件）".into());
    }
    let tpl = new_page(&state, &a, &headers, &sub, &errs, error).await?;
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
}

// ------------------------------------------------------------------ a case

/// One step as the case page shows it.
pub struct StepView {
    pub label: &'static str,
    pub outcome: &'static str,
    pub outcome_key: &'static str,
    pub dates: String,
    pub participants: String,
    pub note: String,
    pub decision: String,
    pub actor: String,
    pub files: Vec<(i64, String, String)>,
}

fn decision_text(d: &Decision) -> String {
    match d {
        Decision::Inclusion { category, risks, disaster } => format!(
            "认定为{category}；风险类型：{}{}",
            risks.iter().map(|r| r.label()).collect::<Vec<_>>().join("、"),
            disaster.map(|d| format!("（{d}）")).unwrap_or_default()
        ),
        Decision::Elimination { mode } => format!("风险消除方式：{mode}"),
    }
}

fn size_text(n: i64) -> String {
    if n >= 1 << 20 { format!("{:.1} MB", n as f64 / 1_048_576.0) } else { format!("{} KB", (n + 1023) / 1024) }
}

/// Notes and files may carry health or identity details (a consent form, "户主住院…"): only
/// roles that may see sensitive data see them (D18).
fn step_views(c: &Case, sensitive: bool) -> Vec<StepView> {
    c.steps
        .iter()
        .map(|s| StepView {
            label: s.step.label(),
            outcome: s.outcome.label(),
            outcome_key: match s.outcome {
                StepOutcome::Passed => "done",
                StepOutcome::Rejected => "rejected",
                StepOutcome::Started => "open",
            },
            dates: match (s.step, s.ended_on) {
                (Step::PublicNotice, Some(end)) => format!("{} 至 {}", s.done_on, end),
                (Step::PublicNotice, None) => format!("{} 起", s.done_on),
                _ => s.done_on.to_string(),
            },
            participants: s.participants.join("、"),
            note: match (sensitive, s.note.is_empty()) {
                (true, _) | (false, true) => s.note.clone(),
                (false, false) => "（说明仅对可查看敏感信息的角色显示）".to_string(),
            },
            decision: s.decision.as_ref().map(decision_text).unwrap_or_default(),
            actor: format!("{}（{}） 记录于 {}", s.actor_name, s.actor_role.label(), china_time(s.recorded_at)),
            files: if sensitive {
                s.attachments.iter().map(|f| (f.id, f.file_name.clone(), size_text(f.size))).collect()
            } else {
                Vec::new()
            },
        })
        .collect()
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    chrome: Chrome,
    procedure_key: &'static str,
    c: CaseLine,
    version: i64,
    source: String,
    steps: Vec<StepView>,
    /// What comes next, for everyone: "下一步：乡镇审核（镇专项办）".
    next_text: String,
    /// The form for the next step, when it is this user's.
    form: Option<StepForm>,
    over_limit_text: String,
    can_withdraw: bool,
    error: Option<String>,
    reason: String,
    /// "公示" / "公告" print link when the case is at that point.
    print_link: Option<(String, &'static str)>,
    /// 不宜纳入 check (D16), for identification cases: the facts found, the exception's state,
    /// and what this user may do about it.
    exclusions: Option<Vec<String>>,
    exclusion_status: String,
    can_propose_exception: bool,
    can_approve_exception: bool,
    exclusion_reason: String,
}

/// The form for the next step.
pub struct StepForm {
    pub step_key: &'static str,
    pub title: String,
    pub help: String,
    pub evidence: &'static str,
    pub groups: Vec<FieldGroup>,
    pub submit: &'static str,
}

fn step_form(
    c: &Case,
    next: NextAction,
    today: NaiveDate,
    sub: &Submitted,
    risks_default: &[RiskType],
    category_default: Option<MonitoringCategory>,
    rules: &ProcedureRules,
) -> StepForm {
    let step = next.step();
    let p = c.procedure;
    let typed = |k: &str| sub.get(k);
    let (title, help, default_on, submit) = match next {
        NextAction::EndNotice { started_on, earliest_end } => (
            "结束公示".to_string(),
            format!(
                "公示自 {started_on} 张贴，须满{}天，{earliest_end} 起可结束。公示期间收到的异议和处理情况写在说明中。",
                rules.notice_days
            ),
            earliest_end.min(today),
            "结束公示",
        ),
        NextAction::Step { step: Step::PublicNotice } => (
            "张贴公示".to_string(),
            format!(
                "打印本村公示（不含身份证号、电话、银行账号、健康状况），张贴后记录张贴日期；满{}天后再结束公示。",
                rules.notice_days
            ),
            today,
            "记录张贴公示",
        ),
        NextAction::Step { step } => (step.label().to_string(), String::new(), today, "提交"),
    };
    let on = if typed("on").is_empty() { default_on.to_string() } else { typed("on") };
    let mut fields = vec![FormField::text("on", "办理日期", &on).kind("date").required()];
    if p.may_reject(step) {
        let outcome = if typed("outcome").is_empty() { "通过".to_string() } else { typed("outcome") };
        fields.push(
            FormField::choices(
                "outcome",
                "结论",
                &outcome,
                false,
                vec![("通过".into(), "通过".into()), ("不通过".into(), format!("不通过（{}）", p.rejected_label()))],
            )
            .required(),
        );
    }
    if step == Step::HomeVerification {
        fields.push(
            FormField::text("participants", "核实人员", &typed("participants"))
                .required()
                .help("至少2人，用顿号分隔，如：韦小明、蓝海"),
        );
    }
    if step == Step::CountyApproval && p == Procedure::Identification {
        let cat = if typed("category").is_empty() {
            category_default.map(|c| c.label().to_string()).unwrap_or_default()
        } else {
            typed("category")
        };
        fields.push(FormField::select::<MonitoringCategory>("category", "监测对象类别", &cat, true).required());
        let chosen: Vec<String> = if sub.fields.is_empty() {
            risks_default.iter().map(|r| r.label().to_string()).collect()
        } else {
            sub.all("risks")
        };
        fields.push(
            FormField::select::<domain::codes::DisasterKind>("disaster", "灾害类型", &typed("disaster"), true)
                .help("风险类型含“因自然灾害”时必填"),
        );
        let mut f = FormField::text("risks", "风险类型（1–5项）", "").kind("checks").required();
        f.options = RiskType::ALL
            .iter()
            .map(|r| Opt {
                value: r.label().into(),
                label: r.label().into(),
                selected: chosen.iter().any(|c| c == r.label()),
            })
            .collect();
        fields.push(f);
    }
    if step == Step::CountyApproval && p == Procedure::Elimination {
        fields.push(
            FormField::select::<domain::codes::EliminationMode>("mode", "风险消除方式", &typed("mode"), true)
                .required()
                .help("帮扶消除须至少有一项已实施的帮扶措施；风险自然消失的选自然消除"),
        );
    }
    let note_label = if p.may_reject(step) { "意见（不通过时必填理由）" } else { "情况说明" };
    fields.push(FormField::text("note", note_label, &typed("note")).kind("textarea"));
    StepForm {
        step_key: step.key(),
        title,
        help,
        evidence: step.evidence_hint(),
        groups: vec![FieldGroup { title: String::new(), fields }],
        submit,
    }
}

#[allow(clippy::too_many_arguments)]
async fn case_page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    c: &Case,
    sub: &Submitted,
    errs: &FieldErrors,
    error: Option<String>,
    reason: String,
) -> Result<CasePage, PageError> {
    let regions = state.regions.get().await;
    let today = state.clock.today();
    let params = domain::ports::ParamStore::params(&state.db, None).await?;
    let rules = service::case_rules(&params, c);
    let sensitive = a.scope.allows(Permission::ViewSensitive);
    let mut error = error;
    let next = c.next(&rules);
    let form = match next {
        Some(n) if n.step().allows(a.user.role) => {
            // the county sees what the clue suggested and the household's recorded risks
            let d = state.db.household(&a.scope, &c.household_no).await?;
            let risks = d.as_ref().map(|d| d.record.household.risks.clone()).unwrap_or_default();
            let mut f = step_form(c, n, today, sub, &risks, c.suggested_category, &rules);
            let unplaced = attach_errors(&mut f.groups, errs);
            if error.is_none() && !unplaced.is_empty() {
                error = Some(unplaced.join("；"));
            }
            Some(f)
        }
        _ => None,
    };
    let next_text = match next {
        None => String::new(),
        Some(n) if form.is_none() => format!("{}，由{}办理", next_text(c, &rules), n.step().roles_label()),
        Some(_) => next_text(c, &rules),
    };
    let over_limit_text = c
        .over_limit(today, &rules)
        .map(|d| format!("自发现线索已{d}天，超过{}天的办理时限（提醒，不影响继续办理）", rules.limit_days))
        .unwrap_or_default();
    let print_link = match next {
        Some(NextAction::EndNotice { started_on, .. }) => Some((
            format!(
                "/cases/print?procedure={}&kind=notice&village={}&posted={started_on}",
                c.procedure.key(),
                c.village
            ),
            "打印本村公示（已张贴的）",
        )),
        Some(NextAction::Step { step: Step::PublicNotice }) => Some((
            format!("/cases/print?procedure={}&kind=notice&village={}", c.procedure.key(), c.village),
            "打印本村待张贴的公示",
        )),
        Some(NextAction::Step { step: Step::Announcement }) => {
            Some((format!("/cases/print?kind=announcement&village={}", c.village), "打印公告"))
        }
        _ => None,
    };
    // D16: shown until 信息比对 is done, and after it when an exception was needed
    let (mut exclusions, mut exclusion_status, mut can_propose_exception, mut can_approve_exception) =
        (None, String::new(), false, false);
    if c.procedure == Procedure::Identification
        && let Some(d) = state.db.household(&a.scope, &c.household_no).await?
    {
        use domain::ports::ExclusionStore;
        let facts = service::blocking_exclusions(&state.db, c, d.record.id).await?;
        let checked = c.steps.iter().any(|s| s.step == Step::DataCheck);
        let approved = c.steps.iter().any(|s| s.step == Step::CountyApproval);
        let over = state.db.exclusion_override(c.id.0).await?;
        if !facts.is_empty() || !checked {
            exclusions = Some(facts.iter().map(|f| f.describe()).collect());
        }
        // an exception can be asked until 县级审定: a fact may arrive after 信息比对
        let open_before_check = c.is_open() && !approved && !facts.is_empty();
        exclusion_status = match &over {
            Some(o) if o.approved() => format!(
                "已批准例外：{}（乡镇 {} 申请，县级 {} 批准）",
                o.reason,
                o.town_by,
                o.county_by.clone().unwrap_or_default()
            ),
            Some(o) => format!("乡镇 {} 已申请例外：{}；待县级批准", o.town_by, o.reason),
            None if !facts.is_empty() => "未申请例外：不能通过信息比对".into(),
            None => String::new(),
        };
        can_propose_exception = open_before_check && over.is_none() && a.user.role == Role::TownOffice;
        can_approve_exception =
            open_before_check && over.as_ref().is_some_and(|o| !o.approved()) && a.user.role == Role::CountyApprover;
    }
    Ok(CasePage {
        exclusions,
        exclusion_status,
        can_propose_exception,
        can_approve_exception,
        exclusion_reason: String::new(),
        chrome: Chrome::new(state, a, headers).await,
        procedure_key: c.procedure.key(),
        c: case_line(c, regions.name(c.village), a.user.role, today, &params),
        version: c.version,
        source: c.source.map(|s| s.label().to_string()).unwrap_or_default(),
        steps: step_views(c, sensitive),
        next_text,
        form,
        over_limit_text,
        can_withdraw: c.may_withdraw(&rules) && matches!(a.user.role, Role::VillageCadre | Role::TownOffice),
        error,
        reason,
        print_link,
    })
}

pub async fn detail(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let c = state.db.case(&a.scope, CaseId(id)).await?.ok_or(PageError::NotFound)?;
    let tpl = case_page(&state, &a, &headers, &c, &Submitted::default(), &FieldErrors::default(), None, String::new())
        .await?;
    render(&tpl, &tpl.chrome)
}

/// Reads the step form; field errors for what cannot even be parsed.
fn step_input(sub: &Submitted, errs: &mut FieldErrors) -> Option<StepInput> {
    let step = Step::from_key(&sub.get("step"));
    let on = parse_date(&sub.get("on"));
    if on.is_none() {
        errs.push("on", "办理日期", "请填写日期，如 2022-03-30");
    }
    let decision = match MonitoringCategory::parse_label(&sub.get("category")) {
        None if !sub.get("mode").is_empty() => {
            domain::codes::EliminationMode::parse_label(&sub.get("mode")).map(|mode| Decision::Elimination { mode })
        }
        Some(category) => {
            let risks: Vec<RiskType> = sub.all("risks").iter().filter_map(|r| RiskType::parse_label(r)).collect();
            let disaster = domain::codes::DisasterKind::parse_label(&sub.get("disaster"));
            Some(Decision::Inclusion { category, risks, disaster })
        }
        None => None,
    };
    Some(StepInput {
        step: step?,
        reject: sub.get("outcome").starts_with("不通过"),
        on: on?,
        participants: split_names(&sub.get("participants")),
        note: sub.get("note"),
        decision,
    })
}

pub async fn record(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
    mp: Multipart,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let sub = read_multipart(mp).await;
    let c = state.db.case(&a.scope, CaseId(id)).await?.ok_or(PageError::NotFound)?;
    let mut errs = FieldErrors::default();
    let input = step_input(&sub, &mut errs);
    let mut error = sub.error.clone();
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if let (Some(input), true, None) = (&input, errs.is_empty(), &error) {
        let version = sub.get("version").parse().unwrap_or(-1);
        let r = service::record_step(
            &state.db,
            state.clock.now(),
            state.clock.today(),
            &a.scope,
            &a.actor(),
            c.id,
            version,
            input,
            &sub.files,
        )
        .await;
        match r {
            Ok(after) => {
                let params = domain::ports::ParamStore::params(&state.db, None).await?;
                let rules = service::case_rules(&params, &after);
                let done = after.steps.last().map(|s| s.step.label()).unwrap_or("");
                let msg = match after.status {
                    CaseStatus::Open => format!("已记录「{done}」；{}", next_text(&after, &rules)),
                    CaseStatus::Completed => {
                        "已纳入监测：该户现为监测对象，请按时限落实帮扶责任人（见“时限”页）".to_string()
                    }
                    CaseStatus::Rejected => format!("已记录：{}，理由已存档", after.procedure.rejected_label()),
                    CaseStatus::Withdrawn => "案件已撤销".to_string(),
                };
                return Ok(redirect_with_flash(&format!("/cases/{id}"), &msg));
            }
            Err(CaseError::Step(e)) => {
                if e.is_order_violation() {
                    status = StatusCode::CONFLICT;
                    error = Some(e.to_string());
                } else if matches!(e, ProcedureError::WrongRole { .. }) {
                    status = StatusCode::FORBIDDEN;
                    error = Some(e.to_string());
                } else {
                    let label = match e.field() {
                        "on" => "办理日期",
                        "note" => "意见",
                        "outcome" => "结论",
                        "participants" => "核实人员",
                        "category" => "监测对象类别",
                        "risks" => "风险类型",
                        _ => "步骤",
                    };
                    errs.push(e.field(), label, e.to_string());
                }
            }
            Err(CaseError::Conflict) => {
                status = StatusCode::CONFLICT;
                error = Some(CaseError::Conflict.to_string());
            }
            Err(CaseError::Invalid(e)) => errs = e,
            Err(e) => return Err(e.into()),
        }
    } else if input.is_none() && errs.is_empty() {
        error = Some("无法识别要办理的步骤，请刷新页面后重试".into());
    }
    if !sub.files.is_empty() && error.is_none() {
        error = Some("请重新选择要上传的附件（浏览器不会保留已选的文件）".into());
    }
    // show the case as it is now (someone may have moved it on), with what was typed
    let c = state.db.case(&a.scope, CaseId(id)).await?.ok_or(PageError::NotFound)?;
    let tpl = case_page(&state, &a, &headers, &c, &sub, &errs, error, String::new()).await?;
    render_status(status, &tpl, &tpl.chrome)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct WithdrawForm {
    reason: String,
    version: i64,
}

pub async fn withdraw(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<WithdrawForm>,
) -> Result<Response, PageError> {
    let r = service::withdraw_case(
        &state.db,
        state.clock.now(),
        state.clock.today(),
        &a.scope,
        &a.actor(),
        CaseId(id),
        f.version,
        &f.reason,
    )
    .await;
    let (error, status) = match r {
        Ok(_) => return Ok(redirect_with_flash(&format!("/cases/{id}"), "案件已撤销，理由已存档")),
        Err(CaseError::Step(ProcedureError::WithdrawRole { .. })) => return Err(PageError::Forbidden),
        Err(CaseError::Invalid(e)) => (e.to_string(), StatusCode::UNPROCESSABLE_ENTITY),
        Err(CaseError::NotFound) => return Err(PageError::NotFound),
        Err(e @ (CaseError::Conflict | CaseError::Step(_))) => (e.to_string(), StatusCode::CONFLICT),
        Err(e) => return Err(e.into()),
    };
    let c = state.db.case(&a.scope, CaseId(id)).await?.ok_or(PageError::NotFound)?;
    let tpl =
        case_page(&state, &a, &headers, &c, &Submitted::default(), &FieldErrors::default(), Some(error), f.reason)
            .await?;
    render_status(status, &tpl, &tpl.chrome)
}

/// The town's request for an exception to 不宜纳入, or the county's approval (D16).
pub async fn exclusion_exception(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<WithdrawForm>,
) -> Result<Response, PageError> {
    let r =
        service::approve_exclusion_override(&state.db, state.clock.now(), &a.scope, &a.actor(), CaseId(id), &f.reason)
            .await;
    let error = match r {
        Ok(o) if o.approved() => {
            return Ok(redirect_with_flash(&format!("/cases/{id}"), "已批准不宜纳入例外，可以办理信息比对"));
        }
        Ok(_) => return Ok(redirect_with_flash(&format!("/cases/{id}"), "已申请例外，等待县级批准")),
        Err(CaseError::Forbidden) => return Err(PageError::Forbidden),
        Err(CaseError::NotFound) => return Err(PageError::NotFound),
        Err(CaseError::Invalid(e)) => e.to_string(),
        Err(e @ CaseError::Conflict) => e.to_string(),
        Err(e) => return Err(e.into()),
    };
    let c = state.db.case(&a.scope, CaseId(id)).await?.ok_or(PageError::NotFound)?;
    let mut tpl =
        case_page(&state, &a, &headers, &c, &Submitted::default(), &FieldErrors::default(), Some(error), String::new())
            .await?;
    tpl.exclusion_reason = f.reason;
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
}

pub async fn download(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let (meta, body) = service::download_attachment(&state.db, state.clock.now(), &a.scope, &a.actor(), id).await?;
    // always a download: an uploaded HTML or SVG file never runs in our origin
    let disposition = format!("attachment; filename*=UTF-8''{}", urlencoding::encode(&meta.file_name));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response())
}

// ------------------------------------------------------------------ 公示 and 公告

/// One household on a notice: nothing but what may be published (D18).
pub struct NoticeRow {
    pub head: String,
    pub group: String,
    pub size: i64,
    pub category: String,
}

#[derive(Template)]
#[template(path = "case_notice.html")]
struct NoticePage {
    title: String,
    intro: String,
    village: String,
    town: String,
    rows: Vec<NoticeRow>,
    period: String,
    announcement: bool,
    today: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NoticeQuery {
    /// identification (default) | elimination
    procedure: String,
    kind: String,
    village: String,
    /// A notice already posted on this day (reprint); without it, the cases about to be posted.
    posted: String,
}

pub async fn print_notice(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let procedure = Procedure::from_key(&q.procedure).unwrap_or(Procedure::Identification);
    // an elimination is announced by the county's decision, not by a village announcement step
    let announcement = q.kind == "announcement" && procedure == Procedure::Identification;
    let village = RegionCode::parse(&q.village).map_err(|_| PageError::BadRequest("请选择村".into()))?;
    if !a.scope.contains(village) {
        return Err(PageError::NotFound);
    }
    let regions = state.regions.get().await;
    let step = if announcement { Step::Announcement } else { Step::PublicNotice };
    let mut cases = Vec::new();
    let mut before = None;
    loop {
        let filter = CaseFilter {
            procedure: Some(procedure),
            status: Some(CaseStatus::Open),
            next_step: Some(step),
            region: Some(village),
            household: None,
            before,
        };
        let page = state.db.cases(&a.scope, &filter, 200).await?;
        cases.extend(page.items);
        match page.next {
            Some(n) => before = n.parse().ok(),
            None => break,
        }
    }
    // one notice per posting: the cases posted that day, or those about to be posted (their
    // period starts today)
    let posted = NaiveDate::parse_from_str(q.posted.trim(), "%Y-%m-%d").ok();
    let started_of =
        |c: &Case| c.record_of(Step::PublicNotice).filter(|s| s.outcome == StepOutcome::Started).map(|s| s.done_on);
    if !announcement {
        cases.retain(|c| started_of(c) == posted);
    }
    cases.sort_by_key(|c| (c.group_no, c.household_no.clone()));
    let rows: Vec<NoticeRow> = cases
        .iter()
        .map(|c| {
            // the county's category on the announcement; the clue's suggestion on the notice;
            // for an elimination, the category the household was monitored under
            let category = match c.decision() {
                Some(Decision::Inclusion { category, .. }) => Some(*category),
                _ if procedure == Procedure::Elimination => c.monitored_category,
                _ => c.suggested_category,
            };
            NoticeRow {
                head: c.head_name.clone().unwrap_or_default(),
                group: if c.group_no > 0 { format!("{}组", c.group_no) } else { String::new() },
                size: c.members,
                category: category.map(|x| x.label().to_string()).unwrap_or_default(),
            }
        })
        .collect();
    let today = state.clock.today();
    let start = posted.unwrap_or(today);
    let (rules, _) = service::procedure_rules(&state.db, start.year(), village).await?;
    let town = regions.name(village.ancestor(domain::region::RegionLevel::Town));
    let vname = regions.name(village);
    let (title, intro, period) = if announcement {
        (
            format!("{town}防止返贫监测对象认定公告"),
            format!(
                "经农户申请、入户核实、信息比对、民主评议、村内公示、乡镇审核和县级审定，以下{}户认定为防止返贫监测对象，现予公告。",
                rows.len()
            ),
            String::new(),
        )
    } else {
        let period = format!(
            "公示时间：{} 至 {}（不少于{}天）",
            start,
            domain::procedure::notice_earliest_end(start, rules.notice_days),
            rules.notice_days
        );
        match procedure {
            Procedure::Identification => (
                format!("{vname}防止返贫监测对象识别公示"),
                format!(
                    "经农户申请、入户核实、信息比对和民主评议，以下{}户拟纳入防止返贫监测对象，现予公示。",
                    rows.len()
                ),
                period,
            ),
            Procedure::Elimination => (
                format!("{vname}防止返贫监测对象风险消除公示"),
                format!("经入户核实和民主评议，以下{}户拟标注风险消除，现予公示。", rows.len()),
                period,
            ),
        }
    };
    let tpl = NoticePage {
        title,
        intro,
        village: vname,
        town,
        rows,
        period,
        announcement,
        today: state.clock.today().format("%Y年%m月%d日").to_string(),
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], axum::response::Html(tpl.render().map_err(PageError::from)?))
        .into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RollBackForm {
    version: i64,
    reason: String,
}

/// 回退 (D9): an eliminated household back under monitoring, with the reason.
pub async fn roll_back(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(no): Path<String>,
    axum::Form(f): axum::Form<RollBackForm>,
) -> Result<Response, PageError> {
    let no = super::households::parse_no(&no)?;
    let back = format!("/households/{no}");
    let refused = match service::roll_back_elimination(
        &state.db,
        state.clock.now(),
        &a.scope,
        &a.actor(),
        &no,
        f.version,
        &f.reason,
    )
    .await
    {
        Ok(_) => return Ok(redirect_with_flash(&back, "已回退：该户恢复为监测中，原因已存档")),
        Err(EditError::Invalid(e)) => e.to_string(),
        Err(EditError::Conflict { .. }) => {
            "该户在您打开页面后已被他人修改，页面已更新为最新内容：请核对后再提交（原因已保留）".to_string()
        }
        Err(e) => return Err(e.into()),
    };
    // the page again, with the reason typed and why it was refused
    super::households::detail_page(&state, &a, &headers, &no, Some((f.reason, format!("没有回退：{refused}")))).await
}
