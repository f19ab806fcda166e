"""The results store: one SQLite file (WAL mode) of simulation records.

A record is the outcome of one point of a sweep. It is keyed by the sweep's name and the
SHA-256 of the canonical JSON of ``{"sweep", "version", "params"}``, where ``version`` is the
sweep function's version tag and ``params`` includes the seed; so a record is found again
exactly when the same function version is asked for the same parameters. A record holds

- ``params``: the parameters (JSON),
- ``status``: ``"ok"`` or ``"failed"`` (then ``error`` holds the message),
- ``scalars``: named numbers, booleans or strings (JSON),
- ``arrays``: named numpy arrays (one compressed ``.npz`` blob),
- ``meta``: package version, git commit, device, wall time, host, creation time.

Every write is one SQLite transaction, so a process killed mid-write leaves either the whole
record or none of it (SQLite's atomic commit; WAL with ``synchronous=NORMAL`` keeps that
guarantee against a crash of the process, and loses at most the last commits on power loss).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: Version of the table layout; a store written with another version is refused.
SCHEMA_VERSION = 1

_SQLITE_HEADER = b"SQLite format 3\x00"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jamming_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    sweep   TEXT NOT NULL,
    key     TEXT NOT NULL,
    version TEXT NOT NULL,
    params  TEXT NOT NULL,
    status  TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    scalars TEXT NOT NULL,
    arrays  BLOB,
    error   TEXT,
    meta    TEXT NOT NULL,
    PRIMARY KEY (sweep, key)
);
"""


class StoreError(ValueError):
    """The store cannot be used; the message starts ``results store at PATH:`` (absolute).

    Raised for a file that is not a ``jamming`` store, a path that cannot be created or
    opened, and SQLite or file-system errors while reading or writing.
    """


class MissingStoreError(StoreError):
    """No store file at the path, and the caller asked not to create one.

    The message is ``no results store at PATH``.
    """


def _jsonable(value):
    """Convert numpy scalars and containers to plain JSON types; reject anything else."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"cannot store a value of type {type(value).__name__}: {value!r}")


def canonical_json(value, *, allow_nan: bool = False) -> str:
    """JSON with sorted keys, no spaces and round-trip float ``repr``: equal values, equal text.

    Parameters
    ----------
    value : mapping, sequence or scalar
        Plain or numpy scalars, nested in dicts and lists.
    allow_nan : bool
        Allow NaN and infinities (results); parameters must be finite.
    """
    return json.dumps(
        _jsonable(value), sort_keys=True, separators=(",", ":"), allow_nan=allow_nan
    )


def record_key(sweep: str, version: str, params: Mapping) -> str:
    """SHA-256 (hex) of the canonical JSON of the sweep name, function version and params."""
    text = canonical_json({"sweep": sweep, "version": version, "params": dict(params)})
    return hashlib.sha256(text.encode()).hexdigest()


def _pack_arrays(arrays: Mapping[str, np.ndarray]) -> bytes | None:
    if not arrays:
        return None
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{name: np.asarray(a) for name, a in arrays.items()})
    return buffer.getvalue()


def _unpack_arrays(blob: bytes | None) -> dict[str, np.ndarray]:
    if blob is None:
        return {}
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


@dataclass(frozen=True)
class Record:
    """One stored sweep point.

    Attributes
    ----------
    sweep, key, version : str
        Sweep name, content hash (see :func:`record_key`) and function version tag.
    params : dict
        The parameters, seed included.
    status : {"ok", "failed"}
    scalars : dict
        Named scalar results (empty when failed).
    arrays : dict of numpy.ndarray
        Named array results (empty when failed).
    error : str or None
        The error of a failed point.
    meta : dict
        Provenance: ``package_version``, ``git_commit``, ``device``, ``wall_time_s``,
        ``host``, ``created``.
    """

    sweep: str
    key: str
    version: str
    params: dict
    status: str
    scalars: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)
    error: str | None = None
    meta: dict = field(default_factory=dict)


class Store:
    """A SQLite results store (see the module docstring for the record layout).

    Parameters
    ----------
    path : str or os.PathLike
        The database file. A relative path resolves against the current working directory
        when the store is opened (``Store("results/jamming.sqlite")`` run from another folder
        opens another store); :attr:`!path` holds the absolute path.
    create : bool
        Create the file and its parent folders when missing (writers: sweeps, validation).
        With ``False`` (readers) a missing path raises :class:`MissingStoreError` and
        nothing is created.

    Attributes
    ----------
    path : pathlib.Path
        The absolute path of the database file.

    Raises
    ------
    MissingStoreError
        If ``create`` is false and there is no file at ``path``.
    StoreError
        If ``path`` exists but is not a SQLite database, is a SQLite database without the
        ``jamming`` tables (or, with ``create=False``, is empty), was written with another
        :data:`SCHEMA_VERSION`, or cannot be created or opened (e.g. its parent is a file).
        Every message starts ``results store at PATH:``.

    Examples
    --------
    >>> with Store(tmp_path / "s.sqlite") as store:            # doctest: +SKIP
    ...     store.put(Record("demo", "k", "1", {"seed": 0}, "ok", {"x": 1.0}))
    """

    def __init__(self, path, *, create: bool = True):
        self.path = Path(path).resolve()
        if not create and not self.path.exists():
            raise MissingStoreError(f"no results store at {self.path}")
        with self._errors():
            if self.path.is_dir():
                raise self._error("is a directory, not a store file")
            if self.path.exists() and self.path.stat().st_size > 0:
                with open(self.path, "rb") as handle:
                    if handle.read(len(_SQLITE_HEADER)) != _SQLITE_HEADER:
                        raise self._error("not a SQLite file, so not a jamming store")
            blocked = next((folder for folder in self.path.parents
                            if folder.exists() and not folder.is_dir()), None)
            if blocked is not None:
                raise self._error(f"cannot create its folder: {blocked} is a file")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
                self._initialise(create)
            except BaseException:
                self._conn.close()
                raise

    def _error(self, problem: str) -> StoreError:
        return StoreError(f"results store at {self.path}: {problem}")

    @contextlib.contextmanager
    def _errors(self):
        """Turn file-system and SQLite errors into :class:`StoreError` naming the store."""
        try:
            yield
        except (OSError, sqlite3.Error) as error:
            raise self._error(str(error).strip() or type(error).__name__) from error

    def _initialise(self, create: bool) -> None:
        tables = {row[0] for row in self._conn.execute("SELECT name FROM sqlite_master")}
        if tables and "jamming_meta" not in tables:
            raise self._error("a SQLite database without jamming tables (not a jamming store)")
        if not tables and not create:
            raise self._error("an empty file, not a jamming store")
        if not tables:
            self._conn.executescript(
                f"BEGIN IMMEDIATE; {_SCHEMA} INSERT OR IGNORE INTO jamming_meta "
                f"VALUES ('schema_version', '{SCHEMA_VERSION}'); COMMIT;"
            )
        (version,) = self._conn.execute(
            "SELECT value FROM jamming_meta WHERE name = 'schema_version'"
        ).fetchone()
        if int(version) != SCHEMA_VERSION:
            raise self._error(
                f"schema version {version}; this jamming reads version {SCHEMA_VERSION}"
            )

    def _transaction(self):
        return _Transaction(self._conn)

    # -- context manager -------------------------------------------------------------
    def close(self) -> None:
        """Close the connection (checkpointing the WAL)."""
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------
    def put(self, record: Record) -> None:
        """Insert or replace one record in a single transaction (all or nothing)."""
        if record.status not in ("ok", "failed"):
            raise ValueError(f"record status must be 'ok' or 'failed'; got {record.status!r}")
        row = (
            record.sweep,
            record.key,
            record.version,
            canonical_json(record.params),
            record.status,
            canonical_json(record.scalars, allow_nan=True),
            _pack_arrays(record.arrays),
            record.error,
            canonical_json(record.meta, allow_nan=True),
        )
        with self._errors(), self._transaction():
            self._conn.execute("INSERT OR REPLACE INTO records VALUES (?,?,?,?,?,?,?,?,?)", row)

    # -- reading ---------------------------------------------------------------------
    def statuses(self, sweep: str) -> dict[str, str]:
        """Map each stored key of ``sweep`` to its status."""
        with self._errors():
            rows = self._conn.execute("SELECT key, status FROM records WHERE sweep = ?", (sweep,))
            return dict(rows.fetchall())

    def sweeps(self) -> dict[str, dict[str, int]]:
        """Count records by status for every sweep: ``{name: {"ok": n, "failed": m}}``."""
        counts: dict[str, dict[str, int]] = {}
        query = "SELECT sweep, status, COUNT(*) FROM records GROUP BY sweep, status"
        with self._errors():
            for sweep, status, n in self._conn.execute(query).fetchall():
                counts.setdefault(sweep, {"ok": 0, "failed": 0})[status] = n
        return counts

    def records(self, sweep: str, keys: Iterable[str] | None = None) -> Iterator[Record]:
        """Yield the records of ``sweep`` (only those with the given ``keys``, in that order)."""
        columns = "sweep, key, version, params, status, scalars, arrays, error, meta"
        with self._errors():
            if keys is None:
                rows = self._conn.execute(
                    f"SELECT {columns} FROM records WHERE sweep = ? ORDER BY rowid", (sweep,)
                )
            else:
                query = f"SELECT {columns} FROM records WHERE sweep = ? AND key = ?"
                rows = (self._conn.execute(query, (sweep, key)).fetchone() for key in keys)
            for row in rows:
                if row is not None:
                    yield _record_from_row(row)

    def get(self, sweep: str, key: str) -> Record | None:
        """The record of ``sweep`` with ``key``, or ``None``."""
        return next(self.records(sweep, [key]), None)

    def frame(self, sweep: str, keys: Iterable[str] | None = None, *, arrays: bool = False):
        """The records of ``sweep`` as a pandas DataFrame, one row per record.

        Columns: ``key``, ``status``, ``error``, every parameter, every scalar result, the
        provenance fields prefixed ``meta_`` and, with ``arrays=True``, one object column per
        array result (numpy arrays; without it the array results are not read).

        Raises
        ------
        StoreError
            If the store holds no record of ``sweep`` (a misspelt name would otherwise give
            an empty frame); the message names the sweeps it holds.
        """
        import pandas as pd

        query = "SELECT 1 FROM records WHERE sweep = ? LIMIT 1"
        with self._errors():
            held = self._conn.execute(query, (sweep,)).fetchone() is not None
        if not held:
            names = ", ".join(sorted(self.sweeps())) or "none"
            raise self._error(f"holds no record of sweep {sweep!r}; it holds: {names}")
        rows = []
        for record in self.records(sweep, keys):
            row = {"key": record.key, "status": record.status, "error": record.error}
            row.update(record.params)
            row.update(record.scalars)
            row.update({f"meta_{name}": value for name, value in record.meta.items()})
            if arrays:
                row.update(record.arrays)
            rows.append(row)
        return pd.DataFrame(rows)


def _record_from_row(row) -> Record:
    sweep, key, version, params, status, scalars, blob, error, meta = row
    return Record(
        sweep=sweep,
        key=key,
        version=version,
        params=json.loads(params),
        status=status,
        scalars=json.loads(scalars),
        arrays=_unpack_arrays(blob),
        error=error,
        meta=json.loads(meta),
    )


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def __enter__(self):
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *exc) -> None:
        self._conn.execute("ROLLBACK" if exc_type else "COMMIT")

