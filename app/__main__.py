"""`signoff` / `python -m signoff`: a thin main (PyInstaller needs the guard)."""

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["status"]:   # answered from the kept verdict before the full CLI is imported (issue 16)
        from signoff.cli.quick import run

        code = run(argv)
        if code is not None:
            return code
    from signoff.cli.main import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
