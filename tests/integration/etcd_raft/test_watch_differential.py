"""Watch semantics, compared: the same writes and the same watch requests on real etcd 3.4 and on etcd_raft. Per
watch, the sequence of events (type, key, value, revisions, version, prev_kv) and the control responses (created,
canceled with compact_revision, progress, cancel) must match. How events are split into responses may differ."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator

import grpc
import pytest

from etcd_raft.pb import rpc_pb2 as r
from etcd_raft.pb import rpc_pb2_grpc
from tests.support.real_etcd import EtcdMember

pytestmark = pytest.mark.integration


async def _session(endpoint: str) -> dict[object, list[tuple]]:
    async with grpc.aio.insecure_channel(endpoint) as ch:
        kv = rpc_pb2_grpc.KVStub(ch)
        for i in range(5):
            await kv.Put(r.PutRequest(key=b"w/a", value=b"%d" % i))
        await kv.Put(r.PutRequest(key=b"w/b", value=b"x"))
        await kv.DeleteRange(r.DeleteRangeRequest(key=b"w/a"))
        await kv.Txn(r.TxnRequest(success=[r.RequestOp(request_put=r.PutRequest(key=b"w/c", value=b"1")),
                                           r.RequestOp(request_put=r.PutRequest(key=b"w/d", value=b"2"))]))
        await kv.Compact(r.CompactionRequest(revision=4))
        requests: asyncio.Queue[r.WatchRequest | None] = asyncio.Queue()

        async def gen() -> AsyncIterator[r.WatchRequest]:
            while (req := await requests.get()) is not None:
                yield req

        call = rpc_pb2_grpc.WatchStub(ch).Watch(gen())
        seen: dict[object, list[tuple]] = defaultdict(list)

        async def reader() -> None:
            async for resp in call:
                wid = resp.watch_id
                if resp.created:
                    seen[wid].append(("created",))
                if resp.canceled:
                    seen[wid].append(("canceled", resp.compact_revision))
                if wid == -1 or (not resp.created and not resp.canceled and not resp.events):
                    seen["progress"].append((wid, resp.header.revision))
                for e in resp.events:
                    seen[wid].append((e.type, e.kv.key, e.kv.value, e.kv.mod_revision, e.kv.create_revision,
                                      e.kv.version, e.prev_kv.value if e.HasField("prev_kv") else None))

        task = asyncio.ensure_future(reader())
        create = r.WatchCreateRequest
        await requests.put(r.WatchRequest(create_request=create(key=b"w/", range_end=b"w0", start_revision=4,
                                                                prev_kv=True, watch_id=1)))
        await requests.put(r.WatchRequest(create_request=create(key=b"w/a", start_revision=2, watch_id=2)))
        await requests.put(r.WatchRequest(create_request=create(key=b"w/", range_end=b"w0", watch_id=3,
                                                                filters=[r.WatchCreateRequest.NODELETE])))
        await asyncio.sleep(0.5)
        await kv.Put(r.PutRequest(key=b"w/e", value=b"live"))
        await kv.DeleteRange(r.DeleteRangeRequest(key=b"w/e"))
        await asyncio.sleep(0.5)
        await requests.put(r.WatchRequest(progress_request=r.WatchProgressRequest()))
        await asyncio.sleep(0.3)
        await requests.put(r.WatchRequest(cancel_request=r.WatchCancelRequest(watch_id=1)))
        await asyncio.sleep(0.3)
        await requests.put(None)
        call.cancel()
        task.cancel()
        return dict(seen)


def test_watch_streams_match(real_etcd: list[EtcdMember], raft_etcd: list[EtcdMember]) -> None:
    theirs = asyncio.run(_session(f"127.0.0.1:{real_etcd[0].client_port}"))
    ours = asyncio.run(_session(f"127.0.0.1:{raft_etcd[0].client_port}"))
    assert theirs[1][0] == ("created",) and len(theirs[1]) == 1 + 7 + 2 + 1   # created, catch-up, live, cancel
    for wid in theirs:
        assert ours.get(wid) == theirs[wid], wid
