"""Alpaca historical bars (stocks and crypto) for the data layer, through alpaca-py.

Keys come from the environment only (ALPACA_API_KEY / ALPACA_SECRET_KEY, or APCA_API_KEY_ID /
APCA_API_SECRET_KEY); crypto bars need none. ``url`` points the clients at a fake server.
Daily bars are stamped with their trading date at midnight UTC, like the CSV files. The data
layer's Alpaca provider lives here because only ``bot/venues`` imports alpaca-py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pandas as pd
from alpaca.common.exceptions import APIError
from alpaca.data.enums import Adjustment, DataFeed
from alpaca.data.historical import CryptoHistoricalDataClient, StockHistoricalDataClient
from alpaca.data.requests import CryptoBarsRequest, StockBarsRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit
from pydantic import SecretStr
from requests import RequestException

from bot.data.providers.base import with_retries
from bot.data.schema import INDEX_NAME, empty_frame, finalize, slice_bounds
from bot.errors import (
    ConfigError,
    FatalVenueError,
    RateLimitedError,
    TransientVenueError,
    VenueError,
)
from bot.instruments import is_crypto
from bot.timeframes import DAY, parse_timeframe

EXCHANGE_TZ = "America/New_York"


def alpaca_timeframe(timeframe: str) -> TimeFrame:
    """Map "15m"/"1h"/"4h"/"1d"/"1w" onto an alpaca TimeFrame (used for historical and live bars)."""
    bar = parse_timeframe(timeframe)
    if bar >= DAY:
        if bar % pd.Timedelta(days=7) == pd.Timedelta(0):
            return TimeFrame(int(bar / pd.Timedelta(days=7)), TimeFrameUnit.Week)
        return TimeFrame(int(bar / DAY), TimeFrameUnit.Day)
    if bar % pd.Timedelta(hours=1) == pd.Timedelta(0):
        return TimeFrame(int(bar / pd.Timedelta(hours=1)), TimeFrameUnit.Hour)
    return TimeFrame(int(bar / pd.Timedelta(minutes=1)), TimeFrameUnit.Minute)


def keys_from_env(env: Mapping[str, str] | None = None) -> tuple[SecretStr, SecretStr] | None:
    """Return (key, secret) from the environment, or None when not set."""
    env = os.environ if env is None else env
    key = env.get("ALPACA_API_KEY") or env.get("APCA_API_KEY_ID")
    secret = env.get("ALPACA_SECRET_KEY") or env.get("APCA_API_SECRET_KEY")
    return (SecretStr(key), SecretStr(secret)) if key and secret else None


def translate(e: Exception, where: str) -> Exception:
    """Map alpaca-py / requests errors onto our error tree."""
    status = getattr(e, "status_code", None)
    if status == 429:
        return RateLimitedError(f"{where}: rate limited")
    if status in (401, 403):
        return FatalVenueError(f"{where}: not authorised ({status})")
    if status is None or status >= 500:
        return TransientVenueError(f"{where}: {' '.join(str(e).split())[:200]}")
    return VenueError(f"{where}: HTTP {status}: {' '.join(str(e).split())[:200]}")


class AlpacaProvider:
    """Bars from Alpaca's market-data API (``feed`` iex or sip; ``adjustment`` raw/split/all)."""

    name = "alpaca"

    def __init__(
        self,
        *,
        url: str | None = None,
        feed: str = "iex",
        adjustment: str = "raw",
        keys: tuple[SecretStr, SecretStr] | None = None,
        retries: int = 3,
        backoff: float = 1.0,
        sleep=None,
    ):
        self.url, self.feed, self.adjustment = url, DataFeed(feed), Adjustment(adjustment)
        self.keys = keys if keys is not None else keys_from_env()
        self.retries, self.backoff = retries, backoff
        self.sleep = sleep
        self._stock: StockHistoricalDataClient | None = None
        self._crypto: CryptoHistoricalDataClient | None = None

    def _client(self, crypto: bool):
        if crypto:
            if self._crypto is None:
                key, secret = self.keys or (None, None)
                self._crypto = CryptoHistoricalDataClient(
                    key.get_secret_value() if key else None,
                    secret.get_secret_value() if secret else None,
                    url_override=self.url,
                )
                self._crypto._retry = 0  # retries are ours (with_retries), not alpaca-py's fixed sleeps
            return self._crypto
        if self._stock is None:
            if self.keys is None:
                raise ConfigError(
                    "data.sources", "alpaca stock data needs ALPACA_API_KEY and ALPACA_SECRET_KEY in the environment"
                )
            key, secret = self.keys
            self._stock = StockHistoricalDataClient(
                key.get_secret_value(), secret.get_secret_value(), url_override=self.url
            )
            self._stock._retry = 0
        return self._stock

    def _request(self, symbol: str, timeframe: str, start: pd.Timestamp, end: pd.Timestamp | None):
        tf = alpaca_timeframe(timeframe)
        args = dict(
            symbol_or_symbols=symbol,
            timeframe=tf,
            start=start.to_pydatetime(),
            end=None if end is None else end.to_pydatetime(),
        )
        if is_crypto(symbol):
            return self._client(True).get_crypto_bars(CryptoBarsRequest(**args))
        req = StockBarsRequest(**args, feed=self.feed, adjustment=self.adjustment)
        return self._client(False).get_stock_bars(req)

    def get_bars(
        self, symbol: str, timeframe: str, start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> pd.DataFrame:
        """Fetch bars (alpaca-py follows the page tokens) and return them in the bar schema."""
        if start is None:
            raise ConfigError("data.start", f"alpaca needs a start date to download {symbol}")
        where = f"alpaca:{symbol}"

        def once():
            try:
                return self._request(symbol, timeframe, start, end)
            except (APIError, RequestException) as e:
                raise translate(e, where) from e

        kwargs = {"sleep": self.sleep} if self.sleep else {}
        barset = with_retries(once, self.retries, self.backoff, **kwargs)
        bars = barset.data.get(symbol, [])
        if not bars:
            return empty_frame()
        frame = pd.DataFrame(
            {
                "open": [b.open for b in bars],
                "high": [b.high for b in bars],
                "low": [b.low for b in bars],
                "close": [b.close for b in bars],
                "volume": [b.volume for b in bars],
            },
            index=pd.DatetimeIndex([b.timestamp for b in bars], name=INDEX_NAME),
        )
        if parse_timeframe(timeframe) >= DAY:
            local = frame.index.tz_convert(EXCHANGE_TZ)
            frame.index = pd.DatetimeIndex(local.tz_localize(None).normalize()).tz_localize("UTC")
        out = slice_bounds(finalize(frame), start, end)
        out.attrs["source"] = where
        return out
