"""File ▸ Browse MLflow… in the real window, on the real service and store,
against the real tracking server of tests/mlflow/conftest.py: a server
configured in Settings, its models and versions listed, two versions
compared, and the request opened with the change classes the mlflow tests
count without Signoff (tests/mlflow/expected.py). Then what goes wrong:
nothing listening, a server that wants a token, a model gone, versions whose
runs logged nothing. The comparison's policy is the server's in Settings (never
the candidate run's own signoff.toml); a server with none opens a look-only
comparison that the dialog says can never be approved.

A screenshot of the dialog for docs/screenshots/ is saved when
SIGNOFF_SCREENSHOT_DIR is set (run under Xvfb, see docs/mlflow.md).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import keyring
import pytest
import requests
from PySide6.QtCore import QCoreApplication, QItemSelectionModel, Qt, QThreadPool
from PySide6.QtWidgets import QDialog

if QCoreApplication.instance() is None:   # QtWebEngine (the Charts tab) wants it before the QApplication
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)

from signoff.service.review import ReviewService  # noqa: E402
from signoff.store.store import Store  # noqa: E402
from signoff.core.errors import PolicyRefusal  # noqa: E402
from signoff.plugins.mlflow.browse import LOOK_ONLY_USER, is_look_only  # noqa: E402
from tests.mlflow.configs import RELAXED_TOML, classic_toml  # noqa: E402
from tests.mlflow.expected import expected_classes  # noqa: E402
from tests.mlflow.fake_server import FakeServer  # noqa: E402
from tests.support.memory_keyring import MemoryKeyring  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.gui]

MODEL = "digits-classifier"
NOTHING_LOGGED = "nothing-logged"
LOAD_TIMEOUT_MS = 180_000
LIST_TIMEOUT_MS = 60_000



@pytest.fixture(autouse=True)
def _no_outside_credentials(monkeypatch):
    """Neither the developer's MLflow variables nor their OS keyring: a keyring in memory."""
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME",
                 "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    previous = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def _no_running_workers(qapp):
    yield
    from signoff.ui import workers

    for w in workers.running_workers():
        w.cancel()
    assert QThreadPool.globalInstance().waitForDone(10_000), "a background worker was still running after the test"


@pytest.fixture
def window(qtbot):
    from signoff.ui.app import create_main_window

    store = Store()     # in this test's own SIGNOFF_HOME (tests/conftest.py)
    w = create_main_window(ReviewService(store, user="alice@example.com"))
    qtbot.addWidget(w)
    w.resize(1400, 850)
    w.show()
    yield w
    browser = w.extension_windows.get("mlflow.browse")
    if browser is not None:
        browser.shutdown()
    w.shutdown()
    store.close()


@pytest.fixture(scope="module")
def nothing_logged(mlflow_world) -> str:
    """A registered model whose two versions come from runs that logged nothing (no table,
    no traces, no signoff.toml), made through the REST API in an experiment of its own."""
    api = f"{mlflow_world.url}/api/2.0/mlflow"

    def post(path: str, body: dict) -> dict:
        r = requests.post(f"{api}/{path}", json=body, timeout=30)
        assert r.ok, f"{path}: {r.status_code} {r.text}"
        return r.json()

    experiment = post("experiments/create", {"name": "browse-ui-nothing-logged"})["experiment_id"]
    post("registered-models/create", {"name": NOTHING_LOGGED})
    for i in (1, 2):
        run = post("runs/create", {"experiment_id": experiment, "run_name": f"nothing {i}"})["run"]["info"]
        post("model-versions/create", {"name": NOTHING_LOGGED, "run_id": run["run_id"],
                                       "source": f"{run['artifact_uri']}/model"})
    return NOTHING_LOGGED


def free_url() -> str:
    """A loopback URL with nothing listening."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def policy_file(tmp_path) -> str:
    """A signoff.toml as a checkout of the default branch has it (1 SME, 1 QA)."""
    path = tmp_path / "checkout" / "signoff.toml"
    path.parent.mkdir()
    path.write_text(classic_toml())
    return str(path)


def configure(window, qtbot, name: str, url: str, policy: str = "") -> None:
    """Settings ▸ Connections ▸ MLflow tracking servers, as a user adds one (with its policy)."""
    settings = window.extras.open_settings()
    settings.sections["mlflow"]._add_mlflow_row(name, url, policy)   # the MLflow plugin's part of Connections
    with qtbot.waitSignal(settings.accepted):
        settings.accept()


def open_browser(window, qtbot):
    window.actions_by_id["mlflow.browse"].trigger()          # File ▸ Browse MLflow… (the plugin's command)
    browser = window.extension_windows["mlflow.browse"]
    assert browser.isVisible()
    return browser


def wait_idle(browser, qtbot, timeout: int = LIST_TIMEOUT_MS) -> None:
    qtbot.waitUntil(lambda: not browser.busy, timeout=timeout)


def shot(widget, name: str) -> None:
    out = os.environ.get("SIGNOFF_SCREENSHOT_DIR")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(Path(out) / name))


# -- the comparison ---------------------------------------------------------------------------

def test_browse_a_configured_server_compare_two_versions_and_review_them(mlflow_world, nothing_logged, window,
                                                                         qtbot, policy_file):
    configure(window, qtbot, "test server", mlflow_world.url, policy_file)
    from signoff.settings import load_settings

    assert load_settings().get("connections.mlflow_servers") == [{"name": "test server", "url": mlflow_world.url,
                                                                  "policy": policy_file}]
    browser = open_browser(window, qtbot)

    # The configured server is chosen and its models listed, off the GUI thread, with a busy bar.
    assert browser.server_combo.currentData() == mlflow_world.url
    assert browser.busy and browser.busy_row.isVisible()
    qtbot.waitUntil(lambda: MODEL in browser.model_names(), timeout=LIST_TIMEOUT_MS)
    wait_idle(browser, qtbot)
    assert not browser.busy_row.isVisible() and browser.error_text == ""
    assert {MODEL, NOTHING_LOGGED} <= set(browser.model_names())
    row = next(browser.models_tree.topLevelItem(i) for i in range(browser.models_tree.topLevelItemCount())
               if browser.models_tree.topLevelItem(i).text(0) == MODEL)
    assert (row.text(1), row.text(2)) == ("2", "@champion → v1")          # latest version, aliases
    browser.filter_edit.setText("digits")
    assert browser.model_names() == [MODEL]
    browser.filter_edit.setText("champion")                               # aliases match too
    assert MODEL in browser.model_names() and NOTHING_LOGGED not in browser.model_names()   # (other models
    # on the shared test server have a @champion too: the inspection tests' production model)
    browser.filter_edit.clear()

    # Choosing the model lists its versions: newest first, with alias, run and the commit CI tagged.
    with qtbot.waitSignal(browser.versionsListed, timeout=LIST_TIMEOUT_MS) as listed:
        assert browser.select_model(MODEL)
    assert listed.args == [MODEL, 2]
    rows = browser.version_rows()
    assert [r["version"] for r in rows] == ["2", "1"]
    assert [r["aliases"] for r in rows] == ["", "@champion"]
    assert [r["run"] for r in rows] == [mlflow_world.run_id("2")[:7], mlflow_world.run_id("1")[:7]]
    assert [r["commit"] for r in rows] == [mlflow_world.commits["2"][:7], mlflow_world.commits["1"][:7]]
    assert all(r["status"] == "READY" and r["created"] for r in rows)
    assert browser.chosen() == ("2", "1")                                 # the newer is the candidate
    assert browser.policy() == policy_file and not browser.look_only      # the server's policy from Settings
    assert browser.policy_note.text().startswith(f"The policy is {policy_file}")
    shot(browser, "mlflow-browser.png")

    browser.swap()
    assert browser.chosen() == ("1", "2")
    tree = browser.versions_tree                                          # "compare the selected two"
    for i in range(tree.topLevelItemCount()):
        tree.selectionModel().select(tree.model().index(i, 0), QItemSelectionModel.SelectionFlag.Select
                                     | QItemSelectionModel.SelectionFlag.Rows)
    assert browser.chosen() == ("2", "1")
    assert browser.open_button.isEnabled()

    # Open comparison: made on a worker, then the window lists the new request and opens it.
    with qtbot.waitSignal(window.comparisonLoaded, timeout=LOAD_TIMEOUT_MS):
        qtbot.mouseClick(browser.open_button, Qt.MouseButton.LeftButton)
        assert browser.busy and not browser.models_tree.isEnabled()       # nothing else starts meanwhile
    assert not browser.isVisible()
    req = window.request
    assert (req.candidate_ref, req.baseline_ref) == (f"models:/{MODEL}/2", f"models:/{MODEL}/1")
    assert req.source == "mlflow" and (req.sha, req.kind) == ("", "comparison")
    assert (req.candidate_ref, req.baseline_ref) == (f"models:/{MODEL}/2", f"models:/{MODEL}/1")
    assert window.inbox.current_request_id() == req.id
    assert window.inbox.column_texts("commit") == ["v2 vs v1"]
    assert window.inbox.column_texts("model") == [f"{MODEL} v2"]
    assert window.service.config(req.id).status.sink == "local"          # no commit to post a status on
    assert window.service.config(req.id).policy.required == {"sme": 1, "qa": 1}   # the file's, not the run's
    assert not is_look_only(window.service.config(req.id))

    # The window shows, per eval set, exactly the classes counted without Signoff.
    v1, v2 = mlflow_world.facts["versions"]["1"], mlflow_world.facts["versions"]["2"]
    expected = {
        "digits": expected_classes(v1["digits"], v2["digits"], sample_ids={r[0] for r in v1["digits"]}),
        "digits-noisy": expected_classes(v1["noisy"], v2["noisy"], scored=True),
        "digits-eval": expected_classes(v1["eval"], v2["eval"]),
    }
    assert set(req.eval_sets) == set(expected)
    for eval_set in req.eval_sets:
        if window.eval_set != eval_set:
            with qtbot.waitSignal(window.comparisonLoaded, timeout=LOAD_TIMEOUT_MS):
                window.eval_set_combo.setCurrentIndex(window.eval_set_combo.findData(eval_set))
        counts = {c: n for c, n in window.model.class_counts().items() if n or c in expected[eval_set]}
        assert counts == expected[eval_set], eval_set
        for cls, button in window.class_buttons.items():
            assert button.text() == f"{cls} 0/{expected[eval_set].get(cls, 0):,}"   # labeled / in the class
        assert len(window.model.frame) == sum(expected[eval_set].values())


# -- what goes wrong ----------------------------------------------------------------------------

def test_nothing_listening_is_one_message_and_the_dialog_stays_usable(mlflow_world, window, qtbot):
    browser = open_browser(window, qtbot)
    assert browser.server_combo.count() == 0 and "No MLflow server in Settings yet" in browser.server_note.text()

    browser.url_edit.setText("mlflow.example.com")                      # no scheme: said at once, no call
    browser.list_models()
    assert "give its http:// or https:// URL" in browser.error_text and not browser.busy

    dead = free_url()
    browser.url_edit.setText(dead)
    with qtbot.waitSignal(browser.failed, timeout=LIST_TIMEOUT_MS):
        qtbot.keyClick(browser.url_edit, Qt.Key.Key_Return)
    assert browser.error_text.startswith(f"Cannot reach the MLflow tracking server at {dead} (connection refused)")
    assert "Traceback" not in browser.error_text and "\n" not in browser.error_text
    assert browser.isVisible() and not browser.busy and browser.list_button.isEnabled()

    # Still usable: the right URL lists the models, and saving it puts it in Settings.
    browser.url_edit.setText(mlflow_world.url)
    with qtbot.waitSignal(browser.modelsListed, timeout=LIST_TIMEOUT_MS):
        browser.list_models()
    assert browser.error_text == "" and MODEL in browser.model_names()
    assert browser.save_server()
    from signoff.settings import load_settings

    host = mlflow_world.url.split("://", 1)[1]
    assert load_settings().get("connections.mlflow_servers") == [{"name": host, "url": mlflow_world.url}]
    assert browser.server_combo.currentData() == mlflow_world.url


def test_versions_whose_runs_logged_nothing_say_so_and_open_nothing(mlflow_world, nothing_logged, window, qtbot):
    configure(window, qtbot, "test server", mlflow_world.url)
    browser = open_browser(window, qtbot)
    qtbot.waitUntil(lambda: NOTHING_LOGGED in browser.model_names(), timeout=LIST_TIMEOUT_MS)
    with qtbot.waitSignal(browser.versionsListed, timeout=LIST_TIMEOUT_MS):
        browser.select_model(NOTHING_LOGGED)
    assert browser.chosen() == ("2", "1")
    assert browser.look_only                                             # no policy in Settings
    with qtbot.waitSignal(browser.failed, timeout=LOAD_TIMEOUT_MS):
        browser.open_comparison()
    assert "has no logged tables (mlflow.log_table) and no genai evaluation traces: nothing to compare" \
        in browser.error_text
    assert browser.isVisible() and window.service.list_requests() == [] and window.request is None
    assert browser.models_tree.isEnabled() and browser.open_button.isEnabled()


LOOK_ONLY_MODEL = "look-only-ui"


@pytest.fixture(scope="module")
def look_only_model(mlflow_world) -> str:
    """A registered model of its own, two versions from new runs (the world's runs stay out of other
    models) that each log one table the way mlflow.log_table does (the artifact and the
    mlflow.loggedArtifacts tag); v2's run also logs a signoff.toml of its own, which must not be read."""
    from signoff.plugins.mlflow import MlflowClient

    def put(root: str, path: str, data: bytes) -> None:
        r = requests.put(f"{mlflow_world.url}/api/2.0/mlflow-artifacts/artifacts/{root}/{path}", data=data, timeout=30)
        assert r.ok, r.text

    with MlflowClient(mlflow_world.url) as c:
        experiment = c.post("/api/2.0/mlflow/experiments/create", {"name": "browse-ui-look-only"},
                            what="creating an experiment")["experiment_id"]
        c.post("/api/2.0/mlflow/registered-models/create", {"name": LOOK_ONLY_MODEL}, what="creating a model")
        for version, outputs in (("1", ["a", "b", "c"]), ("2", ["a", "B", "c"])):
            tags = [{"key": "mlflow.loggedArtifacts", "value": '[{"path": "predictions/answers.json", "type": "table"}]'}]
            run = c.post("/api/2.0/mlflow/runs/create", {"experiment_id": experiment, "run_name": f"look-only v{version}",
                                                         "tags": tags}, what="creating a run")["run"]["info"]
            root = run["artifact_uri"].split("mlflow-artifacts:/", 1)[1].strip("/")
            table = {"columns": ["id", "input", "output"], "data": [[f"q{i}", f"question {i}", o]
                                                                   for i, o in enumerate(outputs)]}
            put(root, "predictions/answers.json", json.dumps(table).encode())
            if version == "2":
                put(root, "signoff.toml", RELAXED_TOML.encode())
            c.post("/api/2.0/mlflow/model-versions/create",
                   {"name": LOOK_ONLY_MODEL, "run_id": run["run_id"], "source": f"{run['artifact_uri']}/model"},
                   what="creating a version")
    return LOOK_ONLY_MODEL


def test_a_server_with_no_policy_opens_a_look_only_comparison_and_says_so(mlflow_world, look_only_model, window,
                                                                          qtbot, policy_file):
    configure(window, qtbot, "test server", mlflow_world.url)            # no policy for this server
    browser = open_browser(window, qtbot)
    qtbot.waitUntil(lambda: LOOK_ONLY_MODEL in browser.model_names(), timeout=LIST_TIMEOUT_MS)
    assert browser.look_only and browser.policy() == ""
    note = browser.policy_note.text()
    assert note.startswith("Look-only. No policy is configured for this server")
    assert "it can never be approved" in note and "nothing is posted to MLflow or a forge" in note
    browser.policy_edit.setText(policy_file)                             # choosing one here says whose it is
    assert not browser.look_only and browser.policy_note.text().startswith(f"The policy is {policy_file}")
    browser.policy_edit.clear()
    assert browser.look_only
    with qtbot.waitSignal(browser.versionsListed, timeout=LIST_TIMEOUT_MS):
        browser.select_model(LOOK_ONLY_MODEL)
    with qtbot.waitSignal(window.comparisonLoaded, timeout=LOAD_TIMEOUT_MS):
        qtbot.mouseClick(browser.open_button, Qt.MouseButton.LeftButton)
    req = window.request
    assert (req.candidate_ref, req.eval_sets) == (f"models:/{LOOK_ONLY_MODEL}/2", ["answers"])
    assert window.model.class_counts()["changed"] == 1          # b -> B, compared as text
    config = window.service.config(req.id)
    assert is_look_only(config) and config.roles == {"look-only": (LOOK_ONLY_USER,)}
    assert "allow_unreviewed" not in req.config_toml and req.status == "pending"
    from signoff.plugins.mlflow.config import mlflow_config

    mc = mlflow_config(config)
    assert config.status.sink == "local" and not mc.tags_on_decision and not mc.alias_on_approval
    for user in ("alice@example.com", "bob@example.com", "quinn@example.com"):
        with pytest.raises(PolicyRefusal, match="holds no role"):
            ReviewService(window.service.store, user=user).decide(req.id, "approve")
    assert window.service.get_request(req.id).status == "pending"
    states = ("waiting", "delivered", "superseded", "failed")
    assert {i.sink for i in window.service.store.outbox_items(states=states) if i.request_id == req.id} <= {"local"}


@pytest.fixture
def fake():
    server = FakeServer()
    yield server
    server.stop()


def test_a_server_that_wants_a_token_says_how_to_give_one_and_takes_it(fake, window, qtbot, _no_outside_credentials):
    fake.routes = {"/api/2.0/mlflow/registered-models/search": (
        200, {"registered_models": [{"name": "m", "latest_versions": [{"version": "3"}]}]}, {})}
    fake.authorization = "Bearer s3cret"
    configure(window, qtbot, "locked", fake.url)
    browser = open_browser(window, qtbot)
    qtbot.waitUntil(lambda: bool(browser.error_text), timeout=LIST_TIMEOUT_MS)
    text = browser.error_text
    assert text.startswith(f"The MLflow tracking server at {fake.url} said 401 unauthorized (listing registered "
                           f"models): no credentials were sent; set MLFLOW_TRACKING_TOKEN")
    assert "File ▸ Browse MLflow… ▸ Token…" in text
    assert browser.model_names() == [] and not browser.busy

    # Token… stores it in the OS keyring for this host, and the models are listed with it.
    with qtbot.waitSignal(browser.modelsListed, timeout=LIST_TIMEOUT_MS):
        assert browser.save_token("s3cret")
    assert browser.model_names() == ["m"] and browser.error_text == ""
    assert "credentials: keyring" in browser.server_note.text()
    host = fake.url.split("://", 1)[1]
    assert _no_outside_credentials.data == {("signoff", f"mlflow@{host}"): "s3cret"}
    assert "s3cret" not in browser.server_note.text()


def test_a_model_gone_since_the_list_is_one_message(fake, window, qtbot):
    fake.routes = {
        "/api/2.0/mlflow/registered-models/search": (200, {"registered_models": [{"name": "gone"}]}, {}),
        "/api/2.0/mlflow/registered-models/get": (404, {"error_code": "RESOURCE_DOES_NOT_EXIST",
                                                        "message": "Registered Model with name=gone not found"}, {}),
    }
    browser = open_browser(window, qtbot)
    browser.url_edit.setText(fake.url)
    with qtbot.waitSignal(browser.modelsListed, timeout=LIST_TIMEOUT_MS):
        browser.list_models()
    with qtbot.waitSignal(browser.failed, timeout=LIST_TIMEOUT_MS):
        browser.select_model("gone")
    assert browser.error_text == f"No registered model 'gone' on the MLflow tracking server at {fake.url}"
    assert browser.version_rows() == [] and not browser.open_button.isEnabled()


def test_cancel_drops_the_listing(fake, window, qtbot):
    import threading

    release = threading.Event()
    original = fake.httpd.RequestHandlerClass._answer

    def slow(handler):
        release.wait(10)
        original(handler)

    fake.httpd.RequestHandlerClass._answer = slow
    fake.httpd.RequestHandlerClass.do_GET = slow
    fake.routes = {"/api/2.0/mlflow/registered-models/search": (200, {"registered_models": [{"name": "m"}]}, {})}
    browser = open_browser(window, qtbot)
    browser.url_edit.setText(fake.url)
    browser.list_models()
    assert browser.busy and browser.cancel_button.isVisible()
    qtbot.mouseClick(browser.cancel_button, Qt.MouseButton.LeftButton)
    assert not browser.busy and "Cancelled" in browser.server_note.text()
    release.set()
    qtbot.wait(300)
    assert browser.model_names() == []          # the late answer is dropped


# -- the inbox's "On MLflow (not opened here yet)" ------------------------------------------------

AWAITING = "awaiting-review"


AWAITING_COMMIT = "feedc0de" * 5      # tagged on v2's run only; no world commit starts like it


@pytest.fixture(scope="module")
def awaiting_model(mlflow_world) -> str:
    """A registered model of its own, its three versions from new empty runs (a world run registered
    in a second model would resolve to no one version for `signoff request --sha`): CI tagged v2
    (@challenger, its run tagged with a commit) and v3 for review."""
    from signoff.plugins.mlflow import MlflowClient

    with MlflowClient(mlflow_world.url) as c:
        experiment = c.post("/api/2.0/mlflow/experiments/create", {"name": "inbox-awaiting"},
                            what="creating an experiment")["experiment_id"]
        c.post("/api/2.0/mlflow/registered-models/create", {"name": AWAITING}, what="creating a model")
        for version in ("1", "2", "3"):
            tags = [{"key": "mlflow.source.git.commit", "value": AWAITING_COMMIT}] if version == "2" else []
            run = c.post("/api/2.0/mlflow/runs/create", {"experiment_id": experiment, "run_name": f"v{version}",
                                                         "tags": tags}, what="creating a run")["run"]["info"]
            c.post("/api/2.0/mlflow/model-versions/create",
                   {"name": AWAITING, "run_id": run["run_id"], "source": f"{run['artifact_uri']}/model"},
                   what="creating a version")
        for version in ("2", "3"):
            c.set_model_version_tag(AWAITING, version, "signoff.status", "pending")
        c.set_alias(AWAITING, "challenger", "2")
    return AWAITING


@pytest.fixture
def digits_v2_awaiting(mlflow_world):
    """digits-classifier v2 tagged for review (it has tables to compare), untagged afterwards."""
    from signoff.plugins.mlflow import MlflowClient

    with MlflowClient(mlflow_world.url) as c:
        c.set_model_version_tag(MODEL, "2", "signoff.status", "pending")
    yield
    r = requests.delete(f"{mlflow_world.url}/api/2.0/mlflow/model-versions/delete-tag",
                        json={"name": MODEL, "version": "2", "key": "signoff.status"}, timeout=30)
    assert r.ok, r.text


def awaiting(section) -> list[dict[str, str]]:
    return [r for r in section.awaiting_rows() if r["model"] == AWAITING]


def mlflow_section(window):
    """The MLflow plugin's section under the inbox (a UI extension, plugins/mlflow/ui/inbox_section.py)."""
    return window.inbox.sections["mlflow"]


def refresh(window, qtbot):
    """View ▸ Refresh, waiting for the MLflow section's worker."""
    with qtbot.waitSignal(mlflow_section(window).mlflowListed, timeout=LIST_TIMEOUT_MS):
        window.actions_by_id["view.refresh"].trigger()
        assert mlflow_section(window).mlflow_busy                        # on a worker, the window goes on


def test_the_inbox_lists_versions_ci_tagged_for_review_and_opens_one(mlflow_world, awaiting_model,
                                                                     digits_v2_awaiting, window, qtbot, policy_file):
    inbox, section = window.inbox, mlflow_section(window)
    assert section.isHidden()                                            # no MLflow server in Settings
    configure(window, qtbot, "test server", mlflow_world.url, policy_file)
    refresh(window, qtbot)
    assert section.isVisible() and section.mlflow_note_text == ""
    rows = awaiting(section)
    assert [r["version"] for r in rows] == ["v3", "v2"]                  # newest first; v1 is not tagged
    v2 = rows[1]
    assert (v2["server"], v2["aliases"], v2["commit"]) == ("test server", "@challenger", AWAITING_COMMIT[:7])
    assert v2["created"]
    assert [r["version"] for r in section.awaiting_rows() if r["model"] == MODEL] == ["v2"]

    # Double-clicking digits-classifier v2 opens Browse MLflow on it: v2 the candidate, @champion the baseline.
    tree = section.mlflow_list
    item = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
                if (tree.topLevelItem(i).text(1), tree.topLevelItem(i).text(2)) == (MODEL, "v2"))
    tree.scrollToItem(item)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(item).center())
    qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(item).center())
    browser = section.mlflow_browser
    assert browser is not None and browser.isVisible()
    qtbot.waitUntil(lambda: browser.chosen() == ("2", "1") and not browser.busy, timeout=LIST_TIMEOUT_MS)
    assert browser.url == mlflow_world.url and browser.model == MODEL and browser.error_text == ""
    assert browser.policy() == policy_file                               # the server's policy from Settings

    # Open comparison: the window opens the new request, and v2 leaves the MLflow section at once.
    with qtbot.waitSignal(window.comparisonLoaded, timeout=LOAD_TIMEOUT_MS):
        qtbot.mouseClick(browser.open_button, Qt.MouseButton.LeftButton)
    req = window.request
    assert (req.candidate_ref, req.baseline_ref) == (f"models:/{MODEL}/2", f"models:/{MODEL}/1")
    assert inbox.current_request_id() == req.id and inbox.column_texts("commit") == ["v2 vs v1"]
    assert window.service.config(req.id).policy.required == {"sme": 1, "qa": 1}
    assert [r["model"] for r in section.awaiting_rows()].count(MODEL) == 0
    assert [r["version"] for r in awaiting(section)] == ["v3", "v2"]

    # Asked again: a version with a request here stays out.
    refresh(window, qtbot)
    assert [r["model"] for r in section.awaiting_rows()].count(MODEL) == 0
    assert [r["version"] for r in awaiting(section)] == ["v3", "v2"]
    inbox.shutdown()   # the sections' workers too


def test_an_unreachable_server_is_one_quiet_line_in_the_inbox(mlflow_world, awaiting_model, window, qtbot):
    dead = free_url()
    configure(window, qtbot, "gone", dead)
    configure(window, qtbot, "test server", mlflow_world.url)
    refresh(window, qtbot)
    section = mlflow_section(window)
    note = section.mlflow_note_text
    assert note.startswith(f"gone: cannot reach the MLflow tracking server at {dead} (connection refused)")
    assert "\n" not in note and "Traceback" not in note
    assert [r["version"] for r in awaiting(section)] == ["v3", "v2"]       # the other server still lists
    assert all(r["server"] == "test server" for r in section.awaiting_rows())
    assert not [w for w in window.findChildren(QDialog) if w.isVisible()]  # no dialog
    section.mlflow_toggle.click()                                          # collapsible
    assert not section.mlflow_list.isVisible() and section.mlflow_toggle.isVisible()
    section.mlflow_toggle.click()
    assert section.mlflow_list.isVisible()
