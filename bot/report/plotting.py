"""Matplotlib set-up and figure embedding for the reports.

The Agg backend is selected before pyplot is imported, so reports render on machines without a
display. Figures are embedded as inline SVG with their ids made unique, without any namespace URL,
so the HTML stays self-contained and makes no network request.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

if TYPE_CHECKING:  # RcKeyType exists from matplotlib 3.9; Python 3.10 installs may have an older matplotlib
    from matplotlib.typing import RcKeyType

P = ParamSpec("P")
R = TypeVar("R")

STRATEGY_COLOR = "#1f77b4"
BENCHMARK_COLOR = "#ff7f0e"
GAIN_COLOR = "#2ca02c"
LOSS_COLOR = "#d62728"
NEUTRAL_COLOR = "#7f7f7f"
RUN_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")

WIDE = (10.0, 3.4)
HALF = (5.6, 3.4)

_STYLE: dict[RcKeyType, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9.5,
    "axes.titlesize": 10,
    "axes.labelsize": 9.5,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#888888",
    "legend.frameon": False,
    "svg.fonttype": "path",
    "svg.hashsalt": "market-predictor-report",
    "path.simplify": True,
    "figure.dpi": 100,
}


def styled(func: Callable[P, R]) -> Callable[P, R]:
    """Run a chart function with the report's matplotlib style (legends, fonts, grid)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with plt.rc_context(_STYLE):
            return func(*args, **kwargs)

    return wrapper


def new_figure(size: tuple[float, float] = WIDE, **kwargs) -> tuple[Figure, Axes]:
    """Return a styled figure and its one axes (``plt.subplots`` arguments pass through)."""
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=size, layout="constrained", **kwargs)
    return fig, ax


def new_stacked_figure(size: tuple[float, float], nrows: int, **kwargs) -> tuple[Figure, list[Axes]]:
    """Return a styled figure and its ``nrows`` axes, top to bottom, in one column."""
    with plt.rc_context(_STYLE):
        fig, axes = plt.subplots(nrows=nrows, figsize=size, layout="constrained", **kwargs)
    return fig, list(axes)


def date_axis(ax: Axes) -> None:
    """Label a time x-axis with concise, non-overlapping dates."""
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))


def log_y(ax: Axes) -> None:
    """Use a log y-axis labelled at 1-2-5 steps with plain numbers."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.{0 if v >= 10 else 2}f}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def top_legend(ax: Axes, ncol: int = 4, **kwargs) -> None:
    """Place the legend in one row above the plot, where it cannot hide data."""
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=ncol, borderaxespad=0.0, **kwargs)


def percent_axis(ax: Axes, axis: str = "y", decimals: int = 0) -> None:
    """Format an axis whose values are fractions as percentages."""
    from matplotlib.ticker import PercentFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(PercentFormatter(1.0, decimals=decimals))


_ID = re.compile(r'\bid="([^"]+)"')
_PATH_DATA = re.compile(r'\bd="([^"]*)"')
_LONG_DECIMAL = re.compile(r"(\d+\.\d)\d+")


def _round_path(match: re.Match) -> str:
    return 'd="' + _LONG_DECIMAL.sub(r"\1", match.group(1)).replace(" \n", " ") + '"'


def thin(series: pd.Series, max_points: int = 1600) -> pd.Series:
    """Keep each bucket's first, lowest and highest point so a long line looks the same when drawn."""
    n = len(series)
    if n <= max_points:
        return series
    values = series.to_numpy(dtype=float)
    buckets = np.array_split(np.arange(n), max_points // 3)
    keep = set()
    for b in buckets:
        chunk = values[b]
        keep.add(int(b[0]))
        if np.isfinite(chunk).any():
            keep.update((int(b[np.nanargmin(chunk)]), int(b[np.nanargmax(chunk)])))
    keep.add(n - 1)
    return series.iloc[sorted(keep)]


def figure_svg(fig: Figure) -> str:
    """Render ``fig`` to an inline ``<svg>`` element (no URLs, unique ids) and close it."""
    buf = io.StringIO()
    with plt.rc_context(_STYLE):
        fig.savefig(
            buf,
            format="svg",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", svg)
    svg = re.sub(r'\s+(width|height)="[\d.]+pt"', "", svg, count=2)
    svg = svg.replace("xlink:href=", "href=")
    svg = _PATH_DATA.sub(_round_path, svg)
    prefix = "g" + hashlib.sha1(svg.encode()).hexdigest()[:8] + "-"
    svg = _ID.sub(lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', svg)
    box = re.search(r'viewBox="0 0 ([\d.]+) ', svg)
    style = f' style="max-width: {float(box.group(1)) * 4 / 3:.0f}px"' if box else ""
    return svg.replace("<svg ", f'<svg role="img"{style} ', 1).strip()


def empty_note(text: str) -> str:
    """Return the HTML shown in place of a chart that has no data."""
    from html import escape

    return f'<p class="empty">{escape(text)}</p>'
