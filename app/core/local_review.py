"""A local review: `signoff review A B` with no policy (docs/cli.md, README "Quick start with your own files").

Two files compared on someone's own machine are a review, not a release gate. The implicit
policy (`local_policy_text`) makes the local user its only reviewer, with their own public
key listed (from their signer: SIGNOFF_SIGNING_KEY, Settings ▸ Identity or the ssh-agent),
so their labels and decision are signed and verified like any other; its status goes to the
`local` sink only, under its own context, and every description it produces says
"local review, not a release gate" (app/core/policy.py). `status`, `wait` and `verify` refuse
it (it is about no commit). Turning it into a gate: a signoff.toml on the default branch,
passed with `--policy FILE` (and `--sha SHA`).
"""

from __future__ import annotations

import json

LOCAL_REVIEW_CONTEXT = "signoff/local-review"
LOCAL_REVIEW_ROLE = "reviewer"
LOCAL_REVIEW_NOTE = "local review, not a release gate"


def local_policy_text(user: str, public_key: str) -> str:
    """The policy of a local review: `user` (with `public_key`) is its one required reviewer."""
    u, k = json.dumps(user), json.dumps(public_key)
    return f"""
# Made by `signoff review` (no --policy): a LOCAL REVIEW, not a release gate.
# Its only reviewer is the local user, whose own public key is listed below.
# To make it a gate: put a signoff.toml on the default branch and pass --policy FILE --sha SHA.
[policy]
required = {{ {LOCAL_REVIEW_ROLE} = 1 }}
min_changed_reviewed = 0.0
all_regressions_reviewed = false

[roles]
{LOCAL_REVIEW_ROLE} = [{u}]

[signers.keys]
{u} = [{k}]

[status]
sink = "local"
context = "{LOCAL_REVIEW_CONTEXT}"
"""


def is_local_review(config) -> bool:
    """A review made without a policy (see above): never a release gate."""
    return config.status.sink == "local" and config.status.context == LOCAL_REVIEW_CONTEXT


def local_description(description: str) -> str:
    return description if description.startswith(LOCAL_REVIEW_NOTE) else f"{LOCAL_REVIEW_NOTE}: {description}"
