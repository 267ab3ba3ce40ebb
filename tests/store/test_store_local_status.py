"""The local status sink's records: what `signoff status` reads with no forge."""

from __future__ import annotations

SHA = "9" * 40


def test_local_statuses_oldest_first(store):
    store.record_local_status(repo="acme/model", sha=SHA, context="signoff/review", state="pending",
                              description="awaiting review: 0/2 SME")
    store.record_local_status(repo="acme/model", sha="8" * 40, context="signoff/review", state="pending",
                              description="other commit")
    store.record_local_status(repo="acme/model", sha=SHA, context="signoff/review", state="approved",
                              description="approved", target_url="file:///tmp/report.html")
    got = store.local_statuses(SHA)
    assert [s["state"] for s in got] == ["pending", "approved"]
    assert got[1]["target_url"] == "file:///tmp/report.html" and got[0]["target_url"] == ""
    assert got[0]["repo"] == "acme/model" and got[0]["context"] == "signoff/review"
    assert got[0]["created_at"].tzinfo is not None and got[0]["created_at"] <= got[1]["created_at"]
    assert [s["state"] for s in store.local_statuses(SHA[:7])] == ["pending", "approved"]
    assert store.local_statuses("7" * 40) == []
