"""The performance section: equity, drawdowns, monthly/yearly returns, rolling stats, exposure."""

from __future__ import annotations

import pandas as pd

from bot.report import perf_charts as charts
from bot.report import returns as rt
from bot.report.crisis import crisis_html
from bot.report.html import figure, fmt, table
from bot.report.plotting import BENCHMARK_COLOR, STRATEGY_COLOR, empty_note

LEGEND = (
    '<span class="swatch strategy"></span>Strategy &nbsp; '
    '<span class="swatch benchmark"></span>Benchmark (equal-weight buy and hold, same costs)'
)


def _benchmark(daily: pd.DataFrame) -> pd.Series | None:
    if "benchmark" not in daily.columns:
        return None
    bench = daily["benchmark"].dropna()
    return bench if len(bench) > 1 else None


def _equity_block(equity: pd.Series, bench: pd.Series | None) -> str:
    body = (
        '<label class="toggle"><input type="checkbox" id="log-scale"> Log scale</label>'
        f'<div id="equity-linear">{charts.equity_chart(equity, bench, log=False)}</div>'
        f'<div id="equity-log" class="hidden">{charts.equity_chart(equity, bench, log=True)}</div>'
    )
    return figure("chart-equity", "Equity curve vs benchmark", body, LEGEND)


def drawdown_table(equity: pd.Series) -> str:
    """Return the five-worst-drawdowns table."""
    worst = rt.worst_drawdowns(equity, top=5)
    rows = [
        (
            i + 1,
            f"{r.start:%Y-%m-%d}",
            f"{r.trough:%Y-%m-%d}",
            f"{r.recovery:%Y-%m-%d}" if r.recovery is not None and not pd.isna(r.recovery) else "not recovered",
            fmt(r.depth, "pct"),
            fmt(r.days, "int"),
        )
        for i, r in enumerate(worst.itertuples())
    ]
    if not rows:
        return '<p class="note">No drawdown: equity never fell below a previous peak.</p>'
    headers = ("Rank", "Peak (start)", "Trough", "Recovery", "Depth", "Length (days)")
    return "<h3>Five worst drawdowns</h3>" + table(headers, rows, cls="drawdowns")


def _drawdown_block(equity: pd.Series, bench: pd.Series | None) -> str:
    svg = charts.underwater_chart(rt.drawdown_series(equity), rt.drawdown_series(bench) if bench is not None else None)
    note = "Fall from the running equity peak. " + LEGEND
    return figure("chart-drawdown", "Drawdown (underwater curve)", svg, note) + drawdown_table(equity)


def _returns_blocks(equity: pd.Series, bench: pd.Series | None, returns: pd.Series) -> str:
    heat = charts.monthly_heatmap(rt.monthly_returns(equity))
    monthly = figure(
        "chart-monthly",
        "Monthly returns (%)",
        heat,
        "Strategy return per calendar month, in percent.",
    )
    yearly_svg = charts.yearly_bars(rt.yearly_returns(equity), rt.yearly_returns(bench) if bench is not None else None)
    yearly = figure("chart-yearly", "Yearly returns", yearly_svg, LEGEND)
    dist = figure(
        "chart-distribution",
        "Daily return distribution vs normal",
        charts.return_distribution(returns) if len(returns) > 2 else empty_note("Too few days."),
        "Histogram of strategy daily returns; the line is a normal density with the same mean and std.",
    )
    return monthly + f'<div class="grid2">{yearly}{dist}</div>'


def _rolling_blocks(returns: pd.Series, bench_returns: pd.Series | None, ppy: int) -> str:
    half, full = ppy // 2, ppy
    if len(returns) <= half:
        msg = empty_note(f"Needs more than {half} daily returns; this run has {len(returns)}.")
        return figure("chart-rolling-sharpe", "Rolling Sharpe ratio", msg) + figure(
            "chart-rolling-vol", "Rolling volatility", msg
        )
    sharpe = {
        "Strategy, 6 months": (rt.rolling_sharpe(returns, half, ppy), STRATEGY_COLOR, "-"),
        "Strategy, 12 months": (rt.rolling_sharpe(returns, full, ppy), "#0b3c6b", "-"),
    }
    vol = {
        "Strategy, 6 months": (rt.rolling_volatility(returns, half, ppy), STRATEGY_COLOR, "-"),
        "Strategy, 12 months": (rt.rolling_volatility(returns, full, ppy), "#0b3c6b", "-"),
    }
    if bench_returns is not None:
        sharpe["Benchmark, 12 months"] = (
            rt.rolling_sharpe(bench_returns, full, ppy),
            BENCHMARK_COLOR,
            "--",
        )
        vol["Benchmark, 12 months"] = (
            rt.rolling_volatility(bench_returns, full, ppy),
            BENCHMARK_COLOR,
            "--",
        )
    span = (returns.index[0], returns.index[-1])
    note = f"Windows of {half} and {full} daily periods, annualised with {ppy} periods per year."
    sharpe_chart = charts.rolling_chart(sharpe, "Sharpe ratio", False, span)
    vol_chart = charts.rolling_chart(vol, "Annualised volatility", True, span)
    return figure("chart-rolling-sharpe", "Rolling Sharpe ratio (6 and 12 months)", sharpe_chart, note) + figure(
        "chart-rolling-vol", "Rolling volatility (6 and 12 months)", vol_chart, note
    )


def _exposure_block(daily: pd.DataFrame, intraday: bool) -> str:
    if "exposure" not in daily.columns or daily["exposure"].dropna().empty:
        return figure("chart-exposure", "Exposure over time", empty_note("equity.csv has no exposure column."))
    note = "Gross position value / equity" + (" (daily mean of intraday bars)." if intraday else ".")
    return figure(
        "chart-exposure",
        "Exposure over time",
        charts.exposure_chart(daily["exposure"].fillna(0.0)),
        note,
    )


def performance_html(daily: pd.DataFrame, ppy: int, intraday: bool = False) -> str:
    """Return the performance section body for a daily equity frame."""
    equity = daily["equity"].astype(float)
    bench = _benchmark(daily)
    returns = rt.simple_returns(equity)
    bench_returns = rt.simple_returns(bench) if bench is not None else None
    return (
        _equity_block(equity, bench)
        + _drawdown_block(equity, bench)
        + crisis_html(equity, bench, "crypto" if ppy == 365 else "equity")  # 365: trades every day
        + _returns_blocks(equity, bench, returns)
        + _rolling_blocks(returns, bench_returns, ppy)
        + _exposure_block(daily, intraday)
    )
