//! Order storage for the matching engine: a slab of orders, FIFO price levels kept as
//! intrusive doubly-linked lists (O(1) cancel), and a fast hasher for the client-id index.

use std::collections::BTreeMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::types::{OrderType, Side, TimeInForce, FLAG_POST_ONLY, FLAG_REDUCE_ONLY};

/// "No slot" in the intrusive lists.
pub(crate) const NIL: u32 = u32::MAX;

/// Where an order is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// The slot is unused.
    Free,
    /// Executing right now (not in a level, not in a trigger set).
    Working,
    /// In a price level of the resting book.
    Resting,
    /// A stop / if-touched order waiting in a trigger set.
    Pending,
}

/// One order. Quantities are raw at the size precision; `leaves = qty - filled`.
#[derive(Clone, Debug)]
pub(crate) struct Order {
    pub client_id: u64,
    pub venue_id: u64,
    /// Priority: lower is earlier (price-time). Renewed when priority is lost.
    pub seq: u64,
    pub trader: u32,
    pub side: Side,
    pub otype: OrderType,
    pub tif: TimeInForce,
    pub flags: u32,
    pub triggered: bool,
    pub price: i64,
    pub trigger: i64,
    pub qty: i64,
    pub filled: i64,
    /// Iceberg tranche size (0: everything visible).
    pub display: i64,
    /// What is left of the current visible tranche.
    pub visible: i64,
    /// Expiry (GTD / DAY), 0 for none.
    pub expire: u64,
    /// Backtest queue-position estimate (raw quantity ahead) and whether it is known yet.
    pub queue_ahead: i64,
    pub queue_known: bool,
    pub state: State,
    pub prev: u32,
    pub next: u32,
}

impl Order {
    #[inline]
    pub fn leaves(&self) -> i64 {
        self.qty - self.filled
    }

    #[inline]
    pub fn post_only(&self) -> bool {
        self.flags & FLAG_POST_ONLY != 0
    }

    #[inline]
    pub fn reduce_only(&self) -> bool {
        self.flags & FLAG_REDUCE_ONLY != 0
    }

    /// Behaves as a market order once live (MARKET, STOP_MARKET, MARKET_IF_TOUCHED).
    #[inline]
    pub fn is_market(&self) -> bool {
        matches!(
            self.otype,
            OrderType::Market | OrderType::StopMarket | OrderType::MarketIfTouched
        )
    }

    /// Size of a fresh visible tranche.
    #[inline]
    pub fn tranche(&self) -> i64 {
        let leaves = self.leaves();
        if self.display > 0 {
            self.display.min(leaves)
        } else {
            leaves
        }
    }

    /// Whether this order's limit price crosses `other` (market-type orders always do).
    #[inline]
    pub fn accepts(&self, other: i64) -> bool {
        self.is_market() || self.side.crosses(self.price, other)
    }
}

/// A FIFO price level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Level {
    pub head: u32,
    pub tail: u32,
    pub count: u32,
    /// Sum of leaves (visible + hidden); i128 so no number of orders can overflow it.
    pub leaves: i128,
    /// Sum of the visible tranches.
    pub visible: i128,
}

impl Level {
    const EMPTY: Level = Level {
        head: NIL,
        tail: NIL,
        count: 0,
        leaves: 0,
        visible: 0,
    };
}

/// One side of a book: price -> level.
pub(crate) type Levels = BTreeMap<i64, Level>;

/// Appends `slot` at the tail of its price level (creating the level).
pub(crate) fn push_back(levels: &mut Levels, orders: &mut [Order], slot: u32) {
    let (price, leaves, visible) = {
        let o = &orders[slot as usize];
        (o.price, o.leaves(), o.visible)
    };
    let level = levels.entry(price).or_insert(Level::EMPTY);
    let tail = level.tail;
    if tail == NIL {
        level.head = slot;
    } else {
        orders[tail as usize].next = slot;
    }
    level.tail = slot;
    level.count += 1;
    level.leaves += i128::from(leaves);
    level.visible += i128::from(visible);
    let o = &mut orders[slot as usize];
    o.prev = tail;
    o.next = NIL;
}

/// Removes `slot` from its level (dropping the level when it empties).
pub(crate) fn unlink(levels: &mut Levels, orders: &mut [Order], slot: u32) {
    let (price, prev, next, leaves, visible) = {
        let o = &orders[slot as usize];
        (o.price, o.prev, o.next, o.leaves(), o.visible)
    };
    if prev != NIL {
        orders[prev as usize].next = next;
    }
    if next != NIL {
        orders[next as usize].prev = prev;
    }
    let mut drop_level = false;
    if let Some(level) = levels.get_mut(&price) {
        if level.head == slot {
            level.head = next;
        }
        if level.tail == slot {
            level.tail = prev;
        }
        level.count -= 1;
        level.leaves -= i128::from(leaves);
        level.visible -= i128::from(visible);
        drop_level = level.count == 0;
    }
    if drop_level {
        levels.remove(&price);
    }
    let o = &mut orders[slot as usize];
    o.prev = NIL;
    o.next = NIL;
}

/// The slots of a level, head to tail.
pub(crate) fn level_slots(levels: &Levels, orders: &[Order], price: i64, out: &mut Vec<u32>) {
    out.clear();
    if let Some(level) = levels.get(&price) {
        let mut slot = level.head;
        while slot != NIL {
            out.push(slot);
            slot = orders[slot as usize].next;
        }
    }
}

/// Best price of a side: highest bid, lowest ask.
#[inline]
pub(crate) fn best_price(levels: &Levels, side: Side) -> Option<i64> {
    match side {
        Side::Buy => levels.last_key_value().map(|(p, _)| *p),
        Side::Sell => levels.first_key_value().map(|(p, _)| *p),
    }
}

/// Levels of a side in priority order (best first).
pub(crate) fn in_priority<'a>(
    levels: &'a Levels,
    side: Side,
) -> Box<dyn Iterator<Item = (&'a i64, &'a Level)> + 'a> {
    match side {
        Side::Buy => Box::new(levels.iter().rev()),
        Side::Sell => Box::new(levels.iter()),
    }
}

/// Multiply-rotate hasher for `u64`/`u32` keys (FxHash-style); ids are not attacker-chosen
/// hash-flooding inputs here, and SipHash would cost more than the matching itself.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for IdHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(SEED);
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(SEED);
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type IdMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<IdHasher>>;
