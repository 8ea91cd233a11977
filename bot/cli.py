"""Shared command-line plumbing: --config/--set parsing, logging, and one-line errors for user mistakes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from loguru import logger

from bot import progress
from bot.errors import UserError, without_credentials

if TYPE_CHECKING:
    from loguru import Record  # defined in loguru's stubs only

_INVOKED_AS: ContextVar[str | None] = ContextVar("invoked_as", default=None)


@contextmanager
def invoked_as(prog: str) -> Iterator[None]:
    """Name the running command ``prog`` in usage and help (``market-predictor backtest``)."""
    token = _INVOKED_AS.set(prog)
    try:
        yield
    finally:
        _INVOKED_AS.reset(token)


def program(default: str) -> str:
    """Return the name the command runs as: ``default`` unless :func:`invoked_as` says otherwise."""
    return _INVOKED_AS.get() or default


def base_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """Return a parser with the options every entry point shares."""
    p = argparse.ArgumentParser(prog=program(prog), description=description)
    p.add_argument("--config", required=True, help="YAML config file")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key (dotted path, value parsed as YAML); repeatable",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    return p


def mask_record(record: Record) -> None:
    """Mask URL credentials in a loguru record's message (a patcher: every sink sees the masked text)."""
    record["message"] = without_credentials(record["message"])


def _stderr_masked(message: str) -> None:
    # tracebacks (and their variable values) masked too; written above any progress bar
    progress.write(without_credentials(message))


def setup_logging(quiet: bool = False, verbose: bool = False) -> None:
    """Log to stderr through loguru at the chosen level; credentials in URLs are masked in every record.

    ``quiet`` also turns progress bars off (:mod:`bot.progress`).
    """
    progress.set_quiet(quiet)
    logger.remove()
    logger.configure(patcher=mask_record)
    level = "WARNING" if quiet else ("DEBUG" if verbose else "INFO")
    logger.add(
        _stderr_masked,
        level=level,
        colorize=sys.stderr.isatty(),
        format="<green>{time:HH:mm:ss}</green> <level>{level: <7}</level> {message}",
    )


def run_cli(main: Callable[[], int]) -> int:
    """Run ``main``; turn user errors into one line on stderr and their exit code, without a traceback."""
    try:
        return main()
    except UserError as e:
        print(without_credentials(e.line()), file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception:  # a bug: the usual traceback and exit 1, but no password of a URL in it
        import traceback

        print(without_credentials(traceback.format_exc()), end="", file=sys.stderr)
        return 1
