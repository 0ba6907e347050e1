"""A project's services: what its pages call, and what watches and serves it (``[[projects.services]]``).

    [[projects.services]]
    name = "checkout-api"
    domains = ["api.shop.example"]               # hosts its pages call (a port only matches that port)
    url_prefixes = ["https://shop.example/api/"] # or parts of the site's own host
    checks = ["checkout-api"]                    # probe checks that watch it
    hosts = ["api-7"]                            # machines serving it, as their probe agent names them
    backend_projects = ["shop-api"]              # Vigil projects its server-side Sentry SDK reports to

Correlation (``analytics/incidents.py``) ties a spike of client failures to the backend
through them: a failing request's host or URL names the service, and the service names the
checks, hosts and server-side errors to look at. Every host not the site's own nor a
service's is a third party. Where nothing is declared, a check whose URL has the failing
host is taken as watching it, and said to be inferred.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import urlsplit

MAX_SERVICES = 50
MAX_ITEMS = 50
MAX_TEXT = 253
SERVICE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_LABEL = r"[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?"
_DOMAIN_RE = re.compile(rf"(\*\.)?{_LABEL}(\.{_LABEL})*(:[0-9]{{1,5}})?")
_PORT_RE = re.compile(r"(?<=[^:]):[0-9]{1,5}$")
_LISTS = ("domains", "url_prefixes", "checks", "hosts", "backend_projects")


@dataclasses.dataclass(frozen=True)
class Service:
    """One backend (or any dependency of the site) a project declares."""

    name: str
    domains: tuple[str, ...] = ()
    url_prefixes: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    backend_projects: tuple[str, ...] = ()

    def serves(self, url: str) -> bool:
        """Whether a request to ``url`` goes to this service."""
        netloc = host_of(url)
        return any(domain_matches(d, netloc) for d in self.domains) or any(url.startswith(p) for p in self.url_prefixes)

    def as_toml(self) -> dict[str, Any]:
        return {"name": self.name, **{key: list(getattr(self, key)) for key in _LISTS if getattr(self, key)}}


def host_of(url: str) -> str:
    """The host of ``url`` as correlation keys it: lowercase, with the port unless it is the scheme's default."""
    try:
        parts = urlsplit(url)
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return ""
    if ":" in host:
        host = f"[{host}]"  # IPv6, as in a URL
    if port is None or (parts.scheme, port) in {("http", 80), ("https", 443)}:
        return host
    return f"{host}:{port}"


def domain_matches(domain: str, netloc: str) -> bool:
    """``api.shop.example`` matches that host on any port, ``api.shop.example:8443`` that port only, and
    ``*.cdn.example`` any host under it."""
    if _PORT_RE.search(domain):
        return netloc == domain
    host = _PORT_RE.sub("", netloc)
    if domain.startswith("*."):
        return host.endswith(domain[1:])
    return host == domain


def strings(raw: object, key: str, where: str, limit: int = MAX_ITEMS) -> tuple[str, ...]:
    """A list of at most ``limit`` non-empty strings of ``MAX_TEXT`` characters or fewer, without repeats."""
    if not isinstance(raw, list) or not all(isinstance(s, str) and s for s in raw):
        raise ValueError(f"{where}: {key} must be a list of non-empty strings")
    if len(raw) > limit:
        raise ValueError(f"{where}: {key} holds more than {limit} entries")
    long = next((s for s in raw if len(s) > MAX_TEXT), None)
    if long is not None:
        raise ValueError(f"{where}: {key} entry longer than {MAX_TEXT} characters: {long[:40]!r}…")
    return tuple(dict.fromkeys(raw))


def parse_service(item: object, where: str) -> Service:
    """One ``[[projects.services]]`` table; a bad one raises ``ValueError`` with a one-line message."""
    if not isinstance(item, dict):
        raise ValueError(f"{where}: must be a table")
    unknown = sorted(set(item) - {"name", *_LISTS})
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0][:40]!r} (known: name, {', '.join(_LISTS)})")
    name = item.get("name")
    if not isinstance(name, str) or not SERVICE_NAME_RE.fullmatch(name):
        raise ValueError(f"{where}: name must be 1-63 letters, digits, dots, dashes or underscores")
    where = f"{where} ({name})"
    lists = {key: strings(item.get(key, []), key, where) for key in _LISTS}
    domains = tuple(d.lower() for d in lists["domains"])
    bad = next((d for d in domains if not _DOMAIN_RE.fullmatch(d)), None)
    if bad is not None:
        raise ValueError(f"{where}: {bad[:60]!r} is not a host name (host, host:port or *.domain)")
    for prefix in lists["url_prefixes"]:
        parts = urlsplit(prefix)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{where}: url prefix {prefix[:60]!r} must start with http:// or https:// and a host")
    return Service(name, domains, lists["url_prefixes"], lists["checks"], lists["hosts"], lists["backend_projects"])


def parse_services(raw: object) -> tuple[Service, ...]:
    """A project's ``services`` array of tables; messages name the service (``services #2 (api): …``)."""
    if not isinstance(raw, list):
        raise ValueError("services must be an array of tables ([[projects.services]])")
    if len(raw) > MAX_SERVICES:
        raise ValueError(f"more than {MAX_SERVICES} services")
    services = tuple(parse_service(item, f"services #{n}") for n, item in enumerate(raw, start=1))
    names = [s.name for s in services]
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice is not None:
        raise ValueError(f"service {twice!r} is declared twice")
    return services
