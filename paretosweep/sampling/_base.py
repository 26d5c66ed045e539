"""The one contract every sampler follows: ``ask`` for weight vectors, ``tell`` their results.

A sampler knows nothing of trials, seeds, Ray or Parquet. It proposes weight vectors on the
simplex (``[k, m]`` arrays, every row summing to 1) and receives, for each one it asked, the
objective values of its trials in *minimisation form* (``max`` objectives negated; a NaN row
for a trial that failed, diverged or was lost). With a ``scheduler``, ``tell`` also gets
``stopped``: which rows come from trials stopped early at a rung (the values of a partly trained
model, which the scheduler found outranked there); it is passed only when some row is stopped. The Tune searcher
(:class:`paretosweep.sweep.SamplerSearcher`) turns each weight vector into its trials (seeds ×
learning rates) and tells the sampler once all of them finished.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Sampler(Protocol):
    """Where the next weight vectors come from.

    Attributes:
        m: number of tasks (the length of every weight vector).
    """

    m: int

    @property
    def budget(self) -> int:
        """Weight vectors asked at most, in all (resumed ones included); re-tests come on top."""
        ...

    @property
    def retests(self) -> int:
        """Re-tests (weight vectors asked again) at most, on top of :attr:`budget`."""
        ...

    @property
    def planned(self) -> np.ndarray:
        """``[k, m]`` weight vectors known before any result (a static design: all of them)."""
        ...

    @property
    def finished(self) -> bool:
        """Nothing more will be asked."""
        ...

    def ask(self, n: int) -> np.ndarray | None:
        """Up to ``n`` weight vectors ``[k, m]``; None while the next ones wait on results told.

        A weight vector asked again is a re-test: the caller trains it once more on a new seed.
        Returns ``[0, m]`` once :attr:`finished`.
        """
        ...

    def tell(self, weights: Sequence[float] | np.ndarray, values: np.ndarray, *, stopped: np.ndarray | None = None) -> None:
        """The results of an asked weight vector: ``[r, m]`` values in minimisation form (NaN: failed);
        ``stopped``: ``bool [r]``, the rows of trials the scheduler stopped early (None: none)."""
        ...


class StaticSampler:
    """A design fixed in advance (``das_dennis``, ``energy``, ``sobol``, ``dirichlet``, ``explicit``).

    Args:
        weights: ``[n, m]`` the design (:attr:`planned`, in this order); results change nothing.
        order: the order ``ask`` hands the design out in, a permutation of ``range(n)``
            (default: as given). With an early-stopping scheduler the sweep passes a seeded
            shuffle (:func:`shuffled_order`), since asynchronous rungs compare each trial with
            those that arrived before it.
    """

    def __init__(self, weights: np.ndarray, *, order: Sequence[int] | np.ndarray | None = None) -> None:
        self._weights = np.asarray(weights, dtype=np.float64)
        if self._weights.ndim != 2:
            raise ValueError(f"A static design should be an [n, m] array of weight vectors; found shape {self._weights.shape}.")
        n = self._weights.shape[0]
        self._order = np.arange(n) if order is None else np.asarray(order, dtype=np.int64)
        if sorted(self._order.tolist()) != list(range(n)):
            raise ValueError(f"`order` should be a permutation of range({n}); found {self._order.tolist()}.")
        self.m = self._weights.shape[1]
        self._next = 0

    @property
    def budget(self) -> int:
        return int(self._weights.shape[0])

    @property
    def retests(self) -> int:
        return 0

    @property
    def planned(self) -> np.ndarray:
        return self._weights.copy()

    @property
    def finished(self) -> bool:
        return self._next >= self._weights.shape[0]

    def ask(self, n: int) -> np.ndarray:
        out = self._weights[self._order[self._next : self._next + max(0, n)]]
        self._next += out.shape[0]
        return out.copy()

    def tell(self, weights: Sequence[float] | np.ndarray, values: np.ndarray, *, stopped: np.ndarray | None = None) -> None:
        del weights, values, stopped  # a fixed design does not learn from results


def shuffled_order(n: int, seed: int) -> np.ndarray:
    """A permutation of ``range(n)`` drawn with ``numpy.random.default_rng(seed)``: the same for the same seed.

    >>> shuffled_order(4, 0).tolist() == shuffled_order(4, 0).tolist()
    True
    """
    return np.random.default_rng(seed).permutation(n)
