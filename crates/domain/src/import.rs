//! Import planning: compare what a file delivers with what the registry holds, household by
//! household (by 户编号) and member by member (by ID number), before anything is written.
//! Re-importing the same file plans nothing; a corrected file plans exactly the corrections.

use std::collections::{HashMap, VecDeque};

use crate::ports::{HouseholdDetail, HouseholdUpdate, ImportPlan, IncomingHousehold, MemberRecord};

pub fn plan(incoming: Vec<IncomingHousehold>, existing: Vec<HouseholdDetail>) -> ImportPlan {
    let mut by_no: HashMap<String, HouseholdDetail> =
        existing.into_iter().map(|d| (d.record.household.household_no.to_string(), d)).collect();
    let mut out = ImportPlan::default();
    for inc in incoming {
        let Some(before) = by_no.remove(inc.household.household_no.as_str()) else {
            out.creates.push(inc);
            continue;
        };
        match diff(before, inc) {
            Some(u) => out.updates.push(u),
            None => out.unchanged += 1,
        }
    }
    out
}

fn diff(before: HouseholdDetail, inc: IncomingHousehold) -> Option<HouseholdUpdate> {
    let household_changed = before.record.household != inc.household;
    let mut pool: HashMap<u64, VecDeque<&MemberRecord>> = HashMap::new();
    for m in &before.members {
        pool.entry(m.member.national_id.key()).or_default().push_back(m);
    }
    let mut inserts = Vec::new();
    let mut updates = Vec::new();
    for (i, m) in inc.members.iter().enumerate() {
        let seq = i as i32 + 1;
        match pool.get_mut(&m.national_id.key()).and_then(|q| q.pop_front()) {
            Some(old) => {
                if old.member != *m || old.seq != seq {
                    updates.push((old.id, seq, m.clone()));
                }
            }
            None => inserts.push((seq, m.clone())),
        }
    }
    let mut deletes: Vec<_> = pool.values().flat_map(|q| q.iter().map(|m| m.id)).collect();
    deletes.sort();
    let income = inc.income.filter(|new| before.incomes.iter().find(|r| r.year == new.year) != Some(new));
    if !household_changed && inserts.is_empty() && updates.is_empty() && deletes.is_empty() && income.is_none() {
        return None;
    }
    Some(HouseholdUpdate {
        id: before.record.id,
        expected_version: before.record.version,
        household: inc.household,
        household_changed,
        member_inserts: inserts,
        member_updates: updates,
        member_deletes: deletes,
        income,
        before,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::{HouseholdKind, Relation};
    use crate::household::{Household, HouseholdId, HouseholdNo, PersonName};
    use crate::income::IncomeRecord;
    use crate::member::{Member, MemberId};
    use crate::money::Fen;
    use crate::national_id::NationalId;
    use crate::ports::HouseholdRecord;
    use crate::region::RegionCode;

    fn household(no: &str) -> Household {
        Household::new(
            HouseholdNo::parse(no).unwrap(),
            RegionCode::parse("450203100201").unwrap(),
            HouseholdKind::Ordinary,
        )
    }

    fn member(name: &str, id: &str, r: Relation) -> Member {
        Member::new(PersonName::parse(name).unwrap(), NationalId::parse(id).unwrap(), r)
    }

    fn stored(inc: &IncomingHousehold) -> HouseholdDetail {
        HouseholdDetail {
            record: HouseholdRecord {
                id: HouseholdId(7),
                version: 3,
                household: inc.household.clone(),
                import_id: None,
                created_at: Default::default(),
                updated_at: Default::default(),
            },
            members: inc
                .members
                .iter()
                .enumerate()
                .map(|(i, m)| MemberRecord { id: MemberId(100 + i as i64), seq: i as i32 + 1, member: m.clone() })
                .collect(),
            incomes: inc.income.into_iter().collect(),
        }
    }

    fn sample() -> IncomingHousehold {
        IncomingHousehold {
            household: household("A1"),
            members: vec![
                member("张三", "370101190102039973", Relation::Head),
                member("李四", "11010519491231002X", Relation::Spouse),
            ],
            income: Some(IncomeRecord { year: 2021, wage: Fen::from_yuan(10_000), ..Default::default() }),
        }
    }

    #[test]
    fn new_households_are_created() {
        let p = plan(vec![sample()], vec![]);
        assert_eq!((p.creates.len(), p.updates.len(), p.unchanged), (1, 0, 0));
    }

    #[test]
    fn identical_data_is_unchanged() {
        let s = sample();
        let p = plan(vec![s.clone()], vec![stored(&s)]);
        assert_eq!((p.creates.len(), p.updates.len(), p.unchanged), (0, 0, 1));
    }

    #[test]
    fn corrections_are_planned_precisely() {
        let s = sample();
        let existing = stored(&s);
        let mut corrected = s.clone();
        corrected.household.address = "新地址".into();
        corrected.members[1].work_months = Some(6);
        corrected.members.push(member("张小", "440524188001010014", Relation::Son));
        corrected.income = Some(IncomeRecord { year: 2021, wage: Fen::from_yuan(12_000), ..Default::default() });
        let p = plan(vec![corrected], vec![existing]);
        let u = &p.updates[0];
        assert!(u.household_changed);
        assert_eq!(u.expected_version, 3);
        assert_eq!(u.member_updates.len(), 1);
        assert_eq!(u.member_updates[0].0, MemberId(101));
        assert_eq!(u.member_inserts.len(), 1);
        assert_eq!(u.member_inserts[0].0, 3);
        assert!(u.member_deletes.is_empty());
        assert!(u.income.is_some());
    }

    #[test]
    fn members_missing_from_the_file_are_removed() {
        let s = sample();
        let existing = stored(&s);
        let mut fewer = s.clone();
        fewer.members.pop();
        let p = plan(vec![fewer], vec![existing]);
        assert_eq!(p.updates[0].member_deletes, vec![MemberId(101)]);
        assert!(!p.updates[0].household_changed);
    }
}
