"""Function trainables: the user's own training loop, ``train(ctx)``, named by import path or passed in.

``problem: {trainable: "mymodule:train", config: {...}}`` (or ``paretosweep.run(spec,
trainable=train)``) runs ``train(ctx)`` for every trial, with a :class:`paretosweep.TrialContext`.
The spec's ``tasks:`` block declares the tasks, since there is no Problem object to ask:
:func:`trainable_problem` turns it into the description planning needs (task names, metrics,
directions, loss lower bounds).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from paretosweep.config import SweepSpec
from paretosweep.errors import ConfigError
from paretosweep.imports import import_object
from paretosweep.problems import Metric, TaskSpec

Trainable = Callable[[Any], Any]


def resolve_trainable(path: str) -> Trainable:
    """The function ``problem.trainable`` names, checked to take one argument (the trial context).

    Raises:
        ConfigError: the path does not import, is not a function, or cannot be called as ``train(ctx)``.
    """
    found = import_object(path, field="problem.trainable", example="mymodule:train")
    check_trainable(found, f"`{path}` (`problem.trainable`)")
    return found


def check_trainable(function: Any, name: str) -> None:
    """Refuse what cannot be called as ``train(ctx)``; ``name`` says where it came from in the messages.

    Raises:
        ConfigError: not callable, or its signature does not accept exactly one positional argument.
    """
    if not callable(function):
        raise ConfigError(f"trainable {name} is a {type(function).__name__}, not a function: give `def train(ctx): ...`.")
    try:
        inspect.signature(function).bind(object())
    except TypeError as error:
        raise ConfigError(
            f"trainable {name} cannot be called as `train(ctx)` ({error}): give it exactly one parameter, "
            "the trial context (`def train(ctx): ...`)."
        ) from None
    except ValueError:  # builtins without a signature: let the call decide
        pass


def spec_with_trainable(spec: Any, function: Trainable) -> SweepSpec:
    """``spec`` (a spec, a YAML path or a mapping) trained by ``function``: its ``problem`` becomes
    ``{trainable: <function's name>, config: ...}`` (a spec may leave ``problem`` out then).

    Raises:
        ConfigError: ``function`` cannot be called as ``train(ctx)``, or the spec names a problem (``problem.name``).
    """
    from pathlib import Path

    from paretosweep.config import parse_spec, read_spec_data

    name = trainable_name(function)
    check_trainable(function, f"`{name}`")
    if isinstance(spec, SweepSpec):
        data: Any = spec.model_dump(mode="json")
        source = "(spec)"
    elif isinstance(spec, (str, Path)):
        data, source = read_spec_data(spec), f"`{spec}`"
    else:
        data, source = spec, "(dict)"
    if not isinstance(data, dict):
        return parse_spec(data, source=source)  # the usual message for a spec that is not a mapping
    problem = dict(data.get("problem") or {})
    if problem.get("name") is not None:
        raise ConfigError(
            f"{source} names `problem.name: {problem['name']}`, and a trainable was passed too: a sweep trains either a "
            "problem or your function. Drop `problem.name` (keep `problem.config` for the function), or drop `trainable=`."
        )
    problem.pop("name", None)
    problem.pop("params", None)
    problem["trainable"] = name
    return parse_spec({**data, "problem": problem}, source=source)


def trainable_name(function: Any) -> str:
    """``module:qualname`` of a function passed in Python (for messages and the stored spec)."""
    return f"{getattr(function, '__module__', '?')}:{getattr(function, '__qualname__', repr(function))}"


@dataclass(frozen=True)
class TrainableProblem:
    """What planning knows of a function trainable: its name and the tasks the spec declares.

    It has no data and no model: checks that need a model (shared parameters, the shared
    representation) happen when a trial calls ``ctx.backward``.
    """

    name: str
    tasks: tuple[TaskSpec, ...]
    selection_split: str = "validation"
    splits_note: str = (
        "one split: a function trainable's reported metrics both choose the frontier and report it "
        "(report your test metrics separately, or hold a validation split out in the trainable)"
    )


def trainable_problem(spec: SweepSpec) -> TrainableProblem:
    """The tasks of ``spec.tasks`` as a problem description (objective metric first, then ``also``)."""
    if spec.problem.trainable is None:
        raise ConfigError("`problem.trainable` is not set.")
    tasks = tuple(
        TaskSpec(
            name,
            (Metric(objective.metric, objective.direction or "min"), *(Metric(m, d) for m, d in objective.also.items())),
            objective.loss_lower_bound,
        )
        for name, objective in spec.tasks.items()
    )
    return TrainableProblem(f"trainable {spec.problem.trainable}", tasks)
