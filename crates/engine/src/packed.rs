//! A household as a few hundred bytes: how the snapshot keeps the registry resident at province
//! scale (issue 6: ≤ 4 GB for 10 M households, where owned [`HouseholdDetail`]s took 2.2–2.4 KB
//! each).
//!
//! The format is private to one process (nothing is written to disk): integers as LEB128 varints
//! (signed ones zigzagged), codes by their storage code, dates as days, texts as length and UTF-8,
//! an 18-character ID as its integer key ([`NationalId::key`]). [`unpack`] gives back a household
//! equal to the one packed — [`pack`] checks that, so a value the format could not carry is
//! refused when stored, never changed silently — and the rules then run on it as on any other
//! ([`domain::rules::evaluate`]: no second implementation).
//!
//! `unpack` does not check again what a name, a phone or a household number was checked for when
//! it was made (their `set_trusted`): what keeps them valid is their types (private fields, every
//! other constructor through `parse`), so the household packed held valid values, and `pack`'s
//! read-back proves the bytes carry them unchanged. (The read-back no longer checks validity itself.) Checking them at every unpack cost
//! more instructions than the rules' use of them (callgrind, a pass over the town).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use domain::codes::{CodeEnum, Ethnicity, Health};
use domain::household::{DrinkingWater, Household, HouseholdNo, Monitoring, OfficerContact, PersonName, Phone};
use domain::national_id::NationalId;
use domain::ports::{HouseholdDetail, HouseholdRecord, MemberRecord};
use domain::{Fen, HouseholdId, IncomeRecord, Member, MemberId, RegionCode};

/// Why packed bytes could not be read back, or a household could not be packed faithfully.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("household #{household}: {what}")]
pub struct PackError {
    pub household: i64,
    pub what: String,
}

/// Packs `d`, checking that it unpacks to an equal household.
pub fn pack(d: &HouseholdDetail) -> Result<Box<[u8]>, PackError> {
    let mut w = W::default();
    write_detail(&mut w, d);
    // the texts' length, the texts, then the rest
    let mut bytes = W::default();
    u(&mut bytes, w.t.len() as u64);
    bytes.b.extend_from_slice(w.t.as_bytes());
    bytes.b.extend_from_slice(&w.b);
    let w = bytes.b;
    let back = unpack(&w)?;
    if back != *d {
        return Err(PackError {
            household: d.record.id.0,
            what: "a value the packed form cannot carry (it would read back changed)".into(),
        });
    }
    Ok(w.into_boxed_slice())
}

/// The household packed in `bytes` by [`pack`].
pub fn unpack(bytes: &[u8]) -> Result<HouseholdDetail, PackError> {
    let mut s = Scratch::default();
    unpack_into(bytes, &mut s)?;
    Ok(s.detail)
}

/// Unpacks into `s.detail`, reusing its memory. On an error, `s.detail` is left half written.
pub fn unpack_into(bytes: &[u8], s: &mut Scratch) -> Result<(), PackError> {
    let mut r = Reader { b: bytes, at: 0, t: "", t_at: 0, household: 0 };
    r.texts().map_err(|what| PackError { household: 0, what: what.into() })?;
    read_detail(&mut r, s).map_err(|what| PackError { household: r.household, what: what.into() })?;
    if r.at != bytes.len() || r.t_at != r.t.len() {
        return Err(PackError { household: r.household, what: "bytes left over".into() });
    }
    Ok(())
}

// ------------------------------------------------------------------ writing

/// A household being packed: its numbers and codes, and apart from them its texts, which are
/// stored together so that unpacking checks their UTF-8 once, not text by text.
#[derive(Default)]
struct W {
    b: Vec<u8>,
    t: String,
}

fn u(w: &mut W, mut v: u64) {
    while v >= 0x80 {
        w.b.push(v as u8 | 0x80);
        v >>= 7;
    }
    w.b.push(v as u8);
}

fn zig(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzig(v: u64) -> i64 {
    (v >> 1) as i64 ^ -((v & 1) as i64)
}

fn i(w: &mut W, v: i64) {
    u(w, zig(v));
}

fn s(w: &mut W, v: &str) {
    u(w, v.len() as u64);
    w.t.push_str(v);
}

/// `None` as 0, `Some(v)` as zigzag(v) + 1.
fn oi(w: &mut W, v: Option<i64>) {
    match v {
        None => u(w, 0),
        // i64::MIN would wrap to `None`: `pack`'s check refuses it
        Some(v) => u(w, zig(v).wrapping_add(1)),
    }
}

fn os(w: &mut W, v: Option<&str>) {
    match v {
        None => w.b.push(0),
        Some(v) => {
            w.b.push(1);
            s(w, v);
        }
    }
}

fn code<T: CodeEnum>(w: &mut W, v: T) {
    i(w, i64::from(v.code()));
}

fn ocode<T: CodeEnum>(w: &mut W, v: Option<T>) {
    oi(w, v.map(|c| i64::from(c.code())));
}

fn date(w: &mut W, d: NaiveDate) {
    i(w, i64::from(d.num_days_from_ce()));
}

fn moment(w: &mut W, t: DateTime<Utc>) {
    i(w, t.timestamp());
    u(w, u64::from(t.timestamp_subsec_nanos()));
}

/// `None`, `Some(false)`, `Some(true)` as 0, 1, 2 in two bits at `shift`.
fn tri(v: Option<bool>, shift: u32) -> u64 {
    (match v {
        None => 0u64,
        Some(false) => 1,
        Some(true) => 2,
    }) << shift
}

fn write_detail(w: &mut W, d: &HouseholdDetail) {
    let r = &d.record;
    i(w, r.id.0);
    i(w, r.version);
    oi(w, r.import_id);
    moment(w, r.created_at);
    moment(w, r.updated_at);
    write_household(w, &r.household);
    u(w, d.members.len() as u64);
    for m in &d.members {
        write_member(w, m);
    }
    u(w, d.incomes.len() as u64);
    for x in &d.incomes {
        i(w, i64::from(x.year));
        for f in x.amounts() {
            i(w, f.0);
        }
    }
}

fn write_household(w: &mut W, h: &Household) {
    s(w, h.household_no.as_str());
    i(w, h.village.as_i64());
    u(w, u64::from(h.group_no));
    s(w, &h.address);
    os(w, h.phone.as_ref().map(Phone::as_str));
    code(w, h.kind);
    oi(w, h.exit_year.map(i64::from));
    match h.monitoring {
        Monitoring::Never => w.b.push(0),
        Monitoring::Monitored { category, since } => {
            w.b.push(1);
            code(w, category);
            date(w, since);
        }
        Monitoring::Eliminated { category, since, mode, on } => {
            w.b.push(2);
            code(w, category);
            date(w, since);
            code(w, mode);
            date(w, on);
        }
    }
    u(w, h.risks.len() as u64);
    for r in &h.risks {
        code(w, *r);
    }
    ocode(w, h.disaster_kind);
    ocode(w, h.housing_grade);
    let wa = &h.water;
    u(
        w,
        tri(wa.safe, 0)
            | tri(wa.quantity_ok, 2)
            | tri(wa.quality_ok, 4)
            | tri(wa.convenience_ok, 6)
            | tri(wa.reliability_ok, 8)
            | tri(h.food_clothing_secure, 10)
            | u64::from(h.military_family) << 12
            | u64::from(h.no_labour_safety_net) << 13
            | u64::from(h.relocated) << 14,
    );
    s(w, &h.food_clothing_note);
    match &h.officer {
        None => w.b.push(0),
        Some(o) => {
            w.b.push(1);
            s(w, o.name.as_str());
            s(w, &o.unit);
            os(w, o.phone.as_ref().map(Phone::as_str));
        }
    }
    oi(w, h.declared_size.map(i64::from));
}

/// A member's numbers and codes in a block of fixed width ([`MEMBER_BLOCK`] bytes), read with
/// one bounds check: members are most of a household, and a varint per field made unpacking
/// cost more than screening.
const MEMBER_BLOCK: usize = 24;

/// A storage code as one byte. Every code is below 100; a code beyond 254 (or an optional one
/// beyond 253) would read back as another value or an error, which `pack`'s check refuses.
fn byte_of(code: i16) -> u8 {
    u8::try_from(code).unwrap_or(u8::MAX)
}

/// `None` as 0, `Some(code)` as code + 1.
fn opt_byte_of(code: Option<i16>) -> u8 {
    code.map_or(0, |c| u8::try_from(c).ok().and_then(|c| c.checked_add(1)).unwrap_or(u8::MAX))
}

fn write_member(w: &mut W, r: &MemberRecord) {
    let m = &r.member;
    i(w, r.id.0);
    let mut block = [0u8; MEMBER_BLOCK];
    // an ID of 18 characters as its key; a 残疾人证号's suffix as text after the block
    block[..8].copy_from_slice(&m.national_id.key().to_le_bytes());
    block[8..12].copy_from_slice(&r.seq.to_le_bytes());
    block[12] = byte_of(m.relation.code());
    block[13] = byte_of(m.sex.code());
    block[14] = u8::try_from(m.ethnicity.index()).unwrap_or(u8::MAX);
    block[15] = opt_byte_of(m.political_status.map(|c| c.code()));
    block[16] = opt_byte_of(m.education.map(|c| c.code()));
    block[17] = opt_byte_of(m.school_status.map(|c| c.code()));
    block[18] = byte_of(m.health.bits());
    block[19] = opt_byte_of(m.disability_class.map(|c| c.code()));
    block[20] = byte_of(m.labour_skill.code());
    // any u8, with its presence in byte 23 (0–12 in practice; the store does not bound it)
    block[21] = m.work_months.unwrap_or(0);
    block[23] = u8::from(m.work_months.is_some());
    block[22] = u8::from(m.resident_medical)
        | u8::from(m.employee_medical) << 1
        | (tri(m.resident_pension, 2) | tri(m.employee_pension, 4)) as u8
        | u8::from(m.dibao) << 6
        | u8::from(m.tekun) << 7;
    w.b.extend_from_slice(&block);
    s(w, m.name.as_str());
    s(w, m.national_id.as_str().get(18..).unwrap_or(""));
    s(w, &m.dropout_reason);
    s(w, &m.work_place);
}

// ------------------------------------------------------------------ reading

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
    /// The household's texts, one after another, and where the next begins.
    t: &'a str,
    t_at: usize,
    /// The household being read, for messages.
    household: i64,
}

/// What went wrong, for [`PackError`]: a static text, so that a `Result` stays two words wide on
/// the hot path.
type Read<T> = Result<T, &'static str>;

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Read<u8> {
        let v = *self.b.get(self.at).ok_or("cut short")?;
        self.at += 1;
        Ok(v)
    }

    fn block(&mut self) -> Read<&'a [u8; MEMBER_BLOCK]> {
        let end = self.at + MEMBER_BLOCK;
        let b = self.b.get(self.at..end).and_then(|b| b.try_into().ok()).ok_or("cut short")?;
        self.at = end;
        Ok(b)
    }

    fn u(&mut self) -> Read<u64> {
        // most numbers here (codes, lengths, flags) take one byte
        let first = self.byte()?;
        if first < 0x80 {
            return Ok(u64::from(first));
        }
        let mut v = u64::from(first & 0x7f);
        let mut shift = 7;
        while shift < 64 {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
            shift += 7;
        }
        Err("a number too long")
    }

    fn i(&mut self) -> Read<i64> {
        let v = self.u()?;
        Ok(unzig(v))
    }

    fn oi(&mut self) -> Read<Option<i64>> {
        Ok(match self.u()? {
            0 => None,
            v => Some(unzig(v.wrapping_sub(1))),
        })
    }

    /// Reads the texts at the start of the bytes, checking their UTF-8.
    fn texts(&mut self) -> Read<()> {
        let n = usize::try_from(self.u()?).map_err(|_| "a text too long")?;
        let end = self.at.checked_add(n).filter(|e| *e <= self.b.len()).ok_or("cut short")?;
        // with SIMD: CJK texts took std's checker byte by byte (7% of a pass, perf)
        self.t = simdutf8::basic::from_utf8(&self.b[self.at..end]).map_err(|_| "texts not in UTF-8")?;
        self.at = end;
        Ok(())
    }

    /// The next text: its length here, its characters among the texts.
    fn s(&mut self) -> Read<&'a str> {
        let n = usize::try_from(self.u()?).map_err(|_| "a text too long")?;
        let end = self.t_at.checked_add(n).ok_or("a text too long")?;
        // `get` also refuses an end inside a character
        let t = self.t.get(self.t_at..end).ok_or("a text cut short")?;
        self.t_at = end;
        Ok(t)
    }

    fn os(&mut self) -> Read<Option<&'a str>> {
        match self.byte()? {
            0 => Ok(None),
            _ => self.s().map(Some),
        }
    }

    fn small<T: TryFrom<i64>>(&mut self, what: &'static str) -> Read<T> {
        T::try_from(self.i()?).map_err(|_| what)
    }

    fn code<T: CodeEnum>(&mut self, what: &'static str) -> Read<T> {
        let c: i16 = self.small(what)?;
        T::from_code(c).ok_or(what)
    }

    fn ocode<T: CodeEnum>(&mut self, what: &'static str) -> Read<Option<T>> {
        match self.oi()? {
            None => Ok(None),
            Some(c) => {
                let c = i16::try_from(c).map_err(|_| what)?;
                T::from_code(c).map(Some).ok_or(what)
            }
        }
    }

    fn date(&mut self) -> Read<NaiveDate> {
        let days: i32 = self.small("a date")?;
        NaiveDate::from_num_days_from_ce_opt(days).ok_or("a date out of range")
    }

    fn moment(&mut self) -> Read<DateTime<Utc>> {
        let secs = self.i()?;
        let nanos = u32::try_from(self.u()?).map_err(|_| "a time out of range")?;
        DateTime::from_timestamp(secs, nanos).ok_or("a time out of range")
    }
}

fn untri(bits: u64, shift: u32) -> Read<Option<bool>> {
    match bits >> shift & 3 {
        0 => Ok(None),
        1 => Ok(Some(false)),
        2 => Ok(Some(true)),
        _ => Err("a yes/no flag out of range"),
    }
}

fn bit(bits: u64, shift: u32) -> bool {
    bits >> shift & 1 == 1
}

fn read_detail(r: &mut Reader, s: &mut Scratch) -> Read<()> {
    let Scratch { detail: d, spare, spare_officer, spare_phones } = s;
    let id = r.i()?;
    r.household = id;
    let rec = &mut d.record;
    rec.id = HouseholdId(id);
    rec.version = r.i()?;
    rec.import_id = r.oi()?;
    rec.created_at = r.moment()?;
    rec.updated_at = r.moment()?;
    read_household(r, &mut rec.household, spare_officer, spare_phones)?;
    let n = usize::try_from(r.u()?).map_err(|_| "too many members")?;
    // members beyond this household's wait in `spare` with their memory for the next one
    while d.members.len() > n {
        spare.extend(d.members.pop());
    }
    for k in 0..n {
        if k == d.members.len() {
            d.members.push(spare.pop().unwrap_or_else(blank_member));
        }
        read_member(r, &mut d.members[k])?;
    }
    let n = r.u()?;
    d.incomes.clear();
    for _ in 0..n {
        let year = r.small("an income year")?;
        let mut f = [Fen(0); 7];
        for v in &mut f {
            *v = Fen(r.i()?);
        }
        d.incomes.push(IncomeRecord::from_amounts(year, f));
    }
    Ok(())
}

fn set_text(to: &mut String, t: &str) {
    to.clear();
    to.push_str(t);
}

/// Sets `to` to the phone `t`, or to none, keeping a phone's memory in `spare` meanwhile.
fn set_phone(to: &mut Option<Phone>, t: Option<&str>, spare: &mut Vec<Phone>) {
    let Some(t) = t else {
        spare.extend(to.take());
        return;
    };
    if to.is_none() {
        *to = spare.pop();
    }
    match to {
        Some(p) => p.set_trusted(t),
        None => *to = Some(Phone::trusted(t)),
    }
}

fn read_household(
    r: &mut Reader,
    h: &mut Household,
    spare_officer: &mut Option<OfficerContact>,
    spare_phones: &mut Vec<Phone>,
) -> Read<()> {
    h.household_no.set_trusted(r.s()?);
    h.village = RegionCode::from_i64(r.i()?).ok_or("a village code out of range")?;
    h.group_no = u16::try_from(r.u()?).map_err(|_| "a group number out of range")?;
    set_text(&mut h.address, r.s()?);
    set_phone(&mut h.phone, r.os()?, spare_phones);
    h.kind = r.code("the household kind")?;
    h.exit_year = r.oi()?.map(i32::try_from).transpose().map_err(|_| "an exit year out of range")?;
    h.monitoring = match r.byte()? {
        0 => Monitoring::Never,
        1 => Monitoring::Monitored { category: r.code("the monitoring category")?, since: r.date()? },
        2 => Monitoring::Eliminated {
            category: r.code("the monitoring category")?,
            since: r.date()?,
            mode: r.code("the elimination mode")?,
            on: r.date()?,
        },
        _ => return Err("the monitoring state"),
    };
    let n = r.u()?;
    h.risks.clear();
    for _ in 0..n {
        h.risks.push(r.code("a risk")?);
    }
    h.disaster_kind = r.ocode("the disaster kind")?;
    h.housing_grade = r.ocode("the housing grade")?;
    let flags = r.u()?;
    h.water = DrinkingWater {
        safe: untri(flags, 0)?,
        quantity_ok: untri(flags, 2)?,
        quality_ok: untri(flags, 4)?,
        convenience_ok: untri(flags, 6)?,
        reliability_ok: untri(flags, 8)?,
    };
    h.food_clothing_secure = untri(flags, 10)?;
    h.military_family = bit(flags, 12);
    h.no_labour_safety_net = bit(flags, 13);
    h.relocated = bit(flags, 14);
    set_text(&mut h.food_clothing_note, r.s()?);
    match r.byte()? {
        0 => {
            if let Some(o) = h.officer.take() {
                *spare_officer = Some(o);
            }
        }
        _ => {
            let (name, unit, phone) = (r.s()?, r.s()?, r.os()?);
            if h.officer.is_none() {
                h.officer = spare_officer.take();
            }
            match &mut h.officer {
                Some(o) => {
                    o.name.set_trusted(name);
                    set_text(&mut o.unit, unit);
                    set_phone(&mut o.phone, phone, spare_phones);
                }
                None => {
                    h.officer = Some(OfficerContact {
                        name: PersonName::trusted(name),
                        unit: unit.to_string(),
                        phone: phone.map(Phone::trusted),
                    })
                }
            }
        }
    }
    h.declared_size = r.oi()?.map(u16::try_from).transpose().map_err(|_| "a household size out of range")?;
    Ok(())
}

fn code_of<T: CodeEnum>(b: u8, what: &'static str) -> Read<T> {
    T::from_code(i16::from(b)).ok_or(what)
}

fn opt_code_of<T: CodeEnum>(b: u8, what: &'static str) -> Read<Option<T>> {
    match b {
        0 => Ok(None),
        b => code_of(b - 1, what).map(Some),
    }
}

fn read_member(r: &mut Reader, to: &mut MemberRecord) -> Read<()> {
    to.id = MemberId(r.i()?);
    let b = r.block()?;
    let key = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    to.seq = i32::from_le_bytes([b[8], b[9], b[10], b[11]]);
    let m = &mut to.member;
    m.relation = code_of(b[12], "the relation")?;
    m.sex = code_of(b[13], "the sex")?;
    m.ethnicity = Ethnicity::from_index(usize::from(b[14])).ok_or("an ethnic group out of range")?;
    m.political_status = opt_code_of(b[15], "the political status")?;
    m.education = opt_code_of(b[16], "the education")?;
    m.school_status = opt_code_of(b[17], "the school status")?;
    m.health = Health::from_bits(i16::from(b[18])).ok_or("the health out of range")?;
    m.disability_class = opt_code_of(b[19], "the disability class")?;
    m.labour_skill = code_of(b[20], "the labour skill")?;
    m.work_months = match b[23] {
        0 => None,
        1 => Some(b[21]),
        _ => return Err("the work months' presence"),
    };
    let flags = u64::from(b[22]);
    m.resident_medical = bit(flags, 0);
    m.employee_medical = bit(flags, 1);
    m.resident_pension = untri(flags, 2)?;
    m.employee_pension = untri(flags, 4)?;
    m.dibao = bit(flags, 6);
    m.tekun = bit(flags, 7);
    m.name.set_trusted(r.s()?);
    set_national_id(&mut m.national_id, key, r.s()?)?;
    set_text(&mut m.dropout_reason, r.s()?);
    set_text(&mut m.work_place, r.s()?);
    Ok(())
}

/// Sets `to` to the ID with key `key` ([`NationalId::key`]: the first 17 digits × 11 + the check
/// value) and `suffix` after its 18 characters.
fn set_national_id(to: &mut NationalId, key: u64, suffix: &str) -> Read<()> {
    to.set_key(key, suffix).map_err(|_| "an ID number")
}

/// A household unpacked again and again into the same memory: texts are copied into the strings
/// already there, and what one household has and the next lacks (members, an officer, phones)
/// waits here with its memory for a later one, so that after the first households unpacking
/// allocates only for a text longer than any before it.
pub struct Scratch {
    pub detail: HouseholdDetail,
    /// Members of earlier, larger households.
    spare: Vec<MemberRecord>,
    spare_officer: Option<OfficerContact>,
    spare_phones: Vec<Phone>,
}

impl Default for Scratch {
    fn default() -> Self {
        let no = HouseholdNo::parse("0").expect("a valid household number");
        let village = RegionCode::from_u64(10_000_000_000).expect("a valid region code");
        let household = Household::new(no, village, domain::codes::HouseholdKind::Ordinary);
        let at = DateTime::<Utc>::default();
        let record = HouseholdRecord {
            id: HouseholdId(0),
            version: 0,
            household,
            import_id: None,
            created_at: at,
            updated_at: at,
        };
        Scratch {
            detail: HouseholdDetail { record, members: Vec::new(), incomes: Vec::new() },
            spare: Vec::new(),
            spare_officer: None,
            spare_phones: Vec::new(),
        }
    }
}

fn blank_member() -> MemberRecord {
    let name = PersonName::parse("无").expect("a valid name");
    let id = NationalId::parse("11010519491231002X").expect("a valid ID");
    MemberRecord { id: MemberId(0), seq: 0, member: Member::new(name, id, domain::codes::Relation::Head) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_their_edges() {
        for v in [0i64, 1, -1, 63, -64, 64, 8191, -8192, i64::MAX, i64::MIN + 1] {
            let mut w = W::default();
            i(&mut w, v);
            oi(&mut w, Some(v));
            oi(&mut w, None);
            let w = w.b;
            let mut r = Reader { b: &w, at: 0, t: "", t_at: 0, household: 0 };
            assert_eq!((r.i(), r.oi(), r.oi()), (Ok(v), Ok(Some(v)), Ok(None)), "{v}");
            assert_eq!(r.at, w.len());
        }
        let mut w = W::default();
        u(&mut w, u64::MAX);
        assert_eq!(w.b.len(), 10);
        assert_eq!(Reader { b: &w.b, at: 0, t: "", t_at: 0, household: 0 }.u(), Ok(u64::MAX));
    }

    #[test]
    fn ids_come_back_from_their_keys() {
        let mut to = NationalId::parse("11010519491231002X").unwrap();
        for t in ["450203199001010012", "45020319900101001X", "450203199001010013", "45020319900101001241"] {
            let id = NationalId::parse(t).unwrap();
            set_national_id(&mut to, id.key(), id.as_str().get(18..).unwrap_or("")).unwrap();
            assert_eq!(to, id, "{t}");
        }
        assert!(set_national_id(&mut to, u64::MAX, "").is_err(), "more than 17 digits");
        // a valid ID's key, so that only the suffix can be what is refused
        let key = NationalId::parse("11010519491231002X").unwrap().key();
        assert!(set_national_id(&mut to, key, "42").is_ok());
        assert!(set_national_id(&mut to, key, "12345").is_err(), "a suffix longer than a 残疾人证号's");
    }

    #[test]
    fn damaged_bytes_are_an_error_naming_the_household() {
        let mut w = W::default();
        u(&mut w, 0);
        i(&mut w, 42);
        i(&mut w, 1);
        let e = unpack(&w.b).unwrap_err();
        assert_eq!((e.household, e.what.as_str()), (42, "cut short"));
        assert!(unpack(&[]).is_err());
    }
}
