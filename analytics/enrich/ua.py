"""Browser, OS and device from a User-Agent header, cached: a page's visitors repeat a few dozen strings.

Two parsers sit behind one small interface, picked like uvicorn picks its event loop: the
``ua-parser`` 1.x resolver on its Rust accelerator (``ua-parser-rs``) when it imports, else the
pure-Python ``ua-parser`` rules through ``user-agents``. Both run the same regex table
(``ua-parser-builtins``); only the matching engine differs, and the step from matched families
to device type and bot flag is ``user-agents``' own in both, so they answer alike. Uncached,
the Python rules cost about 25 times as much per string (~460 µs against ~18 µs here).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, Literal

from user_agents import parsers

CACHE_SIZE = 4096
# Real User-Agent strings are a few hundred characters; the rest of a longer one only costs
# regex time and cache memory, and names no browser the first 512 did not.
MAX_LENGTH = 512

ParserName = Literal["auto", "rust", "python"]


@dataclasses.dataclass(frozen=True)
class Client:
    """What a User-Agent says about the visitor's software and device."""

    browser: str
    browser_version: str
    os: str
    os_version: str
    device_type: str  # "desktop", "mobile", "tablet", "bot" or "other"
    is_bot: bool


# A parser turns a (bounded) User-Agent string into a user-agents ``UserAgent``, whose
# properties (is_bot, is_tablet, is_mobile, is_pc) decide the device type.
_Parse = Callable[[str], Any]


def _python() -> _Parse:
    """The pure-Python path: user-agents over ua-parser's legacy per-rule regex loop."""
    return parsers.parse  # type: ignore[no-any-return]


def _rust() -> _Parse | None:
    """The accelerated path, or ``None`` when ``ua-parser-rs`` is not installed."""
    try:
        from ua_parser import Domain, load_lazy_builtins
        from ua_parser.regex import Resolver
    except ImportError:  # ua_parser.regex imports ua_parser_rs
        return None
    # Lazy matchers: the Rust engine compiles the table itself, so Python's re need not.
    resolver = Resolver(load_lazy_builtins())

    def parse(user_agent: str) -> Any:
        result = resolver(user_agent, Domain.ALL).complete().with_defaults()
        browser, os, device = result.user_agent, result.os, result.device
        # user-agents builds these fields from the legacy dict in UserAgent.__init__; filling
        # them from the new resolver lets its classification run unchanged.
        agent = parsers.UserAgent.__new__(parsers.UserAgent)
        agent.ua_string = user_agent
        agent.browser = parsers.parse_browser(browser.family, browser.major, browser.minor, browser.patch)
        agent.os = parsers.parse_operating_system(os.family, os.major, os.minor, os.patch)
        agent.device = parsers.parse_device(device.family, device.brand, device.model)
        return agent

    return parse


def _pick(name: ParserName) -> tuple[str, _Parse]:
    if name in {"auto", "rust"}:
        rust = _rust()
        if rust is not None:
            return "rust", rust
        if name == "rust":
            raise RuntimeError("the rust User-Agent parser needs ua-parser-rs (pip install 'ua-parser[regex]')")
    return "python", _python()


def _classify(agent: Any) -> Client:
    if agent.is_bot:
        device = "bot"
    elif agent.is_tablet:
        device = "tablet"
    elif agent.is_mobile:
        device = "mobile"
    elif agent.is_pc:
        device = "desktop"
    else:
        device = "other"
    return Client(
        browser=agent.browser.family,
        browser_version=agent.browser.version_string,
        os=agent.os.family,
        os_version=agent.os.version_string,
        device_type=device,
        is_bot=bool(agent.is_bot),
    )


class UserAgentParser:
    """One parser, uncached: ``"auto"`` takes the Rust accelerator when it imports, else Python."""

    def __init__(self, name: ParserName = "auto") -> None:
        self.name, self._parse = _pick(name)

    def __call__(self, user_agent: str) -> Client:
        """The client a User-Agent string describes; only its first ``MAX_LENGTH`` characters are read."""
        return _classify(self._parse(user_agent[:MAX_LENGTH]))


_parser = UserAgentParser()
PARSER: str = _parser.name
"""The parser behind ``parse_user_agent``: ``"rust"`` or ``"python"``."""


def use(name: ParserName) -> str:
    """Put another parser behind ``parse_user_agent`` (tests force ``"python"``); empties the cache."""
    global _parser, PARSER
    _parser = UserAgentParser(name)
    PARSER = _parser.name
    _cached.cache_clear()
    return PARSER


@functools.lru_cache(maxsize=CACHE_SIZE)
def _cached(user_agent: str) -> Client:
    return _parser(user_agent)


def parse_user_agent(user_agent: str) -> Client:
    """The client a User-Agent string describes, from a cache of the last ``CACHE_SIZE`` strings."""
    # Cut before the cache, so its keys are bounded too.
    return _cached(user_agent[:MAX_LENGTH])
