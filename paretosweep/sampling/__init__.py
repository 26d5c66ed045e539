"""Samplers that choose weight vectors from results (pure numpy, no Ray): adaptive refinement, and
the map from Optuna's unit-cube search space to the simplex."""

from paretosweep.sampling._adaptive import (
    AdaptiveSampler,
    Gap,
    Proposal,
    default_n_initial,
    frontier_gaps,
    initial_design,
    propose,
    resolve_n_initial,
)
from paretosweep.sampling._optuna import OPTUNA_SAMPLERS, param_names, unit_to_simplex

__all__ = [
    "OPTUNA_SAMPLERS",
    "AdaptiveSampler",
    "Gap",
    "Proposal",
    "default_n_initial",
    "frontier_gaps",
    "initial_design",
    "param_names",
    "propose",
    "resolve_n_initial",
    "unit_to_simplex",
]
