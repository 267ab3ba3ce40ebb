"""A commit's sign-off record: exported as an in-toto Statement v1, verified offline.

The record is what a third party needs to check a release's sign-off without the
database (docs/trust.md "The record"): the policy text, every decision of the change
with the reviewer's signed statement, the signed label batches and a digest of the
labels, the coverage and verdict the installation computed, and the audit chain's
positions and installation keys.

`verify_record` trusts only signatures: each decision's SSHSIG must verify against the
keys listed for its user (an allowed-signers file, or the policy's keys), its statement
must name the record's policy digest, and the policy re-evaluated over the verified
decisions alone must say `approved`.

The statement is written as a plain dict: in-toto's Statement v1 is four fields
(`_type`, `subject`, `predicateType`, `predicate`), and the in-toto-attestation package's
bindings are protobuf-generated classes (a protobuf runtime for four keys of JSON);
`verify_record` checks the same shape they would.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from signoff.core.audit import INSTALLATION_KEY_ACTION, key_of, reviewer_keys, statement_of
from signoff.core.config import parse_config
from signoff.core.errors import InputError, SignoffError
from signoff.core.hashing import canonical_json
from signoff.core.model import Decision, DecisionKind, Status
from signoff.core.policy import Coverage, evaluate
from signoff.core.policy_change import compare_policies
from signoff.core.signing import SignatureError, keys_for, parse_allowed_signers, verify_bytes

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://signoff.dev/record/v1"
NOTES_REF = "refs/notes/signoff"
CONFIG_FILE = "signoff.toml"
DEFAULT_BRANCH_REFS = ("refs/remotes/origin/HEAD", "refs/heads/main", "refs/heads/master",
                       "refs/remotes/origin/main", "refs/remotes/origin/master")


class RecordError(SignoffError):
    """The record does not verify (exit 1)."""

    exit_code = 1


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _signed_item(entry) -> dict:
    p = entry.payload if isinstance(entry.payload, dict) else {}
    st = p.get("statement")
    return {"statement": st if isinstance(st, str) else (canonical_json(st) if isinstance(st, dict) else None),
            "signature": p.get("signature") or "", "key": key_of(p), "audit_seq": entry.seq,
            "audit_hash": entry.hash, "actor": entry.actor}


def build_record(service, sha: str) -> dict:
    """The record of the newest request for `sha` in the store (InputError if none)."""
    store = service.store
    req = service.latest_for_sha(sha)
    if req is None:
        raise InputError(f"no review request for commit {sha}")
    change_ids = {r.id for r in store.requests_for_change(req.change_key)}
    entries = store.audit_entries()
    decisions, batches, positions, installations = [], [], [], []
    for e in entries:
        p = e.payload if isinstance(e.payload, dict) else {}
        if e.action == INSTALLATION_KEY_ACTION:
            installations.append({"fingerprint": p.get("fingerprint"), "public_key": p.get("public_key"),
                                  "audit_seq": e.seq})
        if e.request_id not in change_ids:
            continue
        positions.append({"seq": e.seq, "hash": e.hash, "action": e.action, "request": e.request_id})
        if e.action == "decision":
            item = _signed_item(e)
            if item["statement"] is None:   # unsigned: on the record, never counted
                item["unsigned"] = {k: p.get(k) for k in ("user", "role", "kind", "content_hash", "comment")}
            decisions.append(item)
        elif e.request_id == req.id and statement_of(p)[0] is not None and e.action.startswith("label."):
            batches.append(_signed_item(e))
    labels = [[l.eval_set, str(l.sample_id), l.user, l.verdict.value if l.verdict else None, l.correct,
               l.error, l.comment] for l in store.labels(req.id)]
    coverage = service.coverage(req.id)
    verdict = service.verdict(req.id)
    head = store.audit_head() or (0, "")
    summaries = store.comparison_summaries(req.id)
    subjects = [{"name": f"git+commit:{req.sha}", "digest": {"gitCommit": req.sha}},
                {"name": "signoff-content", "digest": {"sha256": req.content_hash}}]
    for name, summary in summaries.items():
        for field in ("content_hash", "predictions_hash", "eval_set_hash"):
            if isinstance(summary.get(field), str) and len(summary[field]) == 64:
                subjects.append({"name": f"{name}:{field}", "digest": {"sha256": summary[field]}})
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "request": {"id": req.id, "sha": req.sha, "change_key": req.change_key, "source": req.source,
                        "baseline_ref": req.baseline_ref, "candidate_ref": req.candidate_ref,
                        "author": req.author, "authors": dict(req.authors or {}),
                        "content_hash": req.content_hash, "eval_sets": list(req.eval_sets)},
            "policy": {"text": req.config_toml, "sha256": sha256_text(req.config_toml),
                       "candidate_text": req.candidate_config_toml or ""},
            "decisions": decisions,
            "labels": {"count": len(labels), "sha256": sha256_text(canonical_json(sorted(labels, key=str))),
                       "batches": batches},
            "coverage": {"changed_total": coverage.changed_total, "changed_labeled": coverage.changed_labeled,
                         "regressed_total": coverage.regressed_total,
                         "regressed_labeled": coverage.regressed_labeled},
            "regression_bounds": [b.as_json() for b in verdict.bounds],   # docs/statistics.md
            "verdict": {"status": verdict.status.value, "description": verdict.description},
            "audit": {"head": {"count": head[0], "hash": head[1]}, "positions": positions,
                      "installation_keys": installations},
        },
    }


def record_keys(record: dict, allowed_signers_text: str | None = None, stored: dict | None = None):
    """user -> keys: an allowed-signers file when given, else the record policy's own keys
    (inline [signers.keys] and `stored`: the keys stored with the request)."""
    if allowed_signers_text is not None:
        try:
            listed = parse_allowed_signers(allowed_signers_text)
        except SignatureError as exc:
            raise InputError(str(exc)) from None
        return lambda user: keys_for(user, listed)
    policy = ((record.get("predicate") or {}).get("policy") or {}).get("text") or ""
    return reviewer_keys(policy, "", stored)


def verify_record(record, keys_of_user) -> tuple[list[str], list[str]]:
    """(problems, what verified). Empty problems: every decision's signature verifies against the keys
    listed for its user and the policy, re-evaluated over those decisions alone, says approved."""
    problems: list[str] = []
    ok: list[str] = []
    if not isinstance(record, dict) or record.get("_type") != STATEMENT_TYPE \
            or record.get("predicateType") != PREDICATE_TYPE or not isinstance(record.get("predicate"), dict):
        return [f"not a Signoff record (an in-toto Statement v1 with predicateType {PREDICATE_TYPE})"], ok
    pred = record["predicate"]
    req = pred.get("request") or {}
    policy = pred.get("policy") or {}
    text = policy.get("text")
    if not isinstance(text, str) or sha256_text(text) != policy.get("sha256"):
        return ["the policy text does not match its sha256 (edited)"], ok
    commits = [s.get("digest", {}).get("gitCommit") for s in record.get("subject") or [] if isinstance(s, dict)]
    if req.get("sha") not in commits:
        problems.append("the record's request is not about its subject commit")
    try:
        config = parse_config(text, "the record's policy")
    except SignoffError as exc:
        return [f"the record's policy does not parse: {exc}"], ok
    verified: list[Decision] = []
    for i, d in enumerate(pred.get("decisions") or [], start=1):
        where = f"decision {i}"
        if not isinstance(d, dict) or not d.get("statement"):
            who = (d or {}).get("unsigned", {}).get("user", "?") if isinstance(d, dict) else "?"
            problems.append(f"{where} (by {who}) is not signed: it does not count")
            continue
        try:
            st = json.loads(d["statement"])
            user = st["user"]
            kind = DecisionKind(st["decision"])
        except (ValueError, KeyError, TypeError):
            problems.append(f"{where}: its statement is not a decision statement")
            continue
        where = f"decision {i} ({kind.value} by {user}, audit entry {d.get('audit_seq')})"
        if st.get("type") != "signoff/decision/v1":
            problems.append(f"{where}: statement type is {st.get('type')!r}, not signoff/decision/v1")
            continue
        keys = keys_of_user(user)
        try:
            fp = verify_bytes(d["statement"].encode("utf-8"), d.get("signature") or "", keys)
        except SignatureError as exc:
            problems.append(f"{where}: {exc}" + ("" if keys else f" (no key is listed for {user})"))
            continue
        if st.get("policy_digest") != policy.get("sha256"):   # missing counts as other (fail closed)
            problems.append(f"{where}: signed under another policy (digest {str(st.get('policy_digest') or 'none')[:12]}…)")
            continue
        ok.append(f"{where}: signature verifies ({fp})")
        verified.append(Decision(user=user, role=str(st.get("role", "")), kind=kind,
                                 content_hash=str(st.get("content_hash", "")), comment=str(st.get("comment", "")),
                                 request_id=st.get("request"), sha=str(st.get("sha", "")),
                                 signature=d.get("signature") or "", verified=True))
    cov = pred.get("coverage") or {}
    try:
        coverage = Coverage(**{k: int(cov.get(k, 0)) for k in ("changed_total", "changed_labeled",
                                                                "regressed_total", "regressed_labeled")})
    except (TypeError, ValueError):
        return problems + ["the record's coverage is unreadable"], ok
    candidate_text = policy.get("candidate_text") or ""
    change = compare_policies(config, text, candidate_text) if candidate_text else None
    authors = req.get("authors") if isinstance(req.get("authors"), dict) else [str(req.get("author", ""))]
    verdict = evaluate(config, decisions=verified, coverage=coverage, content_hash=str(req.get("content_hash", "")),
                       authors=authors, policy_change=change, bounds=_bounds_of(pred))
    if verdict.status is not Status.APPROVED:
        problems.append(f"the policy over the verified decisions says {verdict.status.value}: {verdict.description}")
    else:
        ok.append(f"the policy over the verified decisions says approved: {verdict.description}")
    return problems, ok


def _bounds_of(pred: dict) -> list:
    """The regression-rate bounds the record states (as its coverage: figures, not recomputed)."""
    from signoff.core.policy import BoundCheck
    from signoff.core.stats import BoundFigures

    def figures(d) -> BoundFigures | None:
        try:
            return BoundFigures(estimate=float(d["estimate"]), bound=float(d["bound"]), labels=int(d["labels"]),
                                used=int(d["labels_used"]), needed=d.get("labels_needed"),
                                max_rate=float(d["max_rate"]), confidence=float(d["confidence"]),
                                population=int(d.get("population", 0)), estimator=str(d.get("estimator", "")))
        except (KeyError, TypeError, ValueError):
            return None

    out = []
    for b in pred.get("regression_bounds") or []:
        if isinstance(b, dict) and isinstance(b.get("eval_set"), str):
            out.append(BoundCheck(b["eval_set"], figures(b), {k: f for k, v in (b.get("slices") or {}).items()
                                                              if (f := figures(v)) is not None},
                                  problem=str(b.get("problem") or "")))
    return out


# -- the record published with the anchor (git note refs/notes/signoff) -------------------

def _git(repo: str, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True, input=input)


def read_note(repo: str, sha: str, *, fetch: bool = True) -> dict | None:
    """The note on `sha` (its JSON), fetching refs/notes/signoff from origin when it is not here."""
    for attempt in (0, 1):
        out = _git(repo, "notes", f"--ref={NOTES_REF}", "show", sha)
        if out.returncode == 0:
            try:
                note = json.loads(out.stdout)
            except ValueError:
                raise RecordError(f"the note {NOTES_REF} on {sha[:10]} is not a Signoff record") from None
            return note if isinstance(note, dict) else None
        if attempt or not fetch or _git(repo, "remote").stdout.split() == []:
            return None
        _git(repo, "fetch", "-q", "origin", f"+{NOTES_REF}:{NOTES_REF}")
    return None


def write_note(repo: str, sha: str, note: dict) -> None:
    out = _git(repo, "-c", "user.name=Signoff", "-c", "user.email=signoff@localhost", "notes",
               f"--ref={NOTES_REF}", "add", "-f", "-F", "-", sha, input=json.dumps(note, indent=1, sort_keys=True))
    if out.returncode != 0:
        raise SignoffError(f"cannot write the git note on {sha[:10]} in {repo}: {out.stderr.strip()[:200]}")


def policy_at_protected_base(repo: str, sha: str) -> tuple[str, str]:
    """(base commit, signoff.toml text there): the default branch at its merge-base with `sha`."""
    for ref in DEFAULT_BRANCH_REFS:
        if _git(repo, "rev-parse", "-q", "--verify", f"{ref}^{{commit}}").returncode != 0:
            continue
        base = _git(repo, "merge-base", sha, ref)
        if base.returncode != 0:
            raise RecordError(f"{sha[:10]} shares no history with {ref} in {repo}")
        commit = base.stdout.strip()
        text = _git(repo, "show", f"{commit}:{CONFIG_FILE}")
        if text.returncode != 0:
            raise RecordError(f"no {CONFIG_FILE} at the protected base {commit[:10]} in {repo}")
        return commit, text.stdout
    raise RecordError(f"{repo} has no default branch (origin/HEAD, main or master) to find the protected base")


def _forge_only(config_text: str, stored: dict | None) -> dict:
    """Of the keys stored with a request, only those of reviewers the policy names by a forge login
    (github:/gitlab:, resolved when the request was made): inline and allowed-signers keys are
    taken from the policy itself, never from the database."""
    try:
        cfg = parse_config(config_text or "")
    except SignoffError:
        return {}
    forge_users = {u.lower() for u, specs in cfg.signers.keys.items()
                   if any(str(k).startswith(("github:", "gitlab:")) for k in specs)}
    return {u: ks for u, ks in (stored or {}).items() if str(u).lower() in forge_users}


def base_policy_keys(record: dict, sha: str, *, repo: str | None, policy_file: str | None,
                     stored: dict | None = None):
    """(keys_of_user, where) for a record read from the store, checked against what the store
    cannot change: signoff.toml at the protected base of `repo` (or `policy_file`, the copy CI
    takes from its checkout of the default branch). The record's policy must be that text, and
    the keys are the ones it lists. RecordError (fail closed) when neither can be read."""
    if policy_file:
        try:
            text = Path(policy_file).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise InputError(f"cannot read the policy {policy_file}: {exc.strerror or exc}") from None
        where, allowed = policy_file, ""
        cfg = parse_config(text, policy_file)
        if cfg.signers.allowed_signers:
            path = Path(policy_file).resolve().parent / cfg.signers.allowed_signers
            allowed = path.read_text() if path.is_file() else ""
    elif repo and Path(repo).exists() and _git(repo, "rev-parse", "-q", "--verify",
                                                  f"{sha}^{{commit}}").returncode == 0:
        base, text = policy_at_protected_base(repo, sha)
        where = f"{CONFIG_FILE} at the protected base {base[:10]} of {repo}"
        cfg = parse_config(text, where)
        allowed = ""
        if cfg.signers.allowed_signers:
            out = _git(repo, "show", f"{base}:{cfg.signers.allowed_signers}")
            allowed = out.stdout if out.returncode == 0 else ""
    else:
        raise RecordError(f"cannot check the record's policy against the protected base: commit {sha[:10]} is "
                          f"not in {repo or 'this directory'}; run in a checkout of the model's repository, pass "
                          f"--repo DIR, or --policy FILE (signoff.toml from the default branch)")
    if sha256_text(text) != ((record.get("predicate") or {}).get("policy") or {}).get("sha256"):
        raise RecordError(f"the record's policy is not {where}: the store's copy differs")
    return reviewer_keys(text, allowed, _forge_only(text, stored)), where


def record_from_repo(repo: str, sha: str) -> tuple[dict, object, str]:
    """(record, keys_of_user, where) from the note on `sha` in `repo`, checked against the policy at
    the protected base of that repository (and its allowed-signers file there)."""
    if not Path(repo).exists():
        raise InputError(f"{repo}: no such repository")
    full = _git(repo, "rev-parse", "-q", "--verify", f"{sha}^{{commit}}")
    if full.returncode != 0:
        raise RecordError(f"commit {sha} is not in {repo} (fetch it first)")
    sha = full.stdout.strip()
    note = read_note(repo, sha)
    if note is None or not isinstance(note.get("record"), dict):
        raise RecordError(f"no signed record for {sha[:10]}: no {NOTES_REF} note in {repo} or its origin "
                          f"(git fetch origin {NOTES_REF}:{NOTES_REF})")
    record = note["record"]
    base, text = policy_at_protected_base(repo, sha)
    if sha256_text(text) != ((record.get("predicate") or {}).get("policy") or {}).get("sha256"):
        raise RecordError(f"the record's policy is not {CONFIG_FILE} at the protected base {base[:10]}")
    config = parse_config(text, f"{CONFIG_FILE} at {base[:10]}")
    allowed = ""
    if config.signers.allowed_signers:
        out = _git(repo, "show", f"{base}:{config.signers.allowed_signers}")
        allowed = out.stdout if out.returncode == 0 else ""
    return record, reviewer_keys(text, allowed), f"the note {NOTES_REF} in {repo} (policy at {base[:10]})"
