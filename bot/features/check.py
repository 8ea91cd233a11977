"""``python -m bot.features check MODULE``: the causality checks the built-in features get, for users' features.

    python -m bot.features check my_features        # a module on the import path
    python -m bot.features check path/to/feats.py   # a file (relative to the working directory)

On the deterministic sample data (bot/data/sample.py), each feature must give identical values at
or before t when every bar after t changes, and when the history ends at t; and no NaN after its
declared warm-up. Prints ``ok <name>`` or ``FAIL <name>: <why>`` per feature; exit 0 when all pass,
1 when any fails, 2 (one ``config error:`` line) when the module cannot be loaded or defines none.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from bot.cli import program, run_cli, setup_logging
from bot.data.sample import sample_bars
from bot.features.api import REQUIRED_COLUMNS
from bot.features.plugins import load_features
from bot.features.registry import Feature
from bot.plugins import one_line

SYMBOL = "SAMPLE_A"
START, END = pd.Timestamp("2015-01-01", tz="UTC"), pd.Timestamp("2016-12-31", tz="UTC")
CUT_FRACTIONS = (0.25, 0.5, 0.75)


def sample_inputs(needs: tuple[str, ...]) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Return the sample bars and the context symbols a feature needs, as float64 OHLCV."""

    def bars(symbol: str) -> pd.DataFrame:
        return sample_bars(symbol, "1d", START, END).loc[:, list(REQUIRED_COLUMNS)].astype("float64")

    return bars(SYMBOL), {s: bars(s) for s in needs}


def perturb_after(df: pd.DataFrame, ts: pd.Timestamp, seed: int) -> pd.DataFrame:
    """Scale every bar stamped after ``ts`` by random factors (OHLC stay consistent)."""
    rng = np.random.default_rng(seed)
    out = df.copy()
    later = out.index > ts
    k = int(later.sum())
    scale = rng.uniform(0.5, 2.0, k)
    for col in ("open", "high", "low", "close"):
        out.loc[later, col] = out.loc[later, col].to_numpy() * scale
    out.loc[later, "volume"] = out.loc[later, "volume"].to_numpy() * rng.uniform(0.1, 10, k)
    return out


def _values(f: Feature, bars: pd.DataFrame, ctx: dict[str, pd.DataFrame]) -> pd.Series:
    col = pd.Series(f.compute(bars, ctx), dtype="float64")
    if not col.index.equals(bars.index):
        raise ValueError(f"returned {len(col)} rows on another index than the bars' {len(bars)}")
    return col


def _first_difference(a: pd.Series, b: pd.Series) -> pd.Timestamp | None:
    x, y = a.to_numpy(), b.to_numpy()
    same = (x == y) | (np.isnan(x) & np.isnan(y))
    return None if same.all() else a.index[int(np.argmin(same))]


def check_feature(f: Feature) -> str | None:
    """Return why ``f`` fails the checks, or None when it passes."""
    bars, ctx = sample_inputs(f.needs)
    try:
        base = _values(f, bars, ctx)
        for i, frac in enumerate(CUT_FRACTIONS):
            cut = int(len(bars) * frac)
            ts = bars.index[cut]
            changed = _values(
                f, perturb_after(bars, ts, 2 + i), {k: perturb_after(v, ts, 9 + i) for k, v in ctx.items()}
            )
            short = _values(f, bars.iloc[: cut + 1], {k: v.loc[v.index <= ts] for k, v in ctx.items()})
            for other in (changed.iloc[: cut + 1], short):
                at = _first_difference(base.iloc[: cut + 1], other)
                if at is not None:
                    return f"looks ahead at {at.date()} (its value changes when bars after {ts.date()} change)"
    except Exception as e:  # noqa: BLE001 - a crash in user code is a failed check, named on one line
        return f"raised {one_line(e)}"
    nan_after = base.iloc[f.warmup :].isna()
    if nan_after.any():
        return f"NaN after its warm-up of {f.warmup} bars, at {nan_after.idxmax().date()}"
    return None


def check_module(spec: str) -> list[tuple[str, str | None]]:
    """Return (name, failure or None) for every feature ``spec`` defines."""
    return [(f.name, check_feature(f)) for f in load_features(spec, spec)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=program("python -m bot.features"), description="Feature tools.")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="check a feature module's features for look-ahead and NaN after warm-up")
    c.add_argument("module", help="module name (my_features) or file (path/to/feats.py)")
    args = p.parse_args(argv)

    def go() -> int:
        setup_logging(quiet=True)
        results = check_module(args.module)
        for name, why in results:
            print(f"ok {name}" if why is None else f"FAIL {name}: {why}")
        return 0 if all(why is None for _, why in results) else 1

    return run_cli(go)
