"""``benchmarks/compute_to_front.py``: its compute accounting and HV-against-compute curves, on numbers worked by hand."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "compute_to_front.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("compute_to_front_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def record(bench, tid: str, epochs: int, finished: float, test: list[float], status: str = "completed", seconds: float = 1.0):
    return bench.TrialRecord(tid, status, epochs, finished, seconds, test)


def test_sample_epochs_count_what_a_trial_trained(bench) -> None:
    assert bench.sample_epochs(9, 1800) == 16200
    assert bench.sample_epochs(1, 1800) == 1800  # a trial stopped at the first rung
    assert bench.sample_epochs(0, 1800) == 0  # failed before its first epoch
    with pytest.raises(ValueError):
        bench.sample_epochs(-1, 10)


def test_reference_point_is_the_worst_value_plus_a_margin_of_the_range_in_each_direction(bench) -> None:
    points = np.array([[0.2, 0.9], [0.6, 0.7], [np.nan, 0.1]])  # NaN row ignored
    ref = bench.reference_point(points, ["min", "max"], margin=0.1)
    # min objective: worst 0.6, range 0.4 -> 0.64; max objective: worst 0.7, range 0.2 -> 0.68
    assert ref == pytest.approx([0.64, 0.68])


def test_hypervolume_ignores_points_not_better_than_the_reference_and_nan(bench) -> None:
    ref = np.array([2.0, 2.0])
    pts = np.array([[1.0, 1.0], [3.0, 0.0], [np.nan, 0.5]])
    assert bench.hypervolume_of(pts, ref, ["min", "min"]) == pytest.approx(1.0)
    # max direction: values 1.5 with reference 1.0 dominate a 0.5 x 0.5 box
    assert bench.hypervolume_of(np.array([[1.5, 1.5]]), np.array([1.0, 1.0]), ["max", "max"]) == pytest.approx(0.25)
    assert bench.hypervolume_of(np.array([[3.0, 3.0]]), ref, ["min", "min"]) == 0.0


def test_curve_orders_by_finishing_time_and_counts_stopped_compute(bench) -> None:
    ref = np.array([2.0, 2.0])
    trials = [
        record(bench, "c", 9, 3.0, [0.0, 1.0]),
        record(bench, "a", 9, 1.0, [1.0, 0.0]),
        record(bench, "b", 1, 2.0, [1.5, 1.5], status="stopped"),  # stopped at rung 1; dominated by a
        record(bench, "d", 3, 4.0, [math.nan, math.nan], status="failed"),
    ]
    curve = bench.curve_of(trials, 100, ref, ["min", "min"])
    assert curve.compute.tolist() == [900, 1000, 1900, 2200]  # a (9 ep), b (1), c (9), d (3)
    # a alone: [1,2]x[0,2] = 2; b lies in a's box: still 2, though its compute counts;
    # + c (0,1): [1,2]x[0,2] and [0,2]x[1,2] overlap in [1,2]x[1,2]: 2 + 2 - 1 = 3; d has no test values: 3
    assert curve.hv.tolist() == pytest.approx([2.0, 2.0, 3.0, 3.0])
    assert curve.total == 2200 and curve.final == pytest.approx(3.0)
    assert curve.seconds.tolist() == pytest.approx([1.0, 2.0, 3.0, 4.0])


def test_hv_at_a_budget_and_compute_to_reach_a_target(bench) -> None:
    curve = bench.Curve(np.array([100.0, 300.0, 600.0]), np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.9, 1.0]))
    assert bench.hv_at(curve, 50) == 0.0  # nothing finished yet
    assert bench.hv_at(curve, 300) == 0.9  # a trial finishing exactly at the budget counts
    assert bench.hv_at(curve, 299) == 0.5
    assert bench.hv_at(curve, 10_000) == 1.0  # past its total: its final HV
    assert bench.compute_to_reach(curve, 0.9) == 300
    assert bench.compute_to_reach(curve, 1.01) is None


def test_summarise_gives_fractions_of_the_same_seeds_lattice(bench) -> None:
    c = bench.Curve
    lattice = {0: c(np.array([100.0, 200.0, 400.0]), np.array([1.0, 2.0, 4.0]), np.array([0.4, 0.8, 1.0]))}
    truncated = {0: c(np.array([50.0, 100.0]), np.array([0.5, 1.0]), np.array([0.7, 0.9]))}
    ours = {0: c(np.array([40.0, 100.0, 120.0]), np.array([0.4, 1.0, 1.2]), np.array([0.6, 0.95, 0.99]))}
    summary = bench.summarise({"lattice": lattice, "lattice_e2": truncated, "lattice_pareto_asha": ours})
    s = summary["lattice_pareto_asha"]
    assert s.compute == [pytest.approx(0.3)] and s.seconds == [pytest.approx(0.3)]
    assert s.final == [pytest.approx(0.99)]
    assert s.at_quarter == [pytest.approx(0.95)]  # within 100 sample-epochs = 25 % of 400
    assert s.at_baseline["lattice_e2"] == [pytest.approx(0.95)]  # at the truncated lattice's 100
    assert s.to_goal == [pytest.approx(0.3)]  # 98 % first reached at 120 of 400
    assert summary["lattice_e2"].to_goal == [None]  # 0.9 < 0.98 within its compute
    assert summary["lattice"].at_quarter == [pytest.approx(0.4)]
    assert summary["lattice"].to_goal == [pytest.approx(1.0)]
    assert bench.median_or_none([0.2, None, None]) is None and bench.median_or_none([0.2, 0.3, None]) == 0.3


def test_records_round_trip_through_json(bench) -> None:
    runs = bench.ProblemRuns("p", {"lr": 0.1}, ["a_loss", "b_loss"], ["min", "min"], 100, 2, 9)
    runs.runs.append(bench.ArmRun("lattice", 0, [record(bench, "x", 9, 1.0, [0.1, 0.2])], 3.0, "1 completed"))
    back = bench.from_json(bench.to_json([runs]))
    assert back == [runs]


@pytest.mark.slow
def test_quick_run_of_two_arms_on_one_problem(tmp_path: Path, bench) -> None:
    raw = tmp_path / "raw.json"
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--quick",
            "--problems",
            "synthetic_k3",
            "--arms",
            "lattice",
            "lattice_pareto_asha",
            "--json",
            str(raw),
        ],
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| lattice | 100.0 |" in done.stdout and "| lattice_pareto_asha |" in done.stdout
    (runs,) = bench.from_json(raw.read_text())
    by_arm = {r.arm: r for r in runs.runs}
    assert set(by_arm) == {"lattice", "lattice_pareto_asha"}
    lattice, asha = by_arm["lattice"], by_arm["lattice_pareto_asha"]
    assert len(lattice.trials) == len(asha.trials) == runs.n_weights
    assert all(t.epochs == bench.QUICK_EPOCHS and t.status == "completed" for t in lattice.trials)
    # every trial, stopped ones too (measured from their checkpoints), has finite test values
    assert all(np.isfinite(t.test).all() for r in runs.runs for t in r.trials)
    for t in asha.trials:
        assert (t.status == "stopped") == (t.epochs < bench.QUICK_EPOCHS)
    assert sum(t.epochs for t in asha.trials) <= sum(t.epochs for t in lattice.trials)
    assert json.loads(raw.read_text())[0]["samples_per_epoch"] == runs.samples_per_epoch > 0
