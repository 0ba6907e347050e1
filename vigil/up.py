"""``vigil up`` and ``vigil demo``: every process of Vigil on one machine, supervised.

Start order: redis-server (unless an external Redis is configured), analytics, collector,
dashboard, the probe agent watching them (``vigil/self_probe.py``), then for the demo the
demo site, its traffic and two probe agents standing for two regions. Each is ready before the next
starts; the supervisor stops them in the reverse order.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import secrets
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import redis

from analytics.settings import AnalyticsSettings
from collector.backlog import redis_maxmemory
from collector.settings import CollectorSettings
from contracts import runfiles
from contracts.projects import Project, ensure_demo_project, save_item, save_service
from contracts.services import Service
from contracts.settings import ConfigError, load
from contracts.stream import cluster_nodes
from dashboard.settings import DashboardSettings
from dashboard.users import Users, users_file
from vigil import redis_server, self_probe
from vigil.demo import fleet
from vigil.demo.site import mail_port, vendor_port
from vigil.demo.traffic import COUNTRY_HEADER
from vigil.supervise import Child, Supervisor


@dataclasses.dataclass(frozen=True)
class Plan:
    """What ``vigil up`` will run, resolved from options, environment and vigil.toml."""

    data_dir: Path
    collector: CollectorSettings
    analytics: AnalyticsSettings
    dashboard: DashboardSettings
    redis_url: str
    embedded_redis: bool
    demo_port: int | None = None


def plan(
    data_dir: Path,
    *,
    redis_url: str | None = None,
    collector_port: int | None = None,
    analytics_port: int | None = None,
    dashboard_port: int | None = None,
    demo_port: int | None = None,
) -> Plan:
    data_dir.mkdir(parents=True, exist_ok=True)
    collector = load(CollectorSettings, "collector", data_dir, {"redis_url": redis_url, "port": collector_port})
    analytics = load(AnalyticsSettings, "analytics", data_dir, {"redis_url": redis_url, "port": analytics_port})
    analytics_url = f"http://127.0.0.1:{analytics.port}"
    dashboard = load(DashboardSettings, "dashboard", data_dir, {"port": dashboard_port, "analytics_url": analytics_url})
    embedded = not collector.redis_url
    url = collector.redis_url or redis_server.url(redis_server.socket_path(data_dir))
    return Plan(data_dir, collector, analytics, dashboard, url, embedded, demo_port)


def check_ports(p: Plan) -> None:
    """Refuse to start, with one line naming the option, if a port is already taken."""
    wanted = [
        (p.collector.host, p.collector.port, "collector", "--collector-port"),
        (p.analytics.host, p.analytics.port, "analytics read API", "--analytics-port"),
        (p.dashboard.host, p.dashboard.port, "dashboard", "--dashboard-port"),
    ]
    if p.demo_port is not None:
        wanted.append(("127.0.0.1", p.demo_port, "demo site", "--demo-port"))
        wanted.append(("127.0.0.1", vendor_port(p.demo_port), "demo's third party (the next port)", "--demo-port"))
        wanted.append(("127.0.0.1", mail_port(p.demo_port), "demo's mailbox (the port after)", "--demo-port"))
    seen: set[int] = set()
    for host, port, what, option in wanted:
        if port in seen:
            raise ConfigError(f"port {port} is given to two parts (the {what} among them); change {option}")
        seen.add(port)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError as e:
                reason = "is already in use" if e.errno == errno.EADDRINUSE else f"cannot be used ({e.strerror})"
                raise ConfigError(f"port {port} for the {what} {reason}; choose another with {option}") from None


def _http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def _redis_ok(url: str) -> Callable[[], bool]:
    """Whether the Redis answers; for a Redis Cluster, whether one of its seed nodes does."""
    options: dict[str, Any] = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    nodes = cluster_nodes(url)

    def answers(client: redis.Redis) -> bool:
        try:
            with client:
                return bool(client.ping())
        except (redis.RedisError, OSError):
            return False

    def check() -> bool:
        if nodes is None:
            return answers(redis.Redis.from_url(url, **options))
        return any(answers(redis.Redis(host=host, port=port, **options)) for host, port in nodes)

    return check


def children(p: Plan, project: Project) -> list[Child]:
    """The supervised processes, in start order, each given its settings through the environment."""
    env = {
        "VIGIL_DATA_DIR": str(p.data_dir),
        "VIGIL_REDIS_URL": p.redis_url,
        "VIGIL_COLLECTOR_PORT": str(p.collector.port),
        "VIGIL_ANALYTICS_PORT": str(p.analytics.port),
        "VIGIL_DASHBOARD_PORT": str(p.dashboard.port),
        "VIGIL_DASHBOARD_ANALYTICS_URL": p.dashboard.analytics_url,
    }
    vigil = [sys.executable, "-m", "vigil"]
    result = []
    if p.embedded_redis:
        sock = Path(p.redis_url.removeprefix("unix://"))
        maxmemory = redis_maxmemory(p.collector.max_backlog_bytes) if p.collector.max_backlog_bytes else 0
        command = redis_server.command(p.data_dir, sock=sock, maxmemory=maxmemory)
        result.append(Child("redis", command, ready=_redis_ok(p.redis_url)))
    analytics_env = collector_env = env
    if p.demo_port is not None:
        # The demo's visitors come from several countries, as a CDN in front of the collector would say.
        if not p.collector.country_header:
            collector_env = {**env, "VIGIL_COLLECTOR_COUNTRY_HEADER": COUNTRY_HEADER}
        # The demo's traffic is dense: two minutes are enough to judge by, so a break shows a few minutes after start.
        analytics_env = {**DEMO_CORRELATION, **demo_alerts(p.demo_port, bool(p.analytics.smtp_host)), **env}
    result += [
        Child(
            "analytics",
            [*vigil, "serve", "analytics"],
            analytics_env,
            ready=_http_ok(f"{p.dashboard.analytics_url}/healthz"),
        ),
        Child(
            "collector", [*vigil, "serve", "collector"], collector_env, ready=_http_ok(f"{_local(p.collector)}/readyz")
        ),
        Child("dashboard", [*vigil, "serve", "dashboard"], env, ready=_http_ok(f"{_local(p.dashboard)}/healthz")),
        _probe(
            p,
            project,
            self_probe.LOCAL_REGION,
            self_probe.local_checks(_local(p.collector), p.dashboard.analytics_url, _local(p.dashboard)),
            host_metrics=True,
        ),
    ]
    if p.demo_port is not None:
        demo_env = {**env, "VIGIL_DEMO_PORT": str(p.demo_port), "VIGIL_COLLECTOR_URL": p.collector.url}
        result += [
            Child(
                "demo-site",
                [*vigil, "serve", "demo-site"],
                demo_env,
                ready=_http_ok(f"http://127.0.0.1:{p.demo_port}/"),
            ),
            Child("demo-traffic", [*vigil, "serve", "demo-traffic"], demo_env),
            *(_probe(p, project, region, self_probe.demo_checks(f"http://127.0.0.1:{p.demo_port}", region),
                     host_metrics=False) for region in self_probe.DEMO_REGIONS),
        ]  # fmt: skip
    return result


def _probe(p: Plan, project: Project, region: str, checks: list[dict[str, object]], *, host_metrics: bool) -> Child:
    config = self_probe.write_config(
        p.data_dir, region, project, _local(p.collector), checks, host_metrics=host_metrics
    )
    argv = [sys.executable, "-m", "vigil", "probe", "--config", str(config), "--region", region]
    return Child(f"probe-{region}", argv, {"VIGIL_DATA_DIR": str(p.data_dir)})


def _local(settings: CollectorSettings | DashboardSettings) -> str:
    host = "127.0.0.1" if settings.host in {"0.0.0.0", "::"} else settings.host  # noqa: S104
    return f"http://{host}:{settings.port}"


DEMO_USER = "demo"
DEMO_SERVICE = "demo-api"
#: Correlation settings for the demo, unless the environment sets them (docs/correlation.md, On the demo).
DEMO_CORRELATION = {
    name: os.environ.get(name, value)
    for name, value in (
        ("VIGIL_ANALYTICS_CORRELATION_WINDOW_MINUTES", "2"),
        ("VIGIL_ANALYTICS_CORRELATION_MIN_HISTORY_MINUTES", "2"),
    )
}


def demo_alerts(demo_port: int, smtp_configured: bool = False) -> dict[str, str]:
    """Alert settings for the demo, unless the environment sets them: mail goes to the demo's own mailbox (plain
    SMTP on loopback) unless an SMTP server is configured (the environment or vigil.toml: the projects sharing
    the data directory keep their mail), and a message waits seconds, not minutes, for others (docs/alerts.md,
    On the demo)."""
    wanted = {
        "VIGIL_ANALYTICS_ALERT_GROUP_WAIT_SECONDS": "5",
        "VIGIL_ANALYTICS_ALERT_GROUP_INTERVAL_SECONDS": "30",
    }
    if not smtp_configured:
        wanted |= {
            "VIGIL_ANALYTICS_SMTP_HOST": "127.0.0.1",
            "VIGIL_ANALYTICS_SMTP_PORT": str(mail_port(demo_port)),
            "VIGIL_ANALYTICS_SMTP_SECURITY": "none",
            "VIGIL_ANALYTICS_SMTP_SENDER": "vigil@demo.example",
        }
    return {name: os.environ.get(name, value) for name, value in wanted.items()}


def declare_demo_alerts(data_dir: Path, project: Project, demo_port: int) -> None:
    """The demo project's alerts, unless it has some: its incidents (opened, blamed anew, closed) to the demo's
    mailbox and webhook receiver."""
    if project.alerts or project.channels:
        return
    save_item(data_dir, project.name, "channels", "demo-mail", {"name": "demo-mail", "email": ["team@demo.example"]})
    hook = {"name": "demo-hook", "webhook": f"http://127.0.0.1:{demo_port}/hooks/alerts", "format": "vigil"}
    save_item(data_dir, project.name, "channels", "demo-hook", hook)
    rule = {"name": "incidents", "when": "incident", "on": ["opened", "verdict", "closed"],
            "channels": ["demo-mail", "demo-hook"]}  # fmt: skip
    save_item(data_dir, project.name, "alerts", "incidents", rule)


def login_line(data_dir: Path, *, demo_user: bool) -> str:
    """How to log in to the dashboard; the demo makes itself a user (its password kept beside the users, mode 600)."""
    users = Users(users_file(data_dir))
    kept = data_dir / "dashboard" / "demo-password"
    if demo_user and not users.any():
        password = secrets.token_urlsafe(12)
        users.add(DEMO_USER, password)
        runfiles.write_private(kept, password)
    if demo_user and users.exists(DEMO_USER) and kept.exists():
        return f"{DEMO_USER} / {kept.read_text().strip()}   (made for the demo; vigil user add for your own)"
    if users.any():
        return "with a user of `vigil user list`"
    return "no users yet: the dashboard is read-only until `vigil user add NAME`"


def declare_demo_api(data_dir: Path, project: Project, demo_port: int) -> None:
    """The demo shop's API as a service of the demo project (its checks, its URLs, the demo fleet's machines that
    serve it), unless one is declared already:
    correlation then knows the shop's failing API from its third party (docs/correlation.md)."""
    if not any(s.name == DEMO_SERVICE for s in project.services):
        api = Service(DEMO_SERVICE, url_prefixes=(f"http://127.0.0.1:{demo_port}/api/",), checks=(DEMO_SERVICE,),
                      hosts=fleet.api_hosts())  # fmt: skip
        save_service(data_dir, project.name, DEMO_SERVICE, api)


def run(p: Plan, echo: Callable[[str], None]) -> None:
    """Start everything, print where it listens, and supervise until SIGTERM or Ctrl-C."""
    lock = runfiles.lock_data_dir(p.data_dir)
    check_ports(p)
    demo = ensure_demo_project(p.data_dir)
    if p.demo_port is not None:
        declare_demo_api(p.data_dir, demo, p.demo_port)
        declare_demo_alerts(p.data_dir, demo, p.demo_port)
    supervisor = Supervisor(children(p, demo))
    supervisor.handle_signals()
    try:
        supervisor.start()
    except Exception:
        supervisor.stop()
        raise
    if supervisor.stopping:  # asked to stop while starting
        supervisor.stop()
        return
    echo(f"Vigil is up (data in {p.data_dir.resolve()})")
    echo(f"  collector   {p.collector.url}   (beacon: {p.collector.url}/beacon.js)")
    echo(f"  dashboard   {_local(p.dashboard)}/")
    echo(f"  read API    {p.dashboard.analytics_url}   (vigil sql)")
    echo(f"  redis       {p.redis_url}{' (embedded)' if p.embedded_redis else ''}")
    if p.demo_port is not None:
        echo(f"  demo site   http://127.0.0.1:{p.demo_port}/   (traffic is being generated)")
        echo("  break it    vigil demo break backend (or vendor): correlation blames it within a minute or two")
        echo(
            f"  alerts      e-mails in {p.data_dir / 'run' / 'demo-mail'}/, webhooks in "
            f"{p.data_dir / 'run' / 'demo-webhooks.jsonl'}"
        )
    echo(f"  project     {demo.name} (id {demo.id}, key {demo.public_key})")
    echo(f"  log in      {login_line(p.data_dir, demo_user=p.demo_port is not None)}")
    echo("Ctrl-C stops everything.")
    try:
        supervisor.run()
    finally:
        lock.close()
