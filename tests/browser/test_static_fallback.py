"""The static fallback in a real browser: notebook executed with nbclient, converted with
``jupyter nbconvert --to html`` (offline), opened in headless Chromium.

nbconvert picks the first MIME type of ``display_data_priority`` whose content it can show;
the widget view comes first (when the notebook holds saved state for its model) and would need
the widget manager from a CDN: offline, nothing would show. Our own MIME type is unknown to
nbconvert and skipped. Under nbclient (``jupyter nbconvert --execute``) the kernel's execute
requests allow no stdin, so the bundle leaves the widget view out and ``text/html`` is what the
page shows, with default flags. Notebooks saved by JupyterLab hold no widget state, so a plain
conversion shows the static tree too, and so does ``--ClearMetadataPreprocessor.enabled=True``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, screenshot

HOSTILE = (
    '<img src=x onerror="window.__xss=1"> </script><script>window.__xss=2</script> '
    "javascript:window.__xss=3 {{ 7*7 }} {% if true %}jinja{% endif %}"
)

CELLS = [
    "import mlflow_trace_nb as mlflow\n"
    "mlflow.set_destination('sqlite:///fallback.db')\n"
    "mlflow.enable_notebook_display()",
    f"HOSTILE = {HOSTILE!r}\n"
    "@mlflow.trace(name='leaf ' + HOSTILE, span_type='TOOL')\n"
    "def leaf(x):\n"
    "    raise ValueError(HOSTILE)\n"
    "@mlflow.trace(span_type='CHAIN')\n"
    "def middle(x):\n"
    "    try:\n"
    "        leaf(x)\n"
    "    except ValueError:\n"
    "        pass\n"
    "    return {'answer': HOSTILE}\n"
    "@mlflow.trace(name='agent', span_type='AGENT')\n"
    "def agent(question):\n"
    "    mlflow.set_span_attribute('note', HOSTILE)\n"
    "    return middle(question)\n"
    "agent(HOSTILE)",
    "%load_ext mlflow_trace_nb\n%traces 1",
    # Control: raw HTML with the same vector runs in this page, so the check below can fail.
    "from IPython.display import HTML\nHTML('<img src=x onerror=\"window.__xss_control=1\">')",
]


def _convert(path: Path, *options: str) -> Path:
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", *options, path.name],
        check=True,
        capture_output=True,
        timeout=120,
        cwd=path.parent,
    )
    return path.with_suffix(".html")


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory, chromium_browser: Any) -> Any:
    """The notebook executed as ``jupyter nbconvert --execute`` does (nbclient defaults,
    which save the widget state into the notebook)."""
    import nbformat
    from nbclient import NotebookClient

    folder = tmp_path_factory.mktemp("fallback")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    return folder, nb


def _page_for(route: str, executed: Any) -> Path:
    import nbformat

    folder, nb = executed
    if route == "clear-metadata":  # any saved notebook: drop the saved widget state
        path = folder / "clear_metadata.ipynb"
        nbformat.write(nb, path)
        return _convert(path, "--ClearMetadataPreprocessor.enabled=True")
    # Executed without saved widget state (store_widget_state=False, or saved by
    # JupyterLab with its default settings): a plain conversion.
    path = folder / "no_widget_state.ipynb"
    stripped = nbformat.from_dict(nb)
    stripped.metadata.pop("widgets", None)
    nbformat.write(stripped, path)
    return _convert(path)


@pytest.mark.parametrize("route", ["clear-metadata", "no-widget-state"])
def test_nbconvert_page_shows_the_static_tree(route: str, executed: Any, page: Any) -> None:
    converted = _page_for(route, executed)
    html = converted.read_text(encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"static_fallback_{route}.html").write_text(html, encoding="utf-8")
    assert 'type="application/vnd.jupyter.widget-view+json"' not in html
    # One static tree under the traced cell, one under %traces.
    assert html.count('class="mtn-static') == 2, "the text/html fallback is not what shows"
    page.goto(converted.as_uri())
    traces = page.locator(".mtn-static details.mtn-trace")
    assert traces.count() == 2
    first = page.locator(".mtn-static").first
    assert first.locator("summary .mtn-name", has_text="agent").first.is_visible()
    # Hostile strings are visible as text.
    assert first.get_by_text('<img src=x onerror="window.__xss=1">', exact=False).first.count()
    # Spans at depth >= 2 start closed: click one open and its payload appears.
    closed = first.locator("details.mtn-span.mtn-error").first  # the leaf, depth 2
    assert closed.evaluate("el => el.open") is False
    body = closed.locator(":scope > .mtn-body")
    assert not body.is_visible()
    closed.locator(":scope > summary").click()
    assert closed.evaluate("el => el.open") is True
    assert body.is_visible()
    assert "ValueError" in body.inner_text()
    screenshot(page, f"static_fallback_{route}", full_page=True)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.evaluate("window.__xss_control") == 1  # raw HTML did run: the check works


def test_nbconvert_execute_with_default_flags_shows_the_static_tree(
    tmp_path: Path, page: Any
) -> None:
    """``jupyter nbconvert --to html --execute`` with no other flag, opened offline."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    html = _convert(path, "--execute").read_text(encoding="utf-8")
    (ARTIFACTS / "static_fallback_execute_default.html").write_text(html, encoding="utf-8")
    assert 'type="application/vnd.jupyter.widget-view+json"' not in html
    assert html.count('class="mtn-static') == 2
    page.goto(path.with_suffix(".html").as_uri())
    first = page.locator(".mtn-static").first
    assert first.locator("summary .mtn-name", has_text="agent").first.is_visible()
    screenshot(page, "static_fallback_execute_default", full_page=True)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.evaluate("window.__xss_control") == 1
