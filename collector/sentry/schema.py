"""What the collector reads of Sentry's payloads, as typed structs.

Of an event it reads only its top level, its id, its user and its request: the user and
the request's secrets are taken out (``collector/sentry/convert.py``) and the rest is
queued as it came, for analytics to read (``analytics/sentry/schema.py``). Sessions, session aggregates
and client reports are small and become rows here. Only the fields Vigil stores are
declared; the decoder skips everything else without building it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from contracts.sentry import Timestamp


class User(msgspec.Struct):
    id: str | int | None = None
    email: str | None = None
    username: str | None = None
    ip_address: str | None = None


class RequestHead(msgspec.Struct):
    """What is kept of an event's ``request``: cookies, the environment (``REMOTE_ADDR``), the body, the query
    string and the fragment are dropped before the event is queued, and the headers that are secret
    (``SECRET_HEADER``)."""

    url: str | None = None
    method: str | None = None
    headers: dict[str, Any] | list[list[Any]] | None = None


class SessionAttributes(msgspec.Struct, frozen=True):
    release: str = ""
    environment: str = ""


class Session(msgspec.Struct):
    """One session update (item type ``session``)."""

    sid: str | None = None
    did: str | int | None = None
    init: bool = False
    started: Timestamp = None
    timestamp: Timestamp = None
    status: str = "ok"
    errors: int = 0
    duration: float | None = None
    attrs: SessionAttributes = SessionAttributes()


class Aggregate(msgspec.Struct):
    started: Timestamp = None
    did: str | int | None = None
    exited: int = 0
    errored: int = 0
    unhandled: int = 0
    abnormal: int = 0
    crashed: int = 0


class Sessions(msgspec.Struct):
    """Pre-aggregated session counts (item type ``sessions``), as server SDKs send them."""

    aggregates: list[Aggregate] = []
    attrs: SessionAttributes = SessionAttributes()


class DiscardedEvent(msgspec.Struct):
    reason: str = ""
    category: str = ""
    quantity: int = 0


class ClientReport(msgspec.Struct):
    """What the SDK dropped before sending (item type ``client_report``)."""

    timestamp: Timestamp = None
    discarded_events: list[DiscardedEvent] = []


#: An event's top level: each field's JSON as it came (checked to be JSON, not built).
event_fields_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])
event_id_decoder = msgspec.json.Decoder(str | None)
user_decoder = msgspec.json.Decoder(User | None)
request_decoder = msgspec.json.Decoder(RequestHead | None)
session_decoder = msgspec.json.Decoder(Session)
sessions_decoder = msgspec.json.Decoder(Sessions)
client_report_decoder = msgspec.json.Decoder(ClientReport)
