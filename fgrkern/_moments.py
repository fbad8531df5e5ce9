"""Private: streaming moments of P(t) and the IPR, merged in a fixed chunk order.

Each chunk is summarised by its count, means and centred second moments, and
chunks are merged with the pairwise update of Chan, Golub and LeVeque: the
variance does not suffer the cancellation of raw sums of P and P^2, and
merging in chunk order fixes every bit of the result.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

__all__ = ["Moments", "OrderedReduction"]


@dataclass
class Moments:
    """Count, means and centred second moments of P (per g, t) and of the IPR (per g).

    ``ipr_m2`` is the full (G, G) co-moment matrix: the g values share random
    numbers, and their covariance is part of the result.
    """

    n: int
    mean: np.ndarray      # (G, T)
    m2: np.ndarray        # (G, T)
    ipr_mean: np.ndarray  # (G,)
    ipr_m2: np.ndarray    # (G, G)

    @classmethod
    def empty(cls, G: int, T: int) -> "Moments":
        return cls(0, np.zeros((G, T)), np.zeros((G, T)), np.zeros(G), np.zeros((G, G)))

    @classmethod
    def from_samples(cls, P: np.ndarray, ipr: np.ndarray) -> "Moments":
        """P: (size, G, T), ipr: (size, G)."""
        return cls.from_rows([P[:, g, :] for g in range(P.shape[1])], ipr)

    @classmethod
    def from_rows(cls, Ps: list[np.ndarray], ipr: np.ndarray) -> "Moments":
        """Ps: one (size, T) array per coupling g, ipr: (size, G)."""
        # Samples along the last, contiguous axis: every (g, t) entry is then
        # reduced by the same pairwise summation whatever G and T are, so a
        # coupling evaluated among several gives bitwise the same numbers as
        # evaluated alone (no BLAS: its summation order depends on shapes).
        # One coupling at a time: (G, T, size) temporaries of a few hundred kB
        # were returned to the system and faulted in again on every chunk.
        means, m2s = [], []
        for P in Ps:
            X = np.ascontiguousarray(P.T)
            mean = X.mean(axis=-1)
            dX = X - mean[:, None]
            means.append(mean)
            m2s.append((dX * dX).sum(axis=-1))
        Y = np.ascontiguousarray(ipr.T)
        ipr_mean = Y.mean(axis=-1)
        dY = Y - ipr_mean[:, None]
        return cls(ipr.shape[0], np.array(means), np.array(m2s), ipr_mean,
                   (dY[:, None, :] * dY[None, :, :]).sum(axis=-1))

    def combine(self, other: "Moments") -> "Moments":
        if self.n == 0:
            return copy.deepcopy(other)
        if other.n == 0:
            return copy.deepcopy(self)
        n = self.n + other.n
        fb = other.n / n
        d = other.mean - self.mean
        di = other.ipr_mean - self.ipr_mean
        return Moments(
            n,
            self.mean + d * fb,
            self.m2 + other.m2 + d * d * (self.n * fb),
            self.ipr_mean + di * fb,
            self.ipr_m2 + other.ipr_m2 + np.outer(di, di) * (self.n * fb),
        )

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {
            prefix + "n": np.array(self.n, dtype=np.int64),
            prefix + "mean": self.mean, prefix + "m2": self.m2,
            prefix + "ipr_mean": self.ipr_mean, prefix + "ipr_m2": self.ipr_m2,
        }


class OrderedReduction:
    """Chunk moments reduced in chunk order: a merged prefix plus out-of-order arrivals."""

    def __init__(self, G: int, T: int) -> None:
        self.prefix = Moments.empty(G, T)
        self.next = 0                         # chunks [0, next) are in prefix
        self.pending: dict[int, Moments] = {}

    def add(self, index: int, m: Moments) -> None:
        if index < self.next or index in self.pending:
            raise RuntimeError(f"chunk {index} reported twice")
        self.pending[index] = m
        while self.next in self.pending:
            self.prefix = self.prefix.combine(self.pending.pop(self.next))
            self.next += 1

    def done_samples(self) -> int:
        return self.prefix.n + sum(m.n for m in self.pending.values())
