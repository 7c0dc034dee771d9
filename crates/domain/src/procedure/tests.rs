use super::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn open_case(p: Procedure) -> Case {
    Case {
        id: CaseId(1),
        procedure: p,
        household_id: HouseholdId(7),
        household_no: HouseholdNo::parse("4502031002010001").unwrap(),
        village: RegionCode::parse("450203100201").unwrap(),
        head_name: Some("张三".into()),
        group_no: 1,
        members: 3,
        suggested_category: None,
        monitored_category: None,
        status: CaseStatus::Open,
        source: Some(ClueSource::Campaign),
        finding_id: None,
        opened_on: d("2022-03-28"),
        closed_on: None,
        version: 1,
        steps: vec![record(1, p.steps()[0], StepOutcome::Passed, "2022-03-28")],
    }
}

fn record(id: i64, step: Step, outcome: StepOutcome, on: &str) -> StepRecord {
    StepRecord {
        id,
        step,
        outcome,
        done_on: d(on),
        ended_on: None,
        participants: vec![],
        note: String::new(),
        decision: None,
        actor_name: "t".into(),
        actor_role: Role::VillageCadre,
        recorded_at: DateTime::<Utc>::default(),
        attachments: vec![],
    }
}

fn input(step: Step, on: &str) -> StepInput {
    StepInput {
        step,
        reject: false,
        on: d(on),
        participants: vec!["甲".into(), "乙".into()],
        note: String::new(),
        decision: Some(Decision::Inclusion {
            category: MonitoringCategory::MarginalAtRisk,
            risks: vec![RiskType::Illness],
            disaster: None,
        }),
    }
}

/// Records `plan` onto the case the way the store does.
fn apply(case: &mut Case, plan: &StepPlan, role: Role) {
    if let Some(row) = plan.ends_notice {
        let s = case.steps.iter_mut().find(|s| s.id == row).unwrap();
        s.ended_on = Some(plan.on);
        s.outcome = plan.outcome;
    } else {
        let mut r = record(case.steps.len() as i64 + 1, plan.step, plan.outcome, &plan.on.to_string());
        r.decision = plan.decision.clone();
        r.actor_role = role;
        case.steps.push(r);
    }
    case.status = plan.status;
}

fn role_for(step: Step) -> Role {
    step.roles()[0]
}

const TODAY: &str = "2022-05-31";

#[test]
fn identification_runs_every_step_in_order_and_completes() {
    let rules = ProcedureRules::default();
    let mut c = open_case(Procedure::Identification);
    let mut day = d("2022-03-28");
    for &step in &Procedure::Identification.steps()[1..] {
        let plan = check_step(&c, &input(step, &day.to_string()), role_for(step), d(TODAY), &rules).unwrap();
        apply(&mut c, &plan, role_for(step));
        if step == Step::PublicNotice {
            assert_eq!(plan.outcome, StepOutcome::Started);
            assert_eq!(c.status, CaseStatus::Open);
            assert_eq!(c.next(&rules), Some(NextAction::EndNotice { started_on: day, earliest_end: d("2022-04-02") }));
            day = d("2022-04-02");
            let end = check_step(&c, &input(step, "2022-04-02"), Role::VillageCadre, d(TODAY), &rules).unwrap();
            assert_eq!(end.ends_notice, Some(c.steps.last().unwrap().id));
            apply(&mut c, &end, Role::VillageCadre);
        }
    }
    assert_eq!(c.status, CaseStatus::Completed);
    assert_eq!(c.next(&rules), None);
    assert!(matches!(c.decision(), Some(Decision::Inclusion { .. })));
    // a closed case takes nothing more
    let e = check_step(&c, &input(Step::Inclusion, TODAY), Role::TownOffice, d(TODAY), &rules).unwrap_err();
    assert!(matches!(e, ProcedureError::Closed { .. }) && e.is_order_violation());
}

#[test]
fn every_skip_and_every_repeat_is_refused() {
    let rules = ProcedureRules::default();
    let steps = Procedure::Identification.steps();
    // at each point of the procedure, every other step is refused with the step that is due
    let mut c = open_case(Procedure::Identification);
    let mut day = "2022-04-10";
    for (i, &due) in steps.iter().enumerate().skip(1) {
        for (j, &other) in steps.iter().enumerate() {
            if other == due {
                continue;
            }
            let e = check_step(&c, &input(other, day), role_for(other), d(TODAY), &rules).unwrap_err();
            if j > i {
                assert_eq!(e, ProcedureError::Skipped { tried: other, expected: due }, "{other} at {due}");
                assert!(e.to_string().contains("不能跳过步骤"));
            } else {
                assert_eq!(e, ProcedureError::AlreadyDone { tried: other, expected: due });
            }
            assert!(e.is_order_violation());
        }
        let plan = check_step(&c, &input(due, day), role_for(due), d(TODAY), &rules).unwrap();
        apply(&mut c, &plan, role_for(due));
        if due == Step::PublicNotice {
            day = "2022-04-15";
            let end = check_step(&c, &input(due, day), Role::VillageCadre, d(TODAY), &rules).unwrap();
            apply(&mut c, &end, Role::VillageCadre);
        }
    }
    // steps of the other procedure are not part of this one
    let c = open_case(Procedure::Identification);
    let e = check_step(&c, &input(Step::Proposal, "2022-04-10"), Role::VillageCadre, d(TODAY), &rules).unwrap_err();
    assert!(matches!(e, ProcedureError::NotInProcedure { .. }));
}

#[test]
fn a_notice_runs_five_full_days() {
    let rules = ProcedureRules::default();
    let mut c = open_case(Procedure::Identification);
    for &step in &Procedure::Identification.steps()[1..5] {
        let plan = check_step(&c, &input(step, "2022-03-30"), role_for(step), d(TODAY), &rules).unwrap();
        apply(&mut c, &plan, role_for(step));
    }
    let plan = check_step(&c, &input(Step::PublicNotice, "2022-03-30"), Role::VillageCadre, d(TODAY), &rules).unwrap();
    apply(&mut c, &plan, Role::VillageCadre);
    // posted 03-30: the five full days are 03-31 … 04-04, so it ends 04-04 at the earliest
    let e = check_step(&c, &input(Step::PublicNotice, "2022-04-03"), Role::VillageCadre, d(TODAY), &rules).unwrap_err();
    assert_eq!(e, ProcedureError::NoticeTooShort { days: 5, started: d("2022-03-30"), earliest: d("2022-04-04") });
    assert!(e.to_string().contains("公示须满5天"));
    // moving on before the notice ends is a skip
    let e = check_step(&c, &input(Step::TownReview, "2022-04-05"), Role::TownOffice, d(TODAY), &rules).unwrap_err();
    assert_eq!(e, ProcedureError::Skipped { tried: Step::TownReview, expected: Step::PublicNotice });
    // a province with 7 days
    let seven = ProcedureRules { notice_days: 7, ..rules };
    assert!(check_step(&c, &input(Step::PublicNotice, "2022-04-04"), Role::VillageCadre, d(TODAY), &seven).is_err());
    assert!(check_step(&c, &input(Step::PublicNotice, "2022-04-04"), Role::VillageCadre, d(TODAY), &rules).is_ok());
}

#[test]
fn roles_dates_and_evidence() {
    let rules = ProcedureRules::default();
    let c = open_case(Procedure::Identification);
    // the town office cannot record the household's application, nor the administrator anything
    for role in [Role::TownOffice, Role::Admin, Role::Screener, Role::CountyApprover, Role::Leader] {
        let e = check_step(&c, &input(Step::Application, "2022-03-29"), role, d(TODAY), &rules).unwrap_err();
        assert!(matches!(e, ProcedureError::WrongRole { .. }), "{role}");
        assert!(!e.is_order_violation());
    }
    let e = check_step(&c, &input(Step::Application, "2022-03-27"), Role::VillageCadre, d(TODAY), &rules).unwrap_err();
    assert_eq!(e, ProcedureError::BeforePrevious { previous: Step::Clue, date: d("2022-03-28") });
    let e = check_step(&c, &input(Step::Application, "2022-06-01"), Role::VillageCadre, d(TODAY), &rules).unwrap_err();
    assert_eq!(e, ProcedureError::InFuture { today: d(TODAY) });

    let mut c = c;
    let plan = check_step(&c, &input(Step::Application, "2022-03-29"), Role::VillageCadre, d(TODAY), &rules).unwrap();
    apply(&mut c, &plan, Role::VillageCadre);
    let mut one = input(Step::HomeVerification, "2022-03-29");
    one.participants = vec!["甲".into(), " ".into(), "甲 ".into()];
    assert_eq!(check_step(&c, &one, Role::VillageCadre, d(TODAY), &rules).unwrap_err(), ProcedureError::TooFewPeople);
    // rejection is not for the home verification of an identification
    let mut rej = input(Step::HomeVerification, "2022-03-29");
    rej.reject = true;
    rej.note = "不符合".into();
    let e = check_step(&c, &rej, Role::VillageCadre, d(TODAY), &rules).unwrap_err();
    assert!(matches!(e, ProcedureError::RejectNotAllowed { .. }));
    assert!(e.to_string().contains("信息比对、民主评议、乡镇审核、县级审定"));
}

#[test]
fn rejection_needs_a_reason_and_closes_the_case() {
    let rules = ProcedureRules::default();
    let mut c = open_case(Procedure::Identification);
    for &step in &Procedure::Identification.steps()[1..3] {
        let plan = check_step(&c, &input(step, "2022-03-30"), role_for(step), d(TODAY), &rules).unwrap();
        apply(&mut c, &plan, role_for(step));
    }
    let mut rej = input(Step::DataCheck, "2022-03-31");
    rej.reject = true;
    assert_eq!(
        check_step(&c, &rej, Role::CountyApprover, d(TODAY), &rules).unwrap_err(),
        ProcedureError::ReasonRequired
    );
    rej.note = "家庭成员为财政供养人员".into();
    let plan = check_step(&c, &rej, Role::CountyApprover, d(TODAY), &rules).unwrap();
    assert_eq!((plan.outcome, plan.status), (StepOutcome::Rejected, CaseStatus::Rejected));
    apply(&mut c, &plan, Role::CountyApprover);
    let e = check_step(&c, &input(Step::Appraisal, "2022-04-01"), Role::VillageCadre, d(TODAY), &rules).unwrap_err();
    assert_eq!(e, ProcedureError::Closed { status: "已不予纳入".into() });
}

#[test]
fn the_county_decides_category_and_up_to_five_risks() {
    let rules = ProcedureRules::default();
    let mut c = open_case(Procedure::Identification);
    for &step in &Procedure::Identification.steps()[1..7] {
        let on = if step == Step::TownReview { "2022-04-04" } else { "2022-03-30" };
        let plan = check_step(&c, &input(step, on), role_for(step), d(TODAY), &rules).unwrap();
        apply(&mut c, &plan, role_for(step));
        if step == Step::PublicNotice {
            let end = check_step(&c, &input(step, "2022-04-04"), Role::VillageCadre, d(TODAY), &rules).unwrap();
            apply(&mut c, &end, Role::VillageCadre);
        }
    }
    assert_eq!(c.next(&rules), Some(NextAction::Step { step: Step::CountyApproval }));
    let mut i = input(Step::CountyApproval, "2022-04-05");
    i.decision = None;
    assert_eq!(
        check_step(&c, &i, Role::CountyApprover, d(TODAY), &rules).unwrap_err(),
        ProcedureError::InclusionDecisionRequired
    );
    i.decision =
        Some(Decision::Inclusion { category: MonitoringCategory::SuddenHardship, risks: vec![], disaster: None });
    assert_eq!(
        check_step(&c, &i, Role::CountyApprover, d(TODAY), &rules).unwrap_err(),
        ProcedureError::InclusionDecisionRequired
    );
    let six = vec![
        RiskType::Illness,
        RiskType::Schooling,
        RiskType::Disability,
        RiskType::Accident,
        RiskType::LackOfLabour,
        RiskType::Other,
    ];
    i.decision = Some(Decision::Inclusion { category: MonitoringCategory::SuddenHardship, risks: six, disaster: None });
    assert_eq!(check_step(&c, &i, Role::CountyApprover, d(TODAY), &rules).unwrap_err(), ProcedureError::BadRisks);
    i.decision = Some(Decision::Inclusion {
        category: MonitoringCategory::SuddenHardship,
        risks: vec![RiskType::Illness, RiskType::Illness],
        disaster: None,
    });
    assert_eq!(check_step(&c, &i, Role::CountyApprover, d(TODAY), &rules).unwrap_err(), ProcedureError::BadRisks);
}

#[test]
fn fifteen_days_is_a_warning() {
    let rules = ProcedureRules::default();
    let c = open_case(Procedure::Identification);
    assert_eq!(c.over_limit(d("2022-04-12"), &rules), None);
    assert_eq!(c.over_limit(d("2022-04-13"), &rules), Some(16));
    // and it blocks nothing
    assert!(check_step(&c, &input(Step::Application, "2022-04-20"), Role::VillageCadre, d(TODAY), &rules).is_ok());
}

#[test]
fn elimination_steps_and_decision() {
    let rules = ProcedureRules::default();
    let c = open_case(Procedure::Elimination);
    assert_eq!(c.next(&rules), Some(NextAction::Step { step: Step::HomeVerification }));
    let e = check_step(&c, &input(Step::Application, "2022-04-01"), Role::VillageCadre, d(TODAY), &rules).unwrap_err();
    assert!(matches!(e, ProcedureError::NotInProcedure { .. }));
    let mut rej = input(Step::HomeVerification, "2022-04-01");
    rej.reject = true;
    rej.note = "收入尚不稳定".into();
    let plan = check_step(&c, &rej, Role::VillageCadre, d(TODAY), &rules).unwrap();
    assert_eq!(plan.status, CaseStatus::Rejected);
    assert_eq!(Procedure::Elimination.rejected_label(), "不予消除");
}

#[test]
fn keys_round_trip() {
    for s in Step::ALL {
        assert_eq!(Step::from_key(s.key()), Some(*s));
        assert_eq!(Step::from_key(s.label()), Some(*s));
    }
    for p in Procedure::ALL {
        assert_eq!(Procedure::from_key(p.key()), Some(*p));
    }
}

#[test]
fn withdrawal_only_before_the_reviews() {
    let rules = ProcedureRules::default();
    let mut c = open_case(Procedure::Identification);
    assert!(c.may_withdraw(&rules));
    for &step in &Procedure::Identification.steps()[1..4] {
        let plan = check_step(&c, &input(step, "2022-03-30"), role_for(step), d(TODAY), &rules).unwrap();
        apply(&mut c, &plan, role_for(step));
    }
    // the data check is done: the appraisal is next, and the case can only be rejected now
    assert_eq!(c.next(&rules), Some(NextAction::Step { step: Step::Appraisal }));
    assert!(!c.may_withdraw(&rules));
}
