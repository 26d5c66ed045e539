"""One trial: train a problem's model under one weight vector (or one method) and measure it."""

from paretosweep.trial._packed import train_packed
from paretosweep.trial._packing import auto_pack_size, make_packs
from paretosweep.trial._trainer import TrialOutcome, train_trial

__all__ = ["TrialOutcome", "auto_pack_size", "make_packs", "train_packed", "train_trial"]
