"""CheckResult: the data of a check, JSON-ready; its report is the presentation layer's."""

import json

from getheory import check_generator
from getheory.reports import format_check


def test_check_returns_every_section_json_ready():
    res = check_generator(activation="sign", N=16, D=8, K=1, M=1, samples=4000, seed=0)
    d = json.loads(json.dumps(res.to_dict()))
    assert d["sizes"] == {"N": 16, "D": 8, "K": 1, "M": 1, "samples": 4000}
    for key in ("value", "se", "estimator", "choice_rule", "plug_in", "floor", "excess", "certified", "cumulant",
                "resolved"):
        assert key in d["d_MS"]
    assert d["d_MS"]["estimator"] in ("plug-in", "edgeworth")
    for key in ("M1_term", "M2_term", "teacher_term", "n_term"):
        assert d["bound_terms"][key] >= 0
    assert {c["verdict"] for c in d["conditions"]} <= {"pass", "warn", "fail", "info"}
    assert "exact" in d["moments_source"]
    text = format_check(res)
    assert "plug-in + ε_n" in text and "teacher" in text and "d_MS resolved" in text
    assert list(d) == ["getheory_version", "generator", "sizes", "settings", "moments_source", "gaussian_match",
                       "d_MS", "bound_terms", "bound_terms_note", "conditions", "timings_s", "plan", "measured_run",
                       "analytic"]
    assert d["settings"] == {"seed": 0, "samples": 4000, "plan": None, "dms": d["settings"]["dms"],
                             "stream": d["settings"]["stream"], "backend": "numpy", "dtype": "float32",
                             "weights": "gaussian"}


def test_a_result_holds_data_and_leaves_formatting_to_the_reports():
    res = check_generator(activation="sign", N=8, D=4, K=1, M=1, samples=2048, seed=0, analytic=False)
    assert not hasattr(res, "format")
    assert res.analytic is None and "analytic" not in res.timings
