"""Trial rows: a result dict checked and converted to the trials.parquet schema."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from paretosweep.errors import ResultSchemaError, did_you_mean
from paretosweep.results._schema import KINDS, STATUSES

_TIMESTAMPS = ("started_at", "finished_at")
_LISTS = ("weights", "effective_weights_mean", "effective_weights_final")
_JSON_TEXT = ("hparams", "history")


def timestamp(value: Any, key: str, trial_id: str) -> datetime | None:
    """A UTC datetime from a datetime (naive = local time), numpy datetime64 (UTC) or epoch seconds."""
    if value is None:
        return None
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value).tz_localize(timezone.utc)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)  # a naive datetime is read as local time
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    raise ResultSchemaError(f"`{key}` of trial `{trial_id}` should be a datetime or epoch seconds. Found {value!r}.")


def clean_row(row: Mapping[str, Any], names: Sequence[str], metrics: Sequence[str]) -> dict[str, Any]:
    """Validate one trial row and convert its values to what the Arrow schema expects."""
    trial_id = row.get("trial_id")
    if not isinstance(trial_id, str) or not trial_id:
        raise ResultSchemaError(f"Every trial row should have a non-empty string `trial_id`. Found {trial_id!r}.")
    for key in row:
        if key not in names:
            raise ResultSchemaError(
                f"Unknown column `{key}` in trial `{trial_id}`.{did_you_mean(str(key), list(names))} "
                f"Known: the fixed trial columns and the metric columns {list(metrics)}."
            )
    for key, allowed in (("status", STATUSES), ("kind", KINDS)):
        if row.get(key) not in allowed:
            raise ResultSchemaError(f"`{key}` of trial `{trial_id}` should be one of {', '.join(allowed)}. Found {row.get(key)!r}.")
    clean = dict(row)
    for key in _TIMESTAMPS:
        clean[key] = timestamp(row.get(key), key, trial_id)
    for key in _LISTS:
        if row.get(key) is not None:
            clean[key] = [float(v) for v in row[key]]
    for key in _JSON_TEXT:
        if row.get(key) is not None and not isinstance(row[key], str):
            clean[key] = json.dumps(row[key], default=str)
    return clean


def rows_to_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Column-wise conversion; a value of the wrong type is reported with its trial and column."""
    arrays = []
    for f in schema:
        values = [row.get(f.name) for row in rows]
        try:
            arrays.append(pa.array(values, type=f.type))
        except (pa.ArrowException, TypeError, ValueError) as exc:
            bad = next((r for r in rows if not converts(r.get(f.name), f.type)), rows[0])
            raise ResultSchemaError(
                f"Column `{f.name}` should hold {f.type}. Found {bad.get(f.name)!r} in trial `{bad['trial_id']}` ({exc})."
            ) from exc
    return pa.Table.from_arrays(arrays, schema=schema)


def converts(value: Any, type_: pa.DataType) -> bool:
    try:
        pa.array([value], type=type_)
    except (pa.ArrowException, TypeError, ValueError):
        return False
    return True


def null_where(table: pa.Table, column: str, trial_ids: set[str]) -> pa.Table:
    """``table`` with ``column`` set to null in the rows of ``trial_ids`` (a string column)."""
    if not trial_ids or not table.num_rows:
        return table
    ids = table.column("trial_id").to_pylist()
    kept = [None if tid in trial_ids else v for tid, v in zip(ids, table.column(column).to_pylist(), strict=True)]
    at = table.schema.get_field_index(column)
    return table.set_column(at, table.schema.field(at), pa.array(kept, pa.string()))
