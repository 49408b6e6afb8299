"""Remote export: throughput (spans/s) to an OTLP receiver and to an MLflow tracking server,
and what adding a remote destination costs the traced code (caller side, per span).

Standalone: ``python benchmarks/bench_export.py [--quick]``. Starts ``mlflow server`` (SQLite
backend, a free port on 127.0.0.1) and a minimal in-process OTLP/HTTP receiver, runs
everything in this process, prints a table, and removes its temporary files.

- *Throughput*: traces of 5 spans are produced in a burst with the local store plus one
  remote destination; the figure is spans delivered per second, from the first span to the
  remote flush being done (so it includes the server's own ingest).
- *Caller cost per span*: the same traced loop (4 nested spans per call) with the local
  store only, with a remote destination added, and with a remote destination that is down
  (connection refused). Per span = (traced loop - undecorated loop) / spans, median of
  rounds; the remote queue is flushed between rounds, outside the timing. Target: within
  20% of local-only, since export runs off the caller's thread.
"""

from __future__ import annotations

import gc
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = str(Path(__file__).resolve().parent.parent)
if REPO not in sys.path:
    sys.path.insert(0, REPO)

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import mlflow_trace_nb as tracing  # noqa: E402
from mlflow_trace_nb.tracing.destination import OTLP, LocalStore, MlflowExperiment  # noqa: E402

QUICK = "--quick" in sys.argv
THROUGHPUT_TRACES = 300 if QUICK else 1_000  # x 5 spans
COST_CALLS = 2_000 if QUICK else 5_000  # x 4 spans per round
ROUNDS = 3 if QUICK else 7


# Receivers ------------------------------------------------------------------------------
class _NullReceiver(BaseHTTPRequestHandler):
    """Accepts OTLP/HTTP posts and answers 200 at once (the exporter's own ceiling)."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _null_receiver() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NullReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1/traces"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Workloads ------------------------------------------------------------------------------
@tracing.trace
def _leaf(x: int) -> int:
    return x * 2


@tracing.trace(span_type="CHAIN")
def _root(x: int) -> int:
    return _leaf(x) + _leaf(x + 1) + _leaf(x + 2)


def _bare_leaf(x: int) -> int:
    return x * 2


def _bare_root(x: int) -> int:
    return _bare_leaf(x) + _bare_leaf(x + 1) + _bare_leaf(x + 2)


@tracing.trace(span_type="AGENT")
def _five(x: int) -> dict[str, int]:
    for i in range(4):
        with tracing.start_span(f"step-{i}", span_type="TOOL") as span:
            span.set_inputs({"x": x, "i": i})
            span.set_outputs(x + i)
    return {"x": x}


def throughput(destination: Any, label: str) -> dict[str, Any]:
    tmp = tempfile.mkdtemp(prefix="bench-export-")
    try:
        tracing.set_destination([LocalStore(f"{tmp}/t.db"), destination])
        _five(-1)  # warm-up: connection, imports
        assert tracing.flush(120), f"{label}: warm-up did not flush"
        gc.collect()
        t0 = time.perf_counter()
        for i in range(THROUGHPUT_TRACES):
            _five(i)
        produced = time.perf_counter() - t0
        done = tracing.flush(600)
        elapsed = time.perf_counter() - t0
        stats = destination.stats()
        spans = THROUGHPUT_TRACES * 5
        return {
            "label": label,
            "spans": spans,
            "seconds": elapsed,
            "produce_s": produced,
            "rate": spans / elapsed,
            "complete": done and stats["sent"] == spans + 5,
            "stats": stats,
        }
    finally:
        tracing.set_destination("memory")
        shutil.rmtree(tmp, ignore_errors=True)


def _loop_ns(func: Any, n: int) -> int:
    t0 = time.perf_counter_ns()
    for i in range(n):
        func(i)
    return time.perf_counter_ns() - t0


def caller_costs(
    configs: dict[str, Any | None], down: tuple[str, ...]
) -> dict[str, dict[str, float]]:
    """Caller ns/span per configuration: the local store plus ``configs[label]`` (None:
    local only). Configurations are interleaved round by round, so drift in the machine's
    load hits them alike. Before each round everything is flushed (the remote that is
    ``down`` cannot flush: only the local writer is, and its exporter is stopped before
    switching away, keeping its full queue, as after a long outage)."""
    from mlflow_trace_nb._internal.runtime import RUNTIME

    tmp = tempfile.mkdtemp(prefix="bench-export-")
    local = LocalStore(f"{tmp}/t.db")
    per_span: dict[str, list[float]] = {label: [] for label in configs}
    try:
        for _ in range(ROUNDS):
            for label, extra in configs.items():
                tracing.set_destination([local] if extra is None else [local, extra])
                _loop_ns(_root, 100)
                RUNTIME.queue.flush(60)
                if label not in down:
                    tracing.flush(300)
                bare = min(_loop_ns(_bare_root, COST_CALLS) for _ in range(3))
                gc.collect()
                traced = _loop_ns(_root, COST_CALLS)
                per_span[label].append((traced - bare) / (COST_CALLS * 4))
                RUNTIME.queue.flush(60)
                if label in down:
                    extra.shutdown()
        return {
            label: {"median": statistics.median(v), "best": min(v)} for label, v in per_span.items()
        }
    finally:
        tracing.set_destination("memory")
        shutil.rmtree(tmp, ignore_errors=True)


# Main -----------------------------------------------------------------------------------
def main() -> None:
    from tests.conftest_servers import MlflowServer

    root = Path(tempfile.mkdtemp(prefix="bench-mlflow-server-"))
    server = MlflowServer(root)
    null_server, null_endpoint = _null_receiver()
    print(f"starting mlflow server on {server.uri} ...", flush=True)
    server.start()
    try:
        import mlflow

        client = mlflow.MlflowClient(server.uri)
        exp_otlp = client.create_experiment("bench-otlp")
        exp_mlflow = client.create_experiment("bench-mlflow")
        otlp_mlflow = f"{server.uri}/v1/traces"
        rows = [
            throughput(OTLP(null_endpoint), "OTLP -> in-process null receiver"),
            throughput(
                OTLP(otlp_mlflow, {"x-mlflow-experiment-id": exp_otlp}),
                "OTLP -> MLflow /v1/traces receiver",
            ),
            throughput(MlflowExperiment(exp_mlflow, server.uri), "MlflowExperiment (server)"),
        ]
        down_label = "local + OTLP endpoint down"
        costs = caller_costs(
            {
                "local store only": None,
                "local + OTLP (MLflow /v1/traces)": OTLP(
                    otlp_mlflow, {"x-mlflow-experiment-id": exp_otlp}
                ),
                "local + MlflowExperiment": MlflowExperiment(exp_mlflow, server.uri),
                down_label: OTLP(
                    f"http://127.0.0.1:{_closed_port()}/v1/traces", exit_timeout_s=0.1
                ),
            },
            (down_label,),
        )
        _print(rows, costs)
    finally:
        tracing.set_destination("memory")
        server.stop()
        null_server.shutdown()
        shutil.rmtree(root, ignore_errors=True)


def _print(rows: list[dict[str, Any]], costs: dict[str, dict[str, float]]) -> None:
    print()
    print(f"Export throughput ({THROUGHPUT_TRACES} traces x 5 spans, local store + remote)")
    print(f"{'destination':<38} {'spans/s':>10} {'total s':>9} {'produce s':>10}  complete")
    for r in rows:
        print(
            f"{r['label']:<38} {r['rate']:>10,.0f} {r['seconds']:>9.2f} "
            f"{r['produce_s']:>10.2f}  {r['complete']}"
        )
    print()
    print(
        f"Caller cost per span ({COST_CALLS} calls x 4 spans, {ROUNDS} interleaved rounds; "
        "ratio of medians)"
    )
    print(f"{'destinations':<38} {'median us':>10} {'best us':>9} {'ratio':>7}  target <= 1.20")
    base = costs["local store only"]["median"]
    for label, cost in costs.items():
        ratio = cost["median"] / base
        verdict = "" if label == "local store only" else ("PASS" if ratio <= 1.2 else "MISS")
        print(
            f"{label:<38} {cost['median'] / 1000:>10.2f} {cost['best'] / 1000:>9.2f} "
            f"{ratio:>7.2f}  {verdict}"
        )


if __name__ == "__main__":
    main()
