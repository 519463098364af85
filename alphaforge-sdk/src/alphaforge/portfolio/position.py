"""The :class:`Position` entity: exact, fill-driven position accounting.

Representation
--------------
A position keeps integers only:

- the signed quantity as a raw int at the instrument's ``size_precision`` (long > 0);
- the **cost basis** ``B``: the signed value of the open quantity at its entry prices, as an
  exact int at a fixed per-position scale (see below);
- the cumulative **realized PnL** (gross of commissions) as an exact int at the same scale;
- commissions per currency as raw ints.

Value of a signed quantity ``q`` at price ``p`` (multiplier ``m``):

- linear: ``V(q, p) = q * p * m`` -- exact at scale ``price_precision + size_precision +
  multiplier decimals``;
- inverse: ``V(q, p) = q * m / p`` (in the base currency) -- rounded half-even at scale
  ``currency precision + 10``.

A fill of signed quantity ``f`` at ``p`` either adds to the position (``B += V(f, p)``) or
reduces it: the basis share ``R = B * |f| / |q|`` (rounded half-even at the position scale; the
rounding residue stays in ``B``, so a full close removes exactly ``B``) leaves the basis and

- linear: ``realized += -V(f, p) - R``
- inverse: ``realized += V(f, p) + R``

Unrealized PnL at a mark price ``x`` is ``V(q, x) - B`` (inverse: ``B - V(q, x)``). Hence at
every step, exactly: ``realized + unrealized == -sum(V(f_i, p_i)) + V(q, x)`` (linear) -- the
cash flows of the fills plus the value of what is held.

Money amounts (:attr:`Position.realized_pnl`, :meth:`Position.unrealized_pnl`) round the exact
values half-even to the PnL currency's precision; :attr:`realized_pnl` rounds the *cumulative*
exact value, so rounding never accumulates across fills. When ``price_precision +
size_precision + multiplier decimals <= currency precision`` (e.g. BTCUSDT 2 + 6 <= USDT 8)
nothing rounds at all.

The PnL currency is the instrument's notional currency: quote for linear, base for inverse.
The engine splits a fill that would flip a position into a closing and an opening part, so
:meth:`Position.apply` never sees a flip.
"""

from __future__ import annotations

import decimal
import enum
from decimal import Decimal
from typing import Final

from alphaforge.errors import InvalidValue
from alphaforge.model.enums import OrderSide
from alphaforge.model.events import OrderFilled
from alphaforge.model.identifiers import (
    AccountId,
    ClientOrderId,
    InstrumentId,
    PositionId,
    StrategyId,
    TradeId,
)
from alphaforge.model.instruments import Instrument, _decimal_ratio
from alphaforge.model.values import Currency, Money, Price, Quantity, Rounding, _div_round

__all__ = ["INVERSE_EXTRA_DIGITS", "Position", "PositionSide", "round_scaled"]

INVERSE_EXTRA_DIGITS: Final = 10
"""Digits beyond the currency precision kept for inverse-instrument values."""

_POW10: Final[tuple[int, ...]] = tuple(10**i for i in range(96))
_CTX: Final = decimal.Context(prec=38, rounding=decimal.ROUND_HALF_EVEN)
_HALF_EVEN: Final = Rounding.HALF_EVEN


class PositionSide(enum.IntEnum):
    """Direction of a position."""

    FLAT = 0
    LONG = 1
    SHORT = 2


def round_scaled(value: int, scale: int, precision: int) -> int:
    """Round ``value / 10**scale`` half-even to a raw int at ``precision``.

    Parameters
    ----------
    value
        Exact integer at ``scale``.
    scale, precision
        Decimal exponents (``>= 0``).
    """
    if scale <= precision:
        return value * _POW10[precision - scale]
    return _div_round(value, _POW10[scale - precision], _HALF_EVEN)


class Position:
    """A position in one instrument for one strategy, built from fills.

    Parameters
    ----------
    instrument
        The instrument (precisions, multiplier, inverse flag, currencies).
    position_id
        The position's id.
    fill
        The opening fill.
    last_qty
        The part of ``fill`` that applies to this position (default: ``fill.last_qty``).
    commission
        The part of the fill's commission charged to this position (default: all of it).

    Raises
    ------
    InvalidValue
        The fill is for another instrument, or its price/size has more digits than the
        instrument's precisions allow.
    """

    __slots__ = (
        "_account_id",
        "_basis",
        "_closed_qty",
        "_closed_value",
        "_closing_order_id",
        "_commissions",
        "_currency",
        "_entry",
        "_event_count",
        "_id",
        "_instrument",
        "_inverse",
        "_last_px",
        "_last_qty",
        "_last_trade_id",
        "_m_e",
        "_m_n",
        "_opened_qty",
        "_opened_value",
        "_opening_order_id",
        "_peak",
        "_pp",
        "_q",
        "_realized",
        "_scale",
        "_sp",
        "_strategy_id",
        "_ts_closed",
        "_ts_last",
        "_ts_opened",
    )

    def __init__(
        self,
        *,
        instrument: Instrument,
        position_id: PositionId,
        fill: OrderFilled,
        last_qty: Quantity | None = None,
        commission: Money | None = None,
    ) -> None:
        if type(position_id) is not PositionId:
            raise InvalidValue("position_id", position_id, "must be a PositionId")
        if not isinstance(instrument, Instrument):
            raise InvalidValue("instrument", instrument, "must be an Instrument")
        self._instrument = instrument
        self._id = position_id
        self._strategy_id: StrategyId = fill.strategy_id
        self._account_id: AccountId | None = fill.account_id
        self._opening_order_id: ClientOrderId = fill.client_order_id
        self._closing_order_id: ClientOrderId | None = None
        self._entry = fill.order_side
        self._pp = instrument.price_precision
        self._sp = instrument.size_precision
        self._m_n, self._m_e = _decimal_ratio(instrument.multiplier)
        self._inverse = instrument.is_inverse
        self._currency: Currency = instrument.notional_currency
        self._scale = (
            self._currency.precision + INVERSE_EXTRA_DIGITS
            if self._inverse
            else self._pp + self._sp + self._m_e
        )
        self._q = 0
        self._peak = 0
        self._basis = 0
        self._realized = 0
        self._opened_qty = 0
        self._opened_value = 0
        self._closed_qty = 0
        self._closed_value = 0
        self._commissions: dict[Currency, int] = {}
        self._ts_opened = fill.ts_event
        self._ts_closed: int | None = None
        self._ts_last = fill.ts_event
        self._last_px = fill.last_px
        self._last_qty = fill.last_qty
        self._last_trade_id: TradeId = fill.trade_id
        self._event_count = 0
        self.apply(fill, last_qty=last_qty, commission=commission)

    # -- exact helpers -------------------------------------------------------------------------

    def _qty_raw(self, qty: Quantity, field: str) -> int:
        sp = self._sp
        if qty.precision == sp:
            return qty.raw
        if qty.precision < sp:
            return qty.raw * _POW10[sp - qty.precision]
        q, r = divmod(qty.raw, _POW10[qty.precision - sp])
        if r:
            raise InvalidValue(
                field, str(qty), f"finer than size_precision {sp} of {self.instrument_id}"
            )
        return q

    def _value(self, q_raw: int, px_raw: int, px_prec: int) -> tuple[int, int]:
        """``V(q, p)`` as ``(exact_int, scale)``."""
        if self._inverse:
            if px_raw <= 0:
                raise InvalidValue("price", px_raw, "must be positive for an inverse instrument")
            scale = self._scale
            num = q_raw * self._m_n * _POW10[px_prec + scale]
            den = px_raw * _POW10[self._sp + self._m_e]
            return _div_round(num, den, _HALF_EVEN), scale
        return q_raw * px_raw * self._m_n, self._sp + px_prec + self._m_e

    def _value_at_scale(self, q_raw: int, px: Price, field: str) -> int:
        value, scale = self._value(q_raw, px.raw, px.precision)
        if scale == self._scale:
            return value
        if scale < self._scale:
            return value * _POW10[self._scale - scale]
        raise InvalidValue(
            field, str(px), f"finer than price_precision {self._pp} of {self.instrument_id}"
        )

    # -- mutation ------------------------------------------------------------------------------

    def apply(
        self,
        fill: OrderFilled,
        *,
        last_qty: Quantity | None = None,
        commission: Money | None = None,
    ) -> Money:
        """Apply a fill (or the part of one given by ``last_qty``/``commission``).

        Returns
        -------
        Money
            The change of the *gross* realized PnL (before commissions), in :attr:`currency`.

        Raises
        ------
        InvalidValue
            Wrong instrument, a closed position, a fill that would flip the position (the OMS
            splits those), or a price/size finer than the instrument allows. The position is
            unchanged.
        """
        if fill.instrument_id != self._instrument.id:
            raise InvalidValue(
                "fill.instrument_id",
                str(fill.instrument_id),
                f"position {self._id} is for {self._instrument.id}",
            )
        if self._event_count and self._q == 0:
            raise InvalidValue("position_id", str(self._id), "the position is closed")
        qty = fill.last_qty if last_qty is None else last_qty
        comm = fill.commission if commission is None else commission
        size = self._qty_raw(qty, "last_qty")
        if size <= 0:
            raise InvalidValue("last_qty", str(qty), "must be positive")
        f = size if fill.order_side == OrderSide.BUY else -size
        value = self._value_at_scale(f, fill.last_px, "last_px")
        q = self._q
        sign = -1 if self._inverse else 1
        realized_before = round_scaled(self._realized, self._scale, self._currency.precision)
        if q == 0 or (q > 0) == (f > 0):
            # -- open / increase
            basis = self._basis + value
            new_q = q + f
            realized = self._realized
            self._opened_qty += size
            self._opened_value += value if value >= 0 else -value
        else:
            # -- reduce / close
            if size > abs(q):
                raise InvalidValue(
                    "last_qty",
                    str(qty),
                    f"would flip position {self._id} of {self.quantity}; split the fill",
                )
            share = (
                self._basis
                if size == abs(q)
                else _div_round(self._basis * size, abs(q), _HALF_EVEN)
            )
            basis = self._basis - share
            realized = self._realized + sign * (-value - share)
            new_q = q + f
            self._closed_qty += size
            self._closed_value += value if value >= 0 else -value
            self._closing_order_id = fill.client_order_id
        # -- commit
        self._basis = basis
        self._realized = realized
        self._q = new_q
        if abs(new_q) > self._peak:
            self._peak = abs(new_q)
        if comm.raw:
            self._commissions[comm.currency] = self._commissions.get(comm.currency, 0) + comm.raw
        elif comm.currency not in self._commissions:
            self._commissions[comm.currency] = 0
        self._ts_last = fill.ts_event
        self._ts_closed = fill.ts_event if new_q == 0 else None
        self._last_px = fill.last_px
        self._last_qty = qty
        self._last_trade_id = fill.trade_id
        self._event_count += 1
        delta = round_scaled(realized, self._scale, self._currency.precision) - realized_before
        return Money.from_raw(delta, self._currency)

    # -- identity --------------------------------------------------------------------------------

    @property
    def id(self) -> PositionId:
        """Position id."""
        return self._id

    @property
    def instrument(self) -> Instrument:
        """The instrument."""
        return self._instrument

    @property
    def instrument_id(self) -> InstrumentId:
        """Instrument id."""
        return self._instrument.id

    @property
    def strategy_id(self) -> StrategyId:
        """Owning strategy."""
        return self._strategy_id

    @property
    def account_id(self) -> AccountId | None:
        """Account of the opening fill."""
        return self._account_id

    @property
    def opening_order_id(self) -> ClientOrderId:
        """The order whose fill opened the position."""
        return self._opening_order_id

    @property
    def closing_order_id(self) -> ClientOrderId | None:
        """The order of the last reducing fill."""
        return self._closing_order_id

    @property
    def entry(self) -> OrderSide:
        """Side of the opening fill."""
        return self._entry

    # -- state ---------------------------------------------------------------------------------

    @property
    def side(self) -> PositionSide:
        """LONG, SHORT or FLAT."""
        q = self._q
        return PositionSide.LONG if q > 0 else PositionSide.SHORT if q < 0 else PositionSide.FLAT

    @property
    def signed_qty(self) -> Decimal:
        """Signed quantity (long positive), exact."""
        return Decimal(self._q).scaleb(-self._sp)

    @property
    def signed_qty_raw(self) -> int:
        """Signed quantity as a raw int at the instrument's size precision."""
        return self._q

    @property
    def quantity(self) -> Quantity:
        """Absolute open quantity."""
        return Quantity.from_raw(abs(self._q), self._sp)

    @property
    def peak_qty(self) -> Quantity:
        """Largest absolute quantity held."""
        return Quantity.from_raw(self._peak, self._sp)

    @property
    def is_open(self) -> bool:
        """Whether any quantity is held."""
        return self._q != 0

    @property
    def is_closed(self) -> bool:
        """Whether the position went flat (a closed position never reopens)."""
        return self._q == 0

    @property
    def is_long(self) -> bool:
        """Whether the position is long."""
        return self._q > 0

    @property
    def is_short(self) -> bool:
        """Whether the position is short."""
        return self._q < 0

    @property
    def is_inverse(self) -> bool:
        """Whether PnL is computed inversely (in the base currency)."""
        return self._inverse

    @property
    def currency(self) -> Currency:
        """Currency of PnL and cost basis (the instrument's notional currency)."""
        return self._currency

    @property
    def ts_opened(self) -> int:
        """``ts_event`` of the opening fill."""
        return self._ts_opened

    @property
    def ts_closed(self) -> int | None:
        """``ts_event`` of the closing fill, ``None`` while open."""
        return self._ts_closed

    @property
    def ts_last(self) -> int:
        """``ts_event`` of the last fill."""
        return self._ts_last

    @property
    def duration_ns(self) -> int:
        """Time from opening to closing (or to the last fill while open)."""
        return self._ts_last - self._ts_opened

    @property
    def last_px(self) -> Price:
        """Price of the last fill."""
        return self._last_px

    @property
    def last_qty(self) -> Quantity:
        """Quantity of the last fill applied to this position."""
        return self._last_qty

    @property
    def last_trade_id(self) -> TradeId:
        """Trade id of the last fill."""
        return self._last_trade_id

    @property
    def event_count(self) -> int:
        """Number of fills applied."""
        return self._event_count

    # -- prices and PnL --------------------------------------------------------------------------

    def _avg(self, qty_raw: int, value: int) -> Decimal | None:
        if not qty_raw:
            return None
        # linear: (value / 10**scale) / (qty / 10**sp * m_n / 10**m_e); inverse: its reciprocal
        units = qty_raw * self._m_n
        shift = self._sp + self._m_e - self._scale
        if self._inverse:
            return _CTX.divide(Decimal(units), Decimal(value)).scaleb(-shift)
        return _CTX.divide(Decimal(value), Decimal(units)).scaleb(shift)

    @property
    def avg_px_open(self) -> Decimal:
        """Volume-weighted average price of the opening/increasing fills (38 digits)."""
        avg = self._avg(self._opened_qty, self._opened_value)
        assert avg is not None  # a position always has an opening fill
        return avg

    @property
    def avg_px_close(self) -> Decimal | None:
        """Volume-weighted average price of the reducing fills, ``None`` before any."""
        return self._avg(self._closed_qty, self._closed_value)

    @property
    def cost_basis(self) -> Money:
        """Absolute entry value of the open quantity, rounded to :attr:`currency`."""
        b = self._basis
        return Money.from_raw(
            round_scaled(b if b >= 0 else -b, self._scale, self._currency.precision),
            self._currency,
        )

    @property
    def realized_pnl_gross(self) -> Money:
        """Realized PnL before commissions (cumulative exact value, rounded)."""
        return Money.from_raw(
            round_scaled(self._realized, self._scale, self._currency.precision), self._currency
        )

    @property
    def realized_pnl(self) -> Money:
        """Realized PnL net of the commissions paid in :attr:`currency`."""
        raw = round_scaled(self._realized, self._scale, self._currency.precision)
        return Money.from_raw(raw - self._commissions.get(self._currency, 0), self._currency)

    def commissions(self) -> list[Money]:
        """Commissions charged to this position, per currency (first-seen order)."""
        return [Money.from_raw(raw, ccy) for ccy, raw in self._commissions.items()]

    def unrealized_pnl(self, mark: Price) -> Money:
        """PnL of the open quantity at ``mark``, rounded half-even to :attr:`currency`.

        Parameters
        ----------
        mark
            The mark price (any precision; a quote mid has one digit more than the book).
        """
        if type(mark) is not Price:
            raise InvalidValue("mark", mark, "must be a Price")
        if self._q == 0:
            return Money.from_raw(0, self._currency)
        value, scale = self._value(self._q, mark.raw, mark.precision)
        basis = self._basis
        if scale > self._scale:
            basis *= _POW10[scale - self._scale]
        elif scale < self._scale:
            value *= _POW10[self._scale - scale]
            scale = self._scale
        pnl = basis - value if self._inverse else value - basis
        return Money.from_raw(round_scaled(pnl, scale, self._currency.precision), self._currency)

    def notional_value(self, mark: Price) -> Money:
        """Absolute value of the open quantity at ``mark`` in :attr:`currency`, rounded."""
        if type(mark) is not Price:
            raise InvalidValue("mark", mark, "must be a Price")
        value, scale = self._value(abs(self._q), mark.raw, mark.precision)
        return Money.from_raw(round_scaled(value, scale, self._currency.precision), self._currency)

    def total_pnl(self, mark: Price) -> Money:
        """:attr:`realized_pnl` + :meth:`unrealized_pnl` at ``mark``."""
        return self.realized_pnl + self.unrealized_pnl(mark)

    def __repr__(self) -> str:
        return (
            f"Position({self._id}, {self._instrument.id}, {self.side.name} {self.quantity}, "
            f"avg_px_open={self.avg_px_open}, realized_pnl={self.realized_pnl})"
        )
