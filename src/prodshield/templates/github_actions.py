"""The GitHub Actions workflows ``prodshield init --github-actions`` writes.

Every workflow installs prodshield with ``python -m pip install "$PRODSHIELD_INSTALL"``; the
install spec is chosen once, at init, and must pin what it installs: a bare name would install
whatever a registry serves under that name on the day the job runs (or, if nobody publishes it,
fail), in a job that holds an ``issues: write`` token. docs/github-actions.md explains the choices.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from prodshield import __version__
from prodshield.errors import Conflict, Invalid

WORKFLOWS = ("production-monitoring.yml", "log-intelligence.yml", "security-audit.yml")

_ARCHIVES = (".whl", ".tar.gz", ".tgz", ".zip")
_BRANCHES = frozenset({"main", "master", "head", "develop", "dev", "trunk", "latest", "stable"})
_PINNED = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,\s-]*\])?\s*===?\s*[A-Za-z0-9][A-Za-z0-9.+!_-]*$"
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,\s-]*\])?$")

USAGE = (
    "use a pinned requirement (prodshield=={v}), a VCS URL at a tag or commit "
    "(git+https://github.com/OWNER/prodshield@v{v}) or a wheel in the repository "
    "(./vendor/prodshield-{v}-py3-none-any.whl)"
)


@dataclass(frozen=True)
class DefaultInstall:
    spec: str
    warning: str | None = None
    """Said by ``init`` when the spec may not install (a version an index may not serve)."""


def default_install() -> DefaultInstall:
    """What the workflows install when ``--install`` is not given: where the running prodshield
    came from, when pip recorded a URL a runner can reach (PEP 610 ``direct_url.json``: a VCS URL
    at its commit, or an archive URL with its hash), else the exact version, with a warning."""
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        text = distribution("prodshield").read_text("direct_url.json")
    except (PackageNotFoundError, OSError):
        text = None
    return install_from_direct_url(text, __version__)


def install_from_direct_url(text: str | None, version: str) -> DefaultInstall:
    """The install spec a PEP 610 ``direct_url.json`` (as pip writes it) gives, or the pinned
    ``prodshield==version`` with a warning when it names nothing a runner can install (none, a
    local folder or file, an editable checkout, a branch without its commit)."""
    pinned = f"prodshield=={version}"
    warning = (
        f"the workflows install {pinned} from the package index: make sure it is published "
        "there, or rerun with --install (a VCS URL at a tag or commit, or a wheel committed "
        "to the repository; docs/github-actions.md)"
    )
    try:
        data = json.loads(text) if text else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        return DefaultInstall(pinned, warning)
    url = data["url"]
    if url.startswith("file://") and isinstance(data.get("dir_info"), dict):
        checkout = checkout_install(url.removeprefix("file://"))
        return checkout if checkout is not None else DefaultInstall(pinned, warning)
    reachable = url.startswith("https://") and "@" not in url.split("://", 1)[1].split("/", 1)[0]
    vcs = data.get("vcs_info")
    if reachable and isinstance(vcs, dict) and vcs.get("vcs") and vcs.get("commit_id"):
        spec = f"prodshield @ {vcs['vcs']}+{url}@{vcs['commit_id']}"
    elif reachable and isinstance(data.get("archive_info"), dict):
        digest = data["archive_info"].get("hash") or ""
        spec = f"prodshield @ {url}" + (f"#{digest}" if re.fullmatch(r"\w+=\w+", digest) else "")
    else:
        return DefaultInstall(pinned, warning)
    if install_spec_problem(spec) is not None or "\n" in spec:
        return DefaultInstall(pinned, warning)
    return DefaultInstall(spec)


_SCP_REMOTE = re.compile(r"^(?:ssh://)?git@([\w.-]+)[:/]([\w.-]+/[\w.-]+?)(?:\.git)?/?$")


def checkout_install(folder: str) -> DefaultInstall | None:
    """For prodshield installed from a local git checkout (``pip install -e .`` of a clone):
    its ``origin`` remote, as an https URL a runner can fetch, at the checkout's commit, with a
    warning to push that commit; None when the folder is not such a checkout."""
    import subprocess

    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(
                ["git", "-C", folder, *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.stdout.strip() if proc.returncode == 0 else None

    remote, commit = git("remote", "get-url", "origin"), git("rev-parse", "--verify", "HEAD")
    if not remote or not commit or not re.fullmatch(r"[0-9a-f]{40}", commit):
        return None
    scp = _SCP_REMOTE.match(remote)
    if scp:
        remote = f"https://{scp.group(1)}/{scp.group(2)}.git"
    host = remote.removeprefix("https://").split("/", 1)[0]
    if not remote.startswith("https://") or "@" in host or not re.fullmatch(r"[\w.:-]+", host):
        return None  # a local path, or a URL holding credentials: nothing to put in a workflow
    spec = f"prodshield @ git+{remote}@{commit}"
    if install_spec_problem(spec) is not None:
        return None
    changed = git("status", "--porcelain", "--untracked-files=no")
    dirty = " (its uncommitted changes are not in it)" if changed else ""
    return DefaultInstall(
        spec,
        f"the workflows install commit {commit[:12]} of {remote}, the checkout this prodshield "
        f"runs from{dirty}: push that commit before the workflows run, or rerun with --install "
        "(docs/github-actions.md)",
    )


def default_install_spec() -> str:
    """The spec :func:`default_install` chooses."""
    return default_install().spec


def install_spec_problem(spec: str) -> str | None:
    """Why ``spec`` may not go into a workflow's ``pip install``, or None when it pins what it
    installs (a pinned requirement, a VCS URL at a ref, an archive, or a path with ./ or /)."""
    hint = USAGE.format(v=__version__)
    if not spec.strip() or "\n" in spec or "\r" in spec:
        return f"--install: give one pip requirement; {hint}"
    if "${{" in spec:
        return "--install: '${{' would be read by GitHub as an expression"
    text = spec.strip()
    if text.startswith(("./", "../", "/", "~/")) or text in (".", ".."):
        return None  # a wheel, an sdist or a project folder the checkout holds
    url = text.split(" @ ", 1)[1].strip() if " @ " in text else text
    scheme, sep, rest = url.partition("://")
    if sep:
        if "+" in scheme:  # git+https://host/owner/repo@ref#egg=...
            where = rest.split("#", 1)[0]
            path = where.split("/", 1)[1] if "/" in where else ""
            ref = path.rpartition("@")[2] if "@" in path else ""
            if not ref:
                return f"--install {spec}: a VCS URL must name a tag or commit (...@v1.2.3); {hint}"
            if ref.lower() in _BRANCHES:
                return f"--install {spec}: '{ref}' is a branch, which moves; pin a tag or a commit"
            return None
        if scheme in ("https", "http", "file") and url.split("#", 1)[0].lower().endswith(_ARCHIVES):
            return None  # a released file, fixed by its name (add #sha256=... to check it)
        return f"--install {spec}: a URL must point at a wheel or sdist, or be a VCS URL; {hint}"
    if text.lower().endswith(_ARCHIVES):
        return None  # a file name in the checkout (relative to the job's working directory)
    if _PINNED.match(text) and "*" not in text:
        return None
    if _NAME.match(text):
        return (
            f"--install {spec}: an unpinned name installs whatever a registry serves under it "
            f"when the job runs; {hint}"
        )
    return f"--install {spec}: not pinned to one version; {hint}"


def check_install_spec(spec: str) -> str:
    problem = install_spec_problem(spec)
    if problem:
        raise Invalid(problem)
    return spec.strip()


@dataclass(frozen=True)
class WorkflowOptions:
    install: str
    """What ``pip install`` gets in every workflow."""
    audit_after: str | None = None
    """The name of the deploy workflow the audit follows (``on: workflow_run``), if any."""


def render(name: str, options: WorkflowOptions) -> str:
    """One workflow's text with the install spec and the audit trigger filled in."""
    source = resources.files("prodshield.templates").joinpath("workflows", name)
    text = source.read_text(encoding="utf-8")
    text = text.replace("@@VERSION@@", __version__)
    text = text.replace("@@INSTALL@@", json.dumps(options.install))
    if options.audit_after:
        trigger = (
            "  workflow_run:  # after the deploy workflow named here (init --audit-after)\n"
            f"    workflows: [{json.dumps(options.audit_after)}]\n"
            "    types: [completed]\n"
        )
    else:
        trigger = (
            "  # To audit after a deploy workflow, uncomment and name it (or run\n"
            "  # `prodshield init --github-actions --audit-after NAME --force`):\n"
            "  # workflow_run:\n"
            '  #   workflows: ["deploy"]\n'
            "  #   types: [completed]\n"
        )
    return text.replace("@@WORKFLOW_RUN@@\n", trigger)


def write_workflows(directory: Path, options: WorkflowOptions, *, force: bool) -> list[Path]:
    """Write the three workflows under ``directory/.github/workflows``; refuse to overwrite
    unless ``force``."""
    folder = directory / ".github" / "workflows"
    existing = [folder / n for n in WORKFLOWS if (folder / n).exists()]
    if existing and not force:
        raise Conflict(f"{existing[0]} exists; use --force to overwrite it")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in WORKFLOWS:
        (folder / name).write_text(render(name, options), encoding="utf-8")
        written.append(folder / name)
    return written
