"""Two fault figures, each in a fresh process: how long a local read takes while a remote
destination hangs, and the peak memory of a long session of big traces.

    python benchmarks/bench_faults.py hung      # search_traces() with a hung OTLP endpoint
    python benchmarks/bench_faults.py memory    # 1,000,000 spans in traces of 300 spans

``hung``: a raw socket on 127.0.0.1 accepts and never answers; the destination is the
local store plus ``OTLP`` pointing there; 10 traces are made, then ``search_traces()``,
``get_trace()`` and ``flush()`` are timed. ``memory``: the local store only; 3,334 traces of
one root and 299 children (small inputs and outputs), then a flush; peak RSS
(``ru_maxrss``) growth over the RSS after warm-up, and the spans found in the store.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = str(Path(__file__).resolve().parent.parent)
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import mlflow_trace_nb as tracing  # noqa: E402
from mlflow_trace_nb.tracing.destination import OTLP, LocalStore  # noqa: E402


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def hung(tmp: Path) -> dict[str, float]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)  # read nothing, answer nothing

    threading.Thread(target=accept, daemon=True).start()
    port = listener.getsockname()[1]
    remote = OTLP(f"http://127.0.0.1:{port}/v1/traces")
    tracing.set_destination([LocalStore(str(tmp / "local.db")), remote])
    for i in range(10):
        with tracing.start_span(f"t{i}") as span:
            span.set_inputs({"i": i})
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    found = tracing.search_traces(return_type="list")
    out["search_traces_s"] = time.perf_counter() - t0
    out["found"] = len(found)
    t0 = time.perf_counter()
    tracing.get_trace(found[0].info.request_id)
    out["get_trace_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    out["flush_result"] = float(tracing.flush(1.0))
    out["flush_1s_s"] = time.perf_counter() - t0
    return out


def memory(tmp: Path, spans: int = 1_000_000, per_trace: int = 300) -> dict[str, float]:
    tracing.set_destination(LocalStore(str(tmp / "local.db")))

    @tracing.trace(span_type="TOOL")
    def tool(i: int, query: str) -> dict[str, object]:
        return {"i": i, "answer": query.upper()}

    def one_trace(n: int) -> None:
        with tracing.start_span("agent", span_type="AGENT") as root:
            root.set_inputs({"question": f"question {n}"})
            for i in range(per_trace - 1):
                tool(i, "what is the weather")
            root.set_outputs("done")

    one_trace(0)
    tracing.flush(60)
    base = _rss_mb()
    traces = spans // per_trace + 1
    t0 = time.perf_counter()
    for n in range(traces):
        one_trace(n)
    loop_s = time.perf_counter() - t0
    tracing.flush(600)
    total_s = time.perf_counter() - t0
    import sqlite3

    with sqlite3.connect(tmp / "local.db") as db:
        stored = db.execute("SELECT count(*) FROM spans").fetchone()[0]
    return {
        "spans_made": traces * per_trace,
        "stored_spans": stored - per_trace,
        "rss_after_warmup_mb": round(base, 1),
        "peak_rss_mb": round(_peak_mb(), 1),
        "peak_growth_mb": round(_peak_mb() - base, 1),
        "loop_s": round(loop_s, 1),
        "loop_plus_flush_s": round(total_s, 1),
    }


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "hung"
    with tempfile.TemporaryDirectory() as d:
        os.chdir(d)
        result = hung(Path(d)) if which == "hung" else memory(Path(d))
        print(json.dumps(result))
        sys.stdout.flush()
        os._exit(0)  # do not wait for the exit drain of a hung remote
