"""The one round-trip builder: adds average, partial exits split, shorts pay (entry - exit), flips open the rest."""

import math

import pandas as pd

from bot.roundtrips import RoundTrips

T = pd.Timestamp("2024-01-02", tz="UTC")


def _day(n: int) -> pd.Timestamp:
    return T + pd.Timedelta(days=n)


def test_a_short_round_trip_earns_the_fall_and_pays_both_commissions():
    rt = RoundTrips()
    rt.fill("X", _day(0), "sell", 10, 100.0, 1.0, prob=0.7, reason="signal")
    rt.fill("X", _day(3), "buy", 10, 90.0, 0.9, reason="take_profit", opens=False)
    (t,) = rt.closed
    assert (t["side"], t["size"], t["entry_price"], t["exit_price"]) == ("short", 10, 100.0, 90.0)
    assert t["pnl"] == 100.0 and math.isclose(t["commission"], 1.9) and math.isclose(t["pnl_net"], 98.1)
    assert t["entry_prob"] == 0.7 and t["exit_reason"] == "take_profit" and not rt.open


def test_an_added_long_averages_and_a_partial_exit_closes_part_pro_rata():
    rt = RoundTrips()
    rt.fill("X", _day(0), "buy", 10, 100.0, 1.0)
    rt.fill("X", _day(1), "buy", 10, 110.0, 1.0)
    assert rt.open["X"].entry_price == 105.0 and rt.open["X"].size == 20
    rt.fill("X", _day(2), "sell", 5, 120.0, 0.5, opens=False)
    (t,) = rt.closed
    assert t["size"] == 5 and t["pnl"] == 75.0 and math.isclose(t["commission"], 0.5 + 0.5)
    assert rt.open["X"].size == 15 and math.isclose(rt.open["X"].commission, 1.5)


def test_a_fill_larger_than_the_trade_flips_only_when_it_may_open():
    rt = RoundTrips()
    rt.fill("X", _day(0), "buy", 10, 100.0, 2.0)
    rt.fill("X", _day(1), "sell", 30, 95.0, 3.0, reason="rebalance")
    assert rt.closed[0]["pnl"] == -50.0 and math.isclose(rt.closed[0]["commission"], 2.0 + 1.0)
    o = rt.open["X"]
    assert (o.side, o.size, o.entry_price) == ("short", 20, 95.0) and math.isclose(o.commission, 2.0)
    assert rt.fill("X", _day(2), "buy", 25, 90.0, 0.0, opens=False) == 5  # the excess matches nothing
    assert "X" not in rt.open and rt.closed[-1]["pnl"] == 100.0


def test_an_exit_with_no_trade_is_unmatched_and_opens_nothing():
    rt = RoundTrips()
    assert rt.fill("X", _day(0), "sell", 3, 10.0, 0.0, opens=False) == 3
    assert not rt.open and not rt.closed


def test_close_all_marks_a_short_at_the_close():
    rt = RoundTrips()
    rt.fill("X", _day(0), "sell", 4, 50.0, 0.2)
    rt.close_all("X", _day(5), 55.0, 0.22)
    (t,) = rt.closed
    assert t["side"] == "short" and t["pnl"] == -20.0 and t["exit_reason"] == "end" and not rt.open


def test_borrow_fees_go_to_the_open_short_and_split_pro_rata_on_a_partial_exit():
    rt = RoundTrips()
    assert not rt.charge("X", 1.0)  # nothing open
    rt.fill("X", _day(0), "sell", 10, 100.0, 1.0)
    assert rt.charge("X", 0.4) and rt.charge("X", 0.6)
    rt.fill("X", _day(2), "buy", 4, 90.0, 0.4, opens=False)
    (t,) = rt.closed
    assert math.isclose(t["borrow"], 0.4) and math.isclose(t["pnl_net"], 40.0 - (0.4 + 0.4) - 0.4)
    assert math.isclose(rt.open["X"].borrow, 0.6)
