"""
Property-test a generator
=========================

:mod:`getheory.testing` holds `Hypothesis <https://hypothesis.readthedocs.io>`_ strategies for
generators and weights inside the theorem's conditions (docs/theory.md §6) and statistical
assertions that state their false-positive rate. Here a user's tanh generator is tested over a
few drawn weight matrices: at n = 4,000 samples its fields are indistinguishable from their
Gaussian match at every draw (``bound=0``), while a spiky student (outside the "student weights
spread" condition) is the kind of counter-example a property test exists to find.

In a test file the decorated function runs under pytest; here it is called directly.
"""

# %%
# The property
# ------------
import matplotlib.pyplot as plt
import numpy as np
from hypothesis import given, settings

import getheory as gt
import getheory.testing as gtt

A = np.random.default_rng(0).standard_normal((32, 16))


def my_generator(c):
    """Latents c, shape (n, 16), to inputs x, shape (n, 32)."""
    return np.tanh(c @ A.T / np.sqrt(16))


G = gt.CallableGenerator(my_generator, D=16)
moments = gt.monte_carlo_moments(G, 20_000, seed=0)  # one Monte Carlo match, shared by every draw
seen = []


@settings(max_examples=4, deadline=None, derandomize=True, database=None)
@given(weights=gtt.weights(N=32, D=16, K=1, M=1))  # spread-out students, Gaussian teachers (§6)
def test_my_generator_is_gaussian_equivalent(weights):
    evidence = gtt.assert_dms_within_bound(G, *weights, bound=0.0, n=4_000, level=0.05, moments=moments)
    seen.append(evidence)


test_my_generator_is_gaussian_equivalent()
for e in seen:
    print(f"d̂ − ε_n = {e.statistic:+.4f} <= bound {e.threshold} (false-positive rate {e.false_positive_rate:.2f})")

# %%
# A student outside the conditions
# --------------------------------
# A student whose weight sits on one input sees one coordinate of x, tanh of a Gaussian: far from
# Gaussian, so the same assertion (at 20,000 samples) fails. A property test would report this draw.
W_spiky = np.zeros((1, 32))
W_spiky[0, 0] = 1.0
W_teacher = np.random.default_rng(1).standard_normal((1, 16))
try:
    gtt.assert_dms_within_bound(G, W_spiky, W_teacher, bound=0.0, n=20_000, level=0.05, moments=moments)
    spiky_failed = False
except AssertionError as exc:
    spiky_failed = True
    print("spiky student:", str(exc).splitlines()[0][:160])
print("the spiky student fails the assertion:", spiky_failed)

# %%
# The statistics
# --------------
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(range(len(seen)), [e.statistic for e in seen], "o", label="d̂ − ε_n, drawn spread-out students")
ax.axhline(0.0, color="C3", label="bound 0")
ax.set_xlabel("Hypothesis example")
ax.legend()
fig.tight_layout()
