"""The org's SQLite database: one table per sObject (created by ``schema.create_tables``), ids, row helpers.

Conventions (docs/architecture.md §1.1): a table is named like its sObject and has one column per field;
booleans are 0/1, datetimes ``YYYY-MM-DDTHH:MM:SS.mmm+0000`` UTC strings (so they sort as text), ids are
18-character Salesforce ids carrying the object's key prefix.

Simulator bookkeeping lives in tables whose names start with ``_sim_`` (no sObject starts with ``_``):

- ``_sim_meta(key, value)``: JSON values: the loaded scenario, the id sequence, the state version.
- ``_sim_app(name, label, consumer_key, visible, blocked, managed)``: connected apps as OAuth Usage sees them
  (whether an app is *installed* is whether a ``ConnectedApplication`` row exists).
- ``_sim_session(token, kind, user_id, created)``: OAuth access tokens, refresh tokens and authorization codes
  the simulator issued (``kind`` is ``access``, ``refresh`` or ``code``).

Every method is safe to call from the server's threads: they take ``Store.lock`` (re-entrant), and callers
that need several calls to be atomic hold it themselves.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import sqlite3
import string
import threading
from collections.abc import Iterator
from typing import Any

from orgsim import schema

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"


class StateFileError(Exception):
    """The ``--state`` file exists but is not a simulator database (corrupt, or some other file)."""


def format_datetime(value: _dt.datetime) -> str:
    """``2026-03-01T12:00:00.123+0000``: Salesforce's REST datetime shape, UTC, millisecond precision."""
    value = value.astimezone(_dt.UTC)
    return value.strftime(DATETIME_FORMAT) + f".{value.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> _dt.datetime:
    """Inverse of :func:`format_datetime`."""
    return _dt.datetime.strptime(text[:23], DATETIME_FORMAT + ".%f").replace(tzinfo=_dt.UTC)


def _fields(sobject) -> list:
    fields = sobject.fields
    return list(fields.values()) if isinstance(fields, dict) else list(fields)


class Store:
    """One org's state. Open with :meth:`create` (fresh, from nothing) or :meth:`open_existing` (a state file)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.conn.row_factory = sqlite3.Row
        self.lock = threading.RLock()
        self._columns: dict[str, list[str]] = {}
        self._last_now = ""
        #: The two counters every insert reads and writes (``id_seq``, ``version``), kept in memory as well
        #: (one process owns a store); cleared when a savepoint rolls back.
        self._counters: dict[str, Any] = {}

    # -- opening ---------------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: str = ":memory:") -> Store:
        """A new, empty org database at ``path`` (``:memory:`` or a file that does not exist yet)."""
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        store = cls(conn)
        schema.create_tables(conn)
        conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS _sim_meta (key TEXT PRIMARY KEY, value TEXT);
            CREATE TABLE IF NOT EXISTS _sim_app (name TEXT PRIMARY KEY, label TEXT, consumer_key TEXT,
                visible INTEGER DEFAULT 0, blocked INTEGER DEFAULT 0, managed INTEGER DEFAULT 0);
            CREATE TABLE IF NOT EXISTS _sim_session (token TEXT PRIMARY KEY, kind TEXT, user_id TEXT,
                created TEXT);
            """
        )
        store.set_meta("format", "orgsim-1")
        return store

    @classmethod
    def open_existing(cls, path: str) -> Store:
        """Open a state file written by an earlier server. Checks it read-only first, so a corrupt or foreign
        file is never modified. Raises :class:`StateFileError` with a one-line reason."""
        try:
            probe = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                row = probe.execute("SELECT value FROM _sim_meta WHERE key = 'format'").fetchone()
            finally:
                probe.close()
        except sqlite3.DatabaseError as exc:
            raise StateFileError(f"{path}: not a simulator state file ({exc})") from None
        if not row or json.loads(row[0]) != "orgsim-1":
            raise StateFileError(f"{path}: not a simulator state file (no orgsim format marker)")
        return cls(sqlite3.connect(path, check_same_thread=False, isolation_level=None))

    # -- bookkeeping -------------------------------------------------------------------------------------

    def meta(self, key: str, default: Any = None) -> Any:
        if key in self._counters:
            return self._counters[key]
        with self.lock:
            row = self.conn.execute("SELECT value FROM _sim_meta WHERE key = ?", (key,)).fetchone()
        value = json.loads(row[0]) if row else default
        if key in _COUNTERS and row:
            self._counters[key] = value
        return value

    def set_meta(self, key: str, value: Any) -> None:
        with self.lock:
            self.conn.execute(
                "INSERT OR REPLACE INTO _sim_meta (key, value) VALUES (?, ?)",
                (key, json.dumps(value)),
            )
            if key in _COUNTERS:
                self._counters[key] = value

    @property
    def version(self) -> int:
        """Incremented by every write (DML, action, deploy): how the autopilot sees that the org changed."""
        return self.meta("version", 0)

    def bump(self) -> None:
        with self.lock:
            self.set_meta("version", self.version + 1)

    def now(self) -> str:
        """The current time as a Salesforce datetime string, strictly increasing within this store (so two
        events in the same millisecond still compare in order)."""
        with self.lock:
            value = format_datetime(_dt.datetime.now(_dt.UTC))
            if value <= self._last_now:
                value = format_datetime(
                    parse_datetime(self._last_now) + _dt.timedelta(milliseconds=1)
                )
            self._last_now = value
            return value

    def new_id(self, sobject: str) -> str:
        """A fresh 18-character id with the object's key prefix, e.g. ``0PS5i0000000001AAA``."""
        with self.lock:
            seq = self.meta("id_seq", 0) + 1
            self.set_meta("id_seq", seq)
        digits = ""
        n = seq
        while n:
            n, r = divmod(n, 62)
            digits = _BASE62[r] + digits
        prefix = schema.OBJECTS[sobject].key_prefix
        return schema.to_18(prefix + "5i" + digits.rjust(10, "0"))

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """All writes inside commit together or, if the block raises, not at all (SQLite SAVEPOINT)."""
        with self.lock:
            self.conn.execute("SAVEPOINT sim")
            version = self.version
            try:
                yield
            except BaseException:
                self.conn.execute("ROLLBACK TO sim")
                self.conn.execute("RELEASE sim")
                self._counters.clear()
                self.set_meta("version", version)
                raise
            self.conn.execute("RELEASE sim")

    # -- rows ----------------------------------------------------------------------------------------------

    def columns(self, sobject: str) -> list[str]:
        if sobject not in self._columns:
            with self.lock:
                info = self.conn.execute(f'PRAGMA table_info("{sobject}")').fetchall()
            self._columns[sobject] = [row[1] for row in info]
        return self._columns[sobject]

    def insert(self, sobject: str, values: dict[str, Any], *, user_id: str | None = None) -> str:
        """Insert a row, filling Id, audit fields and boolean defaults. Returns the new Id. No rules are
        checked here: that is ``platform``'s job. Unknown columns raise ``KeyError``."""
        cols = self.columns(sobject)
        row: dict[str, Any] = {}
        for field in _fields(schema.OBJECTS[sobject]):
            if field.type == "boolean" and field.name in cols:
                row[field.name] = 0
        now = self.now()
        for audit, value in (
            ("CreatedDate", now),
            ("LastModifiedDate", now),
            ("SystemModstamp", now),
            ("CreatedById", user_id),
            ("LastModifiedById", user_id),
        ):
            if audit in cols and value is not None:
                row[audit] = value
        row.update({k: _to_db(v) for k, v in values.items()})
        row.setdefault("Id", self.new_id(sobject))
        unknown = set(row) - set(cols)
        if unknown:
            raise KeyError(f"{sobject} has no column(s) {sorted(unknown)}")
        names = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        with self.lock:
            self.conn.execute(
                f'INSERT INTO "{sobject}" ({names}) VALUES ({marks})', list(row.values())
            )
            self.bump()
        return row["Id"]

    def update(
        self, sobject: str, record_id: str, values: dict[str, Any], *, user_id: str | None = None
    ) -> None:
        """Update a row's columns; stamps LastModifiedDate/SystemModstamp (and LastModifiedById)."""
        cols = self.columns(sobject)
        row = {k: _to_db(v) for k, v in values.items()}
        now = self.now()
        for audit, value in (
            ("LastModifiedDate", now),
            ("SystemModstamp", now),
            ("LastModifiedById", user_id),
        ):
            if audit in cols and value is not None and audit not in row:
                row[audit] = value
        if not row:
            return
        sets = ", ".join(f'"{c}" = ?' for c in row)
        with self.lock:
            self.conn.execute(
                f'UPDATE "{sobject}" SET {sets} WHERE Id = ?', [*row.values(), record_id]
            )
            self.bump()

    def delete(self, sobject: str, record_id: str) -> None:
        with self.lock:
            self.conn.execute(f'DELETE FROM "{sobject}" WHERE Id = ?', (record_id,))
            self.bump()

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        with self.lock:
            row = self.conn.execute(
                f'SELECT * FROM "{sobject}" WHERE Id = ?', (record_id,)
            ).fetchone()
        return dict(row) if row else None

    def find(self, sobject: str, **equals: Any) -> list[dict[str, Any]]:
        """Rows whose columns equal the given values (``None`` matches NULL), in insertion order."""
        clauses, params = [], []
        for key, value in equals.items():
            if value is None:
                clauses.append(f'"{key}" IS NULL')
            else:
                clauses.append(f'"{key}" = ?')
                params.append(_to_db(value))
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        with self.lock:
            rows = self.conn.execute(
                f'SELECT * FROM "{sobject}"{where} ORDER BY rowid', params
            ).fetchall()
        return [dict(r) for r in rows]

    def find_one(self, sobject: str, **equals: Any) -> dict[str, Any] | None:
        rows = self.find(sobject, **equals)
        return rows[0] if rows else None

    def object_of(self, record_id: str) -> str | None:
        """The sObject whose key prefix starts ``record_id`` (``0H4...`` -> ``ConnectedApplication``)."""
        for name, obj in schema.OBJECTS.items():
            if record_id and obj.key_prefix and record_id.startswith(obj.key_prefix):
                return name
        return None

    def tables(self) -> list[str]:
        with self.lock:
            rows = self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            ).fetchall()
        return [r[0] for r in rows]

    # -- simulator tables ----------------------------------------------------------------------------------

    def sim_rows(self, table: str, **equals: Any) -> list[dict[str, Any]]:
        return self.find(f"_sim_{table}", **equals)

    def sim_put(self, table: str, row: dict[str, Any], *, bump: bool = True) -> None:
        """Insert or replace a ``_sim_<table>`` row; ``bump`` counts it as an org change (sessions don't)."""
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self.lock:
            self.conn.execute(
                f"INSERT OR REPLACE INTO _sim_{table} ({names}) VALUES ({marks})",
                [_to_db(v) for v in row.values()],
            )
            if bump:
                self.bump()

    def sim_delete(self, table: str, **equals: Any) -> None:
        clauses = " AND ".join(f"{k} = ?" for k in equals)
        with self.lock:
            self.conn.execute(f"DELETE FROM _sim_{table} WHERE {clauses}", list(equals.values()))

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        """Every row of every sObject table (not the ``_sim_`` tables), for ``GET /_sim/state``."""
        out = {}
        for name in schema.OBJECTS:
            if name in self.tables():
                with self.lock:
                    rows = self.conn.execute(f'SELECT * FROM "{name}" ORDER BY rowid').fetchall()
                out[name] = [dict(r) for r in rows]
        return out


_COUNTERS = frozenset({"id_seq", "version"})


def _to_db(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(
        value, dict | list
    ):  # a compound or complex value (Address, Errors), kept as JSON
        return json.dumps(value)
    return value
