//! Exporting: the file round-trips through the importer, keeps IDs as text, is audited; the
//! template and the issue report.

use calamine::{Data, Reader, Xlsx, open_workbook};
use domain::audit::AuditAction;
use domain::ports::{HouseholdDetail, HouseholdFilter};
use domain::{Actor, RegionCode};
use exchange::{FileFormat, Tier};

use crate::fake::{FakeStore, town_scope};
use crate::files::{Dir, Sheet, id};
use crate::{import, import_as, now};

/// The sample with every optional field used somewhere.
fn rich() -> Sheet {
    let mut s = Sheet::sample();
    s.set(5, "是否饮水安全", "否")
        .set(5, "水量", "达标")
        .set(5, "水质", "不达标")
        .set(5, "用水方便程度", "达标")
        .set(5, "供水保证率", "达标")
        .set(5, "两不愁是否有保障", "否")
        .set(5, "两不愁说明", "口粮不足")
        .set(5, "是否军烈属", "是")
        .set(5, "整户无劳动能力兜底保障户", "是")
        .set(5, "是否易地扶贫搬迁", "是")
        .set(5, "危房等级", "C级")
        .set(5, "是否特困供养", "是")
        .set(5, "是否享受低保", "是")
        .set(5, "是否参加城乡居民基本养老保险", "")
        .set(5, "是否参加城镇职工基本养老保险", "否")
        .set(5, "政治面貌", "中共党员")
        .set(5, "工资性收入", "0")
        .set(5, "转移性收入", "6800.25")
        .set(5, "合规自付支出", "1500")
        .set(5, "理赔收入", "300.5")
        .set(5, "帮扶责任人", "黄文敏")
        .set(5, "帮扶责任人单位", "雒容镇社会事业办")
        .set(5, "帮扶责任人电话", "13900002222");
    s.set(0, "务工月数", "10").set(0, "务工地点", "广东省东莞市");
    s.set(4, "失学或辍学原因", "");
    // a disability certificate number in the ID column
    let cert = format!("{}42", s.get(3, "证件号码"));
    s.set(3, "证件号码", &cert);
    s
}

async fn export_to(store: &FakeStore, filter: &HouseholdFilter, format: FileFormat, path: &std::path::Path) -> usize {
    let file = std::fs::File::create(path).unwrap();
    exchange::export_households(store, &town_scope(), &Actor::cli(), now(), filter, format, file, &mut |_, _| {})
        .await
        .unwrap()
}

/// Every household of `scope` into `out`, for the tests of what goes wrong.
async fn try_export<W: std::io::Write + Send + 'static>(
    store: &FakeStore,
    scope: &domain::Scope,
    format: FileFormat,
    out: W,
) -> Result<usize, exchange::ExportError> {
    let all = HouseholdFilter::default();
    exchange::export_households(store, scope, &Actor::cli(), now(), &all, format, out, &mut |_, _| {}).await
}

/// Households without storage keys, versions and timestamps, for comparing two stores.
fn content(details: Vec<HouseholdDetail>) -> Vec<String> {
    let mut v: Vec<String> = details
        .into_iter()
        .map(|d| {
            let members: Vec<_> = d.members.iter().map(|m| (m.seq, &m.member)).collect();
            format!("{:?} {:?} {:?}", d.record.household, members, d.incomes)
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn export_then_import_changes_nothing_in_both_formats() {
    let dir = Dir::new();
    let src = dir.path("src.xlsx");
    rich().write_xlsx(&src);
    let store = FakeStore::luorong();
    let r = import(&store, &src).await;
    assert_eq!((r.errors, r.created), (0, 3), "{:#?}", r.issues);

    for format in [FileFormat::Xlsx, FileFormat::Csv] {
        let path = dir.path(&format!("export.{}", format.extension()));
        let rows = export_to(&store, &HouseholdFilter::default(), format, &path).await;
        assert_eq!(rows, 6);

        // into the same store: nothing to do
        let before = store.households();
        let again = import(&store, &path).await;
        assert_eq!(again.issues, vec![], "{format:?}");
        assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 3), "{format:?}");
        assert_eq!(store.households(), before);

        // into an empty store: the same content
        let fresh = FakeStore::luorong();
        import(&fresh, &path).await;
        assert_eq!(content(fresh.households()), content(store.households()), "{format:?}");
    }
}

#[tokio::test]
async fn xlsx_export_keeps_ids_as_text_and_money_as_numbers() {
    let dir = Dir::new();
    let src = dir.path("src.csv");
    rich().write_csv(&src);
    let store = FakeStore::luorong();
    import(&store, &src).await;
    let path = dir.path("out.xlsx");
    export_to(&store, &HouseholdFilter::default(), FileFormat::Xlsx, &path).await;

    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    assert_eq!(wb.sheet_names()[0], "农户成员");
    let range = wb.worksheet_range("农户成员").unwrap();
    let header: Vec<String> = range.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
    let expected: Vec<&str> = exchange::layout::COLUMNS.iter().map(|c| c.header).collect();
    assert_eq!(header, expected);
    let col = |h: &str| header.iter().position(|x| x == h).unwrap();
    let first = range.rows().nth(1).unwrap();
    assert!(matches!(&first[col("证件号码")], Data::String(s) if s.len() == 18), "{:?}", first[col("证件号码")]);
    assert!(matches!(&first[col("户编号")], Data::String(_)));
    assert!(matches!(&first[col("联系电话")], Data::String(s) if s == "13800001234"));
    assert!(matches!(first[col("工资性收入")], Data::Float(v) if v == 24000.0));
    let eliminated = range.rows().nth(6).unwrap();
    assert!(matches!(eliminated[col("风险消除时间")], Data::DateTime(_)), "{:?}", eliminated[col("风险消除时间")]);
}

#[tokio::test]
async fn csv_export_is_utf8_with_bom() {
    let dir = Dir::new();
    let src = dir.path("src.xlsx");
    Sheet::sample().write_xlsx(&src);
    let store = FakeStore::luorong();
    import(&store, &src).await;
    let path = dir.path("out.csv");
    export_to(&store, &HouseholdFilter::default(), FileFormat::Csv, &path).await;
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.starts_with("县,乡镇,村,组,户编号,"));
    assert_eq!(text.lines().count(), 7);
    assert!(text.contains("24000.00"));
}

#[tokio::test]
async fn export_is_filtered_and_audited() {
    let dir = Dir::new();
    let src = dir.path("src.xlsx");
    Sheet::sample().write_xlsx(&src);
    let store = FakeStore::luorong();
    import(&store, &src).await;
    let filter = HouseholdFilter { region: Some(RegionCode::parse("450203100201").unwrap()), ..Default::default() };
    let path = dir.path("dazheng.csv");
    let rows = export_to(&store, &filter, FileFormat::Csv, &path).await;
    assert_eq!(rows, 2);
    let audit = store.audit();
    let e = audit.iter().find(|e| e.action == AuditAction::Export).expect("export audited");
    assert_eq!(e.entity, "export");
    assert_eq!(e.region, filter.region);
    assert!(e.note.contains("大正村") && e.note.contains("共1户、2行"), "{}", e.note);
}

#[tokio::test]
async fn a_role_without_the_export_permission_is_refused() {
    let store = FakeStore::luorong();
    let scope = crate::fake::scope_of(domain::Role::Leader, "450203100000");
    let r = try_export(&store, &scope, FileFormat::Csv, Vec::new()).await;
    assert!(matches!(r, Err(exchange::ExportError::Forbidden)));
    assert!(store.audit().is_empty());
}

/// A disk that fills up while the file is written: the export fails with the write's error
/// and is not recorded as done.
#[tokio::test]
async fn a_failed_write_is_an_error_and_not_audited() {
    struct Full(usize);
    impl std::io::Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0 < buf.len() {
                return Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left on device"));
            }
            self.0 -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let dir = Dir::new();
    let src = dir.path("src.xlsx");
    Sheet::sample().write_xlsx(&src);
    let store = FakeStore::luorong();
    import(&store, &src).await;
    let before = store.audit().len();
    match try_export(&store, &town_scope(), FileFormat::Csv, Full(100)).await {
        Err(exchange::ExportError::Write(exchange::WriteError::Io(e))) => {
            assert_eq!(e.kind(), std::io::ErrorKind::StorageFull)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.audit().len(), before);
}

/// Many households: lookups go in batches of 500, the export in batches of 2,000.
#[tokio::test]
async fn large_files_go_in_batches() {
    let base = Sheet::sample();
    let mut s = Sheet { rows: Vec::new(), ..base.clone() };
    // 2,100 households: the IDs below repeat after that
    for i in 0..2100u16 {
        for (r, seq) in [(0usize, 1u16), (1, 2)] {
            let mut row = base.rows[r].clone();
            row[s.col("户编号")] = format!("45020310020{:05}", i);
            let birth = (1950 + i32::from(i % 50), 1 + u32::from(i % 12), 1 + u32::from(i % 28));
            row[s.col("证件号码")] = id(birth, (i % 100) * 10 + seq);
            row[s.col("性别")] = String::new();
            s.rows.push(row);
        }
    }
    let dir = Dir::new();
    let path = dir.path("big.csv");
    s.write_csv(&path);
    let store = FakeStore::luorong();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let opts = exchange::ImportOptions { dry_run: false, income_year: 2021, file_name: None };
    let calls = std::sync::Arc::clone(&seen);
    let progress = Box::new(move |done, total| calls.lock().unwrap().push((done, total)));
    let r =
        exchange::import_households(&store, &town_scope(), &Actor::cli(), now(), &path, &opts, progress).await.unwrap();
    assert_eq!((r.errors, r.created, r.members), (0, 2100, 4200), "{:?}", r.issues.first());
    // a CSV does not say its length up front: the total is known at the end; then the commit
    assert_eq!(*seen.lock().unwrap(), vec![(1000, 0), (2000, 0), (3000, 0), (4000, 0), (4200, 4200), (usize::MAX, 0)]);

    let out = dir.path("big.xlsx");
    let mut calls = Vec::new();
    let file = std::fs::File::create(&out).unwrap();
    let rows = exchange::export_households(
        &store,
        &town_scope(),
        &Actor::cli(),
        now(),
        &HouseholdFilter::default(),
        FileFormat::Xlsx,
        file,
        &mut |done, total| calls.push((done, total)),
    )
    .await
    .unwrap();
    assert_eq!(rows, 4200);
    assert_eq!(calls, vec![(2000, 2100), (2100, 2100)]);
    let again = import(&store, &out).await;
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 2100));

    // the database goes away after the first batch: an error, the workbook is not completed (no
    // file that looks whole but lacks rows) and no export is recorded
    store.fail_export_after(1);
    let audited = store.audit().len();
    let cut = dir.path("cut.xlsx");
    let r = try_export(&store, &town_scope(), FileFormat::Xlsx, std::fs::File::create(&cut).unwrap()).await;
    assert!(matches!(r, Err(exchange::ExportError::Store(_))), "{r:?}");
    assert_eq!(std::fs::metadata(&cut).unwrap().len(), 0, "nothing of the workbook is written");
    assert_eq!(store.audit().len(), audited);
}

#[tokio::test]
async fn template_example_rows_are_refused_until_filled_in() {
    let dir = Dir::new();
    for format in [FileFormat::Xlsx, FileFormat::Csv] {
        let path = dir.path(&format!("模板.{}", format.extension()));
        let file = std::fs::File::create(&path).unwrap();
        exchange::write_template(format, file, &domain::region::luorong_regions()).unwrap();
        let store = FakeStore::luorong();
        // untouched, its example rows are refused (they must not land in the registry)
        let r = import_as(&store, &town_scope(), &path, true).await;
        assert_eq!((r.errors, r.warnings), (2, 0), "{format:?} {:#?}", r.issues);
        assert!(r.issues.iter().all(|i| i.column == "户编号" && i.message.contains("示例行")));
    }
    // with a real number, the example parses without any problem
    let csv = std::fs::read_to_string(dir.path("模板.csv"))
        .unwrap()
        .replace(exchange::write::EXAMPLE_HOUSEHOLD_NO, "4502031002010001");
    std::fs::write(dir.path("filled.csv"), csv).unwrap();
    let r = import_as(&FakeStore::luorong(), &town_scope(), &dir.path("filled.csv"), true).await;
    assert_eq!((r.errors, r.warnings, r.households, r.members, r.created), (0, 0, 1, 2, 1), "{:#?}", r.issues);
    // the xlsx has the 说明 sheet with a line per column
    let mut wb: Xlsx<_> = open_workbook(dir.path("模板.xlsx")).unwrap();
    assert_eq!(wb.sheet_names(), vec!["农户成员", "说明"]);
    let notes = wb.worksheet_range("说明").unwrap();
    assert_eq!(notes.rows().count(), exchange::layout::COLUMNS.len() + 1);
    let relation = notes.rows().find(|r| r[0] == "与户主关系").unwrap();
    assert_eq!(relation[1].to_string(), "必填");
    assert!(relation[3].to_string().contains("之子"));
}

#[tokio::test]
async fn issue_report_lists_row_column_value_tier_and_message() {
    let mut s = Sheet::sample();
    s.set(1, "与户主关系", "表哥");
    s.set(3, "性别", "男");
    let dir = Dir::new();
    let path = dir.path("a.csv");
    s.write_csv(&path);
    let r = import(&FakeStore::luorong(), &path).await;
    assert_eq!((r.errors, r.warnings), (1, 1));

    let csv = exchange::write_issues(FileFormat::Csv, Vec::new(), &r.issues).unwrap();
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("行号,列,值,级别,说明"));
    let first = lines.next().unwrap();
    assert!(first.starts_with("3,与户主关系,表哥,错误,无法识别“表哥”"), "{first}");

    let xlsx_path = dir.path("问题.xlsx");
    let xlsx = exchange::write_issues(FileFormat::Xlsx, Vec::new(), &r.issues).unwrap();
    std::fs::write(&xlsx_path, xlsx).unwrap();
    let mut wb: Xlsx<_> = open_workbook(&xlsx_path).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<String>> = range.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2][3], Tier::Warning.label());
    assert_eq!(rows[2][1], "性别");
}

#[test]
fn operations_are_send_futures() {
    fn assert_send<T: Send>(_: T) {}
    let store = FakeStore::luorong();
    let scope = town_scope();
    let actor = Actor::cli();
    let opts = exchange::ImportOptions { dry_run: true, income_year: 2021, file_name: None };
    let path = std::path::PathBuf::from("x.csv");
    assert_send(exchange::import_households(&store, &scope, &actor, now(), &path, &opts, Box::new(|_, _| {})));
    let mut progress = |_: usize, _: usize| {};
    let filter = HouseholdFilter::default();
    assert_send(exchange::export_households(
        &store,
        &scope,
        &actor,
        now(),
        &filter,
        FileFormat::Xlsx,
        Vec::new(),
        &mut progress,
    ));
}
