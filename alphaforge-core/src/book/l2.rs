//! L2: market by price.

use super::query::{check_not_crossed, BookQuery};
use super::store::{rank, Ladder, SideStore};
use super::types::{
    check_common, is_valid, BookAction, BookDelta, BookError, BookMeta, Fault, Level, Side,
};

/// Market by price: one aggregate size per price level and side.
///
/// Delta semantics (L2 deltas carry the level's new *state*, as venues send them):
///
/// | action | effect |
/// | --- | --- |
/// | ADD | sets the level to `size` (`size > 0`); an existing level is replaced |
/// | UPDATE | sets the level to `size`, inserting it if missing; `size == 0` removes it |
/// | DELETE | removes the level; a missing level is a no-op (it is already gone) |
/// | CLEAR | empties one side (`side` 1/2) or both (`side` 0) |
///
/// `order_id` is ignored. Rejected: an unknown action or side, a negative size, ADD with size
/// 0, a sequence lower than the last applied one. Nothing else can fail, so a batch is
/// validated in one pass and then applied in a second pass that cannot fail: a bad delta
/// rejects the whole batch and leaves the book untouched.
///
/// `S` is the side storage: the default [`Ladder`], or
/// [`TreeStore`](super::TreeStore) (kept for comparison; see the ADR).
#[derive(Debug, Clone)]
pub struct L2Book<S = Ladder<i64>> {
    /// `[bids, asks]`: indexed by `side - 1` so the hot path does not branch on the side.
    sides: [S; 2],
    meta: BookMeta,
}

/// From this many deltas on, a batch may be applied in one pass with a snapshot for the
/// rollback instead of being validated first (see [`L2Book::apply_batch`]).
pub const SNAPSHOT_BATCH_MIN: usize = 2048;

impl L2Book<Ladder<i64>> {
    /// An empty L2 book with the default ladder storage.
    pub fn new(price_precision: u8, size_precision: u8) -> Result<Self, BookError> {
        Self::with_store(price_precision, size_precision, Ladder::default())
    }
}

impl<S: SideStore<i64>> L2Book<S> {
    /// An empty L2 book whose sides are configured like `store` (which should be empty).
    pub fn with_store(
        price_precision: u8,
        size_precision: u8,
        store: S,
    ) -> Result<Self, BookError> {
        Ok(L2Book {
            sides: [store.empty_like(), store.empty_like()],
            meta: BookMeta::new(price_precision, size_precision)?,
        })
    }

    #[inline(always)]
    fn store(&self, side: Side) -> &S {
        &self.sides[side as usize - 1]
    }

    /// Applies an already validated delta; cannot fail.
    #[inline(always)]
    fn apply_valid(&mut self, d: &BookDelta) {
        if d.action == BookAction::Clear as u8 {
            match d.side {
                1 => self.sides[0].clear(),
                2 => self.sides[1].clear(),
                _ => self.sides.iter_mut().for_each(SideStore::clear),
            }
            return;
        }
        // Validated: side is 1 or 2. Bids rank by price, asks by !price (= price ^ -1).
        let ix = (d.side as usize - 1) & 1;
        let r = d.price ^ (ix as i64).wrapping_neg();
        let store = &mut self.sides[ix];
        // ADD always has size > 0 (validated); UPDATE with 0 and DELETE remove.
        if d.size > 0 && d.action != BookAction::Delete as u8 {
            store.insert(r, d.size);
        } else {
            store.remove(r);
        }
    }

    /// Applies one delta; on error the book is unchanged.
    pub fn apply(&mut self, d: &BookDelta) -> Result<(), BookError> {
        check_common(d, self.meta.sequence).map_err(|f: Fault| f.error(d))?;
        self.apply_valid(d);
        self.meta.record(d);
        Ok(())
    }

    /// Validates `deltas` (the first one against `last_sequence`); on error the index is
    /// offset by `base`.
    fn validate(deltas: &[BookDelta], last_sequence: u64, base: usize) -> Result<(), BookError> {
        // Branch-free pass; only if it fails, a second pass finds the first bad delta.
        let mut seq = last_sequence;
        let mut ok = true;
        for d in deltas {
            ok &= is_valid(d, seq);
            seq = d.sequence;
        }
        if !ok {
            let mut seq = last_sequence;
            for (i, d) in deltas.iter().enumerate() {
                if let Err(f) = check_common(d, seq) {
                    return Err(f.error(d).at(base + i));
                }
                seq = d.sequence;
            }
        }
        Ok(())
    }

    /// Applies a batch atomically: on error at index `i` nothing is applied (the book is as
    /// before the call) and the error carries `i`.
    ///
    /// A batch that is small, or small next to the book, is validated whole and then applied
    /// (it is in the CPU cache for the second pass). A large batch (at least
    /// [`SNAPSHOT_BATCH_MIN`] deltas and 10x the book's clone cost) is streamed from memory
    /// once: a snapshot of the book is taken, each delta is checked and applied in one pass,
    /// and the snapshot is restored if a delta is rejected.
    pub fn apply_batch(&mut self, deltas: &[BookDelta]) -> Result<(), BookError> {
        let Some(last) = deltas.last() else {
            return Ok(());
        };
        let clone_cost: usize = self.sides.iter().map(SideStore::clone_cost).sum();
        if deltas.len() < SNAPSHOT_BATCH_MIN || deltas.len() < 10 * clone_cost {
            Self::validate(deltas, self.meta.sequence, 0)?;
            for d in deltas {
                self.apply_valid(d);
            }
        } else {
            let snapshot = self.sides.clone();
            let mut seq = self.meta.sequence;
            for (i, d) in deltas.iter().enumerate() {
                if !is_valid(d, seq) {
                    self.sides = snapshot;
                    let fault = check_common(d, seq).err().unwrap_or(Fault::Action);
                    return Err(fault.error(d).at(i));
                }
                seq = d.sequence;
                self.apply_valid(d);
            }
        }
        self.meta.record(last);
        Ok(())
    }

    /// Empties the book and resets sequence, time and flags (a fresh book).
    pub fn clear(&mut self) {
        self.sides.iter_mut().for_each(SideStore::clear);
        self.meta.reset();
    }

    /// Size of the level at `price` on `side`, if present.
    pub fn level_size(&self, side: Side, price: i64) -> Option<i64> {
        self.store(side)
            .get(rank(side == Side::Buy, price))
            .copied()
    }
}

impl<S: SideStore<i64>> BookQuery for L2Book<S> {
    fn meta(&self) -> &BookMeta {
        &self.meta
    }

    #[inline]
    fn best(&self, side: Side) -> Option<Level> {
        let bid = side == Side::Buy;
        self.store(side).best().map(|(r, &size)| Level {
            price: rank(bid, r),
            size,
            orders: 0,
        })
    }

    fn visit_levels<F: FnMut(Level) -> bool>(&self, side: Side, mut f: F) {
        let bid = side == Side::Buy;
        self.store(side).visit(|r, &size| {
            f(Level {
                price: rank(bid, r),
                size,
                orders: 0,
            })
        });
    }

    fn level_count(&self, side: Side) -> usize {
        self.store(side).len()
    }

    fn check_integrity(&self) -> Result<(), BookError> {
        for side in [Side::Buy, Side::Sell] {
            let store = self.store(side);
            store
                .check()
                .map_err(|e| BookError::integrity(format!("{}: {e}", side.name())))?;
            let mut bad = None;
            let mut count = 0usize;
            let mut prev: Option<i64> = None;
            let bid = side == Side::Buy;
            store.visit(|r, &size| {
                count += 1;
                let price = rank(bid, r);
                let ordered = prev.map_or(true, |p| if bid { price < p } else { price > p });
                if size <= 0 || !ordered {
                    bad = Some((price, size));
                    return false;
                }
                prev = Some(price);
                true
            });
            if let Some((price, size)) = bad {
                return Err(BookError::integrity(format!(
                    "{} level at {price} has size {size} or is out of order",
                    side.name()
                )));
            }
            if count != store.len() {
                return Err(BookError::integrity(format!(
                    "{}: {count} levels visited but len() = {}",
                    side.name(),
                    store.len()
                )));
            }
        }
        check_not_crossed(self)
    }
}
