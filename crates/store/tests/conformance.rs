//! The backend conformance suite (STYLE §10): every scenario is written once, generic over the
//! domain's storage traits, and run on SQLite and on PostgreSQL.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use domain::account::{Actor, Role, Scope, UserId, Username};
use domain::audit::{AuditAction, AuditEntry};
use domain::codes::*;
use domain::household::{Household, HouseholdId, HouseholdNo, Monitoring, PersonName, Phone};
use domain::income::IncomeRecord;
use domain::member::Member;
use domain::money::Fen;
use domain::national_id::{NationalId, make_id};
use domain::params::ParamName;
use domain::ports::*;
use domain::region::{RegionCode, luorong_regions};
use domain::search::SearchQuery;
use store::testing::TestDb;

const DAZHENG: u64 = 450_203_100_201;
const DONGTANG: u64 = 450_203_100_202;

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 3, 28, 1, 0, 0).unwrap()
}

fn village(code: u64) -> RegionCode {
    RegionCode::from_u64(code).unwrap()
}

fn person(name: &str, seq: u32, relation: Relation, birth_year: i32) -> Member {
    let birth = NaiveDate::from_ymd_opt(birth_year, 1 + seq % 12, 1 + seq % 28).unwrap();
    let id = make_id(450203, birth, (seq % 1000) as u16);
    let mut m = Member::new(PersonName::parse(name).unwrap(), NationalId::parse(&id).unwrap(), relation);
    m.sex = m.national_id.sex();
    m
}

/// Household `n` in `village`, with a head and a spouse (IDs unique by `n`).
fn incoming(n: u32, village_code: u64) -> IncomingHousehold {
    let no = HouseholdNo::parse(&format!("{village_code}{n:04}")).unwrap();
    let mut h = Household::new(
        no,
        village(village_code),
        if n.is_multiple_of(5) { HouseholdKind::PovertyExited } else { HouseholdKind::Ordinary },
    );
    if h.kind == HouseholdKind::PovertyExited {
        h.exit_year = Some(2019);
    }
    h.group_no = (n % 4 + 1) as u16;
    h.address = format!("大正村{}组{}号", h.group_no, n);
    h.phone = Some(Phone::parse("13800001234").unwrap());
    if n.is_multiple_of(7) {
        h.monitoring = Monitoring::Monitored {
            category: if h.kind == HouseholdKind::PovertyExited {
                MonitoringCategory::UnstableExited
            } else {
                MonitoringCategory::MarginalAtRisk
            },
            since: NaiveDate::from_ymd_opt(2021, 6, 1).unwrap(),
        };
        h.risks = vec![RiskType::Illness, RiskType::NaturalDisaster];
        h.disaster_kind = Some(DisasterKind::Flood);
    }
    h.housing_grade = Some(HousingGrade::B);
    let names = ["韦", "覃", "蒙", "黄", "曾", "单"];
    let surname = names[(n as usize) % names.len()];
    let head = person(&format!("{surname}国{}", ["强", "明", "华", "平"][n as usize % 4]), n * 2, Relation::Head, 1970);
    let mut spouse = person("李秀英", n * 2 + 1, Relation::Spouse, 1972);
    spouse.health = Health::parse("长期慢性病").unwrap();
    spouse.education = Some(Education::Primary);
    IncomingHousehold {
        household: h,
        members: vec![head, spouse],
        income: Some(IncomeRecord {
            year: 2021,
            wage: Fen::from_yuan(20_000 + i64::from(n)),
            business_cost: Fen::from_yuan(500),
            ..Default::default()
        }),
    }
}

async fn seed<S: Store>(s: &S, households: Vec<IncomingHousehold>) -> ImportOutcome {
    s.upsert_regions(&Actor::cli(), at(), &luorong_regions()).await.unwrap();
    let meta = ImportMeta { file_name: "test.xlsx".into(), file_sha256: "0".repeat(64), rows: 0, warnings: 0 };
    let plan = domain::import::plan(households, vec![]);
    s.apply_import(&Actor::cli(), at(), &meta, &plan).await.unwrap()
}

/// A finding of the test rule, explained by its sub-code.
fn test_finding(code: domain::rules::FindingCode, sub: &'static str) -> domain::rules::Finding {
    domain::rules::Finding {
        code,
        sub_code: sub,
        suggested_category: None,
        rule_id: "TEST",
        rule_version: 1,
        params: vec![],
        inputs: Default::default(),
        member_id: None,
        explanation: sub.to_string(),
    }
}

fn scope_of(role: Role, region: u64) -> Scope {
    domain::account::User {
        id: UserId(1),
        username: Username::parse("tester").unwrap(),
        display_name: "测试".into(),
        role,
        region: village(region),
        active: true,
        failed_logins: 0,
        locked_until: None,
        created_at: at(),
    }
    .scope()
}

async fn on_both<F, Fut>(f: F)
where
    F: Fn(store::Db) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for t in TestDb::both().await {
        eprintln!("-- running on {}", t.label);
        f(t.db.clone()).await;
        t.cleanup().await;
    }
}

#[tokio::test]
async fn migrations_are_idempotent_and_both_schemas_match() {
    let mut schemas = Vec::new();
    for t in TestDb::both().await {
        assert_eq!(t.db.migrate(at()).await.unwrap(), Vec::<i64>::new(), "second migrate applies nothing");
        let all: Vec<i64> = store::migrate::MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(t.db.applied_migrations().await.unwrap(), all);
        schemas.push((t.label, t.db.schema_columns().await.unwrap()));
        t.cleanup().await;
    }
    if let [(_, a), (_, b)] = schemas.as_slice() {
        assert_eq!(a, b, "SQLite and PostgreSQL schemas differ (table, column)");
        assert!(a.iter().any(|(t, c)| t == "members" && c == "id_key"));
    }
}

#[tokio::test]
async fn imported_households_read_back_exactly() {
    on_both(|db| async move {
        let mut data: Vec<_> = (1..=14).map(|n| incoming(n, DAZHENG)).collect();
        // every field away from its default, with text that JSON must escape: a household's detail
        // is read as JSON on both backends, a batch as JSON on SQLite and as rows on PostgreSQL
        // (queries.rs, BATCHES_AS_JSON), and all of them must give the same values (on SQLite the
        // three reads share the JSON path, so their agreement is PostgreSQL's test). Household 5
        // has no income record: an empty list, which PostgreSQL's json_agg gives as NULL.
        data[4].income = None;
        let h = &mut data[2].household;
        h.risks = vec![RiskType::Illness, RiskType::NaturalDisaster];
        h.disaster_kind = Some(DisasterKind::Flood);
        h.water = domain::household::DrinkingWater {
            safe: Some(false),
            quantity_ok: Some(true),
            quality_ok: Some(false),
            convenience_ok: None,
            reliability_ok: Some(true),
        };
        h.food_clothing_secure = Some(true);
        h.food_clothing_note = "\"稳定\"\n".into();
        h.military_family = true;
        h.no_labour_safety_net = true;
        h.relocated = true;
        h.officer = Some(domain::household::OfficerContact {
            name: PersonName::parse("覃帮扶").unwrap(),
            unit: "鱼峰区\\农业农村局".into(),
            phone: Some(Phone::parse("13900001111").unwrap()),
        });
        h.declared_size = Some(3);
        h.exit_year = Some(2016);
        h.kind = HouseholdKind::PovertyExited;
        h.monitoring = Monitoring::Eliminated {
            category: MonitoringCategory::UnstableExited,
            since: NaiveDate::from_ymd_opt(2020, 3, 1).unwrap(),
            mode: EliminationMode::Assisted,
            on: NaiveDate::from_ymd_opt(2021, 12, 31).unwrap(),
        };
        let m = &mut data[2].members[1];
        m.ethnicity = Ethnicity::parse("壮族").unwrap();
        m.political_status = Some(PoliticalStatus::LeagueMember);
        m.school_status = Some(SchoolStatus::Grade8);
        m.dropout_reason = "家里\"没钱\"\\路远\n\t（其他）".into();
        m.health = Health::parse("残疾").unwrap();
        m.disability_class = Some(DisabilityClass::Physical);
        m.labour_skill = LabourSkill::Weak;
        m.work_months = Some(7);
        m.work_place = "广东省深圳市 \u{1}南山区".into();
        m.resident_medical = false;
        m.employee_medical = true;
        m.resident_pension = Some(true);
        m.employee_pension = Some(false);
        m.dibao = true;
        data[2].members[0].tekun = true;
        let out = seed(&db, data.clone()).await;
        assert_eq!((out.created, out.updated, out.members_written), (14, 0, 28));
        for inc in &data {
            let d = db.household(&Scope::system(), &inc.household.household_no).await.unwrap().unwrap();
            assert_eq!(d.record.household, inc.household);
            assert_eq!(d.record.version, 1);
            assert_eq!(d.record.import_id, Some(out.import_id));
            assert_eq!(d.members.iter().map(|m| m.member.clone()).collect::<Vec<_>>(), inc.members);
            assert_eq!(d.members.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 2]);
            assert_eq!(d.incomes, inc.income.into_iter().collect::<Vec<_>>());
        }
        let nos: Vec<_> = data.iter().map(|d| d.household.household_no.clone()).collect();
        assert_eq!(db.households_by_no(&nos).await.unwrap().len(), 14);
        let key = data[3].members[0].national_id.key();
        let loc = db.member_locations(&[key, 42]).await.unwrap();
        assert_eq!(loc, vec![(key, data[3].household.household_no.clone(), village(DAZHENG))]);
        // same data again: nothing to do
        let existing = db.households_by_no(&nos).await.unwrap();
        let plan = domain::import::plan(data.clone(), existing);
        assert_eq!((plan.creates.len(), plan.updates.len(), plan.unchanged), (0, 0, 14));
        // a second year's income: both kept, the latest first, through every read path
        let mut next = data[2].clone();
        let income_2022 =
            IncomeRecord { year: 2022, transfer: Fen(12_345), out_of_pocket: Fen(9), ..Default::default() };
        next.income = Some(income_2022);
        let plan = domain::import::plan(vec![next], db.households_by_no(&nos[2..3]).await.unwrap());
        let meta = ImportMeta { file_name: "2022.xlsx".into(), file_sha256: "1".repeat(64), rows: 0, warnings: 0 };
        assert_eq!(db.apply_import(&Actor::cli(), at(), &meta, &plan).await.unwrap().updated, 1);
        let both = vec![income_2022, data[2].income.unwrap()];
        let d = db.household(&Scope::system(), &nos[2]).await.unwrap().unwrap();
        assert_eq!(d.incomes, both);
        assert_eq!(db.households_by_no(&nos[2..3]).await.unwrap()[0].incomes, both);
        let (batch, _) = db.export_batch(&Scope::system(), &Default::default(), None, 100).await.unwrap();
        assert_eq!(batch.len(), 14);
        let exported = batch.iter().find(|b| b.record.household.household_no == nos[2]).unwrap();
        assert_eq!((&exported.incomes, &exported.members), (&both, &d.members));
        let by_no = db.households_by_no(&nos).await.unwrap();
        for no in &nos {
            let one = db.household(&Scope::system(), no).await.unwrap().unwrap();
            let in_batch = batch.iter().find(|b| &b.record.household.household_no == no).unwrap();
            let looked_up = by_no.iter().find(|b| &b.record.household.household_no == no).unwrap();
            assert_eq!((&one, &one), (in_batch, looked_up), "{no}: the detail read and the batch reads differ");
        }
    })
    .await;
}

#[tokio::test]
async fn scope_limits_every_read() {
    on_both(|db| async move {
        seed(&db, vec![incoming(1, DAZHENG), incoming(2, DONGTANG)]).await;
        let dongtang_cadre = scope_of(Role::VillageCadre, DONGTANG);
        let dazheng_no = HouseholdNo::parse(&format!("{DAZHENG}0001")).unwrap();
        assert!(db.household(&dongtang_cadre, &dazheng_no).await.unwrap().is_none());
        assert!(db.household(&Scope::system(), &dazheng_no).await.unwrap().is_some());
        let page = db.list_households(&dongtang_cadre, &HouseholdFilter::default(), None, 50).await.unwrap();
        assert_eq!(page.total, 1);
        assert!(page.items.iter().all(|h| h.village == village(DONGTANG)));
        // searching for the other village's household by its number or its head's ID finds nothing
        for q in [dazheng_no.to_string(), incoming(1, DAZHENG).members[0].national_id.to_string(), "韦".into()] {
            let f = HouseholdFilter { query: Some(SearchQuery::parse(&q)), ..Default::default() };
            let p = db.list_households(&dongtang_cadre, &f, None, 50).await.unwrap();
            assert!(p.items.iter().all(|h| h.village == village(DONGTANG)), "query {q}");
        }
        // even filtering explicitly for the other village
        let f = HouseholdFilter { region: Some(village(DAZHENG)), ..Default::default() };
        assert_eq!(db.list_households(&dongtang_cadre, &f, None, 50).await.unwrap().total, 0);
        let (batch, _) = db.export_batch(&dongtang_cadre, &HouseholdFilter::default(), None, 100).await.unwrap();
        assert_eq!(batch.len(), 1);
        assert_eq!(batch[0].record.household.village, village(DONGTANG));
        // a page cursor made up to point before the scope (the list's `after=` is the client's)
        // still finds nothing outside it
        let forged = Cursor { village: 0, group_no: 0, household_no: String::new() };
        let page = db.list_households(&dongtang_cadre, &HouseholdFilter::default(), Some(&forged), 50).await.unwrap();
        assert!(!page.items.is_empty() && page.items.iter().all(|h| h.village == village(DONGTANG)));
        let (batch, _) =
            db.export_batch(&dongtang_cadre, &HouseholdFilter::default(), Some(&forged), 100).await.unwrap();
        assert!(!batch.is_empty() && batch.iter().all(|d| d.record.household.village == village(DONGTANG)));
        let town = scope_of(Role::TownOffice, 450_203_100_000);
        assert_eq!(db.list_households(&town, &HouseholdFilter::default(), None, 50).await.unwrap().total, 2);
    })
    .await;
}

#[tokio::test]
async fn list_filters_search_and_keyset_pages() {
    on_both(|db| async move {
        let mut data: Vec<_> = (1..=20).map(|n| incoming(n, DAZHENG)).collect();
        data.extend((21..=30).map(|n| incoming(n, DONGTANG)));
        seed(&db, data.clone()).await;
        let sys = Scope::system();
        // keyset pages cover everything once, in order
        let mut seen = Vec::new();
        let mut after: Option<Cursor> = None;
        loop {
            let p = db.list_households(&sys, &HouseholdFilter::default(), after.as_ref(), 7).await.unwrap();
            assert_eq!(p.total, 30);
            seen.extend(p.items.iter().map(|h| (h.village, h.group_no, h.household_no.to_string())));
            match p.next {
                Some(c) => after = Some(Cursor::decode(&c).unwrap()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 30);
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(seen, sorted);
        sorted.dedup();
        assert_eq!(sorted.len(), 30);

        let p = db.list_households(&sys, &HouseholdFilter::default(), None, 1).await.unwrap();
        assert_eq!(p.items[0].member_count, 2);
        assert!(p.items[0].head_name.is_some());
        assert!(p.items[0].head_id_masked.as_ref().unwrap().contains("********"));

        let count = |f: HouseholdFilter| {
            let db = db.clone();
            async move { db.list_households(&Scope::system(), &f, None, 100).await.unwrap().total }
        };
        assert_eq!(count(HouseholdFilter { region: Some(village(DONGTANG)), ..Default::default() }).await, 10);
        assert_eq!(count(HouseholdFilter { kind: Some(HouseholdKind::PovertyExited), ..Default::default() }).await, 6);
        assert_eq!(
            count(HouseholdFilter {
                status: Some(domain::household::MonitoringStatus::Monitored),
                ..Default::default()
            })
            .await,
            4
        );
        assert_eq!(
            count(HouseholdFilter { group_no: Some(1), region: Some(village(DAZHENG)), ..Default::default() }).await,
            5
        );
        let q = |s: &str| HouseholdFilter { query: Some(SearchQuery::parse(s)), ..Default::default() };
        // by full ID, by the start of an ID, by 户编号 prefix, by name, by pinyin and initials
        let id = data[4].members[1].national_id.to_string();
        assert_eq!(count(q(&id)).await, 1);
        assert_eq!(count(q(&id.to_lowercase())).await, 1);
        assert_eq!(count(q(&format!("{DONGTANG}"))).await, 10);
        assert_eq!(count(q(&format!("{DAZHENG}0013"))).await, 1);
        assert_eq!(count(q("韦")).await, 5);
        assert_eq!(count(q("wei")).await, 5);
        assert_eq!(count(q("zeng")).await, 5, "曾 is read zeng as a surname");
        assert_eq!(count(q("lxy")).await, 30, "initials of 李秀英");
        assert_eq!(count(q("100%")).await, 0, "wildcards are escaped");
    })
    .await;
}

#[tokio::test]
async fn edits_are_versioned_and_audited() {
    on_both(|db| async move {
        seed(&db, vec![incoming(1, DAZHENG)]).await;
        let no = HouseholdNo::parse(&format!("{DAZHENG}0001")).unwrap();
        let before = db.household(&Scope::system(), &no).await.unwrap().unwrap();
        let mut h = before.record.household.clone();
        h.address = "新地址".into();
        h.housing_grade = Some(HousingGrade::D);
        let rec = db.save_household(&Actor::cli(), at(), &before, &h).await.unwrap();
        assert_eq!(rec.version, 2);
        let after = db.household(&Scope::system(), &no).await.unwrap().unwrap();
        assert_eq!(after.record.household, h);
        assert_eq!(after.record.version, 2);
        // a second writer holding the old version loses
        assert!(matches!(db.save_household(&Actor::cli(), at(), &before, &h).await, Err(StoreError::Conflict)));

        // members: add, change, remove — each bumps the version
        let kid = person("韦小宝", 900, Relation::Son, 2012);
        let mut kid = kid;
        kid.education = None;
        kid.school_status = Some(SchoolStatus::Primary);
        let rec =
            db.write_members(&Actor::cli(), at(), &after, &[MemberChange::Insert(kid.clone())], "").await.unwrap();
        assert_eq!(rec.version, 3);
        let d = db.household(&Scope::system(), &no).await.unwrap().unwrap();
        assert_eq!(d.members.len(), 3);
        assert_eq!(d.members[2].seq, 3);
        assert_eq!(d.members[2].member, kid);
        let mut changed = d.members[1].member.clone();
        changed.work_months = Some(8);
        changed.work_place = "广东省".into();
        db.write_members(
            &Actor::cli(),
            at(),
            &d,
            &[MemberChange::Update(d.members[1].id, changed.clone()), MemberChange::Delete(d.members[2].id)],
            "迁出",
        )
        .await
        .unwrap();
        let d2 = db.household(&Scope::system(), &no).await.unwrap().unwrap();
        assert_eq!(d2.record.version, 4);
        assert_eq!(d2.members.len(), 2);
        assert_eq!(d2.members[1].member, changed);
        assert!(matches!(
            db.write_members(&Actor::cli(), at(), &d, &[MemberChange::Delete(d.members[0].id)], "x").await,
            Err(StoreError::Conflict)
        ));

        let hist = db
            .audit_rows(
                &AuditFilter {
                    entity: Some("household".into()),
                    entity_id: Some(before.record.id.0.to_string()),
                    ..Default::default()
                },
                50,
            )
            .await
            .unwrap();
        let actions: Vec<_> = hist.iter().map(|r| r.entry.action).collect();
        assert_eq!(actions, vec![AuditAction::Delete, AuditAction::Update, AuditAction::Create, AuditAction::Update]);
        assert!(hist[0].entry.note.contains("迁出"));
        assert!(hist[3].entry.before.as_ref().unwrap().contains("大正村"));
        assert!(hist[3].entry.after.as_ref().unwrap().contains("新地址"));
        assert_eq!(
            store::verify_audit(&db).await.unwrap().rows as usize,
            hist.len() + 2,
            "plus the region and import rows"
        );
    })
    .await;
}

#[tokio::test]
async fn import_updates_in_place_and_is_all_or_nothing() {
    on_both(|db| async move {
        let data: Vec<_> = (1..=3).map(|n| incoming(n, DAZHENG)).collect();
        seed(&db, data.clone()).await;
        let nos: Vec<_> = data.iter().map(|d| d.household.household_no.clone()).collect();
        let mut corrected = data.clone();
        corrected[1].household.address = "更正后的地址".into();
        corrected[1].members[1].dibao = true;
        corrected[2].members.pop();
        corrected[2].income.as_mut().unwrap().transfer = Fen::from_yuan(3_000);
        let plan = domain::import::plan(corrected.clone(), db.households_by_no(&nos).await.unwrap());
        assert_eq!((plan.updates.len(), plan.unchanged), (2, 1));
        let meta = ImportMeta { file_name: "fix.csv".into(), file_sha256: "1".repeat(64), rows: 5, warnings: 0 };
        let out = db.apply_import(&Actor::cli(), at(), &meta, &plan).await.unwrap();
        assert_eq!((out.created, out.updated, out.unchanged), (0, 2, 1));
        for c in &corrected {
            let d = db.household(&Scope::system(), &c.household.household_no).await.unwrap().unwrap();
            assert_eq!(d.record.household, c.household);
            assert_eq!(d.members.iter().map(|m| m.member.clone()).collect::<Vec<_>>(), c.members);
            assert_eq!(d.incomes[0], c.income.unwrap());
        }
        // a stale plan (computed before another write) fails as a whole
        let stale_plan = domain::import::plan(data.clone(), db.households_by_no(&nos).await.unwrap());
        let d = db.household(&Scope::system(), &nos[1]).await.unwrap().unwrap();
        db.save_household(&Actor::cli(), at(), &d, &d.record.household.clone()).await.unwrap();
        let mut with_new = stale_plan;
        with_new.creates.push(incoming(9, DAZHENG));
        let err = db.apply_import(&Actor::cli(), at(), &meta, &with_new).await;
        assert!(matches!(err, Err(StoreError::Conflict)));
        assert!(
            db.household(&Scope::system(), &incoming(9, DAZHENG).household.household_no).await.unwrap().is_none(),
            "nothing written"
        );
        store::verify_audit(&db).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_first_import_leaves_the_indexes_as_they_were() {
    // SQLite drops the registry's secondary indexes for an import into an empty registry and
    // builds them again before the commit: whatever happens, the schema must come out the same
    on_both(|db| async move {
        let before = db.schema_indexes().await.unwrap();
        assert!(before.iter().any(|(t, i, _)| t == "members" && i == "members_id_key"), "{before:?}");
        // (missing, added) against `before`
        let changes = |now: Vec<(String, String, String)>| {
            let missing: Vec<_> = before.iter().filter(|i| !now.contains(i)).cloned().collect();
            let added: Vec<_> = now.into_iter().filter(|i| !before.contains(i)).collect();
            (missing, added)
        };
        let same = (vec![], vec![]);
        db.upsert_regions(&Actor::cli(), at(), &luorong_regions()).await.unwrap();
        let data: Vec<_> = (1..=30).map(|n| incoming(n, DAZHENG)).collect();
        let meta = ImportMeta { file_name: "first.csv".into(), file_sha256: "2".repeat(64), rows: 60, warnings: 0 };
        let mut w = db.begin_import(&Actor::cli(), at(), &meta).await.unwrap();
        // SQLite defers them (the members' four among them); PostgreSQL keeps every index live
        let deferred = w.deferred_indexes();
        if db.backend() == store::Backend::Sqlite {
            for name in ["members_household", "members_id_key", "members_id_number", "members_region_name"] {
                assert!(deferred.iter().any(|d| d.contains(&format!("INDEX {name} "))), "{name} not in {deferred:?}");
            }
        } else {
            assert!(deferred.is_empty(), "{deferred:?}");
        }
        w.apply(&domain::import::plan(data[..10].to_vec(), vec![])).await.unwrap();
        // meanwhile other connections read through the committed schema
        assert_eq!(changes(db.schema_indexes().await.unwrap()), same, "while importing");
        let keys: Vec<u64> = data.iter().flat_map(|h| h.members.iter().map(|m| m.national_id.key())).collect();
        assert!(db.member_locations(&keys).await.unwrap().is_empty());
        drop(w);

        // abandoned, then done: the indexes are there and used
        seed(&db, data[..20].to_vec()).await;
        assert_eq!(changes(db.schema_indexes().await.unwrap()), same, "after a first import");
        assert_eq!(db.member_locations(&keys).await.unwrap().len(), 40);
        let found = db.households_by_no(&[data[7].household.household_no.clone()]).await.unwrap();
        assert_eq!(found[0].members.len(), 2);

        // a later import (the registry no longer empty) keeps its indexes live
        let w = db.begin_import(&Actor::cli(), at(), &meta).await.unwrap();
        assert!(w.deferred_indexes().is_empty());
        drop(w);
        seed(&db, data[20..].to_vec()).await;
        assert_eq!(changes(db.schema_indexes().await.unwrap()), same, "after a second import");
        assert_eq!(db.member_locations(&keys).await.unwrap().len(), 60);
    })
    .await;
}

#[tokio::test]
async fn bulk_path_handles_thousands() {
    on_both(|db| async move {
        let data: Vec<_> = (1..=1500).map(|n| incoming(n, DAZHENG)).collect();
        let out = seed(&db, data).await;
        assert_eq!((out.created, out.members_written), (1500, 3000));
        let p = db.list_households(&Scope::system(), &HouseholdFilter::default(), None, 10).await.unwrap();
        assert_eq!(p.total, 1500);
        let (batch, next) = db.export_batch(&Scope::system(), &HouseholdFilter::default(), None, 500).await.unwrap();
        assert_eq!(batch.len(), 500);
        assert!(batch.iter().all(|d| d.members.len() == 2 && d.incomes.len() == 1));
        assert!(next.is_some());
    })
    .await;
}

#[tokio::test]
async fn audit_log_is_append_only_and_tampering_is_found() {
    on_both(|db| async move {
        seed(&db, vec![incoming(1, DAZHENG)]).await;
        let entries: Vec<_> = (0..5)
            .map(|i| AuditEntry::new(at(), &Actor::cli(), AuditAction::Export, "export", i).note(format!("导出 {i}")))
            .collect();
        db.append_audit(&entries).await.unwrap();
        let v = store::verify_audit(&db).await.unwrap();
        assert_eq!((v.rows, v.last_id), (7, 7));
        assert_eq!(v.last_hash.len(), 64);
        // the database itself refuses changes
        assert!(db.execute_raw("UPDATE audit_log SET note = 'x' WHERE id = 3").await.is_err());
        assert!(db.execute_raw("DELETE FROM audit_log WHERE id = 3").await.is_err());
        if db.backend() == store::Backend::Postgres {
            assert!(db.execute_raw("TRUNCATE audit_log").await.is_err(), "TRUNCATE bypasses row triggers: guarded too");
        }
        // someone with database access disables the guard and edits a row: verify names it
        let disable = match db.backend() {
            store::Backend::Sqlite => "DROP TRIGGER audit_log_no_update",
            store::Backend::Postgres => "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
        };
        db.execute_raw(disable).await.unwrap();
        db.execute_raw("UPDATE audit_log SET note = '改过' WHERE id = 4").await.unwrap();
        let err = store::verify_audit(&db).await.unwrap_err();
        assert!(matches!(err, store::AuditVerifyError::Broken(domain::audit::ChainBreak::Altered { id: 4 })), "{err}");
    })
    .await;
}

/// A department file's rows written in bulk: rows of one household and period in one file make
/// one alert that shows the highest amount with its member and the latest item; a second file
/// updates the stored alert; unmatched rows are kept for review with their cells.
#[tokio::test]
async fn a_department_file_merges_rows_into_alerts_and_keeps_unmatched_rows() {
    use domain::feed::{AlertDraft, FeedKind, Unmatched};
    on_both(|db| async move {
        seed(&db, vec![incoming(1, DAZHENG), incoming(2, DAZHENG)]).await;
        let scope = Scope::system();
        let mut hh = Vec::new();
        for n in [1, 2] {
            let no = HouseholdNo::parse(&format!("{DAZHENG}{n:04}")).unwrap();
            hh.push(db.household(&scope, &no).await.unwrap().unwrap());
        }
        let day = NaiveDate::from_ymd_opt(2022, 4, 2).unwrap();
        let draft = |h: &HouseholdDetail, m: usize, value: Option<i64>, item: &str, line: usize| AlertDraft {
            household_id: h.record.id,
            village: h.record.household.village,
            member_id: h.members[m].id.0,
            member_name: h.members[m].member.name.as_str().to_string(),
            kind: FeedKind::MedicalSelfPaid,
            value: value.map(Fen),
            threshold: (line == 2).then_some(Fen(500_000)),
            period: "2022-03".into(),
            item: item.into(),
            raised_on: day,
            due_on: day + chrono::Days::new(10),
            line,
            // what COPY must escape on PostgreSQL
            evidence: format!("{{\"行\":{line},\"备注\":\"a\\tb\\\\c\\nd\t\"}}"),
        };
        let batch = |file: &str| FeedBatch {
            id: 0,
            kind: FeedKind::MedicalSelfPaid,
            file_name: file.into(),
            sha256: file.repeat(64)[..64].to_string(),
            region: None,
            rows_read: 4,
            rows_matched: 3,
            rows_unmatched: 1,
            rows_quiet: 0,
            alerts_raised: 0,
            alerts_updated: 0,
            facts_added: 0,
            imported_by: "测试".into(),
            imported_at: at(),
        };
        let alerts = vec![
            draft(&hh[0], 0, Some(600_000), "门诊", 2),
            draft(&hh[0], 1, Some(900_000), "住院", 3),
            draft(&hh[0], 0, None, "复查", 4),
            draft(&hh[1], 1, Some(700_000), "住院", 5),
        ];
        let unmatched = vec![Unmatched {
            line: 6,
            name: "查无此人".into(),
            id_text: "450203199901011234".into(),
            birth: Some(NaiveDate::from_ymd_opt(1999, 1, 1).unwrap()),
            village: "大正村".into(),
            reason: "本辖区登记的人员中没有该证件号码".into(),
            evidence: "{}".into(),
            amount: Some(Fen(123_456)),
            item: "门诊".into(),
            period: "2022-03".into(),
        }];
        let o = db.record_feed(&Actor::cli(), at(), &batch("a"), &alerts, &[], &unmatched).await.unwrap();
        assert_eq!((o.raised, o.updated, o.unchanged), (2, 2, 0));
        let get = |h: &HouseholdDetail| {
            let db = db.clone();
            let id = h.record.id;
            async move {
                let page = db.alerts(&scope, &AlertFilter { household: Some(id), ..Default::default() }, 10).await;
                let a = page.unwrap().items.pop().expect("one alert");
                db.alert(&scope, None, a.id).await.unwrap().unwrap()
            }
        };
        let (a, rows) = get(&hh[0]).await;
        assert_eq!(a.value, Some(Fen(900_000)), "the highest amount");
        assert_eq!(a.member_name, hh[0].members[1].member.name.as_str(), "with its member");
        assert_eq!(a.item, "复查", "a row without an amount still brings its item");
        assert_eq!(a.threshold, Some(Fen(500_000)));
        assert_eq!((a.rows, a.version, rows.len()), (3, 3, 3));
        assert_eq!(rows.iter().map(|r| r.line).collect::<std::collections::BTreeSet<_>>(), [2, 3, 4].into());
        let written = rows.iter().find(|r| r.line == 2).unwrap();
        assert_eq!(written.evidence, alerts[0].evidence);
        let (b, _) = get(&hh[1]).await;
        assert_eq!((b.value, b.rows, b.version), (Some(Fen(700_000)), 1, 1));

        // next month's file again has the first household's stay, higher: the stored alert moves
        let o = db
            .record_feed(&Actor::cli(), at(), &batch("b"), &[draft(&hh[0], 0, Some(950_000), "住院", 7)], &[], &[])
            .await
            .unwrap();
        assert_eq!((o.raised, o.updated), (0, 1));
        let (a, rows) = get(&hh[0]).await;
        assert_eq!(
            (a.value, a.member_name.as_str(), a.rows, a.version, rows.len()),
            (Some(Fen(950_000)), hh[0].members[0].member.name.as_str(), 4, 4, 4)
        );

        let u = db.unmatched_rows(&scope, true, 10, None).await.unwrap().items;
        assert_eq!(u.len(), 1);
        assert_eq!((u[0].line, u[0].amount, u[0].birth), (6, Some(Fen(123_456)), unmatched[0].birth));
        assert_eq!((u[0].name.as_str(), u[0].village.as_str()), ("查无此人", "大正村"));
        store::verify_audit(&db).await.unwrap();
    })
    .await;
}

/// Department alerts and tasks are listed and counted by their household's village (kept on the
/// row, migration 0019): a household that moves takes its alerts and tasks to the new village's
/// lists, counts and dashboard groups, and the old village no longer sees them; a finding written
/// from a read made before the move is filed under the new village too.
#[tokio::test]
async fn department_alerts_and_tasks_follow_their_household_to_a_new_village() {
    use domain::feed::{AlertDraft, AlertStatus, FeedKind};
    use domain::measure::{Department, MeasureCategory};
    on_both(|db| async move {
        seed(&db, vec![incoming(1, DAZHENG), incoming(2, DAZHENG)]).await;
        let scope = Scope::system();
        let no = HouseholdNo::parse(&format!("{DAZHENG}0001")).unwrap();
        let before = db.household(&scope, &no).await.unwrap().unwrap();
        let day = NaiveDate::from_ymd_opt(2022, 4, 2).unwrap();
        let alert = AlertDraft {
            household_id: before.record.id,
            village: before.record.household.village,
            member_id: before.members[0].id.0,
            member_name: before.members[0].member.name.as_str().to_string(),
            kind: FeedKind::MedicalSelfPaid,
            value: Some(Fen(900_000)),
            threshold: None,
            period: "2022-03".into(),
            item: "住院".into(),
            raised_on: day,
            due_on: day + chrono::Days::new(10),
            line: 2,
            evidence: "{}".into(),
        };
        let batch = FeedBatch {
            id: 0,
            kind: FeedKind::MedicalSelfPaid,
            file_name: "医保.csv".into(),
            sha256: "a".repeat(64),
            region: None,
            rows_read: 1,
            rows_matched: 1,
            rows_unmatched: 0,
            rows_quiet: 0,
            alerts_raised: 0,
            alerts_updated: 0,
            facts_added: 0,
            imported_by: "测试".into(),
            imported_at: at(),
        };
        // and an alert of a household of the other village, so that each village has one
        let other =
            db.household(&scope, &HouseholdNo::parse(&format!("{DAZHENG}0002")).unwrap()).await.unwrap().unwrap();
        let mut h = other.record.household.clone();
        h.village = village(DONGTANG);
        db.save_household(&Actor::cli(), at(), &other, &h).await.unwrap();
        let other = db.household(&scope, &h.household_no).await.unwrap().unwrap();
        let second = AlertDraft {
            household_id: other.record.id,
            village: other.record.household.village,
            member_id: other.members[1].id.0,
            member_name: other.members[1].member.name.as_str().to_string(),
            line: 3,
            ..alert.clone()
        };
        db.record_feed(&Actor::cli(), at(), &batch, &[alert, second], &[], &[]).await.unwrap();
        // a page at a time, newest first, with the columns looked up for the page's rows
        let mut paged = Vec::new();
        let mut cursor = None;
        loop {
            let page = db.alerts(&scope, &AlertFilter { before: cursor, ..Default::default() }, 1).await.unwrap();
            assert_eq!(page.total, 2);
            paged.extend(page.items.iter().map(|a| (a.id, a.head_name.clone(), a.rows)));
            match page.next {
                Some(n) => cursor = Some(n.parse().unwrap()),
                None => break,
            }
        }
        assert_eq!(paged.len(), 2);
        assert!(paged[0].0 > paged[1].0, "newest first: {paged:?}");
        let heads = [other.members[0].member.name.as_str(), before.members[0].member.name.as_str()];
        assert!(paged.iter().all(|p| p.2 == 1 && heads.contains(&p.1.as_deref().unwrap_or(""))), "{paged:?}");
        let task = NewDepartmentTask {
            department: Department::Housing,
            category: MeasureCategory::Housing,
            reason: "住房安全待鉴定".into(),
            due_on: day + chrono::Days::new(10),
        };
        db.push_department_tasks(&Actor::cli(), at(), &before, &[task]).await.unwrap();

        // what each village sees: (alerts listed, tasks listed, alert counts, open task groups)
        let seen = |code: u64| {
            let db = db.clone();
            async move {
                let region = Some(village(code));
                let alerts = db.alerts(&scope, &AlertFilter { region, ..Default::default() }, 10).await.unwrap();
                let tasks = db
                    .department_tasks(&scope, &DepartmentTaskFilter { region, ..Default::default() }, 10)
                    .await
                    .unwrap();
                let counts = db.alert_village_counts(&scope, region).await.unwrap();
                let groups = db.open_department_task_groups(&scope, region).await.unwrap();
                assert_eq!(alerts.items.len() as i64, alerts.total);
                assert_eq!(tasks.items.len() as i64, tasks.total);
                assert!(alerts.items.iter().all(|a| a.village == village(code)));
                assert!(tasks.items.iter().all(|t| t.village == village(code)));
                assert!(counts.iter().all(|c| c.0 == village(code)));
                assert!(groups.iter().all(|g| g.0 == village(code)));
                (
                    alerts.total,
                    tasks.total,
                    counts.iter().filter(|c| c.1 == AlertStatus::Open).map(|c| c.2).sum::<i64>(),
                    groups.iter().map(|g| g.2).sum::<i64>(),
                )
            }
        };
        assert_eq!(seen(DAZHENG).await, (1, 1, 1, 1));
        assert_eq!(seen(DONGTANG).await, (1, 0, 1, 0));

        let mut h = before.record.household.clone();
        h.village = village(DONGTANG);
        db.save_household(&Actor::cli(), at(), &before, &h).await.unwrap();
        assert_eq!(seen(DAZHENG).await, (0, 0, 0, 0), "nothing left behind");
        assert_eq!(seen(DONGTANG).await, (2, 1, 2, 1), "all of it moved");
        let counts = db.alert_counts(&scope, Some(village(DONGTANG))).await.unwrap();
        assert_eq!(counts, vec![(FeedKind::MedicalSelfPaid, AlertStatus::Open, 2)]);

        // a screening that read the household before the move files its finding where it is now
        let finding = test_finding(domain::rules::FindingCode::DataError, "X");
        let stale = HouseholdFindings {
            household_id: before.record.id,
            village: before.record.household.village,
            findings: vec![finding],
        };
        db.record_findings(at(), day, None, &[stale]).await.unwrap();
        for (code, n) in [(DAZHENG, 0), (DONGTANG, 1)] {
            let filter = FindingFilter { region: Some(village(code)), ..Default::default() };
            assert_eq!(db.findings(&scope, &filter, 10).await.unwrap().total, n, "findings in {code}");
        }
    })
    .await;
}

/// PostgreSQL only (SQLite has one writer): a campaign's tasks and a look-back's items copy their
/// households' village and group in one statement over the whole region, without row locks. A
/// household that moves, or changes group, while such a creation has not yet committed must still
/// end with its new task and look-back item on its new place. The creation is held open after its
/// copy by holding the audit chain's lock (7301), which it takes next. (The change waits for the
/// creation to commit; without that it rewrote the copies before they were visible.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_during_a_campaign_creation_or_a_look_back_takes_the_new_rows_along() {
    use domain::ports::{CampaignStore, LookBackFilter, TaskFilter};
    use sqlx::Connection;
    let Some(t) = TestDb::postgres().await else { return };
    let db = t.db.clone();
    seed(&db, vec![incoming(1, DAZHENG), incoming(2, DAZHENG)]).await;
    let scope = Scope::system();
    let mut holder = sqlx::PgConnection::connect(&t.url).await.unwrap();
    // outside the holder's transaction, which would see one frozen copy of pg_stat_activity
    let mut watcher = sqlx::PgConnection::connect(&t.url).await.unwrap();
    async fn until_waiting(c: &mut sqlx::PgConnection, n: i64) {
        // up to 30 s on a loaded machine
        for _ in 0..3000 {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&mut *c)
            .await
            .unwrap();
            if waiting >= n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("{n} sessions never waited for a lock");
    }
    // household `n` to `village`, group 4, in a task of its own
    let move_to = |n: u32, to: u64| {
        let db = db.clone();
        tokio::spawn(async move {
            let no = HouseholdNo::parse(&format!("{DAZHENG}{n:04}")).unwrap();
            let before = db.household(&Scope::system(), &no).await.unwrap().unwrap();
            let mut h = before.record.household.clone();
            h.village = village(to);
            h.group_no = 4;
            db.save_household(&Actor::cli(), at(), &before, &h).await.unwrap();
        })
    };

    // 1. a campaign is being created when household 1 changes group (a change of village also
    // waits for the tasks' foreign-key locks; a change of group took no lock at all)
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(7301)").execute(&mut holder).await.unwrap();
    let creation = {
        let db = db.clone();
        tokio::spawn(async move {
            let new = domain::campaign::CampaignDefinition {
                name: "雒容镇2022年集中排查".into(),
                region: RegionCode::parse("450203100000").unwrap(),
                policy_year: 2022,
                phases: domain::campaign::seed_phases(2022),
            };
            db.create_campaign(&Actor::cli(), at(), &new).await.unwrap().0
        })
    };
    until_waiting(&mut watcher, 1).await; // the tasks are copied, the audit waits
    let moving = move_to(1, DAZHENG);
    until_waiting(&mut watcher, 2).await;
    sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
    let campaign = creation.await.unwrap();
    moving.await.unwrap();
    let tasks = |region: u64| {
        let db = db.clone();
        async move {
            let f = TaskFilter {
                campaign: campaign.id,
                region: Some(village(region)),
                group_no: None,
                screener: None,
                status: None,
                after: None,
            };
            let page = db.tasks(&Scope::system(), &f, 10).await.unwrap();
            page.items.into_iter().map(|t| (t.household_no.to_string(), t.group_no)).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        tasks(DAZHENG).await,
        vec![(format!("{DAZHENG}0002"), 3), (format!("{DAZHENG}0001"), 4)],
        "household 1's task is in its new group (in group order)"
    );

    // 2. the look-back list is being generated when household 2 moves to 东塘 (the items' foreign
    // key locks their tasks, which a move updates without waiting)
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(7301)").execute(&mut holder).await.unwrap();
    let generation = {
        let db = db.clone();
        tokio::spawn(async move {
            db.generate_look_back(&Actor::cli(), at(), NaiveDate::from_ymd_opt(2022, 5, 5).unwrap(), campaign.id)
                .await
                .unwrap()
        })
    };
    until_waiting(&mut watcher, 1).await;
    let moving = move_to(2, DONGTANG);
    until_waiting(&mut watcher, 2).await;
    sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
    assert_eq!(generation.await.unwrap(), 2, "neither household has been visited");
    moving.await.unwrap();
    assert_eq!(tasks(DONGTANG).await, vec![(format!("{DAZHENG}0002"), 4)]);
    // the items' own copy of the place, which the list's region filter reads
    let in_village = |v: u64| LookBackFilter {
        campaign: campaign.id,
        region: Some(village(v)),
        reason: None,
        pending_only: false,
        after: None,
    };
    let listed = |page: Page<domain::campaign::LookBackItem>| {
        page.items.into_iter().map(|l| l.task.household_no.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(listed(db.look_back(&scope, &in_village(DONGTANG), 10).await.unwrap()), vec![format!("{DAZHENG}0002")]);
    assert_eq!(listed(db.look_back(&scope, &in_village(DAZHENG), 10).await.unwrap()), vec![format!("{DAZHENG}0001")]);
    holder.close().await.unwrap();
    watcher.close().await.unwrap();
    t.cleanup().await;
}

/// Audit entries appended at the same moment by many callers (64 镇专项办 viewing households)
/// share transactions: every one is written, each caller's entries stay together and in order,
/// and the chain verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_audit_appends_are_group_committed_in_one_chain() {
    on_both(|db| async move {
        let callers = 64;
        let transactions = db.audit_transactions();
        let tasks: Vec<_> = (0..callers)
            .map(|c| {
                let db = db.clone();
                tokio::spawn(async move {
                    let entries: Vec<_> = (0..1 + c % 3)
                        .map(|i| {
                            AuditEntry::new(at(), &Actor::cli(), AuditAction::ViewSensitive, "household", c)
                                .note(format!("{c}-{i}"))
                        })
                        .collect();
                    db.append_audit(&entries).await.unwrap();
                    entries.len()
                })
            })
            .collect();
        let mut written = 0;
        for t in tasks {
            written += t.await.unwrap();
        }
        // they arrive within microseconds of each other, a commit takes milliseconds
        let used = db.audit_transactions() - transactions;
        eprintln!("{used} audit transactions for {callers} callers");
        assert!(used < callers as u64 / 2, "{used} transactions for {callers} callers");
        let v = store::verify_audit(&db).await.unwrap();
        assert_eq!(v.rows as usize, written);
        let rows = db.audit_chain(1, 1000).await.unwrap();
        for c in 0..callers {
            let mine: Vec<_> = rows.iter().filter(|r| r.entry.entity_id == c.to_string()).collect();
            assert_eq!(mine.len() as i64, 1 + c % 3, "caller {c}");
            for (i, r) in mine.iter().enumerate() {
                assert_eq!(r.entry.note, format!("{c}-{i}"));
                assert_eq!(r.id, mine[0].id + i as i64, "caller {c}'s entries are together");
            }
        }
    })
    .await;
}

/// A store outlives the runtime its audit writer started on (one runtime per test, or a
/// command that opens the store before its server): the next append starts a new writer.
#[test]
fn audit_appends_work_again_on_a_new_runtime() {
    let rt = || tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let t = rt().block_on(async {
        let t = TestDb::sqlite().await;
        t.db.append_audit(&[AuditEntry::new(at(), &Actor::cli(), AuditAction::Export, "export", 1)]).await.unwrap();
        t
    });
    rt().block_on(async {
        t.db.append_audit(&[AuditEntry::new(at(), &Actor::cli(), AuditAction::Export, "export", 2)]).await.unwrap();
        assert_eq!(store::verify_audit(&t.db).await.unwrap().rows, 2);
        t.cleanup().await;
    });
}

#[tokio::test]
async fn users_sessions_and_lockout() {
    on_both(|db| async move {
        seed(&db, vec![]).await;
        let new = NewUser {
            username: Username::parse("dazheng").unwrap(),
            display_name: "大正村干部".into(),
            role: Role::VillageCadre,
            region: village(DAZHENG),
            password_hash: "$argon2id$fake".into(),
        };
        let u = db.create_user(&Actor::cli(), at(), &new).await.unwrap();
        assert!(matches!(db.create_user(&Actor::cli(), at(), &new).await, Err(StoreError::Duplicate(m)) if m.contains("dazheng")));
        let (found, hash) = db.user_by_username("DaZheng").await.unwrap().unwrap();
        assert_eq!((found.id, hash.as_str()), (u.id, "$argon2id$fake"));
        assert_eq!(db.count_users().await.unwrap(), 1);

        let lock = at() + chrono::Duration::minutes(15);
        let failed = |n: i32| vec![AuditEntry::new(at(), &Actor::cli(), AuditAction::LoginFailed, "user", u.id.0).note(format!("第{n}次"))];
        for i in 1..=4 {
            let u2 = db.record_login_failure(u.id, 5, lock, false, &failed(i)).await.unwrap();
            assert_eq!((u2.failed_logins, u2.locked_until), (i, None));
        }
        let locked = db.record_login_failure(u.id, 5, lock, false, &failed(5)).await.unwrap();
        assert_eq!(locked.locked_until, Some(lock));
        assert!(locked.is_locked(at()));
        // after the lock has run out, one more failure counts from 1 and does not lock again
        let restarted = db.record_login_failure(u.id, 5, lock, true, &failed(1)).await.unwrap();
        assert_eq!((restarted.failed_logins, restarted.locked_until), (1, None));
        let unlock = AuditEntry::new(at(), &Actor::cli(), AuditAction::Update, "user", u.id.0).note("解锁");
        db.reset_login_failures(u.id, &[unlock]).await.unwrap();
        let u3 = db.user(u.id).await.unwrap().unwrap();
        assert_eq!((u3.failed_logins, u3.locked_until), (0, None));
        let rows = db.audit_rows(&AuditFilter { entity: Some("user".into()), ..Default::default() }, 20).await.unwrap();
        assert_eq!(rows.iter().filter(|r| r.entry.action == AuditAction::LoginFailed).count(), 6, "audited with the change");
        assert_eq!(rows[0].entry.note, "解锁");

        let login = AuditEntry::new(at(), &Actor::cli(), AuditAction::Login, "user", u.id.0);
        db.create_session("h1", u.id, SessionKind::Web, "csrf1", at(), None, &[login]).await.unwrap();
        let s = db.session("h1").await.unwrap().unwrap();
        assert_eq!((s.user.id, s.kind, s.csrf_token.as_str()), (u.id, SessionKind::Web, "csrf1"));
        let later = at() + chrono::Duration::minutes(3);
        db.touch_session("h1", later).await.unwrap();
        assert_eq!(db.session("h1").await.unwrap().unwrap().last_seen_at, later);
        // a role change ends the user's sessions
        db.update_user(&Actor::cli(), at(), u.id, "大正村干部", Role::Screener, village(DAZHENG), true).await.unwrap();
        assert!(db.session("h1").await.unwrap().is_none());
        db.create_session("h2", u.id, SessionKind::Api, "c", at(), None, &[]).await.unwrap();
        db.set_password(&Actor::cli(), at(), u.id, "$argon2id$new").await.unwrap();
        assert!(db.session("h2").await.unwrap().is_none(), "a new password ends sessions");
        db.create_session("h3", u.id, SessionKind::Web, "c", at(), None, &[]).await.unwrap();
        let logout = AuditEntry::new(at(), &Actor::cli(), AuditAction::Logout, "user", u.id.0);
        db.delete_session("h3", &[logout]).await.unwrap();
        assert!(db.session("h3").await.unwrap().is_none());
        let newest = db.audit_rows(&AuditFilter::default(), 1).await.unwrap();
        assert_eq!(newest[0].entry.action, AuditAction::Logout);
        store::verify_audit(&db).await.unwrap();

        let town = scope_of(Role::TownOffice, 450_203_100_000);
        assert_eq!(db.list_users(&town).await.unwrap().len(), 1);
        assert_eq!(db.list_users(&scope_of(Role::VillageCadre, DONGTANG)).await.unwrap().len(), 0);
    })
    .await;
}

#[tokio::test]
async fn policy_parameters_are_versioned() {
    on_both(|db| async move {
        let gx = RegionCode::parse("450000000000").unwrap();
        let p1 = db
            .set_param(&Actor::cli(), at(), 2022, gx, ParamName::MonitoringLine, 600_000, true, "初值")
            .await
            .unwrap();
        let p2 = db
            .set_param(&Actor::cli(), at(), 2022, gx, ParamName::MonitoringLine, 650_000, true, "示例值")
            .await
            .unwrap();
        assert_eq!((p1.version, p2.version), (1, 2));
        let all = db.params(Some(2022)).await.unwrap();
        assert_eq!(all, vec![p1, p2.clone()]);
        assert!(db.params(Some(2023)).await.unwrap().is_empty());
        let r = domain::params::resolve(&all, 2022, village(DAZHENG), ParamName::MonitoringLine).unwrap();
        assert_eq!(r, &p2);
        assert!(domain::params::resolve(&all, 2023, village(DAZHENG), ParamName::MonitoringLine).is_err());
    })
    .await;
}

#[tokio::test]
async fn findings_live_across_screenings() {
    use domain::ports::{FindingFilter, FindingStatus, FindingStore, HouseholdFindings};
    use domain::rules::{Finding, FindingCode};
    on_both(|db| async move {
        seed(&db, vec![incoming(1, DAZHENG), incoming(2, DONGTANG)]).await;
        let d1 = db.household(&Scope::system(), &incoming(1, DAZHENG).household.household_no).await.unwrap().unwrap();
        let d2 = db.household(&Scope::system(), &incoming(2, DONGTANG).household.household_no).await.unwrap().unwrap();
        let finding = |sub: &'static str, text: &str| Finding {
            code: if sub == "INCOME" { FindingCode::ShouldMonitor } else { FindingCode::DataError },
            sub_code: sub,
            suggested_category: (sub == "INCOME").then_some(MonitoringCategory::MarginalAtRisk),
            rule_id: "TEST",
            rule_version: 1,
            params: vec![],
            inputs: [("k", text.to_string())].into_iter().collect(),
            member_id: None,
            explanation: text.to_string(),
        };
        let as_of = NaiveDate::from_ymd_opt(2022, 3, 28).unwrap();
        let hf = |d: &domain::ports::HouseholdDetail, f: Vec<Finding>| HouseholdFindings {
            household_id: d.record.id,
            village: d.record.household.village,
            findings: f,
        };
        let run = db.begin_screening(&Actor::cli(), at(), as_of, None).await.unwrap();
        let c = db
            .record_findings(
                at(),
                as_of,
                Some(run),
                &[
                    hf(&d1, vec![finding("INCOME", "收入低"), finding("NO_INCOME", "x")]),
                    hf(&d2, vec![finding("INCOME", "也低")]),
                ],
            )
            .await
            .unwrap();
        assert_eq!((c.opened, c.updated, c.resolved), (3, 0, 0));
        db.finish_screening(&Actor::cli(), at(), run, 2, 3, c).await.unwrap();
        let all = db.findings(&Scope::system(), &FindingFilter::default(), 10).await.unwrap();
        assert_eq!(all.total, 3);
        assert_eq!(all.items[0].suggested_category, Some(MonitoringCategory::MarginalAtRisk));
        assert_eq!(all.items[0].inputs, r#"{"k":"收入低"}"#);
        // scope and filters
        let dongtang = scope_of(Role::VillageCadre, DONGTANG);
        let mine = db.findings(&dongtang, &FindingFilter::default(), 10).await.unwrap();
        assert_eq!((mine.total, mine.items[0].household_no.clone()), (1, d2.record.household.household_no.clone()));
        let f = FindingFilter { code: Some(FindingCode::DataError), ..Default::default() };
        assert_eq!(db.findings(&Scope::system(), &f, 10).await.unwrap().total, 1);
        let f = FindingFilter { household: Some(d1.record.id), ..Default::default() };
        assert_eq!(db.findings(&Scope::system(), &f, 10).await.unwrap().total, 2);
        // keyset
        let p1 = db.findings(&Scope::system(), &FindingFilter::default(), 2).await.unwrap();
        let after = p1.next.unwrap().parse().ok();
        let p2 = db.findings(&Scope::system(), &FindingFilter { after, ..Default::default() }, 2).await.unwrap();
        assert_eq!((p1.items.len(), p2.items.len()), (2, 1));
        // dismiss one (out of scope: not found), then screen again
        let d2f = mine.items[0].id;
        let other = db
            .set_finding_status(
                &Actor::cli(),
                at(),
                &scope_of(Role::VillageCadre, DAZHENG),
                d2f,
                FindingStatus::Dismissed,
                "x",
            )
            .await;
        assert!(matches!(other, Err(StoreError::NotFound)));
        let dis = db
            .set_finding_status(&Actor::cli(), at(), &dongtang, d2f, FindingStatus::Dismissed, "已核实，收入另有来源")
            .await
            .unwrap();
        assert_eq!(dis.status, FindingStatus::Dismissed);
        let c = db
            .record_findings(
                at(),
                as_of,
                None,
                &[hf(&d1, vec![finding("INCOME", "收入更低")]), hf(&d2, vec![finding("INCOME", "也低")])],
            )
            .await
            .unwrap();
        assert_eq!((c.opened, c.updated, c.resolved, c.reopened), (0, 2, 1, 0));
        let all = db.findings(&Scope::system(), &FindingFilter::default(), 10).await.unwrap().items;
        let status = |sub: &str, hid: HouseholdId| {
            all.iter().find(|f| f.sub_code == sub && f.household_id == hid).unwrap().clone()
        };
        assert_eq!(status("INCOME", d1.record.id).explanation, "收入更低");
        assert_eq!(status("NO_INCOME", d1.record.id).status, FindingStatus::Resolved);
        assert_eq!(
            status("INCOME", d2.record.id).status,
            FindingStatus::Dismissed,
            "a dismissed finding stays dismissed"
        );
        // it comes back: reopened
        let c = db
            .record_findings(
                at(),
                as_of,
                None,
                &[hf(&d1, vec![finding("INCOME", "收入更低"), finding("NO_INCOME", "x")])],
            )
            .await
            .unwrap();
        assert_eq!(c.reopened, 1);
        // seen again: saying the same (stamped in one statement) or not (rewritten), and the
        // dismissed one saying the same — each with when and as of which day, its status kept
        let (later, later_day) = (at() + chrono::Duration::days(7), NaiveDate::from_ymd_opt(2022, 4, 4).unwrap());
        let c = db
            .record_findings(
                later,
                later_day,
                None,
                &[
                    hf(&d1, vec![finding("INCOME", "收入更低"), finding("NO_INCOME", "y")]),
                    hf(&d2, vec![finding("INCOME", "也低")]),
                ],
            )
            .await
            .unwrap();
        assert_eq!((c.opened, c.updated, c.resolved, c.reopened), (0, 3, 0, 0));
        let again = db.findings(&Scope::system(), &FindingFilter::default(), 10).await.unwrap().items;
        assert_eq!(again.len(), 3);
        for f in &again {
            assert_eq!((f.last_seen, f.as_of), (later, later_day), "{}", f.sub_code);
        }
        let said = |sub: &str, hid: HouseholdId| {
            let f = again.iter().find(|f| f.sub_code == sub && f.household_id == hid).unwrap();
            (f.explanation.clone(), f.status)
        };
        assert_eq!(said("INCOME", d1.record.id), ("收入更低".to_string(), FindingStatus::Open));
        assert_eq!(said("NO_INCOME", d1.record.id), ("y".to_string(), FindingStatus::Open));
        assert_eq!(said("INCOME", d2.record.id), ("也低".to_string(), FindingStatus::Dismissed));
        let counts = db.finding_counts(&Scope::system()).await.unwrap();
        assert!(counts.contains(&(village(DAZHENG), FindingCode::ShouldMonitor, FindingStatus::Open, 1)));
        assert!(counts.contains(&(village(DONGTANG), FindingCode::ShouldMonitor, FindingStatus::Dismissed, 1)));
        let audit = db.audit_rows(&AuditFilter::default(), 10).await.unwrap();
        assert!(audit.iter().any(|r| r.entry.action == AuditAction::Screen));
        assert!(audit.iter().any(|r| r.entry.note.contains("已核实，收入另有来源")));
        store::verify_audit(&db).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn campaigns_cover_every_household_and_assign_tasks() {
    use domain::campaign::{CampaignPhase, FormKind, TaskStatus, form_for, seed_phases};
    use domain::ports::{CampaignStore, ProgressBy, TaskFilter, TaskSelection};
    on_both(|db| async move {
        let mut data: Vec<_> = (1..=10).map(|n| incoming(n, DAZHENG)).collect();
        data.extend((11..=14).map(|n| incoming(n, DONGTANG)));
        seed(&db, data).await;
        let town = RegionCode::parse("450203100000").unwrap();
        let new = domain::campaign::CampaignDefinition {
            name: "雒容镇2022年集中排查".into(),
            region: town,
            policy_year: 2022,
            phases: seed_phases(2022),
        };
        let (c, n) = db.create_campaign(&Actor::cli(), at(), &new).await.unwrap();
        assert_eq!(n, 14, "one task per household");
        assert_eq!(c.visits_due(), NaiveDate::from_ymd_opt(2022, 4, 18));
        assert_eq!(db.sync_tasks(at(), c.id).await.unwrap(), 0, "nothing missing");
        // forms per D13: the SQL that created the tasks agrees with domain::campaign::form_for
        let all = db
            .tasks(
                &Scope::system(),
                &TaskFilter { campaign: c.id, region: None, group_no: None, screener: None, status: None, after: None },
                100,
            )
            .await
            .unwrap();
        assert_eq!(all.total, 14);
        for t in &all.items {
            let d = db.household(&Scope::system(), &t.household_no).await.unwrap().unwrap();
            assert_eq!(t.form, form_for(&d.record.household), "{}", t.household_no);
            assert_eq!(t.status, TaskStatus::Pending);
        }
        assert!(
            all.items.iter().any(|t| t.form == FormKind::Monitored)
                && all.items.iter().any(|t| t.form == FormKind::Exited)
        );
        // keyset order (village, group, 户编号)
        let keys: Vec<_> = all.items.iter().map(|t| (t.village, t.group_no, t.household_no.to_string())).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        // pages of 4 after their cursors give the same tasks once; a made-up cursor before the
        // scope gives the first page (and nothing outside the scope)
        let page = |after: Option<Cursor>, scope: Scope, region: Option<RegionCode>| {
            let db = db.clone();
            async move {
                let f = TaskFilter { campaign: c.id, region, group_no: None, screener: None, status: None, after };
                db.tasks(&scope, &f, 4).await.unwrap()
            }
        };
        let (mut paged, mut after) = (Vec::new(), None);
        loop {
            let p = page(after.clone(), Scope::system(), None).await;
            assert_eq!(p.total, 14);
            paged.extend(p.items.iter().map(|t| (t.village, t.group_no, t.household_no.to_string())));
            match p.next {
                Some(n) => after = Some(Cursor::decode(&n).unwrap()),
                None => break,
            }
        }
        assert_eq!(paged, keys);
        let forged = Some(Cursor { village: 0, group_no: 0, household_no: String::new() });
        let dazheng = scope_of(Role::VillageCadre, DAZHENG);
        let first = page(None, dazheng, Some(village(DAZHENG))).await;
        let p = page(forged, dazheng, Some(village(DAZHENG))).await;
        assert_eq!(p.items.len(), first.items.len());
        assert!(p.items.iter().all(|t| t.village == village(DAZHENG)));
        // who sees the campaign
        assert_eq!(db.campaigns(&scope_of(Role::VillageCadre, DAZHENG)).await.unwrap().len(), 1);
        assert_eq!(db.campaigns(&scope_of(Role::Leader, 450_000_000_000)).await.unwrap().len(), 1);
        let elsewhere = scope_of(Role::VillageCadre, 450_203_101_201);
        assert!(db.campaigns(&elsewhere).await.unwrap().is_empty());
        assert!(db.campaign(&elsewhere, c.id).await.unwrap().is_none());
        // assignment by group, then a selection; never outside the scope
        let dazheng_cadre = scope_of(Role::VillageCadre, DAZHENG);
        let u = UserId(
            db.create_user(
                &Actor::cli(),
                at(),
                &NewUser {
                    username: Username::parse("screener1").unwrap(),
                    display_name: "排查员一".into(),
                    role: Role::Screener,
                    region: village(DAZHENG),
                    password_hash: "x".into(),
                },
            )
            .await
            .unwrap()
            .id
            .0,
        );
        let sel = TaskSelection { village: village(DAZHENG), group_no: Some(1), tasks: vec![] };
        let n1 = db.assign_tasks(&Actor::cli(), at(), &dazheng_cadre, c.id, &sel, Some(u)).await.unwrap();
        assert!(n1 > 0);
        let pick = all.items.iter().find(|t| t.village == village(DAZHENG) && t.group_no == 2).unwrap().id;
        let sel = TaskSelection { village: village(DAZHENG), group_no: None, tasks: vec![pick] };
        assert_eq!(db.assign_tasks(&Actor::cli(), at(), &dazheng_cadre, c.id, &sel, Some(u)).await.unwrap(), 1);
        let other = TaskSelection { village: village(DONGTANG), group_no: None, tasks: vec![] };
        assert!(matches!(
            db.assign_tasks(&Actor::cli(), at(), &dazheng_cadre, c.id, &other, Some(u)).await,
            Err(StoreError::NotFound)
        ));
        let mine = db
            .tasks(
                &Scope::system(),
                &TaskFilter {
                    campaign: c.id,
                    region: None,
                    group_no: None,
                    screener: Some(u),
                    status: None,
                    after: None,
                },
                100,
            )
            .await
            .unwrap();
        assert_eq!(mine.total, n1 + 1);
        assert!(mine.items.iter().all(|t| t.screener_name.as_deref() == Some("排查员一")));
        // progress by village, group and screener; open findings count in
        let villages = db.progress(&Scope::system(), c.id, ProgressBy::Village, None).await.unwrap();
        assert_eq!(villages.iter().map(|r| r.progress.households).sum::<i64>(), 14);
        assert_eq!(villages[0].village, Some(village(DAZHENG)));
        assert_eq!((villages[0].progress.households, villages[0].progress.pending), (10, 10));
        let groups = db.progress(&Scope::system(), c.id, ProgressBy::Group, Some(village(DAZHENG))).await.unwrap();
        assert!(groups.len() > 1 && groups.iter().all(|g| g.village == Some(village(DAZHENG))));
        let screeners = db.progress(&Scope::system(), c.id, ProgressBy::Screener, None).await.unwrap();
        assert!(screeners.iter().any(|s| s.screener == Some(u) && s.progress.households == n1 + 1));
        assert!(screeners.iter().any(|s| s.screener.is_none()), "the unassigned");
        let cadre_view = db.progress(&dazheng_cadre, c.id, ProgressBy::Village, None).await.unwrap();
        assert_eq!(cadre_view.len(), 1, "a cadre's progress is their village's");
        // a household imported later gets its task
        let meta = ImportMeta { file_name: "later.xlsx".into(), file_sha256: "2".repeat(64), rows: 2, warnings: 0 };
        let plan = domain::import::plan(vec![incoming(99, DAZHENG)], vec![]);
        db.apply_import(&Actor::cli(), at(), &meta, &plan).await.unwrap();
        let after = db
            .tasks(
                &Scope::system(),
                &TaskFilter { campaign: c.id, region: None, group_no: None, screener: None, status: None, after: None },
                100,
            )
            .await
            .unwrap();
        assert_eq!(after.total, 15);
        // phases can be changed, audited
        let mut phases = c.phases.clone();
        phases.iter_mut().find(|p| p.phase == CampaignPhase::Screening).unwrap().due_on =
            NaiveDate::from_ymd_opt(2022, 4, 22);
        db.update_phases(&Actor::cli(), at(), c.id, &phases).await.unwrap();
        let c2 = db.campaign(&Scope::system(), c.id).await.unwrap().unwrap();
        assert_eq!(c2.visits_due(), NaiveDate::from_ymd_opt(2022, 4, 22));
        store::verify_audit(&db).await.unwrap();
    })
    .await;
}

/// The dashboard's maintained tallies (migration 0016) equal counting the tables themselves,
/// whatever path wrote them (the store's own writes, or raw SQL), before and after compaction.
#[tokio::test]
async fn tallies_stay_equal_to_the_tables_on_every_write() {
    use domain::campaign::TaskStatus;
    use domain::ports::{
        CampaignStore, FindingFilter, FindingStatus, FindingStore, HouseholdFindings, OversightStore, ProgressBy,
    };
    use domain::region::RegionLevel;
    use domain::rules::FindingCode;
    use std::collections::BTreeMap;
    on_both(|db| async move {
        let mut data: Vec<_> = (1..=10).map(|n| incoming(n, DAZHENG)).collect();
        data.extend((11..=14).map(|n| incoming(n, DONGTANG)));
        seed(&db, data).await;
        let town = RegionCode::parse("450203100000").unwrap();
        let new = domain::campaign::CampaignDefinition {
            name: "雒容镇2022年集中排查".into(),
            region: town,
            policy_year: 2022,
            phases: domain::campaign::seed_phases(2022),
        };
        let (c, _) = db.create_campaign(&Actor::cli(), at(), &new).await.unwrap();
        let (from, to) = (NaiveDate::from_ymd_opt(2022, 1, 1).unwrap(), NaiveDate::from_ymd_opt(2022, 5, 4).unwrap());
        let as_of = NaiveDate::from_ymd_opt(2022, 3, 28).unwrap();
        let finding = test_finding;
        let mut hf = Vec::new();
        for n in [1, 2, 11] {
            let no = incoming(n, if n > 10 { DONGTANG } else { DAZHENG }).household.household_no;
            let d = db.household(&Scope::system(), &no).await.unwrap().unwrap();
            hf.push(HouseholdFindings {
                household_id: d.record.id,
                village: d.record.household.village,
                findings: vec![finding(FindingCode::ShouldMonitor, "INCOME"), finding(FindingCode::DataError, "X")],
            });
        }
        db.record_findings(at(), as_of, None, &hf).await.unwrap();

        // what the tallies say, against counting the tables
        let check = |label: &'static str| {
            let db = db.clone();
            async move {
                let t = db.tallies(&Scope::system(), None, RegionLevel::Village, Some(c.id), from, to).await.unwrap();
                let households: BTreeMap<(RegionCode, i16), i64> =
                    t.households.iter().map(|(v, s, n)| ((*v, s.code()), *n)).collect();
                let monitored_by: BTreeMap<(Option<i16>, Option<i16>), i64> =
                    t.monitored_by.iter().map(|(c, r, n)| ((c.map(|c| c.code()), r.map(|r| r.code())), *n)).collect();
                let (mut counted, mut counted_by): (BTreeMap<_, i64>, BTreeMap<_, i64>) = Default::default();
                let (mut included, mut eliminated): (BTreeMap<RegionCode, i64>, BTreeMap<RegionCode, i64>) =
                    Default::default();
                for g in db.monitoring_groups(&Scope::system(), None, from, to).await.unwrap() {
                    *counted.entry((g.village, g.status.code())).or_default() += g.count;
                    if g.status == domain::household::MonitoringStatus::Monitored {
                        *counted_by.entry((g.category.map(|c| c.code()), g.risk.map(|r| r.code()))).or_default() +=
                            g.count;
                    }
                    *included.entry(g.village).or_default() += if g.included_in_period { g.count } else { 0 };
                    *eliminated.entry(g.village).or_default() += if g.eliminated_in_period { g.count } else { 0 };
                }
                assert_eq!(households, counted, "{label}: households");
                assert_eq!(monitored_by, counted_by, "{label}: monitored by category and main risk");
                included.retain(|_, n| *n > 0);
                eliminated.retain(|_, n| *n > 0);
                assert_eq!(t.included.iter().copied().collect::<BTreeMap<_, _>>(), included, "{label}: included");
                assert_eq!(t.eliminated.iter().copied().collect::<BTreeMap<_, _>>(), eliminated, "{label}: eliminated");
                // per town: the villages' counts summed
                let town = db.tallies(&Scope::system(), None, RegionLevel::Town, Some(c.id), from, to).await.unwrap();
                let mut by_town: BTreeMap<(RegionCode, i16), i64> = BTreeMap::new();
                for ((v, s), n) in &households {
                    *by_town.entry((v.ancestor(RegionLevel::Town), *s)).or_default() += n;
                }
                assert_eq!(town.households.iter().map(|(v, s, n)| ((*v, s.code()), *n)).collect::<BTreeMap<_, _>>(), by_town);
                assert_eq!(town.monitored_by, t.monitored_by);
                assert_eq!(
                    town.findings.iter().map(|x| x.3).sum::<i64>(),
                    t.findings.iter().map(|x| x.3).sum::<i64>(),
                    "{label}: findings per town"
                );
                let progress = db.progress(&Scope::system(), c.id, ProgressBy::Village, None).await.unwrap();
                for p in &progress {
                    let v = p.village.unwrap();
                    let n = |s: TaskStatus| t.tasks.iter().filter(|x| x.0 == v && x.1 == s).map(|x| x.2).sum::<i64>();
                    let p = &p.progress;
                    assert_eq!(
                        (n(TaskStatus::Pending), n(TaskStatus::RemoteOnly), n(TaskStatus::Visited), n(TaskStatus::NotReached)),
                        (p.pending, p.remote_only, p.visited, p.not_reached),
                        "{label}: tasks of {v}"
                    );
                }
                assert_eq!(t.tasks.iter().map(|x| x.2).sum::<i64>(), progress.iter().map(|p| p.progress.households).sum::<i64>());
                let all = db.findings(&Scope::system(), &FindingFilter::default(), 1000).await.unwrap().items;
                let mut findings: BTreeMap<(RegionCode, FindingCode, FindingStatus), i64> = BTreeMap::new();
                for f in &all {
                    *findings.entry((f.village, f.code, f.status)).or_default() += 1;
                }
                let tallied: BTreeMap<_, _> = t.findings.iter().map(|(v, c, s, n)| ((*v, *c, *s), *n)).collect();
                assert_eq!(tallied, findings, "{label}: findings");
                t
            }
        };
        let first = check("after the store's writes").await;
        assert_eq!(first.households.iter().map(|g| g.2).sum::<i64>(), 14);
        assert_eq!(first.tasks.iter().map(|x| x.2).sum::<i64>(), 14);
        assert_eq!(first.findings.iter().map(|x| x.3).sum::<i64>(), 6);

        // any write path keeps them: raw SQL moves statuses, a household, deletes a task
        let visited = TaskStatus::Visited.code();
        let remote = TaskStatus::RemoteOnly.code();
        db.execute_raw(&format!("UPDATE screening_tasks SET status = {visited} WHERE id % 2 = 0")).await.unwrap();
        db.execute_raw(&format!("UPDATE screening_tasks SET status = {remote} WHERE id % 3 = 0")).await.unwrap();
        db.execute_raw("DELETE FROM screening_tasks WHERE id = (SELECT MIN(id) FROM screening_tasks)").await.unwrap();
        let monitored = domain::household::MonitoringStatus::Monitored.code();
        let eliminated = domain::household::MonitoringStatus::Eliminated.code();
        let category = MonitoringCategory::SuddenHardship.code();
        db.execute_raw(&format!(
            "UPDATE households SET monitoring_status = {monitored}, monitoring_category = {category}, risks = '3,1',
             monitored_since = '2022-04-02' WHERE household_no LIKE '%0003' OR household_no LIKE '%0012'"
        ))
        .await
        .unwrap();
        db.execute_raw(&format!(
            "UPDATE households SET monitoring_status = {eliminated}, eliminated_on = '2022-04-20' WHERE household_no LIKE '%0007'"
        ))
        .await
        .unwrap();
        db.execute_raw(&format!("UPDATE households SET village_code = {DONGTANG} WHERE household_no LIKE '%0004'"))
            .await
            .unwrap();
        // a later screening resolves some findings, dismisses one
        db.record_findings(at(), as_of, None, &hf[..1]).await.unwrap();
        db.execute_raw(&format!(
            "UPDATE findings SET status = {} WHERE id = (SELECT MAX(id) FROM findings)",
            FindingStatus::Dismissed.code()
        ))
        .await
        .unwrap();
        let second = check("after raw writes").await;
        assert_ne!(first, second, "the writes changed the counts");
        assert_eq!(second.tasks.iter().map(|x| x.2).sum::<i64>(), 13, "a task deleted");
        assert!(second.included.iter().map(|x| x.1).sum::<i64>() >= 2, "two included in the period");

        // compaction folds the rows and changes no count; twice is the same
        assert!(db.tally_backlog().await.unwrap() > 0, "the writes are a backlog");
        let folded = db.compact_tallies().await.unwrap();
        assert!(folded > 0);
        assert_eq!(db.tally_backlog().await.unwrap(), 0, "nothing written since");
        assert_eq!(check("after compaction").await, second);
        db.compact_tallies().await.unwrap();
        assert_eq!(db.tally_backlog().await.unwrap(), 0, "another fold (another process) leaves no backlog");
        assert_eq!(check("after compacting again").await, second);
        // and writes after compaction still count
        db.execute_raw(&format!("UPDATE screening_tasks SET status = {visited}")).await.unwrap();
        let moved: i64 = second.tasks.iter().filter(|x| x.1 != TaskStatus::Visited).map(|x| x.2).sum();
        assert!(moved > 0);
        assert_eq!(
            db.tally_backlog().await.unwrap() as i64,
            2 * moved,
            "a -1 and a +1 per task moved, none for the others"
        );
        let third = check("after a write on compacted tallies").await;
        assert_eq!(third.tasks.iter().filter(|x| x.1 == TaskStatus::Visited).map(|x| x.2).sum::<i64>(), 13);
    })
    .await;
}

/// The first-measures clock kept on the household by triggers (migration 0017) groups the same
/// households as the 时限 list, which reads measures and officers directly — whatever writes them.
#[tokio::test]
async fn measure_gaps_kept_on_the_household_equal_the_list() {
    use domain::ports::MeasureStore;
    use std::collections::BTreeMap;
    on_both(|db| async move {
        let mut data: Vec<_> = (1..=10).map(|n| incoming(n, DAZHENG)).collect();
        data.extend((11..=14).map(|n| incoming(n, DONGTANG)));
        seed(&db, data).await;
        let check = |label: &'static str| {
            let db = db.clone();
            async move {
                let groups = db.measure_gap_groups(&Scope::system(), None).await.unwrap();
                let grouped: BTreeMap<(RegionCode, NaiveDate, Option<NaiveDate>), i64> =
                    groups.iter().map(|g| ((g.village, g.monitored_since, g.first_officer), g.count)).collect();
                let list = db.measure_gaps(&Scope::system(), None, 1000).await.unwrap();
                let mut listed: BTreeMap<(RegionCode, NaiveDate, Option<NaiveDate>), i64> = BTreeMap::new();
                for g in &list.items {
                    *listed.entry((g.village, g.monitored_since, g.assigned_on)).or_default() += 1;
                }
                assert_eq!(grouped, listed, "{label}");
                list.items.len()
            }
        };
        let ts = if db.backend() == store::Backend::Sqlite { "'2022-04-01 00:00:00+00:00'" } else { "now()" };
        // monitored from 2022-04-02: every odd household (a raw write: the triggers see it)
        db.execute_raw(
            "UPDATE households SET monitoring_status = 1, monitoring_category = 2, monitored_since = '2022-04-02'
             WHERE id % 2 = 1",
        )
        .await
        .unwrap();
        let all = check("all monitored, nothing done").await;
        assert!(all >= 7);
        let measure = |hid: &str, on: &str, status: i16| {
            format!(
                "INSERT INTO measures (household_id, category, content, planned_on, status, created_by, created_at, updated_at)
                 VALUES ({hid}, 1, '产业帮扶', '{on}', {status}, 'test', {ts}, {ts})"
            )
        };
        let officer = |hid: &str, from: &str, to: &str| {
            format!(
                "INSERT INTO officer_assignments (household_id, name, unit, started_on, ended_on, assigned_by, assigned_at)
                 VALUES ({hid}, '帮扶人', '镇政府', '{from}', {to}, 'test', {ts})"
            )
        };
        let first = "(SELECT MIN(id) FROM households WHERE monitoring_status = 1)";
        let second = "(SELECT MIN(id) + 2 FROM households WHERE monitoring_status = 1)";
        let third = "(SELECT MIN(id) + 4 FROM households WHERE monitoring_status = 1)";
        // a measure after inclusion counts, one before it or cancelled does not
        db.execute_raw(&measure(first, "2022-04-10", 1)).await.unwrap();
        db.execute_raw(&measure(second, "2022-03-01", 1)).await.unwrap();
        db.execute_raw(&measure(third, "2022-04-10", 4)).await.unwrap();
        // officers: one started after inclusion, one kept from before (active), one ended before
        db.execute_raw(&officer(second, "2022-04-05", "NULL")).await.unwrap();
        db.execute_raw(&officer(third, "2021-06-01", "NULL")).await.unwrap();
        db.execute_raw(&officer(first, "2021-01-01", "'2021-12-31'")).await.unwrap();
        assert_eq!(check("measures and officers written").await, all - 1, "one household has its measure");
        let groups = db.measure_gap_groups(&Scope::system(), None).await.unwrap();
        assert!(groups.iter().any(|g| g.first_officer == NaiveDate::from_ymd_opt(2022, 4, 5)), "the new officer's day");
        assert!(groups.iter().any(|g| g.first_officer == NaiveDate::from_ymd_opt(2022, 4, 2)), "a kept officer: inclusion");
        // the measure cancelled, the officer ended, a later inclusion, a deleted measure
        db.execute_raw("UPDATE measures SET status = 4 WHERE planned_on = '2022-04-10' AND status = 1").await.unwrap();
        assert_eq!(check("the measure cancelled").await, all);
        db.execute_raw("UPDATE measures SET status = 2").await.unwrap();
        assert_eq!(check("both measures on").await, all - 2, "the once-cancelled measure now counts too");
        db.execute_raw("UPDATE officer_assignments SET ended_on = '2022-04-20' WHERE started_on = '2021-06-01'")
            .await
            .unwrap();
        check("a kept officer ended").await;
        db.execute_raw(&format!("UPDATE households SET monitored_since = '2022-05-01' WHERE id = {first}"))
            .await
            .unwrap();
        assert_eq!(check("included again after its measure").await, all - 1);
        db.execute_raw("DELETE FROM measures").await.unwrap();
        assert_eq!(check("measures deleted").await, all);
    })
    .await;
}

#[tokio::test]
async fn a_resident_copy_reads_every_version_and_the_households_that_moved() {
    on_both(|db| async move {
        seed(&db, (1..=7).map(|n| incoming(n, if n % 2 == 0 { DONGTANG } else { DAZHENG })).collect()).await;
        // every household's version, by ID, in pages
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = db.household_versions(after, 3).await.unwrap();
            assert!(page.len() <= 3);
            let Some(&(last, _)) = page.last() else { break };
            all.extend(page);
            after = Some(last);
        }
        assert_eq!(all.len(), 7);
        assert!(all.windows(2).all(|w| w[0].0 < w[1].0), "by ID: {all:?}");
        assert!(all.iter().all(|(_, v)| *v == 1));
        // a save moves its version
        let no = HouseholdNo::parse(&format!("{DAZHENG}0003")).unwrap();
        let before = db.household(&Scope::system(), &no).await.unwrap().unwrap();
        let mut h = before.record.household.clone();
        h.housing_grade = Some(HousingGrade::C);
        db.save_household(&Actor::cli(), at(), &before, &h).await.unwrap();
        let now = db.household_versions(None, 100).await.unwrap();
        let moved: Vec<_> = now.iter().filter(|(id, v)| all.iter().any(|(i, w)| i == id && w != v)).collect();
        assert_eq!(moved, vec![&(before.record.id, 2)]);
        // households by ID, in full, as the detail read gives them; unknown IDs are skipped
        let ids: Vec<HouseholdId> = now.iter().map(|(id, _)| *id).chain([HouseholdId(999_999)]).collect();
        let got = db.households_by_ids(&ids).await.unwrap();
        assert_eq!(got.len(), 7);
        let after = db.household(&Scope::system(), &no).await.unwrap().unwrap();
        assert_eq!(got.iter().find(|d| d.record.id == before.record.id), Some(&after));
        assert_eq!(after.record.household.housing_grade, Some(HousingGrade::C));
        // the households with open findings, by region: a dismissed finding does not count
        let at_village = |code: u64| {
            now.iter()
                .map(|(id, _)| *id)
                .find(|id| got.iter().any(|d| d.record.id == *id && d.record.household.village == village(code)))
                .unwrap()
        };
        let (a, b) = (at_village(DAZHENG), at_village(DONGTANG));
        let found = |id: HouseholdId, code: u64, sub: &'static str| HouseholdFindings {
            household_id: id,
            village: village(code),
            findings: vec![test_finding(domain::rules::FindingCode::DataError, sub)],
        };
        let day = NaiveDate::from_ymd_opt(2022, 3, 28).unwrap();
        db.record_findings(at(), day, None, &[found(a, DAZHENG, "A"), found(b, DONGTANG, "B")]).await.unwrap();
        let mut open = db.households_with_open_findings(None).await.unwrap();
        open.sort();
        let mut both = vec![a, b];
        both.sort();
        assert_eq!(open, both);
        assert_eq!(db.households_with_open_findings(Some(village(DAZHENG))).await.unwrap(), vec![a]);
        let f = db
            .findings(&Scope::system(), &FindingFilter { household: Some(b), ..Default::default() }, 10)
            .await
            .unwrap();
        db.set_finding_status(&Actor::cli(), at(), &Scope::system(), f.items[0].id, FindingStatus::Dismissed, "已核实")
            .await
            .unwrap();
        assert_eq!(db.households_with_open_findings(None).await.unwrap(), vec![a]);
        // findings written only for households still at the version given: `a` at its current
        // version, `b` at an older one; chunked past 500 households
        let va = now.iter().find(|(id, _)| *id == a).unwrap().1;
        // (`a` last, in the second chunk of 500)
        let mut results = vec![found(b, DONGTANG, "B2")];
        let mut versions = vec![0];
        for n in 0..600 {
            results.push(HouseholdFindings {
                household_id: HouseholdId(1_000_000 + n),
                village: village(DAZHENG),
                findings: vec![],
            });
            versions.push(1);
        }
        results.push(found(a, DAZHENG, "A2"));
        versions.push(va);
        let (changes, moved) = db.record_findings_if_unchanged(at(), day, None, &results, &versions).await.unwrap();
        assert_eq!((changes.opened, changes.resolved), (1, 1), "A2 opened, A resolved");
        let mut expected_moved = vec![b];
        expected_moved.extend((0..600).map(|n| HouseholdId(1_000_000 + n)));
        assert_eq!(moved, expected_moved, "b is no longer at that version; the unknown households have none");
        let f = db
            .findings(&Scope::system(), &FindingFilter { household: Some(b), ..Default::default() }, 10)
            .await
            .unwrap();
        assert!(f.items.iter().all(|f| f.sub_code != "B2"), "nothing written for b");
        // a mismatch between results and versions is refused, not guessed
        assert!(db.record_findings_if_unchanged(at(), day, None, &results, &versions[..1]).await.is_err());
    })
    .await;
}
