"""docs/probes.md stays true: every config key and every payload field is documented."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import msgspec
import pytest

from contracts import probes as schema
from server_probes import config

DOC = (Path(__file__).parent.parent.parent / "docs" / "probes.md").read_text()


def documented() -> set[str]:
    names = set()
    for line in DOC.splitlines():
        if line.startswith("| "):
            names.update(re.findall(r"`([^`]+)`", line.split("|")[1]))
    return names


@pytest.mark.parametrize("struct", [config.AgentConfig, *typing.get_args(config.Check)])
def test_every_config_key_is_documented(struct):
    assert {f.name for f in msgspec.structs.fields(struct)} <= documented()


@pytest.mark.parametrize("struct", [schema.ProbeBatch, schema.CheckResult, schema.Heartbeat, schema.HostMetrics])
def test_every_payload_field_is_documented(struct):
    assert {f.name for f in msgspec.structs.fields(struct)} - {"id", "ts"} <= documented()
