"""JSON as c3bench accepts it from someone else: one reading only.

Python's ``json`` keeps the last of two equal keys where other readers keep the first, reads integers
of any size, NaN and Infinity, and nests as deep as the stack allows. A record or a board declaration
read here has none of that: :func:`loads` refuses duplicate keys, integers beyond 64 bits, NaN,
infinities and floats beyond float range, and nesting deeper than :data:`MAX_DEPTH`, each with a
message naming what and where.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32  # objects and arrays inside each other; a result record uses about 6
INT_LIMIT = 2**63  # integers are in (-2^63, 2^63): what every reader stores in 64 bits


class Refused(ValueError):
    """JSON that parses somewhere but not the same everywhere; the message says why."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise Refused(f"the key {key!r} appears twice in one object (readers disagree on which one counts)")
        obj[key] = value
    return obj


def _int64(text: str) -> int:
    if len(text.lstrip("-")) > 19:
        raise Refused(f"the integer {text[:24]}{'...' if len(text) > 24 else ''} is beyond 64 bits")
    value = int(text)
    if not -INT_LIMIT < value < INT_LIMIT:
        raise Refused(f"the integer {text} is beyond 64 bits")
    return value


def _finite(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise Refused(f"{text} is not a finite number")
    return value


def _no_constant(name: str) -> float:
    raise Refused(f"{name} is not a number a run can produce")


def depth(obj: Any) -> int:
    """How deep arrays and objects nest in ``obj`` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


def loads(data: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``data`` strictly (see the module doc); raise :class:`Refused`, json.JSONDecodeError or
    UnicodeDecodeError."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_int=_int64, parse_float=_finite,
                           parse_constant=_no_constant)
    except RecursionError:
        raise Refused(f"it nests objects and arrays more than {max_depth} levels deep") from None
    if depth(value) > max_depth:
        raise Refused(f"it nests objects and arrays {depth(value)} levels deep; at most {max_depth} are allowed")
    return value
