"""Trained dense generators and their weights files (getheory.trained, docs/theory.md §9)."""

import json
import math

import numpy as np
import pytest
from scipy.stats import norm

from getheory import check_generator, monte_carlo_moments, random_deep
from getheory.backend import available_backends, get_backend
from getheory.cli import main
from getheory.trained import DenseGenerator, load_dense, save_dense

needs_cupy = pytest.mark.skipif("cupy" not in available_backends(),
                                reason="needs CuPy and a CUDA GPU (backend='cupy')")
BACKENDS = ["numpy", "strict", pytest.param("cupy", marks=[pytest.mark.gpu, needs_cupy])]


def _decoder(seed=0, widths=(6, 20, 16), acts=("tanh", "identity")):
    """A small dense generator with O(1) pre-activations and non-zero biases."""
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((widths[l + 1], widths[l])) / math.sqrt(widths[l]) for l in range(len(widths) - 1)]
    bs = [0.3 * rng.standard_normal(w) for w in widths[1:]]
    return DenseGenerator(Ws, bs, list(acts))


def _write_npz(path, **arrays):
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return str(path)


def _good_arrays(gen):
    out = {"activations": np.array(gen.activations)}
    for l, (W, b) in enumerate(zip(gen.weights, gen.biases)):
        out[f"W{l}"], out[f"b{l}"] = W, b
    return out


# --- files -------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_save_then_load_gives_back_the_same_generator(tmp_path, suffix):
    gen = _decoder()
    path = tmp_path / f"dec{suffix}"
    save_dense(path, gen)
    back = load_dense(path)
    assert back.activations == ("tanh", "identity") and back.widths == [6, 20, 16]
    for a, b in zip(gen.weights + gen.biases, back.weights + back.biases):
        np.testing.assert_array_equal(a, b)
    c = np.random.default_rng(1).standard_normal((50, 6))
    np.testing.assert_array_equal(back.sample(c), gen.sample(c))
    assert back.describe()["source"] == f"dec{suffix}"


def test_float32_safetensors_written_by_another_tool_loads(tmp_path):
    from safetensors.numpy import save_file

    gen = _decoder()
    arrays = {k: v.astype(np.float32) for k, v in _good_arrays(gen).items() if k != "activations"}
    path = str(tmp_path / "torch-export.safetensors")
    save_file(arrays, path, metadata={"activations": json.dumps(["tanh", "linear"])})
    back = load_dense(path)
    assert back.activations == ("tanh", "linear") and back.weights[0].dtype == np.float64
    np.testing.assert_allclose(back.weights[1], gen.weights[1], rtol=1e-6)


def test_missing_array_is_named(tmp_path):
    arrays = _good_arrays(_decoder())
    del arrays["b1"]
    with pytest.raises(ValueError, match=r"lacks b1 \(shape \(N_out,\)\) of layer 1"):
        load_dense(_write_npz(tmp_path / "w.npz", **arrays))


def test_missing_activations_are_named(tmp_path):
    arrays = _good_arrays(_decoder())
    del arrays["activations"]
    with pytest.raises(ValueError, match="lacks the activation names: a string array 'activations' with 2"):
        load_dense(_write_npz(tmp_path / "w.npz", **arrays))
    from safetensors.numpy import save_file

    save_file({k: v for k, v in arrays.items()}, str(tmp_path / "w.safetensors"))
    with pytest.raises(ValueError, match="lacks the activation names: metadata 'activations'"):
        load_dense(tmp_path / "w.safetensors")


def test_misshaped_bias_names_the_layer_and_the_expected_shape(tmp_path):
    arrays = _good_arrays(_decoder(widths=(6, 30, 64)))
    arrays["b1"] = np.zeros(30)
    with pytest.raises(ValueError, match=r"b1 has shape \(30,\), expected \(64,\) to match W1 \(64, 30\)"):
        load_dense(_write_npz(tmp_path / "w.npz", **arrays))


def test_weights_that_do_not_chain_name_the_layer_and_the_expected_shape(tmp_path):
    arrays = _good_arrays(_decoder(widths=(6, 30, 64)))
    arrays["W1"] = np.zeros((64, 31))
    with pytest.raises(ValueError, match=r"W1 has shape \(64, 31\), expected \(64, 30\) to take the 30 outputs of W0"):
        load_dense(_write_npz(tmp_path / "w.npz", **arrays))


def test_arrays_outside_the_layout_are_refused(tmp_path):
    arrays = _good_arrays(_decoder())
    arrays["fc1.weight"] = arrays.pop("W0")
    with pytest.raises(ValueError, match=r"\['fc1.weight'\] are not in the layout"):
        load_dense(_write_npz(tmp_path / "w.npz", **arrays))


def test_a_file_from_another_architecture_is_refused_when_sizes_are_expected(tmp_path):
    path = tmp_path / "w.npz"
    save_dense(path, _decoder())
    assert load_dense(path, N=16, D=6).N == 16
    with pytest.raises(ValueError, match=r"widths \[6, 20, 16\].*N \(output\) = 64 was expected.*different architecture"):
        load_dense(path, N=64)
    with pytest.raises(ValueError, match=r"D \(latent\) = 8 was expected"):
        load_dense(path, D=8)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_weights_are_refused_with_the_key(tmp_path, bad):
    arrays = _good_arrays(_decoder())
    arrays["W1"] = arrays["W1"].copy()
    arrays["W1"][2, 5] = bad
    with pytest.raises(ValueError, match=r"W1 has 1 NaN or infinite entries \(first at index \(2, 5\)\)"):
        load_dense(_write_npz(tmp_path / "w.npz", **arrays))


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
@pytest.mark.parametrize("damage", ["empty", "truncated"])
def test_empty_or_truncated_file_is_refused_naming_it(tmp_path, suffix, damage):
    good = tmp_path / f"good{suffix}"
    save_dense(good, _decoder())
    data = good.read_bytes()
    path = tmp_path / f"{damage}{suffix}"
    path.write_bytes(b"" if damage == "empty" else data[: len(data) // 2])
    msg = rf"weights file '{path}' is not a readable \{suffix} .*write it again"
    with pytest.raises(ValueError, match=msg) as info:
        load_dense(path)
    assert info.value.__cause__ is not None  # the reader's own error is kept


def test_a_directory_is_refused_as_a_directory(tmp_path):
    (tmp_path / "weights.npz").mkdir()
    with pytest.raises(ValueError, match=r"weights file '.*weights.npz' is a directory: give the .npz file"):
        load_dense(tmp_path / "weights.npz")


def _npz_declaring(path, shape):
    """An .npz whose W0 header declares ``shape`` but holds 16 bytes of data."""
    import io
    import zipfile

    from numpy.lib import format as npy

    def member(arr):
        buf = io.BytesIO()
        np.save(buf, arr)
        return buf.getvalue()

    head = io.BytesIO()
    npy.write_array_header_1_0(head, {"descr": "<f8", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("W0.npy", head.getvalue() + bytes(16))
        zf.writestr("b0.npy", member(np.zeros(3)))
        zf.writestr("activations.npy", member(np.array(["identity"])))
    return str(path)


def test_absurd_declared_shape_is_refused_before_allocating(tmp_path):
    path = _npz_declaring(tmp_path / "huge.npz", (10**6, 10**6))
    with pytest.raises(ValueError, match=r"'.*huge.npz': W0 declares shape \(1000000, 1000000\) of float64, which "
                                         r"needs 7.45e\+03 GiB, but the file holds only 16 bytes"):
        load_dense(path)


def test_arrays_larger_than_free_memory_are_refused_before_reading(tmp_path, monkeypatch):
    from getheory import backend

    path = tmp_path / "w.safetensors"
    save_dense(path, _decoder())
    monkeypatch.setattr(backend.Backend, "free_memory_bytes", lambda self: 1000, raising=False)
    for p in (path, tmp_path / "w.npz"):
        save_dense(p, _decoder())
        with pytest.raises(ValueError, match=r"'.*w\.(npz|safetensors)' declares arrays that need .* GiB to load "
                                             r"\(the largest, W1, has shape \(16, 20\)\), but only .* GiB"):
            load_dense(p)


def test_entries_beyond_the_float64_range_are_refused(tmp_path):
    if np.finfo(np.longdouble).max <= np.finfo(np.float64).max:
        pytest.skip("no extended precision on this platform")
    arrays = _good_arrays(_decoder())
    arrays["W0"] = arrays["W0"].astype(np.longdouble)
    arrays["W0"][1, 2] = np.longdouble("1e400")
    with pytest.raises(ValueError, match=r"'.*w.npz': W0 has 1 entries beyond the float64 range \(first at index "
                                         r"\(1, 2\): 1e\+400\), which overflow to infinity in float64"):
        load_dense(_write_npz(tmp_path / "w.npz", **arrays))


def test_weights_whose_outputs_overflow_are_refused_naming_the_layer(tmp_path):
    arrays = _good_arrays(_decoder(acts=("identity", "tanh")))
    arrays["W0"] = np.full_like(arrays["W0"], 1e200)
    arrays["W1"] = np.full_like(arrays["W1"], 1e200)
    with pytest.raises(ValueError, match=r"'.*w.npz': layer 1 \(W1, b1\) produces NaN or infinite pre-activations "
                                         r"in float64 .*largest \|W1\| = 1e\+200"):
        load_dense(_write_npz(tmp_path / "w.npz", **arrays))


def test_outputs_that_overflow_the_run_dtype_are_refused_when_sampled():
    gen = _decoder(acts=("identity", "identity"))
    big = DenseGenerator([W * 1e25 for W in gen.weights], gen.biases, gen.activations, name="big.npz")
    assert np.all(np.isfinite(big.sample(np.ones((4, 6)))))  # fine in float64
    with pytest.raises(ValueError, match="trained generator 'big.npz' produced NaN or infinite outputs in float32"), \
            np.errstate(over="ignore"):
        big.sample(np.ones((4, 6), dtype=np.float32))


def test_unknown_activation_is_refused(tmp_path):
    arrays = _good_arrays(_decoder())
    arrays["activations"] = np.array(["tanh", "sigmoid"])
    with pytest.raises(ValueError, match="activation 'sigmoid' of layer 1 is unknown: choose one of .*identity"):
        load_dense(_write_npz(tmp_path / "w.npz", **arrays))
    with pytest.raises(ValueError, match="got 1 activations for 2 layers"):
        DenseGenerator(_decoder().weights, _decoder().biases, ["tanh"])


@pytest.mark.parametrize("name", ["model.pt", "weights", "w.NPY"])
def test_unknown_file_extension_is_refused(tmp_path, name):
    with pytest.raises(ValueError, match="use .npz or .safetensors"):
        load_dense(tmp_path / name)
    with pytest.raises(ValueError, match="use .npz or .safetensors"):
        save_dense(tmp_path / name, _decoder())


# --- what the generator computes ----------------------------------------------------------
def test_linear_stack_equals_the_single_product_layer():
    rng = np.random.default_rng(2)
    W0, W1, b0, b1 = rng.standard_normal((9, 5)), rng.standard_normal((7, 9)), rng.standard_normal(9), rng.standard_normal(7)
    deep = DenseGenerator([W0, W1], [b0, b1], ["identity", "linear"])
    flat = DenseGenerator([W1 @ W0], [W1 @ b0 + b1], ["identity"])
    c = rng.standard_normal((100, 5))
    np.testing.assert_allclose(deep.sample(c), flat.sample(c), rtol=1e-12, atol=1e-12)


def test_scaled_weights_without_biases_reproduce_the_deep_generator():
    """DeepGenerator's x^(l) = σ_l(A_l x^(l-1)/√N_{l-1}) is the dense one with W_l = A_l/√N_{l-1}, b_l = 0."""
    deep = random_deep([6, 12, 15, 10], ["tanh", "sign", "erf2"], seed=3)
    dense = DenseGenerator([A / math.sqrt(A.shape[1]) for A, _ in deep.layers],
                           [np.zeros(A.shape[0]) for A, _ in deep.layers], ["tanh", "sign", "erf2"])
    c = np.random.default_rng(4).standard_normal((400, 6))
    np.testing.assert_allclose(dense.sample(c), deep.sample(c), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_identity_layer_has_the_gaussian_moments_within_clt_error(backend):
    """x = W c + b is Gaussian with E x = b, Ω = W Wᵀ, Φ = W (docs/theory.md §9).

    For Gaussian x the estimators' variances are exact: Var Ω̂_ij = (Ω_ii Ω_jj + Ω_ij²)/n,
    Var Φ̂_ij = (b_i² + Ω_ii + W_ij²)/n, Var mean_i = Ω_ii/n; every entry lies within the
    Bonferroni bound of family level 0.001, and the batch-means standard errors agree
    with the exact ones on average (each is a 19-dof estimate: ≈ 16 % relative spread).
    """
    rng = np.random.default_rng(5)
    W, b = rng.standard_normal((8, 5)), rng.standard_normal(8)
    gen = DenseGenerator([W], [b], ["identity"])
    n = 40_000
    mom = monte_carlo_moments(gen, n, seed=6, backend=backend)
    Om = W @ W.T
    d = np.diag(Om)
    exact_se = {
        "mean": np.sqrt(d / n),
        "Omega": np.sqrt((np.outer(d, d) + Om**2) / n),
        "Phi": np.sqrt((b[:, None] ** 2 + d[:, None] + W**2) / n),  # Φ̂ = Σ x cᵀ/n, x not centred
    }
    for name, est, truth, se in (("mean", mom.mean, b, mom.stderr_mean), ("Omega", mom.Omega, Om, mom.stderr_Omega),
                                 ("Phi", mom.Phi, W, mom.stderr_Phi)):
        z = np.abs(est - truth) / exact_se[name]
        assert z.max() < norm.isf(0.001 / (2 * z.size)), name
        ratio = float(np.mean(se / exact_se[name]))
        assert 0.85 < ratio < 1.15, (name, ratio)


@pytest.mark.gpu
@needs_cupy
def test_samples_on_cupy_equal_samples_on_numpy():
    gen = _decoder(widths=(6, 40, 30, 16), acts=("tanh", "relu", "identity"))
    c = np.random.default_rng(7).standard_normal((300, 6))
    cp = get_backend("cupy")
    x_gpu = gen.sample(cp.asarray(c))
    assert type(x_gpu).__module__.startswith("cupy")
    np.testing.assert_allclose(cp.to_numpy(x_gpu), gen.sample(c), rtol=1e-10, atol=1e-12)
    x32 = gen.sample(cp.asarray(c, dtype="float32"))
    assert x32.dtype == np.float32


# --- the check and the command line -------------------------------------------------------
def test_check_reports_the_linearised_equivalent_and_moment_errors():
    """The linearised condition passes for Gaussian x and warns for a strongly coherent sign network."""
    rng = np.random.default_rng(8)
    W = rng.standard_normal((12, 6))
    gauss = check_generator(DenseGenerator([W], [np.zeros(12)], ["identity"]), K=1, M=1, samples=4000,
                            moment_samples=20_000, seed=0)
    cond = {c.name: c for c in gauss.conditions}
    assert cond["linearised Gaussian-equivalent covariance"].verdict == "pass"
    assert cond["Monte Carlo moment error"].numbers["max_stderr_cov"] > 0
    assert gauss.to_dict()["generator"]["kind"] == "DenseGenerator"
    coherent = check_generator(DenseGenerator([rng.standard_normal((12, 2))], [np.zeros(12)], ["sign"]), K=1, M=1,
                               samples=20_000, moment_samples=20_000, seed=0)
    cond = {c.name: c for c in coherent.conditions}
    assert cond["linearised Gaussian-equivalent covariance"].verdict == "warn"
    assert coherent.dms.resolved_any  # λ is a sum of 12 signs of 2 Gaussians: far from Gaussian


def test_cli_check_and_dynamics_run_from_a_weights_file(tmp_path, capsys):
    path = tmp_path / "dec.safetensors"
    save_dense(path, _decoder())
    out = tmp_path / "check"
    assert main(["check", "--weights", str(path), "--samples", "3000", "--moment-samples", "3000", "--K", "1",
                 "--M", "1", "--quiet", "--out", str(out)]) == 0
    d = json.loads((out / "check.json").read_text())
    assert d["generator"]["widths"] == [6, 20, 16] and d["sizes"]["N"] == 16 and d["sizes"]["D"] == 6
    md = (out / "check.md").read_text()
    assert f"getheory check --weights {path}" in md and "linearised Gaussian-equivalent covariance" in md
    dyn = tmp_path / "dyn"
    assert main(["dynamics", "--weights", str(path), "--t-max", "1", "--points", "4", "--n-test", "500",
                 "--moment-samples", "4000", "--sgd-seeds", "2", "--quiet", "--out", str(dyn)]) == 0
    rep = json.loads((dyn / "report.json").read_text())
    assert rep["settings"]["generator"]["kind"] == "DenseGenerator" and rep["settings"]["N"] == 16
    capsys.readouterr()
    assert main(["check", "--weights", str(path), "--N", "64", "--quiet"]) == 2
    assert "different architecture" in capsys.readouterr().err
    assert main(["dynamics", "--weights", str(path), "--depth", "2", "--quiet", "--out", str(dyn)]) == 2
    assert "leave out --depth" in capsys.readouterr().err
    assert main(["check", "--weights", "abs_gaussian", "--quiet"]) == 2
    assert "--student-weights abs_gaussian" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["check", "--weights", str(path), "--activation", "relu"])
    assert "not allowed with argument" in capsys.readouterr().err
