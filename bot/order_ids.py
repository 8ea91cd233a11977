"""Deterministic client order ids: the same run, symbol, bar and intent always give the same id."""

from __future__ import annotations

import hashlib

import pandas as pd

INTENT_CODES = {"entry": "en", "exit": "ex", "stop_loss": "sl", "take_profit": "tp", "trailing_stop": "ts"}


def client_order_id(run: str, symbol: str, bar: pd.Timestamp, intent: str) -> str:
    """Return an id of at most 36 characters (Binance's limit) derived only from its inputs."""
    key = f"{run}|{symbol}|{pd.Timestamp(bar).isoformat()}|{intent}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"mp-{digest}-{INTENT_CODES.get(intent, intent[:4])}"
