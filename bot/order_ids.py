"""Deterministic client order ids: the same run, symbol, bar and intent always give the same id."""

from __future__ import annotations

import hashlib

import pandas as pd

INTENT_CODES = {"entry": "en", "exit": "ex", "stop_loss": "sl", "take_profit": "tp", "trailing_stop": "ts"}


def client_order_id(run: str, symbol: str, bar: pd.Timestamp, intent: str) -> str:
    """Return an id of at most 36 characters (Binance's limit) derived only from its inputs."""
    return order_id_from_iso(run, symbol, pd.Timestamp(bar).isoformat(), intent)


def order_id_from_iso(run: str, symbol: str, bar_iso: str, intent: str) -> str:
    """``client_order_id`` with the bar already as ``pd.Timestamp(bar).isoformat()`` (many ids of one bar)."""
    key = f"{run}|{symbol}|{bar_iso}|{intent}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"mp-{digest}-{INTENT_CODES.get(intent, intent[:4])}"
