"""How m task losses become a gradient step: comparison methods and their registry.

``create(name, n_tasks=m, **options)`` builds a method by its registry name (as used in the
spec's ``methods:`` list); ``available_methods()`` lists the names with one-line summaries.
The contract every method follows is in `paretosweep.methods._base`:

* ``method.backward(losses, shared, *, task_specific=()) -> [m] weights`` sets ``.grad``;
* ``method.on_epoch_end(epoch, mean_train_losses)``;
* ``Method.needs_shared_grads`` (per-task gradients of the shared parameters needed);
* ``Method.replaces_optimizer`` (``.grad`` is already the update direction: step with SGD);
* ``method.parameters()`` go into the trainer's optimizer as a second param group.
"""

from __future__ import annotations

from ._alignedmtl import AlignedMTL, alignedmtl_weights
from ._base import GramianMethod, LossWeighting, Method
from ._cagrad import CAGrad, cagrad_weights
from ._dualcone import DualProj, UPGrad, dual_cone_weights, dualproj_weights, upgrad_weights
from ._dwa import DWA, dwa_weights
from ._equal import EqualWeighting
from ._famo import FAMO, famo_logit_gradient, famo_weights
from ._gradnorm import GradNorm, gradnorm_weight_gradient
from ._gradsim import GradSim, gradsim_weights
from ._imtlg import IMTLG, imtlg_weights
from ._jacobian import task_jacobian
from ._metabalance import MetaBalance, metabalance_scales
from ._mgda import MGDA, mgda_weights
from ._mtadam import MTAdam, anchor_scales
from ._nashmtl import NashMTL, nash_weights
from ._params import MethodParamError
from ._pcgrad import PCGrad, pcgrad_weights
from ._registry import available_methods, create, options, register
from ._regularisation import EarlyStopping, Regularisation, RepresentationDropout, regularisation_of
from ._representation import RepresentationTap
from ._rlw import RLW
from ._stch import STCH
from ._uncertainty import UncertaintyWeighting
from ._unitary import UnitaryScalarization

__all__ = [
    "AlignedMTL",
    "CAGrad",
    "DWA",
    "DualProj",
    "EarlyStopping",
    "EqualWeighting",
    "FAMO",
    "GradNorm",
    "GradSim",
    "GramianMethod",
    "IMTLG",
    "LossWeighting",
    "MGDA",
    "MTAdam",
    "MetaBalance",
    "Method",
    "MethodParamError",
    "NashMTL",
    "PCGrad",
    "RLW",
    "Regularisation",
    "RepresentationDropout",
    "RepresentationTap",
    "STCH",
    "UPGrad",
    "UncertaintyWeighting",
    "UnitaryScalarization",
    "alignedmtl_weights",
    "anchor_scales",
    "available_methods",
    "cagrad_weights",
    "create",
    "dual_cone_weights",
    "dualproj_weights",
    "dwa_weights",
    "famo_logit_gradient",
    "famo_weights",
    "gradnorm_weight_gradient",
    "gradsim_weights",
    "imtlg_weights",
    "metabalance_scales",
    "mgda_weights",
    "nash_weights",
    "options",
    "pcgrad_weights",
    "register",
    "regularisation_of",
    "task_jacobian",
    "upgrad_weights",
]
