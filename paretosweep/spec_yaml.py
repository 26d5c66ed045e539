"""Reading a YAML sweep spec into a plain mapping: syntax errors with their line, a key given twice
with both lines. :func:`paretosweep.config.load_config` validates what it returns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from paretosweep.errors import ConfigError


class DuplicateKeyError(yaml.YAMLError):
    """A mapping of the YAML document gives one key twice (YAML keeps the last one silently)."""

    def __init__(self, key_path: str, first_line: int, second_line: int) -> None:
        super().__init__(key_path, first_line, second_line)
        self.key_path, self.first_line, self.second_line = key_path, first_line, second_line


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping, at any depth.

    The check walks the composed node tree before construction, so it knows each key's path
    (``budget.epochs``) and both lines; anchors, aliases and merge keys (``<<``) load as usual.
    """

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        self._check_unique(node, (), set())
        return self.construct_document(node)

    def _check_unique(self, node: yaml.Node, path: tuple[str, ...], seen: set[int]) -> None:
        if id(node) in seen:  # an alias to a node already checked (or a recursive structure)
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self._check_unique(value_node, path, seen)
                    continue
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else id(key_node)
                line = key_node.start_mark.line + 1
                if key in first:
                    raise DuplicateKeyError(".".join((*path, str(key))), first[key], line)
                first[key] = line
                self._check_unique(value_node, (*path, str(key)), seen)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._check_unique(item, (*path[:-1], f"{path[-1]}[{i}]") if path else (f"[{i}]",), seen)


def read_spec_data(path: str | Path) -> Any:
    """The mapping a YAML sweep spec holds (``name`` defaults to the file's stem), not validated yet.

    Raises:
        ConfigError: the file is missing, is not valid YAML (the message gives the line), or a
            field is unknown, missing or out of range (the message gives its path), or a key is
            given twice in one mapping (the message gives both lines).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Sweep spec `{path}` does not exist. Give the path of a YAML file, e.g. configs/quickstart.yaml.")
    text = path.read_text()
    try:
        data = yaml.load(text, Loader=UniqueKeyLoader)
    except DuplicateKeyError as error:
        raise ConfigError(
            f"`{path}` gives `{error.key_path}` twice (line {error.first_line} and line {error.second_line}); "
            f"YAML would keep only the second one silently. Keep one of them and delete the other."
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"`{path}` is not valid YAML{where}: {problem}. Fix the syntax there.") from None
    if data is None:
        raise ConfigError(f"`{path}` is empty. A spec needs at least a `problem:` block.")
    if isinstance(data, dict):
        data.setdefault("name", path.stem)
    return data
