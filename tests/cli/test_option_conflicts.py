"""Every option a command is given is used or refused with the reason, before any work: none is dropped."""

import pytest

from getheory.cli import main


@pytest.fixture
def user_gen(tmp_path, monkeypatch):
    """A working directory with a user generator of D = 32 latents and N = 64 columns, and no command that
    may compute (each refusal comes first)."""
    from getheory.cli import check, dynamics, ridge
    from getheory.sweep import _runner

    (tmp_path / "conflict_gen.py").write_text("import numpy as np\n\n"
                                              "B = np.random.default_rng(0).standard_normal((64, 32))\n\n"
                                              "def make(c):\n    return np.tanh(c @ B.T / np.sqrt(32))\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))

    def must_not_run(*a, **k):
        raise AssertionError("computed before refusing an option")

    for mod, name in ((check, "check_generator"), (dynamics, "run_dynamics"), (ridge, "ridge_curves"),
                      (_runner, "choose_runner")):
        monkeypatch.setattr(mod, name, must_not_run)
    return tmp_path


@pytest.mark.parametrize("argv, message", [
    (["check", "--N", "16", "--D", "8", "--moment-samples", "5000"],
     ("--moment-samples sets Monte Carlo rows for a generator without closed-form moments, but this generator's "
      "moments are exact")),
    (["check", "--N", "16", "--D", "8", "--omega-samples", "0"], "leave out --omega-samples"),
    (["check", "--N", "16", "--D", "8", "--samples", "4096", "--time-budget", "30"],
     "--time-budget; its budget 30 s) was given, but it only plans n with samples='auto', and samples = 4,096 is fixed"),
    (["dynamics", "--generator", "conflict_gen:make", "--D", "32", "--N", "100"],
     "--N 100 was given, but the generator conflict_gen:make returns N = 64 columns"),
    (["dynamics", "--generator", "conflict_gen:make", "--D", "32", "--depth", "3"],
     "--depth and --widths shape a random generator; --generator has its own layers"),
    (["dynamics", "--activation", "identity", "--N", "20", "--depth", "2"],
     "--activation identity (x = c) has its own layers"),
    (["dynamics", "--N", "20", "--widths", "10,20"],
     "--widths 10,20 lists the widths of a deep generator: give --depth L too"),
    (["dynamics", "--N", "20", "--moment-samples", "1000"], "leave out --moment-samples"),
    (["ridge", "--N", "20", "--finite-size-seeds", "3"],
     "--finite-size-seeds sets the seeds of the --finite-size runs: give --finite-size"),
    (["ridge", "--generator", "conflict_gen:make", "--D", "32", "--N", "100"],
     "--N 100 was given, but the generator conflict_gen:make returns N = 64 columns"),
    (["ridge", "--N", "20", "--moment-samples", "1000"], "leave out --moment-samples"),
    (["sweep", "spec.toml", "--db", "r.db", "--workers", "2", "--scheduler", "tcp://h:1"],
     "--workers 2 and --scheduler tcp://h:1: the tasks run either on local processes or on the Dask cluster"),
    (["sweep", "spec.toml", "--db", "r.db", "--worker-timeout", "5"],
     "--worker-timeout is how long a --scheduler run waits for Dask workers"),
])
def test_an_option_the_command_would_not_use_is_refused_before_any_work(argv, message, user_gen, capsys):
    assert main(argv + ["--quiet", "--out", str(user_gen / "out")] if argv[0] in ("dynamics", "ridge")
                else argv + ["--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (user_gen / "out").exists() and not (user_gen / "r.db").exists()


@pytest.mark.parametrize("argv", [
    ["check", "--generator", "conflict_gen:make", "--D", "32", "--moment-samples", "2000"],
    ["dynamics", "--N", "20", "--depth", "2", "--widths", "10,16,20", "--moment-samples", "1000"],
    ["ridge", "--generator", "conflict_gen:make", "--D", "32", "--N", "64", "--moment-samples", "1000"],
])
def test_the_same_options_where_they_are_used_reach_the_work(argv, user_gen, capsys):
    """Not refused where they apply: the run gets as far as the (stubbed) work."""
    with pytest.raises(AssertionError, match="computed before refusing an option"):
        main(argv + ["--quiet"])


def test_an_error_line_holding_pages_of_foreign_text_is_cut_to_one_short_printable_line(monkeypatch, capsys):
    from getheory.cli import check

    def raises(*a, **k):
        raise OSError(f"File name in directory 'W0.npy' and header {bytes(range(256)) * 700!r} differ")

    monkeypatch.setattr(check, "check_generator", raises)
    assert main(["check", "--N", "16", "--D", "8", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("getheory check: error: OSError: File name in directory") and err.count("\n") == 1
    assert len(err) < 1600 and "characters in all" in err and err[:-1].isprintable()
