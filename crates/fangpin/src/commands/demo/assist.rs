//! 落实帮扶 in the simulated campaign (§7, D10): each newly monitored household gets its 帮扶责任人
//! from the village cadre (most within the 5 working days, a few late, one or two not at all),
//! then measures (most within the 10 days, a couple never), and some households' needs go to the
//! departments as 任务清单, which 医保 (`dept`) accepts and mostly completes.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use domain::assistance::{AssistanceRules, OfficerInput};
use domain::department_task::{TaskAction, TaskState};
use domain::household::Monitoring;
use domain::measure::{Department, MeasureCategory, MeasureInput};
use domain::ports::{DepartmentTaskStore, HouseholdDetail, HouseholdStore, MeasureStore};
use domain::service;
use domain::{HouseholdNo, User};

use super::simulate::{Job, Phase, Sim, key};

const TAG_OFFICER: u64 = 0x0FF1_CE00;
const TAG_TASK: u64 = 0x7A5C_0001;

/// How many department task lists the town pushes in the simulated weeks: to 医保, to others.
const MAX_PUSHES: (u64, u64) = (5, 3);

const UNITS: [&str; 5] = [
    "柳州市鱼峰区农业农村局",
    "柳州市鱼峰区乡村振兴局",
    "雒容镇人民政府",
    "柳东新区管理委员会",
    "柳州市鱼峰区人力资源和社会保障局",
];

/// When a household included in the campaign gets its officer, by its place among those whose
/// 5 working days end before the campaign's last day (so that a late or missing officer shows).
enum OfficerPlan {
    OnTime,
    Late,
    Missing,
}

fn officer_plan(k: usize) -> OfficerPlan {
    match k {
        1 | 9 => OfficerPlan::Missing,
        3 | 6 | 12 => OfficerPlan::Late,
        _ => OfficerPlan::OnTime,
    }
}

/// The k-th household whose first-measures deadline ends before the campaign's last day gets
/// none (and none since).
fn measures_missing(k: usize) -> bool {
    matches!(k, 1 | 3)
}

/// What a measure of a category says (the officer's words).
pub fn content(c: MeasureCategory) -> &'static str {
    match c {
        MeasureCategory::Health => "协助申请医疗救助和大病保险倾斜报销，落实家庭医生签约服务",
        MeasureCategory::Comprehensive => "协助申请临时救助，评估纳入低保",
        MeasureCategory::Social => "联系帮扶单位开展结对帮扶，发放慰问金",
        MeasureCategory::Employment => "推荐到柳东新区园区企业务工，参加就业技能培训",
        MeasureCategory::PublicWelfareJob => "安排村级公益性岗位（保洁员）",
        MeasureCategory::Industry => "发放种养殖产业奖补，提供技术指导",
        MeasureCategory::Finance => "协助申请脱贫人口小额信贷",
        MeasureCategory::Housing => "申报农村危房改造",
        MeasureCategory::Water => "协调水利站维修入户供水管网",
        MeasureCategory::CompulsoryEducation | MeasureCategory::OtherEducation => "落实教育资助，跟踪在校情况",
        _ => "制定帮扶计划，按月走访",
    }
}

impl Sim<'_> {
    fn rules(&self, on: NaiveDate, village: usize) -> AssistanceRules {
        service::assistance_rules_from(&self.params, on.year(), self.villages[village].code)
    }

    /// Plans the officer of a household included on `on`.
    pub fn plan_officer(&mut self, on: NaiveDate, village: usize, no: &HouseholdNo) -> anyhow::Result<()> {
        let rules = self.rules(on, village);
        let due = domain::assistance::officer_due(&self.cal, on, self.villages[village].code, &rules)?;
        let plan = if due < self.last_day() {
            self.inclusions += 1;
            officer_plan(self.inclusions - 1)
        } else {
            OfficerPlan::OnTime
        };
        let mut r = self.rng(TAG_OFFICER, &[key(no)]);
        if self.pushes.0 < MAX_PUSHES.0 || self.pushes.1 < MAX_PUSHES.1 {
            let day = self.after(on, r.range(0, 1))?;
            self.schedule(day, Phase::Push, Job::Push { no: no.clone() });
        }
        let (day, late) = match plan {
            OfficerPlan::Missing => return Ok(()),
            OfficerPlan::Late => (self.after(due, r.range(1, 3))?, true),
            OfficerPlan::OnTime => (self.after(on, r.range(0, 2))?, false),
        };
        self.schedule(day, Phase::Officer, Job::Officer { village, no: no.clone(), late });
        Ok(())
    }

    /// The village cadre assigns the officer: in 大正村 the demo's `officer` account, elsewhere a
    /// named person of a unit.
    pub async fn assign(
        &mut self,
        on: NaiveDate,
        at: DateTime<Utc>,
        village: usize,
        no: &HouseholdNo,
        late: bool,
    ) -> anyhow::Result<()> {
        let cadre = self.villages[village].cadre.clone();
        let (scope, actor) = (cadre.scope(), cadre.actor());
        let Some(d) = self.db.household(&scope, no).await? else { return Ok(()) };
        if !matches!(d.record.household.monitoring, Monitoring::Monitored { .. })
            || d.record.household.officer.is_some()
        {
            return Ok(());
        }
        let mut r = self.rng(TAG_OFFICER, &[key(no), 1]);
        let male = r.chance(0.6);
        let (user, name) = if village == 0 {
            (self.officer.id.0.to_string(), String::new())
        } else {
            (String::new(), synth::person_name(&mut r, male, 1980))
        };
        let input = OfficerInput {
            user,
            name,
            unit: UNITS[r.below(UNITS.len() as u32) as usize].to_string(),
            phone: synth::mobile(&mut r).to_string(),
            on: on.to_string(),
            reason: String::new(),
        };
        service::assign_officer(self.db, at, on, &scope, &actor, no, d.record.version, &input)
            .await
            .map_err(|e| anyhow::anyhow!("officer of {no}: {e}"))?;
        self.stats.officers += 1;
        self.stats.officers_late += u64::from(late);
        self.plan_measures(on, village, no)
    }

    /// First measures within the 10 days (D10), on a working day before the deadline — except
    /// for the households whose officer never gets round to it.
    fn plan_measures(&mut self, on: NaiveDate, village: usize, no: &HouseholdNo) -> anyhow::Result<()> {
        let rules = self.rules(on, village);
        let due = domain::assistance::measures_due(&self.cal, on, self.villages[village].code, &rules)?.extended;
        if due < self.last_day() {
            self.assignments += 1;
            if measures_missing(self.assignments - 1) {
                return Ok(());
            }
        }
        let mut r = self.rng(TAG_OFFICER, &[key(no), 2]);
        let want = self.on_or_after(on + Duration::days(i64::from(r.range(1, 7))))?;
        // the last working day before the deadline, when the one wanted is past it
        let day = if want <= due {
            want
        } else {
            self.campaign_days.iter().rev().find(|d| (on..=due).contains(*d)).copied().unwrap_or(on)
        };
        self.schedule(day, Phase::Measure, Job::Measure { village, no: no.clone() });
        Ok(())
    }

    /// Who records a household's measures: its officer's account in 大正村, else the cadre.
    fn measure_user(&self, village: usize) -> User {
        if village == 0 { self.officer.clone() } else { self.villages[village].cadre.clone() }
    }

    /// The officer's first measures: what the household's risks and problems call for (缺什么补什么),
    /// plus employment for a household that can work.
    pub async fn measure(
        &mut self,
        on: NaiveDate,
        at: DateTime<Utc>,
        village: usize,
        no: &HouseholdNo,
    ) -> anyhow::Result<()> {
        let user = self.measure_user(village);
        let scope = user.scope();
        let Some(d) = self.db.household(&scope, no).await? else { return Ok(()) };
        if !matches!(d.record.household.monitoring, Monitoring::Monitored { .. }) {
            return Ok(());
        }
        let measures = self.db.measures(&scope, d.record.id).await?;
        let advice = service::measure_advice(&d, &measures, &self.params, &self.cal, on);
        let first = advice.proposals.first().map(|p| (p.category, p.departments.first().copied()));
        let mut chosen = vec![first.unwrap_or((MeasureCategory::Social, None))];
        if advice.developmental_warning.is_some() && !chosen[0].0.developmental() {
            chosen.push((MeasureCategory::Employment, Some(Department::HumanResources)));
        }
        for (category, department) in chosen {
            self.add_measure(on, at, &user, &d, category, department).await?;
        }
        Ok(())
    }

    async fn add_measure(
        &mut self,
        on: NaiveDate,
        at: DateTime<Utc>,
        user: &User,
        d: &HouseholdDetail,
        category: MeasureCategory,
        department: Option<Department>,
    ) -> anyhow::Result<()> {
        let input = MeasureInput {
            category: category.label().to_string(),
            department: department.map(|x| x.key().to_string()).unwrap_or_default(),
            content: content(category).to_string(),
            planned_on: on.to_string(),
            status: "实施中".to_string(),
            ..Default::default()
        };
        let no = &d.record.household.household_no;
        service::add_measure(self.db, at, on, &user.scope(), &user.actor(), no, &input)
            .await
            .map_err(|e| anyhow::anyhow!("measure of {no}: {e}"))?;
        self.stats.measures += 1;
        Ok(())
    }

    /// Soon after the inclusion the town pushes the household's first department need as a
    /// 任务清单 (§7.3): 医保 for 因病, 人社 for 因务工就业不稳 ….
    pub async fn push(&mut self, on: NaiveDate, at: DateTime<Utc>, no: &HouseholdNo) -> anyhow::Result<()> {
        let (scope, actor) = (self.town.scope(), self.town.actor());
        let Some(d) = self.db.household(&scope, no).await? else { return Ok(()) };
        let measures = self.db.measures(&scope, d.record.id).await?;
        let advice = service::measure_advice(&d, &measures, &self.params, &self.cal, on);
        let Some((department, category)) =
            advice.proposals.iter().find_map(|p| p.departments.first().map(|dep| (*dep, p.category)))
        else {
            return Ok(());
        };
        let medical = department == Department::MedicalSecurity;
        let (count, max) =
            if medical { (&mut self.pushes.0, MAX_PUSHES.0) } else { (&mut self.pushes.1, MAX_PUSHES.1) };
        if *count >= max {
            return Ok(());
        }
        *count += 1;
        let pushed =
            service::push_department_tasks(self.db, &self.cal, at, on, &scope, &actor, no, &[(department, category)])
                .await
                .map_err(|e| anyhow::anyhow!("department tasks of {no}: {e}"))?;
        self.stats.tasks_pushed += pushed.len() as u64;
        let next = self.after(on, 1)?;
        for t in pushed.iter().filter(|t| t.department == Department::MedicalSecurity) {
            self.schedule(next, Phase::Department, Job::DepartmentAccept { task: t.id });
        }
        Ok(())
    }

    /// `dept` (区医保局) accepts a task the next working day; most are completed a few days later,
    /// two stay open past their date.
    pub async fn department_accept(&mut self, on: NaiveDate, at: DateTime<Utc>, id: i64) -> anyhow::Result<()> {
        let dept = self.dept.clone();
        let Some(t) = self.db.department_task(&dept.scope(), id).await? else { return Ok(()) };
        if t.state != TaskState::Sent {
            return Ok(());
        }
        self.act(on, at, &dept, id, t.version, &TaskAction::Accept).await?;
        let j = self.medical_tasks;
        self.medical_tasks += 1;
        if !matches!(j, 1 | 4) {
            let mut r = self.rng(TAG_TASK, &[id as u64]);
            let day = self.after(on, r.range(2, 5))?;
            self.schedule(day, Phase::Department, Job::DepartmentComplete { task: id });
        }
        Ok(())
    }

    pub async fn department_complete(&mut self, on: NaiveDate, at: DateTime<Utc>, id: i64) -> anyhow::Result<()> {
        let dept = self.dept.clone();
        let Some(t) = self.db.department_task(&dept.scope(), id).await? else { return Ok(()) };
        if t.state != TaskState::Accepted {
            return Ok(());
        }
        let text = "已落实医疗救助和大病保险倾斜支付，住院费用按规定报销".to_string();
        self.act(on, at, &dept, id, t.version, &TaskAction::Complete { text, on }).await?;
        self.stats.tasks_completed += 1;
        Ok(())
    }

    async fn act(
        &self,
        on: NaiveDate,
        at: DateTime<Utc>,
        dept: &User,
        id: i64,
        version: i64,
        action: &TaskAction,
    ) -> anyhow::Result<()> {
        service::act_on_department_task(self.db, at, on, &dept.scope(), &dept.actor(), dept.id, id, version, action)
            .await
            .map_err(|e| anyhow::anyhow!("department task #{id}: {e}"))?;
        Ok(())
    }
}
