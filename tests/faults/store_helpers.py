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
from mlflow_trace_nb.testing.collector import Collector as Collect

ROOT = Path(__file__).resolve().parents[2]


def record(make: Callable[[], object]) -> list[Any]:
    """Run ``make`` with tracing into a ``Collect`` and return the traces it finished."""
    sink = Collect()
    mlflow.set_destination(sink)
    make()
    assert mlflow.flush(10)
    mlflow.set_destination("memory")
    return sink.items


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
