"""Helpers for beacon tests: pages that embed the built beacon, and what the collector received."""

from __future__ import annotations

import html
import time
from collections.abc import Callable

import msgspec
import redis

from contracts.beacon import Event
from contracts.projects import Project
from contracts.stream import EVENTS_STREAM, StreamEntry, decode_entry, payloads

# Headless Chromium keeps every page visible, so tests hide a page the way the page itself would see it.
HIDE = (
    "Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});"
    "document.dispatchEvent(new Event('visibilitychange'));"
)
SHOW = (
    "Object.defineProperty(document, 'visibilityState', {value: 'visible', configurable: true});"
    "document.dispatchEvent(new Event('visibilitychange'));"
)


def tag(src: str, project: Project, **attrs: object) -> str:
    """The beacon's script tag: ``tag(url, project, release="1.0", sample_rate=0)``."""
    data = {"project": project.id, "key": project.public_key, **attrs}
    rendered = " ".join(f'data-{k.replace("_", "-")}="{html.escape(str(v))}"' for k, v in data.items())
    return f'<script src="{html.escape(src)}" {rendered}></script>'


def page(head: str, body: str = "", script: str = "") -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>test</title>{head}</head>'
        f"<body>{body}<script>{script}</script></body></html>"
    )


def kind(event: Event) -> str:
    tag_value: str = type(event).__struct_config__.tag  # type: ignore[assignment]
    return tag_value


class Received:
    """What the collector accepted into the stream, decoded."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def entries(self) -> list[StreamEntry]:
        return [decode_entry(p) for _, fields in self.client.xrange(EVENTS_STREAM) for p in payloads(fields)]

    def events(self, of_kind: str | None = None) -> list[Event]:
        found = [e for entry in self.entries() for e in entry.batch.events]
        return [e for e in found if of_kind is None or kind(e) == of_kind]

    def wait(
        self, of_kind: str, count: int = 1, timeout: float = 10, where: Callable[[Event], bool] = lambda e: True
    ) -> list[Event]:
        """The events of a kind once at least ``count`` have arrived (bounded by ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.events(of_kind) if where(e)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def quiet(self, seconds: float) -> list[Event]:
        """Everything received after waiting ``seconds`` more (to show nothing else arrives)."""
        time.sleep(seconds)
        return self.events()


def as_dict(event: Event) -> dict[str, object]:
    return msgspec.to_builtins(event)  # type: ignore[no-any-return]
