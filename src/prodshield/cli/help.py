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
}
_DIR_NAMES = ("dir", "directory", "out", "folder")
_FILE_NAMES = ("config", "output", "baseline", "ca_file", "journal", "files", "experiment")
_FORMATS = {"fmt": "FORMAT", "format": "FORMAT", "output": "FORMAT", "log_format": "FORMAT"}
_LABEL = re.compile(r"^<(.*)>(\.\.\.)?$")


def metavar_for(name: str | None, label: str | None, *, is_flag: bool = False) -> str | None:
    """The metavar for a parameter called ``name`` whose Typer label is ``label`` (``<str>``)."""
    if is_flag:
        return None
    key = (name or "").lower()
    inner = label or ""
    match = _LABEL.match(inner)
    if match:
        inner = match.group(1)
    list_of = re.match(r"^list\[(.*)\]$", inner)
    if list_of:
        inner = list_of.group(1)
    low = inner.lower()
    if low == "bool":
        return None
    if "|" in inner:
        # the choices themselves (table|json); a long list is named, and the help lists it
        if len(inner) <= 16:
            return inner
        return NAMED.get(key) or _FORMATS.get(key, key.upper())
    if low in ("path", "file", "directory", "file or directory", "filename"):
        if low == "directory" or key in _DIR_NAMES:
            return "DIR"
        if key in _FILE_NAMES:
            return "FILE"
        return NAMED.get(key, "PATH")
    if key in NAMED:
        return NAMED[key]
    if low.startswith("int"):
        return "N"
    if low.startswith("float"):
        return "NUMBER"
    if key in _FORMATS:
        return _FORMATS[key]
    return key.upper().rstrip("_") or None


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
    option = getattr(core, "TyperOption", None)
    argument = getattr(core, "TyperArgument", None)
    base = getattr(core, "_TyperParameter", None)
    if option is None or argument is None or base is None or getattr(option, "_prodshield", False):
        return
    if not all(hasattr(base, a) for a in ("display_type", "display_name_raw")) or not hasattr(
        argument, "_usage_display_name"
    ):
        return
    display_type = base.display_type

    def option_type(self: Any, ctx: Any) -> str | None:
        if self.metavar is not None:
            return str(self.metavar)
        if getattr(self, "is_flag", False) or getattr(self, "count", False):
            return None
        try:
            label = display_type(self, ctx)
        except Exception:  # a label is cosmetic: never break --help over it
            label = None
        return metavar_for(self.name, label)

    def argument_name(self: Any) -> str:
        if self.metavar is not None:
            return str(self.metavar)
        return metavar_for(self.name, None) or str(self.name).upper()

    def argument_type(self: Any, ctx: Any) -> str | None:
        return None  # the name column already says what it is

    def argument_usage(self: Any) -> str:
        name = argument_name(self)
        if self.nargs != 1:
            name += "..."
        return name if self.required else f"[{name}]"

    option.display_type_rich = option_type
    argument.display_name_raw = property(argument_name)
    argument.display_type_rich = argument_type
    argument._usage_display_name = argument_usage
    option._prodshield = True
