"""Train a small VAE on scikit-learn's bundled 8×8 digits and save its decoder for getheory.

The decoder is a generator in the paper's sense (docs/theory.md §1, §9): latents
c ~ N(0, I_D) (the VAE's prior) go through

    x = W1 tanh(W0 c + b0) + b1,    W0 (H, D), W1 (64, H),

to standardised pixel intensities x ∈ R^64 (N = 64).  The weights are written in
getheory's dense-generator layout (getheory.trained), so that

    getheory check --weights examples/trained-digits-decoder.npz
    getheory dynamics --weights examples/trained-digits-decoder.npz

test the Gaussian equivalence on it (reports/trained-digits-decoder/).

Model: a Gaussian VAE.  Encoder 64 → H (tanh) → (μ, log σ²) of q(c | x); decoder as
above with a learned pixel noise variance s² (one scalar), loss the negative ELBO
(reconstruction −log N(x; decoder(c), s² I) plus KL(q ‖ N(0, I_D))), Adam, full
reparameterised sampling.  Pixels are standardised per pixel over the 1797 images;
the three pixels that are 0 in every image stay 0.

Needs ``pip install "getheory[examples]"`` (torch on the CPU and scikit-learn; the data
ship inside scikit-learn's wheel, nothing is downloaded).  Seeded and run on one thread,
so a rerun on the same machine and library versions writes the same weights.

Usage::

    python examples/train_digits_decoder.py            # D = 10, H = 128, 400 epochs
    python examples/train_digits_decoder.py --help
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def standardised_digits() -> np.ndarray:
    """The 1797 digits as float64 rows of 64 pixels, each pixel centred and scaled to unit variance."""
    from sklearn.datasets import load_digits

    X = load_digits().data.astype(np.float64)  # (1797, 64), intensities 0..16
    mean, std = X.mean(axis=0), X.std(axis=0)
    return (X - mean) / np.where(std > 0, std, 1.0)


def train(X: np.ndarray, *, D: int, H: int, epochs: int, batch: int, lr: float, seed: int):
    """Fit the VAE; returns (decoder weights W0, b0, W1, b1 as float64 arrays, a dict of training figures)."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    torch.set_num_threads(1)  # one thread: reductions always in the same order
    torch.use_deterministic_algorithms(True)
    N = X.shape[1]
    enc = nn.Sequential(nn.Linear(N, H), nn.Tanh(), nn.Linear(H, 2 * D))
    dec_hidden, dec_out = nn.Linear(D, H), nn.Linear(H, N)
    log_s2 = nn.Parameter(torch.zeros(()))  # log of the pixel noise variance s²
    params = [*enc.parameters(), *dec_hidden.parameters(), *dec_out.parameters(), log_s2]
    opt = torch.optim.Adam(params, lr=lr)
    data = torch.as_tensor(X, dtype=torch.float32)
    gen = torch.Generator().manual_seed(seed)
    n = data.shape[0]
    history = []
    for _epoch in range(epochs):
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for start in range(0, n, batch):
            x = data[perm[start:start + batch]]
            mu, logvar = enc(x).chunk(2, dim=1)
            c = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=gen)
            x_hat = dec_out(torch.tanh(dec_hidden(c)))
            rec = 0.5 * (((x - x_hat) ** 2).sum(1) / log_s2.exp() + N * log_s2)
            kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1)
            loss = (rec + kl).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * x.shape[0]
        history.append(total / n)
    with torch.no_grad():
        mu, logvar = enc(data).chunk(2, dim=1)
        kl_dim = (0.5 * (mu**2 + logvar.exp() - 1 - logvar)).mean(0).numpy()
    weights = [dec_hidden.weight, dec_hidden.bias, dec_out.weight, dec_out.bias]
    W0, b0, W1, b1 = (w.detach().numpy().astype(np.float64) for w in weights)
    figures = {"loss_first_epoch": history[0], "loss_last_epoch": history[-1],
               "pixel_noise_variance": float(log_s2.detach().exp()), "kl_per_latent": kl_dim}
    return (W0, b0, W1, b1), figures


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--latent", type=int, default=10, help="latent dimension D (default 10)")
    p.add_argument("--hidden", type=int, default=128, help="hidden width H of encoder and decoder (default 128)")
    p.add_argument("--epochs", type=int, default=400, help="passes over the 1797 images (default 400)")
    p.add_argument("--batch", type=int, default=64, help="minibatch size (default 64)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument("--seed", type=int, default=0, help="seed of torch's generator (default 0)")
    p.add_argument("--out", default="examples/trained-digits-decoder.npz",
                   help="weights file, .npz or .safetensors (default examples/trained-digits-decoder.npz)")
    args = p.parse_args(argv)

    from getheory.trained import DenseGenerator, save_dense

    X = standardised_digits()
    t0 = time.perf_counter()
    (W0, b0, W1, b1), fig = train(X, D=args.latent, H=args.hidden, epochs=args.epochs, batch=args.batch,
                                  lr=args.lr, seed=args.seed)
    seconds = time.perf_counter() - t0
    gen = DenseGenerator([W0, W1], [b0, b1], ["tanh", "identity"], name=args.out)
    save_dense(args.out, gen)
    active = int(np.sum(fig["kl_per_latent"] > 0.05))
    print(f"trained in {seconds:.1f} s: {args.epochs} epochs of {X.shape[0]} images, widths {gen.widths}")
    print(f"negative ELBO per image {fig['loss_first_epoch']:.2f} (epoch 1) -> {fig['loss_last_epoch']:.2f} "
          f"(epoch {args.epochs}); pixel noise variance s² = {fig['pixel_noise_variance']:.3f}")
    print("KL per latent (nats): " + ", ".join(f"{k:.2f}" for k in fig["kl_per_latent"])
          + f"; {active} of {args.latent} latents in use (KL > 0.05)")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
