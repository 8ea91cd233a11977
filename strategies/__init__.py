"""Trading strategies: plain Python classes that run unchanged in backtests and live."""

from __future__ import annotations


def get_strategy_class(name: str):
    """Return the strategy class registered under ``name``."""
    from strategies.ml_rank import MlRankStrategy
    from strategies.ml_signal import MlSignalStrategy
    from strategies.sma_cross import SmaCrossStrategy

    registry = {"ml_signal": MlSignalStrategy, "sma_cross": SmaCrossStrategy, "ml_rank": MlRankStrategy}
    return registry[name]


def build_strategy(cfg):
    """Instantiate the strategy a Config names, with typed params and the risk settings."""
    cls = get_strategy_class(cfg.strategy.name)
    params = cls.Params(**cfg.strategy.params)
    if cls.uses_model:
        return cls(params, cfg.risk, horizon=cfg.model.horizon)
    return cls(params, cfg.risk)
