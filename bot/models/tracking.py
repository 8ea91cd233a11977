"""MLflow set-up (telemetry off, quiet) and run logging: params, metrics, features, data hash, artifact.

MLflow is imported only through ``mlflow_module()``, which first sets the do-not-phone-home
environment: ``MLFLOW_DISABLE_TELEMETRY=true`` and ``DO_NOT_TRACK=true`` (MLflow's usage
telemetry), no artifact progress bars, quiet GitPython. The default store is local: a SQLite
tracking/registry database and an artifact folder; any tracking URI works through the config.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.config import read_yaml
from bot.config.lifecycle import RegistryConfig
from bot.configure import parse_config
from bot.errors import ConfigError, mask_secrets, without_credentials
from bot.models.bundle import TrainedModel

QUIET_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
DEFAULT_ENV = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false", "GIT_PYTHON_REFRESH": "quiet"}
MAX_PARAM = 500


def mlflow_module():
    """Return the ``mlflow`` module, imported with telemetry off."""
    os.environ.update(QUIET_ENV)
    for key, value in DEFAULT_ENV.items():
        os.environ.setdefault(key, value)
    import mlflow

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return mlflow


def logging_failed(what: str, e: Exception) -> str:
    """Return the one-line warning for a failed MLflow log (credentials in URLs masked)."""
    return f"registry.tracking_uri: could not log {what} to MLflow ({type(e).__name__}: {without_credentials(str(e))})"


def _local_sqlite_path(uri: str) -> Path | None:
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


def tracking_client(uri: str):
    """Return an MlflowClient for tracking and registry at ``uri`` (a local SQLite folder is created)."""
    mlflow_module()
    from mlflow import MlflowClient

    path = _local_sqlite_path(uri)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.search_experiments(max_results=1)  # creates / migrates a new store now, not mid-run
    return client


def experiment_id(client, name: str, cfg: RegistryConfig) -> str:
    """Return the id of experiment ``name``, creating it (with the configured artifact folder) if needed."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    if _local_sqlite_path(cfg.tracking_uri) is not None or cfg.tracking_uri.startswith("file:"):
        location = Path(cfg.artifact_location).resolve().as_uri()
    return client.create_experiment(name, artifact_location=location)


def flat_params(prefix: str, value: Any) -> dict[str, str]:
    """Flatten nested params into MLflow's ``a.b.c -> str`` form (long values shortened)."""
    if isinstance(value, Mapping):
        out: dict[str, str] = {}
        for k, v in value.items():
            out.update(flat_params(f"{prefix}.{k}" if prefix else str(k), v))
        return out
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return {prefix: text if len(text) <= MAX_PARAM else text[: MAX_PARAM - 3] + "..."}


def numeric_metrics(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Return the finite numbers of a (nested) metrics mapping as ``prefix.key -> float``."""
    out: dict[str, float] = {}
    for k, v in metrics.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(numeric_metrics(v, key + "."))
        elif isinstance(v, bool):
            out[key] = float(v)
        elif isinstance(v, int | float) and v == v and abs(v) != float("inf"):
            out[key] = float(v)
    return out


def model_params(model: TrainedModel) -> dict[str, str]:
    """Return the MLflow params of a model: type, params, label, horizons, features, training window."""
    info = model.info
    return {
        **flat_params(
            "model",
            {
                "type": info.get("model_type"),
                "params": info.get("params", {}),
                "label": info.get("label"),
                "calibration": info.get("calibration"),
                "horizons": model.horizons,
                "combine": model.combine,
            },
        ),
        **flat_params("training", info.get("training", {})),
        "features": flat_params("f", model.features)["f"],
        "n_features": str(len(model.features)),
        "seed": str(info.get("seed")),
    }


_EMPTY: Mapping[str, Any] = MappingProxyType({})  # read-only default for the mapping arguments


def log_run(
    client,
    experiment: str,
    run_name: str,
    params: Mapping[str, str],
    metrics: Mapping[str, float],
    tags: Mapping[str, str],
    artifacts: Mapping[str, Path] = _EMPTY,
    json_files: Mapping[str, Any] = _EMPTY,
) -> str:
    """Log one finished run (params, metrics, tags, artifact folders/files, JSON documents); return its id.

    Credentials in URLs are masked in params, tags and JSON documents (artifact files are copied as they are).
    """
    from mlflow.entities import Metric, Param, RunTag

    params, tags = mask_secrets(dict(params)), mask_secrets(dict(tags))
    json_files = mask_secrets(dict(json_files))
    run = client.create_run(experiment, run_name=run_name, tags=dict(tags))
    rid = run.info.run_id
    try:
        client.log_batch(
            rid,
            metrics=[Metric(k, v, 0, 0) for k, v in metrics.items()],
            params=[Param(k, v) for k, v in params.items()],
            tags=[RunTag(k, str(v)) for k, v in tags.items()],
        )
        for dest, path in dict(artifacts).items():
            if Path(path).is_dir():
                client.log_artifacts(rid, str(path), dest)
            else:
                client.log_artifact(rid, str(path), dest or None)
        if json_files:
            with tempfile.TemporaryDirectory() as tmp:
                for name, doc in dict(json_files).items():
                    (Path(tmp) / name).write_text(json.dumps(doc, indent=2, default=str) + "\n")
                client.log_artifacts(rid, tmp, "info")
        client.set_terminated(rid, "FINISHED")
    except Exception:
        client.set_terminated(rid, "FAILED")
        raise
    return rid


def log_model_run(
    client,
    experiment: str,
    model: TrainedModel,
    artifact_dir: Path,
    metrics: Mapping[str, Any],
    tags: Mapping[str, str],
    run_name: str = "train",
) -> str:
    """Log a training run: the model's params, metrics, feature list, window, data hash and its artifact."""
    info = model.info
    training = info.get("training", {})
    all_tags = {
        "kind": "train",
        "data_hash": info.get("data_hash", ""),
        "code_version": info.get("code_version", ""),
        "train_start": training.get("start", ""),
        "train_end": training.get("end", ""),
        "label_end": training.get("label_end", ""),
        **tags,
    }
    return log_run(
        client,
        experiment,
        run_name,
        model_params(model),
        numeric_metrics(metrics),
        all_tags,
        {"model": artifact_dir},
        {"features.json": model.features, "training.json": training},
    )


def _unmasked(cfg: RegistryConfig) -> RegistryConfig:
    """Return ``cfg``; a tracking URI masked in a run folder's config.yaml comes from $MLFLOW_TRACKING_URI."""

    if "://***@" not in cfg.tracking_uri:
        return cfg
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        raise ConfigError(
            "registry.tracking_uri",
            f"the run folder's config.yaml masks the password of "
            f"{cfg.tracking_uri}; set MLFLOW_TRACKING_URI to the full URL",
        )
    return cfg.model_copy(update={"tracking_uri": os.environ["MLFLOW_TRACKING_URI"]})


def log_backtest_run(run: str | Path, registry: RegistryConfig | None = None) -> tuple[str, str]:
    """Log a finished backtest run folder: its config as params, metrics.json numbers as metrics, the
    data hash, window and code version as tags, and every file as an artifact; return (run id, experiment).

    The registry settings are ``registry`` (the run's own, unmasked: ``run_backtest.py`` passes them)
    or else the folder's config.yaml (if its password is masked: the URL in $MLFLOW_TRACKING_URI).
    ``run_backtest.py`` calls this after writing a run when ``registry.log_backtests`` is set.
    """

    run = Path(run)
    metrics_path = run / "metrics.json"
    if not metrics_path.is_file():
        raise ConfigError(str(run), "not a run folder (no metrics.json)")
    raw = read_yaml(run / "config.yaml")
    cfg = parse_config(raw)
    metrics = json.loads(metrics_path.read_text())
    reg = registry or _unmasked(cfg.registry)
    client = tracking_client(reg.tracking_uri)
    name = reg.experiment or cfg.name
    exp = experiment_id(client, name, reg)
    data = metrics.get("data", {})
    tags = {
        "kind": "backtest",
        "run_folder": str(run.resolve()),
        "data_hash": str(data.get("hash", "")),
        "code_version": str(metrics.get("code_version", "")),
        "window": f"{data.get('first_bar', '')}..{data.get('last_bar', '')}",
    }
    skip = {"calibration", "confusion", "paths"}
    nums = {k: v for k, v in numeric_metrics(metrics).items() if not any(p in skip for p in k.split("."))}
    rid = log_run(client, exp, f"backtest {run.name}", flat_params("", raw), nums, tags, {"run": run})
    return rid, name
