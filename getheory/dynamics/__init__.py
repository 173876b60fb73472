"""Learning dynamics: one-pass SGD on generator data, on its Gaussian
equivalent, and the ODEs of the order parameters (docs/theory.md §7).

Three computations, from the same initial weights and the same latents:

1. **SGD on generator data** (§7.1): a two-layer student
   φ(x) = Σ_k v_k g(λ_k), λ = W x/√N, trained with one fresh sample per step
   on the labels of a teacher y = Σ_m ṽ_m g(ν_m), ν = W̃ c/√D, that sees the
   latent c; inputs centred, x − E x.
2. **SGD on Gaussian-equivalent data** (§7.2):
   x̂ − E x = Φ c + (Ω − ΦΦᵀ)^{1/2} ξ, ξ ~ N(0, I_N), with the *same* c.
3. **The ODEs** (§7.3–§7.5) for the densities q(ρ), r(ρ) over the spectrum
   of Ω, in which the generator enters only through the eigenvalues ρ_τ of
   Ω and the projections Γ = W U, B = (Φ W̃ᵀ)ᵀ U of the initial weights on
   its eigenvectors U.  ε_g from the closed form of §7.1.

Re-derivation of §7.4–§7.5 (the equations come from the authors' C++ code,
``[authors' code]`` in docs/theory.md §7).  With u_τ = ψ_τ/√N the
orthonormal eigenvectors, Γ_kτ = w_k·u_τ and x_τ = x·u_τ, one SGD step
changes Γ_kτ by −(η/√N) v_k g'(λ_k) Δ x_τ.  Under the Gaussian equivalence
x_τ is jointly Gaussian with the fields, Cov(x_τ, λ_k) = ρ_τ Γ_kτ/√N and
Cov(x_τ, ν_n) = B_nτ/√D.  Each term of E[g'(λ_k) Δ x_τ] depends on two
fields only (λ_k with λ_j, or λ_k with ν_n); regressing x_τ on those two
fields (exact for Gaussians) gives the 2×2 inverse covariances whose
determinants are det_kj and det_kn of §7.5, and the resulting drift of
r_km = Γ_kτ B_mτ (times N steps per unit t) is *exactly* the §7.5 equation
for dr/dt; with B_m → Γ_l it gives the first-order part of dq/dt, and the
second-order part η² ρ v_k v_l E[g'(λ_k) g'(λ_l) Δ²] comes from
E[dΓ_k dΓ_l] with E[x_τ² | fields] = ρ_τ + O(1/N).  dv/dt follows from
E[g(λ_k) Δ].  We found no error in DYNAMICS §5 / docs/theory.md §7.5: the
equations as written there are the ones implemented; every Gaussian
integral is checked against Monte Carlo in tests/dynamics/test_dynamics.py and the
ODEs against SGD at several N (finite-size check).

Compact form used by the integrator (same equations, regrouped): for
each k define the K×K matrix A and the K×M matrix b::

    A_kk = Σ_{j≠k} v_j (Q_kj I3(k,j,j) − Q_jj I3(k,k,j))/det_kj − v_k I3(k,k,k)/Q_kk
           + Σ_n ṽ_n (T_nn I3(k,k,n) − R_kn I3(k,n,n))/det_kn
    A_kj = v_j (Q_kj I3(k,k,j) − Q_kk I3(k,j,j))/det_kj                    (j ≠ k)
    b_kn = δ^{-1/2} ṽ_n (Q_kk I3(k,n,n) − R_kn I3(k,k,n))/det_kn

and Ā = η diag(v) A, b̄ = η diag(v) b.  Then, per eigenvalue ρ,

    dr/dt = ρ Ā r + b̄ t̃,
    dq/dt = ρ (Ā q + (Ā q)ᵀ) + b̄ rᵀ + r b̄ᵀ + η² ρ (v vᵀ) ∘ E,
    E_kl  = uᵀ I4(k,l,·,·) u,   u = (v, −ṽ),
    dv/dt = η (I2(students, teachers) ṽ − I2(students, students) v).

Layout: private modules re-exported here (``_checks``, ``_options`` (:class:`DynamicsOptions`),
``_problem`` (:class:`SGDProblem`: the generator, its moments and the weights of a run),
``_problem_file`` (problem files, the generators a run builds), ``_integrals`` §7.1/§7.4,
``_odes`` §7.3–§7.5, ``_data`` (the SGD's ξ streams and labels), ``_kernel_cpu``/``_kernel_cuda``/
``_kernel_xp`` and ``_sgd`` §7.1, ``_checkpoint`` (the checkpoint: the SGD state saved on disk so
that a run resumes), ``_compare`` §7.7, ``_experiment`` §7, ``_finite_size``).  The data sources
(generator data and its Gaussian equivalent, §7.2) live in :mod:`getheory.equivalent`, shared with
ridge, and are re-exported here.  Report writing lives in the presentation layer
(:func:`getheory.reports.write_dynamics_report`, which also calls :func:`save_problem`;
``getheory dynamics`` deletes a finished run's checkpoint with :func:`remove_checkpoint`).  The
one thing this package writes on its own, during a run given a checkpoint folder, is the
checkpoint (``_checkpoint``).
"""

from ..equivalent import GaussianEquivalentData, GeneratorData
from ._checkpoint import remove_checkpoint
from ._compare import curve_summary, largest_gap
from ._data import NormalStream
from ._experiment import DynamicsResult, run_dynamics
from ._finite_size import FiniteSizeResult, finite_size_check
from ._integrals import gauss_I2, gauss_I3, gauss_I4, generalisation_error, integral_tables
from ._odes import ODEResult, _ODESystem, integrate_odes, spectral_projections  # noqa: F401 (tests use _ODESystem)
from ._options import DynamicsOptions
from ._problem import SGDProblem
from ._problem_file import (
    PROBLEM_KEYS,
    identity_generator,
    identity_moments,
    load_problem,
    random_generator,
    save_problem,
)
from ._sgd import SGDTrajectory, run_sgd

__all__ = [
    "PROBLEM_KEYS",
    "DynamicsOptions",
    "DynamicsResult",
    "FiniteSizeResult",
    "GaussianEquivalentData",
    "GeneratorData",
    "NormalStream",
    "ODEResult",
    "SGDProblem",
    "SGDTrajectory",
    "curve_summary",
    "finite_size_check",
    "gauss_I2",
    "gauss_I3",
    "gauss_I4",
    "generalisation_error",
    "identity_generator",
    "identity_moments",
    "integral_tables",
    "integrate_odes",
    "largest_gap",
    "load_problem",
    "random_generator",
    "remove_checkpoint",
    "run_dynamics",
    "run_sgd",
    "save_problem",
    "spectral_projections",
]
