"""Whether a background thread can still be started (or still runs) as the interpreter exits.

Python's exit runs in phases: ``threading._shutdown()`` joins the non-daemon threads, then
the ``atexit`` handlers run, then the interpreter *finalizes* (``sys.is_finalizing()``):
module globals are cleared and the ``__del__`` of objects still alive runs, a stream left
open at module level among them. From then on no other thread runs again: a daemon thread
that wakes up is stopped as it asks for the GIL, and ``Thread.start()`` waits forever for a
thread that never begins (Python 3.11; later versions raise ``RuntimeError``). Anything that
ends a span from then on (a stream wrapper's ``__del__``, a generator closed by the
collector, an abandoned trace) must be written on the calling thread, or dropped with a
count: never wait for a thread. Nor can much be written then: imports fail once
``sys.modules`` has been emptied, so the queue drops (and counts) what ends while the
interpreter finalizes, and writes on the caller what ends in the ``atexit`` phase.

``threads_allowed()`` is the one check, for every place that would start a thread;
``thread_runs(thread)`` says whether an existing thread can still do the work.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

__all__ = ["is_finalizing", "thread_runs", "threads_allowed"]


# Modules are bound as default arguments: while the interpreter finalizes, the globals of
# modules (this one included) are set to None one by one, and a ``__del__`` may call in.


def is_finalizing(_sys: Any = sys) -> bool:
    """True once the interpreter finalizes: ``sys.modules`` is being emptied (imports fail)
    and no thread but this one will run again."""
    return bool(_sys.is_finalizing())


def threads_allowed(_sys: Any = sys, _threading: Any = threading) -> bool:
    """False once the interpreter has begun to exit (``threading`` has joined its threads)
    or is finalizing: work that would need a new thread must be done on the caller."""
    if _sys.is_finalizing():
        return False
    return not getattr(_threading, "_SHUTTING_DOWN", False)


def thread_runs(thread: threading.Thread | None, _sys: Any = sys) -> bool:
    """Whether ``thread`` exists, is alive and can still run (no other thread runs once the
    interpreter is finalizing, though it may still look alive)."""
    return thread is not None and thread.is_alive() and not _sys.is_finalizing()
