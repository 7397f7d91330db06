"""Reading the YAML files users write (station and sequence files), strictly and safely.

* safe loading only (no Python objects);
* a key given twice in one mapping is an error naming both lines (YAML's own rule,
  which PyYAML silently breaks by keeping the last: a second ``limits:`` block would
  drop the first without a word);
* aliases are bounded: a document whose aliases would expand past
  :data:`MAX_NODES` nodes is refused at once, before it is built (the "billion
  laughs" document);
* text that is not UTF-8 is refused with the byte and its offset.

Every error is the caller's ``error(path, [problems])``, each problem with its line.
"""

from __future__ import annotations

import pathlib

import yaml

#: nodes a document may expand to through its aliases (a station file has a few hundred)
MAX_NODES = 100_000


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = key_node.value
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} given twice (lines {seen[key]} and {key_node.start_mark.line + 1}); "
                                    "remove one", key_node.start_mark)
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _expanded_size(root) -> int:
    """Nodes the document has once every alias is expanded (memoised: linear in the nodes)."""
    sizes: dict[int, int] = {}

    def size(node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        sizes[key] = 1  # a recursive alias counts once
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        total = min(total, MAX_NODES + 1)
        sizes[key] = total
        return total

    return size(root)


def line_map(node) -> dict[tuple, int]:
    """YAML node tree -> {key path: 1-based line}; each node is visited once (an alias
    keeps the lines of the node it refers to)."""
    out: dict[tuple, int] = {}
    visited: set[int] = set()
    stack = [(node, ())]
    while stack:
        node, path = stack.pop()
        out.setdefault(path, node.start_mark.line + 1)
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                out[path + (key.value,)] = key.start_mark.line + 1
                stack.append((value, path + (key.value,)))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                stack.append((item, path + (i,)))
    return out


def where(lines: dict[tuple, int], loc: tuple) -> str:
    """``line N, a.b.c`` for a key path (the nearest enclosing key's line)."""
    key = ".".join(str(p) for p in loc) or "(top level)"
    for n in range(len(loc), -1, -1):
        probe = tuple(str(p) if not isinstance(p, int) else p for p in loc[:n])
        if probe in lines:
            return f"line {lines[probe]}, {key}"
    return key


def read_text(path: pathlib.Path, error) -> str:
    """A user's file as text; ``error`` for a file that cannot be read or is not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise error(str(path), [f"cannot read the file ({exc.strerror or exc})"]) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise error(str(path), [f"line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                                "save the file as UTF-8"]) from None


def read_yaml(text: str, path: str, error, shape: str) -> tuple[dict, dict[tuple, int]]:
    """YAML text -> (mapping, {key path: line}); ``error(path, problems)`` for bad YAML, a
    key given twice, runaway aliases, or a top level that is not a mapping (``shape``
    says what it should be)."""
    loader = _StrictLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise error(path, [shape])
        if _expanded_size(root) > MAX_NODES:
            raise error(path, [f"its aliases expand to more than {MAX_NODES:,} nodes; refused "
                               "(use fewer or smaller anchors)"])
        data = loader.construct_document(root)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or exc
        if "given twice" in str(problem):
            raise error(path, [str(problem)]) from None
        raise error(path, [f"{at}not valid YAML ({problem})"]) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise error(path, [shape])
    return data, line_map(root)


def validation_problems(exc, lines: dict[tuple, int], hint: str, show_key: bool = False) -> list[str]:
    """A pydantic ValidationError as one line per problem, each with its line in the file:
    an unknown key (``hint`` says where the keys are documented), a missing one, a bad value.
    ``show_key``: name the key's dotted path after the line."""
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if p != "[key]")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key {loc[-1]!r} ({hint})"
        elif err["type"] == "missing":
            msg = "required key is missing"
        key = f"{'.'.join(map(str, loc))}: " if show_key else ""
        problems.append(f"{where(lines, loc)}: {key}{msg}")
    return problems
