"""ML strategy: go long when the walk-forward model's out-of-sample P(up) is high, sized by Kelly.

With ``allow_short`` it also goes short when P(up) is as low (P(up) <= 1 - entry_threshold), sized by
Kelly with P(down) = 1 - P(up) and the short payoff ratio (:func:`bot.risk.sizing.short_payoff`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from loguru import logger
from pydantic import Field, model_validator

from bot.config import ModelConfig
from bot.features import wide
from bot.features.stream import Streams, same_bits
from bot.risk.sizing import (
    payoff_ratio,
    payoff_update,
    position_fraction,
    position_fractions,
    short_payoff,
)
from strategies.base import BarView, Enter, Exit, Intent, Strategy, StrategyParams, VectorRules


class MlSignalParams(StrategyParams):
    entry_threshold: float = Field(default=0.55, ge=0.5, lt=1)
    exit_threshold: float = Field(default=0.5, gt=0, lt=1)
    payoff_lookback: int = Field(default=252, ge=20)
    # Also short: enter when P(up) <= 1 - entry_threshold, buy back when P(up) > 1 - exit_threshold.
    allow_short: bool = False

    @model_validator(mode="after")
    def _exit_below_entry(self) -> MlSignalParams:
        if self.exit_threshold > self.entry_threshold:
            raise ValueError(
                f"exit_threshold ({self.exit_threshold}) must not exceed entry_threshold ({self.entry_threshold})"
            )
        return self


class MlSignalStrategy(Strategy):
    """Enter when P(up) >= entry_threshold and the Kelly edge is positive; exit when P(up) < exit_threshold.

    With ``allow_short``, mirrored: short when P(up) <= 1 - entry_threshold and the Kelly edge of
    P(down) is positive; buy back when P(up) > 1 - exit_threshold.
    """

    Params = MlSignalParams
    params: MlSignalParams  # the instance built from Params (typed for the checker)
    signal_columns = ("prob_up", "payoff")
    uses_model = True
    vector_covers = ("decide", "_decide_short")

    def __init__(self, params: MlSignalParams, risk, model: ModelConfig | None = None):
        super().__init__(params, risk, model)
        # The payoff ratio for Kelly sizing uses the first (primary) horizon.
        self.horizon = self.horizons[0]
        self._payoff: Streams | None = None
        self._streaming = True

    def sells_short(self) -> bool:
        return self.params.allow_short

    def compute_signals(self, bars: pd.DataFrame, prob_up: pd.Series | None) -> pd.DataFrame:
        probs = prob_up.reindex(bars.index) if prob_up is not None else np.nan
        payoff = payoff_ratio(bars["close"], self.horizon, self.params.payoff_lookback)
        return pd.DataFrame({"prob_up": probs, "payoff": payoff}, index=bars.index, dtype="float64")

    def latest_signals(self, bars: Mapping[str, pd.DataFrame], prob_now: Mapping[str, float]) -> dict[str, dict]:
        """Return the newest row of ``compute_signals`` for every symbol (``prob_now``: P(up) at its newest bar).

        The payoff ratio is streamed: each call takes the bars appended since the last one.
        """
        if not wide.ENABLED:
            return {
                s: {"prob_up": float(prob_now.get(s, np.nan)), "payoff": float(self._full_payoff(df)[0])}
                for s, df in bars.items()
            }
        if self._payoff is None:  # streamed bar by bar, equal to payoff_ratio (tests/features/test_stream.py)
            self._payoff = Streams(lambda: [payoff_update(self.horizon, self.params.payoff_lookback)])
            first = self._payoff.latest(bars)  # checked once against the full computation, bit for bit
            self._streaming = all(same_bits(v, self._full_payoff(bars[s])) for s, v in first.items())
            if not self._streaming:
                logger.warning(
                    "streamed payoff ratios differ from payoff_ratio (pandas {}): computing them "
                    "over the history instead",
                    pd.__version__,
                )
        streamed = self._payoff.latest(bars) if self._streaming else {}
        out = {}
        for s, df in bars.items():
            v = streamed[s][0] if s in streamed else self._full_payoff(df)[0]
            out[s] = {"prob_up": float(prob_now.get(s, np.nan)), "payoff": float(v)}
        return out

    def _full_payoff(self, df: pd.DataFrame) -> np.ndarray:
        """The newest payoff ratio computed over the whole history (a 1-element array)."""
        return payoff_ratio(df["close"], self.horizon, self.params.payoff_lookback).to_numpy(np.float64)[-1:]

    def decide(self, view: BarView) -> Intent | None:
        if view.pending:
            return None
        p = view.signals["prob_up"]
        if math.isnan(p):  # (a float: math's test costs a fraction of numpy's per bar)
            return None
        if view.position == 0 and p >= self.params.entry_threshold:
            fraction = position_fraction(self.risk, prob=p, payoff=view.signals["payoff"])
            return Enter(view.symbol, fraction, prob=p) if fraction > 0 else None
        if view.position > 0 and p < self.params.exit_threshold:
            return Exit(view.symbol)
        if self.params.allow_short:
            return self._decide_short(view, p)
        return None

    def _decide_short(self, view: BarView, p: float) -> Intent | None:
        """The mirror of the long rule, with P(down) = 1 - P(up) and the short payoff ratio."""
        if view.position == 0 and p <= 1.0 - self.params.entry_threshold:
            q = 1.0 - p
            fraction = position_fraction(self.risk, prob=q, payoff=short_payoff(view.signals["payoff"]))
            return Enter(view.symbol, fraction, prob=q, side="short") if fraction > 0 else None
        if view.position < 0 and p > 1.0 - self.params.exit_threshold:
            return Exit(view.symbol)
        return None

    def vector_rules(self, signals: pd.DataFrame) -> VectorRules:
        """``decide`` and ``_decide_short`` as arrays: the same comparisons and Kelly sizes, bar by bar."""
        p = signals["prob_up"].to_numpy(np.float64)
        payoff = signals["payoff"].to_numpy(np.float64)
        known = ~np.isnan(p)
        prm = self.params
        long_zone = known & (p >= prm.entry_threshold)
        frac_long = position_fractions(self.risk, p, payoff)
        with np.errstate(divide="ignore", invalid="ignore"):
            q = 1.0 - p
            short_pay = np.where(payoff > 0, 1.0 / payoff, np.nan)
        frac_short = position_fractions(self.risk, q, short_pay)
        short_zone = known & ~long_zone & (p <= 1.0 - prm.entry_threshold) & prm.allow_short
        return VectorRules(
            enter_long=long_zone & (frac_long > 0),
            enter_short=short_zone & (frac_short > 0),
            exit_long=known & (p < prm.exit_threshold),
            exit_short=known & (p > 1.0 - prm.exit_threshold) & prm.allow_short,
            frac_long=frac_long,
            frac_short=frac_short,
            prob_long=p,
            prob_short=q,
        )
