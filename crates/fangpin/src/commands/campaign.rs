//! `fangpin campaign`: create a 集中排查 campaign, list campaigns, assign tasks, print progress.

use std::process::ExitCode;

use anyhow::{anyhow, bail};
use domain::account::{Actor, Scope};
use domain::campaign::{CampaignId, CampaignInput, CampaignPhase, deadline};
use domain::ports::{CampaignStore, ProgressBy, RegionStore, TaskSelection, UserStore};
use domain::region::{RegionCode, parse_group_no};

use crate::Ctx;

pub async fn create(ctx: &Ctx, name: &str, region: &str, year: Option<i32>) -> anyhow::Result<ExitCode> {
    let region = RegionCode::parse(region)?;
    let year = year.unwrap_or_else(|| chrono::Datelike::year(&ctx.clock.today()));
    let db = ctx.ready_db(false).await?;
    let input = CampaignInput::seeded(name, region, year);
    let (c, tasks) =
        domain::service::create_campaign(&db, ctx.clock.now(), &Scope::system(), &Actor::cli(), &input).await?;
    say!(
        "created campaign #{} {:?}: {} households, one task each / 已创建专项行动，{}户各建排查任务",
        c.id.0,
        c.name,
        tasks,
        tasks
    );
    for p in &c.phases {
        say!(
            "  {}\t{}{}{}",
            p.phase.label(),
            p.starts_on.map(|d| format!("{d} → ")).unwrap_or_default(),
            p.ends_on,
            p.due_on.map(|d| format!("（时限 {d}）")).unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn list(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let db = ctx.ready_db(false).await?;
    let list = db.campaigns(&Scope::system()).await?;
    if list.is_empty() {
        say!("no campaigns yet: fangpin campaign create --name … --region … / 尚无专项行动");
    }
    for c in list {
        say!(
            "#{}\t{}\t{}\t{}年\t{}",
            c.id.0,
            c.name,
            c.region,
            c.policy_year,
            if c.closed_at.is_some() { "已结束" } else { "进行中" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn assign(
    ctx: &Ctx,
    id: i64,
    village: &str,
    group: Option<String>,
    screener: Option<String>,
) -> anyhow::Result<ExitCode> {
    let village = RegionCode::parse(village)?;
    let group_no = match group {
        Some(g) => {
            Some(parse_group_no(&g).ok_or_else(|| anyhow!("--group {g:?}: a group number such as 3 / 组号如 3"))?)
        }
        None => None,
    };
    let db = ctx.ready_db(false).await?;
    let user = match screener {
        Some(name) => {
            Some(db.user_by_username(&name).await?.ok_or_else(|| anyhow!("no user {name:?} / 用户不存在"))?.0)
        }
        None => None,
    };
    let selection = TaskSelection { village, group_no, tasks: Vec::new() };
    let n = domain::service::assign_tasks(
        &db,
        ctx.clock.now(),
        &Scope::system(),
        &Actor::cli(),
        CampaignId(id),
        &selection,
        user.as_ref().map(|u| u.id),
    )
    .await?;
    match user {
        Some(u) => say!("assigned {n} tasks to {} / 已分配{n}户给{}", u.username, u.display_name),
        None => say!("unassigned {n} tasks / 已取消分配{n}户"),
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn progress(ctx: &Ctx, id: i64, by: &str, format: &str) -> anyhow::Result<ExitCode> {
    let by = match by {
        "village" => ProgressBy::Village,
        "group" => ProgressBy::Group,
        "screener" => ProgressBy::Screener,
        other => bail!("--by {other}: use village, group or screener / 按村、组或排查员"),
    };
    let db = ctx.ready_db(false).await?;
    let scope = Scope::system();
    let c = db.campaign(&scope, CampaignId(id)).await?.ok_or_else(|| anyhow!("no campaign #{id} / 没有该专项行动"))?;
    let rows = db.progress(&scope, c.id, by, None).await?;
    let names: std::collections::HashMap<RegionCode, String> =
        db.all_regions().await?.into_iter().map(|r| (r.code, r.name)).collect();
    let name =
        |v: Option<RegionCode>| v.map(|v| names.get(&v).cloned().unwrap_or_else(|| v.to_string())).unwrap_or_default();
    if format == "json" {
        say!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    let today = ctx.clock.today();
    let calendar = domain::service::load_calendar(&db, ctx.clock.now()).await?;
    let total = domain::campaign::Progress::sum(rows.iter().map(|r| &r.progress));
    say!("#{} {}（{}年）as of {today}", c.id.0, c.name, c.policy_year);
    if let (Some(due), Some(screening)) = (c.visits_due(), c.phase(CampaignPhase::Screening)) {
        let d = deadline(&calendar, c.region, due, today, total.outstanding() > 0)?;
        let e = deadline(&calendar, c.region, screening.ends_on, today, total.outstanding() > 0)?;
        say!(
            "visits due {} ({} working days left{}), phase ends {} ({}) / 走访时限、阶段结束",
            d.date,
            d.working_days_left,
            if d.overdue { ", OVERDUE 已逾期" } else { "" },
            e.date,
            e.working_days_left
        );
    }
    say!("区域\t户数\t已入户\t仅线上\t未见到\t未走访\t覆盖率\t待处理发现");
    let print = |label: String, p: &domain::campaign::Progress| {
        say!(
            "{label}\t{}\t{}\t{}\t{}\t{}\t{}%\t{}",
            p.households,
            p.visited,
            p.remote_only,
            p.not_reached,
            p.pending,
            p.coverage_percent(),
            p.findings_open
        );
    };
    for r in &rows {
        let label = match by {
            ProgressBy::Village => name(r.village),
            ProgressBy::Group => format!("{}{}组", name(r.village), r.group_no.unwrap_or(0)),
            ProgressBy::Screener => r.screener_name.clone().unwrap_or_else(|| "（未分配）".into()),
        };
        print(label, &r.progress);
    }
    print("合计".into(), &total);
    Ok(ExitCode::SUCCESS)
}

pub async fn look_back(ctx: &Ctx, id: i64) -> anyhow::Result<ExitCode> {
    use domain::campaign::LookBackReason;
    let db = ctx.ready_db(false).await?;
    let scope = Scope::system();
    let n = domain::service::generate_look_back(
        &db,
        ctx.clock.now(),
        ctx.clock.today(),
        &scope,
        &Actor::cli(),
        CampaignId(id),
    )
    .await?;
    say!("look-back list of campaign #{id}: {n} households / 回头看清单{n}户");
    for reason in LookBackReason::ALL {
        let filter = domain::ports::LookBackFilter {
            campaign: CampaignId(id),
            region: None,
            reason: Some(*reason),
            pending_only: false,
            after: None,
        };
        let page = db.look_back(&scope, &filter, 1).await?;
        say!("  {}\t{}", reason.label(), page.total);
    }
    Ok(ExitCode::SUCCESS)
}
