//! 公民身份号码 per GB 11643-1999 (DOMAIN D17, §10.1).
//!
//! Parsing normalises what people and spreadsheets do to the number (spaces, full-width digits,
//! lower-case x), upgrades legacy 15-digit numbers and accepts the 20/22-character 残疾人证号
//! whose first 18 characters are the ID. A wrong check character is *kept* and reported by
//! [`NationalId::is_checksum_valid`]: the registry must hold real data, and a bad check character
//! is a `DATA_ERROR` finding, never a silent fix. Malformed input is an error.

use chrono::{Datelike, NaiveDate};

use crate::codes::Sex;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [u8; 11] = *b"10X98765432";

/// A normalised identity number. Always at least 18 characters: the ID, then the disability
/// certificate suffix when the column held a 残疾人证号.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NationalId {
    text: String,
    checksum_ok: bool,
    /// Read from the text once, in `parse`: a screening pass asks every member's age.
    birth: NaiveDate,
}

/// Why an identity number could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("证件号码为空")]
    Empty,
    #[error("证件号码应为18位（旧证15位，残疾人证20或22位），实际为{0}位")]
    BadLength(usize),
    #[error("证件号码第{position}位“{found}”不是数字")]
    BadCharacter { position: usize, found: char },
    #[error("证件号码中的出生日期“{0}”不存在")]
    BadBirthDate(String),
    #[error(
        "证件号码在Excel中以数字格式存储，末尾数字已丢失（显示为“{0}”），无法恢复：请把该列设置为“文本”格式，从原系统重新导出"
    )]
    StoredAsNumber(String),
}

/// The check character (0–9 or X) for the first 17 digits.
pub fn check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    CHECK_CHARS[(sum % 11) as usize]
}

impl NationalId {
    /// Normalises and parses an ID cell.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let s: String = crate::text::compact(raw).to_uppercase();
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        // "4.50203199001011E+17" or "450203199001011000.0": a spreadsheet number in text form.
        if s.contains('E') && s.contains('.') || s.ends_with(".0") {
            return Err(IdError::StoredAsNumber(raw.trim().to_string()));
        }
        let len = s.chars().count();
        let b = s.as_bytes();
        match len {
            15 => {
                digits_only(b, 15)?;
                let mut first17 = Vec::with_capacity(18);
                first17.extend_from_slice(&b[..6]);
                first17.extend_from_slice(b"19");
                first17.extend_from_slice(&b[6..15]);
                let birth = birth_date_of(&first17)?;
                let c = check_char(&first17);
                first17.push(c);
                Ok(NationalId { text: String::from_utf8(first17).unwrap_or_default(), checksum_ok: true, birth })
            }
            18 | 20 | 22 => {
                if s.len() != len {
                    // multi-byte characters somewhere
                    let (position, found) =
                        s.chars().enumerate().find(|(_, c)| !c.is_ascii()).map(|(i, c)| (i + 1, c)).unwrap_or((1, '?'));
                    return Err(IdError::BadCharacter { position, found });
                }
                let (checksum_ok, birth) = check_normal(b)?;
                Ok(NationalId { text: s, checksum_ok, birth })
            }
            n => Err(IdError::BadLength(n)),
        }
    }

    /// `*self = NationalId::parse(raw)?`, reusing this number's memory when `raw` is already
    /// normalised (18, 20 or 22 ASCII characters, upper case, no spaces): a resident snapshot
    /// unpacks millions of members per screening pass (engine).
    pub fn set(&mut self, raw: &str) -> Result<(), IdError> {
        let b = raw.as_bytes();
        if !matches!(b.len(), 18 | 20 | 22) || !b.iter().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()) {
            *self = NationalId::parse(raw)?;
            return Ok(());
        }
        let (checksum_ok, birth) = check_normal(b)?;
        self.text.clear();
        self.text.push_str(raw);
        (self.checksum_ok, self.birth) = (checksum_ok, birth);
        Ok(())
    }

    /// Parses and insists on a correct check character (used when a person types the number).
    pub fn parse_strict(raw: &str) -> Result<Self, StrictIdError> {
        let id = Self::parse(raw)?;
        if !id.checksum_ok {
            return Err(StrictIdError::Checksum { expected: id.expected_check_char() });
        }
        Ok(id)
    }

    /// The 18-character ID.
    pub fn id18(&self) -> &str {
        &self.text[..18]
    }

    /// The full normalised text (18, or 20/22 for a disability certificate number).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The characters after the ID in a 残疾人证号 (disability class and grade).
    pub fn disability_suffix(&self) -> Option<&str> {
        (self.text.len() > 18).then(|| &self.text[18..])
    }

    pub fn is_checksum_valid(&self) -> bool {
        self.checksum_ok
    }

    pub fn expected_check_char(&self) -> char {
        check_char(&self.text.as_bytes()[..17]) as char
    }

    /// The integer join key: the first 17 digits × 11 + the check value (X = 10). Unique per
    /// 18-character ID, fits in an i64 (DOMAIN BENCHMARKS hint 1).
    pub fn key(&self) -> u64 {
        let b = self.text.as_bytes();
        let first: u64 = b[..17].iter().fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
        let check = if b[17] == b'X' { 10 } else { u64::from(b[17] - b'0') };
        first * 11 + check
    }

    /// `*self` = the number whose [`NationalId::key`] is `key`, followed by `suffix` (a
    /// 残疾人证号's last 2 or 4 characters, or nothing), reusing this number's memory. The inverse
    /// of `key`, for a number kept as its key (the engine's packed snapshot unpacks millions of
    /// members per screening pass): the digits are written, the check character compared and the
    /// birth date read in one pass over them, where going through the text and [`NationalId::set`]
    /// read them three times (13% of the pass, perf).
    pub fn set_key(&mut self, key: u64, suffix: &str) -> Result<(), IdError> {
        let (first, check) = (key / 11, (key % 11) as usize);
        if first >= 100_000_000_000_000_000 {
            return Err(IdError::BadLength(18 + (first.ilog10() as usize - 16)));
        }
        // the 17 digits as 8 and 9 of them, in 32 bits each: a 64-bit division per digit cost more
        let mut digits = [0u8; 17];
        let (mut high, mut low) = ((first / 1_000_000_000) as u32, (first % 1_000_000_000) as u32);
        for d in digits[8..].iter_mut().rev() {
            *d = (low % 10) as u8;
            low /= 10;
        }
        for d in digits[..8].iter_mut().rev() {
            *d = (high % 10) as u8;
            high /= 10;
        }
        if !matches!(suffix.len(), 0 | 2 | 4) {
            return Err(IdError::BadLength(18 + suffix.chars().count()));
        }
        // as `parse` leaves them: digits and capitals
        if let Some((i, c)) = suffix.chars().enumerate().find(|(_, c)| !(c.is_ascii_digit() || c.is_ascii_uppercase()))
        {
            return Err(IdError::BadCharacter { position: 19 + i, found: c });
        }
        let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| u32::from(*d) * w).sum();
        // the check value as `key` counts it (X = 10), from the character it stands for
        let last = if check == 10 { b'X' } else { b'0' + check as u8 };
        let number = |ds: &[u8]| ds.iter().fold(0u32, |n, d| n * 10 + u32::from(*d));
        let (y, m, d) = (number(&digits[6..10]), number(&digits[10..12]), number(&digits[12..14]));
        let birth = NaiveDate::from_ymd_opt(y as i32, m, d)
            .filter(|b| (1870..=2099).contains(&b.year()))
            .ok_or_else(|| IdError::BadBirthDate(format!("{y:04}{m:02}{d:02}")))?;
        // written as bytes and checked once (ASCII): pushed one `char` at a time they cost more
        // than everything else here
        let mut text = [0u8; 18];
        for (t, d) in text.iter_mut().zip(&digits) {
            *t = b'0' + d;
        }
        text[17] = last;
        self.text.clear();
        // digits and X are ASCII: the check cannot fail
        self.text.push_str(std::str::from_utf8(&text).map_err(|_| IdError::BadLength(0))?);
        self.text.push_str(suffix);
        self.checksum_ok = CHECK_CHARS[(sum % 11) as usize] == last;
        self.birth = birth;
        Ok(())
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth
    }

    /// Sex from the sequence number's parity (odd = male).
    pub fn sex(&self) -> Sex {
        if (self.text.as_bytes()[16] - b'0') % 2 == 1 { Sex::Male } else { Sex::Female }
    }

    /// Age in full years on `on`.
    pub fn age_on(&self, on: NaiveDate) -> i32 {
        let b = self.birth_date();
        let mut age = on.year() - b.year();
        if (on.month(), on.day()) < (b.month(), b.day()) {
            age -= 1;
        }
        age
    }

    /// First 6 and last 4 characters of the ID, the rest starred (DOMAIN D18).
    pub fn masked(&self) -> String {
        mask_id_text(self.id18())
    }
}

/// Masks any ID-like text: first 6 + last 4, or all stars when too short.
pub fn mask_id_text(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() < 11 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
}

/// A typed ID with a wrong check character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrictIdError {
    #[error(transparent)]
    Invalid(#[from] IdError),
    #[error("证件号码校验位不正确（按前17位计算应为“{expected}”），请核对后重新填写")]
    Checksum { expected: char },
}

/// Checks a normalised number of 18, 20 or 22 ASCII characters; its check character's validity
/// and the birth date.
fn check_normal(b: &[u8]) -> Result<(bool, NaiveDate), IdError> {
    digits_only(b, 17)?;
    let last = b[17];
    if !(last.is_ascii_digit() || last == b'X') {
        return Err(IdError::BadCharacter { position: 18, found: last as char });
    }
    if let Some((i, c)) = b[18..].iter().enumerate().find(|(_, c)| !c.is_ascii_alphanumeric()) {
        return Err(IdError::BadCharacter { position: 19 + i, found: *c as char });
    }
    Ok((check_char(&b[..17]) == last, birth_date_of(&b[..17])?))
}

fn digits_only(b: &[u8], n: usize) -> Result<(), IdError> {
    match b[..n].iter().position(|c| !c.is_ascii_digit()) {
        Some(i) => Err(IdError::BadCharacter { position: i + 1, found: b[i] as char }),
        None => Ok(()),
    }
}

/// YYYYMMDD at positions 7–14, read digit by digit: with chrono's format parser, reading it for
/// every member's age was about 40% of a screening pass (perf, county).
fn birth_date_of(first17: &[u8]) -> Result<NaiveDate, IdError> {
    let text = &first17[6..14];
    let bad = || IdError::BadBirthDate(String::from_utf8_lossy(text).into_owned());
    let number =
        |digits: &[u8]| digits.iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')));
    let (Some(y), Some(m), Some(d)) = (number(&text[..4]), number(&text[4..6]), number(&text[6..])) else {
        return Err(bad());
    };
    match NaiveDate::from_ymd_opt(y as i32, m, d) {
        Some(date) if (1870..=2099).contains(&date.year()) => Ok(date),
        _ => Err(bad()),
    }
}

impl TryFrom<String> for NationalId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        NationalId::parse(&value)
    }
}

impl From<NationalId> for String {
    fn from(value: NationalId) -> Self {
        value.text
    }
}

impl std::fmt::Display for NationalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.text)
    }
}

/// Builds a valid 18-character ID from its parts (used by the synthetic data generator and tests).
pub fn make_id(address6: u32, birth: NaiveDate, sequence: u16) -> String {
    let mut s = format!("{:06}{}{:03}", address6 % 1_000_000, birth.format("%Y%m%d"), sequence % 1000);
    let c = check_char(s.as_bytes());
    s.push(c as char);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn set_is_parse_into_the_same_memory() {
        let mut id = NationalId::parse("11010519491231002X").unwrap();
        for raw in [
            "440524188001010014",
            "110105194912310021",
            "45020319900101001241",
            " 45020319900101001x ",
            "４５０２０３１９９００１０１００１２",
            "450203900101001",
            "45020319900101001",
            "450203199013010012",
            "4502031990010100A2",
            "",
        ] {
            let parsed = NationalId::parse(raw);
            let set = id.set(raw).map(|()| id.clone());
            assert_eq!(set, parsed, "{raw:?}");
        }
    }

    proptest! {
        #[test]
        fn set_agrees_with_parse_on_any_text(raw in "[0-9X ]{15,23}") {
            let mut id = NationalId::parse("11010519491231002X").unwrap();
            let set = id.set(&raw).map(|()| id.clone());
            prop_assert_eq!(set, NationalId::parse(&raw));
        }
    }

    #[test]
    fn known_vectors_are_valid() {
        for v in ["11010519491231002X", "440524188001010014", "370101190102039973"] {
            let id = NationalId::parse(v).unwrap();
            assert!(id.is_checksum_valid(), "{v}");
            assert_eq!(id.as_str(), v);
        }
    }

    #[test]
    fn wrong_check_character_is_kept_but_flagged() {
        let id = NationalId::parse("110105194912310021").unwrap();
        assert!(!id.is_checksum_valid());
        assert_eq!(id.expected_check_char(), 'X');
        assert!(matches!(
            NationalId::parse_strict("110105194912310021"),
            Err(StrictIdError::Checksum { expected: 'X' })
        ));
    }

    #[test]
    fn normalises_case_spaces_and_full_width() {
        let id = NationalId::parse(" 110105 19491231002x ").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        let id = NationalId::parse("１１０１０５１９４９１２３１００２Ｘ").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert!(id.is_checksum_valid());
    }

    #[test]
    fn upgrades_fifteen_digits() {
        // 15-digit form of 110105491231002 -> 11010519491231002X
        let id = NationalId::parse("110105491231002").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert!(id.is_checksum_valid());
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
    }

    #[test]
    fn disability_certificate_numbers() {
        let id = NationalId::parse("11010519491231002X42").unwrap();
        assert_eq!(id.id18(), "11010519491231002X");
        assert_eq!(id.disability_suffix(), Some("42"));
        assert!(id.is_checksum_valid());
        let id = NationalId::parse("11010519491231002X41B1").unwrap();
        assert_eq!(id.disability_suffix(), Some("41B1"));
        assert_eq!(id.key(), NationalId::parse("11010519491231002X").unwrap().key());
    }

    #[test]
    fn set_key_is_the_inverse_of_key() {
        let mut to = NationalId::parse("370101190102039973").unwrap();
        for text in [
            "11010519491231002X",
            "110105194912310021",
            "370101190102039973",
            "450203200002290012",
            "11010519491231002X42",
            "11010519491231002X41B1",
            "000000187001010000",
        ] {
            let id = NationalId::parse(text).unwrap();
            to.set_key(id.key(), id.disability_suffix().unwrap_or("")).unwrap();
            assert_eq!(to, id, "{text}");
            assert_eq!(to.is_checksum_valid(), id.is_checksum_valid(), "{text}");
        }
        let key = NationalId::parse("11010519491231002X").unwrap().key();
        assert!(matches!(to.set_key(u64::MAX, ""), Err(IdError::BadLength(_))), "more than 17 digits");
        assert!(matches!(to.set_key(key, "123"), Err(IdError::BadLength(21))));
        assert!(matches!(to.set_key(key, "4b"), Err(IdError::BadCharacter { position: 20, found: 'b' })));
        // 1949-02-30
        let bad = NationalId::parse("110105194902280021").unwrap().key() + 2_000 * 11;
        assert!(matches!(to.set_key(bad, ""), Err(IdError::BadBirthDate(t)) if t == "19490230"));
        // birth years outside 1870–2099 and 29 February of a common year
        for t in ["000000186912310000", "000000210001010000", "000000190002290000"] {
            let first: u64 = t[..17].parse().unwrap();
            assert!(matches!(to.set_key(first * 11, ""), Err(IdError::BadBirthDate(_))), "{t}");
        }
        assert_eq!(to, NationalId::parse("000000187001010000").unwrap(), "unchanged by a failure");
    }

    #[test]
    fn sex_and_birth_date() {
        let id = NationalId::parse("11010519491231002X").unwrap();
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        let id = NationalId::parse("370101190102039973").unwrap();
        assert_eq!(id.sex(), Sex::Male);
        assert_eq!(id.age_on(NaiveDate::from_ymd_opt(1911, 2, 2).unwrap()), 9);
        assert_eq!(id.age_on(NaiveDate::from_ymd_opt(1911, 2, 3).unwrap()), 10);
    }

    /// The digit reader accepts exactly the birth dates chrono's `%Y%m%d` did (within 1870–2099).
    #[test]
    fn birth_dates_read_as_chrono_read_them() {
        let chrono_reads =
            |s: &str| NaiveDate::parse_from_str(s, "%Y%m%d").ok().filter(|d| (1870..=2099).contains(&d.year()));
        let mut checked = 0;
        // leap years of each kind (1996, 2024; 2000; not 1900) and both ends of the accepted range
        for y in [0, 1, 999, 1869, 1870, 1899, 1900, 1949, 1996, 2000, 2023, 2024, 2099, 2100, 9999] {
            for m in 0..=13 {
                for d in 0..=32 {
                    let text = format!("110105{y:04}{m:02}{d:02}001");
                    let ours = birth_date_of(text.as_bytes()).ok();
                    assert_eq!(ours, chrono_reads(&text[6..14]), "{text}");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 15 * 14 * 33);
        assert!(birth_date_of(b"1101051949 231001").is_err());
    }

    #[test]
    fn malformed_numbers_are_errors() {
        assert_eq!(NationalId::parse(""), Err(IdError::Empty));
        assert_eq!(NationalId::parse("1234"), Err(IdError::BadLength(4)));
        assert!(matches!(NationalId::parse("1101051949123100AX"), Err(IdError::BadCharacter { position: 17, .. })));
        assert!(matches!(NationalId::parse("110105194902300012"), Err(IdError::BadBirthDate(_))));
        assert!(matches!(NationalId::parse("4.50203199001011E+17"), Err(IdError::StoredAsNumber(_))));
        assert!(matches!(NationalId::parse("11010519491231002张"), Err(IdError::BadCharacter { position: 18, .. })));
    }

    #[test]
    fn masking() {
        let id = NationalId::parse("11010519491231002X").unwrap();
        assert_eq!(id.masked(), "110105********002X");
        assert_eq!(mask_id_text("123"), "***");
    }

    fn any_valid_id() -> impl Strategy<Value = String> {
        (100_000u32..999_999, 0i64..(365 * 120), 0u16..1000).prop_map(|(a, days, seq)| {
            let birth = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Duration::days(days);
            make_id(a, birth, seq)
        })
    }

    proptest! {
        #[test]
        fn generated_ids_are_valid_and_round_trip(s in any_valid_id()) {
            let id = NationalId::parse(&s).unwrap();
            prop_assert!(id.is_checksum_valid());
            prop_assert_eq!(id.as_str(), s.as_str());
            prop_assert_eq!(NationalId::parse(&s.to_lowercase()).unwrap(), id.clone());
            prop_assert!(id.key() < i64::MAX as u64);
        }

        #[test]
        fn changing_one_digit_breaks_the_checksum(s in any_valid_id(), pos in 0usize..17, delta in 1u8..10) {
            let mut b = s.into_bytes();
            b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
            let t = String::from_utf8(b).unwrap();
            if let Ok(id) = NationalId::parse(&t) {
                prop_assert!(!id.is_checksum_valid());
            }
        }

        #[test]
        fn keys_are_injective(a in any_valid_id(), b in any_valid_id()) {
            let (ia, ib) = (NationalId::parse(&a).unwrap(), NationalId::parse(&b).unwrap());
            prop_assert_eq!(ia.key() == ib.key(), a == b);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,30}") {
            let _ = NationalId::parse(&s);
        }
    }
}
