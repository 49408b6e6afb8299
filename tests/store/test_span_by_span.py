"""Spans are durable as they end: a trace is in the store span by span, its row IN_PROGRESS
until the root ends; a killed process loses only what had not ended."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.tracer.live_trace import LIVE_SPANS_KEPT

ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import os, signal, sys, time
import mlflow_trace_nb as mlflow

how = sys.argv[1]
root = mlflow.start_span("long-run")
for i in range(25):
    with mlflow.start_span(f"step-{i}") as step:
        step.set_outputs(i)
running = mlflow.start_span("never-ends")
mlflow.flush()  # what a cell end or a read does; the worker also writes within a second
print(root.trace_id, flush=True)
if how == "exit":
    os._exit(3)  # no exit handler, no flush
time.sleep(60)  # killed meanwhile
"""


def _rows(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("how", ["sigkill", "exit"])
def test_a_killed_process_keeps_every_span_that_had_ended(tmp_path: Path, how: str) -> None:
    db = tmp_path / "crash.db"
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_CHILD), how],
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "MLFLOW_TRACE_NB_DESTINATION": f"sqlite:///{db}",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    trace_id = child.stdout.readline().strip()
    if how == "sigkill":
        child.send_signal(signal.SIGKILL)
    child.wait(30)
    assert trace_id.startswith("tr-"), child.stderr.read() if child.stderr else ""
    assert _rows(db, "SELECT status FROM traces WHERE request_id = ?", trace_id) == [
        ("IN_PROGRESS",)
    ]
    names = {r[0] for r in _rows(db, "SELECT name FROM spans WHERE request_id = ?", trace_id)}
    assert names == {f"step-{i}" for i in range(25)}  # the root and the open span had not ended
    # and the file reads back through the API
    mlflow.set_destination(f"sqlite:///{db}")
    trace = mlflow.get_trace(trace_id)
    assert trace is not None and trace.info.status == "IN_PROGRESS"
    assert len(trace.data.spans) == 25


def test_reads_of_a_running_trace_show_its_ended_spans_then_the_final_row() -> None:
    with mlflow.start_span("agent") as root:
        with mlflow.start_span("tool") as tool:
            tool.set_outputs("found")
        running = mlflow.get_trace(root.trace_id)  # a read flushes the local pipeline
        assert running is not None and running.info.status == "IN_PROGRESS"
        assert [s.name for s in running.data.spans] == ["tool"]
        assert running.info.execution_time_ms is None
        mlflow.update_current_trace(tags={"k": "v"})
    done = mlflow.get_trace(root.trace_id)
    assert done is not None and done.info.status == "OK" and done.info.name == "agent"
    assert sorted(s.name for s in done.data.spans) == ["agent", "tool"]
    assert done.info.tags.get("k") == "v" and done.info.execution_time_ms is not None


def test_a_long_trace_keeps_only_a_bounded_number_of_live_spans() -> None:
    count = LIVE_SPANS_KEPT + 1_000
    with mlflow.start_span("root") as root:
        for i in range(count):
            with mlflow.start_span(f"s{i}"):
                pass
        state = root._state
        assert state.span_count == count + 1 and len(state.spans) == LIVE_SPANS_KEPT
    trace = mlflow.get_trace(root.trace_id)
    assert trace is not None and len(trace.data.spans) == count + 1
