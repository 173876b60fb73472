"""`getheory` errors: one line naming what was wrong and a non-zero code, or the full
traceback with --traceback; output folders refused before any work."""

import sqlite3
import textwrap
import zipfile

import pytest

from getheory.cli import main


@pytest.fixture
def user_modules(tmp_path, monkeypatch):
    """A working directory with user generator modules: one raising when called, one at import."""
    (tmp_path / "ugen_errors.py").write_text(textwrap.dedent("""
        import numpy as np
        def boom(c):
            raise ZeroDivisionError("boom inside the user's generator")
    """))
    (tmp_path / "ugen_import_fails.py").write_text("raise RuntimeError('broken at import')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("exc", [
    FileNotFoundError(2, "No such file or directory", "x.db"),
    PermissionError(13, "Permission denied", "out/report.md"),
    sqlite3.DatabaseError("database disk image is malformed"),
    zipfile.BadZipFile("File is not a zip file"),
    EOFError("No data left in file"),
])
def test_main_prints_one_line_for_file_and_database_errors(exc, monkeypatch, capsys):
    import getheory.cli.report as report

    def fail(args):
        raise exc

    monkeypatch.setattr(report, "run", fail)
    assert main(["report", "x.db", "--out", "r"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("getheory report: error: ") and err.count("\n") == 1
    assert type(exc).__name__ in err and str(exc.args[-1]) in err
    assert "Traceback" not in err


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated"])
def test_damaged_weights_file_is_one_line_naming_the_file(content, tmp_path, capsys):
    path = tmp_path / "decoder.npz"
    path.write_bytes(content)
    assert main(["check", "--weights", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"getheory check: error: weights file {str(path)!r} is not a readable .npz archive")
    assert err.count("\n") == 1


@pytest.mark.parametrize("where", ["before", "after"])
def test_traceback_flag_prints_the_full_traceback(where, monkeypatch, capsys):
    import getheory.cli.report as report

    def fail(args):
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(report, "run", fail)
    argv = ["report", "x.db", "--out", "r"]
    argv = ["--traceback"] + argv if where == "before" else argv + ["--traceback"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "in fail" in err
    assert "sqlite3.DatabaseError: database disk image is malformed" in err


def test_user_generator_that_raises_is_named_in_one_line(user_modules, capsys):
    assert main(["check", "--generator", "ugen_errors:boom", "--D", "3", "--samples", "2000", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert ("getheory check: error: user generator 'ugen_errors:boom' raised ZeroDivisionError" in err
            and "boom inside the user's generator" in err and "--traceback" in err)


def test_traceback_flag_shows_the_user_generators_own_traceback(user_modules, capsys):
    assert main(["--traceback", "check", "--generator", "ugen_errors:boom", "--D", "3", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "ugen_errors.py" in err and "in boom" in err  # the user's frame, kept as the cause
    assert "The above exception was the direct cause" in err
    assert "UserCodeError: user generator 'ugen_errors:boom' raised ZeroDivisionError" in err


def test_user_module_that_raises_at_import_is_named_in_one_line(user_modules, capsys):
    assert main(["ridge", "--generator", "ugen_import_fails:g", "--D", "3", "--quiet",
                 "--out", str(user_modules / "r")]) == 2
    err = capsys.readouterr().err
    assert ("getheory ridge: error: module 'ugen_import_fails' of generator 'ugen_import_fails:g' raised "
            "RuntimeError at import: broken at import" in err)
    assert not (user_modules / "r").exists()


@pytest.mark.parametrize("argv", [
    ["ridge", "--N", "20", "--D", "10", "--alphas", "0.5,1", "--lambdas", "1", "--seeds", "2", "--n-test", "100",
     "--quiet"],
    ["report", "results.db"],
    ["proofs", "--only", "hermite", "--quiet"],
])
def test_out_that_is_an_existing_file_is_refused_before_computing(argv, tmp_path, monkeypatch, capsys):
    from getheory.cli import proofs, report, ridge

    def must_not_run(*a, **k):
        raise AssertionError("computed before refusing --out")

    # the names as the commands look them up (imported into their modules)
    for mod, name in ((ridge, "ridge_curves"), (report, "write_report"), (proofs, "run_proofs")):
        monkeypatch.setattr(mod, name, must_not_run)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results.db").write_bytes(b"")
    out = tmp_path / "taken"
    out.write_text("keep me\n")
    with pytest.raises(SystemExit) as info:
        main(argv + ["--out", str(out)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --out: {str(out)!r} is an existing file, not a folder" in err
    assert out.read_text() == "keep me\n"


def test_out_under_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    with pytest.raises(SystemExit):
        main(["ridge", "--N", "20", "--quiet", "--out", str(tmp_path / "file" / "sub")])
    err = capsys.readouterr().err
    assert "cannot be created" in err and "is a file, not a folder" in err


@pytest.mark.parametrize("where, message", [
    ("folder", "is an existing folder, not a file"),
    ("missing/r.json", "does not exist; create it first"),
    ("file/r.json", "is a file, not a folder"),
])
def test_json_path_that_cannot_be_written_is_refused_before_computing(where, message, tmp_path, monkeypatch, capsys):
    from getheory.cli import check

    def must_not_run(*a, **k):
        raise AssertionError("computed before refusing --json")

    monkeypatch.setattr(check, "check_generator", must_not_run)
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("keep me\n")
    with pytest.raises(SystemExit) as info:
        main(["check", "--N", "16", "--D", "8", "--quiet", "--json", str(tmp_path / where)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --json: {str(tmp_path / where)!r} " in err and message in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["file", "folder"]  # no PATH.tmp left behind


@pytest.mark.parametrize("checkpoint_flag", [False, True])
def test_dynamics_in_a_read_only_checkpoint_folder_is_refused_before_computing(checkpoint_flag, tmp_path,
                                                                               monkeypatch, capsys):
    import os

    from getheory import _validation
    from getheory.cli import dynamics

    out, ck = tmp_path / "out", tmp_path / "out" / "checkpoint"
    ck.mkdir(parents=True)
    real = _validation.tempfile.mkstemp

    def mkstemp(*args, dir=None, **kw):  # OUT/checkpoint on a read-only mount, as root meets it too
        if dir is not None and os.path.samefile(dir, ck):
            raise OSError(30, "Read-only file system")
        return real(*args, dir=dir, **kw)

    def must_not_run(*a, **k):
        raise AssertionError("computed before refusing the checkpoint folder")

    monkeypatch.setattr(_validation.tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(dynamics, "run_dynamics", must_not_run)
    argv = ["dynamics", "--N", "20", "--resume", "--quiet", "--out", str(out)]
    argv += ["--checkpoint", str(ck)] if checkpoint_flag else []
    try:
        rc = main(argv)
    except SystemExit as exc:  # --checkpoint DIR is checked by the parser
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err
    assert f"{str(ck)!r} is not writable (Read-only file system in {str(ck)!r})" in err and "Errno" not in err


@pytest.mark.parametrize("flag, quiet", [([], True), (["--traceback"], False)])
def test_dask_logs_are_held_back_while_a_command_runs_unless_traceback_is_asked(flag, quiet, monkeypatch):
    # a dying scheduler made Dask's client log ~30 lines of tracebacks around the command's one-line error;
    # its loggers are configured when Dask is imported, inside the command: only a global switch reaches them
    import logging

    from getheory.cli import check as check_cmd

    seen = {}

    def run(args):
        seen["error"] = logging.getLogger("distributed.client").isEnabledFor(logging.ERROR)
        seen["critical"] = logging.getLogger("distributed.client").isEnabledFor(logging.CRITICAL)
        return 0

    monkeypatch.setattr(check_cmd, "run", run)
    assert main([*flag, "check", "--N", "8", "--D", "4"]) == 0
    assert seen == {"error": not quiet, "critical": True}
    assert logging.getLogger("distributed.client").isEnabledFor(logging.ERROR)  # restored


def test_ctrl_c_while_the_command_is_loaded_is_one_line_and_status_130(monkeypatch, capsys):
    from getheory.cli import _main

    def interrupted(name):
        raise KeyboardInterrupt  # as a Ctrl-C in the first second, while the command's module imports

    monkeypatch.setattr(_main, "_command_module", interrupted)
    assert main(["sweep", "spec.toml", "--db", "r.db"]) == 130
    assert capsys.readouterr().err.strip().splitlines() == ["getheory sweep: interrupted"]


@pytest.mark.parametrize("name", ["check.json", "check.md"])
def test_an_out_folder_holding_a_folder_named_like_a_report_file_is_refused_before_computing(name, tmp_path,
                                                                                              monkeypatch, capsys):
    from getheory.cli import check

    def must_not_run(*a, **k):
        raise AssertionError("computed before refusing --out")

    monkeypatch.setattr(check, "check_generator", must_not_run)
    (tmp_path / "out" / name).mkdir(parents=True)
    assert main(["check", "--N", "16", "--D", "8", "--quiet", "--out", str(tmp_path / "out")]) == 2
    assert f"holds a folder '{name}' where the check writes its report" in capsys.readouterr().err
