//! `fangpin import|export|template|generate`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use domain::account::{Actor, Scope};
use domain::ports::{HouseholdDetail, HouseholdFilter, HouseholdRecord, MemberRecord, RegionStore};
use domain::region::RegionCode;
use exchange::{FileFormat, ImportOptions};

use crate::Ctx;

fn progress_printer(label: &'static str) -> impl FnMut(usize, usize) + Send {
    let mut last = Instant::now();
    move |done, total| {
        // the import's last step (its commit)
        if done == exchange::PROGRESS_COMMIT {
            eprint!("\rcommitting / 提交写入…            ");
            let _ = std::io::stderr().flush();
            return;
        }
        if done == exchange::PROGRESS_REREAD {
            eprintln!(
                "\rthe rows of a household are not together: reading the whole file again / 同一户的行不相邻，重新完整读取文件"
            );
            return;
        }
        if last.elapsed().as_millis() >= 500 || (total > 0 && done >= total) {
            last = Instant::now();
            if total > 0 {
                eprint!("\r{label} {done}/{total}    ");
            } else {
                eprint!("\r{label} {done}    ");
            }
            let _ = std::io::stderr().flush();
        }
    }
}

pub async fn import_households(
    ctx: &Ctx,
    file: &Path,
    dry_run: bool,
    income_year: Option<i32>,
    report: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let db = ctx.ready_db(false).await?;
    let started = Instant::now();
    let year = income_year.unwrap_or_else(|| chrono::Datelike::year(&ctx.clock.today()) - 1);
    let opts = ImportOptions { dry_run, income_year: year, file_name: None };
    let progress = Box::new(progress_printer("rows / 行"));
    let r = exchange::import_households(&db, &Scope::system(), &Actor::cli(), ctx.clock.now(), file, &opts, progress)
        .await?;
    eprintln!();
    say!(
        "{}: {} rows, {} households, {} members; {} errors, {} warnings / {} 行，{} 户，{} 人；错误 {}，警告 {}",
        r.file_name,
        r.rows,
        r.households,
        r.members,
        r.errors,
        r.warnings,
        r.rows,
        r.households,
        r.members,
        r.errors,
        r.warnings
    );
    for i in r.issues.iter().take(20) {
        say!("  第{}行 [{}] {} {}：{}", i.row, i.tier.label(), i.column, i.value, i.message);
    }
    if r.issues.len() > 20 {
        say!("  … {} more / 另有 {} 条", r.issues.len() - 20, r.issues.len() - 20);
    }
    if !r.issues.is_empty() {
        let path = report.unwrap_or_else(|| {
            let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "import".into());
            file.with_file_name(format!("{stem}-问题清单.csv"))
        });
        let format = FileFormat::from_file_name(&path.to_string_lossy())?;
        exchange::write_issues(format, std::fs::File::create(&path)?, &r.issues)?;
        say!("problems written to / 问题清单：{}", path.display());
    }
    let took = started.elapsed();
    if r.errors > 0 {
        say!("nothing written because of errors / 有错误，未写入任何数据");
        return Ok(ExitCode::from(1));
    }
    if r.written {
        say!(
            "written in {took:.1?} (import #{}) / 已写入：新增 {} 户，更新 {} 户，未变 {} 户",
            r.import_id.unwrap_or_default(),
            r.created,
            r.updated,
            r.unchanged
        );
    } else {
        say!(
            "dry run, nothing written ({took:.1?}) / 只检查未写入：将新增 {} 户，更新 {} 户，未变 {} 户",
            r.created,
            r.updated,
            r.unchanged
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn export_households(ctx: &Ctx, out: &Path, region: Option<String>) -> anyhow::Result<ExitCode> {
    let db = ctx.ready_db(false).await?;
    let format = FileFormat::from_file_name(&out.to_string_lossy())?;
    let filter = HouseholdFilter { region: region.map(|r| RegionCode::parse(&r)).transpose()?, ..Default::default() };
    let file = std::io::BufWriter::new(
        std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?,
    );
    let started = Instant::now();
    let mut progress = progress_printer("households / 户");
    let rows = exchange::export_households(
        &db,
        &Scope::system(),
        &Actor::cli(),
        ctx.clock.now(),
        &filter,
        format,
        file,
        &mut progress,
    )
    .await?;
    eprintln!();
    say!("{rows} member rows written to {} in {:.1?} / 已导出 {rows} 行", out.display(), started.elapsed());
    Ok(ExitCode::SUCCESS)
}

pub async fn template(ctx: &Ctx, out: &Path) -> anyhow::Result<ExitCode> {
    let format = FileFormat::from_file_name(&out.to_string_lossy())?;
    // the example rows use the registry's regions when there is a database, else the demo town
    let regions = match ctx.ready_db(false).await {
        Ok(db) => db.all_regions().await.unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let regions = if regions.is_empty() { domain::region::luorong_regions() } else { regions };
    exchange::write_template(format, std::fs::File::create(out)?, &regions)?;
    say!("template written to {} / 模板已生成", out.display());
    Ok(ExitCode::SUCCESS)
}

/// Writes `regions.csv` and `households.<format>` for a preset, streaming.
pub fn generate(
    preset: &str,
    out: &Path,
    seed: u64,
    households: Option<usize>,
    format: &str,
) -> anyhow::Result<ExitCode> {
    let preset: synth::Preset = preset.parse()?;
    let format = FileFormat::from_file_name(&format!("x.{format}"))?;
    std::fs::create_dir_all(out)?;
    let regions = synth::regions(preset);
    let mut rf = std::io::BufWriter::new(std::fs::File::create(out.join("regions.csv"))?);
    rf.write_all("\u{feff}代码,名称\n".as_bytes())?;
    for r in &regions {
        writeln!(rf, "{},{}", r.code, r.name)?;
    }
    rf.flush()?;
    let opts = synth::GenOptions { seed, households, ..Default::default() };
    let started = Instant::now();
    let path = out.join(format!("households.{}", format.extension()));
    let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
    let mut w = exchange::ExportWriter::new(format, file, &regions)?;
    let generated = synth::households(preset, &opts);
    let total = generated.len();
    let mut progress = progress_printer("households / 户");
    let epoch = chrono::DateTime::<chrono::Utc>::default();
    let villages: Vec<domain::RegionCode> =
        regions.iter().filter(|r| r.code.level() == domain::RegionLevel::Village).map(|r| r.code).collect();
    let mut feeds = synth::feeds::DepartmentFiles::create(out, seed, opts.as_of, &villages)?;
    for (i, h) in generated.enumerate() {
        feeds.add(&h)?;
        let detail = HouseholdDetail {
            record: HouseholdRecord {
                id: domain::HouseholdId(i as i64 + 1),
                version: 1,
                household: h.household,
                import_id: None,
                created_at: epoch,
                updated_at: epoch,
            },
            members: h
                .members
                .into_iter()
                .enumerate()
                .map(|(s, m)| MemberRecord { id: domain::MemberId(0), seq: s as i32 + 1, member: m })
                .collect(),
            incomes: h.income.into_iter().collect(),
        };
        w.write_household(&detail)?;
        if i % 1000 == 0 {
            progress(i, total);
        }
    }
    progress(total, total);
    let rows = w.rows();
    w.finish()?;
    eprintln!();
    let secs = started.elapsed().as_secs_f64();
    say!(
        "{preset}: {} regions, {total} households, {rows} member rows → {} in {secs:.1}s ({:.0} households/s)",
        regions.len(),
        path.display(),
        total as f64 / secs.max(1e-9)
    );
    // the department files and what importing them into the same registry must give
    let summary = feeds.finish()?;
    std::fs::write(out.join("feeds.json"), serde_json::to_string_pretty(&summary)?)?;
    for f in &summary.files {
        say!(
            "  {}: {} rows ({} not in the registry, {} dirty IDs of which {} unmatchable); {} alerts expected / 预计预警 {} 条",
            f.file,
            f.rows,
            f.not_in_registry,
            f.dirty,
            f.wrong_check,
            f.expected_alerts,
            f.expected_alerts
        );
    }
    Ok(ExitCode::SUCCESS)
}
