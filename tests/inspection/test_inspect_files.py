"""Periodic inspection from a drop of prediction files (app/service/inspection.py), through the
real service and store (SQLite), with signed labels; and the CLI's `inspect --json` / `show --json`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from signoff.core.errors import ConfigError, InputError
from signoff.service.inspection import InspectionService, error_interval, parse_since, seeded_sample
from signoff.service.review import ReviewService
from signoff.store.store import Store
from tests.support import keys
from tests.support.inspection import INSPECTION_POLICY
from tests.support import subprocess_pythonpath

NOW = datetime(2025, 6, 30, 12, 0, tzinfo=timezone.utc)
# A [status] that posts to a forge: an inspection must replace it with the local sink.
POLICY = INSPECTION_POLICY + """
[status]
sink = "github"
repo = "acme/bot"
"""


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.close()


@pytest.fixture
def drop(tmp_path) -> Path:
    """Two files of production predictions, 60 of them, one every 6 hours back from NOW."""
    d = tmp_path / "drop"
    d.mkdir()
    rows = [{"id": f"p{i:03d}", "input": f"question {i}", "output": f"answer {i}",
             "timestamp": (NOW - timedelta(hours=6 * i)).isoformat()} for i in range(60)]
    pd.DataFrame(rows[:30]).to_json(d / "a.jsonl", orient="records", lines=True)
    pd.DataFrame(rows[30:]).to_csv(d / "b.csv", index=False)
    return d


@pytest.fixture
def policy(tmp_path) -> str:
    p = tmp_path / "policy" / "signoff.toml"
    p.parent.mkdir()
    p.write_text(POLICY)
    return str(p)


def test_sampling_is_seeded_and_order_free():
    frame = pd.DataFrame({"id": [f"x{i}" for i in range(500)], "output": range(500)})
    a = seeded_sample(frame, 40, seed=7)
    b = seeded_sample(frame.sample(frac=1, random_state=3), 40, seed=7)   # same rows, shuffled
    assert list(a["id"]) == list(b["id"]) and len(a) == 40
    assert list(seeded_sample(frame, 40, seed=8)["id"]) != list(a["id"])
    assert len(seeded_sample(frame, 900, seed=1)) == 500


def test_interval_is_statsmodels_and_since_parses():
    e = error_interval(3, 40, method="wilson")
    assert (e["low"], e["high"]) == pytest.approx(proportion_confint(3, 40, alpha=0.05, method="wilson"))
    e = error_interval(0, 20, method="clopper-pearson", confidence=0.9)
    assert e["error_rate"] == 0 and e["low"] == 0
    assert e["high"] == pytest.approx(proportion_confint(0, 20, alpha=0.1, method="beta")[1])
    assert error_interval(0, 0)["error_rate"] is None
    assert parse_since("7d") == timedelta(days=7) and parse_since("12h") == timedelta(hours=12)
    with pytest.raises(InputError, match="--since 'soon'"):
        parse_since("soon")


def test_inspection_from_files_is_reviewed_and_estimated(store, drop, policy):
    ci = InspectionService(ReviewService(store, user="ci@example.com"))
    req = ci.create(files=str(drop), since="7d", sample=20, seed=42, policy=policy, now=NOW)
    assert req.kind == "inspection" and req.sha == "" and req.status == "pending"
    insp = store.inspection(req.id)
    assert insp.population == 29            # one every 6 hours: 0h … 168h (exactly 7 days old still counts)
    assert insp.subject == f"files:{drop}" and insp.seed == 42
    table = ReviewService(store, user="quinn@example.com").comparison(req.id, "production")
    assert len(table) == 20
    # The same seed over the same files draws the same predictions.
    again = ci.create(files=str(drop), since="7d", sample=20, seed=42, policy=policy, now=NOW)
    assert sorted(ReviewService(store).comparison(again.id, "production")["id"]) == sorted(table["id"])
    # `--since` keeps only the window: none older than 7 days.
    stamps = pd.to_datetime(table["timestamp"], utc=True)
    assert (stamps >= NOW - timedelta(days=7)).all()
    # An inspection is about no commit: `status --sha` (latest_for_sha) never sees it; the status is local.
    assert store.requests_for_sha("") == [] and ci.review.latest_for_sha("0" * 40) is None
    assert {i.sink for i in store.outbox_items()} == {"local"}

    quinn = ReviewService(store, user="quinn@example.com")
    ids = sorted(table["id"])
    for sid in ids[:4]:
        quinn.set_label(req.id, "production", sid, correct=False, error="wrong answer")
    for sid in ids[4:]:
        quinn.set_label(req.id, "production", sid, correct=True)
    # A label by someone in no required role does not count.
    ReviewService(store, user="carol@example.com").set_label(req.id, "production", ids[5], correct=False)
    e = InspectionService(quinn).record_estimate(req.id)
    assert (e["errors"], e["labeled"]) == (4, 20)
    assert e["error_rate"] == pytest.approx(0.2)
    assert (e["low"], e["high"]) == pytest.approx(proportion_confint(4, 20, alpha=0.05, method="wilson"))
    kept = store.inspection(req.id)
    assert kept.error_rate == pytest.approx(0.2) and kept.labeled == 20 and kept.estimated_at is not None
    assert "inspection.estimate" in [a.action for a in store.audit_entries()]
    verdict = quinn.decide(req.id, "approve", "production looks fine")
    assert verdict.status.value == "approved"
    # The trend over inspections of the same drop: the estimated one.
    assert [p["request"] for p in InspectionService(quinn).trend(f"files:{drop}")] == [req.id]


def test_no_policy_no_inspection(store, drop):
    with pytest.raises(ConfigError, match="no policy for an inspection"):
        InspectionService(ReviewService(store, user="ci@example.com")).create(files=str(drop), sample=5, seed=1)


@pytest.mark.parametrize("source, options, message", [
    ("", {"files": "x", "model": "m"}, "give the options of one source, not of files and mlflow"),
    ("", {}, "inspect needs a source of production predictions (--source files: --files; --source mlflow: "),
    ("git", {"files": "x"}, "the git source cannot be inspected; sources that can: files, mlflow"),
    ("mlflow", {"files": "x"}, "--files is not an option of --source mlflow"),
    ("files", {}, "inspect --source files needs --files DIR_OR_FILE"),
])
def test_the_inspected_source_is_the_one_its_options_name(store, policy, source, options, message):
    """Each source declares its `signoff inspect` options (Source.INSPECT_OPTIONS); nothing is read
    before the choice is clear."""
    with pytest.raises(InputError) as err:
        InspectionService(ReviewService(store, user="ci@example.com")).create(source=source, options=options,
                                                                              sample=5, seed=1, policy=policy)
    assert str(err.value).startswith(message)


def test_since_needs_timestamps(store, tmp_path, policy):
    f = tmp_path / "p.jsonl"
    f.write_text('{"id": "a", "input": "q", "output": "x"}\n')
    with pytest.raises(InputError, match="--since needs a timestamp column"):
        InspectionService(ReviewService(store, user="ci@example.com")).create(files=str(f), since="7d",
                                                                              sample=5, seed=1, policy=policy)


def test_shadow_outputs_make_it_side_by_side(store, tmp_path, policy):
    f = tmp_path / "p.jsonl"
    f.write_text("".join(json.dumps({"id": f"s{i}", "input": f"q{i}", "output": f"a{i}",
                                     "shadow_output": f"a{i}" if i % 2 else f"b{i}"}) + "\n" for i in range(10)))
    req = InspectionService(ReviewService(store, user="ci@example.com")).create(files=str(f), sample=10, seed=3,
                                                                                policy=policy)
    table = ReviewService(store).comparison(req.id, "production")
    assert set(table["class"].astype(str)) == {"unchanged", "changed"}
    assert req.baseline_ref.endswith("(shadow)")


def test_cli_inspect_json_then_show_json(tmp_path, drop, policy):
    home = tmp_path / "home-cli"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGNOFF_", "MLFLOW_"))}
    env.update(SIGNOFF_HOME=str(home), PYTHONPATH=subprocess_pythonpath())

    def run(*args, user="ci@example.com", **extra):
        p = subprocess.run([sys.executable, "-m", "signoff", *args], capture_output=True, text=True,
                           env={**env, "SIGNOFF_USER": user, **extra}, timeout=120)
        assert p.returncode == 0, p.stderr
        return p.stdout

    made = json.loads(run("inspect", "--files", str(drop), "--sample", "5", "--seed", "9", "--policy", policy, "--json"))
    assert made["kind"] == "inspection" and made["sample"] == 5 and made["population"] == 60
    table = json.loads("[" + ",".join(run("samples", str(made["id"]), "--json").splitlines()) + "]")
    quinn_key = {"SIGNOFF_SIGNING_KEY": str(keys.key_file("quinn@example.com"))}
    run("label", str(made["id"]), "production", table[0]["id"], "--correct", "no", "--error", "unsafe",
        user="quinn@example.com", **quinn_key)
    run("label", str(made["id"]), "production", table[1]["id"], "--correct", "yes", user="quinn@example.com", **quinn_key)
    shown = json.loads(run("show", str(made["id"]), "--json"))
    est = shown["inspection"]["estimate"]
    assert (est["errors"], est["labeled"], est["method"]) == (1, 2, "wilson")
    assert shown["inspection"]["recorded"]["error_rate"] == pytest.approx(0.5)
    assert shown["request"]["sha"] == ""


def test_trend_chart_has_one_point_per_estimated_inspection():
    from signoff.report.charts import inspection_trend

    pts = [{"request": 1, "at": NOW, "error_rate": 0.2, "low": 0.1, "high": 0.4, "labeled": 20, "version": "3"},
           {"request": 2, "at": NOW + timedelta(days=7), "error_rate": 0.1, "low": 0.03, "high": 0.3, "labeled": 20,
            "version": "3"}]
    fig = inspection_trend(pts, subject="models:/bot@champion")
    assert list(fig.data[0].y) == [0.2, 0.1]
    assert list(fig.data[0].error_y.array) == pytest.approx([0.2, 0.2])
    assert inspection_trend([]).layout.annotations[0].text == "no inspection with an estimate yet"


def test_the_service_keeps_the_estimate_whenever_the_status_is_re_evaluated(store, drop, policy):
    """No caller records the estimate: a label (the window's quick path, then its status refresh)
    or an import is enough; an unchanged refresh writes nothing."""
    ci = InspectionService(ReviewService(store, user="ci@example.com"))
    req = ci.create(files=str(drop), since="7d", sample=10, seed=5, policy=policy, now=NOW)
    quinn = ReviewService(store, user="quinn@example.com")
    ids = sorted(quinn.comparison(req.id, "production")["id"])
    assert store.inspection(req.id).estimated_at is None
    quinn.set_label(req.id, "production", ids[0], correct=False, error="unsafe")        # refreshes the status
    kept = store.inspection(req.id)
    assert (kept.errors, kept.labeled, kept.error_rate) == (1, 1, pytest.approx(1.0))
    # the window labels without a refresh, then refreshes once (debounced)
    for sid in ids[1:4]:
        quinn.set_label(req.id, "production", sid, correct=True, refresh=False)
    assert store.inspection(req.id).labeled == 1
    quinn.refresh_status(req.id)
    kept = store.inspection(req.id)
    assert (kept.errors, kept.labeled) == (1, 4)
    assert (kept.low, kept.high) == pytest.approx(proportion_confint(1, 4, alpha=0.05, method="wilson"))
    estimates = [a for a in store.audit_entries() if a.action == "inspection.estimate"]
    assert [e.payload["labeled"] for e in estimates] == [1, 4]
    quinn.refresh_status(req.id)                     # nothing changed: no new entry
    quinn.import_labels(req.id, [{"eval_set": "production", "sample_id": ids[4], "correct": "false"}])
    assert [a.payload["labeled"] for a in store.audit_entries() if a.action == "inspection.estimate"] == [1, 4, 5]
    assert store.inspection(req.id).errors == 2
    # the files source has no model version to tag: nothing queued for MLflow
    assert not [i for i in store.outbox_items() if i.sink == "mlflow"]
    # the trend the charts draw, through the service contract
    assert ReviewService(store).inspection_trend(req.id) == {
        "subject": f"files:{drop}", "points": InspectionService(quinn).trend(f"files:{drop}")}
    assert len(ReviewService(store).inspection_trend(req.id)["points"]) == 1


def _behind_signoffs_back(url: str, sql: str) -> None:
    """What someone with write access to the database could do (tests/store/test_store_audit.py)."""
    from signoff.store.db import make_engine, resolve_url

    engine = make_engine(resolve_url(url))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def test_audit_verify_replays_the_inspections_table(store, drop, policy, tmp_path):
    ci = InspectionService(ReviewService(store, user="ci@example.com"))
    req = ci.create(files=str(drop), since="7d", sample=10, seed=5, policy=policy, now=NOW)
    quinn = ReviewService(store, user="quinn@example.com")
    ids = sorted(quinn.comparison(req.id, "production")["id"])
    quinn.set_label(req.id, "production", ids[0], correct=False, error="unsafe")
    quinn.set_label(req.id, "production", ids[1], correct=True)
    report = store.verify_audit()
    assert report.ok, report.problems
    assert any("inspections replayed" in c for c in report.checked)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    # someone with write access to the database makes production look better
    _behind_signoffs_back(url, f"UPDATE inspections SET error_rate = 0.01 WHERE request_id = {req.id}")
    problems = store.verify_audit().problems
    assert [p for p in problems if p.startswith("inspections")] == [
        f"inspections row {req.id}: estimate error_rate is 0.01 in the store, 0.5 in the log (entry "
        f"{[a.seq for a in store.audit_entries() if a.action == 'inspection.estimate'][-1]})"]
    _behind_signoffs_back(url, f"UPDATE inspections SET error_rate = 0.5, population = 3 WHERE request_id = {req.id}")
    created = next(a.seq for a in store.audit_entries() if a.action == "request.create" and a.request_id == req.id)
    assert [p for p in store.verify_audit().problems if p.startswith("inspections")] == [
        f"inspections row {req.id}: population is 3 in the store, 29 in the log (entry {created}): "
        f"what was sampled changed since"]
    _behind_signoffs_back(url, f"DELETE FROM inspections WHERE request_id = {req.id}")
    assert [p for p in store.verify_audit().problems if p.startswith("inspections")] == [
        f"inspections row {req.id}: in the log (entry {created}), not in the store (deleted)"]
