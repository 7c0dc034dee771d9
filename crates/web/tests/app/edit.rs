//! Correcting households and members through the pages: validation next to the fields with
//! nothing lost, optimistic versions, the composition rules. Run on both backends.

use axum::http::StatusCode;
use domain::household::HouseholdNo;
use domain::ports::HouseholdStore;

use crate::harness::*;

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, x)| (k.as_str(), x.as_str())).collect()
}

async fn detail(app: &TestApp, no: &str) -> domain::ports::HouseholdDetail {
    app.db.household(&domain::Scope::system(), &HouseholdNo::parse(no).unwrap()).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_bad_field_is_shown_next_to_it_and_nothing_typed_is_lost() {
    for app in TestApp::both().await {
        let mut c = app.login("dazheng").await;
        let path = format!("/households/{D1}/edit");
        let form = c.get(&path).await.text();
        let fields =
            household_form(&form, &[("phone", "123"), ("address", "大正村3组新12号"), ("housing_grade", "C级")]);
        let r = c.post_form(&path, &pairs(&fields)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", app.label);
        let html = r.text();
        // the message sits in the phone field's label, and what was typed is still there
        let phone_label = html.split("for=\"f-phone\"").nth(1).unwrap().split("</label>").next().unwrap();
        assert!(phone_label.contains("联系电话“123”格式不正确"), "{phone_label}");
        assert!(phone_label.contains("aria-invalid=\"true\""));
        assert!(phone_label.contains("value=\"123\""));
        assert!(html.contains("value=\"大正村3组新12号\""));
        assert!(html.contains("<option value=\"C级\" selected>"));
        assert_eq!(detail(&app, D1).await.record.household.address, "雒容镇大正村3组12号", "nothing saved");

        // fixed: saved, audited, the version moves on
        let fixed = household_form(&html, &[("phone", "13907725678")]);
        let r = c.post_form(&path, &pairs(&fixed)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert_eq!(r.location(), format!("/households/{D1}"));
        let page = c.get(&format!("/households/{D1}")).await.text();
        assert!(page.contains("已保存") && page.contains("13907725678") && page.contains("大正村3组新12号"));
        assert!(page.contains("危房"));
        let d = detail(&app, D1).await;
        assert_eq!(d.record.version, 2);
        assert!(page.contains("修改户 4502031002010001 的基本信息"), "history shows the change");

        // a stale form: the user's values are kept, a warning is shown, nothing is saved
        let stale = household_form(&form, &[("address", "过期的表单")]);
        let r = c.post_form(&path, &pairs(&stale)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let html = r.text();
        assert!(html.contains("已被他人修改") && html.contains("value=\"过期的表单\""));
        assert_eq!(detail(&app, D1).await.record.household.address, "大正村3组新12号");
        // saving again from that page overrides knowingly (it now carries the current version)
        let again = household_form(&html, &[]);
        assert_eq!(c.post_form(&path, &pairs(&again)).await.status, StatusCode::SEE_OTHER);
        assert_eq!(detail(&app, D1).await.record.household.address, "过期的表单");

        // rules across fields: a monitored household needs a date
        let form = c.get(&path).await.text();
        let r = c.post_form(&path, &pairs(&household_form(&form, &[("monitoring_category", "边缘易致贫户")]))).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("监测对象必须填写识别监测时间"));
        app.cleanup().await;
    }
}

fn member_fields<'a>(version: &'a str, name: &'a str, id: &'a str, relation: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("version", version),
        ("name", name),
        ("national_id", id),
        ("relation", relation),
        ("sex", ""),
        ("ethnicity", "壮族"),
        ("education", ""),
        ("school_status", "小学"),
        ("health", "健康"),
        ("labour_skill", "无劳动力"),
        ("resident_medical", "是"),
        ("employee_medical", "否"),
        ("dibao", "否"),
        ("tekun", "否"),
    ]
}

#[tokio::test]
async fn member_edits_keep_the_household_rules() {
    for app in TestApp::both().await {
        let mut c = app.login("dazheng").await;
        let new = format!("/households/{D1}/members/new");
        let v = app.household_version(D1).await.to_string();
        // wrong check character: refused with the expected one named
        let r = c.post_form(&new, &member_fields(&v, "韦小宝", "450203201209010038", "之子")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("校验位不正确") && r.text().contains("“7”"), "{}", r.text());
        assert!(r.text().contains("value=\"韦小宝\""), "typed name kept");
        // a person already in another household (out of my scope: not revealed)
        let r = c.post_form(&new, &member_fields(&v, "蒙志刚", T1_HEAD_ID, "之子")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("已登记在其他地区的家庭中") && !r.text().contains(T1));
        // a second head needs the previous head's new relation
        let r = c.post_form(&new, &member_fields(&v, "韦大宝", "450203199001010011", "户主")).await;
        assert!(r.text().contains("请同时选择原户主改为何种关系"), "{}", r.text());
        // a child is added
        let r = c.post_form(&new, &member_fields(&v, "韦小宝", "450203201209010037", "之子")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let d = detail(&app, D1).await;
        assert_eq!(d.members.len(), 3);
        assert_eq!(d.members[2].member.national_id.to_string(), "450203201209010037");
        // a third adult becomes head, the old head becomes 之父 in the same save
        let v = d.record.version.to_string();
        let mut f = member_fields(&v, "韦大宝", "450203199001010011", "户主");
        f.push(("previous_head_relation", "之父"));
        let r = c.post_form(&new, &f).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let d = detail(&app, D1).await;
        let heads: Vec<_> = d.members.iter().filter(|m| m.member.relation == domain::Relation::Head).collect();
        assert_eq!(heads.len(), 1);
        assert_eq!(heads[0].member.name.as_str(), "韦大宝");
        assert_eq!(d.members[0].member.relation, domain::Relation::Father);
        // removing: a reason is needed, the head cannot go
        let v = d.record.version.to_string();
        let head_id = heads[0].id.0;
        let r = c
            .post_form(&format!("/households/{D1}/members/{head_id}/remove"), &[("version", &v), ("reason", "迁出")])
            .await;
        assert!(r.text().contains("不能直接移除户主"));
        let child = d.members.iter().find(|m| m.member.name.as_str() == "韦小宝").unwrap().id.0;
        let r =
            c.post_form(&format!("/households/{D1}/members/{child}/remove"), &[("version", &v), ("reason", "")]).await;
        assert!(r.text().contains("请填写移除原因"));
        let r = c
            .post_form(&format!("/households/{D1}/members/{child}/remove"), &[("version", &v), ("reason", "迁出")])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let page = c.get(&format!("/households/{D1}")).await.text();
        let members = page.split("家庭成员（").nth(1).unwrap().split("<h3>收入</h3>").next().unwrap();
        assert!(members.starts_with("3人）") && !members.contains("韦小宝"));
        assert!(page.contains("移除成员 韦小宝：迁出"), "the history says who left and why");
        store::verify_audit(&app.db).await.unwrap();
        app.cleanup().await;
    }
}

#[tokio::test]
async fn the_last_member_cannot_be_removed_and_bad_addresses_get_a_chinese_page() {
    let app = TestApp::sqlite().await;
    let mut c = app.login("dongtang").await;
    let d = detail(&app, T1).await;
    let (id, v) = (d.members[0].id.0, d.record.version.to_string());
    let r = c.post_form(&format!("/households/{T1}/members/{id}/remove"), &[("version", &v), ("reason", "迁出")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("不能移除户内唯一的成员"));
    assert_eq!(detail(&app, T1).await.members.len(), 1);
    let r = c.get(&format!("/households/{T1}/members/abc/edit")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("格式不正确") && r.text().contains("<html"), "{}", r.text());
    app.cleanup().await;
}
