"""The signoff.toml files the fill script logs with its runs (and the git repository holds)."""

from __future__ import annotations

POLICY = """
[policy]
required = {{ sme = {sme}, qa = 1 }}

[roles]
sme = [{smes}]
qa = ["quinn@example.com"]
"""

CLASSIC_TOML = """
[mlflow]
model = "digits-classifier"
alias_on_approval = "approved"

[[eval_sets]]
name = "digits"
table = "predictions/digits.json"       # mlflow.log_table, JSON form
dataset = "digits-test"                 # samples (with the slice) from the run's dataset input
type = "label"
slices = ["stroke"]

[[eval_sets]]
name = "digits-noisy"
table = "predictions/digits_noisy.parquet"   # mlflow.log_table, Parquet form
type = "label"
columns = { score = "p_true", input = "pixels" }

[[eval_sets]]
name = "digits-eval"
table = "eval_results_table.json"       # mlflow.evaluate
type = "label"
"""

GENAI_TOML = """
[mlflow]
assessment_name = "signoff_review"

[[eval_sets]]
name = "support-qa"
traces = true                           # mlflow.genai.evaluate
type = "text"

[policy]
required = { sme = 1 }

[roles]
sme = ["alice@example.com"]
"""

BROKEN_TOML = """
[[eval_sets]]
name = "digits"
table = "predictions/digits.json"
type = "label"

[policy]                                # the runs are broken, not the policy
required = { sme = 1 }

[roles]
sme = ["alice@example.com"]
"""


def classic_toml(smes: tuple[str, ...] = ("alice@example.com",)) -> str:
    from tests.support.keys import with_signers   # the reviewers' keys: decisions and labels are signed

    return with_signers(CLASSIC_TOML + POLICY.format(sme=len(smes), smes=", ".join(f'"{s}"' for s in smes)))


def broken_toml() -> str:
    """BROKEN_TOML (it carries its policy) with the reviewers' keys: the eval set the broken runs are
    read with, given as --policy."""
    from tests.support.keys import with_signers

    return with_signers(BROKEN_TOML)


# What a candidate run may log as its own signoff.toml to wave itself through; it must never apply.
RELAXED_TOML = CLASSIC_TOML + """
[policy]
required = {}
allow_unreviewed = true
min_changed_reviewed = 0
"""
