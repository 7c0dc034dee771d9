//! fangpin's storage: the domain's storage traits for SQLite (default, embedded) and
//! PostgreSQL (for a county or a province), chosen at runtime by the database URL.
//!
//! The query code is written once (`queries.rs`) and compiled for each backend; bulk writes
//! use each backend's fastest path (multi-row INSERT on SQLite, COPY on PostgreSQL).

mod audit_batch;
pub mod migrate;
pub mod sql;
#[cfg(feature = "testing")]
pub mod testing;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::account::{Actor, Role, Scope, User, UserId};
use domain::audit::{AuditEntry, AuditRecord};
use domain::household::{Household, HouseholdId, HouseholdNo};
use domain::params::{ParamName, PolicyParam};
use domain::ports::*;
use domain::region::{Region, RegionCode};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

mod sqlite {
    type DB = sqlx::Sqlite;
    const BACKEND: crate::Backend = crate::Backend::Sqlite;
    include!("queries.rs");

    /// SQLite bulk path: prepared multi-row INSERTs inside the caller's transaction.
    mod bulk {
        use super::{Conn, Query, bind_owned, dynamic, in_list};
        use crate::sql::Arg;
        use sqlx::Row;

        /// `sql`, whose one parameter is `= ANY($1)`, with `values` in its place: SQLite has no
        /// arrays, so an `IN` list of one anonymous parameter per value. `sql` must have no other
        /// parameter (a numbered one would no longer match its place).
        pub(super) fn any_of(sql: &str, values: Vec<Arg>) -> Query<'static> {
            debug_assert_eq!(sql.matches("= ANY($1)").count(), 1);
            debug_assert!(!sql.replace("= ANY($1)", "").contains('$'), "another parameter in {sql}");
            bind_owned(dynamic(sql.replace("= ANY($1)", &format!("IN ({})", in_list(values.len())))), values)
        }

        pub(super) fn any_of_ids(sql: &str, ids: &[i64]) -> Query<'static> {
            any_of(sql, ids.iter().map(|&v| Arg::I64(Some(v))).collect())
        }

        pub(super) fn any_of_texts(sql: &str, texts: Vec<String>) -> Query<'static> {
            any_of(sql, texts.into_iter().map(|t| Arg::Text(Some(t))).collect())
        }

        /// After a bulk load: let SQLite gather the statistics its planner uses.
        pub(super) async fn refresh_statistics(w: &sqlx::Pool<super::DB>, _tables: &str) -> Result<(), sqlx::Error> {
            sqlx::query("PRAGMA optimize").execute(w).await.map(|_| ())
        }

        pub(super) async fn allocate_ids(conn: &mut Conn, table: &str, n: usize) -> Result<Vec<i64>, sqlx::Error> {
            let max: i64 = dynamic(format!("SELECT COALESCE(MAX(id), 0) AS m FROM {table}"))
                .fetch_one(&mut *conn)
                .await?
                .try_get("m")?;
            Ok((1..=n as i64).map(|i| max + i).collect())
        }

        pub(super) async fn insert(
            conn: &mut Conn,
            table: &str,
            cols: &[&str],
            rows: Vec<Vec<Arg>>,
        ) -> Result<(), sqlx::Error> {
            // Anonymous `?` placeholders: SQLite keeps `$n`/`?n` names in a list searched
            // linearly per parameter, which makes a 10,000-parameter statement quadratic.
            // At most 32766 parameters per statement.
            let per = (30_000 / cols.len().max(1)).clamp(1, 1000);
            let row = format!("({})", vec!["?"; cols.len()].join(","));
            let mut rows = rows.into_iter();
            loop {
                let chunk: Vec<Vec<Arg>> = rows.by_ref().take(per).collect();
                if chunk.is_empty() {
                    break;
                }
                let q = format!(
                    "INSERT INTO {table} ({}) VALUES {}",
                    cols.join(", "),
                    vec![row.as_str(); chunk.len()].join(",")
                );
                bind_owned(dynamic(q), chunk.into_iter().flatten().collect()).execute(&mut *conn).await?;
            }
            Ok(())
        }
    }
}

mod pg {
    type DB = sqlx::Postgres;
    const BACKEND: crate::Backend = crate::Backend::Postgres;
    include!("queries.rs");

    /// PostgreSQL bulk path: COPY … FROM STDIN (text format) inside the caller's transaction.
    mod bulk {
        use super::{Conn, Query, dynamic};
        use crate::sql::Arg;
        use sqlx::Row;

        /// `sql`, whose one parameter is `= ANY($1)`, with `ids` bound as one array: one statement
        /// whatever their number. An `IN` list of one parameter per value costs PostgreSQL more to
        /// plan than to run (the members of 500 households: 6.3 ms planning, 2.4 ms executing, in
        /// `EXPLAIN ANALYZE`); the county's export took 5.7–6.2 s this way against 6.1–6.4 s
        /// (three runs each, alternated).
        pub(super) fn any_of_ids(sql: &str, ids: &[i64]) -> Query<'static> {
            dynamic(sql.to_string()).bind(ids.to_vec())
        }

        /// As [`any_of_ids`], for text values.
        pub(super) fn any_of_texts(sql: &str, texts: Vec<String>) -> Query<'static> {
            dynamic(sql.to_string()).bind(texts)
        }

        /// After a bulk load: fresh planner statistics, or PostgreSQL plans lookups on the new
        /// rows as if the tables were empty (seen: 60 ms hash joins instead of index probes).
        /// `tables` is a fixed list from the calling code, never user input.
        pub(super) async fn refresh_statistics(w: &sqlx::Pool<super::DB>, tables: &str) -> Result<(), sqlx::Error> {
            sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {tables}"))).execute(w).await.map(|_| ())
        }

        pub(super) async fn allocate_ids(conn: &mut Conn, table: &str, n: usize) -> Result<Vec<i64>, sqlx::Error> {
            if n == 0 {
                return Ok(Vec::new());
            }
            let q =
                format!("SELECT nextval(pg_get_serial_sequence('{table}', 'id')) AS id FROM generate_series(1, $1)");
            let rows = sqlx::query(sqlx::AssertSqlSafe(q)).bind(n as i64).fetch_all(&mut *conn).await?;
            rows.iter().map(|r| r.try_get::<i64, _>("id")).collect()
        }

        pub(super) async fn insert(
            conn: &mut Conn,
            table: &str,
            cols: &[&str],
            rows: Vec<Vec<Arg>>,
        ) -> Result<(), sqlx::Error> {
            if rows.is_empty() {
                return Ok(());
            }
            let mut copy = conn.copy_in_raw(&format!("COPY {table} ({}) FROM STDIN", cols.join(", "))).await?;
            let mut buf = String::with_capacity(64 * 1024);
            for row in &rows {
                for (i, a) in row.iter().enumerate() {
                    if i > 0 {
                        buf.push('\t');
                    }
                    a.copy_text(&mut buf);
                }
                buf.push('\n');
                if buf.len() > 1 << 20 {
                    copy.send(std::mem::take(&mut buf).into_bytes()).await?;
                }
            }
            if !buf.is_empty() {
                copy.send(buf.into_bytes()).await?;
            }
            copy.finish().await?;
            Ok(())
        }
    }
}

/// Turns a database error into the domain's error, logging the detail (never shown to users).
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    tracing::error!(error = %e, "database error");
    StoreError::Database(e.to_string())
}

/// A unique-constraint violation becomes a `Duplicate` with a message for the user.
pub(crate) fn unique_as(e: sqlx::Error, message: String) -> StoreError {
    if e.as_database_error().is_some_and(|d| d.is_unique_violation()) {
        StoreError::Duplicate(message)
    } else {
        db_err(e)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("unsupported database URL scheme in {0}: use sqlite://PATH or postgres://USER@HOST/DB")]
    Scheme(String),
    #[error("the SQLite file's directory {0} does not exist (refusing to create a database at a mistyped path)")]
    MissingDir(String),
    #[error("the database {0} does not exist yet: run `fangpin migrate` (or `fangpin demo`) first / 数据库尚未建立")]
    NoDatabase(String),
    #[error("cannot connect to {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
}

/// Connection settings besides the URL.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// PostgreSQL pool size; SQLite readers.
    pub max_connections: u32,
    pub busy_timeout: Duration,
    /// Create the SQLite file if it does not exist (only commands that migrate should).
    pub create_sqlite: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions { max_connections: 8, busy_timeout: Duration::from_secs(10), create_sqlite: true }
    }
}

enum Pools {
    /// One writer (SQLite allows one at a time; queueing in the pool beats SQLITE_BUSY) and
    /// separate read connections (WAL lets them run beside the writer).
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    Postgres(PgPool),
}

/// The store. Cheap to clone; the clones share the pools and the audit log's group commit.
#[derive(Clone)]
pub struct Db(Arc<Pools>, Arc<audit_batch::AuditBatcher>);

/// The same PostgreSQL server, another database: `postgres://u@h:p/old?x` → `postgres://u@h:p/new?x`.
pub fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map(|(b, q)| (b, format!("?{q}"))).unwrap_or((url, String::new()));
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    match base[scheme_end..].rfind('/') {
        Some(i) => format!("{}/{name}{query}", &base[..scheme_end + i]),
        None => format!("{base}/{name}{query}"),
    }
}

/// Hides the password in a database URL (user:password@ or ?password=), for logs and messages.
pub fn redact_url(url: &str) -> String {
    let url = redact_userinfo(url);
    match url.split_once('?') {
        Some((base, query)) => {
            let q: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{base}?{}", q.join("&"))
        }
        None => url,
    }
}

fn redact_userinfo(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

macro_rules! dispatch {
    ($self:ident, $f:ident ( $($arg:expr),* $(,)? )) => {
        match &*$self.0 {
            Pools::Sqlite { writer, reader } => sqlite::$f(dispatch!(@pool sqlite $f writer reader), $($arg),*).await,
            Pools::Postgres(pool) => pg::$f(pool, $($arg),*).await,
        }
    };
    // reads go to the reader pool, writes to the writer
    (@pool sqlite $f:ident $w:ident $r:ident) => {
        if dispatch!(@is_read $f) { $r } else { $w }
    };
    (@is_read $f:ident) => {
        matches!(
            stringify!($f),
            "all_regions" | "list_households" | "household" | "export_batch" | "households_by_no"
                | "household_versions" | "households_by_ids"
                | "households_with_open_findings"
                | "member_locations" | "user_by_username" | "user" | "list_users" | "count_users" | "session"
                | "audit_rows" | "audit_chain" | "params" | "applied_migrations" | "schema_columns" | "schema_indexes" | "ping"
                | "findings" | "finding_counts" | "campaigns" | "campaign" | "tasks" | "progress" | "task" | "visit"
                | "visits" | "look_back" | "look_back_counts" | "stored_calendar" | "case" | "cases"
                | "case_counts" | "case_groups" | "officer_gap_groups" | "measure_gap_groups" | "attachment" | "officer_history" | "officer_gaps" | "officer_households"
                | "officer_accounts" | "measures" | "measure_gaps" | "user_department" | "department_tasks"
                | "department_task" | "notifications_for" | "webhooks" | "feed_batch_by_file" | "members_by_keys"
                | "alerts" | "alert" | "open_alert_due_dates" | "feed_batches" | "feed_mapping" | "exclusion_facts"
                | "exclusion_override" | "unmatched_rows" | "unmatched_row" | "members_by_name" | "members_by_ids"
                | "identity_decisions" | "quality_counts" | "quality_items" | "alert_counts"
                | "monitoring_groups" | "open_department_task_groups" | "alert_village_counts" | "groups"
                | "sampling_frame" | "inspection" | "inspections" | "rectifications" | "rectification_counts" | "summary_counts" | "summary_notes" | "measures_since"
                | "question" | "questions" | "faq" | "question_file" | "tallies" | "tally_backlog"
        )
    };
}

impl Db {
    /// Connects to `sqlite://PATH` (created if its directory exists) or `postgres://…`.
    pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Db, ConnectError> {
        let shown = redact_url(url);
        let fail = |source| ConnectError::Connect { url: shown.clone(), source };
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            let path = path.split('?').next().unwrap_or(path);
            let p = Path::new(path);
            if let Some(dir) = p.parent()
                && !dir.as_os_str().is_empty()
                && !dir.exists()
            {
                return Err(ConnectError::MissingDir(dir.display().to_string()));
            }
            if !opts.create_sqlite && !p.exists() {
                return Err(ConnectError::NoDatabase(p.display().to_string()));
            }
            let base = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
                .map_err(fail)?
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(opts.busy_timeout);
            // The writer's page cache: SQLite's default 2 MB makes a large import's transaction spill
            // dirty pages to the WAL and read index pages again (perf on a county import); 64 MB
            // at most, taken only as pages are touched. Statement journals in memory, not temp files.
            let writer_options =
                base.clone().create_if_missing(true).pragma("cache_size", "-65536").pragma("temp_store", "MEMORY");
            let writer =
                SqlitePoolOptions::new().max_connections(1).connect_with(writer_options).await.map_err(fail)?;
            let reader = SqlitePoolOptions::new()
                .max_connections(opts.max_connections.max(1))
                .connect_with(base.read_only(true))
                .await
                .map_err(fail)?;
            return Ok(Db(Arc::new(Pools::Sqlite { writer, reader }), Arc::default()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let o = PgConnectOptions::from_str(url).map_err(fail)?;
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections.max(1))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(o)
                .await
                .map_err(fail)?;
            return Ok(Db(Arc::new(Pools::Postgres(pool)), Arc::default()));
        }
        Err(ConnectError::Scheme(shown))
    }

    pub fn backend(&self) -> Backend {
        match &*self.0 {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies pending migrations (recorded as applied `at`); returns the versions applied now.
    pub async fn migrate(&self, at: DateTime<Utc>) -> StoreResult<Vec<i64>> {
        match &*self.0 {
            Pools::Sqlite { writer, .. } => sqlite::migrate(writer, at).await,
            Pools::Postgres(pool) => pg::migrate(pool, at).await,
        }
    }

    /// Applied migration versions (empty on a new database).
    pub async fn applied_migrations(&self) -> StoreResult<Vec<i64>> {
        let r: StoreResult<Vec<(i64, String)>> = dispatch!(self, applied_migrations());
        match r {
            Ok(v) => Ok(v.into_iter().map(|(v, _)| v).collect()),
            Err(_) => Ok(Vec::new()),
        }
    }

    /// (table, column) pairs of the current schema, for the schema-equivalence test.
    pub async fn schema_columns(&self) -> StoreResult<Vec<(String, String)>> {
        dispatch!(self, schema_columns())
    }

    /// (table, index, definition) triples of the current schema (tests).
    pub async fn schema_indexes(&self) -> StoreResult<Vec<(String, String, String)>> {
        dispatch!(self, schema_indexes())
    }

    /// Transactions the audit log's group commit has begun on this store (tests).
    #[cfg(feature = "testing")]
    pub fn audit_transactions(&self) -> u64 {
        self.1.transactions()
    }

    pub async fn ping(&self) -> StoreResult<()> {
        dispatch!(self, ping())
    }

    pub async fn close(&self) {
        match &*self.0 {
            Pools::Sqlite { writer, reader } => {
                reader.close().await;
                writer.close().await;
            }
            Pools::Postgres(p) => p.close().await,
        }
    }

    /// Folds the dashboard's maintained tallies (migration 0016) into one row per key (`serve`
    /// does it when [`Db::tally_backlog`] has grown). Returns the rows folded.
    pub async fn compact_tallies(&self) -> StoreResult<u64> {
        match &*self.0 {
            Pools::Sqlite { writer, .. } => sqlite::compact_tallies(writer).await,
            Pools::Postgres(pool) => pg::compact_tallies(pool).await,
        }
    }

    /// Tally rows written since the last fold by any process: what a dashboard read sums beyond
    /// one row per key.
    pub async fn tally_backlog(&self) -> StoreResult<u64> {
        dispatch!(self, tally_backlog())
    }

    /// Runs raw SQL on the writer (tests and maintenance only; bypasses every rule).
    pub async fn execute_raw(&self, sql: &str) -> StoreResult<u64> {
        let q = sqlx::AssertSqlSafe(sql.to_string());
        let r = match &*self.0 {
            Pools::Sqlite { writer, .. } => sqlx::raw_sql(q).execute(writer).await.map(|r| r.rows_affected()),
            Pools::Postgres(p) => sqlx::raw_sql(q).execute(p).await.map(|r| r.rows_affected()),
        };
        r.map_err(db_err)
    }
}

impl RegionStore for Db {
    async fn upsert_regions(&self, actor: &Actor, at: DateTime<Utc>, regions: &[Region]) -> StoreResult<usize> {
        dispatch!(self, upsert_regions(actor, at, regions))
    }
    async fn all_regions(&self) -> StoreResult<Vec<Region>> {
        dispatch!(self, all_regions())
    }
}

impl HouseholdStore for Db {
    async fn list_households(
        &self,
        scope: &Scope,
        filter: &HouseholdFilter,
        after: Option<&Cursor>,
        limit: u32,
    ) -> StoreResult<Page<HouseholdSummary>> {
        dispatch!(self, list_households(scope, filter, after, limit))
    }
    async fn household(&self, scope: &Scope, no: &HouseholdNo) -> StoreResult<Option<HouseholdDetail>> {
        dispatch!(self, household(scope, no))
    }
    async fn export_batch(
        &self,
        scope: &Scope,
        filter: &HouseholdFilter,
        after: Option<&Cursor>,
        limit: u32,
    ) -> StoreResult<(Vec<HouseholdDetail>, Option<Cursor>)> {
        dispatch!(self, export_batch(scope, filter, after, limit))
    }
    async fn save_household(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        before: &HouseholdDetail,
        household: &Household,
    ) -> StoreResult<HouseholdRecord> {
        dispatch!(self, save_household(actor, at, before, household))
    }
    async fn write_members(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        before: &HouseholdDetail,
        changes: &[MemberChange],
        reason: &str,
    ) -> StoreResult<HouseholdRecord> {
        dispatch!(self, write_members(actor, at, before, changes, reason))
    }
    async fn apply_import(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        meta: &ImportMeta,
        plan: &ImportPlan,
    ) -> StoreResult<ImportOutcome> {
        dispatch!(self, apply_import(actor, at, meta, plan))
    }

    type Import = DbImport;

    async fn begin_import(&self, actor: &Actor, at: DateTime<Utc>, meta: &ImportMeta) -> StoreResult<DbImport> {
        Ok(DbImport(match &*self.0 {
            Pools::Sqlite { writer, .. } => ImportTxs::Sqlite(sqlite::begin_import(writer, actor, at, meta).await?),
            Pools::Postgres(pool) => ImportTxs::Pg(pg::begin_import(pool, actor, at, meta).await?),
        }))
    }
}

/// An import being written part by part: one open transaction on the writer (on SQLite, the
/// one write connection is held until the commit or the drop).
pub struct DbImport(ImportTxs);

impl DbImport {
    /// The indexes this import dropped, to build again at its commit (SQLite, a first import).
    #[cfg(feature = "testing")]
    pub fn deferred_indexes(&self) -> Vec<String> {
        match &self.0 {
            ImportTxs::Sqlite(t) => t.deferred_indexes(),
            ImportTxs::Pg(t) => t.deferred_indexes(),
        }
    }
}

enum ImportTxs {
    Sqlite(sqlite::ImportTx),
    Pg(pg::ImportTx),
}

impl ImportWriter for DbImport {
    async fn apply(&mut self, plan: &ImportPlan) -> StoreResult<()> {
        match &mut self.0 {
            ImportTxs::Sqlite(t) => t.apply(plan).await,
            ImportTxs::Pg(t) => t.apply(plan).await,
        }
    }

    async fn commit(self, meta: &ImportMeta) -> StoreResult<ImportOutcome> {
        match self.0 {
            ImportTxs::Sqlite(t) => t.commit(meta).await,
            ImportTxs::Pg(t) => t.commit(meta).await,
        }
    }
}

impl RegistryLookup for Db {
    async fn households_by_no(&self, nos: &[HouseholdNo]) -> StoreResult<Vec<HouseholdDetail>> {
        dispatch!(self, households_by_no(nos))
    }
    async fn member_locations(&self, keys: &[u64]) -> StoreResult<Vec<(u64, HouseholdNo, RegionCode)>> {
        dispatch!(self, member_locations(keys))
    }
}

impl ResidentSource for Db {
    async fn household_versions(&self, after: Option<HouseholdId>, limit: u32) -> StoreResult<Vec<(HouseholdId, i64)>> {
        dispatch!(self, household_versions(after, limit))
    }
    async fn households_by_ids(&self, ids: &[HouseholdId]) -> StoreResult<Vec<HouseholdDetail>> {
        dispatch!(self, households_by_ids(ids))
    }
    async fn record_findings_if_unchanged(
        &self,
        at: DateTime<Utc>,
        as_of: chrono::NaiveDate,
        run: Option<i64>,
        results: &[HouseholdFindings],
        versions: &[i64],
    ) -> StoreResult<(FindingChanges, Vec<HouseholdId>)> {
        dispatch!(self, record_findings_if_unchanged(at, as_of, run, results, versions))
    }
    async fn households_with_open_findings(&self, region: Option<RegionCode>) -> StoreResult<Vec<HouseholdId>> {
        dispatch!(self, households_with_open_findings(region))
    }
}

impl UserStore for Db {
    async fn create_user(&self, actor: &Actor, at: DateTime<Utc>, user: &NewUser) -> StoreResult<User> {
        dispatch!(self, create_user(actor, at, user))
    }
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<(User, String)>> {
        dispatch!(self, user_by_username(username))
    }
    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        dispatch!(self, user(id))
    }
    async fn list_users(&self, scope: &Scope) -> StoreResult<Vec<User>> {
        dispatch!(self, list_users(scope))
    }
    async fn update_user(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        id: UserId,
        display_name: &str,
        role: Role,
        region: RegionCode,
        active: bool,
    ) -> StoreResult<User> {
        dispatch!(self, update_user(actor, at, id, display_name, role, region, active))
    }
    async fn set_password(&self, actor: &Actor, at: DateTime<Utc>, id: UserId, hash: &str) -> StoreResult<()> {
        dispatch!(self, set_password(actor, at, id, hash))
    }
    async fn record_login_failure(
        &self,
        id: UserId,
        max_failures: i32,
        lock_until: DateTime<Utc>,
        restart: bool,
        audit: &[AuditEntry],
    ) -> StoreResult<User> {
        dispatch!(self, record_login_failure(id, max_failures, lock_until, restart, audit))
    }
    async fn reset_login_failures(&self, id: UserId, audit: &[AuditEntry]) -> StoreResult<()> {
        dispatch!(self, reset_login_failures(id, audit))
    }
    async fn count_users(&self) -> StoreResult<i64> {
        dispatch!(self, count_users())
    }
}

impl SessionStore for Db {
    async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        kind: SessionKind,
        csrf_token: &str,
        at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
        audit: &[AuditEntry],
    ) -> StoreResult<()> {
        dispatch!(self, create_session(token_hash, user, kind, csrf_token, at, expires_at, audit))
    }
    async fn session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
        dispatch!(self, session(token_hash))
    }
    async fn touch_session(&self, token_hash: &str, at: DateTime<Utc>) -> StoreResult<()> {
        dispatch!(self, touch_session(token_hash, at))
    }
    async fn delete_session(&self, token_hash: &str, audit: &[AuditEntry]) -> StoreResult<()> {
        dispatch!(self, delete_session(token_hash, audit))
    }
    async fn delete_user_sessions(&self, user: UserId) -> StoreResult<()> {
        dispatch!(self, delete_user_sessions(user))
    }
}

impl AuditStore for Db {
    /// In one transaction with the entries other callers append meanwhile (`audit_batch`).
    async fn append_audit(&self, entries: &[AuditEntry]) -> StoreResult<()> {
        self.1.append(&self.0, entries).await
    }
    async fn audit_rows(&self, filter: &AuditFilter, limit: u32) -> StoreResult<Vec<AuditRecord>> {
        dispatch!(self, audit_rows(filter, limit))
    }
    async fn audit_chain(&self, from_id: i64, limit: u32) -> StoreResult<Vec<AuditRecord>> {
        dispatch!(self, audit_chain(from_id, limit))
    }
}

impl ParamStore for Db {
    async fn set_param(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        year: i32,
        region: RegionCode,
        name: ParamName,
        value: i64,
        example: bool,
        note: &str,
    ) -> StoreResult<PolicyParam> {
        dispatch!(self, set_param(actor, at, year, region, name, value, example, note))
    }
    async fn params(&self, year: Option<i32>) -> StoreResult<Vec<PolicyParam>> {
        dispatch!(self, params(year))
    }
}

/// What a verification saw: keep `last_id` and `last_hash` somewhere else (a notebook, a
/// mail) — rows deleted from the end of the log can only be noticed against such a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditVerified {
    pub rows: u64,
    pub last_id: i64,
    pub last_hash: String,
}

impl FindingStore for Db {
    async fn begin_screening(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        as_of: chrono::NaiveDate,
        region: Option<RegionCode>,
    ) -> StoreResult<i64> {
        dispatch!(self, begin_screening(actor, at, as_of, region))
    }
    async fn record_findings(
        &self,
        at: DateTime<Utc>,
        as_of: chrono::NaiveDate,
        run: Option<i64>,
        results: &[HouseholdFindings],
    ) -> StoreResult<FindingChanges> {
        dispatch!(self, record_findings(at, as_of, run, results))
    }
    async fn finish_screening(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        run: i64,
        households: usize,
        findings: usize,
        changes: FindingChanges,
    ) -> StoreResult<()> {
        dispatch!(self, finish_screening(actor, at, run, households, findings, changes))
    }
    async fn findings(&self, scope: &Scope, filter: &FindingFilter, limit: u32) -> StoreResult<Page<FindingRecord>> {
        dispatch!(self, findings(scope, filter, limit))
    }
    async fn finding_counts(
        &self,
        scope: &Scope,
    ) -> StoreResult<Vec<(RegionCode, domain::rules::FindingCode, FindingStatus, i64)>> {
        dispatch!(self, finding_counts(scope))
    }
    async fn set_finding_status(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        scope: &Scope,
        id: i64,
        status: FindingStatus,
        note: &str,
    ) -> StoreResult<FindingRecord> {
        dispatch!(self, set_finding_status(actor, at, scope, id, status, note))
    }
}

impl CampaignStore for Db {
    async fn generate_look_back(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        today: chrono::NaiveDate,
        id: domain::campaign::CampaignId,
    ) -> StoreResult<i64> {
        dispatch!(self, generate_look_back(actor, at, today, id))
    }
    async fn look_back(
        &self,
        scope: &Scope,
        filter: &LookBackFilter,
        limit: u32,
    ) -> StoreResult<Page<domain::campaign::LookBackItem>> {
        dispatch!(self, look_back(scope, filter, limit))
    }
    async fn look_back_counts(
        &self,
        scope: &Scope,
        id: domain::campaign::CampaignId,
    ) -> StoreResult<Vec<LookBackCount>> {
        dispatch!(self, look_back_counts(scope, id))
    }
    async fn create_campaign(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        c: &domain::campaign::CampaignDefinition,
    ) -> StoreResult<(domain::campaign::Campaign, i64)> {
        dispatch!(self, create_campaign(actor, at, c))
    }
    async fn campaigns(&self, scope: &Scope) -> StoreResult<Vec<domain::campaign::Campaign>> {
        dispatch!(self, campaigns(scope))
    }
    async fn campaign(
        &self,
        scope: &Scope,
        id: domain::campaign::CampaignId,
    ) -> StoreResult<Option<domain::campaign::Campaign>> {
        dispatch!(self, campaign(scope, id))
    }
    async fn update_phases(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        id: domain::campaign::CampaignId,
        phases: &[domain::campaign::PhaseDates],
    ) -> StoreResult<()> {
        dispatch!(self, update_phases(actor, at, id, phases))
    }
    async fn sync_tasks(&self, at: DateTime<Utc>, id: domain::campaign::CampaignId) -> StoreResult<i64> {
        dispatch!(self, sync_tasks(at, id))
    }
    async fn assign_tasks(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        scope: &Scope,
        id: domain::campaign::CampaignId,
        selection: &TaskSelection,
        screener: Option<UserId>,
    ) -> StoreResult<i64> {
        dispatch!(self, assign_tasks(actor, at, scope, id, selection, screener))
    }
    async fn tasks(&self, scope: &Scope, filter: &TaskFilter, limit: u32) -> StoreResult<Page<domain::campaign::Task>> {
        dispatch!(self, tasks(scope, filter, limit))
    }
    async fn progress(
        &self,
        scope: &Scope,
        id: domain::campaign::CampaignId,
        by: ProgressBy,
        region: Option<RegionCode>,
    ) -> StoreResult<Vec<ProgressRow>> {
        dispatch!(self, progress(scope, id, by, region))
    }
}

impl CalendarStore for Db {
    async fn stored_calendar(&self) -> StoreResult<Option<StoredCalendar>> {
        dispatch!(self, stored_calendar())
    }
    async fn replace_calendar(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        calendar: &StoredCalendar,
        note: &str,
    ) -> StoreResult<()> {
        dispatch!(self, replace_calendar(actor, at, calendar, note))
    }
    async fn put_calendar_day(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        entry: &domain::calendar::DayEntry,
    ) -> StoreResult<()> {
        dispatch!(self, put_calendar_day(actor, at, entry))
    }
    async fn delete_calendar_day(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        date: chrono::NaiveDate,
        region: Option<RegionCode>,
    ) -> StoreResult<bool> {
        dispatch!(self, delete_calendar_day(actor, at, date, region))
    }
}

impl VisitStore for Db {
    async fn task(&self, scope: &Scope, id: domain::campaign::TaskId) -> StoreResult<Option<domain::campaign::Task>> {
        dispatch!(self, task(scope, id))
    }
    async fn record_visit(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        scope: &Scope,
        task: domain::campaign::TaskId,
        form: domain::campaign::FormKind,
        facts: &domain::visit::VisitFacts,
        content: &domain::visit::VisitContent,
    ) -> StoreResult<domain::visit::Visit> {
        dispatch!(self, record_visit(actor, at, scope, task, form, facts, content))
    }
    async fn correct_visit(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        scope: &Scope,
        id: domain::visit::VisitId,
        version: i64,
        facts: &domain::visit::VisitFacts,
        content: &domain::visit::VisitContent,
    ) -> StoreResult<domain::visit::Visit> {
        dispatch!(self, correct_visit(actor, at, scope, id, version, facts, content))
    }
    async fn visit(&self, scope: &Scope, id: domain::visit::VisitId) -> StoreResult<Option<domain::visit::Visit>> {
        dispatch!(self, visit(scope, id))
    }
    async fn visits(&self, scope: &Scope, filter: &VisitFilter, limit: u32) -> StoreResult<Page<domain::visit::Visit>> {
        dispatch!(self, visits(scope, filter, limit))
    }
    async fn accept_visit(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        visit: &domain::visit::Visit,
        before: &HouseholdDetail,
        application: &domain::visit::Application,
        note: &str,
    ) -> StoreResult<HouseholdRecord> {
        dispatch!(self, accept_visit(actor, at, visit, before, application, note))
    }
    async fn return_visit(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        scope: &Scope,
        id: domain::visit::VisitId,
        version: i64,
        reason: &str,
    ) -> StoreResult<()> {
        dispatch!(self, return_visit(actor, at, scope, id, version, reason))
    }
}

/// Verifies the whole audit chain in batches.
pub async fn verify_audit<S: AuditStore>(store: &S) -> Result<AuditVerified, AuditVerifyError> {
    let mut v = domain::audit::ChainVerifier::default();
    let mut from = 1;
    let mut last = (0, domain::audit::GENESIS_HASH.to_string());
    loop {
        let rows = store.audit_chain(from, 5000).await?;
        let Some(end) = rows.last() else {
            return Ok(AuditVerified { rows: v.checked, last_id: last.0, last_hash: last.1 });
        };
        for r in &rows {
            v.check(r)?;
        }
        last = (end.id, end.hash.clone());
        from = end.id + 1;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuditVerifyError {
    #[error(transparent)]
    Broken(#[from] domain::audit::ChainBreak),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CaseStore for Db {
    async fn open_case(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        scope: &Scope,
        new: &NewCase,
        attachments: &[domain::procedure::NewAttachment],
    ) -> StoreResult<domain::procedure::Case> {
        dispatch!(self, open_case(actor, at, scope, new, attachments))
    }
    async fn case(&self, scope: &Scope, id: domain::procedure::CaseId) -> StoreResult<Option<domain::procedure::Case>> {
        dispatch!(self, case(scope, id))
    }
    async fn cases(
        &self,
        scope: &Scope,
        filter: &CaseFilter,
        limit: u32,
    ) -> StoreResult<Page<domain::procedure::Case>> {
        dispatch!(self, cases(scope, filter, limit))
    }
    async fn case_counts(&self, scope: &Scope) -> StoreResult<Vec<CaseCount>> {
        dispatch!(self, case_counts(scope))
    }
    async fn case_groups(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
    ) -> StoreResult<Vec<domain::ports::CaseGroup>> {
        dispatch!(self, case_groups(scope, region))
    }
    async fn record_step(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        case: &domain::procedure::Case,
        plan: &domain::procedure::StepPlan,
        next_step: Option<domain::procedure::Step>,
        attachments: &[domain::procedure::NewAttachment],
        effect: Option<&HouseholdEffect>,
    ) -> StoreResult<domain::procedure::Case> {
        dispatch!(self, record_step(actor, at, case, plan, next_step, attachments, effect))
    }
    async fn withdraw_case(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        case: &domain::procedure::Case,
        on: chrono::NaiveDate,
        reason: &str,
    ) -> StoreResult<domain::procedure::Case> {
        dispatch!(self, withdraw_case(actor, at, case, on, reason))
    }
    async fn attachment(
        &self,
        scope: &Scope,
        id: i64,
    ) -> StoreResult<Option<(domain::procedure::AttachmentMeta, domain::procedure::CaseId, Vec<u8>)>> {
        dispatch!(self, attachment(scope, id))
    }
}

impl AssistanceStore for Db {
    async fn assign_officer(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        before: &HouseholdDetail,
        officer: &domain::assistance::NewOfficer,
    ) -> StoreResult<domain::assistance::OfficerAssignment> {
        dispatch!(self, assign_officer(actor, at, before, officer))
    }
    async fn officer_history(
        &self,
        scope: &Scope,
        household: domain::household::HouseholdId,
    ) -> StoreResult<Vec<domain::assistance::OfficerAssignment>> {
        dispatch!(self, officer_history(scope, household))
    }
    async fn officer_gaps(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
        limit: u32,
    ) -> StoreResult<Page<domain::assistance::OfficerGap>> {
        dispatch!(self, officer_gaps(scope, region, limit))
    }
    async fn officer_gap_groups(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
    ) -> StoreResult<Vec<domain::ports::DateGroup>> {
        dispatch!(self, officer_gap_groups(scope, region))
    }
    async fn officer_accounts(&self, village: RegionCode) -> StoreResult<Vec<User>> {
        dispatch!(self, officer_accounts(village))
    }
    async fn officer_households(&self, scope: &Scope, user: UserId) -> StoreResult<Vec<OfficerHousehold>> {
        dispatch!(self, officer_households(scope, user))
    }
}

impl MeasureStore for Db {
    async fn add_measure(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        household: &HouseholdDetail,
        measure: &domain::measure::NewMeasure,
    ) -> StoreResult<domain::measure::Measure> {
        dispatch!(self, add_measure(actor, at, household, measure))
    }
    async fn update_measure(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        scope: &Scope,
        id: i64,
        version: i64,
        measure: &domain::measure::NewMeasure,
    ) -> StoreResult<domain::measure::Measure> {
        dispatch!(self, update_measure(actor, at, scope, id, version, measure))
    }
    async fn measures(
        &self,
        scope: &Scope,
        household: domain::household::HouseholdId,
    ) -> StoreResult<Vec<domain::measure::Measure>> {
        dispatch!(self, measures(scope, household))
    }
    async fn measure_gaps(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
        limit: u32,
    ) -> StoreResult<Page<MeasureGap>> {
        dispatch!(self, measure_gaps(scope, region, limit))
    }
    async fn measure_gap_groups(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
    ) -> StoreResult<Vec<domain::ports::DateGroup>> {
        dispatch!(self, measure_gap_groups(scope, region))
    }
}

impl DepartmentTaskStore for Db {
    async fn user_department(&self, user: UserId) -> StoreResult<Option<domain::measure::Department>> {
        dispatch!(self, user_department(user))
    }
    async fn set_user_department(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        user: UserId,
        department: Option<domain::measure::Department>,
    ) -> StoreResult<()> {
        dispatch!(self, set_user_department(actor, at, user, department))
    }
    async fn push_department_tasks(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        household: &HouseholdDetail,
        tasks: &[NewDepartmentTask],
    ) -> StoreResult<Vec<domain::department_task::DepartmentTask>> {
        dispatch!(self, push_department_tasks(actor, at, household, tasks))
    }
    async fn department_tasks(
        &self,
        scope: &Scope,
        filter: &DepartmentTaskFilter,
        limit: u32,
    ) -> StoreResult<Page<domain::department_task::DepartmentTask>> {
        dispatch!(self, department_tasks(scope, filter, limit))
    }
    async fn department_task(
        &self,
        scope: &Scope,
        id: i64,
    ) -> StoreResult<Option<domain::department_task::DepartmentTask>> {
        dispatch!(self, department_task(scope, id))
    }
    async fn act_on_department_task(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        task: &domain::department_task::DepartmentTask,
        state: domain::department_task::TaskState,
        answer: Option<&str>,
        completed_on: Option<chrono::NaiveDate>,
        measure: Option<&domain::measure::NewMeasure>,
    ) -> StoreResult<domain::department_task::DepartmentTask> {
        dispatch!(self, act_on_department_task(actor, at, task, state, answer, completed_on, measure))
    }
}

impl NotificationStore for Db {
    async fn notify(&self, at: DateTime<Utc>, notes: &[domain::notify::NewNotification]) -> StoreResult<()> {
        dispatch!(self, notify(at, notes))
    }
    async fn notifications_for(
        &self,
        user: &User,
        department: Option<domain::measure::Department>,
        limit: u32,
    ) -> StoreResult<Vec<domain::notify::Notification>> {
        dispatch!(self, notifications_for(user, department, limit))
    }
    async fn mark_read(&self, user: UserId, up_to: i64) -> StoreResult<()> {
        dispatch!(self, mark_read(user, up_to))
    }
    async fn webhooks(&self) -> StoreResult<Vec<domain::notify::Webhook>> {
        dispatch!(self, webhooks())
    }
    async fn add_webhook(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        hook: &domain::notify::NewWebhook,
    ) -> StoreResult<domain::notify::Webhook> {
        dispatch!(self, add_webhook(actor, at, hook))
    }
    async fn disable_webhook(&self, actor: &Actor, at: DateTime<Utc>, id: i64) -> StoreResult<()> {
        dispatch!(self, disable_webhook(actor, at, id))
    }
    async fn claim_deliveries(&self, at: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Delivery>> {
        dispatch!(self, claim_deliveries(at, limit))
    }
    async fn finish_delivery(
        &self,
        webhook_id: i64,
        notification_id: i64,
        status: i32,
        error: &str,
    ) -> StoreResult<()> {
        dispatch!(self, finish_delivery(webhook_id, notification_id, status, error))
    }
}

impl FeedStore for Db {
    async fn feed_batch_by_file(
        &self,
        kind: domain::feed::FeedKind,
        sha256: &str,
        region: Option<RegionCode>,
    ) -> StoreResult<Option<domain::ports::FeedBatch>> {
        dispatch!(self, feed_batch_by_file(kind, sha256, region))
    }
    async fn members_by_keys(&self, scope: &Scope, keys: &[u64]) -> StoreResult<Vec<domain::ports::MemberMatch>> {
        dispatch!(self, members_by_keys(scope, keys))
    }
    async fn record_feed(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        batch: &domain::ports::FeedBatch,
        alerts: &[domain::feed::AlertDraft],
        facts: &[domain::feed::ExclusionDraft],
        unmatched: &[domain::feed::Unmatched],
    ) -> StoreResult<domain::ports::FeedOutcome> {
        dispatch!(self, record_feed(actor, at, batch, alerts, facts, unmatched))
    }
    async fn alerts(
        &self,
        scope: &Scope,
        filter: &domain::ports::AlertFilter,
        limit: u32,
    ) -> StoreResult<Page<domain::feed::DepartmentAlert>> {
        dispatch!(self, alerts(scope, filter, limit))
    }
    async fn alert(
        &self,
        scope: &Scope,
        department: Option<domain::measure::Department>,
        id: i64,
    ) -> StoreResult<Option<(domain::feed::DepartmentAlert, Vec<domain::ports::AlertRow>)>> {
        dispatch!(self, alert(scope, department, id))
    }
    async fn conclude_alert(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        alert: &domain::feed::DepartmentAlert,
        v: &domain::ports::AlertVerification,
    ) -> StoreResult<domain::feed::DepartmentAlert> {
        dispatch!(self, conclude_alert(actor, at, alert, v))
    }
    async fn open_alert_due_dates(
        &self,
        scope: &Scope,
        department: Option<domain::measure::Department>,
    ) -> StoreResult<Vec<(chrono::NaiveDate, i64)>> {
        dispatch!(self, open_alert_due_dates(scope, department))
    }
    async fn feed_batches(
        &self,
        scope: &Scope,
        department: Option<domain::measure::Department>,
        limit: u32,
    ) -> StoreResult<Vec<domain::ports::FeedBatch>> {
        dispatch!(self, feed_batches(scope, department, limit))
    }
    async fn feed_mapping(&self, kind: domain::feed::FeedKind) -> StoreResult<Option<String>> {
        dispatch!(self, feed_mapping(kind))
    }
    async fn set_feed_mapping(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        kind: domain::feed::FeedKind,
        mapping: &str,
    ) -> StoreResult<()> {
        dispatch!(self, set_feed_mapping(actor, at, kind, mapping))
    }
    async fn unmatched_rows(
        &self,
        scope: &Scope,
        pending_only: bool,
        limit: u32,
        before: Option<i64>,
    ) -> StoreResult<Page<domain::feed::UnmatchedRow>> {
        dispatch!(self, unmatched_rows(scope, pending_only, limit, before))
    }
    async fn unmatched_row(&self, scope: &Scope, id: i64) -> StoreResult<Option<domain::feed::UnmatchedRow>> {
        dispatch!(self, unmatched_row(scope, id))
    }
    async fn members_by_name(
        &self,
        scope: &Scope,
        names: &[String],
    ) -> StoreResult<Vec<domain::feed::PersonCandidate>> {
        dispatch!(self, members_by_name(scope, names))
    }
    async fn members_by_ids(&self, scope: &Scope, ids: &[i64]) -> StoreResult<Vec<domain::ports::MemberMatch>> {
        dispatch!(self, members_by_ids(scope, ids))
    }
    async fn identity_decisions(&self, pairs: &[(String, String)]) -> StoreResult<Vec<(String, String, i64, bool)>> {
        dispatch!(self, identity_decisions(pairs))
    }
    async fn resolve_unmatched(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        row: &domain::feed::UnmatchedRow,
        member_id: i64,
        same: bool,
        alert: Option<domain::feed::AlertDraft>,
        fact: Option<domain::feed::ExclusionDraft>,
    ) -> StoreResult<domain::ports::FeedOutcome> {
        dispatch!(self, resolve_unmatched(actor, at, row, member_id, same, alert, fact))
    }
}

impl ExclusionStore for Db {
    async fn exclusion_facts(&self, household: domain::HouseholdId) -> StoreResult<Vec<domain::feed::ExclusionFact>> {
        dispatch!(self, exclusion_facts(household))
    }
    async fn exclusion_override(&self, case_id: i64) -> StoreResult<Option<domain::feed::ExclusionOverride>> {
        dispatch!(self, exclusion_override(case_id))
    }
    async fn approve_exclusion_override(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        case: &domain::procedure::Case,
        county: bool,
        reason: &str,
    ) -> StoreResult<domain::feed::ExclusionOverride> {
        dispatch!(self, approve_exclusion_override(actor, at, case, county, reason))
    }
}

impl QualityStore for Db {
    async fn quality_counts(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
        as_of: chrono::NaiveDate,
    ) -> StoreResult<Vec<(domain::quality::QualityCheck, i64)>> {
        dispatch!(self, quality_counts(scope, region, as_of))
    }
    async fn quality_items(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
        check: domain::quality::QualityCheck,
        as_of: chrono::NaiveDate,
        limit: u32,
    ) -> StoreResult<Vec<domain::quality::QualityItem>> {
        dispatch!(self, quality_items(scope, region, check, as_of, limit))
    }
    async fn alert_counts(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
    ) -> StoreResult<Vec<(domain::feed::FeedKind, domain::feed::AlertStatus, i64)>> {
        dispatch!(self, alert_counts(scope, region))
    }
}

impl OversightStore for Db {
    async fn tallies(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
        per: domain::region::RegionLevel,
        campaign: Option<domain::campaign::CampaignId>,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> StoreResult<domain::ports::Tallies> {
        dispatch!(self, tallies(scope, region, per, campaign, from, to))
    }
    async fn monitoring_groups(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> StoreResult<Vec<MonitoringGroup>> {
        dispatch!(self, monitoring_groups(scope, region, from, to))
    }
    async fn open_department_task_groups(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
    ) -> StoreResult<Vec<(RegionCode, chrono::NaiveDate, i64)>> {
        dispatch!(self, open_department_task_groups(scope, region))
    }
    async fn alert_village_counts(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
    ) -> StoreResult<Vec<(RegionCode, domain::feed::AlertStatus, i64)>> {
        dispatch!(self, alert_village_counts(scope, region))
    }
}

impl SupervisionStore for Db {
    async fn create_group(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        group: &domain::supervision::NewGroup,
    ) -> StoreResult<domain::supervision::SupervisionGroup> {
        dispatch!(self, create_group(actor, at, group))
    }
    async fn groups(&self, scope: &Scope) -> StoreResult<Vec<domain::supervision::SupervisionGroup>> {
        dispatch!(self, groups(scope))
    }
    async fn sampling_frame(
        &self,
        scope: &Scope,
        village: RegionCode,
    ) -> StoreResult<Vec<domain::supervision::SampledHousehold>> {
        dispatch!(self, sampling_frame(scope, village))
    }
    async fn record_inspection(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        inspection: &domain::supervision::NewInspection,
    ) -> StoreResult<domain::supervision::Inspection> {
        dispatch!(self, record_inspection(actor, at, inspection))
    }
    async fn inspection(&self, scope: &Scope, id: i64) -> StoreResult<Option<domain::supervision::Inspection>> {
        dispatch!(self, inspection(scope, id))
    }
    async fn inspections(
        &self,
        scope: &Scope,
        filter: &InspectionFilter,
        limit: u32,
    ) -> StoreResult<Page<domain::supervision::Inspection>> {
        dispatch!(self, inspections(scope, filter, limit))
    }
    async fn rectification_counts(
        &self,
        scope: &Scope,
        today: chrono::NaiveDate,
    ) -> StoreResult<Vec<(RegionCode, i64, i64)>> {
        dispatch!(self, rectification_counts(scope, today))
    }
    async fn rectifications(
        &self,
        scope: &Scope,
        filter: &RectificationFilter,
        limit: u32,
    ) -> StoreResult<Page<domain::supervision::Rectification>> {
        dispatch!(self, rectifications(scope, filter, limit))
    }
    async fn set_rectification(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        scope: &Scope,
        id: i64,
        version: i64,
        status: domain::supervision::RectificationStatus,
        text: &str,
        on: chrono::NaiveDate,
    ) -> StoreResult<domain::supervision::Rectification> {
        dispatch!(self, set_rectification(actor, at, scope, id, version, status, text, on))
    }
}

impl SummaryStore for Db {
    async fn measures_since(
        &self,
        scope: &Scope,
        filter: &HouseholdFilter,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<(HouseholdNo, domain::measure::Measure)>> {
        dispatch!(self, measures_since(scope, filter, since))
    }
    async fn summary_counts(
        &self,
        scope: &Scope,
        region: Option<RegionCode>,
        campaign: Option<domain::campaign::CampaignId>,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        from_ts: DateTime<Utc>,
        to_ts: DateTime<Utc>,
    ) -> StoreResult<Vec<domain::summary::SummaryCount>> {
        let campaign = campaign.map(|c| c.0);
        dispatch!(self, summary_counts(scope, region, campaign, from, to, from_ts, to_ts))
    }
    async fn summary_notes(
        &self,
        campaign: Option<domain::campaign::CampaignId>,
        region: RegionCode,
    ) -> StoreResult<Option<domain::summary::SummaryNotes>> {
        let campaign = campaign.map(|c| c.0);
        dispatch!(self, summary_notes(campaign, region))
    }
    async fn save_summary_notes(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        campaign: Option<domain::campaign::CampaignId>,
        region: RegionCode,
        notes: &domain::summary::SummaryNotes,
    ) -> StoreResult<domain::summary::SummaryNotes> {
        let campaign = campaign.map(|c| c.0);
        dispatch!(self, save_summary_notes(actor, at, campaign, region, notes))
    }
}

impl QuestionStore for Db {
    async fn ask_question(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        question: &domain::question::NewQuestion,
        files: &[domain::procedure::NewAttachment],
    ) -> StoreResult<domain::question::Question> {
        dispatch!(self, ask_question(actor, at, question, files))
    }
    async fn question(&self, scope: &Scope, id: i64) -> StoreResult<Option<domain::question::Question>> {
        dispatch!(self, question(scope, id))
    }
    async fn questions(
        &self,
        scope: &Scope,
        filter: &QuestionFilter,
        limit: u32,
    ) -> StoreResult<Page<domain::question::Question>> {
        dispatch!(self, questions(scope, filter, limit))
    }
    async fn faq(
        &self,
        scope: &Scope,
        query: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<domain::question::Question>> {
        dispatch!(self, faq(scope, query, limit))
    }
    async fn change_question(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        scope: &Scope,
        id: i64,
        version: i64,
        change: &domain::question::QuestionChange,
        files: &[domain::procedure::NewAttachment],
    ) -> StoreResult<domain::question::Question> {
        dispatch!(self, change_question(actor, at, scope, id, version, change, files))
    }
    async fn question_file(
        &self,
        scope: &Scope,
        id: i64,
    ) -> StoreResult<Option<(domain::question::QuestionFile, i64, Vec<u8>)>> {
        dispatch!(self, question_file(scope, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact_url("postgres://fp:secret@db:5432/fangpin"), "postgres://fp:***@db:5432/fangpin");
        assert_eq!(redact_url("postgres://postgres@127.0.0.1/fangpin"), "postgres://postgres@127.0.0.1/fangpin");
        assert_eq!(redact_url("sqlite://./fangpin-data/fangpin.db"), "sqlite://./fangpin-data/fangpin.db");
        assert_eq!(
            redact_url("postgres://fp@db/fangpin?sslmode=disable&password=s3"),
            "postgres://fp@db/fangpin?sslmode=disable&password=***"
        );
    }
}
