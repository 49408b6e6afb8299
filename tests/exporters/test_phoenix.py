"""Export to a real Arize Phoenix (from PyPI, started on 127.0.0.1 by the test) and read the
traces back with Phoenix's own client and GraphQL API: conversations, documents and tools.

Phoenix is a large install, so it lives in its own interpreter: set ``PHOENIX_PYTHON`` to a
Python that can ``import phoenix`` (e.g. ``python -m venv /tmp/phoenix-venv &&
/tmp/phoenix-venv/bin/pip install arize-phoenix``, then
``PHOENIX_PYTHON=/tmp/phoenix-venv/bin/python pytest -m phoenix tests/exporters/test_phoenix.py``);
without it the current interpreter is used when it has Phoenix, else the tests skip.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.testing.llm_server import LLMServer, start_server
from mlflow_trace_nb.tracing.destination import OTLP
from tests.exporters._semconv_receiver import run_workload

pytestmark = pytest.mark.phoenix

_START_TIMEOUT_S = 180.0


def _phoenix_python() -> str | None:
    """The interpreter that has Phoenix: ``PHOENIX_PYTHON``, else this one if it can."""
    configured = os.environ.get("PHOENIX_PYTHON")
    if configured:
        return configured
    return sys.executable if importlib.util.find_spec("phoenix") is not None else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return int(answer.status)
    except OSError:
        return 0


class Phoenix:
    def __init__(self, python: str, workdir: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.python = python
        env = {
            **os.environ,
            "PHOENIX_WORKING_DIR": str(workdir),
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_PORT": str(self.port),
            "PHOENIX_GRPC_PORT": str(_free_port()),
            "PHOENIX_TELEMETRY_ENABLED": "false",
        }
        self.log = (workdir / "phoenix.log").open("w")
        self.process = subprocess.Popen(
            [python, "-m", "phoenix.server.main", "serve"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self) -> float:
        started = time.monotonic()
        while time.monotonic() - started < _START_TIMEOUT_S:
            if self.process.poll() is not None:
                raise RuntimeError(f"Phoenix exited with {self.process.returncode}")
            if _get(self.url + "/healthz") == 200:
                return time.monotonic() - started
            time.sleep(0.5)
        raise RuntimeError(f"Phoenix not up within {_START_TIMEOUT_S} s")

    def graphql(self, query: str) -> Any:
        body = json.dumps({"query": query}).encode()
        request = urllib.request.Request(
            self.url + "/graphql", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            data = json.loads(answer.read())
        assert "errors" not in data, data
        return data["data"]

    def client_spans(self) -> list[dict[str, Any]]:
        """Every span of the default project, through ``phoenix.client.Client``."""
        script = (
            "import json, sys\n"
            "from phoenix.client import Client\n"
            "spans = Client(base_url=sys.argv[1]).spans.get_spans("
            "project_identifier='default', limit=1000)\n"
            "print(json.dumps(spans, default=str))\n"
        )
        done = subprocess.run(
            [self.python, "-c", script, self.url],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return list(json.loads(done.stdout))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phoenix]:
    python = _phoenix_python()
    if python is None:
        pytest.skip(
            "arize-phoenix is not importable here: set PHOENIX_PYTHON to a Python with "
            "`pip install arize-phoenix` (see this module's docstring)"
        )
    check = subprocess.run(
        [python, "-c", "import phoenix.server.main, phoenix.client"], capture_output=True
    )
    if check.returncode != 0:
        pytest.skip(f"PHOENIX_PYTHON={python} cannot import phoenix: {check.stderr[-300:]!r}")
    server = Phoenix(python, tmp_path_factory.mktemp("phoenix"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def llm_server() -> Iterator[LLMServer]:
    server = start_server()
    yield server
    server.stop()


_SPANS_QUERY = """{ projects { edges { node { name spans(first: 200) { edges { node {
  name spanKind numDocuments tokenCountPrompt tokenCountCompletion tokenCountTotal
  attributes context { traceId } } } } } } } }"""


def _graphql_spans(phoenix: Phoenix, trace_hex: str, count: int) -> dict[str, Any]:
    """``{name: span}`` of our trace once Phoenix has stored its ``count`` spans."""
    deadline = time.monotonic() + 60
    found: dict[str, Any] = {}
    while time.monotonic() < deadline:
        data = phoenix.graphql(_SPANS_QUERY)
        found = {
            edge["node"]["name"]: edge["node"]
            for project in data["projects"]["edges"]
            for edge in project["node"]["spans"]["edges"]
            if edge["node"]["context"]["traceId"] == trace_hex
        }
        if len(found) >= count:
            break
        time.sleep(0.5)
    return found


def test_phoenix_shows_conversations_documents_and_tools(
    phoenix: Phoenix, llm_server: LLMServer
) -> None:
    mlflow.set_destination(["memory", OTLP(phoenix.url + "/v1/traces")])
    count = run_workload(llm_server.openai_base_url, llm_server.anthropic_base_url)
    assert mlflow.flush(timeout=60)
    trace = mlflow.get_last_active_trace()
    assert trace is not None
    trace_hex = trace.info.request_id[3:]
    spans = _graphql_spans(phoenix, trace_hex, count)
    assert len(spans) == count, sorted(spans)

    chat = spans["openai.chat.completions.create"]
    assert chat["spanKind"] == "llm"
    llm = json.loads(chat["attributes"])["llm"]
    assert [m["message"]["role"] for m in llm["input_messages"]] == ["system", "user"]
    assert llm["input_messages"][1]["message"]["content"] == "Weather in Paris?"
    [answer] = llm["output_messages"]
    call = answer["message"]["tool_calls"][0]["tool_call"]
    assert call["function"]["name"] == "get_weather"
    assert llm["tools"][0]["tool"]["name"] == "get_weather"
    assert json.loads(llm["tools"][0]["tool"]["json_schema"])["function"]["name"] == "get_weather"
    assert json.loads(llm["invocation_parameters"])["temperature"] == 0.2
    assert chat["tokenCountTotal"] == chat["tokenCountPrompt"] + chat["tokenCountCompletion"] > 0

    claude = json.loads(spans["anthropic.messages.create"]["attributes"])["llm"]
    roles = [m["message"]["role"] for m in claude["input_messages"]]
    assert roles == ["system", "user", "assistant", "tool"]

    cached = spans["cached_call"]
    assert cached["tokenCountPrompt"] == 130
    details = json.loads(cached["attributes"])["llm"]["token_count"]["prompt_details"]
    assert details == {"cache_read": 100, "cache_write": 20}

    retriever = spans["search_docs"]
    assert retriever["spanKind"] == "retriever"
    assert retriever["numDocuments"] == 2
    docs = json.loads(retriever["attributes"])["retrieval"]["documents"]
    assert docs[0]["document"]["content"] == "Paris is in France."
    assert docs[1]["document"]["score"] == 0.5

    tool = json.loads(spans["get_weather"]["attributes"])
    assert spans["get_weather"]["spanKind"] == "tool"
    assert tool["tool"]["name"] == "get_weather"


def test_phoenix_client_reads_the_openinference_keys(
    phoenix: Phoenix, llm_server: LLMServer
) -> None:
    """Phoenix's own Python client, with only the OpenInference key set exported."""
    exporter = OTLP(phoenix.url + "/v1/traces", semconv="openinference")
    mlflow.set_destination(["memory", exporter])
    count = run_workload(llm_server.openai_base_url, llm_server.anthropic_base_url)
    assert mlflow.flush(timeout=60)
    trace = mlflow.get_last_active_trace()
    assert trace is not None
    trace_hex = trace.info.request_id[3:]
    _graphql_spans(phoenix, trace_hex, count)
    ours = [s for s in phoenix.client_spans() if s["context"]["trace_id"] == trace_hex]
    assert len(ours) == count
    by_name = {s["name"]: s for s in ours}
    chat = by_name["openai.chat.completions.create"]["attributes"]
    assert chat["llm.input_messages.0.message.role"] == "system"
    assert chat["llm.output_messages.0.message.tool_calls.0.tool_call.function.name"] == (
        "get_weather"
    )
    assert not [k for s in ours for k in s["attributes"] if k.startswith("mlflow.")]
    assert by_name["search_docs"]["span_kind"] == "RETRIEVER"
    assert by_name["search_docs"]["attributes"]["retrieval.documents.1.document.id"] == "d2"
