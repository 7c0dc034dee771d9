//! Money in 分 (fen), never floats (DOMAIN D4).

use std::fmt;
use std::ops::{Add, Sub};

/// An amount in 分. Negative values exist only as intermediate results (e.g. net income).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Fen(pub i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("金额“{0}”不是数字")]
    NotANumber(String),
    #[error("金额“{0}”最多保留两位小数（单位：元）")]
    TooManyDecimals(String),
    #[error("金额“{0}”过大")]
    TooLarge(String),
}

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub fn from_yuan(yuan: i64) -> Fen {
        Fen(yuan * 100)
    }

    /// Parses an amount in 元 as written in a cell or a form: "1234", "1,234.5", "￥1234.56", "-5".
    pub fn parse_yuan(text: &str) -> Result<Fen, MoneyError> {
        let t: String = crate::text::compact(text).chars().filter(|c| !matches!(c, ',' | '，' | '¥' | '￥')).collect();
        let t = t.strip_suffix('元').unwrap_or(&t);
        let (neg, t) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(MoneyError::NotANumber(text.trim().to_string()));
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > 2 {
            return Err(MoneyError::TooManyDecimals(text.trim().to_string()));
        }
        let int: i64 =
            if int.is_empty() { 0 } else { int.parse().map_err(|_| MoneyError::TooLarge(text.trim().to_string()))? };
        let frac_fen: i64 = format!("{frac:0<2}").parse().unwrap_or(0);
        let fen = int
            .checked_mul(100)
            .and_then(|v| v.checked_add(frac_fen))
            .filter(|v| *v < 100_000_000_000_000)
            .ok_or_else(|| MoneyError::TooLarge(text.trim().to_string()))?;
        Ok(Fen(if neg { -fen } else { fen }))
    }

    /// From a spreadsheet number in 元. A number with more than two decimals is refused, as
    /// the same text would be (binary fractions like 1234.56 → 1234.5599… are fine).
    pub fn from_yuan_f64(v: f64) -> Result<Fen, MoneyError> {
        if !v.is_finite() || v.abs() >= 1e12 {
            return Err(MoneyError::TooLarge(v.to_string()));
        }
        let fen = v * 100.0;
        if (fen - fen.round()).abs() > 1e-6 * fen.abs().max(1.0) {
            return Err(MoneyError::TooManyDecimals(v.to_string()));
        }
        Ok(Fen(fen.round() as i64))
    }

    /// 元 with two decimals, no separators ("1234.50"): the export format.
    pub fn to_yuan_string(self) -> String {
        let mut s = String::new();
        let _ = self.write_yuan(&mut s);
        s
    }

    /// [`Fen::to_yuan_string`] appended to `out`, for writers that reuse one buffer.
    pub fn write_yuan(self, out: &mut impl std::fmt::Write) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(out, "{sign}{}.{:02}", a / 100, a % 100)
    }

    /// 元 as f64, for spreadsheet cells only.
    pub fn to_yuan_f64(self) -> f64 {
        self.0 as f64 / 100.0
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Integer division by a head count, truncating toward zero.
    pub fn per_person(self, people: u32) -> Option<Fen> {
        (people > 0).then(|| Fen(self.0 / i64::from(people)))
    }
}

impl fmt::Display for Fen {
    /// "12,345.67 元"-style display for pages: thousands separators, two decimals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // written backwards into a buffer on the stack: a finding's explanation formats several
        // amounts, and a screening pass writes hundreds of thousands of explanations
        let a = self.0.unsigned_abs();
        let (mut int, frac) = (a / 100, a % 100);
        // u64::MAX / 100 has 18 digits: with 5 separators, a sign and ".00", 27 bytes
        let mut buf = [0u8; 32];
        let mut at = buf.len();
        for b in [b'0' + (frac % 10) as u8, b'0' + (frac / 10) as u8, b'.'] {
            at -= 1;
            buf[at] = b;
        }
        let mut digits = 0;
        loop {
            if digits > 0 && digits % 3 == 0 {
                at -= 1;
                buf[at] = b',';
            }
            at -= 1;
            buf[at] = b'0' + (int % 10) as u8;
            digits += 1;
            int /= 10;
            if int == 0 {
                break;
            }
        }
        if self.0 < 0 {
            at -= 1;
            buf[at] = b'-';
        }
        // digits, separators and a sign: ASCII, so the check cannot fail
        f.write_str(std::str::from_utf8(&buf[at..]).map_err(|_| fmt::Error)?)
    }
}

impl Add for Fen {
    type Output = Fen;
    fn add(self, rhs: Fen) -> Fen {
        Fen(self.0 + rhs.0)
    }
}

impl Sub for Fen {
    type Output = Fen;
    fn sub(self, rhs: Fen) -> Fen {
        Fen(self.0 - rhs.0)
    }
}

impl std::iter::Sum for Fen {
    fn sum<I: Iterator<Item = Fen>>(iter: I) -> Fen {
        Fen(iter.map(|f| f.0).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(Fen::parse_yuan("1234"), Ok(Fen(123_400)));
        assert_eq!(Fen::parse_yuan("1,234.5"), Ok(Fen(123_450)));
        assert_eq!(Fen::parse_yuan("￥1234.56"), Ok(Fen(123_456)));
        assert_eq!(Fen::parse_yuan("1234.560"), Ok(Fen(123_456)));
        assert_eq!(Fen::parse_yuan("6500元"), Ok(Fen(650_000)));
        assert_eq!(Fen::parse_yuan(".5"), Ok(Fen(50)));
        assert_eq!(Fen::parse_yuan("-5"), Ok(Fen(-500)));
        assert!(matches!(Fen::parse_yuan("12.345"), Err(MoneyError::TooManyDecimals(_))));
        assert!(matches!(Fen::parse_yuan("abc"), Err(MoneyError::NotANumber(_))));
        assert!(matches!(Fen::parse_yuan(""), Err(MoneyError::NotANumber(_))));
        assert!(matches!(Fen::parse_yuan("1.2.3"), Err(MoneyError::NotANumber(_))));
    }

    #[test]
    fn formats() {
        assert_eq!(Fen(123_456).to_yuan_string(), "1234.56");
        assert_eq!(Fen(-5).to_yuan_string(), "-0.05");
        assert_eq!(Fen(123_456_789).to_string(), "1,234,567.89");
        assert_eq!(Fen(-100_000).to_string(), "-1,000.00");
        assert_eq!(Fen(0).to_string(), "0.00");
        assert_eq!(Fen(-5).to_string(), "-0.05");
        assert_eq!(Fen(99_999).to_string(), "999.99");
        assert_eq!(Fen(10_000_000).to_string(), "100,000.00");
        assert_eq!(Fen(i64::MIN).to_string(), "-92,233,720,368,547,758.08");
        assert_eq!(Fen(i64::MAX).to_string(), "92,233,720,368,547,758.07");
        assert_eq!(Fen(650_000).per_person(4), Some(Fen(162_500)));
        assert_eq!(Fen(1).per_person(0), None);
        assert_eq!(Fen::from_yuan_f64(1234.56), Ok(Fen(123_456)));
        assert!(matches!(Fen::from_yuan_f64(1234.567), Err(MoneyError::TooManyDecimals(_))));
    }

    proptest! {
        #[test]
        fn string_round_trip(v in -10_000_000_000i64..10_000_000_000) {
            prop_assert_eq!(Fen::parse_yuan(&Fen(v).to_yuan_string()), Ok(Fen(v)));
            prop_assert_eq!(Fen::from_yuan_f64(Fen(v).to_yuan_f64()), Ok(Fen(v)));
            // the page form, separators and all, reads back and groups by three
            let shown = Fen(v).to_string();
            prop_assert_eq!(Fen::parse_yuan(&shown), Ok(Fen(v)));
            let int = shown.trim_start_matches('-').split('.').next().unwrap_or("");
            prop_assert!(int.split(',').enumerate().all(|(i, g)| g.len() == 3 || i == 0 && (1..=3).contains(&g.len())), "{}", shown);
        }
    }
}
