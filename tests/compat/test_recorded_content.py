"""What is recorded, compared with real MLflow 3: the same function traced by ``mlflow`` and
by this package, and the trace metadata, tags and span attributes MLflow writes read back
from both.

Left out on purpose (see ``mlflow_trace_nb/entities/recorded.py``):
``mlflow.trace.sizeBytes``/``sizeStats``, ``mlflow.user`` and ``mlflow.source.*`` (facts of
the recording process this package does not keep).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

import mlflow_trace_nb
from tests.compat.both import traced_by_both

pytest.importorskip("mlflow")

#: Trace metadata keys both record, with equal values.
SHARED_METADATA = ("mlflow.traceInputs", "mlflow.traceOutputs", "mlflow.trace_schema.version")


def _pipeline(mlflow: Any) -> Callable[[], Any]:
    @mlflow.trace
    def add(x: int, y: int) -> int:
        return inner(x) + y

    @mlflow.trace(span_type="LLM")
    def inner(x: int) -> int:
        mlflow.get_current_active_span().set_attribute("model", {"name": "m", "t": 0.5})
        return x * 2

    return lambda: add(3, 6)


def _assert_same_attributes(ours: Any, theirs: Any) -> None:
    for mine, other in zip(ours.data.spans, theirs.data.spans, strict=True):
        expected = dict(other.attributes)
        expected["mlflow.traceRequestId"] = ours.info.trace_id  # ids differ, nothing else
        assert mine.attributes == expected
        for key, value in mine.attributes.items():
            assert mine.get_attribute(key) == value


def test_metadata_tags_and_span_attributes_are_mlflows(real_mlflow: Any) -> None:
    ours, theirs = traced_by_both(real_mlflow, _pipeline)

    for key in SHARED_METADATA:
        assert ours.info.trace_metadata[key] == theirs.info.trace_metadata[key], key
    assert ours.info.trace_metadata["mlflow.traceInputs"] == '{"x": 3, "y": 6}'
    assert ours.info.tags["mlflow.traceName"] == theirs.info.tags["mlflow.traceName"] == "add"
    _assert_same_attributes(ours, theirs)
    assert ours.data.spans[0].attributes["mlflow.spanLogLevel"] == 10  # DEBUG: UNKNOWN type
    assert ours.data.spans[1].attributes["mlflow.spanLogLevel"] == 20  # INFO: LLM


def test_long_inputs_are_truncated_as_mlflow_truncates_them(real_mlflow: Any) -> None:
    def define(mlflow: Any) -> Callable[[], Any]:
        @mlflow.trace
        def echo(text: str) -> dict[str, Any]:
            return {"text": text, "n": len(text)}

        return lambda: echo("é" * 1200 + "end")

    ours, theirs = traced_by_both(real_mlflow, define)

    for key in SHARED_METADATA:
        assert ours.info.trace_metadata[key] == theirs.info.trace_metadata[key], key
    assert len(ours.info.trace_metadata["mlflow.traceInputs"]) == 250
    assert ours.info.trace_metadata["mlflow.traceInputs"].endswith("...")
    assert ours.info.request_preview == theirs.info.request_preview
    assert ours.info.response_preview == theirs.info.response_preview
    assert len(ours.info.request_preview or "") == 1000


def test_a_failing_trace_records_mlflows_error_level_and_empty_outputs(real_mlflow: Any) -> None:
    def define(mlflow: Any) -> Callable[[], Any]:
        @mlflow.trace(span_type="TOOL")
        def fails(q: str) -> None:
            raise ValueError("boom")

        return lambda: fails("why?")

    ours, theirs = traced_by_both(real_mlflow, define)

    for key in SHARED_METADATA:
        assert ours.info.trace_metadata[key] == theirs.info.trace_metadata[key], key
    assert ours.info.trace_metadata["mlflow.traceOutputs"] == ""
    (span,) = ours.data.spans
    assert span.attributes["mlflow.spanLogLevel"] == 40  # ERROR, from the exception event
    _assert_same_attributes(ours, theirs)


def test_token_usage_is_summed_as_mlflow_sums_it(real_mlflow: Any) -> None:
    def define(mlflow: Any) -> Callable[[], Any]:
        def usage(n: int) -> dict[str, int]:
            return {"input_tokens": n, "output_tokens": 2 * n, "total_tokens": 3 * n}

        @mlflow.trace(span_type="AGENT")
        def agent() -> str:
            with mlflow.start_span("llm-a", span_type="LLM") as span:
                span.set_attribute("mlflow.chat.tokenUsage", usage(1))
            with mlflow.start_span("rollup", span_type="CHAIN") as parent:
                parent.set_attribute("mlflow.chat.tokenUsage", usage(10))
                with mlflow.start_span("llm-b", span_type="LLM") as child:  # in the rollup
                    child.set_attribute("mlflow.chat.tokenUsage", usage(10))
            return "done"

        return agent

    ours, theirs = traced_by_both(real_mlflow, define)

    key = "mlflow.trace.tokenUsage"
    assert json.loads(ours.info.trace_metadata[key]) == json.loads(theirs.info.trace_metadata[key])
    assert json.loads(ours.info.trace_metadata[key]) == {
        "input_tokens": 11,
        "output_tokens": 22,
        "total_tokens": 33,
    }


def test_chat_request_previews_are_the_last_messages_text(real_mlflow: Any) -> None:
    def define(mlflow: Any) -> Callable[[], Any]:
        @mlflow.trace(span_type="CHAT_MODEL")
        def chat(messages: list[dict[str, str]]) -> dict[str, Any]:
            return {"choices": [{"message": {"role": "assistant", "content": "4"}}]}

        system = {"role": "system", "content": "be brief"}
        return lambda: chat([system, {"role": "user", "content": "2+2?"}])

    ours, theirs = traced_by_both(real_mlflow, define)

    assert ours.info.request_preview == theirs.info.request_preview == "2+2?"
    assert ours.info.response_preview == theirs.info.response_preview == "4"


def test_search_traces_trace_metadata_column_has_mlflows_keys(real_mlflow: Any) -> None:
    _pipeline(mlflow_trace_nb)()
    _pipeline(real_mlflow)()
    mlflow_trace_nb.flush()

    ours = mlflow_trace_nb.search_traces().iloc[0]
    theirs = real_mlflow.search_traces().iloc[0]

    for key in SHARED_METADATA:
        assert ours["trace_metadata"][key] == theirs["trace_metadata"][key], key
    assert ours["tags"]["mlflow.traceName"] == theirs["tags"]["mlflow.traceName"]
    assert [s["attributes"].keys() for s in theirs["spans"]] == [
        s["attributes"].keys() for s in ours["spans"]
    ]


def test_a_trace_read_from_an_mlflow_server_keeps_what_mlflow_recorded(real_mlflow: Any) -> None:
    from mlflow_trace_nb._internal.remote.convert import to_trace

    _pipeline(real_mlflow)()
    theirs = real_mlflow.get_trace(real_mlflow.get_last_active_trace_id())

    ours = to_trace(theirs)  # what search_traces/get_trace(tracking_uri=...) return

    assert ours.info.trace_metadata == theirs.info.trace_metadata
    assert ours.info.tags == theirs.info.tags
    for mine, other in zip(ours.data.spans, theirs.data.spans, strict=True):
        assert mine.attributes == other.attributes  # function name and log level included
