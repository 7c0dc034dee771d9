use chrono::{NaiveDate, Utc};
use domain::calendar::WorkCalendar;
use domain::params::{ParamName, PolicyParam};
use domain::ports::{HouseholdDetail, HouseholdRecord, MemberRecord};
use domain::rules::{Context, evaluate};
use domain::{HouseholdId, MemberId, RegionCode};

use super::*;

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 3, 28).unwrap()
}

/// The demo town's households as the store would return them.
fn town(households: usize) -> Vec<HouseholdDetail> {
    let opts = synth::GenOptions { seed: 7, households: Some(households), as_of: as_of() };
    let mut next_member = 0;
    synth::households(synth::Preset::Town, &opts)
        .enumerate()
        .map(|(i, h)| HouseholdDetail {
            record: HouseholdRecord {
                id: HouseholdId(i as i64 + 1),
                version: 1,
                household: h.household,
                import_id: None,
                created_at: Default::default(),
                updated_at: Default::default(),
            },
            members: h
                .members
                .into_iter()
                .enumerate()
                .map(|(s, member)| {
                    next_member += 1;
                    MemberRecord { id: MemberId(next_member), seq: s as i32 + 1, member }
                })
                .collect(),
            incomes: h.income.into_iter().collect(),
        })
        .collect()
}

fn params() -> Vec<PolicyParam> {
    vec![PolicyParam {
        year: 2022,
        region: RegionCode::from_u64(450_000_000_000).unwrap(),
        name: ParamName::MonitoringLine,
        version: 1,
        value: 650_000,
        example: true,
        note: String::new(),
        set_by: "test".into(),
        set_at: Utc::now(),
    }]
}

/// Counts computed the obvious way, household by household, for one region.
fn counted(details: &[HouseholdDetail], findings: &[Vec<domain::rules::Finding>], region: RegionCode) -> Counts {
    let mut c = Counts::default();
    for (d, f) in details.iter().zip(findings) {
        if region.contains(d.record.household.village) {
            c.apply(RowKey::of(d, f), 1);
        }
    }
    c
}

#[test]
fn the_pass_is_the_single_household_rules_on_every_household_in_order() {
    let details = town(3_000);
    let calendar = WorkCalendar::builtin();
    let params = params();
    let ctx = Context { as_of: as_of(), params: &params, calendar: &calendar };
    let snapshot = Snapshot::from_details(&details).unwrap();
    for threads in [1, 3] {
        let pass = snapshot.screen(&ctx, threads).unwrap();
        assert_eq!(pass.households, 3_000);
        // exactly the households with findings, in order, each with the single-household result
        let expected: Vec<_> =
            details.iter().map(|d| (d.record.id, evaluate(d, &ctx).unwrap())).filter(|(_, f)| !f.is_empty()).collect();
        let got: Vec<_> = pass.results.iter().map(|r| (r.household_id, r.findings.clone())).collect();
        assert_eq!(got, expected);
        assert!(expected.len() < 3_000, "some households have no finding");
        assert!(pass.findings() > 100, "the generated town has findings: {}", pass.findings());
    }
}

#[test]
fn roll_ups_equal_the_households_counted_one_by_one_and_stay_so_after_edits() {
    let mut details = town(2_000);
    let calendar = WorkCalendar::builtin();
    let params = params();
    let ctx = Context { as_of: as_of(), params: &params, calendar: &calendar };
    let mut snapshot = Snapshot::from_details(&details).unwrap();
    let pass = snapshot.screen(&ctx, 2).unwrap();
    snapshot.apply(&pass);
    let mut findings: Vec<_> = details.iter().map(|d| evaluate(d, &ctx).unwrap()).collect();
    assert_eq!(pass.findings(), findings.iter().map(Vec::len).sum::<usize>());

    let town = RegionCode::from_u64(450_203_100_000).unwrap();
    let village = details[0].record.household.village;
    let province = RegionCode::from_u64(450_000_000_000).unwrap();
    for region in [village, town, province] {
        assert_eq!(snapshot.rollup().get(region), Some(&counted(&details, &findings, region)), "{region}");
    }
    let all = snapshot.rollup().get(town).unwrap();
    assert_eq!(all.households, 2_000);
    assert!(all.findings[0] > 0 && all.status[1] > 0, "{all:?}");
    let children: Vec<_> = snapshot.rollup().children(town).collect();
    assert_eq!(children.len(), 13);
    assert_eq!(children.iter().map(|(_, c)| c.households).sum::<i64>(), 2_000);

    // edits: a household drops a member and loses its income; another moves to a village of
    // another town (a correction of its village); a new one arrives
    let other_village = RegionCode::from_u64(450_203_101_201).unwrap();
    details[5].members.truncate(1);
    details[5].incomes.clear();
    details[9].record.household.village = other_village;
    let mut newcomer = details[12].clone();
    newcomer.record.id = HouseholdId(99_999);
    details.push(newcomer);
    for i in [5, 9, details.len() - 1] {
        let f = snapshot.upsert(&details[i], &ctx).unwrap();
        assert_eq!(f, evaluate(&details[i], &ctx).unwrap());
        if i < findings.len() {
            findings[i] = f;
        } else {
            findings.push(f);
        }
    }
    let rebuilt = Rollup::build(details.iter().zip(&findings).map(|(d, f)| RowKey::of(d, f)));
    assert_eq!(snapshot.rollup(), &rebuilt, "maintained = rebuilt from scratch");
    assert_eq!(snapshot.rollup().get(town).unwrap().households, 2_000, "one left the town, one arrived");
    assert_eq!(snapshot.rollup().get(other_village).unwrap().households, 1);
    assert_eq!(snapshot.len(), 2_001);
    assert_eq!(snapshot.household(HouseholdId(99_999)).map(|d| d.unwrap().record.id), Some(HouseholdId(99_999)));

    // a pass under a far lower line: the households that no longer have a finding, absent from
    // its results, lose their findings in the roll-ups too
    let mut low = self::params();
    low[0].value = 1;
    let ctx_low = Context { as_of: as_of(), params: &low, calendar: &calendar };
    let before = snapshot.rollup().get(town).unwrap().findings[0];
    let pass = snapshot.screen(&ctx_low, 2).unwrap();
    snapshot.apply(&pass);
    let findings_low: Vec<_> = details.iter().map(|d| evaluate(d, &ctx_low).unwrap()).collect();
    let rebuilt = Rollup::build(details.iter().zip(&findings_low).map(|(d, f)| RowKey::of(d, f)));
    assert_eq!(snapshot.rollup(), &rebuilt, "after a pass with fewer findings");
    assert!(rebuilt.get(town).unwrap().findings[0] < before, "fewer households with findings");
}

#[test]
fn a_missing_parameter_names_the_household() {
    let details = town(50);
    let calendar = WorkCalendar::builtin();
    let ctx = Context { as_of: as_of(), params: &[], calendar: &calendar };
    let err = Snapshot::from_details(&details).unwrap().screen(&ctx, 2).unwrap_err();
    // the 户编号 users know, not the internal ID
    let named = details
        .iter()
        .any(|d| err.to_string().starts_with(&format!("无法筛查户 {}：", d.record.household.household_no)));
    assert!(named && err.to_string().contains("尚未设定监测范围"), "{err}");
}

#[test]
fn packed_households_read_back_equal_in_every_field() {
    use domain::codes::*;
    use domain::household::{DrinkingWater, Monitoring, OfficerContact, PersonName, Phone};
    let mut details = town(3_000);
    // one household with every optional field set, and unusual values where the format has cases
    let d = &mut details[0];
    d.record.import_id = Some(7);
    d.record.version = -3;
    d.record.created_at = chrono::DateTime::from_timestamp(1_648_429_200, 123_456_789).unwrap();
    d.record.updated_at = chrono::DateTime::from_timestamp(-86_400, 1).unwrap();
    let h = &mut d.record.household;
    h.group_no = u16::MAX;
    h.address = "广西柳州市鱼峰区雒容镇大正村3组8号".into();
    h.phone = Some(Phone::parse("0772-2673367").unwrap());
    h.exit_year = Some(2019);
    h.monitoring = Monitoring::Eliminated {
        category: MonitoringCategory::SuddenHardship,
        since: NaiveDate::from_ymd_opt(2021, 5, 6).unwrap(),
        mode: EliminationMode::ALL[EliminationMode::ALL.len() - 1],
        on: NaiveDate::from_ymd_opt(2022, 1, 2).unwrap(),
    };
    h.risks = RiskType::ALL.iter().copied().take(5).collect();
    h.disaster_kind = Some(DisasterKind::ALL[0]);
    h.housing_grade = Some(HousingGrade::ALL[HousingGrade::ALL.len() - 1]);
    h.water = DrinkingWater {
        safe: Some(false),
        quantity_ok: Some(true),
        quality_ok: None,
        convenience_ok: Some(false),
        reliability_ok: Some(true),
    };
    h.food_clothing_secure = Some(false);
    h.food_clothing_note = "冬衣不足".into();
    h.military_family = true;
    h.no_labour_safety_net = true;
    h.relocated = true;
    h.officer = Some(OfficerContact {
        name: PersonName::parse("阿卜杜·热合曼").unwrap(),
        unit: "鱼峰区农业农村局".into(),
        phone: Some(Phone::parse("13807721234").unwrap()),
    });
    h.declared_size = Some(0);
    let m = &mut d.members[0];
    m.seq = -1;
    m.member.national_id = domain::national_id::NationalId::parse("45020319900101001X21").unwrap();
    m.member.ethnicity = Ethnicity::parse(ETHNIC_GROUPS[ETHNIC_GROUPS.len() - 1]).unwrap();
    m.member.political_status = Some(PoliticalStatus::ALL[0]);
    m.member.disability_class = Some(DisabilityClass::ALL[DisabilityClass::ALL.len() - 1]);
    m.member.health = Health::from_conditions(&[HealthCondition::Chronic, HealthCondition::Disabled]);
    // beyond 12, but the store does not bound it, so neither may the packed form
    m.member.work_months = Some(255);
    m.member.work_place = "广东省深圳市".into();
    m.member.dropout_reason = "送教上门".into();
    m.member.resident_pension = Some(false);
    m.member.employee_pension = Some(true);
    m.member.dibao = true;
    m.member.tekun = true;
    d.incomes.push(domain::IncomeRecord { year: 2020, wage: domain::Fen(-1), ..Default::default() });

    // the next one has no phone and no officer, so the full one's are set aside and taken again
    details[1].record.household.phone = None;
    details[1].record.household.officer = None;

    let mut bytes = 0;
    // unpacked on their own, and one after another into the same memory: the full household
    // after plain ones and plain ones after it (an officer, phones, risks and members to drop)
    let mut scratch = packed::Scratch::default();
    let order = (0..details.len()).chain([0, 1, 0, 2]);
    for (n, d) in order.map(|k| &details[k]).enumerate() {
        let p = packed::pack(d).unwrap();
        if n < details.len() {
            bytes += p.len();
        }
        assert_eq!(&packed::unpack(&p).unwrap(), d, "household #{}", d.record.id.0);
        packed::unpack_into(&p, &mut scratch).unwrap();
        assert_eq!(&scratch.detail, d, "household #{} into reused memory", d.record.id.0);
    }
    let sizes: std::collections::BTreeSet<usize> = details.iter().map(|d| d.members.len()).collect();
    assert!(sizes.len() >= 4, "households of several sizes follow one another: {sizes:?}");
    // the budget that lets a province's 10 M households stay resident (issue 6: ≤ 4 GB)
    let per_household = bytes / details.len();
    assert!(per_household <= 320, "{per_household} bytes per household");

    // a value the format cannot carry is refused when packed, not changed
    details[1].record.import_id = Some(i64::MIN);
    let e = packed::pack(&details[1]).unwrap_err();
    assert_eq!(e.household, details[1].record.id.0);
    assert!(Snapshot::from_details(&details[1..2]).is_err());
}

#[test]
fn a_household_added_between_a_pass_and_its_apply_keeps_its_findings() {
    let details = town(300);
    let calendar = WorkCalendar::builtin();
    let params = params();
    let ctx = Context { as_of: as_of(), params: &params, calendar: &calendar };
    let mut snapshot = Snapshot::from_details(&details[..299]).unwrap();
    let pass = snapshot.screen(&ctx, 2).unwrap();
    let mut late = details.iter().find(|d| !evaluate(d, &ctx).unwrap().is_empty()).unwrap().clone();
    late.record.id = HouseholdId(5_000);
    assert!(!snapshot.upsert(&late, &ctx).unwrap().is_empty());
    snapshot.apply(&pass);
    let rebuilt =
        Rollup::build(details[..299].iter().chain([&late]).map(|d| RowKey::of(d, &evaluate(d, &ctx).unwrap())));
    assert_eq!(snapshot.rollup(), &rebuilt);
}

/// A store holding households in memory, for [`Snapshot::sync`].
struct Registry(std::sync::Mutex<Vec<HouseholdDetail>>);

impl domain::ports::ResidentSource for Registry {
    async fn household_versions(
        &self,
        after: Option<HouseholdId>,
        limit: u32,
    ) -> domain::ports::StoreResult<Vec<(HouseholdId, i64)>> {
        let mut v: Vec<_> = self.0.lock().unwrap().iter().map(|d| (d.record.id, d.record.version)).collect();
        v.sort();
        Ok(v.into_iter().filter(|(id, _)| after.is_none_or(|a| *id > a)).take(limit as usize).collect())
    }

    async fn households_by_ids(&self, ids: &[HouseholdId]) -> domain::ports::StoreResult<Vec<HouseholdDetail>> {
        Ok(self.0.lock().unwrap().iter().filter(|d| ids.contains(&d.record.id)).cloned().collect())
    }

    async fn record_findings_if_unchanged(
        &self,
        _: chrono::DateTime<Utc>,
        _: NaiveDate,
        _: Option<i64>,
        _: &[domain::ports::HouseholdFindings],
        _: &[i64],
    ) -> domain::ports::StoreResult<(domain::ports::FindingChanges, Vec<HouseholdId>)> {
        unreachable!("not asked in these tests")
    }

    async fn households_with_open_findings(
        &self,
        _: Option<RegionCode>,
    ) -> domain::ports::StoreResult<Vec<HouseholdId>> {
        unreachable!("not asked in these tests")
    }
}

/// Runs a future whose store answers at once (no I/O, nothing to wait for).
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[test]
fn a_sync_reads_again_only_what_moved_and_then_agrees_with_the_store() {
    let details = town(1_200);
    let calendar = WorkCalendar::builtin();
    let params = params();
    let ctx = Context { as_of: as_of(), params: &params, calendar: &calendar };
    let mut snapshot = Snapshot::from_details(&details).unwrap();
    snapshot.apply(&snapshot.screen(&ctx, 1).unwrap());
    let store = Registry(std::sync::Mutex::new(details.clone()));
    assert_eq!(ready(snapshot.sync(&store, &mut |_, _| {})).unwrap(), Synced { checked: 1_200, reread: 0 });

    // another process edits two households (one moves village) and adds one
    let other_village = details.iter().map(|d| d.record.household.village).max().unwrap();
    {
        let mut held = store.0.lock().unwrap();
        held[10].record.version += 1;
        held[10].record.household.declared_size = Some(9);
        held[20].record.version += 1;
        held[20].record.household.village = other_village;
        let mut new = held[30].clone();
        new.record.id = HouseholdId(9_000);
        held.push(new);
    }
    let mut seen = Vec::new();
    let done = ready(snapshot.sync(&store, &mut |n, of| seen.push((n, of)))).unwrap();
    assert_eq!(done, Synced { checked: 1_201, reread: 3 });
    assert_eq!(seen, [(1_201, 1_201), (0, 3)], "versions compared, then households read again");
    let held = store.0.lock().unwrap().clone();
    assert_eq!(snapshot.len(), 1_201);
    for d in &held {
        assert_eq!(&snapshot.household(d.record.id).unwrap().unwrap(), d);
    }
    // a pass after the sync sees the edits, and once applied the roll-ups count each household
    // once, where it now is, with its findings as of now
    let pass = snapshot.screen(&ctx, 2).unwrap();
    snapshot.apply(&pass);
    let rebuilt = Rollup::build(held.iter().map(|d| RowKey::of(d, &evaluate(d, &ctx).unwrap())));
    assert_eq!(snapshot.rollup(), &rebuilt);
    let expected: Vec<_> =
        held.iter().map(|d| (d.record.id, evaluate(d, &ctx).unwrap())).filter(|(_, f)| !f.is_empty()).collect();
    let mut got: Vec<_> = pass.results.iter().map(|r| (r.household_id, r.findings.clone())).collect();
    got.sort_by_key(|(id, _)| *id);
    let mut expected = expected;
    expected.sort_by_key(|(id, _)| *id);
    assert_eq!(got, expected);
}

#[test]
fn a_pass_within_a_region_screens_its_households_only_and_lists_the_clean_ones() {
    let details = town(2_000);
    let calendar = WorkCalendar::builtin();
    let params = params();
    let ctx = Context { as_of: as_of(), params: &params, calendar: &calendar };
    let mut snapshot = Snapshot::from_details(&details).unwrap();
    snapshot.apply(&snapshot.screen(&ctx, 2).unwrap());
    let village = details[0].record.household.village;
    let inside: Vec<_> = details.iter().filter(|d| village.contains(d.record.household.village)).collect();
    assert!(inside.len() < details.len(), "the town has more than one village");

    // the clean households asked about: every household of the town (those outside the village
    // must not be listed)
    let open: std::collections::HashSet<HouseholdId, FxBuild> = details.iter().map(|d| d.record.id).collect();
    let pass = snapshot.screen_within(&ctx, Some(village), 2, &open).unwrap();
    assert_eq!(pass.screened, inside.len());
    assert_eq!(pass.results.len() + pass.clean.len(), inside.len());
    assert_eq!(pass.versions.len(), pass.results.len());
    for r in pass.results.iter().chain(pass.clean.iter().map(|(r, _)| r)) {
        let d = inside.iter().find(|d| d.record.id == r.household_id).expect("a household of the village");
        assert_eq!(r.findings, evaluate(d, &ctx).unwrap());
        assert_eq!(r.village, village);
    }
    assert!(!pass.results.is_empty() && !pass.clean.is_empty());
    // only the clean households asked about are listed
    let some: std::collections::HashSet<HouseholdId, FxBuild> =
        pass.clean.iter().take(3).map(|(r, _)| r.household_id).collect();
    assert_eq!(snapshot.screen_within(&ctx, Some(village), 1, &some).unwrap().clean.len(), 3);

    // applying it clears the findings of the village's households that have none now and
    // nothing outside it: the village's households had a D-grade house each before the pass
    let mut worse = snapshot.screen(&ctx, 2).unwrap();
    let before = {
        let mut s = Snapshot::from_details(&details).unwrap();
        s.apply(&worse);
        s.rollup().clone()
    };
    let some_finding = worse.results[0].findings[0].clone();
    for d in &inside {
        if !worse.results.iter().any(|r| r.household_id == d.record.id) {
            worse.results.push(HouseholdFindings {
                household_id: d.record.id,
                village: d.record.household.village,
                findings: vec![some_finding.clone()],
            });
        }
    }
    snapshot.apply(&worse);
    assert_ne!(snapshot.rollup(), &before, "the village's clean households now count a finding");
    snapshot.apply(&pass);
    assert_eq!(snapshot.rollup(), &before);
}

#[test]
fn a_household_that_cannot_be_screened_does_not_stop_a_sync_or_another_regions_pass() {
    let details = town(200);
    let calendar = WorkCalendar::builtin();
    let params = params();
    let ctx = Context { as_of: as_of(), params: &params, calendar: &calendar };
    let mut snapshot = Snapshot::from_details(&details).unwrap();
    // a household imported in a region without a monitoring line (D2: no guessed value)
    let mut elsewhere = details[5].clone();
    elsewhere.record.id = HouseholdId(7_000);
    elsewhere.record.household.village = RegionCode::from_u64(110_105_001_001).unwrap();
    let store = Registry(std::sync::Mutex::new(details.iter().cloned().chain([elsewhere.clone()]).collect()));
    assert_eq!(ready(snapshot.sync(&store, &mut |_, _| {})).unwrap().reread, 1);
    let town = RegionCode::from_u64(450_203_100_000).unwrap();
    let pass = snapshot.screen_within(&ctx, Some(town), 2, &Default::default()).unwrap();
    assert_eq!(pass.screened, 200);
    // screening everything names it
    let err = snapshot.screen(&ctx, 2).unwrap_err().to_string();
    assert!(err.contains(elsewhere.record.household.household_no.as_str()), "{err}");
}
