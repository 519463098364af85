//! `af_matching_*`: the matching engine (one per instrument) behind an opaque handle.
//!
//! Commands and market data go in as batches of `#[repr(C)]` records; outcomes come back as
//! `AfMatchEvent` records drained into a caller buffer. Events are queued inside the engine
//! and a drain that does not fit leaves the rest queued for the next drain: nothing is lost.
//! A structurally invalid batch (NULL, unknown enum value, negative size) fails with a status
//! and changes nothing; an invalid *order* (bad quantity, unknown id, ...) is an event with a
//! reason code. See docs/matching-engine.md.

use std::ffi::c_char;
use std::sync::{Mutex, MutexGuard};

use alphaforge_core::book::BookDelta;
use alphaforge_core::matching::{
    Aggressor, Bar, Command, CommandKind, Config, Event, InputError, MatchingEngine, Mode,
    OrderInfo, OrderType, QueueModel, Quote, Reason, SelfTrade, Side, TimeInForce, Trade,
    FLAGS_ALL,
};

use crate::bars::AfBar;
use crate::book::AfBookDelta;
use crate::guard::{guard, guard_value, non_null, FfiError, FfiResult};
use crate::status::*;

// Engine mode.
pub const AF_MATCH_MODE_EXCHANGE: u32 = 1;
pub const AF_MATCH_MODE_BACKTEST: u32 = 2;
// Self-trade prevention.
pub const AF_MATCH_STP_ALLOW: u32 = 1;
pub const AF_MATCH_STP_CANCEL_RESTING: u32 = 2;
pub const AF_MATCH_STP_CANCEL_AGGRESSOR: u32 = 3;
pub const AF_MATCH_STP_CANCEL_BOTH: u32 = 4;
// Backtest queue-position model.
pub const AF_MATCH_QUEUE_PROPORTIONAL: u32 = 1;
pub const AF_MATCH_QUEUE_CONSERVATIVE: u32 = 2;
// Command kinds.
pub const AF_MATCH_CMD_SUBMIT: u8 = 1;
pub const AF_MATCH_CMD_MODIFY: u8 = 2;
pub const AF_MATCH_CMD_CANCEL: u8 = 3;
// Sides (orders, levels) and aggressor sides.
pub const AF_MATCH_BUY: u8 = 1;
pub const AF_MATCH_SELL: u8 = 2;
pub const AF_MATCH_NO_AGGRESSOR: u32 = 0;
pub const AF_MATCH_AGGRESSOR_BUYER: u32 = 1;
pub const AF_MATCH_AGGRESSOR_SELLER: u32 = 2;
// Order types.
pub const AF_MATCH_MARKET: u8 = 1;
pub const AF_MATCH_LIMIT: u8 = 2;
pub const AF_MATCH_STOP_MARKET: u8 = 3;
pub const AF_MATCH_STOP_LIMIT: u8 = 4;
pub const AF_MATCH_MARKET_IF_TOUCHED: u8 = 5;
pub const AF_MATCH_LIMIT_IF_TOUCHED: u8 = 6;
// Time in force.
pub const AF_MATCH_GTC: u8 = 1;
pub const AF_MATCH_IOC: u8 = 2;
pub const AF_MATCH_FOK: u8 = 3;
pub const AF_MATCH_GTD: u8 = 4;
pub const AF_MATCH_DAY: u8 = 5;
// Command flags.
pub const AF_MATCH_F_POST_ONLY: u32 = 1;
pub const AF_MATCH_F_REDUCE_ONLY: u32 = 2;
pub const AF_MATCH_F_MODIFY_PRICE: u32 = 4;
pub const AF_MATCH_F_MODIFY_TRIGGER: u32 = 8;
// Event kinds.
pub const AF_MATCH_EVT_ACCEPTED: u8 = 1;
pub const AF_MATCH_EVT_REJECTED: u8 = 2;
pub const AF_MATCH_EVT_CANCELED: u8 = 3;
pub const AF_MATCH_EVT_EXPIRED: u8 = 4;
pub const AF_MATCH_EVT_TRIGGERED: u8 = 5;
pub const AF_MATCH_EVT_UPDATED: u8 = 6;
pub const AF_MATCH_EVT_PARTIALLY_FILLED: u8 = 7;
pub const AF_MATCH_EVT_FILLED: u8 = 8;
pub const AF_MATCH_EVT_MODIFY_REJECTED: u8 = 9;
pub const AF_MATCH_EVT_CANCEL_REJECTED: u8 = 10;
// Liquidity side of a fill.
pub const AF_MATCH_MAKER: u8 = 1;
pub const AF_MATCH_TAKER: u8 = 2;
// Reason codes (af_matching_reason_text gives the text).
pub const AF_MATCH_REASON_NONE: u32 = 0;
pub const AF_MATCH_REASON_INVALID_QUANTITY: u32 = 1;
pub const AF_MATCH_REASON_QUANTITY_NOT_ON_LOT: u32 = 2;
pub const AF_MATCH_REASON_QUANTITY_OUT_OF_RANGE: u32 = 3;
pub const AF_MATCH_REASON_PRICE_NOT_ON_TICK: u32 = 4;
pub const AF_MATCH_REASON_TRIGGER_NOT_ON_TICK: u32 = 5;
pub const AF_MATCH_REASON_INVALID_DISPLAY_QUANTITY: u32 = 6;
pub const AF_MATCH_REASON_INVALID_EXPIRE_TIME: u32 = 7;
pub const AF_MATCH_REASON_DUPLICATE_CLIENT_ORDER_ID: u32 = 8;
pub const AF_MATCH_REASON_UNKNOWN_ORDER: u32 = 9;
pub const AF_MATCH_REASON_WRONG_TRADER: u32 = 10;
pub const AF_MATCH_REASON_POST_ONLY_WOULD_TAKE: u32 = 11;
pub const AF_MATCH_REASON_POST_ONLY_NOT_ALLOWED: u32 = 12;
pub const AF_MATCH_REASON_REDUCE_ONLY_WOULD_INCREASE: u32 = 13;
pub const AF_MATCH_REASON_QUANTITY_BELOW_FILLED: u32 = 14;
pub const AF_MATCH_REASON_NOT_APPLICABLE: u32 = 15;
pub const AF_MATCH_REASON_PRICE_OUT_OF_RANGE: u32 = 16;
pub const AF_MATCH_REASON_REQUESTED: u32 = 20;
pub const AF_MATCH_REASON_IOC_REMAINDER: u32 = 21;
pub const AF_MATCH_REASON_FOK_NOT_FILLABLE: u32 = 22;
pub const AF_MATCH_REASON_NO_LIQUIDITY: u32 = 23;
pub const AF_MATCH_REASON_SELF_TRADE: u32 = 24;
pub const AF_MATCH_REASON_REDUCE_ONLY_POSITION_CLOSED: u32 = 25;
pub const AF_MATCH_REASON_EXPIRED_GTD: u32 = 26;
pub const AF_MATCH_REASON_EXPIRED_DAY: u32 = 27;

/// Engine configuration (one instrument). Prices/quantities are raw at the precisions given
/// here; fill fees are `price * qty * rate` at `fee_precision`, rounded half to even.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct AfMatchingConfig {
    /// Tick size, raw (>= 1).
    pub price_increment: i64,
    /// Lot size, raw (>= 1).
    pub size_increment: i64,
    /// Smallest order quantity, raw (0: none).
    pub min_quantity: i64,
    /// Largest order quantity, raw (0: none).
    pub max_quantity: i64,
    /// Fee rates, raw at `fee_rate_precision` (negative: rebate).
    pub maker_fee_rate: i64,
    pub taker_fee_rate: i64,
    /// DAY orders expire at UTC midnight + this offset (0 ..< 86400e9 ns).
    pub day_end_offset_ns: u64,
    /// AF_MATCH_MODE_*.
    pub mode: u32,
    /// AF_MATCH_STP_* (exchange mode).
    pub self_trade: u32,
    /// AF_MATCH_QUEUE_* (backtest mode).
    pub queue_model: u32,
    pub price_precision: u8,
    pub size_precision: u8,
    pub fee_rate_precision: u8,
    pub fee_precision: u8,
}

/// One command. SUBMIT uses every field; MODIFY uses `client_order_id`, `trader_id`, `qty`
/// (new total quantity, 0: unchanged) and `price` / `trigger_price` when flagged with
/// AF_MATCH_F_MODIFY_PRICE / _TRIGGER; CANCEL uses `client_order_id` and `trader_id`.
/// Fields a kind does not use are ignored (their enum bytes may be 0).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct AfOrderCommand {
    /// Command time, ns since the Unix epoch (the engine clock never goes back).
    pub ts: u64,
    pub client_order_id: u64,
    pub price: i64,
    pub trigger_price: i64,
    pub qty: i64,
    /// Iceberg display quantity (0: all visible).
    pub display_qty: i64,
    /// GTD expiry, ns (0 otherwise).
    pub expire_ts: u64,
    /// Owner: self-trade prevention, reduce-only positions, cancel/modify rights.
    pub trader_id: u32,
    /// AF_MATCH_F_* bits.
    pub flags: u32,
    /// AF_MATCH_CMD_*.
    pub kind: u8,
    /// AF_MATCH_BUY / AF_MATCH_SELL.
    pub side: u8,
    /// AF_MATCH_MARKET ... AF_MATCH_LIMIT_IF_TOUCHED.
    pub order_type: u8,
    /// AF_MATCH_GTC ... AF_MATCH_DAY.
    pub time_in_force: u8,
    /// Ignored; keep 0.
    pub reserved: u32,
}

/// One output event. Fills: `price`/`qty` of the fill, `fee`, `liquidity`, `trade_id`.
/// ACCEPTED, TRIGGERED, UPDATED, MODIFY_REJECTED, CANCEL_REJECTED of a known order: its current price, trigger price,
/// total quantity. CANCELED/EXPIRED: `qty` is the quantity taken off the book. `leaves` is
/// the open quantity after the event.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct AfMatchEvent {
    pub ts: u64,
    pub client_order_id: u64,
    /// Engine-assigned id (0 for a rejected submit or an unknown order).
    pub venue_order_id: u64,
    /// Fills: match id, shared by both sides of an exchange-mode match; else 0.
    pub trade_id: u64,
    pub price: i64,
    pub trigger_price: i64,
    pub qty: i64,
    pub leaves: i64,
    /// Fills: fee at `fee_precision`; else 0.
    pub fee: i64,
    pub trader_id: u32,
    /// AF_MATCH_REASON_*.
    pub reason: u32,
    /// AF_MATCH_EVT_*.
    pub kind: u8,
    /// AF_MATCH_MAKER / AF_MATCH_TAKER for fills, else 0.
    pub liquidity: u8,
    /// 0 only for a modify/cancel of an unknown order.
    pub side: u8,
    pub order_type: u8,
    pub reserved: u32,
}

/// Top of book (backtest). A side with size 0 is empty.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct AfQuoteTick {
    pub ts: u64,
    pub bid_price: i64,
    pub ask_price: i64,
    pub bid_size: i64,
    pub ask_size: i64,
}

/// A trade print (backtest).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct AfTradeTick {
    pub ts: u64,
    pub price: i64,
    /// > 0.
    pub size: i64,
    /// AF_MATCH_NO_AGGRESSOR / _AGGRESSOR_BUYER / _AGGRESSOR_SELLER.
    pub aggressor: u32,
    pub reserved: u32,
}

/// An aggregated price level of resting orders.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct AfMatchLevel {
    pub price: i64,
    /// Sum of the visible (displayed) quantities.
    pub visible: i64,
    /// Sum of the open quantities, hidden iceberg parts included.
    pub total: i64,
    pub orders: u32,
    pub reserved: u32,
}

/// A snapshot of one open order.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct AfOrderInfo {
    pub client_order_id: u64,
    pub venue_order_id: u64,
    pub price: i64,
    pub trigger_price: i64,
    pub qty: i64,
    pub filled: i64,
    pub leaves: i64,
    /// Displayed part now (0 while waiting for a trigger).
    pub visible: i64,
    pub display_qty: i64,
    /// Backtest: estimated quantity ahead in the queue; -1 if unknown or not applicable.
    pub queue_ahead: i64,
    pub expire_ts: u64,
    pub trader_id: u32,
    /// AF_MATCH_F_POST_ONLY / _REDUCE_ONLY bits.
    pub flags: u32,
    pub side: u8,
    pub order_type: u8,
    pub time_in_force: u8,
    /// 1 while a stop / if-touched order waits for its trigger.
    pub pending_trigger: u8,
    pub reserved: u32,
}

/// Opaque handle. The Mutex is needed because cffi releases the GIL around calls.
pub struct AfMatchingEngine {
    inner: Mutex<MatchingEngine>,
}

unsafe fn lock<'a>(h: *mut AfMatchingEngine) -> FfiResult<MutexGuard<'a, MatchingEngine>> {
    non_null(h, "h")?;
    (*h).inner.lock().map_err(|_| {
        FfiError::new(
            AF_ERR_STATE,
            "h: matching engine is unusable after a panic inside a call (poisoned lock); free it",
        )
    })
}

/// A batch argument: NULL is allowed only with n == 0.
unsafe fn batch<'a, T>(ptr: *const T, n: usize, name: &str) -> FfiResult<&'a [T]> {
    if n == 0 {
        return Ok(&[]);
    }
    non_null(ptr, name)?;
    Ok(std::slice::from_raw_parts(ptr, n))
}

fn invalid(message: impl Into<String>) -> FfiError {
    FfiError::new(AF_ERR_INVALID_ARGUMENT, message)
}

fn input_error(e: InputError) -> FfiError {
    invalid(e.message)
}

fn config_from(c: &AfMatchingConfig) -> FfiResult<Config> {
    let core = |e: alphaforge_core::CoreError| FfiError::core("config", &e);
    let cfg = Config {
        mode: Mode::parse(c.mode, "mode").map_err(core)?,
        price_increment: c.price_increment,
        size_increment: c.size_increment,
        min_quantity: c.min_quantity,
        max_quantity: c.max_quantity,
        price_precision: c.price_precision,
        size_precision: c.size_precision,
        maker_fee_rate: c.maker_fee_rate,
        taker_fee_rate: c.taker_fee_rate,
        fee_rate_precision: c.fee_rate_precision,
        fee_precision: c.fee_precision,
        day_end_offset_ns: c.day_end_offset_ns,
        self_trade: SelfTrade::parse(c.self_trade, "self_trade").map_err(core)?,
        queue_model: QueueModel::parse(c.queue_model, "queue_model").map_err(core)?,
    };
    cfg.validate().map_err(core)?;
    Ok(cfg)
}

/// Checks the enum bytes and flags of command `i`; the message names the record and field.
fn command_from(c: &AfOrderCommand, i: usize) -> FfiResult<Command> {
    let field = |name: &str, value: u32, valid: &str| {
        invalid(format!(
            "cmds[{i}].{name}={value}: unknown value (valid: {valid})"
        ))
    };
    let kind = CommandKind::from_u8(c.kind)
        .ok_or_else(|| field("kind", c.kind.into(), "1=SUBMIT, 2=MODIFY, 3=CANCEL"))?;
    if c.flags & !FLAGS_ALL != 0 {
        return Err(invalid(format!(
            "cmds[{i}].flags={:#x}: unknown flag bits {:#x}",
            c.flags,
            c.flags & !FLAGS_ALL
        )));
    }
    let (side, order_type, time_in_force) = if kind == CommandKind::Submit {
        (
            Side::from_u8(c.side).ok_or_else(|| field("side", c.side.into(), "1=BUY, 2=SELL"))?,
            OrderType::from_u8(c.order_type).ok_or_else(|| {
                field(
                    "order_type",
                    c.order_type.into(),
                    "1=MARKET, 2=LIMIT, 3=STOP_MARKET, 4=STOP_LIMIT, 5=MARKET_IF_TOUCHED, \
                     6=LIMIT_IF_TOUCHED",
                )
            })?,
            TimeInForce::from_u8(c.time_in_force).ok_or_else(|| {
                field(
                    "time_in_force",
                    c.time_in_force.into(),
                    "1=GTC, 2=IOC, 3=FOK, 4=GTD, 5=DAY",
                )
            })?,
        )
    } else {
        (Side::Buy, OrderType::Limit, TimeInForce::Gtc)
    };
    Ok(Command {
        kind,
        ts: c.ts,
        client_order_id: c.client_order_id,
        trader_id: c.trader_id,
        side,
        order_type,
        time_in_force,
        flags: c.flags,
        price: c.price,
        trigger_price: c.trigger_price,
        qty: c.qty,
        display_qty: c.display_qty,
        expire_ts: c.expire_ts,
    })
}

fn event_to(e: &Event) -> AfMatchEvent {
    AfMatchEvent {
        ts: e.ts,
        client_order_id: e.client_order_id,
        venue_order_id: e.venue_order_id,
        trade_id: e.trade_id,
        price: e.price,
        trigger_price: e.trigger_price,
        qty: e.qty,
        leaves: e.leaves,
        fee: e.fee,
        trader_id: e.trader_id,
        reason: e.reason as u32,
        kind: e.kind as u8,
        liquidity: e.liquidity as u8,
        side: e.side.map_or(0, |s| s as u8),
        order_type: e.order_type.map_or(0, |t| t as u8),
        reserved: 0,
    }
}

fn info_to(o: &OrderInfo) -> AfOrderInfo {
    AfOrderInfo {
        client_order_id: o.client_order_id,
        venue_order_id: o.venue_order_id,
        price: o.price,
        trigger_price: o.trigger_price,
        qty: o.qty,
        filled: o.filled,
        leaves: o.leaves,
        visible: o.visible,
        display_qty: o.display_qty,
        queue_ahead: o.queue_ahead,
        expire_ts: o.expire_ts,
        trader_id: o.trader_id,
        flags: o.flags,
        side: o.side as u8,
        order_type: o.order_type as u8,
        time_in_force: o.time_in_force as u8,
        pending_trigger: u8::from(o.pending_trigger),
        reserved: 0,
    }
}

fn side_arg(side: u8) -> FfiResult<Side> {
    Side::from_u8(side).ok_or_else(|| {
        invalid(format!(
            "side={side}: must be 1 (AF_MATCH_BUY) or 2 (AF_MATCH_SELL)"
        ))
    })
}

/// Fills `*out` with the defaults for `mode`: increments 1, precisions 0, no fees or limits,
/// DAY = UTC midnight, AF_MATCH_STP_CANCEL_RESTING, AF_MATCH_QUEUE_PROPORTIONAL.
#[no_mangle]
pub unsafe extern "C" fn af_matching_config_default(mode: u32, out: *mut AfMatchingConfig) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        let mode = Mode::parse(mode, "mode").map_err(|e| FfiError::core("mode", &e))?;
        let c = Config::new(mode);
        *out = AfMatchingConfig {
            price_increment: c.price_increment,
            size_increment: c.size_increment,
            min_quantity: c.min_quantity,
            max_quantity: c.max_quantity,
            maker_fee_rate: c.maker_fee_rate,
            taker_fee_rate: c.taker_fee_rate,
            day_end_offset_ns: c.day_end_offset_ns,
            mode: c.mode as u32,
            self_trade: c.self_trade as u32,
            queue_model: c.queue_model as u32,
            price_precision: c.price_precision,
            size_precision: c.size_precision,
            fee_rate_precision: c.fee_rate_precision,
            fee_precision: c.fee_precision,
        };
        Ok(())
    })
}

/// Creates an engine from a validated configuration; free it with af_matching_free.
#[no_mangle]
pub unsafe extern "C" fn af_matching_new(
    config: *const AfMatchingConfig,
    out: *mut *mut AfMatchingEngine,
) -> i32 {
    guard(|| {
        non_null(config, "config")?;
        non_null(out, "out")?;
        let cfg = config_from(&*config)?;
        let engine = MatchingEngine::new(cfg).map_err(|e| FfiError::core("config", &e))?;
        *out = Box::into_raw(Box::new(AfMatchingEngine {
            inner: Mutex::new(engine),
        }));
        Ok(())
    })
}

/// Frees a handle from af_matching_new. NULL is a no-op; freeing twice is undefined.
#[no_mangle]
pub unsafe extern "C" fn af_matching_free(h: *mut AfMatchingEngine) {
    guard_value((), || {
        if !h.is_null() {
            drop(Box::from_raw(h));
        }
    })
}

/// Processes `n` commands in order (each first expires due orders at its `ts`). Outcomes are
/// queued as events. `*processed` = n on success. A structurally invalid record (unknown
/// kind/side/type/time in force, unknown flag bits) fails the whole call before anything is
/// processed.
#[no_mangle]
pub unsafe extern "C" fn af_matching_submit_batch(
    h: *mut AfMatchingEngine,
    cmds: *const AfOrderCommand,
    n: usize,
    processed: *mut usize,
) -> i32 {
    guard(|| {
        non_null(processed, "processed")?;
        let cmds = batch(cmds, n, "cmds")?;
        let mut engine = lock(h)?;
        for (i, c) in cmds.iter().enumerate() {
            command_from(c, i)?;
        }
        for (i, c) in cmds.iter().enumerate() {
            let cmd = command_from(c, i)?;
            engine.command(&cmd);
        }
        *processed = cmds.len();
        Ok(())
    })
}

/// Backtest: applies quotes in order. Negative sizes fail the call (nothing applied).
#[no_mangle]
pub unsafe extern "C" fn af_matching_process_quotes(
    h: *mut AfMatchingEngine,
    quotes: *const AfQuoteTick,
    n: usize,
) -> i32 {
    guard(|| {
        let quotes = batch(quotes, n, "quotes")?;
        let mut engine = lock(h)?;
        let core: Vec<Quote> = quotes
            .iter()
            .map(|q| Quote {
                ts: q.ts,
                bid_price: q.bid_price,
                ask_price: q.ask_price,
                bid_size: q.bid_size,
                ask_size: q.ask_size,
            })
            .collect();
        engine.on_quotes(&core).map_err(input_error)
    })
}

/// Backtest: applies trade prints in order. A size <= 0 or an unknown aggressor fails the
/// call (nothing applied).
#[no_mangle]
pub unsafe extern "C" fn af_matching_process_trades(
    h: *mut AfMatchingEngine,
    trades: *const AfTradeTick,
    n: usize,
) -> i32 {
    guard(|| {
        let trades = batch(trades, n, "trades")?;
        let mut engine = lock(h)?;
        let mut core = Vec::with_capacity(trades.len());
        for (i, t) in trades.iter().enumerate() {
            let aggressor = u8::try_from(t.aggressor)
                .ok()
                .and_then(Aggressor::from_u8)
                .ok_or_else(|| {
                    invalid(format!(
                        "trades[{i}].aggressor={}: unknown value (valid: 0=NO_AGGRESSOR, 1=BUYER, \
                     2=SELLER)",
                        t.aggressor
                    ))
                })?;
            core.push(Trade {
                ts: t.ts,
                price: t.price,
                size: t.size,
                aggressor,
            });
        }
        engine.on_trades(&core).map_err(input_error)
    })
}

/// Backtest: replays bars (the bar aggregator's `AfBar`; `ts_close` is the bar time) as four
/// prints each: open, the extreme nearer the open, the other extreme, close. Inconsistent
/// OHLC or a negative volume fails the call (nothing applied).
#[no_mangle]
pub unsafe extern "C" fn af_matching_process_bars(
    h: *mut AfMatchingEngine,
    bars: *const AfBar,
    n: usize,
) -> i32 {
    guard(|| {
        let bars = batch(bars, n, "bars")?;
        let mut engine = lock(h)?;
        let core: Vec<Bar> = bars
            .iter()
            .map(|b| Bar {
                ts: b.ts_close,
                open: b.open,
                high: b.high,
                low: b.low,
                close: b.close,
                volume: b.volume,
            })
            .collect();
        engine.on_bars(&core).map_err(input_error)
    })
}

/// Backtest: applies L2 (market-by-price) deltas, the order-book module's `AfBookDelta`
/// records read in place (`order_id`, `sequence` ignored). The engine matches after each
/// delta flagged AF_BOOK_F_LAST and at the end of the batch. An unknown action/side or a
/// negative size fails the call (nothing applied).
#[no_mangle]
pub unsafe extern "C" fn af_matching_apply_deltas(
    h: *mut AfMatchingEngine,
    deltas: *const AfBookDelta,
    n: usize,
) -> i32 {
    guard(|| {
        // Same layout as the core's BookDelta (asserted at compile time in book.rs).
        let deltas = batch(deltas.cast::<BookDelta>(), n, "deltas")?;
        lock(h)?.on_deltas(deltas).map_err(input_error)
    })
}

/// Moves the engine clock to `ts` (never backwards), expiring due GTD/DAY orders.
#[no_mangle]
pub unsafe extern "C" fn af_matching_advance_time(h: *mut AfMatchingEngine, ts: u64) -> i32 {
    guard(|| {
        lock(h)?.advance_time(ts);
        Ok(())
    })
}

/// Moves up to `cap` queued events (oldest first) into `buf`; `*written` is how many. Events
/// that do not fit stay queued for the next call. `buf` may be NULL only with cap == 0.
#[no_mangle]
pub unsafe extern "C" fn af_matching_drain_events(
    h: *mut AfMatchingEngine,
    buf: *mut AfMatchEvent,
    cap: usize,
    written: *mut usize,
) -> i32 {
    guard(|| {
        non_null(written, "written")?;
        if cap > 0 {
            non_null(buf, "buf")?;
        }
        let mut engine = lock(h)?;
        let mut n = 0usize;
        for e in engine.drain_events(cap) {
            buf.add(n).write(event_to(&e));
            n += 1;
        }
        *written = n;
        Ok(())
    })
}

/// Number of queued events.
#[no_mangle]
pub unsafe extern "C" fn af_matching_pending_events(
    h: *mut AfMatchingEngine,
    out: *mut usize,
) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        *out = lock(h)?.pending_events();
        Ok(())
    })
}

/// Number of open orders (resting and waiting for a trigger).
#[no_mangle]
pub unsafe extern "C" fn af_matching_order_count(h: *mut AfMatchingEngine, out: *mut usize) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        *out = lock(h)?.order_count();
        Ok(())
    })
}

/// The engine clock (largest timestamp seen), ns.
#[no_mangle]
pub unsafe extern "C" fn af_matching_clock(h: *mut AfMatchingEngine, out: *mut u64) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        *out = lock(h)?.clock();
        Ok(())
    })
}

/// Best level of resting orders on `side` (AF_MATCH_BUY: highest bid, AF_MATCH_SELL: lowest
/// ask). An empty side is AF_ERR_NOT_FOUND. In backtest mode these are the user's orders.
#[no_mangle]
pub unsafe extern "C" fn af_matching_best(
    h: *mut AfMatchingEngine,
    side: u8,
    out: *mut AfMatchLevel,
) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        let side = side_arg(side)?;
        let engine = lock(h)?;
        let (price, visible, total, orders) = engine.best(side).ok_or_else(|| {
            FfiError::new(
                AF_ERR_NOT_FOUND,
                format!("side={}: no resting orders", side as u8),
            )
        })?;
        *out = AfMatchLevel {
            price,
            visible,
            total,
            orders,
            reserved: 0,
        };
        Ok(())
    })
}

/// Up to `cap` resting levels of `side`, best first; `*written` is how many.
#[no_mangle]
pub unsafe extern "C" fn af_matching_depth(
    h: *mut AfMatchingEngine,
    side: u8,
    buf: *mut AfMatchLevel,
    cap: usize,
    written: *mut usize,
) -> i32 {
    guard(|| {
        non_null(written, "written")?;
        if cap > 0 {
            non_null(buf, "buf")?;
        }
        let side = side_arg(side)?;
        let engine = lock(h)?;
        let levels = engine.depth(side, cap);
        for (i, (price, visible, total, orders)) in levels.iter().enumerate() {
            buf.add(i).write(AfMatchLevel {
                price: *price,
                visible: *visible,
                total: *total,
                orders: *orders,
                reserved: 0,
            });
        }
        *written = levels.len();
        Ok(())
    })
}

/// Snapshot of the open order `client_order_id`; unknown or closed: AF_ERR_NOT_FOUND.
#[no_mangle]
pub unsafe extern "C" fn af_matching_order(
    h: *mut AfMatchingEngine,
    client_order_id: u64,
    out: *mut AfOrderInfo,
) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        let engine = lock(h)?;
        let info = engine.order(client_order_id).ok_or_else(|| {
            FfiError::new(
                AF_ERR_NOT_FOUND,
                format!("client_order_id={client_order_id}: no open order"),
            )
        })?;
        *out = info_to(&info);
        Ok(())
    })
}

/// Net position of `trader_id` (raw, > 0 long) from the engine's fills and set_position.
#[no_mangle]
pub unsafe extern "C" fn af_matching_position(
    h: *mut AfMatchingEngine,
    trader_id: u32,
    out: *mut i64,
) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        *out = lock(h)?.position(trader_id);
        Ok(())
    })
}

/// Sets the net position of `trader_id` (e.g. a starting position; used by reduce-only).
#[no_mangle]
pub unsafe extern "C" fn af_matching_set_position(
    h: *mut AfMatchingEngine,
    trader_id: u32,
    position: i64,
) -> i32 {
    guard(|| {
        lock(h)?.set_position(trader_id, position);
        Ok(())
    })
}

/// Static English text of an AF_MATCH_REASON_* code ("unknown reason" otherwise). Never NULL,
/// never freed.
#[no_mangle]
pub extern "C" fn af_matching_reason_text(reason: u32) -> *const c_char {
    guard_value(c"unknown reason".as_ptr(), || {
        let text = u8::try_from(reason)
            .ok()
            .and_then(Reason::from_u8)
            .map_or("unknown reason", Reason::text);
        reason_cstr(text)
    })
}

/// The reason texts as static C strings (built once).
fn reason_cstr(text: &'static str) -> *const c_char {
    use std::collections::HashMap;
    use std::ffi::CString;
    use std::sync::OnceLock;
    static TEXTS: OnceLock<HashMap<&'static str, CString>> = OnceLock::new();
    let texts = TEXTS.get_or_init(|| {
        let mut m: HashMap<&'static str, CString> = Reason::ALL
            .iter()
            .map(|r| (r.text(), CString::new(r.text()).unwrap_or_default()))
            .collect();
        m.insert("unknown reason", c"unknown reason".to_owned());
        m
    });
    texts
        .get(text)
        .map_or(c"unknown reason".as_ptr(), |s| s.as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::ptr::{null, null_mut};

    fn last_error() -> String {
        unsafe { CStr::from_ptr(crate::af_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    fn config(mode: u32) -> AfMatchingConfig {
        let mut c = std::mem::MaybeUninit::<AfMatchingConfig>::uninit();
        assert_eq!(
            unsafe { af_matching_config_default(mode, c.as_mut_ptr()) },
            AF_OK
        );
        unsafe { c.assume_init() }
    }

    fn engine(mode: u32) -> *mut AfMatchingEngine {
        let mut h = null_mut();
        let c = config(mode);
        assert_eq!(unsafe { af_matching_new(&c, &mut h) }, AF_OK);
        h
    }

    fn limit(id: u64, side: u8, price: i64, qty: i64) -> AfOrderCommand {
        AfOrderCommand {
            ts: 1,
            client_order_id: id,
            price,
            trigger_price: 0,
            qty,
            display_qty: 0,
            expire_ts: 0,
            trader_id: id as u32,
            flags: 0,
            kind: AF_MATCH_CMD_SUBMIT,
            side,
            order_type: AF_MATCH_LIMIT,
            time_in_force: AF_MATCH_GTC,
            reserved: 0,
        }
    }

    fn drain(h: *mut AfMatchingEngine, cap: usize) -> Vec<AfMatchEvent> {
        let mut buf = vec![AfMatchEvent::default(); cap];
        let mut written = 0usize;
        assert_eq!(
            unsafe { af_matching_drain_events(h, buf.as_mut_ptr(), cap, &mut written) },
            AF_OK
        );
        buf.truncate(written);
        buf
    }

    #[test]
    fn submit_match_drain_in_pieces() {
        unsafe {
            let h = engine(AF_MATCH_MODE_EXCHANGE);
            let cmds = [
                limit(1, AF_MATCH_SELL, 100, 5),
                limit(2, AF_MATCH_SELL, 101, 5),
                limit(3, AF_MATCH_BUY, 101, 7),
            ];
            let mut processed = 0usize;
            assert_eq!(
                af_matching_submit_batch(h, cmds.as_ptr(), 3, &mut processed),
                AF_OK
            );
            assert_eq!(processed, 3);
            let mut pending = 0usize;
            assert_eq!(af_matching_pending_events(h, &mut pending), AF_OK);
            assert_eq!(pending, 7);
            let first = drain(h, 4);
            let rest = drain(h, 100);
            assert_eq!((first.len(), rest.len()), (4, 3));
            let kinds: Vec<u8> = first.iter().chain(&rest).map(|e| e.kind).collect();
            assert_eq!(
                kinds,
                [
                    AF_MATCH_EVT_ACCEPTED,
                    AF_MATCH_EVT_ACCEPTED,
                    AF_MATCH_EVT_ACCEPTED,
                    AF_MATCH_EVT_PARTIALLY_FILLED,
                    AF_MATCH_EVT_FILLED,
                    AF_MATCH_EVT_FILLED,
                    AF_MATCH_EVT_PARTIALLY_FILLED,
                ]
            );
            assert_eq!(rest[0].liquidity, AF_MATCH_MAKER);
            assert_eq!((rest[1].price, rest[1].qty, rest[1].leaves), (101, 2, 0));
            assert!(drain(h, 8).is_empty());
            let mut level = AfMatchLevel::default();
            assert_eq!(af_matching_best(h, AF_MATCH_SELL, &mut level), AF_OK);
            assert_eq!(
                (level.price, level.visible, level.total, level.orders),
                (101, 3, 3, 1)
            );
            assert_eq!(
                af_matching_best(h, AF_MATCH_BUY, &mut level),
                AF_ERR_NOT_FOUND
            );
            let mut levels = [AfMatchLevel::default(); 4];
            let mut written = 0usize;
            assert_eq!(
                af_matching_depth(h, AF_MATCH_SELL, levels.as_mut_ptr(), 4, &mut written),
                AF_OK
            );
            assert_eq!(written, 1);
            let mut info = AfOrderInfo::default();
            assert_eq!(af_matching_order(h, 2, &mut info), AF_OK);
            assert_eq!((info.filled, info.leaves, info.queue_ahead), (2, 3, -1));
            assert_eq!(af_matching_order(h, 3, &mut info), AF_ERR_NOT_FOUND);
            assert_eq!(last_error(), "client_order_id=3: no open order");
            let mut pos = 0i64;
            assert_eq!(af_matching_position(h, 3, &mut pos), AF_OK);
            assert_eq!(pos, 7);
            assert_eq!(af_matching_set_position(h, 3, -1), AF_OK);
            assert_eq!(af_matching_position(h, 3, &mut pos), AF_OK);
            assert_eq!(pos, -1);
            let mut count = 0usize;
            assert_eq!(af_matching_order_count(h, &mut count), AF_OK);
            assert_eq!(count, 1);
            af_matching_free(h);
            af_matching_free(null_mut());
        }
    }

    #[test]
    fn structurally_invalid_batches_change_nothing() {
        unsafe {
            let h = engine(AF_MATCH_MODE_EXCHANGE);
            let mut processed = 99usize;
            let mut bad = limit(2, AF_MATCH_BUY, 100, 1);
            bad.order_type = 9;
            let cmds = [limit(1, AF_MATCH_SELL, 100, 5), bad];
            assert_eq!(
                af_matching_submit_batch(h, cmds.as_ptr(), 2, &mut processed),
                AF_ERR_INVALID_ARGUMENT
            );
            assert!(
                last_error().starts_with("cmds[1].order_type=9: unknown value"),
                "{}",
                last_error()
            );
            assert_eq!(processed, 99, "outputs untouched on failure");
            let mut pending = 0usize;
            af_matching_pending_events(h, &mut pending);
            assert_eq!(
                pending, 0,
                "the valid first record was not processed either"
            );
            for (field, patch) in [
                (
                    "kind",
                    (|c: &mut AfOrderCommand| c.kind = 0) as fn(&mut AfOrderCommand),
                ),
                ("side", |c| c.side = 3),
                ("time_in_force", |c| c.time_in_force = 6),
                ("flags", |c| c.flags = 1 << 9),
            ] {
                let mut c = limit(1, AF_MATCH_BUY, 100, 1);
                patch(&mut c);
                assert_eq!(
                    af_matching_submit_batch(h, &c, 1, &mut processed),
                    AF_ERR_INVALID_ARGUMENT
                );
                assert!(
                    last_error().starts_with(&format!("cmds[0].{field}=")),
                    "{}",
                    last_error()
                );
            }
            // cancel/modify ignore the submit-only enum bytes
            let mut c = limit(1, 0, 0, 0);
            c.kind = AF_MATCH_CMD_CANCEL;
            c.order_type = 0;
            c.time_in_force = 0;
            assert_eq!(af_matching_submit_batch(h, &c, 1, &mut processed), AF_OK);
            let ev = drain(h, 4);
            assert_eq!(
                (ev[0].kind, ev[0].reason, ev[0].side),
                (
                    AF_MATCH_EVT_CANCEL_REJECTED,
                    AF_MATCH_REASON_UNKNOWN_ORDER,
                    0
                )
            );
            // NULL checks
            assert_eq!(
                af_matching_submit_batch(h, null(), 1, &mut processed),
                AF_ERR_NULL_POINTER
            );
            assert_eq!(last_error(), "cmds is NULL");
            assert_eq!(
                af_matching_submit_batch(h, null(), 0, &mut processed),
                AF_OK
            );
            assert_eq!(processed, 0);
            assert_eq!(
                af_matching_submit_batch(null_mut(), &c, 1, &mut processed),
                AF_ERR_NULL_POINTER
            );
            assert_eq!(last_error(), "h is NULL");
            assert_eq!(
                af_matching_submit_batch(h, &c, 1, null_mut()),
                AF_ERR_NULL_POINTER
            );
            let mut written = 0usize;
            assert_eq!(
                af_matching_drain_events(h, null_mut(), 1, &mut written),
                AF_ERR_NULL_POINTER
            );
            assert_eq!(
                af_matching_drain_events(h, null_mut(), 0, &mut written),
                AF_OK
            );
            // market data is for backtest engines
            let q = AfQuoteTick {
                ts: 1,
                bid_price: 99,
                ask_price: 100,
                bid_size: 1,
                ask_size: 1,
            };
            assert_eq!(
                af_matching_process_quotes(h, &q, 1),
                AF_ERR_INVALID_ARGUMENT
            );
            assert!(last_error().contains("EXCHANGE mode"), "{}", last_error());
            af_matching_free(h);
        }
    }

    #[test]
    fn config_checks() {
        unsafe {
            let mut h = null_mut();
            let mut c = config(AF_MATCH_MODE_BACKTEST);
            c.self_trade = 7;
            assert_eq!(af_matching_new(&c, &mut h), AF_ERR_INVALID_ARGUMENT);
            assert!(last_error().contains("self_trade=7"), "{}", last_error());
            let mut c = config(AF_MATCH_MODE_BACKTEST);
            c.price_increment = 0;
            assert_eq!(af_matching_new(&c, &mut h), AF_ERR_INVALID_ARGUMENT);
            assert!(
                last_error().contains("price_increment=0"),
                "{}",
                last_error()
            );
            assert!(h.is_null());
            let mut out = config(1);
            assert_eq!(
                af_matching_config_default(0, &mut out),
                AF_ERR_INVALID_ARGUMENT
            );
            assert_eq!(af_matching_new(null(), &mut h), AF_ERR_NULL_POINTER);
            assert_eq!(af_matching_new(&out, null_mut()), AF_ERR_NULL_POINTER);
        }
    }

    #[test]
    fn backtest_market_data_batches() {
        unsafe {
            let h = engine(AF_MATCH_MODE_BACKTEST);
            let q = [
                AfQuoteTick {
                    ts: 1,
                    bid_price: 99,
                    ask_price: 100,
                    bid_size: 5,
                    ask_size: 2,
                },
                AfQuoteTick {
                    ts: 2,
                    bid_price: 99,
                    ask_price: 100,
                    bid_size: -5,
                    ask_size: 2,
                },
            ];
            assert_eq!(
                af_matching_process_quotes(h, q.as_ptr(), 2),
                AF_ERR_INVALID_ARGUMENT
            );
            assert_eq!(last_error(), "quotes[1].bid_size=-5: must be >= 0");
            let mut clock = 9u64;
            af_matching_clock(h, &mut clock);
            assert_eq!(clock, 0, "nothing applied");
            assert_eq!(af_matching_process_quotes(h, q.as_ptr(), 1), AF_OK);
            let mut c = limit(1, AF_MATCH_BUY, 99, 3);
            c.trader_id = 0;
            let mut processed = 0;
            af_matching_submit_batch(h, &c, 1, &mut processed);
            let mut info = AfOrderInfo::default();
            assert_eq!(af_matching_order(h, 1, &mut info), AF_OK);
            assert_eq!(info.queue_ahead, 5);
            let t = [AfTradeTick {
                ts: 3,
                price: 99,
                size: 6,
                aggressor: AF_MATCH_AGGRESSOR_SELLER,
                reserved: 0,
            }];
            let mut bad = t;
            bad[0].aggressor = 3;
            assert_eq!(
                af_matching_process_trades(h, bad.as_ptr(), 1),
                AF_ERR_INVALID_ARGUMENT
            );
            assert!(last_error().starts_with("trades[0].aggressor=3"));
            assert_eq!(af_matching_process_trades(h, t.as_ptr(), 1), AF_OK);
            let fills: Vec<_> = drain(h, 16)
                .into_iter()
                .filter(|e| e.kind == AF_MATCH_EVT_PARTIALLY_FILLED)
                .map(|e| (e.price, e.qty, e.liquidity))
                .collect();
            assert_eq!(fills, vec![(99, 1, AF_MATCH_MAKER)]);
            let bar = AfBar {
                ts_open: 4,
                ts_close: 5,
                open: 99,
                high: 100,
                low: 90,
                close: 95,
                volume: 40,
                ticks: 3,
            };
            assert_eq!(af_matching_process_bars(h, &bar, 1), AF_OK);
            assert_eq!(
                drain(h, 16).last().map(|e| e.kind),
                Some(AF_MATCH_EVT_FILLED)
            );
            af_matching_clock(h, &mut clock);
            assert_eq!(clock, 5);
            let mut badbar = bar;
            badbar.low = 96;
            assert_eq!(
                af_matching_process_bars(h, &badbar, 1),
                AF_ERR_INVALID_ARGUMENT
            );
            assert!(
                last_error().starts_with("bars[0].low=96"),
                "{}",
                last_error()
            );
            assert_eq!(af_matching_advance_time(h, 10), AF_OK);
            // L2 deltas: the order-book module's records
            let d = |action, side, price, size, flags| AfBookDelta {
                ts_event: 11,
                price,
                size,
                action,
                side,
                flags,
                ..AfBookDelta::default()
            };
            let deltas = [d(1, 2, 101, 4, 0), d(1, 1, 99, 3, 0x80)];
            assert_eq!(af_matching_apply_deltas(h, deltas.as_ptr(), 2), AF_OK);
            let mut m = limit(2, AF_MATCH_BUY, 0, 5);
            m.trader_id = 0;
            m.order_type = AF_MATCH_MARKET;
            af_matching_submit_batch(h, &m, 1, &mut processed);
            let ev = drain(h, 8);
            assert_eq!(
                (ev[1].price, ev[1].qty, ev[1].liquidity),
                (101, 4, AF_MATCH_TAKER)
            );
            assert_eq!(ev[2].reason, AF_MATCH_REASON_NO_LIQUIDITY);
            let bad = [d(7, 1, 99, 3, 0)];
            assert_eq!(
                af_matching_apply_deltas(h, bad.as_ptr(), 1),
                AF_ERR_INVALID_ARGUMENT
            );
            assert!(
                last_error().starts_with("deltas[0].action=7"),
                "{}",
                last_error()
            );
            assert_eq!(af_matching_apply_deltas(h, null(), 1), AF_ERR_NULL_POINTER);
            af_matching_free(h);
        }
    }

    #[test]
    fn reason_texts() {
        let text = |r| {
            unsafe { CStr::from_ptr(af_matching_reason_text(r)) }
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(
            text(AF_MATCH_REASON_POST_ONLY_WOULD_TAKE),
            "post-only order would take liquidity"
        );
        assert_eq!(text(999), "unknown reason");
        assert_eq!(text(17), "unknown reason");
        for r in Reason::ALL {
            assert_eq!(text(*r as u32), r.text());
        }
    }

    #[test]
    fn constants_match_core_enums() {
        assert_eq!(AF_MATCH_REASON_EXPIRED_DAY, Reason::ExpiredDay as u32);
        assert_eq!(
            AF_MATCH_REASON_PRICE_OUT_OF_RANGE,
            Reason::PriceOutOfRange as u32
        );
        assert_eq!(
            AF_MATCH_EVT_CANCEL_REJECTED,
            alphaforge_core::matching::EventKind::CancelRejected as u8
        );
        assert_eq!(AF_MATCH_LIMIT_IF_TOUCHED, OrderType::LimitIfTouched as u8);
        assert_eq!(AF_MATCH_DAY, TimeInForce::Day as u8);
        assert_eq!(AF_MATCH_STP_CANCEL_BOTH, SelfTrade::CancelBoth as u32);
        assert_eq!(AF_MATCH_QUEUE_CONSERVATIVE, QueueModel::Conservative as u32);
        assert_eq!(
            AF_MATCH_F_MODIFY_TRIGGER,
            alphaforge_core::matching::FLAG_MODIFY_TRIGGER
        );
        assert_eq!(std::mem::size_of::<AfOrderCommand>(), 72);
        assert_eq!(std::mem::size_of::<AfMatchEvent>(), 88);
        assert_eq!(std::mem::size_of::<AfMatchingConfig>(), 72);
    }

    #[test]
    fn concurrent_batches_are_serialized() {
        struct Shared(*mut AfMatchingEngine);
        unsafe impl Send for Shared {}
        unsafe impl Sync for Shared {}
        let shared = Shared(engine(AF_MATCH_MODE_EXCHANGE));
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let shared = &shared;
                s.spawn(move || {
                    for i in 0..200u64 {
                        let id = t * 1000 + i;
                        let side = if t % 2 == 0 {
                            AF_MATCH_BUY
                        } else {
                            AF_MATCH_SELL
                        };
                        let c = limit(id, side, 100, 1);
                        let mut processed = 0usize;
                        let status =
                            unsafe { af_matching_submit_batch(shared.0, &c, 1, &mut processed) };
                        assert_eq!(status, AF_OK);
                    }
                });
            }
        });
        let h = shared.0;
        let (mut pending, mut open) = (0usize, 0usize);
        unsafe {
            af_matching_pending_events(h, &mut pending);
            af_matching_order_count(h, &mut open);
        }
        // 800 accepted; 400 buys and 400 sells of one lot at one price all match
        assert_eq!((pending, open), (800 + 800, 0));
        unsafe { af_matching_free(h) };
    }

    #[test]
    fn poisoned_lock_is_state_error() {
        unsafe {
            let h = engine(AF_MATCH_MODE_EXCHANGE);
            let handle = &*h;
            let _ = std::panic::catch_unwind(|| {
                let _g = handle.inner.lock();
                panic!("poison");
            });
            let mut n = 0usize;
            assert_eq!(af_matching_order_count(h, &mut n), AF_ERR_STATE);
            assert!(last_error().contains("poisoned"));
            af_matching_free(h);
        }
    }
}
