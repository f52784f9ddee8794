"""The error every service raises for a rule a merchant broke; views show its message."""

from typing import Any


class ServiceError(Exception):
    """A rule was broken; ``message`` is for people, ``field`` names the form field."""

    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def __str__(self) -> str:
        return self.message
