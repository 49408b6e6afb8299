"""The built view module in a bare Chromium page (no Jupyter): layout at several widths,
contrast and text size in light and dark themes, live ticking and detail updates, and
hostile strings in every field the view draws. The model is a stand-in with no kernel."""

from __future__ import annotations

import contextlib
import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.display.payload import build_payload
from mlflow_trace_nb.display.widget import asset_path
from tests.browser.conftest import screenshot

XSS = '<img src=x onerror="window.__xss=1">'
DARK = (
    "--jp-layout-color0:#111111;--jp-layout-color1:#212121;--jp-layout-color2:#424242;"
    "--jp-ui-font-color1:rgba(255,255,255,0.87);--jp-ui-font-color2:rgba(255,255,255,0.54);"
    "--jp-border-color2:#424242;--jp-brand-color1:#42a5f5;background:#111111"
)
LIGHT = (
    "--jp-layout-color0:#ffffff;--jp-layout-color1:#ffffff;--jp-layout-color2:#eeeeee;"
    "--jp-ui-font-color1:rgba(0,0,0,0.87);--jp-ui-font-color2:rgba(0,0,0,0.54);"
    "--jp-border-color2:#e0e0e0;--jp-brand-color1:#1976d2;background:#ffffff"
)

RENDER_JS = """async ([src, payload]) => {
  const url = URL.createObjectURL(new Blob([src], {type: 'text/javascript'}));
  const mod = await import(url);
  const listeners = [];
  window.__payload = payload;
  const model = {
    get: () => window.__payload,
    on: (name, cb) => { if (name === 'change:payload') listeners.push(cb); },
    off() {},
    send() { throw new Error('no kernel'); },
  };
  window.__setPayload = (p) => { window.__payload = p; listeners.forEach((cb) => cb()); };
  const el = document.createElement('div');
  document.body.replaceChildren(el);
  mod.default.render({model, el});
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
}"""

CONTRAST_JS = (Path(__file__).parent / "contrast.js").read_text()


@pytest.fixture(scope="module")
def payload() -> dict[str, Any]:
    mlflow.set_destination("memory")

    @mlflow.trace(span_type="RETRIEVER")
    def retrieve(q: str) -> list[dict[str, Any]]:
        return [
            {"page_content": "Paris " + XSS, "metadata": {"source": "wiki/" + XSS, "score": 0.9}},
            {"page_content": "Berlin", "id": "doc-2", "score": 0.5},
        ]

    @mlflow.trace(span_type="TOOL")
    def tool(x: str) -> None:
        raise ValueError("tool failed " + XSS)

    @mlflow.trace(name="chat " + XSS, span_type="CHAT_MODEL")
    def chat(messages: list[dict[str, str]], model: str = "model " + XSS) -> dict[str, Any]:
        return {"choices": [{"message": {"role": "assistant", "content": "Answer " + XSS}}]}

    @mlflow.trace(span_type="AGENT")
    def agent(question: str) -> str:
        mlflow.update_current_trace(tags={"tag " + XSS: "value " + XSS})
        retrieve(question)
        with contextlib.suppress(ValueError):
            tool(question)
        system = {"role": "system", "content": "Be terse. " * 500}
        chat([system, {"role": "user", "content": question}])
        return "done " + XSS

    traces = []
    for i in range(3):
        agent(f"question {i} {XSS}")
        traces.append(mlflow.get_last_active_trace())
    return build_payload(traces)


@pytest.fixture
def view_page(chromium_browser: Any) -> Iterator[Any]:
    context = chromium_browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def _render(page: Any, payload: Any, style: str = LIGHT, width: int = 1300) -> None:
    css = asset_path("trace_view.css").read_text()
    dark = 'data-jp-theme-light="false"' if style == DARK else ""
    page.set_viewport_size({"width": width, "height": 900})
    page.set_content(
        f'<html><head><style>{css}</style></head><body {dark} style="{style}"></body></html>'
    )
    page.evaluate(RENDER_JS, [asset_path("trace_view.js").read_text(), json.dumps(payload)])


def _click_row(page: Any, text: str) -> None:
    page.locator(".tv-scroll .tv-row", has_text=text).first.click()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_contrast_and_text_size(view_page: Any, payload: Any, theme: str) -> None:
    style = LIGHT if theme == "light" else DARK
    _render(view_page, payload, style)
    checked = []
    for row in ("question 0", "tool", "chat", "retrieve"):
        _click_row(view_page, row)
        found = view_page.evaluate(CONTRAST_JS)
        checked.append(found)
        assert not found["bad"], found["bad"]
        assert not found["small"], found["small"]
    screenshot(view_page, f"view_{theme}")


def test_hostile_strings_stay_text_in_every_field(view_page: Any, payload: Any) -> None:
    _render(view_page, payload)
    for row in ("question 0", "retrieve", "tool", "chat"):
        _click_row(view_page, row)
    view_page.locator(".tv-search").fill("img")
    view_page.wait_for_function("() => document.querySelectorAll('mark.tv-hit').length > 0")
    text = view_page.locator(".tv-root").inner_text()
    assert "onerror" in text  # drawn, as text
    assert view_page.evaluate("window.__xss") is None
    assert view_page.locator(".tv-root img, .tv-root a, .tv-root script").count() == 0
    # control: the same vector as markup runs in this page, so the check above can fail
    view_page.evaluate(
        "() => { const d = document.createElement('div');"
        " d.innerHTML = '<img src=x onerror=\"window.__xss_control=1\">';"
        " document.body.append(d); }"
    )
    view_page.wait_for_function("() => window.__xss_control === 1")


def test_conversation_documents_and_model(view_page: Any, payload: Any) -> None:
    _render(view_page, payload)
    chat_row = view_page.locator(".tv-scroll .tv-row", has_text="chat").first
    assert "model <img" in chat_row.locator(".tv-model").inner_text()  # model on the row
    chat_row.click()
    detail = view_page.locator(".tv-detail")
    answer = detail.locator(".tv-role-assistant")
    assert answer.is_visible() and "Answer" in answer.inner_text()
    box = answer.bounding_box()
    pane = detail.bounding_box()
    assert box["y"] + box["height"] <= pane["y"] + pane["height"]  # no scrolling to the answer
    system = detail.locator(".tv-role-system")
    assert "Show all" in system.inner_text()
    system.locator(".tv-fold").click()
    assert "Show less" in system.inner_text()
    _click_row(view_page, "retrieve")
    cards = detail.locator(".tv-doc")
    assert cards.count() == 2
    assert "score 0.9" in cards.first.inner_text() and "wiki/" in cards.first.inner_text()
    _click_row(view_page, "tool")
    assert detail.locator(".tv-exc-title").count() == 1  # the exception once
    assert detail.locator("[data-section=events]").count() == 0
    screenshot(view_page, "view_documents")


@pytest.mark.parametrize("width", [1300, 900, 640])
def test_layout_fits_the_output_width(view_page: Any, payload: Any, width: int) -> None:
    _render(view_page, payload, width=width)
    root = view_page.locator(".tv-root")
    tree = view_page.locator(".tv-tree").bounding_box()
    detail = view_page.locator(".tv-detail").bounding_box()
    narrow = "tv-narrow" in (root.get_attribute("class") or "")
    assert narrow == (root.bounding_box()["width"] < 700)
    if narrow:
        assert detail["y"] >= tree["y"] + tree["height"] - 1  # stacked below the tree
    else:
        assert detail["x"] >= tree["x"] + tree["width"] - 1  # beside it
        assert detail["x"] + detail["width"] <= width  # on screen
    # selection resets the detail's scroll
    _click_row(view_page, "chat")
    view_page.locator(".tv-detail").evaluate("el => { el.scrollTop = 400; }")
    _click_row(view_page, "tool")
    assert view_page.locator(".tv-detail").evaluate("el => el.scrollTop") == 0
    screenshot(view_page, f"view_width_{width}")


def test_divider_resizes_the_panes(view_page: Any, payload: Any) -> None:
    _render(view_page, payload)
    before = view_page.locator(".tv-tree").bounding_box()["width"]
    handle = view_page.locator(".tv-divider").bounding_box()
    view_page.mouse.move(handle["x"] + 2, handle["y"] + 50)
    view_page.mouse.down()
    view_page.mouse.move(handle["x"] - 250, handle["y"] + 50, steps=5)
    view_page.mouse.up()
    assert view_page.locator(".tv-tree").bounding_box()["width"] < before - 150


def test_live_times_tick_and_the_detail_follows_updates(view_page: Any, payload: Any) -> None:
    live = copy.deepcopy(payload)
    live["traces"] = live["traces"][:1]
    trace = live["traces"][0]
    trace["running"], trace["status"] = True, "RUNNING"
    trace["start_ns"] = time.time_ns() - 2_000_000_000
    trace["total_us"] = 2_000_000
    strings = trace["strings"]
    strings.append("RUNNING")
    trace["cols"]["status"][0] = len(strings) - 1
    trace["cols"]["dur"][0] = -1
    _render(view_page, live)
    root_dur = view_page.locator(".tv-scroll .tv-row").first.locator(".tv-c-dur")
    first = root_dur.inner_text()
    view_page.wait_for_function(
        "(t) => document.querySelector('.tv-scroll .tv-row .tv-c-dur').textContent !== t",
        arg=first,
        timeout=5000,
    )
    # the selected span's detail shows the new snapshot when the payload changes
    _click_row(view_page, "retrieve")
    index = next(i for i, n in enumerate(trace["cols"]["name"]) if strings[n] == "retrieve")
    changed = copy.deepcopy(live)
    detail = changed["traces"][0]["details"][str(index)]
    changed["traces"][0]["cols"]["status"][index] = len(strings) - 1
    detail["outputs"] = {"j": {"update": "second snapshot"}}
    view_page.evaluate("(p) => window.__setPayload(p)", json.dumps(changed))
    view_page.locator(".tv-detail", has_text="second snapshot").wait_for()
