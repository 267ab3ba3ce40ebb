"""Periodic inspection (issue 13, item 3; docs/mlflow.md "Periodic inspection").

`signoff inspect` draws a seeded random sample of recent production predictions and makes
a review request of it that is NOT about a commit (`kind = "inspection"`, `sha = ""`), from
the production of a source that can be inspected (`Source.production`, chosen by `--source`
or by the source's own `signoff inspect` options, `Source.INSPECT_OPTIONS`); the built-in ones:

- from MLflow traces: of an experiment (`experiment`), or of the model version an alias
  points at (`model` + `alias`: the traces linked to that version's logged model, else to
  its source run), requested within `since` (e.g. "7d");
- or from a drop of prediction files (`files`: one .jsonl / .csv / .parquet file, or a folder
  of them): columns id, input, output, optional reference, optional timestamp (needed for
  `since`), optional shadow_output (a shadow model's answer: then the review is side by side,
  the shadow as the baseline, production as the candidate). A trace whose root span's outputs
  are `{"output": ..., "shadow_output": ...}` is side by side the same way.

The policy is the one of every request: `--policy FILE` or `--repo DIR` at its default branch,
never the data's (docs/trust.md), with `[status]` made local (there is no commit to post on).
Reviewers label each sampled prediction correct / incorrect (with an error category); the
result is the error rate of production over the labels that count (signed, by a reviewer in
a required role) with a confidence interval from statsmodels' `proportion_confint`
(`wilson` by default, or `clopper-pearson`, the exact "beta" method). `record_estimate` keeps
it in the store (inspections table) and queues the inspected source's write-backs through the
outbox (`Source.inspection_write_backs`; MLflow: tags `signoff.inspection.*` on the production
model version); ReviewService calls it whenever it re-evaluates an
inspection's status (a label in the window or the CLI, a decision), so no caller has to.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

from signoff.core.config import EvalSetSpec, parse_config, with_local_status
from signoff.core.errors import ConfigError, InputError
from signoff.core.hashing import canonical_json
from signoff.core.model import EvalSetData, LoadedInput
from signoff.registry import registry
from signoff.store.records import InspectionRecord, OutboxEntry

EVAL_SET = "production"
METHODS = {"wilson": "wilson", "clopper-pearson": "beta"}   # our name -> statsmodels' method
_SINCE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


# -- pure parts -----------------------------------------------------------------------------

def parse_since(text: str) -> timedelta | None:
    """"7d", "12h", "30m", "2w" -> timedelta; "" -> None (no time window)."""
    if not text:
        return None
    m = _SINCE.match(str(text))
    if not m or int(m.group(1)) <= 0:
        raise InputError(f"--since {text!r}: give a positive number and a unit, e.g. 7d, 12h, 30m or 2w")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def seeded_sample(frame: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """`size` rows drawn without replacement, reproducibly: the same rows (by id) for the same
    ids and seed, whatever order they came in. Fewer rows than `size`: all of them."""
    if size <= 0:
        raise InputError(f"--sample must be a positive number of predictions, got {size}")
    ordered = frame.assign(_key=frame["id"].astype(str)).sort_values("_key", kind="stable").reset_index(drop=True)
    if len(ordered) > size:
        picked = np.sort(np.random.default_rng(int(seed)).choice(len(ordered), size=size, replace=False))
        ordered = ordered.iloc[picked].reset_index(drop=True)
    return ordered.drop(columns="_key")


def error_interval(errors: int, labeled: int, *, confidence: float = 0.95, method: str = "wilson") -> dict:
    """The error rate and its two-sided interval (statsmodels proportion_confint)."""
    from statsmodels.stats.proportion import proportion_confint

    if method not in METHODS:
        raise InputError(f"--interval must be one of {', '.join(METHODS)}, got {method!r}")
    if not 0 < confidence < 1:
        raise InputError(f"--confidence must be between 0 and 1, got {confidence}")
    out = {"errors": int(errors), "labeled": int(labeled), "method": method, "confidence": float(confidence),
           "error_rate": None, "low": None, "high": None}
    if labeled > 0:
        low, high = proportion_confint(int(errors), int(labeled), alpha=1 - confidence, method=METHODS[method])
        out.update(error_rate=errors / labeled, low=float(max(0.0, low)), high=float(min(1.0, high)))
    return out


def describe_estimate(e: dict) -> str:
    if not e.get("labeled"):
        return "no prediction labeled correct/incorrect yet"
    return (f"error rate {e['error_rate']:.1%} ({e['confidence']:.0%} {e['method']}: {e['low']:.1%}–"
            f"{e['high']:.1%}), {e['errors']} of {e['labeled']} labeled incorrect")


def inspection_policy(config_text: str) -> str:
    """The policy with `[status]` made local (an inspection is about no commit) and the sampled
    predictions' eval set declared (the policy's own eval sets are the commits', not production's)."""
    text = with_local_status(config_text, "signoff/inspection")
    try:
        names = {s.name for s in parse_config(text, "signoff.toml").eval_sets}
    except ConfigError:
        names = set()   # e.g. no [[eval_sets]] at all: the one below is the only one
    if EVAL_SET not in names:
        text += f'\n[[eval_sets]]\nname = "{EVAL_SET}"\ntype = "text"\ntable = "(inspection sample)"\n'
    config = parse_config(text, "signoff.toml (for an inspection)")
    if config.status.sink != "local":
        raise InputError("signoff.toml sets [status] in a form Signoff cannot replace for an inspection; "
                         "write it as a [status] table")
    return text


# -- production predictions (a source's `production`, through the registry) ---------------------

def inspected_source(source: str, options: dict) -> tuple[type, dict]:
    """(the source class `signoff inspect` samples, its options given): `source` by name, else the
    one source whose INSPECT_OPTIONS were given. An option of another source, or a required one
    missing, is refused with one line naming the flags."""
    given = {k: v for k, v in options.items() if v not in (None, "", [], ())}
    able = {n: c for n, c in sorted(registry().sources.items()) if getattr(c, "INSPECT_OPTIONS", ())}
    flags = {o.name: o.flag for c in able.values() for o in c.INSPECT_OPTIONS}

    def names(cls) -> set[str]:
        return {o.name for o in cls.INSPECT_OPTIONS}

    if not source:
        owners = [n for n, c in able.items() if names(c) & set(given)]
        if len(owners) != 1:
            each = "; ".join(f"--source {n}: {', '.join(o.flag for o in c.INSPECT_OPTIONS)}" for n, c in able.items())
            raise InputError((f"give the options of one source, not of {' and '.join(owners)}" if owners
                              else "inspect needs a source of production predictions") + f" ({each})")
        source = owners[0]
    cls = registry().source(source)
    if source not in able:
        raise InputError(f"the {source} source cannot be inspected; sources that can: {', '.join(able) or 'none'}")
    stray = sorted(set(given) - names(cls))
    if stray:
        raise InputError(f"{flags.get(stray[0], stray[0])} is not an option of --source {source}")
    missing = [o for o in cls.INSPECT_OPTIONS if o.required and o.name not in given]
    if missing:
        raise InputError(f"inspect --source {source} needs {missing[0].flag} {missing[0].metavar or 'VALUE'}")
    return cls, given


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"id": frame["id"].astype(str)})
    for col in ("input", "output", "reference", "shadow_output", "timestamp", "trace_id"):
        out[col] = frame[col].to_numpy(dtype=object) if col in frame.columns else None
    return out.reset_index(drop=True)


def _text(value):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and np.isnan(value):
        return None
    return json.dumps(value, sort_keys=True, default=str)


def eval_set_of(sample: pd.DataFrame) -> tuple[EvalSetData, bool]:
    """The sample as one eval set: production is the candidate (a label's `correct` judges it); the
    baseline is the shadow model's output where every sampled prediction has one (side by side:
    a verdict `worse` says production is worse than the shadow), else production's again."""
    shadow = sample["shadow_output"].notna().all() and len(sample) > 0
    samples = pd.DataFrame({"id": sample["id"], "input": sample["input"].map(_text),
                            "reference": sample["reference"].map(_text)})
    if sample["timestamp"].notna().any():
        samples["timestamp"] = sample["timestamp"].map(lambda v: "" if v is None else str(v))
    base = pd.DataFrame({"id": sample["id"], "output": sample["shadow_output" if shadow else "output"].map(_text),
                         "score": np.nan})
    cand = pd.DataFrame({"id": sample["id"], "output": sample["output"].map(_text), "score": np.nan})
    digest = hashlib.sha256(canonical_json({"samples": samples.to_dict("records"), "base": base["output"].tolist(),
                                            "cand": cand["output"].tolist()}).encode()).hexdigest()
    spec = EvalSetSpec(name=EVAL_SET, output_type="text", slices=("timestamp",) if "timestamp" in samples else ())
    return EvalSetData(spec=spec, samples=samples, baseline=base, candidate=cand, content_hash=digest), bool(shadow)


# -- the use case ---------------------------------------------------------------------------

class InspectionService:
    """Creates inspection requests and records their estimate, on a ReviewService."""

    def __init__(self, review):
        self.review = review
        self.store = review.store

    def create(self, *, source: str = "", options: dict | None = None, since: str = "", sample: int = 200,
               seed: int | None = None, policy: str = "", repo: str = "", policy_ref: str = "",
               method: str = "wilson", confidence: float = 0.95, now: datetime | None = None, **source_options):
        """An inspection of `source`'s production (by name, else the source whose inspect options are
        given: `options`, or keywords such as files=…, model=…)."""
        error_interval(0, 0, confidence=confidence, method=method)   # checks both before anything is read
        window = parse_since(since)
        now = now or datetime.now(timezone.utc)
        # before the data: no policy, no reading (the files source reads a policy file or repository)
        base_text, _where = registry().source("files").policy_text(policy, repo, policy_ref, what="an inspection")
        config_text = inspection_policy(base_text)
        cls, given = inspected_source(source, {**(options or {}), **source_options})
        if seed is None:
            seed = int(np.random.default_rng().integers(0, 2**31 - 1))
        pop = cls.production(since=window, now=now, **given)
        if pop.read_sampled is None:   # the frame holds the predictions in full
            pop.frame = _normalised(pop.frame)
        picked = seeded_sample(pop.frame, sample, seed) if len(pop.frame) else pop.frame
        if len(picked) and pop.read_sampled is not None:   # only the sampled ones are read in full
            picked = _normalised(pop.read_sampled(picked))
        if not len(picked):
            raise InputError(f"no production predictions in {pop.subject}"
                             + (f" within the last {since}" if since else "") + ": nothing to inspect")
        data, side_by_side = eval_set_of(picked)
        record = InspectionRecord(request_id=0, subject=pop.subject, source=pop.source, tracking_uri=pop.tracking_uri,
                                  model=pop.model, alias=pop.alias, version=pop.version, experiment=pop.experiment,
                                  files=pop.files, since=since or "", sample_size=int(sample), seed=int(seed),
                                  population=int(len(pop.frame)), method=method, confidence=float(confidence))
        config = parse_config(config_text, "signoff.toml (for an inspection)")
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        locator = {"subject": pop.subject, "seed": int(seed), "since": since or "", "sample": int(sample),
                   "side_by_side": side_by_side, "tracking_uri": pop.tracking_uri}
        loaded = LoadedInput(config=config, source="inspection", locator=locator,
                             candidate_ref=pop.subject,
                             baseline_ref=f"{pop.subject} (shadow)" if side_by_side else pop.subject, candidate_author="", eval_sets=[data],
                             title=f"{pop.title}, {len(picked)} of {len(pop.frame)} predictions, {stamp}",
                             config_text=config_text)
        return self.review.create_inspection_request(loaded, change_key=f"inspection {pop.subject} {stamp} #{seed}",
                                                     inspection=record)

    def estimate(self, request_id: int, labels=None) -> dict:
        """The error rate over the labels that count (signed, by a reviewer in a required role);
        `labels`: the request's labels as a transaction read them (else read now)."""
        insp = self.store.inspection(request_id)
        if insp is None:
            raise InputError(f"request {request_id} is not an inspection")
        judged = [l for l in self.review.counted_labels(request_id, labels) if l.correct is not None]
        errors = sum(1 for l in judged if l.correct is False)
        out = error_interval(errors, len(judged), confidence=insp.confidence, method=insp.method)
        return {**out, "population": insp.population, "sample_size": insp.sample_size, "seed": insp.seed,
                "subject": insp.subject, "version": insp.version, "description": describe_estimate(out)}

    def record_estimate(self, request_id: int, *, only_if_changed: bool = False) -> dict:
        """Keep the estimate in the store and queue its source's write-backs (MLflow: tags), in one
        transaction that reads the labels itself. ReviewService calls it whenever it re-evaluates an
        inspection's status (`only_if_changed`: no write, no audit entry, when the figures are the same)."""
        insp = self.store.inspection(request_id)
        if insp is None:
            raise InputError(f"request {request_id} is not an inspection")
        made: list[dict] = []

        def estimate(labels) -> dict:
            made.append(self.estimate(request_id, labels))
            return made[-1]

        def outbox(e: dict) -> list[OutboxEntry]:   # the inspected source's write-backs (MLflow: tags)
            cls = registry().sources.get(insp.source)
            if cls is None or not e["labeled"]:
                return []
            return [OutboxEntry(sink=w.sink, target=w.target, payload=w.payload, request_id=request_id)
                    for w in cls.inspection_write_backs(insp, e, request_id=request_id)]

        self.store.record_inspection_estimate(request_id, estimate, outbox=outbox, actor=self.review.user,
                                              only_if_changed=only_if_changed)
        return made[-1]

    def trend(self, subject: str) -> list[dict]:
        """Every estimated inspection of `subject`, oldest first (the chart's points)."""
        return [{"request": i.request_id, "at": i.created_at, "error_rate": i.error_rate, "low": i.low,
                 "high": i.high, "labeled": i.labeled, "version": i.version}
                for i in self.store.inspections(subject) if i.error_rate is not None]


def inspection_json(service, request_id: int) -> dict | None:
    """`show --json`'s "inspection": what was sampled and the estimate now."""
    insp = service.store.inspection(request_id)
    if insp is None:
        return None
    e = InspectionService(service).estimate(request_id)
    return {"subject": insp.subject, "source": insp.source, "model": insp.model, "alias": insp.alias,
            "version": insp.version, "experiment": insp.experiment, "files": insp.files, "since": insp.since,
            "sample_size": insp.sample_size, "seed": insp.seed, "population": insp.population,
            "estimate": {k: e[k] for k in ("errors", "labeled", "error_rate", "low", "high", "method", "confidence")},
            "description": e["description"],
            "recorded": None if insp.estimated_at is None else {
                "error_rate": insp.error_rate, "low": insp.low, "high": insp.high, "labeled": insp.labeled,
                "at": insp.estimated_at.isoformat()}}
