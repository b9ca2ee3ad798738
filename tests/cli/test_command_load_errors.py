"""A command module that fails while it loads: the real error, never "no such command"."""

from __future__ import annotations

import sys

import pytest

from prodshield.cli import main as cli_main
from prodshield.cli.common import EXIT_ERROR


def test_key_error_while_loading_a_group_is_not_no_such_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(module: str) -> object:
        raise KeyError("LOGS_SETTING")

    cli_main.mounted.cache_clear()
    monkeypatch.setattr(cli_main, "_module_app", broken)
    monkeypatch.setattr(sys, "argv", ["prodshield", "logs", "scan", "x.log"])
    try:
        with pytest.raises(SystemExit) as exited:
            cli_main.main()
    finally:
        cli_main.mounted.cache_clear()
    err = capsys.readouterr().err
    assert exited.value.code == EXIT_ERROR
    assert "No such command" not in err
    assert "internal error" in err
    assert "command 'logs' could not be loaded" in err
    assert "LOGS_SETTING" in err
