"""The MIME bundle (widget view + static HTML + plain text) and show_traces."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.displaypub import CapturingDisplayPublisher
from IPython.core.interactiveshell import InteractiveShell

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.display.bundle import WIDGET_MIME, plain_text, show_traces, trace_bundle
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
