"""The Method contract, and the two adapters most methods are written against.

A method turns the ``[m]`` task losses of one batch into gradients. It is a ``torch.nn.Module``,
so its learnable weights and running state live in ``parameters()``, buffers and
``state_dict()`` and survive checkpoints and device moves.

The trainer's step, for every method::

    optimizer.zero_grad()
    losses = problem.task_losses(model, batch, device)               # [m]
    weights = method.backward(losses, shared, task_specific=others)  # sets .grad, returns [m]
    optimizer.step()
    ...
    method.on_epoch_end(epoch, mean_train_losses)                    # [m] epoch means

* ``shared`` are ``problem.shared_parameters(model)``; ``task_specific`` every other trainable
  parameter of the model (pass them: a method writes gradients only to the parameters it is
  given and to its own).
* The optimizer gets ``method.parameters()`` as a second param group (same optimizer and
  learning rate). Only `UncertaintyWeighting` has such parameters; methods that update their
  own weights by their own rule (`GradNorm`) keep them in buffers, outside ``parameters()``.
* Gradients accumulate into ``.grad`` as with ``Tensor.backward``.
* Task-specific parameters receive the gradient of :math:`\\sum_i w_i L_i` with the method's
  effective weights :math:`w` (as in LibMTL), unless a method's docstring says otherwise.
* ``needs_shared_grads`` is True when the method needs per-task gradients of the shared
  parameters; a problem that does not name its shared parameters cannot run such a method.
  Methods with ``needs_shared_grads = False`` cost exactly one backward pass.
* ``needs_representation`` is True when the method differentiates w.r.t. the shared
  representation :math:`Z` (MGDA-UB): its ``backward`` then also takes the keyword
  ``representation`` (the batch's output of ``problem.shared_representation(model)``, still in
  the graph), which the trainer passes to such methods only. A problem without
  ``shared_representation`` cannot run such a method (refused at plan time).
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from paretosweep.errors import ParetoSweepError

from ._jacobian import TaskGrads, accumulate_grad, accumulate_weighted, flatten_rows, task_gradients
from ._params import check_int


class Method(nn.Module, ABC):
    """Base class of every method: the backward step of one batch, given its task losses.

    Args:
        n_tasks: number of tasks ``m`` (the length of ``losses``).
    """

    #: True when the method needs per-task gradients of the shared parameters.
    needs_shared_grads: ClassVar[bool] = False
    #: True when ``.grad`` is already the update direction (MTAdam): step it with plain SGD.
    replaces_optimizer: ClassVar[bool] = False
    #: True when ``backward`` needs the keyword ``representation`` (the shared representation
    #: :math:`Z`); a method whose need depends on its options (MGDA's ``upper_bound``) sets it
    #: per instance.
    needs_representation: bool = False

    def __init__(self, *, n_tasks: int) -> None:
        super().__init__()
        self.n_tasks = check_int("n_tasks", n_tasks, ge=1)

    @abstractmethod
    def backward(
        self,
        losses: Tensor,
        shared: Sequence[nn.Parameter],
        *,
        task_specific: Sequence[nn.Parameter] = (),
    ) -> Tensor:
        """Set ``.grad`` on the parameters from the ``[m]`` task losses of one batch.

        Args:
            losses: ``[m]`` differentiable task losses.
            shared: parameters shared by all tasks.
            task_specific: the model's other trainable parameters (heads).

        Returns:
            ``[m]`` effective weights applied this step (detached).
        """

    def on_epoch_end(self, epoch: int, mean_train_losses: Tensor) -> None:
        """Hook called after each training epoch with the ``[m]`` mean training losses."""
        del epoch, mean_train_losses

    def hparams(self) -> dict[str, Any]:
        """The method's options (keyword-only constructor arguments except ``n_tasks``)."""
        sig = inspect.signature(type(self).__init__)
        names = [p.name for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY]
        return {name: getattr(self, name) for name in names if name != "n_tasks"}

    def __repr__(self) -> str:
        args = {"n_tasks": self.n_tasks, **self.hparams()}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in args.items())})"

    def _check_losses(self, losses: Tensor) -> None:
        if losses.dim() != 1 or losses.shape[0] != self.n_tasks:
            raise ValueError(
                f"{type(self).__name__} expects losses of shape [{self.n_tasks}]. "
                f"Found shape {list(losses.shape)}; return one scalar loss per task."
            )

    def _check_shared(self, shared: Sequence[nn.Parameter]) -> list[nn.Parameter]:
        shared = [p for p in shared if p.requires_grad]
        if self.needs_shared_grads and not shared:
            raise ParetoSweepError(
                f"{type(self).__name__} needs the shared parameters for per-task gradients. "
                "Found none; make the problem's `shared_parameters(model)` return them."
            )
        return shared

    def _task_gradients(
        self, losses: Tensor, shared: Sequence[nn.Parameter], task_specific: Sequence[nn.Parameter]
    ) -> tuple[list[nn.Parameter], list[nn.Parameter], Tensor, TaskGrads]:
        """Checked shared and head parameters, the ``[m, n]`` Jacobian of the shared ones, and
        the heads' per-task gradients, all from the same ``m`` backward passes.

        The heads are differentiated in the same passes, so their gradient of any weighted sum
        of the losses follows from these rows (`accumulate_weighted`) without a further backward
        pass; when the losses are a stack, task ``i``'s pass does not even run the other tasks'
        heads (see `task_roots`).
        """
        self._check_losses(losses)
        checked = self._check_shared(shared)
        heads = [p for p in task_specific if p.requires_grad]
        rows = task_gradients(losses, checked + heads)
        k = len(checked)
        jac = flatten_rows([row[:k] for row in rows], checked)
        return checked, heads, jac, [row[k:] for row in rows]


class LossWeighting(Method):
    """A method that only reweights the losses: one backward of a scalar objective.

    Subclasses implement `objective`, returning the scalar to differentiate (it may involve
    the method's own parameters) and the ``[m]`` weights it applies to the losses.
    """

    @abstractmethod
    def objective(self, losses: Tensor) -> tuple[Tensor, Tensor]:
        """``(scalar objective, [m] effective weights)`` for the losses of one batch."""

    def backward(
        self,
        losses: Tensor,
        shared: Sequence[nn.Parameter],
        *,
        task_specific: Sequence[nn.Parameter] = (),
    ) -> Tensor:
        self._check_losses(losses)
        own = [p for p in self.parameters() if p.requires_grad]
        inputs = [p for p in (*shared, *task_specific) if p.requires_grad] + own
        if not inputs:
            raise ParetoSweepError(f"{type(self).__name__}.backward was given no parameters.")
        total, weights = self.objective(losses)
        torch.autograd.backward(total, inputs=inputs)
        return weights.detach()


class GramianMethod(Method):
    r"""A method whose logic is "per-task gradients -> task weights" (TorchJD's split).

    `task_gradients` builds the per-task Jacobian :math:`J` of the shared parameters (rows
    :math:`g_i`, ``[m, n]``); `weights` maps the Gramian :math:`G = J J^\top` ([m, m]) to
    weights :math:`w`; the shared parameters get :math:`s \cdot J^\top w` with :math:`s` =
    `shared_scale` (1 unless a method clips); the heads get the gradient of
    :math:`\sum_i h_i L_i` with :math:`h` = `head_weights` (by default :math:`w`), combined
    from the heads' gradients of the same per-task passes (no further backward).
    """

    needs_shared_grads = True

    @abstractmethod
    def weights(self, gramian: Tensor, losses: Tensor) -> Tensor:
        """``[m]`` weights from the ``[m, m]`` Gramian and the detached ``[m]`` losses."""

    def shared_scale(self, weights: Tensor, gramian: Tensor) -> float:
        r"""Factor applied to the shared direction :math:`J^\top w` (1 by default)."""
        del weights, gramian
        return 1.0

    def head_weights(self, weights: Tensor) -> Tensor:
        """Weights of the losses for the task-specific parameters (default: ``weights``)."""
        return weights

    def backward(
        self,
        losses: Tensor,
        shared: Sequence[nn.Parameter],
        *,
        task_specific: Sequence[nn.Parameter] = (),
    ) -> Tensor:
        shared, heads, jac, head_rows = self._task_gradients(losses, shared, task_specific)
        gramian = jac @ jac.T
        w = self.weights(gramian, losses.detach()).to(jac.dtype)
        accumulate_grad(shared, (w * self.shared_scale(w, gramian)) @ jac)
        accumulate_weighted(heads, head_rows, self.head_weights(w))
        return w.detach()
