"""What identifies a person, made unidentifiable before anything stores it.

Client addresses are anonymized (unless a project opts out with ``store_ip``): IPv4 loses
its last octet (198.51.100.23 → 198.51.100.0), IPv6 its last 80 bits (2001:db8:1:2:3:4:5:6
→ 2001:db8:1::): enough to tell networks and countries apart, not people.

User ids are keyed with a secret of the server's, the project's secret token (HMAC-SHA256):
the same user gets the same value, so users can be counted, but a value cannot be turned
back into an id by trying candidates (e-mail addresses, numbers), as a plain hash salted
with the public key, which every page shows, could be.
"""

from __future__ import annotations

import functools
import hmac
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


def user_hash(secret: str, user_id: str) -> str:
    """``user_id`` (as the sender gave it: the beacon's own hash, or a Sentry SDK's id) keyed with ``secret``."""
    return hmac.digest(secret.encode(), user_id.encode(), "sha256").hex() if user_id else ""  # one C call
