"""``benchmarks/throughput.py --roofline``: the FLOPs it counts for a trial are the model's, exactly."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from paretosweep.problems import make_problem

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "throughput.py"


def _throughput():
    spec = importlib.util.spec_from_file_location("throughput_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_trial_flops_of_recsys_match_its_linear_layers_counted_by_hand() -> None:
    """2·Σ in·out per sample forward; backward twice that, less the first layer's input gradient."""
    bench = _throughput()
    problem = make_problem("recsys", bench.SETTINGS["recsys"])
    layers = [m for m in problem.make_model(seed=0).modules() if isinstance(m, torch.nn.Linear)]
    forward = sum(layer.in_features * layer.out_features for layer in layers)
    first = layers[0].in_features * layers[0].out_features
    n_train = sum(batch[0].shape[0] for batch in problem.train_batches(epoch=0, generator=torch.Generator().manual_seed(0)))
    n_val, n_test = problem.x_val.shape[0], problem.x_test.shape[0]
    # one epoch, one validation evaluation, then the test split once after training
    expected = 2 * (3 * forward - first) * n_train + 2 * forward * (n_val + n_test)
    assert bench.trial_flops("recsys", 1, torch.device("cpu")) == expected
