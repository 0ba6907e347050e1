"""``POST /api/{project_id}/reports?key=…``: where a site's reporting headers and ``report-uri`` point."""

from __future__ import annotations

import secrets

import msgspec

from collector.asgi import Headers, Request
from collector.ingest import Context, Parsed
from collector.refused import Refused
from collector.reporting.convert import MAX_REPORTS, csp_event, csp_report_decoder, report_event, reports_decoder
from collector.state import State
from contracts.beacon import Batch, Event
from contracts.projects import Project
from contracts.stream import EVENTS_STREAM, StreamEntry, encode_entry

MAX_KEY = 128


class ReportsEndpoint:
    name = "reports"
    status = 204  # what browsers expect; they read nothing back
    body_authenticates = False

    def authenticate(self, state: State, request: Request, project_id: int) -> Project | None:
        key = request.query("key")
        return state.registry.authenticate(project_id, key) if len(key) <= MAX_KEY else None

    def authenticate_body(self, state: State, request: Request, project_id: int, raw: bytes) -> Project | None:
        return None

    def parse(self, body: bytes, context: Context) -> Parsed:
        content_type = context.request.header(b"content-type").split(";")[0].strip().lower()
        events: list[Event] = []
        skipped: dict[str, int] = {}
        try:
            if content_type == "application/csp-report":
                legacy = csp_report_decoder.decode(body).get("csp-report")
                if legacy is None:
                    raise Refused(400, 'expected {"csp-report": {...}}', "invalid", "report")
                events.append(csp_event(legacy, context.received_at, ""))
            else:
                reports = reports_decoder.decode(body)
                if len(reports) > MAX_REPORTS:
                    raise Refused(400, f"more than {MAX_REPORTS} reports", "invalid", "report")
                for report in reports:
                    event = report_event(report, context.received_at)
                    if event is None:
                        skipped["nel_ok"] = skipped.get("nel_ok", 0) + 1
                    else:
                        events.append(event)
        except (msgspec.DecodeError, RecursionError) as e:
            raise Refused(400, f"not a valid report body: {e}", "invalid", "report") from None
        if not events:
            return Parsed([], 0, skipped)
        batch = Batch(v=1, batch_id=secrets.token_hex(16), sent_at=context.received_at, events=events)
        entry = StreamEntry(
            project_id=context.project.id,
            project=context.project.name,
            received_at=context.received_at,
            user_agent=context.user_agent,
            batch=batch,
            client_ip=context.client_ip,
            country=context.country,
            source="reporting_api",
        )
        return Parsed([(EVENTS_STREAM, encode_entry(entry))], len(events), skipped)

    def refusal_headers(self, refused: Refused) -> Headers:
        return []
