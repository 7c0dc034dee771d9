//! Importing: errors refuse the whole file, warnings are imported and counted, re-imports are
//! idempotent, corrections update in place.

use domain::{Relation, Role};
use exchange::Tier;

use crate::fake::{FakeStore, head_name, scope_of, town_scope};
use crate::files::{Dir, Sheet, Typed, id};
use crate::{INCOME_YEAR, import, import_as, issue};

/// Imports `sheet` as xlsx and (unless it has typed cells) as csv; each must be refused with an
/// error at (row, column) whose message contains `fragment`, and nothing may be written.
async fn expect_error(sheet: &Sheet, row: usize, column: &str, fragment: &str) {
    let dir = Dir::new();
    let mut paths = vec![dir.path("农户.xlsx")];
    sheet.write_xlsx(&paths[0]);
    if sheet.typed.is_empty() {
        paths.push(dir.path("农户.csv"));
        sheet.write_csv(&paths[1]);
    }
    for path in paths {
        let store = FakeStore::luorong();
        let report = import(&store, &path).await;
        let i = issue(&report, Tier::Error, row, column);
        assert!(i.message.contains(fragment), "{}: “{}” lacks “{fragment}”", path.display(), i.message);
        assert!(report.errors >= 1 && !report.written, "{}", path.display());
        assert_eq!((report.created, report.updated), (0, 0));
        assert!(store.households().is_empty(), "{}: something was written", path.display());
        assert!(store.imports().is_empty());
    }
}

/// Imports `sheet` as xlsx: no error, the warning at (row, column) contains `fragment`, and all
/// households are written.
async fn expect_warning(sheet: &Sheet, row: usize, column: &str, fragment: &str) -> FakeStore {
    let dir = Dir::new();
    let path = dir.path("农户.xlsx");
    sheet.write_xlsx(&path);
    let store = FakeStore::luorong();
    let report = import(&store, &path).await;
    assert_eq!(report.errors, 0, "{:#?}", report.issues);
    let i = issue(&report, Tier::Warning, row, column);
    assert!(i.message.contains(fragment), "“{}” lacks “{fragment}”", i.message);
    assert!(report.written);
    assert!(report.warnings >= 1);
    assert_eq!(store.imports()[0].warnings, report.warnings, "the import record counts the warnings");
    assert_eq!(store.households().len(), report.households);
    store
}

#[tokio::test]
async fn sample_imports_cleanly_from_xlsx_and_csv() {
    let sheet = Sheet::sample();
    let dir = Dir::new();
    for (name, write) in [("a.xlsx", Sheet::write_xlsx as fn(&Sheet, &std::path::Path)), ("a.csv", Sheet::write_csv)] {
        let path = dir.path(name);
        write(&sheet, &path);
        let store = FakeStore::luorong();
        let r = import(&store, &path).await;
        assert_eq!(r.issues, vec![], "{name}");
        assert_eq!((r.rows, r.households, r.members, r.created, r.updated), (6, 3, 6, 3, 0), "{name}");
        assert!(r.written && r.import_id.is_some());
        assert_eq!(r.file_sha256.len(), 64);
        let h2 = store.household("4502031002020001").unwrap();
        assert_eq!(h2.members.len(), 3);
        assert_eq!(head_name(&h2), "黄大明");
        assert_eq!(h2.record.household.village.to_string(), "450203100202");
        assert_eq!(h2.record.household.risks.len(), 2);
        assert_eq!(h2.record.household.officer.as_ref().unwrap().phone.as_ref().unwrap().as_str(), "0772-2673367");
        let h1 = store.household("4502031002010001").unwrap();
        let income = h1.incomes[0];
        assert_eq!(income.year, INCOME_YEAR);
        assert_eq!(income.business, domain::Fen(600_050));
        assert!(h2.incomes.is_empty(), "no income cells: no income record");
        let h3 = store.household("4502031002030001").unwrap();
        assert!(matches!(h3.record.household.monitoring, domain::Monitoring::Eliminated { .. }));
    }
}

// ---- errors ---------------------------------------------------------------------------------

#[tokio::test]
async fn missing_required_column_is_an_error() {
    let mut s = Sheet::sample();
    s.remove_column("民族");
    expect_error(&s, 0, "民族", "缺少必填列").await;
}

#[tokio::test]
async fn missing_required_value_is_an_error() {
    let mut s = Sheet::sample();
    s.set(1, "姓名", "");
    expect_error(&s, s.row_number(1), "姓名", "姓名不能为空").await;
    let mut s = Sheet::sample();
    s.set(3, "是否参加城乡居民基本医疗保险", "");
    expect_error(&s, s.row_number(3), "是否参加城乡居民基本医疗保险", "必须填写").await;
    let mut s = Sheet::sample();
    s.set(0, "户类型", "");
    expect_error(&s, s.row_number(0), "户类型", "必须填写").await;
}

#[tokio::test]
async fn unknown_village_is_an_error() {
    let mut s = Sheet::sample();
    s.set(5, "村", "不存在村");
    expect_error(&s, s.row_number(5), "村", "未找到").await;
    let mut s = Sheet::sample();
    s.set(5, "乡镇", "洛埠镇");
    expect_error(&s, s.row_number(5), "乡镇", "未找到").await;
}

#[tokio::test]
async fn village_outside_scope_is_an_error() {
    let s = Sheet::sample();
    let dir = Dir::new();
    let path = dir.path("a.xlsx");
    s.write_xlsx(&path);
    let store = FakeStore::luorong();
    // a town office account for 大正村 only: 东塘村 and 秀水村 are outside
    let scope = scope_of(Role::TownOffice, "450203100201");
    let r = import_as(&store, &scope, &path, false).await;
    let i = issue(&r, Tier::Error, s.row_number(2), "村");
    assert!(i.message.contains("不在您的管辖范围内"), "{}", i.message);
    issue(&r, Tier::Error, s.row_number(5), "村");
    assert!(store.households().is_empty());
}

#[tokio::test]
async fn malformed_ids_are_errors() {
    for (bad, fragment) in [
        ("45020319680512011", "应为18位"),
        ("4502031968051201A1", "不是数字"),
        ("450203196802300111", "出生日期"),
        ("4.50203196805E+17", "数字格式"),
        ("", "证件号码为空"),
    ] {
        let mut s = Sheet::sample();
        s.set(0, "证件号码", bad);
        expect_error(&s, s.row_number(0), "证件号码", fragment).await;
    }
}

#[tokio::test]
async fn an_id_stored_as_a_number_cell_is_refused() {
    let mut s = Sheet::sample();
    // what Excel keeps of an 18-digit number: its first 15 digits
    let real = s.get(1, "证件号码");
    let kept: f64 = real[..15].parse::<f64>().unwrap() * 1000.0;
    s.typed.push((1, "证件号码".into(), Typed::Number(kept)));
    expect_error(&s, s.row_number(1), "证件号码", "末尾数字已丢失").await;
}

#[tokio::test]
async fn household_numbers_as_number_cells() {
    // exact below 2^53: accepted
    let mut s = Sheet::sample();
    s.set(5, "户编号", "4502031003");
    s.typed.push((5, "户编号".into(), Typed::Number(4502031003.0)));
    let dir = Dir::new();
    let path = dir.path("a.xlsx");
    s.write_xlsx(&path);
    let store = FakeStore::luorong();
    let r = import(&store, &path).await;
    assert_eq!(r.errors, 0, "{:#?}", r.issues);
    assert!(store.household("4502031003").is_some());
    // beyond 2^53 digits are lost: refused
    let mut s = Sheet::sample();
    s.typed.push((5, "户编号".into(), Typed::Number(45020310020300011234.0)));
    expect_error(&s, s.row_number(5), "户编号", "数字格式").await;
}

#[tokio::test]
async fn impossible_date_is_an_error() {
    let mut s = Sheet::sample();
    s.set(2, "识别监测时间", "2022-02-30");
    expect_error(&s, s.row_number(2), "识别监测时间", "不是有效日期").await;
}

#[tokio::test]
async fn unknown_enumeration_value_is_an_error() {
    let mut s = Sheet::sample();
    s.set(1, "与户主关系", "表哥");
    expect_error(&s, s.row_number(1), "与户主关系", "无法识别“表哥”").await;
    let mut s = Sheet::sample();
    s.set(4, "在校生状况", "十年级");
    expect_error(&s, s.row_number(4), "在校生状况", "可填").await;
    let mut s = Sheet::sample();
    s.set(2, "致贫返贫风险2", "因穷");
    expect_error(&s, s.row_number(2), "致贫返贫风险2", "无法识别").await;
    let mut s = Sheet::sample();
    s.set(0, "民族", "火星族");
    expect_error(&s, s.row_number(0), "民族", "无法识别的民族").await;
}

#[tokio::test]
async fn negative_money_is_an_error() {
    let mut s = Sheet::sample();
    s.set(0, "工资性收入", "-5");
    expect_error(&s, s.row_number(0), "工资性收入", "不能为负数").await;
    let mut s = Sheet::sample();
    s.typed.push((0, "转移性收入".into(), Typed::Number(-12.5)));
    expect_error(&s, s.row_number(0), "转移性收入", "不能为负数").await;
}

#[tokio::test]
async fn a_household_without_head_is_an_error() {
    let mut s = Sheet::sample();
    s.set(2, "与户主关系", "之父");
    expect_error(&s, s.row_number(2), "与户主关系", "没有户主").await;
}

#[tokio::test]
async fn one_household_number_in_two_villages_is_an_error() {
    let mut s = Sheet::sample();
    s.set(4, "村", "大正村");
    expect_error(&s, s.row_number(4), "村", "只能属于一个村").await;
}

#[tokio::test]
async fn inconsistent_monitoring_fields_are_errors() {
    let mut s = Sheet::sample();
    s.set(5, "风险消除时间", "");
    s.set(2, "识别监测时间", "");
    s.set(3, "识别监测时间", "");
    s.set(4, "识别监测时间", "");
    let dir = Dir::new();
    let path = dir.path("a.csv");
    s.write_csv(&path);
    let store = FakeStore::luorong();
    let r = import(&store, &path).await;
    assert!(issue(&r, Tier::Error, s.row_number(5), "风险消除时间").message.contains("风险消除时间"));
    assert!(issue(&r, Tier::Error, s.row_number(2), "识别监测时间").message.contains("识别监测时间"));
    assert!(store.households().is_empty());
}

#[tokio::test]
async fn an_existing_household_outside_the_scope_is_an_error_that_does_not_say_where() {
    // the household is registered in 东塘村 by the town …
    let s = Sheet::sample();
    let dir = Dir::new();
    let path = dir.path("a.xlsx");
    s.write_xlsx(&path);
    let store = FakeStore::luorong();
    assert_eq!(import(&store, &path).await.created, 3);
    // … and an account for 大正村 imports the same number in its own village
    let mut s2 = Sheet::sample();
    s2.rows.truncate(2);
    s2.set(1, "户编号", "4502031002020001");
    s2.set(1, "与户主关系", "户主");
    let path2 = dir.path("b.xlsx");
    s2.write_xlsx(&path2);
    let scope = scope_of(Role::TownOffice, "450203100201");
    let r = import_as(&store, &scope, &path2, false).await;
    let i = issue(&r, Tier::Error, s2.row_number(1), "户编号");
    assert!(i.message.contains("管辖范围以外"), "{}", i.message);
    assert!(!i.message.contains("东塘"), "must not reveal the village: {}", i.message);
    assert_eq!(store.imports().len(), 1, "nothing written by the second import");
}

#[tokio::test]
async fn an_unknown_file_type_is_a_clear_error() {
    let dir = Dir::new();
    let path = dir.path("农户.xls");
    std::fs::write(&path, b"not really").unwrap();
    let store = FakeStore::luorong();
    let opts = exchange::ImportOptions { dry_run: false, income_year: 2021, file_name: None };
    let e = exchange::import_households(
        &store,
        &town_scope(),
        &domain::Actor::cli(),
        crate::now(),
        &path,
        &opts,
        Box::new(|_, _| {}),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("无法识别文件“农户.xls”的格式"), "{e}");
}

#[tokio::test]
async fn a_role_without_the_import_permission_is_refused() {
    let dir = Dir::new();
    let path = dir.path("a.csv");
    Sheet::sample().write_csv(&path);
    let store = FakeStore::luorong();
    let scope = scope_of(Role::VillageCadre, "450203100201");
    let opts = exchange::ImportOptions { dry_run: true, income_year: 2021, file_name: None };
    let e = exchange::import_households(
        &store,
        &scope,
        &domain::Actor::cli(),
        crate::now(),
        &path,
        &opts,
        Box::new(|_, _| {}),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, exchange::ImportError::Forbidden));
}

// ---- warnings -------------------------------------------------------------------------------

#[tokio::test]
async fn wrong_check_character_is_a_warning_and_kept() {
    let mut s = Sheet::sample();
    let good = s.get(1, "证件号码");
    let last = good.chars().last().unwrap();
    let bad = format!("{}{}", &good[..17], if last == '0' { '1' } else { '0' });
    s.set(1, "证件号码", &bad);
    let store = expect_warning(&s, s.row_number(1), "证件号码", "校验位").await;
    let h1 = store.household("4502031002010001").unwrap();
    assert_eq!(h1.members[1].member.national_id.as_str(), bad);
}

#[tokio::test]
async fn the_same_id_in_two_households_is_a_warning() {
    let mut s = Sheet::sample();
    let dup = s.get(0, "证件号码");
    s.set(5, "证件号码", &dup);
    s.set(5, "性别", "男");
    expect_warning(&s, s.row_number(5), "证件号码", "同一人不能同时属于两户").await;
}

#[tokio::test]
async fn an_id_registered_in_another_household_is_a_warning() {
    let dir = Dir::new();
    let store = FakeStore::luorong();
    let first = dir.path("a.xlsx");
    Sheet::sample().write_xlsx(&first);
    import(&store, &first).await;
    // a new household with a member already registered in 4502031002010001
    let mut s = Sheet::sample();
    s.rows.truncate(2);
    for r in 0..2 {
        s.set(r, "户编号", "4502031002010099");
    }
    s.set(0, "证件号码", &id((1990, 1, 1), 11));
    let path = dir.path("b.xlsx");
    s.write_xlsx(&path);
    let r = import(&store, &path).await;
    assert_eq!(r.errors, 0, "{:#?}", r.issues);
    let i = issue(&r, Tier::Warning, s.row_number(1), "证件号码");
    assert!(i.message.contains("4502031002010001"), "in scope: the household is named: {}", i.message);
    assert_eq!(r.created, 1);
}

#[tokio::test]
async fn an_id_truncated_by_excel_is_an_error() {
    // 15 significant digits and zeros: what a number cell becomes once saved as text
    let mut s = Sheet::sample();
    let id = s.get(0, "证件号码");
    let truncated = format!("{}000", &id[..15]);
    assert!(!domain::NationalId::parse(&truncated).unwrap().is_checksum_valid());
    s.set(0, "证件号码", &truncated);
    expect_error(&s, s.row_number(0), "证件号码", "疑似在Excel中以数字格式存储后被截断").await;
}

#[tokio::test]
async fn households_merged_under_one_number_are_an_error() {
    // two heads whose rows disagree: two households sharing a (truncated) number
    let mut s = Sheet::sample();
    s.set(1, "与户主关系", "户主");
    s.set(1, "家庭住址", "大正村5组8号");
    expect_error(&s, s.row_number(1), "户编号", "疑似不同的户共用了一个户编号").await;
}

#[tokio::test]
async fn two_heads_and_two_spouses_are_warnings() {
    let mut s = Sheet::sample();
    s.set(3, "与户主关系", "户主");
    let store = expect_warning(&s, s.row_number(3), "与户主关系", "2名户主").await;
    let h2 = store.household("4502031002020001").unwrap();
    assert_eq!(h2.members.iter().filter(|m| m.member.relation == Relation::Head).count(), 2);

    let mut s = Sheet::sample();
    s.set(4, "与户主关系", "配偶");
    s.set(4, "性别", "");
    expect_warning(&s, s.row_number(4), "与户主关系", "2名配偶").await;
}

#[tokio::test]
async fn declared_size_disagreeing_with_rows_is_a_warning() {
    let mut s = Sheet::sample();
    for r in 2..5 {
        s.set(r, "家庭人口数", "4");
    }
    expect_warning(&s, s.row_number(2), "家庭人口数", "本户有3名成员").await;
}

#[tokio::test]
async fn education_and_school_status_both_or_neither_are_warnings() {
    let mut s = Sheet::sample();
    s.set(4, "文化程度", "小学");
    expect_warning(&s, s.row_number(4), "文化程度", "须且只能填写一项").await;
    let mut s = Sheet::sample();
    s.set(0, "文化程度", "");
    expect_warning(&s, s.row_number(0), "文化程度", "须且只能填写一项").await;
}

#[tokio::test]
async fn sex_disagreeing_with_the_id_is_a_warning() {
    let mut s = Sheet::sample();
    s.set(0, "性别", "女");
    let store = expect_warning(&s, s.row_number(0), "性别", "不一致").await;
    let h1 = store.household("4502031002010001").unwrap();
    assert_eq!(h1.members[0].member.sex, domain::Sex::Female, "imported as the file says");
}

#[tokio::test]
async fn household_rules_are_warnings() {
    let mut s = Sheet::sample();
    for r in 0..2 {
        s.set(r, "脱贫年度", "2018");
    }
    expect_warning(&s, s.row_number(0), "脱贫年度", "一般农户不应填写脱贫年度").await;
    let mut s = Sheet::sample();
    for r in 2..5 {
        s.set(r, "监测对象类别", "边缘易致贫户");
    }
    expect_warning(&s, s.row_number(2), "监测对象类别", "不能是").await;
}

#[tokio::test]
async fn a_later_row_disagreeing_with_the_first_is_a_warning_naming_both_rows() {
    let mut s = Sheet::sample();
    s.set(4, "家庭住址", "别处");
    let first = s.row_number(2);
    let store = expect_warning(&s, s.row_number(4), "家庭住址", &format!("第{first}行")).await;
    assert_eq!(store.household("4502031002020001").unwrap().record.household.address, "", "the first row wins");
}

#[tokio::test]
async fn rows_of_a_household_need_not_be_contiguous() {
    let mut s = Sheet::sample();
    let spouse = s.rows.remove(1);
    s.rows.push(spouse);
    let dir = Dir::new();
    let path = dir.path("a.xlsx");
    s.write_xlsx(&path);
    let store = FakeStore::luorong();
    let r = import(&store, &path).await;
    assert_eq!((r.errors, r.warnings, r.households), (0, 0, 3), "{:#?}", r.issues);
    let h1 = store.household("4502031002010001").unwrap();
    assert_eq!(h1.members.len(), 2);
    assert_eq!(h1.members[1].member.name.as_str(), "覃秀兰");
}

// ---- formats --------------------------------------------------------------------------------

#[tokio::test]
async fn header_variants_title_row_and_typed_cells_are_accepted() {
    let mut s = Sheet::sample();
    s.title = Some("雒容镇防返贫监测对象信息表（2022年）".into());
    s.rename("证件号码", "身份证号码*")
        .rename("户编号", "户号（必填）")
        .rename("姓名", " 成员姓名 ")
        .rename("户类型", "户属性")
        .rename("组", "村民小组")
        .rename("乡镇", "乡（镇）")
        .rename("县", "县（市、区）")
        .rename("联系电话", "户主联系电话")
        .rename("风险消除时间", "消除监测时间");
    // columns in another order
    let c = s.headers.len() - 1;
    s.headers.swap(0, c);
    for r in &mut s.rows {
        r.swap(0, c);
    }
    // a date cell, a serial number, numbers for numeric columns
    s.typed.push((2, "识别监测时间".into(), Typed::Date(2022, 4, 1)));
    s.typed.push((5, "消除监测时间".into(), Typed::Number(44849.0))); // 2022-10-15
    s.typed.push((0, "家庭人口数".into(), Typed::Number(2.0)));
    s.typed.push((0, "工资性收入".into(), Typed::Number(24000.0)));
    let dir = Dir::new();
    let path = dir.path("a.xlsx");
    s.write_xlsx(&path);
    let store = FakeStore::luorong();
    let r = import(&store, &path).await;
    assert_eq!((r.errors, r.warnings, r.created), (0, 0, 3), "{:#?}", r.issues);

    // the same content as the plain sample: re-importing that changes nothing
    let plain = dir.path("b.csv");
    Sheet::sample().write_csv(&plain);
    let again = import(&store, &plain).await;
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 3));
}

#[tokio::test]
async fn gbk_csv_reads_correctly() {
    let mut s = Sheet::sample();
    s.title = Some("农户信息".into());
    let dir = Dir::new();
    let path = dir.path("gbk.csv");
    s.write_csv_gbk(&path);
    let store = FakeStore::luorong();
    let r = import(&store, &path).await;
    assert_eq!((r.errors, r.warnings, r.created), (0, 0, 3), "{:#?}", r.issues);
    let h3 = store.household("4502031002030001").unwrap();
    assert_eq!(head_name(&h3), "莫桂英");
    assert_eq!(h3.record.household.village.to_string(), "450203100203");
}

#[tokio::test]
async fn csv_row_numbers_follow_the_file() {
    let mut s = Sheet::sample();
    s.title = Some("标题".into());
    s.set(3, "健康状况", "很好");
    let dir = Dir::new();
    let path = dir.path("a.csv");
    s.write_csv(&path);
    let r = import(&FakeStore::luorong(), &path).await;
    // title = row 1, header = row 2, data row index 3 = row 6
    assert_eq!(s.row_number(3), 6);
    issue(&r, Tier::Error, 6, "健康状况");
}

// ---- re-import, correction, dry run ----------------------------------------------------------

#[tokio::test]
async fn reimporting_the_same_file_changes_nothing() {
    let dir = Dir::new();
    let path = dir.path("a.xlsx");
    Sheet::sample().write_xlsx(&path);
    let store = FakeStore::luorong();
    import(&store, &path).await;
    let before = store.households();
    let r = import(&store, &path).await;
    assert_eq!((r.created, r.updated, r.unchanged), (0, 0, 3));
    assert_eq!(store.households(), before, "no version bumped");
}

#[tokio::test]
async fn a_corrected_file_updates_in_place() {
    let dir = Dir::new();
    let path = dir.path("a.xlsx");
    let mut s = Sheet::sample();
    s.write_xlsx(&path);
    let store = FakeStore::luorong();
    import(&store, &path).await;
    let before = store.household("4502031002010001").unwrap();

    s.set(0, "家庭住址", "大正村3组2号").set(1, "家庭住址", "大正村3组2号");
    s.set(1, "务工月数", "6");
    let fixed = dir.path("b.csv");
    s.write_csv(&fixed);
    let r = import(&store, &fixed).await;
    assert_eq!((r.created, r.updated, r.unchanged), (0, 1, 2), "{:#?}", r.issues);
    let after = store.household("4502031002010001").unwrap();
    assert_eq!(after.record.id, before.record.id);
    assert_eq!(after.record.version, before.record.version + 1);
    assert_eq!(after.record.household.address, "大正村3组2号");
    assert_eq!(after.members[1].id, before.members[1].id, "member updated in place");
    assert_eq!(after.members[1].member.work_months, Some(6));
}

#[tokio::test]
async fn a_dry_run_writes_nothing_but_reports_what_would_happen() {
    let dir = Dir::new();
    let path = dir.path("a.xlsx");
    let s = Sheet::sample();
    s.write_xlsx(&path);
    let store = FakeStore::luorong();
    let r = import_as(&store, &town_scope(), &path, true).await;
    assert!(r.dry_run && !r.written);
    assert_eq!((r.created, r.updated, r.unchanged), (3, 0, 0));
    assert!(store.households().is_empty() && store.imports().is_empty());

    import(&store, &path).await;
    let mut s2 = s.clone();
    s2.set(5, "家庭住址", "秀水村5组");
    let path2 = dir.path("b.xlsx");
    s2.write_xlsx(&path2);
    let before = store.households();
    let r = import_as(&store, &town_scope(), &path2, true).await;
    assert_eq!((r.created, r.updated, r.unchanged), (0, 1, 2));
    assert_eq!(store.households(), before);
}

#[tokio::test]
async fn an_upload_saved_under_another_name_is_read_by_the_users_file_name() {
    let dir = Dir::new();
    let path = dir.path("upload-7f3a");
    Sheet::sample().write_xlsx(&path);
    let store = FakeStore::luorong();
    // a server saves an upload under a temporary name: the user's file name gives the format
    let opts =
        exchange::ImportOptions {
            dry_run: false, income_year: INCOME_YEAR, file_name: Some("雒容镇农户.xlsx".into())
        };
    let report = exchange::import_households(
        &store,
        &town_scope(),
        &domain::Actor::cli(),
        crate::now(),
        &path,
        &opts,
        Box::new(|_, _| {}),
    )
    .await
    .unwrap();
    assert_eq!((report.created, report.rows, report.file_name.as_str()), (3, 6, "雒容镇农户.xlsx"));
    assert_eq!(store.imports()[0].file_name, "雒容镇农户.xlsx");
}

/// A large file is checked and written as it is read, part by part, in one transaction.
#[tokio::test]
async fn a_large_file_is_written_part_by_part() {
    let dir = Dir::new();
    let path = dir.path("many.csv");
    let s = Sheet::many(12_000);
    // the registry has the file's last household with a third member, the file's first head:
    // the person moved within the file (a warning only once the whole file is known to lack it)
    let mut seed = Sheet { rows: s.rows[s.rows.len() - 2..].to_vec(), ..s.clone() };
    let mut third = seed.rows[1].clone();
    third[s.col("证件号码")] = s.rows[0][s.col("证件号码")].clone();
    third[s.col("与户主关系")] = "之子".into();
    seed.rows.push(third);
    for r in seed.rows.iter_mut() {
        r[s.col("家庭人口数")] = String::new();
    }
    let seed_path = dir.path("seed.csv");
    seed.write_csv(&seed_path);
    let store = FakeStore::luorong();
    let r = import(&store, &seed_path).await;
    assert!(r.written && r.warnings == 0, "{:?}", r.issues);

    s.write_csv(&path);
    let r = import(&store, &path).await;
    assert_eq!((r.errors, r.households, r.members), (0, 12_000, 24_000), "{:?}", r.issues.first());
    assert_eq!((r.created, r.updated), (11_999, 1));
    assert!(!r.issues.iter().any(|i| i.message.contains("不在本文件中")), "{:?}", r.issues);
    assert!(store.import_parts() >= 3, "{} parts", store.import_parts());
    assert_eq!(store.households().len(), 12_000);

    // the same file again: nothing to write, so no transaction is held while it is read; the
    // import is recorded at the end with what was found unchanged
    let (parts, imports) = (store.import_parts(), store.imports().len());
    let r = import(&store, &path).await;
    assert_eq!((r.written, r.created, r.updated, r.unchanged), (true, 0, 0, 12_000));
    assert_eq!((store.import_parts(), store.imports().len()), (parts + 1, imports + 1));
}

/// An error in the last part: the parts written before it are rolled back.
#[tokio::test]
async fn an_error_near_the_end_of_a_large_file_writes_nothing() {
    let dir = Dir::new();
    let path = dir.path("many.csv");
    let mut s = Sheet::many(11_000);
    let last = s.rows.len() - 1;
    let c = s.col("证件号码");
    s.rows[last][c] = "45020319".into();
    s.write_csv(&path);
    let store = FakeStore::luorong();
    let r = import(&store, &path).await;
    assert_eq!((r.errors, r.written, r.created), (1, false, 0));
    // the header is row 1
    assert_eq!(issue(&r, Tier::Error, last + 2, "证件号码").row, 22_001);
    assert!(store.households().is_empty() && store.imports().is_empty());
}

/// A file sorted by something else than the household: read a second time, whole, with the
/// same result.
#[tokio::test]
async fn a_file_whose_households_are_scattered_is_read_whole() {
    let dir = Dir::new();
    let together = Sheet::many(6_000);
    let mut scattered = together.clone();
    // heads first, then the spouses
    let (heads, spouses): (Vec<_>, Vec<_>) = scattered.rows.drain(..).enumerate().partition(|(i, _)| i % 2 == 0);
    scattered.rows = heads.into_iter().chain(spouses).map(|(_, r)| r).collect();
    let (a, b) = (dir.path("together.csv"), dir.path("scattered.csv"));
    together.write_csv(&a);
    scattered.write_csv(&b);
    let (one, two) = (FakeStore::luorong(), FakeStore::luorong());
    let r1 = import(&one, &a).await;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let calls = std::sync::Arc::clone(&seen);
    let progress = Box::new(move |done, _| calls.lock().unwrap().push(done));
    let opts = exchange::ImportOptions { dry_run: false, income_year: INCOME_YEAR, file_name: None };
    let r2 = exchange::import_households(&two, &town_scope(), &domain::Actor::cli(), crate::now(), &b, &opts, progress)
        .await
        .unwrap();
    assert_eq!((r2.errors, r2.created, r2.members), (0, 6_000, 12_000), "{:?}", r2.issues.first());
    // the second reading is announced, then counts again from the start, then the commit
    let seen = seen.lock().unwrap().clone();
    let again = seen.iter().position(|d| *d == exchange::PROGRESS_REREAD).expect("announced");
    assert_eq!(seen.iter().filter(|d| **d == exchange::PROGRESS_REREAD).count(), 1);
    assert!(seen[again + 1] <= 1000 && seen.last() == Some(&exchange::PROGRESS_COMMIT), "{seen:?}");
    // a file read once says nothing of the kind
    let r3 = exchange::import_households(
        &FakeStore::luorong(),
        &town_scope(),
        &domain::Actor::cli(),
        crate::now(),
        &a,
        &opts,
        Box::new(|done, _| assert_ne!(done, exchange::PROGRESS_REREAD)),
    )
    .await
    .unwrap();
    assert_eq!(r3.created, 6_000);
    assert_eq!((r1.created, r1.members), (r2.created, r2.members));
    let members = |s: &FakeStore| -> Vec<(String, Vec<String>)> {
        s.households()
            .into_iter()
            .map(|d| {
                let ids = d.members.iter().map(|m| m.member.national_id.to_string()).collect();
                (d.record.household.household_no.to_string(), ids)
            })
            .collect()
    };
    assert_eq!(members(&one), members(&two));
    // the scattered file: its first reading handed over 5,000 heads before a spouse showed the
    // scatter (that part was dropped); the second one read it whole, then gave it in two parts
    assert_eq!((one.import_parts(), two.import_parts()), (2, 3));
}
