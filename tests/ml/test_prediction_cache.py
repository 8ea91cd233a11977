"""The walk-forward prediction cache (bot/ml/cache.py): hits, misses, bad entries, eviction, --no-cache."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from loguru import logger

from bot.backtest import run_backtest, write_run
from bot.config import dump_config
from bot.data.loading import load_data
from bot.ml.cache import ENV_DIR, PredictionCache, cache_key, encode_entry, open_cache, walk_forward
from tests.backtest.helpers import small_ml_config

TRAINED = "trained on"  # run_splits logs it for trained folds; a cache hit trains none
REUSED = "prediction cache: reusing walk-forward predictions"


def fast_config(**sets):
    base = dict(
        model__type="logistic",
        model__params="{}",
        validation__test="63",
        data__end="2016-06-30",
        data__symbols="[AAA, BBB]",
    )
    base.update(sets)
    return small_ml_config(**base)


_BARS: dict = {}


def bars_of(cfg):
    key = (cfg.data.end, tuple(cfg.data.symbols))
    if key not in _BARS:
        _BARS[key] = load_data(cfg)[0]
    return _BARS[key]


def wf(cfg, bars=None, use_cache: bool = True):
    """Run the cached walk-forward step alone (no simulation); return (result, log text)."""
    with captured() as lines:
        result = walk_forward(bars if bars is not None else bars_of(cfg), cfg, use_cache)
    return result, "\n".join(lines)


@contextmanager
def captured():
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(f"{m.record['level'].name} {m.record['message']}"), level="DEBUG")
    try:
        yield lines
    finally:
        logger.remove(sink)


def run(cfg, use_cache: bool = True):
    with captured() as lines:
        result = run_backtest(cfg, use_cache=use_cache)
    return result, "\n".join(lines)


def folder_bytes(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def entries() -> list[Path]:
    return sorted(Path(os.environ[ENV_DIR]).glob("*.mpc"))


def test_strategy_broker_risk_change_reuses_the_predictions_without_training():
    cold, log = wf(fast_config())
    assert TRAINED in log and REUSED not in log
    assert len(entries()) == 1
    changed = fast_config(
        strategy__params="{entry_threshold: 0.55}",
        broker__commission="0.002",
        risk__stop_loss="0.1",
        backtest__engine="vector",
        live__poll_seconds="1",
        cache__max_size_mb="100",
        validation__n_jobs="1",
        tuning__n_trials="4",
    )
    warm, log = run(changed)  # the whole backtest
    key = cache_key(bars_of(changed), changed)
    assert f"{REUSED} {key[:12]}" in log
    assert TRAINED not in log  # no fold was trained
    assert warm.walk_forward.predictions.equals(cold.predictions)
    # the fold table and metrics follow the new costs and trial count: rebuilt from the entry, not stored in it
    fresh, log = wf(changed, use_cache=False)
    assert TRAINED in log and REUSED not in log
    assert warm.walk_forward.folds.equals(fresh.folds) and not fresh.folds.equals(cold.folds)
    assert warm.walk_forward.metrics == fresh.metrics != cold.metrics


@pytest.mark.parametrize(
    "key, value",
    [
        ("seed", "8"),
        ("model.params", "{C: 0.5}"),
        ("model.features", "[ret_1, ret_5]"),
        ("model.horizon", "[1, 3]"),
        ("model.label", "triple_barrier"),
        ("model.calibration", "sigmoid"),
        ("model.horizon_combine", "mean"),
        ("model.selection", "{method: anova, k: 3}"),
        ("model.type", "xgboost"),
        ("validation.train", "200"),
        ("validation.test", "100"),
        ("validation.embargo", "3"),
        ("validation.window", "expanding"),
        ("data.end", "2017-11-30"),
        ("data.symbols", "[AAA]"),
    ],
)
def test_any_training_input_changes_the_key(key, value):
    base = fast_config()
    other = fast_config(**{key.replace(".", "__"): value})
    assert cache_key(bars_of(base), base) != cache_key(bars_of(other), other)


def test_settings_that_do_not_train_keep_the_key():
    base = fast_config()
    bars = bars_of(base)
    for key, value in (
        ("validation.n_jobs", "2"),
        ("strategy.params", "{entry_threshold: 0.6}"),
        ("broker.slippage", "0.01"),
        ("risk.max_position", "0.5"),
        ("tuning.n_trials", "5"),
        ("cache.dir", "elsewhere"),
        ("name", "other"),
    ):
        assert cache_key(bars, fast_config(**{key.replace(".", "__"): value})) == cache_key(bars, base), key


def test_a_seed_change_misses_and_trains():
    wf(fast_config())
    _, log = wf(fast_config(seed="8"))
    assert TRAINED in log and REUSED not in log
    assert len(entries()) == 2


def test_one_changed_byte_of_data_misses():
    cfg = fast_config()
    bars = bars_of(cfg)
    altered = {s: df.copy() for s, df in bars.items()}
    altered["BBB"].iloc[100, altered["BBB"].columns.get_loc("volume")] += 1
    assert cache_key(bars, cfg) != cache_key(altered, cfg)
    wf(cfg, bars)
    _, log = wf(cfg, altered)
    assert TRAINED in log and REUSED not in log
    _, log = wf(cfg, bars)
    assert REUSED in log


def test_a_user_feature_module_edit_misses(tmp_path):
    mod = tmp_path / "my_feats.py"
    mod.write_text(
        "from bot.features import feature\n\n@feature('my_mom', warmup=5)\n"
        "def my_mom(bars):\n    return bars['close'].pct_change(5)\n"
    )
    cfg = fast_config(model__feature_modules=f"[{mod}]")
    bars = bars_of(cfg)
    before = cache_key(bars, cfg)
    mod.write_text(mod.read_text().replace("pct_change(5)", "pct_change(6)"))
    assert cache_key(bars, cfg) != before


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "empty"])
def test_a_damaged_entry_is_ignored_with_a_warning_and_replaced(damage):
    cold, _ = wf(fast_config())
    (path,) = entries()
    blob = path.read_bytes()
    bad = {
        "flip": blob[:-200] + bytes([blob[-200] ^ 1]) + blob[-199:],
        "truncate": blob[: len(blob) // 2],
        "garbage": b"\x80\x04not a cache entry",
        "empty": b"",
    }[damage]
    path.write_bytes(bad)
    warm, log = wf(fast_config())
    assert f"WARNING prediction cache: ignoring {path}" in log
    assert TRAINED in log and REUSED not in log
    assert warm.predictions.equals(cold.predictions)
    assert path.read_bytes() == blob  # trained again and rewritten intact
    _, log = wf(fast_config())
    assert REUSED in log and "WARNING" not in log


def test_a_foreign_entry_is_ignored():
    wf(fast_config())
    (mine,) = entries()
    other = fast_config(seed="8")
    foreign = mine.with_name(f"{cache_key(bars_of(other), other)}.mpc")
    shutil.copy(mine, foreign)  # an entry of another key under this key's name
    _, log = wf(other)
    assert "written for key" in log and f"ignoring {foreign}" in log
    assert TRAINED in log and REUSED not in log


def test_least_recently_used_entries_are_evicted_beyond_the_size_limit(tmp_path):
    cfg = fast_config()
    outputs = _outputs_of(cfg)
    names = ["ret_1", "ret_5", "rsi_14"]
    size = len(encode_entry("k" * 64, outputs, names))
    cache = PredictionCache(tmp_path / "c", max_bytes=int(size * 3.5))
    a, b, c, d = (ch * 64 for ch in "abcd")
    for i, key in enumerate((a, b, c)):
        cache.store(key, outputs, names)
        os.utime(cache.path(key), ns=((i + 1) * 10**9,) * 2)  # a used before b before c
    assert cache.load(a) is not None  # now a is the most recently used
    cache.store(d, outputs, names)
    assert {p.stem for p in cache.entries()} == {a, c, d}  # b, the least recently used, went
    assert sum(p.stat().st_size for p in cache.entries()) <= cache.max_bytes
    small = PredictionCache(tmp_path / "c", max_bytes=size // 2)
    small.store(b, outputs, names)  # one entry over the limit is not kept either
    assert small.entries() == []


def _outputs_of(cfg):
    from bot.ml.dataset import build_dataset
    from bot.ml.walkforward import train_splits

    return train_splits(build_dataset(bars_of(cfg), cfg), cfg, log_folds=False)


def test_disabled_cache_neither_reads_nor_writes():
    wf(fast_config())
    (path,) = entries()
    before = path.stat().st_mtime_ns
    _, log = wf(fast_config(cache__enabled="false"))
    assert TRAINED in log and REUSED not in log
    assert entries() == [path] and path.stat().st_mtime_ns == before
    assert open_cache(fast_config(cache__enabled="false")) is None


def test_no_cache_option_of_run_backtest_neither_reads_nor_writes(tmp_path, capsys):
    import run_backtest as cli

    cfg = fast_config(registry__log_backtests="false")
    wf(cfg)
    (entry,) = entries()
    before = (entry.stat().st_ino, entry.stat().st_mtime_ns)
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(dump_config(cfg))
    capsys.readouterr()
    assert cli.main(["--config", str(cfg_file), "--out", str(tmp_path / "run"), "--no-cache"]) == 0
    err = capsys.readouterr().err
    assert REUSED not in err and TRAINED in err  # not read: trained again
    assert entries() == [entry] and (entry.stat().st_ino, entry.stat().st_mtime_ns) == before  # not written
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["cache"]["enabled"] is True


def test_warm_run_folder_is_byte_identical_to_a_cold_one(tmp_path):
    small = dict(model__horizon="[1, 3]", data__end="2016-12-31", data__symbols="[AAA, BBB]")
    wf(small_ml_config(**small))  # xgboost, two horizons: trains and fills the cache
    changed = small_ml_config(**small, broker__commission="0.003", strategy__params="{entry_threshold: 0.53}")
    warm, log = run(changed)
    assert REUSED in log and TRAINED not in log
    cold, log = run(changed, use_cache=False)
    assert TRAINED in log
    write_run(warm, tmp_path / "warm" / "run")  # the tear sheet names the folder: the same name for both
    write_run(cold, tmp_path / "cold" / "run")
    a, b = folder_bytes(tmp_path / "warm" / "run"), folder_bytes(tmp_path / "cold" / "run")
    assert set(a) >= {
        "oos_predictions.csv",
        "folds.csv",
        "feature_importance.csv",
        "metrics.json",
        "signals.csv",
        "tearsheet.html",
    }
    assert a == b
