"""USD-M and account features of the live clients against the loopback venue, over real sockets
(anyio: asyncio and trio): book sync with ``pu``, orders and positions, amend, reduce-only,
account state, fills from trade history, Ed25519 keys, listenKey keepalive and renewal, spot
cancel-replace, and a live node reconciling a position opened while it was down."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from typing import Any

import anyio
import pytest
from alphaforge_binance.common import BinanceMarket
from alphaforge_binance.live import (
    BinanceConfig,
    BinanceDataClient,
    BinanceEndpoints,
    BinanceExecutionClient,
    BinanceInstrumentProvider,
    BinanceRest,
)
from alphaforge_binance.loopback import BinanceLoopbackVenue
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from alphaforge.adapters import ReportKind
from alphaforge.config import Secret
from alphaforge.errors import NotSupported
from alphaforge.execution.messages import ModifyOrder, SubmitOrder
from alphaforge.model import (
    AccountId,
    ClientOrderId,
    Order,
    OrderInitialized,
    OrderSide,
    OrderType,
    Price,
    Quantity,
    StrategyId,
    TraderId,
)
from alphaforge.net import Backoff, VenueRejected
from alphaforge.portfolio import AccountType

pytestmark = pytest.mark.anyio
ACCOUNT = AccountId("BINANCE_USDM-001")
SPOT_ACCOUNT = AccountId("BINANCE-001")


@pytest.fixture
def venue() -> Iterator[BinanceLoopbackVenue]:
    with BinanceLoopbackVenue(seed=5, market="usdm") as v:
        yield v


def config(venue: BinanceLoopbackVenue, market: BinanceMarket, **kw: Any) -> BinanceConfig:
    kw.setdefault("api_key", Secret("loopback-key"))
    kw.setdefault("api_secret", Secret("loopback-secret"))
    return BinanceConfig(
        market=market, endpoints=BinanceEndpoints(venue.rest_url, venue.ws_url),
        ws_backoff=Backoff(base=0.05, cap=0.2), ws_ping_interval=None, request_timeout=2.0, **kw,
    )  # fmt: skip


@pytest.fixture
async def rest(venue: BinanceLoopbackVenue) -> AsyncIterator[BinanceRest]:
    r = BinanceRest(config(venue, BinanceMarket.USDM))
    yield r
    await r.aclose()


async def wait_for(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    with anyio.fail_after(timeout):
        while not cond():
            await anyio.sleep(0.01)


def submit(coid: str, side: OrderSide, qty: str, price: str | None, inst_id: Any,
           *, reduce_only: bool = False) -> SubmitOrder:  # fmt: skip
    init = OrderInitialized(
        client_order_id=ClientOrderId(coid), strategy_id=StrategyId("S-1"),
        instrument_id=inst_id, ts_event=0, ts_init=0, side=side,
        order_type=OrderType.LIMIT if price else OrderType.MARKET,
        quantity=Quantity(qty), price=Price(price) if price else None, reduce_only=reduce_only,
    )  # fmt: skip
    return SubmitOrder(trader_id=TraderId("T-1"), strategy_id=StrategyId("S-1"),
                       command_id="c", ts_init=0, order=Order.from_init(init))  # fmt: skip


def price_below_ask(venue: BinanceLoopbackVenue, ticks: int) -> str:
    ask = venue.book()[1][0][0]
    return f"{(ask - ticks * venue.tick) / 1e8:.2f}"


async def test_usdm_book_sync_follows_pu(venue: BinanceLoopbackVenue, rest: BinanceRest) -> None:
    provider = BinanceInstrumentProvider(rest)
    (inst,) = await provider.load_all()
    assert str(inst.id) == "BTCUSDT.BINANCE_USDM" and type(inst).__name__ == "PerpetualContract"
    data = BinanceDataClient(config(venue, BinanceMarket.USDM), rest, provider)
    await data.connect(lambda _item: None)
    try:
        await data.subscribe_book(inst.id)
        await wait_for(lambda: venue.subscribers("btcusdt@depth@100ms") == 1)
        sync = data.book(inst.id)
        assert sync is not None
        for gap in (0, 1):
            venue.faults.skip_depth = gap
            venue.step(20)
            await wait_for(lambda: sync.is_valid and sync.last_sequence == venue.last_update_id)
            bids = sync.book.levels(OrderSide.BUY)
            assert list(zip(bids[0].tolist(), bids[1].tolist(), strict=True)) == venue.book()[0]
        assert sync.stats.invalidations >= 1  # the skipped event broke the pu chain
    finally:
        await data.disconnect()


async def test_usdm_orders_positions_and_account(
    venue: BinanceLoopbackVenue, rest: BinanceRest, user_stream: Any
) -> None:
    provider = BinanceInstrumentProvider(rest)
    (inst,) = await provider.load_all()
    exe = BinanceExecutionClient(config(venue, BinanceMarket.USDM), rest, provider, ACCOUNT)
    await exe.connect(user_stream)
    reports = user_stream.orders
    try:
        await wait_for(lambda: venue.subscribers("user") == 1)
        px = price_below_ask(venue, 50)
        ack = await exe.submit_order(submit("U-1", OrderSide.BUY, "0.01000", px, inst.id))
        assert ack is not None and ack.kind is ReportKind.ACCEPTED
        await wait_for(lambda: any(r.kind is ReportKind.ACCEPTED for r in reports))
        # amend (PUT /fapi/v1/order): a new price, same order
        new_px = Price(price_below_ask(venue, 60))
        amended = await exe.modify_order(ModifyOrder(
            trader_id=TraderId("T-1"), strategy_id=StrategyId("S-1"), command_id="m",
            ts_init=0, instrument_id=inst.id, client_order_id=ClientOrderId("U-1"),
            price=new_px))  # fmt: skip
        assert amended is not None and amended.kind is ReportKind.UPDATED
        assert amended.price == new_px and amended.venue_order_id == ack.venue_order_id
        await wait_for(lambda: any(r.kind is ReportKind.UPDATED for r in reports))
        # reduce-only with no position: rejected
        with pytest.raises(VenueRejected) as info:
            await exe.submit_order(submit("U-2", OrderSide.SELL, "0.01000", None, inst.id,
                                          reduce_only=True))  # fmt: skip
        assert info.value.code == -2022
        # a market buy opens a long position
        await exe.submit_order(submit("U-3", OrderSide.BUY, "0.02000", None, inst.id))
        await wait_for(lambda: any(r.kind is ReportKind.FILL for r in reports))
        await wait_for(lambda: inst.id in exe.stream_positions)  # ACCOUNT_UPDATE
        assert exe.stream_positions[inst.id].signed_qty == Decimal("0.02")
        state = await exe.account_state()
        assert state.account_type is AccountType.MARGIN
        (position,) = state.positions
        qty, entry = venue.position()
        assert position.signed_qty == Decimal(qty) and position.entry_px == Decimal(entry)
        (usdt,) = state.balances
        assert usdt.total.as_decimal() == Decimal(venue.balance("USDT"))
        # ACCOUNT_UPDATE streamed the wallet balance as it changed
        streamed = user_stream.accounts[-1]
        assert streamed.account_type is AccountType.MARGIN
        assert streamed.balances[0].total == usdt.total
        assert usdt.locked.raw > 0  # margin of the position and the resting order
        # reduce-only sell closes it
        await exe.submit_order(submit("U-4", OrderSide.SELL, "0.02000", None, inst.id,
                                      reduce_only=True))  # fmt: skip
        await wait_for(lambda: inst.id not in exe.stream_positions)
        assert (await exe.account_state()).positions == ()
        # trade history: both market orders' fills, with our client order ids
        fills = await exe.fills_since(inst.id, 0)
        assert {r.client_order_id for r in fills} == {ClientOrderId("U-3"), ClientOrderId("U-4")}
        assert sum(f.last_qty.as_decimal() for r in fills for f in r.fills) == Decimal("0.04")
        stream_ids = {f.trade_id for r in reports if r.kind is ReportKind.FILL for f in r.fills}
        assert {f.trade_id for r in fills for f in r.fills} == stream_ids
    finally:
        await exe.disconnect()
    assert venue.listen_keys == 0  # released on disconnect


def ed25519_pair() -> tuple[str, str]:
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()  # fmt: skip
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


async def test_spot_ed25519_account_fills_keepalive_and_cancel_replace(
    user_stream: Any,
) -> None:
    private, public = ed25519_pair()
    with BinanceLoopbackVenue(seed=3, api_keys={"ed-key": public}) as venue:
        cfg = config(venue, BinanceMarket.SPOT, api_key=Secret("ed-key"),
                     api_secret=Secret(private))  # fmt: skip
        assert cfg.resolved_key_type == "ed25519"
        rest = BinanceRest(cfg)
        provider = BinanceInstrumentProvider(rest)
        (inst,) = await provider.load_all()
        exe = BinanceExecutionClient(cfg, rest, provider, SPOT_ACCOUNT)
        await exe.connect(user_stream)
        reports = user_stream.orders
        try:
            await wait_for(lambda: venue.subscribers("user") == 1)
            before = await exe.account_state()
            assert before.account_type is AccountType.CASH
            assert {b.currency.code for b in before.balances} == {"BTC", "USDT"}
            await exe.submit_order(submit("S-1", OrderSide.BUY, "0.01000", None, inst.id))
            await wait_for(lambda: any(r.kind is ReportKind.FILL for r in reports))
            after = {b.currency.code: b for b in (await exe.account_state()).balances}
            assert after["BTC"].total.as_decimal() == Decimal("10.01")
            assert after["USDT"].total.as_decimal() == Decimal(venue.balance("USDT"))
            # outboundAccountPosition streamed both changed assets after each fill
            await wait_for(lambda: bool(user_stream.accounts))
            streamed = {b.currency.code: b for b in user_stream.accounts[-1].balances}
            assert streamed.keys() == {"BTC", "USDT"}
            assert all(streamed[c] == after[c] for c in streamed)
            fills = await exe.fills_since(inst.id, 0)
            assert [r.client_order_id for r in fills] == [ClientOrderId("S-1")] * len(fills)
            assert fills[-1].filled_qty == Quantity("0.01000")
            # cancel-replace: same client order id, new venue order id, old cancel hidden
            ack = await exe.submit_order(submit("S-2", OrderSide.BUY, "0.01000",
                                                price_below_ask(venue, 40), inst.id))  # fmt: skip
            assert ack is not None
            with pytest.raises(NotSupported):
                await exe.modify_order(ModifyOrder(
                    trader_id=TraderId("T-1"), strategy_id=StrategyId("S-1"), command_id="m",
                    ts_init=0, instrument_id=inst.id, client_order_id=ClientOrderId("S-2"),
                    quantity=Quantity("0.02000")))  # fmt: skip
            replaced = await exe.cancel_replace_order(ModifyOrder(
                trader_id=TraderId("T-1"), strategy_id=StrategyId("S-1"), command_id="m",
                ts_init=0, instrument_id=inst.id, client_order_id=ClientOrderId("S-2"),
                quantity=Quantity("0.02000")))  # fmt: skip
            assert replaced is not None and replaced.kind is ReportKind.UPDATED
            assert replaced.venue_order_id != ack.venue_order_id
            assert replaced.quantity == Quantity("0.02000")
            await wait_for(lambda: any(r.kind is ReportKind.UPDATED for r in reports))
            s2 = [r for r in reports if r.client_order_id == ClientOrderId("S-2")]
            assert not any(r.kind is ReportKind.CANCELED for r in s2)
            # keepalive extends the key; an expired key is replaced and the stream reopened
            await exe.keepalive()
            assert venue.keepalives == 1
            first_conn = exe.connection_id
            venue.expire_listen_keys()
            await wait_for(lambda: exe.listen_keys_created == 2 and venue.subscribers("user") == 1)
            await wait_for(lambda: exe.connection_id > first_conn)
            await exe.submit_order(submit("S-3", OrderSide.BUY, "0.01000", None, inst.id))
            await wait_for(lambda: any(r.client_order_id == ClientOrderId("S-3") for r in reports))
        finally:
            await exe.disconnect()
            await rest.aclose()
        assert venue.listen_keys == 0  # released on disconnect
        # a wrong Ed25519 key is refused by the venue (-1022)
        other, _ = ed25519_pair()
        bad = BinanceRest(config(venue, BinanceMarket.SPOT, api_key=Secret("ed-key"),
                                 api_secret=Secret(other)))  # fmt: skip
        try:
            exe = BinanceExecutionClient(bad.config, bad, provider, SPOT_ACCOUNT)
            with pytest.raises(VenueRejected) as info:
                await exe.account_state()
            assert info.value.code == -1022
        finally:
            await bad.aclose()


async def test_node_reconciles_a_position_opened_while_down(venue: BinanceLoopbackVenue) -> None:
    from alphaforge.live import LiveNode, LiveNodeConfig

    cfg = config(venue, BinanceMarket.USDM)
    rest = BinanceRest(cfg)
    provider = BinanceInstrumentProvider(rest)
    (inst,) = await provider.load_all()
    try:
        # Someone trades on the account while no node runs.
        offline = BinanceExecutionClient(cfg, rest, provider, ACCOUNT)
        await offline.submit_order(submit("MANUAL-1", OrderSide.SELL, "0.03000", None, inst.id))
        node = LiveNode(LiveNodeConfig(health_interval_s=60.0))
        node.add_instrument(inst)
        bridge = node.add_execution_client(BinanceExecutionClient(cfg, rest, provider, ACCOUNT))
        async with node:
            account = node.portfolio.account(ACCOUNT)
            assert account is not None and account.account_type is AccountType.MARGIN
            usdt = inst.settlement_currency
            assert account.balance_total(usdt).as_decimal() == Decimal(venue.balance("USDT"))
            external = bridge.external_positions[inst.id]
            assert external.signed_qty == Decimal("-0.03")
            assert node.portfolio.net_position(inst.id) == 0  # not the node's position
            await node.reconcile()  # idempotent
            assert list(bridge.external_positions) == [inst.id]
    finally:
        await rest.aclose()
