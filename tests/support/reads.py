"""Counting the reads of stored comparison files: a new request's first open takes the table
the service just wrote from memory (ReviewService._prime), which tests check by these counts."""

from __future__ import annotations


def comparison_reads(monkeypatch) -> list:
    """A list that gets the arguments of every ComparisonFiles.read from now on (the reads go through)."""
    from signoff.store.comparison_files import ComparisonFiles

    reads: list = []
    real = ComparisonFiles.read.__func__
    monkeypatch.setattr(ComparisonFiles, "read", classmethod(lambda cls, *a, **k: reads.append(a) or real(cls, *a, **k)))
    return reads
