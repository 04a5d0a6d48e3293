"""Helpers for the client tests: a real `kiln server` (KILN_BIN, default
build/kiln) on a free loopback port with a throw-away data directory, stopped
with SIGTERM. (Not in conftest.py: tests/ has a conftest of its own, and both
run in one pytest session.)"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "python"))

import kiln  # noqa: E402  (needs the path above)

STARTUP_TIMEOUT_SECONDS = 30
SHUTDOWN_TIMEOUT_SECONDS = 20


def kiln_binary():
    binary = Path(os.environ.get("KILN_BIN", "build/kiln"))
    if not binary.is_absolute():
        binary = REPO_ROOT / binary
    if not binary.exists():
        pytest.fail(f"kiln binary {binary} not found: build it, or set KILN_BIN", pytrace=False)
    return str(binary)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class KilnServer:
    """A `kiln server` child process."""

    def __init__(self, data_dir, extra_args=()):
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-server.log"
        command = [kiln_binary(), "server", "--host", "127.0.0.1", "--port", str(self.port),
                   "--data-dir", str(self.data_dir), *extra_args]
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_healthy(command)

    def log_tail(self, lines=40):
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def _wait_healthy(self, command):
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"`{' '.join(command)}` exited with {self.process.returncode}:\n"
                            f"{self.log_tail()}", pytrace=False)
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.process.kill()
        pytest.fail(f"server did not answer /health within {STARTUP_TIMEOUT_SECONDS}s:\n{self.log_tail()}",
                    pytrace=False)

    def stop(self):
        """SIGTERM, then the exit status (killed after a timeout)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(SHUTDOWN_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                self._log.close()
                pytest.fail(f"server ignored SIGTERM for {SHUTDOWN_TIMEOUT_SECONDS}s", pytrace=False)
        self._log.close()
        return self.process.returncode
