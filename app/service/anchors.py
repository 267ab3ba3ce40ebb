"""Anchors: the audit chain's head (count, hash) written outside the database each time a
status is posted, where the team already looks (docs/trust.md "Anchors"):

- the commit status's target_url gets a `#signoff-audit=COUNT-HASH` fragment (GitHub's API
  takes any string there; no URL configured: a `signoff:COUNT-HASH16` note ends the description);
- a git note on the commit (refs/notes/signoff) in the request's repository (a source with
  `NOTES_IN_REPO`: git, demo): the head and the commit's whole record (app/service/record.py);
- in a sink's own payloads where the sink says (`StatusSink.with_anchor`; the MLflow sink: the
  model-version tag `signoff.audit_head` on each tags write-back).

`check_anchors` reads back the ones it can reach (a sink's statuses through its `current_status`,
its own anchors through `anchor_place` / `read_anchor`) and reports an anchor whose (count, hash)
is not in the log: the log was cut, rewritten or reset after it was anchored. No plugin is named
here: the registry says which sink or source does what.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from signoff.core.policy import DESCRIPTION_LIMIT

log = logging.getLogger(__name__)

FRAGMENT = "signoff-audit"
ANCHOR_RE = re.compile(r"signoff(?:-audit=|:)(\d+)-([0-9a-f]{16,64})")
SHORT = 16   # hex digits of the hash in a description note (the URL fragment and the note carry all 64)


def _sink_class(name: str):
    from signoff.registry import registry

    return registry().sinks.get(name)


def _notes_in_repo(source: str) -> bool:
    """Whether requests of `source` are commits of the repository their locator names (git notes)."""
    from signoff.registry import registry

    return bool(getattr(registry().sources.get(source), "NOTES_IN_REPO", False))


def _reads_statuses(cls) -> bool:
    """A sink that reads its posted statuses back (the forges' `current_status`)."""
    return cls is not None and callable(getattr(cls, "current_status", None))


def _reads_anchors(cls) -> bool:
    """A sink whose own payloads carry the anchor (ANCHOR_NAME) and can read it back."""
    return cls is not None and bool(getattr(cls, "ANCHOR_NAME", ""))


def _is_status(payload: dict) -> bool:
    return "state" in payload and "sha" in payload and "kind" not in payload


def anchor_text(count: int, digest: str) -> str:
    return f"{count}-{digest}"


def anchor_payload(store, item) -> dict:
    """The outbox item's payload with the current head written into it (a copy)."""
    payload = dict(item.payload)
    try:
        head = store.audit_head()
    except Exception:   # noqa: BLE001 - an anchor must never stop a status from being posted
        log.warning("audit head not readable; posting without an anchor", exc_info=True)
        return payload
    if not head:
        return payload
    count, digest = head
    if _is_status(payload):
        url = str(payload.get("target_url") or "")
        if url:
            payload["target_url"] = url.split("#", 1)[0] + f"#{FRAGMENT}={anchor_text(count, digest)}"
        else:
            note = f" · signoff:{anchor_text(count, digest[:SHORT])}"
            text = str(payload.get("description") or "")
            room = DESCRIPTION_LIMIT - len(note)
            payload["description"] = (text if len(text) <= room else text[:room - 1].rstrip() + "…") + note
    else:   # a sink's own payload carries it where the sink says (MLflow: a tag), or not at all
        cls = _sink_class(getattr(item, "sink", ""))
        carried = cls.with_anchor(payload, anchor_text(count, digest)) if _reads_anchors(cls) else None
        if carried is None:
            return payload
        payload = dict(carried)
    payload["_anchor"] = {"count": count, "hash": digest}
    return payload


def after_delivery(store, item, payload: dict) -> None:
    """Once a status is posted: the git note on the commit (git/demo requests), and an audited
    'status.posted' entry saying which head went where."""
    anchor = payload.get("_anchor")
    if not anchor:
        return
    where = [f"{item.sink} target_url" if payload.get("target_url") else f"{item.sink} description"] \
        if _is_status(payload) else [f"{item.sink} {getattr(_sink_class(item.sink), 'ANCHOR_NAME', '')}"]
    try:
        if _is_status(payload) and item.request_id is not None:
            note_repo = _write_note(store, item.request_id, anchor)
            if note_repo:
                where.append(f"git note {note_repo}")
        store.append_audit(actor="signoff", action="status.posted", request_id=item.request_id, payload={
            "outbox": item.id, "sink": item.sink, "target": item.target, "state": payload.get("state", ""),
            "anchor": anchor, "anchored_in": where})
    except Exception:   # noqa: BLE001 - the status is posted; a missing anchor is reported by audit verify
        log.warning("anchoring the audit head failed", exc_info=True)


def _write_note(store, request_id: int, anchor: dict) -> str:
    from .record import build_record, write_note
    from .review import ReviewService

    req = store.get_request(request_id)
    repo = (req.locator or {}).get("repo")
    if not _notes_in_repo(req.source) or not repo:
        return ""
    record = build_record(ReviewService(store, user="signoff"), req.sha)
    write_note(repo, req.sha, {"signoff_audit": anchor, "record": record})
    remember_note(store, repo, req.sha)
    return repo


# -- where this installation wrote notes (outside the database) ---------------------

NOTES_FILE = "anchored_notes.json"
REMEMBERED_MAX = 2000   # (repo, commit) pairs per store, newest kept


def _notes_file():
    from signoff.store.db import data_dir

    return data_dir() / NOTES_FILE


def _store_key(store) -> str:
    try:
        return store.describe()
    except Exception:   # noqa: BLE001
        return ""


def remembered_notes(store) -> list[tuple[str, str]]:
    """(repository, commit) of every git note this installation wrote for `store`: kept in
    SIGNOFF_HOME, so a log reset in the database (requests table and all) still leaves the
    notes to read back."""
    import json

    try:
        data = json.loads(_notes_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    pairs = data.get(_store_key(store), []) if isinstance(data, dict) else []
    return [(str(p[0]), str(p[1])) for p in pairs if isinstance(p, list) and len(p) == 2]


def remember_note(store, repo: str, sha: str) -> None:
    import json
    import os

    path = _notes_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data = data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        data = {}
    key = _store_key(store)
    pairs = [p for p in data.get(key, []) if p != [repo, sha]] + [[repo, sha]]
    data[key] = pairs[-REMEMBERED_MAX:]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.part")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    tmp.replace(path)


# -- reading them back -------------------------------------------------------------

@dataclass
class AnchorCheck:
    checked: list[str] = field(default_factory=list)     # "git note on 1a2b3c4 in /repo: entry 17 ok"
    problems: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)


def _check(found: list[tuple[str, int, str]], hashes: dict[int, str], result: AnchorCheck) -> None:
    for where, count, digest in found:
        have = hashes.get(count)
        if have is not None and have.startswith(digest):
            result.checked.append(f"{where}: entry {count} matches")
        elif have is None:
            result.problems.append(f"{where} anchors entry {count} ({digest[:12]}…), which the log does not hold "
                                   f"(entries removed or the log reset)")
        else:
            result.problems.append(f"{where} anchors entry {count} as {digest[:12]}…, the log has {have[:12]}… "
                                   f"there (rewritten)")


def _note_anchor(repo: str, sha: str, result: AnchorCheck, found: list, *, missing_is_unreachable=True) -> None:
    from .record import read_note

    try:
        note = read_note(repo, sha, fetch=False)
    except Exception:   # noqa: BLE001 - a note that is not ours, or a repository gone
        note = None
    if note and isinstance(note.get("signoff_audit"), dict):
        a = note["signoff_audit"]
        try:
            found.append((f"git note on {sha[:10]} in {repo}", int(a.get("count", -1)), str(a.get("hash", ""))))
        except (TypeError, ValueError):
            result.problems.append(f"git note on {sha[:10]} in {repo}: its anchor is unreadable (edited)")
    elif missing_is_unreachable:
        result.unreachable.append(f"git note on {sha[:10]} in {repo}: none there")


def notes_in(repo: str) -> list[str]:
    """Every commit that carries a refs/notes/signoff note in `repo`."""
    import subprocess

    out = subprocess.run(["git", "-C", repo, "notes", "--ref=signoff", "list"], capture_output=True, text=True)
    if out.returncode != 0:
        return []
    return [line.split()[1] for line in out.stdout.splitlines() if len(line.split()) == 2]


def _delivered(store, entries, keep) -> dict[str, str]:
    """target -> sink of everything the store says it delivered where `keep(sink class, payload or None)`
    holds (the log's 'status.posted' entries and the outbox's delivered entries; either may survive a
    tampering the other does not)."""
    targets: dict[str, str] = {}
    for e in entries:
        p = e.payload if isinstance(e.payload, dict) else {}
        if e.action == "status.posted" and isinstance(p.get("target"), str) and keep(_sink_class(p.get("sink")), None):
            targets[p["target"]] = p["sink"]
    try:
        for item in store.outbox_items(states=("delivered",)):
            if keep(_sink_class(item.sink), item.payload):
                targets[item.target] = item.sink
    except Exception:   # noqa: BLE001
        pass
    return targets


def _forge_targets(store, entries) -> dict[str, str]:
    """target -> sink of every status posted through a sink that reads its statuses back (a forge)."""
    return _delivered(store, entries, lambda cls, payload: _reads_statuses(cls) and (payload is None or "state" in payload))


def _read_forge(targets: dict[str, str], store, result: AnchorCheck, found: list) -> None:
    """Each target's status as the forge holds it now, and the anchor in its target_url/description.
    Unreachable (no token, network, forge error): listed as not checked, never as OK."""
    from signoff.plugin_api import StatusUpdate
    from signoff.registry import registry

    sinks: dict[tuple, object] = {}
    for target, sink_name in sorted(targets.items()):
        parts = target.split("|")
        if len(parts) != 5:
            continue
        _sink, api_url, repo, sha, context = parts
        where = f"{sink_name} status {context} on {repo}@{sha[:10]}"
        try:
            key = (sink_name, api_url)
            if key not in sinks:
                sinks[key] = registry().sink(sink_name).create(api_url=api_url, store=store)
            sink = sinks[key]
            if getattr(sink, "token", None) is None:
                result.unreachable.append(f"{where}: not read back (no token for {getattr(sink, 'host', api_url)})")
                continue
            current = sink.current_status(StatusUpdate(repo=repo, sha=sha, state="", description="",
                                                       context=context, target_url="", ref=""))
        except Exception as exc:   # noqa: BLE001 - DeliveryError and anything a forge answers
            result.unreachable.append(f"{where}: not read back ({str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__})")
            continue
        if current is None:
            result.unreachable.append(f"{where}: the forge holds no status there")
            continue
        hits = [m for text in (current.get("target_url"), current.get("description"))
                for m in ANCHOR_RE.finditer(text or "")]
        if not hits:
            result.unreachable.append(f"{where}: holds a status without an anchor (set by hand or by an older Signoff)")
            continue
        m = hits[0]
        found.append((where, int(m.group(1)), m.group(2)))
    _close(sinks.values())


def _anchor_targets(store, entries) -> dict[str, str]:
    """target -> sink of every delivery of a sink's own payloads that carried an anchor (MLflow: tags)."""
    return _delivered(store, entries, lambda cls, payload: _reads_anchors(cls))


def _read_own(targets: dict[str, str], store, result: AnchorCheck, found: list) -> None:
    """Each target's anchor as the sink reads it back now (`read_anchor`, with the write-back's own
    credentials; MLflow: the tag on the model version). Unreachable, refused or gone: listed as not
    checked, never as OK."""
    sinks: dict[tuple, object] = {}
    for target, sink_name in sorted(targets.items()):
        cls = _sink_class(sink_name)
        place = cls.anchor_place(target)
        if place is None:
            continue
        uri, where, what = place
        try:
            if (sink_name, uri) not in sinks:
                sinks[(sink_name, uri)] = cls.create(api_url=uri, store=store)
            value = sinks[(sink_name, uri)].read_anchor(where)
        except Exception as exc:   # noqa: BLE001 - DeliveryError, a bad URI, anything the server answers
            reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            result.unreachable.append(f"{what} ({uri}): not read back ({reason})")
            continue
        m = re.fullmatch(r"(\d+)-([0-9a-f]{64})", (value or "").strip())
        if value is None:
            result.unreachable.append(f"{what} ({uri}): no {cls.ANCHOR_NAME} there (removed, or set by an older Signoff)")
        elif not m:   # as a forge status set by hand over ours: listed, not trusted
            result.unreachable.append(f"{what} ({uri}): its {cls.ANCHOR_NAME} {value[:40]!r} is not an anchor "
                                      f"(set by hand)")
        else:
            found.append((what, int(m.group(1)), m.group(2)))
    _close(sinks.values())


def _close(sinks) -> None:
    for sink in sinks:
        close = getattr(sink, "close", None)
        if callable(close):
            close()


def check_anchors(store, entries, repos: tuple[str, ...] = ()) -> AnchorCheck:
    """Every anchor this installation can reach: local statuses, git notes of the requests'
    repositories and those this installation wrote (kept in SIGNOFF_HOME), every note of `repos`,
    the forge statuses the store says it posted (read back from the forge), the MLflow tags it
    delivered (read back from the tracking server), and the anchors the log says it posted; what
    cannot be read is listed as not checked."""
    result = AnchorCheck()
    hashes = {e.seq: e.hash for e in entries}
    found: list[tuple[str, int, str]] = []
    try:
        requests = store.list_requests()
    except Exception:   # noqa: BLE001
        requests = []
    for st in store.local_statuses(None):   # all of them: the requests table may have been emptied too
        for text in (st["target_url"], st["description"]):
            for m in ANCHOR_RE.finditer(text or ""):
                found.append((f"local status on {st['sha'][:10]} ({st['state']})", int(m.group(1)), m.group(2)))
    seen: set[tuple[str, str]] = set()
    for req in requests:
        repo = (req.locator or {}).get("repo")
        if _notes_in_repo(req.source) and repo and (repo, req.sha) not in seen:
            seen.add((repo, req.sha))
            _note_anchor(repo, req.sha, result, found)
    for repo, sha in remembered_notes(store):   # also when the requests table is gone
        if (repo, sha) not in seen:
            seen.add((repo, sha))
            _note_anchor(repo, sha, result, found)
    for repo in repos:
        commits = notes_in(repo)
        if not commits:
            result.unreachable.append(f"git notes in {repo}: none there (git fetch origin "
                                      f"refs/notes/signoff:refs/notes/signoff)")
        for sha in commits:
            if (repo, sha) not in seen:
                seen.add((repo, sha))
                _note_anchor(repo, sha, result, found, missing_is_unreachable=False)
    _read_forge(_forge_targets(store, entries), store, result, found)
    _read_own(_anchor_targets(store, entries), store, result, found)
    # What the log says it anchored elsewhere: an anchor the log itself lists must still be in it.
    for e in entries:
        p = e.payload if isinstance(e.payload, dict) else {}
        if e.action == "status.posted" and isinstance(p.get("anchor"), dict):
            a = p["anchor"]
            for where in p.get("anchored_in") or []:
                if not (where.startswith("git note") or where.startswith("local ")
                        or _reads_statuses(_sink_class(where.split(" ")[0]))
                        or _reads_anchors(_sink_class(where.split(" ")[0]))):
                    result.unreachable.append(f"{where} (posted at entry {e.seq}): not read back here")
            found.append((f"status.posted entry {e.seq}", int(a.get("count", -1)), str(a.get("hash", ""))))
    _check(found, hashes, result)
    return result
