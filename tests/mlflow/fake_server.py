"""A tiny loopback HTTP server that answers like an MLflow tracking server is told
to (401s, 404s, pages that are not MLflow), for what the real test server
cannot do: it runs without auth."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UNAUTHENTICATED = (401, {"error_code": "UNAUTHENTICATED", "message": "You are not authenticated."}, {})


class FakeServer:
    """Answers with the reply of the first route whose prefix the path has, else `reply`:
    (status, body, headers), a body of bytes is sent as it is. Remembers the headers seen.
    With `authorization` set, a request without that Authorization header gets a 401."""

    def __init__(self):
        self.reply = (200, {"registered_model": {"name": "m", "aliases": []}}, {})
        self.routes: dict[str, tuple] = {}
        self.seen: list[dict] = []
        self.authorization: str | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                fake.seen.append({"path": self.path, "authorization": self.headers.get("Authorization")})
                status, body, headers = next((r for p, r in fake.routes.items() if self.path.startswith(p)),
                                             fake.reply)
                if fake.authorization is not None and self.headers.get("Authorization") != fake.authorization:
                    status, body, headers = UNAUTHENTICATED
                if isinstance(body, bytes):
                    data = body
                else:
                    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, *args):  # quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="fake-mlflow", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
