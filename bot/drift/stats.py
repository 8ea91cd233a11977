"""Drift statistics: population stability index, Kolmogorov-Smirnov, per-feature and prediction drift.

PSI bins the current sample on the reference's quantiles (``bins`` edges, duplicates merged, open
ends) and sums (cur - ref) * ln(cur / ref) over the bins, with shares floored at ``EPS`` so an empty
bin stays finite. Rule of thumb: < 0.1 stable, 0.1-0.25 moderate, > 0.25 a shift. KS is scipy's
two-sample statistic; its textbook p-value assumes independent samples, which overlapping-window
features (20-bar returns, moving-average ratios, RSI) are far from, so the p-value is computed with
effective sample sizes n (1 - rho) / (1 + rho), rho the feature's lag-1 autocorrelation in the
reference. A feature counts as drifted only when both the PSI (effect size) and the KS test
(significance, Bonferroni-corrected over features) say so.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp, kstwobign

EPS = 1e-4


def _finite(x) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    return a[np.isfinite(a)]


def psi(reference, current, bins: int = 10) -> float:
    """Return the population stability index of ``current`` against ``reference`` (NaN if either is empty)."""
    ref, cur = _finite(reference), _finite(current)
    if len(ref) == 0 or len(cur) == 0:
        return float("nan")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    r = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1) / len(ref)
    c = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1) / len(cur)
    r, c = np.maximum(r, EPS), np.maximum(c, EPS)
    return float(np.sum((c - r) * np.log(c / r)))


def lag1_autocorrelation(x) -> float:
    """Return the lag-1 autocorrelation of a series, clipped to [0, 0.99] (0 when undefined)."""
    a = _finite(x)
    if len(a) < 3 or np.std(a[:-1]) == 0 or np.std(a[1:]) == 0:
        return 0.0
    rho = float(np.corrcoef(a[:-1], a[1:])[0, 1])
    return min(max(rho, 0.0), 0.99) if math.isfinite(rho) else 0.0


def effective_size(n: int, rho: float) -> float:
    """Return the effective sample size of ``n`` AR(1)-like observations with lag-1 autocorrelation ``rho``."""
    return max(1.0, n * (1.0 - rho) / (1.0 + rho))


def ks(reference, current, rho: float | None = None) -> tuple[float, float]:
    """Return the two-sample KS statistic and p-value (NaN, NaN if either sample is empty).

    With ``rho`` (the feature's lag-1 autocorrelation) the p-value uses the effective sample sizes
    (asymptotic Kolmogorov distribution), so a persistent feature needs a larger shift to count.
    """
    ref, cur = _finite(reference), _finite(current)
    if len(ref) == 0 or len(cur) == 0:
        return float("nan"), float("nan")
    res = ks_2samp(ref, cur)
    if rho is None:
        return float(res.statistic), float(res.pvalue)
    n1, n2 = effective_size(len(ref), rho), effective_size(len(cur), rho)
    return float(res.statistic), float(kstwobign.sf(res.statistic * math.sqrt(n1 * n2 / (n1 + n2))))


def feature_drift(reference: pd.DataFrame, current: pd.DataFrame, bins: int, psi_threshold: float,
                  ks_alpha: float, min_samples: int) -> dict[str, dict]:
    """Return {feature: {psi, ks_statistic, ks_pvalue, n_reference, n_current, drifted}} for shared columns."""
    cols = [c for c in reference.columns if c in current.columns]
    alpha = ks_alpha / max(1, len(cols))
    out = {}
    for col in cols:
        ref, cur = _finite(reference[col]), _finite(current[col])
        p = psi(ref, cur, bins)
        rho = lag1_autocorrelation(ref)
        stat, pv = ks(ref, cur, rho)
        enough = len(ref) >= min_samples and len(cur) >= min_samples
        drifted = bool(enough and math.isfinite(p) and p >= psi_threshold and pv < alpha)
        out[col] = {"psi": p, "ks_statistic": stat, "ks_pvalue": pv, "autocorrelation": rho, "n_reference": int(len(ref)),
                    "n_current": int(len(cur)), "drifted": drifted}
    return out


def data_drift(per_feature: dict[str, dict], feature_share: float) -> dict:
    """Return the data-drift verdict: at least max(1, ceil(feature_share * n)) features drifted."""
    n = len(per_feature)
    drifted = sorted(k for k, v in per_feature.items() if v["drifted"])
    need = max(1, math.ceil(feature_share * n))
    return {"drift": bool(n and len(drifted) >= need), "share_drifted": len(drifted) / n if n else 0.0,
            "drifted_features": drifted, "n_features": n, "min_drifted": need}


def prediction_drift(reference, current, bins: int, psi_threshold: float, ks_alpha: float,
                     min_samples: int) -> dict:
    """Return the drift of the predicted P(up) distribution (PSI and KS) and its verdict."""
    ref, cur = _finite(reference), _finite(current)
    p = psi(ref, cur, bins)
    stat, pv = ks(ref, cur, lag1_autocorrelation(ref))
    enough = len(ref) >= min_samples and len(cur) >= min_samples
    return {"psi": p, "ks_statistic": stat, "ks_pvalue": pv, "n_reference": int(len(ref)),
            "n_current": int(len(cur)), "mean_reference": float(ref.mean()) if len(ref) else None,
            "mean_current": float(cur.mean()) if len(cur) else None,
            "drift": bool(enough and math.isfinite(p) and p >= psi_threshold and pv < ks_alpha)}


def scores(prob, label, ret1=None) -> dict:
    """Return accuracy, Brier and realised edge (mean next return when P(up) > 0.5 minus the mean) of labelled rows."""
    p, y = np.asarray(prob, dtype=np.float64), np.asarray(label, dtype=np.float64)
    ok = np.isfinite(p) & np.isfinite(y)
    out: dict = {"n": int(ok.sum())}
    if not ok.any():
        return out
    p, y = p[ok], y[ok]
    out["accuracy"] = float(np.mean((p >= 0.5) == (y == 1)))
    out["brier"] = float(np.mean((p - y) ** 2))
    if ret1 is not None:
        r = np.asarray(ret1, dtype=np.float64)[ok]
        fin = np.isfinite(r)
        long = fin & (p > 0.5)
        out["edge"] = float(r[long].mean() - r[fin].mean()) if long.any() else None
    return out


def performance_decay(promised: dict, current: dict, max_brier_increase: float, max_accuracy_drop: float,
                      min_samples: int) -> dict:
    """Return the decay verdict of current scores against promised ones (accuracy drop, Brier rise)."""
    out = {"promised": promised, "current": current, "drift": False, "reasons": []}
    if current.get("n", 0) < min_samples or "accuracy" not in promised or "accuracy" not in current:
        out["reasons"].append(f"not enough labelled predictions ({current.get('n', 0)} < {min_samples})"
                              if current.get("n", 0) < min_samples else "nothing promised to compare with")
        return out
    drop = promised["accuracy"] - current["accuracy"]
    rise = current["brier"] - promised["brier"]
    out["accuracy_drop"], out["brier_increase"] = drop, rise
    if drop > max_accuracy_drop:
        out["reasons"].append(f"accuracy {current['accuracy']:.4f} is {drop:.4f} below the promised "
                              f"{promised['accuracy']:.4f} (limit {max_accuracy_drop})")
    if rise > max_brier_increase:
        out["reasons"].append(f"Brier {current['brier']:.4f} is {rise:.4f} above the promised "
                              f"{promised['brier']:.4f} (limit {max_brier_increase})")
    out["drift"] = bool(out["reasons"])
    return out
