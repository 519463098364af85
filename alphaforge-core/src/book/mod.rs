//! Order books: L1 (top of book), L2 (market by price) and L3 (market by order).
//!
//! Every value is a raw fixed-point integer at the book's precision (`price_precision`,
//! `size_precision`, fixed at construction); converting from [`Price`](crate::Price) /
//! [`Quantity`](crate::Quantity) is the caller's job (`price.fixed().raw()` at the right
//! precision).
//!
//! # Changing a book
//!
//! A [`BookDelta`] is ADD / UPDATE / DELETE / CLEAR on a side. The exact semantics per book
//! type are documented on [`L1Book`], [`L2Book`] and [`L3Book`]. Common to all:
//!
//! - `apply(&delta)` applies one delta; `apply_batch(&[delta])` applies a slice **all or
//!   nothing**: if the delta at index `i` is rejected, the book is left exactly as before the
//!   call and the [`BookError`] carries `index = Some(i)` and a field path `deltas[i].<field>`.
//! - A rejected delta never changes the book. Errors name the field and the value
//!   (`deltas[3].size=-5: must be >= 0`).
//! - `sequence` must not go down: a delta whose sequence is lower than the last applied one is
//!   rejected (equal is fine: one venue update often carries many deltas with one sequence).
//!   The book records the last applied sequence, `ts_event` and flags ([`BookMeta`]).
//! - [`F_LAST`] marks the last delta of an atomic venue update and [`F_SNAPSHOT`] a snapshot
//!   delta; the book records them but does not act on them (publishing is the caller's
//!   business). A snapshot is `CLEAR` followed by `ADD`s.
//! - `clear()` resets the book to a fresh one (also the sequence); a CLEAR *delta* is data: it
//!   empties sides but is sequence-checked and recorded like any delta.
//!
//! # Reading a book
//!
//! [`BookQuery`] (implemented by all three and by [`OrderBook`]): best bid/ask, depth, level
//! visits, spread, mid, crossed/locked detection, a book walk for a quantity
//! ([`BookQuery::fill_estimate`]: average price, slippage, worst price) and an integrity check.
//!
//! # Example
//!
//! ```
//! use alphaforge_core::book::{BookDelta, BookQuery, L2Book, Side, F_LAST};
//!
//! let mut book = L2Book::new(2, 3).unwrap(); // prices 0.01, sizes 0.001
//! book.apply_batch(&[
//!     BookDelta::add(Side::Buy, 5_000_000, 1_500, 0).at(1, 0),
//!     BookDelta::add(Side::Sell, 5_000_010, 2_000, 0).at(1, 0).with_flags(F_LAST),
//! ])
//! .unwrap();
//! assert_eq!(book.best_bid().unwrap().price, 5_000_000);
//! assert_eq!(book.spread(), Some(10));
//! let fill = book.fill_estimate(Side::Buy, 1_000).unwrap();
//! assert_eq!(fill.avg_price(2).unwrap(), Some(5_000_010));
//! ```
//!
//! # Storage
//!
//! Each side is a [`SideStore`]. The default is the [`Ladder`] (dense array over a tick
//! window around the best price, sparse `BTreeMap` beyond it); [`TreeStore`] is the plain
//! `BTreeMap` alternative. `docs/adr/0001-order-book-structure.md` has the measurements.

mod l1;
mod l2;
mod l3;
mod query;
mod store;
mod types;

pub use l1::L1Book;
pub use l2::{L2Book, SNAPSHOT_BATCH_MIN};
pub use l3::{L3Book, L3Level, L3Order, QueuePosition};
pub use query::BookQuery;
pub use store::{
    rank, Ladder, SideStore, TreeStore, LADDER_DEFAULT_MAX_WINDOW, LADDER_DEFAULT_WINDOW,
};
pub use types::{
    BookAction, BookDelta, BookError, BookErrorKind, BookMeta, BookType, Crossing, FillEstimate,
    Level, Side, TopOfBook, F_LAST, F_SNAPSHOT,
};

/// A book of any type (what the C ABI holds): dispatches to the concrete book.
#[derive(Debug, Clone)]
pub enum OrderBook {
    L1(L1Book),
    L2(L2Book),
    L3(L3Book),
}

macro_rules! dispatch {
    ($self:expr, $book:ident => $body:expr) => {
        match $self {
            OrderBook::L1($book) => $body,
            OrderBook::L2($book) => $body,
            OrderBook::L3($book) => $body,
        }
    };
}

impl OrderBook {
    /// An empty book of `book_type` with the default storage.
    pub fn new(
        book_type: BookType,
        price_precision: u8,
        size_precision: u8,
    ) -> Result<Self, BookError> {
        Ok(match book_type {
            BookType::L1Mbp => OrderBook::L1(L1Book::new(price_precision, size_precision)?),
            BookType::L2Mbp => OrderBook::L2(L2Book::new(price_precision, size_precision)?),
            BookType::L3Mbo => OrderBook::L3(L3Book::new(price_precision, size_precision)?),
        })
    }

    pub fn book_type(&self) -> BookType {
        match self {
            OrderBook::L1(_) => BookType::L1Mbp,
            OrderBook::L2(_) => BookType::L2Mbp,
            OrderBook::L3(_) => BookType::L3Mbo,
        }
    }

    /// Applies one delta; on error the book is unchanged.
    pub fn apply(&mut self, d: &BookDelta) -> Result<(), BookError> {
        dispatch!(self, b => b.apply(d))
    }

    /// Applies a batch all or nothing (see the module docs).
    pub fn apply_batch(&mut self, deltas: &[BookDelta]) -> Result<(), BookError> {
        dispatch!(self, b => b.apply_batch(deltas))
    }

    /// Empties the book and resets its sequence, time and flags.
    pub fn clear(&mut self) {
        dispatch!(self, b => b.clear())
    }

    fn l1(&mut self, call: &str) -> Result<&mut L1Book, BookError> {
        match self {
            OrderBook::L1(b) => Ok(b),
            other => Err(BookError::invalid(
                "book_type",
                other.book_type() as u8,
                format!("{call} updates an L1 book only (L2/L3 books take deltas)"),
            )),
        }
    }

    /// L1 only: see [`L1Book::apply_quote`].
    pub fn apply_quote(
        &mut self,
        bid: (i64, i64),
        ask: (i64, i64),
        sequence: u64,
        ts_event: u64,
    ) -> Result<(), BookError> {
        self.l1("a quote")?
            .apply_quote(bid, ask, sequence, ts_event)
    }

    /// L1 only: see [`L1Book::apply_trade`].
    pub fn apply_trade(
        &mut self,
        price: i64,
        size: i64,
        sequence: u64,
        ts_event: u64,
    ) -> Result<(), BookError> {
        self.l1("a trade")?
            .apply_trade(price, size, sequence, ts_event)
    }
}

impl BookQuery for OrderBook {
    fn meta(&self) -> &BookMeta {
        dispatch!(self, b => b.meta())
    }
    #[inline]
    fn best(&self, side: Side) -> Option<Level> {
        dispatch!(self, b => b.best(side))
    }
    fn visit_levels<F: FnMut(Level) -> bool>(&self, side: Side, f: F) {
        dispatch!(self, b => b.visit_levels(side, f))
    }
    fn level_count(&self, side: Side) -> usize {
        dispatch!(self, b => b.level_count(side))
    }
    fn order_count(&self, side: Side) -> usize {
        dispatch!(self, b => b.order_count(side))
    }
    fn check_integrity(&self) -> Result<(), BookError> {
        dispatch!(self, b => b.check_integrity())
    }
}

#[cfg(test)]
mod tests;
