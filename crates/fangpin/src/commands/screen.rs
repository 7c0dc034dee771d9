//! `fangpin screen`: the rules over a region, findings printed and stored.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::bail;
use domain::account::{Actor, Scope};
use domain::campaign::CampaignId;
use domain::ports::CampaignStore;
use domain::region::RegionCode;

use crate::Ctx;

pub async fn run(
    ctx: &Ctx,
    region: Option<String>,
    campaign: Option<i64>,
    as_of: Option<String>,
    format: &str,
) -> anyhow::Result<ExitCode> {
    let json = match format {
        "json" => true,
        "table" => false,
        other => bail!("--format {other}: use table or json / 输出格式应为 table 或 json"),
    };
    let region = region.map(|r| RegionCode::parse(&r)).transpose()?;
    let as_of = match as_of {
        Some(t) => domain::text::parse_date(&t)
            .ok_or_else(|| anyhow::anyhow!("--as-of {t:?}: use a date such as 2022-03-28 / 日期格式如 2022-03-28"))?,
        None => ctx.clock.today(),
    };
    let db = ctx.ready_db(false).await?;
    let region = match campaign {
        Some(id) => Some(
            db.campaign(&Scope::system(), CampaignId(id))
                .await?
                .ok_or_else(|| anyhow::anyhow!("no campaign #{id} / 没有该专项行动：fangpin campaign list"))?
                .region,
        ),
        None => region,
    };
    let calendar = domain::service::load_calendar(&db, ctx.clock.now()).await?;
    let started = Instant::now();
    let mut progress = |done: usize, total: usize| {
        eprint!("\rhouseholds / 户 {done}/{total}    ");
    };
    let report = domain::screening::screen(
        &db,
        &calendar,
        &Scope::system(),
        &Actor::cli(),
        ctx.clock.now(),
        as_of,
        region,
        &mut progress,
    )
    .await?;
    eprintln!();
    if json {
        let rows: Vec<serde_json::Value> = report
            .findings
            .iter()
            .map(|f| {
                serde_json::json!({
                    "household_no": f.household_no,
                    "village": f.village,
                    "code": f.finding.code.key(),
                    "sub_code": f.finding.sub_code,
                    "suggested_category": f.finding.suggested_category.map(|c| c.label()),
                    "rule": f.finding.rule_id,
                    "rule_version": f.finding.rule_version,
                    "params": f.finding.params,
                    "inputs": f.finding.inputs,
                    "member_id": f.finding.member_id,
                    "explanation": f.finding.explanation,
                })
            })
            .collect();
        say!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        say!("户编号\t发现\t子项\t建议类别\t规则\t说明");
        for f in &report.findings {
            say!(
                "{}\t{}\t{}\t{}\t{}v{}\t{}",
                f.household_no,
                f.finding.code.label(),
                f.finding.sub_code,
                f.finding.suggested_category.map(|c| c.label()).unwrap_or("—"),
                f.finding.rule_id,
                f.finding.rule_version,
                f.finding.explanation
            );
        }
    }
    let mut by_code = std::collections::BTreeMap::new();
    for f in &report.findings {
        *by_code.entry(f.finding.code.label()).or_insert(0usize) += 1;
    }
    let summary: Vec<String> = by_code.iter().map(|(k, v)| format!("{k} {v}")).collect();
    eprintln!(
        "screened {} households as of {} in {:.1?}: {} findings ({}); new {}, reopened {}, resolved {} (run #{}) / 筛查{}户，发现{}条",
        report.households,
        report.as_of,
        started.elapsed(),
        report.findings.len(),
        summary.join("，"),
        report.changes.opened,
        report.changes.reopened,
        report.changes.resolved,
        report.run_id,
        report.households,
        report.findings.len()
    );
    Ok(ExitCode::SUCCESS)
}
