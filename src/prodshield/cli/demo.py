"""``prodshield demo``: the whole service against a bundled demo platform on loopback."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path
from typing import Annotated

import typer

from prodshield.cli.common import console
from prodshield.errors import ProdshieldError

app = typer.Typer()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@app.command("demo")
def demo(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            metavar="DIR",
            help="Keep the demo's files (config, store, logs, planted tree) in DIR. Default: a "
            "temporary folder, removed when the demo stops.",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int, typer.Option("--port", help="Port of the dashboard (0: any free port).")
    ] = 8080,
    duration: Annotated[
        float | None,
        typer.Option("--duration", metavar="SECONDS", help="Stop after this many seconds."),
    ] = None,
) -> None:
    """Start a demo platform and `prodshield serve` watching it. Ctrl-C stops everything.

    The platform is a shop API in production and staging, writing real logs, with a flaky
    endpoint, planted incidents, an insecure config and a self-signed TLS endpoint; the store is
    the embedded SQLite file.
    """
    import shutil
    import tempfile

    from prodshield.cli.config_checks import load_checked
    from prodshield.demo.platform import Platform, shield_yaml
    from prodshield.store import open_store
    from prodshield.web.security import generate_token
    from prodshield.web.server import serve

    temporary = directory is None
    if directory is None:
        # never in the current folder (a repository, say): a fresh temporary one, removed at
        # the end, unless --dir says where to keep the files
        directory = Path(tempfile.mkdtemp(prefix="prodshield-demo-"))
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)  # it holds the store
    if port:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                port = _free_port()
    else:
        port = _free_port()
    platform = Platform(directory, 0, 0, 0, 0)  # each bound by the system when it starts
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []

    def run_platform() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(platform.start())
        except BaseException as exc:
            failure.append(exc)
            started.set()
            return
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run_platform, name="demo-platform", daemon=True)
    thread.start()
    if not started.wait(120) or failure:
        if temporary:
            shutil.rmtree(directory, ignore_errors=True)
        why = f"{type(failure[0]).__name__}: {failure[0]}" if failure else "no answer in 120 s"
        raise ProdshieldError(f"the demo platform did not start ({why})")
    config_path = directory / "shield.yaml"
    config_path.write_text(
        shield_yaml(platform, f"sqlite:///{directory / 'prodshield.db'}").replace(
            "port: 0", f"port: {port}"
        ),
        encoding="utf-8",
    )
    loaded = load_checked(config_path)
    store = open_store(loaded.config.storage, base_dir=loaded.base_dir)
    token = generate_token()
    out = console()
    stopper: threading.Timer | None = None

    def ready(url: str) -> None:
        out.print(
            f"demo platform: production http://127.0.0.1:{platform.production_port}, "
            f"staging http://127.0.0.1:{platform.staging_port}, TLS https://127.0.0.1:{platform.tls_port}"
        )
        kept = "removed when the demo stops; --dir DIR keeps them" if temporary else "kept"
        out.print(f"config: {config_path} (files {kept})")
        out.print(f"alerts the team-chat webhook received: {directory / 'alerts.jsonl'}")
        out.print(f"status page: {url}")
        out.print(f"dashboard:   {url}dashboard   login token: {token}")
        out.print(
            "within a minute: checks, an incident on /api/orders (opened, then resolved), log and "
            "audit findings. Ctrl-C stops everything."
        )

    if duration:
        import os
        import signal

        stopper = threading.Timer(duration, lambda: os.kill(os.getpid(), signal.SIGTERM))
        stopper.daemon = True
        stopper.start()
    try:
        serve(loaded, store, token=token, host="127.0.0.1", port=port, on_ready=ready)
    finally:
        if stopper is not None:
            stopper.cancel()
        asyncio.run_coroutine_threadsafe(platform.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        store.close()
        if temporary:
            shutil.rmtree(directory, ignore_errors=True)
        out.print("demo stopped")
