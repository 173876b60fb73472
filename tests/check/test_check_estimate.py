"""The estimate step: every d_MS estimate of docs/theory.md §4 on the check's ``dms`` stream."""

from getheory import check_generator
from getheory.distances import DmsOptions


def test_check_certified_bound_on_request():
    d = check_generator(activation="sign", N=16, D=8, K=1, M=1, samples=4000, seed=0,
                        dms=DmsOptions(certify=True, max_evaluations=200)).to_dict()
    ce = d["d_MS"]["certified"]
    assert ce["value"] >= d["d_MS"]["plug_in"]["value"] + ce["epsilon_n"] - 1e-12
