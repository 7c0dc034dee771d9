//! 看板 (issue 7): each of a region's children side by side, and every number equal to the list
//! it links to — households, findings, the 时限 page's overdue officers, overdue department
//! tasks, open alerts — on both backends; scoped like everything else.

use axum::http::StatusCode;
use domain::ports::{FindingFilter, FindingStatus, FindingStore};
use domain::region::RegionCode;

use crate::assistance::{at, include_d1};
use crate::harness::*;
use crate::visits::{campaign_with_d1_assigned, d1_form};

fn row<'a>(dash: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    dash["rows"].as_array().unwrap().iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("{name}: {dash}"))
}

/// Rows of the 时限 page marked overdue.
fn overdue_rows(page: &str) -> usize {
    page.split("<tr").filter(|r| r.contains("已超期")).count()
}

#[tokio::test]
async fn dashboard_figures_equal_the_lists_behind_them() {
    for app in TestApp::both().await {
        // a campaign with D1 visited in person on 03-28; D1 included on 03-28 (officer due 04-07)
        let (_, task) = campaign_with_d1_assigned(&app).await;
        let mut s = app.login("screener").await;
        let r = s.post_form(&format!("/tasks/{task}/visit"), &d1_form(&[])).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{}] {}", app.label, r.text());
        app.clock.set(at(4, 1));
        include_d1(&app).await;
        // a task for 医保 pushed on 04-01, due 04-11
        let mut cadre = app.login("dazheng").await;
        let r = cadre
            .post_form(&format!("/households/{D1}/department-tasks"), &[("task", "medical_security:健康帮扶")])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        screen_at(&app, at(4, 1)).await;

        app.clock.set(at(4, 12));
        let mut api = app.api_login("town").await;
        let r = api.get("/api/v1/dashboard").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let dash = r.json();
        assert_eq!(dash["name"], "雒容镇");
        assert_eq!(dash["campaign_name"], "雒容镇2022年防返贫集中排查");
        assert_eq!(dash["rows"].as_array().unwrap().len(), 2, "the two villages with households: {dash}");
        let dz = row(&dash, "大正村");
        // what happened, in figures: 2 households, one visited in person; D1 and D2 monitored,
        // D1 newly; both without an officer past the 5 working days; the task due 04-11 is late
        assert_eq!(
            (dz["households"].as_i64(), dz["tasks"].as_i64(), dz["visited_in_person"].as_i64()),
            (Some(2), Some(2), Some(1))
        );
        assert_eq!(dz["coverage_percent"], 50);
        assert_eq!((dz["monitored"].as_i64(), dz["included_in_period"].as_i64()), (Some(2), Some(1)));
        assert_eq!(dz["officers_overdue"], 2);
        assert_eq!((dz["department_tasks_open"].as_i64(), dz["department_tasks_overdue"].as_i64()), (Some(1), Some(1)));

        // every figure of every row equals its list, and the rows add up to the total
        let town_scope = {
            let (u, _) = domain::ports::UserStore::user_by_username(&app.db, "town").await.unwrap().unwrap();
            u.scope()
        };
        let mut town = app.login("town").await;
        let mut sum = 0;
        for r in dash["rows"].as_array().unwrap() {
            let code = r["region"].as_str().unwrap();
            let households = api.get(&format!("/api/v1/households?region={code}")).await.json();
            assert_eq!(r["households"], households["total"], "{code}");
            let findings = app
                .db
                .findings(
                    &town_scope,
                    &FindingFilter {
                        region: Some(RegionCode::parse(code).unwrap()),
                        status: Some(FindingStatus::Open),
                        ..Default::default()
                    },
                    1,
                )
                .await
                .unwrap();
            assert_eq!(r["findings_open"].as_i64(), Some(findings.total), "{code}");
            let by_code: i64 =
                r["findings_open_by_code"].as_array().unwrap().iter().map(|c| c["count"].as_i64().unwrap()).sum();
            assert_eq!(by_code, findings.total);
            let deadlines = town.get(&format!("/deadlines?village={code}")).await.text();
            assert_eq!(r["officers_overdue"].as_i64(), Some(overdue_rows(&deadlines) as i64), "{code}: {deadlines}");
            let tasks = api.get(&format!("/api/v1/department-tasks?status=overdue&region={code}")).await.json();
            assert_eq!(r["department_tasks_overdue"], tasks["total"], "{code}");
            let alerts = api.get(&format!("/api/v1/alerts?region={code}")).await.json();
            assert_eq!(r["alerts_open"], alerts["total"], "{code}");
            sum += r["households"].as_i64().unwrap();
        }
        assert_eq!(dash["total"]["households"].as_i64(), Some(sum));
        assert!(dash["total"]["findings_open"].as_i64().unwrap() > 0, "the screening found something: {dash}");
        // the page's drill-down for overdue department tasks lists exactly that many
        let list = town.get(&format!("/department-tasks?village={DAZHENG}&state=overdue")).await.text();
        assert!(list.contains("共 1 项") && list.matches("<tr class=\"overdue\"").count() == 1, "{list}");

        // the page: both villages, the key figures, the charts, links to the lists
        let page = town.get("/dashboard").await.text();
        assert!(page.contains("雒容镇 工作看板") && page.contains("大正村") && page.contains("东塘村"), "{page}");
        assert!(page.contains("<svg class=\"chart\"") && page.contains("入户覆盖率"));
        assert!(page.contains(&format!("/deadlines?village={DAZHENG}")), "{page}");
        // 东塘村 (0 of 1 visited in person) is 33 points behind the town's 33%: marked
        let dt_row = page.split("<tr").find(|r| r.contains("东塘村")).unwrap();
        assert!(dt_row.contains("落后"), "{dt_row}");
        assert!(!page.split("<tr").find(|r| r.contains("大正村")).unwrap().contains("落后"));

        // scope: a village cadre sees one row and cannot open another village; a screener has
        // no dashboard; the leader lands on it, read-only
        let mut dt = app.api_login("dongtang").await;
        let theirs = dt.get("/api/v1/dashboard").await.json();
        assert_eq!(theirs["rows"].as_array().unwrap().len(), 1, "{theirs}");
        assert_eq!(theirs["rows"][0]["name"], "东塘村");
        assert_eq!(dt.get(&format!("/api/v1/dashboard?region={DAZHENG}")).await.status, StatusCode::NOT_FOUND);
        let mut sc = app.login("screener").await;
        assert_eq!(sc.get("/dashboard").await.status, StatusCode::FORBIDDEN);
        let mut leader = app.login("leader").await;
        assert_eq!(leader.get("/").await.location(), "/dashboard");
        assert!(!leader.get("/dashboard").await.text().contains("method=\"post\" action=\"/dashboard"));
        // the weekly notice after the 04-18 visit deadline: villages in their usual order, each
        // named only with the facts and the rule behind them
        app.clock.set(at(4, 20));
        let mut town = app.login("town").await;
        let notice = town.get("/notice").await.text();
        let dz = notice.find("<strong>大正村</strong>").expect("大正村 named");
        let dt = notice.find("<strong>东塘村</strong>").expect("东塘村 named");
        assert!(dz < dt, "code order, no ranking: {notice}");
        assert!(notice.contains("入户排查时限 2022-04-18 已过，仍有 1 户未入户"), "{notice}");
        assert!(notice.contains("2 户监测对象纳入后超过 5 个工作日仍未落实帮扶责任人"), "{notice}");
        let x = town.get("/notice.xlsx").await;
        assert!(x.status == StatusCode::OK && x.bytes.starts_with(b"PK"));
        assert_eq!(app.login("dazheng").await.get("/notice").await.status, StatusCode::FORBIDDEN);

        // the county sees the town as one row, summing its villages
        let mut county = app.api_login("county").await;
        let c = county.get("/api/v1/dashboard").await.json();
        assert_eq!(c["rows"].as_array().unwrap().len(), 1, "{c}");
        assert_eq!(c["rows"][0]["name"], "雒容镇");
        assert_eq!(c["rows"][0]["households"], dash["total"]["households"]);
        assert_eq!(c["rows"][0]["officers_overdue"], dash["total"]["officers_overdue"]);
        app.cleanup().await;
    }
}

/// The dashboard's figures are reused for a few seconds (`dashboard_cache`): a change made
/// elsewhere (another process) shows only when they are recomputed, a change made through the same
/// server on the next read of the dashboards its writer's region overlaps; the figures say when
/// they were read; a user outside a region is refused even while its figures are kept for another.
#[tokio::test]
async fn a_change_through_the_server_shows_on_the_dashboard_at_once() {
    for app in TestApp::both().await {
        app.clock.set(at(4, 1));
        let mut api = app.api_login("town").await;
        let before = api.get("/api/v1/dashboard").await.json();
        let open = |d: &serde_json::Value| d["total"]["department_tasks_open"].as_i64().unwrap();
        assert_eq!(before["as_of"], "2022-04-01 10:00:00", "{before}");
        // 大正村's figures are kept for the town: 东塘村's cadre still may not read them
        let mut dt = app.api_login("dongtang").await;
        assert_eq!(dt.get(&format!("/api/v1/dashboard?region={DAZHENG}")).await.status, StatusCode::NOT_FOUND);
        assert_eq!(dt.get("/api/v1/dashboard").await.json()["rows"].as_array().unwrap().len(), 1);

        // a task for D2 (monitored) pushed to 人社 by another process: the kept figures, read at
        // 10:00, a minute later
        let chosen = [(
            domain::measure::Department::from_key("human_resources").unwrap(),
            domain::measure::MeasureCategory::parse_label("就业帮扶").unwrap(),
        )];
        let town = domain::ports::UserStore::user_by_username(&app.db, "town").await.unwrap().unwrap().0;
        let cal = domain::calendar::WorkCalendar::builtin();
        let d2 = domain::HouseholdNo::parse(D2).unwrap();
        domain::service::push_department_tasks(
            &app.db,
            &cal,
            at(4, 1),
            at(4, 1).date_naive(),
            &town.scope(),
            &town.actor(),
            &d2,
            &chosen,
        )
        .await
        .unwrap();
        app.clock.set(at(4, 1) + chrono::Duration::minutes(1));
        let kept = api.get("/api/v1/dashboard").await.json();
        assert_eq!((open(&kept), &kept["as_of"]), (open(&before), &before["as_of"]), "[{}]", app.label);

        // a task pushed for D2 to 医保 through the server: both tasks show at once
        let mut cadre = app.login("dazheng").await;
        let r = cadre
            .post_form(&format!("/households/{D2}/department-tasks"), &[("task", "medical_security:健康帮扶")])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{}] {}", app.label, r.text());
        let after = api.get("/api/v1/dashboard").await.json();
        assert_eq!(open(&after), open(&before) + 2, "[{}] {after}", app.label);
        assert_eq!(after["as_of"], "2022-04-01 10:01:00");
        // the write was 大正村's (its cadre's region): 东塘村's own figures, kept since 10:00, still hold
        assert_eq!(dt.get("/api/v1/dashboard").await.json()["as_of"], "2022-04-01 10:00:00", "[{}]", app.label);
        // a refused request (东塘村's cadre, 大正村's household) writes nothing and keeps the figures
        let r = app
            .login("dongtang")
            .await
            .post_form(&format!("/households/{D2}/department-tasks"), &[("task", "medical_security:健康帮扶")])
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "[{}]", app.label);
        // so does a post without a session (sent to the login page)
        let r = app.anonymous().post_form(&format!("/households/{D2}/department-tasks"), &[("task", "x")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{}]", app.label);
        app.clock.set(at(4, 1) + chrono::Duration::minutes(2));
        assert_eq!(api.get("/api/v1/dashboard").await.json()["as_of"], "2022-04-01 10:01:00");
        // and on the page, with the time the figures were read
        let page = app.login("town").await.get("/dashboard").await.text();
        assert!(page.contains("数据时间 10:01:00"), "{page}");
        app.cleanup().await;
    }
}
