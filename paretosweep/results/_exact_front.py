"""The problem's exact Pareto front as the run stores it: ``exact_front.parquet`` and its indicators.

The run store never imports problems: the driver hands it the front's points (from
``Problem.exact_front(n)``), the store keeps them in the sidecar file ``exact_front.parquet``
(one float64 column per objective column, the run's schema metadata) and reads them back on
resume, so ``recompute_progress()`` can still compute the two progress indicators:

* ``igd_plus`` = IGD+ of the current non-dominated set to the exact front (Ishibuchi et al.,
  EMO 2015; lower is better, 0 when the set weakly dominates every exact point);
* ``hv_ratio`` = ``HV(set, r) / HV(exact front, r)`` at the same reference point ``r`` as the
  row's ``hypervolume``. ``HV(exact front, r)`` is the continuous front's value when the problem
  gives it (``ExactFront.hypervolume``, kept in the file's metadata under
  :data:`HYPERVOLUME_KEY` with its reference point) and ``r`` is that reference point; else the
  hypervolume of the stored points (then a set lying between the front's samples can exceed 1
  by about the sampling gap).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
from numpy.typing import ArrayLike

from paretosweep.errors import ConfigError, ResultSchemaError
from paretosweep.frontier import hypervolume_auto, igd_plus
from paretosweep.results._schema import Objective

#: ``exact_front.parquet`` metadata: JSON ``{"reference_point": [...], "hypervolume": v}`` in
#: objective order, the continuous front's hypervolume when the problem knows it.
HYPERVOLUME_KEY = b"paretosweep.exact_front_hypervolume"


def known_hypervolume_metadata(reference_point: Sequence[float], hypervolume: float) -> dict[bytes, bytes]:
    """The metadata entry recording a known exact-front hypervolume at a reference point."""
    return {
        HYPERVOLUME_KEY: json.dumps({"reference_point": [float(v) for v in reference_point], "hypervolume": float(hypervolume)}).encode()
    }


def known_hypervolume_from_metadata(metadata: dict[bytes, bytes] | None) -> dict[tuple[float, ...], float]:
    """``{reference point: hypervolume}`` recorded by :func:`known_hypervolume_metadata` (empty if none)."""
    raw = (metadata or {}).get(HYPERVOLUME_KEY)
    if raw is None:
        return {}
    entry = json.loads(raw)
    return {tuple(float(v) for v in entry["reference_point"]): float(entry["hypervolume"])}


def align_exact_front(
    points: ArrayLike, *, columns: Sequence[str], directions: Sequence[str], objectives: Sequence[Objective]
) -> np.ndarray:
    """The exact front's ``[k, m]`` points reordered to the run's objective columns.

    Args:
        points: ``[k, len(columns)]`` points of the exact front (raw units).
        columns: the column of each point coordinate (``ExactFront.columns``).
        directions: ``min``/``max`` per column (``ExactFront.directions``).
        objectives: the run's objectives.

    Raises:
        ConfigError: if the columns or directions are not those of the objectives, or the
            points are not a finite ``[k, m]`` array with ``k >= 1``.
    """
    wanted = {o.column: o.direction for o in objectives}
    given = dict(zip(columns, directions, strict=True))
    if given != wanted:
        raise ConfigError(
            f"`exact_front` should cover exactly the objective columns with their directions {wanted}. "
            f"Found {given}; pass the front of the objectives the sweep optimises, or none."
        )
    array = np.array(points, dtype=np.float64, copy=True)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] != len(columns) or not np.isfinite(array).all():
        raise ConfigError(f"`exact_front.points` should be a finite [k, {len(columns)}] array with k >= 1. Found shape {array.shape}.")
    order = [list(columns).index(o.column) for o in objectives]
    return array[:, order]


def exact_front_table(points: np.ndarray, objectives: Sequence[Objective]) -> pa.Table:
    """``exact_front.parquet`` content: one float64 column per objective column (metadata added by the caller)."""
    return pa.table({o.column: pa.array(points[:, i], pa.float64()) for i, o in enumerate(objectives)})


def exact_front_from_table(table: pa.Table, objectives: Sequence[Objective], path: str) -> np.ndarray:
    """``[k, m]`` points of a stored ``exact_front.parquet``, in objective order.

    Raises:
        ResultSchemaError: if an objective column is missing.
    """
    missing = [o.column for o in objectives if o.column not in table.column_names]
    if missing:
        raise ResultSchemaError(
            f"`{path}` should hold the objective columns {[o.column for o in objectives]}. Found "
            f"{table.column_names} (missing {missing}). Delete it; a resumed sweep writes it again."
        )
    return np.column_stack([table.column(o.column).to_numpy().astype(np.float64) for o in objectives])


class ExactFrontIndicators:
    """IGD+ and hypervolume ratio against a stored exact front, its hypervolume cached per reference point."""

    def __init__(self, points: np.ndarray, directions: Sequence[str], known: Mapping[tuple[float, ...], float] | None = None) -> None:
        """``known``: continuous-front hypervolumes by reference point (objective order), used as is."""
        self.points = points
        self.directions = tuple(directions)
        self.known = dict(known or {})
        self._hv: dict[tuple[float, ...], float] = dict(self.known)

    @classmethod
    def given(
        cls,
        points: ArrayLike,
        *,
        columns: Sequence[str],
        directions: Sequence[str],
        objectives: Sequence[Objective],
        hypervolume: float | None = None,
        reference_point: Sequence[float] | None = None,
    ) -> ExactFrontIndicators:
        """A problem's exact front for the run's objectives (see ``RunStore.set_exact_front``).

        Raises:
            ConfigError: columns or directions that are not the objectives', points that are not
                finite, or a ``hypervolume`` without its ``reference_point``.
        """
        aligned = align_exact_front(points, columns=columns, directions=directions, objectives=objectives)
        known: dict[tuple[float, ...], float] = {}
        if hypervolume is not None:
            if reference_point is None or len(reference_point) != len(columns):
                raise ConfigError(
                    f"`hypervolume` of the exact front needs its `reference_point` ({len(columns)} values, "
                    f"one per column). Found {reference_point!r}."
                )
            ordered = tuple(float(reference_point[list(columns).index(o.column)]) for o in objectives)
            known = {ordered: float(hypervolume)}
        return cls(aligned, [o.direction for o in objectives], known)

    @classmethod
    def stored(cls, table: pa.Table, objectives: Sequence[Objective], path: str) -> ExactFrontIndicators:
        """The front a run stored in ``exact_front.parquet``."""
        points = exact_front_from_table(table, objectives, path)
        return cls(points, [o.direction for o in objectives], known_hypervolume_from_metadata(table.schema.metadata))

    def table(self, objectives: Sequence[Objective], metadata: dict[bytes, bytes]) -> pa.Table:
        """``exact_front.parquet``: the points, the run's metadata and the known hypervolume (if any)."""
        known = known_hypervolume_metadata(*next(iter(self.known.items()))) if self.known else {}
        return exact_front_table(self.points, objectives).replace_schema_metadata({**metadata, **known})

    def exact_hypervolume(self, reference_point: Sequence[float]) -> float:
        """HV of the exact front at ``reference_point`` (exact or estimated, see ``hypervolume_auto``)."""
        key = tuple(float(v) for v in reference_point)
        if key not in self._hv:
            self._hv[key] = hypervolume_auto(self.points, reference_point=key, directions=self.directions).value
        return self._hv[key]

    def row(self, points: np.ndarray, hypervolume: float, reference_point: Sequence[float] | None) -> dict[str, float | None]:
        """``{"igd_plus", "hv_ratio"}`` of the usable ``points`` whose hypervolume is ``hypervolume``.

        Null (None) where undefined: ``igd_plus`` without points, ``hv_ratio`` without a
        reference point or when the exact front has no volume there.
        """
        igd = igd_plus(points, self.points, self.directions) if points.shape[0] else None
        ratio = None
        if reference_point is not None:
            total = self.exact_hypervolume(reference_point)
            ratio = hypervolume / total if total > 0 else None
        return {"igd_plus": igd, "hv_ratio": ratio}
