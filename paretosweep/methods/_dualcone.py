"""UPGrad and DualProj: project gradients onto the dual cone of the task gradients."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import nnls
from torch import Tensor

from ._base import GramianMethod
from ._linalg import normalized_gramian, psd_root, to_tensor
from ._params import check_float, check_preference
from ._registry import register


def dual_cone_weights(gramian: np.ndarray, targets: np.ndarray) -> np.ndarray:
    r"""For each row :math:`u` of ``targets``, :math:`v = \arg\min_{v \succeq u} v^\top G v`.

    By Proposition 1 of Quinton & Rey (2024), :math:`J^\top v = \pi_J(J^\top u)`: the
    projection of :math:`J^\top u` onto the dual cone :math:`\{x : Jx \succeq 0\}` of the rows of
    :math:`J` (with :math:`G = J J^\top`). Solved exactly (Lawson-Hanson active set) as the
    non-negative least-squares problem :math:`v = u + x`,
    :math:`x^\star = \arg\min_{x \succeq 0} \lVert R x + R u \rVert^2` with :math:`R^\top R = G`
    (the Cholesky factor, or the eigen-decomposition's root when :math:`G` is singular).

    Args:
        gramian: ``[m, m]`` symmetric PSD float64 matrix (positive definite for a unique ``v``).
        targets: ``[k, m]`` weight vectors :math:`u` to project.

    Returns:
        ``[k, m]`` projected weights, :math:`v \succeq u` row by row.

    Example:
        >>> dual_cone_weights(np.array([[1.0, -1.0], [-1.0, 1.0]]) + np.eye(2), np.array([[1.0, 0.0]]))
        array([[1. , 0.5]])
    """
    try:  # positive definite (as with reg_eps > 0): the Cholesky factor, R = L^T
        root = np.linalg.cholesky(gramian).T
    except np.linalg.LinAlgError:  # singular: the eigen-decomposition's root
        root = psd_root(gramian)
    out = np.empty_like(targets, dtype=np.float64)
    for k, u in enumerate(targets):
        x, _ = nnls(root, -(root @ u))
        out[k] = u + x
    return out


def regularized_gramian(gramian: Tensor, *, norm_eps: float, reg_eps: float) -> np.ndarray:
    r"""TorchJD's preconditioning of the Gramian: :math:`G / \operatorname{tr} G + \epsilon_r I`.

    The trace normalisation is skipped, and the matrix taken as zero, when
    :math:`\operatorname{tr} G < \epsilon_n` (``norm_eps``, an absolute threshold); the
    regularisation :math:`\epsilon_r I` (``reg_eps``) makes it positive definite. Float64 ``[m, m]``.
    """
    g, mean_diag = normalized_gramian(gramian)
    m = g.shape[0]
    if mean_diag == 0.0 or mean_diag * m < norm_eps:
        g = np.zeros_like(g)
    else:
        g = g / m  # normalized_gramian divides by the mean diagonal, trace / m
    return g + reg_eps * np.eye(m)


def preference_weights(preference: Sequence[float] | None, m: int) -> np.ndarray:
    """``[m]`` float64 preference vector; ``1/m`` each when None."""
    return np.full(m, 1.0 / m) if preference is None else np.asarray(preference, dtype=np.float64)


def upgrad_weights(
    gramian: Tensor,
    preference: Sequence[float] | None = None,
    *,
    norm_eps: float = 1e-4,
    reg_eps: float = 1e-4,
) -> Tensor:
    r"""UPGrad weights :math:`w = \sum_i v^{(i)}`, :math:`v^{(i)} = \arg\min_{v \succeq p_i e_i} v^\top G v`.

    :math:`J^\top w = \sum_i p_i \pi_J(g_i)`: each task gradient projected onto the dual cone of
    all of them, then combined with the preference :math:`p` (``1/m`` each by default). The QPs
    are solved on TorchJD's regularised Gramian (`regularized_gramian`).

    Args:
        gramian: ``[m, m]`` PSD matrix :math:`G = J J^\top`.
        preference: ``[m]`` non-negative preference :math:`p`, or None for ``1/m``.
        norm_eps: trace below which the Gramian is taken as zero (TorchJD's ``norm_eps``).
        reg_eps: ridge added to the trace-normalised Gramian (TorchJD's ``reg_eps``).

    Returns:
        ``[m]`` weights, :math:`w \succeq p`.

    Example:
        >>> import torch
        >>> upgrad_weights(torch.tensor([[18.0, -22.0], [-22.0, 38.0]]))
        tensor([1.1109, 0.7894])
    """
    g = regularized_gramian(gramian, norm_eps=norm_eps, reg_eps=reg_eps)
    p = preference_weights(preference, g.shape[0])
    return to_tensor(dual_cone_weights(g, np.diag(p)).sum(axis=0), gramian)


def dualproj_weights(
    gramian: Tensor,
    preference: Sequence[float] | None = None,
    *,
    norm_eps: float = 1e-4,
    reg_eps: float = 1e-4,
) -> Tensor:
    r"""DualProj weights :math:`w = \arg\min_{v \succeq p} v^\top G v`: :math:`J^\top w = \pi_J(J^\top p)`.

    The preference-weighted mean gradient (``1/m`` each by default) projected onto the dual cone
    of the task gradients, on TorchJD's regularised Gramian (`regularized_gramian`).

    Args:
        gramian: ``[m, m]`` PSD matrix :math:`G = J J^\top`.
        preference: ``[m]`` non-negative preference :math:`p`, or None for ``1/m``.
        norm_eps: trace below which the Gramian is taken as zero (TorchJD's ``norm_eps``).
        reg_eps: ridge added to the trace-normalised Gramian (TorchJD's ``reg_eps``).

    Returns:
        ``[m]`` weights, :math:`w \succeq p`.

    Example:
        >>> import torch
        >>> dualproj_weights(torch.tensor([[18.0, -22.0], [-22.0, 38.0]]))
        tensor([0.6109, 0.5000])
    """
    g = regularized_gramian(gramian, norm_eps=norm_eps, reg_eps=reg_eps)
    p = preference_weights(preference, g.shape[0])
    return to_tensor(dual_cone_weights(g, p[None])[0], gramian)


class _DualConeMethod(GramianMethod):
    def __init__(
        self,
        *,
        n_tasks: int,
        preference: Sequence[float] | None = None,
        norm_eps: float = 1e-4,
        reg_eps: float = 1e-4,
    ) -> None:
        super().__init__(n_tasks=n_tasks)
        self.preference = check_preference("preference", preference, n_tasks)
        self.norm_eps = check_float("norm_eps", norm_eps, ge=0.0)
        self.reg_eps = check_float("reg_eps", reg_eps, ge=0.0)


@register("upgrad")
class UPGrad(_DualConeMethod):
    r"""Unconflicting projection of gradients: each task gradient projected onto the dual cone.

    Paper: Quinton, Rey, "Jacobian Descent for Multi-Objective Optimization", 2024.
    https://arxiv.org/abs/2406.16232

    With the dual cone :math:`C_J = \{x : J x \succeq 0\}` of the task gradients (rows of the
    ``[m, n]`` Jacobian :math:`J`) and the projection :math:`\pi_J` onto it:

    .. math::
        \mathcal{A}_{\mathrm{UPGrad}}(J) = \sum_i p_i\, \pi_J(g_i), \qquad
        \pi_J(J^\top u) = J^\top v, \quad v = \arg\min_{v \succeq u} v^\top G v

    so every task's loss decreases to first order (:math:`J \mathcal{A} \succeq 0`) and a
    non-conflicting Jacobian gives the preference-weighted mean. Weights from `upgrad_weights`.

    Variant: TorchJD's ``UPGrad`` (0.18) with its default ``QuadprogProjector``: the QPs use
    :math:`G / \operatorname{tr} G + \epsilon_r I` (``reg_eps = 1e-4``), and a Gramian of trace
    below ``norm_eps = 1e-4`` (an absolute threshold) counts as zero, which gives :math:`w = p`
    (late in training, when the gradients are that small, the step is the plain mean; set
    ``norm_eps: 0`` to always project). ``reg_eps: 0`` gives the paper's exact projection.
    :math:`p` (``preference``) is used as given, ``1/m`` each by default (TorchJD's
    ``pref_vector``). Heads get the gradient of :math:`\sum_i w_i L_i` with the same weights; in
    TorchJD's ``mtl_backward`` each head gets the plain gradient of its own loss instead.
    Shapes: Gramian ``[m, m]`` -> weights ``[m]``.

    Args:
        n_tasks: number of tasks.
        preference: ``m`` numbers ``>= 0`` (default ``1/m`` each).
        norm_eps: trace of the Gramian below which it counts as zero, ``>= 0``.
        reg_eps: ridge added to the trace-normalised Gramian, ``>= 0``.

    Example:
        >>> import torch
        >>> UPGrad(n_tasks=2).weights(torch.tensor([[18.0, -22.0], [-22.0, 38.0]]), torch.ones(2))
        tensor([1.1109, 0.7894])
    """

    def weights(self, gramian: Tensor, losses: Tensor) -> Tensor:
        del losses
        return upgrad_weights(gramian, self.preference, norm_eps=self.norm_eps, reg_eps=self.reg_eps)


@register("dualproj")
class DualProj(_DualConeMethod):
    r"""Dual-cone projection of the mean gradient: the closest step that no task's loss opposes.

    Paper: the projection is Equation 11 of Lopez-Paz, Ranzato, "Gradient Episodic Memory for
    Continual Learning", NeurIPS 2017 (https://arxiv.org/abs/1706.08840), used as an aggregator
    of the Jacobian in Quinton, Rey, "Jacobian Descent for Multi-Objective Optimization", 2024
    (https://arxiv.org/abs/2406.16232).

    .. math::
        \mathcal{A}_{\mathrm{DualProj}}(J) = \pi_J(J^\top p) = J^\top w, \qquad
        w = \arg\min_{v \succeq p} v^\top G v

    Weights from `dualproj_weights`. Variant: TorchJD's ``DualProj`` (0.18) with its default
    ``QuadprogProjector``, the same preconditioning as `UPGrad` (``norm_eps``, ``reg_eps``, see
    there); :math:`p` (``preference``) is used as given, ``1/m`` each by default. Heads get the
    gradient of :math:`\sum_i w_i L_i` (TorchJD's ``mtl_backward``: each head its own loss's).
    Shapes: Gramian ``[m, m]`` -> weights ``[m]``.

    Args:
        n_tasks: number of tasks.
        preference: ``m`` numbers ``>= 0`` (default ``1/m`` each).
        norm_eps: trace of the Gramian below which it counts as zero, ``>= 0``.
        reg_eps: ridge added to the trace-normalised Gramian, ``>= 0``.
    """

    def weights(self, gramian: Tensor, losses: Tensor) -> Tensor:
        del losses
        return dualproj_weights(gramian, self.preference, norm_eps=self.norm_eps, reg_eps=self.reg_eps)
