"""Chaos engineering: the fault-injecting proxy (``proxy/``), later experiments and batteries."""
