"""Example ML strategy: the walk-forward model's P(up), traded only with the trend.

Enter long when the model's out-of-sample P(up) reaches ``entry_threshold`` and the close is above its
``trend``-bar moving average; exit when P(up) falls below ``exit_threshold`` or the close drops below
the average. ``uses_model = True`` makes the engine train the walk-forward model the config's
``model`` section describes and pass its P(up) to ``compute_signals``; the model's settings are on
``self.model`` (horizons, ``horizon_combine``). ``config/examples/ml_custom_feature.yaml`` trains it on
two features of ``strategies/examples/my_features.py`` besides built-in ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from bot.risk.sizing import position_fraction
from strategies.base import BarView, Enter, Exit, Intent, Strategy, StrategyParams


class MlTrendFilterParams(StrategyParams):
    entry_threshold: float = Field(default=0.55, ge=0.5, lt=1)
    exit_threshold: float = Field(default=0.5, gt=0, lt=1)
    trend: int = Field(default=100, ge=2)


class MlTrendFilter(Strategy):
    """Long when P(up) is high and the close is above its moving average."""

    Params = MlTrendFilterParams
    params: MlTrendFilterParams  # the instance built from Params (typed for the checker)
    signal_columns = ("prob_up", "trend")
    uses_model = True

    def warmup_bars(self) -> int:
        return self.params.trend

    def compute_signals(self, bars: pd.DataFrame, prob_up: pd.Series | None) -> pd.DataFrame:
        prob = prob_up.reindex(bars.index) if prob_up is not None else np.nan
        trend = bars["close"].rolling(self.params.trend).mean()
        return pd.DataFrame({"prob_up": prob, "trend": trend}, index=bars.index, dtype="float64")

    def decide(self, view: BarView) -> Intent | None:
        p, trend = view.signals["prob_up"], view.signals["trend"]
        if view.pending or np.isnan(p) or np.isnan(trend):
            return None
        if view.position == 0 and p >= self.params.entry_threshold and view.close > trend:
            return Enter(view.symbol, position_fraction(self.risk, prob=None, payoff=None), prob=p)
        if view.position > 0 and (p < self.params.exit_threshold or view.close < trend):
            return Exit(view.symbol)
        return None
