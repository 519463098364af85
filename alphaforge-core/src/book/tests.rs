//! Behaviour of the three book types (the randomized comparison with a reference model is in
//! tests/book_properties.rs).

use super::*;

fn add(side: Side, price: i64, size: i64) -> BookDelta {
    BookDelta::add(side, price, size, 0)
}

fn levels<B: BookQuery>(book: &B, side: Side) -> Vec<(i64, i64)> {
    book.depth(side, usize::MAX)
        .into_iter()
        .map(|l| (l.price, l.size))
        .collect()
}

#[test]
fn l2_add_update_delete_clear() {
    let mut b = L2Book::new(2, 3).unwrap();
    b.apply(&add(Side::Buy, 100, 5)).unwrap();
    b.apply(&add(Side::Buy, 99, 7)).unwrap();
    b.apply(&add(Side::Sell, 101, 3)).unwrap();
    b.apply(&add(Side::Sell, 103, 4)).unwrap();
    assert_eq!(levels(&b, Side::Buy), vec![(100, 5), (99, 7)]);
    assert_eq!(levels(&b, Side::Sell), vec![(101, 3), (103, 4)]);
    assert_eq!(b.spread(), Some(1));
    assert_eq!(b.mid_x10(), Some(1005));
    // UPDATE inserts a missing level and replaces an existing one; size 0 removes.
    b.apply(&BookDelta::update(Side::Sell, 102, 9, 0)).unwrap();
    b.apply(&BookDelta::update(Side::Buy, 100, 6, 0)).unwrap();
    assert_eq!(levels(&b, Side::Sell), vec![(101, 3), (102, 9), (103, 4)]);
    b.apply(&BookDelta::update(Side::Sell, 101, 0, 0)).unwrap();
    assert_eq!(b.best_ask().unwrap().price, 102);
    // DELETE of a missing level is a no-op.
    b.apply(&BookDelta::delete(Side::Buy, 50, 0)).unwrap();
    b.apply(&BookDelta::delete(Side::Buy, 100, 0)).unwrap();
    assert_eq!(levels(&b, Side::Buy), vec![(99, 7)]);
    assert_eq!(b.level_size(Side::Buy, 99), Some(7));
    b.apply(&BookDelta::clear(Some(Side::Sell))).unwrap();
    assert_eq!(b.level_count(Side::Sell), 0);
    assert_eq!(b.level_count(Side::Buy), 1);
    b.apply(&BookDelta::clear(None)).unwrap();
    assert_eq!(b.level_count(Side::Buy), 0);
    b.check_integrity().unwrap();
}

#[test]
fn l2_errors_leave_book_unchanged() {
    let mut b = L2Book::new(2, 3).unwrap();
    b.apply(&add(Side::Buy, 100, 5).at(10, 1)).unwrap();
    let before = levels(&b, Side::Buy);
    let cases = [
        (
            add(Side::Buy, 100, -1).at(10, 0),
            "delta.size=-1: must be >= 0",
        ),
        (
            add(Side::Buy, 100, 0).at(10, 0),
            "delta.size=0: ADD needs a positive size",
        ),
        (
            add(Side::Buy, 100, 1).at(9, 0),
            "delta.sequence=9: lower than the book's last applied sequence 10",
        ),
    ];
    for (d, msg) in cases {
        let err = b.apply(&d).unwrap_err();
        assert_eq!(err.to_string(), msg);
        assert_eq!(err.kind, BookErrorKind::InvalidArgument);
    }
    let mut bad = add(Side::Buy, 1, 1).at(10, 0);
    bad.side = 7;
    assert_eq!(
        b.apply(&bad).unwrap_err().to_string(),
        "delta.side=7: must be 1 (BUY) or 2 (SELL)"
    );
    bad.side = 1;
    bad.action = 0;
    assert!(b
        .apply(&bad)
        .unwrap_err()
        .to_string()
        .starts_with("delta.action=0"));
    assert_eq!(levels(&b, Side::Buy), before);
    assert_eq!(b.meta().sequence, 10);
    assert_eq!(b.meta().ts_event, 1);
}

#[test]
fn l2_batch_is_all_or_nothing() {
    let mut b = L2Book::new(2, 3).unwrap();
    b.apply_batch(&[
        add(Side::Buy, 100, 5).at(1, 1),
        add(Side::Sell, 101, 5).at(2, 2),
    ])
    .unwrap();
    assert_eq!(b.meta().sequence, 2);
    let batch = [
        BookDelta::update(Side::Buy, 100, 8, 0).at(3, 3),
        BookDelta::clear(None).at(3, 3),
        add(Side::Buy, 90, 1).at(4, 4),
        add(Side::Buy, 91, -2).at(5, 5),
    ];
    let err = b.apply_batch(&batch).unwrap_err();
    assert_eq!(err.index, Some(3));
    assert_eq!(err.to_string(), "deltas[3].size=-2: must be >= 0");
    assert_eq!(levels(&b, Side::Buy), vec![(100, 5)]);
    assert_eq!(levels(&b, Side::Sell), vec![(101, 5)]);
    assert_eq!(b.meta().sequence, 2);
    // Sequence going back inside the batch.
    let err = b
        .apply_batch(&[add(Side::Buy, 1, 1).at(5, 0), add(Side::Buy, 2, 1).at(4, 0)])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "deltas[1].sequence=4: lower than the book's last applied sequence 5"
    );
    assert_eq!(levels(&b, Side::Buy), vec![(100, 5)]);
    b.apply_batch(&[]).unwrap();
    assert_eq!(b.meta().sequence, 2);
}

#[test]
fn l2_tree_store_behaves_the_same() {
    let mut a = L2Book::new(0, 0).unwrap();
    let mut t = L2Book::with_store(0, 0, TreeStore::new()).unwrap();
    for d in [
        add(Side::Buy, 10, 1),
        add(Side::Buy, 12, 2),
        BookDelta::update(Side::Buy, 12, 0, 0),
        add(Side::Sell, 20, 3),
        BookDelta::delete(Side::Sell, 21, 0),
    ] {
        a.apply(&d).unwrap();
        t.apply(&d).unwrap();
    }
    assert_eq!(levels(&a, Side::Buy), levels(&t, Side::Buy));
    assert_eq!(levels(&a, Side::Sell), levels(&t, Side::Sell));
    t.check_integrity().unwrap();
}

#[test]
fn crossing_and_integrity() {
    let mut b = L2Book::new(0, 0).unwrap();
    assert_eq!(b.crossing(), Crossing::None);
    b.apply(&add(Side::Buy, 10, 1)).unwrap();
    b.apply(&add(Side::Sell, 10, 1)).unwrap();
    assert_eq!(b.crossing(), Crossing::Locked);
    b.check_integrity().unwrap();
    b.apply(&add(Side::Buy, 11, 1)).unwrap();
    assert_eq!(b.crossing(), Crossing::Crossed);
    let err = b.check_integrity().unwrap_err();
    assert_eq!(err.kind, BookErrorKind::Integrity);
    assert!(
        err.to_string()
            .contains("crossed book: best bid 11 > best ask 10"),
        "{err}"
    );
}

#[test]
fn fill_estimate_walks_the_book() {
    let mut b = L2Book::new(1, 3).unwrap();
    b.apply_batch(&[
        add(Side::Sell, 1000, 1_000), // 100.0 x 1.000
        add(Side::Sell, 1001, 2_000), // 100.1 x 2.000
        add(Side::Sell, 1005, 1_000),
        add(Side::Buy, 999, 500),
    ])
    .unwrap();
    let est = b.fill_estimate(Side::Buy, 2_000).unwrap();
    assert!(est.is_complete());
    assert_eq!((est.filled, est.levels), (2_000, 2));
    assert_eq!(est.best_price, Some(1000));
    assert_eq!(est.worst_price, Some(1001));
    // (100.0 * 1 + 100.1 * 1) / 2 = 100.05
    assert_eq!(est.avg_price(2).unwrap(), Some(10005));
    assert_eq!(est.slippage(2).unwrap(), Some(5));
    // Rounded half even at the book's precision: 100.05 -> 100.0
    assert_eq!(est.avg_price(1).unwrap(), Some(1000));
    assert!(est.avg_price(0).is_err());
    // More than the book holds.
    let est = b.fill_estimate(Side::Buy, 10_000).unwrap();
    assert!(!est.is_complete());
    assert_eq!(
        (est.filled, est.levels, est.worst_price),
        (4_000, 3, Some(1005))
    );
    // SELL walks the bids.
    let est = b.fill_estimate(Side::Sell, 100).unwrap();
    assert_eq!(est.avg_price(1).unwrap(), Some(999));
    assert_eq!(est.slippage(1).unwrap(), Some(0));
    // Empty side, bad qty.
    b.apply(&BookDelta::clear(Some(Side::Buy))).unwrap();
    let est = b.fill_estimate(Side::Sell, 100).unwrap();
    assert_eq!((est.filled, est.best_price), (0, None));
    assert_eq!(est.avg_price(1).unwrap(), None);
    assert_eq!(
        b.fill_estimate(Side::Buy, 0).unwrap_err().to_string(),
        "qty=0: must be positive"
    );
}

#[test]
fn l1_deltas_quotes_trades() {
    let mut b = L1Book::new(2, 0).unwrap();
    b.apply(&add(Side::Buy, 100, 1)).unwrap();
    b.apply(&add(Side::Buy, 101, 2)).unwrap();
    assert_eq!(levels(&b, Side::Buy), vec![(101, 2)]);
    b.apply(&BookDelta::update(Side::Buy, 101, 0, 0)).unwrap();
    assert_eq!(b.level_count(Side::Buy), 0);
    b.apply_quote((99, 3), (102, 4), 5, 50).unwrap();
    let top = b.top();
    assert_eq!(
        (top.bid, top.ask, top.sequence, top.ts_event),
        (Some((99, 3)), Some((102, 4)), 5, 50)
    );
    assert!(b.apply_quote((99, -1), (102, 4), 6, 0).is_err());
    assert!(b.apply_quote((99, 1), (102, 4), 4, 0).is_err());
    assert_eq!(b.top().bid, Some((99, 3)));
    b.apply_trade(100, 7, 6, 60).unwrap();
    assert_eq!(b.crossing(), Crossing::Locked);
    b.check_integrity().unwrap();
    // Batch rollback.
    let err = b
        .apply_batch(&[
            BookDelta::clear(None).at(7, 0),
            add(Side::Buy, 1, -1).at(7, 0),
        ])
        .unwrap_err();
    assert_eq!(err.index, Some(1));
    assert_eq!(b.top().bid, Some((100, 7)));
    b.clear();
    assert_eq!(b.top(), TopOfBook::default());
}

#[test]
fn order_book_enum_and_l1_only_calls() {
    let mut b = OrderBook::new(BookType::L2Mbp, 2, 2).unwrap();
    assert_eq!(b.book_type(), BookType::L2Mbp);
    let err = b.apply_quote((1, 1), (2, 1), 0, 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "book_type=2: a quote updates an L1 book only (L2/L3 books take deltas)"
    );
    assert!(OrderBook::new(BookType::L3Mbo, 19, 0)
        .unwrap_err()
        .to_string()
        .starts_with("price_precision=19"));
}

fn l3_add(side: Side, price: i64, size: i64, id: u64) -> BookDelta {
    BookDelta::add(side, price, size, id)
}

fn queue(b: &L3Book, side: Side, price: i64) -> Vec<(u64, i64)> {
    b.level_orders(side, price)
        .into_iter()
        .map(|o| (o.order_id, o.size))
        .collect()
}

#[test]
fn l3_fifo_priority_rules() {
    let mut b = L3Book::new(2, 0).unwrap();
    for (id, size) in [(1, 10), (2, 20), (3, 30)] {
        b.apply(&l3_add(Side::Buy, 100, size, id)).unwrap();
    }
    b.apply(&l3_add(Side::Sell, 105, 5, 4)).unwrap();
    assert_eq!(queue(&b, Side::Buy, 100), vec![(1, 10), (2, 20), (3, 30)]);
    assert_eq!(
        b.best_bid().unwrap(),
        Level {
            price: 100,
            size: 60,
            orders: 3
        }
    );
    // Smaller size: keeps its place.
    b.apply(&BookDelta::update(Side::Buy, 100, 15, 2)).unwrap();
    assert_eq!(queue(&b, Side::Buy, 100), vec![(1, 10), (2, 15), (3, 30)]);
    // Larger size: to the back.
    b.apply(&BookDelta::update(Side::Buy, 100, 11, 1)).unwrap();
    assert_eq!(queue(&b, Side::Buy, 100), vec![(2, 15), (3, 30), (1, 11)]);
    assert_eq!(
        b.queue_position(1),
        Some(QueuePosition {
            size_ahead: 45,
            orders_ahead: 2
        })
    );
    // New price: moves level.
    b.apply(&BookDelta::update(Side::Buy, 101, 11, 1)).unwrap();
    assert_eq!(
        b.best_bid().unwrap(),
        Level {
            price: 101,
            size: 11,
            orders: 1
        }
    );
    // Size 0 removes.
    b.apply(&BookDelta::update(Side::Buy, 101, 0, 1)).unwrap();
    assert_eq!(b.order(1), None);
    b.apply(&BookDelta::delete(Side::Buy, 0, 3)).unwrap();
    assert_eq!(queue(&b, Side::Buy, 100), vec![(2, 15)]);
    assert_eq!(b.order_count(Side::Buy), 1);
    assert_eq!(
        b.order(4),
        Some(L3Order {
            order_id: 4,
            side: Side::Sell,
            price: 105,
            size: 5
        })
    );
    b.check_integrity().unwrap();
}

#[test]
fn l3_errors() {
    let mut b = L3Book::new(2, 0).unwrap();
    b.apply(&l3_add(Side::Buy, 100, 10, 1)).unwrap();
    let err = b.apply(&l3_add(Side::Buy, 100, 10, 1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "delta.order_id=1: ADD of an order id that is already on the book (use UPDATE)"
    );
    let err = b.apply(&BookDelta::delete(Side::Buy, 100, 9)).unwrap_err();
    assert_eq!(err.kind, BookErrorKind::NotFound);
    assert_eq!(
        err.to_string(),
        "delta.order_id=9: DELETE of an order id that is not on the book"
    );
    let err = b
        .apply(&BookDelta::update(Side::Sell, 100, 5, 1))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "delta.side=2: order 1 is on the BUY side; an UPDATE cannot change the side"
    );
    let err = b.apply(&l3_add(Side::Buy, 100, i64::MAX, 2)).unwrap_err();
    assert_eq!(err.kind, BookErrorKind::Overflow);
    assert_eq!(queue(&b, Side::Buy, 100), vec![(1, 10)]);
    b.check_integrity().unwrap();
}

#[test]
fn l3_batch_rollback_restores_queues() {
    let mut b = L3Book::new(2, 0).unwrap();
    b.apply_batch(&[
        l3_add(Side::Buy, 100, 10, 1),
        l3_add(Side::Buy, 100, 20, 2),
        l3_add(Side::Buy, 100, 30, 3),
        l3_add(Side::Buy, 99, 5, 4),
        l3_add(Side::Sell, 101, 5, 5),
    ])
    .unwrap();
    let snapshot = |b: &L3Book| {
        (
            queue(b, Side::Buy, 100),
            queue(b, Side::Buy, 99),
            queue(b, Side::Sell, 101),
            b.level_count(Side::Buy),
            b.order_count(Side::Buy),
        )
    };
    let before = snapshot(&b);
    let batch = [
        BookDelta::delete(Side::Buy, 100, 2),
        BookDelta::update(Side::Buy, 100, 40, 1), // to the back
        BookDelta::update(Side::Buy, 100, 25, 3), // resize in place
        BookDelta::update(Side::Buy, 98, 5, 4),   // moves level; 99 disappears
        l3_add(Side::Buy, 100, 7, 6),
        BookDelta::clear(Some(Side::Sell)),
        l3_add(Side::Sell, 102, 1, 7),
        BookDelta::clear(None),
        l3_add(Side::Buy, 100, 1, 2),
        BookDelta::delete(Side::Buy, 100, 42), // missing -> rollback
    ];
    let err = b.apply_batch(&batch).unwrap_err();
    assert_eq!(err.index, Some(9));
    assert_eq!(err.kind, BookErrorKind::NotFound);
    assert_eq!(snapshot(&b), before);
    b.check_integrity().unwrap();
    // The same batch without the bad delta commits.
    b.apply_batch(&batch[..9]).unwrap();
    assert_eq!(queue(&b, Side::Buy, 100), vec![(2, 1)]);
    assert_eq!(b.order_count(Side::Sell), 0);
    b.check_integrity().unwrap();
    // Slots freed by a committed batch are reused.
    b.apply_batch(&[
        l3_add(Side::Buy, 100, 1, 10),
        BookDelta::delete(Side::Buy, 0, 10),
    ])
    .unwrap();
    b.check_integrity().unwrap();
}
