"""The policy engine on hand-made cases."""

import pytest

from signoff.core.config import parse_config
from signoff.core.errors import PolicyRefusal
from signoff.core.model import Decision, DecisionKind, Status
from signoff.core.policy import Coverage, check_allowed, evaluate

CONFIG = parse_config("""
[[eval_sets]]
name = "e"
samples = "s.jsonl"
predictions = "p.jsonl"

[policy]
required = { sme = 2, qa = 1 }
min_changed_reviewed = 0.2
all_regressions_reviewed = true
no_self_approval = true

[roles]
sme = ["alice@example.com", "bob@example.com", "dana@example.com"]
qa = ["quinn@example.com"]
""")

H = "hash-1"
FULL = Coverage(changed_total=100, changed_labeled=20, regressed_total=5, regressed_labeled=5)


def d(user, role, kind="approve", h=H, verified=True):
    # The service verifies signatures before the policy sees decisions (tests/test_signing_service.py).
    return Decision(user=user, role=role, kind=DecisionKind(kind), content_hash=h, verified=verified)


def test_only_verified_decisions_count_and_the_others_say_why():
    unsigned = Decision(user="bob@example.com", role="sme", kind=DecisionKind.APPROVE, content_hash=H,
                        not_counted="not signed")
    v = ev([d("alice@example.com", "sme"), unsigned, d("quinn@example.com", "qa")])
    assert v.status is Status.PENDING and v.description.startswith("awaiting review: 1/2 SME")
    assert [(x.user, x.not_counted) for x in v.not_counted] == [("bob@example.com", "not signed")]


def ev(decisions, coverage=FULL, author="dana@example.com"):
    return evaluate(CONFIG, decisions=decisions, coverage=coverage, content_hash=H, authors=[author] if author else [])


def test_nothing_yet_says_what_is_missing():
    v = ev([], Coverage(changed_total=100, changed_labeled=3, regressed_total=12, regressed_labeled=0))
    assert v.status is Status.PENDING
    assert v.description == "awaiting review: 0/2 SME, 0/1 QA, 17 more changed samples to label, 12 regressions unlabeled"
    assert len(v.description) <= 140


def test_quorum_and_coverage_approve():
    v = ev([d("alice@example.com", "sme"), d("bob@example.com", "sme"), d("quinn@example.com", "qa")])
    assert v.status is Status.APPROVED
    assert v.description == "approved: 2/2 SME, 1/1 QA"


def test_coverage_still_missing_keeps_it_pending():
    v = ev([d("alice@example.com", "sme"), d("bob@example.com", "sme"), d("quinn@example.com", "qa")],
           Coverage(changed_total=100, changed_labeled=19, regressed_total=5, regressed_labeled=4))
    assert v.status is Status.PENDING
    assert v.missing == ["1 more changed sample to label", "1 regression unlabeled"]


def test_reject_by_a_required_role_blocks_until_changed():
    decisions = [d("alice@example.com", "sme"), d("bob@example.com", "sme"), d("quinn@example.com", "qa", "reject")]
    v = ev(decisions)
    assert v.status is Status.REJECTED
    assert v.description == "rejected by quinn@example.com (qa)"
    # quinn changes their mind: the latest decision per person counts
    v = ev(decisions + [d("quinn@example.com", "qa", "approve")])
    assert v.status is Status.APPROVED


def test_request_changes_is_rejected_status_too():
    v = ev([d("bob@example.com", "sme", "request-changes")])
    assert v.status is Status.REJECTED
    assert v.description.startswith("changes requested by bob@example.com")


def test_self_approval_refused_and_not_counted():
    with pytest.raises(PolicyRefusal, match="author"):
        check_allowed(CONFIG, user="dana@example.com", role="sme", kind=DecisionKind.APPROVE, authors=["dana@example.com"])
    # the author may still reject their own candidate
    check_allowed(CONFIG, user="dana@example.com", role="sme", kind=DecisionKind.REJECT, authors=["dana@example.com"])
    v = ev([d("dana@example.com", "sme"), d("alice@example.com", "sme"), d("quinn@example.com", "qa")])
    assert v.status is Status.PENDING and v.approvals["sme"] == ["alice@example.com"]


def test_roles_are_checked():
    with pytest.raises(PolicyRefusal, match="not in role 'qa'"):
        check_allowed(CONFIG, user="alice@example.com", role="qa", kind=DecisionKind.APPROVE)
    with pytest.raises(PolicyRefusal, match="not defined"):
        check_allowed(CONFIG, user="alice@example.com", role="boss", kind=DecisionKind.APPROVE)
    # a decision recorded in a role the person no longer holds does not count
    v = ev([d("mallory@example.com", "qa"), d("alice@example.com", "sme"), d("bob@example.com", "sme")])
    assert v.status is Status.PENDING and "0/1 QA" in v.missing


def test_new_content_makes_earlier_approvals_and_rejections_stale():
    old = [d("alice@example.com", "sme", h="old"), d("bob@example.com", "sme", h="old"),
           d("quinn@example.com", "qa", "reject", h="old")]
    v = ev(old)
    assert v.status is Status.PENDING
    assert v.description.startswith("awaiting review: 0/2 SME, 0/1 QA")
    assert {x.user for x in v.stale} == {"alice@example.com", "bob@example.com", "quinn@example.com"}
    v = ev(old + [d("alice@example.com", "sme"), d("bob@example.com", "sme"), d("quinn@example.com", "qa")])
    assert v.status is Status.APPROVED and not v.stale


def test_long_descriptions_are_cut_to_140():
    many = [d(f"user{i}@example.com", "sme", "reject") for i in range(20)]
    cfg = parse_config(CONFIG_TEXT_MANY)
    v = evaluate(cfg, decisions=many, coverage=FULL, content_hash=H)
    assert v.status is Status.REJECTED and len(v.description) <= 140 and v.description.endswith("…")


CONFIG_TEXT_MANY = """
[[eval_sets]]
name = "e"
samples = "s"
predictions = "p"
[policy]
required = { sme = 1 }
[roles]
sme = [%s]
""" % ", ".join(f'"user{i}@example.com"' for i in range(20))


# -- a candidate's change to signoff.toml, and who wrote the candidate (docs/trust.md) ---------

OWNED_TEXT = """
[[eval_sets]]
name = "e"
samples = "s.jsonl"
predictions = "p.jsonl"

[policy]
required = { sme = 1 }
owners = ["quinn@example.com"]

[roles]
sme = ["alice@example.com", "carol@example.com"]
"""


def test_a_policy_change_blocks_until_a_policy_owner_approves():
    from signoff.core.policy_change import POLICY_OWNER, compare_policies

    base = parse_config(OWNED_TEXT)
    relaxed = (OWNED_TEXT.replace("required = { sme = 1 }", "required = {}\nallow_unreviewed = true")
               .replace('"p.jsonl"', '"q.jsonl"'))
    change = compare_policies(base, OWNED_TEXT, relaxed)
    assert change.changed and change.repointed_sets == ("e",) and "+required = {}" in change.diff
    # A candidate's signoff.toml that does not even parse is a change all the same (fail closed).
    broken = compare_policies(base, OWNED_TEXT, OWNED_TEXT.replace("required = { sme = 1 }", "required = {}"))
    assert broken.changed and broken.candidate_error

    def run(decisions):
        return evaluate(base, decisions=decisions, coverage=FULL, content_hash=H, policy_change=change)

    v = run([d("alice@example.com", "sme")])
    assert v.status is Status.PENDING
    assert v.description == "awaiting review: signoff.toml changed (needs a policy owner)"
    assert v.checklist[0].name == "signoff.toml changed: needs approval by a policy owner" and not v.checklist[0].ok
    # Somebody who is no owner cannot approve it, and an owner's review decision is kept apart.
    with pytest.raises(PolicyRefusal, match="not a policy owner"):
        check_allowed(base, user="alice@example.com", role=POLICY_OWNER, kind=DecisionKind.APPROVE)
    v = run([d("alice@example.com", "sme"), d("quinn@example.com", POLICY_OWNER)])
    assert v.status is Status.APPROVED and v.checklist[0].ok
    assert v.approvals[POLICY_OWNER] == ["quinn@example.com"]
    # No owners listed: the item says so and blocks.
    ownerless = parse_config(OWNED_TEXT.replace('owners = ["quinn@example.com"]\n', ""))
    v = evaluate(ownerless, decisions=[d("alice@example.com", "sme")], coverage=FULL, content_hash=H,
                 policy_change=change)
    assert v.status is Status.PENDING and "no [policy] owners are listed" in v.checklist[0].detail
    with pytest.raises(PolicyRefusal, match="lists no \\[policy\\] owners"):
        check_allowed(ownerless, user="quinn@example.com", role=POLICY_OWNER, kind=DecisionKind.APPROVE)


def test_co_authors_and_committers_may_not_approve_and_do_not_count():
    base = parse_config(OWNED_TEXT)
    authors = {"dana@example.com": "author", "alice@example.com": "committer", "carol@example.com": "co-author"}
    with pytest.raises(PolicyRefusal, match=r"(?i)carol@example.com co-authored a candidate commit \(Co-authored-by\) "
                                            r"and may not approve it"):
        check_allowed(base, user="Carol@Example.com", role="sme", kind=DecisionKind.APPROVE, authors=authors)
    with pytest.raises(PolicyRefusal, match="alice@example.com committed a candidate commit"):
        check_allowed(base, user="alice@example.com", role="sme", kind=DecisionKind.APPROVE, authors=authors)
    v = evaluate(base, decisions=[d("carol@example.com", "sme"), d("alice@example.com", "sme")], coverage=FULL,
                 content_hash=H, authors=authors)
    assert v.status is Status.PENDING and v.approvals == {}
