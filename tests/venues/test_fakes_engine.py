"""Fill rules of the fake venues' engine, checked directly (no HTTP)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.fakes.bars import scripted_bars
from tests.fakes.engine import Engine, FakeOrder, Instrument, Rejection, fill_price, round_down

T0 = pd.Timestamp("2024-01-01", tz="UTC")
BAR = pd.Series({"open": 100.0, "high": 110.0, "low": 90.0, "close": 105.0})


def order(side: str, type: str, limit=None, stop=None) -> FakeOrder:
    return FakeOrder(1, "c", "X", side, 1.0, type, T0, limit, stop)


@pytest.mark.parametrize(
    ("side", "type", "limit", "stop", "expected"),
    [
        ("buy", "market", None, None, 100.0),
        ("buy", "limit", 101.0, None, 100.0),  # already through: fills at the open
        ("buy", "limit", 95.0, None, 95.0),  # touched by the low
        ("buy", "limit", 89.0, None, None),  # never reached
        ("sell", "limit", 99.0, None, 100.0),
        ("sell", "limit", 108.0, None, 108.0),
        ("sell", "limit", 111.0, None, None),
        ("buy", "stop", None, 99.0, 100.0),  # gap through the stop: the open
        ("buy", "stop", None, 105.0, 105.0),
        ("buy", "stop", None, 111.0, None),
        ("sell", "stop", None, 101.0, 100.0),
        ("sell", "stop", None, 95.0, 95.0),
        ("sell", "stop", None, 89.0, None),
    ],
)
def test_fill_price(side, type, limit, stop, expected) -> None:
    assert fill_price(order(side, type, limit, stop), BAR) == expected


def engine(rows, shortable=False, fee=0.0, cash=10_000.0, warmup=1) -> Engine:
    inst = Instrument("X", "X", "USD", scripted_bars(rows, freq="1h"), fee, True, 0.0, shortable)
    return Engine([inst], pd.Timedelta("1h"), warmup, {"USD": cash})


FLAT = (100.0, 101.0, 99.0, 100.0)


def test_market_order_waits_for_the_next_bar() -> None:
    eng = engine([FLAT, (102.0, 103.0, 101.0, 102.0), FLAT])
    o = eng.submit("c", "X", "buy", 2.0, "market")
    assert (o.status, eng.position("X")) == ("new", 0.0)
    eng.advance()
    assert (o.status, o.avg_price, eng.position("X"), eng.balances["USD"]) == (
        "filled",
        102.0,
        2.0,
        10_000.0 - 204.0,
    )


def test_fee_in_received_asset() -> None:
    eng = engine([FLAT, FLAT, FLAT], fee=0.01)
    eng.submit("b", "X", "buy", 10.0, "market")
    eng.advance()
    assert eng.position("X") == pytest.approx(9.9) and eng.balances["USD"] == 9000.0
    eng.submit("s", "X", "sell", 9.9, "market")
    eng.advance()
    assert eng.balances["USD"] == pytest.approx(9000.0 + 990.0 * 0.99)
    assert [(f.commission_asset, round(f.commission, 6)) for f in eng.fills] == [
        ("X", 0.1),
        ("USD", 9.9),
    ]


def test_bracket_legs_wait_for_the_bar_after_the_fill_and_stop_wins_ties() -> None:
    rows = [FLAT, (100.0, 120.0, 80.0, 100.0), (100.0, 120.0, 80.0, 100.0)]
    eng = engine(rows, shortable=True)
    parent = eng.submit("p", "X", "buy", 1.0, "market")
    tp, sl = eng.submit_bracket(parent, [("tp", "limit", 110.0), ("sl", "stop", 90.0)])
    eng.advance()  # parent fills at 100; this bar also spans both legs: they are not active yet
    assert (parent.status, tp.status, sl.status) == ("filled", "new", "new")
    eng.advance()  # both legs touched in one bar: the stop (pessimistic) fills
    assert (tp.status, sl.status, sl.avg_price) == ("canceled", "filled", 90.0)
    assert eng.position("X") == 0.0


def test_oco_and_cancel_of_a_leg_cancels_its_sibling() -> None:
    eng = engine([FLAT, FLAT], cash=0.0)
    eng.balances["X"] = 5.0
    a, b = eng.submit_oco("sell", "X", 5.0, [("a", "limit", 200.0), ("b", "stop", 50.0)])
    assert eng.reserved("X") == 5.0  # one list locks the amount once
    eng.cancel(a)
    assert (a.status, b.status, eng.reserved("X")) == ("canceled", "canceled", 0.0)
    with pytest.raises(Rejection):
        eng.cancel(a)


def test_funds_and_short_rules() -> None:
    eng = engine([FLAT, FLAT], cash=100.0)
    with pytest.raises(Rejection, match="insufficient"):
        eng.submit("big", "X", "buy", 2.0, "market")
    with pytest.raises(Rejection, match="insufficient"):
        eng.submit("short", "X", "sell", 1.0, "market")
    assert engine([FLAT, FLAT], shortable=True).submit("s", "X", "sell", 1.0, "market").is_open
    with pytest.raises(Rejection):
        eng.submit("bad", "X", "buy", 0.0, "market")


def test_partial_fill_splits_over_two_bars() -> None:
    eng = engine([FLAT, FLAT, FLAT])
    eng.partial_next = 1
    o = eng.submit("p", "X", "buy", 4.0, "market")
    eng.advance()
    assert (o.status, o.filled_qty) == ("partially_filled", 2.0)
    eng.advance()
    assert (o.status, o.filled_qty) == ("filled", 4.0)


def test_multi_symbol_calendars() -> None:
    day = scripted_bars([FLAT] * 3, start="2024-01-01", freq="1D")
    weekdays = day.drop(day.index[1])  # one symbol skips a day
    a = Instrument("A", "A", "USD", day)
    b = Instrument("B", "B", "USD", weekdays)
    eng = Engine([a, b], pd.Timedelta("1D"), 1, {"USD": 0.0})
    eng.advance()
    assert (len(eng.closed_bars("A")), len(eng.closed_bars("B"))) == (2, 1)
    eng.advance()
    assert (len(eng.closed_bars("A")), len(eng.closed_bars("B"))) == (3, 2)
    assert eng.remaining_bars() == 0


def test_round_down() -> None:
    assert round_down(0.123456, 0.001) == pytest.approx(0.123)
    assert round_down(3.0, 0.0) == 3.0


def test_split_fill_is_two_trades_in_one_bar_each_with_its_commission() -> None:
    eng = engine([FLAT, FLAT, FLAT], fee=0.01)
    eng.split_next = 1
    buy = eng.submit("b", "X", "buy", 4.0, "market")
    eng.advance()
    assert buy.status == "filled" and buy.avg_price == pytest.approx(100.05)
    assert [(f.qty, f.price, f.commission) for f in eng.fills] == [
        (2.0, 100.0, pytest.approx(0.02)),  # fee in the asset received (a buy: X)
        (2.0, pytest.approx(100.1), pytest.approx(0.02)),
    ]
    eng.split_next = 1
    eng.submit("s", "X", "sell", 3.0, "market")
    eng.advance()
    assert [round(f.price, 6) for f in eng.fills[2:]] == [100.0, 99.9]  # worse for the seller


def test_split_limit_fill_improves_within_the_bar() -> None:
    eng = engine([FLAT, FLAT])
    eng.split_next = 1
    eng.submit("l", "X", "buy", 2.0, "limit", limit_price=100.5)
    eng.advance()
    assert [round(f.price, 6) for f in eng.fills] == [100.0, 99.9]  # never above the limit


def test_oco_partial_leg_expires_its_sibling_and_fills_on_the_next_bar() -> None:
    rows = [FLAT, (100.0, 106.0, 99.0, 105.0), FLAT]
    eng = engine(rows, cash=0.0)
    eng.balances["X"] = 4.0
    eng.oco_sibling_status = "expired"
    eng.partial_next = 1  # what a "partial" fault on an OCO request sets
    tp, sl = eng.submit_oco("sell", "X", 4.0, [("tp", "limit", 105.0), ("sl", "stop", 90.0)])
    assert (tp.parts, sl.parts) == (2, 2)  # every leg of the request
    eng.advance()
    assert (tp.status, tp.filled_qty, sl.status, sl.canceled_at) == (
        "partially_filled",
        2.0,
        "expired",
        None,
    )
    assert eng.reserved("X") == 2.0
    eng.advance()
    assert (tp.status, tp.filled_qty, sl.status) == ("filled", 4.0, "expired")
    assert [f.price for f in eng.fills] == [105.0, 100.0]  # second part: next bar's open


def test_delayed_cancel_keeps_the_order_open_then_cancels() -> None:
    eng = engine([FLAT] * 4, cash=0.0)
    eng.balances["X"] = 5.0
    o = eng.submit("l", "X", "sell", 5.0, "limit", limit_price=150.0)
    eng.cancel(o, delay=2)
    assert (o.status, o.cancel_bars, eng.reserved("X")) == ("new", 2, 5.0)
    eng.cancel(o, delay=2)  # again: nothing changes
    eng.advance()
    assert (o.status, o.cancel_bars) == ("new", 1)
    eng.advance()
    assert (o.status, o.cancel_bars, eng.reserved("X")) == ("canceled", None, 0.0)


def test_delayed_cancel_can_lose_to_a_fill() -> None:
    eng = engine([FLAT, (100.0, 120.0, 99.0, 110.0), FLAT], cash=0.0)
    eng.balances["X"] = 5.0
    o = eng.submit("l", "X", "sell", 5.0, "limit", limit_price=110.0)
    eng.cancel(o, delay=1)
    eng.advance()  # the bar reaches 110 before the cancel is final
    assert (o.status, o.avg_price, o.cancel_bars) == ("filled", 110.0, None)


def test_fee_in_a_third_asset_falls_back_to_the_received_asset() -> None:
    bars = scripted_bars([FLAT] * 3, freq="1h")
    x = Instrument("XUSD", "X", "USD", bars, 0.01, True, 0.0, fee_asset="BNB")
    bnb = Instrument("BNBUSD", "BNB", "USD", bars / 2, 0.01, True, 0.0, fee_asset="BNB")
    eng = Engine([x, bnb], pd.Timedelta("1h"), 1, {"USD": 10_000.0, "BNB": 0.25})
    eng.submit("a", "XUSD", "buy", 10.0, "market")
    eng.advance()  # fee 1 % of 1000 USD = 10 USD = 0.2 BNB at 50
    assert eng.balances["X"] == 10.0 and eng.balances["BNB"] == pytest.approx(0.05)
    eng.submit("b", "XUSD", "buy", 10.0, "market")
    eng.advance()  # 0.05 BNB cannot pay 0.2: charged in X, the asset received
    assert eng.balances["X"] == pytest.approx(19.9) and eng.balances["BNB"] == pytest.approx(0.05)
    assert [(f.commission_asset, round(f.commission, 6)) for f in eng.fills] == [
        ("BNB", 0.2),
        ("X", 0.1),
    ]
    assert eng.balances["USD"] == pytest.approx(8000.0)
