//! 帮扶责任人 and the deadline pages (DOMAIN §7.1, D10): a household included through the
//! procedure on 2022-03-28 in Guangxi is due an officer on 2022-04-07 (the national calendar alone
//! would say 04-02); the town sees it on the deadline page and the inbox, overdue after the date;
//! assigning one records the history, fills the household's 帮扶责任人, gives the measures date, and
//! the officer's own inbox lists the household.

use axum::http::StatusCode;
use chrono::{TimeZone, Utc};
use serde_json::json;

use crate::harness::*;

pub fn at(m: u32, d: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, m, d, 2, 0, 0).unwrap()
}

/// Takes D1 through the procedure by the API, ending with 纳入监测 on 2022-03-28.
pub async fn include_d1(app: &TestApp) {
    let mut cadre = app.api_login("dazheng").await;
    let mut county = app.api_login("county").await;
    let mut town = app.api_login("town").await;
    let r = cadre
        .json(
            "POST",
            "/api/v1/cases",
            json!({ "household_no": D1, "source": "干部排查", "on": "2022-03-10", "note": "务工收入骤减" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_i64().unwrap();
    let mut version = r.json()["version"].as_i64().unwrap();
    let steps: Vec<(&str, serde_json::Value)> = vec![
        ("cadre", json!({ "step": "application", "on": "2022-03-11" })),
        ("cadre", json!({ "step": "home_verification", "on": "2022-03-12", "participants": ["韦小明", "蓝海"] })),
        ("county", json!({ "step": "data_check", "on": "2022-03-14" })),
        ("cadre", json!({ "step": "appraisal", "on": "2022-03-15" })),
        ("cadre", json!({ "step": "public_notice", "on": "2022-03-16" })),
        ("cadre", json!({ "step": "public_notice", "on": "2022-03-21" })),
        ("town", json!({ "step": "town_review", "on": "2022-03-22" })),
        (
            "county",
            json!({ "step": "county_approval", "on": "2022-03-24", "category": "边缘易致贫户", "risks": ["因务工就业不稳"] }),
        ),
        ("town", json!({ "step": "announcement", "on": "2022-03-25" })),
        ("town", json!({ "step": "inclusion", "on": "2022-03-28" })),
    ];
    for (who, mut body) in steps {
        body["version"] = json!(version);
        let c = match who {
            "county" => &mut county,
            "town" => &mut town,
            _ => &mut cadre,
        };
        let r = c.json("POST", &format!("/api/v1/cases/{id}/steps"), body.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{body}: {}", r.text());
        version = r.json()["version"].as_i64().unwrap();
    }
}

#[tokio::test]
async fn officer_deadlines_follow_the_guangxi_calendar() {
    for app in TestApp::both().await {
        app.clock.set(at(4, 1));
        include_d1(&app).await;
        let mut town = app.login("town").await;
        assert_eq!(town.get("/").await.location(), "/inbox");
        let page = town.get("/deadlines").await.text();
        let row =
            page.split("<tr").find(|r| r.contains(D1)).unwrap_or_else(|| panic!("[{}] D1 listed: {page}", app.label));
        assert!(row.contains("2022-03-28") && row.contains("2022-04-07") && row.contains("还剩1个工作日"), "{row}");
        let inbox = town.get("/inbox").await.text();
        let line = inbox.split("<li").find(|l| l.contains("待落实帮扶责任人")).unwrap_or_else(|| panic!("{inbox}"));
        assert!(line.contains("本周内到期1件"), "{line}");

        // a week later the assignment is overdue, on the deadline page and in the inbox
        app.clock.set(at(4, 11));
        let mut town = app.login("town").await;
        let page = town.get("/deadlines").await.text();
        let row = page.split("<tr").find(|r| r.contains(D1)).unwrap();
        assert!(row.contains("已超期2个工作日"), "{row}");
        let inbox = town.get("/inbox").await.text();
        let line = inbox.split("<li").find(|l| l.contains("待落实帮扶责任人")).unwrap();
        // D1 and the fixture's other monitored household without an officer
        assert!(line.contains("逾期2件") && line.contains("tag bad"), "{line}");

        // the village cadre assigns the officer's account; errors keep what was typed
        let mut cadre = app.login("dazheng").await;
        let form = cadre.get(&format!("/households/{D1}/officer")).await.text();
        assert!(form.contains("即2022-04-07前落实帮扶责任人") && form.contains("已超期"), "{form}");
        let v = app.household_version(D1).await.to_string();
        let officer_id = {
            let i = form.find("officer用户").expect("the officer account is offered");
            let before = &form[..i];
            let j = before.rfind("value=\"").unwrap();
            before[j + 7..].split('"').next().unwrap().to_string()
        };
        let bad = [
            ("version", v.as_str()),
            ("user", officer_id.as_str()),
            ("unit", ""),
            ("on", "2022-04-11"),
            ("phone", "123"),
        ];
        let r = cadre.post_form(&format!("/households/{D1}/officer"), &bad).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("请填写帮扶（选派）单位名称") && r.text().contains("value=\"123\""), "{}", r.text());
        let ok = [
            ("version", v.as_str()),
            ("user", officer_id.as_str()),
            ("unit", "鱼峰区农业农村局"),
            ("on", "2022-04-11"),
        ];
        let r = cadre.post_form(&format!("/households/{D1}/officer"), &ok).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = cadre.get(&format!("/households/{D1}/officer")).await.text();
        // 04-11 + 10 days = 04-21
        assert!(page.contains("officer用户") && page.contains("2022-04-21前落实"), "{page}");
        let hp = cadre.get(&format!("/households/{D1}")).await.text();
        assert!(hp.contains("officer用户（鱼峰区农业农村局）"));
        let page = town.get("/deadlines").await.text();
        let officers = &page[page.find("id=\"officers\"").unwrap()..page.find("id=\"measures\"").unwrap()];
        assert!(!officers.contains(D1), "no longer waiting for an officer");

        // replacing needs a reason and keeps the history
        let v = app.household_version(D1).await.to_string();
        let swap = [("version", v.as_str()), ("name", "黄建华"), ("unit", "雒容镇人民政府"), ("on", "2022-04-12")];
        let r = cadre.post_form(&format!("/households/{D1}/officer"), &swap).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("更换帮扶责任人须写明原因"));
        let mut swap = swap.to_vec();
        swap.push(("reason", "原帮扶责任人工作调动"));
        app.clock.set(at(4, 12));
        let mut cadre = app.login("dazheng").await;
        let r = cadre.post_form(&format!("/households/{D1}/officer"), &swap).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = cadre.get(&format!("/households/{D1}/officer")).await.text();
        assert!(
            page.contains("2022-04-11 至 2022-04-12")
                && page.contains("原帮扶责任人工作调动")
                && page.contains("黄建华")
        );

        // the town office may not be bypassed by another village, nor a leader assign
        let mut other = app.login("dongtang").await;
        assert_eq!(other.get(&format!("/households/{D1}/officer")).await.status, StatusCode::NOT_FOUND);
        let mut leader = app.login("leader").await;
        assert_eq!(leader.post_form(&format!("/households/{D1}/officer"), &ok).await.status, StatusCode::FORBIDDEN);
        app.cleanup().await;
    }
}

/// D10's switches are parameters per (year, region): the measures clock may start at 纳入监测,
/// and the holiday extension may be switched off; the pages and the inbox follow at once.
#[tokio::test]
async fn the_measures_clock_follows_the_regions_switches() {
    for app in TestApp::both().await {
        app.clock.set(at(4, 1));
        include_d1(&app).await;
        let mut cadre = app.login("dazheng").await;
        let v = app.household_version(D1).await.to_string();
        let ok = [("version", v.as_str()), ("name", "黄建华"), ("unit", "雒容镇人民政府"), ("on", "2022-04-01")];
        assert_eq!(cadre.post_form(&format!("/households/{D1}/officer"), &ok).await.status, StatusCode::SEE_OTHER);
        let page = cadre.get(&format!("/households/{D1}/officer")).await.text();
        assert!(page.contains("自2022-04-01（帮扶责任人落实）起") && page.contains("即2022-04-11前落实"), "{page}");

        // the town's parameter: count from 纳入监测 (03-28 + 10 days = 04-07)
        let mut admin = app.login("admin").await;
        let set = [
            ("year", "2022"),
            ("region", "450203100000"),
            ("name", "measures_clock_start"),
            ("value", "纳入监测之日"),
            ("note", "县级文件"),
        ];
        let r = admin.post_form("/admin/params", &set).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = admin.get("/admin/params").await.text();
        assert!(page.contains("帮扶措施时限起算") && page.contains("纳入监测之日") && page.contains("第1版（现行）"));
        // a bad value keeps the form and says what is accepted
        let bad = [("year", "2022"), ("region", "450203100000"), ("name", "holiday_extension"), ("value", "也许")];
        let r = admin.post_form("/admin/params", &bad).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text().contains("遇法定节假日顺延应为 1（顺延至节后第一个工作日） 或 0（不顺延）")
                && r.text().contains("也许")
        );

        let page = cadre.get(&format!("/households/{D1}/officer")).await.text();
        assert!(page.contains("自2022-03-28（纳入监测）起") && page.contains("即2022-04-07前落实"), "{page}");
        let page = cadre.get("/deadlines").await.text();
        let section = &page[page.find("id=\"measures\"").unwrap()..];
        let row = section.split("<tr").find(|r| r.contains(D1)).unwrap();
        assert!(row.contains("2022-03-28") && row.contains("2022-04-07"), "{row}");
        assert!(!section.contains(D2), "D2 was included in 2021, whose parameters count from the officer");
        // counted from inclusion, a household still without an officer is waiting for measures too
        let set2021 = [("year", "2021"), ("region", "450203100000"), ("name", "measures_clock_start"), ("value", "1")];
        assert_eq!(admin.post_form("/admin/params", &set2021).await.status, StatusCode::SEE_OTHER);
        let page = cadre.get("/deadlines").await.text();
        let section = &page[page.find("id=\"measures\"").unwrap()..];
        let row = section.split("<tr").find(|r| r.contains(D2)).unwrap_or_else(|| panic!("{section}"));
        assert!(row.contains("（未落实）") && row.contains("2021-09-11") && row.contains("已超期"), "{row}");
        let bad = [("year", "2022"), ("region", "450203100000"), ("name", "nope"), ("value", "1")];
        let r = admin.post_form("/admin/params", &bad).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("没有参数“nope”"));
        // on the day, the inbox says "today"
        app.clock.set(at(4, 7));
        let mut town = app.login("town").await;
        let inbox = town.get("/inbox").await.text();
        let line = inbox.split("<li").find(|l| l.contains("待采取首批帮扶措施")).unwrap_or_else(|| panic!("{inbox}"));
        assert!(line.contains("今天到期1件"), "{line}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn an_officer_sees_the_households_they_serve() {
    let app = TestApp::sqlite().await;
    app.clock.set(at(4, 1));
    include_d1(&app).await;
    let mut cadre = app.login("dazheng").await;
    let form = cadre.get(&format!("/households/{D1}/officer")).await.text();
    let i = form.find("officer用户").unwrap();
    let j = form[..i].rfind("value=\"").unwrap();
    let officer_id = form[j + 7..].split('"').next().unwrap().to_string();
    let v = app.household_version(D1).await.to_string();
    let ok =
        [("version", v.as_str()), ("user", officer_id.as_str()), ("unit", "鱼峰区农业农村局"), ("on", "2022-04-01")];
    assert_eq!(cadre.post_form(&format!("/households/{D1}/officer"), &ok).await.status, StatusCode::SEE_OTHER);
    let mut officer = app.login("officer").await;
    assert_eq!(officer.get("/").await.location(), "/inbox");
    let inbox = officer.get("/inbox").await.text();
    assert!(inbox.contains("我帮扶的户（1）") && inbox.contains("韦国强") && inbox.contains("2022-04-11"), "{inbox}");
    // the officer records measures of the households they serve, not of others; no town overview
    let m = [("category", "就业帮扶"), ("content", "推荐务工"), ("planned_on", "2022-04-01"), ("status", "计划")];
    assert_eq!(officer.post_form(&format!("/households/{D1}/measures"), &m).await.status, StatusCode::SEE_OTHER);
    assert_eq!(officer.post_form(&format!("/households/{D2}/measures"), &m).await.status, StatusCode::FORBIDDEN);
    assert_eq!(officer.get("/deadlines").await.status, StatusCode::FORBIDDEN);
    assert_eq!(officer.get("/department-tasks").await.status, StatusCode::FORBIDDEN);
    // the household's 帮扶责任人 now changes only on its own page (history and reason)
    let mut town = app.api_login("town").await;
    let hv = town.get(&format!("/api/v1/households/{D1}")).await.json();
    let r = town
        .json(
            "PUT",
            &format!("/api/v1/households/{D1}"),
            serde_json::json!({ "version": hv["version"], "officer_name": "张三" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("帮扶责任人"));
    app.cleanup().await;
}

#[tokio::test]
async fn officers_through_the_api() {
    let app = TestApp::sqlite().await;
    app.clock.set(at(4, 1));
    include_d1(&app).await;
    let mut cadre = app.api_login("dazheng").await;
    let hv = cadre.get(&format!("/api/v1/households/{D1}")).await.json();
    let body = json!({ "version": hv["version"], "name": "黄建华", "unit": "雒容镇人民政府", "phone": "13907720000", "on": "2022-04-01" });
    let r = cadre.json("POST", &format!("/api/v1/households/{D1}/officers"), body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // the same version again: the household changed, 409
    assert_eq!(
        cadre.json("POST", &format!("/api/v1/households/{D1}/officers"), body).await.status,
        StatusCode::CONFLICT
    );
    let phone_views = || async {
        domain::ports::AuditStore::audit_rows(&app.db, &Default::default(), 1000)
            .await
            .unwrap()
            .iter()
            .filter(|r| r.entry.note.contains("帮扶责任人的完整联系电话"))
            .count()
    };
    assert_eq!(phone_views().await, 0);
    let list = cadre.get(&format!("/api/v1/households/{D1}/officers")).await.json();
    assert_eq!(list[0]["name"], "黄建华");
    assert_eq!(list[0]["phone"], "13907720000");
    assert!(list[0]["ended_on"].is_null());
    // the full number was seen: audited (D18)
    assert_eq!(phone_views().await, 1);
    // a leader reads with the phone masked (not audited) and may not assign
    let mut leader = app.api_login("leader").await;
    let list = leader.get(&format!("/api/v1/households/{D1}/officers")).await.json();
    assert_eq!(list[0]["phone"], "139****0000");
    assert_eq!(phone_views().await, 1);
    let r = leader
        .json(
            "POST",
            &format!("/api/v1/households/{D1}/officers"),
            json!({ "version": 1, "name": "x", "unit": "y", "on": "2022-04-01" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    app.cleanup().await;
}

#[tokio::test]
async fn measures_follow_the_risks_and_the_ten_day_deadline() {
    for app in TestApp::both().await {
        app.clock.set(at(4, 1));
        include_d1(&app).await;
        let mut cadre = app.login("dazheng").await;
        let v = app.household_version(D1).await.to_string();
        let ok = [("version", v.as_str()), ("name", "黄建华"), ("unit", "雒容镇人民政府"), ("on", "2022-04-01")];
        assert_eq!(cadre.post_form(&format!("/households/{D1}/officer"), &ok).await.status, StatusCode::SEE_OTHER);
        // 04-01 + 10 days = 04-11 (a Monday): listed as waiting, with the date
        let page = cadre.get("/deadlines").await.text();
        let section = &page[page.find("id=\"measures\"").unwrap()..];
        let row = section.split("<tr").find(|r| r.contains(D1)).unwrap_or_else(|| panic!("[{}] {section}", app.label));
        assert!(row.contains("2022-04-11") && row.contains("黄建华"), "{row}");
        // the measures page proposes what the risk needs and warns: able-bodied, nothing developmental
        let mp = cadre.get(&format!("/households/{D1}/measures")).await.text();
        assert!(mp.contains("就业帮扶") && mp.contains("（人社）") && mp.contains("因务工就业不稳"), "{mp}");
        assert!(mp.contains("还没有开发式帮扶措施") && mp.contains("2022-04-11前采取"));

        // a day late; a bad form keeps what was typed
        app.clock.set(at(4, 12));
        let mut cadre = app.login("dazheng").await;
        let mut town = app.login("town").await;
        let inbox = town.get("/inbox").await.text();
        let line = inbox.split("<li").find(|l| l.contains("待采取首批帮扶措施")).unwrap_or_else(|| panic!("{inbox}"));
        assert!(line.contains("逾期1件"), "{line}");
        let bad = [
            ("category", "就业帮扶"),
            ("department", "人社"),
            ("content", "推荐到园区企业务工"),
            ("planned_on", "2022-04-12"),
            ("status", "已实施"),
        ];
        let r = cadre.post_form(&format!("/households/{D1}/measures"), &bad).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("已实施的措施须填写实施完成日期") && r.text().contains("推荐到园区企业务工"));
        let good = [
            ("category", "就业帮扶"),
            ("department", "人社"),
            ("content", "推荐到园区企业务工"),
            ("planned_on", "2022-04-12"),
            ("status", "计划"),
            ("funds", "0"),
        ];
        let r = cadre.post_form(&format!("/households/{D1}/measures"), &good).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let mp = cadre.get(&format!("/households/{D1}/measures")).await.text();
        assert!(mp.contains("晚于时限2022-04-11") && !mp.contains("还没有开发式帮扶措施"), "{mp}");
        assert!(!cadre.get("/deadlines").await.text().contains(&format!("/households/{D1}/measures\"")));

        // mark it implemented through the API; a stale version is a conflict
        let mut api = app.api_login("dazheng").await;
        let list = api.get(&format!("/api/v1/households/{D1}/measures")).await.json();
        let m = &list["items"][0];
        assert_eq!(m["developmental"], true);
        let id = m["id"].as_i64().unwrap();
        let body = serde_json::json!({ "version": m["version"], "category": "就业帮扶", "department": "人社",
            "content": "推荐到园区企业务工", "planned_on": "2022-04-12", "status": "已实施", "completed_on": "2022-04-12" });
        let r = api.json("PUT", &format!("/api/v1/measures/{id}"), body.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["status"], "已实施");
        assert_eq!(api.json("PUT", &format!("/api/v1/measures/{id}"), body).await.status, StatusCode::CONFLICT);
        // another village sees none of it; a leader may read but not write
        let mut other = app.api_login("dongtang").await;
        assert_eq!(other.get(&format!("/api/v1/households/{D1}/measures")).await.status, StatusCode::NOT_FOUND);
        let mut leader = app.login("leader").await;
        assert_eq!(leader.post_form(&format!("/households/{D1}/measures"), &good).await.status, StatusCode::FORBIDDEN);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn department_tasks_are_pushed_answered_and_exported() {
    for app in TestApp::both().await {
        app.clock.set(at(4, 1));
        include_d1(&app).await;
        let mut cadre = app.login("dazheng").await;
        let mp = cadre.get(&format!("/households/{D1}/measures")).await.text();
        // the risk 因务工就业不稳 proposes 就业帮扶 and 公益岗位帮扶 for 人社
        assert!(mp.contains("value=\"human_resources:就业帮扶\""), "{mp}");
        let r = cadre
            .post_form(
                &format!("/households/{D1}/department-tasks"),
                &[("task", "human_resources:就业帮扶"), ("task", "medical_security:健康帮扶")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        // pushing the same again creates nothing
        let r = cadre
            .post_form(&format!("/households/{D1}/department-tasks"), &[("task", "medical_security:健康帮扶")])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let mp = cadre.get(&format!("/households/{D1}/measures")).await.text();
        assert!(mp.contains("任务清单（2）") && mp.contains("2022-04-11"), "{mp}");

        // 医保 sees its own task only; 教育 sees none
        let mut yibao = app.login("yibao").await;
        assert_eq!(yibao.get("/").await.location(), "/inbox");
        assert_eq!(yibao.get("/deadlines").await.status, StatusCode::FORBIDDEN);
        assert!(yibao.get("/inbox").await.text().contains("任务清单：待接收"));
        let list = yibao.get("/department-tasks").await.text();
        assert!(list.contains("健康帮扶") && !list.contains("就业帮扶") && list.contains("韦国强"), "{list}");
        let mut jiaoyu = app.api_login("jiaoyu").await;
        assert_eq!(jiaoyu.get("/api/v1/department-tasks").await.json()["total"], 0);
        // nor does 教育 read 医保's or 人社's tasks on the household's page (D15)
        let mut jiaoyu_page = app.login("jiaoyu").await;
        let mp = jiaoyu_page.get(&format!("/households/{D1}/measures")).await.text();
        assert!(!mp.contains("任务清单（"), "{mp}");
        let mut yibao_api = app.api_login("yibao").await;
        let tasks = yibao_api.get("/api/v1/department-tasks").await.json();
        assert_eq!(tasks["total"], 1);
        let t = &tasks["items"][0];
        let id = t["id"].as_i64().unwrap();
        // education may not act on it; completing before accepting is refused
        let r = jiaoyu
            .json(
                "POST",
                &format!("/api/v1/department-tasks/{id}/actions"),
                serde_json::json!({ "version": t["version"], "action": "accept" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = yibao_api
            .json(
                "POST",
                &format!("/api/v1/department-tasks/{id}/actions"),
                serde_json::json!({ "version": t["version"], "action": "complete", "text": "已纳入医疗救助" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = yibao_api
            .json(
                "POST",
                &format!("/api/v1/department-tasks/{id}/actions"),
                serde_json::json!({ "version": t["version"], "action": "accept" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let v = r.json()["version"].clone();
        let r = yibao_api
            .json(
                "POST",
                &format!("/api/v1/department-tasks/{id}/actions"),
                serde_json::json!({ "version": v, "action": "complete", "text": "已资助参加城乡居民医保", "on": "2022-04-01" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["state"], "已办结");
        assert!(r.json()["measure_id"].is_i64());
        // the completion is a measure of the household
        let mp = cadre.get(&format!("/households/{D1}/measures")).await.text();
        assert!(mp.contains("已资助参加城乡居民医保") && mp.contains("已实施"), "{mp}");

        // the employment task runs late: overdue for the town
        app.clock.set(at(4, 12));
        let mut town = app.login("town").await;
        assert!(town.get("/inbox").await.text().contains("任务清单：逾期未办结"));
        let list = town.get("/department-tasks").await.text();
        assert!(list.contains("就业帮扶") && list.contains("逾期"));
        // and on the town's deadline page
        let dl = town.get("/deadlines").await.text();
        let section = &dl[dl.find("id=\"department-tasks\"").unwrap()..dl.find("id=\"notices\"").unwrap()];
        assert!(section.contains("逾期未办结的任务清单（1）") && section.contains("就业帮扶"), "{section}");
        // 人社's list as xlsx (audited)
        let r = town.get("/department-tasks.xlsx?department=human_resources").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.bytes.starts_with(b"PK"), "an xlsx file");
        let cd = r.headers.get("content-disposition").unwrap().to_str().unwrap().to_string();
        assert!(cd.contains("xlsx"), "{cd}");
        app.cleanup().await;
    }
}

/// A fake SMS gateway: records what it is sent.
async fn fake_gateway() -> (String, std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>) {
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |axum::Json(v): axum::Json<serde_json::Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/sms"), got)
}

#[tokio::test]
async fn notifications_reach_the_inbox_and_the_gateway_once() {
    let app = TestApp::sqlite().await;
    app.clock.set(at(4, 1));
    let (url, got) = fake_gateway().await;
    let mut admin = app.login("admin").await;
    let bad = [("department", "医保"), ("region", "450203000000"), ("url", "https://sms.example/send")];
    let r = admin.post_form("/admin/webhooks", &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("网关地址应以 http:// 开头"));
    let ok = [("department", "医保"), ("region", "450203000000"), ("url", url.as_str())];
    assert_eq!(admin.post_form("/admin/webhooks", &ok).await.status, StatusCode::SEE_OTHER);
    // an unreachable gateway for the town office is recorded, not fatal
    let dead = [("role", "town_office"), ("region", "450203100000"), ("url", "http://127.0.0.1:9/sms")];
    assert_eq!(admin.post_form("/admin/webhooks", &dead).await.status, StatusCode::SEE_OTHER);

    include_d1(&app).await;
    // the town learns of the inclusion in its inbox
    let mut town = app.login("town").await;
    let inbox = town.get("/inbox").await.text();
    assert!(inbox.contains("已纳入监测：请在规定时限内落实帮扶责任人") && inbox.contains("条未读"), "{inbox}");
    let mut cadre = app.login("dazheng").await;
    let r =
        cadre.post_form(&format!("/households/{D1}/department-tasks"), &[("task", "medical_security:健康帮扶")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    let state = web::AppState::new(app.db.clone(), app.clock.clone(), web::WebConfig::default());
    assert!(web::notify::dispatch_once(&state).await >= 2);
    let sent = got.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "only 医保's notification goes to 医保's gateway: {sent:?}");
    assert!(sent[0]["text"].as_str().unwrap().contains("需落实健康帮扶") && sent[0]["department"] == "医保");
    // nothing is sent twice
    assert_eq!(web::notify::dispatch_once(&state).await, 0);
    assert_eq!(got.lock().unwrap().len(), 1);
    // 医保 sees it in the app; 教育 does not
    let mut yibao = app.login("yibao").await;
    assert!(yibao.get("/inbox").await.text().contains("需落实健康帮扶"));
    let mut jiaoyu = app.login("jiaoyu").await;
    assert!(!jiaoyu.get("/inbox").await.text().contains("需落实健康帮扶"));
    // marking read
    let page = town.get("/inbox").await.text();
    let i = page.find("name=\"up_to\" value=\"").unwrap();
    let up_to = page[i + 20..].split('"').next().unwrap().to_string();
    assert_eq!(town.post_form("/notifications/read", &[("up_to", up_to.as_str())]).await.status, StatusCode::SEE_OTHER);
    assert!(!town.get("/inbox").await.text().contains("条未读"));
    app.cleanup().await;
}
