"""The facet of an activation that serves as the network's g of the learning dynamics (docs/theory.md §7).

The student φ(x) = Σ_k v_k g(λ_k), λ = W x/√N, and the teacher y = Σ_m ṽ_m g(ν_m),
ν = W̃ c/√D, share one activation g (docs/theory.md §7.1).  A built-in that can be that g
mixes :class:`NetworkActivation` into its class and so carries, in one place:

* g on arrays of any backend (:meth:`~NetworkActivation.g`: labels, held-out errors) and
  (g, g') as the array-API reference step computes them (:meth:`~NetworkActivation.g_and_gprime`);
* for the compiled SGD kernels (docs/theory.md §7.8) its integer ``kernel_code`` (the
  numba kernel's branch) and the C expressions ``cuda_g``, ``cuda_gprime`` from which
  the CUDA kernel's source is assembled;
* the Saad–Solla Gaussian integrals I2, I3, I4 (docs/theory.md §7.4) and the closed-form
  generalisation error (§7.1), where they exist (``has_integrals``): the ODEs need them.
  Without a closed form ε_g is a Monte Carlo estimate (:func:`getheory.dynamics.generalisation_error`).
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from ..backend import backend_of
from ._base import _REGISTRY

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)


class NetworkActivation:
    """Mixin of an :class:`~getheory.activations.Activation` that can be the network's g (docs/theory.md §7.1).

    Attributes
    ----------
    kernel_code : int
        The code of g inside the compiled SGD kernels (:mod:`getheory.dynamics._kernel_cpu`).
    cuda_g, cuda_gprime : str
        C expressions of g(z) and g'(z) in the double ``z``, for the CUDA kernel
        (:mod:`getheory.dynamics._kernel_cuda`).
    has_integrals : bool
        Whether I2, I3, I4 (docs/theory.md §7.4) have closed forms, so that the ODEs run.
    """

    kernel_code: ClassVar[int]
    cuda_g: ClassVar[str]
    cuda_gprime: ClassVar[str]
    has_integrals: ClassVar[bool] = False

    def g(self, z):
        """g(z) elementwise on the backend of ``z`` (labels, held-out errors; docs/theory.md §7.1)."""
        raise NotImplementedError

    def g_and_gprime(self, bk, z):
        """(g(z), g'(z)) elementwise on backend ``bk``, with the compiled kernels' arithmetic (§7.8)."""
        raise NotImplementedError

    def gauss_I2(self, C) -> float:
        """I2 = E g(u1) g(u2) for u ~ N(0, C), C 2×2 (docs/theory.md §7.4)."""
        raise NotImplementedError(f"g={self.name!r} has no closed-form Gaussian integrals")

    def gauss_I3(self, C) -> float:
        """I3 = E g'(u1) u2 g(u3) for u ~ N(0, C), C 3×3 (docs/theory.md §7.4)."""
        raise NotImplementedError(f"g={self.name!r} has no closed-form Gaussian integrals")

    def gauss_I4(self, C) -> float:
        """I4 = E g'(u1) g'(u2) g(u3) g(u4) for u ~ N(0, C), C 4×4 (docs/theory.md §7.4)."""
        raise NotImplementedError(f"g={self.name!r} has no closed-form Gaussian integrals")

    def integral_tables(self, C, K):
        """(I2, I3, I4) over the fields of the covariance C (F×F), the first K students (§7.4)."""
        raise NotImplementedError(f"g={self.name!r} has no closed-form Gaussian integrals")

    def stein_terms(self, C, I3, u, K):
        """(J, h) of the Stein form of the ODEs (docs/theory.md §7.5): J_ka = E[g'(λ_k) g'(u_a)]
        (K×F) and h_k = Σ_a u_a E[g''(λ_k) g(u_a)] (K,), for the field covariance C."""
        raise NotImplementedError(f"g={self.name!r} has no closed-form Gaussian integrals")

    def generalisation_error(self, Q, R, T, v, vt) -> float | None:
        """ε_g = ½ E(φ − y)² in closed form from the order parameters (§7.1), or None if there is none."""
        return None


def _clip1(x):
    return np.clip(x, -1.0, 1.0)


class Erf2Network(NetworkActivation):
    """g(z) = erf(z/√2), g'(z) = √(2/π) e^{−z²/2}: the paper's g, with every integral in closed form."""

    kernel_code = 0
    cuda_g = "erf(z * 0.70710678118654752440)"
    cuda_gprime = "0.79788456080286535588 * exp(-0.5 * z * z)"
    has_integrals = True

    def g(self, z):
        bk = backend_of(z)
        return bk.erf(z / math.sqrt(2))

    def g_and_gprime(self, bk, z):
        return bk.erf(z * _INV_SQRT2), _SQRT_2_OVER_PI * bk.xp.exp(-0.5 * z * z)

    def gauss_I2(self, C):
        # (2/π) arcsin(C12/√((1+C11)(1+C22)))
        return float(2 / math.pi * math.asin(_clip1(C[0, 1] / math.sqrt((1 + C[0, 0]) * (1 + C[1, 1])))))

    def gauss_I3(self, C):
        # (2/π)(C23(1+C11) − C12 C13)/((1+C11)√Λ3), Λ3 = (1+C11)(1+C33) − C13²
        d1 = 1 + C[0, 0]
        lam3 = d1 * (1 + C[2, 2]) - C[0, 2] ** 2
        return float(2 / math.pi * (C[1, 2] * d1 - C[0, 1] * C[0, 2]) / (d1 * math.sqrt(lam3)))

    def gauss_I4(self, C):
        # (4/π²) Λ4^{-1/2} arcsin(Λ0/√(Λ1Λ2)), Λ0..Λ4 of docs/theory.md §7.4
        d1, d2 = 1 + C[0, 0], 1 + C[1, 1]
        lam4 = d1 * d2 - C[0, 1] ** 2
        lam0 = (lam4 * C[2, 3] - C[1, 2] * C[1, 3] * d1 - C[0, 2] * C[0, 3] * d2
                + C[0, 1] * C[0, 2] * C[1, 3] + C[0, 1] * C[0, 3] * C[1, 2])
        lam1 = lam4 * (1 + C[2, 2]) - C[1, 2] ** 2 * d1 - C[0, 2] ** 2 * d2 + 2 * C[0, 1] * C[0, 2] * C[1, 2]
        lam2 = lam4 * (1 + C[3, 3]) - C[1, 3] ** 2 * d1 - C[0, 3] ** 2 * d2 + 2 * C[0, 1] * C[0, 3] * C[1, 3]
        return float(4 / math.pi**2 / math.sqrt(lam4) * math.asin(_clip1(lam0 / math.sqrt(lam1 * lam2))))

    def integral_tables(self, C, K):
        d = 1.0 + np.diag(C)
        I2 = 2 / np.pi * np.arcsin(_clip1(C / np.sqrt(np.outer(d, d))))
        # I3[a,b,c] = (2/π)(C_bc(1+C_aa) − C_ab C_ac) / ((1+C_aa) √((1+C_aa)(1+C_cc) − C_ac²))
        lam3 = np.outer(d, d) - C**2
        num = C[None, :, :] * d[:, None, None] - C[:, :, None] * C[:, None, :]
        I3 = 2 / np.pi * num / (d[:, None, None] * np.sqrt(lam3)[:, None, :])
        return I2, I3, _erf2_I4_table(C, K, d)

    def stein_terms(self, C, I3, u, K):
        # g'' = −z g'(z), so E[g''(u_k) g(u_a)] = −I3(k,k,a); E g'(u_k) g'(u_a) = (2/π)/√((1+C_kk)(1+C_aa) − C_ka²)
        d = 1.0 + np.diag(C)
        J = 2 / np.pi / np.sqrt(np.outer(d[:K], d) - C[:K] ** 2)
        H = -I3[np.arange(K), np.arange(K), :]
        return J, H @ u

    def generalisation_error(self, Q, R, T, v, vt):
        # the arcsine formula of docs/theory.md §7.1
        dq = np.sqrt(1 + np.diag(Q))
        dt = np.sqrt(1 + np.diag(T))
        sq = np.arcsin(_clip1(Q / np.outer(dq, dq)))
        st = np.arcsin(_clip1(T / np.outer(dt, dt)))
        sr = np.arcsin(_clip1(R / np.outer(dq, dt)))
        return float((v @ sq @ v + vt @ st @ vt - 2 * v @ sr @ vt) / np.pi)


def _erf2_I4_table(C, K, d):
    """I4[a,b,c,d] of erf2 for students a, b (fields 1, 2 of §7.4) and any fields c, d (3, 4)."""
    Cs = C[:K]
    Cab = C[:K, :K][:, :, None, None]
    Cac = Cs[:, None, :, None]
    Cad = Cs[:, None, None, :]
    Cbc = Cs[None, :, :, None]
    Cbd = Cs[None, :, None, :]
    Ccd = C[None, None, :, :]
    da = d[:K][:, None, None, None]
    db = d[:K][None, :, None, None]
    dc = d[None, None, :, None]
    dd = d[None, None, None, :]
    lam4 = da * db - Cab**2
    lam0 = lam4 * Ccd - Cbc * Cbd * da - Cac * Cad * db + Cab * Cac * Cbd + Cab * Cad * Cbc
    lam1 = lam4 * dc - Cbc**2 * da - Cac**2 * db + 2 * Cab * Cac * Cbc
    lam2 = lam4 * dd - Cbd**2 * da - Cad**2 * db + 2 * Cab * Cad * Cbd
    return 4 / np.pi**2 / np.sqrt(lam4) * np.arcsin(_clip1(lam0 / np.sqrt(lam1 * lam2)))


class LinearNetwork(NetworkActivation):
    """g(z) = z, g' = 1: every Gaussian integral is a covariance (docs/theory.md §7.4)."""

    kernel_code = 1
    cuda_g = "z"
    cuda_gprime = "1.0"
    has_integrals = True

    def g(self, z):
        return z

    def g_and_gprime(self, bk, z):
        return z, bk.xp.ones_like(z)

    def gauss_I2(self, C):
        return float(C[0, 1])

    def gauss_I3(self, C):
        return float(C[1, 2])

    def gauss_I4(self, C):
        return float(C[2, 3])

    def integral_tables(self, C, K):
        F = C.shape[0]
        I2 = C.copy()
        I3 = np.broadcast_to(C[None, :, :], (F, F, F)).copy()
        I4 = np.broadcast_to(C[None, None, :, :], (K, K, F, F)).copy()
        return I2, I3, I4

    def stein_terms(self, C, I3, u, K):
        return np.ones((K, C.shape[0])), np.zeros(K)

    def generalisation_error(self, Q, R, T, v, vt):
        return float(0.5 * (v @ Q @ v + vt @ T @ vt - 2 * v @ R @ vt))


class ReluNetwork(NetworkActivation):
    """g(z) = max(z, 0), g'(z) = 1[z > 0]: SGD runs, the ODEs do not (no closed-form I3, I4 here)."""

    kernel_code = 2
    cuda_g = "z > 0.0 ? z : 0.0"
    cuda_gprime = "z > 0.0 ? 1.0 : 0.0"

    def g(self, z):
        return backend_of(z).xp.maximum(z, 0)

    def g_and_gprime(self, bk, z):
        xp = bk.xp
        pos = z > 0.0
        return xp.where(pos, z, xp.zeros_like(z)), xp.astype(pos, z.dtype)


def network_activations() -> tuple:
    """The built-ins that can serve as the network's g, in the order of their kernel codes."""
    nets = [a for a in _REGISTRY.values() if isinstance(a, NetworkActivation)]
    return tuple(sorted(nets, key=lambda a: a.kernel_code))


def get_network_activation(g, *, ode: bool = False) -> NetworkActivation:
    """The built-in activation named ``g`` (case-insensitive) as the network's g (docs/theory.md §7.1).

    Raises
    ------
    ValueError
        For a name that is no network activation (the message lists them), and with
        ``ode=True`` for one without closed-form Gaussian integrals (docs/theory.md §7.4).
    """
    nets = network_activations()
    by_name = {a.name: a for a in nets}
    if not isinstance(g, str) or g.lower() not in by_name:
        raise ValueError(f"unknown network activation g={g!r}: choose one of {', '.join(by_name)}")
    act = by_name[g.lower()]
    if ode and not act.has_integrals:
        ode_names = [a.name for a in nets if a.has_integrals]
        raise ValueError(
            f"the ODEs need closed-form Gaussian integrals (docs/theory.md §7.4), available for "
            f"{' and '.join(ode_names)} only, not g={act.name!r}; SGD runs with {act.name}, the ODEs do not"
        )
    return act


def network_activation_of_code(code: int) -> NetworkActivation:
    """The network activation whose ``kernel_code`` is ``code`` (the kernels' argument)."""
    for act in network_activations():
        if act.kernel_code == code:
            return act
    raise ValueError(f"no network activation has kernel code {code!r}")
