"""Time of one training step of every method, relative to linear scalarization.

A step is ``zero_grad -> forward -> method.backward -> SGD step`` on a shared-bottom MLP
(``64 -> 256 -> 256``, ReLU, one linear head per task, MSE losses, batch 256), on CPU.
Baselines: ``linear`` (fixed weights 1/m, one backward: the swept case), ``naive loop``
(per-task gradients of the shared parameters by ``m`` separate ``autograd.grad`` calls, the
way most reference implementations do it; the bar gradient methods should beat), ``vmap
jacobian`` (the same Jacobian from one ``is_grads_batched`` backward, which `task_jacobian`
uses off CPU) and ``loop floor`` (a `GramianMethod` with weights 1/m: what every Gramian
method does around its weights, i.e. `task_gradients` of shared and head parameters, each pass
started at the task's own loss, the Gramian, ``.grad`` written; a method's cost above it is its
own work). Row ``mgda_ub`` is MGDA with ``upper_bound=True`` (MGDA-UB): its representation
``Z`` (the trunk's output) is captured by a forward hook, as the trainer captures
``problem.shared_representation(model)``, and its per-task passes stop at ``Z``. Row
``famo_noclip`` is FAMO with ``max_norm=0`` (TorchJD's FAMO, no clipping of the shared gradient).
Every registered method has a row (UPGrad, DualProj, Aligned-MTL, FAMO, STCH and unitary
scalarization included); ``unitary`` runs at its default ``weight_decay``.

Rounds interleave all methods so that load on a shared machine hits them alike; the table
reports, per method and task count, the median over rounds of the mean step time, divided by
linear's. By default the clock is the process's CPU time (``time.process_time``), which other
jobs on a shared machine do not inflate (they still compete for caches); ``--clock wall``
measures wall time. ``--optimizer sgd`` (default) steps every contender with plain SGD, so the
table isolates the backward; ``--optimizer trainer`` steps each as
:func:`paretosweep.trial.train_trial` does with the spec's default ``budget.optimizer: adam``:
Adam, except for a method with ``replaces_optimizer`` (MTAdam, itself an Adam variant), which
the trainer steps with plain SGD. Run::

    python benchmarks/method_step.py                 # markdown table on stdout
    python benchmarks/method_step.py --threads 2 --rounds 9
    python benchmarks/method_step.py --optimizer trainer --tasks 3
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import time
from collections.abc import Callable

import torch
from torch import Tensor, nn

from paretosweep import methods
from paretosweep.methods._jacobian import accumulate_grad, task_jacobian, weighted_backward
from paretosweep.methods._representation import RepresentationTap

MAIN_TASK = {"gradsim": {"main_task": 0}, "metabalance": {"main_task": 0}}
LINEAR, NAIVE, VMAP, FLOOR = "linear", "naive loop", "vmap jacobian", "loop floor"
BASELINES = (LINEAR, NAIVE, VMAP, FLOOR)
#: Rows for a registered method with other options: row name -> (method name, options).
VARIANTS: dict[str, tuple[str, dict[str, object]]] = {
    "mgda_ub": ("mgda", {"upper_bound": True}),
    "famo_noclip": ("famo", {"max_norm": 0.0}),
}


class SharedBottom(nn.Module):
    def __init__(self, n_tasks: int, d_in: int = 64, hidden: int = 256) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.heads = nn.ModuleList(nn.Linear(hidden, 1) for _ in range(n_tasks))

    def losses(self, x: Tensor, y: Tensor) -> Tensor:
        z = self.trunk(x)
        return torch.stack([((h(z).squeeze(-1) - y[:, i]) ** 2).mean() for i, h in enumerate(self.heads)])


Backward = Callable[[Tensor, list[nn.Parameter], list[nn.Parameter]], None]


def linear_backward(losses: Tensor, shared: list[nn.Parameter], heads: list[nn.Parameter]) -> None:
    (losses.mean()).backward()


def naive_backward(losses: Tensor, shared: list[nn.Parameter], heads: list[nn.Parameter]) -> None:
    rows = [torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, shared, retain_graph=True)]) for loss in losses]
    weights = torch.full_like(losses, 1.0 / len(rows)).detach()
    accumulate_grad(shared, weights @ torch.stack(rows))
    weighted_backward(losses, weights, heads)


def vmap_backward(losses: Tensor, shared: list[nn.Parameter], heads: list[nn.Parameter]) -> None:
    jac = task_jacobian(losses, shared, retain_graph=True, batched=True)
    weights = torch.full_like(losses, 1.0 / len(losses)).detach()
    accumulate_grad(shared, weights @ jac)
    weighted_backward(losses, weights, heads)


class LoopFloor(methods.GramianMethod):
    """A Gramian method whose weights are 1/m: the cost every Gramian method has around its own."""

    def weights(self, gramian: Tensor, losses: Tensor) -> Tensor:
        del gramian
        return torch.full_like(losses, 1.0 / len(losses))


def contenders(n_tasks: int) -> dict[str, Backward]:
    out: dict[str, Backward] = {
        LINEAR: linear_backward,
        NAIVE: naive_backward,
        VMAP: vmap_backward,
        FLOOR: method_step(LoopFloor(n_tasks=n_tasks)),
    }
    for name in methods.available_methods():
        method = methods.create(name, n_tasks=n_tasks, **MAIN_TASK.get(name, {}))
        out[name] = method_step(method)
    for row, (name, options) in VARIANTS.items():
        out[row] = method_step(methods.create(name, n_tasks=n_tasks, **options))
    return out


def method_step(method: methods.Method) -> Backward:
    def step(losses: Tensor, shared: list[nn.Parameter], heads: list[nn.Parameter]) -> None:
        method.backward(losses, shared, task_specific=heads)

    step.method = method  # type: ignore[attr-defined]  # make_optimizer reads replaces_optimizer
    return step


CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}


def make_optimizer(step: Backward, model: SharedBottom, optimizer: str) -> torch.optim.Optimizer:
    """Plain SGD (``sgd``), or what the trainer uses with ``budget.optimizer: adam`` (``trainer``)."""
    replaces = getattr(getattr(step, "method", None), "replaces_optimizer", False)
    if optimizer == "sgd" or replaces:
        return torch.optim.SGD(model.parameters(), lr=1e-4)
    return torch.optim.Adam(model.parameters(), lr=1e-4)


def time_steps(step: Backward, model: SharedBottom, x: Tensor, y: Tensor, n: int, clock: str = "cpu", optimizer: str = "sgd") -> float:
    """Mean time of ``n`` training steps (zero_grad, forward, backward, optimizer step)."""
    shared, heads = list(model.trunk.parameters()), list(model.heads.parameters())
    opt = make_optimizer(step, model, optimizer)
    method = getattr(step, "method", None)
    with contextlib.ExitStack() as cleanup:
        if method is not None and method.needs_representation:  # MGDA-UB: Z as the trainer captures it
            tap = cleanup.enter_context(RepresentationTap(model.trunk))

            def step(losses: Tensor, shared: list[nn.Parameter], heads: list[nn.Parameter]) -> None:
                method.backward(losses, shared, task_specific=heads, representation=tap.take())

        now = CLOCKS[clock]
        start = now()
        for _ in range(n):
            opt.zero_grad(set_to_none=True)
            step(model.losses(x, y), shared, heads)
            opt.step()
        return (now() - start) / n


def measure(n_tasks: int, rounds: int, steps: int, clock: str = "cpu", optimizer: str = "sgd") -> dict[str, float]:
    """Median over rounds of the mean step time (seconds) of every contender."""
    torch.manual_seed(0)
    model = SharedBottom(n_tasks)
    x, y = torch.randn(256, 64), torch.randn(256, n_tasks)
    steps_by_name = contenders(n_tasks)
    for step in steps_by_name.values():  # warm-up (vmap set-up, allocator)
        time_steps(step, model, x, y, 3, optimizer=optimizer)
    samples: dict[str, list[float]] = {name: [] for name in steps_by_name}
    for _ in range(rounds):
        for name, step in steps_by_name.items():
            samples[name].append(time_steps(step, model, x, y, steps, clock, optimizer))
    return {name: statistics.median(values) for name, values in samples.items()}


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            lines = [line for line in f if line.startswith("model name")]
        return lines[0].split(":", 1)[1].strip()
    except (OSError, IndexError):
        return platform.processor() or "unknown CPU"


def table(results: dict[int, dict[str, float]]) -> str:
    tasks = sorted(results)
    kind = {
        n: "gradient" if methods.create(n, n_tasks=2, **MAIN_TASK.get(n, {})).needs_shared_grads else "loss-only"
        for n in methods.available_methods()
    }
    kind.update({name: "baseline" for name in BASELINES})
    for row, (name, options) in VARIANTS.items():
        variant = methods.create(name, n_tasks=2, **options)
        kind[row] = "gradient (Z)" if variant.needs_representation else kind[name]
    header = "| method | kind | " + " | ".join(f"m={m}" for m in tasks) + " |"
    lines = [header, "|" + "---|" * (2 + len(tasks))]
    names = [*BASELINES, *sorted([*methods.available_methods(), *VARIANTS], key=lambda n: (kind[n], n))]
    for name in names:
        cells = [f"{results[m][name] / results[m][LINEAR]:.2f}x" for m in tasks]
        lines.append(f"| {name} | {kind[name]} | " + " | ".join(cells) + " |")
    absolute = " | ".join(f"{results[m][LINEAR] * 1e3:.2f}" for m in tasks)
    lines.append(f"| *linear step, ms* | | {absolute} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--tasks", type=int, nargs="+", default=[2, 3, 10])
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu")
    parser.add_argument("--optimizer", choices=["sgd", "trainer"], default="sgd")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = {m: measure(m, args.rounds, args.steps, args.clock, args.optimizer) for m in args.tasks}
    print(
        f"CPU: {cpu_model()}; torch {torch.__version__}; threads {args.threads}; "
        f"clock {args.clock}; optimizer {args.optimizer}; rounds {args.rounds} x {args.steps} steps\n"
    )
    print(table(results))


if __name__ == "__main__":
    main()
