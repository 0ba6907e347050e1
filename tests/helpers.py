"""Small bounded helpers shared by the tests."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
import psutil

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(check: Callable[[], T], *, timeout: float, what: str, interval: float = 0.05) -> T:
    """Call ``check`` until it returns something truthy, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by openssl, valid for a day: (cert, key)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def stop_process(process: subprocess.Popen[Any], timeout: float = 15) -> None:
    """SIGTERM by pid, then SIGKILL the process and its descendants if it does not stop."""
    if process.poll() is None:
        descendants = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            for child in [psutil.Process(process.pid), *descendants]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
            process.wait(timeout)


@dataclasses.dataclass
class Service:
    """A Vigil server run as a subprocess, its output kept in a log file shown on failure."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    url: str
    log: Path
    process: subprocess.Popen[bytes] | None = None
    #: The certificate to trust when ``url`` is https (a test's self-signed one).
    ca_file: Path | None = None
    _log_file: IO[bytes] | None = None

    def start(self, ready_path: str, timeout: float = 30) -> None:
        self._log_file = self.log.open("ab")
        self.process = subprocess.Popen(self.argv, env=dict(self.env), stdout=self._log_file, stderr=subprocess.STDOUT)

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.output()}")
            verify = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else True
            try:
                return httpx.get(self.url + ready_path, timeout=1, verify=verify).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            wait_until(ready, timeout=timeout, what=f"{self.name} at {self.url}{ready_path}", interval=0.1)
        except BaseException:
            self.stop()  # never leave a process behind, even when it did not come up
            raise

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
        if self._log_file is not None:
            self._log_file.close()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


def env_without_vigil() -> dict[str, str]:
    """The test process's environment minus any ``VIGIL_*`` a developer may have set."""
    return {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}


@contextlib.contextmanager
def mounted_tmpfs(directory: Path, size: int) -> Iterator[Path]:
    """A real filesystem of ``size`` bytes at ``directory``, for tests of a full disk (needs root, as CI has)."""
    directory.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(directory)],
        capture_output=True, text=True, timeout=10, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        raise AssertionError(f"cannot mount a small tmpfs for a full-disk test: {mounted.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], capture_output=True, timeout=10, check=False)
