"""Tuning search spaces: small defaults per model type, overridable with ``tuning.space``.

Keys are ``model.params`` keys; a dotted key reaches into a combination's member settings
(``xgboost.max_depth``) or weights (``members.xgboost``).
"""

from __future__ import annotations

import copy
from typing import Any

from bot.config import ModelConfig, ParamRange
from bot.ml.estimators import members_of

R = ParamRange

DEFAULT_SPACES: dict[str, dict[str, ParamRange]] = {
    "xgboost": {
        "max_depth": R(low=2, high=6, integer=True),
        "learning_rate": R(low=0.01, high=0.2, log=True),
        "min_child_weight": R(low=1, high=50, log=True),
    },
    "random_forest": {
        "max_depth": R(low=3, high=10, integer=True),
        "min_samples_leaf": R(low=10, high=200, integer=True, log=True),
    },
    "logistic": {"C": R(low=1e-3, high=10.0, log=True)},
    "hist_gb": {
        "max_depth": R(low=2, high=6, integer=True),
        "learning_rate": R(low=0.01, high=0.2, log=True),
        "min_samples_leaf": R(low=10, high=200, integer=True, log=True),
    },
}
TREE_DEPTH = R(low=2, high=6, integer=True)


def default_space(model: ModelConfig) -> dict[str, ParamRange]:
    """Return the default space: the model's own, member weights (ensemble) or member depths (stacking)."""
    if model.type in DEFAULT_SPACES:
        return dict(DEFAULT_SPACES[model.type])

    members = members_of(model.params)
    if model.type == "ensemble":
        return {f"members.{m}": R(low=0.5, high=3.0) for m in members}
    return {f"{m}.max_depth": TREE_DEPTH for m in members if m != "logistic"}


def suggest(trial: Any, name: str, spec: ParamRange) -> Any:
    """Return one value for ``name`` drawn by an Optuna trial."""
    if spec.choices is not None:
        return trial.suggest_categorical(name, spec.choices)
    assert spec.low is not None and spec.high is not None  # ParamRange: no choices -> low < high
    if spec.integer:
        return trial.suggest_int(name, int(spec.low), int(spec.high), log=spec.log)
    return trial.suggest_float(name, float(spec.low), float(spec.high), log=spec.log)


def with_values(params: dict[str, Any], values: dict[str, Any], model_type: str) -> dict[str, Any]:
    """Return a copy of ``params`` with dotted ``values`` set (member weights keep the other members)."""
    out = copy.deepcopy(params)
    if model_type in ("ensemble", "stacking") and any(k.startswith("members.") for k in values):
        out["members"] = members_of(params)
    for key, value in values.items():
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out
