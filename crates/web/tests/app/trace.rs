//! 倒查 (D19): from a visit, a finding or a case, who screened, reviewed and approved it and
//! when, from the records and the audit log; scoped like the objects themselves.

use axum::http::StatusCode;
use domain::ports::{FindingFilter, FindingStore};

use crate::assistance::include_d1;
use crate::harness::*;
use crate::visits::{campaign_with_d1_assigned, d1_form};

fn version_in(page: &str) -> String {
    let i = page.find("name=\"version\" value=\"").expect("a version field");
    page[i + 22..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn trace_back_shows_who_screened_reviewed_and_approved() {
    for app in TestApp::both().await {
        let (_, task) = campaign_with_d1_assigned(&app).await;
        let mut s = app.login("screener").await;
        let r = s.post_form(&format!("/tasks/{task}/visit"), &d1_form(&[])).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{}] {}", app.label, r.text());
        let visit = r.location();
        let vid = visit.rsplit('/').next().unwrap().to_string();
        let mut cadre = app.login("dazheng").await;
        let review = cadre.get(&visit).await.text();
        let r =
            cadre.post_form(&format!("{visit}/accept"), &[("version", &version_in(&review)), ("note", "已复核")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());

        // the visit: the screeners named on the form, who entered it, who accepted it
        let mut town = app.login("town").await;
        assert!(town.get(&visit).await.text().contains(&format!("/trace/visit/{vid}")), "one click from the visit");
        let t = town.get(&format!("/trace/visit/{vid}")).await.text();
        assert!(t.contains("入户排查") && t.contains("韦小明、蓝海"), "{t}");
        assert!(t.contains("<td data-label=\"经办人\">screener用户（screener）</td>"), "{t}");
        assert!(t.contains("审核（已采纳）</td><td data-label=\"经办人\">dazheng用户（dazheng）"), "{t}");
        assert!(t.contains(&format!("采纳核查 #{vid}")), "the registry changes it made, from the audit log: {t}");

        // the finding the accepted visit produced: found when the cadre's acceptance re-screened D1
        let household = domain::ports::HouseholdStore::household(
            &app.db,
            &domain::Scope::system(),
            &domain::household::HouseholdNo::parse(D1).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
        let filter = FindingFilter {
            household: Some(household.record.id),
            code: Some(domain::rules::FindingCode::ShouldMonitor),
            ..Default::default()
        };
        let finding = app.db.findings(&domain::Scope::system(), &filter, 1).await.unwrap().items.remove(0);
        let t = town.get(&format!("/trace/finding/{}", finding.id)).await.text();
        assert!(t.contains("发现（规则") && t.contains("dazheng用户"), "{t}");

        // the case: every step's actor with their role
        include_d1(&app).await;
        let cases = domain::ports::CaseStore::cases(
            &app.db,
            &domain::Scope::system(),
            &domain::ports::CaseFilter { household: Some(household.record.id), ..Default::default() },
            5,
        )
        .await
        .unwrap();
        let case = cases.items[0].id.0;
        assert!(town.get(&format!("/cases/{case}")).await.text().contains(&format!("/trace/case/{case}")));
        let t = town.get(&format!("/trace/case/{case}")).await.text();
        assert!(t.contains("县级审定") && t.contains("county用户") && t.contains("（县级审定人）"), "{t}");
        assert!(t.contains("乡镇审核") && t.contains("town用户"), "{t}");

        // scope: another village's cadre gets 404, a screener has no trace-back
        let mut other = app.login("dongtang").await;
        assert_eq!(other.get(&format!("/trace/visit/{vid}")).await.status, StatusCode::NOT_FOUND);
        assert_eq!(other.get(&format!("/trace/case/{case}")).await.status, StatusCode::NOT_FOUND);
        assert_eq!(s.get(&format!("/trace/visit/{vid}")).await.status, StatusCode::FORBIDDEN);
        app.cleanup().await;
    }
}
