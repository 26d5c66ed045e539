"""Turn chosen trials (the frontier, or points picked in the dashboard) into portable records.

One function builds the records and three render them, so ``paretosweep export`` and the
dashboard's download buttons write byte-identical files for the same rows:

>>> import pandas as pd
>>> from paretosweep.results import Objective
>>> rows = pd.DataFrame({"trial_id": ["t1"], "status": ["completed"], "kind": ["scalarization"],
...     "scalarizer": ["linear"], "method": [None], "weights": [[0.25, 0.75]],
...     "effective_weights_mean": [[0.25, 0.75]], "seed": [0], "lr": [0.01], "epochs": [3],
...     "hparams": ["{}"], "a_loss": [0.5], "b_loss": [0.125]})
>>> objectives = [Objective("a", "a_loss", "min"), Objective("b", "b_loss", "min")]
>>> records = export_records(rows, objectives, spec=None)
>>> records[0]["weights"], records[0]["objectives"]
([0.25, 0.75], {'a_loss': 0.5, 'b_loss': 0.125})
>>> print(to_csv(records).splitlines()[1])
t1,completed,scalarization,linear,,0,0.01,3,"[0.25, 0.75]","[0.25, 0.75]",0.5,0.125,{},,

With a test split (``paretosweep.splits``), each record also carries the test value of each
objective, keyed like ``objectives``; the objectives (validation) are what chose the row:

>>> rows["test_a_loss"], rows["test_b_loss"] = [0.625], [0.25]
>>> records = export_records(rows, objectives, spec=None, test_columns={"a_loss": "test_a_loss", "b_loss": "test_b_loss"})
>>> records[0]["test_objectives"]
{'a_loss': 0.625, 'b_loss': 0.25}
>>> to_csv(records).splitlines()[0].split(",")[10:14]
['a_loss', 'b_loss', 'test_a_loss', 'test_b_loss']

Each record also lists the checkpoint of every seed trial its point pools, given the locations
looked up beforehand (``paretosweep.results.checkpoint_locations``; None: not looked up):

>>> point_trial_ids(rows)
['t1']
>>> where = {"t1": {"trial_id": "t1", "seed": 0, "location": "/runs/r/_tune/x/checkpoint.pt", "reason": None}}
>>> export_records(rows, objectives, spec=None, checkpoints=where)[0]["checkpoints"][0]["location"]
'/runs/r/_tune/x/checkpoint.pt'

Pure functions over pandas rows: no file or network access.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import yaml

from paretosweep.frontier import BOOKKEEPING_HPARAMS
from paretosweep.results import Objective, as_test_column

#: Keys of a record, in order. ``objectives`` maps each objective column to its (validation) value,
#: ``test_objectives`` each objective column to its test-split value (None without a test split).
RECORD_KEYS = (
    "trial_id",
    "status",
    "kind",
    "scalarizer",
    "method",
    "seed",
    "lr",
    "epochs",
    "weights",
    "effective_weights",
    "objectives",
    "test_objectives",
    "hparams",
    "checkpoints",
    "spec",
)


def export_records(
    rows: pd.DataFrame,
    objectives: Sequence[Objective],
    *,
    spec: Mapping[str, Any] | None,
    test_columns: Mapping[str, str] | None = None,
    checkpoints: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One JSON-able record per row of ``rows`` (trials.parquet / frontier.parquet columns).

    Args:
        rows: the trials to export, in the order wanted in the file.
        objectives: the run's objectives; their columns become the ``objectives`` mapping.
        spec: the run's sweep spec (``paretosweep.spec`` metadata). Each record carries the
            spec that reproduces *its* point (:func:`reproduce_spec`), so a record alone is
            enough to re-train its model; None if unknown.
        test_columns: metric column -> the column holding its test-split value (the
            ``test_columns`` of ``paretosweep.splits``); None or empty: the run has one split.
        checkpoints: trial id -> ``{"trial_id", "seed", "location", "reason"}`` for every id of
            :func:`point_trial_ids` (``paretosweep.results.checkpoint_locations``); None: the
            records' ``checkpoints`` are None.

    Returns:
        Records with keys ``RECORD_KEYS``: ``weights`` are the swept loss weights (None for
        comparison methods), ``effective_weights`` the mean weights the trial applied,
        ``test_objectives`` each objective's test value (None without a test split),
        ``hparams`` the parsed JSON object, ``checkpoints`` one entry per seed trial of the point
        (``location`` None and a ``reason`` where none was kept). NaN and missing values become None.

    Raises:
        KeyError: ``checkpoints`` lacks a trial id of the rows.
    """
    tests = dict(test_columns or {})
    has_test = all(o.column in tests for o in objectives) and bool(tests)
    return [
        {
            "trial_id": str(row["trial_id"]),
            "status": _scalar(row.get("status")),
            "kind": _scalar(row.get("kind")),
            "scalarizer": _scalar(row.get("scalarizer")),
            "method": _scalar(row.get("method")),
            "seed": _scalar(row.get("seed")),
            "lr": _scalar(row.get("lr")),
            "epochs": _scalar(row.get("epochs")),
            "weights": _floats(row.get("weights")),
            "effective_weights": _floats(row.get("effective_weights_mean")),
            "objectives": {o.column: _scalar(row.get(o.column)) for o in objectives},
            "test_objectives": {o.column: _scalar(row.get(tests[o.column])) for o in objectives} if has_test else None,
            "hparams": _hparams(row.get("hparams")),
            "checkpoints": None if checkpoints is None else [dict(checkpoints[t]) for t in _seed_trial_ids(row)],
            "spec": None if spec is None else reproduce_spec(spec, row),
        }
        for row in rows.to_dict("records")
    ]


def point_trial_ids(rows: pd.DataFrame) -> list[str]:
    """Every trial id the rows' points pool: a row's ``seed_trial_ids`` (a seed-averaged point), else its ``trial_id``."""
    return [t for row in rows.to_dict("records") for t in _seed_trial_ids(row)]


def _seed_trial_ids(row: Mapping[str, Any]) -> list[str]:
    """The trials pooled into one row's point, lowest seed first as frontier.parquet lists them."""
    ids = row.get("seed_trial_ids")
    if ids is None or (isinstance(ids, float) and math.isnan(ids)) or not len(ids):
        return [str(row["trial_id"])]
    return [str(t) for t in ids]


#: hparams keys that are the trial's budget or bookkeeping, not a method's own options.
#: hparams keys of a method row that are not the method's options: the run's budget and how the trial ran.
_NOT_METHOD_OPTIONS = ("optimizer", "lr", "epochs", "steps_per_epoch", "method", "warm_start", *BOOKKEEPING_HPARAMS)


def reproduce_spec(spec: Mapping[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
    """A sweep spec that trains exactly this row's point again, into a fresh run directory.

    The run's spec with: ``sampler: explicit`` holding the row's one weight vector (none for a
    comparison method, which is then the spec's only ``methods`` entry, with its options), the
    row's ``seed`` (and ``seeds_per_weight``: the seeds pooled into the point), its ``lr`` and
    ``epochs``, and ``name``/``storage`` new: ``<name>-<trial_id>`` under ``runs/``.
    """
    out: dict[str, Any] = json.loads(json.dumps(spec))
    trial_id = str(row["trial_id"])
    name = f"{out.get('name', 'sweep')}-{trial_id}"
    hparams = _hparams(row.get("hparams"))
    weights = _floats(row.get("weights"))
    n_seeds = _scalar(row.get("n_seeds")) or 1
    budget = dict(out.get("budget") or {})
    budget.update(n_weights=1, seeds_per_weight=int(n_seeds), lr=[_scalar(row.get("lr"))])
    for key in ("epochs", "steps_per_epoch", "optimizer"):
        if hparams.get(key) is not None:
            budget[key] = hparams[key]
    if _scalar(row.get("epochs")) is not None:
        budget["epochs"] = _scalar(row.get("epochs"))
    budget.pop("pack_size", None)
    sampler = {"name": "explicit", "weights": [] if weights is None else [weights]}
    if row.get("kind") == "method":
        options = {k: v for k, v in hparams.items() if k not in _NOT_METHOD_OPTIONS}
        out["methods"] = [{"name": _scalar(row.get("method")), **options}]
    else:
        out["methods"] = []
    out.update(name=name, storage=f"runs/{name}", sampler=sampler, budget=budget, seed=_scalar(row.get("seed")) or 0)
    return out


def to_json(records: Sequence[Mapping[str, Any]]) -> str:
    """The records as an indented JSON array (strict JSON: no NaN), ending with a newline."""
    return json.dumps(list(records), indent=2, allow_nan=False) + "\n"


def to_yaml(records: Sequence[Mapping[str, Any]]) -> str:
    """The records as a YAML list (``yaml.safe_dump``, keys in record order)."""
    return yaml.safe_dump([dict(r) for r in records], sort_keys=False)


def to_csv(records: Sequence[Mapping[str, Any]]) -> str:
    """The records as CSV: one column per scalar key and per objective column.

    With a test split, each objective column's test value follows the objectives as
    ``test_<column>`` (the Parquet column name). Lists and mappings (``weights``,
    ``effective_weights``, ``hparams``, ``checkpoints``, ``spec``) are written as JSON text; None is an empty
    cell. Floats use Python's shortest round-trip form, so a value read back is the exact
    float stored in Parquet.
    """
    objective_columns = list(records[0]["objectives"]) if records else []
    with_test = bool(records) and records[0].get("test_objectives") is not None
    test_columns = [as_test_column(c) for c in objective_columns] if with_test else []
    header = [k for k in RECORD_KEYS if k not in ("objectives", "test_objectives")]
    header[header.index("hparams") : header.index("hparams")] = objective_columns + test_columns
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for record in records:
        tests = {as_test_column(c): v for c, v in (record.get("test_objectives") or {}).items()}
        flat = {**{k: v for k, v in record.items() if k not in ("objectives", "test_objectives")}, **record["objectives"], **tests}
        writer.writerow([_cell(flat.get(k)) for k in header])
    return out.getvalue()


def _scalar(value: Any) -> Any:
    """A plain Python value: numpy scalars unwrapped, NaN / NA / None as None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _floats(values: Any) -> list[float] | None:
    """A list column (numpy array, list or None) as a list of Python floats."""
    if values is None or (isinstance(values, float) and math.isnan(values)):
        return None
    return [float(v) for v in values]


def _hparams(text: Any) -> dict[str, Any]:
    """The ``hparams`` JSON string as a dict (empty when missing)."""
    if not isinstance(text, str) or not text:
        return {}
    parsed = json.loads(text)
    return parsed if isinstance(parsed, dict) else {"value": parsed}


def _cell(value: Any) -> str:
    """One CSV cell."""
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)
