"""Request records (models.Record) for tests of code that takes one: the fields a test names, the
required ones filled in."""

from __future__ import annotations

from typing import Any

import msgspec

from piko.models import Record

STAMP = "2026-01-01T00:00:00.000Z"


def record(**fields: Any) -> Record:
    """A Record with `fields` (as the wire has them: options and details as JSON objects are converted)."""
    base: dict[str, Any] = {"id": "r1", "status": "pending", "kind": "permission",
                            "hook_event_name": "PermissionRequest", "created_at": STAMP, "updated_at": STAMP}
    return msgspec.convert({**base, **fields}, Record)
