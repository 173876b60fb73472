"""The ERM checkpoint (getheory.erm._checkpoint; docs/theory.md §10.5): a run killed between data seeds
resumes to the numbers of an uninterrupted run, bit for bit, fitting only the seeds it had not finished;
a checkpoint of other settings is refused naming each difference; `getheory erm --resume`."""

import json
import os

import numpy as np
import pytest

import getheory.erm._experiment as experiment
from getheory.cli import main
from getheory.erm import ErmOptions, erm_curves, erm_finite_size, remove_checkpoint

OPTS = ErmOptions(loss="logistic", alphas=(0.5, 2.0), lambdas=(1.0,), seeds=3, n_test=300, theory=False)
PER_SEED = 2 * 1 * 2  # α × λ × sources
FIELDS = ("test_error", "train_loss", "certificate", "converged")
REAL_FIT = experiment.fit_erm


class Killed(Exception):
    """Stands for a kill: raised by the fit after a number of fits."""


def counting_fit(monkeypatch, kill_after=None):
    """Replace the fits of erm_curves by counted ones that raise Killed after ``kill_after`` fits."""
    calls = [0]

    def fit(*a, **kw):
        if kill_after is not None and calls[0] >= kill_after:
            raise Killed
        calls[0] += 1
        return REAL_FIT(*a, **kw)

    monkeypatch.setattr(experiment, "fit_erm", fit)
    return calls


def assert_bitwise_equal(a, b):
    for k in FIELDS:
        for s in getattr(a, k):
            assert np.array_equal(getattr(a, k)[s], getattr(b, k)[s]), (k, s)
            assert getattr(a, k)[s].dtype == getattr(b, k)[s].dtype


@pytest.fixture(scope="module")
def uninterrupted():
    return erm_curves(options=OPTS, N=30, seed=4)


def test_a_run_killed_after_a_seed_resumes_to_the_numbers_of_an_uninterrupted_run(tmp_path, monkeypatch,
                                                                                   uninterrupted):
    opts = ErmOptions(**{**OPTS.__dict__, "checkpoint": str(tmp_path / "ck")})
    counting_fit(monkeypatch, kill_after=PER_SEED + 3)  # killed inside the second seed
    with pytest.raises(Killed):
        erm_curves(options=opts, N=30, seed=4)
    assert sorted(os.listdir(tmp_path / "ck")) == ["run.json", "seed-000.npz"]
    calls = counting_fit(monkeypatch)
    res = erm_curves(options=opts, N=30, seed=4)
    assert calls[0] == 2 * PER_SEED  # the finished seed is read, not fitted again
    assert res.settings["resumed_seeds"] == 1 and any("1 of 3 data seeds" in n for n in res.notes)
    assert_bitwise_equal(res, uninterrupted)


def test_more_seeds_continue_a_checkpoint_and_fit_only_the_new_ones(tmp_path, monkeypatch, uninterrupted):
    two = ErmOptions(**{**OPTS.__dict__, "seeds": 2, "checkpoint": str(tmp_path / "ck")})
    erm_curves(options=two, N=30, seed=4)
    calls = counting_fit(monkeypatch)
    res = erm_curves(options=ErmOptions(**{**two.__dict__, "seeds": 3}), N=30, seed=4)
    assert calls[0] == PER_SEED
    assert_bitwise_equal(res, uninterrupted)


@pytest.mark.parametrize("change, named", [
    ({"lambdas": (2.0,)}, "lambdas: checkpoint [1.0], this run [2.0]"),
    ({"loss": "square"}, "loss: checkpoint 'logistic', this run 'square'"),
    ({"n_test": 200}, "n_test: checkpoint 300, this run 200"),
])
def test_a_checkpoint_of_other_settings_is_refused_naming_each_difference(tmp_path, change, named):
    opts = ErmOptions(**{**OPTS.__dict__, "seeds": 1, "checkpoint": str(tmp_path / "ck")})
    erm_curves(options=opts, N=30, seed=4)
    with pytest.raises(ValueError, match="written by a run with other settings") as info:
        erm_curves(options=ErmOptions(**{**opts.__dict__, **change}), N=30, seed=4)
    assert named in str(info.value)
    with pytest.raises(ValueError, match="seed: checkpoint 4, this run 5"):
        erm_curves(options=opts, N=30, seed=5)
    with pytest.raises(ValueError, match="N: checkpoint 30, this run 32"):
        erm_curves(options=opts, N=32, D=15, seed=4)


def test_a_checkpoint_option_that_is_not_a_path_is_refused():
    with pytest.raises(ValueError, match="checkpoint must be a folder path, got ''"):
        ErmOptions(checkpoint="")


def test_the_finite_size_run_keeps_one_checkpoint_per_n_and_resumes_bitwise(tmp_path, monkeypatch):
    opts = ErmOptions(loss="square", alphas=(0.5, 2.0), lambdas=(0.1,), seeds=3, n_test=200)
    ref = erm_finite_size([20, 40], opts, seed=2)
    ck = tmp_path / "fs"
    counting_fit(monkeypatch, kill_after=3 * 4 + 4 + 1)  # N = 20 done, N = 40 killed in its second seed
    with pytest.raises(Killed):
        erm_finite_size([20, 40], ErmOptions(**{**opts.__dict__, "checkpoint": str(ck)}), seed=2)
    assert sorted(os.listdir(ck)) == ["N-20", "N-40"]
    assert sorted(os.listdir(ck / "N-40")) == ["run.json", "seed-000.npz"]
    calls = counting_fit(monkeypatch)
    again = erm_finite_size([20, 40], ErmOptions(**{**opts.__dict__, "checkpoint": str(ck)}), seed=2)
    assert calls[0] == 2 * 4
    assert again.mean_abs_gap == ref.mean_abs_gap and again.noise_floor == ref.noise_floor
    assert remove_checkpoint(ck) and not ck.exists()


def test_remove_checkpoint_leaves_files_it_did_not_write(tmp_path):
    opts = ErmOptions(**{**OPTS.__dict__, "seeds": 1, "checkpoint": str(tmp_path / "ck")})
    erm_curves(options=opts, N=30, seed=4)
    (tmp_path / "ck" / "notes.txt").write_text("mine")
    assert not remove_checkpoint(tmp_path / "ck")
    assert os.listdir(tmp_path / "ck") == ["notes.txt"]


# -- getheory erm --resume ----------------------------------------------------------------------------
SMALL = ["--loss", "square", "--N", "30", "--alphas", "0.5,2", "--lambdas", "0.1", "--seeds", "3", "--n-test",
         "200", "--no-theory", "--quiet"]


def test_ctrl_c_keeps_the_finished_seeds_and_resume_finishes_the_run_as_an_uninterrupted_one(tmp_path, monkeypatch,
                                                                                           capsys):
    assert main(["erm", *SMALL, "--out", str(tmp_path / "ref")]) == 0
    out = tmp_path / "rep"
    calls = [0]

    def interrupted(*a, **kw):
        calls[0] += 1
        if calls[0] > 4 + 1:  # Ctrl-C in the second seed
            raise KeyboardInterrupt
        return REAL_FIT(*a, **kw)

    monkeypatch.setattr(experiment, "fit_erm", interrupted)
    capsys.readouterr()
    assert main(["erm", *SMALL, "--out", str(out)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "interrupted" in err[0] and "--resume" in err[0] and "finished data seed" in err[0]
    assert sorted(os.listdir(out / "checkpoint")) == ["run.json", "seed-000.npz"]
    monkeypatch.setattr(experiment, "fit_erm", REAL_FIT)
    assert main(["erm", *SMALL, "--out", str(out)]) == 2  # without --resume: refused, nothing overwritten
    assert "rerun with --resume" in capsys.readouterr().err
    assert main(["erm", *SMALL, "--out", str(out), "--resume"]) == 0
    assert not (out / "checkpoint").exists()  # removed once the report is written
    a, b = (json.loads((p / "report.json").read_text()) for p in (tmp_path / "ref", out))
    for src in a["sources"]:
        for key in ("test_error_per_seed", "train_loss_per_seed", "certificate_per_seed", "converged"):
            assert a["sources"][src][key] == b["sources"][src][key], (src, key)
    assert b["settings"]["resumed_seeds"] == 1


def test_a_checkpoint_of_another_command_line_is_refused_naming_the_difference(tmp_path, capsys):
    ck = tmp_path / "ck"
    erm_curves(options=ErmOptions(loss="square", alphas=(0.5, 2.0), lambdas=(0.2,), seeds=1, n_test=200,
                                  checkpoint=str(ck)), N=30, seed=0)
    assert main(["erm", *SMALL, "--out", str(tmp_path / "rep"), "--checkpoint", str(ck), "--resume"]) == 2
    assert "lambdas: checkpoint [0.2], this run [0.1]" in capsys.readouterr().err
