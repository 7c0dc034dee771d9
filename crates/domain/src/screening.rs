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
    let mut run = None;
    let mut fetched = store.export_batch(scope, &filter, None, 500).await?;
    loop {
        let (batch, next) = fetched;
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
        // the next batch is read while this one's findings are written: on SQLite the two run on
        // different connections' threads (building a batch's JSON is most of a read)
        let after = next.filter(|_| !batch.is_empty());
        let read_next = async {
            match &after {
                Some(c) => store.export_batch(scope, &filter, Some(c), 500).await.map(Some),
                None => Ok(None),
            }
        };
        let (changes, read) = both(store.record_findings(at, as_of, Some(run_id), &results), read_next).await;
        report.changes += changes?;
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
        match read? {
            Some(b) => fetched = b,
            None => break,
        }
    }
    if let Some(r) = run {
        report.run_id = r;
        store.finish_screening(actor, at, r, report.households, report.findings.len(), report.changes).await?;
    }
    Ok(report)
}

/// Runs two futures at once on the caller's task (this crate has no executor) and returns both
/// outputs, once both are done.
async fn both<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    let (mut out_a, mut out_b) = (None, None);
    std::future::poll_fn(|cx| {
        if out_a.is_none()
            && let std::task::Poll::Ready(v) = a.as_mut().poll(cx)
        {
            out_a = Some(v);
        }
        if out_b.is_none()
            && let std::task::Poll::Ready(v) = b.as_mut().poll(cx)
        {
            out_b = Some(v);
        }
        if out_a.is_some() && out_b.is_some() { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    })
    .await;
    (out_a.expect("polled to the end"), out_b.expect("polled to the end"))
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
