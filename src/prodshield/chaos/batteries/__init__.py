"""Batteries: ready-made chaos experiments with verdicts (``breaker``, ``db``).

Each battery returns a :class:`~prodshield.chaos.batteries.report.BatteryReport` (one check per
property, with its measured numbers) that becomes a Chaos Toolkit-shaped journal and a JUnit file.
"""
