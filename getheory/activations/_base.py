"""The :class:`Activation` object and the registry of the built-ins (THEORY §2, §3; docs/theory.md §7.1).

An activation is one object, as a ``scipy.stats`` distribution carries its pdf, cdf and
moments: its array function σ, its in-place fast path and mpmath form, and -- as methods a
built-in's class overrides -- its closed forms: the normalised Hermite coefficients
ĉ_k(s) = μ_k(s)/√k! (THEORY §3), the one-point moments E σ(sζ), E σ(sζ)², E σ'(sζ)
(THEORY §2) and the two-point kernel Ω_ij = Cov(σ(h_i), σ(h_j)) (THEORY §2).  A hook that
returns None means "no closed form": the coefficient functions then take the numerical
route (quadrature, the Mehler series) that serves every user callable.  An activation
that can also serve as the network's g of the learning dynamics carries that facet too
(:class:`getheory.activations._network.NetworkActivation`).

The registry (:data:`_REGISTRY`, filled by :mod:`getheory.activations._builtins`) is the
one list of the built-ins; :func:`get_activation` and :func:`get_network_activation` look
names up in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

#: the built-in activations by name, in the order of :data:`getheory.activations.ACTIVATIONS`
_REGISTRY: dict[str, Activation] = {}


def register(*activations: Activation) -> None:
    """Add built-in activations to the registry (done once, by :mod:`getheory.activations._builtins`)."""
    for act in activations:
        if act.name in _REGISTRY:
            raise ValueError(f"activation {act.name!r} is registered twice")
        _REGISTRY[act.name] = act


@dataclass(frozen=True, repr=False, eq=False)
class Activation:
    """A scalar non-linearity σ applied elementwise, and what is known about it in closed form.

    Attributes
    ----------
    name : str
        The built-in's name (:data:`getheory.activations.ACTIVATIONS`), otherwise the
        wrapped callable's ``__name__``.
    fn : callable
        ``fn(x)`` elementwise.  The built-ins work on NumPy and CuPy arrays
        (they dispatch through :func:`getheory.backend.backend_of`); a user
        callable must at least accept NumPy arrays of any shape.
    kink : bool
        True when σ is not smooth at 0 (sign, relu): quadratures split there
        (THEORY §3).  Only a kink *at 0* is handled specially.
    mp_fn : callable or None
        Optional mpmath version of σ (``mp_fn(mpf) -> mpf``) used by
        :func:`~getheory.activations.hermite_mu_mp`; without it σ is evaluated in float64 there.
    inplace_fn : callable or None
        Optional in-place form ``inplace_fn(h, bk)`` (h ← σ(h) on backend ``bk``),
        the samplers' fast path: no b × N temporary per batch.

    Notes
    -----
    A built-in is an instance of a subclass that overrides the closed-form hooks
    (:meth:`normalized_closed`, :meth:`moments_closed`, :meth:`omega_closed`; THEORY §2,
    §3).  They are used only for the registered objects themselves (same ``fn``), never
    for a user callable that happens to share a built-in's name.
    """

    name: str
    fn: Callable
    kink: bool = False
    mp_fn: Callable | None = field(default=None, compare=False, repr=False)
    inplace_fn: Callable | None = field(default=None, compare=False, repr=False)

    #: whether the hooks below give closed forms (a subclass that overrides them sets it)
    has_closed_forms: ClassVar[bool] = False

    def __call__(self, x):
        return self.fn(x)

    # one repr, equality and hash for every class of activation: those of the record's fields that
    # identify σ (name, fn, kink), so a built-in equals a plain Activation of the same function
    def __repr__(self) -> str:
        return f"Activation(name={self.name!r}, fn={self.fn!r}, kink={self.kink!r})"

    def __eq__(self, other):
        if not isinstance(other, Activation):
            return NotImplemented
        return (self.name, self.fn, self.kink) == (other.name, other.fn, other.kink)

    def __hash__(self):
        return hash((self.name, self.fn, self.kink))

    def apply_(self, h, bk) -> bool:
        """Overwrite ``h`` (an array of backend ``bk``) with σ(h), if σ has an in-place form.

        Returns False, leaving ``h`` untouched, when it has none.
        """
        if self.inplace_fn is None:
            return False
        self.inplace_fn(h, bk)
        return True

    @property
    def builtin(self) -> bool:
        """True for the built-in activations (closed forms available)."""
        return self.registered() is not None

    def registered(self) -> Activation | None:
        """The registry's object for σ: the built-in of the same name and the same ``fn``, or None."""
        b = _REGISTRY.get(self.name)
        return b if b is not None and b.fn is self.fn else None

    def closed(self) -> Activation | None:
        """The object whose closed forms hold for σ (its registered built-in, if that has any), or None."""
        b = self.registered()
        return b if b is not None and b.has_closed_forms else None

    # -- closed forms of the generator σ (THEORY §2, §3); None (the default): take the numerical route
    def normalized_closed(self, s, order: int):
        """ĉ_k(s) = μ_k(s)/√k! for k = 0..order at the scales ``s`` (shape (M,)): shape (M, order+1)."""

    def moments_closed(self, s):
        """{"mean": E σ(sζ), "second": E σ(sζ)², "mean_derivative": E σ'(sζ)} at the scales ``s``."""

    def omega_closed(self, C, rho, si, sj, xp):
        """Ω_ij = Cov(σ(h_i), σ(h_j)) from the covariances C_ij, correlations ρ_ij and the scales
        s_i (column ``si``) and s_j (row ``sj``), on the array namespace ``xp``."""


def get_activation(activation) -> Activation:
    """Return the :class:`Activation` for a name, an Activation, or a callable.

    Parameters
    ----------
    activation : str, Activation or callable
        A built-in name (case-insensitive, one of :data:`~getheory.activations.ACTIVATIONS`), an
        :class:`Activation` (returned unchanged), or any callable σ(x), which is
        wrapped with ``name = σ.__name__`` and ``kink=False`` (build an
        :class:`Activation` yourself to declare a kink at 0).

    Raises
    ------
    ValueError
        For an unknown name; the message lists the known ones.
    TypeError
        For anything that is neither a string nor callable.

    Examples
    --------
    A built-in's closed forms at the scales s (THEORY §2, §3): for sign, E σ(sζ) = 0,
    E σ(sζ)² = 1 and E σ'(sζ) = √(2/π)/s.

    >>> import numpy as np
    >>> from getheory import get_activation
    >>> sign = get_activation("sign")
    >>> sign.name, sign.kink
    ('sign', True)
    >>> {k: v.round(6).tolist() for k, v in sign.moments_closed(np.array([1.0, 2.0])).items()}
    {'mean': [0.0, 0.0], 'second': [1.0, 1.0], 'mean_derivative': [0.797885, 0.398942]}
    """
    if isinstance(activation, Activation):
        return activation
    names = ", ".join(_REGISTRY)
    if isinstance(activation, str):
        key = activation.strip().lower()
        if key not in _REGISTRY:
            raise ValueError(f"unknown activation {activation!r}: choose one of {names}, or pass a callable")
        return _REGISTRY[key]
    if callable(activation):
        name = getattr(activation, "__name__", None) or type(activation).__name__
        return Activation(str(name), activation, False)
    raise TypeError(
        f"activation must be a name ({names}), an Activation or a callable, not {type(activation).__name__}"
    )
