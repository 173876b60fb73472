"""getheory._files: the temporary files of killed writers are removed, those of live writers kept."""

import os
import subprocess
import sys

from getheory._files import remove_stale_temporaries, write_text


def _dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=60)
    return proc.pid


def test_stale_temporaries_of_dead_writers_and_of_this_process_are_removed(tmp_path):
    live = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        names = {f".seed-000.npz.{_dead_pid()}.tmp": False, f".run.json.{os.getpid()}.tmp": False,
                 f".seed-001.npz.{live.pid}.tmp": True,  # a live writer's: kept
                 f".other.txt.{_dead_pid()}.tmp": True,  # a file the caller does not own: kept
                 "seed-000.npz": True, ".hidden": True}
        for name in names:
            (tmp_path / name).write_bytes(b"")
        removed = remove_stale_temporaries(tmp_path, lambda name: name != "other.txt")
        assert sorted(os.path.basename(p) for p in removed) == sorted(n for n, keep in names.items() if not keep)
        assert sorted(os.listdir(tmp_path)) == sorted(n for n, keep in names.items() if keep)
    finally:
        live.stdin.close()
        live.wait(timeout=60)


def test_a_missing_folder_has_no_stale_temporaries(tmp_path):
    assert remove_stale_temporaries(tmp_path / "missing", lambda name: True) == []


def test_a_whole_write_leaves_no_temporary(tmp_path):
    write_text(tmp_path / "a.md", "x")
    assert os.listdir(tmp_path) == ["a.md"]
