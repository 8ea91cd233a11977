"""Every load-time data problem and config problem has a failing fixture."""

from __future__ import annotations

import pytest

from bot.data import load_bars
from bot.errors import ConfigError, DataError

GOOD = [
    "2020-01-02,10,11,9,10.5,1000",
    "2020-01-03,10.5,12,10,11,1500.5",
    "2020-01-06,11,11.5,10.2,10.4,900",
]


def _load(folder, symbol="T"):
    return load_bars("csv", [symbol], path=str(folder))


def _data_error(folder, symbol="T") -> DataError:
    with pytest.raises(DataError) as info:
        _load(folder, symbol)
    err = info.value
    assert "\n" not in str(err)
    return err


def test_good_fixture_loads(write_csv):
    frame = _load(write_csv("T", GOOD))["T"]
    assert len(frame) == 3
    assert frame["volume"].iloc[1] == 1500.5


def test_missing_folder_is_config_error(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError) as info:
        _load(missing)
    assert info.value.where == "data.path"
    assert info.value.what == f"folder not found: {missing}"


def test_unknown_symbol_lists_available(write_csv):
    folder = write_csv("A", GOOD)
    write_csv("B", GOOD)
    with pytest.raises(ConfigError) as info:
        _load(folder, "XYZ")
    assert info.value.where == "data.symbols"
    assert info.value.what == f"unknown symbol 'XYZ': no XYZ.csv in {folder} (available: A, B)"


def test_unknown_source_is_config_error(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_bars("parquet-typo", ["A"], path=str(tmp_path))
    assert info.value.where == "data.source"


def test_unknown_timeframe_is_config_error(write_csv):
    with pytest.raises(ConfigError) as info:
        load_bars("csv", ["T"], timeframe="1x", path=str(write_csv("T", GOOD)))
    assert info.value.where == "data.timeframe"


def test_unparseable_date(write_csv):
    rows = [GOOD[0], "2020-01-3x,10.5,12,10,11,1500", GOOD[2]]
    err = _data_error(write_csv("T", rows))
    assert err.where.endswith("T.csv:3")
    assert "unparseable date '2020-01-3x'" in err.what


def test_missing_required_column_is_named(write_csv):
    rows = ["2020-01-02,10,11,10.5,1000"]
    err = _data_error(write_csv("T", rows, header="date,open,high,close,volume"))
    assert err.where.endswith("T.csv:1")
    assert "'low'" in err.what


def test_missing_date_column(write_csv):
    err = _data_error(write_csv("T", ["10,11,9,10.5,1000"], header="open,high,low,close,volume"))
    assert err.where.endswith("T.csv:1")
    assert "date" in err.what and "timestamp" in err.what


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("2020-01-03,10.5,12,10,,1500", "2020-01-03: close is missing"),
        ("2020-01-03,10.5,12,10,NaN,1500", "2020-01-03: close is"),
        ("2020-01-03,10.5,12,abc,11,1500", "2020-01-03: low is not a number ('abc')"),
        ("2020-01-03,0,12,10,11,1500", "2020-01-03: open is not positive (0)"),
        ("2020-01-03,10.5,12,-1,11,1500", "2020-01-03: low is not positive (-1)"),
        ("2020-01-03,10.5,12,10,11,-5", "2020-01-03: volume is negative (-5)"),
        ("2020-01-03,1.5,1,2,1.5,1500", "2020-01-03: high < low (high=1, low=2)"),
    ],
)
def test_bad_values_name_line_and_date(write_csv, row, expected):
    err = _data_error(write_csv("T", [GOOD[0], row, GOOD[2]]))
    assert err.where.endswith("T.csv:3")
    assert err.what.startswith(expected)


def test_nan_adj_close_is_an_error(write_csv):
    rows = ["2020-01-02,10,11,9,10.5,1000,10.1", "2020-01-03,10.5,12,10,11,1500,"]
    err = _data_error(write_csv("T", rows, header="date,open,high,low,close,volume,adj_close"))
    assert err.where.endswith("T.csv:3")
    assert "adj_close is missing" in err.what


def test_duplicate_timestamp_names_second_occurrence(write_csv):
    rows = [GOOD[0], GOOD[1], "2020-01-03,10.4,11,10,10.6,800", GOOD[2]]
    err = _data_error(write_csv("T", rows))
    assert err.where.endswith("T.csv:4")
    assert err.what == "2020-01-03: duplicate timestamp (first at line 3)"


def test_unsorted_timestamps(write_csv):
    rows = [GOOD[1], GOOD[0], GOOD[2]]
    err = _data_error(write_csv("T", rows))
    assert err.where.endswith("T.csv:3")
    assert err.what.startswith("2020-01-02: timestamps not sorted")


def test_first_problem_in_file_wins(write_csv):
    rows = [GOOD[0], "2020-01-03,1.5,1,2,1.5,1500", "2020-01-06,0,11.5,10.2,10.4,900"]
    err = _data_error(write_csv("T", rows))
    assert err.where.endswith("T.csv:3")


def test_blank_lines_do_not_shift_line_numbers(write_csv):
    rows = [GOOD[0], "", GOOD[1], "2020-01-07,1.5,1,2,1.5,1500"]
    err = _data_error(write_csv("T", rows))
    assert err.where.endswith("T.csv:5")


def test_empty_file(tmp_path):
    (tmp_path / "T.csv").write_text("")
    err = _data_error(tmp_path)
    assert err.where.endswith("T.csv:1")


def test_error_line_is_cli_ready(write_csv):
    err = _data_error(write_csv("T", [GOOD[0], "2020-01-03,1.5,1,2,1.5,1500"]))
    assert err.line().startswith("data error: ")
    assert err.line().endswith("T.csv:3: 2020-01-03: high < low (high=1, low=2)")
