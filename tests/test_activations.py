"""Tests for getheory.activations (THEORY §2, §3, §5(b)).

Reference values come from three independent routes: the closed forms, the
panel quadrature (method="quad") and mpmath at 30 digits; the two-point kernel
is checked against an independent bivariate quadrature written here.
Tolerances are stated next to each assertion with the reason.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from scipy.special import roots_hermitenorm

from getheory.activations import (
    ACTIVATIONS,
    NETWORK_ACTIVATIONS,
    Activation,
    MehlerTruncationWarning,
    chaos_coefficients,
    get_activation,
    get_network_activation,
    hermite_coefficients,
    hermite_mu,
    hermite_mu_mp,
    hermite_mu_normalized,
    moments_at_scales,
    network_activation_of_code,
    omega_kernel,
)
from getheory.backend import available_backends, get_backend

CLOSED = ("sign", "erf2", "erf", "relu", "linear")
SQ2PI = math.sqrt(2 * math.pi)


def wrapped(name: str) -> Activation:
    """The built-in σ as a *user* activation: same function, no closed forms."""
    act = get_activation(name)
    return Activation("user_" + name, lambda x, f=act.fn: f(x), act.kink)


def double_factorial(n: int) -> int:
    return math.prod(range(n, 0, -2)) if n > 0 else 1


def he0(n: int) -> int:
    """He_n(0) exactly: (-1)^m (2m-1)!! for n = 2m, 0 for odd n."""
    return 0 if n % 2 else (-1) ** (n // 2) * double_factorial(n - 1)


# ---------------------------------------------------------------------------
# Registry and the Activation record
# ---------------------------------------------------------------------------
def test_registry_names_and_lookup():
    assert ACTIVATIONS == ("sign", "erf2", "erf", "tanh", "relu", "linear", "softsign")
    for name in ACTIVATIONS:
        act = get_activation(name)
        assert act.name == name and act.builtin
        assert get_activation(act) is act
    assert get_activation(" TanH ") is get_activation("tanh")
    assert get_activation("sign").kink and get_activation("relu").kink
    assert not any(get_activation(n).kink for n in ("erf2", "erf", "tanh", "linear"))


def test_user_callable_is_wrapped():
    def my_sigma(x):
        return np.tanh(x)

    act = get_activation(my_sigma)
    assert act.name == "my_sigma" and act.fn is my_sigma and not act.kink and not act.builtin
    assert get_activation(lambda x: x).name == "<lambda>"
    # a user function under a built-in's name does not inherit its closed forms
    impostor = Activation("sign", lambda x: np.tanh(x))
    assert not impostor.builtin
    np.testing.assert_allclose(hermite_mu(impostor, 5), hermite_mu("tanh", 5), atol=1e-15)


def test_each_builtin_is_one_registered_object_carrying_its_closed_forms():
    # get_activation(name) is the registry's object; its class carries the closed forms (THEORY §2, §3),
    # which hold for an Activation of the same name and function, not for another function under that name
    for name in ACTIVATIONS:
        act = get_activation(name)
        assert act.registered() is act
        assert (act.closed() is act) == (name in CLOSED) == act.has_closed_forms
    relu = get_activation("relu")
    same_fn = Activation("relu", relu.fn, True)
    assert same_fn.builtin and same_fn.closed() is relu and same_fn == relu and hash(same_fn) == hash(relu)
    np.testing.assert_array_equal(hermite_mu(same_fn, 6, 1.3), hermite_mu("relu", 6, 1.3))
    assert Activation("relu", lambda x: np.maximum(x, 0), True).closed() is None
    assert repr(relu).startswith("Activation(name='relu', fn=<function")


def test_network_activations_carry_g_the_kernel_code_and_their_integrals():
    # the activations that can be the network's g (docs/theory.md §7.1) are the same registered objects,
    # numbered by their kernel code; g, g' agree between the labels' and the kernels' arithmetic (to one
    # rounding, 1e-15) and g' is the derivative of g (central difference, h = 1e-6: 1e-9)
    assert NETWORK_ACTIVATIONS == ("erf2", "linear", "relu")
    bk = get_backend("numpy")
    z = np.linspace(-3.05, 2.95, 13)  # no node at relu's kink
    for code, name in enumerate(NETWORK_ACTIVATIONS):
        g = get_network_activation(name)
        assert g is get_activation(name) and g.kernel_code == code and network_activation_of_code(code) is g
        gz, gp = g.g_and_gprime(bk, z)
        np.testing.assert_allclose(g.g(z), gz, rtol=0, atol=1e-15)
        np.testing.assert_allclose(g.g(z), get_activation(name)(z), rtol=0, atol=1e-15)  # g is σ
        np.testing.assert_allclose((g.g(z + 1e-6) - g.g(z - 1e-6)) / 2e-6, gp, rtol=0, atol=1e-9)
    assert [g for g in NETWORK_ACTIVATIONS if get_network_activation(g).has_integrals] == ["erf2", "linear"]
    assert get_network_activation("ReLU") is get_activation("relu")
    with pytest.raises(ValueError, match="choose one of erf2, linear, relu"):
        get_network_activation("tanh")
    with pytest.raises(ValueError, match="closed-form Gaussian integrals .* SGD runs with relu"):
        get_network_activation("relu", ode=True)
    with pytest.raises(ValueError, match="kernel code"):
        network_activation_of_code(7)


def test_unknown_name_lists_known_ones():
    with pytest.raises(ValueError) as info:
        get_activation("softplus")
    for name in ACTIVATIONS:
        assert name in str(info.value)


@pytest.mark.parametrize("bad", [3.0, None, [1, 2]])
def test_non_callable_is_type_error(bad):
    with pytest.raises(TypeError, match="callable"):
        get_activation(bad)


def test_builtin_functions_values_and_dtype():
    x = np.linspace(-3, 3, 13)
    from scipy.special import erf

    # exact elementwise definitions: equality up to one rounding (1e-15)
    np.testing.assert_array_equal(get_activation("sign")(x), np.sign(x))
    np.testing.assert_allclose(get_activation("erf2")(x), erf(x / math.sqrt(2)), rtol=0, atol=1e-15)
    np.testing.assert_allclose(get_activation("erf")(x), erf(x), rtol=0, atol=1e-15)
    np.testing.assert_array_equal(get_activation("relu")(x), np.maximum(x, 0))
    np.testing.assert_array_equal(get_activation("linear")(x), x)
    np.testing.assert_array_equal(get_activation("tanh")(x), np.tanh(x))
    for name in ACTIVATIONS:
        y = get_activation(name)(x.astype(np.float32))
        assert y.dtype == np.float32 and y.shape == x.shape
        assert np.ndim(get_activation(name)(0.5)) == 0


@pytest.mark.skipif("cupy" not in available_backends(), reason="needs CuPy and a GPU")
def test_builtin_functions_on_cupy():
    import cupy

    x = np.linspace(-3, 3, 13)
    for name in ACTIVATIONS:
        y = get_activation(name)(cupy.asarray(x))
        assert isinstance(y, cupy.ndarray)
        # the CuPy special functions agree with SciPy's to a few ulps
        np.testing.assert_allclose(y.get(), get_activation(name)(x), rtol=0, atol=1e-14)


# ---------------------------------------------------------------------------
# Hermite coefficients: closed forms vs quadrature vs mpmath
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", CLOSED)
@pytest.mark.parametrize("scale", [0.3, 1.0, 2.5])
def test_closed_forms_match_quadrature(name, scale):
    # normalised coefficients μ_k/√k! are O(1); the panel rule reaches ~1e-15 on them
    # (measured: ≤ 2e-15 up to order 400), so 1e-13 leaves two digits of margin.
    K = 60
    closed = hermite_mu_normalized(name, K, scale, method="closed")
    quad = hermite_mu_normalized(name, K, scale, method="quad")
    np.testing.assert_allclose(quad, closed, rtol=0, atol=1e-13)


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_float_methods_match_mpmath(name, scale):
    # mpmath at 30 digits is exact at float64 resolution; the float64 routes lose at most
    # a few ulps of the O(1) normalised coefficients per order: 1e-14 absolute.
    K = 6
    ref = np.array(
        [float(m / mp.sqrt(mp.factorial(k))) for k, m in enumerate(hermite_mu_mp(name, K, scale, dps=30))]
    )
    np.testing.assert_allclose(hermite_mu_normalized(name, K, scale), ref, rtol=0, atol=1e-14)
    np.testing.assert_allclose(
        hermite_mu_normalized(name, K, scale, method="mpmath"), ref, rtol=0, atol=1e-16
    )


def test_sign_closed_form_all_orders():
    # μ_{2m+1} = √(2/π) (-1)^m (2m-1)!!, μ_{2m} = 0, for every s > 0 (THEORY §3).
    # The exact integers are up to 19!! ≈ 6.5e8; relative 1e-14 is a few ulps.
    K = 21
    exact = np.array([math.sqrt(2 / math.pi) * he0(k - 1) if k % 2 else 0.0 for k in range(K + 1)])
    for s in (0.1, 1.0, 10.0):
        np.testing.assert_allclose(hermite_mu("sign", K, s), exact, rtol=1e-14, atol=0)
        # quadrature errs by ~1e-15 on μ_k/√k!, i.e. by ~1e-15·√k! on μ_k
        err = np.abs(hermite_mu("sign", K, s, method="quad") - exact)
        assert np.all(err <= 1e-14 * np.array([math.sqrt(math.factorial(k)) for k in range(K + 1)]))
    assert np.all(hermite_mu("sign", K, 0.0) == 0)  # sign(0·ζ) = 0


def test_relu_closed_form_all_orders():
    # μ_0 = s/√(2π), μ_1 = s/2, μ_k = s φ(0) He_{k-2}(0) (k ≥ 2): μ_2 = s/√(2π), odd k ≥ 3 vanish.
    s, K = 1.7, 20
    exact = np.array([s / SQ2PI, s / 2] + [s / SQ2PI * he0(k - 2) for k in range(2, K + 1)])
    mu = hermite_mu("relu", K, s)
    np.testing.assert_allclose(mu, exact, rtol=1e-14, atol=0)
    assert mu[2] == pytest.approx(s / SQ2PI, rel=1e-15)
    err = np.abs(hermite_mu("relu", K, s, method="quad") - exact)  # ~1e-15·√k!, as for sign
    assert np.all(err <= 1e-14 * np.array([math.sqrt(math.factorial(k)) for k in range(K + 1)]))


def test_erf_closed_forms_and_linear():
    # erf(sζ/√2): μ1 = s √(2/π)/√(1+s²); erf(x) = erf2(√2 x). Closed values, 1e-15 relative.
    for s in (0.4, 1.0, 3.0):
        assert hermite_mu("erf2", 1, s)[1] == pytest.approx(s * math.sqrt(2 / math.pi) / math.sqrt(1 + s * s), rel=1e-15)
        np.testing.assert_allclose(hermite_mu("erf", 9, s), hermite_mu("erf2", 9, math.sqrt(2) * s), rtol=1e-15)
    np.testing.assert_array_equal(hermite_mu("linear", 4, 2.5), [0, 2.5, 0, 0, 0])


def test_theory_table_at_unit_scale():
    # THEORY §3 table, exact entries to 1e-15 (one rounding); tanh is quoted to 4 digits there.
    table = {
        "sign": (0.0, math.sqrt(2 / math.pi), 1.0, 1 - 2 / math.pi),
        "erf2": (0.0, 1 / math.sqrt(math.pi), 1 / 3, 1 / 3 - 1 / math.pi),
        "relu": (1 / SQ2PI, 0.5, 0.5, 0.25 - 1 / (2 * math.pi)),
    }
    for name, (mu0, mu1, second, mustar2) in table.items():
        got0, got1, gots = hermite_coefficients(name)
        assert got0 == pytest.approx(mu0, abs=1e-15)
        assert got1 == pytest.approx(mu1, rel=1e-15)
        assert gots**2 == pytest.approx(mustar2, rel=1e-14)
        assert moments_at_scales(name, 1.0)["second"] == pytest.approx(second, rel=1e-15)
    t0, t1, ts = hermite_coefficients("tanh")
    assert abs(t0) < 1e-15
    assert t1 == pytest.approx(0.6057, abs=5e-5)
    assert moments_at_scales("tanh", 1.0)["second"] == pytest.approx(0.3943, abs=5e-5)
    assert ts**2 == pytest.approx(0.0274, abs=5e-5)
    # erf(x) without the 1/√2: μ1 = 2/√(3π)
    assert hermite_coefficients("erf")[1] == pytest.approx(2 / math.sqrt(3 * math.pi), rel=1e-15)
    # tanh to full float precision against mpmath (30 digits): 1e-15
    mu1_mp = float(hermite_mu_mp("tanh", 1, 1.0)[1])
    assert t1 == pytest.approx(mu1_mp, abs=1e-15)


@pytest.mark.parametrize("name", ["erf2", "erf", "tanh"])
@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0])
def test_parseval_smooth(name, scale):
    # Σ_k μ_k²/k! = E σ(sζ)², E σ² from mpmath (independent of the coefficients).
    # At K = 400 the tail is < 1e-13 for all three (slowest: erf(2x), ĉ_k² ∼ (8/9)^k k^{-3/2},
    # and tanh(2x), |ĉ_k| ∼ exp(-(π/4)√(2k)) up to a power of k); float summation adds
    # ~1e-15: check 1e-12 relative.
    K = 400
    c = hermite_mu_normalized(name, K, scale)
    sig = get_activation(name).mp_fn
    with mp.workdps(30):
        second = float(mp.quad(lambda x: sig(scale * x) ** 2 * mp.npdf(x), [-mp.inf, 0, mp.inf]))
    assert np.sum(c**2) == pytest.approx(second, rel=1e-12)


def test_high_order_does_not_overflow():
    # normalised coefficients stay finite at any order and still satisfy Parseval (1e-12, as above)
    c = hermite_mu_normalized("tanh", 500, 1.3)
    assert np.all(np.isfinite(c))
    assert np.sum(c**2) == pytest.approx(float(moments_at_scales("tanh", 1.3)["second"]), rel=1e-12)
    mu = hermite_mu("sign", 171)
    assert np.all(np.isfinite(mu))


def test_mpmath_user_callable_is_float_accurate():
    # a callable without mp_fn is evaluated in float64 inside mpmath: ~1e-16 relative
    ref = hermite_mu_normalized("tanh", 3, 0.8, method="mpmath")
    got = hermite_mu_normalized(lambda x: np.tanh(x), 3, 0.8, method="mpmath")
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-15)


# ---------------------------------------------------------------------------
# One-point moments
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", CLOSED)
def test_moments_closed_vs_quadrature(name):
    # closed forms vs the quadrature path of the same σ wrapped as a user callable; both
    # are at the 1e-15 level on O(1) quantities, so 1e-13.
    s = np.array([0.3, 1.0, 2.5, 0.0])
    closed = moments_at_scales(name, s)
    quad = moments_at_scales(wrapped(name), s)
    for key in ("mean", "second", "variance"):
        np.testing.assert_allclose(quad[key], closed[key], rtol=0, atol=1e-13, err_msg=key)
    # sign's derivative at s = 0 is +inf (2δ); a finite difference cannot match it
    sl = slice(0, 3) if name == "sign" else slice(None)
    np.testing.assert_allclose(quad["mean_derivative"][sl], closed["mean_derivative"][sl], rtol=1e-9, atol=0)


def test_moments_formulas():
    s = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(moments_at_scales("sign", s)["mean_derivative"], math.sqrt(2 / math.pi) / s, rtol=1e-15)
    m = moments_at_scales("erf2", s)
    np.testing.assert_allclose(m["second"], 2 / math.pi * np.arcsin(s**2 / (1 + s**2)), rtol=1e-15)
    # Stein (THEORY §2): E σ'(sζ) = μ1(s)/s; tanh' = 1 − tanh², checked with mpmath (30 digits)
    for sv in s:
        with mp.workdps(30):
            d = float(mp.quad(lambda x: (1 - mp.tanh(sv * x) ** 2) * mp.npdf(x), [-mp.inf, 0, mp.inf]))
        assert moments_at_scales("tanh", sv)["mean_derivative"] == pytest.approx(d, rel=1e-14)
    # erf(x): E erf'(sζ) = (2/√π)/√(1+2s²)
    np.testing.assert_allclose(
        moments_at_scales("erf", s)["mean_derivative"], 2 / math.sqrt(math.pi) / np.sqrt(1 + 2 * s**2), rtol=1e-15
    )
    # at s = 0: E σ'(0) = σ'(0); central difference with h = 1e-6 is exact to ~1e-12 for tanh
    assert moments_at_scales("tanh", 0.0)["mean_derivative"] == pytest.approx(1.0, abs=1e-9)


def test_moments_shapes_and_types():
    s = np.linspace(0.1, 2, 6).reshape(2, 3)
    for name in ("sign", "tanh"):
        m = moments_at_scales(name, s)
        assert set(m) == {"mean", "second", "mean_derivative", "variance"}
        assert all(isinstance(v, np.ndarray) and v.shape == (2, 3) for v in m.values())
    assert moments_at_scales("relu", 1.5)["mean"].shape == ()
    # vectorised = scalar loop (same rule, same floats up to BLAS summation order)
    vec = moments_at_scales("tanh", s.ravel())["second"]
    loop = [float(moments_at_scales("tanh", v)["second"]) for v in s.ravel()]
    np.testing.assert_allclose(vec, loop, rtol=1e-15)


# ---------------------------------------------------------------------------
# The two-point kernel Ω
# ---------------------------------------------------------------------------
def gauss_hermite_2d(act: Activation, rho: float, si: float, sj: float, n: int = 160) -> float:
    """The same covariance by product Gauss–Hermite (roots_hermitenorm), smooth σ only."""
    x, w = roots_hermitenorm(n)
    w = w / SQ2PI
    Z, E = np.meshgrid(x, x, indexing="ij")
    W = np.outer(w, w)
    fi = act(si * Z)
    fj = act(sj * (rho * Z + math.sqrt(1 - rho * rho) * E))
    return float(np.sum(W * fi * fj) - np.sum(W * fi) * np.sum(W * fj))


def _kernel_1x1(act, rho, si, sj, **kw):
    C = np.array([[rho * si * sj]])
    return float(omega_kernel(act, C, np.array([si]), np.array([sj]), **kw)[0, 0])


@pytest.mark.parametrize("name", ["erf2", "erf", "tanh"])
def test_kernel_matches_gauss_hermite_2d(name):
    # THEORY §2/§3 suggest product Gauss–Hermite; for smooth σ at s ≤ 1 it converges to
    # ~1e-14 with 160 nodes (it degrades for steep σ such as tanh(2x), hence the GL reference
    # above).  Unequal scales, both signs of ρ: 1e-12 absolute.
    act = get_activation(name)
    for rho, si, sj in [(0.3, 1.0, 0.6), (-0.7, 0.4, 0.9), (0.95, 0.8, 0.8)]:
        got = _kernel_1x1(act, rho, si, sj, max_order=400)
        assert got == pytest.approx(gauss_hermite_2d(act, rho, si, sj), abs=1e-12)


def _random_block(N=40, D=60, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((N, D)) * rng.uniform(0.5, 2.0, size=(N, 1))  # unequal row scales
    C = (A / math.sqrt(D)) @ (A / math.sqrt(D)).T
    s = np.linalg.norm(A, axis=1) / math.sqrt(D)  # computed apart from C: ρ_ii = 1 ± rounding
    return C, s


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_kernel_diagonal_is_variance(name):
    # Ω_ii = Var σ(s_i ζ); ρ_ii = 1 only up to rounding, which the snapping to ±1 removes.
    # Both sides are closed forms or the same 1-D rule: 1e-14 absolute.
    C, s = _random_block()
    Om = omega_kernel(name, C, s, s)
    np.testing.assert_allclose(np.diag(Om), moments_at_scales(name, s)["variance"], rtol=0, atol=1e-14)
    np.testing.assert_allclose(Om, Om.T, rtol=0, atol=1e-15)
    # rectangular blocks agree with the full matrix; the Mehler order (tanh) depends on the
    # block's largest |ρ|, so the two truncations differ within the 1e-12 tolerance
    np.testing.assert_allclose(omega_kernel(name, C[:7, 10:], s[:7], s[10:]), Om[:7, 10:], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", CLOSED)
def test_kernel_matrix_closed_vs_mehler(name):
    # whole matrices with unequal scales (max off-diagonal |ρ| ≈ 0.5 at D = 60):
    # Mehler tail bound 1e-12 relative, coefficients ~1e-15: 1e-11 absolute.
    C, s = _random_block(seed=1)
    np.testing.assert_allclose(
        omega_kernel(wrapped(name), C, s, s), omega_kernel(name, C, s, s), rtol=0, atol=1e-11
    )


def test_kernel_explicit_formulas():
    si, sj, rho = 1.3, 0.7, 0.35
    C = np.array([[rho * si * sj]])
    a, b = np.array([si]), np.array([sj])
    th = math.acos(rho)
    relu = si * sj / (2 * math.pi) * (math.sin(th) + (math.pi - th) * math.cos(th)) - si * sj / (2 * math.pi)
    expect = {
        "sign": 2 / math.pi * math.asin(rho),
        "erf2": 2 / math.pi * math.asin(C[0, 0] / math.sqrt((1 + si**2) * (1 + sj**2))),
        "erf": 2 / math.pi * math.asin(2 * C[0, 0] / math.sqrt((1 + 2 * si**2) * (1 + 2 * sj**2))),
        "relu": relu,
        "linear": C[0, 0],
    }
    for name, val in expect.items():  # same formula, different operation order: 1e-15
        assert omega_kernel(name, C, a, b)[0, 0] == pytest.approx(val, abs=1e-15), name


def test_user_tanh_equals_builtin_tanh():
    # same numbers through the quadrature path: equal to rounding (1e-15)
    user = lambda x: np.tanh(x)  # noqa: E731
    s = np.array([0.4, 1.0, 2.2])
    np.testing.assert_allclose(hermite_mu(user, 12, 1.4), hermite_mu("tanh", 12, 1.4), rtol=0, atol=1e-15)
    for key, val in moments_at_scales(user, s).items():
        np.testing.assert_allclose(val, moments_at_scales("tanh", s)[key], rtol=0, atol=1e-15)
    C, sc = _random_block(seed=2)
    np.testing.assert_allclose(omega_kernel(user, C, sc, sc), omega_kernel("tanh", C, sc, sc), rtol=0, atol=1e-15)
    cu, tu = chaos_coefficients(user)
    ct, tt = chaos_coefficients("tanh")
    n = min(cu.size, ct.size)
    np.testing.assert_allclose(cu[:n], ct[:n], rtol=0, atol=1e-15)
    assert tu < 1e-12 * 0.4 and tt < 1e-12 * 0.4


def test_kernel_zero_scale_and_truncation_warning():
    C = np.array([[0.0, 0.0], [0.0, 1.0]])
    s = np.array([0.0, 1.0])
    for name in ("sign", "tanh", "relu"):  # a constant input has zero covariance with anything
        Om = omega_kernel(name, C, s, s)
        np.testing.assert_array_equal(Om[0], 0.0)
    # a kinked user σ at ρ = 0.999: the Mehler series cannot reach 1e-12 by order 50
    with pytest.warns(MehlerTruncationWarning, match="max_order=50"):
        _kernel_1x1(wrapped("sign"), 0.999, 1.0, 1.0, max_order=50)


@pytest.mark.skipif("cupy" not in available_backends(), reason="needs CuPy and a GPU")
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_kernel_on_cupy(name):
    import cupy

    bk = get_backend("cupy")
    C, s = _random_block(seed=3)
    Om = omega_kernel(name, bk.asarray(C), bk.asarray(s), bk.asarray(s))
    assert isinstance(Om, cupy.ndarray)
    # CuPy's erf/asin differ from SciPy's by a few ulps: 1e-13
    np.testing.assert_allclose(Om.get(), omega_kernel(name, C, s, s), rtol=0, atol=1e-13)


# ---------------------------------------------------------------------------
# Chaos weights (THEORY §5(b))
# ---------------------------------------------------------------------------
def test_chaos_coefficients_smooth():
    # tanh: tail below 1e-12 relative; Σ c_k + tail = E σ² (mpmath) to float rounding (1e-15)
    c, tail = chaos_coefficients("tanh")
    with mp.workdps(30):
        second = float(mp.quad(lambda x: mp.tanh(x) ** 2 * mp.npdf(x), [-mp.inf, 0, mp.inf]))
    assert 0 <= tail <= 1e-12 * second
    assert np.sum(c) + tail == pytest.approx(second, abs=1e-15)
    assert c[1] == pytest.approx(hermite_coefficients("tanh")[1] ** 2, rel=1e-14)
    assert np.all(c[0::2] < 1e-30)  # odd σ: no even chaos
    # erf2: c_k = (2/π) He_{k-1}(0)² 2^{-k}/k! (odd k), Σ = 1/3
    c, tail = chaos_coefficients("erf2")
    exact = np.array([2 / math.pi * he0(j - 1) ** 2 / 2.0**j / math.factorial(j) if j % 2 else 0 for j in range(c.size)])
    np.testing.assert_allclose(c, exact, rtol=1e-13)
    assert tail <= 1e-12 / 3
    c, tail = chaos_coefficients("linear")
    np.testing.assert_array_equal(c, [0.0, 1.0])
    assert tail == 0.0


def test_chaos_coefficients_kinked_slow_tails():
    # sign: c_{2m+1} ≈ π^{-3/2} m^{-3/2}, so tail(K) ≈ (2/π^{3/2}) M^{-1/2}, M = (K+1)/2 terms;
    # the O(1/M) correction at M = 200 is < 1 %: check 1 %.
    c, tail = chaos_coefficients("sign", max_order=400)
    assert c.size == 401 and np.all(c[0::2] == 0)
    assert np.sum(c) + tail == pytest.approx(1.0, abs=1e-14)
    assert tail == pytest.approx(2 / math.pi**1.5 / math.sqrt(200.5), rel=0.01)
    # relu: μ_k = 0 for odd k ≥ 3 (relu = x/2 + |x|/2), Σ c_k = 1/2
    c, tail = chaos_coefficients("relu", max_order=100)
    assert np.all(c[3::2] == 0) and c[1] == 0.25 and c[0] == pytest.approx(1 / (2 * math.pi), rel=1e-15)
    assert np.sum(c) + tail == pytest.approx(0.5, abs=1e-15) and tail > 0


# ---------------------------------------------------------------------------
# softsign: a built-in without closed forms (quadrature, Mehler, mpmath)
# ---------------------------------------------------------------------------
def _mp_softsign_expect(f, s):
    """E f(softsign(sζ), ζ) by mpmath at 30 digits, split at the kink of softsign'' at 0."""
    with mp.workdps(30):
        return float(mp.quad(lambda x: f(s * x / (1 + abs(s * x)), x) * mp.npdf(x), [-mp.inf, 0, mp.inf]))


def test_softsign_against_mpmath_and_monte_carlo():
    # σ(x) = x/(1+|x|): odd, smooth but for a jump of σ'' at 0 (kink=True), no closed forms, so
    # every quantity comes from the numerical routes; references written here.
    act = get_activation("softsign")
    assert act.builtin and act.kink and act.closed() is None
    x = np.linspace(-3, 3, 13)
    np.testing.assert_array_equal(act(x), x / (1 + np.abs(x)))
    for s in (0.7, 2.0):
        # μ1 = E[ζ σ(sζ)], μ3 = E[He_3(ζ) σ(sζ)] (mpmath, 30 digits); even orders vanish (odd σ).
        # The panel rule reaches ~1e-15 on O(1) coefficients: 1e-14.
        mu = hermite_mu("softsign", 4, s)
        assert mu[1] == pytest.approx(_mp_softsign_expect(lambda f, z: f * z, s), abs=1e-14)
        assert mu[3] == pytest.approx(_mp_softsign_expect(lambda f, z: f * (z**3 - 3 * z), s), abs=1e-14)
        np.testing.assert_allclose(mu[0::2], 0.0, atol=1e-15)
        # E σ² and Stein's E σ'(sζ) = E (1+s|ζ|)^{-2} against mpmath: 1e-14 relative
        m = moments_at_scales("softsign", s)
        assert m["second"] == pytest.approx(_mp_softsign_expect(lambda f, z: f * f, s), rel=1e-14)
        with mp.workdps(30):
            d = float(mp.quad(lambda z: mp.npdf(z) / (1 + s * abs(z)) ** 2, [-mp.inf, 0, mp.inf]))
        assert m["mean_derivative"] == pytest.approx(d, rel=1e-13)
    # Ω by Monte Carlo over 10⁶ bivariate normal pairs, unequal scales and both signs of ρ:
    # within 5 standard errors of the sample covariance
    rng = np.random.default_rng(12)
    n = 1_000_000
    for rho, si, sj in [(0.6, 1.3, 0.5), (-0.85, 0.8, 2.0)]:
        z1, z2 = rng.standard_normal(n), rng.standard_normal(n)
        fi, fj = act(si * z1), act(sj * (rho * z1 + math.sqrt(1 - rho * rho) * z2))
        prod = (fi - fi.mean()) * (fj - fj.mean())
        got = _kernel_1x1(act, rho, si, sj)
        assert abs(got - prod.mean()) < 5 * prod.std() / math.sqrt(n), (rho, got, prod.mean())
    # chaos weights: Σ c_k + tail = E σ(ζ)² (mpmath) to float rounding
    c, tail = chaos_coefficients("softsign")
    assert np.sum(c) + tail == pytest.approx(_mp_softsign_expect(lambda f, z: f * f, 1.0), abs=1e-14)
    assert np.all(c[0::2] < 1e-30)


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [-0.1, float("nan"), float("inf")])
def test_bad_scale(scale):
    with pytest.raises(ValueError, match="scale"):
        hermite_mu("tanh", 3, scale)
    with pytest.raises(ValueError, match="scale"):
        hermite_coefficients("sign", scale)
    with pytest.raises(ValueError, match="scales"):
        moments_at_scales("relu", [1.0, scale])
    with pytest.raises(ValueError, match="s_row"):
        omega_kernel("sign", np.zeros((1, 1)), [scale], [1.0])


def test_bad_order_and_method():
    with pytest.raises(ValueError, match="order must be a non-negative integer"):
        hermite_mu("sign", -1)
    with pytest.raises(TypeError, match="order"):
        hermite_mu("sign", 2.5)
    with pytest.raises(ValueError, match="method"):
        hermite_mu("sign", 3, method="simpson")
    with pytest.raises(ValueError, match="no closed-form"):
        hermite_mu("tanh", 3, method="closed")
    with pytest.raises(ValueError, match="max_order"):
        chaos_coefficients("tanh", max_order=-2)
    with pytest.raises(ValueError, match="tol"):
        omega_kernel("tanh", np.eye(2), np.ones(2), np.ones(2), tol=0)
    with pytest.raises(ValueError, match="max_order must be >= 1"):
        omega_kernel("tanh", np.eye(2), np.ones(2), np.ones(2), max_order=0)


def test_bad_kernel_input():
    s = np.ones(2)
    with pytest.raises(ValueError, match="2-D"):
        omega_kernel("sign", np.ones(2), s, s)
    with pytest.raises(ValueError, match="shape"):
        omega_kernel("sign", np.eye(2), np.ones(3), s)
    with pytest.raises(ValueError, match="exceeds"):
        omega_kernel("sign", 2 * np.eye(2), s, s)
    with pytest.raises(ValueError, match="NaN"):
        omega_kernel("sign", np.full((2, 2), np.nan), s, s)


def test_bad_user_callable():
    with pytest.raises(ValueError, match="NaN or infinite"), np.errstate(invalid="ignore", divide="ignore"):
        hermite_mu(lambda x: np.log(x), 2)
    with pytest.raises(ValueError, match="elementwise"):
        hermite_mu(lambda x: np.ones(3), 2)
    with pytest.raises(TypeError, match="elementwise on NumPy arrays"):
        hermite_mu(lambda x: math.tanh(x), 2)
