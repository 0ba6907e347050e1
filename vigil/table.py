"""What commands print: plain-text tables for the terminal, and JSON for scripts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

MAX_CELL = 80


def cell(value: Any) -> str:
    """One line, at most ``MAX_CELL`` characters; ``NULL`` for missing values."""
    text = "NULL" if value is None else " ".join(str(value).split()) if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def render_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join([line, rule, *body])


def dumps(value: Any) -> str:
    """``value`` as one line of JSON; what JSON has no type for (times, paths) as its ``str()``."""
    return msgspec.json.encode(value, enc_hook=str).decode()
