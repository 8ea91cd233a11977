"""Benchmark feature computation: a preset on N daily equity symbols, timed over R repeats.

    python bench/bench_features.py [--preset full] [--symbols 20] [--repeats 5]

Reads $MARKET_DATA_DIR/equities/daily/*.csv (default ../shared/data from the repo root) with
pandas directly. Prints the median seconds per symbol and symbol-bars per second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.features import FEATURE_PRESETS, REGISTRY, compute_features  # noqa: E402

CONTEXT_SYMBOLS = ("SPY", "VIX")


def data_dir() -> Path:
    return Path(os.environ.get("MARKET_DATA_DIR", ROOT.parent / "shared" / "data"))


def read_bars(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, parse_dates=["date"], index_col="date")
    df.index = df.index.tz_localize("UTC")
    return df[["open", "high", "low", "close", "volume"]].astype("float64")


def load(n: int) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    folder = data_dir() / "equities" / "daily"
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise SystemExit(f"no CSV files in {folder} (set MARKET_DATA_DIR)")
    bars = {p.stem: read_bars(p) for p in files if p.stem != "VIX"}
    context = {s: bars.get(s) if s in bars else read_bars(folder / f"{s}.csv") for s in CONTEXT_SYMBOLS}
    return dict(list(bars.items())[:n]), context


def time_once(bars: dict[str, pd.DataFrame], names: list[str], context: dict) -> float:
    start = time.perf_counter()
    for df in bars.values():
        compute_features(df, names, context)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="full", choices=sorted(FEATURE_PRESETS))
    ap.add_argument("--symbols", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    bars, context = load(args.symbols)
    names = FEATURE_PRESETS[args.preset]
    n_bars = sum(len(df) for df in bars.values())
    time_once(bars, names, context)  # warm-up: imports, first-call overheads
    totals = [time_once(bars, names, context) for _ in range(args.repeats)]
    med = statistics.median(totals)
    print(f"preset={args.preset} features={len(names)} (registry {len(REGISTRY)})")
    print(f"symbols={len(bars)} bars={n_bars} repeats={args.repeats}")
    print(f"median seconds per symbol: {med / len(bars):.4f}")
    print(f"symbol-bars per second: {n_bars / med:,.0f}")
    print(f"repeat totals (s): {', '.join(f'{t:.3f}' for t in totals)}")


if __name__ == "__main__":
    main()
