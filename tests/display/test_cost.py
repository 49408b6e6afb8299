"""Tokens and cost per span, subtree and trace (``_internal.cost``), from genai-prices."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal import cost
from mlflow_trace_nb._internal.cost import format_cost, price_usd, span_cost, trace_cost
from mlflow_trace_nb.display.payload import build_payload, span_detail
from mlflow_trace_nb.display.static_html import render_static_html
from tests.helpers import by_name, last_trace

genai_prices = pytest.importorskip("genai_prices")


def expected(model: str, provider: str | None, **usage: int) -> float:
    """What genai-prices itself says (the test does not hard-code a price)."""
    result = genai_prices.calc_price(genai_prices.Usage(**usage), model, provider_id=provider)
    return float(result.total_price)


def llm_span(name: str, usage: dict[str, Any], **attributes: Any) -> None:
    with mlflow.start_span(name, span_type="CHAT_MODEL") as span:
        span.set_attribute("mlflow.chat.tokenUsage", usage)
        for key, value in attributes.items():
            span.set_attribute(key, value)


@pytest.fixture
def agent_trace() -> Any:
    with mlflow.start_span("agent", span_type="AGENT"):
        with mlflow.start_span("plan", span_type="CHAIN"):
            llm_span(
                "openai",
                {"input_tokens": 1_000, "output_tokens": 200, "total_tokens": 1_200},
                **{"mlflow.llm.model": "gpt-4o-mini", "mlflow.llm.provider": "openai"},
            )
            llm_span(
                "anthropic",
                {
                    "input_tokens": 300,
                    "output_tokens": 50,
                    "total_tokens": 350,
                    "cache_read_input_tokens": 700,
                },
                **{
                    "mlflow.llm.model": "claude-3-5-haiku-20241022",
                    "mlflow.llm.provider": "anthropic",
                },
            )
        llm_span(
            "private",
            {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
            **{"mlflow.llm.model": "acme-internal-9000", "mlflow.llm.provider": "acme"},
        )
    return last_trace()


def test_known_models_are_priced_with_the_maintained_table(agent_trace: Any) -> None:
    spans = by_name(agent_trace)
    openai = span_cost(spans["openai"])
    assert openai is not None and openai.model == "gpt-4o-mini"
    assert openai.cost == pytest.approx(
        expected("gpt-4o-mini", "openai", input_tokens=1_000, output_tokens=200)
    )
    # Anthropic's input_tokens leave the cache reads out; genai-prices counts them in
    anthropic = span_cost(spans["anthropic"])
    assert anthropic is not None
    assert anthropic.cost == pytest.approx(
        expected(
            "claude-3-5-haiku-20241022",
            "anthropic",
            input_tokens=1_000,
            output_tokens=50,
            cache_read_tokens=700,
        )
    )
    assert anthropic.cost > 0


def test_an_unknown_model_is_cost_unknown_never_a_guess(agent_trace: Any) -> None:
    private = span_cost(by_name(agent_trace)["private"])
    assert private is not None and private.cost is None
    assert private.tokens.total_tokens == 15
    tokens = cost.TokenUsage(10, 5, 15)
    assert price_usd(tokens, "gpt2", "transformers") is None  # self-hosted: no list price
    assert price_usd(tokens, None, "openai") is None
    assert price_usd(tokens, "no-such-model-xyz", None) is None
    assert format_cost(None) == "cost unknown"


def test_subtree_and_trace_totals(agent_trace: Any) -> None:
    spans = agent_trace.spans
    summary = trace_cost(agent_trace)
    names = [s.name for s in spans]
    plan = summary.subtree[names.index("plan")]
    root = summary.subtree[names.index("agent")]
    priced = [summary.spans[names.index(n)] for n in ("openai", "anthropic")]
    assert plan is not None and root is not None
    assert plan.total_tokens == 1_200 + 350 and plan.unknown == 0
    assert plan.cost == pytest.approx(sum(p.cost for p in priced if p and p.cost))
    assert root.total_tokens == 1_200 + 350 + 15
    assert root.unknown == 1 and root.priced == 2
    assert root.cost is None  # one call could not be priced: no total is claimed
    assert root.cost_known == pytest.approx(plan.cost_known)
    assert summary.cost is None and summary.total_tokens == 1_565
    assert summary.total.to_dict()["currency"] == "USD"


def test_model_from_the_inputs_when_no_attribute_says() -> None:
    @mlflow.trace(span_type="LLM")
    def complete(prompt: str, model: str) -> str:
        mlflow.set_span_attribute(
            "mlflow.chat.tokenUsage", {"input_tokens": 10, "output_tokens": 10}
        )
        return "ok"

    complete("hi", model="gpt-4o")
    item = span_cost(last_trace().spans[0])
    assert item is not None and item.model == "gpt-4o"
    assert item.cost == pytest.approx(expected("gpt-4o", None, input_tokens=10, output_tokens=10))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    yield attempts


def test_prices_never_go_to_the_network(agent_trace: Any, no_network: list[Any]) -> None:
    from genai_prices import data_snapshot

    cost._prices.clear()  # force real look-ups
    summary = trace_cost(agent_trace)
    assert summary.total.priced == 2
    assert no_network == []
    assert data_snapshot._custom_snapshot is None  # no updater was started


def test_payload_carries_costs_tags_and_start(agent_trace: Any) -> None:
    mlflow.trace(len)("x")  # a second trace without usage
    payload = json.loads(json.dumps(build_payload([agent_trace, last_trace()])))
    entry, plain = payload["traces"]
    names = [entry["strings"][i] for i in entry["cols"]["name"]]
    llm = entry["llm"][str(names.index("openai"))]
    assert llm["model"] == "gpt-4o-mini" and llm["cost"] > 0
    assert entry["llm"][str(names.index("private"))]["cost"] is None
    root = entry["subtree"][str(names.index("agent"))]
    assert root[:3] == [1_310, 255, 1_565] and root[3] is None and root[5] == 1
    assert entry["totals"]["total_tokens"] == 1_565 and entry["totals"]["unknown"] == 1
    assert entry["started_at"].endswith("Z") and entry["tags"] == {}
    assert plain["llm"] == {} and plain["subtree"] == {} and plain["totals"]["cost"] is None
    detail = span_detail(agent_trace, names.index("anthropic"))
    assert detail["provider"] == "anthropic" and detail["cost"] > 0


def test_static_html_shows_model_and_cost(agent_trace: Any) -> None:
    page = render_static_html([agent_trace])
    openai = span_cost(by_name(agent_trace)["openai"])
    assert openai is not None
    assert format_cost(openai.cost) in page
    assert "gpt-4o-mini" in page and "acme-internal-9000" in page
    assert "cost unknown" in page  # the private model's row, and the incomplete total
    assert "1 call(s) cost unknown" in page


def test_format_cost() -> None:
    assert format_cost(0.000087) == "$0.000087"
    assert format_cost(0.0123) == "$0.0123"
    assert format_cost(12.3) == "$12.30"
    assert format_cost(0) == "$0"
    assert format_cost(1e-9) == "< $0.000001"


def test_a_cost_the_span_records_is_taken_as_given() -> None:
    """MLflow's ``mlflow.llm.cost`` (and later versions' tool/embedding/retrieval/span cost
    keys) win over the price table, and count with spans that have no token usage."""
    with mlflow.start_span("agent", span_type="AGENT"):
        llm_span(
            "priced",
            {"input_tokens": 10, "output_tokens": 5},
            **{"mlflow.llm.model": "gpt-4o", "mlflow.llm.cost": {"total_cost": 0.5}},
        )
        with mlflow.start_span("tool", span_type="TOOL") as tool:
            tool.set_attribute("mlflow.tool.cost", 0.25)
        with mlflow.start_span("search", span_type="RETRIEVER") as search:
            search.set_attribute(
                "mlflow.retrieval.cost", json.dumps({"input_cost": 0.01, "output_cost": 0.02})
            )
        with mlflow.start_span("odd") as odd:
            odd.set_attribute("mlflow.span.cost", "not a number")
    trace = last_trace()
    spans = by_name(trace)
    assert span_cost(spans["priced"]).cost == 0.5  # type: ignore[union-attr]
    assert span_cost(spans["tool"]).cost == 0.25  # type: ignore[union-attr]
    assert span_cost(spans["search"]).cost == pytest.approx(0.03)  # type: ignore[union-attr]
    assert span_cost(spans["odd"]) is None
    total = trace_cost(trace).total
    assert total.cost == pytest.approx(0.78)
    assert (total.priced, total.input_tokens) == (3, 10)
    recorded = json.loads(trace.info.trace_metadata["mlflow.trace.cost"])
    assert recorded == pytest.approx({"input_cost": 0.01, "output_cost": 0.02, "total_cost": 0.75})
