"""Tracing hot path: caller cost per span (flat and nested), tracing disabled, and memory per
buffered span. Run by ``run.py``; by hand: ``python bench_tracing.py span_cost ours '{}'``.
"""

from __future__ import annotations

import gc
import statistics
import tracemalloc
from typing import Any

from _common import (
    Row,
    Scenario,
    bare_loop_ns,
    child_main,
    load_impl,
    now_ns,
    summary,
    time_loop,
)


def _f(x: int, y: int = 2) -> int:
    return x + y


def _functions(decorate: Any, shape: str) -> tuple[Any, int]:
    """The function to call in the loop (decorated with ``decorate``) and its spans/call."""
    if shape == "flat":
        return decorate(_f), 1

    @decorate
    def child(x: int, y: int = 2) -> int:
        return x * y

    @decorate
    def root(x: int) -> int:
        return child(x) + child(x + 1) + child(x + 2)

    return root, 4


def span_cost(impl: str, p: dict[str, Any]) -> dict[str, Any]:
    n, rounds, shape = p["n"], p["rounds"], p["shape"]
    tracer = load_impl(impl)
    traced, per_call = _functions(tracer.decorate, shape)
    bare, _ = _functions(lambda f: f, shape)
    warmup = max(5, min(n // 10, 200))
    time_loop(traced, warmup)
    tracer.flush()
    bare_ns = bare_loop_ns(bare, n, rounds)
    # Burst: loops short enough that the writer stays asleep (it wakes for a backlog of
    # half its queue bound), so the figure is the caller's own cost. Sustained: n calls
    # then the final flush, the writer's work included.
    burst_n = min(n, p.get("burst_n", 10_000))
    burst, sustained, flush_ms = [], [], []
    for _ in range(rounds):
        tracer.flush()
        gc.collect()
        loop = time_loop(traced, burst_n)
        burst.append((loop - bare_ns * burst_n) / (burst_n * per_call) / 1e3)
        tracer.flush()
        gc.collect()
        loop = time_loop(traced, n)
        t0 = now_ns()
        tracer.flush()
        flush = now_ns() - t0
        spans = n * per_call
        sustained.append((loop + flush - bare_ns * n) / spans / 1e3)
        flush_ms.append(flush / 1e6)
    expected = (warmup + rounds * (n + burst_n)) * per_call
    stored = tracer.stored_spans()
    notes = [
        f"{n:,} calls x {rounds} rounds, {per_call} span(s)/call "
        f"(burst: rounds of {burst_n:,} calls)"
    ]
    if stored != expected:
        notes.append(f"stored {stored:,} of {expected:,} spans")
    if impl == "mlflow" and not getattr(tracer, "has_flush", True):
        notes.append("mlflow.flush_trace_async_logging missing: sustained = burst")
    return {
        "scale": f"{n:,} {'calls' if shape == 'flat' else 'traces'}",
        "metrics": {
            "burst_us": summary(burst),
            "sustained_us": summary(sustained),
            "flush_ms": summary(flush_ms),
            "bare_ns": bare_ns,
        },
        "extra": {"stored_spans": stored, "expected": expected},
        "notes": notes,
    }


def disabled(impl: str, p: dict[str, Any]) -> dict[str, Any]:
    n, rounds = p["n"], p["rounds"]
    # OTel "off": the API with no TracerProvider configured (its no-op tracer)
    tracer = load_impl(impl, **({"sdk": False} if impl == "otel" else {}))
    traced = tracer.decorate(_f)
    if impl == "ours":
        tracer.module.disable()
    elif impl == "mlflow":
        tracer.module.tracing.disable()
    time_loop(traced, min(n, 1_000))
    overhead, bare_ns = [], []
    for _ in range(rounds):  # paired rounds: bare then traced, so drift hits both
        gc.collect()
        bare = time_loop(_f, n)
        gc.collect()
        overhead.append((time_loop(traced, n) - bare) / n / 1e3)
        bare_ns.append(bare / n)
    return {
        "scale": f"{n:,} calls",
        "metrics": {"overhead_us": summary(overhead), "bare_ns": statistics.median(bare_ns)},
        "notes": [f"{n:,} calls x {rounds} rounds, overhead = traced - bare loop, per call"],
        "extra": {"stored_spans": tracer.stored_spans()},
    }


def memory(impl: str, p: dict[str, Any]) -> dict[str, Any]:
    n, rounds = p["n"], p["rounds"]
    options: dict[str, Any] = {}
    if impl == "otel":  # queue big enough to hold every child: nothing exported mid-way
        big = n + 1_000
        options = {
            "max_queue_size": big,
            "max_export_batch_size": big,
            "schedule_delay_millis": 600_000,
        }
    tracer = load_impl(impl, **options)
    span = tracer.span

    def fill(count: int) -> int:
        with span("root"):
            for _ in range(count):
                with span("c"):
                    pass
            gc.collect()
            return tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0

    fill(100)
    tracer.flush()
    per_span, peaks = [], []
    for _ in range(rounds):
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        grown = fill(n) - base
        peaks.append(tracemalloc.get_traced_memory()[1] - base)
        tracemalloc.stop()
        tracer.flush()
        per_span.append(grown / n)
    return {
        "scale": f"{n:,} spans",
        "metrics": {"bytes_per_span": summary(per_span)},
        "notes": [f"{n:,} child spans under one open root x {rounds} rounds (tracemalloc)"],
        "extra": {"peak_bytes_per_span": statistics.median(peaks) / n},
    }


# The same loop calling the undecorated function, in the same process: how fast this
# process's CPU share was (on a shared machine it varies up to 2x between processes).
BARE_ROW = Row("bare_ns", "  undecorated call, same process, for scale (ns)", show_ratio=False)

RUNNERS = {"span_cost": span_cost, "disabled": disabled, "memory": memory}

_SPAN_ROWS = [
    Row(
        "burst_us",
        "caller cost, burst (µs/span)",
        target=("<=", 3.0),
        ratios={"mlflow": 40, "otel": 6},
    ),
    Row(
        "sustained_us",
        "sustained: loop + flush (µs/span)",
        target=("<=", 10.0),
        ratios={"otel": 2.5},
    ),
    Row("flush_ms", "final flush after the burst (ms)", show_ratio=False),
    BARE_ROW,
]


def _span_scenario(key: str, title: str, shape: str, mlflow_n: int) -> Scenario:
    spans_per_call = 1 if shape == "flat" else 4
    return Scenario(
        key=key,
        title=title,
        module="bench_tracing",
        func="span_cost",
        params={
            # sustained is judged over 100,000 spans (the writer's work included)
            "ours": {"n": 100_000 // spans_per_call, "rounds": 3, "shape": shape},
            "mlflow": {"n": mlflow_n, "rounds": 3, "shape": shape},
            "otel": {"n": 100_000 // spans_per_call, "rounds": 3, "shape": shape},
        },
        quick={
            "ours": {"n": 3_000, "rounds": 3},
            "mlflow": {"n": max(mlflow_n // 15, 6), "rounds": 2},
            "otel": {"n": 3_000, "rounds": 3},
        },
        rows=_SPAN_ROWS,
        notes=[
            "bare call cost subtracted; burst = loop only (writer asleep), sustained = loop + "
            "final flush (the writer's work included)",
            "MLflow's flush stops and restarts its logging threads (~1-2 s even when idle); "
            "that is in its sustained figure",
        ],
    )


SCENARIOS = [
    _span_scenario("span_flat", "1a. Caller cost per span: @trace def f(x, y=2)", "flat", 300),
    _span_scenario("span_nested", "1b. Caller cost per span: root + 3 children", "nested", 90),
    Scenario(
        key="disabled",
        title="2. Tracing disabled: overhead per call over the bare function",
        module="bench_tracing",
        func="disabled",
        params={
            "ours": {"n": 200_000, "rounds": 5},
            "mlflow": {"n": 10_000, "rounds": 5},
            "otel": {"n": 200_000, "rounds": 5},
        },
        quick={
            "ours": {"n": 50_000, "rounds": 3},
            "mlflow": {"n": 2_000, "rounds": 3},
            "otel": {"n": 50_000, "rounds": 3},
        },
        rows=[Row("overhead_us", "overhead (µs/call)", target=("<=", 0.5)), BARE_ROW],
        notes=[
            "ours: disable(); MLflow: mlflow.tracing.disable(); "
            "OTel: API with no TracerProvider (no-op tracer)"
        ],
    ),
    Scenario(
        key="memory",
        title="6. Memory per buffered span (no payload, root still open)",
        module="bench_tracing",
        func="memory",
        params={
            "ours": {"n": 10_000, "rounds": 3},
            "mlflow": {"n": 1_000, "rounds": 2},
            "otel": {"n": 10_000, "rounds": 3},
        },
        quick={
            "ours": {"n": 5_000, "rounds": 2},
            "mlflow": {"n": 200, "rounds": 1},
            "otel": {"n": 5_000, "rounds": 2},
        },
        rows=[Row("bytes_per_span", "traced memory growth (bytes/span)", target=("<=", 1024))],
        notes=["OTel: finished children held in a BatchSpanProcessor queue sized to keep them all"],
    ),
]

if __name__ == "__main__":
    child_main(RUNNERS)
