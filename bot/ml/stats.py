"""Statistics that guard against self-deception.

- ``accuracy_test``: one-sided binomial test of the out-of-sample accuracy against the
  majority-class baseline. Overlapping labels (horizon h > 1) and symbols sharing a day make
  predictions dependent, so a second p-value treats every h-th prediction as independent.
- ``probabilistic_sharpe_ratio`` (Bailey & López de Prado, 2012): P(true Sharpe > SR*) given the
  observed per-bar Sharpe, the number of returns, their skewness and (non-excess) kurtosis.
- ``deflated_sharpe_ratio`` (Bailey & López de Prado, 2014): the PSR against SR0, the Sharpe
  ratio the best of ``n_trials`` skill-less configurations would be expected to reach.

Sharpe ratios here are per bar (not annualised), as in the papers' formulas.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

EULER_GAMMA = 0.5772156649015329


def binomial_p_value(k: int, n: int, p0: float) -> float:
    """Return P(X >= k) for X ~ Binomial(n, p0): the one-sided p-value of k successes."""
    if n <= 0:
        return float("nan")
    return float(stats.binomtest(int(k), int(n), float(min(max(p0, 0.0), 1.0)), alternative="greater").pvalue)


def accuracy_test(correct: int, n: int, baseline: float, dependence: int = 1) -> dict:
    """Return the binomial test of ``correct`` of ``n`` against ``baseline``, plain and with n / ``dependence``."""
    n_eff = max(1, n // max(1, dependence))
    k_eff = int(round(correct * n_eff / n)) if n else 0
    return {
        "accuracy": correct / n if n else float("nan"),
        "baseline_accuracy": baseline,
        "n": int(n),
        "correct": int(correct),
        "p_value": binomial_p_value(correct, n, baseline),
        "n_effective": int(n_eff),
        "p_value_effective": binomial_p_value(k_eff, n_eff, baseline),
        "significant_5pct": bool(binomial_p_value(k_eff, n_eff, baseline) < 0.05),
    }


def sharpe_ratio(returns: np.ndarray) -> float:
    """Return the per-bar Sharpe ratio mean / std (ddof=1); NaN when undefined."""
    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    if len(r) < 2:
        return float("nan")
    sd = r.std(ddof=1)
    return float(r.mean() / sd) if sd > 0 else float("nan")


def probabilistic_sharpe_ratio(
    sr: float, n_obs: int, skew: float = 0.0, kurtosis: float = 3.0, sr_benchmark: float = 0.0
) -> float:
    """Return PSR = Phi((SR - SR*) sqrt(n - 1) / sqrt(1 - skew SR + (kurtosis - 1) / 4 SR^2))."""
    if not np.isfinite(sr) or n_obs < 2:
        return float("nan")
    denom = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr**2
    if denom <= 0:
        return float("nan")
    return float(stats.norm.cdf((sr - sr_benchmark) * math.sqrt(n_obs - 1) / math.sqrt(denom)))


def expected_max_sharpe(n_trials: int, sharpe_std: float) -> float:
    """Return SR0 = std * ((1 - gamma) Z(1 - 1/N) + gamma Z(1 - 1/(N e))); 0 for a single trial."""
    if n_trials <= 1:
        return 0.0
    z = stats.norm.ppf
    return float(sharpe_std * ((1 - EULER_GAMMA) * z(1 - 1 / n_trials) + EULER_GAMMA * z(1 - 1 / (n_trials * math.e))))


def deflated_sharpe_ratio(
    sr: float, n_obs: int, n_trials: int, sharpe_std: float, skew: float = 0.0, kurtosis: float = 3.0
) -> float:
    """Return DSR = PSR(SR0): the probability the true Sharpe beats the best of n_trials lucky ones."""
    sr0 = expected_max_sharpe(n_trials, sharpe_std)
    return probabilistic_sharpe_ratio(sr, n_obs, skew, kurtosis, sr_benchmark=sr0)


def sharpe_stats(
    returns: np.ndarray, n_trials: int = 1, sharpe_std: float | None = None, periods_per_year: int = 252
) -> dict:
    """Return Sharpe (per bar and annualised), skew, kurtosis, PSR(0), SR0 and DSR of a return series.

    Without the trials' Sharpe spread (``sharpe_std``), use sqrt(1 / (n - 1)): the sampling
    spread of skill-less Sharpe ratios measured over this many returns.
    """
    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    n = len(r)
    sr = sharpe_ratio(r)
    skew = float(stats.skew(r)) if n > 2 else float("nan")
    kurt = float(stats.kurtosis(r, fisher=False)) if n > 3 else float("nan")
    spread = sharpe_std if sharpe_std is not None else (math.sqrt(1.0 / (n - 1)) if n > 1 else float("nan"))
    ok = np.isfinite(skew) and np.isfinite(kurt)
    return {
        "sharpe_per_bar": sr,
        "sharpe": sr * math.sqrt(periods_per_year) if np.isfinite(sr) else float("nan"),
        "n_obs": n,
        "skew": skew,
        "kurtosis": kurt,
        "psr": probabilistic_sharpe_ratio(sr, n, skew, kurt) if ok else float("nan"),
        "n_trials": int(n_trials),
        "sharpe_std_trials": spread,
        "sharpe_std_assumed": sharpe_std is None,
        "sr0_per_bar": expected_max_sharpe(n_trials, spread) if np.isfinite(spread) else float("nan"),
        "dsr": deflated_sharpe_ratio(sr, n, n_trials, spread, skew, kurt) if ok else float("nan"),
    }
