//! The JSON API: session tokens, keyset pages, edits with versions, import and export, OpenAPI.

use axum::http::StatusCode;

use crate::harness::*;

#[tokio::test]
async fn api_reads_and_edits_with_versions() {
    for app in TestApp::both().await {
        let mut c = app.api_login("town").await;
        // keyset pages
        let p1 = c.get("/api/v1/households?limit=2").await.json();
        assert_eq!((p1["total"].as_i64(), p1["items"].as_array().unwrap().len()), (Some(3), 2));
        let next = p1["next"].as_str().unwrap();
        let p2 = c.get(&format!("/api/v1/households?limit=2&after={}", urlencoding::encode(next))).await.json();
        assert_eq!(p2["items"].as_array().unwrap().len(), 1);
        assert!(p2["next"].is_null());
        assert_eq!(p2["items"][0]["household_no"], T1);
        let q = c.get("/api/v1/households?q=qinxiulan").await.json();
        assert_eq!(q["items"][0]["household_no"], D2);

        let h = c.get(&format!("/api/v1/households/{D1}")).await.json();
        assert_eq!(h["members"][0]["national_id"], D1_HEAD_ID, "town office sees full IDs");
        assert_eq!(h["incomes"][0]["net_fen"], 3_120_000);
        let version = h["version"].as_i64().unwrap();

        let r = c
            .json(
                "PUT",
                &format!("/api/v1/households/{D1}"),
                serde_json::json!({"version": version, "phone": "12", "kind": "富户"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<String> = r.json()["error"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(fields, vec!["phone", "kind"]);
        let r = c
            .json(
                "PUT",
                &format!("/api/v1/households/{D1}"),
                serde_json::json!({"version": version, "address": "API改的地址"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["address"], "API改的地址");
        assert_eq!(r.json()["version"], version + 1);
        let r = c
            .json(
                "PUT",
                &format!("/api/v1/households/{D1}"),
                serde_json::json!({"version": version, "address": "旧版本"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT);

        // members
        let member = serde_json::json!({"name": "韦小宝", "national_id": "450203201209010037", "relation": "之子", "ethnicity": "壮族",
            "school_status": "小学", "health": "健康", "labour_skill": "无劳动力", "resident_medical": "是", "employee_medical": "否", "dibao": "否", "tekun": "否"});
        let r = c
            .json(
                "POST",
                &format!("/api/v1/households/{D1}/members"),
                serde_json::json!({"version": version + 1, "member": member}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let h = r.json();
        let kid =
            h["members"].as_array().unwrap().iter().find(|m| m["name"] == "韦小宝").unwrap()["id"].as_i64().unwrap();
        let v = h["version"].as_i64().unwrap();
        let mut changed = member.clone();
        changed["health"] = "残疾".into();
        let r = c
            .json(
                "PUT",
                &format!("/api/v1/households/{D1}/members/{kid}"),
                serde_json::json!({"version": v, "member": changed}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.json()["error"]["fields"][0]["field"], "disability_class");
        let r = c
            .json(
                "DELETE",
                &format!("/api/v1/households/{D1}/members/{kid}?version={v}&reason=%E8%BF%81%E5%87%BA"),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["members"].as_array().unwrap().len(), 2);

        // malformed requests get the same JSON error shape, in Chinese
        let r = c.json("PUT", &format!("/api/v1/households/{D1}"), serde_json::json!({"version": "abc"})).await;
        assert!(r.status.is_client_error());
        assert_eq!(r.json()["error"]["code"], "invalid", "{}", r.text());
        assert!(r.json()["error"]["message"].as_str().unwrap().contains("格式不正确"));
        let r = c.get("/api/v1/households?limit=abc").await;
        assert_eq!(r.json()["error"]["code"], "invalid");
        let r = c.json("DELETE", &format!("/api/v1/households/{D1}/members/abc"), serde_json::json!({})).await;
        assert_eq!(r.json()["error"]["code"], "invalid");

        // logging out ends the token
        assert_eq!(c.json("DELETE", "/api/v1/session", serde_json::json!({})).await.status, StatusCode::NO_CONTENT);
        assert_eq!(c.get("/api/v1/households").await.status, StatusCode::UNAUTHORIZED);
        let bad = app
            .anonymous()
            .json("POST", "/api/v1/session", serde_json::json!({"username": "town", "password": "x"}))
            .await;
        assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn api_import_and_export_round_trip() {
    let app = TestApp::sqlite().await;
    let mut c = app.api_login("town").await;
    let csv = c.get("/api/v1/export?format=csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers.get("content-disposition").unwrap().to_str().unwrap().contains("attachment"));
    assert!(csv.bytes.starts_with("\u{feff}".as_bytes()), "UTF-8 BOM for Excel");
    // sent from its temporary file, which is gone already
    assert_eq!(csv.headers.get("content-length").unwrap().to_str().unwrap(), csv.bytes.len().to_string());
    assert!(!app.work_files().iter().any(|f| f.starts_with("export-")), "{:?}", app.work_files());
    let r = c.upload("/api/v1/import", "back.csv", &csv.bytes, &[("income_year", "2021")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let rep = r.json();
    assert_eq!(
        (rep["written"].as_bool(), rep["created"].as_i64(), rep["updated"].as_i64(), rep["unchanged"].as_i64()),
        (Some(true), Some(0), Some(0), Some(3))
    );
    // an error anywhere writes nothing
    let broken = csv.text().replace(D1_HEAD_ID, "45020319700101001A");
    let before = app.household_version(D1).await;
    let r = c.upload("/api/v1/import", "broken.csv", broken.as_bytes(), &[]).await.json();
    assert_eq!((r["written"].as_bool(), r["errors"].as_i64()), (Some(false), Some(1)));
    assert_eq!(r["issues"][0]["column"], "证件号码");
    assert_eq!(app.household_version(D1).await, before);
    // the village cadre may not import
    let mut cadre = app.api_login("dazheng").await;
    assert_eq!(cadre.upload("/api/v1/import", "x.csv", &csv.bytes, &[]).await.status, StatusCode::FORBIDDEN);
    app.cleanup().await;
}

#[tokio::test]
async fn openapi_document_and_swagger_ui_are_served() {
    let app = TestApp::sqlite().await;
    let mut c = app.anonymous();
    let doc = c.get("/api/v1/openapi.json").await.json();
    let mut paths: Vec<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    paths.sort();
    insta::assert_json_snapshot!("openapi_paths", paths);
    assert!(doc["components"]["schemas"]["HouseholdView"].is_object());
    let ui = c.get("/api/docs/").await;
    assert_eq!(ui.status, StatusCode::OK);
    assert!(ui.text().contains("swagger"), "vendored Swagger UI");
    assert_eq!(c.get("/healthz").await.text(), "ok");
    app.cleanup().await;
}
