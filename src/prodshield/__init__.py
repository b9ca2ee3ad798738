"""prodshield: guards a web platform in production.

Monitoring, log intelligence, security audit and chaos engineering driven by one ``shield.yaml``.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
