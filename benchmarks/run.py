"""Run every benchmark scenario, each implementation in a fresh subprocess, and print one
table per scenario: ours vs MLflow vs OpenTelemetry, ratios, targets (PASS/MISS).

    python benchmarks/run.py            # full run (~5-8 minutes)
    python benchmarks/run.py --quick    # smaller sizes (~1-2 minutes)
    python benchmarks/run.py --only span_flat,queries --impl ours

Results go to benchmarks/results/latest.json. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from typing import Any

import bench_startup
import bench_store
import bench_tracing
from _common import HERE, IMPL_LABELS, REPO, Row, Scenario, child_env, last_line, parse_result

SCENARIOS: list[Scenario] = [
    *bench_tracing.SCENARIOS[:3],
    *bench_store.SCENARIOS,
    *bench_startup.SCENARIOS,
    *bench_tracing.SCENARIOS[3:],
]
WATCHED = [  # files a benchmark must never create outside its temp dir
    os.path.join(REPO, "mlflow_traces.db"),
    os.path.join(REPO, "mlruns"),
    os.path.join(REPO, "mlflow.db"),
    os.path.join(REPO, "benchmarks", "mlflow_traces.db"),
    os.path.expanduser("~/.mlflow"),
]


# Running ------------------------------------------------------------------------------------
_TEMPLATE: dict[str, str | None] = {}
_PREPARE_MLFLOW = (
    "import logging, os, mlflow; logging.getLogger('mlflow').setLevel(logging.WARNING); "
    "mlflow.set_tracking_uri(os.environ['MLFLOW_TRACKING_URI']); mlflow.set_experiment('bench')"
)


def mlflow_template(workdir: str) -> str | None:
    """An MLflow database with its schema migrated and the 'bench' experiment, made once
    per run and copied into each MLflow child's temp dir (saves ~3 s of migrations each)."""
    if "path" not in _TEMPLATE:
        tmp = os.path.join(workdir, "template")
        os.makedirs(tmp)
        proc = subprocess.run(
            [sys.executable, "-c", _PREPARE_MLFLOW],
            cwd=tmp,
            env=child_env(tmp),
            capture_output=True,
            timeout=300,
            check=False,
        )
        path = os.path.join(tmp, "mlflow.db")
        _TEMPLATE["path"] = path if proc.returncode == 0 and os.path.exists(path) else None
    return _TEMPLATE["path"]


def run_child(
    scenario: Scenario, impl: str, params: dict[str, Any], workdir: str
) -> dict[str, Any]:
    tmp = tempfile.mkdtemp(prefix=f"{scenario.key}-{impl}-", dir=workdir)
    template = mlflow_template(workdir) if impl == "mlflow" else None
    if template:
        shutil.copy(template, os.path.join(tmp, "mlflow.db"))
    cmd = [
        sys.executable,
        os.path.join(HERE, f"{scenario.module}.py"),
        scenario.func,
        impl,
        json.dumps(params),
    ]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd,
            cwd=tmp,
            env=child_env(tmp),
            capture_output=True,
            text=True,
            timeout=scenario.timeout_s,
            check=False,
        )
        result = parse_result(proc.stdout)
        if result is None:
            result = {"error": f"exit {proc.returncode}: {last_line(proc.stderr)}"}
        if "error" in result:
            result["stderr_tail"] = proc.stderr[-3000:]
    except subprocess.TimeoutExpired:
        result = {"error": f"timed out after {scenario.timeout_s:.0f} s"}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result["impl"] = impl
    result["params"] = params
    result["elapsed_s"] = round(time.perf_counter() - t0, 2)
    return result


# Table --------------------------------------------------------------------------------------
def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    a = abs(value)
    if a >= 1000:
        return f"{value:,.0f}"
    if a >= 100:
        return f"{value:.0f}"
    if a >= 10:
        return f"{value:.1f}"
    if a >= 1:
        return f"{value:.2f}"
    if a == 0:
        return "0"
    decimals = min(7, 2 - math.floor(math.log10(a)))  # 3 significant digits
    return f"{value:.{decimals}f}"


def median_of(result: dict[str, Any] | None, key: str) -> Any:
    if not result or "error" in result:
        return None
    value = result.get("metrics", {}).get(key)
    return value["median"] if isinstance(value, dict) else value


def cell(result: dict[str, Any] | None, row: Row) -> str:
    if result is None:
        return ""
    if "error" in result:
        return "ERROR"
    value = result.get("metrics", {}).get(row.key)
    if isinstance(value, dict):
        best = value["max"] if row.better == "higher" else value["min"]
        return f"{fmt(value['median'])} (best {fmt(best)})"
    return fmt(value)


def ratio(row: Row, ours: Any, other: Any) -> float | None:
    """How many times better ours is: their cost / ours (rates: ours / theirs)."""
    if row.better == "bool" or ours is None or other is None or ours <= 0 or other <= 0:
        return None
    return ours / other if row.better == "higher" else other / ours


def fmt_ratio(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}x" if value < 10 else f"{value:,.0f}x"


def check(op: str, value: Any, limit: Any) -> bool:
    if op == "<=":
        return bool(value <= limit)
    if op == ">=":
        return bool(value >= limit)
    return bool(value == limit)


def evaluate(row: Row, results: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """(target text, PASS/MISS text) for one row; ("", "") when the row has no target."""
    ours = median_of(results.get("ours"), row.key)
    texts, misses, unknown = [], [], []
    if "ours" not in results and (row.target or row.ratios):
        return "", "n/a (ours not run)"
    if row.target:
        op, limit = row.target
        texts.append(fmt(limit) if row.better == "bool" else f"{op} {limit:,g}")
        if ours is None:
            misses.append("ours: no result")
        elif not check(op, ours, limit):
            misses.append(texts[-1])
    for impl, minimum in row.ratios.items():
        label = IMPL_LABELS[impl]
        texts.append(f"{label} >= {minimum}x")
        r = ratio(row, ours, median_of(results.get(impl), row.key))
        if r is None:
            unknown.append(label)
        elif r < minimum:
            misses.append(f"{label} {fmt_ratio(r)} < {minimum}x")
    if not texts:
        return "", ""
    status = "MISS: " + "; ".join(misses) if misses else "PASS"
    if unknown:
        status += f" ({'/'.join(unknown)} n/a)"
    return ", ".join(texts), status


def table(scenario: Scenario, results: dict[str, dict[str, Any]]) -> tuple[str, list[dict]]:
    impls = [i for i in ("ours", "mlflow", "otel") if i in results]
    others = [i for i in impls if i != "ours"]
    header = ["metric"]
    for impl in impls:
        scale = results[impl].get("scale")
        header.append(f"{IMPL_LABELS[impl]} @{scale}" if scale else IMPL_LABELS[impl])
    header += [f"{IMPL_LABELS[i]}/ours" for i in others] + ["target", "result"]
    lines, evaluations = [header], []
    for row in scenario.rows:
        ours = median_of(results.get("ours"), row.key)
        target, status = evaluate(row, results)
        ratios = {
            i: (ratio(row, ours, median_of(results.get(i), row.key)) if row.show_ratio else None)
            for i in others
        }
        lines.append(
            [row.label]
            + [cell(results.get(i), row) for i in impls]
            + [fmt_ratio(ratios[i]) for i in others]
            + [target, status]
        )
        evaluations.append(
            {
                "metric": row.key,
                "label": row.label,
                "medians": {i: median_of(results.get(i), row.key) for i in impls},
                "ratios_vs_ours": ratios,
                "target": target,
                "result": status,
            }
        )
    widths = [max(len(line[c]) for line in lines) for c in range(len(header))]
    out = [f"== {scenario.title} =="]
    for n, line in enumerate(lines):
        out.append("  ".join(text.ljust(w) for text, w in zip(line, widths, strict=True)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    notes = list(scenario.notes)
    for impl in impls:
        result = results[impl]
        label = IMPL_LABELS[impl]
        if "error" in result:
            notes.append(f"{label} ERROR: {result['error']}")
        notes += [f"{label}: {note}" for note in result.get("notes", [])]
    out += [f"  - {' '.join(str(note).split())}" for note in notes]
    return "\n".join(out), evaluations


# Main ---------------------------------------------------------------------------------------
def versions() -> dict[str, str]:
    found = {}
    for dist in ("mlflow-trace-nb", "mlflow", "opentelemetry-sdk", "pandas"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "not installed"
    return found


def run_all(
    chosen: list[Scenario], impls: set[str], quick: bool, workdir: str, report: dict[str, Any]
) -> list[str]:
    """Run the scenarios, print each table as it completes; returns the target lines."""
    summary_lines: list[str] = []
    for scenario in chosen:
        results: dict[str, dict[str, Any]] = {}
        for impl in scenario.params:
            if impls and impl not in impls:
                continue
            print(f"... {scenario.key} / {impl}", end="", file=sys.stderr, flush=True)
            results[impl] = run_child(scenario, impl, scenario.params_for(impl, quick), workdir)
            status = "ERROR" if "error" in results[impl] else "ok"
            print(f" {status} ({results[impl]['elapsed_s']:.1f} s)", file=sys.stderr, flush=True)
        text, evaluations = table(scenario, results)
        print("\n" + text, flush=True)
        report["scenarios"][scenario.key] = {
            "title": scenario.title,
            "results": results,
            "table": evaluations,
        }
        summary_lines += [
            f"  {e['result'].split(':')[0]:<5} {scenario.key}: {e['label'].strip()} "
            f"(target {e['target']})"
            for e in evaluations
            if e["target"]
        ]
    return summary_lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (~1-2 minutes)")
    parser.add_argument("--only", default="", help="comma-separated scenario keys")
    parser.add_argument("--impl", default="", help="comma-separated: ours,mlflow,otel")
    parser.add_argument("--output", default=os.path.join(HERE, "results", "latest.json"))
    args = parser.parse_args()
    only = {s for s in args.only.split(",") if s}
    impls = {s for s in args.impl.split(",") if s}
    unknown = only - {s.key for s in SCENARIOS}
    if unknown:
        parser.error(f"unknown scenario(s) {sorted(unknown)}; have {[s.key for s in SCENARIOS]}")
    chosen = [s for s in SCENARIOS if not only or s.key in only]
    existed = {path: os.path.exists(path) for path in WATCHED}
    meta = {
        "mode": "quick" if args.quick else "full",
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": versions(),
        "loadavg_start": list(os.getloadavg()),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    print(
        f"mlflow-trace-nb benchmarks ({meta['mode']}): Python {meta['python']}, "
        f"{meta['cpus']} CPUs, load {meta['loadavg_start'][0]:.2f}; "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()),
        flush=True,
    )
    started = time.perf_counter()
    workdir = tempfile.mkdtemp(prefix="mlflow-trace-nb-bench-")
    report: dict[str, Any] = {"meta": meta, "scenarios": {}}
    try:
        summary_lines = run_all(chosen, impls, args.quick, workdir, report)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.perf_counter() - started
    meta["elapsed_s"] = round(elapsed, 1)
    meta["loadavg_end"] = list(os.getloadavg())
    created = [p for p in WATCHED if os.path.exists(p) and not existed[p]]
    meta["stray_files_created"] = created
    print("\n== Targets ==")
    print("\n".join(summary_lines))
    misses = sum(1 for line in summary_lines if line.strip().startswith("MISS"))
    print(
        f"\n{len(summary_lines) - misses} PASS, {misses} MISS; {elapsed:.0f} s; "
        f"load {meta['loadavg_end'][0]:.2f} at the end"
    )
    if created:
        print(f"WARNING: benchmarks created files outside their temp dirs: {created}")
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(report, f, indent=1, default=str)
    shown = os.path.relpath(args.output)
    print(f"results: {args.output if shown.startswith('..') else shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
