"""Shared helpers: scenario/table specs, timing, the child-process protocol, and adapters
that give our tracer, MLflow and OpenTelemetry one small interface.

Only the standard library is imported at module level: the parent process (``run.py``)
imports this module and must stay light, and the start-up benchmark must not pre-load
anything the measured import would otherwise pay for.
"""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RESULT_MARKER = "BENCH_RESULT "
IMPLS = ("ours", "mlflow", "otel")
IMPL_LABELS = {"ours": "ours", "mlflow": "MLflow", "otel": "OTel"}
now_ns = time.perf_counter_ns


# Scenario and table specs (read by run.py) -------------------------------------------------
@dataclass
class Row:
    """One line of a scenario's table: a metric every implementation may report.

    ``better`` is "lower" (times, bytes), "higher" (rates) or "bool". ``target`` applies to
    our median, ``ratios`` to "their cost / our cost" (for rates: our rate / theirs).
    """

    key: str
    label: str
    better: str = "lower"
    target: tuple[str, Any] | None = None
    ratios: dict[str, float] = field(default_factory=dict)
    show_ratio: bool = True


@dataclass
class Scenario:
    key: str
    title: str
    module: str
    func: str
    params: dict[str, dict[str, Any]]
    quick: dict[str, dict[str, Any]]
    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    timeout_s: float = 300.0

    def params_for(self, impl: str, quick: bool) -> dict[str, Any]:
        merged = dict(self.params.get(impl, {}))
        if quick:
            merged.update(self.quick.get(impl, {}))
        return merged


# Timing -------------------------------------------------------------------------------------
def summary(values: Iterable[float]) -> dict[str, Any]:
    """Median, min and max of per-round figures (all rounds kept for the JSON file)."""
    vals = list(values)
    return {
        "median": statistics.median(vals),
        "min": min(vals),
        "max": max(vals),
        "rounds": vals,
    }


def time_loop(func: Callable[[int], Any], n: int) -> int:
    """Nanoseconds for ``func(i)`` over ``range(n)`` (the loop itself included)."""
    t0 = now_ns()
    for i in range(n):
        func(i)
    return now_ns() - t0


def bare_loop_ns(func: Callable[[int], Any], n: int, rounds: int) -> float:
    """Median nanoseconds per call of an undecorated function (the cost to subtract)."""
    times = []
    for _ in range(rounds):
        gc.collect()
        times.append(time_loop(func, n))
    return statistics.median(times) / n


# Databases ----------------------------------------------------------------------------------
def _sqlite_path(url: str) -> str:
    return url[len("sqlite:///") :] if url.startswith("sqlite:///") else url


def ours_db() -> str:
    return _sqlite_path(os.environ["MLFLOW_TRACE_NB_DESTINATION"])


def mlflow_db() -> str:
    return _sqlite_path(os.environ["MLFLOW_TRACKING_URI"])


def count_rows(path: str, table: str = "spans") -> int:
    """``SELECT count(*)`` through a separate sqlite3 connection (0 if no table yet)."""
    if not os.path.exists(path):
        return 0
    conn = sqlite3.connect(path, timeout=60)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


# Implementations ----------------------------------------------------------------------------
class Impl:
    """What a benchmark needs from a tracer: decorate, open a span, flush, count stored."""

    name: str
    decorate: Callable[[Any], Any]
    span: Callable[[str], Any]
    flush: Callable[[], Any]

    def stored_spans(self) -> int:
        raise NotImplementedError


class Ours(Impl):
    name = "ours"

    def __init__(self) -> None:
        import mlflow_trace_nb as tr

        self.module = tr
        self.decorate = tr.trace
        self.span = tr.start_span
        self.flush = tr.flush

    def stored_spans(self) -> int:
        return count_rows(ours_db())


class MLflow(Impl):
    name = "mlflow"

    def __init__(self) -> None:
        import logging

        import mlflow

        for name in ("mlflow", "alembic"):
            logging.getLogger(name).setLevel(logging.WARNING)
        mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
        mlflow.set_experiment("bench")
        self.module = mlflow
        self.decorate = mlflow.trace
        self.span = mlflow.start_span
        flush = getattr(mlflow, "flush_trace_async_logging", None)
        self.has_flush = flush is not None
        self.flush = flush if flush is not None else (lambda: None)

    def stored_spans(self) -> int:
        return count_rows(mlflow_db())


class OTel(Impl):
    """OpenTelemetry SDK: TracerProvider + BatchSpanProcessor + a no-op (counting) exporter.

    ``sdk=False`` gives the API's default no-op tracer (no provider configured): OTel's
    "tracing off".
    """

    name = "otel"

    def __init__(self, sdk: bool = True, **batch_options: Any) -> None:
        from opentelemetry import trace as otel_trace

        self.provider: Any = None
        self.exporter: Any = None
        if sdk:
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            self.exporter = _counting_exporter()
            self.provider = TracerProvider()
            self.provider.add_span_processor(BatchSpanProcessor(self.exporter, **batch_options))
            self.tracer = self.provider.get_tracer("bench")
        else:
            self.tracer = otel_trace.get_tracer("bench")
        self.decorate = otel_decorator(self.tracer)
        self.span = self.tracer.start_as_current_span
        self.flush = self.provider.force_flush if self.provider else (lambda: None)

    def stored_spans(self) -> int:
        return self.exporter.count if self.exporter else 0


def _counting_exporter() -> Any:
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class CountingExporter(SpanExporter):
        """Exports nothing; counts what it was given (to spot dropped spans)."""

        def __init__(self) -> None:
            self.count = 0

        def export(self, spans: Any) -> SpanExportResult:
            self.count += len(spans)
            return SpanExportResult.SUCCESS

        def shutdown(self) -> None:
            pass

    return CountingExporter()


def otel_decorator(tracer: Any) -> Callable[[Any], Any]:
    """``@trace`` for OTel: a span per call, inputs (bound by parameter name, defaults
    applied) and the output recorded as span attributes, as our tracer records them."""
    import functools
    import inspect

    def decorate(func: Any) -> Any:
        params = list(inspect.signature(func).parameters.values())
        names = tuple(p.name for p in params)
        defaults = tuple((p.name, p.default) for p in params if p.default is not p.empty)
        span_name = func.__name__
        start = tracer.start_as_current_span

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with start(span_name) as span:
                recording = span.is_recording()
                if recording:
                    inputs = dict(zip(names, args, strict=False))
                    inputs.update(kwargs)
                    for name, default in defaults:
                        inputs.setdefault(name, default)
                    span.set_attributes({f"inputs.{k}": v for k, v in inputs.items()})
                result = func(*args, **kwargs)
                if recording:
                    span.set_attribute("outputs", result)
                return result

        return wrapper

    return decorate


def load_impl(name: str, **options: Any) -> Impl:
    if name == "ours":
        return Ours()
    if name == "mlflow":
        return MLflow()
    if name == "otel":
        return OTel(**options)
    raise ValueError(f"unknown implementation {name!r}")


# Child-process protocol ------------------------------------------------------------------
def emit(result: dict[str, Any]) -> None:
    """Print the result line the parent looks for (the last one wins)."""
    sys.stdout.write(RESULT_MARKER + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()


def child_main(runners: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]]) -> None:
    """``python bench_x.py <func> <impl> '<json params>'``: run one scenario, print JSON."""
    func, impl, raw = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "{}"
    params = json.loads(raw)
    try:
        result = runners[func](impl, params)
        result.setdefault("impl", impl)
        emit(result)
    except BaseException as exc:
        emit(
            {
                "impl": impl,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(),
            }
        )
        sys.stderr.flush()
        os._exit(1)  # skip exit handlers (MLflow's would flush again)
    if impl == "mlflow":  # skip MLflow's exit handler: it flushes its queue again (~1-2 s)
        sys.stderr.flush()
        os._exit(0)


def child_env(tmp: str) -> dict[str, str]:
    """Environment for a benchmark child: stores in ``tmp``, no telemetry, this checkout."""
    env = dict(os.environ)
    env["MLFLOW_TRACE_NB_DESTINATION"] = f"sqlite:///{os.path.join(tmp, 'traces.db')}"
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{os.path.join(tmp, 'mlflow.db')}"
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["DO_NOT_TRACK"] = "true"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, env.get("PYTHONPATH")) if p)
    env.pop("MLFLOW_EXPERIMENT_NAME", None)
    env.pop("MLFLOW_EXPERIMENT_ID", None)
    return env


def parse_result(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            parsed: dict[str, Any] = json.loads(line[len(RESULT_MARKER) :])
            return parsed
    return None


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
