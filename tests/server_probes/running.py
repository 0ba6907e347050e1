"""An agent on its own event loop in a thread, for tests that watch it while it runs."""

from __future__ import annotations

import asyncio
import threading

from server_probes.agent import Agent


class Running:
    """An agent on its own event loop in a thread, stopped like SIGTERM would."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(agent.run(),), daemon=True)
        self.thread.start()

    def alive(self) -> bool:
        assert self.thread.is_alive(), "the agent stopped by itself"
        return True

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.agent.stop.set)
        self.thread.join(30)
        assert not self.thread.is_alive()
        self.loop.close()
