//! L3: market by order, a FIFO queue of orders per price level.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::query::{check_not_crossed, BookQuery};
use super::store::{rank, Ladder, SideStore};
use super::types::{check_common, BookDelta, BookError, BookMeta, Fault, Level, Side};

const NIL: u32 = u32::MAX;

/// A price level of an L3 book: aggregate size, number of orders and the ends of its FIFO
/// queue (slots in the book's order arena).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L3Level {
    /// Sum of the sizes of the orders at the level.
    pub size: i64,
    /// Number of orders at the level.
    pub count: u32,
    head: u32,
    tail: u32,
}

impl Default for L3Level {
    fn default() -> Self {
        L3Level {
            size: 0,
            count: 0,
            head: NIL,
            tail: NIL,
        }
    }
}

/// An order resting on an L3 book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L3Order {
    pub order_id: u64,
    pub side: Side,
    pub price: i64,
    pub size: i64,
}

/// Where an order sits in its level's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuePosition {
    /// Total size of the orders ahead of it at its price.
    pub size_ahead: i64,
    /// Number of orders ahead of it at its price.
    pub orders_ahead: u32,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    id: u64,
    price: i64,
    size: i64,
    prev: u32,
    next: u32,
    side: Side,
}

/// Multiplicative hash for venue order ids (std's SipHash is several times slower and the ids
/// are not attacker-chosen keys).
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

type IdMap = HashMap<u64, u32, BuildHasherDefault<IdHasher>>;

#[derive(Debug, Clone)]
struct State<S> {
    bids: S,
    asks: S,
    nodes: Vec<Node>,
    free: Vec<u32>,
    index: IdMap,
    counts: [usize; 2],
}

#[inline(always)]
fn side_ix(side: Side) -> usize {
    (side as usize) - 1
}

impl<S: SideStore<L3Level>> State<S> {
    fn empty_like(&self) -> Self {
        State {
            bids: self.bids.empty_like(),
            asks: self.asks.empty_like(),
            nodes: Vec::new(),
            free: Vec::new(),
            index: IdMap::default(),
            counts: [0, 0],
        }
    }

    fn store(&self, side: Side) -> &S {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    /// The store of the node's side and the node arena, borrowed together.
    fn split(&mut self, side: Side) -> (&mut S, &mut Vec<Node>) {
        match side {
            Side::Buy => (&mut self.bids, &mut self.nodes),
            Side::Sell => (&mut self.asks, &mut self.nodes),
        }
    }

    fn alloc(&mut self, node: Node) -> Option<u32> {
        if let Some(slot) = self.free.pop() {
            self.nodes[slot as usize] = node;
            return Some(slot);
        }
        let slot = u32::try_from(self.nodes.len()).ok().filter(|&s| s != NIL)?;
        self.nodes.push(node);
        Some(slot)
    }

    /// Appends the node at the tail of its level (creating the level). The caller has checked
    /// that the level total does not overflow.
    fn link_tail(&mut self, slot: u32) {
        let n = self.nodes[slot as usize];
        let r = rank(n.side == Side::Buy, n.price);
        let (store, nodes) = self.split(n.side);
        match store.get_mut(r) {
            Some(level) => {
                let tail = level.tail;
                nodes[tail as usize].next = slot;
                nodes[slot as usize].prev = tail;
                nodes[slot as usize].next = NIL;
                level.tail = slot;
                level.size += n.size;
                level.count += 1;
            }
            None => {
                nodes[slot as usize].prev = NIL;
                nodes[slot as usize].next = NIL;
                store.insert(
                    r,
                    L3Level {
                        size: n.size,
                        count: 1,
                        head: slot,
                        tail: slot,
                    },
                );
            }
        }
        self.counts[side_ix(n.side)] += 1;
    }

    /// Re-inserts the node between `prev` and `next` (its neighbours when it was unlinked).
    fn link_between(&mut self, slot: u32, prev: u32, next: u32) {
        let n = self.nodes[slot as usize];
        let r = rank(n.side == Side::Buy, n.price);
        let (store, nodes) = self.split(n.side);
        nodes[slot as usize].prev = prev;
        nodes[slot as usize].next = next;
        match store.get_mut(r) {
            Some(level) => {
                if prev != NIL {
                    nodes[prev as usize].next = slot;
                } else {
                    level.head = slot;
                }
                if next != NIL {
                    nodes[next as usize].prev = slot;
                } else {
                    level.tail = slot;
                }
                level.size += n.size;
                level.count += 1;
            }
            None => {
                debug_assert!(prev == NIL && next == NIL);
                store.insert(
                    r,
                    L3Level {
                        size: n.size,
                        count: 1,
                        head: slot,
                        tail: slot,
                    },
                );
            }
        }
        self.counts[side_ix(n.side)] += 1;
    }

    /// Takes the node out of its level (removing an emptied level); returns its neighbours.
    fn unlink(&mut self, slot: u32) -> (u32, u32) {
        let n = self.nodes[slot as usize];
        let r = rank(n.side == Side::Buy, n.price);
        let (store, nodes) = self.split(n.side);
        let mut emptied = false;
        if let Some(level) = store.get_mut(r) {
            if n.prev != NIL {
                nodes[n.prev as usize].next = n.next;
            } else {
                level.head = n.next;
            }
            if n.next != NIL {
                nodes[n.next as usize].prev = n.prev;
            } else {
                level.tail = n.prev;
            }
            level.size -= n.size;
            level.count -= 1;
            emptied = level.count == 0;
        }
        if emptied {
            store.remove(r);
        }
        self.counts[side_ix(n.side)] -= 1;
        (n.prev, n.next)
    }

    fn clear_all(&mut self) {
        self.bids.clear();
        self.asks.clear();
        self.nodes.clear();
        self.free.clear();
        self.index.clear();
        self.counts = [0, 0];
    }

    fn clear_side(&mut self, side: Side) {
        let State {
            bids,
            asks,
            nodes,
            free,
            index,
            counts,
        } = self;
        let store = match side {
            Side::Buy => bids,
            Side::Sell => asks,
        };
        store.visit(|_, level| {
            let mut s = level.head;
            while s != NIL {
                let node = &nodes[s as usize];
                index.remove(&node.id);
                free.push(s);
                s = node.next;
            }
            true
        });
        store.clear();
        counts[side_ix(side)] = 0;
    }
}

/// The inverse of one primitive change, for rolling back a failed batch.
#[derive(Debug, Clone)]
enum Undo<S> {
    Inserted(u32),
    Deleted {
        slot: u32,
        prev: u32,
        next: u32,
    },
    Resized {
        slot: u32,
        old: i64,
    },
    Moved {
        slot: u32,
        price: i64,
        size: i64,
        prev: u32,
        next: u32,
    },
    Restore(Box<State<S>>),
}

/// Market by order: orders by id in a FIFO queue per price level.
///
/// Delta semantics (`order_id` identifies the order):
///
/// | action | effect | rejected when |
/// | --- | --- | --- |
/// | ADD | appends a new order at the tail of its level | the id is already on the book; size <= 0 |
/// | UPDATE | size 0: removes the order. Same price and a smaller or equal size: resized in place, keeps its queue position. Otherwise (new price or larger size): moves to the tail of the (new) level, losing priority | the id is not on the book; `side` differs from the order's side |
/// | DELETE | removes the order (`side` and `price` are not checked) | the id is not on the book |
/// | CLEAR | removes every order of one side (`side` 1/2) or both (`side` 0) | - |
///
/// Plus the common checks (action, side, size >= 0, sequence not going back) and a level
/// total that would overflow int64. A batch is applied with an undo log: on error at index
/// `i`, everything before `i` is rolled back and the book is exactly as before the call.
#[derive(Debug, Clone)]
pub struct L3Book<S = Ladder<L3Level>> {
    st: State<S>,
    undo: Vec<Undo<S>>,
    pending_free: Vec<u32>,
    recording: bool,
    meta: BookMeta,
}

impl L3Book<Ladder<L3Level>> {
    /// An empty L3 book with the default ladder storage.
    pub fn new(price_precision: u8, size_precision: u8) -> Result<Self, BookError> {
        Self::with_store(price_precision, size_precision, Ladder::default())
    }
}

impl<S: SideStore<L3Level>> L3Book<S> {
    /// An empty L3 book whose sides are configured like `store` (which should be empty).
    pub fn with_store(
        price_precision: u8,
        size_precision: u8,
        store: S,
    ) -> Result<Self, BookError> {
        Ok(L3Book {
            st: State {
                bids: store.empty_like(),
                asks: store.empty_like(),
                nodes: Vec::new(),
                free: Vec::new(),
                index: IdMap::default(),
                counts: [0, 0],
            },
            undo: Vec::new(),
            pending_free: Vec::new(),
            recording: false,
            meta: BookMeta::new(price_precision, size_precision)?,
        })
    }

    fn add(&mut self, d: &BookDelta, side: Side) -> Result<(), Fault> {
        if self.st.index.contains_key(&d.order_id) {
            return Err(Fault::DuplicateOrder);
        }
        let r = rank(side == Side::Buy, d.price);
        let current = self.st.store(side).get(r).map_or(0, |l| l.size);
        current.checked_add(d.size).ok_or(Fault::LevelOverflow)?;
        let slot = self
            .st
            .alloc(Node {
                id: d.order_id,
                price: d.price,
                size: d.size,
                prev: NIL,
                next: NIL,
                side,
            })
            .ok_or(Fault::LevelOverflow)?;
        self.st.link_tail(slot);
        self.st.index.insert(d.order_id, slot);
        if self.recording {
            self.undo.push(Undo::Inserted(slot));
        }
        Ok(())
    }

    fn remove_slot(&mut self, slot: u32) {
        let (prev, next) = self.st.unlink(slot);
        self.st.index.remove(&self.st.nodes[slot as usize].id);
        if self.recording {
            // Not reusable before the batch commits, so a rollback can relink it.
            self.undo.push(Undo::Deleted { slot, prev, next });
            self.pending_free.push(slot);
        } else {
            self.st.free.push(slot);
        }
    }

    fn update(&mut self, d: &BookDelta, side: Side) -> Result<(), Fault> {
        let slot = *self.st.index.get(&d.order_id).ok_or(Fault::MissingOrder)?;
        let n = self.st.nodes[slot as usize];
        if n.side != side {
            return Err(Fault::SideMismatch(n.side));
        }
        if d.size == 0 {
            self.remove_slot(slot);
            return Ok(());
        }
        let bid = side == Side::Buy;
        if d.price == n.price && d.size <= n.size {
            let (store, nodes) = self.st.split(side);
            if let Some(level) = store.get_mut(rank(bid, n.price)) {
                level.size -= n.size - d.size;
            }
            nodes[slot as usize].size = d.size;
            if self.recording {
                self.undo.push(Undo::Resized { slot, old: n.size });
            }
            return Ok(());
        }
        let target = self
            .st
            .store(side)
            .get(rank(bid, d.price))
            .map_or(0, |l| l.size);
        let base = if d.price == n.price {
            target - n.size
        } else {
            target
        };
        base.checked_add(d.size).ok_or(Fault::LevelOverflow)?;
        let (prev, next) = self.st.unlink(slot);
        let node = &mut self.st.nodes[slot as usize];
        node.price = d.price;
        node.size = d.size;
        self.st.link_tail(slot);
        if self.recording {
            self.undo.push(Undo::Moved {
                slot,
                price: n.price,
                size: n.size,
                prev,
                next,
            });
        }
        Ok(())
    }

    fn clear_side(&mut self, side: Option<Side>) {
        if self.recording {
            match side {
                None => {
                    let fresh = self.st.empty_like();
                    let saved = std::mem::replace(&mut self.st, fresh);
                    self.undo.push(Undo::Restore(Box::new(saved)));
                    // Those slots belong to the saved arena now.
                    self.pending_free.clear();
                }
                Some(s) => {
                    self.undo.push(Undo::Restore(Box::new(self.st.clone())));
                    self.st.clear_side(s);
                }
            }
        } else {
            match side {
                None => self.st.clear_all(),
                Some(s) => self.st.clear_side(s),
            }
        }
    }

    fn apply_one(&mut self, d: &BookDelta) -> Result<(), Fault> {
        check_common(d, self.meta.sequence)?;
        let side = Side::from_u8(d.side);
        match (d.action, side) {
            (1, Some(s)) => self.add(d, s)?,
            (2, Some(s)) => self.update(d, s)?,
            (3, Some(_)) => {
                let slot = *self.st.index.get(&d.order_id).ok_or(Fault::MissingOrder)?;
                self.remove_slot(slot);
            }
            _ => self.clear_side(side),
        }
        self.meta.record(d);
        Ok(())
    }

    fn rollback(&mut self) {
        while let Some(u) = self.undo.pop() {
            match u {
                Undo::Inserted(slot) => {
                    self.st.unlink(slot);
                    self.st.index.remove(&self.st.nodes[slot as usize].id);
                    self.st.free.push(slot);
                }
                Undo::Deleted { slot, prev, next } => {
                    self.st.link_between(slot, prev, next);
                    let id = self.st.nodes[slot as usize].id;
                    self.st.index.insert(id, slot);
                }
                Undo::Resized { slot, old } => {
                    let n = self.st.nodes[slot as usize];
                    let (store, nodes) = self.st.split(n.side);
                    if let Some(level) = store.get_mut(rank(n.side == Side::Buy, n.price)) {
                        level.size += old - n.size;
                    }
                    nodes[slot as usize].size = old;
                }
                Undo::Moved {
                    slot,
                    price,
                    size,
                    prev,
                    next,
                } => {
                    self.st.unlink(slot);
                    let node = &mut self.st.nodes[slot as usize];
                    node.price = price;
                    node.size = size;
                    self.st.link_between(slot, prev, next);
                }
                Undo::Restore(saved) => self.st = *saved,
            }
        }
        self.pending_free.clear();
    }

    /// Applies one delta; on error the book is unchanged.
    pub fn apply(&mut self, d: &BookDelta) -> Result<(), BookError> {
        self.recording = false;
        self.apply_one(d).map_err(|f| f.error(d))
    }

    /// Applies a batch atomically (undo log): on error at index `i` everything is rolled back
    /// and the error carries `i`.
    pub fn apply_batch(&mut self, deltas: &[BookDelta]) -> Result<(), BookError> {
        let saved_meta = self.meta;
        self.recording = true;
        self.undo.clear();
        self.pending_free.clear();
        for (i, d) in deltas.iter().enumerate() {
            if let Err(f) = self.apply_one(d) {
                self.rollback();
                self.meta = saved_meta;
                self.recording = false;
                return Err(f.error(d).at(i));
            }
        }
        self.st.free.append(&mut self.pending_free);
        self.undo.clear();
        self.recording = false;
        Ok(())
    }

    /// Empties the book and resets sequence, time and flags (a fresh book).
    pub fn clear(&mut self) {
        self.st.clear_all();
        self.undo.clear();
        self.pending_free.clear();
        self.meta.reset();
    }

    /// The order with `order_id`, if it is on the book.
    pub fn order(&self, order_id: u64) -> Option<L3Order> {
        let slot = *self.st.index.get(&order_id)?;
        let n = &self.st.nodes[slot as usize];
        Some(L3Order {
            order_id,
            side: n.side,
            price: n.price,
            size: n.size,
        })
    }

    /// What is ahead of `order_id` in its level's queue.
    pub fn queue_position(&self, order_id: u64) -> Option<QueuePosition> {
        let slot = *self.st.index.get(&order_id)?;
        let mut pos = QueuePosition {
            size_ahead: 0,
            orders_ahead: 0,
        };
        let mut s = self.st.nodes[slot as usize].prev;
        while s != NIL {
            let n = &self.st.nodes[s as usize];
            pos.size_ahead += n.size;
            pos.orders_ahead += 1;
            s = n.prev;
        }
        Some(pos)
    }

    /// The orders at `price` on `side` in queue (FIFO) order.
    pub fn level_orders(&self, side: Side, price: i64) -> Vec<L3Order> {
        let mut out = Vec::new();
        if let Some(level) = self.st.store(side).get(rank(side == Side::Buy, price)) {
            let mut s = level.head;
            while s != NIL {
                let n = &self.st.nodes[s as usize];
                out.push(L3Order {
                    order_id: n.id,
                    side: n.side,
                    price: n.price,
                    size: n.size,
                });
                s = n.next;
            }
        }
        out
    }

    fn check_side(&self, side: Side) -> Result<(), String> {
        let store = self.st.store(side);
        store.check()?;
        let bid = side == Side::Buy;
        let mut err: Option<String> = None;
        let mut orders = 0usize;
        let mut levels = 0usize;
        let mut prev_price: Option<i64> = None;
        store.visit(|r, level| {
            levels += 1;
            let price = rank(bid, r);
            if prev_price.is_some_and(|p| if bid { price >= p } else { price <= p }) {
                err = Some(format!("level {price} out of order"));
                return false;
            }
            prev_price = Some(price);
            let (mut count, mut total, mut prev, mut s) = (0u32, 0i128, NIL, level.head);
            while s != NIL {
                let Some(n) = self.st.nodes.get(s as usize) else {
                    err = Some(format!("level {price}: dangling slot {s}"));
                    return false;
                };
                if n.prev != prev || n.side != side || n.price != price || n.size <= 0 {
                    err = Some(format!("level {price}: bad order {} ({n:?})", n.id));
                    return false;
                }
                if self.st.index.get(&n.id) != Some(&s) {
                    err = Some(format!("order {} missing from the id index", n.id));
                    return false;
                }
                count += 1;
                total += i128::from(n.size);
                prev = s;
                s = n.next;
                if count > level.count {
                    err = Some(format!("level {price}: queue longer than its count"));
                    return false;
                }
            }
            if count != level.count || total != i128::from(level.size) || level.tail != prev {
                err = Some(format!(
                    "level {price}: count/size {}/{} but queue has {count}/{total}",
                    level.count, level.size
                ));
                return false;
            }
            orders += count as usize;
            true
        });
        if let Some(e) = err {
            return Err(e);
        }
        if levels != store.len() {
            return Err(format!(
                "{levels} levels visited but len() = {}",
                store.len()
            ));
        }
        if orders != self.st.counts[side_ix(side)] {
            return Err(format!(
                "{orders} orders on the levels but count = {}",
                self.st.counts[side_ix(side)]
            ));
        }
        Ok(())
    }
}

impl<S: SideStore<L3Level>> BookQuery for L3Book<S> {
    fn meta(&self) -> &BookMeta {
        &self.meta
    }

    #[inline]
    fn best(&self, side: Side) -> Option<Level> {
        let bid = side == Side::Buy;
        self.st.store(side).best().map(|(r, l)| Level {
            price: rank(bid, r),
            size: l.size,
            orders: l.count,
        })
    }

    fn visit_levels<F: FnMut(Level) -> bool>(&self, side: Side, mut f: F) {
        let bid = side == Side::Buy;
        self.st.store(side).visit(|r, l| {
            f(Level {
                price: rank(bid, r),
                size: l.size,
                orders: l.count,
            })
        });
    }

    fn level_count(&self, side: Side) -> usize {
        self.st.store(side).len()
    }

    fn order_count(&self, side: Side) -> usize {
        self.st.counts[side_ix(side)]
    }

    fn check_integrity(&self) -> Result<(), BookError> {
        for side in [Side::Buy, Side::Sell] {
            self.check_side(side)
                .map_err(|e| BookError::integrity(format!("{}: {e}", side.name())))?;
        }
        let total = self.st.counts[0] + self.st.counts[1];
        if self.st.index.len() != total {
            return Err(BookError::integrity(format!(
                "{} ids indexed but {total} orders on the levels",
                self.st.index.len()
            )));
        }
        check_not_crossed(self)
    }
}
