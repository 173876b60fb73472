"""
d_MS without sampling, at large N
=================================

For odd σ the true d_MS is about 1/N, which a sampler resolves only with about N² samples.
:func:`getheory.analytic_dms` computes the leading-order κ3, κ4 and the Edgeworth d_MS of a
single-layer generator from sums over index patterns, in O(N²·D) and without forming Ω
(docs/theory.md §4.2), with an estimate of its truncation error. Here: sign generators from
N = 256 to N = 2048 (δ = D/N = 1/2, K = M = 1), where N · d_MS stays about constant. At N = 2048
the sampler does not resolve d_MS at 5σ in ten minutes on a 2-core machine (README, Performance);
the analytic value takes seconds.
"""

# %%
# The analytic d_MS over N
# ------------------------
import time

import matplotlib.pyplot as plt
import numpy as np

import getheory as gt

Ns = [256, 512, 1024, 2048]
curves = {}
for activation in ("sign",):
    values, errors = [], []
    for N in Ns:
        gen = gt.random_single_layer(N, N // 2, activation, seed=N)
        W_student, W_teacher = gt.draw_weights(N, N // 2, K=1, M=1, seed=N + 1)
        t0 = time.perf_counter()
        a = gt.analytic_dms(gen, W_student, W_teacher)
        values.append(a.edgeworth_w1)
        errors.append(a.truncation_error)
        print(f"{activation:5s} N = {N:5d}: d_MS = {a.edgeworth_w1:.3e} ± {a.truncation_error:.1e} "
              f"(kappa4 = {a.kappa4:+.4f}), N·d_MS = {N * a.edgeworth_w1:.3f}, {time.perf_counter() - t0:.1f} s")
    curves[activation] = (np.array(values), np.array(errors))

# %%
# The rate
# --------
# The slope of log d_MS against log N is close to −1 (one seed per N, so no interval here; a sweep
# with several seeds gives one, as in the sweep example).
for activation, (values, _) in curves.items():
    slope = np.polyfit(np.log(Ns), np.log(values), 1)[0]
    print(f"{activation}: slope {slope:.2f}")

fig, ax = plt.subplots(figsize=(5, 3.5))
for activation, (values, errors) in curves.items():
    ax.errorbar(Ns, values, yerr=errors, fmt="o-", capsize=3, label=activation)
ax.loglog(Ns, 1.0 / np.array(Ns), "k:", label="1/N")
ax.set_xscale("log")
ax.set_xticks(Ns, [f"{x:g}" for x in Ns])  # ticks at the data, no overlapping minor labels
ax.minorticks_off()
ax.set_yscale("log")
ax.set_xlabel("N")
ax.set_ylabel("analytic d_MS")
ax.legend()
fig.tight_layout()
