"""A real OTLP/HTTP receiver on 127.0.0.1 and a workload of real SDK calls, for the semconv
tests: the openai and anthropic clients talk to the loopback LLM server under our
instrumentation, and the spans reach the receiver over HTTP as protobuf."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

import mlflow_trace_nb as mlflow

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def any_value(value: Any) -> Any:
    """A protobuf ``AnyValue`` as a Python value."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return tuple(any_value(v) for v in value.array_value.values)
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind) if kind else None


class Receiver:
    """Keeps every span POSTed to ``endpoint`` (``/v1/traces``)."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest.FromString(body)
                with receiver._lock:
                    for resource in request.resource_spans:
                        for scope in resource.scope_spans:
                            receiver.spans.extend(scope.spans)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}/v1/traces"

    def attributes(self, timeout: float = 10.0, count: int = 1) -> dict[str, dict[str, Any]]:
        """``{span name: {key: value}}`` once ``count`` spans arrived (the last of a name)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.spans) >= count:
                    break
            time.sleep(0.05)
        with self._lock:
            return {
                s.name: {kv.key: any_value(kv.value) for kv in s.attributes} for s in self.spans
            }

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    try:
        yield receiver
    finally:
        receiver.stop()


def run_workload(openai_base_url: str, anthropic_base_url: str) -> int:
    """One trace (root span ``agent``) of real SDK calls and hand-made spans covering the
    shapes the mappings read; returns the number of spans made."""
    with mlflow.start_span("agent", span_type="AGENT") as root:
        root.set_inputs({"question": "Weather in Paris?"})
        _workload(openai_base_url, anthropic_base_url)
        root.set_outputs("rainy")
    return 7


def recorded_spans(llm_server: Any) -> dict[str, Any]:
    """Run the workload into the local store; ``{name: Span}`` of its trace as stored."""
    run_workload(llm_server.openai_base_url, llm_server.anthropic_base_url)
    mlflow.flush()
    trace = mlflow.get_last_active_trace()
    assert trace is not None
    return {s.name: s for s in trace.data.spans}


def _workload(openai_base_url: str, anthropic_base_url: str) -> None:
    import anthropic
    import openai
    from langchain_core.documents import Document

    from mlflow_trace_nb.instrumentation import (
        instrument_anthropic,
        instrument_openai,
        uninstrument_anthropic,
        uninstrument_openai,
    )

    instrument_openai()
    instrument_anthropic()
    try:
        client = openai.OpenAI(base_url=openai_base_url, api_key="test", max_retries=0)
        claude = anthropic.Anthropic(base_url=anthropic_base_url, api_key="test", max_retries=0)
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Weather in Paris?"},
            ],
            tools=[WEATHER_TOOL],
            temperature=0.2,
            max_tokens=64,
            stop=["END"],
        )
        client.responses.create(model="gpt-4o-mini", input="hello there", instructions="Be kind.")
        claude.messages.create(
            model="claude-test",
            max_tokens=50,
            system="You are terse.",
            messages=[
                {"role": "user", "content": "Weather in Rome?"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}
                    ],
                },
            ],
            tools=[
                {
                    "name": "get_weather",
                    "description": "Weather",
                    "input_schema": {"type": "object"},
                }
            ],
        )
    finally:
        uninstrument_openai()
        uninstrument_anthropic()
    with mlflow.start_span("search_docs", span_type="RETRIEVER") as span:
        span.set_inputs({"query": "paris"})
        span.set_outputs(
            [
                Document(page_content="Paris is in France.", metadata={"score": 0.9}, id="d1"),
                {"content": "The Seine.", "id": "d2", "score": 0.5, "metadata": {"src": "x"}},
            ]
        )
    with mlflow.start_span("get_weather", span_type="TOOL") as span:
        span.set_inputs({"city": "Paris"})
        span.set_outputs("rainy")
        span.set_attribute("description", "Weather in a city")
    with mlflow.start_span("cached_call", span_type="CHAT_MODEL") as span:
        span.set_inputs({"messages": [{"role": "user", "content": "again"}], "model": "claude-c"})
        span.set_outputs(
            {
                "type": "message",
                "role": "assistant",
                "model": "claude-c-1",
                "content": [{"type": "text", "text": "ok"}],
                "stop_reason": "end_turn",
            }
        )
        span.set_attributes(
            {
                "mlflow.llm.provider": "anthropic",
                "mlflow.llm.model": "claude-c-1",
                "mlflow.chat.tokenUsage": {
                    "input_tokens": 10,
                    "output_tokens": 4,
                    "total_tokens": 14,
                    "cache_read_input_tokens": 100,
                    "cache_creation_input_tokens": 20,
                },
            }
        )
