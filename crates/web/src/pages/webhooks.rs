//! 通知网关 (administrators): webhooks that forward the notifications of a role or a line
//! department within a region to an SMS / WeChat gateway.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use domain::account::{Permission, Role};
use domain::measure::Department;
use domain::notify::NewWebhook;
use domain::ports::NotificationStore;
use domain::region::RegionCode;
use serde::Deserialize;

use super::{Chrome, FormField, redirect_with_flash, render, render_status, require};
use crate::AppState;
use crate::auth::{Authed, PageAuth};
use crate::error::PageError;

pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/webhooks", get(page).post(add)).route("/admin/webhooks/{id}/disable", post(disable))
}

pub struct HookLine {
    pub id: i64,
    pub target: String,
    pub region: String,
    pub url: String,
    pub active: bool,
    pub by: String,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    chrome: Chrome,
    hooks: Vec<HookLine>,
    fields: Vec<FormField>,
    error: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HookForm {
    role: String,
    department: String,
    region: String,
    url: String,
}

async fn webhooks_page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    f: &HookForm,
    error: Option<String>,
) -> Result<WebhooksPage, PageError> {
    let regions = state.regions.get().await;
    let hooks = state
        .db
        .webhooks()
        .await?
        .iter()
        .filter(|h| a.scope.contains(h.region))
        .map(|h| HookLine {
            id: h.id,
            target: match (h.department, h.role) {
                (Some(d), _) => format!("行业部门：{d}"),
                (None, Some(r)) => r.label().to_string(),
                (None, None) => String::new(),
            },
            region: regions.name(h.region),
            url: h.url.clone(),
            active: h.active,
            by: format!("{} {}", h.created_by, crate::views::china_time(h.created_at)),
        })
        .collect();
    let roles: Vec<(String, String)> = Role::ALL
        .iter()
        .filter(|r| !matches!(r, Role::Admin | Role::DepartmentStaff))
        .map(|r| (r.key().to_string(), r.label().to_string()))
        .collect();
    let region = if f.region.is_empty() { a.user.region.to_string() } else { f.region.clone() };
    Ok(WebhooksPage {
        chrome: Chrome::new(state, a, headers).await,
        hooks,
        fields: vec![
            FormField::choices("role", "接收角色", &f.role, true, roles).help("或选择下面的行业部门"),
            FormField::select::<Department>("department", "行业部门", &f.department, true),
            FormField::choices("region", "区域", &region, false, super::admin::region_choices(state, a).await),
            FormField::text("url", "网关地址", &f.url).required().help(
                "如 http://10.0.0.5:8000/sms；收到的是 JSON：id、text、link、region、role、department、created_at",
            ),
        ],
        error,
    })
}

pub async fn page(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    require(&a, Permission::ManageUsers)?;
    let tpl = webhooks_page(&state, &a, &headers, &HookForm::default(), None).await?;
    render(&tpl, &tpl.chrome)
}

pub async fn add(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    axum::Form(f): axum::Form<HookForm>,
) -> Result<Response, PageError> {
    require(&a, Permission::ManageUsers)?;
    let region = RegionCode::parse(&f.region).ok().filter(|r| a.scope.contains(*r));
    let checked = match region {
        None => Err("请选择您管辖范围内的区域".to_string()),
        Some(region) => {
            NewWebhook::check(Role::from_key(&f.role), Department::parse_label(&f.department), region, &f.url)
                .map_err(|e| e.to_string())
        }
    };
    match checked {
        Ok(hook) => {
            let h = state.db.add_webhook(&a.actor(), state.clock.now(), &hook).await?;
            Ok(redirect_with_flash("/admin/webhooks", &format!("已添加通知网关 #{}：此后的通知将转发到该地址", h.id)))
        }
        Err(e) => {
            let tpl = webhooks_page(&state, &a, &headers, &f, Some(e)).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
        }
    }
}

pub async fn disable(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    require(&a, Permission::ManageUsers)?;
    let hooks = state.db.webhooks().await?;
    let h = hooks.iter().find(|h| h.id == id && a.scope.contains(h.region)).ok_or(PageError::NotFound)?;
    state.db.disable_webhook(&a.actor(), state.clock.now(), h.id).await?;
    Ok(redirect_with_flash("/admin/webhooks", &format!("已停用通知网关 #{id}")))
}
