"""
Your own generator
==================

Any function from latents c, shape (n, D), to inputs x, shape (n, N), is a generator:
:class:`getheory.CallableGenerator` wraps it, finds N by calling it, and the check estimates
its Gaussian match by Monte Carlo from its fields (docs/theory.md §2) instead of closed forms.

Here a two-layer tanh network with a bias, N = 64 and D = 32, is checked at a fixed n.
"""

# %%
# The generator
# -------------
import matplotlib.pyplot as plt
import numpy as np

import getheory as gt

rng = np.random.default_rng(0)
D, H, N = 32, 48, 64
A1 = rng.standard_normal((H, D))
A2 = rng.standard_normal((N, H))
b1 = 0.3 * rng.standard_normal(H)


def two_layer(c):
    """c (n, D) -> x (n, N): tanh(A2 tanh(A1 c/√D + b1)/√H)."""
    h = np.tanh(c @ A1.T / np.sqrt(D) + b1)
    return np.tanh(h @ A2.T / np.sqrt(H))


gen = gt.CallableGenerator(two_layer, D=D, name="two-layer tanh")
print(gen.N, gen.D)

# %%
# Check it
# --------
# ``moment_samples`` rows estimate the Gaussian match; ``omega_samples`` rows the N × N Ω for the
# linearised condition of docs/theory.md §6. A fixed n keeps the run short.
result = gt.check_generator(gen, gt.CheckOptions(K=1, M=1, samples=60_000, moment_samples=20_000,
                                                omega_samples=4_000, seed=1))
print(result.moments_source)
print(f"d_MS = {result.dms.value:.4f} ± {result.dms.se:.4f} ({result.dms.estimator}), "
      f"resolved: {result.dms.resolved_any}")
for condition in result.conditions:
    print(f"[{condition.verdict.upper()}] {condition.name}")

# %%
# The fields against their Gaussian match
# ---------------------------------------
# A histogram of the student field λ from fresh samples, against the normal density with the
# match's mean and variance: at N = 64 the two are close, as the theorem says.
W_student, W_teacher = gt.draw_weights(gen.N, gen.D, K=1, M=1, seed=2)
lam, nu = gt.sample_fields(gen, W_student, W_teacher, 30_000, seed=3)
match = gt.gaussian_match(gt.monte_carlo_moments(gen, 20_000, seed=4), W_student, W_teacher)
mean, sd = float(match.mean[0]), float(np.sqrt(match.cov[0, 0]))
print(f"lambda: sample mean {lam[:, 0].mean():.3f} (match {mean:.3f}), sample sd {lam[:, 0].std():.3f} "
      f"(match {sd:.3f})")
grid = np.linspace(mean - 4 * sd, mean + 4 * sd, 200)
fig, ax = plt.subplots(figsize=(6, 3))
ax.hist(lam[:, 0], bins=80, density=True, color="C0", alpha=0.6, label="λ, 30,000 samples")
ax.plot(grid, np.exp(-0.5 * ((grid - mean) / sd) ** 2) / (sd * np.sqrt(2 * np.pi)), "k", label="Gaussian match")
ax.set_xlabel("λ")
ax.legend()
fig.tight_layout()
