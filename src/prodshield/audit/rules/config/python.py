"""Django and Flask settings and Python code, read through :mod:`ast`."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

from prodshield.audit.context import AuditContext
from prodshield.audit.documents import ConfigDoc, assigned_name, dotted
from prodshield.audit.finding import Severity
from prodshield.audit.rules.base import Hit, Sample
from prodshield.audit.rules.config.base import ConfigRule

PY = frozenset({"python"})


def _assignments(doc: ConfigDoc) -> list[tuple[str, ast.expr, int]]:
    """(name, value node, line) for ``X = v``, ``app.config["X"] = v``, ``app.x = v``."""
    if "assignments" not in doc.memo:
        doc.memo["assignments"] = list(_find_assignments(doc))
    found: list[tuple[str, ast.expr, int]] = doc.memo["assignments"]
    return found


def _find_assignments(doc: ConfigDoc) -> Iterator[tuple[str, ast.expr, int]]:
    for node in doc.nodes():
        if isinstance(node, ast.Assign):
            for t in node.targets:
                name = assigned_name(t)
                if name:
                    yield name, node.value, node.lineno
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            name = assigned_name(node.target)
            if name:
                yield name, node.value, node.lineno


def _calls(doc: ConfigDoc) -> list[ast.Call]:
    if "calls" not in doc.memo:
        doc.memo["calls"] = [n for n in doc.nodes() if isinstance(n, ast.Call)]
    calls: list[ast.Call] = doc.memo["calls"]
    return calls


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    for k in call.keywords:
        if k.arg == name:
            return k.value
    return None


def _is_const(node: ast.expr | None, value: object) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


class DjangoDebug(ConfigRule):
    type = "config.django-debug"
    severity = Severity.HIGH
    title = "Django DEBUG is on"
    fix = "Set DEBUG = False in production settings (read it from the environment, default off)."
    kinds = PY
    vulnerable = Sample("settings.py", "INSTALLED_APPS = []\nDEBUG = True\n")
    fixed = Sample(
        "settings.py", 'import os\nINSTALLED_APPS = []\nDEBUG = os.environ.get("DEBUG") == "1"\n'
    )

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        assert subject.tree is not None
        for stmt in subject.tree.body:
            if isinstance(stmt, ast.Assign) and _is_const(stmt.value, True):
                for t in stmt.targets:
                    if isinstance(t, ast.Name) and t.id in ("DEBUG", "TEMPLATE_DEBUG"):
                        yield Hit(
                            f"{t.id} = True: tracebacks and settings are shown to visitors",
                            stmt.lineno,
                            key=t.id,
                        )


class AllowedHostsWildcard(ConfigRule):
    type = "config.allowed-hosts-wildcard"
    severity = Severity.HIGH
    title = "ALLOWED_HOSTS accepts any host"
    fix = "List the real host names in ALLOWED_HOSTS (Host header attacks, cache poisoning)."
    kinds = PY
    vulnerable = Sample("settings.py", "ALLOWED_HOSTS = ['*']\n")
    fixed = Sample("settings.py", "ALLOWED_HOSTS = ['shop.example.com']\n")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for p in subject.pairs:
            if p.path[1] == "ALLOWED_HOSTS" and p.value in ("*", ".*"):
                yield Hit("ALLOWED_HOSTS contains '*'", p.line, key="ALLOWED_HOSTS")


_SAMPLE_KEY = "k8Jd02nV7qLz0PqXr9sT4uW1yB6cE3fH"  # prodshield:allow (a rule sample)

PLACEHOLDERS = (
    "changeme",
    "change-me",
    "change_me",
    "django-insecure",
    "your-secret",
    "yoursecret",
    "secret",
    "insecure",
    "default",
    "development",
    "dev-key",
    "xxx",
    "todo",
    "test",
)


def _secret_literal(subject: ConfigDoc) -> Iterator[tuple[str, str, int]]:
    assert subject.tree is not None
    for name, value, line in _assignments(subject):
        if name in ("SECRET_KEY", "secret_key", "JWT_SECRET_KEY", "SECURITY_PASSWORD_SALT") and (
            isinstance(value, ast.Constant) and isinstance(value.value, str)
        ):
            yield name, value.value, line


def _placeholder(value: str) -> bool:
    v = value.lower()
    return len(value) < 16 or any(w in v for w in PLACEHOLDERS)


class HardcodedSecretKey(ConfigRule):
    type = "config.hardcoded-secret-key"
    severity = Severity.HIGH
    title = "Secret key hard-coded in the source"
    fix = "Read SECRET_KEY from the environment or a secret store; rotate the committed one."
    kinds = PY
    vulnerable = Sample("settings.py", f"SECRET_KEY = '{_SAMPLE_KEY}'\n")
    fixed = Sample("settings.py", "import os\nSECRET_KEY = os.environ['DJANGO_SECRET_KEY']\n")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for name, value, line in _secret_literal(subject):
            if value and not _placeholder(value):
                yield Hit(f"{name} is a literal in the code", line, key=name)


class PlaceholderSecretKey(ConfigRule):
    type = "config.placeholder-secret-key"
    severity = Severity.CRITICAL
    title = "Secret key is a placeholder"
    fix = "Generate a long random SECRET_KEY and read it from the environment."
    kinds = PY
    vulnerable = Sample(
        "app.py", "from flask import Flask\napp = Flask(__name__)\napp.secret_key = 'changeme'\n"
    )
    fixed = Sample(
        "app.py",
        "import os\nfrom flask import Flask\napp = Flask(__name__)\n"
        "app.secret_key = os.environ['FLASK_SECRET_KEY']\n",
    )

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for name, value, line in _secret_literal(subject):
            if not value or _placeholder(value):
                yield Hit(f"{name} is a guessable placeholder ({len(value)} chars)", line, key=name)


class _CookieRule(ConfigRule):
    setting = ""

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        assert subject.tree is not None
        for name, value, line in _assignments(subject):
            if name == self.setting and _is_const(value, False):
                yield Hit(f"{name} = False: the cookie is sent over plain HTTP", line, key=name)


class SessionCookieInsecure(_CookieRule):
    type = "config.session-cookie-insecure"
    severity = Severity.MEDIUM
    title = "Session cookie not marked Secure"
    fix = "Set SESSION_COOKIE_SECURE = True."
    setting = "SESSION_COOKIE_SECURE"
    kinds = PY
    vulnerable = Sample("settings.py", "SESSION_COOKIE_SECURE = False\n")
    fixed = Sample("settings.py", "SESSION_COOKIE_SECURE = True\n")


class CsrfCookieInsecure(_CookieRule):
    type = "config.csrf-cookie-insecure"
    severity = Severity.MEDIUM
    title = "CSRF cookie not marked Secure"
    fix = "Set CSRF_COOKIE_SECURE = True."
    setting = "CSRF_COOKIE_SECURE"
    kinds = PY
    vulnerable = Sample("settings.py", "CSRF_COOKIE_SECURE = False\n")
    fixed = Sample("settings.py", "CSRF_COOKIE_SECURE = True\n")


class FlaskDebug(ConfigRule):
    type = "config.flask-debug"
    severity = Severity.HIGH
    title = "Flask debug mode on (interactive debugger)"
    fix = "Remove debug=True; run behind a WSGI server with debug off."
    kinds = PY
    vulnerable = Sample(
        "app.py",
        "from flask import Flask\napp = Flask(__name__)\napp.run(host='127.0.0.1', debug=True)\n",
    )
    fixed = Sample(
        "app.py", "from flask import Flask\napp = Flask(__name__)\napp.run(host='127.0.0.1')\n"
    )

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        assert subject.tree is not None
        for call in _calls(subject):
            if dotted(call.func).endswith(".run") and _is_const(_kw(call, "debug"), True):
                yield Hit(
                    "app.run(debug=True) enables the Werkzeug debugger (remote code execution)",
                    call.lineno,
                    key="run",
                )
        for stmt in subject.nodes():
            if isinstance(stmt, ast.Assign) and _is_const(stmt.value, True):
                for t in stmt.targets:
                    if (isinstance(t, ast.Attribute) and t.attr == "debug") or (
                        isinstance(t, ast.Subscript)
                        and dotted(t.value).endswith("config")
                        and assigned_name(t) == "DEBUG"
                    ):
                        yield Hit("Flask debug set to True", stmt.lineno, key=f"debug{stmt.lineno}")


class PythonTlsVerifyDisabled(ConfigRule):
    type = "config.python-tls-verify-disabled"
    severity = Severity.HIGH
    title = "TLS certificate verification disabled in code"
    fix = "Remove verify=False / CERT_NONE; pass verify='/path/to/ca.pem' for a private CA."
    kinds = PY
    vulnerable = Sample(
        "client.py", "import requests\nr = requests.get('https://api.internal', verify=False)\n"
    )
    fixed = Sample(
        "client.py",
        "import requests\nr = requests.get('https://api.internal', verify='/etc/ssl/ca.pem')\n",
    )

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        assert subject.tree is not None
        for call in _calls(subject):
            name = dotted(call.func)
            if _is_const(_kw(call, "verify"), False) or _is_const(_kw(call, "ssl"), False):
                yield Hit(
                    f"{name or 'call'}(verify=False)", call.lineno, key=f"{name}:{call.lineno}"
                )
            elif name.endswith("_create_unverified_context"):
                yield Hit("ssl._create_unverified_context()", call.lineno, key=name)
        for node in subject.nodes():
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    attr = t.attr if isinstance(t, ast.Attribute) else ""
                    if attr == "verify_mode" and dotted(node.value).endswith("CERT_NONE"):
                        yield Hit("verify_mode = CERT_NONE", node.lineno, key="verify_mode")
                    elif attr == "check_hostname" and _is_const(node.value, False):
                        yield Hit("check_hostname = False", node.lineno, key="check_hostname")
                    elif attr == "verify" and _is_const(node.value, False):
                        yield Hit("session.verify = False", node.lineno, key="session.verify")


class Urllib3WarningsDisabled(ConfigRule):
    type = "config.urllib3-warnings-disabled"
    severity = Severity.LOW
    title = "urllib3 warnings silenced (hides unverified HTTPS)"
    fix = "Remove urllib3.disable_warnings(); fix the certificate problem it hides."
    kinds = PY
    vulnerable = Sample("client.py", "import urllib3\nurllib3.disable_warnings()\n")
    fixed = Sample("client.py", "import urllib3\nhttp = urllib3.PoolManager()\n")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        assert subject.tree is not None
        for call in _calls(subject):
            if dotted(call.func).endswith("disable_warnings"):
                yield Hit("urllib3.disable_warnings() called", call.lineno, key="disable_warnings")


class PythonCorsWildcardCredentials(ConfigRule):
    type = "config.python-cors-wildcard-credentials"
    severity = Severity.HIGH
    title = "CORS allows any origin with credentials (Flask-CORS / django-cors-headers)"
    fix = "List the allowed origins explicitly when credentials are allowed."
    kinds = PY
    vulnerable = Sample(
        "app.py",
        "from flask import Flask\nfrom flask_cors import CORS\napp = Flask(__name__)\n"
        "CORS(app, origins='*', supports_credentials=True)\n",
    )
    fixed = Sample(
        "app.py",
        "from flask import Flask\nfrom flask_cors import CORS\napp = Flask(__name__)\n"
        "CORS(app, origins=['https://shop.example.com'], supports_credentials=True)\n",
    )

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        assert subject.tree is not None
        for call in _calls(subject):
            if dotted(call.func).split(".")[-1] in ("CORS", "cross_origin") and _is_const(
                _kw(call, "supports_credentials"), True
            ):
                origins = _kw(call, "origins") or _kw(call, "resources")
                if origins is None or (isinstance(origins, ast.Constant) and origins.value == "*"):
                    yield Hit(
                        "CORS(origins='*', supports_credentials=True)", call.lineno, key="CORS"
                    )
        values: dict[str, tuple[object, int]] = {}
        assert subject.tree is not None
        for name, value, line in _assignments(subject):
            if isinstance(value, ast.Constant):
                values[name] = (value.value, line)
        allow_all = values.get("CORS_ALLOW_ALL_ORIGINS") or values.get("CORS_ORIGIN_ALLOW_ALL")
        creds = values.get("CORS_ALLOW_CREDENTIALS")
        if allow_all and allow_all[0] is True and creds and creds[0] is True:
            yield Hit(
                "CORS_ALLOW_ALL_ORIGINS with CORS_ALLOW_CREDENTIALS", allow_all[1], key="django"
            )


RULES = (
    DjangoDebug(),
    AllowedHostsWildcard(),
    HardcodedSecretKey(),
    PlaceholderSecretKey(),
    SessionCookieInsecure(),
    CsrfCookieInsecure(),
    FlaskDebug(),
    PythonTlsVerifyDisabled(),
    Urllib3WarningsDisabled(),
    PythonCorsWildcardCredentials(),
)
