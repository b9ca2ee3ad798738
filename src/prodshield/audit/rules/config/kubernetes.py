"""Kubernetes manifests: pod security and plaintext secrets."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from prodshield.audit.context import AuditContext
from prodshield.audit.documents import ConfigDoc, truthy
from prodshield.audit.finding import Severity
from prodshield.audit.rules.base import Hit, Sample
from prodshield.audit.rules.config.base import ConfigRule, is_reference, secret_like

K8S = frozenset({"k8s"})
_SAFE = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  template:
    spec:
      hostNetwork: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
      containers:
        - name: web
          image: shop/web:1.4.2
          securityContext:
            privileged: false
            allowPrivilegeEscalation: false
          env:
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef: {name: shop-db, key: password}
"""


def _sample(old: str, new: str) -> Sample:
    assert old in _SAFE
    return Sample("k8s/deployment.yaml", _SAFE.replace(old, new))


Path = tuple[Any, ...]


def pod_specs(doc: ConfigDoc) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every mapping holding a ``containers`` list, with its path (any workload kind)."""

    def walk(node: Any, path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
        if isinstance(node, dict):
            if isinstance(node.get("containers"), list):
                yield path, node
            for k, v in node.items():
                yield from walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, (*path, i))

    for index, d in enumerate(doc.data):
        if isinstance(d, dict) and "kind" in d:
            yield from walk(d, (index,))


def containers(doc: ConfigDoc) -> Iterator[tuple[Path, dict[str, Any], dict[str, Any]]]:
    for path, spec in pod_specs(doc):
        for key in ("containers", "initContainers", "ephemeralContainers"):
            for i, c in enumerate(spec.get(key) or []):
                if isinstance(c, dict):
                    yield (*path, key, i), c, spec


def _sc(node: dict[str, Any]) -> dict[str, Any]:
    sc = node.get("securityContext")
    return sc if isinstance(sc, dict) else {}


class K8sPrivileged(ConfigRule):
    type = "config.k8s-privileged"
    severity = Severity.CRITICAL
    title = "Kubernetes container runs privileged"
    fix = "securityContext.privileged: false"
    kinds = K8S
    vulnerable = _sample("privileged: false", "privileged: true")
    fixed = _sample("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for path, c, _ in containers(subject):
            if truthy(_sc(c).get("privileged")):
                yield Hit(
                    f"container {c.get('name')} is privileged",
                    subject.line_of((*path, "securityContext", "privileged")),
                    key=str(path),
                )


class K8sPrivilegeEscalation(ConfigRule):
    type = "config.k8s-privilege-escalation"
    severity = Severity.HIGH
    title = "Kubernetes container allows privilege escalation"
    fix = "securityContext.allowPrivilegeEscalation: false"
    kinds = K8S
    vulnerable = _sample("allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true")
    fixed = _sample("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for path, c, _ in containers(subject):
            if truthy(_sc(c).get("allowPrivilegeEscalation")):
                yield Hit(
                    f"container {c.get('name')} sets allowPrivilegeEscalation: true",
                    subject.line_of((*path, "securityContext", "allowPrivilegeEscalation")),
                    key=str(path),
                )


class K8sRunAsRoot(ConfigRule):
    type = "config.k8s-run-as-root"
    severity = Severity.HIGH
    title = "Kubernetes pod or container runs as root (runAsUser: 0)"
    fix = "runAsNonRoot: true and a non-zero runAsUser"
    kinds = K8S
    vulnerable = _sample("runAsNonRoot: true\n        runAsUser: 10001", "runAsUser: 0")
    fixed = _sample("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for path, spec in pod_specs(subject):
            if _sc(spec).get("runAsUser") == 0:
                yield Hit(
                    "pod securityContext.runAsUser: 0",
                    subject.line_of((*path, "securityContext", "runAsUser")),
                    key=str(path),
                )
        for path, c, _ in containers(subject):
            if _sc(c).get("runAsUser") == 0:
                yield Hit(
                    f"container {c.get('name')} runAsUser: 0",
                    subject.line_of((*path, "securityContext", "runAsUser")),
                    key=str(path),
                )


class K8sHostNamespaces(ConfigRule):
    type = "config.k8s-host-network"
    severity = Severity.HIGH
    title = "Kubernetes pod shares the host network / PID / IPC namespace"
    fix = "Remove hostNetwork/hostPID/hostIPC (or set them false)."
    kinds = K8S
    vulnerable = _sample("hostNetwork: false", "hostNetwork: true")
    fixed = _sample("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for path, spec in pod_specs(subject):
            for key in ("hostNetwork", "hostPID", "hostIPC"):
                if truthy(spec.get(key)):
                    yield Hit(f"{key}: true", subject.line_of((*path, key)), key=f"{path}:{key}")


class K8sPlaintextSecretEnv(ConfigRule):
    type = "config.k8s-plaintext-secret-env"
    severity = Severity.HIGH
    title = "Kubernetes env holds a secret in plain text"
    fix = "Use valueFrom.secretKeyRef (or an external secret store) instead of value:"
    kinds = K8S
    vulnerable = _sample(
        "valueFrom:\n                secretKeyRef: {name: shop-db, key: password}",
        "value: Sup3rS3cretPw",
    )
    fixed = _sample("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for path, c, _ in containers(subject):
            for i, e in enumerate(c.get("env") or []):
                if not isinstance(e, dict):
                    continue
                name, value = str(e.get("name", "")), e.get("value")
                if isinstance(value, str) and secret_like(name) and not is_reference(value):
                    yield Hit(
                        f"env {name} has a literal value",
                        subject.line_of((*path, "env", i, "value")),
                        key=f"{path}:{name}",
                    )


class K8sSecretManifest(ConfigRule):
    type = "config.k8s-secret-manifest"
    severity = Severity.HIGH
    title = "Kubernetes Secret with its values committed (data/stringData)"
    fix = "Keep Secret values out of the repository (sealed-secrets, SOPS, external-secrets)."
    kinds = K8S
    vulnerable = Sample(
        "k8s/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: shop-db\nstringData:\n  password: Sup3rS3cretPw\n",  # prodshield:allow
    )
    fixed = Sample(
        "k8s/secret.yaml",
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: shop-db\n"
        "spec:\n  encryptedData:\n    password: AgBy8hCi\n",  # prodshield:allow
    )

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for index, d in enumerate(subject.data):
            if not isinstance(d, dict) or d.get("kind") != "Secret":
                continue
            for key in ("stringData", "data"):
                values = d.get(key)
                if isinstance(values, dict) and any(v not in (None, "") for v in values.values()):
                    yield Hit(
                        f"Secret {d.get('metadata', {}).get('name', '?')} carries {key} values",
                        subject.line_of((index, key)),
                        key=f"{index}:{key}",
                    )


RULES = (
    K8sPrivileged(),
    K8sPrivilegeEscalation(),
    K8sRunAsRoot(),
    K8sHostNamespaces(),
    K8sPlaintextSecretEnv(),
    K8sSecretManifest(),
)
