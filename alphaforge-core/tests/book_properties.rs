//! Random delta streams through every book type and storage vs an obviously-correct reference
//! model (BTreeMaps for L1/L2, a flat Vec of orders with priority stamps for L3): the books,
//! the errors (with their index) and the "rejected batch changes nothing" rule must agree.

use std::collections::BTreeMap;

use alphaforge_core::book::{
    BookDelta, BookQuery, L1Book, L2Book, L3Book, L3Level, Ladder, Level, Side, TreeStore,
    SNAPSHOT_BATCH_MIN,
};
use proptest::prelude::*;

/// Bids best first, asks best first: `(price, size)`.
type Sides = (Vec<(i64, i64)>, Vec<(i64, i64)>);
/// One side of an L3 book, best first: `(price, total, [(order_id, size)] in queue order)`.
type L3Side = Vec<(i64, i64, Vec<(u64, i64)>)>;

// ---------------------------------------------------------------------------------------------
// Reference models
// ---------------------------------------------------------------------------------------------

/// Checks shared by every book type; `Some(field)` if rejected.
fn common_fault(d: &BookDelta, last_seq: u64) -> Option<&'static str> {
    if d.sequence < last_seq {
        return Some("sequence");
    }
    match d.action {
        1..=3 if !(1..=2).contains(&d.side) => Some("side"),
        1 if d.size <= 0 => Some("size"),
        2 | 3 if d.size < 0 => Some("size"),
        4 if d.side > 2 => Some("side"),
        1..=4 => None,
        _ => Some("action"),
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
struct RefL2 {
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
    seq: u64,
}

impl RefL2 {
    fn apply(&mut self, d: &BookDelta) -> Option<&'static str> {
        if let Some(f) = common_fault(d, self.seq) {
            return Some(f);
        }
        let side = if d.side == 1 {
            &mut self.bids
        } else {
            &mut self.asks
        };
        match d.action {
            1 => {
                side.insert(d.price, d.size);
            }
            2 if d.size > 0 => {
                side.insert(d.price, d.size);
            }
            2 | 3 => {
                side.remove(&d.price);
            }
            _ => {
                if d.side != 2 {
                    self.bids.clear();
                }
                if d.side != 1 {
                    self.asks.clear();
                }
            }
        }
        self.seq = d.sequence;
        None
    }

    fn levels(&self) -> Sides {
        (
            self.bids.iter().rev().map(|(p, s)| (*p, *s)).collect(),
            self.asks.iter().map(|(p, s)| (*p, *s)).collect(),
        )
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
struct RefL1 {
    bid: Option<(i64, i64)>,
    ask: Option<(i64, i64)>,
    seq: u64,
}

impl RefL1 {
    fn apply(&mut self, d: &BookDelta) -> Option<&'static str> {
        if let Some(f) = common_fault(d, self.seq) {
            return Some(f);
        }
        let slot = if d.side == 1 {
            &mut self.bid
        } else {
            &mut self.ask
        };
        match d.action {
            1 | 2 if d.size > 0 => *slot = Some((d.price, d.size)),
            2 | 3 => *slot = None,
            _ => {
                if d.side != 2 {
                    self.bid = None;
                }
                if d.side != 1 {
                    self.ask = None;
                }
            }
        }
        self.seq = d.sequence;
        None
    }

    fn levels(&self) -> Sides {
        (
            self.bid.into_iter().collect(),
            self.ask.into_iter().collect(),
        )
    }
}

#[derive(Clone, Debug)]
struct RefOrder {
    id: u64,
    side: u8,
    price: i64,
    size: i64,
    stamp: u64,
}

/// L3 reference: a flat list of orders; the queue at a level is the orders sorted by stamp.
#[derive(Clone, Debug, Default)]
struct RefL3 {
    orders: Vec<RefOrder>,
    stamp: u64,
    seq: u64,
}

impl RefL3 {
    fn find(&self, id: u64) -> Option<usize> {
        self.orders.iter().position(|o| o.id == id)
    }

    fn level_total(&self, side: u8, price: i64, except: Option<u64>) -> i128 {
        self.orders
            .iter()
            .filter(|o| o.side == side && o.price == price && Some(o.id) != except)
            .map(|o| i128::from(o.size))
            .sum()
    }

    fn apply(&mut self, d: &BookDelta) -> Option<&'static str> {
        if let Some(f) = common_fault(d, self.seq) {
            return Some(f);
        }
        match d.action {
            1 => {
                if self.find(d.order_id).is_some() {
                    return Some("order_id");
                }
                if self.level_total(d.side, d.price, None) + i128::from(d.size)
                    > i128::from(i64::MAX)
                {
                    return Some("size");
                }
                self.stamp += 1;
                self.orders.push(RefOrder {
                    id: d.order_id,
                    side: d.side,
                    price: d.price,
                    size: d.size,
                    stamp: self.stamp,
                });
            }
            2 => {
                let Some(i) = self.find(d.order_id) else {
                    return Some("order_id");
                };
                if self.orders[i].side != d.side {
                    return Some("side");
                }
                if d.size == 0 {
                    self.orders.remove(i);
                } else {
                    let o = &self.orders[i];
                    let keeps = o.price == d.price && d.size <= o.size;
                    if !keeps
                        && self.level_total(d.side, d.price, Some(d.order_id)) + i128::from(d.size)
                            > i128::from(i64::MAX)
                    {
                        return Some("size");
                    }
                    self.stamp += 1;
                    let o = &mut self.orders[i];
                    if !keeps {
                        o.stamp = self.stamp;
                    }
                    o.price = d.price;
                    o.size = d.size;
                }
            }
            3 => {
                let Some(i) = self.find(d.order_id) else {
                    return Some("order_id");
                };
                self.orders.remove(i);
            }
            _ => self.orders.retain(|o| d.side != 0 && o.side != d.side),
        }
        self.seq = d.sequence;
        None
    }

    /// Per side, best first: (price, total, [(id, size)] in queue order).
    fn levels(&self, side: u8) -> L3Side {
        let mut by_price: BTreeMap<i64, Vec<&RefOrder>> = BTreeMap::new();
        for o in self.orders.iter().filter(|o| o.side == side) {
            by_price.entry(o.price).or_default().push(o);
        }
        let mut out: Vec<_> = by_price
            .into_iter()
            .map(|(price, mut orders)| {
                orders.sort_by_key(|o| o.stamp);
                let total = orders.iter().map(|o| o.size).sum();
                (
                    price,
                    total,
                    orders.iter().map(|o| (o.id, o.size)).collect(),
                )
            })
            .collect();
        if side == 1 {
            out.reverse();
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

fn price() -> impl Strategy<Value = i64> {
    prop_oneof![
        10 => 998i64..1002,
        10 => 990i64..1010,
        8 => 900i64..1100,
        2 => -100_000i64..100_000,
        1 => Just(i64::MAX),
        1 => Just(i64::MIN),
        1 => any::<i64>(),
    ]
}

fn delta(seq_base: u64) -> impl Strategy<Value = BookDelta> {
    (
        prop_oneof![60 => 1u8..=3, 3 => Just(4u8), 1 => 0u8..=6],
        // 0xff: take the side from the order id (so L3 updates mostly hit the right side).
        prop_oneof![40 => Just(0xffu8), 40 => 1u8..=2, 1 => 0u8..=3],
        price(),
        prop_oneof![60 => 1i64..1000, 6 => Just(0i64), 1 => -5i64..0, 1 => Just(i64::MAX)],
        0u64..24,
        prop_oneof![80 => Just(0u64), 1 => 1u64..3],
        any::<u8>(),
    )
        .prop_map(
            move |(action, side, price, size, order_id, back, flags)| BookDelta {
                action,
                side: if side == 0xff {
                    1 + (order_id % 2) as u8
                } else {
                    side
                },
                price,
                size,
                order_id,
                flags,
                sequence: seq_base.saturating_sub(back),
                ts_event: seq_base * 10,
                ..BookDelta::default()
            },
        )
}

/// Batches of deltas whose sequence mostly increases (with occasional steps back).
fn batches() -> impl Strategy<Value = Vec<Vec<BookDelta>>> {
    prop::collection::vec(prop::collection::vec(0u64..3, 0..16), 1..24).prop_flat_map(|shape| {
        let mut seq = 10u64;
        let mut strategies = Vec::new();
        for batch in shape {
            let mut ds = Vec::new();
            for step in batch {
                seq += step;
                ds.push(delta(seq));
            }
            strategies.push(ds);
        }
        strategies
    })
}

fn small_ladder<V: Copy + Default + std::fmt::Debug>() -> Ladder<V> {
    Ladder::with_window(64, 256)
}

fn l2_levels<B: BookQuery>(b: &B) -> Sides {
    let get = |side| {
        b.depth(side, usize::MAX)
            .into_iter()
            .map(|l: Level| (l.price, l.size))
            .collect()
    };
    (get(Side::Buy), get(Side::Sell))
}

/// Runs every batch through `apply` (single deltas when `single`), checking results against
/// the reference after each one.
macro_rules! compare_l2 {
    ($book:expr, $reference:expr, $batches:expr, $single:expr) => {{
        let mut book = $book;
        let mut reference = $reference;
        for batch in $batches {
            if $single {
                for d in batch {
                    let expected = reference.apply(d);
                    let before = l2_levels(&book);
                    match book.apply(d) {
                        Ok(()) => prop_assert_eq!(expected, None),
                        Err(e) => {
                            prop_assert_eq!(Some(e.field.trim_start_matches("delta.")), expected);
                            prop_assert_eq!(l2_levels(&book), before);
                        }
                    }
                }
            } else {
                let saved = reference.clone();
                let expected = batch
                    .iter()
                    .enumerate()
                    .find_map(|(i, d)| reference.apply(d).map(|f| (i, f)));
                let before = l2_levels(&book);
                let seq_before = book.meta().sequence;
                match book.apply_batch(batch) {
                    Ok(()) => prop_assert_eq!(expected, None),
                    Err(e) => {
                        let (i, field) = expected.expect("book rejected a batch the model accepts");
                        prop_assert_eq!(e.index, Some(i));
                        prop_assert_eq!(e.field, format!("deltas[{i}].{field}"));
                        prop_assert_eq!(l2_levels(&book), before);
                        prop_assert_eq!(book.meta().sequence, seq_before);
                        reference = saved;
                    }
                }
            }
            prop_assert_eq!(l2_levels(&book), reference.levels());
            prop_assert_eq!(book.meta().sequence, reference.seq);
            if let Err(e) = book.check_integrity() {
                // Crossed books are legal here (random data); anything else is a bug.
                prop_assert!(e.reason.starts_with("crossed book"), "{}", e);
            }
        }
    }};
}

fn l3_view(b: &L3Book<impl alphaforge_core::book::SideStore<L3Level>>, side: Side) -> L3Side {
    b.depth(side, usize::MAX)
        .into_iter()
        .map(|l| {
            let q: Vec<(u64, i64)> = b
                .level_orders(side, l.price)
                .into_iter()
                .map(|o| (o.order_id, o.size))
                .collect();
            assert_eq!(l.orders as usize, q.len());
            (l.price, l.size, q)
        })
        .collect()
}

impl RefL3 {
    /// Most random L3 deltas would hit a missing or duplicate id; rewrite ~90% of them against
    /// the current state so that long valid streams (and deep FIFO queues) happen.
    fn repair(&self, d: &BookDelta, fresh: &mut u64) -> BookDelta {
        let mut d = *d;
        if d.flags >= 230 || !(1..=2).contains(&d.side) {
            return d;
        }
        match d.action {
            1 if self.find(d.order_id).is_some() => {
                *fresh += 1;
                d.order_id = *fresh;
            }
            2 | 3 if !self.orders.is_empty() => {
                let o = &self.orders[(d.order_id as usize) % self.orders.len()];
                d.order_id = o.id;
                d.side = o.side;
                if d.price % 2 == 0 {
                    d.price = o.price; // same price: resize in place or lose priority
                }
            }
            _ => {}
        }
        d
    }
}

macro_rules! compare_l3 {
    ($book:expr, $batches:expr) => {{
        let mut book = $book;
        let mut reference = RefL3::default();
        let mut fresh = 1_000u64;
        for batch in $batches {
            let saved = reference.clone();
            let mut repaired = Vec::with_capacity(batch.len());
            let mut expected = None;
            for (i, d) in batch.iter().enumerate() {
                let d = reference.repair(d, &mut fresh);
                repaired.push(d);
                if expected.is_none() {
                    expected = reference.apply(&d).map(|f| (i, f));
                }
            }
            let batch = &repaired;
            let before = (l3_view(&book, Side::Buy), l3_view(&book, Side::Sell));
            match book.apply_batch(batch) {
                Ok(()) => prop_assert_eq!(expected, None),
                Err(e) => {
                    let (i, field) = expected.expect("book rejected a batch the model accepts");
                    prop_assert_eq!(e.index, Some(i));
                    prop_assert_eq!(e.field, format!("deltas[{i}].{field}"));
                    prop_assert_eq!(
                        (l3_view(&book, Side::Buy), l3_view(&book, Side::Sell)),
                        before
                    );
                    reference = saved;
                }
            }
            prop_assert_eq!(l3_view(&book, Side::Buy), reference.levels(1));
            prop_assert_eq!(l3_view(&book, Side::Sell), reference.levels(2));
            prop_assert_eq!(
                book.order_count(Side::Buy) + book.order_count(Side::Sell),
                reference.orders.len()
            );
            for o in &reference.orders {
                let got = book.order(o.id).expect("order missing");
                prop_assert_eq!(
                    (got.price, got.size, got.side as u8),
                    (o.price, o.size, o.side)
                );
            }
            if let Err(e) = book.check_integrity() {
                prop_assert!(e.reason.starts_with("crossed book"), "{}", e);
            }
        }
    }};
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The ladder alone vs a BTreeMap: every insert/remove result and the best after each op.
    #[test]
    fn ladder_matches_btreemap(ops in prop::collection::vec((any::<bool>(), prop_oneof![
        8 => 0i64..300, 1 => -5000i64..5000, 1 => any::<i64>()]), 1..400)) {
        use alphaforge_core::book::SideStore;
        let mut ladder: Ladder<i64> = Ladder::with_window(64, 256);
        let mut reference: BTreeMap<i64, i64> = BTreeMap::new();
        for (n, (insert, key)) in ops.into_iter().enumerate() {
            if insert {
                prop_assert_eq!(ladder.insert(key, n as i64), reference.insert(key, n as i64));
            } else {
                prop_assert_eq!(ladder.remove(key), reference.remove(&key));
            }
            prop_assert_eq!(ladder.best().map(|(k, v)| (k, *v)), reference.last_key_value().map(|(k, v)| (*k, *v)));
            prop_assert_eq!(ladder.len(), reference.len());
            prop_assert_eq!(ladder.get(key).copied(), reference.get(&key).copied());
            if let Err(e) = ladder.check() { prop_assert!(false, "{}", e); }
        }
        let mut seen = Vec::new();
        ladder.visit(|k, v| { seen.push((k, *v)); true });
        let expected: Vec<(i64, i64)> = reference.iter().rev().map(|(k, v)| (*k, *v)).collect();
        prop_assert_eq!(seen, expected);
    }

    #[test]
    fn l2_ladder_batches_match_reference(batches in batches()) {
        compare_l2!(L2Book::with_store(2, 3, small_ladder()).unwrap(), RefL2::default(), &batches, false);
    }

    #[test]
    fn l2_default_ladder_single_deltas_match_reference(batches in batches()) {
        compare_l2!(L2Book::new(2, 3).unwrap(), RefL2::default(), &batches, true);
    }

    #[test]
    fn l2_tree_batches_match_reference(batches in batches()) {
        compare_l2!(L2Book::with_store(2, 3, TreeStore::new()).unwrap(), RefL2::default(), &batches, false);
    }

    #[test]
    fn l1_matches_reference(batches in batches()) {
        compare_l2!(L1Book::new(2, 3).unwrap(), RefL1::default(), &batches, false);
    }

    #[test]
    fn l1_single_deltas_match_reference(batches in batches()) {
        compare_l2!(L1Book::new(2, 3).unwrap(), RefL1::default(), &batches, true);
    }

    #[test]
    fn l3_ladder_matches_reference(batches in batches()) {
        compare_l3!(L3Book::with_store(2, 3, small_ladder()).unwrap(), &batches);
    }

    #[test]
    fn l3_default_ladder_matches_reference(batches in batches()) {
        compare_l3!(L3Book::new(2, 3).unwrap(), &batches);
    }

    #[test]
    fn l3_tree_matches_reference(batches in batches()) {
        compare_l3!(L3Book::with_store(2, 3, TreeStore::new()).unwrap(), &batches);
    }

    /// Large batches take the snapshot + single-pass path; a bad delta anywhere (also after
    /// thousands of applied ones) must still reject the whole batch.
    #[test]
    fn l2_large_batches_match_reference(
        seed in any::<u64>(),
        len in (SNAPSHOT_BATCH_MIN + 1)..(12 * SNAPSHOT_BATCH_MIN),
        bad_at in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let mut x = seed | 1;
        let mut rnd = move || { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x };
        let mut deltas: Vec<BookDelta> = (0..len as u64).map(|i| {
            let r = rnd();
            let side = if r & 1 == 0 { Side::Buy } else { Side::Sell };
            let price = 1000 + (r >> 8) as i64 % 300 - if side == Side::Buy { 300 } else { 0 };
            let size = ((r >> 20) % 50) as i64;
            let d = match (r >> 40) % 10 {
                0..=5 => BookDelta::update(side, price, size, 0),
                6..=7 => BookDelta::add(side, price, size + 1, 0),
                8 => BookDelta::delete(side, price, 0),
                _ => BookDelta::clear(Some(side)),
            };
            d.at(i / 3, i)
        }).collect();
        if let Some(ix) = bad_at {
            let i = ix.index(len);
            deltas[i].size = -1;
            deltas[i].action = 2;
        }
        for store in [small_ladder(), Ladder::default()] {
            let mut book = L2Book::with_store(2, 3, store).unwrap();
            let mut reference = RefL2::default();
            // Non-empty start so that a rollback has something to restore.
            let seed_batch: Vec<BookDelta> = (0..40).map(|k| BookDelta::add(
                if k % 2 == 0 { Side::Buy } else { Side::Sell }, 600 + k * 20, 5, 0)).collect();
            book.apply_batch(&seed_batch).unwrap();
            for d in &seed_batch { reference.apply(d); }
            let before = l2_levels(&book);
            let expected = deltas.iter().enumerate().find_map(|(i, d)| reference.apply(d).map(|_| i));
            match book.apply_batch(&deltas) {
                Ok(()) => {
                    prop_assert_eq!(expected, None);
                    prop_assert_eq!(l2_levels(&book), reference.levels());
                    prop_assert_eq!(book.meta().sequence, deltas[len - 1].sequence);
                }
                Err(e) => {
                    prop_assert_eq!(e.index, expected);
                    prop_assert_eq!(l2_levels(&book), before);
                    prop_assert_eq!(book.meta().sequence, 0);
                }
            }
            if let Err(e) = book.check_integrity() {
                prop_assert!(e.reason.starts_with("crossed book"), "{}", e);
            }
        }
    }

    /// Single-delta L3 application agrees with applying each delta as a batch of one.
    #[test]
    fn l3_single_equals_batches_of_one(batches in batches()) {
        let mut a = L3Book::with_store(2, 3, small_ladder()).unwrap();
        let mut b = L3Book::new(2, 3).unwrap();
        for d in batches.iter().flatten() {
            let ra = a.apply(d).map_err(|e| e.field);
            let rb = b.apply_batch(std::slice::from_ref(d)).map_err(|e| e.field.replace("deltas[0].", "delta."));
            prop_assert_eq!(ra, rb);
        }
        prop_assert_eq!(l3_view(&a, Side::Buy), l3_view(&b, Side::Buy));
        prop_assert_eq!(l3_view(&a, Side::Sell), l3_view(&b, Side::Sell));
    }

    /// Book walk vs a direct computation on the reference levels.
    #[test]
    fn fill_estimate_matches_reference(batches in batches(), qty in 1i64..5000, buy in any::<bool>()) {
        let mut book = L2Book::with_store(2, 3, small_ladder()).unwrap();
        for batch in &batches {
            let _ = book.apply_batch(batch);
        }
        let (bids, asks) = l2_levels(&book);
        let walked = if buy { asks } else { bids };
        let (mut filled, mut notional, mut levels) = (0i64, Some(0i128), 0u32);
        for (p, s) in &walked {
            if filled == qty { break; }
            let take = (*s).min(qty - filled);
            filled += take;
            notional = notional.and_then(|n| n.checked_add(i128::from(*p) * i128::from(take)));
            levels += 1;
        }
        let side = if buy { Side::Buy } else { Side::Sell };
        match (book.fill_estimate(side, qty), notional) {
            (Ok(est), Some(notional)) => {
                prop_assert_eq!((est.filled, est.notional, est.levels), (filled, notional, levels));
                prop_assert_eq!(est.best_price, walked.first().map(|l| l.0));
            }
            (Err(e), None) => prop_assert_eq!(e.kind, alphaforge_core::book::BookErrorKind::Overflow),
            (got, want) => prop_assert!(false, "book {:?} vs reference notional {:?}", got, want),
        }
    }
}
