"""A saved notebook shows its traces interactively: run in the browser, save, stop the server,
start a new one (new kernel), reopen. JupyterLab 4 and Notebook 7, headless Chromium.

The trace outputs carry the view's payload under our own MIME type; the renderer extension
(built from ``js/lab/``, linked into each test server's data dir) draws it when the widget model
is gone, instead of "Error displaying widget: model not found".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlflow_trace_nb.display.bundle import TRACE_MIME, WIDGET_MIME
from tests.browser.conftest import (
    open_notebook,
    run_notebook,
    screenshot,
    start_jupyter,
    write_notebook,
)
from tests.browser.test_widget_browser import AGENT, SETUP

SEVERAL = """\
for i in range(4):
    _ = agent(f'question {i}')
try:
    with mlflow.start_span("broken", span_type="CHAIN") as span:
        span.set_inputs({"question": "will this fail?"})
        raise RuntimeError("boom")
except RuntimeError:
    pass
"""

SAVE_JS = "async () => { await window.jupyterapp.commands.execute('docmanager:save'); }"


def _views(page: Any) -> Any:
    return page.locator(".jp-OutputArea [data-testid=trace-view]")


def _saved_outputs(path: Path) -> list[dict[str, Any]]:
    nb = json.loads(path.read_text())
    return [
        out
        for cell in nb["cells"]
        for out in cell.get("outputs", [])
        if TRACE_MIME in out.get("data", {})
    ]


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_reopened_notebook_shows_the_interactive_view(
    app: str, chromium_browser: Any, tmp_path: Path
) -> None:
    base = tmp_path / app
    server = start_jupyter(app, base)
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        write_notebook(server.root_dir, "saved.ipynb", [SETUP, AGENT, SEVERAL])
        run_notebook(page, server, "saved.ipynb")
        # while the kernel that made them runs, the outputs are the live widget
        _views(page).nth(1).locator(".tv-tracerow").first.wait_for()
        assert page.locator(".jp-OutputArea .mtn-renderer").count() == 2
        page.evaluate(SAVE_JS)
    finally:
        context.close()
        server.stop()

    saved = _saved_outputs(server.root_dir / "saved.ipynb")
    assert len(saved) == 2
    assert all(WIDGET_MIME in out["data"] and "text/html" in out["data"] for out in saved)
    assert sum(len(json.dumps(out["data"][TRACE_MIME])) for out in saved) < 2_000_000

    server = start_jupyter(app, base)  # a new server: new kernel, no widget models
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        open_notebook(page, server, "saved.ipynb")
        views = _views(page)
        views.nth(1).locator(".tv-tracerow").first.wait_for()
        assert views.count() == 2
        outputs_text = page.locator(".jp-OutputArea").all_inner_texts()
        assert not [t for t in outputs_text if "Error displaying widget" in t]
        first, several = views.nth(0), views.nth(1)
        assert first.locator(".tv-saved").count() == 1  # drawn from the saved payload

        # tree, collapse/expand, select for detail (the chat span's saved detail)
        names = first.locator(".tv-scroll .tv-name").all_inner_texts()
        assert names[1:] == ["retrieve", "failing_tool", "postprocess", "chat"]
        first.locator(".tv-scroll .tv-row").first.locator(".tv-tog").click()
        assert first.locator(".tv-scroll .tv-name").count() == 1
        first.locator(".tv-scroll .tv-row").first.locator(".tv-tog").click()
        first.locator(".tv-row", has_text="chat").click()
        detail = first.locator(".tv-detail")
        detail.locator(".tv-msg-role", has_text="assistant").wait_for()
        assert "The answer is 42." in detail.locator(".tv-role-assistant").inner_text()
        first.locator(".tv-row", has_text="failing_tool").click()
        assert "ValueError: tool failed" in detail.locator(".tv-exc-title").inner_text()
        screenshot(first, f"saved_{app}_single")

        # five traces: a list with previews and an error marker; search over saved data
        rows = several.locator(".tv-tracerow")
        assert rows.count() == 5
        assert "question 0" in rows.first.locator(".tv-preview").inner_text()
        assert several.locator(".tv-tracerow.tv-has-error").count() == 5
        several.locator(".tv-search").fill("broken")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-OutputArea [data-testid=trace-view]')]"
            "[1].querySelectorAll('.tv-tracerow').length === 1"
        )
        assert several.locator("mark.tv-hit").first.inner_text() == "broken"
        assert "1 of 1 match" in several.locator(".tv-matchinfo").inner_text()
        screenshot(several, f"saved_{app}_search")
        several.locator(".tv-search").fill("")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-OutputArea [data-testid=trace-view]')]"
            "[1].querySelectorAll('.tv-tracerow').length === 5"
        )
        several.locator(".tv-btn", has_text="Collapse all").click()
        assert several.locator(".tv-scroll .tv-row").count() == 5  # only the trace rows
        assert page.evaluate("window.__xss") is None
        assert several.locator("img, script, a, iframe").count() == 0
        assert not [e for e in errors if "schema" not in e], errors
    finally:
        context.close()
        server.stop()
