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

At least 1,000 injected faults and 20 SIGKILL restarts per venue (about 40 s to a minute per run
on a quiet machine, so plan an hour or two per venue):

    python bench/bench_live_faults.py --seeds 25 --bars 60 --faults-per-bar 1 --kills 2 --venue both

(25 x 60 x ~0.7 hit faults ~ 1,050 faults and 25 x 2 = 50 kills per venue; ``--faults-per-bar 2``
doubles the faults at the same cost in kills.) Timeouts cost the client's 10 s timeout each, so they
are rare by default; ``--no-timeouts`` leaves them out. Exit status: 0 when no invariant was
violated, 1 otherwise.
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
    p = argparse.ArgumentParser(prog="bench_live_faults.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=3, help="runs per venue (seeds 1..N)")
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--venue", choices=["alpaca", "binance", "both"], default="both")
    p.add_argument("--bars", type=int, default=30, help="bars traded per run")
    p.add_argument("--faults-per-bar", type=float, default=0.7, help="mean faults injected per bar")
    p.add_argument("--kills", type=int, default=2, help="SIGKILL restarts per run")
    p.add_argument("--no-timeouts", action="store_true", help="leave out timeout faults (10 s each)")
    p.add_argument("--json", metavar="FILE", help="append one JSON line per run")
    a = p.parse_args(argv)
    if a.seeds < 1 or a.bars < 5:
        print("bench_live_faults.py: --seeds must be >= 1 and --bars >= 5", file=sys.stderr)
        return 2
    venues = ["alpaca", "binance"] if a.venue == "both" else [a.venue]
    results = []
    for venue in venues:
        for seed in range(a.first_seed, a.first_seed + a.seeds):
            plan = draw_plan(venue, seed, bars=a.bars, fault_rate=a.faults_per_bar, kills=a.kills,
                             timeouts=not a.no_timeouts)
            t0 = time.monotonic()
            with tempfile.TemporaryDirectory(prefix=f"sim-{venue}-{seed}-") as tmp:
                r = run_plan(plan, Path(tmp))
            results.append(r)
            print(f"{venue} seed {seed}: {sum(r.faults.values())} faults, {r.kills} kills, "
                  f"{len(r.violations())} violations, {time.monotonic() - t0:.0f} s", flush=True)
            for line in r.violations() + [f"{venue} seed {seed}: session died: {c}" for c in r.crashes]:
                print(f"  {line}", flush=True)
            if a.json:
                with open(a.json, "a") as out:
                    out.write(result_json(r) + "\n")
    print(summarize(results))
    return 1 if any(r.violations() for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
