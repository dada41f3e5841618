"""Configuration of one member's replicated log (times in seconds, like etcd's flags but in s)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class RaftConfig:
    self_addr: str                           # "127.0.0.1:2380": this member's peer listener
    peer_addrs: list[str] = field(default_factory=list)
    data_dir: Path = Path(".")
    heartbeat_interval_s: float = 0.1
    election_timeout_s: float = 1.0
    fsync: bool = True                       # False only with --unsafe-no-fsync
    snapshot_every_entries: int = 10_000     # Raft log compaction through state-machine snapshots
    seed: int | None = None                  # for this member's own random choices (None: from the OS)
    # Test-only fault for the drills' negative control: acknowledge a write once proposed, before replication.
    unsafe_ack_before_replication: bool = False


class NoLeaderError(Exception):
    message = "etcdserver: no leader"


class ProposalTimeout(Exception):
    message = "etcdserver: request timed out"


@dataclass(frozen=True)
class RaftStatus:
    self_addr: str
    is_leader: bool
    leader_addr: str | None
    term: int
    commit_index: int
    applied_index: int
    members: list[str]
    has_quorum: bool
