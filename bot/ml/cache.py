"""On-disk cache of walk-forward training outputs, so a strategy-only change does not retrain.

An entry holds what training produced (every split's out-of-sample rows, importances, selected
features, training-row counts, and the feature names), keyed by a hash of everything that
determines it (``cache_key``): the bars' content hashes, the ``data``, ``model`` and
``validation`` sections (not ``validation.n_jobs``, which never changes results), ``seed``, the
source text of the code that builds datasets and trains models (``bot/ml``, ``bot/features``,
``bot/data/schema.py`` and the users' feature module files) and the numeric libraries' versions.
The fold table and the ``ml`` metrics also depend on costs and ``tuning``, so they are rebuilt
from the entry on every run (``bot.ml.walkforward.assemble_result``) rather than stored.

An entry is one file ``<key>.mpc``: a magic line, a JSON header (format, key, payload length and
SHA-256) and an ``.npz`` payload (no pickles): the rows as Parquet bytes, the metadata as JSON
bytes, importances and supports as arrays. It is written to a temporary file and renamed. On
read, an entry whose format, key, length or checksum does not match is ignored with a warning
and training runs again. Beyond ``cache.max_size_mb`` the least recently used entries go.

``MP_CACHE_DIR`` (environment) overrides ``cache.dir``; the test suite points it at a temporary
folder so tests never read an entry written outside their own run.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import io
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from loguru import logger

from bot.config import Config
from bot.data.hashing import symbol_hash
from bot.data.schema import union_calendar
from bot.ml.cv import Split
from bot.ml.dataset import build_dataset
from bot.ml.pipeline import SplitOutput
from bot.ml.walkforward import (
    WalkForwardResult,
    assemble_result,
    check_history,
    require_walk_forward,
    train_splits,
)

__all__ = [
    "ENV_DIR",
    "PredictionCache",
    "cache_key",
    "code_fingerprint",
    "open_cache",
    "walk_forward",
]

ENV_DIR = "MP_CACHE_DIR"
FORMAT = "mp-walk-forward-v1"
MAGIC = b"MPCACHE1\n"
SUFFIX = ".mpc"
LIBRARIES = ("numpy", "pandas", "scikit-learn", "scipy", "xgboost-cpu", "xgboost")
_PKG = Path(__file__).resolve().parents[1]  # the bot package
CODE_PATHS = ("ml", "features", "data/schema.py")  # what builds datasets and trains models


def walk_forward(bars: Mapping[str, pd.DataFrame], cfg: Config, use_cache: bool = True) -> WalkForwardResult:
    """Return ``run_walk_forward(bars, cfg)``, reusing the cached training outputs when the key matches."""
    require_walk_forward(cfg)
    check_history(bars, cfg)
    cache = open_cache(cfg) if use_cache else None
    key = cache_key(bars, cfg) if cache else ""
    found = cache.load(key) if cache else None
    if cache is not None and found is not None:
        outputs, names = found
        logger.info(
            f"prediction cache: reusing walk-forward predictions {key[:12]} ({len(outputs)} folds) "
            f"from {cache.root}; no model trained"
        )
    else:
        ds = build_dataset(bars, cfg)
        outputs, names = train_splits(ds, cfg), ds.names
        if cache:
            cache.store(key, outputs, names)
    return assemble_result(outputs, union_calendar(bars), names, cfg, bars)


def open_cache(cfg: Config) -> PredictionCache | None:
    """Return the configured cache (``$MP_CACHE_DIR`` over ``cache.dir``), or None when disabled."""
    if not cfg.cache.enabled:
        return None
    root = Path(os.environ.get(ENV_DIR) or cfg.cache.dir)
    return PredictionCache(root, int(cfg.cache.max_size_mb * 1024 * 1024))


# ----- the key -------------------------------------------------------------------------------


def cache_key(bars: Mapping[str, pd.DataFrame], cfg: Config) -> str:
    """Return the hex SHA-256 of everything that determines the walk-forward training outputs."""
    validation = cfg.validation.model_dump(mode="json")
    validation.pop("n_jobs")
    material = {
        "format": FORMAT,
        "bars": [[sym, symbol_hash(df)] for sym, df in bars.items()],
        "seed": cfg.seed,
        "data": cfg.data.model_dump(mode="json"),
        "model": cfg.model.model_dump(mode="json"),
        "validation": validation,
        "code": code_fingerprint(tuple(cfg.model.feature_modules)),
    }
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def code_fingerprint(feature_modules: tuple[str, ...] = ()) -> str:
    """Return a hash of the training code, the users' feature modules and the numeric libraries' versions."""
    h = hashlib.sha256(_package_hash().encode())
    for spec in feature_modules:
        h.update(f"\x00module:{spec}\x00".encode())
        for path in _module_files(spec):
            h.update(path.name.encode() + b"\x00" + path.read_bytes())
    return h.hexdigest()


@lru_cache(maxsize=1)
def _package_hash() -> str:
    h = hashlib.sha256(f"python {sys.version_info[0]}.{sys.version_info[1]}".encode())
    for lib in LIBRARIES:
        try:
            h.update(f"\x00{lib} {importlib.metadata.version(lib)}".encode())
        except importlib.metadata.PackageNotFoundError:
            h.update(f"\x00{lib} -".encode())
    for rel in CODE_PATHS:
        target = _PKG / rel
        files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
        for path in files:
            h.update(f"\x00{path.relative_to(_PKG).as_posix()}\x00".encode() + path.read_bytes())
    return h.hexdigest()


def _module_files(spec: str) -> list[Path]:
    """Return the source files of a feature module: the .py path itself, or the module's (package's) files."""
    if spec.endswith(".py"):
        return [p for p in (Path(spec),) if p.is_file()]
    try:
        found = importlib.util.find_spec(spec)
    except (ImportError, ValueError):
        return []
    origin = Path(found.origin) if found and found.origin else None
    if origin is None or not origin.is_file():
        return []
    return sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]


# ----- the store ------------------------------------------------------------------------------


class CacheEntryError(Exception):
    """An entry that must not be trusted (the message says why)."""


@dataclass(frozen=True)
class PredictionCache:
    """A folder of ``<key>.mpc`` entries holding at most ``max_bytes``."""

    root: Path
    max_bytes: int

    def path(self, key: str) -> Path:
        return self.root / f"{key}{SUFFIX}"

    def load(self, key: str) -> tuple[list[SplitOutput], list[str]] | None:
        """Return the entry's (outputs, feature names), or None when absent or untrustworthy (warned)."""
        path = self.path(key)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            logger.warning(f"prediction cache: cannot read {path} ({e}); training again")
            return None
        try:
            found = decode_entry(blob, key)
        except CacheEntryError as e:
            logger.warning(f"prediction cache: ignoring {path}: {e}; training again")
            return None
        try:
            os.utime(path)  # least recently used goes first
        except OSError:
            pass
        return found

    def store(self, key: str, outputs: list[SplitOutput], names: list[str]) -> None:
        """Write the entry atomically, then evict the least recently used beyond ``max_bytes``."""
        try:
            data = encode_entry(key, outputs, names)
            self.root.mkdir(parents=True, exist_ok=True)
            _write_atomically(self.path(key), data)
            self.evict(keep=key)
        except (OSError, ValueError, TypeError) as e:  # pyarrow's errors derive from these
            logger.warning(f"prediction cache: cannot write to {self.root} ({e}); the run goes on uncached")

    def entries(self) -> list[Path]:
        """Return the entries, least recently used first."""
        files = [p for p in self.root.glob(f"*{SUFFIX}") if p.is_file()]
        return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))

    def evict(self, keep: str | None = None) -> None:
        """Delete the least recently used entries until the folder holds at most ``max_bytes``."""
        files = self.entries()
        total = sum(p.stat().st_size for p in files)
        newest = self.path(keep) if keep else None
        for p in [f for f in files if f != newest] + ([newest] if newest in files else []):
            if total <= self.max_bytes:
                break
            total -= p.stat().st_size
            p.unlink(missing_ok=True)
            logger.debug(f"prediction cache: evicted {p.name}")


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem[:12]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ----- the entry format -----------------------------------------------------------------------


def encode_entry(key: str, outputs: list[SplitOutput], names: list[str]) -> bytes:
    """Return the bytes of one entry: magic, JSON header, .npz payload."""
    meta = {
        "format": FORMAT,
        "key": key,
        "names": list(names),
        "splits": [_split_meta(o) for o in outputs],
    }
    rows = pd.concat([o.rows for o in outputs], ignore_index=True) if outputs else pd.DataFrame()
    parquet = io.BytesIO()
    rows.to_parquet(parquet, index=False)
    width = len(names)
    importance = np.vstack([o.importance for o in outputs]) if outputs else np.zeros((0, width))
    support = (
        np.vstack([o.support if o.support is not None else np.zeros(width, bool) for o in outputs])
        if outputs
        else np.zeros((0, width), bool)
    )
    buf = io.BytesIO()
    np.savez(
        buf,
        meta=_bytes_array(json.dumps(meta).encode()),
        rows=_bytes_array(parquet.getvalue()),
        importance=importance.astype(np.float64),
        support=support.astype(bool),
    )
    payload = buf.getvalue()
    header = {
        "format": FORMAT,
        "key": key,
        "size": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    return MAGIC + json.dumps(header).encode() + b"\n" + payload


def decode_entry(blob: bytes, key: str) -> tuple[list[SplitOutput], list[str]]:
    """Return (outputs, names) from an entry's bytes; raise CacheEntryError unless it is intact and ``key``'s."""
    payload = _verified_payload(blob, key)
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes())
            rows = pd.read_parquet(io.BytesIO(z["rows"].tobytes()))
            importance, support = z["importance"], z["support"]
    except (ValueError, KeyError, OSError) as e:
        raise CacheEntryError(f"unreadable payload ({type(e).__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("key") != key:
        raise CacheEntryError("its metadata names another key or format")
    try:
        return _outputs(meta, rows, importance, support), list(meta["names"])
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise CacheEntryError(f"inconsistent metadata ({type(e).__name__})") from None


def _verified_payload(blob: bytes, key: str) -> bytes:
    if not blob.startswith(MAGIC):
        raise CacheEntryError("not a prediction cache entry")
    end = blob.find(b"\n", len(MAGIC))
    try:
        header = json.loads(blob[len(MAGIC) : end]) if end > 0 else None
    except ValueError:
        header = None
    if not isinstance(header, dict):
        raise CacheEntryError("unreadable header")
    if header.get("format") != FORMAT:
        raise CacheEntryError(f"format {header.get('format')!r}, expected {FORMAT!r}")
    if header.get("key") != key:
        raise CacheEntryError(f"written for key {str(header.get('key'))[:12]}, not {key[:12]}")
    payload = blob[end + 1 :]
    if len(payload) != header.get("size"):
        raise CacheEntryError(f"truncated ({len(payload)} of {header.get('size')} payload bytes)")
    if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        raise CacheEntryError("checksum mismatch")
    return payload


def _split_meta(o: SplitOutput) -> dict:
    s = o.split
    return {
        "index": s.index,
        "train": list(s.train),
        "test": [list(t) for t in s.test],
        "groups": list(s.groups),
        "n_train": o.n_train,
        "n_rows": len(o.rows),
        "has_support": o.support is not None,
    }


def _outputs(meta: dict, rows: pd.DataFrame, importance: np.ndarray, support: np.ndarray) -> list[SplitOutput]:
    splits = meta["splits"]
    if sum(m["n_rows"] for m in splits) != len(rows) or len(importance) != len(splits) or len(support) != len(splits):
        raise CacheEntryError("row or fold counts disagree with its metadata")
    out, start = [], 0
    for i, m in enumerate(splits):
        split = Split(
            int(m["index"]),
            (m["train"][0], m["train"][1]),
            tuple((a, b) for a, b in m["test"]),
            tuple(m["groups"]),
        )
        part = rows.iloc[start : start + m["n_rows"]].reset_index(drop=True)
        start += m["n_rows"]
        out.append(
            SplitOutput(
                split,
                part,
                int(m["n_train"]),
                importance[i].copy(),
                support[i].copy() if m["has_support"] else None,
            )
        )
    return out


def _bytes_array(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.uint8)
