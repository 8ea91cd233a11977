"""Evaluate a config's ML signal out of sample, without the Backtrader simulation.

    python -m bot.research.evaluate --config config/backtest/ml_daily.yaml [--set key=value] [--out DIR]

Runs ``validation.scheme`` (walk_forward, purged_kfold or cpcv) and writes to the output folder
(default ``evaluations/<UTC timestamp>-<name>/``): ``config.yaml``, ``metrics.json`` (the ``ml``
object a backtest writes, with ``ml.stats``), ``folds.csv`` (scores and trading-rule metrics per
fold), ``oos_predictions.csv``, ``calibration.csv`` and ``feature_importance.csv``. Prints a summary.
Config problems exit 2 and data problems exit 3, with one line and no traceback.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from bot.cli import base_parser, run_cli, setup_logging
from bot.config import Config, dump_config
from bot.configure import load_config
from bot.data.loading import load_data
from bot.ml.walkforward import WalkForwardResult, run_validation
from bot.runfolder import csv_text, json_text, prepare_out_dir, write_atomically
from bot.version import code_version


def evaluate_bars(cfg: Config) -> dict[str, pd.DataFrame]:
    """Load and validate the configured bars, as a backtest would."""

    loaded = load_data(cfg)
    return loaded[0] if isinstance(loaded, tuple) else loaded  # (bars, validation report)


def evaluate(cfg: Config, bars: dict[str, pd.DataFrame] | None = None) -> WalkForwardResult:
    """Load the configured data (unless given) and run the configured validation scheme."""
    return run_validation(bars if bars is not None else evaluate_bars(cfg), cfg)


def evaluation_metrics(result: WalkForwardResult, cfg: Config) -> dict:
    """Return the metrics.json mapping of an evaluation."""

    ml = dict(result.metrics, n_folds=int(len(result.folds)), features=result.feature_names)
    return {"name": cfg.name, "ml": ml, "code_version": code_version()}


def write_evaluation(result: WalkForwardResult, cfg: Config, out: Path) -> Path:
    """Write the evaluation folder atomically and return its path."""

    def fill(tmp: Path) -> None:
        (tmp / "config.yaml").write_text(dump_config(cfg))
        folds = result.folds
        (tmp / "folds.csv").write_text(csv_text(folds, ("train_start", "train_end", "test_start", "test_end")))
        (tmp / "oos_predictions.csv").write_text(csv_text(result.predictions, ("timestamp",)))
        calib = pd.DataFrame(result.metrics.get("calibration", []))
        (tmp / "calibration.csv").write_text(csv_text(calib))
        (tmp / "feature_importance.csv").write_text(csv_text(result.importance))
        (tmp / "metrics.json").write_text(json_text(evaluation_metrics(result, cfg)))

    return write_atomically(out, fill)


def _num(v, fmt: str = ".4f") -> str:
    return "n/a" if v is None or (isinstance(v, float) and v != v) else format(v, fmt)


def summary_text(result: WalkForwardResult, cfg: Config, out: Path | None = None) -> str:
    """Return a short plain-text summary of the evaluation."""
    m = result.metrics
    head = (
        f"evaluate {cfg.name}: {cfg.validation.scheme}, {len(result.folds)} folds, "
        f"{m.get('n_predictions', 0)} predictions, label {cfg.model.label}, horizon {cfg.model.horizon}, "
        f"model {cfg.model.type}"
    )
    if not m.get("n_predictions"):
        return head + "\nno out-of-sample predictions (too little data for one training window?)"
    b, t = m["stats"]["binomial"], m["trading"]
    rule = m["stats"]["rule"]
    psr = rule.get("psr", rule.get("psr_median"))
    dsr = rule.get("dsr", rule.get("dsr_median"))
    lines = [
        head,
        f"accuracy {_num(m['accuracy'])} vs majority baseline {_num(m['baseline_accuracy'])} "
        f"(binomial p {_num(b['p_value'], '.3g')}, with n/{max(1, b['n'] // b['n_effective'])} "
        f"p {_num(b['p_value_effective'], '.3g')})",
        f"balanced accuracy {_num(m['balanced_accuracy'])}  f1 {_num(m['f1'])}  roc auc {_num(m['roc_auc'])}  "
        f"log loss {_num(m['log_loss'])}  brier {_num(m['brier'])}",
        f"rule (long when P(up) > 0.5, {t['cost_per_change']:.2%} per change): sharpe {_num(t.get('sharpe'), '.3f')} "
        f"vs buy-and-hold {_num(t.get('buy_hold_sharpe'), '.3f')}, max drawdown {_num(t.get('max_drawdown'), '.2%')}, "
        f"win rate {_num(t.get('win_rate'), '.2%')}, profit factor {_num(t.get('profit_factor'), '.3f')}",
        f"probabilistic sharpe {_num(psr, '.3f')}, deflated sharpe {_num(dsr, '.3f')} "
        f"(n_trials {cfg.tuning.n_trials}; above 0.95 would be significant)",
    ]
    if out is not None:
        lines.append(f"evaluation folder: {out}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(
        "python -m bot.research.evaluate", "Evaluate a config's ML signal out of sample (no Backtrader)."
    )
    parser.add_argument("--out", help="output folder (default: evaluations/<UTC timestamp>-<name>/)")
    args = parser.parse_args(argv)

    def go() -> int:
        setup_logging(args.quiet, args.verbose)

        cfg = load_config(args.config, args.set)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        out = Path(args.out) if args.out else Path("evaluations") / f"{stamp}-{cfg.name}"
        prepare_out_dir(out)
        result = evaluate(cfg)
        path = write_evaluation(result, cfg, out)
        print(summary_text(result, cfg, path))
        return 0

    return run_cli(go)


if __name__ == "__main__":
    sys.exit(main())
