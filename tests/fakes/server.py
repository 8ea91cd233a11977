"""Loopback HTTP plumbing shared by the fake venues: routing, request log, fault injection.

Fault kinds for :meth:`FakeServer.inject` (each applies to the next ``times`` requests whose
path starts with ``path_prefix`` and, if given, whose method is ``method``):

=============  ==========================================================================
``http_429``   answer 429 with a ``Retry-After: <retry_after>`` header, request not processed
``http_500``   answer 500, request not processed
``timeout``    sleep ``delay`` seconds (longer than the client's timeout) and still process
               the request: after the sleep by default (``when="after"``), or first and
               then sleep (``when="before"``: the order is in, the answer is lost)
``drop``       close the connection without an answer; not processed unless
               ``when="before"``
``reject``     answer the venue's order-rejection error, request not processed
``partial``    process normally, but the order created (every leg of an OCO request) fills
               in two parts on two bars
``split``      process normally, but the order created fills in two trades at two prices
               within one bar (see :mod:`tests.fakes.engine`), each with its own commission
``outage``     answer 503 (the venue's "service unavailable" body), request not processed;
               :meth:`FakeServer.outage` starts one (default: every path, until lifted),
               :meth:`FakeServer.lift` ends it
=============  ==========================================================================

Faults are matched in injection order; the first pending one matching a request is used.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

FAULT_KINDS = ("http_429", "http_500", "timeout", "drop", "reject", "partial", "split", "outage")
ENDLESS = 10**9  # ``times`` of an outage that lasts until lifted


@dataclass
class Request:
    """One HTTP request as the fake saw it (raw query and body kept for signatures)."""

    method: str
    path: str
    raw_query: str
    body: str
    headers: dict[str, str]

    @property
    def params(self) -> dict[str, str]:
        """Return query and form-body parameters merged (body wins)."""
        merged = dict(parse_qsl(self.raw_query, keep_blank_values=True))
        ctype = self.headers.get("content-type", "")
        if self.body and "x-www-form-urlencoded" in ctype:
            merged.update(parse_qsl(self.body, keep_blank_values=True))
        return merged

    def json(self) -> dict:
        """Return the JSON body (empty dict if none)."""
        return json.loads(self.body) if self.body else {}


@dataclass
class Response:
    """What a route returns."""

    status: int
    payload: object = None
    headers: dict[str, str] | None = None


@dataclass
class Fault:
    """One pending fault (see the module docstring)."""

    path_prefix: str
    kind: str
    times: int
    method: str | None = None
    retry_after: float = 1.0
    delay: float = 1.0
    when: str = "after"


Route = Callable[[Request], Response]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # silence stderr
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        url = urlsplit(self.path)
        req = Request(self.command, url.path, url.query, body, {k.lower(): v for k, v in self.headers.items()})
        self.server.app.dispatch(req, self)

    do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = _serve

    def send(self, resp: Response) -> None:
        """Write ``resp`` as JSON; ignore a client that already hung up."""
        body = b"" if resp.payload is None else json.dumps(resp.payload).encode()
        try:
            self.send_response(resp.status)
            for key, value in (resp.headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def drop(self) -> None:
        """Close the connection without writing anything."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, app: FakeServer):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app = app


class FakeServer:
    """Base class: a threaded HTTP server on 127.0.0.1 with routes and fault injection.

    Subclasses register routes with :meth:`route` and implement :meth:`fault_response`.
    Use as a context manager or call :meth:`start` / :meth:`stop`.
    """

    def __init__(self) -> None:
        self._routes: list[tuple[str, str, Route]] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._inflight = 0
        self._idle = threading.Condition(self._lock)
        self.log: list[Request] = []
        self._httpd: _Server | None = None

    # ---- lifecycle ------------------------------------------------------------------
    def start(self) -> FakeServer:
        """Bind to a free loopback port and serve in a daemon thread."""
        self._httpd = _Server(self)
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Return ``http://127.0.0.1:<port>``."""
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # ---- faults and introspection ---------------------------------------------------
    def inject(
        self,
        path_prefix: str,
        kind: str,
        times: int = 1,
        method: str | None = None,
        retry_after: float = 1.0,
        delay: float = 1.0,
        when: str | None = None,
    ) -> None:
        """Make the next ``times`` matching requests fail as ``kind`` (see module doc)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if when is None:
            when = "never" if kind == "drop" else "after"
        with self._lock:
            self._faults.append(Fault(path_prefix, kind, times, method, retry_after, delay, when))

    def outage(self, path_prefix: str = "", times: int = ENDLESS, method: str | None = None) -> None:
        """Answer 503 to the next ``times`` matching requests (default: until :meth:`lift`)."""
        self.inject(path_prefix, "outage", times=times, method=method)

    def lift(self, kind: str = "outage", path_prefix: str | None = None) -> int:
        """Drop pending faults of ``kind`` (optionally only those of ``path_prefix``); return
        how many were dropped."""
        with self._lock:
            keep = [
                f for f in self._faults if f.kind != kind or (path_prefix is not None and f.path_prefix != path_prefix)
            ]
            dropped = len(self._faults) - len(keep)
            self._faults[:] = keep
        return dropped

    def requests(self, method: str | None = None, path_prefix: str = "") -> list[Request]:
        """Return the logged requests, optionally filtered."""
        with self._lock:
            return [r for r in self.log if (method is None or r.method == method) and r.path.startswith(path_prefix)]

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Block until no request is being handled (e.g. a delayed 'timeout' request)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._inflight:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("fake venue still busy")
                self._idle.wait(left)

    # ---- routing --------------------------------------------------------------------
    def route(self, method: str, path: str, fn: Route) -> None:
        """Register ``fn`` for ``method path``; a trailing ``*`` matches any suffix."""
        self._routes.append((method, path, fn))

    def fault_response(self, fault: Fault, req: Request) -> Response:
        """Return the venue-specific error for a 429/500/reject/outage fault."""
        raise NotImplementedError

    def authenticate(self, req: Request) -> Response | None:
        """Return an error response if ``req`` is not authorised, else None."""
        return None

    def dispatch(self, req: Request, handler: _Handler) -> None:
        with self._lock:
            self.log.append(req)
            self._inflight += 1
            fault = self._take_fault(req)
        try:
            self._run(req, handler, fault)
        finally:
            with self._idle:
                self._inflight -= 1
                self._idle.notify_all()

    def _take_fault(self, req: Request) -> Fault | None:
        for fault in self._faults:
            if req.path.startswith(fault.path_prefix) and fault.method in (None, req.method):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _run(self, req: Request, handler: _Handler, fault: Fault | None) -> None:
        kind = fault.kind if fault else None
        if kind in ("http_429", "http_500", "reject", "outage"):
            handler.send(self.fault_response(fault, req))
            return
        if kind == "drop" and fault.when != "before":
            handler.drop()
            return
        if kind == "timeout" and fault.when == "after":
            time.sleep(fault.delay)
        resp = self._process(req, kind)
        if kind == "drop":
            handler.drop()
            return
        if kind == "timeout" and fault.when == "before":
            time.sleep(fault.delay)
        handler.send(resp)

    def _process(self, req: Request, kind: str | None) -> Response:
        denied = self.authenticate(req)
        if denied is not None:
            return denied
        for method, path, fn in self._routes:
            if method == req.method and _matches(path, req.path):
                return self.call_route(fn, req, kind)
        return Response(404, {"code": 40410000, "message": f"no route {req.method} {req.path}"})

    def call_route(self, fn: Route, req: Request, kind: str | None) -> Response:
        """Run a route; ``kind`` is the request's fault kind, if any (subclasses hook in here,
        e.g. to flag partial or split fills)."""
        return fn(req)


def _matches(pattern: str, path: str) -> bool:
    if pattern.endswith("*"):
        return path.startswith(pattern[:-1]) and len(path) > len(pattern) - 1
    return pattern == path
