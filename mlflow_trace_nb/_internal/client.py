"""``MlflowClient``: the tracing half of MLflow's low-level client, over this package's tracer
and store.

``start_trace`` / ``start_span`` / ``end_span`` / ``end_trace`` address spans by ids, so
threads can build one trace together (MLflow's ``examples/tracing/multithreading.py``); the
spans are opened without becoming the active span. Open spans are held here until they end,
at most ``MAX_OPEN_SPANS`` (then the oldest are ended as leaked, with the span-leak status).
Both MLflow 3's ``trace_id=`` and MLflow 2's ``request_id=`` keywords are taken. Reads
(``search_traces``, ``get_trace``) are the module functions'.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from mlflow_trace_nb._internal.tracer.live_span import NO_OP_SPAN, LiveSpan
from mlflow_trace_nb.errors import MlflowException

__all__ = ["MAX_OPEN_SPANS", "MlflowClient"]

#: Spans started by clients and not ended yet, across all clients of the process.
MAX_OPEN_SPANS = 100_000

_OPEN: OrderedDict[tuple[str, str], LiveSpan] = OrderedDict()
_LOCK = threading.Lock()


def _trace_id(trace_id: str | None, request_id: str | None, action: str) -> str:
    value = trace_id if trace_id is not None else request_id
    if not isinstance(value, str):
        raise MlflowException(f"{action}: trace_id must be a non-empty string, got {value!r}")
    return value


def _remember(span: LiveSpan) -> LiveSpan:
    if not span._recording:
        return span
    evicted: list[LiveSpan] = []
    with _LOCK:
        _OPEN[(span.trace_id, span.span_id)] = span
        while len(_OPEN) > MAX_OPEN_SPANS:
            evicted.append(_OPEN.popitem(last=False)[1])
    for old in evicted:
        old.end(status="ERROR")
    return span


def _open_span(trace_id: str, span_id: str, action: str) -> LiveSpan:
    if trace_id == "" and span_id == "":  # the no-op span (tracing off, or not sampled)
        return NO_OP_SPAN
    with _LOCK:
        span = _OPEN.get((trace_id, span_id))
    if span is None:
        raise MlflowException(
            f"{action}: span {span_id} of trace {trace_id} is not open (not started with "
            "this client's start_span/start_trace in this process, or already ended)"
        )
    return span


def _open_trace(trace_id: str) -> Any:
    """The running trace ``trace_id`` if a client of this process holds one of its spans."""
    with _LOCK:
        span = next((s for (t, _), s in _OPEN.items() if t == trace_id), None)
    return None if span is None else span._state


def _end(span: LiveSpan, outputs: Any, attributes: Any, status: Any, end_time_ns: Any) -> None:
    if not span._recording:
        return
    span.end(  # first: an argument it refuses leaves the span open to the client
        outputs=outputs,
        attributes=attributes,
        status=getattr(status, "status_code", status),
        end_time_ns=end_time_ns,
    )
    with _LOCK:
        _OPEN.pop((span.trace_id, span.span_id), None)


class MlflowClient:
    """MLflow's client, for tracing: traces and spans by id, tags, reads.

    Example::

        client = mlflow.MlflowClient()
        root = client.start_trace("agent", inputs={"q": "hi"})
        child = client.start_span("tool", trace_id=root.trace_id, parent_id=root.span_id)
        client.end_span(trace_id=root.trace_id, span_id=child.span_id, outputs=42)
        client.end_trace(trace_id=root.trace_id, outputs="done")
    """

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None) -> None:
        self.tracking_uri = tracking_uri

    def start_trace(
        self,
        name: str,
        span_type: str = "UNKNOWN",
        inputs: Any = None,
        attributes: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        experiment_id: str | None = None,
        start_time_ns: int | None = None,
        **_ignored: Any,
    ) -> LiveSpan:
        """Start a new trace; its root span (end it with ``end_trace``)."""
        from mlflow_trace_nb._internal.tracer.fluent import start_span_no_context

        span = start_span_no_context(  # checks tags too, before the span exists
            name,
            span_type=span_type,
            inputs=inputs,
            attributes=attributes,
            experiment_id=experiment_id,
            start_time_ns=start_time_ns,
            tags=tags,
        )
        return _remember(span)

    def start_span(
        self,
        name: str,
        trace_id: str | None = None,
        parent_id: str | None = None,
        span_type: str = "UNKNOWN",
        inputs: Any = None,
        attributes: dict[str, Any] | None = None,
        start_time_ns: int | None = None,
        request_id: str | None = None,
        **_ignored: Any,
    ) -> LiveSpan:
        """Start a span under span ``parent_id`` of trace ``trace_id`` (from any thread)."""
        from mlflow_trace_nb._internal.tracer.fluent import start_span_no_context

        trace = _trace_id(trace_id, request_id, "start_span")
        if not isinstance(parent_id, str):
            raise MlflowException(f"start_span: parent_id must be a span id, got {parent_id!r}")
        parent = _open_span(trace, parent_id, "start_span")
        if not parent._recording:
            return NO_OP_SPAN
        span = start_span_no_context(
            name,
            span_type=span_type,
            parent_span=parent,
            inputs=inputs,
            attributes=attributes,
            start_time_ns=start_time_ns,
        )
        return _remember(span)

    def end_span(
        self,
        trace_id: str | None = None,
        span_id: str | None = None,
        outputs: Any = None,
        attributes: dict[str, Any] | None = None,
        status: Any = "OK",
        end_time_ns: int | None = None,
        request_id: str | None = None,
    ) -> None:
        """End span ``span_id`` of trace ``trace_id``."""
        trace = _trace_id(trace_id, request_id, "end_span")
        _end(_open_span(trace, str(span_id), "end_span"), outputs, attributes, status, end_time_ns)

    def end_trace(
        self,
        trace_id: str | None = None,
        outputs: Any = None,
        attributes: dict[str, Any] | None = None,
        status: Any = "OK",
        end_time_ns: int | None = None,
        request_id: str | None = None,
    ) -> None:
        """End the root span of trace ``trace_id`` (the trace is then written)."""
        trace = _trace_id(trace_id, request_id, "end_trace")
        if trace == "":
            return  # the no-op trace
        with _LOCK:
            root = next(
                (s for (t, _), s in _OPEN.items() if t == trace and s._parent is None), None
            )
        if root is None:
            raise MlflowException(f"end_trace: trace {trace} has no open root span here")
        _end(root, outputs, attributes, status, end_time_ns)

    def search_traces(
        self,
        experiment_ids: list[str] | None = None,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: list[str] | None = None,
        page_token: str | None = None,
        run_id: str | None = None,
        include_spans: bool = True,
        model_id: str | None = None,
        sql_warehouse_id: str | None = None,
        locations: list[str] | None = None,
    ) -> list[Any]:
        """Traces matching ``filter_string``, newest first (a list of ``Trace``): MLflow 3's
        signature; all results come in one page (``page_token`` must be None)."""
        from mlflow_trace_nb._internal.search import search_traces

        if page_token is not None:
            raise MlflowException(
                "page_token: this store returns every result in one page; pass None",
                "INVALID_PARAMETER_VALUE",
            )
        found: Any = search_traces(
            experiment_ids=experiment_ids,
            filter_string=filter_string,
            max_results=max_results,
            order_by=order_by,
            run_id=run_id,
            return_type="list",
            model_id=model_id,
            sql_warehouse_id=sql_warehouse_id,
            include_spans=include_spans,
            locations=locations,
            tracking_uri=self.tracking_uri,
        )
        return list(found)

    def get_trace(
        self, trace_id: str | None = None, request_id: str | None = None, **_: Any
    ) -> Any:
        """The stored trace ``trace_id``; ``MlflowException`` if there is none."""
        from mlflow_trace_nb._internal.search import get_trace

        trace = _trace_id(trace_id, request_id, "get_trace")
        found = get_trace(trace, tracking_uri=self.tracking_uri)
        if found is None:
            raise MlflowException(f"Trace with ID {trace} is not found.")
        return found

    def set_trace_tag(self, trace_id: str, key: str, value: str) -> None:
        """Set tag ``key`` on trace ``trace_id`` (running or stored)."""
        from mlflow_trace_nb._internal.tracer.fluent import set_trace_tag

        live = _open_trace(trace_id)
        if live is not None:
            live.set_tag(key, value)
            return
        set_trace_tag(trace_id, key, value)

    def link_prompt_versions_to_trace(self, prompt_versions: list[Any], trace_id: str) -> None:
        """Link prompt versions (MLflow's ``PromptVersion``, or ``{"name", "version"}``
        dicts) to a trace, in its ``mlflow.linkedPrompts`` tag as MLflow does; found again
        with the filter ``prompt = 'name/version'``."""
        from mlflow_trace_nb._internal.prompts import link_prompt_versions_to_trace

        live = _open_trace(trace_id)
        if live is not None:  # a trace this client is building
            from mlflow_trace_nb import keys
            from mlflow_trace_nb._internal.prompts import update_linked_prompts_tag

            current = (live.tags or {}).get(keys.LINKED_PROMPTS)
            updated = update_linked_prompts_tag(current, prompt_versions)
            if updated is not None and updated != current:
                live.set_tag(keys.LINKED_PROMPTS, updated)
            return
        link_prompt_versions_to_trace(prompt_versions, trace_id)

    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        """Remove tag ``key`` from trace ``trace_id`` (running or stored)."""
        from mlflow_trace_nb._internal.tracer.fluent import delete_trace_tag

        live = _open_trace(trace_id)
        if live is not None and live.tags and key in live.tags:
            del live.tags[key]
            return
        delete_trace_tag(trace_id, key)
