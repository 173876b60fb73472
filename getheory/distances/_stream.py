"""Streaming statistics of the local fields: per-group power sums up to order 4 (docs/theory.md §4.1).

Samples are a stream.  :class:`FieldStream` takes batches of z = (λ, ν), shape (b, d),
on their backend, standardises them with the Gaussian match,
z̃ = (z − m) / s with s = √diag Σ (1 where Σ_jj = 0), and adds them to G independent
groups' power-sum tensors

.. math::

    S^{(1)}_a = \\sum_i \\tilde z_{ia},\\quad S^{(2)}_{ab} = \\sum_i \\tilde z_{ia}\\tilde z_{ib},\\quad
    S^{(3)}_{abc},\\quad S^{(4)}_{abcd}\\quad (i \\text{ over the group's rows}),

at most d + d² + d³ + d⁴ = 4,680 numbers a group for d = 8.  Each batch is cut into G
contiguous parts of (nearly) equal size, part g going to group g; the rows are i.i.d., so
the groups are independent samples whatever the batch sizes.  The per-batch cost is three
batched matrix products of O(b·d⁴) flops, small against the O(b·N·D) of sampling.

Nothing of size n is kept, except the optional *reservoir*: the first ``n_plugin`` rows,
kept for the plug-in estimate.  Rows are exchangeable, so the first rows are a uniform
subsample of the stream.  Memory is O(G·d⁴ + n_plugin·d), independent of n.

Only :meth:`FieldStream.finish` moves data to the host: the tensors (kilobytes) and the
reservoir.

Streams merge exactly (docs/theory.md §4.1, Sharded runs): the statistics are sums, so the
statistics of rows streamed in parts (shards) are the part-wise sums of the parts'
statistics, group by group (:meth:`FieldStats.merge`, :func:`merge_stats`).  A part whose
stream starts at group ``first_group = (rows before it) mod G`` continues the group
assignment of one stream fed the same batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._repr import ShortRepr
from .._validation import check_cov, check_int
from ..backend import backend_of, get_backend

__all__ = ["FieldStream", "FieldStats", "StreamOptions", "merge_stats"]

#: largest number of fields the streaming tensors accept (d⁴ = 4096 numbers at d = 8)
MAX_D = 8


@dataclass(frozen=True, repr=False)
class StreamOptions(ShortRepr):
    """How a stream is accumulated.

    Attributes
    ----------
    groups : int
        Independent groups G (default 64): the cumulant estimator selects its direction on
        a quarter of them and evaluates it, with a between-group standard error, on the rest.
    n_plugin : int
        Rows kept for the plug-in estimate, at most (default 2^18 = 262,144; 0 keeps none).
        With ``samples="auto"`` a check's pilot sizes the reservoir within this cap
        (docs/theory.md §4.1, The reservoir); the 10^6 rows of earlier versions made the
        plug-in and its 19 floor replicates rival the sampling at N = 256.
    """

    groups: int = 64
    n_plugin: int = 1 << 18

    def __post_init__(self):
        check_int(self.groups, "groups", 8)
        check_int(self.n_plugin, "n_plugin", 0)


@dataclass
class FieldStats:
    """The finished stream: per-group power sums of z̃ = (z − m)/s, on the host.

    Attributes
    ----------
    counts : ndarray, shape (G,)
        Rows per group.
    S1, S2, S3, S4 : ndarray, shapes (G, d), (G, d, d), (G, d, d, d), (G, d, d, d, d)
        Power sums of the standardised rows of each group.
    mean, scale : ndarray, shape (d,)
        The standardisation m and s (z̃ = (z − m)/s).
    reservoir : array or None, shape (n_res, d)
        The first rows of z, unstandardised, on the stream's backend.
    """

    counts: np.ndarray
    S1: np.ndarray
    S2: np.ndarray
    S3: np.ndarray
    S4: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    reservoir: object = None

    @property
    def n(self) -> int:
        return int(np.sum(self.counts))

    @property
    def d(self) -> int:
        return int(self.S1.shape[1])

    @property
    def groups(self) -> int:
        return int(self.counts.shape[0])

    def pooled(self, groups=None):
        """(n, S1, S2, S3, S4) summed over ``groups`` (an index array; default all)."""
        sel = slice(None) if groups is None else np.asarray(groups)
        return (float(np.sum(self.counts[sel])), self.S1[sel].sum(0), self.S2[sel].sum(0),
                self.S3[sel].sum(0), self.S4[sel].sum(0))

    def merge(self, other: FieldStats, *, n_plugin: int | None = None) -> FieldStats:
        """The statistics of this stream's rows followed by ``other``'s (docs/theory.md §4.1).

        Group g of the result holds group g of both:

        .. math:: n_g = n_g^{a} + n_g^{b},\\qquad S^{(r)}_g = S^{(r),a}_g + S^{(r),b}_g,\\quad r = 1..4,

        one float addition per entry, ``self`` first, so a fixed order of merges gives the
        same bits every time.  The reservoir is this one's rows, then ``other``'s, cut to
        ``n_plugin`` rows when given.

        Raises
        ------
        ValueError
            When the two differ in groups, d or standardisation (m, s): they are not parts
            of one stream.
        """
        return merge_stats([self, other], n_plugin=n_plugin)


def _check_mergeable(first: FieldStats, other: FieldStats, index: int):
    """Refuse statistics that are not parts of one stream (groups, d, m and s must agree)."""
    if not isinstance(other, FieldStats):
        raise TypeError(f"merge_stats takes FieldStats; item {index} is {type(other).__name__}")
    if (other.groups, other.d) != (first.groups, first.d):
        raise ValueError(f"cannot merge stream statistics with (groups, d) = ({other.groups}, {other.d}) "
                         f"(item {index}) into ({first.groups}, {first.d}): merge parts of one stream, "
                         "streamed with the same StreamOptions.groups and fields")
    if not (np.array_equal(other.mean, first.mean) and np.array_equal(other.scale, first.scale)):
        raise ValueError(f"cannot merge stream statistics standardised with another match (item {index}): "
                         "every part must be streamed with the same Gaussian match (mean, cov)")


def merge_stats(parts, *, n_plugin: int | None = None) -> FieldStats:
    """The statistics of the parts' rows, in the parts' order (docs/theory.md §4.1, Sharded runs).

    Counts and the power sums S1..S4 are added group by group, left to right:
    ``merge_stats([a, b, c])`` is ``(a + b) + c`` entry by entry, the same bits as
    ``a.merge(b).merge(c)``.  Float addition is not associative, so the order is fixed by
    the list and by nothing else: a sharded run lists its shards by index, whichever
    process computed them and whenever they finished.  The reservoir is the parts'
    reservoirs one after the other (the first rows of the first parts), cut to
    ``n_plugin`` rows when given.

    Parameters
    ----------
    parts : sequence of FieldStats
        Parts of one stream: the same groups, d and standardisation.
    n_plugin : int, optional
        Keep at most this many reservoir rows.

    Returns
    -------
    FieldStats
        New arrays; the parts are not modified.
    """
    parts = list(parts)
    if not parts:
        raise ValueError("merge_stats needs at least one FieldStats")
    first = parts[0]
    for i, p in enumerate(parts[1:], 1):
        _check_mergeable(first, p, i)
    counts, sums = first.counts.copy(), [first.S1.copy(), first.S2.copy(), first.S3.copy(), first.S4.copy()]
    for p in parts[1:]:
        counts += p.counts
        for acc, add in zip(sums, (p.S1, p.S2, p.S3, p.S4)):
            acc += add
    return FieldStats(counts=counts, S1=sums[0], S2=sums[1], S3=sums[2], S4=sums[3], mean=first.mean.copy(),
                      scale=first.scale.copy(), reservoir=_joined_reservoir(parts, n_plugin))


def _joined_reservoir(parts, n_plugin):
    """The parts' reservoirs in order (on their backend), at most ``n_plugin`` rows; None if none."""
    kept = [p.reservoir for p in parts if p.reservoir is not None and int(p.reservoir.shape[0]) > 0]
    if not kept:
        return None
    res = kept[0] if len(kept) == 1 else backend_of(kept[0]).xp.concat(kept, axis=0)
    if n_plugin is not None and int(res.shape[0]) > n_plugin:
        res = res[:n_plugin, ...]
    return res if n_plugin != 0 else None


class FieldStream:
    """Accumulate :class:`FieldStats` batch by batch, on the batches' backend.

    Parameters
    ----------
    mean : array, shape (d,)
    cov : array, shape (d, d)
        The Gaussian match; used only to standardise (any fixed m, s give the same
        cumulants: the k-statistics are translation invariant and scale covariant).
    options : StreamOptions
    backend : str or Backend
    first_group : int
        The group that receives the first remainder row (default 0).  A part of a longer
        stream that starts after r rows passes ``r mod G`` to continue that stream's
        assignment, so that its merged groups stay as balanced as one stream's
        (:func:`merge_stats`).
    """

    def __init__(self, mean, cov, *, options: StreamOptions | None = None, backend="numpy", first_group: int = 0):
        self.options = options or StreamOptions()
        self.bk = get_backend(backend)
        m = np.asarray(mean, dtype=np.float64).reshape(-1)
        d = int(m.shape[0])
        if not 1 <= d <= MAX_D:
            raise ValueError(f"the streaming estimator takes 1 <= K + M <= {MAX_D} fields; got d = {d}")
        C, _w, _V, _c = check_cov(cov, d)
        s = np.sqrt(np.clip(np.diag(C), 0.0, None))
        s[s == 0] = 1.0
        self.d, self.mean, self.scale = d, m, s
        xp, G = self.bk.xp, self.options.groups
        f64 = xp.float64
        self._m = self.bk.asarray(m, dtype=f64)
        self._inv_s = self.bk.asarray(1.0 / s, dtype=f64)
        self._S1 = xp.zeros((G, d), dtype=f64)
        self._S2 = xp.zeros((G, d, d), dtype=f64)
        self._S3 = xp.zeros((G, d * d, d), dtype=f64)
        self._S4 = xp.zeros((G, d * d, d * d), dtype=f64)
        self._counts = np.zeros(G, dtype=np.int64)
        check_int(first_group, "first_group", 0)
        self._next = int(first_group) % G  # group that receives the next remainder row
        self._res = []
        self._n_res = 0

    @property
    def n(self) -> int:
        return int(self._counts.sum())

    def update(self, z):
        """Add a batch z, shape (b, d), on the stream's backend (any float dtype)."""
        xp, G, d = self.bk.xp, self.options.groups, self.d
        if getattr(z, "ndim", None) != 2:
            raise ValueError(f"a batch must be a 2-D array of shape (b, {d}); got shape {getattr(z, 'shape', None)}")
        b = int(z.shape[0])
        if b == 0:
            return
        if int(z.shape[1]) != d:
            raise ValueError(f"batch has {int(z.shape[1])} columns, the stream expects d = {d}")
        keep = min(b, self.options.n_plugin - self._n_res)
        if keep > 0:
            self._res.append(xp.astype(z[:keep, ...], xp.float64, copy=True))
            self._n_res += keep
        zt = (xp.astype(z, xp.float64) - self._m) * self._inv_s
        r = b // G
        if r > 0:
            Z = xp.reshape(zt[: G * r, ...], (G, r, d))
            Y = xp.reshape(Z[:, :, :, None] * Z[:, :, None, :], (G, r, d * d))
            self._S1 += xp.sum(Z, axis=1)
            self._S2 += xp.matmul(xp.matrix_transpose(Z), Z)
            Yt = xp.matrix_transpose(Y)
            self._S3 += xp.matmul(Yt, Z)
            self._S4 += xp.matmul(Yt, Y)
            self._counts += r
        rem = b - G * r
        if rem:
            g = (self._next + np.arange(rem)) % G  # distinct groups: no index repeats
            # row i goes to group g_i through a one-hot (G, rem) matrix: each sum has one
            # non-zero term, so the products are exact (no scatter-add, which the array API lacks)
            Et = self.bk.asarray(np.eye(G)[:, g])
            R = zt[G * r:, ...]
            Y = xp.reshape(R[:, :, None] * R[:, None, :], (rem, d * d))
            Y3 = xp.reshape(Y[:, :, None] * R[:, None, :], (rem, d * d * d))
            Y4 = xp.reshape(Y[:, :, None] * Y[:, None, :], (rem, d**4))
            self._S1 += Et @ R
            self._S2 += xp.reshape(Et @ Y, (G, d, d))
            self._S3 += xp.reshape(Et @ Y3, (G, d * d, d))
            self._S4 += xp.reshape(Et @ Y4, (G, d * d, d * d))
            self._counts[g] += 1
            self._next = int((self._next + rem) % G)

    def finish(self) -> FieldStats:
        """The accumulated statistics (tensors copied to the host; the reservoir stays)."""
        bk, d, G = self.bk, self.d, self.options.groups
        if self.n == 0:
            raise ValueError("the stream is empty: add at least one batch of samples")
        res = None
        if self._res:
            res = self._res[0] if len(self._res) == 1 else bk.xp.concat(self._res, axis=0)
        return FieldStats(
            counts=self._counts.copy(),
            S1=bk.to_numpy(self._S1).copy(),
            S2=bk.to_numpy(self._S2).copy(),
            S3=bk.to_numpy(self._S3).reshape(G, d, d, d).copy(),
            S4=bk.to_numpy(self._S4).reshape(G, d, d, d, d).copy(),
            mean=self.mean.copy(),
            scale=self.scale.copy(),
            reservoir=res,
        )


def stream_array(z, mean, cov, *, options: StreamOptions | None = None, batch_rows: int = 1 << 16) -> FieldStats:
    """Feed an in-memory sample z, shape (n, d), through a :class:`FieldStream`."""
    bk = backend_of(z)
    st = FieldStream(mean, cov, options=options, backend=bk)
    n = int(z.shape[0])
    for s in range(0, n, batch_rows):
        st.update(z[s: s + batch_rows])
    return st.finish()
