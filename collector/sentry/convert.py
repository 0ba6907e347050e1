"""From Sentry payloads to Vigil's own records, for what the collector shapes itself.

An event's user is keyed and its address anonymized here, and the user and the request's
secrets (cookies, credentials, the environment) are taken out of the event before it is
queued: the project's secret and the user's address stay in the collector. The rest of
the event is converted by analytics (``analytics/sentry/convert.py``). Session updates,
session aggregates and client reports become a ``SentryEntry`` on the ``vigil:sentry``
stream. Every string is cut to Vigil's bounds here: Sentry's schema has none, and an SDK's
payload should be stored, not refused, for a long name.
"""

from __future__ import annotations

import ipaddress

from collector.anonymize import anonymize_ip, user_hash
from collector.sentry import schema as sentry
from contracts import beacon as vigil
from contracts.beacon import cut
from contracts.sentry import pairs, secret_header, to_ms
from contracts.stream import DropRow, SessionRow


def user_address(user: sentry.User | None, sender: str, keep: bool) -> str:
    """The end user's address: the event's ``user.ip_address`` when it is one (a server SDK names its client's),
    the sender's for ``{{auto}}`` or none; anonymized as the sender's is unless the project keeps addresses."""
    given = user.ip_address if user is not None else None
    if not given or given == "{{auto}}":
        return sender
    try:
        address = str(ipaddress.ip_address(given))
    except ValueError:
        return sender
    return address if keep else anonymize_ip(address)


def hashed_user(secret: str, user: sentry.User | None) -> str:
    """The user's id (or e-mail, or name) keyed with the project's secret (``user_hash``); never the id itself."""
    if user is None:
        return ""
    identity = user.id if user.id not in (None, "") else user.email or user.username
    if identity in (None, ""):
        return ""
    return user_hash(secret, str(identity))


def kept_request(request: sentry.RequestHead | None) -> dict[str, object] | None:
    """The event's request as queued: its URL, method and headers but the secret ones (cookies, credentials, the
    user's address); its cookies, environment, body, query string and fragment are not kept (analytics stores none
    of them). A query or fragment inside ``url`` stays: analytics scrubs the URL as every other."""
    if request is None:
        return None
    kept = {k: v for k, v in pairs(request.headers) if isinstance(k, str) and not secret_header(k)}
    return {"url": request.url, "method": request.method, "headers": kept}


def session_rows(item: sentry.Session, received_at: int) -> list[SessionRow]:
    return [
        SessionRow(
            release=cut(item.attrs.release, vigil.MAX_NAME),
            environment=cut(item.attrs.environment, vigil.MAX_SHORT),
            started=to_ms(item.started, received_at),
            session_id=cut(item.sid, vigil.MAX_ID),
            distinct_id=cut(item.did, vigil.MAX_ID),
            status=cut(item.status, vigil.MAX_SHORT),
            errors=max(0, min(item.errors, 2**31 - 1)),
            duration=item.duration if item.duration is not None and 0 <= item.duration < 1e9 else None,
            quantity=1,
            init=item.init,
        )
    ]


def aggregate_rows(item: sentry.Sessions, received_at: int) -> list[SessionRow]:
    rows = []
    for aggregate in item.aggregates[:1000]:
        for status in ("exited", "errored", "unhandled", "abnormal", "crashed"):
            count = getattr(aggregate, status)
            if count > 0:
                rows.append(
                    SessionRow(
                        release=cut(item.attrs.release, vigil.MAX_NAME),
                        environment=cut(item.attrs.environment, vigil.MAX_SHORT),
                        started=to_ms(aggregate.started, received_at),
                        session_id="",
                        distinct_id=cut(aggregate.did, vigil.MAX_ID),
                        status=status,
                        errors=0,
                        duration=None,
                        quantity=min(count, 2**31 - 1),
                        init=True,
                    )
                )
    return rows


def drop_rows(item: sentry.ClientReport) -> list[DropRow]:
    return [
        DropRow(cut(d.reason, vigil.MAX_SHORT), cut(d.category, vigil.MAX_SHORT), max(0, min(d.quantity, 2**31 - 1)))
        for d in item.discarded_events[:200]
        if d.quantity > 0
    ]
