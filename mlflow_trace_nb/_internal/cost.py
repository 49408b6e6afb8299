"""Tokens and cost of LLM calls, per span, per subtree and per trace.

A cost the span records itself (MLflow's ``mlflow.llm.cost``, or the ``mlflow.tool.cost``,
``embedding``, ``retrieval`` and ``span`` keys of later MLflow versions: a number or an
``input_cost``/``output_cost``/``total_cost`` dict) is taken as given. Otherwise:
token counts come from the ``mlflow.chat.tokenUsage`` attribute (``instrumentation/_schema``);
the model from ``mlflow.llm.model`` (else a ``model``/``model_name`` attribute or input), the
vendor from ``mlflow.llm.provider``. Prices come from Pydantic's maintained ``genai-prices``
table (the ``genai_prices`` package, its bundled data): this module never goes to the
network. ``genai-prices`` only fetches newer prices when its ``UpdatePrices`` is started,
which nothing here does (a process that starts it itself gets the prices it fetched).

A span whose model is unknown to the table, a self-hosted model (``transformers``), or any
span when ``genai-prices`` is not installed, has cost ``None`` ("cost unknown"), never a
guess. Totals say how many calls were priced and how many were not; their ``cost`` is only
a number when every call with token usage was priced (``cost_known`` sums the priced ones).

Token conventions differ by vendor: OpenAI's ``input_tokens`` include cached tokens,
Anthropic's do not (its cache reads and writes are ``cache_read_input_tokens`` /
``cache_creation_input_tokens``); both are mapped onto ``genai-prices``' total-input usage.

Example::

    from mlflow_trace_nb._internal.cost import trace_cost

    summary = trace_cost(mlflow.get_last_active_trace())
    summary.cost, summary.total.total_tokens
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.span_tree import parent_indices, preorder
from mlflow_trace_nb._internal.timestamps import utc_datetime
from mlflow_trace_nb.entities.recorded import span_cost_value

__all__ = [
    "CostTotal",
    "SpanCost",
    "TokenUsage",
    "TraceCost",
    "format_cost",
    "price_usd",
    "span_cost",
    "span_model",
    "span_tokens",
    "trace_cost",
]

_MODEL_KEYS = ("model", "model_name", "model_id")
#: Providers whose models run on the user's own hardware: no list price exists.
_SELF_HOSTED = frozenset({"transformers", "huggingface", "llamacpp", "ollama", "vllm", "local"})
#: Provider values that name a framework, not a vendor: the model name picks the vendor.
_FRAMEWORKS = frozenset({"", "langchain", "llama_index", "dspy"})


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """The token counts of one LLM call, as recorded."""

    input_tokens: int
    output_tokens: int
    total_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(frozen=True, slots=True)
class SpanCost:
    """Tokens, model and cost (USD; None = unknown) of one span with token usage."""

    tokens: TokenUsage
    model: str | None
    provider: str | None
    cost: float | None


@dataclass(slots=True)
class CostTotal:
    """Tokens and cost summed over several spans (a subtree, a trace)."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cost_known: float = 0.0
    priced: int = 0
    unknown: int = 0
    models: list[str] = field(default_factory=list)

    @property
    def cost(self) -> float | None:
        """The total in USD when every call was priced, else None."""
        return self.cost_known if self.priced and not self.unknown else None

    @property
    def calls(self) -> int:
        """Spans with token usage counted here."""
        return self.priced + self.unknown

    def add_span(self, item: SpanCost) -> None:
        """Count one span."""
        self.input_tokens += item.tokens.input_tokens
        self.output_tokens += item.tokens.output_tokens
        self.total_tokens += item.tokens.total_tokens
        if item.cost is None:
            self.unknown += 1
        else:
            self.priced += 1
            self.cost_known += item.cost
        if item.model and item.model not in self.models and len(self.models) < 20:
            self.models.append(item.model)

    def add(self, other: CostTotal) -> None:
        """Add another total into this one."""
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.total_tokens += other.total_tokens
        self.cost_known += other.cost_known
        self.priced += other.priced
        self.unknown += other.unknown
        for model in other.models:
            if model not in self.models and len(self.models) < 20:
                self.models.append(model)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (``cost``: None unless every call was priced)."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "cost": self.cost,
            "cost_known": round(self.cost_known, 10),
            "priced": self.priced,
            "unknown": self.unknown,
            "models": list(self.models),
            "currency": "USD",
        }


@dataclass(slots=True)
class TraceCost:
    """Per-span costs (index-aligned with the spans), subtree totals and the trace total."""

    spans: list[SpanCost | None]
    subtree: list[CostTotal | None]
    total: CostTotal

    @property
    def cost(self) -> float | None:
        """The trace's cost in USD, or None when a call could not be priced (or none ran)."""
        return self.total.cost

    @property
    def total_tokens(self) -> int:
        """Tokens of every LLM call in the trace."""
        return self.total.total_tokens


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    return max(int(value), 0)


def span_tokens(span: Any) -> TokenUsage | None:
    """The span's ``mlflow.chat.tokenUsage``, or None (a stored span without usage is not
    decoded: its raw payload text is checked first)."""
    row = getattr(span, "_row", None)
    if row is None:
        if getattr(span, "_attributes", True) is None:  # a live span without attributes
            return None
    elif len(row) > 9 and isinstance(row[9], str) and keys.TOKEN_USAGE not in row[9]:
        return None
    try:
        usage = _own_attributes(span).get(keys.TOKEN_USAGE)
    except Exception:
        return None
    if isinstance(usage, str):
        import json

        try:
            usage = json.loads(usage)
        except ValueError:
            return None
    if not isinstance(usage, dict):
        return None
    tin, tout = _int(usage.get("input_tokens")), _int(usage.get("output_tokens"))
    total = _int(usage.get("total_tokens")) or tin + tout
    return TokenUsage(
        tin,
        tout,
        total,
        _int(usage.get("cache_read_input_tokens")),
        _int(usage.get("cache_creation_input_tokens")),
    )


def _own_attributes(span: Any) -> dict[str, Any]:
    """The attributes set on a span (a span's stored ones; a record's or foreign span's
    ``attributes``), without the ``mlflow.*`` keys MLflow derives from its fields."""
    raw = getattr(span, "_raw_attributes", None)
    if raw is None:
        raw = span.attributes
    return raw if isinstance(raw, dict) else {}


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()[:200]
    return None


def span_model(span: Any) -> tuple[str | None, str | None]:
    """(model, provider) of a span: ``mlflow.llm.model`` / ``mlflow.llm.provider``, else a
    ``model`` / ``model_name`` key of its attributes or inputs."""
    try:
        attributes = _own_attributes(span)
    except Exception:
        return None, None
    provider = _text(attributes.get(keys.PROVIDER)) or _text(attributes.get(keys.MESSAGE_FORMAT))
    model = _text(attributes.get(keys.MODEL))
    if model is None:
        for key in _MODEL_KEYS:
            model = _text(attributes.get(key))
            if model:
                break
    if model is None:
        try:
            inputs = span.inputs
        except Exception:
            inputs = None
        if isinstance(inputs, dict):
            for key in _MODEL_KEYS:
                model = _text(inputs.get(key))
                if model:
                    break
    return model, provider


_lock = threading.Lock()
_prices: dict[tuple[Any, ...], float | None] = {}
_MAX_CACHED = 4096


def _day(start_ns: int | None) -> _dt.datetime | None:
    moment = utc_datetime(start_ns)
    if moment is None:
        return None
    return moment.replace(hour=12, minute=0, second=0, microsecond=0)


def _calc(tokens: TokenUsage, model: str, provider: str | None, when: Any) -> float | None:
    try:
        from genai_prices import Usage, calc_price
    except Exception:  # not installed (an optional dependency): cost unknown
        return None
    vendor = (provider or "").lower()
    if vendor in _SELF_HOSTED:
        return None
    anthropic = vendor == "anthropic" or (vendor in _FRAMEWORKS and "claude" in model.lower())
    total_input = tokens.input_tokens
    if anthropic:  # Anthropic's input_tokens leave cached tokens out; genai-prices' include them
        total_input += tokens.cache_read_tokens + tokens.cache_write_tokens
    usage = Usage(
        input_tokens=total_input,
        output_tokens=tokens.output_tokens,
        cache_read_tokens=tokens.cache_read_tokens or None,
        cache_write_tokens=(tokens.cache_write_tokens or None) if anthropic else None,
    )
    provider_id = None if vendor in _FRAMEWORKS else vendor
    try:
        result = calc_price(usage, model, provider_id=provider_id, genai_request_timestamp=when)
    except Exception:  # LookupError: a model or provider the table does not know
        return None
    return float(result.total_price)


def price_usd(
    tokens: TokenUsage, model: str | None, provider: str | None = None, start_ns: int | None = None
) -> float | None:
    """The price in USD of one call (``start_ns``: when it ran, for dated prices), or None
    when the model is unknown. Never raises, never uses the network."""
    if not model:
        return None
    when = _day(start_ns)
    key = (tokens, model.lower(), (provider or "").lower(), when)
    with _lock:
        if key in _prices:
            return _prices[key]
    value = _calc(tokens, model, provider, when)
    with _lock:
        if len(_prices) >= _MAX_CACHED:
            _prices.clear()
        _prices[key] = value
    return value


_NO_TOKENS = TokenUsage(0, 0, 0)


def _given_cost(span: Any) -> float | None:
    """The total of a cost the span itself records (``keys.COST_KEYS``: MLflow's
    ``mlflow.llm.cost`` and its tool/embedding/retrieval/generic siblings), or None."""
    row = getattr(span, "_row", None)
    if row is None:
        if getattr(span, "_attributes", True) is None:  # a live span without attributes
            return None
    elif len(row) > 9 and isinstance(row[9], str) and ".cost" not in row[9]:
        return None
    try:
        found = span_cost_value(_own_attributes(span))
    except Exception:
        return None
    if found is None:
        return None
    return found.get("total_cost", found.get("input_cost", 0.0) + found.get("output_cost", 0.0))


def span_cost(span: Any) -> SpanCost | None:
    """Tokens, model and cost of one span, or None when it has neither token usage nor a
    cost of its own. A cost the span records (``mlflow.llm.cost``...) wins over the price
    table's."""
    tokens = span_tokens(span)
    given = _given_cost(span)
    if tokens is None and given is None:
        return None
    model, provider = span_model(span)
    if given is not None:
        return SpanCost(tokens or _NO_TOKENS, model, provider, given)
    assert tokens is not None
    try:
        start = int(span.start_time_ns)
    except Exception:
        start = None
    return SpanCost(tokens, model, provider, price_usd(tokens, model, provider, start))


def trace_cost(
    trace: Any, spans: Sequence[Any] | None = None, parents: Sequence[int] | None = None
) -> TraceCost:
    """Costs of a stored or live trace (or of ``spans`` of it): per span, per subtree
    (a span and everything under it) and in total.

    Example::

        trace_cost(trace).cost  # USD, or None if a call could not be priced

    ``parents`` (``span_tree.parent_indices(spans)``) saves recomputing the tree.
    """
    spans = list(trace.spans) if spans is None else spans
    per_span = [span_cost(span) for span in spans]
    subtree: list[CostTotal | None] = [None] * len(spans)
    total = CostTotal()
    if not any(item is not None for item in per_span):
        return TraceCost(per_span, subtree, total)
    if parents is None:
        parents = parent_indices(spans)
    for i, item in enumerate(per_span):
        if item is not None:
            total.add_span(item)
            own = subtree[i] = CostTotal()
            own.add_span(item)
    for node, _ in reversed(list(preorder(parents))):  # children before parents: O(spans)
        acc, parent = subtree[node], parents[node]
        if acc is not None and parent >= 0:
            into = subtree[parent]
            if into is None:
                into = subtree[parent] = CostTotal()
            into.add(acc)
    return TraceCost(per_span, subtree, total)


def format_cost(value: float | None) -> str:
    """``$0.000087``, ``$0.0123``, ``$12.30``, or ``cost unknown`` for None."""
    if value is None:
        return "cost unknown"
    if value == 0:
        return "$0"
    if value < 0.000001:
        return "< $0.000001"
    if value < 0.01:
        return "$" + f"{value:.6f}".rstrip("0")
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"
