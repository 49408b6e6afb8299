"""A span's OpenTelemetry GenAI semantic-convention attributes, from what the span holds.

Key names follow ``open-telemetry/semantic-conventions`` ``docs/gen-ai/gen-ai-spans.md``
(inference, embeddings, retrieval and execute-tool spans) and the JSON schemas beside it
(``gen-ai-input-messages.json``, ``gen-ai-output-messages.json``,
``gen-ai-tool-definitions.json``):

- ``gen_ai.operation.name``: ``chat`` (CHAT_MODEL, and LLM spans given messages),
  ``text_completion`` (other LLM spans), ``embeddings``, ``retrieval``, ``execute_tool``,
  ``invoke_agent``; other span types get no GenAI keys;
- ``gen_ai.provider.name`` and the older ``gen_ai.system`` (deprecated by the former, still
  read by many backends), from ``mlflow.llm.provider``;
- ``gen_ai.request.model`` (the request's ``model``, else ``mlflow.llm.model``) and
  ``gen_ai.response.model`` (the answer's ``model``, else ``mlflow.llm.model``),
  ``gen_ai.response.id``, ``gen_ai.response.finish_reasons`` (string[]);
- ``gen_ai.usage.input_tokens`` (cached input tokens included, as the spec asks) /
  ``output_tokens``; cache reads and writes under the current names
  ``gen_ai.usage.cache_read.input_tokens`` / ``gen_ai.usage.cache_creation.input_tokens``
  and the older ``gen_ai.usage.cache_read_input_tokens`` /
  ``gen_ai.usage.cache_creation_input_tokens`` that instrumentations still emit;
- ``gen_ai.request.temperature`` / ``top_p`` / ``top_k`` / ``max_tokens`` /
  ``frequency_penalty`` / ``presence_penalty`` / ``seed`` / ``stop_sequences`` /
  ``choice.count`` from the invocation parameters;
- the opt-in content attributes, as JSON text: ``gen_ai.input.messages`` and
  ``gen_ai.output.messages`` (``[{"role", "parts": [...]}]``, output messages with
  ``finish_reason``), ``gen_ai.system_instructions``, ``gen_ai.tool.definitions``;
- TOOL spans: ``gen_ai.tool.name`` (the span name), ``gen_ai.tool.description``.

Sizes are bounded as in ``semconv_shapes``; each JSON attribute is ``shapes.json_text``
output, bounded by ``MAX_JSON_CHARS``.
"""

from __future__ import annotations

from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb.exporters import semconv_shapes as shapes

__all__ = ["genai_attributes"]

OPERATION_NAME = "gen_ai.operation.name"
PROVIDER_NAME = "gen_ai.provider.name"
SYSTEM = "gen_ai.system"
REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_ID = "gen_ai.response.id"
FINISH_REASONS = "gen_ai.response.finish_reasons"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
CACHE_READ = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens")
CACHE_CREATION = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
)
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
TOOL_DEFINITIONS = "gen_ai.tool.definitions"
TOOL_NAME = "gen_ai.tool.name"
TOOL_DESCRIPTION = "gen_ai.tool.description"

_OPERATIONS = {
    "CHAT_MODEL": "chat",
    "EMBEDDING": "embeddings",
    "RETRIEVER": "retrieval",
    "TOOL": "execute_tool",
    "AGENT": "invoke_agent",
}
#: Invocation parameter -> GenAI request attribute, with the type it must have.
_REQUEST = (
    ("temperature", "gen_ai.request.temperature", float),
    ("top_p", "gen_ai.request.top_p", float),
    ("top_k", "gen_ai.request.top_k", float),
    ("max_tokens", "gen_ai.request.max_tokens", int),
    ("max_completion_tokens", "gen_ai.request.max_tokens", int),
    ("max_output_tokens", "gen_ai.request.max_tokens", int),
    ("max_new_tokens", "gen_ai.request.max_tokens", int),
    ("frequency_penalty", "gen_ai.request.frequency_penalty", float),
    ("presence_penalty", "gen_ai.request.presence_penalty", float),
    ("seed", "gen_ai.request.seed", int),
)


def _number(value: Any, kind: type) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if kind is int:
        return int(value) if float(value).is_integer() else None
    return float(value)


def genai_attributes(
    span_type: str,
    attributes: dict[str, Any],
    inputs: Any,
    outputs: Any,
    *,
    name: str | None = None,
) -> dict[str, Any]:
    """The GenAI semconv attributes of a span of ``span_type`` with these (our) attributes,
    inputs and outputs, as plain values (``shapes.plain``); ``name``: the span name
    (``gen_ai.tool.name`` of a TOOL span)."""
    operation = _OPERATIONS.get(span_type)
    if span_type == "LLM":
        prompted = isinstance(inputs, dict) and ("prompts" in inputs or "prompt" in inputs)
        operation = "text_completion" if prompted or isinstance(inputs, str) else "chat"
    if operation is None:
        return {}
    out: dict[str, Any] = {OPERATION_NAME: operation}
    provider = attributes.get(keys.PROVIDER)
    if isinstance(provider, str) and provider:
        out[PROVIDER_NAME] = provider
        out[SYSTEM] = provider
    _models(attributes, inputs, outputs, out)
    _usage(attributes, out)
    if span_type in shapes.LLM_TYPES:
        _chat(attributes, inputs, outputs, out)
    elif span_type == "TOOL":
        if name:
            out[TOOL_NAME] = name
        description = attributes.get("description")
        if isinstance(description, str) and description:
            out[TOOL_DESCRIPTION] = description
    return out


def _models(attributes: dict[str, Any], inputs: Any, outputs: Any, out: dict[str, Any]) -> None:
    model = attributes.get(keys.MODEL)
    model = model if isinstance(model, str) and model else None
    requested = inputs.get("model") if isinstance(inputs, dict) else None
    answered = outputs.get("model") if isinstance(outputs, dict) else None
    if answered is None and hasattr(outputs, "model"):  # a vendor response object
        answered = getattr(outputs, "model", None)
    requested = requested if isinstance(requested, str) and requested else model
    answered = answered if isinstance(answered, str) and answered else model
    if requested:
        out[REQUEST_MODEL] = requested
    if answered:
        out[RESPONSE_MODEL] = answered


def _usage(attributes: dict[str, Any], out: dict[str, Any]) -> None:
    counts = shapes.usage(attributes)
    if "prompt_total" in counts:
        out[INPUT_TOKENS] = counts["prompt_total"]
    if keys.OUTPUT_TOKENS in counts:
        out[OUTPUT_TOKENS] = counts[keys.OUTPUT_TOKENS]
    for ours, theirs in (
        ("cache_read_input_tokens", CACHE_READ),
        ("cache_creation_input_tokens", CACHE_CREATION),
    ):
        if ours in counts:
            for key in theirs:
                out[key] = counts[ours]


def _chat(attributes: dict[str, Any], inputs: Any, outputs: Any, out: dict[str, Any]) -> None:
    messages = shapes.input_messages(inputs)
    if messages:
        out[INPUT_MESSAGES] = shapes.json_text(messages)
    system = shapes.system_instructions(inputs)
    if system:
        out[SYSTEM_INSTRUCTIONS] = shapes.json_text(system)
    answers = shapes.output_messages(outputs)
    if answers:
        out[OUTPUT_MESSAGES] = shapes.json_text(answers)
        reasons = [str(m["finish_reason"]) for m in answers if m.get("finish_reason")]
        if reasons:
            out[FINISH_REASONS] = tuple(reasons)
    if isinstance(outputs, dict) and isinstance(outputs.get("id"), str):
        out[RESPONSE_ID] = outputs["id"]
    tools = shapes.tool_definitions(attributes, inputs)
    if tools:
        out[TOOL_DEFINITIONS] = shapes.json_text(
            [
                {k: v for k, v in tool.items() if k != "json_schema" and v is not None}
                for tool in tools
            ]
        )
    params = shapes.invocation_parameters(attributes, inputs)
    for ours, theirs, kind in _REQUEST:
        value = _number(params.get(ours), kind)
        if value is not None and theirs not in out:
            out[theirs] = value
    stop = params.get("stop", params.get("stop_sequences"))
    if isinstance(stop, str):
        stop = [stop]
    if isinstance(stop, list) and stop and all(isinstance(s, str) for s in stop):
        out["gen_ai.request.stop_sequences"] = tuple(stop)
    count = _number(params.get("n"), int)
    if count is not None and count != 1:
        out["gen_ai.request.choice.count"] = count
