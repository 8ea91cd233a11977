"""Daily equity, returns and return analytics (pure functions over pandas objects).

Intraday equity curves are resampled to one row per UTC calendar day first, so every figure is
annualised with ``periods_per_year`` daily periods (252 for equities, 365 for crypto).
"""

from __future__ import annotations

import math
from typing import Any

import empyrical as ep
import numpy as np
import pandas as pd
from scipy import stats


def is_intraday(index: pd.DatetimeIndex) -> bool:
    """Return True when some calendar day holds more than one bar."""
    return bool(index.normalize().has_duplicates)


def daily_frame(equity: pd.DataFrame) -> pd.DataFrame:
    """Return one row per day: last equity/cash/benchmark of the day, mean exposure."""
    if not is_intraday(equity.index):
        out = equity.copy()
        out.index = out.index.normalize()
        return out
    rules = {c: ("mean" if c == "exposure" else "last") for c in equity.columns if c != "timestamp"}
    numeric = equity[[c for c in rules]].apply(pd.to_numeric, errors="coerce")
    return numeric.resample("D").agg(rules).dropna(subset=["equity"])


def periods_per_year(metrics: dict[str, Any], daily_index: pd.DatetimeIndex) -> int:
    """Return metrics.json's periods_per_year, else 365 if weekends trade, else 252."""
    value = metrics.get("periods_per_year")
    if isinstance(value, (int, float)) and value > 0:
        return int(value)
    return 365 if bool((daily_index.day_of_week >= 5).any()) else 252


def simple_returns(values: pd.Series) -> pd.Series:
    """Return period-over-period simple returns, first period dropped."""
    return values.astype(float).pct_change().iloc[1:].fillna(0.0)


def drawdown_series(values: pd.Series) -> pd.Series:
    """Return the underwater curve: value / running peak - 1 (zero or negative)."""
    values = values.astype(float)
    return values / values.cummax() - 1.0


def worst_drawdowns(values: pd.Series, top: int = 5) -> pd.DataFrame:
    """Return the ``top`` deepest drawdowns: start (peak), trough, recovery, depth, length in days."""
    under = drawdown_series(values)
    rows = []
    in_dd = under < 0
    starts = np.flatnonzero(in_dd.to_numpy() & ~np.r_[False, in_dd.to_numpy()[:-1]])
    for s in starts:
        rest = in_dd.iloc[s:]
        end = int(np.argmin(rest.to_numpy())) if (~rest).any() else len(rest)
        window = under.iloc[s : s + end]
        peak_i = max(s - 1, 0)
        recovery = under.index[s + end] if s + end < len(under) else None
        last = recovery if recovery is not None else under.index[-1]
        rows.append(
            {
                "start": under.index[peak_i],
                "trough": window.idxmin(),
                "recovery": recovery,
                "depth": float(window.min()),
                "days": int((last - under.index[peak_i]).days),
            }
        )
    frame = pd.DataFrame(rows, columns=["start", "trough", "recovery", "depth", "days"])
    return frame.sort_values("depth", kind="stable").head(top).reset_index(drop=True)


def _period_returns(values: pd.Series, rule: str) -> pd.Series:
    ends = values.astype(float).resample(rule).last().dropna()
    prev = ends.shift(1)
    prev.iloc[0] = float(values.iloc[0])
    return ends / prev - 1.0


def monthly_returns(values: pd.Series) -> pd.DataFrame:
    """Return a years x 12 table of monthly returns (first month measured from the first bar)."""
    rets = _period_returns(values, "ME")
    table = pd.DataFrame({"year": rets.index.year, "month": rets.index.month, "ret": rets.to_numpy()})
    return table.pivot(index="year", columns="month", values="ret").reindex(columns=range(1, 13))


def yearly_returns(values: pd.Series) -> pd.Series:
    """Return calendar-year returns indexed by year (first year measured from the first bar)."""
    rets = _period_returns(values, "YE")
    rets.index = rets.index.year
    return rets


def rolling_sharpe(returns: pd.Series, window: int, ppy: int) -> pd.Series:
    """Return the annualised rolling Sharpe ratio over ``window`` periods."""
    mean = returns.rolling(window).mean()
    std = returns.rolling(window).std(ddof=1)
    return (mean / std.replace(0.0, np.nan)) * math.sqrt(ppy)


def rolling_volatility(returns: pd.Series, window: int, ppy: int) -> pd.Series:
    """Return the annualised rolling volatility over ``window`` periods."""
    return returns.rolling(window).std(ddof=1) * math.sqrt(ppy)


def probabilistic_sharpe(returns: pd.Series, benchmark_sr: float = 0.0) -> float:
    """Return P(true per-period Sharpe > benchmark_sr) (Bailey & Lopez de Prado, 2012)."""
    r = returns.dropna().to_numpy(dtype=float)
    if len(r) < 3 or r.std(ddof=1) == 0:
        return float("nan")
    sr = r.mean() / r.std(ddof=1)
    skew, kurt = stats.skew(r), stats.kurtosis(r, fisher=False)
    denom = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr**2
    if denom <= 0:
        return float("nan")
    return float(stats.norm.cdf((sr - benchmark_sr) * math.sqrt(len(r) - 1) / math.sqrt(denom)))


def return_metrics(values: pd.Series, ppy: int) -> dict[str, float]:
    """Return the report's computed metrics for a daily value series (equity or benchmark).

    Ratios with a zero denominator (e.g. a flat curve) come out as NaN and are shown as "–".
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return _return_metrics(values, ppy)


def _return_metrics(values: pd.Series, ppy: int) -> dict[str, float]:
    r = simple_returns(values)
    if len(r) < 2:
        return {}
    months = _period_returns(values, "ME")
    return {
        "total_return": float(values.iloc[-1] / values.iloc[0] - 1.0),
        "final_value": float(values.iloc[-1]),
        "cagr": float(ep.cagr(r, annualization=ppy)),
        "annual_volatility": float(ep.annual_volatility(r, annualization=ppy)),
        "sharpe": float(ep.sharpe_ratio(r, annualization=ppy)),
        "sortino": float(ep.sortino_ratio(r, annualization=ppy)),
        "calmar": float(ep.calmar_ratio(r, annualization=ppy)),
        "max_drawdown": float(drawdown_series(values).min()),
        "tail_ratio": float(ep.tail_ratio(r)),
        "var_95": float(ep.value_at_risk(r, cutoff=0.05)),
        "cvar_95": float(ep.conditional_value_at_risk(r, cutoff=0.05)),
        "best_day": float(r.max()),
        "worst_day": float(r.min()),
        "best_month": float(months.max()),
        "worst_month": float(months.min()),
        "skew": float(stats.skew(r)),
        "kurtosis": float(stats.kurtosis(r)),
        "psr": probabilistic_sharpe(r),
        "positive_days": float((r > 0).sum() / max((r != 0).sum(), 1)),
    }
