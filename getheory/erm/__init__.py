"""Full-batch empirical risk minimisation on generator features: the proportional-limit theory
for convex losses (docs/theory.md §10).

``erm_theory(Omega, Phi, theta, loss=..., alphas=..., lambdas=...)`` gives the learning curves
of ŵ = argmin_w Σ_μ ℓ(y_μ, w·x_μ/√N) + (λ/2)‖w‖² for the square, logistic and hinge losses
on Gaussian(-equivalent) inputs, after one eigendecomposition of Ω.
"""

from ._losses import LOSSES, Loss, get_loss
from ._theory import ERM_TEACHERS, erm_fixed_point, erm_theory

__all__ = ["ERM_TEACHERS", "LOSSES", "Loss", "erm_fixed_point", "erm_theory", "get_loss"]
