use super::*;
use crate::calendar::WorkCalendar;
use crate::codes::HouseholdKind;
use crate::codes::HousingGrade;
use crate::household::Monitoring;
use crate::national_id::make_id;
use crate::rules::tests::{household, line_2022};
use crate::rules::{Context, FindingCode, evaluate};

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, m, d).unwrap()
}

fn facts(mode: VisitMode, met: bool) -> VisitFacts {
    VisitFacts {
        mode,
        visited_on: day(4, 6),
        screeners: vec!["韦小明".into()],
        met,
        confirmed: met,
        signed_by: if met { "韦国强".into() } else { String::new() },
        why_not: if met { String::new() } else { "外出务工".into() },
    }
}

/// A complete, valid 附件5 form for the fixture household (an ordinary household, 3 members).
fn filled() -> VisitInput {
    let mut i = VisitInput::prefilled(&household(), day(4, 6), "韦小明、蓝海");
    for (k, v) in [
        ("met", "是"),
        ("confirmed", "是"),
        ("signed_by", "韦国强"),
        ("income_wage", "45000"),
        ("dropout", "否"),
        ("uninsured", "否"),
        ("water_quantity", "达标"),
        ("water_quality", "达标"),
        ("water_convenience", "达标"),
        ("water_reliability", "达标"),
        ("food_clothing", "是"),
        ("sudden", "否"),
        ("conclusion", "无风险"),
    ] {
        i.set(k, v);
    }
    i
}

#[test]
fn an_in_person_visit_completes_the_task_and_a_remote_one_needs_follow_up() {
    use TaskStatus::*;
    assert_eq!(status_after(Pending, &facts(VisitMode::InPerson, true)), Visited);
    assert_eq!(status_after(Pending, &facts(VisitMode::Phone, true)), RemoteOnly);
    assert_eq!(status_after(Pending, &facts(VisitMode::WeChat, false)), NotReached);
    assert_eq!(status_after(Pending, &facts(VisitMode::InPerson, false)), NotReached);
    // remote first, then not found at home: still needs the in-person visit, still remote-only
    assert_eq!(status_after(RemoteOnly, &facts(VisitMode::InPerson, false)), RemoteOnly);
    assert_eq!(status_after(RemoteOnly, &facts(VisitMode::InPerson, true)), Visited);
    // nothing undoes an in-person visit
    assert_eq!(status_after(Visited, &facts(VisitMode::Phone, false)), Visited);
    let (a, b) = (facts(VisitMode::Phone, true), facts(VisitMode::InPerson, true));
    assert_eq!(status_of(&[&a]), RemoteOnly);
    assert_eq!(status_of(&[&a, &b]), Visited);
    assert_eq!(status_of(&[]), Pending);
}

#[test]
fn the_income_window_is_the_twelve_months_before_the_month() {
    assert_eq!(income_window(day(4, 6)), (NaiveDate::from_ymd_opt(2021, 4, 1).unwrap(), day(3, 31)));
    assert_eq!(
        income_window(NaiveDate::from_ymd_opt(2022, 1, 15).unwrap()),
        (NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(), NaiveDate::from_ymd_opt(2021, 12, 31).unwrap())
    );
}

#[test]
fn a_complete_form_parses() {
    let d = household();
    let (f, c) = filled().parse(FormKind::Ordinary, &d, day(4, 6)).unwrap();
    assert_eq!(f.screeners, vec!["韦小明", "蓝海"]);
    assert_eq!((f.mode, f.met, f.confirmed), (VisitMode::InPerson, true, true));
    assert_eq!(c.income.as_ref().map(|r| (r.year, r.wage)), Some((2022, Fen::from_yuan(45_000))));
    assert_eq!(c.water.safe, Some(true));
    assert_eq!(c.conclusion, Some(Conclusion::NoRisk));
    // the stored form comes back as the same input
    let v = Visit {
        id: VisitId(1),
        task: TaskId(1),
        campaign: CampaignId(1),
        household_id: d.record.id,
        household_no: d.record.household.household_no.clone(),
        village: d.record.household.village,
        form: FormKind::Ordinary,
        facts: f.clone(),
        content: c.clone(),
        review: ReviewStatus::Submitted,
        review_note: String::new(),
        reviewed_by: None,
        reviewed_at: None,
        recorded_by_id: None,
        recorded_by: "t".into(),
        recorded_at: Default::default(),
        version: 1,
    };
    assert_eq!(VisitInput::from_visit(&v).parse(FormKind::Ordinary, &d, day(4, 6)).unwrap(), (f, c));
}

#[test]
fn a_bad_form_says_which_field_and_what_to_do() {
    let d = household();
    let mut i = filled();
    i.set("visited_on", "2022-05-01");
    i.set("screeners", " ");
    i.set("signed_by", "");
    i.set("income_business", "-30");
    i.set("food_clothing", "否");
    i.set("conclusion", "建议纳入监测");
    i.set("suggested_category", "脱贫不稳定户");
    let e = i.parse(FormKind::Ordinary, &d, day(4, 6)).unwrap_err();
    assert!(e.get("visited_on").unwrap().contains("晚于今天"));
    assert!(e.get("screeners").unwrap().contains("谁排查谁负责"));
    assert!(e.get("signed_by").is_some());
    assert!(e.get("income_business").unwrap().contains("负数"));
    assert!(e.get("food_clothing_note").unwrap().contains("原因"));
    // 附件5 suggests 边缘易致贫户 or 突发严重困难户, never 脱贫不稳定户; and needs the risks
    assert!(e.get("suggested_category").unwrap().contains("边缘易致贫户或突发严重困难户"));
    assert!(e.get("risk").is_some());
}

#[test]
fn not_met_needs_a_reason_and_nothing_else() {
    let d = household();
    let mut i = VisitInput::prefilled(&d, day(4, 6), "韦小明");
    i.set("mode", "电话");
    i.set("met", "否");
    let e = i.parse(FormKind::Ordinary, &d, day(4, 6)).unwrap_err();
    assert_eq!(e.0.len(), 1, "{e}");
    assert!(e.get("why_not").unwrap().contains("未见到农户"));
    i.set("why_not", "电话无人接听");
    let (f, c) = i.parse(FormKind::Ordinary, &d, day(4, 6)).unwrap();
    assert!(!f.met && c.conclusion.is_none());
}

#[test]
fn members_leave_and_join_and_the_head_is_replaced() {
    let d = household();
    let head = d.members[0].id;
    let wife = d.members[1].id;
    let mut i = filled();
    i.set(&format!("m{}_removal", head.0), "死亡");
    let e = i.parse(FormKind::Ordinary, &d, day(4, 6)).unwrap_err();
    assert!(e.get("new_head").unwrap().contains("担任户主"));
    i.set("new_head", wife.0.to_string());
    let baby = make_id(450203, day(2, 1), 41);
    i.set("new1_name", "韦小花");
    i.set("new1_id", &baby);
    i.set("new1_relation", "之孙女");
    i.set(&format!("m{}_note", d.members[2].id.0), "3月起在县城务工");
    let (_, c) = i.parse(FormKind::Ordinary, &d, day(4, 6)).unwrap();
    let a = application(&d, FormKind::Ordinary, &c).unwrap();
    assert_eq!(a.member_changes.len(), 3, "{:?}", a.member_changes);
    assert!(matches!(&a.member_changes[0], MemberChange::Update(id, m) if *id == wife && m.relation == Relation::Head));
    assert!(a.member_changes.contains(&MemberChange::Delete(head)));
    assert!(a.summary.iter().any(|s| s == "移出成员 韦国强（死亡）"));
    assert!(a.manual.iter().any(|s| s.contains("3月起在县城务工")));
    let after = applied(&d, &a);
    assert_eq!(after.members.len(), 3);
    assert_eq!(after.members.iter().filter(|m| m.member.relation == Relation::Head).count(), 1);
    // an ID already in the household is refused
    i.set("new1_id", d.members[2].member.national_id.as_str());
    assert!(i.parse(FormKind::Ordinary, &d, day(4, 6)).unwrap_err().get("new1_id").unwrap().contains("已是本户成员"));
}

#[test]
fn the_rules_see_the_visit_before_it_is_accepted() {
    // income collapsed to 9,000 for 3 people (3,000 each, under the 6,500 example line) and an
    // illness: the preview says SHOULD_MONITOR; the registry is unchanged
    let d = household();
    let mut i = filled();
    i.set("income_wage", "9000");
    i.set("conclusion", "建议纳入监测");
    i.set("suggested_category", "边缘易致贫户");
    i.set("risk", "因病");
    let (_, c) = i.parse(FormKind::Ordinary, &d, day(4, 6)).unwrap();
    let a = application(&d, FormKind::Ordinary, &c).unwrap();
    assert!(a.household.risks.is_empty(), "risks of a household not monitored go with the suggestion");
    let params = line_2022();
    let cal = WorkCalendar::builtin();
    let ctx = Context { as_of: day(4, 6), params: &params, calendar: &cal };
    assert!(evaluate(&d, &ctx).unwrap().is_empty());
    let preview = evaluate(&applied(&d, &a), &ctx).unwrap();
    assert!(preview.iter().any(|f| f.code == FindingCode::ShouldMonitor), "{preview:?}");
}

#[test]
fn monitored_forms_ask_about_the_officer_and_elimination() {
    let mut d = household();
    d.record.household.kind = HouseholdKind::PovertyExited;
    d.record.household.monitoring = Monitoring::Monitored {
        category: MonitoringCategory::UnstableExited,
        since: NaiveDate::from_ymd_opt(2021, 9, 1).unwrap(),
    };
    let mut i = filled();
    i.set("conclusion", "");
    let e = i.parse(FormKind::Monitored, &d, day(4, 6)).unwrap_err();
    assert!(e.get("officer_present").is_some() && e.get("elimination_view").is_some());
    i.set("officer_present", "是");
    i.set("elimination_view", "风险消除准确");
    let e = i.parse(FormKind::Monitored, &d, day(4, 6)).unwrap_err();
    assert!(e.get("elimination_view").unwrap().contains("尚未消除风险"));
    i.set("elimination_view", "风险未消除，继续监测");
    i.set("risk", "因病");
    let (_, c) = i.parse(FormKind::Monitored, &d, day(4, 6)).unwrap();
    let a = application(&d, FormKind::Monitored, &c).unwrap();
    assert_eq!(a.household.risks, vec![RiskType::Illness], "a monitored household's risks are updated");
}

#[test]
fn acceptance_applies_only_what_the_visit_changed() {
    // the visit saw grade B and confirmed it; the cadre then set D on the edit page: accepting the
    // older visit keeps D
    let seen = household();
    let mut i = filled();
    i.set("housing_grade", "B级");
    let (_, mut c) = i.parse(FormKind::Ordinary, &seen, day(4, 6)).unwrap();
    c.base = Some(VisitBase::of(&seen, &c));
    let mut now = seen.clone();
    now.record.version += 1;
    now.record.household.housing_grade = Some(HousingGrade::D);
    let a = application(&now, FormKind::Ordinary, &c).unwrap();
    assert_eq!(a.household.housing_grade, Some(HousingGrade::D), "{:?}", a.summary);
    assert!(a.manual.iter().any(|m| m.contains("核查之后登记信息已修改过")));
    // the visit changed B → C while the registry went B → D: a conflict, nothing applied
    i.set("housing_grade", "C级");
    let (_, mut c) = i.parse(FormKind::Ordinary, &seen, day(4, 6)).unwrap();
    c.base = Some(VisitBase::of(&seen, &c));
    let e = application(&now, FormKind::Ordinary, &c).unwrap_err();
    assert!(e.to_string().contains("核查时登记为B级，核查记录为C级，但登记已改为D级"), "{e}");
    // the visit's change to something the registry did not touch still applies
    now.record.household.housing_grade = Some(HousingGrade::B);
    let a = application(&now, FormKind::Ordinary, &c).unwrap();
    assert_eq!(a.household.housing_grade, Some(HousingGrade::C));
    assert!(a.summary.iter().any(|s| s == "住房安全等级：B级 → C级"), "{:?}", a.summary);
}

#[test]
fn member_facts_are_corrected_and_merged() {
    use crate::codes::LabourSkill;
    let seen = household();
    let kid = &seen.members[2];
    let wife = &seen.members[1];
    let mut i = filled();
    i.set(&format!("m{}_medical", wife.id.0), "未参加");
    i.set(&format!("m{}_labour", wife.id.0), "丧失劳动力");
    i.set(&format!("m{}_work_months", kid.id.0), "13");
    let e = i.parse(FormKind::Ordinary, &seen, day(4, 6)).unwrap_err();
    assert!(e.get("members").unwrap().contains("韦小宝的务工月数“13”应为0到12的整数"), "{e}");
    i.set(&format!("m{}_work_months", kid.id.0), "");
    i.set("uninsured", "是");
    let (_, mut c) = i.parse(FormKind::Ordinary, &seen, day(4, 6)).unwrap();
    c.base = Some(VisitBase::of(&seen, &c));
    assert_eq!(c.members.len(), 1, "only the wife changed: {:?}", c.members);
    // meanwhile the cadre recorded her work months: kept; the visit's corrections apply
    let mut now = seen.clone();
    now.record.version += 1;
    now.members[1].member.work_months = Some(6);
    let a = application(&now, FormKind::Ordinary, &c).unwrap();
    let MemberChange::Update(id, m) = &a.member_changes[0] else { panic!("{:?}", a.member_changes) };
    assert_eq!(*id, wife.id);
    assert_eq!(
        (m.labour_skill, m.resident_medical, m.employee_medical, m.work_months),
        (LabourSkill::Lost, false, false, Some(6))
    );
    assert!(a.summary.iter().any(|s| s == "李秀英 医疗保险：城乡居民医保 → 未参加"), "{:?}", a.summary);
    assert!(!a.manual.iter().any(|m| m.contains("登记显示全部参保")), "the visit itself corrects the insurance");
}
