"""Check the spec's ``methods`` block against the method registry and the problem.

Runs at plan time, so an unknown method, a bad parameter, a main task the problem does not have,
a gradient method on a problem without shared parameters, or a method that needs the shared
representation (MGDA-UB) on a problem without ``shared_representation`` fails before any trial
starts; so does ``dropout > 0`` on such a problem (the dropout hook needs that module).
``early_stopping`` monitors the ``<task>_loss`` columns, which every problem declares (the problem
loader refuses a task without a ``loss`` metric).
"""

from __future__ import annotations

from typing import Any

from paretosweep.config import SweepSpec
from paretosweep.errors import ConfigError, unknown_name
from paretosweep.problems import Problem, has_shared_representation
from paretosweep.trainables import TrainableProblem

#: Options that name a task; the spec gives the task's name, methods take its index.
TASK_OPTIONS = ("main_task",)


def _task_index(value: Any, field: str, task_names: list[str]) -> int:
    if isinstance(value, str):
        if value not in task_names:
            raise unknown_name(f"task in `{field}`", value, task_names)
        return task_names.index(value)
    raise ConfigError(f"`{field}` should name a task, one of {task_names}; found {value!r}.")


def resolve_methods(spec: SweepSpec, problem: Problem | TrainableProblem) -> list[tuple[str, dict[str, Any]]]:
    """Validate every ``methods[i]`` entry; return ``(name, params)`` as trials receive them.

    Task-naming options (``main_task``) become task indices. Each entry is built once with
    :func:`paretosweep.methods.create`, which checks names, types and ranges.
    """
    if not spec.methods:
        return []
    from paretosweep.methods import create

    task_names = [t.name for t in problem.tasks]
    has_shared: bool | None = None  # asked of the problem once, when a method first needs it
    resolved = []
    for i, entry in enumerate(spec.methods):
        field = f"methods[{i}]"
        params = dict(entry.params)
        for option in TASK_OPTIONS:
            if option in params:
                params[option] = _task_index(params[option], f"{field}.{option}", task_names)
        method = create(entry.name, n_tasks=len(task_names), field=field, **params)
        if isinstance(problem, TrainableProblem):
            pass  # a function trainable: ctx.backward checks shared parameters and the representation
        elif method.needs_shared_grads:
            if has_shared is None:
                has_shared = bool(list(problem.shared_parameters(problem.make_model(seed=spec.seed))))
            if not has_shared:
                raise ConfigError(
                    f"`{field}`: method `{entry.name}` needs per-task gradients of the shared parameters, "
                    f"but problem `{problem.name}` returns none from `shared_parameters(model)`. "
                    "Make the problem return its shared trunk's parameters, or use a loss-only method."
                )
        if hasattr(problem, "make_model") and method.needs_representation and not has_shared_representation(problem):
            raise ConfigError(
                f"`{field}.upper_bound`: method `{entry.name}` with upper_bound: true (MGDA-UB) differentiates "
                f"w.r.t. the shared representation, but problem `{problem.name}` has no "
                "`shared_representation(model)` (it has no shared trunk whose output the task heads read). "
                f"Set `{field}.upper_bound: false` (MGDA on the shared parameters), or give the problem a "
                "`shared_representation(model)` method returning that module."
            )
        if not isinstance(problem, TrainableProblem):  # a function trainable applies them itself (ctx.method_options)
            _check_regularisation(method, field, entry.name, problem)
        resolved.append((entry.name, params))
    return resolved


def _check_regularisation(method: Any, field: str, name: str, problem: Problem) -> None:
    """``dropout`` needs ``shared_representation``."""
    from paretosweep.methods import regularisation_of

    reg = regularisation_of(method.hparams())
    if reg.dropout > 0 and not has_shared_representation(problem):
        raise ConfigError(
            f"`{field}.dropout`: method `{name}` applies dropout to the shared representation, but problem "
            f"`{problem.name}` has no `shared_representation(model)`. Give the problem a method "
            "`shared_representation(self, model) -> nn.Module` returning the trunk whose output the task heads "
            f"read (called once per batch as `module(x)`), or set `{field}.dropout: 0`."
        )
