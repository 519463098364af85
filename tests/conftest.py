"""Shared fixtures for the cross-package test suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(os.environ.get("ALPHAFORGE_REPO", Path(__file__).resolve().parents[1]))
SHARED_DATA = Path(os.environ.get("ALPHAFORGE_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def shared_data() -> Path:
    """The team's real market data and payload samples; tests skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not present at {SHARED_DATA}")
    return SHARED_DATA
