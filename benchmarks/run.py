"""Benchmark `sesrego scan` against the floor, at several plan sizes.

For each size it generates a plan (benchmarks/generate.py), then runs, as whole processes and
several times each: the floor (benchmarks/floor.py: OPA's engine decoding every policy string)
and `sesrego scan PLAN --format json`. It reports the median wall time and the peak memory
(maximum resident set size) of each, and their ratio, which is the figure to watch. It also
times compiling and bundling the default sources.

    python benchmarks/run.py                      # 1,000, 10,000 and 50,000 policies, 3 runs each
    python benchmarks/run.py --sizes 1000 10000 --runs 5 --json results.json

Not a test: timings depend on the machine. Record them in the README when the rules change.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(command: list[str], runs: int) -> dict:
    """Median wall time (s) and peak RSS (MiB) of a command run ``runs`` times as a process."""
    walls, peaks = [], []
    for _ in range(runs):
        with tempfile.TemporaryFile() as errors:
            start = time.perf_counter()
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
            _, status, usage = os.wait4(process.pid, 0)
            walls.append(time.perf_counter() - start)
            process.returncode = code = os.waitstatus_to_exitcode(status)
            peaks.append(usage.ru_maxrss / 1024)  # KiB on Linux
            if code not in (0, 1):  # 1 is a scan with findings
                errors.seek(0)
                raise SystemExit(f"{' '.join(command)} exited {code}:\n{errors.read().decode(errors='replace')}")
    return {"seconds": statistics.median(walls), "peak_mib": max(peaks), "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000], help="policy resources")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (the median is reported)")
    parser.add_argument("--json", dest="json_out", type=Path, help="also write the results as JSON")
    args = parser.parse_args()

    python = sys.executable
    results: dict = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                 "platform": platform.platform()}, "sizes": []}
    with tempfile.TemporaryDirectory(prefix="sesrego-bench-") as tmp:
        work = Path(tmp)
        results["compile"] = measure([python, "-m", "sesrego", "compile", "-o", str(work / "policy")], args.runs)
        results["bundle"] = measure([python, "-m", "sesrego", "bundle", "-o", str(work / "bundle.tar.gz")],
                                    args.runs)
        for size in args.sizes:
            plan = work / f"plan-{size}.json"
            with plan.open("wb") as handle:
                subprocess.run([python, str(HERE / "generate.py"), str(size)], stdout=handle, check=True)
            floor = measure([python, str(HERE / "floor.py"), str(plan)], args.runs)
            scan = measure([python, "-m", "sesrego", "scan", str(plan), "--format", "json"], args.runs)
            row = {"policies": size, "plan_mib": plan.stat().st_size / 2**20, "floor": floor, "scan": scan,
                   "ratio": scan["seconds"] / floor["seconds"]}
            results["sizes"].append(row)
            print(f"{size:>7} policies ({row['plan_mib']:.1f} MiB): floor {floor['seconds']:.2f} s "
                  f"{floor['peak_mib']:.0f} MiB, scan {scan['seconds']:.2f} s {scan['peak_mib']:.0f} MiB, "
                  f"ratio {row['ratio']:.1f}", file=sys.stderr, flush=True)
            plan.unlink()

    sizes = results["sizes"]
    if len(sizes) > 1:
        first, last = sizes[0], sizes[-1]
        results["growth"] = {"policies": last["policies"] / first["policies"],
                             "scan_time": last["scan"]["seconds"] / first["scan"]["seconds"],
                             "floor_time": last["floor"]["seconds"] / first["floor"]["seconds"]}

    print("| policies | plan | floor | floor peak | scan | scan peak | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for row in sizes:
        print(f"| {row['policies']:,} | {row['plan_mib']:.1f} MiB | {row['floor']['seconds']:.2f} s | "
              f"{row['floor']['peak_mib']:.0f} MiB | {row['scan']['seconds']:.2f} s | "
              f"{row['scan']['peak_mib']:.0f} MiB | {row['ratio']:.1f} |")
    if "growth" in results:
        growth = results["growth"]
        print(f"\nFrom {sizes[0]['policies']:,} to {sizes[-1]['policies']:,} policies (x{growth['policies']:.0f}): "
              f"scan time x{growth['scan_time']:.1f}, floor x{growth['floor_time']:.1f}.")
    print(f"Compile the default sources: {results['compile']['seconds']:.2f} s; "
          f"bundle: {results['bundle']['seconds']:.2f} s (whole process, median of {args.runs}).")
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
