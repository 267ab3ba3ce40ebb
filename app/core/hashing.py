"""Content hashes: what makes earlier approvals stale."""

from __future__ import annotations

import hashlib
import json
from typing import Iterable


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def combine_hashes(parts: Iterable[str]) -> str:
    h = hashlib.sha256()
    for p in sorted(parts):
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()


def canonical_json(value) -> str:
    """One text per value: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
