"""Sample id -> row position over a million ids, without a million Python strings.

A pandas Index of 1,000,000 string ids costs about 100 MB and a second to
build (it materialises every id as a Python object). This keeps the ids in
the Arrow array they came in and adds one int32 array: the row positions in
id order, sorted a run of RUN_ROWS ids at a time (`pyarrow.compute.sort_indices`,
which runs without the GIL, so `start()` builds it on a spare core once the window's
table is interactive). A look-up is a binary search in each run: ~18 Arrow scalar reads
a run, ~0.4 ms at 10M rows; before the sort is there, a scan of the ids
(~30 ms at 10M rows), never a wait for it. The whole column in id order (a table sorted
by id, `sorted_positions`) merges the runs, a bucket of the ids' range at a time, when first
asked for.

Bulk questions ("which rows carry one of these 5,000 ids?") do not need the
order at all: `mask_of` / `positions_of` hash the small set instead
(`pyarrow.compute.is_in` / `index_in` over the ids, ~50 ms per million rows).

    ids = IdLookup.shared(frame["id"])   # one per Arrow column, whoever asks
    ids.start()                       # optional: sort in the background now (else the first look-up starts it)
    ids.position("s0001234")          # -> 1234 or None
    ids.mask_of(["s1", "s2"])         # -> bool per row
"""

from __future__ import annotations

import threading
import weakref

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from signoff.core.arrow import arrow_of


def as_text_array(values) -> pa.ChunkedArray:
    """Ids as an Arrow string array (a pandas Series, an Arrow array or a list)."""
    arr = arrow_of(values)
    if arr is None:
        array = getattr(values, "array", values)
        try:
            arr = pa.chunked_array([pa.array(array)])
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            arr = pa.chunked_array([pa.array([None if v is None else str(v) for v in array], pa.large_string())])
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pc.cast(arr, pa.large_string())
    return arr


RUN_ROWS = 1 << 18   # ids sorted at a time (the sort's 8-byte scratch is of a run, not of the table)
SAMPLE_PER_RUN = 64  # ids of each run that choose where the merge splits the ids' range

_SHARED: "weakref.WeakValueDictionary[int, IdLookup]" = weakref.WeakValueDictionary()
_SHARED_LOCK = threading.Lock()


class IdLookup:
    @classmethod
    def shared(cls, ids) -> "IdLookup":
        """The look-up of these ids, shared by everyone holding the same Arrow column (the
        service's cache and the window's table hold one frame: one sort, not two). Keyed by
        the array's identity, which cannot be reused while the look-up keeps the array alive."""
        arr = as_text_array(ids)
        with _SHARED_LOCK:
            found = _SHARED.get(id(arr))
            if found is None or found.ids is not arr:
                found = cls(arr)
                _SHARED[id(arr)] = found
            return found

    def __init__(self, ids):
        self.ids = as_text_array(ids)
        # (order, runs): row positions, each run of them in id order, and the (first, end) of
        # each run in order. One attribute, replaced whole: a reader never sees an order with
        # another order's runs.
        self._sorted: tuple[np.ndarray, list[tuple[int, int]]] | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def start(self) -> "IdLookup":
        """Sort on a background thread now (look-ups wait for it if they come first)."""
        with self._lock:
            if self._sorted is None and self._thread is None and len(self.ids):
                self._thread = threading.Thread(target=self._build, name="id-lookup", daemon=True)
                self._thread.start()
        return self

    def _build(self) -> None:
        """The ids sorted RUN_ROWS at a time into one int32 array of positions. pyarrow's sort of
        a whole column gives 8-byte indices and holds as many again while it merges its chunks.
        10M ids as the bench's (`s000000000`.., shuffled as worst-first leaves them), whole
        against runs (processes of their own, A/B alternated, load ~2): peak +230 against +81 MiB (the
        int32 order's 38 MiB included), 7.6-9.1 s against 2.3-2.5 s of one core; ids already in
        order 0.77 against 0.56 s. A look-up searches each run (~40 at 10M, 0.4 ms), runs in
        row order: the first row of an id is in the first run holding it."""
        n = len(self.ids)
        order = np.empty(n, dtype=np.int32 if n < 2**31 else np.int64)
        runs = []
        for first in range(0, n, RUN_ROWS):
            part = pc.sort_indices(self.ids.slice(first, RUN_ROWS)).to_numpy()
            end = first + len(part)
            np.copyto(order[first:end], part, casting="unsafe")   # < RUN_ROWS: fits
            order[first:end] += first
            runs.append((first, end))
            del part
        self._publish(order, runs)

    def _publish(self, order: np.ndarray, runs: list[tuple[int, int]]) -> None:
        """Keeps the order with the fewest runs: the background build finishing after a
        merged order was made (`sorted_positions`) does not replace it."""
        with self._lock:
            if self._sorted is None or len(runs) < len(self._sorted[1]):
                self._sorted = (order, runs)

    def _built(self) -> tuple[np.ndarray, list[tuple[int, int]]]:
        """The order and its runs, built now if no thread is building them."""
        if self._sorted is None:
            thread = self._thread
            if thread is not None:
                thread.join()
            if self._sorted is None:
                self._build()
        return self._sorted

    def wait(self) -> "IdLookup":
        """Returns once look-ups are binary searches (the runs built, here if not started)."""
        self._built()
        return self

    def sorted_positions(self) -> np.ndarray:
        """Row positions in id order (ties in row order): the table sorted by id. The runs
        merged (`_merge`), kept as the look-up's single run; made when first asked for (the
        window asks on its sort worker)."""
        order, runs = self._built()
        if len(runs) > 1:
            merged = self._merge(order, runs)
            self._publish(merged, [(0, len(merged))])
            order, runs = self._sorted
        return order

    def _merge(self, order: np.ndarray, runs: list[tuple[int, int]]) -> np.ndarray:
        """The sorted runs merged, a bucket of the ids' range at a time: a few ids sampled from
        every run split the range into ~one bucket per run; each run is cut where it reaches a
        splitter (a binary search), and a bucket, a sorted piece of every run in row order, is
        sorted by itself (stable: ties stay in row order). Against one sort of the whole column
        (10M shuffled ids as the bench's, processes of their own, A/B alternated, load ~2.3):
        1.55-1.73 against 6.6-7.3 s, peak +53 against +116 MiB (a bucket's ids and the int32
        order, not 8-byte indices of every row). Ids mostly alike make few buckets: as slow as
        the whole sort at worst, never wrong."""
        ids = self.ids
        sample: list[str] = []
        for first, end in runs:
            step = max(1, (end - first) // SAMPLE_PER_RUN)
            sample.extend(v for v in ids.take(pa.array(order[first:end:step])).to_pylist() if v is not None)
        sample.sort()
        buckets = len(runs)
        splitters = sorted({sample[len(sample) * i // buckets] for i in range(1, buckets)}) if sample else []
        cuts = [[first, *(self._first_at_least(order, first, end, key) for key in splitters), end]
                for first, end in runs]
        out = np.empty_like(order)
        at = 0
        for b in range(len(splitters) + 1):
            part = np.concatenate([order[c[b]:c[b + 1]] for c in cuts])
            if len(part):
                local = pc.sort_indices(ids.take(pa.array(part))).to_numpy()
                out[at:at + len(part)] = part[local]
                at += len(part)
            del part
        return out

    def _first_at_least(self, order: np.ndarray, lo: int, hi: int, key: str) -> int:
        """In the run order[lo:hi]: the first place whose id is >= key (nulls sort last: greater)."""
        ids = self.ids
        while lo < hi:
            mid = (lo + hi) // 2
            value = ids[int(order[mid])].as_py()
            if value is not None and value < key:
                lo = mid + 1
            else:
                hi = mid
        return lo

    @property
    def in_id_order(self) -> bool:
        """sorted_positions() is at hand (the ids sorted as one run), not a sort to wait for."""
        built = self._sorted
        return not len(self.ids) or (built is not None and len(built[1]) == 1)

    @property
    def ready(self) -> bool:
        """The sorted order is built: a look-up is a binary search."""
        return self._sorted is not None

    def _scan(self, key: str) -> int | None:
        """The first row whose id is `key`, by comparing every id (~30 ms at 10M rows, without
        the GIL): what a look-up does while the sort is not there yet."""
        at = 0
        for chunk in self.ids.chunks:
            hits = pc.indices_nonzero(pc.fill_null(pc.equal(chunk, key), False))
            if len(hits):
                return at + int(hits[0].as_py())
            at += len(chunk)
        return None

    def position(self, sample_id) -> int | None:
        """The row of `sample_id` (the first, if an id repeats), or None. Before the sort is
        built (a big table's open leaves it for later, `start`) the ids are scanned instead
        of waiting for it, and the sort is started."""
        if not len(self.ids):
            return None
        key = str(sample_id)
        built = self._sorted
        if built is None:
            self.start()
            return self._scan(key)
        order, runs = built
        ids = self.ids
        for first, end in runs:      # rows in order: the first run holding the id has its first row
            lo = self._first_at_least(order, first, end, key)
            if lo < end and ids[int(order[lo])].as_py() == key:
                return int(order[lo])
        return None

    def __contains__(self, sample_id) -> bool:
        return self.position(sample_id) is not None

    def value(self, position: int) -> str:
        return self.ids[int(position)].as_py()

    def mask_of(self, sample_ids) -> np.ndarray:
        """Per row: is its id one of `sample_ids`."""
        wanted = pa.array([str(s) for s in sample_ids], pa.large_string()) if not isinstance(sample_ids, pa.Array) \
            else sample_ids
        if not len(self.ids):
            return np.zeros(0, dtype=bool)
        if not len(wanted):
            return np.zeros(len(self.ids), dtype=bool)
        return pc.is_in(self.ids, value_set=pc.cast(wanted, self.ids.type)).to_numpy(zero_copy_only=False)

    def positions_of(self, sample_ids: list[str]) -> dict[str, int]:
        """{id: row} for those of `sample_ids` present (the first row of a repeated id)."""
        sample_ids = [str(s) for s in sample_ids]
        if not sample_ids or not len(self.ids):
            return {}
        wanted = pa.array(sample_ids, self.ids.type)
        which = pc.index_in(self.ids, value_set=wanted).to_numpy(zero_copy_only=False)
        which = np.where(np.isnan(which), -1, which).astype(np.int64) if which.dtype.kind == "f" else which
        rows = np.flatnonzero(which >= 0)
        out: dict[str, int] = {}
        for row, k in zip(rows.tolist(), which[rows].tolist()):
            out.setdefault(sample_ids[k], row)
        return out
