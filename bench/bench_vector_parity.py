#!/usr/bin/env python
"""Parity sweep: the vector engine against Backtrader on many random configs and seeds (0 differences expected).

Each seed draws synthetic bars (gaps, holes, symbols starting on different dates) and a random config
(stops, take-profits, trailing stops, sizing, halts, shorts, fractional sizes, costs, tick): see
bot/engine/parity.py. Prints every seed with a difference and the count; exits 1 if any.

    python bench/bench_vector_parity.py [--n 500] [--start 0]
"""

from __future__ import annotations

import argparse
import sys
import time

from common import ROOT  # noqa: F401  (first: puts the repo on sys.path)
from loguru import logger  # noqa: E402

from bot.engine.parity import check_case, random_case  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--start", type=int, default=0)
    args = ap.parse_args()
    logger.remove()
    t0 = time.perf_counter()
    bad = 0
    for seed in range(args.start, args.start + args.n):
        diffs = check_case(random_case(seed))
        if diffs:
            bad += 1
            print(f"seed {seed}: {diffs[:3]}")
    print(
        f"{args.n} random cases (seeds {args.start}..{args.start + args.n - 1}): {bad} with differences "
        f"({time.perf_counter() - t0:.0f} s)"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
