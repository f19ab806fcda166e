"""Results store: round trips, refusal of foreign files, atomicity under SIGKILL."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from jamming.sweeps.store import (
    MissingStoreError,
    Record,
    Store,
    StoreError,
    canonical_json,
    record_key,
)


def test_round_trip_of_scalars_and_arrays(tmp_path):
    arrays = {"spectrum": np.linspace(0, 1, 7), "mask": np.array([True, False]),
              "counts": np.arange(6, dtype=np.int32).reshape(2, 3)}
    scalars = {"loss": 0.125, "n_delta": 7, "sat": False, "note": "ok", "gap": float("nan")}
    record = Record("demo", "k1", "3", {"n": 4, "seed": 9}, "ok", scalars, arrays,
                    meta={"device": "cpu"})
    with Store(tmp_path / "s.sqlite") as store:
        store.put(record)
    with Store(tmp_path / "s.sqlite") as store:
        back = store.get("demo", "k1")
        assert store.get("demo", "missing") is None
        assert store.sweeps() == {"demo": {"ok": 1, "failed": 0}}
    assert back.params == {"n": 4, "seed": 9} and back.version == "3"
    assert back.scalars["loss"] == 0.125 and back.scalars["n_delta"] == 7
    assert back.scalars["sat"] is False and np.isnan(back.scalars["gap"])
    for name, value in arrays.items():
        assert_array_equal(back.arrays[name], value)
        assert back.arrays[name].dtype == value.dtype


def test_frame_flattens_params_scalars_and_meta(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        for i in range(3):
            store.put(Record("demo", f"k{i}", "1", {"i": i}, "ok", {"sq": i * i},
                             meta={"wall_time_s": 0.5}))
        store.put(Record("demo", "bad", "1", {"i": -1}, "failed", error="boom"))
        frame = store.frame("demo")
        subset = store.frame("demo", ["k2", "k0"])
    assert list(frame["i"]) == [0, 1, 2, -1]
    assert list(frame["status"]) == ["ok", "ok", "ok", "failed"]
    assert frame.loc[3, "error"] == "boom"
    assert list(subset["sq"]) == [4, 0] and "meta_wall_time_s" in subset


def test_frame_of_an_unknown_sweep_names_the_sweeps_held(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        with pytest.raises(StoreError, match="holds no record of sweep 'demo'; it holds: none"):
            store.frame("demo")
        store.put(Record("demo", "k0", "1", {"i": 0}, "ok", {"sq": 0}))
        with pytest.raises(StoreError, match="sweep 'dmeo'; it holds: demo"):
            store.frame("dmeo")


def test_keys_are_canonical():
    a = record_key("s", "1", {"b": 1, "a": 0.1})
    assert a == record_key("s", "1", {"a": 0.1, "b": np.int64(1)})
    assert a != record_key("s", "2", {"a": 0.1, "b": 1})
    assert a != record_key("s", "1", {"a": 0.1 + 1e-17 + 1e-16, "b": 1})
    assert canonical_json({"x": [np.float64(0.5), True]}) == '{"x":[0.5,true]}'
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
    with pytest.raises(TypeError, match="cannot store"):
        canonical_json({"x": object()})


def test_refuses_files_that_are_not_stores(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_text("not a database at all")
    with pytest.raises(StoreError, match="not a SQLite file"):
        Store(text)
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="without jamming tables"):
        Store(foreign)
    with pytest.raises(StoreError, match="is a directory"):
        Store(tmp_path)


def test_a_reader_refuses_a_missing_store_and_creates_nothing(tmp_path):
    missing = tmp_path.resolve() / "results" / "s.sqlite"
    with pytest.raises(MissingStoreError, match=f"no results store at {re.escape(str(missing))}$"):
        Store(missing, create=False)
    assert not missing.parent.exists()
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    with pytest.raises(StoreError, match="an empty file, not a jamming store"):
        Store(empty, create=False)
    Store(missing).close()  # a writer creates it; then a reader opens it
    with Store(missing, create=False) as store:
        assert store.sweeps() == {}


def test_relative_paths_resolve_against_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    with Store("results/s.sqlite") as store:
        assert store.path == tmp_path.resolve() / "elsewhere" / "results" / "s.sqlite"
        assert store.path.is_absolute() and store.path.is_file()


def test_every_store_error_names_the_store(tmp_path):
    blocker = tmp_path.resolve() / "a-file"
    blocker.write_text("")
    path = blocker / "s.sqlite"
    named = (rf"^results store at {re.escape(str(path))}: cannot create its folder: "
             rf"{re.escape(str(blocker))} is a file$")
    with pytest.raises(StoreError, match=named):
        Store(path)
    store = Store(tmp_path / "s.sqlite")
    store.close()
    with pytest.raises(StoreError, match=r"^results store at .*s\.sqlite: .*closed database"):
        store.statuses("demo")
    with pytest.raises(StoreError, match=r"^results store at .*: .*closed database"):
        store.put(Record("demo", "k", "1", {}, "ok"))


def test_refuses_another_schema_version(tmp_path):
    path = tmp_path / "s.sqlite"
    Store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE jamming_meta SET value = '99' WHERE name = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 99"):
        Store(path)


WRITER = """
import numpy as np
from jamming.sweeps.store import Record, Store
rng = np.random.default_rng(0)
with Store({path!r}) as store:
    for i in range(10_000):
        blob = rng.standard_normal(400_000)   # 3.2 MB per record: writes take a while
        store.put(Record("big", f"k{{i}}", "1", {{"i": i}}, "ok",
                         {{"checksum": float(blob.sum()), "size": blob.size}}, {{"blob": blob}}))
        print(i, flush=True)
"""


def test_records_are_all_or_nothing_when_killed_mid_write(tmp_path):
    path = tmp_path / "atomic.sqlite"
    for delay in (0.9, 1.3, 1.7):
        process = subprocess.Popen([sys.executable, "-c", WRITER.format(path=str(path))],
                                   stdout=subprocess.PIPE, text=True)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
    with Store(path) as store:
        (check,) = store._conn.execute("PRAGMA integrity_check").fetchone()
        assert check == "ok"
        records = list(store.records("big"))
    assert len(records) >= 2
    for record in records:
        blob = record.arrays["blob"]
        assert blob.size == record.scalars["size"]
        assert blob.sum() == pytest.approx(record.scalars["checksum"], abs=1e-6)

