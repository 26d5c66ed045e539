"""Samplers that choose weight vectors from results (pure numpy, no Ray): adaptive refinement, and
the map from Optuna's unit-cube search space to the simplex.

Modules: ``_adaptive`` (the sampler and its rounds), ``_hull`` (lower convex hull facets: linear
weights for m > 2), ``_dense`` (knee and crowding scores), ``_focus`` (the focus region),
``_noise`` (mean over seeds, re-tests), ``_optuna`` (the unit-cube map)."""

from paretosweep.sampling._adaptive import (
    AdaptiveSampler,
    Gap,
    Proposal,
    Target,
    default_n_initial,
    frontier_gaps,
    initial_design,
    propose,
    resolve_n_initial,
)
from paretosweep.sampling._base import Sampler, StaticSampler
from paretosweep.sampling._focus import FocusRegion, parse_focus
from paretosweep.sampling._optuna import OPTUNA_SAMPLERS, param_names, simplex_to_unit, unit_to_simplex

__all__ = [
    "OPTUNA_SAMPLERS",
    "AdaptiveSampler",
    "FocusRegion",
    "Gap",
    "Proposal",
    "Sampler",
    "StaticSampler",
    "Target",
    "default_n_initial",
    "frontier_gaps",
    "initial_design",
    "param_names",
    "parse_focus",
    "propose",
    "resolve_n_initial",
    "simplex_to_unit",
    "unit_to_simplex",
]
