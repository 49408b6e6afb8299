"""Notebook display benchmark: payload build time, output size, browser time to first paint.

Run: ``python benchmarks/bench_display.py`` (add ``--no-browser`` to skip Chromium).

For traces of 100 / 1,000 / 10,000 spans (a root, steps of 100 spans, leaves with small
inputs/outputs, every 10th leaf an LLM call with token usage) it prints:

- payload build: ``build_payload`` + JSON encoding, for a stored ``Trace`` and for the
  ``LiveTrace`` the cell hook shows (median of 5);
- widget state bytes (the ``payload`` trait) and ``text/html`` bytes (static fallback);
- time to first paint in headless Chromium: a minimal page imports the built
  ``mlflow_trace_nb/_static/trace_view.js`` (``npm run build``)
  and renders the payload with a stand-in model; measured from ``render()`` to the first
  animation frame after the rows exist (median of 3).
"""

from __future__ import annotations

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
from mlflow_trace_nb.display.bundle import static_html  # noqa: E402
from mlflow_trace_nb.display.payload import build_payload  # noqa: E402
from mlflow_trace_nb.runtime import RUNTIME  # noqa: E402

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


def main() -> None:
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


if __name__ == "__main__":
    main()
