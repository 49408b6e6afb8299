"""A real ``mlflow server`` on 127.0.0.1, shared by every test of a session.

Import the fixture where it is needed::

    from tests.conftest_servers import mlflow_server  # noqa: F401

The fixture yields an :class:`MlflowServer` with ``.uri``, ``.port``, ``.stop()`` and
``.start()`` (restart on the same port, same SQLite backend). Tests that stop it must
start it again before they finish; :meth:`MlflowServer.ensure_running` is also called
by the fixture before each use.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

STARTUP_TIMEOUT_S = 300.0  # a loaded 2-core CI machine needs more than a minute


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(uri: str) -> bool:
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


class MlflowServer:
    """One ``mlflow server`` process with a SQLite backend in a private directory."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root = root
        self.port = port or free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.backend_uri = f"sqlite:///{root / 'mlflow.db'}"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = root / "server.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = STARTUP_TIMEOUT_S) -> None:
        """Start the server (same port, same store) and wait until ``/health`` answers."""
        if self.running:
            return
        cmd = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            self.backend_uri,
            "--default-artifact-root",
            str(self.root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]
        env = dict(os.environ)
        env.pop("MLFLOW_TRACKING_URI", None)
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen(
                cmd,
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited early:\n{self.log_tail()}")
            if _healthy(self.uri):
                return
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"mlflow server did not become healthy:\n{self.log_tail()}")

    def stop(self) -> None:
        """Kill the server's whole process group and wait until the port is free."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _port_in_use(self.port):
            time.sleep(0.1)

    def ensure_running(self) -> None:
        if not self.running or not _healthy(self.uri):
            self.stop()
            self.start()

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self._log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def _mlflow_server_session() -> Iterator[MlflowServer]:
    root = Path(tempfile.mkdtemp(prefix="mlflow-server-"))
    server = MlflowServer(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mlflow_server(_mlflow_server_session: MlflowServer) -> MlflowServer:
    """The session's MLflow tracking server, (re)started if a previous test stopped it."""
    _mlflow_server_session.ensure_running()
    return _mlflow_server_session
