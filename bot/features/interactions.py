"""Interaction terms: products and ratios of other features."""

from __future__ import annotations

import pandas as pd

from bot.features._math import safe_div
from bot.features.bands import bb_pctb
from bot.features.oscillators import rsi
from bot.features.price import realised_vol, ret
from bot.features.registry import Feature, table
from bot.features.volume import volume_z


def rsi_x_mom(bars: pd.DataFrame) -> pd.Series:
    """(RSI14 - 50) / 50 * ret_20: momentum confirmed by RSI; warm-up 20 rows."""
    return (rsi(bars, 14) - 50.0) / 50.0 * ret(bars, 20)


def mom_over_vol(bars: pd.DataFrame) -> pd.Series:
    """ret_20 / vol_20: volatility-adjusted momentum; warm-up 20 rows."""
    return safe_div(ret(bars, 20), realised_vol(bars, 20))


def pctb_x_volume_z(bars: pd.DataFrame) -> pd.Series:
    """(%B20 - 0.5) * volume_z_20: band position weighted by unusual volume; warm-up 19 rows."""
    return (bb_pctb(bars, 20) - 0.5) * volume_z(bars, 20)


FEATURES: dict[str, Feature] = table(
    Feature("rsi_x_mom_20", rsi_x_mom, "(rsi_14 - 50) / 50 * ret_20", 20),
    Feature("mom_over_vol_20", mom_over_vol, "ret_20 / vol_20", 20),
    Feature("pctb_x_volume_z_20", pctb_x_volume_z, "(bb_pctb_20 - 0.5) * volume_z_20", 19),
)
