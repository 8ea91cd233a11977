"""data_hash is stable, order-independent and changes with any value."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from bot.data import data_hash, data_manifest, load_bars


def _bars():
    return load_bars("sample", ["AAA", "BBB"], start="2015-01-01", end="2015-12-31", seed=1)


def test_hash_is_stable_and_order_independent():
    a, b = _bars(), _bars()
    assert data_hash(a) == data_hash(b)
    assert data_hash(a) == data_hash({"BBB": a["BBB"], "AAA": a["AAA"]})
    assert data_hash(a).startswith("sha256:")


def test_hash_is_stable_across_processes():
    code = (
        "from bot.data import load_bars, data_hash;"
        "print(data_hash(load_bars('sample',['AAA','BBB'],start='2015-01-01',end='2015-12-31',seed=1)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == data_hash(_bars())


def test_hash_changes_when_any_value_changes():
    base = data_hash(_bars())
    for col in ["open", "high", "low", "close", "volume"]:
        bars = _bars()
        frame = bars["BBB"].copy()
        frame.iloc[100, frame.columns.get_loc(col)] = np.nextafter(frame[col].iloc[100], np.inf)
        bars["BBB"] = frame
        assert data_hash(bars) != base, col


def test_hash_changes_with_index_symbol_and_rows():
    base = data_hash(_bars())
    bars = _bars()
    bars["AAA"] = bars["AAA"].iloc[:-1]
    assert data_hash(bars) != base
    bars = _bars()
    bars["AAA"].index = bars["AAA"].index.shift(1, freq="h")
    assert data_hash(bars) != base
    bars = _bars()
    bars["CCC"] = bars.pop("AAA")
    assert data_hash(bars) != base


def test_manifest_lists_symbols():
    m = data_manifest(_bars())
    assert m["hash"] == data_hash(_bars())
    assert set(m["symbols"]) == {"AAA", "BBB"}
    assert m["symbols"]["AAA"]["rows"] == 261
