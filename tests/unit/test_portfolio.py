"""Positions (exact PnL), accounts (balances, locks, margins) and the Portfolio."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from alphaforge.cache import Cache
from alphaforge.clock import TestClock
from alphaforge.errors import InvalidValue
from alphaforge.model import (
    BTC,
    ETH,
    EUR,
    USD,
    USDT,
    AccountId,
    AggregationSource,
    Bar,
    BarAggregation,
    BarSpecification,
    BarType,
    ClientOrderId,
    Currency,
    CurrencyPair,
    FuturesContract,
    InstrumentId,
    LiquiditySide,
    Money,
    Order,
    OrderAccepted,
    OrderFilled,
    OrderSide,
    OrderSubmitted,
    OrderType,
    PerpetualContract,
    PositionId,
    Price,
    PriceType,
    Quantity,
    QuoteTick,
    StrategyId,
    Symbol,
    TradeId,
    TradeTick,
    VenueOrderId,
)
from alphaforge.model.enums import AggressorSide
from alphaforge.msgbus import MessageBus
from alphaforge.portfolio import (
    AccountBalance,
    AccountState,
    AccountType,
    CashAccount,
    MarginAccount,
    Portfolio,
    Position,
    PositionSide,
)

SID = StrategyId("S-001")
ACCOUNT = AccountId("SIM-001")
IID = InstrumentId.from_str("BTCUSDT.SIM")
SPOT = CurrencyPair(
    id=IID,
    raw_symbol=Symbol("BTCUSDT"),
    quote_currency=USDT,
    base_currency=BTC,
    price_precision=2,
    size_precision=3,
)
PERP = PerpetualContract(
    id=InstrumentId.from_str("BTCPERP.SIM"),
    raw_symbol=Symbol("BTCPERP"),
    quote_currency=USDT,
    base_currency=BTC,
    price_precision=1,
    size_precision=3,
    margin_init=Decimal("0.1"),
    margin_maint=Decimal("0.05"),
)
FUT_USD = FuturesContract(
    id=InstrumentId.from_str("ES.SIM"),
    raw_symbol=Symbol("ES"),
    quote_currency=USD,
    price_precision=2,
    size_precision=0,
    multiplier=Decimal("50"),
    underlying="SPX",
    expiry_ns=10**18,
)
_trade = itertools.count(1)


def fill(
    instrument_id: InstrumentId,
    side: OrderSide,
    qty: str,
    px: str,
    commission: Money | None = None,
    coid: str = "O-1",
    ts: int = 0,
) -> OrderFilled:
    n = next(_trade)
    return OrderFilled(
        client_order_id=ClientOrderId(coid),
        strategy_id=SID,
        instrument_id=instrument_id,
        ts_event=ts,
        ts_init=ts,
        event_id=f"f{n}",
        venue_order_id=VenueOrderId("V"),
        account_id=ACCOUNT,
        trade_id=TradeId(f"T{n}"),
        order_side=side,
        order_type=OrderType.MARKET,
        last_qty=Quantity(qty),
        last_px=Price(px),
        commission=commission if commission is not None else Money("0", USDT),
        liquidity_side=LiquiditySide.TAKER,
    )


def position(instrument: object, first: OrderFilled) -> Position:
    return Position(instrument=instrument, position_id=PositionId("P-1"), fill=first)  # type: ignore[arg-type]


# -- Position --------------------------------------------------------------------------------------


def test_long_position_lifecycle_is_exact() -> None:
    p = position(SPOT, fill(IID, OrderSide.BUY, "1.000", "100.00", ts=10))
    assert p.side is PositionSide.LONG
    assert p.is_open and p.is_long and not p.is_short
    assert p.signed_qty == Decimal("1")
    assert p.avg_px_open == Decimal("100")
    assert p.entry is OrderSide.BUY
    assert p.apply(fill(IID, OrderSide.BUY, "1.000", "110.00", ts=20)) == Money("0", USDT)
    assert p.avg_px_open == Decimal("105")
    assert p.unrealized_pnl(Price("120.00")) == Money("30", USDT)
    assert p.notional_value(Price("120.00")) == Money("240", USDT)
    realized = p.apply(fill(IID, OrderSide.SELL, "0.500", "120.00", ts=30))
    assert realized == Money("7.50", USDT)
    assert p.quantity == Quantity("1.500")
    assert p.peak_qty == Quantity("2.000")
    assert p.avg_px_close == Decimal("120")
    assert p.apply(fill(IID, OrderSide.SELL, "1.500", "100.00", ts=40)) == Money("-7.50", USDT)
    assert p.is_closed
    assert p.side is PositionSide.FLAT
    assert p.realized_pnl == Money("0", USDT)
    assert p.ts_opened == 10 and p.ts_closed == 40 and p.duration_ns == 30
    assert p.event_count == 4
    assert p.unrealized_pnl(Price("1.00")) == Money("0", USDT)


def test_short_position_pnl() -> None:
    p = position(SPOT, fill(IID, OrderSide.SELL, "2.000", "100.00"))
    assert p.side is PositionSide.SHORT
    assert p.unrealized_pnl(Price("90.00")) == Money("20", USDT)
    assert p.apply(fill(IID, OrderSide.BUY, "1.000", "90.00")) == Money("10", USDT)
    assert p.total_pnl(Price("95.00")) == Money("15", USDT)


def test_commissions_reduce_realized_pnl_in_the_pnl_currency_only() -> None:
    p = position(SPOT, fill(IID, OrderSide.BUY, "1.000", "100.00", Money("0.10", USDT)))
    p.apply(fill(IID, OrderSide.SELL, "1.000", "101.00", Money("0.001", BTC)))
    assert p.realized_pnl_gross == Money("1", USDT)
    assert p.realized_pnl == Money("0.90", USDT)
    assert p.commissions() == [Money("0.10", USDT), Money("0.001", BTC)]


def test_partial_close_basis_rounding_residue_is_kept() -> None:
    p = position(SPOT, fill(IID, OrderSide.BUY, "3.000", "0.01"))  # basis 0.03 at scale 5
    p.apply(fill(IID, OrderSide.BUY, "0.001", "0.02"))
    for _ in range(3):
        p.apply(fill(IID, OrderSide.SELL, "1.000", "0.01"))
    p.apply(fill(IID, OrderSide.SELL, "0.001", "0.01"))
    # total cash flow: -0.03 - 0.00002 + 0.03 + 0.00001 = -0.00001 exactly
    assert p.is_closed
    assert p.realized_pnl == Money("-0.00001", USDT)


def test_position_rejects_bad_fills_without_changing() -> None:
    p = position(SPOT, fill(IID, OrderSide.BUY, "1.000", "100.00"))
    with pytest.raises(InvalidValue, match="would flip"):
        p.apply(fill(IID, OrderSide.SELL, "2.000", "100.00"))
    with pytest.raises(InvalidValue, match="last_px"):
        p.apply(fill(IID, OrderSide.BUY, "1.000", "100.001"))
    with pytest.raises(InvalidValue, match="last_qty"):
        p.apply(fill(IID, OrderSide.BUY, "1.0001", "100.00"))
    with pytest.raises(InvalidValue, match="instrument_id"):
        p.apply(fill(PERP.id, OrderSide.BUY, "1.000", "100.0"))
    assert p.quantity == Quantity("1.000")
    assert p.event_count == 1
    p.apply(fill(IID, OrderSide.SELL, "1.000", "100.00"))
    with pytest.raises(InvalidValue, match="closed"):
        p.apply(fill(IID, OrderSide.BUY, "1.000", "100.00"))
    with pytest.raises(InvalidValue, match="mark"):
        p.unrealized_pnl(Decimal("1"))  # type: ignore[arg-type]


def test_multiplier_and_coarser_price_precision() -> None:
    p = position(FUT_USD, fill(FUT_USD.id, OrderSide.BUY, "2", "4000.25"))
    assert p.unrealized_pnl(Price("4001.00")) == Money("75", USD)
    assert p.unrealized_pnl(Price("4001")) == Money("75", USD)
    assert p.cost_basis == Money("400025", USD)
    assert p.currency == USD


def test_inverse_position() -> None:
    inverse = PerpetualContract(
        id=InstrumentId.from_str("XBTUSD.SIM"),
        raw_symbol=Symbol("XBTUSD"),
        quote_currency=USD,
        base_currency=BTC,
        is_inverse=True,
        price_precision=1,
        size_precision=0,
    )
    p = position(inverse, fill(inverse.id, OrderSide.BUY, "1000", "50000.0"))
    assert p.is_inverse
    assert p.currency == BTC
    assert p.avg_px_open == Decimal("50000")
    # 1000 * (1/50000 - 1/40000) = -0.005 BTC
    assert p.unrealized_pnl(Price("40000.0")) == Money("-0.005", BTC)
    assert p.apply(fill(inverse.id, OrderSide.SELL, "1000", "40000.0")) == Money("-0.005", BTC)


# -- accounts --------------------------------------------------------------------------------------


def test_cash_account_balances() -> None:
    acc = CashAccount(ACCOUNT, [Money("100", USDT)])
    assert acc.account_type is AccountType.CASH
    assert acc.balance(USDT) == AccountBalance(
        Money("100", USDT), Money("0", USDT), Money("100", USDT)
    )
    acc.set_locked(IID, {USDT: Money("30", USDT).raw, BTC: 0})
    assert acc.balance_free(USDT) == Money("70", USDT)
    assert acc.locked_for(IID) == {USDT: Money("30", USDT)}
    acc.set_locked(IID, {})
    assert acc.balance_locked(USDT) == Money("0", USDT)
    acc.charge_commission(Money("1", USDT))
    acc.deposit(Money("0.5", BTC))
    assert acc.commissions() == {USDT: Money("1", USDT)}
    assert [c.code for c in acc.currencies()] == ["USDT", "BTC"]
    assert acc.balance_total(ETH) == Money("0", ETH)
    assert "CashAccount(SIM-001" in repr(acc)


def test_account_rejects_bad_input_without_change() -> None:
    with pytest.raises(InvalidValue, match="account_id"):
        CashAccount("SIM-001")  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match=r"balances\[1\]"):
        CashAccount(ACCOUNT, [Money("1", USDT), Money("2", USDT)])
    acc = CashAccount(ACCOUNT, [Money("1", USDT)])
    with pytest.raises(InvalidValue, match="locked"):
        acc.set_locked(IID, {USDT: -1})
    with pytest.raises(InvalidValue, match="currency"):
        acc.deposit(Money("1", Currency("USDT", 2)))
    with pytest.raises(InvalidValue, match="amount"):
        acc.deposit(1)  # type: ignore[arg-type]
    assert acc.balance_total(USDT) == Money("1", USDT)
    with pytest.raises(InvalidValue, match="free"):
        AccountBalance(Money("1", USDT), Money("0", USDT), Money("2", USDT))


def test_margin_account_margins() -> None:
    acc = MarginAccount(ACCOUNT, [Money("1000", USDT)])
    acc.set_margins(PERP.id, Money("100", USDT), Money("50", USDT))
    assert acc.balance_free(USDT) == Money("850", USDT)
    margin = acc.margin(PERP.id)
    assert margin is not None and margin.initial == Money("100", USDT)
    acc.set_margins(PERP.id, Money("0", USDT), Money("0", USDT))
    assert acc.margins() == {}
    with pytest.raises(InvalidValue, match="initial"):
        acc.set_margins(PERP.id, Money("-1", USDT), Money("0", USDT))


def test_account_state_replaces_totals() -> None:
    acc = MarginAccount(ACCOUNT, [Money("1", USDT)])
    state = AccountState(
        account_id=ACCOUNT,
        account_type=AccountType.MARGIN,
        balances=(AccountBalance(Money("5", USDT), Money("1", USDT), Money("4", USDT)),),
    )
    acc.apply_state(state)
    assert acc.balance_total(USDT) == Money("5", USDT)
    with pytest.raises(InvalidValue, match="account_id"):
        CashAccount(AccountId("X-1")).apply_state(state)


# -- Portfolio ------------------------------------------------------------------------------------


class Env:
    def __init__(self) -> None:
        self.clock = TestClock()
        self.cache = Cache()
        self.bus = MessageBus()
        self.portfolio = Portfolio(self.cache, self.clock, self.bus)
        for instrument in (SPOT, PERP, FUT_USD):
            self.cache.add_instrument(instrument)
        self.positions: dict[InstrumentId, Position] = {}

    def book(self, instrument: object, f: OrderFilled) -> Money:
        """Book a fill like the execution engine does (netting, no flips)."""
        assert isinstance(instrument, (CurrencyPair, PerpetualContract, FuturesContract))
        order = Order(
            client_order_id=f.client_order_id,
            strategy_id=SID,
            instrument_id=f.instrument_id,
            side=f.order_side,
            quantity=f.last_qty,
            order_type=OrderType.MARKET,
        )
        current = self.positions.get(f.instrument_id)
        if current is None or current.is_closed:
            current = Position(
                instrument=instrument, position_id=PositionId(f"P-{f.instrument_id}"), fill=f
            )
            self.positions[f.instrument_id] = current
            realized = Money.from_raw(0, current.currency)
        else:
            realized = current.apply(f)
        self.portfolio.apply_fill(order, f, instrument, realized, [current])
        return realized


def test_add_account_and_lookup() -> None:
    env = Env()
    acc = CashAccount(ACCOUNT, [Money("100", USDT)])
    env.portfolio.add_account(acc)
    assert env.portfolio.account(ACCOUNT) is acc
    assert env.portfolio.account_for_venue(IID.venue) is acc
    assert env.cache.account(ACCOUNT) is acc
    assert env.portfolio.accounts() == [acc]
    with pytest.raises(InvalidValue, match="account_id"):
        env.portfolio.add_account(CashAccount(ACCOUNT))
    with pytest.raises(InvalidValue, match="account"):
        env.portfolio.add_account("x")  # type: ignore[arg-type]


def test_cash_spot_fill_moves_both_legs_and_fees() -> None:
    env = Env()
    acc = CashAccount(ACCOUNT, [Money("10000", USDT)])
    env.portfolio.add_account(acc)
    env.book(SPOT, fill(IID, OrderSide.BUY, "0.500", "1000.01", Money("0.5", USDT)))
    assert acc.balance_total(USDT) == Money("9499.495", USDT)
    assert acc.balance_total(BTC) == Money("0.5", BTC)
    env.book(SPOT, fill(IID, OrderSide.SELL, "0.200", "1100.00", Money("0.0001", BTC)))
    assert acc.balance_total(USDT) == Money("9719.495", USDT)
    assert acc.balance_total(BTC) == Money("0.2999", BTC)
    assert env.portfolio.realized_pnl(IID) == Money("19.498", USDT)  # 19.998 gross - 0.5 fee


def test_margin_fill_settles_realized_pnl_and_locks_maintenance_margin() -> None:
    env = Env()
    acc = MarginAccount(ACCOUNT, [Money("10000", USDT)])
    env.portfolio.add_account(acc)
    env.book(PERP, fill(PERP.id, OrderSide.BUY, "1.000", "1000.0", Money("1", USDT)))
    assert acc.balance_total(USDT) == Money("9999", USDT)
    margin = acc.margin(PERP.id)
    assert margin is not None and margin.maintenance == Money("50", USDT)
    env.book(PERP, fill(PERP.id, OrderSide.SELL, "1.000", "1100.0", Money("1", USDT)))
    assert acc.balance_total(USDT) == Money("10098", USDT)
    assert acc.balance_locked(USDT) == Money("0", USDT)
    assert env.portfolio.realized_pnl(PERP.id) == Money("98", USDT)


def test_open_orders_lock_cash_and_margin() -> None:
    env = Env()
    cash = CashAccount(ACCOUNT, [Money("10000", USDT), Money("1", BTC)])
    env.portfolio.add_account(cash)

    def working(iid: InstrumentId, side: OrderSide, qty: str, px: str, n: int) -> Order:
        order = Order(
            client_order_id=ClientOrderId(f"L-{n}"),
            strategy_id=SID,
            instrument_id=iid,
            side=side,
            quantity=Quantity(qty),
            order_type=OrderType.LIMIT,
            price=Price(px),
        )
        order.apply(
            OrderSubmitted(
                client_order_id=order.client_order_id,
                strategy_id=SID,
                instrument_id=iid,
                ts_event=0,
                ts_init=0,
                account_id=ACCOUNT,
            )
        )
        env.portfolio.update_order(order)
        return order

    buy = working(IID, OrderSide.BUY, "1.000", "100.00", 1)
    working(IID, OrderSide.SELL, "0.250", "200.00", 2)
    assert cash.balance_locked(USDT) == Money("100", USDT)
    assert cash.balance_locked(BTC) == Money("0.25", BTC)
    buy.apply(
        OrderAccepted(
            client_order_id=buy.client_order_id,
            strategy_id=SID,
            instrument_id=IID,
            ts_event=0,
            ts_init=0,
            venue_order_id=VenueOrderId("V"),
            account_id=ACCOUNT,
        )
    )
    from alphaforge.model import OrderCanceled

    buy.apply(
        OrderCanceled(
            client_order_id=buy.client_order_id, strategy_id=SID, instrument_id=IID, ts_event=0,
            ts_init=0,
        )
    )  # fmt: skip
    env.portfolio.update_order(buy)
    assert cash.balance_locked(USDT) == Money("0", USDT)


def test_mark_price_sources_in_order() -> None:
    env = Env()
    assert env.portfolio.mark_price(IID) is None
    env.portfolio.set_mark_price(IID, Price("1.00"))
    assert env.portfolio.mark_price(IID) == Price("1.00")
    bar_type = BarType(
        IID, BarSpecification(1, BarAggregation.MINUTE, PriceType.LAST), AggregationSource.INTERNAL
    )
    env.bus.publish(
        f"data.bars.{bar_type}",
        Bar(
            bar_type,
            Price("2.00"),
            Price("2.00"),
            Price("2.00"),
            Price("2.00"),
            Quantity("1"),
            0,
            0,
        ),
    )
    assert env.portfolio.mark_price(IID) == Price("2.00")
    env.cache.add_trade(
        TradeTick(IID, Price("3.00"), Quantity("1"), AggressorSide.BUYER, TradeId("t"), 0, 0)
    )
    assert env.portfolio.mark_price(IID) == Price("3.00")
    env.cache.add_quote(
        QuoteTick(IID, Price("4.00"), Price("4.01"), Quantity("1"), Quantity("1"), 0, 0)
    )
    assert env.portfolio.mark_price(IID) == Price("4.005")
    env.portfolio.set_mark_price(IID, None)
    with pytest.raises(InvalidValue, match="price"):
        env.portfolio.set_mark_price(IID, Decimal("1"))  # type: ignore[arg-type]


def test_pnl_exposure_and_equity_at_mark() -> None:
    env = Env()
    acc = MarginAccount(ACCOUNT, [Money("10000", USDT)], base_currency=USDT)
    env.portfolio.add_account(acc)
    env.book(PERP, fill(PERP.id, OrderSide.SELL, "2.000", "1000.0"))
    env.portfolio.set_mark_price(PERP.id, Price("900.0"))
    assert env.portfolio.unrealized_pnl(PERP.id) == Money("200", USDT)
    assert env.portfolio.net_exposure(PERP.id) == Money("-1800", USDT)
    assert env.portfolio.net_position(PERP.id) == Decimal("-2")
    assert env.portfolio.is_net_short(PERP.id)
    assert not env.portfolio.is_flat(PERP.id) and not env.portfolio.is_net_long(PERP.id)
    assert env.portfolio.equity() == Money("10200", USDT)
    assert env.portfolio.equity(account_id=ACCOUNT) == Money("10200", USDT)
    assert len(env.portfolio.open_positions(strategy_id=SID)) == 1
    with pytest.raises(InvalidValue, match="account_id"):
        env.portfolio.equity(USDT, account_id=AccountId("X-1"))


def test_unmarked_position_falls_back_to_the_last_fill() -> None:
    env = Env()
    env.book(PERP, fill(PERP.id, OrderSide.BUY, "1.000", "1000.0"))
    assert env.portfolio.unrealized_pnl(PERP.id) == Money("0", USDT)


def test_cash_equity_counts_spot_holdings_once() -> None:
    env = Env()
    acc = CashAccount(ACCOUNT, [Money("10000", USDT)])
    env.portfolio.add_account(acc)
    env.book(SPOT, fill(IID, OrderSide.BUY, "1.000", "1000.00"))
    env.cache.add_quote(
        QuoteTick(IID, Price("1100.00"), Price("1100.00"), Quantity("1"), Quantity("1"), 0, 0)
    )
    # 9000 USDT + 1 BTC at 1100 = 10100 (the BTC position's unrealized 100 is not added again)
    assert env.portfolio.equity(USDT) == Money("10100", USDT)


def test_rates_and_conversion() -> None:
    env = Env()
    pf = env.portfolio
    assert pf.rate(USD, USD) == Decimal(1)
    assert pf.rate(EUR, USD) is None
    pf.set_rate(EUR, USD, Decimal("1.25"))
    assert pf.rate(EUR, USD) == Decimal("1.25")
    assert pf.rate(USD, EUR) == Decimal("0.8")
    assert pf.convert(Money("10", EUR), USD) == Money("12.50", USD)
    assert pf.convert(Money("0.01", USD), EUR) == Money("0.01", EUR)  # 0.008 -> half-even 0.01
    env.cache.add_quote(
        QuoteTick(IID, Price("50000.00"), Price("50000.00"), Quantity("1"), Quantity("1"), 0, 0)
    )
    assert pf.rate(BTC, USDT) == Decimal("50000.000")
    assert pf.convert(Money("100", USDT), BTC) == Money("0.002", BTC)
    with pytest.raises(InvalidValue, match="to_currency"):
        pf.convert(Money("1", ETH), USD)
    with pytest.raises(InvalidValue, match="rate"):
        pf.set_rate(EUR, USD, 1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="rate"):
        pf.set_rate(EUR, USD, "-1")
    with pytest.raises(InvalidValue, match="rate"):
        pf.set_rate(EUR, USD, "abc")
    with pytest.raises(InvalidValue, match="to_currency"):
        pf.set_rate(EUR, EUR, "1")
    pf.set_rate(EUR, USD, "1.5")
    assert pf.rate(EUR, USD) == Decimal("1.5")


def test_aggregates_across_currencies_need_a_currency() -> None:
    env = Env()
    env.book(PERP, fill(PERP.id, OrderSide.BUY, "1.000", "1000.0"))
    env.book(FUT_USD, fill(FUT_USD.id, OrderSide.BUY, "1", "4000.00"))
    with pytest.raises(InvalidValue, match="several currencies"):
        env.portfolio.unrealized_pnl()
    env.portfolio.set_rate(USDT, USD, "1")
    env.portfolio.set_mark_price(FUT_USD.id, Price("4001.00"))
    assert env.portfolio.unrealized_pnl(currency=USD) == Money("50", USD)
    with pytest.raises(InvalidValue, match="nothing to infer"):
        Env().portfolio.realized_pnl()
    assert Env().portfolio.realized_pnl(currency=USD) == Money("0", USD)


def test_apply_account_state_creates_and_publishes() -> None:
    env = Env()
    got: list[object] = []
    env.bus.subscribe("events.account.*", got.append)
    state = AccountState(
        account_id=ACCOUNT,
        account_type=AccountType.CASH,
        balances=(AccountBalance(Money("5", USDT), Money("0", USDT), Money("5", USDT)),),
    )
    env.portfolio.apply_account_state(state)
    env.portfolio.apply_account_state(state)
    assert isinstance(env.portfolio.account(ACCOUNT), CashAccount)
    assert got == [state, state]
    with pytest.raises(InvalidValue, match="state"):
        env.portfolio.apply_account_state("x")  # type: ignore[arg-type]


def test_fill_without_account_still_tracks_positions() -> None:
    env = Env()
    env.book(PERP, fill(PERP.id, OrderSide.BUY, "1.000", "1000.0"))
    assert env.portfolio.unaccounted_fill_count == 1
    assert env.portfolio.net_position(PERP.id) == Decimal("1")
