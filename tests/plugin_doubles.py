"""In-memory doubles of the plugin interfaces (app/plugin_api.py), for tests:
a Source that serves hand-made tables, and a StatusSink that records posts and
can be told to fail."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from signoff.core.config import parse_config
from signoff.core.hashing import canonical_json, sha256_bytes
from signoff.core.model import EvalSetData, LoadedInput
from signoff.plugin_api import DeliveryError, Source, StatusSink, StatusUpdate

CONFIG = """
[[eval_sets]]
name = "qa"
samples = "s.jsonl"
predictions = "p.jsonl"

[policy]
required = { sme = 1, qa = 1 }
min_changed_reviewed = 0.5
all_regressions_reviewed = true

[roles]
sme = ["alice@example.com"]
qa = ["quinn@example.com"]

[labels]
errors = ["wrong", "unsafe"]
"""


class InMemorySource(Source):
    NAME = "memory"

    def __init__(self, tables: dict[str, tuple[dict, dict, dict]] | None = None, config: str = CONFIG,
                 author: str = "dana@example.com", revisions: dict[str, dict] | None = None):
        # revisions: candidate ref -> tables, so one source can serve several commits
        from tests.support.keys import with_signers

        self.config_text = with_signers(config)   # the test reviewers' keys (tests/support/keys.py)
        self.author = author
        self.revisions = revisions or {"c1": tables or default_tables()}

    def locator(self) -> dict:
        return {}

    def load(self, *, candidate, baseline=None, task=None) -> LoadedInput:
        config = parse_config(self.config_text)
        tables = self.revisions[candidate]
        sets = []
        for spec in config.eval_sets:
            s, b, c = tables[spec.name]
            h = sha256_bytes(canonical_json([s, b, c]).encode())
            sets.append(EvalSetData(spec, pd.DataFrame(s), pd.DataFrame(b), pd.DataFrame(c), h))
        return LoadedInput(config=config, source=self.NAME, locator={}, candidate_ref=candidate,
                           baseline_ref=baseline or "b0", candidate_author=self.author, eval_sets=sets,
                           title=f"commit {candidate}", config_text=self.config_text)


def default_tables(shift: int = 0) -> dict:
    ids = [f"s{i}" for i in range(6)]
    return {"qa": (
        {"id": ids, "input": [f"question {i}" for i in range(6)], "reference": ["a", "b", "c", "d", "e", "f"]},
        {"id": ids, "output": ["a", "b", "x", "x", "e", "y"]},
        {"id": ids, "output": ["a", "z", "c", "x", "e", "w" if not shift else "f"]},
    )}
    # s0 unchanged, s1 regressed, s2 improved, s3 unchanged, s4 unchanged, s5 changed (both wrong)


@dataclass
class RecordingSink(StatusSink):
    NAME = "recording"
    posted: list[StatusUpdate] = field(default_factory=list)
    failures: list[DeliveryError] = field(default_factory=list)   # raised in order before succeeding

    def post(self, update: StatusUpdate) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.posted.append(update)
