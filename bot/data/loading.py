"""Load a config's bars through the one validated loader (``bot.data.load_validated``)."""

from __future__ import annotations

import pandas as pd

from bot.config import Config
from bot.data import load_validated

# Checks whose default `fail` policy the CSV loader enforces line by line (naming file, line and date).
STRUCTURAL = (
    "unsorted_timestamps",
    "duplicate_timestamps",
    "missing_values",
    "non_positive_prices",
    "ohlc_consistency",
)


def load_data(cfg: Config) -> tuple[dict[str, pd.DataFrame], dict]:
    """Load the configured bars (data.start/data.end inclusive) and validate them; return (bars, report).

    With the default `fail` policies for the structural checks the loader stops at the first bad line
    of a file; when any of them is set to `warn`/`repair` it loads leniently and lets validation act.
    """
    d = cfg.data
    strict = all(getattr(d.validation, c).policy == "fail" for c in STRUCTURAL)
    return load_validated(
        d.source,
        list(d.symbols),
        d.timeframe,
        d.start,
        d.end,
        d.path,
        cfg.seed,
        validation=d.validation,
        strict=strict,
        sources=d.sources,
        cache_dir=d.cache_dir,
        prices=d.prices,
    )
