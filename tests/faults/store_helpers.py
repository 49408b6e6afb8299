"""Shared by the store fault tests: recording traces without writing them, child processes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.records import SpanRecord, TraceRecord
from mlflow_trace_nb.testing.collector import Collector as Collect

ROOT = Path(__file__).resolve().parents[2]


class Recorded:
    """The records of one finished trace: its span records (in start order, the root's
    included) and its trace record. Records are immutable: ``set_span``/``set_trace``/
    ``set_all`` replace them, as a test does to feed the store values the tracer would never
    make."""

    def __init__(self, spans: list[SpanRecord], trace: TraceRecord) -> None:
        self.spans = sorted([*spans, trace.root], key=lambda s: s.start_time_ns)
        self.trace = trace

    @property
    def request_id(self) -> str:
        return self.trace.request_id

    def records(self) -> list[Any]:
        """What the pipeline hands a sink for this trace: the spans, then the trace record
        (which carries the root's span record's fields)."""
        root_id = self.trace.root_span_id
        root = next(s for s in self.spans if s.span_id == root_id)
        others = [s for s in self.spans if s.span_id != root_id]
        # a trace record is its root's fields, then its own: the root as the test left it
        own = self.trace[len(SpanRecord._fields) :]
        return [*others, TraceRecord._make((*root, *own))]

    def set_span(self, index: int, **fields: Any) -> None:
        self.spans[index] = self.spans[index]._replace(**fields)

    def set_trace(self, **fields: Any) -> None:
        self.trace = self.trace._replace(**fields)

    def set_all(self, **fields: Any) -> None:
        """Replace a field present in every record (``experiment_id``...)."""
        self.spans = [s._replace(**fields) for s in self.spans]
        self.set_trace(**fields)


def group(items: Sequence[Any]) -> list[Recorded]:
    """A pipeline's records grouped into finished traces, in the order they finished."""
    spans: dict[int, list[SpanRecord]] = {}
    out: list[Recorded] = []
    for item in items:
        if type(item) is TraceRecord:
            out.append(Recorded(spans.pop(item.trace_id, []), item))
        else:
            spans.setdefault(item.trace_id, []).append(item)
    return out


def flat(traces: Sequence[Recorded]) -> list[Any]:
    """The records of ``traces``, trace after trace, as one batch."""
    return [record for trace in traces for record in trace.records()]


def record(make: Callable[[], object]) -> list[Recorded]:
    """Run ``make`` with tracing into a ``Collect`` and return the traces it finished."""
    sink = Collect()
    mlflow.set_destination(sink)
    make()
    assert mlflow.flush(10)
    mlflow.set_destination("memory")
    return group(sink.items)


def traced(n: int, name: str = "t") -> None:
    """Trace ``n`` one-span calls named ``name0``, ``name1``..."""
    for i in range(n):
        mlflow.trace(name=f"{name}{i}")(lambda x: x)(i)


def rows(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of a query on ``db`` through a plain sqlite3 connection."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def run_python(code: str, db: Path, args: Sequence[str] = (), **env: str) -> subprocess.Popen[str]:
    """Start ``code`` (``sys.argv[1:]`` = ``args``) in a child interpreter tracing into ``db``."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "MLFLOW_TRACE_NB_DESTINATION": f"sqlite:///{db}",
            **env,
        },
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
