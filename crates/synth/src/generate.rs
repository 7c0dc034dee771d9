//! One household at a time: composition, members, monitoring, conditions and income.
//!
//! Shares follow `BENCHMARKS.md` ("Synthetic data"); where it is silent the numbers below are
//! plausible choices, named in place.

use std::fmt::Write as _;

use chrono::{Datelike, Duration, NaiveDate};
use domain::ports::IncomingHousehold;
use domain::{
    DisabilityClass, DisasterKind, DrinkingWater, Education, EliminationMode, Ethnicity, Fen, Health, HealthCondition,
    Household, HouseholdKind, HouseholdNo, HousingGrade, IncomeRecord, LabourSkill, Member, Monitoring,
    MonitoringCategory, NationalId, OfficerContact, PersonName, Phone, PoliticalStatus, RegionCode, Relation, RiskType,
    SchoolStatus, Sex,
};

use crate::GenOptions;
use crate::ids::{Calendar, IdAllocator, MAX_AGE, MAX_HOUSEHOLDS_PER_COUNTY, id18};
use crate::names::{DROPOUT_REASONS, WORK_PLACES, person_name, surname};
use crate::rng::{Rng, seed_of};
use crate::tree::Plan;

/// Stream tags, so that village-level and household-level draws never share a stream.
const TAG_GROUPS: u64 = 1;
const TAG_HOUSEHOLD: u64 = 2;

/// Household size 1–8 (BENCHMARKS: mean 3.7).
const SIZE_WEIGHTS: &[(u32, u32)] = &[(1, 10), (2, 17), (3, 20), (4, 22), (5, 16), (6, 9), (7, 4), (8, 2)];

/// Kind and monitoring category, per 10,000 households. BENCHMARKS lists 77 / 20 / 1.5 / 1.5 /
/// 0.3 %, which sums to 100.3 %: the ordinary never-monitored share takes the 0.3 % back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Ordinary,
    Exited,
    Unstable,
    Marginal,
    Sudden,
}
const CLASS_WEIGHTS: &[(Class, u32)] = &[
    (Class::Ordinary, 7_670),
    (Class::Exited, 2_000),
    (Class::Unstable, 150),
    (Class::Marginal, 150),
    (Class::Sudden, 30),
];

const EXIT_YEARS: &[(i32, u32)] = &[(2014, 8), (2015, 10), (2016, 16), (2017, 18), (2018, 20), (2019, 18), (2020, 10)];

const RISKS_GRADUAL: &[(RiskType, u32)] = &[
    (RiskType::Illness, 30),
    (RiskType::Disability, 15),
    (RiskType::LackOfLabour, 12),
    (RiskType::UnstableEmployment, 12),
    (RiskType::Schooling, 10),
    (RiskType::NaturalDisaster, 6),
    (RiskType::Accident, 6),
    (RiskType::FailedEnterprise, 6),
    (RiskType::Other, 3),
];
const RISKS_SUDDEN: &[(RiskType, u32)] = &[
    (RiskType::Illness, 40),
    (RiskType::Accident, 25),
    (RiskType::NaturalDisaster, 20),
    (RiskType::UnstableEmployment, 10),
    (RiskType::Other, 5),
];
/// Guangxi's disasters are mostly floods.
const DISASTERS: &[(DisasterKind, u32)] = &[
    (DisasterKind::Flood, 50),
    (DisasterKind::Geological, 15),
    (DisasterKind::Meteorological, 15),
    (DisasterKind::Drought, 10),
    (DisasterKind::Biological, 5),
    (DisasterKind::Other, 5),
];
const DISABILITIES: &[(DisabilityClass, u32)] = &[
    (DisabilityClass::Physical, 45),
    (DisabilityClass::Visual, 12),
    (DisabilityClass::Hearing, 12),
    (DisabilityClass::Intellectual, 10),
    (DisabilityClass::Mental, 10),
    (DisabilityClass::Multiple, 8),
    (DisabilityClass::Speech, 3),
];
const ETHNICITIES: &[(&str, u32)] = &[("汉族", 50), ("壮族", 42), ("瑶族", 3), ("苗族", 2), ("侗族", 2), ("仫佬族", 1)];

const HIGH_SCHOOL: [SchoolStatus; 3] =
    [SchoolStatus::HighSchool1, SchoolStatus::HighSchool2, SchoolStatus::HighSchool3];
const VOCATIONAL: [SchoolStatus; 3] = [SchoolStatus::Vocational1, SchoolStatus::Vocational2, SchoolStatus::Vocational3];
const HIGHER_VOCATIONAL: [SchoolStatus; 3] =
    [SchoolStatus::HigherVocational1, SchoolStatus::HigherVocational2, SchoolStatus::HigherVocational3];
const UNDERGRADUATE: [SchoolStatus; 4] = [
    SchoolStatus::Undergraduate1,
    SchoolStatus::Undergraduate2,
    SchoolStatus::Undergraduate3,
    SchoolStatus::Undergraduate4,
];

/// Health conditions a monitored household's risks require of one of its members.
const FORCE_CHRONIC: u8 = 1;
const FORCE_SERIOUS: u8 = 2;
const FORCE_DISABLED: u8 = 4;

/// What the generator needs to know about a village, prepared once.
#[derive(Debug)]
struct VillageCtx {
    code: RegionCode,
    address6: u32,
    households: usize,
    /// "广西柳州市鱼峰区雒容镇大正村".
    address_prefix: String,
    /// "广西柳州市" and "广西柳州市鱼峰区": work places near home.
    local_city: String,
    local_county: String,
    officer_units: Vec<String>,
}

/// Position inside the current village.
#[derive(Debug)]
struct Cursor {
    village: usize,
    /// Cumulative household counts per group.
    group_ends: Vec<usize>,
    group: usize,
    serial: usize,
    width: usize,
}

/// The household stream returned by [`crate::households`].
pub struct Households {
    villages: Vec<VillageCtx>,
    next_village: usize,
    cursor: Option<Cursor>,
    remaining: usize,
    generator: Generator,
}

struct Generator {
    seed: u64,
    as_of: NaiveDate,
    calendar: Calendar,
    ids: IdAllocator,
    ethnicities: Vec<Ethnicity>,
    /// (index into `ethnicities`, weight).
    ethnicity_index: Vec<(usize, u32)>,
}

impl Households {
    pub(crate) fn new(plan: Plan, sizes: Vec<(RegionCode, usize)>, options: &GenOptions) -> Self {
        let villages: Vec<VillageCtx> = plan
            .villages
            .iter()
            .zip(&sizes)
            .map(|(v, (_, n))| VillageCtx {
                code: v.code,
                address6: (v.code.as_u64() / 1_000_000) as u32,
                households: *n,
                address_prefix: format!("广西{}{}{}{}", v.city, v.county, v.town, v.village),
                local_city: format!("广西{}", v.city),
                local_county: format!("广西{}{}", v.city, v.county),
                officer_units: vec![
                    format!("{}人民政府", v.town),
                    format!("{}农业农村综合服务中心", v.town),
                    format!("{}社会保障服务中心", v.town),
                    format!("{}村民委员会", v.village),
                    format!("{}农业农村局", v.county),
                    format!("{}人力资源和社会保障局", v.county),
                    format!("{}教育局", v.county),
                    format!("{}卫生健康局", v.county),
                    format!("{}民政局", v.county),
                    format!("{}乡村振兴局", v.county),
                ],
            })
            .collect();
        let mut per_county: Vec<(u32, usize)> = Vec::new();
        for v in &villages {
            match per_county.last_mut() {
                Some((a, n)) if *a == v.address6 => *n += v.households,
                _ => per_county.push((v.address6, v.households)),
            }
        }
        if let Some((a, n)) = per_county.iter().find(|(_, n)| *n > MAX_HOUSEHOLDS_PER_COUNTY) {
            panic!("{n} households in county {a:06}: the unique-ID scheme allows {MAX_HOUSEHOLDS_PER_COUNTY}");
        }
        let calendar = Calendar::new(options.as_of);
        let ids = IdAllocator::new(calendar.days());
        let ethnicities =
            ETHNICITIES.iter().map(|(name, _)| Ethnicity::parse(name).expect("known ethnic group")).collect();
        let ethnicity_index = ETHNICITIES.iter().enumerate().map(|(i, (_, w))| (i, *w)).collect();
        Households {
            remaining: villages.iter().map(|v| v.households).sum(),
            villages,
            next_village: 0,
            cursor: None,
            generator: Generator {
                seed: options.seed,
                as_of: options.as_of,
                calendar,
                ids,
                ethnicities,
                ethnicity_index,
            },
        }
    }

    /// Moves to the next village that has households; false at the end.
    fn open_next_village(&mut self) -> bool {
        while self.next_village < self.villages.len() {
            let index = self.next_village;
            self.next_village += 1;
            let v = &self.villages[index];
            if v.households == 0 {
                continue;
            }
            if self.generator.ids.address6() != v.address6 {
                self.generator.ids.reset(v.address6);
            }
            let mut rng = Rng::new(seed_of(&[self.generator.seed, TAG_GROUPS, v.code.as_u64()]));
            // 5–15 村民小组 of uneven size, each with at least one household.
            let groups = (rng.range(5, 15) as usize).min(v.households);
            let mut extra: Vec<usize> = (0..groups).map(|_| rng.range(60, 140) as usize).collect();
            crate::tree::rescale(&mut extra, v.households - groups);
            let mut group_ends = Vec::with_capacity(groups);
            let mut total = 0;
            for e in extra {
                total += e + 1;
                group_ends.push(total);
            }
            let width = v.households.to_string().len().max(4);
            self.cursor = Some(Cursor { village: index, group_ends, group: 0, serial: 0, width });
            return true;
        }
        false
    }
}

impl Iterator for Households {
    type Item = IncomingHousehold;

    fn next(&mut self) -> Option<IncomingHousehold> {
        loop {
            if let Some(c) = &mut self.cursor
                && c.serial < self.villages[c.village].households
            {
                while c.serial >= c.group_ends[c.group] {
                    c.group += 1;
                }
                let start = if c.group == 0 { 0 } else { c.group_ends[c.group - 1] };
                let v = &self.villages[c.village];
                let h = self.generator.household(v, c.group as u16 + 1, c.serial, c.serial - start, c.width);
                c.serial += 1;
                self.remaining -= 1;
                return Some(h);
            }
            if !self.open_next_village() {
                return None;
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Households {}

impl std::fmt::Debug for Households {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Households")
            .field("seed", &self.generator.seed)
            .field("as_of", &self.generator.as_of)
            .field("villages", &self.villages.len())
            .field("remaining", &self.remaining)
            .finish()
    }
}

/// A household member before the details: who they are to the head, sex, age, surname.
#[derive(Debug, Clone, Copy)]
struct Person {
    relation: Relation,
    male: bool,
    age: u32,
    surname: &'static str,
    force: u8,
}

/// Up to eight people without allocating.
#[derive(Debug)]
struct People {
    items: [Person; 8],
    len: usize,
}

impl People {
    fn push(&mut self, relation: Relation, male: bool, age: u32) {
        self.items[self.len] = Person { relation, male, age: age.min(MAX_AGE), surname: "", force: 0 };
        self.len += 1;
    }

    fn as_mut_slice(&mut self) -> &mut [Person] {
        &mut self.items[..self.len]
    }
}

/// Relations and ages of a household of `size`: one head (≥ 20), usually a spouse of the other
/// sex, children of plausible ages, sometimes the head's parents or a son's family with
/// grandchildren (often 留守儿童 whose parents work away, so a grandchild needs no parent present).
fn compose(rng: &mut Rng, size: u32) -> People {
    let blank = Person { relation: Relation::Other, male: true, age: 0, surname: "", force: 0 };
    let mut p = People { items: [blank; 8], len: 0 };
    let head_age = match size {
        // many one-person households are old people living alone
        1 if rng.chance(0.65) => rng.range(60, 92),
        1 => rng.range(20, 59),
        2 if rng.chance(0.55) => rng.range(55, 88),
        2 => rng.range(24, 54),
        _ => (rng.range(26, 74) + rng.range(26, 74)) / 2,
    };
    let head_male = rng.chance(if size == 1 { 0.6 } else { 0.88 });
    p.push(Relation::Head, head_male, head_age);
    let mut rest = size - 1;

    let mut younger = head_age;
    if rest > 0 && rng.chance(if size == 2 { 0.75 } else { 0.87 }) {
        let age = if head_male { head_age + 1 - rng.range(0, 6) } else { head_age - 1 + rng.range(0, 6) };
        let age = age.max(18);
        p.push(Relation::Spouse, !head_male, age);
        younger = younger.min(age);
        rest -= 1;
    }

    if rest > 0 && head_age <= 58 && rng.chance(0.25) {
        let father = head_age + rng.range(22, 34);
        if father <= 95 && rng.chance(0.6) {
            p.push(Relation::Father, true, father);
            rest -= 1;
        }
        if rest > 0 && rng.chance(0.8) {
            p.push(Relation::Mother, false, (head_age + rng.range(20, 32)).min(98));
            rest -= 1;
        }
    }

    if rest >= 2 && younger >= 46 && rng.chance(0.5) {
        let son = younger - rng.range(21, 28);
        p.push(Relation::Son, true, son);
        rest -= 1;
        if rest >= 2 && rng.chance(0.75) {
            p.push(Relation::DaughterInLaw, false, (son + 2 - rng.range(0, 4)).max(18));
            rest -= 1;
        }
        let oldest_grandchild = son.saturating_sub(20).min(25);
        let keep = u32::from(rest >= 2 && rng.chance(0.25));
        for _ in 0..rest - keep {
            let male = rng.chance(0.52);
            p.push(
                if male { Relation::Grandson } else { Relation::Granddaughter },
                male,
                rng.range(0, oldest_grandchild),
            );
        }
        rest = keep;
    }

    let hi = younger.saturating_sub(19);
    let lo = younger.saturating_sub(42).min(hi);
    for _ in 0..rest {
        let male = rng.chance(0.52);
        p.push(if male { Relation::Son } else { Relation::Daughter }, male, rng.range(lo, hi));
    }
    p
}

impl Generator {
    fn household(
        &mut self,
        v: &VillageCtx,
        group_no: u16,
        serial: usize,
        in_group: usize,
        width: usize,
    ) -> IncomingHousehold {
        let mut rng = Rng::new(seed_of(&[self.seed, TAG_HOUSEHOLD, v.code.as_u64(), serial as u64]));
        let class = rng.pick(CLASS_WEIGHTS);
        let kind = match class {
            Class::Ordinary | Class::Marginal => HouseholdKind::Ordinary,
            Class::Exited | Class::Unstable => HouseholdKind::PovertyExited,
            Class::Sudden if rng.chance(0.5) => HouseholdKind::Ordinary,
            Class::Sudden => HouseholdKind::PovertyExited,
        };
        let monitored = matches!(class, Class::Unstable | Class::Marginal | Class::Sudden);

        let mut no = String::with_capacity(12 + width);
        write!(no, "{}{:0width$}", v.code, serial + 1).expect("write to String");
        let mut h = Household::new(HouseholdNo::parse(&no).expect("digits only"), v.code, kind);
        h.group_no = group_no;
        if kind == HouseholdKind::PovertyExited {
            h.exit_year = Some(rng.pick(EXIT_YEARS));
        }
        if monitored {
            h.monitoring = self.monitoring(&mut rng, class);
            h.risks = risks(&mut rng, class);
            if h.risks.contains(&RiskType::NaturalDisaster) {
                h.disaster_kind = Some(rng.pick(DISASTERS));
            }
        }

        let size = rng.pick(SIZE_WEIGHTS);
        let mut people = compose(&mut rng, size);
        name_family(&mut rng, people.as_mut_slice());
        force_health(&mut rng, people.as_mut_slice(), &h.risks, class);
        let ethnicity = rng.pick(&self.ethnicity_index);
        let mut members: Vec<Member> =
            people.as_mut_slice().iter().map(|p| self.member(&mut rng, v, p, ethnicity)).collect();

        // 低保 for a few percent of 脱贫 and monitored households (whole household), 特困供养 for
        // some old or disabled people living alone.
        let dibao = rng.chance(match class {
            Class::Ordinary => 0.005,
            Class::Exited => 0.04,
            _ => 0.15,
        });
        let alone_and_frail = members.len() == 1
            && (members[0].age_on(self.as_of) >= 60
                || members[0].health.has(HealthCondition::Disabled)
                || members[0].health.has(HealthCondition::SeriousIllness));
        let tekun = !dibao && class != Class::Ordinary && alone_and_frail && rng.chance(0.2);
        for m in &mut members {
            m.dibao = dibao;
            m.tekun = tekun;
        }
        h.no_labour_safety_net =
            (dibao || tekun) && class != Class::Ordinary && members.iter().all(|m| !m.labour_skill.is_able());

        let mut address = String::with_capacity(v.address_prefix.len() + 16);
        write!(address, "{}{}组{}号", v.address_prefix, group_no, in_group + 1).expect("write to String");
        h.address = address;
        if rng.chance(0.92) {
            h.phone = Some(mobile(&mut rng));
        }
        h.military_family = rng.chance(0.01);
        h.relocated = kind == HouseholdKind::PovertyExited && rng.chance(0.05);
        // C/D 危房 0.5 %; a grade is recorded for most households, always for 脱贫 and monitored ones.
        h.housing_grade = if rng.chance(0.005) {
            Some(if rng.chance(0.8) { HousingGrade::C } else { HousingGrade::D })
        } else if class == Class::Ordinary && rng.chance(0.25) {
            None
        } else {
            Some(if rng.chance(0.45) { HousingGrade::A } else { HousingGrade::B })
        };
        h.water = if rng.chance(0.003) {
            let mut w = [Some(true); 4];
            w[rng.below(4) as usize] = Some(false);
            DrinkingWater {
                safe: Some(false),
                quantity_ok: w[0],
                quality_ok: w[1],
                convenience_ok: w[2],
                reliability_ok: w[3],
            }
        } else {
            DrinkingWater {
                safe: Some(true),
                quantity_ok: Some(true),
                quality_ok: Some(true),
                convenience_ok: Some(true),
                reliability_ok: Some(true),
            }
        };
        h.food_clothing_secure = if rng.chance(0.97) { Some(true) } else { None };
        if h.monitoring.ever_monitored() {
            let (family, male) = (surname(&mut rng), rng.chance(0.6));
            h.officer = Some(OfficerContact {
                name: self.name(&mut rng, family, male, 1980),
                unit: rng.choose(&v.officer_units).clone(),
                phone: Some(mobile(&mut rng)),
            });
        }
        h.declared_size = Some(members.len() as u16);
        let income = self.income(&mut rng, class, &members, dibao || tekun);
        IncomingHousehold { household: h, members, income: Some(income) }
    }

    /// 识别监测时间 in 2020–2022 before the reference date; about one in five has the risk
    /// eliminated at least six months later (DOMAIN D9's stability period).
    fn monitoring(&self, rng: &mut Rng, class: Class) -> Monitoring {
        let category = match class {
            Class::Unstable => MonitoringCategory::UnstableExited,
            Class::Marginal => MonitoringCategory::MarginalAtRisk,
            _ => MonitoringCategory::SuddenHardship,
        };
        let yesterday = self.as_of - Duration::days(1);
        let first = NaiveDate::from_ymd_opt(2020, 1, 1).expect("valid date").min(self.as_of - Duration::days(400));
        let last = NaiveDate::from_ymd_opt(2022, 12, 31).expect("valid date").min(yesterday);
        let latest_for_elimination = last.min(self.as_of - Duration::days(181));
        if rng.chance(0.2) && latest_for_elimination >= first {
            let since = date_between(rng, first, latest_for_elimination);
            let on = date_between(rng, since + Duration::days(180), yesterday);
            let mode = if rng.chance(0.7) { EliminationMode::Assisted } else { EliminationMode::Natural };
            Monitoring::Eliminated { category, since, mode, on }
        } else {
            Monitoring::Monitored { category, since: date_between(rng, first, last) }
        }
    }

    fn name(&self, rng: &mut Rng, surname: &str, male: bool, birth_year: i32) -> PersonName {
        PersonName::parse(&person_name(rng, surname, male, birth_year)).expect("generated names are valid")
    }

    /// One member; `ethnicity` indexes the household's main 民族 in [`ETHNICITIES`].
    fn member(&mut self, rng: &mut Rng, v: &VillageCtx, p: &Person, ethnicity: usize) -> Member {
        let window = self.calendar.window(p.age);
        let (day, seq) = self.ids.allocate(window.0 + rng.below(window.1), window, p.male);
        let ymd = self.calendar.ymd(day);
        let id = id18(v.address6, ymd, seq);
        let national_id =
            NationalId::parse(std::str::from_utf8(&id).expect("ASCII digits")).expect("generated IDs are valid");
        let birth_year = (ymd / 10_000) as i32;
        let age = p.age;
        let school_age = self.calendar.school_age(ymd);

        let mut conditions = [HealthCondition::Healthy; 3];
        let mut n_conditions = 0;
        let mut add = |c: HealthCondition| {
            if !conditions[..n_conditions].contains(&c) {
                conditions[n_conditions] = c;
                n_conditions += 1;
            }
        };

        // School: by age on 1 September (6 years of 小学 from 6, 七–九年级 at 12–14, a year late
        // for some 15-year-olds); 0.2 % of the compulsory ages have dropped out.
        let mut dropout_reason = String::new();
        let (education, school_status) = if age < 3 {
            (None, Some(SchoolStatus::Preschooler))
        } else if school_age <= 5 {
            (None, Some(if rng.chance(0.9) { SchoolStatus::Preschool } else { SchoolStatus::Preschooler }))
        } else if school_age <= 15 && rng.chance(0.002) {
            let reason = *rng.choose(DROPOUT_REASONS);
            match reason {
                "因病" => add(HealthCondition::Chronic),
                "因残" => add(HealthCondition::Disabled),
                _ => {}
            }
            dropout_reason.push_str(reason);
            let done = match school_age {
                ..=7 => Education::Illiterate,
                8..=12 => Education::Primary,
                _ => Education::JuniorHigh,
            };
            (Some(done), None)
        } else if school_age <= 15 {
            let s = match school_age {
                ..=11 => SchoolStatus::Primary,
                12 => SchoolStatus::Grade7,
                13 => SchoolStatus::Grade8,
                14 => SchoolStatus::Grade9,
                _ if rng.chance(0.4) => SchoolStatus::Grade9,
                _ => upper_secondary(rng, 0),
            };
            (None, Some(s))
        } else if school_age <= 18 && rng.chance(0.8) {
            (None, Some(upper_secondary(rng, (school_age - 15).min(2) as usize)))
        } else if (19..=22).contains(&school_age) && rng.chance(0.35) {
            let year = (school_age - 19) as usize;
            let s = if rng.chance(0.45) { UNDERGRADUATE[year.min(3)] } else { HIGHER_VOCATIONAL[year.min(2)] };
            (None, Some(s))
        } else {
            (Some(adult_education(rng, age)), None)
        };
        let student = school_status.is_some();

        // Health: BENCHMARKS' 3 % disabled, 8 % chronic, ~1 % 大病 overall, rising with age.
        let (p_disabled, p_chronic, p_serious) = match age {
            ..=15 => (0.008, 0.01, 0.003),
            16..=44 => (0.02, 0.035, 0.006),
            45..=59 => (0.035, 0.11, 0.012),
            _ => (0.06, 0.2, 0.022),
        };
        if rng.chance(p_disabled) || p.force & FORCE_DISABLED != 0 {
            add(HealthCondition::Disabled);
        }
        if rng.chance(p_chronic) || p.force & FORCE_CHRONIC != 0 {
            add(HealthCondition::Chronic);
        }
        if rng.chance(p_serious) || p.force & FORCE_SERIOUS != 0 {
            add(HealthCondition::SeriousIllness);
        }
        let health =
            if n_conditions == 0 { Health::healthy() } else { Health::from_conditions(&conditions[..n_conditions]) };
        let disabled = health.has(HealthCondition::Disabled);
        let seriously_ill = health.has(HealthCondition::SeriousIllness);
        let disability_class = disabled.then(|| rng.pick(DISABILITIES));

        // Labour: none for children, students and the over-75s; weak or lost only with a health
        // condition below 60 (the national check 5_12_008 flags healthy weak adults).
        let labour_skill = if age < 16 || student || age > 75 {
            LabourSkill::None
        } else if disabled || seriously_ill {
            rng.pick(&[(LabourSkill::Lost, 40), (LabourSkill::Weak, 45), (LabourSkill::Ordinary, 15)])
        } else if health.has(HealthCondition::Chronic) {
            if rng.chance(0.5) { LabourSkill::Weak } else { LabourSkill::Ordinary }
        } else if age >= 60 {
            rng.pick(&[(LabourSkill::Ordinary, 45), (LabourSkill::Weak, 45), (LabourSkill::None, 10)])
        } else if rng.chance(0.22) {
            LabourSkill::Skilled
        } else {
            LabourSkill::Ordinary
        };

        // Work only for ordinary/skilled labour (the national check 2_01_015 flags work records
        // of weak or disabled 脱贫 members); 务工地点 is filled exactly when months > 0.
        let able = matches!(labour_skill, LabourSkill::Ordinary | LabourSkill::Skilled);
        let works = able && age <= 64 && rng.chance(if age <= 50 { 0.65 } else { 0.35 });
        let (work_months, work_place) = if works {
            let months = rng.pick(&[(12u8, 30), (10, 20), (8, 15), (6, 15), (4, 10), (3, 10)]);
            let place = match rng.below(10) {
                0..=1 => v.local_city.clone(),
                2 => v.local_county.clone(),
                _ => rng.pick(WORK_PLACES).to_string(),
            };
            (Some(months), place)
        } else {
            (None, String::new())
        };

        // Medical insurance: resident scheme for almost everyone, employee scheme for some workers,
        // 1 % in neither (the D6 flag).
        let uninsured = rng.chance(0.01);
        let employee = !uninsured && works && rng.chance(0.09);
        let adult = age >= 16 && !student;
        let (resident_pension, employee_pension) = match (adult, employee) {
            (false, _) => (None, None),
            (true, true) => (Some(false), Some(true)),
            (true, false) => (Some(rng.chance(0.9)), Some(false)),
        };

        let political_status = if age < 14 {
            None
        } else if age <= 28 && rng.chance(if student { 0.6 } else { 0.25 }) {
            Some(PoliticalStatus::LeagueMember)
        } else if age >= 22 && rng.chance(0.06) {
            Some(PoliticalStatus::PartyMember)
        } else {
            Some(PoliticalStatus::Masses)
        };

        // in-laws and spouses sometimes come from another 民族
        let ethnicity = if p.relation == Relation::Head || rng.chance(0.85) {
            self.ethnicities[ethnicity].clone()
        } else {
            self.ethnicities[rng.pick(&self.ethnicity_index)].clone()
        };

        Member {
            name: self.name(rng, p.surname, p.male, birth_year),
            sex: if p.male { Sex::Male } else { Sex::Female },
            national_id,
            relation: p.relation,
            ethnicity,
            political_status,
            education,
            school_status,
            dropout_reason,
            health,
            disability_class,
            labour_skill,
            work_months,
            work_place,
            resident_medical: !uninsured && !employee,
            employee_medical: employee,
            resident_pension,
            employee_pension,
            dibao: false,
            tekun: false,
        }
    }

    /// Last year's income: per-capita net lognormal (median 16,000 / 14,000 / 8,500 元, σ 0.45),
    /// split into the four items and a business cost so that the net is exact; medical costs and
    /// insurance payouts for ill members. Whole 元, stored in 分.
    fn income(&self, rng: &mut Rng, class: Class, members: &[Member], safety_net: bool) -> IncomeRecord {
        let median = match class {
            Class::Ordinary => 16_000.0,
            Class::Exited => 14_000.0,
            _ => 8_500.0,
        };
        let per_capita = rng.lognormal(median, 0.45).round() as i64;
        let net = per_capita * members.len() as i64;
        let workers = members.iter().filter(|m| m.work_months.is_some()).count();
        let elderly = members.iter().filter(|m| m.age_on(self.as_of) >= 60).count();

        let mut transfer_pct = rng.range(5, 12) as i64;
        if safety_net {
            transfer_pct += rng.range(15, 30) as i64;
        }
        if elderly > 0 {
            transfer_pct += rng.range(3, 8) as i64;
        }
        let property_pct = if rng.chance(0.5) { 0 } else { rng.range(1, 3) as i64 };
        let wage_pct = if workers > 0 { rng.range(45, 75) as i64 } else { rng.range(5, 20) as i64 };
        // leave at least 5 % to the family's own production
        let wage_pct = wage_pct.min(95 - transfer_pct - property_pct).max(0);
        let wage = net * wage_pct / 100;
        let transfer = net * transfer_pct / 100;
        let property = net * property_pct / 100;
        let business_net = net - wage - transfer - property;
        let cost_pct = rng.range(15, 40) as i64;
        let business_cost = business_net * cost_pct / (100 - cost_pct);

        let mut out_of_pocket = 0i64;
        let mut serious = false;
        for m in members {
            if m.health.has(HealthCondition::SeriousIllness) {
                serious = true;
                out_of_pocket += rng.range(8_000, 40_000) as i64;
            } else if m.health.has(HealthCondition::Chronic) && rng.chance(0.6) {
                out_of_pocket += rng.range(300, 3_000) as i64;
            }
        }
        let insurance_payout =
            if serious && rng.chance(0.35) { out_of_pocket * rng.range(10, 40) as i64 / 100 } else { 0 };

        IncomeRecord {
            year: self.as_of.year() - 1,
            wage: Fen::from_yuan(wage),
            business: Fen::from_yuan(business_net + business_cost),
            property: Fen::from_yuan(property),
            transfer: Fen::from_yuan(transfer),
            business_cost: Fen::from_yuan(business_cost),
            out_of_pocket: Fen::from_yuan(out_of_pocket),
            insurance_payout: Fen::from_yuan(insurance_payout),
        }
    }
}

/// Surnames: children take the father's (the head's, or the spouse's when the head is a woman
/// with a husband); the head's father shares the head's; spouses and in-laws bring their own.
fn name_family(rng: &mut Rng, people: &mut [Person]) {
    let head = surname(rng);
    let husband =
        people.iter().find(|p| p.relation == Relation::Spouse && p.male).map(|_| surname(rng)).unwrap_or(head);
    let children = if people[0].male { head } else { husband };
    for p in people.iter_mut() {
        p.surname = match p.relation {
            Relation::Head | Relation::Father => head,
            Relation::Spouse if p.male => husband,
            Relation::Son | Relation::Daughter | Relation::Grandson | Relation::Granddaughter => children,
            _ => surname(rng),
        };
    }
}

/// Gives the monitored household's risks a basis in its members: 因病 needs someone ill (大病 more
/// often for 突发严重困难户), 因残 someone disabled.
fn force_health(rng: &mut Rng, people: &mut [Person], risks: &[RiskType], class: Class) {
    if risks.contains(&RiskType::Illness) {
        let i = rng.below(people.len() as u32) as usize;
        let serious = rng.chance(if class == Class::Sudden { 0.8 } else { 0.4 });
        people[i].force |= if serious { FORCE_SERIOUS } else { FORCE_CHRONIC };
    }
    if risks.contains(&RiskType::Disability) {
        let i = rng.below(people.len() as u32) as usize;
        people[i].force |= FORCE_DISABLED;
    }
}

/// One to three distinct risks, in order of importance.
fn risks(rng: &mut Rng, class: Class) -> Vec<RiskType> {
    let table = if class == Class::Sudden { RISKS_SUDDEN } else { RISKS_GRADUAL };
    let n = rng.pick(&[(1usize, 55), (2, 35), (3, 10)]);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let r = rng.pick(table);
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

/// 普通高中 or 中职, year `year` (0-based).
fn upper_secondary(rng: &mut Rng, year: usize) -> SchoolStatus {
    if rng.chance(0.55) { HIGH_SCHOOL[year] } else { VOCATIONAL[year] }
}

/// 文化程度 of an adult out of school, by generation.
fn adult_education(rng: &mut Rng, age: u32) -> Education {
    use Education::*;
    match age {
        ..=22 => rng.pick(&[(Primary, 8), (JuniorHigh, 62), (SeniorHigh, 30)]),
        23..=29 => rng.pick(&[(Primary, 5), (JuniorHigh, 40), (SeniorHigh, 28), (College, 16), (BachelorOrAbove, 11)]),
        30..=49 => rng.pick(&[
            (Illiterate, 1),
            (Primary, 12),
            (JuniorHigh, 55),
            (SeniorHigh, 21),
            (College, 7),
            (BachelorOrAbove, 4),
        ]),
        50..=69 => rng.pick(&[(Illiterate, 8), (Primary, 35), (JuniorHigh, 42), (SeniorHigh, 12), (College, 3)]),
        _ => rng.pick(&[(Illiterate, 35), (Primary, 45), (JuniorHigh, 15), (SeniorHigh, 5)]),
    }
}

/// An 11-digit mobile number.
pub(crate) fn mobile(rng: &mut Rng) -> Phone {
    let mut b = [b'1'; 11];
    b[1] = *rng.choose(b"35789");
    for c in &mut b[2..] {
        *c = b'0' + rng.below(10) as u8;
    }
    Phone::parse(std::str::from_utf8(&b).expect("ASCII digits")).expect("generated phones are valid")
}

fn date_between(rng: &mut Rng, lo: NaiveDate, hi: NaiveDate) -> NaiveDate {
    let span = (hi - lo).num_days().max(0) as u32;
    lo + Duration::days(i64::from(rng.range(0, span)))
}
