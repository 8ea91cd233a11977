"""Users' own strategies and features: loaded by path or module, run in backtests and live, bad input is one line."""

from __future__ import annotations

import pickle
import signal

import pytest
import yaml

import run_backtest
import run_live
from bot.config import dump_config
from bot.configure import load_config, parse_config
from bot.errors import ConfigError
from bot.features import REGISTRY, USER_FEATURES
from bot.features import check as feature_check
from bot.ml.horizons import horizon_combine_of
from strategies import build_strategy, get_strategy_class
from tests.strategies.plugin_sources import (
    FEATURES_CLASH,
    FEATURES_LEAKY,
    FEATURES_OK,
    MOMENTUM,
    write,
)

BASE = {
    "name": "plugin-test",
    "seed": 3,
    "data": {"source": "sample", "symbols": ["AAA", "BBB"], "start": "2016-01-01", "end": "2017-06-30"},
    "strategy": {"name": "my_strategy.py:Momentum", "params": {"lookback": 10}},
    "risk": {"sizing": "fixed_fraction", "fraction": 0.25, "max_position": 0.25},
    "registry": {"log_backtests": False},  # no MLflow: the run folder is what these tests read
}


@pytest.fixture(autouse=True)
def restore_signal_handlers():
    """run_live.main sets signal handlers: put them back after an in-process run."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A config folder holding my_strategy.py and plugin.yaml; the working directory is elsewhere."""
    folder = tmp_path / "proj"
    write(folder, "my_strategy.py", MOMENTUM)
    (folder / "plugin.yaml").write_text(yaml.safe_dump(BASE))
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return folder


def _one_config_error(code: int, err: str, start: str) -> str:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith(start), err
    return lines[0]


def test_a_strategy_file_next_to_the_config_backtests_with_its_own_signal_columns(project):
    from bot.backtest import run_backtest as backtest
    from bot.backtest import signals_frame

    cfg = load_config(project / "plugin.yaml")  # the working directory is elsewhere: found next to the config
    result = backtest(cfg)  # write_run adds only files (and a slow tearsheet); signals.csv is signals_frame
    signals = signals_frame(result)
    assert list(signals.columns) == ["timestamp", "symbol", "momentum", "turn"]
    assert len(signals) > 100 and set(signals["symbol"]) == {"AAA", "BBB"}
    assert ((signals["momentum"] != 0) | (signals["turn"] != 0)).all()
    assert (result.ledger.orders_frame()["status"] == "filled").any()
    saved = yaml.safe_load(dump_config(cfg))  # the run folder's config.yaml: reproducible from anywhere
    assert saved["strategy"]["name"] == f"{(project / 'my_strategy.py').resolve()}:Momentum"
    assert parse_config(saved).strategy.name == saved["strategy"]["name"]


def test_set_strategy_name_loads_a_plugin_and_the_class_is_stable(project):
    cfg = load_config(
        project / "plugin.yaml",
        ["strategy.name=my_strategy.py:UsesModel", "model.horizon=[1, 5]", "model.horizon_combine=mean"],
    )
    cls = get_strategy_class(cfg.strategy.name)
    assert cls is get_strategy_class(cfg.strategy.name)  # cached by resolved path
    assert pickle.loads(pickle.dumps(cls)) is cls
    strategy = build_strategy(cfg)  # a user ML strategy gets the model settings without its own __init__
    assert strategy.horizons == [1, 5] and strategy.model.horizon_combine == "mean"
    assert horizon_combine_of(cfg) == "mean"


def test_deprecated_ml_signal_horizon_combine_moves_to_the_model():
    raw = dict(BASE, strategy={"name": "ml_signal", "params": {"horizon_combine": "first"}}, risk={"sizing": "kelly"})
    cfg = parse_config(raw)
    assert cfg.model.horizon_combine == "first" and "horizon_combine" not in cfg.strategy.params


def test_the_same_plugin_runs_in_a_live_replay_session(project, tmp_path, capsys):
    cfg = dict(
        BASE,
        name="plugin-live",
        broker={"kind": "paper"},
        live={"paper_data": "replay", "poll_seconds": 0, "state_db": f"sqlite:///{tmp_path / 'j.db'}"},
    )
    (project / "live.yaml").write_text(yaml.safe_dump(cfg))
    code = run_live.main(["--config", str(project / "live.yaml"), "--max-bars", "5", "-q"])
    out = capsys.readouterr().out
    assert code == 0 and "5 bars traded" in out


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("missing.py:Momentum", "config error: strategy.name: file not found: "),
        ("my_strategy.py:Momentun", "config error: strategy.name: no class 'Momentun' in "),
        (
            "my_strategy.py:NotAStrategy",
            "config error: strategy.name: 'NotAStrategy' is not a subclass of strategies.base.Strategy",
        ),
        ("my_strategy.py:Half", "config error: strategy.name: 'Half' does not implement decide"),
        ("sma_cros", "config error: strategy.name: unknown strategy 'sma_cros' (did you mean 'sma_cross'?)"),
        (
            "no_such_pkg.mod:Cls",
            "config error: strategy.name: cannot import module 'no_such_pkg.mod': "
            "ModuleNotFoundError: No module named 'no_such_pkg'",
        ),
    ],
)
def test_a_bad_strategy_name_is_one_config_error_line(project, tmp_path, capsys, name, expected):
    code = run_backtest.main(
        [
            "--config",
            str(project / "plugin.yaml"),
            "--set",
            f"strategy.name={name}",
            "--out",
            str(tmp_path / "run"),
            "-q",
        ]
    )
    line = _one_config_error(code, capsys.readouterr().err, expected)
    if "Momentun" in name:
        assert line.endswith("(did you mean 'Momentum'?)")
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_a_strategy_file_that_fails_to_import_is_one_line(project, tmp_path, capsys):
    write(project, "broken.py", "import numpy\nraise RuntimeError('boom\\nsecond line')\n")
    code = run_backtest.main(
        ["--config", str(project / "plugin.yaml"), "--set", "strategy.name=broken.py:X", "--out", str(tmp_path / "run")]
    )
    line = _one_config_error(code, capsys.readouterr().err, "config error: strategy.name: cannot import ")
    assert line.endswith("broken.py: RuntimeError: boom second line")


def test_a_feature_module_feeds_the_model_in_a_backtest(project):
    from bot.backtest import run_backtest as backtest

    write(project, "feats.py", FEATURES_OK, prefix="bt")
    raw = dict(
        BASE,
        strategy={"name": "ml_signal", "params": {"entry_threshold": 0.51}},
        risk={"sizing": "kelly", "fraction": 1.0, "max_position": 0.3},
        model={
            "type": "logistic",
            "calibration": "none",
            "feature_modules": ["feats.py"],
            "features": ["ret_1", "bt_range", "bt_ret2"],
        },
        validation={"train": 150, "test": 50, "embargo": 2},
    )
    (project / "ml.yaml").write_text(yaml.safe_dump(raw))
    cfg = load_config(project / "ml.yaml")
    assert cfg.model.feature_modules == [str((project / "feats.py").resolve())]
    result = backtest(cfg)
    assert result.metrics["ml"]["features"] == ["ret_1", "bt_range", "bt_ret2"]
    assert result.metrics["ml"]["n_predictions"] > 0
    assert "bt_range" in USER_FEATURES and "bt_range" not in REGISTRY  # the built-in table stays as shipped


def test_a_feature_named_like_a_built_in_is_a_config_error(project):
    write(project, "clash.py", FEATURES_CLASH)
    with pytest.raises(ConfigError) as e:
        load_config(project / "plugin.yaml", ["model.feature_modules=[clash.py]"])
    assert str(e.value).startswith("model.feature_modules[0]: ")
    assert "clash.py: feature 'rsi_14' clashes with a built-in" in str(e.value)


def test_features_check_passes_a_causal_module(tmp_path, capsys):
    path = write(tmp_path, "good_feats.py", FEATURES_OK, prefix="chk")
    assert feature_check.main(["check", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == ["ok chk_ret2", "ok chk_range"]


def test_features_check_fails_a_look_ahead_feature_and_names_it(tmp_path, capsys):
    path = write(tmp_path, "leaky_feats.py", FEATURES_LEAKY, prefix="lk")
    assert feature_check.main(["check", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "ok lk_fine"
    assert lines[1].startswith("FAIL lk_peek: looks ahead at ")


@pytest.mark.parametrize("spec", ["no_such_features_module", "missing/feats.py"])
def test_features_check_of_a_missing_module_is_one_line(tmp_path, monkeypatch, capsys, spec):
    monkeypatch.chdir(tmp_path)
    assert feature_check.main(["check", spec]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    _one_config_error(2, captured.err, f"config error: {spec}: ")
