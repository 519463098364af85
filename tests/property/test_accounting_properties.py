"""Accounting invariants under random fill sequences (hypothesis), through the real engines.

- cash + position value reconciles with the fills and fees at every step (exactly when the
  instrument's price x size scale fits the currency precision; within the documented rounding
  otherwise);
- positions net to the sum of the fills (netting and hedging);
- no order ever reaches an illegal state, whatever events arrive.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from alphaforge.cache import Cache
from alphaforge.clock import TestClock
from alphaforge.execution import (
    CancelOrder,
    ExecEngineConfig,
    ExecutionEngine,
    ModifyOrder,
    OmsType,
    SubmitOrder,
)
from alphaforge.model import (
    BTC,
    CLOSED_STATUSES,
    ORDER_TRANSITIONS,
    USD,
    USDT,
    AccountId,
    ClientOrderId,
    Currency,
    CurrencyPair,
    InstrumentId,
    LiquiditySide,
    Money,
    Order,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSide,
    OrderStatus,
    OrderTriggered,
    OrderType,
    OrderUpdated,
    PerpetualContract,
    Price,
    Quantity,
    StrategyId,
    Symbol,
    TradeId,
    TraderId,
    Venue,
    VenueOrderId,
)
from alphaforge.msgbus import MessageBus
from alphaforge.portfolio import CashAccount, MarginAccount, Portfolio, Position

SID = StrategyId("S-001")
ACCOUNT = AccountId("SIM-001")
TRADER = TraderId("TESTER-001")


def perp(currency: Currency, pp: int = 2, sp: int = 3) -> PerpetualContract:
    return PerpetualContract(
        id=InstrumentId.from_str("PERP.SIM"),
        raw_symbol=Symbol("PERP"),
        quote_currency=currency,
        base_currency=BTC,
        price_precision=pp,
        size_precision=sp,
    )


SPOT = CurrencyPair(
    id=InstrumentId.from_str("BTCUSDT.SIM"),
    raw_symbol=Symbol("BTCUSDT"),
    quote_currency=USDT,
    base_currency=BTC,
    price_precision=2,
    size_precision=3,
)


class FillClient:
    """Fills each market order in one or two parts at the price set for the next order."""

    def __init__(self, engine: ExecutionEngine, currency: Currency) -> None:
        self.engine = engine
        self.currency = currency
        self.plan: list[tuple[int, int]] = []  # (qty_raw, px_raw) parts for the next order
        self.fee_raw = 0
        self.trades = itertools.count(1)

    venue = Venue("SIM")
    account_id = ACCOUNT

    def submit_order(self, command: SubmitOrder) -> None:
        o = command.order
        self.engine.process(
            OrderAccepted(
                client_order_id=o.client_order_id,
                strategy_id=o.strategy_id,
                instrument_id=o.instrument_id,
                ts_event=0,
                ts_init=0,
                event_id=f"A-{o.client_order_id}",
                venue_order_id=VenueOrderId(f"V-{o.client_order_id}"),
                account_id=ACCOUNT,
            )
        )
        for qty_raw, px_raw in self.plan:
            n = next(self.trades)
            self.engine.process(
                OrderFilled(
                    client_order_id=o.client_order_id,
                    strategy_id=o.strategy_id,
                    instrument_id=o.instrument_id,
                    ts_event=n,
                    ts_init=n,
                    event_id=f"F-{n}",
                    venue_order_id=VenueOrderId(f"V-{o.client_order_id}"),
                    account_id=ACCOUNT,
                    trade_id=TradeId(f"T-{n}"),
                    order_side=o.side,
                    order_type=o.order_type,
                    last_qty=Quantity.from_raw(qty_raw, o.quantity.precision),
                    last_px=Price.from_raw(px_raw, 2),
                    commission=Money.from_raw(self.fee_raw, self.currency),
                    liquidity_side=LiquiditySide.TAKER,
                )
            )

    def modify_order(self, command: object) -> None: ...

    def cancel_order(self, command: object) -> None: ...

    def cancel_all_orders(self, command: object) -> None: ...


class Book:
    def __init__(self, instrument: Any, account: Any, oms: OmsType = OmsType.NETTING) -> None:
        self.instrument = instrument
        self.clock = TestClock()
        self.cache = Cache()
        self.bus = MessageBus()
        self.bus.on_handler_error = self._raise
        self.portfolio = Portfolio(self.cache, self.clock, self.bus)
        self.engine = ExecutionEngine(
            self.cache,
            self.clock,
            self.bus,
            portfolio=self.portfolio,
            config=ExecEngineConfig(default_oms_type=oms),
        )
        self.errors: list[str] = []
        self.engine.on_error = lambda msg, obj: self.errors.append(msg)
        self.client = FillClient(self.engine, instrument.notional_currency)
        self.engine.register_client(self.client)
        self.cache.add_instrument(instrument)
        self.account = account
        self.portfolio.add_account(account)
        self.ids = itertools.count(1)

    @staticmethod
    def _raise(exc: Exception, *args: object) -> None:
        raise exc

    def trade(self, side: OrderSide, parts: list[tuple[int, int]], fee_raw: int) -> Order:
        qty_raw = sum(q for q, _ in parts)
        n = next(self.ids)
        order = Order(
            client_order_id=ClientOrderId(f"O-{n}"),
            strategy_id=SID,
            instrument_id=self.instrument.id,
            side=side,
            quantity=Quantity.from_raw(qty_raw, self.instrument.size_precision),
            order_type=OrderType.MARKET,
        )
        self.client.plan = parts
        self.client.fee_raw = fee_raw
        self.engine.execute(
            SubmitOrder(
                trader_id=TRADER, strategy_id=SID, command_id=f"C-{n}", ts_init=0, order=order
            )
        )
        return order


side_st = st.sampled_from([OrderSide.BUY, OrderSide.SELL])
part_st = st.tuples(st.integers(1, 3_000), st.integers(9_000, 11_000))
step_st = st.tuples(
    side_st,
    st.lists(part_st, min_size=1, max_size=2),
    st.integers(0, 500),
    st.integers(8_000, 12_000),
)


def all_positions(book: Book) -> list[Position]:
    return book.engine.position_history


@settings(max_examples=150, deadline=None)
@given(st.lists(step_st, min_size=1, max_size=25))
def test_margin_account_reconciles_exactly(steps: list[Any]) -> None:
    instrument = perp(USDT)  # scale 2 + 3 = 5 <= 8: nothing rounds
    start = Money("1000000", USDT)
    book = Book(instrument, MarginAccount(ACCOUNT, [start]))
    cash_flow = 0  # exact, at scale 5: -sum(signed qty * px)
    net_raw = 0
    fees = 0
    for side, parts, fee_raw, mark_raw in steps:
        order = book.trade(side, parts, fee_raw)
        assert order.status is OrderStatus.FILLED
        sign = 1 if side is OrderSide.BUY else -1
        for qty_raw, px_raw in parts:
            cash_flow -= sign * qty_raw * px_raw
            net_raw += sign * qty_raw
            fees += fee_raw
        mark = Price.from_raw(mark_raw, 2)
        book.portfolio.set_mark_price(instrument.id, mark)
        positions = all_positions(book)
        realized = sum(p.realized_pnl_gross.raw for p in positions)  # scale 8
        unrealized = book.portfolio.unrealized_pnl(instrument.id).raw
        # realized + unrealized == cash flows of the fills + value of what is held (exactly)
        assert realized + unrealized == (cash_flow + net_raw * mark_raw) * 1000
        # the account moved by exactly the realized PnL minus the fees
        assert book.account.balance_total(USDT).raw == start.raw + realized - fees
        # equity = balance + unrealized = start - fees + economic PnL
        assert book.portfolio.equity(USDT).raw == start.raw - fees + realized + unrealized
        # positions net to the sum of the fills; at most one open position
        assert book.portfolio.net_position_raw(instrument.id) == net_raw
        assert sum(p.is_open for p in positions) == (1 if net_raw else 0)
    assert book.errors == []


@settings(max_examples=100, deadline=None)
@given(st.lists(step_st, min_size=1, max_size=25))
def test_rounding_stays_within_one_unit_per_position(steps: list[Any]) -> None:
    instrument = perp(USD)  # scale 5 > 2: money rounds half-even to cents
    book = Book(instrument, MarginAccount(ACCOUNT, [Money("1000000", USD)]))
    cash_flow = 0
    net_raw = 0
    for side, parts, _fee, mark_raw in steps:
        book.trade(side, parts, 0)
        sign = 1 if side is OrderSide.BUY else -1
        for qty_raw, px_raw in parts:
            cash_flow -= sign * qty_raw * px_raw
            net_raw += sign * qty_raw
        book.portfolio.set_mark_price(instrument.id, Price.from_raw(mark_raw, 2))
        positions = all_positions(book)
        realized = sum(p.realized_pnl_gross.raw for p in positions)  # cents
        unrealized = book.portfolio.unrealized_pnl(instrument.id).raw
        exact = Decimal(cash_flow + net_raw * mark_raw).scaleb(-5)  # in USD
        got = Decimal(realized + unrealized).scaleb(-2)
        assert abs(got - exact) <= Decimal("0.01") * (len(positions) + 1) / 2
        assert book.account.balance_total(USD).raw == 100_000_000 + realized


@settings(max_examples=100, deadline=None)
@given(st.lists(step_st, min_size=1, max_size=25))
def test_cash_account_legs_reconcile_with_fills_and_fees(steps: list[Any]) -> None:
    start_quote, start_base = Money("10000000", USDT), Money("100", BTC)
    book = Book(SPOT, CashAccount(ACCOUNT, [start_quote, start_base]))
    quote = start_quote.raw
    base = start_base.raw
    for side, parts, fee_raw, mark_raw in steps:
        book.trade(side, parts, fee_raw)
        sign = 1 if side is OrderSide.BUY else -1
        for qty_raw, px_raw in parts:
            quote -= sign * qty_raw * px_raw * 1000  # scale 5 -> USDT 8, exact
            base += sign * qty_raw * 100_000  # size 3 -> BTC 8
            quote -= fee_raw
        assert book.account.balance_total(USDT).raw == quote
        assert book.account.balance_total(BTC).raw == base
        # equity in USDT = quote + base valued at the mark (positions are not counted twice)
        mark = Price.from_raw(mark_raw, 2)
        book.portfolio.set_mark_price(SPOT.id, mark)
        book.portfolio.set_rate(BTC, USDT, mark.as_decimal())
        equity = book.portfolio.equity(USDT).raw
        assert equity == quote + base * mark_raw // 100


@settings(max_examples=100, deadline=None)
@given(st.lists(step_st, min_size=1, max_size=20))
def test_hedging_positions_net_to_the_sum_of_fills(steps: list[Any]) -> None:
    instrument = perp(USDT)
    book = Book(instrument, MarginAccount(ACCOUNT, [Money("1000000", USDT)]), OmsType.HEDGING)
    net_raw = 0
    for side, parts, _fee, _mark in steps:
        book.trade(side, parts, 0)
        net_raw += (1 if side is OrderSide.BUY else -1) * sum(q for q, _ in parts)
        positions = all_positions(book)
        assert sum(p.signed_qty_raw for p in positions) == net_raw
        assert book.portfolio.net_position_raw(instrument.id) == net_raw
        # one position per opening order in HEDGING: nothing ever reduces
        assert all(p.is_open for p in positions)


# -- the order state machine under arbitrary event streams -----------------------------------------

EVENT_KINDS = [
    "submit",
    "accept",
    "fill",
    "cancel_cmd",
    "modify_cmd",
    "canceled",
    "rejected",
    "expired",
    "triggered",
    "updated",
]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.sampled_from(EVENT_KINDS), st.integers(1, 4)),
        min_size=1,
        max_size=40,
    )
)
def test_no_order_reaches_an_illegal_state(ops: list[tuple[int, str, int]]) -> None:
    instrument = perp(USDT)
    book = Book(instrument, MarginAccount(ACCOUNT, [Money("1000000", USDT)]))
    book.client.submit_order = lambda command: None  # type: ignore[method-assign]
    orders = [
        Order(
            client_order_id=ClientOrderId(f"O-{i}"),
            strategy_id=SID,
            instrument_id=instrument.id,
            side=OrderSide.BUY if i % 2 else OrderSide.SELL,
            quantity=Quantity("4.000"),
            order_type=OrderType.STOP_LIMIT,
            price=Price("100.00"),
            trigger_price=Price("101.00"),
        )
        for i in range(3)
    ]
    terminal: dict[int, OrderStatus] = {}
    trades = itertools.count(1)
    for index, kind, size in ops:
        order = orders[index]
        before = (order.status, order.filled_qty, order.event_count)
        common = {
            "client_order_id": order.client_order_id,
            "strategy_id": SID,
            "instrument_id": instrument.id,
            "ts_event": 0,
            "ts_init": 0,
        }
        cmd = {"trader_id": TRADER, "strategy_id": SID, "command_id": "c", "ts_init": 0}
        if kind == "submit":
            book.engine.execute(SubmitOrder(order=order, **cmd))
        elif kind == "cancel_cmd":
            book.engine.execute(
                CancelOrder(
                    instrument_id=instrument.id, client_order_id=order.client_order_id, **cmd
                )
            )
        elif kind == "modify_cmd":
            book.engine.execute(
                ModifyOrder(
                    instrument_id=instrument.id,
                    client_order_id=order.client_order_id,
                    quantity=Quantity(f"{size}.000"),
                    **cmd,
                )
            )
        elif kind == "accept":
            book.engine.process(
                OrderAccepted(venue_order_id=VenueOrderId("V"), account_id=ACCOUNT, **common)
            )
        elif kind == "fill":
            n = next(trades)
            book.engine.process(
                OrderFilled(
                    venue_order_id=VenueOrderId("V"),
                    account_id=ACCOUNT,
                    trade_id=TradeId(f"T{n}"),
                    order_side=order.side,
                    order_type=order.order_type,
                    last_qty=Quantity(f"{size * 0.5:.3f}"),
                    last_px=Price("100.00"),
                    commission=Money("0", USDT),
                    liquidity_side=LiquiditySide.MAKER,
                    **common,
                )
            )
        elif kind == "canceled":
            book.engine.process(OrderCanceled(**common))
        elif kind == "rejected":
            book.engine.process(OrderRejected(account_id=ACCOUNT, reason="r", **common))
        elif kind == "expired":
            book.engine.process(OrderExpired(**common))
        elif kind == "triggered":
            book.engine.process(OrderTriggered(**common))
        elif kind == "updated":
            book.engine.process(OrderUpdated(quantity=Quantity(f"{size}.000"), **common))
        # -- invariants after every operation
        for i, o in enumerate(orders):
            if i in terminal:
                assert o.status is terminal[i]  # terminal states are final
            elif o.status in CLOSED_STATUSES:
                terminal[i] = o.status
            assert o.filled_qty <= o.quantity
        if order.event_count == before[2]:
            assert (order.status, order.filled_qty) == before[:2]  # refused: unchanged
        # the recorded history is a legal path through the transition table
        for o in orders:
            events = o.events
            replay = Order.from_init(o.init_event)
            for event in events[1:]:
                assert (replay.status, type(event)) in ORDER_TRANSITIONS
                replay.apply(event)
            assert replay.status is o.status
    # positions net to the fills that were accepted
    fills = [
        (1 if e.order_side is OrderSide.BUY else -1) * e.last_qty.raw
        for o in orders
        for e in o.events
        if isinstance(e, OrderFilled)
    ]
    assert book.portfolio.net_position_raw(instrument.id) == sum(fills)
