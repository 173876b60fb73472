"""Nothing wrong stored, nothing lost: checkpoints and resume of SGD, divergence, bad --problem files
(docs/theory.md §7; getheory/dynamics/_checkpoint.py)."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from getheory.dynamics import GaussianEquivalentData, GeneratorData, run_dynamics, run_sgd
from getheory.dynamics import _sgd
from getheory.dynamics._checkpoint import RunCheckpoint
from getheory.generators import random_single_layer
from getheory.moments import exact_moments

#: a small run: 2 seeds, batches of 8 steps, a state saved at the end of every batch
SMALL = dict(activation="sign", N=40, D=20, K=2, M=2, eta=0.2, t_max=4.0, points=8, sgd_seeds=2, n_test=200,
             seed=4, batch_size=8, step_check=False)


def _slow_kernels(monkeypatch, delay=0.0, fail_after=None):
    """Wrap the SGD kernels: sleep ``delay`` s a call, raise KeyboardInterrupt after ``fail_after`` calls."""
    orig = _sgd.segment_kernel
    calls = {"n": 0}

    def wrapped(bk):
        k = orig(bk)

        def kern(*a):
            calls["n"] += 1
            if fail_after is not None and calls["n"] > fail_after:
                raise KeyboardInterrupt
            if delay:
                time.sleep(delay)
            return k(*a)

        return kern

    monkeypatch.setattr(_sgd, "segment_kernel", wrapped)
    return calls


def _assert_same_curves(a, b, atol=1e-12):
    assert np.array_equal(a.t, b.t)
    for src in a.eps_per_seed:
        for kind in ("order_parameters", "heldout"):
            np.testing.assert_allclose(b.eps_per_seed[src][kind], a.eps_per_seed[src][kind], rtol=0, atol=atol)
    for d in ("Q", "R", "v"):
        for src in getattr(a, d):
            np.testing.assert_allclose(getattr(b, d)[src], getattr(a, d)[src], rtol=0, atol=atol)
    np.testing.assert_allclose(b.eps_ode, a.eps_ode, rtol=0, atol=atol)


# ---------------------------------------------------------------------------------------------
# resume
# ---------------------------------------------------------------------------------------------
def test_resume_after_sigkill_mid_sgd_equals_an_uninterrupted_run(tmp_path):
    """A process killed with SIGKILL mid-SGD, resumed from its checkpoint: the same curves to 1e-12."""
    ck = tmp_path / "ck"
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        from getheory.dynamics import _sgd, run_dynamics
        orig = _sgd.segment_kernel
        def slow(bk):  # slow enough to be killed mid-SGD; the numbers are those of the plain kernel
            k = orig(bk)
            def kern(*a):
                time.sleep(0.03)
                return k(*a)
            return kern
        _sgd.segment_kernel = slow
        run_dynamics(**{SMALL!r}, checkpoint=sys.argv[1], checkpoint_every=0)
        print("finished")
    """))
    proc = subprocess.Popen([sys.executable, str(script), str(ck)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    state = ck / "seed-000.npz"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if state.exists():
                with np.load(state) as z:
                    if json.loads(str(z["meta"]))["done"] >= 40:  # t = 1 of seed 0 saved: SGD is under way
                        break
            time.sleep(0.01)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    with np.load(state) as z:
        meta = json.loads(str(z["meta"]))
    assert meta["status"] == "running" and 40 <= meta["done"] < 160
    assert not any(n.endswith(".tmp") for n in os.listdir(ck))  # only whole files

    resumed = run_dynamics(**SMALL, checkpoint=str(ck))
    plain = run_dynamics(**SMALL)
    assert resumed.settings["resumed"] and not plain.settings["resumed"]
    assert resumed.sgd["resumed_from_step"][0] == meta["done"]
    assert any("resumed from the checkpoint" in n for n in resumed.notes)
    _assert_same_curves(plain, resumed)
    # a finished checkpoint only replays: same numbers again, no SGD step run
    again = run_dynamics(**SMALL, checkpoint=str(ck))
    assert again.sgd["status"] == ["complete", "complete"]
    _assert_same_curves(plain, again, atol=0)


def test_run_sgd_resumes_after_an_interruption_on_every_backend(backend, tmp_path, monkeypatch):
    """Interrupted mid-batch (an exception in the kernel), then resumed: the same trajectories."""
    gen = random_single_layer(30, 15, "sign", seed=3)
    mom = exact_moments(gen)

    def sources():
        return [GeneratorData(gen, mom.mean, backend=backend),
                GaussianEquivalentData(mom.Omega, mom.Phi, backend=backend)]

    rng = np.random.default_rng(2)
    W0, v0, Wt = rng.standard_normal((2, 30)), rng.standard_normal(2), rng.standard_normal((2, 15))
    kw = dict(eta=0.2, t_points=[0.0, 0.5, 1.0, 2.0, 4.0], seed=1, backend=backend, batch_size=7)
    ref, _ = run_sgd(sources(), W0, v0, Wt, np.ones(2), **kw)
    run = RunCheckpoint(tmp_path / "ck", every=0)
    assert run.open({"test": 1}) is False
    _slow_kernels(monkeypatch, fail_after=21)
    with pytest.raises(KeyboardInterrupt):
        run_sgd(sources(), W0, v0, Wt, np.ones(2), checkpoint=run.seed(0, 1), **kw)
    monkeypatch.undo()
    assert run.seed_status(0) == "running"
    got, info = run_sgd(sources(), W0, v0, Wt, np.ones(2), checkpoint=run.seed(0, 1), **kw)
    assert 0 < info["resumed_from_step"] < 120 and info["status"] == "complete"
    for a, b in zip(ref, got):
        assert np.array_equal(a.steps, b.steps)
        np.testing.assert_allclose(b.W, a.W, rtol=0, atol=1e-12)
        np.testing.assert_allclose(b.v, a.v, rtol=0, atol=1e-12)


def test_resume_with_other_settings_is_refused_naming_the_difference(tmp_path):
    ck = str(tmp_path / "ck")
    small = {**SMALL, "t_max": 1.0, "points": 3, "ode": False}
    first = run_dynamics(**small, checkpoint=ck)
    assert not first.settings["resumed"] and os.path.exists(os.path.join(ck, "run.json"))
    with pytest.raises(ValueError, match=r"eta: checkpoint 0\.2, this run 0\.3"):
        run_dynamics(**{**small, "eta": 0.3}, checkpoint=ck)
    with pytest.raises(ValueError, match=r"seed: checkpoint 4, this run 5"):
        run_dynamics(**{**small, "seed": 5}, checkpoint=ck)
    with pytest.raises(ValueError, match=r"N: checkpoint 40, this run 44"):
        run_dynamics(**{**small, "N": 44}, checkpoint=ck)
    # more seeds may be added: the first two are replayed, the third runs
    more = run_dynamics(**{**small, "sgd_seeds": 3}, checkpoint=ck)
    assert more.sgd["resumed_from_step"][:2] == [40, 40] and more.sgd["resumed_from_step"][2] is None
    np.testing.assert_array_equal(more.eps_per_seed["generator"]["order_parameters"][:2],
                                  first.eps_per_seed["generator"]["order_parameters"])


def test_a_checkpoint_of_other_inputs_dtype_is_refused_and_one_from_before_the_option_resumes(tmp_path):
    ck = str(tmp_path / "ck")
    small = {**SMALL, "t_max": 1.0, "points": 3, "ode": False}
    first = run_dynamics(**small, checkpoint=ck)
    with pytest.raises(ValueError, match=r"dtype: checkpoint 'float64', this run 'float32'"):
        run_dynamics(**{**small, "dtype": "float32"}, checkpoint=ck)
    # a run.json written before the dtype setting existed is a float64 run's
    run_file = os.path.join(ck, "run.json")
    with open(run_file) as fh:
        stored = json.load(fh)
    del stored["settings"]["dtype"]
    with open(run_file, "w") as fh:
        json.dump(stored, fh)
    again = run_dynamics(**small, checkpoint=ck)
    assert again.settings["resumed"]
    np.testing.assert_array_equal(again.eps_per_seed["generator"]["order_parameters"],
                                  first.eps_per_seed["generator"]["order_parameters"])
    with pytest.raises(ValueError, match=r"dtype: checkpoint 'float64', this run 'float32'"):
        run_dynamics(**{**small, "dtype": "float32"}, checkpoint=ck)


def test_cli_time_budget_stop_then_resume_equals_an_uninterrupted_run(tmp_path, monkeypatch, capsys):
    from getheory.cli import main

    a, b = tmp_path / "a", tmp_path / "b"
    common = ["dynamics", "--N", "40", "--D", "20", "--t-max", "4", "--points", "8", "--n-test", "200",
              "--sgd-seeds", "2", "--seed", "4", "--batch-size", "8", "--quiet"]
    _slow_kernels(monkeypatch, delay=0.01)
    assert main(common + ["--time-budget", "0.3", "--out", str(a)]) == 0
    assert "checkpoint kept" in capsys.readouterr().out
    assert (a / "checkpoint" / "run.json").exists()
    stopped = json.loads((a / "report.json").read_text())
    assert stopped["settings"]["stopped_by_time_budget"]
    # without --resume the checkpoint is not overwritten
    assert main(common + ["--out", str(a)]) == 2
    assert "--resume" in capsys.readouterr().err
    # a different setting is refused, naming it
    assert main(common + ["--eta", "0.3", "--resume", "--out", str(a)]) == 2
    assert "eta: checkpoint 0.2, this run 0.3" in capsys.readouterr().err
    monkeypatch.undo()
    assert main(common + ["--resume", "--out", str(a)]) == 0
    assert not (a / "checkpoint").exists()  # finished: the report holds it all
    assert main(common + ["--out", str(b)]) == 0
    ra, rb = (json.loads((d / "report.json").read_text()) for d in (a, b))
    assert ra["settings"]["resumed"] and not rb["settings"]["resumed"]
    assert ra["t"] == rb["t"]
    for key in ("sgd_generator_order_parameters", "sgd_gaussian_heldout", "ode"):
        np.testing.assert_allclose(ra["eps_g"][key], rb["eps_g"][key], rtol=0, atol=1e-12)


def test_checkpoint_records_newer_than_the_state_are_cut_back(tmp_path):
    """A kill between writing the records and the state: the state names how many records count."""
    run = RunCheckpoint(tmp_path / "ck", every=0)
    run.open({"x": 1})
    sc = run.seed(0, 7)
    W = np.ones((1, 2, 3))
    sc.save({"done": 5, "n_rec": 1, "rec_steps": [0], "status": "running", "sources": ["generator"]},
            {"W0": W[0]}, {"steps": [0], "W": [W], "v": [np.ones((1, 2))]})
    # the records of a later save reached the disk, its state did not
    from getheory._files import write_bytes
    from getheory.dynamics._checkpoint import _npz_bytes

    write_bytes(sc.records_file, _npz_bytes({"steps": np.array([0, 5]), "W0": np.ones((2, 2, 3)),
                                             "v0": np.ones((2, 2))}), sync=True)
    st = run.seed(0, 7).load()
    assert st["meta"]["n_rec"] == 1 and st["records"]["steps"].tolist() == [0]
    assert st["records"]["W"][0].shape == (1, 2, 3)
    with pytest.raises(ValueError, match="holds SGD seed 7, this run's seed 1 is 8"):
        _load_other_seed(tmp_path)
    assert sorted(os.listdir(tmp_path / "ck")) == ["run.json", "seed-000-records.npz", "seed-000.npz"]


def _load_other_seed(tmp_path):
    import shutil

    shutil.copy(tmp_path / "ck" / "seed-000.npz", tmp_path / "ck" / "seed-001.npz")
    try:
        return RunCheckpoint(tmp_path / "ck").seed(1, 8).load()
    finally:
        os.remove(tmp_path / "ck" / "seed-001.npz")


# ---------------------------------------------------------------------------------------------
# divergence
# ---------------------------------------------------------------------------------------------
def test_diverging_sgd_stops_says_so_and_never_passes(tmp_path):
    from getheory.reports import write_dynamics_report

    res = run_dynamics(activation="sign", N=40, D=20, eta=1000.0, t_max=2.0, points=6, n_test=200, sgd_seeds=3,
                       step_check=False)
    s = res.settings
    assert s["diverged"] and s["t_reached"] < 2.0
    assert all(d is not None and d["t"] > 0 and "error" in d["reason"] for d in s["divergence"])
    assert res.gaps and all(g["verdict"] == "diverged" for g in res.gaps.values())
    assert any("DIVERGED" in n for n in res.notes)
    # the curves stop before the blow-up: nothing astronomically large is stored
    assert np.all(np.isfinite(res.eps_gen_order)) and np.max(res.eps_gen_order) < 1e6 * res.eps_gen_order[0]
    write_dynamics_report(res, tmp_path / "r")
    md = (tmp_path / "r" / "report.md").read_text()
    assert "SGD DIVERGED" in md and "| diverged |" in md and "consistent |" not in md
    assert json.loads((tmp_path / "r" / "report.json").read_text())["settings"]["diverged"] is True


def test_cli_diverging_run_exits_nonzero(tmp_path, capsys):
    from getheory.cli import main

    rc = main(["dynamics", "--N", "40", "--D", "20", "--eta", "1000", "--t-max", "1", "--points", "4",
               "--n-test", "100", "--sgd-seeds", "2", "--quiet", "--out", str(tmp_path / "d")])
    assert rc == 1 and "DIVERGED" in capsys.readouterr().err
    assert not (tmp_path / "d" / "checkpoint").exists()


def test_a_stable_run_is_not_called_diverged():
    res = run_dynamics(activation="sign", N=40, D=20, eta=0.5, t_max=2.0, points=4, n_test=100, sgd_seeds=2,
                       ode=False)
    assert not res.settings["diverged"] and res.settings["divergence"] == [None, None]
    assert all(g["verdict"] != "diverged" for g in res.gaps.values())


# ---------------------------------------------------------------------------------------------
# --problem files
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def problem_file(tmp_path):
    from getheory.dynamics import save_problem

    rng = np.random.default_rng(0)
    p = tmp_path / "problem.npz"
    save_problem(p, {"A": rng.standard_normal((32, 16)), "W0": rng.standard_normal((2, 32)),
                     "v0": rng.standard_normal(2), "W_teacher": rng.standard_normal((2, 16)), "v_teacher": np.ones(2)})
    return p


def test_empty_or_truncated_problem_file_is_an_error_naming_it(tmp_path, problem_file, capsys):
    from getheory.cli import main
    from getheory.dynamics import load_problem

    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.npz.*empty \(0 bytes\)"):
        load_problem(empty, "sign")
    cut = tmp_path / "cut.npz"
    cut.write_bytes(problem_file.read_bytes()[: problem_file.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"cut\.npz.*not a readable \.npz archive \(truncated"):
        load_problem(cut, "sign")
    for bad in (empty, cut):
        assert main(["dynamics", "--problem", str(bad), "--quiet", "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert str(bad) in err and "error" in err


def test_problem_sizes_conflicting_with_given_ones_are_refused(tmp_path, problem_file, capsys):
    from getheory.cli import main
    from getheory.dynamics import load_problem

    with pytest.raises(ValueError, match=r"N = 32, but N = 64 was asked for"):
        load_problem(problem_file, "sign", N=64)
    with pytest.raises(ValueError, match=r"D = 16, but D = 8 was asked for"):
        load_problem(problem_file, "sign", D=8)
    assert load_problem(problem_file, "sign", N=32, D=16)["W0"].shape == (2, 32)
    out = str(tmp_path / "o")
    for flags, words in ((["--N", "64"], ("N = 32", "N = 64")), (["--D", "8"], ("D = 16", "D = 8")),
                         (["--K", "3"], ("K = 2", "--K 3")), (["--M", "1"], ("M = 2", "--M 1"))):
        assert main(["dynamics", "--problem", str(problem_file), *flags, "--quiet", "--out", out]) == 2
        err = capsys.readouterr().err
        assert all(w in err for w in words), err
    assert not os.path.exists(out)  # refused before anything was written


# ---------------------------------------------------------------------------------------------
# the checkpoint folder: damaged files, read-only places, writers killed mid-write
# ---------------------------------------------------------------------------------------------
def test_a_checkpoint_with_a_damaged_zip_header_is_refused_in_a_short_printable_line(tmp_path):
    run = RunCheckpoint(tmp_path / "ck", every=0)
    run.open({"x": 1})
    sc = run.seed(0, 7)
    sc.save({"done": 5, "n_rec": 0, "status": "running", "sources": ["generator"]},
            {"W0": np.random.default_rng(0).standard_normal((300, 300))})
    state = tmp_path / "ck" / "seed-000.npz"
    raw = bytearray(state.read_bytes())
    raw[26:28] = b"\xff\xff"  # the first entry's file-name length: zipfile then quotes 64 kB of raw bytes
    state.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="checkpoint file .*seed-000.npz' cannot be read") as err:
        run.seed(0, 7).load()
    msg = str(err.value)
    assert len(msg) < 600 and msg.isprintable() and "characters in all" in msg and "delete the folder" in msg


def test_a_read_only_checkpoint_folder_is_refused_before_any_sgd(tmp_path, monkeypatch):
    from getheory import _validation

    ck = tmp_path / "ck"
    ck.mkdir()
    real = _validation.tempfile.mkstemp

    def mkstemp(*args, dir=None, **kw):  # a read-only mount, as root meets it too
        if dir is not None and os.path.samefile(dir, ck):
            raise OSError(30, "Read-only file system")
        return real(*args, dir=dir, **kw)

    monkeypatch.setattr(_validation.tempfile, "mkstemp", mkstemp)
    calls = _slow_kernels(monkeypatch)
    with pytest.raises(ValueError, match=r"checkpoint folder '.*ck' is not writable \(Read-only file system"):
        run_dynamics(**SMALL, checkpoint=str(ck))
    assert calls["n"] == 0


def test_a_writer_killed_mid_write_leaves_no_temporary_after_the_resume_and_the_folder_goes(tmp_path):
    """SIGKILL between writing a state's temporary file and moving it into place (at the third save of
    seed 0): the resume removes the dead writer's temporary file, and a finished run's folder is removed."""
    from getheory.dynamics import remove_checkpoint

    ck = tmp_path / "ck"
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(f"""
        import os, signal, sys
        from getheory.dynamics import run_dynamics
        real, saves = os.replace, []
        def replace(src, dst):
            if str(dst).endswith("seed-000.npz"):
                saves.append(dst)
                if len(saves) == 3:
                    os.kill(os.getpid(), signal.SIGKILL)
            return real(src, dst)
        os.replace = replace
        run_dynamics(**{SMALL!r}, checkpoint=sys.argv[1], checkpoint_every=0)
    """))
    proc = subprocess.run([sys.executable, str(script), str(ck)], capture_output=True, timeout=300, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert [n for n in os.listdir(ck) if n.endswith(".tmp")] == [f".seed-000.npz.{_pid_of(ck)}.tmp"]
    resumed = run_dynamics(**SMALL, checkpoint=str(ck))
    assert resumed.settings["resumed"]
    assert not [n for n in os.listdir(ck) if n.endswith(".tmp")]
    assert remove_checkpoint(ck) and not ck.exists()


def test_removing_a_checkpoint_removes_its_killed_writers_temporaries(tmp_path):
    from getheory.dynamics import remove_checkpoint

    run = RunCheckpoint(tmp_path / "ck", every=0)
    run.open({"x": 1})
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=60)
    (tmp_path / "ck" / f".seed-000.npz.{dead.pid}.tmp").write_bytes(b"half a state")
    assert remove_checkpoint(tmp_path / "ck") and not (tmp_path / "ck").exists()


def _pid_of(folder) -> int:
    """The writer's process id in the one temporary file of ``folder``."""
    (name,) = [n for n in os.listdir(folder) if n.endswith(".tmp")]
    return int(name.split(".")[-2])


def test_moments_with_other_last_bits_resume_and_other_moments_are_refused(tmp_path):
    """Another machine's BLAS gives Ω other last bits: the digest differs, the sums agree to round-off, and
    the run resumes, saying so; a moment that differs beyond round-off, or a checkpoint without the sums,
    is refused with the reason."""
    ck = str(tmp_path / "ck")
    small = {**SMALL, "t_max": 1.0, "points": 3, "ode": False}
    first = run_dynamics(**small, checkpoint=ck)
    run_file = os.path.join(ck, "run.json")
    with open(run_file) as fh:
        stored = json.load(fh)

    def write(settings):
        with open(run_file, "w") as fh:
            json.dump({**stored, "settings": settings}, fh)

    sums = stored["settings"]["Omega (sums)"]
    write({**stored["settings"], "Omega (SHA-256)": "0" * 20, "Omega (sums)": [sums[0], sums[1] * (1 + 1e-14), sums[2]]})
    again = run_dynamics(**small, checkpoint=ck)
    assert again.settings["resumed"]
    assert any("Omega differ from the checkpoint's in their last bits only" in n for n in again.notes)
    np.testing.assert_array_equal(again.eps_per_seed["generator"]["order_parameters"],
                                  first.eps_per_seed["generator"]["order_parameters"])
    write({**stored["settings"], "Omega (SHA-256)": "0" * 20, "Omega (sums)": [sums[0], sums[1] * 1.01, sums[2]]})
    with pytest.raises(ValueError, match=r"Omega \(SHA-256\): checkpoint '0+', this run '[0-9a-f]+' \(its sums differ too"):
        run_dynamics(**small, checkpoint=ck)
    old = {k: v for k, v in stored["settings"].items() if not k.endswith("(sums)")}
    write({**old, "Omega (SHA-256)": "0" * 20})
    with pytest.raises(ValueError, match=r"predates the sums that tell round-off from another array"):
        run_dynamics(**small, checkpoint=ck)
    # a checkpoint from before the sums, resumed where its digests match, gets them written in
    write(old)
    assert run_dynamics(**small, checkpoint=ck).settings["resumed"]
    with open(run_file) as fh:
        assert json.load(fh)["settings"]["Omega (sums)"] == sums
