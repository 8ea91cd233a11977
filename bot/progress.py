"""Progress bars for long jobs (downloads, folds, trials), drawn only for a person at a terminal.

    with progress(total=len(chunks), desc="BTC/USDT") as bar:
        for chunk in chunks:
            ...
            bar.update()

    for split in track(splits, desc="walk_forward folds"):
        ...

A bar is drawn (with tqdm) only when its stream (stderr) is a terminal and logging is not quiet
(``-q``): in cron jobs, CI logs, pipes and tests nothing is written, and the log lines stay as they
were. While a bar is on screen, :func:`write` (the sink :func:`bot.cli.setup_logging` installs)
prints log lines above it, so a bar never cuts a log line in two.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any, TypeVar

T = TypeVar("T")

_state = {"quiet": False, "bars": 0}


def set_quiet(quiet: bool) -> None:
    """Draw no bar from now on when ``quiet`` (``-q``); called by :func:`bot.cli.setup_logging`."""
    _state["quiet"] = bool(quiet)


def enabled(stream: IO[str] | None = None) -> bool:
    """Return whether a bar would be drawn on ``stream`` (default stderr)."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return not _state["quiet"] and callable(isatty) and bool(isatty())


class _NoBar:
    """The bar of a run nobody watches: every call does nothing."""

    n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix_str(self, text: str) -> None:
        pass

    def set_description_str(self, text: str) -> None:
        pass


@contextmanager
def progress(total: int | None, desc: str = "", unit: str = "it", stream: IO[str] | None = None) -> Iterator[Any]:
    """Yield a bar of ``total`` steps (``bar.update(n=1)``); a do-nothing bar when none is drawn."""
    stream = sys.stderr if stream is None else stream
    if not enabled(stream):
        yield _NoBar()
        return
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit=unit, file=stream, leave=False, dynamic_ncols=True)
    _state["bars"] += 1
    try:
        yield bar
    finally:
        _state["bars"] -= 1
        bar.close()


def track(
    iterable: Iterable[T], total: int | None = None, desc: str = "", unit: str = "it", stream: IO[str] | None = None
) -> Iterator[T]:
    """Yield the items of ``iterable`` while a bar counts them (``total`` defaults to its ``len``)."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    with progress(total, desc, unit, stream) as bar:
        for item in iterable:
            yield item
            bar.update()


def write(text: str, stream: IO[str] | None = None) -> None:
    """Write ``text`` (a finished log line) to ``stream``, above any bar on screen."""
    stream = sys.stderr if stream is None else stream
    if _state["bars"]:
        from tqdm import tqdm

        tqdm.write(text, file=stream, end="")
    else:
        stream.write(text)
