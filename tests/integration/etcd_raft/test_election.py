"""After an idle spell, the leader's death is followed by ONE successful election (real pysyncobj, real sockets).

Followers exchange nothing while a leader is alive. pysyncobj drops a connection that has read nothing for its
connection timeout, but notices only when it next sends -- so, unpatched, the first vote request a follower sent
after the leader died went down with the stale connection, that election failed, and a second one (another
election timeout) was needed. The replicated log pings between members to keep every connection fresh.

Timeouts are chosen so the outcome does not depend on chance: the first leader times out first (0.3-0.6 s); when
it dies (its connections close) the fast survivor stands after 0.06-0.42 s, while the slow survivor (1-7 s even
with the closed-connection shortcut) cannot compete; with fresh connections the fast survivor wins at term+1, with
a stale one it could only win at term+2 or later.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from etcd_raft.raftlog import RaftConfig, ReplicatedLog
from tests.support.procs import free_port

pytestmark = pytest.mark.integration

HEARTBEAT_S = 0.05
TIMEOUTS_S = [0.3, 0.6, 10.0]       # first leader, fast survivor, slow survivor


def wait_leader(logs: list[ReplicatedLog], timeout_s: float = 20.0) -> tuple[int, int]:
    """(index of the leader all live members agree on, its term)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        statuses = [log.status() for log in logs]
        leaders = [i for i, s in enumerate(statuses) if s.is_leader]
        if len(leaders) == 1 and all(s.leader_addr == statuses[leaders[0]].self_addr for s in statuses):
            return leaders[0], statuses[leaders[0]].term
        time.sleep(0.02)
    raise AssertionError(f"no agreed leader: {[log.status() for log in logs]}")


def test_leader_death_after_idle_needs_one_election(tmp_path: Path) -> None:
    addrs = [f"127.0.0.1:{free_port()}" for _ in TIMEOUTS_S]
    logs = [ReplicatedLog(RaftConfig(addr, [a for a in addrs if a != addr], tmp_path / f"m{i}", HEARTBEAT_S, et,
                                     fsync=False),
                          apply=lambda command: None, snapshot=lambda: b"", restore=lambda data: None)
            for i, (addr, et) in enumerate(zip(addrs, TIMEOUTS_S, strict=True))]
    try:
        leader, term = wait_leader(logs)
        survivors = [log for i, log in enumerate(logs) if i != leader]
        slowest = max(TIMEOUTS_S[i] for i in range(len(logs)) if i != leader)
        time.sleep(1.5)                   # longer than the fast members' connection timeout (1.0-1.2 s)
        logs.pop(leader).close()
        new_leader, new_term = wait_leader(survivors)
        assert survivors[new_leader].config.election_timeout_s < slowest
        assert new_term == term + 1, f"the first election after the leader's death failed: term {term} -> {new_term}"
    finally:
        for log in logs:
            log.close()


def test_followers_stand_soon_after_the_leaders_connection_closes(tmp_path: Path) -> None:
    """A dead leader process closes its connections; the survivors need not wait out the election timeout.
    With timeouts of 5 s and 50 s the survivors would take >= 5 s to elect anyone; seeing the leader's connection
    close, the 5 s one stands after 0.5-3.5 s (and the 50 s one only after 5 s, so no split vote)."""
    timeouts_s = [0.3, 5.0, 50.0]
    addrs = [f"127.0.0.1:{free_port()}" for _ in timeouts_s]
    logs = [ReplicatedLog(RaftConfig(addr, [a for a in addrs if a != addr], tmp_path / f"m{i}", HEARTBEAT_S, et,
                                     fsync=False, seed=i),
                          apply=lambda command: None, snapshot=lambda: b"", restore=lambda data: None)
            for i, (addr, et) in enumerate(zip(addrs, timeouts_s, strict=True))]
    try:
        leader, term = wait_leader(logs)
        assert leader == 0
        logs.pop(leader).close()
        t0 = time.monotonic()
        new_leader, new_term = wait_leader(logs, timeout_s=20)
        took = time.monotonic() - t0
        assert logs[new_leader].config.election_timeout_s == 5.0 and new_term == term + 1
        assert took < 4.5, f"new leader after {took:.2f} s: the election waited for the full timeout"
    finally:
        for log in logs:
            log.close()
