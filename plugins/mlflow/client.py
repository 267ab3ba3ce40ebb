"""A small client for the MLflow tracking server's REST API, over requests.

The app never imports mlflow: this is the whole of what Signoff needs from a
tracking server (registry, runs, artifacts through the server's artifact
proxy, traces and assessments), and every failure becomes one clear
SignoffError (plugins/mlflow/errors.py) naming the server and the thing.

Paths are the ones the server registers (mlflow/server/handlers.py):
/api/2.0/mlflow/... for the registry, runs and artifacts,
/api/2.0/mlflow-artifacts/artifacts/<path> for the artifact proxy and
/api/3.0/mlflow/traces/... for traces and assessments.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote, urlsplit

import requests

from signoff.core.errors import InputError
from signoff.core.tasks import NULL_TASK, TaskState

from .auth import HOW_TO_AUTHENTICATE, Credentials, credentials_for
from .cache import CHUNK, ArtifactCache
from .errors import (MlflowAuthError, MlflowError, MlflowNotFound, MlflowRequestError, MlflowServerError,
                     MlflowUnreachable)

log = logging.getLogger(__name__)

ENV_TRACKING_URI = "MLFLOW_TRACKING_URI"
DEFAULT_TIMEOUT = (5.0, 60.0)        # seconds: connect, read (between bytes of a download, too)
PAGE = 1000                          # runs/search and model-versions/search page size
TRACE_PAGE = 500                     # the server's own maximum for traces/search
TRACE_BATCH = 50                     # trace ids per traces/batchGet call (they go in the URL)
MESSAGE_LIMIT = 300


def normalise_tracking_uri(uri: str) -> str:
    """'http(s)://host[:port][/prefix]' without a trailing slash; anything else is an InputError."""
    text = (uri or "").strip()
    if not text:
        raise InputError(f"no MLflow tracking URI: pass --tracking-uri URL, set {ENV_TRACKING_URI}, "
                         f"or set tracking_uri in signoff.toml [mlflow]")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"MLflow tracking URI {text!r}: Signoff talks to a tracking server over its REST API; "
                         f"give its http:// or https:// URL (e.g. http://127.0.0.1:5000)")
    return text.rstrip("/")


def _server_message(response: requests.Response) -> tuple[str, str]:
    """(error_code, message) from MLflow's JSON error body, else ('', a short text)."""
    try:
        body = response.json()
    except ValueError:
        text = " ".join((response.text or "").split())
        return "", text[:MESSAGE_LIMIT]
    if isinstance(body, dict):
        return str(body.get("error_code", "")), " ".join(str(body.get("message", "")).split())[:MESSAGE_LIMIT]
    return "", str(body)[:MESSAGE_LIMIT]


class MlflowClient:
    """One tracking server. Safe to use from one thread at a time (a requests Session)."""

    def __init__(self, tracking_uri: str, *, credentials: Credentials | None = None,
                 cache: ArtifactCache | None = None, timeout: tuple[float, float] = DEFAULT_TIMEOUT):
        self.uri = normalise_tracking_uri(tracking_uri)
        self.credentials = credentials if credentials is not None else credentials_for(self.uri)
        self.cache = cache if cache is not None else ArtifactCache()
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers.update({"User-Agent": "signoff", **self.credentials.headers()})

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "MlflowClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MlflowClient({self.uri}, {self.credentials!r})"

    # -- transport -------------------------------------------------------------------

    def _request(self, method: str, path: str, *, what: str, params=None, json_body=None, stream=False,
                 not_found: str | None = None) -> requests.Response:
        url = path if path.startswith("http") else f"{self.uri}{path}"
        try:
            response = self._session.request(method, url, params=params, json=json_body, stream=stream,
                                             timeout=self.timeout)
        except requests.exceptions.Timeout:
            raise MlflowUnreachable(f"the MLflow tracking server at {self.uri} did not answer in time "
                                    f"({what})") from None
        except requests.exceptions.SSLError as exc:
            raise MlflowUnreachable(f"cannot reach the MLflow tracking server at {self.uri}: TLS failed "
                                    f"({type(exc).__name__})") from None
        except requests.exceptions.ConnectionError as exc:
            raise MlflowUnreachable(f"cannot reach the MLflow tracking server at {self.uri} ({_reason(exc)}); "
                                    f"is it running, and is the URL right?") from None
        except requests.exceptions.RequestException as exc:
            raise MlflowUnreachable(f"cannot talk to the MLflow tracking server at {self.uri}: "
                                    f"{type(exc).__name__}") from None
        if response.status_code < 400:
            return response
        code, message = _server_message(response)
        status = response.status_code
        response.close()
        if status in (401, 403):
            word = "unauthorized" if status == 401 else "forbidden"
            have = (f"the credentials from {self.credentials.source} were refused"
                    if self.credentials.secret is not None else "no credentials were sent")
            raise _with_status(MlflowAuthError(
                f"the MLflow tracking server at {self.uri} said {status} {word} ({what}): {have}; "
                f"{HOW_TO_AUTHENTICATE}"), status)
        if status == 404 or code == "RESOURCE_DOES_NOT_EXIST":
            raise _with_status(MlflowNotFound(not_found or f"{what}: not found on {self.uri}"
                                              + (f" ({message})" if message else "")), status)
        if status == 429 or status >= 500:
            err = MlflowServerError(f"the MLflow tracking server at {self.uri} failed ({what}): HTTP {status}"
                                    + (f": {message}" if message else ""))
            err.retry_after = _retry_after(response.headers.get("Retry-After"))
            raise _with_status(err, status)
        raise _with_status(MlflowRequestError(f"the MLflow tracking server at {self.uri} refused {what}: "
                                              f"HTTP {status}" + (f" {code}" if code else "")
                                              + (f": {message}" if message else "")), status)

    def _json(self, method: str, path: str, *, what: str, params=None, json_body=None,
              not_found: str | None = None) -> dict:
        response = self._request(method, path, what=what, params=params, json_body=json_body, not_found=not_found)
        try:
            body = response.json()
        except ValueError:
            raise MlflowServerError(f"{self.uri} answered {what} with something that is not MLflow's JSON API "
                                    f"(is this the tracking server's URL?)") from None
        if not isinstance(body, dict):
            raise MlflowServerError(f"{self.uri} answered {what} with unexpected JSON (not an object)")
        return body

    def get(self, path: str, *, what: str, params=None, not_found: str | None = None) -> dict:
        return self._json("GET", path, what=what, params=params, not_found=not_found)

    def post(self, path: str, body: dict, *, what: str, not_found: str | None = None) -> dict:
        return self._json("POST", path, what=what, json_body=body, not_found=not_found)

    # -- server --------------------------------------------------------------------

    def check(self) -> None:
        """Reachable, and speaks MLflow's API with these credentials (a cheap registry call)."""
        self.get("/api/2.0/mlflow/registered-models/search", params={"max_results": 1},
                 what="listing registered models")

    # -- registry ------------------------------------------------------------------

    def search_registered_models(self, name_like: str = "") -> list[dict]:
        params: dict[str, Any] = {"max_results": 1000}
        if name_like:
            params["filter"] = f"name ILIKE {_quote(f'%{name_like}%')}"
        return list(self._pages("GET", "/api/2.0/mlflow/registered-models/search", params, "registered_models",
                                what="listing registered models"))

    def get_registered_model(self, name: str) -> dict:
        body = self.get("/api/2.0/mlflow/registered-models/get", params={"name": name},
                        what=f"reading registered model {name!r}",
                        not_found=f"no registered model {name!r} on the MLflow tracking server at {self.uri}")
        return body.get("registered_model", {})

    def search_model_versions(self, *, name: str | None = None, run_id: str | None = None) -> list[dict]:
        clauses = []
        if name is not None:
            clauses.append(f"name = {_quote(name)}")
        if run_id is not None:
            clauses.append(f"run_id = {_quote(run_id)}")
        params = {"filter": " AND ".join(clauses), "max_results": 10000}
        what = (f"listing the versions of model {name!r}" if name else
                f"listing model versions of run {run_id}" if run_id else "listing model versions")
        return list(self._pages("GET", "/api/2.0/mlflow/model-versions/search", params, "model_versions", what=what))

    def get_model_version(self, name: str, version: str) -> dict:
        self.get_registered_model(name)  # a clear message for an unknown model before an unknown version
        body = self.get("/api/2.0/mlflow/model-versions/get", params={"name": name, "version": str(version)},
                        what=f"reading version {version} of model {name!r}",
                        not_found=f"model {name!r} has no version {version} on {self.uri}")
        return body.get("model_version", {})

    def get_model_version_by_alias(self, name: str, alias: str) -> dict:
        model = self.get_registered_model(name)
        known = sorted({a.get("alias", "") for a in model.get("aliases", [])})
        missing = f"model {name!r} has no alias {alias!r} on {self.uri} (its aliases: {', '.join(known) or 'none'})"
        if alias not in known:  # the server answers 400, not 404, for an unknown alias
            raise MlflowNotFound(missing)
        body = self.get("/api/2.0/mlflow/registered-models/alias", params={"name": name, "alias": alias},
                        what=f"resolving alias {alias!r} of model {name!r}",
                        not_found=missing)
        return body.get("model_version", {})

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self.post("/api/2.0/mlflow/model-versions/set-tag",
                  {"name": name, "version": str(version), "key": key, "value": value},
                  what=f"setting tag {key} on version {version} of model {name!r}",
                  not_found=f"model {name!r} has no version {version} on {self.uri} (tag {key} not set)")

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.post("/api/2.0/mlflow/registered-models/alias", {"name": name, "alias": alias, "version": str(version)},
                  what=f"moving alias {alias!r} of model {name!r} to version {version}",
                  not_found=f"model {name!r} or its version {version} is gone from {self.uri} "
                            f"(alias {alias!r} not moved)")

    # -- experiments and runs ----------------------------------------------------------

    def search_experiments(self) -> list[dict]:
        return list(self._pages("GET", "/api/2.0/mlflow/experiments/search", {"max_results": 1000}, "experiments",
                                what="listing experiments"))

    def get_experiment_by_name(self, name: str) -> dict:
        body = self.get("/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": name},
                        what=f"reading experiment {name!r}",
                        not_found=f"no experiment named {name!r} on {self.uri}")
        return body.get("experiment", {})

    def get_run(self, run_id: str) -> dict:
        body = self.get("/api/2.0/mlflow/runs/get", params={"run_id": run_id}, what=f"reading run {run_id}",
                        not_found=f"no run {run_id} on the MLflow tracking server at {self.uri}")
        return body.get("run", {})

    def search_runs(self, experiment_ids: list[str], filter_string: str, *, order_by: list[str] | None = None,
                    limit: int | None = None) -> list[dict]:
        found: list[dict] = []
        # Many experiments: ask in slices, the server caps the list it accepts.
        for i in range(0, max(1, len(experiment_ids)), 100):
            body = {"experiment_ids": experiment_ids[i:i + 100], "filter": filter_string,
                    "order_by": order_by or ["attributes.start_time DESC"], "max_results": PAGE}
            for run in self._pages("POST", "/api/2.0/mlflow/runs/search", body, "runs",
                                   what=f"searching runs ({filter_string})"):
                found.append(run)
                if limit is not None and len(found) >= limit:
                    return found
        return found

    def set_run_tag(self, run_id: str, key: str, value: str) -> None:
        self.post("/api/2.0/mlflow/runs/set-tag", {"run_id": run_id, "key": key, "value": value},
                  what=f"setting tag {key} on run {run_id}", not_found=f"run {run_id} is gone from {self.uri}")

    # -- artifacts -----------------------------------------------------------------------

    def list_artifacts(self, run_id: str, path: str = "") -> list[dict]:
        params = {"run_id": run_id}
        if path:
            params["path"] = path
        body = self.get("/api/2.0/mlflow/artifacts/list", params=params,
                        what=f"listing artifacts of run {run_id}" + (f" under {path}" if path else ""),
                        not_found=f"no run {run_id} on {self.uri}")
        return list(body.get("files", []))

    def artifact_size(self, run_id: str, path: str) -> int | None:
        """The listed size of one artifact file; NotFound when the run has no such file."""
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        for f in self.list_artifacts(run_id, parent):
            if f.get("path") == path and not f.get("is_dir"):
                return int(f["file_size"]) if "file_size" in f else None
        raise MlflowNotFound(f"run {run_id} has no artifact {path!r}")

    def download_artifact(self, run: dict, path: str, *, task: TaskState | None = None,
                          what: str = "") -> Path:
        """The artifact's file in the content cache, downloaded (streamed, with progress) if needed."""
        task = task or NULL_TASK
        info = run.get("info", {})
        run_id = info.get("run_id") or info.get("run_uuid", "")
        size = self.artifact_size(run_id, path)
        cached = self.cache.lookup(self.uri, run_id, path, size)
        if cached is not None:
            log.debug("artifact %s of run %s from the cache", path, run_id)
            return cached
        url = self._artifact_url(info.get("artifact_uri", ""), run_id, path)
        label = what or f"{path} of run {run_id}"
        response = self._request("GET", url, what=f"downloading {label}", stream=True,
                                 params=None if "/mlflow-artifacts/" in url else {"run_id": run_id, "path": path},
                                 not_found=f"run {run_id} has no artifact {path!r}")
        total = size or int(response.headers.get("Content-Length") or 0) or None
        sha, done = hashlib.sha256(), 0
        tmp = self.cache.temp_file()
        try:
            with response, tmp:
                for chunk in response.iter_content(CHUNK):
                    tmp.write(chunk)
                    sha.update(chunk)
                    done += len(chunk)
                    task.report(f"downloading {label}: {_mb(done)}" + (f" of {_mb(total)}" if total else ""),
                                (done / total) if total else None)
        except requests.exceptions.RequestException as exc:
            os.unlink(tmp.name)
            raise MlflowUnreachable(f"the download of {label} from {self.uri} broke off ({_reason(exc)})") from None
        except BaseException:
            os.unlink(tmp.name)  # cancelled: no half file left behind
            raise
        if size is not None and done != size:
            os.unlink(tmp.name)
            raise MlflowServerError(f"the download of {label} from {self.uri} is incomplete ({done} of {size} bytes)")
        return self.cache.commit(self.uri, run_id, path, Path(tmp.name), sha.hexdigest(), done)

    def read_artifact(self, run: dict, path: str, *, task: TaskState | None = None, what: str = "") -> bytes:
        return self.download_artifact(run, path, task=task, what=what).read_bytes()

    def download_url(self, url: str, *, what: str, digest: str = "", task: TaskState | None = None) -> bytes:
        """A file served by this tracking server (e.g. a dataset source on its artifact proxy).
        With `digest` (the dataset's content digest MLflow logged) it is cached like an artifact."""
        if not url.startswith(self.uri + "/"):
            raise InputError(f"{what}: {url} is not on the tracking server {self.uri}; Signoff only reads "
                             f"files through the tracking server")
        key = f"url:{digest}" if digest else ""
        if key:
            cached = self.cache.lookup(self.uri, key, url, None)
            if cached is not None:
                return cached.read_bytes()
        response = self._request("GET", url, what=f"downloading {what}", not_found=f"{what}: {url} not found")
        data = response.content
        if key:
            with self.cache.temp_file() as tmp:
                tmp.write(data)
            self.cache.commit(self.uri, key, url, Path(tmp.name), hashlib.sha256(data).hexdigest(), len(data))
        return data

    def _artifact_url(self, artifact_uri: str, run_id: str, path: str) -> str:
        """The proxy URL for mlflow-artifacts: roots; otherwise the server's get-artifact endpoint."""
        if artifact_uri.startswith("mlflow-artifacts:"):
            rest = artifact_uri[len("mlflow-artifacts:"):]
            parts = urlsplit(rest)
            base = parts.path if rest.startswith("//") else rest
            return f"{self.uri}/api/2.0/mlflow-artifacts/artifacts/{quote(base.strip('/'))}/{quote(path)}"
        if artifact_uri.startswith(("http://", "https://")) and "/mlflow-artifacts/artifacts/" in artifact_uri:
            return f"{artifact_uri.rstrip('/')}/{quote(path)}"
        return f"{self.uri}/get-artifact"

    # -- traces and assessments -----------------------------------------------------------

    def search_traces(self, experiment_id: str, filter_string: str) -> list[dict]:
        body = {"locations": [{"mlflow_experiment": {"experiment_id": str(experiment_id)}}],
                "filter": filter_string, "max_results": TRACE_PAGE}
        return list(self._pages("POST", "/api/3.0/mlflow/traces/search", body, "traces",
                                what=f"searching traces ({filter_string})"))

    def batch_get_traces(self, trace_ids: list[str], *, task: TaskState | None = None) -> list[dict]:
        task = task or NULL_TASK
        traces: list[dict] = []
        for i in range(0, len(trace_ids), TRACE_BATCH):
            task.report(f"reading traces {i + 1}-{min(i + TRACE_BATCH, len(trace_ids))} of {len(trace_ids)}",
                        i / max(1, len(trace_ids)))
            body = self.get("/api/3.0/mlflow/traces/batchGet", params={"trace_ids": trace_ids[i:i + TRACE_BATCH]},
                            what="reading traces")
            traces.extend(body.get("traces", []))
        return traces

    def get_trace_info(self, trace_id: str) -> dict:
        body = self.get(f"/api/3.0/mlflow/traces/{quote(trace_id)}", what=f"reading trace {trace_id}",
                        not_found=f"no trace {trace_id} on {self.uri}")
        return body.get("trace", {}).get("trace_info", {})

    def create_assessment(self, trace_id: str, assessment: dict) -> dict:
        body = self.post(f"/api/3.0/mlflow/traces/{quote(trace_id)}/assessments", {"assessment": assessment},
                         what=f"adding an assessment to trace {trace_id}",
                         not_found=f"trace {trace_id} is gone from {self.uri}")
        return body.get("assessment", {})

    def update_assessment(self, trace_id: str, assessment_id: str, assessment: dict, fields: list[str]) -> dict:
        body = self._json("PATCH", f"/api/3.0/mlflow/traces/{quote(trace_id)}/assessments/{quote(assessment_id)}",
                          json_body={"assessment": assessment, "update_mask": ",".join(fields)},
                          what=f"updating assessment {assessment_id} of trace {trace_id}",
                          not_found=f"assessment {assessment_id} of trace {trace_id} is gone from {self.uri}")
        return body.get("assessment", {})

    def delete_assessment(self, trace_id: str, assessment_id: str) -> None:
        self._request("DELETE", f"/api/3.0/mlflow/traces/{quote(trace_id)}/assessments/{quote(assessment_id)}",
                      what=f"deleting assessment {assessment_id} of trace {trace_id}").close()

    # -- paging ------------------------------------------------------------------------

    def _pages(self, method: str, path: str, request: dict, key: str, *, what: str) -> Iterator[dict]:
        token = None
        while True:
            req = dict(request)
            if token:
                req["page_token"] = token
            if method == "GET":
                body = self.get(path, params=req, what=what)
            else:
                body = self.post(path, req, what=what)
            yield from body.get(key, []) or []
            token = body.get("next_page_token")
            if not token:
                return


def _quote(value: str) -> str:
    """A string literal for MLflow's filter syntax."""
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise InputError(f"{value!r}: a name with both kinds of quotes cannot be searched for on MLflow")


def _reason(exc: Exception) -> str:
    text = str(exc)
    for needle, say in (("Connection refused", "connection refused"), ("Name or service not known", "unknown host"),
                        ("nodename nor servname", "unknown host"), ("timed out", "timed out"),
                        ("Connection reset", "connection reset"), ("RemoteDisconnected", "the server hung up")):
        if needle in text:
            return say
    return type(exc).__name__


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _with_status(err: MlflowError, status: int) -> MlflowError:
    err.status = status
    return err


def _mb(n: int | None) -> str:
    if n is None:
        return "?"
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.0f} kB"
