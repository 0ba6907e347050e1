"""The read API: named queries, token-guarded read-only SQL, triage, incident feedback, silences, reports.

Every query runs in a worker thread on its own DuckDB cursor, so reads never wait for the
consumer's writes (DuckDB gives each cursor a consistent snapshot).
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import duckdb
import msgspec
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Lifespan

from analytics import incidents, report, silences, triage, user_sql
from analytics.consume import Consumer
from analytics.idle import IdleMemory
from analytics.queries import run_query
from analytics.store import cursor
from contracts import alerts as alerts_contract
from contracts import incidents as incidents_contract
from contracts import triage as triage_contract
from contracts.projects import Project
from contracts.queries import QUERIES, QueryError
from contracts.read_api import Result
from contracts.settings import ConfigError
from contracts.triage import ActionError

T = TypeVar("T")
MAX_SQL_BYTES = 100_000
#: The consumer is unhealthy when its loop has not turned, or Redis has not answered, for this long.
STALE_SECONDS = 30.0


def _enc_hook(value: Any) -> Any:
    return str(value)


_encode = msgspec.json.Encoder(enc_hook=_enc_hook).encode


class SqlRequest(msgspec.Struct):
    sql: str


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(_encode(body), status_code=status, media_type="application/json", headers=headers)


def _result(result: Result) -> Response:
    return _json(200, {"columns": result.columns, "rows": result.rows, "truncated": result.truncated})


def create_api(
    con: duckdb.DuckDBPyConnection,
    consumer: Consumer | None,
    token: str,
    lifespan: Lifespan[Any] | None = None,
    sql_limits: user_sql.Limits = user_sql.DEFAULT_LIMITS,
    projects: Callable[[], dict[int, Project]] | None = None,
    dashboard_url: str = "",
    idle: IdleMemory | None = None,
) -> Starlette:
    """The read API over ``con``; ``consumer`` (if any) reports its heartbeat on ``/healthz``, ``idle`` (if any) is
    told of every read."""

    def on_cursor(work: Callable[[duckdb.DuckDBPyConnection], T]) -> Callable[[], T]:
        def run() -> T:
            with idle.reading() if idle is not None else contextlib.nullcontext():
                own = cursor(con)
                try:
                    return work(own)
                finally:
                    own.close()

        return run

    async def healthz(request: Request) -> Response:
        if consumer is None:
            return _json(200, {"status": "ok"})
        now = time.time()
        tick_age, read_age = now - consumer.last_tick, now - consumer.last_ok
        if tick_age >= STALE_SECONDS:
            status = "consumer stalled"
        elif read_age >= STALE_SECONDS:
            status = "redis unreachable"
        else:
            status = "ok"
        body = {
            "status": status,
            "consumer": consumer.name,
            "seconds_since_tick": round(tick_age, 3),
            "seconds_since_read": round(read_age, 3),
            "last_error": consumer.last_error,
            "committed_entries": consumer.committed_entries,
            "committed_rows": consumer.committed_rows,
            "dead_entries": consumer.dead_entries,
            "claimed_entries": consumer.claimed_entries,
            "conflicts": consumer.conflicts,
            "commit_seconds": round(consumer.commit_seconds, 3),
            "idle_releases": idle.released if idle is not None else 0,
        }
        return _json(200 if status == "ok" else 503, body)

    async def list_queries(request: Request) -> Response:
        return _json(
            200,
            {
                "queries": [
                    {
                        "name": q.name,
                        "doc": q.doc,
                        "params": [{"name": p.name, "kind": p.kind, "doc": p.doc} for p in q.params],
                    }
                    for q in QUERIES.values()
                ]
            },
        )

    async def named_query(request: Request) -> Response:
        name, params = request.path_params["name"], dict(request.query_params)
        try:
            return _result(await run_in_threadpool(on_cursor(lambda c: run_query(c, name, params))))
        except QueryError as e:
            return _json(404 if name not in QUERIES else 400, {"error": str(e)})

    def authorized(request: Request) -> bool:
        supplied = request.headers.get("authorization", "").removeprefix("Bearer ").encode()
        return secrets.compare_digest(supplied, token.encode())

    async def sql(request: Request) -> Response:
        if not authorized(request):
            return _json(401, {"error": "a valid token is required (vigil sql reads it from the data directory)"})
        body = await request.body()
        if len(body) > MAX_SQL_BYTES:
            return _json(413, {"error": f"SQL longer than {MAX_SQL_BYTES} bytes"})
        try:
            statement = msgspec.json.decode(body, type=SqlRequest).sql
        except msgspec.DecodeError as e:
            return _json(400, {"error": f'expected {{"sql": "SELECT …"}}: {e}'})
        try:
            return _result(await run_in_threadpool(on_cursor(lambda c: user_sql.run(c, statement, sql_limits))))
        except QueryError as e:
            return _json(400, {"error": str(e)})

    async def issue_actions(request: Request) -> Response:
        """``POST /v1/issues/actions`` (contracts/triage.py): the token is needed, as for SQL."""
        if not authorized(request):
            return _json(401, {"error": "a valid token is required (it is in the data directory's run/analytics.json)"})
        body = await request.body()
        if len(body) > triage_contract.MAX_BODY:
            return _json(413, {"error": f"body longer than {triage_contract.MAX_BODY} bytes"})
        try:
            action = triage_contract.decode(body)
            return _json(200, await run_in_threadpool(on_cursor(lambda c: triage.act(c, action))))
        except ActionError as e:
            return _json(404 if str(e).startswith("no issue") else 400, {"error": str(e)})
        except duckdb.TransactionException:
            # The consumer was updating the same issues: nothing changed; the caller retries.
            return _json(409, {"error": "the issues changed meanwhile, retry"}, {"Retry-After": "1"})

    async def incident_feedback(request: Request) -> Response:
        """``POST /v1/incidents/feedback`` (contracts/incidents.py): the token is needed, as for triage."""
        if not authorized(request):
            return _json(401, {"error": "a valid token is required (it is in the data directory's run/analytics.json)"})
        body = await request.body()
        if len(body) > incidents_contract.MAX_BODY:
            return _json(413, {"error": f"body longer than {incidents_contract.MAX_BODY} bytes"})
        try:
            given = incidents_contract.decode(body)
            now = datetime.now(UTC).replace(tzinfo=None)
            return _json(200, await run_in_threadpool(on_cursor(lambda c: incidents.feedback(c, given, now))))
        except incidents_contract.FeedbackError as e:
            return _json(404 if str(e).startswith("no incident") else 400, {"error": str(e)})
        except duckdb.TransactionException:
            # The correlation job was updating the same incident: nothing changed; the caller retries.
            return _json(409, {"error": "the incident changed meanwhile, retry"}, {"Retry-After": "1"})

    async def token_body(request: Request, most: int) -> bytes | Response:
        """The body of a request that changes something, or the refusal: 401 without the token, 413 too long."""
        if not authorized(request):
            return _json(401, {"error": "a valid token is required (it is in the data directory's run/analytics.json)"})
        body = await request.body()
        if len(body) > most:
            return _json(413, {"error": f"body longer than {most} bytes"})
        return body

    async def silence(request: Request) -> Response:
        """``POST /v1/silences`` (contracts/alerts.py): keep a project's alerts (or one rule's) quiet for a while."""
        body = await token_body(request, alerts_contract.MAX_BODY)
        if isinstance(body, Response):
            return body
        try:
            given = alerts_contract.decode_silence(body)
            project = next((p for p in (projects() if projects else {}).values() if p.name == given.project), None)
            if project is None:
                raise alerts_contract.SilenceError(f"no project named {given.project[:60]!r}")
            now = datetime.now(UTC).replace(tzinfo=None)
            return _json(
                200, await run_in_threadpool(on_cursor(lambda c: silences.create_silence(c, project, given, now)))
            )
        except alerts_contract.SilenceError as e:
            return _json(404 if str(e).startswith("no ") else 400, {"error": str(e)})
        except ConfigError as e:
            return _json(503, {"error": f"the projects cannot be read: {e}"})

    async def end_silence(request: Request) -> Response:
        """``POST /v1/silences/end``: end a silence now."""
        body = await token_body(request, alerts_contract.MAX_BODY)
        if isinstance(body, Response):
            return body
        try:
            end = alerts_contract.decode_silence_end(body)
            now = datetime.now(UTC).replace(tzinfo=None)
            work = on_cursor(lambda c: silences.end_silence(c, end.silence_id, end.actor, now))
            return _json(200, await run_in_threadpool(work))
        except alerts_contract.SilenceError as e:
            return _json(404 if str(e).startswith("no ") else 400, {"error": str(e)})

    async def daily_report(request: Request) -> Response:
        """``GET /v1/reports/daily?project=P&day=YYYY-MM-DD&format=html|json``: any day's report, made now."""
        name, raw_day = request.query_params.get("project", ""), request.query_params.get("day", "")
        form = request.query_params.get("format", "json")
        if form not in ("json", "html"):
            return _json(400, {"error": "format: json or html"})
        try:
            found = {p.name: p for p in (projects() if projects else {}).values()}
        except ConfigError as e:
            return _json(503, {"error": f"the projects cannot be read: {e}"})
        project = found.get(name)
        if project is None:
            return _json(404, {"error": f"no project named {name[:60]!r}"})
        today = datetime.now(UTC).astimezone(project.report.zone).date()
        try:
            day = date.fromisoformat(raw_day) if raw_day else today - timedelta(days=1)
        except ValueError:
            return _json(400, {"error": f"day: expected YYYY-MM-DD, got {raw_day[:40]!r}"})
        if not today - timedelta(days=report.MAX_DAYS_BACK) <= day <= today:
            return _json(400, {"error": f"day: from {report.MAX_DAYS_BACK} days ago to today"})
        made = await run_in_threadpool(on_cursor(lambda c: report.build(c, project, day)))
        if form == "html":
            return Response(report.render_html(made, dashboard_url), media_type="text/html; charset=utf-8")
        return _json(200, made)

    routes = [
        Route("/healthz", healthz),
        Route("/v1/reports/daily", daily_report),
        Route("/v1/silences", silence, methods=["POST"]),
        Route("/v1/silences/end", end_silence, methods=["POST"]),
        Route("/v1/incidents/feedback", incident_feedback, methods=["POST"]),
        Route("/v1/issues/actions", issue_actions, methods=["POST"]),
        Route("/v1/queries", list_queries),
        Route("/v1/queries/{name}", named_query),
        Route("/v1/sql", sql, methods=["POST"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
