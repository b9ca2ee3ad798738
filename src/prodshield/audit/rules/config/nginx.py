"""nginx: protocols, ciphers, version banner, directory listings, CORS headers."""

from __future__ import annotations

from collections.abc import Iterable

from prodshield.audit.context import AuditContext
from prodshield.audit.documents import ConfigDoc, Directive, walk_directives
from prodshield.audit.finding import Severity
from prodshield.audit.rules.base import Hit, Sample
from prodshield.audit.rules.config.base import ConfigRule

NGINX = frozenset({"nginx"})
_SAFE = (
    "server {\n    listen 443 ssl;\n    server_name shop.example.com;\n"
    "    ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_ciphers HIGH:!aNULL:!MD5;\n"
    "    server_tokens off;\n    location / {\n        autoindex off;\n"
    "        proxy_pass http://127.0.0.1:8000;\n    }\n}\n"
)


def _sample(old: str, new: str) -> Sample:
    assert old in _SAFE
    return Sample("nginx/sites-enabled/shop.conf", _SAFE.replace(old, new))


def _named(doc: ConfigDoc, name: str) -> Iterable[Directive]:
    for d, _ in walk_directives(doc.directives):
        if d.name == name:
            yield d


class NginxLegacyProtocols(ConfigRule):
    type = "config.nginx-legacy-tls"
    severity = Severity.HIGH
    title = "nginx accepts SSLv3 / TLS 1.0 / TLS 1.1"
    fix = "ssl_protocols TLSv1.2 TLSv1.3;"
    kinds = NGINX
    vulnerable = _sample("TLSv1.2 TLSv1.3", "TLSv1 TLSv1.1 TLSv1.2")
    fixed = _sample("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for d in _named(subject, "ssl_protocols"):
            legacy = [a for a in d.args if a in ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1")]
            if legacy:
                yield Hit(f"ssl_protocols enables {' '.join(legacy)}", d.line, key=f"{d.line}")


WEAK_CIPHER_WORDS = (
    "RC4",
    "DES",
    "MD5",
    "NULL",
    "EXPORT",
    "EXP-",
    "ADH",
    "AECDH",
    "LOW",
    "PSK",
    "SEED",
    "IDEA",
    "aNULL",
    "eNULL",
)


class NginxWeakCiphers(ConfigRule):
    type = "config.nginx-weak-ciphers"
    severity = Severity.HIGH
    title = "nginx enables weak ciphers"
    fix = "ssl_ciphers HIGH:!aNULL:!MD5; (or Mozilla's intermediate list)"
    kinds = NGINX
    vulnerable = _sample("HIGH:!aNULL:!MD5", "RC4-SHA:DES-CBC3-SHA:HIGH")
    fixed = _sample("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for d in _named(subject, "ssl_ciphers"):
            spec = " ".join(d.args)
            weak = [
                t
                for t in spec.replace(" ", ":").split(":")
                if t and t[0] not in "!-+" and any(w in t for w in WEAK_CIPHER_WORDS)
            ]
            if weak or spec.strip().upper() in ("ALL", "ALL:@SECLEVEL=0"):
                yield Hit(f"ssl_ciphers enables {':'.join(weak) or spec}", d.line, key=f"{d.line}")


class _OnOff(ConfigRule):
    directive = ""
    why = ""

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for d in _named(subject, self.directive):
            if d.args and d.args[0] == "on":
                yield Hit(f"{self.directive} on: {self.why}", d.line, key=f"{d.line}")


class NginxServerTokens(_OnOff):
    type = "config.nginx-server-tokens"
    severity = Severity.LOW
    title = "nginx shows its version (server_tokens on)"
    fix = "server_tokens off;"
    directive, why = "server_tokens", "the exact nginx version is sent in headers and error pages"
    kinds = NGINX
    vulnerable = _sample("server_tokens off", "server_tokens on")
    fixed = _sample("", "")


class NginxAutoindex(_OnOff):
    type = "config.nginx-autoindex"
    severity = Severity.MEDIUM
    title = "nginx lists directories (autoindex on)"
    fix = "autoindex off;"
    directive, why = "autoindex", "directory contents are listed to anyone"
    kinds = NGINX
    vulnerable = _sample("autoindex off", "autoindex on")
    fixed = _sample("", "")


class NginxCorsWildcardCredentials(ConfigRule):
    type = "config.nginx-cors-wildcard-credentials"
    severity = Severity.HIGH
    title = "nginx sends Access-Control-Allow-Origin * (or the echoed Origin) with credentials"
    fix = "Answer only known origins (map $http_origin) when Allow-Credentials is true."
    kinds = NGINX
    vulnerable = _sample(
        "autoindex off;",
        "add_header Access-Control-Allow-Origin $http_origin;\n"
        "        add_header Access-Control-Allow-Credentials true;",
    )
    fixed = _sample(
        "autoindex off;",
        "add_header Access-Control-Allow-Origin https://shop.example.com;\n"
        "        add_header Access-Control-Allow-Credentials true;",
    )

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for d, block in walk_directives(subject.directives):
            if d.name != "add_header" or len(d.args) < 2:
                continue
            if d.args[0].lower() == "access-control-allow-origin" and d.args[1] in (
                "*",
                "$http_origin",
            ):
                creds = any(
                    s.name == "add_header"
                    and len(s.args) >= 2
                    and s.args[0].lower() == "access-control-allow-credentials"
                    and s.args[1].lower() == "true"
                    for s in block
                )
                if creds:
                    yield Hit(
                        f"Allow-Origin {d.args[1]} with Allow-Credentials true",
                        d.line,
                        key=f"{d.line}",
                    )


RULES = (
    NginxLegacyProtocols(),
    NginxWeakCiphers(),
    NginxServerTokens(),
    NginxAutoindex(),
    NginxCorsWildcardCredentials(),
)
