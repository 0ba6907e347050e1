"""One error event, as a person debugging it reads it: exception chain, stack trace, breadcrumbs, context.

Everything comes from the stored event (the read API's ``issue_event``) and is rendered as
text by Dash components: a message, a source line or a breadcrumb that holds HTML shows
as that HTML's text, never as markup.

- The stack trace is most recent call first. Frames of the site's own code are open,
  library frames folded; each shows its original function, file, line and column when a
  source map resolved it, and the lines of source around it when the map embeds them
  (the frame's own line marked). "Minified frames" shows the frames as the browser
  reported them instead.
- Breadcrumbs are a timeline ending at the error, each with its time before the error.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from dash import dcc, html


def _json(text: object, default: Any) -> Any:
    if not isinstance(text, str) or not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def _position(line: object, column: object) -> str:
    return ":".join(str(p) for p in (line, column) if p is not None)


def frame(number: int, found: dict[str, Any], minified: bool) -> html.Details:
    """One frame: folded unless it is the site's own code; with its source lines when known."""
    in_app, mapped = bool(found.get("in_app")), bool(found.get("mapped"))
    function = str(found.get("function") or "<anonymous>")
    if mapped and not minified:
        where = f"{found.get('source')}:{_position(found.get('source_line'), found.get('source_column'))}"
    else:
        where = f"{found.get('url') or '?'}:{_position(found.get('line'), found.get('column'))}"
    summary = html.Summary(
        [
            html.Span(function, className="function"),
            html.Span(" at ", className="muted"),
            html.Span(where, className="where"),
            html.Span(" own code" if in_app else " library", className="tag app" if in_app else "tag lib"),
        ]
    )
    body: list[Any] = []
    context = str(found.get("context") or "")
    if mapped and context and not minified:
        first = int(found.get("source_line") or 1) - len(found.get("pre_context") or [])
        lines = [*(found.get("pre_context") or []), context, *(found.get("post_context") or [])]
        own = len(found.get("pre_context") or [])
        body.append(
            html.Pre(
                [
                    html.Div(
                        [html.Span(f"{first + n:>5} ", className="line-number"), html.Span(str(text))],
                        className="source-line own" if n == own else "source-line",
                    )
                    for n, text in enumerate(lines)
                ],
                className="source",
            )
        )
    elif mapped and not minified:
        body.append(html.P("The source map has no sources embedded: the original line is not known.", className="hint"))
    if mapped:
        minified_at = f"Minified: {found.get('url') or '?'}:{_position(found.get('line'), found.get('column'))}"
        original = _position(found.get("source_line"), found.get("source_column"))
        original_at = f"Original: {found.get('source')}:{original}"
        body.append(html.P(original_at if minified else minified_at, className="muted"))
    elif in_app:
        body.append(html.P("No source map covers this frame: upload one for this release.", className="hint"))
    return html.Details([summary, *body], open=in_app, className="frame", id=f"frame-{number}")


def stack(frames_json: object, minified: bool) -> html.Div:
    found = _json(frames_json, [])
    if not isinstance(found, list) or not found:
        return html.Div(html.P("No stack trace was sent with this event.", className="empty"))
    return html.Div([frame(n, f, minified) for n, f in enumerate(found) if isinstance(f, dict)], className="stack")


def causes(causes_json: object) -> html.Div | None:
    found = _json(causes_json, [])
    if not isinstance(found, list) or not found:
        return None
    return html.Div(
        [html.H4("Caused by")]
        + [
            html.Div(
                [html.Strong(str(c.get("error_type", ""))), html.Span(": " + str(c.get("message", "")))],
                className="cause",
            )
            for c in found
            if isinstance(c, dict)
        ]
    )


def breadcrumbs(crumbs_json: object, error_ts: datetime | str | None) -> html.Div:
    found = _json(crumbs_json, [])
    if not isinstance(found, list) or not found:
        return html.Div(html.P("No breadcrumbs: nothing was recorded before this error.", className="empty"))
    end = _epoch_ms(error_ts)
    rows = []
    for crumb in found:
        if not isinstance(crumb, dict):
            continue
        ts = crumb.get("ts")
        before = f"{(ts - end) / 1000:+.1f} s" if isinstance(ts, int | float) and end is not None and ts else ""
        rows.append(
            html.Li(
                [
                    html.Span(before, className="when"),
                    html.Span(str(crumb.get("category", "")), className=f"tag crumb-{crumb.get('category', '')}"),
                    html.Span(str(crumb.get("message", ""))),
                ],
                className=f"crumb level-{crumb.get('level', 'info')}",
            )
        )
    rows.append(html.Li([html.Span("0.0 s", className="when"), html.Strong("the error")], className="crumb error"))
    return html.Div(html.Ol(rows, className="timeline"))


def _epoch_ms(value: datetime | str | None) -> float | None:
    if isinstance(value, str) and value:
        value = datetime.fromisoformat(value.replace("Z", ""))
    if isinstance(value, datetime):
        return (value - datetime(1970, 1, 1)).total_seconds() * 1000
    return None


def context_table(event: dict[str, Any]) -> html.Table:
    """Where it happened and to whom: the event's keys, and its tags."""
    pairs = [
        ("Page", event.get("page_url")),
        ("Release", event.get("release")),
        ("Environment", event.get("environment")),
        ("Browser", f"{event.get('browser') or ''} {event.get('browser_version') or ''}".strip()),
        ("OS", f"{event.get('os') or ''} {event.get('os_version') or ''}".strip()),
        ("Device", event.get("device_type")),
        ("Country", event.get("country")),
        ("User (hashed)", event.get("user_id")),
        ("Session", event.get("session_id")),
        ("User agent", event.get("user_agent")),
        ("SDK", event.get("sdk")),
        ("Level", event.get("level")),
        ("Caught by", event.get("mechanism")),
        ("Grouped by", event.get("grouping")),
    ]
    tags = _json(event.get("tags"), {})
    if isinstance(tags, dict):
        pairs += [(f"tag {k}", v) for k, v in sorted(tags.items())]
    return html.Table(
        [html.Tr([html.Th(name), html.Td(str(value))]) for name, value in pairs if value not in (None, "")],
        className="keys",
    )


def _value(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _pairs(mapping: dict[str, Any]) -> html.Table:
    return html.Table([html.Tr([html.Th(str(k)), html.Td(_value(v))]) for k, v in mapping.items()], className="keys")


def sdk_details(event: dict[str, Any]) -> list[Any]:
    """What a Sentry SDK sent besides: the request (method and headers, cookies and credentials left out), each
    context (browser, os, device, runtime, trace, …) and the extra data; nothing for a beacon event."""
    parts: list[Any] = []
    request = _json(event.get("request"), {})
    if isinstance(request, dict) and request:
        headers = request.get("headers") if isinstance(request.get("headers"), dict) else {}
        parts += [html.H4(f"Request {request.get('method') or ''}".strip()), _pairs(headers or {"(no headers)": ""})]
    contexts = _json(event.get("contexts"), {})
    if isinstance(contexts, dict) and contexts:
        parts.append(html.H4("Contexts"))
        for name, values in contexts.items():
            shown = values if isinstance(values, dict) else {"value": values}
            parts.append(html.Details([html.Summary(str(name)), _pairs(shown)], open=True, className="sdk-context"))
    extra = _json(event.get("extra"), {})
    if isinstance(extra, dict) and extra:
        parts += [html.H4("Extra data"), _pairs(extra)]
    return parts


def raw(event: dict[str, Any]) -> html.Details:
    """The stored event as JSON, for whatever the views above leave out."""
    shown = {k: _json(v, v) if k in {"frames", "causes", "breadcrumbs", "tags", "fingerprint", "extra", "contexts",
                                        "request"} else v
             for k, v in event.items() if k not in {"newer", "older"}}  # fmt: skip
    return html.Details(
        [html.Summary("The stored event as JSON"), html.Pre(json.dumps(shown, indent=2, default=str))],
        className="raw",
    )


def view(event: dict[str, Any], minified: bool) -> list[Any]:
    """The whole event view."""
    parts: list[Any] = [
        html.H3(
            [html.Span(str(event.get("error_type") or "Error")), html.Span(": " + str(event.get("message") or ""))]
        ),
    ]
    chain = causes(event.get("causes"))
    if chain is not None:
        parts.append(chain)
    parts += [
        html.H4("Stack trace"),
        stack(event.get("frames"), minified),
        html.H4("Breadcrumbs"),
        breadcrumbs(event.get("breadcrumbs"), event.get("ts")),
        html.H4("Context"),
        context_table(event),
        *sdk_details(event),
        raw(event),
    ]
    return parts


def minified_toggle(page: str) -> dcc.Checklist:
    return dcc.Checklist(
        id=f"{page}-minified", options=[{"label": " Minified frames", "value": "minified"}], value=[], inline=True
    )
