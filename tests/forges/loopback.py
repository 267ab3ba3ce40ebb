"""A small HTTP server on 127.0.0.1 for the forge tests: routes, a request log,
and faults injected in the middle of a run.

A fault matches the next request with its method and a path fragment and is
used up by it. Kinds:
    status  answer with `status` (and `headers`), e.g. 500, 429 + Retry-After
    drop    close the connection without an answer
    hang    say nothing for `seconds` (longer than the client's read timeout)
    hold    say nothing until the test calls release() (the client is killed meanwhile)
    slow    answer normally after `seconds`
With `apply=True` the request takes effect first (the forge stored the status)
and the fault hits only the answer: the case where a retry would post twice.

Runs in daemon threads of the test process; stop() closes the socket and ends
them. Nothing here is reachable from outside the machine.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, unquote, urlsplit

HOLD_LIMIT_S = 30.0


@dataclass
class Fault:
    kind: str                           # status / drop / hang / hold / slow
    method: str = "POST"
    path_part: str = "/statuses/"
    status: int = 500
    headers: dict = field(default_factory=dict)
    body: dict | None = None
    apply: bool = False
    seconds: float = 0.0


@dataclass
class Reply:
    status: int
    body: object = None                  # JSON-able, or bytes sent as they are
    headers: dict = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"


@dataclass
class Call:
    method: str
    path: str                 # as sent, percent-encoded
    query: dict
    headers: dict
    body: object


Route = tuple[str, re.Pattern, Callable[..., Reply]]


class LoopbackForge:
    """Subclasses add routes with `route(method, regex, handler)`; handlers get
    the Call and the regex groups (percent-decoded) and return a Reply."""

    def __init__(self, prefix: str = ""):
        self.prefix = prefix.rstrip("/")
        self.routes: list[Route] = []
        self.faults: list[Fault] = []
        self.calls: list[tuple[str, str, int]] = []     # method, path, status answered ("-" = none)
        self.headers_seen: list[dict] = []              # every request's headers (lower-case names), in order
        self.lock = threading.RLock()
        self.held = threading.Event()
        self._release = threading.Event()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None   # a client that hung up is expected here
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"{type(self).__name__}",
                                        daemon=True)
        self._thread.start()

    # -- test API -------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.prefix}"

    def route(self, method: str, pattern: str, handler: Callable[..., Reply]) -> None:
        self.routes.append((method, re.compile(f"^{self.prefix}{pattern}$"), handler))

    def authorizations(self) -> list[str]:
        """Every credential header it was sent (Authorization, PRIVATE-TOKEN)."""
        with self.lock:
            return [h[k] for h in self.headers_seen for k in ("authorization", "private-token") if k in h]

    def inject(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def release(self) -> None:
        self._release.set()

    def stop(self) -> None:
        self._closing.set()
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # -- serving ----------------------------------------------------------------
    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for i, fault in enumerate(self.faults):
                if fault.method == method and fault.path_part in path:
                    return self.faults.pop(i)
        return None

    def _dispatch(self, call: Call) -> Reply:
        path = urlsplit(call.path).path
        for method, pattern, handler in self.routes:
            m = pattern.match(path)
            if m and method == call.method:
                return handler(call, *[unquote(g) for g in m.groups()])
        return Reply(404, {"message": "Not Found"})

    def _handler_class(self):
        forge = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet: the tests read forge.calls instead
                pass

            def _serve(self, method: str):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                parts = urlsplit(self.path)
                call = Call(method, self.path, {k: v[-1] for k, v in parse_qs(parts.query).items()},
                            {k.lower(): v for k, v in self.headers.items()}, body)
                with forge.lock:
                    forge.headers_seen.append(dict(call.headers))
                fault = forge._take_fault(method, parts.path)
                if fault is None:
                    return self._answer(call, forge._dispatch(call))
                if fault.kind == "slow":
                    forge._closing.wait(fault.seconds)
                    return self._answer(call, forge._dispatch(call))
                if fault.apply:
                    forge._dispatch(call)
                if fault.kind == "status":
                    return self._answer(call, Reply(fault.status, fault.body or {"message": f"injected {fault.status}"},
                                                    fault.headers))
                with forge.lock:
                    forge.calls.append((method, parts.path, "-"))
                if fault.kind == "hang":
                    forge._closing.wait(fault.seconds)
                elif fault.kind == "hold":
                    forge.held.set()
                    forge._release.wait(HOLD_LIMIT_S)
                self.close_connection = True   # drop: no answer at all
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            def _answer(self, call: Call, reply: Reply):
                with forge.lock:
                    forge.calls.append((call.method, urlsplit(call.path).path, reply.status))
                if isinstance(reply.body, bytes):
                    data = reply.body
                else:
                    data = b"" if reply.body is None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(data)))
                for k, v in reply.headers.items():
                    self.send_header(k, str(v))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        return Handler
