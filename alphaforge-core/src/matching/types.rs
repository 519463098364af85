//! Value types of the matching engine: enums, configuration, commands, events, reason codes.
//!
//! Every price and quantity is a raw `i64` at the engine's fixed precisions (configured once
//! per instrument), timestamps are `u64` nanoseconds since the Unix epoch. The integer values of
//! the enums are part of the C ABI (they equal the Python `alphaforge.model.enums` values).

use crate::error::{CoreError, CoreResult};

/// A structurally invalid input batch (bad enum value, negative size, ...): nothing of the batch
/// was applied. The message names the record and field, e.g. `deltas[3].action=9: ...`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InputError {
    pub message: String,
}

impl InputError {
    pub(crate) fn record(
        what: &str,
        index: usize,
        field: &str,
        value: impl std::fmt::Display,
        reason: &str,
    ) -> Self {
        InputError {
            message: format!("{what}[{index}].{field}={value}: {reason}"),
        }
    }
}
use crate::fixed::MAX_PRECISION;

/// Nanoseconds in a day (DAY orders).
pub const NANOS_PER_DAY: u64 = 86_400_000_000_000;

macro_rules! int_enum {
    ($(#[$meta:meta])* $name:ident : $field:literal { $($(#[$vmeta:meta])* $variant:ident = $value:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum $name { $($(#[$vmeta])* $variant = $value),* }

        impl $name {
            /// Every variant, in value order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The variant with this integer value.
            pub fn from_u8(value: u8) -> Option<Self> {
                match value {
                    $($value => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// Like [`Self::from_u8`] but an error naming `field` and the value.
            pub fn parse(value: u32, field: &'static str) -> CoreResult<Self> {
                u8::try_from(value)
                    .ok()
                    .and_then(Self::from_u8)
                    .ok_or_else(|| CoreError::InvalidArgument {
                        field,
                        value: value.to_string(),
                        reason: format!(
                            "unknown {} (valid: {})",
                            $field,
                            [$(concat!(stringify!($value), "=", stringify!($variant))),*].join(", ")
                        ),
                    })
            }
        }
    };
}

int_enum! {
    /// Order side.
    Side: "side" { Buy = 1, Sell = 2 }
}

impl Side {
    /// The other side.
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// +1 for buy, -1 for sell (position arithmetic).
    pub fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }

    /// Whether a limit `price` on this side crosses (can trade with) a resting `other` price on
    /// the opposite side.
    #[inline]
    pub fn crosses(self, price: i64, other: i64) -> bool {
        match self {
            Side::Buy => price >= other,
            Side::Sell => price <= other,
        }
    }

    /// Whether `a` is a strictly better price than `b` for an order on this side.
    #[inline]
    pub fn better(self, a: i64, b: i64) -> bool {
        match self {
            Side::Buy => a > b,
            Side::Sell => a < b,
        }
    }
}

int_enum! {
    /// Order type.
    OrderType: "order type" {
        Market = 1,
        Limit = 2,
        StopMarket = 3,
        StopLimit = 4,
        MarketIfTouched = 5,
        LimitIfTouched = 6,
    }
}

impl OrderType {
    /// Carries a limit price (LIMIT, STOP_LIMIT, LIMIT_IF_TOUCHED).
    pub fn has_price(self) -> bool {
        matches!(
            self,
            OrderType::Limit | OrderType::StopLimit | OrderType::LimitIfTouched
        )
    }

    /// Waits for a trigger (STOP_*, *_IF_TOUCHED).
    pub fn has_trigger(self) -> bool {
        !matches!(self, OrderType::Market | OrderType::Limit)
    }
}

int_enum! {
    /// Time in force.
    TimeInForce: "time in force" { Gtc = 1, Ioc = 2, Fok = 3, Gtd = 4, Day = 5 }
}

int_enum! {
    /// What the engine matches against.
    Mode: "mode" {
        /// A venue: resting orders match each other.
        Exchange = 1,
        /// A simulated venue: the user's orders match against market data.
        Backtest = 2,
    }
}

int_enum! {
    /// Self-trade prevention (exchange mode): what happens when an aggressor would trade with a
    /// resting order of the same trader id.
    SelfTrade: "self-trade mode" {
        /// Self-trades are allowed (they fill like any other match).
        Allow = 1,
        /// The resting order is canceled; the aggressor continues (the default).
        CancelResting = 2,
        /// The aggressor's remainder is canceled; the resting order stays.
        CancelAggressor = 3,
        /// Both are canceled.
        CancelBoth = 4,
    }
}

int_enum! {
    /// Backtest queue-position model for resting limit orders (see docs/matching-engine.md).
    QueueModel: "queue model" {
        /// Size decreases at the order's level that are not explained by trades are spread over
        /// the queue pro rata: the part ahead of the order shrinks by `decrease * ahead / size`.
        Proportional = 1,
        /// Cancels come from behind the order: only trades shrink the queue ahead (and the queue
        /// ahead never exceeds the visible level size).
        Conservative = 2,
    }
}

int_enum! {
    /// Command kind.
    CommandKind: "command kind" { Submit = 1, Modify = 2, Cancel = 3 }
}

int_enum! {
    /// Which side of a trade took liquidity.
    Aggressor: "aggressor side" { NoAggressor = 0, Buyer = 1, Seller = 2 }
}

int_enum! {
    /// Liquidity side of a fill.
    Liquidity: "liquidity side" { None = 0, Maker = 1, Taker = 2 }
}

int_enum! {
    /// Kind of an output event.
    EventKind: "event kind" {
        /// The order passed validation and is working (or about to execute).
        Accepted = 1,
        /// A submit was refused; the order never existed. See `reason`.
        Rejected = 2,
        /// The order (its remaining quantity) was canceled. See `reason`.
        Canceled = 3,
        /// A GTD or DAY order reached its expiry time.
        Expired = 4,
        /// A stop / if-touched order's trigger condition was met; it now works as a market or
        /// limit order.
        Triggered = 5,
        /// A modify was applied.
        Updated = 6,
        /// A fill that leaves quantity open.
        PartiallyFilled = 7,
        /// The fill that completes the order.
        Filled = 8,
        /// A modify was refused; the order is unchanged. See `reason`.
        ModifyRejected = 9,
        /// A cancel was refused. See `reason`.
        CancelRejected = 10,
    }
}

int_enum! {
    /// Why an order was rejected, canceled or expired, or why a modify/cancel was refused.
    Reason: "reason" {
        None = 0,
        InvalidQuantity = 1,
        QuantityNotOnLot = 2,
        QuantityOutOfRange = 3,
        PriceNotOnTick = 4,
        TriggerNotOnTick = 5,
        InvalidDisplayQuantity = 6,
        InvalidExpireTime = 7,
        DuplicateClientOrderId = 8,
        UnknownOrder = 9,
        WrongTrader = 10,
        PostOnlyWouldTake = 11,
        PostOnlyNotAllowed = 12,
        ReduceOnlyWouldIncrease = 13,
        QuantityBelowFilled = 14,
        NotApplicable = 15,
        PriceOutOfRange = 16,
        Requested = 20,
        IocRemainder = 21,
        FokNotFillable = 22,
        NoLiquidity = 23,
        SelfTrade = 24,
        ReduceOnlyPositionClosed = 25,
        ExpiredGtd = 26,
        ExpiredDay = 27,
    }
}

impl Reason {
    /// A static English description (also exported through the C ABI).
    pub fn text(self) -> &'static str {
        match self {
            Reason::None => "no reason",
            Reason::InvalidQuantity => "quantity must be positive",
            Reason::QuantityNotOnLot => "quantity is not a multiple of the size increment",
            Reason::QuantityOutOfRange => "quantity is outside the instrument's min/max",
            Reason::PriceNotOnTick => "price is not a multiple of the price increment",
            Reason::TriggerNotOnTick => "trigger price is not a multiple of the price increment",
            Reason::InvalidDisplayQuantity => {
                "display quantity must be 0 (all visible) or a positive multiple of the size \
                 increment not above the quantity, and only on orders that can rest"
            }
            Reason::InvalidExpireTime => {
                "GTD needs an expire time after the command time; other time in force take none"
            }
            Reason::DuplicateClientOrderId => "client order id is already used by an open order",
            Reason::UnknownOrder => "no open order with this client order id",
            Reason::WrongTrader => "the order belongs to another trader id",
            Reason::PostOnlyWouldTake => "post-only order would take liquidity",
            Reason::PostOnlyNotAllowed => {
                "post-only needs a price-carrying order type and GTC, GTD or DAY"
            }
            Reason::ReduceOnlyWouldIncrease => "reduce-only order would increase the position",
            Reason::QuantityBelowFilled => "new quantity must exceed the filled quantity",
            Reason::NotApplicable => "the field does not apply to this order (type or state)",
            Reason::PriceOutOfRange => "price is outside the supported range",
            Reason::Requested => "canceled on request",
            Reason::IocRemainder => "immediate-or-cancel remainder",
            Reason::FokNotFillable => "fill-or-kill order could not be filled completely",
            Reason::NoLiquidity => "market order remainder: no more liquidity",
            Reason::SelfTrade => "self-trade prevention",
            Reason::ReduceOnlyPositionClosed => "reduce-only order: the position is closed",
            Reason::ExpiredGtd => "good-till-date expiry time reached",
            Reason::ExpiredDay => "DAY order: session end reached",
        }
    }
}

/// Command flag: the order must not take liquidity (rejected if it would).
pub const FLAG_POST_ONLY: u32 = 1;
/// Command flag: the order may only reduce the trader's position.
pub const FLAG_REDUCE_ONLY: u32 = 1 << 1;
/// Modify flag: `price` carries a new limit price.
pub const FLAG_MODIFY_PRICE: u32 = 1 << 2;
/// Modify flag: `trigger_price` carries a new trigger price.
pub const FLAG_MODIFY_TRIGGER: u32 = 1 << 3;
/// Every defined flag bit.
pub const FLAGS_ALL: u32 =
    FLAG_POST_ONLY | FLAG_REDUCE_ONLY | FLAG_MODIFY_PRICE | FLAG_MODIFY_TRIGGER;

/// Largest price magnitude accepted (keeps every `price * qty` product far inside `i128`).
pub const PRICE_LIMIT: i64 = i64::MAX / 2;

/// Per-instrument engine configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    pub mode: Mode,
    /// Tick size, raw at `price_precision` (>= 1).
    pub price_increment: i64,
    /// Lot size, raw at `size_precision` (>= 1).
    pub size_increment: i64,
    /// Smallest order quantity, raw (0: none).
    pub min_quantity: i64,
    /// Largest order quantity, raw (0: none).
    pub max_quantity: i64,
    pub price_precision: u8,
    pub size_precision: u8,
    /// Fee rates as fixed point at `fee_rate_precision`: fee = price * qty * rate. Negative is
    /// a rebate.
    pub maker_fee_rate: i64,
    pub taker_fee_rate: i64,
    pub fee_rate_precision: u8,
    /// Precision of fee amounts in events (e.g. the quote currency's).
    pub fee_precision: u8,
    /// DAY orders expire at UTC midnight + this offset (0 ..< 1 day).
    pub day_end_offset_ns: u64,
    pub self_trade: SelfTrade,
    pub queue_model: QueueModel,
}

impl Config {
    /// Defaults: the given mode, precisions 0, increments 1, no fees, DAY = UTC midnight,
    /// cancel-resting self-trade prevention, proportional queue model.
    pub fn new(mode: Mode) -> Self {
        Config {
            mode,
            price_increment: 1,
            size_increment: 1,
            min_quantity: 0,
            max_quantity: 0,
            price_precision: 0,
            size_precision: 0,
            maker_fee_rate: 0,
            taker_fee_rate: 0,
            fee_rate_precision: 0,
            fee_precision: 0,
            day_end_offset_ns: 0,
            self_trade: SelfTrade::CancelResting,
            queue_model: QueueModel::Proportional,
        }
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> CoreResult<()> {
        let bad = |field: &'static str, value: String, reason: &str| {
            Err(CoreError::InvalidArgument {
                field,
                value,
                reason: reason.to_owned(),
            })
        };
        if self.price_increment < 1 {
            return bad(
                "price_increment",
                self.price_increment.to_string(),
                "must be >= 1",
            );
        }
        if self.size_increment < 1 {
            return bad(
                "size_increment",
                self.size_increment.to_string(),
                "must be >= 1",
            );
        }
        if self.min_quantity < 0 {
            return bad(
                "min_quantity",
                self.min_quantity.to_string(),
                "must be >= 0",
            );
        }
        if self.max_quantity < 0 || (self.max_quantity > 0 && self.max_quantity < self.min_quantity)
        {
            return bad(
                "max_quantity",
                self.max_quantity.to_string(),
                "must be 0 (no limit) or >= min_quantity",
            );
        }
        for (field, value) in [
            ("price_precision", self.price_precision),
            ("size_precision", self.size_precision),
            ("fee_rate_precision", self.fee_rate_precision),
            ("fee_precision", self.fee_precision),
        ] {
            if value > MAX_PRECISION {
                return bad(field, value.to_string(), "must be in 0..=18");
            }
        }
        if self.day_end_offset_ns >= NANOS_PER_DAY {
            return bad(
                "day_end_offset_ns",
                self.day_end_offset_ns.to_string(),
                "must be below one day (86400000000000)",
            );
        }
        Ok(())
    }
}

/// One input command (submit, modify or cancel). Fields that do not apply are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command {
    pub kind: CommandKind,
    pub ts: u64,
    pub client_order_id: u64,
    pub trader_id: u32,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    pub flags: u32,
    pub price: i64,
    pub trigger_price: i64,
    /// SUBMIT: order quantity. MODIFY: new total quantity (0: unchanged).
    pub qty: i64,
    /// Iceberg display quantity (0: all visible).
    pub display_qty: i64,
    /// GTD expiry (ns).
    pub expire_ts: u64,
}

impl Command {
    /// A GTC limit submit (tests and examples).
    pub fn limit(ts: u64, id: u64, side: Side, price: i64, qty: i64) -> Self {
        Command {
            kind: CommandKind::Submit,
            ts,
            client_order_id: id,
            trader_id: 0,
            side,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::Gtc,
            flags: 0,
            price,
            trigger_price: 0,
            qty,
            display_qty: 0,
            expire_ts: 0,
        }
    }

    /// A market submit.
    pub fn market(ts: u64, id: u64, side: Side, qty: i64) -> Self {
        Command {
            order_type: OrderType::Market,
            price: 0,
            ..Command::limit(ts, id, side, 0, qty)
        }
    }

    /// A cancel.
    pub fn cancel(ts: u64, id: u64) -> Self {
        Command {
            kind: CommandKind::Cancel,
            qty: 0,
            ..Command::limit(ts, id, Side::Buy, 0, 0)
        }
    }

    /// A modify: `price` and `qty` are applied when `Some`.
    pub fn modify(ts: u64, id: u64, price: Option<i64>, qty: Option<i64>) -> Self {
        Command {
            kind: CommandKind::Modify,
            flags: if price.is_some() {
                FLAG_MODIFY_PRICE
            } else {
                0
            },
            price: price.unwrap_or(0),
            qty: qty.unwrap_or(0),
            ..Command::limit(ts, id, Side::Buy, 0, 0)
        }
    }

    pub fn with_trader(mut self, trader_id: u32) -> Self {
        self.trader_id = trader_id;
        self
    }

    pub fn with_tif(mut self, tif: TimeInForce) -> Self {
        self.time_in_force = tif;
        self
    }

    pub fn with_flags(mut self, flags: u32) -> Self {
        self.flags |= flags;
        self
    }
}

/// One output event. `price`/`qty` depend on the kind (see docs/matching-engine.md):
/// fills carry the fill price and quantity, ACCEPTED/UPDATED the order's price and total
/// quantity, CANCELED/EXPIRED the quantity taken off the book, TRIGGERED the trigger price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub ts: u64,
    pub client_order_id: u64,
    /// Assigned by the engine at acceptance (1, 2, ...); 0 for a rejected submit.
    pub venue_order_id: u64,
    /// Fills: the match id (both sides of an exchange-mode match share it); else 0.
    pub trade_id: u64,
    pub trader_id: u32,
    /// `None` only for a modify/cancel of an unknown order.
    pub side: Option<Side>,
    pub order_type: Option<OrderType>,
    pub price: i64,
    pub trigger_price: i64,
    pub qty: i64,
    /// Open quantity after the event.
    pub leaves: i64,
    /// Fills: fee at `fee_precision` (negative: rebate); else 0.
    pub fee: i64,
    pub liquidity: Liquidity,
    pub reason: Reason,
}

/// Top of book (backtest mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quote {
    pub ts: u64,
    pub bid_price: i64,
    pub ask_price: i64,
    /// A side with size 0 is empty.
    pub bid_size: i64,
    pub ask_size: i64,
}

/// A trade print (backtest mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trade {
    pub ts: u64,
    pub price: i64,
    pub size: i64,
    pub aggressor: Aggressor,
}

/// An OHLCV bar (backtest mode); `ts` is the bar's close time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bar {
    pub ts: u64,
    pub open: i64,
    pub high: i64,
    pub low: i64,
    pub close: i64,
    pub volume: i64,
}

impl Quote {
    pub(crate) fn check(&self, i: usize) -> Result<(), InputError> {
        if self.bid_size < 0 {
            return Err(InputError::record(
                "quotes",
                i,
                "bid_size",
                self.bid_size,
                "must be >= 0",
            ));
        }
        if self.ask_size < 0 {
            return Err(InputError::record(
                "quotes",
                i,
                "ask_size",
                self.ask_size,
                "must be >= 0",
            ));
        }
        Ok(())
    }
}

impl Trade {
    pub(crate) fn check(&self, i: usize) -> Result<(), InputError> {
        if self.size <= 0 {
            return Err(InputError::record(
                "trades",
                i,
                "size",
                self.size,
                "must be > 0",
            ));
        }
        Ok(())
    }
}

impl Bar {
    pub(crate) fn check(&self, i: usize) -> Result<(), InputError> {
        let (o, h, l, c) = (self.open, self.high, self.low, self.close);
        if h < o || h < c || h < l {
            return Err(InputError::record(
                "bars",
                i,
                "high",
                h,
                &format!("must be >= open {o}, close {c} and low {l}"),
            ));
        }
        if l > o || l > c {
            return Err(InputError::record(
                "bars",
                i,
                "low",
                l,
                &format!("must be <= open {o} and close {c}"),
            ));
        }
        if self.volume < 0 {
            return Err(InputError::record(
                "bars",
                i,
                "volume",
                self.volume,
                "must be >= 0",
            ));
        }
        Ok(())
    }
}

/// A snapshot of one open order (query).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderInfo {
    pub client_order_id: u64,
    pub venue_order_id: u64,
    pub trader_id: u32,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    pub flags: u32,
    pub price: i64,
    pub trigger_price: i64,
    pub qty: i64,
    pub filled: i64,
    pub leaves: i64,
    /// Visible part of an iceberg now (equals `leaves` for a plain order).
    pub visible: i64,
    pub display_qty: i64,
    pub expire_ts: u64,
    /// True while a stop / if-touched order waits for its trigger.
    pub pending_trigger: bool,
    /// Backtest: estimated quantity ahead in the queue at the order's level (-1: unknown).
    pub queue_ahead: i64,
}
