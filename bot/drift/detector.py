"""Drift reports and the decision they lead to, for the CLI and for live sessions.

``drift_report`` compares a current period with a reference (normally the model's training window):
per-feature data drift, prediction drift and performance decay. ``decide_action`` turns a report into
a ``DriftDecision`` (the configured ``drift.action``) that a live session applies to its intents.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bot.config.lifecycle import DriftConfig
from bot.drift import stats


@dataclass(frozen=True)
class DriftDecision:
    """What to do about drift. ``apply(intent)`` enforces it on a strategy intent."""

    drift: bool = False
    action: str = "none"  # none | alert | retrain | scale_down | halt_entries
    position_scale: float = 1.0
    halt_entries: bool = False
    retrain: bool = False
    reasons: tuple[str, ...] = ()

    def apply(self, intent):
        """Return the intent as drift allows: entries dropped when halted, entry sizes scaled; exits untouched."""
        if intent is None or type(intent).__name__ != "Enter":
            return intent
        if self.halt_entries:
            return None
        if self.position_scale < 1.0:
            return dataclasses.replace(intent, fraction=intent.fraction * self.position_scale)
        return intent

    def as_dict(self) -> dict:
        return {
            "drift": self.drift,
            "action": self.action,
            "position_scale": self.position_scale,
            "halt_entries": self.halt_entries,
            "retrain": self.retrain,
            "reasons": list(self.reasons),
        }


NO_DRIFT = DriftDecision()


def decide_action(report: dict, cfg: DriftConfig) -> DriftDecision:
    """Return the decision for a report: nothing without drift, else ``cfg.action``."""
    reasons = tuple(report.get("reasons", ()))
    if not report.get("drift"):
        return DriftDecision(reasons=reasons)
    a = cfg.action
    return DriftDecision(
        True, a, cfg.scale_factor if a == "scale_down" else 1.0, a == "halt_entries", a == "retrain", reasons
    )


class DriftLatch:
    """The decision a live session acts on: drift takes effect at once, but is lifted only after
    ``clear_after`` clean checks in a row, so evidence hovering at a threshold does not switch entries
    on and off bar by bar. ``new_model()``: the next check decides afresh (a new model, a new verdict)."""

    def __init__(self, clear_after: int):
        self.clear_after = clear_after
        self.decision = NO_DRIFT
        self.clean_checks = 0
        self._fresh = False

    def update(self, decision: DriftDecision) -> DriftDecision:
        """Return the decision to act on after a check that returned ``decision``."""
        self.clean_checks = 0 if decision.drift else self.clean_checks + 1
        held = self.decision.drift and not decision.drift and self.clean_checks < self.clear_after
        if not held or self._fresh:
            self.decision = decision
        self._fresh = False
        return self.decision

    def new_model(self) -> None:
        self._fresh = True


def _unavailable(reason: str) -> dict:
    return {"available": False, "drift": False, "reason": reason}


def drift_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    cfg: DriftConfig,
    reference_probs=None,
    current_probs=None,
    current_labels=None,
    current_returns=None,
    promised: dict | None = None,
    reference_labels=None,
    current_times=None,
    reference_times=None,
    lags: int = 0,
) -> dict:
    """Return the drift report (JSON-ready) of ``current`` feature rows against ``reference`` ones.

    Rows should be ordered by symbol, then time (the autocorrelation estimate reads them in order).
    Without probabilities, prediction drift and performance decay are reported as unavailable.
    ``promised`` holds the accuracy / Brier validation promised; without it the reference period's
    own scores (when ``reference_labels`` are given) are the yardstick. ``*_times`` (each row's bar)
    and ``lags`` (the label horizon) give the scores' standard errors: rows of one bar are one
    observation, overlapping labels are serially correlated.
    """
    features = stats.feature_drift(reference, current, cfg.bins, cfg.psi_threshold, cfg.ks_alpha, cfg.min_samples)
    data = stats.data_drift(features, cfg.feature_share)
    if reference_probs is None or current_probs is None:
        prediction = _unavailable("no model predictions")
    else:
        prediction = {
            "available": True,
            **stats.prediction_drift(
                reference_probs, current_probs, cfg.bins, cfg.prediction_psi, cfg.ks_alpha, cfg.min_samples
            ),
        }
    performance = _performance(
        cfg,
        (current_probs, current_labels, current_returns, current_times),
        (reference_probs, reference_labels, reference_times),
        promised,
        lags,
    )
    reasons = []
    if data["drift"]:
        reasons.append(
            f"data drift in {len(data['drifted_features'])} of {data['n_features']} features: "
            + ", ".join(data["drifted_features"][:10])
        )
    if prediction.get("drift"):
        reasons.append(f"prediction drift: PSI {prediction['psi']:.3f} of P(up)")
    if performance.get("drift"):
        reasons += performance["reasons"]
    return {
        "drift": bool(reasons),
        "reasons": reasons,
        "data": data,
        "features": features,
        "prediction": prediction,
        "performance": performance,
        "thresholds": cfg.model_dump(mode="json"),
    }


def _performance(cfg: DriftConfig, cur: tuple, ref: tuple, promised: dict | None, lags: int) -> dict:
    probs, labels, returns, times = cur
    ref_probs, ref_labels, ref_times = ref
    if probs is None or labels is None:
        return _unavailable("no labelled predictions in the current period")
    current = stats.scores(probs, labels, returns, times, lags)
    if not promised and ref_probs is not None and ref_labels is not None:
        promised = stats.scores(ref_probs, ref_labels, times=ref_times, lags=lags)
    if not promised or "accuracy" not in promised:
        return {**_unavailable("no validation metrics to compare with"), "current": current}
    keep = ("accuracy", "brier", "accuracy_se", "brier_se", "n", "n_predictions")
    promised = {k: promised[k] for k in keep if k in promised}
    out = stats.performance_decay(
        promised, current, cfg.max_brier_increase, cfg.max_accuracy_drop, cfg.min_samples, cfg.performance_alpha
    )
    return {"available": True, **out}


def scores_table(report: dict) -> pd.DataFrame:
    """Return the per-feature table (feature, psi, ks_pvalue, drifted) sorted by PSI, for display."""
    rows = [{"feature": k, **v} for k, v in report["features"].items()]
    df = pd.DataFrame(
        rows,
        columns=[
            "feature",
            "psi",
            "ks_statistic",
            "ks_pvalue",
            "autocorrelation",
            "n_reference",
            "n_current",
            "drifted",
        ],
    )
    key = df["psi"].map(lambda v: -v if isinstance(v, float) and math.isfinite(v) else np.inf)
    return df.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(drop=True)
