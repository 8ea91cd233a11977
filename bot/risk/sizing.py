"""Position sizing: fixed fraction or fractional Kelly from a calibrated win probability."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bot.config import RiskConfig
from bot.features.stream import Lag, RollCount, RollMean


def kelly_fraction(p: float, b: float) -> float:
    """Return the Kelly bet fraction p - (1 - p) / b for win probability p and payoff ratio b (0 if no edge)."""
    if not (0.0 <= p <= 1.0) or not b > 0 or math.isnan(b):
        return 0.0
    return max(0.0, p - (1.0 - p) / b)


def position_fraction(risk: RiskConfig, prob: float | None, payoff: float | None) -> float:
    """Return the fraction of equity to put in one position, capped by ``risk.max_position``."""
    if risk.sizing == "fixed_fraction" or prob is None:
        raw = risk.fraction
    else:
        raw = risk.fraction * kelly_fraction(prob, payoff if payoff is not None else float("nan"))
    return float(min(raw, risk.max_position))


def position_fractions(risk: RiskConfig, prob: np.ndarray, payoff: np.ndarray) -> np.ndarray:
    """``position_fraction`` element-wise (Kelly from arrays of probabilities and payoff ratios), same floats."""
    if risk.sizing == "fixed_fraction":
        raw = np.full(len(prob), risk.fraction)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            edge = prob - (1.0 - prob) / payoff
        ok = (prob >= 0.0) & (prob <= 1.0) & (payoff > 0) & ~np.isnan(payoff)
        kelly = np.where(ok & (edge > 0.0), edge, 0.0)
        raw = risk.fraction * kelly
    return np.minimum(raw, risk.max_position)


def payoff_ratio(close: pd.Series, horizon: int, lookback: int) -> pd.Series:
    """Return the causal payoff ratio: mean winning / mean losing ``horizon``-bar return over ``lookback`` bars.

    The return at t is close[t] / close[t - horizon] - 1, known at t's close; the ratio at t uses
    the last ``lookback`` such returns. NaN until both wins and losses were seen.
    """
    ret = close / close.shift(horizon) - 1.0
    wins = ret.where(ret > 0)
    losses = -ret.where(ret < 0)
    minp = max(10, lookback // 4)
    avg_win = wins.rolling(lookback, min_periods=1).mean()
    avg_loss = losses.rolling(lookback, min_periods=1).mean()
    n = ret.rolling(lookback, min_periods=1).count()
    ratio = avg_win / avg_loss
    return ratio.where((n >= minp) & (avg_loss > 0)).astype(np.float64)


def short_payoff(payoff: float) -> float:
    """Return a short's payoff ratio from the long one (``payoff_ratio``): mean favourable move over
    mean adverse move of a short, i.e. mean losing / mean winning return = 1 / the long ratio.

    Derived from the long column, so a backtest and the streamed live path agree bit for bit. NaN
    (and 0 or less) stays NaN: no Kelly bet.
    """
    return 1.0 / payoff if payoff > 0 else float("nan")


def payoff_update(horizon: int, lookback: int):
    """Return an update (one bar -> its payoff ratio) equal to ``payoff_ratio`` at that bar, bit for
    bit (the same pandas kernels, replayed value by value: bot/features/stream.py)."""
    lag, wins, losses, count = Lag(horizon), RollMean(lookback, 1), RollMean(lookback, 1), RollCount(lookback)
    minp = max(10, lookback // 4)
    nan = float("nan")

    def update(bar) -> float:
        ret = bar["close"] / lag.update(bar["close"]) - 1.0
        avg_win = wins.update(ret if ret > 0 else nan)
        avg_loss = losses.update(-ret if ret < 0 else nan)
        n = count.update(ret)
        return avg_win / avg_loss if n >= minp and avg_loss > 0 else nan

    return update
