//! Small text helpers shared by imports and forms: full-width folding, Chinese numerals, yes/no
//! and date cells as people write them.

use chrono::NaiveDate;

/// Full-width ASCII (０-９, Ｘ, ｘ, full-width space…) to half-width.
pub fn fold_fullwidth(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// Trims, folds full-width characters and drops every whitespace (including non-breaking spaces).
pub fn compact(text: &str) -> String {
    text.chars().map(fold_fullwidth).filter(|c| !c.is_whitespace()).collect()
}

/// Parses a Chinese numeral below 1000 ("三", "十二", "二十一", "一百零五").
pub fn parse_chinese_number(text: &str) -> Option<u32> {
    if text.is_empty() {
        return None;
    }
    let digit = |c: char| -> Option<u32> {
        Some(match c {
            '零' | '〇' => 0,
            '一' => 1,
            '二' | '两' => 2,
            '三' => 3,
            '四' => 4,
            '五' => 5,
            '六' => 6,
            '七' => 7,
            '八' => 8,
            '九' => 9,
            _ => return None,
        })
    };
    let mut total = 0u32;
    let mut current: Option<u32> = None;
    for c in text.chars() {
        match c {
            '十' => {
                total += current.unwrap_or(1) * 10;
                current = None;
            }
            '百' => {
                total += current.unwrap_or(1) * 100;
                current = None;
            }
            _ => {
                let d = digit(c)?;
                if d != 0 {
                    current = Some(d);
                }
            }
        }
    }
    Some(total + current.unwrap_or(0))
}

/// 是/否 cells: 是, 否, Y, N, 1, 0, true, false, √, ×.
pub fn parse_yes_no(text: &str) -> Option<bool> {
    match compact(text).to_lowercase().as_str() {
        "是" | "有" | "y" | "yes" | "1" | "true" | "√" | "达标" | "基本达标" | "安全" => Some(true),
        "否" | "无" | "n" | "no" | "0" | "false" | "×" | "不达标" | "不安全" => Some(false),
        _ => None,
    }
}

pub fn yes_no(v: bool) -> &'static str {
    if v { "是" } else { "否" }
}

/// The water indicators' 达标 / 不达标.
pub fn pass_fail(v: bool) -> &'static str {
    if v { "达标" } else { "不达标" }
}

/// Dates as people type them: 2022-03-28, 2022/3/28, 2022.3.28, 20220328, 2022年3月28日, and a
/// trailing time ("2022-03-28 00:00:00") as spreadsheets write it.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = compact(text);
    let t = t.split(['T']).next().unwrap_or("");
    let t = if t.len() > 10 && t.contains(':') { &t[..t.len().min(10)] } else { t };
    if t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(t, "%Y%m%d").ok();
    }
    let normalised: String =
        t.trim_end_matches('日').chars().map(|c| if matches!(c, '/' | '.' | '年' | '月') { '-' } else { c }).collect();
    let mut parts = normalised.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerals() {
        assert_eq!(parse_chinese_number("三"), Some(3));
        assert_eq!(parse_chinese_number("十"), Some(10));
        assert_eq!(parse_chinese_number("十二"), Some(12));
        assert_eq!(parse_chinese_number("二十一"), Some(21));
        assert_eq!(parse_chinese_number("一百零五"), Some(105));
        assert_eq!(parse_chinese_number("东"), None);
    }

    #[test]
    fn dates() {
        let d = NaiveDate::from_ymd_opt(2022, 3, 28).unwrap();
        for s in [
            "2022-03-28",
            "2022/3/28",
            "2022.3.28",
            "20220328",
            "2022年3月28日",
            "2022-03-28 00:00:00",
            " ２０２２-03-28 ",
        ] {
            assert_eq!(parse_date(s), Some(d), "{s}");
        }
        assert_eq!(parse_date("2022-02-30"), None);
        assert_eq!(parse_date("22-3-28"), None);
        assert_eq!(parse_date("明天"), None);
    }

    #[test]
    fn yes_no_cells() {
        assert_eq!(parse_yes_no("是"), Some(true));
        assert_eq!(parse_yes_no(" 否 "), Some(false));
        assert_eq!(parse_yes_no("Y"), Some(true));
        assert_eq!(parse_yes_no("也许"), None);
    }
}
