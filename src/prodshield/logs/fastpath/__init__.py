"""Vectorised analysers for large files of one well-known format (polars, when installed)."""

from __future__ import annotations

from types import ModuleType

_sigint_restored = False


def load_polars() -> ModuleType:
    """polars, imported so that Ctrl-C still interrupts the command.

    Importing polars installs its own SIGINT handler, which restarts a blocked read instead of
    raising KeyboardInterrupt: ``logs scan`` of a pipe or a FIFO then ignored Ctrl-C. Python's
    handler is put back once, from the main thread (the only one allowed to set it).
    """
    global _sigint_restored
    import polars

    if not _sigint_restored:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.getsignal(signal.SIGINT))
            _sigint_restored = True
    return polars
