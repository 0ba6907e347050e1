"""The ground floor: what the collector, analytics, the dashboard and the probe agent share, and nothing else.

Settings loading (``settings``), the data directory's run files (``runfiles``), projects and
their keys (``projects``), the wire schemas of the beacon (``beacon``) and the probe agents
(``probes``), the stream contract between collector and analytics (``stream``), and the
read API's named queries and client (``queries``, ``read_api``). It imports only libraries,
never a part; every part imports it and no part imports another (docs/development.md).
"""
