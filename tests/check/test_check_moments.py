"""The moments step: (E x, Ω, Φ) and the Gaussian match P̂, exact or Monte Carlo (docs/theory.md §2)."""

from getheory import check_generator, random_deep


def test_check_of_deep_generator_uses_monte_carlo_moments():
    gen = random_deep([6, 12, 10], "sign", seed=0)
    res = check_generator(gen, samples=3000, seed=1, moment_samples=4000)
    d = res.to_dict()
    assert "Monte Carlo" in d["moments_source"]
    assert d["bound_terms"] is None and "single-layer" in d["bound_terms_note"]
    assert "stderr_cov" in d["gaussian_match"]
