"""Domain errors raised by services. The actions layer maps them onto Tencent Cloud codes."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class; ``message`` is shown to the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    """An id does not name an existing (live) resource."""


class InvalidValue(ServiceError):
    """A value is outside its enum, range or format, or breaks a rule (e.g. a dependency cycle)."""


class Duplicate(ServiceError):
    """A name already exists in its scope."""


class InUse(ServiceError):
    """The resource cannot be removed or changed while something depends on it."""


class NotMember(ServiceError):
    """The caller is not a member of the project."""


class Forbidden(ServiceError):
    """The caller lacks the permission for this operation."""


class OperationFailed(ServiceError):
    """The state of the resource does not allow the operation."""


class Unsupported(ServiceError):
    """The operation exists but is not supported in this situation."""
