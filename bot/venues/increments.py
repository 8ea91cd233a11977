"""Price and size increments: the venues' rounding rules, shared by adapters and backtests.

Pure functions (no SDK): the Backtrader engine rounds bracket exits with the same
:func:`round_price` the venue adapters apply before sending, so a backtest and a live session
send the same prices.

* US equities (Alpaca, SEC Rule 612): $0.01 at or above $1.00, $0.0001 below $1.00.
* Crypto and exchange markets: the instrument's own tick (Alpaca ``price_increment``,
  Binance ``PRICE_FILTER.tickSize``), read from the venue.

Prices round to the **nearest** tick (like ccxt's ``price_to_precision``); sizes round
**down** to the step (never more than asked, like ``amount_to_precision``).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from bot.instruments import is_crypto

PriceIncrement = str | float | None  # config: "auto", a fixed tick, or None (no rounding)


def equity_tick(price: float) -> float:
    """Return the US-equity price increment at ``price`` (sub-penny only below $1.00)."""
    return 0.01 if abs(price) >= 1.0 else 0.0001


def round_price(price: float, tick: float | None) -> float:
    """Return ``price`` rounded to the nearest multiple of ``tick`` (unchanged if no tick)."""
    if not tick or tick <= 0:
        return float(price)
    step = Decimal(repr(float(tick)))
    units = (Decimal(repr(float(price))) / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return float(units * step)


def floor_size(qty: float, step: float | None) -> float:
    """Return ``qty`` rounded down to a multiple of ``step`` (unchanged if no step)."""
    if not step or step <= 0:
        return float(qty)
    d = Decimal(repr(float(step)))
    units = (Decimal(repr(float(qty))) / d).quantize(Decimal(1), rounding=ROUND_DOWN)
    return float(units * d)


def round_equity_price(price: float) -> float:
    """Return ``price`` on the US-equity grid."""
    return round_price(price, equity_tick(price))


def backtest_price(symbol: str, price: float, setting: PriceIncrement) -> float:
    """Return ``price`` rounded as ``broker.price_increment`` says for an order on ``symbol``.

    ``"auto"``: the US-equity rule for symbols without a slash, no rounding for crypto pairs
    (their tick is per market and only the venue knows it: set a number to mirror it); a
    number: that tick for every symbol; None: no rounding.
    """
    if setting is None or (setting == "auto" and is_crypto(symbol)):
        return float(price)
    if setting == "auto":
        return round_equity_price(price)
    return round_price(price, float(setting))


def is_on_tick(price: float, tick: float) -> bool:
    """Return True if ``price`` is a whole multiple of ``tick`` (decimal exact)."""
    ratio = Decimal(repr(float(price))) / Decimal(repr(float(tick)))
    return ratio == ratio.to_integral_value()
