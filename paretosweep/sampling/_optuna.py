"""Optuna's samplers over the simplex (``optuna_tpe``, ``optuna_nsga2``, ``optuna_gp``): the map from
Optuna's search space to the simplex, and the Optuna sampler each name builds.

Optuna searches ``m − 1`` independent uniform variables ``u_1 … u_{m−1} ∈ [0, 1]`` (named
``u0``, ``u1``, …). They become a weight vector by the same map as the Sobol' design
(:func:`paretosweep.simplex.sobol_simplex`): sort ``u``, pad with 0 and 1, take the spacings
``w_i = u_(i) − u_(i−1)``. A uniform ``u`` gives a uniform point of the simplex, so Optuna's
random start-up trials are uniform on the simplex; the map is onto and continuous (not
one-to-one: permuting ``u`` gives the same ``w``, which the samplers tolerate). For 2 tasks it is
simply ``w = (u0, 1 − u0)``. The floor is then applied as in every other design.

The samplers (:func:`make_optuna_sampler`), all multi-objective over the objective columns:

* ``optuna_tpe`` — :class:`optuna.samplers.TPESampler`, multi-objective TPE (Ozaki et al.,
  "Multiobjective Tree-Structured Parzen Estimator", JAIR 2022, https://doi.org/10.1613/jair.1.13188),
  Optuna's defaults (10 random start-up trials).
* ``optuna_nsga2`` — :class:`optuna.samplers.NSGAIISampler` (Deb et al., "A fast and elitist
  multiobjective genetic algorithm: NSGA-II", IEEE TEVC 6(2), 2002), population
  :func:`nsga2_population` so that a small budget still sees a few generations.
* ``optuna_gp`` — :class:`optuna.samplers.GPSampler` (Optuna >= 4.4 handles several objectives):
  a Gaussian process per objective (Matérn 5/2 kernel with ARD) and the next ``u`` maximising
  the log expected hypervolume improvement (Daulton et al., "Differentiable Expected Hypervolume
  Improvement for Parallel Multi-Objective Bayesian Optimization", NeurIPS 2020,
  https://arxiv.org/abs/2006.05078; Ament et al., "Unexpected Improvements to Expected
  Improvement", NeurIPS 2023, https://arxiv.org/abs/2310.20708), after
  :func:`gp_startup_trials` random start-up trials. ``deterministic_objective=True``: every
  trial of an Optuna sweep trains with the sweep's one seed, so its result is a deterministic
  function of its weights and the GP fits no noise term. Each ask refits the GPs: measured on
  a 2-core CPU, about 1 s per ask at 50–64 trials with 2 objectives and 4 s with 3 (TPE and
  NSGA-II: milliseconds) — negligible next to training a real model, not next to a toy.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from paretosweep import simplex
from paretosweep.config import OPTUNA_SAMPLER_NAMES
from paretosweep.errors import ConfigError

if TYPE_CHECKING:
    from optuna.samplers import BaseSampler

OPTUNA_SAMPLERS = OPTUNA_SAMPLER_NAMES


def param_names(m: int) -> list[str]:
    """The Optuna parameter names for m tasks: ``u0 … u{m-2}``."""
    return [f"u{i}" for i in range(m - 1)]


def unit_to_simplex(u: Sequence[float] | Mapping[str, float], m: int, *, floor: float) -> np.ndarray:
    """``[m]`` weight vector of ``m − 1`` uniforms (a sequence, or a mapping by :func:`param_names`)."""
    if isinstance(u, Mapping):
        u = [float(u[name]) for name in param_names(m)]
    values = np.sort(np.clip(np.asarray(u, dtype=np.float64).reshape(m - 1), 0.0, 1.0))
    w = np.diff(np.concatenate([[0.0], values, [1.0]]))
    return simplex.apply_floor(w[None, :], floor)[0]


def simplex_to_unit(weights: Sequence[float], *, floor: float) -> dict[str, float]:
    """The Optuna parameters ``{u0: …}`` that :func:`unit_to_simplex` maps to ``weights`` (its sorted preimage).

    Undoes the floor (``w = floor + (1 − m·floor) w'``), then ``u_(i) = w'_1 + … + w'_i`` for
    ``i < m``. Used to warm-start a resumed study with the trials a run already stored.
    """
    w = np.asarray(weights, dtype=np.float64).ravel()
    m = w.size
    bare = (w - floor) / (1.0 - m * floor)
    u = np.clip(np.cumsum(bare)[:-1], 0.0, 1.0)
    return dict(zip(param_names(m), (float(x) for x in u), strict=True))


def nsga2_population(n_weights: int) -> int:
    """NSGA-II population for a budget: ``min(50, max(4, n_weights // 4))``, a few generations even for small budgets."""
    return min(50, max(4, n_weights // 4))


def gp_startup_trials(n_weights: int, m: int) -> int:
    """GP sampler's random start-up trials: Optuna's 10, but at most a quarter of the budget (at least ``m``)."""
    return min(10, max(m, n_weights // 4))


#: The first Optuna whose GPSampler takes several objectives (log-EHVI).
GP_MULTI_OBJECTIVE_SINCE = (4, 4)


def check_gp_support(version: str) -> None:
    """Raise a ConfigError if this Optuna's GPSampler cannot handle several objectives (< 4.4)."""
    parts = [int(p) for p in re.findall(r"\d+", version)[:2]]
    if tuple(parts) < GP_MULTI_OBJECTIVE_SINCE:
        raise ConfigError(
            f"`sampler.name: optuna_gp` needs Optuna >= 4.4 (its GPSampler handles several objectives from "
            f"4.4 on); found Optuna {version}. Run `pip install 'optuna>=4.4'` or choose `optuna_tpe`."
        )


def make_optuna_sampler(
    name: str, *, seed: int, n_weights: int, m: int, population_size: int | None = None
) -> BaseSampler:
    """The seeded Optuna sampler for a sampler name (see the module docstring for each).

    Args:
        name: one of :data:`OPTUNA_SAMPLERS`.
        seed: the sweep's seed.
        n_weights: the budget (NSGA-II's population and the GP's start-up trials scale with it).
        m: number of tasks (objectives).
        population_size: NSGA-II's population instead of :func:`nsga2_population` (benchmarks).

    Raises:
        ConfigError: ``optuna_gp`` with an Optuna older than 4.4.
        ValueError: a name that is not an Optuna sampler (the spec refuses those earlier).
    """
    import optuna

    if name == "optuna_tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "optuna_nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=population_size or nsga2_population(n_weights))
    if name == "optuna_gp":
        check_gp_support(optuna.__version__)
        with warnings.catch_warnings():  # `deterministic_objective` is marked experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.GPSampler(
                seed=seed, n_startup_trials=gp_startup_trials(n_weights, m), deterministic_objective=True
            )
    raise ValueError(f"`sampler.name` should be one of {', '.join(OPTUNA_SAMPLERS)} here; found `{name}`.")
