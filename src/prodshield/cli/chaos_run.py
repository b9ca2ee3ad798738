"""``prodshield chaos run``: run a Chaos Toolkit experiment file.

Kept free of typer/rich/pydantic imports on purpose: ``prodshield chaos run`` is dispatched here
straight from the entry point (see :mod:`prodshield.cli.entry`) so its start-up is a fraction of
``chaos run``'s; ``prodshield chaos run --help`` inside the typer group forwards here too.

Exit codes (as Chaos Toolkit): 0 completed and not deviated, 1 otherwise and for an invalid
experiment (also when the steady state was not met before the method, where Chaos Toolkit exits
0); 2 for a bad shield.yaml or a missing experiment file; 3 when the journal could not be stored; 4 when a guardrail
refused to start (an incident is open in the target environment, see ``--force``); 5 when a
guardrail check (``--abort-on-check``) failed during the method: the run was aborted and its
rollbacks played.

With a shield.yaml (``--config``, else ``$PRODSHIELD_CONFIG``, else ``./shield.yaml`` when there
is one, as every command finds it), the run is guarded by the monitoring: it refuses to start while an incident is
open (in ``--env`` when given, else anywhere), and ``type: check`` probes run that shield.yaml's
checks, ``--abort-on-check NAME`` aborts the method (and rolls back) as soon as that check fails,
and the run is stored from its start (status ``running``) so the dashboard and any incident that
opens meanwhile say an experiment is running. The open incidents come from monitor's read function
and the checks from monitor's ``check_verdict``, both handed to chaos here (capabilities do not
import each other).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prodshield.text import for_terminal, plural

DESCRIPTION = "Run a Chaos Toolkit experiment (JSON or YAML) and write its journal."


def build_parser(prog: str = "prodshield chaos run") -> argparse.ArgumentParser:
    from prodshield.chaos.experiments.strategy import Dry, HypothesisStrategy, RollbackStrategy

    p = argparse.ArgumentParser(
        prog=prog,
        description=DESCRIPTION,
        epilog="Examples: prodshield chaos run experiment.json; prodshield chaos run "
        "experiment.yaml --var base_url=http://127.0.0.1:8000 --junit chaos.xml",
    )
    p.add_argument("experiment", metavar="EXPERIMENT", help="experiment file (.json, .yaml)")
    p.add_argument(
        "--journal-path",
        default="./journal.json",
        metavar="FILE",
        help="where to write the journal (default: ./journal.json)",
    )
    p.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report")
    # choices listed in the help, not in the usage line (which they would push past 80 columns)
    p.add_argument(
        "--rollback-strategy",
        choices=RollbackStrategy.values(),
        metavar="STRATEGY",
        help=f"when to roll back: {', '.join(RollbackStrategy.values())}",
    )
    p.add_argument(
        "--hypothesis-strategy",
        choices=[*HypothesisStrategy.values(), "continously"],
        metavar="STRATEGY",
        help=f"when to check the hypothesis: {', '.join(HypothesisStrategy.values())}",
    )
    p.add_argument(
        "--hypothesis-frequency",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="pace of the hypothesis during the method (during-method-only, continuously)",
    )
    p.add_argument(
        "--fail-fast",
        action="store_true",
        help="stop the method as soon as the hypothesis deviates during it",
    )
    p.add_argument(
        "--dry",
        choices=Dry.values(),
        metavar="WHAT",
        help=f"run without executing these: {', '.join(Dry.values())}",
    )
    p.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME[:TYPE]=VALUE",
        help="configuration value (types: str, int, float, bytes, bool, json); repeatable",
    )
    p.add_argument(
        "--var-file",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="JSON/YAML with configuration/secrets, or a .env file; repeatable",
    )
    p.add_argument(
        "--verify-after-rollbacks",
        action="store_true",
        help="run the steady-state hypothesis again after the rollbacks (journal: recovered)",
    )
    p.add_argument("--no-validation", action="store_true", help="do not validate first")
    p.add_argument(
        "--config",
        "-c",
        type=Path,
        metavar="FILE",
        help="shield.yaml (default: $PRODSHIELD_CONFIG, then ./shield.yaml if present): refuse "
        "while an incident is open, run 'type: check' probes, and store the journal in its "
        "store (experiment_journals)",
    )
    p.add_argument(
        "--env",
        metavar="ENV",
        help="the target environment: only its open incidents stop the run (default: any)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="run even while an incident is open (says so on stderr)",
    )
    p.add_argument(
        "--abort-on-check",
        action="append",
        default=[],
        metavar="CHECK[@ENV]",
        help="guardrail: a shield.yaml check run during the method; when it fails the run is "
        "aborted and rolled back (exit 5); repeatable; ENV defaults to --env",
    )
    p.add_argument(
        "--guard-frequency",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="pace of the --abort-on-check checks (default: 5)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="only print the verdict")
    return p


class _Printer:
    """Progress lines on stderr, in the spirit of Chaos Toolkit's log."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def line(self, text: str) -> None:
        if not self.quiet:
            sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {for_terminal(text)}\n")
            sys.stderr.flush()

    def __call__(self, event: str, data: Mapping[str, Any]) -> None:
        if event == "start":
            self.line(f"Running experiment: {data['title']}")
            self.line(f"Steady-state strategy: {data['strategy']}; rollbacks: {data['rollbacks']}")
        elif event == "hypothesis":
            self.line(f"Steady-state hypothesis: {data.get('title')}")
        elif event == "hypothesis_done":
            state = data.get("state") or {}
            met = state.get("steady_state_met")
            self.line(f"Steady state ({data['when']}) {'met' if met else 'NOT met'}")
        elif event == "activity":
            activity = data["activity"]
            bg = " [in background]" if data.get("background") else ""
            self.line(f"{str(activity.get('type', '')).title()}: {activity.get('name')}{bg}")
        elif event == "activity_done":
            run = data["run"]
            if run.get("status") == "failed":
                reason = "".join(run.get("exception") or []).strip().splitlines()
                self.line(f"  => failed: {reason[-1] if reason else 'unknown error'}")
        elif event == "pause":
            self.line(f"Pausing {data['when']} activity for {data['seconds']}s...")
        elif event == "rollbacks":
            self.line(f"Rolling back ({data['count']} rollbacks)...")
        elif event in ("interrupted", "warning"):
            message = str(data.get("reason") or data.get("message"))
            if message.startswith("rollback skipped"):  # always said, --quiet or not
                sys.stderr.write(f"warning: {for_terminal(message)}\n")
                sys.stderr.flush()
            else:
                self.line(f"{event}: {message}")


def main(argv: list[str] | None = None, prog: str = "prodshield chaos run") -> int:
    """Parse ``argv`` (without the command words) and run; returns the exit code."""
    from prodshield.chaos.experiments import (
        InvalidExperiment,
        exit_code,
        load_experiment,
        run_experiment,
        validate_experiment,
    )
    from prodshield.chaos.experiments.configuration import load_var_files, parse_vars

    args = build_parser(prog).parse_args(argv)
    printer = _Printer(args.quiet)
    if not Path(args.experiment).exists():  # a usage error, like a missing shield.yaml: exit 2
        sys.stderr.write(for_terminal(f"error: {args.experiment}: no such file") + "\n")
        return 2
    try:
        config_vars, secret_vars = load_var_files(args.var_file)
        config_vars.update(parse_vars(args.var))
        experiment = load_experiment(args.experiment)
        if not args.no_validation:
            validate_experiment(experiment)
    except InvalidExperiment as exc:
        _say_problems(exc.problems)
        sys.stderr.write("the experiment is invalid\n")
        return 1
    abort_on = [_guard_check(text, args.env) for text in args.abort_on_check]
    loaded, refused = _config_and_guards(args, abort_on)
    if refused:
        return refused
    options = _run_options(args, printer, config_vars, secret_vars, loaded, abort_on)
    started = time.time()
    store: Any = None
    row: int | None = None
    # a dry run that injects nothing (--dry activities, actions) is a check, not an experiment:
    # the store (the dashboard's runs, an incident's "chaos running") never hears of it
    if loaded is not None and args.dry not in ("activities", "actions"):
        store, row = _start(loaded, experiment, started, args.env)
        if store is None:
            return 3
    try:
        journal = run_experiment(experiment, options)
    except InvalidExperiment as exc:  # configuration/secrets that only fail at run time
        _say_problems(exc.problems)
        if store is not None:
            _finish(store, row, {"experiment": experiment, "status": "failed"}, started, args.env)
        return 1
    except BaseException:
        if store is not None:  # an ungraceful exit (SIGUSR2...): the row must not stay running
            _finish(
                store, row, {"experiment": experiment, "status": "interrupted"}, started, args.env
            )
        raise
    if args.dry:
        journal["experiment"]["dry"] = args.dry
    if not _write_reports(journal, args.journal_path, args.junit):
        return 3
    code = exit_code(journal)
    if store is not None:
        stored = _finish(store, row, journal, started, args.env)
        if stored != 0:
            return stored
    _say_outcome(journal, args.journal_path)
    return code


def _say_problems(problems: list[str]) -> None:
    for problem in problems:
        sys.stderr.write(f"error: {for_terminal(problem)}\n")


def _config_and_guards(args: Any, abort_on: list[tuple[str, str | None]]) -> tuple[Any, int]:
    """shield.yaml when given (None otherwise), and the exit code refusing the run (0 to run):
    a guardrail or --env without a config, a config that does not load, a guardrail naming no
    check, an open incident in the environment."""
    if args.config is None:
        found, bad = _default_config()
        if bad:
            return None, bad
        args.config = found
    if abort_on and args.config is None:
        sys.stderr.write("error: --abort-on-check needs --config shield.yaml (its checks)\n")
        return None, 2
    if args.config is None:
        if args.env is not None:
            sys.stderr.write(
                "error: --env needs --config shield.yaml (the incidents are in its store)\n"
            )
            return None, 2
        return None, 0
    loaded = _load(args.config)
    if loaded is None:
        return None, 2
    # a guardrail's typo must not leave the method unguarded: refused like an open incident;
    # a dry run that injects nothing (--dry activities, actions) is a check: incidents do not stop it
    dry = args.dry in ("activities", "actions")
    return loaded, _unknown_guard(loaded, abort_on) or _guard(loaded, args.env, args.force, dry)


def _default_config() -> tuple[Path | None, int]:
    """Without ``-c``, the shield.yaml every command reads: ``$PRODSHIELD_CONFIG``, else
    ``./shield.yaml`` when there is one (None when neither); exit code 2 after one line when
    ``$PRODSHIELD_CONFIG`` names no file. The config loader is imported only when one is set or
    present, so a run without a config starts as fast as before."""
    import os

    if not os.environ.get("PRODSHIELD_CONFIG") and not Path("shield.yaml").is_file():
        return None, 0
    from prodshield.config.loader import find_config
    from prodshield.errors import NotFound

    try:
        return Path(find_config(None)), 0
    except NotFound as exc:
        sys.stderr.write(for_terminal(f"error: {exc}") + "\n")
        return None, 2


def _write_reports(journal: Any, journal_path: str, junit: str | None) -> bool:
    """The journal and the JUnit report when asked; False (said on stderr) when one fails."""
    from prodshield.chaos.experiments import to_junit, write_journal

    try:
        write_journal(journal, journal_path)
        if junit:
            Path(junit).write_text(to_junit(journal), encoding="utf-8")
    except OSError as exc:
        sys.stderr.write(for_terminal(f"error: cannot write the report: {exc}") + "\n")
        return False
    return True


def _say_outcome(journal: Any, journal_path: str) -> None:
    """The one-line outcome (and the guardrail that aborted the method, if one did)."""
    from prodshield.chaos.experiments import outcome

    runs, rollbacks = len(journal.get("run") or []), len(journal.get("rollbacks") or [])
    before = (journal.get("steady_states") or {}).get("before")
    verdict = outcome(journal)
    if isinstance(before, Mapping) and before.get("steady_state_met") is False:
        # exit 1 must say why, --quiet or not: the system was already off its steady state
        verdict += ", but the steady state was NOT met before the method (the method did not run)"
    title = for_terminal(journal["experiment"].get("title"))
    sys.stdout.write(
        f"{title}: {verdict} (status {journal['status']}, "
        f"deviated {'yes' if journal['deviated'] else 'no'}, {plural(runs, 'activity')}, "
        f"{plural(rollbacks, 'rollback')}) journal {journal_path}\n"
    )
    aborted = journal.get("aborted_by")
    if aborted:
        sys.stdout.write(
            f"aborted: guardrail check {aborted['check']} failed during the method "
            f"({for_terminal(aborted['detail'])}); {rollbacks} rollbacks played\n"
        )


def _run_options(
    args: Any,
    printer: Any,
    config_vars: dict[str, Any],
    secret_vars: dict[str, Any],
    loaded: Any,
    abort_on: list[tuple[str, str | None]],
) -> Any:
    """The runner's options from the command line (and shield.yaml's checks for guardrails)."""
    from prodshield.chaos.experiments import RunOptions
    from prodshield.chaos.experiments.strategy import Dry, HypothesisStrategy, RollbackStrategy

    return RunOptions(
        hypothesis_strategy=HypothesisStrategy.parse(args.hypothesis_strategy)
        if args.hypothesis_strategy
        else None,
        rollback_strategy=RollbackStrategy(args.rollback_strategy)
        if args.rollback_strategy
        else None,
        dry=Dry(args.dry) if args.dry else None,
        fail_fast=args.fail_fast,
        hypothesis_frequency=args.hypothesis_frequency,
        config_vars=config_vars,
        secret_vars=secret_vars,
        verify_after_rollbacks=args.verify_after_rollbacks,
        on_event=printer,
        run_check=_check_runner(loaded) if loaded is not None else None,
        proxy_api=_proxy_api(loaded),
        abort_on=abort_on,
        guard_frequency=max(0.1, args.guard_frequency),
    )


def _proxy_api(loaded: Any) -> str:
    """Where ``type: toxic`` activities without ``api`` go, found as ``chaos toxic`` finds it:
    $PRODSHIELD_PROXY_API, else the ``chaos.api`` of -c's shield.yaml (or of the one ``chaos
    proxy`` would read), else Toxiproxy's 127.0.0.1:8474."""
    import os

    from prodshield.cli.chaos import api_url, config_api

    return os.environ.get("PRODSHIELD_PROXY_API") or config_api(loaded) or api_url(None)


def _unknown_guard(loaded: Any, abort_on: list[tuple[str, str | None]]) -> int:
    """2 after saying what is wrong with the first guardrail check that names no check of
    shield.yaml (or an environment it does not run in); 0 when every one can run."""
    from prodshield.errors import NotFound
    from prodshield.monitor.api import select_targets

    for name, env in abort_on:
        try:
            select_targets(loaded.config, check=name, env=env)
        except NotFound as exc:
            where = f"{name}@{env}" if env else name
            sys.stderr.write(for_terminal(f"error: --abort-on-check {where}: {exc}") + "\n")
            return 2
    return 0


def _guard_check(text: str, env: str | None) -> tuple[str, str | None]:
    name, _, where = text.partition("@")
    return name, where or env


def _load(config: Path) -> Any:
    """The loaded shield.yaml, or None after printing its problems."""
    from prodshield.cli.config_checks import load_checked
    from prodshield.config.loader import SERVE_ONLY
    from prodshield.errors import ConfigError

    try:
        # chaos sends no notification; its checks stay whole (`type: check` probes and
        # --abort-on-check run them)
        return load_checked(config, unused=("notifiers", *SERVE_ONLY))
    except ConfigError as exc:
        for line in exc.problems:
            sys.stderr.write(line + "\n")
        return None


def _guard(loaded: Any, env: str | None, force: bool, dry: bool = False) -> int:
    """4 (after saying why) when an incident is open in ``env`` (any environment when None);
    never for a ``dry`` run, which injects no fault."""
    from prodshield.chaos.experiments.guard import describe_incidents, refusal
    from prodshield.errors import StoreError
    from prodshield.monitor.changes import open_incidents
    from prodshield.store import open_store
    from prodshield.text import plural

    config = loaded.config
    if env is not None and env not in config.environments:
        known = ", ".join(config.environments) or "none defined"
        sys.stderr.write(f"error: --env: no environment named {env!r} (known: {known})\n")
        return 2
    if dry:
        return 0
    try:
        store = open_store(config.storage, base_dir=loaded.base_dir)
        try:
            incidents = open_incidents(store, env)
        finally:
            store.close()
    except StoreError as exc:
        sys.stderr.write(for_terminal(f"error: cannot read the open incidents: {exc}") + "\n")
        return 3
    if not incidents:
        return 0
    if force:
        where = f"in {env}" if env is not None else "in any environment"
        sys.stderr.write(
            for_terminal(
                f"warning: {plural(len(incidents), 'open incident')} {where}: "
                f"{describe_incidents(incidents)}; running anyway (--force)"
            )
            + "\n"
        )
        return 0
    sys.stderr.write(for_terminal(f"error: {refusal(incidents, env)} (--force runs anyway)") + "\n")
    return 4


def _check_runner(loaded: Any) -> Any:
    """Runs one shield.yaml check once (not stored): (passed, one-line detail)."""
    from functools import partial

    from prodshield.monitor.api import check_verdict

    return partial(check_verdict, loaded)


def _start(loaded: Any, experiment: Any, started: float, env: str | None) -> tuple[Any, int | None]:
    """Open the store and record the run as ``running``; (None, None) after saying why not."""
    from prodshield.chaos.experiments.journal import start_journal
    from prodshield.errors import StoreError
    from prodshield.store import open_store

    try:
        store = open_store(loaded.config.storage, base_dir=loaded.base_dir)
        return store, start_journal(store, experiment, started, environment=env)
    except StoreError as exc:
        sys.stderr.write(for_terminal(f"error: {exc}") + "\n")
        return None, None


def _finish(store: Any, row: int | None, journal: Any, started: float, env: str | None) -> int:
    from prodshield.chaos.experiments.journal import finish_journal
    from prodshield.errors import StoreError

    try:
        assert row is not None
        finish_journal(store, row, journal, time.time(), environment=env)
    except StoreError as exc:
        sys.stderr.write(for_terminal(f"error: {exc}") + "\n")
        return 3
    finally:
        store.close()
    sys.stderr.write(f"journal stored as experiment_journals #{row}\n")
    return 0
