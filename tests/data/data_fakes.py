"""Loopback fakes of market-data servers (Binance klines, Alpaca bars) for provider tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pandas as pd

Handler = Callable[[str, dict[str, str]], tuple[int, object]]


@contextmanager
def serve(handle: Handler) -> Iterator[str]:
    """Run ``handle(path, query) -> (status, json body)`` on 127.0.0.1; yield the base URL."""

    class _H(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            u = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(u.query).items()}
            status, body = handle(u.path, query)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status == 429:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), _H)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _ms(ts: pd.Timestamp) -> int:
    return int(ts.value // 1_000_000)


class FakeBinance:
    """Serve /api/v3/exchangeInfo and paginated /api/v3/klines from in-memory frames."""

    def __init__(
        self,
        frames: dict[str, pd.DataFrame],
        max_limit: int = 500,
        fail_first: int = 0,
        fail_status: int = 429,
        fail_after: int | None = None,
    ):
        self.frames = frames  # keyed by exchange id, e.g. "BTCUSDT"
        self.max_limit = max_limit
        self.fail_left = fail_first
        self.fail_status = fail_status
        self.fail_after = fail_after  # serve this many kline pages, then answer 503 for ever
        self.kline_calls: list[dict[str, str]] = []

    def __call__(self, path: str, q: dict[str, str]) -> tuple[int, object]:
        if path.endswith("/exchangeInfo"):
            return 200, self.exchange_info()
        if path.endswith("/klines"):
            self.kline_calls.append(q)
            if self.fail_after is not None and len(self.kline_calls) > self.fail_after:
                return 503, {"code": -1, "msg": "Service unavailable"}
            if self.fail_left > 0:
                self.fail_left -= 1
                return self.fail_status, {"code": -1003, "msg": "Too many requests"}
            return self.klines(q)
        return 404, {"code": -1, "msg": f"no route {path}"}

    def exchange_info(self) -> dict:
        def sym(s: str) -> dict:
            base, quote = s[:-4], s[-4:]
            return {
                "symbol": s,
                "status": "TRADING",
                "baseAsset": base,
                "quoteAsset": quote,
                "baseAssetPrecision": 8,
                "quotePrecision": 8,
                "quoteAssetPrecision": 8,
                "orderTypes": ["LIMIT", "MARKET"],
                "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False,
                "permissions": ["SPOT"],
                "permissionSets": [["SPOT"]],
                "filters": [],
            }

        return {"timezone": "UTC", "serverTime": 0, "rateLimits": [], "symbols": [sym(s) for s in self.frames]}

    def klines(self, q: dict[str, str]) -> tuple[int, object]:
        frame = self.frames.get(q.get("symbol", ""))
        if frame is None:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        limit = min(int(q.get("limit", 500)), self.max_limit)
        part = frame
        if "startTime" in q:
            part = part[part.index >= pd.Timestamp(int(q["startTime"]), unit="ms", tz="UTC")]
        if "endTime" in q:
            part = part[part.index <= pd.Timestamp(int(q["endTime"]), unit="ms", tz="UTC")]
        part = part.iloc[:limit]
        rows = [
            [
                _ms(t),
                *(repr(float(r[c])) for c in ("open", "high", "low", "close", "volume")),
                _ms(t) + 3_599_999,
                "0",
                1,
                "0",
                "0",
                "0",
            ]
            for t, r in part.iterrows()
        ]
        return 200, rows


class FakeAlpaca:
    """Serve /v2/stocks/bars and /v1beta3/crypto/us/bars with page tokens from in-memory frames."""

    def __init__(self, frames: dict[str, pd.DataFrame], page_size: int = 100, fail_status: int = 0):
        self.frames = frames
        self.page_size = page_size
        self.fail_status = fail_status
        self.calls: list[dict[str, str]] = []

    def __call__(self, path: str, q: dict[str, str]) -> tuple[int, object]:
        if not (path.endswith("/stocks/bars") or path.endswith("/crypto/us/bars")):
            return 404, {"message": f"no route {path}"}
        self.calls.append(q)
        if self.fail_status:
            return self.fail_status, {"message": "forbidden" if self.fail_status == 403 else "error"}
        sym = q["symbols"]
        frame = self.frames.get(sym)
        if frame is None:
            return 200, {"bars": {}, "next_page_token": None}
        part = frame[(frame.index >= pd.Timestamp(q["start"])) & (frame.index <= pd.Timestamp(q["end"]))]
        offset = int(q.get("page_token") or 0)
        page = part.iloc[offset : offset + self.page_size]
        more = offset + self.page_size < len(part)
        bars = [
            {
                "t": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "o": float(r.open),
                "h": float(r.high),
                "l": float(r.low),
                "c": float(r.close),
                "v": float(r.volume),
                "n": 10,
                "vw": float(r.close),
            }
            for t, r in page.iterrows()
        ]
        return 200, {"bars": {sym: bars}, "next_page_token": str(offset + self.page_size) if more else None}
