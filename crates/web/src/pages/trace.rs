//! 倒查 (D19): one page per finding, visit or case with who screened, reviewed and approved it
//! and every audit-log row about it.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use domain::trace::{Responsible, Subject, Trace};

use super::{Chrome, render};
use crate::AppState;
use crate::auth::PageAuth;
use crate::error::PageError;

pub struct Line {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub role: &'static str,
    pub action: &'static str,
    pub note: String,
}

#[derive(Template)]
#[template(path = "trace.html")]
struct TracePage {
    chrome: Chrome,
    t: Trace,
    village: String,
    responsible: Vec<(Responsible, &'static str)>,
    lines: Vec<Line>,
    back: String,
}

pub async fn page(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Path((kind, id)): Path<(String, i64)>,
) -> Result<Response, PageError> {
    let subject = Subject::parse(&kind, id).ok_or(PageError::NotFound)?;
    let t = domain::trace::trace(&state.db, &a.scope, subject).await?;
    let regions = state.regions.get().await;
    let back = match subject {
        Subject::Visit(id) => format!("/visits/{id}"),
        Subject::Case(id) => format!("/cases/{id}"),
        Subject::Finding(_) => format!("/households/{}", t.household_no),
    };
    let tpl = TracePage {
        chrome: Chrome::new(&state, &a, &headers).await,
        village: regions.name(t.village),
        responsible: t.responsible.iter().map(|r| (r.clone(), r.role.map(|x| x.label()).unwrap_or(""))).collect(),
        lines: t
            .lines
            .iter()
            .map(|l| Line {
                id: l.audit_id,
                at: crate::views::china_time(l.at),
                actor: l.actor.clone(),
                role: l.role.map(|r| r.label()).unwrap_or(""),
                action: l.action.label(),
                note: l.note.clone(),
            })
            .collect(),
        back,
        t,
    };
    render(&tpl, &tpl.chrome)
}
