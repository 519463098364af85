"""What a venue adapter can do, declared once: :class:`Capabilities`.

The declaration is the single source of truth for three consumers:

- the risk / execution engines, which refuse an order the venue cannot take *before* anything
  is sent (:meth:`Capabilities.require_order` raises :class:`~alphaforge.errors.NotSupported`);
- ``alphaforge plugins``, which lists :meth:`Capabilities.as_strings` (passed to
  ``register(..., capabilities=...)``);
- the conformance kit, which checks both directions: a declared feature must work, an
  undeclared one must raise :class:`~alphaforge.errors.NotSupported`.

It is deliberately venue-neutral; ``docs/adapters.md`` maps Binance, Coinbase Advanced Trade,
Kraken WS v2, Bybit v5 and OKX v5 onto it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

import attrs

from alphaforge.errors import InvalidValue, NotSupported
from alphaforge.model.enums import OrderType, TimeInForce
from alphaforge.model.identifiers import Venue

__all__ = [
    "AuthScheme",
    "BookIntegrity",
    "Capabilities",
    "InstrumentKind",
    "MarketDataKind",
]


class BookIntegrity(enum.Enum):
    """How a venue lets a client prove its local book is in sync."""

    SEQUENCE = "sequence"
    """Update ids / sequence numbers chain the messages (Binance U/u/pu, Coinbase
    ``sequence_num``, Bybit ``u``, OKX ``seqId``/``prevSeqId``)."""
    CHECKSUM = "checksum"
    """A CRC32 of the top levels accompanies updates (Kraken WS v2, OKX ``checksum``)."""


class AuthScheme(enum.Enum):
    """How private requests are signed."""

    HMAC_SHA256 = "hmac_sha256"
    HMAC_SHA512 = "hmac_sha512"
    ED25519 = "ed25519"
    RSA = "rsa"
    ES256_JWT = "es256_jwt"


class InstrumentKind(enum.Enum):
    """Instrument families an adapter loads."""

    SPOT = "spot"
    PERPETUAL = "perpetual"
    FUTURE = "future"
    OPTION = "option"


class MarketDataKind(enum.Enum):
    """Public market-data streams an adapter parses."""

    TRADES = "trades"
    QUOTES = "quotes"
    BOOK_DELTAS = "book_deltas"
    BARS = "bars"


def _enum_set(value: object, kind: type[enum.Enum], field: str) -> frozenset[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidValue(field, value, f"must be an iterable of {kind.__name__}")
    items = frozenset(value)
    for item in items:
        if not isinstance(item, kind):
            raise InvalidValue(field, item, f"must be a {kind.__name__}")
    return items


def _order_types(value: object) -> frozenset[Any]:
    return _enum_set(value, OrderType, "order_types")


def _tifs(value: object) -> frozenset[Any]:
    return _enum_set(value, TimeInForce, "time_in_force")


def _integrity(value: object) -> frozenset[Any]:
    return _enum_set(value, BookIntegrity, "book_integrity")


def _kinds(value: object) -> frozenset[Any]:
    return _enum_set(value, InstrumentKind, "instrument_kinds")


def _market_data(value: object) -> frozenset[Any]:
    return _enum_set(value, MarketDataKind, "market_data")


def _auth(value: object) -> frozenset[Any]:
    return _enum_set(value, AuthScheme, "auth")


def _venue(value: object) -> Venue:
    if isinstance(value, Venue):
        return value
    if isinstance(value, str):
        return Venue(value)
    raise InvalidValue("venue", value, "must be a Venue or str")


@attrs.frozen(kw_only=True, slots=True)
class Capabilities:
    """A venue adapter's declared features (immutable).

    Parameters
    ----------
    venue
        The venue the declaration is for.
    order_types, time_in_force
        The order types and times in force the venue accepts (any combination of the two).
    post_only, reduce_only, iceberg
        Order flags the venue accepts (iceberg = display quantity).
    amend
        Working orders can be modified in place (price and/or quantity) -- ``ModifyOrder``.
    cancel_replace
        An atomic cancel-and-new request exists (Binance spot ``cancelReplace``).
    batch_submit, batch_cancel
        Several orders in one request; cancel-all of an instrument in one request.
    ws_order_entry
        Orders can be placed over the WebSocket session (OKX, Kraken v2, Bybit trade API).
    book_integrity
        How a local book is proven in sync (a venue may offer both).
    user_stream
        A private stream pushes order / fill / balance updates.
    testnet
        The venue offers a sandbox the adapter can be pointed at.
    instrument_kinds, market_data, auth
        What the adapter loads, parses and signs with.

    Raises
    ------
    InvalidValue
        A field of the wrong type; ``book_deltas`` data without a ``book_integrity`` method.
    """

    venue: Venue = attrs.field(converter=_venue)
    order_types: frozenset[OrderType] = attrs.field(
        converter=_order_types,
    )
    time_in_force: frozenset[TimeInForce] = attrs.field(
        converter=_tifs,
    )
    post_only: bool = False
    reduce_only: bool = False
    iceberg: bool = False
    amend: bool = False
    cancel_replace: bool = False
    batch_submit: bool = False
    batch_cancel: bool = False
    ws_order_entry: bool = False
    book_integrity: frozenset[BookIntegrity] = attrs.field(
        default=frozenset(),
        converter=_integrity,
    )
    user_stream: bool = False
    testnet: bool = False
    instrument_kinds: frozenset[InstrumentKind] = attrs.field(
        default=frozenset({InstrumentKind.SPOT}),
        converter=_kinds,
    )
    market_data: frozenset[MarketDataKind] = attrs.field(
        default=frozenset(),
        converter=_market_data,
    )
    auth: frozenset[AuthScheme] = attrs.field(
        default=frozenset(),
        converter=_auth,
    )

    def __attrs_post_init__(self) -> None:
        for name in (
            "post_only",
            "reduce_only",
            "iceberg",
            "amend",
            "cancel_replace",
            "batch_submit",
            "batch_cancel",
            "ws_order_entry",
            "user_stream",
            "testnet",
        ):
            if type(getattr(self, name)) is not bool:
                raise InvalidValue(name, getattr(self, name), "must be a bool")
        if MarketDataKind.BOOK_DELTAS in self.market_data and not self.book_integrity:
            raise InvalidValue(
                "book_integrity", set(), "a venue streaming book deltas must declare how to sync"
            )

    # -- queries -----------------------------------------------------------------------------

    def supports_order(
        self,
        order_type: OrderType,
        time_in_force: TimeInForce = TimeInForce.GTC,
        *,
        post_only: bool = False,
        reduce_only: bool = False,
        iceberg: bool = False,
    ) -> bool:
        """Whether an order of this shape is declared (see :meth:`require_order`)."""
        return self.unsupported_reason(
            order_type, time_in_force, post_only=post_only, reduce_only=reduce_only,
            iceberg=iceberg,
        ) is None  # fmt: skip

    def unsupported_reason(
        self,
        order_type: OrderType,
        time_in_force: TimeInForce = TimeInForce.GTC,
        *,
        post_only: bool = False,
        reduce_only: bool = False,
        iceberg: bool = False,
    ) -> str | None:
        """The first undeclared feature an order of this shape uses, or ``None``."""
        if order_type not in self.order_types:
            return f"order type {order_type.name}"
        if time_in_force not in self.time_in_force:
            return f"time in force {time_in_force.name}"
        if post_only and not self.post_only:
            return "post-only orders"
        if reduce_only and not self.reduce_only:
            return "reduce-only orders"
        if iceberg and not self.iceberg:
            return "iceberg orders"
        return None

    def require_order(
        self,
        order_type: OrderType,
        time_in_force: TimeInForce = TimeInForce.GTC,
        *,
        post_only: bool = False,
        reduce_only: bool = False,
        iceberg: bool = False,
    ) -> None:
        """Raise :class:`~alphaforge.errors.NotSupported` unless the order shape is declared.

        Raises
        ------
        NotSupported
            The message names the venue and the first undeclared feature.
        """
        reason = self.unsupported_reason(
            order_type, time_in_force, post_only=post_only, reduce_only=reduce_only,
            iceberg=iceberg,
        )  # fmt: skip
        if reason is not None:
            raise NotSupported(f"{self.venue}: {reason} is not supported")

    def require(self, feature: str) -> None:
        """Raise :class:`~alphaforge.errors.NotSupported` unless the boolean ``feature`` is set.

        Parameters
        ----------
        feature
            A boolean field name, e.g. ``"amend"``, ``"batch_cancel"``, ``"user_stream"``.

        Raises
        ------
        InvalidValue
            ``feature`` is not a boolean capability.
        NotSupported
            The capability is not declared.
        """
        value = getattr(self, feature, None) if feature in _BOOL_FEATURES else None
        if type(value) is not bool:
            raise InvalidValue("feature", feature, f"must be one of {sorted(_BOOL_FEATURES)}")
        if not value:
            raise NotSupported(f"{self.venue}: {feature.replace('_', ' ')} is not supported")

    def as_strings(self) -> tuple[str, ...]:
        """A sorted, stable flat listing (``"order_type:LIMIT"``, ``"amend"``, ...).

        This is what a plugin passes to ``register(name, factory, capabilities=...)``.
        """
        out = [f"order_type:{t.name}" for t in self.order_types]
        out += [f"time_in_force:{t.name}" for t in self.time_in_force]
        out += [f"book_integrity:{b.value}" for b in self.book_integrity]
        out += [f"instrument_kind:{k.value}" for k in self.instrument_kinds]
        out += [f"market_data:{k.value}" for k in self.market_data]
        out += [f"auth:{a.value}" for a in self.auth]
        out += [name for name in _BOOL_FEATURES if getattr(self, name)]
        return tuple(sorted(out))


_BOOL_FEATURES = (
    "amend",
    "batch_cancel",
    "batch_submit",
    "cancel_replace",
    "iceberg",
    "post_only",
    "reduce_only",
    "testnet",
    "user_stream",
    "ws_order_entry",
)
