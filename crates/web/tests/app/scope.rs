//! Scoping: a 大正村 cadre gets 404 for a 东塘村 household by every route — URL, search,
//! export, API — exactly as for a household that does not exist. Run on both backends.

use axum::http::StatusCode;

use crate::harness::*;

#[tokio::test]
async fn a_village_cadre_sees_only_their_village() {
    for app in TestApp::both().await {
        eprintln!("-- {}", app.label);
        let mut c = app.login("dazheng").await;
        let missing = c.get("/households/4502031002019999").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        // pages
        for path in [
            format!("/households/{T1}"),
            format!("/households/{T1}/edit"),
            format!("/households/{T1}/members/new"),
            format!("/households/{T1}/members/1/edit"),
            format!("/households/{T1}/members/1/remove"),
        ] {
            let r = c.get(&path).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(r.text(), missing.text(), "{path} must look exactly like a missing household");
        }
        let v = app.household_version(T1).await.to_string();
        let r = c.post_form(&format!("/households/{T1}/edit"), &[("version", &v), ("address", "x")]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = c.post_form(&format!("/households/{T1}/members/new"), &[("version", &v), ("name", "某人")]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(app.household_version(T1).await.to_string(), v, "nothing written");
        // list and search
        let list = c.get("/households").await.text();
        assert!(list.contains(D1) && list.contains(D2) && !list.contains(T1));
        for q in ["蒙志刚", "mengzhigang", "mzg", T1, T1_HEAD_ID, &T1_HEAD_ID[..10]] {
            let r = c.get(&format!("/households?q={}", urlencoding::encode(q))).await.text();
            assert!(!r.contains(&format!("href=\"/households/{T1}\"")), "search {q}");
            assert!(r.contains("共 <strong>0</strong> 户"), "search {q}");
        }
        let r = c.get("/households?village=450203100202").await.text();
        assert!(r.contains("共 <strong>0</strong> 户"), "filtering for another village finds nothing");
        // export
        let csv = c.get("/export.csv").await;
        assert_eq!(csv.status, StatusCode::OK);
        let text = csv.text();
        assert!(text.contains(D1) && !text.contains(T1) && !text.contains(T1_HEAD_ID));
        // API
        let mut api = app.api_login("dazheng").await;
        assert_eq!(api.get(&format!("/api/v1/households/{T1}")).await.status, StatusCode::NOT_FOUND);
        assert_eq!(api.get(&format!("/api/v1/households/{T1}/members")).await.status, StatusCode::NOT_FOUND);
        let r = api
            .json("PUT", &format!("/api/v1/households/{T1}"), serde_json::json!({"version": 1, "address": "x"}))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let page = api.get(&format!("/api/v1/households?q={}", urlencoding::encode("蒙志刚"))).await.json();
        assert_eq!(page["total"], 0);
        let page = api.get("/api/v1/households?region=450203100202").await.json();
        assert_eq!(page["total"], 0);
        let all = api.get("/api/v1/households?limit=500").await.json();
        assert_eq!(all["total"], 2);
        let exported = api.get("/api/v1/export?format=csv").await.text();
        assert!(!exported.contains(T1) && exported.contains(D1));
        // the town office sees both villages
        let mut town = app.api_login("town").await;
        assert_eq!(town.get("/api/v1/households").await.json()["total"], 3);
        assert_eq!(town.get(&format!("/api/v1/households/{T1}")).await.status, StatusCode::OK);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn ids_are_masked_in_lists_and_full_views_are_audited() {
    let app = TestApp::sqlite().await;
    let masked = format!("{}********{}", &D1_HEAD_ID[..6], &D1_HEAD_ID[14..]);
    // lists: masked for everyone
    let mut cadre = app.login("dazheng").await;
    let list = cadre.get("/households").await.text();
    assert!(list.contains(&masked) && !list.contains(D1_HEAD_ID));
    let api_list = app.api_login("dazheng").await.get("/api/v1/households").await.text();
    assert!(!api_list.contains(D1_HEAD_ID));
    // detail: full for the cadre, audited
    let before = domain::ports::AuditStore::audit_rows(&app.db, &Default::default(), 1000).await.unwrap().len();
    let detail = cadre.get(&format!("/households/{D1}")).await.text();
    assert!(detail.contains(D1_HEAD_ID) && detail.contains("13807721234"));
    let rows = domain::ports::AuditStore::audit_rows(&app.db, &Default::default(), 1000).await.unwrap();
    assert_eq!(rows.len(), before + 1);
    assert_eq!(rows[0].entry.action, domain::audit::AuditAction::ViewSensitive);
    assert_eq!(rows[0].entry.actor_name, "dazheng");
    // detail: masked for a leader, who may not edit either
    let mut leader = app.login("leader").await;
    let detail = leader.get(&format!("/households/{D1}")).await.text();
    assert!(detail.contains(&masked) && !detail.contains(D1_HEAD_ID));
    assert!(!detail.contains("13807721234") && detail.contains("138****1234"));
    assert!(!detail.contains("修改户信息"));
    assert_eq!(leader.get(&format!("/households/{D1}/edit")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(leader.get("/export.csv").await.status, StatusCode::FORBIDDEN);
    assert_eq!(leader.get("/import").await.status, StatusCode::FORBIDDEN);
    assert_eq!(leader.get("/admin/users").await.status, StatusCode::FORBIDDEN);
    let mut leader_api = app.api_login("leader").await;
    let v = leader_api.get(&format!("/api/v1/households/{D1}")).await.json();
    assert_eq!(v["members"][0]["national_id"], masked.as_str());
    // nothing that restores the hidden digits, and no health status (DOMAIN D18)
    assert!(v["members"][0]["birth_date"].is_null() && v["members"][0]["health"].is_null(), "{v}");
    assert!(v["members"][0]["age"].is_number());
    assert!(!detail.contains("长期慢性病"), "the spouse's health is hidden from the leader");
    // and no probing of ID digits through search; a complete ID still finds its household
    let probe = leader_api.get(&format!("/api/v1/households?q={}", &D1_HEAD_ID[..12])).await.json();
    assert_eq!(probe["total"], 0);
    let full = leader_api.get(&format!("/api/v1/households?q={D1_HEAD_ID}")).await.json();
    assert_eq!(full["total"], 1);
    let mut cadre_api = app.api_login("dazheng").await;
    let prefix = cadre_api.get(&format!("/api/v1/households?q={}", &D1_HEAD_ID[..12])).await.json();
    assert_eq!(prefix["total"], 1, "roles that see full IDs may search by their beginning");
    let v = cadre_api.get(&format!("/api/v1/households/{D1}")).await.json();
    assert_eq!(v["members"][0]["birth_date"], "1970-01-01");
    assert_eq!(leader_api.get("/api/v1/export").await.status, StatusCode::FORBIDDEN);
    // exports are audited
    let n = domain::ports::AuditStore::audit_rows(&app.db, &Default::default(), 1000).await.unwrap().len();
    cadre.get("/export.xlsx").await;
    let rows = domain::ports::AuditStore::audit_rows(&app.db, &Default::default(), 1000).await.unwrap();
    assert_eq!(rows.len(), n + 1);
    assert_eq!(rows[0].entry.action, domain::audit::AuditAction::Export);
    // a HEAD request (a link checker, a download manager) gets the headers: nothing is built,
    // nothing recorded as exported; a role without the permission is still refused
    for (who, path) in [(&mut cadre, "/export.xlsx"), (&mut cadre_api, "/api/v1/export?format=csv")] {
        let h = who.head(path).await;
        assert_eq!(h.status, StatusCode::OK, "{path}");
        assert!(h.headers["content-disposition"].to_str().unwrap().contains("attachment"), "{path}");
        assert!(h.bytes.is_empty(), "{path}");
    }
    assert_eq!(leader_api.head("/api/v1/export").await.status, StatusCode::FORBIDDEN);
    assert_eq!(domain::ports::AuditStore::audit_rows(&app.db, &Default::default(), 1000).await.unwrap().len(), n + 1);
    app.cleanup().await;
}
