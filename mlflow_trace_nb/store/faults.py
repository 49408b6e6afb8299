"""What kind of failure a store error is, which decides what the store does about it.

- ``TRANSIENT``: the file is fine but cannot be written right now: locked or busy (another
  process), full disk (``SQLITE_FULL``, also ``EFBIG`` from a file-size limit, which SQLite
  reports as an I/O error), I/O error, read-only (a remount), cannot open (a directory
  removed for a while), out of memory. Retried with backoff; what waits stays in the backlog.
- ``CORRUPT``: the file is damaged (``SQLITE_CORRUPT``, ``SQLITE_NOTADB``). Queries raise
  ``StoreCorruptedError``; the writer moves the file aside and starts a new one.
- ``DATA``: a value the database refused (a type it cannot bind, an integer out of range, a
  constraint). Only the item that carries it fails: the batch is written item by item.
- ``UNUSABLE``: the destination cannot work at all (the path's parent is a file, permission
  denied, a path that is not a regular file such as ``/dev/full`` or a FIFO, a database that
  is not a trace store or whose layout this version cannot use: ``UnusableStoreError``):
  only meaningful the first time a store is opened, where it means memory instead.
"""

from __future__ import annotations

import errno
import sqlite3

__all__ = [
    "CORRUPT",
    "UnusableStoreError",
    "DATA",
    "TRANSIENT",
    "UNUSABLE",
    "classify",
    "describe",
    "unusable_at_first_open",
]

TRANSIENT = "transient"
CORRUPT = "corrupt"
DATA = "data"
UNUSABLE = "unusable"

# Primary SQLite result codes (the low byte of an extended code).
_BUSY, _LOCKED, _NOMEM, _READONLY, _IOERR, _CORRUPT = 5, 6, 7, 8, 10, 11
_FULL, _CANTOPEN, _PROTOCOL, _AUTH, _PERM, _NOTADB = 13, 14, 15, 23, 3, 26
_TRANSIENT_CODES = {_BUSY, _LOCKED, _NOMEM, _READONLY, _IOERR, _FULL, _CANTOPEN, _PROTOCOL}
_TRANSIENT_WORDS = ("locked", "busy", "full", "i/o error", "readonly", "unable to open")
_CORRUPT_WORDS = ("malformed", "not a database", "corrupt")
_TRANSIENT_ERRNOS = {errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EROFS, errno.EDQUOT}


class UnusableStoreError(sqlite3.DatabaseError):
    """The path holds something the store cannot use: not a regular file, or a database
    that is not a trace store (tables of another layout), or one whose layout a newer
    version changed."""


def classify(error: BaseException) -> str:
    """``TRANSIENT``, ``CORRUPT``, ``DATA`` or ``UNUSABLE`` for an exception from the store."""
    if isinstance(error, UnusableStoreError):
        return UNUSABLE
    if isinstance(error, sqlite3.DatabaseError) and not isinstance(
        error, (sqlite3.IntegrityError, sqlite3.DataError, sqlite3.ProgrammingError)
    ):
        code = getattr(error, "sqlite_errorcode", None)
        if isinstance(code, int):
            primary = code & 0xFF
            if primary in (_CORRUPT, _NOTADB):
                return CORRUPT
            if primary in _TRANSIENT_CODES:
                return TRANSIENT
            if primary in (_AUTH, _PERM):
                return UNUSABLE
        message = str(error).lower()
        if any(word in message for word in _CORRUPT_WORDS):
            return CORRUPT
        if any(word in message for word in _TRANSIENT_WORDS):
            return TRANSIENT
        if isinstance(error, sqlite3.OperationalError):
            return TRANSIENT
        return DATA
    if isinstance(error, OSError):
        return TRANSIENT if error.errno in _TRANSIENT_ERRNOS else UNUSABLE
    return DATA  # InterfaceError, IntegrityError, OverflowError, UnicodeEncodeError, ...


def describe(error: BaseException) -> str:
    """A short one-line description of ``error`` for warnings and ``health()``."""
    name = getattr(error, "sqlite_errorname", None)
    text = str(error) or type(error).__name__
    return f"{text} ({name})" if name else text


def unusable_at_first_open(error: BaseException) -> bool:
    """True when ``error``, met before the store ever opened, means the path cannot work
    (bad parent, read-only or forbidden directory): then the process keeps traces in memory."""
    if classify(error) == UNUSABLE:
        return True
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(code, int) and (code & 0xFF) in (_CANTOPEN, _READONLY, _PERM, _AUTH)
