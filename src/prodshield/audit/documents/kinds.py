"""Recognising a configuration file by its name (and a YAML file by its content)."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

DOTENV_NAMES = re.compile(r"^(\.env(\..+)?|.+\.env)$", re.S)
"""An env file's name, lower-cased: ``.env``, ``.env.*`` or ``*.env``; any character may come
before ``.env`` or after ``.env.`` (a space, a tab, a newline, an escape)."""
ENV_TEMPLATE_NAMES = re.compile(
    r"^(\.env\.(example|sample|template|dist|defaults)|(example|sample|template|dist|defaults)\.env)$"
)
"""The env files committed to be copied (``.env.example``, ``sample.env``)."""


def is_env_file(name: str) -> bool:
    """Is a file named ``name`` an env file? The one definition every rule uses (the
    environment family reads it, ``permissions.env-file-readable`` judges its mode)."""
    return DOTENV_NAMES.match(name.lower()) is not None


def is_env_template(name: str) -> bool:
    """An env file committed to be copied (``.env.example``): no secrets expected, any mode."""
    return ENV_TEMPLATE_NAMES.match(name.lower()) is not None


COMPOSE_NAMES = re.compile(r"^(docker-)?compose([.-].+)?\.ya?ml$")


def classify(path: Path) -> str | None:
    """The kind of config file ``path`` is by name, or None when its name says nothing."""
    name = path.name.lower()
    suffix = path.suffix.lower()
    parts = [p.lower() for p in PurePosixPath(path.as_posix()).parts]
    if suffix == ".py":
        return "python"
    if name == "dockerfile" or name.startswith("dockerfile.") or name.endswith(".dockerfile"):
        return "dockerfile"
    if name == "pg_hba.conf":
        return "pghba"
    if name == "postgresql.conf" or name.endswith(".postgresql.conf"):
        return "pgconf"
    if name == "mongod.conf":
        return "yaml"
    if name.startswith("redis") and suffix == ".conf":
        return "redis"
    if is_env_file(name):
        return "dotenv"
    if suffix in (".yml", ".yaml"):
        return "yaml"
    if suffix == ".json":
        return "json"
    if suffix == ".toml":
        return "toml"
    if suffix in (".ini", ".cfg", ".cnf"):
        return "ini"
    if suffix == ".conf" and (name == "nginx.conf" or any("nginx" in p for p in parts[:-1])):
        return "nginx"
    if suffix == ".conf":
        return "conf"  # decided by content
    return None


def yaml_subkind(path: Path, docs: list[Any]) -> str:
    parts = [p.lower() for p in PurePosixPath(path.as_posix()).parts]
    if len(parts) >= 3 and parts[-3] == ".github" and parts[-2] == "workflows":
        return "workflow"
    maps = [d for d in docs if isinstance(d, dict)]
    if any("apiVersion" in d and "kind" in d for d in maps):
        return "k8s"
    if COMPOSE_NAMES.match(path.name.lower()):
        return "compose"
    for d in maps:
        services = d.get("services")
        if isinstance(services, dict) and services:
            keys = {"image", "build", "ports", "volumes", "environment", "command"}
            if all(isinstance(s, dict) and keys & set(s) for s in services.values()):
                return "compose"
    return "yaml"
