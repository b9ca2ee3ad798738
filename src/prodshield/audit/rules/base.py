"""The one protocol every audit rule implements, and what rules receive and return.

A rule is a small class with a stable ``type`` (``family.name``: the rule id reports, baselines
and suppressions print), a severity, a title, the fix it
proposes, and two samples: ``vulnerable`` (the rule must fire on it) and ``fixed`` (its whole
family must stay silent on it). Its family builds the subject (a parsed config document, a file's
stat, a TLS observation, an environment) and calls ``check``; the rule yields :class:`Hit` s.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from prodshield.audit.finding import Severity

if TYPE_CHECKING:
    from prodshield.audit.context import AuditContext
    from prodshield.audit.finding import AuditFinding

S = TypeVar("S", contravariant=True)


@dataclass(frozen=True)
class Hit:
    """A rule fired. ``key`` makes the fingerprint stable and distinct within one file."""

    message: str
    line: int | None = None
    key: str = ""
    fix: str | None = None
    severity: Severity | None = None
    fingerprint: str | None = None
    """Set when the finding already has an identity (the secret engine's), so baselines are shared."""
    live: bool = False
    """A secret its provider accepted: the finding cannot be suppressed."""
    secret_id: str | None = None
    """The secret's keyed id in this run, when the hit is a secret: the same secret found in
    several places becomes one finding listing them (``prodshield.audit.scan``)."""


@dataclass(frozen=True)
class Sample:
    """Input a test can materialise: a file (with mode/owner) or a symlink to one, a TLS bench
    profile, an env."""

    path: str = ""
    text: str = ""
    mode: int | None = None
    dir_mode: int | None = None
    uid: int | None = None
    profile: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    link: str = ""
    """When set, ``path`` is a symlink to this path (relative to the link's folder), and the
    file it leads to holds ``text`` with ``mode``."""


def sample_fields(sample: Sample) -> dict[str, Any]:
    """The fields of ``sample`` that are set (what a test materialises), as a dict."""
    values = {
        "path": sample.path,
        "text": sample.text,
        "mode": sample.mode,
        "dir_mode": sample.dir_mode,
        "uid": sample.uid,
        "profile": sample.profile,
        "env": dict(sample.env),
        "link": sample.link,
    }
    return {k: v for k, v in values.items() if v not in (None, "", {})}


class ExampleFromSample:
    """A rule's ``example``: its ``vulnerable`` sample (the input the rule must fire on)."""

    vulnerable: Sample

    @property
    def example(self) -> dict[str, Any]:
        return sample_fields(self.vulnerable)


@runtime_checkable
class Rule(Protocol[S]):
    type: str
    """The rule's id, ``family.name``: printed in reports (SARIF ruleId, JUnit test cases),
    baselines and suppressions, and the key of ``REGISTRY``."""
    family: str
    severity: Severity
    title: str
    fix: str
    vulnerable: Sample
    fixed: Sample

    @property
    def example(self) -> dict[str, Any]:
        """The ``vulnerable`` sample's fields (``ExampleFromSample``)."""
        ...

    def check(self, subject: S, ctx: AuditContext) -> Iterable[Hit]:
        """Yield a hit for every problem in ``subject``; nothing when it is safe."""
        ...


class Family(Protocol):
    """A folder of rules plus the code that finds their subjects."""

    name: str
    rules: tuple[Rule[Any], ...]

    def run(self, ctx: AuditContext, rules: tuple[Rule[Any], ...]) -> Iterator[AuditFinding]:
        """Collect subjects from ``ctx`` and run ``rules`` (a subset of ``self.rules``) on them."""
        ...
