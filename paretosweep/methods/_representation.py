"""Capture the shared representation Z of a forward pass, for methods that need it (MGDA-UB).

The Problem protocol names the module whose output every task head reads
(``problem.shared_representation(model)``); a forward hook on it records that output during
``task_losses`` without changing the problem's code, and the trainer hands it to
``method.backward(..., representation=Z)``. The output stays in the autograd graph.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from paretosweep.errors import ParetoSweepError


class RepresentationTap:
    """A forward hook on ``module`` that records its output on every pass with grad enabled.

    Passes under ``torch.no_grad()`` (held-out evaluation) are not recorded. Use as a context
    manager, or call `remove`, so the hook does not outlive the trial.

    Args:
        module: the shared-representation module (e.g. a model's ``trunk``).
    """

    def __init__(self, module: nn.Module) -> None:
        self._outputs: list[Any] = []
        self._handle = module.register_forward_hook(self._record)

    def _record(self, module: nn.Module, args: Any, output: Any) -> None:
        del module, args
        if torch.is_grad_enabled():
            self._outputs.append(output)

    def take(self) -> Tensor:
        """The representation recorded since the last call: exactly one tensor in the graph.

        Raises:
            ParetoSweepError: if the module ran zero or several times, or its output is not a
                tensor that requires grad.
        """
        outputs, self._outputs = self._outputs, []
        if len(outputs) != 1:
            raise ParetoSweepError(
                f"The shared representation module ran {len(outputs)} times in one `task_losses` "
                "call; MGDA-UB needs exactly one pass. Make `shared_representation(model)` return "
                "the module the task heads read, called once per batch as `module(x)`."
            )
        z = outputs[0]
        if not isinstance(z, Tensor) or not z.requires_grad:
            found = type(z).__name__ if not isinstance(z, Tensor) else "a tensor without grad"
            raise ParetoSweepError(
                f"The shared representation should be one tensor in the autograd graph; found {found}. "
                "Make `shared_representation(model)` return a module whose output is the tensor Z "
                "the heads read (not detached)."
            )
        return z

    def remove(self) -> None:
        """Remove the hook and drop any recorded output."""
        self._handle.remove()
        self._outputs = []

    def __enter__(self) -> RepresentationTap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()
