"""Generated bars whose predictability and regimes are known, for the lifecycle tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def ar_bars(
    n: int,
    phi: float | np.ndarray,
    vol: float | np.ndarray = 0.01,
    seed: int = 0,
    start: str = "2015-01-01",
    drift: float = 0.0,
    price: float = 100.0,
) -> pd.DataFrame:
    """Return daily OHLCV whose one-bar returns follow r_t = phi_t * r_{t-1} + vol_t * e_t (e ~ N(0, 1)).

    With phi > 0 yesterday's return predicts today's sign (momentum); phi < 0 mean reversion; phi = 0
    is a random walk. ``phi`` and ``vol`` may be arrays of length ``n`` (regime changes).
    """
    rng = np.random.default_rng(seed)
    phi = np.broadcast_to(np.asarray(phi, dtype=float), (n,))
    vol = np.broadcast_to(np.asarray(vol, dtype=float), (n,))
    eps = rng.standard_normal(n)
    r = np.empty(n)
    prev = 0.0
    for t in range(n):
        prev = phi[t] * prev + vol[t] * eps[t] + drift
        r[t] = prev
    close = price * np.exp(np.cumsum(r))
    open_ = np.concatenate(([price], close[:-1]))
    wiggle = np.abs(rng.standard_normal((2, n))) * vol * 0.3
    high = np.maximum(open_, close) * np.exp(wiggle[0])
    low = np.minimum(open_, close) * np.exp(-wiggle[1])
    volume = np.round(1e6 * np.exp(0.2 * rng.standard_normal(n)))
    idx = pd.bdate_range(start, periods=n, tz="UTC", name="timestamp").as_unit("ns")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=idx)


def write_csv_folder(folder: Path, bars: dict[str, pd.DataFrame]) -> Path:
    """Write ``<SYMBOL>.csv`` files (date, open, high, low, close, volume) and return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for sym, df in bars.items():
        out = df.reset_index()
        out["date"] = out["timestamp"].dt.strftime("%Y-%m-%d")
        out[["date", "open", "high", "low", "close", "volume"]].to_csv(folder / f"{sym}.csv", index=False)
    return folder
