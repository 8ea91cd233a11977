"""Causal feature library: pure functions over OHLCV bars, looked up by name.

compute_features(bars, names, context=None) -> DataFrame
resolve_feature_names(spec) -> list[str]
FEATURE_PRESETS: dict[str, list[str]]   ("starter", "full", "full_cross")
REGISTRY: dict[str, Feature]            (name -> function, formula, warm-up: the built-in features)
USER_FEATURES: dict[str, Feature]       (users' features registered from model.feature_modules)
feature(name, warmup=..., formula=...)  (decorator of users' features: see bot/features/plugins.py)
"""

from bot.features.api import (
    FEATURE_PRESETS,
    REGISTRY,
    USER_FEATURES,
    compute_features,
    resolve_feature_names,
)
from bot.features.plugins import feature
from bot.features.registry import Feature

__all__ = [
    "FEATURE_PRESETS",
    "REGISTRY",
    "USER_FEATURES",
    "Feature",
    "compute_features",
    "feature",
    "resolve_feature_names",
]
