"""Downloaded artifacts, kept by content under the data dir so that loading the
same run's table again (another request, reopening two versions in the app)
does not download it again.

    <data dir>/cache/mlflow/blobs/<sha256>          the bytes, once per content
    <data dir>/cache/mlflow/index/<key>.json        (server, run, path) -> sha256 and size

A run's artifacts do not change once logged, except that `mlflow.log_table`
appends to a table logged twice under one name: so a hit also needs the size
the server lists now to match, and the blob to still hash to its name.
Writes go to a temp file first and are renamed into place, so a crash or a
cancel never leaves half a file under a valid name.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

CHUNK = 1 << 20


def default_cache_dir() -> Path:
    from signoff.store.db import data_dir  # the same data dir as the default store (SIGNOFF_HOME)

    return data_dir() / "cache" / "mlflow"


class ArtifactCache:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else default_cache_dir()

    @staticmethod
    def _key(server: str, run_id: str, path: str) -> str:
        return hashlib.sha256(f"{server}\n{run_id}\n{path}".encode("utf-8")).hexdigest()

    def _index(self, server: str, run_id: str, path: str) -> Path:
        return self.root / "index" / f"{self._key(server, run_id, path)}.json"

    def blob(self, sha: str) -> Path:
        return self.root / "blobs" / sha

    def lookup(self, server: str, run_id: str, path: str, size: int | None) -> Path | None:
        """The cached file for this artifact, or None (absent, changed size, or corrupt)."""
        try:
            entry = json.loads(self._index(server, run_id, path).read_text(encoding="utf-8"))
            blob = self.blob(entry["sha256"])
            if size is not None and int(entry["size"]) != int(size):
                return None
            if not blob.is_file() or blob.stat().st_size != int(entry["size"]):
                return None
            if sha256_file(blob) != entry["sha256"]:
                return None
            return blob
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def temp_file(self):
        """An open binary temp file inside the cache (same file system: rename is atomic)."""
        tmp = self.root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tempfile.NamedTemporaryFile(dir=tmp, delete=False, prefix="download-")

    def commit(self, server: str, run_id: str, path: str, temp: Path, sha: str, size: int) -> Path:
        """Move a finished download into place and index it; returns the blob."""
        blob = self.blob(sha)
        blob.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, blob)
        index = self._index(server, run_id, path)
        index.parent.mkdir(parents=True, exist_ok=True)
        tmp_index = index.with_suffix(".tmp")
        tmp_index.write_text(json.dumps({"sha256": sha, "size": size, "server": server, "run_id": run_id,
                                         "path": path}), encoding="utf-8")
        os.replace(tmp_index, index)
        return blob


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


class TraceIndex:
    """sample id -> trace id of one run's genai evaluation, written when the source loads the
    traces, read when a label is posted back as an assessment (no second pass over the traces)."""

    def __init__(self, root: Path | None = None):
        self.root = (Path(root) if root is not None else default_cache_dir()) / "trace-index"

    def _file(self, server: str, run_id: str, id_key: str) -> Path:
        key = hashlib.sha256(f"{server}\n{run_id}\n{id_key}".encode("utf-8")).hexdigest()
        return self.root / f"{key}.json"

    def save(self, server: str, run_id: str, id_key: str, mapping: dict[str, str]) -> None:
        path = self._file(server, run_id, id_key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(mapping), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass  # only a shortcut: the sink finds the traces itself without it

    def load(self, server: str, run_id: str, id_key: str) -> dict[str, str] | None:
        try:
            return json.loads(self._file(server, run_id, id_key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
