"""Browser, OS and device from a User-Agent header, cached: a page's visitors repeat a few dozen strings."""

from __future__ import annotations

import dataclasses
import functools

from user_agents import parse

CACHE_SIZE = 4096


@dataclasses.dataclass(frozen=True)
class Client:
    browser: str
    browser_version: str
    os: str
    os_version: str
    device_type: str  # "desktop", "mobile", "tablet", "bot" or "other"
    is_bot: bool


@functools.lru_cache(maxsize=CACHE_SIZE)
def parse_user_agent(user_agent: str) -> Client:
    ua = parse(user_agent)
    if ua.is_bot:
        device = "bot"
    elif ua.is_tablet:
        device = "tablet"
    elif ua.is_mobile:
        device = "mobile"
    elif ua.is_pc:
        device = "desktop"
    else:
        device = "other"
    return Client(
        browser=ua.browser.family,
        browser_version=ua.browser.version_string,
        os=ua.os.family,
        os_version=ua.os.version_string,
        device_type=device,
        is_bot=bool(ua.is_bot),
    )
