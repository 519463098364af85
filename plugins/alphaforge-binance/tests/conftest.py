"""Fixtures of the Binance plugin's tests (run as ``pytest plugins/alphaforge-binance/tests``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from alphaforge.adapters import AccountReport, OrderReport

REPO = Path(__file__).resolve().parents[3]
SHARED_DATA = Path(os.environ.get("ALPHAFORGE_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every async test runs on both anyio backends."""
    return str(request.param)


@pytest.fixture
def shared_data() -> Path:
    """The team's real payload samples; tests skip when they are absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not present at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def binance_data(shared_data: Path) -> Path:
    path = shared_data / "exchanges" / "binance"
    if not path.is_dir():
        pytest.skip(f"no Binance samples at {path}")
    return path


class UserStream:
    """An execution client's report sink that keeps order and account reports apart."""

    def __init__(self) -> None:
        self.orders: list[OrderReport] = []
        self.accounts: list[AccountReport] = []

    def __call__(self, report: OrderReport | AccountReport) -> None:
        if isinstance(report, AccountReport):
            self.accounts.append(report)
        else:
            self.orders.append(report)


@pytest.fixture
def user_stream() -> UserStream:
    return UserStream()
