"""Domain errors. Each carries its HTTP status and a fix; one handler renders problem+json.

Messages say what was wrong, ``where`` says where (a field path, a file line and column),
``fix`` says how to put it right.
"""

from __future__ import annotations

from typing import Any


class ArpolicyError(Exception):
    status: int = 400
    type: str = "error"

    def __init__(self, message: str, *, fix: str | None = None, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.where = where

    def __str__(self) -> str:
        parts = [f"{self.where}: {self.message}" if self.where else self.message]
        if self.fix:
            parts.append(f"fix: {self.fix}")
        return "; ".join(parts)

    def to_problem(self) -> dict[str, Any]:
        """RFC 9457 problem details."""
        body: dict[str, Any] = {
            "type": f"https://arpolicy.dev/problems/{self.type}",
            "title": self.type.replace("-", " "),
            "status": self.status,
            "detail": self.message,
        }
        if self.where:
            body["where"] = self.where
        if self.fix:
            body["fix"] = self.fix
        return body


class ValidationError(ArpolicyError):
    status = 422
    type = "validation-error"


class NotFoundError(ArpolicyError):
    status = 404
    type = "not-found"


class PermissionDeniedError(ArpolicyError):
    """The caller is known but may not do this (HTTP 403)."""

    status = 403
    type = "forbidden"


class ConflictError(ArpolicyError):
    status = 409
    type = "conflict"


class MissingRateError(ArpolicyError):
    """No FX rate on or before a date for a currency pair."""

    status = 422
    type = "missing-fx-rate"


class ConfigurationError(ArpolicyError):
    status = 500
    type = "configuration-error"
