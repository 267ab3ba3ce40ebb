"""Sample id -> row position over a million ids, without a million Python strings.

A pandas Index of 1,000,000 string ids costs about 100 MB and a second to
build (it materialises every id as a Python object). This keeps the ids in
the Arrow array they came in and adds one int64 array: the row positions in
id order (`pyarrow.compute.sort_indices`, which runs without the GIL, so
`start()` builds it on a spare core once the window's table is interactive). A
look-up is a binary search: about 20 Arrow scalar reads, well under a millisecond;
before the sort is there, a scan of the ids (~30 ms at 10M rows), never a wait for it.

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
        self._order: np.ndarray | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def start(self) -> "IdLookup":
        """Sort on a background thread now (look-ups wait for it if they come first)."""
        with self._lock:
            if self._order is None and self._thread is None and len(self.ids):
                self._thread = threading.Thread(target=self._build, name="id-lookup", daemon=True)
                self._thread.start()
        return self

    def _build(self) -> None:
        order = pc.sort_indices(self.ids).to_numpy()
        if len(order) < 2**31:
            order = order.astype(np.int32)   # half the memory; positions fit
        with self._lock:
            if self._order is None:
                self._order = order

    def sorted_positions(self) -> np.ndarray:
        """Row positions in id order."""
        order = self._order
        if order is not None:
            return order
        thread = self._thread
        if thread is not None:
            thread.join()
        if self._order is None:
            self._build()
        return self._order

    @property
    def ready(self) -> bool:
        """The sorted order is built: a look-up is a binary search."""
        return self._order is not None

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
        order = self._order
        if order is None:
            self.start()
            return self._scan(key)
        ids = self.ids
        lo, hi = 0, len(order)
        while lo < hi:  # first position whose id >= key (nulls sort last: treat as greater)
            mid = (lo + hi) // 2
            value = ids[int(order[mid])].as_py()
            if value is not None and value < key:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(order) and ids[int(order[lo])].as_py() == key:
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
