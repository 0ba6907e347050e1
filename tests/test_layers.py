"""The layers hold (docs/development.md): the import graph, and what each process really loads.

``lint-imports`` checks the contracts in pyproject.toml over the source; the subprocess
checks catch what a static graph cannot (an import inside a function of a library).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGES = ("contracts", "collector", "analytics", "dashboard", "server_probes", "integrations", "vigil")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_import_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def test_a_part_importing_another_breaks_the_layers(tmp_path):
    """The check has teeth: the dashboard importing analytics (as it once did) is caught."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "assets"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    data = tmp_path / "dashboard" / "data.py"
    data.write_text(data.read_text() + "\nfrom analytics.issues import IssueIndex  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "dashboard.data -> analytics.issues" in result.stdout
    assert "2 broken" in result.stdout  # the layers, and the dashboard's no-DuckDB rule (analytics.issues loads it)


def loaded(code: str) -> set[str]:
    """The top-level modules a fresh interpreter holds after running ``code``."""
    script = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return set(result.stdout.split())


@pytest.mark.parametrize(
    ("code", "absent"),
    [
        # The dashboard asks analytics over HTTP: its process never loads DuckDB or Arrow.
        (
            "from dashboard.app import create_app; from dashboard.settings import DashboardSettings; "
            "create_app(DashboardSettings())",
            {"duckdb", "pyarrow", "redis", "analytics", "collector"},
        ),
        # Analytics reads the stream contract without loading the collector's HTTP stack.
        ("import analytics.pipeline, analytics.workers", {"starlette", "collector", "dashboard", "redis"}),
        # The collector stores nothing.
        ("import collector.app", {"duckdb", "pyarrow", "analytics", "dash"}),
        # The probe agent, deployed on other hosts, carries neither servers nor storage.
        ("import server_probes.agent", {"duckdb", "pyarrow", "starlette", "redis", "collector", "analytics"}),
        # The ground floor is light enough for every one of them.
        (
            "import contracts.settings, contracts.runfiles, contracts.projects, contracts.stream, "
            "contracts.queries, contracts.read_api",
            {"duckdb", "pyarrow", "starlette", "redis", "dash", "uvicorn"},
        ),
    ],
    ids=["dashboard", "analytics", "collector", "probe-agent", "contracts"],
)
def test_a_process_loads_only_its_own_layer(code, absent):
    assert loaded(code) & absent == set()
