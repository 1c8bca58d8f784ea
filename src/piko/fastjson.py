"""JSON for the hook's hot path, straight from CPython's C accelerator (`_json`).

`import json` costs about as much as starting Python itself (it pulls in `re`, which pulls in `enum`), and
`piko cc notify` runs on every Claude Code event with a budget of a few milliseconds. The C scanner and
string encoder need none of that. Anything unusual (malformed input, a missing accelerator, a value the
small encoder does not know) falls back to the real `json` module, so behaviour and errors are json's own.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `from typing import ...`: typing imports re
if TYPE_CHECKING:
    from typing import Any

try:
    import _json
except ImportError:  # pragma: no cover - other interpreters
    _json = None  # type: ignore[assignment]

_WHITESPACE = " \t\n\r"


class _Context:
    """The attributes `_json.make_scanner` reads from a JSONDecoder: json.loads' defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float  # NaN, Infinity, -Infinity, as json.loads accepts them
    memo: dict[str, str] = {}  # noqa: RUF012 - the scanner's own key cache, as in JSONDecoder


# typeshed types the context as a JSONDecoder; the scanner only reads the attributes above.
_scan = _json.make_scanner(_Context()) if _json is not None else None  # type: ignore[arg-type]


def loads(text: str | bytes) -> Any:
    """Like `json.loads` (raises `json.JSONDecodeError` / `ValueError` on bad input)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")  # UnicodeDecodeError is a ValueError, like json's
    if _scan is not None:
        start = len(text) - len(text.lstrip(_WHITESPACE))
        try:
            value, end = _scan(text, start)
        except Exception:  # noqa: BLE001 - malformed: let json produce its own error
            pass
        else:
            if not text[end:].strip(_WHITESPACE):
                return value
    import json

    return json.loads(text)


def dumps(value: Any) -> str:
    """Like `json.dumps(value)` with its defaults (ASCII only, ", " and ": " separators)."""
    if _json is None:  # pragma: no cover
        import json

        return json.dumps(value)
    parts: list[str] = []
    try:
        _encode(value, parts, 0)
    except (TypeError, RecursionError):
        import json

        return json.dumps(value)
    return "".join(parts)


def _encode(value: Any, out: list[str], depth: int) -> None:
    if depth > 200:
        raise RecursionError
    if isinstance(value, str):
        out.append(_json.encode_basestring_ascii(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise TypeError  # json's spelling of NaN and Infinity
        out.append(float.__repr__(value))
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError
            if not first:
                out.append(", ")
            first = False
            out.append(_json.encode_basestring_ascii(key))
            out.append(": ")
            _encode(item, out, depth + 1)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(", ")
            _encode(item, out, depth + 1)
        out.append("]")
    else:
        raise TypeError
