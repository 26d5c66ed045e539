"""Write or check ``requirements.lock``: the pinned versions a fresh install of paretosweep gets.

``pyproject.toml`` keeps ranges (for people who use paretosweep as a library); the lock pins
every package a fresh environment resolves from those ranges, so the README's commands and CI
install exactly the versions the tests passed with::

    pip install -c requirements.lock -e ".[dev]"

``python tools/lock.py`` resolves it again: a new virtual environment, ``pip install
torch==2.13.0`` (the CPU wheel, see the README), then ``pip install -e ".[dev]"``, then ``pip
freeze``. ``python tools/lock.py --check`` fails (exit 1) when the lock is stale: its header
records a digest of pyproject's requirements, which must match, and every requirement of
pyproject (dependencies and every extra) must be pinned in the lock by a version that
satisfies it. CI runs the check before installing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements.lock"
DIGEST_PREFIX = "# pyproject-requirements-sha256: "
#: Installed first, so pip takes the CPU wheel on disk instead of a multi-GB CUDA build.
TORCH = "torch==2.13.0"


def pyproject_requirements(path: Path = PYPROJECT) -> list[str]:
    """``requires-python``, the dependencies and every extra's requirements, as written in pyproject."""
    project = tomllib.loads(path.read_text())["project"]
    extras = project.get("optional-dependencies", {})
    return [
        f"python{project.get('requires-python', '')}",
        *project.get("dependencies", []),
        *(f"{req} ; extra == {name!r}" for name in sorted(extras) for req in extras[name]),
    ]


def digest(requirements: list[str]) -> str:
    """A digest of the requirements that changes whenever one is added, removed or edited."""
    return hashlib.sha256(json.dumps(sorted(requirements)).encode()).hexdigest()


def read_lock(path: Path = LOCK) -> tuple[str | None, dict[str, Version]]:
    """The recorded digest and the pins ``{canonical name: version}`` of a lock file."""
    recorded = None
    pins: dict[str, Version] = {}
    for line in path.read_text().splitlines():
        if line.startswith(DIGEST_PREFIX):
            recorded = line[len(DIGEST_PREFIX) :].strip()
        elif line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name.strip())] = Version(version.strip())
    return recorded, pins


def staleness(pyproject: Path = PYPROJECT, lock: Path = LOCK) -> list[str]:
    """Why ``lock`` no longer fits ``pyproject`` (empty when it is current)."""
    if not lock.is_file():
        return [f"{lock.name} is missing: run `python tools/lock.py`."]
    requirements = pyproject_requirements(pyproject)
    recorded, pins = read_lock(lock)
    problems = []
    if recorded != digest(requirements):
        problems.append(f"{lock.name} was resolved from other requirements than pyproject.toml's (digest differs).")
    own = canonicalize_name(tomllib.loads(pyproject.read_text())["project"]["name"])
    for text in requirements[1:]:
        requirement = Requirement(text)
        if canonicalize_name(requirement.name) == own:
            continue  # an extra made of other extras (`paretosweep[mlflow,wandb]`): those are checked themselves
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is None:
            problems.append(f"`{requirement.name}` is required by pyproject.toml but not pinned in {lock.name}.")
        elif not requirement.specifier.contains(pinned, prereleases=True):
            problems.append(f"`{requirement.name}=={pinned}` in {lock.name} does not satisfy `{requirement}` in pyproject.toml.")
    if problems:
        problems.append("Resolve it again with `python tools/lock.py` and commit requirements.lock.")
    return problems


def resolve(lock: Path = LOCK) -> None:
    """Resolve pyproject's ranges in a new virtual environment and write the pins to ``lock``."""
    with tempfile.TemporaryDirectory() as tmp:
        python = Path(tmp) / "venv" / "bin" / "python"
        subprocess.run([sys.executable, "-m", "venv", str(python.parent.parent)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, TORCH], check=True)
        subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
        frozen = subprocess.run(
            [str(python), "-m", "pip", "freeze", "--exclude-editable", "--all"], check=True, capture_output=True, text=True
        ).stdout
    pins = sorted((line for line in frozen.splitlines() if "==" in line and not line.startswith(("pip==", "setuptools=="))), key=str.lower)
    version = ".".join(map(str, sys.version_info[:2]))
    header = [
        '# Pinned versions of a fresh `pip install -e ".[dev]"` of paretosweep (see tools/lock.py).',
        f"# Resolved on Python {version}, Linux x86_64, with the CPU build of {TORCH} from the machine's wheel folder.",
        '# Install with: pip install -c requirements.lock -e ".[dev]"     Check it: python tools/lock.py --check',
        f"{DIGEST_PREFIX}{digest(pyproject_requirements())}",
    ]
    lock.write_text("\n".join([*header, *pins]) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if requirements.lock is stale against pyproject.toml")
    args = parser.parse_args()
    if args.check:
        problems = staleness()
        for problem in problems:
            print(f"stale lock: {problem}", file=sys.stderr)
        return 1 if problems else 0
    resolve()
    print(f"wrote {LOCK.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
