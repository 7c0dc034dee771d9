//! The injectable clock. Nothing below the binary reads the system time directly: a test or a
//! demo (`FANGPIN_NOW=2022-03-28T09:00:00+08:00`) runs the whole system as of another moment.

use std::sync::Mutex;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};

/// China Standard Time, in which dates (deadlines, 识别监测时间) are counted.
pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!())
}

/// The instant `time` (hours, minutes) of day `d` in China.
pub fn china_instant(d: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    d.and_hms_opt(hour, minute, 0)
        .and_then(|t| t.and_local_timezone(china()).single())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// The instant a China day begins (periods of dates compared with stored timestamps).
pub fn day_start(d: NaiveDate) -> DateTime<Utc> {
    china_instant(d, 0, 0)
}

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Today's date in China.
    fn today(&self) -> NaiveDate {
        self.now().with_timezone(&china()).date_naive()
    }
}

/// The real time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Real time moved to start at a chosen moment: it keeps ticking, so idle sessions still expire.
#[derive(Debug, Clone, Copy)]
pub struct ShiftedClock {
    offset: Duration,
}

impl ShiftedClock {
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        ShiftedClock { offset: start - Utc::now() }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }
}

/// A clock that moves only when told (tests).
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        ManualClock(Mutex::new(at))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }

    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Parses `2022-03-28T09:00:00+08:00` (or a bare date, taken as 09:00 China time).
pub fn parse_moment(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text.trim()) {
        return Some(t.with_timezone(&Utc));
    }
    let d = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
    d.and_hms_opt(9, 0, 0)?.and_local_timezone(china()).single().map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_china_date() {
        let c = ManualClock::new(parse_moment("2022-03-27T23:30:00+00:00").unwrap());
        assert_eq!(c.today(), NaiveDate::from_ymd_opt(2022, 3, 28).unwrap());
        c.advance(Duration::days(1));
        assert_eq!(c.today(), NaiveDate::from_ymd_opt(2022, 3, 29).unwrap());
    }

    #[test]
    fn shifted_clock_starts_at_the_moment() {
        let start = parse_moment("2022-03-28T09:00:00+08:00").unwrap();
        let c = ShiftedClock::starting_at(start);
        let d = c.now() - start;
        assert!(d >= Duration::zero() && d < Duration::seconds(5));
        assert_eq!(parse_moment("2022-03-28"), Some(start));
    }
}
