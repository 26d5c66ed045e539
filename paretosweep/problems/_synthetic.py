"""MMoE's synthetic regression tasks with a controllable task correlation.

J. Ma, Z. Zhao, X. Yi, J. Chen, L. Hong, E. H. Chi, "Modeling Task Relationships in Multi-task
Learning with Multi-gate Mixture-of-Experts", KDD 2018, https://doi.org/10.1145/3219819.3220007

The paper's two-task generator: orthogonal unit vectors ``u1, u2`` in R^d, ``w1 = c u1``,
``w2 = c (p u1 + sqrt(1 - p^2) u2)`` so that ``cos(w1, w2) = p``, inputs ``x ~ N(0, I_d)`` and

.. math::

    y_i = w_i^\\top x + \\sum_{j=1}^{10} \\sin(\\alpha_j w_i^\\top x + \\beta_j) + \\epsilon_i,
    \\qquad \\epsilon_i \\sim \\mathcal N(0, 0.01).

**Generalisation to m tasks** (ours): every pair of task vectors has cosine ``p``. With
``G = (1 - p) I + p 1 1^T`` (the ``[m, m]`` equicorrelation matrix, PSD iff
``-1/(m-1) <= p <= 1``) and its Cholesky factor ``L`` (``L L^T = G``), ``w_i = c sum_k L_ik u_k``
for ``m`` orthonormal ``u_k``. For ``m = 2`` this *is* the paper's construction
(``L = [[1, 0], [p, sqrt(1-p^2)]]``). As in the paper, ``p`` is the cosine of the task vectors,
not the Pearson correlation of the labels (a monotone function of it). ``c = 1``; ``alpha_j,
beta_j ~ N(0, 1)`` are drawn once per ``data_seed`` (the paper does not publish its values).

Splits: the examples are split at random (seed ``[data_seed, 1]``) into three disjoint parts,
validation (``val_fraction``, default 20 %) and test (``test_fraction``, default 20 %), the rest
(60 %) for training. ``evaluate`` reports the validation MSE (it chooses the frontier),
``evaluate_test`` the test MSE (reported only).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from paretosweep.errors import ConfigError
from paretosweep.problems._common import (
    SharedBottomMLP,
    check_int,
    check_split_fractions,
    chunks,
    evaluating,
    seeded_module,
    shuffled_batches,
    split_index,
    trunk_module,
    trunk_parameters,
)
from paretosweep.problems._protocol import Metric, TaskSpec, column
from paretosweep.problems._registry import register_problem

N_SINES = 10
NOISE_STD = 0.1  # variance 0.01, as in the paper


def task_vectors(n_tasks: int, correlation: float, input_dim: int, rng: np.random.Generator) -> np.ndarray:
    """``[m, d]`` unit vectors (times c = 1) whose pairwise cosines all equal ``correlation``."""
    gram = (1 - correlation) * np.eye(n_tasks) + correlation * np.ones((n_tasks, n_tasks))
    factor = np.linalg.cholesky(gram + 1e-12 * np.eye(n_tasks))  # jitter: p = 1 is rank one
    basis, _ = np.linalg.qr(rng.standard_normal((input_dim, n_tasks)))  # [d, m], orthonormal columns
    return np.asarray(factor @ basis.T)


def generate(n_samples: int, n_tasks: int, correlation: float, input_dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``x [n, d]`` and ``y [n, m]`` of the generator above (float32)."""
    rng = np.random.default_rng(seed)
    alpha, beta = rng.standard_normal(N_SINES), rng.standard_normal(N_SINES)
    w = task_vectors(n_tasks, correlation, input_dim, rng)
    x = rng.standard_normal((n_samples, input_dim))
    proj = x @ w.T  # [n, m]
    y = proj + np.sin(proj[..., None] * alpha + beta).sum(-1) + NOISE_STD * rng.standard_normal(proj.shape)
    return x.astype(np.float32), y.astype(np.float32)


class SyntheticRegression:
    """m correlated regression tasks, a shared-bottom MLP, held-out MSE per task."""

    name = "synthetic"

    def __init__(
        self,
        *,
        n_tasks: int,
        correlation: float,
        n_samples: int,
        val_fraction: float,
        test_fraction: float,
        input_dim: int,
        hidden: int,
        batch_size: int,
        data_seed: int,
    ) -> None:
        self.input_dim, self.hidden, self.batch_size = input_dim, hidden, batch_size
        x, y = generate(n_samples, n_tasks, correlation, input_dim, data_seed)
        train, val, test = split_index(n_samples, (val_fraction, test_fraction), np.random.default_rng([data_seed, 1]))
        self.train_index, self.val_index, self.test_index = train, val, test
        self.x_train, self.y_train = torch.from_numpy(x[train]), torch.from_numpy(y[train])
        self.x_val, self.y_val = torch.from_numpy(x[val]), torch.from_numpy(y[val])
        self.x_test, self.y_test = torch.from_numpy(x[test]), torch.from_numpy(y[test])
        self.tasks = tuple(TaskSpec(f"t{i}", (Metric("loss", "min"),), 0.0) for i in range(n_tasks))
        # MSE of predicting the validation mean: what a model that learnt nothing scores where the frontier is chosen.
        variance = self.y_val.double().var(dim=0, unbiased=False).tolist()
        self.default_reference_point = {column(t.name, "loss"): v for t, v in zip(self.tasks, variance, strict=True)}

    def make_model(self, *, seed: int) -> nn.Module:
        """Shared trunk ``d -> hidden -> hidden`` and one ``hidden -> 16 -> 1`` tower per task."""
        return seeded_module(seed, lambda: SharedBottomMLP(self.input_dim, self.hidden, len(self.tasks)))

    def train_batches(self, *, epoch: int, generator: torch.Generator) -> Iterator[tuple[torch.Tensor, ...]]:
        """Shuffled ``(x [B, d], y [B, m])`` batches of the training split."""
        return shuffled_batches((self.x_train, self.y_train), batch_size=self.batch_size, generator=generator)

    def task_losses(self, model: nn.Module, batch: tuple[torch.Tensor, ...], device: torch.device) -> torch.Tensor:
        """``[m]``: per-task mean squared error of the batch."""
        x, y = (t.to(device) for t in batch)
        prediction: torch.Tensor = model(x).squeeze(-1)
        return ((prediction - y) ** 2).mean(dim=0)

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """``{"t<i>_loss"}``: validation MSE per task (it chooses the frontier)."""
        return self._mse(model, device, self.x_val, self.y_val)

    def evaluate_test(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """``{"t<i>_loss"}``: test MSE per task (reported only)."""
        return self._mse(model, device, self.x_test, self.y_test)

    def _mse(self, model: nn.Module, device: torch.device, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        total = torch.zeros(len(self.tasks), dtype=torch.float64)
        with evaluating(model):
            for part in chunks(x.shape[0]):
                pred = model(x[part].to(device)).squeeze(-1)
                total += ((pred - y[part].to(device)) ** 2).sum(dim=0).double().cpu()
        mse = (total / x.shape[0]).tolist()
        return {column(t.name, "loss"): v for t, v in zip(self.tasks, mse, strict=True)}

    def shared_parameters(self, model: nn.Module) -> Sequence[nn.Parameter]:
        """The trunk's parameters."""
        return trunk_parameters(model)

    def shared_representation(self, model: nn.Module) -> nn.Module:
        """The trunk: its output is what every head reads (MGDA-UB differentiates w.r.t. it)."""
        return trunk_module(model)


@register_problem("synthetic")
def make_synthetic(
    *,
    n_tasks: int = 2,
    correlation: float = 0.5,
    n_samples: int = 4000,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    input_dim: int = 100,
    hidden: int = 32,
    batch_size: int = 128,
    data_seed: int = 0,
) -> SyntheticRegression:
    """MMoE synthetic regression (KDD 2018): m tasks with pairwise task correlation p, MSE each.

    Args:
        n_tasks: number of tasks ``m``, 2 to 16 (named ``t0``, ``t1``, ...).
        correlation: cosine ``p`` between every pair of task vectors, in ``[-1/(m-1), 1]``.
        n_samples: generated examples, split into train, validation and test (disjoint).
        val_fraction: share of ``n_samples`` in the validation split (``evaluate``: it chooses).
        test_fraction: share of ``n_samples`` in the test split (``evaluate_test``: reported only).
        input_dim: input dimension ``d`` (>= ``n_tasks``; the paper uses 100).
        hidden: width of the shared trunk.
        batch_size: training batch size.
        data_seed: seed of the data and the split (same seed, same data).

    Returns:
        The problem; metric ``loss`` (held-out MSE, min) per task; reference point: the
        variance of each validation target (the MSE of predicting its mean).

    Raises:
        ConfigError: a parameter out of range, or fractions that leave no training rows.
    """
    n_tasks = check_int("n_tasks", n_tasks, low=2, high=16)
    low = -1.0 / (n_tasks - 1)
    if not isinstance(correlation, (int, float)) or not low <= correlation <= 1.0:
        raise ConfigError(
            f"`problem.params.correlation` should lie in [{low:.4g}, 1] for {n_tasks} tasks "
            f"(pairwise correlations below -1/(m-1) are impossible). Found `{correlation!r}`."
        )
    input_dim = check_int("input_dim", input_dim, low=n_tasks)
    n_samples = check_int("n_samples", n_samples, low=10)
    val, test = check_split_fractions(n_samples, val_fraction, test_fraction)
    return SyntheticRegression(
        n_tasks=n_tasks,
        correlation=float(correlation),
        n_samples=n_samples,
        val_fraction=val,
        test_fraction=test,
        input_dim=input_dim,
        hidden=check_int("hidden", hidden, low=1),
        batch_size=check_int("batch_size", batch_size, low=1),
        data_seed=check_int("data_seed", data_seed, low=0),
    )
