"""Stacking with time-ordered inner splits (scikit-learn's StackingClassifier needs a partition).

The meta-model learns from members' predictions on later rows of the training window that
those members did not fit on (``TimeSeriesSplit``); the members are then refitted on all rows.
The meta-model therefore never sees an in-sample member prediction, and nothing outside the
training rows is used.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def _inner_predictions(estimators, X, y, n_splits: int, predict, complete) -> tuple[np.ndarray, np.ndarray]:
    """Return members' out-of-sample predictions on the later inner folds, and those folds' targets."""
    feats, targets = [], []
    for train, test in TimeSeriesSplit(n_splits=n_splits).split(X):
        if not complete(y[train]):
            continue
        cols = [predict(clone(est).fit(X[train], y[train]), X[test]) for _, est in estimators]
        feats.append(np.hstack(cols))
        targets.append(y[test])
    if not feats:
        raise ValueError("no inner split has every class in its training part; use fewer n_splits")
    return np.vstack(feats), np.concatenate(targets)


class TimeSeriesStackingClassifier(ClassifierMixin, BaseEstimator):
    """Stack classifiers: a logistic meta-model over members' out-of-sample class probabilities."""

    def __init__(self, estimators, final_estimator=None, n_splits: int = 3):
        self.estimators = estimators
        self.final_estimator = final_estimator
        self.n_splits = n_splits

    def fit(self, X, y):
        """Fit the meta-model on inner out-of-sample predictions, then refit the members on all rows."""
        X = np.asarray(X, dtype=np.float64)
        self.classes_, enc = np.unique(np.asarray(y), return_inverse=True)
        k = len(self.classes_)
        meta_X, meta_y = _inner_predictions(
            self.estimators,
            X,
            enc,
            self.n_splits,
            predict=lambda est, Z: est.predict_proba(Z),
            complete=lambda part: len(np.unique(part)) == k,
        )
        final = self.final_estimator if self.final_estimator is not None else LogisticRegression(C=1.0, max_iter=2000)
        self.final_estimator_ = clone(final).fit(meta_X, meta_y)
        self.estimators_ = [clone(est).fit(X, enc) for _, est in self.estimators]
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X):
        """Return class probabilities (columns in ``classes_`` order)."""
        X = np.asarray(X, dtype=np.float64)
        meta = np.hstack([est.predict_proba(X) for est in self.estimators_])
        raw = self.final_estimator_.predict_proba(meta)
        out = np.zeros((len(X), len(self.classes_)))
        out[:, self.final_estimator_.classes_.astype(int)] = raw
        return out

    def predict(self, X):
        """Return the most probable class."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class TimeSeriesStackingRegressor(RegressorMixin, BaseEstimator):
    """Stack regressors: a ridge meta-model over members' out-of-sample predictions."""

    def __init__(self, estimators, final_estimator=None, n_splits: int = 3):
        self.estimators = estimators
        self.final_estimator = final_estimator
        self.n_splits = n_splits

    def fit(self, X, y):
        """Fit the meta-model on inner out-of-sample predictions, then refit the members on all rows."""
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        meta_X, meta_y = _inner_predictions(
            self.estimators,
            X,
            y,
            self.n_splits,
            predict=lambda est, Z: est.predict(Z).reshape(-1, 1),
            complete=lambda part: len(part) > 1,
        )
        final = self.final_estimator if self.final_estimator is not None else make_pipeline(StandardScaler(), Ridge())
        self.final_estimator_ = clone(final).fit(meta_X, meta_y)
        self.estimators_ = [clone(est).fit(X, y) for _, est in self.estimators]
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        """Return the meta-model's prediction from the members' predictions."""
        X = np.asarray(X, dtype=np.float64)
        meta = np.hstack([est.predict(X).reshape(-1, 1) for est in self.estimators_])
        return self.final_estimator_.predict(meta)
