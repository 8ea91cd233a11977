"""Put several runs side by side: a metrics table and overlaid equity and drawdown curves."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bot.report import returns as rt
from bot.report import trade_stats as ts
from bot.report.html import esc, figure, fmt, page, section, table
from bot.report.overview import RETURN_ROWS, RUN_ROWS, nested
from bot.report.plotting import (
    RUN_COLORS,
    WIDE,
    date_axis,
    figure_svg,
    log_y,
    new_figure,
    percent_axis,
    styled,
    thin,
    top_legend,
)
from bot.report.run_reader import RunFolder, load_run
from bot.report.tearsheet import write_html

ML_ROWS = (
    ("accuracy", "ML accuracy", "pct"),
    ("baseline_accuracy", "ML majority-class accuracy", "pct"),
    ("roc_auc", "ML ROC AUC", "prob"),
    ("brier", "ML Brier score", "prob"),
)


def run_labels(runs: Sequence[RunFolder]) -> list[str]:
    """Return one unique label per run: its name, plus the folder name when names repeat."""
    names = [r.name for r in runs]
    return [f"{n} ({r.path.name})" if names.count(n) > 1 else n for n, r in zip(names, runs, strict=True)]


def _metric_value(run: RunFolder, key: str, computed: dict[str, float]) -> float | None:
    value = run.metrics.get(key)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else computed.get(key)


def metrics_table(runs: Sequence[RunFolder], labels: Sequence[str], daily: Sequence[pd.DataFrame]) -> str:
    """Return the side-by-side metrics table (one column per run)."""
    computed = []
    for run, frame in zip(runs, daily, strict=True):
        values = rt.return_metrics(frame["equity"], rt.periods_per_year(run.metrics, frame.index))
        values.update(ts.trade_summary(run.trades) if not run.trades.empty else {})
        computed.append(values)
    rows = []
    for key, label, kind, _doc in RETURN_ROWS + RUN_ROWS:
        rows.append([label] + [fmt(_metric_value(r, key, c), kind) for r, c in zip(runs, computed, strict=True)])
    for key, label, kind in ML_ROWS:
        if any((r.metrics.get("ml") or {}).get(key) is not None for r in runs):
            rows.append([label] + [fmt((r.metrics.get("ml") or {}).get(key), kind) for r in runs])
    return table(["Metric", *labels], rows, cls="compare")


def runs_table(runs: Sequence[RunFolder], labels: Sequence[str]) -> str:
    """Return a table describing each run's set-up."""
    rows = []
    for run, label in zip(runs, labels, strict=True):
        symbols = nested(run.config, "data.symbols", [])
        rows.append(
            (
                label,
                run.path.name,
                nested(run.config, "strategy.name", "–"),
                nested(run.config, "model.type", "–") if run.has_ml else "none",
                ", ".join(map(str, symbols)) if isinstance(symbols, list) else str(symbols),
                f"{run.equity.index[0]:%Y-%m-%d} to {run.equity.index[-1]:%Y-%m-%d}",
                f"{fmt(nested(run.config, 'broker.commission'), 'pct')} / "
                f"{fmt(nested(run.config, 'broker.slippage'), 'pct')}",
            )
        )
    headers = ("Run", "Folder", "Strategy", "Model", "Symbols", "Period", "Commission / slippage")
    return table(headers, rows, cls="runs")


@styled
def _overlay(curves: Sequence[pd.Series], labels: Sequence[str], ylabel: str, log: bool, pct: bool) -> str:
    fig, ax = new_figure(WIDE)
    for i, (curve, label) in enumerate(zip(curves, labels, strict=True)):
        curve = thin(curve)
        ax.plot(
            curve.index,
            curve.to_numpy(),
            color=RUN_COLORS[i % len(RUN_COLORS)],
            lw=1.3,
            label=label,
        )
    if log:
        log_y(ax)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("Date")
    if pct:
        percent_axis(ax)
    date_axis(ax)
    top_legend(ax, ncol=3, fontsize=8.5)
    return figure_svg(fig)


def build_comparison(runs: Sequence[RunFolder]) -> str:
    """Return the comparison page HTML for loaded runs."""
    labels = run_labels(runs)
    daily = [rt.daily_frame(r.equity) for r in runs]
    growth = [d["equity"] / float(d["equity"].iloc[0]) for d in daily]
    drawdowns = [rt.drawdown_series(d["equity"]) for d in daily]
    equity_body = (
        '<label class="toggle"><input type="checkbox" id="log-scale"> Log scale</label>'
        f'<div id="equity-linear">{_overlay(growth, labels, "Growth of 1", False, False)}</div>'
        f'<div id="equity-log" class="hidden">{_overlay(growth, labels, "Growth of 1, log scale", True, False)}</div>'
    )
    perf = figure(
        "chart-equity",
        "Equity curves (growth of 1)",
        equity_body,
        "Each run's equity / its first value.",
    )
    perf += figure(
        "chart-drawdown",
        "Drawdown (underwater curves)",
        _overlay(drawdowns, labels, "Drawdown", False, True),
    )
    body = (
        section("runs", "Runs", runs_table(runs, labels))
        + section(
            "metrics",
            "Metrics side by side (Sharpe, Drawdown, Trades)",
            metrics_table(runs, labels, daily),
        )
        + section("performance", "Performance", perf)
    )
    header = f"<h1>Run comparison</h1><p>{esc(' vs '.join(labels))}</p>"
    nav = [("runs", "Runs"), ("metrics", "Metrics"), ("performance", "Performance")]
    return page("Run comparison: " + ", ".join(labels), header, nav, body)


def write_comparison(run_dirs: Sequence[Path], out: Path) -> Path:
    """Write a comparison of ``run_dirs`` to ``out`` and return its path."""
    runs = [load_run(d) for d in run_dirs]
    return write_html(Path(out), build_comparison(runs))
