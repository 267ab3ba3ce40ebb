"""The MLflow anchor read back (issue 11, docs/trust.md "Anchors"): each posted tags write-back
carries the audit head as the model-version tag `signoff.audit_head`; `signoff audit verify`
reads it back from the real tracking server (tests/mlflow/server.py) and checks it against the
log: it matches an intact log, it names the tag when the whole log is reset, and a server that
cannot be reached is listed as not checked, never as OK.

One set-up for the module (a request for digits-classifier v2, approved by alice and quinn with
signed decisions, published); each test verifies its own copy of that SQLite store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests

from signoff.cli.main import main
from signoff.core.audit import GENESIS
from signoff.service import signer as signer_module
from signoff.plugins.mlflow.writeback import ANCHOR_TAG as MLFLOW_TAG
from signoff.service.review import ReviewService
from signoff.store.store import Store
from signoff.plugins.mlflow import MlflowSource
from tests.mlflow.configs import classic_toml
from tests.store.test_store_audit import raw_sql
from tests.support import keys

pytestmark = pytest.mark.slow

ALICE, QUINN = "alice@example.com", "quinn@example.com"
VERSION = "2"


@pytest.fixture(scope="module")
def anchored(mlflow_world, tmp_path_factory):
    """(the pristine store file, the anchor of the last MLflow write-back the log says it posted)."""
    base = tmp_path_factory.mktemp("mlflow-tag-anchor")
    db = base / "pristine.db"
    with pytest.MonkeyPatch.context() as mp:   # the function-scoped autouse isolation is not active here
        mp.setenv("HOME", str(base))
        mp.setenv("SIGNOFF_HOME", str(base / "signoff-home"))
        for name in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
                     "SIGNOFF_SIGNING_KEY", "SSH_AUTH_SOCK"):
            mp.delenv(name, raising=False)
        mp.setattr(signer_module, "signer_for", lambda user, allowed_keys=None: keys.signer(user))
        store = Store(f"sqlite:///{db}")
        try:
            source = MlflowSource(tracking_uri=mlflow_world.url, config_text=classic_toml())
            req = ReviewService(store, user="ci@example.com").create_request(source, sha=mlflow_world.commits[VERSION])
            ReviewService(store, user=ALICE).decide(req.id, "approve")
            quinn = ReviewService(store, user=QUINN)
            assert quinn.decide(req.id, "approve").status.value == "approved"
            report = ReviewService(store, user=QUINN).publish()
            assert report.errors == [] and report.waiting == 0, report.errors
            posted = [e for e in store.audit_entries()
                      if e.action == "status.posted" and e.payload.get("sink") == "mlflow"]
            assert posted, "no MLflow write-back was anchored"
            anchor = posted[-1].payload["anchor"]
        finally:
            store.close()
    return db, anchor


@pytest.fixture
def store_url(anchored, tmp_path, monkeypatch) -> str:
    pristine, _ = anchored
    copy = tmp_path / "signoff.db"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{pristine}{suffix}").exists():
            shutil.copy(f"{pristine}{suffix}", f"{copy}{suffix}")
    url = f"sqlite:///{copy}"
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", url)
    return url


def verify(capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["audit", "verify"])
    return code, capsys.readouterr().out


def server_tag(world) -> str:
    r = requests.get(f"{world.url}/api/2.0/mlflow/model-versions/get",
                     params={"name": world.facts["model"], "version": VERSION}, timeout=10)
    r.raise_for_status()
    return {t["key"]: t["value"] for t in r.json()["model_version"].get("tags", [])}[MLFLOW_TAG]


def test_the_tag_on_the_version_is_read_back_and_matches_the_log(mlflow_world, anchored, store_url, capsys):
    _, anchor = anchored
    assert server_tag(mlflow_world) == f"{anchor['count']}-{anchor['hash']}"
    code, out = verify(capsys)
    assert code == 0, out
    model = mlflow_world.facts["model"]
    assert f"checked anchor: mlflow tag on {model} v{VERSION}: entry {anchor['count']} matches" in out
    assert "not read back here" not in out and "not checked: mlflow" not in out


def test_a_reset_log_is_told_by_the_mlflow_tag(mlflow_world, anchored, store_url, capsys):
    """Everything deleted and the head reset, local statuses too: the outbox still says where the tags
    went, and the tag on the server anchors an entry the log no longer holds."""
    _, anchor = anchored
    raw_sql(store_url, "DELETE FROM audit_log", f"UPDATE audit_head SET count = 0, last_hash = '{GENESIS}'",
            "DELETE FROM labels", "DELETE FROM label_statements", "DELETE FROM decisions", "DELETE FROM comparisons",
            "DELETE FROM requests", "DELETE FROM local_statuses")
    code, out = verify(capsys)
    assert code == 1 and "TAMPERED" in out, out
    model = mlflow_world.facts["model"]
    assert f"mlflow tag on {model} v{VERSION} anchors entry {anchor['count']}" in out
    assert "which the log does not hold" in out
    assert "local status" not in out          # the tag alone told


def test_a_server_that_cannot_be_reached_is_not_checked_never_ok(mlflow_world, store_url, capsys):
    server = mlflow_world.server
    server.stop()
    try:
        code, out = verify(capsys)
    finally:
        server.start()
    model = mlflow_world.facts["model"]
    assert code == 0, out                     # the log itself is intact; the tag is just not read
    assert f"not checked: mlflow tag on {model} v{VERSION} ({mlflow_world.url}): not read back " \
           f"(cannot reach the MLflow tracking server" in out, out
    assert "checked anchor: mlflow tag" not in out
    assert "checked anchor: local status" in out
