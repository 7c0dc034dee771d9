//! Visits through the pages (DOMAIN D13): the screener's form keeps what was typed when it is
//! refused, shows the rules' results once saved, needs an in-person follow-up when remote; the
//! cadre returns it with a reason or accepts it into the registry; forms print.

use axum::http::StatusCode;
use domain::ports::HouseholdStore;

use crate::harness::*;

pub async fn campaign_with_d1_assigned(app: &TestApp) -> (i64, String) {
    let (c, _) = domain::service::create_campaign(
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
    let mut cadre = app.login("dazheng").await;
    let users = domain::ports::UserStore::list_users(&app.db, &domain::Scope::system()).await.unwrap();
    let screener = users.iter().find(|u| u.username.as_str() == "screener").unwrap().id.0.to_string();
    let r = cadre
        .post_form(
            &format!("/campaigns/{}/assign", c.id.0),
            &[("village", &DAZHENG.to_string()), ("group", "3"), ("screener", &screener)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let tasks = domain::ports::CampaignStore::tasks(
        &app.db,
        &domain::Scope::system(),
        &domain::ports::TaskFilter {
            campaign: c.id,
            region: None,
            group_no: None,
            screener: None,
            status: None,
            after: None,
        },
        10,
    )
    .await
    .unwrap();
    let t = tasks.items.iter().find(|t| t.household_no.as_str() == D1).unwrap();
    (c.id.0, t.id.0.to_string())
}

pub fn d1_form<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![
        ("mode", "入户"),
        ("visited_on", "2022-03-28"),
        ("screeners", "韦小明、蓝海"),
        ("met", "是"),
        ("confirmed", "是"),
        ("signed_by", "韦国强"),
        ("income_wage", "8000"),
        ("income_transfer", "1200"),
        ("housing_grade", "B级"),
        ("dropout", "否"),
        ("uninsured", "否"),
        ("water_quantity", "达标"),
        ("water_quality", "达标"),
        ("water_convenience", "达标"),
        ("water_reliability", "达标"),
        ("food_clothing", "是"),
        ("risk", "因病"),
        ("risk", "因务工就业不稳"),
        ("sudden", "是"),
        ("sudden_note", "妻子住院，自付约1.2万元"),
        ("conclusion", "建议纳入监测"),
        ("suggested_category", "边缘易致贫户"),
    ];
    v.extend_from_slice(extra);
    v
}

#[tokio::test]
async fn a_screener_records_a_visit_and_the_cadre_reviews_it() {
    for app in TestApp::both().await {
        let (_, task) = campaign_with_d1_assigned(&app).await;
        let mut s = app.login("screener").await;
        // the form: 附件5 for D1, prefilled from the registry
        let page = s.get(&format!("/tasks/{task}/visit")).await.text();
        assert!(page.contains("附件5 一般农户情况核查表") && page.contains("韦国强") && page.contains("李秀英"));
        assert!(page.contains("value=\"B级\" selected"), "the registry's housing grade is prefilled");
        // refused: a future date and no screener; everything typed comes back
        let mut bad = d1_form(&[]);
        bad.retain(|(k, _)| *k != "screeners" && *k != "visited_on");
        bad.push(("visited_on", "2022-04-30"));
        let r = s.post_form(&format!("/tasks/{task}/visit"), &bad).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "[{}]", app.label);
        let again = r.text();
        assert!(again.contains("晚于今天") && again.contains("谁排查谁负责"), "{again}");
        assert!(again.contains("妻子住院，自付约1.2万元") && again.contains("value=\"8000\""));
        assert!(
            again.contains("value=\"因务工就业不稳\" checked") && again.contains("value=\"边缘易致贫户\" selected")
        );
        // saved: the rules already see the visit (9,200 for 2 people is under the 6,500 line)
        let r = s.post_form(&format!("/tasks/{task}/visit"), &d1_form(&[])).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let at = r.location();
        let shown = s.get(&at).await.text();
        assert!(shown.contains("核查已保存，等待村干部审核"), "{shown}");
        assert!(shown.contains("尚未采纳") && shown.contains("应纳未纳"), "{shown}");
        assert!(shown.contains("2022年收入记录（近12个月）") && !shown.contains("采纳，更新登记信息"));
        let mine = s.get("/tasks").await.text();
        assert!(mine.contains("已入户走访"));
        // the registry is unchanged until the cadre accepts
        let before = app.household_version(D1).await;
        // the cadre returns it with a reason; the screener corrects it
        let mut cadre = app.login("dazheng").await;
        let queue = cadre.get("/visits").await.text();
        assert!(queue.contains(D1) && queue.contains("待村审核"));
        let version = |html: &str| {
            let i = html.find("name=\"version\" value=\"").unwrap() + "name=\"version\" value=\"".len();
            html[i..].split('"').next().unwrap().to_string()
        };
        let review = cadre.get(&at).await.text();
        let v = version(&review);
        let r = cadre.post_form(&format!("{at}/return"), &[("version", &v), ("reason", "")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("请写明退回原因"));
        let r = cadre
            .post_form(&format!("{at}/return"), &[("version", &v), ("reason", "财产性收入（土地流转）漏填")])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let edit = s.get(&format!("{at}/edit")).await.text();
        assert!(edit.contains("value=\"8000.00\"") && edit.contains("妻子住院"), "{edit}");
        let ev = version(&edit);
        // the correction also fixes the wife's insurance, on her own row of the form
        let d1 = HouseholdStore::household(
            &app.db,
            &domain::Scope::system(),
            &domain::household::HouseholdNo::parse(D1).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
        let wife = d1.members.iter().find(|m| m.member.name.as_str() == "李秀英").unwrap().id.0;
        let medical = format!("m{wife}_medical");
        let mut fixed = d1_form(&[("income_property", "600")]);
        fixed.push((&medical, "未参加"));
        fixed.push(("version", &ev));
        let r = s.post_form(&format!("{at}/edit"), &fixed).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        // a leader reads but cannot review; the cadre accepts
        let mut leader = app.login("leader").await;
        assert_eq!(leader.post_form(&format!("{at}/accept"), &[("version", "1")]).await.status, StatusCode::FORBIDDEN);
        let review = cadre.get(&at).await.text();
        assert!(review.contains("采纳后登记信息的变化") && review.contains("2022年收入记录"));
        assert!(review.contains("李秀英 医疗保险：城乡居民医保 → 未参加"), "{review}");
        let r =
            cadre.post_form(&format!("{at}/accept"), &[("version", &version(&review)), ("note", "已电话复核")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let done = cadre.get(&at).await.text();
        assert!(done.contains("已采纳") && done.contains("重新筛查"), "{done}");
        assert_eq!(app.household_version(D1).await, before + 1);
        let d1 = HouseholdStore::household(
            &app.db,
            &domain::Scope::system(),
            &domain::household::HouseholdNo::parse(D1).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
        let w = d1.members.iter().find(|m| m.id.0 == wife).unwrap();
        assert!(!w.member.resident_medical && !w.member.employee_medical, "the member was corrected");
        let hh = cadre.get(&format!("/households/{D1}")).await.text();
        assert!(hh.contains("应纳未纳"), "the accepted visit's income is screened");
        assert!(
            hh.contains("入户核查（1）") && hh.contains(&format!("href=\"{at}\"")),
            "the household lists its visits"
        );
        // printing: blank forms of the three kinds and the filled one
        for k in ["3", "4", "5"] {
            let p = s.get(&format!("/forms/{k}/print")).await;
            assert_eq!(p.status, StatusCode::OK);
            assert!(p.text().contains(&format!("附件{k}")) && p.text().contains("农户（签字）"));
        }
        let filled = s.get(&format!("{at}/print")).await.text();
        assert!(
            filled.contains("雒容镇2022年防返贫集中排查")
                && filled.contains("妻子住院")
                && !filled.contains(D1_HEAD_ID)
        );
        assert_eq!(s.get("/forms/6/print").await.status, StatusCode::NOT_FOUND);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn a_phone_visit_needs_an_in_person_one_and_others_cannot_touch_the_task() {
    let app = TestApp::sqlite().await;
    let (id, task) = campaign_with_d1_assigned(&app).await;
    let mut s = app.login("screener").await;
    let r = s
        .post_form(
            &format!("/tasks/{task}/visit"),
            &[
                ("mode", "电话"),
                ("visited_on", "2022-03-28"),
                ("screeners", "韦小明"),
                ("met", "否"),
                ("why_not", "电话无人接听"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert!(s.get(&r.location()).await.text().contains("线上核查，仍须入户核查"));
    let village = s.get(&format!("/campaigns/{id}/villages/{DAZHENG}")).await.text();
    assert!(village.contains("未见到农户"));
    // another screener of the same village, and the other village's cadre: not found
    let mut s2 = app.login("screener2").await;
    assert_eq!(s2.get(&format!("/tasks/{task}/visit")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(s2.get(&r.location()).await.status, StatusCode::NOT_FOUND);
    let mut other = app.login("dongtang").await;
    assert_eq!(other.get(&r.location()).await.status, StatusCode::NOT_FOUND);
    // 回头看: the town office generates the list; D1 is on it (phoned, not reached), so are the others
    let lb = format!("/campaigns/{id}/lookback");
    let mut cadre = app.login("dazheng").await;
    assert!(cadre.get(&lb).await.text().contains("还没有生成回头看清单"));
    assert_eq!(cadre.post_form(&lb, &[]).await.status, StatusCode::FORBIDDEN);
    let mut town = app.login("town").await;
    let r = town.post_form(&lb, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let list = town.get(&lb).await.text();
    assert!(list.contains("已生成回头看清单：3户需要再次核查"), "{list}");
    assert!(
        list.contains(D1) && list.contains(T1) && list.contains("<span class=\"tag warn\">尚未入户见到农户</span>")
    );
    let theirs = cadre.get(&lb).await.text();
    assert!(theirs.contains(D1) && !theirs.contains(T1), "a cadre sees their village only");
    let only_remote = cadre.get(&format!("{lb}?reason=2")).await.text();
    assert!(only_remote.contains("共 <strong>0</strong> 户"), "nobody was reached by phone only");
    let not_visited = cadre.get(&format!("{lb}?reason=3")).await.text();
    assert!(not_visited.contains(D1) && not_visited.contains(D2));
    app.cleanup().await;
}
