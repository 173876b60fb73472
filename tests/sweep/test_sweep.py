"""Sweep specification, engine and results database (getheory.sweep)."""

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict

import pytest

from getheory import sweep as sw
from getheory.sweep import _database, _runner, _tasks  # private helpers the tests check directly

TINY = """
name = "tiny"
seed = 7
[grid]
N = [12, 24]
delta = [0.5]
K = 1
M = 1
seeds = 2
[[generator]]
activation = "relu"
[weights]
student = ["abs_gaussian"]
[samples]
mode = "fixed"
n = 2000
moment_samples = 400
[estimator]
floor_replicates = 19
"""

VOLATILE = ("elapsed_s", "finished")


def write(tmp_path, text, name="spec.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def stable_rows(db_path):
    with sw.ResultsDB(db_path) as db:
        return {r["task_id"]: {k: v for k, v in r.items() if k not in VOLATILE} for r in db.rows()}


# ---------------------------------------------------------------- spec
def test_spec_roundtrip_and_deterministic_seeds(tmp_path):
    spec = sw.load_spec(write(tmp_path, TINY))
    assert spec.N == (12, 24) and spec.delta == (0.5,) and spec.D is None
    again = sw.spec_from_dict(spec.to_dict())
    assert again.hash() == spec.hash()
    tasks = spec.tasks()
    assert len(tasks) == 4 and [t.D for t in tasks] == [6, 6, 12, 12]
    assert [t.seed for t in tasks] == [t.seed for t in sw.load_spec(write(tmp_path, TINY, "b.toml")).tasks()]
    assert len({t.seed for t in tasks}) == 4
    # the same spec built in Python
    py = sw.SweepSpec(name="tiny", N=(12, 24), generators=(sw.GeneratorSpec("relu", "relu"),), seed=7, seeds=2,
                      student_weights=("abs_gaussian",),
                      samples=sw.SampleSpec(mode="fixed", n=2000, moment_samples=400), floor_replicates=19)
    assert py.hash() == spec.hash()
    assert spec.certify is False and spec.samples.time_budget == sw.DEFAULT_TIME_BUDGET


@pytest.mark.parametrize("patch, key", [
    ("[grid]\nN = [12, 24]\nfoo = 1", "grid.foo"),
    ("[grid]\nN = [12, -24]", "grid.N[1]"),
    ("[grid]\nN = [12]\nD = [4]\ndelta = [0.5]", "grid.D"),
    ("[grid]\nN = [12]\nseeds = 0", "grid.seeds"),
    ("[grid]\nN = [12]\n[[generator]]\nactivation = 'no-such-activation'", "generator[0].activation"),
    ("[grid]\nN = [12]\n[weights]\nstudent = ['uniform']", "weights.student[0]"),
    ("[grid]\nN = [12]\n[samples]\nmode = 'auto'", "samples.mode"),
    ("[grid]\nN = [12]\n[samples]\nmin = 5000\nmax = 100", "samples.min"),
    ("[grid]\nN = [12]\n[run]\ndtype = 'float16'", "run.dtype"),
    ("[grid]\nN = [12]\n[estimator]\np = 3", "estimator.p"),
    ("[grid]\nN = [12]\n[estimator]\ncertify = 'yes'", "estimator.certify"),
    ("[grid]\nN = [12]\n[estimator]\nfloor_level = 0.1", "estimator.floor_level"),
    ("[grid]\nN = [12]\n[samples]\ntime_budget = 0", "samples.time_budget"),
    ("[grid]\nN = [12]\n[samples]\nmode = 'fixed'\nn = 500", "samples.n"),
    ("[grid]\nN = [12]\n[samples]\nmode = 'plan'\npilot = 500", "samples.pilot"),
    ("colour = 'red'\n[grid]\nN = [12]", "colour"),
])
def test_invalid_spec_names_the_key(tmp_path, patch, key):
    text = 'name = "bad"\n' + patch
    if "[[generator]]" not in patch:
        text += '\n[[generator]]\nactivation = "sign"\n'
    with pytest.raises(sw.SpecError) as err:
        sw.load_spec(write(tmp_path, text))
    assert repr(key) in str(err.value) or key in str(err.value)


def test_spec_file_errors(tmp_path):
    with pytest.raises(sw.SpecError, match="not found"):
        sw.load_spec(tmp_path / "missing.toml")
    with pytest.raises(sw.SpecError, match="not valid TOML"):
        sw.load_spec(write(tmp_path, "name = [unclosed"))
    with pytest.raises(sw.SpecError, match="'name'"):
        sw.load_spec(write(tmp_path, "[grid]\nN = [4]\n[[generator]]\nactivation='sign'"))


def test_floor_replicates_below_the_rank_test_minimum_are_refused(tmp_path):
    text = 'name = "few"\n[grid]\nN = [12]\n[[generator]]\nactivation = "sign"\n[estimator]\nfloor_replicates = 6\n'
    with pytest.raises(sw.SpecError, match=r"'estimator.floor_replicates': must be >= 19, got 6") as err:
        sw.load_spec(write(tmp_path, text))
    assert "level 0.05" in str(err.value)
    assert sw.spec_from_dict(sw.load_spec(write(tmp_path, text.replace("6", "19"), "ok.toml")).to_dict())


OLD_FORMAT = """
name = "old"
[grid]
N = [16]
[[generator]]
activation = "sign"
[samples]
mode = "plan"
pilot = 5000
min = 4000
max = 40000
max_work = 2e10
[estimator]
floor_replicates = 19
p = 1
confidence = 0.9
"""


def test_old_spec_files_still_load(tmp_path):
    spec = sw.load_spec(write(tmp_path, OLD_FORMAT))
    assert spec.samples.time_budget == sw.DEFAULT_TIME_BUDGET and spec.certify is False
    assert spec.confidence == 0.9  # now the certified bound's level (DmsOptions.confidence)
    t = spec.tasks()[0]
    n_arg, plan, dms = _tasks._check_options(asdict(t))
    assert n_arg == "auto" and (plan.min_pilot, plan.min_samples) == (5000, 4000)
    assert plan.max_samples == _tasks._sample_cap(t.samples, 16, 8) == 40000
    assert plan.time_budget == sw.DEFAULT_TIME_BUDGET
    assert (dms.floor_replicates, dms.p, dms.confidence, dms.certify) == (19, 1, 0.9, False)
    fixed = sw.load_spec(write(tmp_path, TINY, "tiny.toml")).tasks()[0]
    assert _tasks._check_options(asdict(fixed))[:2] == (2000, None)


def test_planner_settings_take_plan_options_names_and_the_earlier_ones_alike(tmp_path):
    new = OLD_FORMAT.replace("pilot =", "min_pilot =").replace("min =", "min_samples =").replace("max =",
                                                                                               "max_samples =")
    old_spec, new_spec = sw.load_spec(write(tmp_path, OLD_FORMAT)), sw.load_spec(write(tmp_path, new, "new.toml"))
    assert (new_spec.samples.min_pilot, new_spec.samples.min_samples, new_spec.samples.max_samples) == (5000, 4000,
                                                                                                        40000)
    assert new_spec == old_spec and new_spec.hash() == old_spec.hash()  # stored under the earlier names
    assert sw.task_key(new_spec.tasks()[0]) == sw.task_key(old_spec.tasks()[0])
    assert {"min_pilot", "min_samples", "max_samples"} <= set(new_spec.to_dict()["samples"])
    assert {"pilot", "min", "max"} <= set(new_spec.stored_dict()["samples"])
    with pytest.raises(sw.SpecError, match="'samples.min_pilot' and 'samples.pilot'"):
        sw.load_spec(write(tmp_path, new.replace("min_pilot = 5000", "min_pilot = 5000\npilot = 5000"), "both.toml"))
    with pytest.raises(sw.SpecError, match="'samples.min_samples': 4000 exceeds samples.max_samples = 2000"):
        sw.load_spec(write(tmp_path, new.replace("max_samples = 40000", "max_samples = 2000"), "bad.toml"))


def test_one_default_time_budget_and_a_database_of_the_earlier_sweep_default_says_what_to_write(tmp_path):
    from getheory.plan import DEFAULT_TIME_BUDGET, PlanOptions

    assert sw.DEFAULT_TIME_BUDGET == DEFAULT_TIME_BUDGET == PlanOptions().time_budget == sw.SampleSpec().time_budget
    earlier = sw.load_spec(write(tmp_path, TINY.replace("n = 2000", "n = 2000\ntime_budget = 120")))
    db = tmp_path / "earlier.db"
    with sw.ResultsDB(db, create=True) as d:
        d.init(earlier)
    with sw.ResultsDB(db) as d, pytest.raises(sw.SweepError, match="write time_budget = 120"):
        d.init(sw.load_spec(write(tmp_path, TINY, "now.toml")))


def test_the_default_dtype_is_the_checks_and_a_database_of_the_earlier_float64_default_says_what_to_write(tmp_path):
    from getheory.check import CheckOptions

    now = sw.load_spec(write(tmp_path, TINY, "now.toml"))
    assert now.dtype == sw.SweepSpec.dtype == CheckOptions().dtype == "float32"
    assert {t.dtype for t in now.tasks()} == {"float32"}
    earlier = sw.load_spec(write(tmp_path, TINY + '[run]\ndtype = "float64"\n'))
    db = tmp_path / "earlier.db"
    with sw.ResultsDB(db, create=True) as d:
        d.init(earlier)
    before = db.read_bytes()
    with sw.ResultsDB(db) as d, pytest.raises(sw.SweepError, match=r"first difference at run\.dtype \('float64' -> "
                                                                   r"'float32'\).*write dtype = \"float64\" in its "
                                                                   r"\[run\] table to resume"):
        d.init(now)
    assert db.read_bytes() == before  # nothing already computed is overwritten


def test_a_stored_spec_without_a_dtype_reads_as_the_float64_it_was_written_under():
    stored = sw.SweepSpec(name="old", N=(12,), generators=(sw.GeneratorSpec("sign"),)).to_dict()
    del stored["run"]
    assert sw.spec_from_dict(stored, stored=True).dtype == "float64"
    assert sw.spec_from_dict(stored).dtype == "float32"


@pytest.mark.parametrize("spec, db, dtype", [
    ("sweep_example", "sweep_example", "float64"), ("sweep_odd_rates", "sweep_odd_rates", "float64"),
    ("sweep_deep_rates", "sweep_deep_rates/sign", "float32"), ("sweep_deep_relu", "sweep_deep_rates/relu", "float32"),
])
def test_the_committed_specs_still_resume_their_databases(spec, db, dtype):
    """Each committed spec is the one its committed database was made with (same hash: the same command
    resumes it), in the dtype it was made in (the older reports pin float64, the default then)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    loaded = sw.load_spec(os.path.join(root, "examples", f"{spec}.toml"))
    uri = "file:" + os.path.join(root, "reports", db, "results.db") + "?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
        stored_hash = dict(conn.execute("SELECT key, value FROM meta"))["spec_hash"]
    assert loaded.dtype == dtype and loaded.hash() == stored_hash


def test_plan_mode_uses_the_shared_planner(tmp_path):
    text = TINY.replace('mode = "fixed"\nn = 2000', 'mode = "plan"\ntime_budget = 3.0\npilot = 2048\nmin = 2048\n'
                        'max = 4096').replace("N = [12, 24]", "N = [12]").replace("seeds = 2", "seeds = 1")
    spec = sw.load_spec(write(tmp_path, text))
    assert spec.samples.time_budget == 3.0  # max = 4096 bounds the work; the budget, now enforced, has room
    rec = sw.run_task(spec.tasks()[0])
    plan = rec["plan"]
    # the record's plan is getheory.plan's Plan.to_dict()
    assert {"n", "n_needed", "n_budget", "n_pilot", "rate", "pilot_z", "limited_by", "statement"} <= set(plan)
    assert plan["n_pilot"] >= 2048 and plan["rate"] > 0 and plan["limited_by"] in ("target", "budget")
    opts = plan["options"]
    assert (opts["min_pilot"], opts["min_samples"], opts["max_samples"]) == (2048, 2048, 4096)
    assert 0 < opts["time_budget"] <= 3.0  # the planner gets the budget left after the moments
    assert rec["samples"] == plan["n"] == rec["d_MS"]["n"]
    assert "check.pilot" in rec["timings_s"]
    assert rec["d_MS"]["estimator"] in ("plug-in", "edgeworth")


def test_analytic_mode_runs_points_without_sampling(tmp_path):
    from getheory import rates

    text = TINY.replace('mode = "fixed"\nn = 2000\nmoment_samples = 400', 'mode = "analytic"').replace(
        "N = [12, 24]", "N = [64, 128, 256]").replace('activation = "relu"', 'activation = "sign"').replace(
        'student = ["abs_gaussian"]', 'student = ["gaussian"]').replace("seeds = 2", "seeds = 1")
    spec = sw.load_spec(write(tmp_path, text))
    db_path = tmp_path / "an.db"
    sw.run_sweep(spec, db_path, workers=1, progress=False)
    with sw.ResultsDB(db_path) as db:
        recs = db.records()
    assert len(recs) == 3 and all(r["samples"] == 0 and r["d_MS"]["estimator"] == "analytic" for r in recs)
    rep = [rates.reported_dms(r) for r in sorted(recs, key=lambda r: r["task"]["N"])]
    assert all(r["resolved"] and r["value"] > 0 for r in rep)
    assert rep[0]["value"] > rep[1]["value"] > rep[2]["value"]  # odd σ: d_MS ~ 1/N
    bad = text.replace('activation = "sign"', 'activation = "sign"\ndepth = 2')
    with pytest.raises(sw.SpecError, match="analytic"):
        sw.load_spec(write(tmp_path, bad, "bad.toml"))


# ---------------------------------------------------------------- engine and database
def test_sweep_runs_skips_and_protects_results(tmp_path):
    spec_path = write(tmp_path, TINY)
    spec = sw.load_spec(spec_path)
    db = tmp_path / "r.db"
    s1 = sw.run_sweep(spec, db, workers=1, progress=False)
    assert (s1.done, s1.failed, s1.total) == (4, 0, 4)
    rows = stable_rows(db)
    assert set(rows) == {t.task_id for t in spec.tasks()}
    with sw.ResultsDB(db) as d:
        rec = d.records()[0]
    for key in ("d_MS", "bound_terms", "moment_errors", "timings_s", "getheory_version", "plan"):
        assert key in rec
    d = rec["d_MS"]
    assert {"value", "se", "estimator", "choice_rule", "plug_in", "floor", "excess", "resolved", "certified",
            "cumulant"} <= set(d)
    assert d["certified"] is None and d["floor"]["replicates"] == 19  # certify = false by default
    assert rec["plan"]["mode"] == "fixed" and rec["plan"]["n"] == rec["samples"] == 2000
    row = next(iter(rows.values()))
    assert row["estimator"] in ("plug-in", "edgeworth") and row["dms_value"] > 0 and row["certified"] is None
    assert {"M1_term", "M2_term", "teacher_term", "n_term"} <= set(rec["bound_terms"])
    assert rec["moment_errors"]["n"] == 400 and rec["moment_errors"]["max_abs_err_Q"] >= 0
    # rerun: nothing to do
    s2 = sw.run_sweep(spec, db, workers=1, progress=False)
    assert (s2.done, s2.skipped) == (0, 4)
    # a changed spec is refused and the database untouched
    before = db.read_bytes()
    changed = sw.load_spec(write(tmp_path, TINY.replace("seeds = 2", "seeds = 3"), "c.toml"))
    with pytest.raises(sw.SweepError, match="grid.seeds"):
        sw.run_sweep(changed, db, workers=1, progress=False)
    assert db.read_bytes() == before


def test_run_options_travel_as_one_dataclass(tmp_path):
    spec = sw.load_spec(write(tmp_path, TINY))
    opts = sw.SweepOptions(workers=1, progress=False, max_tasks=1, order="grid")
    s = sw.run_sweep(spec, tmp_path / "r.db", opts)
    assert (s.done, s.skipped) == (1, 0)
    with sw.ResultsDB(tmp_path / "r.db") as db:
        assert db.done_ids() == {spec.tasks()[0].task_id}  # grid order: the first task of the grid
    # keywords replace single fields of the options
    assert sw.run_sweep(spec, tmp_path / "r.db", opts, max_tasks=2).done == 2
    with pytest.raises(ValueError, match="order must be"):
        sw.run_sweep(spec, tmp_path / "r.db", opts, order="random")
    with pytest.raises(TypeError, match="wrkers"):
        sw.run_sweep(spec, tmp_path / "r.db", wrkers=1)


def test_bad_databases_are_refused_and_left_untouched(tmp_path):
    spec = sw.load_spec(write(tmp_path, TINY))
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(sw.SweepError, match="not a readable SQLite database|corrupt"):
        sw.run_sweep(spec, junk, workers=1, progress=False)
    assert junk.read_bytes() == b"this is not sqlite at all" * 100
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE x (a)")
    con.commit()
    con.close()
    with pytest.raises(sw.SweepError, match="not a getheory sweep database"):
        sw.run_sweep(spec, other, workers=1, progress=False)
    with pytest.raises(sw.SweepError, match="does not exist"):
        sw.ResultsDB(tmp_path / "missing.db")


def test_failed_task_is_recorded_and_retried(tmp_path, monkeypatch):
    spec = sw.load_spec(write(tmp_path, TINY))
    db = tmp_path / "f.db"
    real = sw.run_task

    def flaky(task):
        if task.task_id.endswith("N=24|D=12|seed=1"):
            raise RuntimeError("boom")
        return real(task)

    monkeypatch.setattr(sw._runner, "run_task", flaky)  # the runner calls it
    s = sw.run_sweep(spec, db, workers=1, progress=False)
    assert (s.done, s.failed) == (3, 1)
    with sw.ResultsDB(db) as d:
        assert [f["error"] for f in d.failures()] == ["RuntimeError: boom"]
    monkeypatch.setattr(sw._runner, "run_task", real)
    s = sw.run_sweep(spec, db, workers=1, progress=False)
    assert (s.done, s.failed, s.skipped) == (1, 0, 3)
    with sw.ResultsDB(db) as d:
        assert d.failures() == [] and len(d.rows()) == 4


@pytest.mark.slow
def test_resume_after_kill_9(tmp_path):
    """Kill the sweep process (SIGKILL) after its first tasks are committed, rerun,
    and check there is no duplicate and no missing row, and finished rows are unchanged."""
    spec_text = TINY.replace("N = [12, 24]", "N = [12, 16, 20, 24]").replace("seeds = 2", "seeds = 3")
    spec_path = write(tmp_path, spec_text)
    db = tmp_path / "k.db"
    cmd = [sys.executable, "-m", "getheory", "sweep", str(spec_path), "--db", str(db), "--workers", "1", "--quiet"]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    n_before = 0
    deadline = time.time() + 120
    try:
        while time.time() < deadline and proc.poll() is None:
            if db.exists():
                try:
                    con = sqlite3.connect(db, timeout=1)
                    n_before = con.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]
                    con.close()
                except sqlite3.OperationalError:
                    n_before = 0
                if n_before >= 2:
                    break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    proc.stderr.close()
    committed = stable_rows(db)
    assert 2 <= len(committed) < 12
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert f"{12 - len(committed)} tasks run, {len(committed)} already done" in out.stdout
    con = sqlite3.connect(db)
    ids = [r[0] for r in con.execute("SELECT task_id FROM tasks")]
    con.close()
    spec = sw.load_spec(spec_path)
    assert sorted(ids) == sorted(t.task_id for t in spec.tasks())  # no duplicate, none missing
    after = stable_rows(db)
    for tid, row in committed.items():
        assert after[tid] == row


def _assert_single_threaded_blas():
    """Run in a pool worker: every BLAS the tasks load (numpy's, then scipy's) has one thread."""
    import scipy.linalg  # noqa: F401  (loads scipy's own BLAS after the pool initializer)
    from threadpoolctl import threadpool_info

    blas = [(i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]
    assert blas and all(n == 1 for _, n in blas), blas


def test_pool_workers_run_single_threaded_blas(monkeypatch):
    # the caller allows two threads, which workers that set no limit of their own inherit
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(k, "2")
    with _runner._make_pool(1) as pool:
        pool.call(_assert_single_threaded_blas, timeout=60)


def _same_rows(a, b):
    assert set(a) == set(b)
    for tid in a:
        for k, v in a[tid].items():
            w = b[tid][k]
            if isinstance(v, float):
                assert w == pytest.approx(v, rel=1e-9, abs=1e-12), (tid, k)
            else:
                assert v == w, (tid, k)


def test_dask_gives_the_same_rows_as_the_local_pool(tmp_path, local_cluster):
    distributed = pytest.importorskip("distributed")
    # float64: the pool's workers run one BLAS thread, this Dask worker two, and in float32 the two
    # round the products differently (the plug-in agreed to 4e-9 relative, not the rows' 1e-9 bound)
    spec = sw.load_spec(write(tmp_path, TINY + '[run]\ndtype = "float64"\n'))
    local = tmp_path / "local.db"
    s = sw.run_sweep(spec, local, workers=2, progress=False)
    assert s.done == 4
    dk = tmp_path / "dask.db"
    with local_cluster(n_workers=1, threads_per_worker=2, processes=False) as cluster, \
            distributed.Client(cluster) as client:
        s = sw.run_sweep(spec, dk, client=client, progress=False)
    assert s.done == 4 and s.failed == 0
    _same_rows(stable_rows(local), stable_rows(dk))


# ---------------------------------------------------------------- CLI
def test_cli_sweep(tmp_path, capsys):
    from getheory.cli import main

    bad = write(tmp_path, TINY.replace("seeds = 2", "seeds = 2\nbogus = 3"), "bad.toml")
    assert main(["sweep", str(bad), "--db", str(tmp_path / "x.db")]) == 2
    assert "grid.bogus" in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()
    good = write(tmp_path, TINY)
    assert main(["sweep", str(good), "--db", str(tmp_path / "x.db"), "--dry-run"]) == 0
    assert "4 tasks" in capsys.readouterr().out
    junk = tmp_path / "junk.db"
    junk.write_text("garbage" * 50)
    assert main(["sweep", str(good), "--db", str(junk), "--quiet"]) == 2
    assert "untouched" in capsys.readouterr().err
    assert main(["sweep", str(good), "--db", str(tmp_path / "y.db"), "--quiet", "--workers", "1",
                 "--max-tasks", "1"]) == 0
    assert "1 tasks run" in capsys.readouterr().out


USER_MOD = '''
import numpy as np

def make(N, D, seed):
    A = np.random.default_rng(seed).standard_normal((N, D))
    return lambda c: np.tanh(c @ A.T / np.sqrt(D))

def student(K, N, rng):
    return rng.uniform(-1.0, 1.0, size=(K, N))
'''


def test_user_generator_and_weights(tmp_path, monkeypatch):
    (tmp_path / "usergen_sweep.py").write_text(USER_MOD)
    monkeypatch.syspath_prepend(str(tmp_path))
    text = TINY.replace('activation = "relu"', 'factory = "usergen_sweep:make"\nname = "tanh-user"').replace(
        'student = ["abs_gaussian"]', 'student = ["usergen_sweep:student"]').replace("N = [12, 24]", "N = [12]")
    spec = sw.load_spec(write(tmp_path, text))
    s = sw.run_sweep(spec, tmp_path / "u.db", workers=1, progress=False)
    assert (s.done, s.failed) == (2, 0), s.failures
    with sw.ResultsDB(tmp_path / "u.db") as db:
        rec = db.records()[0]
    assert rec["bound_terms"] is None and "Monte Carlo" in rec["moments_source"]
    assert rec["odd_activation"] is None and rec["moment_errors"]["max_se_Q"] > 0


# ---------------------------------------------------------------- records and databases of earlier versions
def old_record(N=16, seed_index=0):
    """A record shaped as earlier versions wrote it: no d_MS.value/estimator, a certificate always."""
    return {
        "task": {"task_id": f"sign|gaussian|N={N}|D={N // 2}|seed={seed_index}",
                 "generator": {"name": "sign", "activation": "sign", "depth": 1, "factory": None},
                 "weights": "gaussian", "teacher_weights": "gaussian", "N": N, "D": N // 2, "delta": 0.5,
                 "K": 1, "M": 1, "seed_index": seed_index, "seed": 11 + seed_index,
                 "samples": {"mode": "fixed", "n": 2000, "pilot": 20000, "min": 20000, "max": 2000000,
                             "max_work": 2e11, "moment_samples": 0, "moment_max_work": 2e10},
                 "floor_replicates": 6, "p": 1, "confidence": 0.95, "backend": "numpy", "dtype": "float64"},
        "odd_activation": True,
        "plan": {"n": 2000, "cap": None, "reason": "fixed n", "required": None, "pilot": None},
        "samples": 2000,
        "d_MS": {"plug_in": {"value": 0.4 / N}, "floor": {"mean": 0.1 / N, "q95": 0.2 / N, "sd": 0.01, "replicates": 6},
                 "excess": 0.3 / N, "resolved": True, "confidence": 0.95, "floor_quantile": 0.2 / N,
                 "certified": {"value": 0.5 / N, "confidence": 0.95}, "calibrated_upper_bound": 0.6 / N,
                 "cumulant": {"kappa3": 0.0, "kappa4": -1.0 / N, "se_kappa3": 0.01, "se_kappa4": 0.01,
                              "edgeworth_w1": 0.3 / N, "edgeworth_se": 0.001, "resolved": True, "z_threshold": 3.0},
                 "n": 2000, "d": 2, "p": 1, "statement": "..."},
        "bound_terms": {"M1_term": 0.0, "M2_term": 1.0 / N, "teacher_term": N**-0.5, "n_term": N**-0.5,
                        "total": 1.0 / N + 2 * N**-0.5},
        "moment_errors": {"skipped": "off"}, "timings_s": {"total": 1.0}, "getheory_version": "0.1.0",
    }


OLD_SPEC_JSON = {  # a spec as version-1 databases stored it (6 floor replicates, no certify/time_budget)
    "name": "old", "description": "", "seed": 0,
    "grid": {"N": [16, 32], "delta": [0.5], "K": 1, "M": 1, "seeds": 1},
    "generator": [{"name": "sign", "activation": "sign", "depth": 1}],
    "weights": {"student": ["gaussian"], "teacher": "gaussian"},
    "samples": {"mode": "fixed", "n": 2000, "pilot": 20000, "min": 20000, "max": 2000000, "max_work": 2e11,
                "moment_samples": 0, "moment_max_work": 2e10},
    "estimator": {"floor_replicates": 6, "p": 1, "confidence": 0.95},
    "run": {"backend": "numpy", "dtype": "float64"},
}
V1_COLUMNS = _database._columns()[:25]  # the schema-1 columns (before estimator, dms_value, dms_se)


def make_v1_db(path, records, spec=OLD_SPEC_JSON):
    """A results database exactly as schema version 1 laid it out."""
    import json

    con = sqlite3.connect(path)
    cols = ", ".join(f"{c} {t}" for c, t in V1_COLUMNS)
    con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    con.execute(f"CREATE TABLE tasks (task_id TEXT PRIMARY KEY, {cols}, record TEXT NOT NULL)")
    con.execute("CREATE TABLE failures (task_id TEXT, error TEXT, traceback TEXT, time REAL)")
    con.executemany("INSERT INTO meta VALUES (?, ?)", [
        ("format", "getheory-sweep"), ("schema_version", "1"), ("spec_json", json.dumps(spec, sort_keys=True)),
        ("spec_hash", "0" * 64), ("n_tasks", "2")])
    for rec in records:
        flat = _database._flat(rec)
        names = ["task_id"] + [c for c, _ in V1_COLUMNS] + ["record"]
        vals = [rec["task"]["task_id"]] + [flat[c] for c, _ in V1_COLUMNS] + [json.dumps(rec)]
        con.execute(f"INSERT INTO tasks ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", vals)
    con.commit()
    con.close()


def test_old_record_flattens_as_legacy():
    flat = _database._flat(old_record(32))
    assert flat["estimator"] == "legacy" and flat["dms_value"] is None and flat["dms_se"] is None
    assert flat["plug_in"] == pytest.approx(0.4 / 32) and flat["certified"] == pytest.approx(0.5 / 32)
    assert flat["resolved"] == 1 and flat["cumulant_resolved"] == 1


def test_new_record_without_plug_in_certificate_or_cumulants_flattens_to_null():
    rec = old_record(16)
    rec["d_MS"] = {"value": float("nan"), "se": None, "estimator": "none", "choice_rule": "rule", "plug_in": None,
                   "floor": None, "excess": None, "resolved": False, "certified": None, "cumulant": None}
    rec["bound_terms"] = None
    flat = _database._flat(rec)
    for c in ("plug_in", "floor_mean", "excess", "resolved", "certified", "edgeworth_w1", "kappa4",
              "cumulant_resolved", "M1_term", "dms_value", "dms_se"):
        assert flat[c] is None, c
    assert flat["estimator"] == "none"


def test_version_1_database_opens_loads_and_is_not_resumed(tmp_path):
    db = tmp_path / "v1.db"
    make_v1_db(db, [old_record(16), old_record(32)])
    before = db.read_bytes()
    with sw.ResultsDB(db) as d:
        rows = d.rows()
        recs = d.records()
        spec = d.spec()  # the stored spec loads despite its 6 floor replicates
    assert [r["estimator"] for r in rows] == ["legacy", "legacy"] and rows[0]["dms_value"] is None
    assert rows[0]["plug_in"] == pytest.approx(0.4 / 16)
    assert "estimator" not in recs[0]["d_MS"] and spec.floor_replicates == 6
    new = sw.spec_from_dict({**OLD_SPEC_JSON, "estimator": {"floor_replicates": 19}})
    with pytest.raises(sw.SweepError, match="earlier getheory.*use a new --db"):
        sw.run_sweep(new, db, workers=1, progress=False)
    assert db.read_bytes() == before
    # a record added to a schema-1 table (same spec) goes into the columns it has
    with sw.ResultsDB(db) as d:
        rec = old_record(64)
        rec["d_MS"] = {**rec["d_MS"], "value": 0.001, "se": 0.0001, "estimator": "edgeworth", "choice_rule": "r"}
        assert d.insert(rec)
        rows = d.rows()  # schema 1 has no estimator column: it is read from the stored record
        assert len(d.records()) == 3 and [r["estimator"] for r in rows] == ["legacy", "legacy", "edgeworth"]
        assert rows[-1]["dms_value"] == 0.001
