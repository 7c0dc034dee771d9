//! 倒查 (D19 谁排查谁负责): from a finding, a visit or a case, who screened, reviewed and approved
//! it and when — the object's own record (the names it stores) and every audit-log row about it,
//! in time order, for accountability reviews.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::account::{Permission, Role, Scope, UserId};
use crate::audit::{AuditAction, AuditRecord};
use crate::ports::{
    AuditFilter, AuditStore, CaseFilter, CaseStore, FindingFilter, FindingStore, UserStore, VisitStore,
};
use crate::region::RegionCode;
use crate::service::EditError;

/// What to trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Finding(i64),
    Visit(i64),
    Case(i64),
}

impl Subject {
    pub fn parse(kind: &str, id: i64) -> Option<Subject> {
        match kind {
            "finding" => Some(Subject::Finding(id)),
            "visit" => Some(Subject::Visit(id)),
            "case" => Some(Subject::Case(id)),
            _ => None,
        }
    }
}

/// One responsibility: 排查, 审核, 审定 … by whom, when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Responsible {
    pub duty: String,
    pub who: String,
    pub role: Option<Role>,
    pub at: String,
}

/// One audit-log row as the page shows it (no before/after data: names, times, what was done).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TraceLine {
    pub audit_id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub role: Option<Role>,
    pub action: AuditAction,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Trace {
    pub title: String,
    pub household_no: String,
    pub village: RegionCode,
    pub responsible: Vec<Responsible>,
    pub lines: Vec<TraceLine>,
}

/// Who may trace: the roles that follow a region's work.
pub fn may_trace(scope: &Scope) -> bool {
    matches!(
        scope.role(),
        Role::Admin | Role::TownOffice | Role::VillageCadre | Role::Supervisor | Role::CountyApprover | Role::Leader
    ) && scope.allows(Permission::ViewHouseholds)
}

async fn rows<S: AuditStore>(store: &S, entity: &str, id: impl ToString) -> Result<Vec<AuditRecord>, EditError> {
    // the subject was found within the scope, so its own rows may be read whatever their region
    let filter = AuditFilter {
        entity: Some(entity.to_string()),
        entity_id: Some(id.to_string()),
        include_unregioned: true,
        ..Default::default()
    };
    // every row of the object (a household's include each audited view of its full IDs)
    Ok(store.audit_rows(&filter, 100_000).await?)
}

fn china(t: DateTime<Utc>) -> String {
    t.with_timezone(&crate::clock::china()).format("%Y-%m-%d %H:%M").to_string()
}

/// The trace of a finding, a visit or a case within the scope.
pub async fn trace<S>(store: &S, scope: &Scope, subject: Subject) -> Result<Trace, EditError>
where
    S: AuditStore + FindingStore + VisitStore + CaseStore + UserStore,
{
    if !may_trace(scope) {
        return Err(EditError::Forbidden);
    }
    let mut responsible = Vec::new();
    let mut records: Vec<AuditRecord> = Vec::new();
    let (title, household_no, village) = match subject {
        Subject::Visit(id) => {
            let v = store.visit(scope, crate::visit::VisitId(id)).await?.ok_or(EditError::NotFound)?;
            let screeners = v.facts.screeners.join("、");
            responsible.push(Responsible {
                duty: "入户排查".into(),
                who: if screeners.is_empty() { v.recorded_by.clone() } else { screeners },
                role: None,
                at: v.facts.visited_on.to_string(),
            });
            responsible.push(Responsible {
                duty: "录入".into(),
                who: v.recorded_by.clone(),
                role: None,
                at: china(v.recorded_at),
            });
            if let (Some(by), Some(at)) = (&v.reviewed_by, v.reviewed_at) {
                responsible.push(Responsible {
                    duty: format!("审核（{}）", v.review.label()),
                    who: by.clone(),
                    role: None,
                    at: china(at),
                });
            }
            records.extend(rows(store, "visit", id).await?);
            // the registry changes its acceptance made are recorded on the household
            // "采纳核查 #12：…" — the colon, so that #12 does not match #120
            let marker = format!("核查 #{id}：");
            records.extend(
                rows(store, "household", v.household_id.0)
                    .await?
                    .into_iter()
                    .filter(|r| r.entry.note.contains(&marker)),
            );
            (format!("核查 #{id}（{}）", v.form.label()), v.household_no.to_string(), v.village)
        }
        Subject::Case(id) => {
            let c = store.case(scope, crate::procedure::CaseId(id)).await?.ok_or(EditError::NotFound)?;
            for s in &c.steps {
                responsible.push(Responsible {
                    duty: s.step.label().to_string(),
                    who: s.actor_name.clone(),
                    role: Some(s.actor_role),
                    at: s.done_on.to_string(),
                });
            }
            records.extend(rows(store, "case", id).await?);
            (format!("{}案件 #{id}", c.procedure.label()), c.household_no.to_string(), c.village)
        }
        Subject::Finding(id) => {
            // found through its household's findings, so the scope applies
            let f = find_finding(store, scope, id).await?;
            // a screening run, else the save (an edit, an accepted visit) that re-screened the household
            let first = crate::audit::truncate_micros(f.first_seen);
            let household_rows = rows(store, "household", f.household_id.0).await?;
            let mut found_by = rows_at(store, "screening", f.first_seen).await?;
            found_by.extend(household_rows.iter().filter(|r| r.entry.at == first).cloned());
            responsible.push(Responsible {
                duty: format!("发现（规则 {} 第{}版）", f.rule_id, f.rule_version),
                who: found_by.first().map(|r| r.entry.actor_name.clone()).unwrap_or_else(|| "系统筛查".into()),
                role: None,
                at: china(f.first_seen),
            });
            if let (Some(by), Some(at)) = (&f.status_by, f.status_at) {
                responsible.push(Responsible {
                    duty: format!("处理（{}）", f.status.label()),
                    who: by.clone(),
                    role: None,
                    at: china(at),
                });
            }
            records.extend(found_by);
            let marker = format!("发现（{}·{}）", f.code, f.sub_code);
            records.extend(household_rows.into_iter().filter(|r| r.entry.note.starts_with(&marker)));
            // the case it became, and that case's decisions
            let cases =
                store.cases(scope, &CaseFilter { household: Some(f.household_id), ..Default::default() }, 50).await?;
            for c in cases.items.iter().filter(|c| c.finding_id == Some(id)) {
                for s in &c.steps {
                    responsible.push(Responsible {
                        duty: format!("{}·{}", c.procedure.label(), s.step.label()),
                        who: s.actor_name.clone(),
                        role: Some(s.actor_role),
                        at: s.done_on.to_string(),
                    });
                }
                records.extend(rows(store, "case", c.id.0).await?);
            }
            (format!("发现 #{id}（{}）", f.code.label()), f.household_no.to_string(), f.village)
        }
    };
    records.sort_by_key(|r| r.id);
    records.dedup_by_key(|r| r.id);
    // each account's role and real name (rows store the username they were written by)
    let mut roles: BTreeMap<i64, Option<Role>> = BTreeMap::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for id in records.iter().filter_map(|r| r.entry.actor_id) {
        if let std::collections::btree_map::Entry::Vacant(e) = roles.entry(id) {
            let user = store.user(UserId(id)).await?;
            if let Some(u) = &user
                && !u.display_name.is_empty()
                && u.display_name != u.username.as_str()
            {
                names.insert(u.username.to_string(), format!("{}（{}）", u.display_name, u.username));
            }
            e.insert(user.map(|u| u.role));
        }
    }
    let named = |n: &str| names.get(n).cloned().unwrap_or_else(|| n.to_string());
    for r in &mut responsible {
        r.who = named(&r.who);
    }
    let lines = records
        .into_iter()
        .map(|r| TraceLine {
            audit_id: r.id,
            at: r.entry.at,
            role: r.entry.actor_id.and_then(|id| roles.get(&id).copied().flatten()),
            actor: named(&r.entry.actor_name),
            action: r.entry.action,
            note: r.entry.note,
        })
        .collect();
    Ok(Trace { title, household_no, village, responsible, lines })
}

async fn find_finding<S: FindingStore>(
    store: &S,
    scope: &Scope,
    id: i64,
) -> Result<crate::ports::FindingRecord, EditError> {
    // keyset from id − 1: the first finding after it is the one asked for, if in scope
    let filter = FindingFilter { after: Some(id.checked_sub(1).ok_or(EditError::NotFound)?), ..Default::default() };
    let page = store.findings(scope, &filter, 1).await?;
    page.items.into_iter().find(|f| f.id == id).ok_or(EditError::NotFound)
}

/// Rows of `entity` written at exactly `at` (a screening run's row carries its start time, as
/// its findings' first_seen does).
async fn rows_at<S: AuditStore>(store: &S, entity: &str, at: DateTime<Utc>) -> Result<Vec<AuditRecord>, EditError> {
    let filter = AuditFilter { entity: Some(entity.to_string()), include_unregioned: true, ..Default::default() };
    let at = crate::audit::truncate_micros(at);
    Ok(store.audit_rows(&filter, 1000).await?.into_iter().filter(|r| r.entry.at == at).collect())
}
