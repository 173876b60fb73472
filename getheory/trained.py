"""Trained dense generators and their weights files (docs/theory.md §9).

A trained network has biases and its own weight scales, so it fits neither
:class:`getheory.generators.SingleLayerGenerator` nor
:class:`getheory.generators.DeepGenerator` (which fix the 1/√N_{l-1}
scaling and have no biases).  :class:`DenseGenerator` is the plain
fully connected stack

    x^(0) = c,   x^(l) = σ_l(W_l x^(l-1) + b_l),   l = 1..L,   x = x^(L),

with W_l of shape (N_l, N_{l-1}), N_0 = D, N_L = N.  Its moments
(E x, Ω, Φ) are Monte Carlo estimates (:func:`getheory.moments.monte_carlo_moments`,
§2) and :func:`getheory.check.check_generator` measures its d_MS and the
linearised Gaussian-equivalent condition (§6).

Weights files
-------------
One layout, in ``.npz`` or ``.safetensors`` (:func:`load_dense`, :func:`save_dense`);
layers are numbered from 0 in the file (file layer ``l`` is the paper's layer l + 1):

=================  ===================  =====================================
key                shape                what
=================  ===================  =====================================
``W0``             (N_1, D)             weights of the first layer
``b0``             (N_1,)               its biases
``W1``, ``b1``     (N_2, N_1), (N_2,)   the second layer, and so on
``W{L-1}``         (N, N_{L-1})         the last layer
``b{L-1}``         (N,)
=================  ===================  =====================================

plus the L activation names (``sign``, ``erf2``, ``erf``, ``tanh``, ``relu``,
``linear`` or ``identity``), in ``.npz`` as a 1-D string array ``activations``
and in ``.safetensors`` as the metadata entry ``"activations"``, a JSON list.
A PyTorch ``nn.Linear`` stores ``weight`` with the same (out, in) shape, so
``W{l} = linear.weight.detach().numpy()`` and ``b{l} = linear.bias...``.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import safetensors
from numpy.lib import format as npy
from safetensors.numpy import load_file, save_file

from .activations import ACTIVATIONS, get_activation
from .backend import backend_of
from .generators import DeviceCache, Generator

__all__ = ["DENSE_ACTIVATIONS", "DenseGenerator", "load_dense", "save_dense"]

#: activation names a dense layer may carry: the built-ins plus ``identity`` (= ``linear``)
DENSE_ACTIVATIONS: tuple[str, ...] = tuple(ACTIVATIONS) + ("identity",)

_LAYOUT = ("W0 (N_1, D), b0 (N_1,), W1 (N_2, N_1), b1 (N_2,), ..., and the activation names "
           "(npz: string array 'activations'; safetensors: metadata 'activations', a JSON list)")
_SUFFIXES = (".npz", ".safetensors")


def _real_array(x, key: str, ndim: int) -> np.ndarray:
    """``x`` as a finite float64 array of ``ndim`` dimensions, or an error naming ``key``."""
    src = np.asarray(x)
    if src.dtype.kind not in "fiu":
        raise ValueError(f"{key} has dtype {src.dtype}; expected real numbers (float32 or float64)")
    with np.errstate(over="ignore"):
        arr = src.astype(np.float64)
    if src.dtype.itemsize > 8 and src.dtype.kind == "f":
        over = np.isfinite(src) & ~np.isfinite(arr)
        if over.any():
            first = tuple(int(i) for i in np.argwhere(over)[0])
            raise ValueError(f"{key} has {int(over.sum())} entries beyond the float64 range (first at index "
                             f"{first}: {str(src[first])}), which overflow to infinity in float64: export the "
                             "weights in float32 or float64 with finite values")
    if arr.ndim != ndim:
        want = "a matrix (out, in)" if ndim == 2 else "a vector (out,)"
        raise ValueError(f"{key} has shape {arr.shape}, expected {want}")
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{key} has {int(bad.sum())} NaN or infinite entries (first at index {first}); "
                         "training diverged or the weights were damaged: export finite weights")
    return arr


def _activation_name(name, l: int) -> str:
    if not isinstance(name, str) or name.strip().lower() not in DENSE_ACTIVATIONS:
        raise ValueError(f"activation {name!r} of layer {l} is unknown: choose one of {', '.join(DENSE_ACTIVATIONS)}")
    return name.strip().lower()


@dataclass(eq=False)
class DenseGenerator(Generator):
    """x^(l) = σ_l(W_l x^(l-1) + b_l), l = 1..L, x^(0) = c: a trained dense generator (§9).

    No 1/√N scaling is imposed: the weights are used as trained.  Samples run on
    NumPy or CuPy, the backend of the latents; weights are copied to a device
    once, on first use.

    Parameters
    ----------
    weights : sequence of arrays
        ``W_l`` of shape (N_l, N_{l-1}), N_0 = D (index l from 0, as in the file layout).
    biases : sequence of arrays
        ``b_l`` of shape (N_l,).
    activations : sequence of str
        One name per layer from :data:`DENSE_ACTIVATIONS` (``identity`` is ``linear``).
    name : str, optional
        Where the weights came from (a file name), for reports.

    Raises
    ------
    ValueError
        Mis-shaped, non-finite or missing arrays (the message names the key ``W{l}``
        or ``b{l}`` and the expected shape), entries beyond the float64 range, weights
        whose pre-activations overflow float64 on a few standard normal latents (the
        layer is named), an unknown activation, or counts that differ; and, from
        :meth:`sample`, outputs that are not finite in the run's dtype.
    """

    weights: Sequence
    biases: Sequence
    activations: Sequence
    name: str | None = None
    _cache: DeviceCache = field(default_factory=DeviceCache, repr=False)

    def __post_init__(self):
        L = len(self.weights)
        if L == 0:
            raise ValueError("a DenseGenerator needs at least one layer (W0, b0)")
        if len(self.biases) != L:
            raise ValueError(f"got {len(self.biases)} bias vectors for {L} weight matrices; give b0..b{L - 1}")
        acts = [self.activations] if isinstance(self.activations, str) else list(self.activations)
        if len(acts) != L:
            raise ValueError(f"got {len(acts)} activations for {L} layers; give one name per layer")
        Ws, bs = [], []
        for l in range(L):
            W = _real_array(self.weights[l], f"W{l}", 2)
            if l > 0 and W.shape[1] != Ws[-1].shape[0]:
                raise ValueError(f"W{l} has shape {W.shape}, expected ({W.shape[0]}, {Ws[-1].shape[0]}) "
                                 f"to take the {Ws[-1].shape[0]} outputs of W{l - 1} {Ws[-1].shape}")
            if W.size == 0:
                raise ValueError(f"W{l} is empty (shape {W.shape})")
            b = np.asarray(self.biases[l])
            if b.shape != (W.shape[0],):
                raise ValueError(f"b{l} has shape {b.shape}, expected ({W.shape[0]},) to match W{l} {W.shape}")
            Ws.append(W)
            bs.append(_real_array(b, f"b{l}", 1))
        self.weights = tuple(Ws)
        self.biases = tuple(bs)
        self.activations = tuple(_activation_name(a, l) for l, a in enumerate(acts))
        self._acts = tuple(get_activation("linear" if a == "identity" else a) for a in self.activations)
        self.D = Ws[0].shape[1]
        self.N = Ws[-1].shape[0]
        self._check_finite_outputs()

    def _check_finite_outputs(self, rows: int = 8):
        """Refuse weights whose pre-activations overflow float64 on a few standard normal latents."""
        x = np.random.default_rng(0).standard_normal((rows, self.D))
        with np.errstate(over="ignore", invalid="ignore"):
            for l, (W, b, act) in enumerate(zip(self.weights, self.biases, self._acts)):
                h = x @ W.T + b
                if not np.all(np.isfinite(h)):
                    top = float(np.max(np.abs(W)))
                    raise ValueError(f"layer {l} (W{l}, b{l}) produces NaN or infinite pre-activations in "
                                     f"float64 on standard normal latents (largest |W{l}| = {top:.3g}): the "
                                     "weights are far too large; export the trained weights, not damaged ones")
                x = act(h)

    @property
    def widths(self) -> list[int]:
        """[D, N_1, ..., N_L = N]."""
        return [self.D] + [W.shape[0] for W in self.weights]

    def sample(self, c):
        """Map latents ``c`` (n, D) to inputs x (n, N) on the backend of ``c``, in its dtype."""
        self._check_latents(c)
        bk = backend_of(c)
        x = c
        # weights that overflow the dtype are refused just below with the fix; NumPy's own
        # overflow / invalid-value warnings on the way there would only repeat it, less clearly
        with np.errstate(over="ignore", invalid="ignore"):
            for l, act in enumerate(self._acts):
                dt = bk.dtype_name(c)
                Wt = self._cache.get(bk, ("W", l), self.weights[l].T, dt)
                b = self._cache.get(bk, ("b", l), self.biases[l], dt)
                h = x @ Wt
                h += b
                x = h if act.apply_(h, bk) else act(h)
        if not bk.to_bool(bk.xp.all(bk.xp.isfinite(x))):
            raise ValueError(f"trained generator {self.name or 'DenseGenerator'!r} produced NaN or infinite "
                             f"outputs in {bk.dtype_name(c)} on latents of shape {tuple(c.shape)}: its weights "
                             "overflow this dtype; run in float64 or rescale the weights")
        return x

    def describe(self) -> dict:
        return {
            **super().describe(),
            "depth": len(self.weights),
            "widths": self.widths,
            "activation": list(self.activations),
            "source": self.name,
        }


def _suffix(path) -> str:
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in _SUFFIXES:
        raise ValueError(f"weights file {os.fspath(path)!r} has extension {suffix or '(none)'!r}: use .npz or "
                         f".safetensors in the layout {_LAYOUT} (getheory.trained.save_dense writes it)")
    return suffix


def _npz_headers(path) -> dict:
    """{key: (shape, dtype, bytes the file holds for its data)} read from the .npy headers; nothing allocated."""
    out = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            with zf.open(info) as fh:
                try:
                    version = npy.read_magic(fh)
                    read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
                    shape, _fortran, dtype = read(fh)
                except ValueError as exc:
                    raise ValueError(f"member {info.filename!r} is not a .npy array ({exc})") from exc
                out[key] = (tuple(shape), dtype, info.file_size - fh.tell())
    return out


def _check_sizes(path, arrays) -> None:
    """Refuse, before reading, arrays the file cannot hold or memory cannot take.

    ``arrays``: {key: (shape, dtype, bytes held or None)}.
    """
    need = 0
    for key, (shape, dtype, held) in arrays.items():
        count = math.prod(int(d) for d in shape)
        size = count * dtype.itemsize
        if held is not None and not dtype.hasobject and size > held:
            raise ValueError(f"weights file {path!r}: {key} declares shape {shape} of {dtype}, which needs "
                             f"{size / 2**30:.3g} GiB, but the file holds only {held} bytes of it: the file is "
                             "truncated or damaged; write it again (getheory.trained.save_dense)")
        need += count * (dtype.itemsize + 8)  # as read, then as float64
    free = backend_of().free_memory_bytes()  # the host's (NumPy) backend: the file is read into host memory
    if need > free:
        key, (shape, _d, _h) = max(arrays.items(), key=lambda kv: math.prod(kv[1][0]))
        raise ValueError(f"weights file {path!r} declares arrays that need {need / 2**30:.3g} GiB to load "
                         f"(the largest, {key}, has shape {shape}), but only {free / 2**30:.3g} GiB of memory "
                         "is free: the file is damaged, or the network is too large for this machine")


def _read_npz(path):
    """(arrays, activation names or None) from a ``.npz`` weights file."""
    try:
        _check_sizes(path, _npz_headers(path))
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except ValueError as exc:
        if str(exc).startswith(f"weights file {path!r}"):
            raise
        raise ValueError(f"weights file {path!r} is not a plain .npz archive ({exc}); store numeric arrays "
                         "and 'activations' as a string array (numpy.savez without object arrays)") from exc
    except (OSError, EOFError, zipfile.BadZipFile) as exc:  # empty, truncated, not a zip
        raise ValueError(f"weights file {path!r} is not a readable .npz archive ({type(exc).__name__}: "
                         f"{exc}): the file is empty, truncated or not an .npz; write it again "
                         "(numpy.savez or getheory.trained.save_dense)") from exc
    acts = arrays.pop("activations", None)
    if acts is not None:
        if acts.dtype.kind not in "US" or acts.ndim != 1:
            raise ValueError(f"weights file {path!r}: 'activations' must be a 1-D string array, got dtype "
                             f"{acts.dtype} and shape {acts.shape}")
        acts = [str(a) for a in acts]
    return arrays, acts


def _read_safetensors(path):
    """(arrays, activation names or None) from a ``.safetensors`` weights file."""
    try:
        with safetensors.safe_open(path, framework="np") as fh:
            meta = fh.metadata() or {}
            shapes = {k: fh.get_slice(k).get_shape() for k in fh.keys()}
        _check_sizes(path, {k: (tuple(v), np.dtype(np.float64), None) for k, v in shapes.items()})
        arrays = load_file(path)
    except (safetensors.SafetensorError, OSError) as exc:
        raise ValueError(f"weights file {path!r} is not a readable .safetensors file ({exc}): the file is "
                         "empty, truncated or damaged; write it again (safetensors.numpy.save_file or "
                         "getheory.trained.save_dense)") from exc
    return arrays, _metadata_activations(path, meta)


def _metadata_activations(path, meta):
    """The activation names of a ``.safetensors`` file's metadata (a JSON list), or None where absent."""
    acts = meta.get("activations")
    if acts is not None:
        try:
            acts = json.loads(acts)
        except json.JSONDecodeError:
            acts = None
        if not isinstance(acts, list):
            raise ValueError(f"weights file {path!r}: metadata 'activations' must be a JSON list of names, "
                             f"e.g. '[\"tanh\", \"identity\"]'; got {meta['activations']!r}")
    return acts


def _read(path, suffix):
    """(arrays, activation names or None) from a weights file."""
    return _read_npz(path) if suffix == ".npz" else _read_safetensors(path)


def _check_path(path, suffix):
    """Refuse a directory or a missing file."""
    if os.path.isdir(path):
        raise ValueError(f"weights file {path!r} is a directory: give the {suffix} file itself")
    if not os.path.isfile(path):
        raise ValueError(f"weights file {path!r} does not exist")


def _layer_count(path, arrays):
    """The number of layers L of a file's arrays W0, b0, ..., W{L-1}, b{L-1}; refuses other arrays, none or gaps."""
    layers = sorted({int(k[1:]) for k in arrays if k[:1] in "Wb" and k[1:].isdigit()})
    L = layers[-1] + 1 if layers else 0
    expected = {f"{p}{l}" for l in range(L) for p in "Wb"}
    extra = sorted(set(arrays) - expected)
    if L == 0 or extra:
        raise ValueError(f"weights file {path!r} has arrays {sorted(arrays)}" +
                         (f", of which {extra} are not in the layout" if extra and L else "") +
                         f"; expected {_LAYOUT}")
    _check_complete(path, arrays, L)
    return L


def _check_complete(path, arrays, L):
    """Refuse a file that lacks one of W0, b0, ..., W{L-1}, b{L-1} (named)."""
    for l in range(L):
        for key, shape in ((f"W{l}", "(N_out, N_in)"), (f"b{l}", "(N_out,)")):
            if key not in arrays:
                raise ValueError(f"weights file {path!r} lacks {key} (shape {shape}) of layer {l}: a network of "
                                 f"{L} layers needs W0..W{L - 1} and b0..b{L - 1}")


def _check_expected_sizes(path, gen, N, D):
    """Refuse a network whose N or D differs from the sizes the caller expects (None: any)."""
    for size, want, what in ((gen.N, N, "N (output)"), (gen.D, D, "D (latent)")):
        if want is not None and size != want:
            raise ValueError(f"weights file {path!r} is a network with widths {gen.widths} "
                             f"(D = {gen.D}, N = {gen.N}), "
                             f"but {what} = {want} was expected: it is from a different architecture; give the "
                             "matching file, or leave the size out to take it from the file")


def load_dense(path, *, N: int | None = None, D: int | None = None) -> DenseGenerator:
    """Read a :class:`DenseGenerator` from a ``.npz`` or ``.safetensors`` weights file (§9).

    Parameters
    ----------
    path : str or path-like
        A file in the layout of this module's docstring.
    N, D : int, optional
        The sizes the caller expects; a file whose network maps D' → N' with
        different sizes is refused (a file from a different architecture).

    Returns
    -------
    DenseGenerator
        With ``name`` set to the file's base name.

    Raises
    ------
    ValueError
        An unknown extension, a missing file or a directory, an empty, truncated or
        damaged file, a declared shape the file cannot hold or memory cannot take
        (refused before reading: "needs X GiB"), a missing array (named), a mis-shaped
        or non-finite array (named, with the shape expected), entries that overflow
        float64, weights whose outputs overflow on standard normal latents, an unknown
        or missing activation, unexpected arrays, or sizes other than ``N``, ``D``.
        Every message names the file.
    """
    path = os.fspath(path)
    suffix = _suffix(path)
    _check_path(path, suffix)
    arrays, acts = _read(path, suffix)
    L = _layer_count(path, arrays)
    if acts is None:
        raise ValueError(f"weights file {path!r} lacks the activation names: " +
                         ("a string array 'activations'" if suffix == ".npz" else "metadata 'activations'") +
                         f" with {L} entries from {', '.join(DENSE_ACTIVATIONS)}")
    try:
        gen = DenseGenerator([arrays[f"W{l}"] for l in range(L)], [arrays[f"b{l}"] for l in range(L)], acts,
                             name=os.path.basename(path))
    except ValueError as exc:
        raise ValueError(f"weights file {path!r}: {exc}") from None
    _check_expected_sizes(path, gen, N, D)
    return gen


def save_dense(path, gen: DenseGenerator) -> None:
    """Write ``gen`` to ``path`` (``.npz`` or ``.safetensors``) in the layout of :func:`load_dense`.

    The arrays are stored in float64, so a save and a load give back the same
    generator exactly.
    """
    if not isinstance(gen, DenseGenerator):
        raise TypeError(f"save_dense writes a DenseGenerator, not {type(gen).__name__}")
    path = os.fspath(path)
    suffix = _suffix(path)
    arrays = {}
    for l, (W, b) in enumerate(zip(gen.weights, gen.biases)):
        arrays[f"W{l}"] = np.ascontiguousarray(W)
        arrays[f"b{l}"] = np.ascontiguousarray(b)
    if suffix == ".npz":
        with open(path, "wb") as fh:  # a handle: np.savez would append ".npz" to other spellings
            np.savez(fh, activations=np.array(gen.activations), **arrays)
    else:
        save_file(arrays, path, metadata={"activations": json.dumps(list(gen.activations)),
                                          "layout": "getheory DenseGenerator (getheory.trained)"})
