"""Parquet inputs mapped, not copied (plugins/common/local_files.py, issue 16): the same content
hash and comparison as the bytes gave, and a file rewritten while it is read is refused in one
line, never recorded under a hash of other bytes."""

from __future__ import annotations

import hashlib
import os

import pytest

from signoff.core.compare import compare
from signoff.core.errors import InputError
from signoff.core.hashing import combine_hashes
from signoff.plugins.common.local_files import MappedFile, check_unchanged, read_file
from signoff.plugins.files import FilesSource


@pytest.fixture
def workspace(kit, tmp_path):
    return kit.files_workspace(tmp_path, "parquet")


def _source(root) -> FilesSource:
    return FilesSource(str(root), "runs/v1", "runs/v2", policy=str(root / "signoff.toml"))


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_parquet_input_is_mapped_and_hashed_as_its_bytes(workspace):
    assert isinstance(_source(workspace).read_bytes("baseline", "predictions/texts.parquet"), MappedFile)
    (data,) = _source(workspace).load().eval_sets
    assert data.content_hash == combine_hashes([
        f"samples:{_sha(workspace / 'evals/texts.parquet')}",
        f"baseline:{_sha(workspace / 'runs/v1/predictions/texts.parquet')}",
        f"candidate:{_sha(workspace / 'runs/v2/predictions/texts.parquet')}"])
    table = compare(data).table
    got = dict(zip(table["id"], table["class"].astype(str)))
    assert got == {"s-0": "unchanged", "s-1": "improved", "s-2": "regressed", "s-3": "unchanged",
                   "s-4": "changed", "s-5": "changed"}


def test_other_formats_and_empty_files_are_read_as_bytes(tmp_path):
    (tmp_path / "a.csv").write_text("id,output\n1,x\n")
    (tmp_path / "empty.parquet").write_bytes(b"")
    assert read_file(str(tmp_path / "a.csv")) == b"id,output\n1,x\n"
    assert read_file(str(tmp_path / "empty.parquet")) == b""


def test_a_file_rewritten_while_it_is_read_is_refused(workspace, monkeypatch):
    """A writer appends to the candidate's file after Signoff mapped it: the load stops with one
    line naming the file, and nothing is compared under a hash of other bytes."""
    source = _source(workspace)
    read = source.read_bytes

    def read_then_written(side, path):
        data = read(side, path)
        if side == "candidate":
            with open(workspace / "runs/v2/predictions/texts.parquet", "ab") as f:
                f.write(b"\0")
        return data

    monkeypatch.setattr(source, "read_bytes", read_then_written)
    with pytest.raises(InputError, match=r"texts\.parquet changed while Signoff read it: run again"):
        source.load()


def test_a_same_size_rewrite_is_seen_by_its_times(tmp_path):
    path = tmp_path / "t.parquet"
    path.write_bytes(b"PAR1" + b"x" * 100)
    data = read_file(str(path))
    check_unchanged(data)   # untouched: fine
    st = os.stat(path)
    with open(path, "r+b") as f:   # the same size, other bytes, and a modification time moved on
        f.write(b"PAR2")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    with pytest.raises(InputError, match="changed while Signoff read it"):
        check_unchanged(data)
    path.unlink()
    with pytest.raises(InputError, match="changed while Signoff read it"):
        check_unchanged(data)
