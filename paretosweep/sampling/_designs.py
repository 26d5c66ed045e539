"""The static designs: weight vectors fixed before any trial runs.

``das_dennis`` (the lattice), ``energy`` (Riesz s-energy points), ``sobol``, ``dirichlet`` and
``explicit`` (the spec's own list), plus ``auto``, which picks the lattice or the energy design
by the rule of :func:`resolve_design`. The maths lives in :mod:`paretosweep.simplex`.
"""

from __future__ import annotations

import numpy as np

from paretosweep import simplex
from paretosweep.errors import ConfigError

#: The coarsest Das–Dennis lattice (divisions per edge) that sampler ``auto`` still uses; H = 2 is
#: only the corners and the midpoints of pairs of tasks, nothing inside the simplex.
MIN_LATTICE_DIVISIONS = 3
#: Designs computed from the budget alone (``explicit`` takes the spec's list).
GENERATED_DESIGNS = ("auto", "das_dennis", "energy", "sobol", "dirichlet")


def resolve_design(name: str, m: int, n: int) -> tuple[str, str | None]:
    """The design behind ``sampler.name`` for m tasks and ``n = budget.n_weights``, and a note.

    ``auto`` is ``das_dennis`` for 2 tasks (n evenly spaced points) and, from 3 tasks on, when the
    largest lattice within n has at least :data:`MIN_LATTICE_DIVISIONS` divisions; otherwise
    ``energy`` (n well-spaced points, any m). An explicit ``das_dennis`` whose lattice is coarser
    than that (3+ tasks) is kept, with a note saying how many points it really uses.
    """
    if name not in ("auto", "das_dennis") or m <= 2:
        return ("das_dennis" if name == "auto" else name), None
    divisions = simplex.lattice_divisions(m, n)
    if divisions >= MIN_LATTICE_DIVISIONS:
        return "das_dennis", None
    finer = simplex.lattice_size(m, MIN_LATTICE_DIVISIONS)
    if name == "auto":
        return "energy", (
            f"sampler `auto` uses `energy`: for {m} tasks the Das-Dennis lattice within `budget.n_weights: {n}` "
            f"would have only H = {divisions} division(s) (H = {MIN_LATTICE_DIVISIONS} needs {finer} points)."
        )
    if divisions == 0:
        return name, None  # das_dennis_at_most refuses it with its own message
    used = simplex.lattice_size(m, divisions)
    what = "the corners only" if divisions == 1 else "the corners and the midpoints of pairs of tasks"
    return name, (
        f"sampler `das_dennis`: for {m} tasks the largest lattice within `budget.n_weights: {n}` has H = {divisions} "
        f"division(s), so it uses {used} weight vectors ({what}), not {n}; H = {MIN_LATTICE_DIVISIONS} needs {finer}. "
        f"Set `sampler: {{name: energy}}` for {n} well-spaced ones (the default `auto` does), or raise `budget.n_weights`."
    )


def explicit_weights(weights: tuple[tuple[float, ...], ...], m: int) -> np.ndarray:
    """The spec's ``sampler.weights`` ``[n, m]``, used as given.

    Raises:
        ConfigError: a vector off the simplex (naming its index and why).
    """
    for i, w in enumerate(weights):
        why = simplex.simplex_violation(list(w), m)
        if why is not None:
            raise ConfigError(
                f"`sampler.weights[{i}]` should lie on the simplex (m={m} non-negative entries, sum 1). Found `{list(w)}`: {why}."
            )
    return np.asarray(weights, dtype=np.float64).reshape(len(weights), m)


def generated_weights(name: str, m: int, n: int, *, floor: float, seed: int) -> np.ndarray:
    """The ``[k, m]`` weight vectors of a generated design (``k <= n``), floor applied."""
    design, _ = resolve_design(name, m, n)
    if design == "das_dennis":
        raw = simplex.das_dennis_at_most(m, n)
    elif design == "energy":
        raw = simplex.riesz_energy(m, n, seed=seed)
    elif design == "dirichlet":
        raw = simplex.dirichlet(m, n, seed=seed)
    else:
        raw = simplex.sobol_simplex(m, n, seed=seed)
    return simplex.apply_floor(raw, floor)
