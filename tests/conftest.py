"""Shared fixtures: the repo root, the shared market data folder, and small configs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def market_data_dir() -> Path | None:
    """Return $MARKET_DATA_DIR, else ../shared/data next to the repo, if it exists."""
    env = os.environ.get("MARKET_DATA_DIR")
    path = Path(env) if env else ROOT.parent / "shared" / "data"
    return path if path.is_dir() else None


@pytest.fixture
def shared_data() -> Path:
    path = market_data_dir()
    if path is None:
        pytest.skip("shared market data not found (set MARKET_DATA_DIR)")
    return path


@pytest.fixture
def repo_root() -> Path:
    return ROOT
