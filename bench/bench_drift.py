#!/usr/bin/env python
"""Benchmark: how often the drift detector fires, on real data and on stationary synthetic data.

Replays what a live session does, quarter by quarter, with nothing from the future:
at each step t the bars before t are all there is; ``bot.retrain``'s evaluation trains a model
on the latest window and scores it on the last ``retrain.eval_bars`` bars (out of sample); the
live ``DriftMonitor`` built from that model then checks the next ``drift.window`` bars (features,
P(up), and performance against what the evaluation promised). Prints how often each kind of
drift fired, quantiles of the statistics behind it (to choose thresholds for a target alarm
rate), and the windows that fired.

``--synthetic`` runs the same replay on the sample generator (GARCH, constant parameters: no
regime change by construction), same symbol count and span, so its alarm rate is the detector's
false-alarm rate on data that does not drift.

    python bench/bench_drift.py [--config config/lifecycle/ml_daily.yaml] [--synthetic] [--step 63]
        [--set KEY=VALUE ...] [--csv FILE]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd
from common import ROOT, require_data_dir  # noqa: E402  (first: puts the repo on sys.path)
from loguru import logger  # noqa: E402

from bot.configure import load_config  # noqa: E402
from bot.data.loading import load_data  # noqa: E402
from bot.data.schema import union_calendar  # noqa: E402
from bot.drift.monitor import DriftMonitor  # noqa: E402
from bot.retrain.job import evaluate  # noqa: E402

KINDS = ("data", "prediction", "performance", "any")


def _before(bars: dict[str, pd.DataFrame], t: pd.Timestamp) -> dict[str, pd.DataFrame]:
    return {s: df[df.index < t] for s, df in bars.items()}


def replay(cfg, bars: dict[str, pd.DataFrame], step: int) -> pd.DataFrame:
    """Return one row per checked window: its dates, what fired, and the statistics behind it."""
    calendar = union_calendar(bars)
    ev = cfg.retrain.eval_bars or cfg.validation.test
    first, win = cfg.validation.train + ev, cfg.drift.window
    rows = []
    for t in range(first, len(calendar) - win + 1, step):
        known = _before(bars, calendar[t])  # the session's past at the retrain
        model = evaluate(cfg, known, registry=None).model
        monitor = DriftMonitor.for_model(model, known, cfg.drift)
        report, _ = monitor.check(_before(bars, calendar[t + win]) if t + win < len(calendar) else bars)
        feats = [v for v in report["features"].values() if isinstance(v.get("psi"), float)]
        perf, pred = report["performance"], report["prediction"]
        cur, promised = perf.get("current") or {}, perf.get("promised") or {}
        rows.append(
            {
                "start": calendar[t].date(),
                "end": calendar[min(t + win, len(calendar)) - 1].date(),
                "data": bool(report["data"]["drift"]),
                "prediction": bool(pred.get("drift")),
                "performance": bool(perf.get("drift")),
                "any": bool(report["drift"]),
                "n_drifted": len(report["data"]["drifted_features"]),
                "max_feature_psi": max((v["psi"] for v in feats), default=np.nan),
                "prediction_psi": pred.get("psi", np.nan),
                "accuracy_drop": promised.get("accuracy", np.nan) - cur.get("accuracy", np.nan),
                "brier_increase": cur.get("brier", np.nan) - promised.get("brier", np.nan),
                "accuracy_se": cur.get("accuracy_se", np.nan),
                "accuracy_pvalue": perf.get("accuracy_pvalue", np.nan),
                "reasons": "; ".join(report["reasons"]),
            }
        )
    return pd.DataFrame(rows)


def _print(table: pd.DataFrame, label: str, cfg, seconds: float) -> None:
    d = cfg.drift
    print(
        f"{label}: {len(table)} windows of {d.window} bars, step {table.attrs['step']}, {seconds:.0f} s; "
        f"thresholds psi {d.psi_threshold}, ks_alpha {d.ks_alpha}, prediction_psi {d.prediction_psi}, "
        f"max_accuracy_drop {d.max_accuracy_drop}, max_brier_increase {d.max_brier_increase}"
    )
    for kind in KINDS:
        print(f"  {kind:<12} fired in {int(table[kind].sum()):>3} of {len(table)} windows ({table[kind].mean():.1%})")
    q = table[["n_drifted", "max_feature_psi", "prediction_psi", "accuracy_drop", "brier_increase", "accuracy_se"]]
    print("  quantiles over windows:")
    print(q.quantile([0.5, 0.9, 0.95]).rename(index=lambda v: f"    p{round(v * 100)}").round(4).to_string())
    print(
        f"  spread of the accuracy drop across windows {table['accuracy_drop'].std():.4f}; the current window's "
        f"standard error alone {np.sqrt(np.mean(table['accuracy_se'] ** 2)):.4f} (root mean square)"
    )
    fired = table[table["any"]]
    if len(fired):
        print("  windows that fired:")
        for _, r in fired.iterrows():
            print(f"    {r['start']}..{r['end']}: {r['reasons'][:160]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "config" / "lifecycle" / "ml_daily.yaml"))
    ap.add_argument("--synthetic", action="store_true", help="stationary sample data (same symbols count and span)")
    ap.add_argument("--step", type=int, default=None, help="bars between checks (default drift.window)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--csv", default=None, help="write the per-window table here")
    args = ap.parse_args()
    logger.remove()
    sets = list(args.set)
    if args.synthetic:
        n = len(load_config(args.config, sets).data.symbols)
        sets += [
            "data.source=sample",
            "data.path=null",
            f"data.symbols=[{','.join(f'SYN_{chr(65 + i)}' for i in range(n))}]",
        ]
    elif require_data_dir() is None:
        return 2
    cfg = load_config(args.config, sets)
    bars, _ = load_data(cfg)
    step = args.step or cfg.drift.window
    t0 = time.perf_counter()
    table = replay(cfg, bars, step)
    table.attrs["step"] = step
    _print(
        table,
        "synthetic (stationary)" if args.synthetic else f"{cfg.name} on {', '.join(bars)}",
        cfg,
        time.perf_counter() - t0,
    )
    if args.csv:
        table.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
