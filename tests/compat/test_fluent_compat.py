"""MLflow 3 fluent-API behaviours that MLflow code relies on, found by running MLflow's own
tests/tracing/test_fluent.py with the import swapped (issue F). Each test is ours; where the
installed ``mlflow`` is needed to compare with, it is skipped without it."""

from __future__ import annotations

import inspect
import json
import threading
import warnings
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.entities import Span, SpanEvent, Trace, TraceData, TraceInfo, TraceState
from mlflow_trace_nb.errors import MlflowException
from mlflow_trace_nb.keys import TRACE_INPUTS, TRACE_OUTPUTS


def _traced_sum() -> str:
    @mlflow.trace
    def add(a: int, b: int) -> int:
        return a + b

    add(3, 4)
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None
    return trace_id


def test_request_metadata_is_mlflow_3s_alias_of_trace_metadata() -> None:
    trace = mlflow.get_trace(_traced_sum())
    assert trace is not None
    info = trace.info
    assert info.request_metadata == info.trace_metadata
    assert json.loads(info.request_metadata[TRACE_INPUTS]) == {"a": 3, "b": 4}
    assert info.request_metadata[TRACE_OUTPUTS] == "7"
    listed = mlflow.search_traces(return_type="list")[0]
    assert listed.info.request_metadata[TRACE_OUTPUTS] == "7"


def test_request_metadata_keeps_what_was_stored_and_adds_nothing_twice() -> None:
    @mlflow.trace
    def f() -> None:
        mlflow.update_current_trace(metadata={"team": "search"})

    f()
    info = mlflow.get_last_active_trace().info  # type: ignore[union-attr]
    assert info.request_metadata["team"] == "search"
    assert info._own_metadata == {"team": "search"}
    assert mlflow.get_last_active_trace().request_metadata == {"team": "search"}  # type: ignore[union-attr]


def test_trace_info_state_can_be_set_on_a_copy_only() -> None:
    trace_id = _traced_sum()
    copy = mlflow.get_trace(trace_id)
    assert copy is not None
    copy.info.state = TraceState.ERROR
    assert copy.info.state == TraceState.ERROR and copy.info.status == "ERROR"
    copy.info.state = "OK"
    assert copy.info.state == TraceState.OK
    copy.info.state = TraceState.ERROR
    stored = mlflow.get_trace(trace_id)
    assert stored is not None and stored.info.state == TraceState.OK
    with pytest.raises(ValueError):
        copy.info.state = "NOT_A_STATE"


def test_get_last_active_trace_id_thread_local() -> None:
    main_id = _traced_sum()
    seen: dict[str, str | None] = {}

    def worker(name: str) -> None:
        seen["before"] = mlflow.get_last_active_trace_id(thread_local=True)
        with mlflow.start_span(name):
            pass
        seen["after"] = mlflow.get_last_active_trace_id(thread_local=True)

    thread = threading.Thread(target=worker, args=("in-thread",))
    thread.start()
    thread.join()
    assert seen["before"] is None  # this thread finished nothing yet
    thread_trace = mlflow.get_trace(seen["after"])  # type: ignore[arg-type]
    assert thread_trace is not None and thread_trace.data.spans[0].name == "in-thread"
    assert mlflow.get_last_active_trace_id(thread_local=True) == main_id
    assert mlflow.get_last_active_trace_id() == seen["after"]  # process-wide: the latest


@pytest.mark.parametrize("function", ["set_trace_tag", "delete_trace_tag", "get_trace"])
def test_request_id_keyword_still_accepted_with_mlflows_warning(function: str) -> None:
    trace_id = _traced_sum()
    mlflow.set_trace_tag(trace_id, "k", "v")
    call = getattr(mlflow, function)
    arguments = {"key": "k", "value": "w"} if function == "set_trace_tag" else {}
    if function == "delete_trace_tag":
        arguments = {"key": "k"}
    with pytest.warns(FutureWarning, match="Parameter 'request_id' is deprecated"):
        call(request_id=trace_id, **arguments)
    trace = mlflow.get_trace(trace_id)
    assert trace is not None
    expected = {"set_trace_tag": "w", "delete_trace_tag": None, "get_trace": "v"}[function]
    assert trace.info.tags.get("k") == expected
    with (
        pytest.warns(FutureWarning),
        pytest.raises(ValueError, match="Cannot specify both 'request_id'"),
    ):
        call(request_id=trace_id, trace_id=trace_id, **arguments)


def test_get_trace_takes_mlflows_silent_and_flush() -> None:
    trace_id = _traced_sum()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mlflow.get_trace(trace_id, silent=True, flush=True) is not None
        assert mlflow.get_trace("tr-" + "0" * 32, silent=True) is None


def test_search_traces_invalid_return_type_message_is_mlflows() -> None:
    with pytest.raises(MlflowException, match=r"Invalid return type: invalid\. Return type must"):
        mlflow.search_traces(return_type="invalid")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Invalid return type"):  # MlflowException is one
        mlflow.search_traces(return_type=3)  # type: ignore[arg-type]
    with pytest.warns(FutureWarning), pytest.raises(MlflowException, match="The `extract_fields`"):
        mlflow.search_traces(extract_fields=["a.inputs"], return_type="list")


def test_signatures_match_the_installed_mlflow() -> None:
    real = pytest.importorskip("mlflow")
    for name in ["get_last_active_trace_id", "set_trace_tag", "delete_trace_tag"]:
        ours = inspect.signature(getattr(mlflow, name)).parameters
        theirs = inspect.signature(getattr(real, name)).parameters
        assert list(ours) == list(theirs), name
    ours = list(inspect.signature(mlflow.get_trace).parameters)
    assert ours[:3] == list(inspect.signature(real.get_trace).parameters)


@pytest.mark.parametrize("request_value", [{"q": "why?"}, "why?", None])
def test_log_trace_records_one_finished_span(request_value: object) -> None:
    trace_id = mlflow.log_trace(
        name="offline",
        request=request_value,
        response={"a": "because"},
        intermediate_outputs={"docs": ["d1"]},
        tags={"source": "batch"},
        start_time_ms=1_700_000_000_000,
        execution_time_ms=250,
    )
    assert trace_id == mlflow.get_last_active_trace_id()
    trace = mlflow.get_trace(trace_id)
    assert trace is not None
    expected = None if request_value is None else json.dumps(request_value)
    assert trace.data.request == expected
    assert json.loads(trace.data.response) == {"a": "because"}
    assert trace.data.intermediate_outputs == {"docs": ["d1"]}
    assert trace.info.tags["source"] == "batch"
    (span,) = trace.data.spans
    assert (span.name, span.start_time_ns) == ("offline", 1_700_000_000_000 * 1_000_000)
    assert span.end_time_ns == (1_700_000_000_000 + 250) * 1_000_000
    assert trace.info.execution_duration == 250


def test_log_trace_defaults_and_signature() -> None:
    trace_id = mlflow.log_trace()
    trace = mlflow.get_trace(trace_id)
    assert trace is not None and trace.data.spans[0].name == "Task"
    assert trace.data.request is None and trace.data.response is None
    real = pytest.importorskip("mlflow")
    theirs = inspect.signature(real.log_trace).parameters
    assert list(inspect.signature(mlflow.log_trace).parameters) == list(theirs)


def test_start_span_no_context_takes_tags_metadata_and_description() -> None:
    span = mlflow.start_span_no_context(
        "detached", tags={"t": "1"}, metadata={"m": 2}, description="what it does"
    )
    child = mlflow.start_span_no_context("child", parent_span=span, tags={"from_child": "y"})
    child.end()
    span.end()
    trace = mlflow.get_trace(span.trace_id)
    assert trace is not None
    assert trace.info.tags["t"] == "1" and trace.info.tags["from_child"] == "y"
    assert trace.info.trace_metadata["m"] == "2"
    root = trace.data.spans[0]
    assert root.get_attribute("mlflow.spanDescription") == "what it does"
    with pytest.raises(TypeError):
        mlflow.start_span_no_context("bad", tags=["not", "a", "dict"])  # type: ignore[arg-type]


def test_start_span_no_context_parameter_order_is_mlflows() -> None:
    real = pytest.importorskip("mlflow")
    ours = list(inspect.signature(mlflow.start_span_no_context).parameters)
    real_names = list(inspect.signature(real.start_span_no_context).parameters)
    theirs = [p for p in real_names if p in ours]
    # the ones both take, in MLflow's order (older MLflow, e.g. 3.13, lacks ``description``)
    assert [p for p in ours if p in real_names] == theirs
    assert set(theirs) >= {"name", "span_type", "parent_span", "inputs", "attributes"}
    if "description" in real_names:  # MLflow 3.17
        assert ours == theirs


def test_update_current_trace_model_id() -> None:
    @mlflow.trace
    def f() -> None:
        mlflow.update_current_trace(model_id="m-123")

    f()
    info = mlflow.get_last_active_trace().info  # type: ignore[union-attr]
    assert info.trace_metadata["mlflow.modelId"] == "m-123"
    real = pytest.importorskip("mlflow")
    theirs = list(inspect.signature(real.update_current_trace).parameters)
    assert list(inspect.signature(mlflow.update_current_trace).parameters) == theirs


def _remote_trace() -> Trace:
    """A finished two-span trace, as a remote service would return it (then dropped here)."""
    with mlflow.start_span("remote", span_type="CHAIN") as root:
        root.set_inputs({"x": 1})
        root.add_event(SpanEvent("seen", 5, {"k": "v"}))
        with mlflow.start_span("remote-child") as child:
            child.set_attribute("model", "m")
            child.set_outputs("child out")
        root.set_outputs({"y": 2})
        mlflow.update_current_trace(tags={"fruit": "apple", "food": "pizza"}, metadata={"m": "1"})
    stored = mlflow.get_trace(root.trace_id)
    assert stored is not None
    return Trace.from_dict(stored.to_dict())


def _by_name(trace: Trace) -> dict[str, Any]:
    return {span.name: span for span in trace.data.spans}


@pytest.mark.parametrize("as_dict", [False, True])
def test_add_trace_grafts_spans_under_the_active_span(as_dict: bool) -> None:
    remote = _remote_trace()
    with mlflow.start_span("parent") as parent:
        mlflow.set_trace_tag(parent.trace_id, "food", "sushi")
        mlflow.add_trace(remote.to_dict() if as_dict else remote)
    trace = mlflow.get_trace(parent.trace_id)
    assert trace is not None
    spans = _by_name(trace)
    assert set(spans) == {"parent", "remote", "remote-child"}
    assert all(span.trace_id == parent.trace_id for span in trace.data.spans)
    assert spans["remote"].parent_id == spans["parent"].span_id
    assert spans["remote-child"].parent_id == spans["remote"].span_id
    original = _by_name(remote)["remote"]
    copy = spans["remote"]
    assert (copy.start_time_ns, copy.end_time_ns) == (original.start_time_ns, original.end_time_ns)
    assert (copy.span_type, copy.inputs, copy.outputs) == ("CHAIN", {"x": 1}, {"y": 2})
    assert copy.events == original.events and copy.status == original.status
    assert spans["remote-child"].attributes["model"] == "m"
    custom = {k: v for k, v in trace.info.tags.items() if not k.startswith("mlflow.")}
    assert custom == {"fruit": "apple", "food": "sushi"}  # the parent trace's value wins
    assert trace.info.trace_metadata["m"] == "1"
    assert trace.info.trace_metadata["mlflow.traceInputs"] == ""  # the parent's, not remote's


def test_add_trace_without_an_active_span_makes_a_remote_trace_root() -> None:
    remote = _remote_trace()
    mlflow.add_trace(remote)
    trace = mlflow.get_trace(mlflow.get_last_active_trace_id())  # type: ignore[arg-type]
    assert trace is not None
    spans = _by_name(trace)
    root, grafted = spans["Remote Trace <remote>"], spans["remote"]
    assert root.parent_id is None and grafted.parent_id == root.span_id
    assert root.start_time_ns == grafted.start_time_ns - 1  # sorts first, as MLflow 3.17
    assert root.end_time_ns == grafted.end_time_ns
    assert (root.inputs, root.outputs) == ({"x": 1}, {"y": 2})


def test_add_trace_under_an_explicit_target() -> None:
    remote = _remote_trace()
    target = mlflow.start_span_no_context("target")
    mlflow.add_trace(remote, target=target)
    target.end()
    trace = mlflow.get_trace(target.trace_id)
    assert trace is not None
    assert _by_name(trace)["remote"].parent_id == target.span_id


def test_add_trace_rejects_what_mlflow_rejects() -> None:
    with pytest.raises(MlflowException, match="Invalid trace object"):
        mlflow.add_trace(None)  # type: ignore[arg-type]
    with pytest.raises(MlflowException, match="Failed to load a trace object"):
        mlflow.add_trace({"info": {}, "data": {}})
    running = Trace(
        info=TraceInfo(trace_id="tr-1", request_time=0, state=TraceState.IN_PROGRESS),
        data=TraceData(),
    )
    with pytest.raises(MlflowException, match="The trace must be ended"):
        mlflow.add_trace(running)
    remote = _remote_trace()
    unordered = Trace(info=remote.info, data=TraceData(spans=remote.data.spans[::-1]))
    with mlflow.start_span("parent"), pytest.raises(MlflowException, match="Span with ID "):
        mlflow.add_trace(unordered)


def test_trace_data_defaults_to_no_spans() -> None:
    assert TraceData().spans == []


def test_span_ids_of_mlflow_2_span_dicts_lose_their_0x_prefix() -> None:
    span = {
        "name": "remote",
        "context": {
            "span_id": "0x337af925d6629c01",
            "trace_id": "0x05e82d1fc4486f3986fae6dd7b5352b1",
        },
        "parent_id": "0xa3dde9f2ebac1936",
        "start_time": 1,
        "end_time": 2,
        "status_code": "OK",
        "status_message": "",
        "attributes": {"mlflow.traceRequestId": '"tr-abc"', "mlflow.spanType": '"UNKNOWN"'},
        "events": [],
    }
    loaded = Span.from_dict(span)
    assert (loaded.span_id, loaded.parent_id) == ("337af925d6629c01", "a3dde9f2ebac1936")
    real = pytest.importorskip("mlflow")
    theirs = real.entities.Span.from_dict(span)
    assert (loaded.span_id, loaded.parent_id) == (theirs.span_id, theirs.parent_id)


def _ran_traces(lib: Any) -> Any:
    @lib.trace(span_type="CHAIN")
    def run(x: int) -> int:
        return x + 1

    run(2)
    return lib.get_trace(lib.get_last_active_trace_id())


def test_trace_methods_mlflow_code_calls(real_mlflow: Any) -> None:
    """``search_spans`` type checks, ``search_assessments``, the frame row; found by MLflow's
    tests/entities/test_trace.py with the import swapped."""
    ours, theirs = _ran_traces(mlflow), _ran_traces(real_mlflow)
    for bad in ({"span_type": 123}, {"name": 123}):
        with pytest.raises(Exception) as real_error:
            theirs.search_spans(**bad)
        with pytest.raises(MlflowException) as our_error:
            ours.search_spans(**bad)
        assert str(our_error.value) == str(real_error.value)
    assert Trace.pandas_dataframe_columns() == real_mlflow.entities.Trace.pandas_dataframe_columns()
    row, real_row = ours.to_pandas_dataframe_row(), theirs.to_pandas_dataframe_row()
    assert list(row) == list(real_row)
    assert (row["request"], row["response"], row["assessments"]) == ({"x": 2}, 3, [])
    assert (real_row["request"], real_row["response"]) == ({"x": 2}, 3)
    assert Trace.from_json(row["trace"]).info.trace_id == ours.info.trace_id
    frame = mlflow.search_traces()
    assert list(frame.columns) == list(row)

    def assessments(lib: Any) -> list[Any]:
        source = lib.entities.AssessmentSource(source_type="HUMAN", source_id="u")
        feedback, expectation = lib.entities.Feedback, lib.entities.Expectation
        return [
            feedback(trace_id="t", name="rel", value=False, source=source, overrides="2"),
            feedback(trace_id="t", name="rel", value=True, source=source, valid=False),
            feedback(trace_id="t", name="rel", value=True, source=source, span_id="s"),
            expectation(trace_id="t", name="guide", value="x", source=source, span_id="s"),
        ]

    queries: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((), {}),
        ((), {"all": True}),
        (("rel",), {}),
        (("rel",), {"all": True}),
        ((), {"span_id": "s"}),
        ((), {"span_id": "s", "name": "rel"}),
        ((), {"type": "expectation"}),
        ((), {"type": "feedback", "all": True}),
    ]
    picked = {}
    for lib in (mlflow, real_mlflow):
        items = assessments(lib)
        info = lib.entities.TraceInfo(
            trace_id="t",
            trace_location=lib.entities.TraceLocation.from_experiment_id("1"),
            request_time=1,
            state=lib.entities.TraceState.OK,
            assessments=items,
        )
        trace = lib.entities.Trace(info=info, data=lib.entities.TraceData(spans=[]))
        found = [trace.search_assessments(*args, **kw) for args, kw in queries]
        picked[lib] = [[items.index(a) for a in one] for one in found]
    assert picked[mlflow] == picked[real_mlflow]


def test_schema_version_constants_as_mlflow_tracing_constant(real_mlflow: Any) -> None:
    from mlflow.tracing import constant as theirs

    from mlflow_trace_nb.tracing import constant as ours

    assert ours.TRACE_SCHEMA_VERSION == theirs.TRACE_SCHEMA_VERSION
    assert ours.TRACE_SCHEMA_VERSION_KEY == theirs.TRACE_SCHEMA_VERSION_KEY
    trace = mlflow.get_trace(_traced_sum())
    assert trace is not None
    version = trace.info.trace_metadata[ours.TRACE_SCHEMA_VERSION_KEY]
    assert version == str(ours.TRACE_SCHEMA_VERSION)


def test_add_trace_refuses_span_times_out_of_range_before_grafting_anything() -> None:
    """A remote service's trace whose child ends at 2**64 ns: refused as a whole, where the
    spans copied before it were left open under the active span."""
    remote = _remote_trace().to_dict()
    child = next(s for s in remote["data"]["spans"] if s["name"] == "remote-child")
    time_key = next(k for k in child if k.startswith("end_time"))
    child[time_key] = 2**64
    with (
        mlflow.start_span("parent") as parent,
        pytest.raises(MlflowException, match=r"remote-child.*end_time_ns"),
    ):
        mlflow.add_trace(remote)
    trace = mlflow.get_trace(parent.trace_id)
    assert trace is not None and [s.name for s in trace.data.spans] == ["parent"]
    assert trace.data.spans[0].status.status_code == "OK"
