"""Signoff against a real MLflow tracking server (tests/mlflow/server.py),
filled with the real mlflow client (tests/mlflow/fill_server.py): the
comparison of two registered versions and of two genai evaluations, `request
--sha`, the write-backs, the artifact cache, and the server going away.

The policy is given the way CI gives it (`--policy FILE` from its checkout of the
default branch, `--repo DIR`, or `config_text=` in process): the runs' own logged
signoff.toml never decides anything, even when it relaxes the policy."""

from __future__ import annotations

import time

import pytest
import requests

from signoff.core.tasks import TaskState
from signoff.service.review import ReviewService
from signoff.store.store import Store
from signoff.plugins.mlflow import (MlflowClient, MlflowSource, list_models, list_versions, source_for_versions,
                            versions_awaiting_review)
from signoff.core.errors import PolicyRefusal
from signoff.core.model import Status
from signoff.core.policy import PolicyVerdict
from signoff.plugins.mlflow.browse import LOOK_ONLY_USER, is_look_only
from tests.mlflow.configs import GENAI_TOML, RELAXED_TOML, classic_toml
from tests.mlflow.expected import expected_classes

pytestmark = pytest.mark.slow

ALICE, BOB, QUINN = "alice@example.com", "bob@example.com", "quinn@example.com"


def classes_of(summary: dict) -> dict[str, dict[str, int]]:
    return {es["eval_set"]: es["classes"] for es in summary["eval_sets"]}


def model_version(world, version: str) -> dict:
    r = requests.get(f"{world.url}/api/2.0/mlflow/model-versions/get",
                     params={"name": world.facts["model"], "version": version}, timeout=10)
    r.raise_for_status()
    return r.json()["model_version"]


def version_tags(world, version: str) -> dict[str, str]:
    return {t["key"]: t["value"] for t in model_version(world, version).get("tags", [])}


@pytest.fixture
def store(cli):
    """The store `signoff` in `cli` uses, for in-process steps between its commands."""
    s = Store(f"sqlite:///{cli.home / 'signoff.db'}")
    yield s
    s.close()


@pytest.fixture
def service(store):
    return ReviewService(store, user="ci@example.com")


def as_user(store, user: str) -> ReviewService:
    return ReviewService(store, user=user)


@pytest.fixture
def policy_file(tmp_path) -> str:
    """signoff.toml as CI's checkout of the default branch has it: 1 SME (alice), 1 QA (quinn)."""
    path = tmp_path / "policy" / "signoff.toml"
    path.parent.mkdir()
    path.write_text(classic_toml())
    return str(path)


@pytest.fixture(scope="module")
def relaxed_v2(mlflow_world):
    """digits-classifier v2's run logs a signoff.toml of its own that waves it through (required = {},
    allow_unreviewed = true), uploaded over the artifact the fill script logged. It must change nothing."""
    run = requests.get(f"{mlflow_world.url}/api/2.0/mlflow/runs/get", params={"run_id": mlflow_world.run_id("2")},
                       timeout=10).json()["run"]
    root = run["info"]["artifact_uri"].split("mlflow-artifacts:/", 1)[1].strip("/")
    url = f"{mlflow_world.url}/api/2.0/mlflow-artifacts/artifacts/{root}/signoff.toml"
    r = requests.put(url, data=RELAXED_TOML.encode(), timeout=30)
    assert r.ok, r.text
    assert requests.get(url, timeout=30).text == RELAXED_TOML
    return RELAXED_TOML


# -- comparing ------------------------------------------------------------------------------

def test_two_registered_versions_give_exactly_the_independently_counted_classes(mlflow_world, service):
    v1, v2 = mlflow_world.facts["versions"]["1"], mlflow_world.facts["versions"]["2"]
    source = MlflowSource(tracking_uri=mlflow_world.url, config_text=classic_toml())
    req = service.create_request(source, sha="models:/digits-classifier/2", candidate="models:/digits-classifier/2",
                                 baseline="models:/digits-classifier@champion")
    got = classes_of(service.summary(req.id))
    all_ids = {r[0] for r in v1["digits"]}
    assert len(all_ids) == v1["digits_samples"]
    assert got["digits"] == expected_classes(v1["digits"], v2["digits"], sample_ids=all_ids)
    assert got["digits"]["missing"] == mlflow_world.facts["dropped_from_v2"]
    assert got["digits-noisy"] == expected_classes(v1["noisy"], v2["noisy"], scored=True)
    assert got["digits-eval"] == expected_classes(v1["eval"], v2["eval"])
    # Every class occurs somewhere, so the counts above check more than one branch.
    assert all(sum(c[k] for c in got.values()) > 0 for k in ("unchanged", "changed", "improved", "regressed"))
    # The request names versions and the commit CI tagged, and the runs' own metrics sit beside the deltas.
    assert (req.candidate_ref, req.baseline_ref) == ("models:/digits-classifier/2", "models:/digits-classifier/1")
    assert req.sha == mlflow_world.commits["2"] and req.author == mlflow_world.facts["author"]
    digits = service.summary(req.id)["eval_sets"][0]
    assert digits["run_metrics"]["baseline"]["accuracy"] == pytest.approx(v1["accuracy"])
    assert digits["run_metrics"]["candidate"]["accuracy"] == pytest.approx(v2["accuracy"])
    assert digits["run_metrics"]["delta"]["accuracy"] == pytest.approx(v2["accuracy"] - v1["accuracy"])
    assert set(digits["slices"]) == {"stroke"}  # from the dataset input's samples


def test_genai_evaluations_compare_by_trace_with_the_scorers_feedback(mlflow_world, service):
    g = mlflow_world.facts["genai"]
    source = MlflowSource(tracking_uri=mlflow_world.url, config_text=GENAI_TOML)
    req = service.create_request(source, sha=g["v2"]["run_id"], baseline=g["v1"]["run_id"])
    assert classes_of(service.summary(req.id))["support-qa"] == expected_classes(g["v1"]["rows"], g["v2"]["rows"],
                                                                                 scored=True)
    table = service.comparison(req.id, "support-qa").set_index("id")
    assert table.loc["q04", "candidate_output"] == "cold" and table.loc["q04", "reference"] == "cold"
    assert table.loc["q04", "input"] == "Opposite of hot?"


def test_request_by_sha_finds_the_run_ci_tagged_and_shows_its_run_metrics(mlflow_world, cli, store, policy_file):
    sha = mlflow_world.commits["2"]
    req = cli.json("request", "--sha", sha, "--source", "mlflow", "--tracking-uri", mlflow_world.url,
                   "--policy", policy_file, "--json")
    assert req["sha"] == sha and req["status"] == "pending"
    assert req["description"].startswith("awaiting review: 0/1 SME, 0/1 QA")   # --policy FILE
    record = store.get_request(req["id"])
    assert record.candidate_ref == "models:/digits-classifier/2"
    assert record.baseline_ref == "models:/digits-classifier/1"                # the champion alias
    assert record.change_key == "candidate/model-v2"                           # the branch CI tagged the run with
    code, out, err = cli("show", str(req["id"]))
    assert code == 0, err
    assert "run metrics" in out and "accuracy" in out


def test_request_by_sha_with_repo_reads_signoff_toml_from_git_at_its_default_branch(mlflow_world, cli):
    sha = mlflow_world.commits["2"]
    req = cli.json("request", "--sha", sha, "--repo", str(mlflow_world.repo), "--source", "mlflow",
                   "--tracking-uri", mlflow_world.url, "--json")
    assert req["description"].startswith("awaiting review: 0/2 SME, 0/1 QA")   # main's signoff.toml asks for 2


def test_a_run_whose_own_signoff_toml_relaxes_the_policy_does_not_change_it(mlflow_world, relaxed_v2, cli, store,
                                                                             policy_file):
    """v2's run logged `required = {}`, `allow_unreviewed = true`: the request still needs what the base
    policy says (--policy FILE: 1 SME + 1 QA; --repo: 2 SMEs + 1 QA) and stays pending, and an
    approval by one SME alone does not open it."""
    sha = mlflow_world.commits["2"]
    args = ("request", "--sha", sha, "--source", "mlflow", "--tracking-uri", mlflow_world.url, "--json")
    by_file = cli.json(*args, "--policy", policy_file)
    assert (by_file["status"], by_file["description"]) == ("pending", "awaiting review: 0/1 SME, 0/1 QA")
    record = store.get_request(by_file["id"])
    assert record.config_toml == classic_toml() and "allow_unreviewed" not in record.config_toml
    assert store.get_request(by_file["id"]).locator.get("resolved", {}).get("config_from") == "given"
    by_repo = cli.json(*args, "--repo", str(mlflow_world.repo))
    assert (by_repo["status"], by_repo["description"]) == ("pending", "awaiting review: 0/2 SME, 0/1 QA")
    assert "allow_unreviewed" not in store.get_request(by_repo["id"]).config_toml
    alice = as_user(store, ALICE)
    assert alice.decide(by_repo["id"], "approve").status.value == "pending"   # 1/2 SME, no QA: still pending
    # Browsing v1 against v2 with the policy file: the same base policy, never the run's.
    comparison = source_for_versions(mlflow_world.url, "digits-classifier", "2", "1", policy=policy_file)
    req = as_user(store, "ci@example.com").create_request(**comparison.request_kwargs())
    assert req.status == "pending" and "allow_unreviewed" not in req.config_toml


def test_artifacts_come_from_the_cache_the_second_time(mlflow_world, monkeypatch):
    downloads = []
    real = requests.Session.request

    def counting(self, method, url, *a, **kw):
        if "/mlflow-artifacts/artifacts/" in url:
            downloads.append(url)
        return real(self, method, url, *a, **kw)

    monkeypatch.setattr(requests.Session, "request", counting)
    progress = []
    task = TaskState(on_progress=lambda msg, frac: progress.append(msg))
    MlflowSource(tracking_uri=mlflow_world.url, config_text=classic_toml()).load(
        candidate="models:/digits-classifier/2", baseline="models:/digits-classifier/1", task=task)
    first = len(downloads)
    assert first >= 6  # 3 tables per side
    assert not [u for u in downloads if u.endswith("/signoff.toml")]   # the runs' own policy is never read
    assert any(m.startswith("downloading eval set 'digits'") for m in progress)
    MlflowSource(tracking_uri=mlflow_world.url, config_text=classic_toml()).load(
        candidate="models:/digits-classifier/2", baseline="models:/digits-classifier/1")
    assert len(downloads) == first, downloads[first:]


# -- browsing, for the app ------------------------------------------------------------------------

def test_browsing_models_and_versions_and_opening_any_two(mlflow_world, service, policy_file):
    models = {m.name: m for m in list_models(mlflow_world.url)}
    assert models["digits-classifier"].aliases == {"champion": "1"}
    versions = list_versions(mlflow_world.url, "digits-classifier")
    assert [v.version for v in versions] == ["2", "1"]
    assert versions[1].aliases == ("champion",) and versions[0].run_id == mlflow_world.run_id("2")
    comparison = source_for_versions(mlflow_world.url, "digits-classifier", "1", "2",  # either way round
                                     policy=policy_file)                               # the server's policy file
    req = service.create_request(**comparison.request_kwargs())
    assert req.candidate_ref == "models:/digits-classifier/1"
    assert set(req.eval_sets) == {"digits", "digits-noisy", "digits-eval"}
    assert req.status == "pending" and not is_look_only(service.config(req.id))
    assert service.config(req.id).policy.required == {"sme": 1, "qa": 1}
    # Not a CI request: its own "sha" and change, and statuses only in the local sink.
    assert (req.sha, req.kind) == ("", "comparison")   # about no commit: its refs are fields
    assert req.change_key == "models:/digits-classifier/1 vs models:/digits-classifier/2"
    assert service.config(req.id).status.sink == "local"
    assert service.latest_for_sha(mlflow_world.commits["1"]) is None


def register_versions(url: str, model: str, count: int, tags: dict[str, dict[str, str]]) -> list[str]:
    """A registered model of its own with `count` versions, each from a new empty run (other
    tests tag digits-classifier, and a world run registered in two models has no one version),
    tagged {version: {key: value}} with the app's REST client; the run ids."""
    runs = []
    with MlflowClient(url) as c:
        experiment = c.post("/api/2.0/mlflow/experiments/create", {"name": f"{model}-runs"},
                            what="creating an experiment")["experiment_id"]
        c.post("/api/2.0/mlflow/registered-models/create", {"name": model}, what="creating a model")
        for i in range(count):
            run = c.post("/api/2.0/mlflow/runs/create", {"experiment_id": experiment, "run_name": f"{model} {i + 1}"},
                         what="creating a run")["run"]["info"]
            c.post("/api/2.0/mlflow/model-versions/create", {"name": model, "run_id": run["run_id"],
                                                             "source": f"{run['artifact_uri']}/model"},
                   what="creating a version")
            runs.append(run["run_id"])
        for version, pairs in tags.items():
            for key, value in pairs.items():
                c.set_model_version_tag(model, version, key, value)
    return runs


def test_versions_awaiting_review_are_the_pending_ones_without_a_request_here(mlflow_world):
    model = "awaiting-unit"
    runs = register_versions(mlflow_world.url, model, 4,
                             {"2": {"signoff.status": "pending"}, "3": {"signoff.status": "pending", "ci": "yes"},
                              "4": {"signoff.status": "approved"}})
    mine = lambda vs: [(v.model, v.version) for v in vs if v.model == model]   # noqa: E731 (others tag versions too)
    waiting = versions_awaiting_review(mlflow_world.url)
    assert mine(waiting) == [(model, "3"), (model, "2")]                          # newest first
    v3 = next(v for v in waiting if v.ref == f"models:/{model}/3")
    assert v3.run_id == runs[2] and v3.tags["ci"] == "yes" and v3.created is not None
    # A version that is already a request's candidate here is not listed.
    assert mine(versions_awaiting_review(mlflow_world.url, known_refs={f"models:/{model}/3"})) == [(model, "2")]
    with MlflowClient(mlflow_world.url) as c:                                     # aliases come from the model
        c.set_alias(model, "challenger", "2")
        assert [v.aliases for v in versions_awaiting_review(mlflow_world.url, client=c)
                if v.ref == f"models:/{model}/2"] == [("challenger",)]


def test_browsing_with_the_repository_as_policy_reads_its_default_branch(mlflow_world, service):
    comparison = source_for_versions(mlflow_world.url, "digits-classifier", "2", "1", policy=str(mlflow_world.repo))
    req = service.create_request(**comparison.request_kwargs())
    assert service.config(req.id).policy.required == {"sme": 2, "qa": 1}     # main's signoff.toml
    assert service.config(req.id).status.sink == "local" and req.status == "pending"


def test_no_policy_opens_a_look_only_comparison_that_can_never_be_approved(mlflow_world, store):
    """No policy for the server: the eval sets come from what the runs logged (never their signoff.toml
    artifact: no_config has none, other_ids has one), and the comparison can never be approved."""
    run = mlflow_world.facts["broken"]["no_config"]
    other = mlflow_world.facts["broken"]["other_ids"]
    for cand, base in ((run, other), (other, run)):
        comparison = source_for_versions(mlflow_world.url, "", f"runs:/{cand}", f"runs:/{base}")
        assert comparison.source.look_only
        req = as_user(store, "ci@example.com").create_request(**comparison.request_kwargs())
        assert req.eval_sets == ["digits"] and req.status == "pending"
        config = as_user(store, ALICE).config(req.id)
        assert is_look_only(config) and config.status.sink == "local"
        assert config.policy.required == {"look-only": 1} and config.roles == {"look-only": (LOOK_ONLY_USER,)}
        for user in (ALICE, BOB, QUINN):        # the reviewers of every real policy: none may decide here
            with pytest.raises(PolicyRefusal, match="holds no role"):
                as_user(store, user).decide(req.id, "approve")
        # Nothing is ever written back to MLflow from a look-only comparison, whatever the verdict.
        approved = PolicyVerdict(status=Status.APPROVED, description="approved")
        assert MlflowSource.status_write_backs(req, config=config, verdict=approved) == []
        assert as_user(store, ALICE).get_request(req.id).status == "pending"


# -- writing back ---------------------------------------------------------------------------------

def test_decisions_tag_the_version_and_approval_moves_the_alias(mlflow_world, store):
    source = MlflowSource(tracking_uri=mlflow_world.url, config_text=classic_toml())
    req = as_user(store, "ci@example.com").create_request(source, sha=mlflow_world.commits["2"])
    rid = str(req.id)
    alice = as_user(store, ALICE)
    alice.decide(req.id, "approve")
    assert alice.publish().delivered == 2                    # the local status and the version's tags
    tags = version_tags(mlflow_world, "2")
    assert tags["signoff.status"] == "pending" and tags["signoff.request"] == rid
    assert tags["signoff.decided_by"] == f"{ALICE} (sme): approve"
    assert "approved" not in model_version(mlflow_world, "2").get("aliases", [])
    quinn = as_user(store, QUINN)
    assert quinn.decide(req.id, "approve").status.value == "approved"
    report = quinn.publish()
    assert (report.delivered, report.waiting, report.errors) == (3, 0, [])   # status, tags, alias
    tags = version_tags(mlflow_world, "2")
    assert tags["signoff.status"] == "approved" and tags["signoff.decided_by"] == f"{QUINN} (qa): approve"
    assert "approved" in model_version(mlflow_world, "2")["aliases"]


def test_labels_on_genai_traces_become_human_assessments(mlflow_world, store):
    g = mlflow_world.facts["genai"]
    source = MlflowSource(tracking_uri=mlflow_world.url, config_text=GENAI_TOML)
    req = as_user(store, "ci@example.com").create_request(source, sha=g["v2"]["run_id"], baseline=g["v1"]["run_id"])
    alice = as_user(store, ALICE)
    alice.set_label(req.id, "support-qa", "q05", verdict="baseline", error="formatting", comment="spelled out")
    alice.set_label(req.id, "support-qa", "q05", correct=False)
    alice.set_label(req.id, "support-qa", "q06", verdict="candidate")
    assert alice.publish().errors == []

    def human_on(sample: str) -> list[dict]:
        with MlflowClient(mlflow_world.url) as client:
            infos = client.search_traces(_experiment_of(client, g["v2"]["run_id"]),
                                         f"metadata.`mlflow.sourceRun` = '{g['v2']['run_id']}'")
            trace = next(i for i in infos if f'"{sample}"' in i["trace_metadata"]["mlflow.traceInputs"])
            return [a for a in client.get_trace_info(trace["trace_id"])["assessments"]
                    if a["source"]["source_type"] == "HUMAN" and a["assessment_name"] == "signoff_review"]

    q05 = human_on("q05")
    assert len(q05) == 1, q05                       # updated in place, not added twice
    assert q05[0]["source"]["source_id"] == ALICE
    assert q05[0]["feedback"]["value"] == {"verdict": "baseline", "correct": False, "error": "formatting"}
    assert q05[0]["rationale"] == "spelled out"
    assert q05[0]["metadata"]["signoff.request"] == str(req.id)
    # A cleared label takes its assessment away.
    alice.set_label(req.id, "support-qa", "q06", verdict=None)
    assert len(human_on("q06")) == 1
    assert alice.publish().errors == []
    assert human_on("q06") == []


def _experiment_of(client, run_id: str) -> str:
    return client.get_run(run_id)["info"]["experiment_id"]


def test_a_server_down_keeps_the_write_back_in_the_outbox_until_publish_after_restart(mlflow_world, cli, store):
    source = MlflowSource(tracking_uri=mlflow_world.url, config_text=classic_toml())
    req = as_user(store, "ci@example.com").create_request(source, sha=mlflow_world.commits["1"],
                                                          baseline="models:/digits-classifier/2")
    server = mlflow_world.server
    server.stop()
    try:
        alice = as_user(store, ALICE)
        assert alice.decide(req.id, "reject", "worse").status.value == "rejected"   # recorded all the same
        for _ in range(2):  # the decision's own attempt, and one more while the server stays down
            report = alice.publish()
            assert report.waiting == 1 and "cannot reach the MLflow tracking server" in report.errors[-1]
            time.sleep(2.5)
    finally:
        server.start()
    # Two failed attempts put the next one a few seconds out; the restart took longer than that.
    deadline = time.monotonic() + 30
    while True:
        code, out, err = cli("publish")
        if code == 0 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert code == 0 and "delivered 1" in out, out + err
    tags = version_tags(mlflow_world, "1")
    assert tags["signoff.status"] == "rejected" and tags["signoff.decided_by"] == f"{ALICE} (sme): reject"
    assert as_user(store, ALICE).publish().delivered == 0  # exactly once: nothing left to post


def test_mlflow_candidate_in_signoff_toml_names_the_version_for_a_commit(mlflow_world, service):
    config = classic_toml().replace('[mlflow]\n', '[mlflow]\ncandidate = "models:/digits-classifier@champion"\n', 1)
    source = MlflowSource(tracking_uri=mlflow_world.url, config_text=config)
    req = service.create_request(source, sha="c" * 40, baseline="models:/digits-classifier/2")
    assert (req.sha, req.candidate_ref) == ("c" * 40, "models:/digits-classifier/1")
