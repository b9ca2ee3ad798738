"""What several tests share: free loopback ports and small HTTP servers, `prodshield serve` as a
subprocess (with its shield.yaml and token), the parts of the pages it draws, certificates, the
services' reachability rule, seeded web stores, a fragile log detector, harnesses, and (in
``support/standins``) loopback stand-ins of outside services.

Import as ``from support.net import free_port`` (``tests/`` is on ``sys.path`` through its
``conftest.py``). Test files never import each other: what two of them share lives here.
"""
