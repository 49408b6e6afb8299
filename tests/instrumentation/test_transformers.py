"""instrument_transformers(): a real tiny GPT-2 (built offline), real pipelines and generate()."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The `transformers` extra (and PyTorch) is optional: the drift jobs run without it.
pytest.importorskip("torch")
pytest.importorskip("transformers")

os.environ["HF_HUB_OFFLINE"] = "1"

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.instrumentation import instrument_transformers, uninstrument_transformers
from mlflow_trace_nb.instrumentation import transformers as tf_instrumentation
from mlflow_trace_nb.instrumentation._patching import is_active
from mlflow_trace_nb.tracing.provider import SpanType
from tests.helpers import by_name, last_trace
from tests.instrumentation.tiny_models import build_tiny_gpt2


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, Any]:
    path = tmp_path_factory.mktemp("tiny-gpt2")
    model, tokenizer = build_tiny_gpt2(path)
    return path, model, tokenizer


@pytest.fixture(autouse=True)
def instrumented() -> Iterator[None]:
    instrument_transformers()
    yield
    uninstrument_transformers()


def _generator(tiny: tuple[Path, Any, Any]) -> Any:
    from transformers import pipeline

    _, model, tokenizer = tiny
    return pipeline("text-generation", model=model, tokenizer=tokenizer)


def test_pipeline_span_with_nested_generate(tiny: tuple[Path, Any, Any]) -> None:
    generator = _generator(tiny)
    result = generator("the cat sat", max_new_tokens=3, do_sample=False)
    assert result[0]["generated_text"].startswith("the cat sat")
    trace = last_trace()
    spans = by_name(trace)
    pipe = spans["TextGenerationPipeline"]
    gen = spans["GPT2LMHeadModel.generate"]
    assert trace.data.root is not None and trace.data.root.name == "TextGenerationPipeline"
    assert gen.parent_id == pipe.span_id
    assert pipe.span_type == SpanType.LLM and gen.span_type == SpanType.LLM
    assert pipe.inputs == {"inputs": "the cat sat", "max_new_tokens": 3, "do_sample": False}
    assert pipe.outputs == result
    assert pipe.attributes["mlflow.llm.model"] == str(tiny[0])
    assert pipe.attributes["mlflow.llm.provider"] == "transformers"
    assert pipe.attributes["transformers.task"] == "text-generation"
    params = pipe.attributes["generation_params"]
    assert params["max_new_tokens"] == 3 and params["do_sample"] is False
    assert params["pad_token_id"] == 1  # the model's generation config, where not default
    assert "mlflow.chat.tokenUsage" not in pipe.attributes  # counted once, on generate
    assert gen.attributes["mlflow.chat.tokenUsage"] == {
        "input_tokens": 3,
        "output_tokens": 3,
        "total_tokens": 6,
    }
    assert gen.inputs["input_ids"]["shape"] == [1, 3]
    assert gen.outputs["sequences"]["shape"] == [1, 6]
    assert len(gen.outputs["new_token_ids"]) == 3


def test_pipeline_with_a_list_of_prompts(tiny: tuple[Path, Any, Any]) -> None:
    generator = _generator(tiny)
    with mlflow.start_span("batch"):
        results = generator(["hello world", "the dog ran fast"], max_new_tokens=2)
    assert len(results) == 2
    trace = last_trace()
    pipe = next(s for s in trace.spans if s.name == "TextGenerationPipeline")
    assert pipe.inputs["inputs"] == ["hello world", "the dog ran fast"]
    generates = [s for s in trace.spans if s.name == "GPT2LMHeadModel.generate"]
    assert len(generates) == 2 and {g.parent_id for g in generates} == {pipe.span_id}
    usage = [g.attributes["mlflow.chat.tokenUsage"]["input_tokens"] for g in generates]
    assert sorted(usage) == [2, 4]


def test_direct_generate_summarises_tensors(tiny: tuple[Path, Any, Any]) -> None:
    _, model, tokenizer = tiny
    encoded = tokenizer(["the cat sat on", "a dog"], return_tensors="pt", padding=True)

    @mlflow.trace
    def complete() -> Any:
        return model.generate(**encoded, max_new_tokens=4, do_sample=True, temperature=0.7)

    out = complete()
    assert tuple(out.shape) == (2, 8)
    spans = by_name(last_trace())
    gen = spans["GPT2LMHeadModel.generate"]
    assert gen.parent_id == spans["complete"].span_id
    assert gen.inputs["input_ids"] == {
        "shape": [2, 4],
        "dtype": "torch.int64",
        "first_ids": encoded["input_ids"].flatten().tolist(),
    }
    assert gen.inputs["attention_mask"]["shape"] == [2, 4]
    params = gen.attributes["generation_params"]
    assert params["temperature"] == 0.7 and params["max_new_tokens"] == 4
    assert params["do_sample"] is True
    usage = gen.attributes["mlflow.chat.tokenUsage"]
    assert usage["input_tokens"] == int(encoded["attention_mask"].sum())  # padding not counted
    assert usage["output_tokens"] <= 8
    assert gen.outputs["sequences"] == {
        "shape": [2, 8],
        "dtype": "torch.int64",
        "first_ids": out.flatten()[:16].tolist(),
    }


def test_generate_dict_output(tiny: tuple[Path, Any, Any]) -> None:
    _, model, tokenizer = tiny
    encoded = tokenizer("hello", return_tensors="pt")
    out = model.generate(**encoded, max_new_tokens=2, return_dict_in_generate=True)
    assert tuple(out.sequences.shape) == (1, 3)
    gen = by_name(last_trace())["GPT2LMHeadModel.generate"]
    assert gen.outputs["sequences"]["shape"] == [1, 3]
    assert gen.attributes["generation_params"]["return_dict_in_generate"] is True


def test_generate_error_is_recorded_and_raised(tiny: tuple[Path, Any, Any]) -> None:
    _, model, _ = tiny
    with pytest.raises(ValueError):
        model.generate(max_new_tokens=2, num_beams=2, num_return_sequences=3)
    gen = by_name(last_trace())["GPT2LMHeadModel.generate"]
    assert gen.status == "ERROR"
    assert gen.events[0].name == "exception"


def test_non_generative_pipeline(tiny: tuple[Path, Any, Any]) -> None:
    from transformers import pipeline

    _, model, tokenizer = tiny
    extractor = pipeline("feature-extraction", model=model.transformer, tokenizer=tokenizer)
    features = extractor("hello world")
    assert len(features[0]) == 2
    span = by_name(last_trace())["FeatureExtractionPipeline"]
    assert span.span_type == SpanType.EMBEDDING
    assert span.attributes["transformers.task"] == "feature-extraction"
    assert "generation_params" not in span.attributes


def test_failing_describe_never_breaks_generate(
    tiny: tuple[Path, Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, model, tokenizer = tiny

    def broken(*args: Any) -> Any:
        raise RuntimeError("our bug")

    monkeypatch.setattr(tf_instrumentation, "_describe_generate", broken)
    monkeypatch.setattr(tf_instrumentation, "_finish_pipeline", broken)
    encoded = tokenizer("the cat", return_tensors="pt")
    out = model.generate(**encoded, max_new_tokens=2)
    assert tuple(out.shape) == (1, 4)
    result = _generator(tiny)("the cat", max_new_tokens=2)
    assert result[0]["generated_text"].startswith("the cat")
    assert by_name(last_trace())["TextGenerationPipeline"].status == "OK"


def test_summarise_keeps_tensors_small() -> None:
    import torch

    big = torch.arange(10_000).reshape(100, 100)
    summary = tf_instrumentation.summarise({"ids": big, "x": [torch.zeros(3)]})
    assert summary == {
        "ids": {"shape": [100, 100], "dtype": "torch.int64", "first_ids": list(range(16))},
        "x": [{"shape": [3], "dtype": "torch.float32"}],
    }


def test_twice_is_once_and_undo(tiny: tuple[Path, Any, Any]) -> None:
    from transformers.generation.utils import GenerationMixin
    from transformers.pipelines.base import Pipeline

    original_call = Pipeline.__dict__["__call__"].__wrapped__
    original_generate = GenerationMixin.__dict__["generate"].__wrapped__
    assert instrument_transformers() is instrument_transformers()
    _generator(tiny)("hello", max_new_tokens=1)
    assert len(last_trace().spans) == 2
    assert uninstrument_transformers() is True
    assert not is_active("transformers")
    assert Pipeline.__dict__["__call__"] is original_call
    assert GenerationMixin.__dict__["generate"] is original_generate
    mlflow.flush()
    before = last_trace().info.trace_id
    _generator(tiny)("hello", max_new_tokens=1)
    mlflow.flush()
    assert last_trace().info.trace_id == before


def test_importing_the_module_does_not_import_transformers() -> None:
    code = (
        "import sys, mlflow_trace_nb, mlflow_trace_nb.instrumentation.transformers;"
        "print('transformers' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
