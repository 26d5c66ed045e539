"""Problem registry: names (as used in YAML and on the CLI) -> problem factories.

A factory is a callable ``(*, **params) -> Problem`` whose options are keyword-only and typed.
Built-ins register themselves with ``@register_problem("name")``; a user's problem is named
by import path, ``"mypkg.tasks:make_problem"``. Params are bound against the factory's
signature before it runs, so a typo fails with the field name instead of a ``TypeError``
deep in a worker, and no param is ever dropped silently.
"""

from __future__ import annotations

import functools
import inspect
import json
import traceback
import types
import typing
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar, Union

from paretosweep.errors import ConfigError, ParetoSweepError, did_you_mean, unknown_name
from paretosweep.imports import import_object
from paretosweep.problems._protocol import Problem, TaskSpec

ProblemFactory = Callable[..., Problem]
F = TypeVar("F", bound=Callable[..., Any])

_REGISTRY: dict[str, ProblemFactory] = {}

#: Members a problem must have (the Problem protocol); the last five must be callable.
_MEMBERS = ("name", "tasks", "make_model", "train_batches", "task_losses", "evaluate", "shared_parameters")


def register_problem(name: str) -> Callable[[F], F]:
    """Decorator registering a problem factory under ``name`` (lowercase, as used in specs).

    Re-registering a name replaces the previous factory with a warning.

    Example (registering changes the process-wide registry, so it is not run as a doctest)::

        @register_problem("my_toy")
        def make_my_toy(*, n_dim: int = 2) -> MyToy:
            '''My toy: one line that `paretosweep problems` prints.'''
            return MyToy(n_dim=n_dim)
    """
    if not name or name != name.lower() or ":" in name or not name.replace("_", "").isalnum():
        raise ValueError(f"Problem names should be lowercase identifiers like `fonseca`; found `{name}`.")

    def decorator(factory: F) -> F:
        if not callable(factory):
            raise TypeError(f"`@register_problem({name!r})` should decorate a callable; found {factory!r}.")
        if name in _REGISTRY and _REGISTRY[name] is not factory:
            warnings.warn(f"Problem `{name}` was already registered; replacing it.", stacklevel=2)
        _REGISTRY[name] = factory
        return factory

    return decorator


def available_problems() -> dict[str, str]:
    """Registered problem names -> one-line description (first line of the factory docstring)."""
    out: dict[str, str] = {}
    for name in sorted(_REGISTRY):
        doc = inspect.getdoc(_REGISTRY[name]) or ""
        out[name] = doc.strip().splitlines()[0] if doc.strip() else ""
    return out


def problem_factory(name_or_path: str) -> ProblemFactory:
    """The factory for a built-in name or a ``"package.module:function"`` import path.

    Raises:
        UnknownNameError: an unknown built-in name (with a close match and the list).
        ConfigError: an import path whose module cannot be imported or lacks the attribute.
    """
    if ":" not in name_or_path:
        if name_or_path not in _REGISTRY:
            raise unknown_name("problem", name_or_path, list(_REGISTRY))
        return _REGISTRY[name_or_path]
    factory = import_object(name_or_path, field="problem.name", example="mypkg.tasks:make_problem")
    if not callable(factory):
        raise ConfigError(f"`problem.name` is `{name_or_path}`, which is a {type(factory).__name__}, not a callable.")
    return typing.cast(ProblemFactory, factory)


def make_problem(name_or_path: str, params: Mapping[str, Any] | None = None) -> Problem:
    """Build a problem from its name (or import path) and its keyword params.

    Args:
        name_or_path: a built-in name (see :func:`available_problems`) or ``"pkg.module:function"``.
        params: keyword arguments for the factory (the spec's ``problem.params``).

    Returns:
        An object following the :class:`~paretosweep.problems.Problem` protocol.

    Raises:
        UnknownNameError: unknown built-in name.
        ConfigError: bad import path, a param the factory does not accept, a param of the wrong
            type, a missing required param, a factory that raises (the message names its
            exception, message, file and line; the cause keeps the traceback), or a factory
            result that is not a Problem.
    """
    factory = problem_factory(name_or_path)
    kwargs = dict(params or {})
    _bind_params(factory, kwargs, name_or_path)
    try:
        problem = factory(**kwargs)
    except ParetoSweepError:  # the factory's own clear message (the built-ins check their params so)
        raise
    except Exception as error:
        raise ConfigError(
            f"problem factory `{name_or_path}` (from `problem.name`) raised {type(error).__name__}: {error} "
            f"(at {_where_raised(error)}). Fix the factory or its `problem.params`; `paretosweep --debug run ...` "
            "prints the full traceback."
        ) from error
    _check_problem(problem, name_or_path)
    return problem


def _where_raised(error: BaseException) -> str:
    """``file.py:12`` of the frame that raised ``error`` (the innermost one of its traceback)."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "unknown location"
    frame = frames[-1]
    return f"{frame.filename}:{frame.lineno}"


@functools.lru_cache(maxsize=4)
def make_problem_cached(name_or_path: str, params_json: str) -> Problem:
    """:func:`make_problem` memoised per process, so a reused Ray worker builds data once.

    Args:
        name_or_path: as for :func:`make_problem`.
        params_json: the params as a JSON object; use :func:`canonical_params_json` (or
            ``json.dumps(params, sort_keys=True)``) so equal params hit the same entry.

    Notes:
        Every trial of the process then shares one problem object: problems must not keep
        per-trial state (the built-ins keep none).
    """
    params = json.loads(params_json)
    if not isinstance(params, dict):
        raise ConfigError(f"`problem.params` should be a mapping; found {type(params).__name__}.")
    return make_problem(name_or_path, params)


def canonical_params_json(params: Mapping[str, Any] | None) -> str:
    """Canonical JSON of ``params`` (sorted keys, compact) for :func:`make_problem_cached`."""
    return json.dumps(dict(params or {}), sort_keys=True, separators=(",", ":"))


# --- internals ---------------------------------------------------------------------------------


def _bind_params(factory: ProblemFactory, kwargs: dict[str, Any], name: str) -> None:
    """Check ``kwargs`` against the factory's signature and simple type hints (never drops any)."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    accepted = [
        p.name for p in signature.parameters.values() if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())
    listing = ", ".join(accepted) if accepted else "(none)"
    if not takes_any:
        for key in kwargs:
            if key not in accepted:
                raise ConfigError(
                    f"`problem.params.{key}` is not a parameter of problem `{name}`.{did_you_mean(key, accepted)} Accepted: {listing}."
                )
    for p in signature.parameters.values():
        named = p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        if named and p.default is inspect.Parameter.empty and p.name not in kwargs:
            raise ConfigError(
                f"`problem.params.{p.name}` is required by problem `{name}` and missing. "
                f"Add it under `problem.params`. Accepted: {listing}."
            )
    try:
        hints = typing.get_type_hints(factory)
    except Exception:  # unresolvable annotations: skip the type check, the factory still validates
        return
    for key, value in kwargs.items():
        hint = hints.get(key)
        if hint is not None and not _matches(value, hint):
            raise ConfigError(
                f"`problem.params.{key}` of problem `{name}` should be {_describe(hint)}. Found `{value!r}` ({type(value).__name__})."
            )


def _matches(value: Any, hint: Any) -> bool:
    """Whether ``value`` fits a simple type hint; unknown hints accept anything."""
    if hint is Any:
        return True
    if hint is None or hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    if origin is Literal:
        return value in typing.get_args(hint)
    if origin is Union or origin is types.UnionType:
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (list, tuple, typing.Sequence) or hint in (list, tuple):
        return isinstance(value, (list, tuple))
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    return True


def _describe(hint: Any) -> str:
    """Readable form of a type hint for error messages."""
    if hint is type(None):
        return "null"
    origin = typing.get_origin(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    if origin is Union or origin is types.UnionType:
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}.get(hint, str(hint))


def _check_problem(problem: Any, name: str) -> None:
    """Raise a ConfigError naming what is missing if ``problem`` does not follow the protocol."""
    missing = [m for m in _MEMBERS if not hasattr(problem, m)]
    not_callable = [m for m in _MEMBERS[2:] if hasattr(problem, m) and not callable(getattr(problem, m))]
    where = f"Problem factory `{name}` (from `problem.name`) returned a {type(problem).__name__}"
    if missing or not_callable:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(f"`{m}`" for m in missing))
        if not_callable:
            parts.append("not callable: " + ", ".join(f"`{m}`" for m in not_callable))
        raise ConfigError(
            f"{where} that does not follow the Problem protocol ({'; '.join(parts)}). "
            f"Return an object with {', '.join(_MEMBERS)} (see paretosweep.problems.Problem)."
        )
    tasks = problem.tasks
    if not isinstance(tasks, (tuple, list)) or len(tasks) < 2 or not all(isinstance(t, TaskSpec) for t in tasks):
        raise ConfigError(f"{where} whose `tasks` should be a tuple of at least two TaskSpec; found {tasks!r}.")
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where} with duplicate task names {names}; task names should be unique.")
    for task in tasks:
        if task.metric("loss") is None:
            raise ConfigError(f"{where} whose task `{task.name}` has no `loss` metric; every task needs one.")
    if not isinstance(problem, Problem):  # runtime_checkable: members only, kept as a last guard
        raise ConfigError(f"{where} that does not follow the Problem protocol.")
