"""Tune model hyper-parameters with Optuna on a time-series (walk-forward or purged) CV objective.

    python -m bot.research.tune --config FILE --trials N [--storage URL] [--study NAME] [--out DIR]

Each trial runs ``validation.scheme`` with the trial's ``model.params`` and scores
``tuning.metric`` out of sample; after every fold the running score is reported to Optuna, whose
median pruner may stop a poor trial early (after ``tuning.prune_after`` folds). The study is
persistent: by default ``sqlite:///<out>/study.db`` (``<out>`` defaults to ``tuning/<study>/``),
or any SQLAlchemy URL given with ``--storage``, so runs resume and several processes or machines
can share a study. Every trial that ran (completed or pruned) counts for the deflated Sharpe ratio.

Writes to ``<out>``: ``best_params.yaml`` (``model.params`` and the ``tuning.n_trials`` /
``tuning.sharpe_std`` to deflate by), ``best_config.yaml`` (the input config with both applied,
runnable by ``run_backtest.py``) and ``trials.csv``; prints the ``--set`` options that apply the
result to another config.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from loguru import logger

from bot.cli import base_parser, run_cli, setup_logging
from bot.config import Config, dump_config
from bot.configure import load_config, parse_config
from bot.errors import ConfigError, without_credentials
from bot.ml import scoring
from bot.ml.dataset import Dataset, build_dataset
from bot.ml.summary import bars_per_year, cost_of
from bot.ml.walkforward import check_history, validate_dataset
from bot.progress import progress
from bot.research.space import default_space, suggest, with_values

MINIMIZE = {"log_loss", "brier"}


def _score(rows: pd.DataFrame, metric: str, ppy: int, cost: float) -> float:
    if metric == "sharpe":
        return float(scoring.trading_metrics(rows, ppy, cost).get("sharpe", np.nan))
    m = rows["label"].notna() & rows["prob_up"].notna()
    y, p = rows.loc[m, "label"].to_numpy().astype(int), rows.loc[m, "prob_up"].to_numpy()
    value = scoring.classification_metrics(y, p).get(metric) if len(y) else None
    return float("nan") if value is None else float(value)


def trial_config(cfg: Config, params: dict[str, Any]) -> Config:
    """Return ``cfg`` with ``model.params`` replaced (validated like any config)."""
    raw = cfg.model_dump(mode="json")
    raw["model"]["params"] = params
    return parse_config(raw)


class Objective:
    """Optuna objective: walk-forward (or purged) CV score of one parameter draw, with pruning."""

    def __init__(self, cfg: Config, ds: Dataset, bars: dict[str, pd.DataFrame]):
        self.cfg, self.ds, self.bars = cfg, ds, bars
        self.space = dict(cfg.tuning.space) or default_space(cfg.model)
        self.ppy = bars_per_year(ds.calendar)

    def __call__(self, trial) -> float:
        import optuna

        values = {name: suggest(trial, name, spec) for name, spec in self.space.items()}
        cfg = trial_config(self.cfg, with_values(self.cfg.model.params, values, self.cfg.model.type))
        metric, seen = cfg.tuning.metric, []

        def on_split(split, rows: pd.DataFrame) -> None:
            seen.append(rows)
            score = _score(pd.concat(seen, ignore_index=True), metric, self.ppy, cost_of(cfg))
            if np.isfinite(score):
                trial.report(score, len(seen) - 1)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after fold {split.index}")

        result = validate_dataset(self.ds, cfg, self.bars, on_split, log_folds=False)
        m = result.metrics
        if not m.get("n_predictions"):
            raise optuna.TrialPruned("no predictions")
        rule = m["stats"]["rule"]
        for key, value in (
            ("sharpe_per_bar", rule.get("sharpe_per_bar")),
            ("sharpe", rule.get("sharpe")),
            ("n_obs", rule.get("n_obs")),
            ("accuracy", m["accuracy"]),
            ("roc_auc", m["roc_auc"]),
        ):
            trial.set_user_attr(key, value)
        score = _score(result.predictions, metric, self.ppy, cost_of(cfg))
        return score if np.isfinite(score) else (float("inf") if metric in MINIMIZE else float("-inf"))


def open_study(cfg: Config, storage: str, name: str, seed: int):
    """Create or load the persistent study (TPE sampler, median pruner)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    direction: Literal["minimize", "maximize"] = "minimize" if cfg.tuning.metric in MINIMIZE else "maximize"
    where = without_credentials(storage)
    for attempt in range(6):
        try:
            return optuna.create_study(
                storage=storage,
                study_name=name,
                direction=direction,
                load_if_exists=True,
                sampler=optuna.samplers.TPESampler(seed=seed),
                pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=cfg.tuning.prune_after),
            )
        except (ValueError, ImportError) as e:
            raise ConfigError(
                "--storage", f"cannot open study {name!r} at {where}: {without_credentials(str(e).splitlines()[0])}"
            ) from None
        except Exception as e:  # sqlalchemy errors: bad URL, unreachable database, a concurrent first start
            if not type(e).__module__.startswith("sqlalchemy"):
                raise
            racing = type(e).__name__ in ("IntegrityError", "ProgrammingError")
            if racing and attempt < 5:  # another process is creating the same tables or study right now
                time.sleep(0.2 * (attempt + 1))
                continue
            raise ConfigError(
                "--storage", f"cannot open {where}: {without_credentials(str(e).splitlines()[0])}"
            ) from None
    raise AssertionError("unreachable")


def counted_trials(study) -> list:
    """Return the trials that count as configurations tried: completed and pruned ones."""
    from optuna.trial import TrialState

    return [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]


def deflation_inputs(study, cfg: Config) -> dict[str, Any]:
    """Return tuning.n_trials (study trials + earlier ones the config declared) and tuning.sharpe_std."""
    counted = counted_trials(study)
    sharpes = [
        t.user_attrs["sharpe_per_bar"]
        for t in counted
        if t.user_attrs.get("sharpe_per_bar") is not None and np.isfinite(t.user_attrs["sharpe_per_bar"])
    ]
    out: dict[str, Any] = {"n_trials": len(counted) + cfg.tuning.n_trials - 1}
    if len(sharpes) >= 2 and np.std(sharpes, ddof=1) > 0:
        out["sharpe_std"] = float(np.std(sharpes, ddof=1))
    return out


def _progress(n_new: int, metric: str):
    done = [0]

    def callback(study, trial) -> None:
        done[0] += 1
        value = "" if trial.value is None else f" {metric} {trial.value:.5f}"
        try:
            best = f"best {study.best_value:.5f} (trial {study.best_trial.number})"
        except ValueError:
            best = "no completed trial yet"
        logger.info(f"trial {done[0]}/{n_new} (#{trial.number}) {trial.state.name.lower()}{value}; {best}")

    return callback


def write_outputs(study, cfg: Config, out: Path) -> tuple[dict, str]:
    """Write best_params.yaml, best_config.yaml and trials.csv; return the best params and the --set line."""
    best = study.best_trial
    space = dict(cfg.tuning.space) or default_space(cfg.model)
    params = with_values(cfg.model.params, {k: best.params[k] for k in space if k in best.params}, cfg.model.type)
    tuning = deflation_inputs(study, cfg)
    result = {"model": {"params": params}, "tuning": tuning}
    header = (
        f"# Best of study {study.study_name!r}: {cfg.tuning.metric} {best.value:.6f} (trial {best.number}).\n"
        f"# tuning.n_trials counts every trial that ran, for the deflated Sharpe ratio.\n"
    )
    (out / "best_params.yaml").write_text(header + yaml.safe_dump(result, sort_keys=False))
    raw = cfg.model_dump(mode="json")
    raw["model"]["params"] = params
    raw["tuning"].update(tuning)
    (out / "best_config.yaml").write_text(header + dump_config(parse_config(raw)))
    study.trials_dataframe().to_csv(out / "trials.csv", index=False)
    flow = yaml.safe_dump(params, default_flow_style=True, width=10_000).strip()
    sets = f"--set 'model.params={flow}' --set tuning.n_trials={tuning['n_trials']}"
    if "sharpe_std" in tuning:
        sets += f" --set tuning.sharpe_std={tuning['sharpe_std']:.6g}"
    return params, sets


def tune(
    cfg: Config,
    n_trials: int,
    out: Path,
    storage: str | None = None,
    study_name: str | None = None,
    bars: dict[str, pd.DataFrame] | None = None,
):
    """Run ``n_trials`` more trials of the study and write the outputs; return the study."""
    out.mkdir(parents=True, exist_ok=True)
    storage = storage or f"sqlite:///{(out / 'study.db').resolve()}"
    name = study_name or cfg.name
    study = open_study(cfg, storage, name, seed=cfg.seed + len(_existing(storage, name)))
    if bars is None:
        from bot.research.evaluate import evaluate_bars

        bars = evaluate_bars(cfg)
    if cfg.validation.scheme == "walk_forward":
        check_history(bars, cfg)
    objective = Objective(cfg, build_dataset(bars, cfg), bars)
    with progress(n_trials, desc="trials", unit="trial") as bar:
        study.optimize(
            objective,
            n_trials=n_trials,
            callbacks=[_progress(n_trials, cfg.tuning.metric), lambda _s, _t: bar.update()],
        )
    if not any(t.value is not None for t in counted_trials(study)):
        raise ConfigError("tuning", "no trial completed (all were pruned); run more trials or raise tuning.prune_after")
    return study


def _existing(storage: str, name: str) -> list:
    import optuna

    try:
        return optuna.load_study(study_name=name, storage=storage).trials
    except Exception:  # a new study, or storage to be reported by open_study
        return []


def main(argv: list[str] | None = None) -> int:
    parser = base_parser("python -m bot.research.tune", "Tune model.params with Optuna on a walk-forward CV objective.")
    parser.add_argument("--trials", type=int, required=True, help="trials to run now (the study keeps earlier ones)")
    parser.add_argument("--storage", help="SQLAlchemy URL of the study (default: sqlite:///<out>/study.db)")
    parser.add_argument("--study", help="study name (default: the config's name)")
    parser.add_argument("--out", help="output folder (default: tuning/<study>/)")
    args = parser.parse_args(argv)

    def go() -> int:
        setup_logging(args.quiet, args.verbose)

        if args.trials < 1:
            raise ConfigError("--trials", f"must be at least 1, got {args.trials}")
        cfg = load_config(args.config, args.set)
        name = args.study or cfg.name
        out = Path(args.out) if args.out else Path("tuning") / name
        study = tune(cfg, args.trials, out, args.storage, name)
        params, sets = write_outputs(study, cfg, out)
        n = deflation_inputs(study, cfg)["n_trials"]
        print(f"study {name}: {len(study.trials)} trials, {n} counted for the deflated Sharpe ratio")
        print(f"best {cfg.tuning.metric} {study.best_value:.5f} (trial {study.best_trial.number}): {params}")
        print(f"outputs: {out}/best_params.yaml, {out}/best_config.yaml, {out}/trials.csv")
        print(f"apply to a config: {sets}")
        return 0

    return run_cli(go)


if __name__ == "__main__":
    sys.exit(main())
