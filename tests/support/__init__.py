"""What many tests share: free loopback ports, `prodshield serve` as a subprocess, certificates.

Import as ``from support.net import free_port`` (``tests/`` is on ``sys.path`` through its
``conftest.py``).
"""
