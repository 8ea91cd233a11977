"""Generated bars (random walks, planted signals) and small configs for ML tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.config import apply_override
from bot.configure import parse_config


def bars_from_returns(returns: np.ndarray, seed: int, start: str = "2010-01-04") -> pd.DataFrame:
    """Return consistent daily OHLCV bars whose closes follow ``returns`` (log returns)."""
    rng = np.random.default_rng(seed)
    n = len(returns)
    close = 100.0 * np.exp(np.cumsum(returns))
    open_ = close * np.exp(rng.normal(0, 0.002, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    volume = rng.uniform(1e5, 1e6, n).round()
    idx = pd.bdate_range(start, periods=n, tz="UTC", name="timestamp")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=idx)


def random_walk_bars(symbols: int = 3, n: int = 900, seed: int = 0, vol: float = 0.01) -> dict[str, pd.DataFrame]:
    """Return driftless Gaussian random walks: nothing in the past predicts the next return."""
    rng = np.random.default_rng(seed)
    return {f"RW{i}": bars_from_returns(rng.normal(0, vol, n), seed + 100 + i) for i in range(symbols)}


def planted_bars(symbols: int = 3, n: int = 900, seed: int = 0, phi: float = -0.5) -> dict[str, pd.DataFrame]:
    """Return AR(1) returns r[t+1] = phi * r[t] + noise: the sign of ret_1 predicts the next move."""
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(symbols):
        e = rng.normal(0, 0.01, n)
        r = np.zeros(n)
        for t in range(1, n):
            r[t] = phi * r[t - 1] + e[t]
        out[f"AR{i}"] = bars_from_returns(r, seed + 100 + i)
    return out


def ml_config(**sets):
    """Return a fast config (features ret_1/ret_5/rsi_14, small windows, few trees)."""
    raw = {
        "name": "ml-test",
        "seed": 3,
        "data": {"source": "sample", "symbols": ["X"]},
        "strategy": {"name": "ml_signal", "params": {"entry_threshold": 0.5}},
        "model": {"type": "logistic", "features": ["ret_1", "ret_5", "rsi_14"], "calibration": "none"},
        "validation": {"train": 250, "test": 50, "embargo": 2},
        "broker": {"commission": 0.0, "slippage": 0.0},
    }
    for key, value in sets.items():
        raw = apply_override(raw, f"{key.replace('__', '.')}={value}")
    return parse_config(raw)
