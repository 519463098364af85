"""The :class:`OrderFactory`: builds orders with deterministic client order ids.

Client order ids look like ``O-20240101-093000-001-000-7``:
``O-<UTC date>-<UTC time>-<trader tag>-<order id tag>-<count>``. The date and time come from
the node clock (a test clock in a backtest), the count increments per factory from 1, so a
backtest produces the same ids run after run, and ids stay unique across restarts in live
trading (the timestamp moves on). Order lists use the same shape with the ``OL`` prefix.

The ``OrderInitialized`` event of an order gets ``event_id = "I-<client_order_id>"``
(deterministic, unique).
"""

from __future__ import annotations

import time

from alphaforge.clock import Clock
from alphaforge.errors import InvalidValue
from alphaforge.execution.messages import ContingencyType, OrderList
from alphaforge.model.enums import OrderSide, OrderType, TimeInForce
from alphaforge.model.identifiers import ClientOrderId, InstrumentId, StrategyId, TraderId
from alphaforge.model.orders import Order
from alphaforge.model.values import Price, Quantity

__all__ = ["OrderFactory"]

_GTC = TimeInForce.GTC


class OrderFactory:
    """Creates :class:`~alphaforge.model.Order` objects for one strategy.

    Parameters
    ----------
    trader_id
        The trader; its tag goes into the ids.
    strategy_id
        The owning strategy.
    clock
        Timestamps (``ts_init``) and the time part of the ids.
    order_id_tag
        The strategy's tag in the ids.

    All order methods raise :class:`~alphaforge.errors.InvalidValue` (naming the field) for an
    invalid request; a failed call does not consume an id.
    """

    __slots__ = (
        "_clock",
        "_count",
        "_last_sec",
        "_list_count",
        "_prefix",
        "_stamp",
        "strategy_id",
        "trader_id",
    )

    def __init__(
        self,
        trader_id: TraderId,
        strategy_id: StrategyId,
        clock: Clock,
        *,
        order_id_tag: str = "000",
    ) -> None:
        if type(trader_id) is not TraderId:
            raise InvalidValue("trader_id", trader_id, "must be a TraderId")
        if type(strategy_id) is not StrategyId:
            raise InvalidValue("strategy_id", strategy_id, "must be a StrategyId")
        if type(order_id_tag) is not str or not order_id_tag or " " in order_id_tag:
            raise InvalidValue("order_id_tag", order_id_tag, "must be a non-empty str")
        self.trader_id = trader_id
        self.strategy_id = strategy_id
        self._clock = clock
        self._prefix = f"{trader_id.tag}-{order_id_tag}"
        self._count = 0
        self._list_count = 0
        self._last_sec = -1
        self._stamp = ""

    @property
    def count(self) -> int:
        """Client order ids generated so far."""
        return self._count

    def reset(self) -> None:
        """Restart the counters (ids are unique again only because time moves on)."""
        self._count = 0
        self._list_count = 0

    def _time_part(self, ts: int) -> str:
        sec = ts // 1_000_000_000
        if sec != self._last_sec:
            self._last_sec = sec
            self._stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(sec))
        return self._stamp

    def _next_id(self, ts: int) -> ClientOrderId:
        return ClientOrderId(f"O-{self._time_part(ts)}-{self._prefix}-{self._count + 1}")

    def _make(
        self,
        instrument_id: InstrumentId,
        side: OrderSide,
        quantity: Quantity,
        order_type: OrderType,
        *,
        price: Price | None = None,
        trigger_price: Price | None = None,
        time_in_force: TimeInForce = _GTC,
        expire_time_ns: int | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
    ) -> Order:
        if type(instrument_id) is not InstrumentId:
            raise InvalidValue("instrument_id", instrument_id, "must be an InstrumentId")
        ts = self._clock.timestamp_ns()
        coid = self._next_id(ts)
        order = Order(
            client_order_id=coid,
            strategy_id=self.strategy_id,
            instrument_id=instrument_id,
            side=side,
            quantity=quantity,
            order_type=order_type,
            price=price,
            trigger_price=trigger_price,
            time_in_force=time_in_force,
            expire_time_ns=expire_time_ns,
            post_only=post_only,
            reduce_only=reduce_only,
            ts_init=ts,
            event_id=f"I-{coid}",
        )
        self._count += 1
        return order

    def market(
        self,
        instrument_id: InstrumentId,
        side: OrderSide,
        quantity: Quantity,
        *,
        time_in_force: TimeInForce = _GTC,
        reduce_only: bool = False,
    ) -> Order:
        """A market order."""
        return self._make(
            instrument_id,
            side,
            quantity,
            OrderType.MARKET,
            time_in_force=time_in_force,
            reduce_only=reduce_only,
        )

    def limit(
        self,
        instrument_id: InstrumentId,
        side: OrderSide,
        quantity: Quantity,
        price: Price,
        *,
        time_in_force: TimeInForce = _GTC,
        expire_time_ns: int | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
    ) -> Order:
        """A limit order."""
        return self._make(
            instrument_id,
            side,
            quantity,
            OrderType.LIMIT,
            price=price,
            time_in_force=time_in_force,
            expire_time_ns=expire_time_ns,
            post_only=post_only,
            reduce_only=reduce_only,
        )

    def stop_market(
        self,
        instrument_id: InstrumentId,
        side: OrderSide,
        quantity: Quantity,
        trigger_price: Price,
        *,
        time_in_force: TimeInForce = _GTC,
        expire_time_ns: int | None = None,
        reduce_only: bool = False,
    ) -> Order:
        """A stop-market order: a market order once ``trigger_price`` trades."""
        return self._make(
            instrument_id,
            side,
            quantity,
            OrderType.STOP_MARKET,
            trigger_price=trigger_price,
            time_in_force=time_in_force,
            expire_time_ns=expire_time_ns,
            reduce_only=reduce_only,
        )

    def stop_limit(
        self,
        instrument_id: InstrumentId,
        side: OrderSide,
        quantity: Quantity,
        price: Price,
        trigger_price: Price,
        *,
        time_in_force: TimeInForce = _GTC,
        expire_time_ns: int | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
    ) -> Order:
        """A stop-limit order: a limit order at ``price`` once ``trigger_price`` trades."""
        return self._make(
            instrument_id,
            side,
            quantity,
            OrderType.STOP_LIMIT,
            price=price,
            trigger_price=trigger_price,
            time_in_force=time_in_force,
            expire_time_ns=expire_time_ns,
            post_only=post_only,
            reduce_only=reduce_only,
        )

    def market_if_touched(
        self,
        instrument_id: InstrumentId,
        side: OrderSide,
        quantity: Quantity,
        trigger_price: Price,
        *,
        time_in_force: TimeInForce = _GTC,
        expire_time_ns: int | None = None,
        reduce_only: bool = False,
    ) -> Order:
        """A market-if-touched order."""
        return self._make(
            instrument_id,
            side,
            quantity,
            OrderType.MARKET_IF_TOUCHED,
            trigger_price=trigger_price,
            time_in_force=time_in_force,
            expire_time_ns=expire_time_ns,
            reduce_only=reduce_only,
        )

    def limit_if_touched(
        self,
        instrument_id: InstrumentId,
        side: OrderSide,
        quantity: Quantity,
        price: Price,
        trigger_price: Price,
        *,
        time_in_force: TimeInForce = _GTC,
        expire_time_ns: int | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
    ) -> Order:
        """A limit-if-touched order."""
        return self._make(
            instrument_id,
            side,
            quantity,
            OrderType.LIMIT_IF_TOUCHED,
            price=price,
            trigger_price=trigger_price,
            time_in_force=time_in_force,
            expire_time_ns=expire_time_ns,
            post_only=post_only,
            reduce_only=reduce_only,
        )

    def _next_list_id(self) -> str:
        ts = self._clock.timestamp_ns()
        return f"OL-{self._time_part(ts)}-{self._prefix}-{self._list_count + 1}"

    def order_list(
        self, orders: list[Order] | tuple[Order, ...], contingency: ContingencyType
    ) -> OrderList:
        """Group orders built by this factory into an :class:`OrderList` (e.g. OCO)."""
        result = OrderList(self._next_list_id(), tuple(orders), contingency)
        self._list_count += 1
        return result

    def bracket(
        self,
        instrument_id: InstrumentId,
        side: OrderSide,
        quantity: Quantity,
        *,
        take_profit_price: Price,
        stop_loss_trigger_price: Price,
        entry_price: Price | None = None,
        entry_time_in_force: TimeInForce = _GTC,
        exit_time_in_force: TimeInForce = _GTC,
    ) -> OrderList:
        """An entry with a take-profit limit and a stop-loss stop-market, linked OCO.

        Parameters
        ----------
        side
            The entry's side; the exits take the opposite side (``reduce_only``).
        take_profit_price
            Limit price of the take-profit.
        stop_loss_trigger_price
            Trigger price of the stop-loss.
        entry_price
            Limit price of the entry; ``None`` enters with a market order.

        Raises
        ------
        InvalidValue
            The prices are on the wrong sides (a BUY bracket needs
            ``stop_loss < entry < take_profit``; a SELL bracket the reverse).
        """
        if type(side) is not OrderSide or side == OrderSide.NO_SIDE:
            raise InvalidValue("side", side, "must be OrderSide.BUY or OrderSide.SELL")
        for name, px in (
            ("take_profit_price", take_profit_price),
            ("stop_loss_trigger_price", stop_loss_trigger_price),
        ):
            if type(px) is not Price:
                raise InvalidValue(name, px, "must be a Price")
        buy = side == OrderSide.BUY
        low, high = (
            (stop_loss_trigger_price, take_profit_price)
            if buy
            else (take_profit_price, stop_loss_trigger_price)
        )
        if not low < high:
            raise InvalidValue(
                "stop_loss_trigger_price",
                str(stop_loss_trigger_price),
                f"must be {'below' if buy else 'above'} take_profit_price {take_profit_price}",
            )
        if entry_price is not None and not low < entry_price < high:
            raise InvalidValue(
                "entry_price",
                str(entry_price),
                f"must be between {low} and {high} for a {side.name} bracket",
            )
        exit_side = OrderSide.SELL if buy else OrderSide.BUY
        start = self._count
        try:
            if entry_price is None:
                entry = self.market(
                    instrument_id, side, quantity, time_in_force=entry_time_in_force
                )
            else:
                entry = self.limit(
                    instrument_id, side, quantity, entry_price, time_in_force=entry_time_in_force
                )
            take_profit = self.limit(
                instrument_id,
                exit_side,
                quantity,
                take_profit_price,
                time_in_force=exit_time_in_force,
                reduce_only=True,
            )
            stop_loss = self.stop_market(
                instrument_id,
                exit_side,
                quantity,
                stop_loss_trigger_price,
                time_in_force=exit_time_in_force,
                reduce_only=True,
            )
            return self.order_list((entry, take_profit, stop_loss), ContingencyType.BRACKET)
        except InvalidValue:
            self._count = start
            raise
