//! Findings: the queue of what the screening rules found (by village and code), and acting on
//! one (dismiss with a reason, screen a household again).

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use domain::account::Permission;
use domain::household::HouseholdNo;
use domain::ports::{FindingFilter, FindingRecord, FindingStatus, FindingStore, HouseholdStore};
use domain::region::RegionCode;
use domain::rules::FindingCode;
use serde::Deserialize;

use super::{Chrome, Opt, redirect_with_flash, render, require};
use crate::AppState;
use crate::auth::{Authed, PageAuth};
use crate::error::PageError;
use crate::views::china_time;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/findings", get(queue))
        .route("/findings/{id}/dismiss", post(dismiss))
        .route("/households/{no}/screen", post(screen_household))
}

/// A finding as the pages show it.
pub struct FindingLine {
    pub id: i64,
    pub household_no: String,
    pub village: String,
    pub code: String,
    pub code_key: &'static str,
    pub sub_code: String,
    pub category: String,
    pub rule: String,
    pub explanation: String,
    pub status: String,
    pub open: bool,
    pub status_note: String,
    pub as_of: String,
    pub first_seen: String,
}

pub fn finding_line(f: &FindingRecord, village: String) -> FindingLine {
    FindingLine {
        id: f.id,
        household_no: f.household_no.to_string(),
        village,
        code: f.code.label().to_string(),
        code_key: f.code.key(),
        sub_code: f.sub_code.clone(),
        category: f.suggested_category.map(|c| c.label().to_string()).unwrap_or_default(),
        rule: format!("{} 第{}版", f.rule_id, f.rule_version),
        explanation: f.explanation.clone(),
        status: f.status.label().to_string(),
        open: f.status == FindingStatus::Open,
        status_note: match (&f.status_by, f.status_at) {
            (Some(by), Some(at)) if f.status != FindingStatus::Open => {
                format!("{by} {}：{}", china_time(at), f.status_note)
            }
            _ => String::new(),
        },
        as_of: f.as_of.to_string(),
        first_seen: china_time(f.first_seen),
    }
}

/// Open findings per village and code.
pub struct CountRow {
    pub village: String,
    pub village_code: String,
    pub counts: Vec<i64>,
    pub total: i64,
}

#[derive(Template)]
#[template(path = "findings.html")]
struct QueuePage {
    chrome: Chrome,
    codes: Vec<(&'static str, &'static str)>,
    counts: Vec<CountRow>,
    villages: Vec<Opt>,
    code_opts: Vec<Opt>,
    status_opts: Vec<Opt>,
    items: Vec<FindingLine>,
    total: i64,
    next_link: Option<String>,
    /// Where a dismissal returns to.
    back: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    village: String,
    code: String,
    status: String,
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
    // open findings unless another status is asked for ("all" = every status)
    let status = match q.status.as_str() {
        "" => Some(FindingStatus::Open),
        "all" => None,
        s => FindingStatus::ALL.iter().copied().find(|x| x.code().to_string() == s),
    };
    let filter = FindingFilter {
        region: RegionCode::parse(&q.village).ok(),
        code: FindingCode::from_key(&q.code),
        status,
        household: None,
        after: q.after.parse().ok(),
    };
    let page = state.db.findings(&a.scope, &filter, 50).await?;
    let mut by_village: BTreeMap<RegionCode, Vec<i64>> = BTreeMap::new();
    for (v, code, st, n) in state.db.finding_counts(&a.scope).await? {
        if st == FindingStatus::Open {
            let row = by_village.entry(v).or_insert_with(|| vec![0; FindingCode::ALL.len()]);
            if let Some(i) = FindingCode::ALL.iter().position(|c| *c == code) {
                row[i] += n;
            }
        }
    }
    let counts = by_village
        .into_iter()
        .map(|(v, counts)| CountRow {
            village: regions.name(v),
            village_code: v.to_string(),
            total: counts.iter().sum(),
            counts,
        })
        .collect();
    let mut villages = vec![Opt { value: String::new(), label: "全部村".into(), selected: q.village.is_empty() }];
    villages.extend(regions.villages_in(&a.scope).into_iter().map(|r| Opt {
        value: r.code.to_string(),
        label: r.name.clone(),
        selected: r.code.to_string() == q.village,
    }));
    let mut code_opts = vec![Opt { value: String::new(), label: "全部发现".into(), selected: q.code.is_empty() }];
    code_opts.extend(FindingCode::ALL.iter().map(|c| Opt {
        value: c.key().to_string(),
        label: c.label().to_string(),
        selected: c.key() == q.code,
    }));
    let mut status_opts = vec![Opt { value: String::new(), label: "待处理".into(), selected: q.status.is_empty() }];
    status_opts.extend(FindingStatus::ALL.iter().filter(|s| **s != FindingStatus::Open).map(|s| Opt {
        value: s.code().to_string(),
        label: s.label().to_string(),
        selected: s.code().to_string() == q.status,
    }));
    status_opts.push(Opt { value: "all".into(), label: "全部状态".into(), selected: q.status == "all" });
    let base = format!(
        "/findings?village={}&code={}&status={}",
        urlencoding::encode(&q.village),
        urlencoding::encode(&q.code),
        urlencoding::encode(&q.status)
    );
    let tpl = QueuePage {
        chrome: Chrome::new(&state, &a, &headers).await,
        codes: FindingCode::ALL.iter().map(|c| (c.key(), c.label())).collect(),
        counts,
        villages,
        code_opts,
        status_opts,
        items: page.items.iter().map(|f| finding_line(f, regions.name(f.village))).collect(),
        total: page.total,
        next_link: page.next.map(|n| format!("{base}&after={n}")),
        back: base,
    };
    render(&tpl, &tpl.chrome)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DismissForm {
    reason: String,
    back: String,
}

pub async fn dismiss(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Path(id): Path<i64>,
    Form(f): Form<DismissForm>,
) -> Result<Response, PageError> {
    require(&a, Permission::Screen)?;
    let back = super::local_path(&f.back, "/findings");
    if f.reason.trim().chars().count() < 2 {
        return Ok(redirect_with_flash(&back, "排除发现须写明理由（如：已入户核实，收入另有来源）"));
    }
    state
        .db
        .set_finding_status(&a.actor(), state.clock.now(), &a.scope, id, FindingStatus::Dismissed, f.reason.trim())
        .await?;
    Ok(redirect_with_flash(&back, "已排除该发现，理由已记录"))
}

/// Screens one household now and records its findings; the message says what came out.
pub async fn rescreen(state: &AppState, a: &Authed, no: &HouseholdNo) -> String {
    let Ok(Some(d)) = state.db.household(&a.scope, no).await else { return String::new() };
    match domain::screening::screen_one(&state.db, &state.calendar(), state.clock.now(), state.clock.today(), &d).await
    {
        Ok(f) if f.is_empty() => "；重新筛查：没有发现问题".to_string(),
        Ok(f) => format!("；重新筛查：有{}条发现，见下方", f.len()),
        Err(e) => format!("；未能重新筛查：{e}"),
    }
}

pub async fn screen_household(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Path(no): Path<String>,
) -> Result<Response, PageError> {
    require(&a, Permission::Screen)?;
    let no = HouseholdNo::parse(&no).map_err(|_| PageError::NotFound)?;
    state.db.household(&a.scope, &no).await?.ok_or(PageError::NotFound)?;
    let msg = rescreen(&state, &a, &no).await;
    Ok(redirect_with_flash(&format!("/households/{no}"), msg.trim_start_matches('；')))
}
