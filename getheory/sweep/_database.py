"""The SQLite results database of a sweep: one row per finished task, older versions still load.

The ``tasks`` table's searchable columns are the task's own (generator, sizes, seed, samples),
the d_MS columns of every estimator in the registry (:func:`getheory.distances.record_columns`,
each read from the record's ``d_MS``), then the bound terms and the run's.  A column that a
database lacks (one written before its estimator, or its schema, existed) is computed from each
row's stored record when read, and left out when a row is written.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import time

from .._validation import CHECK_DTYPE
from .._version import __version__
from ..distances import LEGACY_ESTIMATOR, record_columns
from ..plan import DEFAULT_TIME_BUDGET
from ._record import TaskRecord
from ._record import _finite as _num  # a finite float, or None (stored as NULL)
from ._spec import SweepSpec, spec_from_dict

__all__ = ["DB_FORMAT", "LEGACY_ESTIMATOR", "SCHEMA_VERSION", "ResultsDB", "SweepError"]

#: 2: tasks gained the columns estimator, dms_value, dms_se (version-1 databases still open and load)
SCHEMA_VERSION = 2
DB_FORMAT = "getheory-sweep"


class SweepError(RuntimeError):
    """A problem with the results database or the sweep run (never overwrites results)."""


#: the task's own columns, before the estimators'
_TASK_COLUMNS = (
    ("generator", "TEXT"), ("weights", "TEXT"), ("N", "INTEGER"), ("D", "INTEGER"), ("delta", "REAL"),
    ("seed_index", "INTEGER"), ("seed", "INTEGER"), ("samples", "INTEGER"),
)
#: the bound terms' and the run's columns, after the estimators'
_RUN_COLUMNS = (
    ("M1_term", "REAL"), ("M2_term", "REAL"), ("teacher_term", "REAL"), ("n_term", "REAL"),
    ("elapsed_s", "REAL"), ("version", "TEXT"), ("finished", "REAL"),
)
#: how a value read for a column of each kind is stored
_STORE = {"REAL": _num, "INTEGER": lambda x: None if x is None else int(x), "TEXT": lambda x: x}


def _columns() -> tuple:
    """(name, SQLite type) of every searchable column, in the table's order: the task's, the schema-1
    estimator columns, the run's, then the estimator columns added since (schema 2's estimator,
    dms_value and dms_se first), each group in registration order."""
    first = tuple((c.name, c.kind) for c in record_columns() if c.schema == 1)
    later = tuple((c.name, c.kind) for c in record_columns() if c.schema != 1)
    return _TASK_COLUMNS + first + _RUN_COLUMNS + later


def _flat(rec: dict) -> dict:
    """The searchable columns of one record; parts a record lacks (no plug-in reservoir, no
    certificate, no cumulant estimate, no bound terms) are NULL.  Records written before
    d_MS recorded its choice (no ``d_MS.estimator``) get estimator ``"legacy"``."""
    t, d, b = rec["task"], rec.get("d_MS") or {}, rec.get("bound_terms") or {}
    return {
        "generator": t["generator"]["name"], "weights": t["weights"], "N": t["N"], "D": t["D"],
        "delta": t["delta"], "seed_index": t["seed_index"], "seed": t["seed"], "samples": rec["samples"],
        **{c.name: _STORE[c.kind](c.read(d)) for c in record_columns()},
        "M1_term": _num(b.get("M1_term")), "M2_term": _num(b.get("M2_term")),
        "teacher_term": _num(b.get("teacher_term")), "n_term": _num(b.get("n_term")),
        "elapsed_s": _num((rec.get("timings_s") or {}).get("total")), "version": rec.get("getheory_version"),
        "finished": time.time(),
    }


def _check_writable(path: str, exists: bool):
    """Refuse, before any task runs, a results database that this process cannot write.

    Tried, not inferred from permission bits (``os.access`` says yes to root on a read-only
    mount): a probe file is created in, and removed from, the database's folder (SQLite
    writes its journal there on every commit), and an existing database is opened for
    writing (nothing is written to it).

    Raises
    ------
    SweepError
        Naming the path that cannot be written and what to do.
    """
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise SweepError(f"the folder {folder!r} of the results database {path!r} does not exist; "
                         "create it or give a --db in an existing folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".getheory-write-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        what = "resume the sweep in" if exists else "create the results database"
        raise SweepError(
            f"cannot {what} {path!r}: its folder {folder!r} cannot be written ({exc.strerror or exc}), "
            "and SQLite writes a journal file next to the database on every commit. Nothing was run. "
            + ("Make the folder writable, or copy the database to a writable folder and give that --db"
               if exists else "Make the folder writable, or give a --db in a writable folder")) from None
    if exists:
        try:
            os.close(os.open(path, os.O_RDWR))
        except OSError as exc:
            raise SweepError(
                f"cannot resume the sweep in {path!r}: the database cannot be written ({exc.strerror or exc}). "
                "Nothing was run. Make it writable (chmod u+w), or copy it to a writable place and give that "
                "--db") from None


class ResultsDB:
    """The SQLite results database of one sweep: one row per finished task.

    Tables: ``meta`` (format, schema, spec JSON and hash, versions),
    ``tasks`` (task_id primary key, searchable columns, full JSON record) and
    ``failures`` (tasks that raised, retried on the next run).  Each finished
    task is written in its own transaction, with ``synchronous=FULL``.

    Opening never creates or changes anything unless ``create=True``, and
    never overwrites an existing database.  ``create=True`` means "to write":
    a database, or a folder, that cannot be written is refused at once
    (:class:`SweepError` naming the path), before any task runs.
    """

    def __init__(self, path, *, create: bool = False):
        self.path = os.fspath(path)
        exists = os.path.exists(self.path)
        if not exists and not create:
            raise SweepError(f"results database {self.path!r} does not exist")
        if exists and os.path.isdir(self.path):
            raise SweepError(f"results database {self.path!r} is a directory")
        if create:
            _check_writable(self.path, exists)
        try:
            self.conn = sqlite3.connect(self.path, timeout=30)
            self.conn.execute("PRAGMA synchronous=FULL")
            tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            raise SweepError(f"{self.path!r} is not a readable SQLite database ({exc}); "
                             "it was left untouched — give a new --db path") from None
        if exists and os.path.getsize(self.path) > 0:
            if "meta" not in tables or "tasks" not in tables:
                self.conn.close()
                raise SweepError(f"{self.path!r} is an SQLite file but not a getheory sweep database; "
                                 "it was left untouched — give a new --db path")
            fmt = self.meta().get("format")
            if fmt != DB_FORMAT:
                self.conn.close()
                raise SweepError(f"{self.path!r} is not a getheory sweep database (format {fmt!r})")
            try:
                ok = self.conn.execute("PRAGMA quick_check").fetchone()[0]
            except sqlite3.DatabaseError as exc:
                ok = str(exc)
            if ok != "ok":
                self.conn.close()
                raise SweepError(f"results database {self.path!r} is corrupt ({ok}); it was left untouched")

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def meta(self) -> dict:
        try:
            return dict(self.conn.execute("SELECT key, value FROM meta"))
        except sqlite3.DatabaseError as exc:
            raise SweepError(f"results database {self.path!r} is corrupt or not a sweep database ({exc})") from None

    @property
    def initialised(self) -> bool:
        tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return "meta" in tables

    def init(self, spec: SweepSpec):
        """Create the tables for ``spec`` (empty database), or check the stored spec matches."""
        if self.initialised:
            stored = self.meta()
            if stored.get("spec_hash") != spec.hash():
                old = json.loads(stored.get("spec_json", "{}"))
                new = spec.stored_dict()
                if _older_spec_format(old):
                    raise SweepError(
                        f"{self.path!r} was written by an earlier getheory (its spec has no samples.time_budget "
                        "or estimator.certify: samples planned by the old rules of thumb, no recorded d_MS "
                        "choice); its rows still load and `getheory report` reads it, but this version cannot "
                        "add rows to it. The database was left untouched — use a new --db")
                diff = _first_difference(old, new)
                raise SweepError(
                    f"the spec differs from the one stored in {self.path!r} (first difference at {diff}); "
                    "the database was left untouched — use a new --db for a changed spec"
                    + _budget_hint(old, new) + _dtype_hint(old, new))
            return
        cols = ", ".join(f"{c} {t}" for c, t in _columns())
        n_tasks = len(spec.tasks())
        with self.conn:  # one transaction, the tables included (sqlite3 would commit each CREATE on its own):
            self.conn.execute("BEGIN")  # a Ctrl-C or a kill here leaves an empty file, which a rerun initialises
            self.conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
            self.conn.execute(f"CREATE TABLE tasks (task_id TEXT PRIMARY KEY, {cols}, record TEXT NOT NULL)")
            self.conn.execute("CREATE TABLE failures (task_id TEXT, error TEXT, traceback TEXT, time REAL)")
            self.conn.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("format", DB_FORMAT), ("schema_version", str(SCHEMA_VERSION)),
                ("spec_json", json.dumps(spec.stored_dict(), sort_keys=True)), ("spec_hash", spec.hash()),
                ("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")), ("getheory_version", __version__),
                ("n_tasks", str(n_tasks)),
            ])

    def spec(self) -> SweepSpec:
        """The stored spec (an earlier version's spec loads with the current defaults)."""
        return spec_from_dict(self.spec_dict(), stored=True)

    def spec_dict(self) -> dict:
        """The stored spec as it was written (the TOML layout of the version that wrote it)."""
        meta = self.meta()
        if "spec_json" not in meta:
            raise SweepError(f"results database {self.path!r} holds no sweep spec")
        return json.loads(meta["spec_json"])

    def _task_columns(self) -> list:
        return [r[1] for r in self.conn.execute("PRAGMA table_info(tasks)")]

    def done_ids(self) -> set:
        return {r[0] for r in self.conn.execute("SELECT task_id FROM tasks")}

    def insert(self, record: TaskRecord | dict) -> bool:
        """Write one finished task in its own transaction; False if it was already there."""
        record = TaskRecord.from_dict(record)
        flat = _flat(record)
        have = set(self._task_columns())  # an older table lacks later columns (schema 2, newer estimators)
        names = [c for c, _ in _columns() if c in have]
        cols = ["task_id"] + names + ["record"]
        vals = [record["task"]["task_id"]] + [flat[c] for c in names] + [record.to_json()]
        try:
            with self.conn:
                self.conn.execute(f"INSERT INTO tasks ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", vals)
                self.conn.execute("DELETE FROM failures WHERE task_id = ?", (vals[0],))
        except sqlite3.IntegrityError:
            return False
        except sqlite3.Error as exc:
            raise self._write_error(vals[0], exc) from None
        return True

    def record_failure(self, task_id: str, error: str, tb: str):
        try:
            with self.conn:
                self.conn.execute("INSERT INTO failures VALUES (?, ?, ?, ?)", (task_id, error, tb, time.time()))
        except sqlite3.Error as exc:
            raise self._write_error(task_id, exc) from None

    def _write_error(self, task_id: str, exc: Exception) -> SweepError:
        return SweepError(f"cannot write task {task_id} to the results database {self.path!r} ({exc}); the rows "
                          "already written are kept. Free the disk or make the database writable and rerun: "
                          "the sweep resumes from them")

    def failures(self) -> list:
        return [dict(zip(("task_id", "error", "traceback", "time"), r))
                for r in self.conn.execute("SELECT * FROM failures")]

    def records(self) -> list:
        """Every finished task's :class:`TaskRecord` (rows of every version load), in task_id order."""
        return [TaskRecord.from_json(r[0]) for r in self.conn.execute("SELECT record FROM tasks ORDER BY task_id")]

    def rows(self) -> list:
        """The flat columns of every finished task (dicts).

        Every column of the current schema is present: a column that an older database lacks
        (a version-1 database's estimator, dms_value, dms_se; a newer estimator's) is computed
        from the row's stored record, so a version-1 database's rows read as estimator
        ``"legacy"`` with NULL value and SE.
        """
        cur = self.conn.execute("SELECT * FROM tasks ORDER BY task_id")
        names = [c[0] for c in cur.description]
        missing = [c for c, _ in _columns() if c not in names]
        out = []
        for r in cur:
            row = dict(zip(names, r))
            rec = row.pop("record")
            if missing:
                flat = _flat(json.loads(rec))
                row.update({c: flat[c] for c in missing})
            out.append(row)
        return out


def _older_spec_format(stored: dict) -> bool:
    """Whether a stored spec predates samples.time_budget and estimator.certify."""
    return ("time_budget" not in (stored.get("samples") or {})
            or "certify" not in (stored.get("estimator") or {}))


def _budget_hint(old: dict, new: dict) -> str:
    """What to write in a spec that relied on the planner's earlier default time budget of a sweep
    point (120 s, now :data:`getheory.plan.DEFAULT_TIME_BUDGET` for every workflow)."""
    was, now = ((d.get("samples") or {}).get("time_budget") for d in (old, new))
    if was == 120.0 and now == DEFAULT_TIME_BUDGET and was != now:
        return (f". If the spec file gives no samples.time_budget: the default is now {now:g} s (it was 120 s "
                "for sweeps); write time_budget = 120 in its [samples] table to resume this database")
    return ""


def _dtype_hint(old: dict, new: dict) -> str:
    """What to write in a spec that relied on the earlier default dtype, float64 (now
    :data:`getheory._validation.CHECK_DTYPE`): its rows are float64 samples, and float32 rows are never
    mixed into them."""
    was, now = ((d.get("run") or {}).get("dtype") for d in (old, new))
    if was == "float64" and now == CHECK_DTYPE and was != now:
        return (f". If the spec file gives no run.dtype: the default is now {now} (it was float64); write "
                'dtype = "float64" in its [run] table to resume this database (its rows are float64 samples)')
    return ""


def _first_difference(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k == "description":
                continue
            if k not in a or k not in b:
                return f"{path}{k}"
            r = _first_difference(a[k], b[k], f"{path}{k}.")
            if r:
                return r
        return None
    if a != b:
        return f"{path.rstrip('.')} ({a!r} -> {b!r})"
    return None
