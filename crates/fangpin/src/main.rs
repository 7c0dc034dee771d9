//! fangpin — 防止返贫动态监测和帮扶. The binary only parses the command line, loads the
//! configuration and dispatches (STYLE §1); the work is in the library crates.

/// `println!` that ends the program quietly when the reader has gone away (`fangpin … | head`).
macro_rules! say {
    ($($t:tt)*) => { $crate::emit(format_args!($($t)*)) };
}

mod commands;
mod config;

// mimalloc rather than glibc's malloc, for SQLite's allocations too (the `override` feature): an
// import allocates a string per cell and a value per bound parameter, an export copies every value
// it reads, and glibc's malloc and free were a quarter of the county import's perf samples
// (docs/decisions.md)
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub fn emit(args: std::fmt::Arguments) {
    use std::io::Write;
    if let Err(e) = writeln!(std::io::stdout().lock(), "{args}")
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use domain::clock::{Clock, ShiftedClock, SystemClock};

use crate::config::Config;

#[derive(Parser, Debug)]
#[command(
    name = "fangpin",
    version,
    about = "fangpin: rural poverty-relapse monitoring and assistance / 防止返贫动态监测和帮扶",
    long_about = "fangpin keeps the register of rural households, their members and incomes, and runs \
                  the monitoring work on it.\nfangpin 管理农户、家庭成员和收入登记，并在其上开展防止返贫动态监测工作。\n\n\
                  Configuration / 配置: defaults → fangpin.toml → FANGPIN_* environment → flags."
)]
pub struct Cli {
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB (default: SQLite in the data directory) / 数据库地址
    #[arg(long, global = true, env = "FANGPIN_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Configuration file (default: ./fangpin.toml if present) / 配置文件
    #[arg(long, global = true, env = "FANGPIN_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (default ./fangpin-data) / 数据目录
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Run as of this moment, e.g. 2022-03-28T09:00:00+08:00 / 以指定时刻运行（演示、测试）
    #[arg(long, global = true)]
    now: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the web server (pages and API) / 启动网页和接口服务
    Serve(ServeArgs),
    /// Apply pending database migrations / 升级数据库结构
    Migrate,
    /// Import data files / 导入数据
    #[command(subcommand)]
    Import(ImportCmd),
    /// Export data files / 导出数据
    #[command(subcommand)]
    Export(ExportCmd),
    /// Write the household import template (.xlsx or .csv) / 生成农户导入模板
    Template {
        /// Output file; its extension chooses the format / 输出文件
        #[arg(long)]
        out: PathBuf,
    },
    /// Load the demo town 雒容镇 with synthetic households and one user per role / 装入演示数据
    Demo(DemoArgs),
    /// Write synthetic data as import files, for benchmarks / 生成合成数据文件
    Generate(GenerateArgs),
    /// Measure BENCHMARKS.md's workloads against their references (sqlite3, DuckDB) in the same run / 性能基准
    Bench(BenchArgs),
    /// Administer users, tokens and regions / 用户、令牌和区划管理
    #[command(subcommand)]
    Admin(AdminCmd),
    /// Policy parameters per (year, region) / 政策参数
    #[command(subcommand)]
    Params(ParamsCmd),
    /// Audit log / 审计日志
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Screen households with the rules and store the findings / 按规则筛查并保存发现
    Screen(ScreenArgs),
    /// 集中排查 campaigns: create, list, assign tasks, progress / 集中排查专项行动
    #[command(subcommand)]
    Campaign(CampaignCmd),
    /// The work calendar: working days, deadlines, its data / 工作日历
    #[command(subcommand)]
    Calendar(CalendarCmd),
    /// Department files and the alerts they raise (部门筛查预警) / 部门数据与预警
    #[command(subcommand)]
    Alerts(AlertsCmd),
    /// The data comparison report's counts (数据比对): registry against departments and itself / 数据比对
    Quality {
        /// 12-digit region code / 区划
        #[arg(long)]
        region: Option<String>,
        /// YYYY-MM-DD (default: today)
        #[arg(long)]
        as_of: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum AlertsCmd {
    /// Import a department file (.xlsx or .csv, UTF-8 or GBK): match it to the registry, raise
    /// alerts above the thresholds, record 不宜纳入 facts; all or nothing / 导入部门数据
    Import {
        /// medical, assistance, disaster, unemployment, dropout, education_fees, housing, water,
        /// disability, illness, death, vehicle, state_salaried, business, property (or 医保, 民政 …)
        #[arg(long)]
        feed: String,
        file: PathBuf,
        /// The period of rows without one: 2022-03 or 2022 (default: this month) / 期间
        #[arg(long)]
        period: Option<String>,
        /// Column mapping, saved for this kind's next files: 金额=自付金额 (repeatable) / 列对应
        #[arg(long = "map")]
        map: Vec<String>,
        /// Check and report only / 试导入
        #[arg(long)]
        dry_run: bool,
        /// Match within this region only (12-digit code) / 区划
        #[arg(long)]
        region: Option<String>,
        /// Write the rows with errors and the unmatched rows to this .xlsx or .csv / 问题清单
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// List alerts / 列出预警
    List {
        /// open, done or all
        #[arg(long, default_value = "open")]
        status: String,
        #[arg(long)]
        feed: Option<String>,
        #[arg(long)]
        region: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum CalendarCmd {
    /// DATE plus N working days (counting from the day after) / 加N个工作日
    AddWorkdays {
        date: String,
        n: u32,
        /// 12-digit region code (Guangxi adds 壮族三月三); default: the national calendar / 区划
        #[arg(long)]
        region: Option<String>,
    },
    /// DATE plus N calendar days, moved past a statutory holiday unless --strict (D10) / 加N个自然日
    AddDays {
        date: String,
        n: u32,
        #[arg(long)]
        region: Option<String>,
        /// The strict date, without the holiday extension / 不顺延
        #[arg(long)]
        strict: bool,
    },
    /// Whether DATE is a working day: true or false / 是否工作日
    IsWorkday {
        date: String,
        #[arg(long)]
        region: Option<String>,
    },
    /// Write the calendar's data (date,kind,region,name,source) / 导出工作日历
    Export {
        #[arg(long)]
        out: PathBuf,
    },
    /// Replace the calendar with a file in the exported format (a new year, corrections) / 导入工作日历
    Import { file: PathBuf },
}

#[derive(Subcommand, Debug)]
enum CampaignCmd {
    /// Create a campaign with the seed's phase dates for the year; every household of the region gets a task / 创建专项行动
    Create {
        /// e.g. 雒容镇2022年防返贫集中排查 / 名称
        #[arg(long)]
        name: String,
        /// 12-digit region code (a town, a county …) / 范围（12位区划代码）
        #[arg(long)]
        region: String,
        /// Policy year (default: this year) / 政策年度
        #[arg(long)]
        year: Option<i32>,
    },
    /// List campaigns / 列出专项行动
    List,
    /// Assign a village's tasks (or one group's) to a screener, or unassign them / 分配排查任务
    Assign {
        /// Campaign number / 专项行动编号
        id: i64,
        /// 12-digit village code / 村代码
        #[arg(long)]
        village: String,
        /// Only this 村民小组 / 只分配该组
        #[arg(long)]
        group: Option<String>,
        /// Username of the screener; omit to unassign / 排查员用户名（省略则取消分配）
        #[arg(long)]
        screener: Option<String>,
    },
    /// Generate the 回头看 list: open findings, remote-only or missing visits, registry changes after the visit / 生成回头看清单
    LookBack { id: i64 },
    /// Progress by village, group or screener, against the deadlines / 排查进度
    Progress {
        id: i64,
        /// village (default), group or screener
        #[arg(long, default_value = "village")]
        by: String,
        /// table (default) or json / 输出格式
        #[arg(long, default_value = "table")]
        format: String,
    },
}

#[derive(Args, Debug)]
pub struct ScreenArgs {
    /// Only this region's subtree (12-digit code; default: everything) / 只筛查该区划
    #[arg(long, conflicts_with = "campaign")]
    region: Option<String>,
    /// Only the region of this campaign / 只筛查该专项行动的范围
    #[arg(long)]
    campaign: Option<i64>,
    /// Screen as of this date (default: today) / 筛查日期
    #[arg(long)]
    as_of: Option<String>,
    /// table (default) or json / 输出格式
    #[arg(long, default_value = "table")]
    format: String,
    /// Run at a lower CPU priority (nice 0–19, 0 = normal) so that a web server on the same
    /// machine answers its users first / 以较低优先级运行（0–19，0 为正常），让同一台机器上的网页服务优先
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(i32).range(0..=19))]
    nice: i32,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Listen address (default 127.0.0.1:8080) / 监听地址
    #[arg(long, env = "FANGPIN_BIND")]
    bind: Option<String>,
    /// On an empty database, load the demo first (and run as of 2022-03-28 09:00 unless --now) / 空库时先装入演示数据
    #[arg(long)]
    demo: bool,
}

#[derive(Subcommand, Debug)]
enum ImportCmd {
    /// Households in the national member-per-row layout (.xlsx, .csv in UTF-8 or GBK) / 导入农户（全国系统成员明细格式）
    Households {
        file: PathBuf,
        /// Check everything, write nothing / 只检查不写入
        #[arg(long)]
        dry_run: bool,
        /// Year of the income columns (default: last year) / 收入年度
        #[arg(long)]
        income_year: Option<i32>,
        /// Write the problems to this file (.xlsx or .csv; default FILE-问题清单.csv when there are any) / 问题清单输出文件
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// Regions from a CSV with columns 代码,名称 (12-digit codes) / 导入区划（代码,名称）
    Regions { file: PathBuf },
}

#[derive(Subcommand, Debug)]
enum ExportCmd {
    /// Households in the national layout, IDs as text / 导出农户
    Households {
        /// Output file; .xlsx or .csv / 输出文件
        #[arg(long)]
        out: PathBuf,
        /// Only this region's subtree (12-digit code) / 只导出该区划
        #[arg(long)]
        region: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Random seed (the same seed gives the same data) / 随机种子
    #[arg(long, default_value_t = 2022)]
    seed: u64,
    /// Number of households (default ~12,000) / 户数
    #[arg(long)]
    households: Option<usize>,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// town | county | m1 | province
    #[arg(long, default_value = "town")]
    preset: String,
    /// Workloads, comma-separated (default all): W1 import, W2 screening, W3 department file, W4 roll-ups, W5 API, W6 API during a batch, W7 one edit, W8 export / 测试项
    #[arg(long, value_delimiter = ',')]
    workload: Vec<String>,
    /// Repetitions of each workload; medians are compared / 重复次数
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Also write the results as JSON to this file / 结果另存为 JSON
    #[arg(long)]
    json: Option<PathBuf>,
    /// Working directory: generated data, databases, the DuckDB virtualenv (kept between runs) / 工作目录
    #[arg(long, default_value = "fangpin-bench")]
    dir: PathBuf,
    #[arg(long, default_value_t = 2022)]
    seed: u64,
    /// Override the preset's number of households / 户数
    #[arg(long)]
    households: Option<usize>,
    /// Run fangpin's side on this PostgreSQL server instead of SQLite: databases named
    /// fangpin_bench_<preset>_* are created and dropped there (nothing else is touched); the
    /// references stay the same / 在此 PostgreSQL 服务器上运行（创建并删除 fangpin_bench_ 开头的库）
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// town | county | m1 | province
    #[arg(long, default_value = "town")]
    preset: String,
    /// Output directory / 输出目录
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 2022)]
    seed: u64,
    /// Override the preset's number of households / 户数
    #[arg(long)]
    households: Option<usize>,
    /// csv (default, streams any size) or xlsx / 文件格式
    #[arg(long, default_value = "csv")]
    format: String,
}

#[derive(Subcommand, Debug)]
enum AdminCmd {
    /// Create a user; the password comes from FANGPIN_PASSWORD or standard input / 创建用户（密码取自 FANGPIN_PASSWORD 或标准输入）
    CreateUser {
        #[arg(long)]
        username: String,
        /// admin, town_office, village_cadre, screener, assistance_officer, supervisor, department_staff, county_approver, leader
        #[arg(long)]
        role: String,
        /// 12-digit region code / 12位区划代码
        #[arg(long)]
        region: String,
        #[arg(long, default_value = "")]
        display_name: String,
        /// For department_staff: 医保, 卫健, 教育, 住建, 水利, 民政, 人社, 残联, 应急管理, 农业农村, … / 所属行业部门
        #[arg(long)]
        department: Option<String>,
    },
    /// Set a user's password (from FANGPIN_PASSWORD or standard input) and unlock the account / 重设密码并解锁
    ResetPassword {
        #[arg(long)]
        username: String,
    },
    /// List users / 列出用户
    ListUsers,
    /// Create a long-lived API token for an integration (printed once) / 创建集成令牌
    CreateToken {
        #[arg(long)]
        username: String,
        /// Days until it expires (default: never) / 有效天数
        #[arg(long)]
        days: Option<i64>,
    },
}

#[derive(Subcommand, Debug)]
enum ParamsCmd {
    /// Set a parameter (adds a new version) / 设定参数（新增版本）
    Set {
        #[arg(long)]
        year: i32,
        /// 12-digit region code / 12位区划代码
        #[arg(long)]
        region: String,
        /// 监测范围, 元 per person per year (short for `--name monitoring_line --value …`)
        #[arg(long, conflicts_with_all = ["name", "value"], required_unless_present = "name")]
        monitoring_line: Option<String>,
        /// Parameter (`fangpin params list` shows them all): monitoring_line, stable_months,
        /// officer_due_workdays, measures_due_days, notice_days, case_limit_days,
        /// measures_clock_start (0 officer / 1 inclusion), holiday_extension (1 yes / 0 no), …
        #[arg(long, requires = "value")]
        name: Option<String>,
        /// The value: 元 for money, a whole number for days, a number or label for a switch
        #[arg(long, requires = "name")]
        value: Option<String>,
        /// Mark as an example value, not a confirmed figure / 标为示例值
        #[arg(long)]
        example: bool,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// List parameters / 列出参数
    List {
        #[arg(long)]
        year: Option<i32>,
    },
}

#[derive(Subcommand, Debug)]
enum AuditCmd {
    /// Check the hash chain; exits non-zero naming the first bad row / 校验哈希链
    Verify,
}

/// Everything a command needs.
pub struct Ctx {
    pub config: Config,
    pub clock: Arc<dyn Clock>,
}

impl Ctx {
    /// Opens the database; `create` lets a SQLite file come into being (commands that migrate).
    pub async fn db(&self, create: bool) -> anyhow::Result<store::Db> {
        let url = self.config.database_url()?;
        let opts = store::ConnectOptions {
            max_connections: self.config.db_max_connections,
            create_sqlite: create,
            ..Default::default()
        };
        let db = store::Db::connect(&url, &opts).await?;
        tracing::debug!(url = %store::redact_url(&url), "connected");
        Ok(db)
    }

    /// Opens the database and checks its schema is current (or applies migrations if asked).
    pub async fn ready_db(&self, migrate: bool) -> anyhow::Result<store::Db> {
        let db = self.db(migrate).await?;
        if migrate {
            db.migrate(self.clock.now()).await?;
        } else {
            let applied = db.applied_migrations().await?;
            let known = store::migrate::MIGRATIONS.len();
            let known_max = store::migrate::MIGRATIONS.last().map_or(0, |m| m.version);
            if let Some(v) = applied.iter().find(|v| **v > known_max) {
                // an older binary on a newer schema could write what the newer one no longer expects
                anyhow::bail!(
                    "the database schema (version {v}) is newer than this fangpin (knows up to {known_max}): \
                     upgrade fangpin / 数据库结构比本程序新：请升级 fangpin"
                );
            }
            if applied.len() < known {
                anyhow::bail!(
                    "the database is not up to date: run `fangpin migrate` first / 数据库结构未升级：请先运行 fangpin migrate"
                );
            }
        }
        Ok(db)
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let mut flags = serde_json::Map::new();
    if let Some(u) = &cli.database_url {
        flags.insert("database_url".into(), u.clone().into());
    }
    if let Some(d) = &cli.data_dir {
        flags.insert("data_dir".into(), d.display().to_string().into());
    }
    if let Some(n) = &cli.now {
        flags.insert("now".into(), n.clone().into());
    }
    if let Command::Serve(s) = &cli.command
        && let Some(b) = &s.bind
    {
        flags.insert("bind".into(), b.clone().into());
    }
    let config = match Config::load(
        cli.config.as_ref(),
        figment::providers::Serialized::defaults(serde_json::Value::Object(flags)),
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log)),
        )
        .with_writer(std::io::stderr)
        .init();
    // before any thread starts: on Linux a priority belongs to a thread, and new threads inherit it
    if let Command::Screen(a) = &cli.command
        && let Some(nice) = lower_priority(a.nice)
    {
        eprintln!("priority / 优先级: nice {nice} (--nice 0: as started / 不降低)");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Lowers the calling thread's CPU priority to `nice`, and returns the priority it runs at when
/// that is lowered. A batch such as a full screening then leaves the processor to the web server's
/// requests when both want it and both are in one scheduling group (docs/deploy.md), and runs at
/// full speed otherwise (BENCHMARKS.md, W6).
fn lower_priority(nice: i32) -> Option<i32> {
    #[cfg(unix)]
    {
        // without the current priority nothing is changed: a guess could raise it
        let current = rustix::process::getpriority_process(None).ok()?;
        let target = nice_target(current, nice)?;
        match rustix::process::setpriority_process(None, target) {
            Ok(()) => Some(target),
            Err(e) => {
                eprintln!("warning: cannot lower the priority to nice {target}: {e} / 无法降低优先级，按原优先级运行");
                None
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = nice;
        None
    }
}

/// The nice value to set, if any: `requested` when it is lower priority than `current`; never a
/// raise (an administrator's own `nice`, or a negative one a service was given, stays), and 0
/// leaves the priority as it was started.
fn nice_target(current: i32, requested: i32) -> Option<i32> {
    (requested > 0 && requested > current).then_some(requested)
}

pub fn make_clock(config: &Config) -> anyhow::Result<Arc<dyn Clock>> {
    Ok(match &config.now {
        Some(t) => {
            let start = domain::clock::parse_moment(t).ok_or_else(|| {
                anyhow::anyhow!("--now / FANGPIN_NOW: cannot read {t:?}; use e.g. 2022-03-28T09:00:00+08:00")
            })?;
            Arc::new(ShiftedClock::starting_at(start))
        }
        None => Arc::new(SystemClock),
    })
}

async fn run(command: Command, config: Config) -> anyhow::Result<std::process::ExitCode> {
    use std::process::ExitCode;
    let clock = make_clock(&config)?;
    let ctx = Ctx { config, clock };
    match command {
        Command::Serve(a) => commands::serve::run(&ctx, a.demo).await,
        Command::Migrate => {
            let db = ctx.db(true).await?;
            let done = db.migrate(ctx.clock.now()).await?;
            if done.is_empty() {
                say!("database is up to date / 数据库已是最新");
            } else {
                say!("applied migrations {done:?} / 已升级");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(ImportCmd::Households { file, dry_run, income_year, report }) => {
            commands::transfer::import_households(&ctx, &file, dry_run, income_year, report).await
        }
        Command::Import(ImportCmd::Regions { file }) => commands::admin::import_regions(&ctx, &file).await,
        Command::Export(ExportCmd::Households { out, region }) => {
            commands::transfer::export_households(&ctx, &out, region).await
        }
        Command::Template { out } => commands::transfer::template(&ctx, &out).await,
        Command::Demo(a) => commands::demo::run(&ctx, a.seed, a.households).await.map(|_| ExitCode::SUCCESS),
        Command::Bench(a) => {
            commands::bench::run(commands::bench::Args {
                preset: a.preset,
                workloads: a.workload,
                runs: a.runs,
                json: a.json,
                dir: a.dir,
                seed: a.seed,
                households: a.households,
                postgres: a.postgres,
            })
            .await
        }
        Command::Generate(a) => commands::transfer::generate(&a.preset, &a.out, a.seed, a.households, &a.format),
        Command::Admin(c) => match c {
            AdminCmd::CreateUser { username, role, region, display_name, department } => {
                commands::admin::create_user(&ctx, &username, &role, &region, &display_name, department.as_deref())
                    .await
            }
            AdminCmd::ResetPassword { username } => commands::admin::reset_password(&ctx, &username).await,
            AdminCmd::ListUsers => commands::admin::list_users(&ctx).await,
            AdminCmd::CreateToken { username, days } => commands::admin::create_token(&ctx, &username, days).await,
        },
        Command::Params(ParamsCmd::Set { year, region, monitoring_line, name, value, example, note }) => {
            let (name, value) = match monitoring_line {
                Some(line) => ("monitoring_line".to_string(), line),
                None => (name.unwrap_or_default(), value.unwrap_or_default()),
            };
            commands::admin::params_set(&ctx, year, &region, &name, &value, example, &note).await
        }
        Command::Params(ParamsCmd::List { year }) => commands::admin::params_list(&ctx, year).await,
        Command::Audit(AuditCmd::Verify) => commands::admin::audit_verify(&ctx).await,
        Command::Screen(a) => commands::screen::run(&ctx, a.region, a.campaign, a.as_of, &a.format).await,
        Command::Campaign(c) => match c {
            CampaignCmd::Create { name, region, year } => commands::campaign::create(&ctx, &name, &region, year).await,
            CampaignCmd::List => commands::campaign::list(&ctx).await,
            CampaignCmd::Assign { id, village, group, screener } => {
                commands::campaign::assign(&ctx, id, &village, group, screener).await
            }
            CampaignCmd::Progress { id, by, format } => commands::campaign::progress(&ctx, id, &by, &format).await,
            CampaignCmd::LookBack { id } => commands::campaign::look_back(&ctx, id).await,
        },
        Command::Alerts(AlertsCmd::Import { feed, file, period, map, dry_run, region, report }) => {
            commands::alerts::import(&ctx, &feed, &file, period, &map, dry_run, region, report).await
        }
        Command::Quality { region, as_of } => commands::alerts::quality(&ctx, region, as_of).await,
        Command::Alerts(AlertsCmd::List { status, feed, region }) => {
            commands::alerts::list(&ctx, &status, feed, region).await
        }
        Command::Calendar(c) => match c {
            CalendarCmd::AddWorkdays { date, n, region } => {
                commands::calendar::add_workdays(&ctx, &date, n, region).await
            }
            CalendarCmd::AddDays { date, n, region, strict } => {
                commands::calendar::add_days(&ctx, &date, n, region, strict).await
            }
            CalendarCmd::IsWorkday { date, region } => commands::calendar::is_workday(&ctx, &date, region).await,
            CalendarCmd::Export { out } => commands::calendar::export(&ctx, &out).await,
            CalendarCmd::Import { file } => commands::calendar::import(&ctx, &file).await,
        },
    }
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn a_lowered_priority_holds_for_threads_started_after_and_is_never_raised() {
        use rustix::process::getpriority_process;
        // on a thread of its own: the priority is the thread's, and the test's threads stay as they are
        std::thread::spawn(|| {
            let before = getpriority_process(None).unwrap();
            let lower = (before + 3).min(19);
            assert!(lower > before, "the test runs at nice {before}: nothing to lower");
            assert_eq!(super::lower_priority(lower), Some(lower));
            assert_eq!(getpriority_process(None).unwrap(), lower);
            let child = std::thread::spawn(|| getpriority_process(None).unwrap()).join().unwrap();
            assert_eq!(child, lower, "a thread started after inherits it");
            assert_eq!(super::lower_priority(before), None);
            assert_eq!(getpriority_process(None).unwrap(), lower, "never raised");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_nice_value_only_ever_lowers_the_priority() {
        use super::nice_target;
        assert_eq!(nice_target(0, 10), Some(10));
        assert_eq!(nice_target(5, 10), Some(10));
        assert_eq!(nice_target(15, 10), None, "an administrator's lower priority stays");
        assert_eq!(nice_target(10, 10), None);
        assert_eq!(nice_target(-5, 0), None, "0 leaves a service's raised priority as it is");
        assert_eq!(nice_target(-5, 10), Some(10));
    }

    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}
