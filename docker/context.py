"""The Docker build context that ``docker build -f docker/Dockerfile.<kind> .`` sends.

BuildKit filters the repository through ``docker/Dockerfile.<kind>.dockerignore``. This
module applies the same rules, so that ``docker/validate.sh`` can build the package from
exactly the files the image gets (``pip install /app``) and the tests can check that secrets
and local state stay out of the image, all without a Docker engine.

Docker's rules (moby/patternmatcher), as implemented here: patterns are anchored at the
context root; ``*`` and ``?`` never cross ``/``; ``**`` matches any number of directories;
a pattern that matches a directory excludes everything under it; ``!pattern`` re-includes;
the last matching pattern wins. Character classes (``[...]``) and escapes are not supported
and are rejected, so a pattern this module cannot read fails loudly instead of silently.

Usage: ``python docker/context.py --dockerignore FILE --copy-to DIR`` copies the context.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def load_patterns(dockerignore: Path) -> list[tuple[bool, re.Pattern[str]]]:
    """Read a .dockerignore file into ``(negated, regex)`` rules, in file order."""
    rules = []
    for lineno, raw in enumerate(dockerignore.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line[1:].strip() if negated else line
        if any(ch in pattern for ch in "[]\\"):
            raise ValueError(
                f"{dockerignore}:{lineno}: pattern {line!r} uses a character class or an "
                "escape, which docker/context.py does not implement; write it without one."
            )
        pattern = os.path.normpath(pattern).lstrip("/")
        rules.append((negated, re.compile(_to_regex(pattern))))
    return rules


def _to_regex(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "^" + "".join(out) + "$"


def is_excluded(relpath: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether Docker leaves ``relpath`` (relative to the context root) out of the context."""
    parts = relpath.strip("/").split("/")
    # The path itself and each of its parent directories: excluding a directory excludes
    # what is under it.
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for negated, regex in rules:
        if any(regex.match(c) for c in candidates):
            excluded = not negated
    return excluded


def context_files(root: Path, rules: list[tuple[bool, re.Pattern[str]]]) -> list[str]:
    """Relative paths of the regular files that enter the build context."""
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        # Prune excluded directories unless a negation pattern could re-include something.
        if not any(negated for negated, _ in rules):
            dirnames[:] = [d for d in dirnames if not is_excluded(rel_dir + d, rules)]
        for name in filenames:
            rel = rel_dir + name
            if os.path.isfile(os.path.join(dirpath, name)) and not is_excluded(rel, rules):
                files.append(rel)
    return sorted(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dockerignore", type=Path, required=True)
    parser.add_argument("--root", type=Path, default=REPO_ROOT)
    parser.add_argument("--copy-to", type=Path, help="copy the context into this directory")
    args = parser.parse_args(argv)

    files = context_files(args.root, load_patterns(args.dockerignore))
    if args.copy_to is None:
        print("\n".join(files))
        return 0
    for rel in files:
        target = args.copy_to / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(args.root / rel, target)
    print(f"{len(files)} files copied to {args.copy_to}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
