"""First paint of a reopened trace output: a notebook whose cell made a 10,001-span trace,
executed and saved, opened in JupyterLab 4 with a fresh kernel (headless Chromium).

Run: ``python benchmarks/bench_saved_view.py`` (needs ``npm run build``, Chromium, JupyterLab).

Prints, per page load (median of 3 loads):

- ``draw``: the renderer's own synchronous work (decode the saved payload, build the view);
- ``paint``: the time from ``renderModel`` to the second animation frame after
  the saved view's rows exist (``data-paint-ms`` on the output);
- ``visible``: from navigation start to the rows being in the page (JupyterLab's own start-up
  included);
- the size of the saved output (our MIME type, ``text/html``).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mlflow_trace_nb.display.bundle import TRACE_MIME  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, start_jupyter  # noqa: E402

CELLS = [
    "import mlflow_trace_nb as mlflow\nmlflow.set_destination('memory')\n"
    "mlflow.enable_notebook_display()",
    """\
@mlflow.trace
def leaf(i):
    return {"i": i, "text": "payload " * 20}

@mlflow.trace(span_type="CHAIN")
def step(i):
    for j in range(99):
        leaf(j)

@mlflow.trace(name="big", span_type="AGENT")
def big():
    for i in range(100):
        step(i)
    return "done"

big()
""",
]


def make_notebook(folder: Path) -> Path:
    """The notebook, executed with nbclient and saved (what a reopened notebook holds)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    path = folder / "big.ipynb"
    nbformat.write(nb, path)
    return path


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="mtnb-bench-") as tmp:
        base = Path(tmp)
        (base / "root").mkdir()
        path = make_notebook(base / "root")
        outputs = json.loads(path.read_text())["cells"][1]["outputs"]
        data = next(o["data"] for o in outputs if TRACE_MIME in o.get("data", {}))
        sizes = {k: len(json.dumps(v)) for k, v in data.items()}
        server = start_jupyter("lab", base)
        paints, draws, visible = [], [], []
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                for _ in range(3):
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    page.goto(server.notebook_url("big.ipynb"))
                    page.wait_for_selector(".mtn-renderer[data-paint-ms] .tv-row", timeout=120_000)
                    renderer = page.locator(".mtn-renderer").first
                    paints.append(float(renderer.get_attribute("data-paint-ms")))
                    draws.append(float(renderer.get_attribute("data-draw-ms")))
                    visible.append(page.evaluate("performance.now()"))
                    assert "10,001 spans" in page.locator(".tv-summary").first.inner_text()
                    page.close()
                browser.close()
        finally:
            server.stop()
    print(f"saved output: {sizes}")
    print(
        f"draw (renderModel -> view built, synchronous): {draws} ms, "
        f"median {statistics.median(draws)}"
    )
    print(f"paint (renderModel -> rows painted): {paints} ms, median {statistics.median(paints)}")
    print(
        f"visible (navigation -> rows, incl. JupyterLab start): median "
        f"{statistics.median(visible):.0f} ms"
    )


if __name__ == "__main__":
    main()
