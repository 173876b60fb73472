"""getheory._validation: output paths checked before any work, and foreign text quoted short."""

import os

import pytest

from getheory import _validation
from getheory._validation import check_output_dir, check_output_file, excerpt


def _read_only(monkeypatch, folder):
    """Make ``folder`` refuse new files, as a read-only mount does (even for root)."""
    real = _validation.tempfile.mkstemp

    def mkstemp(*args, dir=None, **kw):
        if dir is not None and os.path.samefile(dir, folder):
            raise OSError(30, "Read-only file system")
        return real(*args, dir=dir, **kw)

    monkeypatch.setattr(_validation.tempfile, "mkstemp", mkstemp)


def test_an_output_file_in_a_writable_folder_is_accepted_new_or_existing(tmp_path):
    assert check_output_file(str(tmp_path / "r.json")) == str(tmp_path / "r.json")
    (tmp_path / "old.json").write_text("{}")
    assert check_output_file(tmp_path / "old.json") == str(tmp_path / "old.json")
    assert os.listdir(tmp_path) == ["old.json"]  # the probe leaves nothing behind


@pytest.mark.parametrize("where, message", [
    ("folder", "is an existing folder, not a file: give a file path"),
    ("missing/r.json", "its folder .* does not exist; create it first"),
    ("file/r.json", "is a file, not a folder"),
    ("", "--json is empty: give a file path"),
])
def test_an_output_file_that_cannot_be_written_is_refused_in_one_line(tmp_path, where, message):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("")
    path = str(tmp_path / where) if where else ""
    with pytest.raises(ValueError, match=message) as err:
        check_output_file(path, "--json")
    assert "\n" not in str(err.value)


def test_an_output_file_or_folder_in_a_read_only_folder_is_refused_naming_it(tmp_path, monkeypatch):
    _read_only(monkeypatch, tmp_path)
    with pytest.raises(ValueError, match=r"--json '.*r\.json' cannot be written \(Read-only file system in"):
        check_output_file(str(tmp_path / "r.json"), "--json")
    with pytest.raises(ValueError, match=r"--out '.*sub' is not writable \(Read-only file system in"):
        check_output_dir(str(tmp_path / "sub"), "--out")


def test_an_excerpt_is_one_short_printable_line():
    assert excerpt("plain message") == "plain message"
    assert excerpt(ValueError("a\nb\tc")) == "a b c" and excerpt(KeyError()) == "KeyError"
    assert excerpt(b"PK\x03\x04\xff") == "PK\\x03\\x04\\xff"
    assert excerpt("bell\x07 nul\x00") == "bell? nul?"
    long = excerpt("x" * 173_722)
    assert long.startswith("x" * 200) and long.endswith("... (173,722 characters in all)") and len(long) < 240
