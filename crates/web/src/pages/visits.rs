//! 入户核查 pages (DOMAIN D13, §8.3): the form of a task (附件3 / 附件4 / 附件5) on a phone, the
//! visit with the rules' results for its content, the village cadre's review (accept / return
//! with a reason), the review queue, and printable A4 forms, blank and filled.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum_extra::extract::Form;
use domain::account::Permission;
use domain::campaign::{FormKind, TaskId};
use domain::codes::{CodeEnum, DisasterKind, HousingGrade, LabourSkill, MonitoringCategory, Relation, RiskType};
use domain::fields::FieldErrors;
use domain::ports::{CampaignStore, HouseholdDetail, HouseholdStore, VisitFilter, VisitStore};
use domain::region::RegionCode;
use domain::service::{self, EditError};
use domain::visit::{
    Conclusion, EliminationView, ExclusionKind, INCOME_FIELDS, MEDICAL_CHOICES, NEW_MEMBER_FIELDS, RemovalReason,
    ReviewStatus, Visit, VisitId, VisitInput, VisitMode, WATER_FIELDS, income_window,
};
use serde::Deserialize;

use super::findings::{FindingLine, finding_line};
use super::{
    Chrome, FieldGroup, FormField, Opt, attach_errors, marked, redirect_with_flash, render, render_status, require,
};
use crate::AppState;
use crate::auth::{Authed, PageAuth};
use crate::error::PageError;
use crate::views::{HouseholdView, household_view};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tasks/{id}/visit", get(new_form).post(create))
        .route("/visits", get(queue))
        .route("/visits/{id}", get(show))
        .route("/visits/{id}/edit", get(edit_form).post(update))
        .route("/visits/{id}/accept", post(accept))
        .route("/visits/{id}/return", post(send_back))
        .route("/visits/{id}/print", get(print_filled))
        .route("/forms/{kind}/print", get(print_blank))
}

// ------------------------------------------------------------------ the form

/// One member row of the form: who, and what changed.
pub struct MemberRow {
    pub id: i64,
    pub name: String,
    pub relation: String,
    pub age: i32,
    pub is_head: bool,
    pub removal: Vec<Opt>,
    pub note: String,
    /// 健康状况 as typed; `None` when the role may not see health (DOMAIN D18).
    pub health: Option<String>,
    pub labour: Vec<Opt>,
    pub work_months: String,
    pub medical: Vec<Opt>,
}

/// Everything the form page (and the printed form) shows.
pub struct FormView {
    pub kind: FormKind,
    pub title: &'static str,
    pub short: &'static str,
    pub household: HouseholdView,
    pub window: String,
    pub header: FieldGroup,
    pub members: Vec<MemberRow>,
    pub member_error: Option<String>,
    pub new_head: FormField,
    pub new_members: Vec<FieldGroup>,
    pub groups: Vec<FieldGroup>,
    pub problems: Vec<String>,
}

fn choice_opts(choices: &[&str], value: &str) -> Vec<Opt> {
    choices.iter().map(|c| Opt { value: c.to_string(), label: c.to_string(), selected: *c == value }).collect()
}

fn yes_no(name: &str, label: &str, i: &VisitInput, help: &str) -> FormField {
    FormField::yes_no(name, label, i.get(name), true).help(help)
}

fn labels<T: CodeEnum>() -> Vec<(String, String)> {
    T::all().iter().map(|v| (v.label().to_string(), v.label().to_string())).collect()
}

/// A group of checkboxes (a field that repeats).
fn checks<T: CodeEnum>(name: &str, label: &str, i: &VisitInput) -> FormField {
    let chosen = i.all(name);
    let mut f = FormField::text(name, label, "");
    f.kind = "checks";
    f.options = T::all()
        .iter()
        .map(|v| Opt {
            value: v.label().to_string(),
            label: v.label().to_string(),
            selected: chosen.contains(&v.label()),
        })
        .collect();
    f
}

fn form_view(kind: FormKind, i: &VisitInput, errs: &FieldErrors, hv: HouseholdView) -> FormView {
    let visited = domain::text::parse_date(i.get("visited_on"));
    let window = visited
        .map(income_window)
        .map(|(a, b)| format!("{a} 至 {b}（核查月份前12个月）"))
        .unwrap_or_else(|| "核查月份前12个月".into());
    let header = FieldGroup {
        title: "核查信息".into(),
        fields: vec![
            FormField::choices("mode", "核查方式", i.get("mode"), false, labels::<VisitMode>())
                .required()
                .help("电话、微信核查后仍须入户"),
            FormField::text("visited_on", "核查日期", i.get("visited_on")).kind("date").required(),
            FormField::text("screeners", "核查人员", i.get("screeners"))
                .required()
                .help("谁排查谁负责：多人用顿号分隔"),
            yes_no("met", "是否见到农户（线上为联系上）", i, ""),
            yes_no("confirmed", "农户是否确认核查内容", i, "见到农户时填写"),
            FormField::text("signed_by", "签字（确认）人", i.get("signed_by")).help("入户时请农户在打印的核查表上签字"),
            FormField::text("why_not", "未见到或未确认的原因", i.get("why_not")).kind("textarea"),
        ],
    };
    let removal_opts = |v: &str| {
        let mut o = vec![Opt { value: String::new(), label: "无变化".into(), selected: v.is_empty() }];
        o.extend(RemovalReason::ALL.iter().map(|r| Opt {
            value: r.label().to_string(),
            label: format!("移出：{}", r.label()),
            selected: r.label() == v,
        }));
        o
    };
    let members = hv
        .members
        .iter()
        .map(|m| MemberRow {
            id: m.id,
            name: m.name.clone(),
            relation: m.relation.clone(),
            age: m.age,
            is_head: m.relation == Relation::Head.label(),
            removal: removal_opts(i.get(&format!("m{}_removal", m.id))),
            note: i.get(&format!("m{}_note", m.id)).to_string(),
            health: m.health.is_some().then(|| i.get(&format!("m{}_health", m.id)).to_string()),
            labour: choice_opts(
                &LabourSkill::ALL.iter().map(|l| l.label()).collect::<Vec<_>>(),
                i.get(&format!("m{}_labour", m.id)),
            ),
            work_months: i.get(&format!("m{}_work_months", m.id)).to_string(),
            medical: choice_opts(&MEDICAL_CHOICES, i.get(&format!("m{}_medical", m.id))),
        })
        .collect();
    let head_choices: Vec<(String, String)> = hv
        .members
        .iter()
        .filter(|m| m.relation != Relation::Head.label())
        .map(|m| (m.id.to_string(), format!("{}（{}）", m.name, m.relation)))
        .collect();
    let mut new_head = FormField::choices("new_head", "新户主（户主移出时）", i.get("new_head"), true, head_choices);
    new_head.error = errs.get("new_head").map(str::to_string);
    let relations: Vec<(String, String)> = Relation::ALL
        .iter()
        .filter(|r| **r != Relation::Head)
        .map(|r| (r.label().to_string(), r.label().to_string()))
        .collect();
    let mut new_members: Vec<FieldGroup> = NEW_MEMBER_FIELDS
        .iter()
        .enumerate()
        .map(|(n, (nf, idf, rf))| FieldGroup {
            title: format!("新增成员{}", n + 1),
            fields: vec![
                FormField::text(nf, "姓名", i.get(nf)),
                FormField::text(idf, "身份证号", i.get(idf)),
                FormField::choices(rf, "与户主关系", i.get(rf), true, relations.clone()),
            ],
        })
        .collect();
    let mut income = FieldGroup { title: format!("近12个月收入（元）：{window}"), fields: Vec::new() };
    for (f, label) in INCOME_FIELDS {
        income.fields.push(FormField::text(f, label, i.get(f)).kind("number"));
    }
    let mut flags = FieldGroup {
        title: "两不愁三保障及饮水安全".into(),
        fields: vec![
            FormField::choices("housing_grade", "住房安全等级", i.get("housing_grade"), true, labels::<HousingGrade>())
                .help("C级、D级为危房"),
            yes_no("dropout", "有义务教育阶段适龄儿童失学辍学", i, "6–15周岁"),
            yes_no("uninsured", "有成员未参加基本医疗保险", i, "居民医保、职工医保都没有参加"),
        ],
    };
    for (f, label) in WATER_FIELDS {
        flags.fields.push(FormField::pass_fail(f, &format!("饮水{label}"), i.get(f)));
    }
    flags.fields.push(yes_no("food_clothing", "不愁吃、不愁穿", i, ""));
    flags
        .fields
        .push(FormField::text("food_clothing_note", "两不愁说明", i.get("food_clothing_note")).kind("textarea"));
    let risk = FieldGroup {
        title: "风险排查".into(),
        fields: vec![
            checks::<RiskType>("risk", "致贫返贫风险（最多5项，按主次）", i),
            FormField::choices("disaster_kind", "自然灾害类型", i.get("disaster_kind"), true, labels::<DisasterKind>()),
            yes_no("sudden", "近期大额刚性支出或收入大幅缩减", i, "大病、灾害、意外、失业等"),
            FormField::text("sudden_note", "支出或减收情况", i.get("sudden_note")).kind("textarea"),
        ],
    };
    let exclusion = FieldGroup {
        title: "不宜纳入情形（核实）".into(),
        fields: vec![
            checks::<ExclusionKind>("exclusion", "发现的情形", i),
            FormField::text("exclusion_note", "情形说明", i.get("exclusion_note")).kind("textarea"),
        ],
    };
    let mut groups = vec![income, flags, risk, exclusion];
    match kind {
        FormKind::Monitored => {
            let officer = if hv.officer_name.is_empty() {
                "登记中没有帮扶责任人".to_string()
            } else {
                format!("登记的帮扶责任人：{}（{}）", hv.officer_name, hv.officer_unit)
            };
            let eliminated = hv.monitoring_status == "eliminated";
            let views: Vec<(String, String)> = EliminationView::ALL
                .iter()
                .filter(|v| {
                    if eliminated {
                        matches!(v, EliminationView::Correct | EliminationView::Wrong)
                    } else {
                        matches!(v, EliminationView::Continue | EliminationView::Eligible)
                    }
                })
                .map(|v| (v.label().to_string(), v.label().to_string()))
                .collect();
            groups.push(FieldGroup {
                title: "帮扶和风险消除（监测户）".into(),
                fields: vec![
                    yes_no("officer_present", "已落实帮扶责任人", i, &officer),
                    yes_no("officer_in_touch", "帮扶责任人经常联系", i, ""),
                    FormField::text("measures_note", "已落实的帮扶措施", i.get("measures_note")).kind("textarea"),
                    yes_no("measures_match", "帮扶措施与风险对应", i, ""),
                    FormField::choices("elimination_view", "风险消除情况", i.get("elimination_view"), true, views),
                ],
            });
        }
        FormKind::Exited | FormKind::Ordinary => {
            let cats: Vec<(String, String)> = MonitoringCategory::ALL
                .iter()
                .filter(|c| {
                    **c == MonitoringCategory::SuddenHardship
                        || (kind == FormKind::Exited && **c == MonitoringCategory::UnstableExited)
                        || (kind == FormKind::Ordinary && **c == MonitoringCategory::MarginalAtRisk)
                })
                .map(|c| (c.label().to_string(), c.label().to_string()))
                .collect();
            groups.push(FieldGroup {
                title: "核查结论".into(),
                fields: vec![
                    FormField::choices("conclusion", "结论", i.get("conclusion"), true, labels::<Conclusion>()),
                    FormField::choices("suggested_category", "建议纳入类别", i.get("suggested_category"), true, cats),
                ],
            });
        }
    }
    groups.push(FieldGroup {
        title: "备注".into(),
        fields: vec![FormField::text("note", "其他情况", i.get("note")).kind("textarea")],
    });
    let mut all = vec![header];
    all.extend(groups);
    all.append(&mut new_members);
    let mut problems = attach_errors(&mut all, errs);
    let member_error =
        errs.0.iter().filter(|e| e.field == "members").map(|e| e.message.clone()).reduce(|a, b| format!("{a}；{b}"));
    problems.retain(|p| !p.starts_with("家庭成员变化") && !p.starts_with("新户主") && !p.starts_with("新增成员："));
    let new_members = all.split_off(all.len() - NEW_MEMBER_FIELDS.len());
    let header = all.remove(0);
    FormView {
        kind,
        title: kind.label(),
        short: kind.short(),
        household: hv,
        window,
        header,
        members,
        member_error,
        new_head,
        new_members,
        groups: all,
        problems,
    }
}

#[derive(Template)]
#[template(path = "visit_form.html")]
struct FormPage {
    chrome: Chrome,
    v: FormView,
    action: String,
    version: i64,
    back: String,
}

impl FormPage {
    fn marked(&self) -> usize {
        marked(std::slice::from_ref(&self.v.header)) + marked(&self.v.groups) + marked(&self.v.new_members)
    }
}

/// The household for the form: its members' health shows to roles that may see it, and that
/// view is audited (DOMAIN D18) like the detail page.
async fn form_household(
    state: &AppState,
    a: &Authed,
    no: &domain::household::HouseholdNo,
) -> Result<(HouseholdDetail, HouseholdView), PageError> {
    let d = service::view_household(&state.db, state.clock.now(), &a.scope, &a.actor(), no).await?;
    let regions = state.regions.get().await;
    let hv = household_view(&d, &regions, a.scope.allows(Permission::ViewSensitive), state.clock.today());
    Ok((d, hv))
}

async fn task_and_household(
    state: &AppState,
    a: &Authed,
    id: i64,
) -> Result<(HouseholdDetail, HouseholdView), PageError> {
    let t = state.db.task(&a.scope, TaskId(id)).await?.ok_or(PageError::NotFound)?;
    form_household(state, a, &t.household_no).await
}

fn display_name(a: &Authed) -> String {
    if a.user.display_name.is_empty() { a.user.username.to_string() } else { a.user.display_name.clone() }
}

pub async fn new_form(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    require(&a, Permission::RecordVisits)?;
    let (d, hv) = task_and_household(&state, &a, id).await?;
    let today = state.clock.today();
    let input = VisitInput::prefilled(&d, today, &display_name(&a));
    let tpl = FormPage {
        chrome: Chrome::new(&state, &a, &headers).await,
        v: form_view(domain::campaign::form_for(&d.record.household), &input, &FieldErrors::default(), hv),
        action: format!("/tasks/{id}/visit"),
        version: 0,
        back: "/tasks".into(),
    };
    render(&tpl, &tpl.chrome)
}

fn visit_input(pairs: Vec<(String, String)>) -> VisitInput {
    VisitInput { pairs: pairs.into_iter().filter(|(k, _)| k != "_csrf" && k != "version").collect() }
}

pub async fn create(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    require(&a, Permission::RecordVisits)?;
    let input = visit_input(pairs);
    let today = state.clock.today();
    match service::record_visit(&state.db, state.clock.now(), today, &a.scope, &a.actor(), TaskId(id), &input).await {
        Ok(v) => Ok(redirect_with_flash(&format!("/visits/{}", v.id.0), &saved_message(&v))),
        Err(EditError::Invalid(errs)) => {
            let (d, hv) = task_and_household(&state, &a, id).await?;
            let tpl = FormPage {
                chrome: Chrome::new(&state, &a, &headers).await,
                v: form_view(domain::campaign::form_for(&d.record.household), &input, &errs, hv),
                action: format!("/tasks/{id}/visit"),
                version: 0,
                back: "/tasks".into(),
            };
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
        }
        Err(e) => Err(e.into()),
    }
}

fn saved_message(v: &Visit) -> String {
    let follow = match (v.facts.mode, v.facts.met) {
        (VisitMode::InPerson, true) => "",
        (VisitMode::InPerson, false) => "；未见到农户，请另行入户",
        _ => "；线上核查，仍须入户核查",
    };
    format!("核查已保存，等待村干部审核{follow}")
}

pub async fn edit_form(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    require(&a, Permission::RecordVisits)?;
    let v = state.db.visit(&a.scope, VisitId(id)).await?.ok_or(PageError::NotFound)?;
    if v.review == ReviewStatus::Accepted {
        return Ok(redirect_with_flash(&format!("/visits/{id}"), "这条核查已采纳，不能再修改；如有变化请新增一次核查"));
    }
    let (_, hv) = form_household(&state, &a, &v.household_no).await?;
    let tpl = FormPage {
        chrome: Chrome::new(&state, &a, &headers).await,
        v: form_view(v.form, &VisitInput::from_visit(&v), &FieldErrors::default(), hv),
        action: format!("/visits/{id}/edit"),
        version: v.version,
        back: format!("/visits/{id}"),
    };
    render(&tpl, &tpl.chrome)
}

pub async fn update(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    require(&a, Permission::RecordVisits)?;
    let version = pairs.iter().find(|(k, _)| k == "version").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let input = visit_input(pairs);
    let today = state.clock.today();
    let res =
        service::correct_visit(&state.db, state.clock.now(), today, &a.scope, &a.actor(), VisitId(id), version, &input)
            .await;
    match res {
        Ok(v) => Ok(redirect_with_flash(&format!("/visits/{id}"), &saved_message(&v))),
        Err(EditError::Invalid(errs)) => {
            let v = state.db.visit(&a.scope, VisitId(id)).await?.ok_or(PageError::NotFound)?;
            let (_, hv) = form_household(&state, &a, &v.household_no).await?;
            let tpl = FormPage {
                chrome: Chrome::new(&state, &a, &headers).await,
                v: form_view(v.form, &input, &errs, hv),
                action: format!("/visits/{id}/edit"),
                version,
                back: format!("/visits/{id}"),
            };
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
        }
        Err(e) => Err(e.into()),
    }
}

// ------------------------------------------------------------------ one visit

/// A visit as the pages show it: the facts and the content in words.
pub struct VisitView {
    pub id: i64,
    pub household_no: String,
    pub village: String,
    pub form: &'static str,
    pub form_title: &'static str,
    pub facts: String,
    pub mode: &'static str,
    pub review: &'static str,
    pub review_key: &'static str,
    pub review_note: String,
    pub reviewed: String,
    pub recorded: String,
    pub version: i64,
    /// (label, value) lines of the content.
    pub lines: Vec<(String, String)>,
}

fn review_key(s: ReviewStatus) -> &'static str {
    match s {
        ReviewStatus::Submitted => "submitted",
        ReviewStatus::Accepted => "accepted",
        ReviewStatus::Returned => "returned",
    }
}

fn yn(v: Option<bool>) -> String {
    match v {
        Some(true) => "是".into(),
        Some(false) => "否".into(),
        None => "未填".into(),
    }
}

pub fn visit_view(v: &Visit, village: String) -> VisitView {
    let c = &v.content;
    let mut lines: Vec<(String, String)> = Vec::new();
    for m in &c.members {
        let mut s = String::new();
        if let Some(r) = m.removal {
            s.push_str(&format!("移出（{}）", r.label()));
        }
        if !m.note.is_empty() {
            if !s.is_empty() {
                s.push('；');
            }
            s.push_str(&m.note);
        }
        lines.push((format!("成员 {}", m.name), s));
    }
    for n in &c.new_members {
        lines.push(("新增成员".into(), format!("{}（{}）", n.name, n.relation.label())));
    }
    if let Some(r) = &c.income {
        lines.push((
            format!("收入（{}年记录）", r.year),
            format!(
                "工资性 {} · 生产经营性 {} · 财产性 {} · 转移性 {} · 生产经营性支出 {} · 合规自付 {} · 理赔 {} · 家庭纯收入 {}",
                r.wage, r.business, r.property, r.transfer, r.business_cost, r.out_of_pocket, r.insurance_payout, r.net()
            ),
        ));
    }
    if let Some(g) = c.housing_grade {
        lines.push(("住房安全等级".into(), g.label().to_string()));
    }
    lines.push(("义务教育阶段失学辍学".into(), yn(c.dropout)));
    lines.push(("有成员未参加基本医疗保险".into(), yn(c.uninsured)));
    let w = &c.water;
    let pf = |x: Option<bool>| x.map(|b| domain::text::pass_fail(b).to_string()).unwrap_or_else(|| "未填".into());
    lines.push((
        "饮水安全".into(),
        format!(
            "水量{} · 水质{} · 方便程度{} · 保证率{}",
            pf(w.quantity_ok),
            pf(w.quality_ok),
            pf(w.convenience_ok),
            pf(w.reliability_ok)
        ),
    ));
    let mut fc = yn(c.food_clothing_secure);
    if !c.food_clothing_note.is_empty() {
        fc.push_str(&format!("（{}）", c.food_clothing_note));
    }
    lines.push(("不愁吃、不愁穿".into(), fc));
    if !c.risks.is_empty() {
        let mut r = c.risks.iter().map(|r| r.label()).collect::<Vec<_>>().join("、");
        if let Some(k) = c.disaster_kind {
            r.push_str(&format!("（{}）", k.label()));
        }
        lines.push(("风险".into(), r));
    }
    let mut s = yn(c.sudden);
    if !c.sudden_note.is_empty() {
        s.push_str(&format!("：{}", c.sudden_note));
    }
    lines.push(("大额刚性支出或收入骤减".into(), s));
    if !c.exclusions.is_empty() || !c.exclusion_note.is_empty() {
        lines.push((
            "不宜纳入情形".into(),
            format!("{} {}", c.exclusions.iter().map(|e| e.label()).collect::<Vec<_>>().join("、"), c.exclusion_note),
        ));
    }
    if v.form == FormKind::Monitored {
        lines.push(("已落实帮扶责任人".into(), yn(c.officer_present)));
        lines.push(("帮扶责任人经常联系".into(), yn(c.officer_in_touch)));
        if !c.measures_note.is_empty() {
            lines.push(("已落实的帮扶措施".into(), c.measures_note.clone()));
        }
        lines.push(("帮扶措施与风险对应".into(), yn(c.measures_match_risks)));
        if let Some(e) = c.elimination_view {
            lines.push(("风险消除情况".into(), e.label().to_string()));
        }
    } else if let Some(x) = c.conclusion {
        let mut s = x.label().to_string();
        if let Some(k) = c.suggested_category {
            s.push_str(&format!("（{}）", k.label()));
        }
        lines.push(("核查结论".into(), s));
    }
    if !c.note.is_empty() {
        lines.push(("备注".into(), c.note.clone()));
    }
    VisitView {
        id: v.id.0,
        household_no: v.household_no.to_string(),
        village,
        form: v.form.short(),
        form_title: v.form.label(),
        facts: domain::visit::describe(&v.facts),
        mode: v.facts.mode.label(),
        review: v.review.label(),
        review_key: review_key(v.review),
        review_note: v.review_note.clone(),
        reviewed: match (&v.reviewed_by, v.reviewed_at) {
            (Some(by), Some(at)) => format!("{by} {}", crate::views::china_time(at)),
            _ => String::new(),
        },
        recorded: format!("{} {}", v.recorded_by, crate::views::china_time(v.recorded_at)),
        version: v.version,
        lines,
    }
}

#[derive(Template)]
#[template(path = "visit.html")]
struct ShowPage {
    chrome: Chrome,
    v: VisitView,
    head: String,
    /// The rules on the household with this visit's content (before acceptance), or on the
    /// registry (after).
    findings: Vec<FindingLine>,
    findings_note: String,
    changes: Vec<String>,
    manual: Vec<String>,
    plan_error: Option<String>,
    can_review: bool,
    can_edit: bool,
    error: Option<String>,
    reason: String,
    /// Where the finding cards' forms return to.
    back: String,
}

async fn show_page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    id: i64,
    error: Option<String>,
    reason: String,
) -> Result<ShowPage, PageError> {
    let v = state.db.visit(&a.scope, VisitId(id)).await?.ok_or(PageError::NotFound)?;
    let regions = state.regions.get().await;
    let village = regions.name(v.village);
    let today = state.clock.today();
    let mut changes = Vec::new();
    let mut manual = Vec::new();
    let mut plan_error = None;
    let mut findings = Vec::new();
    let mut head = String::new();
    let findings_note;
    match service::plan_acceptance(&state.db, &a.scope, &v).await {
        Ok((d, app)) => {
            head = d.head().map(|m| m.name.to_string()).unwrap_or_default();
            let (detail, note) = if v.review == ReviewStatus::Accepted {
                (d, "按现在的登记信息，筛查规则的结果：")
            } else {
                changes = app.summary.clone();
                manual = app.manual.clone();
                (domain::visit::applied(&d, &app), "按本次核查内容（尚未采纳，登记信息未改），筛查规则的结果：")
            };
            findings_note = note.to_string();
            match domain::screening::preview(&state.db, &state.calendar(), today, &detail).await {
                Ok(f) => {
                    findings = f.iter().map(|f| preview_line(f, &detail, village.clone(), today)).collect();
                }
                Err(e) => plan_error = Some(format!("无法运行筛查规则：{e}")),
            }
        }
        Err(EditError::Invalid(e)) => {
            findings_note = String::new();
            plan_error = Some(format!("这条核查现在不能直接采纳：{e}"));
        }
        Err(e) => return Err(e.into()),
    }
    let can_review = a.scope.allows(Permission::ReviewVisits) && v.review == ReviewStatus::Submitted;
    let can_edit = a.scope.allows(Permission::RecordVisits) && v.review != ReviewStatus::Accepted;
    Ok(ShowPage {
        chrome: Chrome::new(state, a, headers).await,
        v: visit_view(&v, village),
        head,
        findings,
        findings_note,
        changes,
        manual,
        plan_error,
        can_review,
        can_edit,
        error,
        reason,
        back: format!("/visits/{id}"),
    })
}

/// A rule result shown before anything is stored.
fn preview_line(
    f: &domain::rules::Finding,
    d: &HouseholdDetail,
    village: String,
    today: chrono::NaiveDate,
) -> FindingLine {
    let record = domain::ports::FindingRecord {
        id: 0,
        household_id: d.record.id,
        household_no: d.record.household.household_no.clone(),
        village: d.record.household.village,
        code: f.code,
        sub_code: f.sub_code.to_string(),
        suggested_category: f.suggested_category,
        rule_id: f.rule_id.to_string(),
        rule_version: i32::from(f.rule_version),
        explanation: f.explanation.clone(),
        member_id: f.member_id,
        status: domain::ports::FindingStatus::Open,
        status_note: String::new(),
        status_by: None,
        status_at: None,
        first_seen: Default::default(),
        last_seen: Default::default(),
        as_of: today,
        params: serde_json::to_string(&f.params).unwrap_or_default(),
        inputs: serde_json::to_string(&f.inputs).unwrap_or_default(),
    };
    let mut line = finding_line(&record, village);
    line.open = false;
    line.status = "预览".into();
    line
}

pub async fn show(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let tpl = show_page(&state, &a, &headers, id, None, String::new()).await?;
    render(&tpl, &tpl.chrome)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReviewForm {
    version: i64,
    note: String,
    reason: String,
}

pub async fn accept(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<ReviewForm>,
) -> Result<Response, PageError> {
    require(&a, Permission::ReviewVisits)?;
    match service::accept_visit(&state.db, state.clock.now(), &a.scope, &a.actor(), VisitId(id), f.version, &f.note)
        .await
    {
        Ok((v, app)) => {
            let screened = super::findings::rescreen(&state, &a, &v.household_no).await;
            let what =
                if app.summary.is_empty() { "登记信息无变化".to_string() } else { app.summary.join("；") };
            let todo = if app.manual.is_empty() {
                String::new()
            } else {
                format!("；还须手工处理{}项，见下方", app.manual.len())
            };
            Ok(redirect_with_flash(&format!("/visits/{id}"), &format!("已采纳：{what}{screened}{todo}")))
        }
        Err(EditError::Invalid(e)) => {
            let tpl = show_page(&state, &a, &headers, id, Some(e.to_string()), String::new()).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn send_back(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<ReviewForm>,
) -> Result<Response, PageError> {
    require(&a, Permission::ReviewVisits)?;
    match service::return_visit(&state.db, state.clock.now(), &a.scope, &a.actor(), VisitId(id), f.version, &f.reason)
        .await
    {
        Ok(()) => Ok(redirect_with_flash(&format!("/visits/{id}"), "已退回，排查员修改后重新提交")),
        Err(EditError::Invalid(e)) => {
            let tpl = show_page(&state, &a, &headers, id, Some(e.to_string()), f.reason.clone()).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
        }
        Err(e) => Err(e.into()),
    }
}

// ------------------------------------------------------------------ the review queue

#[derive(Template)]
#[template(path = "visits.html")]
struct QueuePage {
    chrome: Chrome,
    items: Vec<VisitView>,
    total: i64,
    review_opts: Vec<Opt>,
    villages: Vec<Opt>,
    next_link: Option<String>,
    first_link: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    review: String,
    village: String,
    campaign: String,
    after: String,
}

pub async fn queue(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Query(q): Query<QueueQuery>,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let regions = state.regions.get().await;
    // submitted unless asked otherwise ("all" = every status)
    let review = match q.review.as_str() {
        "" => Some(ReviewStatus::Submitted),
        "all" => None,
        s => ReviewStatus::ALL.iter().copied().find(|x| review_key(*x) == s),
    };
    let filter = VisitFilter {
        campaign: q.campaign.parse().ok().map(domain::campaign::CampaignId),
        region: RegionCode::parse(&q.village).ok(),
        task: None,
        household: None,
        review,
        after: q.after.parse().ok(),
    };
    let page = state.db.visits(&a.scope, &filter, 50).await?;
    let mut review_opts: Vec<Opt> = ReviewStatus::ALL
        .iter()
        .map(|s| Opt { value: review_key(*s).to_string(), label: s.label().to_string(), selected: review == Some(*s) })
        .collect();
    review_opts[0].value = String::new();
    review_opts.push(Opt { value: "all".into(), label: "全部".into(), selected: review.is_none() });
    let mut villages = vec![Opt { value: String::new(), label: "全部村".into(), selected: q.village.is_empty() }];
    villages.extend(regions.villages_in(&a.scope).into_iter().map(|r| Opt {
        value: r.code.to_string(),
        label: r.name.clone(),
        selected: r.code.to_string() == q.village,
    }));
    let base = format!(
        "/visits?review={}&village={}&campaign={}",
        urlencoding::encode(&q.review),
        urlencoding::encode(&q.village),
        urlencoding::encode(&q.campaign)
    );
    let tpl = QueuePage {
        chrome: Chrome::new(&state, &a, &headers).await,
        items: page.items.iter().map(|v| visit_view(v, regions.name(v.village))).collect(),
        total: page.total,
        review_opts,
        villages,
        next_link: page.next.map(|n| format!("{base}&after={n}")),
        first_link: (!q.after.is_empty()).then_some(base),
    };
    render(&tpl, &tpl.chrome)
}

// ------------------------------------------------------------------ printing

#[derive(Template)]
#[template(path = "visit_print.html")]
struct PrintPage {
    kind_title: &'static str,
    kind_short: &'static str,
    kind: u8,
    filled: Option<VisitView>,
    campaign: String,
    household_line: String,
    members: Vec<(String, String, String)>,
    income_labels: Vec<&'static str>,
    risks: Vec<&'static str>,
    exclusions: Vec<&'static str>,
    blank_rows: Vec<u8>,
}

/// A blank form of a kind (3, 4 or 5) to print and fill by hand.
pub async fn print_blank(PageAuth(a): PageAuth, Path(kind): Path<String>) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let kind = match kind.as_str() {
        "3" => FormKind::Monitored,
        "4" => FormKind::Exited,
        "5" => FormKind::Ordinary,
        _ => return Err(PageError::NotFound),
    };
    let tpl = print_page(kind, None, String::new(), String::new(), Vec::new());
    printable(&tpl)
}

fn print_page(
    kind: FormKind,
    filled: Option<VisitView>,
    campaign: String,
    household_line: String,
    members: Vec<(String, String, String)>,
) -> PrintPage {
    PrintPage {
        // "附件3 监测户情况核查表" → the attachment number above, the title below
        kind_title: kind.label().split_once(' ').map(|(_, t)| t).unwrap_or(kind.label()),
        kind_short: kind.short(),
        kind: kind.code() as u8,
        filled,
        campaign,
        household_line,
        blank_rows: if members.is_empty() { vec![0; 6] } else { Vec::new() },
        members,
        income_labels: INCOME_FIELDS.iter().map(|(_, l)| *l).collect(),
        risks: RiskType::ALL.iter().map(|r| r.label()).collect(),
        exclusions: ExclusionKind::ALL.iter().map(|r| r.label()).collect(),
    }
}

fn printable(t: &PrintPage) -> Result<Response, PageError> {
    use axum::response::IntoResponse;
    let mut resp = axum::response::Html(t.render()?).into_response();
    resp.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// A recorded visit on its form, for signatures and the file.
pub async fn print_filled(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let v = state.db.visit(&a.scope, VisitId(id)).await?.ok_or(PageError::NotFound)?;
    let d = state.db.household(&a.scope, &v.household_no).await?.ok_or(PageError::NotFound)?;
    let regions = state.regions.get().await;
    let campaign = state.db.campaign(&a.scope, v.campaign).await?.map(|c| c.name).unwrap_or_default();
    let hv = household_view(&d, &regions, false, state.clock.today());
    let members = hv.members.iter().map(|m| (m.name.clone(), m.relation.clone(), m.national_id.clone())).collect();
    let line = format!(
        "户编号 {} · {}{}{} · {} · {}",
        hv.household_no,
        hv.town_name,
        hv.village_name,
        if hv.group_no > 0 { format!("{}组", hv.group_no) } else { String::new() },
        hv.kind,
        hv.monitoring
    );
    let view = visit_view(&v, regions.name(v.village));
    let tpl = print_page(v.form, Some(view), campaign, line, members);
    printable(&tpl)
}
