"""HTTP for the forge status sinks: one requests Session per sink with explicit
(connect, read) timeouts, and every outcome classified into DeliveryError so
the outbox knows whether to retry (and when) or give up.

    connection refused/reset, dropped, timed out  -> retry (backoff + jitter)
    5xx                                           -> retry (Retry-After honoured)
    409 on GitLab (its per-commit lock was busy)  -> retry
    429, and 403 that is a rate limit             -> retry after Retry-After, else
                                                     x-ratelimit-reset, else 60 s
                                                     (GitHub's documented order)
    other 4xx (401, 403, 404, 422, ...)           -> permanent, with the forge's message

The token goes into one request header and nowhere else: error messages name
the forge, method and URL (which never carries the token), never headers.
"""

from __future__ import annotations

import email.utils
import logging
import os
import time
from typing import Any
from urllib.parse import urlsplit

import requests

from signoff.credentials import Token, is_loopback
from signoff.plugin_api import DeliveryError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (5.0, 20.0)          # seconds: connect, read
TIMEOUT_ENV = "SIGNOFF_HTTP_TIMEOUT"   # "CONNECT,READ" or one number for both
SECONDARY_RATE_LIMIT_WAIT_S = 60.0     # GitHub: "wait for at least one minute"
MESSAGE_LIMIT = 300


def timeouts_from_env(default: tuple[float, float] = DEFAULT_TIMEOUT) -> tuple[float, float]:
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return default
    try:
        parts = [float(p) for p in raw.split(",")]
    except ValueError:
        raise DeliveryError(f"{TIMEOUT_ENV}={raw!r}: give seconds as CONNECT,READ (e.g. 5,20)", retry=False) from None
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or min(parts) <= 0:
        raise DeliveryError(f"{TIMEOUT_ENV}={raw!r}: give two positive numbers, CONNECT,READ", retry=False)
    return parts[0], parts[1]


def fetch_published_keys(url: str, *, params=None, timeout=None) -> list:
    """GET a forge's public JSON (published keys, users), never with a token; DeliveryError when it
    cannot be had, the first line of what went wrong."""
    import requests

    try:
        r = requests.get(url, params=params, headers={"Accept": "application/json", "User-Agent": "signoff"},
                         timeout=timeout or timeouts_from_env())
        r.raise_for_status()
        return r.json()
    except (requests.RequestException, ValueError) as exc:
        raise DeliveryError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, retry=True) from None


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def rate_limit_reset_wait(headers, now: float | None = None) -> float | None:
    """Seconds until x-ratelimit-reset (epoch seconds) when the remaining quota is 0."""
    if headers.get("x-ratelimit-remaining", "").strip() != "0":
        return None
    reset = headers.get("x-ratelimit-reset", "").strip()
    if not reset.isdigit():
        return None
    return max(1.0, int(reset) - (time.time() if now is None else now))


def forge_message(response: requests.Response) -> str:
    """The forge's own words from an error response, on one short line."""
    text = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        parts = []
        for key in ("message", "error", "error_description", "title", "detail"):
            value = body.get(key)
            if isinstance(value, (str, int, float)) and str(value).strip():
                parts.append(str(value))
            elif isinstance(value, (dict, list)) and value:
                parts.append(_flatten(value))
        details = body.get("errors") or body.get("validation")  # GitHub / Prism: a list of field problems
        if isinstance(details, list):
            parts.extend(_flatten(item) for item in details[:3])
        elif isinstance(details, (dict, str)):
            parts.append(_flatten(details))
        text = "; ".join(dict.fromkeys(p for p in parts if p))
    elif isinstance(body, (str, list)):
        text = _flatten(body)
    elif response.text and "html" not in response.headers.get("content-type", "").lower():
        text = response.text
    text = " ".join(text.split()) or response.reason or ""
    return text[:MESSAGE_LIMIT] + ("…" if len(text) > MESSAGE_LIMIT else "")


def _flatten(value: Any) -> str:
    if isinstance(value, dict):
        msg = value.get("message") or value.get("code")
        if msg and isinstance(msg, str):
            field = value.get("field") or ".".join(map(str, value.get("location", []) or []))
            return f"{field}: {msg}" if field else msg
        return ", ".join(f"{k}: {_flatten(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_flatten(v) for v in value)
    return str(value)


class ForgeClient:
    """JSON over HTTP to one forge API base URL, errors as DeliveryError."""

    def __init__(self, *, forge: str, base_url: str, token: Token | None, auth_header: str = "Authorization",
                 auth_scheme: str = "token", accept: str = "application/json", extra_headers: dict | None = None,
                 retry_statuses: tuple[int, ...] = (), timeout: tuple[float, float] | None = None):
        self.forge = forge
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout or timeouts_from_env()
        self.retry_statuses = retry_statuses
        self.session = requests.Session()
        self.session.headers.update({"Accept": accept, "User-Agent": "signoff-status-sink",
                                     **(extra_headers or {})})
        parts = urlsplit(self.base_url)
        if token is not None and parts.scheme.lower() == "http" and not is_loopback(parts.hostname or ""):
            token = None  # never in clear text over the network (find_token already refuses it, with a message)
        if token is not None:
            value = f"{auth_scheme} {token.reveal()}" if auth_scheme else token.reveal()
            self.session.headers[auth_header] = value

    def close(self) -> None:
        self.session.close()

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, *, json: Any = None, params: dict | None = None) -> requests.Response:
        url = self.url(path)
        where = f"{self.forge} {method} {url}"
        try:
            response = self.session.request(method, url, json=json, params=params, timeout=self.timeout,
                                            allow_redirects=False)
        except requests.exceptions.Timeout as exc:
            kind = "connecting" if isinstance(exc, requests.exceptions.ConnectTimeout) else "waiting for the answer"
            limit = self.timeout[0] if kind == "connecting" else self.timeout[1]
            raise DeliveryError(f"{where}: timed out {kind} (after {limit:g} s)", retry=True) from None
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema) as exc:
            raise DeliveryError(f"{where}: not a usable URL ({type(exc).__name__}); check [status] api_url",
                                retry=False) from None
        except requests.exceptions.RequestException as exc:  # refused, reset, dropped mid-answer, DNS
            raise DeliveryError(f"{where}: {_connection_problem(exc)}", retry=True) from None
        self.raise_for_outcome(response, where)
        return response

    def json(self, method: str, path: str, **kwargs) -> Any:
        response = self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            ctype = response.headers.get("content-type", "?")
            raise DeliveryError(f"{self.forge} {method} {response.url}: answered {ctype}, not the {self.forge} API's "
                                f"JSON; check [status] api_url", retry=False) from None

    def raise_for_outcome(self, response: requests.Response, where: str) -> None:
        code = response.status_code
        if 200 <= code < 300:
            return
        message = forge_message(response)
        said = f"{code} {message}".strip()
        headers = response.headers
        if 300 <= code < 400:
            raise DeliveryError(f"{where}: redirected ({code}) to {headers.get('location', '?')}; set [status] "
                                f"api_url to the API's own URL (or repo to where it moved)", retry=False)
        if code >= 500 or code in self.retry_statuses:
            raise DeliveryError(f"{where}: {said} (will retry)", retry=True,
                                retry_after=parse_retry_after(headers.get("retry-after")))
        if code in (403, 429):
            wait = parse_retry_after(headers.get("retry-after"))
            if wait is None:
                wait = rate_limit_reset_wait(headers)
            if wait is None and (code == 429 or "rate limit" in message.lower()):
                wait = SECONDARY_RATE_LIMIT_WAIT_S
            if wait is not None:
                raise DeliveryError(f"{where}: rate limited ({said}); retrying in {wait:.0f} s", retry=True,
                                    retry_after=wait)
        hint = {
            401: f"the {self.forge} token was refused: renew it in Settings or in the token variable",
            403: "the token may not write commit statuses to this repository",
            404: "no such repository or commit, or the token cannot see it: check [status] repo",
        }.get(code, "")
        raise DeliveryError(f"{where}: {said}" + (f" ({hint})" if hint else ""), retry=False)


def _connection_problem(exc: requests.exceptions.RequestException) -> str:
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the connection dropped in the middle of the answer (will retry)"
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc)
        if "RemoteDisconnected" in text or "Connection aborted" in text:
            return "the server closed the connection without answering (will retry)"
        if "refused" in text.lower():
            return "connection refused (will retry)"
        if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
            return "host not found (will retry)"
        return "could not connect (will retry)"
    return f"{type(exc).__name__} (will retry)"
