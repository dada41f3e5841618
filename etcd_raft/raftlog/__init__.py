"""Raft for the store: pysyncobj behind a small asyncio interface (the only place that imports pysyncobj)."""

from etcd_raft.raftlog.config import NoLeaderError, ProposalTimeout, RaftConfig, RaftStatus
from etcd_raft.raftlog.log import ReplicatedLog

__all__ = ["NoLeaderError", "ProposalTimeout", "RaftConfig", "RaftStatus", "ReplicatedLog"]
