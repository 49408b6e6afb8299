"""A span's OpenInference attributes (Arize Phoenix, Arize), from what the span holds.

Key names follow the OpenInference semantic conventions,
``Arize-ai/openinference`` ``spec/semantic_conventions.md`` (and ``spec/llm_spans.md``):

- every span: ``openinference.span.kind``; ``input.value`` / ``output.value`` with
  ``input.mime_type`` / ``output.mime_type`` (``text/plain`` for a string, else
  ``application/json``);
- LLM and CHAT_MODEL spans: ``llm.input_messages.{i}.message.role`` / ``.message.content``
  (or ``.message.contents.{j}.message_content.type`` / ``.text`` / ``.image.image.url`` when
  a message has several parts), ``.message.tool_calls.{j}.tool_call.id`` /
  ``.tool_call.function.name`` / ``.tool_call.function.arguments``, ``.message.tool_call_id``,
  ``.message.name``; the same under ``llm.output_messages.{i}``; ``llm.tools.{i}.tool.name``
  / ``.tool.description`` / ``.tool.json_schema``; ``llm.invocation_parameters`` (JSON);
  ``llm.finish_reason``;
- any span with ``mlflow.llm.model`` / ``mlflow.llm.provider`` / ``mlflow.chat.tokenUsage``:
  ``llm.model_name``, ``llm.provider`` and ``llm.system`` (both the provider name: our
  instrumentations call the vendor's own API), ``llm.token_count.prompt`` /
  ``.completion`` / ``.total``, ``llm.token_count.prompt_details.cache_read`` /
  ``.cache_write``;
- RETRIEVER spans: ``retrieval.documents.{i}.document.id`` / ``.content`` / ``.metadata``
  (JSON) / ``.score``; RERANKER spans: ``reranker.output_documents.{i}.document.*``;
- EMBEDDING spans: ``embedding.model_name``, ``embedding.embeddings.{i}.embedding.text``;
- TOOL spans: ``tool.name`` (the span name), ``tool.description`` when recorded.

``llm.token_count.prompt`` counts all input tokens, cached ones included (Anthropic reports
those apart; OpenAI's ``prompt_tokens`` already includes them). Sizes are bounded as in
``semconv_shapes``; a JSON attribute is ``shapes.json_text`` output, bounded by ``MAX_JSON_CHARS``.
"""

from __future__ import annotations

from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.serialization import dumps
from mlflow_trace_nb.exporters import semconv_shapes as shapes

__all__ = ["OPENINFERENCE_KINDS", "openinference_attributes"]

#: Our span types -> OpenInference span kinds.
OPENINFERENCE_KINDS = {
    "LLM": "LLM",
    "CHAT_MODEL": "LLM",
    "CHAIN": "CHAIN",
    "AGENT": "AGENT",
    "TOOL": "TOOL",
    "RETRIEVER": "RETRIEVER",
    "EMBEDDING": "EMBEDDING",
    "RERANKER": "RERANKER",
    "PARSER": "CHAIN",
    "UNKNOWN": "UNKNOWN",
}

SPAN_KIND = "openinference.span.kind"
INPUT_MESSAGES = "llm.input_messages"
OUTPUT_MESSAGES = "llm.output_messages"
TOOLS = "llm.tools"
INVOCATION_PARAMETERS = "llm.invocation_parameters"
MODEL_NAME = "llm.model_name"
PROVIDER = "llm.provider"
SYSTEM = "llm.system"
FINISH_REASON = "llm.finish_reason"
RETRIEVAL_DOCUMENTS = "retrieval.documents"
RERANKER_OUTPUT_DOCUMENTS = "reranker.output_documents"
EMBEDDING_MODEL_NAME = "embedding.model_name"
EMBEDDINGS = "embedding.embeddings"
TOOL_NAME = "tool.name"
TOOL_DESCRIPTION = "tool.description"
_TOKENS = (
    ("prompt_total", "llm.token_count.prompt"),
    (keys.OUTPUT_TOKENS, "llm.token_count.completion"),
    ("cache_read_input_tokens", "llm.token_count.prompt_details.cache_read"),
    ("cache_creation_input_tokens", "llm.token_count.prompt_details.cache_write"),
)


def payload_attributes(prefix: str, value: Any, text: str | None) -> dict[str, Any]:
    """``{prefix}.value`` and ``{prefix}.mime_type`` (``text`` is ``dumps(value)`` when the
    caller already has it)."""
    if isinstance(value, str):
        return {prefix + ".value": value, prefix + ".mime_type": "text/plain"}
    return {
        prefix + ".value": text if text is not None else dumps(value),
        prefix + ".mime_type": "application/json",
    }


def openinference_attributes(
    span_type: str,
    attributes: dict[str, Any],
    inputs: Any,
    outputs: Any,
    *,
    name: str | None = None,
    texts: tuple[str | None, str | None] = (None, None),
) -> dict[str, Any]:
    """The OpenInference attributes of a span of ``span_type`` with these (our) attributes,
    inputs and outputs, as plain values (``shapes.plain``); ``name`` is the span name
    (``tool.name`` of a TOOL span), ``texts`` the JSON texts of inputs and outputs if
    already made."""
    out: dict[str, Any] = {SPAN_KIND: OPENINFERENCE_KINDS.get(span_type, "UNKNOWN")}
    if inputs is not None:
        out.update(payload_attributes("input", inputs, texts[0]))
    if outputs is not None:
        out.update(payload_attributes("output", outputs, texts[1]))
    _model_attributes(attributes, out)
    if span_type in shapes.LLM_TYPES:
        _llm_attributes(attributes, inputs, outputs, out)
    elif span_type == "RETRIEVER":
        _documents(RETRIEVAL_DOCUMENTS, shapes.documents(outputs), out)
    elif span_type == "RERANKER":
        _documents(RERANKER_OUTPUT_DOCUMENTS, shapes.documents(outputs), out)
    elif span_type == "EMBEDDING":
        _embedding_attributes(attributes, inputs, out)
    elif span_type == "TOOL":
        if name:
            out[TOOL_NAME] = name
        description = attributes.get("description")
        if isinstance(description, str) and description:
            out[TOOL_DESCRIPTION] = description
    return out


def _model_attributes(attributes: dict[str, Any], out: dict[str, Any]) -> None:
    model = attributes.get(keys.MODEL)
    if isinstance(model, str) and model:
        out[MODEL_NAME] = model
    provider = attributes.get(keys.PROVIDER)
    if isinstance(provider, str) and provider:
        out[PROVIDER] = provider
        out[SYSTEM] = provider
    counts = shapes.usage(attributes)
    for ours, theirs in _TOKENS:
        if ours in counts:
            out[theirs] = counts[ours]
    if "prompt_total" in counts or keys.OUTPUT_TOKENS in counts:
        out["llm.token_count.total"] = counts.get("prompt_total", 0) + counts.get(
            keys.OUTPUT_TOKENS, 0
        )


def _llm_attributes(
    attributes: dict[str, Any], inputs: Any, outputs: Any, out: dict[str, Any]
) -> None:
    messages = shapes.input_messages(inputs)
    system = shapes.system_instructions(inputs)
    if system:
        messages.insert(0, {"role": "system", "parts": system})
    for i, message in enumerate(messages):
        _message(f"{INPUT_MESSAGES}.{i}.", message, out)
    answers = shapes.output_messages(outputs)
    for i, message in enumerate(answers):
        _message(f"{OUTPUT_MESSAGES}.{i}.", message, out)
    reasons = [m["finish_reason"] for m in answers if m.get("finish_reason")]
    if reasons:
        out[FINISH_REASON] = reasons[0]
    for i, tool in enumerate(shapes.tool_definitions(attributes, inputs)):
        prefix = f"{TOOLS}.{i}.tool."
        if tool["name"]:
            out[prefix + "name"] = str(tool["name"])
        if tool["description"]:
            out[prefix + "description"] = str(tool["description"])
        out[prefix + "json_schema"] = shapes.json_text(tool["json_schema"])
    params = shapes.invocation_parameters(attributes, inputs)
    if params:
        out[INVOCATION_PARAMETERS] = shapes.json_text(params)


def _message(prefix: str, message: dict[str, Any], out: dict[str, Any]) -> None:
    """One message under ``prefix`` (``llm.input_messages.{i}.``)."""
    parts = message["parts"]
    responses = [p for p in parts if p["type"] == "tool_call_response"]
    role = "tool" if responses and len(responses) == len(parts) else message["role"]
    out[prefix + "message.role"] = role
    if message.get("name"):
        out[prefix + "message.name"] = message["name"]
    if responses and role == "tool":
        if responses[0].get("id") is not None:
            out[prefix + "message.tool_call_id"] = str(responses[0]["id"])
        out[prefix + "message.content"] = "\n".join(p["response"] for p in responses)
        return
    shown = [p for p in parts if p["type"] in ("text", "reasoning", "image", "tool_call_response")]
    if len(shown) == 1 and shown[0]["type"] == "text":
        out[prefix + "message.content"] = shown[0]["content"]
    else:
        for j, part in enumerate(shown):
            at = f"{prefix}message.contents.{j}.message_content."
            if part["type"] == "image":
                out[at + "type"] = "image"
                out[at + "image.image.url"] = part["url"]
            else:
                out[at + "type"] = "reasoning" if part["type"] == "reasoning" else "text"
                out[at + "text"] = part.get("content", part.get("response", ""))
    calls = [p for p in parts if p["type"] == "tool_call"]
    for j, call in enumerate(calls):
        at = f"{prefix}message.tool_calls.{j}.tool_call."
        if call.get("id") is not None:
            out[at + "id"] = str(call["id"])
        if call.get("name") is not None:
            out[at + "function.name"] = str(call["name"])
        out[at + "function.arguments"] = call["arguments"]


def _embedding_attributes(attributes: dict[str, Any], inputs: Any, out: dict[str, Any]) -> None:
    """``embedding.model_name`` and the embedded texts (the vectors are left out: large, and
    in ``output.value`` already)."""
    model = attributes.get(keys.MODEL)
    if isinstance(model, str) and model:
        out[EMBEDDING_MODEL_NAME] = model
    texts = inputs.get("input", inputs.get("texts")) if isinstance(inputs, dict) else inputs
    if isinstance(texts, str):
        texts = [texts]
    if isinstance(texts, list):
        for i, text in enumerate(t for t in texts[: shapes.MAX_ITEMS] if isinstance(t, str)):
            out[f"{EMBEDDINGS}.{i}.embedding.text"] = shapes.clip(text)


def _documents(prefix: str, docs: list[dict[str, Any]], out: dict[str, Any]) -> None:
    for i, doc in enumerate(docs):
        at = f"{prefix}.{i}.document."
        out[at + "content"] = doc["content"]
        if "id" in doc:
            out[at + "id"] = doc["id"]
        if "metadata" in doc:
            out[at + "metadata"] = shapes.json_text(doc["metadata"])
        if "score" in doc:
            out[at + "score"] = doc["score"]
