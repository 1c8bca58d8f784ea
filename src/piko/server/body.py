"""Reading a request's JSON body: bounded in size, strict JSON (no NaN/Infinity), a 4xx with a sentence
otherwise. Every route that takes a body reads it here."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from piko.server.errors import ApiRefusal

MAX_BODY = 1024 * 1024


async def read_json(request: Request, limit: int = MAX_BODY, *, empty: Any = None) -> Any:
    """The request body as JSON, at most `limit` bytes; ApiRefusal (400/413) otherwise. An empty body is
    `empty` when one is given (a body whose fields are all optional), else refused like any bad JSON."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise ApiRefusal(413, "too_large", f"the body is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiRefusal(413, "too_large", f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body and empty is not None:
        return empty
    try:
        return json.loads(body, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise ApiRefusal(400, "bad_json", f"the body is not valid JSON: {e}") from None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
