//! Backend-independent SQL pieces: typed arguments, the column lists and row values of each
//! table (shared by INSERT, UPDATE and PostgreSQL COPY), and the household list's WHERE clause.

use chrono::{DateTime, NaiveDate, Utc};
use domain::account::{Permission, Scope};
use domain::codes::CodeEnum;
use domain::household::Household;
use domain::income::IncomeRecord;
use domain::member::Member;
use domain::ports::{Cursor, HouseholdFilter};
use domain::region::RegionCode;
use domain::search::SearchQuery;

/// A bound value. Options bind as typed NULLs, which PostgreSQL needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    I64(Option<i64>),
    I32(Option<i32>),
    I16(Option<i16>),
    Text(Option<String>),
    Bool(Option<bool>),
    Date(Option<NaiveDate>),
    Ts(Option<DateTime<Utc>>),
}

impl Arg {
    /// PostgreSQL COPY text format.
    pub fn copy_text(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Arg::I64(Some(v)) => {
                let _ = write!(out, "{v}");
            }
            Arg::I32(Some(v)) => {
                let _ = write!(out, "{v}");
            }
            Arg::I16(Some(v)) => {
                let _ = write!(out, "{v}");
            }
            Arg::Bool(Some(v)) => out.push(if *v { 't' } else { 'f' }),
            Arg::Date(Some(d)) => {
                let _ = write!(out, "{d}");
            }
            // microseconds, cut like a bound value (PostgreSQL would round nanoseconds)
            Arg::Ts(Some(t)) => out.push_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
            Arg::Text(Some(s)) => {
                for c in s.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\t' => out.push_str("\\t"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        _ => out.push(c),
                    }
                }
            }
            _ => out.push_str("\\N"),
        }
    }
}

fn code<T: CodeEnum>(v: Option<T>) -> Arg {
    Arg::I16(v.map(|c| c.code()))
}

/// Household columns written on insert and update, in this order (`household_args`).
pub const HOUSEHOLD_COLS: &[&str] = &[
    "household_no",
    "village_code",
    "group_no",
    "address",
    "phone",
    "kind",
    "exit_year",
    "monitoring_status",
    "monitoring_category",
    "monitored_since",
    "elimination_mode",
    "eliminated_on",
    "risks",
    "disaster_kind",
    "housing_grade",
    "water_safe",
    "water_quantity_ok",
    "water_quality_ok",
    "water_convenience_ok",
    "water_reliability_ok",
    "food_clothing_secure",
    "food_clothing_note",
    "military_family",
    "no_labour_safety_net",
    "relocated",
    "officer_name",
    "officer_unit",
    "officer_phone",
    "declared_size",
];

pub fn household_args(h: &Household) -> Vec<Arg> {
    use domain::household::Monitoring::*;
    let (status, category, since, mode, on) = match h.monitoring {
        Never => (0i16, None, None, None, None),
        Monitored { category, since } => (1, Some(category), Some(since), None, None),
        Eliminated { category, since, mode, on } => (2, Some(category), Some(since), Some(mode), Some(on)),
    };
    vec![
        Arg::Text(Some(h.household_no.to_string())),
        Arg::I64(Some(h.village.as_i64())),
        Arg::I32(Some(i32::from(h.group_no))),
        Arg::Text(Some(h.address.clone())),
        Arg::Text(h.phone.as_ref().map(|p| p.to_string())),
        Arg::I16(Some(h.kind.code())),
        Arg::I32(h.exit_year),
        Arg::I16(Some(status)),
        code(category),
        Arg::Date(since),
        code(mode),
        Arg::Date(on),
        Arg::Text(Some(h.encode_risks())),
        code(h.disaster_kind),
        code(h.housing_grade),
        Arg::Bool(h.water.safe),
        Arg::Bool(h.water.quantity_ok),
        Arg::Bool(h.water.quality_ok),
        Arg::Bool(h.water.convenience_ok),
        Arg::Bool(h.water.reliability_ok),
        Arg::Bool(h.food_clothing_secure),
        Arg::Text(Some(h.food_clothing_note.clone())),
        Arg::Bool(Some(h.military_family)),
        Arg::Bool(Some(h.no_labour_safety_net)),
        Arg::Bool(Some(h.relocated)),
        Arg::Text(h.officer.as_ref().map(|o| o.name.to_string())),
        Arg::Text(h.officer.as_ref().map(|o| o.unit.clone())),
        Arg::Text(h.officer.as_ref().and_then(|o| o.phone.as_ref()).map(|p| p.to_string())),
        Arg::I32(h.declared_size.map(i32::from)),
    ]
}

/// Member columns after `id, household_id, village_code, seq` (`member_args`).
pub const MEMBER_COLS: &[&str] = &[
    "name",
    "name_pinyin",
    "id_number",
    "id_key",
    "id_valid",
    "relation",
    "sex",
    "ethnicity",
    "political_status",
    "education",
    "school_status",
    "dropout_reason",
    "health",
    "disability_class",
    "labour_skill",
    "work_months",
    "work_place",
    "resident_medical",
    "employee_medical",
    "resident_pension",
    "employee_pension",
    "dibao",
    "tekun",
];

pub fn member_args(m: &Member) -> Vec<Arg> {
    vec![
        Arg::Text(Some(m.name.to_string())),
        Arg::Text(Some(domain::search::pinyin_keys(m.name.as_str()))),
        Arg::Text(Some(m.national_id.to_string())),
        Arg::I64(Some(m.national_id.key() as i64)),
        Arg::Bool(Some(m.national_id.is_checksum_valid())),
        Arg::I16(Some(m.relation.code())),
        Arg::I16(Some(m.sex.code())),
        Arg::Text(Some(m.ethnicity.to_string())),
        code(m.political_status),
        code(m.education),
        code(m.school_status),
        Arg::Text(Some(m.dropout_reason.clone())),
        Arg::I16(Some(m.health.bits())),
        code(m.disability_class),
        Arg::I16(Some(m.labour_skill.code())),
        Arg::I16(m.work_months.map(i16::from)),
        Arg::Text(Some(m.work_place.clone())),
        Arg::Bool(Some(m.resident_medical)),
        Arg::Bool(Some(m.employee_medical)),
        Arg::Bool(m.resident_pension),
        Arg::Bool(m.employee_pension),
        Arg::Bool(Some(m.dibao)),
        Arg::Bool(Some(m.tekun)),
    ]
}

pub const INCOME_COLS: &[&str] = &[
    "household_id",
    "year",
    "wage",
    "business",
    "property",
    "transfer",
    "business_cost",
    "out_of_pocket",
    "insurance_payout",
];

pub fn income_args(household_id: i64, r: &IncomeRecord) -> Vec<Arg> {
    vec![
        Arg::I64(Some(household_id)),
        Arg::I32(Some(r.year)),
        Arg::I64(Some(r.wage.0)),
        Arg::I64(Some(r.business.0)),
        Arg::I64(Some(r.property.0)),
        Arg::I64(Some(r.transfer.0)),
        Arg::I64(Some(r.business_cost.0)),
        Arg::I64(Some(r.out_of_pocket.0)),
        Arg::I64(Some(r.insurance_payout.0)),
    ]
}

/// "($1, $2, …), ($n+1, …)" for `rows` rows of `cols` columns, numbering from `start` + 1.
pub fn values_placeholders(rows: usize, cols: usize, start: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            s.push('$');
            s.push_str(&(start + r * cols + c + 1).to_string());
        }
        s.push(')');
    }
    s
}

/// "$k, $k+1, …" for an IN list.
pub fn list_placeholders(n: usize, start: usize) -> String {
    (0..n).map(|i| format!("${}", start + i + 1)).collect::<Vec<_>>().join(",")
}

/// Adds one argument and returns its placeholder.
pub fn push(args: &mut Vec<Arg>, a: Arg) -> String {
    args.push(a);
    format!("${}", args.len())
}

/// Escapes LIKE wildcards in user text (used with `ESCAPE '\'`).
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// The smallest string greater than every string starting with `s` (for prefix ranges that
/// use the index on both backends).
fn prefix_end(s: &str) -> String {
    let mut b = s.as_bytes().to_vec();
    while let Some(last) = b.pop() {
        if last < 0x7f {
            b.push(last + 1);
            return String::from_utf8(b).unwrap_or_default();
        }
    }
    "\u{7f}".to_string()
}

/// The cursor a keyset page seeks to: none when it lies before the scope's or the region's first
/// village (see [`household_where_from`]).
pub fn seek_after(after: Option<&Cursor>, scope_lo: i64, region: Option<RegionCode>) -> Option<&Cursor> {
    let lo = region.map_or(scope_lo, |r| scope_lo.max(r.subtree().0 as i64));
    after.filter(|c| c.village >= lo)
}

/// `{t}.village_code` between `lo` and `hi`; for a page after a cursor, written so that SQLite
/// does not start its index scan at `lo` (see [`household_where_from`]).
pub fn village_range(t: &str, seek: bool, lo: i64, hi: i64, args: &mut Vec<Arg>) -> String {
    let (lo, hi) = (push(args, Arg::I64(Some(lo))), push(args, Arg::I64(Some(hi))));
    if seek {
        format!("+{t}.village_code >= {lo} AND {t}.village_code <= {hi}")
    } else {
        format!("{t}.village_code BETWEEN {lo} AND {hi}")
    }
}

/// The WHERE clause of the household list: the scope first (the one place every household
/// read is limited to the caller's region subtree), then the filters.
pub fn household_where(scope: &Scope, filter: &HouseholdFilter, args: &mut Vec<Arg>) -> String {
    household_where_from(scope, filter, None, args)
}

/// [`household_where`] for the page after `after` in list order (village, group, 户编号).
///
/// With a cursor the region ranges' lower bounds are written `+h.village_code >= lo`: still
/// checked, but not a range SQLite may start the index scan from. Given `village_code BETWEEN`, it
/// started every page at the beginning of the range and filtered up to the cursor — each page cost
/// all the pages before it (an export or a screening of 250,000 households spent 9 s of its reads
/// there). The cursor's row value then gives the start, the upper bounds the end. A cursor before
/// the ranges (a client's made-up `after=`) is ignored: every row in them comes after it, and
/// seeking to it would scan the rows outside the caller's scope.
pub fn household_where_from(
    scope: &Scope,
    filter: &HouseholdFilter,
    after: Option<&Cursor>,
    args: &mut Vec<Arg>,
) -> String {
    let (lo, hi) = scope.range();
    let after = seek_after(after, lo, filter.region);
    let mut w = village_range("h", after.is_some(), lo, hi, args);
    if let Some(r) = filter.region {
        let (rlo, rhi) = r.subtree();
        w.push_str(" AND ");
        w.push_str(&village_range("h", after.is_some(), rlo as i64, rhi as i64, args));
    }
    if let Some(g) = filter.group_no {
        w.push_str(&format!(" AND h.group_no = {}", push(args, Arg::I32(Some(i32::from(g))))));
    }
    if let Some(k) = filter.kind {
        w.push_str(&format!(" AND h.kind = {}", push(args, Arg::I16(Some(k.code())))));
    }
    if let Some(s) = filter.status {
        // the code written out (an enum's, not user text): the partial index of monitored
        // households (migration 0016) serves `= 1` only when the planner sees the value
        w.push_str(&format!(" AND h.monitoring_status = {}", s.code()));
    }
    if let Some(c) = filter.category {
        w.push_str(&format!(" AND h.monitoring_category = {}", push(args, Arg::I16(Some(c.code())))));
    }
    if filter.ever_monitored {
        w.push_str(" AND h.monitoring_status <> 0");
    }
    if let Some(t) = filter.changed_since {
        let t1 = push(args, Arg::Ts(Some(t)));
        let t2 = push(args, Arg::Ts(Some(t)));
        let t3 = push(args, Arg::Ts(Some(t)));
        w.push_str(&format!(
            " AND (h.updated_at >= {t1}
                   OR EXISTS (SELECT 1 FROM officer_assignments o WHERE o.household_id = h.id AND o.assigned_at >= {t2})
                   OR EXISTS (SELECT 1 FROM measures m WHERE m.household_id = h.id AND m.updated_at >= {t3}))"
        ));
    }
    // member searches stay inside the scope's village range too
    let member_scope = |args: &mut Vec<Arg>| {
        format!("village_code BETWEEN {} AND {}", push(args, Arg::I64(Some(lo))), push(args, Arg::I64(Some(hi))))
    };
    match &filter.query {
        None | Some(SearchQuery::None) => {}
        Some(SearchQuery::NationalId(key)) => {
            let ms = member_scope(args);
            w.push_str(&format!(
                " AND h.id IN (SELECT household_id FROM members WHERE {ms} AND id_key = {})",
                push(args, Arg::I64(Some(*key as i64)))
            ));
        }
        Some(SearchQuery::Digits(d)) => {
            let (a, b) = (push(args, Arg::Text(Some(d.clone()))), push(args, Arg::Text(Some(prefix_end(d)))));
            if scope.allows(Permission::ViewSensitive) {
                let ms = member_scope(args);
                w.push_str(&format!(
                    " AND ((h.household_no >= {a} AND h.household_no < {b}) OR h.id IN (SELECT household_id FROM members WHERE {ms} AND id_number >= {a} AND id_number < {b}))"
                ));
            } else {
                // the beginning of an ID number would let a role that sees masked IDs probe the
                // hidden digits one at a time: 户编号 only (a complete ID still finds its household)
                w.push_str(&format!(" AND h.household_no >= {a} AND h.household_no < {b}"));
            }
        }
        Some(SearchQuery::Pinyin(p)) => {
            let ms = member_scope(args);
            w.push_str(&format!(
                " AND h.id IN (SELECT household_id FROM members WHERE {ms} AND name_pinyin LIKE {} ESCAPE '\\')",
                push(args, Arg::Text(Some(format!("%|{}%", like_escape(p)))))
            ));
        }
        Some(SearchQuery::Name(n)) => {
            let ms = member_scope(args);
            w.push_str(&format!(
                " AND h.id IN (SELECT household_id FROM members WHERE {ms} AND name LIKE {} ESCAPE '\\')",
                push(args, Arg::Text(Some(format!("%{}%", like_escape(n)))))
            ));
        }
    }
    if let Some(c) = after {
        w.push_str(&after_cursor("h", c, args));
    }
    w
}

/// Keyset condition after `cursor` in list order (village, group, 户编号) on table alias `t`.
pub fn after_cursor(t: &str, cursor: &Cursor, args: &mut Vec<Arg>) -> String {
    format!(
        " AND ({t}.village_code, {t}.group_no, {t}.household_no) > ({}, {}, {})",
        push(args, Arg::I64(Some(cursor.village))),
        push(args, Arg::I32(Some(cursor.group_no))),
        push(args, Arg::Text(Some(cursor.household_no.clone())))
    )
}

/// DOMAIN D13 (`domain::campaign::form_for`) as SQL over `households h`, for creating a
/// campaign's tasks in one statement. Built from the same codes; a conformance test checks that
/// every stored form equals `form_for` of its household.
pub fn form_case() -> String {
    use domain::campaign::FormKind;
    use domain::codes::HouseholdKind;
    use domain::household::MonitoringStatus;
    format!(
        "CASE WHEN h.monitoring_status <> {never} THEN {monitored} WHEN h.kind = {exited_kind} THEN {exited} ELSE {ordinary} END",
        never = MonitoringStatus::Never.code(),
        monitored = FormKind::Monitored.code(),
        exited_kind = HouseholdKind::PovertyExited.code(),
        exited = FormKind::Exited.code(),
        ordinary = FormKind::Ordinary.code(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        assert_eq!(values_placeholders(2, 3, 0), "($1,$2,$3),($4,$5,$6)");
        assert_eq!(values_placeholders(1, 2, 4), "($5,$6)");
        assert_eq!(list_placeholders(3, 2), "$3,$4,$5");
    }

    #[test]
    fn prefix_ranges() {
        assert_eq!(prefix_end("4502"), "4503");
        assert_eq!(prefix_end("45X"), "45Y");
        assert_eq!(like_escape("a%b_c"), "a\\%b\\_c");
    }

    #[test]
    fn copy_text_escapes() {
        let mut s = String::new();
        Arg::Text(Some("a\tb\\c\nd".into())).copy_text(&mut s);
        assert_eq!(s, "a\\tb\\\\c\\nd");
        s.clear();
        Arg::Bool(None).copy_text(&mut s);
        assert_eq!(s, "\\N");
    }

    #[test]
    fn scope_comes_first() {
        let mut args = Vec::new();
        let w = household_where(&Scope::system(), &HouseholdFilter::default(), &mut args);
        assert!(w.starts_with("h.village_code BETWEEN $1 AND $2"));
        assert_eq!(args.len(), 2);
    }

    /// After a cursor the scope is still checked first, but the scan starts at the cursor.
    #[test]
    fn a_page_after_a_cursor_seeks_to_it() {
        let mut args = Vec::new();
        let cursor = Cursor { village: 450203100201, group_no: 3, household_no: "4502031002010007".into() };
        let w = household_where_from(&Scope::system(), &HouseholdFilter::default(), Some(&cursor), &mut args);
        assert!(w.starts_with("+h.village_code >= $1 AND h.village_code <= $2"), "{w}");
        assert!(w.ends_with(" AND (h.village_code, h.group_no, h.household_no) > ($3, $4, $5)"), "{w}");
        assert!(!w.contains("BETWEEN"), "{w}");
    }
}
