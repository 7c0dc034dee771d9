//! The import path against the real store, on SQLite and on PostgreSQL (`TestDb::both()`; the
//! PostgreSQL half is skipped with a notice when unreachable, except under `CI=true`).
//!
//! The other exchange tests use an in-memory fake; these check that `store::Db` does what the
//! fake does where it matters: all or nothing, idempotent re-imports, updates in place, the
//! lookups by 户编号 and by ID, and export → import round trips. The sample sheet and the fake
//! are the ones of the `exchange` test binary, compiled in here as modules.

#[allow(dead_code)]
#[path = "exchange/fake.rs"]
mod fake;
#[allow(dead_code)]
#[path = "exchange/files.rs"]
mod files;

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use domain::audit::AuditAction;
use domain::ports::{
    AuditFilter, AuditStore, HouseholdDetail, HouseholdFilter, HouseholdStore, RegionStore, RegistryLookup,
};
use domain::{Actor, HouseholdNo, Role, Scope};
use exchange::{FileFormat, ImportOptions, ImportReport, Tier};
use store::testing::TestDb;

use fake::{FakeStore, scope_of, town_scope};
use files::{Dir, Sheet, id};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 5, 4, 9, 30, 0).unwrap()
}

const INCOME_YEAR: i32 = 2021;

async fn luorong(db: &store::Db) {
    db.upsert_regions(&Actor::cli(), now(), &domain::region::luorong_regions()).await.unwrap();
}

/// Runs `scenario(db, label)` on SQLite and on PostgreSQL, each a migrated database with the
/// 雒容镇 regions. Every database is dropped afterwards, also when a scenario fails; the first
/// failure is then raised again.
async fn on_both<F, Fut>(scenario: F)
where
    F: Fn(store::Db, &'static str) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut failure = None;
    for t in TestDb::both().await {
        luorong(&t.db).await;
        let started = std::time::Instant::now();
        let outcome = tokio::spawn(scenario(t.db.clone(), t.label)).await;
        eprintln!("[{}] {:.2?}{}", t.label, started.elapsed(), if outcome.is_err() { " FAILED" } else { "" });
        t.cleanup().await;
        if let Err(e) = outcome
            && failure.is_none()
        {
            failure = Some(e);
        }
    }
    if let Some(e) = failure {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("{e}"),
        }
    }
}

/// A second empty database of the same backend, with the regions.
async fn another(label: &str) -> TestDb {
    let t = if label == "sqlite" { TestDb::sqlite().await } else { TestDb::postgres().await.expect("PostgreSQL") };
    luorong(&t.db).await;
    t
}

async fn import_as<S>(store: &S, scope: &Scope, path: &Path, dry_run: bool) -> ImportReport
where
    S: RegionStore + HouseholdStore + RegistryLookup + AuditStore,
{
    let opts = ImportOptions { dry_run, income_year: INCOME_YEAR, file_name: None };
    exchange::import_households(store, scope, &Actor::cli(), now(), path, &opts, Box::new(|_, _| {}))
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn import<S: RegionStore + HouseholdStore + RegistryLookup + AuditStore>(store: &S, path: &Path) -> ImportReport {
    import_as(store, &town_scope(), path, false).await
}

/// Every household of the store, in list order.
async fn all(db: &store::Db) -> Vec<HouseholdDetail> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let (batch, next) =
            db.export_batch(&Scope::system(), &HouseholdFilter::default(), after.as_ref(), 100).await.unwrap();
        out.extend(batch);
        match next {
            Some(c) => after = Some(c),
            None => return out,
        }
    }
}

async fn household(db: &store::Db, no: &str) -> HouseholdDetail {
    db.household(&Scope::system(), &HouseholdNo::parse(no).unwrap()).await.unwrap().unwrap_or_else(|| panic!("no {no}"))
}

async fn count(db: &store::Db) -> i64 {
    db.list_households(&Scope::system(), &HouseholdFilter::default(), None, 1).await.unwrap().total
}

async fn audited_imports(db: &store::Db) -> usize {
    let rows = db.audit_rows(&AuditFilter::default(), 1000).await.unwrap();
    rows.iter().filter(|r| r.entry.action == AuditAction::Import).count()
}

/// Households without storage keys, versions and timestamps, for comparing two stores.
fn content(details: Vec<HouseholdDetail>) -> Vec<String> {
    let mut v: Vec<String> = details
        .into_iter()
        .map(|d| {
            let members: Vec<_> = d.members.iter().map(|m| (m.seq, &m.member)).collect();
            let mut incomes = d.incomes.clone();
            incomes.sort_by_key(|i| i.year);
            format!("{:?} {:?} {:?}", d.record.household, members, incomes)
        })
        .collect();
    v.sort();
    v
}

/// The sample with more optional fields filled in (as the export tests' sheet), so that the
/// round trip covers them.
fn rich() -> Sheet {
    let mut s = Sheet::sample();
    s.set(5, "是否饮水安全", "否")
        .set(5, "水量", "达标")
        .set(5, "水质", "不达标")
        .set(5, "两不愁是否有保障", "否")
        .set(5, "两不愁说明", "口粮不足")
        .set(5, "危房等级", "C级")
        .set(5, "是否享受低保", "是")
        .set(5, "转移性收入", "6800.25")
        .set(5, "帮扶责任人", "黄文敏")
        .set(5, "帮扶责任人电话", "13900002222");
    s.set(0, "务工月数", "10").set(0, "务工地点", "广东省东莞市");
    // a disability certificate number in the ID column
    let cert = format!("{}42", s.get(3, "证件号码"));
    s.set(3, "证件号码", &cert);
    s
}

#[tokio::test]
async fn a_file_imports_reimports_unchanged_and_a_correction_updates_in_place() {
    on_both(|db, label| async move {
        let dir = Dir::new();
        let mut s = Sheet::sample();
        let first = dir.path("a.xlsx");
        s.write_xlsx(&first);
        s.set(0, "家庭住址", "大正村3组2号").set(1, "家庭住址", "大正村3组2号").set(1, "务工月数", "6");
        let fixed = dir.path("b.csv");
        s.write_csv(&fixed);
        // the fake, as the reference
        let reference = FakeStore::luorong();
        import(&reference, &first).await;

        let r = import(&db, &first).await;
        assert_eq!(r.issues, vec![], "{label}");
        assert_eq!((r.rows, r.households, r.members, r.created, r.updated), (6, 3, 6, 3, 0), "{label}");
        assert!(r.written && r.import_id.is_some(), "{label}");
        assert_eq!(content(all(&db).await), content(reference.households()), "{label}: stored as the fake stores");
        let h2 = household(&db, "4502031002020001").await;
        assert_eq!((h2.members.len(), h2.record.version), (3, 1), "{label}");
        assert_eq!(h2.record.import_id, r.import_id, "{label}");
        assert_eq!(household(&db, "4502031002010001").await.incomes[0].year, INCOME_YEAR, "{label}");

        // the same file again: nothing to do, no version bumped
        let before = all(&db).await;
        let again = import(&db, &first).await;
        assert_eq!((again.errors, again.created, again.updated, again.unchanged), (0, 0, 0, 3), "{label}");
        assert_eq!(all(&db).await, before, "{label}: nothing changed");

        // a corrected file (csv this time) updates the one household in place
        let old = household(&db, "4502031002010001").await;
        let r = import(&db, &fixed).await;
        assert_eq!((r.errors, r.created, r.updated, r.unchanged), (0, 0, 1, 2), "{label}: {:#?}", r.issues);
        let new = household(&db, "4502031002010001").await;
        assert_eq!(new.record.id, old.record.id, "{label}");
        assert_eq!(new.record.version, old.record.version + 1, "{label}");
        // import_id stays the import that created the household (the page says “由导入批次 #n 建档”);
        // the fake store overwrites it with the latest import instead
        assert_eq!(new.record.import_id, old.record.import_id, "{label}");
        assert_ne!(new.record.import_id, r.import_id, "{label}");
        assert_eq!(new.record.household.address, "大正村3组2号", "{label}");
        assert_eq!(new.members[1].id, old.members[1].id, "{label}: member updated in place");
        assert_eq!(new.members[1].member.work_months, Some(6), "{label}");
        assert_eq!(new.members[0], old.members[0], "{label}: the unchanged member is untouched");
        for no in ["4502031002020001", "4502031002030001"] {
            assert_eq!(household(&db, no).await.record.version, 1, "{label}: {no} untouched");
        }
        assert_eq!(count(&db).await, 3, "{label}");
        assert_eq!(audited_imports(&db).await, 3, "{label}: each written import is audited");
        // the fake agrees on the correction too
        import(&reference, &fixed).await;
        assert_eq!(content(all(&db).await), content(reference.households()), "{label}");
    })
    .await;
}

#[tokio::test]
async fn a_file_with_one_error_writes_nothing() {
    on_both(|db, label| async move {
        let dir = Dir::new();
        let mut bad = Sheet::sample();
        // a letter in the middle of an ID on the last row; the other rows are fine, and the
        // first household has a change that would be an update
        let ok_id = bad.get(5, "证件号码");
        bad.set(5, "证件号码", &format!("{}A{}", &ok_id[..9], &ok_id[10..]));
        bad.set(0, "家庭住址", "大正村3组9号").set(1, "家庭住址", "大正村3组9号");
        let bad_path = dir.path("bad.xlsx");
        bad.write_xlsx(&bad_path);
        let good_path = dir.path("good.csv");
        Sheet::sample().write_csv(&good_path);

        let r = import(&db, &bad_path).await;
        let i = r.issues.iter().find(|i| i.tier == Tier::Error).expect("an error");
        assert_eq!((i.row, i.column.as_str()), (bad.row_number(5), "证件号码"), "{label}");
        assert_eq!(r.errors, 1, "{label}: {:#?}", r.issues);
        assert!(!r.written && r.import_id.is_none(), "{label}");
        assert_eq!((r.created, r.updated), (0, 0), "{label}");
        assert_eq!(count(&db).await, 0, "{label}: nothing written");
        assert_eq!(audited_imports(&db).await, 0, "{label}");

        // with the households registered, the same file changes none of them
        assert_eq!(import(&db, &good_path).await.created, 3, "{label}");
        let before = all(&db).await;
        let r = import(&db, &bad_path).await;
        assert!(r.errors == 1 && !r.written, "{label}");
        assert_eq!(all(&db).await, before, "{label}: nothing changed");
        assert_eq!(household(&db, "4502031002010001").await.record.household.address, "大正村3组1号", "{label}");
        assert_eq!(audited_imports(&db).await, 1, "{label}");

        // a dry run of a good file that would update: counts, writes nothing
        let fixed = dir.path("fixed.xlsx");
        let mut s = Sheet::sample();
        s.set(5, "家庭住址", "秀水村5组");
        s.write_xlsx(&fixed);
        let r = import_as(&db, &town_scope(), &fixed, true).await;
        assert!(r.dry_run && !r.written, "{label}");
        assert_eq!((r.created, r.updated, r.unchanged), (0, 1, 2), "{label}");
        assert_eq!(all(&db).await, before, "{label}: the dry run changed nothing");
    })
    .await;
}

#[tokio::test]
async fn lookups_by_household_number_and_id_use_the_store() {
    on_both(|db, label| async move {
        let dir = Dir::new();
        let first = dir.path("a.xlsx");
        Sheet::sample().write_xlsx(&first);
        assert_eq!(import(&db, &first).await.created, 3, "{label}");

        // an account for 大正村 imports 东塘村's household number into its own village
        let mut other = Sheet::sample();
        other.rows.truncate(2);
        other.set(1, "户编号", "4502031002020001").set(1, "与户主关系", "户主");
        let other_path = dir.path("b.xlsx");
        other.write_xlsx(&other_path);
        let r = import_as(&db, &scope_of(Role::TownOffice, "450203100201"), &other_path, false).await;
        let i = r
            .issues
            .iter()
            .find(|i| i.tier == Tier::Error && i.column == "户编号")
            .unwrap_or_else(|| panic!("{label}: {:#?}", r.issues));
        assert_eq!(i.row, other.row_number(1), "{label}");
        assert!(i.message.contains("管辖范围以外") && !i.message.contains("东塘"), "{label}: {}", i.message);
        assert!(!r.written, "{label}");

        // a new household with a member already registered in 4502031002010001
        let mut moved = Sheet::sample();
        moved.rows.truncate(2);
        moved.set(0, "户编号", "4502031002010099").set(1, "户编号", "4502031002010099");
        moved.set(0, "证件号码", &id((1990, 1, 1), 11));
        let moved_path = dir.path("c.xlsx");
        moved.write_xlsx(&moved_path);
        let r = import(&db, &moved_path).await;
        assert_eq!(r.errors, 0, "{label}: {:#?}", r.issues);
        let w = r
            .issues
            .iter()
            .find(|i| i.tier == Tier::Warning && i.column == "证件号码")
            .unwrap_or_else(|| panic!("{label}: {:#?}", r.issues));
        assert_eq!(w.row, moved.row_number(1), "{label}");
        assert!(w.message.contains("4502031002010001"), "{label}: {}", w.message);
        assert_eq!((r.created, r.updated, r.unchanged), (1, 0, 0), "{label}");
        assert_eq!(count(&db).await, 4, "{label}");
    })
    .await;
}

#[tokio::test]
async fn export_then_import_round_trips_in_both_formats() {
    on_both(|db, label| async move {
        let dir = Dir::new();
        let src = dir.path("src.xlsx");
        rich().write_xlsx(&src);
        let r = import(&db, &src).await;
        assert_eq!((r.errors, r.created), (0, 3), "{label}: {:#?}", r.issues);

        for format in [FileFormat::Xlsx, FileFormat::Csv] {
            let path = dir.path(&format!("export.{}", format.extension()));
            let file = std::fs::File::create(&path).unwrap();
            let rows = exchange::export_households(
                &db,
                &town_scope(),
                &Actor::cli(),
                now(),
                &HouseholdFilter::default(),
                format,
                file,
                &mut |_, _| {},
            )
            .await
            .unwrap();
            assert_eq!(rows, 6, "{label} {format:?}");

            // into the same database: nothing to do
            let before = all(&db).await;
            let again = import(&db, &path).await;
            assert_eq!(again.issues, vec![], "{label} {format:?}");
            assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 3), "{label} {format:?}");
            assert_eq!(all(&db).await, before, "{label} {format:?}");

            // into an empty database of the same backend: the same content
            let fresh = another(label).await;
            let r = import(&fresh.db, &path).await;
            let copied = content(all(&fresh.db).await);
            fresh.cleanup().await;
            assert_eq!((r.errors, r.created), (0, 3), "{label} {format:?}: {:#?}", r.issues);
            assert_eq!(copied, content(all(&db).await), "{label} {format:?}");
        }
        let audit = db.audit_rows(&AuditFilter::default(), 100).await.unwrap();
        assert_eq!(audit.iter().filter(|r| r.entry.action == AuditAction::Export).count(), 2, "{label}");
    })
    .await;
}

/// A department file longer than one chunk ([`exchange::feed::FEED_CHUNK`] rows) is matched chunk
/// by chunk while it is read: the report is the whole file's, a re-import of the same file is
/// recognised before it is read, and a bad cell in the last chunk writes nothing although the
/// chunks before it were matched already.
#[tokio::test]
async fn a_department_file_is_imported_chunk_by_chunk_and_a_late_bad_cell_writes_nothing() {
    use domain::feed::FeedKind;
    use domain::ports::{AlertFilter, FeedStore};
    use exchange::feed::{FEED_CHUNK, FeedFile, FeedMapping, FeedSource, import_feed_file};

    on_both(|db, label| async move {
        let dir = Dir::new();
        let sheet = dir.path("a.xlsx");
        Sheet::sample().write_xlsx(&sheet);
        import(&db, &sheet).await;
        let households = all(&db).await;
        let (first, second) = (&households[0].members[0].member, &households[1].members[0].member);
        // one row not in the registry first, then 2½ chunks of small amounts for one member
        // (matched, below the 医保 threshold), one large amount for another member last
        let mut text = String::from("姓名,证件号码,金额\n查无此人,450203199901011234,100\n");
        let quiet = FEED_CHUNK * 5 / 2;
        for _ in 0..quiet {
            text.push_str(&format!("{},{},1.00\n", first.name, first.national_id));
        }
        text.push_str(&format!("{},{},60000.00\n", second.name, second.national_id));
        let good = dir.path("医保.csv");
        std::fs::write(&good, &text).unwrap();
        // the same with a bad amount in the first chunk and another in the last row
        let bad = dir.path("医保2.csv");
        let (header, body) = text.split_once('\n').unwrap();
        let wrong = |amount: &str| format!("{},{},{amount}\n", second.name, second.national_id);
        std::fs::write(&bad, format!("{header}\n{}{body}{}", wrong("六千"), wrong("六万"))).unwrap();

        let calendar = domain::calendar::WorkCalendar::builtin();
        let today = now().date_naive();
        let run = |path: &Path| {
            let file = FeedFile {
                source: FeedSource::Path(path.to_path_buf()),
                file_name: path.file_name().unwrap().to_string_lossy().into_owned(),
                kind: FeedKind::MedicalSelfPaid,
                mapping: FeedMapping::default(),
                default_period: "2022-04".into(),
                dry_run: false,
                mapping_to_save: None,
            };
            let (db, calendar) = (db.clone(), calendar.clone());
            async move {
                // the progress calls, in order
                let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
                let seen = std::sync::Arc::clone(&calls);
                let progress = Box::new(move |done: usize, total: usize| seen.lock().unwrap().push((done, total)));
                let out =
                    import_feed_file(&db, &calendar, now(), today, &town_scope(), &Actor::cli(), None, file, progress)
                        .await
                        .unwrap();
                let calls = calls.lock().unwrap().clone();
                (out, calls)
            }
        };

        // both bad cells named (the file is read to its end), and nothing written
        let (failed, calls) = run(&bad).await;
        assert!(failed.report.is_none(), "{label}");
        // rows read reported as they go; no write announced
        assert!(calls.len() > 20 && !calls.contains(&(usize::MAX, 0)), "{label}: {calls:?}");
        let e: Vec<(usize, &str)> = failed.file.errors.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(e, vec![(2, "金额"), (quiet + 5, "金额")], "{label}");
        let sha = FeedSource::Path(bad.clone()).sha256().unwrap();
        assert!(db.feed_batch_by_file(FeedKind::MedicalSelfPaid, &sha, None).await.unwrap().is_none(), "{label}");
        let alerts = db.alerts(&Scope::system(), &AlertFilter::default(), 10).await.unwrap();
        assert_eq!(alerts.total, 0, "{label}");

        // the good file: every chunk counted, the one alert raised, the one stranger kept for review
        let (done, calls) = run(&good).await;
        assert_eq!(calls.last(), Some(&(usize::MAX, 0)), "{label}: the final write announced");
        assert_eq!(calls[calls.len() - 2], (quiet + 2, quiet + 2), "{label}: every row read first");
        assert_eq!(done.file.rows, quiet + 2, "{label}");
        let r = done.report.expect("imported");
        assert_eq!(r.rows_read as usize, quiet + 2, "{label}");
        assert_eq!((r.matched as usize, r.quiet as usize, r.unmatched.len()), (quiet + 1, quiet, 1), "{label}");
        assert_eq!((r.unmatched[0].line, r.unmatched[0].name.as_str()), (2, "查无此人"), "{label}");
        let o = r.outcome.expect("written");
        assert_eq!((o.raised, o.updated), (1, 0), "{label}");
        let alerts = db.alerts(&Scope::system(), &AlertFilter::default(), 10).await.unwrap();
        assert_eq!(alerts.total, 1, "{label}");
        assert_eq!(alerts.items[0].member_name, second.name.to_string(), "{label}");

        // the same file again: recognised by its checksum before it is read
        let (again, _) = run(&good).await;
        let prev = again.report.and_then(|r| r.previous).expect("imported before");
        assert_eq!((prev.id, prev.rows_read as usize), (o.batch_id, quiet + 2), "{label}");
        assert!(again.file.columns.is_empty(), "{label}: not read again");
    })
    .await;
}

/// A file of several parts is written in one transaction: an error in its last row leaves
/// nothing of the parts before; corrected, it is written whole, and imported again it changes
/// nothing.
#[tokio::test]
async fn a_file_of_several_parts_is_all_or_nothing() {
    on_both(|db, label| async move {
        let dir = Dir::new();
        let mut s = Sheet::many(5_600);
        let (last, c) = (s.rows.len() - 1, s.col("证件号码"));
        let good = s.rows[last][c].clone();
        s.rows[last][c] = "45020319".into();
        let path = dir.path("many.csv");
        s.write_csv(&path);
        let r = import(&db, &path).await;
        assert_eq!((r.errors, r.written), (1, false), "{label}");
        assert_eq!(count(&db).await, 0, "{label}: a part was left behind");
        let filter = AuditFilter { entity: Some("import".into()), ..Default::default() };
        assert!(db.audit_rows(&filter, 10).await.unwrap().is_empty(), "{label}: an import was recorded");

        s.rows[last][c] = good;
        s.write_csv(&path);
        let r = import(&db, &path).await;
        assert_eq!((r.errors, r.created, r.members), (0, 5_600, 11_200), "{label}: {:?}", r.issues.first());
        assert_eq!(count(&db).await, 5_600, "{label}");
        let again = import(&db, &path).await;
        assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 5_600), "{label}");

        // corrections in the first part and in the last: each audited with before and after,
        // the import's own entry last, the chain whole (on PostgreSQL the parts' entries wait in
        // a temporary table for the commit)
        let address = s.col("家庭住址");
        for row in [0, 1, last - 1, last] {
            s.rows[row][address] = "新址".into();
        }
        s.write_csv(&path);
        let r = import(&db, &path).await;
        assert_eq!((r.created, r.updated, r.unchanged), (0, 2, 5_598), "{label}");
        let audit = db.audit_rows(&AuditFilter::default(), 3).await.unwrap();
        let kinds: Vec<(&str, AuditAction)> = audit.iter().map(|a| (a.entry.entity.as_str(), a.entry.action)).collect();
        assert_eq!(
            kinds,
            [("import", AuditAction::Import), ("household", AuditAction::Update), ("household", AuditAction::Update)],
            "{label}"
        );
        assert!(audit[1].entry.note.contains("4502031002005599") && audit[2].entry.note.contains("4502031002000000"));
        store::verify_audit(&db).await.unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(household(&db, "4502031002005599").await.record.household.address, "新址", "{label}");
    })
    .await;
}
