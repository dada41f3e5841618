"""Async etcd v3 client (grpc.aio) with endpoint failover: what the apiserver and tools use to reach the store.

Works unchanged against etcd_raft and a real etcd (same wire protocol). Contracts:

- ``EtcdClient(["http://127.0.0.1:2379", ...])`` keeps one channel per endpoint and a *current* endpoint. A call that
  fails with UNAVAILABLE moves to the next endpoint.
- Retrying is safe only when the request cannot have been applied. Reads are always retried. A write is retried only
  when the failure is definite: the connection could not be made (nothing was sent) or the server answered
  ``etcdserver: no leader`` / ``not capable``-style refusals before proposing. A write cut off mid-flight (connection
  reset, deadline) raises :class:`Unavailable` with ``maybe_applied=True``: the caller decides (the apiserver maps it
  to a 504/500 Status, as kube-apiserver does on an etcd timeout).
- Every other gRPC error becomes :class:`EtcdError` carrying the gRPC code name and etcd's message.
- ``watch()`` is an async iterator of ``WatchResponse`` batches that resumes on another endpoint from the revision
  after the last event it delivered; a compacted start revision raises :class:`Compacted`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from etcd_raft.pb import kv_pb2, rpc_pb2, rpc_pb2_grpc

log = logging.getLogger(__name__)

T = TypeVar("T")

# Substrings of gRPC/etcd error messages that prove a request was not applied (safe to retry a write).
_NOT_SENT_MARKERS = ("failed to connect", "connection refused", "connect failed", "no leader",
                     "name resolution", "dns resolution", "unable to connect", "not ready")


class EtcdError(Exception):
    """An error answered by the store; ``code`` is the gRPC status code name (e.g. ``FAILED_PRECONDITION``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Unavailable(EtcdError):
    """No endpoint could serve the request. ``maybe_applied`` is True when a write may have been applied."""

    def __init__(self, message: str, maybe_applied: bool = False) -> None:
        super().__init__("UNAVAILABLE", message)
        self.maybe_applied = maybe_applied


class Compacted(EtcdError):
    """The requested revision was compacted; ``compact_revision`` is the oldest revision still available."""

    def __init__(self, compact_revision: int, message: str = "etcdserver: mvcc: required revision has been compacted"):
        super().__init__("OUT_OF_RANGE", message)
        self.compact_revision = compact_revision


# Re-exported so that users of the client (the apiserver) need nothing else from etcd_raft.
KeyValue = kv_pb2.KeyValue
EVENT_DELETE = kv_pb2.Event.DELETE


def prefix_end(prefix: bytes) -> bytes:
    """The range_end that makes [prefix, end) cover every key starting with ``prefix`` (etcd's GetPrefixRangeEnd)."""
    end = bytearray(prefix)
    for i in range(len(end) - 1, -1, -1):
        if end[i] < 0xFF:
            end[i] += 1
            return bytes(end[: i + 1])
    return b"\x00"


def _target(endpoint: str) -> str:
    for scheme in ("http://", "https://", "unix://"):
        if endpoint.startswith(scheme):
            return endpoint if scheme == "unix://" else endpoint[len(scheme):]
    return endpoint


def _definitely_not_applied(err: grpc.aio.AioRpcError) -> bool:
    text = f"{err.details() or ''} {err.debug_error_string() or ''}".lower()
    return any(m in text for m in _NOT_SENT_MARKERS)


@dataclass
class _Endpoint:
    url: str
    channel: grpc.aio.Channel
    kv: rpc_pb2_grpc.KVStub
    watch: rpc_pb2_grpc.WatchStub
    lease: rpc_pb2_grpc.LeaseStub
    cluster: rpc_pb2_grpc.ClusterStub
    maintenance: rpc_pb2_grpc.MaintenanceStub


class EtcdClient:
    """Async etcd v3 client over several endpoints. Create inside a running event loop; ``await close()`` at the end."""

    def __init__(self, endpoints: Sequence[str], timeout_s: float = 5.0, retry_backoff_s: float = 0.05,
                 max_retry_s: float = 7.0) -> None:
        if not endpoints:
            raise ValueError("at least one etcd endpoint is required")
        options = [("grpc.max_receive_message_length", 64 * 1024 * 1024),
                   ("grpc.max_send_message_length", 64 * 1024 * 1024),
                   ("grpc.initial_reconnect_backoff_ms", 100), ("grpc.max_reconnect_backoff_ms", 1000)]
        self._eps: list[_Endpoint] = []
        for url in endpoints:
            ch = grpc.aio.insecure_channel(_target(url), options=options)
            self._eps.append(_Endpoint(url, ch, rpc_pb2_grpc.KVStub(ch), rpc_pb2_grpc.WatchStub(ch),
                                       rpc_pb2_grpc.LeaseStub(ch), rpc_pb2_grpc.ClusterStub(ch),
                                       rpc_pb2_grpc.MaintenanceStub(ch)))
        self._current = 0
        self.timeout_s = timeout_s
        self.retry_backoff_s = retry_backoff_s
        self.max_retry_s = max_retry_s

    @property
    def endpoints(self) -> list[str]:
        return [e.url for e in self._eps]

    async def close(self) -> None:
        for e in self._eps:
            await e.channel.close()

    async def _call(self, method: str, stub_attr: str, request: Any, *, idempotent: bool) -> Any:
        """Call ``stub_attr.method`` on the current endpoint, failing over per the module's retry contract."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_retry_s
        attempt = 0
        last: grpc.aio.AioRpcError | None = None
        while True:
            ep = self._eps[self._current]
            stub = getattr(ep, stub_attr)
            try:
                return await getattr(stub, method)(request, timeout=self.timeout_s)
            except grpc.aio.AioRpcError as err:
                last = err
                code = err.code()
                if code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise _as_etcd_error(err) from None
                retry_ok = idempotent or (code == grpc.StatusCode.UNAVAILABLE and _definitely_not_applied(err))
                if not retry_ok:
                    raise Unavailable(err.details() or "etcd request failed", maybe_applied=True) from None
                self._current = (self._current + 1) % len(self._eps)
                attempt += 1
                if loop.time() >= deadline:
                    break
                if attempt % len(self._eps) == 0:
                    await asyncio.sleep(min(self.retry_backoff_s * 2 ** (attempt // len(self._eps)), 0.5))
        raise Unavailable(last.details() if last else "no etcd endpoint available", maybe_applied=False)

    # --- KV ---------------------------------------------------------------------------------------------------
    async def range(self, key: bytes, range_end: bytes = b"", *, limit: int = 0, revision: int = 0,
                    keys_only: bool = False, count_only: bool = False, serializable: bool = False,
                    sort_order: str = "NONE", sort_target: str = "KEY") -> rpc_pb2.RangeResponse:
        req = rpc_pb2.RangeRequest(key=key, range_end=range_end, limit=limit, revision=revision,
                                   keys_only=keys_only, count_only=count_only, serializable=serializable,
                                   sort_order=sort_order, sort_target=sort_target)
        resp: rpc_pb2.RangeResponse = await self._call("Range", "kv", req, idempotent=True)
        return resp

    async def get(self, key: bytes, *, revision: int = 0) -> kv_pb2.KeyValue | None:
        resp = await self.range(key, revision=revision)
        return resp.kvs[0] if resp.kvs else None

    async def put(self, key: bytes, value: bytes, *, lease: int = 0, prev_kv: bool = False) -> rpc_pb2.PutResponse:
        resp: rpc_pb2.PutResponse = await self._call(
            "Put", "kv", rpc_pb2.PutRequest(key=key, value=value, lease=lease, prev_kv=prev_kv), idempotent=False)
        return resp

    async def delete(self, key: bytes, range_end: bytes = b"", *,
                     prev_kv: bool = False) -> rpc_pb2.DeleteRangeResponse:
        resp: rpc_pb2.DeleteRangeResponse = await self._call(
            "DeleteRange", "kv", rpc_pb2.DeleteRangeRequest(key=key, range_end=range_end, prev_kv=prev_kv),
            idempotent=False)
        return resp

    async def txn(self, compare: Sequence[rpc_pb2.Compare], success: Sequence[rpc_pb2.RequestOp],
                  failure: Sequence[rpc_pb2.RequestOp] = ()) -> rpc_pb2.TxnResponse:
        read_only = all(op.WhichOneof("request") == "request_range" for op in [*success, *failure])
        resp: rpc_pb2.TxnResponse = await self._call(
            "Txn", "kv", rpc_pb2.TxnRequest(compare=compare, success=success, failure=failure), idempotent=read_only)
        return resp

    async def compact(self, revision: int, physical: bool = False) -> rpc_pb2.CompactionResponse:
        # Compaction is idempotent: compacting an already-compacted revision is answered with ErrCompacted.
        resp: rpc_pb2.CompactionResponse = await self._call(
            "Compact", "kv", rpc_pb2.CompactionRequest(revision=revision, physical=physical), idempotent=True)
        return resp

    # --- Txn building helpers -----------------------------------------------------------------------------
    @staticmethod
    def cmp_mod_revision(key: bytes, rev: int) -> rpc_pb2.Compare:
        return rpc_pb2.Compare(key=key, result=rpc_pb2.Compare.EQUAL, target=rpc_pb2.Compare.MOD, mod_revision=rev)

    @staticmethod
    def cmp_create_revision(key: bytes, rev: int) -> rpc_pb2.Compare:
        return rpc_pb2.Compare(key=key, result=rpc_pb2.Compare.EQUAL, target=rpc_pb2.Compare.CREATE,
                               create_revision=rev)

    @staticmethod
    def op_put(key: bytes, value: bytes, lease: int = 0) -> rpc_pb2.RequestOp:
        return rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=key, value=value, lease=lease))

    @staticmethod
    def op_get(key: bytes) -> rpc_pb2.RequestOp:
        return rpc_pb2.RequestOp(request_range=rpc_pb2.RangeRequest(key=key))

    @staticmethod
    def op_delete(key: bytes, prev_kv: bool = False) -> rpc_pb2.RequestOp:
        return rpc_pb2.RequestOp(request_delete_range=rpc_pb2.DeleteRangeRequest(key=key, prev_kv=prev_kv))

    # --- Lease ----------------------------------------------------------------------------------------------
    async def lease_grant(self, ttl_s: int, lease_id: int = 0) -> rpc_pb2.LeaseGrantResponse:
        resp: rpc_pb2.LeaseGrantResponse = await self._call(
            "LeaseGrant", "lease", rpc_pb2.LeaseGrantRequest(TTL=ttl_s, ID=lease_id), idempotent=False)
        return resp

    async def lease_revoke(self, lease_id: int) -> rpc_pb2.LeaseRevokeResponse:
        resp: rpc_pb2.LeaseRevokeResponse = await self._call(
            "LeaseRevoke", "lease", rpc_pb2.LeaseRevokeRequest(ID=lease_id), idempotent=True)
        return resp

    async def lease_keepalive_once(self, lease_id: int) -> rpc_pb2.LeaseKeepAliveResponse:
        """One keep-alive round trip on a fresh stream; TTL 0 in the answer means the lease is gone."""
        ep = self._eps[self._current]
        try:
            call = ep.lease.LeaseKeepAlive(iter([rpc_pb2.LeaseKeepAliveRequest(ID=lease_id)]), timeout=self.timeout_s)
            async for resp in call:
                return resp  # type: ignore[no-any-return]
        except grpc.aio.AioRpcError as err:
            self._current = (self._current + 1) % len(self._eps)
            raise _as_etcd_error(err) from None
        raise Unavailable("lease keep-alive stream closed without an answer")

    async def lease_time_to_live(self, lease_id: int, keys: bool = False) -> rpc_pb2.LeaseTimeToLiveResponse:
        resp: rpc_pb2.LeaseTimeToLiveResponse = await self._call(
            "LeaseTimeToLive", "lease", rpc_pb2.LeaseTimeToLiveRequest(ID=lease_id, keys=keys), idempotent=True)
        return resp

    # --- Cluster / Maintenance ------------------------------------------------------------------------------
    async def member_list(self) -> rpc_pb2.MemberListResponse:
        resp: rpc_pb2.MemberListResponse = await self._call(
            "MemberList", "cluster", rpc_pb2.MemberListRequest(), idempotent=True)
        return resp

    async def status(self, endpoint: str | None = None) -> rpc_pb2.StatusResponse:
        """Status of one endpoint (default: the current one); no failover, since the answer is per member."""
        ep = next((e for e in self._eps if e.url == endpoint), None) if endpoint else self._eps[self._current]
        if ep is None:
            raise ValueError(f"unknown endpoint {endpoint}")
        try:
            resp: rpc_pb2.StatusResponse = await ep.maintenance.Status(rpc_pb2.StatusRequest(), timeout=self.timeout_s)
            return resp
        except grpc.aio.AioRpcError as err:
            raise _as_etcd_error(err) from None

    # --- Watch ----------------------------------------------------------------------------------------------
    async def watch(self, key: bytes, range_end: bytes = b"", *, start_revision: int = 0, prev_kv: bool = False,
                    progress_notify: bool = False) -> AsyncIterator[rpc_pb2.WatchResponse]:
        """Yield WatchResponses (event batches and progress notifications) forever, resuming across endpoints.

        Raises :class:`Compacted` when ``start_revision`` (or the resume point) is compacted, and
        :class:`Unavailable` when no endpoint accepts the watch for ``max_retry_s``.
        """
        next_rev = start_revision
        loop = asyncio.get_running_loop()
        failing_since: float | None = None
        while True:
            ep = self._eps[self._current]
            create = rpc_pb2.WatchCreateRequest(key=key, range_end=range_end, start_revision=next_rev,
                                                prev_kv=prev_kv, progress_notify=progress_notify)
            requests: asyncio.Queue[rpc_pb2.WatchRequest | None] = asyncio.Queue()
            requests.put_nowait(rpc_pb2.WatchRequest(create_request=create))

            async def gen(q: asyncio.Queue[rpc_pb2.WatchRequest | None] = requests) -> AsyncIterator[Any]:
                while (item := await q.get()) is not None:
                    yield item

            call = ep.watch.Watch(gen())
            try:
                async for resp in call:
                    failing_since = None
                    if resp.created and not resp.events:
                        if resp.canceled:
                            raise _cancel_error(resp)
                        continue
                    if resp.canceled:
                        raise _cancel_error(resp)
                    if resp.events:
                        next_rev = resp.events[-1].kv.mod_revision + 1
                    elif next_rev == 0:
                        next_rev = resp.header.revision + 1
                    yield resp
                raise grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(),
                                           "watch stream ended")
            except grpc.aio.AioRpcError as err:
                if err.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                                      grpc.StatusCode.CANCELLED):
                    raise _as_etcd_error(err) from None
                now = loop.time()
                failing_since = failing_since if failing_since is not None else now
                if now - failing_since > self.max_retry_s:
                    raise Unavailable(err.details() or "watch failed on every endpoint") from None
                log.debug("watch on %s failed (%s); resuming at %d elsewhere", ep.url, err.details(), next_rev)
                self._current = (self._current + 1) % len(self._eps)
                await asyncio.sleep(self.retry_backoff_s)
            finally:
                requests.put_nowait(None)
                call.cancel()


def _cancel_error(resp: rpc_pb2.WatchResponse) -> EtcdError:
    if resp.compact_revision:
        return Compacted(resp.compact_revision)
    return EtcdError("CANCELLED", resp.cancel_reason or "watch canceled by the server")


def _as_etcd_error(err: grpc.aio.AioRpcError) -> EtcdError:
    details = err.details() or ""
    if err.code() == grpc.StatusCode.OUT_OF_RANGE and "compacted" in details:
        return Compacted(0, details)
    if err.code() == grpc.StatusCode.UNAVAILABLE:
        return Unavailable(details)
    return EtcdError(err.code().name, details)
