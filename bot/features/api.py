"""Public entry points: the registry, presets, name resolution and compute_features."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

import pandas as pd

from bot.errors import ConfigError, DataError
from bot.features import (
    bands,
    calendar,
    cross_asset,
    interactions,
    oscillators,
    price,
    trend,
    volume,
)
from bot.features.registry import Feature

_MODULES = (price, oscillators, bands, trend, volume, calendar, interactions, cross_asset)


def _merge() -> dict[str, Feature]:
    out: dict[str, Feature] = {}
    for module in _MODULES:
        clash = out.keys() & module.FEATURES.keys()
        if clash:
            raise ValueError(f"duplicate feature names {sorted(clash)}")
        out.update(module.FEATURES)
    return out


REGISTRY: dict[str, Feature] = _merge()
USER_FEATURES: dict[str, Feature] = {}  # registered from model.feature_modules (bot/features/plugins.py)

STARTER: list[str] = [
    "ret_1",
    "ret_5",
    "ret_20",
    "rsi_14",
    "ppo",
    "ppo_signal",
    "ppo_hist",
    "vol_20",
    "close_sma_10",
    "close_sma_50",
]

FEATURE_PRESETS: dict[str, list[str]] = {
    "starter": STARTER,
    "full": [n for n, f in REGISTRY.items() if not f.needs],
    "full_cross": list(REGISTRY),
}

REQUIRED_COLUMNS = ("open", "high", "low", "close", "volume")
WHERE = "model.features"


def lookup(name: str) -> Feature:
    """Return the built-in or user feature called ``name``."""
    return REGISTRY[name] if name in REGISTRY else USER_FEATURES[name]


def _unknown(name: str) -> ConfigError:
    choices = list(REGISTRY) + list(FEATURE_PRESETS) + list(USER_FEATURES)
    close = difflib.get_close_matches(name, choices, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return ConfigError(WHERE, f"unknown feature '{name}'{hint}")


def resolve_feature_names(spec: str | Sequence[str]) -> list[str]:
    """Expand a preset name or a list of feature/preset names into a flat, de-duplicated list."""
    items = [spec] if isinstance(spec, str) else list(spec)
    out: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(WHERE, f"feature names must be strings, got {item!r}")
        if item in FEATURE_PRESETS:
            out.update(dict.fromkeys(FEATURE_PRESETS[item]))
        elif item in REGISTRY or item in USER_FEATURES:
            out[item] = None
        else:
            raise _unknown(item)
    return list(out)


def _check_bars(bars: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS if c not in bars.columns]
    if missing:
        raise DataError("bars", f"missing column(s) {', '.join(missing)}")
    if not bars.index.is_monotonic_increasing or not bars.index.is_unique:
        raise DataError("bars", "timestamps must be unique and increasing")
    return bars.loc[:, list(REQUIRED_COLUMNS)].astype("float64")


def compute_features(
    bars: pd.DataFrame,
    names: Sequence[str],
    context: Mapping[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Compute the named features on ``bars``: one float64 column per name, same index.

    Every value at row t uses rows <= t of ``bars`` (and context bars stamped <= t).
    Warm-up rows are NaN.
    """
    resolved = resolve_feature_names(list(names))
    clean = _check_bars(bars)
    cols = {n: lookup(n).compute(clean, context).astype("float64") for n in resolved}
    return pd.DataFrame(cols, index=bars.index, columns=resolved, dtype="float64")
