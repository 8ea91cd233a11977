"""One retraining: train a challenger, score it and the champion on the same window, gate, record.

Windows (calendar positions of the loaded data, n bars): the shared evaluation window is the last
``retrain.eval_bars`` bars [e, n); the challenger trains on [e - train_bars, e) with labels purged
before ``e - embargo``, so every evaluated prediction is out of sample. The champion is scored on
the same rows; if its own training labels reach into the window, the window starts after them
(plus the embargo) for both models. The promoted model is exactly the model that was evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from loguru import logger

from bot.config import Config
from bot.data.loading import load_data
from bot.ml.dataset import Dataset, build_dataset
from bot.ml.summary import bars_per_year, cost_of
from bot.models.bundle import TrainedModel
from bot.models.registry import CHALLENGER, CHAMPION, ModelRegistry
from bot.models.training import evaluate_window, fit_window, latest_window
from bot.retrain.gate import GateDecision, decide
from bot.version import code_version as current_code_version


@dataclass
class RetrainOutcome:
    """What one retraining decided; ``as_dict`` is the retrain.json document."""

    decision: GateDecision
    window: dict
    challenger: dict
    champion: dict | None
    model_name: str
    model: TrainedModel  # the challenger
    dry_run: bool = False
    versions: dict = field(default_factory=dict)  # challenger, champion_before, champion_after

    @property
    def promoted(self) -> bool:
        return self.decision.promoted and not self.dry_run

    def as_dict(self) -> dict:
        d = self.decision.as_dict()
        return {
            "promoted": self.promoted,
            "reason": d["reason"],
            "model_name": self.model_name,
            "dry_run": self.dry_run,
            "window": self.window,
            "champion": self.champion,
            "challenger": self.challenger,
            "checks": d["checks"],
            "versions": self.versions,
        }


def shared_start(ds: Dataset, eval_start: int, champion: TrainedModel | None, embargo: int) -> int:
    """Return the first window position out of sample for both models."""
    if champion is None:
        return eval_start
    label_end = champion.info.get("training", {}).get("label_end")
    if not label_end:
        return eval_start
    after = int(ds.calendar.searchsorted(pd.Timestamp(label_end), side="right"))
    return max(eval_start, after + embargo)


def _load_champion(registry: ModelRegistry | None) -> tuple[TrainedModel | None, int | None]:
    if registry is None or registry.alias_version(CHAMPION) is None:
        return None, None
    return registry.load(CHAMPION)


def _window(ds: Dataset, start: int, end: int) -> dict:
    last = min(end, len(ds.calendar)) - 1
    return {
        "start": ds.calendar[min(start, last)].isoformat(),
        "end": ds.calendar[last].isoformat(),
        "n_bars": max(0, end - start),
    }


def evaluate(
    cfg: Config, bars: Mapping[str, pd.DataFrame], registry: ModelRegistry | None, code_version: str = ""
) -> RetrainOutcome:
    """Fit the challenger, score both models on the shared window and decide; write nothing."""
    ds = build_dataset(bars, cfg)
    n = len(ds.calendar)
    train_start, eval_start = latest_window(n, cfg)
    logger.info(
        f"retrain {cfg.name}: challenger trains on {ds.calendar[train_start].date()}.."
        f"{ds.calendar[eval_start - 1].date()}, evaluation from {ds.calendar[eval_start].date()}"
    )
    challenger = fit_window(ds, cfg, train_start, eval_start, bars, code_version)
    champion, champ_version = _load_champion(registry)
    start = shared_start(ds, eval_start, champion, cfg.validation.embargo)
    ppy, cost = bars_per_year(ds.calendar), cost_of(cfg)
    ch = evaluate_window(challenger, ds, bars, start, n, ppy, cost) if start < n else {"n_predictions": 0}
    cm = evaluate_window(champion, ds, bars, start, n, ppy, cost) if champion is not None and start < n else None
    challenger.info["metrics"] = ch  # what validation promised: drift monitoring compares live scores with it
    challenger.info["evaluation"] = _window(ds, start, n)
    decision = decide(cm, ch, cfg.retrain)
    logger.info(f"retrain {cfg.name}: {decision.reason}")
    training = challenger.info["training"]
    return RetrainOutcome(
        decision=decision,
        window=_window(ds, start, n),
        model_name=registry.name if registry else cfg.name,
        challenger={
            "metrics": ch,
            "trained_from": training["start"],
            "trained_to": training["label_end"],
            "data_hash": challenger.info["data_hash"],
        },
        champion=None
        if champion is None
        else {
            "version": champ_version,
            "metrics": cm,
            "trained_to": champion.info.get("training", {}).get("label_end"),
        },
        versions={"champion_before": champ_version},
        model=challenger,
    )


def record(outcome: RetrainOutcome, registry: ModelRegistry) -> RetrainOutcome:
    """Register the challenger (tagged with the decision) and promote it if the gate passed."""
    d = outcome.decision
    metrics = {
        "challenger": outcome.challenger["metrics"],
        "champion": (outcome.champion or {}).get("metrics") or {},
        "promoted": d.promoted,
    }
    tags = {
        "gate": "promoted" if d.promoted else "rejected",
        "reason": d.reason[:4000],
        "champion_version": str(outcome.versions.get("champion_before")),
        "window": f"{outcome.window['start']}..{outcome.window['end']}",
    }
    version = registry.register(outcome.model, metrics, tags, description=d.reason[:4000], run_name="retrain")
    outcome.versions["challenger"] = version
    if d.promoted:
        registry.promote(version, d.reason[:4000])
    else:
        registry.set_alias(CHALLENGER, version)
    outcome.versions["champion_after"] = registry.alias_version(CHAMPION)
    return outcome


def run_retrain(
    cfg: Config,
    bars: Mapping[str, pd.DataFrame] | None = None,
    registry: ModelRegistry | None = None,
    dry_run: bool = False,
    code_version: str | None = None,
) -> RetrainOutcome:
    """Run one retraining end to end (load data if not given); with ``dry_run`` nothing is registered."""

    if bars is None:
        bars, _ = load_data(cfg)
    registry = registry or ModelRegistry.for_config(cfg)
    outcome = evaluate(cfg, bars, registry, current_code_version() if code_version is None else code_version)
    outcome.dry_run = dry_run
    if dry_run:
        outcome.versions["champion_after"] = outcome.versions.get("champion_before")
        return outcome
    return record(outcome, registry)


def _fmt(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.4f}"


def metric_row(outcome: RetrainOutcome, metric: str) -> str:
    """Return a one-line summary for logs and the terminal."""
    ch = outcome.challenger["metrics"].get(metric)
    cm = (outcome.champion or {}).get("metrics") or {}
    fmt = _fmt
    return (
        f"{'PROMOTED' if outcome.promoted else 'not promoted'}: challenger {metric} {fmt(ch)} vs champion "
        f"{fmt(cm.get(metric))} on {outcome.window['start'][:10]}..{outcome.window['end'][:10]} "
        f"({outcome.window['n_bars']} bars)"
    )
