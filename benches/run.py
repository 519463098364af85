"""Run the benchmark suite and print JSON records.

    python benches/run.py [--filter NAME] [--json OUT] [--quick]

Every record is ``{"name", "impl", "metric", "value", "unit"}``. Each ``bench_*.py`` module
defines ``run(ctx)``; where a peer (``nautilus_trader``) is importable the same workload also
runs on it in the same process and run, recorded with ``"impl": "nautilus_trader"``, so ratios
hold on a noisy machine. Figures are medians over repeats.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from harness import Context


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--filter", default="", help="only benchmarks whose name contains this")
    parser.add_argument("--json", type=Path, help="also write the records to this file")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (smoke run)")
    args = parser.parse_args()

    ctx = Context(name_filter=args.filter, quick=args.quick)
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.run(ctx)

    document = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "peers": ctx.peer_versions(),
        "records": ctx.records,
        "ratios": ctx.ratios(),
    }
    text = json.dumps(document, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
