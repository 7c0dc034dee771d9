//! 识别认定 cases through the domain services and the store, on both backends (DOMAIN D8): a
//! finding becomes a clue, every step is recorded in order by its own role, skipping and
//! reordering are refused, a notice runs its five days, and county approval followed by 纳入监测
//! makes the household monitored — each step audited, the case visible only within scope.

use chrono::{NaiveDate, TimeZone, Utc};
use domain::account::{Actor, Role, Scope, User, Username};
use domain::calendar::WorkCalendar;
use domain::codes::{MonitoringCategory, RiskType};
use domain::household::Monitoring;
use domain::params::ParamName;
use domain::ports::*;
use domain::procedure::{
    CaseStatus, ClueSource, Decision, NewAttachment, OpenError, Procedure, ProcedureError, Step, StepInput, StepOutcome,
};
use domain::region::RegionCode;
use domain::rules::FindingCode;
use domain::service::{self, CaseError, OpenCaseInput};
use store::testing::TestDb;

const DAZHENG: &str = "450203100201";
const DONGTANG: &str = "450203100202";

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

fn step(s: Step, on: NaiveDate) -> StepInput {
    StepInput { step: s, reject: false, on, participants: vec![], note: String::new(), decision: None }
}

#[tokio::test]
async fn a_finding_goes_through_every_step_and_the_household_is_monitored() {
    for t in TestDb::both().await {
        let db = &t.db;
        let at = Utc.with_ymd_and_hms(2022, 3, 28, 2, 0, 0).unwrap();
        db.upsert_regions(&Actor::cli(), at, &domain::region::luorong_regions()).await.unwrap();
        let gx = RegionCode::parse("450000000000").unwrap();
        db.set_param(&Actor::cli(), at, 2022, gx, ParamName::MonitoringLine, 650_000, true, "示例值").await.unwrap();
        let opts = synth::GenOptions { households: Some(300), seed: 5, ..Default::default() };
        let plan = domain::import::plan(synth::households(synth::Preset::Town, &opts).collect(), vec![]);
        let meta = ImportMeta { file_name: "synth".into(), file_sha256: String::new(), rows: 0, warnings: 0 };
        db.apply_import(&Actor::cli(), at, &meta, &plan).await.unwrap();
        let cal = WorkCalendar::builtin();
        let report =
            domain::screening::screen(db, &cal, &Scope::system(), &Actor::cli(), at, day(3, 28), None, &mut |_, _| {})
                .await
                .unwrap();
        assert!(report.households > 0);

        let cadre = user(db, "cadre1", Role::VillageCadre, DAZHENG).await;
        let town = user(db, "town1", Role::TownOffice, "450203100000").await;
        let county = user(db, "county1", Role::CountyApprover, "450203000000").await;
        let stranger = user(db, "cadre2", Role::VillageCadre, DONGTANG).await;
        let (cs, ca) = (cadre.scope(), cadre.actor());

        // an open 应纳未纳 finding of 大正村
        let findings = db
            .findings(
                &cs,
                &FindingFilter {
                    code: Some(FindingCode::ShouldMonitor),
                    status: Some(FindingStatus::Open),
                    ..Default::default()
                },
                50,
            )
            .await
            .unwrap();
        let f = findings.items.first().unwrap_or_else(|| panic!("[{}] a SHOULD_MONITOR finding in 大正村", t.label));
        let open = OpenCaseInput {
            procedure: Procedure::Identification,
            household_no: f.household_no.clone(),
            source: None,
            finding_id: Some(f.id),
            on: day(3, 28),
            note: String::new(),
        };
        // another village's cadre does not even see the household
        assert!(matches!(
            service::open_case(db, at, day(3, 28), &stranger.scope(), &stranger.actor(), &open, &[]).await,
            Err(CaseError::NotFound)
        ));
        let files = [NewAttachment {
            file_name: "线索登记.jpg".into(),
            content_type: "image/jpeg".into(),
            body: vec![0xff, 0xd8, 1, 2, 3],
        }];
        let case = service::open_case(db, at, day(3, 28), &cs, &ca, &open, &files).await.unwrap();
        assert_eq!((case.status, case.source, case.steps.len()), (CaseStatus::Open, Some(ClueSource::Campaign), 1));
        assert!(case.steps[0].note.contains("应纳未纳"), "[{}] the finding explains the clue", t.label);
        assert_eq!(case.steps[0].attachments.len(), 1);
        // the finding is now a clue, and a second case on the household is refused
        let f2 = db
            .findings(&cs, &FindingFilter { household: Some(case.household_id), ..Default::default() }, 50)
            .await
            .unwrap();
        assert_eq!(f2.items.iter().find(|x| x.id == f.id).unwrap().status, FindingStatus::Clue);
        let again = OpenCaseInput { finding_id: None, source: Some(ClueSource::Cadre), note: "再次".into(), ..open };
        assert!(matches!(
            service::open_case(db, at, day(3, 28), &cs, &ca, &again, &[]).await,
            Err(CaseError::Open(OpenError::AlreadyOpen { .. }))
        ));

        // skipping is refused; the wrong role is refused; nothing is written
        let mut c = case;
        let e = service::record_step(
            db,
            at,
            day(3, 28),
            &cs,
            &ca,
            c.id,
            c.version,
            &step(Step::Appraisal, day(3, 28)),
            &[],
        )
        .await
        .unwrap_err();
        assert!(matches!(e, CaseError::Step(ProcedureError::Skipped { expected: Step::Application, .. })));
        let (ts, ta) = (town.scope(), town.actor());
        let e = service::record_step(
            db,
            at,
            day(3, 28),
            &ts,
            &ta,
            c.id,
            c.version,
            &step(Step::Application, day(3, 28)),
            &[],
        )
        .await
        .unwrap_err();
        assert!(matches!(e, CaseError::Step(ProcedureError::WrongRole { .. })));
        assert_eq!(db.case(&cs, c.id).await.unwrap().unwrap().steps.len(), 1);

        let (ks, ka) = (county.scope(), county.actor());
        let go = |s: Step, on: NaiveDate| {
            let mut i = step(s, on);
            if s == Step::HomeVerification {
                i.participants = vec!["韦小明".into(), "蓝海".into()];
            }
            if s == Step::CountyApproval {
                i.decision = Some(Decision::Inclusion {
                    category: MonitoringCategory::MarginalAtRisk,
                    risks: vec![RiskType::Illness, RiskType::Schooling],
                    disaster: None,
                });
            }
            i
        };
        for (s, on, scope, actor) in [
            (Step::Application, day(3, 28), &cs, &ca),
            (Step::HomeVerification, day(3, 29), &cs, &ca),
            (Step::DataCheck, day(3, 30), &ks, &ka),
            (Step::Appraisal, day(3, 30), &cs, &ca),
            (Step::PublicNotice, day(3, 31), &cs, &ca),
        ] {
            c = service::record_step(db, at, day(4, 30), scope, actor, c.id, c.version, &go(s, on), &[])
                .await
                .unwrap_or_else(|e| panic!("[{}] {s}: {e}", t.label));
        }
        assert_eq!(c.steps.last().unwrap().outcome, StepOutcome::Started);
        // a stale version is a conflict, not a double step
        let e = service::record_step(
            db,
            at,
            day(4, 30),
            &cs,
            &ca,
            c.id,
            c.version - 1,
            &go(Step::PublicNotice, day(4, 5)),
            &[],
        )
        .await
        .unwrap_err();
        assert!(matches!(e, CaseError::Conflict));
        // posted 03-31: ends 04-05 at the earliest
        let e = service::record_step(
            db,
            at,
            day(4, 30),
            &cs,
            &ca,
            c.id,
            c.version,
            &go(Step::PublicNotice, day(4, 4)),
            &[],
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("公示须满5天"), "{e}");
        c = service::record_step(
            db,
            at,
            day(4, 30),
            &cs,
            &ca,
            c.id,
            c.version,
            &go(Step::PublicNotice, day(4, 5)),
            &[],
        )
        .await
        .unwrap();
        assert_eq!(c.steps.len(), 6, "[{}] the notice's end completes its own row", t.label);
        assert_eq!(c.steps[5].ended_on, Some(day(4, 5)));
        for (s, on, scope, actor) in [
            (Step::TownReview, day(4, 6), &ts, &ta),
            (Step::CountyApproval, day(4, 7), &ks, &ka),
            (Step::Announcement, day(4, 8), &ts, &ta),
        ] {
            c = service::record_step(db, at, day(4, 30), scope, actor, c.id, c.version, &go(s, on), &[])
                .await
                .unwrap_or_else(|e| panic!("[{}] {s}: {e}", t.label));
        }
        let before = db.household(&ts, &c.household_no).await.unwrap().unwrap();
        assert_eq!(before.record.household.monitoring, Monitoring::Never);
        c = service::record_step(db, at, day(4, 30), &ts, &ta, c.id, c.version, &go(Step::Inclusion, day(4, 8)), &[])
            .await
            .unwrap();
        assert_eq!((c.status, c.closed_on), (CaseStatus::Completed, Some(day(4, 8))));
        let after = db.household(&ts, &c.household_no).await.unwrap().unwrap();
        assert_eq!(
            after.record.household.monitoring,
            Monitoring::Monitored { category: MonitoringCategory::MarginalAtRisk, since: day(4, 8) }
        );
        assert_eq!(after.record.household.risks, vec![RiskType::Illness, RiskType::Schooling]);
        assert_eq!(after.record.version, before.record.version + 1);
        // a closed case takes nothing more (409 in the API)
        let e =
            service::record_step(db, at, day(4, 30), &ts, &ta, c.id, c.version, &go(Step::Inclusion, day(4, 9)), &[])
                .await
                .unwrap_err();
        assert!(matches!(&e, CaseError::Step(p) if p.is_order_violation()));

        // every step in order, each by its role, each audited
        let names: Vec<Step> = c.steps.iter().map(|s| s.step).collect();
        assert_eq!(names, Procedure::Identification.steps());
        let roles: Vec<Role> = c.steps.iter().map(|s| s.actor_role).collect();
        assert_eq!(roles[3], Role::CountyApprover);
        let audit = db.audit_rows(&AuditFilter::default(), 200).await.unwrap();
        let case_rows = audit.iter().filter(|r| r.entry.entity == "case").count();
        assert_eq!(case_rows, 1 + 10, "[{}] opening + nine steps + the notice's end", t.label);

        // lists and counts by scope
        assert_eq!(db.cases(&stranger.scope(), &CaseFilter::default(), 10).await.unwrap().total, 0);
        assert_eq!(db.cases(&cs, &CaseFilter::default(), 10).await.unwrap().total, 1);
        assert!(db.case(&stranger.scope(), c.id).await.unwrap().is_none());
        let file = c.steps[0].attachments[0].id;
        assert!(service::download_attachment(db, at, &stranger.scope(), &stranger.actor(), file).await.is_err());
        let (meta, body) = service::download_attachment(db, at, &cs, &ca, file).await.unwrap();
        assert_eq!((meta.file_name.as_str(), body.len()), ("线索登记.jpg", 5));

        // identification of a monitored household is refused
        let monitored =
            OpenCaseInput { household_no: c.household_no.clone(), source: Some(ClueSource::Cadre), ..again.clone() };
        assert!(matches!(
            service::open_case(db, at, day(4, 9), &cs, &ca, &monitored, &[]).await,
            Err(CaseError::Open(OpenError::AlreadyMonitored(_)))
        ));
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_rejected_case_stays_readable_and_a_withdrawn_one_frees_the_household() {
    for t in TestDb::both().await {
        let db = &t.db;
        let at = Utc.with_ymd_and_hms(2022, 3, 28, 2, 0, 0).unwrap();
        db.upsert_regions(&Actor::cli(), at, &domain::region::luorong_regions()).await.unwrap();
        let opts = synth::GenOptions { households: Some(60), seed: 8, ..Default::default() };
        let plan = domain::import::plan(synth::households(synth::Preset::Town, &opts).collect(), vec![]);
        let meta = ImportMeta { file_name: "synth".into(), file_sha256: String::new(), rows: 0, warnings: 0 };
        db.apply_import(&Actor::cli(), at, &meta, &plan).await.unwrap();
        let cadre = user(db, "cadre1", Role::VillageCadre, DAZHENG).await;
        let county = user(db, "county1", Role::CountyApprover, "450203000000").await;
        let (cs, ca) = (cadre.scope(), cadre.actor());
        let list = db
            .list_households(
                &cs,
                &HouseholdFilter { status: Some(domain::household::MonitoringStatus::Never), ..Default::default() },
                None,
                2,
            )
            .await
            .unwrap();
        let input = |no: &domain::household::HouseholdNo| OpenCaseInput {
            procedure: Procedure::Identification,
            household_no: no.clone(),
            source: Some(ClueSource::SelfDeclared),
            finding_id: None,
            on: day(3, 28),
            note: "农户口头申请：家人住院".into(),
        };
        let c =
            service::open_case(db, at, day(3, 28), &cs, &ca, &input(&list.items[0].household_no), &[]).await.unwrap();
        let mut c2 = c.clone();
        for s in [Step::Application, Step::HomeVerification] {
            let mut i = step(s, day(3, 29));
            i.participants = vec!["甲".into(), "乙".into()];
            c2 = service::record_step(db, at, day(3, 30), &cs, &ca, c2.id, c2.version, &i, &[]).await.unwrap();
        }
        let mut no = step(Step::DataCheck, day(3, 30));
        no.reject = true;
        no.note = "家庭成员为财政供养人员".into();
        let (ks, ka) = (county.scope(), county.actor());
        c2 = service::record_step(db, at, day(3, 30), &ks, &ka, c2.id, c2.version, &no, &[]).await.unwrap();
        assert_eq!((c2.status, c2.closed_on), (CaseStatus::Rejected, Some(day(3, 30))));
        let read = db.case(&cs, c2.id).await.unwrap().unwrap();
        assert_eq!(read.steps.last().unwrap().note, "家庭成员为财政供养人员");
        assert_eq!(read.steps.last().unwrap().outcome, StepOutcome::Rejected);
        // the household may be identified again later, by a new clue
        let c3 = service::open_case(db, at, day(3, 31), &cs, &ca, &input(&list.items[0].household_no), &[]).await;
        assert!(c3.is_ok(), "[{}] {:?}", t.label, c3.err());

        // withdrawal needs a reason, closes the case, and is audited
        let other =
            service::open_case(db, at, day(3, 28), &cs, &ca, &input(&list.items[1].household_no), &[]).await.unwrap();
        assert!(matches!(
            service::withdraw_case(db, at, day(3, 29), &cs, &ca, other.id, other.version, " ").await,
            Err(CaseError::Invalid(_))
        ));
        let w = service::withdraw_case(db, at, day(3, 29), &cs, &ca, other.id, other.version, "农户书面申请撤回")
            .await
            .unwrap();
        assert_eq!(w.status, CaseStatus::Withdrawn);
        assert!(w.steps[0].note.contains("撤销：农户书面申请撤回"));
        let counts = db.case_counts(&cs).await.unwrap();
        assert_eq!(counts.iter().map(|c| c.count).sum::<i64>(), 1, "[{}] only c3 is open", t.label);
        t.cleanup().await;
    }
}
