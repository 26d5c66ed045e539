"""Small pieces the built-in problems share: param checks, seeding, batching, models, AUC.

Nothing here is part of the Problem protocol; a user's problem may import these helpers or
ignore them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

import numpy as np
import torch
from torch import nn

from paretosweep.errors import ConfigError

ModuleT = TypeVar("ModuleT", bound=nn.Module)


# --- parameter checks (errors name the spec field) -------------------------------------------


def check_int(key: str, value: int, *, low: int, high: int | None = None) -> int:
    """Return ``value`` if it is an integer in ``[low, high]``; else raise a ConfigError.

    Raises:
        ConfigError: naming ``problem.params.<key>``, the accepted range and the value found.
    """
    in_range = isinstance(value, int) and not isinstance(value, bool) and value >= low
    if in_range and (high is None or value <= high):
        return value
    accepted = f"in [{low}, {high}]" if high is not None else f">= {low}"
    raise ConfigError(
        f"`problem.params.{key}` should be an integer {accepted}. Found `{value!r}`. Set `problem.params.{key}` to a value in that range."
    )


def check_float(key: str, value: float, *, low: float, high: float, low_open: bool = False, high_open: bool = False) -> float:
    """Return ``float(value)`` if it is a finite number in the interval; else raise a ConfigError.

    Raises:
        ConfigError: naming ``problem.params.<key>``, the accepted interval and the value found.
    """
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if number and np.isfinite(value):
        above = value > low if low_open else value >= low
        below = value < high if high_open else value <= high
        if above and below:
            return float(value)
    interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    raise ConfigError(
        f"`problem.params.{key}` should be a number in {interval}. Found `{value!r}`. "
        f"Set `problem.params.{key}` to a value in that interval."
    )


def check_split_fractions(n_samples: int, val_fraction: float, test_fraction: float) -> tuple[float, float]:
    """``(val_fraction, test_fraction)`` if each is in (0, 1) and they leave training rows; else a ConfigError.

    Raises:
        ConfigError: naming ``problem.params.val_fraction`` / ``test_fraction`` and the values found.
    """
    val = check_float("val_fraction", val_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    test = check_float("test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    held_out = max(1, round(n_samples * val)) + max(1, round(n_samples * test))
    if held_out >= n_samples:
        raise ConfigError(
            f"`problem.params.val_fraction` + `problem.params.test_fraction` should leave training rows. "
            f"Found {val:g} + {test:g} of {n_samples} samples ({held_out} held out). Lower them or raise "
            "`problem.params.n_samples`."
        )
    return val, test


# --- seeding and evaluation mode --------------------------------------------------------------


def seeded_module(seed: int, build: Callable[[], ModuleT]) -> ModuleT:
    """Build a module under ``torch.manual_seed(seed)`` without touching the global RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


@contextmanager
def evaluating(model: nn.Module) -> Iterator[None]:
    """``model.eval()`` and ``torch.no_grad()`` inside the block; the previous mode after it."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


# --- data --------------------------------------------------------------------------------------


def shuffled_batches(tensors: Sequence[torch.Tensor], *, batch_size: int, generator: torch.Generator) -> Iterator[tuple[torch.Tensor, ...]]:
    """Yield one epoch of ``tensors`` (same first dim) in random order, ``batch_size`` rows at a time.

    The last batch may be smaller. The order depends only on ``generator``.
    """
    n = tensors[0].shape[0]
    order = torch.randperm(n, generator=generator)
    for start in range(0, n, batch_size):
        index = order[start : start + batch_size]
        yield tuple(t[index] for t in tensors)


def chunks(n: int, size: int = 4096) -> Iterator[slice]:
    """Slices covering ``range(n)`` in pieces of at most ``size`` (held-out evaluation)."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def split_index(n: int, fractions: Sequence[float], rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A random split of ``range(n)`` into training and held-out parts: ``(train_idx, *held_out_idx)``.

    One permutation of ``range(n)``; held-out part ``k`` takes the next ``max(1, round(n f_k))``
    indices of it, in the order of ``fractions``, and training keeps the rest. The parts are
    disjoint and cover ``range(n)``; each is sorted.

    Args:
        n: number of rows.
        fractions: the share of each held-out part (e.g. ``(validation, test)``), summing below 1.
        rng: the generator of the permutation.

    Raises:
        ValueError: if nothing is left for training.
    """
    order = rng.permutation(n)
    sizes = [max(1, round(n * f)) for f in fractions]
    if sum(sizes) >= n:
        raise ValueError(f"held-out parts of {sizes} rows leave none of the {n} rows for training")
    bounds = np.cumsum([0, *sizes])
    held_out = [np.sort(order[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])]
    return (np.sort(order[bounds[-1] :]), *held_out)


# --- models ------------------------------------------------------------------------------------


class DecisionVector(nn.Module):
    """A model that is only a vector of decision variables ``x`` (``[n]``), for analytic problems."""

    def __init__(self, initial: torch.Tensor) -> None:
        super().__init__()
        self.x = nn.Parameter(initial.detach().clone().to(torch.float32))

    def forward(self) -> torch.Tensor:  # pragma: no cover - the problems read ``.x`` directly
        return self.x


def decision_vector(model: nn.Module) -> nn.Parameter:
    """The ``x`` parameter of a :class:`DecisionVector` model.

    Read as an attribute (not ``get_parameter``), so that under ``torch.func.functional_call``
    (packed trials) it is the tensor standing in for the parameter.
    """
    x = model.x
    assert isinstance(x, torch.Tensor)
    return x  # type: ignore[return-value]


def trunk_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The parameters of a model's shared ``trunk`` submodule."""
    return list(model.get_submodule("trunk").parameters())


def trunk_module(model: nn.Module) -> nn.Module:
    """A model's shared ``trunk`` submodule (its output is the shared representation)."""
    return model.get_submodule("trunk")


class SharedBottomMLP(nn.Module):
    """Shared-bottom multi-task MLP: a shared trunk, one small tower per task.

    ``forward(x [B, d]) -> [B, m, out_dim]`` (``out_dim`` outputs per task).
    """

    def __init__(self, in_dim: int, hidden: int, n_tasks: int, *, out_dim: int = 1, tower: int = 16) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.heads = nn.ModuleList(nn.Sequential(nn.Linear(hidden, tower), nn.ReLU(), nn.Linear(tower, out_dim)) for _ in range(n_tasks))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.trunk(x)
        return torch.stack([head(z) for head in self.heads], dim=1)


# --- metrics -----------------------------------------------------------------------------------


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC by the rank (Mann-Whitney U) formula, ties counted as one half.

    ``AUC = (sum of positive ranks - n_pos (n_pos + 1) / 2) / (n_pos n_neg)`` with average ranks.

    Args:
        scores: ``[n]`` real scores (higher = more likely positive).
        labels: ``[n]`` 0/1 labels with at least one positive and one negative.

    Returns:
        The AUC in ``[0, 1]``.

    Raises:
        ValueError: if ``labels`` holds only one class (the AUC is undefined).
    """
    labels = np.asarray(labels).astype(bool)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"ROC AUC needs both classes; found {n_pos} positives and {n_neg} negatives.")
    scores = np.asarray(scores, dtype=np.float64)
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)  # 1-based rank of the last element of each tie group
    average_rank = upper - (counts - 1) / 2.0
    ranks = average_rank[inverse]
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))
