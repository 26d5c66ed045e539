"""The weight-conditioned sampler: one conditioned training proposes the front, ``verify`` real trials check it.

``sampler: {name: conditioned, verify: N, alpha: 1.0, ...}``. Before the sweep, one model
conditioned on the weight vector is trained (``paretosweep.sweep._conditioned_stage``): each
batch draws :math:`w \\sim \\mathrm{Dirichlet}(\\alpha \\mathbf{1}_m)` (:func:`dirichlet_draws`)
and minimises the spec's scalarizer at that :math:`w` (YOTO, Dosovitskiy & Djolonga, ICLR 2020;
COSMOS, Ruchte & Grabocka, ICDM 2021). The trained model, evaluated on ``dense`` weight vectors
(:func:`dense_design`), *proposes* a front. :func:`spread_weights` then picks ``N`` of those
weight vectors spread along the proposed non-dominated set by greedy hypervolume subset selection,
and :class:`ConditionedSampler` hands them out as ordinary scalarization trials, so the run's
frontier holds verified points only.

Pure numpy here: no Ray, no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from paretosweep.errors import ConfigError
from paretosweep.frontier import hypervolume, non_dominated_mask
from paretosweep.sampling._base import StaticSampler

if TYPE_CHECKING:
    from paretosweep.config import SweepSpec


def dirichlet_draws(rng: np.random.Generator, n: int, m: int, alpha: float) -> np.ndarray:
    """``[n, m]`` draws of :math:`w \\sim \\mathrm{Dirichlet}(\\alpha, \\dots, \\alpha)`: rows on the simplex.

    ``alpha = 1`` is uniform on the simplex; ``alpha < 1`` favours its corners, ``alpha > 1`` its centre.

    Raises:
        ValueError: ``alpha <= 0`` or ``m < 2``.

    >>> w = dirichlet_draws(np.random.default_rng(0), 4, 3, 1.0)
    >>> w.shape, bool(np.allclose(w.sum(axis=1), 1.0))
    ((4, 3), True)
    """
    if not alpha > 0:
        raise ValueError(f"the Dirichlet concentration `sampler.alpha` should be > 0; found {alpha}")
    if m < 2:
        raise ValueError(f"weight vectors need at least 2 tasks; found m = {m}")
    return rng.dirichlet(np.full(m, float(alpha)), size=n)


def dense_design(m: int, n: int, *, floor: float, seed: int) -> np.ndarray:
    """``[k, m]`` (``k <= n``) weight vectors covering the simplex where the conditioned model is evaluated.

    The sweep's ``auto`` design (the Das–Dennis lattice when fine enough, else the Riesz-energy
    design) with ``sampler.floor`` applied, so the proposals sit where real trials could.
    """
    from paretosweep.sampling._designs import generated_weights

    return generated_weights("auto", m, n, floor=floor, seed=seed)


def spread_weights(
    weights: np.ndarray, values: np.ndarray, n: int, /, *, directions: Sequence[str], reference_point: Sequence[float]
) -> np.ndarray:
    """Indices of ``n`` rows of ``weights`` whose ``values`` spread along their non-dominated set.

    Greedy hypervolume subset selection (Guerreiro, Fonseca & Paquete, "Greedy hypervolume subset
    selection in low dimensions", Evol. Comput. 2016): start from the empty set :math:`S`, add
    :math:`\\arg\\max_p \\mathrm{HV}(S \\cup \\{p\\}) - \\mathrm{HV}(S)` over the non-dominated
    proposals until :math:`|S| = n`. Each step fills the largest gap the chosen points leave, so
    the picks spread along the front. With fewer non-dominated proposals than ``n`` (or when no
    pick adds volume), the remaining picks are the dominated rows of best Pareto rank, farthest in
    weight space from the picks so far.

    Args:
        weights: ``[k, m]`` the evaluated weight vectors.
        values: ``[k, d]`` their proposed objective values, raw units (NaN rows are never picked
            while a finite one is left).
        n: how many to pick (``<= k``).
        directions: ``d`` entries, ``min`` or ``max``.
        reference_point: ``[d]`` the hypervolume reference point, raw units.

    Returns:
        ``[min(n, k)]`` distinct row indices, in the order picked.

    Cost: ``O(n k)`` hypervolume evaluations (moocore, fast in 2-3 objectives).
    """
    w = np.asarray(weights, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    k = w.shape[0]
    finite = [bool(np.isfinite(row).all()) for row in y]
    front = [False] * k
    rows = [i for i in range(k) if finite[i]]
    if rows:
        for i, keep in zip(rows, non_dominated_mask(y[rows], directions=directions).tolist(), strict=True):
            front[i] = bool(keep)
    picked: list[int] = []
    best = 0.0
    candidates = [i for i in range(k) if front[i]]
    while len(picked) < min(n, k) and candidates:
        gains = [hypervolume(y[[*picked, c]], reference_point=reference_point, directions=directions) - best for c in candidates]
        top = int(np.argmax(gains))
        if gains[top] <= 0:
            break
        best += gains[top]
        picked.append(candidates.pop(top))
    rest = [i for i in range(k) if i not in picked]
    rest.sort(key=lambda i: (not finite[i], not front[i]))
    while len(picked) < min(n, k):
        # farthest (in weight space) from the picks so far, among the best-ranked rows left
        group = [i for i in rest if (finite[i], front[i]) == (finite[rest[0]], front[rest[0]])]
        if picked:
            distance = [float(np.min(np.linalg.norm(w[picked] - w[i], axis=1))) for i in group]
            choice = group[int(np.argmax(distance))]
        else:
            choice = group[0]
        picked.append(choice)
        rest.remove(choice)
    return np.asarray(picked, dtype=np.int64)


def check_conditionable(spec: SweepSpec) -> None:
    """Refuse, before Ray, a problem the conditioned training cannot condition on ``w``.

    A problem is conditioned by FiLM on its shared representation (``shared_representation(model)``)
    or by its own ``condition(model, w)``; a function trainable conditions its model itself
    (``ctx.sample_weights``). Also refused: packed trials and a scheduler.

    Raises:
        ConfigError: naming the field and the fix.
    """
    from paretosweep.problems import canonical_params_json, has_shared_representation, make_problem_cached

    if spec.budget.pack_size != 1:
        raise ConfigError(
            f"`sampler: conditioned` with `budget.pack_size: {spec.budget.pack_size}`: the verification trials start from the "
            "conditioned model one at a time. Set `budget.pack_size: 1`."
        )
    if spec.scheduler is not None:
        raise ConfigError(
            "`sampler: conditioned` with a `scheduler`: the verification trials are few and short, there is nothing to stop "
            "early. Drop `scheduler`."
        )
    if spec.warm_start is not None:
        raise ConfigError(
            "`sampler: conditioned` with `warm_start`: the verification trials already start from the conditioned model "
            "(`sampler.verify_from: conditioned`). Drop `warm_start`."
        )
    if spec.problem.name is None:
        return
    problem = make_problem_cached(spec.problem.name, canonical_params_json(spec.problem.params))
    if callable(getattr(problem, "condition", None)) or has_shared_representation(problem):
        return
    raise ConfigError(
        f"`sampler: conditioned` needs a problem that can be conditioned on the weight vector, and problem "
        f"`{spec.problem.name}` has no hook for it. Add one of these members to the problem: "
        "`shared_representation(model) -> nn.Module` (the trunk whose output every head reads; paretosweep then applies "
        "FiLM to it, gamma(w) * Z + beta(w)), or `condition(model, w)` (called before each forward pass with w, a tensor "
        "[m] or [B, m]; the model's make_model must create whatever the conditioning trains). Or use another `sampler`."
    )


class ConditionedSampler(StaticSampler):
    """The verification trials of the conditioned stage, as a :class:`~paretosweep.sampling.Sampler`.

    Before the stage has run, nothing is planned (``planned`` is ``[0, m]``) and ``budget`` is
    ``verify``; once the stage chose its weight vectors (``conditioned/info.json`` in the run
    directory, or :meth:`set_weights`), they are planned and asked in order. Results change nothing.

    Args:
        m: number of tasks.
        verify: how many weight vectors to verify.
        weights: ``[k, m]`` the chosen ones, when known.
    """

    def __init__(self, m: int, verify: int, weights: np.ndarray | None = None) -> None:
        if verify < 1:
            raise ConfigError(f"`sampler.verify` should be >= 1 (real trials checking the proposed front); found {verify}.")
        super().__init__(np.zeros((0, m)) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1, m))
        self._verify = verify

    def set_weights(self, weights: np.ndarray) -> None:
        """The weight vectors the stage chose (``[k, m]``, ``k <= verify``), asked from the first."""
        super().__init__(np.asarray(weights, dtype=np.float64).reshape(-1, self.m))

    @property
    def budget(self) -> int:
        return self._verify


def stage_weights(run_dir: str | None, m: int) -> np.ndarray | None:
    """``[k, m]`` the verification weights recorded in ``<run_dir>/conditioned/info.json``, or None (no stage yet)."""
    from paretosweep.results import read_stage_info

    info = read_stage_info(run_dir)
    if info is None or "verify" not in info:
        return None
    return np.asarray([v["weights"] for v in info["verify"]], dtype=np.float64).reshape(-1, m)
