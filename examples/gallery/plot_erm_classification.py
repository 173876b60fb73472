"""
Classification: an ERM learning curve
=====================================

:func:`getheory.erm_curves` fits ŵ = argmin Σ ℓ(y, w·x/√N) + (λ/2)‖w‖² with a convex loss on a
generator's features and on its Gaussian equivalent, from the same latents and labels
y = sign(θ·c/√D), and compares the test errors with the replica prediction of the Gaussian
covariate model computed from (Ω, Φ, θ) (docs/theory.md §10). Every fit is certified (for the
logistic loss: L-BFGS-B to a relative gradient norm of 1e-7).

A sign generator at N = 60, D = 30, logistic loss, λ = 0.1, 3 seeds: both measured curves
follow the theory within a few standard errors.
"""

# %%
# The curve
# ---------
import matplotlib.pyplot as plt
import numpy as np

import getheory as gt

options = gt.ErmOptions(loss="logistic", alphas=(0.5, 1.0, 2.0), lambdas=(0.1,), seeds=3, n_test=3_000)
print(options)
result = gt.erm_curves(activation="sign", N=60, D=30, options=options, seed=0)
theory = result.theory["test_error"][:, 0]
print("alpha      ", result.alphas)
for source, errors in result.test_error.items():
    certified = bool(result.converged[source].all())
    print(f"{source:10s}", np.round(errors.mean(axis=0)[:, 0], 4), "every fit certified:", certified)
print("theory     ", np.round(theory, 4))
print({k: round(v, 1) for k, v in result.timings.items()})

# %%
# The comparisons
# ---------------
for name, c in result.comparisons().items():
    print(f"{name:22s} max |z| = {np.nanmax(np.abs(c['z'])):.2f}")

# %%
# The plot
# --------
fig, ax = plt.subplots(figsize=(5, 3.5))
for source, marker in (("generator", "o"), ("gaussian", "s")):
    errors = result.test_error[source][:, :, 0]
    ax.errorbar(result.alphas, errors.mean(axis=0), yerr=errors.std(axis=0, ddof=1) / np.sqrt(errors.shape[0]),
                fmt=marker, capsize=3, label=f"{source} features")
ax.plot(result.alphas, theory, "k-", label="replica theory")
ax.set_xscale("log")
ax.set_xticks(result.alphas, [f"{x:g}" for x in result.alphas])  # ticks at the data, no overlapping minor labels
ax.minorticks_off()
ax.set_xlabel("α = n/N")
ax.set_ylabel("test classification error")
ax.set_title("logistic loss, λ = 0.1, sign generator, N = 60")
ax.legend()
fig.tight_layout()
