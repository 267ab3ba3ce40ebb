"""`signoff status --sha SHA [--json]` from the kept verdict, before the full CLI is imported
(issue 16 item 3): app/__main__.py asks `run` first, and only a plain `status --sha` is answered
here. When the kept verdict cannot be used (app/store/kept_read.py says why not) `run` returns
None and the full CLI evaluates the policy, as it always did; `show` prints both the same way.
"""

from __future__ import annotations

import sys

from signoff.core.errors import InputError, PolicyRefusal, SignoffError
from signoff.core.kept_verdict import STATUS_EXIT

from .output import closed_pipe, print_json


def status_args(argv: list[str]) -> tuple[str, bool] | None:
    """(sha, --json) of exactly `status --sha SHA [--json]` (either order, `--sha=SHA` too); None
    for anything else (other options, abbreviations, an empty SHA: the full parser says what)."""
    if not argv or argv[0] != "status":
        return None
    sha, as_json, rest = None, False, list(argv[1:])
    while rest:
        token = rest.pop(0)
        if token == "--json" and not as_json:
            as_json = True
        elif token == "--sha" and sha is None and rest:
            sha = rest.pop(0)
        elif token.startswith("--sha=") and sha is None:
            sha = token[len("--sha="):]
        else:
            return None
    sha = (sha or "").strip()
    return (sha, as_json) if sha and not sha.startswith("-") else None


def run(argv: list[str]) -> int | None:
    """The exit code of `status` answered from the kept verdict, or None: the full CLI answers."""
    args = status_args(argv)
    if args is None:
        return None
    sha, as_json = args
    try:
        from signoff.store.kept_read import read_kept

        kept = read_kept(sha)
    except Exception:   # noqa: BLE001 - anything unexpected: the full path evaluates (and reports)
        return None
    if kept is None:
        return None
    try:
        if kept.request_id is None:
            raise InputError(f"no review request for commit {sha}")
        code = show(kept.document, kept.refusal, as_json)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return closed_pipe()
    except SignoffError as exc:
        sys.stderr.write(f"signoff: {exc}\n")
        return exc.exit_code


def show(document: dict, refusal: str, as_json: bool) -> int:
    """Print what `status` says (the same from the kept verdict and from the live one)."""
    if refusal:
        raise PolicyRefusal(refusal)
    if as_json:
        print_json(document)
    else:
        print(f"{document['status']}: {document['description']}")
    return STATUS_EXIT[document["status"]]
