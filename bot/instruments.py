"""What kind of instrument a symbol names: the one place that knows the symbol convention.

Crypto pairs are written ``BASE/QUOTE`` (``BTC/USDT``, as ccxt and Alpaca's crypto API write them);
anything else (``SPY``, ``BRK.B``) is an equity. Crypto trades every day and in fractional sizes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

AssetClass = Literal["crypto", "equity"]


def asset_class(symbol: str) -> AssetClass:
    """Return "crypto" for a ``BASE/QUOTE`` pair, else "equity"."""
    return "crypto" if "/" in symbol else "equity"


def is_crypto(symbol: str) -> bool:
    """Return True for a crypto pair such as ``BTC/USDT``."""
    return asset_class(symbol) == "crypto"


def any_crypto(symbols: Iterable[str]) -> bool:
    """Return True if any of ``symbols`` is a crypto pair."""
    return any(is_crypto(s) for s in symbols)


def split_pair(symbol: str) -> tuple[str, str | None]:
    """Return (base, quote) of a crypto pair, (symbol, None) for anything else."""
    if not is_crypto(symbol):
        return symbol, None
    base, quote = symbol.split("/", 1)
    return base, quote
