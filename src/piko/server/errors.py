"""The error an API route answers with instead of doing what was asked."""

from __future__ import annotations

from typing import Any


class ApiRefusal(Exception):
    """An answer the API gives instead of doing what was asked: HTTP status, machine code, sentence."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra
