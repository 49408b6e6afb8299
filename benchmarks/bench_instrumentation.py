"""Added cost per call of ``instrument_openai()`` against the bare ``openai`` client, side by
side with MLflow's ``mlflow.openai.autolog()``, on the loopback server.

Run: ``python benchmarks/bench_instrumentation.py [--calls 600] [--round 50]``.

The parent process hosts the loopback server; each implementation runs in its own child
process (ours with its SQLite store, MLflow with a SQLite tracking URI, both in a temp
directory). Inside a child, rounds of instrumented and uninstrumented calls alternate on the
same client and connection (instrument / undo, autolog / autolog(disable=True)), so the
machine's drift hits both alike. Added cost = median instrumented call - median bare call.
"With flush" also charges the time to persist what the calls produced (our ``flush()``,
MLflow's ``flush_trace_async_logging()``), spread over the calls.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

SCENARIOS = ("chat", "chat_stream")
MESSAGES = [{"role": "user", "content": "What is the capital of France? Answer briefly."}]


def _call(client: Any, scenario: str) -> None:
    if scenario == "chat":
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, temperature=0)
    else:
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        for _ in stream:
            pass


def _switches(impl: str, workdir: str) -> tuple[Any, Any, Any]:
    """(turn tracing on, turn it off, flush everything pending) for ``impl``."""
    if impl == "ours":
        import mlflow_trace_nb as ours
        from mlflow_trace_nb.instrumentation import instrument_openai, uninstrument_openai

        ours.set_destination(f"sqlite:///{os.path.join(workdir, 'ours.db')}")
        return instrument_openai, uninstrument_openai, ours.flush
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{os.path.join(workdir, 'mlflow.db')}")
    mlflow.set_experiment("bench")

    def on() -> None:
        mlflow.openai.autolog(silent=True)

    def off() -> None:
        mlflow.openai.autolog(disable=True, silent=True)

    return on, off, mlflow.flush_trace_async_logging


def child(impl: str, base_url: str, calls: int, round_size: int) -> dict[str, Any]:
    """Measure one implementation; returns per-scenario medians (ns)."""
    import openai

    workdir = tempfile.mkdtemp(prefix=f"bench-{impl}-")
    on, off, flush = _switches(impl, workdir)
    client = openai.OpenAI(base_url=base_url, api_key="test", max_retries=0)
    results: dict[str, Any] = {}
    for scenario in SCENARIOS:
        for mode in (on, off):  # warm both paths (imports, connection, pydantic models)
            mode()
            for _ in range(30):
                _call(client, scenario)
        flush()
        bare: list[int] = []
        traced: list[int] = []
        flush_ns = 0
        cpu = {True: 0.0, False: 0.0}  # process CPU seconds (all threads: writers included)
        for round_index in range(2 * calls // round_size):
            instrumented = round_index % 2 == 0
            (on if instrumented else off)()
            sink = traced if instrumented else bare
            cpu_start = time.process_time()
            for _ in range(round_size):
                start = time.perf_counter_ns()
                _call(client, scenario)
                sink.append(time.perf_counter_ns() - start)
            if instrumented:
                start = time.perf_counter_ns()
                flush()
                flush_ns += time.perf_counter_ns() - start
            cpu[instrumented] += time.process_time() - cpu_start
        off()
        results[scenario] = {
            "bare_median_ns": statistics.median(bare),
            "traced_median_ns": statistics.median(traced),
            "added_median_ns": statistics.median(traced) - statistics.median(bare),
            "added_mean_with_flush_ns": (sum(traced) + flush_ns) / len(traced)
            - sum(bare) / len(bare),
            "added_cpu_ns": (cpu[True] / len(traced) - cpu[False] / len(bare)) * 1e9,
            "calls": len(traced),
        }
    return results


def _run_child(impl: str, base_url: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--child",
        impl,
        "--url",
        base_url,
        "--calls",
        str(args.calls),
        "--round",
        str(args.round),
    ]
    env = {**os.environ, "PYTHONPATH": os.path.dirname(HERE)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{impl} child failed:\n{done.stderr[-3000:]}")
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=600, help="instrumented calls per scenario")
    parser.add_argument("--round", type=int, default=50, help="calls per alternating round")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(args.child, args.url, args.calls, args.round)))
        return

    from mlflow_trace_nb.testing.llm_server import start_server

    with start_server() as server:
        figures = {impl: _run_child(impl, server.openai_base_url, args) for impl in IMPLS}
    _print_table(figures, args.calls)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=2)


IMPLS = ("ours", "mlflow")
LABELS = {"chat": "chat completion", "chat_stream": "chat completion, streamed (5 chunks)"}


def _print_table(figures: dict[str, Any], calls: int) -> None:
    def us(ns: float) -> str:
        return f"{ns / 1000:,.1f} µs"

    print(f"Added cost per openai call ({calls} instrumented calls per scenario, medians)\n")
    print("| call | bare call | ours: added | MLflow autolog: added | MLflow / ours |")
    print("|---|---|---|---|---|")
    for scenario in SCENARIOS:
        ours, theirs = figures["ours"][scenario], figures["mlflow"][scenario]
        ratio = theirs["added_median_ns"] / max(ours["added_median_ns"], 1.0)
        print(
            f"| {LABELS[scenario]} | {us(ours['bare_median_ns'])} "
            f"| {us(ours['added_median_ns'])} | {us(theirs['added_median_ns'])} "
            f"| {ratio:,.0f}x |"
        )
    print("\nWith the time to persist the traces (flush) spread over the calls (means):\n")
    print("| call | ours: added | MLflow autolog: added | MLflow / ours |")
    print("|---|---|---|---|")
    for scenario in SCENARIOS:
        ours, theirs = figures["ours"][scenario], figures["mlflow"][scenario]
        ratio = theirs["added_mean_with_flush_ns"] / max(ours["added_mean_with_flush_ns"], 1.0)
        print(
            f"| {LABELS[scenario]} | {us(ours['added_mean_with_flush_ns'])} "
            f"| {us(theirs['added_mean_with_flush_ns'])} | {ratio:,.0f}x |"
        )

    print("\nProcess CPU time added per call, writer threads and flush included (means):\n")
    print("| call | ours: added CPU | MLflow autolog: added CPU | MLflow / ours |")
    print("|---|---|---|---|")
    for scenario in SCENARIOS:
        ours, theirs = figures["ours"][scenario], figures["mlflow"][scenario]
        ratio = theirs["added_cpu_ns"] / max(ours["added_cpu_ns"], 1.0)
        print(
            f"| {LABELS[scenario]} | {us(ours['added_cpu_ns'])} "
            f"| {us(theirs['added_cpu_ns'])} | {ratio:,.0f}x |"
        )


if __name__ == "__main__":
    main()
