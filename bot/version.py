"""The running code's version: the package version plus the git commit when run from a checkout."""

from __future__ import annotations

import subprocess
from pathlib import Path

import bot


def code_version() -> str:
    """Return the package version plus the git commit when run from a checkout."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return f"{bot.__version__}+g{rev}" if rev else bot.__version__
