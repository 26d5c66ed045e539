"""requirements.lock pins what a fresh install resolves from pyproject.toml, and says when it is stale."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("lock_tool", ROOT / "tools" / "lock.py")
assert spec is not None and spec.loader is not None
lock = importlib.util.module_from_spec(spec)
sys.modules["lock_tool"] = lock
spec.loader.exec_module(lock)


def test_the_committed_lock_is_current_with_pyproject() -> None:
    assert lock.staleness() == []


def test_a_new_or_changed_requirement_makes_the_lock_stale(tmp_path: Path) -> None:
    text = (ROOT / "pyproject.toml").read_text()
    added = tmp_path / "added.toml"
    added.write_text(text.replace('"pyyaml>=6",', '"pyyaml>=6",\n    "left-pad-never-pinned>=1",'))
    problems = lock.staleness(added, ROOT / "requirements.lock")
    assert any("digest differs" in p for p in problems)
    assert any("`left-pad-never-pinned` is required" in p for p in problems)

    raised = tmp_path / "raised.toml"
    raised.write_text(text.replace('"pyyaml>=6",', '"pyyaml>=999",'))
    assert any("does not satisfy `pyyaml>=999`" in p for p in lock.staleness(raised, ROOT / "requirements.lock"))


def test_every_pin_is_exact_and_torch_is_the_cpu_build() -> None:
    recorded, pins = lock.read_lock()
    assert recorded is not None and len(pins) > 50
    assert str(pins["torch"]).endswith("+cpu")
    lines = [line for line in (ROOT / "requirements.lock").read_text().splitlines() if line and not line.startswith("#")]
    assert all("==" in line for line in lines)
