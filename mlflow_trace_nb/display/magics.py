"""IPython magics: ``%%trace`` (a cell as one span) and ``%traces`` (show recent traces).

``%load_ext mlflow_trace_nb`` registers them::

    %%trace                      # root span "cell [7]", type UNKNOWN
    %%trace retrieval --type RETRIEVER
    docs = retrieve("q")

    %traces                      # the last 5 traces of the current experiment
    %traces 20 --filter "status = 'ERROR'"

``%%trace`` records the cell's source as the span's inputs (``{"cell": source}``) and its last
expression's value plus what it printed as outputs (``{"result": ..., "stdout": ...}``).
The cell runs in the user namespace like any cell (its last expression is the cell's
``Out``); top-level ``await`` is not supported inside ``%%trace``. An exception marks the
span ERROR and then propagates as a normal IPython error.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import shlex
import sys
from collections.abc import Sequence
from typing import Any

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from mlflow_trace_nb._internal.tracer.span_lifecycle import DEFAULT_SPAN_TYPE
from mlflow_trace_nb.display.cell_number import running_cell_number

__all__ = [
    "DEFAULT_TRACES_SHOWN",
    "MAX_STDOUT_CHARS",
    "TraceMagics",
    "load_ipython_extension",
    "unload_ipython_extension",
]

#: Traces ``%traces`` shows without an argument.
DEFAULT_TRACES_SHOWN = 5
#: Printed characters kept as the span's ``stdout`` output (all of it is still printed).
MAX_STDOUT_CHARS = 10_000


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # no sys.exit inside a kernel
        raise _UsageError(f"{self.prog}: {message}")


def _trace_parser() -> _Parser:
    parser = _Parser(prog="%%trace", add_help=False)
    parser.add_argument("name", nargs="*")
    parser.add_argument("--type", "-t", dest="span_type", default=None)
    return parser


def _traces_parser() -> _Parser:
    parser = _Parser(prog="%traces", add_help=False)
    parser.add_argument("count", nargs="?", type=int, default=DEFAULT_TRACES_SHOWN)
    parser.add_argument("--filter", "-f", dest="filter_string", default=None)
    return parser


def _parse(parser: _Parser, line: str) -> argparse.Namespace:
    from IPython.core.error import UsageError

    try:
        return parser.parse_args(shlex.split(line))
    except (_UsageError, ValueError) as error:
        raise UsageError(str(error)) from None


class _Tee:
    """Writes through to the real stream and keeps the first ``MAX_STDOUT_CHARS``."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._parts: list[str] = []
        self._size = 0

    def write(self, text: str) -> int:
        if self._size < MAX_STDOUT_CHARS:
            kept = text[: MAX_STDOUT_CHARS - self._size]
            self._parts.append(kept)
            self._size += len(kept)
        return int(self._stream.write(text) or 0)

    def flush(self) -> None:
        self._stream.flush()

    def text(self) -> str:
        return "".join(self._parts)

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno...
        return getattr(self._stream, name)


@magics_class
class TraceMagics(Magics):
    """``%%trace`` and ``%traces``."""

    @cell_magic  # type: ignore[untyped-decorator, unused-ignore]
    def trace(self, line: str, cell: str) -> Any:
        """Run the cell as one root span: ``%%trace [name] [--type TYPE]``."""
        __tracebackhide__ = True  # IPython leaves this frame out of the user's traceback
        from mlflow_trace_nb._internal.tracer.tracer import start_span

        args = _parse(_trace_parser(), line)
        shell: Any = self.shell
        name = " ".join(args.name) or f"cell [{running_cell_number(shell)}]"
        body, last = self._compile(cell)
        tee = _Tee(sys.stdout)
        with start_span(name, span_type=args.span_type or DEFAULT_SPAN_TYPE) as span:
            span.set_inputs({"cell": cell})
            original, sys.stdout = sys.stdout, tee
            try:
                exec(body, shell.user_global_ns, shell.user_ns)
                result = None
                if last is not None:
                    result = eval(last, shell.user_global_ns, shell.user_ns)
            finally:
                sys.stdout = original
                span.set_outputs({"stdout": tee.text()})
            span.set_outputs({"result": result, "stdout": tee.text()})
        return result

    def _compile(self, cell: str) -> tuple[Any, Any]:
        """The cell as IPython would run it (magics, ``!`` lines), last expression apart."""
        shell: Any = self.shell
        source = shell.transform_cell(cell)
        tree = shell.transform_ast(shell.compile.ast_parse(source))
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        filename = shell.compile.cache(cell, running_cell_number(shell))
        body = shell.compile(tree, filename, "exec")
        return body, (shell.compile(last, filename, "eval") if last is not None else None)

    @line_magic  # type: ignore[untyped-decorator, unused-ignore]
    def traces(self, line: str) -> None:
        """Show the last N traces: ``%traces [N] [--filter "status = 'ERROR'"]``."""
        from mlflow_trace_nb._internal.search import search_traces

        args = _parse(_traces_parser(), line)
        if args.count < 0:
            from IPython.core.error import UsageError

            raise UsageError("%traces: N must be >= 0")
        found = search_traces(  # flushes the local store first, never waits for a remote
            filter_string=args.filter_string, max_results=args.count, return_type="list"
        )
        _show(list(found))


def _show(traces: Sequence[Any]) -> None:
    try:  # B1's widget bundle; imported by name so this module does not depend on it
        show_traces = importlib.import_module("mlflow_trace_nb.display.bundle").show_traces
    except (
        ImportError,
        AttributeError,
    ):  # the widget bundle is optional: fall back to the static view
        from IPython.display import display

        from mlflow_trace_nb.display.static_html import render_static_html

        plain = "\n".join(f"{t.request_id}  {t.name}  {t.status}" for t in traces)
        bundle = {"text/html": render_static_html(traces), "text/plain": plain or "no traces"}
        display(bundle, raw=True)  # type: ignore[no-untyped-call, unused-ignore]
        return
    show_traces(list(traces))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext mlflow_trace_nb``: register the magics and the per-cell tags."""
    from mlflow_trace_nb.display.cell_flush import register_cell_flush
    from mlflow_trace_nb.display.cell_tags import register_cell_tags

    ipython.register_magics(TraceMagics)
    register_cell_flush()
    register_cell_tags()


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext mlflow_trace_nb``: remove the magics (tags and flush stay on)."""
    magics = ipython.magics_manager.magics
    for kind, name in (("cell", "trace"), ("line", "traces")):
        if isinstance(getattr(magics[kind].get(name), "__self__", None), TraceMagics):
            del magics[kind][name]
