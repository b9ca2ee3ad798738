"""Does an existing shield.yaml work in the workflows ``init --github-actions`` writes?

The workflows give each step that loads shield.yaml a few variables (``PRODSHIELD_STORAGE``,
``GITHUB_TOKEN``...) and keep the store in the Actions cache under ``PRODSHIELD_STORAGE``. A
shield.yaml written for a server may read a variable no step sets (the step then exits 2) or keep
its store elsewhere (the cache never holds it, so failure counts restart every run), or have no
notifier for a step's ``--post`` (the digest's step then exits 2 every day). ``init``
says so, with the line and the edit, instead of writing workflows that cannot work.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from prodshield.config.interpolate import referenced
from prodshield.config.loader import SERVE_ONLY
from prodshield.config.yamlpos import Path as YamlPath
from prodshield.config.yamlpos import Pos, YamlSyntaxError, format_path, load_yaml

_NO_DEFAULT = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_RUNNER = ("GITHUB_", "RUNNER_")
"""What a hosted runner sets in every step (GITHUB_TOKEN excepted: only where a step maps it)."""
_RUNNER_NAMES = frozenset({"CI", "HOME", "PATH", "USER", "SHELL", "PWD", "TMPDIR"})


Unread = Callable[[list[str]], Collection[str]]
"""The parts of shield.yaml a command line (the words after ``prodshield``) leaves unread; the
CLI passes its own (`prodshield.cli.config_checks.unread_by`), the facts its commands load by."""


def _all_read(argv: list[str]) -> Collection[str]:
    return SERVE_ONLY


@dataclass(frozen=True)
class Step:
    workflow: str
    name: str
    env: frozenset[str]
    commands: tuple[tuple[str, ...], ...] = field(default=())
    """The step's ``prodshield`` command lines, the words after ``prodshield``."""

    def reads(self, key: str, unread: Unread) -> bool:
        """Does one of the step's commands read ``key`` (``notifiers.github.token``)?"""
        if not self.commands:
            return not _under(key, SERVE_ONLY)
        return any(not _under(key, unread(list(c))) for c in self.commands)


def _under(key: str, parts: Collection[str]) -> bool:
    return any(key == k or key.startswith((f"{k}.", f"{k}[")) for k in parts)


_COMMAND = re.compile(r"(?:^|[\s;&|(])prodshield[ \t]+([^\n;&|<>]*)")


def step_commands(run: str) -> tuple[tuple[str, ...], ...]:
    """The ``prodshield`` command lines of a step's ``run:`` script (continued lines joined)."""
    out = []
    for match in _COMMAND.finditer(run.replace("\\\n", " ")):
        try:
            words = shlex.split(match.group(1), comments=True)
        except ValueError:
            words = match.group(1).split()
        out.append(tuple(words))
    return tuple(out)


def loading_steps(workflows: list[Path]) -> list[Step]:
    """The steps of ``workflows`` that load shield.yaml, each with the variables it sets and
    its ``prodshield`` commands."""
    steps: list[Step] = []
    for path in workflows:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        if not isinstance(doc, dict):
            continue
        top = _keys(doc.get("env"))
        for job in (doc.get("jobs") or {}).values():
            if not isinstance(job, dict):
                continue
            env = top | _keys(job.get("env"))
            for step in job.get("steps") or []:
                run = str(step.get("run", "")) if isinstance(step, dict) else ""
                if "-c shield.yaml" in run:
                    name = str(step.get("name") or "a step")
                    given = frozenset(env | _keys(step.get("env")))
                    steps.append(Step(path.name, name, given, step_commands(run)))
    return steps


def _keys(env: Any) -> set[str]:
    return {str(k) for k in env} if isinstance(env, dict) else set()


def _given(name: str, step: Step) -> bool:
    if name == "GITHUB_TOKEN":
        return name in step.env
    return name in step.env or name.startswith(_RUNNER) or name in _RUNNER_NAMES


def problems(shield: Path, workflows: list[Path], unread: Unread = _all_read) -> list[str]:
    """What in ``shield`` the steps of ``workflows`` cannot run with, one located line each: a
    ``${VAR}`` with no default counts only in a step whose commands read its part of the file
    (``unread``: what a command leaves unread; by default only ``serve``'s tokens)."""
    try:
        text = shield.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    needed: list[tuple[Pos, str, str]] = []

    def hook(value: str, path: YamlPath, pos: Pos) -> str:
        for name in dict.fromkeys(_NO_DEFAULT.findall(value)):
            needed.append((pos, format_path(path), name))
        return value

    try:
        data, positions, _ = load_yaml(text, scalar_hook=hook)
    except YamlSyntaxError:
        return []  # `config check` says what is wrong with the file itself
    out: list[str] = []
    storage = data.get("storage") if isinstance(data, dict) else None
    if not (isinstance(storage, str) and "PRODSHIELD_STORAGE" in referenced(storage)):
        if storage is not None:
            now = f"{shield.name}:{positions.locate(('storage',)).line}: storage: {storage!r}"
        else:
            now = f"{shield.name}: no storage: (the default 'sqlite:///prodshield.db')"
        out.append(
            f"{now} does not follow PRODSHIELD_STORAGE, so the workflows' "
            "cache never holds the store and failure counts restart every run; write "
            'storage: "${PRODSHIELD_STORAGE:-sqlite:///prodshield.db}"'
        )
    steps = loading_steps(workflows)
    for pos, key, name in needed:
        # a step whose commands leave the part unread (the audit: notifiers and checks; every
        # one: serve's tokens) runs with the variable unset: the value stays as written
        missing = [s for s in steps if not _given(name, s) and s.reads(key, unread)]
        if missing:
            first = missing[0]
            others = f" (and {len(missing) - 1} other steps)" if len(missing) > 1 else ""
            out.append(
                f"{shield.name}:{pos.line}: {key} reads ${{{name}}}, which the step "
                f"'{first.name}' of {first.workflow}{others} does not set, so it exits 2 there; "
                + _fix(key, name)
            )
    out.extend(_post_problems(shield.name, data, workflows))
    out.extend(_source_problems(shield.name, data, positions, workflows))
    return out


RUNNER_LOG_SOURCES = {
    "/var/log/nginx/access.log*": "logs/nginx/access.log*",
    "/var/log/app/*.log": "logs/app/*.log",
}
"""The example shield.yaml's log sources (a server's paths) and what ``init --github-actions``
writes instead: the checkout's ``logs/``, where the digest's "Fetch the logs" step brings them."""

_DIGEST_FROM_SOURCES = re.compile(r"prodshield\s+logs\s+digest\s+-c\s")


def _source_problems(shield: str, data: Any, positions: Any, workflows: list[Path]) -> list[str]:
    """An absolute ``logs.sources`` path read by a step's ``logs digest`` (with no files: it reads
    the sources): a fresh runner has none of the server's files there, so that step exits 2 on
    every run until its "Fetch the logs" step brings them into the checkout and the path follows."""
    logs = data.get("logs") if isinstance(data, dict) else None
    sources = logs.get("sources") if isinstance(logs, dict) else None
    if not isinstance(sources, list):
        return []
    digest = next(
        (
            (path.name, str(step.get("name") or "a step"))
            for path in workflows
            for step in _steps(path)
            if _DIGEST_FROM_SOURCES.search(str(step.get("run", "")))
        ),
        None,
    )
    if digest is None:
        return []
    out = []
    for n, source in enumerate(sources):
        where = source.get("path") if isinstance(source, dict) else None
        if not isinstance(where, str) or not where.startswith(("/", "~")):
            continue
        line = positions.locate(("logs", "sources", n, "path")).line
        inside = RUNNER_LOG_SOURCES.get(where, "logs/" + where.rsplit("/", 1)[-1])
        out.append(
            f"{shield}:{line}: logs.sources[{n}].path is {where}, a path on the server: the "
            f"step '{digest[1]}' of {digest[0]} runs on a fresh runner, so it exits 2 (no log "
            "file found) until its 'Fetch the logs' step brings the files into the checkout "
            f"and the path points there, e.g. path: {inside}"
        )
    return out


def _steps(path: Path) -> list[dict[str, Any]]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return []
    jobs = doc.get("jobs") if isinstance(doc, dict) else None
    return [
        step
        for job in ((jobs or {}).values() if isinstance(jobs, dict) else ())
        if isinstance(job, dict)
        for step in (job.get("steps") or [])
        if isinstance(step, dict)
    ]


_POST = re.compile(r"--post[ =]+([A-Za-z0-9_.-]+)")


def _post_problems(shield: str, data: Any, workflows: list[Path]) -> list[str]:
    """A step's ``--post NAME`` that shield.yaml has no notifier for (named NAME, or the only one
    of type NAME, as ``logs digest`` picks it): that step would exit 2 on every run."""
    raw = data.get("notifiers") if isinstance(data, dict) else None
    notifiers = raw if isinstance(raw, dict) else {}
    types = {str(n): str(v.get("type")) for n, v in notifiers.items() if isinstance(v, dict)}
    out: list[str] = []
    for path in workflows:
        for step in _steps(path):
            for wanted in dict.fromkeys(_POST.findall(str(step.get("run", "")))):
                of_type = [n for n, t in types.items() if t == wanted]
                if wanted in types or len(of_type) == 1:
                    continue
                where = f"the step '{step.get('name') or 'a step'}' of {path.name}"
                if of_type:
                    out.append(
                        f"{shield}: {where} runs --post {wanted}, but {shield} has "
                        f"{len(of_type)} notifiers of type {wanted} ({', '.join(of_type)}), "
                        "so it exits 2 on every run; write the name of the one to post "
                        f"with after --post in that step"
                    )
                    continue
                known = ", ".join(f"{n} ({t})" for n, t in types.items())
                add = (
                    f'{wanted}: {{type: github, repo: "${{GITHUB_REPOSITORY}}", '
                    'token: "${GITHUB_TOKEN}"}'
                    if wanted == "github"
                    else f"a notifier named {wanted}"
                )
                out.append(
                    f"{shield}: {where} runs --post {wanted}, but {shield} has no notifier "
                    f"named {wanted} or of type {wanted} "
                    + (f"(only {known})" if known else "(no notifiers at all)")
                    + f", so it exits 2 on every run; add under notifiers: {add}"
                    + (", or post with one of those: --post NAME in that step" if known else "")
                )
    return out


def _fix(key: str, name: str) -> str:
    """The edit a warning suggests for ``${name}`` read at ``key`` by a step that lacks it.
    ``serve.*`` (beside serve's tokens, which no workflow reads) may be empty; a notifier's value
    is what the monitor's and the digest's steps deliver with, and a check's is what the step
    probes: a default would load but be used as the value itself, so they need the variable."""
    if key.startswith("serve."):
        return f'write "${{{name}:-}}", or add {name} to that step\'s env'
    return (
        f"add {name} to that step's env (from a repository secret or variable: "
        f"{name}: ${{{{ secrets.{name} }}}}); a default would be used as the value itself"
        + (", and the notifier could not deliver with it" if key.startswith("notifiers") else "")
    )
