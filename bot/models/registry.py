"""The MLflow model registry of one strategy config: versions, aliases champion / challenger, rollback.

One registered model per config (``registry.model_name``, default the config's ``name``). Each
version points at a run's ``model`` artifact folder and pins its manifest's sha256 in the version
tag ``manifest_sha256``; loading downloads the folder and refuses it unless the pin and every file
checksum match. Promotions are remembered in the registered model's tag ``champion_history`` (a
JSON list, last = current champion), so ``rollback`` restores the previous champion.
"""

from __future__ import annotations

import json
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

from bot.config.lifecycle import RegistryConfig
from bot.errors import ConfigError, UserError, without_credentials
from bot.models.artifacts import ArtifactError, load_model, manifest_sha256, save_model
from bot.models.bundle import TrainedModel
from bot.models.tracking import experiment_id, log_model_run, tracking_client

CHAMPION, CHALLENGER = "champion", "challenger"
HISTORY_TAG = "champion_history"
_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[A-Za-z0-9_-]+)|/(?P<version>\d+))$")


class RegistryError(ConfigError):
    """The registry has no such model, version or alias (exit 2)."""


class RegistryUnavailableError(UserError):
    """The registry could not be read or written (unreachable server, broken store): exit 1, nothing decided.

    Only MLflow's RESOURCE_DOES_NOT_EXIST means "no such model / alias"; any other failure is this,
    so an outage never reads as "no champion yet".
    """

    def __init__(self, uri: str, what: str, error: BaseException):
        reason = without_credentials(" ".join(str(error).split())[:300])
        self.where = "registry.tracking_uri"
        self.what = (
            f"cannot {what} in the MLflow registry at {without_credentials(uri)} ({type(error).__name__}: {reason})"
        )
        super().__init__(f"{self.where}: {self.what}")


def _missing(e: BaseException) -> bool:
    """Return True if ``e`` is MLflow saying the model / version does not exist (not an outage)."""
    from mlflow.exceptions import MlflowException

    return isinstance(e, MlflowException) and e.error_code == "RESOURCE_DOES_NOT_EXIST"


@dataclass(frozen=True)
class VersionInfo:
    version: int
    aliases: tuple[str, ...]
    created_ms: int
    run_id: str
    tags: dict[str, str]
    description: str


class ModelRegistry:
    """Register, list, promote, roll back and load versions of one registered model."""

    def __init__(self, cfg: RegistryConfig, default_name: str, client=None):
        self.cfg = cfg
        self.name = cfg.model_name or default_name
        self.experiment = cfg.experiment or default_name
        if client is None:
            with self._talking("open the store"):
                client = tracking_client(cfg.tracking_uri)
        self.client = client

    @contextmanager
    def _talking(self, what: str):
        """Turn any failure of the store (not our own user errors) into RegistryUnavailableError."""
        try:
            yield
        except UserError:
            raise
        except Exception as e:  # noqa: BLE001 - MLflow, SQLAlchemy, requests: all mean "cannot use the store"
            raise RegistryUnavailableError(self.cfg.tracking_uri, what, e) from None

    def _registered_model(self):
        """Return the registered model, or None when MLflow says it does not exist."""
        with self._talking(f"read model {self.name!r}"):
            try:
                return self.client.get_registered_model(self.name)
            except Exception as e:
                if _missing(e):
                    return None
                raise

    @classmethod
    def for_config(cls, config, client=None) -> ModelRegistry:
        """Return the registry of a run Config (its ``registry`` section and ``name``)."""
        return cls(config.registry, config.name, client)

    # ----------------------------------------------------------------- writing

    def register(
        self,
        model: TrainedModel,
        metrics: dict,
        tags: dict[str, str] | None = None,
        description: str = "",
        run_name: str = "train",
    ) -> int:
        """Save ``model`` as an artifact, log its training run, create a new version; return the version."""
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "model"
            save_model(model, folder, self.cfg.xgboost_format)
            pin = manifest_sha256(folder)
            with self._talking(f"log the training run of {self.name!r}"):
                exp = experiment_id(self.client, self.experiment, self.cfg)
                run_id = log_model_run(
                    self.client, exp, model, folder, metrics, {"registered_model": self.name, **(tags or {})}, run_name
                )
        self._ensure_model()
        vtags = {
            "manifest_sha256": pin,
            "data_hash": model.info.get("data_hash", ""),
            "code_version": model.info.get("code_version", ""),
            "label_end": model.info.get("training", {}).get("label_end", ""),
            **(tags or {}),
        }
        with self._talking(f"register a version of {self.name!r}"):
            source = f"{self.client.get_run(run_id).info.artifact_uri}/model"
            mv = self.client.create_model_version(self.name, source, run_id, tags=vtags, description=description)
        logger.info(f"registered {self.name} version {mv.version} (run {run_id})")
        return int(mv.version)

    def _ensure_model(self) -> None:
        if self._registered_model() is None:
            with self._talking(f"create model {self.name!r}"):
                self.client.create_registered_model(self.name, tags={HISTORY_TAG: "[]"})

    def set_alias(self, alias: str, version: int) -> None:
        """Point ``alias`` at ``version``."""
        self._version(version)
        with self._talking(f"set alias {alias!r} of {self.name!r}"):
            self.client.set_registered_model_alias(self.name, alias, str(version))

    def clear_alias(self, alias: str) -> None:
        """Remove ``alias`` if set."""
        if alias in self._aliases():
            with self._talking(f"remove alias {alias!r} of {self.name!r}"):
                self.client.delete_registered_model_alias(self.name, alias)

    def tag_version(self, version: int, tags: dict[str, str]) -> None:
        """Add tags to a version (e.g. the gate decision)."""
        with self._talking(f"tag version {version} of {self.name!r}"):
            for k, v in tags.items():
                self.client.set_model_version_tag(self.name, str(version), k, str(v))

    def promote(self, version: int, reason: str = "manual") -> int | None:
        """Make ``version`` the champion; return the previous champion version (None if there was none)."""
        self._version(version)
        previous = self.alias_version(CHAMPION)
        history = self.history()
        if previous == version:
            return previous
        with self._talking(f"promote version {version} of {self.name!r}"):
            self.client.set_registered_model_alias(self.name, CHAMPION, str(version))
        self._set_history([*history, version])
        if self.alias_version(CHALLENGER) == version:
            self.clear_alias(CHALLENGER)
        self.tag_version(version, {"promoted_reason": reason})
        logger.info(f"{self.name}: champion {previous} -> {version} ({reason})")
        return previous

    def rollback(self, reason: str = "manual rollback") -> tuple[int, int]:
        """Restore the previous champion; return (rolled-back version, restored version)."""
        history = self.history()
        current = self.alias_version(CHAMPION)
        if current is None or len(history) < 2:
            raise RegistryError(f"registry.model_name ({self.name})", "no earlier champion to roll back to")
        restored = history[-2]
        with self._talking(f"roll back the champion of {self.name!r}"):
            self.client.set_registered_model_alias(self.name, CHAMPION, str(restored))
        self._set_history(history[:-1])
        self.tag_version(current, {"rolled_back": reason})
        logger.warning(f"{self.name}: rolled back champion {current} -> {restored} ({reason})")
        return current, restored

    def history(self) -> list[int]:
        """Return the champion versions in promotion order (last = current)."""
        model = self._registered_model()
        return [] if model is None else [int(v) for v in json.loads(model.tags.get(HISTORY_TAG, "[]"))]

    def _set_history(self, versions: list[int]) -> None:
        with self._talking(f"record the champion history of {self.name!r}"):
            self.client.set_registered_model_tag(self.name, HISTORY_TAG, json.dumps(versions))

    # ----------------------------------------------------------------- reading

    def _aliases(self) -> dict[str, int]:
        """Return alias -> version; {} only when the model does not exist (an outage raises)."""
        model = self._registered_model()
        return {} if model is None else {a: int(v) for a, v in (model.aliases or {}).items()}

    def alias_version(self, alias: str) -> int | None:
        """Return the version behind ``alias``, or None."""
        return self._aliases().get(alias)

    def _version(self, version: int):
        with self._talking(f"read version {version} of {self.name!r}"):
            try:
                return self.client.get_model_version(self.name, str(version))
            except Exception as e:
                if not _missing(e):
                    raise
        raise RegistryError("version", f"{self.name} has no version {version}")

    def versions(self) -> list[VersionInfo]:
        """Return every version, newest first."""
        by_version: dict[int, list[str]] = {}
        for alias, v in self._aliases().items():
            by_version.setdefault(v, []).append(alias)
        out = []
        with self._talking(f"list the versions of {self.name!r}"):
            found = list(self.client.search_model_versions(f"name='{self.name}'"))
        for mv in found:
            v = int(mv.version)
            out.append(
                VersionInfo(
                    v,
                    tuple(sorted(by_version.get(v, []))),
                    int(mv.creation_timestamp or 0),
                    mv.run_id or "",
                    dict(mv.tags or {}),
                    mv.description or "",
                )
            )
        return sorted(out, key=lambda x: x.version, reverse=True)

    def resolve(self, ref: str | int) -> int:
        """Return the version a reference names: a number, ``@alias`` / an alias name, or a models:/ URI."""
        text = str(ref)
        m = _URI.match(text)
        if m:
            if m["name"] != self.name:
                raise RegistryError("model", f"{text} names model {m['name']!r}, this config's is {self.name!r}")
            text = m["version"] or m["alias"]
        if text.isdigit():
            return int(text)
        version = self.alias_version(text.lstrip("@"))
        if version is None:
            raise RegistryError(
                "model", f"{self.name} has no alias {text.lstrip('@')!r} (train one with python -m bot.retrain)"
            )
        return version

    def load(self, ref: str | int = CHAMPION) -> tuple[TrainedModel, int]:
        """Download and verify a version (number, alias or models:/ URI); return (model, version)."""
        version = self.resolve(ref)
        mv = self._version(version)
        pin = (mv.tags or {}).get("manifest_sha256")
        if not pin:
            raise RegistryError("model", f"{self.name} version {version} has no pinned manifest checksum")
        with tempfile.TemporaryDirectory() as tmp:
            with self._talking(f"download version {version} of {self.name!r}"):
                path = self.client.download_artifacts(mv.run_id, "model", tmp)
            try:
                model = load_model(path, expected_manifest_sha256=pin)
            except ArtifactError as e:
                name = Path(e.where.split(":")[0]).name
                raise ArtifactError(f"models:/{self.name}/{version}:{name}", e.what) from None
        model.info["registry"] = {"name": self.name, "version": version}
        return model, version

    def uri(self, alias: str = CHAMPION) -> str:
        """Return ``models:/<name>@<alias>``."""
        return f"models:/{self.name}@{alias}"


def load_model_uri(uri: str, cfg: RegistryConfig) -> tuple[TrainedModel, int]:
    """Load ``models:/<name>@<alias>`` or ``models:/<name>/<version>`` from the configured registry."""
    m = _URI.match(uri)
    if not m:
        raise RegistryError("model", f"{uri!r} is not models:/<name>@<alias> or models:/<name>/<version>")
    return ModelRegistry(cfg.model_copy(update={"model_name": m["name"]}), m["name"]).load(uri)


def load_model_ref(where: str, cfg: RegistryConfig, key: str = "model") -> tuple[TrainedModel, str]:
    """Load a registry URI or an artifact folder (checksums verified); return (model, version label).

    The label is ``<name>/v<version>`` for the registry and ``artifact-<manifest sha>`` for a folder.
    Problems are ConfigErrors naming ``key`` (the config key that gave ``where``); a bad artifact
    stays an ArtifactError (exit 3).
    """
    if where.startswith("models:/"):
        try:
            model, number = load_model_uri(where, cfg)
        except RegistryError as e:
            raise ConfigError(key, e.what) from None
        return model, f"{where.split('@')[0].split('/')[1]}/v{number}"
    if not Path(where).is_dir():
        raise ConfigError(key, f"{where!r} is neither models:/<name>@<alias> nor an artifact folder")
    return load_model(where), "artifact-" + manifest_sha256(where)[:12]
