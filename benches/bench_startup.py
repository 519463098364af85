"""Start-up cost: ``import alphaforge`` and a kernel built with every installed plugin.

Each sample is a fresh interpreter (``python -c``), timed from inside it so interpreter start-up
itself is excluded; the peer builds its backtest engine, nautilus' equivalent of our kernel.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

TIMED = """
import time
t0 = time.perf_counter()
{body}
import sys
print("elapsed_ms", (time.perf_counter() - t0) * 1000, file=sys.stderr, flush=True)
"""

WORKLOADS = {
    "startup.import": {
        "alphaforge": "import alphaforge",
        "nautilus_trader": "import nautilus_trader",
    },
    "startup.import_and_build_kernel": {
        "alphaforge": "from alphaforge.kernel import Kernel\nKernel().build()",
        "nautilus_trader": (
            "from nautilus_trader.backtest.engine import BacktestEngine\nBacktestEngine()"
        ),
    },
}


def median_ms(body: str, runs: int) -> float:
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", TIMED.format(body=body)],
            capture_output=True,
            text=True,
            check=True,
        )
        # The peer logs to the terminal: pick our line out of whatever else is printed.
        line = next(x for x in out.stderr.splitlines() if x.startswith("elapsed_ms "))
        samples.append(float(line.split()[1]))
    return statistics.median(samples)


def run(ctx) -> None:  # type: ignore[no-untyped-def]
    runs = ctx.repeats(11)
    for name, impls in WORKLOADS.items():
        if not ctx.wants(name):
            continue
        for impl, body in impls.items():
            if impl != "alphaforge" and ctx.peer(impl) is None:
                continue
            ctx.record(name, impl, "median", median_ms(body, runs), "ms")
