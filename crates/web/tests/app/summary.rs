//! 工作总结 (issue 7): the figures of a village's and the town's summary equal the lists behind
//! them, on any date (an earlier day counts less), the words are saved with a version, and the
//! workbook downloads (audited). Both backends.

use axum::http::StatusCode;
use domain::ports::{CampaignStore, FindingFilter, FindingStatus, FindingStore, ProgressBy};
use domain::rules::FindingCode;

use crate::assistance::{at, include_d1};
use crate::harness::*;
use crate::visits::{campaign_with_d1_assigned, d1_form};

/// The value in the row whose first cell is `label` of the table titled `title`.
fn cell(page: &str, title: &str, label: &str, col: usize) -> i64 {
    let table = page.split(&format!("<h3>{title}</h3>")).nth(1).unwrap_or_else(|| panic!("{title}: {page}"));
    let table = table.split("</table>").next().unwrap();
    let row = table
        .split("<tr>")
        .find(|r| r.starts_with(&format!("<td>{label}</td>")))
        .unwrap_or_else(|| panic!("{label} in {title}: {table}"));
    let cells: Vec<&str> = row.split("<td>").skip(1).map(|c| c.split("</td>").next().unwrap()).collect();
    cells[col].trim_end_matches('%').parse().unwrap_or_else(|_| panic!("{label}: {row}"))
}

#[tokio::test]
async fn summary_figures_equal_the_lists_on_any_date() {
    for app in TestApp::both().await {
        // 03-28: D1 visited in person; D1 included through the procedure on 03-28
        let (cid, task) = campaign_with_d1_assigned(&app).await;
        let mut s = app.login("screener").await;
        let r = s.post_form(&format!("/tasks/{task}/visit"), &d1_form(&[])).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{}]", app.label);
        app.clock.set(at(4, 1));
        // T1 visited in person but nobody met: not 已入户 (D13)
        let tasks = app
            .db
            .tasks(
                &domain::Scope::system(),
                &domain::ports::TaskFilter {
                    campaign: domain::campaign::CampaignId(cid),
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
        let t1 = tasks.items.iter().find(|t| t.household_no.as_str() == T1).unwrap().id.0;
        let mut town = app.login("town").await;
        let not_met = [
            ("mode", "入户"),
            ("visited_on", "2022-03-29"),
            ("screeners", "蓝海"),
            ("met", "否"),
            ("why_not", "外出务工，家中无人"),
        ];
        let r = town.post_form(&format!("/tasks/{t1}/visit"), &not_met).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        include_d1(&app).await;
        // 04-01: a measure, a task for 医保, and the town's screening
        let mut cadre = app.login("dazheng").await;
        let m = [("category", "就业帮扶"), ("content", "推荐务工"), ("planned_on", "2022-04-01"), ("status", "计划")];
        assert_eq!(cadre.post_form(&format!("/households/{D1}/measures"), &m).await.status, StatusCode::SEE_OTHER);
        let r = cadre
            .post_form(&format!("/households/{D1}/department-tasks"), &[("task", "medical_security:健康帮扶")])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        screen_at(&app, at(4, 1)).await;
        app.clock.set(at(4, 12));

        let mut town = app.login("town").await;
        let page = town.get(&format!("/summary?campaign={cid}")).await.text();
        assert!(
            page.contains("雒容镇“雒容镇2022年防返贫集中排查”工作总结") && page.contains("2022-03-26 至 2022-04-12"),
            "{page}"
        );
        let scope = domain::Scope::system();
        // the campaign's progress list
        let progress =
            app.db.progress(&scope, domain::campaign::CampaignId(cid), ProgressBy::Village, None).await.unwrap();
        let p = domain::campaign::Progress::sum(progress.iter().map(|r| &r.progress));
        assert_eq!(cell(&page, "一、基本情况", "集中排查任务", 1), p.households);
        assert_eq!(cell(&page, "一、基本情况", "已入户核查", 1), p.visited);
        assert_eq!(p.visited, 1, "D1 only: T1 was not met");
        assert_eq!(cell(&page, "一、基本情况", "仅电话、微信等线上核查", 1), p.remote_only);
        // the households list
        let mut api = app.api_login("town").await;
        assert_eq!(
            cell(&page, "一、基本情况", "农户", 1),
            api.get("/api/v1/households").await.json()["total"].as_i64().unwrap()
        );
        let monitored = api.get("/api/v1/households?status=监测中").await.json()["total"].as_i64().unwrap();
        assert_eq!(cell(&page, "一、基本情况", "监测对象（截至当日）", 1), monitored);
        assert_eq!(monitored, 2, "D1 and D2");
        // the findings list, per screening content
        for code in FindingCode::ALL {
            let all =
                app.db.findings(&scope, &FindingFilter { code: Some(*code), ..Default::default() }, 1).await.unwrap();
            assert_eq!(cell(&page, "二、排查发现（按排查内容）", code.label(), 1), all.total, "{code:?}");
            let open = FindingFilter { code: Some(*code), status: Some(FindingStatus::Open), ..Default::default() };
            let open = app.db.findings(&scope, &open, 1).await.unwrap();
            assert_eq!(cell(&page, "二、排查发现（按排查内容）", code.label(), 5), open.total, "{code:?}");
        }
        assert!(cell(&page, "二、排查发现（按排查内容）", "帮扶措施不到位", 1) > 0, "D2 has no officer: {page}");
        // inclusions, measures, department tasks
        assert_eq!(cell(&page, "三、新纳入监测和风险消除", "新纳入边缘易致贫户", 1), 1);
        let measures = api.get(&format!("/api/v1/households/{D1}/measures")).await.json();
        assert_eq!(
            cell(&page, "四、落实帮扶措施", "新制定帮扶措施", 1),
            measures["items"].as_array().unwrap().len() as i64,
            "{measures}"
        );
        let tasks = api.get("/api/v1/department-tasks?status=all").await.json();
        assert_eq!(cell(&page, "四、落实帮扶措施", "向行业部门推送任务", 1), tasks["total"].as_i64().unwrap());
        // the villages add up to the town
        assert_eq!(
            cell(&page, "七、各村情况", "大正村", 1) + cell(&page, "七、各村情况", "东塘村", 1),
            cell(&page, "七、各村情况", "合计", 1)
        );

        // as of 03-31: D1's inclusion (03-28) counts, the measure and the task of 04-01 do not
        let earlier = town.get(&format!("/summary?campaign={cid}&as_of=2022-03-31")).await.text();
        assert!(earlier.contains("2022-03-26 至 2022-03-31"));
        assert_eq!(cell(&earlier, "三、新纳入监测和风险消除", "新纳入边缘易致贫户", 1), 1);
        assert_eq!(cell(&earlier, "四、落实帮扶措施", "新制定帮扶措施", 1), 0);
        assert_eq!(cell(&earlier, "四、落实帮扶措施", "向行业部门推送任务", 1), 0);
        assert_eq!(cell(&earlier, "二、排查发现（按排查内容）", "帮扶措施不到位", 1), 0, "the screening ran on 04-01");

        // a village's own summary: its words saved with a version; a stale save keeps the text
        let village = DAZHENG.to_string();
        let mut cadre = app.login("dazheng").await;
        let mine = cadre.get(&format!("/summary?region={village}&campaign={cid}")).await.text();
        assert!(
            mine.contains("大正村“雒容镇2022年防返贫集中排查”工作总结") && !mine.contains("七、各村情况"),
            "{mine}"
        );
        let form = |v: &'static str, text: &'static str| {
            vec![
                ("region", DAZHENG_S),
                ("campaign", "CID"),
                ("as_of", "2022-04-12"),
                ("version", v),
                ("work_done", text),
                ("problems", "个别户外出务工未能入户"),
                ("next_steps", "五一后补入户"),
            ]
        };
        let cid_s = cid.to_string();
        let fix = |f: Vec<(&'static str, &'static str)>| -> Vec<(String, String)> {
            f.into_iter()
                .map(|(k, v)| (k.to_string(), if v == "CID" { cid_s.clone() } else { v.to_string() }))
                .collect()
        };
        let first = fix(form("0", "全村入户排查已完成98%"));
        let r = cadre.post_form("/summary/notes", &send(&first)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let shown = cadre.get(&r.location()).await.text();
        assert!(shown.contains("全村入户排查已完成98%") && shown.contains("dazheng 于"), "{shown}");
        let stale = fix(form("0", "另一个人写的"));
        let r = cadre.post_form("/summary/notes", &send(&stale)).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
        assert!(r.text().contains("另一个人写的") && r.text().contains("已被他人修改"), "{}", r.text());
        // another village's cadre may not write it; the leader reads it
        let mut other = app.login("dongtang").await;
        assert_eq!(other.post_form("/summary/notes", &send(&fix(form("1", "x")))).await.status, StatusCode::NOT_FOUND);
        let mut leader = app.login("leader").await;
        let read = leader.get(&format!("/summary?region={village}&campaign={cid}")).await.text();
        assert!(read.contains("全村入户排查已完成98%") && !read.contains("保存文字部分"));

        // the API gives the same tables
        let j = api.get(&format!("/api/v1/summary?region={village}&campaign={cid}")).await.json();
        assert_eq!(j["name"], "大正村");
        assert_eq!(j["tables"][0]["title"], "一、基本情况");
        assert_eq!(j["work_done"], "全村入户排查已完成98%");

        // the workbook, audited
        let x = town.get(&format!("/summary.xlsx?campaign={cid}&as_of=2022-04-12")).await;
        assert_eq!(x.status, StatusCode::OK);
        assert!(x.bytes.starts_with(b"PK"));
        let audit = domain::ports::AuditStore::audit_rows(&app.db, &Default::default(), 50).await.unwrap();
        assert!(audit.iter().any(|r| r.entry.note.contains("导出工作总结（雒容镇，截至 2022-04-12）")));
        app.cleanup().await;
    }
}

const DAZHENG_S: &str = "450203100201";

fn send(f: &[(String, String)]) -> Vec<(&str, &str)> {
    f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}
