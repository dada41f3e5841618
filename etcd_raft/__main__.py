"""`python -m etcd_raft`: one etcd_raft member, with etcd's flag names and units (ms for Raft timings).

    python -m etcd_raft --name m1 --data-dir D --listen-client-urls http://127.0.0.1:2379
        --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380
        --initial-advertise-peer-urls http://127.0.0.1:2380 --initial-cluster m1=http://127.0.0.1:2380,...
        [--initial-cluster-state new|existing] [--initial-cluster-token T]
        [--heartbeat-interval 100] [--election-timeout 1000] [--unsafe-no-fsync] [--snapshot-count N]

SIGTERM/SIGINT stop it cleanly. A member added with MemberAdd starts with --initial-cluster listing every member
(itself included) and --initial-cluster-state existing.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import grpc

from etcd_raft.server import snapshot_file
from etcd_raft.server.ids import host_port, parse_initial_cluster
from etcd_raft.server.member import RESTORE_FILE, Member, MemberConfig
from etcd_raft.server.services import add_services

MAX_MESSAGE_BYTES = 2 * 1024 * 1024   # etcd: a 1.5 MiB request limit answered by the server, 2 MiB at the gRPC layer


def _urls(text: str) -> list[str]:
    return [u.strip() for u in text.split(",") if u.strip()]


def parse_args(argv: list[str]) -> MemberConfig:
    p = argparse.ArgumentParser(prog="python -m etcd_raft", description="an etcd v3 member on Raft (pysyncobj)")
    p.add_argument("--name", default="default")
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--listen-client-urls", default="http://127.0.0.1:2379")
    p.add_argument("--advertise-client-urls")
    p.add_argument("--listen-peer-urls", default="http://127.0.0.1:2380")
    p.add_argument("--initial-advertise-peer-urls")
    p.add_argument("--initial-cluster")
    p.add_argument("--initial-cluster-state", choices=["new", "existing"], default="new")
    p.add_argument("--initial-cluster-token", default="etcd-cluster")
    p.add_argument("--heartbeat-interval", type=int, default=100, help="ms")
    p.add_argument("--election-timeout", type=int, default=1000, help="ms")
    p.add_argument("--snapshot-count", type=int, default=10_000)
    p.add_argument("--unsafe-no-fsync", action="store_true")
    p.add_argument("--unsafe-ack-before-replication", action="store_true",
                   help="TEST ONLY: acknowledge writes before they are replicated (the drills' broken store)")
    p.add_argument("--progress-notify-interval", type=float, default=600.0, help="s, for watch progress_notify")
    p.add_argument("--logger", default="", help="accepted for etcd compatibility")
    p.add_argument("--log-level", default="info")
    a = p.parse_args(argv)
    peer_urls = _urls(a.initial_advertise_peer_urls or a.listen_peer_urls)
    initial = a.initial_cluster or f"{a.name}={peer_urls[0]}"
    try:
        parse_initial_cluster(initial)
    except ValueError as exc:
        p.error(str(exc))
    if a.election_timeout < 5 * a.heartbeat_interval:
        p.error("--election-timeout must be at least 5 times --heartbeat-interval")
    return MemberConfig(
        name=a.name, data_dir=a.data_dir or Path(f"{a.name}.etcd"),
        listen_client_urls=_urls(a.listen_client_urls),
        advertise_client_urls=_urls(a.advertise_client_urls or a.listen_client_urls),
        listen_peer_urls=_urls(a.listen_peer_urls), initial_advertise_peer_urls=peer_urls,
        initial_cluster=initial, initial_cluster_state=a.initial_cluster_state,
        initial_cluster_token=a.initial_cluster_token, heartbeat_interval_ms=a.heartbeat_interval,
        election_timeout_ms=a.election_timeout, unsafe_no_fsync=a.unsafe_no_fsync, snapshot_count=a.snapshot_count,
        unsafe_ack_before_replication=a.unsafe_ack_before_replication,
        progress_notify_interval_s=a.progress_notify_interval,
    )


async def serve(cfg: MemberConfig) -> None:
    member = Member(cfg)
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                                      ("grpc.max_send_message_length", 64 * 1024 * 1024)])
    add_services(server, member)
    for url in cfg.listen_client_urls:
        server.add_insecure_port(host_port(url))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    duties = asyncio.ensure_future(member.run_duties(stop))
    # Like etcd, serve clients only once this member has joined and published itself through the log.
    ready = asyncio.ensure_future(member.published.wait())
    await asyncio.wait([ready, asyncio.ensure_future(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
    if not stop.is_set():
        await server.start()
        # Everything allocated so far (imported modules, gRPC, protobuf descriptors, the restored state) lives as
        # long as the process: keep it out of the cyclic GC's full passes, which otherwise rescan it each time and
        # pause the member (and its Raft thread) for tens of ms -- the tail of the write latency.
        gc.freeze()
        logging.getLogger("etcd_raft").info("member %s (%x) serving clients on %s", cfg.name, member.id,
                                            ", ".join(cfg.listen_client_urls))
    await stop.wait()
    await server.stop(grace=1)
    await duties
    await member.close()


def restore(argv: list[str]) -> int:
    """`python -m etcd_raft snapshot restore FILE --data-dir D`: seed a new member's data dir from a snapshot
    taken with `etcdctl snapshot save`. Run it for every member of the new cluster (same FILE), then start each
    member with the new cluster's flags; membership comes from --initial-cluster, keys/revisions/leases from FILE."""
    p = argparse.ArgumentParser(prog="python -m etcd_raft snapshot restore")
    p.add_argument("file", type=Path)
    p.add_argument("--data-dir", type=Path, required=True)
    a = p.parse_args(argv)
    try:
        state = snapshot_file.decode(a.file.read_bytes())
    except (OSError, ValueError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    if a.data_dir.exists() and any(a.data_dir.iterdir()):
        print(f"Error: data-dir {a.data_dir} exists and is not empty", file=sys.stderr)
        return 1
    a.data_dir.mkdir(parents=True, exist_ok=True)
    (a.data_dir / RESTORE_FILE).write_bytes(state)
    print(f"restored snapshot into {a.data_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:2] == ["snapshot", "restore"]:
        return restore(args[2:])
    cfg = parse_args(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname).1s %(name)s: %(message)s")
    logging.getLogger("pysyncobj").setLevel(logging.WARNING)
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(serve(cfg))
    return 0


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed (a pinned dependency): about a tenth less CPU per write than asyncio's own loop
    (gRPC's callbacks and the Raft thread's hand-offs all run through the loop); asyncio's otherwise."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop



if __name__ == "__main__":
    sys.exit(main())
