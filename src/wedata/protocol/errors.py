"""Tencent Cloud error codes and the exception that carries one to the envelope."""

from __future__ import annotations


class ApiError(Exception):
    """An error answered on the wire as ``{"Error": {"Code", "Message"}}`` with HTTP 200."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# Codes used by the protocol layer itself (the domain codes live with the actions).
AUTH_INVALID_AUTHORIZATION = "AuthFailure.InvalidAuthorization"
AUTH_SIGNATURE_FAILURE = "AuthFailure.SignatureFailure"
AUTH_SIGNATURE_EXPIRE = "AuthFailure.SignatureExpire"
AUTH_SECRET_ID_NOT_FOUND = "AuthFailure.SecretIdNotFound"
AUTH_TOKEN_FAILURE = "AuthFailure.TokenFailure"
INVALID_ACTION = "InvalidAction"
NO_SUCH_VERSION = "NoSuchVersion"
MISSING_PARAMETER = "MissingParameter"
UNKNOWN_PARAMETER = "UnknownParameter"
INVALID_PARAMETER = "InvalidParameter"
INVALID_PARAMETER_VALUE = "InvalidParameterValue"
REQUEST_LIMIT_EXCEEDED = "RequestLimitExceeded"
REQUEST_SIZE_LIMIT_EXCEEDED = "RequestSizeLimitExceeded"
UNSUPPORTED_OPERATION = "UnsupportedOperation"
UNSUPPORTED_PROTOCOL = "UnsupportedProtocol"
INTERNAL_ERROR = "InternalError"
