//! What users see: page snapshots (insta), the import page with its job, administration.

use std::time::Duration;

use axum::http::StatusCode;

use crate::harness::*;

#[tokio::test]
async fn pages_render() {
    let app = TestApp::sqlite().await;
    let mut anon = app.anonymous();
    insta::assert_snapshot!("login", redact(&anon.get("/login").await.text()));
    let mut cadre = app.login("dazheng").await;
    insta::assert_snapshot!("households", redact(&cadre.get("/households").await.text()));
    let mut leader = app.login("leader").await;
    insta::assert_snapshot!("household_detail_leader", redact(&leader.get(&format!("/households/{D2}")).await.text()));
    let path = format!("/households/{D1}/edit");
    let form = household_form(&cadre.get(&path).await.text(), &[("phone", "abc"), ("exit_year", "2030")]);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    insta::assert_snapshot!("household_edit_errors", redact(&cadre.post_form(&path, &pairs).await.text()));
    insta::assert_snapshot!("not_found", cadre.get("/households/none").await.text());
    let empty = cadre.get("/households?q=%E6%B2%A1%E6%9C%89%E8%BF%99%E4%B8%AA%E4%BA%BA").await.text();
    assert!(empty.contains("没有符合条件的农户"));
    app.cleanup().await;
}

#[tokio::test]
async fn import_page_runs_a_job_with_progress_and_a_report() {
    let app = TestApp::sqlite().await;
    let mut town = app.login("town").await;
    assert!(town.get("/import").await.text().contains("上传全国防返贫监测信息系统导出的"));
    let csv = town.get("/export.csv").await.text();
    let broken = csv.replace(D1_HEAD_ID, "4502031970");
    for (content, name, dry_run) in [(broken.as_str(), "broken.csv", ""), (csv.as_str(), "good.csv", "on")] {
        let r =
            town.upload("/import", name, content.as_bytes(), &[("dry_run", dry_run), ("income_year", "2021")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let job = r.location();
        let mut html = String::new();
        for _ in 0..200 {
            html = town.get(&format!("{job}/progress")).await.text();
            if !html.contains("hx-trigger=\"every 1s\"") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if name == "broken.csv" {
            assert!(html.contains("没有写入任何数据"), "{html}");
            assert!(html.contains("证件号码应为18位"));
            let report = town.get(&format!("{job}/report.xlsx")).await;
            assert_eq!(report.status, StatusCode::OK);
            assert!(report.bytes.starts_with(b"PK"), "an xlsx file");
            let csv_report = town.get(&format!("{job}/report.csv")).await.text();
            assert!(csv_report.contains("行号") && csv_report.contains("证件号码"));
        } else {
            assert!(html.contains("检查通过（未写入）") && html.contains("未变 3 户"), "{html}");
        }
        // another user cannot see the job
        let mut other = app.login("admin").await;
        assert_eq!(other.get(&job).await.status, StatusCode::NOT_FOUND);
    }
    let t = town.get("/template.xlsx").await;
    assert!(t.bytes.starts_with(b"PK"));
    assert!(t.headers.get("content-disposition").unwrap().to_str().unwrap().contains("filename*=UTF-8''"));
    app.cleanup().await;
}

#[tokio::test]
async fn administrators_manage_users_and_parameters() {
    let app = TestApp::sqlite().await;
    let mut admin = app.login("admin").await;
    let base = [("username", "xinshou"), ("display_name", "新手"), ("role", "screener"), ("region", "450203100201")];
    let mut weak = base.to_vec();
    weak.extend([("password", "abc"), ("confirm", "abc")]);
    let r = admin.post_form("/admin/users", &weak).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("密码至少8位") && r.text().contains("value=\"xinshou\""));
    let mut good = base.to_vec();
    good.extend([("password", "Kaishi#2022ab"), ("confirm", "Kaishi#2022ab")]);
    let r = admin.post_form("/admin/users", &good).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = admin.post_form("/admin/users", &good).await;
    assert!(r.text().contains("已被使用"));
    let mut newbie = app.anonymous();
    assert_eq!(newbie.post_login("xinshou", "Kaishi#2022ab").await.status, StatusCode::SEE_OTHER);

    let r = admin
        .post_form("/admin/params", &[("year", "2023"), ("region", "450000000000"), ("value", "-1"), ("note", "")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = admin
        .post_form(
            "/admin/params",
            &[("year", "2023"), ("region", "450000000000"), ("value", "7000"), ("note", "桂乡振发〔2023〕示例")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = admin.get("/admin/params").await.text();
    assert!(page.contains("7,000.00 元/人/年") && page.contains("第1版（现行）"));

    // an administrator of a county cannot set the province's line, nor read other regions' audit
    let actor = domain::Actor::system("测试");
    let county = domain::RegionCode::parse("450203000000").unwrap();
    web::auth::create_user(&app.db, &actor, start(), "cadmin", "区管理员", domain::Role::Admin, county, PASSWORD)
        .await
        .unwrap();
    let mut cadmin = app.login("cadmin").await;
    let r = cadmin
        .post_form("/admin/params", &[("year", "2023"), ("region", "450000000000"), ("value", "99999"), ("note", "")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("只能为您管辖范围内的区划设定参数"));
    let audit = cadmin.get("/admin/audit").await.text();
    assert!(!audit.contains("设定2023年监测范围"), "the province's parameter change is not its business");
    assert!(admin.get("/admin/audit").await.text().contains("设定2023年监测范围"));

    let r = admin.post_form("/admin/audit/verify", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(admin.get("/admin/audit").await.text().contains("审计日志完整"));
    let mut cadre = app.login("dazheng").await;
    assert_eq!(cadre.get("/admin/audit").await.status, StatusCode::FORBIDDEN);
    assert_eq!(cadre.post_form("/admin/users", &good).await.status, StatusCode::FORBIDDEN);
    app.cleanup().await;
}
