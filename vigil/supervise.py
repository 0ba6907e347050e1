"""Process supervision for ``vigil up``: start children in order, restart the ones that die, stop cleanly.

The loop is a tick (check every child), an exit flag set by SIGTERM/SIGINT, and an
ordered stop: children stop in the reverse of their start order (the dashboard and the
collector before analytics, so analytics drains what was accepted; Redis last). Each
child runs in its own session, so a Ctrl-C in the terminal reaches only the supervisor,
which decides the order; and each child gets SIGTERM if the supervisor itself dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from types import FrameType

log = logging.getLogger("vigil.supervise")

TICK_SECONDS = 0.2
#: Longer than any child's own graceful stop (analytics waits up to 30 s for its batch in hand).
STOP_TIMEOUT_SECONDS = 40.0
MAX_RESTART_DELAY = 30.0
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: deliver SIGTERM to this child when the supervisor dies, even by SIGKILL."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclasses.dataclass
class Child:
    """One supervised process: how to start it and how to know it is ready."""

    name: str
    argv: Sequence[str]
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    ready: Callable[[], bool] | None = None
    ready_timeout: float = 30.0
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


class ChildFailed(Exception):
    """A child exited or never became ready while starting."""


class Supervisor:
    def __init__(self, children: Sequence[Child]) -> None:
        self.children = list(children)
        self.stopping = False

    def _spawn(self, child: Child) -> None:
        env = {**os.environ, **child.env}
        child.process = subprocess.Popen(
            child.argv,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        log.info("started %s (pid %d)", child.name, child.process.pid)

    def _wait_ready(self, child: Child) -> None:
        deadline = time.monotonic() + child.ready_timeout
        while time.monotonic() < deadline and not self.stopping:
            assert child.process is not None
            code = child.process.poll()
            if code is not None:
                raise ChildFailed(f"{child.name} exited with status {code} while starting")
            if child.ready is None or child.ready():
                return
            time.sleep(0.1)
        if not self.stopping:
            raise ChildFailed(f"{child.name} was not ready after {child.ready_timeout:.0f}s")

    def start(self) -> None:
        """Start every child in order, each one ready before the next begins."""
        for child in self.children:
            if self.stopping:
                return
            self._spawn(child)
            self._wait_ready(child)

    def handle_signals(self) -> None:
        def request_stop(signum: int, frame: FrameType | None) -> None:
            self.stopping = True

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

    def tick(self) -> None:
        """Restart any child that died, with a growing delay so a crash loop does not spin."""
        now = time.monotonic()
        for child in self.children:
            if child.process is None or child.process.poll() is None:
                continue
            if child.next_start == 0.0:
                delay = min(MAX_RESTART_DELAY, 0.5 * 2**child.restarts)
                log.warning(
                    "%s exited with status %s; restarting in %.1fs", child.name, child.process.returncode, delay
                )
                child.next_start = now + delay
            elif now >= child.next_start:
                child.restarts += 1
                child.next_start = 0.0
                self._spawn(child)

    def run(self) -> None:
        """Tick until a signal asks to stop, then stop every child."""
        try:
            while not self.stopping:
                self.tick()
                time.sleep(TICK_SECONDS)
        finally:
            self.stop()

    def stop(self) -> None:
        """SIGTERM each child in reverse start order, waiting for each; SIGKILL what does not stop."""
        for child in reversed(self.children):
            process = child.process
            if process is None or process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0fs; killing it", child.name, STOP_TIMEOUT_SECONDS)
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            log.info("stopped %s", child.name)
