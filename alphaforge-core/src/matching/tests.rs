//! Unit tests (every order type, time in force, flag, and the backtest queue model) and the
//! property test against the naive reference model.

use proptest::prelude::*;

use super::reference::Reference;
use super::*;
use crate::book::{BookAction, BookDelta, F_LAST};

use EventKind as K;
use Side::{Buy, Sell};

fn cfg(mode: Mode) -> Config {
    Config::new(mode)
}

/// Exchange engine; self-trades allowed so single-trader tests read simply (prevention has its
/// own test).
fn ex() -> MatchingEngine {
    MatchingEngine::new(Config {
        self_trade: SelfTrade::Allow,
        ..cfg(Mode::Exchange)
    })
    .unwrap()
}

fn bt() -> MatchingEngine {
    MatchingEngine::new(cfg(Mode::Backtest)).unwrap()
}

/// (kind, client id, price, qty, leaves, reason) of every queued event.
fn evs(e: &mut MatchingEngine) -> Vec<(K, u64, i64, i64, i64, Reason)> {
    e.take_events()
        .into_iter()
        .map(|v| {
            (
                v.kind,
                v.client_order_id,
                v.price,
                v.qty,
                v.leaves,
                v.reason,
            )
        })
        .collect()
}

/// Only fills: (client id, price, qty, liquidity).
fn fills(e: &mut MatchingEngine) -> Vec<(u64, i64, i64, Liquidity)> {
    e.take_events()
        .into_iter()
        .filter(|v| matches!(v.kind, K::Filled | K::PartiallyFilled))
        .map(|v| (v.client_order_id, v.price, v.qty, v.liquidity))
        .collect()
}

fn kinds(e: &mut MatchingEngine) -> Vec<(K, u64, Reason)> {
    e.take_events()
        .into_iter()
        .map(|v| (v.kind, v.client_order_id, v.reason))
        .collect()
}

fn lim(id: u64, side: Side, price: i64, qty: i64) -> Command {
    Command::limit(0, id, side, price, qty)
}

fn stop(id: u64, side: Side, otype: OrderType, trigger: i64, price: i64, qty: i64) -> Command {
    Command {
        order_type: otype,
        trigger_price: trigger,
        price,
        ..lim(id, side, 0, qty)
    }
}

// -- exchange mode ------------------------------------------------------------------------------

#[test]
fn limit_orders_match_price_time() {
    let mut e = ex();
    e.process(&[
        lim(1, Sell, 101, 5),
        lim(2, Sell, 100, 5),
        lim(3, Sell, 100, 5),
    ]);
    e.take_events();
    e.command(&lim(4, Buy, 101, 12));
    assert_eq!(
        evs(&mut e),
        vec![
            (K::Accepted, 4, 101, 12, 12, Reason::None),
            (K::PartiallyFilled, 4, 100, 5, 7, Reason::None),
            (K::Filled, 2, 100, 5, 0, Reason::None),
            (K::PartiallyFilled, 4, 100, 5, 2, Reason::None),
            (K::Filled, 3, 100, 5, 0, Reason::None),
            (K::Filled, 4, 101, 2, 0, Reason::None),
            (K::PartiallyFilled, 1, 101, 2, 3, Reason::None),
        ]
    );
    assert_eq!(e.best(Sell), Some((101, 3, 3, 1)));
    assert_eq!(e.best(Buy), None);
    assert_eq!(e.order_count(), 1);
    assert_eq!(e.order(1).unwrap().filled, 2);
}

#[test]
fn trade_ids_and_liquidity_sides() {
    let mut e = ex();
    e.process(&[lim(1, Sell, 100, 5), lim(2, Buy, 100, 5)]);
    let all = e.take_events();
    let f: Vec<_> = all
        .iter()
        .filter(|v| v.kind == K::Filled)
        .map(|v| (v.client_order_id, v.trade_id, v.liquidity, v.venue_order_id))
        .collect();
    assert_eq!(
        f,
        vec![(2, 1, Liquidity::Taker, 2), (1, 1, Liquidity::Maker, 1)]
    );
}

#[test]
fn market_orders_never_rest() {
    let mut e = ex();
    e.command(&Command::market(0, 1, Buy, 5));
    assert_eq!(
        kinds(&mut e),
        vec![
            (K::Accepted, 1, Reason::None),
            (K::Canceled, 1, Reason::NoLiquidity)
        ]
    );
    e.process(&[
        lim(2, Sell, 100, 3),
        lim(3, Sell, 105, 1),
        Command::market(0, 4, Buy, 5),
    ]);
    let ev = evs(&mut e);
    assert_eq!(
        ev[ev.len() - 1],
        (K::Canceled, 4, 0, 1, 0, Reason::NoLiquidity)
    );
    assert_eq!(e.order_count(), 0);
}

#[test]
fn ioc_and_fok() {
    let mut e = ex();
    e.process(&[lim(1, Sell, 100, 3), lim(2, Sell, 101, 3)]);
    e.take_events();
    e.command(&lim(3, Buy, 100, 5).with_tif(TimeInForce::Ioc));
    let ev = evs(&mut e);
    assert_eq!(
        ev.last().unwrap(),
        &(K::Canceled, 3, 100, 2, 0, Reason::IocRemainder)
    );
    // FOK that cannot fill: nothing happens to the book.
    e.command(&lim(4, Buy, 101, 4).with_tif(TimeInForce::Fok));
    assert_eq!(
        kinds(&mut e),
        vec![
            (K::Accepted, 4, Reason::None),
            (K::Canceled, 4, Reason::FokNotFillable)
        ]
    );
    assert_eq!(e.best(Sell), Some((101, 3, 3, 1)));
    // FOK that can.
    e.command(&lim(5, Buy, 101, 3).with_tif(TimeInForce::Fok));
    assert_eq!(
        fills(&mut e),
        vec![(5, 101, 3, Liquidity::Taker), (2, 101, 3, Liquidity::Maker)]
    );
    // market FOK
    e.process(&[lim(6, Sell, 110, 2)]);
    e.command(&Command::market(0, 7, Buy, 3).with_tif(TimeInForce::Fok));
    assert_eq!(
        kinds(&mut e).last().unwrap(),
        &(K::Canceled, 7, Reason::FokNotFillable)
    );
}

#[test]
fn fok_counts_hidden_iceberg_quantity() {
    let mut e = ex();
    e.command(&Command {
        display_qty: 2,
        ..lim(1, Sell, 100, 10)
    });
    e.command(&lim(2, Buy, 100, 9).with_tif(TimeInForce::Fok));
    let f = fills(&mut e);
    assert_eq!(f.iter().filter(|x| x.0 == 2).map(|x| x.2).sum::<i64>(), 9);
}

#[test]
fn post_only() {
    let mut e = ex();
    e.command(&lim(1, Sell, 100, 3));
    e.command(&lim(2, Buy, 100, 1).with_flags(FLAG_POST_ONLY));
    e.command(&lim(3, Buy, 99, 1).with_flags(FLAG_POST_ONLY));
    e.command(&Command::market(0, 4, Buy, 1).with_flags(FLAG_POST_ONLY));
    e.command(
        &lim(5, Buy, 99, 1)
            .with_flags(FLAG_POST_ONLY)
            .with_tif(TimeInForce::Ioc),
    );
    let k = kinds(&mut e);
    assert_eq!(
        k[1..],
        [
            (K::Rejected, 2, Reason::PostOnlyWouldTake),
            (K::Accepted, 3, Reason::None),
            (K::Rejected, 4, Reason::PostOnlyNotAllowed),
            (K::Rejected, 5, Reason::PostOnlyNotAllowed),
        ]
    );
    // A post-only order may not be modified into a crossing price.
    e.command(&Command::modify(0, 3, Some(100), None));
    assert_eq!(
        kinds(&mut e),
        vec![(K::ModifyRejected, 3, Reason::PostOnlyWouldTake)]
    );
    assert_eq!(e.order(3).unwrap().price, 99);
}

#[test]
fn reduce_only() {
    let mut e = ex();
    // flat: a reduce-only order is rejected
    e.command(&lim(1, Sell, 100, 1).with_flags(FLAG_REDUCE_ONLY));
    assert_eq!(
        kinds(&mut e),
        vec![(K::Rejected, 1, Reason::ReduceOnlyWouldIncrease)]
    );
    // trader 1 is long 3: a reduce-only sell of 5 fills 3, the rest is canceled
    e.set_position(1, 3);
    e.command(&lim(2, Buy, 100, 10).with_trader(2));
    e.command(
        &lim(3, Sell, 100, 5)
            .with_trader(1)
            .with_flags(FLAG_REDUCE_ONLY),
    );
    let ev = evs(&mut e);
    assert_eq!(ev[2], (K::PartiallyFilled, 3, 100, 3, 2, Reason::None));
    assert_eq!(
        ev[4],
        (K::Canceled, 3, 100, 2, 0, Reason::ReduceOnlyPositionClosed)
    );
    assert_eq!(e.position(1), 0);
    assert_eq!(e.position(2), 3);
    // a resting reduce-only maker whose position closed meanwhile is canceled when reached
    e.command(&Command::cancel(0, 2).with_trader(2));
    e.set_position(3, -2);
    e.command(
        &lim(4, Buy, 99, 2)
            .with_trader(3)
            .with_flags(FLAG_REDUCE_ONLY),
    );
    e.set_position(3, 0);
    e.command(&lim(5, Sell, 99, 1).with_trader(4));
    let k = kinds(&mut e);
    assert!(
        k.contains(&(K::Canceled, 4, Reason::ReduceOnlyPositionClosed)),
        "{k:?}"
    );
}

#[test]
fn iceberg_shows_display_and_refresh_loses_priority() {
    let mut e = ex();
    e.command(&Command {
        display_qty: 2,
        ..lim(1, Sell, 100, 5)
    });
    e.command(&lim(2, Sell, 100, 3));
    assert_eq!(e.best(Sell), Some((100, 5, 8, 2)));
    e.take_events();
    // takes 2 from the iceberg's tranche, then #2 (the refreshed tranche queues behind it)
    e.command(&lim(3, Buy, 100, 6));
    assert_eq!(
        fills(&mut e)
            .into_iter()
            .filter(|f| f.3 == Liquidity::Maker)
            .map(|f| (f.0, f.2))
            .collect::<Vec<_>>(),
        vec![(1, 2), (2, 3), (1, 1)]
    );
    let o = e.order(1).unwrap();
    assert_eq!((o.leaves, o.visible), (2, 1));
}

#[test]
fn modify_priority_rules() {
    let mut e = ex();
    e.process(&[lim(1, Buy, 100, 5), lim(2, Buy, 100, 5)]);
    // size decrease keeps priority
    e.command(&Command::modify(0, 1, None, Some(4)));
    assert_eq!(e.open_orders()[0].client_order_id, 1);
    // size increase loses it
    e.command(&Command::modify(0, 1, None, Some(6)));
    assert_eq!(e.open_orders()[0].client_order_id, 2);
    // price change loses it (and away-and-back puts it last)
    e.command(&Command::modify(0, 2, Some(99), None));
    e.command(&Command::modify(0, 2, Some(100), None));
    assert_eq!(e.open_orders()[0].client_order_id, 1);
    assert_eq!(e.best(Buy), Some((100, 11, 11, 2)));
    e.take_events();
    // a modify into a crossing price trades
    e.command(&lim(3, Sell, 101, 2));
    e.command(&Command::modify(0, 3, Some(100), None));
    let ev = evs(&mut e);
    assert_eq!(ev[1], (K::Updated, 3, 100, 2, 2, Reason::None));
    assert_eq!(ev[2], (K::Filled, 3, 100, 2, 0, Reason::None));
    // refused modifies leave the order alone
    e.command(&Command::modify(0, 1, None, Some(-1)));
    e.command(&Command::modify(0, 99, Some(1), None));
    e.command(&Command::modify(0, 1, None, Some(2))); // 2 filled already
    e.command(&Command {
        flags: FLAG_MODIFY_TRIGGER,
        ..Command::modify(0, 1, None, None)
    });
    e.command(&Command::modify(0, 1, None, Some(3)).with_trader(9));
    assert_eq!(
        kinds(&mut e),
        vec![
            (K::ModifyRejected, 1, Reason::InvalidQuantity),
            (K::ModifyRejected, 99, Reason::UnknownOrder),
            (K::ModifyRejected, 1, Reason::QuantityBelowFilled),
            (K::ModifyRejected, 1, Reason::NotApplicable),
            (K::ModifyRejected, 1, Reason::WrongTrader),
        ]
    );
    assert_eq!(e.order(1).unwrap().qty, 6);
}

#[test]
fn cancel() {
    let mut e = ex();
    e.command(&lim(1, Buy, 100, 5));
    e.command(&Command::cancel(0, 1).with_trader(7));
    e.command(&Command::cancel(0, 1));
    e.command(&Command::cancel(0, 1));
    assert_eq!(
        evs(&mut e)[1..],
        [
            (K::CancelRejected, 1, 100, 5, 5, Reason::WrongTrader),
            (K::Canceled, 1, 100, 5, 0, Reason::Requested),
            (K::CancelRejected, 1, 0, 0, 0, Reason::UnknownOrder),
        ]
    );
    assert_eq!(e.order_count(), 0);
    assert!(e.best(Buy).is_none());
    // the id is free again once the order closed
    e.command(&lim(1, Buy, 100, 5));
    assert_eq!(kinds(&mut e), vec![(K::Accepted, 1, Reason::None)]);
}

#[test]
fn self_trade_prevention_modes() {
    let run = |mode: SelfTrade| {
        let mut e = MatchingEngine::new(Config {
            self_trade: mode,
            ..cfg(Mode::Exchange)
        })
        .unwrap();
        e.process(&[
            lim(1, Sell, 100, 2).with_trader(1),
            lim(2, Sell, 100, 2).with_trader(2),
            lim(3, Buy, 100, 3).with_trader(1),
        ]);
        let k: Vec<_> = e
            .take_events()
            .into_iter()
            .filter(|v| v.kind != K::Accepted)
            .map(|v| (v.kind, v.client_order_id, v.qty, v.reason))
            .collect();
        (
            k,
            e.open_orders()
                .iter()
                .map(|o| o.client_order_id)
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        run(SelfTrade::CancelResting),
        (
            vec![
                (K::Canceled, 1, 2, Reason::SelfTrade),
                (K::PartiallyFilled, 3, 2, Reason::None),
                (K::Filled, 2, 2, Reason::None),
            ],
            vec![3]
        )
    );
    assert_eq!(
        run(SelfTrade::CancelAggressor),
        (vec![(K::Canceled, 3, 3, Reason::SelfTrade)], vec![1, 2])
    );
    assert_eq!(
        run(SelfTrade::CancelBoth),
        (
            vec![
                (K::Canceled, 1, 2, Reason::SelfTrade),
                (K::Canceled, 3, 3, Reason::SelfTrade)
            ],
            vec![2]
        )
    );
    let (k, open) = run(SelfTrade::Allow);
    assert_eq!(k.len(), 4);
    assert_eq!(open, vec![2]);
}

#[test]
fn stops_and_if_touched_in_exchange_mode() {
    let mut e = ex();
    // no trade yet: stops wait
    e.command(&stop(1, Buy, OrderType::StopMarket, 101, 0, 2));
    e.command(&stop(2, Sell, OrderType::StopLimit, 99, 98, 1));
    e.command(&stop(3, Buy, OrderType::MarketIfTouched, 99, 0, 1));
    e.command(&stop(4, Sell, OrderType::LimitIfTouched, 102, 103, 1));
    assert_eq!(e.order_count(), 4);
    e.take_events();
    e.process(&[
        lim(10, Sell, 101, 5),
        lim(11, Buy, 99, 5),
        lim(12, Buy, 101, 1),
    ]);
    // the trade at 101 fires the buy stop (>= 101), which buys 2 more at 101
    let k = kinds(&mut e);
    assert!(k.contains(&(K::Triggered, 1, Reason::None)), "{k:?}");
    assert!(k.contains(&(K::Filled, 1, Reason::None)), "{k:?}");
    assert_eq!(e.order_count(), 5); // 10 (partly), 11, 2, 3, 4
                                    // a sell at 99 trades at 99: fires the sell stop-limit (<= 99) and the buy MIT (<= 99)
    e.command(&lim(13, Sell, 99, 1));
    let k = kinds(&mut e);
    let trig: Vec<_> = k
        .iter()
        .filter(|x| x.0 == K::Triggered)
        .map(|x| x.1)
        .collect();
    assert_eq!(trig, vec![2, 3], "acceptance order");
    // immediate trigger at submit
    e.command(&stop(5, Buy, OrderType::StopMarket, 50, 0, 1));
    assert_eq!(kinds(&mut e)[1], (K::Triggered, 5, Reason::None));
    // modify a pending trigger
    e.command(&Command {
        flags: FLAG_MODIFY_TRIGGER,
        trigger_price: 103,
        ..Command::modify(0, 4, None, None)
    });
    assert_eq!(e.order(4).unwrap().trigger_price, 103);
    assert!(e.order(4).unwrap().pending_trigger);
}

#[test]
fn stop_cascade() {
    let mut e = ex();
    e.process(&[
        lim(1, Sell, 100, 1),
        lim(2, Sell, 101, 1),
        lim(3, Sell, 102, 1),
        stop(4, Buy, OrderType::StopMarket, 100, 0, 1),
        stop(5, Buy, OrderType::StopMarket, 101, 0, 1),
    ]);
    e.take_events();
    e.command(&lim(6, Buy, 100, 1));
    let f = fills(&mut e);
    assert_eq!(
        f.iter()
            .filter(|x| x.3 == Liquidity::Taker)
            .map(|x| (x.0, x.1))
            .collect::<Vec<_>>(),
        vec![(6, 100), (4, 101), (5, 102)]
    );
}

#[test]
fn gtd_and_day_expiry() {
    let day = NANOS_PER_DAY;
    let mut e = MatchingEngine::new(Config {
        day_end_offset_ns: 3_600_000_000_000, // 01:00 UTC
        self_trade: SelfTrade::Allow,
        ..cfg(Mode::Exchange)
    })
    .unwrap();
    e.command(&Command {
        time_in_force: TimeInForce::Gtd,
        expire_ts: 100,
        ..Command::limit(10, 1, Buy, 100, 1)
    });
    e.command(&Command::limit(20, 2, Buy, 99, 1).with_tif(TimeInForce::Day));
    e.command(&Command {
        time_in_force: TimeInForce::Gtd,
        expire_ts: 20,
        ..Command::limit(20, 3, Buy, 99, 1)
    });
    e.command(&Command {
        expire_ts: 500,
        ..Command::limit(20, 4, Buy, 99, 1)
    });
    assert_eq!(e.order(2).unwrap().expire_ts, 3_600_000_000_000);
    e.advance_time(99);
    assert_eq!(e.order_count(), 2);
    e.advance_time(3_600_000_000_000);
    let expired: Vec<_> = e
        .events
        .iter()
        .filter(|v| v.kind == K::Expired)
        .map(|v| v.ts)
        .collect();
    assert_eq!(
        expired,
        vec![100, 3_600_000_000_000],
        "stamped with the expiry time"
    );
    let k = kinds(&mut e);
    assert_eq!(
        k[2..],
        [
            (K::Rejected, 3, Reason::InvalidExpireTime),
            (K::Rejected, 4, Reason::InvalidExpireTime),
            (K::Expired, 1, Reason::ExpiredGtd),
            (K::Expired, 2, Reason::ExpiredDay),
        ]
    );
    // submitted after today's session end: expires at tomorrow's
    e.command(&Command::limit(day, 5, Buy, 99, 1).with_tif(TimeInForce::Day));
    assert_eq!(e.order(5).unwrap().expire_ts, day + 3_600_000_000_000);
    // time never goes back; commands with older timestamps run at engine time
    e.command(&Command::limit(5, 6, Buy, 98, 1));
    assert!(e.take_events().iter().all(|v| v.ts == day));
}

#[test]
fn validation_reasons() {
    let mut e = MatchingEngine::new(Config {
        price_increment: 5,
        size_increment: 10,
        min_quantity: 20,
        max_quantity: 1000,
        ..cfg(Mode::Exchange)
    })
    .unwrap();
    let cases = [
        (lim(1, Buy, 100, 0), Reason::InvalidQuantity),
        (lim(1, Buy, 100, 25), Reason::QuantityNotOnLot),
        (lim(1, Buy, 100, 10), Reason::QuantityOutOfRange),
        (lim(1, Buy, 100, 2000), Reason::QuantityOutOfRange),
        (lim(1, Buy, 101, 20), Reason::PriceNotOnTick),
        (lim(1, Buy, i64::MAX, 20), Reason::PriceOutOfRange),
        (
            stop(1, Buy, OrderType::StopMarket, 7, 0, 20),
            Reason::TriggerNotOnTick,
        ),
        (
            Command {
                display_qty: 30,
                ..lim(1, Buy, 100, 20)
            },
            Reason::InvalidDisplayQuantity,
        ),
        (
            Command {
                display_qty: 5,
                ..lim(1, Buy, 100, 20)
            },
            Reason::InvalidDisplayQuantity,
        ),
        (
            Command {
                display_qty: 10,
                ..Command::market(0, 1, Buy, 20)
            },
            Reason::InvalidDisplayQuantity,
        ),
        (
            Command {
                time_in_force: TimeInForce::Gtd,
                ..lim(1, Buy, 100, 20)
            },
            Reason::InvalidExpireTime,
        ),
    ];
    for (c, reason) in cases {
        e.command(&c);
        assert_eq!(kinds(&mut e), vec![(K::Rejected, 1, reason)], "{c:?}");
    }
    e.command(&lim(1, Buy, -100, 20)); // negative prices are fine (spreads)
    e.command(&lim(1, Buy, 100, 20));
    assert_eq!(
        kinds(&mut e),
        vec![
            (K::Accepted, 1, Reason::None),
            (K::Rejected, 1, Reason::DuplicateClientOrderId)
        ]
    );
    assert_eq!(e.order_count(), 1);
}

#[test]
fn fees() {
    let mut e = MatchingEngine::new(Config {
        price_precision: 2,
        size_precision: 3,
        maker_fee_rate: -1, // -0.0001 rebate
        taker_fee_rate: 5,  //  0.0005
        fee_rate_precision: 4,
        fee_precision: 8,
        self_trade: SelfTrade::Allow,
        ..cfg(Mode::Exchange)
    })
    .unwrap();
    // 1.500 @ 20000.00: notional 30000 -> taker 15, maker -3
    e.process(&[lim(1, Sell, 2_000_000, 1500), lim(2, Buy, 2_000_000, 1500)]);
    let f: Vec<_> = e
        .take_events()
        .into_iter()
        .filter(|v| v.kind == K::Filled)
        .map(|v| (v.client_order_id, v.fee))
        .collect();
    assert_eq!(f, vec![(2, 15 * 100_000_000), (1, -3 * 100_000_000)]);
}

#[test]
fn events_are_drained_in_pieces() {
    let mut e = ex();
    e.process(&[
        lim(1, Sell, 100, 1),
        lim(2, Sell, 100, 1),
        lim(3, Buy, 100, 2),
    ]);
    assert_eq!(e.pending_events(), 7);
    let a: Vec<_> = e.drain_events(3).collect();
    let b: Vec<_> = e.drain_events(100).collect();
    assert_eq!((a.len(), b.len(), e.pending_events()), (3, 4, 0));
    assert_eq!(a[0].client_order_id, 1);
}

#[test]
fn exchange_mode_refuses_market_data() {
    let mut e = ex();
    assert!(e.on_trades(&[]).is_err());
    assert!(bt().on_trades(&[]).is_ok());
    assert!(MatchingEngine::new(Config {
        size_increment: 0,
        ..cfg(Mode::Exchange)
    })
    .is_err());
}

// -- backtest mode ------------------------------------------------------------------------------

fn quote(ts: u64, bid: i64, bsz: i64, ask: i64, asz: i64) -> Quote {
    Quote {
        ts,
        bid_price: bid,
        ask_price: ask,
        bid_size: bsz,
        ask_size: asz,
    }
}

fn trade(price: i64, size: i64, aggressor: Aggressor) -> Trade {
    Trade {
        ts: 0,
        price,
        size,
        aggressor,
    }
}

fn delta(action: BookAction, side: Side, price: i64, size: i64) -> BookDelta {
    let side = match side {
        Buy => crate::book::Side::Buy,
        Sell => crate::book::Side::Sell,
    };
    match action {
        BookAction::Add => BookDelta::add(side, price, size, 0),
        BookAction::Update => BookDelta::update(side, price, size, 0),
        BookAction::Delete => BookDelta::delete(side, price, 0),
        BookAction::Clear => BookDelta::clear(Some(side)),
    }
}

#[test]
fn l1_market_order_takes_displayed_size_and_consumption_sticks() {
    let mut e = bt();
    e.on_quotes(&[quote(1, 99, 10, 100, 3)]).unwrap();
    e.command(&Command::market(1, 1, Buy, 5));
    assert_eq!(
        evs(&mut e)[1..],
        [
            (K::PartiallyFilled, 1, 100, 3, 2, Reason::None),
            (K::Canceled, 1, 0, 2, 0, Reason::NoLiquidity),
        ]
    );
    // the 3 at 100 are consumed until the quote changes that side
    e.command(&Command::market(2, 2, Buy, 1));
    assert_eq!(kinds(&mut e)[1], (K::Canceled, 2, Reason::NoLiquidity));
    e.on_quotes(&[quote(3, 98, 10, 100, 3)]).unwrap(); // ask unchanged: still consumed
    e.command(&Command::market(3, 3, Buy, 1));
    assert_eq!(kinds(&mut e)[1], (K::Canceled, 3, Reason::NoLiquidity));
    e.on_quotes(&[quote(4, 98, 10, 100, 4)]).unwrap();
    e.command(&Command::market(4, 4, Buy, 1));
    assert_eq!(fills(&mut e), vec![(4, 100, 1, Liquidity::Taker)]);
    // a marketable limit rests its remainder
    e.command(&lim(5, Buy, 100, 5));
    assert_eq!(fills(&mut e), vec![(5, 100, 3, Liquidity::Taker)]);
    assert_eq!(e.order(5).unwrap().leaves, 2);
}

#[test]
fn l1_resting_limit_fills_when_quote_crosses() {
    let mut e = bt();
    e.on_quotes(&[quote(1, 99, 10, 101, 10)]).unwrap();
    e.command(&lim(1, Buy, 100, 5)); // inside the spread: first in queue
    assert_eq!(e.order(1).unwrap().queue_ahead, 0);
    e.on_quotes(&[quote(2, 99, 10, 100, 2)]).unwrap();
    assert_eq!(fills(&mut e), vec![(1, 100, 2, Liquidity::Maker)]);
    e.on_quotes(&[quote(3, 98, 10, 99, 7)]).unwrap();
    assert_eq!(
        fills(&mut e),
        vec![(1, 100, 3, Liquidity::Maker)],
        "at our price, not 99"
    );
}

#[test]
fn l1_queue_position_at_best_bid() {
    let mut e = bt();
    e.on_quotes(&[quote(1, 100, 8, 101, 5)]).unwrap();
    e.command(&lim(1, Buy, 100, 3)); // joins behind the 8 at the bid
    assert_eq!(e.order(1).unwrap().queue_ahead, 8);
    e.take_events();
    e.on_trades(&[trade(100, 5, Aggressor::Seller)]).unwrap();
    assert_eq!(fills(&mut e), vec![]);
    assert_eq!(e.order(1).unwrap().queue_ahead, 3);
    // buyer-initiated prints at our bid price do not touch the bid queue
    e.on_trades(&[trade(100, 50, Aggressor::Buyer)]).unwrap();
    assert_eq!(e.order(1).unwrap().queue_ahead, 3);
    e.on_trades(&[trade(100, 4, Aggressor::Seller)]).unwrap();
    assert_eq!(fills(&mut e), vec![(1, 100, 1, Liquidity::Maker)]);
    // a print through our price fills regardless of the queue
    e.on_trades(&[trade(99, 10, Aggressor::Seller)]).unwrap();
    assert_eq!(fills(&mut e), vec![(1, 100, 2, Liquidity::Maker)]);
}

#[test]
fn l1_deeper_level_queue_learned_when_it_becomes_best() {
    let mut e = bt();
    e.on_quotes(&[quote(1, 100, 8, 101, 5)]).unwrap();
    e.command(&lim(1, Buy, 99, 3));
    assert_eq!(e.order(1).unwrap().queue_ahead, -1, "unknown");
    e.on_quotes(&[quote(2, 99, 6, 100, 5)]).unwrap();
    assert_eq!(e.order(1).unwrap().queue_ahead, 6);
    // bid moves away below us: the level emptied, nothing is ahead any more
    e.on_quotes(&[quote(3, 98, 6, 100, 5)]).unwrap();
    assert_eq!(e.order(1).unwrap().queue_ahead, 0);
}

#[test]
fn l2_book_walk_and_consumption() {
    let mut e = bt();
    e.on_deltas(&[
        delta(BookAction::Add, Sell, 100, 2),
        delta(BookAction::Add, Sell, 101, 3),
        delta(BookAction::Add, Sell, 102, 5),
        delta(BookAction::Add, Buy, 99, 5),
    ])
    .unwrap();
    e.command(&lim(1, Buy, 101, 6).with_tif(TimeInForce::Ioc));
    assert_eq!(
        fills(&mut e),
        vec![(1, 100, 2, Liquidity::Taker), (1, 101, 3, Liquidity::Taker)]
    );
    assert_eq!(
        e.market_depth(Sell, 5),
        vec![(100, 2, 0), (101, 3, 0), (102, 5, 5)]
    );
    // updating a level restores its liquidity
    e.on_deltas(&[delta(BookAction::Update, Sell, 101, 4)])
        .unwrap();
    e.command(&Command::market(0, 2, Buy, 5));
    assert_eq!(
        fills(&mut e),
        vec![(2, 101, 4, Liquidity::Taker), (2, 102, 1, Liquidity::Taker)]
    );
    // FOK sees only what is left
    e.command(&Command::market(0, 3, Buy, 5).with_tif(TimeInForce::Fok));
    assert_eq!(kinds(&mut e)[1], (K::Canceled, 3, Reason::FokNotFillable));
    // post-only vs the market
    e.command(&lim(4, Buy, 100, 1).with_flags(FLAG_POST_ONLY));
    assert_eq!(
        kinds(&mut e),
        vec![(K::Rejected, 4, Reason::PostOnlyWouldTake)]
    );
}

#[test]
fn l2_queue_trades_consume_queue_ahead_first() {
    let mut e = bt();
    e.on_deltas(&[
        delta(BookAction::Add, Buy, 100, 10),
        delta(BookAction::Add, Sell, 101, 10),
    ])
    .unwrap();
    e.command(&lim(1, Buy, 100, 4));
    assert_eq!(e.order(1).unwrap().queue_ahead, 10);
    e.take_events();
    e.on_trades(&[trade(100, 7, Aggressor::Seller)]).unwrap();
    e.on_deltas(&[delta(BookAction::Update, Buy, 100, 3)])
        .unwrap(); // explained by the trade
    assert_eq!(e.order(1).unwrap().queue_ahead, 3);
    assert_eq!(fills(&mut e), vec![]);
    e.on_trades(&[trade(100, 5, Aggressor::Seller)]).unwrap();
    assert_eq!(fills(&mut e), vec![(1, 100, 2, Liquidity::Maker)]);
    assert_eq!(e.order(1).unwrap().queue_ahead, 0);
}

#[test]
fn l2_queue_cancels_proportional_vs_conservative() {
    for (model, expect) in [(QueueModel::Proportional, 6), (QueueModel::Conservative, 8)] {
        let mut e = MatchingEngine::new(Config {
            queue_model: model,
            ..cfg(Mode::Backtest)
        })
        .unwrap();
        e.on_deltas(&[delta(BookAction::Add, Buy, 100, 10)])
            .unwrap();
        e.command(&lim(1, Buy, 100, 1)); // 10 ahead
        e.on_deltas(&[delta(BookAction::Add, Buy, 100, 20)])
            .unwrap(); // 10 join behind
                       // 5 canceled somewhere in the 20: proportional takes 5 * 10/20 = 2.5 -> 2 from ahead
        e.on_deltas(&[delta(BookAction::Update, Buy, 100, 15)])
            .unwrap();
        // conservative: still 10 ahead; proportional: 8
        e.on_deltas(&[delta(BookAction::Update, Buy, 100, 8)])
            .unwrap();
        // proportional: 8 - 7*8/15 = 8 - 3 = 5, then capped <= 8 -> 5 ... conservative: min(10, 8)
        let qa = e.order(1).unwrap().queue_ahead;
        let want = if model == QueueModel::Proportional {
            5
        } else {
            expect
        };
        assert_eq!(qa, want, "{model:?}");
        // a level delete: nothing ahead
        e.on_deltas(&[delta(BookAction::Delete, Buy, 100, 0)])
            .unwrap();
        assert_eq!(e.order(1).unwrap().queue_ahead, 0);
    }
}

#[test]
fn l2_resting_order_fills_when_asks_cross_it() {
    let mut e = bt();
    e.on_deltas(&[delta(BookAction::Add, Sell, 102, 5)])
        .unwrap();
    e.command(&lim(1, Buy, 101, 6));
    e.take_events();
    e.on_deltas(&[
        delta(BookAction::Add, Sell, 101, 2),
        delta(BookAction::Add, Sell, 100, 3).with_flags(F_LAST),
    ])
    .unwrap();
    assert_eq!(
        fills(&mut e),
        vec![(1, 101, 3, Liquidity::Maker), (1, 101, 2, Liquidity::Maker)]
    );
}

#[test]
fn backtest_stops_trigger_on_quotes_and_trades() {
    let mut e = bt();
    e.on_quotes(&[quote(1, 99, 10, 100, 10)]).unwrap();
    e.command(&stop(1, Buy, OrderType::StopMarket, 101, 0, 2));
    e.command(&stop(2, Sell, OrderType::StopLimit, 98, 97, 2));
    e.take_events();
    e.on_quotes(&[quote(2, 100, 10, 101, 1)]).unwrap(); // ask reaches 101
    let ev = evs(&mut e);
    assert_eq!(ev[0].0, K::Triggered);
    assert_eq!(ev[1], (K::PartiallyFilled, 1, 101, 1, 1, Reason::None));
    assert_eq!(ev[2], (K::Canceled, 1, 0, 1, 0, Reason::NoLiquidity));
    e.on_trades(&[trade(98, 1, Aggressor::Seller)]).unwrap();
    let ev = evs(&mut e);
    assert_eq!(ev[0], (K::Triggered, 2, 97, 2, 2, Reason::None));
    // the sell limit at 97 vs bid 100: takes the bid's 10 (only 2 needed)
    assert_eq!(ev[1], (K::Filled, 2, 100, 2, 0, Reason::None));
}

#[test]
fn bars_path_and_fills() {
    let bar = |o, h, l, c| Bar {
        ts: 0,
        open: o,
        high: h,
        low: l,
        close: c,
        volume: 400,
    };
    // high nearer the open: O H L C. A buy limit at the low fills at its price.
    let mut e = bt();
    e.command(&lim(1, Buy, 95, 10));
    e.command(&lim(2, Sell, 104, 10));
    e.take_events();
    e.on_bars(&[bar(100, 104, 95, 98)]).unwrap();
    let f: Vec<_> = fills(&mut e).into_iter().map(|f| (f.0, f.1)).collect();
    assert_eq!(f, vec![(2, 104), (1, 95)], "high first");
    // low nearer the open: O L H C
    e.command(&lim(3, Buy, 90, 10));
    e.command(&lim(4, Sell, 110, 10));
    e.take_events();
    e.on_bars(&[bar(99, 110, 90, 100)]).unwrap();
    let f: Vec<_> = fills(&mut e).into_iter().map(|f| (f.0, f.1)).collect();
    assert_eq!(f, vec![(3, 90), (4, 110)], "low first");
    // a stop triggered inside a leg fills at its trigger price
    e.command(&stop(5, Buy, OrderType::StopMarket, 103, 0, 5));
    e.take_events();
    e.on_bars(&[bar(100, 106, 99, 105)]).unwrap();
    assert_eq!(fills(&mut e), vec![(5, 103, 5, Liquidity::Taker)]);
    // a gap through the trigger fills at the open
    e.command(&stop(6, Buy, OrderType::StopMarket, 107, 0, 5));
    e.take_events();
    e.on_bars(&[bar(108, 109, 107, 108)]).unwrap();
    assert_eq!(fills(&mut e), vec![(6, 108, 5, Liquidity::Taker)]);
}

#[test]
fn bars_limit_liquidity_to_a_quarter_of_volume_per_point() {
    let mut e = bt();
    e.command(&lim(1, Buy, 95, 150));
    e.take_events();
    e.on_bars(&[Bar {
        ts: 0,
        open: 100,
        high: 101,
        low: 95,
        close: 96,
        volume: 400,
    }])
    .unwrap();
    assert_eq!(fills(&mut e), vec![(1, 95, 100, Liquidity::Maker)]);
}

#[test]
fn backtest_reduce_only_uses_own_fills() {
    let mut e = bt();
    e.on_quotes(&[quote(1, 99, 100, 100, 100)]).unwrap();
    e.command(&Command::market(1, 1, Buy, 5));
    assert_eq!(e.position(0), 5);
    e.command(&Command::market(1, 2, Sell, 8).with_flags(FLAG_REDUCE_ONLY));
    let ev = evs(&mut e);
    assert_eq!(
        ev[ev.len() - 2],
        (K::PartiallyFilled, 2, 99, 5, 3, Reason::None)
    );
    assert_eq!(ev[ev.len() - 1].5, Reason::ReduceOnlyPositionClosed);
    assert_eq!(e.position(0), 0);
}

#[test]
fn backtest_iceberg_at_price_refreshes_behind_queue() {
    let mut e = bt();
    e.on_deltas(&[delta(BookAction::Add, Buy, 100, 4)]).unwrap();
    e.command(&Command {
        display_qty: 2,
        ..lim(1, Buy, 100, 6)
    });
    e.take_events();
    e.on_trades(&[trade(100, 10, Aggressor::Seller)]).unwrap();
    // 4 ahead, then the visible 2 fill; the refreshed tranche queues behind the level (4)
    assert_eq!(fills(&mut e), vec![(1, 100, 2, Liquidity::Maker)]);
    let o = e.order(1).unwrap();
    assert_eq!((o.leaves, o.visible, o.queue_ahead), (4, 2, 4));
}

// -- property test against the reference model ---------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Submit {
        id: u64,
        trader: u32,
        side: Side,
        otype: OrderType,
        tif: TimeInForce,
        price: i64,
        trigger: i64,
        qty: i64,
        display: i64,
        post: bool,
        reduce: bool,
        expire_in: u64,
    },
    Modify {
        id: u64,
        trader: u32,
        price: Option<i64>,
        trigger: Option<i64>,
        qty: i64,
    },
    Cancel {
        id: u64,
        trader: u32,
    },
}

fn side_s() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Buy), Just(Sell)]
}

fn op_s() -> impl Strategy<Value = (u64, Op)> {
    let otype = prop_oneof![
        6 => Just(OrderType::Limit),
        2 => Just(OrderType::Market),
        1 => Just(OrderType::StopMarket),
        1 => Just(OrderType::StopLimit),
        1 => Just(OrderType::MarketIfTouched),
        1 => Just(OrderType::LimitIfTouched),
    ];
    let tif = prop_oneof![
        6 => Just(TimeInForce::Gtc),
        2 => Just(TimeInForce::Ioc),
        2 => Just(TimeInForce::Fok),
        1 => Just(TimeInForce::Gtd),
        1 => Just(TimeInForce::Day),
    ];
    let submit = (
        (0u64..24, 0u32..3, side_s(), otype, tif),
        (
            95i64..=105,
            95i64..=105,
            0i64..=8,
            prop_oneof![3 => Just(0i64), 1 => 1i64..=3],
        ),
        (
            prop::bool::weighted(0.15),
            prop::bool::weighted(0.15),
            0u64..12,
        ),
    )
        .prop_map(
            |(
                (id, trader, side, otype, tif),
                (price, trigger, qty, display),
                (post, reduce, e),
            )| {
                Op::Submit {
                    id,
                    trader,
                    side,
                    otype,
                    tif,
                    price,
                    trigger,
                    qty,
                    display,
                    post,
                    reduce,
                    expire_in: e,
                }
            },
        );
    let modify = (
        0u64..24,
        prop_oneof![9 => Just(0u32), 1 => 0u32..3],
        prop::option::of(95i64..=105),
        prop::option::weighted(0.2, 95i64..=105),
        prop_oneof![Just(0i64), 0i64..=10],
    )
        .prop_map(|(id, trader, price, trigger, qty)| Op::Modify {
            id,
            trader,
            price,
            trigger,
            qty,
        });
    let cancel = (0u64..24, prop_oneof![9 => Just(0u32), 1 => 0u32..3])
        .prop_map(|(id, trader)| Op::Cancel { id, trader });
    (
        prop_oneof![Just(0u64), Just(0), Just(1), Just(3)],
        prop_oneof![8 => submit, 2 => modify, 2 => cancel],
    )
}

/// Modify/cancel on the order's own trader (usually): look the trader up in the engine.
fn to_command(e: &MatchingEngine, ts: u64, op: &Op) -> Command {
    match *op {
        Op::Submit {
            id,
            trader,
            side,
            otype,
            tif,
            price,
            trigger,
            qty,
            display,
            post,
            reduce,
            expire_in,
        } => Command {
            kind: CommandKind::Submit,
            ts,
            client_order_id: id,
            trader_id: trader,
            side,
            order_type: otype,
            time_in_force: tif,
            flags: if post { FLAG_POST_ONLY } else { 0 }
                | if reduce { FLAG_REDUCE_ONLY } else { 0 },
            price,
            trigger_price: trigger,
            qty,
            display_qty: display,
            expire_ts: if tif == TimeInForce::Gtd {
                ts + expire_in
            } else {
                0
            },
        },
        Op::Modify {
            id,
            trader,
            price,
            trigger,
            qty,
        } => {
            let owner = e
                .order(id)
                .map_or(trader, |o| if trader == 0 { o.trader_id } else { trader });
            Command {
                kind: CommandKind::Modify,
                flags: if price.is_some() {
                    FLAG_MODIFY_PRICE
                } else {
                    0
                } | if trigger.is_some() {
                    FLAG_MODIFY_TRIGGER
                } else {
                    0
                },
                price: price.unwrap_or(0),
                trigger_price: trigger.unwrap_or(0),
                qty,
                ts,
                ..Command::limit(ts, id, Buy, 0, 0).with_trader(owner)
            }
        }
        Op::Cancel { id, trader } => {
            let owner = e
                .order(id)
                .map_or(trader, |o| if trader == 0 { o.trader_id } else { trader });
            Command::cancel(ts, id).with_trader(owner)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn exchange_matches_reference(
        ops in prop::collection::vec(op_s(), 1..160),
        stp in prop_oneof![
            Just(SelfTrade::CancelResting), Just(SelfTrade::CancelAggressor),
            Just(SelfTrade::CancelBoth), Just(SelfTrade::Allow)
        ],
        positions in prop::collection::vec(-6i64..=6, 3),
    ) {
        let config = Config {
            self_trade: stp,
            maker_fee_rate: -1,
            taker_fee_rate: 3,
            fee_rate_precision: 3,
            fee_precision: 2,
            day_end_offset_ns: 0,
            ..cfg(Mode::Exchange)
        };
        let mut engine = MatchingEngine::new(config).unwrap();
        let mut reference = Reference::new(config);
        for (t, p) in positions.iter().enumerate() {
            engine.set_position(t as u32, *p);
            reference.set_position(t as u32, *p);
        }
        // start just before a UTC midnight so DAY orders expire during the run
        let mut ts = NANOS_PER_DAY - 40;
        for (dt, op) in &ops {
            ts += dt;
            let c = to_command(&engine, ts, op);
            engine.command(&c);
            reference.command(&c);
            let got = engine.take_events();
            let want = std::mem::take(&mut reference.events);
            prop_assert_eq!(got, want, "after {:?}", c);
        }
        let book: Vec<_> = engine
            .open_orders()
            .iter()
            .map(|o| (o.client_order_id, o.price, o.qty, o.filled, o.visible))
            .collect();
        prop_assert_eq!(book, reference.open_orders());
        for t in 0..3 {
            prop_assert_eq!(engine.position(t), reference.position(t));
        }
        // level sums agree with the orders
        for side in [Buy, Sell] {
            for (price, visible, total, count) in engine.depth(side, usize::MAX) {
                let at: Vec<_> = engine.open_orders().into_iter()
                    .filter(|o| o.side == side && o.price == price && !o.pending_trigger)
                    .collect();
                prop_assert_eq!(count as usize, at.len());
                prop_assert_eq!(total, at.iter().map(|o| o.leaves).sum::<i64>());
                prop_assert_eq!(visible, at.iter().map(|o| o.visible).sum::<i64>());
            }
        }
    }
}

#[test]
fn structurally_invalid_market_data_changes_nothing() {
    let mut e = bt();
    let mut bad = delta(BookAction::Add, Sell, 101, 2);
    bad.action = 9;
    let err = e
        .on_deltas(&[delta(BookAction::Add, Sell, 100, 2), bad])
        .unwrap_err();
    assert_eq!(
        err.message,
        "deltas[1].action=9: unknown book action (1=ADD, 2=UPDATE, 3=DELETE, 4=CLEAR)"
    );
    assert!(
        e.market_best(Sell).is_none(),
        "first delta not applied either"
    );
    let mut bad = delta(BookAction::Add, Sell, 101, 2);
    bad.side = 0;
    assert!(e
        .on_deltas(&[bad])
        .unwrap_err()
        .message
        .starts_with("deltas[0].side=0"));
    let err = e
        .on_quotes(&[quote(1, 99, 1, 100, 1), quote(2, 99, -1, 100, 1)])
        .unwrap_err();
    assert_eq!(err.message, "quotes[1].bid_size=-1: must be >= 0");
    assert_eq!(e.clock(), 0);
    assert!(e.on_trades(&[trade(100, 0, Aggressor::Buyer)]).is_err());
    let bar = Bar {
        ts: 0,
        open: 100,
        high: 99,
        low: 98,
        close: 99,
        volume: 1,
    };
    assert!(e
        .on_bars(&[bar])
        .unwrap_err()
        .message
        .starts_with("bars[0].high=99"));
    // CLEAR of one side / both sides
    e.on_deltas(&[
        delta(BookAction::Add, Sell, 100, 2),
        delta(BookAction::Add, Buy, 99, 2),
    ])
    .unwrap();
    e.on_deltas(&[BookDelta::clear(Some(crate::book::Side::Sell))])
        .unwrap();
    assert_eq!((e.market_best(Buy), e.market_best(Sell)), (Some(99), None));
    e.on_deltas(&[BookDelta::clear(None)]).unwrap();
    assert_eq!(e.market_best(Buy), None);
}

// -- robustness: arbitrary (extreme) inputs never panic and keep the books consistent ------------

#[derive(Clone, Debug)]
enum Input {
    Cmd(Command),
    Quote(Quote),
    Trade(Trade),
    Bar(Bar),
    Delta(BookDelta),
    Advance(u64),
}

fn wild() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => 95i64..=105,
        1 => Just(i64::MIN),
        1 => Just(i64::MAX),
        1 => Just(0i64),
        1 => -3i64..=3,
        1 => any::<i64>(),
    ]
}

fn wild_ts() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 0u64..2_000, 1 => Just(u64::MAX), 1 => any::<u64>()]
}

fn input_s() -> impl Strategy<Value = Input> {
    let cmd = (
        (
            prop::sample::select(CommandKind::ALL.to_vec()),
            prop::sample::select(OrderType::ALL.to_vec()),
            prop::sample::select(TimeInForce::ALL.to_vec()),
            side_s(),
            0u32..16,
            0u64..12,
            0u32..3,
        ),
        (
            wild(),
            wild(),
            wild(),
            prop_oneof![3 => Just(0i64), 1 => wild()],
            wild_ts(),
            wild_ts(),
        ),
    )
        .prop_map(
            |((kind, otype, tif, side, flags, id, trader), (p, t, q, d, exp, ts))| {
                Input::Cmd(Command {
                    kind,
                    ts,
                    client_order_id: id,
                    trader_id: trader,
                    side,
                    order_type: otype,
                    time_in_force: tif,
                    flags,
                    price: p,
                    trigger_price: t,
                    qty: q.rem_euclid(12),
                    display_qty: d,
                    expire_ts: exp,
                })
            },
        );
    let quote = (wild(), wild(), wild(), wild(), wild_ts()).prop_map(|(b, bs, a, as_, ts)| {
        Input::Quote(Quote {
            ts,
            bid_price: b,
            ask_price: a,
            bid_size: bs,
            ask_size: as_,
        })
    });
    let trade = (wild(), wild(), 0u8..3, wild_ts()).prop_map(|(p, s, a, ts)| {
        Input::Trade(Trade {
            ts,
            price: p,
            size: s,
            aggressor: Aggressor::from_u8(a).unwrap(),
        })
    });
    let bar =
        (wild(), wild(), wild(), wild(), wild(), wild_ts()).prop_map(|(o, h, l, c, v, ts)| {
            Input::Bar(Bar {
                ts,
                open: o,
                high: h,
                low: l,
                close: c,
                volume: v,
            })
        });
    let delta = (0u8..6, 0u8..4, wild(), wild(), prop::bool::ANY).prop_map(
        |(action, side, price, size, last)| {
            let mut d = BookDelta::add(crate::book::Side::Buy, price, size, 0);
            d.action = action;
            d.side = side;
            d.flags = if last { F_LAST } else { 0 };
            Input::Delta(d)
        },
    );
    prop_oneof![6 => cmd, 1 => quote, 1 => trade, 1 => bar, 2 => delta, 1 => wild_ts().prop_map(Input::Advance)]
}

fn check_consistent(e: &MatchingEngine) -> Result<(), TestCaseError> {
    let open = e.open_orders();
    prop_assert_eq!(open.len(), e.order_count());
    for o in &open {
        prop_assert!(
            o.leaves > 0 && o.filled >= 0 && o.filled + o.leaves == o.qty,
            "{:?}",
            o
        );
        prop_assert!(o.visible <= o.leaves, "{:?}", o);
        prop_assert_eq!(e.order(o.client_order_id), Some(*o));
    }
    for side in [Buy, Sell] {
        for (price, visible, total, count) in e.depth(side, usize::MAX) {
            let at: Vec<_> = open
                .iter()
                .filter(|o| o.side == side && o.price == price && !o.pending_trigger)
                .collect();
            prop_assert_eq!(count as usize, at.len());
            prop_assert!(count > 0);
            let sum: i128 = at.iter().map(|o| i128::from(o.leaves)).sum();
            prop_assert_eq!(i128::from(total), sum.min(i128::from(i64::MAX)));
            let vis: i128 = at.iter().map(|o| i128::from(o.visible)).sum();
            prop_assert_eq!(i128::from(visible), vis.min(i128::from(i64::MAX)));
        }
    }
    if e.config().mode == Mode::Exchange {
        // an exchange book is never crossed
        if let (Some(b), Some(a)) = (e.best(Buy), e.best(Sell)) {
            prop_assert!(b.0 < a.0, "crossed book {:?} {:?}", b, a);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_inputs_keep_engine_consistent(
        inputs in prop::collection::vec(input_s(), 1..120),
        mode in prop_oneof![Just(Mode::Exchange), Just(Mode::Backtest)],
        tick in prop_oneof![Just(1i64), Just(5)],
        stp in prop::sample::select(SelfTrade::ALL.to_vec()),
        queue in prop::sample::select(QueueModel::ALL.to_vec()),
        rate in wild(),
    ) {
        let mut e = MatchingEngine::new(Config {
            price_increment: tick,
            self_trade: stp,
            queue_model: queue,
            maker_fee_rate: rate,
            taker_fee_rate: rate.wrapping_neg(),
            fee_rate_precision: 4,
            fee_precision: 2,
            price_precision: 2,
            ..cfg(mode)
        })
        .unwrap();
        e.set_position(1, 5);
        e.set_position(2, -5);
        for input in &inputs {
            let before = e.pending_events();
            let ok = match input {
                Input::Cmd(c) => {
                    e.command(c);
                    true
                }
                Input::Quote(q) => e.on_quotes(std::slice::from_ref(q)).is_ok(),
                Input::Trade(t) => e.on_trades(std::slice::from_ref(t)).is_ok(),
                Input::Bar(b) => e.on_bars(std::slice::from_ref(b)).is_ok(),
                Input::Delta(d) => e.on_deltas(std::slice::from_ref(d)).is_ok(),
                Input::Advance(ts) => {
                    e.advance_time(*ts);
                    true
                }
            };
            if !ok {
                prop_assert_eq!(e.pending_events(), before, "a refused batch emits nothing");
            }
            check_consistent(&e)?;
        }
        // every event is well formed
        for ev in e.take_events() {
            prop_assert!(ev.leaves >= 0 && ev.qty >= 0, "{:?}", ev);
            if matches!(ev.kind, K::Filled | K::PartiallyFilled) {
                prop_assert!(ev.qty > 0 && ev.liquidity != Liquidity::None, "{:?}", ev);
                prop_assert_eq!(ev.kind == K::Filled, ev.leaves == 0);
            }
        }
    }
}
