//! Backtest mode: the user's orders against market data (quotes, trades, bars, L2 deltas).
//!
//! The engine keeps its own per-level view of the market (`Market`): for each price the
//! visible size, how much of it the user's orders already consumed (stays consumed until the
//! data updates that level) and the traded volume not yet reflected by a book update (for the
//! proportional queue model). See docs/matching-engine.md for the full model.

use std::collections::BTreeMap;

use super::engine::{idx, MatchingEngine};
use super::store::{best_price, in_priority};
use super::types::*;
use crate::book::{BookAction, BookDelta, F_LAST};

/// One market price level as the engine sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct MLevel {
    pub size: i64,
    /// Taken by the user's orders since the data last updated this level.
    pub consumed: i64,
    /// Printed by trades at this level since its last update.
    pub traded: i64,
}

impl MLevel {
    fn new(size: i64) -> Self {
        MLevel {
            size,
            consumed: 0,
            traded: 0,
        }
    }

    #[inline]
    fn avail(&self) -> i64 {
        (self.size - self.consumed).max(0)
    }
}

/// Where the market view comes from (the last kind of data that set it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Source {
    #[default]
    None,
    /// Trades/bars only: a synthetic one-level book at the last print on both sides.
    Trades,
    /// L1 quotes: one level per side; deeper levels unknown.
    Quotes,
    /// L2 deltas: full depth.
    Book,
}

#[derive(Debug, Default)]
pub(crate) struct Market {
    pub levels: [BTreeMap<i64, MLevel>; 2],
    pub source: Source,
    pub last_trade: Option<i64>,
    /// Deltas were applied since the last matching pass.
    pub dirty: bool,
}

/// Bar volume 0 means "unknown": each path point then offers this much.
const UNKNOWN_BAR_SIZE: i64 = i64::MAX / 8;

impl MatchingEngine {
    // -- public market-data entry points --------------------------------------------------------

    /// Applies quotes in order (each: time, book view, queue estimates, crossing fills,
    /// triggers).
    pub fn on_quotes(&mut self, quotes: &[Quote]) -> Result<(), InputError> {
        self.require_backtest("quotes")?;
        for (i, q) in quotes.iter().enumerate() {
            q.check(i)?;
        }
        for q in quotes {
            self.advance_time(q.ts);
            if self.market.source != Source::Quotes {
                self.market.levels = Default::default();
                self.market.source = Source::Quotes;
            }
            self.quote_side(Side::Buy, q.bid_price, q.bid_size);
            self.quote_side(Side::Sell, q.ask_price, q.ask_size);
            self.after_book_update();
        }
        Ok(())
    }

    /// Applies trade prints in order.
    pub fn on_trades(&mut self, trades: &[Trade]) -> Result<(), InputError> {
        self.require_backtest("trades")?;
        for (i, t) in trades.iter().enumerate() {
            t.check(i)?;
        }
        for t in trades {
            self.advance_time(t.ts);
            self.print(t.price, t.size, t.aggressor, None);
        }
        Ok(())
    }

    /// Applies bars in order: each is replayed as four prints, open, then the extreme nearer
    /// to the open, the other extreme, close; a quarter of the volume at each.
    pub fn on_bars(&mut self, bars: &[Bar]) -> Result<(), InputError> {
        self.require_backtest("bars")?;
        for (i, b) in bars.iter().enumerate() {
            b.check(i)?;
        }
        for b in bars {
            self.advance_time(b.ts);
            let up = i128::from(b.high) - i128::from(b.open);
            let down = i128::from(b.open) - i128::from(b.low);
            let path = if up <= down {
                [b.open, b.high, b.low, b.close]
            } else {
                [b.open, b.low, b.high, b.close]
            };
            let (quarter, first) = if b.volume <= 0 {
                (UNKNOWN_BAR_SIZE, UNKNOWN_BAR_SIZE)
            } else {
                let q = b.volume / 4;
                (q, b.volume - 3 * q)
            };
            let mut prev = b.open;
            for (i, &p) in path.iter().enumerate() {
                let size = if i == 0 { first } else { quarter };
                self.print(p, size, Aggressor::NoAggressor, Some((prev, p)));
                prev = p;
            }
        }
        Ok(())
    }

    /// Applies L2 (market-by-price) deltas in order — the book module's `BookDelta` records,
    /// `order_id` and `sequence` ignored; matching runs after each delta flagged `F_LAST` and
    /// at the end of the slice.
    pub fn on_deltas(&mut self, deltas: &[BookDelta]) -> Result<(), InputError> {
        self.require_backtest("deltas")?;
        for (i, d) in deltas.iter().enumerate() {
            check_delta(d, i)?;
        }
        for d in deltas {
            self.advance_time(d.ts_event);
            self.delta(d);
            if d.flags & F_LAST != 0 {
                self.after_book_update();
            }
        }
        if self.market.dirty {
            self.after_book_update();
        }
        Ok(())
    }

    /// Best market price of a side (backtest view; consumed liquidity still counts).
    pub fn market_best(&self, side: Side) -> Option<i64> {
        best_price_m(&self.market.levels[idx(side)], side)
    }

    /// Market levels of a side, best first: (price, size, still available to the user).
    pub fn market_depth(&self, side: Side, max_levels: usize) -> Vec<(i64, i64, i64)> {
        let levels = &self.market.levels[idx(side)];
        let iter: Box<dyn Iterator<Item = (&i64, &MLevel)>> = match side {
            Side::Buy => Box::new(levels.iter().rev()),
            Side::Sell => Box::new(levels.iter()),
        };
        iter.take(max_levels)
            .map(|(p, l)| (*p, l.size, l.avail()))
            .collect()
    }

    // -- internals ------------------------------------------------------------------------------

    pub(crate) fn market_marks(&self) -> [Option<i64>; 4] {
        let ask = self.market_best(Side::Sell);
        let bid = self.market_best(Side::Buy);
        [ask, bid, bid, ask]
    }

    /// Queue estimate for an order joining (`side`, `price`): (quantity ahead, known).
    pub(crate) fn estimate_queue(&self, side: Side, price: i64) -> (i64, bool) {
        let levels = &self.market.levels[idx(side)];
        match self.market.source {
            Source::Book => (levels.get(&price).map_or(0, |l| l.size), true),
            Source::Quotes => match best_price_m(levels, side) {
                Some(b) if b == price => (levels.get(&price).map_or(0, |l| l.size), true),
                // Behind the best quote: the depth there is not visible yet.
                Some(b) if side.better(b, price) => (0, false),
                _ => (0, true),
            },
            Source::Trades | Source::None => (0, true),
        }
    }

    fn quote_side(&mut self, side: Side, price: i64, size: i64) {
        let i = idx(side);
        let old = self.market.levels[i].iter().next().map(|(p, l)| (*p, *l));
        if size <= 0 {
            self.market.levels[i].clear();
            return;
        }
        if old.is_some_and(|(p, l)| p == price && l.size == size) {
            return; // level not updated: consumed liquidity stays consumed
        }
        self.market.levels[i].clear();
        self.market.levels[i].insert(price, MLevel::new(size));
        match old {
            Some((p, l)) if p == price => {
                let cancels = (l.size - size).saturating_sub(l.traded).max(0);
                self.requeue(side, price, Some(l.size), size, cancels);
            }
            _ => {
                self.requeue(side, price, None, size, 0);
                self.clear_queues_better_than(side, price);
            }
        }
    }

    fn delta(&mut self, d: &BookDelta) {
        if self.market.source != Source::Book {
            self.market.levels = Default::default();
            self.market.source = Source::Book;
        }
        self.market.dirty = true;
        let Some(action) = d.book_action() else {
            return; // checked before: unreachable
        };
        let side = match d.side {
            1 => Side::Buy,
            2 => Side::Sell,
            _ => {
                if action == BookAction::Clear {
                    self.market.levels = Default::default();
                }
                return;
            }
        };
        let i = idx(side);
        if action == BookAction::Clear {
            self.market.levels[i].clear();
            return;
        }
        let new = if action == BookAction::Delete {
            0
        } else {
            d.size.max(0)
        };
        let old = self.market.levels[i].get(&d.price).copied();
        if new == 0 {
            self.market.levels[i].remove(&d.price);
        } else {
            self.market.levels[i].insert(d.price, MLevel::new(new));
        }
        let old_size = old.map_or(0, |l| l.size);
        let cancels = (old_size - new)
            .saturating_sub(old.map_or(0, |l| l.traded))
            .max(0);
        self.requeue(side, d.price, Some(old_size), new, cancels);
    }

    /// Updates the queue estimates of the user's orders at (`side`, `price`) after the visible
    /// size went from `old` (None: not seen before) to `new`, `cancels` of the decrease not
    /// explained by trades.
    fn requeue(&mut self, side: Side, price: i64, old: Option<i64>, new: i64, cancels: i64) {
        let mut slots = std::mem::take(&mut self.scratch);
        self.slots_at(side, price, &mut slots);
        let proportional = self.cfg.queue_model == QueueModel::Proportional;
        for &s in &slots {
            let o = &mut self.orders[s as usize];
            if !o.queue_known {
                o.queue_ahead = new;
                o.queue_known = true;
                continue;
            }
            if let Some(v) = old {
                if proportional && cancels > 0 && v > 0 {
                    let gone = i128::from(cancels) * i128::from(o.queue_ahead) / i128::from(v);
                    o.queue_ahead -= i64::try_from(gone).unwrap_or(o.queue_ahead);
                }
            }
            o.queue_ahead = o.queue_ahead.clamp(0, new.max(0));
        }
        self.scratch = slots;
    }

    /// Quotes: the best level moved to `price`, so the user's levels strictly better than it
    /// on the same side are empty in the market: nothing ahead there.
    fn clear_queues_better_than(&mut self, side: Side, price: i64) {
        let levels = &self.book[idx(side)];
        let prices: Vec<i64> = match side {
            Side::Buy => levels
                .range(price.saturating_add(1)..)
                .map(|(p, _)| *p)
                .collect(),
            Side::Sell => levels.range(..price).map(|(p, _)| *p).collect(),
        };
        let mut slots = Vec::new();
        for p in prices {
            self.slots_at(side, p, &mut slots);
            for &s in &slots {
                let o = &mut self.orders[s as usize];
                o.queue_ahead = 0;
                o.queue_known = true;
            }
        }
    }

    /// After a quote or a delta batch: resting orders the market now crosses fill, then
    /// triggers fire against the new bid/ask.
    fn after_book_update(&mut self) {
        self.market.dirty = false;
        self.fill_crossed();
        let fired = self.take_triggered(self.market_marks());
        self.fire_all(fired);
    }

    /// Best level of `side` with liquidity left, if it is acceptable to `accepts`.
    fn best_avail(&self, side: Side) -> Option<(i64, i64)> {
        let levels = &self.market.levels[idx(side)];
        let mut iter: Box<dyn Iterator<Item = (&i64, &MLevel)>> = match side {
            Side::Buy => Box::new(levels.iter().rev()),
            Side::Sell => Box::new(levels.iter()),
        };
        iter.find(|(_, l)| l.avail() > 0)
            .map(|(p, l)| (*p, l.avail()))
    }

    fn consume(&mut self, side: Side, price: i64, q: i64) {
        if let Some(l) = self.market.levels[idx(side)].get_mut(&price) {
            l.consumed = l.consumed.saturating_add(q);
        }
    }

    /// Backtest taker: walks the market levels (visible liquidity, minus what is consumed).
    pub(crate) fn take_market(&mut self, slot: u32) -> bool {
        let (side, trader, ro) = {
            let o = &self.orders[slot as usize];
            (o.side, o.trader, o.reduce_only())
        };
        let opp = side.opposite();
        loop {
            let leaves = self.orders[slot as usize].leaves();
            if leaves == 0 {
                return true;
            }
            let Some((lp, avail)) = self.best_avail(opp) else {
                return true;
            };
            if !self.orders[slot as usize].accepts(lp) {
                return true;
            }
            let mut q = leaves.min(avail);
            if ro {
                let a = self.allowed(trader, side);
                if a == 0 {
                    self.cancel_working(slot, Reason::ReduceOnlyPositionClosed);
                    return false;
                }
                q = q.min(a);
            }
            self.consume(opp, lp, q);
            let tid = self.trade_id();
            self.fill(slot, lp, q, Liquidity::Taker, tid);
        }
    }

    pub(crate) fn fok_fillable_market(&self, slot: u32) -> bool {
        let o = &self.orders[slot as usize];
        let need = o.leaves();
        if o.reduce_only() && self.allowed(o.trader, o.side) < need {
            return false;
        }
        let opp = o.side.opposite();
        let levels = &self.market.levels[idx(opp)];
        let iter: Box<dyn Iterator<Item = (&i64, &MLevel)>> = match opp {
            Side::Buy => Box::new(levels.iter().rev()),
            Side::Sell => Box::new(levels.iter()),
        };
        let mut total = 0i64;
        for (p, l) in iter {
            if !o.accepts(*p) {
                break;
            }
            total = total.saturating_add(l.avail());
            if total >= need {
                return true;
            }
        }
        false
    }

    /// A resting user order receives `q` at its own price (maker).
    fn fill_resting(&mut self, slot: u32, q: i64) {
        let price = self.orders[slot as usize].price;
        let tid = self.trade_id();
        self.fill(slot, price, q, Liquidity::Maker, tid);
        self.maker_filled(slot, q, true);
    }

    /// Reduce-only cap for a resting order: `None` if it was canceled (position closed).
    fn cap_resting(&mut self, slot: u32, q: i64) -> Option<i64> {
        let o = &self.orders[slot as usize];
        if !o.reduce_only() {
            return Some(q);
        }
        let a = self.allowed(o.trader, o.side);
        if a == 0 {
            self.cancel_resting(slot, Reason::ReduceOnlyPositionClosed);
            return None;
        }
        Some(q.min(a))
    }

    /// Resting user orders the market now crosses fill at their own price against the
    /// available opposite liquidity (best user prices first, then time).
    fn fill_crossed(&mut self) {
        let mut slots = Vec::new();
        for side in [Side::Buy, Side::Sell] {
            let opp = side.opposite();
            while let Some(up) = best_price(&self.book[idx(side)], side) {
                match self.best_avail(opp) {
                    Some((lp, _)) if side.crosses(up, lp) => {}
                    _ => break,
                }
                self.slots_at(side, up, &mut slots);
                for &s in &slots {
                    loop {
                        let o = &self.orders[s as usize];
                        if o.state != super::store::State::Resting || o.price != up {
                            break;
                        }
                        let Some((lp, avail)) = self.best_avail(opp) else {
                            break;
                        };
                        if !side.crosses(up, lp) {
                            break;
                        }
                        let Some(q) = self.cap_resting(s, o.leaves().min(avail)) else {
                            break;
                        };
                        self.consume(opp, lp, q);
                        self.fill_resting(s, q);
                    }
                }
                if self.book[idx(side)].contains_key(&up) {
                    break; // liquidity ran out before the level did
                }
            }
        }
    }

    /// A trade print at `price` of `size` (`segment`: the bar path leg it ends, for stop fill
    /// prices).
    fn print(&mut self, price: i64, size: i64, aggressor: Aggressor, segment: Option<(i64, i64)>) {
        let synthetic = matches!(self.market.source, Source::None | Source::Trades);
        if synthetic {
            self.set_synthetic(price, size);
        } else {
            let sides: &[Side] = match aggressor {
                Aggressor::Seller => &[Side::Buy],
                Aggressor::Buyer => &[Side::Sell],
                Aggressor::NoAggressor => &[Side::Buy, Side::Sell],
            };
            for &s in sides {
                if let Some(l) = self.market.levels[idx(s)].get_mut(&price) {
                    l.traded = l.traded.saturating_add(size);
                }
            }
        }
        self.fill_from_print(price, size, aggressor);
        self.market.last_trade = Some(price);
        let fired = self.take_triggered([Some(price); 4]);
        if fired.is_empty() {
            return;
        }
        match segment {
            Some((a, b)) if synthetic => {
                // Inside a bar the price moved continuously from a to b: a triggered order
                // meets the market at its trigger price (clamped to the leg).
                let (lo, hi) = (a.min(b), a.max(b));
                for slot in fired {
                    let t = self.orders[slot as usize].trigger;
                    self.set_synthetic(t.clamp(lo, hi), size);
                    self.fire(slot);
                }
                self.set_synthetic(price, size);
            }
            _ => self.fire_all(fired),
        }
    }

    fn set_synthetic(&mut self, price: i64, size: i64) {
        self.market.source = Source::Trades;
        for side in &mut self.market.levels {
            side.clear();
            if size > 0 {
                side.insert(price, MLevel::new(size));
            }
        }
    }

    /// Resting user orders against a print: strictly better-priced orders trade through (up
    /// to the print size, best price first); orders at the print price on the side the
    /// aggressor hit fill only beyond their queue ahead, which the print shrinks.
    fn fill_from_print(&mut self, price: i64, size: i64, aggressor: Aggressor) {
        let mut slots = Vec::new();
        for side in [Side::Buy, Side::Sell] {
            let at_price = !matches!(
                (side, aggressor),
                (Side::Buy, Aggressor::Buyer) | (Side::Sell, Aggressor::Seller)
            );
            let prices: Vec<i64> = in_priority(&self.book[idx(side)], side)
                .map(|(p, _)| *p)
                .take_while(|p| side.better(*p, price) || *p == price)
                .collect();
            let mut rem = size;
            for p in prices {
                self.slots_at(side, p, &mut slots);
                if p != price {
                    for &s in &slots {
                        if rem <= 0 {
                            break;
                        }
                        let leaves = self.orders[s as usize].leaves();
                        let Some(q) = self.cap_resting(s, leaves.min(rem)) else {
                            continue;
                        };
                        rem -= q;
                        self.fill_resting(s, q);
                    }
                    if rem <= 0 {
                        break;
                    }
                } else if at_price {
                    let mut used = 0i64;
                    for &s in &slots {
                        let o = &mut self.orders[s as usize];
                        let ahead = if o.queue_known { o.queue_ahead } else { 0 };
                        o.queue_ahead = (ahead - rem).max(0);
                        o.queue_known = true;
                        let room = rem - ahead - used;
                        if room <= 0 {
                            continue;
                        }
                        // At the price, an iceberg gets at most its visible tranche per print.
                        let want = room.min(o.leaves()).min(o.visible);
                        let Some(q) = self.cap_resting(s, want) else {
                            continue;
                        };
                        used += q;
                        self.fill_resting(s, q);
                    }
                }
            }
        }
    }
}

fn check_delta(d: &BookDelta, i: usize) -> Result<(), InputError> {
    let Some(action) = d.book_action() else {
        return Err(InputError::record(
            "deltas",
            i,
            "action",
            d.action,
            "unknown book action (1=ADD, 2=UPDATE, 3=DELETE, 4=CLEAR)",
        ));
    };
    let side_ok = matches!(d.side, 1 | 2) || (d.side == 0 && action == BookAction::Clear);
    if !side_ok {
        return Err(InputError::record(
            "deltas",
            i,
            "side",
            d.side,
            "must be 1=BUY or 2=SELL (0 only for CLEAR)",
        ));
    }
    if d.size < 0 {
        return Err(InputError::record(
            "deltas",
            i,
            "size",
            d.size,
            "must be >= 0",
        ));
    }
    Ok(())
}

fn best_price_m(levels: &BTreeMap<i64, MLevel>, side: Side) -> Option<i64> {
    match side {
        Side::Buy => levels.last_key_value().map(|(p, _)| *p),
        Side::Sell => levels.first_key_value().map(|(p, _)| *p),
    }
}
