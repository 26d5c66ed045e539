"""One trial: a function trainable on a TrialContext (the user's, or the built-in loop over a Problem)."""

from paretosweep.trial._context import TrialContext
from paretosweep.trial._outcome import Diverged, TrainableError, TrialOutcome
from paretosweep.trial._packed import train_packed
from paretosweep.trial._packing import auto_pack_size, make_packs
from paretosweep.trial._problem_loop import make_optimizer, train_problem
from paretosweep.trial._trainer import make_context, run_in_context, train_trial

__all__ = [
    "Diverged",
    "TrainableError",
    "TrialContext",
    "TrialOutcome",
    "auto_pack_size",
    "make_context",
    "make_optimizer",
    "make_packs",
    "run_in_context",
    "train_packed",
    "train_problem",
    "train_trial",
]
