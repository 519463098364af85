//! Read-only queries shared by every book type.

use super::types::{BookError, BookMeta, Crossing, FillEstimate, Level, Side, TopOfBook};

/// Queries on a book. Implemented by [`L1Book`](super::L1Book), [`L2Book`](super::L2Book),
/// [`L3Book`](super::L3Book) and [`OrderBook`](super::OrderBook).
///
/// Prices and sizes are raw integers at the book's precisions
/// ([`BookMeta::price_precision`], [`BookMeta::size_precision`]).
pub trait BookQuery {
    /// Precisions, last sequence, last `ts_event`, last flags.
    fn meta(&self) -> &BookMeta;

    /// The best level of `side` (bids: highest price, asks: lowest).
    fn best(&self, side: Side) -> Option<Level>;

    /// Visits the levels of `side` best first until `f` returns `false`.
    fn visit_levels<F: FnMut(Level) -> bool>(&self, side: Side, f: F);

    /// Number of price levels on `side`.
    fn level_count(&self, side: Side) -> usize;

    /// Number of orders on `side` (L3); the number of levels for L1/L2.
    fn order_count(&self, side: Side) -> usize {
        self.level_count(side)
    }

    /// Checks every structural invariant, and that the book is not crossed (locked passes).
    fn check_integrity(&self) -> Result<(), BookError>;

    /// Best bid.
    fn best_bid(&self) -> Option<Level> {
        self.best(Side::Buy)
    }

    /// Best ask.
    fn best_ask(&self) -> Option<Level> {
        self.best(Side::Sell)
    }

    /// Best bid and ask with the bookkeeping of the last change.
    fn top(&self) -> TopOfBook {
        let meta = self.meta();
        TopOfBook {
            bid: self.best_bid().map(|l| (l.price, l.size)),
            ask: self.best_ask().map(|l| (l.price, l.size)),
            sequence: meta.sequence,
            ts_event: meta.ts_event,
            last_flags: meta.last_flags,
        }
    }

    /// `ask - bid` in raw price units (exact, hence `i128`); `None` if a side is empty.
    fn spread(&self) -> Option<i128> {
        Some(i128::from(self.best_ask()?.price) - i128::from(self.best_bid()?.price))
    }

    /// `(bid + ask) / 2` as a raw value at `price_precision + 1` (exact: `5 * (bid + ask)`);
    /// `None` if a side is empty.
    fn mid_x10(&self) -> Option<i128> {
        Some(5 * (i128::from(self.best_ask()?.price) + i128::from(self.best_bid()?.price)))
    }

    /// Whether the best bid reaches the best ask.
    fn crossing(&self) -> Crossing {
        match (self.best_bid(), self.best_ask()) {
            (Some(b), Some(a)) if b.price > a.price => Crossing::Crossed,
            (Some(b), Some(a)) if b.price == a.price => Crossing::Locked,
            _ => Crossing::None,
        }
    }

    /// Up to `n` levels of `side`, best first.
    fn depth(&self, side: Side, n: usize) -> Vec<Level> {
        let mut out = Vec::with_capacity(n.min(self.level_count(side)));
        if n > 0 {
            self.visit_levels(side, |level| {
                out.push(level);
                out.len() < n
            });
        }
        out
    }

    /// Writes up to `min(prices.len(), sizes.len())` levels of `side`, best first; returns the
    /// number written.
    fn depth_into(&self, side: Side, prices: &mut [i64], sizes: &mut [i64]) -> usize {
        let n = prices.len().min(sizes.len());
        let mut written = 0;
        if n > 0 {
            self.visit_levels(side, |level| {
                prices[written] = level.price;
                sizes[written] = level.size;
                written += 1;
                written < n
            });
        }
        written
    }

    /// Walks the book for a taker order of `qty` (raw size) on `order_side` (BUY walks the asks
    /// from the lowest price, SELL the bids from the highest) and reports what it would fill and
    /// at which prices. `qty` must be positive.
    fn fill_estimate(&self, order_side: Side, qty: i64) -> Result<FillEstimate, BookError> {
        if qty <= 0 {
            return Err(BookError::invalid("qty", qty, "must be positive"));
        }
        let walked = order_side.opposite();
        let mut est = FillEstimate {
            order_side,
            requested: qty,
            filled: 0,
            notional: 0,
            levels: 0,
            best_price: self.best(walked).map(|l| l.price),
            worst_price: None,
            price_precision: self.meta().price_precision,
        };
        let mut overflow = false;
        self.visit_levels(walked, |level| {
            let take = level.size.min(qty - est.filled);
            match est
                .notional
                .checked_add(i128::from(level.price) * i128::from(take))
            {
                Some(n) => est.notional = n,
                None => {
                    overflow = true;
                    return false;
                }
            }
            est.filled += take;
            est.levels += 1;
            est.worst_price = Some(level.price);
            est.filled < qty
        });
        if overflow {
            return Err(BookError::overflow("qty", "notional of the walk"));
        }
        Ok(est)
    }
}

/// The crossing part of the integrity check (crossed fails, locked passes).
pub(crate) fn check_not_crossed<B: BookQuery + ?Sized>(book: &B) -> Result<(), BookError> {
    if book.crossing() == Crossing::Crossed {
        let (b, a) = (book.best_bid(), book.best_ask());
        return Err(BookError::integrity(format!(
            "crossed book: best bid {} > best ask {}",
            b.map_or(0, |l| l.price),
            a.map_or(0, |l| l.price)
        )));
    }
    Ok(())
}
