"""Comparisons as files (issue 16, item 2): Arrow IPC files (Parquet from the out-of-core engine
and before) named by their SHA-256, in a location every reviewer reaches; the database keeps
URI, hash and summary; a changed or missing file is refused with one line; Parquet files and
blobs stored before still open."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select, update

from signoff.store import comparison_files as cf
from signoff.store.comparison_files import ComparisonFileError, ComparisonPages
from signoff.store.frames import frame_to_bytes, table_to_frame
from signoff.store.schema import Comparison
from signoff.store.store import Store


@pytest.fixture(autouse=True)
def _files_on_postgres_too(request, tmp_path, monkeypatch):
    """A PostgreSQL store keeps its comparisons in the database unless a location is configured
    (test_postgres_without_a_location_keeps_them_in_the_database): the file tests configure one."""
    params = getattr(getattr(request.node, "callspec", None), "params", {})
    if params.get("backend") == "postgres" and request.node.originalname != "test_postgres_without_a_location_keeps_them_in_the_database":
        monkeypatch.setenv("SIGNOFF_COMPARISONS", str(tmp_path / "team-comparisons"))


def _add(store, new_request, comparisons):
    return store.add_request(new_request(eval_sets=tuple(c[0] for c in comparisons)), comparisons=comparisons,
                             status="pending", description="", outbox=[], actor="ci")


def _row(store, request_id):
    with store._read() as s:
        return s.execute(select(Comparison.table_uri, Comparison.table_sha256, Comparison.table_data)
                         .where(Comparison.request_id == request_id)).one()


def _path(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path))


def test_a_comparison_is_a_file_named_by_its_hash(store, new_request, sample_table, tmp_path):
    table = sample_table(20)
    rec = _add(store, new_request, [("texts", {"samples": 20}, table)])
    uri, sha, blob = _row(store, rec.id)
    assert blob is None and uri.startswith("file://")
    path = _path(uri)
    assert path.name == f"{sha}.arrow" and path.parent.name == sha[:2]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha   # hashed while written: the same
    assert pa.ipc.open_file(pa.memory_map(str(path))).read_all().num_rows == 20
    pd.testing.assert_frame_equal(store.load_comparison(rec.id, "texts"), table)
    # the same table again: the same file, kept
    again = _add(store, new_request, [("texts", {}, table)])
    assert _row(store, again.id)[:2] == (uri, sha)


def test_an_arrow_table_is_written_as_it_is(store, new_request):
    table = pa.table({"id": ["a", "b"], "class": pa.array(["unchanged", "changed"]).dictionary_encode(),
                      "baseline_output": ["x", None], "delta": [0.0, None]})
    rec = _add(store, new_request, [("arrow", {}, table)])
    assert store.comparison_table(rec.id, "arrow").equals(table)
    assert store.comparison_table(rec.id, "arrow", columns=["id", "nope"]).column_names == ["id"]


@pytest.mark.parametrize("whole_read", [256 << 20, 0], ids=["read-once", "streamed"])
def test_a_changed_file_is_refused_in_one_line(store, new_request, sample_table, whole_read, monkeypatch):
    monkeypatch.setattr(cf, "WHOLE_READ_BYTES", whole_read)   # both ways of checking the hash
    rec = _add(store, new_request, [("texts", {}, sample_table(5))])
    assert len(store.load_comparison(rec.id, "texts")) == 5
    path = _path(_row(store, rec.id)[0])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(1, 1))   # whatever the clock: another version of the file
    with pytest.raises(ComparisonFileError, match=r"^comparison file file://\S+ changed since it was stored") as e:
        store.load_comparison(rec.id, "texts")
    assert "\n" not in str(e.value)
    with pytest.raises(ComparisonFileError, match="changed since it was stored"):
        store.comparison_pages(rec.id, "texts")
    path.unlink()
    with pytest.raises(ComparisonFileError, match=r"is missing: restore it, or point SIGNOFF_COMPARISONS"):
        store.load_comparison(rec.id, "texts", columns=["id"])


def test_a_paged_open_checks_the_hash_while_it_reads_and_hands_out_nothing_of_a_changed_file(
        store, new_request, sample_table):
    """The window's paged open reads the resident columns while the file is hashed on another
    thread: a changed file is refused by verified(), and by every read of its pages."""
    rec = _add(store, new_request, [("texts", {}, sample_table(50))])
    pages = store.comparison_pages(rec.id, "texts", check_while_reading=True)
    assert pages.resident(["id", "class"]).num_rows == 50      # waits for the check: it matched
    assert pages.value("id", 3) == sample_table(50)["id"][3]
    path = _path(_row(store, rec.id)[0])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(1, 1))   # another version of the file
    pages = store.comparison_pages(rec.id, "texts", check_while_reading=True)   # opens: the footer is intact
    pages.resident(["id", "class"], wait=False)               # read meanwhile, not handed out
    for read in (pages.verified, lambda: pages.resident(["id"]), lambda: pages.value("id", 3),
                 lambda: pages.columns(["id"]), lambda: next(pages.batches(["id"]))):
        with pytest.raises(ComparisonFileError, match=r"^comparison file file://\S+ changed since it was stored"):
            read()


def test_blob_comparisons_stored_before_files_still_open(store, new_request, sample_table):
    table = sample_table(12)
    rec = _add(store, new_request, [("old", {}, table)])
    with store._write() as s:   # as a store before 0009 holds it: the blob, no file
        s.execute(update(Comparison).where(Comparison.request_id == rec.id)
                  .values(table_data=frame_to_bytes(table), table_uri=None, table_sha256=None))
    pd.testing.assert_frame_equal(store.load_comparison(rec.id, "old"), table)
    pages = store.comparison_pages(rec.id, "old")
    assert pages.rows == 12 and pages.value("input", 3) == table.loc[3, "input"]


def _as_parquet_file(store, request_id: int, table: pa.Table, tmp_path) -> tuple[str, str]:
    """Rewrite a stored comparison as the Parquet file a store wrote before Arrow IPC files
    (zstd, row groups for paging, the Arrow size in the metadata) and point its row at it."""
    meta = {**(table.schema.metadata or {}), cf.ARROW_BYTES_KEY: str(table.nbytes).encode()}
    old = tmp_path / "old.parquet"
    pq.write_table(table.replace_schema_metadata(meta), old, row_group_size=cf.row_group_rows(table),
                   compression="zstd", use_dictionary=cf.dictionary_columns(table.schema))
    uri, sha = cf.ComparisonFiles((tmp_path / "old-location").as_uri()).put_file(old)
    assert uri.endswith(f"{sha}.parquet")
    with store._write() as s:
        s.execute(update(Comparison).where(Comparison.request_id == request_id)
                  .values(table_uri=uri, table_sha256=sha, table_data=None))
    return uri, sha


@pytest.mark.parametrize("whole_read", [256 << 20, 0], ids=["read-once", "streamed"])
def test_parquet_files_written_before_arrow_files_still_open(store, new_request, sample_table, whole_read,
                                                             monkeypatch, tmp_path):
    monkeypatch.setattr(cf, "WHOLE_READ_BYTES", whole_read)
    frame = sample_table(30)
    rec = _add(store, new_request, [("old", {}, frame)])
    table = store.comparison_table(rec.id, "old")
    _as_parquet_file(store, rec.id, table, tmp_path)
    assert store.comparison_table(rec.id, "old").to_pylist() == table.to_pylist()   # (Parquet's dictionary: str)
    pd.testing.assert_frame_equal(store.load_comparison(rec.id, "old"), frame)
    pages = store.comparison_pages(rec.id, "old")
    assert pages.rows == 30 and pages.value("input", 7) == frame.loc[7, "input"]
    assert store.comparison_arrow_bytes(rec.id, "old") == table.nbytes


def test_the_format_is_told_by_magic_bytes_not_the_name(tmp_path):
    table = pa.table({"id": ["a", "b", "c"], "input": ["x", "y", None]})
    arrow = tmp_path / "t.parquet"   # an IPC file under a Parquet name still reads as IPC
    with open(arrow, "wb") as f:
        cf.write_comparison(table, f)
    assert isinstance(cf.open_source(pa.memory_map(str(arrow))), cf.IpcComparison)
    assert cf.read_columns(cf.open_source(pa.memory_map(str(arrow))), ["input", "nope"]).column_names == ["input"]
    pq.write_table(table, tmp_path / "p.arrow")
    assert cf.open_source(pa.memory_map(str(tmp_path / "p.arrow"))).read().drop_columns([]).equals(table)
    (tmp_path / "junk").write_bytes(b"not a table at all")
    with pytest.raises(pa.ArrowInvalid):
        cf.open_source(pa.memory_map(str(tmp_path / "junk")))


def test_row_groups_are_sized_for_paging(monkeypatch):
    assert cf.row_group_rows(pa.table({"id": ["a"]})) == cf.MAX_ROWS
    monkeypatch.setattr(cf, "ROW_GROUP_BYTES", 64 * 1024)
    table = pa.table({"id": [f"s{i}" for i in range(20_000)], "input": ["x" * 40] * 20_000})
    rows = cf.row_group_rows(table)
    assert cf.MIN_ROWS <= rows < 20_000


def test_pages_keep_the_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(cf, "ROW_GROUP_BYTES", 32 * 1024)
    n = 50_000
    table = pa.table({"id": [f"s{i}" for i in range(n)], "input": [f"text {i} " * 4 for i in range(n)],
                      "out": pa.array([json.dumps({"k": i}) for i in range(n)])})
    table = table.replace_schema_metadata({b"signoff.columns": b'{"out": "json"}'})
    uri, sha = cf.ComparisonFiles(tmp_path.as_uri()).put(table)
    pages = ComparisonPages(cf.ComparisonFiles.open(uri, sha), budget=200 * 1024)
    assert pages.rows == n and pages.groups > 10
    for pos in range(0, n, 997):
        assert pages.value("input", pos) == f"text {pos} " * 4
        assert pages.value("out", pos, ("input", "out")) == {"k": pos}
        assert pages.cached_bytes <= 200 * 1024 + max(t.nbytes for t in pages._cache.values())
    scanned = pa.concat_tables(t for _, t in pages.batches(["id", "nope"]))
    assert scanned.column_names == ["id"] and scanned.column("id").equals(table.column("id"))


@pytest.mark.parametrize("parquet", [False, True], ids=["ipc", "parquet"])
def test_resident_columns_are_read_a_row_group_at_a_time_as_the_frame_holds_them(tmp_path, monkeypatch, parquet):
    """Ids as large_string (their bytes shared, offsets widened), a slice without nulls as one
    dictionary in order of first appearance, a slice with a null in a later row group as text,
    floats as one chunk with nulls as NaN: the same values as the whole column read and converted."""
    monkeypatch.setattr(cf, "ROW_GROUP_BYTES", 8 * 1024)
    n = 5_000
    table = pa.table({
        "id": [None if i == 4_321 else f"s{i}" for i in range(n)],
        "topic": [("zeta", "alpha", "mid")[(i // 700) % 3] if i >= 10 else "first" for i in range(n)],
        "lang": [None if i == n - 3 else ("en", "de")[i % 2] for i in range(n)],
        "delta": [None if i % 1_000 == 7 else i / 8 for i in range(n)],
    })
    if parquet:
        path = tmp_path / "t.parquet"
        pq.write_table(table, path, row_group_size=600)
        pages = ComparisonPages(cf.open_source(pa.memory_map(str(path))))
    else:
        uri, sha = cf.ComparisonFiles(tmp_path.as_uri()).put(table)
        pages = ComparisonPages(cf.ComparisonFiles.open(uri, sha))
    assert pages.groups >= 4
    got = pages.resident(["id", "topic", "lang", "delta", "nope"], encode=("topic", "lang"))
    assert got.column_names == ["id", "topic", "lang", "delta"]
    assert got.column("id").type == pa.large_string() and got.column("id").to_pylist() == table.column("id").to_pylist()
    topic = got.column("topic")
    assert pa.types.is_dictionary(topic.type) and topic.type.index_type == pa.int8()
    assert all(c.dictionary.to_pylist() == ["first", "zeta", "alpha", "mid"] for c in topic.chunks)
    assert topic.cast(pa.string()).to_pylist() == table.column("topic").to_pylist()
    assert got.column("lang").type == pa.large_string()   # a null: held as text
    assert got.column("lang").to_pylist() == table.column("lang").to_pylist()
    delta = got.column("delta")
    assert delta.num_chunks == 1 and delta.null_count == 0
    want = table.column("delta").to_pandas().to_numpy()
    assert pd.Series(delta.to_numpy()).equals(pd.Series(want))   # NaN where the stored value is null
    frame = table_to_frame(got, split_blocks=True)
    assert np.shares_memory(frame["delta"].to_numpy(), delta.to_numpy())   # held as read, not copied


def test_text_widened_to_large_string_keeps_every_value():
    for arr in (pa.array(["", ""]), pa.array([None, None], pa.string()), pa.array(["a", None, "", "Straße"]),
                pa.array(["x", "yz", "w"]).slice(1), pa.array([], pa.string()), pa.array(["q"], pa.large_string())):
        wide = cf._large_text(arr)
        wide.validate(full=True)
        assert wide.type == pa.large_string() and wide.to_pylist() == arr.to_pylist()


def test_a_configured_location_path_or_file_uri(tmp_path, monkeypatch, new_request, sample_table):
    shared = tmp_path / "shared place"
    for location in (str(shared), (tmp_path / "by-uri").as_uri()):
        store = Store(f"sqlite:///{tmp_path / 'a.db'}", comparisons=location)
        try:
            rec = _add(store, new_request, [("texts", {}, sample_table(3))])
            uri = _row(store, rec.id)[0]
            assert uri.startswith(store.comparisons_location() + "/") and _path(uri).is_file()
            assert len(store.load_comparison(rec.id, "texts")) == 3
        finally:
            store.close()
    assert any(shared.rglob("*.arrow"))
    monkeypatch.setenv("SIGNOFF_COMPARISONS", str(shared))
    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    assert store.comparisons_location() == shared.resolve().as_uri()
    store.close()


_REVIEWER = """
import sys
from signoff.store.store import Store
store = Store(sys.argv[1])
frame = store.load_comparison(int(sys.argv[2]), "texts")
print(len(frame), frame["id"].iloc[0])
"""


def test_a_second_reviewer_with_another_data_dir_reads_the_shared_location(store_url, new_request, sample_table,
                                                                         tmp_path):
    shared = (tmp_path / "team-share").as_uri()
    alice = Store(store_url, comparisons=shared)
    try:
        table = sample_table(7)
        rec = _add(alice, new_request, [("texts", {}, table)])
    finally:
        alice.close()
    env = {**os.environ, "SIGNOFF_HOME": str(tmp_path / "bob-home")}
    env.pop("SIGNOFF_COMPARISONS", None)
    out = subprocess.run([sys.executable, "-c", _REVIEWER, store_url, str(rec.id)], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["7", str(table["id"].iloc[0])]
    assert not (tmp_path / "bob-home" / "comparisons").exists()


def test_postgres_without_a_location_keeps_them_in_the_database(store_url, backend, new_request, sample_table,
                                                                tmp_path, monkeypatch):
    """No location configured: SQLite writes files next to its database; PostgreSQL keeps the table
    in the database, the one place every reviewer reaches (files in CI's own data folder would be
    missing for everyone else), and another reviewer's process opens it."""
    monkeypatch.delenv("SIGNOFF_COMPARISONS", raising=False)
    store = Store(store_url)
    try:
        table = sample_table(5)
        rec = _add(store, new_request, [("texts", {}, table)])
        uri, sha, blob = _row(store, rec.id)
        if backend == "postgres":
            assert store.comparisons_location() is None and uri is None and sha is None and blob
        else:
            assert uri.startswith("file://") and blob is None
        pd.testing.assert_frame_equal(store.load_comparison(rec.id, "texts"), table)
    finally:
        store.close()
    env = {**os.environ, "SIGNOFF_HOME": str(tmp_path / "bob-home")}
    out = subprocess.run([sys.executable, "-c", _REVIEWER, store_url, str(rec.id)], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["5", str(table["id"].iloc[0])]
