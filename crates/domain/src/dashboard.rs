//! 看板 (the town dashboard, issue 7): one region's children side by side — a town's villages,
//! a county's towns — with the campaign's coverage, open findings by code, monitored households,
//! overdue officers, measures and department tasks, and open department alerts.
//!
//! Every figure is counted per village and summed up the region tree here, so that a number on
//! the dashboard is exactly the length of the list behind it: households, campaign tasks and
//! findings from the counts the database maintains on every write (migration 0016, issue 6);
//! overdue officers, measures and department tasks by the same deadline rules as 时限 and 任务清单.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use crate::account::{Permission, Scope};
use crate::assistance::{DueCounts, officer_due};
use crate::calendar::WorkCalendar;
use crate::campaign::{Campaign, CampaignId, Progress, TaskStatus};
use crate::codes::{MonitoringCategory, RiskType};
use crate::household::MonitoringStatus;
use crate::ports::{
    AssistanceStore, CampaignStore, FindingStatus, FindingStore, MeasureStore, OversightStore, ParamStore,
};
use crate::region::{RegionCode, RegionLevel};
use crate::rules::FindingCode;
use crate::service::{EditError, assistance_rules_from};

/// The figures of one region (a village, or the sum of the villages below a region).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Figures {
    /// Households registered.
    pub households: i64,
    /// The campaign's screening tasks and visits (none without a campaign).
    pub progress: Progress,
    /// Findings waiting to be handled (待处理), by code.
    pub findings_open: BTreeMap<FindingCode, i64>,
    /// Households under monitoring now (监测中).
    pub monitored: i64,
    /// 纳入监测 within the period (whatever their status now).
    pub included: i64,
    /// 风险消除 within the period.
    pub eliminated: i64,
    /// Monitored households whose officer is overdue (5 working days, D10).
    pub officers_overdue: i64,
    /// Households whose first measures are overdue (10 days, D10).
    pub measures_overdue: i64,
    pub department_tasks_open: i64,
    /// Open department tasks past their due date.
    pub department_tasks_overdue: i64,
    /// Department alerts still to verify (待核实).
    pub alerts_open: i64,
}

impl Figures {
    pub fn findings_open_total(&self) -> i64 {
        self.findings_open.values().sum()
    }

    /// Share of a campaign's households visited in person, in per cent — the campaign page's
    /// 覆盖率 (D13: the seed asks for 全覆盖 in person).
    pub fn coverage_percent(&self) -> i64 {
        self.progress.coverage_percent()
    }

    /// Share of the visited households seen in person, in per cent (D13: a phone call does not
    /// count as 入户).
    pub fn in_person_percent(&self) -> i64 {
        let p = &self.progress;
        let seen = p.visited + p.remote_only;
        if seen == 0 { 0 } else { p.visited * 100 / seen }
    }

    fn add(&mut self, o: &Figures) {
        self.households += o.households;
        self.progress = Progress::sum([&self.progress, &o.progress]);
        for (c, n) in &o.findings_open {
            *self.findings_open.entry(*c).or_default() += n;
        }
        self.monitored += o.monitored;
        self.included += o.included;
        self.eliminated += o.eliminated;
        self.officers_overdue += o.officers_overdue;
        self.measures_overdue += o.measures_overdue;
        self.department_tasks_open += o.department_tasks_open;
        self.department_tasks_overdue += o.department_tasks_overdue;
        self.alerts_open += o.alerts_open;
    }
}

/// Monitored households by category and main risk (the chart's stacked bars).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MonitoredBreakdown {
    pub category: Option<MonitoringCategory>,
    pub risk: Option<RiskType>,
    pub count: i64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Dashboard {
    /// The region shown (the rows are its children).
    pub region: RegionCode,
    pub today: NaiveDate,
    /// The period of "new" inclusions and eliminations: the campaign's first day (else 1 January)
    /// to today.
    pub period_from: NaiveDate,
    pub campaign: Option<Campaign>,
    /// The region's children that hold villages of the scope, in code order.
    pub rows: Vec<(RegionCode, Figures)>,
    pub total: Figures,
    pub monitored_by: Vec<MonitoredBreakdown>,
}

/// The level of a region's children (a village has none: it is its own single row).
fn child_level(level: RegionLevel) -> RegionLevel {
    match level {
        RegionLevel::Province => RegionLevel::City,
        RegionLevel::City => RegionLevel::County,
        RegionLevel::County => RegionLevel::Town,
        RegionLevel::Town | RegionLevel::Village => RegionLevel::Village,
    }
}

/// The campaign the dashboard follows: the one asked for, else the campaign of the scope running
/// today, else the one that started last before today.
pub fn current_campaign(campaigns: &[Campaign], today: NaiveDate) -> Option<&Campaign> {
    let start = |c: &Campaign| c.phases.iter().filter_map(|p| p.starts_on.or(Some(p.ends_on))).min();
    let end = |c: &Campaign| c.phases.iter().map(|p| p.ends_on).max();
    campaigns
        .iter()
        .filter(|c| start(c).is_some_and(|s| s <= today))
        .max_by_key(|c| (end(c).is_some_and(|e| e >= today), start(c), c.id.0))
}

/// The region asked for within the scope (404 outside it), else the scope's own.
pub fn region_in(scope: &Scope, region: Option<RegionCode>) -> Result<RegionCode, EditError> {
    match (region, scope.region()) {
        (Some(r), _) if scope.is_system() || scope.contains(r) => Ok(r),
        (Some(_), _) => Err(EditError::NotFound),
        (None, Some(r)) => Ok(r),
        (None, None) => RegionCode::from_u64(450_000_000_000).ok_or(EditError::NotFound),
    }
}

/// The campaign asked for (404 when not in the scope), else [`current_campaign`] on `today`.
pub async fn campaign_of<S: CampaignStore>(
    store: &S,
    scope: &Scope,
    campaign: Option<CampaignId>,
    today: NaiveDate,
) -> Result<Option<Campaign>, EditError> {
    let campaigns = store.campaigns(scope).await?;
    Ok(match campaign {
        Some(id) => Some(campaigns.iter().find(|c| c.id == id).ok_or(EditError::NotFound)?.clone()),
        None => current_campaign(&campaigns, today).cloned(),
    })
}

/// Where "in the period" starts: the campaign's first day, else 1 January of `today`'s year.
pub fn period_start(campaign: Option<&Campaign>, today: NaiveDate) -> NaiveDate {
    campaign
        .and_then(|c| c.phases.iter().filter_map(|p| p.starts_on).min())
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today))
}

/// Whether the scope may see a dashboard, and of which region: `region` within the scope (404
/// outside it), by default the scope's own. A cache of dashboards asks this before it answers.
pub fn dashboard_region(scope: &Scope, region: Option<RegionCode>) -> Result<RegionCode, EditError> {
    // the tallies count every task of the region: a scope narrowed to its own tasks (排查员) has none
    if !scope.allows(Permission::ViewHouseholds) || scope.own_tasks_only().is_some() {
        return Err(EditError::Forbidden);
    }
    region_in(scope, region)
}

/// The dashboard of `region` (default: the scope's own region) within the scope, on `today`.
pub async fn dashboard<S>(
    store: &S,
    calendar: &WorkCalendar,
    scope: &Scope,
    region: Option<RegionCode>,
    campaign: Option<CampaignId>,
    today: NaiveDate,
) -> Result<Dashboard, EditError>
where
    S: OversightStore + CampaignStore + FindingStore + AssistanceStore + MeasureStore + ParamStore,
{
    let region = dashboard_region(scope, region)?;
    let campaign = campaign_of(store, scope, campaign, today).await?;
    let period_from = period_start(campaign.as_ref(), today);

    // households, the campaign's tasks and findings from the counts the database maintains on
    // every write (issue 6): a few rows per village, however many households
    let level = child_level(region.level());
    let tallies =
        store.tallies(scope, Some(region), level, campaign.as_ref().map(|c| c.id), period_from, today).await?;
    // keyed by village, or by the child region already (the tallies): both sum into the rows
    let mut villages: BTreeMap<RegionCode, Figures> = BTreeMap::new();
    for (v, status, n) in &tallies.households {
        let f = villages.entry(*v).or_default();
        f.households += n;
        if *status == MonitoringStatus::Monitored {
            f.monitored += n;
        }
    }
    let mut monitored_by: BTreeMap<(Option<i16>, Option<i16>), MonitoredBreakdown> = BTreeMap::new();
    for (category, risk, count) in &tallies.monitored_by {
        monitored_by
            .entry((category.map(|c| c.code()), risk.map(|r| r.code())))
            .or_insert(MonitoredBreakdown { category: *category, risk: *risk, count: 0 })
            .count += count;
    }
    for (v, n) in &tallies.included {
        villages.entry(*v).or_default().included += n;
    }
    for (v, n) in &tallies.eliminated {
        villages.entry(*v).or_default().eliminated += n;
    }
    for (v, status, n) in &tallies.tasks {
        let p = &mut villages.entry(*v).or_default().progress;
        p.households += n;
        match status {
            TaskStatus::Visited => p.visited += n,
            TaskStatus::RemoteOnly => p.remote_only += n,
            TaskStatus::NotReached => p.not_reached += n,
            TaskStatus::Pending => p.pending += n,
        }
    }
    for (v, code, status, n) in &tallies.findings {
        if *status == FindingStatus::Open {
            *villages.entry(*v).or_default().findings_open.entry(*code).or_default() += n;
        }
    }
    let params = store.params(None).await?;
    for g in store.officer_gap_groups(scope, Some(region)).await? {
        let rules = assistance_rules_from(&params, g.monitored_since.year(), g.village);
        let mut due = DueCounts::default();
        due.add(officer_due(calendar, g.monitored_since, g.village, &rules).ok(), today, g.count);
        villages.entry(g.village).or_default().officers_overdue += due.overdue;
    }
    for g in store.measure_gap_groups(scope, Some(region)).await? {
        let rules = assistance_rules_from(&params, g.monitored_since.year(), g.village);
        // without an officer yet the officer's deadline covers it (as on the 时限 page)
        let Some(start) = rules.measures_start(g.monitored_since, g.first_officer) else { continue };
        let due = crate::assistance::measures_due(calendar, start, g.village, &rules).ok();
        let mut counts = DueCounts::default();
        counts.add(due.map(|d| d.extended), today, g.count);
        villages.entry(g.village).or_default().measures_overdue += counts.overdue;
    }
    for (v, due_on, n) in store.open_department_task_groups(scope, Some(region)).await? {
        let f = villages.entry(v).or_default();
        f.department_tasks_open += n;
        if due_on < today {
            f.department_tasks_overdue += n;
        }
    }
    for (v, status, n) in store.alert_village_counts(scope, Some(region)).await? {
        if status == crate::feed::AlertStatus::Open {
            villages.entry(v).or_default().alerts_open += n;
        }
    }

    let mut rows: BTreeMap<RegionCode, Figures> = BTreeMap::new();
    let mut total = Figures::default();
    for (v, f) in &villages {
        rows.entry(v.ancestor(level)).or_default().add(f);
        total.add(f);
    }
    Ok(Dashboard {
        region,
        today,
        period_from,
        campaign,
        rows: rows.into_iter().collect(),
        total,
        monitored_by: monitored_by.into_values().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::{CampaignPhase, PhaseDates};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn campaign(id: i64, from: &str, to: &str) -> Campaign {
        Campaign {
            id: CampaignId(id),
            name: format!("c{id}"),
            region: RegionCode::from_u64(450_203_100_000).unwrap(),
            policy_year: 2022,
            phases: vec![PhaseDates {
                phase: CampaignPhase::Screening,
                starts_on: Some(d(from)),
                ends_on: d(to),
                due_on: None,
            }],
            created_by: String::new(),
            created_at: chrono::DateTime::default(),
            closed_at: None,
        }
    }

    #[test]
    fn the_running_campaign_is_followed_else_the_last_started() {
        let cs = vec![campaign(1, "2022-03-26", "2022-04-30"), campaign(2, "2022-09-01", "2022-10-31")];
        assert_eq!(current_campaign(&cs, d("2022-04-10")).map(|c| c.id.0), Some(1));
        // between the two: the one that ran last
        assert_eq!(current_campaign(&cs, d("2022-06-10")).map(|c| c.id.0), Some(1));
        assert_eq!(current_campaign(&cs, d("2022-09-02")).map(|c| c.id.0), Some(2));
        // none started yet
        assert_eq!(current_campaign(&cs, d("2022-01-10")).map(|c| c.id.0), None);
    }

    #[test]
    fn shares_are_whole_per_cent_and_zero_when_empty() {
        let mut f = Figures::default();
        assert_eq!((f.coverage_percent(), f.in_person_percent()), (0, 0));
        f.progress = Progress { households: 200, visited: 150, remote_only: 30, ..Default::default() };
        assert_eq!(f.coverage_percent(), 75);
        assert_eq!(f.in_person_percent(), 83);
    }

    #[test]
    fn children_are_one_level_down() {
        let town = RegionCode::from_u64(450_203_100_000).unwrap();
        let village = RegionCode::from_u64(450_203_100_207).unwrap();
        assert_eq!(village.ancestor(child_level(town.level())), village);
        let county = RegionCode::from_u64(450_203_000_000).unwrap();
        assert_eq!(village.ancestor(child_level(county.level())), town);
        assert_eq!(village.ancestor(child_level(village.level())), village);
    }
}
