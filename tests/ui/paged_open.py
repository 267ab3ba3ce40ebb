"""Helpers of test_ui_paged_memory.py, run as `python tests/ui/paged_open.py write|open DB ROWS`.

write: store a generated comparison of ROWS samples with short texts (~20 characters) in the
       SQLite store DB (its file next to it), print the request id.
open:  open it as the window does (ReviewService.comparison_view -> SampleTableModel, first
       sample read, a class filter, an id looked up and the ids' sort for look-ups done, samples late
       in the file found by id), print JSON: the RSS growth of the open (peak after minus
       resident before) and the documented budget (signoff.ui.sample_model.paged_budget).
Each in a process of its own, so the growth measured is the open's alone.
"""

from __future__ import annotations

import json
import resource
import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _peak() -> int:
    """This process's peak resident memory since its exec (VmHWM). Not ru_maxrss: Linux carries
    that over from the parent across fork/vfork + exec, so under a big pytest process it reports
    the parent's size, not ours."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _text(prefix: str, nums) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.cast(nums, pa.string()), "")


def generated(rows: int) -> pa.Table:
    """A comparison table as compare() lays it out, text ~20 characters per cell."""
    i = pa.array(np.arange(rows, dtype=np.int64))
    classes = ["regressed", "missing", "changed", "improved", "unchanged"]
    codes = np.repeat(np.arange(5, dtype=np.int8), -(-rows // 5))[:rows]
    return pa.table({
        "id": _text("s", i),
        "class": pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(classes)),
        "severity": pa.array(codes),
        "missing_side": pa.array(np.where(codes == 1, "candidate", ""), pa.string()),
        "input": _text("how is my order no ", pc.bit_wise_and(i, 8191)),
        "reference": _text("it ships on day ", pc.bit_wise_and(i, 31)),
        "baseline_output": _text("it ships on day ", pc.bit_wise_and(i, 63)),
        "candidate_output": _text("ships on day num ", pc.bit_wise_and(i, 127)),
        "baseline_score": pa.array(np.zeros(rows)),
        "candidate_score": pa.array(np.ones(rows)),
        "delta": pa.array(np.ones(rows)),
        "topic": pa.DictionaryArray.from_arrays(pa.array((np.arange(rows) % 3).astype(np.int8)),
                                                pa.array(["billing", "shipping", "other"])),
    })


def write(db: str, rows: int) -> None:
    from signoff.store.records import NewRequest
    from signoff.store.store import Store

    store = Store(f"sqlite:///{db}")
    rec = store.add_request(NewRequest(sha="a" * 40, change_key="main", source="git", locator={}, baseline_ref="b",
                                       candidate_ref="a" * 40, title="10M", author="x@example.com",
                                       content_hash="h", config_toml="[policy]\n", eval_sets=["big"],
                                       created_by="ci"),
                            comparisons=[("big", {}, generated(rows))], status="pending", description="",
                            outbox=[], actor="ci")
    print(rec.id)


def open_(db: str, request_id: int) -> None:
    from PySide6.QtWidgets import QApplication

    from signoff.service.review import ReviewService
    from signoff.store.comparison_files import PagedComparison
    from signoff.store.store import Store
    from signoff.ui.sample_model import SampleTableModel, paged_budget

    app = QApplication.instance() or QApplication([])   # noqa: F841 (the model's signals need one)
    service = ReviewService(Store(f"sqlite:///{db}"), user="sme@example.com")
    before = _rss()
    view = service.comparison_view(request_id, "big")
    model = SampleTableModel()
    model.set_frame(SampleTableModel.prepare(view))
    first = model.sample(0)
    model.set_filter(classes={"regressed"})
    last = model.sample(model.rowCount() - 1)
    visible = model.rowCount()
    model.row_of("s123")                        # the id look-up: a scan, the sort started on a spare core
    model._id_index.wait()                      # the sort done (counted in the peak, as the window holds it)
    model.set_filter(classes=None)
    # Samples late in the file, found by their ids (the sorted look-up): each shows its own row's
    # text (rows placed by the writer's step once showed another sample's past a short batch).
    rows = len(model.frame)
    late = [[s["id"], s["input"], s["candidate_output"]]
            for s in (model.sample(model.row_of(f"s{pos}")) for pos in (rows // 2 + 12_345, rows - 1))]
    peak = _peak()
    print(json.dumps({"paged": isinstance(view, PagedComparison), "rows": len(model.frame),
                      "growth": peak - before, "budget": paged_budget(model.frame),
                      "first": first["input"], "last": last["candidate_output"], "visible": visible,
                      "late": late}))


if __name__ == "__main__":
    {"write": lambda: write(sys.argv[2], int(sys.argv[3])),
     "open": lambda: open_(sys.argv[2], int(sys.argv[3]))}[sys.argv[1]]()
