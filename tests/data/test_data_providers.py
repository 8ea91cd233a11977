"""Network providers against loopback fakes through the real client libraries; the fallback chain."""

from __future__ import annotations

import pandas as pd
import pytest
from data_fakes import FakeAlpaca, FakeBinance, serve
from pydantic import SecretStr

from bot.data import load_bars
from bot.data.providers import FallbackProvider, ProviderSettings, build_provider
from bot.data.providers.local import SampleProvider
from bot.data.providers.yfinance_provider import YFinanceProvider
from bot.errors import (
    ConfigError,
    DataError,
    FatalVenueError,
    RateLimitedError,
    TransientVenueError,
)
from bot.venues.alpaca_data import AlpacaProvider
from bot.venues.ccxt_data import CcxtProvider

UTC = "UTC"
SPOT = {"fetchMarkets": {"types": ["spot"]}}


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


@pytest.fixture(scope="module")
def hourly() -> pd.DataFrame:
    return load_bars("sample", ["BTC/USDT"], "1h", start="2021-01-01", end="2021-02-28", seed=11)["BTC/USDT"]


@pytest.fixture(scope="module")
def daily() -> pd.DataFrame:
    return load_bars("sample", ["AAPL"], "1d", start="2021-01-01", end="2021-12-31", seed=11)["AAPL"]


def _ccxt(url: str, now: str, **kw) -> CcxtProvider:
    waits: list[float] = []
    p = CcxtProvider("binance", url=url, options=SPOT, clock=lambda: ts(now), sleep=waits.append, **kw)
    p.waits = waits  # type: ignore[attr-defined]
    return p


def test_ccxt_paginates_and_drops_forming_candle(hourly):
    fake = FakeBinance({"BTCUSDT": hourly}, max_limit=500)
    with serve(fake) as url:
        frame = _ccxt(url, "2021-02-20T10:30:00Z").get_bars("BTC/USDT", "1h", ts("2021-01-03"), None)
    assert frame.index[0] == ts("2021-01-03")
    assert frame.index[-1] == ts("2021-02-20 09:00")  # the 10:00 candle is still open at 10:30
    pd.testing.assert_frame_equal(frame, hourly.loc[frame.index[0] : frame.index[-1]], check_freq=False)
    assert len(fake.kline_calls) == 3  # 1138 candles at 500 per page
    assert fake.kline_calls[1]["startTime"] == str(int(ts("2021-01-23 20:00").value // 10**6))


def test_ccxt_end_is_inclusive(hourly):
    with serve(FakeBinance({"BTCUSDT": hourly})) as url:
        frame = _ccxt(url, "2021-03-01").get_bars("BTC/USDT", "1h", ts("2021-01-05"), ts("2021-01-06 05:00"))
    assert (frame.index[0], frame.index[-1], len(frame)) == (ts("2021-01-05"), ts("2021-01-06 05:00"), 30)


def test_ccxt_rate_limit_is_retried_with_backoff(hourly):
    fake = FakeBinance({"BTCUSDT": hourly}, fail_first=2)
    with serve(fake) as url:
        p = _ccxt(url, "2021-03-01", backoff=0.5)
        frame = p.get_bars("BTC/USDT", "1h", ts("2021-01-05"), ts("2021-01-06"))
    assert len(frame) == 25
    assert p.waits == [0.5, 1.0]


def test_ccxt_server_errors_give_up_after_retries(hourly):
    fake = FakeBinance({"BTCUSDT": hourly}, fail_first=99, fail_status=503)
    with serve(fake) as url:
        p = _ccxt(url, "2021-03-01", retries=2, backoff=0.1)
        with pytest.raises(TransientVenueError):
            p.get_bars("BTC/USDT", "1h", ts("2021-01-05"), ts("2021-01-06"))
    assert len(fake.kline_calls) == 3


def test_ccxt_unknown_symbol_and_missing_start(hourly):
    with serve(FakeBinance({"BTCUSDT": hourly})) as url:
        p = _ccxt(url, "2021-03-01")
        with pytest.raises(ConfigError, match="unknown symbol"):
            p.get_bars("DOGE/USDT", "1h", ts("2021-01-05"), None)
        with pytest.raises(ConfigError) as info:
            p.get_bars("BTC/USDT", "1h", None, None)
    assert info.value.where == "data.start"


def test_alpaca_stock_daily_bars_are_dated_midnight_utc(daily):
    exchange_stamps = daily.copy()
    exchange_stamps.index = exchange_stamps.index + pd.Timedelta(hours=5)  # Alpaca: midnight New York
    fake = FakeAlpaca({"AAPL": exchange_stamps}, page_size=50)
    with serve(fake) as url:
        p = AlpacaProvider(url=url, keys=(SecretStr("k"), SecretStr("s")))
        frame = p.get_bars("AAPL", "1d", ts("2021-02-01"), ts("2021-06-30 23:59"))
    pd.testing.assert_frame_equal(frame, daily.loc["2021-02-01":"2021-06-30"], check_freq=False)
    assert len(fake.calls) == 3  # 104 bars at 50 per page
    assert fake.calls[0]["feed"] == "iex" and fake.calls[0]["adjustment"] == "raw"


def test_alpaca_crypto_needs_no_keys(hourly):
    fake = FakeAlpaca({"BTC/USD": hourly}, page_size=400)
    with serve(fake) as url:
        frame = AlpacaProvider(url=url, keys=None).get_bars("BTC/USD", "1h", ts("2021-01-02"), ts("2021-01-31"))
    assert len(frame) == 29 * 24 + 1
    assert fake.calls[-1]["timeframe"] == "1Hour"


def test_alpaca_errors_translate(daily, monkeypatch):
    monkeypatch.delenv("ALPACA_API_KEY", raising=False)
    monkeypatch.delenv("APCA_API_KEY_ID", raising=False)
    with pytest.raises(ConfigError, match="ALPACA_API_KEY"):
        AlpacaProvider(url="http://127.0.0.1:9").get_bars("AAPL", "1d", ts("2021-01-04"), None)
    keys = (SecretStr("k"), SecretStr("s"))
    for status, err in [(403, FatalVenueError), (429, RateLimitedError)]:
        fake = FakeAlpaca({"AAPL": daily}, fail_status=status)
        with serve(fake) as url:
            with pytest.raises(err):
                AlpacaProvider(url=url, keys=keys, retries=1, sleep=lambda s: None).get_bars(
                    "AAPL", "1d", ts("2021-01-04"), None
                )
        assert len(fake.calls) == (1 if status == 403 else 2)


def _yahoo_frame(daily: pd.DataFrame) -> pd.DataFrame:
    """A recorded yfinance ``history()`` answer: Title-case columns, New York timestamps."""
    raw = daily.rename(columns=str.title)
    raw["Adj Close"] = raw["Close"] * 0.98
    raw.index = raw.index.tz_localize(None).tz_localize("America/New_York").rename("Date")
    return raw[["Open", "High", "Low", "Close", "Adj Close", "Volume"]]


def test_yfinance_translates_recorded_history(daily):
    calls = []

    def history(symbol, **kwargs):
        calls.append((symbol, kwargs))
        return _yahoo_frame(daily)

    frame = YFinanceProvider(history=history).get_bars("^VIX", "1d", ts("2021-03-01"), ts("2021-03-31"))
    assert calls == [
        ("^VIX", {"interval": "1d", "auto_adjust": False, "actions": False, "start": "2021-03-01", "end": "2021-04-01"})
    ]
    assert list(frame.columns) == ["open", "high", "low", "close", "volume", "adj_close"]
    assert frame.index[0] == ts("2021-03-01")
    pd.testing.assert_series_equal(frame["close"], daily.loc["2021-03", "close"], check_freq=False)


def test_yfinance_4h_is_built_from_1h(hourly):
    raw = hourly.rename(columns=str.title).tz_convert("America/New_York")
    frame = YFinanceProvider(history=lambda s, **k: raw).get_bars("X", "4h", ts("2021-01-02"), ts("2021-01-03"))
    assert frame.index[1] - frame.index[0] == pd.Timedelta(hours=4)
    assert frame["high"].iloc[0] == hourly.loc["2021-01-02 00:00":"2021-01-02 03:00", "high"].max()


def test_fallback_chain_first_valid_source_wins(daily, write_csv):
    folder = write_csv("AAPL", [f"{t:%Y-%m-%d},10,11,9,10.5,100" for t in daily.index[:5]])
    with serve(FakeAlpaca({}, fail_status=403)) as url:
        settings = ProviderSettings(url=url, path=str(folder))
        chain = build_provider(["alpaca", "csv"], settings)
        assert isinstance(chain, FallbackProvider)
        chain.providers[0].keys = (SecretStr("k"), SecretStr("s"))
        frame = chain.get_bars("AAPL", "1d", ts("2021-01-01"), None)
        assert len(frame) == 5 and frame.attrs["source"].endswith("AAPL.csv")
        with pytest.raises(DataError) as info:
            chain.get_bars("MSFT", "1d", ts("2021-01-01"), None)
    what = info.value.what
    assert "alpaca: FatalVenueError" in what and "csv: ConfigError" in what and "\n" not in what


def test_fallback_skips_empty_answers():
    class Empty:
        name = "empty"

        def get_bars(self, symbol, timeframe, start, end):
            return SampleProvider().get_bars(symbol, timeframe, start, end).iloc[:0]

    chain = FallbackProvider([Empty(), SampleProvider(seed=1)])
    assert len(chain.get_bars("A", "1d", ts("2015-01-01"), ts("2015-01-31"))) == 22
    assert FallbackProvider([Empty(), Empty()]).get_bars("A", "1d", None, None).empty


def test_unknown_source_in_chain_is_config_error():
    with pytest.raises(ConfigError) as info:
        load_bars("csv", ["A"], sources=["sample", "bloomberg"])
    assert info.value.where == "data.source"
