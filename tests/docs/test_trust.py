"""The Trust page (docs/trust.md) stays true: data files are data only.

Every loader of a data file (trained weights, a dynamics problem file, a dynamics checkpoint)
refuses an ``.npz`` whose object array would run code when unpickled, with a one-line error
naming the file, and the code never runs.  The page names each of these loaders.
"""

import json
import pathlib

import numpy as np
import pytest

import getheory as gt
from getheory.dynamics import load_problem
from getheory.dynamics._checkpoint import FORMAT, RunCheckpoint

TRUST_PAGE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "trust.md"


class _Payload:
    """Unpickling this object creates the file ``marker``: proof that the file ran code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def _malicious_npz(path, marker, **plain):
    arr = np.empty(1, dtype=object)
    arr[0] = _Payload(marker)
    np.savez(path, **plain, evil=arr)
    return path


def _refused(load, path, marker, words):
    with pytest.raises(ValueError) as err:
        load(path)
    msg = str(err.value)
    assert str(path) in msg and "\n" not in msg and words in msg, msg
    assert not marker.exists(), "loading a data file ran code"


def test_a_weights_file_with_an_object_array_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    path = _malicious_npz(tmp_path / "w.npz", marker, W0=np.ones((4, 3)), b0=np.zeros(4),
                          activations=np.array(["tanh"]))
    _refused(gt.load_dense, path, marker, "not a plain .npz archive")


def test_a_problem_file_with_an_object_array_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "problem.npz"
    arr = np.empty(1, dtype=object)
    arr[0] = _Payload(marker)
    # the weights themselves are the object arrays: the loader must read them to use the file
    np.savez(path, W0=arr, v0=np.ones(2), W_teacher=np.ones((2, 8)), v_teacher=np.ones(2), A=np.ones((16, 8)))
    _refused(lambda p: load_problem(p, "sign"), path, marker, "not a readable .npz archive")


def test_a_checkpoint_with_an_object_array_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    run = RunCheckpoint(tmp_path / "ck", every=0)
    run.open({"x": 1})
    meta = {"format": FORMAT, "seed": 7, "done": 5, "n_rec": 0, "status": "running", "sources": ["generator"]}
    state = tmp_path / "ck" / "seed-000.npz"
    _malicious_npz(state, marker, meta=np.array(json.dumps(meta)))
    _refused(lambda p: run.seed(0, 7).load(), state, marker, "cannot be read")


def test_the_trust_page_names_every_data_loader_and_every_input_that_runs_code():
    text = TRUST_PAGE.read_text(encoding="utf-8")
    for word in ("load_dense", "load_problem", "checkpoint", "sweep database", "allow_pickle=False",
                 "--generator", "factory", "--scheduler", "pickle"):
        assert word in text, f"docs/trust.md no longer mentions {word!r}"
