"""Save and load a TrainedModel as a folder of checksummed files; never load what does not verify.

Layout of an artifact folder::

    manifest.json   what the model is (features, training window, data hash, type/params, label,
                    horizons, code and library versions) and the sha256 of every other file
    model.skops     the fitted scikit-learn objects in skops format (no pickle), with every XGBoost
                    estimator replaced by a reference to its own file
    xgb_<k>.ubj     each fitted XGBoost estimator in XGBoost's own format (``save_model``; UBJ or JSON)

``load_model`` reads the manifest (plain JSON), checks every listed file's sha256, checks that the
skops file holds only types on our allow-list (``TRUSTED_TYPES``), and only then deserialises.
The checksums catch corruption and mix-ups; the allow-list is what keeps a crafted file from
running code. The registry additionally pins the manifest's own sha256 in a model-version tag.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import DataError
from bot.models.bundle import TrainedModel

FORMAT = "market-predictor-model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SKELETON = "model.skops"
REQUIRED_INFO = ("model_type", "params", "label", "training", "data_hash", "code_version")
_XGB_REF = "__xgboost_artifact__"
_XGB_UNFITTED = "__xgboost_unfitted__"
XGB_CLASSES = ("XGBClassifier", "XGBRegressor")

# Types skops does not trust by default that our models legitimately contain. Anything else is refused.
# Our own estimator classes (modules under bot.ml) are trusted by prefix: they are this project's code.
TRUSTED_PREFIXES = ("bot.ml.",)
TRUSTED_TYPES = frozenset(
    {
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.model_selection._split.TimeSeriesSplit",
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.utils._bunch.Bunch",
    }
)


class ArtifactError(DataError):
    """A model artifact is missing, altered, or holds something we refuse to load (exit 3)."""


def sha256_file(path: Path) -> str:
    """Return ``sha256:<hex>`` of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def manifest_sha256(folder: str | Path) -> str:
    """Return the sha256 of an artifact folder's manifest (what the registry pins)."""
    return sha256_file(Path(folder) / MANIFEST)


def refused_types(untrusted) -> list[str]:
    """Return the types skops flags that are neither on the allow-list nor this project's own."""
    return sorted(t for t in untrusted if t not in TRUSTED_TYPES and not t.startswith(TRUSTED_PREFIXES))


# --------------------------------------------------------------------------- object walking


def _walk(obj: Any, fn, memo: set[int]) -> Any:
    """Return ``obj`` with every node ``fn`` maps to a non-None value replaced (containers edited in place)."""
    new = fn(obj)
    if new is not None:
        return new
    if isinstance(obj, str | bytes | int | float | bool | type(None) | np.ndarray | np.generic | type):
        return obj
    if id(obj) in memo:
        return obj
    memo.add(id(obj))
    if isinstance(obj, list):
        obj[:] = [_walk(v, fn, memo) for v in obj]
    elif isinstance(obj, tuple):
        return type(obj)(_walk(v, fn, memo) for v in obj) if type(obj) is tuple else obj
    elif isinstance(obj, dict):
        for k in list(obj):
            obj[k] = _walk(obj[k], fn, memo)
    elif hasattr(obj, "__dict__") and not callable(obj):
        for k, v in list(vars(obj).items()):
            vars(obj)[k] = _walk(v, fn, memo)
    return obj


def _is_xgb(obj: Any) -> bool:
    return type(obj).__name__ in XGB_CLASSES and type(obj).__module__.startswith("xgboost")


def _extract_xgb(tree: Any, folder: Path, fmt: str) -> Any:
    """Save every XGBoost estimator in ``tree`` to its own file and put a reference in its place."""
    count = [0]

    def swap(obj):
        if not _is_xgb(obj):
            return None
        cls = type(obj).__name__
        if not obj.__sklearn_is_fitted__():
            params = obj.get_params()
            try:
                json.dumps(params, allow_nan=True)
            except TypeError as e:
                raise ValueError(f"unfitted {cls} has parameters that are not plain data: {e}") from None
            return {_XGB_UNFITTED: cls, "params": params}
        name = f"xgb_{count[0]}.{fmt}"
        count[0] += 1
        obj.save_model(folder / name)
        return {_XGB_REF: name, "class": cls}

    return _walk(tree, swap, set())


def _restore_xgb(tree: Any, folder: Path, verified: set[str]) -> Any:
    """Replace every XGBoost reference in ``tree`` by the estimator loaded from its verified file."""
    import xgboost

    def swap(obj):
        if not isinstance(obj, dict) or not (_XGB_REF in obj or _XGB_UNFITTED in obj):
            return None
        cls = obj.get("class", obj.get(_XGB_UNFITTED))
        if cls not in XGB_CLASSES:
            raise ArtifactError(str(folder / SKELETON), f"refusing unknown XGBoost class {cls!r}")
        est = getattr(xgboost, cls)()
        if _XGB_UNFITTED in obj:
            return est.set_params(**obj["params"])
        name = obj[_XGB_REF]
        if name not in verified:
            raise ArtifactError(str(folder / MANIFEST), f"{name} is referenced but not listed with a checksum")
        est.load_model(folder / name)
        return est

    return _walk(tree, swap, set())


# --------------------------------------------------------------------------- save


def _libraries() -> dict[str, str]:
    out = {}
    for dist in ("xgboost", "xgboost-cpu", "scikit-learn", "skops", "numpy", "scipy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


def save_model(model: TrainedModel, folder: str | Path, xgb_format: str = "ubj") -> dict:
    """Write ``model`` to a new artifact ``folder`` and return its manifest.

    ``model.info`` must hold at least ``REQUIRED_INFO``. The folder must not exist or be empty; it
    appears only when complete.
    """
    import skops.io as sio

    missing = [k for k in REQUIRED_INFO if k not in model.info]
    if missing:
        raise ValueError(f"model.info lacks {', '.join(missing)}")
    if xgb_format not in ("ubj", "json"):
        raise ValueError(f"xgb_format must be 'ubj' or 'json', got {xgb_format!r}")
    out = Path(folder)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        tree = _extract_xgb({f"h{h}": m for h, m in copy.deepcopy(model.models).items()}, tmp, xgb_format)
        sio.dump(tree, tmp / SKELETON)
        refused = refused_types(sio.get_untrusted_types(file=tmp / SKELETON))
        if refused:
            raise ValueError(
                f"model holds types not on the load allow-list: {refused} "
                "(add them to bot.models.artifacts.TRUSTED_TYPES if they are safe)"
            )
        manifest = _manifest(model, {p.name: sha256_file(p) for p in sorted(tmp.iterdir())})
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=_json_default) + "\n")
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return manifest


def _manifest(model: TrainedModel, files: dict[str, str]) -> dict:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **model.info,
        "features": list(model.features),
        "horizons": [int(h) for h in model.models],
        "combine": model.combine,
        "nan_intolerant": bool(model.nan_intolerant),
        "libraries": _libraries(),
        "files": files,
    }


def _json_default(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    raise TypeError(f"cannot write {type(v).__name__} to the manifest")


# --------------------------------------------------------------------------- load


def read_manifest(folder: str | Path) -> dict:
    """Return an artifact folder's manifest after checking its format (no file is deserialised)."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ArtifactError(str(path), "model manifest not found")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ArtifactError(str(path), f"manifest is not valid JSON: {e}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(str(path), f"not a {FORMAT} manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            str(path),
            f"format_version {manifest.get('format_version')!r} is not {FORMAT_VERSION}; retrain or convert the model",
        )
    return manifest


def verify_files(folder: str | Path, expected_manifest_sha256: str | None = None) -> dict:
    """Check the manifest's own hash (when given) and every listed file's sha256; return the manifest."""
    folder = Path(folder)
    if expected_manifest_sha256 is not None and (folder / MANIFEST).is_file():
        actual = manifest_sha256(folder)
        if actual != expected_manifest_sha256:
            raise ArtifactError(
                str(folder / MANIFEST),
                f"manifest checksum {actual} does not match the "
                f"registered {expected_manifest_sha256}; refusing to load",
            )
    manifest = read_manifest(folder)
    files = manifest.get("files")
    if not isinstance(files, dict) or SKELETON not in files:
        raise ArtifactError(str(folder / MANIFEST), f"manifest lists no checksum for {SKELETON}")
    for name, digest in files.items():
        if not isinstance(name, str) or "/" in name or "\\" in name or name.startswith("."):
            raise ArtifactError(str(folder / MANIFEST), f"refusing file name {name!r}")
        path = folder / name
        if not path.is_file():
            raise ArtifactError(str(path), "listed in the manifest but missing")
        actual = sha256_file(path)
        if actual != digest:
            raise ArtifactError(
                str(path),
                f"checksum {actual} does not match the manifest's {digest}; "
                "the file was altered or corrupted, refusing to load",
            )
    return manifest


def load_model(folder: str | Path, expected_manifest_sha256: str | None = None) -> TrainedModel:
    """Verify an artifact folder and return the TrainedModel it holds; raise ArtifactError otherwise."""
    import skops.io as sio

    folder = Path(folder)
    manifest = verify_files(folder, expected_manifest_sha256)
    skeleton = folder / SKELETON
    try:
        untrusted = set(sio.get_untrusted_types(file=skeleton))
    except Exception as e:  # noqa: BLE001 - skops raises many kinds on a malformed file
        raise ArtifactError(str(skeleton), f"not a readable skops file: {e}") from None
    refused = refused_types(untrusted)
    if refused:
        raise ArtifactError(str(skeleton), f"holds types not on the allow-list: {', '.join(refused)}")
    tree = sio.load(skeleton, trusted=sorted(untrusted))
    tree = _restore_xgb(tree, folder, set(manifest["files"]))
    horizons = [int(h) for h in manifest["horizons"]]
    models = {h: tree[f"h{h}"] for h in horizons}
    info = {
        k: v for k, v in manifest.items() if k not in ("features", "horizons", "combine", "nan_intolerant", "files")
    }
    return TrainedModel(models, list(manifest["features"]), manifest["combine"], bool(manifest["nan_intolerant"]), info)
