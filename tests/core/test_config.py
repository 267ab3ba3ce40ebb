import pytest

from app.core.config import parse_config
from app.core.errors import ConfigError

GOOD = """
[[eval_sets]]
name = "intents"
samples = "evals/intents.jsonl"
predictions = "predictions/intents.jsonl"
type = "label"
slices = ["channel"]
columns = { id = "uid", output = "pred" }

[policy]
required = { sme = 2, qa = 1 }
min_changed_reviewed = 0.2

[roles]
sme = ["Alice@Example.com", "bob@example.com"]
qa = ["quinn@example.com"]

[status]
sink = "github"
repo = "acme/model"
"""


def test_parses_the_product_sketch():
    c = parse_config(GOOD)
    es = c.eval_set("intents")
    assert (es.output_type, es.id_column, es.output_column, es.slices) == ("label", "uid", "pred", ("channel",))
    assert c.policy.required == {"sme": 2, "qa": 1} and c.policy.no_self_approval is True
    assert c.roles_of("alice@example.com") == ["sme"]
    assert c.status.sink == "github" and c.status.context == "signoff/review"


@pytest.mark.parametrize("text, message", [
    ("[[eval_sets]\n", "not valid TOML"),
    ("", r"no \[\[eval_sets\]\]"),
    ('[[eval_sets]]\nname="a"\nsamples="s"\n', "missing 'predictions'"),
    ('[[eval_sets]]\nname="a"\nsamples="s"\npredictions="p"\ntype="video"\n', "type must be one of"),
    ('[[eval_sets]]\nname="a"\nsamples="s"\npredictions="p"\n[policy]\nmin_changed_reviewed=2\n', "share between 0 and 1"),
    ('[[eval_sets]]\nname="a"\nsamples="s"\npredictions="p"\n[policy]\nrequired={sme=1}\n', "does not list its people"),
    ('[[eval_sets]]\nname="a"\nsamples="s"\npredictions="p"\n[status]\nsink="jira"\n', "status.sink must be one of"),
    ('[[eval_sets]]\nname="a"\nsamples="s"\npredictions="p"\nfoo=1\n', "unknown keys: foo"),
])
def test_bad_files_get_a_clear_message(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(text)
