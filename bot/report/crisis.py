"""Crisis periods: how the strategy and the benchmark fared in well-known market stress windows.

The windows are fixed dates, peak to trough of the S&P 500 (or of Bitcoin for the crypto ones),
like the crisis table of LEAN's report. A period appears when the run's daily equity covers at
least ``MIN_DAYS`` of its days; one the run only partly covers is marked "partial".
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bot.report.html import fmt, table

MIN_DAYS = 3


@dataclass(frozen=True)
class Crisis:
    name: str
    start: str
    end: str
    markets: tuple[str, ...] = ("equity",)


CRISES = (
    Crisis("Dot-com crash", "2000-03-24", "2002-10-09"),
    Crisis("September 11", "2001-09-10", "2001-09-21"),
    Crisis("Global financial crisis", "2007-10-09", "2009-03-09"),
    Crisis("Lehman collapse", "2008-09-12", "2008-11-20"),
    Crisis("Flash crash and 2010 correction", "2010-04-23", "2010-07-02"),
    Crisis("US downgrade, euro crisis", "2011-07-07", "2011-10-03"),
    Crisis("China devaluation sell-off", "2015-08-10", "2016-02-11"),
    Crisis("Crypto winter", "2017-12-17", "2018-12-15", ("crypto",)),
    Crisis("Volatility spike (Volmageddon)", "2018-01-26", "2018-02-08"),
    Crisis("Q4 2018 sell-off", "2018-09-20", "2018-12-24"),
    Crisis("COVID-19 crash", "2020-02-19", "2020-03-23", ("equity", "crypto")),
    Crisis("May 2021 crypto crash", "2021-04-14", "2021-07-20", ("crypto",)),
    Crisis("2022 bear market", "2022-01-03", "2022-10-12"),
    Crisis("Terra and FTX collapses", "2022-05-05", "2022-11-21", ("crypto",)),
)


def _window(values: pd.Series, c: Crisis) -> pd.Series:
    """Return the values from the last day before the window (the base) to its end."""
    idx = values.index.tz_localize(None) if values.index.tz is not None else values.index
    start, end = pd.Timestamp(c.start), pd.Timestamp(c.end)
    before = int(idx.searchsorted(start, side="left"))
    after = int(idx.searchsorted(end, side="right"))
    return values.iloc[max(before - 1, 0) : after]


def _max_drawdown(values: pd.Series) -> float:
    return float((values / values.cummax() - 1.0).min())


def crisis_rows(equity: pd.Series, benchmark: pd.Series | None = None, market: str = "equity") -> list[tuple]:
    """Return one row per ``market`` crisis window the daily equity covers: name, dates, days, returns, drawdown."""
    rows: list[tuple] = []
    idx = equity.index.tz_localize(None) if equity.index.tz is not None else equity.index
    if len(idx) < 2:
        return rows
    for c in (c for c in CRISES if market in c.markets):
        start, end = pd.Timestamp(c.start), pd.Timestamp(c.end)
        inside = (idx >= start) & (idx <= end)
        if inside.sum() < MIN_DAYS:
            continue
        w = _window(equity.astype(float), c)
        partial = idx[0] > start or idx[-1] < end
        bench = ""
        if benchmark is not None:
            b = _window(benchmark.astype(float).dropna(), c)
            bench = fmt(b.iloc[-1] / b.iloc[0] - 1.0, "pct") if len(b) > 1 else ""
        rows.append(
            (
                c.name + (" (partial)" if partial else ""),
                c.start,
                c.end,
                int(inside.sum()),
                fmt(w.iloc[-1] / w.iloc[0] - 1.0, "pct"),
                bench,
                fmt(_max_drawdown(w), "pct"),
            )
        )
    return rows


def crisis_html(equity: pd.Series, benchmark: pd.Series | None = None, market: str = "equity") -> str:
    """Return the crisis-periods table of ``market`` (``equity`` or ``crypto``), or a note when none is covered."""
    rows = crisis_rows(equity, benchmark, market)
    title = "<h3>Crisis periods</h3>"
    if not rows:
        return title + '<p class="note">The run covers none of the listed crisis periods.</p>'
    note = (
        '<p class="note">Fixed stress windows (peak to trough of the S&amp;P 500, or of Bitcoin for the '
        "crypto ones). Returns run from the close before the window to its last day.</p>"
    )
    headers = ("Period", "From", "To", "Days in run", "Strategy return", "Benchmark return", "Strategy max drawdown")
    return title + note + table(headers, rows, cls="crises")
