"""The README's code examples run as written: each is a file of examples/ shown verbatim in the README."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import paretosweep

ROOT = Path(__file__).resolve().parents[2]


def readme_python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.DOTALL)


def test_the_own_loop_example_in_the_readme_is_the_file_that_runs() -> None:
    example = (ROOT / "examples" / "own_loop.py").read_text()
    assert example in readme_python_blocks()
    assert len(example.splitlines()) < 40


@pytest.mark.slow
def test_the_own_loop_example_sweeps_and_ships_a_frontier_model(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "own_loop.py")], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    run = tmp_path / "runs" / "own-loop"
    trials = paretosweep.load_trials(run)
    assert len(trials) == 6 and set(trials["status"]) == {"completed"}  # 5 weight vectors and pcgrad
    assert set(trials["epochs_done"]) == {8}
    front = paretosweep.load_frontier(run)
    assert front["trial_id"].iloc[0] in done.stdout
    saved = paretosweep.load_checkpoint(run, front["seed_trial_ids"].iloc[0][0])
    assert saved["epoch"] == 7 and {"ModuleDict", "AdamW", "CosineAnnealingLR"} <= set(saved)
    assert saved["CosineAnnealingLR"]["last_epoch"] == 8
    assert all(torch.isfinite(v).all() for v in saved["ModuleDict"].values())
