"""What the benchmark scripts share: the repo on sys.path, the data folder, the 20-symbol universe."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# 20 daily equities of ../shared/data that all cover 2006-2020 (15 years).
SYMBOLS_20 = [
    "SPY",
    "ORCL",
    "YHOO",
    "AMZN",
    "GOOGL",
    "INTC",
    "CSCO",
    "KO",
    "WMT",
    "PG",
    "HD",
    "IBM",
    "AAPL",
    "BAC",
    "CVX",
    "GS",
    "JNJ",
    "JPM",
    "MSFT",
    "XOM",
]


def data_dir() -> Path:
    """Return $MARKET_DATA_DIR (default ../shared/data next to the repo)."""
    return Path(os.environ.get("MARKET_DATA_DIR", ROOT.parent / "shared" / "data"))


def require_data_dir() -> Path | None:
    """Return the data folder, or print why not and return None (the script then exits 2)."""
    folder = data_dir()
    if not folder.is_dir():
        print(f"no market data at {folder}; set MARKET_DATA_DIR", file=sys.stderr)
        return None
    return folder
