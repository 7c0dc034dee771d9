//! HTML pages in Simplified Chinese. Forms post and redirect (PRG) with a flash message; a
//! form that fails validation is shown again with what the user typed and a message next to
//! each field.

pub mod admin;
pub mod alerts;
pub mod assistance;
pub mod calendar;
pub mod campaigns;
pub mod cases;
pub mod dashboard;
pub mod department_tasks;
pub mod findings;
pub mod households;
pub mod login;
pub mod measures;
pub mod national;
pub mod notice;
pub mod quality;
pub mod questions;
pub mod summary;
pub mod supervision;
pub mod trace;
pub mod transfer;
pub mod visits;
pub mod webhooks;

use askama::Template;
use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use domain::account::Permission;
use domain::codes::CodeEnum;
use domain::fields::FieldErrors;

use crate::AppState;
use crate::auth::{Authed, PageAuth, clear_cookie, cookie};
use crate::error::PageError;

pub const FLASH_COOKIE: &str = "fp_flash";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login::show).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/account/password", get(login::password_form).post(login::password_submit))
        .route("/households", get(households::list))
        .route("/households/{no}", get(households::detail))
        .route("/households/{no}/edit", get(households::edit_form).post(households::edit_submit))
        .route("/households/{no}/members/new", get(households::member_new).post(households::member_create))
        .route("/households/{no}/members/{id}/edit", get(households::member_edit).post(households::member_update))
        .route(
            "/households/{no}/members/{id}/remove",
            get(households::member_remove_form).post(households::member_remove),
        )
        .merge(transfer::routes())
        .merge(findings::routes())
        .merge(campaigns::routes())
        .merge(visits::routes())
        .merge(calendar::routes())
        .merge(cases::routes())
        .merge(assistance::routes())
        .merge(measures::routes())
        .merge(department_tasks::routes())
        .merge(alerts::routes())
        .merge(quality::routes())
        .merge(dashboard::routes())
        .merge(supervision::routes())
        .merge(summary::routes())
        .merge(notice::routes())
        .merge(national::routes())
        .route("/trace/{kind}/{id}", get(trace::page))
        .merge(questions::routes())
        .merge(webhooks::routes())
        .merge(admin::routes())
}

/// Each role opens to what is theirs: a screener to their tasks, the administrator to the
/// registry, everyone else to their inbox (due today, this week, overdue).
async fn home(PageAuth(a): PageAuth) -> Redirect {
    use domain::account::Role;
    match a.user.role {
        Role::Screener => Redirect::to("/tasks"),
        Role::Admin => Redirect::to("/households"),
        // a leader follows the whole region, read-only: the dashboard is their first page
        Role::Leader => Redirect::to("/dashboard"),
        _ => Redirect::to("/inbox"),
    }
}

pub async fn not_found() -> PageError {
    PageError::NotFound
}

/// What every page's frame needs: who is logged in, what they may open, the CSRF token and
/// the flash message of the previous action.
pub struct Chrome {
    pub logged_in: bool,
    pub user_name: String,
    pub role_label: String,
    pub region_name: String,
    pub csrf: String,
    pub flash: Option<String>,
    pub can_import: bool,
    pub can_export: bool,
    pub is_admin: bool,
    pub can_screen: bool,
    /// The role visits households (has "my tasks").
    pub has_tasks: bool,
    pub can_review: bool,
    /// The role records steps of the identification procedure (or follows them).
    pub has_cases: bool,
    /// The role registers clues (线索登记).
    pub can_clue: bool,
    pub can_assign_officers: bool,
    pub is_department: bool,
    /// The role proposes eliminations (提出风险消除).
    pub can_propose: bool,
    /// The town's deadline page and every department's task list (not for roles limited to
    /// their own work).
    pub sees_overview: bool,
    /// Department alerts (部门预警): the town, villages and county follow them, a department its own.
    pub sees_alerts: bool,
    /// 倒查: who screened, reviewed and approved a finding, a visit or a case.
    pub can_trace: bool,
    pub today: String,
}

impl Chrome {
    pub async fn new(state: &AppState, a: &Authed, headers: &HeaderMap) -> Chrome {
        let regions = state.regions.get().await;
        Chrome {
            logged_in: true,
            user_name: if a.user.display_name.is_empty() {
                a.user.username.to_string()
            } else {
                a.user.display_name.clone()
            },
            role_label: a.user.role.label().to_string(),
            region_name: regions.name(a.user.region),
            csrf: a.csrf.clone(),
            flash: flash(headers),
            can_import: a.scope.allows(Permission::ImportHouseholds),
            can_export: a.scope.allows(Permission::ExportHouseholds),
            is_admin: a.scope.allows(Permission::ManageUsers),
            can_screen: a.scope.allows(Permission::Screen),
            has_tasks: domain::service::may_screen(a.user.role),
            can_review: a.scope.allows(Permission::ReviewVisits),
            has_cases: cases::takes_part(a.user.role),
            can_clue: domain::procedure::Step::Clue.allows(a.user.role),
            can_assign_officers: a.scope.allows(Permission::AssignOfficers),
            is_department: a.user.role == domain::account::Role::DepartmentStaff,
            can_propose: domain::procedure::Step::Proposal.allows(a.user.role),
            sees_overview: cases::takes_part(a.user.role) && a.scope.own_tasks_only().is_none(),
            sees_alerts: a.scope.own_tasks_only().is_none(),
            can_trace: domain::trace::may_trace(&a.scope),
            today: state.clock.today().to_string(),
        }
    }

    pub fn anonymous(state: &AppState, csrf: String, headers: &HeaderMap) -> Chrome {
        Chrome {
            logged_in: false,
            user_name: String::new(),
            role_label: String::new(),
            region_name: String::new(),
            csrf,
            flash: flash(headers),
            can_import: false,
            can_export: false,
            is_admin: false,
            can_screen: false,
            has_tasks: false,
            can_review: false,
            has_cases: false,
            can_clue: false,
            can_assign_officers: false,
            is_department: false,
            can_propose: false,
            sees_overview: false,
            sees_alerts: false,
            can_trace: false,
            today: state.clock.today().to_string(),
        }
    }
}

fn flash(headers: &HeaderMap) -> Option<String> {
    cookie(headers, FLASH_COOKIE)
        .and_then(|v| urlencoding::decode(&v).ok().map(|s| s.into_owned()))
        .filter(|s| !s.is_empty())
}

/// Renders a page (clearing the flash it showed).
pub fn render<T: Template>(t: &T, chrome: &Chrome) -> Result<Response, PageError> {
    render_status(StatusCode::OK, t, chrome)
}

pub fn render_status<T: Template>(status: StatusCode, t: &T, chrome: &Chrome) -> Result<Response, PageError> {
    let mut resp = (status, Html(t.render()?)).into_response();
    if chrome.flash.is_some()
        && let Ok(v) = clear_cookie(FLASH_COOKIE).parse()
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// Only local paths of plain URL characters: never "//host", "/\\host" or control characters
/// that browsers strip ("/\t/host" becomes "//host") — no open redirect. Else `fallback`.
pub fn local_path(next: &str, fallback: &str) -> String {
    let plain = next.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_.?=&%-+~,".contains(&b));
    if plain && next.starts_with('/') && !next.starts_with("//") { next.to_string() } else { fallback.to_string() }
}

/// 303 to `to`, with a message shown on the next page.
pub fn redirect_with_flash(to: &str, message: &str) -> Response {
    let mut resp = Redirect::to(to).into_response();
    if let Ok(v) = format!("{FLASH_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax", urlencoding::encode(message)).parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

pub fn require(a: &Authed, p: Permission) -> Result<(), PageError> {
    if a.scope.allows(p) { Ok(()) } else { Err(PageError::Forbidden) }
}

/// One option of a select.
#[derive(Clone)]
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One form control with its label, the typed value and the error to show next to it.
pub struct FormField {
    pub name: String,
    pub label: String,
    pub value: String,
    pub error: Option<String>,
    /// text | date | number | select | textarea | password
    pub kind: &'static str,
    pub options: Vec<Opt>,
    pub help: String,
    pub required: bool,
}

impl FormField {
    pub fn text(name: &str, label: &str, value: &str) -> Self {
        FormField {
            name: name.to_string(),
            label: label.to_string(),
            value: value.to_string(),
            error: None,
            kind: "text",
            options: Vec::new(),
            help: String::new(),
            required: false,
        }
    }

    pub fn kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn help(mut self, help: &str) -> Self {
        self.help = help.to_string();
        self
    }

    /// A select with an empty first option (unless required) and the labels of an enumeration.
    pub fn select<T: CodeEnum>(name: &str, label: &str, value: &str, allow_empty: bool) -> Self {
        let labels: Vec<(String, String)> =
            T::all().iter().map(|v| (v.label().to_string(), v.label().to_string())).collect();
        Self::choices(name, label, value, allow_empty, labels)
    }

    pub fn choices(name: &str, label: &str, value: &str, allow_empty: bool, choices: Vec<(String, String)>) -> Self {
        let mut options = Vec::new();
        if allow_empty {
            options.push(Opt { value: String::new(), label: "（未填）".into(), selected: value.is_empty() });
        }
        let known = choices.iter().any(|(v, _)| v == value);
        // keep a value the list does not know, so that nothing typed or imported is lost
        if !value.is_empty() && !known {
            options.push(Opt { value: value.to_string(), label: format!("{value}（无效）"), selected: true });
        }
        for (v, l) in choices {
            options.push(Opt { selected: v == value, value: v, label: l });
        }
        FormField { kind: "select", options, ..Self::text(name, label, value) }
    }

    pub fn yes_no(name: &str, label: &str, value: &str, allow_empty: bool) -> Self {
        Self::choices(name, label, value, allow_empty, vec![("是".into(), "是".into()), ("否".into(), "否".into())])
    }

    pub fn pass_fail(name: &str, label: &str, value: &str) -> Self {
        Self::choices(
            name,
            label,
            value,
            true,
            vec![("达标".into(), "达标".into()), ("不达标".into(), "不达标".into())],
        )
    }
}

/// A titled group of fields.
pub struct FieldGroup {
    pub title: String,
    pub fields: Vec<FormField>,
}

/// Fields marked with an error, for the summary at the top of a form.
pub fn marked(groups: &[FieldGroup]) -> usize {
    groups.iter().flat_map(|g| g.fields.iter()).filter(|f| f.error.is_some()).count()
}

/// Puts each error next to its field; errors for fields not on the form are returned.
pub fn attach_errors(groups: &mut [FieldGroup], errs: &FieldErrors) -> Vec<String> {
    let mut unplaced = Vec::new();
    for e in &errs.0 {
        let slot = groups.iter_mut().flat_map(|g| g.fields.iter_mut()).find(|f| f.name == e.field);
        match slot {
            Some(f) if f.error.is_none() => f.error = Some(e.message.clone()),
            Some(_) => {}
            None => unplaced.push(format!("{}：{}", e.label, e.message)),
        }
    }
    unplaced
}
