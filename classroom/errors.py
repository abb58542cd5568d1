"""Domain errors. The server maps them to HTTP/WebSocket codes in one place.

DomainError
├── InvalidTransition   a state machine refused a transition
├── NotFound            an entity does not exist
├── Conflict            the request clashes with the current state
├── ValidationError     input is malformed or out of bounds
├── PermissionDenied    the caller may not do this
└── RateLimited         the caller asked too often; retry later
"""

from __future__ import annotations

__all__ = [
    "Conflict",
    "DomainError",
    "InvalidTransition",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "ValidationError",
]


class DomainError(Exception):
    """Base of every error raised by the classroom domain."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else type(self).__name__


class InvalidTransition(DomainError):
    """A guarded state transition was refused."""


class NotFound(DomainError):
    """The entity asked for does not exist."""


class Conflict(DomainError):
    """The request clashes with the current state (e.g. a duplicate id)."""


class ValidationError(DomainError):
    """Input is malformed or out of bounds; nothing was changed."""


class PermissionDenied(DomainError):
    """The caller is not allowed to do this."""


class RateLimited(DomainError):
    """The caller asked too often (e.g. guessing check-in codes); nothing was changed."""


class LedgerTampered(DomainError):
    """The ledger does not follow from the last checkpoint this node trusts: it was edited or
    rolled back behind the server's back. Nothing is appended or signed until an admin looks."""
