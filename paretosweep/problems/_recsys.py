"""A synthetic e-commerce funnel: click -> add-to-cart -> purchase (-> repurchase), with sparse nested labels.

The setting of ESMM (X. Ma et al., "Entire Space Multi-Task Model: An Effective Approach for
Estimating Post-Click Conversion Rate", SIGIR 2018, https://arxiv.org/abs/1804.07931) and of
MMoE/PLE-style ranking models: one impression, three correlated but different binary events,
each a head over a shared-bottom MLP. The data is generated (no download) from a latent model.

Latent model, per impression: user and item factors ``u, v ~ N(0, I_8)``, interaction features
``h = [u, v, u * v]`` (``[24]``). Each stage ``k`` scores ``s_k = theta_k^T h`` with unit
``theta_click``, ``theta_cart = 0.6 theta_click + 0.8 xi_1``, ``theta_purchase = 0.6 theta_cart +
0.8 xi_2`` (``xi`` unit, orthogonal to the previous ``theta``), so neighbouring stages share 60%
of their direction. With ``n_tasks: 4`` a fourth stage, ``repurchase`` (a later repeat order),
follows purchase the same way, ``theta_repurchase = 0.6 theta_purchase + 0.8 xi_3``, with
``P(repurchase | purchase) = sigma(a s_4 + b_4)``; its direction and label draws come from a
generator of their own (seed ``[data_seed, 4]``), so the first three tasks' data are the same
as with ``n_tasks: 3``. With ``sigma`` the logistic function,

.. math::

    P(\\text{click}) = \\sigma(a s_1 + b_1), \\quad
    P(\\text{cart} \\mid \\text{click}) = \\sigma(a s_2 + b_2), \\quad
    P(\\text{purchase} \\mid \\text{cart}) = \\sigma(a s_3 + b_3),

``a = 1.5`` and biases ``b_k`` solved (bisection) so that the *marginal* rates
``P(click), P(cart), P(purchase)`` equal the requested ones. Labels are nested by construction
(``cart <= click``, ``purchase <= cart``). The model sees dense features
``x = [u, v] A + 0.3 eps`` (``A`` a fixed random ``[16, n_features]`` map), so it must learn the
``u * v`` interactions itself. Each head predicts the event's probability per impression
(ESMM's entire-space view); loss: binary cross-entropy (log-loss); metric: ROC AUC.

Splits: the impressions are split at random (seed ``[data_seed, 1]``) into three disjoint parts,
validation (``val_fraction``, default 20 %) and test (``test_fraction``, default 20 %), the rest
(60 %) for training. ``evaluate`` reports the validation part (it chooses the frontier),
``evaluate_test`` the test part (reported only).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from paretosweep.errors import ConfigError
from paretosweep.problems._common import (
    SharedBottomMLP,
    check_float,
    check_int,
    check_split_fractions,
    chunks,
    evaluating,
    roc_auc,
    seeded_module,
    shuffled_batches,
    split_index,
    trunk_module,
    trunk_parameters,
)
from paretosweep.problems._protocol import Metric, TaskSpec, column
from paretosweep.problems._registry import register_problem

#: The funnel's stages in order; ``n_tasks`` takes the first 3 (default) or all 4.
TASKS = ("click", "cart", "purchase", "repurchase")
LATENT = 8
SHARPNESS = 1.5
_METRICS = (Metric("auc", "max"), Metric("loss", "min"))


def _next_direction(previous: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """0.6 of ``previous`` (unit) plus 0.8 of a fresh unit vector orthogonal to it."""
    fresh = rng.standard_normal(previous.shape[0])
    fresh -= fresh @ previous * previous
    return 0.6 * previous + 0.8 * fresh / np.linalg.norm(fresh)


def _stage_directions(dim: int, rng: np.random.Generator) -> np.ndarray:
    """``[3, dim]`` unit vectors; each is 0.6 of the previous plus 0.8 of a fresh orthogonal one."""
    thetas = [rng.standard_normal(dim)]
    thetas[0] /= np.linalg.norm(thetas[0])
    for _ in range(2):
        thetas.append(_next_direction(thetas[-1], rng))
    return np.stack(thetas)


def _solve_bias(base: np.ndarray, logits: np.ndarray, rate: float) -> float:
    """The ``b`` with ``mean(base * sigmoid(logits + b)) = rate`` (bisection; monotone in b)."""
    lo, hi = -40.0, 40.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if np.mean(base / (1.0 + np.exp(-(logits + mid)))) < rate:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def generate(n_samples: int, n_features: int, rates: Sequence[float], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features ``x [n, n_features]`` (float32) and nested labels ``y [n, len(rates)]`` (0/1, float32); 3 or 4 rates."""
    rng = np.random.default_rng(seed)
    u, v = rng.standard_normal((n_samples, LATENT)), rng.standard_normal((n_samples, LATENT))
    h = np.concatenate([u, v, u * v], axis=1)
    thetas = _stage_directions(h.shape[1], rng)
    extra = np.random.default_rng([seed, 4])  # the fourth stage's own draws: the first three stay as with 3 tasks
    if len(rates) == 4:
        thetas = np.vstack([thetas, _next_direction(thetas[-1], extra)])
    scores = SHARPNESS * h @ thetas.T  # [n, len(rates)]
    reach = np.ones(n_samples)  # P(reaching the stage): 1, then P(click), then P(cart), ...
    labels = np.ones(n_samples, dtype=bool)
    y = np.zeros((n_samples, len(rates)), dtype=np.float32)
    for k, rate in enumerate(rates):
        p = 1.0 / (1.0 + np.exp(-(scores[:, k] + _solve_bias(reach, scores[:, k], rate))))
        labels = labels & ((rng if k < 3 else extra).random(n_samples) < p)
        y[:, k] = labels
        reach = reach * p
    mixing = rng.standard_normal((2 * LATENT, n_features)) / np.sqrt(2 * LATENT)
    x = np.concatenate([u, v], axis=1) @ mixing + 0.3 * rng.standard_normal((n_samples, n_features))
    return x.astype(np.float32), y


class RecSysFunnel:
    """Three (or four) nested binary tasks over a shared-bottom MLP; AUC and log-loss per task."""

    name = "recsys"

    def __init__(
        self,
        *,
        n_samples: int,
        n_features: int,
        rates: tuple[float, ...],
        val_fraction: float,
        test_fraction: float,
        hidden: int,
        batch_size: int,
        data_seed: int,
    ) -> None:
        names = TASKS[: len(rates)]
        x, y = generate(n_samples, n_features, rates, data_seed)
        train, val, test = split_index(n_samples, (val_fraction, test_fraction), np.random.default_rng([data_seed, 1]))
        for split, index in (("training", train), ("validation", val), ("test", test)):
            for k, task in enumerate(names):
                positives = int(y[index, k].sum())
                if positives == 0 or positives == index.size:
                    raise ConfigError(
                        f"The {split} split of problem `recsys` has {positives} `{task}` positives out of "
                        f"{index.size}; AUC needs both classes. Raise `problem.params.n_samples` "
                        f"(now {n_samples}) or `problem.params.{task}_rate` (now {rates[k]})."
                    )
        self.train_index, self.val_index, self.test_index = train, val, test
        self.x_train, self.y_train = torch.from_numpy(x[train]), torch.from_numpy(y[train])
        self.x_val, self.y_val = torch.from_numpy(x[val]), torch.from_numpy(y[val])
        self.x_test, self.y_test = torch.from_numpy(x[test]), torch.from_numpy(y[test])
        self.n_features, self.hidden, self.batch_size = n_features, hidden, batch_size
        self.task_names = names
        self.tasks = tuple(TaskSpec(name, _METRICS, 0.0) for name in names)
        # What a model that learnt nothing scores: AUC 0.5 (a random ranking), and the log-loss of
        # always predicting the training base rate p, H(p) = -p ln p - (1 - p) ln(1 - p).
        base_rate = self.y_train.double().mean(dim=0).clamp(1e-12, 1 - 1e-12)
        entropy = -(base_rate * base_rate.log() + (1 - base_rate) * (1 - base_rate).log())
        self.default_reference_point = {
            **{column(name, "auc"): 0.5 for name in names},
            **{column(name, "loss"): float(h) for name, h in zip(names, entropy.tolist(), strict=True)},
        }

    def make_model(self, *, seed: int) -> nn.Module:
        """Shared trunk ``n_features -> hidden -> hidden``, one ``hidden -> 16 -> 1`` logit head per task."""
        return seeded_module(seed, lambda: SharedBottomMLP(self.n_features, self.hidden, len(self.task_names)))

    def train_batches(self, *, epoch: int, generator: torch.Generator) -> Iterator[tuple[torch.Tensor, ...]]:
        """Shuffled ``(x [B, n_features], y [B, m])`` batches of the training split."""
        return shuffled_batches((self.x_train, self.y_train), batch_size=self.batch_size, generator=generator)

    def task_losses(self, model: nn.Module, batch: tuple[torch.Tensor, ...], device: torch.device) -> torch.Tensor:
        """``[m]``: mean binary cross-entropy (log-loss) per task."""
        x, y = (t.to(device) for t in batch)
        logits = model(x).squeeze(-1)
        return F.binary_cross_entropy_with_logits(logits, y, reduction="none").mean(dim=0)

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """``{click,cart,purchase[,repurchase]}_{auc,loss}`` on the validation split (these choose the frontier)."""
        return self._evaluate_on(model, device, self.x_val, self.y_val)

    def evaluate_test(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """The same columns on the test split (reported only)."""
        return self._evaluate_on(model, device, self.x_test, self.y_test)

    def _evaluate_on(self, model: nn.Module, device: torch.device, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        parts = []
        with evaluating(model):
            for part in chunks(x.shape[0]):
                parts.append(model(x[part].to(device)).squeeze(-1).double().cpu())
        return _metrics(torch.cat(parts), y, self.task_names)

    # --- packed trials: P members' stacked parameters, see paretosweep.trial._packed ---

    def packed_task_losses(
        self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], batch: tuple[torch.Tensor, ...], device: torch.device
    ) -> torch.Tensor:
        """``[P, m]``: :meth:`task_losses` of each of the P members whose parameters are stacked in ``params``."""
        x, y = (t.to(device) for t in batch)
        logits = packed_mlp_logits(params, x, len(self.task_names))  # [P, B, m]
        return F.binary_cross_entropy_with_logits(logits, y.to(logits.dtype).expand_as(logits), reduction="none").mean(dim=1)

    def packed_evaluate(
        self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], device: torch.device
    ) -> list[dict[str, float]]:
        """:meth:`evaluate` of each of the P stacked members (one packed forward pass over the validation split)."""
        return self._packed_evaluate_on(params, device, self.x_val, self.y_val)

    def packed_evaluate_test(
        self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], device: torch.device
    ) -> list[dict[str, float]]:
        """:meth:`evaluate_test` of each of the P stacked members (the test split)."""
        return self._packed_evaluate_on(params, device, self.x_test, self.y_test)

    def _packed_evaluate_on(
        self, params: dict[str, torch.Tensor], device: torch.device, x: torch.Tensor, y: torch.Tensor
    ) -> list[dict[str, float]]:
        rows = max(64, 2**18 // (params["trunk.0.weight"].shape[0] * self.hidden))  # activations stay in cache
        with torch.no_grad():
            m = len(self.task_names)
            parts = [packed_mlp_logits(params, x[part].to(device), m).double().cpu() for part in chunks(x.shape[0], rows)]
        logits = torch.cat(parts, dim=1)  # [P, N, m]
        return [_metrics(member, y, self.task_names) for member in logits]

    def shared_parameters(self, model: nn.Module) -> Sequence[nn.Parameter]:
        """The trunk's parameters."""
        return trunk_parameters(model)

    def shared_representation(self, model: nn.Module) -> nn.Module:
        """The trunk: its output is what every head reads (MGDA-UB differentiates w.r.t. it)."""
        return trunk_module(model)


def _metrics(logits: torch.Tensor, y: torch.Tensor, names: Sequence[str]) -> dict[str, float]:
    """Held-out metrics of one model from its logits ``[N, m]`` (float64, CPU) on a split with labels ``y``."""
    log_loss = F.binary_cross_entropy_with_logits(logits, y.double(), reduction="none").mean(dim=0)
    out: dict[str, float] = {}
    for k, name in enumerate(names):
        out[column(name, "auc")] = roc_auc(logits[:, k].numpy(), y[:, k].numpy())
        out[column(name, "loss")] = float(log_loss[k])
    return out


def packed_mlp_logits(params: dict[str, torch.Tensor], x: torch.Tensor, n_tasks: int) -> torch.Tensor:
    """:class:`SharedBottomMLP` (``out_dim`` 1) for P stacked members at once: ``x [B, d] -> [P, B, m]``.

    The same arithmetic as P separate forward passes, in a few large kernels: the first layer
    is one matrix product of the shared input with all members' weights side by side
    (``x W^T`` with ``W [P*hidden, d]``), the second a batched product (``baddbmm``), the m
    towers' first layers one batched product over their concatenated weights, and their
    1-output last layers one batched product with a block-diagonal ``[m*T, m]`` weight.
    """
    w0, b0 = params["trunk.0.weight"], params["trunk.0.bias"]  # [P, H, d], [P, H]
    p, batch = w0.shape[0], x.shape[0]
    h = torch.relu(torch.addmm(b0.reshape(-1), x, w0.reshape(-1, x.shape[1]).t()))  # [B, P*H]
    h = h.view(batch, p, -1).transpose(0, 1)  # [P, B, H]
    h = torch.relu(torch.baddbmm(params["trunk.2.bias"].unsqueeze(1), h, params["trunk.2.weight"].transpose(1, 2)))
    w1 = torch.cat([params[f"heads.{k}.0.weight"] for k in range(n_tasks)], dim=1)  # [P, m*T, H]
    b1 = torch.cat([params[f"heads.{k}.0.bias"] for k in range(n_tasks)], dim=1)  # [P, m*T]
    t = torch.relu(torch.baddbmm(b1.unsqueeze(1), h, w1.transpose(1, 2)))  # [P, B, m*T]
    w2 = torch.stack([params[f"heads.{k}.2.weight"][:, 0] for k in range(n_tasks)], dim=1)  # [P, m, T]
    eye = torch.eye(n_tasks, dtype=w2.dtype, device=w2.device)
    w2 = (w2.unsqueeze(-1) * eye[:, None, :]).reshape(p, -1, n_tasks)  # block diagonal [P, m*T, m]
    b2 = torch.cat([params[f"heads.{k}.2.bias"] for k in range(n_tasks)], dim=1)  # [P, m]
    return torch.baddbmm(b2.unsqueeze(1), t, w2)  # [P, B, m]


@register_problem("recsys")
def make_recsys(
    *,
    n_samples: int = 20000,
    n_features: int = 16,
    click_rate: float = 0.10,
    cart_rate: float = 0.03,
    purchase_rate: float = 0.01,
    n_tasks: int = 3,
    repurchase_rate: float = 0.004,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    hidden: int = 32,
    batch_size: int = 256,
    data_seed: int = 0,
) -> RecSysFunnel:
    """Synthetic click -> cart -> purchase (-> repurchase) funnel (ESMM-style, SIGIR 2018): sparse nested labels.

    Args:
        n_samples: impressions generated, split into train, validation and test (disjoint).
        n_features: dense features per impression (a noisy random map of the latent factors).
        click_rate: marginal rate of clicks, in (0, 1).
        cart_rate: marginal rate of add-to-carts, in (0, click_rate).
        purchase_rate: marginal rate of purchases, in (0, cart_rate).
        n_tasks: 3 (click, cart, purchase) or 4 (and ``repurchase``, a repeat order after a purchase).
        repurchase_rate: marginal rate of repurchases, in (0, purchase_rate); used with ``n_tasks: 4``.
        val_fraction: share of ``n_samples`` in the validation split (``evaluate``: it chooses).
        test_fraction: share of ``n_samples`` in the test split (``evaluate_test``: reported only).
        hidden: width of the shared trunk.
        batch_size: training batch size.
        data_seed: seed of the data and the split (same seed, same data).

    Returns:
        The problem; tasks ``click``, ``cart``, ``purchase`` (and ``repurchase``) with metrics ``auc`` (max, default)
        and ``loss`` (min, log-loss); reference point: AUC 0.5 (random ranking).

    Raises:
        ConfigError: a rate out of order, fractions that leave no training rows, or a split
            without positives of some task.
    """
    click = check_float("click_rate", click_rate, low=0.0, high=1.0, low_open=True, high_open=True)
    cart = check_float("cart_rate", cart_rate, low=0.0, high=click, low_open=True, high_open=True)
    purchase = check_float("purchase_rate", purchase_rate, low=0.0, high=cart, low_open=True, high_open=True)
    n_tasks = check_int("n_tasks", n_tasks, low=3, high=4)
    rates: tuple[float, ...] = (click, cart, purchase)
    if n_tasks == 4:
        rates += (check_float("repurchase_rate", repurchase_rate, low=0.0, high=purchase, low_open=True, high_open=True),)
    n_samples = check_int("n_samples", n_samples, low=10)
    val, test = check_split_fractions(n_samples, val_fraction, test_fraction)
    return RecSysFunnel(
        n_samples=n_samples,
        n_features=check_int("n_features", n_features, low=1),
        rates=rates,
        val_fraction=val,
        test_fraction=test,
        hidden=check_int("hidden", hidden, low=1),
        batch_size=check_int("batch_size", batch_size, low=1),
        data_seed=check_int("data_seed", data_seed, low=0),
    )
