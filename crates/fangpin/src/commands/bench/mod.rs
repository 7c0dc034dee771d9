//! `fangpin bench`: BENCHMARKS.md's workloads on generated data, each next to its reference in the
//! same run (sqlite3's `.import`, DuckDB from PyPI in a virtualenv this command creates), repeated,
//! medians compared. The machines are noisy: only ratios measured in the same run mean much.
//!
//! fangpin's own workloads run as they run for a user — the `fangpin` command in a child process
//! (import, screening from the database, department file, export) — or in this process for the
//! resident engine (warm screening, roll-ups, one edit), which has no command of its own.

mod http;
mod report;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use chrono::NaiveDate;
use domain::Scope;
use domain::params::{ParamName, resolve_or_default};
use domain::ports::{ParamStore, ResidentSource};
use domain::rules::Context;

use report::{Goal, Report, Row};

/// The DuckDB release the references use (a wheel from PyPI; nothing compiled).
const DUCKDB: &str = "duckdb==2.0.1";
/// The monitoring line the bench sets for 2022 (the demo's example value, DOMAIN D2).
const LINE_YUAN: i64 = 6_500;
const REFERENCE_PY: &str = include_str!("reference.py");
const IMPORT_SQL: &str = include_str!("import.sql");
/// The screening day of the generated data (the campaign's first working day).
const AS_OF: &str = "2022-03-28";
const NOW: &str = "2022-03-28T09:00:00+08:00";

pub struct Args {
    pub preset: String,
    pub workloads: Vec<String>,
    pub runs: usize,
    pub json: Option<PathBuf>,
    pub dir: PathBuf,
    pub seed: u64,
    pub households: Option<usize>,
    /// A PostgreSQL server URL: fangpin's side runs there (`--postgres`), SQLite otherwise.
    pub postgres: Option<String>,
}

pub const WORKLOADS: [&str; 8] = ["W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8"];

pub async fn run(args: Args) -> anyhow::Result<std::process::ExitCode> {
    let selected: Vec<String> = if args.workloads.is_empty() {
        WORKLOADS.iter().map(|w| w.to_string()).collect()
    } else {
        let mut v = Vec::new();
        for w in &args.workloads {
            let w = w.trim().to_ascii_uppercase();
            if !WORKLOADS.contains(&w.as_str()) {
                bail!("--workload {w}: known workloads are {} / 未知的测试项", WORKLOADS.join(","));
            }
            v.push(w);
        }
        v
    };
    let runs = args.runs.max(1);
    let exe = std::env::current_exe().context("cannot find the fangpin executable")?;
    if cfg!(debug_assertions) {
        eprintln!(
            "NOTE: this is a debug build; figures mean little. Use `cargo run --release -- bench …` / 调试版本，数据仅供检查"
        );
    }
    let dir = args.dir.join(&args.preset);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = dir.canonicalize()?;
    let gen_dir = dir.join("gen");
    let target = match &args.postgres {
        None => Target::Sqlite,
        Some(url) => Target::postgres(url, &args.preset).await?,
    };
    let mut bench = Bench {
        exe,
        dir: dir.clone(),
        runs,
        report: Report::new(&args.preset, runs, &target.describe()),
        target,
        generate: vec![
            "generate".into(),
            "--preset".into(),
            args.preset.clone(),
            "--seed".into(),
            args.seed.to_string(),
        ]
        .into_iter()
        .chain(args.households.iter().flat_map(|n| ["--households".to_string(), n.to_string()]))
        .collect(),
    };

    // the data: generated once per (preset, seed, size) and kept for later runs
    let stamp = format!("{} {} {:?}", args.preset, args.seed, args.households);
    let stamp_file = gen_dir.join("bench-stamp");
    if std::fs::read_to_string(&stamp_file).ok().as_deref() != Some(stamp.as_str()) {
        // new data: the databases of the old data go too
        let _ = std::fs::remove_dir_all(&gen_dir);
        bench.drop_db(MAIN).await?;
        let _ = std::fs::remove_file(dir.join("reference.duckdb"));
        let mut cmd = bench.fangpin(&[]);
        cmd.args(["generate", "--preset", &args.preset, "--seed", &args.seed.to_string(), "--out"]).arg(&gen_dir);
        if let Some(n) = args.households {
            cmd.args(["--households", &n.to_string()]);
        }
        eprintln!("generating the {} data / 生成数据 …", args.preset);
        check(cmd.stdout(Stdio::null()).status()?, "fangpin generate")?;
        std::fs::write(&stamp_file, &stamp)?;
    }
    let households_csv = gen_dir.join("households.csv");
    // what an imported database is stamped with: this very file, so that the other backend's
    // database, or one on a server shared with another bench directory, is not taken for it
    let data_stamp = {
        let m =
            std::fs::metadata(&households_csv).with_context(|| format!("cannot read {}", households_csv.display()))?;
        let modified = m.modified()?.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        format!("{stamp}; households.csv {} bytes, modified {modified}", m.len())
    };
    let member_rows = count_lines(&households_csv)?.saturating_sub(1);
    let medical_csv = gen_dir.join("医保自付.csv");
    let medical_rows = count_lines(&medical_csv)?.saturating_sub(1);
    bench.report.note(format!("{member_rows} member rows in households.csv; {medical_rows} rows in 医保自付.csv"));

    let python = venv(&args.dir)?;
    let ref_py = dir.join("reference.py");
    std::fs::write(&ref_py, REFERENCE_PY)?;
    let duck = Duck { python, script: ref_py, db: dir.join("reference.duckdb"), threads: cores() };
    // DuckDB loads the same file once, untimed: its workloads start from data already loaded
    if !duck.db.exists() || std::fs::metadata(&duck.db)?.modified()? < std::fs::metadata(&households_csv)?.modified()? {
        let _ = std::fs::remove_file(&duck.db);
        eprintln!("loading the data into DuckDB (untimed) / 载入 DuckDB …");
        duck.run(&["load", &households_csv.display().to_string()])?;
    }

    // a workload's copies that an earlier run left behind when it failed
    for name in ["w1", "w2", "w3", "w4", "w5"] {
        bench.drop_db(name).await?;
    }
    // W1, or an untimed import when W1 is not asked for: every other workload needs the database
    // of this data (stamped once its import has succeeded)
    if selected.iter().any(|w| w == "W1") {
        bench.w1(&households_csv, member_rows, &data_stamp).await?;
    } else if !bench.is_stamped(MAIN, &data_stamp).await? {
        eprintln!("importing the data (untimed) / 导入数据 …");
        bench.setup_db(MAIN).await?;
        check(bench.fangpin_in(MAIN, &["import", "households"]).arg(&households_csv).status()?, "import")?;
        bench.stamp(MAIN, &data_stamp).await?;
    }
    // fangpin's child-process times include starting the process and opening the database; the
    // DuckDB times do not (measured inside the script): say how much that is
    let mut start = Vec::new();
    for _ in 0..3 {
        start.push(timed(bench.fangpin_in(MAIN, &["migrate"]), "fangpin migrate")?.secs);
    }
    bench.report.note(format!(
        "starting fangpin and opening the database (`fangpin migrate` with nothing to do) takes {:.0} ms: it is inside \
         every child-process figure (W1, W2 cold, W3, W8), not inside DuckDB's",
        report::median(&start) * 1e3
    ));
    let engine_needed = selected.iter().any(|w| ["W2", "W4", "W7"].contains(&w.as_str()));
    let stable = resolve_or_default(&[], 2022, guangxi(), ParamName::StableMonths)?.value;
    if selected.iter().any(|w| w == "W2") {
        bench.w2_cold(&duck, stable).await?;
    }
    if engine_needed {
        bench.engine(&duck, &selected, stable).await?;
    }
    if selected.iter().any(|w| w == "W3") {
        bench.w3(&medical_csv, medical_rows, &duck).await?;
    }
    if selected.iter().any(|w| w == "W8") {
        bench.w8(member_rows, &duck)?;
    }
    if selected.iter().any(|w| w == "W4") {
        bench.w4_page().await?;
    }
    let (w5, w6) = (selected.iter().any(|w| w == "W5"), selected.iter().any(|w| w == "W6"));
    if w5 || w6 {
        bench.http(w5, w6).await?;
    }
    bench.report.print();
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&bench.report.json())?)?;
        eprintln!("written / 已写入 {}", path.display());
    }
    Ok(std::process::ExitCode::SUCCESS)
}

struct Bench {
    exe: PathBuf,
    dir: PathBuf,
    runs: usize,
    report: Report,
    target: Target,
    /// `fangpin generate` with this run's preset, seed and size (for the XLSX copy of W1's file).
    generate: Vec<String>,
}

/// Rows an XLSX sheet can hold below its header.
const XLSX_MAX_ROWS: u64 = 1_048_575;

/// The database every workload starts from (the imported registry); the others are a
/// workload's own: `w1`, `w2`, … (see [`Target`]).
const MAIN: &str = "db";

/// Where fangpin's databases live. Each has a name ([`MAIN`], `w1`, `w2`, …) and a data directory
/// for its working files ([`Bench::data_dir`]).
enum Target {
    /// SQLite, in the data directory: `<name>/fangpin.db`.
    Sqlite,
    /// Databases `<prefix>_<name>` on one PostgreSQL server. `admin` is the URL given; its own
    /// database is only used to create, copy and drop those.
    Postgres { admin: String, prefix: String, file_copy: bool },
}

impl Target {
    async fn postgres(url: &str, preset: &str) -> anyhow::Result<Target> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            bail!(
                "--postgres takes a postgres:// URL, e.g. postgres://postgres@127.0.0.1:5432/postgres / 请给出 postgres:// 地址"
            );
        }
        if preset.is_empty() || !preset.chars().all(|c| c.is_ascii_alphanumeric()) {
            bail!("--preset {preset}: letters and digits only / 预设名只能含字母和数字");
        }
        let prefix = format!("fangpin_bench_{}", preset.to_ascii_lowercase());
        let own = url.split('?').next().unwrap_or(url).rsplit('/').next().unwrap_or("");
        if own.starts_with(&prefix) || own == "template1" {
            bail!(
                "--postgres {}: give a database the bench does not create or copy from, e.g. postgres / 请换一个数据库",
                store::redact_url(url)
            );
        }
        let admin = url.to_string();
        // fail now, with the server's reason, rather than after generating the data; a file copy
        // of a template (PostgreSQL 15+) is much faster for a large database than the default,
        // which writes every page to the WAL
        let probe = Target::Postgres { admin: admin.clone(), prefix: prefix.clone(), file_copy: false };
        let file_copy =
            probe.admin(&["SELECT 1 WHERE current_setting('server_version_num')::int >= 150000"]).await? > 0;
        Ok(Target::Postgres { admin, prefix, file_copy })
    }

    fn describe(&self) -> String {
        match self {
            Target::Sqlite => "SQLite (embedded, the default)".into(),
            Target::Postgres { admin, prefix, .. } => {
                format!("PostgreSQL ({}, databases {prefix}_*)", store::redact_url(&store::replace_db_name(admin, "…")))
            }
        }
    }

    /// Runs these statements, one after the other, on the admin database (PostgreSQL only);
    /// returns the last one's row count.
    async fn admin(&self, statements: &[&str]) -> anyhow::Result<u64> {
        let Target::Postgres { admin, .. } = self else { return Ok(0) };
        let opts = store::ConnectOptions { max_connections: 1, ..Default::default() };
        let db = store::Db::connect(admin, &opts).await.map_err(|e| anyhow::anyhow!("--postgres: {e}"))?;
        let mut result = Ok(0);
        for sql in statements {
            match db.execute_raw(sql).await {
                Ok(n) => result = Ok(n),
                Err(e) => {
                    result = Err(anyhow::anyhow!("PostgreSQL: {sql}: {e}"));
                    break;
                }
            }
        }
        db.close().await;
        result
    }

    /// Whether the server has database `db` (the names are ours: letters, digits, `_`), with this
    /// comment when one is given. (A SELECT's row count is its command tag's: `SELECT 1`.)
    async fn has_database(&self, db: &str, comment: Option<&str>) -> anyhow::Result<bool> {
        let with_comment = comment.map_or(String::new(), |c| {
            format!(" AND shobj_description(oid, 'pg_database') = '{}'", c.replace('\'', "''"))
        });
        Ok(self.admin(&[&format!("SELECT 1 FROM pg_database WHERE datname = '{db}'{with_comment}")]).await? > 0)
    }
}

impl Bench {
    /// The working files of database `name` (and, on SQLite, the database itself); PostgreSQL's
    /// are apart, so that the two backends' imported registries can both be kept.
    fn data_dir(&self, name: &str) -> PathBuf {
        match self.target {
            Target::Sqlite => self.dir.join(name),
            Target::Postgres { .. } => self.dir.join("postgres").join(name),
        }
    }

    fn db_url(&self, name: &str) -> String {
        match &self.target {
            Target::Sqlite => format!("sqlite://{}", self.data_dir(name).join("fangpin.db").display()),
            Target::Postgres { admin, prefix, .. } => store::replace_db_name(admin, &format!("{prefix}_{name}")),
        }
    }

    fn pg_name(&self, name: &str) -> Option<String> {
        match &self.target {
            Target::Sqlite => None,
            Target::Postgres { prefix, .. } => Some(format!("{prefix}_{name}")),
        }
    }

    /// Whether database `name` holds the import of the data of `stamp` ([`Bench::stamp`]).
    async fn is_stamped(&self, name: &str, stamp: &str) -> anyhow::Result<bool> {
        match self.pg_name(name) {
            None => Ok(self.data_dir(name).join("fangpin.db").exists()
                && std::fs::read_to_string(self.data_dir(name).join("bench-stamp")).ok().as_deref() == Some(stamp)),
            Some(db) => self.target.has_database(&db, Some(stamp)).await,
        }
    }

    /// Marks database `name` as holding the import of the data of `stamp`: a file beside the
    /// SQLite database, the comment of a PostgreSQL one (the server may be shared by other bench
    /// directories).
    async fn stamp(&self, name: &str, stamp: &str) -> anyhow::Result<()> {
        match self.pg_name(name) {
            None => std::fs::write(self.data_dir(name).join("bench-stamp"), stamp)?,
            Some(db) => {
                self.target.admin(&[&format!("COMMENT ON DATABASE {db} IS '{}'", stamp.replace('\'', "''"))]).await?;
            }
        }
        Ok(())
    }

    /// Database `name` and its data directory, gone.
    async fn drop_db(&self, name: &str) -> anyhow::Result<()> {
        let _ = std::fs::remove_dir_all(self.data_dir(name));
        if let Some(db) = self.pg_name(name)
            && self.target.has_database(&db, None).await?
        {
            self.target.admin(&[&format!("DROP DATABASE {db} WITH (FORCE)")]).await?;
        }
        Ok(())
    }

    /// An empty database `name` with an empty data directory, replacing any before.
    async fn fresh_db(&self, name: &str) -> anyhow::Result<()> {
        self.drop_db(name).await?;
        std::fs::create_dir_all(self.data_dir(name))?;
        if let Some(db) = self.pg_name(name) {
            self.target.admin(&[&format!("CREATE DATABASE {db}")]).await?;
        }
        Ok(())
    }

    /// A copy of database `from` as `to` (untimed), replacing any before.
    async fn copy_db(&self, from: &str, to: &str) -> anyhow::Result<()> {
        match (self.pg_name(from), self.pg_name(to)) {
            (Some(from), Some(to_db)) => {
                self.drop_db(to).await?;
                std::fs::create_dir_all(self.data_dir(to))?;
                let strategy = match self.target {
                    Target::Postgres { file_copy: true, .. } => " STRATEGY = FILE_COPY",
                    _ => "",
                };
                self.target.admin(&[&format!("CREATE DATABASE {to_db} TEMPLATE {from}{strategy}")]).await?;
                Ok(())
            }
            _ => copy_sqlite(&self.data_dir(from), &self.data_dir(to)),
        }
    }

    /// Database `from` becomes `to` (replacing it), with its data directory.
    async fn rename_db(&self, from: &str, to: &str) -> anyhow::Result<()> {
        self.drop_db(to).await?;
        std::fs::rename(self.data_dir(from), self.data_dir(to))?;
        if let (Some(from), Some(to)) = (self.pg_name(from), self.pg_name(to)) {
            // the import's process has exited; PostgreSQL waits up to 5 s for its server process
            self.target.admin(&[&format!("ALTER DATABASE {from} RENAME TO {to}")]).await?;
        }
        Ok(())
    }

    /// A connection pool on database `name`, for the workloads that run in this process.
    async fn connect(&self, name: &str) -> anyhow::Result<store::Db> {
        Ok(store::Db::connect(&self.db_url(name), &store::ConnectOptions::default()).await?)
    }
}

/// A user of `role` over the whole province with an integration token (W4 page, W5, W6).
async fn integration_token(
    db: &store::Db,
    now: chrono::DateTime<chrono::Utc>,
    username: &str,
    role: domain::Role,
) -> anyhow::Result<String> {
    use domain::ports::SessionStore;
    let actor = domain::Actor::cli();
    let u = web::auth::create_user(db, &actor, now, username, "性能测试", role, guangxi(), "Bench@2022-fangpin")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let token = web::auth::new_token();
    let kind = domain::ports::SessionKind::Integration;
    db.create_session(&web::auth::token_hash(&token), u.id, kind, &web::auth::new_token(), now, None, &[]).await?;
    Ok(token)
}

/// `web::serve` on a free port in this process, over `db`, until the sender is used.
async fn spawn_api(
    db: &store::Db,
    clock: Arc<dyn domain::clock::Clock>,
    work_dir: &Path,
    dashboard_cache: std::time::Duration,
) -> anyhow::Result<(
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
)> {
    let web_config = web::WebConfig { work_dir: work_dir.to_path_buf(), dashboard_cache, ..Default::default() };
    let state = web::AppState::new(db.clone(), clock, web_config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(listener, state, async {
        let _ = stopped.await;
    }));
    Ok((addr, stop, server))
}

fn guangxi() -> domain::RegionCode {
    domain::RegionCode::from_u64(450_000_000_000).expect("a province code")
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn check(status: std::process::ExitStatus, what: &str) -> anyhow::Result<()> {
    if !status.success() {
        bail!("{what} failed ({status}) / 运行失败");
    }
    Ok(())
}

fn count_lines(path: &Path) -> anyhow::Result<u64> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            return Ok(n);
        }
        n += buf[..k].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

/// The median and the 99th percentile.
fn quantiles(v: &[f64]) -> (f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let p99 = s.get(((s.len().max(1) - 1) as f64 * 0.99).round() as usize).copied().unwrap_or(0.0);
    (report::median(&s), p99)
}

/// A copy of the SQLite database in `from` (with its WAL files), replacing `to`.
fn copy_sqlite(from: &Path, to: &Path) -> anyhow::Result<()> {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to)?;
    for suffix in ["", "-wal", "-shm"] {
        let f = from.join(format!("fangpin.db{suffix}"));
        if f.exists() {
            std::fs::copy(&f, to.join(format!("fangpin.db{suffix}")))?;
        }
    }
    Ok(())
}

/// One timed child process: wall time, and peak memory through GNU time when it is there.
struct Timed {
    secs: f64,
    peak_rss_mb: Option<f64>,
}

fn secs_of(runs: &[Timed]) -> Vec<f64> {
    runs.iter().map(|t| t.secs).collect()
}

/// The highest peak memory of the runs, when GNU time measured it.
fn peak_of(runs: &[Timed]) -> Option<f64> {
    runs.iter().filter_map(|t| t.peak_rss_mb).reduce(f64::max)
}

fn timed(cmd: Command, what: &str) -> anyhow::Result<Timed> {
    let time = Path::new("/usr/bin/time");
    let rss_file = tempfile_path("rss");
    let mut run = if time.exists() {
        let mut t = Command::new(time);
        t.arg("-f").arg("%M").arg("-o").arg(&rss_file).arg(cmd.get_program()).args(cmd.get_args());
        if let Some(d) = cmd.get_current_dir() {
            t.current_dir(d);
        }
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => t.env(k, v),
                None => t.env_remove(k),
            };
        }
        t
    } else {
        cmd
    };
    print_load();
    let started = Instant::now();
    let out = run.stdout(Stdio::null()).stderr(Stdio::piped()).output()?;
    let secs = started.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("{what} failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    let peak_rss_mb = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse::<f64>().ok()))
        .map(|kb| kb / 1024.0);
    let _ = std::fs::remove_file(&rss_file);
    Ok(Timed { secs, peak_rss_mb })
}

fn tempfile_path(what: &str) -> PathBuf {
    std::env::temp_dir().join(format!("fangpin-bench-{what}-{}", std::process::id()))
}

/// The load average, printed before each timed run (BENCHMARKS.md: the machines are shared).
fn print_load() {
    if let Ok(l) = std::fs::read_to_string("/proc/loadavg") {
        eprintln!("  load average {}", l.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    }
}

/// The process's resident memory now, in MB.
fn rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse::<f64>().ok().map(|kb| kb / 1024.0)
}

/// The Python of the bench virtualenv, with DuckDB installed in it (created on first use).
fn venv(root: &Path) -> anyhow::Result<PathBuf> {
    let venv = root.join("venv");
    let python = venv.join("bin/python");
    let has_duckdb = |p: &Path| {
        Command::new(p).args(["-c", "import duckdb"]).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
    };
    if python.exists() && has_duckdb(&python) {
        return Ok(python);
    }
    eprintln!("creating the Python virtualenv with {DUCKDB} in {} / 创建 Python 虚拟环境 …", venv.display());
    check(
        Command::new("python3").arg("-m").arg("venv").arg(&venv).status().context("python3 is needed for DuckDB")?,
        "python3 -m venv",
    )?;
    check(Command::new(&python).args(["-m", "pip", "install", "-q", DUCKDB]).status()?, "pip install duckdb")?;
    if !has_duckdb(&python) {
        bail!("DuckDB did not install in {} / DuckDB 安装失败", venv.display());
    }
    Ok(python)
}

/// The DuckDB reference script.
struct Duck {
    python: PathBuf,
    script: PathBuf,
    db: PathBuf,
    threads: usize,
}

struct DuckRun {
    secs: Vec<f64>,
    rows: u64,
    peak_rss_mb: f64,
}

impl Duck {
    fn run(&self, args: &[&str]) -> anyhow::Result<DuckRun> {
        print_load();
        let out = Command::new(&self.python)
            .arg(&self.script)
            .arg(&self.db)
            .arg(self.threads.to_string())
            .args(args)
            .stderr(Stdio::piped())
            .output()?;
        if !out.status.success() {
            bail!("DuckDB reference {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let v: serde_json::Value = serde_json::from_str(text.lines().last().unwrap_or("{}"))?;
        Ok(DuckRun {
            secs: v["secs"].as_array().map(|a| a.iter().filter_map(|x| x.as_f64()).collect()).unwrap_or_default(),
            rows: v["rows"].as_u64().unwrap_or(0),
            peak_rss_mb: v["peak_rss_mb"].as_f64().unwrap_or(0.0),
        })
    }
}

impl Bench {
    fn fangpin(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.exe);
        c.env_remove("FANGPIN_DATABASE_URL").env("FANGPIN_LOG", "warn").args(["--now", NOW]).args(args);
        c
    }

    /// `fangpin` on database `name`. The URL goes in the environment, which overrides a
    /// `fangpin.toml` (so a configured database is never used) and keeps a password off `ps`.
    fn fangpin_in(&self, name: &str, args: &[&str]) -> Command {
        let mut c = Command::new(&self.exe);
        c.env("FANGPIN_DATABASE_URL", self.db_url(name)).env("FANGPIN_LOG", "warn");
        c.arg("--data-dir").arg(self.data_dir(name)).args(["--now", NOW]).args(args);
        c
    }

    /// An empty database with the generated regions and the monitoring line (untimed).
    async fn setup_db(&self, name: &str) -> anyhow::Result<()> {
        self.fresh_db(name).await?;
        let quiet = |mut c: Command| c.stdout(Stdio::null()).status();
        check(quiet(self.fangpin_in(name, &["migrate"]))?, "fangpin migrate")?;
        let regions = self.dir.join("gen/regions.csv");
        let mut c = self.fangpin_in(name, &["import", "regions"]);
        c.arg(&regions);
        check(quiet(c)?, "fangpin import regions")?;
        let c = self.fangpin_in(
            name,
            &[
                "params",
                "set",
                "--year",
                "2022",
                "--region",
                "450000000000",
                "--monitoring-line",
                &LINE_YUAN.to_string(),
            ],
        );
        check(quiet(c)?, "fangpin params set")?;
        Ok(())
    }

    async fn w1(&mut self, csv: &Path, rows: u64, stamp: &str) -> anyhow::Result<()> {
        eprintln!("W1 import / 导入 …");
        let mut ours = Vec::new();
        let mut ref_ = Vec::new();
        let run_db = "w1";
        let sql_path = self.dir.join("w1-reference.sql");
        std::fs::write(&sql_path, IMPORT_SQL.replace("{CSV}", &csv.display().to_string()))?;
        let ref_db = self.dir.join("w1-reference.db");
        for _ in 0..self.runs {
            self.setup_db(run_db).await?;
            let mut c = self.fangpin_in(run_db, &["import", "households"]);
            c.arg(csv);
            ours.push(timed(c, "fangpin import households")?);
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", ref_db.display()));
            }
            let mut c = Command::new("sqlite3");
            c.arg(&ref_db).arg(format!(".read '{}'", sql_path.display()));
            ref_.push(timed(c, "sqlite3 .import (is the sqlite3 command installed?)")?);
        }
        self.rename_db(run_db, MAIN).await?;
        self.stamp(MAIN, stamp).await?;
        self.report.push(Row {
            id: "W1",
            what: "import households.csv (national layout, full validation) / 导入".into(),
            reference: "sqlite3 .import + INSERT … SELECT + ID index".into(),
            fangpin: secs_of(&ours),
            reference_secs: secs_of(&ref_),
            rows,
            fangpin_rss_mb: peak_of(&ours),
            reference_rss_mb: peak_of(&ref_),
            goal: Goal::Ratio(1.0),
            note: String::new(),
            latency: None,
        });
        if rows > XLSX_MAX_ROWS {
            self.report.note(format!("W1 xlsx: not measured, {rows} member rows do not fit one XLSX sheet"));
            return Ok(());
        }
        // the same households as an XLSX file (generated once, like the CSV), imported the same way
        let xlsx_dir = self.dir.join("gen-xlsx");
        let xlsx = xlsx_dir.join("households.xlsx");
        let stamp = xlsx_dir.join("bench-stamp");
        let wanted = self.generate.join(" ");
        if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
            let _ = std::fs::remove_dir_all(&xlsx_dir);
            eprintln!("W1: writing the same households as XLSX (untimed) / 生成 xlsx …");
            let args: Vec<&str> = self.generate.iter().map(String::as_str).collect();
            let mut c = self.fangpin(&args);
            c.args(["--format", "xlsx", "--out"]).arg(&xlsx_dir);
            check(c.stdout(Stdio::null()).stderr(Stdio::null()).status()?, "fangpin generate --format xlsx")?;
            std::fs::write(&stamp, &wanted)?;
        }
        let mut xl = Vec::new();
        for _ in 0..self.runs {
            self.setup_db(run_db).await?;
            let mut c = self.fangpin_in(run_db, &["import", "households"]);
            c.arg(&xlsx);
            xl.push(timed(c, "fangpin import households (xlsx)")?);
        }
        self.drop_db(run_db).await?;
        self.report.push(Row {
            id: "W1 xlsx",
            what: "the same households from households.xlsx / 导入（xlsx）".into(),
            reference: "the sqlite3 CSV import above (the shell cannot read XLSX)".into(),
            fangpin: secs_of(&xl),
            reference_secs: secs_of(&ref_),
            rows,
            fangpin_rss_mb: peak_of(&xl),
            reference_rss_mb: peak_of(&ref_),
            goal: Goal::Ratio(1.0),
            note: String::new(),
            latency: None,
        });
        Ok(())
    }

    async fn w2_cold(&mut self, duck: &Duck, stable: i64) -> anyhow::Result<()> {
        eprintln!("W2 screening from the database / 从数据库筛查 …");
        let mut ours = Vec::new();
        let run_db = "w2";
        for _ in 0..self.runs {
            // a fresh copy each time, so that every run writes every finding
            self.copy_db(MAIN, run_db).await?;
            // at the reference's priority (the screening lowers its own by default; W6 keeps that)
            let c = self.fangpin_in(run_db, &["screen", "--nice", "0", "--as-of", AS_OF, "--format", "json"]);
            ours.push(timed(c, "fangpin screen")?);
        }
        self.drop_db(run_db).await?;
        let d = duck.screen(self.runs, stable)?;
        let households = d.rows;
        self.report.push(Row {
            id: "W2 cold",
            what: "screening from the database: load + rules + findings written / 筛查（冷）".into(),
            reference: "DuckDB: the rules as one SQL query, flags materialised".into(),
            fangpin: secs_of(&ours),
            reference_secs: d.secs,
            rows: households,
            fangpin_rss_mb: peak_of(&ours),
            reference_rss_mb: Some(d.peak_rss_mb),
            goal: Goal::Ratio(1.5),
            note: "each run on a fresh copy of the database, so each writes every finding".into(),
            latency: None,
        });
        Ok(())
    }

    /// W2 as the findings page's 全面筛查 runs it in `serve`: the resident snapshot brought up to
    /// date with the database (every version compared), the pass on the threads the server gives
    /// it, every household's findings written; each run into a fresh copy of the database.
    async fn w2_served(
        &mut self,
        snapshot: &mut engine::Snapshot,
        ctx: &Context<'_>,
        now: chrono::DateTime<chrono::Utc>,
        duck: &DuckRun,
    ) -> anyhow::Result<()> {
        let run_db = "w2s";
        let threads = engine::background_threads();
        let (mut total, mut parts) = (Vec::new(), Vec::new());
        for _ in 0..self.runs {
            self.copy_db(MAIN, run_db).await?;
            let db = self.connect(run_db).await?;
            print_load();
            let t = Instant::now();
            let synced = snapshot.sync(&db, &mut |_, _| {}).await?;
            let open = db.households_with_open_findings(None).await?.into_iter().collect();
            let sync_secs = t.elapsed().as_secs_f64();
            let pass = snapshot.screen_within(ctx, None, threads, &open)?;
            let pass_secs = t.elapsed().as_secs_f64() - sync_secs;
            engine::record(&db, ctx, &domain::Actor::cli(), now, &pass, &mut |_, _| {}).await?;
            let secs = t.elapsed().as_secs_f64();
            total.push(secs);
            parts.push((sync_secs, pass_secs, secs - sync_secs - pass_secs, synced.reread));
            db.close().await;
        }
        // once more on the last copy, screened already: every finding is seen again (updated),
        // the usual case after the first screening
        let db = self.connect(run_db).await?;
        print_load();
        let t = Instant::now();
        snapshot.sync(&db, &mut |_, _| {}).await?;
        let open: std::collections::HashSet<_, engine::FxBuild> =
            db.households_with_open_findings(None).await?.into_iter().collect();
        let open_count = open.len();
        let repeat_sync = t.elapsed().as_secs_f64();
        let pass = snapshot.screen_within(ctx, None, threads, &open)?;
        let repeat_pass = t.elapsed().as_secs_f64() - repeat_sync;
        engine::record(&db, ctx, &domain::Actor::cli(), now, &pass, &mut |_, _| {}).await?;
        let repeat = t.elapsed().as_secs_f64();
        db.close().await;
        self.drop_db(run_db).await?;
        let median_of =
            |f: fn(&(f64, f64, f64, usize)) -> f64| report::median(&parts.iter().map(f).collect::<Vec<_>>());
        self.report.push(Row {
            id: "W2 served",
            what: "全面筛查 in serve: snapshot synced + rules + findings written / 全面筛查（服务内）".into(),
            reference: "DuckDB: the rules as one SQL query, flags materialised".into(),
            fangpin: total,
            reference_secs: duck.secs.clone(),
            rows: snapshot.len() as u64,
            fangpin_rss_mb: None,
            reference_rss_mb: Some(duck.peak_rss_mb),
            goal: Goal::Ratio(1.5),
            note: format!(
                "medians: versions compared and open findings read {:.2} s ({} households read again), rules {:.2} s \
                 on {threads} thread(s), findings written {:.2} s; a fresh copy of the database each run, so each \
                 writes every finding; the load (W2 warm's note) not included; goal: W2 cold's; once more on a \
                 copy screened already (every finding seen again): {repeat:.2} s, of which versions and open \
                 findings ({} households) {repeat_sync:.2} s, rules {repeat_pass:.2} s, findings written {:.2} s",
                median_of(|p| p.0),
                parts.first().map_or(0, |p| p.3),
                median_of(|p| p.1),
                median_of(|p| p.2),
                open_count,
                repeat - repeat_sync - repeat_pass,
            ),
            latency: None,
        });
        Ok(())
    }

    async fn engine(&mut self, duck: &Duck, selected: &[String], stable: i64) -> anyhow::Result<()> {
        let db = self.connect(MAIN).await?;
        let now = domain::clock::parse_moment(NOW).ok_or_else(|| anyhow::anyhow!("NOW"))?;
        let as_of = NaiveDate::parse_from_str(AS_OF, "%Y-%m-%d")?;
        let params = db.params(None).await?;
        let calendar = domain::service::load_calendar(&db, now).await?;
        let ctx = Context { as_of, params: &params, calendar: &calendar };
        let before = rss_mb();
        print_load();
        let started = Instant::now();
        let mut snapshot = engine::Snapshot::load(&db, 2_000, &mut |_, _| {}).await?;
        let load_secs = started.elapsed().as_secs_f64();
        let resident = rss_mb().zip(before).map(|(a, b)| a - b);
        db.close().await;
        let households = snapshot.len() as u64;
        let packed = snapshot.packed_bytes() as f64;
        let held = snapshot.heap_bytes() as f64;
        self.report.note(format!(
            "engine: {households} households loaded from the database in {load_secs:.2} s; resident snapshot ≈ {} MiB \
             (the process's growth while loading); the snapshot's own memory {:.0} MiB by its capacities, of which \
             the packed households {:.0} MiB, {:.0} bytes each",
            resident.map_or("?".to_string(), |m| format!("{m:.0}")),
            held / 1_048_576.0,
            packed / 1_048_576.0,
            packed / households.max(1) as f64
        ));
        let mut passes = Vec::new();
        for _ in 0..self.runs.max(3) {
            print_load();
            let t = Instant::now();
            let pass = snapshot.screen(&ctx, 0)?;
            snapshot.apply(&pass);
            passes.push(t.elapsed().as_secs_f64());
        }
        // printed whichever workloads run: the province's figure (goal ≤ 1 s) needs no DuckDB run
        self.report.note(format!(
            "engine: a full screening pass over the snapshot, its findings then recorded in the roll-ups, takes {:.1} ms \
             (median of {}, {} threads)",
            report::median(&passes) * 1e3,
            passes.len(),
            cores()
        ));
        let wants = |w: &str| selected.iter().any(|s| s == w);
        if wants("W2") {
            let d = duck.screen(self.runs.max(3), stable)?;
            self.report.push(Row {
                id: "W2 warm",
                what: "screening over the resident snapshot: every rule, findings with reasons / 筛查（内存）".into(),
                reference: "DuckDB: the rules as one SQL query, flags materialised".into(),
                fangpin: passes.clone(),
                reference_secs: d.secs.clone(),
                rows: households,
                fangpin_rss_mb: resident,
                reference_rss_mb: Some(d.peak_rss_mb),
                goal: Goal::Ratio(0.1),
                note: format!("fangpin memory = the resident snapshot; {} threads", cores()),
                latency: None,
            });
            self.w2_served(&mut snapshot, &ctx, now, &d).await?;
        }
        if wants("W4") {
            if !wants("W2") {
                duck.screen(1, stable)?;
            }
            let mut cold = Vec::new();
            print_load();
            for _ in 0..self.runs.max(3) {
                let t = Instant::now();
                snapshot.rebuild_rollup();
                cold.push(t.elapsed().as_secs_f64());
            }
            let d = duck.run(&["rollup", &self.runs.max(3).to_string()])?;
            self.report.push(Row {
                id: "W4 cold",
                what: "roll-ups by village/town/county × kind, status, category, finding / 汇总（重建）".into(),
                reference: "DuckDB GROUP BY ROLLUP (county, town, village)".into(),
                fangpin: cold,
                reference_secs: d.secs,
                rows: households,
                fangpin_rss_mb: None,
                reference_rss_mb: Some(d.peak_rss_mb),
                goal: Goal::Ratio(1.0),
                note: String::new(),
                latency: None,
            });
            let regions: Vec<domain::RegionCode> = snapshot.rollup().regions_list();
            print_load();
            let mut lat = Vec::with_capacity(20_000);
            for i in 0..20_000usize {
                let r = regions[i.wrapping_mul(2_654_435_761) % regions.len().max(1)];
                let t = Instant::now();
                let c = snapshot.rollup().get(r).copied();
                let kids: Vec<_> = snapshot.rollup().children(r).map(|(c, n)| (c, n.households)).collect();
                std::hint::black_box((c, kids));
                lat.push(t.elapsed().as_secs_f64());
            }
            self.report.push(Row::latency(
                "W4 warm",
                "a region's counts and its children's (maintained roll-up, in process) / 汇总（读取）",
                &lat,
                Goal::P99(0.005),
                "20,000 reads of random regions of the engine's roll-up (the dashboard itself: W4 page)",
            ));
        }
        if wants("W7") {
            let ids: Vec<domain::HouseholdId> = (0..1_000u64)
                .filter_map(|i| {
                    let n = households.max(1);
                    let id = domain::HouseholdId((i.wrapping_mul(2_654_435_761) % n + 1) as i64);
                    snapshot.contains(id).then_some(id)
                })
                .collect();
            print_load();
            let mut lat = Vec::with_capacity(ids.len());
            for (i, id) in ids.iter().enumerate() {
                let Some(mut d) = snapshot.household(*id).transpose()? else { continue };
                // an edit a screener makes: an income figure and a member's medical insurance
                if let Some(r) = d.incomes.first_mut() {
                    r.wage = domain::Fen(r.wage.0 + (i as i64 % 7 - 3) * 100_000);
                }
                if let Some(m) = d.members.first_mut() {
                    m.member.resident_medical = !m.member.resident_medical;
                }
                let t = Instant::now();
                let findings = snapshot.upsert(&d, &ctx)?;
                lat.push(t.elapsed().as_secs_f64());
                std::hint::black_box(findings);
            }
            self.report.push(Row::latency(
                "W7",
                "one household edited → its findings and every roll-up above it / 修改一户",
                &lat,
                Goal::P99(0.010),
                "in the resident engine; the database write of the edit itself is not included",
            ));
        }
        Ok(())
    }

    async fn w3(&mut self, file: &Path, rows: u64, duck: &Duck) -> anyhow::Result<()> {
        eprintln!("W3 department file / 部门数据比对 …");
        let run_db = "w3";
        let mut ours = Vec::new();
        for _ in 0..self.runs {
            self.copy_db(MAIN, run_db).await?;
            let mut c = self.fangpin_in(run_db, &["alerts", "import", "--feed", "medical"]);
            c.arg(file);
            ours.push(timed(c, "fangpin alerts import")?);
        }
        self.drop_db(run_db).await?;
        let poor = resolve_or_default(&[], 2022, guangxi(), ParamName::AlertMedicalPoor)?.value;
        let other = resolve_or_default(&[], 2022, guangxi(), ParamName::AlertMedicalOther)?.value;
        let d = duck.run(&[
            "match",
            &file.display().to_string(),
            &poor.to_string(),
            &other.to_string(),
            &self.runs.to_string(),
        ])?;
        self.report.push(Row {
            id: "W3",
            what: "医保 file: parse, normalise IDs, match, alerts written / 部门数据比对".into(),
            reference: "DuckDB read_csv + normalise + hash join + CREATE TABLE".into(),
            fangpin: secs_of(&ours),
            reference_secs: d.secs,
            rows,
            fangpin_rss_mb: peak_of(&ours),
            reference_rss_mb: Some(d.peak_rss_mb),
            goal: Goal::Ratio(1.0),
            note: format!("DuckDB raised {} alerts", d.rows),
            latency: None,
        });
        Ok(())
    }

    fn w8(&mut self, rows: u64, duck: &Duck) -> anyhow::Result<()> {
        eprintln!("W8 export / 导出 …");
        let out = self.dir.join("w8-export.csv");
        let mut ours = Vec::new();
        for _ in 0..self.runs {
            let mut c = self.fangpin_in(MAIN, &["export", "households", "--out"]);
            c.arg(&out);
            ours.push(timed(c, "fangpin export households")?);
        }
        let ref_out = self.dir.join("w8-reference.csv");
        let d = duck.run(&["export", &ref_out.display().to_string(), &self.runs.to_string()])?;
        let _ = std::fs::remove_file(&out);
        let _ = std::fs::remove_file(&ref_out);
        self.report.push(Row {
            id: "W8",
            what: "export every member row as CSV (national layout) / 导出".into(),
            reference: "DuckDB COPY (SELECT …) TO CSV".into(),
            fangpin: secs_of(&ours),
            reference_secs: d.secs,
            rows,
            fangpin_rss_mb: peak_of(&ours),
            reference_rss_mb: Some(d.peak_rss_mb),
            goal: Goal::Ratio(3.0),
            note: String::new(),
            latency: None,
        });
        Ok(())
    }
}

impl Bench {
    /// W4 page: the dashboard as users get it — `GET /api/v1/dashboard` of a random region above
    /// the villages, over HTTP, from the counts the database maintains (migration 0016), on a
    /// copy of the database screened and with a campaign (both untimed).
    async fn w4_page(&mut self) -> anyhow::Result<()> {
        use domain::ports::RegionStore;
        eprintln!("W4 page: the dashboard over HTTP / 看板接口 …");
        let run_db = "w4";
        self.copy_db(MAIN, run_db).await?;
        let quiet = |mut c: Command| c.stdout(Stdio::null()).stderr(Stdio::null()).status();
        check(quiet(self.fangpin_in(run_db, &["screen", "--as-of", AS_OF]))?, "fangpin screen (W4 page)")?;
        let region = guangxi().to_string();
        let c = self.fangpin_in(run_db, &["campaign", "create", "--name", "基准测试排查", "--region", &region]);
        check(quiet(c)?, "fangpin campaign create (W4 page)")?;
        let db = self.connect(run_db).await?;
        let start = domain::clock::parse_moment(NOW).ok_or_else(|| anyhow::anyhow!("NOW"))?;
        let clock: Arc<dyn domain::clock::Clock> = Arc::new(domain::clock::ShiftedClock::starting_at(start));
        let now = clock.now();
        // some of the campaign done, as in a running campaign: every third household visited
        let visited = domain::campaign::TaskStatus::Visited.code();
        db.execute_raw(&format!("UPDATE screening_tasks SET status = {visited} WHERE id % 3 = 0")).await?;
        let folded = db.compact_tallies().await?;
        let token = integration_token(&db, now, "bench_dashboard", domain::Role::Leader).await?;
        // every region above the villages (province, city, county, town), in random order
        let mut regions: Vec<domain::RegionCode> = db
            .all_regions()
            .await?
            .into_iter()
            .filter(|r| r.code.level() != domain::RegionLevel::Village)
            .map(|r| r.code)
            .collect();
        let mut rng = synth::rng::Rng::new(7);
        for i in (1..regions.len()).rev() {
            regions.swap(i, rng.below(i as u32 + 1) as usize);
        }
        let paths: Arc<Vec<String>> =
            Arc::new(regions.iter().map(|r| format!("/api/v1/dashboard?region={r}")).collect());
        let duration = std::time::Duration::from_secs(if self.runs > 1 { 5 } else { 3 });
        let connections = 8;
        let mut errors = 0;
        // first with the dashboard cache off: every request computes from the tallies (one run)
        let work_dir = self.data_dir(run_db).join("work");
        let (api, stop, server) = spawn_api(&db, Arc::clone(&clock), &work_dir, std::time::Duration::ZERO).await?;
        print_load();
        let l = http::load(api, Arc::clone(&paths), Some(token.clone()), connections, duration).await;
        errors += l.errors;
        let uncached = l.latencies;
        let _ = stop.send(());
        let _ = server.await;
        // then as served: figures reused for `dashboard_cache_seconds` (default), recomputed behind
        let (api, stop, server) = spawn_api(&db, clock, &work_dir, web::WebConfig::default().dashboard_cache).await?;
        let mut lat = Vec::new();
        for _ in 0..self.runs {
            print_load();
            let l = http::load(api, Arc::clone(&paths), Some(token.clone()), connections, duration).await;
            errors += l.errors;
            lat.extend(l.latencies);
        }
        let _ = stop.send(());
        let _ = server.await;
        db.close().await;
        self.drop_db(run_db).await?;
        if errors > 0 {
            bail!("W4 page: {errors} requests failed");
        }
        let (u50, u99) = quantiles(&uncached);
        self.report.push(Row::latency(
            "W4 page",
            "GET /api/v1/dashboard of a random region above the villages (JSON API, 领导) / 看板接口",
            &lat,
            Goal::P99(0.005),
            &format!(
                "{connections} connections, {} s per run, {} regions (province … town); a third of the campaign visited; \
                 tallies folded before ({folded} rows); {} requests; dashboards reused {} s (dashboard_cache_seconds); \
                 with the cache off: p50 {:.1} ms, p99 {:.1} ms over {} requests",
                duration.as_secs(),
                paths.len(),
                lat.len(),
                web::WebConfig::default().dashboard_cache.as_secs(),
                u50 * 1e3,
                u99 * 1e3,
                uncached.len()
            ),
        ));
        Ok(())
    }

    /// W5: household detail over the JSON API vs an axum hello-world, 64 connections each; W6:
    /// 200 requests/s alone and while `fangpin screen` runs on the same database.
    async fn http(&mut self, w5: bool, w6: bool) -> anyhow::Result<()> {
        use domain::ports::{HouseholdStore, RegionStore};
        eprintln!("W5 HTTP: household detail vs hello-world / 接口 …");
        let run_db = "w5";
        self.copy_db(MAIN, run_db).await?;
        let db = self.connect(run_db).await?;
        let start = domain::clock::parse_moment(NOW).ok_or_else(|| anyhow::anyhow!("NOW"))?;
        let clock: std::sync::Arc<dyn domain::clock::Clock> = Arc::new(domain::clock::ShiftedClock::starting_at(start));
        let now = clock.now();
        // two integration tokens over the whole province: 领导 reads masked IDs (no audit row),
        // 镇专项办 reads full IDs, and each of its views is audited (a write per read)
        let mut tokens = Vec::new();
        for (username, role) in [("bench_leader", domain::Role::Leader), ("bench_town", domain::Role::TownOffice)] {
            tokens.push(integration_token(&db, now, username, role).await?);
        }
        // ~2,000 households spread over every village
        let villages: Vec<domain::RegionCode> = db
            .all_regions()
            .await?
            .into_iter()
            .filter(|r| r.code.level() == domain::RegionLevel::Village)
            .map(|r| r.code)
            .collect();
        let per_village = (2_000 / villages.len().max(1)).clamp(5, 200) as u32;
        let mut paths = Vec::new();
        for v in &villages {
            let filter = domain::ports::HouseholdFilter { region: Some(*v), ..Default::default() };
            let page = db.list_households(&Scope::system(), &filter, None, per_village).await?;
            paths.extend(page.items.iter().map(|h| format!("/api/v1/households/{}", h.household_no)));
        }
        if paths.is_empty() {
            bail!("W5: no households in the database");
        }
        let paths = Arc::new(paths);
        let hello_paths = Arc::new(vec!["/".to_string()]);

        let work_dir = self.data_dir(run_db).join("work");
        let (api, stop_api, server) =
            spawn_api(&db, clock, &work_dir, web::WebConfig::default().dashboard_cache).await?;
        let (hello, stop_hello) = http::hello_world().await?;
        let connections = 64;
        let duration = std::time::Duration::from_secs(if self.runs > 1 { 5 } else { 3 });
        let (mut hello_runs, mut leader_runs, mut town_runs) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..if w5 { self.runs } else { 0 } {
            print_load();
            hello_runs.push(http::load(hello, Arc::clone(&hello_paths), None, connections, duration).await);
            print_load();
            let t = Some(tokens[0].clone());
            leader_runs.push(http::load(api, Arc::clone(&paths), t, connections, duration).await);
            print_load();
            let t = Some(tokens[1].clone());
            town_runs.push(http::load(api, Arc::clone(&paths), t, connections, duration).await);
        }
        let mut w6_result = None;
        if w6 {
            use std::sync::atomic::{AtomicBool, Ordering};
            let rate = 200.0;
            let min = std::time::Duration::from_secs(5);
            let leader = Some(tokens[0].clone());
            print_load();
            let alone =
                http::paced(api, Arc::clone(&paths), leader.clone(), 16, rate, min, Arc::new(AtomicBool::new(true)))
                    .await;
            // the batch: the full screening from the database, in a child process, as a user would run it
            let stop = Arc::new(AtomicBool::new(false));
            let mut c = self.fangpin_in(run_db, &["screen", "--as-of", AS_OF, "--format", "json"]);
            let mut child = c.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
            let flag = Arc::clone(&stop);
            let waiter = tokio::task::spawn_blocking(move || {
                let status = child.wait();
                flag.store(true, Ordering::Relaxed);
                status
            });
            print_load();
            let under = http::paced(api, Arc::clone(&paths), leader, 16, rate, min, stop).await;
            check(waiter.await??, "fangpin screen (W6 batch)")?;
            w6_result = Some((alone, under));
        }
        let _ = stop_api.send(());
        let _ = stop_hello.send(());
        let _ = server.await;
        db.close().await;
        self.drop_db(run_db).await?;
        if let Some((alone, under)) = w6_result {
            let (a50, a99) = quantiles(&alone.latencies);
            let (u50, u99) = quantiles(&under.latencies);
            self.report.push(Row {
                id: "W6",
                what: "200 household reads/s while `fangpin screen` runs on the same database / 批处理时的接口".into(),
                reference: "the same load alone".into(),
                fangpin: vec![u99],
                reference_secs: vec![a99],
                rows: under.ok,
                fangpin_rss_mb: None,
                reference_rss_mb: None,
                goal: Goal::LatencyRatio(2.0),
                note: format!(
                    "p50 {:.1} ms alone, {:.1} ms under the batch; {} errors alone, {} under it; {:.1} s under the batch",
                    a50 * 1e3,
                    u50 * 1e3,
                    alone.errors,
                    under.errors,
                    under.secs
                ),
                latency: Some((u50, u99, alone.errors + under.errors)),
            });
        }
        if !w5 {
            return Ok(());
        }
        let hello_rps: Vec<f64> = hello_runs.iter().map(http::Load::rps).collect();
        for (id, what, runs) in [
            ("W5", "GET a household with its members (JSON API, 领导: masked IDs) / 农户详情", &leader_runs),
            (
                "W5 audited",
                "the same as 镇专项办: full IDs, each view audited (one write per read) / 农户详情（留痕）",
                &town_runs,
            ),
        ] {
            let rps: Vec<f64> = runs.iter().map(http::Load::rps).collect();
            let errors: u64 = runs.iter().map(|l| l.errors).sum();
            let lat: Vec<f64> = runs.iter().flat_map(|l| l.latencies.iter().copied()).collect();
            let (p50, p99) = quantiles(&lat);
            self.report.push(Row::throughput(
                id,
                what,
                &rps,
                &hello_rps,
                p50,
                p99,
                errors,
                format!(
                    "{connections} connections, {} s per run, {} households; p99 goal ≤ 20 ms; hello-world itself: {:.0} rps",
                    duration.as_secs(),
                    paths.len(),
                    report::median(&hello_rps)
                ),
            ));
        }
        Ok(())
    }
}

impl Duck {
    /// The rules query, `runs` times in one process.
    fn screen(&self, runs: usize, stable: i64) -> anyhow::Result<DuckRun> {
        let officer_days = resolve_or_default(&[], 2022, guangxi(), ParamName::OfficerDueWorkdays)?.value;
        let line_fen = (LINE_YUAN * 100).to_string();
        let (stable, officer_days, runs) = (stable.to_string(), officer_days.to_string(), runs.to_string());
        self.run(&["screen", &line_fen, AS_OF, "2021-09-01", &stable, &officer_days, &runs])
    }
}
