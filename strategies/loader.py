"""Find a strategy class by ``strategy.name``: a registered name, ``package.module:Class`` or ``file.py:Class``.

Every problem is one ``config error: strategy.name: ...`` line (a ConfigError).
"""

from __future__ import annotations

import difflib
import inspect
from pathlib import Path
from typing import TypeGuard

from bot.errors import ConfigError
from bot.plugins import import_file, import_module, is_path, resolve_path
from strategies.base import PortfolioStrategy, Strategy

WHERE = "strategy.name"
REGISTERED = {
    "ml_signal": "strategies.ml_signal:MlSignalStrategy",
    "sma_cross": "strategies.sma_cross:SmaCrossStrategy",
    "ml_rank": "strategies.ml_rank:MlRankStrategy",
}


def _split(name: str) -> tuple[str, str] | None:
    """Return (module or path, class) for ``x:Class``, or None for a registered name."""
    where, sep, cls = name.rpartition(":")
    if not sep:
        return None
    if not where or not cls.isidentifier():
        raise ConfigError(WHERE, f"expected a registered name, module:Class or path/to/file.py:Class, got {name!r}")
    return where, cls


def resolve_strategy_name(name: str, base_dir: Path | None = None) -> str:
    """Return ``name`` with a file path made absolute (relative to ``base_dir``, else to the cwd)."""
    parts = _split(name)
    if parts is None or not is_path(parts[0]):
        return name
    return f"{resolve_path(parts[0], base_dir, WHERE)}:{parts[1]}"


def load_strategy_class(name: str) -> type[Strategy] | type[PortfolioStrategy]:
    """Return the strategy class ``name`` names, checked against the Strategy interface."""
    parts = _split(name)
    if parts is None:
        if name not in REGISTERED:
            raise ConfigError(
                WHERE,
                f"unknown strategy '{name}'{_did_you_mean(name, list(REGISTERED))}"
                " (or give module:Class or path/to/file.py:Class)",
            )
        parts = _split(REGISTERED[name])
        if parts is None:  # every REGISTERED value is module:Class
            raise ConfigError(WHERE, f"registered strategy '{name}' is not module:Class: {REGISTERED[name]!r}")
    where, cls_name = parts
    module = import_file(resolve_path(where, None, WHERE), WHERE) if is_path(where) else import_module(where, WHERE)
    cls = getattr(module, cls_name, None)
    if cls is None:
        candidates = [n for n, v in vars(module).items() if _is_strategy(v)]
        raise ConfigError(WHERE, f"no class '{cls_name}' in {where}{_did_you_mean(cls_name, candidates)}")
    return check_strategy_class(cls, cls_name)


def check_strategy_class(cls: object, label: str) -> type[Strategy] | type[PortfolioStrategy]:
    """Return ``cls`` if it implements the Strategy (or PortfolioStrategy) interface; else raise a ConfigError."""
    if not _is_strategy(cls):
        raise ConfigError(WHERE, f"'{label}' is not a subclass of strategies.base.Strategy or PortfolioStrategy")
    missing = sorted(getattr(cls, "__abstractmethods__", ()))
    if missing:
        raise ConfigError(WHERE, f"'{label}' does not implement {', '.join(missing)}")
    for attr, kind in (("Params", "a StrategyParams model"), ("signal_columns", "a tuple of column names")):
        if not hasattr(cls, attr):
            raise ConfigError(WHERE, f"'{label}' has no {attr} ({kind})")
    return cls


def _is_strategy(v: object) -> TypeGuard[type[Strategy] | type[PortfolioStrategy]]:
    return (
        inspect.isclass(v) and issubclass(v, (Strategy, PortfolioStrategy)) and v not in (Strategy, PortfolioStrategy)
    )


def _did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (found: {', '.join(choices)})" if choices else ""
