"""At exit, remote exporters get one bounded drain, shared, and report what they lost."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from mlflow_trace_nb._internal.runtime import REMOTE_EXIT_TIMEOUT_ENV
from tests.faults import remote_servers as servers
from tests.faults.remote_servers import RawServer

_CHILD = """
import sys
import mlflow_trace_nb as mlflow
from mlflow_trace_nb.tracing.destination import OTLP
remotes = [OTLP(url, timeout_s=60, exit_timeout_s=float(sys.argv[1])) for url in sys.argv[2:]]
mlflow.set_destination(["memory", *remotes])
for i in range(4):
    with mlflow.start_span(f"exit-{i}"):
        pass
print("done", flush=True)
"""  # no flush: the process just ends


@pytest.fixture
def hung() -> Iterator[list[RawServer]]:
    started = [RawServer(servers.hang), RawServer(servers.hang)]
    yield started
    for server in started:
        server.close()


def _exit_time(args: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    """Seconds from the child's last line to its exit, and its stderr."""
    import os

    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "done"
        done_at = time.monotonic()
        _, stderr = child.communicate(timeout=60)
        return time.monotonic() - done_at, stderr
    finally:
        child.kill()
        child.wait()


def test_two_hung_endpoints_share_one_exit_drain(hung: list[RawServer]) -> None:
    elapsed, stderr = _exit_time(["1.5", hung[0].url, hung[1].url])
    assert stderr.count("4 spans not delivered at shutdown") == 2, stderr
    assert elapsed < 1.5 + 1.5, f"exit took {elapsed:.1f} s (drains must overlap, not add up)"


def test_the_exit_budget_is_configurable(hung: list[RawServer]) -> None:
    elapsed, stderr = _exit_time(["30", hung[0].url], {REMOTE_EXIT_TIMEOUT_ENV: "0.5"})
    assert "4 spans not delivered at shutdown" in stderr
    assert elapsed < 0.5 + 1.5, f"exit took {elapsed:.1f} s with a 0.5 s budget"


def test_exit_is_bounded_while_an_answer_trickles_in() -> None:
    """The endpoint answers 200 and trickles a 1 GB body a byte at a time: exit still comes
    within the exit budget (it used to wait for the request's 60 s deadline, or for ever:
    closing the connection waited for the reading thread, and the watchdog found no socket
    left to shut down)."""
    server = RawServer(servers.trickle_body)
    try:
        elapsed, stderr = _exit_time(["1.5", server.url])
    finally:
        server.close()
    assert "not delivered at shutdown" in stderr, stderr
    assert elapsed < 1.5 + 3, f"exit took {elapsed:.1f} s"
