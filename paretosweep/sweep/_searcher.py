"""A Ray Tune searcher that hands out a planned list of trial configs, in order."""

from __future__ import annotations

import pickle
from typing import Any

from ray.tune.search import Searcher


class PlannedSearcher(Searcher):
    """Serves each planned config once, then reports ``FINISHED``.

    The adaptive sampler (issue 4) refines this by appending configs as results arrive; Tune
    asks ``suggest`` whenever a trial slot is free (``max_concurrent_trials`` bounds that).
    """

    def __init__(self, configs: list[dict[str, Any]]) -> None:
        super().__init__()
        self._pending = list(configs)
        self._live: dict[str, dict[str, Any]] = {}

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        """The next planned config, or ``Searcher.FINISHED`` when all were handed out."""
        if not self._pending:
            return Searcher.FINISHED
        config = self._pending.pop(0)
        self._live[trial_id] = config
        return {"trial": config}

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
