"""Activation functions σ and their Gaussian statistics (THEORY §2, §3, §5(b); docs/theory.md §7.1).

An activation is one object (:class:`Activation`), as a ``scipy.stats`` distribution
carries its pdf, cdf and moments: its array function σ and in-place fast path, its
mpmath form, its closed forms where it has them, and -- for those that can be the
network's g of the learning dynamics -- g, g' and the Saad–Solla integrals.  One
registry lists the built-ins (:data:`ACTIVATIONS`, :func:`get_activation`;
:data:`NETWORK_ACTIVATIONS`, :func:`get_network_activation`,
:func:`network_activation_of_code`).  For σ acting on a centred Gaussian pre-activation
h = s ζ, ζ ~ N(0, 1), the functions here give:

* the Hermite coefficients μ_k(s) = E[σ(sζ) He_k(ζ)] (THEORY §3), in closed form where
  one exists, otherwise by quadrature or by mpmath at any precision
  (:func:`hermite_mu`, :func:`hermite_mu_normalized`, :func:`hermite_mu_mp`,
  :func:`hermite_coefficients`);
* the one-point moments E σ(s_i ζ), E σ(s_i ζ)², E σ'(s_i ζ) over the row
  scales s_i of a generator (:func:`moments_at_scales`, THEORY §2);
* the two-point kernel Ω_ij = Cov(σ(h_i), σ(h_j)) of a bivariate normal pair
  (:func:`omega_kernel`, THEORY §2): closed forms for the built-ins that have them,
  the Mehler series otherwise;
* the unit-scale chaos weights c_k = μ_k(1)²/k! from which the default bound
  matrices M1, M2 of THEORY §5(b) are built (:func:`chaos_coefficients`).

Layout (private modules, re-exported here): ``_base`` (the :class:`Activation` object and
the registry), ``_builtins`` (the built-ins, one entry each, with their closed forms),
``_network`` (the network-g facet: kernel code, CUDA snippets, Saad–Solla integrals,
docs/theory.md §7), ``_quadrature`` (the panel rule), ``_coefficients`` (μ_k, moments,
chaos weights, mpmath), ``_omega`` (Ω), ``_checks`` (input checks).
"""

from ._base import Activation, get_activation
from ._builtins import ACTIVATIONS
from ._coefficients import (
    chaos_coefficients,
    hermite_coefficients,
    hermite_mu,
    hermite_mu_mp,
    hermite_mu_normalized,
    moments_at_scales,
)
from ._network import NetworkActivation, get_network_activation, network_activation_of_code, network_activations
from ._omega import MehlerTruncationWarning, omega_kernel

NETWORK_ACTIVATIONS: tuple[str, ...] = tuple(a.name for a in network_activations())
"""Names of the built-ins that can serve as the network's g (docs/theory.md §7.1), in kernel-code order."""

__all__ = [
    "ACTIVATIONS",
    "NETWORK_ACTIVATIONS",
    "Activation",
    "MehlerTruncationWarning",
    "NetworkActivation",
    "chaos_coefficients",
    "get_activation",
    "get_network_activation",
    "hermite_coefficients",
    "hermite_mu",
    "hermite_mu_mp",
    "hermite_mu_normalized",
    "moments_at_scales",
    "network_activation_of_code",
    "omega_kernel",
]
