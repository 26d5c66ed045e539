"""Export records: what `paretosweep export` and the dashboard's download buttons both write."""

from __future__ import annotations

import csv
import doctest
import io
import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml

import paretosweep.exports as export_module
from paretosweep.config import parse_spec
from paretosweep.exports import RECORD_KEYS, export_records, to_csv, to_json, to_yaml
from paretosweep.planning import build_plan
from paretosweep.results import Objective

OBJECTIVES = (Objective("a", "a_loss", "min"), Objective("b", "b_acc", "max"))
SPEC = {"problem": {"name": "synthetic", "params": {"n_tasks": 2}}, "budget": {"epochs": 3}}


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trial_id": ["s-1", "m-1"],
            "status": ["completed", "completed"],
            "kind": ["scalarization", "method"],
            "scalarizer": ["tchebycheff", None],
            "method": [None, "pcgrad"],
            "weights": [np.array([0.1, 0.9]), None],
            "effective_weights_mean": [np.array([0.1, 0.9]), np.array([0.3, 0.7])],
            "seed": np.array([0, 1], dtype=np.int64),
            "lr": [0.003, 0.01],
            "epochs": np.array([3, 3], dtype=np.int64),
            "hparams": ['{"mu": 0.1}', "{}"],
            "a_loss": [0.1 + 0.2, math.nan],
            "b_acc": [0.75, 0.5],
            "history": ["[]", "[]"],
        }
    )


def test_records_hold_weights_objectives_and_the_spec() -> None:
    records = export_records(_rows(), OBJECTIVES, spec=SPEC)
    assert [list(r) for r in records] == [list(RECORD_KEYS)] * 2
    first, method = records
    assert first["weights"] == [0.1, 0.9] and first["effective_weights"] == [0.1, 0.9]
    assert first["objectives"] == {"a_loss": 0.1 + 0.2, "b_acc": 0.75}
    assert first["scalarizer"] == "tchebycheff" and first["method"] is None
    assert first["seed"] == 0 and type(first["seed"]) is int and first["lr"] == 0.003
    assert first["hparams"] == {"mu": 0.1}
    assert method["weights"] is None and method["effective_weights"] == [0.3, 0.7]
    assert method["objectives"]["a_loss"] is None  # NaN becomes null


def test_each_record_carries_a_spec_that_reproduces_its_point_in_a_fresh_directory() -> None:
    first, method = export_records(
        _rows(),
        OBJECTIVES,
        spec={**SPEC, "name": "big", "storage": "runs/big", "sampler": {"name": "das_dennis"}, "budget": {"n_weights": 40, "epochs": 3}},
    )
    assert first["spec"]["name"] == "big-s-1" and first["spec"]["storage"] == "runs/big-s-1"
    assert first["spec"]["sampler"] == {"name": "explicit", "weights": [[0.1, 0.9]]} and first["spec"]["methods"] == []
    assert first["spec"]["budget"] == {"n_weights": 1, "seeds_per_weight": 1, "lr": [0.003], "epochs": 3}
    assert first["spec"]["seed"] == 0
    plan = build_plan(parse_spec(first["spec"]))
    [trial] = plan.trials
    assert (trial.weights, trial.seed, trial.lr) == ((0.1, 0.9), 0, 0.003)
    assert method["spec"]["methods"] == [{"name": "pcgrad"}] and method["spec"]["sampler"]["weights"] == []
    [again] = build_plan(parse_spec(method["spec"])).trials
    assert (again.kind, again.method, again.seed, again.lr) == ("method", "pcgrad", 1, 0.01)


def test_spec_is_copied_not_shared() -> None:
    records = export_records(_rows(), OBJECTIVES, spec=SPEC)
    records[0]["spec"]["budget"]["epochs"] = 99
    assert SPEC["budget"]["epochs"] == 3 and records[1]["spec"]["budget"]["epochs"] == 3
    assert export_records(_rows(), OBJECTIVES, spec=None)[0]["spec"] is None


def test_json_is_strict_and_round_trips_floats_exactly() -> None:
    records = export_records(_rows(), OBJECTIVES, spec=SPEC)
    text = to_json(records)
    assert text.endswith("\n") and "NaN" not in text
    back = json.loads(text)
    assert back == records and back[0]["objectives"]["a_loss"] == 0.1 + 0.2


def test_csv_has_one_column_per_objective_and_exact_floats() -> None:
    records = export_records(_rows(), OBJECTIVES, spec=SPEC)
    rows = list(csv.DictReader(io.StringIO(to_csv(records))))
    assert list(rows[0]) == [
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
        "a_loss",
        "b_acc",
        "hparams",
        "checkpoints",
        "spec",
    ]
    assert float(rows[0]["a_loss"]) == 0.1 + 0.2 and rows[1]["a_loss"] == ""
    assert json.loads(rows[0]["weights"]) == [0.1, 0.9] and rows[1]["weights"] == ""
    assert json.loads(rows[0]["spec"]) == export_records(_rows(), OBJECTIVES, spec=SPEC)[0]["spec"]
    assert to_csv([]).strip() == "trial_id,status,kind,scalarizer,method,seed,lr,epochs,weights,effective_weights,hparams,checkpoints,spec"


def test_yaml_loads_back_to_the_records() -> None:
    records = export_records(_rows(), OBJECTIVES, spec=SPEC)
    assert yaml.safe_load(to_yaml(records)) == records


def test_rows_are_not_modified() -> None:
    rows = _rows()
    before = rows.copy(deep=True)
    export_records(rows, OBJECTIVES, spec=SPEC)
    pd.testing.assert_frame_equal(rows, before)


def test_docstring_example() -> None:
    assert doctest.testmod(export_module).failed == 0


@pytest.mark.parametrize("text", [None, "", float("nan")])
def test_missing_hparams_are_an_empty_mapping(text: object) -> None:
    rows = _rows().assign(hparams=[text, text])
    assert export_records(rows, OBJECTIVES, spec=None)[0]["hparams"] == {}


def test_yaml_has_no_anchors_for_the_repeated_spec() -> None:
    text = to_yaml(export_records(_rows(), OBJECTIVES, spec=SPEC))
    assert "&id" not in text and "*id" not in text


TESTS = {"a_loss": "test_a_loss", "b_acc": "test_b_acc"}


def _rows_with_test() -> pd.DataFrame:
    return _rows().assign(test_a_loss=[0.4, math.nan], test_b_acc=[0.625, 0.5])


def test_records_carry_each_objectives_test_value_beside_it() -> None:
    first, method = export_records(_rows_with_test(), OBJECTIVES, spec=SPEC, test_columns=TESTS)
    assert first["objectives"] == {"a_loss": 0.1 + 0.2, "b_acc": 0.75}  # validation: what chose the row
    assert first["test_objectives"] == {"a_loss": 0.4, "b_acc": 0.625}
    assert method["test_objectives"] == {"a_loss": None, "b_acc": 0.5}
    assert json.loads(to_json([first])) == [first] and yaml.safe_load(to_yaml([first])) == [first]


def test_one_split_records_say_none_and_csv_has_no_test_columns() -> None:
    records = export_records(_rows_with_test(), OBJECTIVES, spec=SPEC)  # the run has one split
    assert [r["test_objectives"] for r in records] == [None, None]
    assert "test_a_loss" not in to_csv(records).splitlines()[0]


def test_csv_puts_the_test_columns_after_the_objectives_with_exact_floats() -> None:
    records = export_records(_rows_with_test(), OBJECTIVES, spec=SPEC, test_columns=TESTS)
    rows = list(csv.DictReader(io.StringIO(to_csv(records))))
    assert list(rows[0])[10:15] == ["a_loss", "b_acc", "test_a_loss", "test_b_acc", "hparams"]
    assert float(rows[0]["test_a_loss"]) == 0.4 and float(rows[0]["test_b_acc"]) == 0.625 and rows[1]["test_a_loss"] == ""
