//! 督导 (issue 7): the groups and their villages' progress, inspections with a reproducible
//! sample, and 整改 items closed with evidence (or reopened with a reason).

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use domain::account::{Permission, Role};
use domain::fields::FieldErrors;
use domain::ports::{InspectionFilter, RectificationFilter, SupervisionStore};
use domain::region::RegionCode;
use domain::service::EditError;
use domain::supervision::{
    self, GroupInput, InspectionInput, InspectionKind, ProblemInput, Rectification, RectificationStatus,
    SupervisionGroup,
};
use serde::Deserialize;

use super::{
    Chrome, FieldGroup, FormField, Opt, attach_errors, local_path, redirect_with_flash, render, render_status,
};
use crate::AppState;
use crate::auth::{Authed, PageAuth};
use crate::error::PageError;
use crate::regions::RegionIndex;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/supervision", get(overview))
        .route("/supervision/groups", post(create_group))
        .route("/supervision/inspections/new", get(new_form))
        .route("/supervision/inspections/preview", post(preview))
        .route("/supervision/inspections", post(create))
        .route("/supervision/inspections/{id}", get(show))
        .route("/rectifications", get(rect_list))
        .route("/rectifications/{id}", post(rect_act))
}

/// Problem rows on the inspection form.
const PROBLEM_ROWS: usize = 5;

fn require_view(a: &Authed) -> Result<(), PageError> {
    if super::dashboard::sees_dashboard(a) { Ok(()) } else { Err(PageError::Forbidden) }
}

// ------------------------------------------------------------------ overview

pub struct VillageLine {
    pub code: String,
    pub name: String,
    pub coverage: i64,
    pub has_campaign: bool,
    pub findings_open: i64,
    pub officers_overdue: i64,
    pub measures_overdue: i64,
    pub rect_open: i64,
    pub rect_overdue: i64,
    pub last_inspection: String,
    pub can_inspect: bool,
}

pub struct GroupLine {
    pub name: String,
    pub members: String,
    pub mine: bool,
    pub villages: Vec<VillageLine>,
}

pub struct InspectionLine {
    pub id: i64,
    pub on: String,
    pub group: String,
    pub village: String,
    pub kind: &'static str,
    pub by: String,
}

#[derive(Template)]
#[template(path = "supervision.html")]
struct OverviewPage {
    chrome: Chrome,
    groups: Vec<GroupLine>,
    inspections: Vec<InspectionLine>,
    inspections_total: i64,
    rect_open: i64,
    rect_overdue: i64,
    can_organise: bool,
    group_form: Vec<FieldGroup>,
    group_problems: Vec<String>,
    open_group_form: bool,
}

fn inspection_line(i: &supervision::Inspection, regions: &RegionIndex) -> InspectionLine {
    InspectionLine {
        id: i.id,
        on: i.on.to_string(),
        group: i.group_name.clone(),
        village: regions.name(i.village),
        kind: i.kind.label(),
        by: i.created_by.clone(),
    }
}

fn group_fields(state_villages: &[Opt], members: &[Opt], input: &GroupInput) -> Vec<FieldGroup> {
    let mut villages: Vec<Opt> =
        state_villages.iter().map(|o| Opt { selected: input.villages.contains(&o.value), ..o.clone() }).collect();
    villages.sort_by(|a, b| a.value.cmp(&b.value));
    let members = members.iter().map(|o| Opt { selected: input.members.contains(&o.value), ..o.clone() }).collect();
    vec![FieldGroup {
        title: "成立督导组".into(),
        fields: vec![
            FormField::text("name", "督导组名称", &input.name).required(),
            FormField { kind: "checks", options: villages, ..FormField::text("villages", "负责的村", "") }.required(),
            FormField { kind: "checks", options: members, ..FormField::text("members", "成员", "") }
                .required()
                .help("角色为“督导组成员”的账户；没有时请管理员先建账户"),
        ],
    }]
}

async fn overview_page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    input: &GroupInput,
    errs: &FieldErrors,
) -> Result<OverviewPage, PageError> {
    let regions = state.regions.get().await;
    let today = state.clock.today();
    let groups = state.db.groups(&a.scope).await?;
    // every village's figures, one dashboard per town the groups belong to
    let cal = state.calendar();
    let mut figures = BTreeMap::new();
    let towns: std::collections::BTreeSet<RegionCode> = groups.iter().map(|g| g.region).collect();
    for t in towns.into_iter().filter(|t| a.scope.contains(*t) || a.scope.is_system()) {
        let d = domain::dashboard::dashboard(&state.db, &cal, &a.scope, Some(t), None, today).await?;
        figures.extend(d.rows);
    }
    // a village cadre's scope is below the town: their own village's figures
    if groups.iter().any(|g| !a.scope.contains(g.region)) && !a.scope.is_system() {
        let d = domain::dashboard::dashboard(&state.db, &cal, &a.scope, None, None, today).await?;
        figures.extend(d.rows);
    }
    // counted per village in the store: exact however many there are
    let mut rects: BTreeMap<RegionCode, (i64, i64)> = BTreeMap::new();
    for (v, open, late) in state.db.rectification_counts(&a.scope, today).await? {
        rects.insert(v, (open, late));
    }
    let recent = state.db.inspections(&a.scope, &InspectionFilter::default(), 200).await?;
    let mut last: BTreeMap<RegionCode, String> = BTreeMap::new();
    for i in &recent.items {
        last.entry(i.village).or_insert_with(|| format!("{}（{}）", i.on, i.kind.label()));
    }
    let may_inspect = |g: &SupervisionGroup| {
        a.scope.allows(Permission::Supervise) && (a.user.role != Role::Supervisor || g.has_member(a.user.id))
    };
    let mut lines: Vec<GroupLine> = groups
        .iter()
        .map(|g| GroupLine {
            name: g.name.clone(),
            members: g.members.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join("、"),
            mine: g.has_member(a.user.id),
            villages: g
                .villages
                .iter()
                .filter(|v| a.scope.contains(**v))
                .map(|v| {
                    let f = figures.get(v).cloned().unwrap_or_default();
                    let (ro, rd) = rects.get(v).copied().unwrap_or_default();
                    VillageLine {
                        code: v.to_string(),
                        name: regions.name(*v),
                        coverage: f.coverage_percent(),
                        has_campaign: f.progress.households > 0,
                        findings_open: f.findings_open_total(),
                        officers_overdue: f.officers_overdue,
                        measures_overdue: f.measures_overdue,
                        rect_open: ro,
                        rect_overdue: rd,
                        last_inspection: last.get(v).cloned().unwrap_or_else(|| "尚未督导".into()),
                        can_inspect: may_inspect(g),
                    }
                })
                .collect(),
        })
        .collect();
    // the user's own groups first
    lines.sort_by_key(|g| !g.mine);
    let can_organise = a.scope.allows(Permission::OrganiseSupervision);
    let mut group_form = Vec::new();
    let mut group_problems = Vec::new();
    if can_organise {
        let villages: Vec<Opt> = regions
            .villages_in(&a.scope)
            .into_iter()
            .map(|v| Opt { value: v.code.to_string(), label: v.name.clone(), selected: false })
            .collect();
        let members: Vec<Opt> = domain::ports::UserStore::list_users(&state.db, &a.scope)
            .await?
            .into_iter()
            .filter(|u| u.role == Role::Supervisor && u.active)
            .map(|u| Opt { value: u.id.0.to_string(), label: u.display_name.clone(), selected: false })
            .collect();
        group_form = group_fields(&villages, &members, input);
        group_problems = attach_errors(&mut group_form, errs);
    }
    Ok(OverviewPage {
        chrome: Chrome::new(state, a, headers).await,
        groups: lines,
        inspections: recent.items.iter().take(20).map(|i| inspection_line(i, &regions)).collect(),
        inspections_total: recent.total,
        rect_open: rects.values().map(|r| r.0).sum(),
        rect_overdue: rects.values().map(|r| r.1).sum(),
        can_organise,
        open_group_form: !errs.is_empty(),
        group_form,
        group_problems,
    })
}

pub async fn overview(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    require_view(&a)?;
    let tpl = overview_page(&state, &a, &headers, &GroupInput::default(), &FieldErrors::default()).await?;
    render(&tpl, &tpl.chrome)
}

pub async fn create_group(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let get = |k: &str| pairs.iter().filter(|(n, _)| n == k).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    let input = GroupInput {
        name: get("name").into_iter().next().unwrap_or_default(),
        villages: get("villages"),
        members: get("members"),
    };
    match supervision::create_group(&state.db, &a.actor(), state.clock.now(), &a.scope, &input).await {
        Ok(g) => Ok(redirect_with_flash("/supervision", &format!("已成立{}", g.name))),
        Err(EditError::Invalid(errs)) => {
            let tpl = overview_page(&state, &a, &headers, &input, &errs).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
        }
        Err(e) => Err(e.into()),
    }
}

// ------------------------------------------------------------------ the inspection form

pub struct SampleLine {
    pub household_no: String,
    pub head: String,
}

pub struct ProblemRow {
    pub n: usize,
    pub p: ProblemInput,
}

#[derive(Template)]
#[template(path = "inspection_form.html")]
struct FormPage {
    chrome: Chrome,
    fields: Vec<FieldGroup>,
    problems: Vec<ProblemRow>,
    problem_error: Vec<String>,
    unplaced: Vec<String>,
    sample: Option<Vec<SampleLine>>,
    seed: String,
    suggested_due: String,
}

fn input_from(pairs: &[(String, String)]) -> InspectionInput {
    let one = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let many = |k: &str| pairs.iter().filter(|(n, _)| n == k).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    let (nos, texts, owners, dues) = (many("p_no"), many("p_text"), many("p_owner"), many("p_due"));
    let rows = nos.len().max(texts.len()).max(owners.len()).max(dues.len());
    let at = |v: &Vec<String>, i: usize| v.get(i).cloned().unwrap_or_default();
    InspectionInput {
        group: one("group"),
        village: one("village"),
        kind: one("kind"),
        on: one("on"),
        checked: one("checked"),
        note: one("note"),
        seed: one("seed"),
        sample_size: one("sample_size"),
        problems: (0..rows)
            .map(|i| ProblemInput {
                household_no: at(&nos, i),
                problem: at(&texts, i),
                owner: at(&owners, i),
                due_on: at(&dues, i),
            })
            .collect(),
    }
}

/// The groups the user may record for: their own (the town office: all of its scope).
fn recordable<'a>(a: &Authed, groups: &'a [SupervisionGroup]) -> Vec<&'a SupervisionGroup> {
    groups.iter().filter(|g| a.user.role != Role::Supervisor || g.has_member(a.user.id)).collect()
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    input: &InspectionInput,
    errs: &FieldErrors,
    preview: bool,
) -> Result<FormPage, PageError> {
    let regions = state.regions.get().await;
    let today = state.clock.today();
    let groups = state.db.groups(&a.scope).await?;
    let mine = recordable(a, &groups);
    if mine.is_empty() {
        return Err(PageError::BadRequest("您不是任何督导组的成员：请镇专项办先成立督导组并把您加入".into()));
    }
    let group_opts: Vec<(String, String)> = mine.iter().map(|g| (g.id.to_string(), g.name.clone())).collect();
    let chosen = mine.iter().find(|g| g.id.to_string() == input.group).copied();
    let mut villages: Vec<(String, String)> = Vec::new();
    for g in chosen.map(|g| vec![g]).unwrap_or_else(|| mine.clone()) {
        for v in g.villages.iter().filter(|v| a.scope.contains(**v)) {
            let label =
                if chosen.is_some() { regions.name(*v) } else { format!("{}（{}）", regions.name(*v), g.name) };
            if !villages.iter().any(|(c, _)| *c == v.to_string()) {
                villages.push((v.to_string(), label));
            }
        }
    }
    let kinds = InspectionKind::ALL.iter().map(|k| (k.label().to_string(), k.label().to_string())).collect();
    let mut fields = vec![FieldGroup {
        title: "督导".into(),
        fields: vec![
            FormField::choices("group", "督导组", &input.group, false, group_opts).required(),
            FormField::choices("village", "村", &input.village, false, villages).required(),
            FormField::choices("kind", "督导方式", &input.kind, false, kinds).required(),
            FormField::text("on", "督导日期", &input.on).kind("date").required(),
            FormField::text("checked", "督导内容", &input.checked)
                .kind("textarea")
                .required()
                .help("检查了什么：农户档案、核查表填写和签字、公示公告、帮扶措施落实……"),
            FormField::text("sample_size", "抽样户数", &input.sample_size)
                .kind("number")
                .help("从该村农户中随机抽取，保存后抽中的户记入督导记录；0 表示不抽样"),
            FormField::text("seed", "抽样种子", &input.seed)
                .kind("number")
                .help("同一种子、同一户名单总能抽出同样的户：他人可据此复核抽样"),
            FormField::text("note", "其他情况", &input.note).kind("textarea"),
        ],
    }];
    let unplaced = attach_errors(&mut fields, errs);
    let (problem_error, unplaced): (Vec<String>, Vec<String>) =
        unplaced.into_iter().partition(|m| m.starts_with("发现的问题"));
    let sample = if preview {
        let village = RegionCode::parse(input.village.trim()).ok().filter(|v| a.scope.contains(*v));
        let size = input.sample_size.trim().parse::<usize>().unwrap_or(0);
        let seed = input.seed.trim().parse::<i64>().ok().filter(|s| *s >= 0);
        match (village, seed) {
            (Some(v), Some(seed)) => Some(
                supervision::preview_sample(&state.db, &a.scope, v, size, seed)
                    .await?
                    .into_iter()
                    .map(|h| SampleLine {
                        household_no: h.household_no.to_string(),
                        head: h.head_name.unwrap_or_default(),
                    })
                    .collect(),
            ),
            _ => None,
        }
    } else {
        None
    };
    let mut rows: Vec<ProblemInput> = input.problems.clone();
    rows.resize(rows.len().max(PROBLEM_ROWS), ProblemInput::default());
    let on = chrono::NaiveDate::parse_from_str(input.on.trim(), "%Y-%m-%d").unwrap_or(today);
    let village = RegionCode::parse(input.village.trim()).ok();
    let suggested = village.and_then(|v| supervision::suggested_due(&state.calendar(), on, v));
    Ok(FormPage {
        chrome: Chrome::new(state, a, headers).await,
        fields,
        problems: rows.into_iter().enumerate().map(|(i, p)| ProblemRow { n: i + 1, p }).collect(),
        problem_error: problem_error.into_iter().map(|m| m.trim_start_matches("发现的问题：").to_string()).collect(),
        unplaced,
        sample,
        seed: input.seed.clone(),
        suggested_due: suggested.map(|d| d.to_string()).unwrap_or_default(),
    })
}

pub async fn new_form(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    if !a.scope.allows(Permission::Supervise) {
        return Err(PageError::Forbidden);
    }
    // a fresh form (or a link naming only the group or village): today, the usual checks, five
    // households and a new seed — the seed shown is the one the preview draws with and the save uses
    let mut input = input_from(&pairs);
    let fill = |v: &mut String, d: String| {
        if v.trim().is_empty() {
            *v = d;
        }
    };
    fill(&mut input.on, state.clock.today().to_string());
    fill(&mut input.kind, InspectionKind::OnSite.label().into());
    fill(&mut input.checked, "抽查农户档案、入户核查表填写和签字、公示公告、帮扶措施落实情况".into());
    fill(&mut input.sample_size, "5".into());
    fill(&mut input.seed, supervision::default_seed(state.clock.now()).to_string());
    let preview = pairs.iter().any(|(k, _)| k == "preview");
    let tpl = form_page(&state, &a, &headers, &input, &FieldErrors::default(), preview).await?;
    render(&tpl, &tpl.chrome)
}

/// The form again with the sample its seed draws (posted: the form carries the CSRF token,
/// which must not travel in a URL).
pub async fn preview(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    if !a.scope.allows(Permission::Supervise) {
        return Err(PageError::Forbidden);
    }
    let input = input_from(&pairs);
    let tpl = form_page(&state, &a, &headers, &input, &FieldErrors::default(), true).await?;
    render(&tpl, &tpl.chrome)
}

pub async fn create(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let input = input_from(&pairs);
    let cal = state.calendar();
    let r = supervision::record_inspection(
        &state.db,
        &cal,
        &a.actor(),
        a.user.id,
        &a.scope,
        state.clock.now(),
        state.clock.today(),
        &input,
    )
    .await;
    match r {
        Ok(i) => Ok(redirect_with_flash(
            &format!("/supervision/inspections/{}", i.id),
            &format!("督导记录已保存：抽查 {} 户，整改问题 {} 条", i.sample.len(), i.rectifications.len()),
        )),
        Err(EditError::Invalid(errs)) => {
            let tpl = form_page(&state, &a, &headers, &input, &errs, false).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
        }
        Err(e) => Err(e.into()),
    }
}

// ------------------------------------------------------------------ an inspection

pub struct RectLine {
    pub id: i64,
    pub version: i64,
    pub inspection_id: i64,
    pub village: String,
    pub household_no: String,
    pub problem: String,
    pub owner: String,
    pub due_on: String,
    pub overdue: bool,
    pub closed: bool,
    pub status: &'static str,
    pub evidence: String,
    pub closed_on: String,
    pub closed_by: String,
    pub reopen_reason: String,
    /// What the user typed when their action was refused, and why.
    pub typed: String,
    pub typed_on: String,
    pub error: Option<String>,
}

fn rect_line(r: &Rectification, regions: &RegionIndex, today: chrono::NaiveDate) -> RectLine {
    RectLine {
        id: r.id,
        version: r.version,
        inspection_id: r.inspection_id,
        village: regions.name(r.village),
        household_no: r.household_no.as_ref().map(|h| h.to_string()).unwrap_or_default(),
        problem: r.problem.clone(),
        owner: r.owner.clone(),
        due_on: r.due_on.to_string(),
        overdue: r.overdue(today),
        closed: r.status == RectificationStatus::Closed,
        status: r.status.label(),
        evidence: r.evidence.clone(),
        closed_on: r.closed_on.map(|d| d.to_string()).unwrap_or_default(),
        closed_by: r.closed_by.clone().unwrap_or_default(),
        reopen_reason: r.reopen_reason.clone(),
        typed: String::new(),
        typed_on: String::new(),
        error: None,
    }
}

#[derive(Template)]
#[template(path = "inspection.html")]
struct ShowPage {
    chrome: Chrome,
    id: i64,
    group: String,
    village: String,
    kind: &'static str,
    on: String,
    checked: String,
    note: String,
    seed: i64,
    sample: Vec<SampleLine>,
    rects: Vec<RectLine>,
    by: String,
    at: String,
    can_rectify: bool,
    can_reopen: bool,
    back: String,
}

pub async fn show(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    require_view(&a)?;
    let i = state.db.inspection(&a.scope, id).await?.ok_or(PageError::NotFound)?;
    let regions = state.regions.get().await;
    let today = state.clock.today();
    let tpl = ShowPage {
        chrome: Chrome::new(&state, &a, &headers).await,
        id: i.id,
        group: i.group_name.clone(),
        village: regions.name(i.village),
        kind: i.kind.label(),
        on: i.on.to_string(),
        checked: i.checked.clone(),
        note: i.note.clone(),
        seed: i.sample_seed,
        sample: i
            .sample
            .iter()
            .map(|h| SampleLine {
                household_no: h.household_no.to_string(),
                head: h.head_name.clone().unwrap_or_default(),
            })
            .collect(),
        rects: i.rectifications.iter().map(|r| rect_line(r, &regions, today)).collect(),
        by: i.created_by.clone(),
        at: crate::views::china_time(i.created_at),
        can_rectify: a.scope.allows(Permission::Rectify),
        can_reopen: a.scope.allows(Permission::Supervise),
        back: format!("/supervision/inspections/{id}"),
    };
    render(&tpl, &tpl.chrome)
}

// ------------------------------------------------------------------ rectifications

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RectQuery {
    id: String,
    village: String,
    status: String,
    after: String,
}

impl RectQuery {
    fn filter(&self, today: chrono::NaiveDate) -> RectificationFilter {
        RectificationFilter {
            id: self.id.parse().ok(),
            inspection: None,
            region: RegionCode::parse(self.village.trim()).ok(),
            status: match self.status.as_str() {
                "" | "open" => Some(RectificationStatus::Open),
                "closed" => Some(RectificationStatus::Closed),
                _ => None,
            },
            due_before: (self.status == "overdue").then_some(today),
            after: self.after.parse().ok(),
        }
    }

    fn query(&self) -> String {
        format!("village={}&status={}", urlencoding::encode(&self.village), urlencoding::encode(&self.status))
    }
}

/// An action refused: what was typed, kept next to the item with the reason.
pub struct Refused {
    id: i64,
    text: String,
    on: String,
    message: String,
}

#[derive(Template)]
#[template(path = "rectifications.html")]
struct ListPage {
    chrome: Chrome,
    villages: Vec<Opt>,
    statuses: Vec<Opt>,
    rects: Vec<RectLine>,
    total: i64,
    next_link: Option<String>,
    can_rectify: bool,
    can_reopen: bool,
    back: String,
}

async fn list_page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    q: &RectQuery,
    refused: Option<Refused>,
) -> Result<ListPage, PageError> {
    let regions = state.regions.get().await;
    let today = state.clock.today();
    let page = state.db.rectifications(&a.scope, &q.filter(today), 100).await?;
    let mut villages = vec![Opt { value: String::new(), label: "全部村".into(), selected: q.village.is_empty() }];
    villages.extend(regions.villages_in(&a.scope).into_iter().map(|v| Opt {
        value: v.code.to_string(),
        label: v.name.clone(),
        selected: v.code.to_string() == q.village,
    }));
    let statuses = [("open", "待整改"), ("overdue", "已逾期"), ("closed", "已整改"), ("all", "全部")]
        .iter()
        .map(|(v, l)| Opt {
            value: (*v).into(),
            label: (*l).into(),
            selected: q.status == *v || (q.status.is_empty() && *v == "open"),
        })
        .collect();
    let mut rects: Vec<RectLine> = page.items.iter().map(|r| rect_line(r, &regions, today)).collect();
    if let Some(x) = refused
        && let Some(r) = rects.iter_mut().find(|r| r.id == x.id)
    {
        r.typed = x.text;
        r.typed_on = x.on;
        r.error = Some(x.message);
    }
    let base = format!("/rectifications?{}", q.query());
    Ok(ListPage {
        chrome: Chrome::new(state, a, headers).await,
        villages,
        statuses,
        rects,
        total: page.total,
        next_link: page.next.map(|n| format!("{base}&after={n}")),
        can_rectify: a.scope.allows(Permission::Rectify),
        can_reopen: a.scope.allows(Permission::Supervise),
        back: base,
    })
}

pub async fn rect_list(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Query(q): Query<RectQuery>,
) -> Result<Response, PageError> {
    require_view(&a)?;
    let tpl = list_page(&state, &a, &headers, &q, None).await?;
    render(&tpl, &tpl.chrome)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RectForm {
    version: i64,
    action: String,
    text: String,
    on: String,
    back: String,
}

pub async fn rect_act(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<RectForm>,
) -> Result<Response, PageError> {
    let (now, today) = (state.clock.now(), state.clock.today());
    let actor = a.actor();
    let r = match f.action.as_str() {
        "close" => {
            supervision::close_rectification(&state.db, &actor, &a.scope, now, today, id, f.version, &f.text, &f.on)
                .await
        }
        "reopen" => {
            supervision::reopen_rectification(
                &state.db, &actor, a.user.id, &a.scope, now, today, id, f.version, &f.text,
            )
            .await
        }
        _ => return Err(PageError::BadRequest("未知的操作".into())),
    };
    let back = local_path(&f.back, "/rectifications");
    match r {
        Ok(r) => {
            let msg = if r.status == RectificationStatus::Closed {
                format!("整改 #{id} 已销号")
            } else {
                format!("整改 #{id} 已退回重新整改")
            };
            Ok(redirect_with_flash(&back, &msg))
        }
        Err(e @ (EditError::Invalid(_) | EditError::Stale { .. })) => {
            // the item again with what was typed and why it was refused, next to it
            let (status, message) = match &e {
                EditError::Invalid(errs) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    errs.0.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("；"),
                ),
                other => (StatusCode::CONFLICT, format!("{other}（您填写的内容仍在下面）")),
            };
            let q = RectQuery { id: id.to_string(), status: "all".into(), ..Default::default() };
            let refused = Refused { id, text: f.text.clone(), on: f.on.clone(), message };
            let tpl = list_page(&state, &a, &headers, &q, Some(refused)).await?;
            render_status(status, &tpl, &tpl.chrome)
        }
        Err(e) => Err(e.into()),
    }
}
