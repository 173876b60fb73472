"""A PyTorch generator for ``getheory check --generator examples.torch_generator:generate --D 64``.

x = tanh(W₂ tanh(W₁ c + b₁) + b₂): a two-layer perceptron with biases, hidden width 2D and
N = 2D outputs, in PyTorch's default initialisation (U(−1/√fan_in, 1/√fan_in) weights and
biases, seed 0), so no 1/√N scaling of getheory's own deep generators is imposed.  Replace
``_model`` with your trained network (``torch.load``, ``model.eval()``) to check it instead.

getheory hands the function its latents c (n, D) as a NumPy array, or a CuPy array on the GPU
under ``--backend cupy``; ``torch.from_dlpack`` views either without a copy, the network runs
on that device, and getheory imports the output tensor back the same way (docs: README,
"Framework generators").  Run from the repository root, which the CLI puts on ``sys.path``.
"""

import torch

_MODELS = {}


def _model(D: int, device, dtype) -> torch.nn.Module:
    """The network for latent dimension D on ``device`` in ``dtype``, built once (same weights everywhere)."""
    key = (D, str(device), dtype)
    if key not in _MODELS:
        with torch.random.fork_rng(devices=[]):  # seed the weights without touching the caller's RNG
            torch.manual_seed(0)
            net = torch.nn.Sequential(
                torch.nn.Linear(D, 2 * D), torch.nn.Tanh(), torch.nn.Linear(2 * D, 2 * D), torch.nn.Tanh()
            )
        _MODELS[key] = net.to(device=device, dtype=dtype).eval()
    return _MODELS[key]


@torch.no_grad()  # no autograd graph: getheory refuses tensors that require grad
def generate(c):
    """Map latents c (n, D), NumPy or CuPy, to inputs x (n, 2D), a tensor on c's device."""
    c = torch.from_dlpack(c)  # zero copy: CPU tensor for NumPy latents, CUDA tensor for CuPy ones
    return _model(c.shape[1], c.device, c.dtype)(c)
