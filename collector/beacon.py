"""The beacon's endpoint: ``POST /api/{project_id}/events?key=…`` (docs/protocol.md)."""

from __future__ import annotations

from collector.anonymize import user_hash
from collector.asgi import Headers, Request
from collector.ingest import Context, Parsed
from collector.refused import Refused
from collector.state import State
from contracts.beacon import InvalidBatch, decode_batch
from contracts.projects import Project
from contracts.stream import EVENTS_STREAM, StreamEntry, encode_entry

MAX_KEY = 128


class BeaconEndpoint:
    name = "events"
    status = 202
    body_authenticates = False

    def authenticate(self, state: State, request: Request, project_id: int) -> Project | None:
        """The public key, from the ``key`` query parameter (the beacon cannot send headers with sendBeacon)."""
        key = request.query("key")
        return state.registry.authenticate(project_id, key) if len(key) <= MAX_KEY else None

    def authenticate_body(self, state: State, request: Request, project_id: int, raw: bytes) -> Project | None:
        return None

    def parse(self, body: bytes, context: Context) -> Parsed:
        try:
            decoded = decode_batch(body)
        except InvalidBatch as e:
            raise Refused(400, str(e), "invalid", "malformed" if str(e).startswith("malformed") else "schema") from None
        if decoded.batch.user_id:
            decoded.batch.user_id = user_hash(context.project.secret_token, decoded.batch.user_id)
        entry = StreamEntry(
            project_id=context.project.id,
            project=context.project.name,
            received_at=context.received_at,
            user_agent=context.user_agent,
            batch=decoded.batch,
            client_ip=context.client_ip,
            country=context.country,
        )
        # Nothing to say when every event was queued: 202 without a body (docs/protocol.md).
        answer: dict[str, object] = {}
        if decoded.skipped:
            answer = {"accepted": len(decoded.batch.events), "skipped": decoded.skipped}
        skipped = {"unknown_kind": decoded.skipped} if decoded.skipped else {}
        return Parsed([(EVENTS_STREAM, encode_entry(entry))], len(decoded.batch.events), skipped, answer)

    def refusal_headers(self, refused: Refused) -> Headers:
        return []
