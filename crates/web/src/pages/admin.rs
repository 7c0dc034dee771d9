//! Administration: users, policy parameters and the audit log (role 系统管理员).

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use domain::account::{Permission, Role, User, UserId};
use domain::params::{ParamName, PolicyParam};
use domain::ports::{AuditFilter, AuditStore, ParamStore, UserStore};
use domain::region::{RegionCode, RegionLevel};
use serde::Deserialize;

use super::{Chrome, FormField, Opt, redirect_with_flash, render, render_status, require};
use crate::AppState;
use crate::auth::{self, AccountError, Authed, PageAuth};
use crate::error::PageError;
use crate::views::china_time;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users).post(user_create))
        .route("/admin/users/{id}", get(user_edit).post(user_update))
        .route("/admin/users/{id}/password", post(user_password))
        .route("/admin/users/{id}/unlock", post(user_unlock))
        .route("/admin/params", get(params).post(param_set))
        .route("/admin/audit", get(audit))
        .route("/admin/audit/verify", post(audit_verify))
}

/// Regions the administrator may assign, indented by level.
pub(crate) async fn region_choices(state: &AppState, a: &Authed) -> Vec<(String, String)> {
    let regions = state.regions.get().await;
    regions
        .sorted
        .iter()
        .filter(|r| a.scope.contains(r.code) || a.scope.is_system())
        .map(|r| {
            let indent = "　".repeat(r.level() as usize - 1);
            (r.code.to_string(), format!("{indent}{}（{}）", r.name, r.level().label()))
        })
        .collect()
}

fn role_choices() -> Vec<(String, String)> {
    Role::ALL.iter().map(|r| (r.key().to_string(), r.label().to_string())).collect()
}

pub struct UserLine {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub region: String,
    pub status: String,
}

fn user_status(u: &User, now: chrono::DateTime<chrono::Utc>) -> String {
    if !u.active {
        "已停用".into()
    } else if u.is_locked(now) {
        format!("锁定至 {}", china_time(u.locked_until.unwrap_or(now)))
    } else if u.failed_logins > 0 {
        format!("正常（密码错误{}次）", u.failed_logins)
    } else {
        "正常".into()
    }
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    chrome: Chrome,
    users: Vec<UserLine>,
    fields: Vec<FormField>,
    error: Option<String>,
}

fn new_user_fields(f: &NewUserForm, regions: Vec<(String, String)>) -> Vec<FormField> {
    vec![
        FormField::text("username", "用户名", &f.username).required().help("3–32位字母、数字、下划线"),
        FormField::text("display_name", "姓名", &f.display_name),
        FormField::choices("role", "角色", &f.role, false, role_choices()).required(),
        FormField::choices("region", "管辖区划", &f.region, false, regions).required(),
        FormField::text("password", "初始密码", "")
            .kind("password")
            .required()
            .help("至少8位，含大写、小写、数字、符号中的三类"),
        FormField::text("confirm", "确认密码", "").kind("password").required(),
    ]
}

async fn users_page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    form: &NewUserForm,
    error: Option<String>,
) -> Result<UsersPage, PageError> {
    let regions = state.regions.get().await;
    let now = state.clock.now();
    let users = state
        .db
        .list_users(&a.scope)
        .await?
        .iter()
        .map(|u| UserLine {
            id: u.id.0,
            username: u.username.to_string(),
            display_name: u.display_name.clone(),
            role: u.role.label().to_string(),
            region: regions.name(u.region),
            status: user_status(u, now),
        })
        .collect();
    Ok(UsersPage {
        chrome: Chrome::new(state, a, headers).await,
        users,
        fields: new_user_fields(form, region_choices(state, a).await),
        error,
    })
}

pub async fn users(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    require(&a, Permission::ManageUsers)?;
    let tpl = users_page(&state, &a, &headers, &NewUserForm::default(), None).await?;
    render(&tpl, &tpl.chrome)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewUserForm {
    username: String,
    display_name: String,
    role: String,
    region: String,
    password: String,
    confirm: String,
}

pub async fn user_create(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Form(f): Form<NewUserForm>,
) -> Result<Response, PageError> {
    require(&a, Permission::ManageUsers)?;
    let result = async {
        let role = Role::from_key(&f.role).ok_or_else(|| AccountError::Invalid("请选择角色".into()))?;
        let region = RegionCode::parse(&f.region).map_err(|e| AccountError::Invalid(e.to_string()))?;
        if !a.scope.contains(region) {
            return Err(AccountError::Invalid("只能在您的管辖范围内创建用户".into()));
        }
        if f.password != f.confirm {
            return Err(AccountError::Invalid("两次输入的密码不一致".into()));
        }
        auth::create_user(
            &state.db,
            &a.actor(),
            state.clock.now(),
            &f.username,
            &f.display_name,
            role,
            region,
            &f.password,
        )
        .await
    }
    .await;
    match result {
        Ok(u) => Ok(redirect_with_flash("/admin/users", &format!("已创建用户 {}", u.username))),
        Err(AccountError::Invalid(m)) => {
            let tpl = users_page(&state, &a, &headers, &f, Some(m)).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
        }
        Err(AccountError::Store(domain::ports::StoreError::Duplicate(m))) => {
            let tpl = users_page(&state, &a, &headers, &f, Some(m)).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
        }
        Err(AccountError::Store(e)) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "user_edit.html")]
struct UserEditPage {
    chrome: Chrome,
    id: i64,
    username: String,
    status: String,
    locked: bool,
    fields: Vec<FormField>,
    active: bool,
    error: Option<String>,
}

async fn load_user(state: &AppState, a: &Authed, id: i64) -> Result<User, PageError> {
    require(a, Permission::ManageUsers)?;
    let u = state.db.user(UserId(id)).await?.ok_or(PageError::NotFound)?;
    if !a.scope.contains(u.region) {
        return Err(PageError::NotFound);
    }
    Ok(u)
}

async fn user_edit_page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    u: &User,
    error: Option<String>,
) -> Result<UserEditPage, PageError> {
    let now = state.clock.now();
    let department = domain::ports::DepartmentTaskStore::user_department(&state.db, u.id).await?;
    Ok(UserEditPage {
        chrome: Chrome::new(state, a, headers).await,
        id: u.id.0,
        username: u.username.to_string(),
        status: user_status(u, now),
        locked: u.is_locked(now) || u.failed_logins > 0,
        fields: vec![
            FormField::text("display_name", "姓名", &u.display_name),
            FormField::choices("role", "角色", u.role.key(), false, role_choices()),
            FormField::choices("region", "管辖区划", &u.region.to_string(), false, region_choices(state, a).await),
            FormField::select::<domain::measure::Department>(
                "department",
                "行业部门",
                department.map(|d| d.label()).unwrap_or(""),
                true,
            )
            .help("仅“行业部门”角色：只看到并办理本部门的任务清单"),
        ],
        active: u.active,
        error,
    })
}

pub async fn user_edit(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let u = load_user(&state, &a, id).await?;
    let tpl = user_edit_page(&state, &a, &headers, &u, None).await?;
    render(&tpl, &tpl.chrome)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct UserUpdateForm {
    display_name: String,
    role: String,
    region: String,
    active: String,
    department: String,
}

pub async fn user_update(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<UserUpdateForm>,
) -> Result<Response, PageError> {
    let u = load_user(&state, &a, id).await?;
    let role = Role::from_key(&f.role);
    let region = RegionCode::parse(&f.region).ok().filter(|r| a.scope.contains(*r));
    let active = f.active == "on" || f.active == "是";
    let error = match (role, region) {
        (None, _) => Some("请选择角色".to_string()),
        (_, None) => Some("请选择您管辖范围内的区划".to_string()),
        _ if u.id == a.user.id && (!active || role != Some(Role::Admin)) => {
            Some("不能停用自己或取消自己的管理员角色（以免无人管理系统）".to_string())
        }
        (Some(Role::DepartmentStaff), _) if domain::measure::Department::parse_label(&f.department).is_none() => {
            Some("“行业部门”角色须选择所属部门".to_string())
        }
        _ => None,
    };
    if let Some(e) = error {
        let tpl = user_edit_page(&state, &a, &headers, &u, Some(e)).await?;
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome);
    }
    let (Some(role), Some(region)) = (role, region) else { return Err(PageError::BadRequest("参数错误".into())) };
    state.db.update_user(&a.actor(), state.clock.now(), u.id, &f.display_name, role, region, active).await?;
    let department = domain::measure::Department::parse_label(&f.department).filter(|_| role == Role::DepartmentStaff);
    let before = domain::ports::DepartmentTaskStore::user_department(&state.db, u.id).await?;
    if before != department {
        domain::ports::DepartmentTaskStore::set_user_department(
            &state.db,
            &a.actor(),
            state.clock.now(),
            u.id,
            department,
        )
        .await?;
    }
    Ok(redirect_with_flash(&format!("/admin/users/{id}"), "已保存"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ResetForm {
    password: String,
    confirm: String,
}

pub async fn user_password(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<ResetForm>,
) -> Result<Response, PageError> {
    let u = load_user(&state, &a, id).await?;
    let res = if f.password != f.confirm {
        Err(AccountError::Invalid("两次输入的密码不一致".into()))
    } else {
        auth::reset_password(&state.db, &a.actor(), state.clock.now(), &u, &f.password).await
    };
    match res {
        Ok(()) => Ok(redirect_with_flash(&format!("/admin/users/{id}"), "已重设密码，该用户需用新密码重新登录")),
        Err(AccountError::Invalid(m)) => {
            let tpl = user_edit_page(&state, &a, &headers, &u, Some(m)).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
        }
        Err(AccountError::Store(e)) => Err(e.into()),
    }
}

pub async fn user_unlock(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let u = load_user(&state, &a, id).await?;
    let e = domain::audit::AuditEntry::new(
        state.clock.now(),
        &a.actor(),
        domain::audit::AuditAction::Update,
        "user",
        u.id.0,
    )
    .note(format!("解锁用户 {}", u.username));
    state.db.reset_login_failures(u.id, &[e]).await?;
    Ok(redirect_with_flash(&format!("/admin/users/{id}"), "已解锁"))
}

// ------------------------------------------------------------------ params

pub struct ParamLine {
    pub year: i32,
    pub region: String,
    pub name: String,
    pub version: i32,
    pub value: String,
    pub example: bool,
    pub note: String,
    pub set_by: String,
    pub set_at: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "params.html")]
struct ParamsPage {
    chrome: Chrome,
    lines: Vec<ParamLine>,
    /// Every parameter with what applies when no region sets it.
    defaults: Vec<(String, String, String)>,
    fields: Vec<FormField>,
    example: bool,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ParamForm {
    year: String,
    region: String,
    /// The parameter's key; the monitoring line when empty (the form's first use).
    name: String,
    value: String,
    example: String,
    note: String,
}

async fn params_page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    f: &ParamForm,
    error: Option<String>,
) -> Result<ParamsPage, PageError> {
    let regions = state.regions.get().await;
    let all = state.db.params(None).await?;
    let is_current = |p: &PolicyParam| {
        !all.iter().any(|q| q.year == p.year && q.region == p.region && q.name == p.name && q.version > p.version)
    };
    let lines = all
        .iter()
        .rev()
        .map(|p| ParamLine {
            year: p.year,
            region: regions.name(p.region),
            name: p.name.label().to_string(),
            version: p.version,
            value: p.name.display_value(p.value),
            example: p.example,
            note: p.note.clone(),
            set_by: p.set_by.clone(),
            set_at: china_time(p.set_at),
            current: is_current(p),
        })
        .collect();
    let region_opts: Vec<(String, String)> = region_choices(state, a)
        .await
        .into_iter()
        .filter(|(c, _)| RegionCode::parse(c).is_ok_and(|r| r.level() <= RegionLevel::Town))
        .collect();
    let year =
        if f.year.is_empty() { chrono::Datelike::year(&state.clock.today()).to_string() } else { f.year.clone() };
    let name = ParamName::from_key(&f.name).unwrap_or(ParamName::MonitoringLine);
    let names = ParamName::ALL
        .iter()
        .map(|n| {
            let unit = if n.unit().is_empty() { String::new() } else { format!("（{}）", n.unit()) };
            (n.key().to_string(), format!("{}{unit}", n.label()))
        })
        .collect();
    let value_help = ParamName::ALL
        .iter()
        .filter_map(|n| n.choices().map(|c| (n, c)))
        .map(|(n, c)| {
            let opts: Vec<String> = c.iter().map(|(v, l)| format!("{v}={l}")).collect();
            format!("{}：{}", n.label(), opts.join("，"))
        })
        .collect::<Vec<_>>()
        .join("；");
    let defaults = ParamName::ALL
        .iter()
        .map(|n| {
            let d = n.shipped_default().map_or("无（须设定，不会猜测）".to_string(), |v| n.display_value(v));
            (n.label().to_string(), n.key().to_string(), d)
        })
        .collect();
    Ok(ParamsPage {
        chrome: Chrome::new(state, a, headers).await,
        lines,
        defaults,
        fields: vec![
            FormField::text("year", "政策年度", &year).kind("number").required(),
            FormField::choices("region", "适用区划", &f.region, false, region_opts)
                .required()
                .help("对该区划及其下级生效，下级可另设"),
            FormField::choices("name", "参数", name.key(), false, names).required(),
            FormField::text("value", "值", &f.value)
                .required()
                .help(&format!("金额填元，天数填整数；开关类填编号或文字（{value_help}）")),
            FormField::text("note", "依据或说明", &f.note).help("如 文件名称、文号"),
        ],
        example: f.example == "on",
        error,
    })
}

pub async fn params(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    require(&a, Permission::SetParams)?;
    let tpl = params_page(&state, &a, &headers, &ParamForm::default(), None).await?;
    render(&tpl, &tpl.chrome)
}

pub async fn param_set(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Form(f): Form<ParamForm>,
) -> Result<Response, PageError> {
    require(&a, Permission::SetParams)?;
    let parsed = (|| {
        let year: i32 = f
            .year
            .trim()
            .parse()
            .ok()
            .filter(|y| (2015..=2100).contains(y))
            .ok_or("政策年度应为四位年份，如 2022".to_string())?;
        let region = RegionCode::parse(&f.region).map_err(|_| "请选择适用区划".to_string())?;
        if !a.scope.contains(region) {
            return Err("只能为您管辖范围内的区划设定参数".to_string());
        }
        // an empty name is the form's first use (the monitoring line); an unknown one is refused
        let name = match f.name.trim() {
            "" => ParamName::MonitoringLine,
            n => ParamName::from_key(n).ok_or_else(|| format!("没有参数“{n}”：请从列表中选择"))?,
        };
        let value = domain::params::parse_value(name, &f.value).map_err(|e| e.to_string())?;
        Ok::<_, String>((year, region, name, value))
    })();
    match parsed {
        Ok((year, region, name, value)) => {
            let p = state
                .db
                .set_param(&a.actor(), state.clock.now(), year, region, name, value, f.example == "on", f.note.trim())
                .await?;
            Ok(redirect_with_flash(
                "/admin/params",
                &format!("已设定{}年{}为{}（第{}版）", p.year, name.label(), name.display_value(p.value), p.version),
            ))
        }
        Err(m) => {
            let tpl = params_page(&state, &a, &headers, &f, Some(m.to_string())).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
        }
    }
}

// ------------------------------------------------------------------ audit

pub struct AuditLine {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    lines: Vec<AuditLine>,
    entity_id: String,
    older: Option<String>,
    entities: Vec<Opt>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AuditQuery {
    entity: String,
    entity_id: String,
    before: String,
}

pub async fn audit(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    require(&a, Permission::ViewAudit)?;
    let filter = AuditFilter {
        entity: Some(q.entity.clone()).filter(|s| !s.is_empty()),
        entity_id: Some(q.entity_id.trim().to_string()).filter(|s| !s.is_empty()),
        actor_id: None,
        before_id: q.before.parse().ok(),
        // an administrator of a county sees its rows; rows without a region only at province level
        region_range: Some(a.scope.range()),
        include_unregioned: a.scope.region().is_none_or(|r| r.level() == domain::region::RegionLevel::Province),
    };
    let rows = state.db.audit_rows(&filter, 100).await?;
    let older = (rows.len() == 100).then(|| rows.last().map(|r| r.id)).flatten().map(|id| {
        format!(
            "/admin/audit?entity={}&entity_id={}&before={id}",
            urlencoding::encode(&q.entity),
            urlencoding::encode(&q.entity_id)
        )
    });
    let names = [
        ("", "全部"),
        ("household", "农户"),
        ("user", "用户"),
        ("import", "导入"),
        ("export", "导出"),
        ("param", "参数"),
        ("region", "区划"),
    ];
    let tpl = AuditPage {
        chrome: Chrome::new(&state, &a, &headers).await,
        lines: rows
            .into_iter()
            .map(|r| AuditLine {
                id: r.id,
                at: china_time(r.entry.at),
                actor: r.entry.actor_name,
                action: r.entry.action.label().to_string(),
                entity: format!("{} {}", r.entry.entity, r.entry.entity_id),
                note: r.entry.note,
            })
            .collect(),
        entities: names
            .iter()
            .map(|(v, l)| Opt { value: v.to_string(), label: l.to_string(), selected: *v == q.entity })
            .collect(),
        entity_id: q.entity_id,
        older,
    };
    render(&tpl, &tpl.chrome)
}

pub async fn audit_verify(State(state): State<AppState>, PageAuth(a): PageAuth) -> Result<Response, PageError> {
    require(&a, Permission::ViewAudit)?;
    let msg = match store::verify_audit(&state.db).await {
        Ok(v) => format!(
            "审计日志完整：已校验 {} 条记录，哈希链无断裂。最后一条为第 {} 条，哈希 {}（请另行记下，以便日后发现末尾记录被删除）",
            v.rows, v.last_id, v.last_hash
        ),
        Err(store::AuditVerifyError::Broken(b)) => format!("审计日志被改动：{b}"),
        Err(store::AuditVerifyError::Store(e)) => return Err(e.into()),
    };
    Ok(redirect_with_flash("/admin/audit", &msg))
}
