"""Safe YAML/JSON loading that remembers where every mapping and key came from.

Everything the user or a domain expert writes is read here, so that validation errors can
name the file and line. The loader is PyYAML's SafeLoader (no arbitrary objects); it only
adds line bookkeeping to the mappings it builds.

Hostile input is refused before it can cost anything (the "limits" section): ``open_regular``
reads only regular files up to MAX_FILE_BYTES, without blocking on a FIFO or reading a
device; ``check_limits`` streams the parser's events and stops at the first value past a
limit (depth, values with aliases expanded, keys, text and number length, tags, control
characters), and ``parse_yaml`` builds the common document from those same events, in the same
pass; ``_harden_loader`` drops YAML 1.1's base-60 numbers, refuses NaN and infinity and
turns a value that fails to construct into a one-line error. Any other loading path (a fast
path, a cache) calls ``open_regular`` and ``check_limits`` the same way.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import stat
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


# --- limits: what any YAML/JSON file may hold (hostile input is refused fast, on one line) ------------

MAX_FILE_BYTES = 10 * 1024 * 1024   # 10 MiB: the full-audit questionnaire is 80 KB
MAX_DEPTH = 64                      # nested mappings/lists; our deepest file nests 9
MAX_NODES = 200_000                 # values in a document, aliases expanded (full-audit: ~3,000)
MAX_KEYS = 5_000                    # keys of one mapping (full-audit has 177 answers)
MAX_TEXT = 100_000                  # characters of one value
MAX_KEY_TEXT = 1_000                # characters of one key
MAX_NUMBER_DIGITS = 100             # characters of one number
ALLOWED_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq"))
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _tag_name(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag


def open_regular(path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; a device, FIFO or folder is refused
    without blocking or reading it."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise DataError("file not found", path) from None
    except IsADirectoryError:
        raise DataError("is a folder, expected a file", path) from None
    except OSError as err:
        raise DataError(f"cannot read: {err.strerror}", path) from None
    info = os.fstat(fd)
    problem = ("is a folder, expected a file" if stat.S_ISDIR(info.st_mode) else
               "not a regular file (a device, pipe or socket); expected a file" if not stat.S_ISREG(info.st_mode) else
               f"file too large ({info.st_size:,} bytes; the limit is {limit:,})" if info.st_size > limit else None)
    if problem:
        os.close(fd)
        raise DataError(problem, path)
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(limit + 1)
        except OSError as err:
            raise DataError(f"cannot read: {err.strerror}", path) from None
    if len(data) > limit:
        raise DataError(f"file too large (over {limit:,} bytes)", path)
    return data


def check_limits(text: str, path=None) -> None:
    """Refuse, before building anything, a document past the limits above: too deep, too many
    values (aliases counted as what they expand to), too long a text, number or key, a mapping
    with too many keys, a tag other than plain YAML's, or control characters in text.

    Streams libyaml's events, so it stops at the first problem (a 100,000-deep document is
    refused after 65 events) and never recurses (deep nesting cannot exhaust the stack)."""
    _scan(text, path, build=False)


_SLOW = object()  # _scan's answer when the document needs PyYAML's full loader


def _scan(text: str, path=None, build: bool = True) -> Any:
    """check_limits, and with ``build`` the document itself from the same events: LineDict and
    LineList with their lines, scalars resolved and constructed as _LineLoader does.

    Building covers the common case only: anything else (anchors and aliases, merge keys, keys
    that are not plain values, duplicate keys, explicit tags on collections, a value that fails to
    construct, several documents) stops the building, never the checking, and the answer is
    _SLOW: parse_yaml then loads the text with _LineLoader, which reports or handles it as ever.
    One pass instead of two (checking, then PyYAML's composer and constructor) reads an answers
    file in about half the time."""
    sizes: dict[str, int] = {}             # anchor -> number of values it stands for
    stack: list[list] = []                 # per open collection: [values inside, anchor, children, is mapping]
    built: list[list] = []                 # per open collection: [container, pending key, key line]
    root: list = []
    documents = 0
    total = 0
    resolvers = _LineLoader.yaml_implicit_resolvers
    wildcard = resolvers.get(None, [])
    constructors = _LineLoader.yaml_constructors

    def fail(message, event):
        raise DataError(message, path, event.start_mark.line + 1)

    def count(values, event):
        """``values`` more values in the document, as one child of the innermost open collection."""
        nonlocal total
        total += values
        if total > MAX_NODES:
            fail(f"too many values (over {MAX_NODES:,}, aliases counted as what they repeat)", event)
        if stack:
            top = stack[-1]
            top[0] += values
            top[2] += 1
            if top[3] and top[2] > 2 * MAX_KEYS:
                fail(f"a mapping with more than {MAX_KEYS:,} keys", event)

    def place(value, line, is_key_text) -> bool:
        """Put a built value into the open collection (or make it the document); False: cannot."""
        if not built:
            root.append(value)
            return True
        top = built[-1]
        container = top[0]
        if container.__class__ is LineList:
            container.append(value)
            container.item_lines.append(line)
            return True
        if top[1] is _SLOW:                  # expecting a key
            if not is_key_text or value in container:
                return False                 # a collection as a key, or a duplicate: the loader says so
            top[1], top[2] = value, line
            return True
        container[top[1]] = value
        container.key_lines[top[1]] = top[2]
        top[1] = _SLOW
        return True

    try:
        for event in yaml.parse(text, Loader=_BaseLoader):
            kind = type(event)
            if kind is yaml.AliasEvent:
                if event.anchor not in sizes:
                    fail(f"unknown alias '*{event.anchor}'", event)
                count(sizes[event.anchor], event)
                build = False
                continue
            tag = getattr(event, "tag", None)
            if tag is not None and tag != "!" and tag not in ALLOWED_TAGS:
                fail(f"tag '{_tag_name(tag)}' is not allowed (plain YAML only: text, numbers, true/false, "
                     "lists and mappings)", event)
            if kind is yaml.ScalarEvent:
                value = event.value
                is_key = bool(stack) and stack[-1][3] and stack[-1][2] % 2 == 0
                limit = MAX_KEY_TEXT if is_key else MAX_TEXT
                if len(value) > limit:
                    fail(f"{'key' if is_key else 'text'} too long ({len(value):,} characters; "
                         f"the limit is {limit:,})", event)
                if event.implicit[0] and len(value) > MAX_NUMBER_DIGITS and _looks_numeric(value):
                    fail(f"number too long ({len(value):,} characters; the limit is {MAX_NUMBER_DIGITS})", event)
                control = _CONTROL.search(value)
                if control:
                    fail(f"control character U+{ord(control.group()):04X} in text (not allowed)", event)
                count(1, event)
                if event.anchor:
                    sizes[event.anchor] = 1
                    build = False
                if build:
                    if tag is None or tag == "!":
                        tag = _STR
                        if event.implicit[0]:
                            for resolved, regexp in resolvers.get(value[:1], []) + wildcard:
                                if regexp.match(value):
                                    tag = resolved
                                    break
                    if tag is not _STR and tag != _STR:
                        constructor = constructors.get(tag)
                        if constructor is None:      # a merge key ("<<"), "=": the loader's business
                            build = False
                            continue
                        try:
                            value = constructor(_constructor(), yaml.ScalarNode(tag, value, event.start_mark,
                                                                                event.end_mark))
                        except Exception:  # noqa: BLE001 - the loader turns it into its one-line error
                            build = False
                            continue
                    build = place(value, event.start_mark.line + 1, True)
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                if len(stack) >= MAX_DEPTH:
                    fail(f"nested too deeply (more than {MAX_DEPTH} levels)", event)
                total += 1
                stack.append([1, event.anchor, 0, kind is yaml.MappingStartEvent])
                if build and (event.anchor or (tag is not None and tag != "!" and
                                               tag != (_MAP if kind is yaml.MappingStartEvent else _SEQ))):
                    build = False
                if build:
                    line = event.start_mark.line + 1
                    container = LineDict(line=line) if kind is yaml.MappingStartEvent else LineList(line=line)
                    build = place(container, line, False)
                    built.append([container, _SLOW, 0])
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                values, anchor, _, _ = stack.pop()
                if anchor:
                    sizes[anchor] = values
                if stack:  # the collection itself was counted at its start; its children as they came
                    stack[-1][0] += values
                    stack[-1][2] += 1
                if build:
                    built.pop()
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    build = False          # "expected a single document": the loader says so
    except yaml.YAMLError:
        return _SLOW  # malformed: parse_yaml reports it with its line
    if not build:
        return _SLOW
    return root[0] if root else None


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
@functools.cache
def _constructor():
    """One _LineLoader, for its scalar constructors (they read only the node they are given)."""
    return _LineLoader("")


_NUMERIC = re.compile(r"^[-+]?[0-9_.]+(?:[eE][-+]?[0-9]+)?$|^[-+]?0x[0-9a-fA-F_]+$|^[-+]?0b[01_]+$")


def _looks_numeric(value: str) -> bool:
    return bool(_NUMERIC.match(value))


# YAML 1.1 reads 1:30 as 90 (base 60): these files mean the text "1:30".
_INT = re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$")
_FLOAT = re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
                    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")


def _harden_loader(loader_class) -> None:
    """No base-60 numbers; NaN and infinity refused; a value that fails to construct (2026-02-30,
    ``!!int abc``) becomes a one-line error at its line instead of a traceback."""
    replaced = {"tag:yaml.org,2002:int": _INT, "tag:yaml.org,2002:float": _FLOAT}
    loader_class.yaml_implicit_resolvers = {
        first: [(tag, replaced.get(tag, regexp)) for tag, regexp in resolvers]
        for first, resolvers in loader_class.yaml_implicit_resolvers.items()}

    def construct_float(loader, node):
        value = yaml.constructor.SafeConstructor.construct_yaml_float(loader, node)
        if not math.isfinite(value):
            raise DataError("not a number or infinite (.nan, .inf) is not allowed", line=node.start_mark.line + 1)
        return value

    loader_class.add_constructor("tag:yaml.org,2002:float", construct_float)


_TAG_WORDS = {f"tag:yaml.org,2002:{t}": word for t, word in
              (("int", "whole number"), ("float", "number"), ("timestamp", "date"), ("bool", "true/false"))}


class _LineLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep=deep)
        except (DataError, yaml.YAMLError, RecursionError):
            raise
        except Exception as err:  # noqa: BLE001 - PyYAML's constructors fail in many ways on bad values
            what = _TAG_WORDS.get(node.tag, "value")
            raise DataError(f"not a valid {what}: {node.value!r} ({err})"[:300], line=node.start_mark.line + 1) from None


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
_harden_loader(_LineLoader)


def parse_yaml(text: str, path=None) -> Any:
    """Parse YAML text with line bookkeeping; any problem becomes a one-line DataError."""
    document = _scan(text, path)
    return _load(text, path) if document is _SLOW else document


def _load(text: str, path=None) -> Any:
    """PyYAML's loader with line bookkeeping (after check_limits): every document _scan does not build."""
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
    """A regular file's text (UTF-8, at most MAX_FILE_BYTES); anything else is a one-line DataError."""
    data = open_regular(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"not UTF-8 text ({err.reason} at byte {err.start})", path,
                        data.count(b"\n", 0, err.start) + 1) from None
    if "\x00" in text:
        raise DataError("a NUL byte: not a text file", path, text.count("\n", 0, text.index("\x00")) + 1)
    return text


def load_file(path) -> Any:
    """Load a YAML or JSON file (JSON is YAML, but JSON errors read better from json)."""
    text = read_text(path)
    if str(path).endswith(".json"):
        try:
            json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(f"malformed JSON: {err.msg} (column {err.colno})", path, err.lineno) from None
        except (RecursionError, ValueError):
            pass  # too deep, or a number too long: check_limits names the line
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
