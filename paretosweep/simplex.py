"""Pure maths on the probability simplex Δ^{m-1} = {w ∈ R^m : w_i ≥ 0, Σ w_i = 1}.

Four designs for the swept weight vectors, all seeded and reproducible:

* :func:`das_dennis` — the Das & Dennis (SIAM J. Optim. 1998) lattice
  ``{k / H : k ∈ N^m, Σ k_i = H}``: C(H+m-1, m-1) evenly spaced points. With many tasks the
  lattice within a budget is coarse (8 tasks, 40 points: H = 2, only the corners and the pairwise
  midpoints); :func:`lattice_divisions` says how coarse.
* :func:`riesz_energy` — n points of minimal Riesz s-energy on the simplex (Blank, Deb, Dhebar,
  Bandaru & Seada, "Generating Well-Spaced Points on a Unit Simplex for Evolutionary
  Many-Objective Optimization", IEEE TEVC 2021), computed by pymoo: any n for any m.
* :func:`dirichlet` — i.i.d. uniform samples (Dirichlet(1, …, 1)).
* :func:`sobol_simplex` — a scrambled Sobol' sequence in [0,1)^{m-1} mapped onto the simplex by
  sorting (the spacings of sorted uniforms are uniform on the simplex), low-discrepancy.

:func:`apply_floor` then maps the simplex onto its inner part ``w_i ≥ floor`` so every weight is
strictly positive: for w > 0 every minimiser of Σ w_i L_i is Pareto-optimal (not merely weakly).
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings

import numpy as np

from paretosweep.errors import ConfigError

SIMPLEX_TOL = 1e-9


def lattice_size(m: int, divisions: int) -> int:
    """Number of Das–Dennis points for m tasks and H divisions: C(H+m-1, m-1)."""
    return math.comb(divisions + m - 1, m - 1)


def das_dennis(m: int, divisions: int) -> np.ndarray:
    """The Das–Dennis lattice on the (m-1)-simplex.

    Args:
        m: number of tasks (≥ 1).
        divisions: H ≥ 1, the number of steps along each edge.

    Returns:
        ``[C(H+m-1, m-1), m]`` array, rows in lexicographic order of ``k``.

    >>> das_dennis(2, 2).tolist()
    [[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]]
    """
    if m < 1 or divisions < 1:
        raise ConfigError(f"das_dennis needs m >= 1 and divisions >= 1; found m={m}, divisions={divisions}.")
    points = []
    # stars and bars: choose positions of m-1 bars among H+m-1 slots
    for bars in itertools.combinations(range(divisions + m - 1), m - 1):
        edges = (-1, *bars, divisions + m - 1)
        points.append([edges[i + 1] - edges[i] - 1 for i in range(m)])
    return np.asarray(points, dtype=np.float64) / divisions


def lattice_divisions(m: int, n: int) -> int:
    """H of the largest Das–Dennis lattice with at most ``n`` points (0 when even H = 1, m points, is too many)."""
    if n < m:
        return 0
    divisions = 1
    while lattice_size(m, divisions + 1) <= n:
        divisions += 1
    return divisions


def das_dennis_at_most(m: int, n: int) -> np.ndarray:
    """The largest Das–Dennis lattice with at most ``n`` points (at least H = 1, i.e. m points)."""
    if n < m:
        raise ConfigError(
            f"The das_dennis sampler needs `budget.n_weights` >= the number of tasks ({m}); "
            f"found {n}. Raise `budget.n_weights` or use sampler `dirichlet` or `sobol`."
        )
    return das_dennis(m, lattice_divisions(m, n))


def riesz_energy(m: int, n: int, *, seed: int) -> np.ndarray:
    """``[n, m]`` well-spaced points on the simplex: the minimisers of the Riesz s-energy.

    The points minimise :math:`E = \\sum_{i<j} \\lVert w_i - w_j \\rVert^{-s}` (s = 2m, pymoo's
    default) by projected gradient descent from a k-means reduction of a dense random set
    (Blank et al., IEEE TEVC 2021, https://doi.org/10.1109/TEVC.2020.2992387), computed by pymoo's
    ``RieszEnergyReferenceDirectionFactory(m, n)`` from a generator seeded with ``seed``. Unlike the lattice
    it gives exactly ``n`` points for any ``m`` and ``n >= m``, and the same ones for the same seed.

    Notes:
        Costs O(n² m) per descent step, at most 1000 steps: about 2 s for 8 tasks and 40 points,
        5 s for 16 tasks and 200 points on one CPU core. Results are memoised per process.

    Raises:
        ConfigError: ``n < m`` (the design needs at least the m corners), naming ``budget.n_weights``.
    """
    if n < m:
        raise ConfigError(
            f"The energy sampler needs `budget.n_weights` >= the number of tasks ({m}); found {n}. "
            f"Raise `budget.n_weights` or use sampler `dirichlet` or `sobol`."
        )
    return _riesz_energy(m, n, seed).copy()


@functools.lru_cache(maxsize=16)
def _riesz_energy(m: int, n: int, seed: int) -> np.ndarray:
    if m == 1:
        return np.ones((n, 1))
    from pymoo.util.ref_dirs import RieszEnergyReferenceDirectionFactory

    # pymoo 0.6.2 drops get_reference_directions' `seed` (its factories seed themselves with 1): pass a generator
    factory = RieszEnergyReferenceDirectionFactory(m, n)
    points = np.asarray(factory.do(random_state=np.random.default_rng(seed)), dtype=np.float64)
    points = np.clip(points, 0.0, None)
    return points / points.sum(axis=1, keepdims=True)


def dirichlet(m: int, n: int, *, seed: int) -> np.ndarray:
    """``[n, m]`` uniform samples on the simplex (Dirichlet(1, …, 1)), seeded."""
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(m), size=n)


def sobol_simplex(m: int, n: int, *, seed: int) -> np.ndarray:
    """``[n, m]`` low-discrepancy points on the simplex.

    A scrambled Sobol' sequence u ∈ [0,1)^{m-1} is sorted per row; with u_(0)=0, u_(m)=1 the
    spacings w_i = u_(i) − u_(i−1) are uniformly distributed on the simplex when u is uniform,
    and inherit the sequence's even coverage.
    """
    if m == 1:
        return np.ones((n, 1))
    from scipy.stats import qmc

    with warnings.catch_warnings():  # any n is fine: a prefix of the sequence stays low-discrepancy
        warnings.filterwarnings("ignore", message="The balance properties of Sobol")
        u = qmc.Sobol(d=m - 1, scramble=True, seed=seed).random(n)
    u = np.sort(u, axis=1)
    padded = np.concatenate([np.zeros((n, 1)), u, np.ones((n, 1))], axis=1)
    return np.diff(padded, axis=1)


def apply_floor(weights: np.ndarray, floor: float) -> np.ndarray:
    """Map simplex points onto ``{w : w_i ≥ floor}``: ``w' = floor + (1 − m·floor) w``.

    The map is affine, keeps Σ w' = 1 and keeps the design's spacing (scaled by 1 − m·floor).
    """
    m = weights.shape[1]
    if not 0.0 <= floor < 1.0 / m:
        raise ConfigError(f"`sampler.floor` should lie in [0, 1/m) = [0, {1.0 / m:.4g}) for {m} tasks; found {floor}.")
    return floor + (1.0 - m * floor) * np.asarray(weights, dtype=np.float64)


def simplex_violation(weights: list[float] | np.ndarray, m: int) -> str | None:
    """Why ``weights`` is not a point of the m-task simplex, or None if it is."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.shape[0] != m:
        return f"it has {w.size} entries but the problem has {m} tasks"
    if not np.all(np.isfinite(w)):
        return "it has a non-finite entry"
    if np.any(w < 0):
        return f"it has a negative entry ({w.min():g})"
    if abs(w.sum() - 1.0) > 1e-6:
        return f"it sums to {w.sum():.6g}, not 1"
    return None
