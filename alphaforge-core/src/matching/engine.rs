//! The matching engine: order lifecycle, exchange-mode matching, triggers, expiry, positions.
//! Backtest-mode market data handling lives in `backtest.rs` (same type).

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, VecDeque};

use super::backtest::Market;
use super::fee::fee_raw;
use super::store::{
    best_price, in_priority, level_slots, push_back, unlink, IdMap, Levels, Order, State, NIL,
};
use super::types::*;
use crate::error::CoreResult;

/// Index of a side in `[bids, asks]` arrays.
#[inline]
pub(crate) fn idx(side: Side) -> usize {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

/// Trigger sets: which price a pending order watches and in which direction.
/// 0: buy stops (fire when price >= trigger, vs the ask), 1: sell if-touched (>=, vs the bid),
/// 2: sell stops (<=, vs the bid), 3: buy if-touched (<=, vs the ask).
#[inline]
pub(crate) fn trigger_set(side: Side, otype: OrderType) -> usize {
    let stop = matches!(otype, OrderType::StopMarket | OrderType::StopLimit);
    match (side, stop) {
        (Side::Buy, true) => 0,
        (Side::Sell, false) => 1,
        (Side::Sell, true) => 2,
        (Side::Buy, false) => 3,
    }
}

#[inline]
fn trigger_hit(set: usize, trigger: i64, mark: i64) -> bool {
    if set < 2 {
        mark >= trigger
    } else {
        mark <= trigger
    }
}

/// One matching engine (one instrument). Not thread-safe by itself; the C ABI wraps it in a
/// mutex.
pub struct MatchingEngine {
    pub(crate) cfg: Config,
    pub(crate) clock: u64,
    pub(crate) orders: Vec<Order>,
    free: Vec<u32>,
    pub(crate) index: IdMap<u64, u32>,
    /// Resting limit orders: `[bids, asks]`. In backtest mode only the user's orders.
    pub(crate) book: [Levels; 2],
    /// Pending stop / if-touched orders keyed by (trigger, seq, slot); see [`trigger_set`].
    pub(crate) stops: [BTreeSet<(i64, u64, u32)>; 4],
    /// (expire ts, venue id, slot), lazily invalidated.
    expiries: BinaryHeap<Reverse<(u64, u64, u32)>>,
    pub(crate) positions: IdMap<u32, i64>,
    pub(crate) events: VecDeque<Event>,
    next_venue_id: u64,
    next_seq: u64,
    next_trade_id: u64,
    /// Exchange mode: price of the last match.
    pub(crate) last_price: Option<i64>,
    pub(crate) market: Market,
    pub(crate) scratch: Vec<u32>,
}

impl MatchingEngine {
    /// A new engine; the configuration is validated.
    pub fn new(cfg: Config) -> CoreResult<Self> {
        cfg.validate()?;
        Ok(MatchingEngine {
            cfg,
            clock: 0,
            orders: Vec::new(),
            free: Vec::new(),
            index: IdMap::default(),
            book: [Levels::new(), Levels::new()],
            stops: Default::default(),
            expiries: BinaryHeap::new(),
            positions: IdMap::default(),
            events: VecDeque::new(),
            next_venue_id: 1,
            next_seq: 1,
            next_trade_id: 1,
            last_price: None,
            market: Market::default(),
            scratch: Vec::new(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Engine time: the largest timestamp seen so far.
    pub fn clock(&self) -> u64 {
        self.clock
    }

    // -- events ---------------------------------------------------------------------------------

    /// Number of queued events.
    pub fn pending_events(&self) -> usize {
        self.events.len()
    }

    /// Removes and returns up to `max` queued events, oldest first.
    pub fn drain_events(&mut self, max: usize) -> std::collections::vec_deque::Drain<'_, Event> {
        let n = max.min(self.events.len());
        self.events.drain(..n)
    }

    /// Removes and returns every queued event.
    pub fn take_events(&mut self) -> Vec<Event> {
        self.events.drain(..).collect()
    }

    // -- queries --------------------------------------------------------------------------------

    /// Open orders (resting, pending a trigger).
    pub fn order_count(&self) -> usize {
        self.index.len()
    }

    /// Best resting price of a side with its visible and total quantity and order count.
    pub fn best(&self, side: Side) -> Option<(i64, i64, i64, u32)> {
        let levels = &self.book[idx(side)];
        let price = best_price(levels, side)?;
        let level = levels.get(&price)?;
        Some((
            price,
            clamp_i64(level.visible),
            clamp_i64(level.leaves),
            level.count,
        ))
    }

    /// Resting levels of a side, best first: (price, visible, total, order count).
    pub fn depth(&self, side: Side, max_levels: usize) -> Vec<(i64, i64, i64, u32)> {
        in_priority(&self.book[idx(side)], side)
            .take(max_levels)
            .map(|(p, l)| (*p, clamp_i64(l.visible), clamp_i64(l.leaves), l.count))
            .collect()
    }

    /// A snapshot of an open order.
    pub fn order(&self, client_order_id: u64) -> Option<OrderInfo> {
        let slot = *self.index.get(&client_order_id)?;
        Some(self.info(slot))
    }

    fn info(&self, slot: u32) -> OrderInfo {
        let o = &self.orders[slot as usize];
        OrderInfo {
            client_order_id: o.client_id,
            venue_order_id: o.venue_id,
            trader_id: o.trader,
            side: o.side,
            order_type: o.otype,
            time_in_force: o.tif,
            flags: o.flags,
            price: o.price,
            trigger_price: o.trigger,
            qty: o.qty,
            filled: o.filled,
            leaves: o.leaves(),
            visible: if o.state == State::Resting {
                o.visible
            } else {
                0
            },
            display_qty: o.display,
            expire_ts: o.expire,
            pending_trigger: o.state == State::Pending,
            queue_ahead: if self.cfg.mode == Mode::Backtest
                && o.state == State::Resting
                && o.queue_known
            {
                o.queue_ahead
            } else {
                -1
            },
        }
    }

    /// Every open order, resting bids (best first, then time), resting asks, then pending
    /// triggers in acceptance order. For tests and snapshots.
    pub fn open_orders(&self) -> Vec<OrderInfo> {
        let mut out = Vec::with_capacity(self.index.len());
        for side in [Side::Buy, Side::Sell] {
            for (_, level) in in_priority(&self.book[idx(side)], side) {
                let mut slot = level.head;
                while slot != NIL {
                    out.push(self.info(slot));
                    slot = self.orders[slot as usize].next;
                }
            }
        }
        let mut pending: Vec<(u64, u32)> = self
            .stops
            .iter()
            .flat_map(|s| s.iter().map(|&(_, seq, slot)| (seq, slot)))
            .collect();
        pending.sort_unstable();
        out.extend(pending.into_iter().map(|(_, slot)| self.info(slot)));
        out
    }

    /// Net position of a trader (raw, positive long), from this engine's fills and
    /// [`Self::set_position`].
    pub fn position(&self, trader_id: u32) -> i64 {
        self.positions.get(&trader_id).copied().unwrap_or(0)
    }

    /// Overrides a trader's net position (e.g. the starting position of a backtest).
    pub fn set_position(&mut self, trader_id: u32, position: i64) {
        self.positions.insert(trader_id, position);
    }

    // -- commands -------------------------------------------------------------------------------

    /// Processes commands in order; every outcome is an event.
    pub fn process(&mut self, commands: &[Command]) {
        for c in commands {
            self.command(c);
        }
    }

    /// Processes one command at `c.ts` (expiring due orders first).
    pub fn command(&mut self, c: &Command) {
        self.advance_time(c.ts);
        match c.kind {
            CommandKind::Submit => self.submit(c),
            CommandKind::Modify => self.modify(c),
            CommandKind::Cancel => self.cancel(c),
        }
        if self.cfg.mode == Mode::Exchange {
            self.cascade_triggers();
        }
    }

    /// Moves the engine clock to `ts` (never backwards) and expires due GTD / DAY orders.
    pub fn advance_time(&mut self, ts: u64) {
        if ts > self.clock {
            self.clock = ts;
        }
        while let Some(&Reverse((expire, venue_id, slot))) = self.expiries.peek() {
            if expire > self.clock {
                break;
            }
            self.expiries.pop();
            let o = &self.orders[slot as usize];
            if o.state == State::Free || o.venue_id != venue_id {
                continue; // closed (and maybe reused) since it was queued
            }
            let reason = if o.tif == TimeInForce::Day {
                Reason::ExpiredDay
            } else {
                Reason::ExpiredGtd
            };
            self.remove_live(slot);
            self.emit_cancel(EventKind::Expired, slot, reason);
            if let Some(ev) = self.events.back_mut() {
                ev.ts = expire; // when it expired, not when the clock learned of it
            }
            self.close(slot);
        }
    }

    fn check_price(&self, price: i64) -> Option<Reason> {
        if !(-PRICE_LIMIT..=PRICE_LIMIT).contains(&price) {
            Some(Reason::PriceOutOfRange)
        } else if price.rem_euclid(self.cfg.price_increment) != 0 {
            Some(Reason::PriceNotOnTick)
        } else {
            None
        }
    }

    fn check_qty(&self, qty: i64) -> Option<Reason> {
        let cfg = &self.cfg;
        if qty <= 0 {
            Some(Reason::InvalidQuantity)
        } else if qty % cfg.size_increment != 0 {
            Some(Reason::QuantityNotOnLot)
        } else if qty < cfg.min_quantity || (cfg.max_quantity > 0 && qty > cfg.max_quantity) {
            Some(Reason::QuantityOutOfRange)
        } else {
            None
        }
    }

    fn validate_submit(&self, c: &Command) -> Option<Reason> {
        if let Some(r) = self.check_qty(c.qty) {
            return Some(r);
        }
        if c.order_type.has_price() {
            if let Some(r) = self.check_price(c.price) {
                return Some(r);
            }
        }
        if c.order_type.has_trigger() {
            match self.check_price(c.trigger_price) {
                Some(Reason::PriceNotOnTick) => return Some(Reason::TriggerNotOnTick),
                Some(r) => return Some(r),
                None => {}
            }
        }
        let rests = c.order_type.has_price()
            && !matches!(c.time_in_force, TimeInForce::Ioc | TimeInForce::Fok);
        if c.display_qty < 0
            || c.display_qty > c.qty
            || (c.display_qty > 0 && (!rests || c.display_qty % self.cfg.size_increment != 0))
        {
            return Some(Reason::InvalidDisplayQuantity);
        }
        let gtd = c.time_in_force == TimeInForce::Gtd;
        if (gtd && c.expire_ts <= self.clock) || (!gtd && c.expire_ts != 0) {
            return Some(Reason::InvalidExpireTime);
        }
        if c.flags & FLAG_POST_ONLY != 0 && !rests {
            return Some(Reason::PostOnlyNotAllowed);
        }
        if self.index.contains_key(&c.client_order_id) {
            return Some(Reason::DuplicateClientOrderId);
        }
        if c.flags & FLAG_REDUCE_ONLY != 0 && self.allowed(c.trader_id, c.side) == 0 {
            return Some(Reason::ReduceOnlyWouldIncrease);
        }
        if c.flags & FLAG_POST_ONLY != 0
            && c.order_type == OrderType::Limit
            && self.would_take(c.side, c.price)
        {
            return Some(Reason::PostOnlyWouldTake);
        }
        None
    }

    /// Whether a limit at `price` on `side` would take liquidity now.
    fn would_take(&self, side: Side, price: i64) -> bool {
        let opp = side.opposite();
        let best = match self.cfg.mode {
            Mode::Exchange => best_price(&self.book[idx(opp)], opp),
            Mode::Backtest => self.market_best(opp),
        };
        best.is_some_and(|b| side.crosses(price, b))
    }

    /// The largest fill a reduce-only order of `trader` on `side` may get now.
    #[inline]
    pub(crate) fn allowed(&self, trader: u32, side: Side) -> i64 {
        let pos = self.position(trader);
        match side {
            Side::Buy => pos.saturating_neg().max(0),
            Side::Sell => pos.max(0),
        }
    }

    fn day_end(&self, now: u64) -> u64 {
        let day = i128::from(NANOS_PER_DAY);
        let off = i128::from(self.cfg.day_end_offset_ns);
        let k = (i128::from(now) - off).div_euclid(day);
        let end = off + (k + 1) * day;
        u64::try_from(end).unwrap_or(u64::MAX)
    }

    fn submit(&mut self, c: &Command) {
        if let Some(reason) = self.validate_submit(c) {
            self.events.push_back(Event {
                kind: EventKind::Rejected,
                ts: self.clock,
                client_order_id: c.client_order_id,
                venue_order_id: 0,
                trade_id: 0,
                trader_id: c.trader_id,
                side: Some(c.side),
                order_type: Some(c.order_type),
                price: if c.order_type.has_price() { c.price } else { 0 },
                trigger_price: if c.order_type.has_trigger() {
                    c.trigger_price
                } else {
                    0
                },
                qty: c.qty,
                leaves: 0,
                fee: 0,
                liquidity: Liquidity::None,
                reason,
            });
            return;
        }
        let expire = match c.time_in_force {
            TimeInForce::Gtd => c.expire_ts,
            TimeInForce::Day => self.day_end(self.clock),
            _ => 0,
        };
        let venue_id = self.next_venue_id;
        self.next_venue_id += 1;
        let seq = self.seq();
        let order = Order {
            client_id: c.client_order_id,
            venue_id,
            seq,
            trader: c.trader_id,
            side: c.side,
            otype: c.order_type,
            tif: c.time_in_force,
            flags: c.flags & (FLAG_POST_ONLY | FLAG_REDUCE_ONLY),
            triggered: false,
            price: if c.order_type.has_price() { c.price } else { 0 },
            trigger: if c.order_type.has_trigger() {
                c.trigger_price
            } else {
                0
            },
            qty: c.qty,
            filled: 0,
            display: if c.display_qty == c.qty {
                0
            } else {
                c.display_qty
            },
            visible: 0,
            expire,
            queue_ahead: 0,
            queue_known: true,
            state: State::Working,
            prev: NIL,
            next: NIL,
        };
        let slot = self.alloc(order);
        self.index.insert(c.client_order_id, slot);
        self.emit_state(EventKind::Accepted, slot, Reason::None);
        if expire != 0 {
            self.expiries.push(Reverse((expire, venue_id, slot)));
        }
        if c.order_type.has_trigger() {
            if self.trigger_now(slot) {
                self.fire(slot);
            } else {
                self.park(slot);
            }
        } else {
            self.execute(slot);
        }
    }

    fn modify(&mut self, c: &Command) {
        let Some(&slot) = self.index.get(&c.client_order_id) else {
            self.reject_unknown(EventKind::ModifyRejected, c, Reason::UnknownOrder);
            return;
        };
        let o = &self.orders[slot as usize];
        if o.trader != c.trader_id {
            self.emit_state(EventKind::ModifyRejected, slot, Reason::WrongTrader);
            return;
        }
        let (mut price, mut trigger, mut qty) = (o.price, o.trigger, o.qty);
        let mut refuse = None;
        if c.flags & FLAG_MODIFY_PRICE != 0 {
            if !o.otype.has_price() {
                refuse = Some(Reason::NotApplicable);
            } else if let Some(r) = self.check_price(c.price) {
                refuse = Some(r);
            }
            price = c.price;
        }
        if refuse.is_none() && c.flags & FLAG_MODIFY_TRIGGER != 0 {
            if !o.otype.has_trigger() || o.triggered {
                refuse = Some(Reason::NotApplicable);
            } else {
                refuse = match self.check_price(c.trigger_price) {
                    Some(Reason::PriceNotOnTick) => Some(Reason::TriggerNotOnTick),
                    other => other,
                };
            }
            trigger = c.trigger_price;
        }
        if refuse.is_none() && c.qty != 0 {
            refuse = self.check_qty(c.qty);
            if refuse.is_none() && c.qty <= o.filled {
                refuse = Some(Reason::QuantityBelowFilled);
            }
            qty = c.qty;
        }
        if refuse.is_none()
            && o.post_only()
            && o.state == State::Resting
            && price != o.price
            && self.would_take(o.side, price)
        {
            refuse = Some(Reason::PostOnlyWouldTake);
        }
        if let Some(reason) = refuse {
            self.emit_state(EventKind::ModifyRejected, slot, reason);
            return;
        }
        let loses_priority = price != o.price || trigger != o.trigger || qty > o.qty;
        let state = o.state;
        match state {
            State::Pending => {
                let set = trigger_set(o.side, o.otype);
                let key = (o.trigger, o.seq, slot);
                self.stops[set].remove(&key);
                let seq = if loses_priority { self.seq() } else { o.seq };
                let o = &mut self.orders[slot as usize];
                o.price = price;
                o.trigger = trigger;
                o.qty = qty;
                o.seq = seq;
                o.state = State::Working;
                self.emit_state(EventKind::Updated, slot, Reason::None);
                if self.trigger_now(slot) {
                    self.fire(slot);
                } else {
                    self.park(slot);
                }
            }
            State::Resting if loses_priority => {
                let side = o.side;
                unlink(&mut self.book[idx(side)], &mut self.orders, slot);
                let seq = self.seq();
                let o = &mut self.orders[slot as usize];
                o.price = price;
                o.qty = qty;
                o.seq = seq;
                o.state = State::Working;
                self.emit_state(EventKind::Updated, slot, Reason::None);
                self.execute(slot);
            }
            State::Resting => {
                // Same price, same or smaller size: keeps its place in the queue.
                let side = o.side;
                let old_price = o.price;
                let dec = o.qty - qty;
                let old_visible = o.visible;
                let o = &mut self.orders[slot as usize];
                o.qty = qty;
                o.visible = o.visible.min(o.leaves());
                let vis_dec = old_visible - o.visible;
                if let Some(level) = self.book[idx(side)].get_mut(&old_price) {
                    level.leaves -= i128::from(dec);
                    level.visible -= i128::from(vis_dec);
                }
                self.emit_state(EventKind::Updated, slot, Reason::None);
            }
            State::Working | State::Free => {
                debug_assert!(false, "indexed order in state {state:?}");
            }
        }
    }

    fn cancel(&mut self, c: &Command) {
        let Some(&slot) = self.index.get(&c.client_order_id) else {
            self.reject_unknown(EventKind::CancelRejected, c, Reason::UnknownOrder);
            return;
        };
        if self.orders[slot as usize].trader != c.trader_id {
            self.emit_state(EventKind::CancelRejected, slot, Reason::WrongTrader);
            return;
        }
        self.remove_live(slot);
        self.emit_cancel(EventKind::Canceled, slot, Reason::Requested);
        self.close(slot);
    }

    // -- execution ------------------------------------------------------------------------------

    /// Runs a live (Working) order: checks, takes liquidity, then rests or cancels the rest.
    pub(crate) fn execute(&mut self, slot: u32) {
        let o = &self.orders[slot as usize];
        if o.reduce_only() && self.allowed(o.trader, o.side) == 0 {
            self.cancel_working(slot, Reason::ReduceOnlyPositionClosed);
            return;
        }
        if o.post_only() && self.would_take(o.side, o.price) {
            self.cancel_working(slot, Reason::PostOnlyWouldTake);
            return;
        }
        if o.tif == TimeInForce::Fok {
            let fillable = match self.cfg.mode {
                Mode::Exchange => self.fok_fillable_exchange(slot),
                Mode::Backtest => self.fok_fillable_market(slot),
            };
            if !fillable {
                self.cancel_working(slot, Reason::FokNotFillable);
                return;
            }
        }
        let alive = match self.cfg.mode {
            Mode::Exchange => self.match_book(slot),
            Mode::Backtest => self.take_market(slot),
        };
        if !alive {
            return;
        }
        let o = &self.orders[slot as usize];
        if o.leaves() == 0 {
            self.close(slot);
        } else if o.reduce_only() && self.allowed(o.trader, o.side) == 0 {
            self.cancel_working(slot, Reason::ReduceOnlyPositionClosed);
        } else if o.is_market() {
            self.cancel_working(slot, Reason::NoLiquidity);
        } else if matches!(o.tif, TimeInForce::Ioc | TimeInForce::Fok) {
            self.cancel_working(slot, Reason::IocRemainder);
        } else {
            self.rest(slot);
        }
    }

    fn rest(&mut self, slot: u32) {
        let (side, price) = {
            let o = &mut self.orders[slot as usize];
            o.state = State::Resting;
            o.visible = o.tranche();
            (o.side, o.price)
        };
        if self.cfg.mode == Mode::Backtest {
            let (ahead, known) = self.estimate_queue(side, price);
            let o = &mut self.orders[slot as usize];
            o.queue_ahead = ahead;
            o.queue_known = known;
        }
        push_back(&mut self.book[idx(side)], &mut self.orders, slot);
    }

    /// Exchange mode: matches a Working taker against the opposite side. Returns false if the
    /// taker was closed (canceled) inside.
    fn match_book(&mut self, t: u32) -> bool {
        let side = self.orders[t as usize].side;
        let opp = side.opposite();
        let oi = idx(opp);
        loop {
            let taker = &self.orders[t as usize];
            let leaves = taker.leaves();
            if leaves == 0 {
                return true;
            }
            let Some(lp) = best_price(&self.book[oi], opp) else {
                return true;
            };
            if !taker.accepts(lp) {
                return true;
            }
            let m = match self.book[oi].get(&lp) {
                Some(level) => level.head,
                None => return true,
            };
            let maker = &self.orders[m as usize];
            if maker.trader == taker.trader && self.cfg.self_trade != SelfTrade::Allow {
                match self.cfg.self_trade {
                    SelfTrade::CancelResting => {
                        self.cancel_resting(m, Reason::SelfTrade);
                        continue;
                    }
                    SelfTrade::CancelAggressor => {
                        self.cancel_working(t, Reason::SelfTrade);
                        return false;
                    }
                    SelfTrade::CancelBoth | SelfTrade::Allow => {
                        self.cancel_resting(m, Reason::SelfTrade);
                        self.cancel_working(t, Reason::SelfTrade);
                        return false;
                    }
                }
            }
            let mut q = leaves.min(maker.visible);
            if taker.reduce_only() {
                let a = self.allowed(taker.trader, side);
                if a == 0 {
                    self.cancel_working(t, Reason::ReduceOnlyPositionClosed);
                    return false;
                }
                q = q.min(a);
            }
            if maker.reduce_only() {
                let a = self.allowed(maker.trader, opp);
                if a == 0 {
                    self.cancel_resting(m, Reason::ReduceOnlyPositionClosed);
                    continue;
                }
                q = q.min(a);
            }
            let trade_id = self.trade_id();
            self.fill(t, lp, q, Liquidity::Taker, trade_id);
            self.fill(m, lp, q, Liquidity::Maker, trade_id);
            self.maker_filled(m, q, false);
            self.last_price = Some(lp);
        }
    }

    /// Book upkeep after a resting order got `q`: level sums, removal when done, iceberg
    /// refresh (to the back of the queue). `requeue` re-estimates a backtest queue position.
    pub(crate) fn maker_filled(&mut self, m: u32, q: i64, backtest: bool) {
        let (side, price, leaves, vis_used) = {
            let o = &mut self.orders[m as usize];
            let vis_used = q.min(o.visible);
            o.visible -= vis_used;
            (o.side, o.price, o.leaves(), vis_used)
        };
        let levels = &mut self.book[idx(side)];
        if let Some(level) = levels.get_mut(&price) {
            level.leaves -= i128::from(q);
            level.visible -= i128::from(vis_used);
        }
        if leaves == 0 {
            unlink(levels, &mut self.orders, m);
            self.close(m);
        } else if self.orders[m as usize].visible == 0 {
            unlink(levels, &mut self.orders, m);
            let seq = self.seq();
            let o = &mut self.orders[m as usize];
            o.visible = o.tranche();
            o.seq = seq;
            if backtest {
                let (ahead, known) = self.estimate_queue(side, price);
                let o = &mut self.orders[m as usize];
                o.queue_ahead = ahead;
                o.queue_known = known;
            }
            push_back(&mut self.book[idx(side)], &mut self.orders, m);
        }
    }

    /// Exact FOK check in exchange mode: replays the matching loop on copies of the crossing
    /// levels (icebergs, self-trade prevention and reduce-only included) without side effects.
    fn fok_fillable_exchange(&self, t: u32) -> bool {
        #[derive(Clone, Copy)]
        struct Sim {
            trader: u32,
            visible: i64,
            leaves: i64,
            display: i64,
            reduce_only: bool,
        }
        let taker = &self.orders[t as usize];
        let side = taker.side;
        let opp = side.opposite();
        let need = taker.leaves();
        let mut filled = 0i64;
        let mut pos: Vec<(u32, i64)> = Vec::new();
        let pos_of = |pos: &Vec<(u32, i64)>, trader: u32| {
            pos.iter()
                .find(|(id, _)| *id == trader)
                .map_or_else(|| self.position(trader), |(_, p)| *p)
        };
        let allowed = |pos: &Vec<(u32, i64)>, trader: u32, s: Side| {
            let p = pos_of(pos, trader);
            match s {
                Side::Buy => p.saturating_neg().max(0),
                Side::Sell => p.max(0),
            }
        };
        let apply = |pos: &mut Vec<(u32, i64)>, trader: u32, delta: i64| {
            let cur = pos_of(pos, trader);
            match pos.iter_mut().find(|(id, _)| *id == trader) {
                Some(entry) => entry.1 = cur.saturating_add(delta),
                None => pos.push((trader, cur.saturating_add(delta))),
            }
        };
        let mut queue: VecDeque<Sim> = VecDeque::new();
        for (&lp, level) in in_priority(&self.book[idx(opp)], opp) {
            if filled >= need || !taker.accepts(lp) {
                break;
            }
            queue.clear();
            let mut slot = level.head;
            while slot != NIL {
                let o = &self.orders[slot as usize];
                queue.push_back(Sim {
                    trader: o.trader,
                    visible: o.visible,
                    leaves: o.leaves(),
                    display: o.display,
                    reduce_only: o.reduce_only(),
                });
                slot = o.next;
            }
            while let Some(mut m) = queue.pop_front() {
                if filled >= need {
                    break;
                }
                if m.trader == taker.trader && self.cfg.self_trade != SelfTrade::Allow {
                    if self.cfg.self_trade == SelfTrade::CancelResting {
                        continue;
                    }
                    return false;
                }
                let mut q = (need - filled).min(m.visible);
                if taker.reduce_only() {
                    let a = allowed(&pos, taker.trader, side);
                    if a == 0 {
                        return false;
                    }
                    q = q.min(a);
                }
                if m.reduce_only {
                    let a = allowed(&pos, m.trader, opp);
                    if a == 0 {
                        continue;
                    }
                    q = q.min(a);
                }
                filled += q;
                apply(&mut pos, taker.trader, side.sign() * q);
                apply(&mut pos, m.trader, opp.sign() * q);
                m.visible -= q;
                m.leaves -= q;
                if m.leaves == 0 {
                    continue;
                }
                if m.visible == 0 {
                    m.visible = if m.display > 0 {
                        m.display.min(m.leaves)
                    } else {
                        m.leaves
                    };
                    queue.push_back(m);
                } else {
                    queue.push_front(m);
                }
            }
        }
        filled >= need
    }

    /// Records a fill of `q` at `price` on `slot`: quantities, position, fee, event.
    pub(crate) fn fill(&mut self, slot: u32, price: i64, q: i64, liq: Liquidity, trade_id: u64) {
        let cfg = self.cfg;
        let o = &mut self.orders[slot as usize];
        o.filled += q;
        let leaves = o.leaves();
        let rate = match liq {
            Liquidity::Maker => cfg.maker_fee_rate,
            _ => cfg.taker_fee_rate,
        };
        let fee = fee_raw(
            price,
            q,
            rate,
            cfg.price_precision + cfg.size_precision + cfg.fee_rate_precision,
            cfg.fee_precision,
        );
        let (trader, side) = (o.trader, o.side);
        let ev = Event {
            kind: if leaves == 0 {
                EventKind::Filled
            } else {
                EventKind::PartiallyFilled
            },
            ts: self.clock,
            client_order_id: o.client_id,
            venue_order_id: o.venue_id,
            trade_id,
            trader_id: trader,
            side: Some(side),
            order_type: Some(o.otype),
            price,
            trigger_price: o.trigger,
            qty: q,
            leaves,
            fee,
            liquidity: liq,
            reason: Reason::None,
        };
        self.events.push_back(ev);
        let pos = self.positions.entry(trader).or_insert(0);
        *pos = pos.saturating_add(side.sign() * q);
    }

    // -- triggers -------------------------------------------------------------------------------

    /// The prices the four trigger sets compare against right now.
    fn marks(&self) -> [Option<i64>; 4] {
        match self.cfg.mode {
            Mode::Exchange => [self.last_price; 4],
            Mode::Backtest => self.market_marks(),
        }
    }

    fn trigger_now(&self, slot: u32) -> bool {
        let o = &self.orders[slot as usize];
        let set = trigger_set(o.side, o.otype);
        self.marks()[set].is_some_and(|m| trigger_hit(set, o.trigger, m))
    }

    /// Puts a Working stop into its trigger set.
    fn park(&mut self, slot: u32) {
        let o = &mut self.orders[slot as usize];
        o.state = State::Pending;
        let set = trigger_set(o.side, o.otype);
        self.stops[set].insert((o.trigger, o.seq, slot));
    }

    /// A triggered order becomes live: event, new priority, execution.
    pub(crate) fn fire(&mut self, slot: u32) {
        let seq = self.seq();
        let o = &mut self.orders[slot as usize];
        o.triggered = true;
        o.seq = seq;
        o.state = State::Working;
        self.emit_state(EventKind::Triggered, slot, Reason::None);
        self.execute(slot);
    }

    /// Removes and returns (in acceptance order) every pending order whose trigger is hit by
    /// `marks`.
    pub(crate) fn take_triggered(&mut self, marks: [Option<i64>; 4]) -> Vec<u32> {
        let mut hit: Vec<(u64, u32)> = Vec::new();
        for (set, mark) in marks.iter().enumerate() {
            let Some(m) = *mark else { continue };
            let stops = &mut self.stops[set];
            if stops.is_empty() {
                continue;
            }
            let keys: Vec<(i64, u64, u32)> = if set < 2 {
                stops.range(..=(m, u64::MAX, u32::MAX)).copied().collect()
            } else {
                stops.range((m, 0, 0)..).copied().collect()
            };
            for key in keys {
                stops.remove(&key);
                hit.push((key.1, key.2));
            }
        }
        hit.sort_unstable();
        for &(_, slot) in &hit {
            self.orders[slot as usize].state = State::Working;
        }
        hit.into_iter().map(|(_, slot)| slot).collect()
    }

    /// Fires the given (already removed) orders in order.
    pub(crate) fn fire_all(&mut self, slots: Vec<u32>) {
        for slot in slots {
            self.fire(slot);
        }
    }

    /// Exchange mode: fire stops hit by the last price until nothing more triggers.
    fn cascade_triggers(&mut self) {
        if self.stops.iter().all(BTreeSet::is_empty) || self.last_price.is_none() {
            return;
        }
        loop {
            let fired = self.take_triggered([self.last_price; 4]);
            if fired.is_empty() {
                return;
            }
            self.fire_all(fired);
        }
    }

    // -- helpers --------------------------------------------------------------------------------

    fn seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    pub(crate) fn trade_id(&mut self) -> u64 {
        let t = self.next_trade_id;
        self.next_trade_id += 1;
        t
    }

    fn alloc(&mut self, order: Order) -> u32 {
        if let Some(slot) = self.free.pop() {
            self.orders[slot as usize] = order;
            slot
        } else {
            // More than u32::MAX - 1 simultaneously open orders is not a supported load.
            let slot = u32::try_from(self.orders.len()).unwrap_or(NIL - 1);
            self.orders.push(order);
            slot
        }
    }

    /// Takes a live order out of its level or trigger set (Working: nothing to do).
    fn remove_live(&mut self, slot: u32) {
        let o = &self.orders[slot as usize];
        match o.state {
            State::Resting => {
                let side = o.side;
                unlink(&mut self.book[idx(side)], &mut self.orders, slot);
            }
            State::Pending => {
                let key = (o.trigger, o.seq, slot);
                self.stops[trigger_set(o.side, o.otype)].remove(&key);
            }
            State::Working | State::Free => {}
        }
        self.orders[slot as usize].state = State::Working;
    }

    /// Forgets a closed order.
    pub(crate) fn close(&mut self, slot: u32) {
        let o = &mut self.orders[slot as usize];
        if o.state == State::Free {
            return;
        }
        o.state = State::Free;
        let id = o.client_id;
        self.index.remove(&id);
        self.free.push(slot);
    }

    pub(crate) fn cancel_working(&mut self, slot: u32, reason: Reason) {
        self.emit_cancel(EventKind::Canceled, slot, reason);
        self.close(slot);
    }

    pub(crate) fn cancel_resting(&mut self, slot: u32, reason: Reason) {
        self.remove_live(slot);
        self.emit_cancel(EventKind::Canceled, slot, reason);
        self.close(slot);
    }

    fn base_event(&self, kind: EventKind, slot: u32, reason: Reason) -> Event {
        let o = &self.orders[slot as usize];
        Event {
            kind,
            ts: self.clock,
            client_order_id: o.client_id,
            venue_order_id: o.venue_id,
            trade_id: 0,
            trader_id: o.trader,
            side: Some(o.side),
            order_type: Some(o.otype),
            price: o.price,
            trigger_price: o.trigger,
            qty: o.qty,
            leaves: o.leaves(),
            fee: 0,
            liquidity: Liquidity::None,
            reason,
        }
    }

    /// ACCEPTED / TRIGGERED / UPDATED / *_REJECTED of a known order: its current values.
    fn emit_state(&mut self, kind: EventKind, slot: u32, reason: Reason) {
        let ev = self.base_event(kind, slot, reason);
        self.events.push_back(ev);
    }

    /// CANCELED / EXPIRED: `qty` is what leaves the book, `leaves` 0.
    fn emit_cancel(&mut self, kind: EventKind, slot: u32, reason: Reason) {
        let mut ev = self.base_event(kind, slot, reason);
        ev.qty = ev.leaves;
        ev.leaves = 0;
        self.events.push_back(ev);
    }

    fn reject_unknown(&mut self, kind: EventKind, c: &Command, reason: Reason) {
        self.events.push_back(Event {
            kind,
            ts: self.clock,
            client_order_id: c.client_order_id,
            venue_order_id: 0,
            trade_id: 0,
            trader_id: c.trader_id,
            side: None,
            order_type: None,
            price: 0,
            trigger_price: 0,
            qty: 0,
            leaves: 0,
            fee: 0,
            liquidity: Liquidity::None,
            reason,
        });
    }

    /// Slots of the resting level at (`side`, `price`) into `self.scratch`-like storage.
    pub(crate) fn slots_at(&self, side: Side, price: i64, out: &mut Vec<u32>) {
        level_slots(&self.book[idx(side)], &self.orders, price, out);
    }

    /// Fails with an error naming the mode when a backtest-only call is made in exchange mode.
    pub(crate) fn require_backtest(&self, what: &str) -> Result<(), InputError> {
        if self.cfg.mode == Mode::Backtest {
            Ok(())
        } else {
            Err(InputError {
                message: format!(
                    "h: the engine is in EXCHANGE mode (mode=1); {what} need a BACKTEST-mode \
                     engine (mode=2)"
                ),
            })
        }
    }
}

/// Level sums are i128 (no overflow however many orders); queries clamp to i64.
pub(crate) fn clamp_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}
