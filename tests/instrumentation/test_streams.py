"""The stream proxies: the span ends on exhaustion, error, close, ``with`` exit or garbage
collection, with the recorder's output; everything else reaches the wrapped stream."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.tracer.live_span import LiveSpan
from mlflow_trace_nb._internal.tracer.span_lifecycle import open_span
from mlflow_trace_nb.instrumentation._streams import (
    AsyncTracedStream,
    AsyncTracedStreamManager,
    TracedStream,
    TracedStreamManager,
)
from tests.helpers import last_trace


class Joiner:
    """A recorder that joins the items it sees."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def add(self, item: Any) -> None:
        self.items.append(item)

    def record(self, span: LiveSpan) -> None:
        span.set_outputs("".join(map(str, self.items)))


class BrokenRecorder:
    def add(self, item: Any) -> None:
        raise RuntimeError("recorder bug")

    def record(self, span: LiveSpan) -> None:
        raise RuntimeError("recorder bug")


class VendorStream:
    """Shaped like an SDK stream: iterator, context manager, ``close()``, extra attributes."""

    def __init__(self, items: list[Any], fail_at: int | None = None) -> None:
        self.items = items
        self.fail_at = fail_at
        self.closed = False
        self.response = "http-response"

    def __iter__(self) -> Iterator[Any]:
        for index, item in enumerate(self.items):
            if index == self.fail_at:
                raise ConnectionError("dropped")
            yield item

    def __enter__(self) -> VendorStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.closed = True

    def get_final(self) -> str:
        return "".join(self.items)


class AsyncVendorStream:
    def __init__(self, items: list[Any], fail_at: int | None = None) -> None:
        self.items = items
        self.fail_at = fail_at
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[Any]:
        for index, item in enumerate(self.items):
            if index == self.fail_at:
                raise ConnectionError("dropped")
            yield item

    async def __aenter__(self) -> AsyncVendorStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        self.closed = True

    async def get_final(self) -> str:
        return "".join(self.items)


def new_span() -> LiveSpan:
    span = open_span("llm", "CHAT_MODEL")
    assert isinstance(span, LiveSpan)
    return span


def ended_span() -> Any:
    mlflow.flush()
    return last_trace().spans[0]


def test_exhausting_the_stream_ends_the_span_with_the_assembled_output() -> None:
    span = new_span()
    stream = TracedStream(VendorStream(["a", "b", "c"]), span, Joiner())
    assert list(stream) == ["a", "b", "c"]
    assert span.end_time_ns is not None
    stored = ended_span()
    assert stored.outputs == "abc"
    assert stored.status_code == "OK"


def test_an_error_mid_stream_ends_the_span_as_error_and_propagates() -> None:
    span = new_span()
    stream = TracedStream(VendorStream(["a", "b", "c"], fail_at=2), span, Joiner())
    received = []
    with pytest.raises(ConnectionError, match="dropped"):
        for item in stream:
            received.append(item)
    assert received == ["a", "b"]
    stored = ended_span()
    assert stored.status_code == "ERROR"
    assert stored.outputs == "ab"
    assert stored.events[0].attributes["exception.type"].endswith("ConnectionError")


def test_close_and_with_exit_end_the_span_and_close_the_vendor_stream() -> None:
    vendor = VendorStream(["a", "b"])
    span = new_span()
    stream = TracedStream(vendor, span, Joiner())
    assert next(stream) == "a"
    stream.close()
    assert vendor.closed and span.end_time_ns is not None
    assert ended_span().outputs == "a"

    vendor = VendorStream(["x", "y"])
    span = new_span()
    with TracedStream(vendor, span, Joiner()) as entered:
        assert entered is not vendor  # the proxy, so iteration stays traced
        assert next(entered) == "x"
    assert vendor.closed and span.end_time_ns is not None


def test_an_abandoned_stream_ends_its_span_when_collected() -> None:
    span = new_span()
    stream = TracedStream(VendorStream(["a"]), span, Joiner())
    del stream
    gc.collect()
    assert span.end_time_ns is not None
    assert ended_span().status_code == "OK"


def test_the_proxy_forwards_attributes_and_passes_isinstance() -> None:
    vendor = VendorStream(["a", "b"])
    stream = TracedStream(vendor, new_span(), Joiner())
    assert stream.response == "http-response"
    assert isinstance(stream, VendorStream)
    stream.custom = 5
    assert vendor.custom == 5  # type: ignore[attr-defined]
    assert repr(stream) == repr(vendor)
    stream.close()


def test_ending_methods_and_iterators_end_the_span_after_consuming_inside_the_vendor() -> None:
    span = new_span()
    stream = TracedStream(VendorStream(["a", "b"]), span, Joiner(), ("get_final",))
    assert stream.get_final() == "ab"
    assert span.end_time_ns is not None


def test_ending_iterator_attribute_ends_the_span_when_exhausted() -> None:
    class WithTextStream(VendorStream):
        @property
        def text_stream(self) -> Iterator[str]:
            return iter(self.items)

    span = new_span()
    stream = TracedStream(WithTextStream(["a", "b"]), span, Joiner(), (), ("text_stream",))
    assert list(stream.text_stream) == ["a", "b"]
    assert span.end_time_ns is not None


def test_a_broken_recorder_never_breaks_the_stream(caplog: pytest.LogCaptureFixture) -> None:
    span = new_span()
    stream = TracedStream(VendorStream(["a", "b"]), span, BrokenRecorder())
    assert list(stream) == ["a", "b"]
    assert span.end_time_ns is not None
    assert ended_span().status_code == "OK"


def test_async_stream_exhaustion_error_close_and_context() -> None:
    async def main() -> None:
        span = new_span()
        stream = AsyncTracedStream(AsyncVendorStream(["a", "b"]), span, Joiner())
        assert [item async for item in stream] == ["a", "b"]
        assert span.end_time_ns is not None
        assert span.outputs == "ab"

        span = new_span()
        stream = AsyncTracedStream(AsyncVendorStream(["a", "b"], fail_at=1), span, Joiner())
        with pytest.raises(ConnectionError):
            async for _ in stream:
                pass
        assert span.status_code == "ERROR"

        vendor = AsyncVendorStream(["a", "b"])
        span = new_span()
        async with AsyncTracedStream(vendor, span, Joiner()) as entered:
            assert await entered.__anext__() == "a"
        assert vendor.closed and span.end_time_ns is not None and span.outputs == "a"

        span = new_span()
        stream = AsyncTracedStream(AsyncVendorStream(["a"]), span, Joiner(), ("get_final",))
        assert await stream.get_final() == "a"
        assert span.end_time_ns is not None

        span = new_span()
        stream = AsyncTracedStream(AsyncVendorStream(["a"]), span, Joiner())
        await stream.close()
        assert span.end_time_ns is not None

    asyncio.run(main())


class Manager:
    def __init__(self, stream: Any, fail: bool = False) -> None:
        self.stream = stream
        self.fail = fail
        self.exited = False

    def __enter__(self) -> Any:
        if self.fail:
            raise PermissionError("403")
        return self.stream

    def __exit__(self, *exc: object) -> None:
        self.exited = True

    async def __aenter__(self) -> Any:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.exited = True


def test_stream_manager_wraps_the_entered_stream_and_ends_the_span_on_exit() -> None:
    span = new_span()
    vendor = VendorStream(["a", "b"])
    manager = Manager(vendor)
    traced = TracedStreamManager(manager, span, lambda s: TracedStream(s, span, Joiner()))
    assert isinstance(traced, Manager)
    with traced as stream:
        assert next(stream) == "a"
        assert span.end_time_ns is None
    assert manager.exited and span.end_time_ns is not None and span.outputs == "a"


def test_stream_manager_failing_to_enter_ends_the_span_as_error() -> None:
    span = new_span()
    manager = Manager(VendorStream([]), fail=True)
    traced = TracedStreamManager(manager, span, lambda s: TracedStream(s, span, Joiner()))
    with pytest.raises(PermissionError), traced:
        pass
    assert span.status_code == "ERROR"


def test_async_stream_manager() -> None:
    async def main() -> None:
        span = new_span()
        manager = Manager(AsyncVendorStream(["a", "b"]))
        traced = AsyncTracedStreamManager(
            manager, span, lambda s: AsyncTracedStream(s, span, Joiner())
        )
        async with traced as stream:
            assert [x async for x in stream] == ["a", "b"]
        assert manager.exited and span.outputs == "ab"

    asyncio.run(main())
