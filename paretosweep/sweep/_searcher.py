"""A Ray Tune searcher that hands out a planned list of trial configs, in order."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any

from ray.tune.search import Searcher

from paretosweep.config import SweepSpec
from paretosweep.planning import TrialConfig


class PlannedSearcher(Searcher):
    """Serves each planned config once, then reports ``FINISHED``.

    The adaptive sampler (issue 4) refines this by appending configs as results arrive; Tune
    asks ``suggest`` whenever a trial slot is free (``max_concurrent_trials`` bounds that).
    """

    def __init__(self, configs: list[dict[str, Any]] | list[dict[str, Any] | list[dict[str, Any]]]) -> None:
        """``configs``: trial dicts; an entry that is a *list* of trial dicts is one packed trial."""
        super().__init__()
        self._pending: list[Any] = list(configs)
        self._live: dict[str, Any] = {}

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        """The next planned config, or ``Searcher.FINISHED`` when all were handed out."""
        if not self._pending:
            return Searcher.FINISHED
        config = self._pending.pop(0)
        self._live[trial_id] = config
        return {"pack": config} if isinstance(config, list) else {"trial": config}

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        """Forget the finished trial (results are stored by the driver's callback)."""
        self._live.pop(trial_id, None)

    def save(self, checkpoint_path: str) -> None:
        """Tune checkpoints its searcher with the experiment state."""
        with open(checkpoint_path, "wb") as file:
            pickle.dump({"pending": self._pending, "live": self._live}, file)

    def restore(self, checkpoint_path: str) -> None:
        """Inverse of :meth:`save`."""
        with open(checkpoint_path, "rb") as file:
            state = pickle.load(file)
        self._pending, self._live = state["pending"], state["live"]

    @property
    def remaining(self) -> int:
        """Configs not yet handed out."""
        return len(self._pending)


def resolve_pack_size(spec: SweepSpec, n_trials: int) -> int:
    """``budget.pack_size`` as a number: ``auto`` is :func:`~paretosweep.trial._packed.auto_pack_size`
    of ``n_trials`` on the trial's device (a GPU when ``resources.gpu > 0``), for the problem's
    model size (one model is built to count its parameters; the problem is the per-process cached one
    the driver's exact-front lookup also uses)."""
    from paretosweep.problems import canonical_params_json, make_problem_cached
    from paretosweep.trial._packed import auto_pack_size

    size = spec.budget.pack_size
    if size == "auto":
        problem = make_problem_cached(spec.problem.name, canonical_params_json(spec.problem.params))
        model = problem.make_model(seed=spec.seed)
        n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
        return auto_pack_size(n_trials, "cuda" if spec.resources.gpu > 0 else "cpu", n_params)
    assert isinstance(size, int)
    return size


def planned_search(spec: SweepSpec, todo: Sequence[TrialConfig]) -> tuple[PlannedSearcher, int]:
    """The searcher for ``todo`` and its Tune ``num_samples``, packing per ``budget.pack_size``.

    ``pack_size`` 1 hands out one trial per Tune trial (``{"trial": ...}``); above 1, scalarization
    trials of equal seed and lr go out in packs (``{"pack": [...]}``, see
    :func:`paretosweep.trial._packed.make_packs`); ``auto`` see :func:`resolve_pack_size`. A pack
    of one is sent as a plain trial.
    """
    from paretosweep.trial._packed import make_packs

    packs = make_packs(list(todo), resolve_pack_size(spec, len(todo)))
    configs: list[Any] = [p[0].to_dict() if len(p) == 1 else [t.to_dict() for t in p] for p in packs]
    return PlannedSearcher(configs), len(configs)
