"""Trace storage: the SQLite schema, its migrations, and the store that reads and writes it."""
