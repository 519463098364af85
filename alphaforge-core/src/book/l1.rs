//! L1: top of book only.

use super::query::{check_not_crossed, BookQuery};
use super::types::{check_common, BookDelta, BookError, BookMeta, Fault, Level, Side};

/// Top of book: at most one level per side, fed by quotes, trades or L1 deltas.
///
/// Delta semantics: ADD/UPDATE set the side's single level to `(price, size)` (UPDATE with
/// size 0 empties the side), DELETE empties the side (the price is not checked), CLEAR empties
/// one side or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L1Book {
    bid: Option<(i64, i64)>,
    ask: Option<(i64, i64)>,
    meta: BookMeta,
}

impl L1Book {
    pub fn new(price_precision: u8, size_precision: u8) -> Result<Self, BookError> {
        Ok(L1Book {
            bid: None,
            ask: None,
            meta: BookMeta::new(price_precision, size_precision)?,
        })
    }

    fn side_mut(&mut self, side: Side) -> &mut Option<(i64, i64)> {
        match side {
            Side::Buy => &mut self.bid,
            Side::Sell => &mut self.ask,
        }
    }

    fn apply_checked(&mut self, d: &BookDelta) -> Result<(), Fault> {
        check_common(d, self.meta.sequence)?;
        let side = Side::from_u8(d.side);
        match (d.action, side) {
            (1 | 2, Some(s)) if d.size > 0 => *self.side_mut(s) = Some((d.price, d.size)),
            (2 | 3, Some(s)) => *self.side_mut(s) = None,
            (4, Some(s)) => *self.side_mut(s) = None,
            _ => {
                self.bid = None;
                self.ask = None;
            }
        }
        self.meta.record(d);
        Ok(())
    }

    /// Applies one delta; on error the book is unchanged.
    pub fn apply(&mut self, d: &BookDelta) -> Result<(), BookError> {
        self.apply_checked(d).map_err(|f| f.error(d))
    }

    /// Applies a batch atomically: on error at index `i` nothing is applied and the error
    /// carries `i`.
    pub fn apply_batch(&mut self, deltas: &[BookDelta]) -> Result<(), BookError> {
        let saved = self.clone();
        for (i, d) in deltas.iter().enumerate() {
            if let Err(f) = self.apply_checked(d) {
                *self = saved;
                return Err(f.error(d).at(i));
            }
        }
        Ok(())
    }

    /// Sets both sides from a quote. A size of 0 empties that side. Sizes must be `>= 0` and
    /// the sequence must not go back; on error the book is unchanged.
    pub fn apply_quote(
        &mut self,
        bid: (i64, i64),
        ask: (i64, i64),
        sequence: u64,
        ts_event: u64,
    ) -> Result<(), BookError> {
        self.check_sequence(sequence)?;
        for (field, size) in [("bid_size", bid.1), ("ask_size", ask.1)] {
            if size < 0 {
                return Err(BookError::invalid(field, size, "must be >= 0"));
            }
        }
        self.bid = (bid.1 > 0).then_some(bid);
        self.ask = (ask.1 > 0).then_some(ask);
        self.meta.sequence = sequence;
        self.meta.ts_event = ts_event;
        self.meta.last_flags = super::F_LAST;
        Ok(())
    }

    /// Sets both sides to the trade price (a book fed by trades only knows that the market
    /// traded there), with the trade size. `size` must be `> 0`.
    pub fn apply_trade(
        &mut self,
        price: i64,
        size: i64,
        sequence: u64,
        ts_event: u64,
    ) -> Result<(), BookError> {
        self.check_sequence(sequence)?;
        if size <= 0 {
            return Err(BookError::invalid("size", size, "must be positive"));
        }
        self.bid = Some((price, size));
        self.ask = Some((price, size));
        self.meta.sequence = sequence;
        self.meta.ts_event = ts_event;
        self.meta.last_flags = super::F_LAST;
        Ok(())
    }

    fn check_sequence(&self, sequence: u64) -> Result<(), BookError> {
        if sequence < self.meta.sequence {
            return Err(BookError::invalid(
                "sequence",
                sequence,
                format!(
                    "lower than the book's last applied sequence {}",
                    self.meta.sequence
                ),
            ));
        }
        Ok(())
    }

    /// Empties the book and resets sequence, time and flags (a fresh book).
    pub fn clear(&mut self) {
        self.bid = None;
        self.ask = None;
        self.meta.reset();
    }

    fn level(&self, side: Side) -> Option<Level> {
        let (price, size) = match side {
            Side::Buy => self.bid,
            Side::Sell => self.ask,
        }?;
        Some(Level {
            price,
            size,
            orders: 0,
        })
    }
}

impl BookQuery for L1Book {
    fn meta(&self) -> &BookMeta {
        &self.meta
    }
    fn best(&self, side: Side) -> Option<Level> {
        self.level(side)
    }
    fn visit_levels<F: FnMut(Level) -> bool>(&self, side: Side, mut f: F) {
        if let Some(l) = self.level(side) {
            f(l);
        }
    }
    fn level_count(&self, side: Side) -> usize {
        usize::from(self.level(side).is_some())
    }
    fn check_integrity(&self) -> Result<(), BookError> {
        for side in [Side::Buy, Side::Sell] {
            if let Some(l) = self.level(side) {
                if l.size <= 0 {
                    return Err(BookError::integrity(format!(
                        "{} level at {} has size {}",
                        side.name(),
                        l.price,
                        l.size
                    )));
                }
            }
        }
        check_not_crossed(self)
    }
}
