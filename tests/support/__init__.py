"""What several tests share: free loopback ports, `prodshield serve` as a subprocess,
certificates, the services' reachability rule, seeded web stores, harnesses, and (in
``support/standins``) loopback stand-ins of outside services.

Import as ``from support.net import free_port`` (``tests/`` is on ``sys.path`` through its
``conftest.py``). Test files never import each other: what two of them share lives here.
"""
