//! Screening through the store, on both backends: batch and single evaluation agree, findings
//! are recorded once per finding, and a year without a monitoring line writes nothing (D2).

use std::collections::BTreeSet;

use chrono::{NaiveDate, TimeZone, Utc};
use domain::account::{Actor, Scope};
use domain::calendar::WorkCalendar;
use domain::params::ParamName;
use domain::ports::*;
use domain::region::RegionCode;
use store::testing::TestDb;

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 3, 28).unwrap()
}

async fn seeded(t: &TestDb, with_line: bool) {
    let at = Utc.with_ymd_and_hms(2022, 3, 28, 1, 0, 0).unwrap();
    t.db.upsert_regions(&Actor::cli(), at, &domain::region::luorong_regions()).await.unwrap();
    if with_line {
        let gx = RegionCode::parse("450000000000").unwrap();
        t.db.set_param(&Actor::cli(), at, 2022, gx, ParamName::MonitoringLine, 650_000, true, "示例值").await.unwrap();
    }
    let opts = synth::GenOptions { households: Some(600), seed: 7, ..Default::default() };
    let plan = domain::import::plan(synth::households(synth::Preset::Town, &opts).collect(), vec![]);
    let meta = ImportMeta { file_name: "synth".into(), file_sha256: String::new(), rows: 0, warnings: 0 };
    t.db.apply_import(&Actor::cli(), at, &meta, &plan).await.unwrap();
}

#[tokio::test]
async fn batch_and_single_screening_agree() {
    for t in TestDb::both().await {
        seeded(&t, true).await;
        let db = &t.db;
        let cal = WorkCalendar::builtin();
        let at = Utc.with_ymd_and_hms(2022, 3, 28, 2, 0, 0).unwrap();
        let mut progress = |_: usize, _: usize| {};
        let report =
            domain::screening::screen(db, &cal, &Scope::system(), &Actor::cli(), at, as_of(), None, &mut progress)
                .await
                .unwrap();
        assert_eq!(report.households, 600);
        assert!(!report.findings.is_empty(), "synthetic data has findings");
        let codes: BTreeSet<_> = report.findings.iter().map(|f| f.finding.code).collect();
        assert!(codes.len() >= 3, "several kinds of findings: {codes:?}");
        let batch: BTreeSet<(String, String, String)> = report
            .findings
            .iter()
            .map(|f| (f.household_no.to_string(), f.finding.fingerprint(), f.finding.explanation.clone()))
            .collect();
        // every household again, one at a time, with the same function a saved form uses
        let mut single = BTreeSet::new();
        let mut after = None;
        loop {
            let (households, next) =
                db.export_batch(&Scope::system(), &HouseholdFilter::default(), after.as_ref(), 100).await.unwrap();
            for d in &households {
                for f in domain::screening::screen_one(db, &cal, at, as_of(), d).await.unwrap() {
                    single.insert((d.record.household.household_no.to_string(), f.fingerprint(), f.explanation));
                }
            }
            match next {
                Some(c) => after = Some(c),
                None => break,
            }
        }
        assert_eq!(batch, single, "[{}] batch and single screening disagree", t.label);
        // stored: one row per finding, all open; screening again changes nothing but the dates
        let stored = db.findings(&Scope::system(), &FindingFilter::default(), 10_000).await.unwrap();
        assert_eq!(stored.total as usize, batch.len());
        assert!(stored.items.iter().all(|f| f.status == FindingStatus::Open));
        let again =
            domain::screening::screen(db, &cal, &Scope::system(), &Actor::cli(), at, as_of(), None, &mut progress)
                .await
                .unwrap();
        assert_eq!((again.changes.opened, again.changes.resolved, again.changes.updated), (0, 0, batch.len()));
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_year_without_a_line_writes_nothing() {
    for t in TestDb::both().await {
        seeded(&t, false).await;
        let cal = WorkCalendar::builtin();
        let at = Utc.with_ymd_and_hms(2022, 3, 28, 2, 0, 0).unwrap();
        let mut progress = |_: usize, _: usize| {};
        let err =
            domain::screening::screen(&t.db, &cal, &Scope::system(), &Actor::cli(), at, as_of(), None, &mut progress)
                .await
                .unwrap_err();
        assert!(err.to_string().contains("尚未设定监测范围"), "{err}");
        assert_eq!(t.db.findings(&Scope::system(), &FindingFilter::default(), 10).await.unwrap().total, 0);
        let audit =
            t.db.audit_rows(&AuditFilter { entity: Some("screening".into()), ..Default::default() }, 10).await.unwrap();
        assert!(audit.is_empty(), "no run recorded");
        t.cleanup().await;
    }
}
