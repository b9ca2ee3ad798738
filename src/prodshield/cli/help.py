"""Help that reads like a person wrote it: metavars name what a value is (``FILE``,
``DURATION``, ``HOST:PORT``, ``table|json``), not its Python type (``<str>``, ``<list[Path]>``),
flags show no value at all, and usage lines read ``FILE...`` / ``[PATH...]`` instead of
``{files}...``; under 100 columns (and in pipes) help is plain text that wraps, not boxed
panels.

Typer derives those labels from the annotations; :func:`install` replaces the three methods that
print them, once, before the app is built. A parameter's own ``metavar=`` always wins. With a
Typer that lacks these methods nothing is changed.
"""

from __future__ import annotations

import re
from typing import Any

# What a value is, by parameter name (the same name means the same thing in every command).
NAMED = {
    "since": "DURATION",
    "notify_wait": "DURATION",
    "duration": "DURATION",
    "window": "DURATION",
    "interval": "DURATION",
    "timeout": "DURATION",
    "older_than": "DURATION",
    "tls": "HOST:PORT",
    "targets": "HOST:PORT",
    "upstream": "HOST:PORT",
    "listen": "HOST:PORT",
    "api": "URL",
    "url": "URL",
    "attribute": "KEY=VALUE",
    "only": "FAMILIES",
    "exclude": "GLOB",
    "revocation_host": "HOST",
    "host": "HOST",
    "port": "PORT",
    "from_": "TIME",
    "from": "TIME",
    "start": "TIME",
    "end": "TIME",
    "baseline": "FILE|PERIOD",
    "fail_on": "SEVERITY",
    "toxic_type": "TYPE",
    "until": "TIME",
    "check": "CHECK",
    "env": "ENV",
    "environment": "ENV",
    "location": "NAME",
    "notifier": "NOTIFIER",
    "post": "NOTIFIER",
    "name": "NAME",
    "toxicity": "0..1",
    "limit": "N",
    "top": "N",
    "files": "FILE",
    "paths": "PATH",
    "path": "PATH",
    "directory": "DIR",
    "dir": "DIR",
    "out": "DIR",
    "repo": "REPO",
    "install": "SPEC",
    "servername": "NAME",
    "service": "SERVICE",
    "health": "URL",
    "dependency": "PROXY",
    "proxy": "PROXY",
}
_DIR_NAMES = ("dir", "directory", "out", "folder")
_FILE_NAMES = (
    "config", "output", "baseline", "ca_file", "journal", "journal_path", "junit", "files",
    "experiment", "var_file",
)  # fmt: skip
_FORMATS = {"fmt": "FORMAT", "format": "FORMAT", "output": "FORMAT", "log_format": "FORMAT"}
_LABEL = re.compile(r"^<(.*)>(\.\.\.)?$")


_PATH_LABELS = ("path", "file", "directory", "file or directory", "filename")


def _inner_label(label: str | None) -> str:
    """Typer's label without its brackets and ``list[...]``: ``<list[int]>`` -> ``int``."""
    inner = label or ""
    match = _LABEL.match(inner)
    if match:
        inner = match.group(1)
    list_of = re.match(r"^list\[(.*)\]$", inner)
    return list_of.group(1) if list_of else inner


def _path_metavar(key: str, low: str) -> str:
    if low == "directory" or key in _DIR_NAMES:
        return "DIR"
    if key in _FILE_NAMES:
        return "FILE"
    return NAMED.get(key, "PATH")


def _number_metavar(key: str) -> str:
    if key.endswith("_ms"):
        return "MS"
    if key.endswith(("_s", "seconds", "timeout")):
        return "SECONDS"
    return "NUMBER"


def metavar_for(name: str | None, label: str | None, *, is_flag: bool = False) -> str | None:
    """The metavar for a parameter called ``name`` whose Typer label is ``label`` (``<str>``)."""
    if is_flag:
        return None
    key = (name or "").lower()
    inner = _inner_label(label)
    low = inner.lower()
    if low == "bool":
        return None
    if "|" in inner:
        # the choices themselves (table|json); a long list is named, and the help lists it
        if len(inner) <= 16:
            return inner
        return NAMED.get(key) or _FORMATS.get(key, key.upper())
    if low in _PATH_LABELS:
        return _path_metavar(key, low)
    if key in NAMED:
        return NAMED[key]
    if low.startswith("int"):
        return "N"
    if low.startswith("float"):
        return _number_metavar(key)
    if key in _FORMATS:
        return _FORMATS[key]
    return key.upper().rstrip("_") or None


# Examples shown under each command's help (by the command's words after "prodshield").
EXAMPLES: dict[str, tuple[str, ...]] = {
    "": ("prodshield demo", "prodshield init . && prodshield config check"),
    "init": ("prodshield init .", "prodshield init . --github-actions"),
    "config check": ("prodshield config check -c shield.yaml",),
    "config show": ("prodshield config show -c shield.yaml",),
    "db upgrade": ("prodshield db upgrade -c shield.yaml",),
    "db status": ("prodshield db status",),
    "db prune": ("prodshield db prune",),
    "monitor once": (
        "prodshield monitor once",
        "prodshield monitor once --check api --env production --format json",
    ),
    "monitor run": ("prodshield monitor run -v", "prodshield monitor run --duration 10m"),
    "monitor status": ("prodshield monitor status --format json",),
    "monitor heartbeats": ("prodshield monitor heartbeats",),
    "run-job": ("prodshield run-job nightly-backup -- /usr/local/bin/backup.sh --full",),
    "monitor instances": ("prodshield monitor instances --owners",),
    "monitor report": ("prodshield monitor report --since 7d --format html -o report.html",),
    "logs parse": ("prodshield logs parse /var/log/nginx/access.log | head",),
    "logs templates": ("prodshield logs templates /var/log/app/*.log --top 20",),
    "logs scan": (
        "prodshield logs scan",
        "prodshield logs scan /var/log/nginx/access.log --since 24h --format json",
    ),
    "logs digest": ("prodshield logs digest --format html -o digest.html",),
    "audit": (
        "prodshield audit .",
        "prodshield audit . --format sarif --output audit.sarif --fail-on high",
    ),
    "audit run": (
        "prodshield audit .",
        "prodshield audit . --report sarif:audit.sarif --report markdown:audit.md",
    ),
    "audit tls": ("prodshield audit tls shop.example.com:443",),
    "audit secrets": ("prodshield audit secrets . --git",),
    "audit baseline": (
        "prodshield audit baseline . --reason 'test fixtures' -o .prodshield-baseline.json",
    ),
    "audit history": ("prodshield audit history", "prodshield audit history -n 5 --format json"),
    "chaos proxy": ("prodshield chaos proxy", "prodshield chaos proxy list"),
    "chaos proxy list": ("prodshield chaos proxy list --format json",),
    "chaos toxic add": ("prodshield chaos toxic add postgres -t latency -a latency=300",),
    "chaos toxic remove": ("prodshield chaos toxic remove postgres latency_downstream",),
    "chaos toxic list": ("prodshield chaos toxic list postgres",),
    "chaos breaker": (
        "prodshield chaos breaker --service http://127.0.0.1:8000/pay --dependency payments",
    ),
    "chaos db": ("prodshield chaos db --dsn postgresql://127.0.0.1/shop --proxy postgres",),
    "notify status": ("prodshield notify status",),
    "notify test": ("prodshield notify test github",),
    "notify retry": ("prodshield notify retry 12",),
    "notify flush": ("prodshield notify flush",),
    "serve": ("prodshield serve", "prodshield serve --host 0.0.0.0 --port 8080"),
    "status build": ("prodshield status build --out site/",),
    "status subscribers": (
        "prodshield status subscribers",
        "prodshield status subscribers --remove 3",
    ),
    "deploy mark": ("prodshield deploy mark --version v2.4.0 --env production --service shop",),
    "deploy list": ("prodshield deploy list --env production --format json",),
    "deploy verify": (
        "prodshield deploy verify --env production --wait",
        "prodshield deploy verify --deploy 12 --window 30m --format markdown",
    ),
    "incident open": (
        "prodshield incident open 'Card payments are delayed' --service payments --env production",
    ),
    "incident update": ("prodshield incident update 12 'The fix is rolling out.'",),
    "incident resolve": ("prodshield incident resolve 12 'All payments went through.'",),
    "incident postmortem": ("prodshield incident postmortem 12 https://wiki.example.com/pm/12",),
    "incident ack": ("prodshield incident ack 12",),
    "demo": ("prodshield demo", "prodshield demo --port 0 --dir ./demo-files"),
    "debt": ("prodshield debt .", "prodshield debt . --format markdown"),
}


def _with_examples(format_help: Any) -> Any:
    """Give a command without an epilog its examples (each its own paragraph, so that both
    the plain and the boxed help keep one example per line)."""

    def wrapped(self: Any, ctx: Any, formatter: Any) -> None:
        if not self.epilog:
            words = (ctx.command_path or "").split()
            # "prodshield deploy verify", or "python -m prodshield deploy verify"
            words = words[words.index("prodshield") + 1 :] if "prodshield" in words else words[1:]
            examples = EXAMPLES.get(" ".join(words))
            if examples:
                self.epilog = "Examples:\n\n" + "\n\n".join(f"  {e}" for e in examples)
        format_help(self, ctx, formatter)

    return wrapped


RICH_MIN_COLUMNS = 100
"""Below this width (and in pipes) help is click's plain two-column text: Typer's boxed panels
squeeze the descriptions of a command with many options into a column three words wide."""


def install() -> None:
    """Patch Typer's help labels (idempotent), and choose plain help on narrow terminals."""
    import shutil

    try:
        from typer import core
    except ImportError:  # pragma: no cover
        return
    if hasattr(core, "HAS_RICH") and shutil.get_terminal_size((80, 24)).columns < RICH_MIN_COLUMNS:
        core.HAS_RICH = False
    classes = _patchable(core)
    if classes is None:
        return
    option, argument, base = classes
    for command_class in (getattr(core, "TyperCommand", None), getattr(core, "TyperGroup", None)):
        if command_class is not None and hasattr(command_class, "format_help"):
            command_class.format_help = _with_examples(command_class.format_help)
    option.display_type_rich = _option_type(base.display_type)
    argument.display_name_raw = property(_argument_name)
    argument.display_type_rich = _argument_type
    argument._usage_display_name = _argument_usage
    argument.get_error_hint = _argument_hint
    option._prodshield = True


def _patchable(core: Any) -> tuple[Any, Any, Any] | None:
    """Typer's option, argument and parameter classes, when they have what is patched and are
    not patched yet."""
    option = getattr(core, "TyperOption", None)
    argument = getattr(core, "TyperArgument", None)
    base = getattr(core, "_TyperParameter", None)
    if option is None or argument is None or base is None or getattr(option, "_prodshield", False):
        return None
    if not all(hasattr(base, a) for a in ("display_type", "display_name_raw")) or not hasattr(
        argument, "_usage_display_name"
    ):
        return None
    return option, argument, base


def _option_type(display_type: Any) -> Any:
    """An option's label: its metavar, nothing for a flag, else a name for its type."""

    def option_type(self: Any, ctx: Any) -> str | None:
        if self.metavar is not None:
            return str(self.metavar)
        if getattr(self, "is_flag", False) or getattr(self, "count", False):
            return None
        try:
            label = display_type(self, ctx)
        except Exception:  # a label is cosmetic: never break --help over it
            label = None
        if self.name == "output" and label == "<str>" and "file" in (self.help or "").lower():
            return "FILE"  # -o FILE given as text
        return metavar_for(self.name, label)

    return option_type


def _argument_name(self: Any) -> str:
    if self.metavar is not None:
        return str(self.metavar)
    return metavar_for(self.name, None) or str(self.name).upper()


def _argument_type(self: Any, ctx: Any) -> str | None:
    return None  # the name column already says what it is


def _argument_usage(self: Any) -> str:
    name = _argument_name(self)
    if self.nargs != 1:
        name += "..."
    return name if self.required else f"[{name}]"


def _argument_hint(self: Any, ctx: Any = None) -> str:
    """How an error names the argument: as the usage line does (``missing argument 'FILE...'``
    under ``Usage: ... FILE...``), not click's own metavar."""
    name = _argument_name(self)
    return f"'{name}...'" if self.nargs != 1 else f"'{name}'"
