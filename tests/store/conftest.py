"""Store fixtures: every store test runs on SQLite and on a real PostgreSQL,
each test on a fresh, empty database."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from signoff.store.records import NewRequest, OutboxEntry
from signoff.store.store import Store
from tests.support.postgres import postgres_server  # noqa: F401  (session fixture used below)

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def empty_db_url(backend: str, request: pytest.FixtureRequest, tmp_path):
    """A URL of an empty database (no schema yet) on the parametrised backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    # Only the postgres half starts the server, so `-k sqlite` runs without it.
    server = request.getfixturevalue("postgres_server")
    url = server.create_database()
    yield url
    server.drop_database(url)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("store-template") / "signoff.db"
    Store(f"sqlite:///{path}").close()
    return path


@pytest.fixture(scope="session")
def _postgres_template(postgres_server) -> str:
    url = postgres_server.create_database("signoff_template")
    Store(url).close()  # no connection may stay open on a template
    return url.rsplit("/", 1)[1]


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest, tmp_path):
    """A URL of a fresh database with the schema in place: a copy of one migrated
    once per session (migrating every test's database would double the run time;
    test_store_migrations.py covers migrating an empty one)."""
    if backend == "sqlite":
        path = tmp_path / "signoff.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server = request.getfixturevalue("postgres_server")
    url = server.create_database(template=request.getfixturevalue("_postgres_template"))
    yield url
    server.drop_database(url)


@pytest.fixture
def store(store_url):
    s = Store(store_url)
    yield s
    s.close()


@pytest.fixture
def second_store(store_url, store):
    """Another Store on the same database: a second process, as far as the database can tell."""
    s = Store(store_url)
    yield s
    s.close()


SHA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


def _new_request(sha: str = SHA, *, change_key: str = "main", content_hash: str = "c0ffee",
                 eval_sets: tuple[str, ...] = ("texts",)) -> NewRequest:
    return NewRequest(sha=sha, change_key=change_key, source="git", locator={"repo": "/tmp/repo"},
                      baseline_ref="b" * 40, candidate_ref=sha, title="Tune the classifier",
                      author="dana@example.com", content_hash=content_hash, config_toml="[policy]\n",
                      eval_sets=list(eval_sets), created_by="ci@example.com")


def _comparison_table(n: int = 4) -> pd.DataFrame:
    classes = ["unchanged", "changed", "improved", "regressed", "missing"]
    return pd.DataFrame({
        "id": [f"s{i}" for i in range(n)],
        "class": pd.Categorical([classes[i % 5] for i in range(n)], categories=classes),
        "severity": np.arange(n, dtype=np.int8),
        "input": [f"input {i} <b>markup</b>" for i in range(n)],
        "reference": pd.Series([None] + [f"ref {i}" for i in range(1, n)], dtype=object),
        "baseline_output": [f"out {i}" for i in range(n)],
        "candidate_output": [f"out {i}" if i % 2 else f"new {i}" for i in range(n)],
        "baseline_score": [np.nan] + [float(i) for i in range(1, n)],
        "candidate_score": [float(i) + 0.5 for i in range(n)],
        "input_bytes": pd.Series([b"\x89PNG\x00\xff" * (i + 1) if i % 2 == 0 else None for i in range(n)],
                                 dtype=object),
    })


@pytest.fixture
def sample_table():
    """A per-sample table shaped like app/core/compare.py's, with the awkward parts:
    a categorical class, NaN scores, bytes and missing values."""
    return _comparison_table


@pytest.fixture
def new_request():
    """Builds a NewRequest: new_request(sha=..., change_key=..., content_hash=...)."""
    return _new_request


@pytest.fixture
def make_request():
    """Stores a request with one eval set ('texts'): make_request(store, sha=..., outbox=[...])."""

    def make(store: Store, *, sha: str = SHA, change_key: str = "main", content_hash: str = "c0ffee",
             outbox: list[OutboxEntry] | None = None, status: str = "pending"):
        return store.add_request(_new_request(sha, change_key=change_key, content_hash=content_hash),
                                 comparisons=[("texts", {"samples": 4}, _comparison_table())], status=status,
                                 description="awaiting review: 0/1 SME", outbox=outbox or [],
                                 actor="ci@example.com")

    return make
