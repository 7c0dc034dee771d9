//! 部门筛查预警 (DOMAIN §9, D15–D17) through the pages: a 医保 file uploaded with progress raises
//! alerts by the threshold of each household's group, dirty IDs are normalised or kept for
//! review, the same file twice raises nothing twice, a newer row updates the open alert; the
//! village verifies (errors keep what was typed; 转为线索 opens a case); departments see only
//! their own.

use axum::http::StatusCode;
use chrono::{TimeZone, Utc};

use crate::harness::*;

fn at(m: u32, d: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, m, d, 2, 0, 0).unwrap()
}

/// Uploads a department file and waits for its job; returns the job page.
async fn upload(c: &mut Client<'_>, name: &str, body: &str, fields: &[(&str, &str)]) -> String {
    let r = c.upload("/alerts/import", name, body.as_bytes(), fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let job = r.location();
    assert!(job.starts_with("/alerts/import/jobs/"), "{job}");
    for _ in 0..100 {
        let page = c.get(&job).await.text();
        if !page.contains("hx-trigger=\"every 1s\"") {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the import did not finish");
}

fn medical_file(d2_amount: u32) -> String {
    // D1 is an ordinary household (warns at ≥ 20,000), D2 a monitored 脱贫户 (≥ 5,000); T1's ID
    // arrives with spaces; the last ID has a wrong check character
    let spaced = format!("{} {}", &T1_HEAD_ID[..6], &T1_HEAD_ID[6..]);
    format!(
        "参保人姓名,身份证号码,个人自付金额,统计期间\n\
         韦国强,{D1_HEAD_ID},\"21,000\",2022-03\n\
         李秀英,{D1_SPOUSE_ID},6000,2022-03\n\
         覃秀兰,450203195806070021,{d2_amount},2022-03\n\
         蒙志刚,\"{spaced}\",4000,2022-03\n\
         张三,450203199901011234,9000,2022-03\n"
    )
}

#[tokio::test]
async fn a_medical_file_raises_alerts_the_village_verifies() {
    for app in TestApp::both().await {
        app.clock.set(at(4, 20));
        let mut town = app.login("town").await;
        let form = town.get("/alerts/import").await.text();
        assert!(form.contains("医保自付费用（医保）") && form.contains("财政供养人员"), "{form}");

        // a cell that cannot be read: nothing is written
        let bad = "姓名,证件号码,金额\n韦国强,450203197001010012,六千\n";
        let page = upload(&mut town, "医保.csv", bad, &[("feed", "medical"), ("period", "2022-03")]).await;
        assert!(page.contains("没有写入任何数据") && page.contains("六千"), "[{}] {page}", app.label);
        // the problem list downloads as xlsx
        let report = page.split("href=\"").find(|s| s.starts_with("/alerts/import/jobs/")).unwrap();
        let report = report.split('"').next().unwrap().to_string();
        let x = town.get(&report).await;
        assert_eq!(x.status, StatusCode::OK, "{report}");
        assert!(x.bytes.starts_with(b"PK"));
        assert!(town.get("/alerts").await.text().contains("没有符合条件的预警"));

        // a dry run reports without writing
        let file = medical_file(6_000);
        let page = upload(&mut town, "医保2022年3月.csv", &file, &[("feed", "medical"), ("dry_run", "on")]).await;
        assert!(page.contains("检查通过（未写入）") && page.contains("将产生预警 2 条"), "{page}");
        let page = upload(&mut town, "医保2022年3月.csv", &file, &[("feed", "medical")]).await;
        assert!(page.contains("新增预警 2 条"), "[{}] {page}", app.label);
        // 4 matched (T1's spaced ID too), 2 below their group's line, the wrong check character kept
        assert!(page.contains("<th>匹配</th><td>4</td>") && page.contains("<th>未达预警线</th><td>2</td>"), "{page}");
        assert!(page.contains("校验位错误") && page.contains("450203********1234"), "{page}");

        let list = town.get("/alerts").await.text();
        assert!(list.contains("共 2 条") && list.contains("韦国强") && list.contains("覃秀兰"), "{list}");
        // 2022-04-20 + 5 working days: 04-24 is a make-up working Sunday
        assert!(list.contains("2022-04-26") && list.contains("21,000.00 元（预警线 20,000.00 元）"), "{list}");
        let inbox = town.get("/inbox").await.text();
        let item = inbox.split("<li").find(|l| l.contains("部门预警待核实")).unwrap_or_else(|| panic!("{inbox}"));
        assert!(item.contains("本周内到期2件"), "{item}");
        // dispatched to the village: its cadres are notified
        let mut cadre = app.login("dazheng").await;
        assert!(cadre.get("/inbox").await.text().contains("医保推送医保自付费用预警：本村 2 户待核实"));
        let mut other = app.login("dongtang").await;
        assert!(!other.get("/inbox").await.text().contains("医保推送"), "T1 stayed below its line");

        // the same file again: nothing twice; a newer row updates the open alert
        let page = upload(&mut town, "医保2022年3月.csv", &file, &[("feed", "medical")]).await;
        assert!(page.contains("未重复导入"), "{page}");
        let page = upload(&mut town, "医保2022年4月.csv", &medical_file(8_000), &[("feed", "medical")]).await;
        assert!(page.contains("新增预警 0 条，更新 1 条，未变 1 条"), "{page}");
        let list = town.get("/alerts").await.text();
        assert!(list.contains("共 2 条") && list.contains("8,000.00 元（预警线 5,000.00 元）"), "{list}");

        // departments see their own department's alerts only; another village nothing
        let mut yibao = app.login("yibao").await;
        assert!(yibao.get("/alerts").await.text().contains("共 2 条"));
        let mut jiaoyu = app.login("jiaoyu").await;
        assert!(jiaoyu.get("/alerts").await.text().contains("没有符合条件的预警"));
        let jform = jiaoyu.get("/alerts/import").await.text();
        assert!(jform.contains("辍学") && !jform.contains("医保自付费用"), "{jform}");
        let r = jiaoyu.upload("/alerts/import", "x.csv", file.as_bytes(), &[("feed", "medical")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let mut dongtang = app.login("dongtang").await;
        assert!(dongtang.get("/alerts").await.text().contains("没有符合条件的预警"));
        let list = town.get("/alerts").await.text();
        let id_of = |name: &str| {
            let row = list.split("<tr").find(|r| r.contains(name)).unwrap();
            row.split("/alerts/").nth(1).unwrap().split('"').next().unwrap().to_string()
        };
        let (d1_alert, d2_alert) = (id_of("韦国强"), id_of("覃秀兰"));
        assert_eq!(dongtang.get(&format!("/alerts/{d2_alert}")).await.status, StatusCode::NOT_FOUND);

        // the village verifies; a missing note keeps what was typed
        let mut cadre = app.login("dazheng").await;
        let page = cadre.get(&format!("/alerts/{d2_alert}")).await.text();
        assert!(page.contains("部门数据（2 行）") && page.contains("450203195806070021"), "{page}");
        // a leader sees the rows with the ID masked
        let mut leader = app.login("leader").await;
        let lp = leader.get(&format!("/alerts/{d2_alert}")).await.text();
        assert!(!lp.contains("450203195806070021") && !lp.contains("提交核实结论"), "{lp}");
        // only the ID is masked: the amount and period stay readable
        assert!(lp.contains("450203********0021") && lp.contains("<td>8000</td>"), "{lp}");
        let version = page.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let untrue =
            [("version", version.as_str()), ("conclusion", "1"), ("mode", "2"), ("on", "2022-04-20"), ("note", " ")];
        let r = cadre.post_form(&format!("/alerts/{d2_alert}"), &untrue).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("请写明核实情况") && r.text().contains("value=\"2\" selected"), "{}", r.text());
        let untrue = [
            ("version", version.as_str()),
            ("conclusion", "1"),
            ("mode", "2"),
            ("on", "2022-04-20"),
            ("note", "住院费用已由大病保险报销，家庭收入稳定"),
        ];
        let r = cadre.post_form(&format!("/alerts/{d2_alert}"), &untrue).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = cadre.get(&format!("/alerts/{d2_alert}")).await.text();
        assert!(page.contains("不属实（电话核实，2022-04-20）") && !page.contains("提交核实结论"), "{page}");
        // verified once only
        let r = cadre.post_form(&format!("/alerts/{d2_alert}"), &untrue).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

        // 转为线索 opens an identification case with the department as the source
        let page = cadre.get(&format!("/alerts/{d1_alert}")).await.text();
        let version = page.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let clue = [
            ("version", version.as_str()),
            ("conclusion", "5"),
            ("mode", "1"),
            ("on", "2022-04-20"),
            ("note", "住院花费大，务工收入中断"),
        ];
        let r = cadre.post_form(&format!("/alerts/{d1_alert}"), &clue).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = cadre.get(&format!("/alerts/{d1_alert}")).await.text();
        let case =
            page.split("/cases/").nth(1).unwrap_or_else(|| panic!("{page}")).split('"').next().unwrap().to_string();
        let cp = cadre.get(&format!("/cases/{case}")).await.text();
        assert!(cp.contains("部门筛查预警") && cp.contains("住院花费大"), "{cp}");
        assert!(town.get("/alerts").await.text().contains("没有符合条件的预警"), "both verified");
        // the same rows again, in a file with other bytes, after the village concluded: nothing new
        let again = format!("{}\n", medical_file(8_000));
        let page = upload(&mut town, "医保2022年4月（重发）.csv", &again, &[("feed", "medical")]).await;
        assert!(page.contains("新增预警 0 条，更新 0 条，未变 2 条"), "{page}");
        // the same file imported by the district's 医保 for its whole scope is its own batch
        let page = upload(&mut yibao, "医保2022年4月.csv", &medical_file(8_000), &[("feed", "medical")]).await;
        assert!(page.contains("新增预警 0 条") && !page.contains("未重复导入"), "{page}");
        // screeners and officers have no alert pages in their menu; a leader may not verify
        let r = leader.post_form(&format!("/alerts/{d1_alert}"), &untrue).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        app.cleanup().await;
    }
}

/// A department system posts its file; a village system reads and verifies the alerts.
#[tokio::test]
async fn feeds_and_alerts_through_the_api() {
    let app = TestApp::sqlite().await;
    app.clock.set(at(4, 20));
    let mut yibao = app.api_login("yibao").await;
    let file = medical_file(6_000);
    let r =
        yibao.upload("/api/v1/feeds", "医保.csv", file.as_bytes(), &[("feed", "medical"), ("dry_run", "true")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!((r.json()["written"].as_bool(), r.json()["alerts_raised"].as_i64()), (Some(false), Some(2)));
    let r = yibao.upload("/api/v1/feeds", "医保.csv", file.as_bytes(), &[("feed", "medical")]).await;
    let j = r.json();
    assert_eq!(
        (j["written"].as_bool(), j["alerts_raised"].as_i64(), j["matched"].as_i64()),
        (Some(true), Some(2), Some(4))
    );
    assert_eq!(j["unmatched"][0]["id"], "450203********1234");
    let r = yibao.upload("/api/v1/feeds", "医保.csv", file.as_bytes(), &[("feed", "medical")]).await;
    assert_eq!(
        (r.json()["written"].as_bool(), r.json()["previous_batch"].as_i64()),
        (Some(false), j["batch"].as_i64())
    );
    // a bad cell: the row and field, nothing written
    let r = yibao
        .upload(
            "/api/v1/feeds",
            "坏.csv",
            "姓名,证件号码,金额\n甲,450203197001010012,x\n".as_bytes(),
            &[("feed", "medical")],
        )
        .await;
    assert_eq!((r.json()["written"].as_bool(), r.json()["errors"][0]["line"].as_i64()), (Some(false), Some(2)));
    // another department may not post 医保's file
    let mut jiaoyu = app.api_login("jiaoyu").await;
    let r = jiaoyu.upload("/api/v1/feeds", "医保.csv", file.as_bytes(), &[("feed", "medical")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(jiaoyu.get("/api/v1/alerts").await.json()["total"], 0);

    let mut cadre = app.api_login("dazheng").await;
    let list = cadre.get("/api/v1/alerts?feed=medical").await.json();
    assert_eq!(list["total"], 2);
    let a = list["items"].as_array().unwrap().iter().find(|x| x["member_name"] == "覃秀兰").unwrap().clone();
    assert_eq!(
        (a["value"].as_str(), a["threshold"].as_str(), a["due_on"].as_str()),
        (Some("6,000.00"), Some("5,000.00"), Some("2022-04-26"))
    );
    let body = serde_json::json!({ "version": a["version"], "conclusion": "已帮扶", "mode": "入户核实", "on": "2022-04-21", "note": "已落实医疗救助" });
    let r = cadre.json("POST", &format!("/api/v1/alerts/{}/verification", a["id"]), body.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a date after today");
    let body = serde_json::json!({ "version": a["version"], "conclusion": "已帮扶", "mode": "入户核实", "on": "2022-04-20", "note": "已落实医疗救助" });
    let r = cadre.json("POST", &format!("/api/v1/alerts/{}/verification", a["id"]), body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!((r.json()["status"].as_str(), r.json()["conclusion"].as_str()), (Some("concluded"), Some("已帮扶")));
    let r = cadre.json("POST", &format!("/api/v1/alerts/{}/verification", a["id"]), body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "verified once");
    assert_eq!(cadre.get("/api/v1/alerts?status=all").await.json()["total"], 2);
    let doc = cadre.get("/api/v1/openapi.json").await.json();
    assert!(doc["paths"]["/api/v1/feeds"]["post"].is_object() && doc["paths"]["/api/v1/alerts"]["get"].is_object());
    app.cleanup().await;
}

/// D16: a 财政供养 fact on a member blocks 信息比对 until the town proposes and the county approves
/// an exception with a reason; the case page shows the check.
#[tokio::test]
async fn an_exclusion_blocks_the_data_check_until_town_and_county_approve() {
    for app in TestApp::both().await {
        app.clock.set(at(4, 20));
        let mut town = app.login("town").await;
        let file = format!("姓名,身份证号码,单位\n韦国强,{D1_HEAD_ID},雒容镇中心小学\n");
        let page = upload(&mut town, "财政供养.csv", &file, &[("feed", "state_salaried")]).await;
        assert!(page.contains("不宜纳入信息 1 条"), "[{}] {page}", app.label);

        let mut cadre = app.api_login("dazheng").await;
        let mut county = app.api_login("county").await;
        let r = cadre
            .json(
                "POST",
                "/api/v1/cases",
                serde_json::json!({ "household_no": D1, "source": "干部排查", "on": "2022-04-11", "note": "务工收入骤减" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let id = r.json()["id"].as_i64().unwrap();
        let mut v = r.json()["version"].clone();
        for body in [
            serde_json::json!({ "step": "application", "on": "2022-04-12" }),
            serde_json::json!({ "step": "home_verification", "on": "2022-04-13", "participants": ["韦小明", "蓝海"] }),
        ] {
            let mut body = body;
            body["version"] = v.clone();
            let r = cadre.json("POST", &format!("/api/v1/cases/{id}/steps"), body).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            v = r.json()["version"].clone();
        }
        let check = serde_json::json!({ "version": v, "step": "data_check", "on": "2022-04-14" });
        let r = county.json("POST", &format!("/api/v1/cases/{id}/steps"), check.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        assert!(r.text().contains("韦国强：财政供养人员（雒容镇中心小学）"), "{}", r.text());
        // rejecting at 信息比对 stays possible; here the town asks for an exception
        let mut cp = app.login("county").await;
        let page = cp.get(&format!("/cases/{id}")).await.text();
        assert!(page.contains("不宜纳入核查") && page.contains("未申请例外"), "{page}");
        let r = cp.post_form(&format!("/cases/{id}/exclusion-exception"), &[("reason", "")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("须先由乡镇申请例外"));
        let r = town.post_form(&format!("/cases/{id}/exclusion-exception"), &[("reason", "病")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("请写明例外的理由") && r.text().contains(">病</textarea>"), "{}", r.text());
        let reason = [("reason", "突发重大疾病，医疗自付超过家庭年收入")];
        assert_eq!(
            town.post_form(&format!("/cases/{id}/exclusion-exception"), &reason).await.status,
            StatusCode::SEE_OTHER
        );
        let r = county.json("POST", &format!("/api/v1/cases/{id}/steps"), check.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "the county has not approved yet");
        let mut cadre_page = app.login("dazheng").await;
        assert_eq!(
            cadre_page.post_form(&format!("/cases/{id}/exclusion-exception"), &[("reason", "x")]).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(cp.post_form(&format!("/cases/{id}/exclusion-exception"), &[]).await.status, StatusCode::SEE_OTHER);
        let page = cp.get(&format!("/cases/{id}")).await.text();
        assert!(page.contains("已批准例外：突发重大疾病"), "{page}");
        let r = county.json("POST", &format!("/api/v1/cases/{id}/steps"), check).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let audit = domain::ports::AuditStore::audit_rows(&app.db, &Default::default(), 1000).await.unwrap();
        assert!(audit.iter().any(|r| r.entry.note.contains("县级批准案件")));
        app.cleanup().await;
    }
}

/// D17 near misses: rows whose ID is missing or fails its check are never matched; the review
/// page proposes members with the same name and birth date (and village), the reviewer's
/// "same person" raises the row's alert and matches that written ID next time, "not this one"
/// is remembered.
#[tokio::test]
async fn near_misses_are_reviewed_by_a_person_and_remembered() {
    for app in TestApp::both().await {
        app.clock.set(at(4, 20));
        let mut town = app.login("town").await;
        let wrong = "450203195806070020"; // 覃秀兰's ID with a wrong check character
        let file = format!(
            "姓名,身份证号码,出生日期,村,死亡日期\n\
             覃秀兰,{wrong},,,2022-04-02\n\
             韦国强,,1970-01-01,大正村,2022-04-03\n\
             张三,450203199901011234,,,2022-04-03\n"
        );
        let page = upload(&mut town, "死亡.csv", &file, &[("feed", "death")]).await;
        assert!(page.contains("新增预警 0 条") && page.contains("核对未匹配的行"), "[{}] {page}", app.label);
        let review = town.get("/alerts/unmatched").await.text();
        assert!(review.contains("共 3 行待核对"), "{review}");
        let card = |name: &str, page: &str| page.split("<article>").find(|c| c.contains(name)).unwrap().to_string();
        let qin = card("覃秀兰", &review);
        assert!(qin.contains("450203195806070021") && qin.contains(D2), "the candidate: {qin}");
        let wei = card("韦国强", &review);
        assert!(wei.contains(D1_HEAD_ID) && !wei.contains(D1_SPOUSE_ID), "same name and birth only: {wei}");
        assert!(card("张三", &review).contains("没有姓名和出生日期相同的登记人员"));
        let row_id = |c: &str| c.split("/alerts/unmatched/").nth(1).unwrap().split('"').next().unwrap().to_string();
        let member =
            |c: &str| c.split("name=\"member\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        // not this one: remembered, no longer proposed
        let (wid, wm) = (row_id(&wei), member(&wei));
        let r = town.post_form(&format!("/alerts/unmatched/{wid}"), &[("member", &wm), ("decision", "no")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(
            card("韦国强", &town.get("/alerts/unmatched").await.text()).contains("没有姓名和出生日期相同的登记人员")
        );
        // the same person: the row raises its alert
        let (qid, qm) = (row_id(&qin), member(&qin));
        let r = town.post_form(&format!("/alerts/unmatched/{qid}"), &[("member", &qm), ("decision", "yes")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let list = town.get("/alerts?feed=death").await.text();
        assert!(list.contains("覃秀兰") && list.contains("共 1 条"), "{list}");
        // decided once only; nobody in the registry closes a row
        let r = town.post_form(&format!("/alerts/unmatched/{qid}"), &[("member", &qm), ("decision", "yes")]).await;
        assert!(r.location().starts_with("/alerts/unmatched"));
        let zid = row_id(&card("张三", &town.get("/alerts/unmatched").await.text()));
        town.post_form(&format!("/alerts/unmatched/{zid}"), &[("decision", "nobody")]).await;
        assert!(town.get("/alerts/unmatched").await.text().contains("共 1 行待核对"));
        // next month's file: the same wrongly written ID is matched by the decision; a row with no
        // ID is never matched by its name, whatever was decided before
        let next = file.replace("2022-04-0", "2022-05-0");
        let page = upload(&mut town, "死亡5月.csv", &next, &[("feed", "death")]).await;
        assert!(page.contains("<th>匹配</th><td>1</td>") && !page.contains("曾人工核对"), "{page}");
        // reviewing needs full IDs: not for a leader or a department
        let mut leader = app.login("leader").await;
        assert_eq!(leader.get("/alerts/unmatched").await.status, StatusCode::FORBIDDEN);
        let mut yibao = app.login("yibao").await;
        assert_eq!(yibao.get("/alerts/unmatched").await.status, StatusCode::FORBIDDEN);
        app.cleanup().await;
    }
}

/// 数据比对: the report counts what departments and the registry disagree on; the lists hold
/// exactly the counted rows; IDs are masked for roles without the sensitive view; the export
/// (one sheet per check) is audited; departments have their own pages instead.
#[tokio::test]
async fn the_data_comparison_report_agrees_with_its_lists() {
    for app in TestApp::both().await {
        app.clock.set(at(4, 20));
        let mut town = app.login("town").await;
        let deaths = format!("姓名,身份证号码,死亡日期\n李秀英,{D1_SPOUSE_ID},2022-04-02\n");
        upload(&mut town, "死亡.csv", &deaths, &[("feed", "death")]).await;
        let dibao = "姓名,身份证号码,变动类型\n覃秀兰,450203195806070021,新增低保\n";
        let page = upload(&mut town, "民政.csv", dibao, &[("feed", "assistance")]).await;
        assert!(page.contains("新增预警 1 条"), "[{}] {page}", app.label);

        let report = town.get("/quality").await.text();
        let count = |key: &str| {
            let row = report.split("<tr>").find(|r| r.contains(&format!("/quality/{key}?"))).unwrap_or("");
            row.split("tag bad\">").nth(1).map(|s| s.split('<').next().unwrap().to_string()).unwrap_or_default()
        };
        assert_eq!(count("deaths_registered"), "1", "{report}");
        assert_eq!(count("dibao_mismatch"), "1", "{report}");
        // the alerts table agrees with the alert page
        assert!(
            report.contains("<td data-label=\"数据\">死亡</td>") && report.contains("<td data-label=\"待核实\">1</td>")
        );
        let deaths_list = town.get("/alerts?feed=death").await.text();
        assert!(deaths_list.contains("共 1 条"));
        let list = town.get("/quality/deaths_registered").await.text();
        assert!(list.contains("已死亡仍在册（1）") && list.contains("李秀英") && list.contains(D1_SPOUSE_ID), "{list}");
        let list = town.get("/quality/dibao_mismatch").await.text();
        assert!(list.contains("覃秀兰") && list.contains("登记未享受低保，民政报告已纳入"), "{list}");
        // a leader reads it with IDs masked; a department has no report
        let mut leader = app.login("leader").await;
        let lp = leader.get("/quality/deaths_registered").await.text();
        assert!(lp.contains("李秀英") && !lp.contains(D1_SPOUSE_ID) && lp.contains("450203********0025"), "{lp}");
        let mut yibao = app.login("yibao").await;
        assert_eq!(yibao.get("/quality").await.status, StatusCode::FORBIDDEN);
        // another village sees none of it
        let mut dongtang = app.login("dongtang").await;
        assert!(!dongtang.get("/quality/deaths_registered").await.text().contains("李秀英"));
        let x = town.get("/quality.xlsx").await;
        assert_eq!(x.status, StatusCode::OK);
        assert!(x.bytes.starts_with(b"PK"), "an xlsx file");
        let audit = domain::ports::AuditStore::audit_rows(&app.db, &Default::default(), 1000).await.unwrap();
        assert!(audit.iter().any(|r| r.entry.note.contains("导出数据比对报告")));
        app.cleanup().await;
    }
}

/// Every feed kind through the API: the alert kinds raise one alert each for D1 (kinds do not
/// merge), the 不宜纳入 kinds record a fact each; the region's list of 不宜纳入 kinds decides
/// which facts block 信息比对 (here: none).
#[tokio::test]
async fn every_feed_kind_and_the_list_of_exclusions() {
    use domain::feed::{FeedKind, FeedUse};
    let app = TestApp::sqlite().await;
    app.clock.set(at(4, 20));
    let mut town = app.api_login("town").await;
    let (mut alerts, mut facts) = (0, 0);
    for kind in FeedKind::ALL {
        let (header, values) = match kind {
            FeedKind::MedicalSelfPaid => ("姓名,身份证号码,个人自付金额", "25000"),
            FeedKind::EducationFees => ("姓名,身份证号码,自付学费", "12000"),
            FeedKind::Assistance => ("姓名,身份证号码,变动类型", "临时救助"),
            FeedKind::Disaster => ("姓名,身份证号码,灾害类型", "洪涝灾害"),
            FeedKind::DangerousHousing => ("姓名,身份证号码,危房等级", "D级"),
            FeedKind::Vehicle => ("姓名,身份证号码,车牌号", "桂B12345"),
            FeedKind::StateSalaried => ("姓名,身份证号码,单位", "雒容镇中心小学"),
            FeedKind::Business => ("姓名,身份证号码,企业名称", "柳州某商贸有限公司"),
            FeedKind::Property => ("姓名,身份证号码,房屋坐落", "柳州市某小区"),
            _ => ("姓名,身份证号码,项目", "有"),
        };
        let file = format!("{header}\n韦国强,{D1_HEAD_ID},{values}\n");
        let r = town
            .upload("/api/v1/feeds", &format!("{}.csv", kind.key()), file.as_bytes(), &[("feed", kind.key())])
            .await;
        let j = r.json();
        assert_eq!(j["written"], true, "{kind:?}: {}", r.text());
        match kind.usage() {
            FeedUse::Alert => {
                assert_eq!(j["alerts_raised"], 1, "{kind:?}: {j}");
                alerts += 1;
            }
            FeedUse::Exclusion => {
                assert_eq!(
                    (j["alerts_raised"].as_i64(), j["exclusion_facts"].as_i64()),
                    (Some(0), Some(1)),
                    "{kind:?}"
                );
                facts += 1;
            }
        }
    }
    assert_eq!((alerts, facts), (11, 4));
    assert_eq!(town.get("/api/v1/alerts").await.json()["total"], 11);

    // the town's list of 不宜纳入 kinds set to none: the facts no longer block 信息比对
    let mut admin = app.login("admin").await;
    let set = [("year", "2022"), ("region", "450203100000"), ("name", "exclusion_kinds"), ("value", "无")];
    assert_eq!(admin.post_form("/admin/params", &set).await.status, StatusCode::SEE_OTHER);
    let mut cadre = app.api_login("dazheng").await;
    let mut county = app.api_login("county").await;
    let r = cadre
        .json(
            "POST",
            "/api/v1/cases",
            serde_json::json!({ "household_no": D1, "source": "部门筛查预警", "on": "2022-04-11", "note": "医保预警" }),
        )
        .await;
    let id = r.json()["id"].as_i64().unwrap();
    let mut v = r.json()["version"].clone();
    for body in [
        serde_json::json!({ "step": "application", "on": "2022-04-12" }),
        serde_json::json!({ "step": "home_verification", "on": "2022-04-13", "participants": ["韦小明", "蓝海"] }),
    ] {
        let mut body = body;
        body["version"] = v.clone();
        v = cadre.json("POST", &format!("/api/v1/cases/{id}/steps"), body).await.json()["version"].clone();
    }
    let check = serde_json::json!({ "version": v, "step": "data_check", "on": "2022-04-14" });
    let r = county.json("POST", &format!("/api/v1/cases/{id}/steps"), check).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    app.cleanup().await;
}
