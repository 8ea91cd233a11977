#!/usr/bin/env python
"""Benchmark: randomized fault + SIGKILL simulation of whole live sessions (tests/live/sim.py).

Each seed is one session of run_live.py (sma_cross, stop-loss + take-profit brackets) against the
loopback FakeAlpaca and/or FakeBinance, with a seeded fault schedule (429, 5xx, outages, answers lost
after the venue acted, timeouts, partial fills, rejected orders and exits) injected through the
fakes' ``inject`` API, and SIGKILLs (``os.kill``) followed by restarts. Prints per venue: runs,
faults injected by kind, SIGKILL restarts, duplicates, lost orders, lost fills, audit differences,
unprotected positions, off-increment orders, wall time, and every violation with its seed and ids.

    python bench/bench_live_faults.py                      # 3 seeds per venue, 30 bars, 2 kills each
    python bench/bench_live_faults.py --seeds 10 --venue binance --json runs.jsonl

At least 1,000 faults that hit a request and 20 SIGKILL restarts per venue (measured 2026-12-06:
about 55 s per Alpaca run and 4 minutes per Binance run with the other venue running beside it):

    python bench/bench_live_faults.py --seeds 12 --bars 60 --faults-per-bar 3.5 --kills 2 --venue alpaca
    python bench/bench_live_faults.py --seeds 10 --bars 60 --faults-per-bar 4 --kills 3 --venue binance

(split with ``--seeds 6 --first-seed 1`` / ``--first-seed 7`` and ``--seeds 5 --first-seed 1`` /
``--first-seed 6`` to run two processes side by side; on 4564065: Alpaca 1,244 faults hit, 24
kills; Binance 1,149 hit, 30 kills; 0 violations of any kind).

About half of the drawn faults hit a request (the summary prints both counts: a fault waits for a
matching request, and a schedule ends with some still waiting). The simulated sessions use short
backoffs and a 3 s request timeout (``broker.venue``), so timeouts are affordable. ``--latency N``
(default 0: off) also runs ``bench_live_latency.py``'s paper session with N symbols at the end and
prints its bar-close-to-order p50/p99. Exit status: 0 when no invariant was violated, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT  # noqa: F401  (first: puts the repo on sys.path)

from tests.live.sim import draw_plan, result_json, run_plan, summarize  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="bench_live_faults.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--seeds", type=int, default=3, help="runs per venue (seeds 1..N)")
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--venue", choices=["alpaca", "binance", "both"], default="both")
    p.add_argument("--bars", type=int, default=30, help="bars traded per run")
    p.add_argument("--faults-per-bar", type=float, default=0.7, help="mean faults injected per bar")
    p.add_argument("--kills", type=int, default=2, help="SIGKILL restarts per run")
    p.add_argument("--no-timeouts", action="store_true", help="leave out timeout faults (10 s each)")
    p.add_argument("--json", metavar="FILE", help="append one JSON line per run")
    p.add_argument(
        "--latency",
        type=int,
        default=0,
        metavar="N",
        help="also measure bar-close-to-order latency of a paper session with N symbols",
    )
    a = p.parse_args(argv)
    if a.seeds < 1 or a.bars < 5:
        print("bench_live_faults.py: --seeds must be >= 1 and --bars >= 5", file=sys.stderr)
        return 2
    venues = ["alpaca", "binance"] if a.venue == "both" else [a.venue]
    results = []
    for venue in venues:
        for seed in range(a.first_seed, a.first_seed + a.seeds):
            plan = draw_plan(
                venue, seed, bars=a.bars, fault_rate=a.faults_per_bar, kills=a.kills, timeouts=not a.no_timeouts
            )
            t0 = time.monotonic()
            with tempfile.TemporaryDirectory(prefix=f"sim-{venue}-{seed}-") as tmp:
                r = run_plan(plan, Path(tmp))
            results.append(r)
            print(
                f"{venue} seed {seed}: {sum(r.faults.values())} faults, {r.kills} kills, "
                f"{len(r.violations())} violations, {time.monotonic() - t0:.0f} s",
                flush=True,
            )
            for line in r.violations() + [f"{venue} seed {seed}: session died: {c}" for c in r.crashes]:
                print(f"  {line}", flush=True)
            if a.json:
                with open(a.json, "a") as out:
                    out.write(result_json(r) + "\n")
    print(summarize(results))
    if a.latency:
        from bench_live_latency import run_once

        lat = run_once(a.latency, 30, "incremental", None)
        print(
            f"bar-close-to-order latency, paper session, {a.latency} symbols: p50 {lat['p50'] * 1000:.1f} ms, "
            f"p99 {lat['p99'] * 1000:.1f} ms over {lat['orders']} orders"
        )
    return 1 if any(r.violations() for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
