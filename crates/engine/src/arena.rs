//! Where the packed households live: a few large blocks instead of one allocation each, and the
//! row map from household ID to row.
//!
//! At 10 M households, one boxed slice per household cost about 35 bytes each beyond its ~320
//! bytes of content (a 16-byte pointer and length, the allocator's rounding to a size class), and a
//! hash map from ID to row about 28 (buckets of 16 bytes kept at most 7/8 full, in powers of two)
//! — together more than 600 MiB of the 4 GB budget (issue 6). Here a household costs 12 bytes of
//! slot, and a row 4 bytes of map when the IDs are dense, as the store's sequential IDs are.

use std::collections::HashMap;

use crate::fx::FxBuild;

/// Bytes per block. A household larger than this (none is near it) gets a block of its own.
const BLOCK: usize = 1 << 20;

/// Where one household's bytes are.
#[derive(Debug, Clone, Copy)]
struct Slot {
    block: u32,
    at: u32,
    len: u32,
}

/// Packed households by row, appended into large blocks.
#[derive(Debug, Default)]
pub(crate) struct Arena {
    blocks: Vec<Vec<u8>>,
    slots: Vec<Slot>,
    /// Bytes of the rows as they are now.
    live: usize,
    /// Bytes no longer reachable: what replacements left behind.
    garbage: usize,
}

impl Arena {
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn get(&self, row: usize) -> &[u8] {
        let s = self.slots[row];
        &self.blocks[s.block as usize][s.at as usize..][..s.len as usize]
    }

    /// Appends a household as the next row.
    pub fn push(&mut self, bytes: &[u8]) {
        let slot = self.put(bytes);
        self.slots.push(slot);
        self.live += bytes.len();
    }

    /// Replaces a row's bytes: in place when the new ones fit, else appended. What the old ones
    /// leave is garbage, reclaimed by [`Arena::compact`] once it is more than a quarter of the
    /// live bytes (and more than a block).
    pub fn replace(&mut self, row: usize, bytes: &[u8]) {
        let old = self.slots[row];
        if bytes.len() <= old.len as usize {
            self.blocks[old.block as usize][old.at as usize..][..bytes.len()].copy_from_slice(bytes);
            self.slots[row].len = len32(bytes.len());
            self.garbage += old.len as usize - bytes.len();
        } else {
            self.slots[row] = self.put(bytes);
            self.garbage += old.len as usize;
        }
        self.live = self.live + bytes.len() - old.len as usize;
        if self.garbage > BLOCK && self.garbage > self.live / 4 {
            self.compact();
        }
    }

    fn put(&mut self, bytes: &[u8]) -> Slot {
        let fits = self.blocks.last().is_some_and(|b| b.capacity() - b.len() >= bytes.len());
        if !fits {
            self.blocks.push(Vec::with_capacity(BLOCK.max(bytes.len())));
        }
        let block = self.blocks.len() - 1;
        let b = &mut self.blocks[block];
        let at = b.len();
        b.extend_from_slice(bytes);
        Slot { block: len32(block), at: len32(at), len: len32(bytes.len()) }
    }

    /// Bytes of the households as they are now.
    pub fn live(&self) -> usize {
        self.live
    }

    /// Moves every row into fresh blocks, leaving the garbage behind, one old block at a time
    /// and freeing each once emptied: the memory needed beyond the live rows is a block and a
    /// row index, not a second copy of the snapshot.
    pub fn compact(&mut self) {
        let mut order: Vec<u32> = (0..len32(self.slots.len())).collect();
        order.sort_unstable_by_key(|&r| {
            let s = self.slots[r as usize];
            (s.block, s.at)
        });
        let mut old = std::mem::take(&mut self.blocks);
        let mut current = None;
        for r in order {
            let s = self.slots[r as usize];
            if current != Some(s.block) {
                if let Some(done) = current {
                    old[done as usize] = Vec::new();
                }
                current = Some(s.block);
            }
            let bytes = &old[s.block as usize][s.at as usize..][..s.len as usize];
            self.slots[r as usize] = self.put(bytes);
        }
        self.garbage = 0;
    }

    /// Room for `rows` more rows' slots.
    pub fn reserve(&mut self, rows: usize) {
        self.slots.reserve_exact(rows);
    }

    /// Memory held: the blocks' and slots' capacities.
    pub fn heap_bytes(&self) -> usize {
        self.blocks.iter().map(Vec::capacity).sum::<usize>()
            + self.blocks.capacity() * size_of::<Vec<u8>>()
            + self.slots.capacity() * size_of::<Slot>()
    }

    /// The rows in `parts` contiguous ranges of about equal count (for the threads of a pass).
    pub fn runs(&self, parts: usize) -> Vec<std::ops::Range<usize>> {
        let chunk = self.len().div_ceil(parts.max(1)).max(1);
        (0..self.len()).step_by(chunk).map(|lo| lo..(lo + chunk).min(self.len())).collect()
    }
}

/// A block number, offset, length or row as the slots keep it. A snapshot with 4 G rows, or a
/// household of 4 GiB, is beyond any registry this serves.
pub(crate) fn len32(n: usize) -> u32 {
    u32::try_from(n).expect("the snapshot's rows, blocks and households stay under 2^32")
}

/// No row.
const NONE: u32 = u32::MAX;

/// Room kept for households added after a load: a vector filled to its capacity doubles at the
/// next push, and copies itself.
pub(crate) fn headroom(rows: usize) -> usize {
    rows / 32 + 1_024
}

/// Household ID → row: an array indexed by `id - base` while the IDs are dense, a hash map
/// when they are not (an array at least half used costs at most 8 bytes a row, the map ~28).
#[derive(Debug)]
pub(crate) enum RowMap {
    Dense { base: i64, rows: Vec<u32> },
    Sparse(HashMap<i64, u32, FxBuild>),
}

impl Default for RowMap {
    fn default() -> RowMap {
        RowMap::Dense { base: 0, rows: Vec::new() }
    }
}

impl RowMap {
    /// The map of rows `0..ids.len()`, `ids[row]` being each row's ID, in any order (a load
    /// comes in village order, not ID order): an array when the IDs' span is at most twice
    /// their number.
    pub fn build(ids: &[i64]) -> RowMap {
        let (Some(&lo), Some(&hi)) = (ids.iter().min(), ids.iter().max()) else {
            return RowMap::default();
        };
        let span = hi.checked_sub(lo).and_then(|d| usize::try_from(d).ok()).and_then(|d| d.checked_add(1));
        match span {
            Some(span) if span <= 2 * ids.len() + 1_024 => {
                let mut rows = Vec::with_capacity(span + headroom(span));
                rows.resize(span, NONE);
                for (row, &id) in ids.iter().enumerate() {
                    rows[(id - lo) as usize] = len32(row);
                }
                RowMap::Dense { base: lo, rows }
            }
            _ => {
                let mut m = HashMap::with_capacity_and_hasher(ids.len() + headroom(ids.len()), FxBuild);
                m.extend(ids.iter().enumerate().map(|(row, &id)| (id, len32(row))));
                RowMap::Sparse(m)
            }
        }
    }

    pub fn get(&self, id: i64) -> Option<u32> {
        match self {
            RowMap::Dense { base, rows } => {
                let i = usize::try_from(id.checked_sub(*base)?).ok()?;
                rows.get(i).copied().filter(|&r| r != NONE)
            }
            RowMap::Sparse(m) => m.get(&id).copied(),
        }
    }

    /// Maps `id` to `row`; `count` is the number of rows once it is in (what the array may
    /// cost). An ID below the array's base, or one that would leave it less than half used,
    /// turns it into the hash map.
    pub fn insert(&mut self, id: i64, row: u32, count: usize) {
        if let RowMap::Dense { base, rows } = self {
            if rows.is_empty() {
                *base = id;
            }
            let slot = id.checked_sub(*base).and_then(|d| usize::try_from(d).ok());
            match slot {
                Some(i) if i < rows.len() => {
                    rows[i] = row;
                    return;
                }
                Some(i) if i < 2 * count + 1_024 => {
                    rows.resize(i + 1, NONE);
                    rows[i] = row;
                    return;
                }
                _ => {
                    let mut m = HashMap::with_capacity_and_hasher(count + headroom(count), FxBuild);
                    let base = *base;
                    m.extend(rows.iter().enumerate().filter(|(_, r)| **r != NONE).map(|(i, r)| (base + i as i64, *r)));
                    *self = RowMap::Sparse(m);
                }
            }
        }
        if let RowMap::Sparse(m) = self {
            m.insert(id, row);
        }
    }

    /// Memory held (for the map, its buckets and control bytes, estimated from its capacity).
    pub fn heap_bytes(&self) -> usize {
        match self {
            RowMap::Dense { rows, .. } => rows.capacity() * size_of::<u32>(),
            RowMap::Sparse(m) => {
                let buckets = (m.capacity() * 8 / 7).next_power_of_two();
                buckets * (size_of::<(i64, u32)>() + 1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_back_after_pushes_replacements_and_compaction() {
        let mut a = Arena::default();
        let row = |i: usize, n: usize| -> Vec<u8> { (0..n).map(|k| (i * 31 + k) as u8).collect() };
        let mut want: Vec<Vec<u8>> = Vec::new();
        // sizes up to a block and beyond, so that rows cross into new blocks and one needs its own
        for i in 0..3_000 {
            let n = if i == 1_500 { BLOCK + 10 } else { (i * 997) % 900 };
            want.push(row(i, n));
            a.push(&want[i]);
        }
        assert!(a.blocks.len() >= 3, "{} blocks", a.blocks.len());
        // shorter (in place), empty, longer (appended), equal
        for (i, n) in [(7, 3), (8, 0), (9, 2_000), (2_999, want[2_999].len())] {
            want[i] = row(i + 1, n);
            a.replace(i, &want[i]);
        }
        for (i, w) in want.iter().enumerate() {
            assert_eq!(a.get(i), &w[..], "row {i}");
        }
        assert!(a.garbage > 0 && a.garbage < BLOCK, "{}", a.garbage);
        // the big row shrinks: its block is mostly garbage, more than a quarter of the whole,
        // so the arena compacts by itself
        let blocks = a.blocks.len();
        want[1_500] = row(7, 1);
        a.replace(1_500, &want[1_500]);
        assert_eq!(a.garbage, 0, "compacted");
        assert!(a.blocks.len() < blocks, "{} < {blocks} blocks", a.blocks.len());
        for (i, w) in want.iter().enumerate() {
            assert_eq!(a.get(i), &w[..], "row {i} after compaction");
        }
        assert_eq!(a.live(), want.iter().map(Vec::len).sum::<usize>());
        let runs = a.runs(3);
        assert_eq!(runs.len(), 3);
        assert_eq!(runs.iter().map(|r| r.len()).sum::<usize>(), 3_000);
        assert_eq!(Arena::default().runs(2).len(), 0);
    }

    #[test]
    fn edits_that_grow_households_compact_once_garbage_passes_a_quarter_of_the_live_bytes() {
        let mut a = Arena::default();
        let row = |i: usize, n: usize| -> Vec<u8> { (0..n).map(|k| (i * 7 + k) as u8).collect() };
        // 40,000 households of ~300 bytes: 12 MB live, so a quarter is well above a block
        let mut want: Vec<Vec<u8>> = (0..40_000).map(|i| row(i, 250 + i % 100)).collect();
        for w in &want {
            a.push(w);
        }
        let mut compactions = 0;
        // a yearly income added to every household: each grows and moves to the end
        for (i, w) in want.iter_mut().enumerate() {
            *w = row(i + 1, w.len() + 8);
            let before = a.garbage;
            a.replace(i, w);
            if a.garbage < before {
                compactions += 1;
                assert!(before > a.live() / 4 - 2_000, "compacted only past a quarter: {before}");
            }
            assert!(a.garbage <= a.live() / 4 + w.len(), "never far past a quarter");
        }
        assert!(compactions >= 3, "{compactions} compactions");
        assert_eq!(a.live(), want.iter().map(Vec::len).sum::<usize>());
        for (i, w) in want.iter().enumerate() {
            assert_eq!(a.get(i), &w[..], "row {i}");
        }
        // rows added after a compaction go on as before
        a.push(&row(9, 10));
        assert_eq!(a.get(40_000), &row(9, 10)[..]);
    }

    #[test]
    fn the_row_map_is_an_array_when_ids_are_dense_in_any_order_and_a_map_when_not() {
        // a load comes in village order: the IDs of two imports interleaved
        let ids: Vec<i64> = (0..5_000).map(|i| if i % 2 == 0 { 1_000 + i } else { 9_000 - i }).collect();
        let m = RowMap::build(&ids);
        assert!(matches!(m, RowMap::Dense { .. }), "dense though out of order");
        for (row, id) in ids.iter().enumerate() {
            assert_eq!(m.get(*id), Some(row as u32));
        }
        // the boundary: a span of twice the count and 1,024 is an array, one more is a map
        let n = 100usize;
        let edge = |span: i64| -> Vec<i64> { (0..n as i64 - 1).chain([span - 1]).collect() };
        assert!(matches!(RowMap::build(&edge((2 * n + 1_024) as i64)), RowMap::Dense { .. }));
        let sparse = RowMap::build(&edge((2 * n + 1_025) as i64));
        assert!(matches!(sparse, RowMap::Sparse(_)));
        assert_eq!(sparse.get((2 * n + 1_024) as i64), Some(n as u32 - 1));
        assert_eq!(sparse.get(5), Some(5));
        assert!(matches!(RowMap::build(&[]), RowMap::Dense { .. }));
        assert!(matches!(RowMap::build(&[i64::MIN, i64::MAX]), RowMap::Sparse(_)));
    }

    #[test]
    fn households_added_later_keep_the_array_until_an_id_would_make_it_sparse() {
        // the store's IDs, from 1_000_001 up with a few gaps (deleted households)
        let ids: Vec<i64> = (1_000_001..1_005_001).filter(|i| i % 7 != 0).collect();
        let mut m = RowMap::build(&ids);
        assert!(matches!(m, RowMap::Dense { .. }));
        assert_eq!(m.get(1_000_006), None, "a gap (a multiple of 7)");
        assert_eq!(m.get(1_000_000), None, "below the first");
        assert_eq!(m.get(i64::MIN), None);
        assert_eq!(m.get(i64::MAX), None);
        // households created after the load take the next IDs: still an array
        let mut count = ids.len();
        for id in 1_005_001..1_006_001 {
            m.insert(id, count as u32, count + 1);
            count += 1;
        }
        assert!(matches!(m, RowMap::Dense { .. }));
        assert_eq!(m.get(1_005_500), Some(ids.len() as u32 + 499));
        // a row moved: the ID maps to its new row
        m.insert(1_000_001, 77, count);
        assert_eq!(m.get(1_000_001), Some(77));
        let dense = m.heap_bytes();
        // an ID far above: a map, with every row kept
        m.insert(9_000_000_000, count as u32, count + 1);
        assert!(matches!(m, RowMap::Sparse(_)));
        for (row, id) in ids.iter().enumerate().skip(1) {
            assert_eq!(m.get(*id), Some(row as u32));
        }
        assert_eq!(m.get(1_000_001), Some(77));
        assert_eq!(m.get(1_005_500), Some(ids.len() as u32 + 499));
        assert_eq!(m.get(9_000_000_000), Some(count as u32));
        assert!(m.heap_bytes() > dense, "{} > {dense}", m.heap_bytes());
        // below the base: a map as well
        let mut low = RowMap::build(&ids);
        low.insert(5, ids.len() as u32, ids.len() + 1);
        assert!(matches!(low, RowMap::Sparse(_)));
        assert_eq!(low.get(5), Some(ids.len() as u32));
        assert_eq!(low.get(ids[10]), Some(10));
    }
}
