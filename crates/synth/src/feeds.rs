//! Department files to go with a generated registry (BENCHMARKS.md "Synthetic data"): 医保
//! self-paid costs for 5% of members (median 6,000 元) plus 10% rows of people not in the
//! registry, deaths (0.7% of members), unemployment (3% of ages 16–59), C/D dangerous housing
//! (0.5% of households) and a flood hitting 40% of the households of 1–3 villages; 1% of the
//! rows of every file carry a dirty ID (lower-case x, spaces, full-width digits, the legacy 15
//! digits, or a wrong check character — only the last cannot be matched, D17).
//!
//! Alongside, [`FeedSummary`] counts what an import into the same registry must find: rows,
//! rows that cannot match, and the alerts expected with the shipped thresholds (D15), one per
//! household and period.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use domain::codes::HouseholdKind;
use domain::household::Monitoring;
use domain::national_id::make_id;
use domain::ports::IncomingHousehold;
use domain::region::RegionCode;

use crate::rng::{Rng, seed_of};

/// One department file and what importing it must give.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FileSummary {
    pub file: String,
    /// `fangpin alerts import --feed` value.
    pub feed: String,
    pub rows: u64,
    /// Rows whose ID is not in the registry (valid IDs of people from elsewhere).
    pub not_in_registry: u64,
    /// Rows with a dirty ID (all forms); `wrong_check` of them cannot be matched.
    pub dirty: u64,
    pub wrong_check: u64,
    /// Alerts raised on a first import with the shipped thresholds.
    pub expected_alerts: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FeedSummary {
    pub files: Vec<FileSummary>,
}

struct Feed {
    out: std::io::BufWriter<std::fs::File>,
    summary: FileSummary,
    /// (household, period) pairs already alerted, for the expected count.
    alerted: HashSet<(String, String)>,
}

impl Feed {
    fn create(dir: &Path, file: &str, feed: &str, header: &str) -> std::io::Result<Feed> {
        let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join(file))?);
        writeln!(out, "\u{feff}{header}")?;
        Ok(Feed {
            out,
            summary: FileSummary { file: file.into(), feed: feed.into(), ..Default::default() },
            alerted: HashSet::new(),
        })
    }

    /// Writes a row for a registry member (the ID maybe made dirty); `alerts` when the row
    /// should raise an alert once matched.
    fn member_row(
        &mut self,
        rng: &mut Rng,
        household: &str,
        period: &str,
        id: &str,
        fields: std::fmt::Arguments<'_>,
        alerts: bool,
    ) -> std::io::Result<()> {
        let (id, matchable) = if rng.chance(0.01) {
            self.summary.dirty += 1;
            let (d, ok) = dirty(rng, id);
            if !ok {
                self.summary.wrong_check += 1;
            }
            (d, ok)
        } else {
            (id.to_string(), true)
        };
        self.summary.rows += 1;
        if matchable && alerts && self.alerted.insert((household.to_string(), period.to_string())) {
            self.summary.expected_alerts += 1;
        }
        writeln!(self.out, "{fields},{}", csv_text(&id))
    }

    fn outsider_row(&mut self, fields: std::fmt::Arguments<'_>, id: &str) -> std::io::Result<()> {
        self.summary.rows += 1;
        self.summary.not_in_registry += 1;
        writeln!(self.out, "{fields},{id}")
    }
}

/// Quotes a cell with spaces so that CSV readers keep them.
fn csv_text(s: &str) -> String {
    if s.contains([' ', ',']) { format!("\"{s}\"") } else { s.to_string() }
}

/// A dirty form of `id` and whether it still names the person (D17).
fn dirty(rng: &mut Rng, id: &str) -> (String, bool) {
    let born_19xx = id.get(6..8) == Some("19");
    loop {
        match rng.below(5) {
            0 if id.ends_with('X') => return (id.to_lowercase(), true),
            1 => return (format!(" {} {} ", &id[..6], &id[6..]), true),
            2 => {
                return (
                    id.chars()
                        .map(|c| char::from_u32(c as u32 + 0xFEE0).filter(|_| c.is_ascii_digit()).unwrap_or(c))
                        .collect(),
                    true,
                );
            }
            3 if born_19xx => return (format!("{}{}", &id[..6], &id[8..17]), true),
            4 => {
                let last = id.as_bytes()[17];
                let wrong = if last == b'0' { '1' } else { '0' };
                return (format!("{}{wrong}", &id[..17]), false);
            }
            _ => continue,
        }
    }
}

/// Writes the department files for the households streamed through [`DepartmentFiles::add`].
pub struct DepartmentFiles {
    seed: u64,
    as_of: NaiveDate,
    medical: Feed,
    deaths: Feed,
    unemployment: Feed,
    housing: Feed,
    disaster: Feed,
    disaster_villages: Vec<RegionCode>,
    outsiders: u32,
}

impl DepartmentFiles {
    /// `villages`: the data set's villages, in order; the flood hits 1–3 of them (by the seed).
    pub fn create(dir: &Path, seed: u64, as_of: NaiveDate, villages: &[RegionCode]) -> std::io::Result<Self> {
        let mut rng = Rng::new(seed_of(&[seed, 0xF100D]));
        let n = (1 + rng.below(3) as usize).min(villages.len());
        let start = if villages.is_empty() { 0 } else { rng.below(villages.len() as u32) as usize };
        let disaster_villages = (0..n).map(|i| villages[(start + i) % villages.len()]).collect();
        Ok(DepartmentFiles {
            seed,
            as_of,
            medical: Feed::create(dir, "医保自付.csv", "medical", "参保人姓名,个人自付金额,统计期间,身份证号码")?,
            deaths: Feed::create(dir, "死亡.csv", "death", "姓名,死亡日期,身份证号码")?,
            unemployment: Feed::create(dir, "失业登记.csv", "unemployment", "姓名,登记日期,身份证号码")?,
            housing: Feed::create(dir, "危房鉴定.csv", "housing", "户主姓名,危房等级,鉴定日期,身份证号码")?,
            disaster: Feed::create(dir, "受灾名单.csv", "disaster", "户主姓名,灾害类型,损失金额,发生日期,身份证号码")?,
            disaster_villages,
            outsiders: 0,
        })
    }

    pub fn add(&mut self, h: &IncomingHousehold) -> std::io::Result<()> {
        let hh = &h.household;
        let no = hh.household_no.to_string();
        let mut rng = Rng::new(seed_of(&[self.seed, 0xDEB7, hh.household_no.as_str().parse().unwrap_or(0)]));
        let year = self.as_of.year();
        let month = |rng: &mut Rng| {
            let d = NaiveDate::from_ymd_opt(year, self.as_of.month(), 1 + rng.below(self.as_of.day().max(1)))
                .unwrap_or(self.as_of);
            (d, format!("{}-{:02}", d.year(), d.month()))
        };
        let poor = hh.kind == HouseholdKind::PovertyExited || !matches!(hh.monitoring, Monitoring::Never);
        let line = if poor { 5_000.0 } else { 20_000.0 };
        for m in &h.members {
            let id = m.national_id.as_str().to_string();
            let name = m.name.as_str();
            if rng.chance(0.05) {
                let amount = rng.lognormal(6_000.0, 0.9).round();
                self.medical.member_row(
                    &mut rng,
                    &no,
                    &year.to_string(),
                    &id,
                    format_args!("{name},{amount:.0},{year}"),
                    amount >= line,
                )?;
                // one in ten 医保 rows names someone not in the registry
                if rng.chance(0.111) {
                    self.outsiders += 1;
                    let birth =
                        NaiveDate::from_ymd_opt(1950 + rng.below(50) as i32, 1 + rng.below(12), 1 + rng.below(28))
                            .unwrap_or(self.as_of);
                    let outsider = make_id(450_102, birth, (self.outsiders % 1000) as u16);
                    let amount = rng.lognormal(6_000.0, 0.9).round();
                    self.medical.outsider_row(format_args!("外地参保人,{amount:.0},{year}"), &outsider)?;
                }
            }
            if rng.chance(0.007) {
                let (d, p) = month(&mut rng);
                self.deaths.member_row(&mut rng, &no, &p, &id, format_args!("{name},{d}"), true)?;
            }
            let age = m.national_id.age_on(self.as_of);
            if (16..=59).contains(&age) && rng.chance(0.03) {
                let (d, p) = month(&mut rng);
                self.unemployment.member_row(&mut rng, &no, &p, &id, format_args!("{name},{d}"), true)?;
            }
        }
        let Some(head) = h.members.iter().find(|m| m.relation == domain::codes::Relation::Head).or(h.members.first())
        else {
            return Ok(());
        };
        let head_id = head.national_id.as_str().to_string();
        if rng.chance(0.005) {
            let (d, p) = month(&mut rng);
            let grade = if rng.chance(0.5) { "C级" } else { "D级" };
            self.housing.member_row(
                &mut rng,
                &no,
                &p,
                &head_id,
                format_args!("{},{grade},{d}", head.name.as_str()),
                true,
            )?;
        }
        if self.disaster_villages.contains(&hh.village) && rng.chance(0.4) {
            let (d, p) = month(&mut rng);
            let loss = rng.lognormal(3_000.0, 0.7).round();
            self.disaster.member_row(
                &mut rng,
                &no,
                &p,
                &head_id,
                format_args!("{},洪涝灾害,{loss:.0},{d}", head.name.as_str()),
                true,
            )?;
        }
        Ok(())
    }

    pub fn finish(self) -> std::io::Result<FeedSummary> {
        let mut files = Vec::new();
        for mut f in [self.medical, self.deaths, self.unemployment, self.housing, self.disaster] {
            f.out.flush()?;
            files.push(f.summary);
        }
        Ok(FeedSummary { files })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirty_forms() {
        let id = make_id(450_203, NaiveDate::from_ymd_opt(1958, 4, 2).unwrap(), 7);
        let key = domain::NationalId::parse(&id).unwrap().key();
        let mut rng = Rng::new(1);
        let (mut matched, mut wrong) = (0, 0);
        for _ in 0..200 {
            let (d, ok) = dirty(&mut rng, &id);
            let parsed = domain::NationalId::parse(&d).unwrap();
            if ok {
                assert_eq!(parsed.key(), key, "{d:?} names the person");
                matched += 1;
            } else {
                assert!(!parsed.is_checksum_valid(), "{d:?}");
                wrong += 1;
            }
        }
        assert!(matched > 100 && wrong > 20, "{matched} {wrong}");
    }

    #[test]
    fn files_for_a_small_town_are_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let run = |d: &Path| {
            let opts = crate::GenOptions { households: Some(2_000), ..Default::default() };
            let villages: Vec<RegionCode> = crate::regions(crate::Preset::Town)
                .iter()
                .filter(|r| r.code.level() == domain::RegionLevel::Village)
                .map(|r| r.code)
                .collect();
            let mut f = DepartmentFiles::create(d, 2022, opts.as_of, &villages).unwrap();
            for h in crate::households(crate::Preset::Town, &opts) {
                f.add(&h).unwrap();
            }
            f.finish().unwrap()
        };
        let a = run(dir.path());
        let medical = &a.files[0];
        // ~7,400 members: 5% rows (± noise), 10% outsiders among them
        assert!((250..550).contains(&medical.rows), "{medical:?}");
        assert!(medical.not_in_registry * 100 / medical.rows < 20 && medical.not_in_registry > 0, "{medical:?}");
        assert!(medical.expected_alerts > 0 && medical.expected_alerts < medical.rows);
        assert!(a.files.iter().all(|f| f.rows > 0), "{a:?}");
        let dir2 = tempfile::tempdir().unwrap();
        assert_eq!(run(dir2.path()), a, "same seed, same files");
        let text = std::fs::read_to_string(dir.path().join("医保自付.csv")).unwrap();
        assert_eq!(text, std::fs::read_to_string(dir2.path().join("医保自付.csv")).unwrap());
    }
}
