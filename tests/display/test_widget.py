"""The anywidget class: assets, payload trait and the messages it answers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.display import payload as pl
from mlflow_trace_nb.display.widget import TraceWidget, asset_path
from tests.helpers import last_trace


def _make() -> tuple[TraceWidget, list[dict[str, Any]]]:
    @mlflow.trace(span_type="RETRIEVER")
    def retrieve(q: str) -> list[str]:
        return ["doc about " + q]

    @mlflow.trace
    def root(q: str) -> str:
        retrieve(q)
        return "x" * (pl.PREVIEW_CHARS * 2)

    root("needle")
    widget = TraceWidget([last_trace()])
    sent: list[dict[str, Any]] = []
    widget.send = sent.append  # capture replies (no front end in a unit test)
    return widget, sent


REPO = Path(__file__).resolve().parents[2]


def test_assets_are_the_built_front_end() -> None:
    js, css = asset_path("trace_view.js"), asset_path("trace_view.css")
    text = js.read_text()
    assert js.name == "trace_view.js" and re.search(r"export\s*\{[^}]*\bas default\b", text)
    assert ".tv-root" in css.read_text()
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert forbidden not in text


def test_front_end_sources_write_text_only() -> None:
    sources = [p for p in (REPO / "js").rglob("*.js") if "test" not in p.parts]
    assert len(sources) > 5
    for path in sources:
        code = [ln for ln in path.read_text().splitlines() if not ln.lstrip().startswith("//")]
        for forbidden in (
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
        ):
            assert not [line for line in code if forbidden in line], (path, forbidden)


def test_payload_trait_is_compact_json() -> None:
    widget, _ = _make()
    payload = json.loads(widget.payload)
    assert payload["traces"][0]["name"] == "root"
    assert " " not in widget.payload.split('"strings"')[0].replace('"root"', "")
    assert repr(widget) == "TraceWidget(1 trace(s))"


def test_widget_answers_detail_value_and_search_messages() -> None:
    widget, sent = _make()
    widget._on_message(widget, {"kind": "detail", "t": 0, "s": 1, "seq": 1}, [])
    assert sent[-1]["kind"] == "detail" and sent[-1]["detail"]["name"] == "retrieve"
    widget._on_message(widget, {"kind": "value", "t": 0, "s": 0, "field": "outputs", "seq": 2}, [])
    assert json.loads(sent[-1]["text"]) == "x" * (pl.PREVIEW_CHARS * 2)
    widget._on_message(widget, {"kind": "search", "q": "NEEDLE", "seq": 3}, [])
    assert sent[-1] == {"kind": "search", "seq": 3, "q": "NEEDLE", "hits": {"0": [0, 1]}}


def test_bad_messages_get_an_error_reply_not_an_exception() -> None:
    widget, sent = _make()
    widget._on_message(widget, {"kind": "detail", "t": 5, "s": 0, "seq": 4}, [])
    assert sent[-1] == {"kind": "error", "seq": 4}
    widget._on_message(widget, {"kind": "value", "t": 0, "s": 0, "field": "nope", "seq": 5}, [])
    assert sent[-1] == {"kind": "error", "seq": 5}
    widget._on_message(widget, "not a dict", [])
    assert sent[-1]["kind"] == "error"


def test_set_traces_redraws() -> None:
    widget, _ = _make()
    first = widget.traces[0]
    mlflow.trace(len)("abc")
    widget.set_traces([first, last_trace()], more=2)
    payload = json.loads(widget.payload)
    assert [t["name"] for t in payload["traces"]] == ["root", "len"]
    assert payload["more"] == 2
