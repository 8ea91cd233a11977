"""``market-predictor``: one command with a subcommand per job (``--help`` lists them).

    market-predictor backtest --config config/backtest/quickstart.yaml
    market-predictor research evaluate --config config/backtest/ml_daily.yaml
    market-predictor <command> --help

Each subcommand is the ``main(argv)`` of an existing entry point, imported only when it runs, so
``run_backtest.py``, ``run_live.py`` and ``python -m bot.<x>`` keep working and mean the same.
Adding a subcommand is one :data:`COMMANDS` entry. A command whose module is not there is left
out of the listing and, when asked for, is one line and exit 2, like an unknown command.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot import __version__
from bot.cli import invoked_as

PROG = "market-predictor"
EXIT_USAGE = 2
ROOT = Path(__file__).resolve().parents[1]  # holds bot/, and run_backtest.py in a checkout


@dataclass(frozen=True)
class Command:
    """A subcommand: its words, the ``module:function`` taking ``argv``, a one-line description."""

    name: str
    target: str
    help: str
    lead: tuple[str, ...] = ()  # words put before the user's arguments (bot.live's "report")

    @property
    def module(self) -> str:
        return self.target.partition(":")[0]

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.name.split())


C = Command
COMMANDS: tuple[Command, ...] = (
    C("backtest", "run_backtest:main", "walk-forward backtest of a config; writes a run folder"),
    C("live", "run_live:main", "trade a config on paper or live with the backtest's strategy"),
    C("live report", "bot.live.__main__:main", "run folder and tear sheet from a journal", ("report",)),
    C("live audit", "bot.live.__main__:audit_main", "compare a live journal with its venue"),
    C("data", "bot.data.cli:main", "download bars into the Parquet cache; verify a data hash"),
    C("models", "bot.models.cli:main", "list, show, promote and roll back registered models"),
    C("retrain", "bot.retrain.cli:main", "gated retraining: promote the challenger only if it wins"),
    C("drift", "bot.drift.cli:main", "data, prediction and performance drift between two periods"),
    C("report", "bot.report.__main__:main", "rebuild a run's tear sheet, or compare runs"),
    C("research evaluate", "bot.research.evaluate:main", "out-of-sample evaluation of the ML signal"),
    C("research tune", "bot.research.tune:main", "tune model.params with Optuna on walk-forward CV"),
    C("research optimize", "bot.research.optimize:main", "search the config's optimize.space"),
    C("research sweep", "bot.research.sweep:main", "run a config over a grid of settings"),
    C("features", "bot.features.check:main", "feature tools: check a module's features for look-ahead"),
)


def available(cmd: Command) -> bool:
    """Return whether ``cmd``'s module is there, without importing anything (help stays fast)."""
    parts = cmd.module.split(".")
    if parts[0] in {"bot", "run_backtest", "run_live"}:
        base = ROOT.joinpath(*parts)
        if base.with_suffix(".py").is_file() or (base / "__init__.py").is_file():
            return True
    try:
        return importlib.util.find_spec(cmd.module) is not None  # installed elsewhere
    except ImportError:  # a parent package is missing
        return False


def _load(cmd: Command) -> Callable[[list[str]], int]:
    module, _, func = cmd.target.partition(":")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        script = ROOT / f"{module}.py"
        if e.name != module or not script.is_file():
            raise
        mod = _load_script(module, script)  # run_backtest.py of a checkout not on sys.path
    return getattr(mod, func)


def _load_script(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path} as module {name!r}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _listing(commands: Sequence[Command]) -> list[str]:
    width = max((len(c.name) for c in commands), default=0)
    return [f"  {c.name:<{width}}  {c.help}" for c in commands]


def help_text(commands: Sequence[Command] = COMMANDS) -> str:
    """Return the top-level help: usage and one line per available subcommand."""
    return "\n".join(
        [
            f"usage: {PROG} <command> [options]",
            "",
            "Market Predictor: walk-forward ML signals, backtested and traded live.",
            "",
            "commands:",
            *_listing([c for c in commands if available(c)]),
            "",
            f"'{PROG} <command> --help' shows a command's options; most take --config FILE,",
            "--set KEY=VALUE (repeatable), -q (warnings only, no progress bars) and -v (debug).",
            "Exit codes: 0 ok, 1 a failed check or a bug, 2 config or usage error, 3 data error,",
            "4 venue error.",
        ]
    )


def group_help(word: str, commands: Sequence[Command] = COMMANDS) -> str:
    """Return the help of a group of subcommands (``market-predictor research``)."""
    group = [c for c in commands if c.words[0] == word and len(c.words) > 1 and available(c)]
    return "\n".join([f"usage: {PROG} {word} <command> [options]", "", "commands:", *_listing(group)])


def resolve(argv: Sequence[str], commands: Sequence[Command] = COMMANDS) -> Command | None:
    """Return the command whose words begin ``argv`` (the longest such), or None."""
    found = [c for c in commands if tuple(argv[: len(c.words)]) == c.words]
    return max(found, key=lambda c: len(c.words), default=None)


def _unknown(argv: Sequence[str], commands: Sequence[Command]) -> int:
    """Say on one line (or in a group's help) why ``argv`` names no command; return the code."""
    shown = [c for c in commands if available(c)]
    word = argv[0]
    subs = sorted(" ".join(c.words[1:]) for c in shown if c.words[0] == word and len(c.words) > 1)
    if subs and argv[1:2] in ([], ["-h"], ["--help"]):
        print(group_help(word, commands), file=sys.stdout if argv[1:] else sys.stderr)
        return 0 if argv[1:] else EXIT_USAGE
    if subs:
        close = difflib.get_close_matches(argv[1], subs, n=1)
        hint = f" (did you mean '{word} {close[0]}'?)" if close else ""
        print(f"{PROG}: unknown command '{word} {argv[1]}'{hint}; choose from {', '.join(subs)}", file=sys.stderr)
        return EXIT_USAGE
    close = difflib.get_close_matches(word, sorted({c.words[0] for c in shown}), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    print(f"{PROG}: unknown command '{word}'{hint}; '{PROG} --help' lists the commands", file=sys.stderr)
    return EXIT_USAGE


def run(cmd: Command, argv: list[str]) -> int:
    """Run ``cmd``'s entry point on ``argv``, named ``market-predictor <cmd>`` in its help."""

    if not available(cmd):
        print(f"{PROG}: '{cmd.name}' is not available here (no module {cmd.module})", file=sys.stderr)
        return EXIT_USAGE
    with invoked_as(f"{PROG} {cmd.name}"):
        return _load(cmd)([*cmd.lead, *argv])


def main(argv: Sequence[str] | None = None, commands: Sequence[Command] = COMMANDS) -> int:
    """Run ``market-predictor``; return the exit code (argparse's too: ``--help`` is 0)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["-h"], ["--help"]):
        print(help_text(commands))
        return 0
    if argv[:1] == ["--version"]:
        print(f"{PROG} {__version__}")
        return 0
    if not argv:
        print(help_text(commands), file=sys.stderr)
        return EXIT_USAGE
    cmd = resolve(argv, commands)
    if cmd is None:
        return _unknown(argv, commands)
    try:
        return run(cmd, argv[len(cmd.words) :])
    except SystemExit as e:  # argparse: --help (0) and usage errors (2)
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)


if __name__ == "__main__":
    sys.exit(main())
