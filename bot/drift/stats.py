"""Drift statistics: population stability index, Kolmogorov-Smirnov, per-feature and prediction drift.

PSI bins the current sample on the reference's quantiles (``bins`` edges, duplicates merged, open
ends) and sums (cur - ref) * ln(cur / ref) over the bins, with shares floored at ``EPS`` so an empty
bin stays finite. Rule of thumb: < 0.1 stable, 0.1-0.25 moderate, > 0.25 a shift. KS is scipy's
two-sample statistic; its textbook p-value assumes independent samples, which overlapping-window
features (20-bar returns, moving-average ratios, RSI) are far from, so the p-value is computed with
effective sample sizes n (1 - rho) / (1 + rho), rho the feature's lag-1 autocorrelation in the
reference. A feature counts as drifted only when both the PSI (effect size) and the KS test
(significance, Bonferroni-corrected over features) say so.

Performance decay is held to the same standard: an accuracy drop (or Brier rise) counts only when
it exceeds its margin and is significant. Its standard error treats the rows of one bar (several
symbols) as one observation and allows serial correlation up to the label horizon (overlapping
labels); ``bench/bench_drift.py`` measured why: with the margin alone, a model with no edge on
stationary data "decayed" in 17 % of quarters.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp, kstwobign
from scipy.stats import t as student_t

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


def feature_drift(
    reference: pd.DataFrame, current: pd.DataFrame, bins: int, psi_threshold: float, ks_alpha: float, min_samples: int
) -> dict[str, dict]:
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
        out[col] = {
            "psi": p,
            "ks_statistic": stat,
            "ks_pvalue": pv,
            "autocorrelation": rho,
            "n_reference": int(len(ref)),
            "n_current": int(len(cur)),
            "drifted": drifted,
        }
    return out


def data_drift(per_feature: dict[str, dict], feature_share: float) -> dict:
    """Return the data-drift verdict: at least max(1, ceil(feature_share * n)) features drifted."""
    n = len(per_feature)
    drifted = sorted(k for k, v in per_feature.items() if v["drifted"])
    need = max(1, math.ceil(feature_share * n))
    return {
        "drift": bool(n and len(drifted) >= need),
        "share_drifted": len(drifted) / n if n else 0.0,
        "drifted_features": drifted,
        "n_features": n,
        "min_drifted": need,
    }


def prediction_drift(reference, current, bins: int, psi_threshold: float, ks_alpha: float, min_samples: int) -> dict:
    """Return the drift of the predicted P(up) distribution (PSI and KS) and its verdict."""
    ref, cur = _finite(reference), _finite(current)
    p = psi(ref, cur, bins)
    stat, pv = ks(ref, cur, lag1_autocorrelation(ref))
    enough = len(ref) >= min_samples and len(cur) >= min_samples
    return {
        "psi": p,
        "ks_statistic": stat,
        "ks_pvalue": pv,
        "n_reference": int(len(ref)),
        "n_current": int(len(cur)),
        "mean_reference": float(ref.mean()) if len(ref) else None,
        "mean_current": float(cur.mean()) if len(cur) else None,
        "drift": bool(enough and math.isfinite(p) and p >= psi_threshold and pv < ks_alpha),
    }


def mean_standard_error(values, times=None, lags: int = 0) -> float:
    """Return the standard error of the mean of ``values`` when rows sharing a time are dependent
    and the per-time sums are serially correlated up to ``lags``.

    The long-run variance sums the autocovariances of the per-time sums at lags 0..``lags`` with
    equal weights (Hansen-Hodrick: exact for the overlap of ``lags + 1``-bar labels, where Bartlett
    weights understate it by about a quarter), is never below the lag-0 term, and is corrected for
    the mean having been estimated. Without ``times`` every row is its own time, in the given order.
    """
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    if n < 2:
        return float("nan")
    sums: np.ndarray
    counts: np.ndarray
    if times is None:
        sums, counts = v, np.ones(n)
    else:
        keys, inv = np.unique(np.asarray(times), return_inverse=True)
        sums, counts = np.bincount(inv, weights=v, minlength=len(keys)), np.bincount(inv, minlength=len(keys))
    u = sums - v.mean() * counts  # each time's contribution to the error of the mean
    var = own = float(u @ u)
    lags = min(lags, len(u) - 1)
    for lag in range(1, lags + 1):
        var += 2.0 * float(u[lag:] @ u[:-lag])
    # Removing the sample mean shrinks the autocovariances by about (2 lags + 1) / T (n / (n - 1) at lag 0).
    shrink = max(1.0 - (2 * lags + 1) / len(u), 0.5)
    return math.sqrt(max(var, own) / shrink) / n


def scores(prob, label, ret1=None, times=None, lags: int = 0) -> dict:
    """Return accuracy, Brier (each with its standard error, see ``mean_standard_error``) and realised
    edge (mean next return when P(up) > 0.5 minus the mean) of labelled rows."""
    p, y = np.asarray(prob, dtype=np.float64), np.asarray(label, dtype=np.float64)
    ok = np.isfinite(p) & np.isfinite(y)
    out: dict = {"n": int(ok.sum())}
    if not ok.any():
        return out
    when = None if times is None else np.asarray(times)[ok]
    p, y = p[ok], y[ok]
    hits, sq = ((p >= 0.5) == (y == 1)).astype(np.float64), (p - y) ** 2
    out["accuracy"], out["brier"] = float(hits.mean()), float(sq.mean())
    out["accuracy_se"], out["brier_se"] = mean_standard_error(hits, when, lags), mean_standard_error(sq, when, lags)
    n_times = len(p) if when is None else len(np.unique(when))
    out["se_dof"] = max(1.0, n_times / (lags + 1) - 1.0)  # about one independent observation per label span
    if ret1 is not None:
        r = np.asarray(ret1, dtype=np.float64)[ok]
        fin = np.isfinite(r)
        long = fin & (p > 0.5)
        out["edge"] = float(r[long].mean() - r[fin].mean()) if long.any() else None
    return out


def _promised_se(promised: dict, current: dict, metric: str) -> float:
    """Return the promised score's standard error: its own, else the current one scaled by the sample
    sizes (same dependence structure), else 0 (a promise without a sample size is a fixed target)."""
    own = promised.get(f"{metric}_se")
    if own is not None and math.isfinite(own):
        return float(own)
    n_p = promised.get("n_predictions", promised.get("n"))
    se_c, n_c = current.get(f"{metric}_se"), current.get("n", 0)
    if not n_p or se_c is None or not math.isfinite(se_c) or not n_c:
        return 0.0
    return float(se_c) * math.sqrt(n_c / n_p)


def _worse_pvalue(gap: float, se_current, se_promised: float, dof: float | None) -> float:
    """Return the one-sided p-value of a score ``gap`` worse than promised (0 or 1 without any error).

    Student's t with the current window's degrees of freedom: a long-run variance estimated from a
    quarter of overlapping labels is itself noisy, and the normal would make small windows overconfident.
    """
    se_c = float(se_current) if se_current is not None and math.isfinite(se_current) else 0.0
    se = math.hypot(se_c, se_promised)
    if se == 0.0:
        return 0.0 if gap > 0 else 1.0
    return float(student_t.sf(gap / se, dof if dof else 1e9))


def performance_decay(
    promised: dict,
    current: dict,
    max_brier_increase: float,
    max_accuracy_drop: float,
    min_samples: int,
    alpha: float = 1.0,
) -> dict:
    """Return the decay verdict of current scores against promised ones (accuracy drop, Brier rise).

    A metric decays when its gap exceeds the margin and its one-sided p-value is below ``alpha``.
    """
    out: dict[str, Any] = {"promised": promised, "current": current, "drift": False, "reasons": []}
    if current.get("n", 0) < min_samples or "accuracy" not in promised or "accuracy" not in current:
        out["reasons"].append(
            f"not enough labelled predictions ({current.get('n', 0)} < {min_samples})"
            if current.get("n", 0) < min_samples
            else "nothing promised to compare with"
        )
        return out
    drop = promised["accuracy"] - current["accuracy"]
    rise = current["brier"] - promised["brier"]
    dof = current.get("se_dof")
    p_acc = _worse_pvalue(drop, current.get("accuracy_se"), _promised_se(promised, current, "accuracy"), dof)
    p_brier = _worse_pvalue(rise, current.get("brier_se"), _promised_se(promised, current, "brier"), dof)
    out.update(accuracy_drop=drop, brier_increase=rise, accuracy_pvalue=p_acc, brier_pvalue=p_brier)
    if drop > max_accuracy_drop and p_acc < alpha:
        out["reasons"].append(
            f"accuracy {current['accuracy']:.4f} is {drop:.4f} below the promised "
            f"{promised['accuracy']:.4f} (limit {max_accuracy_drop}, p = {p_acc:.2g})"
        )
    if rise > max_brier_increase and p_brier < alpha:
        out["reasons"].append(
            f"Brier {current['brier']:.4f} is {rise:.4f} above the promised "
            f"{promised['brier']:.4f} (limit {max_brier_increase}, p = {p_brier:.2g})"
        )
    out["drift"] = bool(out["reasons"])
    return out
