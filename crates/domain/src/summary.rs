//! 工作总结 (seed 五(六): every village reports by 05-04; the town sums up): the campaign's figures
//! for a village or a town on any date, computed from the data — the five screening contents,
//! new inclusions and eliminations, assistance, supervision and rectification, department alerts
//! — with an editable narrative. Nothing is typed twice: cadres write only the words.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::account::{Actor, Permission, Scope};
use crate::campaign::{Campaign, CampaignId};
use crate::clock::day_start;
use crate::ports::{CampaignStore, StoreError, SummaryStore};
use crate::region::{RegionCode, RegionLevel};
use crate::service::EditError;

/// What a count counts. `key` in [`SummaryCount`] refines it (a category, a code, a kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Metric {
    Households,
    /// Under monitoring on the day (key: category).
    MonitoredAt,
    /// 纳入监测 in the period (key: category).
    Included,
    /// 风险消除 in the period (key: mode).
    Eliminated,
    /// The campaign's screening tasks.
    Tasks,
    /// Households visited in person (and met) by the day: the campaign page's 已入户.
    VisitedInPerson,
    /// Households met only by phone or WeChat by the day: the campaign page's 仅线上.
    RemoteOnly,
    /// Findings first found in the period (key: code).
    FindingsFound,
    /// Of those, handled by the day (key: code × 10 + status).
    FindingsHandled,
    OfficersAssigned,
    /// Measures planned in the period (key: category).
    MeasuresPlanned,
    MeasuresCompleted,
    /// key: department.
    DepartmentTasksPushed,
    DepartmentTasksCompleted,
    /// key: inspection kind.
    Inspections,
    RectificationsFound,
    RectificationsClosed,
    /// key: feed kind.
    AlertsRaised,
    AlertsConcluded,
}

/// One grouped count from the store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SummaryCount {
    pub village: RegionCode,
    pub metric: Metric,
    pub key: i16,
    pub count: i64,
}

/// The narrative part, written by the village or the town.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SummaryNotes {
    /// 工作开展情况
    pub work_done: String,
    /// 存在的问题
    pub problems: String,
    /// 下一步工作打算
    pub next_steps: String,
    pub updated_by: String,
    pub updated_at: Option<DateTime<Utc>>,
    /// 0 until first saved.
    pub version: i64,
}

/// A region's counts: (metric, key) → count.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Figures(pub BTreeMap<(Metric, i16), i64>);

impl Figures {
    pub fn get(&self, m: Metric, key: i16) -> i64 {
        self.0.get(&(m, key)).copied().unwrap_or(0)
    }

    /// Every key of a metric.
    pub fn total(&self, m: Metric) -> i64 {
        self.0.iter().filter(|((x, _), _)| *x == m).map(|(_, n)| n).sum()
    }

    fn add(&mut self, c: &SummaryCount) {
        *self.0.entry((c.metric, c.key)).or_default() += c.count;
    }

    /// Adds another region's figures (a town's villages into the town).
    pub fn merge(&mut self, o: &Figures) {
        for (k, n) in &o.0 {
            *self.0.entry(*k).or_default() += n;
        }
    }

    /// Findings of `code` handled by the day with `status`.
    pub fn handled(&self, code: crate::rules::FindingCode, status: crate::ports::FindingStatus) -> i64 {
        self.get(Metric::FindingsHandled, code.code() * 10 + status.code())
    }

    /// In-person coverage in whole per cent (the campaign page's 覆盖率).
    pub fn coverage_percent(&self) -> i64 {
        let tasks = self.total(Metric::Tasks);
        if tasks == 0 { 0 } else { self.total(Metric::VisitedInPerson) * 100 / tasks }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub region: RegionCode,
    pub campaign: Option<Campaign>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub total: Figures,
    /// The villages, for a town's (or larger region's) summary; empty for a village.
    pub villages: Vec<(RegionCode, Figures)>,
    pub notes: SummaryNotes,
}

/// Who may write a summary's words: the village for its own, the town office for its region.
pub fn may_write(scope: &Scope, region: RegionCode) -> bool {
    (scope.allows(Permission::EditHouseholds) || scope.allows(Permission::Supervise))
        && (scope.is_system() || scope.contains(region))
        && !matches!(scope.role(), crate::account::Role::Supervisor | crate::account::Role::Leader)
}

/// The summary of `region` (default: the scope's) for `campaign` (default: the latest started)
/// as of `to`.
pub async fn summary<S: SummaryStore + CampaignStore>(
    store: &S,
    scope: &Scope,
    region: Option<RegionCode>,
    campaign: Option<CampaignId>,
    to: NaiveDate,
) -> Result<Summary, EditError> {
    if !scope.allows(Permission::ViewHouseholds) {
        return Err(EditError::Forbidden);
    }
    let region = crate::dashboard::region_in(scope, region)?;
    let campaign = crate::dashboard::campaign_of(store, scope, campaign, to).await?;
    let from = crate::dashboard::period_start(campaign.as_ref(), to);
    let counts = store
        .summary_counts(
            scope,
            Some(region),
            campaign.as_ref().map(|c| c.id),
            from,
            to,
            day_start(from),
            day_start(to.succ_opt().unwrap_or(to)),
        )
        .await?;
    let mut total = Figures::default();
    let mut villages: BTreeMap<RegionCode, Figures> = BTreeMap::new();
    for c in &counts {
        total.add(c);
        villages.entry(c.village).or_default().add(c);
    }
    let villages = if region.level() == RegionLevel::Village { Vec::new() } else { villages.into_iter().collect() };
    let notes = store.summary_notes(campaign.as_ref().map(|c| c.id), region).await?.unwrap_or_default();
    Ok(Summary { region, campaign, from, to, total, villages, notes })
}

/// Saves the words of a summary (what was typed is returned with the error when refused).
pub async fn save_notes<S: SummaryStore>(
    store: &S,
    actor: &Actor,
    scope: &Scope,
    at: DateTime<Utc>,
    campaign: Option<CampaignId>,
    region: RegionCode,
    notes: &SummaryNotes,
) -> Result<SummaryNotes, EditError> {
    if !scope.is_system() && !scope.contains(region) {
        // outside the scope: the same answer as for a region that does not exist
        return Err(EditError::NotFound);
    }
    if !may_write(scope, region) {
        return Err(EditError::Forbidden);
    }
    match store.save_summary_notes(actor, at, campaign, region, notes).await {
        Err(StoreError::Conflict) | Err(StoreError::Duplicate(_)) => {
            let current = store.summary_notes(campaign, region).await?.map(|n| n.version).unwrap_or(0);
            Err(EditError::Stale { what: "这份总结".into(), current })
        }
        other => Ok(other?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_china_day_starts_at_16_utc_the_day_before() {
        let d = NaiveDate::from_ymd_opt(2022, 3, 26).unwrap();
        assert_eq!(day_start(d).to_rfc3339(), "2022-03-25T16:00:00+00:00");
    }

    #[test]
    fn figures_add_up_by_metric_and_key() {
        let v = RegionCode::from_u64(450_203_100_201).unwrap();
        let mut f = Figures::default();
        for (m, k, n) in [
            (Metric::Tasks, 0, 10),
            (Metric::VisitedInPerson, 0, 7),
            (Metric::Included, 2, 3),
            (Metric::Included, 1, 1),
        ] {
            f.add(&SummaryCount { village: v, metric: m, key: k, count: n });
        }
        assert_eq!((f.total(Metric::Included), f.get(Metric::Included, 2)), (4, 3));
        assert_eq!(f.coverage_percent(), 70);
        assert_eq!(Figures::default().coverage_percent(), 0);
    }
}
