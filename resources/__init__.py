"""Data files shipped with Signoff (demo data, icons, themes). A package so
that an installed Signoff and the PyInstaller bundle find them the same way."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent
