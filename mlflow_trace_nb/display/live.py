"""Live cell outputs: one view per cell, updated from a background timer while it runs.

The tracer's hooks only append a trace to a list or set a flag (``mark_dirty``); a daemon
thread wakes every ``UPDATE_INTERVAL_S`` seconds while a cell runs, shows the cell's view once
the cell has been running for ``LIVE_DELAY_S`` with traces, and rebuilds the widget payload
when spans ended since the last update (at most one rebuild per interval, and never more often
than every ``4 x`` the last rebuild's duration). When the cell ends the view settles: the main
thread shows or updates it with the final traces and the static HTML fallback, built once
per output (never per live refresh; once more if a shown trace was still running then and
ends later). The tracer's per-trace hooks are O(1): a cell keeps its first
``MAX_TRACES_PER_CELL`` traces and only counts the rest.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import TYPE_CHECKING, Any, TypeAlias

from mlflow_trace_nb._internal.tracer.context import untraced_thread
from mlflow_trace_nb.errors import report_internal_error

if TYPE_CHECKING:
    from mlflow_trace_nb._internal.tracer.live_span import LiveTrace
    from mlflow_trace_nb.entities import Trace

#: What a cell view shows: live traces, and stored ones for traces too big to keep live.
ShownTrace: TypeAlias = "LiveTrace | Trace"

__all__ = ["LIVE_DELAY_S", "MAX_TRACES_PER_CELL", "UPDATE_INTERVAL_S", "CellView", "LiveUpdater"]

#: At most this many traces are shown per cell; the rest are counted.
MAX_TRACES_PER_CELL = 10
#: Seconds between live updates (at least).
UPDATE_INTERVAL_S = 0.4
#: A cell's view appears while it runs once it has had traces for this long.
LIVE_DELAY_S = 0.5
#: A settled view whose traces still run (background threads) is updated at most this long.
MAX_LIVE_AFTER_CELL_S = 600.0

_ids = itertools.count(1)
_LIVE_HTML = "<pre>mlflow-trace-nb: traces running…</pre>"


def _display(bundle: dict[str, Any], display_id: str, update: bool) -> None:
    from IPython.display import display

    display(bundle, raw=True, display_id=display_id, update=update)  # type: ignore[no-untyped-call]


class CellView:
    """The traces one cell started or completed, and the output showing them."""

    def __init__(self) -> None:
        self.traces: list[ShownTrace] = []  # the first MAX_TRACES_PER_CELL traces (shown)
        self.extra = 0  # further traces of the cell, counted only
        self._extra_running: dict[int, LiveTrace] = {}  # by id(); held so ids stay unique
        self.completed = 0
        self.started_at = time.monotonic()
        self.ended_at: float | None = None
        self.display_id = f"mlflow-trace-nb-{next(_ids)}-{time.time_ns()}"
        self.widget: Any = None
        self.displayed = False
        self.settled_running = False  # settled while a shown trace still ran
        self.lock = threading.Lock()

    def started(self, trace: LiveTrace) -> None:
        """A trace started in this cell (O(1): only shown traces are kept)."""
        if len(self.traces) < MAX_TRACES_PER_CELL:
            self._keep(trace)
        else:
            self.extra += 1
            self._extra_running[id(trace)] = trace

    def _keep(self, trace: LiveTrace) -> None:
        trace.kept = True  # the tracer leaves its live spans whole once it ends
        self.traces.append(trace)

    def ended(self, trace: LiveTrace) -> None:
        """A trace ended while this cell ran (it may have started in an earlier cell)."""
        self.completed += 1
        if self._extra_running.pop(id(trace), None) is not None:
            return
        if any(t is trace for t in self.traces):  # at most MAX_TRACES_PER_CELL items
            return
        if len(self.traces) < MAX_TRACES_PER_CELL:
            self._keep(trace)
        else:
            self.extra += 1

    def add(self, trace: LiveTrace) -> None:
        """Remember ``trace`` (once) without counting it as completed."""
        if any(t is trace for t in self.traces) or id(trace) in self._extra_running:
            return
        self.started(trace)

    def shown(self) -> tuple[list[ShownTrace], int]:
        """The traces to draw and how many more there are."""
        return list(self.traces), self.extra

    def complete(self) -> None:
        """Swap each ended trace that kept only part of its spans in memory (a running trace
        keeps its first ``LIVE_SPANS_KEPT``; the rest went to the store as they ended) for
        its stored copy, so the settled view shows every span."""
        partial = [
            i
            for i, t in enumerate(self.traces)
            if getattr(t, "closed", False) and getattr(t, "span_count", 0) > len(t.spans)
        ]
        if not partial:
            return
        from mlflow_trace_nb._internal.runtime import RUNTIME

        try:
            RUNTIME.flush_for_read()  # the local store only: never waits for a remote
            for i in partial:
                stored = RUNTIME.store.get_trace(self.traces[i].request_id)
                if stored is not None:
                    self.traces[i] = stored
        except Exception:
            report_internal_error("notebook display: reading a large trace back")

    @property
    def running(self) -> bool:
        """True while a shown trace of the view is still being recorded."""
        return any(not getattr(t, "closed", True) for t in self.traces)

    def show_live(self) -> None:
        """Show the view while the cell runs (from the timer thread). The static HTML is
        not built here: the widget shows, and the final HTML comes when the cell ends."""
        from mlflow_trace_nb.display.bundle import batch_run, make_widget, trace_bundle

        with self.lock:
            traces, more = self.shown()
            if self.displayed or not traces or batch_run():
                return  # batch runners (nbconvert, nbval) draw no widget: the final view only
            self.widget = make_widget(traces, more=more)
            if self.widget is None:
                return  # no anywidget: the static view appears when the cell ends
            bundle = trace_bundle(traces, more=more, widget=self.widget, html=_LIVE_HTML)
            _display(bundle, self.display_id, False)
            self.displayed = True

    def refresh(self) -> None:
        """Redraw the widget from the traces as they are now."""
        with self.lock:
            if self.widget is not None:
                traces, more = self.shown()
                self.widget.set_traces(traces, more)

    def settle(self) -> None:
        """Show (or update) the final view; called on the main thread when the cell ends.
        The static HTML is built here, once (again once more if traces were still running)."""
        from mlflow_trace_nb.display.bundle import batch_run, make_widget, trace_bundle

        with self.lock:
            self.ended_at = time.monotonic()
            self.complete()
            traces, more = self.shown()
            if not self.displayed and self.completed == 0:
                return
            if self.widget is not None:
                self.widget.set_traces(traces, more)
            elif not batch_run():  # a widget made under a batch runner only bloats the file
                try:
                    self.widget = make_widget(traces, more=more)
                except Exception:
                    report_internal_error("trace widget")
            self.settled_running = any(not getattr(t, "closed", True) for t in traces)
            bundle = trace_bundle(
                traces, more=more, widget=self.widget, html=_final_html(traces, more)
            )
            _display(bundle, self.display_id, self.displayed)
            self.displayed = True

    def finish(self) -> None:
        """The traces a settled view showed as running have ended: redraw its static HTML
        (and the widget) a last time."""
        with self.lock:
            if not self.settled_running or not self.displayed:
                return
            from mlflow_trace_nb.display.bundle import trace_bundle

            self.settled_running = False
            self.complete()
            traces, more = self.shown()
            if self.widget is not None:
                self.widget.set_traces(traces, more)
            bundle = trace_bundle(
                traces, more=more, widget=self.widget, html=_final_html(traces, more)
            )
            _display(bundle, self.display_id, True)


def _final_html(traces: list[ShownTrace], more: int) -> str | bool:
    from mlflow_trace_nb.display.bundle import static_html

    return static_html(traces, more=more) or False


class LiveUpdater:
    """The background thread that shows and refreshes live cell views."""

    def __init__(self) -> None:
        self.views: list[CellView] = []  # the running cell's view and still-running ones
        self.dirty = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def mark_dirty(self) -> None:
        """Something changed (a span ended): redraw at the next tick."""
        self.dirty = True

    def watch(self, view: CellView) -> None:
        """Keep ``view`` updated until its cell ended and its traces are done."""
        with self._lock:
            if view not in self.views:
                self.views.append(view)
        self._start()
        self._wake.set()

    def stop(self) -> None:
        """Stop the thread (views are no longer updated)."""
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="mlflow-trace-nb-live", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        untraced_thread()
        interval = UPDATE_INTERVAL_S
        while not self._stop.is_set():
            self._wake.wait()
            if self._stop.wait(interval):
                return
            started = time.monotonic()
            try:
                self._tick(started)
            except Exception:
                report_internal_error("live trace view")
            interval = max(UPDATE_INTERVAL_S, 4 * (time.monotonic() - started))

    def _tick(self, now: float) -> None:
        with self._lock:
            views = list(self.views)
        dirty, self.dirty = self.dirty, False
        finished = []
        for view in views:
            if view.traces:
                if not view.displayed:
                    if view.ended_at is None and now - view.started_at >= LIVE_DELAY_S:
                        view.show_live()
                elif dirty or view.running:
                    view.refresh()
            if view.ended_at is not None and (
                not view.running or now - view.ended_at > MAX_LIVE_AFTER_CELL_S
            ):
                if not view.running:
                    view.finish()
                finished.append(view)
        with self._lock:
            self.views = [v for v in self.views if v not in finished]
            if not self.views:
                self._wake.clear()
