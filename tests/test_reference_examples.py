"""The reference's examples (../shared/spec), run as written with ``mlflow`` = mlflow_trace_nb.

Only the import lines are rewritten (``import mlflow`` -> ``import mlflow_trace_nb as mlflow``);
the bodies are verbatim except for their indentation, which the spec's text lost and which is
restored here. The LangChain example needs instrumentation and is not here.
"""

from __future__ import annotations

import re

import pytest

import mlflow_trace_nb as mlflow
from tests.helpers import set_attributes

EXAMPLES: dict[str, str] = {}

EXAMPLES["configure_and_decorate"] = """\
import mlflow
import mlflow.tracing
# Configure tracing
mlflow.tracing.configure(
    disable_propagation=False,
    sampling_rate=1.0 # Trace all requests
)
# Enable tracing with specific experiment
mlflow.tracing.enable(experiment_id="123")
# Enable notebook display for interactive development
mlflow.tracing.enable_notebook_display()
# Simple function tracing
@mlflow.tracing.trace
def process_text(text):
    # Simulate text processing
    processed = text.upper().strip()
    return processed
# Use traced function
result = process_text("hello world")
print(f"Processed: {result}")
# Disable tracing when done
mlflow.tracing.disable()
"""

EXAMPLES["manual_spans_hierarchy"] = """\
import mlflow.tracing
from mlflow.tracing import SpanType, SpanStatus
# Start experiment and enable tracing
mlflow.set_experiment("llm-application")
mlflow.tracing.enable()
# Create manual spans with hierarchy
with mlflow.tracing.trace("user_query_processing", SpanType.CHAIN) as parent_span:
    # Set input data
    mlflow.tracing.set_span_inputs({"query": "What is machine learning?"})
    # Child span for retrieval
    with mlflow.tracing.trace("document_retrieval", SpanType.RETRIEVER) as retrieval_span:
        # Simulate document retrieval
        documents = ["Doc1", "Doc2", "Doc3"]
        mlflow.tracing.set_span_output({"retrieved_docs": documents})
        mlflow.tracing.set_span_attribute("num_documents", len(documents))
    # Child span for LLM processing
    with mlflow.tracing.trace("llm_generation", SpanType.LLM) as llm_span:
        mlflow.tracing.set_span_inputs({
            "prompt": "Answer based on context",
            "context": documents
        })
        # Simulate LLM call
        response = "Machine learning is a subset of AI..."
        mlflow.tracing.set_span_output({"response": response})
        mlflow.tracing.set_span_attribute("model_name", "gpt-4")
        mlflow.tracing.set_span_attribute("tokens_used", 150)
    # Set final output
    mlflow.tracing.set_span_output({"final_answer": response})
"""

EXAMPLES["mlflow_trace_decorators"] = """\
import mlflow.tracing
from mlflow.tracing import mlflow_trace
# Decorate functions for automatic tracing
@mlflow_trace(span_type=SpanType.EMBEDDING)
def get_embeddings(texts):
    '''Get embeddings for list of texts.'''
    # Simulate embedding generation
    embeddings = [[0.1, 0.2, 0.3] for _ in texts]
    return embeddings
@mlflow_trace(span_type=SpanType.RETRIEVER)
def retrieve_documents(query_embedding, top_k=5):
    '''Retrieve relevant documents.'''
    # Simulate document retrieval
    documents = [f"Document {i}" for i in range(top_k)]
    return documents
@mlflow_trace(span_type=SpanType.LLM)
def generate_response(query, context_docs):
    '''Generate response using LLM.'''
    # Simulate LLM generation
    response = f"Based on {len(context_docs)} documents: Answer here"
    return response
# Enable tracing
mlflow.tracing.enable()
# Use instrumented functions - traces created automatically
query = "What is MLflow?"
query_embedding = get_embeddings([query])
relevant_docs = retrieve_documents(query_embedding[0])
response = generate_response(query, relevant_docs)
print(f"Response: {response}")
"""

EXAMPLES["error_handling"] = """\
import mlflow.tracing
from mlflow.tracing import SpanStatus
mlflow.tracing.enable()
def risky_operation(data):
    '''Function that might fail.'''
    if len(data) == 0:
        raise ValueError("Empty data provided")
    return sum(data)
# Handle errors in traces
with mlflow.tracing.trace("data_processing") as span:
    try:
        mlflow.tracing.set_span_inputs({"data": [1, 2, 3]})
        result = risky_operation([1, 2, 3])
        mlflow.tracing.set_span_output({"result": result})
        # Span automatically gets OK status
    except Exception as e:
        # Record exception in span
        mlflow.tracing.add_span_exception(e)
        # Span automatically gets ERROR status
        raise
# Example with empty data (will fail)
try:
    with mlflow.tracing.trace("failing_operation") as span:
        mlflow.tracing.set_span_inputs({"data": []})
        result = risky_operation([])
except ValueError as e:
    print(f"Operation failed: {e}")
"""

EXAMPLES["chat_tools"] = """\
import mlflow.tracing
from mlflow.tracing import SpanType
mlflow.tracing.enable()
# Simulate chat model with tools
def chat_with_tools(messages, tools=None):
    '''Simulate chat model with tool calling capability.'''
    with mlflow.tracing.trace("chat_completion", SpanType.CHAT_MODEL) as span:
        # Set chat tools if provided
        if tools:
            mlflow.tracing.set_span_chat_tools(tools)
        # Set input messages
        mlflow.tracing.set_span_inputs({
            "messages": messages,
            "tools": tools or []
        })
        # Set model attributes
        mlflow.tracing.set_span_attributes({
            "model_name": "gpt-4-turbo",
            "temperature": 0.7,
            "max_tokens": 1000
        })
        # Simulate tool calling
        if tools and "calculator" in [t["name"] for t in tools]:
            with mlflow.tracing.trace("tool_call", SpanType.TOOL) as tool_span:
                mlflow.tracing.set_span_inputs({
                    "tool_name": "calculator",
                    "arguments": {"expression": "2 + 2"}
                })
                tool_result = 4
                mlflow.tracing.set_span_output({"result": tool_result})
        # Generate final response
        response = {
            "role": "assistant",
            "content": "The calculation result is 4."
        }
        mlflow.tracing.set_span_output({"response": response})
        return response
# Define available tools
tools = [
    {
        "name": "calculator",
        "description": "Perform mathematical calculations",
        "parameters": {
            "type": "object",
            "properties": {
                "expression": {"type": "string"}
            }
        }
    }
]
# Use chat model with tools
messages = [{"role": "user", "content": "What is 2 + 2?"}]
response = chat_with_tools(messages, tools=tools)
"""

# search_traces returns a DataFrame by default (decisions.md, 3), while this example iterates
# Trace objects: the one change made to it is return_type="list" (see test_trace_analysis).
EXAMPLES["trace_analysis"] = """\
import mlflow
import mlflow.tracing
# Set up experiment
mlflow.set_experiment("trace_analysis")
mlflow.tracing.enable()
# Generate some traces
for i in range(5):
    with mlflow.tracing.trace(f"operation_{i}") as span:
        mlflow.tracing.set_span_inputs({"iteration": i})
        # Simulate varying execution times
        import time
        time.sleep(0.1 * i)
        mlflow.tracing.set_span_output({"processed": True})
# Retrieve and analyze traces
experiment = mlflow.get_experiment_by_name("trace_analysis")
traces = mlflow.tracing.search_traces(
    experiment_ids=[experiment.experiment_id],
    max_results=10
)
print(f"Found {len(traces)} traces")
for trace in traces:
    print(f"Trace ID: {trace.request_id}")
    print(f" Start time: {trace.timestamp_ms}")
    print(f" Duration: {trace.execution_time_ms}ms")
    print(f" Status: {trace.status}")
    # Analyze spans
    for span in trace.spans:
        print(f" Span: {span.name} ({span.span_type})")
        print(f" Duration: {span.end_time_ns - span.start_time_ns}ns")
        if span.inputs:
            print(f" Inputs: {span.inputs}")
        if span.outputs:
            print(f" Outputs: {span.outputs}")
# Get specific trace
if traces:
    last_trace = mlflow.tracing.get_trace(traces[0].request_id)
    print(f"\\nDetailed trace: {last_trace.request_id}")
    print(f"Execution time: {last_trace.execution_time_ms}ms")
"""


def as_drop_in(source: str) -> str:
    """Point the example's imports at mlflow_trace_nb; leave everything else untouched."""
    source = re.sub(
        r"^import mlflow(\.tracing)?$", "import mlflow_trace_nb as mlflow", source, flags=re.M
    )
    return source.replace("from mlflow.tracing import", "from mlflow_trace_nb.tracing import")


def run(name: str) -> dict[str, object]:
    namespace: dict[str, object] = {"__name__": f"example_{name}"}
    exec(compile(as_drop_in(EXAMPLES[name]), f"<example {name}>", "exec"), namespace)
    return namespace


def test_configure_and_decorate(capsys: pytest.CaptureFixture[str]) -> None:
    run("configure_and_decorate")
    assert "Processed: HELLO WORLD" in capsys.readouterr().out
    assert not mlflow.tracing.is_enabled()  # the example disables tracing at the end
    mlflow.tracing.enable(experiment_id="123")
    (row,) = mlflow.analysis_frame(experiment_ids=["123"]).itertuples()
    assert row.name == "process_text" and row.response == "HELLO WORLD"


def test_manual_spans_hierarchy() -> None:
    run("manual_spans_hierarchy")
    experiment = mlflow.get_experiment_by_name("llm-application")
    assert experiment is not None
    (trace,) = mlflow.search_traces(experiment_ids=[experiment.experiment_id], return_type="list")
    spans = {s.name: s for s in trace.spans}
    root = spans["user_query_processing"]
    assert root.span_type == "CHAIN"
    assert root.inputs == {"query": "What is machine learning?"}
    assert root.outputs == {"final_answer": "Machine learning is a subset of AI..."}
    assert spans["document_retrieval"].parent_id == root.span_id
    assert set_attributes(spans["document_retrieval"]) == {"num_documents": 3}
    assert set_attributes(spans["llm_generation"]) == {"model_name": "gpt-4", "tokens_used": 150}
    assert spans["llm_generation"].span_type == "LLM"


def test_mlflow_trace_decorators(capsys: pytest.CaptureFixture[str]) -> None:
    # The example uses SpanType without importing it (a slip in the reference); provide it.
    source = as_drop_in(EXAMPLES["mlflow_trace_decorators"])
    exec(compile(source, "<example>", "exec"), {"SpanType": mlflow.SpanType})
    assert "Response: Based on 5 documents: Answer here" in capsys.readouterr().out
    traces = mlflow.search_traces(return_type="list")
    assert [t.name for t in traces] == ["generate_response", "retrieve_documents", "get_embeddings"]
    assert traces[1].spans[0].inputs == {"query_embedding": [0.1, 0.2, 0.3], "top_k": 5}
    assert traces[2].spans[0].span_type == "EMBEDDING"


def test_error_handling(capsys: pytest.CaptureFixture[str]) -> None:
    run("error_handling")
    assert "Operation failed: Empty data provided" in capsys.readouterr().out
    failing, ok = mlflow.search_traces(return_type="list")
    assert ok.name == "data_processing" and ok.status == "OK"
    assert ok.spans[0].outputs == {"result": 6}
    assert failing.name == "failing_operation" and failing.status == "ERROR"
    event = failing.spans[0].events[0]
    assert event.name == "exception"
    assert event.attributes["exception.message"] == "Empty data provided"


def test_chat_tools() -> None:
    namespace = run("chat_tools")
    assert namespace["response"] == {"role": "assistant", "content": "The calculation result is 4."}
    (trace,) = mlflow.search_traces(return_type="list")
    chat, tool = trace.spans
    assert chat.span_type == "CHAT_MODEL" and tool.span_type == "TOOL"
    assert chat.attributes["mlflow.chat.tools"][0]["name"] == "calculator"
    assert chat.attributes["temperature"] == 0.7
    assert tool.parent_id == chat.span_id
    assert tool.outputs == {"result": 4}


def test_trace_analysis(capsys: pytest.CaptureFixture[str]) -> None:
    source = EXAMPLES["trace_analysis"].replace(
        "max_results=10", "max_results=10, return_type='list'"
    )
    exec(compile(as_drop_in(source), "<example>", "exec"), {})
    out = capsys.readouterr().out
    assert "Found 5 traces" in out
    assert "Span: operation_4 (UNKNOWN)" in out
    assert "Inputs: {'iteration': 0}" in out
    assert "Detailed trace: tr-" in out
    durations = [int(m) for m in re.findall(r"Duration: (\d+)ms", out)]
    assert durations[0] >= 400  # newest first: operation_4 slept 0.4 s
