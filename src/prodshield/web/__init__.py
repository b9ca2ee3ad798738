"""The web side of prodshield: status page, dashboard, JSON API and ``/metrics``."""

from prodshield.web.app import create_app
from prodshield.web.rollup import RollupService, rollup_pending
from prodshield.web.services import BackgroundService, Services

__all__ = ["BackgroundService", "RollupService", "Services", "create_app", "rollup_pending"]
