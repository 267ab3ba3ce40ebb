"""`signoff` / `python -m signoff`: a thin main (PyInstaller needs the guard)."""

import sys


def main(argv: list[str] | None = None) -> int:
    from signoff.cli.main import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
