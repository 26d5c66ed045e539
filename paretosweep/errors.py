"""One hierarchy for every error paretosweep raises on purpose.

Messages follow one shape: what was expected, what was found, how to fix it.
Each class also subclasses the matching builtin, so ``except ValueError`` still works.
"""

from __future__ import annotations


class ParetoSweepError(Exception):
    """Base class of every error raised by paretosweep on purpose."""


class ConfigError(ParetoSweepError, ValueError):
    """A sweep spec (YAML or Python) is invalid; raised before any trial runs."""


class UnknownNameError(ConfigError, KeyError):
    """A name (problem, scalarizer, sampler, method, task, metric) is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class RunDirectoryError(ParetoSweepError, OSError):
    """The run directory exists (without --resume/--overwrite), is missing, or is not writable."""


class ResultSchemaError(ParetoSweepError, ValueError):
    """A Parquet file is missing, corrupt, or does not follow the paretosweep storage contract."""


class OptionalDependencyError(ParetoSweepError, ImportError):
    """An optional dependency is needed for this feature; the message says what to install."""


def did_you_mean(name: str, choices: list[str] | tuple[str, ...]) -> str:
    """Return ``" Did you mean `x`?"`` for the closest choice, or an empty string."""
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" Did you mean `{close[0]}`?" if close else ""


def unknown_name(kind: str, name: str, choices: list[str] | tuple[str, ...]) -> UnknownNameError:
    """Build the standard error for an unknown registry name."""
    available = ", ".join(sorted(choices)) if choices else "(none)"
    return UnknownNameError(f"Unknown {kind} `{name}`.{did_you_mean(name, choices)} Available: {available}.")
