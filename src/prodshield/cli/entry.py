"""The ``prodshield`` console script: fast paths for ``chaos run`` and ``logs parse``, else the
full CLI.

``prodshield chaos run`` must start faster than Chaos Toolkit's ``chaos run`` (it is run in loops
by CI jobs), and ``logs parse`` is run per file by scripts, so both skip importing every command
group; everything else goes to :func:`prodshield.cli.main.main`.
"""

from __future__ import annotations

import sys


def main() -> None:
    argv = sys.argv[1:]
    if argv[:2] == ["chaos", "run"]:
        from prodshield.cli.chaos_run import main as run_main

        try:
            code = run_main(argv[2:])
        except KeyboardInterrupt:
            sys.stderr.write("interrupted\n")
            code = 130
        sys.exit(code)
    if argv[:2] == ["logs", "parse"]:
        from prodshield.cli import logs_parse

        if logs_parse.lean(argv[2:]):
            sys.exit(logs_parse.main(argv[2:]))
    from prodshield.cli.main import main as full_main

    full_main()


if __name__ == "__main__":
    main()
