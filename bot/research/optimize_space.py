"""The search space of ``optimize.space``: which keys may be searched; trial configs.

Only keys that leave the model's predictions unchanged may be searched (``strategy.params.*``,
``risk.*``, ``broker.*``, ``backtest.*``): the walk-forward predictions are computed once per
optimisation and shared by every trial. Model settings are tuned by ``python -m bot.research.tune``.
"""

from __future__ import annotations

from typing import Any

from bot.config import Config, ParamRange
from bot.configure import parse_config
from bot.errors import ConfigError
from bot.research.space import with_values

SEARCHABLE = ("strategy.params.", "risk.", "broker.", "backtest.")
PREDICTIVE = ("data", "model", "validation", "seed", "label")  # change what the model predicts


def check_space(cfg: Config) -> dict[str, ParamRange]:
    """Return ``optimize.space``; raise ConfigError naming the first key that cannot be searched."""
    space = dict(cfg.optimize.space)
    if not space:
        raise ConfigError(
            "optimize.space",
            "is empty: give dotted keys with {low, high} or {choices}, "
            "e.g. strategy.params.entry_threshold: {low: 0.5, high: 0.6}",
        )
    for key, spec in space.items():
        where = f"optimize.space.{key}"
        if key.split(".")[0] in PREDICTIVE:
            raise ConfigError(
                where,
                "changes the model's predictions, which are computed once for all "
                "trials; tune model settings with python -m bot.research.tune",
            )
        if not key.startswith(SEARCHABLE) or key.endswith("."):
            raise ConfigError(
                where,
                "is not a strategy or backtest setting: search strategy.params.*, risk.*, broker.* or backtest.*",
            )
        for value in _probes(spec):
            _probe(cfg, key, value, where)
    return space


def _probes(spec: ParamRange) -> list[Any]:
    if spec.choices is not None:
        return list(spec.choices)
    assert spec.low is not None and spec.high is not None  # ParamRange: no choices -> low < high
    cast = int if spec.integer else float
    return [cast(spec.low), cast(spec.high)]


def _probe(cfg: Config, key: str, value: Any, where: str) -> None:
    """Apply one end of the range alone; a problem with this very key is a problem of the space."""
    try:
        trial_config(cfg, {key: value})
    except ConfigError as e:
        if e.where == key and e.what.startswith("unknown key"):
            raise ConfigError(where, e.what) from None
        if e.where == key:
            raise ConfigError(where, f"{value!r} is not a valid value: {e.what}") from None


def trial_config(cfg: Config, values: dict[str, Any], engine: str | None = None) -> Config:
    """Return ``cfg`` with the dotted ``values`` (and ``backtest.engine``) set, validated."""
    raw = with_values(cfg.model_dump(mode="json"), values, model_type="")
    if engine is not None:
        raw["backtest"]["engine"] = engine
    return parse_config(raw)


def params_text(values: dict[str, Any]) -> str:
    """Return ``key=value`` pairs joined by spaces, floats to 6 significant digits."""
    return " ".join(f"{k}={_short(v)}" for k, v in values.items())


def _short(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)
