//! 识别认定 from the pages and the API (DOMAIN D8): a village cadre registers a clue with a file,
//! every step is recorded in order by its own role, skipping answers 409 and another role 403,
//! the notice runs five days and prints without IDs, phones or health, county approval and 纳入监测
//! make the household monitored; outside the region nothing is visible.

use axum::http::StatusCode;
use chrono::{TimeZone, Utc};

use crate::harness::*;

fn at(m: u32, d: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, m, d, 2, 0, 0).unwrap()
}

/// The case's version as the page shows it.
fn version(html: &str) -> String {
    let i = html.find("name=\"version\" value=\"").expect("a version field");
    let rest = &html[i + 22..];
    rest[..rest.find('"').unwrap()].to_string()
}

#[tokio::test]
async fn a_clue_goes_through_every_step_from_the_pages() {
    for app in TestApp::both().await {
        // the steps are recorded as they happened, up to today (sessions start now)
        app.clock.set(at(4, 12));
        let mut cadre = app.login("dazheng").await;
        let page = cadre.get(&format!("/households/{D1}")).await.text();
        assert!(page.contains("登记线索（开始识别认定）"), "[{}] offered on a household not monitored", app.label);
        assert!(cadre.get(&format!("/cases/new?household={D1}")).await.text().contains("线索来源"));
        // the note is required: the typed source and date are kept
        let r = cadre
            .upload("/cases/new", "", b"", &[("household", D1), ("source", "农户自主申报"), ("on", "2022-03-28")])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("请说明线索情况") && r.text().contains("value=\"2022-03-28\""), "{}", r.text());
        let r = cadre
            .upload(
                "/cases/new",
                "申请书.jpg",
                b"\xff\xd8scan",
                &[
                    ("household", D1),
                    ("source", "农户自主申报"),
                    ("on", "2022-03-28"),
                    ("note", "户主住院，自付约3万元"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let case_url = r.location();
        let id: i64 = case_url.trim_start_matches("/cases/").parse().unwrap();
        let page = cadre.get(&case_url).await.text();
        assert!(page.contains("办理：申请及承诺授权") && page.contains("申请书.jpg"), "{page}");
        assert!(page.contains("/attachments/"));

        // skipping is refused with 409 and what was typed stays
        let v = version(&page);
        let skip = [("step", "appraisal"), ("version", v.as_str()), ("on", "2022-03-28"), ("note", "评议通过")];
        let r = cadre.upload(&format!("/cases/{id}/steps"), "", b"", &skip).await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        assert!(r.text().contains("不能跳过步骤") && r.text().contains("申请及承诺授权"), "{}", r.text());
        // the town office may not record the household's application: 403, no form offered
        let mut town = app.login("town").await;
        let tp = town.get(&case_url).await.text();
        assert!(!tp.contains("办理：") && tp.contains("由村干部办理"), "{tp}");
        let app_step = [("step", "application"), ("version", v.as_str()), ("on", "2022-03-28")];
        assert_eq!(town.upload(&format!("/cases/{id}/steps"), "", b"", &app_step).await.status, StatusCode::FORBIDDEN);
        // another village sees nothing
        let mut other = app.login("dongtang").await;
        assert_eq!(other.get(&case_url).await.status, StatusCode::NOT_FOUND);
        assert!(!other.get("/cases").await.text().contains(&format!("#{id}")));

        let mut county = app.login("county").await;
        let steps: Vec<(&str, Vec<(&'static str, String)>)> = vec![
            ("dazheng", vec![("step", "application".into()), ("on", "2022-03-28".into())]),
            (
                "dazheng",
                vec![
                    ("step", "home_verification".into()),
                    ("on", "2022-03-29".into()),
                    ("participants", "韦小明、蓝海".into()),
                ],
            ),
            ("county", vec![("step", "data_check".into()), ("on", "2022-03-30".into()), ("outcome", "通过".into())]),
            ("dazheng", vec![("step", "appraisal".into()), ("on", "2022-03-30".into()), ("outcome", "通过".into())]),
            ("dazheng", vec![("step", "public_notice".into()), ("on", "2022-03-31".into())]),
        ];
        for (who, fields) in steps {
            let client = if who == "county" { &mut county } else { &mut cadre };
            let v = version(&client.get(&case_url).await.text());
            let mut f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            f.push(("version", &v));
            let r = client.upload(&format!("/cases/{id}/steps"), "", b"", &f).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "[{}] {fields:?}: {}", app.label, r.text());
        }
        // the notice as posted on 03-31: printable, without ID numbers, phones or health
        let notice = cadre.get(&format!("/cases/print?kind=notice&village={DAZHENG}&posted=2022-03-31")).await.text();
        assert!(notice.contains("大正村防止返贫监测对象识别公示") && notice.contains("韦国强"), "{notice}");
        assert!(notice.contains("2022-03-31 至 2022-04-05"));
        for secret in [D1_HEAD_ID, D1_SPOUSE_ID, "13807721234", "慢性病", "李秀英", "自付约3万元"] {
            assert!(!notice.contains(secret), "the notice must not show {secret}");
        }
        // the notice of households still to be posted no longer lists it
        let next_notice = cadre.get(&format!("/cases/print?kind=notice&village={DAZHENG}")).await.text();
        assert!(!next_notice.contains("韦国强") && next_notice.contains("没有等待公示"));
        // a leader sees the case but neither the clue's note nor its files (D18)
        let mut leader = app.login("leader").await;
        let lp = leader.get(&case_url).await.text();
        assert!(lp.contains("线索登记") && !lp.contains("自付约3万元") && !lp.contains("/attachments/"), "{lp}");
        // the case can no longer be withdrawn: it is past the data check
        let v = version(&cadre.get(&case_url).await.text());
        let r = cadre.post_form(&format!("/cases/{id}/withdraw"), &[("version", v.as_str()), ("reason", "撤回")]).await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        assert!(r.text().contains("不能再撤销"));
        // ended before five full days: 409
        let v = version(&cadre.get(&case_url).await.text());
        let early = [("step", "public_notice"), ("version", v.as_str()), ("on", "2022-04-04")];
        let r = cadre.upload(&format!("/cases/{id}/steps"), "", b"", &early).await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        assert!(r.text().contains("公示须满5天") && r.text().contains("2022-04-05"));
        let end = [("step", "public_notice"), ("version", v.as_str()), ("on", "2022-04-05"), ("note", "公示无异议")];
        assert_eq!(cadre.upload(&format!("/cases/{id}/steps"), "", b"", &end).await.status, StatusCode::SEE_OTHER);

        let v = version(&town.get(&case_url).await.text());
        let review = [("step", "town_review"), ("version", v.as_str()), ("on", "2022-04-06"), ("outcome", "通过")];
        assert_eq!(town.upload(&format!("/cases/{id}/steps"), "", b"", &review).await.status, StatusCode::SEE_OTHER);
        // the county must choose category and risks
        let cp = county.get(&case_url).await.text();
        assert!(cp.contains("监测对象类别") && cp.contains("风险类型"));
        let v = version(&cp);
        let none = [("step", "county_approval"), ("version", v.as_str()), ("on", "2022-04-07"), ("outcome", "通过")];
        let r = county.upload(&format!("/cases/{id}/steps"), "", b"", &none).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("请选择监测对象类别"));
        let approve = [
            ("step", "county_approval"),
            ("version", v.as_str()),
            ("on", "2022-04-07"),
            ("outcome", "通过"),
            ("category", "突发严重困难户"),
            ("risks", "因病"),
        ];
        let r = county.upload(&format!("/cases/{id}/steps"), "", b"", &approve).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let ann = town.get(&format!("/cases/print?kind=announcement&village={DAZHENG}")).await.text();
        assert!(ann.contains("雒容镇防止返贫监测对象认定公告") && ann.contains("突发严重困难户"), "{ann}");
        assert!(!ann.contains(D1_HEAD_ID) && !ann.contains("13807721234"));
        for (s, on) in [("announcement", "2022-04-08"), ("inclusion", "2022-04-08")] {
            let v = version(&town.get(&case_url).await.text());
            let f = [("step", s), ("version", v.as_str()), ("on", on)];
            let r = town.upload(&format!("/cases/{id}/steps"), "", b"", &f).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{s}: {}", r.text());
        }
        let hp = town.get(&format!("/households/{D1}")).await.text();
        assert!(hp.contains("突发严重困难户（监测中）"), "[{}] the household is monitored", app.label);
        assert!(!hp.contains("登记线索（开始识别认定）"));
        let cp = town.get(&case_url).await.text();
        assert!(cp.contains("已办结") && cp.contains("认定为突发严重困难户；风险类型：因病"));

        // the file: the village downloads it (audited); another village cannot
        let file = {
            let i = cp.find("/attachments/").unwrap();
            cp[i..].split('"').next().unwrap().to_string()
        };
        let r = cadre.get(&file).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.headers.get("content-disposition").unwrap().to_str().unwrap().starts_with("attachment"));
        assert_eq!(other.get(&file).await.status, StatusCode::NOT_FOUND);
        assert_eq!(leader.get(&file).await.status, StatusCode::FORBIDDEN);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn the_api_refuses_skipped_steps_with_409() {
    let app = TestApp::sqlite().await;
    let mut cadre = app.api_login("dazheng").await;
    let r = cadre
        .json(
            "POST",
            "/api/v1/cases",
            serde_json::json!({ "household_no": D1, "source": "干部排查", "on": "2022-03-28", "note": "务工收入骤减" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let c = r.json();
    let id = c["id"].as_i64().unwrap();
    assert_eq!(c["next"]["step"], "application");
    // a second clue on the same household: 409
    let r = cadre
        .json(
            "POST",
            "/api/v1/cases",
            serde_json::json!({ "household_no": D1, "source": "干部排查", "on": "2022-03-28", "note": "x" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // skipping straight to the appraisal: 409 naming the step that is due
    let r = cadre
        .json(
            "POST",
            &format!("/api/v1/cases/{id}/steps"),
            serde_json::json!({ "version": c["version"], "step": "appraisal", "on": "2022-03-28" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["error"]["code"], "step_order");
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("申请及承诺授权"));
    let r = cadre
        .json(
            "POST",
            &format!("/api/v1/cases/{id}/steps"),
            serde_json::json!({ "version": c["version"], "step": "application", "on": "2022-03-28" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let c = r.json();
    // the home verification by one person: 422 on the participants field
    let r = cadre
        .json(
            "POST",
            &format!("/api/v1/cases/{id}/steps"),
            serde_json::json!({ "version": c["version"], "step": "入户核实", "on": "2022-03-28", "participants": ["韦小明"] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"]["fields"][0]["field"], "participants");
    // the data check is the county's: 403 for the village
    let r = cadre
        .json(
            "POST",
            &format!("/api/v1/cases/{id}/steps"),
            serde_json::json!({ "version": c["version"], "step": "home_verification", "on": "2022-03-28", "participants": ["韦小明", "蓝海", "韦小明"] }),
        )
        .await;
    let c = r.json();
    let r = cadre
        .json(
            "POST",
            &format!("/api/v1/cases/{id}/steps"),
            serde_json::json!({ "version": c["version"], "step": "data_check", "on": "2022-03-28" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // the same person twice is one person
    let list = cadre.get("/api/v1/cases?step=data_check").await.json();
    assert_eq!(list["items"][0]["steps"][2]["participants"], serde_json::json!(["韦小明", "蓝海"]));
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["steps"].as_array().unwrap().len(), 3);
    let mut other = app.api_login("dongtang").await;
    assert_eq!(other.get(&format!("/api/v1/cases/{id}")).await.status, StatusCode::NOT_FOUND);
    let doc = cadre.get("/api/v1/openapi.json").await.json();
    assert!(doc["paths"]["/api/v1/cases/{id}/steps"]["post"].is_object());

    // the county records the data check with its evidence as multipart: the step as JSON, the file
    let mut county = app.api_login("county").await;
    let step = serde_json::json!({ "version": c["version"], "step": "data_check", "on": "2022-03-28" }).to_string();
    let path = format!("/api/v1/cases/{id}/steps");
    // an empty file is refused and nothing is recorded
    let r = county.upload(&path, "比对结果.pdf", b"", &[("step", &step)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("空文件"));
    let r = county.upload(&path, "比对结果.pdf", b"%PDF-1.4 minimal", &[("step", &step)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let c = r.json();
    let file = &c["steps"][3]["attachments"][0];
    assert_eq!(file["file_name"], "比对结果.pdf");
    let url = file["url"].as_str().unwrap().to_string();
    // a bad JSON part says so
    let r = county.upload(&path, "x.pdf", b"x", &[("step", "{")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("部分“step”应为步骤的 JSON"));
    // downloaded by a role that sees evidence: the bytes, as a download, audited
    let r = cadre.get(&url).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.bytes, b"%PDF-1.4 minimal");
    let audit = domain::ports::AuditStore::audit_rows(&app.db, &Default::default(), 1000).await.unwrap();
    assert!(audit.iter().any(|r| r.entry.note.contains("的附件“比对结果.pdf”")));
    let mut leader = app.api_login("leader").await;
    assert_eq!(leader.get(&url).await.status, StatusCode::FORBIDDEN);
    assert!(doc["paths"]["/api/v1/attachments/{id}"]["get"].is_object());
    app.cleanup().await;
}

#[tokio::test]
async fn the_county_decision_must_fit_the_household() {
    let app = TestApp::sqlite().await;
    app.clock.set(chrono::Utc.with_ymd_and_hms(2022, 4, 12, 2, 0, 0).unwrap());
    let mut cadre = app.api_login("dazheng").await;
    let mut county = app.api_login("county").await;
    let mut town = app.api_login("town").await;
    let r = cadre
        .json(
            "POST",
            "/api/v1/cases",
            serde_json::json!({ "household_no": D1, "source": "干部排查", "on": "2022-03-28", "note": "x" }),
        )
        .await;
    let id = r.json()["id"].as_i64().unwrap();
    let mut version = r.json()["version"].clone();
    let steps = [
        ("cadre", serde_json::json!({ "step": "application", "on": "2022-03-28" })),
        ("cadre", serde_json::json!({ "step": "home_verification", "on": "2022-03-29", "participants": ["甲", "乙"] })),
        ("county", serde_json::json!({ "step": "data_check", "on": "2022-03-30" })),
        ("cadre", serde_json::json!({ "step": "appraisal", "on": "2022-03-30" })),
        ("cadre", serde_json::json!({ "step": "public_notice", "on": "2022-03-31" })),
        ("cadre", serde_json::json!({ "step": "public_notice", "on": "2022-04-05" })),
        ("town", serde_json::json!({ "step": "town_review", "on": "2022-04-06" })),
    ];
    for (who, mut body) in steps {
        body["version"] = version.clone();
        let c = match who {
            "county" => &mut county,
            "town" => &mut town,
            _ => &mut cadre,
        };
        let r = c.json("POST", &format!("/api/v1/cases/{id}/steps"), body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        version = r.json()["version"].clone();
    }
    // D1 is an ordinary household: not 脱贫不稳定户; 因自然灾害 needs its kind of disaster
    for (body, says) in [
        (serde_json::json!({ "category": "脱贫不稳定户", "risks": ["因病"] }), "监测对象类别不能是"),
        (serde_json::json!({ "category": "突发严重困难户", "risks": ["因自然灾害"] }), "灾害类型"),
    ] {
        let mut b = body.clone();
        b["version"] = version.clone();
        b["step"] = "county_approval".into();
        b["on"] = "2022-04-07".into();
        let r = county.json("POST", &format!("/api/v1/cases/{id}/steps"), b).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        assert!(r.text().contains(says), "{}", r.text());
    }
    let ok = serde_json::json!({ "version": version, "step": "county_approval", "on": "2022-04-07",
        "category": "突发严重困难户", "risks": ["因自然灾害"], "disaster": "洪涝灾害" });
    let r = county.json("POST", &format!("/api/v1/cases/{id}/steps"), ok).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // while the case is open, the edit page cannot set the monitoring status by hand
    let hv = town.get(&format!("/api/v1/households/{D1}")).await.json();
    let r = town
        .json(
            "PUT",
            &format!("/api/v1/households/{D1}"),
            serde_json::json!({ "version": hv["version"], "monitoring_category": "突发严重困难户", "monitored_since": "2022-04-07", "risks": "因病" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("监测状态由程序办结时确定"));
    app.cleanup().await;
}

#[tokio::test]
async fn elimination_checks_its_conditions_and_can_be_rolled_back() {
    for app in TestApp::both().await {
        // D1 identified on 2022-03-28 through the procedure
        app.clock.set(chrono::Utc.with_ymd_and_hms(2022, 4, 12, 2, 0, 0).unwrap());
        crate::assistance::include_d1(&app).await;
        let mut cadre = app.api_login("dazheng").await;
        let propose = serde_json::json!({ "procedure": "elimination", "household_no": D1, "on": "2022-04-12", "note": "务工收入恢复" });
        let r = cadre.json("POST", "/api/v1/cases", propose).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        assert!(r.text().contains("未满6个月的稳定期"), "{}", r.text());

        // six months later the conditions hold
        app.clock.set(chrono::Utc.with_ymd_and_hms(2022, 10, 20, 2, 0, 0).unwrap());
        let mut cadre = app.api_login("dazheng").await;
        let mut town = app.api_login("town").await;
        let mut county = app.api_login("county").await;
        let propose = serde_json::json!({ "procedure": "elimination", "household_no": D1, "on": "2022-10-10", "note": "务工收入恢复" });
        let r = cadre.json("POST", "/api/v1/cases", propose).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let id = r.json()["id"].as_i64().unwrap();
        assert_eq!(r.json()["next"]["step"], "home_verification");
        let mut version = r.json()["version"].clone();
        // the elimination has no 信息比对 and no skipping
        let r = town
            .json(
                "POST",
                &format!("/api/v1/cases/{id}/steps"),
                serde_json::json!({ "version": version, "step": "town_review", "on": "2022-10-10" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        let steps = [
            (
                "cadre",
                serde_json::json!({ "step": "home_verification", "on": "2022-10-10", "participants": ["韦小明", "蓝海"] }),
            ),
            ("cadre", serde_json::json!({ "step": "appraisal", "on": "2022-10-11" })),
            ("cadre", serde_json::json!({ "step": "public_notice", "on": "2022-10-11" })),
            ("cadre", serde_json::json!({ "step": "public_notice", "on": "2022-10-16" })),
            ("town", serde_json::json!({ "step": "town_review", "on": "2022-10-17" })),
        ];
        let mut printed = false;
        for (who, mut body) in steps {
            body["version"] = version.clone();
            let c = if who == "town" { &mut town } else { &mut cadre };
            let r = c.json("POST", &format!("/api/v1/cases/{id}/steps"), body.clone()).await;
            assert_eq!(r.status, StatusCode::OK, "{body}: {}", r.text());
            version = r.json()["version"].clone();
            if r.json()["next"]["earliest_end"] == "2022-10-16" {
                printed = true;
                // the elimination notice posted on 10-11, as printed
                let mut page = app.login("dazheng").await;
                let url = format!("/cases/print?procedure=elimination&kind=notice&village={DAZHENG}&posted=2022-10-11");
                let notice = page.get(&url).await.text();
                assert!(
                    notice.contains("风险消除公示") && notice.contains("韦国强") && notice.contains("2022-10-16"),
                    "{notice}"
                );
                assert!(!notice.contains(D1_HEAD_ID) && !notice.contains("13807721234"));
            }
        }
        assert!(printed, "the notice was printed while it ran");
        // 帮扶消除 needs an implemented measure; 自然消除 does not
        let assisted = serde_json::json!({ "version": version, "step": "county_approval", "on": "2022-10-18", "mode": "帮扶消除" });
        let r = county.json("POST", &format!("/api/v1/cases/{id}/steps"), assisted).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        assert!(r.text().contains("至少有一项已实施的帮扶措施"), "{}", r.text());
        let natural = serde_json::json!({ "version": version, "step": "county_approval", "on": "2022-10-18", "mode": "自然消除" });
        let r = county.json("POST", &format!("/api/v1/cases/{id}/steps"), natural).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let version = r.json()["version"].clone();
        let mark = serde_json::json!({ "version": version, "step": "elimination_mark", "on": "2022-10-19" });
        let r = town.json("POST", &format!("/api/v1/cases/{id}/steps"), mark).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["status"], "completed");
        let mut tp = app.login("town").await;
        let page = tp.get(&format!("/households/{D1}")).await.text();
        assert!(page.contains("风险已消除") && page.contains("回退风险消除"), "{page}");
        // 回退: a reason is required; then the household is monitored again with its 识别监测时间
        let v = app.household_version(D1).await.to_string();
        let r = tp.post_form(&format!("/households/{D1}/rollback"), &[("version", v.as_str()), ("reason", " ")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("没有回退") && r.text().contains("<details id=\"rollback\" open>"), "{}", r.text());
        // a stale version is refused and the reason typed is kept
        let stale = (v.parse::<i64>().unwrap() - 1).to_string();
        let r = tp
            .post_form(
                &format!("/households/{D1}/rollback"),
                &[("version", stale.as_str()), ("reason", "仍需兜底保障")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("已被他人修改") && r.text().contains(">仍需兜底保障</textarea>"), "{}", r.text());
        assert!(tp.get(&format!("/households/{D1}")).await.text().contains("风险已消除"));
        let r = tp
            .post_form(
                &format!("/households/{D1}/rollback"),
                &[("version", v.as_str()), ("reason", "无劳动能力，仍需低保兜底")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let page = tp.get(&format!("/households/{D1}")).await.text();
        assert!(page.contains("监测中") && page.contains("2022-03-28"), "[{}] back under monitoring", app.label);
        // a village cadre may not roll back
        let mut vc = app.login("dazheng").await;
        let v = app.household_version(D1).await.to_string();
        assert_eq!(
            vc.post_form(&format!("/households/{D1}/rollback"), &[("version", v.as_str()), ("reason", "x")])
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        app.cleanup().await;
    }
}
