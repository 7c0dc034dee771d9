//! Configuration, layered (STYLE §7): built-in defaults → `fangpin.toml` (or `--config FILE`)
//! → `FANGPIN_*` environment variables → command-line flags. One typed struct, passed down;
//! the database URL's password is never printed.

use std::path::PathBuf;

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `sqlite://PATH` or `postgres://USER:PASS@HOST/DB`. Default: a SQLite file in `data_dir`.
    pub database_url: Option<String>,
    /// Where the default SQLite database and working files live.
    pub data_dir: PathBuf,
    /// Address `serve` listens on.
    pub bind: String,
    /// Idle sessions end after this many minutes.
    pub idle_timeout_minutes: u64,
    /// Mark cookies Secure (when served over HTTPS, e.g. behind a TLS proxy).
    pub secure_cookies: bool,
    pub max_upload_mb: usize,
    /// PostgreSQL pool size / SQLite readers.
    pub db_max_connections: u32,
    /// tracing filter, e.g. "info" or "fangpin=debug,info".
    pub log: String,
    /// Run the whole system as of this moment (RFC 3339, e.g. 2022-03-28T09:00:00+08:00).
    pub now: Option<String>,
    /// Apply pending migrations when `serve` starts.
    pub auto_migrate: bool,
    /// A dashboard's figures are reused this many seconds (0: computed on every request; at most
    /// 3600). Changes made through the same server show at once; those of other processes within
    /// this time on a dashboard read continually, within four times it on any.
    pub dashboard_cache_seconds: u64,
    /// Load the registry into memory when `serve` starts, for the full screening started from
    /// the findings page (otherwise at the first one): ≈ 380 bytes a household, a county in
    /// seconds, a province in minutes (BENCHMARKS.md).
    pub resident_at_start: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: None,
            data_dir: PathBuf::from("fangpin-data"),
            bind: "127.0.0.1:8080".into(),
            idle_timeout_minutes: 30,
            secure_cookies: false,
            max_upload_mb: 200,
            db_max_connections: 8,
            log: "info".into(),
            now: None,
            auto_migrate: true,
            dashboard_cache_seconds: 5,
            resident_at_start: false,
        }
    }
}

/// Keys that may come from the environment as `FANGPIN_<KEY>`.
const KEYS: &[&str] = &[
    "database_url",
    "data_dir",
    "bind",
    "idle_timeout_minutes",
    "secure_cookies",
    "max_upload_mb",
    "db_max_connections",
    "log",
    "now",
    "auto_migrate",
    "dashboard_cache_seconds",
    "resident_at_start",
];

/// Variables read elsewhere (not configuration keys), so not "unknown".
const OTHER_ENV: &[&str] = &["FANGPIN_PASSWORD", "FANGPIN_TEST_POSTGRES_URL", "FANGPIN_TEST_KEEP_DB", "FANGPIN_CONFIG"];

impl Config {
    /// Loads the layers; `overrides` are the command-line flags that were given.
    pub fn load(file: Option<&PathBuf>, overrides: Serialized<serde_json::Value>) -> anyhow::Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(f) => {
                if !f.exists() {
                    bail!("configuration file {} does not exist / 配置文件不存在", f.display());
                }
                fig = fig.merge(Toml::file(f));
            }
            None => fig = fig.merge(Toml::file("fangpin.toml")),
        }
        fig = fig.merge(Env::prefixed("FANGPIN_").only(KEYS)).merge(overrides);
        let c: Config = fig.extract().context("invalid configuration / 配置有误")?;
        for (k, _) in std::env::vars() {
            if let Some(rest) = k.strip_prefix("FANGPIN_")
                && !KEYS.contains(&rest.to_ascii_lowercase().as_str())
                && !OTHER_ENV.contains(&k.as_str())
            {
                eprintln!("warning: unknown environment variable {k} ignored / 未知环境变量 {k} 已忽略");
            }
        }
        Ok(c)
    }

    /// The database URL, defaulting to `sqlite://<data_dir>/fangpin.db` (the directory is
    /// created for the default only: an explicit URL to a missing directory is refused).
    pub fn database_url(&self) -> anyhow::Result<String> {
        if let Some(u) = &self.database_url {
            return Ok(u.clone());
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("cannot create data directory {}", self.data_dir.display()))?;
        Ok(format!("sqlite://{}", self.data_dir.join("fangpin.db").display()))
    }

    pub fn work_dir(&self) -> PathBuf {
        self.data_dir.join("work")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let c = Config::load(None, Serialized::defaults(serde_json::json!({"bind": "0.0.0.0:9000"}))).unwrap();
        assert_eq!(c.bind, "0.0.0.0:9000");
        assert_eq!(c.idle_timeout_minutes, 30);
    }

    #[test]
    fn file_layer() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("fangpin.toml");
        std::fs::write(&f, "idle_timeout_minutes = 10\nlog = \"debug\"\n").unwrap();
        let c = Config::load(Some(&f), Serialized::defaults(serde_json::json!({}))).unwrap();
        assert_eq!((c.idle_timeout_minutes, c.log.as_str()), (10, "debug"));
        std::fs::write(&f, "no_such_key = 1\n").unwrap();
        assert!(Config::load(Some(&f), Serialized::defaults(serde_json::json!({}))).is_err());
    }
}
