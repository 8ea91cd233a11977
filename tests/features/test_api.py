"""Name resolution, presets, output shape and errors."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError, DataError
from bot.features import FEATURE_PRESETS, REGISTRY, compute_features, resolve_feature_names
from tests.features._frames import tiny_bars

STARTER = [
    "ret_1",
    "ret_5",
    "ret_20",
    "rsi_14",
    "ppo",
    "ppo_signal",
    "ppo_hist",
    "vol_20",
    "close_sma_10",
    "close_sma_50",
]


def test_starter_preset_exact() -> None:
    assert FEATURE_PRESETS["starter"] == STARTER
    assert resolve_feature_names("starter") == STARTER


def test_resolve_mixes_presets_and_names_dedup_in_order() -> None:
    got = resolve_feature_names(["vol_20", "starter", "ret_1"])
    assert got[0] == "vol_20"
    assert got[1:] == [n for n in STARTER if n != "vol_20"]


def test_unknown_name_suggests() -> None:
    with pytest.raises(ConfigError) as ei:
        resolve_feature_names(["ret_1", "rsi14"])
    assert ei.value.where == "model.features"
    assert ei.value.what == "unknown feature 'rsi14' (did you mean 'rsi_14'?)"


def test_unknown_name_without_suggestion() -> None:
    with pytest.raises(ConfigError, match=r"^model.features: unknown feature 'zzzzqqq'$"):
        compute_features(tiny_bars(10), ["zzzzqqq"])


def test_output_columns_order_index_dtype() -> None:
    bars = tiny_bars(60)
    names = ["macd", "ret_1", "rsi_14"]
    out = compute_features(bars, names)
    assert list(out.columns) == names
    assert out.index.equals(bars.index)
    assert all(str(t) == "float64" for t in out.dtypes)


def test_missing_column_is_data_error() -> None:
    with pytest.raises(DataError, match="volume"):
        compute_features(tiny_bars(10).drop(columns="volume"), ["ret_1"])


def test_unsorted_bars_are_a_data_error() -> None:
    with pytest.raises(DataError, match="increasing"):
        compute_features(tiny_bars(10).iloc[::-1], ["ret_1"])


def test_every_feature_function_has_a_one_line_doc_with_its_warmup() -> None:
    from functools import partial

    for name, feature in REGISTRY.items():
        fn = feature.fn.func if isinstance(feature.fn, partial) else feature.fn
        first = (fn.__doc__ or "").splitlines()[0]
        assert "warm-up" in first, f"{name}: {first!r}"


def test_full_preset_has_no_context_features() -> None:
    assert all(not REGISTRY[n].needs for n in FEATURE_PRESETS["full"])


def test_docs_list_every_feature_with_its_warmup() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "features.md").read_text()
    rows = {}
    for line in text.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0].strip("`")] = int(cells[-1])
    assert rows == {n: f.warmup for n, f in REGISTRY.items()}
