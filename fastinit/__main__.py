"""Command line: ``python -m fastinit bench ...`` (see ``python -m fastinit --help``)."""
from __future__ import annotations

import sys

USAGE = """usage: python -m fastinit COMMAND [options]

commands:
  bench     fastinit side by side with numpy, torch and the memory limit (--help for options)

schemes: {schemes}
"""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        import fastinit
        print(USAGE.format(schemes=", ".join(fastinit.schemes())))
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "bench":
        from .bench import run
        run(rest)
        return 0
    print(f"unknown command {command!r}; run python -m fastinit --help", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
