"""A run's schema metadata: what every file of the run carries, encoded and decoded in one place."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from paretosweep.errors import ConfigError, ResultSchemaError
from paretosweep.frontier import maximise_flags
from paretosweep.results._fs import RECOVERY_ADVICE
from paretosweep.results._schema import (
    FRONTIER_EXTRA_FIELDS,
    META_OBJECTIVES,
    META_REFERENCE_POINT,
    META_REFERENCE_RULE,
    META_SCHEMA_VERSION,
    META_SPEC,
    META_SPLITS,
    META_TASKS,
    SCHEMA_VERSION,
    STDERR_SUFFIX,
    TRIAL_FIELDS,
    Objective,
    RunSplits,
    objectives_from_json,
    objectives_to_json,
)

_FIXED = tuple(f.name for f in TRIAL_FIELDS)


@dataclass(frozen=True)
class RunMeta:
    objectives: tuple[Objective, ...]
    tasks: tuple[str, ...]
    metric_columns: tuple[str, ...]
    reference_point: tuple[float, ...] | None
    spec: dict[str, Any] = field(default_factory=dict)
    reference_rule: str | None = None
    splits: RunSplits | None = None

    @classmethod
    def of(
        cls,
        *,
        objectives: Sequence[Objective],
        tasks: Sequence[str],
        metric_columns: Sequence[str],
        reference_point: Sequence[float] | None = None,
        reference_rule: str | None = None,
        spec: Mapping[str, Any] | None = None,
        splits: RunSplits | None = None,
    ) -> RunMeta:
        """The metadata of a run as ``RunStore.create`` and ``recover`` take it (a rule without a point is dropped)."""
        return cls(
            objectives=tuple(objectives),
            tasks=tuple(tasks),
            metric_columns=tuple(metric_columns),
            reference_point=None if reference_point is None else tuple(float(v) for v in reference_point),
            spec=dict(spec or {}),
            reference_rule=reference_rule if reference_point is not None else None,
            splits=splits,
        )

    def encode(self) -> dict[bytes, bytes]:
        ref = None if self.reference_point is None else list(self.reference_point)
        return {
            META_OBJECTIVES: objectives_to_json(self.objectives).encode(),
            META_SCHEMA_VERSION: SCHEMA_VERSION.encode(),
            META_TASKS: json.dumps(list(self.tasks)).encode(),
            META_REFERENCE_POINT: json.dumps(ref).encode(),
            META_REFERENCE_RULE: json.dumps(self.reference_rule).encode(),
            META_SPEC: json.dumps(self.spec, default=str).encode(),
            META_SPLITS: b"null" if self.splits is None else self.splits.to_json().encode(),
        }

    @classmethod
    def decode(cls, table: pa.Table, path: str) -> RunMeta:
        metadata = table.schema.metadata or {}
        try:
            ref = json.loads(metadata.get(META_REFERENCE_POINT, b"null"))
            return cls(
                objectives=objectives_from_json(metadata[META_OBJECTIVES]),
                tasks=tuple(json.loads(metadata.get(META_TASKS, b"[]"))),
                metric_columns=tuple(table.schema.names[len(TRIAL_FIELDS) :]),
                reference_point=None if ref is None else tuple(float(v) for v in ref),
                spec=json.loads(metadata.get(META_SPEC, b"{}")),
                reference_rule=json.loads(metadata.get(META_REFERENCE_RULE, b"null")),
                splits=RunSplits.from_json(metadata.get(META_SPLITS, b"null")),
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise ResultSchemaError(f"`{path}` has unreadable paretosweep metadata ({exc}). {RECOVERY_ADVICE}") from exc


def validate_meta(meta: RunMeta) -> None:
    """Check a new run's objectives, columns and reference point against each other."""
    if not meta.objectives:
        raise ConfigError("`objectives` should list at least one objective. Found none.")
    maximise_flags([o.direction for o in meta.objectives])
    taken = set(_FIXED) | {f.name for f in FRONTIER_EXTRA_FIELDS} | {f"{o.column}{STDERR_SUFFIX}" for o in meta.objectives}
    clashes = [c for c in meta.metric_columns if c in taken]
    if clashes or len(set(meta.metric_columns)) != len(meta.metric_columns):
        raise ConfigError(
            "`metric_columns` should be unique and differ from the fixed trial columns. "
            f"Found {list(meta.metric_columns)} (clashing: {clashes})."
        )
    for objective in meta.objectives:
        if objective.column not in meta.metric_columns:
            raise ConfigError(
                f"Objective `{objective.name}` reads column `{objective.column}`, which is not among "
                f"`metric_columns` {list(meta.metric_columns)}. Add it or fix the objective."
            )
    if meta.splits is not None:
        meta.splits.check(meta.metric_columns, [o.column for o in meta.objectives])
    ref = meta.reference_point
    if ref is not None and (len(ref) != len(meta.objectives) or not all(math.isfinite(v) for v in ref)):
        raise ConfigError(f"`reference_point` should hold one finite value per objective ({len(meta.objectives)}). Found {list(ref)}.")
