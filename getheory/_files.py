"""The one way getheory writes a file: whole or not at all.

Every file the package writes (the reports' md, json and png, the SGD checkpoints) goes
through a temporary file in the same folder, which is then moved onto the target with
:func:`os.replace` (atomic on POSIX and Windows within one file system), so an interrupted
write never leaves a half file where a reader looks.  With ``sync`` the data is flushed to
the disk before the rename and the folder after it, so that the file also survives a power
cut (the checkpoints of a long SGD run ask for it).

* :func:`replacing` -- a temporary path next to a file, moved onto it when the block ends;
* :func:`write_bytes`, :func:`write_text`, :func:`write_json` -- the whole content at once;
* :func:`remove_stale_temporaries` -- the temporary files that killed writers left in a folder.

A writer killed between creating its temporary file and the move leaves the temporary file
(``.NAME.PID.tmp``, hidden, never read as NAME); whoever owns the folder removes those of dead
writers when it next opens or removes it.
"""

from __future__ import annotations

import json
import os
import re
from contextlib import contextmanager

__all__ = ["remove_stale_temporaries", "replacing", "write_bytes", "write_json", "write_text"]

#: the name of a temporary file: the target's name and the writer's process id
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>[0-9]+)\.tmp$")


def _temporary_path(path) -> str:
    """A hidden name next to ``path``, unique to this process, ending in ``.tmp``."""
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    return os.path.join(folder, f".{name}.{os.getpid()}.tmp")


def _writer_gone(pid: int) -> bool:
    """Whether the process ``pid`` that made a temporary file can no longer be writing it: this process
    (asked between writes), or one that no longer exists.  Where processes cannot be probed without
    signalling them (Windows), only this process counts as gone."""
    if pid == os.getpid():
        return True
    if os.name == "nt":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, under another user
        return False
    return False


def remove_stale_temporaries(folder, owns) -> list:
    """Remove the temporary files in ``folder`` whose target name ``owns(name)`` accepts and whose writer
    is gone (this process, or a process that no longer exists: killed mid-write); returns their paths.

    Call it between writes (when opening or removing a folder): a write of this process in flight
    would lose its temporary file.
    """
    folder = os.fspath(folder)
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for entry in names:
        m = _TEMPORARY.match(entry)
        if m is None or not owns(m["name"]) or not _writer_gone(int(m["pid"])):
            continue
        path = os.path.join(folder, entry)
        try:
            os.remove(path)
        except FileNotFoundError:
            continue
        removed.append(path)
    return removed


def _fsync_folder(folder: str) -> None:
    """Flush a folder's entries to disk (a no-op where a folder cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def replacing(path, *, sync: bool = False):
    """Yield a temporary path in the folder of ``path``; when the block ends without an error,
    move it onto ``path`` (the block writes the temporary path whole, e.g. ``fig.savefig(tmp,
    format="png")``).  On an error the temporary file is removed and ``path`` is untouched.
    With ``sync``, the folder is flushed to disk after the move."""
    tmp = _temporary_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    if sync:
        _fsync_folder(os.path.dirname(tmp))


def write_bytes(path, data: bytes, *, sync: bool = False) -> None:
    """Write ``data`` to ``path`` whole or not at all; with ``sync``, fsynced before the rename and
    the folder after it."""
    with replacing(path, sync=sync) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())


def write_text(path, text: str, *, sync: bool = False) -> None:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all (:func:`write_bytes`)."""
    write_bytes(path, text.encode("utf-8"), sync=sync)


def write_json(path, obj, *, end: str = "", **dumps) -> None:
    """Write ``json.dumps(obj, **dumps) + end`` to ``path`` whole or not at all (:func:`write_text`);
    ``obj`` must already be plain (:func:`getheory._json.to_plain`)."""
    write_text(path, json.dumps(obj, **dumps) + end)
