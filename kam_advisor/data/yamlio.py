"""Safe YAML/JSON loading that remembers where every mapping and key came from.

Everything the user or a domain expert writes is read here, so that validation errors can
name the file and line. The loader is PyYAML's SafeLoader (no arbitrary objects); it only
adds line bookkeeping to the mappings it builds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from kam_advisor.data.errors import DataError

try:  # the C loader is several times faster and just as safe
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader


class LineDict(dict):
    """A dict that knows the line of its start and of each key (1-based)."""

    __slots__ = ("line", "key_lines")

    def __init__(self, *args, line: int = 0, key_lines: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.line = line
        self.key_lines = key_lines or {}

    def line_of(self, key) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    __slots__ = ("line", "item_lines")

    def __init__(self, *args, line: int = 0, item_lines: list | None = None):
        super().__init__(*args)
        self.line = line
        self.item_lines = item_lines or []

    def line_of(self, index: int) -> int:
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line


class _LineLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    pass


def _construct_mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    result = LineDict(line=node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise DataError(
                f"a mapping key must be a plain value (got {type(key).__name__})",
                line=key_node.start_mark.line + 1,
            )
        if key in result:
            raise DataError(f"duplicate key '{key}'", line=key_node.start_mark.line + 1)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader, node, deep=False):
    items = [loader.construct_object(child, deep=True) for child in node.value]
    return LineList(items, line=node.start_mark.line + 1,
                    item_lines=[child.start_mark.line + 1 for child in node.value])


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def parse_yaml(text: str, path=None) -> Any:
    """Parse YAML text with line bookkeeping; any problem becomes a one-line DataError."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - _LineLoader derives from SafeLoader
    except DataError as err:
        raise DataError(err.message, path, err.line) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else None
        problem = err.problem or err.context or "invalid YAML"
        raise DataError(f"malformed YAML: {problem}", path, line) from None
    except yaml.YAMLError as err:
        raise DataError(f"malformed YAML: {err}", path) from None


def read_text(path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError("file not found", path) from None
    except IsADirectoryError:
        raise DataError("is a directory, expected a file", path) from None
    except UnicodeDecodeError as err:
        raise DataError(f"not UTF-8 text ({err.reason} at byte {err.start})", path) from None
    except OSError as err:
        raise DataError(f"cannot read: {err.strerror}", path) from None


def load_file(path) -> Any:
    """Load a YAML or JSON file (JSON is YAML, but JSON errors read better from json)."""
    text = read_text(path)
    if str(path).endswith(".json"):
        try:
            json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(f"malformed JSON: {err.msg} (column {err.colno})", path, err.lineno) from None
    return parse_yaml(text, path)


def word_for_boolean(value: Any) -> Any:
    """YAML 1.1 reads yes / no as booleans; answers and mapping keys use the words."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return value


def plain(value: Any) -> Any:
    """Strip line bookkeeping: LineDict/LineList become dict/list (for export and hashing)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
