//! Where the packed households live: a few large blocks instead of one allocation each, and the
//! row map from household ID to row.
//!
//! At 10 M households, one boxed slice per household cost about 35 bytes each beyond its ~320
//! bytes of content (a 16-byte pointer and length, the allocator's header and rounding), and a
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
    /// Bytes no longer reachable: households replaced by a longer version.
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
    }

    /// Replaces a row's bytes: in place when the new ones fit, else appended (the old ones
    /// become garbage, reclaimed by [`Arena::compact`] once they are a quarter of the whole).
    pub fn replace(&mut self, row: usize, bytes: &[u8]) {
        let old = self.slots[row];
        if bytes.len() <= old.len as usize {
            self.blocks[old.block as usize][old.at as usize..][..bytes.len()].copy_from_slice(bytes);
            self.slots[row].len = bytes.len() as u32;
            self.garbage += old.len as usize - bytes.len();
        } else {
            self.slots[row] = self.put(bytes);
            self.garbage += old.len as usize;
        }
        if self.garbage > BLOCK && self.garbage > self.live() / 4 {
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
        Slot { block: block as u32, at: at as u32, len: bytes.len() as u32 }
    }

    /// Bytes of the households as they are now.
    pub fn live(&self) -> usize {
        self.slots.iter().map(|s| s.len as usize).sum()
    }

    /// Copies every row into fresh blocks, in row order, leaving the garbage behind.
    pub fn compact(&mut self) {
        let mut fresh = Arena { slots: Vec::with_capacity(self.slots.len()), ..Arena::default() };
        for row in 0..self.slots.len() {
            fresh.push(self.get(row));
        }
        *self = fresh;
    }

    pub fn reserve(&mut self, rows: usize) {
        self.slots.reserve_exact(rows);
    }

    /// Gives back the growth headroom of the slot vector and of the last block (after a load).
    pub fn shrink(&mut self) {
        self.slots.shrink_to_fit();
        if let Some(b) = self.blocks.last_mut() {
            b.shrink_to_fit();
        }
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

/// No row.
const NONE: u32 = u32::MAX;

/// Household ID → row: an array indexed by ID while the IDs are dense, a hash map once they
/// are not (an array over IDs at least half used costs at most 8 bytes a row, the map ~28).
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
    pub fn get(&self, id: i64) -> Option<u32> {
        match self {
            RowMap::Dense { base, rows } => {
                let i = usize::try_from(id.checked_sub(*base)?).ok()?;
                rows.get(i).copied().filter(|&r| r != NONE)
            }
            RowMap::Sparse(m) => m.get(&id).copied(),
        }
    }

    /// Maps `id` to `row`; `count` is the number of rows once it is in (what the array may cost).
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
                // at least half of the array used (and some slack for a small registry)
                Some(i) if i < 2 * count + 1_024 => {
                    rows.resize(i + 1, NONE);
                    rows[i] = row;
                    return;
                }
                _ => {
                    let m = rows
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| **r != NONE)
                        .map(|(i, r)| (*base + i as i64, *r))
                        .collect::<HashMap<_, _, FxBuild>>();
                    *self = RowMap::Sparse(m);
                }
            }
        }
        if let RowMap::Sparse(m) = self {
            m.insert(id, row);
        }
    }

    /// Room for `rows` more IDs (an array over as many, the likely span of sequential IDs).
    pub fn reserve(&mut self, rows: usize) {
        match self {
            RowMap::Dense { rows: r, .. } => r.reserve_exact(rows),
            RowMap::Sparse(m) => m.reserve(rows),
        }
    }

    pub fn shrink(&mut self) {
        match self {
            RowMap::Dense { rows, .. } => rows.shrink_to_fit(),
            RowMap::Sparse(m) => m.shrink_to_fit(),
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
        a.shrink();
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
    fn the_row_map_is_an_array_while_ids_are_dense_and_a_map_after() {
        let mut m = RowMap::default();
        assert_eq!(m.get(1), None);
        // the store's IDs, from 1_000_001 up with a few gaps
        let ids: Vec<i64> = (1_000_001..1_005_001).filter(|i| i % 7 != 0).collect();
        for (row, id) in ids.iter().enumerate() {
            m.insert(*id, row as u32, row + 1);
        }
        assert!(matches!(m, RowMap::Dense { .. }));
        for (row, id) in ids.iter().enumerate() {
            assert_eq!(m.get(*id), Some(row as u32));
        }
        assert_eq!(m.get(1_000_006), None, "a gap (a multiple of 7)");
        assert_eq!(m.get(1_000_000), None, "below the first");
        assert_eq!(m.get(i64::MIN), None);
        assert_eq!(m.get(i64::MAX), None);
        let dense = m.heap_bytes();
        // an ID below the base, then one far above: a map, with every row kept
        m.insert(5, ids.len() as u32, ids.len() + 1);
        m.insert(9_000_000_000, ids.len() as u32 + 1, ids.len() + 2);
        assert!(matches!(m, RowMap::Sparse(_)));
        for (row, id) in ids.iter().enumerate() {
            assert_eq!(m.get(*id), Some(row as u32));
        }
        assert_eq!(m.get(5), Some(ids.len() as u32));
        assert_eq!(m.get(9_000_000_000), Some(ids.len() as u32 + 1));
        assert!(m.heap_bytes() > dense, "{} > {dense}", m.heap_bytes());
    }
}
