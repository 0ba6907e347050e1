"""The events stream's pipeline: from one stream entry to stored rows, one named step after another.

    decode → enrich (user agent) → for each event:
        parse stack → filter → scrub → symbolicate → fingerprint → row

Each step is a small function composed in ``EventPipeline.__call__``, which reads top to
bottom. A step that raises fails the whole entry, which the consumer dead-letters alone.
Events a project's inbound filters drop become ``filtered`` outcome rows, one per reason.
Event times are put on the collector's clock by each batch's ``sent_at`` (``event_time``);
times still absurd are clamped and counted as ``clamped`` outcome rows.
Issue ids are assigned later, by the consumer, in the transaction that stores the rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import msgspec

from analytics import rows
from analytics.enrich.stack import Frame, parse_stack, sent_frames
from analytics.enrich.symbolicate import SourceMapCache, Symbolicated, symbolicate
from analytics.enrich.ua import Client, parse_user_agent
from analytics.filters import filter_reason
from analytics.fingerprint import Grouping, grouping
from analytics.project_settings import ProjectSettings
from analytics.scrub import Scrubber
from analytics.sentry.convert import stream_entry
from contracts.beacon import (
    Breadcrumb,
    Cause,
    CspEvent,
    ErrorEvent,
    Event,
    NetworkEvent,
    PageViewEvent,
    ReportEvent,
    ResourceEvent,
    SentFrame,
    SlowRequestEvent,
    VitalEvent,
)
from contracts.stream import SentryEventEntry, StreamEntry, decode_events_entry

Rows = dict[str, list[tuple[Any, ...]]]
_replace = msgspec.structs.replace


_EPOCH = datetime(1970, 1, 1)


def ms(value: int) -> datetime:
    """Milliseconds since the Unix epoch as a naive UTC datetime (exact: no float on the way)."""
    return _EPOCH + timedelta(milliseconds=value)


#: A batch's clock is corrected only when it is off by this much at least (a wrong time zone, a
#: clock not set): a smaller gap between ``sent_at`` and arrival may just be a retry's delay
#: (a retried body keeps its ``sent_at``). Relay draws the line at the same place.
MIN_DRIFT_MS = 55 * 60_000
#: How far from its arrival an event's time may be, once corrected: older is older than any
#: retention keeps, later is a clock gone wrong (Relay's bounds too).
MAX_PAST_MS = 30 * 86_400_000
MAX_FUTURE_MS = 60_000


def event_time(ts: int, skew: int, received_at: int) -> tuple[int, str | None]:
    """The event's time on the collector's clock, and why it was clamped (``None`` when it was not).

    ``skew`` is the batch's ``received_at - sent_at``: how far the sender's clock is off, as
    Sentry corrects clock drift, when it is at least ``MIN_DRIFT_MS``. A time still absurd
    after that becomes ``received_at``: a 1970 clock would be deleted at once by retention,
    a 9999 one never, and either would make every look-up of its batch scan the whole table.
    """
    corrected = ts + skew if abs(skew) >= MIN_DRIFT_MS else ts
    if corrected < received_at - MAX_PAST_MS:
        return received_at, "timestamp_past"
    if corrected > received_at + MAX_FUTURE_MS:
        return received_at, "timestamp_future"
    return corrected, None


def kind_of(event: Event) -> str:
    tag: str = type(event).__struct_config__.tag  # type: ignore[assignment]
    return tag


@dataclasses.dataclass(frozen=True)
class Analysis:
    """What the error steps found: symbolicated frames and the grouping."""

    frames: list[Symbolicated]
    grouping: Grouping


_json_object = msgspec.json.Decoder(dict[str, Any])
_json_encode = msgspec.json.Encoder().encode


def _scrubbed_values(value: Any, text: Callable[[str], str]) -> Any:
    if isinstance(value, dict):
        return {k: _scrubbed_values(v, text) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed_values(v, text) for v in value]
    return text(value) if isinstance(value, str) else value


def _scrubbed_details(details: str, text: Callable[[str], str]) -> str:
    """An error's details with every string value scrubbed (the JSON stays JSON, whatever the rules replace)."""
    if not details:
        return details
    try:
        found = _json_object.decode(details)
    except (msgspec.DecodeError, RecursionError):
        return ""  # not a JSON object: nothing that can be stored (analytics/rows.py)
    return _json_encode(_scrubbed_values(found, text)).decode()


def _scrubbed_frames(
    frames: list[SentFrame], text: Callable[[str], str], url: Callable[[str], str]
) -> list[SentFrame]:  # fmt: skip
    """The frames with their URLs and source lines scrubbed: the same list when nothing changed, so the frames
    parsed from it before scrubbing still hold (``EventPipeline``)."""
    out, changed = [], False
    for f in frames:
        pre = [text(t) for t in f.pre_context] if f.pre_context else f.pre_context
        post = [text(t) for t in f.post_context] if f.post_context else f.post_context
        scrubbed_url, context = url(f.url), text(f.context)
        if scrubbed_url != f.url or context != f.context or pre != f.pre_context or post != f.post_context:
            f, changed = _replace(f, url=scrubbed_url, context=context, pre_context=pre, post_context=post), True
        out.append(f)
    return out if changed else frames


def scrub(event: Event, scrubber: Scrubber, details_scrubbed: bool = False) -> Event:
    """Secrets, card numbers and e-mails out of every text and URL an event carries; an error's details too unless
    they were scrubbed as they were made (a Sentry event's, ``analytics/sentry/convert.py``)."""
    text, url = scrubber.text, scrubber.url
    if isinstance(event, ErrorEvent):
        return _replace(
            event,
            page_url=url(event.page_url), message=text(event.message), stack=text(event.stack), file=url(event.file),
            causes=[Cause(c.error_type, text(c.message), text(c.stack)) for c in event.causes],
            breadcrumbs=[Breadcrumb(b.ts, b.category, text(b.message), b.level) for b in event.breadcrumbs],
            frames=_scrubbed_frames(event.frames, text, url),
            template=text(event.template), debug_ids={url(k): v for k, v in event.debug_ids.items()},
            details=event.details if details_scrubbed else _scrubbed_details(event.details, text),
        )  # fmt: skip
    if isinstance(event, NetworkEvent | ResourceEvent | SlowRequestEvent):
        return _replace(event, page_url=url(event.page_url), url=url(event.url))
    if isinstance(event, PageViewEvent):
        return _replace(event, page_url=url(event.page_url), referrer=url(event.referrer))
    if isinstance(event, CspEvent):
        return _replace(
            event, page_url=url(event.page_url), blocked_uri=url(event.blocked_uri),
            source_file=url(event.source_file), sample=text(event.sample),
        )  # fmt: skip
    if isinstance(event, ReportEvent):
        return _replace(
            event, page_url=url(event.page_url), message=text(event.message), source_file=url(event.source_file)
        )
    if isinstance(event, VitalEvent):
        attribution: dict[str, str | float] = {
            k: (url(v) if k == "url" else text(v)) if isinstance(v, str) else v for k, v in event.attribution.items()
        }
        return _replace(event, page_url=url(event.page_url), attribution=attribution)
    return event


def analyse(error: ErrorEvent, frames: list[Frame], release: str, cache: SourceMapCache | None) -> Analysis:
    """Symbolicate the parsed frames and compute the error's grouping."""
    mapped = (
        symbolicate(frames, release, cache, error.debug_ids) if cache is not None and frames
        else [_unmapped(f) for f in frames]
    )  # fmt: skip
    keyed = [(m, m.url, m.source, m.context) for m in mapped]
    return Analysis(
        mapped,
        grouping(
            error.error_type,
            error.message,
            keyed,
            cross_origin=error.cross_origin,
            client_fingerprint=error.fingerprint,
            message_only=error.mechanism == "message",
            template=error.template,
        ),
    )


def _unmapped(frame: Frame) -> Symbolicated:
    return Symbolicated(
        frame.function, frame.url, frame.line, frame.column, frame.in_app, frame.kind, "", None, None, frame.context,
        False, frame.pre_context, frame.post_context,
    )  # fmt: skip


def outcome_row(
    batch_id: str, at: datetime, project_id: int, project: str, outcome: str, reason: str, count: int
) -> tuple[Any, ...]:
    """A row of ``outcomes`` counted here in analytics (events not stored, or stored with their time replaced)."""
    return (f"analytics-{batch_id}", "analytics", at, at, project_id, project, outcome, reason, "event", count)


def invalid_sentry_event(record: SentryEventEntry) -> Rows:
    """An event the collector took (it was JSON) that is not a Sentry event: one ``invalid`` outcome row."""
    at = ms(record.received_at)
    return {"outcomes": [outcome_row(record.event_id, at, record.project_id, record.project, "invalid",
                                     "sentry_event", 1)]}  # fmt: skip


def frames_of(event: ErrorEvent) -> list[Frame]:
    """The error's frames, innermost first: those its sender gave as data, else its stack string parsed."""
    return sent_frames(event.frames, event.page_url) if event.frames else parse_stack(event.stack, event.page_url)


class EventPipeline:
    """The events stream's processor (``analytics/pipeline.py`` PROCESSORS)."""

    def __init__(
        self,
        settings: Callable[[int], ProjectSettings],
        cache: SourceMapCache | None = None,
        parse_ua: Callable[[str], Client] = parse_user_agent,
    ) -> None:
        self.settings, self.cache, self.parse_ua = settings, cache, parse_ua

    def __call__(self, data: bytes) -> Rows:
        found = decode_events_entry(data)
        project = self.settings(found.project_id)
        sentry = isinstance(found, SentryEventEntry)
        if isinstance(found, SentryEventEntry):  # as ``sentry``, for the type checker
            try:
                entry = stream_entry(found, project.scrubber.text)
            except (msgspec.DecodeError, RecursionError):
                return invalid_sentry_event(found)
        else:
            entry = found
        client = self.parse_ua(entry.user_agent)
        out: Rows = {}
        filtered: dict[str, int] = {}
        clamped: dict[str, int] = {}
        release_key = f"{entry.project_id}\x00{entry.batch.release}"
        received_at = ms(entry.received_at)  # one object for the whole entry (pickled once on the way to the writer)
        skew = entry.received_at - entry.batch.sent_at
        for event in entry.batch.events:
            frames = frames_of(event) if isinstance(event, ErrorEvent) else []
            reason = self.filtered(project, event, client, frames)
            if reason is not None:
                filtered[reason] = filtered.get(reason, 0) + 1
                continue
            scrubbed = scrub(event, project.scrubber, details_scrubbed=sentry)
            analysis = None
            if isinstance(scrubbed, ErrorEvent) and isinstance(event, ErrorEvent):
                sent = event.frames
                if scrubbed.page_url != event.page_url or (
                    scrubbed.frames is not sent if sent else scrubbed.stack != event.stack
                ):
                    frames = frames_of(scrubbed)  # positions survive scrubbing
                analysis = analyse(scrubbed, frames, release_key, self.cache)
            event = scrubbed
            ts, why = event_time(event.ts, skew, entry.received_at)
            if why is not None:
                clamped[why] = clamped.get(why, 0) + 1
            table, row = self.row(entry, client, event, analysis, received_at, ms(ts))
            out.setdefault(table, []).append(row)
        batch = entry.batch
        for reason, count in batch.dropped.items():
            out.setdefault("client_drops", []).append(
                (batch.batch_id, received_at, entry.project, entry.project_id, batch.session_id, batch.sdk, reason,
                 count, "")
            )  # fmt: skip
        for outcome, counts in (("filtered", filtered), ("clamped", clamped)):
            for reason, count in counts.items():
                out.setdefault("outcomes", []).append(
                    outcome_row(batch.batch_id, received_at, entry.project_id, entry.project, outcome, reason, count)
                )
        return out

    @staticmethod
    def filtered(project: ProjectSettings, event: Event, client: Client, frames: list[Frame]) -> str | None:
        return filter_reason(
            project.filters,
            kind=kind_of(event),
            page_url=event.page_url,
            browser=client.browser,
            browser_version=client.browser_version,
            is_bot=client.is_bot,
            error_type=event.error_type if isinstance(event, ErrorEvent) else "",
            message=event.message if isinstance(event, ErrorEvent) else "",
            frames=frames,
        )

    @staticmethod
    def row(
        entry: StreamEntry,
        client: Client,
        event: Event,
        analysis: Analysis | None,
        received_at: datetime,
        ts: datetime,
    ) -> tuple[str, tuple[Any, ...]]:
        """The event's table and its row (``ts``: its time on the collector's clock): shared keys, then its own."""
        batch = entry.batch
        table, build = rows.BY_KIND[type(event)]
        shared = (
            event.event_id, batch.batch_id, ts, received_at, entry.project, entry.project_id,
            batch.environment, batch.release, batch.session_id, batch.user_id, event.page_url,
            client.browser, client.browser_version, client.os, client.os_version, client.device_type, client.is_bot,
            entry.client_ip or None, entry.country or None,
        )  # fmt: skip
        own = build(event, batch.tags, entry.user_agent, entry.source)
        if analysis is not None:
            own += rows.analysis(analysis.frames, analysis.grouping, batch.sdk)
        return table, shared + own
