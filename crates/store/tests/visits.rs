//! Visits through the domain services and the store, on both backends (DOMAIN D13): the task's
//! status follows the visits, a screener records only their own tasks, the cadre returns or
//! accepts, and acceptance changes the registry in one audited transaction — to exactly what
//! the rules' preview saw.

use std::collections::BTreeSet;

use chrono::{NaiveDate, TimeZone, Utc};
use domain::account::{Actor, Role, Scope, User, Username};
use domain::calendar::WorkCalendar;
use domain::campaign::{CampaignInput, FormKind, TaskStatus};
use domain::params::ParamName;
use domain::ports::*;
use domain::region::RegionCode;
use domain::service::{self, EditError};
use domain::visit::{ReviewStatus, VisitInput};
use store::testing::TestDb;

const DAZHENG: &str = "450203100201";

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, m, d).unwrap()
}

async fn user(db: &store::Db, name: &str, role: Role, region: &str) -> User {
    let at = Utc.with_ymd_and_hms(2022, 3, 26, 1, 0, 0).unwrap();
    db.create_user(
        &Actor::cli(),
        at,
        &NewUser {
            username: Username::parse(name).unwrap(),
            display_name: name.into(),
            role,
            region: RegionCode::parse(region).unwrap(),
            password_hash: "x".into(),
        },
    )
    .await
    .unwrap()
}

fn form(d: &HouseholdDetail, mode: &str, wage: &str) -> VisitInput {
    let mut i = VisitInput::prefilled(d, day(4, 6), "韦小明、蓝海");
    for (k, v) in [
        ("mode", mode),
        ("met", "是"),
        ("confirmed", "是"),
        ("signed_by", "户主"),
        ("income_wage", wage),
        ("housing_grade", "B级"),
        ("dropout", "否"),
        ("uninsured", "否"),
        ("water_quantity", "达标"),
        ("water_quality", "达标"),
        ("water_convenience", "达标"),
        ("water_reliability", "不达标"),
        ("food_clothing", "是"),
        ("sudden", "否"),
        ("conclusion", "无风险"),
    ] {
        i.set(k, v);
    }
    i
}

#[tokio::test]
async fn visits_move_tasks_and_acceptance_changes_the_registry_as_previewed() {
    for t in TestDb::both().await {
        let db = &t.db;
        let at = Utc.with_ymd_and_hms(2022, 4, 6, 2, 0, 0).unwrap();
        db.upsert_regions(&Actor::cli(), at, &domain::region::luorong_regions()).await.unwrap();
        let gx = RegionCode::parse("450000000000").unwrap();
        db.set_param(&Actor::cli(), at, 2022, gx, ParamName::MonitoringLine, 650_000, true, "示例值").await.unwrap();
        let opts = synth::GenOptions { households: Some(200), seed: 11, ..Default::default() };
        let plan = domain::import::plan(synth::households(synth::Preset::Town, &opts).collect(), vec![]);
        let meta = ImportMeta { file_name: "synth".into(), file_sha256: String::new(), rows: 0, warnings: 0 };
        db.apply_import(&Actor::cli(), at, &meta, &plan).await.unwrap();
        let town = RegionCode::parse("450203100000").unwrap();
        let (c, _) = service::create_campaign(
            db,
            at,
            &Scope::system(),
            &Actor::cli(),
            &CampaignInput::seeded("雒容镇2022年防返贫集中排查", town, 2022),
        )
        .await
        .unwrap();
        // an ordinary household (附件5) of 大正村 with at least two members, not the head removed
        let tasks = db
            .tasks(
                &Scope::system(),
                &TaskFilter {
                    campaign: c.id,
                    region: Some(RegionCode::parse(DAZHENG).unwrap()),
                    group_no: None,
                    screener: None,
                    status: None,
                    after: None,
                },
                500,
            )
            .await
            .unwrap();
        let mut chosen = None;
        for task in tasks.items.iter().filter(|t| t.form == FormKind::Ordinary) {
            let d = db.household(&Scope::system(), &task.household_no).await.unwrap().unwrap();
            if d.members.len() >= 3 {
                chosen = Some((task.clone(), d));
                break;
            }
        }
        let (task, d) = chosen.expect("a 附件5 household of three or more");
        let screener = user(db, "screener1", Role::Screener, DAZHENG).await;
        let other = user(db, "screener2", Role::Screener, DAZHENG).await;
        let cadre = user(db, "cadre1", Role::VillageCadre, DAZHENG).await;
        let sel = TaskSelection { village: task.village, group_no: None, tasks: vec![task.id] };
        service::assign_tasks(db, at, &cadre.scope(), &cadre.actor(), c.id, &sel, Some(screener.id)).await.unwrap();
        let (ss, sa) = (screener.scope(), screener.actor());

        // a phone visit: needs the in-person follow-up
        let phone = form(&d, "电话", "30000");
        let v1 = service::record_visit(db, at, day(4, 6), &ss, &sa, task.id, &phone).await.unwrap();
        assert_eq!(v1.review, ReviewStatus::Submitted);
        assert_eq!(db.task(&ss, task.id).await.unwrap().unwrap().status, TaskStatus::RemoteOnly, "[{}]", t.label);
        // the other screener — and an assistance officer of the village — can neither see nor
        // record this task
        let officer = user(db, "officer1", Role::AssistanceOfficer, DAZHENG).await;
        assert!(db.task(&officer.scope(), task.id).await.unwrap().is_none());
        assert!(matches!(
            service::record_visit(db, at, day(4, 6), &officer.scope(), &officer.actor(), task.id, &phone).await,
            Err(EditError::NotFound)
        ));
        assert!(db.task(&other.scope(), task.id).await.unwrap().is_none());
        assert!(matches!(
            service::record_visit(db, at, day(4, 6), &other.scope(), &other.actor(), task.id, &phone).await,
            Err(EditError::NotFound)
        ));
        // in person: one member died; the income fell
        let leaving = d.members.iter().find(|m| m.member.relation != domain::codes::Relation::Head).unwrap();
        let mut visit = form(&d, "入户", "6000");
        visit.set(&format!("m{}_removal", leaving.id.0), "死亡");
        let v2 = service::record_visit(db, at, day(4, 7), &ss, &sa, task.id, &visit).await.unwrap();
        let t2 = db.task(&ss, task.id).await.unwrap().unwrap();
        assert_eq!((t2.status, t2.last_visit_on), (TaskStatus::Visited, Some(day(4, 6))));
        let mine = db.visits(&ss, &VisitFilter { task: Some(task.id), ..Default::default() }, 10).await.unwrap();
        assert_eq!(mine.total, 2);
        assert_eq!(db.visits(&other.scope(), &VisitFilter::default(), 10).await.unwrap().total, 0);

        // returned with a reason, corrected, back to review; a stale form is refused
        let cs = cadre.scope();
        let ca = cadre.actor();
        assert!(matches!(
            service::return_visit(db, at, &cs, &ca, v2.id, v2.version, "").await,
            Err(EditError::Invalid(_))
        ));
        service::return_visit(db, at, &cs, &ca, v2.id, v2.version, "务工收入漏填，请补充").await.unwrap();
        let returned = db.visit(&ss, v2.id).await.unwrap().unwrap();
        assert_eq!((returned.review, returned.review_note.as_str()), (ReviewStatus::Returned, "务工收入漏填，请补充"));
        visit.set("income_wage", "7200");
        let v2b = service::correct_visit(db, at, day(4, 8), &ss, &sa, v2.id, returned.version, &visit).await.unwrap();
        assert_eq!(
            (v2b.review, v2b.content.income.as_ref().unwrap().wage),
            (ReviewStatus::Submitted, domain::Fen::from_yuan(7_200))
        );
        assert!(matches!(
            service::correct_visit(db, at, day(4, 8), &ss, &sa, v2.id, returned.version, &visit).await,
            Err(EditError::Invalid(e)) if e.get("version").is_some()
        ));
        // a screener may not accept
        assert!(matches!(
            service::accept_visit(db, at, &ss, &sa, v2.id, v2b.version, "").await,
            Err(EditError::Forbidden)
        ));

        // the preview before acceptance …
        let cal = WorkCalendar::builtin();
        let (before, app) = service::plan_acceptance(db, &cs, &v2b).await.unwrap();
        let preview =
            domain::screening::preview(db, &cal, day(4, 8), &domain::visit::applied(&before, &app)).await.unwrap();
        // … acceptance: one transaction, household version + 1
        service::accept_visit(db, at, &cs, &ca, v2.id, v2b.version, "已核实").await.unwrap();
        let after = db.household(&Scope::system(), &task.household_no).await.unwrap().unwrap();
        assert_eq!(after.record.version, d.record.version + 1);
        assert_eq!(after.members.len(), d.members.len() - 1);
        assert!(!after.members.iter().any(|m| m.id == leaving.id));
        let income = after.incomes.iter().find(|r| r.year == 2022).expect("the visit's income, under 2022");
        assert_eq!(income.wage, domain::Fen::from_yuan(7_200));
        assert_eq!(after.record.household.water.safe, Some(false), "one water indicator failed");
        // … and the rules on the registry now say what the preview said
        let now = domain::screening::screen_one(db, &cal, at, day(4, 8), &after).await.unwrap();
        let fp = |f: &[domain::rules::Finding]| f.iter().map(|f| f.fingerprint()).collect::<BTreeSet<_>>();
        assert_eq!(fp(&preview), fp(&now), "[{}]", t.label);
        assert!(now.iter().any(|f| f.code == domain::rules::FindingCode::ShouldMonitor), "{now:?}");
        // accepted once; the phone visit is still waiting; the audit shows the removal with its reason
        assert!(matches!(
            service::accept_visit(db, at, &cs, &ca, v2.id, v2b.version + 1, "").await,
            Err(EditError::Invalid(_))
        ));
        let waiting = db
            .visits(&cs, &VisitFilter { review: Some(ReviewStatus::Submitted), ..Default::default() }, 10)
            .await
            .unwrap();
        assert_eq!(waiting.items.iter().map(|v| v.id).collect::<Vec<_>>(), vec![v1.id]);
        let audit = db.audit_rows(&AuditFilter::default(), 50).await.unwrap();
        assert!(audit.iter().any(|e| e.entry.note.contains(&format!("死亡（采纳核查 #{}）", v2.id.0))));
        assert!(audit.iter().any(|e| e.entry.note.contains("采纳户") && e.entry.note.contains("已核实")));
        t.cleanup().await;
    }
}

#[tokio::test]
async fn the_look_back_lists_open_findings_remote_visits_missing_visits_and_later_changes() {
    use domain::campaign::LookBackReason;
    for t in TestDb::both().await {
        let db = &t.db;
        let at = Utc.with_ymd_and_hms(2022, 4, 6, 2, 0, 0).unwrap();
        db.upsert_regions(&Actor::cli(), at, &domain::region::luorong_regions()).await.unwrap();
        let gx = RegionCode::parse("450000000000").unwrap();
        db.set_param(&Actor::cli(), at, 2022, gx, ParamName::MonitoringLine, 650_000, true, "示例值").await.unwrap();
        let opts = synth::GenOptions { households: Some(200), seed: 5, ..Default::default() };
        let plan = domain::import::plan(synth::households(synth::Preset::Town, &opts).collect(), vec![]);
        let meta = ImportMeta { file_name: "synth".into(), file_sha256: String::new(), rows: 0, warnings: 0 };
        db.apply_import(&Actor::cli(), at, &meta, &plan).await.unwrap();
        let cal = WorkCalendar::builtin();
        domain::screening::screen(db, &cal, &Scope::system(), &Actor::cli(), at, day(4, 6), None, &mut |_, _| {})
            .await
            .unwrap();
        let town = RegionCode::parse("450203100000").unwrap();
        let sys = Scope::system();
        let (c, total) = service::create_campaign(
            db,
            at,
            &sys,
            &Actor::cli(),
            &CampaignInput::seeded("雒容镇2022年防返贫集中排查", town, 2022),
        )
        .await
        .unwrap();
        // three ordinary households of 大正村 without open findings: A visited in person and
        // accepted, B only by phone, C visited and then edited in the registry
        let all = db
            .tasks(
                &sys,
                &TaskFilter {
                    campaign: c.id,
                    region: Some(RegionCode::parse(DAZHENG).unwrap()),
                    group_no: None,
                    screener: None,
                    status: None,
                    after: None,
                },
                500,
            )
            .await
            .unwrap();
        let open = db.findings(&sys, &FindingFilter::default(), 10_000).await.unwrap();
        let with_findings: BTreeSet<_> = open.items.iter().map(|f| f.household_no.to_string()).collect();
        let clean: Vec<_> = all
            .items
            .iter()
            .filter(|t| t.form == FormKind::Ordinary && !with_findings.contains(t.household_no.as_str()))
            .take(4)
            .cloned()
            .collect();
        assert_eq!(clean.len(), 4);
        let (a, b, c3, d4) = (&clean[0], &clean[1], &clean[2], &clean[3]);
        let cadre = user(db, "cadre1", Role::VillageCadre, DAZHENG).await;
        let (cs, ca) = (cadre.scope(), cadre.actor());
        let detail = |no: &domain::household::HouseholdNo| {
            let no = no.clone();
            async move { db.household(&Scope::system(), &no).await.unwrap().unwrap() }
        };
        // keep the income high so that the visits create no findings
        let da = detail(&a.household_no).await;
        let va = service::record_visit(db, at, day(4, 6), &cs, &ca, a.id, &form(&da, "入户", "90000")).await.unwrap();
        service::accept_visit(db, at, &cs, &ca, va.id, va.version, "").await.unwrap();
        let db_ = detail(&b.household_no).await;
        service::record_visit(db, at, day(4, 6), &cs, &ca, b.id, &form(&db_, "电话", "90000")).await.unwrap();
        let dc = detail(&c3.household_no).await;
        service::record_visit(db, at, day(4, 6), &cs, &ca, c3.id, &form(&dc, "入户", "90000")).await.unwrap();
        let dc = detail(&c3.household_no).await;
        let mut input = domain::fields::HouseholdInput::from_household(&dc.record.household);
        input.address = Some("雒容镇大正村新址8号".into());
        let moved_to = if dc.record.household.group_no == 9 { 8 } else { 9 };
        input.group_no = Some(moved_to.to_string());
        service::update_household(db, at, &cs, &ca, &c3.household_no, dc.record.version, &input).await.unwrap();
        // the task follows the household to its new group
        assert_eq!(db.task(&sys, c3.id).await.unwrap().unwrap().group_no, moved_to, "[{}]", t.label);
        // D is identified as 监测对象 during the campaign: its visit is on 附件3, and the task follows
        let dd = detail(&d4.household_no).await;
        let mut monitored = dd.record.household.clone();
        monitored.monitoring = domain::household::Monitoring::Monitored {
            category: domain::codes::MonitoringCategory::MarginalAtRisk,
            since: day(4, 1),
        };
        monitored.risks = vec![domain::codes::RiskType::Illness];
        db.save_household(&ca, at, &dd, &monitored).await.unwrap();
        let dd = detail(&d4.household_no).await;
        let mut f3 = form(&dd, "入户", "90000");
        f3.set("conclusion", "");
        f3.set("officer_present", "否");
        f3.set("elimination_view", "风险未消除，继续监测");
        let v4 = service::record_visit(db, at, day(4, 6), &cs, &ca, d4.id, &f3).await.unwrap();
        assert_eq!(v4.form, FormKind::Monitored);
        assert_eq!(db.task(&sys, d4.id).await.unwrap().unwrap().form, FormKind::Monitored);
        // the town office generates the list at the look-back
        assert!(matches!(
            service::generate_look_back(db, at, day(5, 1), &cs, &ca, c.id).await,
            Err(EditError::Forbidden)
        ));
        let n = service::generate_look_back(db, at, day(5, 1), &sys, &Actor::cli(), c.id).await.unwrap();
        let filter =
            |reason, pending_only| LookBackFilter { campaign: c.id, region: None, reason, pending_only, after: None };
        let listed = db.look_back(&sys, &filter(None, false), 1_000).await.unwrap();
        assert_eq!(listed.total, n);
        let reasons = |no: &domain::household::HouseholdNo| {
            listed.items.iter().find(|i| &i.task.household_no == no).map(|i| i.reasons())
        };
        assert_eq!(reasons(&a.household_no), None, "[{}] visited, accepted, nothing open: not listed", t.label);
        assert_eq!(reasons(&b.household_no), Some(vec![LookBackReason::RemoteOnly]));
        assert_eq!(reasons(&c3.household_no), Some(vec![LookBackReason::ChangedAfterVisit]));
        assert_eq!(reasons(&d4.household_no), None, "changed before its visit, visited in person");
        // everyone else: not visited; those with open findings say so too
        assert_eq!(n, total - 2, "all but A and D");
        let with_open = db.look_back(&sys, &filter(Some(LookBackReason::OpenFindings), false), 1_000).await.unwrap();
        assert_eq!(with_open.total as usize, with_findings.len());
        // B phoned again after the list was made: still pending; visited in person: done
        let db_ = detail(&b.household_no).await;
        let mut call = form(&db_, "电话", "90000");
        call.set("visited_on", "2022-05-02");
        service::record_visit(db, at, day(5, 2), &cs, &ca, b.id, &call).await.unwrap();
        assert_eq!(db.look_back(&sys, &filter(None, true), 1_000).await.unwrap().total, n, "a call is not a visit");
        let mut again = form(&db_, "入户", "90000");
        again.set("visited_on", "2022-05-03");
        service::record_visit(db, at, day(5, 3), &cs, &ca, b.id, &again).await.unwrap();
        let pending = db.look_back(&sys, &filter(None, true), 1_000).await.unwrap();
        assert_eq!(pending.total, n - 1);
        assert!(!pending.items.iter().any(|i| i.task.household_no == b.household_no));
        let counts = db.look_back_counts(&cs, c.id).await.unwrap();
        assert_eq!(counts.len(), 1, "the cadre sees their village only");
        assert_eq!(counts[0].done, 1);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn the_work_calendar_is_stored_edited_and_audited() {
    use domain::calendar::{DayEntry, DayKind, WorkCalendar};
    for t in TestDb::both().await {
        let db = &t.db;
        let at = Utc.with_ymd_and_hms(2022, 3, 28, 1, 0, 0).unwrap();
        assert!(db.stored_calendar().await.unwrap().is_none(), "nothing before first use");
        // first use stores the shipped data, exactly
        let c = service::load_calendar(db, at).await.unwrap();
        let builtin = WorkCalendar::builtin();
        assert_eq!((c.years(), c.entries()), (builtin.years(), builtin.entries()));
        let stored = db.stored_calendar().await.unwrap().unwrap();
        assert_eq!(stored.entries, builtin.entries().to_vec(), "[{}]", t.label);
        let gx = RegionCode::parse("450000000000").unwrap();
        assert_eq!(c.add_working_days(day(3, 28), 5, gx).unwrap(), day(4, 7));
        // an administrator adds a local day off; a weekday cannot be a make-up working day
        let admin = user(db, "admin1", Role::Admin, "450000000000").await;
        let local = DayEntry {
            date: day(6, 6),
            kind: DayKind::Holiday,
            region: Some(RegionCode::parse("450203000000").unwrap()),
            name: "区级活动".into(),
            source: "测试".into(),
        };
        let c = service::put_calendar_day(db, at, &admin.scope(), &admin.actor(), local.clone()).await.unwrap();
        let village = RegionCode::parse(DAZHENG).unwrap();
        assert!(!c.is_workday(day(6, 6), village).unwrap() && c.is_workday(day(6, 6), gx).unwrap());
        let bad = DayEntry { date: day(6, 7), kind: DayKind::Workday, ..local.clone() };
        assert!(matches!(
            service::put_calendar_day(db, at, &admin.scope(), &admin.actor(), bad).await,
            Err(EditError::Invalid(e)) if e.to_string().contains("不是周六或周日")
        ));
        let cadre = user(db, "cadre9", Role::VillageCadre, DAZHENG).await;
        assert!(matches!(
            service::put_calendar_day(db, at, &cadre.scope(), &cadre.actor(), local.clone()).await,
            Err(EditError::Forbidden)
        ));
        assert_eq!(service::load_calendar(db, at).await.unwrap().entries().len(), builtin.entries().len() + 1);
        // removed again; a file with an error replaces nothing
        service::delete_calendar_day(db, at, &admin.scope(), &admin.actor(), local.date, local.region).await.unwrap();
        assert_eq!(service::load_calendar(db, at).await.unwrap().entries().len(), builtin.entries().len());
        let broken = builtin.to_csv().replacen("2022-01-01,holiday", "2022-13-01,holiday", 1);
        assert!(service::replace_calendar_csv(db, at, &admin.scope(), &admin.actor(), &broken, "x.csv").await.is_err());
        assert_eq!(db.stored_calendar().await.unwrap().unwrap().entries, builtin.entries().to_vec());
        let audit = db.audit_rows(&AuditFilter::default(), 20).await.unwrap();
        assert!(audit.iter().any(|e| e.entry.note.contains("工作日历：2022-06-06 放假（区级活动")));
        assert!(audit.iter().any(|e| e.entry.note.contains("装入内置工作日历")));
        store::verify_audit(db).await.unwrap();
        t.cleanup().await;
    }
}
