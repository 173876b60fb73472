"""
A trained network
=================

A generator need not be random: ``examples/trained-digits-decoder.npz`` is the decoder of a small
variational autoencoder trained on scikit-learn's 8×8 digits (D = 10 latents → 128 tanh units →
N = 64 pixels; ``examples/train_digits_decoder.py`` made it). :func:`getheory.load_dense` reads
its weights and biases as data (never unpickled) into a :class:`getheory.DenseGenerator`
(docs/theory.md §9), whose moments are Monte Carlo estimates.

At N = 64 and D = 10 the check resolves the decoder's d_MS, at about 1.7 times that of a random tanh
network of the same sizes, and warns that its covariance is not the linearised Gaussian-equivalent
one (docs/theory.md §6).
"""

# %%
# Load the decoder and look at its samples
# ----------------------------------------
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import getheory as gt


def _examples_folder() -> Path:
    """The repository's examples/ folder (this file is examples/gallery/plot_trained_network.py)."""
    here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
    return here.parent if here.name == "gallery" else here


gen = gt.load_dense(_examples_folder() / "trained-digits-decoder.npz")
print(gen.describe())
digits = gen.sample(np.random.default_rng(0).standard_normal((8, gen.D)))
fig, axes = plt.subplots(1, 8, figsize=(8, 1.3))
for ax, image in zip(axes, digits):
    ax.imshow(image.reshape(8, 8), cmap="gray_r")
    ax.axis("off")
fig.suptitle("x = G(c), c ~ N(0, I_10)")

# %%
# Check it
# --------
# The Gaussian match is estimated from 20,000 rows of its fields, the N × N Ω of the linearised
# condition from 5,000 more; the fields are then streamed at a fixed n.
result = gt.check_generator(gen, gt.CheckOptions(K=1, M=1, samples=60_000, moment_samples=20_000,
                                                omega_samples=5_000, seed=0))
est = result.dms
print(f"d_MS = {est.value:.4f} ± {est.se:.4f} ({est.estimator}), resolved: {est.resolved_any}")
for condition in result.conditions:
    print(f"[{condition.verdict.upper()}] {condition.name}: {condition.detail[:100]}")

# %%
# Compared with a random network of the same size
# -----------------------------------------------
# A random single-layer tanh generator with the same N and D, checked the same way.
random_gen = gt.random_single_layer(gen.N, gen.D, "tanh", seed=0)
random_result = gt.check_generator(random_gen, gt.CheckOptions(K=1, M=1, samples=60_000, seed=0, analytic=False))
print(f"random tanh network: d_MS = {random_result.dms.value:.4f} ± {random_result.dms.se:.4f}")
print(f"ratio trained / random: {est.value / random_result.dms.value:.2f}")
fig, ax = plt.subplots(figsize=(5, 2.5))
ax.barh(["random tanh", "trained decoder"], [random_result.dms.value, est.value],
        xerr=[random_result.dms.se, est.se], color=["0.6", "C3"])
ax.set_xlabel(f"d_MS at N = {gen.N}, D = {gen.D}")
fig.tight_layout()
