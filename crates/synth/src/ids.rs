//! Birth-date calendar and globally unique 公民身份号码.
//!
//! Uniqueness without a set of every ID: an ID is address (6) + birth date (8) + sequence (3) +
//! check. The generator emits villages in code order, so all the members of one county (one
//! address code) come out contiguously, and no two counties share an address code. For the
//! current county we keep one counter per (birth date, sex): the n-th person of that date and sex
//! gets sequence slot `(h + 263·n) mod 499` (a bijection of `n < 499`, 499 being prime, with `h` a
//! hash of the date so numbers do not all start at 001), and sequence = 2·slot + 1 for men
//! (001–997), 2·slot + 2 for women (002–998): GB 11643 parity, never 000. When a date is full
//! (499 people of one sex) the person
//! moves to the next free day *of the same age year*, so age and sex never change. Memory is one
//! `u16` per (day, sex) of the 101 birth years — about 150 kB — reset at each new county.
//!
//! Capacity: 182,135 people per (county, sex, year of age); [`MAX_HOUSEHOLDS_PER_COUNTY`] keeps
//! every preset and override far below it.

use chrono::{Datelike, NaiveDate};

use crate::rng::mix64;

/// Oldest generated age.
pub const MAX_AGE: u32 = 100;

/// Households per address code that [`crate::households`] accepts: with at most ~1.3 % of all
/// members in one (sex, year of age), 2 M households (≈ 7.4 M people) stay below a third of the
/// 182,135 IDs available for each.
pub const MAX_HOUSEHOLDS_PER_COUNTY: usize = 2_000_000;

const SLOTS: u16 = 499;
const STRIDE: u32 = 263;

/// Birth dates as day indices from the earliest possible one, with the window of each age.
#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    /// `yyyymmdd` of each day index.
    ymd: Vec<u32>,
    /// Per age: first day index and number of days of the birth dates that give that age on the
    /// reference date.
    windows: Vec<(u32, u32)>,
    /// Year of the 1 September that opened the current school year.
    pub school_year: i32,
}

impl Calendar {
    pub fn new(as_of: NaiveDate) -> Self {
        let start_of = |age: u32| years_before(as_of, age + 1).succ_opt().expect("dates in range");
        let base = start_of(MAX_AGE);
        let days = (as_of - base).num_days() as usize + 1;
        let ymd = base.iter_days().take(days).map(|d| d.year() as u32 * 10_000 + d.month() * 100 + d.day()).collect();
        let windows = (0..=MAX_AGE)
            .map(|age| {
                let (start, end) = (start_of(age), years_before(as_of, age));
                ((start - base).num_days() as u32, (end - start).num_days() as u32 + 1)
            })
            .collect();
        let school_year = if as_of.month() >= 9 { as_of.year() } else { as_of.year() - 1 };
        Calendar { ymd, windows, school_year }
    }

    pub fn days(&self) -> usize {
        self.ymd.len()
    }

    pub fn window(&self, age: u32) -> (u32, u32) {
        self.windows[age.min(MAX_AGE) as usize]
    }

    pub fn ymd(&self, day: u32) -> u32 {
        self.ymd[day as usize]
    }

    /// Age on 1 September of the current school year (DOMAIN D6 counts compulsory age so).
    pub fn school_age(&self, ymd: u32) -> i32 {
        let year = (ymd / 10_000) as i32;
        self.school_year - year - i32::from(ymd % 10_000 > 901)
    }
}

/// The same day `years` earlier (29 February → 28 February).
pub(crate) fn years_before(d: NaiveDate, years: u32) -> NaiveDate {
    let y = d.year() - years as i32;
    NaiveDate::from_ymd_opt(y, d.month(), d.day())
        .or_else(|| NaiveDate::from_ymd_opt(y, 2, 28))
        .expect("dates in range")
}

/// Sequence numbers of the county being generated.
#[derive(Debug, Clone)]
pub(crate) struct IdAllocator {
    address6: u32,
    used: Vec<u16>,
}

impl IdAllocator {
    pub fn new(days: usize) -> Self {
        IdAllocator { address6: 0, used: vec![0; days * 2] }
    }

    pub fn address6(&self) -> u32 {
        self.address6
    }

    /// Starts a new county (address code).
    pub fn reset(&mut self, address6: u32) {
        self.address6 = address6;
        self.used.iter_mut().for_each(|c| *c = 0);
    }

    /// A free (day, sequence) for a person born on `day` inside the age `window`.
    ///
    /// # Panics
    /// When every day of the window is full for that sex, which [`MAX_HOUSEHOLDS_PER_COUNTY`]
    /// rules out.
    pub fn allocate(&mut self, day: u32, window: (u32, u32), male: bool) -> (u32, u16) {
        let (start, len) = window;
        let mut d = day;
        for _ in 0..len {
            let i = d as usize * 2 + usize::from(male);
            let n = self.used[i];
            if n < SLOTS {
                self.used[i] = n + 1;
                let h = mix64(u64::from(d) << 32 | u64::from(self.address6) << 1 | u64::from(male)) % u64::from(SLOTS);
                let slot = (h as u32 + STRIDE * u32::from(n)) % u32::from(SLOTS);
                return (d, (slot * 2 + if male { 1 } else { 2 }) as u16);
            }
            d = start + (d - start + 1) % len;
        }
        panic!("synthetic ID space exhausted for address code {:06}", self.address6);
    }
}

/// The 18-character ID from its parts (the same text as `domain::national_id::make_id`, without
/// the formatting machinery: this runs for every member).
pub(crate) fn id18(address6: u32, ymd: u32, seq: u16) -> [u8; 18] {
    let mut b = [b'0'; 18];
    put_digits(&mut b[0..6], address6);
    put_digits(&mut b[6..14], ymd);
    put_digits(&mut b[14..17], u32::from(seq));
    b[17] = domain::national_id::check_char(&b[..17]);
    b
}

fn put_digits(out: &mut [u8], mut v: u32) {
    for c in out.iter_mut().rev() {
        *c = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn windows_give_exact_ages() {
        for as_of in [date(2022, 3, 28), date(2024, 2, 29), date(2023, 12, 31)] {
            let cal = Calendar::new(as_of);
            for age in [0, 1, 17, 60, MAX_AGE] {
                let (start, len) = cal.window(age);
                assert!((365..=366).contains(&len));
                for day in [start, start + len - 1] {
                    let ymd = cal.ymd(day);
                    let id = String::from_utf8(id18(450203, ymd, 1).to_vec()).unwrap();
                    let id = domain::NationalId::parse(&id).unwrap();
                    assert_eq!(id.age_on(as_of), age as i32, "{as_of} {ymd}");
                }
            }
            assert_eq!(cal.ymd(cal.days() as u32 - 1), {
                let d = as_of;
                d.year() as u32 * 10_000 + d.month() * 100 + d.day()
            });
        }
    }

    #[test]
    fn school_age_counts_from_first_september() {
        let cal = Calendar::new(date(2022, 3, 28));
        assert_eq!(cal.school_year, 2021);
        assert_eq!(cal.school_age(20150901), 6);
        assert_eq!(cal.school_age(20150902), 5);
        assert_eq!(cal.school_age(20060101), 15);
    }

    #[test]
    fn matches_make_id() {
        let b = id18(450203, 19900102, 37);
        let birth = date(1990, 1, 2);
        assert_eq!(std::str::from_utf8(&b).unwrap(), domain::national_id::make_id(450203, birth, 37));
    }

    #[test]
    fn a_full_date_moves_within_the_age_year() {
        let cal = Calendar::new(date(2022, 3, 28));
        let mut ids = IdAllocator::new(cal.days());
        ids.reset(450203);
        let window = cal.window(30);
        let day = window.0 + window.1 - 1;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1200 {
            let (d, seq) = ids.allocate(day, window, true);
            assert_eq!(seq % 2, 1);
            assert!(d >= window.0 && d < window.0 + window.1);
            assert!(seen.insert((d, seq)), "duplicate {d} {seq}");
        }
        // 499 fit on the date itself, the next 499 on the first day of the window, then the second.
        assert_eq!(seen.iter().filter(|(d, _)| *d == day).count(), 499);
        assert_eq!(seen.iter().filter(|(d, _)| *d == window.0 + 1).count(), 202);
        assert!(seen.iter().all(|(_, seq)| (1..=999).contains(seq)));
        ids.reset(450204);
        let (d, seq) = ids.allocate(day, window, false);
        assert!(d == day && seq % 2 == 0 && seq > 0);
    }
}
