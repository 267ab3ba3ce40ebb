"""Each way an MLflow request can go wrong is one clear message naming the
thing, against the real server (tests/mlflow/conftest.py) where it can say
so itself."""

from __future__ import annotations

import pytest

from signoff.cli.main import main
from signoff.core.errors import ConfigError, InputError, NotFoundError, SignoffError
from signoff.plugins.mlflow import MlflowSource, MlflowUnreachable
from tests.mlflow.configs import broken_toml
from tests.mlflow.server import free_port

pytestmark = pytest.mark.slow

V1 = "models:/digits-classifier/1"
GENAI_POLICY = '[policy]\nrequired = { sme = 1 }\n[roles]\nsme = ["alice@example.com"]\n'


def load(world, candidate: str, baseline: str | None = V1, **kw):
    """The policy is given (as `request --policy FILE` gives it): the broken runs' own signoff.toml
    artifacts are never read."""
    kw.setdefault("config_text", broken_toml())
    return MlflowSource(tracking_uri=world.url, **kw).load(candidate=candidate, baseline=baseline)


@pytest.mark.parametrize("candidate, error, message", [
    ("models:/no-such-model/1", NotFoundError, "no registered model 'no-such-model' on the MLflow tracking server at"),
    ("models:/digits-classifier/99", NotFoundError, "model 'digits-classifier' has no version 99"),
    ("models:/digits-classifier@nope", NotFoundError, "model 'digits-classifier' has no alias 'nope' on"),
    ("models:/digits-classifier", InputError, "write models:/NAME/VERSION or models:/NAME@ALIAS"),
    ("f" * 32, NotFoundError, "no MLflow run on http://127.0.0.1:"),   # no such run, and no commit either
    ("not a ref", InputError, "is none of models:/NAME/VERSION"),
])
def test_unknown_models_versions_aliases_and_runs(mlflow_world, candidate, error, message):
    with pytest.raises(error, match=message):
        load(mlflow_world, candidate)


def test_a_run_without_predictions_names_the_table_and_what_it_has(mlflow_world):
    run = mlflow_world.facts["broken"]["no_predictions"]
    with pytest.raises(NotFoundError, match=rf"eval set 'digits': run {run[:7]} \(no predictions\) has no predictions "
                                            rf"table 'predictions/digits.json'; it has no logged tables"):
        load(mlflow_world, run)


def test_a_malformed_table_is_named(mlflow_world):
    run = mlflow_world.facts["broken"]["malformed"]
    with pytest.raises(InputError, match=r"predictions/digits.json of the candidate run .* not a logged table; "
                                         r"expected mlflow.log_table's JSON"):
        load(mlflow_world, run)


def test_ids_that_match_nothing_are_an_error_not_an_empty_comparison(mlflow_world):
    run = mlflow_world.facts["broken"]["other_ids"]
    with pytest.raises(InputError, match=r"the ids do not match between the baseline models:/digits-classifier/1 .* "
                                         r"\(e.g. d\d+.*\) and the candidate run .*\(e.g. x1, x2\)"):
        load(mlflow_world, run)


@pytest.mark.parametrize("which", ["no_config", "other_ids"])
def test_no_policy_given_says_how_to_give_one_whatever_the_run_logged(mlflow_world, which):
    """With or without a signoff.toml artifact in the candidate run: no --policy / --repo is an error
    saying how to give the policy; the run's own artifact is never taken instead."""
    run = mlflow_world.facts["broken"][which]
    with pytest.raises(ConfigError, match=rf"^no policy for run {run[:7]} .*: pass --policy FILE \(signoff.toml from "
                                         r"a checkout of the default branch\) or --repo DIR .*a candidate's own "
                                         r"signoff.toml never judges it$"):
        load(mlflow_world, run, config_text="")


def test_no_policy_from_the_cli_is_one_line_exit_2(mlflow_world, capsys, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    code = main(["request", "--sha", "models:/digits-classifier/2", "--source", "mlflow",
                 "--tracking-uri", mlflow_world.url])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("signoff: no policy for models:/digits-classifier/2") and err.count("\n") == 1
    assert "--policy FILE" in err and "--repo DIR" in err


def test_a_run_without_genai_traces(mlflow_world):
    config = '[[eval_sets]]\nname = "qa"\ntraces = true\n' + GENAI_POLICY
    with pytest.raises(InputError, match=r"eval set 'qa': traces of the candidate models:/digits-classifier/2 .* "
                                         r"has no genai evaluation traces"):
        load(mlflow_world, "models:/digits-classifier/2", config_text=config)


def test_the_same_run_twice_is_nothing_to_compare(mlflow_world):
    with pytest.raises(InputError, match="are the same run: nothing to compare"):
        load(mlflow_world, "models:/digits-classifier/1", "models:/digits-classifier@champion")


def test_an_unreachable_server_is_one_line_from_the_cli_exit_6(capsys):
    port = free_port()
    code = main(["request", "--sha", "a" * 40, "--source", "mlflow", "--tracking-uri", f"http://127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 6   # unreachable (README "Exit codes")
    assert err == (f"signoff: cannot reach the MLflow tracking server at http://127.0.0.1:{port} (connection refused); "
                   f"is it running, and is the URL right?\n")


def test_no_tracking_uri_anywhere(capsys, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    code = main(["request", "--sha", "a" * 40, "--source", "mlflow"])
    assert code == 2
    assert "no MLflow tracking URI: pass --tracking-uri URL, set MLFLOW_TRACKING_URI" in capsys.readouterr().err


def test_unreachable_is_retryable_for_the_outbox():
    with pytest.raises(MlflowUnreachable) as info:
        MlflowSource(tracking_uri=f"http://127.0.0.1:{free_port()}").load(candidate=V1)
    assert info.value.retry is True and isinstance(info.value, SignoffError)
