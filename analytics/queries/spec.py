"""How a named query is declared: its SQL and its typed, bounded parameters."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal


@dataclasses.dataclass(frozen=True)
class Param:
    name: str
    kind: Literal["str", "int", "time"]
    doc: str
    default: Any = None
    minimum: int = 0
    maximum: int = 0


@dataclasses.dataclass(frozen=True)
class NamedQuery:
    name: str
    doc: str
    sql: str
    params: tuple[Param, ...]
