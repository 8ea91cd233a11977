"""The promotion gate: a pure decision from champion and challenger metrics on one shared window.

The challenger is promoted only when every check passes:

- ``enough_predictions``: at least ``retrain.min_predictions`` scored predictions;
- ``calibration``: its Brier score is at most ``retrain.max_brier``;
- ``beats_baseline``: its accuracy reaches the majority-class baseline (when ``retrain.beat_baseline``);
- ``beats_champion``: it beats the champion on ``retrain.metric`` by at least ``retrain.margin``
  (higher is better for roc_auc / accuracy / balanced_accuracy / sharpe, lower for log_loss / brier).
  With no champion yet this check passes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from bot.config.lifecycle import RetrainConfig


@dataclass(frozen=True)
class Check:
    passed: bool
    value: float | None
    bound: float | None
    detail: str


@dataclass(frozen=True)
class GateDecision:
    promoted: bool
    reason: str
    checks: dict[str, Check] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "promoted": self.promoted,
            "reason": self.reason,
            "checks": {k: asdict(v) for k, v in self.checks.items()},
        }


def _num(v) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) else None


def _champion_check(metric: str, champ: dict | None, chall: dict, cfg: RetrainConfig) -> Check:
    c = _num(chall.get(metric))
    if champ is None:
        return Check(True, c, None, "no champion yet")
    b = _num(champ.get(metric))
    if c is None:
        return Check(False, c, b, f"challenger {metric} is undefined")
    if b is None:
        return Check(True, c, b, f"champion {metric} is undefined on the shared window")
    gain = c - b if cfg.higher_is_better else b - c
    verb = "beats" if gain >= cfg.margin else "does not beat"
    return Check(
        gain >= cfg.margin,
        c,
        b,
        f"challenger {metric} {c:.4f} {verb} champion {b:.4f} by the margin {cfg.margin:g} (difference {gain:+.4f})",
    )


def decide(champion: dict | None, challenger: dict, cfg: RetrainConfig) -> GateDecision:
    """Return whether to promote the challenger, and why; ``champion`` None means there is none."""
    n = int(challenger.get("n_predictions", 0))
    brier, acc, base = (_num(challenger.get(k)) for k in ("brier", "accuracy", "baseline_accuracy"))
    checks = {
        "enough_predictions": Check(
            n >= cfg.min_predictions, n, cfg.min_predictions, f"{n} scored predictions (need {cfg.min_predictions})"
        ),
        "calibration": Check(
            brier is not None and brier <= cfg.max_brier,
            brier,
            cfg.max_brier,
            f"Brier {brier if brier is None else round(brier, 4)} (bound {cfg.max_brier})",
        ),
    }
    if cfg.beat_baseline:
        ok = acc is not None and base is not None and acc >= base
        checks["beats_baseline"] = Check(
            ok,
            acc,
            base,
            f"accuracy {acc if acc is None else round(acc, 4)} vs "
            f"majority-class baseline {base if base is None else round(base, 4)}",
        )
    checks["beats_champion"] = _champion_check(cfg.metric, champion, challenger, cfg)
    failed = [k for k, c in checks.items() if not c.passed]
    if failed:
        return GateDecision(False, "rejected: " + "; ".join(checks[k].detail for k in failed), checks)
    return GateDecision(True, "promoted: " + checks["beats_champion"].detail, checks)
