"""Config loading: overrides, validation, and one-line errors that name the YAML path."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.config import apply_override
from bot.configure import load_config, parse_config
from bot.errors import ConfigError

BASE = {"name": "t", "data": {"source": "sample", "symbols": ["A"]}}


def _err(raw) -> str:
    with pytest.raises(ConfigError) as e:
        parse_config(raw)
    return e.value.line()


def with_(path: str, value: str):
    return apply_override(BASE, f"{path}={value}")


def test_defaults_and_frozen():
    cfg = parse_config(BASE)
    assert cfg.model.type == "xgboost" and cfg.model.horizon == 1 and cfg.validation.step_bars == 63
    with pytest.raises(ValidationError):
        cfg.name = "other"


def test_override_parses_yaml_values():
    raw = apply_override(BASE, "data.symbols=[SPY, QQQ]")
    raw = apply_override(raw, "broker.cash=5000")
    cfg = parse_config(raw)
    assert cfg.data.symbols == ["SPY", "QQQ"] and cfg.broker.cash == 5000.0


def test_unknown_key_suggests_the_right_one():
    assert _err(with_("risk.stop_los", "0.1")) == "config error: risk.stop_los: unknown key (did you mean 'stop_loss'?)"


def test_unknown_top_level_key():
    assert _err(dict(BASE, modle={})).startswith("config error: modle: unknown key (did you mean 'model'?)")


@pytest.mark.parametrize(
    "path,value,expect",
    [
        ("broker.commission", "-0.1", "config error: broker.commission: "),
        ("broker.slippage", "2", "config error: broker.slippage: "),
        ("risk.fraction", "0", "config error: risk.fraction: "),
        ("risk.fraction", "1.5", "config error: risk.fraction: "),
        ("risk.max_position", "abc", "config error: risk.max_position: "),
        ("model.horizon", "0", "config error: model.horizon: "),
        ("model.type", "svm", "config error: model.type: "),
        ("data.symbols", "[]", "config error: data.symbols: "),
        ("data.timeframe", "daily", "config error: data.timeframe: "),
    ],
)
def test_range_and_type_errors_name_the_key(path, value, expect):
    assert _err(with_(path, value)).startswith(expect)


def test_fast_must_be_below_slow():
    raw = apply_override(with_("strategy.name", "sma_cross"), "strategy.params={fast: 30, slow: 10}")
    raw = apply_override(raw, "risk.sizing=fixed_fraction")
    line = _err(raw)
    assert line.startswith("config error: strategy.params: fast (30) must be smaller than slow (10)")


def test_unknown_strategy_param():
    raw = apply_override(with_("strategy.name", "sma_cross"), "strategy.params.fsat=5")
    raw = apply_override(raw, "risk.sizing=fixed_fraction")
    assert _err(raw) == "config error: strategy.params.fsat: unknown key (did you mean 'fast'?)"


def test_kelly_needs_a_model():
    raw = apply_override(with_("strategy.name", "sma_cross"), "risk.sizing=kelly")
    assert _err(raw).startswith("config error: risk.sizing: kelly needs a model's win probability")


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "nope.yaml")
    assert e.value.line() == f"config error: {tmp_path / 'nope.yaml'}: config file not found"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndata: [unclosed\n")
    with pytest.raises(ConfigError) as e:
        load_config(bad)
    assert e.value.line().startswith(f"config error: {bad}: invalid YAML at line 3")


def test_bad_override_syntax():
    with pytest.raises(ConfigError) as e:
        apply_override(BASE, "no_equals_sign")
    assert e.value.line().startswith("config error: --set: expected dotted.key=value")
    with pytest.raises(ConfigError) as e:
        apply_override(BASE, "name.inner=3")
    assert e.value.line() == "config error: name: is not a mapping, cannot set a key inside it"


def test_shipped_configs_are_valid(repo_root):
    for path in sorted((repo_root / "config" / "backtest").glob("*.yaml")):
        load_config(path)
