"""The async etcd client against a 3-member real etcd and etcd_raft: KV, txn CAS, watch resume, failover."""

from __future__ import annotations

import asyncio
import signal

import pytest

from etcd_raft.client import Compacted, EtcdClient, EtcdError, prefix_end
from tests.support.procs import ProcessGroup
from tests.support.real_etcd import EtcdMember

pytestmark = pytest.mark.integration


async def test_kv_txn_and_errors(any_etcd: list[EtcdMember]) -> None:
    c = EtcdClient([m.client_url for m in any_etcd])
    try:
        r1 = await c.put(b"/a/1", b"one")
        await c.put(b"/a/2", b"two")
        got = await c.range(b"/a/", prefix_end(b"/a/"))
        assert [kv.value for kv in got.kvs] == [b"one", b"two"]
        assert got.header.revision == r1.header.revision + 1
        kv = await c.get(b"/a/1")
        assert kv is not None and kv.mod_revision == r1.header.revision
        # CAS: the stale revision loses and reads back the current value
        ok = await c.txn([c.cmp_mod_revision(b"/a/1", kv.mod_revision)], [c.op_put(b"/a/1", b"uno")],
                         [c.op_get(b"/a/1")])
        assert ok.succeeded
        stale = await c.txn([c.cmp_mod_revision(b"/a/1", kv.mod_revision)], [c.op_put(b"/a/1", b"x")],
                            [c.op_get(b"/a/1")])
        assert not stale.succeeded and stale.responses[0].response_range.kvs[0].value == b"uno"
        # create-only
        created = await c.txn([c.cmp_create_revision(b"/a/3", 0)], [c.op_put(b"/a/3", b"three")])
        again = await c.txn([c.cmp_create_revision(b"/a/3", 0)], [c.op_put(b"/a/3", b"three")])
        assert created.succeeded and not again.succeeded
        rev = (await c.range(b"/a/1")).header.revision
        await c.compact(rev)
        with pytest.raises(Compacted):
            await c.range(b"/a/1", revision=rev - 1)
        with pytest.raises(EtcdError) as ei:
            await c.range(b"/a/1", revision=rev + 100)
        assert ei.value.code == "OUT_OF_RANGE" and "future revision" in ei.value.message
        assert len((await c.member_list()).members) == 3
    finally:
        await c.close()


async def test_watch_from_revision_and_compacted(any_etcd: list[EtcdMember]) -> None:
    c = EtcdClient([m.client_url for m in any_etcd])
    try:
        first = await c.put(b"/w/a", b"1")
        await c.put(b"/w/b", b"2")
        await c.delete(b"/w/a")
        seen: list[tuple[int, bytes]] = []

        async def consume() -> None:
            async for resp in c.watch(b"/w/", prefix_end(b"/w/"), start_revision=first.header.revision):
                seen.extend((ev.type, ev.kv.key) for ev in resp.events)
                if len(seen) >= 4:
                    return

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.2)
        await c.put(b"/w/c", b"3")
        await asyncio.wait_for(task, 10)
        assert seen == [(0, b"/w/a"), (0, b"/w/b"), (1, b"/w/a"), (0, b"/w/c")]
        now = (await c.range(b"/w/c")).header.revision
        await c.compact(now)
        with pytest.raises(Compacted) as ei:
            async for _ in c.watch(b"/w/", prefix_end(b"/w/"), start_revision=first.header.revision):
                pass
        assert ei.value.compact_revision == now
    finally:
        await c.close()


async def test_failover_when_the_current_member_dies(raft_etcd: list[EtcdMember], procs: ProcessGroup) -> None:
    """Kill the member the client is talking to: reads and definite writes move on; a watch resumes without gaps."""
    c = EtcdClient([m.client_url for m in raft_etcd], max_retry_s=15)
    try:
        await c.put(b"/f/0", b"0")
        events: list[bytes] = []

        async def consume() -> None:
            async for resp in c.watch(b"/f/", prefix_end(b"/f/"), start_revision=1):
                events.extend(ev.kv.key for ev in resp.events)
                if len(events) >= 6:
                    return

        task = asyncio.ensure_future(consume())
        for i in range(1, 3):
            await c.put(f"/f/{i}".encode(), b"v")
        victim = raft_etcd[0].name
        procs.signal(victim, signal.SIGKILL)
        for i in range(3, 6):
            for _ in range(50):
                try:
                    await c.put(f"/f/{i}".encode(), b"v")
                    break
                except EtcdError as e:  # a write cut off mid-flight is reported, never silently retried
                    assert e.code == "UNAVAILABLE"
                    await asyncio.sleep(0.2)
        await asyncio.wait_for(task, 20)
        assert events == [f"/f/{i}".encode() for i in range(6)]
    finally:
        await c.close()
