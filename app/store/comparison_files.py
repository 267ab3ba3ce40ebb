"""Comparisons as files (issue 16, item 2): each per-sample table is one file, named by the
SHA-256 of its bytes, in a location every reviewer of the store reaches.

Format: the request's table is written as an Arrow IPC file (`<sha>.arrow`: zstd level 1,
its columns compressed on every core, hashed while it is written; at 1M samples ~2x faster to
write than Parquet at the same size, and faster to read). The out-of-core engine's streamed
result stays Parquet (`<sha>.parquet`, what a warehouse reads), and so do files written
before; a file's format is told by its magic bytes, never by its name.

Where: `SIGNOFF_COMPARISONS` (a path or a URI pyarrow.fs understands: file://, s3://,
gs://, hdfs://…), else the settings' `store.comparisons`, else the folder `comparisons`
next to the SQLite store (or in the data dir for a PostgreSQL store: a team sharing a
PostgreSQL store sets a shared location, docs/architecture.md "Comparisons as files").
The database keeps the file's URI and hash; a file is found again by its URI alone, so a
reviewer with another data dir opens what another stored.

Reading fails closed: a file that is missing, unreadable or whose bytes no longer hash to
the stored SHA-256 is refused with one line naming it (ComparisonFileError), never read as
some other comparison. The hash is checked once per process and file version (URI, size,
modification time), since a 10M-sample file takes a second to hash.

Row groups (Parquet) and record batches (Arrow IPC) are sized for paging: ~ROW_GROUP_BYTES of
Arrow data each (between MIN_ROWS and MAX_ROWS rows), so the window reads one sample's text by
decoding one of them, only the columns it needs (ComparisonPages), never the whole table.
"""

from __future__ import annotations

import bisect
import collections
import hashlib
import mmap
import os
import tempfile
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from signoff.core.errors import SignoffError
from signoff.core.stored_table import SAME_COLUMN, restore_outputs, restored_columns, stored_columns

from .frames import column_kinds, decode_value

ENV_LOCATION = "SIGNOFF_COMPARISONS"
ROW_GROUP_BYTES = 16 << 20      # Arrow bytes per row group (what one page read decodes, all columns)
MIN_ROWS, MAX_ROWS = 1_024, 65_536
PAGE_BUDGET = 64 << 20          # row groups a reader keeps decoded (ComparisonPages), in Arrow bytes
HASH_CHUNK = 8 << 20
HASH_WINDOW = 32 << 20         # a multiple of mmap.ALLOCATIONGRANULARITY
WHOLE_READ_BYTES = 256 << 20    # files up to this size are read once, hashed while they decode
PARQUET_MAGIC, ARROW_MAGIC = b"PAR1", b"ARROW1"
IPC_COMPRESSION = ("zstd", 1)   # not lz4: docs/performance.md "zstd-1 or lz4, settled" (a 70% larger file to hash at every open)


class ComparisonFileError(SignoffError):
    """A stored comparison's file is missing, unreadable or not what was stored."""


def _is_uri(text: str) -> bool:
    scheme = urlparse(text).scheme
    return len(scheme) > 1   # "C:\\..." is a Windows path, not a URI


def configured_location(configured: str | None) -> str:
    """What was configured: `configured`, else SIGNOFF_COMPARISONS, else the settings'
    store.comparisons; "" when none of them says."""
    text = configured or os.environ.get(ENV_LOCATION) or ""
    if not text:
        from signoff.settings import configured_comparisons   # the Settings file's store section
        text = configured_comparisons()
    return text


def resolve_location(configured: str | None, default: Path) -> str:
    """The location as a URI: `configured`, else SIGNOFF_COMPARISONS, else the settings'
    store.comparisons, else `default` (a folder)."""
    text = configured_location(configured)
    if not text:
        return default.expanduser().resolve().as_uri()
    return text.rstrip("/") if _is_uri(text) else Path(text).expanduser().resolve().as_uri()


def _filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    try:
        return pafs.FileSystem.from_uri(uri)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, ValueError) as exc:
        raise ComparisonFileError(f"comparison location {uri} cannot be opened: {str(exc).splitlines()[0]}") from None


def row_group_rows(table: pa.Table) -> int:
    """Rows per row group: ~ROW_GROUP_BYTES of the table's Arrow data, within MIN_ROWS..MAX_ROWS."""
    per_row = table.nbytes / max(table.num_rows, 1)
    return int(min(MAX_ROWS, max(MIN_ROWS, ROW_GROUP_BYTES // max(per_row, 1))))


ARROW_BYTES_KEY = b"signoff.arrow_bytes"
BATCH_ROWS_KEY = b"signoff.batch_rows"   # the writer's step: at most this many rows a record batch (some fewer)


class _HashingSink:
    """A binary file that hashes what is written to it: the file's SHA-256 comes with the
    write, not from reading the file back."""

    def __init__(self, f):
        self.f, self.sha = f, hashlib.sha256()
        self.closed = False

    def write(self, data) -> int:
        self.sha.update(data)
        return self.f.write(data)

    def flush(self) -> None:
        self.f.flush()

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


def write_comparison(table: pa.Table, f) -> str:
    """The one way a comparison table is written: an Arrow IPC file into the binary file `f`,
    record batches of row_group_rows (paging), zstd on every core, with the table's Arrow size
    in its schema metadata (what opening it whole takes). Returns the SHA-256 of the bytes."""
    step = row_group_rows(table)
    meta = {**(table.schema.metadata or {}), ARROW_BYTES_KEY: str(table.nbytes).encode(),
            BATCH_ROWS_KEY: str(step).encode()}
    table = table.replace_schema_metadata(meta)
    sink = _HashingSink(f)
    options = ipc.IpcWriteOptions(compression=pa.Codec(*IPC_COMPRESSION), use_threads=True)
    with pa.PythonFile(sink, mode="w") as out, ipc.new_file(out, table.schema, options=options) as writer:
        for batch in table.to_batches(max_chunksize=step):
            writer.write_batch(batch)
    return sink.sha.hexdigest()


def dictionary_columns(schema: pa.Schema) -> list[str]:
    """Parquet dictionary encoding only where Arrow has a dictionary (class, categorical slices):
    on free text it saves little after zstd and makes reading 1.7x slower (1M samples:
    2.4 s against 1.4 s)."""
    return [f.name for f in schema if pa.types.is_dictionary(f.type)]


def _umask() -> int:
    """The process's umask, read without setting it (os.umask would change it for every thread)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def _same_device(path: str | Path, folder: str) -> bool:
    try:
        return os.stat(path).st_dev == os.stat(folder).st_dev
    except OSError:
        return False


def _sha256_of(stream) -> str:
    h = hashlib.sha256()
    while True:
        chunk = stream.read(HASH_CHUNK)
        if not chunk:
            return h.hexdigest()
        h.update(chunk)


def _sha256_mapped(path: str) -> str:
    """The SHA-256 of a local file hashed straight from the page cache, a window of HASH_WINDOW
    mapped at a time (no copy into Python bytes: ~15% less CPU than reading it, 1.6 GB in
    ~0.9 s; each window unmapped after it, so the process's resident memory grows by one window,
    not by the file)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        for offset in range(0, size, HASH_WINDOW):
            with mmap.mmap(f.fileno(), min(HASH_WINDOW, size - offset), access=mmap.ACCESS_READ,
                           offset=offset) as window:
                view = memoryview(window)
                try:
                    h.update(view)
                finally:
                    view.release()
    return h.hexdigest()


class ComparisonFiles:
    """The comparison files of one location (a URI)."""

    _verified: dict[tuple, str] = {}     # (uri, size, mtime) -> the SHA-256 its bytes had, per process
    _verified_lock = threading.Lock()

    def __init__(self, location: str):
        self.location = location.rstrip("/")

    def put(self, table: pa.Table) -> tuple[str, str]:
        """Write `table` (write_comparison), named by its hash: (URI, SHA-256 hex). Writing the
        same bytes again finds the file there and keeps it."""
        fs, base = _filesystem(self.location)
        local = isinstance(fs, pafs.LocalFileSystem)
        if local:
            os.makedirs(base, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".arrow.tmp", dir=base if local else None)
        try:
            with os.fdopen(fd, "wb") as f:
                sha = write_comparison(table, f)
            return self._place(tmp, fs, base, move=True, sha=sha, suffix=".arrow")
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    def put_file(self, path: str | Path, *, consume: bool = False) -> tuple[str, str]:
        """A comparison already written as a file (the out-of-core engine's Parquet), placed
        under its hash: (URI, SHA-256 hex). The file at `path` is copied and left as it is; with
        `consume`, a file on the location's own filesystem is renamed into place instead (the
        engine writes into scratch_dir() for that: no second copy of a file of gigabytes)."""
        fs, base = _filesystem(self.location)
        with open(path, "rb") as f:
            suffix = ".parquet" if f.read(len(PARQUET_MAGIC)) == PARQUET_MAGIC else ".arrow"
        move = consume and isinstance(fs, pafs.LocalFileSystem) and _same_device(path, base)
        return self._place(str(path), fs, base, move=move, suffix=suffix)

    def scratch_dir(self) -> str | None:
        """A folder on the location's filesystem to write a comparison file into before put_file
        (consume=True) renames it into place; None when the location is not a local folder."""
        fs, base = _filesystem(self.location)
        if not isinstance(fs, pafs.LocalFileSystem):
            return None
        try:
            os.makedirs(base, exist_ok=True)
        except OSError:
            return None      # put() says what is wrong with the location, in one line
        return base

    def _place(self, tmp: str, fs: pafs.FileSystem, base: str, *, move: bool, suffix: str,
               sha: str | None = None) -> tuple[str, str]:
        local = isinstance(fs, pafs.LocalFileSystem)
        try:
            if move:
                os.chmod(tmp, 0o666 & ~_umask())   # mkstemp's 0600 would keep other reviewers out
            if sha is None:
                with open(tmp, "rb") as f:
                    sha = _sha256_of(f)
            name = f"{sha[:2]}/{sha}{suffix}"
            path = f"{base}/{name}"
            if fs.get_file_info(path).type != pafs.FileType.File:
                fs.create_dir(f"{base}/{sha[:2]}", recursive=True)
                if local and move:
                    os.replace(tmp, path)
                else:   # through a temporary name: a reader never sees half a file under the hash
                    part = f"{path}.{os.getpid()}.part"
                    pafs.copy_files(tmp, part, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=fs)
                    fs.move(part, path)
        except OSError as exc:
            raise ComparisonFileError(f"cannot write the comparison to {self.location}: {exc}") from None
        return f"{self.location}/{name}", sha

    @classmethod
    def _info(cls, uri: str):
        fs, path = _filesystem(uri)
        info = fs.get_file_info(path)
        if info.type != pafs.FileType.File:
            raise ComparisonFileError(
                f"comparison file {uri} is missing: restore it, or point {ENV_LOCATION} at the shared "
                "location it was stored in")
        return fs, path, info, (uri, info.size, info.mtime_ns)

    @classmethod
    def _mismatch(cls, uri: str, found: str, sha256: str) -> ComparisonFileError:
        return ComparisonFileError(f"comparison file {uri} changed since it was stored (sha256 {found[:12]}…, "
                                   f"stored {sha256[:12]}…): restore the original or make the request again")

    @classmethod
    def _verified_once(cls, key: tuple, sha256: str) -> None:
        with cls._verified_lock:
            cls._verified[key] = sha256

    @classmethod
    def _known_as(cls, key: tuple, sha256: str) -> bool:
        """The file was hashed in this process and had `sha256` (a row naming another hash for the
        same file is checked again, and refused)."""
        return cls._verified.get(key) == sha256

    @classmethod
    def open(cls, uri: str, sha256: str) -> ComparisonSource:
        """The file at `uri`, after checking its bytes hash to `sha256`; ComparisonFileError
        (one line: which file, what is wrong, what to do) otherwise."""
        source, check = cls.open_checking(uri, sha256)
        if check is not None:
            check.wait()
        return source

    @classmethod
    def open_checking(cls, uri: str, sha256: str) -> tuple[ComparisonSource, "HashCheck | None"]:
        """The file at `uri` opened (its footer read) while its bytes are hashed on a thread of
        their own: (source, the check; None when this process checked it already). Nothing
        read from the source may be handed out before `check.wait()` returned (ComparisonPages
        waits for it in every read): the paged open reads its resident columns on one core
        while the other hashes (a 10M-sample file: ~1.1 s of hashing)."""
        fs, path, _info, key = cls._info(uri)
        check = None if cls._known_as(key, sha256) else HashCheck(fs, path, uri, sha256, key)
        try:
            return open_source(fs.open_input_file(path)), check
        except (OSError, pa.ArrowException) as exc:
            if check is not None:
                check.wait()   # a file that changed says so first
            raise ComparisonFileError(f"comparison file {uri} cannot be read: {str(exc).splitlines()[0]}") from None

    @classmethod
    def read(cls, uri: str, sha256: str, columns: list[str] | None = None) -> pa.Table:
        """Columns of the file at `uri` (those of `columns` it has; None: all), its hash checked.
        A file up to WHOLE_READ_BYTES is read once and hashed on a second core while it decodes
        (the window's open of a 1M-sample comparison: ~0.2 s less); a bigger one is hashed as a
        stream first, then only the columns asked for are read."""
        fs, path, info, key = cls._info(uri)
        if info.size > WHOLE_READ_BYTES or cls._known_as(key, sha256):
            return read_columns(cls.open(uri, sha256), columns)
        try:
            with fs.open_input_stream(path) as stream:
                data = stream.read()
            found: list[str] = []
            hasher = threading.Thread(target=lambda: found.append(hashlib.sha256(data).hexdigest()),
                                      name="comparison-hash", daemon=True)
            hasher.start()
            try:
                table = read_columns(open_source(pa.BufferReader(data)), columns)
            finally:
                hasher.join()
        except (OSError, pa.ArrowException) as exc:
            raise ComparisonFileError(f"comparison file {uri} cannot be read: {str(exc).splitlines()[0]}") from None
        if found[0] != sha256:
            raise cls._mismatch(uri, found[0], sha256)
        cls._verified_once(key, sha256)
        return table

    @classmethod
    def arrow_bytes(cls, uri: str) -> int:
        """What the file's table takes decoded, from its footer alone (not verified: it only
        chooses how to read the file, which is verified when read)."""
        fs, path, _info, _key = cls._info(uri)
        try:
            with fs.open_input_file(path) as f:
                return _file_arrow_bytes(open_source(f))
        except (OSError, pa.ArrowException) as exc:
            raise ComparisonFileError(f"comparison file {uri} cannot be read: {str(exc).splitlines()[0]}") from None


class HashCheck:
    """The SHA-256 of a comparison file, computed on a thread of its own (hashlib lets go of the
    GIL): `wait()` returns once the bytes hashed to the stored hash, else raises the
    ComparisonFileError ComparisonFiles.open would have raised."""

    def __init__(self, fs: pafs.FileSystem, path: str, uri: str, sha256: str, key: tuple):
        self._error: ComparisonFileError | None = None
        self._done = threading.Event()
        threading.Thread(target=self._run, args=(fs, path, uri, sha256, key), name="comparison-hash",
                         daemon=True).start()

    def _run(self, fs, path, uri, sha256, key) -> None:
        try:
            if isinstance(fs, pafs.LocalFileSystem):
                found = _sha256_mapped(path)
            else:
                with fs.open_input_stream(path) as stream:
                    found = _sha256_of(stream)
            if found != sha256:
                self._error = ComparisonFiles._mismatch(uri, found, sha256)
            else:
                ComparisonFiles._verified_once(key, sha256)
        except (OSError, ValueError, pa.ArrowException) as exc:
            self._error = ComparisonFileError(f"comparison file {uri} cannot be read: {str(exc).splitlines()[0]}")
        except BaseException as exc:   # never leave a waiter waiting
            self._error = ComparisonFileError(f"comparison file {uri} could not be checked: {exc}")
        finally:
            self._done.set()

    def wait(self) -> None:
        self._done.wait()
        if self._error is not None:
            raise self._error


class IpcComparison:
    """An Arrow IPC comparison file read the way ComparisonPages reads a ParquetFile: its record
    batches are the row groups, and only the columns asked for are read and decompressed
    (IpcReadOptions.included_fields)."""

    def __init__(self, source: pa.NativeFile):
        self._source = source
        self._readers: dict[tuple, ipc.RecordBatchFileReader] = {}
        whole = self._reader(None)
        self.schema_arrow = whole.schema
        self.batches = whole.num_record_batches
        self._group_rows: list[int] | None = None

    @property
    def group_rows(self) -> list[int]:
        """Rows of each record batch, read from every batch's smallest column (~20-40 ms for the
        153 batches of a 10M-sample file, from the page cache). Not from the writer's step
        (BATCH_ROWS_KEY): a table whose chunks do not line up with it is written in shorter
        batches where a chunk ends, and rows placed by the step would show another sample's
        text from there on (measured: 10M rows, batch 58 of 63,047 rows, position 3,900,000
        read sample s3897511). Reading the footer alone (`arrow_bytes`) does not need them."""
        if self._group_rows is None:
            small = (min(self.schema_arrow, key=_read_cost).name,) if len(self.schema_arrow) else None
            reader = self._reader(small)
            self._group_rows = [reader.get_batch(i).num_rows for i in range(self.batches)]
        return self._group_rows

    def fork(self) -> "IpcComparison":
        """The same file with readers of its own (a thread's): pyarrow's IPC readers are not shared
        across threads, the file's positioned reads (ReadAt) are, on every pyarrow filesystem."""
        twin = object.__new__(IpcComparison)
        twin._source, twin._readers = self._source, {}
        twin.schema_arrow, twin.batches, twin._group_rows = self.schema_arrow, self.batches, self.group_rows
        return twin

    def _reader(self, columns: tuple[str, ...] | None) -> ipc.RecordBatchFileReader:
        found = self._readers.get(columns)
        if found is None:
            fields = None if columns is None else sorted(self.schema_arrow.get_field_index(c) for c in columns)
            options = ipc.IpcReadOptions(use_threads=True, **({} if fields is None else {"included_fields": fields}))
            found = self._readers[columns] = ipc.open_file(self._source, options=options)
        return found

    def _columns(self, columns: list[str] | None) -> tuple[str, ...] | None:
        return None if columns is None else tuple(c for c in columns if c in self.schema_arrow.names)

    def read_row_group(self, i: int, columns: list[str] | None = None) -> pa.Table:
        cols = self._columns(columns)
        batch = pa.Table.from_batches([self._reader(cols).get_batch(i)])
        return batch if cols is None else batch.select(list(cols))

    def read(self, columns: list[str] | None = None) -> pa.Table:
        cols = self._columns(columns)
        table = self._reader(cols).read_all()
        return table if cols is None else table.select(list(cols))


class ParquetComparison(pq.ParquetFile):
    """A Parquet comparison file that can be read by several threads at once (`fork`)."""

    def __init__(self, source: pa.NativeFile, metadata=None):
        super().__init__(source, metadata=metadata)
        self._source = source

    def fork(self) -> "ParquetComparison":
        """The same file with a reader of its own (its footer not read again)."""
        return ParquetComparison(self._source, metadata=self.metadata)


ComparisonSource = ParquetComparison | IpcComparison


def _read_cost(field: pa.Field) -> int:
    """Bytes a row of the field takes to read, about (fixed width first, text last)."""
    try:
        return max(field.type.bit_width // 8, 1) + pa.types.is_dictionary(field.type)
    except ValueError:
        return 64


def _file_arrow_bytes(source: ComparisonSource) -> int:
    """What a comparison file's table takes decoded, from its footer: as written, else Parquet's
    uncompressed size (a file written without it)."""
    written = (source.schema_arrow.metadata or {}).get(ARROW_BYTES_KEY)
    if written is not None:
        return int(written)
    meta = source.metadata
    return sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))


def open_source(source: pa.NativeFile) -> ComparisonSource:
    """A comparison file by its magic bytes: Parquet (files before Arrow IPC, the out-of-core
    engine's) or Arrow IPC."""
    head = source.read_at(len(ARROW_MAGIC), 0) if source.size() >= len(ARROW_MAGIC) else b""
    if head.startswith(ARROW_MAGIC):
        return IpcComparison(source)
    if head.startswith(PARQUET_MAGIC):
        return ParquetComparison(source)
    raise pa.ArrowInvalid("neither an Arrow IPC file nor Parquet")


def read_columns(source: ComparisonSource, columns: list[str] | None) -> pa.Table:
    """Whole columns of a comparison file (`columns`: those of them it has), as compare() built
    them (signoff.core.stored_table.restore_outputs)."""
    return restored_columns(source.read(columns=stored_columns(source.schema_arrow.names, columns)), columns)


class ComparisonPages:
    """A stored comparison read by row group: whole columns when asked (`columns`), single
    values through a cache of decoded row groups bounded by PAGE_BUDGET (`value`), and
    every row group in turn (`batches`, for a scan such as the search). Thread-safe: the
    window reads a sample while a worker scans.

    Over a comparison file (open_source: Arrow IPC, its record batches as row groups, or
    Parquet) or, for comparisons stored before files, an Arrow table held in memory, sliced
    into row groups the same way."""

    def __init__(self, source: ComparisonSource | pa.Table, budget: int = PAGE_BUDGET,
                 check: HashCheck | None = None):
        self._check = check    # the file's hash, still being checked: every read waits for it
        self._file = None if isinstance(source, pa.Table) else source
        self._table = restore_outputs(source) if isinstance(source, pa.Table) else None
        self._stored = source.schema_arrow.names if self._file is not None else self._table.schema.names
        schema = source.schema_arrow if self._file is not None else self._table.schema
        self.schema = schema.remove(schema.get_field_index(SAME_COLUMN)) if SAME_COLUMN in schema.names else schema
        self.kinds = column_kinds(self.schema)
        self.names = list(self.schema.names)
        if isinstance(self._file, IpcComparison):
            sizes = self._file.group_rows
        elif self._file is not None:
            meta = self._file.metadata
            sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        else:
            step = row_group_rows(self._table)
            sizes = [min(step, self._table.num_rows - lo) for lo in range(0, self._table.num_rows, step)]
        self.starts = [0]
        for n in sizes:
            self.starts.append(self.starts[-1] + n)
        self.rows = self.starts[-1]
        self.budget = budget
        self._cache: OrderedDict[tuple, pa.Table] = OrderedDict()
        self._cached = 0
        self._lock = threading.Lock()

    @property
    def groups(self) -> int:
        return len(self.starts) - 1

    @property
    def arrow_bytes(self) -> int:
        """What the whole table takes decoded (as written; Parquet's uncompressed size of a file
        written without it)."""
        return self._table.nbytes if self._file is None else _file_arrow_bytes(self._file)

    def verified(self) -> None:
        """Returns once the file's bytes hashed to the stored hash (at once when they were
        checked before); ComparisonFileError otherwise. Every read below comes after it."""
        check = self._check
        if check is not None:
            check.wait()
            self._check = None

    def _read_group(self, i: int, columns: list[str], *, stored: bool = False, reader=None) -> pa.Table:
        """A row group's `columns` as compare() built them (stored_table.restore_outputs), or with
        `stored` as the file holds them: candidate_output null where it equals baseline_output,
        SAME_COLUMN beside it when the file has one. `reader`: a fork of the file, this thread's
        own (read without the shared lock)."""
        self.verified()
        if self._file is None:
            return self._table.select(columns).slice(self.starts[i], self.starts[i + 1] - self.starts[i])
        if stored:
            wanted = columns + [SAME_COLUMN] if "candidate_output" in columns and SAME_COLUMN in self._stored else columns
        else:
            wanted = stored_columns(self._stored, columns)
        if reader is not None:
            group = reader.read_row_group(i, columns=wanted)
        else:
            with self._lock:
                group = self._file.read_row_group(i, columns=wanted)
        return group if stored else restored_columns(group, columns)

    def columns(self, columns: list[str]) -> pa.Table:
        """Whole columns (those of `columns` the table has), all rows."""
        self.verified()
        return self._columns(columns)

    def _columns(self, columns: list[str]) -> pa.Table:
        cols = [c for c in columns if c in self.names]
        if self._file is not None:
            with self._lock:
                return restored_columns(self._file.read(columns=stored_columns(self._stored, cols)), cols)
        return self._table.select(cols)

    def resident(self, columns: list[str], *, wait: bool = True, encode: tuple[str, ...] = ()) -> pa.Table:
        """Whole columns for a table to hold, read one at a time with text as large_string (what
        pandas holds: converting a string column in to_pandas would copy it beside the original).
        The text columns of `encode` (slices: a few values over every row) are held as
        dictionaries when they have no nulls (a 10M-row slice: ~10 MB of codes, not ~150 MB of
        text; the table factorizes it from its codes). Each column is read and converted a row
        group at a time (`_resident_column`). Read while the file's hash may still be being
        checked on the other core; given back once it matched, or with `wait=False` at once:
        then nothing of it may be shown or counted before `verified()` returned (the window's
        paged open builds its table meanwhile)."""
        out = {}
        for name in [c for c in columns if c in self.names]:
            out[name] = self._resident_column(name, name in encode)
        if wait:
            self.verified()
        return pa.table(out).replace_schema_metadata(self.schema.metadata)

    def _resident_column(self, name: str, encode: bool) -> pa.ChunkedArray:
        """One column, converted as it is read: a row group's text cast or encoded before the next
        is read. Read whole and converted after, the open held the column twice at its peak
        (10M ids: their 4-byte offsets beside the 8-byte ones; a slice's whole text beside its
        codes: +68 MiB at 3M rows of bench_scale's text, +53 a row group at a time)."""
        if self._file is None:
            parts = [self._table.column(name)]
        elif pa.types.is_floating(self.schema.field(name).type):
            return self._resident_floats(name)
        else:
            parts = (self._unchecked_group(i, name) for i in range(self.groups))
        chunks, coded, typ = [], encode, None
        for part in parts:
            text = pa.types.is_string(part.type) or pa.types.is_large_string(part.type)
            coded = coded and text   # a column stored as a dictionary is kept as stored
            if text and coded and not part.null_count:
                part = part.dictionary_encode()
            elif text:
                if coded and chunks:   # a null after all: the slice held as text, as before
                    chunks = [_large_text(c.dictionary_decode()) for c in chunks]
                coded = False
                part = pa.chunked_array([_large_text(c) for c in part.chunks], pa.large_string())
            chunks += part.chunks
            typ = part.type
        col = pa.chunked_array(chunks, typ) if typ is not None else self._columns([name]).column(0)
        if coded and pa.types.is_dictionary(col.type):
            col = _small_dictionary(col)
        return col

    def _resident_floats(self, name: str) -> pa.ChunkedArray:
        """A float column as one chunk over a numpy array filled a row group at a time, nulls as
        NaN (what the frame holds): a frame made with `to_pandas(split_blocks=True)` holds that
        array itself. Read in chunks, to_pandas copied them into a second one (10M deltas: 80 MB
        beside the 80 MB read, the open's peak)."""
        import numpy as np

        typ = self.schema.field(name).type
        out = np.empty(self.rows, dtype=typ.to_pandas_dtype())
        for i in range(self.groups):
            part = self._unchecked_group(i, name)
            at = self.starts[i]
            for chunk in part.chunks:
                out[at:at + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
                at += len(chunk)
        return pa.chunked_array([pa.array(out, typ)], typ)

    def _unchecked_group(self, i: int, name: str) -> pa.ChunkedArray:
        """Row group `i` of a resident column, before the file's hash may have been checked
        (`resident`'s caller shows nothing of it until then)."""
        with self._lock:
            return self._file.read_row_group(i, columns=[name]).column(0)

    def group_of(self, pos: int) -> int:
        return bisect.bisect_right(self.starts, int(pos)) - 1

    def page(self, group: int, columns: tuple[str, ...]) -> pa.Table:
        """Row group `group` of `columns`, decoded once and kept while the budget allows."""
        key = (group, columns)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
        page = self._read_group(group, list(columns))
        with self._lock:
            if key not in self._cache:
                self._cache[key] = page
                self._cached += page.nbytes
                while self._cached > self.budget and len(self._cache) > 1:
                    _, old = self._cache.popitem(last=False)
                    self._cached -= old.nbytes
        return page

    @property
    def cached_bytes(self) -> int:
        return self._cached

    def value(self, column: str, pos: int, page_columns: tuple[str, ...] | None = None):
        """One cell as the frame held it (JSON columns decoded). `page_columns`: the columns
        decoded with it (a sample's detail reads them all from one row group)."""
        group = self.group_of(pos)
        cols = page_columns if page_columns is not None and column in page_columns else (column,)
        page = self.page(group, cols)
        value = page.column(column)[int(pos) - self.starts[group]].as_py()
        return decode_value(self.kinds.get(column), value)

    def batches(self, columns: list[str], *, stored: bool = False, ahead: int = 0):
        """(first row, row group as a table of `columns`) for every row group in file order; not
        cached. `stored`: the columns as the file holds them (_read_group). `ahead`: the next row
        groups decoded on up to `ahead` threads, each with its own reader of the file, while the
        caller uses the current one (at most ahead + 1 decoded at a time, given in order);
        closing the generator cancels the reads not started and waits for those running."""
        cols = [c for c in columns if c in self.names]
        if ahead <= 0 or self.groups < 2:
            for i in range(self.groups):
                yield self.starts[i], self._read_group(i, cols, stored=stored)
            return
        own = threading.local()

        def read(i: int) -> tuple[int, pa.Table]:
            reader = getattr(own, "reader", None)
            if reader is None and self._file is not None:
                reader = own.reader = self._file.fork()
            return self.starts[i], self._read_group(i, cols, stored=stored, reader=reader)

        pool = ThreadPoolExecutor(ahead, thread_name_prefix="pages-read")
        try:
            pending = collections.deque(pool.submit(read, i) for i in range(min(ahead, self.groups)))
            following = len(pending)
            while pending:
                item = pending.popleft().result()
                if following < self.groups:
                    pending.append(pool.submit(read, following))
                    following += 1
                yield item
                del item      # the caller's row group is the only one it holds: ahead + 1 alive
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _large_text(chunk: pa.Array) -> pa.Array:
    """A text chunk as large_string with its bytes shared, only the offsets widened (numpy: one
    allocation the array keeps). Arrow's cast does the same through its pool, which, among the
    freed read buffers, held ~70 MB more for the 10M ids of tests/ui/paged_open.py (+256 against
    +184 MiB, for 152 MiB of ids)."""
    import numpy as np   # not at import: the command line's start-up does not need it

    if not pa.types.is_string(chunk.type) or chunk.offset or not len(chunk):
        return chunk.cast(pa.large_string())
    validity, offsets, data = chunk.buffers()
    wide = np.frombuffer(offsets, np.int32, count=len(chunk) + 1).astype(np.int64)
    return pa.Array.from_buffers(pa.large_string(), len(chunk), [validity, pa.py_buffer(wide), data],
                                 chunk.null_count)


def _small_dictionary(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """A text column dictionary-encoded (one dictionary for every chunk, in order of first
    appearance), its indices in the smallest integer type that holds them. A column encoded
    chunk by chunk is given one dictionary here (Table.unify_dictionaries)."""
    encoded = col if pa.types.is_dictionary(col.type) else col.dictionary_encode()
    if not encoded.num_chunks:
        return encoded
    encoded = pa.table({"c": encoded}).unify_dictionaries().column(0)
    size = len(encoded.chunks[-1].dictionary)
    index = pa.int8() if size <= 127 else pa.int16() if size <= 32_767 else pa.int32()
    return pa.chunked_array([pa.DictionaryArray.from_arrays(c.indices.cast(index), c.dictionary)
                             for c in encoded.chunks], pa.dictionary(index, encoded.type.value_type))


@dataclass
class PagedComparison:
    """A comparison too big to hold whole (ReviewService.comparison_view): the columns the
    table needs for every row (`frame`: ids, classes, scores' delta, slices) and the rest
    read by row group as needed (`pages`).

    `frame` is read while the file's hash is still being checked on another core (a 10M-sample
    file: ~1.1 s): nothing of it is shown or counted before `verified()` returned, which raises
    ComparisonFileError for a file that changed (SampleTableModel.prepare waits for it last;
    every read of `pages` waits for it by itself)."""

    frame: object          # pandas.DataFrame
    pages: ComparisonPages

    def verified(self) -> None:
        self.pages.verified()
