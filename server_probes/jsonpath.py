"""The small part of JSONPath a health check needs: ``$.a.b[0]['c-d']`` names one value.

No filters, wildcards or recursion: a check asserts on one value, and a path that can match
several would make "the value" ambiguous.
"""

from __future__ import annotations

import re
from typing import Any

_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
_MISSING = object()


class JsonPathError(ValueError):
    """The path is not in the supported subset."""


def parse_path(path: str) -> tuple[str | int, ...]:
    """``$.a[0]`` → ``("a", 0)``."""
    if not path.startswith("$"):
        raise JsonPathError(f"must start with $, got {path!r}")
    steps: list[str | int] = []
    pos = 1
    while pos < len(path):
        match = _STEP.match(path, pos)
        if match is None:
            raise JsonPathError(f"cannot read {path[pos:]!r} (supported: .name, [index], ['name'])")
        name, index, quoted, double = match.groups()
        steps.append(int(index) if index is not None else (name or quoted or double or ""))
        pos = match.end()
    return tuple(steps)


def lookup(document: Any, path: str) -> tuple[bool, Any]:
    """(found, value) of ``path`` in a decoded JSON document."""
    value = document
    for step in parse_path(path):
        in_list = isinstance(step, int) and isinstance(value, list) and step < len(value)
        in_object = isinstance(step, str) and isinstance(value, dict) and step in value
        if not (in_list or in_object):
            return False, None
        value = value[step]
    return True, value
