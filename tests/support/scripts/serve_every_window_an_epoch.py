"""``prodshield serve`` whose log detectors start a new epoch at every window (``EPOCH_S`` is an
hour in production): a journey can put lines on both sides of the hourly epoch boundary without
waiting an hour.

Usage: python serve_every_window_an_epoch.py serve -c shield.yaml [...] (the CLI's arguments).
"""

from __future__ import annotations

import prodshield.logs.service as service
from prodshield.cli.main import main

if __name__ == "__main__":
    service.EPOCH_S = 0.0
    main()
