"""``python -m prodshield`` runs the CLI, with the console script's fast paths (``logs parse``,
``chaos run``)."""

from prodshield.cli.entry import main

if __name__ == "__main__":
    main()
