"""Small dense linear algebra on ``[m, m]`` Gramians, in float64 NumPy (m is tiny)."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def normalized_gramian(gramian: Tensor) -> tuple[np.ndarray, float]:
    """The symmetrised Gramian divided by its mean diagonal, and that scale.

    Every Gramian weighting here is invariant to a common rescaling of the gradients (or
    transforms simply under it), so solving on the normalised matrix keeps solvers well
    conditioned for gradients of any magnitude (1e-10 .. 1e10). ``scale`` is 0 when every
    gradient is zero; the matrix is then returned as zeros.
    """
    g = gramian.detach().to("cpu", torch.float64).numpy()
    g = 0.5 * (g + g.T)
    scale = float(np.trace(g)) / g.shape[0]
    if not np.isfinite(scale) or scale <= 0.0:
        return np.zeros_like(g), 0.0
    return g / scale, scale


def psd_root(g: np.ndarray) -> np.ndarray:
    """A matrix ``R`` ([m, m]) with ``R.T @ R == g`` for a symmetric PSD ``g``."""
    eigvals, eigvecs = np.linalg.eigh(g)
    return np.sqrt(np.clip(eigvals, 0.0, None))[:, None] * eigvecs.T


def to_tensor(values: np.ndarray, like: Tensor) -> Tensor:
    """``values`` as a tensor with the dtype and device of ``like``."""
    return torch.as_tensor(values, dtype=like.dtype, device=like.device)


def as_float64(values: Tensor | np.ndarray) -> np.ndarray:
    """``values`` as a float64 NumPy array (a detached CPU copy of a tensor)."""
    if isinstance(values, Tensor):
        return values.detach().to("cpu", torch.float64).numpy()
    return np.asarray(values, dtype=np.float64)


def like_input(values: np.ndarray, ref: Tensor | np.ndarray) -> Tensor | np.ndarray:
    """``values`` as a tensor like ``ref`` when ``ref`` is a tensor, else as they are.

    Small ``[m, K]`` computations run in NumPy, where an operation costs about a microsecond
    instead of several; functions that accept either type return the caller's type.
    """
    return to_tensor(values, ref) if isinstance(ref, Tensor) else values
