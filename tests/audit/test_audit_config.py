"""Config family: files are parsed (not grepped), lines are right, bad files are skipped."""

from __future__ import annotations

import json
from pathlib import Path

from prodshield.audit import audit
from prodshield.audit.documents import parse_document
from prodshield.audit.suppress import write_baseline


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        p.chmod(0o600 if ".env" in name else 0o644)
    return root


def _rules(root: Path) -> list[tuple[str | None, int | None, str]]:
    report = audit([root], families="config")
    return sorted((f.path, f.line, f.rule) for f in report.findings)


def test_compose_without_version_key_and_lines(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "deploy/stack.yml": (
                "services:\n"
                "  db:\n"
                "    image: postgres:16\n"
                "    ports:\n"
                '      - "5432:5432"\n'
                "    environment:\n"
                "      - POSTGRES_PASSWORD=postgres\n"
                "  agent:\n"
                "    image: agent:1\n"
                "    privileged: true\n"
                "    volumes: ['/var/run/docker.sock:/var/run/docker.sock']\n"
            )
        },
    )
    assert _rules(tmp_path) == [
        ("deploy/stack.yml", 5, "config.compose-database-port-public"),
        ("deploy/stack.yml", 7, "config.compose-default-password"),
        ("deploy/stack.yml", 10, "config.compose-privileged"),
        ("deploy/stack.yml", 11, "config.compose-docker-socket"),
    ]


def test_plain_yaml_with_services_list_is_not_compose(tmp_path: Path) -> None:
    _tree(tmp_path, {"catalog.yml": "services:\n  - name: privileged\n    privileged: true\n"})
    assert _rules(tmp_path) == []


def test_multi_document_kubernetes_manifest(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "k8s/all.yaml": (
                "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n---\n"
                "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: backup}\nspec:\n"
                "  jobTemplate:\n    spec:\n      template:\n        spec:\n"
                "          hostPID: true\n"
                "          containers:\n            - name: dump\n              image: pg:16\n"
                "              securityContext: {runAsUser: 0}\n"
            )
        },
    )
    assert _rules(tmp_path) == [
        ("k8s/all.yaml", 13, "config.k8s-host-network"),
        ("k8s/all.yaml", 17, "config.k8s-run-as-root"),
    ]


def test_generic_formats_json_toml_ini_env(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "conf/app.json": '{\n  "name": "shop",\n  "http": {"verify_ssl": false}\n}\n',
            "conf/app.toml": 'title = "shop"\n[server]\ndebug = true\n',
            "conf/my.cnf": "[client]\nuser = x\n[mysqld]\nbind-address = 0.0.0.0\n",
            ".env": "APP=shop\nDATABASE_URL=postgres://admin:admin@db:5432/shop\n",
        },
    )
    assert _rules(tmp_path) == [
        (".env", 2, "config.default-credentials"),
        ("conf/app.json", 3, "config.tls-verify-disabled"),
        ("conf/app.toml", 3, "config.debug-enabled"),
        ("conf/my.cnf", 4, "config.database-listen-all"),
    ]


def test_parsing_beats_grepping(tmp_path: Path) -> None:
    """Comments, docstrings and dead strings mentioning a setting are not findings."""
    _tree(
        tmp_path,
        {
            "settings.py": '"""Never set DEBUG = True in production."""\n# DEBUG = True\n'
            'DEBUG = False\nNOTE = "ssl_verify: false is bad"\n',
            "nginx/site.conf": "# autoindex on;\nserver {\n  listen 80;\n  autoindex off;\n}\n",
            "Dockerfile": "FROM python:3.12\n# USER root\nUSER app\n",
        },
    )
    assert _rules(tmp_path) == []


def test_nginx_nested_blocks_and_quotes(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "nginx/nginx.conf": (
                "http {\n  server_tokens on;\n  server {\n    listen 443 ssl;\n"
                '    ssl_protocols "TLSv1.1" TLSv1.2;\n    location /files/ {\n      autoindex on;\n'
                "    }\n  }\n}\n"
            )
        },
    )
    assert _rules(tmp_path) == [
        ("nginx/nginx.conf", 2, "config.nginx-server-tokens"),
        ("nginx/nginx.conf", 5, "config.nginx-legacy-tls"),
        ("nginx/nginx.conf", 7, "config.nginx-autoindex"),
    ]


def test_workflow_on_key_and_job_permissions(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            ".github/workflows/deploy.yml": (
                "on: [push]\njobs:\n  deploy:\n    permissions: write-all\n    runs-on: ubuntu-latest\n"
                "    steps:\n      - run: make deploy\n"
            )
        },
    )
    assert _rules(tmp_path) == [(".github/workflows/deploy.yml", 4, "config.gha-write-all")]


def test_bad_files_are_counted_and_skipped(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "broken.yaml": "a: [1, 2\nb: {\n",
            "broken.json": "{not json",
            "broken.py": "def f(:\n",
            "nginx/bad.conf": "server {\n listen 80;\n",
            "ok/settings.py": "DEBUG = True\n",
        },
    )
    (tmp_path / "binary.json").write_bytes(b"\x00\x01\x02")
    report = audit([tmp_path], families="config")
    assert [(f.path, f.rule) for f in report.findings] == [
        ("ok/settings.py", "config.django-debug")
    ]
    joined = "\n".join(report.skipped)
    for name in ("broken.yaml", "broken.json", "broken.py", "bad.conf"):
        assert name in joined


def test_inline_allow_comment_and_baseline(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "settings.py": "DEBUG = True  # prodshield: allow config.django-debug\n"
            "# prodshield: allow\nALLOWED_HOSTS = ['*']\nCSRF_COOKIE_SECURE = False\n",
            "other/settings.py": "DEBUG = True  # prodshield: allow tls.expired\n",
        },
    )
    report = audit([tmp_path], families="config")
    assert sorted(f.rule for f in report.findings) == [
        "config.csrf-cookie-insecure",
        "config.django-debug",
    ]
    assert report.suppressed == {"inline": 2}
    baseline = tmp_path / "baseline.json"
    write_baseline(baseline, report.findings)
    assert json.loads(baseline.read_text())["findings"][0]["fingerprint"]
    again = audit([tmp_path], families="config", baseline=baseline)
    assert again.findings == [] and again.suppressed == {"inline": 2, "baseline": 2}
    # a baseline survives moving the line
    (tmp_path / "other/settings.py").write_text("\n\nDEBUG = True  # moved\n")
    assert audit([tmp_path], families="config", baseline=baseline).findings == []


def test_document_kinds() -> None:
    def kind(name: str, text: str = "") -> str | None:
        doc = parse_document(Path(name), text)
        return doc.kind if doc else None

    assert kind("docker-compose.prod.yml", "services: {}\n") == "compose"
    assert kind("stack.yaml", "services:\n  web: {image: x}\n") == "compose"
    assert kind(".github/workflows/ci.yml", "on: push\n") == "workflow"
    assert kind("k.yaml", "apiVersion: v1\nkind: Pod\n") == "k8s"
    assert kind("Dockerfile.prod", "FROM x:1\n") == "dockerfile"
    assert kind("site.conf", "server {\n}\n") == "nginx"
    assert kind("other.conf", "key value\n") is None
    assert kind(".env.staging", "A=1\n") == "dotenv"
    assert kind("README.md", "DEBUG = True") is None
