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

import math
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from paretosweep import simplex
from paretosweep.errors import ConfigError
from paretosweep.sampling._noise import weight_key

if TYPE_CHECKING:
    import optuna
    from optuna.samplers import BaseSampler

#: The ``sampler.name`` of each Optuna sampler.
OPTUNA_SAMPLERS: tuple[str, ...] = ("optuna_tpe", "optuna_nsga2", "optuna_gp")


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


def make_optuna_sampler(name: str, *, seed: int, n_weights: int, m: int, population_size: int | None = None) -> BaseSampler:
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
            return optuna.samplers.GPSampler(seed=seed, n_startup_trials=gp_startup_trials(n_weights, m), deterministic_objective=True)
    raise ValueError(f"`sampler.name` should be one of {', '.join(OPTUNA_SAMPLERS)} here; found `{name}`.")


#: The Optuna study's journal file in a local run directory.
STUDY_FILE = "optuna.journal"


def resumed_seed(seed: int, n_stored: int) -> int:
    """The sampler seed of a sweep resumed with ``n_stored`` trials: ``seed`` itself for a fresh sweep."""
    return seed if n_stored == 0 else int(np.random.SeedSequence([seed, n_stored]).generate_state(1)[0])


@dataclass(frozen=True)
class StoredResult:
    """A weight vector a run already trained, and its objective values (None: failed or diverged);
    ``stopped``: the scheduler stopped it early (added to a warm-started study as ``PRUNED``)."""

    weights: tuple[float, ...]
    values: tuple[float, ...] | None
    stopped: bool = False


class OptunaSampler:
    """One of Optuna's multi-objective samplers over the simplex, through Optuna's own ask/tell.

    ``ask(n)`` asks the study for up to ``n`` trials (``study.ask`` over the ``m − 1`` uniforms of
    :func:`param_names`) and maps each to a weight vector; ``tell(weights, values)`` tells the
    trial of that weight vector its objective values (the :class:`~paretosweep.sampling.Sampler`
    contract: ``[1, m]`` in minimisation form; the study records them in raw units with each
    objective's direction), or that it failed when they hold NaN. At most ``n_weights`` weight vectors
    are asked in all, stored ones included.

    The study lives in ``journal`` (Optuna's ``JournalStorage`` with a file backend) when given,
    else in memory. Opening a journal that already holds the study resumes it: trials an
    interrupted sweep left running are told as failed. An empty study with ``stored`` results
    (a run directory that lost its journal, or a remote one) is warm-started with them. The
    sampler is re-seeded from ``(seed, len(stored))`` so a resumed sweep does not replay the
    first run's random start-up points.

    Pickling keeps the configuration and the pending asks, never the Optuna objects (GA
    samplers hold a ``threading.Lock``): the study is reopened from the journal on unpickling,
    or rebuilt from its copied trials when it lived in memory, and its sampler is seeded from
    ``(seed, trials in the study)``, so a restored sampler is deterministic.

    Args:
        name: one of :data:`OPTUNA_SAMPLERS`.
        m: number of tasks.
        n_weights: the budget of weight vectors, stored ones included.
        floor: the floor of every weight (as for the other designs).
        seed: the sweep's seed.
        directions: ``min``/``max`` of each objective, in task order.
        study_name: the study's name in the journal.
        journal: path of the journal file, or None for an in-memory study.
        stored: the run's stored scalarization results (resume).
    """

    def __init__(
        self,
        name: str,
        *,
        m: int,
        n_weights: int,
        floor: float,
        seed: int,
        directions: Sequence[str],
        study_name: str,
        journal: str | None = None,
        stored: Sequence[StoredResult] = (),
    ) -> None:
        self.name = name
        self.m = m
        self.n_weights = n_weights
        self.floor = floor
        self.seed = resumed_seed(seed, len(stored))
        self.directions = tuple(directions)
        self.study_name = study_name
        self.journal = journal
        self.asked = len(stored)
        self._pending: dict[tuple[float, ...], list[int]] = {}  # asked, not told: Optuna trial numbers per weight vector
        self._memory_trials: list[Any] | None = None
        self._stored: tuple[StoredResult, ...] | None = tuple(stored)  # reconciled when the study first opens
        self._study: optuna.Study | None = None
        if name == "optuna_gp":
            import optuna

            check_gp_support(optuna.__version__)

    # -- the Sampler protocol -----------------------------------------------------------
    @property
    def budget(self) -> int:
        """Weight vectors asked at most, stored ones included."""
        return self.n_weights

    @property
    def finished(self) -> bool:
        """The whole budget was asked."""
        return self.asked >= self.n_weights

    def ask(self, n: int) -> np.ndarray:
        """Up to ``n`` new weight vectors ``[k, m]`` (``k = 0`` once the budget is asked)."""
        out = []
        for _ in range(max(0, min(n, self.n_weights - self.asked))):
            trial = self.study.ask(fixed_distributions=self._space())
            weights = unit_to_simplex(trial.params, self.m, floor=self.floor)
            self._pending.setdefault(weight_key(weights), []).append(trial.number)
            self.asked += 1
            out.append(weights)
        return np.asarray(out, dtype=np.float64).reshape(-1, self.m)

    @property
    def planned(self) -> np.ndarray:
        """Nothing is known ahead: every weight vector is asked while the sweep runs."""
        return np.zeros((0, self.m))

    @property
    def retests(self) -> int:
        """Optuna never asks a weight vector again."""
        return 0

    def tell(self, weights: Sequence[float] | np.ndarray, values: np.ndarray, *, stopped: np.ndarray | None = None) -> None:
        """The result of an asked weight vector: ``[1, m]`` minimisation-form values (NaN: the trial failed).

        A trial the scheduler ``stopped`` is told as Optuna's ``PRUNED`` (what Optuna's own pruners
        make of a trial stopped early), not as ``COMPLETE`` with the values of a partly trained
        model: NSGA-II and the GP sampler then learn only from fully trained trials, and
        multi-objective TPE counts a pruned trial among the worse ones. Its values stay in trials.parquet.
        """
        import optuna

        numbers = self._pending.get(weight_key(weights))
        if not numbers:
            raise KeyError(f"The Optuna sampler did not ask for weights {list(weights)}; it cannot be told their result.")
        number = numbers.pop(0)  # asked twice (a corner after the floor): told in the order asked
        row = np.asarray(values, dtype=np.float64).reshape(-1, self.m)[0]
        if stopped is not None and bool(np.asarray(stopped).reshape(-1)[0]):
            self.study.tell(number, state=optuna.trial.TrialState.PRUNED)
        elif np.isfinite(row).all():
            signs = np.array([-1.0 if d == "max" else 1.0 for d in self.directions])
            self.study.tell(number, (row * signs).tolist())
        else:
            self.study.tell(number, state=optuna.trial.TrialState.FAIL)

    # -- Optuna objects -------------------------------------------------------------------
    @property
    def study(self) -> optuna.Study:
        """The Optuna study, opened on first use (and again after unpickling)."""
        if self._study is None:
            first = self._stored is not None
            self._open(reseed=not first)
            if first:
                stored, self._stored = self._stored or (), None
                self._reconcile(stored)
        return self._study  # type: ignore[return-value]

    @property
    def optuna_sampler(self) -> BaseSampler:
        """The Optuna sampler object the study asks."""
        return self.study.sampler

    def _space(self) -> dict[str, Any]:
        import optuna

        return {name: optuna.distributions.FloatDistribution(0.0, 1.0) for name in param_names(self.m)}

    def _open(self, *, reseed: bool = False) -> None:
        """Create or load the study; ``reseed``: a reopened study's sampler is seeded from its trial count."""
        import optuna

        storage: optuna.storages.BaseStorage | None = None
        if self.journal is not None:
            os.makedirs(os.path.dirname(self.journal) or ".", exist_ok=True)
            from optuna.storages.journal import JournalFileBackend

            storage = optuna.storages.JournalStorage(JournalFileBackend(self.journal))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study = optuna.create_study(
                study_name=self.study_name,
                storage=storage,
                sampler=make_optuna_sampler(self.name, seed=self.seed, n_weights=self.n_weights, m=self.m),
                directions=["maximize" if d == "max" else "minimize" for d in self.directions],
                load_if_exists=True,
            )
        if self._memory_trials:
            study.add_trials(self._memory_trials)
        self._memory_trials = None
        n_trials = len(study.get_trials(deepcopy=False))
        if reseed and n_trials:
            seed = resumed_seed(self.seed, n_trials)
            study.sampler = make_optuna_sampler(self.name, seed=seed, n_weights=self.n_weights, m=self.m)
        self._study = study

    def _reconcile(self, stored: Sequence[StoredResult]) -> None:
        """Fail the trials an interrupted sweep left running; warm-start an empty study from ``stored``."""
        import optuna

        study = self.study
        for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        if study.get_trials(deepcopy=False) or not stored:
            return
        space = self._space()
        for result in stored:
            done = not result.stopped and result.values is not None and all(math.isfinite(v) for v in result.values)
            state = optuna.trial.TrialState.COMPLETE if done else optuna.trial.TrialState.FAIL
            study.add_trial(
                optuna.trial.create_trial(
                    state=optuna.trial.TrialState.PRUNED if result.stopped else state,
                    values=list(result.values) if done else None,  # type: ignore[arg-type]
                    params=simplex_to_unit(result.weights, floor=self.floor),
                    distributions=space,
                )
            )

    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k != "_study"}
        if self.journal is None and self._study is not None:  # an in-memory study travels as its trials
            state["_memory_trials"] = self._study.get_trials(deepcopy=True)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._study = None
