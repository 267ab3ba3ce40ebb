"""The policy the inspection tests review production samples under: one QA approval, the
reviewers' test keys listed (tests/support/keys.py)."""

from tests.support import keys

INSPECTION_POLICY = keys.with_signers("""
[policy]
required = { qa = 1 }
min_changed_reviewed = 0

[roles]
qa = ["quinn@example.com"]

[labels]
errors = ["wrong answer", "unsafe"]
""")
