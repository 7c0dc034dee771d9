//! Screening a region (batch) or one household (after a save) with the rules of [`crate::rules`]
//! — the same function both ways, so that the two never disagree — and recording the findings.

use chrono::{DateTime, NaiveDate, Utc};

use crate::account::{Actor, Permission, Scope};
use crate::calendar::WorkCalendar;
use crate::household::HouseholdNo;
use crate::ports::{
    FindingChanges, FindingStore, HouseholdDetail, HouseholdFilter, HouseholdFindings, HouseholdStore, ParamStore,
    StoreError,
};
use crate::region::RegionCode;
use crate::rules::{Context, Finding, RuleError, evaluate};

#[derive(Debug, thiserror::Error)]
pub enum ScreenError {
    #[error("您的角色无权运行筛查")]
    Forbidden,
    // not a `source`: the message already says it, and `{:#}` would say it twice
    #[error("无法筛查户 {household_no}：{error}")]
    Rule { household_no: HouseholdNo, error: RuleError },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One finding with the household it is about.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Found {
    pub household_no: HouseholdNo,
    pub village: RegionCode,
    pub finding: Finding,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ScreeningReport {
    pub run_id: i64,
    pub as_of: NaiveDate,
    pub households: usize,
    pub findings: Vec<Found>,
    pub changes: FindingChanges,
}

fn evaluate_all(batch: &[HouseholdDetail], ctx: &Context) -> Result<Vec<HouseholdFindings>, ScreenError> {
    batch
        .iter()
        .map(|d| {
            let findings = evaluate(d, ctx)
                .map_err(|error| ScreenError::Rule { household_no: d.record.household.household_no.clone(), error })?;
            Ok(HouseholdFindings { household_id: d.record.id, village: d.record.household.village, findings })
        })
        .collect()
}

/// Screens every household of `region` (or of the whole scope) as of `as_of` and records the
/// findings. Nothing is written if the first households cannot be screened (e.g. no monitoring
/// line for the year, D2).
#[allow(clippy::too_many_arguments)]
pub async fn screen<S: HouseholdStore + FindingStore + ParamStore>(
    store: &S,
    calendar: &WorkCalendar,
    scope: &Scope,
    actor: &Actor,
    at: DateTime<Utc>,
    as_of: NaiveDate,
    region: Option<RegionCode>,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<ScreeningReport, ScreenError> {
    if !scope.allows(Permission::Screen) {
        return Err(ScreenError::Forbidden);
    }
    let params = store.params(None).await?;
    let ctx = Context { as_of, params: &params, calendar };
    let filter = HouseholdFilter { region, ..Default::default() };
    let total = store.list_households(scope, &filter, None, 1).await?.total.max(0) as usize;
    let mut report =
        ScreeningReport { run_id: 0, as_of, households: 0, findings: Vec::new(), changes: FindingChanges::default() };
    let mut after = None;
    let mut run = None;
    loop {
        let (batch, next) = store.export_batch(scope, &filter, after.as_ref(), 500).await?;
        let results = evaluate_all(&batch, &ctx)?;
        // the run starts once the first batch could be screened: an impossible screening writes nothing
        let run_id = match run {
            Some(r) => r,
            None => {
                let r = store.begin_screening(actor, at, as_of, region).await?;
                run = Some(r);
                r
            }
        };
        report.changes += store.record_findings(at, as_of, Some(run_id), &results).await?;
        for (d, r) in batch.iter().zip(&results) {
            for f in &r.findings {
                report.findings.push(Found {
                    household_no: d.record.household.household_no.clone(),
                    village: d.record.household.village,
                    finding: f.clone(),
                });
            }
        }
        report.households += batch.len();
        progress(report.households, total.max(report.households));
        match next {
            Some(c) if !batch.is_empty() => after = Some(c),
            _ => break,
        }
    }
    if let Some(r) = run {
        report.run_id = r;
        store.finish_screening(actor, at, r, report.households, report.findings.len(), report.changes).await?;
    }
    Ok(report)
}

/// Screens one household (after a save) and records its findings; returns them.
pub async fn screen_one<S: FindingStore + ParamStore>(
    store: &S,
    calendar: &WorkCalendar,
    at: DateTime<Utc>,
    as_of: NaiveDate,
    detail: &HouseholdDetail,
) -> Result<Vec<Finding>, ScreenError> {
    let params = store.params(None).await?;
    let ctx = Context { as_of, params: &params, calendar };
    let results = evaluate_all(std::slice::from_ref(detail), &ctx)?;
    store.record_findings(at, as_of, None, &results).await?;
    Ok(results.into_iter().next().map(|r| r.findings).unwrap_or_default())
}

/// The rules on one household without recording anything: what a visit's content would lead
/// to before the cadre accepts it (the same rules as [`screen`] and [`screen_one`]).
pub async fn preview<S: ParamStore>(
    store: &S,
    calendar: &WorkCalendar,
    as_of: NaiveDate,
    detail: &HouseholdDetail,
) -> Result<Vec<Finding>, ScreenError> {
    let params = store.params(None).await?;
    let ctx = Context { as_of, params: &params, calendar };
    Ok(evaluate_all(std::slice::from_ref(detail), &ctx)?.into_iter().next().map(|r| r.findings).unwrap_or_default())
}
