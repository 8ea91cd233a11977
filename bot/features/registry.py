"""The feature registry type and name resolution."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from bot.errors import ConfigError

BarsFn = Callable[[pd.DataFrame], pd.Series]
ContextFn = Callable[[pd.DataFrame, Mapping[str, pd.DataFrame]], pd.Series]


@dataclass(frozen=True)
class Feature:
    """One registered feature: how to compute it and what it means.

    ``formula`` and ``warmup`` (leading NaN rows on clean data) feed docs/features.md.
    ``needs`` lists the context symbols the feature reads (empty for bar-only features).
    """

    name: str
    fn: Callable[..., pd.Series]
    formula: str
    warmup: int
    needs: tuple[str, ...] = ()

    def compute(self, bars: pd.DataFrame, context: Mapping[str, pd.DataFrame] | None) -> pd.Series:
        """Compute the feature on ``bars`` (and ``context`` when it needs one)."""
        if not self.needs:
            return self.fn(bars)
        context = context or {}
        for symbol in self.needs:
            if symbol not in context:
                raise ConfigError("model.features", f"feature '{self.name}' needs {symbol} in the data folder")
        return self.fn(bars, context)


def table(*features: Feature) -> dict[str, Feature]:
    """Return a name -> Feature dict, refusing duplicate names."""
    out: dict[str, Feature] = {}
    for f in features:
        if f.name in out:
            raise ValueError(f"duplicate feature name {f.name!r}")
        out[f.name] = f
    return out
