"""The ``vigil`` command line.

Exit status: 0 done; 1 something failed while running (a service unreachable, a child
that would not start); 2 the command line, a setting or the input is wrong (bad option,
port taken, bad SQL). Every error is one line on stderr.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from vigil.cli_common import F, data_dir_option, friendly, resolve_data_dir
from vigil.cli_work import alerts, incidents, issues, report


class Commands(click.Group):
    """The ``vigil`` group: a wrong command line is one ``vigil: error:`` line and exit 2, not click's usage block."""

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> Any:
        extra.pop("standalone_mode", None)
        try:
            return super().main(args, prog_name, standalone_mode=False, **extra)
        except click.UsageError as e:
            where = e.ctx.command_path if e.ctx is not None else "vigil"
            click.echo(f"vigil: error: {' '.join(e.format_message().split())} (see: {where} --help)", err=True)
            sys.exit(2)
        except click.ClickException as e:
            e.show()
            sys.exit(e.exit_code)
        except click.exceptions.Abort:
            click.echo("vigil: stopped", err=True)
            sys.exit(130)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="vigil")
def main() -> None:
    """Vigil: see what your users see."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _up_options(fn: F) -> F:
    fn = click.option("--dashboard-port", type=click.IntRange(1, 65535), help="Dashboard port [default: 8471].")(fn)
    fn = click.option("--analytics-port", type=click.IntRange(1, 65535), help="Read API port [default: 8472].")(fn)
    fn = click.option("--collector-port", type=click.IntRange(1, 65535), help="Collector port [default: 8470].")(fn)
    fn = click.option(
        "--redis-url", envvar="VIGIL_REDIS_URL", help="Use this Redis instead of starting the embedded redis-server."
    )(fn)
    return data_dir_option(fn)


@main.command()
@_up_options
@friendly
def up(data_dir: Path | None, redis_url: str | None, **ports: int | None) -> None:
    """Start Redis, analytics, the collector and the dashboard, and keep them running."""
    from vigil import up as up_module

    up_module.run(up_module.plan(resolve_data_dir(data_dir), redis_url=redis_url or None, **ports), click.echo)


@main.group(invoke_without_command=True)
@_up_options
@click.option("--demo-port", type=click.IntRange(1, 65535), default=8474, show_default=True, help="Demo site port.")
@click.pass_context
@friendly
def demo(
    ctx: click.Context, /, data_dir: Path | None, redis_url: str | None, demo_port: int, **ports: int | None
) -> None:
    """`vigil up` plus a demo site with the beacon and generated traffic (and `vigil demo break`)."""
    if ctx.invoked_subcommand is not None:
        return
    from vigil import up as up_module

    plan = up_module.plan(resolve_data_dir(data_dir), redis_url=redis_url or None, demo_port=demo_port, **ports)
    up_module.run(plan, click.echo)


@demo.command("break")
@click.argument("part", type=click.Choice(["backend", "vendor"]))
@click.option("--seconds", type=click.IntRange(0, 3600), default=60, show_default=True, help="How long; 0 mends it.")
@data_dir_option
@friendly
def demo_break(part: str, seconds: int, data_dir: Path | None) -> None:
    """Make the running demo's API (backend) or its third-party widget host (vendor) answer 503 for a while."""
    from datetime import UTC, datetime

    from vigil.demo.site import PARTS, break_part

    until = break_part(resolve_data_dir(data_dir), part, seconds)
    if seconds:
        click.echo(f"{PARTS[part]} answers 503 until {datetime.fromtimestamp(until, UTC):%H:%M:%S} UTC")
    else:
        click.echo(f"{PARTS[part]} mended")


@main.group()
def project() -> None:
    """Create and list projects (kept in vigil.toml in the data directory)."""


@project.command("create")
@click.argument("name")
@click.option("--origin", "origins", multiple=True, help="Allowed page origin, e.g. https://shop.example (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the project as JSON.")
@data_dir_option
@friendly
def project_create(name: str, origins: tuple[str, ...], as_json: bool, data_dir: Path | None) -> None:
    """Add a project and print its keys, script tag and DSN."""
    from vigil.projects_cli import create

    create(resolve_data_dir(data_dir), name, origins, as_json, click.echo)


@project.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the projects as JSON.")
@data_dir_option
@friendly
def project_list(as_json: bool, data_dir: Path | None) -> None:
    """Show every project with its id and public key."""
    from vigil.projects_cli import list_projects

    list_projects(resolve_data_dir(data_dir), as_json, click.echo)


@main.group()
def token() -> None:
    """Create, list and revoke API tokens for build tools (sentry-cli, Sentry's bundler plugins)."""


@token.command("create")
@click.option("--scope", type=click.Choice(["sourcemaps"]), default="sourcemaps", show_default=True,
              help="What the token may do: upload source maps and releases.")  # fmt: skip
@click.option("--project", "projects", multiple=True, help="A project it may act for (repeatable; default: all).")
@click.option("--name", default="", help="A name to tell it by, e.g. the build that uses it.")
@click.option("--json", "as_json", is_flag=True, help="Print the token as JSON.")
@data_dir_option
@friendly
def token_create(scope: str, projects: tuple[str, ...], name: str, as_json: bool, data_dir: Path | None) -> None:
    """Mint a token and print it once (vigil.toml keeps only its hash)."""
    from vigil.tokens_cli import create

    create(resolve_data_dir(data_dir), name, scope, projects, as_json, click.echo)


@token.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the tokens as JSON.")
@data_dir_option
@friendly
def token_list(as_json: bool, data_dir: Path | None) -> None:
    """Show every token's id, name, scope and projects (never the token itself)."""
    from vigil.tokens_cli import list_tokens

    list_tokens(resolve_data_dir(data_dir), as_json, click.echo)


@token.command("revoke")
@click.argument("token_id")
@data_dir_option
@friendly
def token_revoke(token_id: str, data_dir: Path | None) -> None:
    """Remove a token by its id (`vigil token list`); the collector refuses it at once."""
    from vigil.tokens_cli import revoke

    revoke(resolve_data_dir(data_dir), token_id, click.echo)


@main.group()
def user() -> None:
    """Add, remove and list the people who may log in to the dashboard."""


@user.command("add")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin (no prompt).")
@data_dir_option
@friendly
def user_add(name: str, password_stdin: bool, data_dir: Path | None) -> None:
    """Add user NAME; asks for the password twice (10 characters or more)."""
    from vigil.users_cli import add

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    add(resolve_data_dir(data_dir), name, password, click.echo)


@user.command("remove")
@click.argument("name")
@data_dir_option
@friendly
def user_remove(name: str, data_dir: Path | None) -> None:
    """Remove user NAME (their sessions end at once)."""
    from vigil.users_cli import remove

    remove(resolve_data_dir(data_dir), name, click.echo)


@user.command("list")
@data_dir_option
@friendly
def user_list(data_dir: Path | None) -> None:
    """Show every user, when they were added and when they last logged in."""
    from vigil.users_cli import list_users

    list_users(resolve_data_dir(data_dir), click.echo)


@main.group()
def sourcemaps() -> None:
    """Upload a build's source maps, so stack traces show the original code."""


@sourcemaps.command("upload")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--release", required=True, help="The release the build is deployed as (what the beacon sends).")
@click.option(
    "--url-prefix", default="~/", show_default=True, help="URL of DIRECTORY as served; ~/ matches any origin."
)
@click.option("--project", "project_name", help="Project name in vigil.toml (needed when there are several).")
@click.option("--project-id", type=click.IntRange(1), help="Project id, with --token, when vigil.toml is not here.")
@click.option("--token", envvar="VIGIL_UPLOAD_TOKEN", help="The project's secret token (default: from vigil.toml).")
@click.option("--collector-url", help="The collector [default: this data directory's collector settings].")
@data_dir_option
@friendly
def sourcemaps_upload(
    directory: Path,
    release: str,
    url_prefix: str,
    project_name: str | None,
    project_id: int | None,
    token: str | None,
    collector_url: str | None,
    data_dir: Path | None,
) -> None:
    """Upload every .map under DIRECTORY for --release."""
    from vigil.sourcemaps_cli import upload

    upload(
        resolve_data_dir(data_dir),
        directory,
        release=release,
        url_prefix=url_prefix,
        project_name=project_name,
        project_id=project_id,
        token=token,
        collector_url=collector_url,
        echo=click.echo,
    )


@main.command()
@click.option(
    "--config", "config_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The checks (TOML)."
)
@click.option("--region", help="This agent's region, e.g. eu-west [default: the config's [agent] region].")
@click.option("--once", is_flag=True, help="Run every check once, deliver the results, and exit.")
@friendly
def probe(config_path: Path, region: str | None, once: bool) -> None:
    """Run the probe agent: checks, host metrics and heartbeats, sent to the collector (docs/probes.md)."""
    from server_probes.agent import run_agent
    from server_probes.config import load_config

    run_agent(load_config(config_path, region=region), once=once)


@main.command()
@click.argument("statement")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@data_dir_option
@friendly
def sql(statement: str, fmt: str, data_dir: Path | None) -> None:
    """Run one read-only SELECT on the stored data (running or stopped) and print the result."""
    from vigil.sql import print_result, query

    print_result(query(resolve_data_dir(data_dir), statement), fmt, click.echo, lambda line: click.echo(line, err=True))


@main.command()
@click.argument("part", type=click.Choice(["collector", "analytics", "dashboard", "demo-site", "demo-traffic"]))
@data_dir_option
@friendly
def serve(part: str, data_dir: Path | None) -> None:
    """Run one part in the foreground (what `vigil up` runs; also for running parts on separate hosts)."""
    from contracts.settings import load

    root = resolve_data_dir(data_dir)
    if part == "collector":
        from collector.server import serve as serve_collector
        from collector.settings import CollectorSettings

        serve_collector(load(CollectorSettings, "collector", root))
    elif part == "analytics":
        from analytics.service import serve as serve_analytics
        from analytics.settings import AnalyticsSettings

        serve_analytics(load(AnalyticsSettings, "analytics", root))
    elif part == "dashboard":
        from dashboard.server import serve as serve_dashboard
        from dashboard.settings import DashboardSettings

        serve_dashboard(load(DashboardSettings, "dashboard", root))
    elif part == "demo-site":
        from vigil.demo.site import serve as serve_site

        serve_site(root)
    else:
        from vigil.demo.traffic import run as run_traffic

        run_traffic(root)


main.add_command(issues)
main.add_command(incidents)
main.add_command(alerts)
main.add_command(report)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
