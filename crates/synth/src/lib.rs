//! Deterministic synthetic registry data for fangpin: the 雒容镇 demo town and the benchmark
//! presets of `BENCHMARKS.md` ("Synthetic data").
//!
//! * Same preset + [`GenOptions`] + crate version ⇒ the same data, on every platform: the PRNG is
//!   our own ([`rng`]), floating point is limited to IEEE-exact operations, and every household
//!   draws from its own stream seeded by (seed, village code, serial), so changing one
//!   distribution does not shift every later household (only ID sequence numbers depend on the
//!   earlier members of the county).
//! * Streaming: [`households`] yields one household at a time, in list order (village, group,
//!   户编号); memory stays flat even for the 10 M-household province.
//! * Clean: every household passes `domain::member::check_household` and
//!   `domain::fields::check_household_fields`. Dirty variants are a separate, explicit step.
//! * IDs are valid GB 11643 numbers and unique across the whole data set without a set of every
//!   ID: one counter per (birth date, sex) of the county being generated (scheme in `ids.rs`).
//!
//! Speed: run `cargo test --release -p synth -- --ignored --nocapture generation_speed`
//! (single thread; the test prints households/s).

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use domain::{Region, RegionCode};

pub mod feeds;
mod generate;
mod ids;
mod names;
pub mod rng;
mod tree;

pub use generate::Households;
pub use ids::MAX_HOUSEHOLDS_PER_COUNTY;

/// A data-set size. Regions and households-per-village depend on the preset only; the seed
/// changes the households.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Preset {
    /// 雒容镇 with its 13 villages (DOMAIN D1), 12,000 households.
    Town,
    /// One generated county, 250,000 households.
    County,
    /// Four generated counties, 1,000,000 households.
    M1,
    /// 44 generated counties over the 14 cities of 广西, 10,000,000 households.
    Province,
}

impl Preset {
    pub const ALL: [Preset; 4] = [Preset::Town, Preset::County, Preset::M1, Preset::Province];

    /// Total households when [`GenOptions::households`] does not override it.
    pub fn default_households(self) -> usize {
        match self {
            Preset::Town => 12_000,
            Preset::County => 250_000,
            Preset::M1 => 1_000_000,
            Preset::Province => 10_000_000,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::Town => "town",
            Preset::County => "county",
            Preset::M1 => "m1",
            Preset::Province => "province",
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown preset name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPreset(pub String);

impl fmt::Display for UnknownPreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown preset “{}”: expected town, county, m1 or province", self.0)
    }
}

impl std::error::Error for UnknownPreset {}

impl FromStr for Preset {
    type Err = UnknownPreset;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Preset::ALL.into_iter().find(|p| p.name().eq_ignore_ascii_case(t)).ok_or_else(|| UnknownPreset(t.to_string()))
    }
}

/// Generation options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenOptions {
    pub seed: u64,
    /// Reference date: ages, school years, monitoring dates and the income year derive from it.
    pub as_of: NaiveDate,
    /// Overrides the preset's total; spread over its villages in proportion to their planned sizes.
    pub households: Option<usize>,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions { seed: 2022, as_of: NaiveDate::from_ymd_opt(2022, 3, 28).expect("valid date"), households: None }
    }
}

/// The preset's region tree: province, cities, counties, towns and villages, sorted by code
/// (parents first). Town segments are 1xx (镇), village segments 2xx (村委会), DOMAIN §10.2.
pub fn regions(preset: Preset) -> Vec<Region> {
    tree::plan(preset).regions
}

/// Households per village, in generation order, so callers can show progress.
pub fn village_plan(preset: Preset, options: &GenOptions) -> Vec<(RegionCode, usize)> {
    planned(&tree::plan(preset), options)
}

fn planned(plan: &tree::Plan, options: &GenOptions) -> Vec<(RegionCode, usize)> {
    let mut sizes: Vec<usize> = plan.villages.iter().map(|v| v.households).collect();
    if let Some(total) = options.households {
        tree::rescale(&mut sizes, total);
    }
    plan.villages.iter().map(|v| v.code).zip(sizes).collect()
}

/// A generated Chinese full name from the tables of the synthetic households, in the style of
/// `birth_year` — for the people a simulated demo names (screeners, assistance officers).
pub fn person_name(rng: &mut rng::Rng, male: bool, birth_year: i32) -> String {
    let family = names::surname(rng);
    names::person_name(rng, family, male, birth_year)
}

/// A generated mobile number (11 digits, a valid [`domain::Phone`]).
pub fn mobile(rng: &mut rng::Rng) -> domain::Phone {
    generate::mobile(rng)
}

/// The households of a preset, streamed in list order (village code, group, 户编号).
///
/// # Panics
/// When an override puts more than [`MAX_HOUSEHOLDS_PER_COUNTY`] households into one county
/// (the unique-ID scheme's limit; e.g. `Town` with more than 2 M households).
pub fn households(preset: Preset, options: &GenOptions) -> Households {
    let plan = tree::plan(preset);
    let sizes = planned(&plan, options);
    Households::new(plan, sizes, options)
}
