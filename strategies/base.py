"""The plain-Python strategy interface shared by backtests and live sessions.

A strategy has two halves, in the manner of backtesting.py's ``init()`` / ``next()``:

* ``compute_signals(bars, prob_up)`` turns a symbol's bar history into per-bar signal columns.
  It must be causal (row t depends on rows <= t only), so computing it once over a whole
  history (backtest) or again over a growing window (live) gives the same value at each bar.
* ``decide(view)`` runs once per symbol per closed bar and returns an order intent or None.

Strategies never import Backtrader or a venue SDK: the engine translates intents into orders.

``PortfolioStrategy`` is the second interface, for strategies that decide for all symbols at once:
every ``rebalance_every`` bars ``target_weights(view)`` returns signed weights of equity (long > 0,
short < 0, cash the rest) and the engine trades each symbol towards its weight.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from bot.config import ModelConfig, RiskConfig


class StrategyParams(BaseModel):
    """Base of a strategy's parameter model: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class Enter:
    """Open a position worth ``fraction`` of equity at the decision bar's close, long or short.

    ``prob`` is the model's probability that the trade pays: P(up) for a long, P(down) for a short.
    """

    symbol: str
    fraction: float
    prob: float | None = None
    reason: str = "signal"
    side: Literal["long", "short"] = "long"

    def __post_init__(self):
        if self.side not in ("long", "short"):
            raise ValueError(f"Enter.side must be 'long' or 'short', not {self.side!r}")


@dataclass(frozen=True)
class Exit:
    """Close the whole position in ``symbol``, long or short."""

    symbol: str
    reason: str = "signal"


Intent = Enter | Exit


@dataclass(frozen=True)
class BarView:
    """What a strategy may see when deciding on one symbol's closed bar."""

    symbol: str
    timestamp: pd.Timestamp
    close: float
    signals: Mapping[str, float]
    position: float  # signed: > 0 long, < 0 short
    pending: bool


class StrategyCore(ABC):
    """What both kinds of strategy share: typed params, the risk and model settings, causal signals."""

    Params: ClassVar[type[StrategyParams]]
    signal_columns: ClassVar[tuple[str, ...]]
    uses_model: ClassVar[bool] = False

    def __init__(self, params: StrategyParams, risk: RiskConfig, model: ModelConfig | None = None):
        self.params = params
        self.risk = risk
        self.model = model  # the model settings when ``uses_model`` (horizons, horizon_combine), else None
        self.horizons: list[int] = model.horizons if model is not None else [1]

    def sells_short(self) -> bool:
        """Return whether this strategy (with its params) may go short (``Enter(side="short")``, negative
        weights). Live sessions check it at start-up against the venue (a spot crypto venue cannot short;
        Alpaca must mark each symbol shortable)."""
        return False

    def warmup_bars(self) -> int:
        """Return how many bars the signals need before they are defined."""
        return 1

    @abstractmethod
    def compute_signals(self, bars: pd.DataFrame, prob_up: pd.Series | None) -> pd.DataFrame:
        """Return causal per-bar signal columns (``signal_columns``) on ``bars.index``."""


@dataclass(frozen=True)
class VectorRules:
    """``decide`` as per-bar arrays over one symbol's signal rows, for the vector engine (bot/engine/vector.py).

    None of them may depend on the position: the engine applies the state machine of ``decide``
    (nothing while an order is pending; flat: ``enter_long`` else ``enter_short``; long:
    ``exit_long``; short: ``exit_short``). ``frac_*`` is ``Enter.fraction``; ``prob_long`` is
    ``Enter.prob`` of a long (NaN: None), ``prob_short`` that of a short (P(down)).
    """

    enter_long: np.ndarray
    enter_short: np.ndarray
    exit_long: np.ndarray
    exit_short: np.ndarray
    frac_long: np.ndarray
    frac_short: np.ndarray
    prob_long: np.ndarray
    prob_short: np.ndarray


class Strategy(StrategyCore):
    """A trading strategy that runs unchanged in a backtest and in a live session, one symbol at a time."""

    # the methods whose rules ``vector_rules`` reproduces: a subclass overriding any of them runs on Backtrader
    vector_covers: ClassVar[tuple[str, ...]] = ()

    def vector_rules(self, signals: pd.DataFrame) -> VectorRules | None:
        """Return ``decide`` as per-bar arrays (None: this strategy has no vector form)."""
        return None

    @abstractmethod
    def decide(self, view: BarView) -> Intent | None:
        """Return what to do on this closed bar, or None."""


class PortfolioParams(StrategyParams):
    """Base of a portfolio strategy's parameters: how often it rebalances and the smallest trade."""

    rebalance_every: int = Field(default=1, ge=1, le=10_000)  # bars between rebalances
    min_trade: float = Field(default=0.0, ge=0, lt=1)  # skip trades whose |value| / equity is below this


@dataclass(frozen=True)
class PortfolioView:
    """What a portfolio strategy sees at a rebalance: every tradable symbol's closed bar at ``timestamp``."""

    timestamp: pd.Timestamp
    close: Mapping[str, float]
    signals: Mapping[str, Mapping[str, float]]
    position: Mapping[str, float]  # signed shares: > 0 long, < 0 short
    equity: float


def cap_gross(weights: Mapping[str, float], max_gross: float) -> dict[str, float]:
    """Return ``weights`` scaled down proportionally so that the sum of |weights| is at most ``max_gross``."""
    gross = sum(abs(w) for w in weights.values())
    scale = max_gross / gross if gross > max_gross else 1.0
    return {s: w * scale for s, w in weights.items()}


class PortfolioStrategy(StrategyCore):
    """A strategy that sets target weights for all symbols at once, every ``rebalance_every`` bars
    (counted on the union calendar from bar ``warmup_bars() - 1``)."""

    Params: ClassVar[type[PortfolioParams]]
    params: PortfolioParams  # the instance built from Params (typed for the checker)

    @property
    def rebalance_every(self) -> int:
        return self.params.rebalance_every

    @property
    def min_trade(self) -> float:
        return self.params.min_trade

    @abstractmethod
    def target_weights(self, view: PortfolioView) -> dict[str, float]:
        """Return signed target weights of equity per symbol; symbols left out are closed."""

    def targets(self, view: PortfolioView) -> dict[str, float]:
        """Return ``target_weights`` with the gross exposure capped at ``risk.max_gross``."""
        return cap_gross(self.target_weights(view), self.risk.max_gross)

    def extra_metrics(self, walk_forward, bars: Mapping[str, pd.DataFrame], calendar: pd.DatetimeIndex, config) -> dict:
        """Return extra metrics.json sections computed from out-of-sample predictions (default none)."""
        return {}
