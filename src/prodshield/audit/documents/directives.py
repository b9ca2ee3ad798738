"""Line-level statements (nginx, redis.conf, pg_hba.conf, Dockerfile) and reading them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class Directive:
    """One nginx / redis / Dockerfile / pg_hba line-level statement."""

    name: str
    args: list[str]
    line: int
    block: list[Directive] | None = None
    raw: str = ""


def walk_directives(ds: list[Directive]) -> Iterator[tuple[Directive, list[Directive]]]:
    """Every directive with the block (sibling list) it sits in."""
    for d in ds:
        yield d, ds
        if d.block is not None:
            yield from walk_directives(d.block)


def dockerfile_assignments(d: Directive) -> Iterator[tuple[str, str]]:
    """``ENV A=1 B=2`` / ``ENV A 1`` / ``ARG A=1`` -> (name, value) pairs."""
    if not d.args:
        return
    if d.name == "ENV" and "=" not in d.args[0]:
        yield d.args[0], " ".join(d.args[1:])
        return
    for a in d.args:
        name, sep, value = a.partition("=")
        if sep:
            yield name, value
