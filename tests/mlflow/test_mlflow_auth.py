"""Credentials and what a server that says no looks like, against a tiny
loopback HTTP server (the real test server runs without auth)."""

from __future__ import annotations

import base64

import pytest

from signoff.credentials import Token, TokenLookup
from signoff.plugin_api import DeliveryError
from signoff.plugins.mlflow import MlflowAuthError, MlflowClient, MlflowServerError, MlflowSink, MlflowSource
from signoff.plugins.mlflow import auth as mlflow_auth
from tests.mlflow.fake_server import UNAUTHENTICATED, FakeServer


@pytest.fixture
def fake(monkeypatch):
    for name in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    server = FakeServer()
    yield server
    server.stop()




def test_the_bearer_token_is_sent_and_a_refusal_says_where_it_came_from(fake, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "s3cret-token")
    fake.reply = UNAUTHENTICATED
    with pytest.raises(MlflowAuthError) as info:
        MlflowClient(fake.url).get_registered_model("m")
    assert fake.seen[-1]["authorization"] == "Bearer s3cret-token"
    message = str(info.value)
    assert message.startswith(f"the MLflow tracking server at {fake.url} said 401 unauthorized (reading registered "
                              f"model 'm'): the credentials from env MLFLOW_TRACKING_TOKEN were refused; set ")
    assert "s3cret" not in message and "s3cret" not in repr(MlflowClient(fake.url))


def test_basic_auth_from_username_and_password(fake, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ann")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "pw:with:colons")
    MlflowClient(fake.url).get_registered_model("m")
    assert fake.seen[-1]["authorization"] == "Basic " + base64.b64encode(b"ann:pw:with:colons").decode()


def test_a_keyring_token_wins_over_the_environment(fake, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "from-env")
    monkeypatch.setattr(mlflow_auth, "find_token",
                        lambda forge, uri: TokenLookup(forge, "h", Token("from-keyring"), "keyring"))
    MlflowClient(fake.url).get_registered_model("m")
    assert fake.seen[-1]["authorization"] == "Bearer from-keyring"


def test_no_credentials_and_401_says_how_to_give_some(fake):
    fake.reply = UNAUTHENTICATED
    with pytest.raises(MlflowAuthError, match="no credentials were sent; set MLFLOW_TRACKING_TOKEN"):
        MlflowSource(tracking_uri=fake.url).load(candidate="models:/m/1", baseline="models:/m/2")
    assert fake.seen[-1]["authorization"] is None


def test_403_forbidden(fake, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "t")
    fake.reply = (403, {"error_code": "PERMISSION_DENIED", "message": "no"}, {})
    with pytest.raises(MlflowAuthError, match="said 403 forbidden"):
        MlflowClient(fake.url).get_registered_model("m")


def test_an_answer_that_is_not_mlflow(fake):
    fake.reply = (200, "<html>login page</html>", {"Content-Type": "text/html"})
    with pytest.raises(MlflowServerError, match="with something that is not MLflow's JSON API .is this the tracking "
                                                "server's URL"):
        MlflowClient(fake.url).get_registered_model("m")


def test_a_busy_server_is_retried_later_with_its_retry_after(fake):
    fake.reply = (503, {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"}, {"Retry-After": "7"})
    with pytest.raises(MlflowServerError, match="failed .* HTTP 503: busy") as info:
        MlflowClient(fake.url).get_registered_model("m")
    assert (info.value.retry, info.value.retry_after) == (True, 7.0)


@pytest.mark.parametrize("reply, retry", [
    (UNAUTHENTICATED, True),                                                       # fix the token, publish again
    ((404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "gone"}, {}), False),
    ((500, {"error_code": "INTERNAL_ERROR", "message": "oops"}, {}), True),
    ((400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "bad tag"}, {}), False),
])
def test_the_sink_tells_the_outbox_whether_to_retry(fake, reply, retry):
    fake.reply = reply
    payload = {"kind": "tags", "tracking_uri": fake.url, "model": "m", "version": "2", "run_id": "r",
               "tags": {"signoff.status": "approved"}}
    with pytest.raises(DeliveryError) as info:
        MlflowSink.create(api_url=fake.url).deliver(payload)
    assert info.value.retry is retry
    assert fake.url in str(info.value)


def test_the_sink_posts_no_commit_statuses():
    from signoff.plugin_api import StatusUpdate

    with pytest.raises(DeliveryError, match="not commit statuses") as info:
        MlflowSink.create().post(StatusUpdate("r", "s", "pending", "d", "c"))
    assert info.value.retry is False


def _artifact_routes(fake, data: bytes) -> dict:
    run = {"info": {"run_id": "r" * 32, "experiment_id": "1", "artifact_uri": "mlflow-artifacts:/1/rrr/artifacts"}}
    fake.routes = {
        "/api/2.0/mlflow/artifacts/list": (200, {"files": [{"path": "big.parquet", "is_dir": False,
                                                            "file_size": len(data)}]}, {}),
        "/api/2.0/mlflow-artifacts/artifacts/1/rrr/artifacts/big.parquet": (200, data, {}),
    }
    return run


def test_a_large_artifact_streams_to_the_cache_with_progress_and_is_not_downloaded_again(fake):
    from signoff.core.tasks import TaskState

    data = bytes(range(256)) * 12_000           # about 3 MB: several chunks
    run = _artifact_routes(fake, data)
    fractions = []
    client = MlflowClient(fake.url)
    path = client.download_artifact(run, "big.parquet", task=TaskState(lambda m, f: fractions.append(f)))
    assert path.read_bytes() == data
    assert len(fractions) >= 3 and fractions == sorted(fractions) and fractions[-1] == 1.0
    proxied = [s for s in fake.seen if "mlflow-artifacts" in s["path"]]
    assert client.download_artifact(run, "big.parquet") == path
    assert [s for s in fake.seen if "mlflow-artifacts" in s["path"]] == proxied   # the second time: from the cache


def test_a_cancelled_download_leaves_nothing_behind(fake, tmp_path):
    from signoff.core.tasks import Cancelled, TaskState
    from signoff.plugins.mlflow.cache import ArtifactCache

    run = _artifact_routes(fake, b"x" * 3_000_000)
    tasks = []
    tasks.append(TaskState(lambda m, f: tasks[0].cancel()))   # the user cancels after the first chunk
    task = tasks[0]
    client = MlflowClient(fake.url, cache=ArtifactCache(tmp_path / "cache"))
    with pytest.raises(Cancelled):
        client.download_artifact(run, "big.parquet", task=task)
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []
    assert not (tmp_path / "cache" / "blobs").exists()
