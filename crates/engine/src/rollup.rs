//! Maintained counts per region: every village and every region above it (town, county, city,
//! province) has its [`Counts`]; a household's change moves its contribution in each of them, so
//! a dashboard read never scans households.

use std::collections::BTreeMap;

use domain::RegionCode;

use crate::RowKey;

/// What a dashboard shows for one region.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub households: i64,
    pub members: i64,
    /// By household kind code (1 脱贫户, 2 一般农户); index 0 unused.
    pub kind: [i64; 3],
    /// By monitoring status code (0 never, 1 monitored, 2 eliminated).
    pub status: [i64; 3],
    /// Monitored or eliminated households by category code (1–3); index 0 unused.
    pub category: [i64; 4],
    /// Households with at least one finding of each finding code (1–5); index 0: any finding.
    pub findings: [i64; 6],
}

impl Counts {
    pub(crate) fn apply(&mut self, k: RowKey, sign: i64) {
        self.households += sign;
        self.members += sign * i64::from(k.members);
        self.kind[usize::from(k.kind).min(2)] += sign;
        self.status[usize::from(k.status).min(2)] += sign;
        if k.category > 0 {
            self.category[usize::from(k.category).min(3)] += sign;
        }
        if k.findings != 0 {
            self.findings[0] += sign;
        }
        for (bit, slot) in self.findings[1..].iter_mut().enumerate() {
            if k.findings & (1 << bit) != 0 {
                *slot += sign;
            }
        }
    }

    fn merge(&mut self, o: &Counts) {
        self.households += o.households;
        self.members += o.members;
        for (a, b) in self.kind.iter_mut().zip(o.kind) {
            *a += b;
        }
        for (a, b) in self.status.iter_mut().zip(o.status) {
            *a += b;
        }
        for (a, b) in self.category.iter_mut().zip(o.category) {
            *a += b;
        }
        for (a, b) in self.findings.iter_mut().zip(o.findings) {
            *a += b;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.households == 0
    }
}

/// [`Counts`] for every region that has households.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rollup {
    by_region: BTreeMap<RegionCode, Counts>,
}

impl Rollup {
    /// From scratch: one pass accumulating per village, then each village folded into its
    /// ancestors (a few thousand villages even for a province).
    pub fn build(rows: impl Iterator<Item = RowKey>) -> Rollup {
        let mut villages: BTreeMap<RegionCode, Counts> = BTreeMap::new();
        for k in rows {
            villages.entry(k.village).or_default().apply(k, 1);
        }
        let mut by_region = BTreeMap::new();
        for (v, c) in villages {
            for a in v.ancestors() {
                by_region.entry(a).or_insert_with(Counts::default).merge(&c);
            }
            by_region.entry(v).or_insert_with(Counts::default).merge(&c);
        }
        Rollup { by_region }
    }

    pub(crate) fn add(&mut self, k: RowKey) {
        self.each(k.village, |c| c.apply(k, 1));
    }

    pub(crate) fn remove(&mut self, k: RowKey) {
        self.each(k.village, |c| c.apply(k, -1));
    }

    fn each(&mut self, village: RegionCode, mut f: impl FnMut(&mut Counts)) {
        let mut code = Some(village);
        while let Some(c) = code {
            let entry = self.by_region.entry(c).or_default();
            f(entry);
            if entry.is_empty() {
                self.by_region.remove(&c);
            }
            code = c.parent();
        }
    }

    /// The counts of one region (its whole subtree); `None` when it has no household.
    pub fn get(&self, region: RegionCode) -> Option<&Counts> {
        self.by_region.get(&region)
    }

    /// The region's children that have households, in code order (the drill-down).
    pub fn children(&self, region: RegionCode) -> impl Iterator<Item = (RegionCode, &Counts)> {
        let (lo, hi) = region.subtree();
        let (lo, hi) = (RegionCode::from_u64(lo), RegionCode::from_u64(hi));
        let range = match (lo, hi) {
            (Some(lo), Some(hi)) => Some(self.by_region.range(lo..=hi)),
            _ => None,
        };
        range.into_iter().flatten().filter(move |(c, _)| c.parent() == Some(region)).map(|(c, n)| (*c, n))
    }

    /// Memory held, estimated: a B-tree entry's key and value with a third more for the nodes'
    /// free slots and links.
    pub fn heap_bytes(&self) -> usize {
        self.by_region.len() * (size_of::<RegionCode>() + size_of::<Counts>()) * 4 / 3
    }

    /// Every region with households, in code order.
    pub fn regions_list(&self) -> Vec<RegionCode> {
        self.by_region.keys().copied().collect()
    }
}
