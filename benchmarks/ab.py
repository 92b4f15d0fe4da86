"""A/B: `sesrego scan` of two checkouts on the same plans, runs interleaved so machine drift hits both alike.

Each checkout needs its own `make install` (its `.venv`). Plans come from benchmarks/generate.py.

    python benchmarks/generate.py 1000 > /tmp/p1k.json
    python benchmarks/generate.py 10000 > /tmp/p10k.json
    python benchmarks/ab.py ../sesrego-before . /tmp/p1k.json /tmp/p10k.json --runs 7

Prints the median whole-process time of each side per plan and the change. Not a test: timings
depend on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from pathlib import Path


def run(checkout: Path, plan: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run([str(checkout / ".venv" / "bin" / "python"), "-m", "sesrego", "scan", str(plan),
                           "--format", "json"], cwd=checkout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):  # 1 is a scan with findings
        raise SystemExit(f"{checkout}: scan {plan} exited {done.returncode}: {done.stderr.decode(errors='replace')}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="checkout measured first on even runs")
    parser.add_argument("after", type=Path, help="checkout measured first on odd runs")
    parser.add_argument("plans", type=Path, nargs="+")
    parser.add_argument("--runs", type=int, default=7, help="runs per side and plan (the median is reported)")
    args = parser.parse_args()
    sides = {"before": args.before.resolve(), "after": args.after.resolve()}
    times: dict[tuple[str, Path], list[float]] = {(side, plan): [] for side in sides for plan in args.plans}
    for n in range(args.runs):
        for plan in args.plans:
            for side in (list(sides) if n % 2 == 0 else list(reversed(sides))):
                times[(side, plan)].append(run(sides[side], plan))
    print("| plan | before | after | change |\n|---|---:|---:|---:|")
    for plan in args.plans:
        before, after = (statistics.median(times[(side, plan)]) for side in sides)
        print(f"| {plan.name} | {before:.2f} s | {after:.2f} s | {100 * (after - before) / before:+.0f}% |")


if __name__ == "__main__":
    main()
