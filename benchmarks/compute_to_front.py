"""Hypervolume of the test-set front against the training compute spent, per way of spending it.

A scalarization sweep finds the frontier by training N models in full; this measures how much of
that frontier's hypervolume other ways of spending compute reach, and for how much of it. Every
arm trains the same problem, model, scalarizer, optimiser and learning rate, with real trainings
through Ray Tune (2 concurrent trials, one thread each). Arms:

* ``lattice`` — the Das–Dennis lattice of N weight vectors, ``EPOCHS`` epochs each: the baseline
  (100 % compute, 100 % HV by definition); on ``synthetic_k8_sobol`` the static design is a
  seeded Sobol design of N points instead (the 8-task lattice of 36 points is corners and pair
  midpoints only), and every "lattice" arm below uses that design;
* ``lattice_e2``, ``lattice_e3`` — the same lattice trained for 2 and 3 of the ``EPOCHS`` epochs
  (``budget.epochs`` 2 or 3): what any scheduler must beat at equal compute;
* ``lattice_pareto_asha`` — the lattice with ``scheduler: {name: pareto_asha, grace_epochs: 1,
  reduction_factor: 3}`` (paretosweep's multi-objective ASHA, rungs at epochs 1 and 3); with a
  scheduler the sweep asks a static design in a shuffle seeded by ``spec.seed``
  (``paretosweep.sampling._factory.design_order``): ASHA's rungs are asynchronous, so the order
  trials arrive in decides what the first trials at a rung are compared with (the former
  ``shuffled_pareto_asha`` arm, the lattice permuted with the same seed, is this arm now);
* ``adaptive_pareto_asha`` — ``sampler: adaptive`` (budget N) with the same scheduler;
* ``lattice_warm_shared`` — the lattice with ``warm_start: {from: shared, epochs: EPOCHS - 2}``:
  one equal-weight model trained ``EPOCHS - 2`` epochs, every trial continuing from it for 2
  (compute: the shared epochs once, plus 2 per trial: 25 % of the full lattice at N = 28);
* ``adaptive_warm_nearest`` — ``sampler: adaptive`` (budget N) with ``warm_start: {from: nearest,
  epochs: 2}``: the initial design trains in full, each proposed weight vector continues from its
  nearest completed neighbour's checkpoint for 2 epochs;
* ``ray_asha_ws`` — the lattice under Ray Tune's own ``ASHAScheduler`` (same grace, η, max)
  ranking the equal-weight sum of the validation objectives in minimisation form,
  ``mean_i s_i f_i`` with ``s_i = +1`` for ``min`` and ``-1`` for ``max`` objectives: what Ray's
  documentation suggests for several objectives. paretosweep's ``scheduler:`` knows only
  ``pareto_asha``, so this arm runs its own ``tune.Tuner`` over the same trials (same ids, same
  training: :func:`paretosweep.trial.train_problem` through a :class:`paretosweep.TrialContext`),
  in the order ``lattice_pareto_asha`` asks them (the same seeded shuffle);
* ``optuna_nsga2`` — ``sampler: optuna_nsga2`` (budget N), no early stopping;
* ``moasha`` — Syne Tune's ``MOASHA`` (Schmucker et al. 2021, ``syne_tune.optimizer.schedulers.
  multiobjective.moasha.MOASHA``, non-dominated-sort priority, same grace, η, max) deciding, through a
  thin Ray ``TrialScheduler`` adapter, over the same lattice trials as ``ray_asha_ws``; skipped
  with a note when ``syne-tune`` is not installed (it is not a dependency of paretosweep).

A shared warm start's trials report ``epochs_done`` = the shared epochs + their own; here each
counts its own epochs, and the shared training is one record (``warm-shared``, no test point) that
finishes first.

Measures. Compute is counted in **sample-epochs**: a trial's training samples per epoch times the
epochs it actually trained (``epochs_done``; a stopped trial counts what it trained), which is
deterministic; **trial seconds** beside it are the wall seconds inside the trial function
(paretosweep's ``train_seconds``; the same clock in the two Ray arms' own trainable, test-set
evaluation excluded), one thread per trial, so on an otherwise idle 2-core machine they are
close to CPU seconds — on a shared one they are inflated by other jobs. The **hypervolume** is that of the
non-dominated *test* metrics (``test_<column>``, never seen by any sampler or scheduler, which
decide on the validation metrics) of the trials finished so far, in finishing order, at ONE
reference point per problem: the worst test value of each objective over every full-lattice
trial of every seed, plus 10 % of that objective's range over them (``--reference problem``: the
problem's ``default_reference_point``, what a model that learnt nothing scores). A stopped trial has no test
metrics in trials.parquet (the built-in loop measures the test split after its last epoch
only), so here its checkpoint, the model at the epoch it stopped, is evaluated on the test
split. Ratios are to the full lattice's final HV of the same seed. ``seed`` r sets ``spec.seed``
(model initialisation; NSGA-II's and the adaptive sampler's seed); the data are fixed.

Scale, cut down for 2 CPU cores shared with other jobs (the recorded run's wall time is in
benchmarks/RESULTS.md):
``EPOCHS`` = 9; synthetic with 3 and 8 tasks (correlation 0.3, 2,000 samples, 60 % of them for
training, batch 128, lr 0.01), recsys with its 3 tasks (8,000 samples, 60 % for training, batch
256, lr 0.003, AUC objectives) with 4 tasks (``n_tasks: 4``: click / cart / purchase / repurchase,
rates 0.2 / 0.1 / 0.05 / 0.025 so that every test split holds some 40 or more positives of each),
multimnist (512 training images, 256 validation, 256 test, batch
64, lr 0.003, accuracy objectives); linear scalarization, Adam, full epochs; N = 28 lattice
points (synthetic K=3: H = 6), 20 (recsys, 4 tasks: H = 3), 36 (K=8: H = 2, and 36 Sobol points), 12
(multimnist). ``--quick`` is a smoke run (1 seed, tiny problems, 4 epochs).

Run::

    python benchmarks/compute_to_front.py                       # everything, 3 seeds, table + PNG
    python benchmarks/compute_to_front.py --quick --problems synthetic_k3 --arms lattice lattice_pareto_asha
    python benchmarks/compute_to_front.py --json raw.json       # ... and keep every trial's record
    python benchmarks/compute_to_front.py --from-json raw.json  # tables and plot again, no training
    python benchmarks/compute_to_front.py --from-json raw.json --reference problem --plot ''  # another reference point
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parent
EPOCHS = 9
GRACE = 1
ETA = 3
TRUNCATED = (2, 3)
FLOOR = 0.02
GOAL_HV = 0.98
GOAL_COMPUTE = 0.25
MARGIN = 0.10
ARMS = (
    "lattice",
    "lattice_e2",
    "lattice_e3",
    "lattice_pareto_asha",
    "adaptive_pareto_asha",
    "lattice_warm_shared",
    "adaptive_warm_nearest",
    "ray_asha_ws",
    "optuna_nsga2",
    "moasha",
    "conditioned",  # benchmarks/_conditioned_arm.py
)
#: the arms whose total compute is an "equal compute" column of the table
BASELINES = ("lattice_e2", "lattice_e3", "ray_asha_ws", "moasha")
OURS = ("lattice_pareto_asha", "adaptive_pareto_asha", "lattice_warm_shared", "adaptive_warm_nearest")
#: ``adaptive_warm_nearest``: epochs a proposed trial trains from its neighbour; ``lattice_warm_shared``: its own epochs
WARM_EPOCHS = 2

#: recsys with its 4 tasks, at rates that leave every split enough positives of each
RECSYS_FUNNEL = {"n_tasks": 4, "click_rate": 0.2, "cart_rate": 0.1, "purchase_rate": 0.05, "repurchase_rate": 0.025}
#: problem -> spec fields (problem, tasks, lr, n_weights); the full benchmark's scale.
PROBLEMS: dict[str, dict[str, Any]] = {
    "synthetic_k3": {
        "problem": {"name": "synthetic", "params": {"n_tasks": 3, "correlation": 0.3, "n_samples": 2000}},
        "lr": 0.01,
        "n_weights": 28,
    },
    "synthetic_k8": {
        "problem": {"name": "synthetic", "params": {"n_tasks": 8, "correlation": 0.3, "n_samples": 2000}},
        "lr": 0.01,
        "n_weights": 36,
    },
    # 36 lattice points in 8 tasks are H = 2: the corners and the pair midpoints, 6 of the 8 tasks at
    # the floor in every trial (`auto`, the default design, gives the same 36 points). The same
    # problem with a Sobol design of 36 points (seeded by `seed`) as the static "lattice" design:
    "synthetic_k8_sobol": {
        "problem": {"name": "synthetic", "params": {"n_tasks": 8, "correlation": 0.3, "n_samples": 2000}},
        "lr": 0.01,
        "n_weights": 36,
        "design": "sobol",
    },
    "recsys": {
        "problem": {"name": "recsys", "params": {"n_samples": 8000, **RECSYS_FUNNEL}},
        "tasks": {t: {"metric": "auc"} for t in ("click", "cart", "purchase", "repurchase")},
        "lr": 0.003,
        "n_weights": 20,
    },
    "multimnist": {
        "problem": {"name": "multimnist", "params": {"n_train": 512, "n_val": 256, "n_test": 256, "batch_size": 64}},
        "tasks": {"left": {"metric": "acc"}, "right": {"metric": "acc"}},
        "lr": 0.003,
        "n_weights": 12,
    },
}
#: ``--quick``: the same problems, tiny.
QUICK: dict[str, dict[str, Any]] = {
    "synthetic_k3": {
        **PROBLEMS["synthetic_k3"],
        "problem": {"name": "synthetic", "params": {"n_tasks": 3, "n_samples": 600}},
        "n_weights": 6,
    },
    "synthetic_k8": {
        **PROBLEMS["synthetic_k8"],
        "problem": {"name": "synthetic", "params": {"n_tasks": 8, "n_samples": 600}},
        "n_weights": 8,
    },
    "synthetic_k8_sobol": {
        **PROBLEMS["synthetic_k8_sobol"],
        "problem": {"name": "synthetic", "params": {"n_tasks": 8, "n_samples": 600}},
        "n_weights": 8,
    },
    "recsys": {
        **PROBLEMS["recsys"],
        "problem": {"name": "recsys", "params": {"n_samples": 3000, **RECSYS_FUNNEL}},
        "n_weights": 6,
    },
    "multimnist": {
        **PROBLEMS["multimnist"],
        "problem": {"name": "multimnist", "params": {"n_train": 128, "n_val": 64, "n_test": 64}},
        "n_weights": 4,
    },
}
QUICK_EPOCHS = 4


# ----------------------------------------------------------------------------------------------
# Records and the pure accounting (tested in tests/unit/test_compute_to_front_bench.py)


@dataclass
class TrialRecord:
    """One trained trial as the accounting sees it."""

    trial_id: str
    status: str
    epochs: int  # epochs actually trained
    finished: float  # finishing order key (seconds since the arm started)
    seconds: float  # wall seconds inside the trial
    test: list[float]  # the objectives' test values, objective order (NaN: none)


@dataclass
class ArmRun:
    """One arm on one problem and seed."""

    arm: str
    seed: int
    trials: list[TrialRecord]
    wall_seconds: float = 0.0
    note: str = ""


@dataclass
class ProblemRuns:
    """Everything measured on one problem."""

    name: str
    settings: dict[str, Any]
    columns: list[str]  # objective columns (validation); the test columns are test_<column>
    directions: list[str]
    samples_per_epoch: int
    n_weights: int
    epochs: int
    runs: list[ArmRun] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Curve:
    """Cumulative compute (sample-epochs), trial seconds and HV after each finished trial, in finishing order."""

    compute: np.ndarray
    seconds: np.ndarray
    hv: np.ndarray

    @property
    def total(self) -> float:
        return float(self.compute[-1]) if len(self.compute) else 0.0

    @property
    def final(self) -> float:
        return float(self.hv[-1]) if len(self.hv) else 0.0


def sample_epochs(epochs: int, samples_per_epoch: int) -> int:
    """Compute of a trial: ``epochs × samples_per_epoch`` (what it trained, stopped or not)."""
    if epochs < 0 or samples_per_epoch < 0:
        raise ValueError(f"epochs and samples_per_epoch should be >= 0; found {epochs}, {samples_per_epoch}")
    return int(epochs) * int(samples_per_epoch)


def minimisation(points: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """``[n, m]`` values with ``max`` objectives negated."""
    signs = np.array([-1.0 if d == "max" else 1.0 for d in directions])
    return np.asarray(points, dtype=np.float64).reshape(-1, len(directions)) * signs


def reference_point(points: np.ndarray, directions: Sequence[str], *, margin: float = MARGIN) -> np.ndarray:
    """The worst value of each objective over ``points`` plus ``margin`` of its range, in raw units.

    ``points``: ``[n, m]`` finite test values (NaN rows are ignored).
    """
    pts = minimisation(points, directions)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if not len(pts):
        raise ValueError("no finite point to derive a reference point from")
    worst, best = pts.max(axis=0), pts.min(axis=0)
    span = np.where(worst > best, worst - best, np.maximum(np.abs(worst), 1.0))
    ref = worst + margin * span
    return ref * np.array([-1.0 if d == "max" else 1.0 for d in directions])


def hypervolume_of(points: np.ndarray, reference: np.ndarray, directions: Sequence[str]) -> float:
    """HV of the finite points strictly better than ``reference`` in every objective (0.0 if none)."""
    import moocore

    pts = minimisation(points, directions)
    ref = minimisation(reference, directions)[0]
    pts = pts[np.isfinite(pts).all(axis=1) & (pts < ref).all(axis=1)]
    if not len(pts):
        return 0.0
    return float(moocore.hypervolume(pts, ref=ref))


def curve_of(trials: Sequence[TrialRecord], samples_per_epoch: int, reference: np.ndarray, directions: Sequence[str]) -> Curve:
    """The arm's curve: after each trial (by ``finished``), total sample-epochs, seconds, and the HV of every test point so far."""
    ordered = sorted(trials, key=lambda t: (t.finished, t.trial_id))
    compute = np.cumsum([sample_epochs(t.epochs, samples_per_epoch) for t in ordered], dtype=np.float64)
    seconds = np.cumsum([t.seconds for t in ordered], dtype=np.float64)
    points = np.asarray([t.test for t in ordered], dtype=np.float64).reshape(len(ordered), len(directions))
    hv = np.zeros(len(ordered))
    current = 0.0
    for k in range(len(ordered)):
        if np.isfinite(points[k]).all():  # the HV only changes when a measured point joins
            current = hypervolume_of(points[: k + 1], reference, directions)
        hv[k] = current
    return Curve(compute, seconds, hv)


def hv_at(curve: Curve, budget: float) -> float:
    """HV reached by the trials finished within ``budget`` sample-epochs (0.0 if none had; the final HV past the total)."""
    within = np.flatnonzero(curve.compute <= budget * (1 + 1e-12))
    return float(curve.hv[within[-1]]) if len(within) else 0.0


def compute_to_reach(curve: Curve, target: float) -> float | None:
    """The sample-epochs after which the HV first reaches ``target`` (None: never)."""
    hit = np.flatnonzero(curve.hv >= target * (1 - 1e-12))
    return float(curve.compute[hit[0]]) if len(hit) else None


@dataclass
class ArmSummary:
    """One arm on one problem, per seed: fractions of that seed's full lattice (compute, HV)."""

    compute: list[float]
    seconds: list[float]
    final: list[float]
    at_quarter: list[float]
    at_baseline: dict[str, list[float]]
    to_goal: list[float | None]


def summarise(curves: Mapping[str, Mapping[int, Curve]], *, goal: float = GOAL_HV, quarter: float = GOAL_COMPUTE) -> dict[str, ArmSummary]:
    """Per arm: compute used, final HV, HV within ``quarter`` of the lattice's compute, HV at each
    baseline's total compute, and compute to ``goal`` of the lattice's HV; all as fractions of the
    full lattice of the same seed (``curves[arm][seed]``; needs ``curves["lattice"]``)."""
    lattice = curves["lattice"]
    out: dict[str, ArmSummary] = {}
    for arm, by_seed in curves.items():
        seeds = [s for s in by_seed if s in lattice]
        full = {s: lattice[s] for s in seeds}
        baselines = {b: curves[b] for b in BASELINES if b in curves}
        out[arm] = ArmSummary(
            compute=[by_seed[s].total / full[s].total for s in seeds],
            seconds=[float(by_seed[s].seconds[-1]) / float(full[s].seconds[-1]) if len(by_seed[s].seconds) else 0.0 for s in seeds],
            final=[by_seed[s].final / full[s].final for s in seeds],
            at_quarter=[hv_at(by_seed[s], quarter * full[s].total) / full[s].final for s in seeds],
            at_baseline={b: [hv_at(by_seed[s], c[s].total) / full[s].final for s in seeds if s in c] for b, c in baselines.items()},
            to_goal=[None if (x := compute_to_reach(by_seed[s], goal * full[s].final)) is None else x / full[s].total for s in seeds],
        )
    return out


def median_or_none(values: Sequence[float | None]) -> float | None:
    """Median where a missing value (never reached) counts as +inf; None when the median is."""
    filled = sorted(math.inf if v is None else v for v in values)
    if not filled:
        return None
    mid = statistics.median(filled)
    return None if math.isinf(mid) else mid


# ----------------------------------------------------------------------------------------------
# Running the arms


def spec_dict(name: str, cfg: Mapping[str, Any], arm: str, seed: int, *, epochs: int, storage: str) -> dict[str, Any]:
    """The sweep spec of ``arm`` (the ``ray_asha_ws`` / ``moasha`` arms train the ``lattice`` spec's trials)."""
    spec: dict[str, Any] = {
        "name": f"{name}-{arm}-{seed}",
        "storage": storage,
        "problem": cfg["problem"],
        "scalarizer": {"name": "linear"},
        "sampler": {"name": cfg.get("design", "das_dennis"), "floor": FLOOR},
        "budget": {"n_weights": cfg["n_weights"], "epochs": epochs, "lr": cfg["lr"]},
        "concurrency": 2,
        "seed": seed,
        "checkpoints": {"keep": "none"},
    }
    if cfg.get("tasks"):
        spec["tasks"] = cfg["tasks"]
    if arm.startswith("lattice_e"):
        spec["budget"]["epochs"] = int(arm.removeprefix("lattice_e"))
    if arm.startswith("adaptive_"):
        spec["sampler"] = {"name": "adaptive", "floor": FLOOR}
    if arm == "lattice_warm_shared":
        spec["warm_start"] = {"from": "shared", "epochs": epochs - WARM_EPOCHS}
    if arm == "adaptive_warm_nearest":
        spec["warm_start"] = {"from": "nearest", "epochs": WARM_EPOCHS}
    if arm == "optuna_nsga2":
        spec["sampler"] = {"name": "optuna_nsga2", "floor": FLOOR}
    if arm.endswith("pareto_asha"):
        spec["scheduler"] = {"name": "pareto_asha", "grace_epochs": GRACE, "reduction_factor": ETA}
        spec["checkpoints"] = {"keep": "all"}  # stopped trials' models: their test metrics are measured from them
    return spec


def test_values_from_checkpoint(problem: Any, run_dir: str, trial_id: str, seed: int, columns: Sequence[str]) -> list[float]:
    """The test metrics of a stored trial's checkpoint (the model at its last trained epoch)."""
    import torch

    import paretosweep

    state = paretosweep.load_checkpoint(run_dir, trial_id)
    model = problem.make_model(seed=seed)
    model.load_state_dict(state["model"])
    raw = problem.evaluate_test(model, torch.device("cpu"))
    return [float(raw[c]) for c in columns]


def run_paretosweep_arm(
    name: str, cfg: Mapping[str, Any], arm: str, seed: int, *, epochs: int, columns: Sequence[str], problem: Any
) -> ArmRun:
    """One arm through ``paretosweep.run`` (Ray already initialised here); its trials as records."""
    import pandas as pd

    import paretosweep
    from paretosweep.sweep._warm_start import WARM_TRIAL_ID, read_info

    with tempfile.TemporaryDirectory(prefix="ctf-") as folder:
        run_dir = str(Path(folder) / "run")
        started = time.monotonic()
        summary = paretosweep.run(spec_dict(name, cfg, arm, seed, epochs=epochs, storage=run_dir))
        wall = time.monotonic() - started
        trials = paretosweep.load_trials(run_dir)
        first = pd.to_datetime(trials["started_at"]).min()
        records, shared = [], 0
        info = read_info(run_dir)
        if info is not None:  # the shared warm start: trained once, before every trial
            shared = int(info["epochs"])
            records.append(TrialRecord(WARM_TRIAL_ID, "shared", shared, -1.0, float(info["train_seconds"]), [math.nan] * len(columns)))
        for row in trials.itertuples(index=False):
            row_d = row._asdict()
            test = [float(row_d.get(f"test_{c}", math.nan)) for c in columns]
            if row.status == "stopped" and not np.isfinite(test).all():
                test = test_values_from_checkpoint(problem, run_dir, row.trial_id, int(row.seed), columns)
            finished = (pd.Timestamp(row.finished_at) - first).total_seconds() if pd.notna(row.finished_at) else wall
            epochs_done = int(row.epochs_done) - shared if pd.notna(row.epochs_done) else 0  # the trial's own epochs
            seconds = float(row.train_seconds) if pd.notna(row.train_seconds) else 0.0
            records.append(TrialRecord(str(row.trial_id), str(row.status), epochs_done, float(finished), seconds, test))
    note = f"{summary.completed} completed, {summary.stopped} stopped, {summary.failed} failed"
    return ArmRun(arm, seed, records, wall, note)


def bench_trainable(config: dict[str, Any], spec_json: str, minimise: list[tuple[str, float]]) -> None:
    """A Ray function trainable for the Ray-scheduler arms: the built-in loop on one lattice trial.

    Each epoch reports the validation objectives (and ``min_<column>``: minimisation form),
    ``ws`` (their mean in minimisation form: the weighted-sum scalar), the trial's seconds so far
    (wall, test evaluation excluded) and the model's test metrics (``test_<column>``: recorded
    for the benchmark, read by no scheduler).
    """
    import torch
    from ray import tune

    from paretosweep.config import parse_spec
    from paretosweep.planning import TrialConfig
    from paretosweep.problems import canonical_params_json, make_problem_cached
    from paretosweep.trial import make_context, run_in_context, train_problem

    started = time.perf_counter()
    torch.set_num_threads(1)
    spec = parse_spec(json.loads(spec_json))
    problem = make_problem_cached(spec.problem.name, canonical_params_json(spec.problem.params))
    trial = TrialConfig.from_dict(config["trial"])
    excluded = [0.0]

    def sink(metrics: dict[str, float], checkpoint: Any) -> None:
        t0 = time.perf_counter()
        model = problem.make_model(seed=trial.seed)
        model.load_state_dict(checkpoint["trainable"]["model"])
        test = problem.evaluate_test(model, torch.device("cpu"))
        excluded[0] += time.perf_counter() - t0
        mins = {f"min_{c}": sign * float(metrics[c]) for c, sign in minimise}
        tune.report(
            {
                **metrics,
                **mins,
                "ws": float(np.mean(list(mins.values()))),
                "trial_seconds": time.perf_counter() - started - excluded[0],
                **{f"test_{c}": float(v) for c, v in test.items()},
            }
        )

    ctx = make_context(trial, spec, problem, device=torch.device("cpu"), sink=sink, name=spec.problem.name)
    run_in_context(train_problem, ctx, name=spec.problem.name)


def moasha_scheduler(metrics: list[str], *, max_t: int, seed: int) -> Any:
    """Syne Tune's MOASHA behind Ray Tune's ``TrialScheduler`` interface (decisions are MOASHA's own)."""
    from ray.tune.schedulers import FIFOScheduler, TrialScheduler
    from syne_tune.backend.trial_status import Trial as SyneTrial
    from syne_tune.optimizer.scheduler import SchedulerDecision
    from syne_tune.optimizer.schedulers.multiobjective.moasha import MOASHA

    class SyneTuneMOASHA(FIFOScheduler):
        def __init__(self) -> None:
            super().__init__()
            self.moasha = MOASHA(
                config_space={},
                metrics=metrics,
                do_minimize=True,
                time_attr="training_iteration",
                max_t=max_t,
                grace_period=GRACE,
                reduction_factor=ETA,
                random_seed=seed,
            )
            self.ids: dict[str, SyneTrial] = {}

        def set_search_properties(self, metric: Any, mode: Any, **spec: Any) -> bool:
            return True

        def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
            self.ids[trial.trial_id] = SyneTrial(trial_id=len(self.ids), config={}, creation_time=datetime.now())
            self.moasha.on_trial_add(self.ids[trial.trial_id])

        def on_trial_result(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> str:
            decision = self.moasha.on_trial_result(self.ids[trial.trial_id], result)
            return TrialScheduler.STOP if decision == SchedulerDecision.STOP else TrialScheduler.CONTINUE

        def on_trial_complete(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> None:
            st = self.ids[trial.trial_id]
            if st.trial_id in self.moasha.trial_info and result and all(k in result for k in metrics):
                self.moasha.on_trial_complete(st, result)

        def on_trial_remove(self, tune_controller: Any, trial: Any) -> None:
            st = self.ids.get(trial.trial_id)
            if st is not None and st.trial_id in self.moasha.trial_info:
                self.moasha.on_trial_remove(st)

    return SyneTuneMOASHA()


def run_ray_arm(
    name: str, cfg: Mapping[str, Any], arm: str, seed: int, *, epochs: int, columns: Sequence[str], directions: Sequence[str]
) -> ArmRun:
    """``ray_asha_ws`` or ``moasha``: the lattice spec's trials on a ``tune.Tuner`` with that scheduler."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    from paretosweep.config import parse_spec
    from paretosweep.planning import build_plan
    from paretosweep.sampling._base import shuffled_order

    base = spec_dict(name, cfg, "lattice", seed, epochs=epochs, storage="unused")
    plan = build_plan(parse_spec(base))
    trials = [t for t in plan.trials if t.kind == "scalarization"]
    trials = [trials[i] for i in shuffled_order(len(trials), seed)]  # the order lattice_pareto_asha's sweep asks them in
    minimise = [(c, -1.0 if d == "max" else 1.0) for c, d in zip(columns, directions, strict=True)]
    if arm == "ray_asha_ws":
        scheduler: Any = ASHAScheduler(
            time_attr="training_iteration", metric="ws", mode="min", max_t=epochs, grace_period=GRACE, reduction_factor=ETA
        )
    else:
        scheduler = moasha_scheduler([f"min_{c}" for c in columns], max_t=epochs, seed=seed)
    seen: dict[str, tuple[float, dict[str, Any]]] = {}
    started = time.monotonic()

    class Collect(tune.Callback):
        def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
            seen[trial.config["trial"]["trial_id"]] = (time.monotonic() - started, dict(result))

    with tempfile.TemporaryDirectory(prefix="ctf-ray-") as folder:
        tuner = tune.Tuner(
            tune.with_resources(tune.with_parameters(bench_trainable, spec_json=json.dumps(base), minimise=minimise), {"cpu": 1}),
            param_space={"trial": tune.grid_search([t.to_dict() for t in trials])},
            tune_config=tune.TuneConfig(scheduler=scheduler, num_samples=1, max_concurrent_trials=2, reuse_actors=True),
            run_config=tune.RunConfig(name=f"{name}-{arm}-{seed}", storage_path=folder, callbacks=[Collect()], verbose=0),
        )
        grid = tuner.fit()
    wall = time.monotonic() - started
    errors = sum(r.error is not None for r in grid)
    records = []
    for t in trials:
        finished, result = seen.get(t.trial_id, (wall, {}))
        done = int(result.get("epoch", 0))
        status = "completed" if done == epochs else ("stopped" if done else "failed")
        test = [float(result.get(f"test_{c}", math.nan)) for c in columns]
        records.append(TrialRecord(t.trial_id, status, done, finished, float(result.get("trial_seconds", 0.0)), test))
    stopped = sum(r.status == "stopped" for r in records)
    return ArmRun(arm, seed, records, wall, f"{len(records) - stopped} completed, {stopped} stopped, {errors} Tune errors")


def describe_problem(name: str, cfg: Mapping[str, Any], *, epochs: int) -> tuple[ProblemRuns, Any]:
    """The problem's objectives, samples per epoch and the record that collects its runs."""
    import torch

    from paretosweep.config import parse_spec
    from paretosweep.planning import build_plan
    from paretosweep.problems import make_problem

    plan = build_plan(parse_spec(spec_dict(name, cfg, "lattice", 0, epochs=epochs, storage="unused")))
    problem = make_problem(cfg["problem"]["name"], dict(cfg["problem"]["params"]))
    samples = sum(int(b[0].shape[0]) for b in problem.train_batches(epoch=0, generator=torch.Generator().manual_seed(0)))
    runs = ProblemRuns(
        name=name,
        settings=dict(cfg),
        columns=[o.column for o in plan.objectives],
        directions=[o.direction for o in plan.objectives],
        samples_per_epoch=samples,
        n_weights=len(plan.trials),
        epochs=epochs,
    )
    return runs, problem


def measure(name: str, cfg: Mapping[str, Any], arms: Sequence[str], seeds: int, *, epochs: int, start_seed: int = 0) -> ProblemRuns:
    """Every arm × seed (``start_seed`` to ``start_seed + seeds - 1``) on one problem."""
    runs, problem = describe_problem(name, cfg, epochs=epochs)
    if "moasha" in arms:
        try:
            import syne_tune  # noqa: F401
        except ImportError as error:
            runs.notes.append(f"moasha: not run, syne-tune is not importable ({error}); `pip install syne-tune` adds it")
            arms = [a for a in arms if a != "moasha"]
    for seed in range(start_seed, start_seed + seeds):
        for arm in arms:
            if arm.startswith("conditioned"):
                from _conditioned_arm import run_conditioned_arm

                run = run_conditioned_arm(name, cfg, arm, seed, epochs=epochs, columns=runs.columns)
            elif arm in ("ray_asha_ws", "moasha"):
                run = run_ray_arm(name, cfg, arm, seed, epochs=epochs, columns=runs.columns, directions=runs.directions)
            else:
                run = run_paretosweep_arm(name, cfg, arm, seed, epochs=epochs, columns=runs.columns, problem=problem)
            runs.runs.append(run)
            print(f"  {name} seed {seed} {arm}: {len(run.trials)} trials ({run.note}), {run.wall_seconds:.0f} s wall", flush=True)
    return runs


# ----------------------------------------------------------------------------------------------
# Tables and the plot


#: ``--reference``: how the one reference point of a problem is fixed.
REFERENCE_RULES = {
    "lattice": "worst test value over every full-lattice trial (all seeds) + 10 % of its range, per objective",
    "problem": "the problem's default_reference_point (what a model that learnt nothing scores)",
}


def problem_reference(runs: ProblemRuns) -> np.ndarray:
    """The problem's ``default_reference_point`` for the objective columns."""
    from paretosweep.problems import make_problem

    problem = make_problem(runs.settings["problem"]["name"], dict(runs.settings["problem"]["params"]))
    return np.array([float(problem.default_reference_point[c]) for c in runs.columns])


def analyse(runs: ProblemRuns, rule: str = "lattice") -> tuple[np.ndarray, dict[str, dict[int, Curve]]]:
    """The problem's reference point (see :data:`REFERENCE_RULES`) and every run's curve."""
    if rule == "problem":
        reference = problem_reference(runs)
    else:
        lattice = [t.test for r in runs.runs if r.arm == "lattice" for t in r.trials]
        reference = reference_point(np.asarray(lattice, dtype=np.float64), runs.directions)
    curves: dict[str, dict[int, Curve]] = {}
    for r in runs.runs:
        curves.setdefault(r.arm, {})[r.seed] = curve_of(r.trials, runs.samples_per_epoch, reference, runs.directions)
    return reference, curves


def cell(values: Sequence[float], *, pct: bool = True) -> str:
    if not values:
        return "–"
    scale = 100.0 if pct else 1.0
    med = statistics.median(values) * scale
    if len(values) == 1:
        return f"{med:.1f}"
    return f"{med:.1f} [{min(values) * scale:.1f}, {max(values) * scale:.1f}]"


def goal_cell(values: Sequence[float | None]) -> str:
    med = median_or_none(values)
    per = ", ".join("never" if v is None else f"{100 * v:.0f}" for v in values)
    return f"{'never' if med is None else f'{100 * med:.1f}'} ({per})"


def row(cells: Sequence[str]) -> str:
    """A markdown table row."""
    return "| " + " | ".join(cells) + " |"


def consistency(runs: ProblemRuns) -> str:
    """Largest difference in test values between a fully trained trial of another arm and the same trial id in the lattice."""
    full = {(r.seed, t.trial_id): t.test for r in runs.runs if r.arm == "lattice" for t in r.trials}
    diffs = [
        float(np.max(np.abs(np.subtract(t.test, full[(r.seed, t.trial_id)]))))
        for r in runs.runs
        if r.arm in ("lattice_pareto_asha", "ray_asha_ws", "moasha")
        for t in r.trials
        if t.epochs == runs.epochs and (r.seed, t.trial_id) in full
    ]
    if not diffs:
        return "no fully trained scheduler trial to compare with the lattice"
    return f"{len(diffs)} fully trained trials of the scheduler arms have the lattice's test values to {max(diffs):.1e} (same trial ids)"


def report(runs: ProblemRuns, rule: str = "lattice") -> str:
    """The markdown table and the goal lines of one problem."""
    reference, curves = analyse(runs, rule)
    summary = summarise(curves)
    present = [a for a in ARMS if a in summary]
    baselines = [b for b in BASELINES if b in summary]
    seeds = sorted({r.seed for r in runs.runs})
    full_total = statistics.median(c.total for c in curves["lattice"].values())
    objectives = ", ".join(f"test_{c} ({d})" for c, d in zip(runs.columns, runs.directions, strict=True))
    lines = [
        f"### {runs.name} ({len(runs.columns)} tasks, objectives {objectives})",
        "",
        f"N = {runs.n_weights} lattice trials x {runs.epochs} epochs x {runs.samples_per_epoch} samples = "
        f"{full_total:.3g} sample-epochs for the full lattice; seeds {seeds}; reference point "
        f"({', '.join(f'{v:.4g}' for v in reference)}): {REFERENCE_RULES[rule]}; {consistency(runs)}.",
        "",
        "All numbers in % of the full lattice of the same seed, median [min, max] over seeds. *HV at C(x)*: HV of "
        "the trials finished within arm x's total compute. *to 98 %*: compute after which the HV first reaches 98 % "
        "of the full lattice's (per seed in brackets; never = not within the arm's compute).",
        "",
        row(["arm", "compute", "trial s", "final HV", "HV at <= 25 % compute", *(f"HV at C({b})" for b in baselines), "compute to 98 %"]),
        row(["---"] * (6 + len(baselines))),
    ]
    for arm in present:
        s = summary[arm]
        at = [cell(s.at_baseline.get(b, [])) for b in baselines]
        lines.append(row([arm, cell(s.compute), cell(s.seconds), cell(s.final), cell(s.at_quarter), *at, goal_cell(s.to_goal)]))
    lines.append("")
    lines.extend(goal_lines(summary, baselines))
    for note in runs.notes:
        lines.append(f"- {note}")
    notes = "; ".join(f"{r.arm} s{r.seed}: {r.note}" for r in runs.runs)
    lines += ["", f"<sub>{notes}</sub>", ""]
    return "\n".join(lines)


def overview(all_runs: Sequence[ProblemRuns], rule: str = "lattice") -> str:
    """One table over the problems: per arm, the median HV within 25 % of the compute, and the median compute to 98 %."""
    summaries = {runs.name: summarise(analyse(runs, rule)[1]) for runs in all_runs}
    lines = [
        f"Overview (reference point: {rule}): median over seeds of the HV within 25 % of the full lattice's compute "
        "/ the compute after which the HV first reaches 98 % of the full lattice's (never: not within the arm's compute), "
        "both in % of the full lattice.",
        "",
        row(["arm", *summaries]),
        row(["---"] * (1 + len(summaries))),
    ]
    for arm in ARMS:
        cells = []
        for summary in summaries.values():
            if arm not in summary:
                cells.append("–")
                continue
            quarter = statistics.median(summary[arm].at_quarter) * 100
            goal = median_or_none(summary[arm].to_goal)
            cells.append(f"{quarter:.1f} / {'never' if goal is None else f'{100 * goal:.1f}'}")
        if any(c != "–" for c in cells):
            lines.append(row([arm, *cells]))
    return "\n".join(lines) + "\n"


def goal_lines(summary: Mapping[str, ArmSummary], baselines: Sequence[str]) -> list[str]:
    """Where the goal (>= 98 % of the HV for <= 25 % of the compute; ahead of each baseline at its compute) is met."""
    lines = []
    for arm in [a for a in OURS if a in summary]:
        s = summary[arm]
        med = median_or_none(s.to_goal)
        met = med is not None and med <= GOAL_COMPUTE
        per_seed = sum(v is not None and v <= GOAL_COMPUTE for v in s.to_goal)
        reached = "not reached within its compute" if med is None else f"reached after {100 * med:.1f} % of the lattice's compute"
        lines.append(
            f"- **{arm}**: 98 % of the full lattice's HV {reached} (median over seeds; goal <= 25 %: "
            f"{'**met**' if met else '**not met**'}, in {per_seed} of {len(s.to_goal)} seeds); within 25 % of the "
            f"compute it has {cell(s.at_quarter)} % of the HV."
        )
        for b in baselines:
            ours, theirs = s.at_baseline.get(b, []), summary[b].at_baseline.get(b, [])
            if not ours or not theirs:
                continue
            pairs = list(zip(ours, theirs, strict=True))
            wins, ties = sum(o > t for o, t in pairs), sum(o == t for o, t in pairs)
            delta = statistics.median(o - t for o, t in pairs) * 100
            lines.append(
                f"  - at {b}'s compute: {cell(ours)} % vs {b}'s {cell(theirs)} % "
                f"(median difference {delta:+.1f} points; ahead in {wins}, tied in {ties} of {len(pairs)} seeds)"
            )
    return lines


def plot(all_runs: Sequence[ProblemRuns], path: Path, rule: str = "lattice") -> None:
    """HV (% of the full lattice) against compute (% of the full lattice's sample-epochs): median over seeds per arm.

    A curve runs to the largest total compute over the seeds (a seed that spent less keeps its final
    HV from there), so its end point is the median final HV. The y axis stops at 110 %; an arm above
    it is named in the panel with its final median.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, len(all_runs))
    rows = math.ceil(len(all_runs) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.6 * cols, 4.2 * rows + 0.6), squeeze=False)
    colours = dict(zip(ARMS, plt.get_cmap("tab10").colors, strict=False))
    styles = {"lattice_e2": "--", "lattice_e3": "--", "ray_asha_ws": ":", "moasha": ":", "optuna_nsga2": "-."}
    top = 110.0
    for ax, runs in zip(axes.flat, all_runs, strict=False):
        _, curves = analyse(runs, rule)
        lattice = curves["lattice"]
        grid = np.linspace(0.0, 1.05, 211)
        off = []
        for arm in [a for a in ARMS if a in curves]:
            by_seed = curves[arm]
            seeds = [s for s in by_seed if s in lattice]
            end = max(by_seed[s].total / lattice[s].total for s in seeds)  # past a seed's total: its final HV
            xs = grid[grid <= end + 1e-9]
            values = 100 * np.array([[hv_at(by_seed[s], x * lattice[s].total) / lattice[s].final for x in xs] for s in seeds])
            median = np.median(values, axis=0)
            if median[-1] > top:
                off.append(f"{arm}: {median[-1]:.0f} %")
            width = 2.4 if arm in OURS else 1.4
            shown = np.minimum(median, top + 5)
            ax.plot(100 * xs, shown, styles.get(arm, "-"), lw=width, color=colours[arm], label=arm, drawstyle="steps-post")
            ax.plot([100 * xs[-1]], [shown[-1]], "o", ms=4, color=colours[arm])
        ax.axhline(100 * GOAL_HV, color="grey", lw=0.7, ls=":")
        ax.axvline(100 * GOAL_COMPUTE, color="grey", lw=0.7, ls=":")
        if off:
            ax.text(0.98, 0.03, "off scale: " + ", ".join(off), transform=ax.transAxes, ha="right", fontsize=8)
        ax.set_ylim(0, top)
        ax.set_xlim(0, 105)
        ax.set_xlabel("compute, % of the full lattice's sample-epochs")
        ax.set_ylabel("test HV, % of the full lattice's")
        ax.set_title(f"{runs.name} ({len(runs.columns)} tasks, N = {runs.n_weights})")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(all_runs) :]:
        ax.axis("off")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 5), fontsize=9, frameon=False)
    fig.suptitle(
        "Compute to front: test-set hypervolume against training compute, median over seeds (dotted: 25 % compute, 98 % HV)", fontsize=11
    )
    fig.tight_layout(rect=(0, 0.08 if rows > 1 else 0.1, 1, 1))
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ----------------------------------------------------------------------------------------------


def to_json(all_runs: Sequence[ProblemRuns]) -> str:
    """The raw records, as JSON."""
    return json.dumps([asdict(r) for r in all_runs])


def from_json(text: str) -> list[ProblemRuns]:
    """The records of :func:`to_json`."""
    out = []
    for item in json.loads(text):
        runs = [
            ArmRun(r["arm"], r["seed"], [TrialRecord(**t) for t in r["trials"]], r["wall_seconds"], r["note"]) for r in item.pop("runs")
        ]
        out.append(ProblemRuns(**item, runs=runs))
    return out


def merged(all_runs: Sequence[ProblemRuns]) -> list[ProblemRuns]:
    """One record per problem: the runs of several files of the same problem together (same scale required)."""
    out: dict[str, ProblemRuns] = {}
    for runs in all_runs:
        if runs.name not in out:
            out[runs.name] = runs
            continue
        first = out[runs.name]
        if (first.settings, first.samples_per_epoch, first.epochs) != (runs.settings, runs.samples_per_epoch, runs.epochs):
            raise SystemExit(f"--from-json: the files measured {runs.name} at different scales")
        first.runs.extend(r for r in runs.runs if (r.arm, r.seed) not in {(x.arm, x.seed) for x in first.runs})
        first.notes.extend(n for n in runs.notes if n not in first.notes)
    return list(out.values())


def machine_line() -> str:
    import torch

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.platform()}, torch {torch.__version__}, "
        f"python {platform.python_version()}; load average {load:.2f}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--seeds", type=int, default=None, help="seeds 0..S-1 (default 3; 1 with --quick)")
    parser.add_argument("--start-seed", type=int, default=0, help="the first seed (a run in pieces: --start-seed 1 --seeds 2)")
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny problems, 4 epochs, 1 seed")
    parser.add_argument(
        "--plot", default=None, help="PNG to write ('' for none; default benchmarks/compute_to_front.png, none with --quick)"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the raw trial records here (after every problem)")
    parser.add_argument(
        "--from-json", type=Path, nargs="+", default=None, help="report and plot the records of earlier --json files, no training"
    )
    parser.add_argument("--reference", choices=list(REFERENCE_RULES), default="lattice", help="how each problem's reference point is fixed")
    args = parser.parse_args(argv)
    arms = list(args.arms)  # without "lattice" (every ratio is to it) only the records are written, for --from-json
    print(machine_line())
    print(f"command: python benchmarks/compute_to_front.py {' '.join(sys.argv[1:] if argv is None else argv)}\n", flush=True)
    if args.from_json is not None:
        all_runs = merged([r for path in args.from_json for r in from_json(path.read_text()) if r.name in args.problems])
    else:
        import ray
        import torch

        torch.set_num_threads(1)
        configs = QUICK if args.quick else PROBLEMS
        epochs = QUICK_EPOCHS if args.quick else EPOCHS
        seeds = args.seeds if args.seeds is not None else (1 if args.quick else 3)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        all_runs = []
        try:
            for name in args.problems:
                started = time.monotonic()
                all_runs.append(measure(name, configs[name], arms, seeds, epochs=epochs, start_seed=args.start_seed))
                print(f"  {name}: {time.monotonic() - started:.0f} s\n", flush=True)
                if args.json:
                    args.json.write_text(to_json(all_runs))
        finally:
            ray.shutdown()
    all_runs = [r for r in all_runs if any(x.arm == "lattice" for x in r.runs)]
    for runs in all_runs:
        print(report(runs, args.reference), flush=True)
    if all_runs:
        print(overview(all_runs, args.reference), flush=True)
    plot_path = args.plot if args.plot is not None else ("" if args.quick else str(ROOT / "compute_to_front.png"))
    if plot_path and all_runs:
        plot(all_runs, Path(plot_path), args.reference)
        print(f"plot: {plot_path}")
    print(machine_line())


if __name__ == "__main__":
    main()
