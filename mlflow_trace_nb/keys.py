"""Every span attribute, trace tag and metadata key the package reads or writes.

The names are MLflow's (``mlflow/tracing/constant.py``) where MLflow has one, so code that
reads MLflow traces reads ours, and an MLflow server receiving our export sees its own keys.
This module imports nothing: every layer may use it.
"""

from __future__ import annotations

# Span attributes (MLflow's SpanAttributeKey)
TOKEN_USAGE = "mlflow.chat.tokenUsage"
CHAT_TOOLS = "mlflow.chat.tools"
MESSAGE_FORMAT = "mlflow.message.format"
MODEL = "mlflow.llm.model"
PROVIDER = "mlflow.llm.provider"
SPAN_TYPE = "mlflow.spanType"
SPAN_INPUTS = "mlflow.spanInputs"
SPAN_OUTPUTS = "mlflow.spanOutputs"
SPAN_FUNCTION_NAME = "mlflow.spanFunctionName"
SPAN_LOG_LEVEL = "mlflow.spanLogLevel"
SPAN_DESCRIPTION = "mlflow.spanDescription"
TRACE_REQUEST_ID = "mlflow.traceRequestId"
EXPERIMENT_ID = "mlflow.experimentId"

# A traced generator's span events, one per yielded item (MLflow's STREAM_CHUNK_EVENT_*)
STREAM_CHUNK_EVENT = "mlflow.chunk.item.{index}"
STREAM_CHUNK_VALUE = "mlflow.chunk.value"
#: Span attribute (ours): items a traced generator yielded past its chunk-event cap
DROPPED_CHUNK_EVENTS = "mlflow_trace_nb.dropped_chunk_events"
#: Span attribute (ours): events ``add_event`` did not keep (the span's event cap reached)
DROPPED_EVENTS = "mlflow_trace_nb.dropped_events"

# Trace tags (MLflow's TraceTagKey)
TRACE_NAME = "mlflow.traceName"

# Notebook cell tags (ours, in MLflow's namespace style)
CELL_ID = "mlflow.notebook.cell_id"
EXECUTION_COUNT = "mlflow.notebook.execution_count"
CELL_RUN = "mlflow.notebook.cell_run"

# Trace metadata written by this package
DROPPED_SPANS = "mlflow_trace_nb.dropped_spans"

#: The token-usage fields inside ``TOKEN_USAGE`` (MLflow's TokenUsageKey).
INPUT_TOKENS = "input_tokens"
OUTPUT_TOKENS = "output_tokens"
TOTAL_TOKENS = "total_tokens"

#: The id of MLflow's default experiment ("Default"), which every store starts with.
DEFAULT_EXPERIMENT_ID = "0"

# Trace metadata (MLflow's TraceMetadataKey)
SOURCE_RUN = "mlflow.sourceRun"
MODEL_ID = "mlflow.modelId"

# Trace fields MLflow 3 keeps outside metadata, kept in metadata by this package's store
# (left out of ``TraceInfo.trace_metadata`` and MLflow-format dicts)
CLIENT_REQUEST_ID = "mlflow_trace_nb.client_request_id"
REQUEST_PREVIEW = "mlflow_trace_nb.request_preview"
RESPONSE_PREVIEW = "mlflow_trace_nb.response_preview"

# Trace metadata MLflow 3 writes (MLflow's TraceMetadataKey)
TRACE_INPUTS = "mlflow.traceInputs"
TRACE_OUTPUTS = "mlflow.traceOutputs"
TRACE_SESSION = "mlflow.trace.session"
TRACE_USER = "mlflow.trace.user"
TRACE_TOKEN_USAGE = "mlflow.trace.tokenUsage"
#: A trace's cost summed over its spans' cost attributes (MLflow's TraceMetadataKey.COST).
TRACE_COST = "mlflow.trace.cost"
#: A span's own cost (USD: a number, or ``{"input_cost", "output_cost", "total_cost"}``), as
#: MLflow records it: ``mlflow.llm.cost`` (3.17), and the tool/embedding/retrieval/generic
#: keys of later MLflow versions.
LLM_COST = "mlflow.llm.cost"
TOOL_COST = "mlflow.tool.cost"
EMBEDDING_COST = "mlflow.embedding.cost"
RETRIEVAL_COST = "mlflow.retrieval.cost"
SPAN_COST = "mlflow.span.cost"
COST_KEYS = (LLM_COST, TOOL_COST, EMBEDDING_COST, RETRIEVAL_COST, SPAN_COST)
SCHEMA_VERSION = "mlflow.trace_schema.version"

# Trace tag MLflow writes when a prompt version is used in a trace (MLflow's TraceTagKey):
# a JSON list of {"name": ..., "version": ...}
LINKED_PROMPTS = "mlflow.linkedPrompts"

# Span attribute MLflow's ``log_trace`` writes on a root span (MLflow's SpanAttributeKey)
INTERMEDIATE_OUTPUTS = "mlflow.trace.intermediate_outputs"
