"""Settings ▸ Identity for docs/user-guide.md: a temporary HOME with one key the
dialog found and one it just created (Create a key…), the created one chosen.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m tests.ui.make_identity_screenshot [OUT_DIR]

make_guide_screenshots.py calls `grab_identity` too. Not a test: look at the picture before committing it.
Your own HOME, ssh-agent, settings and store are never touched.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def grab_identity(out: Path, parent=None) -> Path:
    from signoff.service.local_keys import create_key
    from signoff.settings import Settings
    from signoff.ui.settings_dialog import SettingsDialog
    from tests.ui.shots import pump

    tmp = Path(tempfile.mkdtemp(prefix="signoff-identity-"))
    saved_env = {k: os.environ.get(k) for k in ("HOME", "SSH_AUTH_SOCK", "SIGNOFF_SIGNING_KEY")}
    os.environ["HOME"] = str(tmp)
    os.environ.pop("SSH_AUTH_SOCK", None)
    os.environ.pop("SIGNOFF_SIGNING_KEY", None)
    try:
        create_key(tmp / ".ssh" / "id_ed25519", comment="alice@laptop")
        settings = Settings(tmp / "settings.json", {"identity": {"user": "alice@example.com"}})
        dialog = SettingsDialog(settings, current_user="alice@example.com", parent=parent)
        dialog.show()
        dialog.create_key()
        pump(0.5)
        path = out / "settings-identity.png"
        dialog.grab().save(str(path))
        dialog.reject()
        return path
    finally:
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def main(out_dir: str = "docs/screenshots") -> int:
    tmp = Path(tempfile.mkdtemp(prefix="signoff-shots-"))
    os.environ["SIGNOFF_HOME"] = str(tmp / "home")
    os.environ["SIGNOFF_CONFIG_DIR"] = str(tmp / "config")
    from PySide6.QtWidgets import QApplication

    from signoff.ui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv)
    apply_theme("light")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    print(f"saved {grab_identity(out)}")
    app.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
