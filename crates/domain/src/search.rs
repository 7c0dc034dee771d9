//! Search: by name (Chinese or pinyin, every reading of polyphonic characters, with a surname
//! table), by ID number, by 户编号.

use pinyin::ToPinyinMulti;

use crate::national_id::NationalId;

/// Surnames whose reading differs from the character's common reading (STACK.md).
const SURNAME_READINGS: &[(char, &str)] = &[
    ('单', "shan"),
    ('曾', "zeng"),
    ('仇', "qiu"),
    ('解', "xie"),
    ('查', "zha"),
    ('区', "ou"),
    ('朴', "piao"),
    ('盖', "ge"),
    ('尉', "yu"),
    ('乐', "yue"),
    ('繁', "po"),
    ('种', "chong"),
    ('覃', "qin"),
    ('蒙', "meng"),
    ('韦', "wei"),
];

const MAX_VARIANTS: usize = 16;

/// The search keys of a name: "|zhangsan|zs|" — full pinyin and initials for every combination
/// of readings (capped), each between '|' so that a query can match from the start of a key.
pub fn pinyin_keys(name: &str) -> String {
    let mut combos: Vec<(String, String)> = vec![(String::new(), String::new())];
    for (i, c) in name.chars().enumerate() {
        let mut readings: Vec<String> = Vec::new();
        if i == 0
            && let Some((_, r)) = SURNAME_READINGS.iter().find(|(s, _)| *s == c)
        {
            readings.push((*r).to_string());
        }
        if let Some(multi) = c.to_pinyin_multi() {
            for p in multi {
                let r = p.plain().to_string();
                if !readings.contains(&r) {
                    readings.push(r);
                }
            }
        } else if c.is_ascii_alphabetic() {
            readings.push(c.to_ascii_lowercase().to_string());
        } else {
            continue;
        }
        let mut next = Vec::new();
        for (full, initials) in &combos {
            for r in &readings {
                if next.len() >= MAX_VARIANTS {
                    break;
                }
                let first = r.chars().next().map(String::from).unwrap_or_default();
                next.push((format!("{full}{r}"), format!("{initials}{first}")));
            }
        }
        combos = next;
    }
    let mut keys: Vec<String> = Vec::new();
    for (full, initials) in combos {
        for k in [full, initials] {
            if !k.is_empty() && !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    if keys.is_empty() { String::new() } else { format!("|{}|", keys.join("|")) }
}

/// What a search box text means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchQuery {
    None,
    /// A complete ID number: exact match on the integer key.
    NationalId(u64),
    /// Digits (and X): a 户编号 or the beginning of an ID number.
    Digits(String),
    /// Latin letters: pinyin of a name, full or initials.
    Pinyin(String),
    /// Anything else: part of a name.
    Name(String),
}

impl SearchQuery {
    pub fn parse(text: &str) -> SearchQuery {
        let t = crate::text::compact(text);
        if t.is_empty() {
            return SearchQuery::None;
        }
        let upper = t.to_uppercase();
        if (upper.len() == 15 || upper.len() == 18)
            && let Ok(id) = NationalId::parse(&upper)
        {
            return SearchQuery::NationalId(id.key());
        }
        if upper.bytes().all(|b| b.is_ascii_digit() || b == b'X' || b == b'-') {
            return SearchQuery::Digits(upper);
        }
        if t.bytes().all(|b| b.is_ascii_alphabetic()) {
            return SearchQuery::Pinyin(t.to_ascii_lowercase());
        }
        SearchQuery::Name(t.chars().take(50).collect())
    }

    pub fn is_none(&self) -> bool {
        matches!(self, SearchQuery::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cover_readings_and_initials() {
        let k = pinyin_keys("张三");
        assert!(k.contains("|zhangsan|"), "{k}");
        assert!(k.contains("|zs|"), "{k}");
        // surname table: 曾 read zeng as a surname
        let k = pinyin_keys("曾小明");
        assert!(k.contains("|zengxiaoming|"), "{k}");
        // 单 as a surname is shan; its other readings are indexed too
        let k = pinyin_keys("单丽");
        assert!(k.contains("|shanli|"), "{k}");
        assert!(k.contains("|danli|"), "{k}");
        assert_eq!(pinyin_keys(""), "");
    }

    #[test]
    fn query_kinds() {
        assert_eq!(SearchQuery::parse("  "), SearchQuery::None);
        assert!(matches!(SearchQuery::parse("11010519491231002x"), SearchQuery::NationalId(_)));
        assert_eq!(SearchQuery::parse("450203"), SearchQuery::Digits("450203".into()));
        assert_eq!(SearchQuery::parse("ZhangS"), SearchQuery::Pinyin("zhangs".into()));
        assert_eq!(SearchQuery::parse("张 三"), SearchQuery::Name("张三".into()));
    }
}
