"""Client addresses, anonymized before anything stores them (unless a project opts out with ``store_ip``).

IPv4 loses its last octet (198.51.100.23 → 198.51.100.0), IPv6 its last 80 bits
(2001:db8:1:2:3:4:5:6 → 2001:db8:1::): enough to tell networks and countries apart, not
people.
"""

from __future__ import annotations

import functools
import ipaddress


@functools.lru_cache(maxsize=4096)
def anonymize_ip(address: str) -> str:
    """The anonymized form of ``address``; an empty string for anything that is not an address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)
