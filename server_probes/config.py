"""The agent's config file (``docs/probes.md``): an ``[agent]`` table and ``[[checks]]``, validated once at start.

Every error is one line naming the file, the check and the field, raised as ``contracts.settings.ConfigError``
so ``vigil probe`` exits with status 2 before running anything. With ``checks_from_collector`` the
``[[checks]]`` come from the collector instead (``shared.py``) and go through ``parse_shared_checks``:
the same validation, with the collector's URL as the file.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec

from contracts.settings import ConfigError
from server_probes.jsonpath import JsonPathError, parse_path

Seconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
Name = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$")]
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Check(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True, tag_field="type"):
    name: Name
    interval: Seconds = 60.0
    timeout: Seconds = 10.0
    max_latency_ms: Annotated[float, msgspec.Meta(gt=0)] | None = None


class HttpCheck(_Check, tag="http", frozen=True):
    """An HTTP(S) request, with its timing phases and assertions on the response."""

    url: str
    method: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{1,16}$")] = "GET"
    headers: dict[str, str] = {}
    body: str = ""
    follow_redirects: bool = True
    max_redirects: Annotated[int, msgspec.Meta(ge=0, le=30)] = 10
    expected_status: list[Annotated[int, msgspec.Meta(ge=100, le=599)]] = []  # empty: any 2xx or 3xx
    body_regex: str = ""
    json_path: str = ""
    json_equals: str | int | float | bool | None = None  # absent: the path must exist
    min_cert_days: float | None = None
    ca_file: str = ""  # trust these CAs instead of the bundled Mozilla set


class TcpCheck(_Check, tag="tcp", frozen=True):
    """A TCP connect to ``host:port``."""

    target: str


class TlsCheck(_Check, tag="tls", frozen=True):
    """A TLS handshake to ``host:port``: the certificate must verify and have ``min_cert_days`` left."""

    target: str
    min_cert_days: float = 14.0
    ca_file: str = ""


class DnsCheck(_Check, tag="dns", frozen=True):
    """A DNS query; with ``expected_answers``, the answer set must equal it (order aside)."""

    query: str
    record_type: Literal["A", "AAAA", "CNAME", "MX", "NS", "TXT", "SOA", "CAA", "SRV", "PTR"] = "A"
    nameserver: str = ""  # "ip" or "ip:port"; empty: the system's resolvers
    expected_answers: list[str] = []


Check = HttpCheck | TcpCheck | TlsCheck | DnsCheck


class AgentConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """The ``[agent]`` table."""

    collector: str = ""  # e.g. "https://vigil.example.com"; empty: results only go to /metrics and the spool
    project_id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)] = 1
    secret_token: str = ""
    region: Annotated[str, msgspec.Meta(max_length=64)] = ""
    host: Annotated[str, msgspec.Meta(max_length=200)] = ""  # empty: this machine's hostname
    concurrency: Annotated[int, msgspec.Meta(ge=1, le=256)] = 16
    push_interval: Seconds = 5.0
    batch_max: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 500
    spool_dir: str = "probe-spool"
    spool_max_bytes: Annotated[int, msgspec.Meta(ge=10_000)] = 50_000_000
    heartbeat_interval: Seconds = 30.0
    host_metrics_interval: Annotated[float, msgspec.Meta(ge=0, le=86_400)] = 15.0  # 0: off
    self_check: str = ""  # a URL that answers 2xx when this agent's network works; empty: off
    self_check_interval: Seconds = 30.0
    metrics_port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 0  # 0: no /metrics endpoint
    metrics_host: str = "127.0.0.1"
    checks_from_collector: bool = False  # the [[checks]] come from GET {collector}/api/{project_id}/probes/config
    checks_refresh_interval: Seconds = 60.0


class ProbeConfig(msgspec.Struct, frozen=True):
    agent: AgentConfig
    checks: tuple[Check, ...]
    path: Path


def load_config(path: Path, *, region: str | None = None, environ: dict[str, str] | None = None) -> ProbeConfig:
    """Read, substitute ``${ENV}`` and validate the file; ``region`` (``--region``) overrides the file's."""
    env = dict(os.environ) if environ is None else environ
    try:
        document = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    unknown = set(document) - {"agent", "checks"}
    if unknown:
        raise ConfigError(f"{path}: unknown table or key {sorted(unknown)[0]!r} (expected [agent] and [[checks]])")
    raw_agent = _substitute(document.get("agent", {}), env, f"{path}: [agent]")
    agent = _convert(raw_agent, AgentConfig, f"{path}: [agent]")
    if region is not None:
        agent = msgspec.structs.replace(agent, region=region)
    _check_agent(agent, path)
    if agent.checks_from_collector and "checks" in document:
        raise ConfigError(f"{path}: checks: not allowed with checks_from_collector (the collector serves them)")
    return ProbeConfig(agent=agent, checks=_parse_checks(document.get("checks", []), env, str(path)), path=path)


def parse_shared_checks(text: str, source: str, environ: dict[str, str] | None = None) -> tuple[Check, ...]:
    """Validate the collector's shared check list (TOML with only ``[[checks]]``); errors name ``source``.

    ``${NAME}`` is substituted from this agent's environment, as in its own file. An ``[agent]`` table
    is refused: each agent keeps its own (collector, token, region) and a shared one would be ignored.
    """
    env = dict(os.environ) if environ is None else environ
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from None
    if "agent" in document:
        raise ConfigError(f"{source}: [agent]: not allowed in the shared check list (each agent keeps its own)")
    unknown = set(document) - {"checks"}
    if unknown:
        raise ConfigError(f"{source}: unknown table or key {sorted(unknown)[0]!r} (expected only [[checks]])")
    return _parse_checks(document.get("checks", []), env, source)


def _parse_checks(raw_checks: Any, env: dict[str, str], source: str) -> tuple[Check, ...]:
    if not isinstance(raw_checks, list) or not all(isinstance(c, dict) for c in raw_checks):
        raise ConfigError(f"{source}: checks must be an array of tables ([[checks]])")
    checks: list[Check] = []
    for n, raw in enumerate(raw_checks, start=1):
        where = f"{source}: check {raw.get('name', f'#{n}')!r}"
        check = _convert(_substitute(raw, env, where), Check, where)
        _check_semantics(check, where)
        if any(c.name == check.name for c in checks):
            raise ConfigError(f"{where}: name: used by another check")
        checks.append(check)
    return tuple(checks)


def _substitute(value: Any, env: dict[str, str], where: str, field: str = "") -> Any:
    """Replace ``${NAME}`` in every string with the environment variable; an unset one is an error."""
    if isinstance(value, str):

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                raise ConfigError(f"{where}: {field or 'value'}: environment variable {name} is not set")
            return env[name]

        return _ENV.sub(one, value)
    if isinstance(value, dict):
        return {k: _substitute(v, env, where, f"{field}.{k}" if field else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, env, where, f"{field}[{i}]") for i, v in enumerate(value)]
    return value


def _convert(raw: Any, cls: Any, where: str) -> Any:
    try:
        return msgspec.convert(raw, cls, strict=True)
    except msgspec.ValidationError as e:
        raise ConfigError(f"{where}: {_field_message(str(e))}") from None


def _field_message(message: str) -> str:
    """msgspec's ``Expected `int`, got `str` - at `$.interval``` → ``interval: Expected `int`, got `str```."""
    text, _, at = message.partition(" - at `$")
    field = at.rstrip("`").lstrip(".")
    unknown = re.match(r"Object contains unknown field `([^`]+)`", text)
    if unknown:
        return f"{(field + '.') if field else ''}{unknown.group(1)}: unknown field"
    missing = re.match(r"Object missing required field `([^`]+)`", text)
    if missing:
        return f"{(field + '.') if field else ''}{missing.group(1)}: missing"
    if "Invalid value" in text and not field:
        return f"type: {text} (expected one of http, tcp, tls, dns)"
    return f"{field or 'value'}: {text}"


def _check_agent(agent: AgentConfig, path: Path) -> None:
    where = f"{path}: [agent]"
    for field in ("collector", "self_check"):
        url = getattr(agent, field)
        if url and not _is_http_url(url):
            raise ConfigError(f"{where}: {field}: must be an http:// or https:// URL, got {url!r}")
    if agent.checks_from_collector and not agent.collector:
        raise ConfigError(f"{where}: checks_from_collector: needs collector (the URL to fetch the checks from)")
    if agent.collector and not agent.secret_token:
        raise ConfigError(f"{where}: secret_token: required when collector is set (use ${{ENV}} to keep it out)")
    if not agent.region:
        raise ConfigError(f"{where}: region: missing (set it here or with --region)")


def _check_semantics(check: Check, where: str) -> None:
    if check.timeout > check.interval:
        raise ConfigError(f"{where}: timeout: {check.timeout} s is longer than the interval ({check.interval} s)")
    if isinstance(check, HttpCheck):
        if not _is_http_url(check.url):
            raise ConfigError(f"{where}: url: must be an http:// or https:// URL, got {check.url!r}")
        try:
            re.compile(check.body_regex)
        except re.error as e:
            raise ConfigError(f"{where}: body_regex: {e}") from None
        if check.json_path:
            try:
                parse_path(check.json_path)
            except JsonPathError as e:
                raise ConfigError(f"{where}: json_path: {e}") from None
        elif check.json_equals is not None:
            raise ConfigError(f"{where}: json_equals: needs json_path")
    if isinstance(check, TcpCheck | TlsCheck):
        try:
            split_target(check.target)
        except ValueError as e:
            raise ConfigError(f"{where}: target: {e}") from None
    if isinstance(check, HttpCheck | TlsCheck) and check.ca_file and not Path(check.ca_file).is_file():
        raise ConfigError(f"{where}: ca_file: no such file {check.ca_file!r}")
    if isinstance(check, DnsCheck) and check.nameserver:
        try:
            split_nameserver(check.nameserver)
        except ValueError as e:
            raise ConfigError(f"{where}: nameserver: {e}") from None


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def split_target(target: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` → (host, port)."""
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"must be host:port, got {target!r}")
    return host.strip("[]"), int(port)


def split_nameserver(value: str) -> tuple[str, int]:
    """``1.1.1.1``, ``1.1.1.1:53`` or ``[2606:4700::1111]:53`` → (address, port)."""
    if value.startswith("["):
        host, _, port = value[1:].partition("]:")
        return host.rstrip("]"), int(port or 53)
    if value.count(":") == 1:
        return split_target(value)
    return value, 53
