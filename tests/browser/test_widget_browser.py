"""The span-tree widget in a real browser: JupyterLab 4 (and Notebook 7), headless Chromium.

Each notebook is executed in the browser session (so outputs are trusted and rendered live,
as a user sees them); screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import (
    JupyterServer,
    open_notebook,
    run_all_cells,
    run_notebook,
    screenshot,
    wait_cells_done,
    write_notebook,
)

SETUP = """\
import mlflow_trace_nb as mlflow
mlflow.set_destination("memory")
mlflow.enable_notebook_display()
"""

AGENT = """\
XSS = [
    '<img src=x onerror="window.__xss=1">',
    '</script><script>window.__xss=2</script>',
    'javascript:window.__xss=3',
    '{{ 7*7 }} ${7*7}',
    '<a href="javascript:window.__xss=4">click me</a>',
]

@mlflow.trace(span_type="RETRIEVER")
def retrieve(query):
    return [{"doc": x, "score": 0.9} for x in XSS]

@mlflow.trace(span_type="TOOL")
def failing_tool(arg):
    raise ValueError('tool failed <img src=x onerror="window.__xss=5">')

@mlflow.trace(span_type="CHAT_MODEL")
def chat(messages):
    mlflow.set_span_chat_tools([{"type": "function", "function": {
        "name": "lookup_weather", "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])
    mlflow.set_span_attribute("mlflow.chat.tokenUsage",
                              {"input_tokens": 120, "output_tokens": 30, "total_tokens": 150})
    return {"choices": [{"message": {"role": "assistant",
            "content": "The answer is 42. " + XSS[0] + " " + XSS[4]}}]}

@mlflow.trace(name='agent <img src=x onerror="window.__xss=6">', span_type="AGENT")
def agent(question):
    docs = retrieve(question)
    try:
        failing_tool(question)
    except ValueError:
        pass
    with mlflow.start_span("postprocess", span_type="PARSER") as span:
        span.set_inputs({"text": XSS[1], "docs": len(docs)})
        span.set_outputs({"ok": True})
    return chat([{"role": "system", "content": "You are terse."},
                 {"role": "user", "content": question + " " + XSS[0]}])

_ = agent("What is the answer?")
"""

CONTROL = """\
from IPython.display import HTML
HTML('<img src=x onerror="window.__xss_control=1">')
"""


def _widget(page: Any) -> Any:
    return page.locator(".jp-OutputArea [data-testid=trace-view]")


def test_tree_detail_search_and_xss(page: Any, jupyter_server: JupyterServer) -> None:
    write_notebook(jupyter_server.root_dir, "agent.ipynb", [SETUP, AGENT, CONTROL])
    run_notebook(page, jupyter_server, "agent.ipynb")
    view = _widget(page).first
    view.locator(".tv-row .tv-name", has_text="retrieve").wait_for()
    # the tree: nested spans, type chips, the error marker, tokens summed to the root
    names = view.locator(".tv-scroll .tv-name").all_inner_texts()
    assert names[0] == 'agent <img src=x onerror="window.__xss=6">'
    assert names[1:] == ["retrieve", "failing_tool", "postprocess", "chat"]
    assert view.locator(".tv-row.tv-error .tv-name").inner_text() == "failing_tool"
    assert "150 tokens" in view.locator(".tv-summary").inner_text()
    assert "1 error" in view.locator(".tv-summary").inner_text()
    screenshot(view, "widget_tree")

    # collapse the root, then expand it again
    view.locator(".tv-scroll .tv-row").first.locator(".tv-tog").click()
    assert view.locator(".tv-scroll .tv-name").count() == 1
    view.locator(".tv-scroll .tv-row").first.locator(".tv-tog").click()
    assert view.locator(".tv-scroll .tv-name").count() == 5

    # select the chat span: conversation, tools, tokens
    view.locator(".tv-row", has_text="chat").click()
    detail = view.locator(".tv-detail")
    detail.locator(".tv-msg-role", has_text="assistant").wait_for()
    assert "The answer is 42." in detail.locator(".tv-role-assistant").inner_text()
    assert "lookup_weather" in detail.locator(".tv-tools").inner_text()
    assert "150 (120 in · 30 out)" in detail.locator(".tv-meta").inner_text()
    screenshot(view, "widget_chat_detail")

    # the failing tool: exception with stack trace
    view.locator(".tv-row", has_text="failing_tool").click()
    detail.locator(".tv-exc-title").wait_for()
    assert "ValueError: tool failed" in detail.locator(".tv-exc-title").inner_text()
    assert "Traceback" in detail.locator(".tv-stack").inner_text()
    screenshot(view, "widget_error_detail")

    # search by name, then by content only the kernel can see in full
    view.locator(".tv-search").fill("retr")
    page.wait_for_function(
        "() => document.querySelectorAll('.tv-scroll .tv-row.tv-match').length === 1"
    )
    view.locator(".tv-search").fill("terse")  # the system message of the chat span
    page.wait_for_function(
        "() => [...document.querySelectorAll('.tv-scroll .tv-row.tv-match .tv-name')]"
        ".map(e => e.textContent).join() === 'chat'"
    )
    view.locator(".tv-search").fill("")

    # nothing from span content executed; the raw-HTML control cell did
    page.wait_for_function("() => window.__xss_control === 1")
    assert page.evaluate("window.__xss") is None
    assert view.locator("img, script, a, iframe").count() == 0
    errors = [e for e in page.console_errors if "schema" not in e]
    assert not [e for e in errors if "trace_view" in e], errors


LARGE = """\
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
    return "done " + "x" * 20000

big()
"""


def test_ten_thousand_spans_render_and_stay_responsive(
    page: Any, jupyter_server: JupyterServer
) -> None:
    write_notebook(jupyter_server.root_dir, "big.ipynb", [SETUP, LARGE])
    run_notebook(page, jupyter_server, "big.ipynb")
    view = _widget(page).first
    view.locator(".tv-row .tv-name", has_text="step").first.wait_for()
    assert "10,001 spans" in view.locator(".tv-summary").inner_text()
    # virtualised: only the rows in view exist in the DOM
    assert view.locator(".tv-scroll .tv-row").count() < 100
    view.locator(".tv-btn", has_text="Expand all").click()
    started = page.evaluate("performance.now()")
    scroller = view.locator(".tv-scroll")
    scroller.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.tv-scroll .tv-name')].some("
        "e => e.textContent === 'leaf')"
    )
    # the page answers quickly after expanding 10,000 rows and scrolling to the end
    elapsed = page.evaluate("performance.now()") - started
    assert elapsed < 5000
    view.locator(".tv-scroll .tv-row", has_text="leaf").last.click()
    view.locator(".tv-detail .tv-d-name", has_text="leaf").wait_for()  # fetched on demand
    # the root's big output is a preview; the full value comes from the kernel
    view.locator(".tv-btn", has_text="Collapse all").click()
    view.locator(".tv-scroll .tv-row").first.click()
    view.locator(".tv-detail .tv-link", has_text="Load full value").click()
    # the full 20,005-char string replaces the preview, as folded text (expandable in place)
    view.locator(".tv-detail .tv-note", has_text="Preview").wait_for(state="detached")
    outputs = view.locator(".tv-detail [data-section=outputs]")
    assert "Show all" in outputs.inner_text() and "done xxx" in outputs.inner_text()
    screenshot(view, "widget_10k")


LIVE = """\
import time

@mlflow.trace(span_type="TOOL")
def tick(i):
    time.sleep(0.3)
    return i

@mlflow.trace(name="long_job", span_type="CHAIN")
def long_job():
    for i in range(15):
        tick(i)

long_job()
"""


def test_live_update_while_the_cell_runs(page: Any, jupyter_server: JupyterServer) -> None:
    write_notebook(jupyter_server.root_dir, "live.ipynb", [SETUP, LIVE])
    open_notebook(page, jupyter_server, "live.ipynb")
    run_all_cells(page, wait=False)
    view = _widget(page).first
    # while the cell runs ("[*]" prompt): the root is marked running, finished ticks listed
    page.wait_for_function(
        """() => {
          const rows = document.querySelectorAll('.jp-OutputArea .tv-scroll .tv-row');
          const running = [...rows].some(r => r.classList.contains('tv-running')
              && r.textContent.includes('long_job'));
          const busy = [...document.querySelectorAll('.jp-InputArea-prompt')].some(
              p => p.textContent.includes('[*]'));
          return running && rows.length >= 3 && busy;
        }""",
        timeout=30_000,
        polling=50,
    )
    screenshot(view, "widget_live_running")
    wait_cells_done(page)
    # settled: no running marker, all 16 spans, one output for the cell
    page.wait_for_function(
        "() => document.querySelectorAll('.tv-scroll .tv-row.tv-running').length === 0"
    )
    assert "16 spans" in view.locator(".tv-summary").inner_text()
    assert _widget(page).count() == 1
    screenshot(view, "widget_live_settled")


def test_notebook7_renders_the_tree(page: Any, notebook7_server: JupyterServer) -> None:
    several = "for i in range(3):\n    _ = agent(f'question {i}')"
    write_notebook(notebook7_server.root_dir, "nb7.ipynb", [SETUP, AGENT, several])
    run_notebook(page, notebook7_server, "nb7.ipynb")
    view = _widget(page).first
    view.locator(".tv-row .tv-name", has_text="chat").wait_for()
    view.locator(".tv-row", has_text="chat").click()
    view.locator(".tv-detail .tv-msg-role", has_text="assistant").wait_for()
    assert page.evaluate("window.__xss") is None
    screenshot(view, "widget_notebook7")
    # a cell making three traces: one output, one header row per trace
    assert _widget(page).count() == 2
    several_view = _widget(page).nth(1)
    assert several_view.locator(".tv-tracerow").count() == 3
    assert "3 traces" in several_view.locator(".tv-summary").inner_text()
    screenshot(several_view, "widget_three_traces")


MANY = """\
@mlflow.trace
def step(i):
    return {"i": i, "answer": "run " + RUN + " <img src=x onerror=\\"window.__xss=7\\">"}

for i in range(13):
    step(i)
"""


def test_show_more_and_compare_with_the_previous_run(
    page: Any, jupyter_server: JupyterServer
) -> None:
    # the set-up runs once: set_destination("memory") again would start an empty store
    indented = "".join("    " + line + "\n" for line in SETUP.splitlines())
    once = "if 'NEXT' not in globals():\n" + indented
    cells = [once, "RUN = globals().get('NEXT', 'one')", MANY, "NEXT = 'two'"]
    write_notebook(jupyter_server.root_dir, "many.ipynb", cells)
    run_notebook(page, jupyter_server, "many.ipynb")
    run_all_cells(page, wait=True)  # again: cell 3 now has a previous run (RUN was 'one')
    wait_cells_done(page)
    view = _widget(page).first
    footer = view.locator(".tv-footer")
    assert "Showing 10 of 13 traces" in footer.inner_text()
    footer.locator(".tv-more").click()
    page.wait_for_function(
        "() => document.querySelectorAll('.jp-OutputArea .tv-scroll .tv-tracerow').length === 13"
    )
    assert view.locator(".tv-footer").is_hidden()
    screenshot(view, "widget_show_more")

    view.locator(".tv-scroll .tv-tracerow").first.click()
    compare = view.locator(".tv-detail .tv-cmp-btn")
    compare.click()
    page.wait_for_function(
        "() => !document.querySelector('.tv-cmp-out').textContent.includes('Comparing')"
    )
    assert view.locator(".tv-cmp-table").count() == 1, view.locator(".tv-cmp-out").inner_text()
    assert "1 of 1 span paths changed" in view.locator(".tv-cmp-head").inner_text()
    view.locator(".tv-cmp-diff .tv-link").first.click()
    diff = view.locator(".tv-cmp-pre").first.inner_text()
    assert "run one" in diff and "run two" in diff
    screenshot(view, "widget_compare")
    assert page.evaluate("window.__xss") is None
