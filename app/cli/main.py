"""`signoff` commands. Exit codes (README "Exit codes", docs/cli.md), the same for every command:

    0 approved / ok   1 rejected (or: tampered, does not verify, some statuses not posted)
    2 bad input or usage (an unknown commit for `status` too)   3 pending
    4 refused by policy   5 `wait` timed out   6 store or forge unreachable   70 internal error
    141 stdout closed (`| head`): quietly

    status: 0 approved, 1 rejected, 3 pending      wait: 0, 1, 5 timed out
    publish: 0, 1 if some still wait               audit verify: 0 intact, 1 tampered
    verify / wait --verify / audit verify --record: 0 the signed record verifies, 1 not (wait: 5 timed out)

`--json` on a command that reports something prints one JSON document on stdout (docs/cli.md).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import sys
import time
from pathlib import Path

from signoff import __version__
from signoff.core.errors import InputError, SignoffError
from signoff.core.model import ChangeClass, DecisionKind, Status, Verdict

from .output import closed_pipe, fmt_num, one_line, print_json, print_json_line, table

log = logging.getLogger("signoff")

STATUS_EXIT = {Status.APPROVED: 0, Status.REJECTED: 1, Status.PENDING: 3}
EXIT_TIMEOUT = 5   # `wait` ran out of time (distinct from bad input, 2)


def _sha(value: str) -> str:
    """--sha: a commit, never empty (an empty $COMMIT_SHA in CI is a mistake, not "any commit")."""
    value = (value or "").strip()
    if not value:
        raise UsageError("--sha is empty: give the commit (in CI, check that the variable is set, e.g. "
                         "\"$GITHUB_SHA\" or \"$CI_COMMIT_SHA\")")
    return value


class UsageError(InputError):
    pass


def _not_a_gate(service, req) -> None:
    """`status`, `wait` and `verify` gate commits: a local review (no policy) is never one."""
    from signoff.core.errors import PolicyRefusal
    from signoff.service.kept_verdict import refusal_of

    refusal = refusal_of(service, req) if req is not None else ""
    if refusal:
        raise PolicyRefusal(refusal)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own exit is 2 as well; keep the one-line form
        raise UsageError(f"{self.prog}: {message}")


def _service(args):
    from signoff.service.review import ReviewService
    from signoff.store.store import Store

    service = ReviewService(Store(), user=getattr(args, "user", None))
    service.keep_for_open = False   # a command opens no window: no request's tables kept in memory for it
    return service


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")


def _publish_quietly(service) -> None:
    """Post what the command queued; a forge that is down leaves it in the outbox."""
    report = service.publish()
    for err in report.errors:
        _say(f"warning: status not posted yet: {err}")
    if report.waiting:
        _say(f"{report.waiting} status update(s) wait in the outbox; `signoff publish` posts them")


# -- commands ---------------------------------------------------------------

def cmd_gui(args, prepare=None) -> int:
    # Qt only here. The start-up window shows at once; the store is opened behind it (app/ui/startup.py),
    # and `prepare`, if given, makes the request to open on the same worker thread (Launcher).
    from signoff.ui.startup import launch

    return launch(open_request=getattr(args, "open_request", None), user=getattr(args, "user", None), prepare=prepare)


def cmd_demo(args) -> int:
    from signoff.plugins.demo import DemoSource, build_demo_workspace, demo_dir_default, open_demo_workspace

    directory = Path(args.dir) if args.dir else demo_dir_default()
    ws = open_demo_workspace(directory)
    if ws is None:
        _say(f"building the demo workspace in {directory} …")
        ws = build_demo_workspace(directory)
    service = _service(args)
    existing = service.latest_for_sha(ws.candidate_sha)
    if existing is None:
        _say("comparing the baseline and candidate predictions …")
        req = service.create_request(DemoSource(str(ws.repo)), sha=ws.candidate_sha, baseline=ws.baseline_sha)
        _publish_quietly(service)
    else:
        req = existing
    if args.json:
        print_json({"workspace": str(ws.repo), "id": req.id, "sha": req.sha, "title": req.title,
                    "status": req.status, "description": req.description, "store": service.store.describe()})
        return 0
    print(f"demo workspace: {ws.repo}")
    print(f"review request {req.id}: {req.sha[:10]} — {req.title}")
    print(f"status: {req.status} — {req.description}")
    print(f"store: {service.store.describe()}")
    if args.no_gui:
        return 0
    args.open_request = req.id
    return cmd_gui(args)


def cmd_review(args) -> int:
    """Two prediction files, one command (README "Quick start with your own files"). Without
    --policy a local review (app/core/local_review.py); with --policy (and --sha) a request the
    policy governs, for that commit."""
    if args.sha and not args.policy:
        raise UsageError("--sha makes a request for that commit, which needs a policy: add --policy FILE "
                         "(signoff.toml from your default branch); without both this is a local review")
    if args.change and not args.sha:
        raise UsageError("--change is for a request for a commit (--policy FILE --sha SHA)")
    if args.no_gui:
        service, inputs = _while_reading(lambda: _review_inputs(args), lambda: _service(args))
        return _print_review(args, service, *_make_review(args, service, inputs=inputs))
    # One process: the start-up window at once; the files are read on a thread of their own while
    # its worker imports and opens the store, then compared and stored there while Qt builds the
    # workbench, which then opens the comparison still in memory (app/ui/startup.py Launcher
    # `prepare`; ReviewService._prime).
    return cmd_gui(args, prepare=ReviewAttempts(args))


_REVIEW_READ_MODULES = ("signoff.plugins.files.pair", "signoff.plugins.common.evalset",
                        "signoff.plugins.common.local_files", "signoff.service.file_inputs",
                        "signoff.service.new_review", "signoff.service.signer", "signoff.core.local_review")


class ReviewAttempts:
    """The GUI `signoff review`'s `prepare` (app/ui/startup.py Launcher), called on the start-up
    worker as each attempt starts: the files' read starts then, before the store opens, and the
    returned `make(service, progress)` takes it. A Retry (after the store could not be opened,
    say) first waits for the last attempt's read to end and lets it go, so a quick Retry never
    holds two reads of the files at once (1M samples: ~0.5 GB each). The last read is held
    weakly: a failed attempt's read is freed when it ends, not kept while the failure shows.
    What the read imports is imported on the worker first: its imports skip PySide6's import
    hook (startup._plain_imports; ~0.1 s on these), the read's own thread would not."""

    def __init__(self, args):
        self.args = args
        self._last = lambda: None   # a weak reference to the last attempt's read (alive while it runs)

    def __call__(self):
        import importlib
        import weakref

        from signoff.core.tasks import Ahead

        last = self._last()
        if last is not None:
            last.discard()
        del last
        for name in _REVIEW_READ_MODULES:
            importlib.import_module(name)
        args = self.args
        reading = Ahead(lambda: _review_inputs(args), name="signoff-inputs")
        self._last = weakref.ref(reading)

        def make(service, progress) -> int:
            progress("Reading the files…")
            return _make_review(args, service, progress, inputs=reading.result())[0].id
        return make


class _ReviewInputs:
    """What `signoff review` reads before it needs the store: the columns guessed, the source,
    the request's refs and the files as file_inputs.load gives them (for `user`'s local policy)."""

    def __init__(self, args, user: str):
        from signoff.core.tasks import NULL_TASK
        from signoff.plugins.files.pair import FilePairSource, guess_columns
        from signoff.service.file_inputs import load
        from signoff.service.new_review import files_request_refs

        self.user = user
        given = {r: getattr(args, r) for r in ("id", "input", "reference", "output", "score")}
        self.guess = guess_columns(args.baseline_file, args.candidate_file, samples=args.samples or "", given=given,
                                   output_type=args.type or "")
        if args.policy:
            from signoff.plugins.common.policy import read_policy_file

            policy_text, where = read_policy_file(args.policy), str(Path(args.policy).resolve())
        else:
            policy_text, where = _local_policy(user), "the local review's policy"
        self.source = FilePairSource(args.baseline_file, args.candidate_file, samples_file=args.samples or "",
                                     columns=self.guess.columns, output_type=self.guess.output_type,
                                     name=args.name or "", config_text=policy_text, policy_where=where)
        # with --sha: that commit's request; without: a local review, about no commit (its refs are fields)
        self.refs = files_request_refs(args.baseline_file, args.candidate_file, sha=args.sha or "",
                                       change=args.change or "")
        self.loaded = load(self.source, args.engine, candidate=self.refs["candidate"] or self.refs["sha"],
                           baseline=self.refs["baseline"], task=NULL_TASK)


def _review_inputs(args) -> _ReviewInputs:
    from signoff.service.identity import resolve_user

    return _ReviewInputs(args, resolve_user(getattr(args, "user", None)))   # the user the service will have


def _make_review(args, service, progress=None, inputs: _ReviewInputs | None = None):
    """`signoff review`'s request: the columns guessed, the files compared and stored; (request, guess).
    `inputs`: the files read ahead (else read now). `progress(line)` (the GUI path): the start-up
    window's progress lines."""
    from signoff.core.local_review import LOCAL_REVIEW_NOTE
    from signoff.core.tasks import TaskState

    if inputs is None or inputs.user != service.user:   # (read for another user's local policy: again)
        if progress is not None:
            progress("Reading the files…")
        inputs = _ReviewInputs(args, service.user)
    guess, source, refs, loaded = inputs.guess, inputs.source, inputs.refs, inputs.loaded
    inputs.loaded = None   # create_request lets each eval set go as it is compared: no other reference
    _say(f"{guess.describe()} (guessed by the MLflow tables' conventions; name others with --id, --input, "
         f"--reference, --output, --score, --type)")
    task = TaskState((lambda text, _fraction: progress(_progress_line(text))) if progress is not None else None)
    req = service.create_request(source, task=task, **refs, engine=args.engine, loaded=loaded)
    del loaded
    _publish_quietly(service)
    for name, es in service.store.comparison_summaries(req.id).items():
        for w in es.get("warnings", []):
            _say(f"warning ({name}): {w}")
    if not args.policy:
        _say(f"this is a {LOCAL_REVIEW_NOTE}: you ({service.user}) are its only reviewer, its status stays in "
             f"your store. To make it a gate: put a signoff.toml on your default branch and run "
             f"`signoff review BASELINE CANDIDATE --policy signoff.toml --sha COMMIT`")
    return req, guess


def _while_reading(read, open_store):
    """(open_store(), read()), `read` on a thread while this one opens the store. A store that
    cannot be opened is the error reported, before any of the inputs' (the read is waited for)."""
    from signoff.core.tasks import Ahead

    reading = Ahead(read, name="signoff-inputs")
    try:
        opened = open_store()
    except BaseException:
        reading.wait()
        raise
    return opened, reading.result()


def _progress_line(message: str) -> str:
    """A task's progress message ("comparing support") as a line of the start-up window."""
    message = message.strip()
    return message[:1].upper() + message[1:] + ("" if message.endswith("…") else "…")


def _print_review(args, service, req, guess) -> int:
    """`signoff review --no-gui`: the request and its summary (--json: as JSON)."""
    summary = service.summary(req.id)
    if args.json:
        print_json({"id": req.id, "sha": req.sha, "local": not args.policy, "kind": req.kind,
                    "candidate": req.candidate_ref, "baseline": req.baseline_ref, "status": summary["status"],
                    "description": summary["description"], "columns": guess.columns,
                    "guessed": sorted(guess.guessed), "type": guess.output_type,
                    "eval_sets": [{"eval_set": es["eval_set"], "samples": es["samples"], "classes": es["classes"]}
                                  for es in summary["eval_sets"]]})
        return 0
    print(req.id)
    classes = [c.value for c in ChangeClass]
    for es in summary["eval_sets"]:
        counts = ", ".join(f"{es['classes'][c]:,} {c}" for c in classes if es["classes"].get(c))
        print(f"{es['eval_set']}: {es['samples']:,} samples: {counts}")
    print(f"status: {summary['status']} — {summary['description']}")
    _say(f"review request {req.id}: `signoff show {req.id}`, `signoff label {req.id} …`, "
         f"`signoff decide {req.id} --decision approve`, or `signoff` to open the window")
    return 0


def _local_policy(user: str) -> str:
    """The implicit policy of a local review: `user`, with the public key of their own signer."""
    from signoff.service.new_review import local_policy

    return local_policy(user)


def cmd_completion(args) -> int:
    """`signoff completion bash|zsh|fish`: the completion script, from the parser (shtab)."""
    import shtab

    print(shtab.complete(build_parser(), shell=args.shell))
    return 0


def cmd_request(args) -> int:
    from signoff.plugin_api import RequestContext
    from signoff.registry import registry

    source_cls = registry().source(args.source)
    repo = str(Path(args.repo or ".").resolve())
    # The policy never comes from what it judges (docs/trust.md): each source says where it reads it.
    context = RequestContext(repo=repo if args.repo else "", policy=str(Path(args.policy).resolve()) if args.policy else "",
                             policy_ref=(args.policy_ref or "").strip(), sha=args.sha)
    source = source_cls.from_cli(_source_options(args, args.source, source_cls), context)
    # The inputs are read on a thread (pyarrow decodes without the GIL) while the service's modules
    # (SQLAlchemy) are imported and the store opened (issue 16).
    from signoff.core.tasks import NULL_TASK
    from signoff.service.file_inputs import load as _load   # light: what reading the inputs needs

    def opened():
        service = _service(args)
        service.status_ref = (args.ref or "").strip()
        return service
    service, loaded = _while_reading(lambda: _load(source, args.engine, candidate=args.candidate or args.sha,
                                                   baseline=args.baseline, task=NULL_TASK), opened)
    req = service.create_request(source, sha=args.sha, baseline=args.baseline, candidate=args.candidate,
                                 change_key=args.change, engine=args.engine, loaded=loaded)
    del loaded
    _publish_quietly(service)
    # the warnings `show` prints, on stderr: from the stored summaries alone (service.summary would
    # also work out coverage and queues, reading the comparison back: ~0.5 s and 250 MB at 1M samples)
    for es in service.store.comparison_summaries(req.id).values():
        for w in es.get("warnings", []):
            _say(f"warning ({es['eval_set']}): {w}")
    if args.json:
        print_json({"id": req.id, "sha": req.sha, "status": req.status, "description": req.description})
    else:
        print(req.id)
        _say(f"review request {req.id} for {req.sha[:10]}: {req.status} — {req.description}")
    return 0


def cmd_inspect(args) -> int:
    """A review request of a seeded sample of production predictions, about no commit
    (app/service/inspection.py); `--estimate REQ` keeps an inspection's result and writes it back."""
    from signoff.service.inspection import InspectionService, describe_estimate

    service = _service(args)
    inspections = InspectionService(service)
    if args.estimate:
        req = service.resolve_request(args.estimate)
        e = inspections.record_estimate(req.id)
        _publish_quietly(service)
        if args.json:
            print_json({"id": req.id, "estimate": {k: e[k] for k in ("errors", "labeled", "error_rate", "low",
                                                                      "high", "method", "confidence")}})
        else:
            print(f"inspection {req.id}: {describe_estimate(e)}")
        return 0
    req = inspections.create(source=args.source or "", options=_plugin_option_values(args),
                             since=args.since or "", sample=args.sample, seed=args.seed, policy=args.policy or "",
                             repo=str(Path(args.repo).resolve()) if args.repo else "", policy_ref=args.policy_ref or "",
                             method=args.interval, confidence=args.confidence)
    _publish_quietly(service)
    insp = service.store.inspection(req.id)
    if args.json:
        print_json({"id": req.id, "kind": req.kind, "subject": insp.subject, "version": insp.version,
                    "sample": len(service.comparison(req.id, req.eval_sets[0])), "population": insp.population,
                    "seed": insp.seed, "status": req.status, "description": req.description})
    else:
        print(req.id)
        _say(f"inspection {req.id} of {insp.subject}: {req.title} (seed {insp.seed}); {req.status} — {req.description}")
    return 0


def _say_inspection(service, req) -> None:
    """After a label or decision on an inspection: its estimate, which the service keeps and writes
    back (MLflow tags) whenever it re-evaluates the status (ReviewService._keep_inspection_estimate)."""
    if getattr(req, "kind", "review") != "inspection":
        return
    from signoff.service.inspection import describe_estimate

    kept = service.store.inspection(req.id)
    if kept is not None and kept.estimated_at is not None:
        _say(f"inspection {req.id}: {describe_estimate({**vars(kept), 'labeled': kept.labeled or 0})}")


SOURCE_DEST = "source_opt__"   # argparse dests of the sources' own options (CliOption), apart from the common ones


def _source_options(args, name: str, source_cls) -> dict:
    """The chosen source's own options (its CLI_OPTIONS, on top of what --locator JSON names); an
    option only another source declares is a usage error, a required one missing too."""
    options = _locator(args)
    mine = {o.flag: o for o in getattr(source_cls, "CLI_OPTIONS", ())}
    declared = getattr(args, "_source_flags", {})
    for flag, dest in declared.items():
        value = getattr(args, dest, None)
        if value in (None, []):
            continue
        if flag not in mine:
            owners = ", ".join(declared_by for declared_by in args._source_owners.get(flag, ()))
            raise UsageError(f"{flag} is for --source {owners}, not {name}")
        options[mine[flag].name] = value
    missing = [f"{o.flag} {o.metavar or o.name.upper()}" for o in mine.values()
               if o.required and options.get(o.name) in (None, "", [])]
    if missing:
        raise UsageError(f"signoff request --source {name} needs {' and '.join(missing)} "
                         f"(`signoff request --help` says what each is)")
    return options


def _plugin_option_values(args) -> dict:
    """The sources' own options given (`inspect`): {option name: value}, for the service to check."""
    names = {o.flag: o.name for o in getattr(args, "_source_declared", ())}
    values = {flag: getattr(args, dest, None) for flag, dest in getattr(args, "_source_flags", {}).items()}
    return {names[flag]: v for flag, v in values.items() if v not in (None, [])}


def _add_source_options(s, attr: str = "CLI_OPTIONS", only: str | None = None) -> None:
    """Each installed source's options of this command (`Source.CLI_OPTIONS` for `request`,
    `INSPECT_OPTIONS` for `inspect`): a flag two sources declare is added once (the first one's
    help), and both get its value. `only`: that source's alone (main() parses a `request` with the
    one source it names first: loading every source plugin imports GitPython, the MLflow client
    and more, ~0.8 s)."""
    import argparse as _argparse

    from signoff.registry import registry

    flags: dict[str, str] = {}
    owners: dict[str, list[str]] = {}
    declared = []
    group = s.add_argument_group("options of the source plugins (--source NAME)")
    sources = registry().sources
    chosen = [(only, sources[only])] if only is not None and only in sources else sorted(sources.items())
    for name, cls in chosen:
        for opt in getattr(cls, attr, ()):
            owners.setdefault(opt.flag, []).append(name)
            if opt.flag in flags:
                continue
            dest = SOURCE_DEST + opt.flag.lstrip("-").replace("-", "_")
            try:
                group.add_argument(opt.flag, dest=dest, metavar=opt.metavar, help=opt.help,
                                   action="append" if opt.repeat else "store")
            except (_argparse.ArgumentError, ValueError, TypeError) as exc:   # a plugin's bad or clashing flag
                log.warning("source %r: option %s not added: %s", name, opt.flag, exc)
                continue
            flags[opt.flag] = dest
            declared.append(opt)
    s.set_defaults(_source_flags=flags, _source_owners=owners, _source_declared=declared)


def _source_names() -> list[str]:
    from signoff.registry import registry

    return registry().sources.declared()   # the names, without importing every source


def _output_types() -> list[str]:
    """Every output type the installed renderers show (`review --type`), the built-in ones first."""
    from signoff.service.new_review import output_types

    return output_types()


def _locator(args) -> dict:
    """--locator: JSON arguments for a source (older scripts; the sources declare their own options)."""
    if not args.locator:
        return {}
    try:
        locator = json.loads(args.locator)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--locator is not valid JSON: {exc.msg}") from None
    if not isinstance(locator, dict):
        raise UsageError("--locator must be a JSON object")
    return locator


def cmd_show(args) -> int:
    service = _service(args)
    req = service.resolve_request(args.request)
    summary = service.summary(req.id)
    if req.kind == "inspection":
        from signoff.service.inspection import inspection_json

        summary["inspection"] = inspection_json(service, req.id)
    if args.json:
        print_json(summary)
        return 0
    print(f"request {req.id}  {req.sha[:10]}  {req.title}")
    print(f"baseline {req.baseline_ref[:10]}  author {req.author}  change {req.change_key}")
    print(f"status: {summary['status']} — {summary['description']}\n")
    change = summary.get("policy_change")
    if change:  # the candidate's signoff.toml: shown, never applied (docs/trust.md)
        state = (f"approved by {', '.join(change['approved_by'])}" if change["approved"]
                 else "needs approval by a policy owner (" + (", ".join(change["owners"]) or "none listed") + ")")
        print(f"policy change: signoff.toml changed by the candidate, not applied to this request; {state}")
        print(change["diff"])
    classes = [c.value for c in ChangeClass]
    rows = []
    for es in summary["eval_sets"]:
        m = es["metrics"]
        rows.append([es["eval_set"], f"{es['samples']:,}", *[f"{es['classes'][c]:,}" for c in classes],
                     fmt_num(m["baseline_mean_score"]), fmt_num(m["candidate_mean_score"]), fmt_num(m["mean_score_delta"], sign=True)])
    print(table(rows, ["eval set", "samples", *classes, "base", "cand", "Δ"], right=set(range(1, 10))))
    for es in summary["eval_sets"]:
        for w in es.get("warnings", []):
            print(f"warning ({es['eval_set']}): {w}")
    _print_run_metrics(summary["eval_sets"])
    for d in summary.get("decisions_not_counted", []):
        print(f"not counted: {d['decision']} by {d['user']} ({d['role']}): {d['why']}")
    if summary.get("other_labels_note"):
        print(summary["other_labels_note"])
    _print_agreement(summary.get("agreement") or [])
    return 0


def _print_agreement(figures: list[dict]) -> None:
    """Team review: agreement per eval set and label kind (only where two reviewers labeled a sample)."""
    rows = [[f["eval_set"], f["kind"], f"{f['doubly_labeled']:,}", f"{f['disagreements']:,}",
             *[fmt_num(f[m]) if f[m] is not None else "—" for m in ("alpha", "kappa", "ac1")]]
            for f in figures if f["doubly_labeled"]]
    if rows:
        print("\nagreement (samples labeled by two or more reviewers):")
        print(table(rows, ["eval set", "label", "samples", "disagree", "alpha", "kappa", "AC1"], right={2, 3, 4, 5, 6}))


def _print_run_metrics(eval_sets: list[dict]) -> None:
    """Metrics the two models' runs logged (MLflow), once per distinct pair of runs."""
    shown = set()
    for es in eval_sets:
        rm = es.get("run_metrics")
        if not rm:
            continue
        key = json.dumps(rm, sort_keys=True, default=str)
        if key in shown:
            continue
        shown.add(key)
        names = sorted(set(rm.get("baseline", {})) | set(rm.get("candidate", {})))
        rows = [[n, fmt_num(rm["baseline"].get(n)), fmt_num(rm["candidate"].get(n)),
                 fmt_num(rm.get("delta", {}).get(n), sign=True)] for n in names]
        print("\nrun metrics (as the baseline and candidate runs logged them):")
        print(table(rows, ["metric", "base", "cand", "Δ"], right={1, 2, 3}))


def cmd_samples(args) -> int:
    service = _service(args)
    req = service.resolve_request(args.request)
    names = [args.eval_set] if args.eval_set else req.eval_sets
    if args.eval_set and args.eval_set not in req.eval_sets:
        raise InputError(f"request {req.id} has no eval set {args.eval_set!r} (it has: {', '.join(req.eval_sets)})")
    if args.klass and args.klass not in {c.value for c in ChangeClass}:
        raise InputError(f"--class must be one of {', '.join(c.value for c in ChangeClass)}")
    if getattr(args, "export", None):
        return _export_samples(service, req, names, args)
    from signoff.core.compare import is_prediction_extra  # pandas: only in the commands that need it

    rows = []
    for name in names:
        t = service.comparison(req.id, name)
        if args.klass:
            t = t[t["class"] == args.klass]
        skip = {"severity"} | {c for c in t.columns if c.endswith("_bytes")}
        base_cols = ["id", "class", "missing_side", "input", "reference", "baseline_output", "candidate_output",
                     "baseline_score", "candidate_score", "delta"]
        slice_cols = [c for c in t.columns if c not in skip and c not in base_cols and not is_prediction_extra(c)]
        for rec in t.drop(columns=[c for c in skip if c in t.columns]).to_dict("records"):
            row = {"eval_set": name, **{c: rec.get(c) for c in base_cols}, "slices": {c: rec.get(c) for c in slice_cols}}
            if args.json:
                print_json_line(row)
            else:
                rows.append([name, row["id"], row["class"], fmt_num(row["delta"], 2, sign=True),
                             one_line(row["baseline_output"], 40), one_line(row["candidate_output"], 40)])
    if not args.json:
        print(table(rows, ["eval set", "id", "class", "Δscore", "baseline", "candidate"], right={3}))
    return 0


def _export_samples(service, req, names: list[str], args) -> int:
    """`samples --export FILE`: the listed samples as a new eval set (app/service/export.py)."""
    from signoff.service.export import concat_exports, export_format, export_frame, write_export

    export_format(args.export)  # a bad extension fails before any work
    labels = None if args.labels == "none" else service.labels_frame(
        req.id, user=service.user if args.labels == "mine" else None)
    frames = []
    for name in names:
        t = service.comparison(req.id, name)
        if args.klass:
            t = t[t["class"] == args.klass]
        frames.append(export_frame(t, eval_set=name, labels=labels))
    result = write_export(concat_exports(frames), args.export)
    for note in result.notes:
        _say(f"note: {note}")
    _say(f"exported {result.rows:,} sample(s) to {result.path} ({result.format})")
    return 0


def cmd_report(args) -> int:
    from signoff.report.html import build_report

    service = _service(args)
    req = service.resolve_request(args.request)
    out = Path(args.output)
    if out.suffix.lower() not in (".html", ".htm"):
        raise UsageError("signoff report: -o must name an .html file")
    if not out.parent.exists():
        raise InputError(f"{out.parent}: no such directory")
    path = build_report(service, req.id, out)
    _say(f"report for request {req.id} written to {path}")
    return 0


def _read_label_file(path: str) -> list[dict]:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    text = p.read_text(encoding="utf-8")
    if p.suffix.lower() == ".csv":
        return list(csv.DictReader(io.StringIO(text)))
    if p.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        rows = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path} line {n}: not valid JSON: {exc.msg}") from None
            if not isinstance(obj, dict):
                raise InputError(f"{path} line {n}: expected a JSON object")
            rows.append(obj)
        return rows
    raise InputError(f"{path}: labels must be a .csv or .jsonl file")


def cmd_label(args) -> int:
    service = _service(args)
    req = service.resolve_request(args.request)
    if args.from_file:
        if args.eval_set or args.sample_id:
            raise UsageError("give either --from FILE or EVAL_SET SAMPLE_ID, not both")
        n = service.import_labels(req.id, _read_label_file(args.from_file))
        _say(f"recorded {n} label(s) on request {req.id} as {service.user}")
        recorded = [{"file": args.from_file, "labels": n}]
    else:
        if not (args.eval_set and args.sample_id):
            raise UsageError("give EVAL_SET SAMPLE_ID (and --verdict), or --from FILE")
        if not (args.verdict or args.error or args.comment or args.correct):
            raise UsageError("nothing to record: give --verdict, --correct, --error or --comment")
        kwargs = {}
        if args.verdict:
            kwargs["verdict"] = Verdict(args.verdict)
        if args.correct:
            kwargs["correct"] = args.correct == "yes"
        if args.error:
            kwargs["error"] = args.error
        if args.comment:
            kwargs["comment"] = args.comment
        service.set_label(req.id, args.eval_set, args.sample_id, **kwargs)
        _say(f"recorded label on {args.eval_set}/{args.sample_id} as {service.user}")
        recorded = [{"eval_set": args.eval_set, "sample_id": args.sample_id, "labels": 1,
                     **{k: (v.value if hasattr(v, "value") else v) for k, v in kwargs.items()}}]
    _say_inspection(service, req)
    _publish_quietly(service)
    if args.json:
        verdict = service.verdict(req.id)
        print_json({"request": req.id, "sha": req.sha, "user": service.user,
                    "labels": sum(r["labels"] for r in recorded), "recorded": recorded,
                    "status": verdict.status.value, "description": verdict.description})
    return 0


def cmd_assign(args) -> int:
    """Team review: show the queues, or move a reviewer's open items to others."""
    service = _service(args)
    req = service.resolve_request(args.request)
    if args.from_user:
        if args.show:
            raise UsageError("give either --show or --from USER [--to USER,...], not both")
        to = [t for part in (args.to or []) for t in part.split(",") if t.strip()]
        moved = service.reassign(req.id, args.from_user, to or None)
        _say(f"moved {moved} open item(s) of {args.from_user} on request {req.id}"
             + (f" to {', '.join(to)}" if to else " to the other members of the role"))
        _publish_quietly(service)
        return 0
    if args.to:
        raise UsageError("--to needs --from USER")
    progress = service.queue_progress(req.id) if service.assignments(req.id) else {}
    if args.json:
        print_json({"request": req.id, "overlap": service.config(req.id).policy.effective_overlap,
                    "queues": progress, "disagreements": len(service.disagreements(req.id))})
        return 0
    if not progress:
        print(f"request {req.id}: nothing to assign (no changed samples, or no required role with members)")
        return 0
    print(f"request {req.id}: overlap {service.config(req.id).policy.effective_overlap}")
    rows = []
    for role, p in progress.items():
        rows.append([role, "(all)", f"{p['done']:,}", f"{p['assigned']:,}"])
        rows += [[role, user, f"{r['done']:,}", f"{r['assigned']:,}"] for user, r in sorted(p["reviewers"].items())]
    print(table(rows, ["role", "reviewer", "done", "assigned"], right={2, 3}))
    n = len(service.disagreements(req.id))
    if n:
        print(f"{n} disagreement(s) wait for QA: signoff adjudicate {req.id} EVAL_SET SAMPLE_ID --verdict V")
    return 0


def cmd_adjudicate(args) -> int:
    service = _service(args)
    req = service.resolve_request(args.request)
    if args.list:
        for d in service.disagreements(req.id, args.eval_set):
            if args.json:
                print_json_line(d)
            else:
                said = "; ".join(f"{kind}: " + ", ".join(f"{u} {v}" for u, v in users.items())
                                 for kind, users in d["labels"].items())
                print(f"{d['eval_set']}/{d['sample_id']}  {said}")
        return 0
    if not (args.eval_set and args.sample_id):
        raise UsageError("give EVAL_SET SAMPLE_ID and --verdict (or --list)")
    service.adjudicate(req.id, args.eval_set, args.sample_id, verdict=args.verdict,
                       correct=None if args.correct is None else args.correct == "yes", error=args.error,
                       comment=args.comment)
    _say(f"adjudicated {args.eval_set}/{args.sample_id} as {service.user}")
    _publish_quietly(service)
    return 0


def cmd_decide(args) -> int:
    service = _service(args)
    req = service.resolve_request(args.request)
    verdict = service.decide(req.id, DecisionKind(args.decision), args.comment or "", role=args.role)
    _say_inspection(service, req)
    _publish_quietly(service)   # (it makes the forge identity checks that wait, too)
    verdict = service.verdict(req.id)
    if args.json:
        mine = [d for d in (*verdict.current, *verdict.not_counted) if d.user.lower() == service.user.lower()]
        print_json({"request": req.id, "sha": req.sha, "user": service.user, "decision": args.decision,
                    "role": mine[0].role if mine else args.role, "counted": bool(mine) and mine[0] in verdict.current,
                    "identity": getattr(mine[0], "identity", None) if mine else None,
                    "status": verdict.status.value, "description": verdict.description})
    else:
        print(f"{args.decision} recorded for {service.user}; status: {verdict.status.value} — {verdict.description}")
    _say_identity(service.user, verdict)
    return 0


def _say_identity(user: str, verdict) -> None:
    """One line when the forge identity check of `user`'s decision was not made (docs/trust.md)."""
    from signoff.core.model import IDENTITY_SKIPPED, IDENTITY_UNCHECKED

    mine = [d for d in (*verdict.not_counted, *verdict.current) if d.user.lower() == user.lower()]
    if not mine:
        return
    d = mine[0]
    if d.identity == IDENTITY_UNCHECKED:
        _say(f"warning: recorded, but it counts only once your identity is checked against the "
             f"{d.identity_forge} token's account; `signoff publish` retries")
    elif d.identity == IDENTITY_SKIPPED:
        _say(f"note: {d.identity_note}")


def cmd_status(args) -> int:
    """The policy's verdict now. app/__main__.py first tries the verdict kept in the store
    (app/cli/quick.py); this is the full evaluation, whose result is kept for the next time."""
    from signoff.service.kept_verdict import live_status

    from .quick import show

    service = _service(args)
    req = service.latest_for_sha(args.sha)
    if req is not None and service.store.unchecked_decisions(req.id):
        service.recheck_identities(req.id)   # decisions made while the forge was unreachable
    req, document, refusal = live_status(service, args.sha)
    if req is None:   # exit 2, one line (docs/cli.md): CI asked about a commit nobody requested a review of
        raise InputError(f"no review request for commit {args.sha}")
    return show(document, refusal, args.json)


def _wait_poll(args, services: list) -> tuple[int | None, dict | None]:
    """(request id, status document) of the commit now: the kept verdict when it holds
    (app/store/kept_read.py), else the policy evaluated (the service made on first need)."""
    from signoff.core.errors import PolicyRefusal
    from signoff.service.kept_verdict import live_status
    from signoff.store.kept_read import read_kept

    try:
        kept = read_kept(args.sha)
    except Exception:   # noqa: BLE001 - the full evaluation below says what is wrong, if anything
        kept = None
    if kept is not None:
        request_id, document, refusal = kept.request_id, kept.document, kept.refusal
    else:
        if not services:
            services.append(_service(args))
        req, document, refusal = live_status(services[0], args.sha)
        request_id = req.id if req is not None else None
    if refusal:
        raise PolicyRefusal(refusal)
    return request_id, document


WAIT_HEARTBEAT_S = 300.0  # an unchanged status is repeated this often, so a CI log shows the job is alive


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def cmd_wait(args) -> int:
    if args.verify:
        return _wait_verified(args)
    services: list = []
    started = time.monotonic()
    deadline = None if args.timeout is None else started + args.timeout
    last, last_said = None, 0.0
    while True:
        request_id, document = _wait_poll(args, services)
        line = (f"no review request for {args.sha} yet" if request_id is None
                else f"{document['status']}: {document['description']}")
        now = time.monotonic()
        if line != last or now - last_said >= WAIT_HEARTBEAT_S:
            left = "" if deadline is None else f", {_duration(max(0.0, deadline - now))} left"
            _say(f"[{time.strftime('%H:%M:%S')}] {args.sha[:10]} {line} (waited {_duration(now - started)}{left})")
            last, last_said = line, now
        if document is not None and document["status"] != Status.PENDING.value:
            _wait_json(args, request_id, document["status"], document["description"], started)
            return STATUS_EXIT[Status(document["status"])]
        if deadline is not None and time.monotonic() >= deadline:
            _say(f"timed out after {args.timeout:g} s; still {'pending' if request_id else 'not requested'}")
            _wait_json(args, request_id, "pending" if request_id else None,
                       document["description"] if document else line, started, timed_out=True)
            return EXIT_TIMEOUT
        pause = args.interval if deadline is None else max(0.0, min(args.interval, deadline - time.monotonic()))
        time.sleep(pause)


def _wait_json(args, request_id, status, description, started, *, timed_out=False, **extra) -> None:
    if getattr(args, "json", False):
        print_json({"sha": args.sha, "request": request_id, "status": status,
                    "description": description, "timed_out": timed_out,
                    "waited_s": round(time.monotonic() - started, 1), **extra})


def _wait_verified(args) -> int:
    """Until the commit's signed record verifies (0), the store says rejected (1), or the timeout (2).
    A status alone (e.g. one set by hand on the forge) never ends the wait with 0. Timed out: 5."""
    started = time.monotonic()
    deadline = None if args.timeout is None else started + args.timeout
    last = None
    while True:
        code, problems, ok, where = _signed_verdict(args)
        if code == 0:
            _say(f"[{time.strftime('%H:%M:%S')}] {args.sha[:10]} signed record verifies (from {where})")
            _wait_json(args, None, "approved", "the signed record verifies", started, verified=True, where=where)
            return 0
        line = problems[0] if problems else "no signed record yet"
        if line != last:
            _say(f"[{time.strftime('%H:%M:%S')}] {args.sha[:10]} not verified yet: {line}")
            last = line
        if "says rejected" in line:
            _wait_json(args, None, "rejected", line, started, verified=False, where=where)
            return 1
        if deadline is not None and time.monotonic() >= deadline:
            _say(f"timed out after {args.timeout:g} s; the signed record of {args.sha[:10]} does not verify: {line}")
            _wait_json(args, None, "pending", line, started, timed_out=True, verified=False, where=where)
            return EXIT_TIMEOUT
        pause = args.interval if deadline is None else max(0.0, min(args.interval, deadline - time.monotonic()))
        time.sleep(pause)


def cmd_publish(args) -> int:
    service = _service(args)
    if args.retry_failed:  # e.g. after fixing the token a 401 failed on
        n = service.store.requeue_failed(actor=service.user)
        _say(f"requeued {n} failed status update(s)" if n else "no failed status updates to retry")
    report = service.publish()
    for err in report.errors:
        _say(f"not posted: {err}")
    stuck = service.store.outbox_items(states=("failed",))
    if args.json:
        print_json({"delivered": report.delivered, "waiting": report.waiting, "failed": report.failed,
                    "errors": [str(e) for e in report.errors], "failed_for_good": len(stuck)})
    else:
        print(f"delivered {report.delivered}, waiting {report.waiting}, failed {report.failed}")
    if stuck:
        last = "" if report.failed else f" (the last: {stuck[-1].last_error})"   # else printed just above
        _say(f"{len(stuck)} status update(s) failed for good{last}; once the cause is fixed (e.g. the token), "
             f"`signoff publish --retry-failed` posts them again")
    return 0 if report.waiting == 0 and report.failed == 0 else 1


def cmd_audit_verify(args) -> int:
    if args.record:
        return _verify_record_file(args)
    from signoff.service.anchors import check_anchors
    from signoff.store.store import Store

    store = Store()
    report = store.verify_audit()
    repos = []
    for repo in args.repo or []:
        if not Path(repo).is_dir():
            raise InputError(f"--repo {repo}: no such directory")
        repos.append(str(Path(repo).resolve()))
    anchors = check_anchors(store, store.audit_entries(), tuple(repos))
    problems = report.problems + anchors.problems
    if args.json:
        print_json({"intact": not problems, "entries": report.entries, "checked": list(report.checked),
                    "anchors_checked": list(anchors.checked), "not_checked": list(anchors.unreachable),
                    "notes": list(report.notes), "problems": list(problems)})
        return 0 if not problems else 1
    for line in report.checked:
        print(f"checked: {line}")
    for line in anchors.checked:
        print(f"checked anchor: {line}")
    for line in anchors.unreachable:
        print(f"not checked: {line}")
    for line in report.notes:
        print(f"note: {line}")
    if not anchors.checked:
        print("note: no anchor reachable: a log cut at its end, rewritten with recomputed hashes or reset "
              "cannot be told from an intact one (docs/trust.md)")
    if not problems:
        print(f"audit log intact: {report.entries} entries")
        return 0
    print(f"audit log TAMPERED ({report.entries} entries):")
    for p in problems:
        print(f"  - {p}")
    return 1


def _verify_record_file(args) -> int:
    from signoff.service.record import record_keys, verify_record

    try:
        record = json.loads(Path(args.record).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read {args.record}: {exc.strerror or exc}") from None
    except ValueError:
        return _say_record(f"record {args.record}", ["not JSON (edited or damaged)"], [], args)
    if not args.allowed_signers:
        raise InputError("--record needs --allowed-signers FILE (git's allowed-signers format)")
    try:
        allowed = Path(args.allowed_signers).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {args.allowed_signers}: {exc.strerror or exc}") from None
    problems, ok = verify_record(record, record_keys(record, allowed))
    return _say_record(f"record {args.record}", problems, ok, args)


def _say_record(what: str, problems: list[str], ok: list[str], args=None, **extra) -> int:
    """Verified: what verified, then one line saying so. Not: ONE line naming every problem (CI logs)."""
    if getattr(args, "json", False):
        print_json({"verified": not problems, "what": what, **extra, "problems": problems, "ok": ok})
        return 1 if problems else 0
    if problems:
        print(f"{what} does NOT verify: {'; '.join(problems)}")
        return 1
    for line in ok:
        print(f"ok: {line}")
    print(f"{what} verifies: signed and approved")
    return 0


def cmd_audit_repair(args) -> int:
    from signoff.store.store import Store

    entry = Store().repair_audit(actor=_actor(args))
    if args.json:
        print_json({"repaired": entry is not None, "entries": entry.payload["rebuilt_head"]["count"] if entry else None,
                    "entry": entry.seq if entry else None})
        return 0
    if entry is None:
        print("the audit head is in place: nothing to repair (`signoff audit verify` checks the log)")
        return 0
    print(f"audit head rebuilt from the log: {entry.payload['rebuilt_head']['count']} entries "
          f"(recorded as entry {entry.seq}); run `signoff audit verify`")
    return 0


def _actor(args) -> str:
    from signoff.service.identity import resolve_user

    try:
        return resolve_user(getattr(args, "user", None))
    except SignoffError:
        return "signoff"


def cmd_audit_export(args) -> int:
    from signoff.service.record import build_record

    record = build_record(_service(args), args.sha)
    text = json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        _say(f"wrote the sign-off record of {record['predicate']['request']['sha'][:10]} to {args.output}")
    return 0


def _signed_verdict(args) -> tuple[int, list[str], list[str], str]:
    """(exit, problems, ok, where): the signed record of args.sha, from the store when it has the
    commit, else from the note in --repo (or its origin)."""
    from signoff.service.record import RecordError, base_policy_keys, record_from_repo, verify_record
    from signoff.store.db import StoreUnavailable

    record = keys = None
    where = ""
    try:
        from signoff.service.record import build_record
        from signoff.service.review import ReviewService
        from signoff.store.store import Store

        service = ReviewService(Store(), user=getattr(args, "user", None) or "signoff")
        req = service.latest_for_sha(args.sha)
        _not_a_gate(service, req)
        if req is not None:
            record = build_record(service, args.sha)
    except (StoreUnavailable, InputError) as exc:
        log.debug("store not usable for verify: %s", exc)
    if record is not None:
        # The store's record counts only against what the store cannot change: the policy and
        # keys at the protected base (the request's repository, --repo, or --policy FILE).
        repo = args.repo or (req.locator or {}).get("repo") or "."
        try:
            keys, base = base_policy_keys(record, args.sha, repo=repo, policy_file=getattr(args, "policy", None),
                                          stored=req.reviewer_keys)
        except RecordError as exc:
            return 1, [str(exc)], [], f"the store {service.store.describe()}"
        where = f"the store {service.store.describe()}, policy {base}"
    if record is None:
        try:
            record, keys, where = record_from_repo(args.repo or ".", args.sha)
        except RecordError as exc:
            return 1, [str(exc)], [], "the repository"
    subject = [s.get("digest", {}).get("gitCommit", "") for s in record.get("subject") or []]
    if not any(c and (c.startswith(args.sha) or args.sha.startswith(c)) for c in subject):
        return 1, [f"the record found is not about {args.sha}"], [], where
    problems, ok = verify_record(record, keys)
    return (1 if problems else 0), problems, ok, where


def cmd_verify(args) -> int:
    code, problems, ok, where = _signed_verdict(args)
    return _say_record(f"the sign-off of {args.sha[:10]} (from {where})", problems, ok, args, sha=args.sha, where=where)


# -- hidden diagnostics (the PyInstaller bundle test runs them; docs/packaging.md) --

def cmd_plugins(args) -> int:
    """The plugin registry as this copy sees it: per entry-point group, what the
    metadata declares and what loaded. Exit 1 if a plugin failed to load."""
    from importlib.metadata import entry_points

    from signoff.plugin_api import GROUP_RENDERERS, GROUP_SINKS, GROUP_SOURCES, GROUP_UI_EXTENSIONS
    from signoff.registry import registry

    reg = registry().load_all()
    loaded = {GROUP_SOURCES: reg.sources, GROUP_SINKS: reg.sinks, GROUP_RENDERERS: reg.renderers,
              GROUP_UI_EXTENSIONS: reg.ui_extensions}
    groups = sorted(set(loaded) | {g for g in entry_points().groups if g.startswith("signoff.")})
    data = {"groups": {g: {"declared": sorted(ep.name for ep in entry_points(group=g)),
                           "loaded": sorted(loaded[g]) if g in loaded else None} for g in groups},
            "problems": list(reg.problems)}
    if args.json:
        print_json(data)
    else:
        for g, info in data["groups"].items():
            print(f"{g}: {', '.join(info['loaded'] if info['loaded'] is not None else info['declared']) or '(none)'}")
        for problem in reg.problems:
            print(f"problem: {problem}")
    return 1 if reg.problems else 0


def _policy_in_words(config, path: str) -> dict:
    """What `config check` prints: the effective policy, as data and as sentences."""
    pol = config.policy
    keyed = {u.lower() for u in config.signers.keys}
    reviewers = sorted({p for r, n in pol.required.items() if n > 0 for p in config.roles.get(r, ())}, key=str.lower)
    with_keys = [u for u in reviewers if u.lower() in keyed]
    without = [u for u in reviewers if u.lower() not in keyed]
    lines = [f"{path}: valid"]
    needed = [(r, n) for r, n in pol.required.items() if n > 0]
    if needed:
        for role, n in needed:
            people = ", ".join(config.roles[role])
            lines.append(f"needs {n} approval{'s' if n != 1 else ''} by {role} ({people})")
    else:
        lines.append("needs no approval: releases ship without human review (policy.allow_unreviewed = true)")
    if pol.min_changed_reviewed > 0:
        lines.append(f"at least {pol.min_changed_reviewed:.0%} of the changed samples must be labeled")
    if pol.all_regressions_reviewed:
        lines.append("every regressed sample must be labeled")
    lines.append("an author of the candidate may not approve it" if pol.no_self_approval
                 else "authors may approve their own candidate (policy.no_self_approval = false)")
    lines.append(f"a change to signoff.toml needs the approval of a policy owner: {', '.join(pol.owners)}"
                 if pol.owners else "no policy owners: a candidate that changes signoff.toml cannot be approved "
                                    "(add [policy] owners)")
    if with_keys:
        lines.append(f"reviewers with keys in [signers]: {', '.join(with_keys)}")
    if without:
        where = (f" (unless {config.signers.allowed_signers} lists them)" if config.signers.allowed_signers else "")
        lines.append(f"reviewers with no key in [signers]{where}: {', '.join(without)}: "
                     "their decisions will not count")
    lines.append("eval sets: " + ", ".join(f"{e.name} ({e.output_type})" for e in config.eval_sets))
    lines.append(f"status: {config.status.sink}" + (f" {config.status.repo}" if config.status.repo else "")
                 + f", context {config.status.context}")
    return {"file": path, "valid": True, "required": {r: n for r, n in needed},
            "roles": {r: list(p) for r, p in config.roles.items()},
            "min_changed_reviewed": pol.min_changed_reviewed, "all_regressions_reviewed": pol.all_regressions_reviewed,
            "no_self_approval": pol.no_self_approval, "owners": list(pol.owners),
            "allow_unreviewed": pol.allow_unreviewed,
            "reviewers_with_keys": with_keys, "reviewers_without_keys": without,
            "allowed_signers": config.signers.allowed_signers,
            "eval_sets": [{"name": e.name, "type": e.output_type} for e in config.eval_sets],
            "status": {"sink": config.status.sink, "repo": config.status.repo, "context": config.status.context},
            "summary": lines}


def cmd_config_check(args) -> int:
    """Validate signoff.toml and say what its policy means (exit 0), or one line and exit 2."""
    from signoff.core.config import parse_config
    from signoff.core.errors import ConfigError
    from signoff.registry import registry

    registry().load_all()   # the plugins' output types, sinks and sections are part of the schema
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from None
    data = _policy_in_words(parse_config(text, str(path)), str(path))
    if args.json:
        print_json(data)
    else:
        print("\n".join(data["summary"]))
    return 0


def cmd_config_schema(args) -> int:
    """Print the JSON Schema of signoff.toml (resources/schema/signoff.schema.json is this output with
    the built-in plugins): the installed plugins' sections are part of it."""
    from signoff.core.config import json_schema
    from signoff.registry import registry

    registry().load_all()

    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
    return 0


def cmd_self_test_gui(args) -> int:
    from signoff.ui.self_test import run_self_test  # Qt only here

    return run_self_test(_service(args), request=args.self_test_request)


class _SelfTestGui(argparse.Action):
    """`signoff --self-test-gui [REQUEST]` (app/ui/self_test.py)."""

    def __call__(self, parser, namespace, values, option_string=None):
        namespace.self_test_request = values
        namespace.func = cmd_self_test_gui


# -- parser -----------------------------------------------------------------

def build_parser(with_sources: bool = True, only_source: str | None = None,
                 command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; `with_sources=False` leaves out what the plugins declare (the sources'
    `request` and `inspect` options, `review --type`'s choices: main() asks for them only when the
    command line is one of those; a plugin's value given without them is checked where it is used);
    `only_source`: only that source plugin's `request` options; `command`: what the plugins declare
    for that command alone (None: for every command)."""
    p = _Parser(prog="signoff", description="Human sign-off of ML releases.")
    p.add_argument("--version", action="version", version=f"signoff {__version__}")
    p.add_argument("--user", help="act as this identity (default: SIGNOFF_USER, else git user.email)")
    p.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    p.add_argument("--self-test-gui", nargs="?", const="latest", metavar="REQUEST", action=_SelfTestGui,
                   help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    s = sub.add_parser("demo", help="build the demo workspace and open the app on it")
    s.add_argument("--dir", help="where to build it (default: the demo folder in the data dir)")
    s.add_argument("--no-gui", action="store_true", help="build and create the request, do not open the window")
    s.add_argument("--json", action="store_true", help="with --no-gui: the request as JSON")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("review", help="compare two prediction files (CSV, JSONL, Parquet) and open the review")
    s.add_argument("baseline_file", metavar="BASELINE_FILE")
    s.add_argument("candidate_file", metavar="CANDIDATE_FILE")
    s.add_argument("--samples", metavar="FILE", help="the eval set's samples (id, input, reference, slices); "
                                                      "default: taken from the candidate file")
    for role in ("id", "input", "reference", "output", "score"):
        s.add_argument(f"--{role}", metavar="COL", help=f"the {role} column (default: guessed as for MLflow tables)")
    s.add_argument("--type", choices=_output_types() if with_sources and command in (None, "review") else None,
                   help="how outputs are compared and shown: an output type of a renderer plugin (default: number "
                        "if both outputs are numbers, else text)")
    s.add_argument("--name", help="the eval set's name (default: the candidate file's name)")
    s.add_argument("--sha", type=_sha, help="with --policy: the commit this review decides (`status`/`wait` find it)")
    s.add_argument("--policy", metavar="FILE", help="signoff.toml from the default branch: makes the review a "
                                                     "release gate (without it: a local review, you the only reviewer)")
    s.add_argument("--change", help="with --sha: change key shared by requests of one change (default: its own)")
    s.add_argument("--engine", choices=("auto", "memory", "out-of-core"), default="auto",
                   help="the comparison engine (default: auto, out of core for Parquet files larger than memory "
                        "allows; as for `signoff request`)")
    s.add_argument("--no-gui", action="store_true", help="print the summary, do not open the window")
    s.add_argument("--json", action="store_true", help="with --no-gui: the request and the guessed columns as JSON")
    s.set_defaults(func=cmd_review)

    s = sub.add_parser("request", help="create a review request for a commit and post 'pending'")
    s.add_argument("--sha", required=True, type=_sha, help="the commit to decide (its status is posted)")
    s.add_argument("--repo", help="the model's git repository (default: .; mlflow: where signoff.toml is read at --sha)")
    s.add_argument("--baseline", help="baseline revision (default: merge-base with the default branch); "
                                      "mlflow: models:/NAME/VERSION, models:/NAME@ALIAS or a run id")
    s.add_argument("--candidate", help="candidate revision (default: --sha; mlflow: the run CI tagged with it)")
    s.add_argument("--change", help="change key shared by requests of one change (default: the branch)")
    s.add_argument("--ref", help="the branch or tag the commit is on, sent with the status where the forge takes it "
                                 "(GitLab: --ref \"$CI_COMMIT_REF_NAME\"; needed for a commit on no branch)")
    s.add_argument("--policy-ref", help="the protected branch whose signoff.toml judges the candidate (default: the "
                                        "default branch; read at its merge-base with the candidate)")
    s.add_argument("--policy", help="mlflow/files: signoff.toml from CI's own checkout of the default branch "
                                    "(else --repo DIR, read at its default branch)")
    s.add_argument("--source", default="git", help="source plugin: " + (", ".join(_source_names()) if with_sources
                                                                       else "git, files, …") + " (default: git)")
    s.add_argument("--locator", help="JSON arguments for a source plugin (older scripts; sources have their own options)")
    s.add_argument("--engine", choices=("auto", "memory", "out-of-core"), default="auto",
                   help="the comparison engine: memory, out-of-core (DuckDB over Parquet files, spilling to disk; "
                        "files: --source files) or auto (default: out of core when Parquet inputs would not fit "
                        "in memory; docs/architecture.md)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_request, _source_flags={}, _source_owners={})
    if with_sources and command in (None, "request"):   # the plugins' own options: loading them costs
        _add_source_options(s, only=only_source)

    s = sub.add_parser("inspect", help="review a seeded sample of recent production predictions (no commit)")
    s.add_argument("--source", help="the source whose production is sampled (default: the one whose options "
                                    "are given, e.g. --files: files)")
    s.add_argument("--since", help="only predictions this recent: 30m, 12h, 7d, 2w (default: all)")
    s.add_argument("--sample", type=int, default=200, help="how many predictions to draw (default: 200)")
    s.add_argument("--seed", type=int, help="the sample's seed (default: a random one, printed and stored)")
    s.add_argument("--policy", help="signoff.toml from a checkout of the default branch")
    s.add_argument("--repo", help="a git repository: signoff.toml read at its default branch")
    s.add_argument("--policy-ref", help="with --repo: the protected branch to read signoff.toml at")
    s.add_argument("--interval", choices=["wilson", "clopper-pearson"], default="wilson",
                   help="the error rate's interval (statsmodels proportion_confint; default: wilson)")
    s.add_argument("--confidence", type=float, default=0.95, help="the interval's confidence (default: 0.95)")
    s.add_argument("--estimate", metavar="REQ", help="keep REQ's estimate now and write it back (the source's "
                                                      "write-backs, e.g. MLflow tags)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_inspect, _source_flags={}, _source_owners={}, _source_declared=())
    if with_sources and command in (None, "inspect"):   # the inspectable sources' own options (INSPECT_OPTIONS)
        _add_source_options(s, "INSPECT_OPTIONS")

    s = sub.add_parser("show", help="the comparison summary")
    s.add_argument("request", help="request id or commit SHA")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_show)

    s = sub.add_parser("samples", help="list samples with their change class")
    s.add_argument("request")
    s.add_argument("--eval-set")
    s.add_argument("--class", dest="klass", metavar="CLASS")
    s.add_argument("--json", action="store_true", help="one JSON object per line")
    s.add_argument("--export", metavar="FILE", help="write the samples to FILE (.csv, .jsonl or .parquet) "
                                                     "as a new eval set instead of listing them")
    s.add_argument("--labels", choices=["all", "mine", "none"], default="all",
                   help="with --export: whose labels to include (default: all)")
    s.set_defaults(func=cmd_samples)

    s = sub.add_parser("report", help="write the standalone HTML report")
    s.add_argument("request", help="request id or commit SHA")
    s.add_argument("-o", "--output", required=True, metavar="FILE.html")
    s.set_defaults(func=cmd_report)

    s = sub.add_parser("label", help="record labels as the configured identity")
    s.add_argument("request")
    s.add_argument("eval_set", nargs="?")
    s.add_argument("sample_id", nargs="?")
    s.add_argument("--from", dest="from_file", metavar="FILE", help="CSV/JSONL: eval_set, sample_id, verdict, error, comment")
    s.add_argument("--verdict", choices=[v.value for v in Verdict])
    s.add_argument("--correct", choices=["yes", "no"], help="is the candidate output correct")
    s.add_argument("--error", help="error category from signoff.toml [labels]")
    s.add_argument("--comment")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_label)

    s = sub.add_parser("assign", help="team review: the queues (--show), or move a reviewer's open items (--from)")
    s.add_argument("request")
    s.add_argument("--show", action="store_true", help="per role and reviewer: assigned and done (the default)")
    s.add_argument("--json", action="store_true")
    s.add_argument("--from", dest="from_user", metavar="USER", help="the reviewer whose open items move")
    s.add_argument("--to", action="append", metavar="USER[,USER]",
                   help="who takes them (members of the same role; default: the role's other members)")
    s.set_defaults(func=cmd_assign)

    s = sub.add_parser("adjudicate", help="QA: settle a disagreement with a signed, adjudicated label")
    s.add_argument("request")
    s.add_argument("eval_set", nargs="?")
    s.add_argument("sample_id", nargs="?")
    s.add_argument("--list", action="store_true", help="the disagreements that wait (JSON lines with --json)")
    s.add_argument("--json", action="store_true")
    s.add_argument("--verdict", choices=[v.value for v in Verdict])
    s.add_argument("--correct", choices=["yes", "no"])
    s.add_argument("--error")
    s.add_argument("--comment")
    s.set_defaults(func=cmd_adjudicate)

    s = sub.add_parser("decide", help="approve, request changes or reject")
    s.add_argument("request")
    s.add_argument("--decision", required=True, choices=[d.value for d in DecisionKind])
    s.add_argument("--comment")
    s.add_argument("--role", help="the role you decide in, when you hold several")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_decide)

    s = sub.add_parser("status", help="what the policy says now (exit 0 approved, 1 rejected, 3 pending)")
    s.add_argument("--sha", required=True, type=_sha)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_status)

    s = sub.add_parser("wait", help="block until decided (exit 0 approved, 1 rejected, 5 timed out)")
    s.add_argument("--sha", required=True, type=_sha)
    s.add_argument("--timeout", type=float, help="seconds (default: no limit)")
    s.add_argument("--interval", type=float, default=10.0, help="seconds between checks (default 10)")
    s.add_argument("--verify", action="store_true", help="end with 0 only once the commit's signed record "
                                                         "verifies (as `signoff verify`), never on a status alone")
    s.add_argument("--repo", help="with --verify: the model's repository (protected base policy and keys; "
                                  "refs/notes/signoff when the store is out of reach; default: the request's, else .)")
    s.add_argument("--policy", help="with --verify: signoff.toml from a checkout of the default branch (MLflow, files)")
    s.add_argument("--json", action="store_true", help="the outcome as JSON on stdout (progress stays on stderr)")
    s.set_defaults(func=cmd_wait)

    s = sub.add_parser("verify", help="check the commit's signed sign-off record (exit 0 verifies, 1 not)")
    s.add_argument("--sha", required=True, type=_sha)
    s.add_argument("--repo", help="the model's repository: its protected base gives the policy and keys the record "
                                  "is checked against, and its refs/notes/signoff the record when the store is "
                                  "out of reach (default: the request's repository, else .)")
    s.add_argument("--policy", help="signoff.toml from a checkout of the default branch, for requests whose commit "
                                    "is not in a repository here (MLflow, files)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_verify)

    s = sub.add_parser("publish", help="post what waits in the outbox")
    s.add_argument("--retry-failed", action="store_true",
                   help="first put permanently failed updates back in the queue (the newest per commit "
                        "and context), e.g. after fixing a token")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_publish)

    from .tokens import add_token_parser  # signoff token set/show/delete (app/cli/tokens.py)

    add_token_parser(sub, _Parser)

    s = sub.add_parser("audit", help="the audit log")
    asub = s.add_subparsers(dest="audit_command", parser_class=_Parser, required=True)
    v = asub.add_parser("verify", help="check the log against the tables and the anchors (exit 0 intact, "
                                       "1 tampered); with --record: check an exported record offline")
    v.add_argument("--record", metavar="FILE", help="a record from `audit export`, checked with nothing else")
    v.add_argument("--allowed-signers", metavar="FILE", help="with --record: the reviewers' keys (git's format)")
    v.add_argument("--repo", action="append", default=[], metavar="DIR",
                   help="also check every refs/notes/signoff note of this repository against the log "
                        "(its notes are this store's); repeatable")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_audit_verify)
    v = asub.add_parser("repair", help="rebuild a missing audit head from the log (audited)")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_audit_repair)
    v = asub.add_parser("export", help="write a commit's sign-off record (in-toto Statement v1)")
    v.add_argument("--sha", required=True, type=_sha)
    v.add_argument("-o", "--output", required=True, metavar="FILE", help="record.json, or - for stdout")
    v.set_defaults(func=cmd_audit_export)

    s = sub.add_parser("config", help="check signoff.toml and print its policy in words")
    csub = s.add_subparsers(dest="config_command", parser_class=_Parser, required=True)
    c = csub.add_parser("check", help="validate signoff.toml and print the effective policy (exit 0 valid, 2 not)")
    c.add_argument("file", nargs="?", default="signoff.toml", help="the file (default: ./signoff.toml)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_config_check)
    c = csub.add_parser("schema", help="print signoff.toml's JSON Schema (for editors)")
    c.set_defaults(func=cmd_config_schema)

    s = sub.add_parser("completion", help="print a shell completion script (bash, zsh or fish)")
    s.add_argument("shell", choices=["bash", "zsh", "fish"])
    s.set_defaults(func=cmd_completion)

    s = sub.add_parser("plugins", help=argparse.SUPPRESS)   # hidden: the plugin registry (cmd_plugins)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_plugins)
    return p


def _named_source(argv: list[str]) -> str | None:
    """The one source plugin a `request` command line names (`--source X`, default git), when its
    options alone can parse it; None (all sources' options) for help and completion."""
    if "request" not in argv or "completion" in argv or "-h" in argv or "--help" in argv:
        return None
    name = "git"
    for i, arg in enumerate(argv):
        if arg == "--source" and i + 1 < len(argv):
            name = argv[i + 1]
        elif arg.startswith("--source="):
            name = arg.split("=", 1)[1]
    return name


def _parse(argv: list[str]):
    """Parse with what the plugins declare for the command at hand only (loading them all costs
    ~0.8 s); anything that does not parse so is parsed again with everything, for its message."""
    only = _named_source(argv)
    plugin_commands = [a for a in argv if a in ("request", "review", "inspect", "completion")]
    command = plugin_commands[0] if plugin_commands and plugin_commands[0] != "completion" else None
    try:
        return build_parser(with_sources=bool(plugin_commands), only_source=only, command=command).parse_args(argv)
    except UsageError:
        if only is None and command is None:
            raise
    # e.g. another source's flag: every source's options, for the message naming its owner
    return build_parser(with_sources=True).parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = _parse(argv)
        logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        func = getattr(args, "func", cmd_gui)
        code = func(args)
        sys.stdout.flush()   # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        return closed_pipe()
    except SignoffError as exc:
        _say(f"signoff: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        _say("signoff: interrupted")
        return 130
    except Exception as exc:  # a bug: one line, details only with -v
        log.debug("unexpected error", exc_info=True)
        _say(f"signoff: internal error: {type(exc).__name__}: {exc} (run with -v for details)")
        return 70
