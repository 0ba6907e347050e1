"""The docs stay true: every setting, command, query, column and protocol field is documented."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import click
import msgspec
import pytest

from analytics.conclusions import CONCLUSIONS
from analytics.settings import AnalyticsSettings
from analytics.tables import DERIVED, TABLES
from collector.settings import CollectorSettings
from contracts.beacon import Batch, Event
from contracts.queries import QUERIES
from contracts.settings import documented
from dashboard.settings import DashboardSettings
from vigil.cli import main

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def table_rows(text: str) -> dict[str, str]:
    """First cell (without backticks) → whole row, for every Markdown table row."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("| "):
            first = line.split("|")[1].strip().strip("`")
            rows[first] = line
    return rows


@pytest.mark.parametrize(
    ("cls", "kind"),
    [(CollectorSettings, "collector"), (AnalyticsSettings, "analytics"), (DashboardSettings, "dashboard")],
)
def test_every_setting_is_in_the_readme_with_its_default(cls, kind):
    rows = table_rows(README)
    for env, key, default, _ in documented(cls, kind):
        assert env in rows, f"{env} is not documented in README.md"
        shown = f'`"{default}"`' if isinstance(default, str) else f"`{default}`"
        assert f"| `{key}` | {shown} |" in rows[env], f"{env}: README shows another key or default"


def commands(group: click.Group, prefix: str = "vigil") -> list[str]:
    names = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            names += commands(command, f"{prefix} {name}")
        else:
            names.append(f"{prefix} {name}")
    return names


def test_every_command_is_in_the_readme():
    documented_commands = " ".join(table_rows(README))
    for command in commands(main):
        assert f"{command} " in documented_commands or documented_commands.endswith(command), command


def test_every_named_query_is_documented():
    rows = table_rows((ROOT / "docs" / "analytics.md").read_text())
    for name, query in QUERIES.items():
        assert name in rows, f"query {name} is not in docs/analytics.md"
        for param in query.params:
            if param.name not in {"project", "since", "until"}:
                assert param.name in rows[name], f"{name}: parameter {param.name} undocumented"


def sections(text: str) -> dict[str, str]:
    """Markdown heading → the text under it."""
    parts = re.split(r"^#+ (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def first_cells(text: str) -> set[str]:
    """Every backticked name in the first cell of a table row."""
    names = set()
    for line in text.splitlines():
        if line.startswith("| "):
            names.update(re.findall(r"`([^`]+)`", line.split("|")[1]))
    return names


@pytest.mark.parametrize("table", sorted({**TABLES, **DERIVED, **CONCLUSIONS}))
def test_every_stored_column_is_documented(table):
    docs = sections((ROOT / "docs" / "schema.md").read_text())
    section = docs[f"`{table}`"]
    documented_columns = first_cells(section)
    if "[shared keys](#shared-keys)" in section:
        documented_columns |= first_cells(docs["Shared keys"])
    if "[probe keys](#probe-keys)" in section:
        documented_columns |= first_cells(docs["Probe keys"])
    assert set({**TABLES, **DERIVED, **CONCLUSIONS}[table].names) == documented_columns


SHARED_EVENT_FIELDS = {"type", "event_id", "ts", "page_url"}


@pytest.mark.parametrize("struct", [s for s in typing.get_args(Event)])
def test_every_event_field_is_documented(struct):
    tag = struct.__struct_config__.tag
    documented_fields = first_cells(sections((ROOT / "docs" / "protocol.md").read_text())[f'Event `"type": "{tag}"`'])
    fields = {f.encode_name for f in msgspec.structs.fields(struct)} - SHARED_EVENT_FIELDS
    assert fields == documented_fields


def test_every_batch_field_is_documented():
    documented_fields = first_cells(sections((ROOT / "docs" / "protocol.md").read_text())["Batch"])
    assert {f.encode_name for f in msgspec.structs.fields(Batch)} | SHARED_EVENT_FIELDS == documented_fields
