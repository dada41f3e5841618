"""The store's expected errors: each carries etcd's gRPC status code name and etcd's exact client-visible message,
so the server maps them to the wire in one place and clients see what real etcd would say."""

from __future__ import annotations


class EtcdError(Exception):
    code = "UNKNOWN"
    message = "etcdserver: unknown error"

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)


def _error(name: str, code: str, message: str) -> type[EtcdError]:
    return type(name, (EtcdError,), {"code": code, "message": message})


ErrCompacted = _error("ErrCompacted", "OUT_OF_RANGE", "etcdserver: mvcc: required revision has been compacted")
ErrFutureRev = _error("ErrFutureRev", "OUT_OF_RANGE", "etcdserver: mvcc: required revision is a future revision")
ErrEmptyKey = _error("ErrEmptyKey", "INVALID_ARGUMENT", "etcdserver: key is not provided")
ErrKeyNotFound = _error("ErrKeyNotFound", "INVALID_ARGUMENT", "etcdserver: key not found")
ErrValueProvided = _error("ErrValueProvided", "INVALID_ARGUMENT", "etcdserver: value is provided")
ErrLeaseProvided = _error("ErrLeaseProvided", "INVALID_ARGUMENT", "etcdserver: lease is provided")
ErrDuplicateKey = _error("ErrDuplicateKey", "INVALID_ARGUMENT", "etcdserver: duplicate key given in txn request")
ErrTooManyOps = _error("ErrTooManyOps", "INVALID_ARGUMENT", "etcdserver: too many operations in txn request")
ErrLeaseNotFound = _error("ErrLeaseNotFound", "NOT_FOUND", "etcdserver: requested lease not found")
ErrLeaseExist = _error("ErrLeaseExist", "FAILED_PRECONDITION", "etcdserver: lease already exists")
ErrLeaseTTLTooLarge = _error("ErrLeaseTTLTooLarge", "OUT_OF_RANGE", "etcdserver: too large lease TTL")
ErrRequestTooLarge = _error("ErrRequestTooLarge", "INVALID_ARGUMENT", "etcdserver: request is too large")

MAX_TXN_OPS = 128
MAX_REQUEST_BYTES = int(1.5 * 1024 * 1024)
MAX_LEASE_TTL_S = 9_000_000_000
