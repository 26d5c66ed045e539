"""Adaptive refinement of the swept weight vectors: spend trials where the frontier has gaps.

Synchronous rounds: the initial design (lattice corners, centroid, Sobol' fill), then rounds
of at most ``batch`` weight vectors aimed at the largest open *targets* of the current frontier
of seed means (``_targets``: NISE normals for linear scalarization, hull facets for more
tasks, Tchebycheff rays through gap midpoints), with shares of each round for a focus region,
the knee and crowded parts, and re-tests of near misses on new seeds (``_noise``). It stops
when the budget is used or no target is open. ``docs/adaptive-sampler.md`` gives every rule.
Pure numpy/scipy (no Ray); the sweep's ``SamplerSearcher`` and ``benchmarks/sample_efficiency.py``
drive the same :class:`AdaptiveSampler`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from paretosweep import simplex
from paretosweep.errors import ConfigError
from paretosweep.sampling._focus import KNEE, FocusRegion
from paretosweep.sampling._noise import near_misses, per_weight, weight_key
from paretosweep.sampling._targets import LINEAR, TCHEBYCHEFF_LIKE, frontier, propose


def default_n_initial(m: int, n_weights: int) -> int:
    """``m + 1`` (the corners and the centroid; for 2 tasks: both ends and the middle), capped by the budget."""
    return max(1, min(m + 1, n_weights))


def resolve_n_initial(m: int, n_weights: int, n_initial: int | None, tolerance: float) -> int:
    """Check the adaptive sampler's settings against the task count and budget; the initial design size.

    Raises:
        ConfigError: ``sampler.tolerance`` <= 0, ``sampler.n_initial`` < m (the design cannot
            reach every task's end of the front), ``sampler.n_initial`` > ``budget.n_weights``, or
            ``budget.n_weights`` smaller than the default initial design (``m + 1``).
    """
    if not tolerance > 0:
        raise ConfigError(f"`sampler.tolerance` should be > 0 (a normalised gap, e.g. 0.02); found {tolerance}.")
    if n_initial is None:
        if n_weights < m + 1:
            raise ConfigError(
                f"`budget.n_weights` ({n_weights}) is smaller than the adaptive sampler's initial design: "
                f"{m + 1} weight vectors (the {m} corners of the simplex and its centroid) for {m} tasks. "
                f"Raise `budget.n_weights` to at least {m + 1} (more, to leave trials for refinement), "
                f"or set `sampler.n_initial` between {m} and {n_weights}."
                if n_weights >= m
                else f"`budget.n_weights` ({n_weights}) is smaller than the adaptive sampler's initial design: "
                f"{m + 1} weight vectors (the {m} corners of the simplex and its centroid) for {m} tasks. "
                f"Raise `budget.n_weights` to at least {m + 1} (more, to leave trials for refinement)."
            )
        return default_n_initial(m, n_weights)
    if n_initial < m:
        raise ConfigError(
            f"`sampler.n_initial` should be >= the number of tasks ({m}) so the initial design holds each "
            f"task's corner of the simplex; found {n_initial}."
        )
    if n_initial > n_weights:
        raise ConfigError(
            f"`sampler.n_initial` ({n_initial}) is larger than the budget `budget.n_weights` ({n_weights}): "
            "the adaptive sampler would have no trials left to refine with. Lower `sampler.n_initial` or "
            "raise `budget.n_weights`."
        )
    return n_initial


def initial_design(m: int, n_initial: int, *, floor: float, seed: int) -> np.ndarray:
    """``[n_initial, m]`` space-filling weight vectors: lattice (corners first), centroid, Sobol'."""
    if n_initial < m:
        lattice = simplex.das_dennis(m, 1)[:n_initial]
    else:
        lattice = simplex.das_dennis_at_most(m, n_initial)
    rows = [tuple(w) for w in lattice]
    centroid = tuple(np.full(m, 1.0 / m))
    if len(rows) < n_initial and not any(np.allclose(r, centroid) for r in rows):
        rows.append(centroid)
    if len(rows) < n_initial:
        rows.extend(tuple(w) for w in simplex.sobol_simplex(m, n_initial - len(rows), seed=seed))
    return simplex.apply_floor(np.asarray(rows[:n_initial], dtype=np.float64), floor)


@dataclass
class AdaptiveSampler:
    """The adaptive sampler's state: ask for a round, tell its results, until it says it is done.

    Rounds are synchronous: :meth:`ask` hands out the initial design first, then one round of at
    most ``batch`` proposals (plus re-tests); every weight vector of a round must be told
    (:meth:`tell`) before the next :meth:`ask`. An empty round means finished (budget used or
    converged). After each :meth:`ask`, :attr:`last_retest` says which rows are re-tests.

    Args:
        m: number of tasks (objectives).
        scalarizer: the sweep's scalarizer name.
        n_weights: the budget: new weight vectors in all, initial design included.
        n_initial: initial design size (default :func:`default_n_initial`).
        tolerance: stop when the largest normalised gap is below it.
        batch: proposals per round.
        floor: the sampler's floor on each weight.
        seed: seeds the Sobol' fill of the initial design.
        ideal: the ideal point z for Tchebycheff directions (default: running minimum).
        focus: a :class:`FocusRegion` (from :func:`paretosweep.sampling.parse_focus`), ``"knee"``, or None.
        focus_share: the share of each round aimed into the focus (region or knee).
        knee_share: the share of each round that refines around the knee.
        crowded_share: the share of each round that refines the crowded parts.
        retests: re-tests of near-miss weight vectors in all (0: off).
        retest_margin: the normalised domination margin within which a point is re-tested.
    """

    m: int
    scalarizer: str
    n_weights: int
    n_initial: int | None = None
    tolerance: float = 0.02
    batch: int = 2
    floor: float = 0.01
    seed: int = 0
    ideal: Sequence[float] | None = None
    focus: FocusRegion | str | None = None
    focus_share: float = 0.75
    knee_share: float = 0.0
    crowded_share: float = 0.0
    retests: int = 0
    retest_margin: float = 0.02
    weights: list[np.ndarray] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)
    proposed: int = 0
    rounds: int = 0
    largest_gap: float = float("inf")
    converged: bool = False
    retests_used: int = 0
    last_retest: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    _credit: dict[str, float] = field(default_factory=dict)
    _retested: dict[tuple[float, ...], int] = field(default_factory=dict)
    _queue: list[np.ndarray] = field(default_factory=list)  # the current round, not handed out yet
    _outstanding: int = 0  # weight vectors handed out by ``ask`` whose results were not told

    def __post_init__(self) -> None:
        if self.scalarizer not in (LINEAR, *TCHEBYCHEFF_LIKE):
            raise ConfigError(f"The adaptive sampler knows scalarizers {[LINEAR, *TCHEBYCHEFF_LIKE]}; found `{self.scalarizer}`.")
        if self.batch < 1:
            raise ConfigError(f"`sampler.batch` should be >= 1; found {self.batch}.")
        if not (self.focus is None or self.focus == KNEE or isinstance(self.focus, FocusRegion)):
            raise ConfigError(f"`sampler.focus` should be a list of bounds or `knee` (parsed by parse_focus); found {self.focus!r}.")
        shares = self.shares()
        given = (self.focus_share, self.knee_share, self.crowded_share)
        if any(not 0.0 <= s <= 1.0 for s in given) or sum(shares.values()) > 1.0 + 1e-9:
            raise ConfigError(
                f"`sampler.refine` shares should each lie in [0, 1] and add up to at most 1 (the rest of each round "
                f"goes to the largest gaps); found {shares}."
            )
        if self.retests < 0 or not self.retest_margin > 0:
            raise ConfigError(
                f"`sampler.retests` should be >= 0 and `sampler.retest_margin` > 0; found {self.retests}, {self.retest_margin}."
            )
        self.n_initial = resolve_n_initial(self.m, self.n_weights, self.n_initial, self.tolerance)

    def shares(self) -> dict[str, float]:
        """The refinement shares in use (``focus: knee`` adds the focus share to the knee's)."""
        out = {}
        if isinstance(self.focus, FocusRegion):
            out["focus"] = self.focus_share
        knee = self.knee_share + (self.focus_share if self.focus == KNEE else 0.0)
        if knee > 0:
            out["knee"] = knee
        if self.crowded_share > 0:
            out["crowded"] = self.crowded_share
        return out

    @property
    def rounds_done(self) -> bool:
        """No round is left to compute: budget used, or converged."""
        return self.converged or self.proposed >= self.n_weights

    # -- the Sampler protocol -------------------------------------------------------------
    @property
    def budget(self) -> int:
        """New weight vectors in all (``n_weights``); re-tests come on top."""
        return self.n_weights

    @property
    def planned(self) -> np.ndarray:
        """The initial design, known before any result."""
        assert self.n_initial is not None
        return initial_design(self.m, self.n_initial, floor=self.floor, seed=self.seed)

    @property
    def finished(self) -> bool:
        """Every round handed out, and none left to compute."""
        return not self._queue and self.rounds_done

    def ask(self, n: int) -> np.ndarray | None:
        """Up to ``n`` weight vectors of the current round; None while the round's results are out.

        The next round is computed from every result once the current one is handed out and told
        (re-tests are weight vectors asked again: the caller trains them on a new seed).
        """
        if not self._queue:
            if self._outstanding:
                return None
            self._queue = list(self.next_round())
        out, self._queue = self._queue[: max(0, n)], self._queue[max(0, n) :]
        self._outstanding += len(out)
        return np.asarray(out, dtype=np.float64).reshape(-1, self.m)

    def _slots(self, n: int) -> dict[str, int]:
        """This round's refinement slots: each share × n, the fractions carried to later rounds."""
        out = {}
        for kind, share in self.shares().items():
            credit = self._credit.get(kind, 0.0) + share * n
            out[kind] = int(np.floor(credit + 1e-9))
            self._credit[kind] = credit - out[kind]
        return out

    def _retest_round(self, table_weights: np.ndarray, table_values: np.ndarray, limit: int) -> list[np.ndarray]:
        """Near-miss weight vectors to run again (fewest re-tests so far first), at most ``limit``."""
        if limit <= 0:
            return []
        table = per_weight(table_weights, table_values)
        misses = near_misses(table.mean, table.spread, frontier(table.mean), margin=self.retest_margin)
        misses.sort(key=lambda t: (self._retested.get(weight_key(table.weights[t[0]]), 0), t[1]))
        return [table.weights[i] for i, _ in misses[:limit]]

    def next_round(self) -> np.ndarray:
        """The next round's weight vectors ``[k, m]`` (k = 0: finished); re-tests last (see :attr:`last_retest`)."""
        self.last_retest = np.zeros(0, dtype=int)
        if self.rounds_done:
            return np.zeros((0, self.m))
        retest: list[np.ndarray] = []
        if self.rounds == 0:
            assert self.n_initial is not None
            out = initial_design(self.m, self.n_initial, floor=self.floor, seed=self.seed)
        else:
            n = min(self.batch, self.n_weights - self.proposed)
            told_w = np.asarray(self.weights).reshape(-1, self.m)
            told_v = np.asarray(self.values).reshape(-1, self.m)
            proposal = propose(
                self.scalarizer,
                told_w,
                told_v,
                n=n,
                floor=self.floor,
                tolerance=self.tolerance,
                ideal=self.ideal,
                refine=self._slots(n),
                focus=self.focus if isinstance(self.focus, FocusRegion) else None,
            )
            retest = self._retest_round(told_w, told_v, min(self.batch, self.retests - self.retests_used))
            self.largest_gap = proposal.largest_gap
            self.converged = proposal.converged and not retest
            out = proposal.weights
        self.rounds += 1
        self.proposed += out.shape[0]
        counts = []
        for w in retest:
            key = weight_key(w)
            self._retested[key] = self._retested.get(key, 0) + 1
            counts.append(self._retested[key])
        self.retests_used += len(retest)
        self.last_retest = np.asarray([0] * out.shape[0] + counts, dtype=int)
        return np.concatenate([out, np.asarray(retest).reshape(-1, self.m)]) if retest else out

    def tell(
        self, weights: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray, *, stopped: np.ndarray | None = None
    ) -> None:
        """Results of one weight vector: ``[m]`` or ``[r, m]`` objective values (minimisation; NaN if failed).

        Each row is one trial (a seed); the sampler works on their mean (:mod:`._noise`). A row the
        scheduler ``stopped`` is a measured point, of a model it outranked at a rung: it is used as
        the run's frontier uses it (a point like any other, the weight vector explored), so the
        sampler does not spend trials again where the scheduler found the front is not.
        """
        del stopped  # the values of a stopped trial count as measured (see above)
        rows = np.asarray(values, dtype=np.float64).reshape(-1, self.m)
        for row in rows:
            self.weights.append(np.asarray(weights, dtype=np.float64).reshape(self.m))
            self.values.append(row)
        self._outstanding = max(0, self._outstanding - 1)
