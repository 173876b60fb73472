"""CUDA kernel of one-pass SGD for the CuPy backend (docs/theory.md §7.1, §7.8).

The same update as the CPU kernel (:mod:`getheory.dynamics._kernel_cpu`), for a
sample x (centred) with label y, Δ = φ(x) − y, φ(x) = Σ_k v_k g(λ_k), λ = W x/√N:

    w_k ← w_k − (η/√N) v_k g'(λ_k) Δ x,     v_k ← v_k − (η/N) g(λ_k) Δ,

with the values of W and v before the step.  The steps are strictly
sequential, so one thread block runs a whole segment of rows in one launch:
each step its threads compute the K dot products w_k·x over strided slices
of the N inputs, reduce them in shared memory, thread 0 forms the K
coefficients, and all threads update their slices of W.  There is one launch
per segment (a batch of samples between two record times), not one per step.

The kernel is compiled lazily, only when CuPy runs it; importing this module
needs neither CuPy nor a GPU.
"""

from __future__ import annotations

from ..activations import NETWORK_ACTIVATIONS, get_network_activation

__all__ = ["CUDA_SOURCE", "MAX_K", "sgd_segment_cuda"]

#: largest student width K the kernel's shared memory holds (THREADS·K doubles)
MAX_K = 16
_THREADS = 256


def _device_function(signature: str, attr: str) -> str:
    """A CUDA device function of z that returns the C expression ``attr`` of the network activation
    whose ``kernel_code`` is ``code`` (the last one without a test)."""
    acts = [get_network_activation(g) for g in NETWORK_ACTIVATIONS]
    lines = [f"    if (code == {a.kernel_code}) return {getattr(a, attr)};" for a in acts[:-1]]
    lines.append(f"    return {getattr(acts[-1], attr)};")
    return "__device__ __forceinline__ double " + signature + " {\n" + "\n".join(lines) + "\n}\n"


_PRELUDE = f"""
#define THREADS {_THREADS}
#define MAX_K {MAX_K}

{_device_function("g_act(double z, int code)", "cuda_g")}
{_device_function("g_prime(double z, int code)", "cuda_gprime")}
"""

#: the kernel's source: g and g' from the network activations' C snippets, then the SGD loop
CUDA_SOURCE = _PRELUDE + r"""extern "C" __global__ void sgd_segment(
    double* __restrict__ W, double* __restrict__ v,
    const double* __restrict__ X, const double* __restrict__ y,
    const int K, const int N, const int start, const int stop,
    const double eta, const int code, const int train_v, int* __restrict__ done)
{
    __shared__ double part[MAX_K * THREADS];
    __shared__ double coef[MAX_K];
    __shared__ int stop_flag;
    const int tid = threadIdx.x;
    const double sqN = sqrt((double)N);
    const double lr_w = eta / sqN;
    const double lr_v = eta / (double)N;
    if (tid == 0) stop_flag = 0;
    __syncthreads();
    int s;
    for (s = start; s < stop; ++s) {
        const double* x = X + (size_t)s * N;
        for (int k = 0; k < K; ++k) {
            const double* wk = W + (size_t)k * N;
            double acc = 0.0;
            for (int i = tid; i < N; i += THREADS) acc += wk[i] * x[i];
            part[k * THREADS + tid] = acc;
        }
        __syncthreads();
        for (int width = THREADS / 2; width > 0; width >>= 1) {
            if (tid < width)
                for (int k = 0; k < K; ++k) part[k * THREADS + tid] += part[k * THREADS + tid + width];
            __syncthreads();
        }
        if (tid == 0) {
            double phi = 0.0;
            for (int k = 0; k < K; ++k) phi += v[k] * g_act(part[k * THREADS] / sqN, code);
            const double delta = phi - y[s];
            if (!isfinite(delta)) {
                stop_flag = 1;
            } else {
                for (int k = 0; k < K; ++k) {
                    const double lam = part[k * THREADS] / sqN;
                    coef[k] = lr_w * v[k] * g_prime(lam, code) * delta;
                }
                if (train_v)
                    for (int k = 0; k < K; ++k) v[k] -= lr_v * g_act(part[k * THREADS] / sqN, code) * delta;
            }
        }
        __syncthreads();
        if (stop_flag) break;
        for (int k = 0; k < K; ++k) {
            double* wk = W + (size_t)k * N;
            const double ck = coef[k];
            for (int i = tid; i < N; i += THREADS) wk[i] -= ck * x[i];
        }
        __syncthreads();
    }
    if (tid == 0) done[0] = s - start;
}
"""

_kernel = None


def _compiled():
    global _kernel
    if _kernel is None:
        import cupy  # the gpu extra: needed only when a CUDA backend runs the kernel

        _kernel = cupy.RawKernel(CUDA_SOURCE, "sgd_segment")
    return _kernel


def sgd_segment_cuda(W, v, X, y, eta, code, train_v, start, stop):
    """Run SGD steps on rows ``start:stop`` of ``X`` in place on the CuPy arrays ``W`` (K, N), ``v`` (K,).

    Same contract as the CPU kernel: returns the number of steps done, smaller
    than ``stop − start`` only when Δ became non-finite (divergence).  All
    arrays are C-contiguous float64 CuPy arrays on one device; one launch of a
    single 256-thread block runs the whole segment.
    """
    import cupy  # the gpu extra: this module imports without it (see the module's docstring)

    K, N = W.shape
    if K > MAX_K:
        raise ValueError(f"the CUDA SGD kernel holds at most K = {MAX_K} student units; got K = {K} "
                         "(use --backend numpy for wider students)")
    if stop <= start:
        return 0
    for name, a in (("W", W), ("v", v), ("X", X), ("y", y)):
        if a.dtype != cupy.float64 or not a.flags.c_contiguous:
            raise ValueError(f"{name} must be a C-contiguous float64 CuPy array")
    done = cupy.zeros(1, dtype=cupy.int32)
    _compiled()((1,), (_THREADS,), (W, v, X, y, cupy.int32(K), cupy.int32(N), cupy.int32(start),
                                    cupy.int32(stop), cupy.float64(eta), cupy.int32(code),
                                    cupy.int32(1 if train_v else 0), done))
    return int(done.get()[0])

