"""Proxies that keep a span open while a vendor stream is consumed.

A vendor call that streams returns at once; its span ends later, when the stream is exhausted,
raises, is closed (``close()``, ``aclose()``, leaving its ``with`` block) or is garbage
collected, whichever comes first. Every item passes through the vendor's *recorder*, which
assembles the output; ``recorder.record(span)`` writes outputs and attributes just before the
span ends.

The proxies forward every other attribute to the vendor object (``stream.response``,
``stream.text_stream``, ``stream.get_final_message()``...) and pass ``isinstance`` checks for
the vendor class. Methods named in ``ending`` (for example ``get_final_message``) end the span
once they return, since they consume the stream inside the vendor object where the proxy does
not see the items; iterators named in ``ending_iterators`` (``text_stream``) end it when
exhausted. A failure of the recorder is reported and never reaches the caller.

A stream still open when the interpreter exits (one left at module level of a script,
iterated partly or not at all) is ended by an ``atexit`` hook that runs before the
runtime's final flush, so its trace is written like any other; ending it later, in
``__del__`` while the interpreter finalizes, would leave it to the queue's exit path (see
``_internal.shutdown``).
"""

from __future__ import annotations

import atexit
import functools
import inspect
import weakref
from collections.abc import Callable
from typing import Any, Protocol

from mlflow_trace_nb._internal.tracer.live_span import LiveSpan
from mlflow_trace_nb.errors import report_internal_error
from mlflow_trace_nb.instrumentation._patching import end_span_safely

__all__ = [
    "AsyncTracedStream",
    "AsyncTracedStreamManager",
    "Recorder",
    "TracedStream",
    "TracedStreamManager",
]


class Recorder(Protocol):
    """Assembles a stream's output from its items (vendor-specific)."""

    def add(self, item: Any) -> None:
        """Take one item the stream yielded."""

    def record(self, span: LiveSpan) -> None:
        """Write the assembled output and attributes on ``span`` (called once, at the end)."""


#: Streams and never-entered stream managers whose span is still open (ended at exit).
_OPEN: weakref.WeakSet[Any] = weakref.WeakSet()


def _end_open_streams() -> None:
    """End the span of every stream still open (``atexit``; never raises)."""
    try:
        for stream in list(_OPEN):
            stream._end_now()
    except Exception:
        report_internal_error("ending streams left open at exit")


# Registered after the runtime's exit flush (imported above), so it runs before it.
atexit.register(_end_open_streams)


class _Base:
    __slots__ = (
        "__weakref__",
        "_ended",
        "_ending",
        "_ending_iterators",
        "_iterator",
        "_recorder",
        "_span",
        "_wrapped",
    )
    _wrapped: Any
    _span: LiveSpan
    _recorder: Recorder
    _ending: tuple[str, ...]
    _ending_iterators: tuple[str, ...]
    _iterator: Any
    _ended: bool

    def __init__(
        self,
        wrapped: Any,
        span: LiveSpan,
        recorder: Recorder,
        ending: tuple[str, ...] = (),
        ending_iterators: tuple[str, ...] = (),
    ) -> None:
        init = object.__setattr__  # our __setattr__ forwards to the vendor object
        init(self, "_wrapped", wrapped)
        init(self, "_span", span)
        init(self, "_recorder", recorder)
        init(self, "_ending", ending)
        init(self, "_ending_iterators", ending_iterators)
        init(self, "_iterator", None)
        init(self, "_ended", False)
        _OPEN.add(self)

    # Proxying ---------------------------------------------------------------------------
    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance(proxy, openai.Stream) stays True
        return type(self._wrapped)

    def __getattr__(self, name: str) -> Any:
        value = getattr(object.__getattribute__(self, "_wrapped"), name)
        if name in self._ending and callable(value):
            return self._ending_method(value)
        if name in self._ending_iterators:
            return self._ending_iterator(value)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _Base.__slots__:
            object.__setattr__(self, name, value)
            return
        setattr(self._wrapped, name, value)

    def __repr__(self) -> str:
        return repr(self._wrapped)

    def _ending_method(self, method: Callable[..., Any]) -> Callable[..., Any]:
        raise NotImplementedError

    def _ending_iterator(self, iterator: Any) -> Any:
        raise NotImplementedError

    # Ending -----------------------------------------------------------------------------
    def _add(self, item: Any) -> None:
        try:
            self._recorder.add(item)
        except Exception:
            report_internal_error("recording a stream item")

    def _end(self, exc: BaseException | None = None) -> None:
        if self._ended:
            return
        self._ended = True
        _OPEN.discard(self)
        try:
            self._recorder.record(self._span)
        except Exception:
            report_internal_error("recording a stream's output")
        end_span_safely(self._span, exc)

    def _end_now(self) -> None:
        self._end()

    def __del__(self) -> None:
        if not getattr(self, "_ended", True):
            self._end()


class TracedStream(_Base):
    """A sync stream (iterator, context manager, ``close()``) whose span ends with it."""

    __slots__ = ()

    def __iter__(self) -> TracedStream:
        return self

    def __next__(self) -> Any:
        iterator = self._iterator
        if iterator is None:
            iterator = self._iterator = iter(self._wrapped)
        try:
            item = next(iterator)
        except StopIteration:
            self._end()
            raise
        except BaseException as exc:
            self._end(exc)
            raise
        self._add(item)
        return item

    def __enter__(self) -> Any:
        entered = self._wrapped.__enter__()
        return self if entered is self._wrapped else entered

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self._wrapped.__exit__(*exc_info)
        finally:
            self._end()

    def close(self) -> Any:
        """Close the vendor stream and end the span."""
        try:
            return self._wrapped.close()
        finally:
            self._end()

    def _ending_method(self, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = method(*args, **kwargs)
            except BaseException as exc:
                self._end(exc)
                raise
            self._end()
            return result

        return call

    def _ending_iterator(self, iterator: Any) -> Any:
        try:
            yield from iterator
        except BaseException as exc:
            if not isinstance(exc, GeneratorExit):
                self._end(exc)
            raise
        self._end()


class AsyncTracedStream(_Base):
    """An async stream (async iterator and context manager, ``close()``/``aclose()``)."""

    __slots__ = ()

    def __aiter__(self) -> AsyncTracedStream:
        return self

    async def __anext__(self) -> Any:
        iterator = self._iterator
        if iterator is None:
            iterator = self._iterator = self._wrapped.__aiter__()
        try:
            item = await iterator.__anext__()
        except StopAsyncIteration:
            self._end()
            raise
        except BaseException as exc:
            self._end(exc)
            raise
        self._add(item)
        return item

    async def __aenter__(self) -> Any:
        entered = await self._wrapped.__aenter__()
        return self if entered is self._wrapped else entered

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self._wrapped.__aexit__(*exc_info)
        finally:
            self._end()

    async def close(self) -> Any:
        """Close the vendor stream and end the span."""
        try:
            return await self._wrapped.close()
        finally:
            self._end()

    async def aclose(self) -> Any:
        """Close the vendor stream and end the span."""
        try:
            return await self._wrapped.aclose()
        finally:
            self._end()

    def _ending_method(self, method: Callable[..., Any]) -> Callable[..., Any]:
        if not inspect.iscoroutinefunction(method):
            return method

        @functools.wraps(method)
        async def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = await method(*args, **kwargs)
            except BaseException as exc:
                self._end(exc)
                raise
            self._end()
            return result

        return call

    async def _ending_iterator(self, iterator: Any) -> Any:
        try:
            async for item in iterator:
                yield item
        except BaseException as exc:
            if not isinstance(exc, GeneratorExit):
                self._end(exc)
            raise
        self._end()


StreamFactory = Callable[[Any], _Base]


class TracedStreamManager:
    """A vendor stream *manager* (``with client.messages.stream(...) as stream``): entering it
    yields the traced stream made by ``make_stream``; leaving it ends the span."""

    __slots__ = ("__weakref__", "_make_stream", "_manager", "_span", "_stream")

    def __init__(self, manager: Any, span: LiveSpan, make_stream: StreamFactory) -> None:
        self._manager = manager
        self._span = span
        self._make_stream = make_stream
        self._stream: _Base | None = None
        _OPEN.add(self)

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return type(self._manager)

    def __getattr__(self, name: str) -> Any:
        return getattr(object.__getattribute__(self, "_manager"), name)

    def _wrap(self, stream: Any) -> Any:
        _OPEN.discard(self)  # the stream (registered itself) ends the span from now on
        try:
            self._stream = self._make_stream(stream)
        except Exception:
            report_internal_error("wrapping a stream")
            end_span_safely(self._span)
            return stream
        return self._stream

    def _exit(self, exc: BaseException | None = None) -> None:
        _OPEN.discard(self)
        if self._stream is not None:
            self._stream._end()
        else:
            end_span_safely(self._span, exc)

    def __enter__(self) -> Any:
        try:
            stream = self._manager.__enter__()
        except BaseException as exc:
            self._exit(exc)
            raise
        return self._wrap(stream)

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self._manager.__exit__(*exc_info)
        finally:
            self._exit()

    def _end_now(self) -> None:
        self._exit()

    def __del__(self) -> None:
        if getattr(self, "_stream", True) is None:  # never entered: nothing was sent
            end_span_safely(self._span)


class AsyncTracedStreamManager(TracedStreamManager):
    """``TracedStreamManager`` for ``async with``."""

    __slots__ = ()

    async def __aenter__(self) -> Any:
        try:
            stream = await self._manager.__aenter__()
        except BaseException as exc:
            self._exit(exc)
            raise
        return self._wrap(stream)

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self._manager.__aexit__(*exc_info)
        finally:
            self._exit()
