"""Import users' own code: a module by name, or a ``.py`` file by path, with one-line errors.

A file is imported under a stable module name derived from its resolved path
(``mp_plugin_<stem>_<hash>``) and registered in ``sys.modules``: importing it twice returns the
same module (and so the same classes), and its objects pickle by reference.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from bot.errors import ConfigError


def is_path(spec: str) -> bool:
    """Return True when ``spec`` names a file (``x.py`` or anything with a path separator)."""
    return spec.endswith(".py") or "/" in spec or "\\" in spec


def resolve_path(spec: str, base_dir: Path | None, where: str) -> Path:
    """Return the absolute file ``spec`` names: relative to ``base_dir`` if it is there, else to the cwd."""
    p = Path(spec).expanduser()
    candidates = [p] if p.is_absolute() else [*([base_dir / p] if base_dir else []), Path.cwd() / p]
    for c in candidates:
        if c.is_file():
            return c.resolve()
    raise ConfigError(where, f"file not found: {candidates[0]}")


def module_name_for(path: Path) -> str:
    """Return the stable module name a file is imported under."""
    digest = hashlib.sha1(str(path).encode("utf-8")).hexdigest()[:10]
    stem = "".join(c if c.isalnum() else "_" for c in path.stem)
    return f"mp_plugin_{stem}_{digest}"


def import_file(path: Path, where: str) -> ModuleType:
    """Import the file at the absolute ``path`` once; later calls return the same module."""
    name = module_name_for(path)
    if name in sys.modules:
        return sys.modules[name]
    if not path.is_file():
        raise ConfigError(where, f"file not found: {path}")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # not a file Python can import as a module
        raise ConfigError(where, f"cannot import {path}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # noqa: BLE001 - any failure in user code is one config error line
        del sys.modules[name]
        raise ConfigError(where, f"cannot import {path}: {one_line(e)}") from None
    return module


def import_module(name: str, where: str) -> ModuleType:
    """Import the module ``name`` (dotted); a failure is one config error line naming it."""
    try:
        return importlib.import_module(name)
    except Exception as e:  # noqa: BLE001 - ImportError, or an error raised by the module's own code
        raise ConfigError(where, f"cannot import module '{name}': {one_line(e)}") from None


def load_module(spec: str, where: str, base_dir: Path | None = None) -> ModuleType:
    """Import a module name or a ``.py`` path (relative to ``base_dir``, else the cwd)."""
    if is_path(spec):
        return import_file(resolve_path(spec, base_dir, where), where)
    return import_module(spec, where)


def one_line(e: BaseException) -> str:
    """Return ``Type: message`` on one line."""
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
