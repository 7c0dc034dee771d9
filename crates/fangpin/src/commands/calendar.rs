//! `fangpin calendar`: deadline arithmetic on the work calendar (DOMAIN D10, D11), and the
//! administrator's import and export of its data.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use chrono::NaiveDate;
use domain::account::{Actor, Scope};
use domain::calendar::{HolidayPolicy, WorkCalendar};
use domain::region::RegionCode;

use crate::Ctx;

/// The database's calendar when there is a current database; the shipped one otherwise (said on
/// standard error, so that scripts reading standard output are not disturbed).
async fn calendar(ctx: &Ctx) -> anyhow::Result<WorkCalendar> {
    // a question about dates does not create the default database (or its directory)
    let has_db = ctx.config.database_url.is_some() || ctx.config.data_dir.join("fangpin.db").exists();
    let db = if has_db { ctx.ready_db(false).await } else { Err(anyhow!("no database")) };
    match db {
        Ok(db) => Ok(domain::service::load_calendar(&db, ctx.clock.now()).await?),
        Err(_) => {
            eprintln!("note: no current database, using the shipped calendar / 未连接数据库，使用内置工作日历");
            Ok(WorkCalendar::builtin())
        }
    }
}

fn date(text: &str) -> anyhow::Result<NaiveDate> {
    domain::text::parse_date(text)
        .ok_or_else(|| anyhow!("{text:?}: use a date such as 2022-03-28 / 日期格式如 2022-03-28"))
}

/// The calendar and region to ask: a region's (national + its own days), or the national one.
async fn view(ctx: &Ctx, region: Option<String>) -> anyhow::Result<(WorkCalendar, RegionCode)> {
    let cal = calendar(ctx).await?;
    Ok(match region {
        Some(r) => (cal, RegionCode::parse(&r)?),
        // any code will do once the regional days are left out
        None => (cal.national_only(), RegionCode::from_u64(110_000_000_000).ok_or_else(|| anyhow!("region"))?),
    })
}

pub async fn add_workdays(ctx: &Ctx, day: &str, n: u32, region: Option<String>) -> anyhow::Result<ExitCode> {
    let (cal, region) = view(ctx, region).await?;
    say!("{}", cal.add_working_days(date(day)?, n, region)?);
    Ok(ExitCode::SUCCESS)
}

pub async fn add_days(ctx: &Ctx, day: &str, n: u32, region: Option<String>, strict: bool) -> anyhow::Result<ExitCode> {
    let (cal, region) = view(ctx, region).await?;
    let policy = if strict { HolidayPolicy::NO_EXTENSION } else { HolidayPolicy::default() };
    let due = cal.add_calendar_days(date(day)?, n, region, policy)?;
    if due.is_extended() {
        eprintln!(
            "{} falls on a statutory holiday: extended to the next working day / 期限末日为法定节假日，顺延",
            due.strict
        );
    }
    say!("{}", due.extended);
    Ok(ExitCode::SUCCESS)
}

pub async fn is_workday(ctx: &Ctx, day: &str, region: Option<String>) -> anyhow::Result<ExitCode> {
    let (cal, region) = view(ctx, region).await?;
    say!("{}", cal.is_workday(date(day)?, region)?);
    Ok(ExitCode::SUCCESS)
}

pub async fn export(ctx: &Ctx, out: &Path) -> anyhow::Result<ExitCode> {
    let cal = calendar(ctx).await?;
    std::fs::write(out, cal.to_csv()).with_context(|| format!("writing {}", out.display()))?;
    let y = cal.years();
    say!("wrote {} ({} days, {}–{}) / 已导出工作日历", out.display(), cal.entries().len(), y.start(), y.end());
    Ok(ExitCode::SUCCESS)
}

pub async fn import(ctx: &Ctx, file: &Path) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let db = ctx.ready_db(false).await?;
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let cal =
        domain::service::replace_calendar_csv(&db, ctx.clock.now(), &Scope::system(), &Actor::cli(), &text, &name)
            .await?;
    let y = cal.years();
    say!("calendar replaced: {} days, {}–{} / 已替换工作日历", cal.entries().len(), y.start(), y.end());
    Ok(ExitCode::SUCCESS)
}
