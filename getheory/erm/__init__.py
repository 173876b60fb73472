"""Full-batch empirical risk minimisation on generator features: the proportional-limit theory
for convex losses (docs/theory.md §10).

``erm_theory(Omega, Phi, theta, loss=..., alphas=..., lambdas=...)`` gives the learning curves
of ŵ = argmin_w Σ_μ ℓ(y_μ, w·x_μ/√N) + (λ/2)‖w‖² for the square, logistic and hinge losses
on Gaussian(-equivalent) inputs, after one eigendecomposition of Ω; ``erm_curves(generator,
ErmOptions(...))`` measures them on generator data and its Gaussian equivalent (certified fits).

Private modules, re-exported here: ``_losses`` (each loss with its proximal map), ``_channel`` and
``_theory`` (the fixed point), ``_fit`` (the fits and their certificates), ``_data`` (training and
test sets), ``_experiment`` (curves over α, λ and seeds), ``_checkpoint`` (finished seeds saved on
disk, so that an interrupted run resumes), ``_validate`` (the verdict on Gaussian inputs, the paired
gap's), ``_null`` (a Gaussian twin: the paired verdict's null), ``_finite_size`` (the gap over N).
"""

from ._checkpoint import FINITE_SIZE_FOLDER, ErmCheckpoint, checkpoint_exists, remove_checkpoint
from ._data import ErmLabels, SampleSet, draw_set
from ._experiment import ErmOptions, ErmResult, erm_curves
from ._finite_size import ErmFiniteSize, erm_finite_size
from ._fit import FIT_TOL, ErmFit, fit_erm, hinge_duality_gap
from ._losses import LOSSES, Loss, get_loss
from ._null import gaussian_twin
from ._theory import ERM_TEACHERS, erm_fixed_point, erm_theory
from ._validate import ErmValidation, PairedGap, paired_gap, validate_erm

__all__ = [
    "ERM_TEACHERS",
    "FINITE_SIZE_FOLDER",
    "FIT_TOL",
    "LOSSES",
    "ErmCheckpoint",
    "ErmFiniteSize",
    "ErmFit",
    "ErmLabels",
    "ErmOptions",
    "ErmResult",
    "ErmValidation",
    "Loss",
    "PairedGap",
    "SampleSet",
    "checkpoint_exists",
    "draw_set",
    "erm_curves",
    "erm_finite_size",
    "erm_fixed_point",
    "erm_theory",
    "fit_erm",
    "gaussian_twin",
    "get_loss",
    "hinge_duality_gap",
    "paired_gap",
    "remove_checkpoint",
    "validate_erm",
]
