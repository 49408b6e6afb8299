"""MLflow's key classes (``mlflow.tracing.constant``), so ``from mlflow.tracing.constant import
SpanAttributeKey`` runs with the import swapped. The keys this package itself reads or writes
come from ``mlflow_trace_nb.keys``; the others are MLflow's names, for user code that sets them.
"""

from __future__ import annotations

from mlflow_trace_nb import keys
from mlflow_trace_nb.entities.recorded import SCHEMA_VERSION

__all__ = [
    "STREAM_CHUNK_EVENT_NAME_FORMAT",
    "STREAM_CHUNK_EVENT_VALUE_KEY",
    "TRACE_SCHEMA_VERSION",
    "TRACE_SCHEMA_VERSION_KEY",
    "SpanAttributeKey",
    "TokenUsageKey",
    "TraceMetadataKey",
    "TraceTagKey",
]

#: A traced generator's per-item span event name and its value attribute (MLflow's).
STREAM_CHUNK_EVENT_NAME_FORMAT = keys.STREAM_CHUNK_EVENT
STREAM_CHUNK_EVENT_VALUE_KEY = keys.STREAM_CHUNK_VALUE
#: The trace metadata key of the trace schema version, and the version written (an int, as
#: MLflow's; the metadata value is its string).
TRACE_SCHEMA_VERSION_KEY = keys.SCHEMA_VERSION
TRACE_SCHEMA_VERSION = int(SCHEMA_VERSION)


class SpanAttributeKey:
    """MLflow's ``SpanAttributeKey``."""

    CHAT_TOOLS = keys.CHAT_TOOLS
    CHAT_USAGE = keys.TOKEN_USAGE
    DESCRIPTION = keys.SPAN_DESCRIPTION
    EXPERIMENT_ID = keys.EXPERIMENT_ID
    FUNCTION_NAME = keys.SPAN_FUNCTION_NAME
    INPUTS = keys.SPAN_INPUTS
    INTERMEDIATE_OUTPUTS = keys.INTERMEDIATE_OUTPUTS
    LINKED_GATEWAY_TRACE_ID = "mlflow.gateway.linkedTraceId"
    LINKED_PROMPTS = "mlflow.linkedPrompts"
    EMBEDDING_COST = keys.EMBEDDING_COST
    LLM_COST = keys.LLM_COST
    LOG_LEVEL = keys.SPAN_LOG_LEVEL
    MESSAGE_FORMAT = keys.MESSAGE_FORMAT
    MODEL = keys.MODEL
    MODEL_PROVIDER = keys.PROVIDER
    OUTPUTS = keys.SPAN_OUTPUTS
    REQUEST_ID = keys.TRACE_REQUEST_ID
    RETRIEVAL_COST = keys.RETRIEVAL_COST
    SPAN_COST = keys.SPAN_COST
    SESSION_ID = "session.id"
    SPAN_TYPE = keys.SPAN_TYPE
    START_TIME_NS = "mlflow.spanStartTimeNs"
    TOOL_COST = keys.TOOL_COST
    TRACE_TAG_PREFIX = "mlflow.traceTag."
    USER_ID = "user.id"


class TraceMetadataKey:
    """MLflow's ``TraceMetadataKey``."""

    AUTH_USERNAME = "mlflow.auth.username"
    AUTH_USER_ID = "mlflow.auth.userId"
    COST = keys.TRACE_COST
    GATEWAY_CALLER = "mlflow.gateway.caller"
    GATEWAY_ENDPOINT_ID = "mlflow.gateway.endpointId"
    GATEWAY_REQUEST_TYPE = "mlflow.gateway.requestType"
    INPUTS = keys.TRACE_INPUTS
    MODEL_ID = keys.MODEL_ID
    OUTPUTS = keys.TRACE_OUTPUTS
    SIZE_BYTES = "mlflow.trace.sizeBytes"
    SIZE_STATS = "mlflow.trace.sizeStats"
    SOURCE_RUN = keys.SOURCE_RUN
    TOKEN_USAGE = "mlflow.trace.tokenUsage"
    TRACE_INFO_FINALIZED = "mlflow.trace.infoFinalized"
    TRACE_SESSION = keys.TRACE_SESSION
    TRACE_USER = keys.TRACE_USER


class TraceTagKey:
    """MLflow's ``TraceTagKey``."""

    ARCHIVAL_FAILURE = "mlflow.trace.archivalFailure"
    ARCHIVE_LOCATION = "mlflow.trace.archiveLocation"
    EVAL_REQUEST_ID = "mlflow.eval.requestId"
    LINKED_PROMPTS = "mlflow.linkedPrompts"
    SOURCE_SCORER_NAME = "mlflow.trace.sourceScorer"
    SPANS_LOCATION = "mlflow.trace.spansLocation"
    TRACE_NAME = keys.TRACE_NAME


class TokenUsageKey:
    """MLflow's ``TokenUsageKey``."""

    CACHE_CREATION_INPUT_TOKENS = "cache_creation_input_tokens"
    CACHE_CREATION_INPUT_TOKENS_ABOVE_1HR = "cache_creation_input_tokens_above_1hr"
    CACHE_READ_INPUT_TOKENS = "cache_read_input_tokens"
    INPUT_TOKENS = keys.INPUT_TOKENS
    OUTPUT_TOKENS = keys.OUTPUT_TOKENS
    TOTAL_TOKENS = keys.TOTAL_TOKENS
