//! A deliberately naive reference model of EXCHANGE mode, for property tests: all live orders
//! in one Vec, every decision by linear scan, FOK by "run it on a clone and keep the clone only
//! if the order filled completely". It implements the rules of docs/matching-engine.md
//! directly and shares no code with the engine beyond the value types.

use std::collections::HashMap;

use super::types::*;

#[derive(Clone, Debug)]
struct R {
    id: u64,
    venue: u64,
    seq: u64,
    trader: u32,
    side: Side,
    otype: OrderType,
    tif: TimeInForce,
    post_only: bool,
    reduce_only: bool,
    triggered: bool,
    /// Waiting for its trigger.
    pending: bool,
    /// In the book (false while executing).
    resting: bool,
    price: i64,
    trigger: i64,
    qty: i64,
    filled: i64,
    display: i64,
    visible: i64,
    expire: u64,
}

impl R {
    fn leaves(&self) -> i64 {
        self.qty - self.filled
    }
    fn market_like(&self) -> bool {
        matches!(
            self.otype,
            OrderType::Market | OrderType::StopMarket | OrderType::MarketIfTouched
        )
    }
    fn tranche(&self) -> i64 {
        if self.display > 0 {
            self.display.min(self.leaves())
        } else {
            self.leaves()
        }
    }
    fn crosses(&self, p: i64) -> bool {
        self.market_like()
            || match self.side {
                Side::Buy => self.price >= p,
                Side::Sell => self.price <= p,
            }
    }
    /// Trigger condition against a last trade price.
    fn hit(&self, last: i64) -> bool {
        let stop = matches!(self.otype, OrderType::StopMarket | OrderType::StopLimit);
        match (self.side, stop) {
            (Side::Buy, true) | (Side::Sell, false) => last >= self.trigger,
            (Side::Sell, true) | (Side::Buy, false) => last <= self.trigger,
        }
    }
}

#[derive(Clone)]
pub(crate) struct Reference {
    cfg: Config,
    clock: u64,
    live: Vec<R>,
    pub events: Vec<Event>,
    positions: HashMap<u32, i64>,
    venue: u64,
    seq: u64,
    trade: u64,
    last: Option<i64>,
}

impl Reference {
    pub fn new(cfg: Config) -> Self {
        assert_eq!(cfg.mode, Mode::Exchange);
        Reference {
            cfg,
            clock: 0,
            live: Vec::new(),
            events: Vec::new(),
            positions: HashMap::new(),
            venue: 1,
            seq: 1,
            trade: 1,
            last: None,
        }
    }

    pub fn set_position(&mut self, trader: u32, pos: i64) {
        self.positions.insert(trader, pos);
    }

    pub fn position(&self, trader: u32) -> i64 {
        *self.positions.get(&trader).unwrap_or(&0)
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq - 1
    }

    fn find(&self, id: u64) -> Option<usize> {
        self.live.iter().position(|o| o.id == id)
    }

    fn ev(&self, kind: EventKind, o: &R, reason: Reason) -> Event {
        Event {
            kind,
            ts: self.clock,
            client_order_id: o.id,
            venue_order_id: o.venue,
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

    fn push(&mut self, kind: EventKind, i: usize, reason: Reason) {
        let e = self.ev(kind, &self.live[i], reason);
        self.events.push(e);
    }

    /// Cancel/expire event, then the order is gone.
    fn kill(&mut self, kind: EventKind, i: usize, reason: Reason) {
        let mut e = self.ev(kind, &self.live[i], reason);
        e.qty = e.leaves;
        e.leaves = 0;
        self.events.push(e);
        self.live.remove(i);
    }

    fn allowed(&self, trader: u32, side: Side) -> i64 {
        let p = self.position(trader);
        match side {
            Side::Buy => (-p).max(0),
            Side::Sell => p.max(0),
        }
    }

    /// Best resting maker on `side`: best price, then lowest seq.
    fn best_maker(&self, side: Side) -> Option<usize> {
        let mut best: Option<usize> = None;
        for (i, o) in self.live.iter().enumerate() {
            if !o.resting || o.side != side {
                continue;
            }
            best = match best {
                None => Some(i),
                Some(b) => {
                    let ob = &self.live[b];
                    let better = match side {
                        Side::Buy => o.price > ob.price,
                        Side::Sell => o.price < ob.price,
                    };
                    if better || (o.price == ob.price && o.seq < ob.seq) {
                        Some(i)
                    } else {
                        Some(b)
                    }
                }
            };
        }
        best
    }

    fn would_take(&self, side: Side, price: i64) -> bool {
        match self.best_maker(side.opposite()) {
            Some(m) => match side {
                Side::Buy => price >= self.live[m].price,
                Side::Sell => price <= self.live[m].price,
            },
            None => false,
        }
    }

    pub fn advance(&mut self, ts: u64) {
        self.clock = self.clock.max(ts);
        loop {
            let due = self
                .live
                .iter()
                .enumerate()
                .filter(|(_, o)| o.expire != 0 && o.expire <= self.clock)
                .min_by_key(|(_, o)| (o.expire, o.venue))
                .map(|(i, _)| i);
            let Some(i) = due else { break };
            let reason = if self.live[i].tif == TimeInForce::Day {
                Reason::ExpiredDay
            } else {
                Reason::ExpiredGtd
            };
            let at = self.live[i].expire;
            self.kill(EventKind::Expired, i, reason);
            self.events.last_mut().unwrap().ts = at;
        }
    }

    pub fn command(&mut self, c: &Command) {
        self.advance(c.ts);
        match c.kind {
            CommandKind::Submit => self.submit(c),
            CommandKind::Modify => self.modify(c),
            CommandKind::Cancel => self.cancel(c),
        }
        // Stops: fire everything hit by the last price, in acceptance order, until quiet.
        while let Some(last) = self.last {
            let mut hit: Vec<(u64, u64)> = self
                .live
                .iter()
                .filter(|o| o.pending && o.hit(last))
                .map(|o| (o.seq, o.id))
                .collect();
            if hit.is_empty() {
                break;
            }
            hit.sort();
            for (_, id) in hit {
                let i = self.find(id).expect("pending order");
                self.live[i].pending = false;
                self.fire(id);
            }
        }
    }

    fn bad_price(&self, p: i64) -> Option<Reason> {
        if p.abs() > PRICE_LIMIT {
            Some(Reason::PriceOutOfRange)
        } else if p % self.cfg.price_increment != 0 {
            Some(Reason::PriceNotOnTick)
        } else {
            None
        }
    }

    fn bad_qty(&self, q: i64) -> Option<Reason> {
        if q <= 0 {
            Some(Reason::InvalidQuantity)
        } else if q % self.cfg.size_increment != 0 {
            Some(Reason::QuantityNotOnLot)
        } else if q < self.cfg.min_quantity
            || (self.cfg.max_quantity > 0 && q > self.cfg.max_quantity)
        {
            Some(Reason::QuantityOutOfRange)
        } else {
            None
        }
    }

    fn submit(&mut self, c: &Command) {
        let t = c.order_type;
        let can_rest =
            t.has_price() && !matches!(c.time_in_force, TimeInForce::Ioc | TimeInForce::Fok);
        let post_only = c.flags & FLAG_POST_ONLY != 0;
        let reduce_only = c.flags & FLAG_REDUCE_ONLY != 0;
        let reason = self
            .bad_qty(c.qty)
            .or_else(|| t.has_price().then(|| self.bad_price(c.price)).flatten())
            .or_else(|| {
                t.has_trigger()
                    .then(|| {
                        self.bad_price(c.trigger_price).map(|r| match r {
                            Reason::PriceNotOnTick => Reason::TriggerNotOnTick,
                            r => r,
                        })
                    })
                    .flatten()
            })
            .or_else(|| {
                let d = c.display_qty;
                (d < 0 || d > c.qty || (d > 0 && (!can_rest || d % self.cfg.size_increment != 0)))
                    .then_some(Reason::InvalidDisplayQuantity)
            })
            .or_else(|| {
                let gtd = c.time_in_force == TimeInForce::Gtd;
                ((gtd && c.expire_ts <= self.clock) || (!gtd && c.expire_ts != 0))
                    .then_some(Reason::InvalidExpireTime)
            })
            .or_else(|| (post_only && !can_rest).then_some(Reason::PostOnlyNotAllowed))
            .or_else(|| {
                self.find(c.client_order_id)
                    .map(|_| Reason::DuplicateClientOrderId)
            })
            .or_else(|| {
                (reduce_only && self.allowed(c.trader_id, c.side) == 0)
                    .then_some(Reason::ReduceOnlyWouldIncrease)
            })
            .or_else(|| {
                (post_only && t == OrderType::Limit && self.would_take(c.side, c.price))
                    .then_some(Reason::PostOnlyWouldTake)
            });
        if let Some(reason) = reason {
            self.events.push(Event {
                kind: EventKind::Rejected,
                ts: self.clock,
                client_order_id: c.client_order_id,
                venue_order_id: 0,
                trade_id: 0,
                trader_id: c.trader_id,
                side: Some(c.side),
                order_type: Some(t),
                price: if t.has_price() { c.price } else { 0 },
                trigger_price: if t.has_trigger() { c.trigger_price } else { 0 },
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
            TimeInForce::Day => {
                // next (midnight + offset) strictly after now
                let d = NANOS_PER_DAY as i128;
                let off = self.cfg.day_end_offset_ns as i128;
                let mut e = off;
                let now = self.clock as i128;
                while e <= now {
                    e += d;
                }
                while e - d > now {
                    e -= d;
                }
                e as u64
            }
            _ => 0,
        };
        let seq = self.next_seq();
        let o = R {
            id: c.client_order_id,
            venue: self.venue,
            seq,
            trader: c.trader_id,
            side: c.side,
            otype: t,
            tif: c.time_in_force,
            post_only,
            reduce_only,
            triggered: false,
            pending: false,
            resting: false,
            price: if t.has_price() { c.price } else { 0 },
            trigger: if t.has_trigger() { c.trigger_price } else { 0 },
            qty: c.qty,
            filled: 0,
            display: if c.display_qty == c.qty {
                0
            } else {
                c.display_qty
            },
            visible: 0,
            expire,
        };
        self.venue += 1;
        self.live.push(o);
        let i = self.live.len() - 1;
        self.push(EventKind::Accepted, i, Reason::None);
        if t.has_trigger() {
            if self.last.is_some_and(|l| self.live[i].hit(l)) {
                self.fire(c.client_order_id);
            } else {
                self.live[i].pending = true;
            }
        } else {
            self.run(c.client_order_id);
        }
    }

    fn fire(&mut self, id: u64) {
        let seq = self.next_seq();
        let i = self.find(id).unwrap();
        self.live[i].triggered = true;
        self.live[i].seq = seq;
        self.push(EventKind::Triggered, i, Reason::None);
        self.run(id);
    }

    /// Executes a live, non-resting order.
    fn run(&mut self, id: u64) {
        let i = self.find(id).unwrap();
        let o = self.live[i].clone();
        if o.reduce_only && self.allowed(o.trader, o.side) == 0 {
            self.kill(EventKind::Canceled, i, Reason::ReduceOnlyPositionClosed);
            return;
        }
        if o.post_only && self.would_take(o.side, o.price) {
            self.kill(EventKind::Canceled, i, Reason::PostOnlyWouldTake);
            return;
        }
        if o.tif == TimeInForce::Fok {
            let mut trial = self.clone();
            trial.take(id);
            // Canceled inside (self-trade, reduce-only) means gone from `live`.
            let fully = trial.find(id).is_some_and(|j| trial.live[j].leaves() == 0);
            if !fully {
                self.kill(EventKind::Canceled, i, Reason::FokNotFillable);
                return;
            }
        }
        if !self.take(id) {
            return;
        }
        let i = self.find(id).unwrap();
        let o = self.live[i].clone();
        if o.leaves() == 0 {
            self.live.remove(i);
        } else if o.reduce_only && self.allowed(o.trader, o.side) == 0 {
            self.kill(EventKind::Canceled, i, Reason::ReduceOnlyPositionClosed);
        } else if o.market_like() {
            self.kill(EventKind::Canceled, i, Reason::NoLiquidity);
        } else if matches!(o.tif, TimeInForce::Ioc | TimeInForce::Fok) {
            self.kill(EventKind::Canceled, i, Reason::IocRemainder);
        } else {
            let v = self.live[i].tranche();
            self.live[i].visible = v;
            self.live[i].resting = true;
        }
    }

    fn fill_ev(&mut self, id: u64, price: i64, q: i64, liq: Liquidity, trade: u64) {
        let i = self.find(id).unwrap();
        self.live[i].filled += q;
        let o = self.live[i].clone();
        let rate = if liq == Liquidity::Maker {
            self.cfg.maker_fee_rate
        } else {
            self.cfg.taker_fee_rate
        };
        // exact: price*q*rate / 10^(pp+sp+rp-fp), half-even (small numbers only in tests)
        let shift = (self.cfg.price_precision
            + self.cfg.size_precision
            + self.cfg.fee_rate_precision) as i32
            - self.cfg.fee_precision as i32;
        let num = price as i128 * q as i128 * rate as i128;
        let fee = if shift >= 0 {
            let d = 10i128.pow(shift as u32);
            let (mut qt, r) = (num.div_euclid(d), num.rem_euclid(d));
            if 2 * r > d || (2 * r == d && qt % 2 != 0) {
                qt += 1;
            }
            qt
        } else {
            num * 10i128.pow((-shift) as u32)
        } as i64;
        self.events.push(Event {
            kind: if o.leaves() == 0 {
                EventKind::Filled
            } else {
                EventKind::PartiallyFilled
            },
            ts: self.clock,
            client_order_id: id,
            venue_order_id: o.venue,
            trade_id: trade,
            trader_id: o.trader,
            side: Some(o.side),
            order_type: Some(o.otype),
            price,
            trigger_price: o.trigger,
            qty: q,
            leaves: o.leaves(),
            fee,
            liquidity: liq,
            reason: Reason::None,
        });
        *self.positions.entry(o.trader).or_insert(0) += o.side.sign() * q;
    }

    /// Takes liquidity for the taker `id`; false if the taker got canceled.
    fn take(&mut self, id: u64) -> bool {
        loop {
            let t = self.live[self.find(id).unwrap()].clone();
            if t.leaves() == 0 {
                return true;
            }
            let Some(m) = self.best_maker(t.side.opposite()) else {
                return true;
            };
            let mk = self.live[m].clone();
            if !t.crosses(mk.price) {
                return true;
            }
            if mk.trader == t.trader && self.cfg.self_trade != SelfTrade::Allow {
                match self.cfg.self_trade {
                    SelfTrade::CancelResting => {
                        self.kill(EventKind::Canceled, m, Reason::SelfTrade);
                        continue;
                    }
                    SelfTrade::CancelAggressor => {
                        let i = self.find(id).unwrap();
                        self.kill(EventKind::Canceled, i, Reason::SelfTrade);
                        return false;
                    }
                    _ => {
                        self.kill(EventKind::Canceled, m, Reason::SelfTrade);
                        let i = self.find(id).unwrap();
                        self.kill(EventKind::Canceled, i, Reason::SelfTrade);
                        return false;
                    }
                }
            }
            let mut q = t.leaves().min(mk.visible);
            if t.reduce_only {
                let a = self.allowed(t.trader, t.side);
                if a == 0 {
                    let i = self.find(id).unwrap();
                    self.kill(EventKind::Canceled, i, Reason::ReduceOnlyPositionClosed);
                    return false;
                }
                q = q.min(a);
            }
            if mk.reduce_only {
                let a = self.allowed(mk.trader, mk.side);
                if a == 0 {
                    self.kill(EventKind::Canceled, m, Reason::ReduceOnlyPositionClosed);
                    continue;
                }
                q = q.min(a);
            }
            let trade = self.trade;
            self.trade += 1;
            self.fill_ev(id, mk.price, q, Liquidity::Taker, trade);
            self.fill_ev(mk.id, mk.price, q, Liquidity::Maker, trade);
            self.last = Some(mk.price);
            let m = self.find(mk.id).unwrap();
            self.live[m].visible -= q;
            if self.live[m].leaves() == 0 {
                self.live.remove(m);
            } else if self.live[m].visible == 0 {
                let seq = self.next_seq();
                let v = self.live[m].tranche();
                self.live[m].visible = v;
                self.live[m].seq = seq;
            }
        }
    }

    fn reject_unknown(&mut self, kind: EventKind, c: &Command) {
        self.events.push(Event {
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
            reason: Reason::UnknownOrder,
        });
    }

    fn cancel(&mut self, c: &Command) {
        let Some(i) = self.find(c.client_order_id) else {
            self.reject_unknown(EventKind::CancelRejected, c);
            return;
        };
        if self.live[i].trader != c.trader_id {
            self.push(EventKind::CancelRejected, i, Reason::WrongTrader);
            return;
        }
        self.kill(EventKind::Canceled, i, Reason::Requested);
    }

    fn modify(&mut self, c: &Command) {
        let Some(i) = self.find(c.client_order_id) else {
            self.reject_unknown(EventKind::ModifyRejected, c);
            return;
        };
        let o = self.live[i].clone();
        if o.trader != c.trader_id {
            self.push(EventKind::ModifyRejected, i, Reason::WrongTrader);
            return;
        }
        let new_price = if c.flags & FLAG_MODIFY_PRICE != 0 {
            c.price
        } else {
            o.price
        };
        let new_trigger = if c.flags & FLAG_MODIFY_TRIGGER != 0 {
            c.trigger_price
        } else {
            o.trigger
        };
        let new_qty = if c.qty != 0 { c.qty } else { o.qty };
        let mut refuse = None;
        if c.flags & FLAG_MODIFY_PRICE != 0 {
            refuse = if o.otype.has_price() {
                self.bad_price(c.price)
            } else {
                Some(Reason::NotApplicable)
            };
        }
        if refuse.is_none() && c.flags & FLAG_MODIFY_TRIGGER != 0 {
            refuse = if !o.otype.has_trigger() || o.triggered {
                Some(Reason::NotApplicable)
            } else {
                self.bad_price(c.trigger_price).map(|r| match r {
                    Reason::PriceNotOnTick => Reason::TriggerNotOnTick,
                    r => r,
                })
            };
        }
        if refuse.is_none() && c.qty != 0 {
            refuse = self.bad_qty(c.qty).or(if c.qty <= o.filled {
                Some(Reason::QuantityBelowFilled)
            } else {
                None
            });
        }
        if refuse.is_none()
            && o.post_only
            && o.resting
            && new_price != o.price
            && self.would_take(o.side, new_price)
        {
            refuse = Some(Reason::PostOnlyWouldTake);
        }
        if let Some(r) = refuse {
            self.push(EventKind::ModifyRejected, i, r);
            return;
        }
        let lose = new_price != o.price || new_trigger != o.trigger || new_qty > o.qty;
        {
            let m = &mut self.live[i];
            m.price = new_price;
            m.trigger = new_trigger;
            m.qty = new_qty;
            m.visible = m.visible.min(m.leaves());
        }
        if lose {
            let seq = self.next_seq();
            self.live[i].seq = seq;
        }
        self.push(EventKind::Updated, i, Reason::None);
        if o.pending {
            if self.last.is_some_and(|l| self.live[i].hit(l)) {
                self.live[i].pending = false;
                self.fire(o.id);
            }
        } else if lose {
            self.live[i].resting = false;
            self.run(o.id);
        }
    }

    /// Resting orders: bids best-first then time, asks likewise, then pending by seq:
    /// (id, price, qty, filled, visible).
    pub fn open_orders(&self) -> Vec<(u64, i64, i64, i64, i64)> {
        let mut bids: Vec<&R> = self
            .live
            .iter()
            .filter(|o| o.resting && o.side == Side::Buy)
            .collect();
        bids.sort_by_key(|o| (-o.price, o.seq));
        let mut asks: Vec<&R> = self
            .live
            .iter()
            .filter(|o| o.resting && o.side == Side::Sell)
            .collect();
        asks.sort_by_key(|o| (o.price, o.seq));
        let mut pending: Vec<&R> = self.live.iter().filter(|o| o.pending).collect();
        pending.sort_by_key(|o| o.seq);
        bids.into_iter()
            .chain(asks)
            .map(|o| (o.id, o.price, o.qty, o.filled, o.visible))
            .chain(
                pending
                    .into_iter()
                    .map(|o| (o.id, o.price, o.qty, o.filled, 0)),
            )
            .collect()
    }
}
