"""Aligned-MTL: align the principal components of the task gradients to one condition number."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from ._base import GramianMethod
from ._dualcone import preference_weights
from ._linalg import normalized_gramian, to_tensor
from ._params import check_choice, check_preference
from ._registry import register

SCALE_MODES = ("min", "median", "rmse")


def alignedmtl_weights(gramian: Tensor, preference: Sequence[float] | None = None, *, scale_mode: str = "min") -> Tensor:
    r"""Aligned-MTL weights :math:`\alpha = B p`, :math:`B = \sqrt{\lambda_s}\, V \Lambda^{-1/2} V^\top`.

    With the eigen-decomposition :math:`G = V \Lambda V^\top` restricted to the eigenvalues above
    :math:`\lambda_{\max} \cdot m \cdot \varepsilon` (:math:`\varepsilon` the machine epsilon of
    the Gramian's dtype: its numerical rank), :math:`J^\top B` has all its singular values equal to
    :math:`\sqrt{\lambda_s}`, with :math:`\lambda_s` the smallest kept eigenvalue (``min``, the
    paper's Algorithm 1), their lower median (``median``, as ``torch.median``) or their mean
    (``rmse``). A zero Gramian gives :math:`\alpha = p`.

    Args:
        gramian: ``[m, m]`` PSD matrix :math:`G = J J^\top`.
        preference: ``[m]`` non-negative task preference :math:`p`, or None for ``1/m``.
        scale_mode: ``min``, ``median`` or ``rmse``.

    Returns:
        ``[m]`` weights (they may be negative).

    Example:
        >>> alignedmtl_weights(torch.tensor([[4.0, 0.0], [0.0, 1.0]]))
        tensor([0.2500, 0.5000])
    """
    g, scale = normalized_gramian(gramian)
    m = g.shape[0]
    p = preference_weights(preference, m)
    if scale == 0.0:
        return to_tensor(p, gramian)
    eigvals, eigvecs = np.linalg.eigh(g)
    tol = eigvals.max() * m * torch.finfo(gramian.dtype).eps
    keep = eigvals > tol
    lam, vecs = eigvals[keep], eigvecs[:, keep]
    if scale_mode == "min":
        target = lam.min()
    elif scale_mode == "median":
        target = np.sort(lam)[(len(lam) - 1) // 2]
    else:
        target = lam.mean()
    balance = np.sqrt(target) * (vecs / np.sqrt(lam)) @ vecs.T
    return to_tensor(balance @ p, gramian)


@register("alignedmtl")
class AlignedMTL(GramianMethod):
    r"""Aligned-MTL: rescale the gradients' principal components so that none dominates the step.

    Paper: Senushkin, Patakin, Kuznetsov, Konushin, "Independent Component Alignment for
    Multi-Task Learning", CVPR 2023. https://arxiv.org/abs/2305.19000

    Algorithm 1: with the Gramian :math:`G = J J^\top = V \Lambda V^\top` of the ``[m, n]``
    task Jacobian :math:`J` and its :math:`R` non-zero eigenvalues,

    .. math::
        B = \sqrt{\lambda_R}\, V \Lambda^{-1/2} V^\top, \qquad \alpha = B p, \qquad
        \theta \leftarrow \theta - \eta\, J^\top \alpha

    so the aligned gradients :math:`\hat J^\top = J^\top B` have condition number 1 (all
    singular values :math:`\sqrt{\lambda_R}`). Weights from `alignedmtl_weights`.

    Variant: TorchJD's ``AlignedMTL`` (0.18): the numerical rank cuts eigenvalues at
    :math:`\lambda_{\max} \cdot m \cdot \varepsilon` (machine epsilon of the Gramian's dtype),
    ``scale_mode`` picks :math:`\lambda_R` (``min``: the smallest kept eigenvalue, the paper's;
    ``median``: their lower median; ``rmse``: their mean), ``preference`` :math:`p` is used as
    given, ``1/m`` each by default (TorchJD's ``pref_vector``; the paper's task weights
    :math:`w`). On the gradients of the shared *parameters* (not the paper's Aligned-MTL-UB on
    the shared representation). Heads get the gradient of :math:`\sum_i \alpha_i L_i`; in
    TorchJD's ``mtl_backward`` each head gets the plain gradient of its own loss instead.
    Shapes: Gramian ``[m, m]`` -> weights ``[m]``.

    Args:
        n_tasks: number of tasks.
        preference: ``m`` numbers ``>= 0`` (default ``1/m`` each).
        scale_mode: ``min`` (default), ``median`` or ``rmse``.
    """

    def __init__(self, *, n_tasks: int, preference: Sequence[float] | None = None, scale_mode: str = "min") -> None:
        super().__init__(n_tasks=n_tasks)
        self.preference = check_preference("preference", preference, n_tasks)
        self.scale_mode = check_choice("scale_mode", scale_mode, SCALE_MODES)

    def weights(self, gramian: Tensor, losses: Tensor) -> Tensor:
        del losses
        return alignedmtl_weights(gramian, self.preference, scale_mode=self.scale_mode)
