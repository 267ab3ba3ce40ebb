"""In-memory double of the ReviewService contract (app/service/review.py),
for UI tests that must not depend on the real store or sources.

FakeReviewService has the same method names, signatures and return types:
RequestRecord, the per-sample DataFrame of signoff.core.compare (built by the
real compare() over small hand-made eval sets), Label, and a PolicyVerdict
from the real signoff.core.policy.evaluate. Everything lives in dicts; nothing
touches disk. Tests can make it slow (`comparison_delay`) or fail
(`fail_comparison`) to exercise the loading states of the window.
"""

from __future__ import annotations

import copy
import sys

import struct
import threading
import time
import zlib
from dataclasses import replace
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from signoff.core.agreement import disagreement_queue, figures as agreement_figures, ratings_of
from signoff.core.assignment import (Assignment, QueueItem, deal, progress_of, queue_of, reassign as core_reassign,
                                     seed_of, to_review)
from signoff.core.compare import compare
from signoff.core.config import EvalSetSpec, ProjectConfig, parse_config
from signoff.core.errors import InputError, NotFoundError, PolicyRefusal
from signoff.core.model import ChangeClass, Decision, DecisionKind, EvalSetData, Label, Verdict
from signoff.core.policy import Coverage, PolicyVerdict, check_allowed, evaluate
from signoff.core.policy_change import PolicyChange, compare_policies
from signoff.core.hashing import canonical_json
from signoff.core.signing import SignatureError, statement_bytes, verify_statement
from signoff.core.tasks import NULL_TASK, TaskState
from signoff.service import signer as signer_module
from signoff.store.records import RequestRecord
from tests.support.keys import with_signers

try:  # the contract's sentinel, so callers can pass it explicitly
    from signoff.service.review import KEEP
except Exception:  # pragma: no cover - the service module is being rewritten
    KEEP = object()

FAKE_CONFIG = """
[project]
name = "support-model"

[[eval_sets]]
name = "support-replies"
samples = "evals/support_replies.jsonl"
predictions = "predictions/support_replies.jsonl"
type = "text"
slices = ["topic", "lang"]

[[eval_sets]]
name = "intents"
samples = "evals/intents.jsonl"
predictions = "predictions/intents.jsonl"
type = "label"
slices = ["topic"]

[[eval_sets]]
name = "extraction"
samples = "evals/extraction.jsonl"
predictions = "predictions/extraction.jsonl"
type = "json"

[[eval_sets]]
name = "photos"
samples = "evals/photos.jsonl"
predictions = "predictions/photos.jsonl"
type = "image"

[policy]
required = { sme = 1, qa = 1 }
min_changed_reviewed = 0.2
all_regressions_reviewed = true
no_self_approval = true

[roles]
sme = ["alice@example.com", "bob@example.com"]
qa = ["quinn@example.com", "alice@example.com"]

[labels]
errors = ["wrong label", "hallucination", "formatting", "unsafe"]
"""

ALICE = "alice@example.com"
AUTHOR = "dana@example.com"
MARKUP = '<b>x</b> <img src=x onerror=alert(1)> <script>alert("hi")</script> &amp; &lt;'


def tiny_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid RGB PNG of one colour, without any imaging library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    raw = row * height
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def png_bomb_header(width: int = 60_000, height: int = 60_000) -> bytes:
    """A PNG whose header claims a huge image (the decoder must refuse it before allocating)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))


LONG_BASE = "".join(f"Paragraph {i}: the customer asked about the refund of order {1000 + i}; "
                    f"we explained the policy and the timeline in detail.\n" for i in range(250))
LONG_CAND = LONG_BASE.replace("Paragraph 10:", "Paragraph ten:").replace("order 1200", "order 1201")


def _text_set() -> EvalSetData:
    rows = [
        # id, topic, lang, input, reference, baseline, b score, candidate, c score
        ("s-001", "billing", "en", "Where is my refund?", "Refunds take 5 days.",
         "Refunds take 5 days.", 1.0, "Refunds take a while.", 0.0),
        ("s-002", "billing", "en", "Can I pay by card?", "Yes, by card or PayPal.",
         "Yes, by card or PayPal.", 1.0, "Yes, by card.", 0.4),
        ("s-003", "shipping", "en", "Track my parcel", "Use the tracking link in the e-mail.",
         "Check the e-mail.", 0.2, "Use the tracking link in the e-mail.", 1.0),
        ("s-004", "shipping", "en", "Render this", "plain",
         "plain answer", np.nan, MARKUP, np.nan),
        ("s-005", "account", "ar", "كيف أغير كلمة المرور؟", "من الإعدادات",
         "من صفحة الإعدادات", np.nan, "من الإعدادات ثم الأمان", np.nan),
        ("s-006", "account", "en", "Delete my account", "Settings → Account → Delete.",
         "Settings → Account → Delete.", 1.0, "Settings → Account → Delete.", 1.0),
        ("s-007", "billing", "en", "Long answer please", None,
         LONG_BASE, np.nan, LONG_CAND, np.nan),
        ("s-008", "shipping", "en", "Hidden characters", None,
         "Call us now", np.nan, "Call\u200b us\u202e now\u202c", np.nan),
        ("s-009", "account", "en", "Reset 2FA", "Use a recovery code.",
         "Use a recovery code.", 1.0, "Use a recovery code.", 1.0),
        ("s-010", "billing", "en", "Invoice copy", "Download it from Billing.",
         "Download it from Billing.", 1.0, "Ask support.", 0.1),
    ]
    samples = pd.DataFrame([{"id": r[0], "topic": r[1], "lang": r[2], "input": r[3], "reference": r[4]} for r in rows])
    base = pd.DataFrame([{"id": r[0], "output": r[5], "score": r[6]} for r in rows])
    cand = pd.DataFrame([{"id": r[0], "output": r[7], "score": r[8]} for r in rows if r[0] != "s-009"])
    extra = pd.DataFrame([{"id": "s-011", "output": "Only the candidate answered.", "score": np.nan}])
    cand = pd.concat([cand, extra], ignore_index=True)
    spec = EvalSetSpec(name="support-replies", samples="s", predictions="p", output_type="text", slices=("topic", "lang"))
    return EvalSetData(spec, samples, base, cand, content_hash="text-v1")


def _label_set() -> EvalSetData:
    rows = [("i-1", "billing", "refund", "refund", 0.91, "refund", 0.95),
            ("i-2", "billing", "invoice", "refund", 0.0, "invoice", 1.0),
            ("i-3", "shipping", "tracking", "tracking", 1.0, "delivery", 0.0),
            ("i-4", "shipping", "delivery", "delivery", 1.0, "delivery", 1.0)]
    samples = pd.DataFrame([{"id": r[0], "topic": r[1], "input": f"utterance {r[0]}", "reference": r[2]} for r in rows])
    base = pd.DataFrame([{"id": r[0], "output": r[3], "score": r[4]} for r in rows])
    cand = pd.DataFrame([{"id": r[0], "output": r[5], "score": r[6]} for r in rows])
    spec = EvalSetSpec(name="intents", samples="s", predictions="p", output_type="label", slices=("topic",))
    return EvalSetData(spec, samples, base, cand, content_hash="label-v1")


def _json_set() -> EvalSetData:
    rows = [("j-1", '{"name": "Ann", "total": 12.5}', '{"name": "Ann", "total": 12.5}', '{"total": 12.5, "name": "Ann"}'),
            ("j-2", '{"name": "Bo", "total": 3}', '{"name": "Bo", "total": 3}', '{"name": "Bob", "total": 3, "extra": [1, 2]}'),
            ("j-3", '{"name": "Cy"}', 'not json at all', '{"name": "Cy"}')]
    samples = pd.DataFrame([{"id": r[0], "input": f"invoice {r[0]}", "reference": r[1]} for r in rows])
    base = pd.DataFrame([{"id": r[0], "output": r[2], "score": np.nan} for r in rows])
    cand = pd.DataFrame([{"id": r[0], "output": r[3], "score": np.nan} for r in rows])
    spec = EvalSetSpec(name="extraction", samples="s", predictions="p", output_type="json")
    return EvalSetData(spec, samples, base, cand, content_hash="json-v1")


def _image_set() -> EvalSetData:
    red, blue = tiny_png(64, 48, (213, 94, 0)), tiny_png(64, 48, (0, 114, 178))
    rows = [("p-1", red, blue), ("p-2", blue, blue), ("p-3", red, png_bomb_header()), ("p-4", b"not an image", red)]
    samples = pd.DataFrame([{"id": r[0], "input": f"photo {r[0]}.png", "reference": None} for r in rows])
    base = pd.DataFrame([{"id": r[0], "output": f"base/{r[0]}.png", "score": np.nan, "output_bytes": r[1]} for r in rows])
    cand = pd.DataFrame([{"id": r[0], "output": f"cand/{r[0]}.png", "score": np.nan, "output_bytes": r[2]} for r in rows])
    spec = EvalSetSpec(name="photos", samples="s", predictions="p", output_type="image")
    return EvalSetData(spec, samples, base, cand, content_hash="image-v1")


def big_set(n: int, name: str = "big") -> EvalSetData:
    """n samples built with whole-column operations (for the 100k-row tests)."""
    rng = np.random.default_rng(3)
    ids = pd.Series([f"b-{i:07d}" for i in range(n)])
    topics = np.array(["billing", "shipping", "account"])[rng.integers(0, 3, n)]
    base_out = "answer " + pd.Series(rng.integers(0, 50, n)).astype(str)
    flip = rng.random(n) < 0.3
    cand_out = base_out.where(~flip, "answer " + pd.Series(rng.integers(0, 50, n)).astype(str) + " v2")
    bs = rng.random(n).round(2)
    cs = np.where(flip, rng.random(n).round(2), bs)
    samples = pd.DataFrame({"id": ids, "topic": topics, "input": "question " + ids, "reference": None})
    base = pd.DataFrame({"id": ids, "output": base_out, "score": bs})
    cand = pd.DataFrame({"id": ids, "output": cand_out, "score": cs})
    spec = EvalSetSpec(name=name, samples="s", predictions="p", output_type="text", slices=("topic",))
    return EvalSetData(spec, samples, base, cand, content_hash=f"big-{n}")


class FakeStore:
    """What the status bar asks of the store (best effort in the real one)."""

    def __init__(self):
        self.waiting: list[dict] = []
        self.changes = 0      # the change counter: every write bumps it (ReviewService.change_counter)

    def describe(self) -> str:
        return "memory (test double)"

    def outbox_items(self, *, states: tuple[str, ...] = ("waiting",)) -> list[dict]:
        return list(self.waiting) if "waiting" in states else []


def _flush_windows() -> None:
    widgets = sys.modules.get("PySide6.QtWidgets")
    if widgets is None or widgets.QApplication.instance() is None:
        return
    for w in widgets.QApplication.topLevelWidgets():
        flush = getattr(w, "flush_labels", None)
        if callable(flush):
            flush()


class FakeReviewService:
    """The ReviewService contract over hand-made data, all in memory."""

    def __init__(self, user: str = ALICE, *, config_text: str = FAKE_CONFIG, author: str = AUTHOR,
                 big: int = 0, empty: bool = False):
        self.user = user
        self.store = FakeStore()
        self.calls: list[tuple] = []
        self.comparison_delay = 0.0                 # seconds, to test progress/cancel
        self.fail_comparison: dict[tuple[int, str], Exception] = {}
        self.refuse_next_decision: str | None = None  # message of a PolicyRefusal to raise once
        self._lock = threading.Lock()
        config_text = with_signers(config_text)   # the test reviewers' keys (tests/support/keys.py)
        self._config_text = config_text
        self._config = parse_config(config_text)
        self._label_signed: dict[tuple[int, str, str, str], bool] = {}   # label key -> signed with a listed key
        self._requests: dict[int, RequestRecord] = {}
        self._data: dict[int, list[EvalSetData]] = {}
        self._tables: dict[tuple[int, str], pd.DataFrame] = {}
        self._labels: dict[tuple[int, str, str, str], Label] = {}
        self._decisions: dict[str, list[Decision]] = {}
        self._assignments: dict[int, list[Assignment]] = {}
        self._adjudicated: set[tuple[int, str, str, str]] = set()
        if empty:
            return
        sets = [_text_set(), _label_set(), _json_set(), _image_set()]
        self._add(1, "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "Shorter support replies; new intent head",
                  author, sets, change_key="feature/short-replies")
        self._add(2, "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432", "Retrain on March data", "erin@example.com",
                  [_text_set()], change_key="retrain-march",
                  created=datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))
        self._decisions["retrain-march"] = [
            self._signed_decision(ALICE, "sme", DecisionKind.APPROVE, 2, "fine"),
            self._signed_decision("quinn@example.com", "qa", DecisionKind.APPROVE, 2, "ok")]
        for rid, es in ((2, "support-replies"),):
            for sid in self._tables[(rid, es)]["id"]:
                self.label_as("bob@example.com", rid, es, sid, verdict=Verdict.TIE)
        self._refresh_status(2)
        if big:
            big_config = config_text.replace('name = "support-replies"', 'name = "big"', 1)
            self._add(3, "b16b16b16b16b16b16b16b16b16b16b16b16b16b", f"Big eval set ({big:,} samples)", author,
                      [big_set(big)], change_key="big", config_text=big_config)

    def act_as(self, user: str) -> None:
        self.user = user.strip()

    # --- building ---------------------------------------------------------

    def _add(self, rid, sha, title, author, sets, *, change_key, created=None, config_text=None):
        content = "+".join(s.content_hash for s in sets)
        self._requests[rid] = RequestRecord(
            id=rid, sha=sha, change_key=change_key, source="memory", locator={}, baseline_ref="main",
            candidate_ref=sha, title=title, author=author, content_hash=content,
            config_toml=config_text or self._config_text, eval_sets=[s.spec.name for s in sets],
            status="pending", description="awaiting review",
            created_at=created or datetime(2026, 3, 9, 14, 30, tzinfo=timezone.utc), created_by="ci@example.com")
        self._data[rid] = sets
        for s in sets:
            self._tables[(rid, s.spec.name)] = compare(s).table
        self._refresh_status(rid)

    def _refresh_status(self, rid: int) -> PolicyVerdict:
        v = self.verdict(rid)
        self._requests[rid] = replace(self._requests[rid], status=v.status.value, description=v.description)
        return v

    # --- signatures: the same rule as the real service (docs/trust.md) ------
    def _keys(self, request_id: int, user: str) -> list[str]:
        cfg = self.config(request_id)
        return [k for u, specs in cfg.signers.keys.items() if u.lower() == user.lower() for k in specs]

    def _sign(self, request_id: int, user: str, statement: dict) -> tuple[str, str, str]:
        """(statement text, signature, fingerprint) signed by `user`'s signer; '' fingerprint when the
        signature does not verify against the keys the policy lists for them."""
        signer = signer_module.signer_for(user, self._keys(request_id, user) or None)
        signature = signer.sign(statement_bytes(statement))
        try:
            fp = verify_statement(statement, signature, self._keys(request_id, user))
        except SignatureError:
            fp = ""
        return canonical_json(statement), signature, fp

    def _signed_decision(self, user: str, role: str, kind: DecisionKind, request_id: int, comment: str) -> Decision:
        req = self.get_request(request_id)
        if not self._keys(request_id, user):
            raise PolicyRefusal(f"{user} has no key listed in signoff.toml [signers]: ask a policy owner to add yours "
                                f"(Settings ▸ Identity shows it)")
        statement = {"type": "signoff/decision/v1", "request": request_id, "sha": req.sha, "content_hash": req.content_hash,
                     "user": user, "role": role, "decision": kind.value, "comment": comment,
                     "at": datetime.now(timezone.utc).isoformat()}
        text, signature, fp = self._sign(request_id, user, statement)
        if not fp:
            raise PolicyRefusal(f"{user}'s signature was not accepted: sign with a key signoff.toml [signers] lists for you")
        return Decision(user, role, kind, req.content_hash, comment, datetime.now(timezone.utc), request_id, req.sha,
                        signature=signature, verified=True, statement=text, key_fingerprint=fp)

    def _sign_label(self, label: Label) -> None:
        statement = {"type": "signoff/labels/v1", "request": label.request_id, "user": label.user,
                     "labels": [{"eval_set": label.eval_set, "sample_id": label.sample_id,
                                 "verdict": label.verdict.value if label.verdict else None, "correct": label.correct,
                                 "error": label.error, "comment": label.comment}]}
        _, _, fp = self._sign(label.request_id, label.user, statement)
        self._label_signed[(label.request_id, label.eval_set, label.sample_id, label.user)] = bool(fp)

    # --- the contract -----------------------------------------------------
    def list_requests(self) -> list[RequestRecord]:
        return sorted(self._requests.values(), key=lambda r: r.created_at, reverse=True)

    def get_request(self, request_id: int) -> RequestRecord:
        try:
            return self._requests[request_id]
        except KeyError:
            raise NotFoundError(f"no review request {request_id}") from None

    def next_to_review(self, request_id: int, eval_set: str, after: str | None = None) -> str | None:
        """The bound's order (ReviewService.next_to_review): the fake's policies bound no eval set."""
        self.get_request(request_id)
        return None

    # --- team review: the same core functions as ReviewService (app/core/assignment.py, agreement.py)
    def assignments(self, request_id: int) -> list[Assignment]:
        req = self.get_request(request_id)
        with self._lock:
            found = self._assignments.get(request_id)
        if found is not None:
            return list(found)
        cfg = self.config(request_id)
        seed = seed_of(req.id, req.content_hash)
        classes = {es: list(zip(t["id"].astype(str), t["class"].astype(str)))
                   for (rid, es), t in self._tables.items() if rid == request_id}
        todo = to_review(classes, sample_unchanged=cfg.policy.sample_unchanged, seed=seed)
        dealt = [a for role, n in cfg.policy.required.items() if n > 0 and cfg.roles.get(role)
                 for a in deal(todo, list(cfg.roles[role]), cfg.policy.effective_overlap, seed, role=role)]
        with self._lock:
            self._assignments[request_id] = dealt
        return list(dealt)

    def _done_keys(self, request_id: int) -> set[tuple[str, str, str]]:
        return {(u.lower(), es, sid) for (rid, es, sid, u), lab in self._labels.items()
                if rid == request_id and (lab.verdict is not None or lab.correct is not None or bool(lab.error))}

    def my_queue(self, request_id: int, eval_set: str | None = None, *, user: str | None = None) -> list[QueueItem]:
        return queue_of(self.assignments(request_id), user or self.user, self._done_keys(request_id), eval_set)

    def queue_progress(self, request_id: int) -> dict:
        """As the service: the queues dealt so far (none before anyone asked for the assignments)."""
        self.get_request(request_id)
        return progress_of(self._assignments.get(request_id, []), self._done_keys(request_id))

    def bounds_order(self, request_id: int) -> bool:
        return bool(self.config(request_id).policy.regression_bounds)

    def reassign(self, request_id: int, from_user: str, to: list[str] | None = None) -> int:
        cfg = self.config(request_id)
        if not cfg.roles_of(self.user) and self.user.lower() not in {o.lower() for o in cfg.policy.owners}:
            raise PolicyRefusal(f"{self.user} holds no role in signoff.toml [roles] and may not reassign work")
        who = from_user.strip().lower()
        items, done = self.assignments(request_id), self._done_keys(request_id)
        if not any(a.user == who for a in items):
            raise InputError(f"{from_user} has nothing assigned on request {request_id}")
        targets = [t.strip().lower() for t in (to or []) if t.strip()]
        holders: dict = {}
        load: dict[str, int] = {}
        for a in items:
            holders.setdefault((a.role, a.eval_set, a.sample_id), set()).add(a.user)
            if (a.user, a.eval_set, a.sample_id) not in done:
                load[a.user] = load.get(a.user, 0) + 1
        mine = [a for a in items if a.user == who and (who, a.eval_set, a.sample_id) not in done]
        moves = []
        for role in sorted({a.role for a in mine}):
            members = [m.strip().lower() for m in cfg.roles.get(role, ())]
            if targets and not any(t in members for t in targets):
                raise InputError(f"{', '.join(targets)} not in role {role!r} (signoff.toml [roles].{role}): "
                                 f"their labels would not count")
            pool = [t for t in targets if t in members] if targets else [m for m in members if m != who]
            if not pool:
                raise InputError(f"nobody else in role {role!r} to take {from_user}'s items")
            moves += core_reassign([a for a in mine if a.role == role], holders, pool, load)
        moved = {(a.role, a.eval_set, a.sample_id, a.user): user for a, user in moves}
        with self._lock:
            self._assignments[request_id] = [replace(a, user=moved.get((a.role, a.eval_set, a.sample_id, a.user),
                                                                       a.user)) for a in items]
            self.store.changes += 1
        return len(moves)

    def _counted_ratings(self, request_id: int) -> tuple[list, set[tuple[str, str]]]:
        """(ratings of the labels that count and are not adjudications, the adjudicated samples)."""
        cfg = self.config(request_id)
        required = {r for r, n in cfg.policy.required.items() if n > 0} or set(cfg.roles)
        people = {p.lower() for r in required for p in cfg.roles.get(r, ())}
        ratings, settled = [], set()
        for key, lab in self._labels.items():
            if key[0] != request_id or not self._label_signed.get(key) or key[3].lower() not in people:
                continue
            if key in self._adjudicated:
                settled.add((key[1], key[2]))
            else:
                ratings += ratings_of(lab)
        return ratings, settled

    def agreement(self, request_id: int) -> list:
        ratings, _ = self._counted_ratings(request_id)
        return agreement_figures(ratings, list(self.get_request(request_id).eval_sets))

    def disagreements(self, request_id: int, eval_set: str | None = None) -> list:
        ratings, settled = self._counted_ratings(request_id)
        return disagreement_queue(ratings, settled, list(self.get_request(request_id).eval_sets), eval_set)

    def adjudicate(self, request_id: int, eval_set: str, sample_id: str, *, verdict=None, correct=None, error=None,
                   comment=None) -> Label:
        if "qa" not in self.config(request_id).roles_of(self.user):
            raise PolicyRefusal(f"{self.user} is not in role 'qa' (signoff.toml [roles].qa): only QA adjudicates")
        if verdict is None and correct is None and not error:
            raise InputError("nothing to adjudicate with: give a verdict, correct/incorrect or an error category")
        if not any(d["sample_id"] == str(sample_id) for d in self.disagreements(request_id, eval_set)):
            raise InputError(f"{eval_set}/{sample_id} is not in the disagreement queue of request {request_id} "
                             f"(its reviewers agree, or it was adjudicated already)")
        label = self.set_label(request_id, eval_set, str(sample_id), verdict=verdict, correct=correct,
                               error=error, comment=comment)
        with self._lock:
            self._adjudicated.add((request_id, eval_set, str(sample_id), self.user))
        return label

    def changed_since_label(self, request_id: int, eval_set: str) -> dict[str, Label]:
        """The fake holds no earlier request of a change (no retrain): nothing changed since a label."""
        self.get_request(request_id)
        return {}

    # --- the store's state ------------------------------------------------
    def change_counter(self) -> tuple | None:
        return (self.store.changes,)

    def store_description(self) -> str:
        return self.store.describe()

    def outbox_waiting(self) -> int:
        return len(self.store.waiting)

    def outbox_state(self):
        from signoff.service.publishing import OutboxState
        return OutboxState(waiting=len(self.store.waiting), failed=0, next_attempt_at=None, problems=())

    def drain_outbox(self):
        self.calls.append(("drain_outbox",))
        return self.outbox_state()      # the fake's outbox has no sink to post to

    def requeue_failed(self, actor: str) -> None:
        self.calls.append(("requeue_failed", actor))

    def close(self) -> None:
        self.calls.append(("close",))

    def inspection_trend(self, request_id: int) -> dict | None:
        """The fake holds no periodic inspection (ReviewService.inspection_trend)."""
        self.get_request(request_id)
        return None

    def resolve_request(self, ref: str) -> RequestRecord:
        if ref.isdigit() and int(ref) in self._requests:
            return self._requests[int(ref)]
        for r in self.list_requests():
            if r.sha.startswith(ref):
                return r
        raise NotFoundError(f"no review request {ref!r}")

    def config(self, request_id: int) -> ProjectConfig:
        return parse_config(self.get_request(request_id).config_toml)

    def summary(self, request_id: int) -> dict:
        req = self.get_request(request_id)
        return {"request": req.id, "sha": req.sha, "eval_sets": {
            es: {"samples": len(t), "classes": t["class"].value_counts().to_dict()}
            for (rid, es), t in self._tables.items() if rid == request_id}}

    def comparison(self, request_id: int, eval_set: str, *, task: TaskState | None = None) -> pd.DataFrame:
        task = task or NULL_TASK
        task.check()
        self.get_request(request_id)
        err = self.fail_comparison.get((request_id, eval_set))
        if err is not None:
            raise err
        deadline = time.monotonic() + self.comparison_delay
        while time.monotonic() < deadline:   # a slow load that stops at the next check once cancelled
            task.check()
            time.sleep(0.01)
        task.check()
        try:
            return self._tables[(request_id, eval_set)].copy()
        except KeyError:
            raise NotFoundError(f"request {request_id} has no eval set {eval_set!r}") from None

    def comparison_view(self, request_id: int, eval_set: str, *, task=None):
        """The fake's tables are small: always whole (ReviewService pages only big ones)."""
        return self.comparison(request_id, eval_set, task=task)

    def set_label(self, request_id: int, eval_set: str, sample_id: str, *, verdict: Verdict | None = KEEP,
                  correct: bool | None = KEEP, error: str | None = KEEP, comment: str | None = KEEP,
                  refresh: bool = True) -> Label:
        self.get_request(request_id)
        table = self._tables.get((request_id, eval_set))
        if table is None:
            raise InputError(f"request {request_id} has no eval set {eval_set!r}")
        if str(sample_id) not in set(table["id"].astype(str)):
            raise InputError(f"no sample {sample_id!r} in eval set {eval_set!r}")
        if error not in (KEEP, None, "") and error not in self.config(request_id).error_categories:
            raise InputError(f"unknown error category {error!r}; signoff.toml [labels] errors: "
                             f"{', '.join(self.config(request_id).error_categories)}")
        key = (request_id, eval_set, sample_id, self.user)
        with self._lock:
            old = self._labels.get(key) or Label(request_id, eval_set, sample_id, self.user)
            new = Label(request_id, eval_set, sample_id, self.user,
                        verdict=old.verdict if verdict is KEEP else (Verdict(verdict) if verdict is not None else None),
                        correct=old.correct if correct is KEEP else correct,
                        error=old.error if error is KEEP else (error or None),
                        comment=old.comment if comment is KEEP else (comment or None),
                        updated_at=datetime.now(timezone.utc))
            self._sign_label(new)
            self._labels[key] = new
            self.store.changes += 1
            self.calls.append(("set_label", request_id, eval_set, sample_id,
                               {k: v for k, v in dict(verdict=verdict, correct=correct, error=error,
                                                      comment=comment).items() if v is not KEEP}))
        if refresh:
            self._refresh_status(request_id)
        return new

    def refresh_status(self, request_id: int) -> PolicyVerdict:
        return self._refresh_status(request_id)

    def decisions(self, request_id: int) -> list[Decision]:
        return list(self._decisions.get(self.get_request(request_id).change_key, []))

    def label_as(self, user: str, request_id: int, eval_set: str, sample_id: str, **fields) -> Label:
        """Test helper (not in the contract): a label by another reviewer."""
        lab = Label(request_id, eval_set, sample_id, user, **fields)
        self._sign_label(lab)
        with self._lock:
            self._labels[(request_id, eval_set, sample_id, user)] = lab
            self.store.changes += 1
        return lab

    def label(self, request_id: int, eval_set: str, sample_id: str, user: str | None = None) -> Label | None:
        """Test helper (not in the contract): one stored label, once the windows have written
        what their label writers queued (app/ui/label_writer.py)."""
        _flush_windows()
        return self._labels.get((request_id, eval_set, sample_id, user or self.user))

    def labels_frame(self, request_id: int, *, user: str | None = None) -> pd.DataFrame:
        rows = [
            {"eval_set": lab.eval_set, "sample_id": lab.sample_id, "user": lab.user,
             "verdict": None if lab.verdict is None else lab.verdict.value, "correct": lab.correct,
             "error": lab.error, "comment": lab.comment, "updated_at": lab.updated_at}
            for (rid, _, _, u), lab in self._labels.items()
            if rid == request_id and (user is None or u.lower() == user.lower())
        ]
        cols = ["eval_set", "sample_id", "user", "verdict", "correct", "error", "comment", "updated_at"]
        return pd.DataFrame(rows, columns=cols)

    def eval_set_progress(self, request_id: int, *, user: str | None = None) -> dict[str, tuple[int, int]]:
        who = (user or self.user).lower()
        out = {}
        for (rid, es), t in self._tables.items():
            if rid != request_id:
                continue
            mine = {sid for (r, e, sid, u) in self._labels if r == rid and e == es and u.lower() == who}
            todo = (t["class"].astype(str) != "unchanged") & t["class"].notna()
            out[es] = (int((todo & t["id"].astype(str).isin(mine)).sum()), int(todo.sum()))
        return out

    def my_roles(self, request_id: int) -> list[str]:
        return self.config(request_id).roles_of(self.user)

    def coverage(self, request_id: int) -> Coverage:
        return self._coverage(request_id)

    def _coverage(self, request_id: int) -> Coverage:
        # Counted: labels signed with a listed key by someone in a role the policy requires.
        cfg = self.config(request_id)
        required = {r for r, n in cfg.policy.required.items() if n > 0} or set(cfg.roles)
        people = {p.lower() for r in required for p in cfg.roles.get(r, ())}
        labeled: dict[str, set[str]] = {}
        others = 0
        for key, lab in self._labels.items():
            rid, es, sid, user = key
            # As the service: a label counts when it says something about the output (verdict, correct,
            # error); a comment alone is a note, neither counted nor "other".
            if rid == request_id and (lab.verdict is not None or lab.correct is not None or bool(lab.error)):
                if self._label_signed.get(key) and user.lower() in people:
                    labeled.setdefault(es, set()).add(sid)
                else:
                    others += 1
        changed_total = changed_labeled = regressed_total = regressed_labeled = 0
        for (rid, es), t in self._tables.items():
            if rid != request_id:
                continue
            cls = t["class"].astype(str)
            is_lab = t["id"].isin(labeled.get(es, set())).to_numpy()
            changed = cls.isin([ChangeClass.CHANGED, ChangeClass.IMPROVED, ChangeClass.REGRESSED]).to_numpy()
            regressed = (cls == ChangeClass.REGRESSED).to_numpy()
            changed_total += int(changed.sum())
            changed_labeled += int((changed & is_lab).sum())
            regressed_total += int(regressed.sum())
            regressed_labeled += int((regressed & is_lab).sum())
        return Coverage(changed_total, changed_labeled, regressed_total, regressed_labeled, other_labels=others)

    def verdict(self, request_id: int, *, extra=None) -> PolicyVerdict:
        req = self.get_request(request_id)
        extra = [replace(extra, verified=True)] if extra is not None else []
        return evaluate(self.config(request_id), decisions=list(self._decisions.get(req.change_key, [])) + extra,
                        coverage=self._coverage(request_id), content_hash=req.content_hash,
                        authors={**req.authors, req.author: "author"}, policy_change=self.policy_change(request_id))

    def policy_change(self, request_id: int) -> PolicyChange:
        req = self.get_request(request_id)
        return compare_policies(parse_config(req.config_toml), req.config_toml, req.candidate_config_toml)

    def decide(self, request_id: int, kind: DecisionKind, comment: str = "", *, role: str | None = None) -> PolicyVerdict:
        req = self.get_request(request_id)
        kind = DecisionKind(kind)
        if self.refuse_next_decision:
            msg, self.refuse_next_decision = self.refuse_next_decision, None
            raise PolicyRefusal(msg)
        roles = self.my_roles(request_id)
        if role is None:
            if not roles:
                raise PolicyRefusal(f"{self.user} holds no role in this request's policy (signoff.toml [roles])")
            role = roles[0]
        check_allowed(self.config(request_id), user=self.user, role=role, kind=kind,
                      authors={**req.authors, req.author: "author"})
        self._decisions.setdefault(req.change_key, []).append(
            self._signed_decision(self.user, role, kind, request_id, comment))
        self.store.changes += 1
        self.calls.append(("decide", request_id, kind, comment, role))
        return self._refresh_status(request_id)

    def publish(self):
        return {"delivered": 0, "waiting": len(self.store.waiting), "failed": 0}

    # --- test helpers -----------------------------------------------------
    def as_user(self, user: str) -> "FakeReviewService":
        """Another reviewer's service over the same in-memory store (another process, in a test)."""
        other = copy.copy(self)
        other.user = user
        return other

    def make_stale(self, request_id: int) -> None:
        """New content for the request: earlier decisions become stale."""
        req = self.get_request(request_id)
        self._requests[request_id] = replace(req, content_hash=req.content_hash + "-v2")
        self._refresh_status(request_id)
