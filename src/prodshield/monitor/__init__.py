"""Health monitoring: check types, conditions, the scheduler and statistics.

The public API lives in :mod:`prodshield.monitor.api`.
"""
