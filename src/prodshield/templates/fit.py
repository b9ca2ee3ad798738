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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Step:
    workflow: str
    name: str
    env: frozenset[str]


def loading_steps(workflows: list[Path]) -> list[Step]:
    """The steps of ``workflows`` that load shield.yaml, each with the variables it sets."""
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
                if isinstance(step, dict) and "-c shield.yaml" in str(step.get("run", "")):
                    name = str(step.get("name") or "a step")
                    steps.append(Step(path.name, name, frozenset(env | _keys(step.get("env")))))
    return steps


def _keys(env: Any) -> set[str]:
    return {str(k) for k in env} if isinstance(env, dict) else set()


def _given(name: str, step: Step) -> bool:
    if name == "GITHUB_TOKEN":
        return name in step.env
    return name in step.env or name.startswith(_RUNNER) or name in _RUNNER_NAMES


def problems(shield: Path, workflows: list[Path]) -> list[str]:
    """What in ``shield`` the steps of ``workflows`` cannot run with, one located line each."""
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
        if any(key == k or key.startswith((f"{k}.", f"{k}[")) for k in SERVE_ONLY):
            continue  # only `serve` reads them; the workflows' commands leave them as written
        missing = [s for s in steps if not _given(name, s)]
        if missing:
            first = missing[0]
            others = f" (and {len(missing) - 1} other steps)" if len(missing) > 1 else ""
            # serve.* is not used by the workflows' commands: empty is fine (a token generated);
            # a notifier's value must not be empty, but is never used where the step lacks it
            out.append(
                f"{shield.name}:{pos.line}: {key} reads ${{{name}}}, which the step "
                f"'{first.name}' of {first.workflow}{others} does not set, so it exits 2 there; "
                + _fix(key, name)
            )
    out.extend(_post_problems(shield.name, data, workflows))
    return out


_POST = re.compile(r"--post[ =]+([A-Za-z0-9_.-]+)")


def _post_problems(shield: str, data: Any, workflows: list[Path]) -> list[str]:
    """A step's ``--post NAME`` that shield.yaml has no notifier for (named NAME, or the only one
    of type NAME, as ``logs digest`` picks it): that step would exit 2 on every run."""
    raw = data.get("notifiers") if isinstance(data, dict) else None
    notifiers = raw if isinstance(raw, dict) else {}
    types = {str(n): str(v.get("type")) for n, v in notifiers.items() if isinstance(v, dict)}
    out: list[str] = []
    for path in workflows:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        jobs = doc.get("jobs") if isinstance(doc, dict) else None
        for job in (jobs or {}).values() if isinstance(jobs, dict) else ():
            for step in (job.get("steps") or []) if isinstance(job, dict) else ():
                if not isinstance(step, dict):
                    continue
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
                        'token: "${GITHUB_TOKEN:-unset}"}'
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
    """The edit a warning suggests for ``${name}`` read at ``key``. ``serve.*`` is not used by the
    workflows' commands (empty is fine: a token is generated) and a notifier's value is never
    used in a step that lacks it, so a default does; anything else (a check's URL or header) is
    used by the step itself, where a default would be the value: it needs the variable."""
    if key.startswith("serve."):
        return f'write "${{{name}:-}}", or add {name} to that step\'s env'
    if key.startswith("notifiers"):
        return f'write "${{{name}:-unset}}", or add {name} to that step\'s env'
    return (
        f"add {name} to that step's env (from a repository secret or variable: "
        f"{name}: ${{{{ secrets.{name} }}}}); a default would be used as the value itself"
    )
