"""Shadow mode: run the challenger alongside the champion; record its would-be orders, never send them.

``ShadowRecorder.on_bar(bars, at)`` asks the challenger for P(up) on the bar, runs the same strategy
class on it against a shadow book (long / flat per symbol, filled at the decision close), and
appends every would-be entry and exit to a CSV (``retrain.shadow``: ``state/<name>-shadow.csv``).
Closed shadow trades carry their return, so ``summary()`` compares the challenger's paper record
with the champion's real one before anyone promotes it.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from strategies.base import BarView, Enter, Exit

COLUMNS = ("bar_time", "symbol", "model_version", "prob_up", "action", "fraction", "price", "trade_return")


class ShadowRecorder:
    """Record the challenger's would-be orders; nothing here can reach a venue."""

    def __init__(self, strategy, model, path: str | Path, state=None):
        self.strategy = strategy
        self.model = model  # anything with prob_up(bars, at) and version (a BarModel)
        self.path = Path(path)
        self.state = state  # a LiveState, counting shadow orders for /metrics
        self.book: dict[str, float] = {}  # symbol -> shadow entry price (absent: flat)
        self.rows: list[dict] = []

    def on_bar(self, bars: Mapping[str, pd.DataFrame], at: pd.Timestamp) -> list[dict]:
        """Decide the challenger's intents for bar ``at``; record and return them."""
        out = []
        for sym, p in self.model.prob_up(bars, at).items():
            row = self._decide(sym, bars[sym], at, p)
            if row is not None:
                out.append(row)
        if out:
            self._append(out)
            if self.state is not None:
                self.state.add_shadow_orders(len(out))
        return out

    def _decide(self, sym: str, df: pd.DataFrame, at: pd.Timestamp, p: float) -> dict | None:
        prob = pd.Series(np.nan, index=df.index)
        prob.iloc[-1] = p
        signals = self.strategy.compute_signals(df, prob).iloc[-1].to_dict()
        close = float(df["close"].iloc[-1])
        held = sym in self.book
        intent = self.strategy.decide(BarView(sym, at, close, signals, 1.0 if held else 0.0, False))
        row = {
            "bar_time": at.isoformat(),
            "symbol": sym,
            "model_version": self.model.version,
            "prob_up": p,
            "price": close,
            "fraction": None,
            "trade_return": None,
        }
        if isinstance(intent, Enter) and not held:
            self.book[sym] = close
            return {**row, "action": "enter", "fraction": intent.fraction}
        if isinstance(intent, Exit) and held:
            entry = self.book.pop(sym)
            return {**row, "action": "exit", "trade_return": close / entry - 1.0}
        return None

    def _append(self, rows: list[dict]) -> None:
        self.rows.extend(rows)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
        with open(self.path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
            if new:
                w.writeheader()
            w.writerows(rows)

    def summary(self) -> dict:
        """Return the shadow record: entries, closed trades, their mean return and hit rate, open positions."""
        closed = [r["trade_return"] for r in self.rows if r["action"] == "exit"]
        return {
            "model_version": self.model.version,
            "entries": sum(r["action"] == "enter" for r in self.rows),
            "closed_trades": len(closed),
            "open": sorted(self.book),
            "mean_return": float(np.mean(closed)) if closed else None,
            "hit_rate": float(np.mean([r > 0 for r in closed])) if closed else None,
        }
