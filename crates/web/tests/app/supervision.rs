//! 督导 (issue 7): a group set up by the town office, an inspection with a sample drawn at random
//! and drawn again from its seed, problems refused with what was typed kept, and a rectification's
//! life: closed only with evidence, reopened with a reason, closed again; scoped and audited.

use axum::http::StatusCode;
use domain::ports::{AuditFilter, AuditStore, SupervisionStore};

use crate::assistance::at;
use crate::harness::*;

fn user_id(app_users: &[domain::account::User], name: &str) -> String {
    app_users.iter().find(|u| u.username.as_str() == name).unwrap().id.0.to_string()
}

fn inspection_form<'a>(group: &'a str, village: &'a str, problems: &[[&'a str; 4]]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![
        ("group", group),
        ("village", village),
        ("kind", "暗访"),
        ("on", "2022-04-20"),
        ("checked", "抽查农户档案和核查表签字"),
        ("sample_size", "1"),
        ("seed", "42"),
    ];
    for p in problems {
        v.extend([("p_no", p[0]), ("p_text", p[1]), ("p_owner", p[2]), ("p_due", p[3])]);
    }
    v
}

#[tokio::test]
async fn an_inspection_draws_a_reproducible_sample_and_its_rectifications_close_only_with_evidence() {
    for app in TestApp::both().await {
        app.clock.set(at(4, 20));
        let users = domain::ports::UserStore::list_users(&app.db, &domain::Scope::system()).await.unwrap();
        let duda = user_id(&users, "duda");
        let dazheng = DAZHENG.to_string();

        // the town office sets up the group; a form without villages comes back with the name kept
        let mut town = app.login("town").await;
        let r = town.post_form("/supervision/groups", &[("name", "督导一组"), ("members", &duda)]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "[{}]", app.label);
        assert!(r.text().contains("请至少选择一个村") && r.text().contains("value=\"督导一组\""), "{}", r.text());
        let r = town
            .post_form("/supervision/groups", &[("name", "督导一组"), ("villages", &dazheng), ("members", &duda)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let group = app.db.groups(&domain::Scope::system()).await.unwrap().remove(0);
        let gid = group.id.to_string();

        // the member sees the group's village with its figures and may record; the other
        // supervisor is in no group and may not
        let mut sup = app.login("duda").await;
        let page = sup.get("/supervision").await.text();
        assert!(page.contains("督导一组") && page.contains("我所在的组") && page.contains("记录督导"), "{page}");
        let mut other = app.login("dudb").await;
        let r = other.post_form("/supervision/inspections", &inspection_form(&gid, &dazheng, &[])).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());

        // the preview draws one household from the seed; the same seed draws it again
        let preview =
            format!("/supervision/inspections/new?preview=1&group={gid}&village={dazheng}&sample_size=1&seed=42");
        let first = sup.get(&preview).await.text();
        let drawn = [D1, D2].into_iter().filter(|h| first.contains(&format!("/households/{h}\""))).collect::<Vec<_>>();
        assert_eq!(drawn.len(), 1, "{first}");
        let ol = |page: &str| page.split("<ol>").nth(1).unwrap().split("</ol>").next().unwrap().to_string();
        assert_eq!(ol(&sup.get(&preview).await.text()), ol(&first), "the same seed draws the same households");
        // other seeds draw the other household too: the draw is random, not the list's first
        let mut seen = std::collections::BTreeSet::new();
        for seed in 1..12 {
            let p = sup.get(&preview.replace("seed=42", &format!("seed={seed}"))).await.text();
            seen.insert(ol(&p));
        }
        assert_eq!(seen.len(), 2, "{seen:?}");

        // the overview's link opens the form with a new seed, and the sample it draws: the same
        // seed is in the form, so saving keeps these households; the preview posts (no CSRF in a URL)
        let linked =
            sup.get(&format!("/supervision/inspections/new?preview=1&village={dazheng}&group={gid}")).await.text();
        let seed = linked
            .split("name=\"seed\" type=\"text\" inputmode=\"numeric\" value=\"")
            .nth(1)
            .unwrap_or_else(|| panic!("{linked}"));
        let seed = seed.split('"').next().unwrap().to_string();
        assert!(!seed.is_empty() && linked.contains(&format!("抽中的农户（种子 {seed}）")), "{linked}");
        let posted = sup
            .post_form(
                "/supervision/inspections/preview",
                &[("group", gid.as_str()), ("village", dazheng.as_str()), ("sample_size", "1"), ("seed", "42")],
            )
            .await;
        assert_eq!(ol(&posted.text()), ol(&first), "the posted preview draws as the GET one");

        // refused: a household of another village, a due date in the May Day holiday; typed kept
        let bad = inspection_form(
            &gid,
            &dazheng,
            &[[T1, "档案缺少收入佐证", "大正村村委", "2022-04-27"], ["", "公示照片缺失", "大正村村委", "2022-05-02"]],
        );
        let r = sup.post_form("/supervision/inspections", &bad).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        let text = r.text();
        assert!(text.contains("第2条：整改期限 2022-05-02 是休息日"), "{text}");
        assert!(text.contains("value=\"档案缺少收入佐证\"") && text.contains("value=\"公示照片缺失\""), "{text}");
        let bad = inspection_form(&gid, &dazheng, &[[T1, "档案缺少收入佐证", "大正村村委", "2022-04-27"]]);
        let r = sup.post_form("/supervision/inspections", &bad).await;
        assert!(r.text().contains("不是该村的农户"), "{}", r.text());

        let good = inspection_form(&gid, &dazheng, &[[D1, "核查表未签字", "大正村村委", "2022-04-27"]]);
        let r = sup.post_form("/supervision/inspections", &good).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let shown = sup.get(&r.location()).await.text();
        assert!(shown.contains("抽查 1 户") && shown.contains("抽样种子 <span class=\"mono\">42</span>"), "{shown}");
        // the stored sample is what the seed draws from the village's list, as the preview showed
        let id: i64 = r.location().rsplit('/').next().unwrap().parse().unwrap();
        let inspection = app.db.inspection(&domain::Scope::system(), id).await.unwrap().unwrap();
        let village = domain::region::RegionCode::from_u64(DAZHENG).unwrap();
        let frame = app.db.sampling_frame(&domain::Scope::system(), village).await.unwrap();
        assert_eq!(inspection.sample, domain::supervision::draw_sample(&frame, 1, 42));
        assert_eq!(inspection.sample[0].household_no.as_str(), drawn[0]);
        let rect = &inspection.rectifications[0];

        // the village closes it: no evidence, refused with what was typed; with evidence, closed
        let mut cadre = app.login("dazheng").await;
        let list = cadre.get("/rectifications").await.text();
        assert!(list.contains("核查表未签字") && list.contains("整改销号"), "{list}");
        let path = format!("/rectifications/{}", rect.id);
        let v = rect.version.to_string();
        let r = cadre.post_form(&path, &[("version", &v), ("action", "close"), ("text", "已办")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("没有佐证不能销号") && r.text().contains(">已办</textarea>"), "{}", r.text());
        let evidence = "已补签核查表，原件存村委档案";
        let r = cadre.post_form(&path, &[("version", &v), ("action", "close"), ("text", evidence)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        // the same version again: someone changed it meanwhile
        let r = cadre.post_form(&path, &[("version", &v), ("action", "close"), ("text", evidence)]).await;
        // the same again: it is already closed (checked before the version), the text kept
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("该问题已整改销号") && r.text().contains(evidence), "{}", r.text());
        // a village cadre cannot reopen; the supervisor can, with a reason
        let closed = app.db.inspection(&domain::Scope::system(), id).await.unwrap().unwrap().rectifications.remove(0);
        assert_eq!(closed.status, domain::supervision::RectificationStatus::Closed);
        assert_eq!(closed.evidence, evidence);
        let v2 = closed.version.to_string();
        let r = cadre.post_form(&path, &[("version", &v2), ("action", "reopen"), ("text", "不对")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // a supervisor of no group that inspected it may not reopen it
        let r = other.post_form(&path, &[("version", &v2), ("action", "reopen"), ("text", "不对")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = sup.post_form(&path, &[("version", &v2), ("action", "reopen"), ("text", "")]).await;
        assert!(r.text().contains("请写明为什么整改不到位"), "{}", r.text());
        let r = sup.post_form(&path, &[("version", &v2), ("action", "reopen"), ("text", "签字与户主笔迹不符")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let again = cadre.get("/rectifications").await.text();
        assert!(again.contains("退回理由：签字与户主笔迹不符"), "{again}");

        // past its due date it is overdue on the list and the overview
        app.clock.set(at(4, 28));
        let mut sup = app.login("duda").await;
        let overdue = sup.get("/rectifications?status=overdue").await.text();
        assert!(overdue.contains("核查表未签字") && overdue.contains("逾期"), "{overdue}");
        assert!(sup.get("/supervision").await.text().contains("逾期1"));

        // scope: another village's cadre sees nothing of it and cannot touch it
        let mut dt = app.login("dongtang").await;
        assert!(!dt.get("/rectifications?status=all").await.text().contains("核查表未签字"));
        let latest = app.db.inspection(&domain::Scope::system(), id).await.unwrap().unwrap().rectifications.remove(0);
        let r = dt
            .post_form(&path, &[("version", &latest.version.to_string()), ("action", "close"), ("text", evidence)])
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let mut screener = app.login("screener").await;
        assert_eq!(screener.get("/supervision").await.status, StatusCode::FORBIDDEN);

        // the API: the overdue list, then closed by the village with evidence; a stale version refused
        let mut api = app.api_login("dazheng").await;
        let list = api.get("/api/v1/rectifications?status=overdue").await.json();
        assert_eq!(list["total"], 1, "{list}");
        let v = list["items"][0]["version"].as_i64().unwrap();
        let body = serde_json::json!({ "action": "close", "version": v, "text": "已重新签字，户主本人确认" });
        let r = api.json("POST", &format!("/api/v1/rectifications/{}/actions", rect.id), body.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["status"], "已整改");
        let r = api.json("POST", &format!("/api/v1/rectifications/{}/actions", rect.id), body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "already closed: {}", r.text());

        // every change is in the audit log
        let audit = app.db.audit_rows(&AuditFilter::default(), 200).await.unwrap();
        let entities: Vec<&str> = audit.iter().map(|e| e.entry.entity.as_str()).collect();
        assert!(entities.contains(&"supervision_group") && entities.contains(&"inspection"), "{entities:?}");
        assert!(
            audit.iter().filter(|e| e.entry.entity == "rectification").count() == 3,
            "closed, reopened, closed again"
        );
        app.cleanup().await;
    }
}
