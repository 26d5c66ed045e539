"""Hypervolume ratio reached against the number of trials, per sampler, on problems with exact fronts.

Each trial is one real :func:`paretosweep.trial.train_trial` (no Ray: the same training a sweep
runs, minus scheduling). Samplers:

* ``lattice`` — the Das–Dennis design with at most N points (a new design per N, as a user
  choosing ``budget.n_weights = N`` would get);
* ``dirichlet``, ``sobol`` — the first N points of the seeded design;
* ``optuna_tpe``, ``optuna_nsga2`` — Optuna's multi-objective samplers by ask-and-tell over the
  ``m − 1`` uniforms of :mod:`paretosweep.sampling._optuna` (NSGA-II with population 8; its default
  of 50 would make every budget here its random first generation), the first N trials;
* ``adaptive`` — :class:`paretosweep.sampling.AdaptiveSampler` with a budget of ``max(N)``,
  read after each trial count (its rounds do not depend on the budget, except that the last
  round is cut to the budget — which is the same prefix). It may stop early (converged); its
  ratio then stays where it stopped.

The ratio is HV(non-dominated trials) / HV(exact front, 20,000 points) at the problem's reference
point. On a concave front (fonseca) no N-point set reaches the continuous front's HV, so the
table also gives the best any N points *on the exact front* can reach (``best N``, exact DP).
Seed r sets ``spec.seed`` (design seed of dirichlet/sobol and the trials' initialisation).

Run::

    python benchmarks/sample_efficiency.py                       # both problems, 5 seeds
    python benchmarks/sample_efficiency.py --problems fonseca --seeds 2 --budgets 4 8
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from paretosweep.config import parse_spec  # noqa: E402
from paretosweep.frontier import hypervolume  # noqa: E402
from paretosweep.planning import plan_trials  # noqa: E402
from paretosweep.problems import make_problem  # noqa: E402
from paretosweep.sampling import AdaptiveSampler, param_names, unit_to_simplex  # noqa: E402
from paretosweep.simplex import apply_floor, das_dennis_at_most, dirichlet, sobol_simplex  # noqa: E402
from paretosweep.trial import train_trial  # noqa: E402

#: problem -> (spec fields); the shipped configs' training settings.
PROBLEMS = {
    "fonseca": {"problem": {"name": "fonseca"}, "scalarizer": {"name": "tchebycheff"}, "budget": {"epochs": 8, "lr": 0.02}},
    "cagrad_toy": {"problem": {"name": "cagrad_toy"}, "scalarizer": {"name": "linear"}, "budget": {"epochs": 10, "lr": 0.05}},
}
SAMPLERS = ("lattice", "dirichlet", "sobol", "adaptive", "optuna_tpe", "optuna_nsga2")
NSGA2_POPULATION = 8  # Optuna's default (50) would make every budget here its random first generation
FLOOR = 0.01
COLS = ["f1_loss", "f2_loss"]


def best_n_hv(front: np.ndarray, n: int, ref: tuple[float, ...]) -> float:
    """Largest HV of n points chosen among ``front`` (2-D, minimisation; exact DP over a thinned front)."""
    from tests._fronts import best_k_point_hypervolume_2d

    return float(best_k_point_hypervolume_2d(front, n, ref))


class Runner:
    """Trains trials, caching by (weights, seed) so samplers that share a weight vector share the trial."""

    def __init__(self, name: str, tolerance: float) -> None:
        self.name = name
        self.base = PROBLEMS[name]
        self.problem = make_problem(name, {})
        self.tolerance = tolerance
        self.cache: dict[tuple[tuple[float, ...], int], list[float]] = {}
        self.trained = 0
        self.seconds = 0.0

    def spec(self, seed: int, n: int):
        return parse_spec({**self.base, "sampler": {"name": "adaptive", "floor": FLOOR, "tolerance": self.tolerance},
                           "budget": {**self.base["budget"], "n_weights": n}, "seed": seed})

    def run(self, weights: np.ndarray, seed: int) -> np.ndarray:
        spec = self.spec(seed, max(len(weights), 2))
        out = []
        for trial in plan_trials(spec, weights, []):
            key = (trial.weights, trial.seed)
            if key not in self.cache:
                started = time.process_time()
                outcome = train_trial(self.problem, trial, spec, device=torch.device("cpu"))
                self.seconds += time.process_time() - started
                self.trained += 1
                ok = outcome.status == "completed"
                self.cache[key] = [float(outcome.metrics[c]) if ok else float("nan") for c in COLS]
            out.append(self.cache[key])
        return np.asarray(out, dtype=np.float64).reshape(-1, 2)


def curve(runner: Runner, sampler: str, seed: int, budgets: list[int]) -> dict[int, float]:
    """HV of the trials' non-dominated set after N trials, for every N in budgets."""
    exact = runner.problem.exact_front(20000)
    ref = exact.reference_point
    total = hypervolume(exact.points, reference_point=ref, directions=("min", "min"))
    nmax = max(budgets)

    def ratio(values: np.ndarray) -> float:
        values = values[np.isfinite(values).all(axis=1)]
        return hypervolume(values, reference_point=ref, directions=("min", "min")) / total if len(values) else 0.0

    if sampler == "lattice":
        return {n: ratio(runner.run(apply_floor(das_dennis_at_most(2, n), FLOOR), seed)) for n in budgets}
    if sampler in ("dirichlet", "sobol"):
        design = dirichlet(2, nmax, seed=seed) if sampler == "dirichlet" else sobol_simplex(2, nmax, seed=seed)
        values = runner.run(apply_floor(design, FLOOR), seed)
        return {n: ratio(values[:n]) for n in budgets}
    if sampler.startswith("optuna_"):
        return {n: ratio(v) for n, v in optuna_prefixes(runner, sampler, seed, budgets).items()}
    spec = runner.spec(seed, nmax)
    ad = AdaptiveSampler(m=2, scalarizer=spec.scalarizer.name, n_weights=nmax, tolerance=runner.tolerance,
                         batch=spec.sampler.batch, floor=FLOOR, seed=seed)
    values_all = []
    while True:
        weights = ad.ask()
        if not len(weights):
            break
        values = runner.run(weights, seed)
        for w, v in zip(weights, values, strict=True):
            ad.tell(w, v)
            values_all.append(v)
    values_all = np.asarray(values_all).reshape(-1, 2)
    return {n: ratio(values_all[:n]) for n in budgets}


def optuna_prefixes(runner: Runner, sampler: str, seed: int, budgets: list[int]) -> dict[int, np.ndarray]:
    """Optuna's multi-objective TPE / NSGA-II by ask-and-tell over u in [0, 1] (see sampling._optuna)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    algo = (optuna.samplers.TPESampler(seed=seed) if sampler == "optuna_tpe"
            else optuna.samplers.NSGAIISampler(seed=seed, population_size=NSGA2_POPULATION))
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=algo)
    values = []
    for _ in range(max(budgets)):
        trial = study.ask()
        u = [trial.suggest_float(name, 0.0, 1.0) for name in param_names(2)]
        v = runner.run(unit_to_simplex(u, 2, floor=FLOOR)[None, :], seed)[0]
        values.append(v)
        if np.isfinite(v).all():
            study.tell(trial, list(v))
        else:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
    values_all = np.asarray(values)
    return {n: values_all[:n] for n in budgets}


def first_reaching(ratios: dict[int, float], goal: float) -> str:
    hit = [n for n, r in sorted(ratios.items()) if r >= goal]
    return str(hit[0]) if hit else f">{max(ratios)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budgets", nargs="+", type=int, default=[4, 6, 8, 12, 16, 24])
    parser.add_argument("--tolerance", type=float, default=0.02, help="adaptive sampler's tolerance")
    parser.add_argument("--goal", type=float, default=0.99)
    args = parser.parse_args()
    torch.set_num_threads(1)
    budgets = sorted(args.budgets)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"python {platform.python_version()}")
    print(f"command: python benchmarks/sample_efficiency.py {' '.join(sys.argv[1:])}\n")
    for name in args.problems:
        runner = Runner(name, args.tolerance)
        exact = runner.problem.exact_front(20000)
        total = hypervolume(exact.points, reference_point=exact.reference_point, directions=("min", "min"))
        started = time.monotonic()
        rows = {s: [curve(runner, s, seed, budgets) for seed in range(args.seeds)] for s in SAMPLERS}
        spec = runner.spec(0, 2)
        print(f"### {name} (scalarizer `{spec.scalarizer.name}`, {spec.budget.epochs} epochs x "
              f"{getattr(runner.problem, 'steps_per_epoch', '?')} steps, lr {spec.budget.lr[0]}; "
              f"{runner.trained} trials trained in {time.monotonic() - started:.0f} s wall)\n")
        print("HV ratio to the exact front, median [min, max] over seeds; last columns: trials until the "
              f"ratio first reaches {args.goal:.0%} (median over seeds, from the budgets measured)\n")
        head = "| sampler | " + " | ".join(f"N={n}" for n in budgets) + f" | N to {args.goal:.0%} |"
        print(head)
        print("|---" * (len(budgets) + 2) + "|")
        best = [best_n_hv(exact.points[:: max(1, len(exact.points) // 2000)], n, exact.reference_point) / total for n in budgets]
        print("| *best N points on the exact front* | " + " | ".join(f"{b:.4f}" for b in best) + " | |")
        for s in SAMPLERS:
            cells = []
            for n in budgets:
                vals = [r[n] for r in rows[s]]
                cells.append(f"{statistics.median(vals):.4f} [{min(vals):.3f}, {max(vals):.3f}]")
            reach = [first_reaching(r, args.goal) for r in rows[s]]
            numeric = sorted(int(x) if x.isdigit() else 10**9 for x in reach)
            med = numeric[len(numeric) // 2]
            print(f"| {s} | " + " | ".join(cells) + f" | {med if med < 10**9 else '>' + str(max(budgets))} ({', '.join(reach)}) |")
        print()


if __name__ == "__main__":
    main()
