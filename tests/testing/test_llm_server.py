"""The loopback LLM server: routes, failures on demand, recorded requests (plain HTTP)."""

from __future__ import annotations

import base64
import json
import struct
import urllib.error
import urllib.request
from typing import Any

import pytest

from mlflow_trace_nb.testing.llm_server import start_server


def post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", **(headers or {})},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers.get("content-type"), response.read().decode()


def test_routes_answer_in_each_vendors_shape_and_requests_are_recorded() -> None:
    with start_server() as server:
        status, kind, text = post(
            f"{server.openai_base_url}/chat/completions",
            {"model": "gpt", "messages": [{"role": "user", "content": "hi there"}]},
        )
        assert status == 200 and kind == "application/json"
        assert json.loads(text)["choices"][0]["message"]["content"] == "Echo: hi there"
        _, _, text = post(
            f"{server.url}/v1/messages",
            {"model": "claude", "max_tokens": 5, "messages": [{"role": "user", "content": "yo"}]},
        )
        assert json.loads(text)["content"] == [{"type": "text", "text": "Echo: yo"}]
        assert [r["path"] for r in server.requests] == ["/chat/completions", "/messages"]
        assert server.requests[1]["body"]["model"] == "claude"


def test_streams_are_server_sent_events() -> None:
    with start_server() as server:
        _, kind, text = post(
            f"{server.url}/v1/messages",
            {"model": "c", "stream": True, "messages": [{"role": "user", "content": "a b"}]},
        )
        assert kind == "text/event-stream"
        events = [line[7:] for line in text.splitlines() if line.startswith("event: ")]
        assert events[0] == "message_start" and events[-1] == "message_stop"
        _, _, text = post(
            f"{server.openai_base_url}/chat/completions",
            {"model": "g", "stream": True, "messages": [{"role": "user", "content": "a"}]},
        )
        assert text.rstrip().endswith("data: [DONE]")


def test_base64_embeddings_decode_to_the_float_vectors() -> None:
    with start_server() as server:
        url = f"{server.openai_base_url}/embeddings"
        _, _, floats = post(url, {"model": "e", "input": "x"})
        _, _, encoded = post(url, {"model": "e", "input": "x", "encoding_format": "base64"})
        vector = json.loads(floats)["data"][0]["embedding"]
        raw = base64.b64decode(json.loads(encoded)["data"][0]["embedding"])
        assert list(struct.unpack(f"<{len(vector)}f", raw)) == pytest.approx(vector, abs=1e-6)


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        ({"model": "error-429"}, {}, 429),
        ({"model": "gpt"}, {"x-test-status": "503"}, 503),
    ],
)
def test_failures_on_demand(body: dict[str, Any], headers: dict[str, str], status: int) -> None:
    with start_server() as server:
        with pytest.raises(urllib.error.HTTPError) as info:
            post(f"{server.openai_base_url}/chat/completions", body, headers)
        assert info.value.code == status
        assert "error" in json.loads(info.value.read())


def test_unknown_routes_are_404_and_delays_delay() -> None:
    with start_server() as server:
        with pytest.raises(urllib.error.HTTPError) as info:
            post(f"{server.url}/v1/nope", {})
        assert info.value.code == 404
        with pytest.raises(TimeoutError):
            urllib.request.urlopen(
                urllib.request.Request(
                    f"{server.openai_base_url}/embeddings",
                    data=b'{"model": "slow"}',
                    headers={"x-test-delay": "1"},
                ),
                timeout=0.2,
            )
    server.stop()  # idempotent
