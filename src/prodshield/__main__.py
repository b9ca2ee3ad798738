"""``python -m prodshield`` runs the CLI."""

from prodshield.cli.main import main

if __name__ == "__main__":
    main()
