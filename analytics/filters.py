"""Inbound filters: events a project does not want, dropped before they cost anything more.

Each filter is on by default, can be turned off per project, and has a name; ``filter_reason``
returns the name of the first one that drops an event, and that name is the event's counted
outcome. The set follows Sentry's inbound filters (getsentry/relay, ``relay-filter``): browser
extensions, crawlers, localhost, legacy browsers, and the project's own message and URL globs.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import ipaddress
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from analytics.enrich.stack import Frame
from contracts.memo import memo
from contracts.settings import ConfigError

# The names ``filter_reason`` returns, in the order the filters run.
FILTERS = ("browser_extension", "crawler", "localhost", "legacy_browser", "message", "url")

MAX_GLOBS = 50
MAX_GLOB_LENGTH = 200
# The longest message and URL a glob is matched against: the collector's own bounds
# (contracts/beacon.py MAX_MESSAGE, MAX_URL), restated so a caller passing more costs no more.
MAX_MESSAGE = 8192
MAX_URL = 2048
MAX_FAMILIES = 100
_LEADING_NUMBER = re.compile(r"\d{1,9}", re.ASCII)

# A minimum no real version reaches: the family is dropped whatever its version, or none.
NEVER = 2**31 - 1

# Browser families as ua-parser names them (analytics/enrich/ua.py) → lowest major version kept.
# Roughly the browsers of early 2020: what a site built today with default tooling still runs in.
DEFAULT_MIN_VERSIONS: Mapping[str, int] = MappingProxyType(
    {
        "Chrome": 80,
        "Chrome Mobile": 80,
        "Chrome Mobile WebView": 80,
        "Firefox": 78,
        "Firefox Mobile": 78,
        "Safari": 13,
        "Mobile Safari": 13,
        "Edge": 80,  # also EdgeHTML (12 to 18), which ua-parser names "Edge" too
        "Opera": 67,
        "Samsung Internet": 12,
        "IE": NEVER,
        "IE Mobile": NEVER,
    }
)

# Script URLs of extension code (and Safari's mask over it): an error thrown there is the
# extension's, not the site's.
EXTENSION_URLS = (
    "chrome-extension://",
    "moz-extension://",
    "safari-extension://",
    "safari-web-extension://",
    "ms-browser-extension://",
    "webkit-masked-url://",
)
# Messages that only extensions (or software injected into the page) produce; drawn from
# relay-filter's browser_extensions.rs, keeping the ones still seen in today's browsers.
EXTENSION_MESSAGES = (
    "extension context invalidated",
    "could not establish connection. receiving end does not exist",
    "top.globals",
    "_gcrweb",  # Chrome on iOS injects it
    "conduitpage",
    "atomicfindclose",
    *EXTENSION_URLS,
)


def _default_min_versions() -> Mapping[str, int]:
    return DEFAULT_MIN_VERSIONS


def _compile(globs: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    # fnmatch.translate makes every "*" an atomic group ("(?>.*?x)"), so a hostile glob such as
    # "*a*a*a*a*b" cannot backtrack catastrophically; the inputs are also cut to fixed bounds.
    return tuple(re.compile(fnmatch.translate(g), re.IGNORECASE) for g in globs)


@dataclasses.dataclass(frozen=True)
class FilterSettings:
    """One project's inbound filters; every built-in one is on unless turned off."""

    browser_extensions: bool = True
    crawlers: bool = True
    localhost: bool = True
    legacy_browsers: bool = True
    # Browser family → lowest major version kept; families not listed are always kept.
    legacy_min_versions: Mapping[str, int] = dataclasses.field(default_factory=_default_min_versions, hash=False)
    message_globs: tuple[str, ...] = ()  # on "ErrorType: message", case-insensitive
    url_globs: tuple[str, ...] = ()  # on the page URL, case-insensitive
    _message_res: tuple[re.Pattern[str], ...] = dataclasses.field(init=False, repr=False, compare=False)
    _url_res: tuple[re.Pattern[str], ...] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Compiled once per project, not per event.
        object.__setattr__(self, "_message_res", _compile(self.message_globs))
        object.__setattr__(self, "_url_res", _compile(self.url_globs))

    @classmethod
    def from_toml(cls, table: Mapping[str, Any], where: str) -> FilterSettings:
        """Settings from a config table; a bad value raises ``ConfigError`` naming ``where`` and the key.

        ``legacy_min_versions`` is merged over ``DEFAULT_MIN_VERSIONS``: a family set to 0 is always kept.
        """
        values: dict[str, Any] = {}
        for key, raw in table.items():
            if key in {"browser_extensions", "crawlers", "localhost", "legacy_browsers"}:
                if not isinstance(raw, bool):
                    raise ConfigError(f"{where}: {key} must be true or false, got {_show(raw)}")
                values[key] = raw
            elif key == "legacy_min_versions":
                values[key] = MappingProxyType({**DEFAULT_MIN_VERSIONS, **_min_versions(raw, where)})
            elif key in {"message_globs", "url_globs"}:
                values[key] = _globs(raw, where, key)
            else:
                raise ConfigError(f"{where}: unknown filter setting {key}")
        return cls(**values)


def _show(raw: object) -> str:
    """A value for a one-line message: its repr, cut short."""
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def _min_versions(raw: object, where: str) -> dict[str, int]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: legacy_min_versions must be a table of browser = major version, got {_show(raw)}")
    if len(raw) > MAX_FAMILIES:
        raise ConfigError(f"{where}: legacy_min_versions has {len(raw)} browsers, at most {MAX_FAMILIES} allowed")
    out: dict[str, int] = {}
    for family, version in raw.items():
        # bool is an int in Python, but "Chrome = true" is a mistake, not version 1.
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise ConfigError(
                f"{where}: legacy_min_versions.{family} must be a major version (0 or more), got {_show(version)}"
            )
        out[str(family)] = version
    return out


def _globs(raw: object, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(raw, list | tuple) or not all(isinstance(g, str) for g in raw):
        raise ConfigError(f"{where}: {key} must be a list of strings, got {_show(raw)}")
    if len(raw) > MAX_GLOBS:
        raise ConfigError(f"{where}: {key} has {len(raw)} globs, at most {MAX_GLOBS} allowed")
    for glob in raw:
        if not glob:
            raise ConfigError(f"{where}: {key} has an empty glob")
        if len(glob) > MAX_GLOB_LENGTH:
            raise ConfigError(f"{where}: {key} has a glob of {len(glob)} characters, at most {MAX_GLOB_LENGTH}")
    return tuple(raw)


def _from_extension(message: str, frames: Sequence[Frame]) -> bool:
    if any(frame.url.startswith(EXTENSION_URLS) for frame in frames):
        return True
    lowered = message[:MAX_MESSAGE].lower()
    return any(needle in lowered for needle in EXTENSION_MESSAGES)


@memo(maxsize=4096, max_chars=512)  # a site has few pages; a page view repeats them
def is_localhost(page_url: str) -> bool:
    """Whether the URL's host is loopback: ``localhost`` (and names under it), 127.0.0.0/8, ::1, or unspecified."""
    try:
        host = urlsplit(page_url[:MAX_URL]).hostname or ""
    except ValueError:
        return False
    host = host.rstrip(".")
    # RFC 6761 §6.3: "localhost" and every name under it resolve to loopback.
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified  # 127.0.0.0/8, ::1, 0.0.0.0, ::


def _major(version: str) -> int | None:
    """The leading number of a version string ("17.4.1" → 17), or ``None`` when it has none."""
    found = _LEADING_NUMBER.match(version)
    return int(found.group()) if found else None


def _is_legacy(settings: FilterSettings, browser: str, browser_version: str) -> bool:
    minimum = settings.legacy_min_versions.get(browser)
    if minimum is None:
        return False
    major = _major(browser_version)
    # A family nothing is allowed of goes even without a version; otherwise no version, no verdict.
    return major < minimum if major is not None else minimum >= NEVER


def filter_reason(
    settings: FilterSettings,
    *,
    kind: str,
    page_url: str,
    browser: str,
    browser_version: str,
    is_bot: bool,
    error_type: str = "",
    message: str = "",
    frames: Sequence[Frame] = (),
) -> str | None:
    """The name of the first filter (of ``FILTERS``) that drops this event, or ``None`` to keep it.

    ``browser_extension`` and ``message`` look at errors only (``kind == "error"``); the others
    at every kind of event.
    """
    is_error = kind == "error"
    text = f"{error_type}: {message}" if error_type else message
    if settings.browser_extensions and is_error and _from_extension(text, frames):
        return "browser_extension"
    if settings.crawlers and is_bot:
        return "crawler"
    if settings.localhost and is_localhost(page_url):
        return "localhost"
    if settings.legacy_browsers and _is_legacy(settings, browser, browser_version):
        return "legacy_browser"
    if is_error and settings._message_res:
        bounded = text[:MAX_MESSAGE]
        if any(pattern.match(bounded) for pattern in settings._message_res):
            return "message"
    if settings._url_res:
        bounded = page_url[:MAX_URL]
        if any(pattern.match(bounded) for pattern in settings._url_res):
            return "url"
    return None
