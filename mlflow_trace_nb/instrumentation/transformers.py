"""``instrument_transformers()``: Hugging Face pipelines and ``generate()`` become spans.

Two methods are wrapped through the shared patching mechanism:

- ``Pipeline.__call__`` (every pipeline subclass calls it): a span named after the pipeline
  class, type ``LLM`` for generative tasks, ``EMBEDDING`` for feature extraction, else
  ``UNKNOWN``; inputs are the pipeline's inputs and call parameters, outputs its result.
- ``GenerationMixin.generate``: a span ``<ModelClass>.generate`` of type ``LLM`` nested under
  the pipeline span when a pipeline calls it; token counts go here (and only here, so the
  per-trace sum counts them once).

Both carry ``mlflow.llm.model`` (the model's ``name_or_path``), ``mlflow.llm.provider`` =
``"transformers"``, the task, and ``generation_params``: the model's generation config where
it differs from the defaults, overridden by the parameters of the call. Tensors are recorded
as ``{"shape", "dtype", "first_ids"}`` summaries, never in full. A pipeline given an iterator
or a dataset returns a lazy iterator: its span ends at once and the ``generate()`` calls made
while it is consumed are traced on their own.

Nothing here imports ``transformers`` (or torch) until ``instrument()`` runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.tracer.live_span import LiveSpan
from mlflow_trace_nb.instrumentation._patching import (
    Instrumentation,
    SpanRequest,
    activate,
    traced_call,
)
from mlflow_trace_nb.instrumentation._schema import (
    token_usage,
)
from mlflow_trace_nb.tracing.provider import SpanType

__all__ = ["instrument", "summarise"]

NAME = "transformers"
TASK_ATTRIBUTE = "transformers.task"
PARAMS_ATTRIBUTE = "generation_params"
_GENERATIVE_TASKS = frozenset(
    {
        "text-generation",
        "text2text-generation",
        "summarization",
        "translation",
        "image-text-to-text",
        "image-to-text",
        "any-to-any",
        "conversational",
    }
)
_EMBEDDING_TASKS = frozenset({"feature-extraction", "sentence-similarity"})
_FIRST_IDS = 16  # token ids shown in a tensor summary
_MAX_ITEMS = 100  # items of a list kept when summarising
_SIMPLE = (bool, int, float, str, type(None))
#: Generation-config keys that are bookkeeping rather than generation parameters.
_CONFIG_NOISE = frozenset(
    {"transformers_version", "use_cache", "output_attentions", "output_hidden_states"}
)


def instrument() -> Instrumentation:
    """Trace ``transformers`` pipelines and ``generate()`` calls.

    Example::

        mlflow.tracing.instrument_transformers()
        generator = pipeline("text-generation", model=path)
        generator("Once upon a time", max_new_tokens=20)  # pipeline span > generate span
    """
    return activate(NAME, _install)


def _install(handle: Instrumentation) -> None:
    from transformers.generation.utils import GenerationMixin
    from transformers.pipelines.base import Pipeline

    handle.wrap(Pipeline, "__call__", _wrap_pipeline_call)
    handle.wrap(GenerationMixin, "generate", _wrap_generate)


# Summaries ------------------------------------------------------------------------------
def _is_tensor(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype") and hasattr(value, "flatten")


def summarise(value: Any, depth: int = 0) -> Any:
    """``value`` with tensors/arrays replaced by shape/dtype/first-ids summaries."""
    if isinstance(value, _SIMPLE):
        return value
    if _is_tensor(value):
        summary: dict[str, Any] = {"shape": list(value.shape), "dtype": str(value.dtype)}
        if "int" in str(value.dtype):
            summary["first_ids"] = value.flatten()[:_FIRST_IDS].tolist()
        return summary
    if depth >= 3:
        return value if isinstance(value, _SIMPLE) else type(value).__name__
    if isinstance(value, (list, tuple)):
        items = [summarise(item, depth + 1) for item in list(value)[:_MAX_ITEMS]]
        if len(value) > _MAX_ITEMS:
            items.append(f"... {len(value) - _MAX_ITEMS} more")
        return items
    if isinstance(value, dict):
        return {str(k): summarise(v, depth + 1) for k, v in list(value.items())[:_MAX_ITEMS]}
    if type(value).__module__.startswith(("PIL.", "transformers.", "torch.")):
        size = getattr(value, "size", None)
        return {"type": type(value).__name__, **({"size": list(size)} if size else {})}
    return value


def _model_id(model: Any) -> str | None:
    name = getattr(model, "name_or_path", None)
    if not name:
        config = getattr(model, "config", None)
        name = getattr(config, "_name_or_path", None) or getattr(config, "model_type", None)
    return str(name) if name else None


def _config_params(config: Any) -> dict[str, Any]:
    """A generation config's non-default values (internal bookkeeping keys dropped)."""
    if config is None or not hasattr(config, "to_diff_dict"):
        return {}
    diff = config.to_diff_dict()
    return {
        k: v
        for k, v in diff.items()
        if not k.startswith("_") and k not in _CONFIG_NOISE and isinstance(v, _SIMPLE)
    }


def _call_params(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The plain-valued keyword arguments of a call (tensors and objects left out)."""
    return {k: v for k, v in kwargs.items() if isinstance(v, _SIMPLE) and not k.startswith("_")}


def _attributes(model: Any, task: str | None, params: dict[str, Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = {keys.PROVIDER: "transformers"}
    model_id = _model_id(model)
    if model_id:
        attributes[keys.MODEL] = model_id
    if task:
        attributes[TASK_ATTRIBUTE] = task
    if params:
        attributes[PARAMS_ATTRIBUTE] = params
    return attributes


# Pipelines ------------------------------------------------------------------------------
def _wrap_pipeline_call(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def __call__(*args: Any, **kwargs: Any) -> Any:
        return traced_call(original, args, kwargs, _describe_pipeline, _finish_pipeline)

    return __call__


def _describe_pipeline(args: tuple[Any, ...], kwargs: dict[str, Any]) -> SpanRequest | None:
    if not args:
        return None
    pipe = args[0]
    task = getattr(pipe, "task", None)
    if task in _GENERATIVE_TASKS:
        span_type = SpanType.LLM
    elif task in _EMBEDDING_TASKS:
        span_type = SpanType.EMBEDDING
    else:
        span_type = SpanType.UNKNOWN
    rest = dict(kwargs)
    value = args[1] if len(args) > 1 else rest.pop("inputs", rest.pop("text_inputs", None))
    inputs = {"inputs": summarise(value), **summarise(rest)}
    params: dict[str, Any] = {}
    if span_type == SpanType.LLM:
        config = getattr(pipe, "generation_config", None)
        if config is None:
            config = getattr(getattr(pipe, "model", None), "generation_config", None)
        params.update(_config_params(config))
    params.update(_call_params(rest))
    attributes = _attributes(getattr(pipe, "model", None), task, params)
    return SpanRequest(type(pipe).__name__, span_type, inputs, attributes)


def _finish_pipeline(span: LiveSpan, result: Any) -> Any:
    if isinstance(result, (list, tuple, dict, str)) or _is_tensor(result):
        span.set_outputs(summarise(result))
    else:  # a lazy iterator over a dataset: traced per generate() call as it is consumed
        span.set_outputs({"type": type(result).__name__})
    span.end()
    return result


# generate() -----------------------------------------------------------------------------
def _wrap_generate(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def generate(*args: Any, **kwargs: Any) -> Any:
        counts: dict[str, Any] = {}

        def describe(a: tuple[Any, ...], k: dict[str, Any]) -> SpanRequest | None:
            return _describe_generate(a, k, counts)

        def finish(span: LiveSpan, result: Any) -> Any:
            return _finish_generate(span, result, counts)

        return traced_call(original, args, kwargs, describe, finish)

    return generate


def _describe_generate(
    args: tuple[Any, ...], kwargs: dict[str, Any], counts: dict[str, Any]
) -> SpanRequest | None:
    if not args:
        return None
    model = args[0]
    input_ids: Any = args[1] if len(args) > 1 else kwargs.get("input_ids", kwargs.get("inputs"))
    config = kwargs.get("generation_config") or getattr(model, "generation_config", None)
    params = {**_config_params(config), **_call_params(kwargs)}
    inputs: dict[str, Any] = {"input_ids": summarise(input_ids)}
    for key, value in kwargs.items():
        if key in ("input_ids", "inputs"):
            continue
        simple = _is_tensor(value) or isinstance(value, _SIMPLE)
        inputs[key] = summarise(value) if simple else type(value).__name__
    if _is_tensor(input_ids) and len(input_ids.shape) == 2:
        counts["input_length"] = int(input_ids.shape[1])
        mask: Any = kwargs.get("attention_mask")
        counts["input_tokens"] = (
            int(mask.sum()) if _is_tensor(mask) else int(input_ids.shape[0] * input_ids.shape[1])
        )
    counts["encoder_decoder"] = bool(
        getattr(getattr(model, "config", None), "is_encoder_decoder", False)
    )
    counts["pad_token_id"] = getattr(config, "pad_token_id", None)
    attributes = _attributes(model, None, params)
    return SpanRequest(f"{type(model).__name__}.generate", SpanType.LLM, inputs, attributes)


def _finish_generate(span: LiveSpan, result: Any, counts: dict[str, Any]) -> Any:
    sequences = getattr(result, "sequences", result)
    outputs: dict[str, Any] = {"sequences": summarise(sequences)}
    if _is_tensor(sequences) and len(sequences.shape) == 2:
        start = 0 if counts.get("encoder_decoder") else counts.get("input_length", 0)
        new = sequences[:, start:]
        pad = counts.get("pad_token_id")
        output_tokens = int((new != pad).sum()) if isinstance(pad, int) else int(new.numel())
        outputs["new_token_ids"] = new[0][: _FIRST_IDS * 2].tolist()
        usage = token_usage(counts.get("input_tokens"), output_tokens)
        if usage is not None:
            span.set_attribute(keys.TOKEN_USAGE, usage)
    span.set_outputs(outputs)
    span.end()
    return result
