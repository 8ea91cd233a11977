"""Fallback chain: the first provider that returns valid bars wins; failures are logged.

A provider that answers with no bars (none in the range, unknown to it) passes the request on;
when every provider answers empty without error, the chain answers empty too.
"""

from __future__ import annotations

import pandas as pd
from loguru import logger

from bot.data.providers.base import BarProvider, schema_problem
from bot.errors import DataError, UserError, VenueError


class FallbackProvider:
    """Try ``providers`` in order for each request (config ``data.sources: [alpaca, yfinance]``)."""

    def __init__(self, providers: list[BarProvider]):
        if not providers:
            raise ValueError("a fallback chain needs at least one provider")
        self.providers = list(providers)
        self.name = "+".join(p.name for p in self.providers)

    def get_bars(
        self, symbol: str, timeframe: str, start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> pd.DataFrame:
        """Return the first valid answer; raise one DataError listing every failure otherwise."""
        if len(self.providers) == 1:
            return self.providers[0].get_bars(symbol, timeframe, start, end)
        reasons: list[str] = []
        empty: pd.DataFrame | None = None
        for provider in self.providers:
            try:
                frame = provider.get_bars(symbol, timeframe, start, end)
            except (UserError, VenueError) as e:
                reason = f"{type(e).__name__}: {e}"
            else:
                if frame.empty:
                    empty = frame
                    logger.info("{} {}: source {} has no bars in range", symbol, timeframe, provider.name)
                    continue
                problem = schema_problem(frame)
                if problem is None:
                    if reasons:
                        logger.info("{} {}: served by {}", symbol, timeframe, provider.name)
                    return frame
                reason = problem
            reasons.append(f"{provider.name}: {' '.join(reason.split())}")
            logger.warning("{} {}: source {} failed: {}", symbol, timeframe, provider.name, reason)
        if empty is not None and not reasons:
            return empty
        raise DataError(symbol, f"no source returned valid {timeframe} bars ({'; '.join(reasons)})")
