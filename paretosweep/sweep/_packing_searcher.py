"""Packed trials: a Tune searcher that groups another searcher's trials (as ``ConcurrencyLimiter`` wraps one).

:class:`PackingSearcher` wraps a searcher that hands out one trial per ``suggest``
(``{"trial": TrialConfig.to_dict()}``: :class:`~paretosweep.sweep.SamplerSearcher`). For each Tune trial it asks
the inner searcher for configs under sub-ids it makes up (``"<tune id>~<n>"``), one per member,
until the rule of :func:`paretosweep.trial._packed.make_packs` gives a full pack (``pack_size``
scalarization trials of equal seed and lr) or a method trial (always alone), or the inner searcher
has nothing more now (``None``: waiting on results) or ever (``FINISHED``): then it sends the
first pack it has, smaller if need be. Configs asked but not sent yet (another seed or lr) wait
for the next Tune trial. A pack goes out as ``{"pack": [...]}`` (run by
:func:`paretosweep.sweep._trainable.run_pack`), a single trial as ``{"trial": ...}``.

On completion the pack's result carries a JSON list of rows under ``ROW_KEY``; each member's row
is passed to the inner searcher as ``on_trial_complete(sub_id, {..., ROW_KEY: json(row)})``, so
the inner searcher sees exactly what it would have seen from its own unpacked trial. A member
without a row (the pack was lost) is told as an error.
"""

from __future__ import annotations

import json
import os
import pickle
from typing import Any

from ray.tune.search import Searcher

from paretosweep.config import SweepSpec
from paretosweep.planning import TrialConfig
from paretosweep.sweep._trainable import ROW_KEY

Member = tuple[str, dict[str, Any]]  # (sub-id given to the inner searcher, trial config)


class PackingSearcher(Searcher):
    """Hands out ``inner``'s trials in packs of up to ``pack_size`` and splits the results back.

    Args:
        inner: a searcher whose ``suggest`` returns ``{"trial": config}``, ``None`` or ``FINISHED``.
        pack_size: the most members of one pack (>= 1; 1 sends every trial alone).
    """

    def __init__(self, inner: Searcher, pack_size: int) -> None:
        super().__init__()
        if pack_size < 1:
            raise ValueError(f"pack_size should be >= 1; found {pack_size}")
        self.inner = inner
        self.pack_size = pack_size
        self._held: list[Member] = []  # asked from the inner searcher, not sent yet
        self._live: dict[str, list[Member]] = {}  # Tune trial id -> its members
        self._asked = 0  # sub-ids made so far
        self._finished = False  # the inner searcher said FINISHED

    def _ask(self, trial_id: str) -> bool:
        """Ask the inner searcher for one more config; False if it has none now or ever."""
        if self._finished:
            return False
        sub_id = f"{trial_id}~{self._asked}"
        self._asked += 1
        answer = self.inner.suggest(sub_id)
        if answer == Searcher.FINISHED:
            self._finished = True
            return False
        if answer is None:
            return False
        if "trial" not in answer:
            raise TypeError(f"PackingSearcher needs an inner searcher that returns {{'trial': config}}; got keys {sorted(answer)}")
        self._held.append((sub_id, answer["trial"]))
        return True

    def _first_pack(self) -> list[Member]:
        """The first pack :func:`make_packs` forms from the held configs (empty if none held)."""
        from paretosweep.trial import make_packs

        trials = [TrialConfig.from_dict(config) for _, config in self._held]
        if not trials:
            return []
        position = {id(t): i for i, t in enumerate(trials)}
        return [self._held[position[id(t)]] for t in make_packs(trials, self.pack_size)[0]]

    def _complete(self, pack: list[Member]) -> bool:
        """A pack that should go out without asking for more: full, or a method trial."""
        return len(pack) >= self.pack_size or pack[0][1]["kind"] != "scalarization"

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        """The next pack (or single trial); ``None`` while waiting on results; ``FINISHED`` at the end."""
        pack = self._first_pack()
        # Bounded: each held group is at most pack_size, and there is one group per (seed, lr).
        while not (pack and self._complete(pack)) and self._ask(trial_id):
            pack = self._first_pack()
        if not pack:
            return Searcher.FINISHED if self._finished else None  # type: ignore[return-value]  # Ray omits its sentinel
        sent = {sub_id for sub_id, _ in pack}
        self._held = [m for m in self._held if m[0] not in sent]
        self._live[trial_id] = pack
        if len(pack) == 1:
            return {"trial": pack[0][1]}
        return {"pack": [config for _, config in pack]}

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        """Tell the inner searcher each member's own row (an error for a member without one)."""
        members = self._live.pop(trial_id, None)
        if members is None:
            return
        rows: dict[str, dict[str, Any]] = {}
        if result is not None and not error and ROW_KEY in result:
            payload = json.loads(result[ROW_KEY])
            for row in payload if isinstance(payload, list) else [payload]:
                rows[row.get("trial_id")] = row
        others = {k: v for k, v in (result or {}).items() if k != ROW_KEY}
        for sub_id, config in members:
            row = rows.get(config["trial_id"])
            if row is None:
                self.inner.on_trial_complete(sub_id, None, error=True)
            else:
                self.inner.on_trial_complete(sub_id, {**others, ROW_KEY: json.dumps(row)}, error=False)

    def save(self, checkpoint_path: str) -> None:
        """Save this searcher's state with the inner searcher's.

        The built-in inner searchers (adaptive, Optuna) all save; an inner searcher that does not
        raises Tune's ``NotImplementedError`` from its ``save``, which is passed on so Tune skips
        the searcher checkpoint as it would without packing."""
        inner_path = f"{checkpoint_path}.inner"
        try:
            self.inner.save(inner_path)
            with open(inner_path, "rb") as file:
                inner_state = file.read()
        finally:
            if os.path.exists(inner_path):
                os.remove(inner_path)
        state = {"held": self._held, "live": self._live, "asked": self._asked, "finished": self._finished, "inner": inner_state}
        with open(checkpoint_path, "wb") as file:
            pickle.dump(state, file)

    def restore(self, checkpoint_path: str) -> None:
        """Inverse of :meth:`save`."""
        with open(checkpoint_path, "rb") as file:
            state = pickle.load(file)
        inner_path = f"{checkpoint_path}.inner"
        try:
            with open(inner_path, "wb") as file:
                file.write(state["inner"])
            self.inner.restore(inner_path)
        finally:
            if os.path.exists(inner_path):
                os.remove(inner_path)
        self._held, self._live, self._asked, self._finished = state["held"], state["live"], state["asked"], state["finished"]


def resolve_pack_size(spec: SweepSpec, n_trials: int) -> int:
    """``budget.pack_size`` as a number: ``auto`` is :func:`~paretosweep.trial._packed.auto_pack_size`
    of ``n_trials`` on the trial's device (a GPU when ``resources.gpu > 0``), for the problem's
    model size (one model is built to count its parameters, on the per-process cached problem)."""
    from paretosweep.problems import canonical_params_json, make_problem_cached
    from paretosweep.trial import auto_pack_size

    size = spec.budget.pack_size
    if spec.problem.name is None:
        return 1  # a function trainable trains one model per trial (planning refuses an explicit pack_size > 1)
    if size == "auto":
        problem = make_problem_cached(spec.problem.name, canonical_params_json(spec.problem.params))
        model = problem.make_model(seed=spec.seed)
        n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
        return auto_pack_size(n_trials, "cuda" if spec.resources.gpu > 0 else "cpu", n_params)
    assert isinstance(size, int)
    return size


def packing_search(spec: SweepSpec, searcher: Searcher, num_samples: int) -> tuple[Searcher, int]:
    """``searcher`` wrapped in a :class:`PackingSearcher` when ``budget.pack_size`` is above 1 (or ``auto``).

    ``num_samples`` (the cap on Tune trials, one per weight vector) stays an upper bound: packs
    only lower the number of Tune trials; the searcher ends the sweep with ``FINISHED``.
    """
    size = resolve_pack_size(spec, num_samples)
    if size <= 1:
        return searcher, num_samples
    return PackingSearcher(searcher, size), num_samples
