"""``alphaforge binance-loopback``: the loopback Binance venue as a standalone server.

It serves Binance's REST and WebSocket protocol on ``127.0.0.1`` (see
:mod:`alphaforge_binance.loopback`), moving its scripted market ``--rate`` times a second, so a
paper-trading node (``alphaforge run``) can be tried end to end on a machine without network
access or Binance credentials. Point the adapter at it with ``rest_url`` / ``ws_url``.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["LoopbackProcess", "loopback_command"]


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a TCP port (0-65535), got {text!r}")
    return value


def _venue_class() -> Any:
    from alphaforge_binance.loopback import BinanceLoopbackVenue

    return BinanceLoopbackVenue


def _stamped_venue(**kw: Any) -> Any:
    """A venue that notes ``perf_counter_ns`` when it queues each trade / depth event."""

    class StampedVenue(_venue_class()):  # type: ignore[misc]
        def __init__(self, **kw: Any) -> None:
            self.sent_trades: dict[int, int] = {}
            self.sent_depth: dict[int, int] = {}
            super().__init__(**kw)

        def _broadcast(self, stream: str, data: Any) -> None:
            if stream.endswith("@trade"):
                self.sent_trades[data["t"]] = time.perf_counter_ns()
            elif stream.endswith("@depth@100ms"):
                self.sent_depth[data["u"]] = time.perf_counter_ns()
            super()._broadcast(stream, data)

    return StampedVenue(**kw)


def loopback_command(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """The CLI command (registered through ``alphaforge_register_cli``)."""
    parser.add_argument("--rest-port", type=_port, default=18081, help="0: any free port")
    parser.add_argument("--ws-port", type=_port, default=18082, help="0: any free port")
    parser.add_argument("--rate", type=_positive, default=20.0, help="market moves per second")
    parser.add_argument("--seed", type=int, default=7, help="seed of the scripted market")
    parser.add_argument("--duration", type=_positive, help="stop after this many seconds")
    parser.add_argument(
        "--stamps", metavar="PATH",
        help="on exit, write when (time.perf_counter_ns) each trade and depth event was queued "
             "for sending, as JSON (latency benchmarks: the clock is system-wide on Linux)",
    )  # fmt: skip

    def run(args: argparse.Namespace) -> int:
        venue = _stamped_venue(seed=args.seed) if args.stamps else _venue_class()(seed=args.seed)
        venue.http.port, venue.ws.port = args.rest_port, args.ws_port
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        try:
            venue.__enter__()
        except OSError as exc:
            print(f"alphaforge binance-loopback: cannot listen: {exc}", file=sys.stderr)
            return 1
        try:
            # One line of JSON, so scripts (and tests) can read the bound URLs.
            print(json.dumps({"rest_url": venue.rest_url, "ws_url": venue.ws_url}), flush=True)
            start = time.monotonic()
            end = start + args.duration if args.duration else float("inf")
            moves = 0
            # A fixed schedule (not sleep-per-move), so the rate holds whatever a move costs.
            while not stop.is_set() and time.monotonic() < end:
                venue.step()
                moves += 1
                stop.wait(max(0.0, start + moves / args.rate - time.monotonic()))
        finally:
            venue.__exit__(None, None, None)
        if args.stamps:
            with open(args.stamps, "w", encoding="utf-8") as out:
                json.dump({"trades": venue.sent_trades, "depth": venue.sent_depth}, out)
        print(json.dumps({"moves": moves, "last_update_id": venue.last_update_id}), flush=True)
        return 0

    return run


class LoopbackProcess:
    """``alphaforge binance-loopback ARGS`` in a child process (its own interpreter, as a real
    venue) on free ports, for tests and benchmarks; ``rest_url`` / ``ws_url`` once it listens.
    """

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "alphaforge", "binance-loopback", "--rest-port", "0",
             "--ws-port", "0", *args],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        urls = json.loads(self.proc.stdout.readline())
        self.rest_url: str = urls["rest_url"]
        self.ws_url: str = urls["ws_url"]

    def stop(self, timeout: float = 30.0) -> dict[str, Any]:
        """SIGTERM (a clean stop) and its last line: ``{"moves", "last_update_id"}``."""
        self.proc.terminate()
        return self.wait(timeout)

    def wait(self, timeout: float) -> dict[str, Any]:
        """Wait for it to end (``--duration``); its last line. A failed exit raises."""
        out, _ = self.proc.communicate(timeout=timeout)
        if self.proc.returncode != 0:
            raise RuntimeError(f"binance-loopback exited with {self.proc.returncode}")
        result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return result
