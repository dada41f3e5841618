"""Expected runtime failures, typed so the CRI layer maps each to one gRPC code."""

from __future__ import annotations


class RuntimeFailure(Exception):
    """Base: maps to gRPC UNKNOWN unless a subclass says otherwise."""


class NotFound(RuntimeFailure):
    pass


class InvalidArgument(RuntimeFailure):
    pass


class FailedPrecondition(RuntimeFailure):
    pass


class AlreadyExists(RuntimeFailure):
    pass


class DeadlineExceeded(RuntimeFailure):
    pass
