"""ReviewService: the use cases (request, compare, label, decide, publish),
shared by the CLI and the UI. Never imports Qt; the UI calls it from workers
for anything slow."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path



from signoff.core.agreement import AgreementFigure, disagreement_queue, figures as agreement_figures, ratings_of
from signoff.core.assignment import (Assignment, QueueItem, deal, next_open, progress_of, queue_of, reassign,
                                     seed_of, to_review)
from signoff.core.config import ProjectConfig, parse_config
from signoff.core.errors import InputError, NotFoundError, PolicyRefusal, SignoffError
from signoff.core.hashing import canonical_json
from signoff.core.signing import SignatureError, statement_bytes, verify_statement
from signoff.core.model import (IDENTITY_CHECKED, IDENTITY_REFUSED, ChangeClass, Decision, DecisionKind, EvalSetFiles,
                            Label, Verdict)
from signoff.core.hashing import combine_hashes, sha256_bytes
from signoff.core.policy import Coverage, PolicyVerdict, check_allowed, evaluate, other_labels_note
from signoff.core.policy_change import AUTHOR, POLICY_OWNER, PolicyChange, added_specs, compare_policies
from signoff.core.stored_table import SAME_COLUMN, restore_outputs
from signoff.core.lazy import lazy
from signoff.core.tasks import NULL_TASK, TaskState
from signoff.plugin_api import Source
from signoff.registry import registry
from signoff.store.records import NewRequest, OutboxEntry, RequestRecord, SignedStatement
from signoff.store.store import Store

from .identity import IdentityCheck, check_forge_identity, judge, resolve_user, token_account
from .kept_verdict import keeper

from .publishing import OutboxDrainer, OutboxState, PublishReport, outbox_state, publish_outbox
from . import reviewer_keys as rk

# Imported when first used: `signoff status` on a request, `--version` and the rest of the light
# commands never need them before a comparison is loaded (issue 16).
np = lazy("numpy")
pd = lazy("pandas")
pa = lazy("pyarrow")
pc = lazy("pyarrow.compute")
_compare = lazy("signoff.core.compare")
_id_lookup = lazy("signoff.core.id_lookup")
_arrow = lazy("signoff.core.arrow")
_codec = lazy("signoff.store.frames")
_files = lazy("signoff.store.comparison_files")
_file_inputs = lazy("signoff.service.file_inputs")

log = logging.getLogger(__name__)

KEEP = object()  # "leave this field of the label as it is"
CHANGED_CLASSES = (ChangeClass.CHANGED.value, ChangeClass.IMPROVED.value, ChangeClass.REGRESSED.value)
CLASS_NAMES = [c.value for c in ChangeClass]
FRAMES_CACHED = 2   # whole comparison tables kept (a 1M-sample one is ~220 MB of Arrow memory)
# The window opens a comparison whole up to this size decoded, paged above it (comparison_view;
# docs/performance.md "Comparisons as files"): a 1M-sample comparison of short texts (~200 MB) whole.
PAGED_ABOVE_BYTES = 512 << 20
# What a paged table holds for every row (the rest is read by row group): what the table
# shows, filters and sorts on by default.
RESIDENT_COLUMNS = ("id", "class", "severity", "delta")
LABEL_COLUMNS = ["eval_set", "sample_id", "user", "verdict", "correct", "error", "comment", "updated_at"]


@dataclass
class _Slim:
    """What the policy needs of one eval set: ids (with a look-up) and class codes (CLASS_NAMES)."""
    ids: "_id_lookup.IdLookup"
    codes: np.ndarray

    @classmethod
    def of(cls, frame: pd.DataFrame) -> "_Slim":
        return cls(_id_lookup.IdLookup.shared(frame["id"]), _arrow.codes_of(frame["class"], CLASS_NAMES))

    @classmethod
    def read(cls, store: Store, key: tuple[int, str]) -> "_Slim":
        """Only the two columns, kept as Arrow (no frame)."""
        table = store.comparison_table(*key, columns=["id", "class"])
        return cls(_id_lookup.IdLookup(table.column("id")), _arrow.codes_of(table.column("class"), CLASS_NAMES))

    def changed(self) -> np.ndarray:
        return np.isin(self.codes, [CLASS_NAMES.index(c) for c in CHANGED_CLASSES])

    def regressed(self) -> np.ndarray:
        return self.codes == CLASS_NAMES.index(ChangeClass.REGRESSED.value)


def _counts_as_reviewed(label: Label) -> bool:
    return label.verdict is not None or label.correct is not None or bool(label.error)


class ReviewService:
    status_ref = ""  # the branch/tag of the statuses this service queues, when known (GitLab's `ref`)
    keep_for_open = True   # keep the tables a new request wrote, for its first open (_prime); the CLI opens none

    def __init__(self, store: Store, *, user: str | None = None, signer=None):
        """`signer` (app/service/signer.py): signs this user's decisions and labels; None: resolved
        when first needed (SIGNOFF_SIGNING_KEY, Settings ▸ Identity's key, else the ssh-agent)."""
        self.store = store
        self.user = resolve_user(user)
        self._signer = signer
        self._signer_given = signer is not None
        self._checked: dict[tuple, str] = {}   # (signature, statement, keys) -> "" verified, else why not
        self._lock = threading.Lock()
        self._configs: dict[int, ProjectConfig] = {}
        self._changes: dict[int, PolicyChange] = {}
        # Comparisons never change once stored, so they are cached: the last few whole tables
        # (Arrow-backed, shared with whoever asked), and for every eval set looked at, its
        # ids and classes (what the policy's coverage and a label's sample check need).
        self._frames: OrderedDict[tuple[int, str], pd.DataFrame] = OrderedDict()
        self._slims: dict[tuple[int, str], _Slim] = {}
        self._unverified: dict[tuple[int, str], tuple[_Slim, object]] = {}   # a paged open's, with its pages
        self._fixed_requests: dict[int, RequestRecord] = {}
        self._bound_frames: dict[tuple, tuple[pd.DataFrame, str]] = {}
        self._review_orders: dict[tuple[int, str], list[str]] = {}   # (request, eval set) -> the bound's order
        self._adjudication_cache: dict[int, bool] = {}   # label statement id -> a QA adjudication (never changes)
        self._hashes: dict[tuple[int, str], _KnownHashes] = {}   # (request, eval set) -> the sample hashes found
        # Tables this service just compared and stored as files, by the hash of the file written
        # from them: the first open takes one as it is, after checking that hash against the one
        # the database keeps (`signoff review A B` opens its request without reading it back).
        self._primed: dict[tuple[int, str], tuple[str, object]] = {}
        self._drainer: OutboxDrainer | None = None

    def act_as(self, user: str) -> None:
        """Act as `user` from now on (Settings ▸ Identity): labels, decisions and roles are theirs;
        a signer resolved for the previous reviewer is resolved again when next needed."""
        with self._lock:
            self.user = resolve_user(user)
            if not self._signer_given:
                self._signer = None

    # -- requests ---------------------------------------------------------

    def create_request(self, source: Source, *, sha: str, baseline: str | None = None, candidate: str | None = None,
                       change_key: str | None = None, task: TaskState | None = None,
                       engine: str = "auto", loaded=None) -> RequestRecord:
        """`engine`: memory, out-of-core or auto (app/service/file_inputs.py: out of core for
        Parquet files larger than memory allows). `loaded`: what file_inputs.load gave for these
        arguments, when the caller read the inputs already (the CLI reads them while the store
        opens); its eval sets are let go as they are compared."""
        comparisons: list = []
        try:
            return self._create_request(source, comparisons, sha=sha, baseline=baseline, candidate=candidate,
                                        change_key=change_key, task=task, engine=engine, loaded=loaded)
        finally:   # the out-of-core engine's files (renamed into place under their hash, or copied), or
            # what is left of them when the request failed part-way: none stays behind
            for _name, _summary, table in comparisons:
                if isinstance(table, Path):
                    table.unlink(missing_ok=True)

    def _create_request(self, source: Source, comparisons: list, *, sha: str, baseline: str | None,
                        candidate: str | None, change_key: str | None, task: TaskState | None,
                        engine: str, loaded) -> RequestRecord:
        task = task or NULL_TASK
        if loaded is None:
            loaded = _file_inputs.load(source, engine, candidate=candidate or sha, baseline=baseline, task=task)
        scratch = None
        for i in range(len(loaded.eval_sets)):   # (not enumerate: its reused tuple would keep `data` alive)
            data = loaded.eval_sets[i]
            task.report(f"comparing {data.spec.name}", i / max(1, len(loaded.eval_sets)))
            if isinstance(data, EvalSetFiles):   # out of core: the table is the engine's Parquet file
                if scratch is None:
                    scratch = self.store.comparison_scratch() or ""
                comparisons.append(_file_inputs.compare(data, scratch=scratch or None))
                continue
            aligned = _compare.aligned(data)
            # The inputs are aligned: their tables go before the comparison reorders the columns, so
            # each input column is freed as soon as it is reordered (issue 16: at 1M samples the
            # inputs and the reordered table were ~1 GB side by side).
            if isinstance(loaded.eval_sets, list):
                loaded.eval_sets[i] = replace(data, samples=None, baseline=None, candidate=None)
            del data
            result = _compare.compare_aligned(aligned)
            del aligned
            # A source may add fields to an eval set's summary (MLflow: the runs' own metrics).
            extras = (getattr(loaded, "summary_extras", None) or {}).get(result.eval_set, {})
            comparisons.append((result.eval_set, {**result.summary, **extras}, result.arrow))
            del result
        sha_full = loaded.candidate_ref if (candidate is None or candidate == sha) else sha
        if candidate is None or candidate == sha:  # a source whose refs are not commits (MLflow) names the commit
            sha_full = getattr(loaded, "commit_sha", "") or sha_full
        if change_key is None:
            key_of = getattr(source, "default_change_key", None)
            change_key = key_of(loaded.candidate_ref) if key_of else sha_full
        config = loaded.config   # the protected base's policy (docs/trust.md), never the candidate's
        config_text = getattr(loaded, "config_text", "") or ""
        if not config_text:
            raise InputError("the source did not return the text of signoff.toml")
        candidate_text = getattr(loaded, "candidate_config_text", "") or ""
        if candidate_text == config_text:
            candidate_text = ""
        change = compare_policies(config, config_text, candidate_text)
        authors = _authors_of(loaded)
        content_hash = loaded.content_hash
        if change.changed:  # an approval of one proposed policy is not one of another
            content_hash = combine_hashes([content_hash, f"policy:{sha256_bytes(candidate_text.encode())}"])
        keys = rk.resolve_reviewer_keys(config, getattr(loaded, "allowed_signers_text", "") or "", self.store,
                                        actor=self.user)
        req = NewRequest(
            sha=sha_full, change_key=change_key, source=source.NAME, locator=source.locator(),
            baseline_ref=loaded.baseline_ref, candidate_ref=loaded.candidate_ref, title=loaded.title,
            author=loaded.candidate_author, content_hash=content_hash, config_toml=config_text,
            eval_sets=[c[0] for c in comparisons], created_by=self.user,
            candidate_config_toml=candidate_text, authors=authors,
            allowed_signers=getattr(loaded, "allowed_signers_text", "") or "", reviewer_keys=keys,
            # about no commit (sha ""): two refs compared, e.g. browsing MLflow; the refs are the fields above
            kind="review" if sha_full else "comparison",
        )
        decisions = self.checked_decisions(self.store.decisions_for_change(change_key))
        prior = self.store.requests_for_change(change_key)   # newest first
        earlier = [r for r in prior if r.content_hash == req.content_hash]
        # New content for the same change (a retrain): labels carry over on the samples whose input,
        # reference and both outputs are unchanged (same sample_hash); the others stay as history.
        carry_from = earlier[0] if earlier else (prior[0] if prior else None)
        new_hashes = _LazyHashes(comparisons)   # only of the samples a label is checked on
        carried = [l for l in self.store.labels(carry_from.id)] if carry_from else []
        unchanged = (None if earlier or carry_from is None
                     else self._unchanged_samples(carry_from.id, new_hashes, _ids_by_set(carried)))
        if unchanged is not None:
            carried = [l for l in carried if l.sample_id in unchanged.get(l.eval_set, ())]
        counted, others = self._split_labels(carried, config, req.content_hash, keys, change_key=change_key,
                                             hashes=new_hashes.get)
        coverage = replace(self._coverage_of(comparisons, counted), other_labels=others)
        agreement = (self._agreement_of(counted, [c[0] for c in comparisons])
                     if config.policy.min_agreement is not None else None)
        verdict = evaluate(config, decisions=decisions, coverage=coverage, content_hash=req.content_hash,
                           authors=authors, policy_change=change, agreement=agreement)
        task.report("saving the review request", 0.95)
        written: dict[str, str] = {}
        record = self.store.add_request(req, comparisons=comparisons, status=verdict.status.value,
                                        description=verdict.description,
                                        outbox=[self._status_entry(config, req, verdict, None)], actor=self.user,
                                        written=written)
        self._prime(record.id, comparisons, written)
        if earlier:  # same content as an earlier request of this change: its labels still hold
            self.store.copy_labels(earlier[0].id, record.id)
        elif carry_from is not None:   # a retrain: the labels of unchanged samples carry over
            self.store.copy_labels(carry_from.id, record.id,
                                   keep=lambda es, sid: sid in unchanged.get(es, ()))
        return self.store.get_request(record.id)

    def _unchanged_samples(self, earlier_id: int, new_hashes: "_LazyHashes",
                           labelled: dict[str, set[str]]) -> dict[str, set[str]]:
        """{eval set: the `labelled` ids whose sample_hash is the same in `earlier_id`'s comparison and in
        the new comparisons}: hashes only of those ids. Unknown on either side (a comparison stored
        before sample hashes, one that cannot be read): the label does not carry."""
        earlier_sets = set(self._fixed(earlier_id).eval_sets)
        out: dict[str, set[str]] = {}
        for name, ids in labelled.items():
            if name not in earlier_sets:
                continue
            now, before = new_hashes.get(name, ids), self.sample_hashes(earlier_id, name, ids)
            out[name] = {i for i in ids if now.get(i) and now.get(i) == before.get(i)}
        return out

    def sample_hashes(self, request_id: int, eval_set: str, ids=None) -> dict[str, str]:
        """{sample id: sample_hash} of a stored comparison for `ids` (None: every sample), from its
        stored column or computed from its columns for those ids only (app/core/compare.py row_hashes;
        cached: comparisons never change). An id the comparison lacks is left out; {} when the hashes
        are unknown (stored before sample hashes, or the comparison cannot be read: fail closed)."""
        key = (int(request_id), eval_set)
        with self._lock:
            known = self._hashes.setdefault(key, _KnownHashes())
            missing = known.missing(ids)
        if missing is None or missing:
            try:
                found, every = _stored_row_hashes(self.store.comparison_pages(*key), missing)
            except (SignoffError, OSError, pa.ArrowException, ValueError, KeyError, TypeError):
                return {}   # unknown (not cached: asked again next time); nothing carries on it
            with self._lock:
                known.add(found, None if every else missing)
        with self._lock:
            return known.of(ids)

    def changed_since_label(self, request_id: int, eval_set: str, user: str | None = None) -> dict[str, Label]:
        """{sample id: the label `user` (default: me) gave it on the previous request of this change}
        for the samples that changed since (their sample_hash differs): kept as history, not carried."""
        req = self._fixed(request_id)
        user = user or self.user
        earlier = [r for r in self.store.requests_for_change(req.change_key)
                   if r.id < req.id and r.content_hash != req.content_hash and eval_set in r.eval_sets]
        if not earlier:
            return {}
        prev = earlier[0]
        labels = self.store.labels(prev.id, user=user, eval_set=eval_set)
        ids = {str(label.sample_id) for label in labels}
        now = self.sample_hashes(req.id, eval_set, ids) if ids else {}
        before = self.sample_hashes(prev.id, eval_set, ids) if ids else {}
        out = {}
        for label in labels:
            sid = str(label.sample_id)
            if sid in now and (not now[sid] or now[sid] != before.get(sid)):
                out[sid] = label
        return out

    def create_inspection_request(self, loaded, *, change_key: str, inspection) -> RequestRecord:
        """A request NOT tied to a commit (app/service/inspection.py): `sha` is "", its kind
        "inspection", its policy `loaded.config_text` (the protected base's, [status] local)."""
        comparisons = []
        for data in loaded.eval_sets:
            result = _compare.compare(data)
            comparisons.append((result.eval_set, result.summary, result.arrow))
        config, config_text = loaded.config, loaded.config_text
        keys = rk.resolve_reviewer_keys(config, "", self.store, actor=self.user)
        req = NewRequest(sha="", change_key=change_key, source=loaded.source, locator=loaded.locator,
                         baseline_ref=loaded.baseline_ref, candidate_ref=loaded.candidate_ref, title=loaded.title,
                         author="", content_hash=loaded.content_hash, config_toml=config_text,
                         eval_sets=[c[0] for c in comparisons], created_by=self.user, reviewer_keys=keys,
                         kind="inspection")
        verdict = evaluate(config, decisions=[], coverage=self._coverage_of(comparisons, []),
                           content_hash=req.content_hash, authors={}, policy_change=compare_policies(config, config_text, ""))
        record = self.store.add_request(req, comparisons=comparisons, status=verdict.status.value,
                                        description=verdict.description, actor=self.user, inspection=inspection,
                                        outbox=[self._status_entry(config, req, verdict, None)])
        return self.store.get_request(record.id)

    def counted_labels(self, request_id: int, labels: list[Label] | None = None) -> list[Label]:
        """The request's labels that count: signed, on this content, by a reviewer in a required role.
        `labels`: as a transaction read them (else read now)."""
        req = self.get_request(request_id)
        return self._split_labels(self.store.labels(req.id) if labels is None else labels, self.config(req.id),
                                  req.content_hash, req.reviewer_keys)[0]

    # -- periodic inspection (app/service/inspection.py) -------------------
    def _keep_inspection_estimate(self, req: RequestRecord) -> None:
        """An inspection's estimate follows its labels: kept (and written back through the outbox)
        whenever its status is re-evaluated, here rather than in each caller. Only for inspections,
        and nothing is written when the figures did not change."""
        if getattr(req, "kind", "review") != "inspection":
            return
        from signoff.service.inspection import InspectionService

        InspectionService(self).record_estimate(req.id, only_if_changed=True)

    def inspection_trend(self, request_id: int) -> dict | None:
        """For an inspection: {"subject", "points"}, the estimated inspections of the same subject
        (model/alias, experiment or files), oldest first (the trend chart). None for other requests."""
        insp = self.store.inspection(int(request_id))
        if insp is None:
            return None
        from signoff.service.inspection import InspectionService

        return {"subject": insp.subject, "points": InspectionService(self).trend(insp.subject)}

    def list_requests(self) -> list[RequestRecord]:
        return self.store.list_requests()

    def get_request(self, request_id: int) -> RequestRecord:
        return self.store.get_request(int(request_id))

    def resolve_request(self, ref: str) -> RequestRecord:
        ref = str(ref).strip()
        if ref.isdigit() and len(ref) < 7:
            return self.get_request(int(ref))
        found = self.store.requests_for_sha(ref) if len(ref) >= 7 else []
        if not found:
            raise NotFoundError(f"no review request {ref!r} (give a request id or a commit SHA of 7+ characters)")
        return found[0]

    def latest_for_sha(self, sha: str) -> RequestRecord | None:
        found = self.store.requests_for_sha(sha)
        return found[0] if found else None

    def config(self, request_id: int) -> ProjectConfig:
        """The request's policy: signoff.toml of the protected base, plus the eval sets the
        candidate added (compared in addition; everything else of the candidate's text is ignored)."""
        with self._lock:
            if request_id not in self._configs:
                req = self.get_request(request_id)
                base = parse_config(req.config_toml, f"signoff.toml of request {req.id} (protected base)")
                added = [s for s in added_specs(base, req.candidate_config_toml) if s.name in req.eval_sets]
                if added:
                    from dataclasses import replace

                    base = replace(base, eval_sets=(*base.eval_sets, *added))
                self._configs[request_id] = base
            return self._configs[request_id]

    def policy_change(self, request_id: int) -> PolicyChange:
        """What the candidate's signoff.toml changes against the base's (nothing: PolicyChange())."""
        req = self._fixed(request_id)   # both texts never change once stored
        if not req.candidate_config_toml:
            return PolicyChange()
        with self._lock:
            found = self._changes.get(req.id)
        if found is None:
            base = parse_config(req.config_toml, f"signoff.toml of request {req.id} (protected base)")
            found = compare_policies(base, req.config_toml, req.candidate_config_toml)
            with self._lock:
                self._changes[req.id] = found
        return found

    def policy_change_json(self, request_id: int, verdict: PolicyVerdict | None = None) -> dict | None:
        """`show --json`'s "policy_change": the diff, whether a policy owner approved it, and who."""
        change = self.policy_change(request_id)
        if not change.changed:
            return None
        verdict = verdict or self.verdict(request_id)
        by = list(verdict.approvals.get(POLICY_OWNER, []))
        return {"diff": change.diff, "approved": bool(by), "approved_by": by,
                "owners": list(self.config(request_id).policy.owners), "added_eval_sets": list(change.added_sets),
                "removed_eval_sets": list(change.removed_sets), "repointed_eval_sets": list(change.repointed_sets),
                "candidate_error": change.candidate_error}

    def summary(self, request_id: int) -> dict:
        req = self.get_request(request_id)
        verdict = self.verdict(request_id)
        verdict_coverage = self.coverage(req.id)
        return {
            "request": request_json(req),
            "status": verdict.status.value,
            "description": verdict.description,
            "missing": verdict.missing,
            "checklist": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in verdict.checklist],
            "eval_sets": list(self.store.comparison_summaries(req.id).values()),
            "policy_change": self.policy_change_json(req.id, verdict),
            # Trust (docs/trust.md): what does not count, and why
            "decisions_not_counted": [{"user": d.user, "role": d.role, "decision": DecisionKind(d.kind).value,
                                       "why": d.not_counted} for d in verdict.not_counted],
            "other_labels": verdict_coverage.other_labels,
            "carried_labels": verdict_coverage.carried_labels,   # carried over from an earlier request (a retrain)
            "other_labels_note": other_labels_note(verdict_coverage.other_labels),
            # The regression-rate bounds (docs/statistics.md): estimate, bound, labels used and still needed
            "regression_bounds": [b.as_json() for b in verdict.bounds],
            # Team review (issue 12): agreement per eval set and label kind, the queues
            "agreement": [f.as_json() for f in self.agreement(req.id)],
            "queues": self.queue_progress(req.id),
        }

    def comparison(self, request_id: int, eval_set: str, *, task: TaskState | None = None) -> pd.DataFrame:
        """The per-sample table (cached; a shallow copy: changing it leaves the cache alone).
        A cancelled `task` raises Cancelled before the read and after it (the port's contract)."""
        task = task or NULL_TASK
        task.check()
        key = (int(request_id), eval_set)
        frame = self._cached_frame(key)
        if frame is None:
            frame = self.store.load_comparison(*key)
            task.check()       # cancelled during the read: no table handed out (the read is cached all the same)
            frame = self._cache_frame(key, frame)
        return frame.copy(deep=False)

    def comparison_view(self, request_id: int, eval_set: str, *, task: TaskState | None = None):
        """What the window opens: the whole table (as `comparison`) when it takes at most
        PAGED_ABOVE_BYTES decoded, else a PagedComparison: RESIDENT_COLUMNS and the slice
        columns for every row, the rest read by row group as needed (app/store/comparison_files.py).
        `task` as for `comparison`: cancelled, it raises Cancelled and hands out nothing."""
        task = task or NULL_TASK
        task.check()
        key = (int(request_id), eval_set)
        frame = self._cached_frame(key)
        if frame is not None:
            return frame.copy(deep=False)
        if self.store.comparison_arrow_bytes(*key) <= PAGED_ABOVE_BYTES:
            return self.comparison(*key, task=task)
        # Its hash is checked on a second core while this one reads the resident columns and
        # the window builds its table from them (PagedComparison.verified: before anything shows).
        pages = self.store.comparison_pages(*key, check_while_reading=True)
        slices = _compare.table_slice_columns(pd.DataFrame(columns=pages.names))
        frame = _codec.table_to_frame(pages.resident([*RESIDENT_COLUMNS, *slices], wait=False, encode=tuple(slices)))
        task.check()
        with self._lock:
            # counted by the policy only once the file is verified (_slim); the ids' sort
            # (IdLookup.start) is left to the window once the table is interactive: at 10M it
            # would take the core the open needs, and a look-up before it scans
            if key not in self._slims:
                self._unverified[key] = (_Slim.of(frame), pages)
        return _files.PagedComparison(frame, pages)

    def _prime(self, request_id: int, comparisons, written: dict[str, str]) -> None:
        """Keep the Arrow tables just written as files (up to PAGED_ABOVE_BYTES: a bigger one
        opens paged anyway) for the request's first open; the latest request's only."""
        if not self.keep_for_open:
            return
        with self._lock:
            self._primed = {(int(request_id), name): (written[name], table) for name, _summary, table in comparisons
                            if name in written and getattr(table, "nbytes", PAGED_ABOVE_BYTES + 1) <= PAGED_ABOVE_BYTES}

    def _cached_frame(self, key):
        with self._lock:
            frame = self._frames.get(key)
            if frame is not None:
                self._frames.move_to_end(key)
            primed = self._primed.pop(key, None) if frame is None else None
        if primed is not None:
            sha, table = primed
            # The table is the one the file was written from: it stands for the stored comparison
            # only while the database still names that file (its hash), as a read would check.
            if self.store.comparison_file_sha256(*key) == sha:
                # as a read gives it back: the candidate's outputs whole again (stored_table.restore_outputs)
                frame = self._cache_frame(key, _codec.table_to_frame(restore_outputs(table)))
        return frame

    def _cache_frame(self, key, frame: pd.DataFrame) -> pd.DataFrame:
        with self._lock:
            self._frames[key] = frame
            while len(self._frames) > FRAMES_CACHED:
                self._frames.popitem(last=False)
            if key not in self._slims:
                self._slims[key] = _Slim.of(frame)
                self._slims[key].ids.start()   # sorted ids for the first label's check, on a spare core
        return frame

    # -- labels -----------------------------------------------------------
    def set_label(self, request_id: int, eval_set: str, sample_id: str, *, verdict=KEEP, correct=KEEP, error=KEEP,
                  comment=KEEP, refresh: bool = True) -> Label:
        """Saved at once, as self.user. `refresh=False` skips re-evaluating the policy:
        the window labels at keystroke speed and refreshes the status itself, debounced."""
        self._check_sample(request_id, eval_set, sample_id)
        config = self.config(request_id)
        if error not in (KEEP, None, "") and error not in config.error_categories:
            raise InputError(f"unknown error category {error!r}; signoff.toml [labels] errors: {', '.join(config.error_categories)}")
        changes = {}
        if verdict is not KEEP:
            changes["verdict"] = Verdict(verdict).value if verdict is not None else None
        if correct is not KEEP:
            changes["correct"] = correct
        if error is not KEEP:
            changes["error"] = error or None
        if comment is not KEEP:
            changes["comment"] = comment or None
        req = self._fixed(request_id)
        signer = self._label_signer(req)
        saved = self.store.change_label(request_id, eval_set, str(sample_id), self.user, changes,
                                        outbox_for=lambda label: self._label_write_backs(request_id, config, [label]),
                                        sign=lambda label, position: self._sign_labels(req, signer, [label], position))
        if refresh:
            self.refresh_status(request_id)
        return saved

    def import_labels(self, request_id: int, rows: list[dict]) -> int:
        """All rows or none: every problem is reported before anything is saved."""
        config = self.config(request_id)
        eval_sets = set(self.get_request(request_id).eval_sets)
        wanted: dict[str, set[str]] = {}
        for row in rows:
            es = str(row.get("eval_set", ""))
            if es in eval_sets:
                wanted.setdefault(es, set()).add(str(row.get("sample_id", row.get("id", ""))))
        known = {es: set(self._slim(request_id, es).ids.positions_of(sorted(ids))) for es, ids in wanted.items()}
        problems, labels = [], []
        for n, row in enumerate(rows, start=1):
            es, sid = str(row.get("eval_set", "")), str(row.get("sample_id", row.get("id", "")))
            v = row.get("verdict")
            err = row.get("error") or None
            if sid not in known.get(es, ()):
                problems.append(f"row {n}: no sample {sid!r} in eval set {es!r}")
                continue
            if v not in (None, "") and v not in {x.value for x in Verdict}:
                problems.append(f"row {n}: verdict must be one of {', '.join(x.value for x in Verdict)}, got {v!r}")
                continue
            if err and err not in config.error_categories:
                problems.append(f"row {n}: unknown error category {err!r}")
                continue
            correct = _parse_bool(row.get("correct"))
            if correct == "bad":
                problems.append(f"row {n}: correct must be true/false, got {row.get('correct')!r}")
                continue
            labels.append(Label(request_id=request_id, eval_set=es, sample_id=sid, user=self.user,
                                verdict=Verdict(v) if v else None, correct=correct, error=err,
                                comment=(row.get("comment") or None)))
        if problems:
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            raise InputError("labels not recorded: " + "; ".join(problems[:5]) + more)
        req = self._fixed(request_id)
        signed = self._sign_labels(req, self._label_signer(req), labels, self.store.audit_position()) if labels else None
        count = self.store.upsert_labels(labels, actor=self.user, signed=signed,
                                         outbox=self._label_write_backs(request_id, config, labels))
        self.refresh_status(request_id)
        return count

    def labels_frame(self, request_id: int, *, user: str | None = None) -> pd.DataFrame:
        rows = [{"eval_set": l.eval_set, "sample_id": l.sample_id, "user": l.user,
                 "verdict": l.verdict.value if l.verdict else None, "correct": l.correct, "error": l.error,
                 "comment": l.comment, "updated_at": l.updated_at} for l in self.store.labels(request_id, user=user)]
        return pd.DataFrame(rows, columns=LABEL_COLUMNS)

    def eval_set_progress(self, request_id: int, *, user: str | None = None) -> dict[str, tuple[int, int]]:
        """{eval set: (labeled by `user`, samples to review)} over every class but unchanged (the
        port's read model): from each eval set's ids and classes (_slim: what an open already
        holds, else only those two columns read), never a second read of an open table."""
        mine: dict[str, list[str]] = {}
        for l in self.store.labels(request_id, user=user or self.user):
            mine.setdefault(l.eval_set, []).append(str(l.sample_id))
        unchanged = CLASS_NAMES.index(ChangeClass.UNCHANGED.value)
        out = {}
        for name in self._fixed(request_id).eval_sets:
            slim = self._slim(request_id, name)
            todo = (slim.codes >= 0) & (slim.codes != unchanged)
            labeled = slim.ids.mask_of(mine[name]) if mine.get(name) else np.zeros(len(todo), dtype=bool)
            out[name] = (int((todo & labeled).sum()), int(todo.sum()))
        return out

    # -- policy and decisions ---------------------------------------------
    def my_roles(self, request_id: int) -> list[str]:
        return self.config(request_id).roles_of(self.user)

    def coverage(self, request_id: int, labels: list[Label] | None = None) -> Coverage:
        """`labels`: the request's labels as a transaction read them (else read now)."""
        # Only changed / improved / regressed samples count; a sample counts once, whoever labeled it,
        # and only labels signed by a reviewer in a role the policy requires (others: other_labels).
        req = self.get_request(request_id)   # not _fixed: a reviewer's forge keys may have been fetched again
        carried: list[Label] = []
        counted, others = self._split_labels(self.store.labels(request_id) if labels is None else labels,
                                             self.config(req.id), req.content_hash, req.reviewer_keys,
                                             change_key=req.change_key,
                                             hashes=lambda name, ids: self.sample_hashes(req.id, name, ids),
                                             request_id=req.id, carried=carried)
        reviewed: dict[str, set[str]] = {}
        for l in counted:
            reviewed.setdefault(l.eval_set, set()).add(l.sample_id)
        ct = cl = rt = rl = 0
        for name in self._fixed(request_id).eval_sets:
            slim = self._slim(request_id, name)
            changed, regressed = slim.changed(), slim.regressed()
            labeled = slim.ids.mask_of(sorted(reviewed[name])) if reviewed.get(name) else np.zeros(len(changed), bool)
            ct += int(changed.sum()); cl += int((changed & labeled).sum())
            rt += int(regressed.sum()); rl += int((regressed & labeled).sum())
        return Coverage(changed_total=ct, changed_labeled=cl, regressed_total=rt, regressed_labeled=rl,
                        other_labels=others, carried_labels=len(carried))

    def verdict(self, request_id: int, *, extra: Decision | None = None) -> PolicyVerdict:
        """The policy's verdict now; `extra`: a decision not made yet, counted as if signed (a preview
        of "after your approval: …", never recorded), the stored ones re-verified as always."""
        req = self.get_request(request_id)
        decisions = self.store.decisions_for_change(req.change_key)
        if extra is None:
            return self._evaluator(req)(decisions, None)
        # The whole policy (bounds, agreement, queues included), so the preview never says
        # "approved" where the real verdict would not.
        preview = replace(extra, verified=True, not_counted="", content_hash=extra.content_hash or req.content_hash,
                          request_id=extra.request_id or req.id)
        return self._evaluator(req, preview=preview)(decisions, None)

    def _evaluator(self, req: RequestRecord, *, preview: Decision | None = None):
        """The policy of `req` as a function of (decisions oldest first, labels or None):
        what the store calls inside the transaction that records a decision or a status.
        `preview`: a decision not made yet, added after the others are checked, as if signed."""
        config = self.config(req.id)
        self._fixed(req.id)
        for name in req.eval_sets:   # load what coverage needs before any lock is taken
            self._slim(req.id, name)

        def evaluate_now(decisions: list[Decision], labels: list[Label] | None) -> PolicyVerdict:
            # Every decision re-verified (cached by signature): one edited or injected in the
            # database never counts, whoever wrote it.
            checked = self.checked_decisions(decisions) + ([preview] if preview is not None else [])
            return evaluate(config, decisions=checked, coverage=self.coverage(req.id, labels),
                            content_hash=req.content_hash, authors=_request_authors(req),
                            policy_change=self.policy_change(req.id), bounds=self.regression_bounds(req.id, labels),
                            **self._team_figures(req.id, config, labels))

        if config.policy.overlap is not None:   # deal before any lock is taken (the description counts queues)
            self.assignments(req.id)
        return evaluate_now

    def decisions(self, request_id: int) -> list[Decision]:
        """Every decision recorded on the request's change (current and stale, any reviewer), oldest first."""
        return self.store.decisions_for_change(self.get_request(request_id).change_key)

    def decide(self, request_id: int, kind: DecisionKind | str, comment: str = "", *, role: str | None = None) -> PolicyVerdict:
        req = self.get_request(request_id)
        config = self.config(req.id)
        kind = DecisionKind(kind)
        mine = config.roles_of(self.user)
        if role is None:
            if not mine:
                hint = (" (a policy owner approves a change to signoff.toml with --role policy-owner)"
                        if self.user.lower() in {o.lower() for o in config.policy.owners} else "")
                raise PolicyRefusal(f"{self.user} holds no role in signoff.toml [roles] and may not decide{hint}")
            # Of several roles, the one the policy still needs most is the natural default; ask instead of guessing.
            if len(mine) > 1:
                raise PolicyRefusal(f"{self.user} holds several roles ({', '.join(mine)}): choose one (--role)")
            role = mine[0]
        if role == POLICY_OWNER and not req.candidate_config_toml:
            raise PolicyRefusal(f"request {req.id} does not change signoff.toml: there is nothing for a policy owner "
                                f"to approve")
        check_allowed(config, user=self.user, role=role, kind=kind, authors=_request_authors(req))
        # The forge token's user must be the one deciding; forge unreachable: recorded, counts once checked.
        identity = check_forge_identity(self.user, config.status)
        decision = self._signed_decision(req, config, role, kind, comment)   # refused unless it verifies
        decision = replace(decision, identity=identity.state, identity_forge=identity.forge,
                           identity_note=identity.note, identity_token=identity.token)

        def outbox_for(verdict: PolicyVerdict, changed: bool) -> list[OutboxEntry]:
            # The commit status only when it changed (an identical one would be a second post of
            # the same state); the source's write-backs carry the decision itself, so always.
            status = [self._status_entry(config, req, verdict, req.id)] if changed else []
            return [*status, *self._status_write_backs(req, config, verdict, decision)]

        # The verdict is computed inside the store's transaction, under the request's lock.
        _saved, verdict = self.store.record_decision(decision, evaluate=self._evaluator(req), outbox_for=outbox_for,
                                                     keep=keeper(self, req))
        self._keep_inspection_estimate(req)
        return verdict

    def refresh_status(self, request_id: int) -> PolicyVerdict:
        """Re-evaluate inside the store's transaction; when the status or its words changed,
        record it and queue the post (an identical status queues nothing)."""
        req = self.get_request(request_id)
        config = self.config(req.id)
        latest: list[Decision | None] = [None]
        evaluate_now = self._evaluator(req)

        def evaluate_locked(decisions: list[Decision], labels: list[Label]) -> PolicyVerdict:
            latest[0] = decisions[-1] if decisions else None
            return evaluate_now(decisions, labels)

        verdict, _changed = self.store.refresh_status(
            req.id, evaluate=evaluate_locked, actor=self.user, keep=keeper(self, req),
            outbox_for=lambda v: [self._status_entry(config, req, v, req.id),
                                  *self._status_write_backs(req, config, v, latest[0])])
        self._keep_inspection_estimate(req)
        return verdict

    def recheck_identities(self, request_id: int | None = None) -> list[Decision]:
        """Make the forge identity checks that wait (the forge was unreachable when the decision was
        made), with the token configured here and only where it is the token the decision was made
        with: the decision is marked checked or refused (audited), and the request's status
        re-evaluated and queued to post. Returns the decisions marked (with their new state)."""
        waiting = self.store.unchecked_decisions(request_id)
        found: dict[tuple[str, str], IdentityCheck | None] = {}
        marked = []
        for d in waiting:
            try:
                req = self.get_request(d.request_id)
                config = self.config(req.id)
                where = (config.status.sink, config.status.api_url)
                if where not in found:   # one look-up per forge host, whatever waits there
                    try:
                        found[where] = token_account(config.status)
                    except SignoffError as exc:
                        log.warning("the identity check of %s's decision still waits: %s", d.user, exc)
                        found[where] = None
                check = found[where]
                if check is None or check.token != d.identity_token:
                    continue    # unreachable still, or another token: it proves nothing of who decided
                check = judge(d.user, check)
                if check.state not in (IDENTITY_CHECKED, IDENTITY_REFUSED):
                    continue

                def outbox_for(v: PolicyVerdict, req=req, config=config) -> list[OutboxEntry]:
                    return [self._status_entry(config, req, v, req.id),
                            *self._status_write_backs(req, config, v, None)]

                done, _verdict = self.store.set_decision_identity(d.id, check.state, check.note, actor=self.user,
                                                                  evaluate=self._evaluator(req), outbox_for=outbox_for,
                                                                  keep=keeper(self, req))
            except SignoffError as exc:   # e.g. the request's policy no longer parses: it stays waiting
                log.warning("the identity check of %s's decision still waits: %s", d.user, exc)
                continue
            if done:
                marked.append(replace(d, identity=check.state, identity_note=check.note))
        return marked

    def publish(self) -> PublishReport:
        return publish_outbox(self.store, recheck=self.recheck_identities)

    def outbox_waiting(self) -> int:
        """How many status posts wait in the outbox (the window's status bar)."""
        return len(self.store.outbox_items(states=("waiting",)))

    def outbox_state(self) -> OutboxState:
        """What waits in the outbox and why (the status bar's indicator and its tooltip)."""
        return outbox_state(self.store)

    def drain_outbox(self) -> OutboxState:
        """Post what is due (the window's background drain: a timer and after each decision),
        one drain at a time per service; leases keep other processes from posting the same entry."""
        with self._lock:
            if self._drainer is None:
                self._drainer = OutboxDrainer(self.store)
        self._drainer.drain()
        return self._drainer.state()

    def requeue_failed(self, actor: str) -> None:
        """Put the failed posts back in the queue (the status bar's Retry)."""
        self.store.requeue_failed(actor=actor)

    def close(self) -> None:
        """Let go of the store's connections (an abandoned start-up, the window's close)."""
        self.store.close()

    # -- the store's state, for the window (ReviewPort read models) ---------
    def change_counter(self) -> tuple | None:
        """The store's change counter: the audit log's head (count, hash). Every audited write, by
        any process, moves it; the window polls it to refresh (app/ui/team_view.py). None: no head."""
        head = self.store.audit_head()
        return tuple(head) if head else None

    def store_description(self) -> str:
        """Where the store is, for the status bar ("sqlite: ~/…/signoff.db", credentials never shown)."""
        return self.store.describe()

    # -- the regression-rate bound (docs/statistics.md) -------------------
    def _bound_frame(self, request_id: int, eval_set: str, slices: tuple[str, ...]) -> tuple[pd.DataFrame, str]:
        """ids, classes and the bound's slice columns of one eval set ("" or why they cannot be had)."""
        key = (int(request_id), eval_set, slices)
        with self._lock:
            found = self._bound_frames.get(key)
        if found is None:
            probe = self.store.load_comparison(request_id, eval_set, columns=["id", "class"])
            try:
                frame = self.store.load_comparison(request_id, eval_set, columns=["id", "class", *slices]) \
                    if slices else probe
                why = ""
            except (KeyError, ValueError, SignoffError):
                frame, why = probe, f"slice field(s) {', '.join(slices)} not in the samples of {eval_set!r}"
            if not why and any(c not in frame.columns for c in slices):
                why = f"slice field(s) {', '.join(c for c in slices if c not in frame.columns)} not in the samples"
            found = (frame.reset_index(drop=True), why)
            with self._lock:
                self._bound_frames[key] = found
        return found

    def _bound_setup(self, req: RequestRecord, eval_set: str, bound) -> dict:
        """The strata of one eval set (docs/statistics.md): change class x slice values."""
        frame, why = self._bound_frame(req.id, eval_set, tuple(bound.slices))
        cls = frame["class"].astype(str).to_numpy()
        parts = [cls] + [frame[c].astype(str).to_numpy() for c in bound.slices if not why]
        keys = np.array(["\x1f".join(t) for t in zip(*parts)]) if len(frame) else np.array([], dtype=str)
        codes, strata = np.unique(keys, return_inverse=True) if len(keys) else (np.array([]), np.array([], int))
        stratum_class = np.array([c.split("\x1f")[0] for c in codes])
        known_zero = stratum_class == ChangeClass.UNCHANGED.value
        census = stratum_class == ChangeClass.REGRESSED.value
        seed = int(hashlib.sha256(f"{req.content_hash}:{eval_set}".encode()).hexdigest()[:12], 16)
        return {"frame": frame, "why": why, "strata": np.asarray(strata, int), "codes": codes,
                "known_zero": known_zero, "census": census, "seed": seed}

    def review_sample(self, request_id: int, eval_set: str) -> list[str]:
        """The sample ids the queues serve first, in order (docs/statistics.md "The sample"): every
        sample the scores flag as a regression (a census), then a seeded stratified sample of the rest
        (change class x the bound's slices), proportional in every prefix, as long as the labels seen so
        far say is likely needed (at least to the next checkpoint). [] when the policy bounds no
        regression rate for `eval_set`."""
        req = self._fixed(request_id)
        if eval_set not in req.eval_sets:
            raise InputError(f"request {req.id} has no eval set {eval_set!r} (it has: {', '.join(req.eval_sets)})")
        bound = self.config(req.id).policy.regression_bounds.get(eval_set)
        if bound is None:
            return []
        from signoff.core import stats

        setup = self._bound_setup(req, eval_set, bound)
        strata = setup["strata"]
        order = self.review_order(req.id, eval_set)
        check = next((b for b in self.verdict(req.id).bounds if b.eval_set == eval_set), None)
        f = check.overall if check else None
        have = f.labels if f else 0
        needed = f.needed if f and f.needed is not None else len(order)
        size = max(have + needed, stats.checkpoint_size(stats.checkpoint_index(have) + 1), int(setup["census"][strata].sum()))
        return order[:size]

    def review_order(self, request_id: int, eval_set: str) -> list[str]:
        """The whole seeded order of the bound's sample (review_sample is the prefix of it the
        labels so far say is likely needed); [] when the policy bounds no regression rate for
        `eval_set`. It depends only on the content and the policy, so it is kept once computed."""
        key = (int(request_id), eval_set)
        with self._lock:
            found = self._review_orders.get(key)
        if found is not None:
            return found
        req = self._fixed(request_id)
        if eval_set not in req.eval_sets:
            raise InputError(f"request {req.id} has no eval set {eval_set!r} (it has: {', '.join(req.eval_sets)})")
        bound = self.config(req.id).policy.regression_bounds.get(eval_set)
        order: list[str] = []
        if bound is not None:
            from signoff.core import stats

            setup = self._bound_setup(req, eval_set, bound)
            strata = setup["strata"]
            picked = stats.sample_order(strata, setup["census"][strata], setup["known_zero"][strata], setup["seed"])
            order = [str(i) for i in setup["frame"]["id"].astype(str).to_numpy()[picked]]
        with self._lock:
            self._review_orders[key] = order
        return order

    def next_to_review(self, request_id: int, eval_set: str, after: str | None = None) -> str | None:
        """The window's "next unlabeled" (N) on an eval set the policy bounds: the FIRST sample of the
        bound's order (review_order, docs/statistics.md "The sample") that has no label of mine and no
        verdict of anyone's (the bound uses one verdict per sample: a sample someone judged already is
        no budget well spent), other than `after` (the sample shown now, so N always moves on). Always
        the first open one, not the one after `after`: skipping a sample only defers it by one, so the
        labels stay a prefix of the order, which is what keeps the sample random. None when the set is
        not bounded or the whole order is done: then the caller's own next-unlabeled applies.

        With assigned queues (team review) `n` uses next_assigned instead: the queue decides WHICH
        samples are mine (a bounded set is dealt along this order) and this order in which order I
        meet them (the first open one of my queue): docs/statistics.md."""
        order = self.review_order(request_id, eval_set)
        if not order:
            return None
        me = self.user.strip().lower()
        done = {str(l.sample_id) for l in self.store.labels(int(request_id), eval_set=eval_set)
                if l.verdict is not None or (l.user.strip().lower() == me and _counts_as_reviewed(l))}
        if after is not None:
            done.add(str(after))
        return next((sid for sid in order if sid not in done), None)

    def regression_bounds(self, request_id: int, labels: list[Label] | None = None) -> list:
        """The regression-rate bound of every eval set the policy bounds, from the labels that count
        (signed, by reviewers in a required role): overall and per configured slice value."""
        from signoff.core import stats
        from signoff.core.policy import BoundCheck

        config = self.config(request_id)
        wanted = config.policy.regression_bounds
        if not wanted:
            return []
        req = self.get_request(request_id)
        counted, _ = self._split_labels(self.store.labels(request_id) if labels is None else labels,
                                        config, req.content_hash, req.reviewer_keys)
        out = []
        for name, bound in wanted.items():
            if name not in req.eval_sets:
                out.append(BoundCheck(name, None, problem=f"eval set {name!r} is not in this request"))
                continue
            setup = self._bound_setup(req, name, bound)
            if setup["why"]:
                out.append(BoundCheck(name, None, problem=setup["why"]))
                continue
            # one value per sample: a regression when any counted verdict says the baseline is better;
            # ordered by its first verdict (the order the labels came in)
            first: dict[str, tuple] = {}
            for l in counted:
                if l.eval_set != name or l.verdict is None:
                    continue
                at = l.updated_at.timestamp() if l.updated_at else 0.0
                worse = Verdict(l.verdict) is Verdict.BASELINE
                old = first.get(str(l.sample_id))
                first[str(l.sample_id)] = (min(at, old[0]) if old else at, bool(worse or (old and old[1])))
            frame = setup["frame"]
            index = pd.Index(frame["id"].astype(str))
            items = sorted(first.items(), key=lambda kv: (kv[1][0], kv[0]))
            pos = index.get_indexer([k for k, _ in items]) if items else np.array([], int)
            vals = np.array([v[1] for _, v in items], float)
            keep = pos >= 0
            pos, vals = pos[keep], vals[keep]
            strata = setup["strata"]
            kz = setup["known_zero"]
            on = ~kz[strata[pos]] if len(pos) else np.zeros(0, bool)   # a verdict on an unchanged sample says nothing
            pos, vals = pos[on], vals[on]

            def figures(mask: np.ndarray) -> stats.BoundFigures:
                sub = strata[mask]
                H = len(setup["codes"])
                N = np.bincount(sub, minlength=H).astype(float)
                lpos = mask[pos]
                ls, lv = strata[pos][lpos], vals[lpos]
                alpha = 1.0 - bound.confidence
                ppi = None
                if bound.estimator == "ppi":
                    yhat_all = setup["census"][sub].astype(float)
                    ppi = stats.PPIInput(yhat_all, setup["census"][ls].astype(float))
                est, b, used, hist = stats.sequential_bound(N, kz, ls, lv, alpha, ppi=ppi)
                need = stats.labels_needed(N, kz, setup["census"], ls, lv, alpha, bound.max_rate)
                if used and b <= bound.max_rate:
                    need = 0
                elif need == 0:   # passes at the next checkpoint only
                    need = max(stats.checkpoint_size(stats.checkpoint_index(len(ls)) + 1) - len(ls), 1)
                return stats.BoundFigures(estimate=est, bound=b, labels=int(len(ls)), used=used, needed=need,
                                          max_rate=bound.max_rate, confidence=bound.confidence,
                                          population=int(mask.sum()), estimator=bound.estimator,
                                          history=tuple(hist))

            overall = figures(np.ones(len(strata), bool))
            per_slice = {}
            for col in bound.slices:
                values = frame[col].astype(str).to_numpy()
                for v in sorted(set(values)):
                    per_slice[f"{col}={v}"] = figures(values == v)
            out.append(BoundCheck(name, overall, per_slice))
        return out

    # -- signatures (docs/trust.md) ---------------------------------------
    def keys_of(self, req: RequestRecord, user: str) -> list[str]:
        """The public keys the request's policy lists for `user` (stored with the request)."""
        return list((req.reviewer_keys or {}).get(user.strip().lower(), []))

    def _my_signer(self, keys: list[str] | None):
        if self._signer is None:
            from .signer import signer_for

            signer = signer_for(self.user, keys)
            with self._lock:
                self._signer = self._signer or signer
        return self._signer

    def _label_signer(self, req: RequestRecord):
        """Labels are always signed; whether they count is decided when coverage is computed."""
        return self._my_signer(self.keys_of(req, self.user) or None)

    def _sign_labels(self, req: RequestRecord, signer, labels: list[Label], position: int,
                     adjudicated: bool = False) -> SignedStatement:
        statement = {"type": "signoff/labels/v1", "request": req.id, "content_hash": req.content_hash,
                     "user": self.user, "labels": [_label_entry(l) for l in labels],
                     "at": _now_iso(), "audit_position": int(position)}
        if adjudicated:   # QA's resolution of a disagreement (team review), signed as such
            statement["adjudicated"] = True
        return SignedStatement(text=canonical_json(statement), signature=signer.sign(statement_bytes(statement)),
                               fingerprint=signer.fingerprint)

    def _signed_decision(self, req: RequestRecord, config: ProjectConfig, role: str, kind: DecisionKind,
                         comment: str) -> Decision:
        """The decision, signed by this user's key and verified against the keys the policy lists for
        them; PolicyRefusal (one line) when there is no listed key or the signature does not verify."""
        keys = self.keys_of(req, self.user)
        if rk.uses_forge(self.user, config):
            fresh = rk.refresh_user_keys(self.user, config, keys, self.store)
            if fresh != keys:
                self.store.set_reviewer_keys(req.id, self.user.lower(), fresh, actor=self.user,
                                             reason="forge keys fetched again")
                keys = fresh
        if not keys:
            raise PolicyRefusal(f"{self.user} has no key listed in signoff.toml [signers]: ask a policy owner to add "
                                f"yours (Settings ▸ Identity shows it)")
        signer = self._my_signer(keys)
        statement = {"type": "signoff/decision/v1", "request": req.id, "sha": req.sha, "change_key": req.change_key,
                     "content_hash": req.content_hash, "policy_digest": _digest(req.config_toml),
                     "user": self.user, "role": role, "decision": kind.value, "comment": comment or "",
                     "at": _now_iso(), "audit_position": self.store.audit_position()}
        signature = signer.sign(statement_bytes(statement))
        try:
            fp = verify_statement(statement, signature, keys)
        except SignatureError as exc:
            raise PolicyRefusal(f"{self.user}'s signature was not accepted ({exc}): sign with a key signoff.toml "
                                f"[signers] lists for you ({signer.fingerprint} is not one of them)") from None
        return Decision(user=self.user, role=role, kind=kind, content_hash=req.content_hash, comment=comment,
                        request_id=req.id, sha=req.sha, signature=signature, verified=True,
                        statement=canonical_json(statement), key_fingerprint=fp)

    def checked_decisions(self, decisions: list[Decision]) -> list[Decision]:
        """Every stored decision re-verified against the keys its request lists for its maker:
        `verified`, or `not_counted` saying why not (cached by signature)."""
        requests: dict[int, RequestRecord] = {}
        out = []
        for d in decisions:
            if d.request_id not in requests:
                try:
                    requests[d.request_id] = self.get_request(d.request_id)
                except NotFoundError:
                    requests[d.request_id] = None
            why = self._why_not(d, requests[d.request_id])
            out.append(replace(d, verified=not why, not_counted=why))
        return out

    def _why_not(self, d: Decision, req: RequestRecord | None) -> str:
        if req is None:
            return "its request is gone"
        if not d.signature or not d.statement:
            return "unsigned"
        keys = self.keys_of(req, d.user)
        cache_key = (d.signature, d.statement, tuple(keys))
        with self._lock:
            known = self._checked.get(cache_key)
        if known is not None:
            return known
        why = ""
        try:
            statement = json.loads(d.statement)
        except ValueError:
            statement = None
        if not isinstance(statement, dict) or statement.get("type") != "signoff/decision/v1":
            why = "its signed statement is unreadable"
        else:
            expected = {"request": d.request_id, "content_hash": d.content_hash, "user": d.user, "role": d.role,
                        "decision": DecisionKind(d.kind).value, "comment": d.comment or "",
                        "policy_digest": _digest(req.config_toml)}
            wrong = [k for k, v in expected.items() if statement.get(k) != v]
            if wrong:
                why = f"the signature is over other content ({', '.join(wrong)} differ)"
            elif not keys:
                why = f"no key listed for {d.user} in signoff.toml [signers]"
            else:
                try:
                    verify_statement(statement, d.signature, keys)
                except SignatureError as exc:
                    why = str(exc)
        with self._lock:
            self._checked[cache_key] = why
        return why

    def _split_labels(self, labels: list[Label], config: ProjectConfig, content_hash: str,
                      keys: dict, *, change_key: str = "", hashes=None,
                      request_id: int | None = None, carried: list | None = None) -> tuple[list[Label], int]:
        """(labels that count, how many reviewed-looking labels do not): a label counts when the signed
        batch that set it verifies against its maker's listed keys, says what the label says, its maker
        holds a role the policy requires, and the batch was made on this content -- or (carried over
        from a retrain, docs/trust.md) on an earlier request of the same change whose comparison gives
        the sample the sample_hash it has here (`hashes(eval_set, ids)` -> {id: sample_hash} of this request)."""
        reviewed = [l for l in labels if _counts_as_reviewed(l)]
        if not reviewed:
            return [], 0
        required = {r for r, n in config.policy.required.items() if n > 0} or set(config.roles)
        people = {p.lower() for r in required for p in config.roles.get(r, ())}
        statements = self.store.label_statements({l.statement_id for l in reviewed if l.statement_id})
        entries: dict[int, tuple | None] = {}
        signed: list[tuple[Label, tuple]] = []   # labels whose signed batch holds, with that batch
        for l in reviewed:
            if l.user.lower() not in people or l.statement_id not in statements:
                continue
            if l.statement_id not in entries:
                entries[l.statement_id] = self._label_batch(statements[l.statement_id],
                                                            list((keys or {}).get(l.user.lower(), [])))
            batch = entries[l.statement_id]
            if batch is None or statements[l.statement_id][0].lower() != l.user.lower():
                continue
            if batch[2].get((l.eval_set, str(l.sample_id))) != _label_entry(l):
                continue
            signed.append((l, batch))
        # Only labels signed on other content need sample hashes: asked together, per eval set.
        wanted = _ids_by_set(l for l, batch in signed if batch[0] != content_hash)
        earlier: dict[int, RequestRecord | None] = {}
        counted = []
        for l, (signed_hash, signed_request, _entries) in signed:
            if signed_hash != content_hash and not self._carries(signed_request, signed_hash, change_key, request_id,
                                                                 l, hashes, earlier, wanted[l.eval_set]):
                continue
            if carried is not None and signed_request != request_id:   # `carried`: gets the carried-over ones
                carried.append(l)
            counted.append(l)
        return counted, len(reviewed) - len(counted)

    def _carries(self, signed_request, signed_hash: str, change_key: str, request_id: int | None, label: Label,
                 hashes, earlier: dict, ids: set[str]) -> bool:
        """A label signed on other content counts only when the batch names an earlier request of this
        change, signed over that request's content hash, and the sample is unchanged since (its
        sample_hash in that request's comparison equals the one here). Anything unknown: it does not."""
        if not change_key or hashes is None or not isinstance(signed_request, int) or signed_request == request_id:
            return False
        if signed_request not in earlier:
            try:
                earlier[signed_request] = self._fixed(signed_request)
            except NotFoundError:
                earlier[signed_request] = None
        old = earlier[signed_request]
        if old is None or old.change_key != change_key or old.content_hash != signed_hash:
            return False
        if request_id is not None and old.id > request_id:
            return False
        if label.eval_set not in old.eval_sets:
            return False
        now = hashes(label.eval_set, ids).get(str(label.sample_id))
        return bool(now) and now == self.sample_hashes(old.id, label.eval_set, ids).get(str(label.sample_id))

    def _label_batch(self, stored: tuple[str, str, str], keys: list[str]) -> tuple | None:
        """(signed content hash, signed request id, {(eval set, sample id): entry}) of a labels statement
        that verifies against `keys`, else None (cached)."""
        user, text, signature = stored
        cache_key = (signature, text, tuple(keys))
        with self._lock:
            known = self._checked.get(cache_key)
        if known is None:
            known = ""
            try:
                statement = json.loads(text)
                if statement.get("type") != "signoff/labels/v1" or statement.get("user", "").lower() != user.lower():
                    known = "not a labels statement of its maker"
                else:
                    verify_statement(statement, signature, keys)
            except (ValueError, AttributeError, SignatureError) as exc:
                known = str(exc) or "unreadable"
            with self._lock:
                self._checked[cache_key] = known
        if known:
            return None
        statement = json.loads(text)
        return (statement.get("content_hash"), statement.get("request"),
                {(e.get("eval_set"), str(e.get("sample_id"))): e for e in statement.get("labels", [])})

    # -- team review: assignment, agreement, adjudication (issue 12) --------
    def assignments(self, request_id: int) -> list[Assignment]:
        """The request's dealing (app/core/assignment.py), dealt and stored on first use."""
        found = self.store.assignments(int(request_id))
        if found:
            return found
        req = self._fixed(request_id)
        config = self.config(req.id)
        seed = seed_of(req.id, req.content_hash)
        items = self._planned(req, config, seed)
        if items:
            self.store.save_assignments(req.id, items, seed=seed, overlap=config.policy.effective_overlap,
                                        actor=self.user)
            return self.store.assignments(req.id)
        return []

    def _planned(self, req: RequestRecord, config: ProjectConfig, seed: int) -> list[Assignment]:
        classes = {}
        for name in req.eval_sets:
            frame = self.store.load_comparison(req.id, name, columns=["id", "class"])
            classes[name] = list(zip(frame["id"].astype(str), frame["class"].astype(str)))
        # a bounded set is dealt in the bound's sample order (app/core/assignment.py to_review)
        orders = {name: self.review_order(req.id, name) for name in req.eval_sets
                  if name in config.policy.regression_bounds}
        todo = to_review(classes, orders=orders, sample_unchanged=config.policy.sample_unchanged, seed=seed)
        out = []
        for role in self._dealt_roles(config):
            out += deal(todo, list(config.roles.get(role, ())), config.policy.effective_overlap, seed, role=role)
        return out

    @staticmethod
    def _dealt_roles(config: ProjectConfig) -> list[str]:
        return [r for r, n in config.policy.required.items() if n > 0 and config.roles.get(r)]

    def _done_keys(self, request_id: int, labels: list[Label] | None = None) -> set[tuple[str, str, str]]:
        """(user lower-case, eval set, sample id) of every label that says something of its sample."""
        labels = self.store.labels(request_id) if labels is None else labels
        return {(l.user.strip().lower(), l.eval_set, str(l.sample_id)) for l in labels if _counts_as_reviewed(l)}

    def my_queue(self, request_id: int, eval_set: str | None = None, *, user: str | None = None) -> list[QueueItem]:
        """My assigned samples in queue order (regressions first), each with done / not done.
        A sample dealt to me in two roles is listed once."""
        return queue_of(self.assignments(request_id), user or self.user, self._done_keys(request_id), eval_set)

    def next_assigned(self, request_id: int, after: tuple[str, str] | None = None,
                      eval_set: str | None = None) -> QueueItem | None:
        """`n` with assigned queues: my next open item after `after` (eval set, sample id) in queue
        order, else the first open one before it; None when my queue is drained. When the policy
        bounds a regression rate, the queue was dealt in the bound's order and `n` takes the FIRST
        open item other than `after` (app/core/assignment.py next_open): the queue decides which
        samples are mine, the bound's order in which order I meet them, and skipping defers by one."""
        queue = self.my_queue(request_id, eval_set)
        keys = [(q.eval_set, q.sample_id) for q in queue]
        done = {(q.eval_set, q.sample_id) for q in queue if q.done}
        key = next_open(keys, done, None if after is None else (after[0], str(after[1])),
                        first_open=self.bounds_order(request_id))
        return None if key is None else queue[keys.index(key)]

    def bounds_order(self, request_id: int) -> bool:
        """The request's policy bounds a regression rate: its queues follow the bound's sample order."""
        return bool(self.config(request_id).policy.regression_bounds)

    def queue_progress(self, request_id: int, labels: list[Label] | None = None) -> dict:
        """{role: {"assigned", "done", "reviewers": {user: {"assigned", "done"}}}} of the team's queues."""
        return progress_of(self.store.assignments(int(request_id)), self._done_keys(request_id, labels))

    def reassign(self, request_id: int, from_user: str, to: list[str] | None = None) -> int:
        """Move `from_user`'s open items to `to` (members of the item's role; None: the role's other
        members), balanced, never to someone who already holds that sample. Returns how many moved."""
        req = self._fixed(request_id)
        config = self.config(req.id)
        owners = {o.lower() for o in config.policy.owners}
        if not config.roles_of(self.user) and self.user.lower() not in owners:
            raise PolicyRefusal(f"{self.user} holds no role in signoff.toml [roles] and may not reassign work")
        who = from_user.strip().lower()
        items = self.assignments(req.id)
        done = self._done_keys(req.id)
        mine = [a for a in items if a.user == who and (who, a.eval_set, a.sample_id) not in done]
        if not any(a.user == who for a in items):
            raise InputError(f"{from_user} has nothing assigned on request {req.id}")
        targets = [t.strip().lower() for t in (to or []) if t.strip()]
        if who in targets:
            raise InputError(f"--from and --to both name {from_user}")
        holders: dict[tuple[str, str, str], set[str]] = {}
        load: dict[str, int] = {}
        for a in items:
            holders.setdefault((a.role, a.eval_set, a.sample_id), set()).add(a.user)
            if (a.user, a.eval_set, a.sample_id) not in done:
                load[a.user] = load.get(a.user, 0) + 1
        moves = []
        for role in sorted({a.role for a in mine}):
            members = [m.strip().lower() for m in config.roles.get(role, ())]
            if targets:
                outside = [t for t in targets if t not in members]
                if outside and len(outside) == len(targets):
                    raise InputError(f"{', '.join(outside)} not in role {role!r} (signoff.toml [roles].{role}): "
                                     f"their labels would not count")
                pool = [t for t in targets if t in members]
            else:
                pool = [m for m in members if m != who]
            if not pool:
                raise InputError(f"nobody else in role {role!r} to take {from_user}'s items")
            moves += reassign([a for a in mine if a.role == role], holders, pool, load)
        if not moves:
            return 0
        return self.store.move_assignments(req.id, moves, from_user=who, actor=self.user)

    def agreement(self, request_id: int, labels: list[Label] | None = None) -> list[AgreementFigure]:
        """Agreement per eval set and label kind over the labels that count (signed, by a reviewer in a
        required role), adjudicated labels left out (app/core/agreement.py)."""
        req = self.get_request(request_id)
        counted, _ = self._split_labels(self.store.labels(req.id) if labels is None else labels,
                                        self.config(req.id), req.content_hash, req.reviewer_keys)
        return self._agreement_of(counted, list(req.eval_sets))

    def _agreement_of(self, counted: list[Label], eval_sets: list[str]) -> list[AgreementFigure]:
        adjudicated = self._adjudicated({l.statement_id for l in counted})
        ratings = [r for l in counted if l.statement_id not in adjudicated for r in ratings_of(l)]
        return agreement_figures(ratings, eval_sets)

    def _adjudicated(self, statement_ids) -> set[int]:
        """The label statements among `statement_ids` that are QA adjudications."""
        ids = {int(i) for i in statement_ids if i is not None}
        cache = self._adjudication_cache
        with self._lock:
            unknown = [i for i in ids if i not in cache]
        if unknown:
            found = self.store.label_statements(unknown)
            for i in unknown:
                try:
                    flag = bool(json.loads(found[i][1]).get("adjudicated")) if i in found else False
                except (ValueError, AttributeError):
                    flag = False
                with self._lock:
                    cache[i] = flag
        return {i for i in ids if cache.get(i)}

    def disagreements(self, request_id: int, eval_set: str | None = None) -> list[dict]:
        """QA's adjudication queue: samples two reviewers labeled differently (labels that count), not
        yet adjudicated: [{"eval_set", "sample_id", "labels": {kind: {user: value}}}]."""
        req = self.get_request(request_id)
        counted, _ = self._split_labels(self.store.labels(req.id), self.config(req.id), req.content_hash,
                                        req.reviewer_keys)
        adjudicated = self._adjudicated({l.statement_id for l in counted})
        settled = {(l.eval_set, str(l.sample_id)) for l in counted if l.statement_id in adjudicated}
        ratings = [r for l in counted if l.statement_id not in adjudicated for r in ratings_of(l)]
        return disagreement_queue(ratings, settled, list(req.eval_sets), eval_set)

    def adjudicate(self, request_id: int, eval_set: str, sample_id: str, *, verdict=None, correct=None, error=None,
                   comment=None) -> Label:
        """QA's label that settles a disagreement: signed like any batch of labels, the statement marked
        `"adjudicated": true`. Only a member of the role `qa`; only a sample in the disagreement queue."""
        req = self._fixed(request_id)
        config = self.config(req.id)
        if "qa" not in config.roles_of(self.user):
            raise PolicyRefusal(f"{self.user} is not in role 'qa' (signoff.toml [roles].qa): only QA adjudicates")
        self._check_sample(req.id, eval_set, sample_id)
        if verdict is None and correct is None and not error:
            raise InputError("nothing to adjudicate with: give a verdict, correct/incorrect or an error category")
        if error and error not in config.error_categories:
            raise InputError(f"unknown error category {error!r}; signoff.toml [labels] errors: "
                             f"{', '.join(config.error_categories)}")
        if not any(d["sample_id"] == str(sample_id) for d in self.disagreements(req.id, eval_set)):
            raise InputError(f"{eval_set}/{sample_id} is not in the disagreement queue of request {req.id} "
                             f"(its reviewers agree, or it was adjudicated already)")
        label = Label(request_id=req.id, eval_set=eval_set, sample_id=str(sample_id), user=self.user,
                      verdict=Verdict(verdict) if verdict else None, correct=correct, error=error or None,
                      comment=comment or None)
        signed = self._sign_labels(req, self._label_signer(req), [label], self.store.audit_position(),
                                   adjudicated=True)
        self.store.upsert_labels([label], actor=self.user, signed=signed,
                                 outbox=self._label_write_backs(req.id, config, [label]))
        self.refresh_status(req.id)
        return label

    def _team_figures(self, request_id: int, config: ProjectConfig, labels: list[Label] | None) -> dict:
        """What evaluate() needs of team review: agreement (when min_agreement is set), queues (overlap)."""
        out = {}
        if config.policy.min_agreement is not None:
            out["agreement"] = self.agreement(request_id, labels)
        if config.policy.overlap is not None:
            out["queues"] = {role: (p["done"], p["assigned"])
                             for role, p in self.queue_progress(request_id, labels).items()}
        return out

    # -- helpers ----------------------------------------------------------
    def _source_hook(self, req: RequestRecord, name: str):
        """A write-back hook of the request's source plugin (app/plugin_api.py), or None."""
        try:
            source_cls = registry().source(req.source)
        except InputError:  # the plugin is gone: nothing to write back to
            return None
        return getattr(source_cls, name, None)

    def _status_write_backs(self, req: RequestRecord, config: ProjectConfig, verdict: PolicyVerdict,
                            decision: Decision | None) -> list[OutboxEntry]:
        hook = self._source_hook(req, "status_write_backs")
        backs = hook(req, config=config, verdict=verdict, decision=decision) if hook else []
        return [OutboxEntry(sink=w.sink, target=w.target, payload=w.payload, request_id=req.id) for w in backs]

    def _label_write_backs(self, request_id: int, config: ProjectConfig, labels: list[Label]) -> list[OutboxEntry]:
        req = self._fixed(request_id)
        hook = self._source_hook(req, "label_write_backs")
        if hook is None:
            return []
        return [OutboxEntry(sink=w.sink, target=w.target, payload=w.payload, request_id=req.id)
                for label in labels for w in hook(req, config=config, label=label)]

    def _status_entry(self, config: ProjectConfig, req, verdict: PolicyVerdict, request_id: int | None) -> OutboxEntry:
        """The status post of `req` (a RequestRecord or the NewRequest being added). A request about no
        commit (sha "") is its own target by its change key: one comparison's status never supersedes another's."""
        st, sha = config.status, req.sha
        payload = {"repo": st.repo, "sha": sha, "state": verdict.status.value, "description": verdict.description,
                   "context": st.context, "target_url": st.target_url, "api_url": st.api_url}
        if self.status_ref:  # the commit's branch or tag, when the caller knows it (signoff request --ref)
            payload["ref"] = self.status_ref
        return OutboxEntry(sink=st.sink, target=f"{st.sink}|{st.api_url}|{st.repo}|{sha or req.change_key}|{st.context}",
                           payload=payload, request_id=request_id)

    def _slim(self, request_id: int, eval_set: str) -> _Slim:
        """Ids and classes of one eval set: from the cached table, else only those two columns."""
        key = (int(request_id), eval_set)
        with self._lock:
            slim = self._slims.get(key)
            pending = self._unverified.pop(key, None) if slim is None else None
        if pending is not None:   # a paged open's, once its file is verified (raises if it changed)
            pending[1].verified()
            with self._lock:
                slim = self._slims.setdefault(key, pending[0])
        if slim is None:
            slim = _Slim.read(self.store, key)
            with self._lock:
                slim = self._slims.setdefault(key, slim)
        return slim

    def _fixed(self, request_id: int) -> RequestRecord:
        """The request as stored when first asked: only for what never changes (eval sets,
        source, commit), which a keystroke needs without a query."""
        key = int(request_id)
        with self._lock:
            req = self._fixed_requests.get(key)
        if req is None:
            req = self.get_request(key)
            with self._lock:
                self._fixed_requests[key] = req
        return req

    def _check_sample(self, request_id: int, eval_set: str, sample_id: str) -> None:
        req = self._fixed(request_id)
        if eval_set not in req.eval_sets:
            raise InputError(f"request {req.id} has no eval set {eval_set!r} (it has: {', '.join(req.eval_sets)})")
        if str(sample_id) not in self._slim(req.id, eval_set).ids:
            raise InputError(f"no sample {sample_id!r} in eval set {eval_set!r} of request {req.id}")

    @staticmethod
    def _coverage_of(comparisons, labels: list[Label]) -> Coverage:
        reviewed = {(l.eval_set, l.sample_id) for l in labels if _counts_as_reviewed(l)}
        ct = cl = rt = rl = 0
        for name, _summary, whole in comparisons:   # the engines' Arrow tables or Parquet files
            ids = [i for e, i in reviewed if e == name]
            for table in _parts(whole, ["id", "class"]):
                cls = pc.cast(table.column("class"), pa.string())
                lab = (pc.is_in(table.column("id"), value_set=pa.array(ids, pa.string())).to_numpy(zero_copy_only=False)
                       if ids else np.zeros(table.num_rows, dtype=bool))
                ch = pc.is_in(cls, value_set=pa.array(sorted(CHANGED_CLASSES), pa.string())).to_numpy(zero_copy_only=False)
                rg = pc.equal(cls, ChangeClass.REGRESSED.value).to_numpy(zero_copy_only=False)
                ct += int(ch.sum()); cl += int((ch & lab).sum())
                rt += int(rg.sum()); rl += int((rg & lab).sum())
        return Coverage(ct, cl, rt, rl)


def _ids_by_set(labels) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for l in labels:
        out.setdefault(l.eval_set, set()).add(str(l.sample_id))
    return out


class _KnownHashes:
    """The sample hashes of one comparison found so far: {id: hash}, "" for an id it lacks."""

    def __init__(self):
        self.hashes: dict[str, str] = {}
        self.complete = False

    def missing(self, ids) -> list[str] | None:
        """The ids still to find (None: every id, not known yet)."""
        if self.complete:
            return []
        return None if ids is None else [i for i in map(str, ids) if i not in self.hashes]

    def add(self, found: dict[str, str], asked: list[str] | None) -> None:
        self.hashes.update(found)
        if asked is None:
            self.complete = True
        else:
            for i in asked:
                self.hashes.setdefault(i, "")

    def of(self, ids) -> dict[str, str]:
        if ids is None:
            return {i: h for i, h in self.hashes.items() if h}
        return {i: self.hashes[i] for i in map(str, ids) if self.hashes.get(i)}


def _stored_row_hashes(pages, ids: list[str] | None) -> tuple[dict[str, str], bool]:
    """({id: sample_hash} of a stored comparison for `ids` (None: all), whether that is every row's):
    its sample_hash column when it has one, else computed (compare.row_hashes) from only the row
    groups holding those ids."""
    if _compare.HASH_COLUMN in pages.names:
        return _compare.row_hashes(pages.columns(["id", _compare.HASH_COLUMN])), True
    hashed = [c for c in _compare.HASHED_COLUMNS if c in pages.names]
    if ids is None:
        return _compare.row_hashes(pages.columns(["id", *hashed])), True
    all_ids = pages.columns(["id"]).column("id")   # a hash table of the few ids asked, not of all of them
    rows = np.flatnonzero(pc.is_in(all_ids, value_set=pa.array(ids, all_ids.type)).to_numpy(zero_copy_only=False))
    parts = []
    for group in np.unique([pages.group_of(r) for r in rows]):
        page = pages.page(int(group), ("id", *hashed))
        local = rows[(rows >= pages.starts[group]) & (rows < pages.starts[group + 1])] - pages.starts[group]
        parts.append(page.take(pa.array(local)))
    if not parts:
        return {}, False
    return _compare.row_hashes(pa.concat_tables(parts).replace_schema_metadata(pages.schema.metadata)), False


def _parts(table, columns: list[str]):
    """An engine's table in parts of `columns`: the Arrow table itself, or the out-of-core engine's
    Parquet file row group by row group (never whole in memory)."""
    if not isinstance(table, Path):
        yield table
        return
    import pyarrow.parquet as pq

    with pq.ParquetFile(table) as f:
        for i in range(f.num_row_groups):
            yield f.read_row_group(i, columns=columns)


def _as_arrow(table, columns: list[str]):
    """An engine's table as Arrow: the table, or `columns` (those it has) of the out-of-core engine's file."""
    if not isinstance(table, Path):
        return table
    from signoff.store.comparison_files import open_source, read_columns

    return read_columns(open_source(pa.memory_map(str(table))), columns)


class _LazyHashes:
    """{eval set: {id: sample_hash}} of new comparisons (the engine's Arrow tables), computed only for
    the ids asked (a request with no labels to carry computes none)."""

    def __init__(self, comparisons):
        self._tables = {name: table for name, _summary, table in comparisons}
        self._known: dict[str, _KnownHashes] = {}

    def get(self, name: str, ids) -> dict[str, str]:
        if name not in self._tables:
            return {}
        known = self._known.setdefault(name, _KnownHashes())
        missing = known.missing(ids)
        if missing is None or missing:
            # the out-of-core engine's file: the id and hashed columns only
            table = _as_arrow(self._tables[name], ["id", *_compare.HASHED_COLUMNS, SAME_COLUMN])
            if missing is not None:
                ids = table.column("id")   # large_string from the engine: the look-up set of the same type
                table = table.filter(pc.is_in(ids, value_set=pa.array(missing, ids.type)))
            known.add(_compare.row_hashes(_compare.restore_outputs(table)), missing)
        return known.of(ids)


def _authors_of(loaded) -> dict[str, str]:
    """identity -> how it is tied to the candidate, as the source found it."""
    kinds = dict(getattr(loaded, "author_kinds", None) or {})
    for who in getattr(loaded, "authors", ()) or ():
        kinds.setdefault(who.strip().lower(), AUTHOR)
    if loaded.candidate_author:
        kinds.setdefault(loaded.candidate_author.strip().lower(), AUTHOR)
    return {k: v for k, v in kinds.items() if k}


def _request_authors(req: RequestRecord) -> dict[str, str]:
    authors = dict(req.authors or {})
    if req.author:
        authors.setdefault(req.author.strip().lower(), AUTHOR)
    return authors


def _label_entry(label: Label) -> dict:
    return {"eval_set": label.eval_set, "sample_id": str(label.sample_id),
            "verdict": Verdict(label.verdict).value if label.verdict else None, "correct": label.correct,
            "error": label.error or None, "comment": label.comment or None}


def _digest(text: str) -> str:
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _parse_bool(value):
    if value is None or value == "" or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "y"):
        return True
    if text in ("false", "0", "no", "n"):
        return False
    return "bad"


def request_json(req: RequestRecord) -> dict:
    return {"id": req.id, "sha": req.sha, "change": req.change_key, "title": req.title, "author": req.author,
            "baseline": req.baseline_ref, "candidate": req.candidate_ref, "source": req.source,
            "content_hash": req.content_hash, "eval_sets": req.eval_sets, "status": req.status,
            "description": req.description, "created_at": req.created_at.isoformat() if req.created_at else None,
            "created_by": req.created_by, "authors": dict(req.authors or {}),
            "policy_changed": bool(req.candidate_config_toml)}
