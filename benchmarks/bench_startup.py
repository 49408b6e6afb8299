"""Start-up: import time, the first traced call in a fresh process, and ``flush()`` with
nothing pending. Import and first-call figures come from fresh interpreters (one per
sample, plus one discarded warm-up so every sample sees warm OS caches and bytecode).
"""

from __future__ import annotations

import compileall
import os
import shutil
import subprocess
import sys
from typing import Any

from _common import (
    HERE,
    REPO,
    RESULT_MARKER,
    Row,
    Scenario,
    child_main,
    last_line,
    load_impl,
    now_ns,
    parse_result,
    summary,
)

IMPORTS = {
    "ours": "import mlflow_trace_nb",
    "mlflow": "import mlflow",
    "otel": "import opentelemetry.sdk.trace, opentelemetry.sdk.trace.export",
}
TOP_MODULE = {"ours": "mlflow_trace_nb", "mlflow": "mlflow", "otel": "opentelemetry.sdk.trace"}
# Only sys and time (already loaded by the interpreter) before the timed import.
IMPORT_CODE = """import sys, time
before = len(sys.modules)
t0 = time.perf_counter_ns()
{stmt}
t1 = time.perf_counter_ns()
import json
print({marker!r} + json.dumps({{"import_ms": (t1 - t0) / 1e6, "modules": len(sys.modules) - before,
      "pandas_loaded": "pandas" in sys.modules, "file": sys.modules[{top!r}].__file__}}))
"""


def _package_copy() -> tuple[str, dict[str, str]]:
    """Copy the package (no ``__pycache__``) into the working temp dir and put the copy first
    on PYTHONPATH, so its bytecode cache can be built without writing to the repository."""
    site = os.path.abspath("site")
    shutil.copytree(
        os.path.join(REPO, "mlflow_trace_nb"),
        os.path.join(site, "mlflow_trace_nb"),
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (site, env.get("PYTHONPATH")) if p)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # caches only where we build them (compileall)
    return site, env


def _fresh(
    args: list[str], samples: int, env: dict[str, str] | None = None
) -> tuple[list[dict[str, Any]], list[float]]:
    """Run a fresh interpreter ``samples + 1`` times (first discarded); results + wall ms."""
    results, walls = [], []
    for i in range(samples + 1):
        t0 = now_ns()
        proc = subprocess.run(
            [sys.executable, *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=env,
        )
        wall = (now_ns() - t0) / 1e6
        result = parse_result(proc.stdout)
        if result is None or "error" in result:
            detail = (result or {}).get("error") or last_line(proc.stderr)
            raise RuntimeError(f"fresh process failed: {detail}")
        if i:
            results.append(result)
            walls.append(wall)
    return results, walls


def _first_call(impl: str, p: dict[str, Any]) -> dict[str, Any]:
    """In a fresh process: import and set-up untimed, then decorate + first call timed."""
    tracer = load_impl(impl)
    t0 = now_ns()

    @tracer.decorate
    def f(x: int, y: int = 2) -> int:
        return x + y

    f(1)
    t1 = now_ns()
    tracer.flush()
    t2 = now_ns()
    return {"first_call_ms": (t1 - t0) / 1e6, "first_flush_ms": (t2 - t1) / 1e6}


def _empty_flush(impl: str, samples: int) -> tuple[float, list[float]]:
    tracer = load_impl(impl)
    f = tracer.decorate(lambda x: x)
    f(1)
    tracer.flush()
    times = []
    for _ in range(samples + 1):
        t0 = now_ns()
        tracer.flush()
        times.append((now_ns() - t0) / 1e6)
    return times[0], times[1:]


def startup(impl: str, p: dict[str, Any]) -> dict[str, Any]:
    samples = p["samples"]
    code = IMPORT_CODE.format(stmt=IMPORTS[impl], marker=RESULT_MARKER, top=TOP_MODULE[impl])
    env, metrics = None, {}
    if impl == "ours":  # MLflow and OTel come with bytecode (pip compiles on install); ours
        site, env = _package_copy()  # is an editable checkout: measure both ways
        raw, _ = _fresh(["-c", code], samples, env)
        metrics["import_nopyc_ms"] = summary(r["import_ms"] for r in raw)
        compileall.compile_dir(site, quiet=1)
    imports, walls = _fresh(["-c", code], samples, env)
    if impl == "ours" and not imports[0]["file"].startswith(site):
        raise RuntimeError(f"imported {imports[0]['file']}, not the copy in {site}")
    _, bare_walls = _fresh(["-c", f"print({RESULT_MARKER!r} + '{{}}')"], samples)
    script = os.path.join(HERE, "bench_startup.py")
    firsts, _ = _fresh([script, "_first_call", impl, "{}"], samples, env)
    first_empty, empty = _empty_flush(impl, p["flushes"])
    metrics.update(
        {
            "import_ms": summary(r["import_ms"] for r in imports),
            "pandas_loaded": any(r["pandas_loaded"] for r in imports),
            "first_call_ms": summary(r["first_call_ms"] for r in firsts),
            "first_flush_ms": summary(r["first_flush_ms"] for r in firsts),
            "flush_empty_ms": summary(empty),
            "flush_empty_first_ms": first_empty,
        }
    )
    notes = [
        f"{samples} fresh processes per figure; {p['flushes']} empty flushes in one process",
        f"process wall time with the import {summary(walls)['median']:.0f} ms "
        f"(bare interpreter {summary(bare_walls)['median']:.0f} ms); "
        f"{imports[0]['modules']} modules loaded by the import",
    ]
    if impl == "ours":
        notes.append("import and first call use a bytecode-compiled copy of the package")
    if impl == "mlflow":
        notes.append("first call measured after set_tracking_uri + set_experiment (untimed)")
    return {"scale": "", "metrics": metrics, "notes": notes}


RUNNERS = {"startup": startup, "_first_call": _first_call}

SCENARIOS = [
    Scenario(
        key="startup",
        title="5. Start-up (fresh processes)",
        module="bench_startup",
        func="startup",
        params={
            "ours": {"samples": 5, "flushes": 200},
            "mlflow": {"samples": 5, "flushes": 3},  # each idle MLflow flush takes ~1-2 s
            "otel": {"samples": 5, "flushes": 200},
        },
        quick={
            "ours": {"samples": 3, "flushes": 50},
            "mlflow": {"samples": 1, "flushes": 1},
            "otel": {"samples": 3, "flushes": 50},
        },
        rows=[
            Row("import_ms", "import wall time, with .pyc (ms)", target=("<=", 60)),
            Row("import_nopyc_ms", "  same without .pyc: compiled at import (ms)"),
            Row(
                "pandas_loaded",
                "pandas in sys.modules after import",
                better="bool",
                target=("==", False),
            ),
            Row("first_call_ms", "first traced call incl. decoration (ms)", target=("<=", 20)),
            Row("first_flush_ms", "  then flush() of that first trace (ms)"),
            Row("flush_empty_ms", "flush() with nothing pending (ms)", target=("<=", 5)),
            Row("flush_empty_first_ms", "  first such flush after a real one (ms)"),
        ],
        notes=[
            "OTel imports opentelemetry.sdk.trace(+.export); its flush is provider.force_flush()",
            "MLflow flush = mlflow.flush_trace_async_logging()",
        ],
        timeout_s=400,
    ),
]

if __name__ == "__main__":
    child_main(RUNNERS)
