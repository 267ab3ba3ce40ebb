"""The policy engine: what the policy in signoff.toml says of a request now.

Pure: it takes the decisions, the label coverage and the content hash, and
returns a PolicyVerdict whose `description` fits a commit status (<= 140).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace

from .config import ProjectConfig
from .errors import PolicyRefusal
from .local_review import is_local_review, local_description
from .model import IDENTITY_REFUSED, IDENTITY_UNCHECKED, Decision, DecisionKind, Status
from .policy_change import CHANGE_ITEM, POLICY_OWNER, PolicyChange, author_reason
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .stats import BoundFigures

Authors = Collection[str] | Mapping[str, str]   # identities of the candidate's commits (-> how they are tied)

DESCRIPTION_LIMIT = 140


@dataclass(frozen=True)
class Coverage:
    """Label coverage of the samples that matter to the policy."""

    changed_total: int = 0       # samples whose outputs differ: changed + improved + regressed
    changed_labeled: int = 0
    regressed_total: int = 0
    regressed_labeled: int = 0
    other_labels: int = 0        # labels kept but not counted: unsigned, or by people outside the required roles
    carried_labels: int = 0      # counted labels carried over from an earlier request of the change (a retrain)

    @property
    def changed_share(self) -> float:
        return 1.0 if self.changed_total == 0 else self.changed_labeled / self.changed_total


@dataclass(frozen=True)
class CheckItem:
    name: str         # "SME approvals", "changed samples reviewed", ...
    ok: bool
    detail: str       # "1/2: alice@example.com"


@dataclass(frozen=True)
class BoundCheck:
    """The regression-rate bound of one eval set (docs/statistics.md): overall and per slice value."""

    eval_set: str
    overall: BoundFigures | None
    slices: dict[str, BoundFigures] = field(default_factory=dict)   # "stroke=thin" -> its figures
    problem: str = ""                                               # why it cannot be computed (fails closed)

    @property
    def failing_slices(self) -> list[str]:
        return [k for k, f in self.slices.items() if not f.ok]

    @property
    def ok(self) -> bool:
        return not self.problem and self.overall is not None and self.overall.ok and not self.failing_slices

    def line(self) -> str:
        """"regression rate ≤ 1.4% (95%), 212 labels" / "regression rate bound 3.1% > 2.0%: about 140 more labels"."""
        if self.problem or self.overall is None:
            return f"regression rate: {self.problem or 'no figures'}"
        f = self.overall
        conf = f"{f.confidence:.0%}"
        if f.ok:
            text = f"regression rate ≤ {_pct(f.bound)} ({conf}), {f.labels} labels"
        elif f.used == 0:
            text = (f"regression rate: no bound yet ({f.labels} labels; the first at {_first_checkpoint()})"
                    + _more(f.needed))
        else:
            text = f"regression rate bound {_pct(f.bound)} > {_pct(f.max_rate)} ({conf}, {f.labels} labels)" + _more(f.needed)
        bad = self.failing_slices
        if bad:
            worst = max(bad, key=lambda k: self.slices[k].bound)
            text += (f"; slice {worst} {_pct(self.slices[worst].bound)} > {_pct(self.slices[worst].max_rate)}"
                     + (f" (+{len(bad) - 1} more slices)" if len(bad) > 1 else ""))
        return text

    def short(self) -> str:
        """For the status line: "digits regressions ≤ 1.4% (95%)" / "digits regression bound 3.1% > 2.0% (~140 more labels)"."""
        if self.problem or self.overall is None:
            return f"{self.eval_set} regression bound: {self.problem or 'no figures'}"
        f = self.overall
        if self.ok:
            return f"{self.eval_set} regressions ≤ {_pct(f.bound)} ({f.confidence:.0%})"
        need = f" (~{f.needed} more labels)" if f.needed else (" (not reachable at this rate)" if f.needed is None else "")
        if f.ok and self.failing_slices:
            return f"{self.eval_set} regression bound fails in {len(self.failing_slices)} slice(s)"
        return f"{self.eval_set} regression bound {_pct(f.bound)} > {_pct(f.max_rate)}{need}"

    def as_json(self) -> dict:
        def one(f: BoundFigures | None) -> dict | None:
            if f is None:
                return None
            return {"estimate": f.estimate, "bound": f.bound, "max_rate": f.max_rate, "confidence": f.confidence,
                    "labels": f.labels, "labels_used": f.used, "labels_needed": f.needed, "population": f.population,
                    "estimator": f.estimator, "ok": f.ok, "history": [list(h) for h in f.history]}
        return {"eval_set": self.eval_set, "ok": self.ok, "line": self.line(), "problem": self.problem,
                **(one(self.overall) or {}), "slices": {k: one(v) for k, v in self.slices.items()}}


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _first_checkpoint() -> int:
    from .stats import FIRST_CHECKPOINT

    return FIRST_CHECKPOINT


def _more(needed: int | None) -> str:
    if needed is None:
        return ": not reachable at the rate seen so far"
    return f": about {needed} more labels" if needed else ""


@dataclass(frozen=True)
class PolicyVerdict:
    status: Status
    description: str                         # <= 140 chars, the commit status text
    missing: list[str] = field(default_factory=list)     # short phrases: "1/2 SME", "12 regressions unlabeled"
    checklist: list[CheckItem] = field(default_factory=list)
    approvals: dict[str, list[str]] = field(default_factory=dict)   # role -> users (current, not stale)
    blocking: list[Decision] = field(default_factory=list)          # current reject / request-changes
    stale: list[Decision] = field(default_factory=list)             # decisions made on other content
    current: list[Decision] = field(default_factory=list)           # latest decision per person, current content
    not_counted: list[Decision] = field(default_factory=list)       # current decisions that do not count, `not_counted` says why
    bounds: list[BoundCheck] = field(default_factory=list)          # the regression-rate bounds (docs/statistics.md)


def other_labels_note(count: int) -> str:
    """The line the dialog, `show` and the report print about labels that do not count."""
    if not count:
        return ""
    return (f"{count} label{'s' if count != 1 else ''} by people outside the required roles / unsigned "
            f"do not count")


def shorten(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def latest_per_person(decisions: list[Decision]) -> list[Decision]:
    """A person's last decision replaces their earlier ones (decisions oldest first).
    A policy owner's decision on a policy change is kept apart from their review decision."""
    last: dict[tuple[str, bool], Decision] = {}
    for d in decisions:
        last[(d.user.lower(), d.role == POLICY_OWNER)] = d
    return list(last.values())


def identity_why_not(d: Decision) -> str:
    """Why the forge identity check keeps `d` from counting ("" when it does not)."""
    forge = d.identity_forge or "forge"
    if d.identity == IDENTITY_UNCHECKED:
        return (f"identity not yet checked against the {forge} token's account (forge unreachable): "
                f"it counts once checked")
    if d.identity == IDENTITY_REFUSED:
        return f"identity refused: {d.identity_note or f'the {forge} token belongs to someone else'}"
    return ""


def _members(config: ProjectConfig, role: str) -> set[str]:
    people = config.policy.owners if role == POLICY_OWNER else config.roles.get(role, ())
    return {p.strip().lower() for p in people}


def check_allowed(config: ProjectConfig, *, user: str, role: str, kind: DecisionKind, authors: Authors = ()) -> None:
    """Raise PolicyRefusal when `user` may not make this decision in `role`.
    `authors`: every author, committer and co-author of the candidate's commits."""
    if role == POLICY_OWNER:
        if not config.policy.owners:
            raise PolicyRefusal("signoff.toml on the default branch lists no [policy] owners; "
                                "add owners there first to approve a change to signoff.toml")
        if user.strip().lower() not in _members(config, role):
            raise PolicyRefusal(f"{user} is not a policy owner (signoff.toml [policy] owners on the default branch)")
    else:
        if role not in config.roles:
            raise PolicyRefusal(f"role {role!r} is not defined in signoff.toml [roles]")
        if user.strip().lower() not in _members(config, role):
            raise PolicyRefusal(f"{user} is not in role {role!r} (signoff.toml [roles].{role})")
    if kind is DecisionKind.APPROVE and config.policy.no_self_approval:
        why = author_reason(user, authors)
        if why:
            raise PolicyRefusal(why)


def evaluate(config: ProjectConfig, *, decisions: list[Decision], coverage: Coverage, content_hash: str,
             authors: Authors = (), policy_change: PolicyChange | None = None,
             bounds: Collection[BoundCheck] = (), agreement: list | None = None,
             queues: dict[str, tuple[int, int]] | None = None) -> PolicyVerdict:
    """What the policy says now. `decisions` oldest first, over every request of the change.
    `config` is the BASE policy; `policy_change` what the candidate's signoff.toml changes
    (blocks until a policy owner approves); `bounds` the regression-rate bounds the service
    computed from the labels that count, one per eval set the policy bounds (a set the policy
    bounds with no figures here fails closed). `agreement`: the AgreementFigures
    (app/core/agreement.py) of the labels that count, what `[policy] min_agreement` is checked
    against (None: not computed, which blocks when the policy sets it). `queues`: role -> (done,
    assigned) of the team's queues, said in the description when the policy sets `overlap`."""
    latest = latest_per_person(decisions)
    current = [d for d in latest if d.content_hash == content_hash]
    stale = [d for d in latest if d.content_hash != content_hash]
    pol = config.policy
    change = policy_change if policy_change is not None and policy_change.changed else None

    def why_not(d: Decision) -> str:
        # A decision counts only with a verified signature (the service checks it against the keys the
        # policy lists), in a role its maker holds now, and never an author's own approval.
        if not d.verified:
            return d.not_counted or "signature not verified"
        why = identity_why_not(d)
        if why:
            return why
        if d.user.strip().lower() not in _members(config, d.role):
            return f"{d.user} is not in role {d.role!r} now"
        if d.kind is DecisionKind.APPROVE and pol.no_self_approval:
            reason = author_reason(d.user, authors)
            if reason:
                return reason
        return ""

    reasons = {id(d): why_not(d) for d in current}
    valid = [d for d in current if not reasons[id(d)]]
    not_counted = [replace(d, verified=False, not_counted=reasons[id(d)]) for d in current if reasons[id(d)]]
    owner_decisions = [d for d in valid if d.role == POLICY_OWNER]
    valid = [d for d in valid if d.role != POLICY_OWNER]
    required_roles = {r for r, n in pol.required.items() if n > 0}
    blocking = [d for d in valid if d.kind is not DecisionKind.APPROVE and (d.role in required_roles or not required_roles)]
    if change is not None:  # a policy owner's reject / request-changes blocks the change
        blocking += [d for d in owner_decisions if d.kind is not DecisionKind.APPROVE]
    approvals: dict[str, list[str]] = {}
    for d in valid:
        if d.kind is DecisionKind.APPROVE:
            approvals.setdefault(d.role, []).append(d.user)

    checklist: list[CheckItem] = []
    missing: list[str] = []
    if change is not None:
        owners_ok = [d.user for d in owner_decisions if d.kind is DecisionKind.APPROVE]
        what = change.summary()
        if owners_ok:
            detail = f"approved by policy owner {', '.join(owners_ok)}"
        elif not pol.owners:
            detail = "no [policy] owners are listed: add owners to signoff.toml on the default branch first"
        else:
            detail = f"needs approval by a policy owner ({', '.join(pol.owners)})"
        checklist.append(CheckItem(f"{CHANGE_ITEM}: needs approval by a policy owner", bool(owners_ok),
                                   detail + (f"; the change {what}" if what else "")))
        if not owners_ok:
            missing.append("signoff.toml changed (needs a policy owner)")
        approvals_owner = owners_ok
    else:
        approvals_owner = []
    for role, n in pol.required.items():
        got = approvals.get(role, [])
        ok = len(got) >= n
        checklist.append(CheckItem(f"{role.upper()} approvals", ok, f"{len(got)}/{n}" + (f": {', '.join(got)}" if got else "")))
        if not ok:
            missing.append(f"{len(got)}/{n} {role.upper()}")
    if pol.min_changed_reviewed > 0:
        need = _ceil_share(pol.min_changed_reviewed, coverage.changed_total)
        ok = coverage.changed_labeled >= need
        checklist.append(CheckItem("changed samples reviewed", ok,
                                   f"{coverage.changed_labeled}/{coverage.changed_total} labeled, {need} needed ({pol.min_changed_reviewed:.0%})"))
        if not ok:
            more = need - coverage.changed_labeled
            missing.append(f"{more} more changed sample{'s' if more != 1 else ''} to label")
    if pol.all_regressions_reviewed:
        left = coverage.regressed_total - coverage.regressed_labeled
        checklist.append(CheckItem("every regression reviewed", left == 0,
                                   f"{coverage.regressed_labeled}/{coverage.regressed_total} labeled"))
        if left:
            missing.append(f"{left} regression{'s' if left != 1 else ''} unlabeled")
    given = {b.eval_set: b for b in bounds}
    bound_checks = [given.get(name) or BoundCheck(name, None, problem="no labels counted yet")
                    for name in pol.regression_bounds]
    for b in bound_checks:
        checklist.append(CheckItem(f"regression rate: {b.eval_set}", b.ok, b.line()))
        if not b.ok:
            missing.append(b.short())
    if pol.min_agreement is not None:
        item, short = agreement_item(pol.min_agreement, agreement)
        checklist.append(item)
        if short:
            missing.append(short)
    if stale:
        checklist.append(CheckItem("no stale decisions", True,
                                   f"{len(stale)} earlier decision(s) made on other content no longer count"))

    if blocking:
        who = ", ".join(f"{d.user} ({d.role})" for d in blocking)
        word = "rejected" if any(d.kind is DecisionKind.REJECT for d in blocking) else "changes requested"
        status, description = Status.REJECTED, shorten(f"{word} by {who}")
    elif missing:
        queue = [f"{r.upper()} queue {done}/{total}" for r, (done, total) in (queues or {}).items()
                 if pol.overlap is not None and total]
        status, description = Status.PENDING, shorten("awaiting review: " + ", ".join([*missing, *queue]))
    else:
        # Never past the quorum ("3/2 SME"): a third approval changes nothing worth a new post.
        parts = [f"{min(len(approvals.get(r, [])), n)}/{n} {r.upper()}" for r, n in pol.required.items()]
        if approvals_owner:
            parts.append("signoff.toml change approved")
        parts += [b.short() for b in bound_checks]
        if pol.allow_unreviewed and not any(n > 0 for n in pol.required.values()) and not approvals_owner:
            # Written out in signoff.toml; said wherever the status shows.
            status, description = Status.APPROVED, "approved without human review (policy.allow_unreviewed)"
        else:
            status, description = Status.APPROVED, shorten("approved: " + ", ".join(parts) if parts else "approved")
    if approvals_owner:
        approvals[POLICY_OWNER] = approvals_owner
    if is_local_review(config):   # `signoff review` without a policy: says so wherever the status shows
        description = shorten(local_description(description))
    return PolicyVerdict(status=status, description=description, missing=missing, checklist=checklist,
                         approvals=approvals, blocking=blocking, stale=stale, current=current, not_counted=not_counted,
                         bounds=bound_checks)


def agreement_item(rule, figures: list | None) -> tuple[CheckItem, str]:
    """The checklist item of `[policy] min_agreement` and the short phrase for the status ("" when met).
    Fail closed: figures not computed, no doubly-labeled sample on a labeled set, or a metric that
    cannot be computed (other than for a unanimous set) block."""
    words = {"alpha": "Krippendorff's alpha", "kappa": "Cohen's kappa", "ac1": "Gwet's AC1"}
    kind = {"verdict": "verdicts", "correct": "correct/incorrect", "error": "error categories"}.get(rule.kind, rule.kind)
    name = f"agreement on {kind} ({words.get(rule.metric, rule.metric)}) ≥ {rule.value:g} on every eval set"
    if figures is None:
        return CheckItem(name, False, "agreement was not computed"), "agreement not computed"
    mine = [f for f in figures if f.kind == rule.kind and f.labeled > 0]
    failing, fine = [], []
    for f in mine:
        value = f.value(rule.metric)
        n = f"{f.doubly} doubly-labeled sample{'s' if f.doubly != 1 else ''}"
        if f.doubly == 0:
            failing.append((f"agreement ({rule.metric}) on {f.eval_set} not measurable yet: no sample has "
                            f"{rule.kind} labels from two reviewers", f"no doubly-labeled samples on {f.eval_set}"))
        elif value is None and f.unanimous:
            fine.append(f"{f.eval_set}: {n}, all agree")
        elif value is None:
            why = f.notes.get(rule.metric, "undefined")
            failing.append((f"agreement ({rule.metric}) on {f.eval_set} cannot be computed: {why}",
                            f"agreement not computable on {f.eval_set}"))
        elif value < rule.value:
            failing.append((f"agreement ({rule.metric}) {value:.2f} < {rule.value:g} on {f.eval_set}, {n}",
                            f"agreement {value:.2f} < {rule.value:g} on {f.eval_set}"))
        else:
            fine.append(f"{f.eval_set}: {value:.2f}, {n}")
    if failing:
        return CheckItem(name, False, "; ".join(d for d, _ in failing)), ", ".join(s for _, s in failing)
    if not mine:
        return CheckItem(name, True, f"no {rule.kind} labels yet"), ""
    return CheckItem(name, True, "; ".join(fine)), ""


def _ceil_share(share: float, total: int) -> int:
    import math

    return min(total, math.ceil(share * total - 1e-9))
