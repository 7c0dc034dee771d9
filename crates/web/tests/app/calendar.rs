//! The work calendar page (administrators): the year's days and working-day counts, adding and
//! removing a day (the deadlines change at once), and replacing the whole file — refused whole
//! when a line is wrong.

use axum::http::StatusCode;

use crate::harness::*;

#[tokio::test]
async fn administrators_keep_the_work_calendar() {
    let app = TestApp::sqlite().await;
    let mut admin = app.login("admin").await;
    let page = admin.get("/admin/calendar?year=2022").await.text();
    assert!(page.contains("覆盖 2021—2026年"), "{page}");
    assert!(page.contains("2022年工作日：全国 <strong>249</strong> 天"), "D11: 249 national working days in 2022");
    assert!(page.contains("壮族三月三") && page.contains("广西"));
    // a make-up working day must be a weekend day: refused, the typed values kept
    let bad = [("date", "2022-06-07"), ("kind", "workday"), ("region", ""), ("name", "测试调休"), ("source", "")];
    let r = admin.post_form("/admin/calendar", &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("不是周六或周日") && r.text().contains("value=\"测试调休\""));
    // a Guangxi day off on Monday 2022-06-06: the village's deadlines move at once
    let ok = [
        ("date", "2022-06-06"),
        ("kind", "holiday"),
        ("region", "450000000000"),
        ("name", "测试假日"),
        ("source", "测试"),
    ];
    assert_eq!(admin.post_form("/admin/calendar", &ok).await.status, StatusCode::SEE_OTHER);
    let village = domain::region::RegionCode::from_u64(DAZHENG).unwrap();
    let monday = chrono::NaiveDate::from_ymd_opt(2022, 6, 6).unwrap();
    let stored = domain::service::load_calendar(&app.db, start()).await.unwrap();
    assert!(!stored.is_workday(monday, village).unwrap());
    assert!(admin.get("/admin/calendar?year=2022").await.text().contains("测试假日"));
    let r = admin.post_form("/admin/calendar/delete", &[("date", "2022-06-06"), ("region", "450000000000")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(domain::service::load_calendar(&app.db, start()).await.unwrap().is_workday(monday, village).unwrap());
    // the file: download, a broken upload replaces nothing and names the line
    let csv = admin.get("/admin/calendar.csv").await.text();
    assert!(
        csv.starts_with("# ") && csv.contains("date,kind,region,name,source") && csv.contains("# years: 2021-2026")
    );
    let broken = csv.replacen("2022-10-01,holiday", "2022-10-32,holiday", 1);
    let r = admin.upload("/admin/calendar/upload", "calendar.csv", broken.as_bytes(), &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("没有替换") && r.text().contains("行"), "{}", r.text());
    let r = admin.upload("/admin/calendar/upload", "calendar.csv", csv.as_bytes(), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // others may not
    let mut town = app.login("town").await;
    assert_eq!(town.get("/admin/calendar").await.status, StatusCode::FORBIDDEN);
    assert_eq!(town.post_form("/admin/calendar", &ok).await.status, StatusCode::FORBIDDEN);
    app.cleanup().await;
}
