//! The exchange against real files in a temporary directory and an in-memory store.

mod export;
mod fake;
mod files;
mod import;

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use domain::{Actor, Scope};
use exchange::{ImportOptions, ImportReport, Issue, Tier};

use fake::FakeStore;

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 5, 4, 9, 30, 0).unwrap()
}

pub const INCOME_YEAR: i32 = 2021;

pub async fn import_as(store: &FakeStore, scope: &Scope, path: &Path, dry_run: bool) -> ImportReport {
    let opts = ImportOptions { dry_run, income_year: INCOME_YEAR, file_name: None };
    exchange::import_households(store, scope, &Actor::cli(), now(), path, &opts, Box::new(|_, _| {}))
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub async fn import(store: &FakeStore, path: &Path) -> ImportReport {
    import_as(store, &fake::town_scope(), path, false).await
}

/// The issue of `tier` at (row, column), or a panic listing what was found.
pub fn issue<'a>(report: &'a ImportReport, tier: Tier, row: usize, column: &str) -> &'a Issue {
    report
        .issues
        .iter()
        .find(|i| i.tier == tier && i.row == row && i.column == column)
        .unwrap_or_else(|| panic!("no {tier:?} at row {row} column {column}; issues: {:#?}", report.issues))
}
