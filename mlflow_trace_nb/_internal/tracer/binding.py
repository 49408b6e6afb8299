"""Binding a traced call's arguments to its parameter names (``Binder``), fast.

A traced function's inputs are recorded by parameter name, defaults applied. The common
call passes positional arguments only: for each count of them a function may be called with,
``positional_makers`` builds (once, when the function is decorated) a function returning
the inputs as one dict display, ``{'x': args[0], 'y': defaults[0]}``: about 100 ns, where
``dict(zip(names, args + defaults))`` takes about 350. The source is generated from the
parameter names as ``repr`` string literals and integer indexes only (nothing of a call's
values), as ``collections.namedtuple`` and ``dataclasses`` generate theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlflow_trace_nb._internal.tracer.capture import SNAPSHOT_TYPES, snapshot_values

__all__ = ["MAX_GENERATED_PARAMETERS", "Binder", "positional_makers"]

#: Functions with more positional parameters than this are bound by the general path.
MAX_GENERATED_PARAMETERS = 32

Maker = Callable[[tuple[Any, ...], tuple[Any, ...]], dict[str, Any]]


def positional_makers(
    names: tuple[str, ...], first_default: int, drop: str | None
) -> tuple[Maker | None, ...]:
    """Index ``count``: a function ``(args, tail_defaults) -> inputs`` for a call passing
    ``count`` positional arguments, for every count from ``first_default`` (the required
    ones) to ``len(names)``; None below that (such a call fails, the general path binds
    what it can). ``drop`` (``self``/``cls``) is left out of the inputs."""
    if len(names) > MAX_GENERATED_PARAMETERS or not all(type(n) is str for n in names):
        return ()
    makers: list[Maker | None] = [None] * first_default
    for count in range(first_default, len(names) + 1):
        items = [
            f"{name!r}: " + (f"a[{i}]" if i < count else f"d[{i - first_default}]")
            for i, name in enumerate(names)
            if name != drop
        ]
        source = "lambda a, d: {" + ", ".join(items) + "}"
        code = compile(source, "<mlflow_trace_nb binder>", "eval")
        makers.append(eval(code, {"__builtins__": {}}))  # names as literals only (see above)
    return tuple(makers)


class Binder:
    """Maps a call's ``args``/``kwargs`` to parameter names, defaults applied, fast."""

    __slots__ = (
        "defaults",
        "drop",
        "first_default",
        "makers",
        "named",
        "positional",
        "tail_defaults",
        "var_positional",
    )

    def __init__(self, func: Callable[..., Any]) -> None:
        self.positional: tuple[str, ...] = ()
        self.defaults: tuple[tuple[str, Any], ...] = ()
        self.var_positional: str | None = None
        self.drop: str | None = None
        self.named = 0  # parameters that are neither *args nor **kwargs
        # Fast path for positional calls: the defaults of the trailing positional parameters
        # (index first_default on), and by count of positional arguments the function making
        # the inputs of a call passing that many and no keywords (see positional_makers).
        self.tail_defaults: tuple[Any, ...] = ()
        self.first_default = -1  # -1: no fast path
        self.makers: tuple[Maker | None, ...] = ()
        import inspect

        try:
            params = list(inspect.signature(func).parameters.values())
        except (TypeError, ValueError):  # builtins without a signature
            self.var_positional = "args"
            return
        kinds = inspect.Parameter
        self.positional = tuple(
            p.name for p in params if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)
        )
        self.defaults = tuple((p.name, p.default) for p in params if p.default is not p.empty)
        self.var_positional = next((p.name for p in params if p.kind == kinds.VAR_POSITIONAL), None)
        self.named = sum(p.kind not in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD) for p in params)
        if self.positional and self.positional[0] in ("self", "cls"):
            self.drop = self.positional[0]
        if self.named == len(self.positional):  # no keyword-only parameters
            positional_params = [p for p in params if p.name in self.positional]
            self.tail_defaults = tuple(
                p.default for p in positional_params if p.default is not p.empty
            )
            self.first_default = len(self.positional) - len(self.tail_defaults)
            self.makers = positional_makers(self.positional, self.first_default, self.drop)

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The call's inputs by parameter name, defaults applied (``self``/``cls`` left out),
        containers copied."""
        count = len(args)
        makers = self.makers
        if not kwargs and count < len(makers) and (make := makers[count]) is not None:
            inputs = make(args, self.tail_defaults)  # the common call: positional only
        else:
            inputs = self._bind_any(args, kwargs)
        for value in inputs.values():
            if type(value) in SNAPSHOT_TYPES:  # copy containers only when there are some
                return snapshot_values(inputs)
        return inputs

    def _bind_any(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        positional = self.positional
        inputs = dict(zip(positional, args))  # noqa: B905 (strict= costs 0.25 µs)
        if kwargs:
            inputs.update(kwargs)
        if len(inputs) < self.named:  # some parameters took their defaults
            for name, default in self.defaults:
                if name not in inputs:
                    inputs[name] = default
        if len(args) > len(positional) and self.var_positional:
            inputs[self.var_positional] = args[len(positional) :]
        if self.drop is not None:
            inputs.pop(self.drop, None)
        return inputs
