"""The widget payload built from stored and live traces, and the chat normaliser."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb.display import payload as pl
from mlflow_trace_nb.display.chat import chat_messages, chat_tools
from tests.helpers import last_trace

USAGE = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}


@mlflow.trace(span_type="CHAT_MODEL")
def _chat(messages: list[dict[str, Any]]) -> dict[str, Any]:
    mlflow.set_span_attribute("mlflow.chat.tokenUsage", USAGE)
    mlflow.set_span_chat_tools([{"name": "search", "description": "Web search"}])
    return {"choices": [{"message": {"role": "assistant", "content": "hi"}}]}


@mlflow.trace(span_type="TOOL")
def _boom() -> None:
    raise ValueError("bad <b>tool</b>")


@mlflow.trace(span_type="AGENT")
def _agent(question: str) -> str:
    _chat([{"role": "user", "content": question}])
    _chat([{"role": "user", "content": "again"}])
    with contextlib.suppress(ValueError):
        _boom()
    return "done"


def _columns(entry: dict[str, Any]) -> list[dict[str, Any]]:
    strings, cols = entry["strings"], entry["cols"]
    return [
        {
            "name": strings[cols["name"][i]],
            "type": strings[cols["type"][i]],
            "status": strings[cols["status"][i]],
            "parent": cols["parent"][i],
            "start": cols["start"][i],
            "dur": cols["dur"][i],
        }
        for i in range(len(cols["name"]))
    ]


def test_stored_trace_becomes_a_column_table() -> None:
    _agent("q")
    trace = last_trace()
    payload = pl.build_payload([trace], more=3)
    assert payload["more"] == 3
    (entry,) = payload["traces"]
    assert entry["id"] == trace.request_id
    assert entry["name"] == "_agent" and entry["status"] == "OK" and not entry["running"]
    rows = _columns(entry)
    assert [r["name"] for r in rows] == ["_agent", "_chat", "_chat", "_boom"]
    assert [r["parent"] for r in rows] == [-1, 0, 0, 0]
    assert [r["type"] for r in rows] == ["AGENT", "CHAT_MODEL", "CHAT_MODEL", "TOOL"]
    assert rows[3]["status"] == "ERROR"
    assert all(r["dur"] >= 0 and r["start"] >= 0 for r in rows)
    assert entry["total_us"] >= rows[0]["dur"]
    assert entry["tokens"] == {"1": [10, 5, 15], "2": [10, 5, 15]}
    json.dumps(payload)  # JSON-ready


def test_details_inline_with_chat_tools_and_exception() -> None:
    _agent("hello")
    (entry,) = pl.build_payload([last_trace()])["traces"]
    details = entry["details"]
    assert set(details) == {"0", "1", "2", "3"}
    chat = details["1"]
    assert chat["chat"] == [
        {"role": "user", "parts": [{"k": "text", "t": "hello"}]},
        {"role": "assistant", "parts": [{"k": "text", "t": "hi"}]},
    ]
    assert chat["tools"][0]["name"] == "search"
    assert chat["tokens"] == [10, 5, 15]
    boom = details["3"]
    assert boom["exception"]["type"] == "ValueError"
    assert "bad <b>tool</b>" in boom["exception"]["message"]
    assert "Traceback" in boom["exception"]["stacktrace"]
    assert details["0"]["outputs"] == {"j": "done"}


def test_big_values_are_previews_with_the_full_value_on_request() -> None:
    big = "x" * (pl.PREVIEW_CHARS * 3)
    mlflow.trace(name="echo")(lambda s: s)(big)
    trace = last_trace()
    detail = pl.span_detail(trace, 0)
    assert detail["outputs"]["n"] == len(json.dumps(big))
    assert len(detail["outputs"]["p"]) == pl.PREVIEW_CHARS
    assert json.loads(pl.full_value(trace, 0, "outputs")) == big


def test_inline_details_stay_within_the_budget() -> None:
    @mlflow.trace
    def leaf(i: int) -> str:
        return "y" * 3000

    @mlflow.trace
    def root() -> None:
        for i in range(300):
            leaf(i)

    root()
    payload = pl.build_payload([last_trace()])
    details = payload["traces"][0]["details"]
    assert 0 < len(details) <= pl.MAX_INLINE_DETAILS
    assert len(json.dumps(details)) <= pl.INLINE_BUDGET + 1000
    assert len(payload["traces"][0]["cols"]["name"]) == 301


def test_live_trace_marks_running_spans() -> None:
    seen: list[dict[str, Any]] = []
    with mlflow.start_span("outer") as outer:
        with mlflow.start_span("inner"):
            pass
        state = outer._state
        seen.append(pl.build_payload([state])["traces"][0])
    entry = seen[0]
    assert entry["running"] and entry["status"] == "RUNNING"
    rows = _columns(entry)
    assert rows[0]["status"] == "RUNNING" and rows[0]["dur"] == -1
    assert rows[1]["status"] == "OK" and rows[1]["parent"] == 0
    final = pl.build_payload([RUNTIME.last_trace])["traces"][0]  # type: ignore[list-item]
    assert not final["running"] and final["status"] == "OK"


def test_search_matches_names_types_and_content() -> None:
    _agent("a needle in the question")
    trace = last_trace()
    cache: dict[int, str] = {}
    assert pl.search_spans(trace, "NEEDLE", cache) == [0, 1]
    assert pl.search_spans(trace, "_boom", cache) == [3]  # name
    assert pl.search_spans(trace, "chat_model", cache) == [1, 2]  # type
    assert pl.search_spans(trace, "web search", cache) == [1, 2]  # attributes
    assert pl.search_spans(trace, "", cache) == []
    assert set(cache) == {0, 1, 2, 3}


def test_chat_messages_understand_vendor_formats() -> None:
    anthropic_in = {
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "weather?"}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "t1", "name": "weather", "input": {"city": "Oslo"}}
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "rain"}],
            },
        ],
    }
    anthropic_out = {"role": "assistant", "content": [{"type": "text", "text": "Rain."}]}
    messages = chat_messages(anthropic_in, anthropic_out)
    assert messages is not None
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant"]
    assert messages[2]["parts"][0]["k"] == "tool_call"
    assert messages[2]["parts"][0]["n"] == "weather"
    assert messages[3]["parts"][0] == {"k": "tool_result", "t": "rain", "n": "t1"}
    openai_out = {
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "c1", "function": {"name": "f", "arguments": '{"a": 1}'}}
                    ],
                }
            }
        ]
    }
    (reply,) = chat_messages({}, openai_out) or []
    assert reply["parts"] == [{"k": "tool_call", "t": '{"a": 1}', "n": "f"}]
    assert chat_messages({"x": 1}, 42) is None
    tools = chat_tools([{"type": "function", "function": {"name": "f", "parameters": {}}}])
    assert tools == [{"name": "f", "description": "", "parameters": "{}"}]


def test_trace_entry_has_previews_tags_metadata_and_model_names() -> None:
    @mlflow.trace(span_type="CHAT_MODEL")
    def chat(messages: list[Any], model: str = "gpt-4o-mini") -> str:
        return "hi"

    @mlflow.trace(span_type="LLM")
    def complete(prompt: str) -> str:
        mlflow.set_span_attribute("mlflow.llm.model", "claude-x")
        return prompt

    @mlflow.trace(name="root")
    def root(question: str) -> dict[str, str]:
        mlflow.update_current_trace(tags={"user": "ana"}, metadata={"run": "7"})
        chat([{"role": "user", "content": question}])
        complete(question)
        return {"answer": "42 " * 200}

    root("What is the answer?")
    entry = pl.build_payload([last_trace()])["traces"][0]
    assert entry["preview_in"] == "What is the answer?"  # a one-key dict reads as its value
    assert entry["preview_out"].startswith("42 42") and len(entry["preview_out"]) == 300
    assert entry["tags"]["user"] == "ana" and entry["metadata"]["run"] == "7"
    names = {
        entry["strings"][entry["cols"]["name"][int(i)]]: entry["strings"][m]
        for i, m in entry["models"].items()
    }
    assert names == {"chat": "gpt-4o-mini", "complete": "claude-x"}
