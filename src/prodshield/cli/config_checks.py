"""The capabilities' load-time checks of shield.yaml, which the CLI passes to ``load_config``.

The config layer validates the schema and imports no capability; what only a capability can judge
(placeholders a check type provides, `{var}`s no environment defines, log layouts that must
compile) is listed here, explicitly, and `serve` reloads with the same list
(``LoadedConfig.validators``). Imported lazily, so ``chaos run`` stays quick to start.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Collection, Mapping, Sequence
from contextvars import ContextVar

from prodshield.config import LoadedConfig, Validator, load_config
from prodshield.config.loader import SERVE_ONLY
from prodshield.text import for_terminal


def capability_validators() -> tuple[Validator, ...]:
    """Every capability's load-time check, in the order their problems are reported."""
    from prodshield.logs.validation import layout_problems
    from prodshield.monitor.validation import check_problems

    return (layout_problems, check_problems)


READ_ONLY: tuple[str, ...] = ("notifiers", "checks", *SERVE_ONLY)
"""The parts a command that sends nothing and runs no check never reads (`incident list`,
`monitor status`, `status build`...): an unset ``${VAR}`` in them (a notifier's routing key, a
check's password, the serve token) does not stop it; the commands that send or probe load the
notifiers and checks whole."""


READ_ONLY_COMMANDS: tuple[str, ...] = (
    "audit",  # every audit command
    "chaos proxy",  # the proxy and its toxics read `chaos:` alone
    "chaos toxic",
    "config show",
    "db status",
    "deploy list",
    "incident list",
    "incident show",
    "incident silences",
    "logs parse",
    "logs templates",
    "logs scan",
    "logs digest",  # without --post: with it, the notifier it posts with is read
    "monitor status",
    "monitor heartbeats",
    "monitor instances",
    "monitor report",
    "status build",
    "status subscribers",  # listing and removing send nothing
)
"""The commands that load shield.yaml with :data:`READ_ONLY`: the one list, read by the commands
themselves when they load the file (``cli.common.load``, through :func:`unread_by_running`) and by
`init --github-actions` to judge its workflows' steps (:func:`unread_by`);
tests/cli/test_unread_by.py runs each with an unset ``${VAR}`` in the parts it leaves unread."""


def unread_by(argv: Sequence[str]) -> tuple[str, ...]:
    """The parts of shield.yaml the command line ``argv`` (the words after ``prodshield``) leaves
    unread, so an unset ``${VAR}`` there does not stop it: :data:`READ_ONLY` for the read-only
    commands, :data:`SERVE_ONLY` for any other (`serve` and `config check` read the whole file,
    but no workflow runs them)."""
    words = [w for w in argv if not w.startswith("-")][:2]
    command = " ".join(words)
    read_only = any(command == c or command.startswith(f"{c} ") for c in READ_ONLY_COMMANDS)
    if read_only and words[:2] == ["logs", "digest"] and any(a.startswith("--post") for a in argv):
        read_only = False
    return READ_ONLY if read_only else SERVE_ONLY


RUNNING: ContextVar[tuple[str, ...]] = ContextVar("RUNNING", default=())
"""The command line being run (the words after ``prodshield``), set as the root resolves it."""


def unread_by_running() -> tuple[str, ...]:
    """:func:`unread_by` of the command being run (:data:`RUNNING`); :data:`SERVE_ONLY` outside
    a command."""
    argv = RUNNING.get()
    return unread_by(argv) if argv else SERVE_ONLY


def load_checked(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    unused: Collection[str] = (),
) -> LoadedConfig:
    """``load_config`` with every capability's checks: what the commands load (``unused``: the
    sections the command never reads, such as :data:`READ_ONLY`). An item of those sections
    left out of the command's config (an unset ``${VAR}`` as a check's ``type`` or a ``tcp``
    check's ``port``: ``LoadedConfig.left_out``) is a warning on stderr."""
    loaded = load_config(path, env=env, validators=capability_validators(), unused=unused)
    for line in loaded.left_out:
        sys.stderr.write(for_terminal(f"warning: {line}") + "\n")
    return loaded
