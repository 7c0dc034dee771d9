//! The generated data: determinism, plans, distributions, domain rules, IDs and coherence.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use chrono::NaiveDate;
use domain::fields::check_household_fields;
use domain::member::check_household;
use domain::ports::IncomingHousehold;
use domain::{
    Fen, HealthCondition, HouseholdKind, Monitoring, MonitoringCategory, NationalId, RegionCode, RegionLevel, Relation,
    RiskType, SchoolStatus, Sex,
};
use synth::{GenOptions, Preset, households, regions, village_plan};

fn as_of() -> NaiveDate {
    GenOptions::default().as_of
}

/// 20,000 households of the town (the distributions and rules sample), generated once.
fn sample() -> &'static [IncomingHousehold] {
    static SAMPLE: OnceLock<Vec<IncomingHousehold>> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let options = GenOptions { households: Some(20_000), ..GenOptions::default() };
        households(Preset::Town, &options).collect()
    })
}

fn share(part: usize, whole: usize) -> f64 {
    part as f64 / whole as f64
}

fn assert_between(what: &str, value: f64, lo: f64, hi: f64) {
    assert!((lo..=hi).contains(&value), "{what} = {value:.5}, expected {lo}–{hi}");
}

fn age(id: &NationalId) -> i32 {
    id.age_on(as_of())
}

#[test]
fn preset_names_parse() {
    for p in Preset::ALL {
        assert_eq!(p.name().parse::<Preset>(), Ok(p));
        assert_eq!(p.to_string(), p.name());
    }
    assert_eq!(" M1 ".parse::<Preset>(), Ok(Preset::M1));
    assert!("city".parse::<Preset>().unwrap_err().to_string().contains("city"));
}

#[test]
fn same_seed_same_data_other_seed_other_data() {
    let first: Vec<_> = households(Preset::Town, &GenOptions::default()).take(300).collect();
    let again: Vec<_> = households(Preset::Town, &GenOptions::default()).take(300).collect();
    assert_eq!(first, again);
    let other: Vec<_> =
        households(Preset::Town, &GenOptions { seed: 2023, ..GenOptions::default() }).take(300).collect();
    assert_ne!(first, other);
    let differing = first.iter().zip(&other).filter(|(a, b)| a.members != b.members).count();
    assert!(differing > 290, "only {differing} of 300 households differ");
    // the plan is the preset's, not the seed's
    assert_eq!(
        village_plan(Preset::Town, &GenOptions::default()),
        village_plan(Preset::Town, &GenOptions { seed: 9, ..GenOptions::default() })
    );
}

/// FNV-1a over the facts that identify a data set. Pinned: a change means every demo database and
/// benchmark built from this version differs, so bump it on purpose and say so in the changelog.
#[test]
fn town_data_is_pinned() {
    let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
    let mut feed = |text: &str| {
        for b in text.bytes().chain([0xFF]) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
        }
    };
    for h in households(Preset::Town, &GenOptions::default()).take(500) {
        let hh = &h.household;
        feed(hh.household_no.as_str());
        feed(&hh.address);
        feed(&hh.monitoring.describe());
        feed(&hh.encode_risks());
        feed(&h.income.map(|r| r.net().0.to_string()).unwrap_or_default());
        for m in &h.members {
            feed(m.name.as_str());
            feed(m.national_id.as_str());
            feed(m.relation.label());
            feed(&m.health.to_string());
        }
    }
    assert_eq!(hash, 15_821_024_729_156_901_813, "generated data changed");
}

#[test]
fn town_is_luorong() {
    assert_eq!(regions(Preset::Town), domain::region::luorong_regions());
    let plan = village_plan(Preset::Town, &GenOptions::default());
    let codes: Vec<String> = plan.iter().map(|(c, _)| c.to_string()).collect();
    let expected: Vec<String> = (201..=213).map(|v| format!("450203100{v}")).collect();
    assert_eq!(codes, expected);
    assert_eq!(plan.iter().map(|(_, n)| n).sum::<usize>(), 12_000);
    assert!(plan.iter().all(|(_, n)| (850..=1_010).contains(n)), "{plan:?}");

    let all = households(Preset::Town, &GenOptions::default());
    assert_eq!(all.len(), 12_000);
    let mut per_village: HashMap<RegionCode, usize> = HashMap::new();
    let mut groups: HashMap<RegionCode, HashSet<u16>> = HashMap::new();
    for h in all {
        *per_village.entry(h.household.village).or_default() += 1;
        groups.entry(h.household.village).or_default().insert(h.household.group_no);
    }
    for (code, n) in &plan {
        assert_eq!(per_village[code], *n);
        let g = &groups[code];
        assert!((5..=15).contains(&g.len()) && g.iter().all(|n| *n >= 1), "{code}: groups {g:?}");
        assert_eq!(g.len(), *g.iter().max().unwrap() as usize, "{code}: group numbers are 1..=n");
    }
}

#[test]
fn household_numbers_and_order() {
    let mut seen = HashSet::new();
    let mut previous: Option<(RegionCode, u16, String)> = None;
    for h in sample() {
        let h = &h.household;
        let no = h.household_no.as_str();
        assert_eq!(no.len(), 16);
        assert!(no.starts_with(&h.village.to_string()));
        assert!(seen.insert(no.to_string()), "duplicate 户编号 {no}");
        let key = (h.village, h.group_no, no.to_string());
        if let Some(p) = &previous {
            assert!(*p < key, "{p:?} then {key:?}");
        }
        previous = Some(key);
        let village = domain::region::LUORONG_VILLAGES[(h.village.as_u64() % 1000 - 201) as usize];
        assert!(h.address.starts_with(&format!("广西柳州市鱼峰区雒容镇{village}{}组", h.group_no)), "{}", h.address);
        assert!(h.address.ends_with('号'));
    }
}

#[test]
fn every_household_passes_the_domain_rules() {
    for h in sample() {
        let members: Vec<_> = h.members.iter().collect();
        assert_eq!(h.household.declared_size, Some(h.members.len() as u16));
        assert_eq!(check_household(&members, h.household.declared_size), vec![], "{:?}", h.household.household_no);
        assert_eq!(check_household_fields(&h.household), vec![], "{:?}", h.household.household_no);
    }
}

#[test]
fn distributions() {
    let hs = sample();
    let n = hs.len();
    assert_eq!(n, 20_000);
    let members: Vec<_> = hs.iter().flat_map(|h| &h.members).collect();

    let mean_size = share(members.len(), n);
    assert_between("mean household size", mean_size, 3.6, 3.8);
    let singles = hs.iter().filter(|h| h.members.len() == 1).count();
    assert_between("one-person households", share(singles, n), 0.085, 0.115);
    assert!(hs.iter().all(|h| (1..=8).contains(&h.members.len())));

    let exited = hs.iter().filter(|h| h.household.kind == HouseholdKind::PovertyExited).count();
    assert_between("脱贫户", share(exited, n), 0.20, 0.235);
    let category = |c| hs.iter().filter(|h| h.household.monitoring.category() == Some(c)).count();
    let monitored = hs.iter().filter(|h| h.household.monitoring.ever_monitored()).count();
    assert_between("monitored", share(monitored, n), 0.027, 0.039);
    assert_between("脱贫不稳定户", share(category(MonitoringCategory::UnstableExited), n), 0.011, 0.019);
    assert_between("边缘易致贫户", share(category(MonitoringCategory::MarginalAtRisk), n), 0.011, 0.019);
    assert_between("突发严重困难户", share(category(MonitoringCategory::SuddenHardship), n), 0.0012, 0.005);
    let eliminated = hs.iter().filter(|h| matches!(h.household.monitoring, Monitoring::Eliminated { .. })).count();
    assert_between("eliminated among monitored", share(eliminated, monitored), 0.12, 0.28);

    let pupils: Vec<_> = members.iter().filter(|m| (7..=14).contains(&age(&m.national_id))).collect();
    let dropouts = pupils.iter().filter(|m| m.school_status.is_none()).count();
    let pupils = pupils.len();
    assert!(pupils > 5_000, "{pupils} children aged 7–14");
    assert_between("dropouts among ages 7–14", share(dropouts, pupils), 0.0002, 0.006);

    let uninsured = members.iter().filter(|m| m.uninsured()).count();
    assert_between("uninsured", share(uninsured, members.len()), 0.007, 0.013);
    let employee = members.iter().filter(|m| m.employee_medical).count();
    assert_between("employee medical insurance", share(employee, members.len()), 0.01, 0.05);
    let has = |c| members.iter().filter(|m| m.health.has(c)).count();
    assert_between("disabled", share(has(HealthCondition::Disabled), members.len()), 0.024, 0.036);
    assert_between("chronic", share(has(HealthCondition::Chronic), members.len()), 0.065, 0.095);
    assert_between("大病", share(has(HealthCondition::SeriousIllness), members.len()), 0.006, 0.016);

    let unsafe_housing = hs.iter().filter(|h| h.household.housing_grade.is_some_and(|g| g.is_unsafe())).count();
    assert_between("C/D housing", share(unsafe_housing, n), 0.0025, 0.008);
    let unsafe_water = hs.iter().filter(|h| h.household.water.safe == Some(false)).count();
    assert_between("unsafe water", share(unsafe_water, n), 0.001, 0.006);
    let phones = hs.iter().filter(|h| h.household.phone.is_some()).count();
    assert_between("households with a phone", share(phones, n), 0.88, 0.96);

    let ethnic = |name: &str| members.iter().filter(|m| m.ethnicity.as_str() == name).count();
    assert_between("汉族", share(ethnic("汉族"), members.len()), 0.42, 0.58);
    assert_between("壮族", share(ethnic("壮族"), members.len()), 0.34, 0.5);
    assert!(ethnic("瑶族") > 0 && ethnic("苗族") > 0 && ethnic("侗族") > 0 && ethnic("仫佬族") > 0);
}

#[test]
fn income_medians_and_items() {
    let mut per_class: HashMap<&str, Vec<i64>> = HashMap::new();
    for h in sample() {
        let r = h.income.expect("every household has an income record");
        assert_eq!(r.year, 2021);
        for item in [r.wage, r.business, r.property, r.transfer, r.business_cost, r.out_of_pocket, r.insurance_payout] {
            assert!(item >= Fen::ZERO && item.0 % 100 == 0, "{r:?}");
        }
        assert!(r.insurance_payout <= r.out_of_pocket && r.business_cost <= r.business);
        let pc = r.net_per_capita(h.members.len() as u32).unwrap().0 / 100;
        let class = match (h.household.monitoring.ever_monitored(), h.household.kind) {
            (true, _) => "monitored",
            (false, HouseholdKind::Ordinary) => "ordinary",
            (false, HouseholdKind::PovertyExited) => "exited",
        };
        per_class.entry(class).or_default().push(pc);
        let ill = h.members.iter().any(|m| m.health.has(HealthCondition::SeriousIllness));
        if ill {
            assert!(r.out_of_pocket >= Fen::from_yuan(8_000));
        }
    }
    let median = |v: &mut Vec<i64>| {
        v.sort_unstable();
        v[v.len() / 2] as f64
    };
    assert_between("ordinary median", median(per_class.get_mut("ordinary").unwrap()), 15_200.0, 16_800.0);
    assert_between("脱贫 median", median(per_class.get_mut("exited").unwrap()), 13_300.0, 14_700.0);
    assert_between("monitored median", median(per_class.get_mut("monitored").unwrap()), 7_600.0, 9_400.0);
    // σ 0.45: the middle half spans e^(±0.674·0.45) ≈ ×0.74 … ×1.35 around the median
    let ordinary = per_class.get_mut("ordinary").unwrap();
    let (q1, q3) = (ordinary[ordinary.len() / 4] as f64, ordinary[ordinary.len() * 3 / 4] as f64);
    assert_between("ordinary Q3/Q1", q3 / q1, 1.7, 1.95);
}

#[test]
fn members_are_coherent() {
    for h in sample() {
        let ms = &h.members;
        let head = &ms[0];
        assert_eq!(head.relation, Relation::Head, "the head comes first");
        let head_age = age(&head.national_id);
        assert!((18..=100).contains(&head_age));
        for m in ms {
            let a = age(&m.national_id);
            assert!((0..=100).contains(&a));
            assert_eq!(&m.national_id.id18()[..6], "450203");
            let gap = head_age - a;
            match m.relation {
                Relation::Spouse => {
                    assert_ne!(m.sex, head.sex, "spouse of the same sex in {}", h.household.household_no);
                    assert!(a >= 18);
                }
                Relation::Son | Relation::Daughter => assert!(gap >= 15, "child {a}, head {head_age}"),
                Relation::Grandson | Relation::Granddaughter => assert!(gap >= 36, "grandchild {a}, head {head_age}"),
                Relation::Father | Relation::Mother => assert!(gap <= -18, "parent {a}, head {head_age}"),
                _ => {}
            }
            if matches!(m.relation, Relation::Son | Relation::Grandson | Relation::Father) {
                assert_eq!(m.sex, Sex::Male);
            }
            if matches!(
                m.relation,
                Relation::Daughter | Relation::Granddaughter | Relation::Mother | Relation::DaughterInLaw
            ) {
                assert_eq!(m.sex, Sex::Female);
            }

            // school and education by age
            if a < 3 {
                assert_eq!(m.school_status, Some(SchoolStatus::Preschooler));
            }
            if (7..=14).contains(&a) {
                match m.school_status {
                    Some(s) => assert!(s.is_compulsory(), "{a}: {s:?}"),
                    None => assert!(!m.dropout_reason.is_empty() && m.education.is_some()),
                }
            }
            if a >= 25 {
                assert!(m.education.is_some(), "adult {a} still in school");
            }
            if m.dropout_reason.is_empty() {
                assert!(m.school_status.is_some() || a >= 15);
            }
            // labour and work
            if !(16..=75).contains(&a) || m.school_status.is_some() {
                assert_eq!(m.labour_skill, domain::LabourSkill::None);
            }
            if (16..=59).contains(&a) && m.health == domain::Health::healthy() && m.school_status.is_none() {
                assert!(m.labour_skill.is_able() && m.labour_skill != domain::LabourSkill::Weak);
            }
            assert_eq!(m.work_months.is_some_and(|w| w > 0), !m.work_place.is_empty());
            if m.work_months.is_some() {
                assert!(matches!(m.labour_skill, domain::LabourSkill::Ordinary | domain::LabourSkill::Skilled));
            }
            assert!(!(m.resident_medical && m.employee_medical));
            assert_eq!(m.resident_pension.is_some(), a >= 16 && m.school_status.is_none());
            assert_eq!(m.disability_class.is_some(), m.health.has(HealthCondition::Disabled));
            assert!(!(m.dibao && m.tekun));
            let name = m.name.as_str();
            assert!((2..=3).contains(&name.chars().count()), "{name}");
        }
        if h.household.no_labour_safety_net {
            assert!(ms.iter().all(|m| !m.labour_skill.is_able()) && (ms[0].dibao || ms[0].tekun));
        }
    }
}

#[test]
fn monitoring_records() {
    let first = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    for h in sample() {
        let hh = &h.household;
        match hh.monitoring {
            Monitoring::Never => {
                assert!(hh.risks.is_empty() && hh.officer.is_none() && hh.disaster_kind.is_none());
            }
            Monitoring::Monitored { since, .. } => assert!(since >= first && since < as_of()),
            Monitoring::Eliminated { since, on, .. } => {
                assert!(since >= first && on < as_of() && on >= since + chrono::Duration::days(180));
            }
        }
        if hh.monitoring.ever_monitored() {
            assert!((1..=3).contains(&hh.risks.len()));
            let distinct: HashSet<_> = hh.risks.iter().collect();
            assert_eq!(distinct.len(), hh.risks.len());
            let officer = hh.officer.as_ref().expect("monitored households have an officer");
            assert!(officer.phone.is_some() && !officer.unit.is_empty());
            if hh.risks.contains(&RiskType::Illness) {
                assert!(
                    h.members.iter().any(
                        |m| m.health.has(HealthCondition::Chronic) || m.health.has(HealthCondition::SeriousIllness)
                    )
                );
            }
            if hh.risks.contains(&RiskType::Disability) {
                assert!(h.members.iter().any(|m| m.health.has(HealthCondition::Disabled)));
            }
        }
        assert_eq!(hh.disaster_kind.is_some(), hh.risks.contains(&RiskType::NaturalDisaster));
        if let Some(y) = hh.exit_year {
            assert!((2014..=2020).contains(&y));
        }
    }
}

/// IDs of one data set: 60,000 households of one county (≈ 220,000 members sharing one address
/// code), and separately 4,000 households spread over four counties.
#[test]
fn ids_are_valid_and_unique() {
    let county = households(Preset::County, &GenOptions::default()).take(60_000);
    assert!(check_ids(county) >= 200_000);
    let spread = households(Preset::M1, &GenOptions { households: Some(4_000), ..GenOptions::default() });
    assert!(check_ids(spread) >= 14_000);
}

/// Checks every ID; returns how many there were.
fn check_ids(hs: impl Iterator<Item = IncomingHousehold>) -> usize {
    let mut seen = HashSet::new();
    let mut count = 0;
    for h in hs {
        let county_code = &h.household.village.to_string()[..6];
        for m in &h.members {
            let id = &m.national_id;
            assert!(id.is_checksum_valid());
            assert_eq!(id.as_str().len(), 18);
            assert_eq!(&id.as_str()[..6], county_code);
            assert_eq!(id.sex(), m.sex);
            assert!(seen.insert(id.key()), "duplicate ID {id}");
            count += 1;
        }
    }
    count
}

#[test]
fn county_region_tree() {
    let rs = regions(Preset::County);
    let codes: HashSet<RegionCode> = rs.iter().map(|r| r.code).collect();
    assert_eq!(codes.len(), rs.len(), "codes are unique");
    let mut sibling_names = HashSet::new();
    for r in &rs {
        match r.code.parent() {
            None => assert_eq!(r.code.to_string(), "450000000000"),
            Some(p) => assert!(codes.contains(&p), "parent of {} missing", r.code),
        }
        assert!(sibling_names.insert((r.code.parent(), r.name.clone())), "{} twice under one parent", r.name);
        let segment = |from: usize| r.code.to_string()[from..from + 3].parse::<u32>().unwrap();
        match r.level() {
            RegionLevel::Town => assert!((100..200).contains(&segment(6)) && r.name.ends_with('镇')),
            RegionLevel::Village => assert!((200..300).contains(&segment(9)) && r.name.ends_with('村')),
            RegionLevel::County => assert!(r.name.ends_with('县')),
            _ => {}
        }
    }
    let count = |l| rs.iter().filter(|r| r.level() == l).count();
    assert_eq!(count(RegionLevel::County), 1);
    assert!((12..=15).contains(&count(RegionLevel::Town)));

    let plan = village_plan(Preset::County, &GenOptions::default());
    assert_eq!(plan.iter().map(|(_, n)| n).sum::<usize>(), 250_000);
    assert_eq!(plan.len(), count(RegionLevel::Village));
    assert!(plan.iter().all(|(c, n)| codes.contains(c) && (990..=1_520).contains(n)));
    assert!(plan.windows(2).all(|w| w[0].0 < w[1].0));
}

#[test]
fn larger_presets_and_overrides() {
    for (preset, counties) in [(Preset::M1, 4), (Preset::Province, 44)] {
        let rs = regions(preset);
        assert_eq!(rs.iter().filter(|r| r.level() == RegionLevel::County).count(), counties);
        let plan = village_plan(preset, &GenOptions::default());
        assert_eq!(plan.iter().map(|(_, n)| n).sum::<usize>(), preset.default_households());
    }
    let options = GenOptions { households: Some(1_000), ..GenOptions::default() };
    let plan = village_plan(Preset::Province, &options);
    assert_eq!(plan.iter().map(|(_, n)| n).sum::<usize>(), 1_000);
    let hs = households(Preset::Province, &options);
    assert_eq!(hs.len(), 1_000);
    let generated: Vec<_> = hs.collect();
    assert_eq!(generated.len(), 1_000);
    let villages: HashSet<_> = generated.iter().map(|h| h.household.village).collect();
    assert!(villages.len() > 100, "spread over the province");
    assert_eq!(households(Preset::County, &GenOptions { households: Some(0), ..GenOptions::default() }).count(), 0);
    // a village with more than 9,999 households gets a wider serial
    let big = GenOptions { households: Some(140_000), ..GenOptions::default() };
    let h = households(Preset::Town, &big).next().unwrap();
    assert_eq!(h.household.household_no.as_str(), "45020310020100001");
}

/// Generation speed (release build, one thread):
/// `cargo test --release -p synth -- --ignored --nocapture generation_speed`
#[test]
#[ignore]
fn generation_speed() {
    let options = GenOptions { households: Some(1_000_000), ..GenOptions::default() };
    let start = std::time::Instant::now();
    let mut members = 0usize;
    let mut n = 0usize;
    for h in households(Preset::M1, &options) {
        members += h.members.len();
        n += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{n} households, {members} members in {secs:.2} s: {:.0} households/s", n as f64 / secs);
    assert_eq!(n, 1_000_000);
}
