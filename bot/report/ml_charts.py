"""ML diagnostic charts: ROC, reliability diagram, per-fold scores, feature importance, hit rate."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.report.plotting import (
    HALF,
    NEUTRAL_COLOR,
    STRATEGY_COLOR,
    WIDE,
    date_axis,
    figure_svg,
    new_figure,
    new_stacked_figure,
    percent_axis,
    styled,
    top_legend,
)

AUC_COLOR = "#9467bd"


@styled
def roc_chart(fpr: np.ndarray, tpr: np.ndarray, auc: float) -> str:
    """Plot the out-of-sample ROC curve against the chance diagonal."""
    fig, ax = new_figure((5.0, 4.2))
    ax.plot(fpr, tpr, color=STRATEGY_COLOR, lw=1.6, label=f"Model (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], color=NEUTRAL_COLOR, ls="--", lw=1.0, label="Chance (AUC 0.5)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("False positive rate")
    ax.set_ylabel("True positive rate")
    ax.legend(loc="lower right")
    return figure_svg(fig)


@styled
def calibration_chart(points: pd.DataFrame, probs: np.ndarray, brier: float) -> str:
    """Reliability diagram (top) over a histogram of predicted probabilities (bottom)."""
    fig, (ax, hx) = new_stacked_figure((5.6, 5.0), 2, sharex=True, height_ratios=[3, 1])
    ax.plot([0, 1], [0, 1], color=NEUTRAL_COLOR, ls="--", lw=1.0, label="Perfectly calibrated")
    ax.plot(
        points["mean_prob"],
        points["frac_up"],
        marker="o",
        ms=4,
        color=STRATEGY_COLOR,
        lw=1.5,
        label=f"Model (Brier {brier:.3f})",
    )
    q_lo, q_hi = np.quantile(probs, [0.002, 0.998]) if len(probs) else (0.0, 1.0)
    lo = max(0.0, min(float(points["mean_prob"].min()), q_lo) - 0.02)
    hi = min(1.0, max(float(points["mean_prob"].max()), q_hi) + 0.02)
    ax.set_xlim(lo, hi)
    ax.set_ylim(
        min(lo, float(points["frac_up"].min()) - 0.05),
        max(hi, float(points["frac_up"].max()) + 0.05),
    )
    ax.set_ylabel("Observed frequency of up")
    top_legend(ax, ncol=2, fontsize=8.5)
    # matplotlib stubs type bins as Sequence[float]; hist takes arrays too
    edges = np.linspace(lo, hi, 41)
    hx.hist(probs, bins=edges, color=STRATEGY_COLOR, alpha=0.6)  # type: ignore[arg-type]
    hx.set_ylabel("Predictions")
    hx.set_xlabel("Predicted probability of up (out of sample)")
    hx.yaxis.set_major_formatter(lambda v, _p: f"{v:,.0f}")
    return figure_svg(fig)


@styled
def folds_chart(folds: pd.DataFrame, baseline: float | None) -> str:
    """Plot accuracy and ROC AUC per walk-forward test window against its dates."""
    fig, ax = new_figure(WIDE)
    mid = folds["test_start"] + (folds["test_end"] - folds["test_start"]) / 2
    for col, color, label in (
        ("accuracy", STRATEGY_COLOR, "Accuracy"),
        ("roc_auc", AUC_COLOR, "ROC AUC"),
    ):
        values = pd.to_numeric(folds[col], errors="coerce")
        ax.plot(mid, values, color=color, marker="o", ms=3.5, lw=1.1, label=label)
        ax.hlines(values, folds["test_start"], folds["test_end"], color=color, lw=2.5, alpha=0.35)
    ax.axhline(0.5, color=NEUTRAL_COLOR, ls="--", lw=0.9, label="0.5 (chance AUC)")
    if baseline is not None and np.isfinite(baseline):
        ax.axhline(
            baseline,
            color="#2ca02c",
            ls=":",
            lw=1.2,
            label=f"Majority-class accuracy {baseline:.3f}",
        )
    ax.set_ylabel("Score on test window")
    ax.set_xlabel("Test window (date)")
    date_axis(ax)
    top_legend(ax, fontsize=8.5)
    ax.margins(y=0.15)
    return figure_svg(fig)


@styled
def importance_chart(values: pd.Series, xlabel: str) -> str:
    """Horizontal bars of feature importance, largest on top."""
    fig, ax = new_figure((HALF[0], 0.9 + 0.24 * len(values)))
    y = np.arange(len(values))
    ax.barh(y, values.to_numpy(), color=STRATEGY_COLOR)
    ax.set_yticks(y, [str(f) for f in values.index])
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    return figure_svg(fig)


@styled
def hit_rate_chart(buckets: pd.DataFrame) -> str:
    """Bars of realised trade hit rate per predicted-probability bucket vs the bucket's mean prob."""
    fig, ax = new_figure(HALF)
    x = np.arange(len(buckets))
    ax.bar(x, buckets["hit_rate"], 0.7, color=STRATEGY_COLOR, label="Realised hit rate")
    ax.plot(
        x,
        buckets["mean_prob"],
        color="#222222",
        marker="D",
        ms=4,
        lw=0,
        label="Mean predicted probability",
    )
    ax.set_xticks(
        x, [f"{lo:.2f}–{hi:.2f}" for lo, hi in zip(buckets["lo"], buckets["hi"], strict=True)], rotation=30, ha="right"
    )
    ax.set_ylim(0, 1.1)
    ax.set_xlabel("Predicted win probability at entry")
    ax.set_ylabel("Share of winning trades")
    percent_axis(ax)
    top_legend(ax, ncol=2, fontsize=8.5)
    return figure_svg(fig)
