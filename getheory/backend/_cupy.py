"""The CuPy backend: arrays on the current CUDA device, cuRAND normals, cupyx special functions."""

from __future__ import annotations

import os

import numpy as np

from ._base import UfuncBackend, _seed_int, np_dtype
from ._foreign import _DL_NAMES, _advice

__all__ = ["CupyBackend"]

#: DLPack device types CuPy reads in place
_DL_GPU = (2, 10, 13)


class CupyBackend(UfuncBackend):
    """CuPy on the current CUDA device.

    Creation functions of CuPy place arrays on the current device, so ``xp`` needs
    no device argument.  Latents come from one device generator per stream
    (``host_normals = False``): the GPU stream depends on the batch size, the CPU
    stream does not; both are equally random.
    """

    name = "cupy"
    host = False
    host_normals = False
    sparse_gathers = False
    batch_cap_bytes = 4 * 1024**3
    block_elems = 1 << 24
    compiled_kernels = "cuda"

    def __init__(self, *, check_env: bool = True):
        if check_env and os.environ.get("CUPY_TF32", "0") not in ("", "0"):
            raise RuntimeError(
                "CUPY_TF32 is set: CuPy would round float32 matrix products to TF32 (10-bit "
                "mantissa), which flips sign(h) for small |h| and biases d_MS; unset CUPY_TF32"
            )
        xp = None
        if check_env:
            import array_api_compat.cupy as xp  # optional (the gpu extra): imports CuPy
        super().__init__(xp, None)

    @property
    def _cupy(self):
        import cupy  # optional (the gpu extra): only a CuPy backend loads it

        return cupy

    @property
    def _mod(self):
        return self._cupy

    @property
    def _special(self):
        import cupyx.scipy.special  # optional (the gpu extra): only a CuPy backend loads it

        return cupyx.scipy.special

    def owns(self, x) -> bool:
        return type(x).__module__.startswith("cupy") and type(x).__name__ == "ndarray"

    def asarray(self, x, dtype=None):
        return self._cupy.asarray(x, dtype=None if dtype is None else np_dtype(dtype))

    def _to_host(self, x):
        if self.owns(x):
            return x.get()
        return np.asarray(x)

    def rng(self, seed=None):
        return self._cupy.random.default_rng(_seed_int(seed))

    def free_memory_bytes(self) -> int:
        cupy = self._cupy
        free, _total = cupy.cuda.runtime.memGetInfo()
        return int(free + cupy.get_default_memory_pool().free_bytes())

    def synchronize(self) -> None:
        self._cupy.cuda.get_current_stream().synchronize()

    def _from_dlpack(self, x):
        return self._cupy.from_dlpack(x)

    def _check_device(self, dev, lib, what):
        kind, index = dev
        where = f"{_DL_NAMES.get(kind, f'DLPack device type {kind}')} device {index}"
        if kind not in _DL_GPU:
            raise ValueError(
                f"{what} is on {where} but the run uses backend 'cupy' (GPU memory), and getheory does not "
                f"copy samples to the GPU batch by batch: return an array on the GPU ({_advice(lib, 'gpu')}), "
                "e.g. by computing on the latents' device, or run with --backend numpy (backend='numpy')"
            )
        current = self._cupy.cuda.Device().id
        if index != current:
            raise ValueError(
                f"{what} is on {where} but the run uses CUDA device {current}: move it with "
                f"{_advice(lib, 'gpu', current)}, or run getheory on device {index} "
                f"(CUDA_VISIBLE_DEVICES={index})"
            )
