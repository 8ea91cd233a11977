"""optimize.html: the trials, in-sample vs out-of-sample scores, PBO logits, stitched equity.

Self-contained like the tearsheet (inline SVG charts, inline CSS, no network request).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bot.report.html import Raw, esc, figure, fmt, page, section, table
from bot.report.plotting import (
    HALF,
    NEUTRAL_COLOR,
    RUN_COLORS,
    STRATEGY_COLOR,
    WIDE,
    date_axis,
    figure_svg,
    new_figure,
    top_legend,
)

if TYPE_CHECKING:
    from bot.research.optimize import OptimizeResult

MAX_ROWS = 100  # trials shown in the table (the best by score); trials.csv holds all


def scatter_svg(res: OptimizeResult) -> str:
    """Each trial's in-sample vs out-of-sample score per walk-forward step; the picks ringed."""
    fig, ax = new_figure(HALF)
    w = res.wfo
    for i, step in enumerate(w.steps):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        ax.scatter(
            w.is_scores[i],
            w.oos_scores[i],
            s=12,
            alpha=0.6,
            color=color,
            label=f"step {step.index}",
        )
        ax.scatter(
            [step.is_score],
            [step.oos_score],
            s=70,
            facecolors="none",
            edgecolors="black",
            linewidths=1.2,
        )
    ax.axhline(0, color=NEUTRAL_COLOR, linewidth=0.8)
    ax.set_xlabel(f"in-sample {res.cfg.optimize.metric}")
    ax.set_ylabel(f"out-of-sample {res.cfg.optimize.metric}")
    top_legend(ax, ncol=min(len(w.steps), 5), fontsize=8)
    return figure_svg(fig)


def logit_svg(res: OptimizeResult) -> str:
    """Histogram of the CSCV logits; the share at or left of 0 is the PBO."""
    assert res.pbo is not None  # drawn only when PBO was computed (two or more trials)
    fig, ax = new_figure(HALF)
    logits = res.pbo.logits
    bins = np.unique(np.round(logits, 9))
    if len(bins) > 40:
        ax.hist(logits, bins=40, color=STRATEGY_COLOR, alpha=0.8)
    else:  # few distinct ranks: one bar each
        counts = [(np.round(logits, 9) == b).sum() for b in bins]
        ax.bar(
            bins,
            counts,
            width=0.8 * (np.min(np.diff(bins)) if len(bins) > 1 else 1.0),
            color=STRATEGY_COLOR,
        )
    ax.axvline(0, color="black", linewidth=1.0)
    ax.set_xlabel("logit of the in-sample best trial's out-of-sample relative rank")
    ax.set_ylabel("splits")
    return figure_svg(fig)


def equity_svg(equity: pd.DataFrame, res: OptimizeResult) -> str:
    """The stitched out-of-sample equity; the best whole-period trial on the same bars."""
    fig, ax = new_figure(WIDE)
    t = pd.DatetimeIndex(equity["timestamp"])
    ax.plot(t, equity["equity"], color=STRATEGY_COLOR, linewidth=1.3, label="walk-forward out of sample")
    best = res.best.done_returns[res.wfo.start_row :]
    hindsight = res.cfg.broker.cash * np.concatenate([[1.0], np.cumprod(1 + best)])
    ax.plot(
        t,
        hindsight,
        color=NEUTRAL_COLOR,
        linewidth=1.0,
        linestyle="--",
        label=f"best trial {res.best.number} (picked with hindsight)",
    )
    for step in res.wfo.steps[1:]:
        ax.axvline(res.bar_times[step.oos_rows[0]], color="#bbbbbb", linewidth=0.8)
    date_axis(ax)
    top_legend(ax, ncol=2)
    return figure_svg(fig)


def _trials_table(trials: pd.DataFrame, res: OptimizeResult) -> str:
    done = (
        trials[trials["state"] == "complete"]
        .sort_values(["score", "number"], ascending=[False, True], kind="stable")
        .head(MAX_ROWS)
    )
    keys = list(res.space)
    is_cols = [c for c in trials.columns if c.startswith("is_")]
    oos_cols = [c for c in trials.columns if c.startswith("oos_")]
    headers = [
        "trial",
        *keys,
        res.cfg.optimize.metric,
        "sharpe",
        "cagr",
        "max drawdown",
        "trades",
        "mean IS",
        "mean OOS",
    ]
    n_valid = int((trials["state"] == "complete").sum())
    n_invalid = int((trials["state"] == "invalid").sum())
    rows = []
    for _, r in done.iterrows():
        vals = [fmt(r[k], "prob") if isinstance(r[k], float) else r[k] for k in keys]
        rows.append(
            [
                int(r["number"]),
                *vals,
                fmt(r["score"], "prob"),
                fmt(r["sharpe"]),
                fmt(r["cagr"], "pct"),
                fmt(r["max_drawdown"], "pct"),
                fmt(r["n_trades"], "int"),
                fmt(float(r[is_cols].mean()), "prob"),
                fmt(float(r[oos_cols].mean()), "prob"),
            ]
        )
    note = (
        f"The {len(done)} best of {n_valid} valid trials by whole-period "
        f"{res.cfg.optimize.metric}; {n_invalid} draws were invalid configs. "
        "trials.csv has every trial and each step's scores."
    )
    return f'<p class="note">{esc(note)}</p><div class="scroll">{table(headers, rows)}</div>'


def _segments_table(segments: pd.DataFrame, metric: str) -> str:
    headers = [
        "step",
        "in sample",
        "out of sample",
        "trial",
        "params",
        f"IS {metric}",
        f"OOS {metric}",
        "OOS return",
    ]
    rows = [
        [
            int(r["segment"]),
            f"{r['is_start']:%Y-%m-%d} – {r['is_end']:%Y-%m-%d}",
            f"{r['oos_start']:%Y-%m-%d} – {r['oos_end']:%Y-%m-%d}",
            int(r["chosen_trial"]),
            r["params"],
            fmt(r["is_score"], "prob"),
            fmt(r["oos_score"], "prob"),
            fmt(r["oos_return"], "pct"),
        ]
        for _, r in segments.iterrows()
    ]
    return f'<div class="scroll">{table(headers, rows, cls="runs")}</div>'


def _headline(res: OptimizeResult, equity: pd.DataFrame) -> str:
    s, p = res.stats, res.pbo
    items = [
        (
            "PBO (CSCV)",
            f"{fmt(p.pbo, 'prob')} over {p.n_splits} splits of S={p.blocks} blocks of {p.block_size} bars"
            if p
            else "– (needs at least 2 valid trials)",
        ),
        (
            "deflated Sharpe ratio",
            f"{fmt(s['best']['dsr'], 'prob')} (best trial, n_trials {len(res.completed)}, "
            f"Sharpe std {fmt(s['best']['sharpe_std_trials'], 'prob')} per bar)",
        ),
        ("probabilistic Sharpe ratio", fmt(s["best"]["psr"], "prob")),
        (
            "best trial",
            f"{res.best.number}: sharpe {fmt(res.best.metrics['sharpe'])}, cagr {fmt(res.best.metrics['cagr'], 'pct')}",
        ),
        (
            "walk-forward out of sample",
            f"sharpe {fmt(s['wfo_oos']['sharpe'])}, total return "
            f"{fmt(float(equity['equity'].iloc[-1] / equity['equity'].iloc[0] - 1), 'pct')}, "
            f"PSR {fmt(s['wfo_oos']['psr'], 'prob')}",
        ),
    ]
    body = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items)
    return f'<dl class="kv">{body}</dl>'


CAVEATS = (
    "PBO is the share of CSCV splits in which the trial best in sample ranks at or below the "
    "median out of sample: near 0.5 means the search found noise. The deflated Sharpe ratio is the "
    "probability that the best trial's true Sharpe ratio beats the best of as many skill-less "
    "trials. Each trial simulated the whole period once: in the stitched equity, a position the "
    "chosen trial holds at a segment boundary was "
    "opened by its own run before the boundary, and the switch is not charged."
)


def optimize_html(res: OptimizeResult, trials: pd.DataFrame, segments: pd.DataFrame, equity: pd.DataFrame) -> str:
    """Return the complete optimize.html page."""
    o = res.cfg.optimize
    pool = (
        ""
        if o.sampler == "random"
        else " The TPE sampler proposed the trials using whole-period scores, "
        "so the pool the walk-forward steps pick from was shaped by later data; sampler: random "
        "avoids it."
    )
    overview = _headline(res, equity) + f'<p class="note">{esc(CAVEATS + pool)}</p>'
    charts = figure(
        "is-oos",
        "In-sample vs out-of-sample score",
        Raw(scatter_svg(res)),
        "Every valid trial at every walk-forward step; the ringed points are the picks.",
    )
    if res.pbo is not None:
        charts += figure(
            "pbo",
            f"CSCV logits (PBO {res.pbo.pbo:.3f})",
            Raw(logit_svg(res)),
            "Left of 0: the in-sample best trial ranked at or below the median out of sample.",
        )
    body = (
        section("summary", "Summary", overview)
        + section(
            "wfo",
            "Walk-forward",
            figure(
                "equity",
                "Stitched out-of-sample equity",
                Raw(equity_svg(equity, res)),
                "Grey lines: segment starts.",
            )
            + _segments_table(segments, o.metric),
        )
        + section("overfitting", "Overfitting", f'<div class="grid2">{charts}</div>')
        + section("trials", "Trials", _trials_table(trials, res))
    )
    header = (
        f"<h1>Optimisation: {esc(res.cfg.name)}</h1><p>{len(res.runs)} trials, "
        f"{esc(o.sampler)} sampler, "
        f"metric {esc(o.metric)}, {o.segments} segments ({esc(o.window)}), trading period "
        f"{res.bar_times[0]:%Y-%m-%d} – {res.bar_times[-1]:%Y-%m-%d}</p>"
    )
    nav = [
        ("summary", "Summary"),
        ("wfo", "Walk-forward"),
        ("overfitting", "Overfitting"),
        ("trials", "Trials"),
    ]
    html = page(f"optimize {res.cfg.name}", header, nav, body)
    start, end = html.index("<footer>"), html.index("</footer>")
    return html[:start] + "<footer>Generated by python -m bot.research.optimize.</footer>" + html[end + 9 :]
