"""IMTL-G: the combination of task gradients with equal projections on every task's direction."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ._base import GramianMethod
from ._linalg import normalized_gramian, to_tensor
from ._registry import register


def imtlg_weights(gramian: Tensor) -> Tensor:
    r"""IMTL-G weights: :math:`\alpha \propto G^{+} \operatorname{diag}(G)^{1/2}`, summing to 1.

    The paper's closed form (Theorem 1) picks :math:`\alpha` on
    :math:`\mathbf{1}^\top\alpha = 1` so that :math:`d = J^\top \alpha` has equal projections
    on all unit gradients :math:`u_i = g_i / \lVert g_i \rVert`:
    :math:`d^\top u_i = (G\alpha)_i / \lVert g_i \rVert = c` for all :math:`i`, i.e.
    :math:`G \alpha = c \cdot \operatorname{diag}(G)^{1/2}`. For linearly independent
    gradients this is the paper's
    :math:`\alpha_{2:m} = g_1 U^\top (D U^\top)^{-1}`; the pseudo-inverse extends it to
    dependent ones (TorchJD's generalisation). All-zero gradients give zero weights.

    Args:
        gramian: ``[m, m]`` PSD matrix :math:`G = J J^\top`.

    Returns:
        ``[m]`` weights summing to 1 (they may be negative).

    Example:
        >>> imtlg_weights(torch.tensor([[1.0, 0.0], [0.0, 4.0]]))
        tensor([0.6667, 0.3333])
    """
    g, scale = normalized_gramian(gramian)
    m = g.shape[0]
    if scale == 0.0:
        return torch.zeros(m, dtype=gramian.dtype, device=gramian.device)
    v = np.linalg.pinv(g, hermitian=True) @ np.sqrt(np.clip(np.diag(g), 0.0, None))
    total = v.sum()
    return to_tensor(v / total if abs(total) > 1e-12 else np.zeros(m), gramian)


@register("imtlg")
class IMTLG(GramianMethod):
    r"""Impartial MTL (gradient part): a step whose projection on each task's direction is equal.

    Paper: Liu, Li, Kuang, Xue, Chen, Yang, Liao, Zhang, "Towards Impartial Multi-task
    Learning", ICLR 2021. https://openreview.net/forum?id=IMPnRXEWpvr

    With :math:`D = [g_1 - g_2, \dots, g_1 - g_m]^\top` and
    :math:`U = [u_1 - u_2, \dots, u_1 - u_m]^\top`, :math:`u_i = g_i/\lVert g_i \rVert`:

    .. math::
        \alpha_{2:m} = g_1 U^\top (D U^\top)^{-1}, \quad
        \alpha_1 = 1 - \mathbf{1}^\top \alpha_{2:m}, \quad
        \mathcal{L} = \sum_i \alpha_i L_i

    computed from the Gramian as in `imtlg_weights`. Variant: IMTL-G only (not the loss
    scaling IMTL-L), on gradients of the shared *parameters* (the paper uses gradients
    w.r.t. the shared representation for speed; problems here do not expose it). Heads get
    the gradient of :math:`\sum_i \alpha_i L_i`. Shapes: Gramian ``[m, m]`` -> weights ``[m]``.

    Args:
        n_tasks: number of tasks.
    """

    def weights(self, gramian: Tensor, losses: Tensor) -> Tensor:
        del losses
        return imtlg_weights(gramian)
