"""Performance charts: equity, drawdown, monthly/yearly returns, rolling stats, distribution, exposure.

Each function takes prepared pandas data and returns inline SVG text. Titles live in the HTML.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.ticker import FuncFormatter
from scipy import stats

from bot.report.plotting import (
    BENCHMARK_COLOR,
    HALF,
    STRATEGY_COLOR,
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

_thousands = FuncFormatter(lambda value, _pos: f"{value:,.0f}")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@styled
def equity_chart(strategy: pd.Series, benchmark: pd.Series | None, log: bool, currency: str = "") -> str:
    """Plot strategy and benchmark equity on one axis (linear or log scale)."""
    fig, ax = new_figure(WIDE)
    _line(ax, strategy, color=STRATEGY_COLOR, lw=1.4, label="Strategy")
    if benchmark is not None:
        _line(ax, benchmark, color=BENCHMARK_COLOR, lw=1.2, label="Benchmark")
    if log:
        log_y(ax)
    else:
        ax.yaxis.set_major_formatter(_thousands)
    ax.set_ylabel(f"Equity{' (' + currency + ')' if currency else ''}{', log scale' if log else ''}")
    ax.set_xlabel("Date")
    date_axis(ax)
    top_legend(ax)
    return figure_svg(fig)


def _line(ax, series: pd.Series, **kwargs) -> None:
    """Plot a (thinned) time series."""
    s = thin(series)
    ax.plot(s.index, s.to_numpy(), **kwargs)


@styled
def underwater_chart(strategy_dd: pd.Series, benchmark_dd: pd.Series | None) -> str:
    """Plot the drawdown from the running peak for strategy and benchmark."""
    fig, ax = new_figure(WIDE)
    dd = thin(strategy_dd)
    ax.fill_between(dd.index, dd.to_numpy(), 0, color=STRATEGY_COLOR, alpha=0.35, lw=0)
    ax.plot(dd.index, dd.to_numpy(), color=STRATEGY_COLOR, lw=1.0, label="Strategy")
    if benchmark_dd is not None:
        _line(ax, benchmark_dd, color=BENCHMARK_COLOR, lw=1.0, label="Benchmark")
    ax.set_ylabel("Drawdown from peak")
    ax.set_xlabel("Date")
    percent_axis(ax)
    date_axis(ax)
    top_legend(ax)
    return figure_svg(fig)


@styled
def monthly_heatmap(table: pd.DataFrame) -> str:
    """Draw a years x months heatmap of monthly returns, each cell annotated in %."""
    values = table.to_numpy(dtype=float)
    height = 1.0 + 0.28 * len(table)
    fig, ax = new_figure((10.0, max(height, 1.8)))
    finite = values[np.isfinite(values)]
    span = max(float(np.abs(finite).max()) if finite.size else 0.01, 1e-4)
    norm = TwoSlopeNorm(vmin=-span, vcenter=0.0, vmax=span)
    ax.pcolormesh(
        np.arange(13) - 0.5,
        np.arange(len(table) + 1) - 0.5,
        np.ma.masked_invalid(values),
        cmap="RdYlGn",
        norm=norm,
        edgecolors="#ffffff",
        linewidth=0.6,
    )
    ax.set_ylim(len(table) - 0.5, -0.5)
    ax.grid(False)
    ax.set_xticks(range(12), MONTHS)
    ax.set_yticks(range(len(table)), [str(y) for y in table.index])
    ax.tick_params(length=0)
    ax.xaxis.tick_top()
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(
                j,
                i,
                f"{v * 100:.1f}".replace("-0.0", "0.0"),
                ha="center",
                va="center",
                fontsize=8,
                color="#ffffff" if abs(v) > 0.65 * span else "#111111",
            )
    for side in ("left", "bottom", "top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_ylabel("Year")
    return figure_svg(fig)


@styled
def yearly_bars(strategy: pd.Series, benchmark: pd.Series | None) -> str:
    """Draw side-by-side bars of calendar-year returns."""
    fig, ax = new_figure(HALF)
    x = np.arange(len(strategy))
    width = 0.4 if benchmark is not None else 0.7
    ax.bar(
        x - (width / 2 if benchmark is not None else 0),
        strategy.to_numpy(),
        width,
        color=STRATEGY_COLOR,
        label="Strategy",
    )
    if benchmark is not None:
        bench = benchmark.reindex(strategy.index)
        ax.bar(x + width / 2, bench.to_numpy(), width, color=BENCHMARK_COLOR, label="Benchmark")
    ax.axhline(0, color="#555555", lw=0.8)
    step = max(1, int(np.ceil(len(x) / 10)))
    ax.set_xticks(x[::step], [str(y) for y in strategy.index[::step]])
    ax.set_xlabel("Year")
    ax.set_ylabel("Return")
    percent_axis(ax)
    top_legend(ax)
    return figure_svg(fig)


@styled
def rolling_chart(
    series: dict[str, tuple[pd.Series, str, str]],
    ylabel: str,
    pct: bool,
    span: tuple[pd.Timestamp, pd.Timestamp],
) -> str:
    """Plot rolling statistics over the run's full date ``span``; ``series``: label -> (values, colour, style)."""
    fig, ax = new_figure(WIDE)
    ax.set_xlim(*span)
    drawn = 0
    for label, (values, color, style) in series.items():
        values = values.dropna()
        if len(values):
            _line(ax, values, color=color, ls=style, lw=1.2, label=label)
            drawn += 1
    if not pct:
        ax.axhline(0, color="#555555", lw=0.8)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("Date")
    if pct:
        percent_axis(ax)
    date_axis(ax)
    if drawn:
        top_legend(ax)
    return figure_svg(fig)


@styled
def return_distribution(returns: pd.Series) -> str:
    """Histogram of daily returns against a normal density with the same mean and std."""
    fig, ax = new_figure(HALF)
    r = returns.to_numpy(dtype=float)
    lo, hi = np.quantile(r, [0.001, 0.999]) if len(r) > 50 else (r.min(), r.max())
    bins = np.linspace(lo, hi, 60) if hi > lo else 10
    ax.hist(
        np.clip(r, lo, hi),
        # matplotlib stubs type bins as Sequence[float]; hist takes arrays too
        bins=bins,  # type: ignore[arg-type]
        density=True,
        color=STRATEGY_COLOR,
        alpha=0.75,
        label="Daily returns",
    )
    if r.std() > 0:
        grid = np.linspace(lo, hi, 300)
        ax.plot(
            grid,
            stats.norm.pdf(grid, r.mean(), r.std()),
            color="#222222",
            lw=1.2,
            label="Normal fit",
        )
    ax.set_xlabel("Daily return")
    ax.set_ylabel("Density")
    percent_axis(ax, "x", decimals=1)
    top_legend(ax)
    return figure_svg(fig)


@styled
def exposure_chart(exposure: pd.Series) -> str:
    """Plot gross exposure (position value / equity) over time."""
    fig, ax = new_figure((10.0, 2.6))
    exp = thin(exposure)
    ax.fill_between(exp.index, exp.to_numpy(), 0, color=STRATEGY_COLOR, alpha=0.3, lw=0, step="post")
    ax.plot(exp.index, exp.to_numpy(), color=STRATEGY_COLOR, lw=0.8, drawstyle="steps-post")
    ax.set_ylabel("Gross exposure")
    ax.set_xlabel("Date")
    ax.set_ylim(bottom=0)
    percent_axis(ax)
    date_axis(ax)
    return figure_svg(fig)
