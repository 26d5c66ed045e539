"""`dashboards/` installs as `paretosweep.dashboard`: the explicit package list must stay complete."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
tomllib = pytest.importorskip("tomllib")  # Python >= 3.11


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_dashboard_is_mapped_from_the_dashboards_folder() -> None:
    config = _setuptools()
    assert config["package-dir"] == {"paretosweep.dashboard": "dashboards"}
    assert "paretosweep.dashboard" in config["packages"]
    assert (ROOT / "dashboards" / "__init__.py").is_file()


def test_every_subpackage_of_paretosweep_is_listed() -> None:
    listed = set(_setuptools()["packages"])
    found = {
        ".".join(p.relative_to(ROOT).parts)
        for p in [ROOT / "paretosweep", *(ROOT / "paretosweep").rglob("*")]
        if p.is_dir() and p.name != "__pycache__" and any(p.glob("*.py"))
    }
    missing = sorted(found - listed)
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"


@pytest.mark.slow
def test_a_built_wheel_contains_the_dashboard(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("paretosweep-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ("__init__", "_data", "_info", "_figures", "app", "report"):
        assert f"paretosweep/dashboard/{module}.py" in names
