"""Name -> Method class registry: `register`, `create`, `available_methods`.

Names are the keys used in YAML (``methods: [{name: pcgrad}, {name: gradnorm, alpha: 1.5}]``)
and on the CLI. Options are bound against the keyword-only constructor signature; nothing is
dropped silently.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from paretosweep.errors import ConfigError, UnknownNameError, did_you_mean, unknown_name

from ._base import Method
from ._params import MethodParamError

M = TypeVar("M", bound=type[Method])

_REGISTRY: dict[str, type[Method]] = {}


def register(name: str) -> Callable[[M], M]:
    """Class decorator adding a `Method` subclass to the registry under ``name``.

    Raises:
        TypeError: the decorated object is not a `Method` subclass.
    """

    def decorator(cls: M) -> M:
        if not (isinstance(cls, type) and issubclass(cls, Method)):
            raise TypeError(f"@register({name!r}) expects a Method subclass. Found {cls!r}.")
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            warnings.warn(f"method `{name}` was registered before; overwriting it", stacklevel=2)
        _REGISTRY[name] = cls
        return cls

    return decorator


def available_methods() -> dict[str, str]:
    """Registered names, sorted, each with the first line of its class docstring."""
    return {name: _summary(cls) for name, cls in sorted(_REGISTRY.items())}


def _summary(cls: type[Method]) -> str:
    doc = inspect.cleandoc(cls.__dict__.get("__doc__") or "")
    return doc.splitlines()[0] if doc else ""


def options(name: str) -> dict[str, inspect.Parameter]:
    """The options a registered method accepts (its keyword-only constructor arguments)."""
    cls = _lookup(name)
    sig = inspect.signature(cls.__init__)
    return {p.name: p for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY and p.name != "n_tasks"}


def create(name: str, /, *, n_tasks: int, field: str = "", **params: Any) -> Method:
    """Build the method registered as ``name`` for ``n_tasks`` tasks.

    Args:
        name: registry key, e.g. ``"pcgrad"``.
        n_tasks: number of tasks ``m``.
        field: path of the method block in the spec (``"methods[2]"``), used in messages.
        **params: the method's options.

    Raises:
        UnknownNameError: unknown method name or option (with a did-you-mean).
        ConfigError: a required option is missing, or an option has a wrong type or range
            (`MethodParamError`, naming ``f"{field}.{option}"``).
    """
    accepted = options(name)
    prefix = f"{field}." if field else ""
    for key in params:
        if key not in accepted:
            listed = ", ".join(accepted) or "(none)"
            raise UnknownNameError(
                f"Unknown option `{prefix}{key}` of method `{name}`.{did_you_mean(key, list(accepted))} Accepted: {listed}."
            )
    missing = [k for k, p in accepted.items() if p.default is p.empty and k not in params]
    if missing:
        raise ConfigError(
            f"Method `{name}` needs option(s) {', '.join(f'`{prefix}{k}`' for k in missing)}. "
            f"Found none; add {', '.join(f'`{k}: ...`' for k in missing)} to its block."
        )
    try:
        return _lookup(name)(n_tasks=n_tasks, **params)
    except MethodParamError as exc:
        raise exc.at(field) from None


def _lookup(name: str) -> type[Method]:
    if name not in _REGISTRY:
        raise unknown_name("method", name, list(_REGISTRY))
    return _REGISTRY[name]
