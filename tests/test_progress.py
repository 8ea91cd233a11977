"""Progress bars: drawn only on a terminal and without -q; log lines written during a bar stay whole."""

from __future__ import annotations

import io
import re
import sys

import pytest
from loguru import logger

from bot import progress as prog
from bot.cli import setup_logging

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal(io.StringIO):
    """A text stream that says it is a terminal (what tqdm and isatty checks see on a console)."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def not_quiet():
    prog.set_quiet(False)
    yield
    prog.set_quiet(False)


def test_a_terminal_gets_a_bar_that_counts_to_the_total_and_is_cleared_at_the_end() -> None:
    term = Terminal()
    with prog.progress(3, desc="folds", stream=term) as bar:
        for _ in range(3):
            bar.update()
    assert bar.n == 3
    text = ANSI.sub("", term.getvalue())
    assert text.startswith("\rfolds:   0%|") and "0/3" in text  # redrawn at most 10 times a second
    assert text.endswith("\r") and text.split("\r")[-2].strip() == ""  # the bar is wiped when done


def test_track_yields_every_item_and_counts_them() -> None:
    term = Terminal()
    assert list(prog.track(range(4), desc="trials", stream=term)) == [0, 1, 2, 3]
    assert "trials:   0%|" in term.getvalue() and "0/4" in term.getvalue()  # total from len()


def test_no_bar_when_the_stream_is_not_a_terminal() -> None:
    stream = io.StringIO()
    with prog.progress(5, desc="folds", stream=stream) as bar:
        bar.update(5)
    assert list(prog.track([1, 2], stream=stream)) == [1, 2]
    assert stream.getvalue() == ""


def test_no_bar_when_quiet() -> None:
    term = Terminal()
    prog.set_quiet(True)
    with prog.progress(2, desc="folds", stream=term) as bar:
        bar.update(2)
    assert term.getvalue() == "" and not prog.enabled(term)


def test_setup_logging_quiet_turns_bars_off(monkeypatch) -> None:
    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    setup_logging(quiet=True)
    assert not prog.enabled()
    setup_logging()
    assert prog.enabled()


def test_log_lines_during_a_bar_are_written_whole_above_it(monkeypatch) -> None:
    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    setup_logging()
    with prog.progress(4, desc="download") as bar:
        bar.update()
        logger.info("fold 1 of 4 trained")
        bar.update()
        logger.warning("second line")
        bar.update(2)
    logger.remove()
    lines = [line.split("\r")[-1] for line in ANSI.sub("", term.getvalue()).split("\n")]
    assert any(re.fullmatch(r"\d\d:\d\d:\d\d INFO +fold 1 of 4 trained", s) for s in lines), lines
    assert any(re.fullmatch(r"\d\d:\d\d:\d\d WARNING second line", s) for s in lines), lines


def test_in_tests_stderr_is_no_terminal_so_nothing_is_drawn(capsys) -> None:
    with prog.progress(3, desc="folds") as bar:
        bar.update(3)
    assert capsys.readouterr().err == ""
