"""Time for an exception to reach the caller through N traced levels (issue H, item 7).

Standalone: ``python benchmarks/bench_deep_exception.py [depth ...]``. Prints, per depth, the
median of 5 runs of: raise at the bottom of a traced recursion -> caught by the caller; plus a
runaway recursion (``RecursionError`` at the interpreter's limit). Traces go to memory.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time

import mlflow_trace_nb as mlflow


def _measure(depth: int) -> float:
    error = LookupError("bottom")

    @mlflow.trace(name="level")
    def level(n: int) -> int:
        if n == depth:
            raise error
        return level(n + 1)

    start = time.perf_counter()
    with contextlib.suppress(LookupError):
        level(0)
    return time.perf_counter() - start


def _runaway() -> float:
    @mlflow.trace(name="runaway")
    def runaway(n: int) -> int:
        return runaway(n + 1)

    start = time.perf_counter()
    with contextlib.suppress(RecursionError):
        runaway(0)
    return time.perf_counter() - start


def main(depths: list[int]) -> None:
    mlflow.set_destination("memory")
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3 * max(depths) + 500))
    for depth in depths:
        runs = []
        for _ in range(5):
            runs.append(_measure(depth))
            mlflow.flush()
        print(f"depth {depth:4d}: {statistics.median(runs) * 1e3:9.1f} ms to reach the caller")
    sys.setrecursionlimit(1000)
    runs = []
    for _ in range(3):
        runs.append(_runaway())
        mlflow.flush()
    print(f"runaway recursion (limit 1000): {statistics.median(runs) * 1e3:9.1f} ms")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 10, 100, 500])
