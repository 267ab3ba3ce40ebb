"""The samples file's other columns (slices, free columns) and the names they take in the
comparison: one rule for the loaders (plugins/common/evalset.py) and the out-of-core engine's
views (app/service/file_inputs.py), so both engines store the same columns."""

from __future__ import annotations

from .compare import BASE_COLUMNS, PREDICTION_PREFIXES
from .errors import InputError

RESERVED = set(BASE_COLUMNS) | {"output", "score"}   # names the comparison uses itself


def _taken(name) -> bool:
    name = str(name)
    return name in RESERVED or name.endswith("_bytes") or name.startswith(PREDICTION_PREFIXES)


def other_sample_columns(spec, names: list, label: str) -> dict:
    """{column of the samples file: its name in the comparison} for the columns besides id,
    input and reference: the spec's slices (each must be there, under a name of its own), else
    every other column (one named like the comparison's own kept as sample_<name>)."""
    if spec.slices:
        missing = [c for c in spec.slices if c not in names]
        if missing:
            raise InputError(f"{label} has no slice column {', '.join(map(repr, missing))} named in signoff.toml "
                             f"(its columns: {', '.join(map(str, names))})")
        for col in spec.slices:
            if _taken(col):
                raise InputError(f"{label}: slice column {col!r} has a name the comparison uses itself; rename it")
        return {col: col for col in spec.slices}
    mapped = {spec.id_column, spec.input_column, spec.reference_column}
    return {col: f"sample_{col}" if _taken(col) else col for col in names if col not in mapped}
