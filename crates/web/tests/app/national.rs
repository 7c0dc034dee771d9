//! 全国系统录入 (issue 7): the households changed since a date in the import's layout — which
//! imports back unchanged — their measures, scoped and audited.

use axum::http::StatusCode;

use crate::assistance::{at, include_d1};
use crate::harness::*;

#[tokio::test]
async fn changes_since_a_date_export_in_the_import_layout_and_round_trip() {
    for app in TestApp::both().await {
        app.clock.set(at(4, 1));
        include_d1(&app).await;
        let mut cadre = app.login("dazheng").await;
        let m = [("category", "就业帮扶"), ("content", "推荐务工"), ("planned_on", "2022-04-01"), ("status", "计划")];
        assert_eq!(cadre.post_form(&format!("/households/{D1}/measures"), &m).await.status, StatusCode::SEE_OTHER);

        // since 03-30: D1 (included on 04-01's clock); not D2 (monitored, unchanged since the
        // import on 03-28), not T1 (never monitored)
        let mut town = app.login("town").await;
        let page = town.get("/national-export?since=2022-03-30").await.text();
        assert!(
            page.contains("有变化的监测户 <strong>1</strong> 户，帮扶措施 <strong>1</strong> 项"),
            "[{}] {page}",
            app.label
        );
        let csv = town.get("/national-export/households.csv?since=2022-03-30").await;
        assert_eq!(csv.status, StatusCode::OK);
        let text = csv.text();
        assert!(text.contains(D1) && !text.contains(D2) && !text.contains(T1), "{text}");
        assert!(text.contains("边缘易致贫户") && text.contains("因务工就业不稳"), "category and risks: {text}");
        // since 03-01 both monitored households, never T1
        let all = town.get("/national-export/households.csv?since=2022-03-01").await.text();
        assert!(all.contains(D1) && all.contains(D2) && !all.contains(T1));

        // the file imports back into fangpin unchanged (the same layout as the import)
        let mut api = app.api_login("town").await;
        let x = town.get("/national-export/households.xlsx?since=2022-03-30").await;
        assert!(x.bytes.starts_with(b"PK"));
        let r = api
            .upload("/api/v1/import", "监测户变化.xlsx", &x.bytes, &[("income_year", "2021"), ("dry_run", "true")])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let rep = r.json();
        assert_eq!(
            (rep["errors"].as_i64(), rep["households"].as_i64(), rep["unchanged"].as_i64()),
            (Some(0), Some(1), Some(1)),
            "{rep}"
        );

        // measures, audited
        let mx = town.get("/national-export/measures.xlsx?since=2022-03-30").await;
        assert!(mx.status == StatusCode::OK && mx.bytes.starts_with(b"PK"));
        let audit = domain::ports::AuditStore::audit_rows(&app.db, &Default::default(), 50).await.unwrap();
        assert!(audit.iter().any(|r| r.entry.note.contains("导出帮扶措施（2022-03-30 起变化，1 项）")), "audited");
        assert!(
            audit.iter().any(|r| r.entry.action == domain::audit::AuditAction::Export && r.entry.entity == "export")
        );

        // scope: another village's cadre exports nothing of 大正村; a leader may not export
        let mut other = app.login("dongtang").await;
        let theirs = other.get("/national-export/households.csv?since=2022-03-01").await.text();
        assert!(!theirs.contains(D1) && !theirs.contains(D2));
        assert_eq!(app.login("leader").await.get("/national-export").await.status, StatusCode::FORBIDDEN);
        app.cleanup().await;
    }
}
