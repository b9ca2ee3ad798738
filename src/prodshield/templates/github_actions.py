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
    warning = _index_warning(version)
    try:
        data = json.loads(text) if text else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        return DefaultInstall(pinned, warning)
    url = data["url"]
    if url.startswith("file://") and isinstance(data.get("dir_info"), dict):
        checkout = checkout_install(url.removeprefix("file://"), version)
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


def _index_warning(version: str, why: str = "") -> str:
    """What ``init`` says when the workflows get ``prodshield==version``: why (when a clone's
    origin could not be used) and what to pass instead."""
    pinned = f"prodshield=={version}"
    because = f", because {why}" if why else ""
    return (
        f"the workflows install {pinned} from the package index{because}: make sure it is "
        f"published there, or rerun with --install SPEC (a VCS URL at a tag or commit, such as "
        f"git+https://github.com/OWNER/prodshield@v{version}, or a wheel committed to the "
        "repository; docs/github-actions.md)"
    )


def checkout_install(folder: str, version: str = __version__) -> DefaultInstall | None:
    """For prodshield installed from a local git checkout (``pip install .`` or ``-e .`` of a
    clone): its ``origin`` remote, as an https URL a runner can fetch, at the checkout's commit,
    with a warning to push that commit; when the origin is none a runner can use (missing, a local
    path, not https, holding credentials), ``prodshield==version`` with a warning saying so; None
    when the folder is not such a checkout."""
    import subprocess

    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(
                ["git", "-C", folder, *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.stdout.strip() if proc.returncode == 0 else None

    commit = git("rev-parse", "--verify", "HEAD")
    if not commit or not re.fullmatch(r"[0-9a-f]{40}", commit):
        return None
    remote = git("remote", "get-url", "origin")
    clone = f"the clone it was installed from ({folder})"

    def pinned(why: str) -> DefaultInstall:
        return DefaultInstall(f"prodshield=={version}", _index_warning(version, why))

    if not remote:
        return pinned(f"{clone} has no origin remote")
    scp = _SCP_REMOTE.match(remote)
    if scp:
        remote = f"https://{scp.group(1)}/{scp.group(2)}.git"
    if remote.startswith(("/", ".", "~", "file:")) or re.match(r"^[A-Za-z]:[\\/]", remote):
        return pinned(f"the origin of {clone} is a local path ({remote}) a runner cannot fetch")
    if "://" in remote and "@" in remote.split("://", 1)[1].split("/", 1)[0]:
        # never written into a workflow, nor said: it holds credentials
        return pinned(f"the origin URL of {clone} holds credentials")
    host = remote.removeprefix("https://").split("/", 1)[0]
    if not remote.startswith("https://") or not re.fullmatch(r"[\w.:-]+", host):
        return pinned(f"the origin of {clone} is not an https URL")
    spec = f"prodshield @ git+{remote}@{commit}"
    if install_spec_problem(spec) is not None:
        return pinned(f"the origin of {clone} is not a URL pip can install from")
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
