//! Household pages: the list of my scope, the detail, and editing a household and its members.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use domain::account::Permission;
use domain::audit::AuditRecord;
use domain::codes::*;
use domain::fields::{FieldErrors, HouseholdInput, MemberInput};
use domain::household::{HouseholdNo, MonitoringStatus};
use domain::member::MemberId;
use domain::params::ParamName;
use domain::ports::{
    AuditFilter, AuditStore, Cursor, FindingFilter, FindingStatus, FindingStore, HouseholdFilter, HouseholdStore,
    ParamStore,
};
use domain::region::RegionCode;
use domain::search::SearchQuery;
use domain::service::{self, EditError};
use serde::Deserialize;

use super::{
    Chrome, FieldGroup, FormField, Opt, attach_errors, marked, redirect_with_flash, render, render_status, require,
};
use crate::AppState;
use crate::auth::PageAuth;
use crate::error::PageError;
use crate::views::{self, HouseholdSummaryView, HouseholdView};

pub const PAGE_SIZE: u32 = 30;

/// List filters as they arrive in the query string (also used by the export link).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub village: String,
    pub group: String,
    pub kind: String,
    pub status: String,
    pub q: String,
    pub after: String,
}

impl ListQuery {
    /// The domain filter; unknown values are ignored (the page shows them as not applied).
    pub fn filter(&self) -> HouseholdFilter {
        HouseholdFilter {
            region: RegionCode::parse(&self.village).ok(),
            group_no: self.group.trim().parse().ok().filter(|g| *g > 0),
            kind: HouseholdKind::parse_label(&self.kind),
            status: MonitoringStatus::parse_label(&self.status),
            category: None,
            query: Some(SearchQuery::parse(&self.q)).filter(|q| !q.is_none()),
            ..Default::default()
        }
    }

    /// The query string without the cursor.
    pub fn filters_query(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("village", &self.village),
            ("group", &self.group),
            ("kind", &self.kind),
            ("status", &self.status),
            ("q", &self.q),
        ] {
            if !v.trim().is_empty() {
                parts.push(format!("{k}={}", urlencoding::encode(v.trim())));
            }
        }
        parts.join("&")
    }
}

#[derive(Template)]
#[template(path = "households.html")]
struct ListPage {
    chrome: Chrome,
    q: ListQuery,
    villages: Vec<Opt>,
    kinds: Vec<Opt>,
    statuses: Vec<Opt>,
    items: Vec<HouseholdSummaryView>,
    total: i64,
    next_link: Option<String>,
    first_link: Option<String>,
    export_query: String,
}

fn opts(values: &[&str], selected: &str) -> Vec<Opt> {
    let mut v = vec![Opt { value: String::new(), label: "全部".into(), selected: selected.is_empty() }];
    v.extend(values.iter().map(|s| Opt { value: s.to_string(), label: s.to_string(), selected: *s == selected }));
    v
}

pub async fn list(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewHouseholds)?;
    let regions = state.regions.get().await;
    let filter = q.filter();
    let cursor = Cursor::decode(&q.after);
    let page = state.db.list_households(&a.scope, &filter, cursor.as_ref(), PAGE_SIZE).await?;
    let fq = q.filters_query();
    let sep = if fq.is_empty() { "" } else { "&" };
    let villages = {
        let mut v = vec![Opt { value: String::new(), label: "全部村".into(), selected: q.village.is_empty() }];
        v.extend(regions.villages_in(&a.scope).into_iter().map(|r| Opt {
            value: r.code.to_string(),
            label: r.name.clone(),
            selected: r.code.to_string() == q.village,
        }));
        v
    };
    let kinds: Vec<&str> = HouseholdKind::ALL.iter().map(|k| k.label()).collect();
    let statuses: Vec<&str> = MonitoringStatus::ALL.iter().map(|k| k.label()).collect();
    let chrome = Chrome::new(&state, &a, &headers).await;
    let tpl = ListPage {
        items: page.items.iter().map(|s| views::summary_view(s, &regions)).collect(),
        total: page.total,
        next_link: page.next.map(|n| format!("/households?{fq}{sep}after={}", urlencoding::encode(&n))),
        first_link: (!q.after.is_empty()).then(|| format!("/households?{fq}")),
        export_query: fq,
        villages,
        kinds: opts(&kinds, &q.kind),
        statuses: opts(&statuses, &q.status),
        q,
        chrome,
    };
    render(&tpl, &tpl.chrome)
}

/// A 户编号 from a URL; a malformed one is a household that does not exist.
pub(crate) fn parse_no(no: &str) -> Result<HouseholdNo, PageError> {
    HouseholdNo::parse(no).map_err(|_| PageError::NotFound)
}

pub struct HistoryLine {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub note: String,
}

/// Changes only: sensitive views are in the audit log, not in a household's history.
fn history_lines(rows: Vec<AuditRecord>) -> Vec<HistoryLine> {
    rows.into_iter()
        .filter(|r| r.entry.action != domain::audit::AuditAction::ViewSensitive)
        .map(|r| HistoryLine {
            at: views::china_time(r.entry.at),
            actor: r.entry.actor_name,
            action: r.entry.action.label().to_string(),
            note: r.entry.note,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "household.html")]
struct DetailPage {
    chrome: Chrome,
    h: HouseholdView,
    can_edit: bool,
    sensitive: bool,
    line: Option<String>,
    history: Vec<HistoryLine>,
    findings: Vec<super::findings::FindingLine>,
    resolved: usize,
    visits: Vec<super::visits::VisitView>,
    cases: Vec<super::cases::CaseLine>,
    /// The user may register a clue on this household (not monitored, no open case).
    can_open_case: bool,
    /// … or propose its elimination (monitored, no open case), or roll an elimination back.
    can_propose_elimination: bool,
    can_roll_back: bool,
    /// A refused rollback: what was typed and why it was refused (the form opens with both).
    rollback_reason: String,
    rollback_error: Option<String>,
    version: i64,
    back: String,
}

pub async fn detail(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(no): Path<String>,
) -> Result<Response, PageError> {
    let no = parse_no(&no)?;
    detail_page(&state, &a, &headers, &no, None).await
}

/// The household page; `rollback` re-renders a refused 回退 with its reason and the refusal.
pub(crate) async fn detail_page(
    state: &AppState,
    a: &super::Authed,
    headers: &HeaderMap,
    no: &HouseholdNo,
    rollback: Option<(String, String)>,
) -> Result<Response, PageError> {
    let no = no.clone();
    let now = state.clock.now();
    let d = service::view_household(&state.db, now, &a.scope, &a.actor(), &no).await?;
    let regions = state.regions.get().await;
    let sensitive = a.scope.allows(Permission::ViewSensitive);
    let history = state
        .db
        .audit_rows(
            &AuditFilter {
                entity: Some("household".into()),
                entity_id: Some(d.record.id.0.to_string()),
                ..Default::default()
            },
            50,
        )
        .await?;
    // the monitoring line of the current policy year, for reading the income figures
    let year = chrono::Datelike::year(&state.clock.today());
    let params = state.db.params(Some(year)).await?;
    let line =
        domain::params::resolve(&params, year, d.record.household.village, ParamName::MonitoringLine).ok().map(|p| {
            format!(
                "{year}年监测范围 {}{}",
                ParamName::MonitoringLine.display_value(p.value),
                if p.example { "（示例值，未经确认）" } else { "" }
            )
        });
    let found = state
        .db
        .findings(&a.scope, &FindingFilter { household: Some(d.record.id), ..Default::default() }, 200)
        .await?
        .items;
    let resolved = found.iter().filter(|f| f.status == FindingStatus::Resolved).count();
    let village = regions.name(d.record.household.village);
    let visits = domain::ports::VisitStore::visits(
        &state.db,
        &a.scope,
        &domain::ports::VisitFilter { household: Some(d.record.id), ..Default::default() },
        20,
    )
    .await?
    .items
    .iter()
    .map(|v| super::visits::visit_view(v, village.clone()))
    .collect();
    let case_list = domain::ports::CaseStore::cases(
        &state.db,
        &a.scope,
        &domain::ports::CaseFilter { household: Some(d.record.id), ..Default::default() },
        20,
    )
    .await?
    .items;
    let case_params = domain::ports::ParamStore::params(&state.db, None).await?;
    let monitored = matches!(d.record.household.monitoring, domain::household::Monitoring::Monitored { .. });
    let no_open_case = !case_list.iter().any(|c| c.is_open());
    let can_open_case = domain::procedure::Step::Clue.allows(a.user.role) && !monitored && no_open_case;
    let can_propose_elimination = domain::procedure::Step::Proposal.allows(a.user.role) && monitored && no_open_case;
    let can_roll_back =
        matches!(a.user.role, domain::account::Role::TownOffice | domain::account::Role::CountyApprover)
            && matches!(d.record.household.monitoring, domain::household::Monitoring::Eliminated { .. });
    let cases = case_list
        .iter()
        .map(|c| super::cases::case_line(c, village.clone(), a.user.role, state.clock.today(), &case_params))
        .collect();
    let tpl = DetailPage {
        chrome: Chrome::new(state, a, headers).await,
        h: views::household_view(&d, &regions, sensitive, state.clock.today()),
        can_edit: a.scope.allows(Permission::EditHouseholds),
        sensitive,
        line,
        history: history_lines(history),
        findings: found
            .iter()
            .filter(|f| f.status != FindingStatus::Resolved)
            .map(|f| super::findings::finding_line(f, village.clone()))
            .collect(),
        resolved,
        visits,
        cases,
        can_open_case,
        can_propose_elimination,
        can_roll_back,
        rollback_error: rollback.as_ref().map(|(_, e)| e.clone()),
        rollback_reason: rollback.map(|(r, _)| r).unwrap_or_default(),
        version: d.record.version,
        back: format!("/households/{no}"),
    };
    match tpl.rollback_error {
        Some(_) => render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome),
        None => render(&tpl, &tpl.chrome),
    }
}

// ------------------------------------------------------------------ household edit

#[derive(Template)]
#[template(path = "household_edit.html")]
struct EditPage {
    chrome: Chrome,
    no: String,
    action: String,
    version: i64,
    groups: Vec<FieldGroup>,
    problems: Vec<String>,
    conflict: bool,
}

impl EditPage {
    fn marked(&self) -> usize {
        marked(&self.groups)
    }
}

impl MemberPage {
    fn marked(&self) -> usize {
        marked(&self.groups)
    }
}

fn household_groups(i: &HouseholdInput) -> Vec<FieldGroup> {
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let risks: Vec<String> = v(&i.risks).split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    let risk = |n: usize| risks.get(n).cloned().unwrap_or_default();
    vec![
        FieldGroup {
            title: "基本信息".into(),
            fields: vec![
                FormField::text("group_no", "组", &v(&i.group_no)).help("数字，如 3"),
                FormField::text("address", "家庭住址", &v(&i.address)),
                FormField::text("phone", "联系电话", &v(&i.phone)).kind("tel"),
                FormField::select::<HouseholdKind>("kind", "户类型", &v(&i.kind), false).required(),
                FormField::text("exit_year", "脱贫年度", &v(&i.exit_year)).kind("number").help("脱贫户填写，如 2019"),
                FormField::text("declared_size", "家庭人口数", &v(&i.declared_size)).kind("number"),
                FormField::yes_no("military_family", "是否军烈属", &v(&i.military_family), false),
                FormField::yes_no(
                    "no_labour_safety_net",
                    "整户无劳动能力兜底保障户",
                    &v(&i.no_labour_safety_net),
                    false,
                ),
                FormField::yes_no("relocated", "是否易地扶贫搬迁", &v(&i.relocated), false),
            ],
        },
        FieldGroup {
            title: "监测信息".into(),
            fields: vec![
                FormField::select::<MonitoringCategory>(
                    "monitoring_category",
                    "监测对象类别",
                    &v(&i.monitoring_category),
                    true,
                )
                .help("未纳入监测的户留空"),
                FormField::text("monitored_since", "识别监测时间", &v(&i.monitored_since)).kind("date"),
                FormField::yes_no("eliminated", "风险是否已消除", &v(&i.eliminated), true),
                FormField::select::<EliminationMode>("elimination_mode", "风险消除方式", &v(&i.elimination_mode), true),
                FormField::text("eliminated_on", "风险消除时间", &v(&i.eliminated_on)).kind("date"),
                FormField::select::<RiskType>("risk1", "致贫返贫风险1", &risk(0), true),
                FormField::select::<RiskType>("risk2", "致贫返贫风险2", &risk(1), true),
                FormField::select::<RiskType>("risk3", "致贫返贫风险3", &risk(2), true),
                FormField::select::<RiskType>("risk4", "致贫返贫风险4", &risk(3), true),
                FormField::select::<RiskType>("risk5", "致贫返贫风险5", &risk(4), true),
                FormField::select::<DisasterKind>("disaster_kind", "自然灾害类型", &v(&i.disaster_kind), true)
                    .help("风险含“因自然灾害”时填写"),
            ],
        },
        FieldGroup {
            title: "两不愁三保障和饮水安全".into(),
            fields: vec![
                FormField::select::<HousingGrade>("housing_grade", "危房等级", &v(&i.housing_grade), true)
                    .help("C级、D级为危房"),
                FormField::yes_no("water_safe", "是否饮水安全", &v(&i.water_safe), true),
                FormField::pass_fail("water_quantity", "水量", &v(&i.water_quantity)),
                FormField::pass_fail("water_quality", "水质", &v(&i.water_quality)),
                FormField::pass_fail("water_convenience", "用水方便程度", &v(&i.water_convenience)),
                FormField::pass_fail("water_reliability", "供水保证率", &v(&i.water_reliability)),
                FormField::yes_no(
                    "food_clothing_secure",
                    "两不愁（吃穿）是否有保障",
                    &v(&i.food_clothing_secure),
                    true,
                ),
                FormField::text("food_clothing_note", "两不愁说明", &v(&i.food_clothing_note)).kind("textarea"),
            ],
        },
        FieldGroup {
            title: "帮扶责任人".into(),
            fields: vec![
                FormField::text("officer_name", "帮扶责任人", &v(&i.officer_name)),
                FormField::text("officer_unit", "帮扶责任人单位", &v(&i.officer_unit)),
                FormField::text("officer_phone", "帮扶责任人电话", &v(&i.officer_phone)).kind("tel"),
            ],
        },
    ]
}

/// The posted household form as the domain's input (every field present, risks joined).
fn household_input(form: &HashMap<String, String>) -> HouseholdInput {
    let f = |k: &str| Some(form.get(k).cloned().unwrap_or_default());
    let risks: Vec<String> =
        (1..=5).filter_map(|n| form.get(&format!("risk{n}"))).filter(|s| !s.trim().is_empty()).cloned().collect();
    HouseholdInput {
        group_no: f("group_no"),
        address: f("address"),
        phone: f("phone"),
        kind: f("kind"),
        exit_year: f("exit_year"),
        monitoring_category: f("monitoring_category"),
        monitored_since: f("monitored_since"),
        eliminated: f("eliminated"),
        elimination_mode: f("elimination_mode"),
        eliminated_on: f("eliminated_on"),
        risks: Some(risks.join(",")),
        disaster_kind: f("disaster_kind"),
        housing_grade: f("housing_grade"),
        water_safe: f("water_safe"),
        water_quantity: f("water_quantity"),
        water_quality: f("water_quality"),
        water_convenience: f("water_convenience"),
        water_reliability: f("water_reliability"),
        food_clothing_secure: f("food_clothing_secure"),
        food_clothing_note: f("food_clothing_note"),
        military_family: f("military_family"),
        no_labour_safety_net: f("no_labour_safety_net"),
        relocated: f("relocated"),
        officer_name: f("officer_name"),
        officer_unit: f("officer_unit"),
        officer_phone: f("officer_phone"),
        declared_size: f("declared_size"),
    }
}

fn form_version(form: &HashMap<String, String>) -> i64 {
    form.get("version").and_then(|v| v.parse().ok()).unwrap_or(-1)
}

pub async fn edit_form(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(no): Path<String>,
) -> Result<Response, PageError> {
    require(&a, Permission::EditHouseholds)?;
    let no = parse_no(&no)?;
    // the form shows the full phone numbers: an audited view like the detail page
    let d = service::view_household(&state.db, state.clock.now(), &a.scope, &a.actor(), &no).await?;
    let tpl = EditPage {
        chrome: Chrome::new(&state, &a, &headers).await,
        action: format!("/households/{no}/edit"),
        no: no.to_string(),
        version: d.record.version,
        groups: household_groups(&HouseholdInput::from_household(&d.record.household)),
        problems: Vec::new(),
        conflict: false,
    };
    render(&tpl, &tpl.chrome)
}

pub async fn edit_submit(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(no): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let no = parse_no(&no)?;
    let input = household_input(&form);
    let version = form_version(&form);
    let res = service::update_household(&state.db, state.clock.now(), &a.scope, &a.actor(), &no, version, &input).await;
    let (errs, conflict, version) = match res {
        Ok(_) => {
            let screened = super::findings::rescreen(&state, &a, &no).await;
            return Ok(redirect_with_flash(&format!("/households/{no}"), &format!("已保存{screened}")));
        }
        Err(EditError::Invalid(e)) => (e, false, version),
        Err(EditError::Conflict { current }) => (FieldErrors::default(), true, current),
        Err(e) => return Err(e.into()),
    };
    let mut groups = household_groups(&input);
    let problems = attach_errors(&mut groups, &errs);
    let tpl = EditPage {
        chrome: Chrome::new(&state, &a, &headers).await,
        action: format!("/households/{no}/edit"),
        no: no.to_string(),
        version,
        groups,
        problems,
        conflict,
    };
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
}

// ------------------------------------------------------------------ members

#[derive(Template)]
#[template(path = "member_edit.html")]
struct MemberPage {
    chrome: Chrome,
    no: String,
    version: i64,
    title: String,
    action: String,
    groups: Vec<FieldGroup>,
    problems: Vec<String>,
    conflict: bool,
}

fn member_groups(i: &MemberInput, previous_head: &str, show_previous_head: bool) -> Vec<FieldGroup> {
    let mut basic = vec![
        FormField::text("name", "姓名", &i.name).required(),
        FormField::text("national_id", "证件号码", &i.national_id)
            .required()
            .help("18位公民身份号码；残疾人可填20或22位残疾人证号"),
        FormField::select::<Relation>("relation", "与户主关系", &i.relation, false).required(),
    ];
    if show_previous_head {
        let choices: Vec<(String, String)> = Relation::ALL
            .iter()
            .filter(|r| **r != Relation::Head)
            .map(|r| (r.label().to_string(), r.label().to_string()))
            .collect();
        basic.push(
            FormField::choices("previous_head_relation", "原户主改为", previous_head, true, choices)
                .help("仅在把此人设为户主时填写：原户主在户内的新关系"),
        );
    }
    basic.extend([
        FormField::select::<Sex>("sex", "性别", &i.sex, true).help("留空则按证件号码"),
        FormField::choices(
            "ethnicity",
            "民族",
            &i.ethnicity,
            false,
            ETHNIC_GROUPS.iter().map(|e| (e.to_string(), e.to_string())).collect(),
        )
        .required(),
        FormField::select::<PoliticalStatus>("political_status", "政治面貌", &i.political_status, true),
    ]);
    vec![
        FieldGroup { title: "基本信息".into(), fields: basic },
        FieldGroup {
            title: "教育和健康".into(),
            fields: vec![
                FormField::select::<Education>("education", "文化程度", &i.education, true).help("在校学生不填"),
                FormField::select::<SchoolStatus>("school_status", "在校生状况", &i.school_status, true)
                    .help("仅在校学生填写"),
                FormField::text("dropout_reason", "失学或辍学原因", &i.dropout_reason),
                FormField::text("health", "健康状况", &i.health)
                    .required()
                    .help("健康、长期慢性病、患有大病、残疾；可用逗号组合"),
                FormField::select::<DisabilityClass>("disability_class", "残疾类别", &i.disability_class, true),
            ],
        },
        FieldGroup {
            title: "劳动和务工".into(),
            fields: vec![
                FormField::select::<LabourSkill>("labour_skill", "劳动技能", &i.labour_skill, false).required(),
                FormField::text("work_months", "务工月数", &i.work_months).kind("number").help("0–12"),
                FormField::text("work_place", "务工地点", &i.work_place),
            ],
        },
        FieldGroup {
            title: "保障".into(),
            fields: vec![
                FormField::yes_no("resident_medical", "是否参加城乡居民基本医疗保险", &i.resident_medical, false),
                FormField::yes_no("employee_medical", "是否参加城镇职工基本医疗保险", &i.employee_medical, false),
                FormField::yes_no("resident_pension", "是否参加城乡居民基本养老保险", &i.resident_pension, true),
                FormField::yes_no("employee_pension", "是否参加城镇职工基本养老保险", &i.employee_pension, true),
                FormField::yes_no("dibao", "是否享受低保", &i.dibao, false),
                FormField::yes_no("tekun", "是否特困供养", &i.tekun, false),
            ],
        },
    ]
}

fn member_input(form: &HashMap<String, String>) -> MemberInput {
    let f = |k: &str| form.get(k).cloned().unwrap_or_default();
    MemberInput {
        name: f("name"),
        national_id: f("national_id"),
        relation: f("relation"),
        sex: f("sex"),
        ethnicity: f("ethnicity"),
        political_status: f("political_status"),
        education: f("education"),
        school_status: f("school_status"),
        dropout_reason: f("dropout_reason"),
        health: f("health"),
        disability_class: f("disability_class"),
        labour_skill: f("labour_skill"),
        work_months: f("work_months"),
        work_place: f("work_place"),
        resident_medical: f("resident_medical"),
        employee_medical: f("employee_medical"),
        resident_pension: f("resident_pension"),
        employee_pension: f("employee_pension"),
        dibao: f("dibao"),
        tekun: f("tekun"),
    }
}

fn new_member_defaults() -> MemberInput {
    MemberInput {
        ethnicity: "汉族".into(),
        health: "健康".into(),
        labour_skill: "普通劳动力".into(),
        resident_medical: "是".into(),
        employee_medical: "否".into(),
        dibao: "否".into(),
        tekun: "否".into(),
        ..Default::default()
    }
}

async fn member_page(
    state: &AppState,
    a: &crate::auth::Authed,
    headers: &HeaderMap,
    no: &HouseholdNo,
    member_id: Option<i64>,
) -> Result<(MemberPage, MemberInput), PageError> {
    require(a, Permission::EditHouseholds)?;
    // the form shows a member's full ID number: an audited view
    let d = service::view_household(&state.db, state.clock.now(), &a.scope, &a.actor(), no).await?;
    let (input, title, action) = match member_id {
        None => (new_member_defaults(), "新增成员".to_string(), format!("/households/{no}/members/new")),
        Some(id) => {
            let m = d.members.iter().find(|m| m.id.0 == id).ok_or(PageError::NotFound)?;
            (
                MemberInput::from_member(&m.member),
                format!("修改成员：{}", m.member.name),
                format!("/households/{no}/members/{id}/edit"),
            )
        }
    };
    let page = MemberPage {
        chrome: Chrome::new(state, a, headers).await,
        no: no.to_string(),
        version: d.record.version,
        title,
        action,
        groups: member_groups(&input, "", d.head().is_some() && input.relation != Relation::Head.label()),
        problems: Vec::new(),
        conflict: false,
    };
    Ok((page, input))
}

pub async fn member_new(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(no): Path<String>,
) -> Result<Response, PageError> {
    let (page, _) = member_page(&state, &a, &headers, &parse_no(&no)?, None).await?;
    render(&page, &page.chrome)
}

pub async fn member_edit(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path((no, id)): Path<(String, i64)>,
) -> Result<Response, PageError> {
    let (page, _) = member_page(&state, &a, &headers, &parse_no(&no)?, Some(id)).await?;
    render(&page, &page.chrome)
}

async fn member_save(
    state: AppState,
    a: crate::auth::Authed,
    headers: HeaderMap,
    no: String,
    member_id: Option<i64>,
    form: HashMap<String, String>,
) -> Result<Response, PageError> {
    let no = parse_no(&no)?;
    let input = member_input(&form);
    let version = form_version(&form);
    let prev = form.get("previous_head_relation").cloned().unwrap_or_default();
    let res = service::save_member(
        &state.db,
        state.clock.now(),
        &a.scope,
        &a.actor(),
        &no,
        version,
        member_id.map(MemberId),
        &input,
        Some(prev.as_str()),
    )
    .await;
    let (errs, conflict) = match res {
        Ok(_) => {
            return Ok(redirect_with_flash(&format!("/households/{no}"), &format!("已保存成员 {}", input.name.trim())));
        }
        Err(EditError::Invalid(e)) => (e, false),
        Err(EditError::Conflict { .. }) => (FieldErrors::default(), true),
        Err(e) => return Err(e.into()),
    };
    let (mut page, _) = member_page(&state, &a, &headers, &no, member_id).await?;
    let show_prev = page.groups[0].fields.iter().any(|f| f.name == "previous_head_relation");
    page.groups = member_groups(&input, &prev, show_prev);
    page.problems = attach_errors(&mut page.groups, &errs);
    page.conflict = conflict;
    if !conflict {
        // keep the version the user started from: a real conflict must still be detected
        page.version = version;
    }
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &page, &page.chrome)
}

pub async fn member_create(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(no): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    member_save(state, a, headers, no, None, form).await
}

pub async fn member_update(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path((no, id)): Path<(String, i64)>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    member_save(state, a, headers, no, Some(id), form).await
}

#[derive(Template)]
#[template(path = "member_remove.html")]
struct RemovePage {
    chrome: Chrome,
    no: String,
    id: i64,
    name: String,
    version: i64,
    reason: String,
    error: Option<String>,
}

pub async fn member_remove_form(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path((no, id)): Path<(String, i64)>,
) -> Result<Response, PageError> {
    require(&a, Permission::EditHouseholds)?;
    let no = parse_no(&no)?;
    let d = state.db.household(&a.scope, &no).await?.ok_or(PageError::NotFound)?;
    let m = d.members.iter().find(|m| m.id.0 == id).ok_or(PageError::NotFound)?;
    let tpl = RemovePage {
        chrome: Chrome::new(&state, &a, &headers).await,
        no: no.to_string(),
        id,
        name: m.member.name.to_string(),
        version: d.record.version,
        reason: String::new(),
        error: None,
    };
    render(&tpl, &tpl.chrome)
}

pub async fn member_remove(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path((no, id)): Path<(String, i64)>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let no = parse_no(&no)?;
    let reason = form.get("reason").cloned().unwrap_or_default();
    let version = form_version(&form);
    let res =
        service::remove_member(&state.db, state.clock.now(), &a.scope, &a.actor(), &no, version, MemberId(id), &reason)
            .await;
    let error = match res {
        Ok(_) => {
            let screened = super::findings::rescreen(&state, &a, &no).await;
            return Ok(redirect_with_flash(&format!("/households/{no}"), &format!("已移除成员{screened}")));
        }
        Err(EditError::Invalid(e)) => e.0.first().map(|e| e.message.clone()),
        Err(EditError::Conflict { .. }) => Some("该户已被他人修改，请返回刷新后再操作".to_string()),
        Err(e) => return Err(e.into()),
    };
    let d = state.db.household(&a.scope, &no).await?.ok_or(PageError::NotFound)?;
    let name = d.members.iter().find(|m| m.id.0 == id).map(|m| m.member.name.to_string()).unwrap_or_default();
    let tpl = RemovePage {
        chrome: Chrome::new(&state, &a, &headers).await,
        no: no.to_string(),
        id,
        name,
        version,
        reason,
        error,
    };
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
}
