"""A fault-injecting TCP proxy speaking the Toxiproxy v2 API.

``server.py`` holds the proxies, ``link.py`` the data path (asyncio Protocols), ``toxics/`` one
module per toxic, ``http_api.py`` the REST API, ``metrics.py`` Prometheus, ``client.py`` a typed client
and ``service.py`` the process that runs them.
"""
