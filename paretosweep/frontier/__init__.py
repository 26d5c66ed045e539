"""The frontier stage: dominance, quality indicators and picks on objective matrices.

Pure numpy/pandas on top of ``moocore``; no Ray, torch or plotting imports.
"""

from __future__ import annotations

from paretosweep.frontier._hv_estimate import (
    ContributionEstimate,
    HypervolumeEstimate,
    contribution_method,
    hv_contributions_auto,
    hv_contributions_monte_carlo,
    hypervolume_auto,
    hypervolume_method,
    hypervolume_monte_carlo,
)
from paretosweep.frontier._indicators import (
    additive_epsilon,
    auto_reference_point,
    hv_contributions,
    hypervolume,
    igd_plus,
    shared_reference_point,
)
from paretosweep.frontier._objective import Objective
from paretosweep.frontier._pareto import crowding_distances, maximise_flags, nan_rows, non_dominated_mask, pareto_ranks, to_minimization
from paretosweep.frontier._picks import PICKS, knee_distances, pick
from paretosweep.frontier._seeds import (
    BOOKKEEPING_HPARAMS,
    FRONT_KINDS,
    MEASURED_STATUSES,
    SeedGroups,
    configuration_front,
    configuration_keys,
    hparams_key,
    seed_groups,
    usable_rows,
)

__all__ = [
    "BOOKKEEPING_HPARAMS",
    "FRONT_KINDS",
    "MEASURED_STATUSES",
    "PICKS",
    "SeedGroups",
    "configuration_front",
    "configuration_keys",
    "hparams_key",
    "seed_groups",
    "usable_rows",
    "ContributionEstimate",
    "HypervolumeEstimate",
    "Objective",
    "contribution_method",
    "hv_contributions_auto",
    "hv_contributions_monte_carlo",
    "hypervolume_auto",
    "hypervolume_method",
    "hypervolume_monte_carlo",
    "additive_epsilon",
    "auto_reference_point",
    "crowding_distances",
    "hv_contributions",
    "hypervolume",
    "igd_plus",
    "knee_distances",
    "maximise_flags",
    "nan_rows",
    "non_dominated_mask",
    "pareto_ranks",
    "pick",
    "shared_reference_point",
    "to_minimization",
]
