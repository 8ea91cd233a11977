"""Trade and cost charts: exit reasons, P&L and holding-time distributions, per-symbol P&L, costs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.report.plotting import (
    GAIN_COLOR,
    HALF,
    LOSS_COLOR,
    NEUTRAL_COLOR,
    STRATEGY_COLOR,
    date_axis,
    figure_svg,
    new_figure,
    percent_axis,
    styled,
    thin,
    top_legend,
)


@styled
def exit_reason_bars(counts: pd.Series) -> str:
    """Horizontal bars of trade counts per exit reason."""
    fig, ax = new_figure(HALF)
    labels = [str(r).replace("_", " ") for r in counts.index]
    y = np.arange(len(counts))
    ax.barh(y, counts.to_numpy(), color=STRATEGY_COLOR)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("Number of trades")
    ax.grid(axis="y", visible=False)
    for yi, v in zip(y, counts.to_numpy(), strict=True):
        ax.text(v, float(yi), f" {v:,}", va="center", fontsize=8.5)
    ax.set_xlim(0, max(float(counts.max()), 1.0) * 1.15)
    return figure_svg(fig)


@styled
def pnl_histogram(returns: pd.Series) -> str:
    """Histogram of per-trade net returns, losses red and wins green."""
    fig, ax = new_figure(HALF)
    r = returns.dropna().to_numpy(dtype=float)
    lo, hi = np.quantile(r, [0.005, 0.995]) if len(r) > 40 else (r.min(), r.max())
    lo, hi = min(lo, -1e-4), max(hi, 1e-4)
    bins = np.r_[np.linspace(lo, 0.0, 21), np.linspace(0.0, hi, 21)[1:]]
    clipped = np.clip(r, lo, hi)
    ax.hist(clipped[clipped < 0], bins=bins, color=LOSS_COLOR, alpha=0.8, label="Losing trades")
    ax.hist(clipped[clipped >= 0], bins=bins, color=GAIN_COLOR, alpha=0.8, label="Winning trades")
    ax.set_xlabel("Net return per trade (P&L / entry value)")
    ax.set_ylabel("Number of trades")
    percent_axis(ax, "x", decimals=1)
    top_legend(ax)
    return figure_svg(fig)


@styled
def holding_histogram(days: pd.Series, intraday: bool) -> str:
    """Histogram of holding times (hours for intraday runs, days otherwise)."""
    fig, ax = new_figure(HALF)
    values = days.dropna().to_numpy(dtype=float) * (24.0 if intraday else 1.0)
    top = max(float(np.quantile(values, 0.99) if len(values) > 40 else values.max()), 1.0)
    if np.allclose(values, np.round(values)):
        step = max(1, int(np.ceil(top / 40)))
        bins = np.arange(-0.5 * step, top + 1.5 * step, step)
    else:
        bins = np.linspace(0, top, 31)
    # matplotlib stubs type bins as Sequence[float]; hist takes arrays too
    clipped = np.clip(values, 0, bins[-1])
    ax.hist(clipped, bins=bins, color=STRATEGY_COLOR, alpha=0.85)  # type: ignore[arg-type]
    ax.set_xlabel(f"Holding time ({'hours' if intraday else 'calendar days'})")
    ax.set_ylabel("Number of trades")
    return figure_svg(fig)


@styled
def symbol_bars(pnl: pd.Series, top: int = 15) -> str:
    """Horizontal bars of net P&L per symbol (best and worst ``top`` when there are many)."""
    if len(pnl) > 2 * top:
        pnl = pd.concat([pnl.head(top), pnl.tail(top)])
    fig, ax = new_figure((10.0, 0.9 + 0.26 * len(pnl)))
    y = np.arange(len(pnl))
    colors = [GAIN_COLOR if v >= 0 else LOSS_COLOR for v in pnl.to_numpy()]
    ax.barh(y, pnl.to_numpy(), color=colors)
    ax.set_yticks(y, [str(s) for s in pnl.index])
    ax.invert_yaxis()
    ax.axvline(0, color="#555555", lw=0.8)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("Net P&L (after commission and slippage)")
    ax.xaxis.set_major_formatter(lambda v, _p: f"{v:,.0f}")
    return figure_svg(fig)


@styled
def cost_chart(trades: pd.DataFrame) -> str:
    """Cumulative gross (pre-cost) P&L, net P&L and costs by trade exit time."""
    t = trades.sort_values("exit_time")
    borrow = t["borrow"].fillna(0) if "borrow" in t else 0.0
    cost = pd.Series(
        (t["commission"].fillna(0) + t["slippage"].fillna(0) + borrow).cumsum().to_numpy(),
        index=t["exit_time"],
    )
    net = pd.Series(t["pnl_net"].fillna(0).cumsum().to_numpy(), index=t["exit_time"])
    fig, ax = new_figure(HALF)
    for values, color, label in (
        (net + cost, NEUTRAL_COLOR, "Gross P&L (before costs)"),
        (net, STRATEGY_COLOR, "Net P&L"),
        (-cost, LOSS_COLOR, "Costs paid (negative)"),
    ):
        values = thin(values)
        ax.plot(values.index, values.to_numpy(), color=color, lw=1.3, label=label)
    ax.axhline(0, color="#555555", lw=0.8)
    ax.set_ylabel("Cumulative amount")
    ax.set_xlabel("Trade exit date")
    ax.yaxis.set_major_formatter(lambda v, _p: f"{v:,.0f}")
    date_axis(ax)
    top_legend(ax, ncol=2, fontsize=8.5)
    return figure_svg(fig)
