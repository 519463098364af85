//! Storage of one side of a book: levels keyed by *rank*, best = highest rank.
//!
//! Books store bids under `rank = price` and asks under `rank = !price` (bitwise not:
//! `-price - 1`, strictly decreasing, never overflows), so one structure serves both sides and
//! "best" is always the maximum. Two implementations:
//!
//! - [`Ladder`] (the default): a dense array over a window of ranks with an occupancy bitset
//!   and the best slot tracked; levels below the window live in a sparse `BTreeMap`. See
//!   `docs/adr/0001-order-book-structure.md` for why and for the numbers.
//! - [`TreeStore`]: a plain `BTreeMap`, the measured alternative.

use std::collections::BTreeMap;
use std::fmt;

/// Rank of a price on a side (bids: the price; asks: `!price`). Best = highest rank.
#[inline(always)]
pub fn rank(bid_side: bool, price: i64) -> i64 {
    if bid_side {
        price
    } else {
        !price
    }
}

/// One side of a book: a map from rank to level value, with O(1) access to the best.
pub trait SideStore<V: Copy>: Clone + fmt::Debug {
    /// An empty store configured like `self` (same window size for a ladder).
    fn empty_like(&self) -> Self;
    /// Number of levels.
    fn len(&self) -> usize;
    /// Whether there is no level.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn get(&self, rank: i64) -> Option<&V>;
    fn get_mut(&mut self, rank: i64) -> Option<&mut V>;
    /// Inserts or replaces; returns the previous value.
    fn insert(&mut self, rank: i64, value: V) -> Option<V>;
    /// Removes; returns the value if the level existed.
    fn remove(&mut self, rank: i64) -> Option<V>;
    /// The best (highest-rank) level.
    fn best(&self) -> Option<(i64, &V)>;
    /// Removes every level.
    fn clear(&mut self);
    /// Visits levels best first until `f` returns `false`.
    fn visit<F: FnMut(i64, &V) -> bool>(&self, f: F);
    /// Checks the structure's own invariants (used by the book's integrity check).
    fn check(&self) -> Result<(), String>;
    /// Rough cost of cloning the store, in units of one delta application (a batch decides
    /// with it whether a snapshot is cheap enough to roll back with).
    fn clone_cost(&self) -> usize;
}

/// A side stored in a `BTreeMap` (rank -> value).
#[derive(Clone, Debug, Default)]
pub struct TreeStore<V>(BTreeMap<i64, V>);

impl<V: Copy + fmt::Debug> TreeStore<V> {
    pub fn new() -> Self {
        TreeStore(BTreeMap::new())
    }
}

impl<V: Copy + fmt::Debug> SideStore<V> for TreeStore<V> {
    fn empty_like(&self) -> Self {
        TreeStore(BTreeMap::new())
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn get(&self, rank: i64) -> Option<&V> {
        self.0.get(&rank)
    }
    fn get_mut(&mut self, rank: i64) -> Option<&mut V> {
        self.0.get_mut(&rank)
    }
    fn insert(&mut self, rank: i64, value: V) -> Option<V> {
        self.0.insert(rank, value)
    }
    fn remove(&mut self, rank: i64) -> Option<V> {
        self.0.remove(&rank)
    }
    fn best(&self) -> Option<(i64, &V)> {
        self.0.last_key_value().map(|(k, v)| (*k, v))
    }
    fn clear(&mut self) {
        self.0.clear();
    }
    fn visit<F: FnMut(i64, &V) -> bool>(&self, mut f: F) {
        for (k, v) in self.0.iter().rev() {
            if !f(*k, v) {
                break;
            }
        }
    }
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
    fn clone_cost(&self) -> usize {
        self.0.len() * 4
    }
}

/// Default window: 4096 ranks (ticks of the raw price unit).
pub const LADDER_DEFAULT_WINDOW: usize = 4096;
/// Default cap for window growth: 65536 ranks.
pub const LADDER_DEFAULT_MAX_WINDOW: usize = 1 << 16;
/// The window grows only once this many levels sit outside it.
const GROW_MIN_FAR: usize = 64;

/// A price ladder: a dense array over a window of `cap` consecutive ranks
/// `[base, base + cap)`, an occupancy bitset, the best slot tracked, and a sparse `BTreeMap`
/// for levels *below* the window.
///
/// Invariants (checked by [`SideStore::check`]):
/// - no level has a rank above the window (`> base + cap - 1`);
/// - the window holds the best level whenever the store is not empty;
/// - `best` is the highest occupied slot.
///
/// A level arriving above the window is a new best: the window is re-centred on it with the
/// best at 3/4 of the window (1/4 head-room for prices that improve further). When the last
/// level of the window goes, the window is re-centred on the best far level. When more levels
/// live outside the window than inside (and at least 64), the window doubles, up to
/// `max_cap`. A re-centre costs O(levels moved); each is triggered by a price move of at least
/// a quarter window, so it is rare in a steady market.
#[derive(Clone)]
pub struct Ladder<V> {
    base: i64,
    top: i64,
    cap: usize,
    max_cap: usize,
    slots: Vec<V>,
    occ: Vec<u64>,
    in_window: usize,
    best: usize,
    far: BTreeMap<i64, V>,
    scratch: Vec<(i64, V)>,
    recenters: u64,
}

impl<V: Copy + Default + fmt::Debug> Default for Ladder<V> {
    fn default() -> Self {
        Self::with_window(LADDER_DEFAULT_WINDOW, LADDER_DEFAULT_MAX_WINDOW)
    }
}

impl<V: Copy + Default + fmt::Debug> fmt::Debug for Ladder<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ladder")
            .field("base", &self.base)
            .field("cap", &self.cap)
            .field("in_window", &self.in_window)
            .field("far", &self.far.len())
            .field("recenters", &self.recenters)
            .finish()
    }
}

impl<V: Copy + Default + fmt::Debug> Ladder<V> {
    /// A ladder with a window of `window` ranks that may grow to `max_window`. Both are rounded
    /// up to a power of two, at least 64.
    pub fn with_window(window: usize, max_window: usize) -> Self {
        let cap = window.max(64).next_power_of_two();
        let max_cap = max_window.max(cap).next_power_of_two();
        Ladder {
            base: 0,
            top: cap as i64 - 1,
            cap,
            max_cap,
            slots: vec![V::default(); cap],
            occ: vec![0; cap / 64],
            in_window: 0,
            best: 0,
            far: BTreeMap::new(),
            scratch: Vec::new(),
            recenters: 0,
        }
    }

    /// Current window size in ranks.
    pub fn window(&self) -> usize {
        self.cap
    }

    /// How many times the window moved or grew (for tests and tuning).
    pub fn recenters(&self) -> u64 {
        self.recenters
    }

    /// Number of levels outside the window.
    pub fn far_len(&self) -> usize {
        self.far.len()
    }

    #[inline(always)]
    fn slot(&self, rank: i64) -> Option<usize> {
        match rank.checked_sub(self.base) {
            Some(d) if (d as u64) < self.cap as u64 => Some(d as usize),
            _ => None,
        }
    }

    #[inline(always)]
    fn occupied(&self, i: usize) -> bool {
        self.occ[i >> 6] & (1u64 << (i & 63)) != 0
    }

    /// Highest occupied slot below `i`, if any.
    #[inline]
    fn prev_occupied(&self, i: usize) -> Option<usize> {
        let mut w = i >> 6;
        let mut word = self.occ[w] & ((1u64 << (i & 63)) - 1);
        loop {
            if word != 0 {
                return Some(w * 64 + 63 - word.leading_zeros() as usize);
            }
            if w == 0 {
                return None;
            }
            w -= 1;
            word = self.occ[w];
        }
    }

    /// Moves the window so that `anchor` (the highest rank of all levels, including `extra`)
    /// sits at 3/4 of it, growing the window first if `grow`; then places `extra`.
    #[cold]
    fn recenter(&mut self, anchor: i64, extra: Option<(i64, V)>, grow: bool) {
        self.recenters += 1;
        let mut moved = std::mem::take(&mut self.scratch);
        for (w, word) in self.occ.iter_mut().enumerate() {
            let mut bits = *word;
            while bits != 0 {
                let b = bits.trailing_zeros() as usize;
                let i = w * 64 + b;
                moved.push((self.base + i as i64, self.slots[i]));
                bits &= bits - 1;
            }
            *word = 0;
        }
        self.in_window = 0;
        if grow && self.cap < self.max_cap {
            self.cap *= 2;
            self.slots = vec![V::default(); self.cap];
            self.occ = vec![0; self.cap / 64];
        }
        moved.extend(extra);
        let below = (self.cap - self.cap / 4 - 1) as i64;
        let base = anchor
            .saturating_sub(below)
            .min(i64::MAX - (self.cap as i64 - 1));
        self.base = base;
        self.top = base + (self.cap as i64 - 1);
        // Far levels that now fall inside the window (all of them are <= anchor <= top).
        let upper = self.far.split_off(&base);
        moved.extend(upper);
        let mut best = 0usize;
        for (rank, value) in moved.drain(..) {
            match self.slot(rank) {
                Some(i) => {
                    self.occ[i >> 6] |= 1u64 << (i & 63);
                    self.slots[i] = value;
                    self.in_window += 1;
                    best = best.max(i);
                }
                None => {
                    debug_assert!(rank < self.base, "level above the new window");
                    self.far.insert(rank, value);
                }
            }
        }
        self.best = best;
        self.scratch = moved;
    }

    fn grow_if_crowded(&mut self) {
        if self.cap < self.max_cap && self.far.len() >= GROW_MIN_FAR.max(self.in_window) {
            let anchor = self.base + self.best as i64;
            self.recenter(anchor, None, true);
        }
    }
}

impl<V: Copy + Default + fmt::Debug> SideStore<V> for Ladder<V> {
    fn empty_like(&self) -> Self {
        Self::with_window(self.cap, self.max_cap)
    }

    #[inline]
    fn len(&self) -> usize {
        self.in_window + self.far.len()
    }

    #[inline]
    fn get(&self, rank: i64) -> Option<&V> {
        match self.slot(rank) {
            Some(i) if self.occupied(i) => Some(&self.slots[i]),
            Some(_) => None,
            None if rank < self.base => self.far.get(&rank),
            None => None,
        }
    }

    #[inline]
    fn get_mut(&mut self, rank: i64) -> Option<&mut V> {
        match self.slot(rank) {
            Some(i) if self.occupied(i) => Some(&mut self.slots[i]),
            Some(_) => None,
            None if rank < self.base => self.far.get_mut(&rank),
            None => None,
        }
    }

    #[inline]
    fn insert(&mut self, rank: i64, value: V) -> Option<V> {
        if let Some(i) = self.slot(rank) {
            let (w, bit) = (i >> 6, 1u64 << (i & 63));
            if self.occ[w] & bit != 0 {
                return Some(std::mem::replace(&mut self.slots[i], value));
            }
            self.occ[w] |= bit;
            self.slots[i] = value;
            self.in_window += 1;
            if self.in_window == 1 || i > self.best {
                self.best = i;
            }
            None
        } else if rank > self.top || self.in_window == 0 {
            // A new best above the window, or the first level of an empty store.
            self.recenter(rank, Some((rank, value)), false);
            None
        } else {
            let old = self.far.insert(rank, value);
            if old.is_none() {
                self.grow_if_crowded();
            }
            old
        }
    }

    #[inline]
    fn remove(&mut self, rank: i64) -> Option<V> {
        if let Some(i) = self.slot(rank) {
            let (w, bit) = (i >> 6, 1u64 << (i & 63));
            if self.occ[w] & bit == 0 {
                return None;
            }
            self.occ[w] &= !bit;
            self.in_window -= 1;
            let value = self.slots[i];
            if i == self.best {
                if self.in_window > 0 {
                    // Exists: in_window > 0 and nothing is above the old best.
                    self.best = self.prev_occupied(i).unwrap_or(0);
                } else if let Some((&anchor, _)) = self.far.last_key_value() {
                    self.recenter(anchor, None, false);
                }
            }
            Some(value)
        } else if rank < self.base {
            self.far.remove(&rank)
        } else {
            None
        }
    }

    #[inline]
    fn best(&self) -> Option<(i64, &V)> {
        if self.in_window == 0 {
            return None;
        }
        Some((self.base + self.best as i64, &self.slots[self.best]))
    }

    fn clear(&mut self) {
        self.occ.iter_mut().for_each(|w| *w = 0);
        self.in_window = 0;
        self.best = 0;
        self.far.clear();
    }

    fn visit<F: FnMut(i64, &V) -> bool>(&self, mut f: F) {
        if self.in_window > 0 {
            let mut w = self.best >> 6;
            // Bits at or below `best` in its word (best & 63 == 63 keeps the whole word).
            let mut word = self.occ[w] & (u64::MAX >> (63 - (self.best & 63)));
            loop {
                while word != 0 {
                    let b = 63 - word.leading_zeros() as usize;
                    let i = w * 64 + b;
                    if !f(self.base + i as i64, &self.slots[i]) {
                        return;
                    }
                    word &= !(1u64 << b);
                }
                if w == 0 {
                    break;
                }
                w -= 1;
                word = self.occ[w];
            }
        }
        for (k, v) in self.far.iter().rev() {
            if !f(*k, v) {
                return;
            }
        }
    }

    fn clone_cost(&self) -> usize {
        // ~0.1 delta per copied slot (memcpy), a few per tree node.
        self.cap / 8 + self.far.len() * 4
    }

    fn check(&self) -> Result<(), String> {
        let count: usize = self.occ.iter().map(|w| w.count_ones() as usize).sum();
        if count != self.in_window {
            return Err(format!(
                "ladder: {count} occupied slots but in_window={}",
                self.in_window
            ));
        }
        if self.top != self.base + (self.cap as i64 - 1) {
            return Err("ladder: top != base + cap - 1".into());
        }
        if self.in_window == 0 {
            if !self.far.is_empty() {
                return Err("ladder: empty window but levels outside it".into());
            }
        } else {
            if !self.occupied(self.best) {
                return Err(format!("ladder: best slot {} is empty", self.best));
            }
            if ((self.best + 1)..self.cap).any(|i| self.occupied(i)) {
                return Err(format!("ladder: an occupied slot above best {}", self.best));
            }
        }
        if let Some((&k, _)) = self.far.last_key_value() {
            if k >= self.base {
                return Err(format!(
                    "ladder: far level {k} is not below the window base {}",
                    self.base
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels<S: SideStore<i64>>(s: &S) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        s.visit(|k, v| {
            out.push((k, *v));
            true
        });
        out
    }

    #[test]
    fn rank_orders_both_sides() {
        assert!(rank(true, 10) > rank(true, 9));
        assert!(rank(false, 9) > rank(false, 10));
        assert_eq!(rank(false, i64::MIN), i64::MAX);
        assert_eq!(rank(false, i64::MAX), i64::MIN);
    }

    #[test]
    fn ladder_recenters_and_spills() {
        let mut l: Ladder<i64> = Ladder::with_window(64, 64);
        l.insert(1000, 1);
        assert_eq!(l.best(), Some((1000, &1)));
        // Far below the window: sparse.
        l.insert(10, 2);
        assert_eq!(l.far_len(), 1);
        // Above the window: re-centre.
        l.insert(5000, 3);
        assert_eq!(l.best(), Some((5000, &3)));
        assert_eq!(levels(&l), vec![(5000, 3), (1000, 1), (10, 2)]);
        l.check().unwrap();
        // Empty the window: the best far level becomes the anchor.
        assert_eq!(l.remove(5000), Some(3));
        assert_eq!(l.best(), Some((1000, &1)));
        l.check().unwrap();
        assert_eq!(l.remove(1000), Some(1));
        assert_eq!(l.best(), Some((10, &2)));
        assert_eq!(l.remove(10), Some(2));
        assert_eq!(l.best(), None);
        assert_eq!(l.remove(10), None);
        l.check().unwrap();
    }

    #[test]
    fn ladder_extreme_ranks() {
        let mut l: Ladder<i64> = Ladder::with_window(64, 128);
        for k in [i64::MAX, i64::MIN, 0, i64::MAX - 1, i64::MIN + 1] {
            l.insert(k, 1);
            l.check().unwrap();
        }
        assert_eq!(l.best(), Some((i64::MAX, &1)));
        assert_eq!(l.len(), 5);
        let keys: Vec<i64> = levels(&l).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            vec![i64::MAX, i64::MAX - 1, 0, i64::MIN + 1, i64::MIN]
        );
        for k in keys {
            assert!(l.remove(k).is_some());
            l.check().unwrap();
        }
        assert!(l.is_empty());
    }

    #[test]
    fn ladder_grows_when_crowded() {
        let mut l: Ladder<i64> = Ladder::with_window(64, 1024);
        for k in 0..400 {
            l.insert(1000 - k, 1);
            l.check().unwrap();
        }
        assert!(l.window() > 64, "window {}", l.window());
        assert_eq!(l.len(), 400);
        assert_eq!(levels(&l).len(), 400);
    }

    #[test]
    fn tree_and_ladder_agree_on_a_walk() {
        let mut t: TreeStore<i64> = TreeStore::new();
        let mut l: Ladder<i64> = Ladder::with_window(64, 256);
        let mut x: u64 = 7;
        for step in 0..20_000i64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let k = (step / 50) + (x % 200) as i64 - 100;
            if x % 3 == 0 {
                assert_eq!(t.remove(k), l.remove(k));
            } else {
                assert_eq!(t.insert(k, step), l.insert(k, step));
            }
            assert_eq!(t.best(), l.best());
        }
        assert_eq!(levels(&t), levels(&l));
        l.check().unwrap();
    }
}
