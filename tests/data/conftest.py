"""Fixtures for the data-layer tests: the shared real-data folder and a CSV writer."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def market_data_dir() -> Path:
    """Return $MARKET_DATA_DIR or ../shared/data relative to the repo root."""
    return Path(os.environ.get("MARKET_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture
def real_data() -> Path:
    """The shared real market data folder; skip the test when it is absent."""
    path = market_data_dir()
    if not (path / "equities" / "daily").is_dir():
        pytest.skip(f"real market data not found at {path} (set MARKET_DATA_DIR)")
    return path


HEADER = "date,open,high,low,close,volume"


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write ``<symbol>.csv`` with the given lines into tmp_path and return the folder."""

    def _write(symbol: str, rows: list[str], header: str = HEADER) -> Path:
        (tmp_path / f"{symbol}.csv").write_text("\n".join([header, *rows]) + "\n")
        return tmp_path

    return _write
