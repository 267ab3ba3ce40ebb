"""Where the store is and which schema this code expects, without SQLAlchemy or alembic: what
`signoff status` reads before anything heavy is imported (app/store/kept_read.py), and what
db.py and migrate.py build on."""

from __future__ import annotations

import os
import re
import sys
from functools import lru_cache
from pathlib import Path

ENV_URL = "SIGNOFF_DATABASE_URL"
ENV_HOME = "SIGNOFF_HOME"
DB_FILE = "signoff.db"
INSTALLATION_KEY_FILE = "installation_ed25519"   # this installation's key (audit_log.Installation), in data_dir()
MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)


def data_dir() -> Path:
    home = os.environ.get(ENV_HOME)
    if home:
        return Path(home).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("signoff"))


def store_url_text() -> str:
    """The store's URL as configured: SIGNOFF_DATABASE_URL, else the settings' store.url; "" for
    the default SQLite file in data_dir()."""
    text = os.environ.get(ENV_URL) or ""
    if not text:
        from signoff.settings import configured_store_url  # the Settings dialog's store

        text = configured_store_url()
    return text


@lru_cache(maxsize=1)
def scanned_head() -> str | None:
    """The head revision read from the migration scripts' text, without alembic; None when the scan
    cannot tell (several heads, a revision it cannot read): the caller then asks alembic."""
    revisions, downs = set(), set()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        found = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
        if "revision" not in found:
            continue
        rev, down = found["revision"], found.get("down_revision", "None")
        if not re.fullmatch(r"[\"'][\w.-]+[\"']", rev) or not re.fullmatch(r"None|[\"'][\w.-]+[\"']", down):
            return None   # a tuple (merge point) or anything else: alembic reads it
        revisions.add(rev[1:-1])
        if down != "None":
            downs.add(down[1:-1])
    heads = revisions - downs
    return heads.pop() if len(heads) == 1 and downs <= revisions else None


@lru_cache(maxsize=1)
def installed_version() -> str:
    """Signoff's installed version, as a kept verdict names the version that computed it: the
    name of its .dist-info folder, found along sys.path as importlib.metadata finds it (importing
    that costs more than `status` takes when it reads a kept verdict); when there is none, what
    importlib.metadata says (`signoff.__version__`)."""
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as found:
                for item in found:
                    if item.name.startswith("signoff-") and item.name.endswith(".dist-info"):
                        return item.name[len("signoff-"):-len(".dist-info")]
        except OSError:   # a zip file on sys.path, a folder gone
            continue
    from signoff import __version__

    return __version__
