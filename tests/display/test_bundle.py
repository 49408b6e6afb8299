"""The MIME bundle (widget view + static HTML + plain text) and show_traces."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.displaypub import CapturingDisplayPublisher
from IPython.core.interactiveshell import InteractiveShell

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.display.bundle import (
    TRACE_MIME,
    WIDGET_MIME,
    plain_text,
    saved_payload,
    show_traces,
    trace_bundle,
)
from tests.helpers import last_trace

XSS = '<img src=x onerror="window.__xss=1">'


@mlflow.trace(span_type="CHAT_MODEL")
def _llm(prompt: str) -> str:
    mlflow.set_span_attribute(
        "mlflow.chat.tokenUsage", {"input_tokens": 1000, "output_tokens": 234, "total_tokens": 1234}
    )
    return prompt


@mlflow.trace(name="agent")
def _agent(prompt: str) -> str:
    with contextlib.suppress(ZeroDivisionError):
        mlflow.trace(name="fails")(lambda: 1 / 0)()
    return _llm(prompt)


def test_bundle_has_widget_html_and_plain_text() -> None:
    _agent(XSS)
    bundle = trace_bundle([last_trace()], more=4)
    assert bundle["text/plain"] == (
        "Trace 'agent': OK, 3 spans, 1 error, 1,234 tokens\n... and 4 more traces"
    )
    assert set(bundle[WIDGET_MIME]) == {"version_major", "version_minor", "model_id"}
    html = bundle["text/html"]
    assert XSS not in html and "<script" not in html.lower()


def test_plain_text_is_deterministic() -> None:
    _agent("a")
    first = plain_text([last_trace()])
    _agent("a")
    assert plain_text([last_trace()]) == first


@pytest.fixture
def shell() -> Iterator[Any]:
    ipython = InteractiveShell.instance()
    original = ipython.display_pub
    ipython.display_pub = CapturingDisplayPublisher()
    yield ipython
    ipython.display_pub = original
    InteractiveShell.clear_instance()


def test_show_traces_takes_a_trace_a_list_or_a_dataframe(shell: Any) -> None:
    for i in range(3):
        mlflow.trace(name=f"t{i}")(len)("ab")
    show_traces(last_trace())
    show_traces(mlflow.search_traces(return_type="list"))
    show_traces(mlflow.search_traces())
    show_traces(mlflow.search_traces(), limit=2)
    texts = [o["data"]["text/plain"] for o in shell.display_pub.outputs]
    assert texts[0] == "Trace 't2': OK, 1 span"
    assert texts[1] == texts[2] == "\n".join(f"Trace 't{i}': OK, 1 span" for i in (2, 1, 0))
    assert texts[3].endswith("... and 1 more trace")
    with pytest.raises(TypeError):
        show_traces(42)


def test_bundle_carries_the_saved_view_payload() -> None:
    _agent(XSS)
    bundle = trace_bundle([last_trace()])
    saved = bundle[TRACE_MIME]
    (entry,) = saved["traces"]
    assert entry["name"] == "agent" and entry["count"] == 3
    assert entry["details"]  # the first spans' details travel with the output
    json.dumps(saved)  # stored in the notebook as JSON


def test_saved_payload_drops_inlined_details_past_its_cap(monkeypatch: Any) -> None:
    from mlflow_trace_nb.display import bundle as bundle_module

    _agent("x" * 3000)
    trace = last_trace()
    assert saved_payload([trace])["traces"][0]["details"]
    monkeypatch.setattr(bundle_module, "SAVED_PAYLOAD_CHARS", 100)
    smaller = saved_payload([trace])
    assert smaller["traces"][0]["details"] == {} and smaller["traces"][0]["count"] == 3


def test_batch_runs_get_no_widget_view(tmp_path: Any) -> None:
    """Under nbclient (what ``jupyter nbconvert --execute`` runs) the output holds our payload,
    the static HTML and text, but no widget view (nbconvert would pick it and show nothing
    offline)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import mlflow_trace_nb as mlflow\nmlflow.set_destination('memory')\n"
            "mlflow.enable_notebook_display()"
        ),
        nbformat.v4.new_code_cell("@mlflow.trace\ndef f(x):\n    return x\nf(1)"),
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    (output,) = [o for o in nb.cells[1].outputs if o.get("output_type") == "display_data"]
    assert TRACE_MIME in output["data"] and "text/html" in output["data"]
    assert WIDGET_MIME not in output["data"]
