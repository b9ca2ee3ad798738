"""``prodshield run-job``: run a command as the job behind a heartbeat check."""

from __future__ import annotations

from typing import Annotated

import typer

from prodshield.cli.common import ConfigOption, load, store_for

app = typer.Typer()


@app.command("run-job")
def run_job(
    name: Annotated[str, typer.Argument(help="The heartbeat check the job reports to.")],
    command: Annotated[list[str], typer.Argument(help="The command, after --.")],
    env: Annotated[
        str | None, typer.Option("--env", help="The check's environment, if it has several.")
    ] = None,
    config: ConfigOption = None,
) -> int:
    """Run a command as the job behind a heartbeat check: send start, run it, send success or
    its exit code (with the last 10 KB of output, secrets masked, when it fails).

    Exits with the command's exit code; a ping that cannot be sent is a warning on stderr.
    With serve.port 0 (and no serve.public_url) the pings go to the port the running serve
    recorded in the store.
    """
    from prodshield.config.checks import HeartbeatCheckConfig
    from prodshield.errors import UsageError
    from prodshield.monitor.heartbeats import PingBase, ensure_heartbeat
    from prodshield.monitor.jobs import run_job as run

    loaded = load(config)
    check = next((c for c in loaded.config.checks if c.name == name), None)
    if not isinstance(check, HeartbeatCheckConfig):
        beats = [c.name for c in loaded.config.checks if isinstance(c, HeartbeatCheckConfig)]
        raise UsageError(
            f"no heartbeat check named {name!r} (heartbeat checks: {', '.join(beats) or 'none'})"
        )
    envs = check.environments or [""]
    if env is None and len(envs) > 1:
        raise UsageError(f"{name} runs in {', '.join(envs)}: say which with --env")
    environment = env if env is not None else envs[0]
    if environment not in envs:
        raise UsageError(f"{name} has no environment {environment!r} ({', '.join(envs)})")
    store = store_for(loaded)
    try:
        beat = ensure_heartbeat(store, name, environment)
        base = PingBase.for_job(loaded.config, store)
    finally:
        store.close()
    if not base.port_known:
        # the job still runs (its exit code stays the job's): only its pings are lost
        typer.echo(
            "prodshield run-job: cannot ping: serve.port is 0 and no running `prodshield serve` "
            "has recorded the port it picked in the store; set serve.public_url (or a fixed "
            "serve.port) to the address this job reaches",
            err=True,
        )
        return run(None, command)
    return run(f"{base.url}/heartbeat/{beat.token}", command)
