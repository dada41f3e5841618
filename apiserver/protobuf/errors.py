"""The one error type of apiserver.protobuf (re-exported by the package)."""

from __future__ import annotations


class ProtobufError(ValueError):
    """A body the Kubernetes protobuf decoder would refuse; the message is worded like the Go decoder's and is
    meant to be returned as a 400 BadRequest Status."""
