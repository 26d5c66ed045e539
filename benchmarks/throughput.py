"""Weight vectors trained per minute, packed (one vectorised ensemble of P) against unpacked.

Issue 7. For each problem and pack size P, trains P weight vectors (linear scalarization, same
seed, one epoch, Adam) with :func:`paretosweep.trial.train_packed`, and, as the baseline, trains
weight vectors one at a time with :func:`paretosweep.trial.train_trial` (one trial per weight
vector, P = 1 unpacked). Both include per-epoch held-out evaluation of every member, as a sweep
does. Throughput = vectors / CPU-or-wall minute; the CPU clock (``time.process_time``) is what
other jobs on a shared machine do not inflate; with ``--device cuda`` the wall clock is used.

``--ray`` also runs a sweep of ``--ray-n`` weight vectors through Ray Tune (``paretosweep.run``,
a local Ray on all CPUs, one CPU per Tune trial) with ``pack_size`` 1 and ``--ray-pack``, and
reports wall-clock vectors per minute over the whole sweep (Ray's start-up included) and from
the first trial's start to the last trial's end (without it), and the per-trial time spent
outside training (Tune trial wall time minus ``train_seconds`` summed, per Tune trial).

``--roofline`` adds, per problem, the ceiling on any packing speed-up on this CPU: the FLOPs
of one weight vector's trial (convolutions and matrix products, counted by
``torch.utils.flop_counter.FlopCounterMode`` over a real ``train_trial``), the rate the unpacked
trial reaches, and one core's dense-GEMM rate (a 1024 x 1024 fp32 matmul, CPU time). Packing
cannot change the FLOPs per weight vector, so ``GEMM rate / unpacked rate`` bounds its speed-up
even if every other op were free.

    python benchmarks/throughput.py --packs 1 4 16 64
    python benchmarks/throughput.py --roofline --packs 64
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import tempfile
import time
from typing import Any

import torch

from paretosweep.config import SweepSpec
from paretosweep.planning import TrialConfig
from paretosweep.problems import make_problem
from paretosweep.simplex import dirichlet
from paretosweep.trial import train_packed, train_trial

SETTINGS: dict[str, dict[str, Any]] = {
    "multimnist": {"n_train": 1024, "n_val": 256, "n_test": 256, "batch_size": 128},
    "recsys": {"n_samples": 8000, "batch_size": 256},
}


def _spec(problem: str, params: dict[str, Any], epochs: int) -> SweepSpec:
    return SweepSpec.model_validate({"problem": {"name": problem, "params": params}, "budget": {"epochs": epochs, "lr": 1e-3}})


def _trials(m: int, n: int) -> list[TrialConfig]:
    weights = dirichlet(m, n, seed=0)
    return [TrialConfig(f"s-{i}", "scalarization", tuple(float(x) for x in w), 0, 1e-3) for i, w in enumerate(weights)]


def _clock(device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
        return time.perf_counter()
    return time.process_time()


def measure(problem_name: str, packs: list[int], unpacked: int, epochs: int, device: torch.device) -> dict[str, Any]:
    params = SETTINGS[problem_name]
    problem = make_problem(problem_name, params)
    spec = _spec(problem_name, params, epochs)
    m = len(problem.tasks)
    train_packed(problem, _trials(m, 2), spec, device=device)  # warm-up (allocator, kernels)
    out: dict[str, Any] = {}
    trials = _trials(m, unpacked)
    start, wall = _clock(device), time.perf_counter()
    for trial in trials:
        outcome = train_trial(problem, trial, spec, device=device)
        assert outcome.status == "completed", outcome.error
    out["unpacked"] = (unpacked / (_clock(device) - start) * 60, unpacked / (time.perf_counter() - wall) * 60)
    for p in packs:
        trials = _trials(m, p)
        start, wall = _clock(device), time.perf_counter()
        outcomes = train_packed(problem, trials, spec, device=device)
        assert all(o.status == "completed" for o in outcomes), [o.error for o in outcomes]
        out[p] = (p / (_clock(device) - start) * 60, p / (time.perf_counter() - wall) * 60)
    return out


def trial_flops(problem_name: str, epochs: int, device: torch.device) -> int:
    """FLOPs (matmuls and convolutions, forward and backward, evaluation included) of one weight vector's trial."""
    from torch.utils.flop_counter import FlopCounterMode

    params = SETTINGS[problem_name]
    problem = make_problem(problem_name, params)
    counter = FlopCounterMode(display=False)
    with counter:
        outcome = train_trial(problem, _trials(len(problem.tasks), 1)[0], _spec(problem_name, params, epochs), device=device)
    assert outcome.status == "completed", outcome.error
    return int(counter.get_total_flops())


def gemm_rate(n: int = 1024, repeats: int = 20) -> float:
    """One thread's dense fp32 GEMM rate (FLOP per CPU second), best of three timings."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = math.inf
    for _ in range(3):
        start = time.process_time()
        for _ in range(repeats):
            torch.mm(a, b)
        best = min(best, time.process_time() - start)
    return 2 * n**3 * repeats / best


def through_ray(problem_name: str, n: int, pack: int, epochs: int) -> dict[str, float]:
    import pandas as pd

    import paretosweep

    params = SETTINGS[problem_name]
    with tempfile.TemporaryDirectory() as tmp:
        spec = {
            "name": "throughput",
            "problem": {"name": problem_name, "params": params},
            "sampler": {"name": "dirichlet"},
            "budget": {"n_weights": n, "epochs": epochs, "lr": 1e-3, "pack_size": pack},
            "resources": {"cpu": 1},
            "storage": os.path.join(tmp, "run"),
        }
        started = time.perf_counter()
        summary = paretosweep.run(spec)
        wall = time.perf_counter() - started
        trials = pd.read_parquet(os.path.join(summary.run_dir, "trials.parquet"))
    assert summary.completed == n, summary
    hp = [json.loads(h) for h in trials["hparams"]]
    # Tune trial wall time (started_at -> finished_at of its rows) minus its training time
    trials["pack"] = [h.get("pack_id", tid) for h, tid in zip(hp, trials["trial_id"], strict=True)]
    per = trials.groupby("pack").agg(start=("started_at", "min"), end=("finished_at", "max"), train=("train_seconds", "sum"))
    span = (pd.to_datetime(per["end"]) - pd.to_datetime(per["start"])).dt.total_seconds()
    slots = max(1, int(os.cpu_count() or 1))  # concurrent Tune trials (one CPU each)
    # from the first trial's start to the last trial's end: the sweep without Ray's start-up and shutdown
    trials_s = (pd.to_datetime(per["end"]).max() - pd.to_datetime(per["start"]).min()).total_seconds()
    return {
        "vectors_per_min": n / wall * 60,
        "wall_s": wall,
        "trials_vectors_per_min": n / trials_s * 60,
        "trials_s": trials_s,
        "tune_trials": len(per),
        "trial_s_mean": float(span.mean()),
        "train_s_mean": float(per["train"].mean()),
        # inside the trainable, outside train_trial/train_packed (problem build, row, report)
        "inside_outside_s_mean": float((span - per["train"]).clip(lower=0).mean()),
        # whole sweep: slot-seconds not spent training, per Tune trial (Ray start, scheduling, actors, I/O)
        "sweep_outside_s_per_trial": float((wall * slots - per["train"].sum()) / len(per)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=list(SETTINGS))
    parser.add_argument("--packs", nargs="+", type=int, default=[1, 4, 16, 64])
    parser.add_argument("--unpacked", type=int, default=4, help="weight vectors trained one by one for the baseline")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--roofline", action="store_true", help="also bound any packing speed-up by one core's GEMM rate")
    parser.add_argument("--ray", action="store_true", help="also run packed and unpacked sweeps through Ray Tune")
    parser.add_argument("--ray-n", type=int, default=32, help="weight vectors of each Ray Tune sweep")
    parser.add_argument("--ray-pack", type=int, default=16, help="pack_size of the packed Ray Tune sweep")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cpu = platform.processor() or platform.machine()
    print(
        f"# {platform.platform()}, {os.cpu_count()} CPUs ({cpu}), torch {torch.__version__}, threads {args.threads}, device {device}"
        + (f" ({torch.cuda.get_device_name(0)})" if device.type == "cuda" else "")
    )
    clock = "wall" if device.type == "cuda" else "CPU"
    print(f"| problem | unpacked (vectors/{clock} min) | " + " | ".join(f"P={p}" for p in args.packs) + " |")
    print("|---|---|" + "---|" * len(args.packs))
    measured = {}
    for name in args.problems:
        res = measured[name] = measure(name, args.packs, args.unpacked, args.epochs, device)
        base = res["unpacked"][0]
        cells = " | ".join(f"{res[p][0]:.0f} ({res[p][0] / base:.1f}x; wall {res[p][1]:.0f})" for p in args.packs)
        print(f"| {name} | {base:.0f} (wall {res['unpacked'][1]:.0f}) | {cells} |", flush=True)
    if args.roofline:
        peak = gemm_rate()
        print(f"\nOne core's dense fp32 GEMM (1024^3, CPU time): {peak / 1e9:.1f} GFLOP/s\n")
        print(
            "| problem | GFLOP per weight vector | unpacked GFLOP/s | best packed GFLOP/s | ceiling on packing speed-up (GEMM / unpacked) |"
        )
        print("|---|---|---|---|---|")
        for name in args.problems:
            flops = trial_flops(name, args.epochs, device)
            res = measured[name]
            unpacked_rate = res["unpacked"][0] / 60 * flops
            best = max(res[p][0] for p in args.packs) / 60 * flops
            cells = [f"{flops / 1e9:.3f}", f"{unpacked_rate / 1e9:.1f}", f"{best / 1e9:.1f}", f"{peak / unpacked_rate:.1f}x"]
            print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    if args.ray:
        print(
            "\n| problem | Ray Tune pack_size | vectors/wall min, whole sweep | vectors/wall min, first trial start to last trial end "
            "| sweep wall s | trials wall s | Tune trials | mean trial s (in trainable) | mean train s "
            "| s outside training per trial, in trainable | slot-s outside training per trial, whole sweep |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for name in args.problems:
            for pack in (1, args.ray_pack):
                r = through_ray(name, args.ray_n, pack, args.epochs)
                print(
                    f"| {name} | {pack} | {r['vectors_per_min']:.0f} | {r['trials_vectors_per_min']:.0f} | {r['wall_s']:.1f} "
                    f"| {r['trials_s']:.1f} | {r['tune_trials']} | {r['trial_s_mean']:.2f} | {r['train_s_mean']:.2f} "
                    f"| {r['inside_outside_s_mean']:.3f} | {r['sweep_outside_s_per_trial']:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
