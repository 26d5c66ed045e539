"""Hypervolume ratio reached against the number of trials, per sampler, on problems with exact fronts.

Each trial is one real :func:`paretosweep.trial.train_trial` (no Ray: the same training a sweep
runs, minus scheduling). Problems: ``fonseca`` (2 tasks, concave front), ``cagrad_toy`` (2 tasks,
convex front) and ``three_wells`` (3 tasks, curved front concave in the middle). Samplers:

* ``lattice`` — the Das–Dennis design with at most N points (a new design per N, as a user
  choosing ``budget.n_weights = N`` would get); for 3 tasks the lattice sizes are
  ``C(H + 2, 2)`` = 3, 6, 10, 15, 21, 28, 36, 45, 55, 66, …, which are the default budgets there;
* ``dirichlet``, ``sobol`` — the first N points of the seeded design;
* ``optuna_tpe``, ``optuna_nsga2``, ``optuna_gp`` — Optuna's multi-objective samplers by
  ask-and-tell over the ``m − 1`` uniforms of :mod:`paretosweep.sampling._optuna`, built by
  :func:`~paretosweep.sampling._optuna.make_optuna_sampler` for a budget of ``max(N)`` (as a sweep
  builds them; NSGA-II with population 8 here, since its default of 50 would make every budget
  here its random first generation), read after their first N trials;
* ``adaptive`` — :class:`paretosweep.sampling.AdaptiveSampler` with a budget of ``max(N)``,
  read after each trial count (its rounds do not depend on the budget, except that the last
  round is cut to the budget — which is the same prefix). It may stop early (converged); its
  ratio then stays where it stopped.

The ratio is HV(non-dominated trials) / HV(exact front) at the problem's reference point; the
exact front's HV is that of 20,000 points of it for 2 tasks, and for ``three_wells`` the
continuous front's (``ThreeWells.front_hypervolume``: a 3-D point sample misses a staircase of
order 1/H). No N-point set reaches the continuous front's HV, so the tables also give the best
any N points *on the exact front* can reach (``best N``: exact DP for 2 tasks; for 3 tasks greedy
hypervolume subset selection over 1,830 front points, a lower bound of the best).
Seed r sets ``spec.seed`` (design seed of dirichlet/sobol/Optuna and the trials' initialisation).
"N to X %" is the first *measured* budget at which the ratio reaches X (so its resolution is the
budget grid), median over seeds.

``--cache FILE`` keeps every trained trial's objective values by trial id (which hashes the
problem, training settings, scalarizer, weights, seed and lr), so a later run re-trains nothing it
has seen; delete the file when the training code changes.

Run::

    python benchmarks/sample_efficiency.py                          # all problems, 5 seeds, plot
    python benchmarks/sample_efficiency.py --problems fonseca --seeds 2 --budgets 4 8
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import moocore
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from paretosweep.config import parse_spec
from paretosweep.frontier import hypervolume
from paretosweep.planning import plan_trials
from paretosweep.problems import column, make_problem
from paretosweep.sampling import AdaptiveSampler, param_names, unit_to_simplex
from paretosweep.sampling._optuna import make_optuna_sampler
from paretosweep.simplex import apply_floor, das_dennis_at_most, dirichlet, lattice_size, sobol_simplex
from paretosweep.trial import train_packed, train_trial

#: problem -> (spec fields); the shipped configs' training settings.
PROBLEMS = {
    "fonseca": {"problem": {"name": "fonseca"}, "scalarizer": {"name": "tchebycheff"}, "budget": {"epochs": 8, "lr": 0.02}},
    "cagrad_toy": {"problem": {"name": "cagrad_toy"}, "scalarizer": {"name": "linear"}, "budget": {"epochs": 10, "lr": 0.05}},
    "three_wells": {"problem": {"name": "three_wells"}, "scalarizer": {"name": "tchebycheff"}, "budget": {"epochs": 8, "lr": 0.02}},
}
SAMPLERS = ("lattice", "dirichlet", "sobol", "adaptive", "optuna_tpe", "optuna_nsga2", "optuna_gp")
NSGA2_POPULATION = 8  # Optuna's default (50) would make every budget here its random first generation
FLOOR = 0.01
PACK = 32  # new trials of one design trained together (vectorised)
GOALS = (0.95, 0.99)
DEFAULT_BUDGETS = {2: [4, 6, 8, 12, 16, 24, 32, 48, 64], 3: [lattice_size(3, h) for h in range(1, 11)]}  # 3 … 66
ROOT = Path(__file__).resolve().parent


@dataclass
class Curves:
    """One problem's results: ratios[sampler][seed][N], and what it cost."""

    name: str
    m: int
    budgets: list[int]
    best: dict[int, float]
    best_label: str
    ratios: dict[str, list[dict[int, float]]] = field(default_factory=dict)
    ask_seconds: dict[str, float] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)
    header: str = ""


class Runner:
    """Trains trials, caching by trial id so samplers (and runs) that share a weight vector share the trial."""

    def __init__(self, name: str, tolerance: float, cache: dict[str, list[float]]) -> None:
        self.name = name
        self.base = PROBLEMS[name]
        self.problem = make_problem(name, {})
        self.m = len(self.problem.tasks)
        self.columns = [column(t.name, "loss") for t in self.problem.tasks]
        self.directions = ("min",) * self.m
        self.tolerance = tolerance
        self.cache = cache
        self.trained = 0
        self.seconds = 0.0
        exact = self.problem.exact_front(20000)
        self.front = exact.points
        self.reference = exact.reference_point
        continuous = getattr(self.problem, "front_hypervolume", None)
        self.total = continuous() if continuous else hypervolume(self.front, reference_point=self.reference, directions=self.directions)

    def spec(self, seed: int, n: int):
        return parse_spec(
            {
                **self.base,
                "sampler": {"name": "adaptive", "floor": FLOOR, "tolerance": self.tolerance},
                "budget": {**self.base["budget"], "n_weights": n},
                "seed": seed,
            }
        )

    def run(self, weights: np.ndarray, seed: int) -> np.ndarray:
        """``[k, m]`` objective values of the trials at ``weights`` (seed ``seed``); trains those not cached.

        Several new trials are trained as one vectorised pack (:func:`paretosweep.trial.train_packed`,
        what ``budget.pack_size`` does in a sweep; each member's result equals its lone
        ``train_trial`` — checked in tests/unit/trial/test_packed.py and bit-equal here).
        """
        spec = self.spec(seed, max(len(weights), self.m))
        trials = plan_trials(spec, weights, [])
        new = [t for t in trials if f"{self.name}:{t.trial_id}" not in self.cache]  # ids are unique
        for start in range(0, len(new), PACK):
            chunk = new[start : start + PACK]
            started = time.process_time()
            if len(chunk) == 1:
                outcomes = [train_trial(self.problem, chunk[0], spec, device=torch.device("cpu"))]
            else:
                outcomes = train_packed(self.problem, chunk, spec, device=torch.device("cpu"))
            self.seconds += time.process_time() - started
            self.trained += len(chunk)
            for trial, outcome in zip(chunk, outcomes, strict=True):
                ok = outcome.status == "completed"
                self.cache[f"{self.name}:{trial.trial_id}"] = [float(outcome.metrics[c]) if ok else float("nan") for c in self.columns]
        return np.asarray([self.cache[f"{self.name}:{t.trial_id}"] for t in trials], dtype=np.float64).reshape(-1, self.m)

    def ratio(self, values: np.ndarray) -> float:
        values = values[np.isfinite(values).all(axis=1)]
        if not len(values):
            return 0.0
        return hypervolume(values, reference_point=self.reference, directions=self.directions) / self.total


def curve(runner: Runner, sampler: str, seed: int, budgets: list[int]) -> tuple[dict[int, float], float]:
    """HV ratio of the trials' non-dominated set after N trials, for every N in budgets; seconds spent asking."""
    m, nmax = runner.m, max(budgets)
    if sampler == "lattice":
        return {n: runner.ratio(runner.run(apply_floor(das_dennis_at_most(m, n), FLOOR), seed)) for n in budgets}, 0.0
    if sampler in ("dirichlet", "sobol"):
        design = dirichlet(m, nmax, seed=seed) if sampler == "dirichlet" else sobol_simplex(m, nmax, seed=seed)
        values = runner.run(apply_floor(design, FLOOR), seed)
        return {n: runner.ratio(values[:n]) for n in budgets}, 0.0
    if sampler.startswith("optuna_"):
        values, asking = optuna_trials(runner, sampler, seed, nmax)
    else:
        values, asking = adaptive_trials(runner, seed, nmax)
    return {n: runner.ratio(values[:n]) for n in budgets}, asking


def adaptive_trials(runner: Runner, seed: int, nmax: int) -> tuple[np.ndarray, float]:
    """The adaptive sampler's trials in order (at most nmax), and the seconds its asks took."""
    spec = runner.spec(seed, nmax)
    sampler = AdaptiveSampler(
        m=runner.m,
        scalarizer=spec.scalarizer.name,
        n_weights=nmax,
        tolerance=runner.tolerance,
        batch=spec.sampler.batch,
        floor=FLOOR,
        seed=seed,
    )
    values_all, asking = [], 0.0
    while True:
        started = time.perf_counter()
        weights = sampler.next_round()
        asking += time.perf_counter() - started
        if not len(weights):
            break
        values = runner.run(weights, seed)
        for w, v in zip(weights, values, strict=True):
            sampler.tell(w, v)
            values_all.append(v)
    return np.asarray(values_all).reshape(-1, runner.m), asking


def optuna_trials(runner: Runner, name: str, seed: int, nmax: int) -> tuple[np.ndarray, float]:
    """Optuna's TPE / NSGA-II / GP by ask-and-tell over u in [0, 1]^(m-1) (see sampling._optuna)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    m = runner.m
    algo = make_optuna_sampler(name, seed=seed, n_weights=nmax, m=m, population_size=NSGA2_POPULATION)
    study = optuna.create_study(directions=["minimize"] * m, sampler=algo)
    values, asking = [], 0.0
    for _ in range(nmax):
        started = time.perf_counter()
        trial = study.ask()
        u = [trial.suggest_float(name, 0.0, 1.0) for name in param_names(m)]
        asking += time.perf_counter() - started
        v = runner.run(unit_to_simplex(u, m, floor=FLOOR)[None, :], seed)[0]
        values.append(v)
        started = time.perf_counter()
        if np.isfinite(v).all():
            study.tell(trial, list(v))
        else:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        asking += time.perf_counter() - started
    return np.asarray(values), asking


def best_n_hv(runner: Runner, budgets: list[int]) -> tuple[dict[int, float], str]:
    """Largest HV ratio of N points on the exact front: exact DP (2 tasks) or greedy selection (a lower bound)."""
    if runner.m == 2:
        from tests._fronts import best_k_point_hypervolume_2d

        front = runner.front[:: max(1, len(runner.front) // 2000)]
        return {
            n: float(best_k_point_hypervolume_2d(front, n, runner.reference)) / runner.total for n in budgets
        }, "best N points on the exact front"
    candidates = runner.problem.exact_front(lattice_size(runner.m, 59)).points
    chosen: list[np.ndarray] = []
    out: dict[int, float] = {}
    current = 0.0
    for k in range(1, max(budgets) + 1):
        gains = [moocore.hypervolume(np.vstack([*chosen, c]), ref=runner.reference) for c in candidates]
        best = int(np.argmax(gains))
        current = gains[best]
        chosen.append(candidates[best])
        if k in budgets:
            out[k] = current / runner.total
    return out, "greedy N points on the exact front (lower bound of the best)"


def first_reaching(ratios: dict[int, float], goal: float) -> int | None:
    """The first measured budget whose ratio is >= goal (None: not within the budgets)."""
    return next((n for n, r in sorted(ratios.items()) if r >= goal), None)


def median_reaching(rows: list[dict[int, float]], goal: float) -> int | None:
    """Median over seeds of the first budget reaching ``goal`` (a seed that never does counts as infinite)."""
    hits = sorted(first_reaching(r, goal) or 10**9 for r in rows)
    med = hits[len(hits) // 2]
    return None if med >= 10**9 else med


def trials_to_match(rows: list[dict[int, float]], other: list[dict[int, float]], budgets: list[int]) -> list[tuple[int, int | None]]:
    """For each budget N of ``other``: the first budget at which ``rows`` reaches ``other``'s median ratio at N (medians)."""
    mine = {n: statistics.median(r[n] for r in rows) for n in budgets}
    theirs = {n: statistics.median(r[n] for r in other) for n in budgets}
    return [(n, next((k for k in budgets if mine[k] >= theirs[n]), None)) for n in budgets]


def fmt_n(n: int | None, budgets: list[int]) -> str:
    return str(n) if n is not None else f">{max(budgets)}"


def load_reused(paths: list[Path]) -> dict[str, dict]:
    """Curves of earlier runs (``--json`` files), by problem name; later files add samplers to earlier ones."""
    out: dict[str, dict] = {}
    for path in paths:
        for c in json.loads(path.read_text()):
            if c["name"] in out:
                out[c["name"]]["ratios"].update(c["ratios"])
                out[c["name"]]["ask_seconds"].update(c["ask_seconds"])
            else:
                out[c["name"]] = c
    return out


def measure(
    name: str,
    seeds: int,
    budgets_arg: list[int] | None,
    tolerance: float,
    cache: dict[str, list[float]],
    samplers: list[str],
    reused: dict | None = None,
) -> Curves:
    """Every sampler's curves on one problem; those in ``reused`` (same budgets and seeds) are taken from it."""
    runner = Runner(name, tolerance, cache)
    budgets = sorted(b for b in (budgets_arg or DEFAULT_BUDGETS[runner.m]) if b >= runner.m)
    started = time.monotonic()
    best, label = best_n_hv(runner, budgets)
    out = Curves(name, runner.m, budgets, best, label)
    for sampler in samplers:
        if reused is not None and sampler in reused["ratios"]:
            rows = [{int(n): v for n, v in r.items()} for r in reused["ratios"][sampler]]
            if reused["budgets"] != budgets:
                raise SystemExit(f"--reuse: {name}/{sampler} was measured at budgets {reused['budgets']}, not {budgets}.")
            out.ratios[sampler] = rows
            out.ask_seconds[sampler] = reused["ask_seconds"][sampler]
            out.reused.append(sampler)
            continue
        rows, asking = [], 0.0
        for seed in range(seeds):
            ratios, seconds = curve(runner, sampler, seed, budgets)
            rows.append(ratios)
            asking += seconds
        out.ratios[sampler] = rows
        out.ask_seconds[sampler] = asking
    spec = runner.spec(0, runner.m)
    out.header = (
        f"### {name} ({runner.m} tasks; scalarizer `{spec.scalarizer.name}`, {spec.budget.epochs} epochs x "
        f"{getattr(runner.problem, 'steps_per_epoch', '?')} steps, lr {spec.budget.lr[0]}; {runner.trained} trials "
        f"trained ({runner.seconds:.0f} s CPU), {time.monotonic() - started:.0f} s wall; exact HV {runner.total:.6g} "
        f"at {runner.reference})"
    )
    return out


def report(curves: Curves) -> str:
    """The markdown tables and the summary lines of one problem."""
    budgets = curves.budgets
    lines = [
        curves.header,
        "",
        "HV ratio to the exact front, median [min, max] over seeds; last columns: trials until the ratio first "
        "reaches 95 % / 99 % (median over seeds, from the budgets measured; per seed in brackets), and the "
        "samplers' own time (ask + tell, all seeds)",
        "",
    ]
    lines.append("| sampler | " + " | ".join(f"N={n}" for n in budgets) + " | N to 95 % | N to 99 % | sampler s |")
    lines.append("|---" * (len(budgets) + 4) + "|")
    lines.append(f"| *{curves.best_label}* | " + " | ".join(f"{curves.best[n]:.4f}" for n in budgets) + " | | | |")
    reach: dict[str, dict[float, int | None]] = {}
    for sampler, rows in curves.ratios.items():
        cells = []
        for n in budgets:
            vals = [r[n] for r in rows]
            cells.append(f"{statistics.median(vals):.4f} [{min(vals):.3f}, {max(vals):.3f}]")
        reach[sampler] = {g: median_reaching(rows, g) for g in GOALS}
        per_seed = {g: ", ".join(fmt_n(first_reaching(r, g), budgets) for r in rows) for g in GOALS}
        goal_cells = [f"{fmt_n(reach[sampler][g], budgets)} ({per_seed[g]})" for g in GOALS]
        mark = f" (earlier run, {len(rows)} seeds)" if sampler in curves.reused else ""
        lines.append(
            f"| {sampler}{mark} | " + " | ".join(cells) + " | " + " | ".join(goal_cells) + f" | {curves.ask_seconds[sampler]:.1f} |"
        )
    lines.append("")
    if "adaptive" in reach and "lattice" in reach:
        for g in GOALS:
            a, lat = reach["adaptive"][g], reach["lattice"][g]
            if a is not None and lat is not None:
                verdict = f"adaptive/lattice = {a}/{lat} = {a / lat:.2f} (goal <= 0.25: {'met' if a / lat <= 0.25 else 'not met'})"
            else:
                verdict = f"adaptive {fmt_n(a, budgets)}, lattice {fmt_n(lat, budgets)}: ratio not measurable within the budgets"
            others = [f"{s} {fmt_n(reach[s][g], budgets)}" for s in reach if s.startswith("optuna_")]
            lines.append(f"- **{g:.0%}**: {verdict}; Optuna: {', '.join(others) or 'not run'}.")
        for other in [s for s in curves.ratios if s == "lattice" or s.startswith("optuna_")]:
            pairs = trials_to_match(curves.ratios["adaptive"], curves.ratios[other], budgets)
            text = ", ".join(f"{n} → {fmt_n(a, budgets)}" for n, a in pairs)
            lines.append(f"- adaptive trials to match {other}'s median HV ratio at N ({other} N → adaptive N): {text}.")
        lines.append("")
    return "\n".join(lines)


def plot(all_curves: list[Curves], path: Path) -> None:
    """HV ratio against trials: one panel per problem, one line per sampler (median, min–max band)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(all_curves), figsize=(5.2 * len(all_curves), 4.4), squeeze=False)
    colours = dict(zip(SAMPLERS, plt.get_cmap("tab10").colors, strict=False))
    for ax, c in zip(axes[0], all_curves, strict=True):
        x = np.asarray(c.budgets)
        ax.plot(x, [c.best[n] for n in c.budgets], "k--", lw=1.2, label="best N points on the exact front (3 tasks: greedy)")
        for sampler, rows in c.ratios.items():
            values = np.array([[r[n] for n in c.budgets] for r in rows])
            style = "s--" if sampler.startswith("optuna_") else "o-"
            width = 2.4 if sampler == "adaptive" else 1.4
            ax.fill_between(x, values.min(axis=0), values.max(axis=0), color=colours[sampler], alpha=0.15, lw=0)
            ax.plot(x, np.median(values, axis=0), style, ms=3, lw=width, color=colours[sampler], label=sampler)
        for g in GOALS:
            ax.axhline(g, color="grey", lw=0.7, ls=":")
        low = min(min(min(r.values()) for r in rows) for rows in c.ratios.values())
        ax.set_ylim(max(0.0, min(low, 0.9) - 0.02), 1.005)
        ax.set_xscale("log", base=2)
        ax.set_xticks(x, [str(n) for n in c.budgets], fontsize=8)
        ax.minorticks_off()
        ax.set_xlabel("trials N (log scale)")
        ax.set_title(f"{c.name} ({c.m} tasks)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("HV ratio to the exact front")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.suptitle("Sample efficiency: HV ratio against trials, median over seeds (band: min–max); dotted: 95 % and 99 %", fontsize=11)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    parser.add_argument("--samplers", nargs="+", default=list(SAMPLERS), choices=list(SAMPLERS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--budgets",
        nargs="+",
        type=int,
        default=None,
        help="trial counts to read (default: 4 … 64 for 2 tasks, the lattice sizes 3 … 66 for 3)",
    )
    parser.add_argument("--tolerance", type=float, default=0.02, help="adaptive sampler's tolerance")
    parser.add_argument("--plot", default=str(ROOT / "sample_efficiency.png"), help="PNG to write ('' for none)")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw curves here")
    parser.add_argument("--cache", type=Path, default=None, help="JSON cache of trained trials (by trial id)")
    parser.add_argument("--reuse", type=Path, nargs="+", default=[], help="--json files of earlier runs to take some samplers' curves from")
    parser.add_argument(
        "--reuse-samplers",
        nargs="+",
        default=[],
        choices=list(SAMPLERS),
        help="the samplers whose curves come from --reuse (e.g. optuna_gp, whose asks take minutes)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    cache: dict[str, list[float]] = json.loads(args.cache.read_text()) if args.cache and args.cache.exists() else {}
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"python {platform.python_version()}; started {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    print(f"command: python benchmarks/sample_efficiency.py {' '.join(sys.argv[1:])}\n")
    reused = load_reused(args.reuse)
    all_curves = []
    for name in args.problems:
        earlier = reused.get(name)
        keep = {**earlier, "ratios": {s: r for s, r in earlier["ratios"].items() if s in args.reuse_samplers}} if earlier else None
        curves = measure(name, args.seeds, args.budgets, args.tolerance, cache, args.samplers, keep)
        all_curves.append(curves)
        print(report(curves), flush=True)
        if args.cache:
            args.cache.write_text(json.dumps(cache))
        if args.json:  # after every problem, so a cut-short run keeps what it measured
            args.json.write_text(
                json.dumps(
                    [
                        {**c.__dict__, "ratios": {s: [{str(n): v for n, v in r.items()} for r in rows] for s, rows in c.ratios.items()}}
                        for c in all_curves
                    ]
                )
            )
    if args.plot:
        plot(all_curves, Path(args.plot))
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
