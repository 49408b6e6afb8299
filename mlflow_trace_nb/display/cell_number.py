"""The ``In [N]`` number of the cell running now, on every IPython version.

IPython 9.8 moved the increment of ``shell.execution_count`` before the ``pre_run_cell``
event: while the cell shown as ``In [N]`` runs, the attribute reads ``N`` up to 9.7 and
``N + 1`` from 9.8 on. The offset is first taken from the version, then learned from every
stored cell's ``ExecutionResult.execution_count`` (the number IPython shows) at
``post_run_cell``, so a shell that behaves otherwise is corrected after its first cell.
"""

from __future__ import annotations

from typing import Any

__all__ = ["learn_offset", "running_cell_number"]

_learned: int | None = None


def _offset_for_version() -> int:
    try:
        from IPython import version_info

        return 1 if tuple(version_info[:2]) >= (9, 8) else 0
    except Exception:
        return 0


def _offset() -> int:
    return _offset_for_version() if _learned is None else _learned


def running_cell_number(shell: Any) -> int:
    """The ``In [N]`` number of the cell ``shell`` is running now."""
    return int(shell.execution_count) - _offset()


def learn_offset(count_at_start: int | None, result: Any) -> None:
    """Learn the offset from a finished cell: ``count_at_start`` is
    ``shell.execution_count`` as read at ``pre_run_cell``, ``result`` the
    ``ExecutionResult`` passed to ``post_run_cell``."""
    global _learned
    shown = getattr(result, "execution_count", None)
    info = getattr(result, "info", None)
    if count_at_start is None or not isinstance(shown, int) or info is None:
        return
    if not getattr(info, "store_history", False) or getattr(info, "silent", False):
        return
    offset = count_at_start - shown
    if offset in (0, 1):
        _learned = offset
