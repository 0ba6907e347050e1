"""A project's alert rules and the channels they notify (``[[projects.alerts]]``, ``[[projects.channels]]``).

    [[projects.channels]]
    name = "ops-mail"
    email = ["ops@shop.example"]                 # sent through the [analytics] smtp_* server

    [[projects.channels]]
    name = "ops-chat"
    webhook = "https://chat.shop.example/hooks/xyz"
    format = "slack"                             # vigil (the documented JSON), slack or mattermost

    [[projects.alerts]]
    name = "checkout down"
    when = "check_down"
    checks = ["checkout-api"]                    # all of the project's checks when absent
    channels = ["ops-mail", "ops-chat"]

What each ``when`` watches, and its settings, is in ``KINDS`` and docs/alerts.md; the
analytics service evaluates the rules (``analytics/alerts.py``) and delivers what they fire
(``analytics/notify.py``). A silence (``Silence``) keeps a rule, or the alerts of it whose
subject contains some text, quiet until its end.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any
from urllib.parse import urlsplit

import msgspec

from contracts.services import MAX_ITEMS, MAX_TEXT, strings

MAX_RULES = 50
MAX_CHANNELS = 20
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}")
# Deliberately plain: one mailbox, no display name, nothing a header could be split on.
EMAIL_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*")
FORMATS = ("vigil", "slack", "mattermost")
METRICS = ("cpu", "memory", "disk", "load", "fds", "swap")
SIGNALS = ("error_free_sessions", "good_vitals")
SEVERITIES = ("page", "ticket")
INCIDENT_EVENTS = ("opened", "verdict", "closed")

#: Each kind of rule: what it watches, and the settings it takes beyond name, when and channels.
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "new_issue": ("an issue seen for the first time", ()),
    "regression": ("a resolved issue seen again", ()),
    "issue_spike": ("an issue's events over `minutes` far above its own last day", ("minutes",)),
    "users_affected": ("an issue reaching more than `users` users within `minutes`", ("users", "minutes")),
    "check_down": ("a check down at quorum (k of its n regions)", ("checks",)),
    "check_degraded": ("a check down in at least one region", ("checks",)),
    "agent_lost": ("a probe agent that stopped sending heartbeats", ("regions",)),
    "host_metric": (
        "a host's `metric` above `above` (%, or load) for `minutes`",
        ("metric", "above", "minutes", "hosts"),
    ),
    "slo_burn": (
        "the error budget of `objective` % burning fast over a long and a short window (SRE workbook)",
        ("signal", "objective", "severity"),
    ),
    "incident": ("an incident opened, its verdict changed, or closed", ("on",)),
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "issue_spike": {"minutes": 5},
    "users_affected": {"minutes": 60},
    "host_metric": {"minutes": 5},
    "slo_burn": {"signal": "error_free_sessions", "objective": 99.5, "severity": "page"},
    "incident": {"on": INCIDENT_EVENTS},
}
_LISTS = ("checks", "regions", "hosts", "on")


@dataclasses.dataclass(frozen=True)
class Channel:
    """Where notifications go: e-mail recipients, or a webhook in one of ``FORMATS``."""

    name: str
    email: tuple[str, ...] = ()
    webhook: str = ""
    format: str = "vigil"

    def as_toml(self) -> dict[str, Any]:
        if self.email:
            return {"name": self.name, "email": list(self.email)}
        return {"name": self.name, "webhook": self.webhook, "format": self.format}

    @property
    def target(self) -> str:
        """Where it goes, for people: the recipients, or the webhook's host (its path may hold a secret)."""
        return ", ".join(self.email) if self.email else f"webhook to {urlsplit(self.webhook).netloc} ({self.format})"


@dataclasses.dataclass(frozen=True)
class Rule:
    """One alert rule; the settings a kind does not take stay at their defaults."""

    name: str
    when: str
    channels: tuple[str, ...] = ()
    minutes: int = 0
    users: int = 0
    checks: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    metric: str = ""
    above: float = 0.0
    signal: str = ""
    objective: float = 0.0
    severity: str = ""
    on: tuple[str, ...] = ()

    def as_toml(self) -> dict[str, Any]:
        table: dict[str, Any] = {"name": self.name, "when": self.when}
        for key in KINDS[self.when][1]:
            value = getattr(self, key)
            table[key] = list(value) if isinstance(value, tuple) else value
        table["channels"] = list(self.channels)
        return table

    def settings_text(self) -> str:
        """Its settings in one line (``checks = checkout-api; …``), for lists."""
        parts = []
        for key in KINDS[self.when][1]:
            value = getattr(self, key)
            if value not in ((), "", 0, 0.0):
                parts.append(f"{key} = {', '.join(value) if isinstance(value, tuple) else value}")
        return "; ".join(parts)


def _name(item: dict[str, Any], where: str) -> str:
    name = item.get("name")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ValueError(f"{where}: name must be 1-63 letters, digits, spaces, dots, dashes or underscores")
    return name


def parse_channel(item: object, where: str) -> Channel:
    """One ``[[projects.channels]]`` table; a bad one raises ``ValueError`` with a one-line message."""
    if not isinstance(item, dict):
        raise ValueError(f"{where}: must be a table")
    unknown = sorted(set(item) - {"name", "email", "webhook", "format"})
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0][:40]!r} (known: name, email, webhook, format)")
    name = _name(item, where)
    where = f"{where} ({name})"
    if ("email" in item) == ("webhook" in item):
        raise ValueError(f"{where}: give either email (a list of addresses) or webhook (a URL)")
    if "email" in item:
        if "format" in item:
            raise ValueError(f"{where}: format is for webhooks; e-mail is always text and HTML")
        addresses = strings(item["email"], "email", where, limit=MAX_ITEMS)
        bad = next((a for a in addresses if not EMAIL_RE.fullmatch(a)), None)
        if not addresses or bad is not None:
            raise ValueError(f"{where}: {(bad or '')[:60]!r} is not an e-mail address (name@domain)")
        return Channel(name, email=addresses)
    url, form = item["webhook"], item.get("format", "vigil")
    if not isinstance(url, str) or len(url) > 2000:
        raise ValueError(f"{where}: webhook must be a URL of at most 2,000 characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a bad port raises here)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in {"http", "https"} or not parts.hostname or not url.isprintable() or " " in url:
        raise ValueError(f"{where}: webhook {url[:60]!r} must be an http:// or https:// URL")
    if form not in FORMATS:
        raise ValueError(f"{where}: format must be one of {', '.join(FORMATS)}, not {str(form)[:40]!r}")
    return Channel(name, webhook=url, format=form)


def _number(item: dict[str, Any], key: str, where: str, kind: type, low: float, high: float) -> Any:
    value = item[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and not isinstance(value, int)):
        raise ValueError(f"{where}: {key} must be {'an integer' if kind is int else 'a number'}")
    if not low <= value <= high:
        raise ValueError(f"{where}: {key} must be from {low:g} to {high:g}")
    return kind(value)


def parse_rule(item: object, where: str, channels: tuple[str, ...] | None = None) -> Rule:
    """One ``[[projects.alerts]]`` table; ``channels`` are the names it may notify (any when ``None``)."""
    if not isinstance(item, dict):
        raise ValueError(f"{where}: must be a table")
    name = _name(item, where)
    where = f"{where} ({name})"
    when = item.get("when")
    if when not in KINDS:
        raise ValueError(f"{where}: when must be one of {', '.join(KINDS)}, not {str(when)[:40]!r}")
    takes = KINDS[when][1]
    unknown = sorted(set(item) - {"name", "when", "channels", *takes})
    if unknown:
        known = ", ".join(takes) or "nothing more"
        raise ValueError(f"{where}: {unknown[0][:40]!r} is not a setting of {when} (it takes {known})")
    item = {**DEFAULTS.get(when, {}), **item}
    values: dict[str, Any] = {}
    for key in takes:
        if key in _LISTS:
            raw = item.get(key, [])
            values[key] = strings(list(raw) if isinstance(raw, tuple) else raw, key, where)
        elif key == "minutes":
            values[key] = _number(item, key, where, int, 1, 7 * 24 * 60)
        elif key == "users":
            if "users" not in item:
                raise ValueError(f"{where}: users_affected needs users (how many users make it fire)")
            values[key] = _number(item, key, where, int, 1, 10**9)
        elif key == "above":
            if "above" not in item:
                raise ValueError(f"{where}: host_metric needs above (the threshold)")
            values[key] = _number(item, key, where, float, 0, 10**6)
        elif key == "objective":
            values[key] = _number(item, key, where, float, 50, 99.999)
        else:
            choices = {"metric": METRICS, "signal": SIGNALS, "severity": SEVERITIES}[key]
            if item.get(key) not in choices:
                raise ValueError(f"{where}: {key} must be one of {', '.join(choices)}")
            values[key] = item[key]
    bad_event = next((e for e in values.get("on", ()) if e not in INCIDENT_EVENTS), None)
    if bad_event is not None:
        raise ValueError(f"{where}: on lists {', '.join(INCIDENT_EVENTS)}, not {bad_event[:40]!r}")
    targets = strings(item.get("channels", []), "channels", where, limit=MAX_CHANNELS)
    missing = next((c for c in targets if channels is not None and c not in channels), None)
    if missing is not None:
        raise ValueError(f"{where}: no channel named {missing[:60]!r} in this project")
    return Rule(name, when, targets, **values)


def _unique(names: list[str], what: str) -> None:
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice is not None:
        raise ValueError(f"{what} {twice!r} is declared twice")


def parse_alerting(alerts: object, channels: object) -> tuple[tuple[Rule, ...], tuple[Channel, ...]]:
    """A project's ``alerts`` and ``channels`` arrays of tables; messages name the item (``alerts #2 (x): …``)."""
    for key, raw, most in (("alerts", alerts, MAX_RULES), ("channels", channels, MAX_CHANNELS)):
        if not isinstance(raw, list):
            raise ValueError(f"{key} must be an array of tables ([[projects.{key}]])")
        if len(raw) > most:
            raise ValueError(f"more than {most} {key}")
    assert isinstance(alerts, list)
    assert isinstance(channels, list)
    parsed_channels = tuple(parse_channel(item, f"channels #{n}") for n, item in enumerate(channels, start=1))
    _unique([c.name for c in parsed_channels], "channel")
    names = tuple(c.name for c in parsed_channels)
    rules = tuple(parse_rule(item, f"alerts #{n}", names) for n, item in enumerate(alerts, start=1))
    _unique([r.name for r in rules], "alert rule")
    return rules, parsed_channels


# Silences, as the read API takes them (POST /v1/silences, POST /v1/silences/end).
MAX_ACTOR = 100
MAX_REASON = 500
MAX_BODY = 4000
MAX_SILENCE_MINUTES = 90 * 24 * 60


class Silence(msgspec.Struct, forbid_unknown_fields=True):
    project: str
    minutes: int  # from now until its end
    actor: str
    rule: str = ""  # every rule of the project when empty
    subject: str = ""  # only alerts whose subject contains this text (any case) when given
    reason: str = ""


class SilenceEnd(msgspec.Struct, forbid_unknown_fields=True):
    silence_id: int
    actor: str


class SilenceError(ValueError):
    """A malformed silence or an unknown one; the message is one line (400, or 404)."""


def _actor(actor: str) -> None:
    if not 0 < len(actor) <= MAX_ACTOR or not actor.isprintable():
        raise SilenceError(f"actor: who silences, 1 to {MAX_ACTOR} printable characters")


def check_silence(silence: Silence) -> Silence:
    _actor(silence.actor)
    if not 1 <= silence.minutes <= MAX_SILENCE_MINUTES:
        raise SilenceError(f"minutes: from 1 to {MAX_SILENCE_MINUTES} (90 days)")
    if not 0 < len(silence.project) <= 63:
        raise SilenceError("project: a project's name")
    if len(silence.rule) > 63 or len(silence.subject) > MAX_TEXT or len(silence.reason) > MAX_REASON:
        raise SilenceError(f"rule, subject or reason too long (63, {MAX_TEXT} and {MAX_REASON} characters)")
    return silence


def decode_silence(body: bytes) -> Silence:
    if len(body) > MAX_BODY:
        raise SilenceError(f"body longer than {MAX_BODY} bytes")
    try:
        return check_silence(msgspec.json.decode(body, type=Silence))
    except msgspec.DecodeError as e:
        raise SilenceError(f'expected {{"project": "…", "minutes": 60, "actor": "…", "rule": "…"}}: {e}') from None


def decode_silence_end(body: bytes) -> SilenceEnd:
    if len(body) > MAX_BODY:
        raise SilenceError(f"body longer than {MAX_BODY} bytes")
    try:
        end = msgspec.json.decode(body, type=SilenceEnd)
    except msgspec.DecodeError as e:
        raise SilenceError(f'expected {{"silence_id": 1, "actor": "…"}}: {e}') from None
    _actor(end.actor)
    if not 1 <= end.silence_id < 2**53:
        raise SilenceError("silence_id: a positive integer")
    return end


def delivery_text(deliveries: str | None, silence_id: int | None = None) -> str:
    """How an alert reached each channel, in words (the ``alerts`` query's ``deliveries`` JSON):
    ``ops: sent; chat: pending after 3 attempts: webhook answered 503``, ``silenced (#3)`` or ``no channel``."""
    if silence_id:
        return f"silenced (#{silence_id})"
    parts = []
    for d in json.loads(deliveries or "[]"):
        how = d["status"]
        if d["status"] != "sent" and d["error"]:
            how += f" after {d['attempts']} attempts: {d['error']}"
        parts.append(f"{d['channel']}: {how}")
    return "; ".join(parts) or "no channel"
