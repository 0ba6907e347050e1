"""The analytics service's read API as its callers see it: where it listens, its answers, and a client.

    GET  /v1/queries                       the declared queries (contracts/queries.py)
    GET  /v1/queries/{name}?param=value    one named query     → {"columns": [...], "rows": [[...]], "truncated": false}
    POST /v1/sql {"sql": "SELECT …"}       read-only SQL, with the token of run/analytics.json
    POST /v1/issues/actions                triage one issue or many (contracts/triage.py), with the same token
    POST /v1/incidents/feedback            judge an incident's verdict (contracts/incidents.py), with the same token
    GET  /healthz                          the consumer's heartbeat

The dashboard and ``vigil sql`` use ``ReadClient``; errors come back as ``{"error": "one line"}``
(docs/analytics.md, Read API). The transport is injectable (``httpx.MockTransport`` in unit
tests); the default is a real pooled HTTP connection.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import httpx
import msgspec

from contracts import alerts, incidents, runfiles
from contracts.binding import declared
from contracts.triage import Action, check

DEFAULT_PORT = 8472


@dataclasses.dataclass(frozen=True)
class Result:
    """The answer to a named query or SQL: column names and rows, cut at the row limit when ``truncated``."""

    columns: list[str]
    rows: list[list[Any]]
    truncated: bool = False


class ReadApiError(Exception):
    """The read API refused the request or could not be reached; the message is one line."""


class Refused(ReadApiError):
    """The read API answered 400 or 404: the query, its parameters, the SQL or the action are wrong (the caller's)."""


class ReadClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ReadClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query(self, name: str, **params: Any) -> Result:
        """Run a declared query; ``None`` parameters are left out (the query's default applies).

        A name that is not declared raises ``QueryError`` here, without a request.
        """
        declared(name)
        clean = {k: str(v) for k, v in params.items() if v is not None}
        return self._result(lambda: self._http.get(f"/v1/queries/{name}", params=clean))

    def sql(self, statement: str) -> Result:
        """Run one read-only SELECT (needs the token from the run file)."""
        return self._result(lambda: self._http.post("/v1/sql", json={"sql": statement}))

    def act(self, action: Action) -> dict[str, Any]:
        """Triage issues (needs the token); the action is checked here first, without a request."""
        check(action)
        body: dict[str, Any] = self._answer(
            lambda: self._http.post("/v1/issues/actions", content=msgspec.json.encode(action))
        )
        return body

    def feedback(self, given: incidents.Feedback) -> dict[str, Any]:
        """Say whether an incident's verdict is right (needs the token); checked here first, without a request."""
        incidents.check(given)
        body: dict[str, Any] = self._answer(
            lambda: self._http.post("/v1/incidents/feedback", content=msgspec.json.encode(given))
        )
        return body

    def silence(self, given: alerts.Silence) -> dict[str, Any]:
        """Keep a project's alerts (or one rule's) quiet for a while (needs the token); checked here first."""
        alerts.check_silence(given)
        body: dict[str, Any] = self._answer(lambda: self._http.post("/v1/silences", content=msgspec.json.encode(given)))
        return body

    def end_silence(self, silence_id: int, actor: str) -> dict[str, Any]:
        """End a silence now (needs the token)."""
        given = alerts.SilenceEnd(silence_id, actor)
        body: dict[str, Any] = self._answer(
            lambda: self._http.post("/v1/silences/end", content=msgspec.json.encode(given))
        )
        return body

    def daily_report(self, project: str, day: str | None, form: str) -> str:
        """A day's report of ``project`` made now (``day`` YYYY-MM-DD, yesterday when ``None``), as HTML or JSON."""
        params = {"project": project, "format": form, **({"day": day} if day else {})}
        try:
            response = self._http.get("/v1/reports/daily", params=params, timeout=120.0)
        except httpx.HTTPError as e:
            raise ReadApiError(f"analytics read API unreachable: {e}") from None
        if response.status_code != 200:
            try:
                error = response.json().get("error")
            except ValueError:
                error = None
            kind = Refused if response.status_code in (400, 404) else ReadApiError
            raise kind(error or f"analytics read API answered {response.status_code}")
        return response.text

    def _result(self, send: Any) -> Result:
        body = self._answer(send)
        return Result(body["columns"], body["rows"], body.get("truncated", False))

    def _answer(self, send: Any) -> Any:
        try:
            response: httpx.Response = send()
        except httpx.HTTPError as e:
            raise ReadApiError(f"analytics read API unreachable: {e}") from None
        try:
            body = response.json()
        except ValueError:
            raise ReadApiError(f"analytics read API answered {response.status_code} without JSON") from None
        if response.status_code != 200:
            error = Refused if response.status_code in (400, 404) else ReadApiError
            raise error(body.get("error") or f"analytics read API answered {response.status_code}")
        return body


def live_client(data_dir: Path) -> ReadClient | None:
    """A client of the analytics service running on ``data_dir``, with its token; ``None`` when none runs."""
    live = runfiles.read_live(data_dir, "analytics")
    return None if live is None else ReadClient(live["url"], token=live["token"])
