"""Ordinary regularisation of a comparison arm: dropout on the shared representation, early stopping.

Kurin et al. (NeurIPS 2022, https://arxiv.org/abs/2201.04122) tune the unitary scalarization as a
single-task model is tuned: weight decay, dropout and early stopping. Weight decay is a term of the
gradient (`paretosweep.methods._unitary.add_weight_decay`); the other two belong to the model and
the training loop, so they are given here as pieces a loop applies:

* :class:`RepresentationDropout`: a forward hook on the problem's shared representation module
  (``problem.shared_representation(model)``) that replaces its output :math:`Z` by
  :math:`\\mathrm{dropout}_p(Z)` (each unit zeroed with probability :math:`p`, the others scaled by
  :math:`1/(1-p)`) while that module is in training mode, and leaves it unchanged in evaluation
  mode (``model.eval()``). No problem code changes.
* :class:`EarlyStopping`: tracks a monitored validation value (smaller is better), remembers the
  best epoch's model state, and says when ``patience`` epochs in a row brought no strict
  improvement.

:func:`regularisation_of` reads the options ``dropout`` and ``early_stopping`` from a method's
options (``ctx.method_options``); the built-in loop (``paretosweep.trial._problem_loop``) applies them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from paretosweep.errors import ParetoSweepError

from ._params import MethodParamError, check_float, check_int

#: What ``early_stopping`` accepts, as the messages say it.
EARLY_STOPPING_FORM = "a mapping `{patience: N}` with N an integer >= 1 (or null: no early stopping)"


def check_dropout(value: Any) -> float:
    """``dropout``: a probability in ``[0, 1)`` (0: no dropout)."""
    return check_float("dropout", value, ge=0.0, lt=1.0)


def check_early_stopping(value: Any) -> dict[str, int] | None:
    """``early_stopping``: None, or ``{"patience": N}`` with ``N >= 1``; returned as a plain dict."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) != {"patience"}:
        raise MethodParamError("early_stopping", EARLY_STOPPING_FORM, value)
    try:
        patience = check_int("patience", value["patience"], ge=1)
    except MethodParamError as error:
        raise error.at("early_stopping") from None
    return {"patience": patience}


@dataclass(frozen=True)
class Regularisation:
    """The loop-level regularisation of one trial: dropout probability and early-stopping patience."""

    dropout: float = 0.0
    patience: int | None = None


def regularisation_of(options: Mapping[str, Any]) -> Regularisation:
    """The ``dropout`` and ``early_stopping`` of a method's options (absent: none), validated."""
    stopping = check_early_stopping(options.get("early_stopping"))
    return Regularisation(
        dropout=check_dropout(options.get("dropout", 0.0)),
        patience=None if stopping is None else stopping["patience"],
    )


class RepresentationDropout:
    """Dropout on the output of ``module`` (the shared representation), as a forward hook.

    In training mode (``module.training``) the hook returns ``F.dropout(Z, p, training=True)``;
    in evaluation mode it returns ``Z`` unchanged. Use as a context manager, or call `remove`, so
    the hook does not outlive the trial. The random mask comes from torch's global generator
    (seeded per trial).

    Args:
        module: the shared-representation module (its output is one tensor).
        p: probability of zeroing a unit, in ``[0, 1)``.

    Example:
        >>> import torch
        >>> trunk = nn.Identity()
        >>> with RepresentationDropout(trunk, 0.5):
        ...     _ = torch.manual_seed(0)
        ...     sorted(set(trunk(torch.ones(8)).tolist())) == [0.0, 2.0]
        True
    """

    def __init__(self, module: nn.Module, p: float) -> None:
        self.p = check_dropout(p)
        self._handle = module.register_forward_hook(self._apply)

    def _apply(self, module: nn.Module, args: Any, output: Any) -> Any:
        del args
        if not module.training or self.p == 0.0:
            return output
        if not isinstance(output, Tensor):
            raise ParetoSweepError(
                f"`dropout` applies to the shared representation, one tensor; `{type(module).__name__}` returned "
                f"{type(output).__name__}. Make `shared_representation(model)` return the module whose output tensor "
                "the task heads read, or set `dropout: 0`."
            )
        return F.dropout(output, self.p, training=True)

    def remove(self) -> None:
        """Remove the hook."""
        self._handle.remove()

    def __enter__(self) -> RepresentationDropout:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class EarlyStopping:
    """Stop after ``patience`` epochs without a strict improvement of a monitored value (smaller is better).

    ``update(epoch, value, state)`` after each epoch's evaluation: an epoch whose value is below
    the best so far becomes the best (``state()`` is called then, to copy its model); otherwise
    the count of epochs without improvement grows, and ``stopped`` becomes True when it reaches
    ``patience``. A NaN value never improves. ``state_dict`` / ``load_state_dict`` carry it
    through a checkpoint.

    Args:
        patience: epochs without improvement before stopping (``>= 1``).

    Example:
        >>> stopping = EarlyStopping(patience=2)
        >>> [stopping.update(e, v, lambda: e) for e, v in enumerate([3.0, 2.0, 2.5, 2.0], start=1)]
        [False, False, False, True]
        >>> stopping.best_epoch, stopping.best, stopping.best_state
        (2, 2.0, 2)
    """

    def __init__(self, patience: int) -> None:
        self.patience = check_int("early_stopping.patience", patience, ge=1)
        self.best = math.inf
        self.best_epoch: int | None = None
        self.best_state: Any = None
        self.wait = 0
        self.stopped = False

    def update(self, epoch: int, value: float, state: Callable[[], Any]) -> bool:
        """Record ``epoch``'s monitored ``value``; whether to stop training now."""
        if value < self.best:
            self.best, self.best_epoch, self.best_state, self.wait = float(value), epoch, state(), 0
        else:
            self.wait += 1
        self.stopped = self.wait >= self.patience
        return self.stopped

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue (the best state included)."""
        return {
            "patience": self.patience,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "best_state": self.best_state,
            "wait": self.wait,
            "stopped": self.stopped,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state_dict` (the patience stays this object's)."""
        self.best, self.best_epoch, self.best_state = float(state["best"]), state["best_epoch"], state["best_state"]
        self.wait = int(state["wait"])
        self.stopped = self.wait >= self.patience
