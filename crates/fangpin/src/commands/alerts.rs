//! `fangpin alerts`: import a department file (部门筛查预警, DOMAIN §9, D15–D17) and list the
//! alerts it raised.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use domain::account::{Actor, Scope};
use domain::feed::{AlertStatus, FeedKind};
use domain::ports::{AlertFilter, FeedStore};
use domain::region::RegionCode;
use exchange::feed::{FeedFile, FeedMapping, FeedSource};

use crate::Ctx;

fn kind(text: &str) -> anyhow::Result<FeedKind> {
    FeedKind::from_key(text).ok_or_else(|| {
        let known: Vec<String> = FeedKind::ALL.iter().map(|k| format!("{} ({})", k.key(), k.label())).collect();
        anyhow!("unknown feed “{text}” / 没有这种数据：{}", known.join(", "))
    })
}

#[allow(clippy::too_many_arguments)]
pub async fn import(
    ctx: &Ctx,
    feed: &str,
    file: &Path,
    period: Option<String>,
    map: &[String],
    dry_run: bool,
    region: Option<String>,
    report: Option<std::path::PathBuf>,
) -> anyhow::Result<ExitCode> {
    let kind = kind(feed)?;
    let db = ctx.ready_db(false).await?;
    let scope = match region {
        Some(r) => Scope::system_in(RegionCode::parse(&r)?),
        None => Scope::system(),
    };
    // a mapping given here is saved for the department's next files of this kind, once a file
    // read with it has been imported
    let mapping = FeedMapping::resolve(map, db.feed_mapping(kind).await?.as_deref()).map_err(|e| anyhow!(e))?;
    let today = ctx.clock.today();
    let default_period = match period {
        Some(p) => exchange::feed::normalise_period(&p)
            .ok_or_else(|| anyhow!("--period “{p}” should be 2022-03 or 2022 / 期间应写成 2022-03 或 2022"))?,
        None => today.format("%Y-%m").to_string(),
    };
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let started = std::time::Instant::now();
    let calendar = domain::service::load_calendar(&db, ctx.clock.now()).await?;
    // read, checked and matched chunk by chunk: memory stays flat however long the file
    let file_in = FeedFile {
        source: FeedSource::Path(file.to_path_buf()),
        file_name: name.clone(),
        kind,
        mapping: mapping.clone(),
        default_period,
        dry_run,
        mapping_to_save: if map.is_empty() { None } else { Some(serde_json::to_string(&mapping)?) },
    };
    let done = exchange::feed::import_feed_file(
        &db,
        &calendar,
        ctx.clock.now(),
        today,
        &scope,
        &Actor::cli(),
        None,
        file_in,
        Box::new(|_, _| {}),
    )
    .await
    .map_err(|e| anyhow!("{name}: {e}"))?;
    if !done.file.columns.is_empty() {
        let cols: Vec<String> = done.file.columns.iter().map(|(f, h)| format!("{f}={h}")).collect();
        say!("columns / 列：{}", cols.join("，"));
    }
    let errors = &done.file.errors;
    let Some(r) = done.report else {
        if let Some(path) = &report {
            exchange::feed::write_report(path, errors, &[]).map_err(|e| anyhow!(e))?;
            eprintln!("problem list written to {} / 问题清单已写入", path.display());
        }
        for e in errors.iter().take(50) {
            eprintln!("第{}行 {}：{}", e.line, e.field, e.message);
        }
        bail!(
            "{} rows with errors, nothing imported / {} 行有错误，未导入任何数据：请改正后重新导入",
            errors.len(),
            errors.len()
        );
    };
    if let Some(prev) = &r.previous {
        say!(
            "already imported as batch #{} on {} by {}: nothing imported twice / 该文件已于{}导入（批次 #{}），未重复导入",
            prev.id,
            prev.imported_at.format("%Y-%m-%d %H:%M"),
            prev.imported_by,
            prev.imported_at.format("%Y-%m-%d %H:%M"),
            prev.id
        );
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "{} rows: {} matched, {} below the threshold, {} not matched / 共 {} 行：匹配 {}，未达预警线 {}，未匹配 {}",
        r.rows_read,
        r.matched,
        r.quiet,
        r.unmatched.len(),
        r.rows_read,
        r.matched,
        r.quiet,
        r.unmatched.len()
    );
    match &r.outcome {
        Some(o) => say!(
            "alerts: {} new, {} updated, {} unchanged; exclusion facts: {} (batch #{}, {:.2} s) / 预警：新增 {}，更新 {}，未变 {}；不宜纳入信息 {}",
            o.raised,
            o.updated,
            o.unchanged,
            o.facts_added,
            o.batch_id,
            started.elapsed().as_secs_f64(),
            o.raised,
            o.updated,
            o.unchanged,
            o.facts_added
        ),
        None => say!(
            "dry run: {} alerts, {} exclusion facts would be recorded / 试导入：将产生预警 {} 条",
            r.alerts,
            r.facts,
            r.alerts
        ),
    }
    if let Some(path) = &report {
        exchange::feed::write_report(path, &[], &r.unmatched).map_err(|e| anyhow!(e))?;
        say!("unmatched rows written to {} / 未匹配的行已写入", path.display());
    }
    for u in r.unmatched.iter().take(20) {
        say!("  未匹配 第{}行 {} {}：{}", u.line, u.name, domain::national_id::mask_id_text(&u.id_text), u.reason);
    }
    if r.unmatched.len() > 20 {
        say!("  … {} more unmatched rows / 另有 {} 行未匹配", r.unmatched.len() - 20, r.unmatched.len() - 20);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn list(ctx: &Ctx, status: &str, feed: Option<String>, region: Option<String>) -> anyhow::Result<ExitCode> {
    let db = ctx.ready_db(false).await?;
    let filter = AlertFilter {
        status: match status {
            "open" | "待核实" => Some(AlertStatus::Open),
            "done" | "已核实" => Some(AlertStatus::Concluded),
            "all" | "全部" => None,
            other => bail!("--status “{other}” should be open, done or all / 状态应为 open、done 或 all"),
        },
        kind: feed.as_deref().map(kind).transpose()?,
        region: region.as_deref().map(RegionCode::parse).transpose()?,
        ..Default::default()
    };
    let page = db.alerts(&Scope::system(), &filter, 1000).await?;
    say!("{} alerts / 共 {} 条预警", page.total, page.total);
    for a in &page.items {
        say!(
            "#{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            a.id,
            a.household_no,
            a.member_name,
            a.kind.department().label(),
            a.indicator,
            a.value.map(|v| format!("{v} 元")).unwrap_or_else(|| a.item.clone()),
            a.period,
            match a.conclusion {
                Some(c) => c.label().to_string(),
                None => format!("待核实（{}前）", a.due_on),
            }
        );
    }
    if page.total > page.items.len() as i64 {
        say!("… the newest {} shown / 仅列出最新 {} 条", page.items.len(), page.items.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// `fangpin quality`: the data comparison report's counts (数据比对), as on the /quality page.
pub async fn quality(ctx: &Ctx, region: Option<String>, as_of: Option<String>) -> anyhow::Result<ExitCode> {
    let db = ctx.ready_db(false).await?;
    let region = region.as_deref().map(RegionCode::parse).transpose()?;
    let as_of = match as_of {
        Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .map_err(|_| anyhow!("--as-of “{d}” should be YYYY-MM-DD / 日期应为 YYYY-MM-DD"))?,
        None => ctx.clock.today(),
    };
    let r = domain::service::quality_report(&db, &Scope::system(), region, as_of).await?;
    say!("data comparison as of {as_of} / 数据比对（截至 {as_of}）");
    for (c, n) in &r.checks {
        say!("  {:<28}\t{n}\t{}", c.key(), c.label());
    }
    if !r.alerts.is_empty() {
        say!("department alerts: open, concluded / 部门预警：待核实、已核实");
        for (k, open, done) in &r.alerts {
            say!("  {:<28}\t{open}\t{done}\t{}", k.key(), k.label());
        }
    }
    Ok(ExitCode::SUCCESS)
}
