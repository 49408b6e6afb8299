"""Notebook display benchmark: payload build time, output size, browser time to first paint.

Run: ``python benchmarks/bench_display.py`` (add ``--no-browser`` to skip Chromium,
``--cells-only`` to run only the per-cell cases below).

For traces of 100 / 1,000 / 10,000 spans (a root, steps of 100 spans, leaves with small
inputs/outputs, every 10th leaf an LLM call with token usage) it prints:

- payload build: ``build_payload`` + JSON encoding, for a stored ``Trace`` and for the
  ``LiveTrace`` the cell hook shows (median of 5);
- widget state bytes (the ``payload`` trait) and ``text/html`` bytes (static fallback);
- time to first paint in headless Chromium: a minimal page imports the built
  ``mlflow_trace_nb/_static/trace_view.js`` (``npm run build``)
  and renders the payload with a stand-in model; measured from ``render()`` to the first
  animation frame after the rows exist (median of 3).

Per-cell cases, on a real IPython ``InteractiveShell`` (display publisher captured, the
widget made for real), display off vs on, alternating, median of 5:

- cells making 2,000 / 5,000 / 20,000 one-span traces (the display must stay linear in
  traces per cell and add <= 10% at 20,000);
- a cell making one 5,000-span trace, and the final static HTML (``text/html``) of that
  cell built alone (``static_html`` on the live trace, median of 5; target <= 100 ms).
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import mlflow_trace_nb as mlflow  # noqa: E402
from mlflow_trace_nb._internal.runtime import RUNTIME  # noqa: E402
from mlflow_trace_nb.display.bundle import static_html  # noqa: E402
from mlflow_trace_nb.display.live import CellView  # noqa: E402
from mlflow_trace_nb.display.payload import build_payload  # noqa: E402

SIZES = (100, 1_000, 10_000)
CHROMIUM = "/usr/bin/chromium"


def make_trace(n_spans: int) -> tuple[Any, Any]:
    """A stored trace and the live trace object of ``n_spans`` spans."""

    @mlflow.trace(span_type="TOOL")
    def leaf(i: int) -> dict[str, Any]:
        if i % 10 == 0:
            mlflow.set_span_attribute(
                "mlflow.chat.tokenUsage",
                {"input_tokens": 100, "output_tokens": 20, "total_tokens": 120},
            )
        return {"i": i, "answer": f"result number {i}", "ok": True}

    @mlflow.trace(span_type="CHAIN")
    def step(first: int, count: int) -> None:
        for i in range(first, first + count):
            leaf(i)

    @mlflow.trace(name="bench_root", span_type="AGENT")
    def root(total: int) -> str:
        remaining, index = total - 1, 0
        while remaining > 0:
            count = min(99, remaining - 1) if remaining > 1 else 0
            step(index, count)
            remaining -= count + 1
            index += count
        return "done"

    root(n_spans)
    live = RUNTIME.last_trace
    mlflow.flush()
    stored = mlflow.get_last_active_trace()
    assert stored is not None and len(stored.spans) == n_spans, len(stored.spans)
    return stored, live


def time_build(trace: Any, repeat: int = 5) -> tuple[float, str]:
    times, text = [], ""
    for _ in range(repeat):
        started = time.perf_counter()
        text = json.dumps(build_payload([trace]), ensure_ascii=False, separators=(",", ":"))
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, text


_PAGE_JS = """async ([source, payload]) => {
  const url = URL.createObjectURL(new Blob([source], {type: 'text/javascript'}));
  const mod = await import(url);
  const listeners = {};
  const model = {
    get: (name) => name === 'payload' ? payload : undefined,
    on: (ev, cb) => { (listeners[ev] = listeners[ev] || []).push(cb); },
    off: () => {},
    send: () => {},
  };
  const el = document.createElement('div');
  document.body.replaceChildren(el);
  const started = performance.now();
  mod.default.render({model, el});
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  const rows = el.querySelectorAll('.tv-scroll .tv-row').length;
  return [performance.now() - started, rows];
}"""


def browser_paint_ms(payloads: dict[int, str]) -> dict[int, float]:
    """Median time to first paint per size, in a minimal page hosting the ESM."""
    from playwright.sync_api import sync_playwright

    source = (REPO / "mlflow_trace_nb" / "_static" / "trace_view.js").read_text()
    css = (REPO / "mlflow_trace_nb" / "_static" / "trace_view.css").read_text()
    results: dict[int, float] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_content(f"<html><head><style>{css}</style></head><body></body></html>")
        for size, payload in payloads.items():
            times = []
            for _ in range(3):
                elapsed, rows = page.evaluate(_PAGE_JS, [source, payload])
                assert rows > 0, "nothing rendered"
                times.append(elapsed)
            results[size] = statistics.median(times)
        if (REPO / "test-artifacts").is_dir():
            page.screenshot(path=str(REPO / "test-artifacts" / "bench_display_10k.png"))
        browser.close()
    return results


def _shell() -> Any:
    from IPython.core.displaypub import CapturingDisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    from mlflow_trace_nb.display.cell_flush import register_cell_flush
    from mlflow_trace_nb.display.cell_tags import register_cell_tags

    shell = InteractiveShell.instance()
    shell.display_pub = CapturingDisplayPublisher()
    register_cell_flush()  # as importing the package inside a notebook does
    register_cell_tags()
    shell.run_cell(
        "import mlflow_trace_nb as mlflow\n"
        "@mlflow.trace\ndef one(x):\n    return x\n"
        "@mlflow.trace(span_type='TOOL')\ndef leaf(i):\n    return {'i': i, 'text': 'r' * 40}\n"
        "@mlflow.trace(name='big', span_type='AGENT')\n"
        "def big(n):\n    for i in range(n - 1):\n        leaf(i)\n"
    )
    return shell


def _cell_seconds(shell: Any, code: str, display: bool) -> tuple[float, float]:
    """(wall, CPU) seconds of one cell run; CPU counts every thread of the process."""
    if display:
        mlflow.enable_notebook_display()
    else:
        mlflow.disable_notebook_display()
    shell.display_pub.outputs.clear()
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    shell.run_cell(code)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if display:
        assert shell.display_pub.outputs, "the cell showed nothing"
    mlflow.disable_notebook_display()
    return elapsed, cpu


def _off_on(shell: Any, code: str, repeat: int = 5) -> tuple[tuple[float, float], ...]:
    """(wall, CPU) medians with the display off, then on, then the best (lowest) of each;
    runs alternate."""
    off, on = [], []
    for _ in range(repeat):
        off.append(_cell_seconds(shell, code, False))
        on.append(_cell_seconds(shell, code, True))
    medians = tuple(
        (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
        for runs in (off, on)
    )
    best = tuple((min(r[0] for r in runs), min(r[1] for r in runs)) for runs in (off, on))
    return medians + best


def _row(label: str, off: tuple[float, float], on: tuple[float, float], count: int) -> str:
    wall = (on[0] - off[0]) / off[0] * 100
    cpu = (on[1] - off[1]) / off[1] * 100
    per = f"{(on[1] - off[1]) / count * 1e6:>+7.1f} us" if count > 1 else ""
    return (
        f"{label:>24} | {off[0] * 1000:>6.0f} / {off[1] * 1000:>5.0f} ms | "
        f"{on[0] * 1000:>6.0f} / {on[1] * 1000:>5.0f} ms | {wall:>+6.1f}% | {cpu:>+6.1f}% | {per}"
    )


def _hook_cost_us(count: int = 20_000) -> float:
    """CPU microseconds the display's tracer hooks take per one-span trace (called
    directly on a cell view, as the tracer calls them)."""
    from mlflow_trace_nb._internal.tracer.live_span import LiveTrace
    from mlflow_trace_nb.display import _CellDisplay

    display = _CellDisplay(shell=None)
    display._cell = CellView()
    traces = [LiveTrace("0") for _ in range(count)]
    for trace in traces:
        trace.closed = True
    started = time.process_time()
    for trace in traces:
        display.on_trace_start(trace)
        display.on_span_end(None)  # type: ignore[arg-type]
        display.on_trace_end(trace)
    elapsed = time.process_time() - started
    assert len(display._cell.traces) <= 10 and display._cell.completed == count
    return elapsed / count * 1e6


def cell_cases() -> None:
    """Print the per-cell display figures (see the module docstring)."""
    from mlflow_trace_nb.display.static_html import render_static_html

    shell = _shell()
    print(
        f"{'cell':>24} | {'off: wall / CPU':>17} | {'on: wall / CPU':>17} | "
        f"{'+wall':>7} | {'+CPU':>7} | CPU per trace"
    )
    print("-" * 104)
    for count in (2_000, 5_000, 20_000):
        off, on, best_off, best_on = _off_on(shell, f"for i in range({count}):\n    one(i)")
        print(_row(f"{count:,} traces x 1 span", off, on, count))
        print(_row("(best of 5)", best_off, best_on, count))
    off, on, best_off, best_on = _off_on(shell, "big(5000)")
    print(_row("1 trace x 5,000 spans", off, on, 1))
    print(_row("(best of 5)", best_off, best_on, 1))
    print(f"\ndisplay hooks alone: {_hook_cost_us():.2f} us CPU per one-span trace")
    shell.run_cell("big(5000)")
    live = RUNTIME.last_trace
    times, cpus = [], []
    page = ""
    for _ in range(5):
        started, cpu = time.perf_counter(), time.process_time()
        page = render_static_html([live])  # what the cell's final output holds
        times.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    print(
        f"\nstatic HTML of the 5,000-span cell (final text/html, built once per output, "
        f"from the live trace), median of 5: wall {statistics.median(times) * 1000:.0f} ms "
        f"(best {min(times) * 1000:.0f}), CPU {statistics.median(cpus) * 1000:.0f} ms "
        f"(best {min(cpus) * 1000:.0f}), {len(page.encode()) / 1024:.0f} KB"
    )
    print("CPU = time.process_time() (all threads of the process: the live-view thread too).")


def main() -> None:
    if "--cells-only" in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            mlflow.set_destination(f"sqlite:///{tmp}/bench.db")
            cell_cases()
            mlflow.reset()
        return
    with_browser = "--no-browser" not in sys.argv and Path(CHROMIUM).exists()
    with tempfile.TemporaryDirectory() as tmp:
        mlflow.set_destination(f"sqlite:///{tmp}/bench.db")
        rows = []
        payloads: dict[int, str] = {}
        for size in SIZES:
            stored, live = make_trace(size)
            stored_ms, text = time_build(stored)
            live_ms, _ = time_build(live)
            html = static_html([stored]) or ""
            payloads[size] = text
            rows.append((size, stored_ms, live_ms, len(text.encode()), len(html.encode())))
        paint = browser_paint_ms(payloads) if with_browser else {}
        mlflow.reset()
    header = (
        f"{'spans':>7} | {'build stored':>12} | {'build live':>10} | {'widget state':>12} | "
        f"{'text/html':>10} | {'first paint':>11}"
    )
    print(header)
    print("-" * len(header))
    for size, stored_ms, live_ms, state, html_bytes in rows:
        shown = f"{paint[size]:.0f} ms" if size in paint else "n/a"
        print(
            f"{size:>7,} | {stored_ms:>9.1f} ms | {live_ms:>7.1f} ms | {state / 1024:>9.1f} KB | "
            f"{html_bytes / 1024:>7.1f} KB | {shown:>11}"
        )
    print("\nbuild = build_payload + json.dumps (median of 5); first paint = render() to the")
    print("second animation frame in headless Chromium with the real ESM (median of 3).")
    ratio = rows[-1][1] / max(rows[0][1], 1e-9)
    print(f"10,000 vs 100 spans build-time ratio: {ratio:.0f}x for {SIZES[-1] // SIZES[0]}x spans")
    print()
    with tempfile.TemporaryDirectory() as tmp:
        mlflow.set_destination(f"sqlite:///{tmp}/cells.db")
        cell_cases()
        mlflow.reset()


if __name__ == "__main__":
    main()
