"""``paretosweep frontier``: each objective (validation, which chose) with its test-split value beside it."""

from __future__ import annotations

import numpy as np
import pandas as pd
from rich.console import Console

from paretosweep.cli_progress import frontier_table
from paretosweep.results import Objective, RunSplits

OBJECTIVES = (Objective("a", "a_loss", "min"), Objective("b", "b_loss", "min"))
FRONT = pd.DataFrame(
    {
        "trial_id": ["s-1", "s-2"],
        "kind": ["scalarization"] * 2,
        "method": [None, None],
        "weights": [np.array([0.2, 0.8]), np.array([0.7, 0.3])],
        "a_loss": [0.5, 0.125],
        "b_loss": [0.25, 0.75],
        "test_a_loss": [0.625, 0.1875],
        "test_b_loss": [0.375, 0.8125],
        "hv_contribution": [0.1, 0.2],
    }
)


def _text(splits: RunSplits | None) -> str:
    console = Console(record=True, width=220)
    console.print(frontier_table(FRONT, OBJECTIVES, ("a", "b"), splits=splits))
    return console.export_text()


def test_test_columns_follow_their_objectives_and_the_caption_says_which_split_chose() -> None:
    text = _text(RunSplits("validation", "test", {"a_loss": "test_a_loss", "b_loss": "test_b_loss"}))
    header = next(line for line in text.splitlines() if "trial_id" in line)
    assert header.index("a_loss (min)") < header.index("test_a_loss") < header.index("b_loss (min)") < header.index("test_b_loss")
    row = next(line for line in text.splitlines() if "s-2" in line)
    assert row.index("0.125") < row.index("0.1875") < row.index("0.75") < row.index("0.8125")
    assert "chosen on the validation split; test_* values: the test split, reported only" in text


def test_a_one_split_run_has_no_test_columns_and_says_why() -> None:
    text = _text(RunSplits("function", None, {}, "no held-out data"))
    assert "test_a_loss" not in text and "one split (function): no held-out data" in text
    assert "test_" not in _text(None)
