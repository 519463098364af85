//! Plain data of the book API: sides, actions, deltas, errors and query results.

use std::fmt;

/// Delta flag: the last delta of an atomic batch (the book is consistent after it).
pub const F_LAST: u8 = 1 << 7;
/// Delta flag: the delta is part of a snapshot (informational; the book does not treat it
/// differently).
pub const F_SNAPSHOT: u8 = 1 << 5;

/// Side of a book level or of an order. The integer values are the C ABI's.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Bids.
    Buy = 1,
    /// Asks.
    Sell = 2,
}

impl Side {
    /// `1` -> Buy, `2` -> Sell, anything else -> `None`.
    #[inline]
    pub fn from_u8(value: u8) -> Option<Side> {
        match value {
            1 => Some(Side::Buy),
            2 => Some(Side::Sell),
            _ => None,
        }
    }

    /// The other side.
    #[inline]
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
}

/// What a delta does. The integer values are the C ABI's.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BookAction {
    Add = 1,
    Update = 2,
    Delete = 3,
    Clear = 4,
}

impl BookAction {
    /// `1..=4` -> the action, anything else -> `None`.
    #[inline]
    pub fn from_u8(value: u8) -> Option<BookAction> {
        match value {
            1 => Some(BookAction::Add),
            2 => Some(BookAction::Update),
            3 => Some(BookAction::Delete),
            4 => Some(BookAction::Clear),
            _ => None,
        }
    }
}

/// Book granularity. The integer values are the C ABI's.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BookType {
    /// Top of book only (from quotes, trades or L1 deltas).
    L1Mbp = 1,
    /// Market by price: one aggregate size per price level.
    L2Mbp = 2,
    /// Market by order: a FIFO queue of orders per price level.
    L3Mbo = 3,
}

impl BookType {
    pub fn from_u8(value: u8) -> Option<BookType> {
        match value {
            1 => Some(BookType::L1Mbp),
            2 => Some(BookType::L2Mbp),
            3 => Some(BookType::L3Mbo),
            _ => None,
        }
    }
}

/// One change to a book, in raw fixed-point units of the book's precisions.
///
/// The layout is `#[repr(C)]` and identical to the C ABI's `AfBookDelta` (56 bytes), so a
/// batch from C or numpy is read in place. It carries every field of the Python
/// `OrderBookDelta` (also `ts_init`, which the book ignores) so data converts losslessly. `action` and `side` stay integers because they come
/// from foreign memory; they are checked when the delta is applied. Build deltas with
/// [`BookDelta::add`], [`BookDelta::update`], [`BookDelta::delete`] and [`BookDelta::clear`].
///
/// `order_id` matters for L3 books only; `sequence` must never go down (see the book docs).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct BookDelta {
    /// Venue event time, ns since the Unix epoch.
    pub ts_event: u64,
    /// When the delta was built locally, ns since the Unix epoch; carried, not used.
    pub ts_init: u64,
    /// Venue sequence number (0 when the venue has none).
    pub sequence: u64,
    /// Venue order id (L3); ignored by L1/L2 books.
    pub order_id: u64,
    /// Raw price at the book's price precision.
    pub price: i64,
    /// Raw size at the book's size precision (level size for L1/L2, order size for L3).
    pub size: i64,
    /// [`BookAction`] as `u8`.
    pub action: u8,
    /// [`Side`] as `u8`; `0` (no side) is allowed for CLEAR only and clears both sides.
    pub side: u8,
    /// Bit set of [`F_LAST`], [`F_SNAPSHOT`].
    pub flags: u8,
    /// Explicit padding so the layout has no implicit holes; ignored.
    pub reserved: [u8; 5],
}

impl BookDelta {
    fn new(action: BookAction, side: u8, price: i64, size: i64, order_id: u64) -> Self {
        BookDelta {
            action: action as u8,
            side,
            price,
            size,
            order_id,
            ..BookDelta::default()
        }
    }

    /// An ADD: a new level (L1/L2: sets the level) or a new order `order_id` (L3).
    pub fn add(side: Side, price: i64, size: i64, order_id: u64) -> Self {
        Self::new(BookAction::Add, side as u8, price, size, order_id)
    }

    /// An UPDATE: the level's (L2) or order's (L3) new size; size 0 removes it.
    pub fn update(side: Side, price: i64, size: i64, order_id: u64) -> Self {
        Self::new(BookAction::Update, side as u8, price, size, order_id)
    }

    /// A DELETE of a level (L1/L2, by price) or an order (L3, by `order_id`).
    pub fn delete(side: Side, price: i64, order_id: u64) -> Self {
        Self::new(BookAction::Delete, side as u8, price, 0, order_id)
    }

    /// A CLEAR of one side, or of both with `None`.
    pub fn clear(side: Option<Side>) -> Self {
        Self::new(BookAction::Clear, side.map_or(0, |s| s as u8), 0, 0, 0)
    }

    /// Sets `sequence` and `ts_event`.
    pub fn at(mut self, sequence: u64, ts_event: u64) -> Self {
        self.sequence = sequence;
        self.ts_event = ts_event;
        self
    }

    /// Sets `flags`.
    pub fn with_flags(mut self, flags: u8) -> Self {
        self.flags = flags;
        self
    }

    /// The action, if the byte is a valid one.
    pub fn book_action(&self) -> Option<BookAction> {
        BookAction::from_u8(self.action)
    }

    /// The side, if the byte is a valid one (`None` also for CLEAR of both sides).
    pub fn book_side(&self) -> Option<Side> {
        Side::from_u8(self.side)
    }

    /// Whether [`F_LAST`] is set.
    pub fn is_last(&self) -> bool {
        self.flags & F_LAST != 0
    }
}

/// A price level as seen by queries: raw price, raw aggregate size, number of orders
/// (L3 only; 0 for L1/L2 where the venue does not say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Level {
    pub price: i64,
    pub size: i64,
    pub orders: u32,
}

/// Whether the best bid reaches the best ask.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Crossing {
    /// Best bid < best ask, or a side is empty.
    None = 0,
    /// Best bid == best ask.
    Locked = 1,
    /// Best bid > best ask.
    Crossed = 2,
}

/// Top of book plus bookkeeping, as published after every change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TopOfBook {
    /// `(price, size)` of the best bid.
    pub bid: Option<(i64, i64)>,
    /// `(price, size)` of the best ask.
    pub ask: Option<(i64, i64)>,
    /// Sequence of the last applied delta.
    pub sequence: u64,
    /// `ts_event` of the last applied delta.
    pub ts_event: u64,
    /// Flags of the last applied delta.
    pub last_flags: u8,
}

/// Sequence, time and flags of the last applied change, plus the book's precisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BookMeta {
    pub price_precision: u8,
    pub size_precision: u8,
    pub sequence: u64,
    pub ts_event: u64,
    pub last_flags: u8,
}

impl BookMeta {
    pub(crate) fn new(price_precision: u8, size_precision: u8) -> Result<Self, BookError> {
        for (field, p) in [
            ("price_precision", price_precision),
            ("size_precision", size_precision),
        ] {
            if p > crate::MAX_PRECISION {
                return Err(BookError::new(
                    BookErrorKind::Precision,
                    field,
                    p,
                    format!("must be in 0..={}", crate::MAX_PRECISION),
                ));
            }
        }
        Ok(BookMeta {
            price_precision,
            size_precision,
            ..BookMeta::default()
        })
    }

    #[inline]
    pub(crate) fn record(&mut self, d: &BookDelta) {
        self.sequence = d.sequence;
        self.ts_event = d.ts_event;
        self.last_flags = d.flags;
    }

    pub(crate) fn reset(&mut self) {
        *self = BookMeta {
            price_precision: self.price_precision,
            size_precision: self.size_precision,
            ..BookMeta::default()
        };
    }
}

/// The result of walking one side of the book for a quantity (see
/// [`BookQuery::fill_estimate`](super::BookQuery::fill_estimate)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillEstimate {
    /// The taker side: BUY walks the asks, SELL walks the bids.
    pub order_side: Side,
    /// Quantity asked for (raw size).
    pub requested: i64,
    /// Quantity the book can fill (raw size), `<= requested`.
    pub filled: i64,
    /// Sum of `price * size` over the fills, at precision `price_precision + size_precision`.
    pub notional: i128,
    /// Number of levels touched.
    pub levels: u32,
    /// Best price of the walked side before the fill (`None`: the side is empty).
    pub best_price: Option<i64>,
    /// Price of the last level touched (`None`: nothing filled).
    pub worst_price: Option<i64>,
    /// The book's price precision (the average is computed relative to it).
    pub price_precision: u8,
}

impl FillEstimate {
    /// Whether the whole requested quantity can be filled.
    pub fn is_complete(&self) -> bool {
        self.filled == self.requested
    }

    /// Volume-weighted average price as a raw value at `precision` (>= the book's price
    /// precision), rounded half to even. `None` when nothing can be filled.
    pub fn avg_price(&self, precision: u8) -> Result<Option<i64>, BookError> {
        if self.filled == 0 {
            return Ok(None);
        }
        self.check_precision(precision)?;
        let scale = pow10(precision - self.price_precision);
        let num = self
            .notional
            .checked_mul(scale)
            .ok_or_else(|| BookError::overflow("avg_price", "notional * 10^digits"))?;
        let avg = div_half_even(num, i128::from(self.filled));
        i64::try_from(avg)
            .map(Some)
            .map_err(|_| BookError::overflow("avg_price", "average price"))
    }

    /// How much worse than the best price the average is, as a raw value at `precision`
    /// (`avg - best` for BUY, `best - avg` for SELL; `>= 0`). `None` when nothing can be filled.
    pub fn slippage(&self, precision: u8) -> Result<Option<i64>, BookError> {
        let (Some(avg), Some(best)) = (self.avg_price(precision)?, self.best_price) else {
            return Ok(None);
        };
        let best = i128::from(best) * pow10(precision - self.price_precision);
        let slip = match self.order_side {
            Side::Buy => i128::from(avg) - best,
            Side::Sell => best - i128::from(avg),
        };
        i64::try_from(slip)
            .map(Some)
            .map_err(|_| BookError::overflow("slippage", "slippage"))
    }

    fn check_precision(&self, precision: u8) -> Result<(), BookError> {
        if precision < self.price_precision || precision > crate::MAX_PRECISION {
            return Err(BookError::new(
                BookErrorKind::Precision,
                "precision",
                precision,
                format!(
                    "must be in {}..={} (the book's price precision up to 18)",
                    self.price_precision,
                    crate::MAX_PRECISION
                ),
            ));
        }
        Ok(())
    }
}

fn pow10(exp: u8) -> i128 {
    10i128.pow(u32::from(exp))
}

/// `n / d` rounded half to even; `d > 0`.
fn div_half_even(n: i128, d: i128) -> i128 {
    let q = n.div_euclid(d);
    let r = n.rem_euclid(d); // 0 <= r < d
    match (2 * r).cmp(&d) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q & 1),
    }
}

/// What kind of failure a [`BookError`] is (maps onto the C ABI status codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BookErrorKind {
    /// A malformed or unusable value: bad action/side byte, negative size, a sequence that goes
    /// back, a duplicate L3 order id, a side mismatch, the wrong book type for a call.
    InvalidArgument,
    /// An L3 order id that is not on the book.
    NotFound,
    /// A size total or a notional that does not fit.
    Overflow,
    /// A precision outside the allowed range.
    Precision,
    /// An integrity check failed (a bug, or a book fed inconsistent data it could not detect).
    Integrity,
}

/// A rejected delta or argument. The message names the field and its value; for a delta in a
/// batch, `index` is its position and the field is `deltas[index].<field>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookError {
    pub kind: BookErrorKind,
    /// Index of the rejected delta in the batch (`None` outside a batch).
    pub index: Option<usize>,
    /// The field path: `delta.size`, `deltas[3].order_id`, `qty`, ...
    pub field: String,
    /// The offending value as text.
    pub value: String,
    /// Why it was rejected.
    pub reason: String,
}

impl BookError {
    pub(crate) fn new(
        kind: BookErrorKind,
        field: impl Into<String>,
        value: impl fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        BookError {
            kind,
            index: None,
            field: field.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid(
        field: &str,
        value: impl fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        Self::new(BookErrorKind::InvalidArgument, field, value, reason)
    }

    pub(crate) fn overflow(field: &str, what: &str) -> Self {
        Self::new(
            BookErrorKind::Overflow,
            field,
            "?",
            format!("{what} does not fit the 64/128-bit range"),
        )
    }

    pub(crate) fn integrity(reason: impl Into<String>) -> Self {
        Self::new(BookErrorKind::Integrity, "book", "<state>", reason)
    }

    /// Rewrites `delta.<field>` as `deltas[index].<field>` and records the index.
    pub(crate) fn at(mut self, index: usize) -> Self {
        if let Some(rest) = self.field.strip_prefix("delta.") {
            self.field = format!("deltas[{index}].{rest}");
        }
        self.index = Some(index);
        self
    }
}

impl fmt::Display for BookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}: {}", self.field, self.value, self.reason)
    }
}

impl std::error::Error for BookError {}

/// Why a delta was rejected, found cheaply on the hot path; turned into a [`BookError`] (with
/// the message) only once a delta actually fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    Action,
    Side,
    NegativeSize,
    ZeroSizeAdd,
    SequenceBack(u64),
    DuplicateOrder,
    MissingOrder,
    SideMismatch(Side),
    LevelOverflow,
}

impl Fault {
    pub(crate) fn error(self, d: &BookDelta) -> BookError {
        use BookErrorKind::*;
        let (kind, field, value, reason): (_, _, String, String) = match self {
            Fault::Action => (
                InvalidArgument,
                "action",
                d.action.to_string(),
                "must be 1 (ADD), 2 (UPDATE), 3 (DELETE) or 4 (CLEAR)".into(),
            ),
            Fault::Side => (
                InvalidArgument,
                "side",
                d.side.to_string(),
                if d.action == BookAction::Clear as u8 {
                    "must be 0 (both sides), 1 (BUY) or 2 (SELL) for CLEAR".into()
                } else {
                    "must be 1 (BUY) or 2 (SELL)".into()
                },
            ),
            Fault::NegativeSize => (
                InvalidArgument,
                "size",
                d.size.to_string(),
                "must be >= 0".into(),
            ),
            Fault::ZeroSizeAdd => (
                InvalidArgument,
                "size",
                d.size.to_string(),
                "ADD needs a positive size".into(),
            ),
            Fault::SequenceBack(last) => (
                InvalidArgument,
                "sequence",
                d.sequence.to_string(),
                format!("lower than the book's last applied sequence {last}"),
            ),
            Fault::DuplicateOrder => (
                InvalidArgument,
                "order_id",
                d.order_id.to_string(),
                "ADD of an order id that is already on the book (use UPDATE)".into(),
            ),
            Fault::MissingOrder => (
                NotFound,
                "order_id",
                d.order_id.to_string(),
                format!(
                    "{} of an order id that is not on the book",
                    if d.action == BookAction::Delete as u8 {
                        "DELETE"
                    } else {
                        "UPDATE"
                    }
                ),
            ),
            Fault::SideMismatch(actual) => (
                InvalidArgument,
                "side",
                d.side.to_string(),
                format!(
                    "order {} is on the {} side; an UPDATE cannot change the side",
                    d.order_id,
                    actual.name()
                ),
            ),
            Fault::LevelOverflow => (
                Overflow,
                "size",
                d.size.to_string(),
                format!("the level total at price {} would overflow int64", d.price),
            ),
        };
        BookError::new(kind, format!("delta.{field}"), value, reason)
    }
}

/// The same verdict as [`check_common`] without the reason, computed without branches so a
/// batch can be validated in a tight loop (the reason is looked up only once one fails).
#[inline(always)]
pub(crate) fn is_valid(d: &BookDelta, last_sequence: u64) -> bool {
    let a = d.action;
    let action_ok = a.wrapping_sub(1) <= 3;
    let side_ok = (a == 4) & (d.side <= 2) | (a != 4) & (d.side.wrapping_sub(1) <= 1);
    let size_ok = (d.size > 0) | ((d.size == 0) & (a != 1));
    let seq_ok = d.sequence >= last_sequence;
    action_ok & side_ok & size_ok & seq_ok
}

/// Stateless checks shared by every book type: action, side, size sign, sequence order.
#[inline(always)]
pub(crate) fn check_common(d: &BookDelta, last_sequence: u64) -> Result<(), Fault> {
    if d.sequence < last_sequence {
        return Err(Fault::SequenceBack(last_sequence));
    }
    match d.action {
        1 => {
            if d.side.wrapping_sub(1) > 1 {
                return Err(Fault::Side);
            }
            if d.size <= 0 {
                return Err(if d.size < 0 {
                    Fault::NegativeSize
                } else {
                    Fault::ZeroSizeAdd
                });
            }
        }
        2 | 3 => {
            if d.side.wrapping_sub(1) > 1 {
                return Err(Fault::Side);
            }
            if d.size < 0 {
                return Err(Fault::NegativeSize);
            }
        }
        4 => {
            if d.side > 2 {
                return Err(Fault::Side);
            }
        }
        _ => return Err(Fault::Action),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_layout_is_56_bytes() {
        assert_eq!(std::mem::size_of::<BookDelta>(), 56);
        assert_eq!(std::mem::align_of::<BookDelta>(), 8);
        assert_eq!(std::mem::offset_of!(BookDelta, action), 48);
        assert_eq!(std::mem::offset_of!(BookDelta, reserved), 51);
    }

    #[test]
    fn half_even() {
        assert_eq!(div_half_even(5, 2), 2);
        assert_eq!(div_half_even(7, 2), 4);
        assert_eq!(div_half_even(-5, 2), -2);
        assert_eq!(div_half_even(-7, 2), -4);
        assert_eq!(div_half_even(10, 3), 3);
        assert_eq!(div_half_even(11, 3), 4);
    }

    #[test]
    fn error_messages_name_field_and_index() {
        let d = BookDelta::add(Side::Buy, 100, -5, 0);
        let err = Fault::NegativeSize.error(&d);
        assert_eq!(err.to_string(), "delta.size=-5: must be >= 0");
        let err = err.at(7);
        assert_eq!(err.to_string(), "deltas[7].size=-5: must be >= 0");
        assert_eq!(err.index, Some(7));
    }

    #[test]
    fn common_checks() {
        let ok = BookDelta::update(Side::Sell, 1, 0, 0).at(5, 0);
        assert_eq!(check_common(&ok, 5), Ok(()));
        assert_eq!(check_common(&ok, 6), Err(Fault::SequenceBack(6)));
        let mut bad = ok;
        bad.side = 0;
        assert_eq!(check_common(&bad, 0), Err(Fault::Side));
        bad.action = 9;
        assert_eq!(check_common(&bad, 0), Err(Fault::Action));
        assert_eq!(
            check_common(&BookDelta::add(Side::Buy, 1, 0, 0), 0),
            Err(Fault::ZeroSizeAdd)
        );
        assert_eq!(check_common(&BookDelta::clear(None), 0), Ok(()));
        let mut clear = BookDelta::clear(None);
        clear.side = 3;
        assert_eq!(check_common(&clear, 0), Err(Fault::Side));
    }
}
