"""The model a live session trades on: trained at start-up on the warm-up history, or loaded.

Training uses :func:`bot.models.training.fit_window` on the last ``validation.train`` bars of
the warm-up (all of it for an expanding window), purged exactly like a walk-forward fold whose
test window starts at the first live bar: only samples whose labels end ``embargo`` bars before
it train. With the seed of fold 0, a session whose warm-up is a backtest's first train window
trades on the very model that backtest's first fold used.

``live.model_path`` loads a saved artifact folder (:func:`bot.models.artifacts.save_model`) or
a registry URI (``models:/<name>@champion``) instead.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from loguru import logger

from bot.config import Config
from bot.features.stream import LatestRows
from bot.ml.dataset import build_dataset
from bot.models.artifacts import save_model
from bot.models.bundle import TrainedModel
from bot.models.registry import load_model_ref
from bot.models.tracking import experiment_id, log_model_run, logging_failed, tracking_client
from bot.models.training import fit_window


class LiveModel:
    """P(up) for the newest bar of each symbol, from one fixed TrainedModel."""

    def __init__(self, model: TrainedModel, version: str):
        self.model = model
        self.version = version
        self.rows = LatestRows(model.features)  # streamed bar by bar (bot/features/stream.py)

    def prime(self, bars: Mapping[str, pd.DataFrame]) -> None:
        """Stream the features over ``bars`` before trading: the first traded bar then costs one bar."""
        self.rows.prime(bars)

    @classmethod
    def train(cls, bars: Mapping[str, pd.DataFrame], cfg: Config) -> LiveModel:
        """Fit on the warm-up ``bars`` (every label ends before the first live bar)."""

        ds = build_dataset(bars, cfg)
        n = len(ds.calendar)
        start = 0 if cfg.validation.window == "expanding" else max(0, n - cfg.validation.train)
        model = fit_window(ds, cfg, start, n, bars)
        version = "trained-" + _digest(model.info)
        t = model.info.get("training", {})
        logger.info(
            "model {} trained at start-up on {} rows ({} .. {}, labels end {})",
            version,
            t.get("n_rows"),
            t.get("start"),
            t.get("end"),
            t.get("label_end"),
        )
        return cls(model, version)

    @classmethod
    def load(cls, where: str, cfg: Config) -> LiveModel:
        """Load an artifact folder or a ``models:/`` registry URI (checksums verified)."""

        model, version = load_model_ref(where, cfg.registry, "live.model_path")
        logger.info("model {} loaded from {}", version, where)
        return cls(model, version)

    def prob_up(self, bars: Mapping[str, pd.DataFrame], at: pd.Timestamp) -> dict[str, float]:
        """Return P(up) at bar ``at`` for every symbol whose newest bar is ``at``."""
        syms = [s for s, df in bars.items() if len(df) and df.index[-1] == at]
        if not syms:
            return {}
        X = self.rows({s: bars[s] for s in syms}, context=bars)  # all symbols at once
        probs = self.model.prob_up(X)  # one batch per bar
        return {s: float(p) for s, p in zip(syms, probs, strict=True)}


def log_startup_model(live: LiveModel, cfg: Config) -> str | None:
    """Log a model trained at start-up as an MLflow training run (params, window, data hash, artifact).

    It is not registered as a version: promotion stays the retrain gate's job. A tracking failure
    is a warning; the session trades on. Returns the MLflow run id, or None.
    """
    if not cfg.registry.log_training:
        return None

    try:
        client = tracking_client(cfg.registry.tracking_uri)
        exp = experiment_id(client, cfg.registry.experiment or cfg.name, cfg.registry)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "model"
            save_model(live.model, folder, cfg.registry.xgboost_format)
            run_id = log_model_run(
                client,
                exp,
                live.model,
                folder,
                {},
                {"source": "live-startup", "model_version": live.version},
                run_name=f"live start-up {live.version}",
            )
    except Exception as e:  # noqa: BLE001 -- the store is down or misconfigured: trading goes on
        logger.warning(logging_failed("the start-up model", e))
        return None
    logger.info("start-up model {} logged to MLflow, run {}", live.version, run_id)
    return run_id


def _digest(info: dict) -> str:
    text = json.dumps(info, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
