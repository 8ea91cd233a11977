"""validation.n_jobs: folds trained at once give the same bytes as one after the other."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.backtest import run_backtest, write_run
from bot.ml.dataset import build_dataset
from bot.ml.pipeline import fold_jobs
from bot.ml.walkforward import validate_dataset
from tests.backtest.helpers import small_ml_config
from tests.ml.helpers import ml_config, planted_bars


def folder_bytes(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def test_run_folder_is_byte_identical_for_one_and_two_jobs(tmp_path):
    small = dict(
        model__horizon="[1, 3]",
        data__end="2016-06-30",
        data__symbols="[AAA, BBB]",
        validation__test="30",
    )  # xgboost (2 threads each), two horizons
    for jobs in (1, 2):
        result = run_backtest(small_ml_config(**small, validation__n_jobs=str(jobs)), use_cache=False)
        assert result.metrics["ml"]["n_folds"] >= 4
        write_run(result, tmp_path / f"jobs{jobs}" / "run")
    one, two = folder_bytes(tmp_path / "jobs1" / "run"), folder_bytes(tmp_path / "jobs2" / "run")
    assert {"oos_predictions.csv", "folds.csv", "feature_importance.csv", "metrics.json"} <= set(one)
    for name in (
        "config.yaml",
        "tearsheet.html",
    ):  # they show the config: n_jobs is the only difference
        assert one.pop(name).replace(b"n_jobs: 1", b"n_jobs: 2").replace(b"n_jobs=1", b"n_jobs=2") == two.pop(name)
    assert one == two


@pytest.mark.parametrize("model", ["random_forest", "hist_gb"])
def test_other_models_give_identical_predictions_with_two_jobs(model):
    bars = planted_bars(2, 500)
    results = []
    for jobs in (1, 2):
        cfg = ml_config(
            model__type=model,
            model__params="{n_estimators: 20}" if model == "random_forest" else "{max_iter: 20}",
            validation__n_jobs=str(jobs),
            validation__test="80",
        )
        results.append(validate_dataset(build_dataset(bars, cfg), cfg, bars, log_folds=False))
    a, b = results
    assert a.predictions.equals(b.predictions) and a.folds.equals(b.folds) and a.importance.equals(b.importance)
    assert len(a.folds) >= 3


def test_on_split_runs_the_splits_in_order_and_may_stop_them():
    bars = planted_bars(2, 700)
    cfg = ml_config(validation__n_jobs="2", validation__test="60")
    ds = build_dataset(bars, cfg)
    seen: list[int] = []

    def watch(split, rows):
        seen.append(split.index)
        if len(seen) == 3:
            raise RuntimeError("stop")  # the tuner prunes this way

    with pytest.raises(RuntimeError, match="stop"):
        validate_dataset(ds, cfg, bars, watch, log_folds=False)
    assert seen == [0, 1, 2]


def test_fold_jobs():
    assert fold_jobs(1, 10) == 1
    assert fold_jobs(4, 3) == 3
    assert fold_jobs(-1, 100) >= 1
