"""Assemble drift inputs from bars, and monitor a live session's recent window against the training window.

``period_frame`` computes, for the bars stamped in [start, end] of every symbol, the model's features
(on the full history, so warm-up comes from earlier bars), its P(up), the realised label of the first
horizon and the next bar's return. ``DriftMonitor`` holds the reference (the model's training window)
and checks the last ``drift.window`` bars whenever the live session asks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bot.config.lifecycle import DriftConfig
from bot.drift.detector import DriftDecision, decide_action, drift_report
from bot.features import compute_features
from bot.ml.labels import outcomes
from bot.models.bundle import TrainedModel

NO_OOS = "no out-of-sample reference predictions (the model has no evaluation window)"
WARMUP = 400  # bars of history before the current window: more than any feature's warm-up (SMA 200, ...)


@dataclass
class Period:
    """Drift inputs of one period, rows ordered by symbol then time."""

    features: pd.DataFrame
    probs: np.ndarray | None
    labels: np.ndarray | None
    returns: np.ndarray | None
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    times: np.ndarray | None = None  # each row's bar (rows of one bar are one observation for the scores)
    horizon: int = 1  # the labels' horizon: how far their overlap reaches

    def describe(self) -> dict:
        return {
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "n_rows": int(len(self.features)),
        }


def _label_of(model: TrainedModel | None, close: pd.Series) -> pd.Series:
    info = (model.info if model is not None else {}) or {}
    h = model.horizons[0] if model is not None else 1
    lp = info.get("label_params") or {}
    out = outcomes(
        close,
        h,
        info.get("label", "direction"),
        lp.get("profit_take", 1.0),
        lp.get("stop_loss", 1.0),
        lp.get("vol_window", 20),
    )
    return out["up"]


def _cached_probs(model: TrainedModel, X: np.ndarray, stamps: pd.DatetimeIndex, cache: dict) -> np.ndarray:
    """Return P(up) for the rows of ``X``, predicting only the timestamps ``cache`` does not hold yet."""
    missing = np.array([t not in cache for t in stamps], dtype=bool)
    if missing.any():
        cache.update(zip(stamps[missing], model.prob_up(X[missing]), strict=True))
    out = np.array([cache[t] for t in stamps], dtype=np.float64)
    cache.clear()  # keep only the window: older bars are never asked for again
    cache.update(zip(stamps, out, strict=True))
    return out


def period_frame(
    bars: Mapping[str, pd.DataFrame],
    features: list[str],
    start=None,
    end=None,
    model: TrainedModel | None = None,
    last: int | None = None,
    prob_cache: dict[str, dict] | None = None,
) -> Period:
    """Return the drift inputs for bars in [start, end] (or each symbol's ``last`` bars).

    ``prob_cache`` (symbol -> {timestamp: P(up)}) lets repeated live checks predict only new bars.
    """

    parts, probs, labels, rets = [], [], [], []
    ctx = dict(bars)
    for sym, df in bars.items():
        feats = compute_features(df, features, context=ctx)
        mask = np.ones(len(df), dtype=bool)
        if start is not None:
            mask &= df.index >= start
        if end is not None:
            mask &= df.index <= end
        if last is not None:
            mask &= np.arange(len(df)) >= len(df) - last
        parts.append(feats[mask])
        rets.append((df["close"].shift(-1) / df["close"] - 1.0).to_numpy()[mask])
        if model is not None:
            X = (feats if list(model.features) == list(features) else model.feature_frame(df, ctx)).to_numpy()
            if prob_cache is None:
                probs.append(model.prob_up(X[mask]))
            else:
                probs.append(_cached_probs(model, X[mask], df.index[mask], prob_cache.setdefault(sym, {})))
            labels.append(_label_of(model, df["close"]).to_numpy()[mask])
    frame = pd.concat(parts) if parts else pd.DataFrame(columns=features)
    stamps = frame.index
    return Period(
        frame.reset_index(drop=True),
        np.concatenate(probs) if probs else None,
        np.concatenate(labels) if labels else None,
        np.concatenate(rets) if rets else None,
        stamps.min() if len(stamps) else None,
        stamps.max() if len(stamps) else None,
        stamps.asi8 if len(stamps) else None,
        int(model.horizons[0]) if model is not None else 1,
    )


def compare(reference: Period, current: Period, cfg: DriftConfig, promised: dict | None = None) -> dict:
    """Return the drift report of two periods (with their date ranges)."""
    report = drift_report(
        reference.features,
        current.features,
        cfg,
        reference.probs,
        current.probs,
        current.labels,
        current.returns,
        promised,
        reference.labels,
        current.times,
        reference.times,
        current.horizon,
    )
    return {"drift": report["drift"], "reference": reference.describe(), "current": current.describe(), **report}


class DriftMonitor:
    """Check a live session's recent bars against the champion's training window."""

    def __init__(self, model: TrainedModel, reference: Period, cfg: DriftConfig):
        self.model = model
        self.reference = reference
        self.cfg = cfg
        self.last_report: dict | None = None
        self._probs: dict[str, dict] = {}  # symbol -> {bar: P(up)}: a bar's prediction never changes
        self.decision: DriftDecision = DriftDecision()

    @classmethod
    def for_model(cls, model: TrainedModel, bars: Mapping[str, pd.DataFrame], cfg: DriftConfig) -> DriftMonitor:
        """Build the reference: features of the training window, P(up) of the out-of-sample evaluation window.

        The model's own training rows would give in-sample probabilities, so prediction drift is
        measured against the window the retrain evaluated it on (manifest ``evaluation``) when known.
        """
        train = model.info.get("training", {})
        ref = period_frame(bars, model.features, _ts(train.get("start")), _ts(train.get("end")), model)
        ev = model.info.get("evaluation") or {}
        if ev.get("start"):
            oos = period_frame(bars, model.features, _ts(ev["start"]), _ts(ev.get("end")), model)
            ref = dataclasses.replace(ref, probs=oos.probs, labels=oos.labels, returns=oos.returns, times=oos.times)
        else:  # in-sample probabilities would make every later window look drifted
            ref = dataclasses.replace(ref, probs=None, labels=None, returns=None, times=None)
        return cls(model, ref, cfg)

    def check(self, bars: Mapping[str, pd.DataFrame]) -> tuple[dict, DriftDecision]:
        """Compare the last ``cfg.window`` bars of every symbol with the reference; return (report, decision)."""
        recent = {s: df.iloc[-(self.cfg.window + WARMUP) :] for s, df in bars.items()}  # features need no more
        current = period_frame(
            recent, self.model.features, model=self.model, last=self.cfg.window, prob_cache=self._probs
        )
        self.last_report = compare(self.reference, current, self.cfg, self.model.info.get("metrics"))
        if self.reference.probs is None:
            self.last_report["prediction"]["reason"] = NO_OOS
        self.decision = decide_action(self.last_report, self.cfg)
        return self.last_report, self.decision


def _ts(text: str | None) -> pd.Timestamp | None:
    return pd.Timestamp(text) if text else None


def drift_timeline(features: pd.DataFrame, reference: tuple[int, int], cfg: DriftConfig, step: int = 5) -> pd.DataFrame:
    """Slide a ``cfg.window``-row current window after the reference rows; return (end, drift, n_drifted).

    ``features`` is one symbol's feature frame in time order; ``end`` is the position after the window.
    """
    ref = features.iloc[reference[0] : reference[1]]
    rows = []
    for end in range(reference[1] + cfg.window, len(features) + 1, step):
        report = drift_report(ref, features.iloc[end - cfg.window : end], cfg)
        rows.append(
            {
                "end": end,
                "timestamp": features.index[end - 1],
                "drift": report["drift"],
                "n_drifted": len(report["data"]["drifted_features"]),
            }
        )
    return pd.DataFrame(rows, columns=["end", "timestamp", "drift", "n_drifted"])
