"""Benchmark: load 25 daily symbols from CSV vs from the Parquet cache; print the medians.

    python bench/bench_data_load.py [--repeat 7] [--symbols 25]

Reads $MARKET_DATA_DIR (default ../shared/data next to the repo); the cache is built in a
temporary folder first and never inside the repo.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from loguru import logger

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.data import data_hash, load_bars  # noqa: E402


def _timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    """Run the benchmark and print one line per method."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--symbols", type=int, default=25)
    a = ap.parse_args()
    logger.remove()
    data = Path(os.environ.get("MARKET_DATA_DIR", REPO.parent / "shared" / "data"))
    folder = data / "equities" / "daily"
    symbols = sorted(p.stem for p in folder.glob("*.csv"))[: a.symbols]
    if len(symbols) < a.symbols:
        print(f"only {len(symbols)} symbols in {folder}")
    with tempfile.TemporaryDirectory() as tmp:
        cached = load_bars("csv", symbols, path=str(folder), cache_dir=tmp)  # fill the cache
        rows = sum(len(f) for f in cached.values())
        runs = {
            "csv (strict parse + checks)": lambda: load_bars("csv", symbols, path=str(folder)),
            "parquet folder": lambda: load_bars("parquet", symbols, path=str(Path(tmp) / "1d")),
            "csv source through cache (hit)": lambda: load_bars("csv", symbols, path=str(folder), cache_dir=tmp),
        }
        same = data_hash(runs["parquet folder"]()) == data_hash(runs["csv (strict parse + checks)"]())
        print(f"{len(symbols)} symbols, {rows} bars, repeat={a.repeat}, identical data: {same}")
        for name, fn in runs.items():
            times = _timed(fn, a.repeat)
            print(
                f"{name:32s} median {statistics.median(times) * 1000:8.1f} ms  "
                f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
