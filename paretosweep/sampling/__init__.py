"""Where the next weight vectors come from (pure numpy, no Ray).

One contract, :class:`Sampler` (``ask`` / ``tell``), and one factory, :func:`make_sampler`, the
only place that switches on ``sampler.name``. Behind it: the static designs (``_designs``), the
adaptive sampler (``_adaptive``, with ``_targets``, ``_hull``, ``_dense``, ``_focus``, ``_noise``) and Optuna's
samplers (``_optuna``).
"""

from paretosweep.sampling._adaptive import AdaptiveSampler, default_n_initial, initial_design, resolve_n_initial
from paretosweep.sampling._base import Sampler, StaticSampler
from paretosweep.sampling._designs import MIN_LATTICE_DIVISIONS, resolve_design
from paretosweep.sampling._factory import RESULT_DRIVEN, describe, design_note, journal_path, make_sampler, planned_trials
from paretosweep.sampling._focus import FocusRegion, parse_focus
from paretosweep.sampling._noise import weight_key
from paretosweep.sampling._optuna import (
    OPTUNA_SAMPLERS,
    STUDY_FILE,
    OptunaSampler,
    StoredResult,
    param_names,
    simplex_to_unit,
    unit_to_simplex,
)
from paretosweep.sampling._targets import Gap, Proposal, Target, frontier_gaps, propose

__all__ = [
    "MIN_LATTICE_DIVISIONS",
    "OPTUNA_SAMPLERS",
    "RESULT_DRIVEN",
    "STUDY_FILE",
    "AdaptiveSampler",
    "FocusRegion",
    "Gap",
    "OptunaSampler",
    "Proposal",
    "Sampler",
    "StaticSampler",
    "StoredResult",
    "Target",
    "default_n_initial",
    "describe",
    "design_note",
    "frontier_gaps",
    "initial_design",
    "journal_path",
    "make_sampler",
    "param_names",
    "parse_focus",
    "planned_trials",
    "propose",
    "resolve_design",
    "resolve_n_initial",
    "simplex_to_unit",
    "unit_to_simplex",
    "weight_key",
]
