"""How many weight vectors train together in one Ray trial, and which ones (``budget.pack_size``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from paretosweep.planning import TrialConfig

#: ``pack_size: auto``: at most this many members per pack (the largest pack size measured).
AUTO_PACK_MAX = 64
#: ``pack_size: auto`` on CPU: members x model parameters per pack at most (2^18). Measured
#: (benchmarks/RESULTS.md, throughput): recsys (3,235 parameters) gains 7x at P=16 and 8x at P=64;
#: multimnist (22,350 parameters, convolution-bound) gains 1.0x to 1.3x at any P, so a large pack
#: buys it nothing but memory and a coarser spread of weight vectors over the workers.
AUTO_PACK_PARAMS_CPU = 2**18
#: ``pack_size: auto`` on a GPU: members x parameters per pack at most (2^26: with gradients and
#: Adam's two moments about 1 GiB of float32 state, well inside any GPU that trains the model).
AUTO_PACK_PARAMS_GPU = 2**26


def auto_pack_size(n_trials: int, device: torch.device | str = "cpu", n_params: int | None = None) -> int:
    """``pack_size: auto`` from the model's size and the trial's device.

    ``min(64, n_trials, 2^floor(log2(budget / n_params)))`` with ``budget`` =
    :data:`AUTO_PACK_PARAMS_CPU` (2^18) on CPU or :data:`AUTO_PACK_PARAMS_GPU` (2^26) on a GPU;
    without ``n_params``, ``min(64, n_trials)`` on a GPU and ``min(16, n_trials)`` on CPU.

    Examples:
        >>> auto_pack_size(100, "cpu", n_params=3_235), auto_pack_size(100, "cpu", n_params=22_350)
        (64, 8)
        >>> auto_pack_size(100, "cuda", n_params=22_350), auto_pack_size(5, "cpu", n_params=10)
        (64, 5)
    """
    gpu = torch.device(device).type == "cuda"
    if n_params is None:
        cap = AUTO_PACK_MAX if gpu else 16
    else:
        budget = AUTO_PACK_PARAMS_GPU if gpu else AUTO_PACK_PARAMS_CPU
        fits = max(1, budget // max(1, n_params))
        cap = min(AUTO_PACK_MAX, 1 << (fits.bit_length() - 1))  # largest power of 2 <= fits
    return max(1, min(cap, n_trials))


def make_packs(trials: Sequence[TrialConfig], pack_size: int) -> list[list[TrialConfig]]:
    """Group scalarization trials of equal ``(seed, lr)`` into packs of at most ``pack_size``.

    Method trials stay alone (one per pack). Order is kept within each group, so packs are
    deterministic for a given plan.
    """
    if pack_size < 1:
        raise ValueError(f"pack_size should be >= 1; found {pack_size}")
    groups: dict[tuple[int, float], list[TrialConfig]] = {}
    packs: list[list[TrialConfig]] = []
    for trial in trials:
        if trial.kind != "scalarization" or pack_size == 1:
            packs.append([trial])
            continue
        group = groups.setdefault((trial.seed, trial.lr), [])
        group.append(trial)
        if len(group) == pack_size:
            packs.append(list(group))
            group.clear()
    packs.extend(list(g) for g in groups.values() if g)
    return packs
