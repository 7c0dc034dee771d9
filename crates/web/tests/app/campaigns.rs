//! Campaigns (DOMAIN D12, D13): created with the seed's dates and one task per household,
//! progress per village against the deadlines, bulk assignment, and "my tasks" scoped to the
//! screener.

use axum::http::StatusCode;
use domain::ports::{AuditFilter, AuditStore, CampaignStore};

use crate::harness::*;

fn seeded_form(name: &str) -> Vec<(String, String)> {
    let input = domain::campaign::CampaignInput::seeded(
        name,
        domain::region::RegionCode::from_u64(450_203_100_000).unwrap(),
        2022,
    );
    let mut v = vec![
        ("name".to_string(), input.name.clone()),
        ("region".to_string(), input.region.clone()),
        ("policy_year".to_string(), input.policy_year.clone()),
    ];
    v.extend(input.dates.iter().map(|(k, d)| (k.clone(), d.clone())));
    v
}

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, d)| (k.as_str(), d.as_str())).collect()
}

#[tokio::test]
async fn a_campaign_covers_every_household_and_shows_progress_by_village() {
    for app in TestApp::both().await {
        let mut town = app.login("town").await;
        let empty = town.get("/campaigns").await.text();
        assert!(empty.contains("还没有专项行动") && empty.contains("2022-04-18"), "{}: {empty}", app.label);
        // a bad date: the form comes back with what was typed and says which field
        let mut form = seeded_form("雒容镇2022年防返贫集中排查");
        form.iter_mut().find(|(k, _)| k == "p2_ends").unwrap().1 = "四月底".into();
        let r = town.post_form("/campaigns", &pairs(&form)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let page = r.text();
        assert!(page.contains("“四月底”不是日期") && page.contains("value=\"雒容镇2022年防返贫集中排查\""));
        assert!(app.db.campaigns(&domain::Scope::system()).await.unwrap().is_empty(), "nothing written");
        // created: every household of the town gets a task
        let r = town.post_form("/campaigns", &pairs(&seeded_form("雒容镇2022年防返贫集中排查"))).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let at = r.location();
        let show = town.get(&at).await.text();
        assert!(show.contains("范围内3户，每户一条排查任务"), "{show}");
        assert!(show.contains("大正村") && show.contains("东塘村") && show.contains("共 <strong>3</strong> 户"));
        // 2022-03-28: twelve Guangxi working days to the 04-18 deadline; 05-04 falls in the May Day holiday
        assert!(show.contains("距走访时限 2022-04-18 还有12个工作日"), "{show}");
        assert!(show.contains("2022-05-04 是休息日"));
        // a cadre sees their village only, may not create or change dates; the leader reads
        let mut cadre = app.login("dazheng").await;
        let theirs = cadre.get(&at).await.text();
        assert!(theirs.contains("大正村") && !theirs.contains("东塘村") && !theirs.contains("修改阶段日期"));
        assert_eq!(cadre.post_form("/campaigns", &pairs(&seeded_form("x"))).await.status, StatusCode::FORBIDDEN);
        let mut leader = app.login("leader").await;
        assert_eq!(leader.get(&at).await.status, StatusCode::OK);
        // the town office moves the visit deadline; a deadline outside the phase is refused
        let mut dates = seeded_form("ignored");
        dates.iter_mut().find(|(k, _)| k == "p2_due").unwrap().1 = "2022-05-18".into();
        let r = town.post_form(&format!("{at}/phases"), &pairs(&dates)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("不在阶段日期之内") && r.text().contains("value=\"2022-05-18\""));
        dates.iter_mut().find(|(k, _)| k == "p2_due").unwrap().1 = "2022-04-22".into();
        assert_eq!(town.post_form(&format!("{at}/phases"), &pairs(&dates)).await.status, StatusCode::SEE_OTHER);
        assert!(town.get(&at).await.text().contains("走访时限 2022-04-22"));
        // past the deadline with households not visited: overdue, highlighted
        app.clock.set(start() + chrono::Duration::days(30));
        let mut town = app.login("town").await;
        let late = town.get(&at).await.text();
        assert!(late.contains("已逾期") && late.contains("class=\"overdue\""), "{late}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn tasks_are_assigned_in_bulk_and_each_screener_sees_only_theirs() {
    for app in TestApp::both().await {
        let (c, n) = domain::service::create_campaign(
            &app.db,
            start(),
            &domain::Scope::system(),
            &domain::Actor::cli(),
            &domain::campaign::CampaignInput::seeded(
                "雒容镇2022年防返贫集中排查",
                domain::region::RegionCode::from_u64(450_203_100_000).unwrap(),
                2022,
            ),
        )
        .await
        .unwrap();
        assert_eq!(n, 3);
        let id = c.id.0;
        let village = format!("/campaigns/{id}/villages/{DAZHENG}");
        let users = domain::ports::UserStore::list_users(&app.db, &domain::Scope::system()).await.unwrap();
        let uid = |name: &str| users.iter().find(|u| u.username.as_str() == name).unwrap().id.0.to_string();
        let mut cadre = app.login("dazheng").await;
        let page = cadre.get(&village).await.text();
        assert!(page.contains(D1) && page.contains(D2) && !page.contains(T1), "{page}");
        assert!(page.contains("附件3") && page.contains("附件5"), "D2 is monitored: 附件3; D1 ordinary: 附件5");
        // the 东塘村 screener is not offered and is refused; the ticked box stays ticked
        assert!(!page.contains(&format!("value=\"{}\"", uid("dtscreener"))));
        let task_of = |page: &str, no: &str| {
            let i = page.find(&format!("/households/{no}\"")).unwrap();
            let before = &page[..i];
            let j = before.rfind("name=\"task\" value=\"").unwrap() + "name=\"task\" value=\"".len();
            before[j..].split('"').next().unwrap().to_string()
        };
        let d1_task = task_of(&page, D1);
        let r = cadre
            .post_form(
                &format!("/campaigns/{id}/assign"),
                &[("village", &DAZHENG.to_string()), ("task", &d1_task), ("screener", &uid("dtscreener"))],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let again = r.text();
        assert!(again.contains("不负责该村"), "{again}");
        assert!(again.contains(&format!("value=\"{d1_task}\" form=\"assign\" aria-label=\"选择 {D1}\" checked")));
        // no screener chosen: said so
        let r = cadre.post_form(&format!("/campaigns/{id}/assign"), &[("village", &DAZHENG.to_string())]).await;
        assert!(r.text().contains("请选择排查员"));
        // D1 ticked → screener; group 1 (D2) → screener2
        let r = cadre
            .post_form(
                &format!("/campaigns/{id}/assign"),
                &[("village", &DAZHENG.to_string()), ("task", &d1_task), ("screener", &uid("screener"))],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(cadre.get(&r.location()).await.text().contains("已把所选农户的1户排查任务分配给screener用户"));
        let r = cadre
            .post_form(
                &format!("/campaigns/{id}/assign"),
                &[("village", &DAZHENG.to_string()), ("group", "1"), ("screener", &uid("screener2"))],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        // the screener starts on their tasks and sees D1 only — also on the village page
        let mut s = app.login("screener").await;
        assert_eq!(s.get("/").await.location(), "/tasks");
        let mine = s.get("/tasks").await.text();
        assert!(mine.contains(D1) && !mine.contains(D2) && mine.contains("共 <strong>1</strong> 户"), "{mine}");
        let v = s.get(&village).await.text();
        assert!(v.contains(D1) && !v.contains(D2) && !v.contains("id=\"assign\""));
        assert_eq!(
            s.post_form(&format!("/campaigns/{id}/assign"), &[("village", &DAZHENG.to_string()), ("screener", "none")])
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        let mut s2 = app.login("screener2").await;
        let theirs = s2.get("/tasks").await.text();
        assert!(theirs.contains(D2) && !theirs.contains(D1));
        // another village's cadre cannot open or assign 大正村
        let mut other = app.login("dongtang").await;
        assert_eq!(other.get(&village).await.status, StatusCode::NOT_FOUND);
        assert_eq!(
            other
                .post_form(
                    &format!("/campaigns/{id}/assign"),
                    &[("village", &DAZHENG.to_string()), ("screener", &uid("dtscreener"))]
                )
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        // reassigning replaces: D1 to screener2, and the first screener has nothing left
        let r = cadre
            .post_form(
                &format!("/campaigns/{id}/assign"),
                &[("village", &DAZHENG.to_string()), ("group", "3"), ("screener", &uid("screener2"))],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(s.get("/tasks").await.text().contains("还没有分配给您的农户"));
        let audit = app.db.audit_rows(&AuditFilter::default(), 100).await.unwrap();
        assert!(audit.iter().filter(|e| e.entry.note.contains("分配排查任务")).count() >= 3);
        app.cleanup().await;
    }
}
