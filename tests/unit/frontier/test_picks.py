"""pick(): knee, utopia, extremes, all, best:<column> on known fronts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paretosweep.errors import ResultSchemaError, UnknownNameError
from paretosweep.frontier import pick
from paretosweep.results import Objective

LOSS_ACC = (Objective("left", "left_loss", "min"), Objective("right", "right_acc", "max"))


def _corner_front() -> pd.DataFrame:
    """Two straight pieces meeting at an obvious corner, (1, 1) in (loss, 10 - acc) space."""
    loss = [0.0, 0.5, 1.0, 5.5, 10.0]
    worse = [10.0, 5.5, 1.0, 0.5, 0.0]
    ids = ["a", "b", "corner", "d", "e"]
    acc = [10.0 - w for w in worse]
    return pd.DataFrame({"trial_id": ids, "left_loss": loss, "right_acc": acc}, index=[10, 11, 12, 13, 14])


def test_knee_is_the_corner() -> None:
    chosen = pick(_corner_front(), LOSS_ACC, "knee")
    assert chosen["trial_id"].tolist() == ["corner"]
    assert chosen.index.tolist() == [12]  # original index kept


def test_knee_ignores_row_order() -> None:
    front = _corner_front().sample(frac=1.0, random_state=0)
    assert pick(front, LOSS_ACC, "knee")["trial_id"].tolist() == ["corner"]


def test_knee_three_objectives() -> None:
    objectives = tuple(Objective(f"t{i}", f"t{i}_loss", "min") for i in range(3))
    front = pd.DataFrame(
        [[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.3, 0.3, 0.3], [0.5, 0.5, 0.6]],
        columns=["t0_loss", "t1_loss", "t2_loss"],
    )
    assert pick(front, objectives, "knee").index.tolist() == [3]


def test_utopia_is_closest_to_ideal() -> None:
    front = pd.DataFrame({"left_loss": [0.0, 0.4, 1.0], "right_acc": [0.0, 0.6, 1.0]})
    assert pick(front, LOSS_ACC, "utopia").index.tolist() == [1]


def test_extremes_in_objective_order() -> None:
    chosen = pick(_corner_front(), LOSS_ACC, "extremes")
    assert chosen["trial_id"].tolist() == ["a", "e"]


def test_extremes_without_repeats() -> None:
    front = pd.DataFrame({"left_loss": [0.0, 1.0], "right_acc": [1.0, 0.0]})  # row 0 dominates row 1
    assert pick(front, LOSS_ACC, "extremes").index.tolist() == [0]


def test_best_by_column_or_name() -> None:
    front = _corner_front()
    assert pick(front, LOSS_ACC, "best:right_acc")["trial_id"].tolist() == ["e"]
    assert pick(front, LOSS_ACC, "best:left")["trial_id"].tolist() == ["a"]


def test_all_drops_dominated_and_nan_rows() -> None:
    extra = pd.DataFrame({"trial_id": ["dom", "nan"], "left_loss": [6.0, np.nan], "right_acc": [8.0, 20.0]})
    front = pd.concat([_corner_front(), extra], ignore_index=True)
    assert pick(front, LOSS_ACC, "all")["trial_id"].tolist() == ["a", "b", "corner", "d", "e"]
    for how in ("knee", "utopia", "extremes", "best:right_acc"):
        assert "nan" not in pick(front, LOSS_ACC, how)["trial_id"].tolist()


def test_empty_and_single_point_fronts() -> None:
    empty = pd.DataFrame({"left_loss": [], "right_acc": []})
    assert pick(empty, LOSS_ACC, "knee").empty
    single = pd.DataFrame({"left_loss": [1.0], "right_acc": [0.5]})
    for how in ("knee", "utopia", "extremes", "all", "best:left_loss"):
        assert pick(single, LOSS_ACC, how).index.tolist() == [0]


@pytest.mark.parametrize("how", ["kne", "best:", "best:nope", "knee:left", ""])
def test_unknown_pick(how: str) -> None:
    with pytest.raises(UnknownNameError):
        pick(_corner_front(), LOSS_ACC, how)


def test_unknown_pick_message_suggests() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean `knee`"):
        pick(_corner_front(), LOSS_ACC, "kne")


def test_missing_objective_column() -> None:
    with pytest.raises(ResultSchemaError, match="right_acc"):
        pick(_corner_front().drop(columns="right_acc"), LOSS_ACC, "knee")


def test_pick_does_not_mutate_front() -> None:
    front = _corner_front()
    before = front.copy()
    for how in ("knee", "utopia", "extremes", "all", "best:left_loss"):
        pick(front, LOSS_ACC, how)
    pd.testing.assert_frame_equal(front, before)


def test_export_picks_among_swept_weight_vectors_unless_told_otherwise(tmp_path) -> None:
    """A method trial is the knee of the whole frontier: ``export`` still returns a weight vector
    (the knee of the swept frontier); ``kind="all"`` returns the method with its options."""
    import json

    from paretosweep import api
    from tests.unit.results._rows import new_run, row

    store = new_run(tmp_path / "run", reference_point=[2.0, 0.0])
    store.ingest(
        [
            row("s1", 0.1, 0.1, weights=[0.9, 0.1]),
            row("s2", 0.3, 0.7, weights=[0.5, 0.5]),
            row("s3", 0.9, 0.9, weights=[0.1, 0.9]),
            row("m1", 0.2, 0.8, kind="method", method="pcgrad", weights=None, hparams=json.dumps({"lr": 0.01, "epochs": 3})),
        ]
    )
    store.write()
    [swept] = api.export(str(tmp_path / "run"), pick="knee")
    assert swept["kind"] == "scalarization" and swept["weights"] == [0.5, 0.5] and swept["trial_id"] == "s2"
    [anything] = api.export(str(tmp_path / "run"), pick="knee", kind="all")
    assert anything["trial_id"] == "m1" and anything["weights"] is None and anything["method"] == "pcgrad"
    assert anything["spec"]["methods"] == [{"name": "pcgrad"}]
