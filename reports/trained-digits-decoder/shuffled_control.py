"""A control for the trained digits decoder: the same weight values, their structure destroyed.

Every weight matrix and bias vector of examples/trained-digits-decoder.npz has its
entries permuted at random (seeded), which keeps the widths, the activations and the
distribution of the entries of each layer but removes what training learnt.  Comparing
`getheory check` on the two separates what the small sizes (N = 64, D = 10) do to the
Gaussian equivalence from what training does.

    python reports/trained-digits-decoder/shuffled_control.py /tmp/shuffled-decoder.npz
"""

import sys

import numpy as np

from getheory.trained import DenseGenerator, load_dense, save_dense


def main(out, source="examples/trained-digits-decoder.npz", seed=0):
    gen = load_dense(source)
    rng = np.random.default_rng(seed)
    shuffle = [rng.permutation(a.ravel()).reshape(a.shape) for a in (*gen.weights, *gen.biases)]
    L = len(gen.weights)
    save_dense(out, DenseGenerator(shuffle[:L], shuffle[L:], gen.activations))
    print(f"wrote {out}: {source} with the entries of every array permuted (seed {seed})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/shuffled-decoder.npz")
