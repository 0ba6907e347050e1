"""The supervisor with real child processes: start order, readiness, restart, ordered stop."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.helpers import wait_until
from vigil.supervise import Child, ChildFailed, Supervisor

# A child that records its name when asked to stop, then exits.
RECORDER = """
import signal, sys, time
def stop(*_):
    open(sys.argv[1], "a").write(sys.argv[2] + "\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
open(sys.argv[1] + "." + sys.argv[2], "w").close()  # ready: the handler is in place
while True:
    time.sleep(0.05)
"""


def recorder(name: str, log: Path) -> Child:
    ready = log.with_name(f"{log.name}.{name}")
    return Child(name, [sys.executable, "-c", RECORDER, str(log), name], ready=ready.exists)


def test_children_stop_in_reverse_start_order(tmp_path):
    log = tmp_path / "stops"
    supervisor = Supervisor([recorder(n, log) for n in ("redis", "analytics", "collector", "dashboard")])
    supervisor.start()
    supervisor.stop()
    assert log.read_text().split() == ["dashboard", "collector", "analytics", "redis"]
    assert all(c.process is not None and c.process.poll() is not None for c in supervisor.children)


def test_a_dead_child_is_restarted_by_the_tick(tmp_path):
    child = recorder("collector", tmp_path / "stops")
    supervisor = Supervisor([child])
    supervisor.start()
    try:
        first = child.pid
        assert child.process is not None
        child.process.kill()
        child.process.wait(5)

        def restarted() -> bool:
            supervisor.tick()
            return child.pid != first and child.process is not None and child.process.poll() is None

        wait_until(restarted, timeout=5, what="the restart", interval=0.05)
        assert child.restarts == 1
    finally:
        supervisor.stop()


def test_a_child_that_exits_while_starting_fails_the_start(tmp_path):
    supervisor = Supervisor([Child("broken", [sys.executable, "-c", "raise SystemExit(3)"], ready=lambda: False)])
    with pytest.raises(ChildFailed, match="broken exited with status 3 while starting"):
        supervisor.start()
    supervisor.stop()
