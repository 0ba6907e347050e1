"""Per-project processing settings: inbound filters and extra scrubbing, from ``vigil.toml``.

    [[projects]]
    id = 2
    name = "shop"
    …
    [projects.filters]          # analytics/filters.py; every filter is on unless turned off,
                                # but for localhost when the project's origins are on loopback
    legacy_browsers = false
    message_globs = ["*ResizeObserver loop*"]
    [projects.scrub]            # analytics/scrub.py
    extra_patterns = ["order-[0-9]{6}"]

The file is re-read when it changes; a broken file is logged and the settings already
loaded stay in force, as in the collector.
"""

from __future__ import annotations

import dataclasses
import logging
import tomllib
from pathlib import Path
from typing import Any

from analytics.filters import FilterSettings, is_localhost
from analytics.scrub import Scrubber, ScrubSettings
from contracts.settings import CONFIG_FILE, ConfigError

log = logging.getLogger("vigil.analytics")


@dataclasses.dataclass(frozen=True)
class ProjectSettings:
    filters: FilterSettings
    scrubber: Scrubber


DEFAULT = ProjectSettings(FilterSettings(), Scrubber(ScrubSettings()))


def parse(document: dict[str, Any], path: Path) -> dict[int, ProjectSettings]:
    found: dict[int, ProjectSettings] = {}
    for n, item in enumerate(document.get("projects", []) if isinstance(document.get("projects"), list) else []):
        if not isinstance(item, dict) or not isinstance(item.get("id"), int):
            continue  # the collector reports malformed projects; here only their settings matter
        where = f"{path}: project #{n + 1}"
        filters, scrub = item.get("filters", {}), item.get("scrub", {})
        if not isinstance(filters, dict) or not isinstance(scrub, dict):
            raise ConfigError(f"{where}: filters and scrub must be tables")
        origins = item.get("origins", [])
        if "localhost" not in filters and isinstance(origins, list) and any(is_localhost(str(o)) for o in origins):
            # A project whose site is served from loopback (a local shop, the demo) keeps those events:
            # the localhost filter would drop every one of them while the collector answered 202.
            filters = {**filters, "localhost": False}
        found[item["id"]] = ProjectSettings(
            FilterSettings.from_toml(filters, f"{where} filters"),
            Scrubber(ScrubSettings.from_toml(scrub, f"{where} scrub")),
        )
    return found


class ProjectSettingsRegistry:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / CONFIG_FILE
        self._stamp: tuple[int, int, int] | None = None
        self._settings: dict[int, ProjectSettings] = {}
        self.reload()

    def reload(self) -> None:
        """Re-read the file if it changed; keep what was loaded if it is broken (logged)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            with self.path.open("rb") as f:
                self._settings = parse(tomllib.load(f), self.path)
        except (tomllib.TOMLDecodeError, ConfigError) as e:
            log.error("keeping the project settings already loaded: %s", e)

    def get(self, project_id: int) -> ProjectSettings:
        return self._settings.get(project_id, DEFAULT)
