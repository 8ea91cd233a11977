"""Read one OHLCV CSV file strictly: every problem is a DataError naming file, line and date."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bot.data.schema import OPTIONAL_COLUMNS, PRICE_COLUMNS, REQUIRED_COLUMNS, finalize
from bot.errors import ConfigError, DataError

DATE_COLUMNS: tuple[str, ...] = ("timestamp", "date", "datetime")
HEADER_LINE = 1


@dataclass(frozen=True)
class Problem:
    """One problem found in a file: 1-based line and a one-line description."""

    line: int
    what: str


def symbol_file(folder: str | Path, symbol: str, suffix: str = ".csv") -> Path:
    """Return the file for ``symbol`` in ``folder`` (BTC/USDT -> BTC_USDT.csv)."""
    return Path(folder) / f"{symbol.replace('/', '_')}{suffix}"


def check_folder(folder: str | Path | None, where: str = "data.path") -> Path:
    """Return ``folder`` as a Path, or raise ConfigError when it is not a folder."""
    if folder is None:
        raise ConfigError(where, "no data folder given")
    path = Path(folder)
    if not path.is_dir():
        raise ConfigError(where, f"folder not found: {folder}")
    return path


def resolve_symbol_file(folder: Path, symbol: str, suffix: str = ".csv") -> Path:
    """Return the file for ``symbol``, or raise ConfigError listing what is available."""
    path = symbol_file(folder, symbol, suffix)
    if not path.is_file():
        avail = sorted(p.stem for p in folder.glob(f"*{suffix}"))
        raise ConfigError(
            "data.symbols",
            f"unknown symbol '{symbol}': no {path.name} in {folder} (available: {', '.join(avail) or 'none'})",
        )
    return path


def _normalise_header(columns: pd.Index) -> list[str]:
    return [str(c).strip().lower().replace(" ", "_") for c in columns]


def _read_raw(path: Path) -> pd.DataFrame:
    """Read the file with the C parser (numbers as floats, text kept); index = 1-based line."""
    try:
        raw = pd.read_csv(path, skip_blank_lines=False)
    except pd.errors.EmptyDataError as e:
        raise DataError(f"{path}:{HEADER_LINE}", "file is empty (expected a header line)") from e
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        msg = " ".join(str(e).split())
        raise DataError(f"{path}:{HEADER_LINE}", f"not a valid CSV file: {msg}") from e
    raw.columns = _normalise_header(raw.columns)
    raw.index = np.arange(len(raw)) + HEADER_LINE + 1
    return raw.loc[~raw.isna().all(axis=1).to_numpy()]


def _numbers(raw: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Return ``cols`` as floats; text that is not a number becomes NaN."""
    out = {}
    for c in cols:
        col = raw[c]
        if pd.api.types.is_numeric_dtype(col):
            out[c] = col.astype("float64")
        else:
            out[c] = pd.to_numeric(col.astype("string").str.strip(), errors="coerce").astype("float64")
    return pd.DataFrame(out, index=raw.index)


def _date_column(path: Path, raw: pd.DataFrame) -> str:
    for name in DATE_COLUMNS:
        if name in raw.columns:
            return name
    raise DataError(
        f"{path}:{HEADER_LINE}",
        f"missing required column 'date' or 'timestamp' (header: {', '.join(raw.columns)})",
    )


def _check_columns(path: Path, raw: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(
            f"{path}:{HEADER_LINE}",
            f"missing required column {', '.join(repr(c) for c in missing)} (header: {', '.join(raw.columns)})",
        )


def _parse_dates(stripped: pd.Series) -> pd.DatetimeIndex:
    """Parse ISO 8601 text (or epoch seconds/milliseconds); NaT where it cannot."""
    if len(stripped) and stripped.iloc[0].isdigit() and stripped.str.fullmatch(r"\d{9,13}").all():
        unit = "ms" if stripped.str.len().max() >= 12 else "s"
        return pd.DatetimeIndex(pd.to_datetime(stripped.astype("int64"), unit=unit, utc=True))
    parsed = pd.to_datetime(stripped, format="ISO8601", utc=True, errors="coerce")
    return pd.DatetimeIndex(parsed)


def _first(mask: pd.Series | np.ndarray) -> int | None:
    hits = np.flatnonzero(np.asarray(mask))
    return None if hits.size == 0 else int(hits[0])


def _value_problems(raw: pd.DataFrame, values: pd.DataFrame, dates: pd.Series) -> list[Problem]:
    lines = raw.index.to_numpy()
    out: list[Problem] = []
    prices = [c for c in (*PRICE_COLUMNS, *OPTIONAL_COLUMNS) if c in values.columns]
    for col in [*prices, "volume"]:
        v = values[col]
        i = _first(v.isna())
        if i is not None:
            text = raw[col].iloc[i]
            blank = not isinstance(text, str) or not text.strip()
            what = f"{col} is missing" if blank else f"{col} is not a number ({text!r})"
            out.append(Problem(int(lines[i]), f"{dates.iloc[i]}: {what}"))
        bad = (v <= 0) if col != "volume" else (v < 0)
        i = _first(bad)
        if i is not None:
            sign = "not positive" if col != "volume" else "negative"
            out.append(Problem(int(lines[i]), f"{dates.iloc[i]}: {col} is {sign} ({v.iloc[i]:g})"))
    i = _first(values["high"] < values["low"])
    if i is not None:
        hi, lo = values["high"].iloc[i], values["low"].iloc[i]
        out.append(Problem(int(lines[i]), f"{dates.iloc[i]}: high < low (high={hi:g}, low={lo:g})"))
    return out


def _order_problems(ts: pd.DatetimeIndex, raw: pd.DataFrame, dates: pd.Series) -> list[Problem]:
    lines = raw.index.to_numpy()
    out: list[Problem] = []
    dup = ts.duplicated(keep="first")
    i = _first(dup)
    if i is not None:
        first = int(lines[np.flatnonzero(ts == ts[i])[0]])
        out.append(Problem(int(lines[i]), f"{dates.iloc[i]}: duplicate timestamp (first at line {first})"))
    back = np.zeros(len(ts), dtype=bool)
    if len(ts) > 1:
        back[1:] = ts[1:] < ts[:-1]
    i = _first(back)
    if i is not None:
        out.append(
            Problem(
                int(lines[i]),
                f"{dates.iloc[i]}: timestamps not sorted (earlier than {dates.iloc[i - 1]} "
                f"on line {int(lines[i - 1])})",
            )
        )
    return out


def read_csv_bars(path: str | Path, strict: bool = True) -> pd.DataFrame:
    """Read one OHLCV CSV into the bar schema; raise DataError on the first bad line.

    With ``strict=False`` only structural problems raise (no header, missing column,
    unparseable date); bad values and order are kept for ``validate_bars`` to judge.
    """
    path = Path(path)
    raw = _read_raw(path)
    date_col = _date_column(path, raw)
    _check_columns(path, raw)
    dates = raw[date_col].astype("string").fillna("").str.strip()
    ts = _parse_dates(dates)
    i = _first(ts.isna())
    if i is not None:
        raise DataError(f"{path}:{raw.index[i]}", f"unparseable date {dates.iloc[i]!r}")
    cols = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in raw.columns]
    values = _numbers(raw, cols)
    problems = _value_problems(raw, values, dates) + _order_problems(ts, raw, dates) if strict else []
    if problems:
        worst = min(problems, key=lambda p: p.line)
        raise DataError(f"{path}:{worst.line}", worst.what)
    values.index = ts
    frame = finalize(values)
    frame.attrs["source"] = str(path)
    return frame
