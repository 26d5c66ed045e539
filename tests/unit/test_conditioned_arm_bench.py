"""``benchmarks/_conditioned_arm.py``: the conditioned arm's accounting and its gap table, on numbers worked by hand."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def modules() -> Any:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import _conditioned_arm as arm
        import compute_to_front as ctf
    finally:
        sys.path.remove(str(BENCHMARKS))
    return arm, ctf


def test_the_conditioned_stage_counts_once_and_only_verified_points_count_for_the_hv(modules: Any) -> None:
    arm, ctf = modules
    spe, epochs = 10, 4
    runs = ctf.ProblemRuns("toy", {}, ["a_acc", "b_acc"], ["max", "max"], spe, 2, epochs)
    runs.runs.append(
        ctf.ArmRun(
            "lattice",
            0,
            [ctf.TrialRecord("l1", "completed", 4, 1.0, 1.0, [0.8, 0.2]), ctf.TrialRecord("l2", "completed", 4, 2.0, 1.0, [0.2, 0.8])],
        )
    )
    stage = ctf.TrialRecord("conditioned-stage", "completed", 4, -1.0, 1.0, [math.nan, math.nan])
    verified = [ctf.TrialRecord("v1", "completed", 2, 1.0, 1.0, [0.8, 0.2]), ctf.TrialRecord("v2", "completed", 2, 2.0, 1.0, [0.5, 0.5])]
    runs.runs.append(ctf.ArmRun("conditioned", 0, [stage, *verified]))
    arm.EXTRAS[("toy", "conditioned", 0)] = {"proposed_test": [[0.7, 0.2], [0.2, 0.7]], "gaps": [[0.1, 0.0], [-0.2, 0.1]]}
    reference, curves = ctf.analyse(runs)
    curve = curves["conditioned"][0]
    assert curve.total == (4 + 2 + 2) * spe  # the conditioned training once, then each verification trial's own epochs
    table = arm.gap_table(runs)
    line = next(r for r in table.splitlines() if r.startswith("| conditioned |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[2] == "2.00"  # 8 epochs = 2 trials of 4
    full = ctf.hypervolume_of([[0.8, 0.2], [0.2, 0.8]], reference, ["max", "max"])
    ours = ctf.hypervolume_of([[0.8, 0.2], [0.5, 0.5]], reference, ["max", "max"])
    assert float(cells[3]) == pytest.approx(100 * ours / full, abs=0.06)
    assert cells[5] == f"{(0.1 + 0.0 + 0.2 + 0.1) / 4:.4f}" and cells[6] == ("met" if ours / full >= 0.97 else "not met")
