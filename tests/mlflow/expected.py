"""The change classes of two logged versions, counted without Signoff (a plain loop over
what tests/mlflow/fill_server.py logged), for the tests to compare Signoff's counts with."""

from __future__ import annotations


def expected_classes(base_rows, cand_rows, sample_ids=None, scored=False) -> dict[str, int]:
    """Plain loop over what the fill script logged. Rows: (id, reference, output[, score])."""
    base = {str(r[0]): r for r in base_rows}
    cand = {str(r[0]): r for r in cand_rows}
    ids = set(base) | set(cand) | set(sample_ids or ())
    counts = {"unchanged": 0, "changed": 0, "improved": 0, "regressed": 0, "missing": 0}
    for i in ids:
        if i not in base or i not in cand or (sample_ids is not None and i not in sample_ids):
            counts["missing"] += 1
            continue
        b, c = base[i], cand[i]
        if str(b[2]).strip() == str(c[2]).strip():
            counts["unchanged"] += 1
            continue
        if scored:
            b_score, c_score = float(b[3]), float(c[3])
        else:
            b_score, c_score = float(str(b[2]) == str(b[1])), float(str(c[2]) == str(c[1]))
        if c_score > b_score:
            counts["improved"] += 1
        elif c_score < b_score:
            counts["regressed"] += 1
        else:
            counts["changed"] += 1
    return counts
