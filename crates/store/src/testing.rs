//! Test databases: a temporary SQLite file, or a fresh PostgreSQL database created for one test
//! and dropped after it (STYLE §11).
//!
//! PostgreSQL comes from `FANGPIN_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//! Without it, PostgreSQL tests are skipped with a printed notice — except under CI (`CI=true`),
//! where an unreachable PostgreSQL fails the test: the PostgreSQL half must run there.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::{ConnectOptions, Db};

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub struct TestDb {
    pub db: Db,
    pub label: &'static str,
    pub url: String,
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

impl TestDb {
    /// A migrated SQLite database in a temporary directory.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let db = Db::connect(&url, &ConnectOptions::default()).await.expect("open sqlite");
        db.migrate(chrono::Utc::now()).await.expect("migrate sqlite");
        TestDb { db, label: "sqlite", url, pg: None, _dir: Some(dir) }
    }

    /// A migrated, empty PostgreSQL database of its own, or `None` (with a notice) when
    /// PostgreSQL is unreachable outside CI.
    pub async fn postgres() -> Option<TestDb> {
        let admin_url = std::env::var("FANGPIN_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_string());
        let admin = match Db::connect(&admin_url, &ConnectOptions { max_connections: 1, ..Default::default() }).await {
            Ok(a) => a,
            Err(e) => {
                if under_ci() {
                    panic!("CI=true but PostgreSQL is unreachable at {}: {e}", crate::redact_url(&admin_url));
                }
                eprintln!("NOTICE: PostgreSQL unreachable ({e}); skipping the PostgreSQL half of this test");
                return None;
            }
        };
        let name = format!("fangpin_test_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst));
        admin.execute_raw(&format!("DROP DATABASE IF EXISTS {name}")).await.expect("drop old test db");
        admin.execute_raw(&format!("CREATE DATABASE {name}")).await.expect("create test db");
        admin.close().await;
        let url = replace_db_name(&admin_url, &name);
        let db =
            Db::connect(&url, &ConnectOptions { max_connections: 4, ..Default::default() }).await.expect("open pg");
        db.migrate(chrono::Utc::now()).await.expect("migrate pg");
        Some(TestDb { db, label: "postgres", url, pg: Some((admin_url, name)), _dir: None })
    }

    /// SQLite, then PostgreSQL when available.
    pub async fn both() -> Vec<TestDb> {
        let mut v = vec![TestDb::sqlite().await];
        v.extend(TestDb::postgres().await);
        v
    }

    /// Closes the pools and drops the PostgreSQL database.
    pub async fn cleanup(self) {
        self.db.close().await;
        if let Some((admin_url, name)) = self.pg
            && std::env::var("FANGPIN_TEST_KEEP_DB").is_err()
            && let Ok(admin) =
                Db::connect(&admin_url, &ConnectOptions { max_connections: 1, ..Default::default() }).await
        {
            let _ = admin.execute_raw(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
            admin.close().await;
        }
    }
}

pub use crate::replace_db_name;

#[cfg(test)]
mod tests {
    #[test]
    fn db_name_replacement() {
        assert_eq!(
            super::replace_db_name("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(super::replace_db_name("postgres://h/db?sslmode=disable", "y"), "postgres://h/y?sslmode=disable");
    }
}
