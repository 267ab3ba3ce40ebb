"""`signoff inspect --files DIR_OR_FILE`: a drop of prediction files as the production
population (FilesSource.production; app/service/inspection.py samples and reviews it)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import pandas as pd

from signoff.core.errors import InputError
from signoff.plugin_api import Population
from signoff.plugins.common.production import FILE_FORMATS, utc
from signoff.plugins.common.tables import read_table


def from_files(path: str, *, since: timedelta | None, now: datetime) -> Population:
    path = os.path.abspath(os.path.expanduser(path))
    if os.path.isdir(path):
        names = sorted(os.path.join(path, n) for n in os.listdir(path) if n.lower().endswith(FILE_FORMATS))
        if not names:
            raise InputError(f"{path} holds no prediction files ({', '.join(FILE_FORMATS)})")
    elif os.path.isfile(path):
        names = [path]
    else:
        raise InputError(f"--files {path}: no such file or folder")
    frames = []
    for name in names:
        with open(name, "rb") as f:
            frame = read_table(f.read(), os.path.basename(name), where=f"({os.path.dirname(name)})",
                               text_columns=["id"])
        missing = [c for c in ("id", "output") if c not in frame.columns]
        if missing:
            raise InputError(f"{name}: no {' and no '.join(missing)} column (a prediction file has id, input, "
                             f"output, and optionally reference, timestamp, shadow_output)")
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    frame["id"] = frame["id"].astype(str)
    dup = frame["id"][frame["id"].duplicated()].unique()[:5].tolist()
    if dup:
        raise InputError(f"--files {path}: duplicate prediction ids: {', '.join(dup)}")
    if since is not None:
        if "timestamp" not in frame.columns:
            raise InputError(f"--since needs a timestamp column in the prediction files ({path} has none)")
        try:
            stamps = frame["timestamp"].map(utc)
        except (ValueError, TypeError) as exc:
            raise InputError(f"--files {path}: a timestamp is not a date ({exc})") from None
        frame = frame[stamps.map(lambda t: t is not None and t >= pd.Timestamp(now - since))]
    return Population(frame=frame, subject=f"files:{path}", source="files", files=path,
                      title=f"inspection of {os.path.basename(path)}")
