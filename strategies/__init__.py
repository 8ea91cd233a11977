"""Trading strategies: plain Python classes that run unchanged in backtests and live."""

from __future__ import annotations


def get_strategy_class(name: str):
    """Return the strategy class ``name`` names: registered, ``module:Class`` or ``path/to/file.py:Class``."""
    from strategies.loader import load_strategy_class

    return load_strategy_class(name)


def build_strategy(cfg):
    """Instantiate the strategy a Config names, with typed params, the risk settings and (if it uses one)
    the model's."""
    cls = get_strategy_class(cfg.strategy.name)
    params = cls.Params(**cfg.strategy.params)
    if cls.uses_model:
        return cls(params, cfg.risk, model=cfg.model)
    return cls(params, cfg.risk)
