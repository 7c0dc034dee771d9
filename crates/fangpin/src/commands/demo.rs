//! `fangpin demo`: the demo town 雒容镇 (DOMAIN D1) with ~12,000 synthetic households
//! (BENCHMARKS.md distributions), the 2022 example monitoring line (D2) and one user per role.
//! With the clock set (`--now`) after 2022-03-28, the campaign is then run up to that day
//! ([`simulate`]).

mod accounts;
mod assist;
mod cases;
mod simulate;
mod summary;
mod turns;
mod visits;

use std::time::Instant;

use anyhow::bail;
use domain::account::{Actor, Role};
use domain::params::ParamName;
use domain::ports::{HouseholdFilter, HouseholdStore, ImportMeta, ParamStore, RegionStore, UserStore};
use domain::region::RegionCode;

use crate::Ctx;

/// The demo runs as of the first working day of the 2022 campaign (seed: 03-26 → 04-30).
pub const DEMO_NOW: &str = "2022-03-28T09:00:00+08:00";
/// One password for every demo account (printed on start and written in the README).
pub const DEMO_PASSWORD: &str = "Fangpin@2022";

/// (username, display name, role, region)
pub const DEMO_USERS: &[(&str, &str, Role, u64)] = &[
    ("admin", "系统管理员", Role::Admin, 450_000_000_000),
    ("town", "镇专项办", Role::TownOffice, 450_203_100_000),
    ("dazheng", "大正村村干部", Role::VillageCadre, 450_203_100_201),
    ("dongtang", "东塘村村干部", Role::VillageCadre, 450_203_100_202),
    ("screener", "大正村排查员", Role::Screener, 450_203_100_201),
    ("officer", "大正村帮扶责任人", Role::AssistanceOfficer, 450_203_100_201),
    ("supervisor", "督导一组成员", Role::Supervisor, 450_203_100_000),
    ("dept", "区医保局", Role::DepartmentStaff, 450_203_000_000),
    ("county", "区级审定人", Role::CountyApprover, 450_203_000_000),
    ("leader", "镇领导", Role::Leader, 450_203_100_000),
];

/// The demo accounts, and the simulated campaign's screeners and cadres when it has been run.
pub async fn print_logins(db: &store::Db) -> anyhow::Result<()> {
    say!("演示账户 / demo accounts (password 密码: {DEMO_PASSWORD}):");
    for (u, name, role, region) in DEMO_USERS {
        say!("  {u:<11} {}（{name}，区划 {region}）", role.label());
    }
    if db.user_by_username(&accounts::screener_name(1)).await?.is_some() {
        for line in accounts::login_lines() {
            say!("{line}");
        }
    }
    if db.user_by_username("dudb1").await?.is_some() {
        say!("  duda2, dudb1, dudb2 督导组成员（督导一组：supervisor、duda2；督导二组：dudb1、dudb2）");
    }
    Ok(())
}

/// Loads the demo into an empty database.
pub async fn run(ctx: &Ctx, seed: u64, households: Option<usize>) -> anyhow::Result<()> {
    let db = ctx.ready_db(true).await?;
    load(ctx, &db, seed, households).await?;
    print_logins(&db).await
}

/// The day the campaign is simulated up to: the clock's day when it was set (`--now`) after the
/// demo's own date; `None` keeps the demo as of 2022-03-28.
fn simulated_until(ctx: &Ctx) -> Option<chrono::NaiveDate> {
    let today = ctx.clock.today();
    (ctx.config.now.is_some() && today > demo_day()).then_some(today)
}

fn demo_day() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2022, 3, 28).unwrap_or_default()
}

pub async fn load(ctx: &Ctx, db: &store::Db, seed: u64, households: Option<usize>) -> anyhow::Result<()> {
    let started = Instant::now();
    let until = simulated_until(ctx);
    // a simulated campaign starts where the plain demo stands: 2022-03-28 09:00
    let now = match until {
        Some(_) => domain::clock::parse_moment(DEMO_NOW).ok_or_else(|| anyhow::anyhow!("DEMO_NOW"))?,
        None => ctx.clock.now(),
    };
    let actor = Actor::system("演示数据");
    if db.list_households(&domain::Scope::system(), &HouseholdFilter::default(), None, 1).await?.total > 0 {
        bail!(
            "the database already holds households: the demo loads only into an empty database / 数据库已有农户数据，演示数据只能装入空库"
        );
    }
    db.upsert_regions(&actor, now, &domain::region::luorong_regions()).await?;
    let guangxi = RegionCode::from_u64(450_000_000_000).ok_or_else(|| anyhow::anyhow!("region code"))?;
    if db.params(Some(2022)).await?.is_empty() {
        db.set_param(
            &actor,
            now,
            2022,
            guangxi,
            ParamName::MonitoringLine,
            domain::Fen::from_yuan(6_500).0,
            true,
            "示例值：广西2022年监测范围未见公开文件（DOMAIN D2），正式使用前请按自治区文件设定",
        )
        .await?;
    }
    for (username, name, role, region) in DEMO_USERS {
        if db.user_by_username(username).await?.is_none() {
            let region = RegionCode::from_u64(*region).ok_or_else(|| anyhow::anyhow!("region code"))?;
            let u = web::auth::create_user(db, &actor, now, username, name, *role, region, DEMO_PASSWORD).await?;
            // the demo's department account is the district's 医保局
            if *role == Role::DepartmentStaff {
                let d = Some(domain::measure::Department::MedicalSecurity);
                domain::ports::DepartmentTaskStore::set_user_department(db, &actor, now, u.id, d).await?;
            }
        }
    }
    let opts = synth::GenOptions { seed, households, as_of: ctx.clock.today().min(demo_day()) };
    let generated: Vec<_> = synth::households(synth::Preset::Town, &opts).collect();
    let members: usize = generated.iter().map(|h| h.members.len()).sum();
    let n = generated.len();
    let gen_time = started.elapsed();
    let plan = domain::import::plan(generated, Vec::new());
    let meta = ImportMeta {
        file_name: format!("演示数据（种子 {seed}）"),
        file_sha256: String::new(),
        rows: members,
        warnings: 0,
    };
    db.apply_import(&actor, now, &meta, &plan).await?;
    let tasks = demo_campaign(db, &actor, now).await?;
    let calendar = domain::service::load_calendar(db, now).await?;
    // as of the demo's own date (its data and its line are 2022's)
    let report = domain::screening::screen(
        db,
        &calendar,
        &domain::Scope::system(),
        &actor,
        now,
        opts.as_of,
        None,
        &mut |_, _| {},
    )
    .await?;
    say!("screened / 已筛查: {} households, {} findings", report.households, report.findings.len());
    let clues = demo_clues(db, now, opts.as_of).await?;
    say!("clues / 线索: {clues} 应纳未纳 findings of 大正村 registered by `dazheng` (identification cases)");
    say!("campaign / 专项行动: 雒容镇2022年防返贫集中排查, {tasks} tasks; 大正村 groups 1–2 assigned to `screener`");
    if let Some(today) = until {
        let sim_started = Instant::now();
        simulate::run(db, seed, now, today, ctx.clock.now()).await?;
        say!("campaign simulated in {:.1?} / 模拟用时", sim_started.elapsed());
    }
    // the seed's two supervision groups; their inspections and the desk's questions on the
    // simulated days
    let oversight = super::demo_oversight::load(db, now, until.unwrap_or(demo_day())).await?;
    say!(
        "supervision / 督导: {} groups, {} inspections, {} problems ({} rectified)",
        oversight.groups,
        oversight.inspections,
        oversight.rectifications,
        oversight.closed
    );
    if until.is_some_and(|d| d > chrono::NaiveDate::from_ymd_opt(2022, 4, 20).unwrap_or_default()) {
        let q = super::demo_questions::demo_questions(db).await?;
        say!("Q&A desk / 业务解答: {q} questions");
    }
    say!(
        "demo loaded / 演示数据已装入: 雒容镇 13 villages, {n} households, {members} members in {:.1?} (generation {:.1?})",
        started.elapsed(),
        gen_time
    );
    Ok(())
}

/// Two 应纳未纳 findings of 大正村 turned into clues by the village cadre, so that the procedure
/// has cases to continue (the next steps fall on later days: start with `--now` to record them).
async fn demo_clues(
    db: &store::Db,
    now: chrono::DateTime<chrono::Utc>,
    on: chrono::NaiveDate,
) -> anyhow::Result<usize> {
    use domain::ports::{FindingFilter, FindingStatus, FindingStore};
    let Some((cadre, _)) = db.user_by_username("dazheng").await? else { return Ok(0) };
    let filter = FindingFilter {
        code: Some(domain::rules::FindingCode::ShouldMonitor),
        status: Some(FindingStatus::Open),
        ..Default::default()
    };
    let findings = db.findings(&cadre.scope(), &filter, 2).await?;
    let mut n = 0;
    for f in &findings.items {
        let input = domain::service::OpenCaseInput {
            procedure: domain::procedure::Procedure::Identification,
            household_no: f.household_no.clone(),
            source: None,
            finding_id: Some(f.id),
            on,
            note: String::new(),
        };
        domain::service::open_case(db, now, on, &cadre.scope(), &cadre.actor(), &input, &[])
            .await
            .map_err(|e| anyhow::anyhow!("demo clue: {e}"))?;
        n += 1;
    }
    Ok(n)
}

/// The town's 2022 campaign with the seed's dates, and 大正村 groups 1–2 given to the demo
/// screener, so that every role finds work on its first page.
async fn demo_campaign(db: &store::Db, actor: &Actor, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<i64> {
    use domain::campaign::CampaignInput;
    use domain::ports::{CampaignStore, TaskSelection};
    let town = RegionCode::from_u64(450_203_100_000).ok_or_else(|| anyhow::anyhow!("region code"))?;
    let village = RegionCode::from_u64(450_203_100_201).ok_or_else(|| anyhow::anyhow!("region code"))?;
    let def =
        CampaignInput::seeded("雒容镇2022年防返贫集中排查", town, 2022).parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let (campaign, tasks) = db.create_campaign(actor, now, &def).await?;
    if let Some((screener, _)) = db.user_by_username("screener").await? {
        for group in [1, 2] {
            let sel = TaskSelection { village, group_no: Some(group), tasks: Vec::new() };
            db.assign_tasks(actor, now, &domain::Scope::system(), campaign.id, &sel, Some(screener.id)).await?;
        }
    }
    Ok(tasks)
}
